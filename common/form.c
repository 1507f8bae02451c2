/*
 * form.c -- form definitions: loading and checking them.
 *
 * form_load() turns the JSON text of a definition (schema/FORMS.md) into a
 * struct form and refuses anything it does not understand: unknown keys,
 * keys of the wrong JSON type, rules that do not apply to the field's type,
 * patterns that do not compile.  Values are checked in form_value.c;
 * shared helpers are in form_util.c.
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

#include "form_internal.h"

static const char *const form_keys[] = {
    "id", "version", "title", "conflict", "fields", "description", "hint", "label",
    "keep_drafts", NULL};

static const char *const field_keys[] = {"name", "type", "label", "required", "sensitive",
    "choices", "min", "max", "max_length", "pattern", "hint", "description", "relevant",
    "constraint", "constraint_message", "required_if", "calculate", "fields", "max_rows", NULL};

static fs_err def_err(char *err, size_t errlen, const char *who, const char *fmt, ...) FORMAT(4, 5);

/* A problem with a definition: "who: problem". */
static fs_err
def_err(char *err, size_t errlen, const char *who, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	form_seterr(err, errlen, "%s: %s", who, why);
	return FS_ERR_FORM;
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
		form_seterr(err, errlen, "%s: no JSON text", what);
		return FS_ERR_JSON;
	}
	if (memchr(json, '\0', len) != NULL) {
		form_seterr(err, errlen, "%s: JSON text contains a NUL byte", what);
		return FS_ERR_JSON;
	}
	/* cJSON would cut a string at \u0000; backslashes only occur in strings. */
	for (i = 0; i < len; i++) {
		if (json[i] != '\\')
			continue;
		if (len - i >= 6 && memcmp(json + i + 1, "u0000", 5) == 0) {
			form_seterr(err, errlen, "%s: JSON text contains a \\u0000 escape", what);
			return FS_ERR_JSON;
		}
		i++;
	}
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (root == NULL) {
		form_seterr(err, errlen, "%s: malformed JSON near byte %zu", what,
		    end != NULL ? (size_t)(end - json) : (size_t)0);
		return FS_ERR_JSON;
	}
	for (i = (size_t)(end - json); i < len; i++) {
		if (json[i] != ' ' && json[i] != '\t' && json[i] != '\n' && json[i] != '\r') {
			cJSON_Delete(root);
			form_seterr(err, errlen, "%s: unexpected text after the JSON value at byte %zu",
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
			    form_show_key(buf, sizeof(buf), a->string != NULL ? a->string : ""));
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
	if (!form_str_utf8_valid(item->valuestring))
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
		return form_nomem(err, errlen);
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
	if (!form_name_valid(item->valuestring))
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
	for (t = FORM_TEXT; t <= FORM_REPEAT; t++) {
		if (strcmp(item->valuestring, form_type_name((enum form_type)t)) == 0) {
			f->type = (enum form_type)t;
			return FS_OK;
		}
	}
	return def_err(
	    err, errlen, who, "unknown type '%s'", form_show_key(buf, sizeof(buf), item->valuestring));
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
		return form_nomem(err, errlen);
	for (c = choices->child, i = 0; c != NULL; c = c->next, i++) {
		if (!cJSON_IsString(c) || c->valuestring == NULL)
			return def_err(err, errlen, who, "choice #%zu must be a string", i + 1);
		s = c->valuestring;
		len = strlen(s);
		if (len == 0)
			return def_err(err, errlen, who, "choice #%zu is empty", i + 1);
		if (!form_str_utf8_valid(s))
			return def_err(err, errlen, who, "choice #%zu is not valid UTF-8", i + 1);
		/* Text input trims spaces and splits select_multiple at commas. */
		if (form_is_space(s[0]) || form_is_space(s[len - 1]))
			return def_err(err, errlen, who,
			    "choice #%zu has leading or trailing white space", i + 1);
		if (f->type == FORM_SELECT_MULTIPLE && strchr(s, ',') != NULL)
			return def_err(err, errlen, who, "choice #%zu contains a comma", i + 1);
		for (j = 0; j < i; j++)
			if (strcmp(f->choices[j], s) == 0)
				return def_err(err, errlen, who, "choice #%zu repeats choice #%zu",
				    i + 1, j + 1);
		if ((f->choices[i] = strdup(s)) == NULL)
			return form_nomem(err, errlen);
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
		if (f->has_min && !form_int_in_range(f->min))
			return def_err(err, errlen, who, "'min' must be an integer");
		if (f->has_max && !form_int_in_range(f->max))
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
	if (!cJSON_IsNumber(item) || !form_is_integral(item->valuedouble) || item->valuedouble < 1 ||
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
		return form_nomem(err, errlen);
	snprintf(wrapped, len + 5, "^(%s)$", src);
	if ((re = malloc(sizeof(*re))) == NULL) {
		free(wrapped);
		return form_nomem(err, errlen);
	}
	rc = regcomp(re, wrapped, REG_EXTENDED | REG_NOSUB);
	free(wrapped);
	if (rc != 0) {
		regerror(rc, re, msg, sizeof(msg));
		free(re);
		if (rc == REG_ESPACE)
			return form_nomem(err, errlen);
		return def_err(err, errlen, who, "'pattern' does not compile (%s)", msg);
	}
	f->regex = re;
	return dup_string(src, &f->pattern, err, errlen);
}

static fs_err parse_fields(struct form *form, const cJSON *fields, char *err, size_t errlen);

/*
 * A repeat's sub-fields are a form of their own (id: the repeat's name), so
 * that a row is checked, and its rules evaluated, by the code that checks a
 * record.  Rows do not nest; a repeat is neither sensitive (its sub-fields
 * may be) nor calculated.
 */
static fs_err
parse_repeat(struct form *form, struct form_field *f, const cJSON *obj, const char *who,
    char *err, size_t errlen)
{
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(obj, "fields");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(obj, "max_rows");
	struct form *rows;
	char why[512];
	fs_err rc;

	if (f->type != FORM_REPEAT) {
		if (fields != NULL || max != NULL)
			return def_err(err, errlen, who, "'%s' is only allowed for repeat",
			    fields != NULL ? "fields" : "max_rows");
		return FS_OK;
	}
	if (form->nesting > 0)
		return def_err(err, errlen, who, "a repeat cannot hold a repeat");
	if (f->sensitive)
		return def_err(err, errlen, who,
		    "a repeat cannot be sensitive (mark its sub-fields sensitive)");
	f->max_rows = FORM_ROWS_DEFAULT_MAX;
	if (max != NULL) {
		if (!cJSON_IsNumber(max) || !form_is_integral(max->valuedouble) ||
		    max->valuedouble < 1 || max->valuedouble > FORM_ROWS_LIMIT)
			return def_err(err, errlen, who, "'max_rows' must be an integer from 1 to %d",
			    FORM_ROWS_LIMIT);
		f->max_rows = (int64_t)max->valuedouble;
	}
	if (fields == NULL)
		return def_err(err, errlen, who, "missing 'fields' (the sub-fields of a row)");
	if ((rows = calloc(1, sizeof(*rows))) == NULL)
		return form_nomem(err, errlen);
	f->rows = rows;
	rows->nesting = form->nesting + 1;
	rows->version = form->version;
	rows->conflict = form->conflict;
	if ((rows->id = strdup(f->name)) == NULL ||
	    (rows->title = strdup(f->label != NULL ? f->label : f->name)) == NULL)
		return form_nomem(err, errlen);
	if ((rc = parse_fields(rows, fields, why, sizeof(why))) != FS_OK) {
		form_seterr(err, errlen, "%s: %s", who, why);
		return rc;
	}
	return FS_OK;
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
	    (rc = parse_max_length(f, obj, who, err, errlen)) != FS_OK ||
	    (rc = parse_pattern(f, obj, who, err, errlen)) != FS_OK)
		return rc;
	return parse_repeat(form, f, obj, who, err, errlen);
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
	if (!cJSON_IsNumber(item) || !form_int_in_range(item->valuedouble) || item->valuedouble < 1)
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
	const cJSON *fields;
	fs_err rc;

	if (!cJSON_IsObject(root))
		return def_err(err, errlen, "form", "not a JSON object");
	if ((rc = check_keys(root, form_keys, "form", err, errlen)) != FS_OK ||
	    (rc = parse_header(form, root, err, errlen)) != FS_OK ||
	    (rc = opt_bool(root, "keep_drafts", "form", &form->keep_drafts, err, errlen)) != FS_OK)
		return rc;
	if ((fields = cJSON_GetObjectItemCaseSensitive(root, "fields")) == NULL)
		return def_err(err, errlen, "form", "missing 'fields'");
	return parse_fields(form, fields, err, errlen);
}

static fs_err
parse_fields(struct form *form, const cJSON *fields, char *err, size_t errlen)
{
	const cJSON *item;
	size_t n = 0, i;
	fs_err rc;

	if (!cJSON_IsArray(fields) || fields->child == NULL)
		return def_err(err, errlen, "form", "'fields' must be a non-empty array");
	for (item = fields->child; item != NULL; item = item->next)
		if (++n > FORM_MAX_FIELDS)
			return def_err(err, errlen, "form", "more than %d fields", FORM_MAX_FIELDS);
	if ((form->fields = calloc(n, sizeof(*form->fields))) == NULL)
		return form_nomem(err, errlen);
	form->nfields = n;
	for (item = fields->child, i = 0; item != NULL; item = item->next, i++)
		if ((rc = parse_field(form, i, item, err, errlen)) != FS_OK)
			return rc;
	/* Expressions name other fields: read once every field is known. */
	return form_logic_load(form, fields, err, errlen);
}

fs_err
form_load(const char *json, size_t len, struct form **ret_form, char *err, size_t errlen)
{
	struct form *form;
	cJSON *root;
	fs_err rc;

	assert(ret_form != NULL);
	form_seterr(err, errlen, "%s", "");
	if ((rc = form_json_parse(json, len, "form", &root, err, errlen)) != FS_OK)
		return rc;
	if ((form = calloc(1, sizeof(*form))) == NULL) {
		rc = form_nomem(err, errlen);
		goto out_root;
	}
	if ((rc = parse_form(form, root, err, errlen)) != FS_OK)
		goto out_form;
	if ((form->json = cJSON_PrintUnformatted(root)) == NULL) {
		rc = form_nomem(err, errlen);
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
		form_logic_free(f);
		form_free(f->rows);
	}
	free(form->fields);
	free(form->order);
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
	if (strchr(name, '/') != NULL)
		return form_repeat_find(form, name);
	i = form_field_index(form, name);
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
	case FORM_REPEAT:
		return "repeat";
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
