/*
 * form_logic.c -- the rules between a form's fields (issue 19, item 1),
 * written in the expression language of expr.h (schema/FORMS.md,
 * "Skip logic, constraints and calculations"):
 *
 *   relevant            the question applies; when false the field must
 *                       be empty (the device clears it, the server refuses
 *                       a change that sets it)
 *   constraint          must hold on a non-empty value ("." is the value);
 *                       constraint_message is what the officer reads
 *   required_if         the field must be set when this holds (and it is
 *                       relevant); `required` of a field with `relevant`
 *                       applies only while it is relevant
 *   calculate           the device computes the value on every save
 *
 * At load (form_logic_load()): every expression parses, names fields of
 * the form only, never a sensitive one (its value is sealed on the
 * device: the server could not evaluate it), and relevant, calculate and
 * required_if form no cycle; the fields are put in an order where each
 * comes after those its expressions read, so one pass computes and
 * clears everything.
 *
 * The same code runs on the device (client/records.c) and the server
 * (daemon/sync.c), so both agree on every record.  today() is the UTC
 * date on both.
 */
#include "form.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expr.h"
#include "form_internal.h"

static const char *const logic_keys[] = { "relevant", "constraint", "required_if", "calculate" };
#define NLOGIC (sizeof(logic_keys) / sizeof(logic_keys[0]))

static struct expr **
slot(struct form_field *f, size_t k)
{
	switch (k) {
	case 0:
		return &f->relevant;
	case 1:
		return &f->constraint;
	case 2:
		return &f->required_if;
	default:
		return &f->calculate;
	}
}

struct names_ctx {
	const struct form *form;
	const char *who, *key;
	char *err;
	size_t errlen;
	fs_err rc;
};

static int
check_name(void *arg, const char *name)
{
	struct names_ctx *x = arg;
	size_t i = form_field_index(x->form, name);

	if (i == x->form->nfields) {
		form_seterr(x->err, x->errlen, "%s: %s names unknown field '%s'", x->who, x->key,
		    name);
		x->rc = FS_ERR_FORM;
		return 1;
	}
	if (x->form->fields[i].type == FORM_REPEAT) {
		form_seterr(x->err, x->errlen,
		    "%s: %s names repeat '%s' (an expression reads single values, not rows)",
		    x->who, x->key, name);
		x->rc = FS_ERR_FORM;
		return 1;
	}
	if (x->form->fields[i].sensitive) {
		form_seterr(x->err, x->errlen,
		    "%s: %s names sensitive field '%s' (sealed on the device: the server could"
		    " not evaluate it)",
		    x->who, x->key, name);
		x->rc = FS_ERR_FORM;
		return 1;
	}
	return 0;
}

/* Depth-first order over the dependencies; state: 0 new, 1 on the path, 2 done. */
struct order_ctx {
	struct form *form;
	unsigned char *state;
	size_t n;
	size_t from; /* the field whose dependencies are walked */
	char *err;
	size_t errlen;
	fs_err rc;
};

static fs_err visit(struct order_ctx *o, size_t i);

static int
visit_name(void *arg, const char *name)
{
	struct order_ctx *o = arg;
	size_t j = form_field_index(o->form, name);

	if (o->state[j] == 1) {
		form_seterr(o->err, o->errlen,
		    "field '%s': its relevant, calculate or required_if and field '%s''s form a"
		    " cycle",
		    o->form->fields[o->from].name, name);
		o->rc = FS_ERR_FORM;
		return 1;
	}
	if (o->state[j] == 0 && (o->rc = visit(o, j)) != FS_OK)
		return 1;
	return 0;
}

static fs_err
visit(struct order_ctx *o, size_t i)
{
	struct form_field *f = &o->form->fields[i];
	struct expr *deps[] = { f->relevant, f->calculate, f->required_if };

	o->state[i] = 1;
	for (size_t k = 0; k < 3; k++) {
		o->from = i;
		if (deps[k] != NULL && expr_each_field(deps[k], visit_name, o) != 0)
			return o->rc;
	}
	o->state[i] = 2;
	o->form->order[o->n++] = i;
	return FS_OK;
}

fs_err
form_logic_load(struct form *form, const cJSON *fields, char *err, size_t errlen)
{
	const cJSON *item;
	size_t i = 0;
	struct order_ctx o = { .form = form, .err = err, .errlen = errlen };
	fs_err rc;

	for (item = fields->child; item != NULL; item = item->next, i++) {
		struct form_field *f = &form->fields[i];
		char who[FORM_NAME_MAX + 16], why[200];
		const cJSON *v;

		snprintf(who, sizeof(who), "field '%s'", f->name);
		for (size_t k = 0; k < NLOGIC; k++) {
			struct names_ctx x = { form, who, logic_keys[k], err, errlen, FS_OK };

			if ((v = cJSON_GetObjectItemCaseSensitive(item, logic_keys[k])) == NULL)
				continue;
			if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
				form_seterr(err, errlen, "%s: '%s' must be a non-empty string", who,
				    logic_keys[k]);
				return FS_ERR_FORM;
			}
			if (expr_parse(v->valuestring, slot(f, k), why, sizeof(why)) != FS_OK) {
				form_seterr(err, errlen, "%s: %s: %s", who, logic_keys[k], why);
				return FS_ERR_FORM;
			}
			if (expr_each_field(*slot(f, k), check_name, &x) != 0)
				return x.rc;
		}
		if (f->type == FORM_REPEAT &&
		    (f->constraint != NULL || f->calculate != NULL || f->required_if != NULL)) {
			form_seterr(err, errlen,
			    "%s: a repeat takes 'relevant' only (its sub-fields take the other rules)",
			    who);
			return FS_ERR_FORM;
		}
		if (f->calculate != NULL && f->sensitive) {
			form_seterr(err, errlen,
			    "%s: a calculated value is made of non-sensitive values: it cannot be"
			    " sensitive",
			    who);
			return FS_ERR_FORM;
		}
		if ((v = cJSON_GetObjectItemCaseSensitive(item, "constraint_message")) != NULL) {
			if (!cJSON_IsString(v) || f->constraint == NULL) {
				form_seterr(err, errlen, "%s: 'constraint_message' must be a string, with"
							 " a 'constraint'", who);
				return FS_ERR_FORM;
			}
			if ((f->constraint_message = strdup(v->valuestring)) == NULL)
				return form_nomem(err, errlen);
		}
	}
	if ((form->order = calloc(form->nfields + 1, sizeof(*form->order))) == NULL ||
	    (o.state = calloc(form->nfields + 1, 1)) == NULL) {
		free(o.state);
		return form_nomem(err, errlen);
	}
	rc = FS_OK;
	for (i = 0; i < form->nfields && rc == FS_OK; i++)
		if (o.state[i] == 0)
			rc = visit(&o, i);
	free(o.state);
	return rc;
}

void
form_logic_free(struct form_field *f)
{
	for (size_t k = 0; k < NLOGIC; k++) {
		expr_free(*slot(f, k));
		*slot(f, k) = NULL;
	}
	free(f->constraint_message);
	f->constraint_message = NULL;
}

bool
form_has_logic(const struct form *form)
{
	for (size_t i = 0; i < form->nfields; i++)
		if (form->fields[i].type == FORM_REPEAT)
			return true; /* rows are checked by the rules of the whole record */
	for (size_t i = 0; i < form->nfields; i++)
		for (size_t k = 0; k < NLOGIC; k++)
			if (*slot(&form->fields[i], k) != NULL)
				return true;
	return false;
}

void
form_today(char buf[11])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, 11, "%Y-%m-%d", &tm);
}

static bool
holds(const struct expr *e, const cJSON *values, const cJSON *self, const char *today)
{
	struct expr_value v;

	expr_eval(e, values, self, today, &v);
	return expr_truthy(&v);
}

bool
form_field_relevant(const struct form_field *f, const cJSON *values, const char *today)
{
	return f->relevant == NULL || holds(f->relevant, values, NULL, today);
}

/* A calculated value as the field's type; NULL (unset) when it has none. */
static cJSON *
calculated(const struct form_field *f, const struct expr_value *v)
{
	char num[64];

	if (v->type == EXPR_EMPTY)
		return NULL;
	switch (f->type) {
	case FORM_BOOLEAN:
		return cJSON_CreateBool(expr_truthy(v));
	case FORM_INTEGER:
	case FORM_DECIMAL:
		if (v->type == EXPR_NUMBER && isfinite(v->n) &&
		    (f->type == FORM_DECIMAL || v->n == floor(v->n)))
			return cJSON_CreateNumber(v->n);
		if (v->type == EXPR_BOOL)
			return cJSON_CreateNumber(v->b ? 1 : 0);
		return NULL;
	default:
		if (v->type == EXPR_TEXT)
			return v->text[0] != '\0' ? cJSON_CreateString(v->text) : NULL;
		if (v->type == EXPR_NUMBER) {
			snprintf(num, sizeof(num), "%.15g", v->n);
			return cJSON_CreateString(num);
		}
		return cJSON_CreateString(v->b ? "true" : "false");
	}
}

static fs_err
set_value(cJSON *values, const char *name, cJSON *v)
{
	if (v == NULL && (v = cJSON_CreateNull()) == NULL)
		return FS_ERR_NOMEM;
	if (cJSON_GetObjectItemCaseSensitive(values, name) != NULL)
		return cJSON_ReplaceItemInObjectCaseSensitive(values, name, v) ? FS_OK : FS_ERR_NOMEM;
	if (!cJSON_AddItemToObject(values, name, v)) {
		cJSON_Delete(v);
		return FS_ERR_NOMEM;
	}
	return FS_OK;
}

fs_err
form_apply_logic(const struct form *form, cJSON *values, const char *today)
{
	fs_err err;

	if (form->order == NULL)
		return FS_OK;
	for (size_t n = 0; n < form->nfields; n++) {
		const struct form_field *f = &form->fields[form->order[n]];
		const cJSON *cur = cJSON_GetObjectItemCaseSensitive(values, f->name);

		if (f->type == FORM_REPEAT)
			continue; /* form_rows_apply(), once every single value is known */
		if (f->calculate != NULL) {
			struct expr_value v;

			expr_eval(f->calculate, values, NULL, today, &v);
			if ((err = set_value(values, f->name, calculated(f, &v))) != FS_OK)
				return err;
			cur = cJSON_GetObjectItemCaseSensitive(values, f->name);
		}
		/* A question that does not apply keeps no answer. */
		if (!form_field_relevant(f, values, today) && cur != NULL && !cJSON_IsNull(cur) &&
		    (err = set_value(values, f->name, NULL)) != FS_OK)
			return err;
	}
	return form_rows_apply(form, values, today);
}

static fs_err logic_err(const struct form_field *f, const char *rule, char *err, size_t errlen,
    const char *fmt, ...) FORMAT(5, 6);

static fs_err
logic_err(const struct form_field *f, const char *rule, char *err, size_t errlen, const char *fmt,
    ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	form_seterr(err, errlen, "field '%s': rule '%s' (%s)", f->name, rule, why);
	return FS_ERR_INVALID;
}

bool
form_field_required(const struct form_field *f, const cJSON *values, const char *today)
{
	if (!form_field_relevant(f, values, today))
		return false;
	return f->required || (f->required_if != NULL && holds(f->required_if, values, NULL, today));
}

/* The rules between fields for one field of a whole record. */
static fs_err
check_one(const struct form_field *f, const cJSON *values, const char *today, char *err,
    size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(values, f->name);
	bool empty = form_value_empty(f, v);

	if (f->type == FORM_REPEAT)
		return FS_OK; /* form_rows_check() */
	if (!form_field_relevant(f, values, today))
		return empty ? FS_OK : logic_err(f, "relevant", err, errlen,
					       "must be empty: the question does not apply");
	if (empty && ((f->required && f->relevant != NULL) ||
			 (f->required_if != NULL && holds(f->required_if, values, NULL, today))))
		return logic_err(f, f->required_if != NULL ? "required_if" : "required", err, errlen,
		    "must be set");
	/* A sealed value is not evaluated (a constraint reads the plain value, on the device). */
	if (!empty && f->constraint != NULL && !(cJSON_IsObject(v)) &&
	    !holds(f->constraint, values, v, today))
		return logic_err(f, "constraint", err, errlen, "%s",
		    f->constraint_message != NULL ? f->constraint_message
						  : "must satisfy the field's constraint");
	return FS_OK;
}

fs_err
form_check_logic(const struct form *form, const cJSON *values, const char *today, char *err,
    size_t errlen)
{
	fs_err rc;

	for (size_t i = 0; i < form->nfields; i++)
		if ((rc = check_one(&form->fields[i], values, today, err, errlen)) != FS_OK)
			return rc;
	return form_rows_check(form, values, today, err, errlen);
}

fs_err
form_check_field(const struct form_field *f, const cJSON *values, const char *today, char *err,
    size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(values, f->name);
	fs_err rc;

	if (!form_value_empty(f, v) && (rc = form_check_value(f, v, err, errlen)) != FS_OK)
		return rc;
	return check_one(f, values, today, err, errlen);
}

fs_err
form_check_relevant(const struct form *form, const cJSON *record, const cJSON *fields,
    const char *today, char *err, size_t errlen)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, fields)
	{
		size_t i = item->string != NULL ? form_field_index(form, item->string) : form->nfields;
		const struct form_field *sub;

		if (i == form->nfields && item->string != NULL &&
		    (sub = form_field_find(form, item->string)) != NULL) {
			if (!form_value_empty(sub, item) &&
			    !form_key_relevant(form, item->string, record, today)) {
				form_seterr(err, errlen,
				    "field '%s': rule 'relevant' (must be empty: the question does"
				    " not apply)",
				    item->string);
				return FS_ERR_INVALID;
			}
			continue;
		}
		if (i == form->nfields || form_value_empty(&form->fields[i], item))
			continue;
		if (!form_field_relevant(&form->fields[i], record, today))
			return logic_err(&form->fields[i], "relevant", err, errlen,
			    "must be empty: the question does not apply");
	}
	return FS_OK;
}
