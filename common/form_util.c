/*
 * form_util.c -- messages and lexical checks shared by the form module's
 * files (form_internal.h).  Messages never contain field values.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "form_internal.h"

void
form_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

fs_err
form_nomem(char *err, size_t errlen)
{
	form_seterr(err, errlen, "out of memory");
	return FS_ERR_NOMEM;
}

/*
 * Copies a key from a definition into buf for a message: printable ASCII
 * only, others shown as '?', long keys cut.  Keys are not values, but they
 * still come from outside and end up in logs.
 */
const char *
form_show_key(char *buf, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 4 < size; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'') ? s[i] : '?';
	if (s[i] != '\0' && i >= 3) {
		memcpy(buf + i - 3, "...", 3);
	}
	buf[i] = '\0';
	return buf;
}

/* Lexical checks. */

bool
form_name_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] < 'a' || s[0] > 'z')
		return false;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= FORM_NAME_MAX)
			return false;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

/*
 * True if s[0..len) is well-formed UTF-8 (Unicode table 3-7): no overlong
 * forms, no surrogates, nothing above U+10FFFF, no NUL.
 */
bool
form_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp, least;

	while (i < len) {
		if (s[i] == 0)
			return false;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1, cp = s[i] & 0x1f, least = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2, cp = s[i] & 0x0f, least = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3, cp = s[i] & 0x07, least = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

bool
form_str_utf8_valid(const char *s)
{
	return form_utf8_valid((const unsigned char *)s, strlen(s));
}

bool
form_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Without floor(), so that the module needs no libm. */
bool
form_is_integral(double v)
{
	double a = v < 0 ? -v : v;

	/* From 2^53 on, every double is an integer. */
	return isfinite(v) && (a >= 0x1p53 || (double)(int64_t)v == v);
}

bool
form_int_in_range(double v)
{
	return form_is_integral(v) && v >= -(double)FORM_INT_LIMIT && v <= (double)FORM_INT_LIMIT;
}

size_t
form_field_index(const struct form *form, const char *name)
{
	size_t i;

	for (i = 0; i < form->nfields; i++)
		if (strcmp(form->fields[i].name, name) == 0)
			break;
	return i;
}
