/*
 * csv.c -- escaping one CSV cell.  See csv.h.
 */
#include "csv.h"

#include <string.h>

size_t
csv_escape_cell(char *out, const char *s, size_t len, bool text)
{
	bool quote = false;
	size_t o = 0;

	for (size_t i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = true;
	if (quote)
		out[o++] = '"';
	/* A spreadsheet would run these as formulas: make them text. */
	if (text && len > 0 && memchr("=+-@\t\r", s[0], 6) != NULL)
		out[o++] = '\'';
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			out[o++] = '"';
		out[o++] = s[i];
	}
	if (quote)
		out[o++] = '"';
	return o;
}
