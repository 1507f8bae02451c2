/*
 * http.c -- JSON answers, the fs_err to HTTP status table, and small
 * request checks shared by the server and the handlers.  See http.h.
 */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int
http_reply_take(struct http_response *resp, int status, char *json, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->body = json;
	resp->body_len = len;
	return 0;
}

int
http_reply_json(struct http_response *resp, int status, cJSON *root)
{
	char *text;

	if (root == NULL)
		return -1;
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (text == NULL)
		return -1;
	return http_reply_take(resp, status, text, strlen(text));
}

int
http_error(struct http_response *resp, int status, const char *error, const char *detail)
{
	cJSON *root = cJSON_CreateObject();

	/* An error is always JSON, whatever the handler meant to send. */
	resp->content_type = NULL;
	resp->error = error;
	resp->attachment[0] = '\0';
	if (root == NULL || cJSON_AddStringToObject(root, "error", error) == NULL ||
	    (detail != NULL && cJSON_AddStringToObject(root, "detail", detail) == NULL)) {
		cJSON_Delete(root);
		root = NULL;
	}
	if (http_reply_json(resp, status, root) != 0) {
		/* The server sends a fixed body when there is none. */
		http_reply_take(resp, 500, NULL, 0);
	}
	return 0;
}

int
http_status_for(fs_err err)
{
	switch (err) {
	case FS_OK:
		return 200;
	case FS_ERR_INVALID:
	case FS_ERR_FORM:
	case FS_ERR_JSON:
	case FS_ERR_MALFORMED:
	case FS_ERR_PROTOCOL:
		return 400;
	case FS_ERR_AUTH:
		return 401;
	case FS_ERR_FORBIDDEN:
	case FS_ERR_KEY:
		return 403;
	case FS_ERR_WIPED:
		return 410;
	case FS_ERR_NOTFOUND:
		return 404;
	case FS_ERR_EXISTS:
	case FS_ERR_CLOCK:
	case FS_ERR_CLONED:
		return 409;
	case FS_ERR_DELETED:
		return 410;
	case FS_ERR_TOOBIG:
		return 413;
	case FS_ERR_BUSY:
	case FS_ERR_NOMEM:
		return 503;
	case FS_ERR_FULL:
		return 507;
	case FS_ERR_MISUSE:
	case FS_ERR_IO:
	case FS_ERR_DB:
	case FS_ERR_NOT_INIT:
	case FS_ERR_NETWORK:
	case FS_ERR_TLS:
	case FS_ERR_SERVER:
	case FS_ERR_INTERNAL:
	case FS_ERR_SCHEMA:
	case FS_ERR_CANCELLED:
	case FS_ERR_CORRUPT:
		return 500;
	case FS_ERR_VERSION:
		return 400;
	}
	return 500;
}

const char *
http_error_code(fs_err err)
{
	switch (err) {
	case FS_OK:
		return "ok";
	case FS_ERR_NOMEM:
		return "out_of_memory";
	case FS_ERR_MISUSE:
	case FS_ERR_INTERNAL:
	case FS_ERR_NOT_INIT:
	case FS_ERR_NETWORK:
	case FS_ERR_TLS:
	case FS_ERR_SERVER:
	case FS_ERR_CANCELLED:
		return "internal";
	case FS_ERR_VERSION:
		return "unsupported_protocol";
	case FS_ERR_IO:
	case FS_ERR_DB:
	case FS_ERR_SCHEMA:
		return "store_failed";
	case FS_ERR_MALFORMED:
		return "corrupt"; /* the wire's name for a body that does not decode */
	case FS_ERR_KEY:
		return "key_locked";
	case FS_ERR_WIPED:
		return "wipe";
	case FS_ERR_CORRUPT:
		return "store_failed";
	case FS_ERR_INVALID:
		return "invalid";
	case FS_ERR_FORM:
		return "bad_form";
	case FS_ERR_NOTFOUND:
		return "not_found";
	case FS_ERR_EXISTS:
		return "exists";
	case FS_ERR_JSON:
		return "bad_json";
	case FS_ERR_AUTH:
		return "unauthorized";
	case FS_ERR_FORBIDDEN:
		return "forbidden";
	case FS_ERR_PROTOCOL:
		return "protocol";
	case FS_ERR_CLOCK:
		return "clock_ahead";
	case FS_ERR_FULL:
		return "store_full";
	case FS_ERR_DELETED:
		return "deleted";
	case FS_ERR_TOOBIG:
		return "too_large";
	case FS_ERR_BUSY:
		return "busy";
	case FS_ERR_CLONED:
		return "cloned_device";
	}
	return "internal";
}

int
http_error_fs(struct http_response *resp, fs_err err, const char *detail)
{
	http_error(resp, http_status_for(err), http_error_code(err), detail);
	if (err == FS_ERR_BUSY || err == FS_ERR_NOMEM)
		resp->retry_after = 1;
	return 0;
}

int
http_error_store(struct http_response *resp, fs_err err, const char *detail)
{
	switch (err) {
	case FS_ERR_FULL:
	case FS_ERR_BUSY:
	case FS_ERR_NOMEM:
		return http_error_fs(resp, err, detail);
	default:
		/* Whatever the store said (a constraint, a schema), not the client's fault. */
		return http_error(resp, 500, http_error_code(FS_ERR_DB), detail);
	}
}

int64_t
http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
http_path_suspicious(const char *path)
{
	const char *p;

	if (strstr(path, "..") != NULL || strstr(path, "%00") != NULL)
		return true;
	for (p = path; *p != '\0'; p++) {
		if (*p == '\\' || iscntrl((unsigned char)*p))
			return true;
		if (*p == '%' && strncasecmp(p, "%2e%2e", 6) == 0)
			return true;
		if (*p == '%' && strncasecmp(p, "%2e.", 4) == 0)
			return true;
		if (*p == '.' && strncasecmp(p, ".%2e", 4) == 0)
			return true;
	}
	return false;
}

bool
http_accepts_gzip(const char *header)
{
	const char *p = header;

	if (header == NULL)
		return false;
	while (*p != '\0') {
		const char *tok, *end;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		tok = p;
		while (*p != '\0' && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		n = (size_t)(p - tok);
		end = p;
		while (*end != '\0' && *end != ',')
			end++;
		if ((n == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
		    (n == 6 && strncasecmp(tok, "x-gzip", 6) == 0)) {
			/* Look for a q=0 (or 0.0, 0.00...) parameter. */
			const char *q = p;
			while (q < end) {
				while (q < end && (*q == ';' || *q == ' ' || *q == '\t'))
					q++;
				if (end - q >= 2 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
					const char *v = q + 2;
					bool zero = *v == '0';
					for (v++; zero && v < end && *v != ';' && *v != ' '; v++)
						if (*v != '.' && *v != '0')
							zero = false;
					return !zero;
				}
				while (q < end && *q != ';')
					q++;
			}
			return true;
		}
		p = end;
	}
	return false;
}

void
http_log_safe(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	if (dstlen == 0)
		return;
	for (; *src != '\0' && i + 1 < dstlen; src++)
		dst[i++] = (*src >= 0x20 && *src < 0x7f && *src != '"') ? *src : '?';
	dst[i] = '\0';
	if (*src != '\0' && dstlen >= 4)
		memcpy(dst + dstlen - 4, "...", 4);
}
