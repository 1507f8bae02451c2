/*
 * merge_mem.c -- struct merge_ops on a record state held in memory.  See
 * merge_mem.h for what is kept and why that is enough.
 *
 * Records, fields, writes and stamps sit in small arrays searched
 * linearly: a record has tens of fields, a field one or two heads, a
 * record a handful of changes.
 */
#include "merge_mem.h"

#include <stdlib.h>
#include <string.h>

/* Grows *arr (of *cap elements of size sz) to hold at least need. */
static fs_err
grow(void *arr, size_t *cap, size_t need, size_t sz)
{
	void **p = arr;
	size_t n = *cap ? *cap : 4;
	void *bigger;

	if (need <= *cap)
		return FS_OK;
	while (n < need)
		n *= 2;
	if ((bigger = realloc(*p, n * sz)) == NULL)
		return FS_ERR_NOMEM;
	*p = bigger;
	*cap = n;
	return FS_OK;
}

static bool
stamp_in(const char (*set)[HLC_TEXT_LEN + 1], size_t n, const char *stamp)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(set[i], stamp) == 0)
			return true;
	return false;
}

static struct mm_record *
rec_find(const struct merge_mem *mm, const char *id)
{
	for (size_t i = 0; i < mm->nrec; i++)
		if (strcmp(mm->rec[i].id, id) == 0)
			return &mm->rec[i];
	return NULL;
}

static fs_err
rec_get(struct merge_mem *mm, const char *id, struct mm_record **ret)
{
	struct mm_record *r = rec_find(mm, id);

	if (r == NULL) {
		if (grow(&mm->rec, &mm->caprec, mm->nrec + 1, sizeof(*mm->rec)) != FS_OK)
			return FS_ERR_NOMEM;
		r = &mm->rec[mm->nrec];
		memset(r, 0, sizeof(*r));
		if ((r->id = strdup(id)) == NULL)
			return FS_ERR_NOMEM;
		mm->nrec++;
	}
	*ret = r;
	return FS_OK;
}

static struct mm_field *
field_find(const struct mm_record *r, const char *name)
{
	for (size_t i = 0; i < r->nf; i++)
		if (strcmp(r->f[i].name, name) == 0)
			return &r->f[i];
	return NULL;
}

static fs_err
field_get(struct mm_record *r, const char *name, struct mm_field **ret)
{
	struct mm_field *f = field_find(r, name);

	if (f == NULL) {
		if (grow(&r->f, &r->capf, r->nf + 1, sizeof(*r->f)) != FS_OK)
			return FS_ERR_NOMEM;
		f = &r->f[r->nf];
		memset(f, 0, sizeof(*f));
		if ((f->name = strdup(name)) == NULL)
			return FS_ERR_NOMEM;
		r->nf++;
	}
	*ret = f;
	return FS_OK;
}

static struct mm_write *
write_find(const struct mm_field *f, const char *stamp)
{
	for (size_t i = 0; i < f->nw; i++)
		if (strcmp(f->w[i].stamp, stamp) == 0)
			return &f->w[i];
	return NULL;
}

static void
write_remove(struct mm_field *f, struct mm_write *w)
{
	size_t i = (size_t)(w - f->w);

	free(w->value);
	memmove(&f->w[i], &f->w[i + 1], (f->nw - i - 1) * sizeof(*f->w));
	f->nw--;
}

static fs_err
mm_write_insert(void *ctx, const struct merge_write *w, bool *ret_new)
{
	struct merge_mem *mm = ctx;
	struct mm_record *r;
	struct mm_field *f;
	bool overwritten = false;
	fs_err err;

	*ret_new = false;
	if ((err = rec_get(mm, w->record, &r)) != FS_OK)
		return err;
	/* A change merged before: a replay, although its writes may be gone. */
	if (stamp_in(r->seen, r->nseen, w->stamp))
		return FS_OK;
	if ((err = field_get(r, w->field, &f)) != FS_OK)
		return err;
	if (write_find(f, w->stamp) != NULL)
		return FS_OK;
	/* A later write named it as base before it came: it is no head. */
	for (size_t i = 0; i < f->npending; i++) {
		if (strcmp(f->pending[i], w->stamp) == 0) {
			memmove(&f->pending[i], &f->pending[i + 1],
			    (f->npending - i - 1) * sizeof(*f->pending));
			f->npending--;
			overwritten = true;
			break;
		}
	}
	*ret_new = true;
	if (overwritten && !mm->keep_history)
		return FS_OK;
	if (grow(&f->w, &f->capw, f->nw + 1, sizeof(*f->w)) != FS_OK)
		return FS_ERR_NOMEM;
	memset(&f->w[f->nw], 0, sizeof(f->w[f->nw]));
	memcpy(f->w[f->nw].stamp, w->stamp, HLC_TEXT_LEN + 1);
	if (w->value != NULL && (f->w[f->nw].value = strdup(w->value)) == NULL)
		return FS_ERR_NOMEM;
	f->w[f->nw].head = !overwritten;
	f->nw++;
	return FS_OK;
}

static fs_err
mm_base_insert(void *ctx, const char *record, const char *field, const char *stamp)
{
	struct merge_mem *mm = ctx;
	struct mm_record *r;
	struct mm_field *f;
	struct mm_write *w;
	fs_err err;

	if ((err = rec_get(mm, record, &r)) != FS_OK || (err = field_get(r, field, &f)) != FS_OK)
		return err;
	if ((w = write_find(f, stamp)) != NULL) {
		w->head = false;
		if (!mm->keep_history)
			write_remove(f, w);
		return FS_OK;
	}
	/* Seen and gone (already overwritten), or never a write of this field. */
	if (stamp_in(r->seen, r->nseen, stamp) || stamp_in(f->pending, f->npending, stamp))
		return FS_OK;
	if (grow(&f->pending, &f->cappending, f->npending + 1, sizeof(*f->pending)) != FS_OK)
		return FS_ERR_NOMEM;
	memcpy(f->pending[f->npending++], stamp, HLC_TEXT_LEN + 1);
	return FS_OK;
}

/* The field, or NULL (also when the record is unknown). */
static struct mm_field *
lookup(const struct merge_mem *mm, const char *record, const char *field)
{
	const struct mm_record *r = rec_find(mm, record);

	return r != NULL ? field_find(r, field) : NULL;
}

static fs_err
mm_min_head(void *ctx, const char *record, const char *field, char ret[HLC_TEXT_LEN + 1],
    bool *ret_found)
{
	const struct mm_field *f = lookup(ctx, record, field);
	const char *best = NULL;

	for (size_t i = 0; f != NULL && i < f->nw; i++)
		if (f->w[i].head && (best == NULL || strcmp(f->w[i].stamp, best) < 0))
			best = f->w[i].stamp;
	*ret_found = best != NULL;
	if (best != NULL)
		memcpy(ret, best, HLC_TEXT_LEN + 1);
	return FS_OK;
}

static fs_err
mm_max_write(void *ctx, const char *record, const char *field, char ret[HLC_TEXT_LEN + 1])
{
	const struct mm_field *f = lookup(ctx, record, field);
	const char *best = NULL;

	for (size_t i = 0; f != NULL && i < f->nw; i++)
		if (best == NULL || strcmp(f->w[i].stamp, best) > 0)
			best = f->w[i].stamp;
	if (best == NULL)
		return FS_ERR_INTERNAL; /* a field merged has a write (merge_mem.h) */
	memcpy(ret, best, HLC_TEXT_LEN + 1);
	return FS_OK;
}

/* True if stamp's change loses: a head of it beside a newer head, on any field. */
static bool
change_loses(const struct mm_record *r, const char *stamp)
{
	for (size_t i = 0; i < r->nf; i++) {
		const struct mm_field *g = &r->f[i];
		const struct mm_write *mine = write_find(g, stamp);

		if (mine == NULL || !mine->head)
			continue;
		for (size_t k = 0; k < g->nw; k++)
			if (g->w[k].head && strcmp(g->w[k].stamp, stamp) > 0)
				return true;
	}
	return false;
}

static fs_err
mm_max_write_not_losing(void *ctx, const char *record, const char *field,
    char ret[HLC_TEXT_LEN + 1], bool *ret_found)
{
	const struct merge_mem *mm = ctx;
	const struct mm_record *r = rec_find(mm, record);
	const struct mm_field *f = r != NULL ? field_find(r, field) : NULL;
	const char *best = NULL;

	for (size_t i = 0; f != NULL && i < f->nw; i++)
		if ((best == NULL || strcmp(f->w[i].stamp, best) > 0) &&
		    !change_loses(r, f->w[i].stamp))
			best = f->w[i].stamp;
	*ret_found = best != NULL;
	if (best != NULL)
		memcpy(ret, best, HLC_TEXT_LEN + 1);
	return FS_OK;
}

static fs_err
mm_record_fields(void *ctx, const char *record, fs_err (*fn)(void *arg, const char *field),
    void *arg)
{
	const struct mm_record *r = rec_find(ctx, record);
	fs_err err;

	for (size_t i = 0; r != NULL && i < r->nf; i++)
		if (r->f[i].nw > 0 && (err = fn(arg, r->f[i].name)) != FS_OK)
			return err;
	return FS_OK;
}

static fs_err
mm_field_set_from(void *ctx, const char *record, const char *field, const char *stamp)
{
	struct mm_field *f = lookup(ctx, record, field);

	if (f == NULL)
		return FS_ERR_INTERNAL;
	if (stamp == NULL)
		f->current[0] = '\0';
	else
		memcpy(f->current, stamp, HLC_TEXT_LEN + 1);
	return FS_OK;
}

const struct mm_write *
merge_mem_current(const struct mm_field *f)
{
	return f->current[0] != '\0' ? write_find(f, f->current) : NULL;
}

void
merge_mem_conflicts(const struct mm_field *f, void (*fn)(void *arg, const struct mm_write *w),
    void *arg)
{
	const struct mm_write *cur = merge_mem_current(f);

	for (size_t i = 0; i < f->nw; i++) {
		const struct mm_write *w = &f->w[i];

		if (!w->head || w == cur)
			continue;
		/* Both authors wanted the field empty: nothing to choose between. */
		if (w->value == NULL && cur != NULL && cur->value == NULL)
			continue;
		fn(arg, w);
	}
}

static void
count_one(void *arg, const struct mm_write *w)
{
	(void)w;
	(*(int *)arg)++;
}

static fs_err
mm_conflicts_sync(void *ctx, const char *record, const char *field, const char *current,
    int *ret_open)
{
	const struct mm_field *f = lookup(ctx, record, field);

	(void)current; /* field_set_from() set it just before; the set is derived from it */
	*ret_open = 0;
	if (f != NULL)
		merge_mem_conflicts(f, count_one, ret_open);
	return FS_OK;
}

static fs_err
stamps_add(struct mm_stamps *set, const char *stamp)
{
	if (stamp_in(set->s, set->n, stamp))
		return FS_OK;
	if (grow(&set->s, &set->cap, set->n + 1, sizeof(*set->s)) != FS_OK)
		return FS_ERR_NOMEM;
	memcpy(set->s[set->n++], stamp, HLC_TEXT_LEN + 1);
	return FS_OK;
}

static fs_err
mm_mark_insert(void *ctx, const char *record, enum merge_mark kind, const char *stamp)
{
	struct mm_record *r;
	fs_err err;

	if ((unsigned)kind > MERGE_MARK_KEPT)
		return FS_ERR_INTERNAL;
	if ((err = rec_get(ctx, record, &r)) != FS_OK)
		return err;
	return stamps_add(&r->marks[kind], stamp);
}

bool
merge_mem_marked(const struct mm_record *r, enum merge_mark kind, const char *stamp)
{
	return r != NULL && (unsigned)kind <= MERGE_MARK_KEPT &&
	    stamp_in(r->marks[kind].s, r->marks[kind].n, stamp);
}

void
merge_mem_init(struct merge_mem *mm, bool keep_history)
{
	memset(mm, 0, sizeof(*mm));
	mm->keep_history = keep_history;
	mm->ops = (struct merge_ops){
		.ctx = mm,
		.write_insert = mm_write_insert,
		.base_insert = mm_base_insert,
		.min_head = mm_min_head,
		.max_write = mm_max_write,
		.max_write_not_losing = mm_max_write_not_losing,
		.record_fields = mm_record_fields,
		.field_set_from = mm_field_set_from,
		.conflicts_sync = mm_conflicts_sync,
		.mark_insert = mm_mark_insert,
	};
}

void
merge_mem_finish(struct merge_mem *mm)
{
	for (size_t i = 0; i < mm->nrec; i++) {
		struct mm_record *r = &mm->rec[i];

		for (size_t k = 0; k < r->nf; k++) {
			for (size_t j = 0; j < r->f[k].nw; j++)
				free(r->f[k].w[j].value);
			free(r->f[k].w);
			free(r->f[k].pending);
			free(r->f[k].name);
		}
		free(r->f);
		free(r->seen);
		for (size_t k = 0; k < 3; k++)
			free(r->marks[k].s);
		free(r->id);
	}
	free(mm->rec);
	memset(mm, 0, sizeof(*mm));
}

fs_err
merge_mem_change_done(struct merge_mem *mm, const char *record, const char *stamp)
{
	struct mm_record *r;
	fs_err err;

	if ((err = rec_get(mm, record, &r)) != FS_OK)
		return err;
	if (stamp_in(r->seen, r->nseen, stamp))
		return FS_OK;
	if (grow(&r->seen, &r->capseen, r->nseen + 1, sizeof(*r->seen)) != FS_OK)
		return FS_ERR_NOMEM;
	memcpy(r->seen[r->nseen++], stamp, HLC_TEXT_LEN + 1);
	return FS_OK;
}

const struct mm_record *
merge_mem_record(const struct merge_mem *mm, const char *record)
{
	return rec_find(mm, record);
}

/* The record's distinct stamps, for the packed row's table "s". */
struct stamp_table {
	const char **s;
	size_t n, cap;
};

static int
stamp_index(struct stamp_table *t, const char *stamp)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->s[i], stamp) == 0)
			return (int)i;
	if (grow(&t->s, &t->cap, t->n + 1, sizeof(*t->s)) != FS_OK)
		return -1;
	t->s[t->n] = stamp;
	return (int)t->n++;
}

/*
 * The short form of a field: one write, a head, the current value, no
 * pending stamp -- nearly every field of nearly every record.
 */
static bool
field_is_short(const struct mm_field *f)
{
	return f->nw == 1 && f->w[0].head && f->npending == 0 &&
	    strcmp(f->current, f->w[0].stamp) == 0;
}

static cJSON *
value_item(const struct mm_write *w)
{
	return w->value != NULL ? cJSON_CreateRaw(w->value) : cJSON_CreateNull();
}

/* The packed row's keys of the stamp sets, by enum merge_mark. */
static const char *const mark_keys[3] = { "d", "dv", "dk" };

fs_err
merge_mem_record_to_json(const struct mm_record *r, cJSON **ret)
{
	struct stamp_table t = { 0 };
	cJSON *obj = cJSON_CreateObject(), *stamps, *seen, *fields;
	bool ok = obj != NULL;
	int k;

	ok = ok && (stamps = cJSON_AddArrayToObject(obj, "s")) != NULL;
	ok = ok && (seen = cJSON_AddArrayToObject(obj, "seen")) != NULL;
	for (size_t i = 0; ok && i < r->nseen; i++)
		ok = (k = stamp_index(&t, r->seen[i])) >= 0 &&
		    cJSON_AddItemToArray(seen, cJSON_CreateNumber(k));
	ok = ok && (fields = cJSON_AddObjectToObject(obj, "f")) != NULL;
	for (size_t i = 0; ok && i < r->nf; i++) {
		const struct mm_field *f = &r->f[i];
		cJSON *fo, *ws, *ps;

		if (field_is_short(f)) {
			ok = (fo = cJSON_CreateArray()) != NULL &&
			    cJSON_AddItemToObject(fields, f->name, fo) &&
			    (k = stamp_index(&t, f->w[0].stamp)) >= 0 &&
			    cJSON_AddItemToArray(fo, cJSON_CreateNumber(k)) &&
			    cJSON_AddItemToArray(fo, value_item(&f->w[0]));
			continue;
		}
		ok = (fo = cJSON_AddObjectToObject(fields, f->name)) != NULL;
		if (ok && f->current[0] != '\0')
			ok = (k = stamp_index(&t, f->current)) >= 0 &&
			    cJSON_AddNumberToObject(fo, "c", k) != NULL;
		ok = ok && (ws = cJSON_AddArrayToObject(fo, "w")) != NULL;
		for (size_t j = 0; ok && j < f->nw; j++) {
			cJSON *w = cJSON_CreateArray();

			ok = w != NULL && cJSON_AddItemToArray(ws, w) &&
			    (k = stamp_index(&t, f->w[j].stamp)) >= 0 &&
			    cJSON_AddItemToArray(w, cJSON_CreateNumber(k)) &&
			    cJSON_AddItemToArray(w, value_item(&f->w[j])) &&
			    cJSON_AddItemToArray(w, cJSON_CreateNumber(f->w[j].head ? 1 : 0));
		}
		if (ok && f->npending > 0) {
			ok = (ps = cJSON_AddArrayToObject(fo, "p")) != NULL;
			for (size_t j = 0; ok && j < f->npending; j++)
				ok = (k = stamp_index(&t, f->pending[j])) >= 0 &&
				    cJSON_AddItemToArray(ps, cJSON_CreateNumber(k));
		}
	}
	for (size_t m = 0; ok && m < 3; m++) {
		cJSON *arr;

		if (r->marks[m].n == 0)
			continue;
		ok = (arr = cJSON_AddArrayToObject(obj, mark_keys[m])) != NULL;
		for (size_t i = 0; ok && i < r->marks[m].n; i++)
			ok = (k = stamp_index(&t, r->marks[m].s[i])) >= 0 &&
			    cJSON_AddItemToArray(arr, cJSON_CreateNumber(k));
	}
	for (size_t i = 0; ok && i < t.n; i++)
		ok = cJSON_AddItemToArray(stamps, cJSON_CreateString(t.s[i]));
	free(t.s);
	if (!ok) {
		cJSON_Delete(obj);
		return FS_ERR_NOMEM;
	}
	*ret = obj;
	return FS_OK;
}

/* Stamp number j of the row's table, or NULL if j is not one. */
static const char *
row_stamp(const cJSON *stamps, const cJSON *j)
{
	const cJSON *s;
	uint64_t ts;

	if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble >= 1e6 ||
	    (s = cJSON_GetArrayItem(stamps, (int)j->valuedouble)) == NULL || !cJSON_IsString(s) ||
	    hlc_parse(s->valuestring, &ts, NULL) != FS_OK)
		return NULL;
	return s->valuestring;
}

/* Adds write number j (stamp st, JSON value v, head) to f. */
static fs_err
load_write(struct mm_field *f, const char *st, const cJSON *v, bool head)
{
	struct mm_write *w;

	if (write_find(f, st) != NULL)
		return FS_ERR_CORRUPT;
	if (grow(&f->w, &f->capw, f->nw + 1, sizeof(*f->w)) != FS_OK)
		return FS_ERR_NOMEM;
	w = &f->w[f->nw];
	memset(w, 0, sizeof(*w));
	memcpy(w->stamp, st, HLC_TEXT_LEN + 1);
	w->head = head;
	if (!cJSON_IsNull(v) && (w->value = cJSON_PrintUnformatted(v)) == NULL)
		return FS_ERR_NOMEM;
	f->nw++;
	return FS_OK;
}

fs_err
merge_mem_record_from_json(struct merge_mem *mm, const char *id, const cJSON *obj)
{
	const cJSON *stamps = cJSON_GetObjectItemCaseSensitive(obj, "s");
	const cJSON *seen = cJSON_GetObjectItemCaseSensitive(obj, "seen");
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(obj, "f");
	const cJSON *item, *fo;
	struct mm_record *r;
	const char *st;
	fs_err err;

	if (!cJSON_IsArray(stamps) || !cJSON_IsArray(seen) || !cJSON_IsObject(fields) ||
	    rec_find(mm, id) != NULL)
		return FS_ERR_CORRUPT;
	if ((err = rec_get(mm, id, &r)) != FS_OK)
		return err;
	cJSON_ArrayForEach(item, seen)
	{
		if ((st = row_stamp(stamps, item)) == NULL)
			return FS_ERR_CORRUPT;
		if ((err = merge_mem_change_done(mm, r->id, st)) != FS_OK)
			return err;
	}
	for (size_t m = 0; m < 3; m++) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, mark_keys[m]);

		if (arr != NULL && !cJSON_IsArray(arr))
			return FS_ERR_CORRUPT;
		cJSON_ArrayForEach(item, arr)
		{
			if ((st = row_stamp(stamps, item)) == NULL)
				return FS_ERR_CORRUPT;
			if ((err = stamps_add(&r->marks[m], st)) != FS_OK)
				return err;
		}
	}
	cJSON_ArrayForEach(fo, fields)
	{
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(fo, "c");
		const cJSON *ws = cJSON_GetObjectItemCaseSensitive(fo, "w");
		const cJSON *ps = cJSON_GetObjectItemCaseSensitive(fo, "p");
		struct mm_field *f;

		if (fo->string != NULL && cJSON_IsArray(fo)) {
			/* The short form [S, VALUE]: one head, the current write. */
			const cJSON *v = cJSON_GetArrayItem(fo, 1);

			if (cJSON_GetArraySize(fo) != 2 || v == NULL ||
			    (st = row_stamp(stamps, cJSON_GetArrayItem(fo, 0))) == NULL)
				return FS_ERR_CORRUPT;
			if ((err = field_get(r, fo->string, &f)) != FS_OK ||
			    (err = load_write(f, st, v, true)) != FS_OK)
				return err;
			memcpy(f->current, st, HLC_TEXT_LEN + 1);
			continue;
		}
		if (fo->string == NULL || !cJSON_IsArray(ws) ||
		    (c != NULL && row_stamp(stamps, c) == NULL) || (ps != NULL && !cJSON_IsArray(ps)))
			return FS_ERR_CORRUPT;
		if ((err = field_get(r, fo->string, &f)) != FS_OK)
			return err;
		if (c != NULL)
			memcpy(f->current, row_stamp(stamps, c), HLC_TEXT_LEN + 1);
		cJSON_ArrayForEach(item, ws)
		{
			const cJSON *v = cJSON_GetArrayItem(item, 1);
			const cJSON *h = cJSON_GetArrayItem(item, 2);

			st = row_stamp(stamps, cJSON_GetArrayItem(item, 0));
			if (cJSON_GetArraySize(item) != 3 || st == NULL || v == NULL ||
			    !cJSON_IsNumber(h))
				return FS_ERR_CORRUPT;
			if ((err = load_write(f, st, v, h->valuedouble != 0)) != FS_OK)
				return err;
		}
		cJSON_ArrayForEach(item, ps)
		{
			if ((st = row_stamp(stamps, item)) == NULL)
				return FS_ERR_CORRUPT;
			if (grow(&f->pending, &f->cappending, f->npending + 1, sizeof(*f->pending)) !=
			    FS_OK)
				return FS_ERR_NOMEM;
			memcpy(f->pending[f->npending++], st, HLC_TEXT_LEN + 1);
		}
	}
	return FS_OK;
}
