/*
 * merge.c -- the conflict rule.  See merge.h for the model.
 */
#include "merge.h"

#include <string.h>

fs_err
merge_parse_base(const cJSON *base, struct merge_head *out, size_t max, size_t *ret_n)
{
	const cJSON *item;
	uint64_t ts;
	size_t n = 0;

	if (base == NULL || cJSON_IsNull(base)) {
		*ret_n = 0;
		return FS_OK;
	}
	if (cJSON_IsString(base)) {
		if (max < 1 || hlc_parse(base->valuestring, &ts, NULL) != FS_OK)
			return FS_ERR_INVALID;
		memcpy(out[0].stamp, base->valuestring, HLC_TEXT_LEN + 1);
		*ret_n = 1;
		return FS_OK;
	}
	if (!cJSON_IsArray(base))
		return FS_ERR_INVALID;
	cJSON_ArrayForEach(item, base)
	{
		if (n == max || !cJSON_IsString(item) ||
		    hlc_parse(item->valuestring, &ts, NULL) != FS_OK)
			return FS_ERR_INVALID;
		memcpy(out[n++].stamp, item->valuestring, HLC_TEXT_LEN + 1);
	}
	*ret_n = n;
	return FS_OK;
}

/* Recomputes current value and conflicts of one field from its writes. */
static fs_err
merge_recompute(const struct merge_ops *ops, enum form_conflict policy, const char *record,
    const char *field, struct merge_result *res)
{
	char current[HLC_TEXT_LEN + 1];
	bool found = false;
	int open = 0;
	fs_err err;

	if (policy == FORM_CONFLICT_MANUAL &&
	    (err = ops->min_head(ops->ctx, record, field, current, &found)) != FS_OK)
		return err;
	if (policy == FORM_CONFLICT_RECORD_LWW &&
	    (err = ops->max_write_not_losing(ops->ctx, record, field, current, &found)) != FS_OK)
		return err;
	if (policy == FORM_CONFLICT_RECORD_LWW && !found) {
		/* Every write of the field lost: it has no value until resolved. */
		if ((err = ops->field_set_from(ops->ctx, record, field, NULL)) != FS_OK ||
		    (err = ops->conflicts_sync(ops->ctx, record, field, NULL, &open)) != FS_OK)
			return err;
		res->conflicts += open;
		return FS_OK;
	}
	if (!found && (err = ops->max_write(ops->ctx, record, field, current)) != FS_OK)
		return err;
	if ((err = ops->field_set_from(ops->ctx, record, field, current)) != FS_OK)
		return err;
	if ((err = ops->conflicts_sync(ops->ctx, record, field, current, &open)) != FS_OK)
		return err;
	res->conflicts += open;
	return FS_OK;
}

struct record_recompute {
	const struct merge_ops *ops;
	const char *record;
	struct merge_result *res;
};

static fs_err
recompute_one(void *arg, const char *field)
{
	struct record_recompute *rr = arg;

	return merge_recompute(rr->ops, FORM_CONFLICT_RECORD_LWW, rr->record, field, rr->res);
}

fs_err
merge_field_first(const struct merge_ops *ops, const struct merge_write *w, const cJSON *base,
    struct merge_result *res)
{
	struct merge_head bases[MERGE_MAX_BASES];
	size_t nbases;
	bool fresh;
	fs_err err;

	if ((err = merge_parse_base(base, bases, MERGE_MAX_BASES, &nbases)) != FS_OK)
		return err;
	if ((err = ops->write_insert(ops->ctx, w, &fresh)) != FS_OK)
		return err;
	if (!fresh)
		return FS_OK; /* the same field twice in one change */
	/*
	 * Bases name writes this store never saw: they are kept (a later
	 * arrival is then already superseded) but change nothing now.
	 */
	for (size_t i = 0; i < nbases; i++)
		if ((err = ops->base_insert(ops->ctx, w->record, w->field, bases[i].stamp)) != FS_OK)
			return err;
	res->fields_applied++;
	/* The only write of the field: current, and no open conflicts. */
	if (ops->field_set_write != NULL)
		return ops->field_set_write(ops->ctx, w);
	return ops->field_set_from(ops->ctx, w->record, w->field, w->stamp);
}

fs_err
merge_field(const struct merge_ops *ops, enum form_conflict policy, const struct merge_write *w,
    const cJSON *base, struct merge_result *res)
{
	struct merge_head bases[MERGE_MAX_BASES];
	size_t nbases;
	bool fresh;
	fs_err err;

	if ((err = merge_parse_base(base, bases, MERGE_MAX_BASES, &nbases)) != FS_OK)
		return err;
	if ((err = ops->write_insert(ops->ctx, w, &fresh)) != FS_OK)
		return err;
	if (!fresh)
		return FS_OK; /* replay: already merged */
	for (size_t i = 0; i < nbases; i++)
		if ((err = ops->base_insert(ops->ctx, w->record, w->field, bases[i].stamp)) != FS_OK)
			return err;
	res->fields_applied++;
	if (policy == FORM_CONFLICT_RECORD_LWW) {
		/* One write can change which changes lose: redo the whole record. */
		struct record_recompute rr = { .ops = ops, .record = w->record, .res = res };
		return ops->record_fields(ops->ctx, w->record, recompute_one, &rr);
	}
	return merge_recompute(ops, policy, w->record, w->field, res);
}
