/*
 * fuzz-csv.c -- csv_escape_cell(): for any bytes, the cell stays inside
 * its bound, an RFC 4180 reader gets the text back (after the apostrophe
 * added against formulas), and no text cell starts with a formula
 * character.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "fuzz.h"

/* Decodes one cell; returns its length, or (size_t)-1 if malformed. */
static size_t
decode(const char *in, size_t n, char *out)
{
	size_t o = 0, i = 0;

	if (n == 0 || in[0] != '"') {
		for (i = 0; i < n; i++) {
			if (in[i] == ',' || in[i] == '"' || in[i] == '\r' || in[i] == '\n')
				return (size_t)-1;
			out[o++] = in[i];
		}
		return o;
	}
	for (i = 1; i < n; i++) {
		if (in[i] == '"') {
			if (i + 1 < n && in[i + 1] == '"') {
				out[o++] = '"';
				i++;
			} else {
				return i + 1 == n ? o : (size_t)-1;
			}
		} else {
			out[o++] = in[i];
		}
	}
	return (size_t)-1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + (size > 0);
	size_t len = size > 0 ? size - 1 : 0, n, d;
	bool text = size > 0 && (data[0] & 1);
	char *out, *back;

	if (size > 65536)
		return 0;
	/* One spare byte each side would catch an overrun under ASan. */
	if ((out = malloc(CSV_CELL_MAX(len))) == NULL ||
	    (back = malloc(CSV_CELL_MAX(len))) == NULL) {
		free(out);
		return 0;
	}
	n = csv_escape_cell(out, s, len, text);
	FUZZ_CHECK(n <= CSV_CELL_MAX(len));
	d = decode(out, n, back);
	FUZZ_CHECK(d != (size_t)-1);
	if (text && len > 0 && memchr("=+-@\t\r", s[0], 6) != NULL) {
		FUZZ_CHECK(d == len + 1 && back[0] == '\'');
		FUZZ_CHECK(memcmp(back + 1, s, len) == 0);
	} else {
		FUZZ_CHECK(d == len && memcmp(back, s, len) == 0);
	}
	if (text && d > 0)
		FUZZ_CHECK(memchr("=+-@\t\r", back[0], 6) == NULL);
	free(out);
	free(back);
	return 0;
}
