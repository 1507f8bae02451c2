/*
 * store_state.c -- answers read from a record's packed state, the same
 * for every backend (store_state.h).  Moved out of the SQLite backend's
 * store_records.c when the PostgreSQL store came (issue 18).
 */
#include "store_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge_row.h"

fs_err
store_state_values(const struct mm_record *r, cJSON **ret)
{
	cJSON *obj = cJSON_CreateObject();

	if (obj == NULL)
		return FS_ERR_NOMEM;
	for (size_t i = 0; r != NULL && i < r->nf; i++) {
		const struct mm_write *cur = merge_mem_current(&r->f[i]);
		cJSON *v;

		if (cur == NULL)
			continue;
		v = cur->value != NULL ? cJSON_Parse(cur->value) : cJSON_CreateNull();
		if (v == NULL || !cJSON_AddItemToObject(obj, r->f[i].name, v)) {
			fs_err err = v == NULL && cur->value != NULL ? FS_ERR_CORRUPT : FS_ERR_NOMEM;

			cJSON_Delete(v);
			cJSON_Delete(obj);
			return err;
		}
	}
	*ret = obj;
	return FS_OK;
}

struct heads_out {
	struct store_head *heads;
	size_t max, n;
	fs_err err;
};

static void
head_add(struct heads_out *h, const struct mm_write *w)
{
	if (h->err != FS_OK)
		return;
	if (h->n == h->max) {
		h->err = FS_ERR_TOOBIG;
		return;
	}
	snprintf(h->heads[h->n].stamp, sizeof(h->heads[h->n].stamp), "%s", w->stamp);
	h->heads[h->n].value = NULL;
	if (w->value != NULL && (h->heads[h->n].value = strdup(w->value)) == NULL) {
		h->err = FS_ERR_NOMEM;
		return;
	}
	h->n++;
}

static int
head_order(const void *a, const void *b)
{
	return strcmp(((const struct store_head *)a)->stamp, ((const struct store_head *)b)->stamp);
}

fs_err
store_state_field_heads(const struct mm_record *r, const char *field, struct store_head *heads,
    size_t max, size_t *ret_n, char ret_max[HLC_TEXT_LEN + 1])
{
	struct heads_out h = { .heads = heads, .max = max };

	*ret_n = 0;
	ret_max[0] = '\0';
	for (size_t i = 0; r != NULL && i < r->nf; i++) {
		const struct mm_field *f = &r->f[i];

		if (strcmp(f->name, field) != 0)
			continue;
		/* Every head; the newest write of the field is always one (merge_mem.h). */
		for (size_t k = 0; k < f->nw; k++) {
			if (f->w[k].head)
				head_add(&h, &f->w[k]);
			if (strcmp(f->w[k].stamp, ret_max) > 0)
				snprintf(ret_max, HLC_TEXT_LEN + 1, "%s", f->w[k].stamp);
		}
	}
	qsort(heads, h.n, sizeof(*heads), head_order);
	*ret_n = h.n;
	return h.err;
}

/* Keeps the highest stamp in max. */
static void
stamp_max(char max[HLC_TEXT_LEN + 1], const char *stamp)
{
	if (strcmp(stamp, max) > 0)
		snprintf(max, HLC_TEXT_LEN + 1, "%s", stamp);
}

fs_err
store_state_delete_resolution(const struct mm_record *r, bool keep, cJSON **ret_base,
    char ret_max[HLC_TEXT_LEN + 1])
{
	cJSON *base;

	*ret_base = NULL;
	ret_max[0] = '\0';
	if (!merge_row_delete_conflict(r))
		return FS_OK;
	for (size_t m = 0; m < 3; m++)
		for (size_t i = 0; i < r->marks[m].n; i++)
			stamp_max(ret_max, r->marks[m].s[i]);
	if ((base = cJSON_CreateObject()) == NULL)
		return FS_ERR_NOMEM;
	if (keep) {
		cJSON *dels = cJSON_AddArrayToObject(base, MERGE_BASE_DELETE);

		for (size_t i = 0; dels != NULL && i < r->marks[MERGE_MARK_DELETE].n; i++)
			if (!merge_mem_marked(r, MERGE_MARK_KEPT, r->marks[MERGE_MARK_DELETE].s[i]))
				cJSON_AddItemToArray(dels,
				    cJSON_CreateString(r->marks[MERGE_MARK_DELETE].s[i]));
	}
	for (size_t i = 0; i < r->nf; i++) {
		cJSON *heads = keep ? NULL : cJSON_AddArrayToObject(base, r->f[i].name);

		for (size_t k = 0; k < r->f[i].nw; k++) {
			stamp_max(ret_max, r->f[i].w[k].stamp);
			if (heads != NULL && r->f[i].w[k].head)
				cJSON_AddItemToArray(heads, cJSON_CreateString(r->f[i].w[k].stamp));
		}
	}
	*ret_base = base;
	return FS_OK;
}
