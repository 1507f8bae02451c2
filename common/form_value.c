/*
 * form_value.c -- checking record values against a form's rules
 * (form_check_value(), form_validate()) and turning text a user typed into
 * a JSON value of the field's type (form_value_from_text()).
 *
 * Every message names a field and a rule, never a value: values describe
 * possible victims and messages end up in logs.
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

#include "form_internal.h"
#include "seal.h"

static fs_err rule_err(const struct form_field *f, const char *rule, char *err, size_t errlen,
    const char *fmt, ...) FORMAT(5, 6);
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
	form_seterr(err, errlen, "field '%s': rule '%s' (%s)", f->name, rule, why);
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
		       ">= 0";	case FORM_REPEAT:
		return "holds rows: set its values as repeat/ROW/FIELD";
	}
	return "has an unknown type";
}

static fs_err
type_err(const struct form_field *f, char *err, size_t errlen)
{
	return rule_err(f, "type", err, errlen, "%s", type_expect(f->type));
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

bool
form_date_valid(const char *s)
{
	return date_prefix(s) && s[10] == '\0';
}

bool
form_datetime_valid(const char *s)
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
	if (!form_utf8_valid((const unsigned char *)v->valuestring, len))
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
	if (!cJSON_IsNumber(v) || !form_int_in_range(v->valuedouble))
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
	ok = f->type == FORM_DATE ? form_date_valid(v->valuestring) : form_datetime_valid(v->valuestring);
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
	/*
	 * A sensitive value arrives sealed (seal.h): its shape is checked
	 * here, its rules were checked on the device before it was sealed.
	 */
	if (seal_is_envelope(value)) {
		char why[160];

		if (!field->sensitive) {
			form_seterr(err, errlen,
			    "field '%s': rule 'sealed' (only a sensitive field may be sealed)",
			    field->name);
			return FS_ERR_INVALID;
		}
		if (seal_check(value, why, sizeof(why)) != FS_OK) {
			form_seterr(err, errlen, "field '%s': rule 'sealed' (%s)", field->name, why);
			return FS_ERR_INVALID;
		}
		return FS_OK;
	}
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
	case FORM_REPEAT:
		break;
	}
	return type_err(field, err, errlen);
}

bool
form_value_empty(const struct form_field *f, const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v))
		return true;
	if (f->type == FORM_TEXT)
		return cJSON_IsString(v) && v->valuestring != NULL && v->valuestring[0] == '\0';
	if (f->type == FORM_SELECT_MULTIPLE)
		return cJSON_IsArray(v) && v->child == NULL;
	return false;
}


/*
 * One value of a repeat's row, "repeat/row/sub" (form_repeat.c): the
 * sub-field's own rules.  Whether a row has every required sub-field is a
 * rule of the whole record (form_rows_check()): a change may clear a row.
 */
static fs_err
check_row_key(const struct form *form, const cJSON *values, const cJSON *item, char *err,
    size_t errlen)
{
	const struct form_field *sub = form_field_find(form, item->string);
	char shown[KEY_SHOW_MAX], why[512];
	const cJSON *prev;
	fs_err rc;

	if (sub == NULL) {
		form_seterr(err, errlen,
		    "field '%s': rule 'unknown_field' (not a row of a repeat of form %s version %lld)",
		    form_show_key(shown, sizeof(shown), item->string), form->id,
		    (long long)form->version);
		return FS_ERR_INVALID;
	}
	for (prev = values->child; prev != item; prev = prev->next)
		if (prev->string != NULL && strcmp(prev->string, item->string) == 0) {
			form_seterr(err, errlen, "values: field '%s' appears twice", item->string);
			return FS_ERR_JSON;
		}
	if ((rc = form_check_value(sub, item, why, sizeof(why))) != FS_OK) {
		/* "field 'sub': ..." names the sub-field: name the key instead. */
		const char *rest = strstr(why, "': ");

		form_seterr(err, errlen, "field '%s'%s", item->string, rest != NULL ? rest + 1 : why);
		return rc;
	}
	return FS_OK;
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
		form_seterr(err, errlen, "values: not a JSON object");
		return FS_ERR_JSON;
	}
	for (item = values->child; item != NULL; item = item->next, pos++) {
		i = item->string != NULL ? form_field_index(form, item->string) : form->nfields;
		if (i == form->nfields && item->string != NULL && strchr(item->string, '/') != NULL) {
			if ((rc = check_row_key(form, values, item, err, errlen)) != FS_OK)
				return rc;
			continue;
		}
		if (i == form->nfields) {
			if (item->string != NULL && form_name_valid(item->string))
				form_seterr(err, errlen,
				    "field '%s': rule 'unknown_field' (not in form %s version "
				    "%lld)",
				    item->string, form->id, (long long)form->version);
			else
				form_seterr(err, errlen,
				    "field #%zu of the values: rule 'unknown_field' (not a valid "
				    "field name)",
				    pos);
			return FS_ERR_INVALID;
		}
		f = &form->fields[i];
		if (seen[i]) {
			form_seterr(err, errlen, "values: field '%s' appears twice", f->name);
			return FS_ERR_JSON;
		}
		seen[i] = 1;
		if ((rc = form_check_value(f, item, err, errlen)) != FS_OK)
			return rc;
		/* A question with skip logic is required only while it applies (form_logic.c). */
		if (f->required && f->relevant == NULL && form_value_empty(f, item))
			return rule_err(f, "required", err, errlen, "must be set");
	}
	if (!complete)
		return FS_OK;
	for (i = 0; i < form->nfields; i++)
		if (form->fields[i].required && form->fields[i].relevant == NULL && !seen[i] &&
		    form->fields[i].type != FORM_REPEAT)
			return rule_err(&form->fields[i], "required", err, errlen, "must be set");
	if (form->order != NULL && form_has_logic(form)) {
		char today[11];

		form_today(today);
		return form_check_logic(form, values, today, err, errlen);
	}
	return FS_OK;
}


static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && form_is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && form_is_space((*s)[*len - 1]))
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
		return form_nomem(err, errlen);
	if (f->type == FORM_DATE)
		ok = form_date_valid(copy);
	else if (f->type == FORM_DATETIME)
		ok = form_datetime_valid(copy);
	*ret = ok ? cJSON_CreateString(copy) : NULL;
	free(copy);
	if (!ok)
		return type_err(f, err, errlen);
	return *ret != NULL ? FS_OK : form_nomem(err, errlen);
}

static fs_err
text_select_multiple(const char *s, size_t len, cJSON **ret, char *err, size_t errlen)
{
	const char *end = s + len, *comma, *item;
	size_t n;
	char *copy;
	cJSON *arr, *str;

	if ((arr = cJSON_CreateArray()) == NULL)
		return form_nomem(err, errlen);
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
	return form_nomem(err, errlen);
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
		return form_nomem(err, errlen);
	for (k = 0; k < n; k++) {
		if (cJSON_AddNumberToObject(obj, keys[k], v[k]) == NULL) {
			cJSON_Delete(obj);
			return form_nomem(err, errlen);
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
	case FORM_REPEAT:
		return type_err(field, err, errlen);
	}
done:
	if (v == NULL)
		return form_nomem(err, errlen);
	*ret_value = v;
	return FS_OK;
}

