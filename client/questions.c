/*
 * questions.c -- fs_form_questions(): a form's questions as they stand for
 * the values entered so far (issue 19, item 5): which apply, which are
 * required now, what the calculations give, and what rule a value breaks.
 * What a prompt walking an officer through a form needs, and what the
 * tool prints after an edit.  The rules are common/form_logic.c's, the
 * same the save applies.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "form.h"
#include "internal.h"

static fs_err question(const struct form_field *f, const cJSON *values, const char *today,
    cJSON *out);

/*
 * A repeat (form_repeat.c): "rows" (rows with an answer), "fields" (its
 * sub-fields, as questions of an empty row) and "problem" (what its rows
 * break, if anything).
 */
static fs_err
repeat_question(const struct form_field *f, const cJSON *values, const char *today, cJSON *q)
{
	cJSON *subs = cJSON_AddArrayToObject(q, "fields"), *empty = cJSON_CreateObject();
	int64_t rows = 0;
	char why[512];
	fs_err err = FS_OK;

	if (subs == NULL || empty == NULL) {
		cJSON_Delete(empty);
		return FS_ERR_NOMEM;
	}
	for (size_t j = 0; j < f->rows->nfields && err == FS_OK; j++)
		err = question(&f->rows->fields[j], empty, today, subs);
	cJSON_Delete(empty);
	if (err != FS_OK)
		return err;
	if (form_repeat_check(f, values, today, &rows, why, sizeof(why)) != FS_OK &&
	    cJSON_AddStringToObject(q, "problem", why) == NULL)
		return FS_ERR_NOMEM;
	return cJSON_AddNumberToObject(q, "rows", (double)rows) != NULL &&
		cJSON_AddNumberToObject(q, "max_rows", (double)f->max_rows) != NULL &&
		cJSON_AddNullToObject(q, "value") != NULL
	    ? FS_OK
	    : FS_ERR_NOMEM;
}

static fs_err
question(const struct form_field *f, const cJSON *values, const char *today, cJSON *out)
{
	cJSON *q = cJSON_CreateObject(), *v;
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(values, f->name);
	char why[256];

	if (q == NULL || !cJSON_AddItemToArray(out, q))
		return FS_ERR_NOMEM;
	if (cJSON_AddStringToObject(q, "name", f->name) == NULL ||
	    (f->label != NULL && cJSON_AddStringToObject(q, "label", f->label) == NULL) ||
	    cJSON_AddStringToObject(q, "type", form_type_name(f->type)) == NULL ||
	    cJSON_AddBoolToObject(q, "applies", form_field_relevant(f, values, today)) == NULL ||
	    cJSON_AddBoolToObject(q, "required", form_field_required(f, values, today)) == NULL ||
	    cJSON_AddBoolToObject(q, "calculated", f->calculate != NULL) == NULL ||
	    cJSON_AddBoolToObject(q, "sensitive", f->sensitive) == NULL)
		return FS_ERR_NOMEM;
	if (f->nchoices > 0) {
		cJSON *ch = cJSON_AddArrayToObject(q, "choices");

		for (size_t i = 0; ch != NULL && i < f->nchoices; i++)
			if (!cJSON_AddItemToArray(ch, cJSON_CreateString(f->choices[i])))
				return FS_ERR_NOMEM;
	}
	if (f->type == FORM_REPEAT)
		return repeat_question(f, values, today, q);
	v = cur != NULL ? cJSON_Duplicate(cur, 1) : cJSON_CreateNull();
	if (v == NULL || !cJSON_AddItemToObject(q, "value", v))
		return FS_ERR_NOMEM;
	/* Only a value given: an unanswered question is not a problem yet. */
	if (cur != NULL && !cJSON_IsNull(cur) &&
	    form_check_field(f, values, today, why, sizeof(why)) != FS_OK &&
	    cJSON_AddStringToObject(q, "problem", why) == NULL)
		return FS_ERR_NOMEM;
	return FS_OK;
}

fs_err
fs_form_questions(fs_client *c, const char *form_id, const char *values_json, char **ret_json)
{
	const struct form *form;
	cJSON *values, *out = NULL;
	char today[11];
	fs_err err;

	if (c == NULL || form_id == NULL || ret_json == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if ((err = forms_get(c, form_id, 0, &form)) != FS_OK)
		return err;
	values = cJSON_Parse(values_json != NULL ? values_json : "{}");
	if (!cJSON_IsObject(values)) {
		cJSON_Delete(values);
		return client_fail(c, FS_ERR_JSON, "values: not a JSON object");
	}
	form_today(today);
	if ((err = form_apply_logic(form, values, today)) != FS_OK ||
	    (out = cJSON_CreateArray()) == NULL) {
		err = FS_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < form->nfields && err == FS_OK; i++)
		err = question(&form->fields[i], values, today, out);
	if (err == FS_OK && (*ret_json = cJSON_PrintUnformatted(out)) == NULL)
		err = FS_ERR_NOMEM;
out:
	cJSON_Delete(values);
	cJSON_Delete(out);
	return err == FS_OK ? FS_OK : client_fail(c, err, "out of memory");
}
