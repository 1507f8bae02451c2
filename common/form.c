/*
 * form.c -- form definitions: loading, checking and validating values.
 *
 * form_load() turns the JSON text of a definition (schema/FORMS.md) into a
 * struct form and refuses anything it does not understand: unknown keys,
 * keys of the wrong JSON type, rules that do not apply to the field's type,
 * patterns that do not compile.  form_check_value() and form_validate()
 * check record values against the rules; form_value_from_text() turns what
 * a user typed into a JSON value of the field's type.
 *
 * Every message names a field and a rule or a problem, never a value:
 * values describe possible victims and messages end up in logs.  A loaded
 * form is read-only and may be shared by threads.
 *
 * This module does not store forms, know about records or stamps, or decide
 * which version of a form applies; the device library and the daemon do.
 */
#include "form.h"

#include <assert.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATTERN_MAX  1024 /* bytes of a pattern's source */
#define CHOICES_MAX  1000 /* choices of one select field */
#define NUM_TEXT_MAX 64   /* bytes of a number typed as text */
#define KEY_SHOW_MAX 80   /* buffer for a key quoted in a message */

#define FORMAT(a, b) __attribute__((format(printf, a, b)))

static const char *const form_keys[] = {
    "id", "version", "title", "conflict", "fields", "description", "hint", "label", NULL};

static const char *const field_keys[] = {"name", "type", "label", "required", "sensitive",
    "choices", "min", "max", "max_length", "pattern", "hint", "description", NULL};

/* Messages. */

static void seterr(char *err, size_t errlen, const char *fmt, ...) FORMAT(3, 4);
static fs_err def_err(char *err, size_t errlen, const char *who, const char *fmt, ...) FORMAT(4, 5);
static fs_err rule_err(const struct form_field *f, const char *rule, char *err, size_t errlen,
    const char *fmt, ...) FORMAT(5, 6);

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static fs_err
nomem(char *err, size_t errlen)
{
	seterr(err, errlen, "out of memory");
	return FS_ERR_NOMEM;
}

/* A problem with a definition: "who: problem". */
static fs_err
def_err(char *err, size_t errlen, const char *who, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	seterr(err, errlen, "%s: %s", who, why);
	return FS_ERR_FORM;
}

/* A value broke a rule: "field 'name': rule 'rule' (explanation)". */
static fs_err
rule_err(
    const struct form_field *f, const char *rule, char *err, size_t errlen, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	seterr(err, errlen, "field '%s': rule '%s' (%s)", f->name, rule, why);
	return FS_ERR_INVALID;
}

/* What a JSON value of each type looks like, for 'type' messages. */
static const char *
type_expect(enum form_type type)
{
	switch (type) {
	case FORM_TEXT:
		return "must be a string";
	case FORM_INTEGER:
		return "must be an integer between -(2^53-1) and 2^53-1";
	case FORM_DECIMAL:
		return "must be a finite number";
	case FORM_BOOLEAN:
		return "must be true or false";
	case FORM_DATE:
		return "must be a calendar date YYYY-MM-DD";
	case FORM_DATETIME:
		return "must be an RFC 3339 date-time "
		       "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)";
	case FORM_SELECT_ONE:
		return "must be a string";
	case FORM_SELECT_MULTIPLE:
		return "must be an array of strings";
	case FORM_GEOPOINT:
		return "must be an object with lat -90..90, lon -180..180 and optional alt and acc "
		       ">= 0";
	}
	return "has an unknown type";
}

static fs_err
type_err(const struct form_field *f, char *err, size_t errlen)
{
	return rule_err(f, "type", err, errlen, "%s", type_expect(f->type));
}

/*
 * Copies a key from a definition into buf for a message: printable ASCII
 * only, others shown as '?', long keys cut.  Keys are not values, but they
 * still come from outside and end up in logs.
 */
static const char *
show_key(char *buf, size_t size, const char *s)
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

static bool
name_valid(const char *s)
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
static bool
utf8_valid(const unsigned char *s, size_t len)
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

static bool
str_utf8_valid(const char *s)
{
	return utf8_valid((const unsigned char *)s, strlen(s));
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Without floor(), so that the module needs no libm. */
static bool
is_integral(double v)
{
	double a = v < 0 ? -v : v;

	/* From 2^53 on, every double is an integer. */
	return isfinite(v) && (a >= 0x1p53 || (double)(int64_t)v == v);
}

static bool
int_in_range(double v)
{
	return is_integral(v) && v >= -(double)FORM_INT_LIMIT && v <= (double)FORM_INT_LIMIT;
}

/* Reads exactly n decimal digits. */
static bool
digits(const char *s, size_t n, int *ret)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* True if s starts with a valid YYYY-MM-DD (proleptic Gregorian). */
static bool
date_prefix(const char *s)
{
	int y, m, d;

	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' ||
	    !digits(s + 8, 2, &d))
		return false;
	return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static bool
date_valid(const char *s)
{
	return date_prefix(s) && s[10] == '\0';
}

/* RFC 3339 date-time with upper-case T and Z, seconds 00-59, 1-9 fraction digits. */
static bool
datetime_valid(const char *s)
{
	const char *p;
	int hh, mm, ss;
	size_t n;

	if (!date_prefix(s) || s[10] != 'T')
		return false;
	p = s + 11;
	if (!digits(p, 2, &hh) || p[2] != ':' || !digits(p + 3, 2, &mm) || p[5] != ':' ||
	    !digits(p + 6, 2, &ss) || hh > 23 || mm > 59 || ss > 59)
		return false;
	p += 8;
	if (*p == '.') {
		p++;
		for (n = 0; p[n] >= '0' && p[n] <= '9'; n++)
			;
		if (n < 1 || n > 9)
			return false;
		p += n;
	}
	if (*p == 'Z')
		return p[1] == '\0';
	if (*p != '+' && *p != '-')
		return false;
	if (!digits(p + 1, 2, &hh) || p[3] != ':' || !digits(p + 4, 2, &mm))
		return false;
	return hh <= 23 && mm <= 59 && p[6] == '\0';
}

static bool
in_choices(const struct form_field *f, const char *s)
{
	size_t i;

	for (i = 0; i < f->nchoices; i++)
		if (strcmp(f->choices[i], s) == 0)
			return true;
	return false;
}

/* Value checks, one per type. */

static fs_err
check_text(const struct form_field *f, const cJSON *v, char *err, size_t errlen)
{
	size_t len, max;

	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return type_err(f, err, errlen);
	len = strlen(v->valuestring);
	if (!utf8_valid((const unsigned char *)v->valuestring, len))
		return rule_err(f, "utf8", err, errlen, "must be valid UTF-8");
	max = f->max_length > 0 ? (size_t)f->max_length : FORM_TEXT_DEFAULT_MAX;
	if (len > max)
		return rule_err(f, "max_length", err, errlen, "must be at most %zu bytes", max);
	/* Empty text counts as unset, so the pattern does not apply to it. */
	if (len > 0 && f->regex != NULL && regexec(f->regex, v->valuestring, 0, NULL, 0) != 0)
		return rule_err(f, "pattern", err, errlen, "does not match the field's pattern");
	return FS_OK;
}

static void
format_bound(char *buf, size_t size, const struct form_field *f, double v)
{
	if (f->type == FORM_INTEGER)
		snprintf(buf, size, "%lld", (long long)v);
	else
		snprintf(buf, size, "%.15g", v);
}

static fs_err
check_bounds(const struct form_field *f, double v, char *err, size_t errlen)
{
	char b[64];

	if (f->has_min && v < f->min) {
		format_bound(b, sizeof(b), f, f->min);
		return rule_err(f, "min", err, errlen, "must be at least %s", b);
	}
	if (f->has_max && v > f->max) {
		format_bound(b, sizeof(b), f, f->max);
		return rule_err(f, "max", err, errlen, "must be at most %s", b);
	}
	return FS_OK;
}

static fs_err
check_integer(const struct form_field *f, const cJSON *v, char *err, size_t errlen)
{
	if (!cJSON_IsNumber(v) || !int_in_range(v->valuedouble))
		return type_err(f, err, errlen);
	return check_bounds(f, v->valuedouble, err, errlen);
}

static fs_err
check_decimal(const struct form_field *f, const cJSON *v, char *err, size_t errlen)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return type_err(f, err, errlen);
	return check_bounds(f, v->valuedouble, err, errlen);
}

static fs_err
check_boolean(const struct form_field *f, const cJSON *v, char *err, size_t errlen)
{
	return cJSON_IsBool(v) ? FS_OK : type_err(f, err, errlen);
}

static fs_err
check_date(const struct form_field *f, const cJSON *v, char *err, size_t errlen)
{
	bool ok;

	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return type_err(f, err, errlen);
	ok = f->type == FORM_DATE ? date_valid(v->valuestring) : datetime_valid(v->valuestring);
	return ok ? FS_OK : type_err(f, err, errlen);
}

static fs_err
check_select_one(const struct form_field *f, const cJSON *v, char *err, size_t errlen)
{
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return type_err(f, err, errlen);
	if (!in_choices(f, v->valuestring))
		return rule_err(f, "choices", err, errlen, "must be one of the field's choices");
	return FS_OK;
}

static fs_err
check_select_multiple(const struct form_field *f, const cJSON *v, char *err, size_t errlen)
{
	const cJSON *item, *prev;

	if (!cJSON_IsArray(v))
		return type_err(f, err, errlen);
	/* Each item must be a choice and unique, so this is O(nchoices^2) at most. */
	for (item = v->child; item != NULL; item = item->next) {
		if (!cJSON_IsString(item) || item->valuestring == NULL)
			return type_err(f, err, errlen);
		if (!in_choices(f, item->valuestring))
			return rule_err(f, "choices", err, errlen,
			    "every item must be one of the field's choices");
		for (prev = v->child; prev != item; prev = prev->next)
			if (strcmp(prev->valuestring, item->valuestring) == 0)
				return rule_err(
				    f, "choices", err, errlen, "must not list a choice twice");
	}
	return FS_OK;
}

static fs_err
check_geopoint(const struct form_field *f, const cJSON *v, char *err, size_t errlen)
{
	static const char *const keys[4] = {"lat", "lon", "alt", "acc"};
	double val[4] = {0};
	unsigned seen = 0;
	const cJSON *item;
	size_t k;

	if (!cJSON_IsObject(v))
		return type_err(f, err, errlen);
	for (item = v->child; item != NULL; item = item->next) {
		for (k = 0; k < 4; k++)
			if (item->string != NULL && strcmp(item->string, keys[k]) == 0)
				break;
		if (k == 4 || (seen & (1u << k)) != 0 || !cJSON_IsNumber(item) ||
		    !isfinite(item->valuedouble))
			return type_err(f, err, errlen);
		seen |= 1u << k;
		val[k] = item->valuedouble;
	}
	if ((seen & 3u) != 3u || val[0] < -90 || val[0] > 90 || val[1] < -180 || val[1] > 180 ||
	    val[3] < 0)
		return type_err(f, err, errlen);
	return FS_OK;
}

fs_err
form_check_value(const struct form_field *field, const cJSON *value, char *err, size_t errlen)
{
	assert(field != NULL);
	if (value == NULL || cJSON_IsNull(value))
		return FS_OK;
	switch (field->type) {
	case FORM_TEXT:
		return check_text(field, value, err, errlen);
	case FORM_INTEGER:
		return check_integer(field, value, err, errlen);
	case FORM_DECIMAL:
		return check_decimal(field, value, err, errlen);
	case FORM_BOOLEAN:
		return check_boolean(field, value, err, errlen);
	case FORM_DATE:
	case FORM_DATETIME:
		return check_date(field, value, err, errlen);
	case FORM_SELECT_ONE:
		return check_select_one(field, value, err, errlen);
	case FORM_SELECT_MULTIPLE:
		return check_select_multiple(field, value, err, errlen);
	case FORM_GEOPOINT:
		return check_geopoint(field, value, err, errlen);
	}
	return type_err(field, err, errlen);
}

/* True if value leaves a field unanswered: absent, null, "" or []. */
static bool
value_empty(const struct form_field *f, const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v))
		return true;
	if (f->type == FORM_TEXT)
		return cJSON_IsString(v) && v->valuestring != NULL && v->valuestring[0] == '\0';
	if (f->type == FORM_SELECT_MULTIPLE)
		return cJSON_IsArray(v) && v->child == NULL;
	return false;
}

static size_t
field_index(const struct form *form, const char *name)
{
	size_t i;

	for (i = 0; i < form->nfields; i++)
		if (strcmp(form->fields[i].name, name) == 0)
			break;
	return i;
}

fs_err
form_validate(const struct form *form, const cJSON *values, bool complete, char *err, size_t errlen)
{
	unsigned char seen[FORM_MAX_FIELDS] = {0};
	const struct form_field *f;
	const cJSON *item;
	size_t i, pos = 1;
	fs_err rc;

	assert(form != NULL && form->nfields <= FORM_MAX_FIELDS);
	if (!cJSON_IsObject(values)) {
		seterr(err, errlen, "values: not a JSON object");
		return FS_ERR_JSON;
	}
	for (item = values->child; item != NULL; item = item->next, pos++) {
		i = item->string != NULL ? field_index(form, item->string) : form->nfields;
		if (i == form->nfields) {
			if (item->string != NULL && name_valid(item->string))
				seterr(err, errlen,
				    "field '%s': rule 'unknown_field' (not in form %s version "
				    "%lld)",
				    item->string, form->id, (long long)form->version);
			else
				seterr(err, errlen,
				    "field #%zu of the values: rule 'unknown_field' (not a valid "
				    "field name)",
				    pos);
			return FS_ERR_INVALID;
		}
		f = &form->fields[i];
		if (seen[i]) {
			seterr(err, errlen, "values: field '%s' appears twice", f->name);
			return FS_ERR_JSON;
		}
		seen[i] = 1;
		if ((rc = form_check_value(f, item, err, errlen)) != FS_OK)
			return rc;
		if (f->required && value_empty(f, item))
			return rule_err(f, "required", err, errlen, "must be set");
	}
	if (!complete)
		return FS_OK;
	for (i = 0; i < form->nfields; i++)
		if (form->fields[i].required && !seen[i])
			return rule_err(&form->fields[i], "required", err, errlen, "must be set");
	return FS_OK;
}

/* Strict JSON parsing. */

fs_err
form_json_parse(
    const char *json, size_t len, const char *what, cJSON **ret_json, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *root;
	size_t i;

	assert(what != NULL && ret_json != NULL);
	if (json == NULL || len == 0) {
		seterr(err, errlen, "%s: no JSON text", what);
		return FS_ERR_JSON;
	}
	if (memchr(json, '\0', len) != NULL) {
		seterr(err, errlen, "%s: JSON text contains a NUL byte", what);
		return FS_ERR_JSON;
	}
	/* cJSON would cut a string at \u0000; backslashes only occur in strings. */
	for (i = 0; i < len; i++) {
		if (json[i] != '\\')
			continue;
		if (len - i >= 6 && memcmp(json + i + 1, "u0000", 5) == 0) {
			seterr(err, errlen, "%s: JSON text contains a \\u0000 escape", what);
			return FS_ERR_JSON;
		}
		i++;
	}
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (root == NULL) {
		seterr(err, errlen, "%s: malformed JSON near byte %zu", what,
		    end != NULL ? (size_t)(end - json) : (size_t)0);
		return FS_ERR_JSON;
	}
	for (i = (size_t)(end - json); i < len; i++) {
		if (json[i] != ' ' && json[i] != '\t' && json[i] != '\n' && json[i] != '\r') {
			cJSON_Delete(root);
			seterr(err, errlen, "%s: unexpected text after the JSON value at byte %zu",
			    what, i);
			return FS_ERR_JSON;
		}
	}
	*ret_json = root;
	return FS_OK;
}

/* Definition parsing. */

static bool
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Refuses keys not in known and keys given twice. */
static fs_err
check_keys(const cJSON *obj, const char *const *known, const char *who, char *err, size_t errlen)
{
	const cJSON *a, *b;
	char buf[KEY_SHOW_MAX];

	for (a = obj->child; a != NULL; a = a->next) {
		if (a->string == NULL || !in_list(a->string, known))
			return def_err(err, errlen, who, "unknown key '%s'",
			    show_key(buf, sizeof(buf), a->string != NULL ? a->string : ""));
		for (b = obj->child; b != a; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return def_err(
				    err, errlen, who, "key '%s' appears twice", a->string);
	}
	return FS_OK;
}

/* An optional string; *ret is borrowed from obj, or NULL when absent. */
static fs_err
opt_string(
    const cJSON *obj, const char *key, const char *who, const char **ret, char *err, size_t errlen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	*ret = NULL;
	if (item == NULL)
		return FS_OK;
	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return def_err(err, errlen, who, "'%s' must be a string", key);
	if (!str_utf8_valid(item->valuestring))
		return def_err(err, errlen, who, "'%s' is not valid UTF-8", key);
	*ret = item->valuestring;
	return FS_OK;
}

static fs_err
opt_bool(const cJSON *obj, const char *key, const char *who, bool *ret, char *err, size_t errlen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	*ret = false;
	if (item == NULL)
		return FS_OK;
	if (!cJSON_IsBool(item))
		return def_err(err, errlen, who, "'%s' must be true or false", key);
	*ret = cJSON_IsTrue(item);
	return FS_OK;
}

static fs_err
opt_number(const cJSON *obj, const char *key, const char *who, bool *has, double *ret, char *err,
    size_t errlen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	*has = false;
	if (item == NULL)
		return FS_OK;
	if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
		return def_err(err, errlen, who, "'%s' must be a number", key);
	*has = true;
	*ret = item->valuedouble;
	return FS_OK;
}

/* Copies s (may be NULL) into *ret. */
static fs_err
dup_string(const char *s, char **ret, char *err, size_t errlen)
{
	*ret = NULL;
	if (s == NULL)
		return FS_OK;
	if ((*ret = strdup(s)) == NULL)
		return nomem(err, errlen);
	return FS_OK;
}

/* The name of a form or field: present, a string, [a-z][a-z0-9_]*. */
static fs_err
req_name(
    const cJSON *obj, const char *key, const char *who, const char **ret, char *err, size_t errlen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (item == NULL)
		return def_err(err, errlen, who, "missing '%s'", key);
	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return def_err(err, errlen, who, "'%s' must be a string", key);
	if (!name_valid(item->valuestring))
		return def_err(err, errlen, who,
		    "invalid '%s' (must match [a-z][a-z0-9_]* and be at most %d characters)", key,
		    FORM_NAME_MAX);
	*ret = item->valuestring;
	return FS_OK;
}

static fs_err
parse_type(struct form_field *f, const cJSON *obj, const char *who, char *err, size_t errlen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "type");
	char buf[KEY_SHOW_MAX];
	int t;

	if (item == NULL)
		return def_err(err, errlen, who, "missing 'type'");
	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return def_err(err, errlen, who, "'type' must be a string");
	for (t = FORM_TEXT; t <= FORM_GEOPOINT; t++) {
		if (strcmp(item->valuestring, form_type_name((enum form_type)t)) == 0) {
			f->type = (enum form_type)t;
			return FS_OK;
		}
	}
	return def_err(
	    err, errlen, who, "unknown type '%s'", show_key(buf, sizeof(buf), item->valuestring));
}

static fs_err
parse_choices(struct form_field *f, const cJSON *obj, const char *who, char *err, size_t errlen)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(obj, "choices"), *c;
	size_t n = 0, i, j, len;
	const char *s;

	if (f->type != FORM_SELECT_ONE && f->type != FORM_SELECT_MULTIPLE) {
		if (choices != NULL)
			return def_err(err, errlen, who,
			    "'choices' is only allowed for select_one and select_multiple");
		return FS_OK;
	}
	if (!cJSON_IsArray(choices) || choices->child == NULL)
		return def_err(err, errlen, who, "%s needs a non-empty 'choices' array",
		    form_type_name(f->type));
	for (c = choices->child; c != NULL; c = c->next)
		n++;
	if (n > CHOICES_MAX)
		return def_err(err, errlen, who, "more than %d choices", CHOICES_MAX);
	if ((f->choices = calloc(n, sizeof(*f->choices))) == NULL)
		return nomem(err, errlen);
	for (c = choices->child, i = 0; c != NULL; c = c->next, i++) {
		if (!cJSON_IsString(c) || c->valuestring == NULL)
			return def_err(err, errlen, who, "choice #%zu must be a string", i + 1);
		s = c->valuestring;
		len = strlen(s);
		if (len == 0)
			return def_err(err, errlen, who, "choice #%zu is empty", i + 1);
		if (!str_utf8_valid(s))
			return def_err(err, errlen, who, "choice #%zu is not valid UTF-8", i + 1);
		/* Text input trims spaces and splits select_multiple at commas. */
		if (is_space(s[0]) || is_space(s[len - 1]))
			return def_err(err, errlen, who,
			    "choice #%zu has leading or trailing white space", i + 1);
		if (f->type == FORM_SELECT_MULTIPLE && strchr(s, ',') != NULL)
			return def_err(err, errlen, who, "choice #%zu contains a comma", i + 1);
		for (j = 0; j < i; j++)
			if (strcmp(f->choices[j], s) == 0)
				return def_err(err, errlen, who, "choice #%zu repeats choice #%zu",
				    i + 1, j + 1);
		if ((f->choices[i] = strdup(s)) == NULL)
			return nomem(err, errlen);
		f->nchoices = i + 1;
	}
	return FS_OK;
}

static fs_err
parse_bounds(struct form_field *f, const cJSON *obj, const char *who, char *err, size_t errlen)
{
	fs_err rc;

	if ((rc = opt_number(obj, "min", who, &f->has_min, &f->min, err, errlen)) != FS_OK ||
	    (rc = opt_number(obj, "max", who, &f->has_max, &f->max, err, errlen)) != FS_OK)
		return rc;
	if (!f->has_min && !f->has_max)
		return FS_OK;
	if (f->type != FORM_INTEGER && f->type != FORM_DECIMAL)
		return def_err(err, errlen, who, "'%s' is only allowed for integer and decimal",
		    f->has_min ? "min" : "max");
	if (f->type == FORM_INTEGER) {
		if (f->has_min && !int_in_range(f->min))
			return def_err(err, errlen, who, "'min' must be an integer");
		if (f->has_max && !int_in_range(f->max))
			return def_err(err, errlen, who, "'max' must be an integer");
	}
	if (f->has_min && f->has_max && f->min > f->max)
		return def_err(err, errlen, who, "min is greater than max");
	return FS_OK;
}

static fs_err
parse_max_length(struct form_field *f, const cJSON *obj, const char *who, char *err, size_t errlen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "max_length");

	if (item == NULL)
		return FS_OK;
	if (f->type != FORM_TEXT)
		return def_err(err, errlen, who, "'max_length' is only allowed for text");
	if (!cJSON_IsNumber(item) || !is_integral(item->valuedouble) || item->valuedouble < 1 ||
	    item->valuedouble > FORM_TEXT_DEFAULT_MAX)
		return def_err(err, errlen, who, "'max_length' must be an integer from 1 to %d",
		    FORM_TEXT_DEFAULT_MAX);
	f->max_length = (int64_t)item->valuedouble;
	return FS_OK;
}

/* Returns the character after the bracket expression that opens at p, or NULL. */
static const char *
bracket_end(const char *p)
{
	char delim;

	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p != ']') {
		if (*p == '\0')
			return NULL;
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			delim = p[1];
			for (p += 2; !(p[0] == delim && p[1] == ']'); p++)
				if (*p == '\0')
					return NULL;
			p += 2;
		} else {
			p++;
		}
	}
	return p + 1;
}

/*
 * The pattern is wrapped as ^(pattern)$, so its parentheses must balance or
 * "a)|(b" would escape the anchors (glibc takes a lone ')' literally).
 * Back-references are refused: they make matching exponential.
 *
 * glibc's regcomp copies the tree under every repetition ("a+" becomes
 * "aa*", "a{9}" nine copies), so nested or stacked repetitions grow the
 * compiled pattern exponentially ("a++++++..." exhausted memory in the
 * fuzzer).  The size after those copies is estimated here -- an atom
 * weighs 1, a repeated item its weight times the copies -- and a pattern
 * heavier than PATTERN_WEIGHT_MAX, or one that repeats a repetition, is
 * refused before regcomp sees it.
 */
#define PATTERN_WEIGHT_MAX 4096
#define PATTERN_DEPTH_MAX 32

/* Parses an interval "{n}", "{n,}" or "{n,m}" at p; copies it makes, or -1. */
static long
interval_copies(const char **pp)
{
	const char *p = *pp + 1;
	long lo = 0, hi;

	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9' && lo <= 255)
		lo = lo * 10 + (*p++ - '0');
	hi = lo;
	if (*p == ',') {
		p++;
		if (*p == '}') {
			hi = lo + 1;
		} else {
			hi = 0;
			while (*p >= '0' && *p <= '9' && hi <= 255)
				hi = hi * 10 + (*p++ - '0');
		}
	}
	if (*p != '}' || lo > 255 || hi > 255 || hi < lo)
		return -1;
	*pp = p + 1;
	return (hi > 1 ? hi : 1) + 1;
}

static const char *
pattern_problem(const char *p)
{
	long sum[PATTERN_DEPTH_MAX + 1] = { 0 }, last = 0, copies;
	int depth = 0;
	bool repeated = false;

	while (*p != '\0') {
		if (*p == '*' || *p == '+' || *p == '?' || *p == '{') {
			if (*p == '{') {
				if ((copies = interval_copies(&p)) < 0)
					return "has a malformed or too large {} interval (at most 255)";
			} else {
				copies = 2;
				p++;
			}
			if (last == 0)
				return "repeats nothing";
			if (repeated)
				return "repeats a repetition";
			sum[depth] += last * (copies - 1);
			last *= copies;
			repeated = true;
		} else {
			repeated = false;
			if (*p == '\\') {
				if (p[1] >= '1' && p[1] <= '9')
					return "uses a back-reference";
				if (p[1] == '\0')
					return "ends with a backslash";
				p += 2;
				last = 1;
				sum[depth]++;
			} else if (*p == '[') {
				if ((p = bracket_end(p)) == NULL)
					return "has an unterminated bracket expression";
				last = 1;
				sum[depth]++;
			} else if (*p == '(') {
				if (depth == PATTERN_DEPTH_MAX)
					return "nests parentheses too deeply";
				sum[++depth] = 0;
				last = 0;
				p++;
			} else if (*p == ')') {
				if (depth == 0)
					return "has unbalanced parentheses";
				last = sum[depth] > 0 ? sum[depth] : 1;
				sum[--depth] += last;
				p++;
			} else if (*p == '|') {
				last = 0;
				p++;
			} else {
				last = 1;
				sum[depth]++;
				p++;
			}
		}
		if (sum[depth] > PATTERN_WEIGHT_MAX || last > PATTERN_WEIGHT_MAX)
			return "is too complex (nested or long repetitions)";
	}
	return depth == 0 ? NULL : "has unbalanced parentheses";
}

static fs_err
parse_pattern(struct form_field *f, const cJSON *obj, const char *who, char *err, size_t errlen)
{
	const char *src, *problem;
	char *wrapped, msg[128];
	size_t len;
	regex_t *re;
	int rc;
	fs_err frc;

	if ((frc = opt_string(obj, "pattern", who, &src, err, errlen)) != FS_OK || src == NULL)
		return frc;
	if (f->type != FORM_TEXT)
		return def_err(err, errlen, who, "'pattern' is only allowed for text");
	len = strlen(src);
	if (len == 0 || len > PATTERN_MAX)
		return def_err(err, errlen, who, "'pattern' must be 1 to %d bytes", PATTERN_MAX);
	if ((problem = pattern_problem(src)) != NULL)
		return def_err(err, errlen, who, "'pattern' %s", problem);
	if ((wrapped = malloc(len + 5)) == NULL)
		return nomem(err, errlen);
	snprintf(wrapped, len + 5, "^(%s)$", src);
	if ((re = malloc(sizeof(*re))) == NULL) {
		free(wrapped);
		return nomem(err, errlen);
	}
	rc = regcomp(re, wrapped, REG_EXTENDED | REG_NOSUB);
	free(wrapped);
	if (rc != 0) {
		regerror(rc, re, msg, sizeof(msg));
		free(re);
		if (rc == REG_ESPACE)
			return nomem(err, errlen);
		return def_err(err, errlen, who, "'pattern' does not compile (%s)", msg);
	}
	f->regex = re;
	return dup_string(src, &f->pattern, err, errlen);
}

static fs_err
parse_field(struct form *form, size_t i, const cJSON *obj, char *err, size_t errlen)
{
	struct form_field *f = &form->fields[i];
	char who[FORM_NAME_MAX + 16];
	const char *name, *s;
	size_t j;
	fs_err rc;

	snprintf(who, sizeof(who), "field #%zu", i + 1);
	if (!cJSON_IsObject(obj))
		return def_err(err, errlen, who, "not an object");
	if ((rc = req_name(obj, "name", who, &name, err, errlen)) != FS_OK)
		return rc;
	snprintf(who, sizeof(who), "field '%s'", name);
	for (j = 0; j < i; j++)
		if (strcmp(form->fields[j].name, name) == 0)
			return def_err(err, errlen, who, "duplicate name (also field #%zu)", j + 1);
	if ((rc = dup_string(name, &f->name, err, errlen)) != FS_OK ||
	    (rc = check_keys(obj, field_keys, who, err, errlen)) != FS_OK ||
	    (rc = parse_type(f, obj, who, err, errlen)) != FS_OK)
		return rc;
	if ((rc = opt_string(obj, "label", who, &s, err, errlen)) != FS_OK ||
	    (rc = dup_string(s, &f->label, err, errlen)) != FS_OK ||
	    (rc = opt_string(obj, "hint", who, &s, err, errlen)) != FS_OK ||
	    (rc = opt_string(obj, "description", who, &s, err, errlen)) != FS_OK)
		return rc;
	if ((rc = opt_bool(obj, "required", who, &f->required, err, errlen)) != FS_OK ||
	    (rc = opt_bool(obj, "sensitive", who, &f->sensitive, err, errlen)) != FS_OK)
		return rc;
	if ((rc = parse_choices(f, obj, who, err, errlen)) != FS_OK ||
	    (rc = parse_bounds(f, obj, who, err, errlen)) != FS_OK ||
	    (rc = parse_max_length(f, obj, who, err, errlen)) != FS_OK)
		return rc;
	return parse_pattern(f, obj, who, err, errlen);
}

static fs_err
parse_header(struct form *form, const cJSON *root, char *err, size_t errlen)
{
	const cJSON *item;
	const char *s;
	int p;
	fs_err rc;

	if ((rc = req_name(root, "id", "form", &s, err, errlen)) != FS_OK ||
	    (rc = dup_string(s, &form->id, err, errlen)) != FS_OK)
		return rc;
	if ((item = cJSON_GetObjectItemCaseSensitive(root, "version")) == NULL)
		return def_err(err, errlen, "form", "missing 'version'");
	if (!cJSON_IsNumber(item) || !int_in_range(item->valuedouble) || item->valuedouble < 1)
		return def_err(err, errlen, "form", "'version' must be an integer of at least 1");
	form->version = (int64_t)item->valuedouble;
	if (cJSON_GetObjectItemCaseSensitive(root, "title") == NULL)
		return def_err(err, errlen, "form", "missing 'title'");
	if ((rc = opt_string(root, "title", "form", &s, err, errlen)) != FS_OK)
		return rc;
	if (s[0] == '\0')
		return def_err(err, errlen, "form", "'title' is empty");
	if ((rc = dup_string(s, &form->title, err, errlen)) != FS_OK)
		return rc;
	if ((rc = opt_string(root, "conflict", "form", &s, err, errlen)) != FS_OK)
		return rc;
	form->conflict = FORM_CONFLICT_FIELD_LWW;
	if (s != NULL) {
		for (p = FORM_CONFLICT_FIELD_LWW; p <= FORM_CONFLICT_MANUAL; p++)
			if (strcmp(s, form_conflict_name((enum form_conflict)p)) == 0)
				break;
		if (p > FORM_CONFLICT_MANUAL)
			return def_err(err, errlen, "form",
			    "unknown 'conflict' policy (must be field_lww, record_lww or manual)");
		form->conflict = (enum form_conflict)p;
	}
	if ((rc = opt_string(root, "description", "form", &s, err, errlen)) != FS_OK ||
	    (rc = opt_string(root, "hint", "form", &s, err, errlen)) != FS_OK ||
	    (rc = opt_string(root, "label", "form", &s, err, errlen)) != FS_OK)
		return rc;
	return FS_OK;
}

static fs_err
parse_form(struct form *form, const cJSON *root, char *err, size_t errlen)
{
	const cJSON *fields, *item;
	size_t n = 0, i;
	fs_err rc;

	if (!cJSON_IsObject(root))
		return def_err(err, errlen, "form", "not a JSON object");
	if ((rc = check_keys(root, form_keys, "form", err, errlen)) != FS_OK ||
	    (rc = parse_header(form, root, err, errlen)) != FS_OK)
		return rc;
	if ((fields = cJSON_GetObjectItemCaseSensitive(root, "fields")) == NULL)
		return def_err(err, errlen, "form", "missing 'fields'");
	if (!cJSON_IsArray(fields) || fields->child == NULL)
		return def_err(err, errlen, "form", "'fields' must be a non-empty array");
	for (item = fields->child; item != NULL; item = item->next)
		if (++n > FORM_MAX_FIELDS)
			return def_err(err, errlen, "form", "more than %d fields", FORM_MAX_FIELDS);
	if ((form->fields = calloc(n, sizeof(*form->fields))) == NULL)
		return nomem(err, errlen);
	form->nfields = n;
	for (item = fields->child, i = 0; item != NULL; item = item->next, i++)
		if ((rc = parse_field(form, i, item, err, errlen)) != FS_OK)
			return rc;
	return FS_OK;
}

fs_err
form_load(const char *json, size_t len, struct form **ret_form, char *err, size_t errlen)
{
	struct form *form;
	cJSON *root;
	fs_err rc;

	assert(ret_form != NULL);
	seterr(err, errlen, "%s", "");
	if ((rc = form_json_parse(json, len, "form", &root, err, errlen)) != FS_OK)
		return rc;
	if ((form = calloc(1, sizeof(*form))) == NULL) {
		rc = nomem(err, errlen);
		goto out_root;
	}
	if ((rc = parse_form(form, root, err, errlen)) != FS_OK)
		goto out_form;
	if ((form->json = cJSON_PrintUnformatted(root)) == NULL) {
		rc = nomem(err, errlen);
		goto out_form;
	}
	cJSON_Delete(root);
	*ret_form = form;
	return FS_OK;

out_form:
	form_free(form);
out_root:
	cJSON_Delete(root);
	return rc;
}

void
form_free(struct form *form)
{
	struct form_field *f;
	size_t i, j;

	if (form == NULL)
		return;
	for (i = 0; form->fields != NULL && i < form->nfields; i++) {
		f = &form->fields[i];
		free(f->name);
		free(f->label);
		free(f->pattern);
		if (f->regex != NULL) {
			regfree(f->regex);
			free(f->regex);
		}
		for (j = 0; j < f->nchoices; j++)
			free(f->choices[j]);
		free(f->choices);
	}
	free(form->fields);
	free(form->id);
	free(form->title);
	cJSON_free(form->json);
	free(form);
}

const struct form_field *
form_field_find(const struct form *form, const char *name)
{
	size_t i;

	assert(form != NULL && name != NULL);
	i = field_index(form, name);
	return i < form->nfields ? &form->fields[i] : NULL;
}

const char *
form_type_name(enum form_type type)
{
	switch (type) {
	case FORM_TEXT:
		return "text";
	case FORM_INTEGER:
		return "integer";
	case FORM_DECIMAL:
		return "decimal";
	case FORM_BOOLEAN:
		return "boolean";
	case FORM_DATE:
		return "date";
	case FORM_DATETIME:
		return "datetime";
	case FORM_SELECT_ONE:
		return "select_one";
	case FORM_SELECT_MULTIPLE:
		return "select_multiple";
	case FORM_GEOPOINT:
		return "geopoint";
	}
	return "unknown";
}

const char *
form_conflict_name(enum form_conflict policy)
{
	switch (policy) {
	case FORM_CONFLICT_FIELD_LWW:
		return "field_lww";
	case FORM_CONFLICT_RECORD_LWW:
		return "record_lww";
	case FORM_CONFLICT_MANUAL:
		return "manual";
	}
	return "unknown";
}

/* Text input. */

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*s)[*len - 1]))
		(*len)--;
}

/* Parses s[0..len) as a decimal number with '.' as the point, whatever the locale. */
static bool
parse_decimal(const char *s, size_t len, double *ret)
{
	char buf[NUM_TEXT_MAX], point = localeconv()->decimal_point[0], *end;
	bool digit = false;
	size_t i;
	double v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digit = true;
		else if (s[i] != '+' && s[i] != '-' && s[i] != '.' && s[i] != 'e' && s[i] != 'E')
			return false; /* also keeps out inf, nan and hex */
		buf[i] = s[i] == '.' ? point : s[i];
	}
	buf[len] = '\0';
	v = strtod(buf, &end);
	if (!digit || end != buf + len || !isfinite(v))
		return false;
	*ret = v;
	return true;
}

static bool
parse_integer(const char *s, size_t len, long long *ret)
{
	char buf[NUM_TEXT_MAX], *end;
	size_t i;
	long long v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	for (i = (s[0] == '+' || s[0] == '-') ? 1 : 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || end != buf + len || end == buf || v > FORM_INT_LIMIT ||
	    v < -FORM_INT_LIMIT)
		return false;
	*ret = v;
	return true;
}

static bool
word_eq(const char *s, size_t len, const char *word)
{
	size_t i;
	char c;

	if (strlen(word) != len)
		return false;
	for (i = 0; i < len; i++) {
		c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		if (c != word[i])
			return false;
	}
	return true;
}

/* A trimmed string value; date and datetime must be valid. */
static fs_err
text_string(
    const struct form_field *f, const char *s, size_t len, cJSON **ret, char *err, size_t errlen)
{
	char *copy;
	bool ok = true;

	if ((copy = strndup(s, len)) == NULL)
		return nomem(err, errlen);
	if (f->type == FORM_DATE)
		ok = date_valid(copy);
	else if (f->type == FORM_DATETIME)
		ok = datetime_valid(copy);
	*ret = ok ? cJSON_CreateString(copy) : NULL;
	free(copy);
	if (!ok)
		return type_err(f, err, errlen);
	return *ret != NULL ? FS_OK : nomem(err, errlen);
}

static fs_err
text_select_multiple(const char *s, size_t len, cJSON **ret, char *err, size_t errlen)
{
	const char *end = s + len, *comma, *item;
	size_t n;
	char *copy;
	cJSON *arr, *str;

	if ((arr = cJSON_CreateArray()) == NULL)
		return nomem(err, errlen);
	for (;; s = comma + 1) {
		comma = memchr(s, ',', (size_t)(end - s));
		item = s;
		n = (size_t)((comma != NULL ? comma : end) - s);
		trim(&item, &n);
		if (n > 0) {
			if ((copy = strndup(item, n)) == NULL)
				goto fail;
			str = cJSON_CreateString(copy);
			free(copy);
			if (str == NULL || !cJSON_AddItemToArray(arr, str)) {
				cJSON_Delete(str);
				goto fail;
			}
		}
		if (comma == NULL)
			break;
	}
	*ret = arr;
	return FS_OK;

fail:
	cJSON_Delete(arr);
	return nomem(err, errlen);
}

static fs_err
text_geopoint(
    const struct form_field *f, const char *s, size_t len, cJSON **ret, char *err, size_t errlen)
{
	static const char *const keys[4] = {"lat", "lon", "alt", "acc"};
	const char *end = s + len, *comma, *part;
	double v[4];
	size_t n = 0, plen, k;
	cJSON *obj;

	for (;; s = comma + 1) {
		comma = memchr(s, ',', (size_t)(end - s));
		part = s;
		plen = (size_t)((comma != NULL ? comma : end) - s);
		trim(&part, &plen);
		if (n == 4 || !parse_decimal(part, plen, &v[n]))
			goto bad;
		n++;
		if (comma == NULL)
			break;
	}
	if (n < 2 || v[0] < -90 || v[0] > 90 || v[1] < -180 || v[1] > 180 || (n == 4 && v[3] < 0))
		goto bad;
	if ((obj = cJSON_CreateObject()) == NULL)
		return nomem(err, errlen);
	for (k = 0; k < n; k++) {
		if (cJSON_AddNumberToObject(obj, keys[k], v[k]) == NULL) {
			cJSON_Delete(obj);
			return nomem(err, errlen);
		}
	}
	*ret = obj;
	return FS_OK;

bad:
	return rule_err(f, "type", err, errlen,
	    "must be lat,lon[,alt[,acc]] with lat -90..90, lon -180..180 and acc >= 0");
}

fs_err
form_value_from_text(
    const struct form_field *field, const char *text, cJSON **ret_value, char *err, size_t errlen)
{
	const char *s = text;
	size_t len;
	long long i;
	double d;
	cJSON *v = NULL;

	assert(field != NULL && text != NULL && ret_value != NULL);
	len = strlen(text);
	if (field->type != FORM_TEXT)
		trim(&s, &len);
	if (len == 0) {
		v = cJSON_CreateNull();
		goto done;
	}
	switch (field->type) {
	case FORM_TEXT:
		v = cJSON_CreateString(text);
		break;
	case FORM_INTEGER:
		if (!parse_integer(s, len, &i))
			return type_err(field, err, errlen);
		v = cJSON_CreateNumber((double)i);
		break;
	case FORM_DECIMAL:
		if (!parse_decimal(s, len, &d))
			return type_err(field, err, errlen);
		v = cJSON_CreateNumber(d);
		break;
	case FORM_BOOLEAN:
		if (word_eq(s, len, "true") || word_eq(s, len, "yes") || word_eq(s, len, "1"))
			v = cJSON_CreateTrue();
		else if (word_eq(s, len, "false") || word_eq(s, len, "no") || word_eq(s, len, "0"))
			v = cJSON_CreateFalse();
		else
			return rule_err(
			    field, "type", err, errlen, "must be true/false, yes/no or 1/0");
		break;
	case FORM_DATE:
	case FORM_DATETIME:
	case FORM_SELECT_ONE:
		return text_string(field, s, len, ret_value, err, errlen);
	case FORM_SELECT_MULTIPLE:
		return text_select_multiple(s, len, ret_value, err, errlen);
	case FORM_GEOPOINT:
		return text_geopoint(field, s, len, ret_value, err, errlen);
	}
done:
	if (v == NULL)
		return nomem(err, errlen);
	*ret_value = v;
	return FS_OK;
}
