/*
 * push_spans.c -- the bytes of each change in a push body.  See push_spans.h.
 */
#include "push_spans.h"

#include <stdbool.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Whitespace as cJSON skips it (every byte up to 32), so the two agree. */
static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (unsigned char)*p <= 32)
		p++;
	return p;
}

/* Parses one JSON value at p (cJSON does the work); *ret_end after it. */
static cJSON *
value_at(const char *p, const char *end, const char **ret_end)
{
	return cJSON_ParseWithLengthOpts(p, (size_t)(end - p), ret_end, false);
}

int
push_spans(const char *body, size_t len, struct push_span *out, size_t max, size_t *ret_n)
{
	const char *p = body, *end = body + len, *e;
	size_t n = 0;
	bool seen = false;

	*ret_n = 0;
	p = skip_ws(p, end);
	if (p == end || *p++ != '{')
		return -1;
	for (;;) {
		cJSON *key, *v;
		bool changes;

		p = skip_ws(p, end);
		if (p < end && *p == '}')
			break;
		if (p == end || *p != '"' || (key = value_at(p, end, &e)) == NULL)
			return -1;
		changes = cJSON_IsString(key) && strcmp(key->valuestring, "changes") == 0;
		cJSON_Delete(key);
		p = skip_ws(e, end);
		if (p == end || *p++ != ':')
			return -1;
		p = skip_ws(p, end);
		if (changes && !seen && p < end && *p == '[') {
			seen = true;
			p = skip_ws(p + 1, end);
			if (p < end && *p == ']') {
				p++;
			} else {
				for (;;) {
					if ((v = value_at(p, end, &e)) == NULL)
						return -1;
					cJSON_Delete(v);
					if (n < max)
						out[n] = (struct push_span){ .start = p, .len = (size_t)(e - p) };
					n++;
					p = skip_ws(e, end);
					if (p < end && *p == ',') {
						p = skip_ws(p + 1, end);
						continue;
					}
					if (p < end && *p == ']') {
						p++;
						break;
					}
					return -1;
				}
			}
		} else {
			if ((v = value_at(p, end, &e)) == NULL)
				return -1;
			cJSON_Delete(v);
			p = e;
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			break;
		return -1;
	}
	if (!seen)
		return -1;
	*ret_n = n;
	return 0;
}
