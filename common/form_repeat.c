/*
 * form_repeat.c -- repeat groups (issue 19, item 2): a field of type
 * `repeat` holds rows of sub-fields, e.g. one row per worker interviewed.
 *
 * A row's values are stored as ordinary field values under the keys
 * "repeat/row/sub" (schema/FORMS.md, "Repeat groups").  row is the row's
 * id, made at random by the device that adds the row.  Why flat keys, not
 * one JSON array per repeat: the conflict rule (merge.h) is per record and
 * field, so with flat keys every (row, sub-field) is merged on its own with
 * no new rule -- two officers who add rows offline both keep their rows
 * (different ids, different keys), two who edit the same answer of the same
 * row get the usual conflict on that one answer, and sealing, history,
 * custody and review work on the keys as on any field.  An array would be
 * one value, and the newer device's array would hide the other's rows.
 *
 * A row is removed by clearing its values (each key set to null): a row
 * whose values are all empty is not a row any more (not counted, not
 * checked), and its history stays.
 *
 * The sub-fields are a form of their own (form.c, parse_repeat()), so a
 * row is validated, and its rules (relevant, constraint, calculate between
 * the sub-fields of the same row) evaluated, by the code that does it for a
 * record.
 */
#include "form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form_internal.h"

bool
form_row_id_valid(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (n == FORM_ROW_MAX || !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9')))
			return false;
	return n > 0;
}

static bool
copy_part(char *dst, size_t size, const char *s, size_t len)
{
	if (len == 0 || len >= size)
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

bool
form_key_split(const char *key, struct form_key *k)
{
	const char *a = strchr(key, '/'), *b;

	if (a == NULL || (b = strchr(a + 1, '/')) == NULL || strchr(b + 1, '/') != NULL)
		return false;
	return copy_part(k->repeat, sizeof(k->repeat), key, (size_t)(a - key)) &&
	    copy_part(k->row, sizeof(k->row), a + 1, (size_t)(b - a - 1)) &&
	    copy_part(k->sub, sizeof(k->sub), b + 1, strlen(b + 1)) && form_name_valid(k->repeat) &&
	    form_row_id_valid(k->row) && form_name_valid(k->sub);
}

/* The repeat field k names, or NULL. */
static const struct form_field *
repeat_of(const struct form *form, const struct form_key *k)
{
	size_t i = form_field_index(form, k->repeat);

	return i < form->nfields && form->fields[i].type == FORM_REPEAT ? &form->fields[i] : NULL;
}

const struct form_field *
form_repeat_find(const struct form *form, const char *key)
{
	const struct form_field *f;
	struct form_key k;
	size_t j;

	if (!form_key_split(key, &k) || (f = repeat_of(form, &k)) == NULL)
		return NULL;
	j = form_field_index(f->rows, k.sub);
	return j < f->rows->nfields ? &f->rows->fields[j] : NULL;
}

/* The row of f that key is in, or NULL: key must be "f->name/row/sub". */
static const char *
row_of(const struct form_field *f, const char *key, struct form_key *k)
{
	size_t n = strlen(f->name);

	if (key == NULL || strncmp(key, f->name, n) != 0 || key[n] != '/' || !form_key_split(key, k))
		return NULL;
	return k->row;
}

int
form_rows_each(const struct form_field *f, const cJSON *values,
    int (*fn)(void *arg, const char *row), void *arg)
{
	char (*seen)[FORM_ROW_MAX + 1] = NULL;
	size_t n = 0, cap = 0;
	const cJSON *item;
	struct form_key k;
	int rc = 0;

	for (item = values != NULL ? values->child : NULL; item != NULL && rc == 0;
	     item = item->next) {
		const char *row = row_of(f, item->string, &k);
		size_t i;

		if (row == NULL)
			continue;
		for (i = 0; i < n && strcmp(seen[i], row) != 0; i++)
			;
		if (i < n)
			continue;
		if (n == cap) {
			void *p = realloc(seen, (cap = cap ? 2 * cap : 16) * sizeof(*seen));

			if (p == NULL) {
				rc = -1;
				break;
			}
			seen = p;
		}
		memcpy(seen[n++], row, sizeof(seen[0]));
		rc = fn(arg, row);
	}
	free(seen);
	return rc;
}

cJSON *
form_row_values(const struct form_field *f, const cJSON *values, const char *row)
{
	cJSON *out = cJSON_CreateObject(), *dup;
	const cJSON *item;
	struct form_key k;

	for (item = values->child; item != NULL && out != NULL; item = item->next) {
		const char *r = row_of(f, item->string, &k);

		if (r == NULL || strcmp(r, row) != 0 ||
		    cJSON_GetObjectItemCaseSensitive(out, k.sub) != NULL)
			continue;
		if ((dup = cJSON_Duplicate(item, true)) == NULL ||
		    !cJSON_AddItemToObject(out, k.sub, dup)) {
			cJSON_Delete(dup);
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

/* A row with at least one answer. */
static bool
row_live(const struct form *rows, const cJSON *rv)
{
	for (const cJSON *item = rv->child; item != NULL; item = item->next) {
		size_t j = form_field_index(rows, item->string);

		if (j < rows->nfields && !form_value_empty(&rows->fields[j], item))
			return true;
	}
	return false;
}

struct rows_ctx {
	const struct form_field *f;
	const cJSON *values;
	cJSON *out;    /* form_rows_apply(): the record's values, written back */
	const char *today;
	bool relevant;
	int64_t live;
	char *err;
	size_t errlen;
	fs_err rc;
};

static int
check_row(void *arg, const char *row)
{
	struct rows_ctx *x = arg;
	char why[512];
	cJSON *rv = form_row_values(x->f, x->values, row);

	if (rv == NULL) {
		x->rc = form_nomem(x->err, x->errlen);
		return 1;
	}
	if (!row_live(x->f->rows, rv)) {
		cJSON_Delete(rv);
		return 0;
	}
	x->live++;
	if (!x->relevant) {
		form_seterr(x->err, x->errlen,
		    "field '%s': rule 'relevant' (must be empty: the question does not apply)",
		    x->f->name);
		x->rc = FS_ERR_INVALID;
	} else if (x->live > x->f->max_rows) {
		form_seterr(x->err, x->errlen, "field '%s': rule 'max_rows' (at most %lld rows)",
		    x->f->name, (long long)x->f->max_rows);
		x->rc = FS_ERR_INVALID;
	} else if ((x->rc = form_validate(x->f->rows, rv, true, why, sizeof(why))) != FS_OK) {
		form_seterr(x->err, x->errlen, "field '%s', row '%s': %s", x->f->name, row, why);
	}
	cJSON_Delete(rv);
	return x->rc != FS_OK;
}

fs_err
form_repeat_check(const struct form_field *f, const cJSON *values, const char *today,
    int64_t *ret_rows, char *err, size_t errlen)
{
	struct rows_ctx x = { f, values, NULL, today, false, 0, err, errlen, FS_OK };

	x.relevant = form_field_relevant(f, values, today);
	if (form_rows_each(f, values, check_row, &x) < 0)
		return form_nomem(err, errlen);
	if (ret_rows != NULL)
		*ret_rows = x.live;
	if (x.rc != FS_OK)
		return x.rc;
	if (x.relevant && f->required && x.live == 0) {
		form_seterr(err, errlen, "field '%s': rule 'required' (must have a row)", f->name);
		return FS_ERR_INVALID;
	}
	return FS_OK;
}

fs_err
form_rows_check(const struct form *form, const cJSON *values, const char *today, char *err,
    size_t errlen)
{
	fs_err rc;

	for (size_t i = 0; i < form->nfields; i++)
		if (form->fields[i].type == FORM_REPEAT &&
		    (rc = form_repeat_check(&form->fields[i], values, today, NULL, err, errlen)) !=
			FS_OK)
			return rc;
	return FS_OK;
}

/* Sets values[key] to v (owned; NULL: null), replacing what is there. */
static fs_err
put(cJSON *values, const char *key, cJSON *v)
{
	if (v == NULL && (v = cJSON_CreateNull()) == NULL)
		return FS_ERR_NOMEM;
	if (cJSON_GetObjectItemCaseSensitive(values, key) != NULL)
		return cJSON_ReplaceItemInObjectCaseSensitive(values, key, v) ? FS_OK : FS_ERR_NOMEM;
	if (!cJSON_AddItemToObject(values, key, v)) {
		cJSON_Delete(v);
		return FS_ERR_NOMEM;
	}
	return FS_OK;
}

/* A row with an answer typed by the officer (not calculated): not a removed row. */
static bool
row_typed(const struct form *rows, const cJSON *rv)
{
	for (const cJSON *item = rv->child; item != NULL; item = item->next) {
		size_t j = form_field_index(rows, item->string);

		if (j < rows->nfields && rows->fields[j].calculate == NULL &&
		    !form_value_empty(&rows->fields[j], item))
			return true;
	}
	return false;
}

/* A removed row's calculated values: cleared too, not computed again. */
static fs_err
clear_calculated(const struct form *rows, cJSON *rv)
{
	for (cJSON *item = rv->child; item != NULL; item = item->next) {
		size_t j = form_field_index(rows, item->string);
		cJSON *null;

		if (j == rows->nfields || rows->fields[j].calculate == NULL || cJSON_IsNull(item))
			continue;
		if ((null = cJSON_CreateNull()) == NULL)
			return FS_ERR_NOMEM;
		if ((null->string = strdup(item->string)) == NULL) {
			cJSON_Delete(null);
			return FS_ERR_NOMEM;
		}
		cJSON_ReplaceItemViaPointer(rv, item, null);
		item = null;
	}
	return FS_OK;
}

static int
apply_row(void *arg, const char *row)
{
	struct rows_ctx *x = arg;
	cJSON *rv = form_row_values(x->f, x->out, row);
	char key[FORM_KEY_MAX + 1];
	fs_err rc = FS_ERR_NOMEM;

	if (rv != NULL)
		rc = row_typed(x->f->rows, rv) ? form_apply_logic(x->f->rows, rv, x->today)
					       : clear_calculated(x->f->rows, rv);
	if (rc != FS_OK) {
		cJSON_Delete(rv);
		x->rc = FS_ERR_NOMEM;
		return 1;
	}
	/* Back into the record: only what the row's rules changed. */
	for (const cJSON *item = rv->child; item != NULL && x->rc == FS_OK; item = item->next) {
		const cJSON *cur;
		cJSON *dup;

		snprintf(key, sizeof(key), "%s/%s/%s", x->f->name, row, item->string);
		cur = cJSON_GetObjectItemCaseSensitive(x->out, key);
		if ((cur == NULL && cJSON_IsNull(item)) ||
		    (cur != NULL && cJSON_Compare(cur, item, true)))
			continue;
		if ((dup = cJSON_Duplicate(item, true)) == NULL)
			x->rc = FS_ERR_NOMEM;
		else
			x->rc = put(x->out, key, dup);
	}
	cJSON_Delete(rv);
	return x->rc != FS_OK;
}

fs_err
form_rows_apply(const struct form *form, cJSON *values, const char *today)
{
	struct form_key k;

	for (size_t i = 0; i < form->nfields; i++) {
		const struct form_field *f = &form->fields[i];
		struct rows_ctx x = { f, values, values, today, true, 0, NULL, 0, FS_OK };

		if (f->type != FORM_REPEAT)
			continue;
		if (form_field_relevant(f, values, today)) {
			cJSON *snap;
			int stop;

			if (f->rows->order == NULL || !form_has_logic(f->rows))
				continue;
			/* The rows of a copy: apply_row() replaces items of values. */
			if ((snap = cJSON_Duplicate(values, true)) == NULL)
				return FS_ERR_NOMEM;
			stop = form_rows_each(f, snap, apply_row, &x);
			cJSON_Delete(snap);
			if (stop != 0)
				return x.rc != FS_OK ? x.rc : FS_ERR_NOMEM;
			continue;
		}
		/* A repeat that does not apply keeps no rows. */
		for (cJSON *item = values->child, *next; item != NULL; item = next) {
			cJSON *null;

			next = item->next; /* the replacement takes item's place */
			if (row_of(f, item->string, &k) == NULL || cJSON_IsNull(item))
				continue;
			if ((null = cJSON_CreateNull()) == NULL)
				return FS_ERR_NOMEM;
			if ((null->string = strdup(item->string)) == NULL) {
				cJSON_Delete(null);
				return FS_ERR_NOMEM;
			}
			cJSON_ReplaceItemViaPointer(values, item, null);
		}
	}
	return FS_OK;
}

bool
form_key_relevant(const struct form *form, const char *key, const cJSON *values,
    const char *today)
{
	const struct form_field *f, *sub;
	struct form_key k;
	cJSON *rv;
	bool ok;

	if (!form_key_split(key, &k) || (f = repeat_of(form, &k)) == NULL ||
	    (sub = form_repeat_find(form, key)) == NULL)
		return true;
	if (!form_field_relevant(f, values, today))
		return false;
	if (sub->relevant == NULL)
		return true;
	if ((rv = form_row_values(f, values, k.row)) == NULL)
		return false; /* out of memory: refused, nothing stored */
	ok = form_field_relevant(sub, rv, today);
	cJSON_Delete(rv);
	return ok;
}
