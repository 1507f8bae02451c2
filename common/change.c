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

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
change_dup_keys(const cJSON *obj)
{
	const cJSON *a, *b;
	const char **keys;
	size_t n = 0, i;
	int dup = 0;

	for (a = obj->child; a != NULL; a = a->next)
		n++;
	if (n <= 16) {
		for (a = obj->child; a != NULL; a = a->next)
			for (b = obj->child; b != a; b = b->next)
				if (a->string != NULL && b->string != NULL &&
				    strcmp(a->string, b->string) == 0)
					return 1;
		return 0;
	}
	/* Sorted, so that an object with many keys costs n log n, not n^2. */
	if ((keys = malloc(n * sizeof(*keys))) == NULL)
		return -1;
	for (i = 0, a = obj->child; a != NULL; a = a->next)
		keys[i++] = a->string != NULL ? a->string : "";
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 1; i < n && !dup; i++)
		dup = strcmp(keys[i - 1], keys[i]) == 0;
	free(keys);
	return dup;
}

/* Only these keys, each at most once (docs/PROTOCOL.md). */
static fs_err
check_change_keys(const cJSON *obj, char *err, size_t errlen)
{
	static const char *const known[] = { "id", "form", "form_version", "op", "hlc", "fields",
		"base", "prev", "sig" };
	const size_t nknown = sizeof(known) / sizeof(known[0]);
	unsigned seen = 0;
	const cJSON *item;
	size_t k;

	for (item = obj->child; item != NULL; item = item->next) {
		for (k = 0; k < nknown; k++)
			if (item->string != NULL && strcmp(item->string, known[k]) == 0)
				break;
		if (k == nknown)
			return bad(err, errlen, "change has a key that is not in the protocol");
		if (seen & (1u << k)) {
			snprintf(err, errlen, "change: key '%s' appears twice", known[k]);
			return FS_ERR_INVALID;
		}
		seen |= 1u << k;
	}
	return FS_OK;
}

/*
 * True if no number under item overflowed to infinity.  cJSON reads 1e400
 * as inf and prints inf as null: such a change would not mean the same once
 * stored and printed again, and its custody link would change.  Recursion
 * is bounded by cJSON's nesting limit.
 */
static bool
all_finite(const cJSON *item)
{
	const cJSON *c;

	if (cJSON_IsNumber(item))
		return isfinite(item->valuedouble);
	for (c = item->child; c != NULL; c = c->next)
		if (!all_finite(c))
			return false;
	return true;
}

fs_err
change_parse(const cJSON *obj, struct change *ret, char *err, size_t errlen)
{
	const cJSON *id, *form, *ver, *op, *hlc, *fields, *base, *prev, *sig;
	struct change ch = { .json = obj };
	fs_err rc;
	int dup;

	if (!cJSON_IsObject(obj))
		return bad(err, errlen, "change is not an object");
	if ((rc = check_change_keys(obj, err, errlen)) != FS_OK)
		return rc;
	id = cJSON_GetObjectItemCaseSensitive(obj, "id");
	form = cJSON_GetObjectItemCaseSensitive(obj, "form");
	ver = cJSON_GetObjectItemCaseSensitive(obj, "form_version");
	op = cJSON_GetObjectItemCaseSensitive(obj, "op");
	hlc = cJSON_GetObjectItemCaseSensitive(obj, "hlc");
	fields = cJSON_GetObjectItemCaseSensitive(obj, "fields");
	base = cJSON_GetObjectItemCaseSensitive(obj, "base");
	prev = cJSON_GetObjectItemCaseSensitive(obj, "prev");
	sig = cJSON_GetObjectItemCaseSensitive(obj, "sig");
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
	} else if (!cJSON_IsObject(fields) ||
	    (fields->child == NULL &&
		cJSON_GetObjectItemCaseSensitive(base, MERGE_BASE_DELETE) == NULL)) {
		/* Only a change that keeps a record against a delete may set nothing. */
		return bad(err, errlen, "'fields' must be a non-empty object");
	}
	if (fields != NULL && !all_finite(fields))
		return bad(err, errlen, "'fields' holds a number out of range (beyond a double)");
	if (base != NULL && !cJSON_IsObject(base))
		return bad(err, errlen, "'base' must be an object");
	if (base != NULL && (dup = change_dup_keys(base)) != 0) {
		if (dup < 0)
			return FS_ERR_NOMEM;
		return bad(err, errlen, "'base' names a field twice");
	}
	/* The chain link: a hash, or the genesis zeros (custody.h). */
	if (prev != NULL && (!cJSON_IsString(prev) || !id_is_hex(prev->valuestring, 64)))
		return bad(err, errlen, "'prev' must be 64 lower-case hex digits");
	/*
	 * A signature is 128 hex digits (custody.h); protocol 1 and 2 treated
	 * it as reserved, so any string this size is still parsed and the
	 * custody check says whether it verifies.
	 */
	if (sig != NULL && (!cJSON_IsString(sig) || strlen(sig->valuestring) > CHANGE_SIG_MAX))
		return bad(err, errlen, "'sig' must be a string of at most 1024 bytes");
	ch.fields = fields;
	ch.base = base;
	ch.prev = prev != NULL ? prev->valuestring : NULL;
	ch.sig = sig != NULL ? sig->valuestring : NULL;
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
		bool keeps = strcmp(item->string, MERGE_BASE_DELETE) == 0;

		if (keeps && ch->is_delete)
			return bad(err, errlen, "base: a delete cannot keep a record ('@delete')");
		if (!keeps && form_field_find(form, item->string) == NULL) {
			snprintf(err, errlen, "base: field '%.64s' is not in the form", item->string);
			return FS_ERR_INVALID;
		}
		if (!keeps && !ch->is_delete &&
		    cJSON_GetObjectItemCaseSensitive(ch->fields, item->string) == NULL) {
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
    bool first, const char *field, const cJSON *value, const cJSON *base,
    struct merge_result *res)
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
	err = first ? merge_field_first(ops, &w, base, res)
		    : merge_field(ops, form->conflict, &w, base, res);
	free(value_text);
	free(base_text);
	return err;
}

/*
 * The i-th write of a change: a field it sets (value and base).  A delete
 * has none.  *item walks ch->fields (NULL before the first call).  False
 * past the end.
 */
static bool
change_write_at(const struct form *form, const struct change *ch, size_t i, const cJSON **item,
    const char **ret_field, const cJSON **ret_value, const cJSON **ret_base)
{
	(void)form;
	(void)i;
	if (ch->is_delete)
		return false; /* merge rule 2: a delete writes no field */
	*item = *item == NULL ? (ch->fields != NULL ? ch->fields->child : NULL) : (*item)->next;
	if (*item == NULL)
		return false;
	*ret_field = (*item)->string;
	*ret_value = *item;
	*ret_base = cJSON_GetObjectItemCaseSensitive(ch->base, *ret_field);
	return true;
}

/*
 * The writes of a change on a record that has none yet, stored together:
 * each is the first and only write of its field (merge.h,
 * merge_field_first()), so nothing is recomputed.  A field named twice
 * keeps its first value, as merge_field() does.
 */
static fs_err
apply_first(const struct merge_ops *ops, const struct form *form, const struct change *ch,
    struct merge_result *res)
{
	const cJSON *item = NULL, *value, *base;
	const char *field;
	struct merge_head heads[MERGE_MAX_BASES];
	struct merge_write *w;
	size_t n = 0, nheads;
	size_t cap = (size_t)cJSON_GetArraySize(ch->fields);
	fs_err err = FS_OK;

	if (cap == 0)
		return FS_OK;
	if ((w = calloc(cap, sizeof(*w))) == NULL)
		return FS_ERR_NOMEM;
	for (size_t i = 0; change_write_at(form, ch, i, &item, &field, &value, &base); i++) {
		bool seen = false;

		for (size_t k = 0; k < n && !seen; k++)
			seen = strcmp(w[k].field, field) == 0;
		if (seen || n == cap)
			continue;
		if ((err = merge_parse_base(base, heads, MERGE_MAX_BASES, &nheads)) != FS_OK)
			goto out;
		w[n] = (struct merge_write){ .record = ch->id, .field = field,
			.stamp = ch->hlc, .device = ch->device };
		if ((value != NULL && !cJSON_IsNull(value) &&
			(w[n].value = cJSON_PrintUnformatted(value)) == NULL) ||
		    (base != NULL && (w[n].base = cJSON_PrintUnformatted(base)) == NULL)) {
			free((char *)w[n].value);
			err = FS_ERR_NOMEM;
			goto out;
		}
		n++;
		/* Bases name writes this store never saw: kept, they change nothing now. */
		for (size_t k = 0; k < nheads; k++)
			if ((err = ops->base_insert(ops->ctx, ch->id, field, heads[k].stamp)) != FS_OK)
				goto out;
	}
	if ((err = ops->first_writes(ops->ctx, w, n)) == FS_OK)
		res->fields_applied += (int)n;
out:
	for (size_t k = 0; k < n; k++) {
		free((char *)w[k].value);
		free((char *)w[k].base);
	}
	free(w);
	return err;
}

/*
 * The record-level part of merge rule 2 (merge.h): a delete adds its stamp
 * to the record's deletes and every stamp its base names to the writes a
 * delete saw; an upsert's "@delete" base entry names deletes it keeps the
 * record against.
 */
static fs_err
apply_marks(const struct merge_ops *ops, const struct change *ch)
{
	struct merge_head heads[MERGE_MAX_BASES];
	const cJSON *item;
	size_t n;
	fs_err err;

	if (ch->is_delete &&
	    (err = ops->mark_insert(ops->ctx, ch->id, MERGE_MARK_DELETE, ch->hlc)) != FS_OK)
		return err;
	cJSON_ArrayForEach(item, ch->base)
	{
		bool keeps = strcmp(item->string, MERGE_BASE_DELETE) == 0;

		if (!ch->is_delete && !keeps)
			continue;
		if ((err = merge_parse_base(item, heads, MERGE_MAX_BASES, &n)) != FS_OK)
			return err;
		for (size_t k = 0; k < n; k++)
			if ((err = ops->mark_insert(ops->ctx, ch->id,
				 keeps ? MERGE_MARK_KEPT : MERGE_MARK_SEEN, heads[k].stamp)) != FS_OK)
				return err;
	}
	return FS_OK;
}

fs_err
change_state(const struct merge_ops *ops, const struct change *ch,
    enum merge_record_state *ret_state)
{
	if (ops->record_state == NULL) {
		*ret_state = MERGE_RECORD_OTHER;
		return FS_OK;
	}
	return ops->record_state(ops->ctx, ch->id, ch->hlc, ret_state);
}

fs_err
change_apply(const struct merge_ops *ops, const struct form *form, const struct change *ch,
    struct merge_result *res)
{
	enum merge_record_state state;
	fs_err err;

	if ((err = change_state(ops, ch, &state)) != FS_OK)
		return err;
	return change_apply_state(ops, form, ch, state, res);
}

fs_err
change_apply_state(const struct merge_ops *ops, const struct form *form,
    const struct change *ch, enum merge_record_state state, struct merge_result *res)
{
	const cJSON *item = NULL, *value, *base;
	const char *field;
	bool first = state == MERGE_RECORD_NEW;
	fs_err err;

	/* A replay: every write is there already (merge_field() would skip each). */
	if (state == MERGE_RECORD_SEEN)
		return FS_OK;
	/* Merge rule 2: a delete marks the record, an upsert may keep it (merge.h). */
	if ((err = apply_marks(ops, ch)) != FS_OK || ch->is_delete)
		return err;
	/* A new record (the common case of a push): no field to recompute. */
	if (first && ops->first_writes != NULL)
		return apply_first(ops, form, ch, res);
	for (size_t i = 0; change_write_at(form, ch, i, &item, &field, &value, &base); i++)
		if ((err = apply_one(ops, form, ch, first, field, value, base, res)) != FS_OK)
			return err;
	return FS_OK;
}
