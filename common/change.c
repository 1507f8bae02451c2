/*
 * change.c -- parsing, checking and merging one change.  See change.h.
 */
#include "change.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"

static fs_err
bad(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return FS_ERR_INVALID;
}

fs_err
change_parse(const cJSON *obj, struct change *ret, char *err, size_t errlen)
{
	const cJSON *id, *form, *ver, *op, *hlc, *fields, *base;
	struct change ch = { .json = obj };

	if (!cJSON_IsObject(obj))
		return bad(err, errlen, "change is not an object");
	id = cJSON_GetObjectItemCaseSensitive(obj, "id");
	form = cJSON_GetObjectItemCaseSensitive(obj, "form");
	ver = cJSON_GetObjectItemCaseSensitive(obj, "form_version");
	op = cJSON_GetObjectItemCaseSensitive(obj, "op");
	hlc = cJSON_GetObjectItemCaseSensitive(obj, "hlc");
	fields = cJSON_GetObjectItemCaseSensitive(obj, "fields");
	base = cJSON_GetObjectItemCaseSensitive(obj, "base");
	if (!cJSON_IsString(id) || !id_is_hex(id->valuestring, CHANGE_ID_LEN))
		return bad(err, errlen, "'id' must be 32 lower-case hex digits");
	if (!cJSON_IsString(form) || strlen(form->valuestring) > FORM_NAME_MAX ||
	    form->valuestring[0] == '\0')
		return bad(err, errlen, "'form' must be a form id");
	if (!cJSON_IsNumber(ver) || ver->valuedouble < 1 || ver->valuedouble > 1e9 ||
	    floor(ver->valuedouble) != ver->valuedouble)
		return bad(err, errlen, "'form_version' must be a positive integer");
	if (!cJSON_IsString(op) ||
	    (strcmp(op->valuestring, "upsert") != 0 && strcmp(op->valuestring, "delete") != 0))
		return bad(err, errlen, "'op' must be \"upsert\" or \"delete\"");
	if (!cJSON_IsString(hlc) || hlc_parse(hlc->valuestring, &ch.stamp, ch.device) != FS_OK)
		return bad(err, errlen, "'hlc' is not a valid stamp");
	ch.id = id->valuestring;
	ch.form = form->valuestring;
	ch.form_version = (int64_t)ver->valuedouble;
	ch.is_delete = strcmp(op->valuestring, "delete") == 0;
	ch.hlc = hlc->valuestring;
	if (ch.is_delete) {
		if (fields != NULL)
			return bad(err, errlen, "a delete carries no 'fields'");
	} else if (!cJSON_IsObject(fields) || fields->child == NULL) {
		return bad(err, errlen, "'fields' must be a non-empty object");
	}
	if (base != NULL && !cJSON_IsObject(base))
		return bad(err, errlen, "'base' must be an object");
	ch.fields = fields;
	ch.base = base;
	*ret = ch;
	return FS_OK;
}

fs_err
change_check(const struct change *ch, const struct form *form, char *err, size_t errlen)
{
	struct merge_head heads[MERGE_MAX_BASES];
	const cJSON *item;
	size_t n;
	fs_err rc;

	if (strcmp(ch->form, form->id) != 0 || ch->form_version != form->version)
		return bad(err, errlen, "change does not match its form");
	if (!ch->is_delete && (rc = form_validate(form, ch->fields, false, err, errlen)) != FS_OK)
		return rc == FS_ERR_JSON ? FS_ERR_INVALID : rc;
	cJSON_ArrayForEach(item, ch->base)
	{
		if (form_field_find(form, item->string) == NULL) {
			snprintf(err, errlen, "base: field '%.64s' is not in the form", item->string);
			return FS_ERR_INVALID;
		}
		if (!ch->is_delete && cJSON_GetObjectItemCaseSensitive(ch->fields, item->string) == NULL) {
			snprintf(err, errlen, "base: field '%.64s' is not set by the change",
			    item->string);
			return FS_ERR_INVALID;
		}
		if (merge_parse_base(item, heads, MERGE_MAX_BASES, &n) != FS_OK) {
			snprintf(err, errlen, "base: field '%.64s' has a malformed stamp",
			    item->string);
			return FS_ERR_INVALID;
		}
		for (size_t i = 0; i < n; i++) {
			if (strcmp(heads[i].stamp, ch->hlc) >= 0) {
				snprintf(err, errlen,
				    "base: field '%.64s' names a stamp not older than the change",
				    item->string);
				return FS_ERR_INVALID;
			}
		}
	}
	return FS_OK;
}

static fs_err
apply_one(const struct merge_ops *ops, const struct form *form, const struct change *ch,
    const char *field, const cJSON *value, const cJSON *base, struct merge_result *res)
{
	struct merge_write w = {
		.record = ch->id,
		.field = field,
		.stamp = ch->hlc,
		.device = ch->device,
	};
	char *value_text = NULL, *base_text = NULL;
	fs_err err;

	if (value != NULL && !cJSON_IsNull(value) &&
	    (value_text = cJSON_PrintUnformatted(value)) == NULL)
		return FS_ERR_NOMEM;
	if (base != NULL && (base_text = cJSON_PrintUnformatted(base)) == NULL) {
		free(value_text);
		return FS_ERR_NOMEM;
	}
	w.value = value_text;
	w.base = base_text;
	err = merge_field(ops, form->conflict, &w, base, res);
	free(value_text);
	free(base_text);
	return err;
}

fs_err
change_apply(const struct merge_ops *ops, const struct form *form, const struct change *ch,
    struct merge_result *res)
{
	const cJSON *item;
	fs_err err;

	if (ch->is_delete) {
		/* A delete writes null over every field it saw. */
		cJSON_ArrayForEach(item, ch->base)
		{
			if ((err = apply_one(ops, form, ch, item->string, NULL, item, res)) != FS_OK)
				return err;
		}
		return FS_OK;
	}
	cJSON_ArrayForEach(item, ch->fields)
	{
		const cJSON *base = cJSON_GetObjectItemCaseSensitive(ch->base, item->string);
		if ((err = apply_one(ops, form, ch, item->string, item, base, res)) != FS_OK)
			return err;
	}
	return FS_OK;
}
