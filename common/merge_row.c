/*
 * merge_row.c -- one row per record, shared by device and server.  See
 * merge_row.h.
 */
#include "merge_row.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
merge_row_seen(const struct mm_record *r, const char *stamp)
{
	for (size_t i = 0; r != NULL && i < r->nseen; i++)
		if (strcmp(r->seen[i], stamp) == 0)
			return true;
	return false;
}

static void
count_conflict(void *arg, const struct mm_write *w)
{
	(void)w;
	(*(int *)arg)++;
}

/* True if every head of every field of r was seen by a delete. */
static bool
all_heads_seen(const struct mm_record *r)
{
	for (size_t i = 0; i < r->nf; i++)
		for (size_t k = 0; k < r->f[i].nw; k++)
			if (r->f[i].w[k].head &&
			    !merge_mem_marked(r, MERGE_MARK_SEEN, r->f[i].w[k].stamp))
				return false;
	return true;
}

bool
merge_row_deleted(const struct mm_record *r)
{
	return r != NULL && r->marks[MERGE_MARK_DELETE].n > 0 && all_heads_seen(r);
}

bool
merge_row_delete_conflict(const struct mm_record *r)
{
	if (r == NULL || merge_row_deleted(r))
		return false;
	for (size_t i = 0; i < r->marks[MERGE_MARK_DELETE].n; i++)
		if (!merge_mem_marked(r, MERGE_MARK_KEPT, r->marks[MERGE_MARK_DELETE].s[i]))
			return true;
	return false;
}

void
merge_row_delete_conflict_each(const struct mm_record *r,
    void (*fn)(void *arg, bool is_delete, const char *field, const char *stamp), void *arg)
{
	if (!merge_row_delete_conflict(r))
		return;
	for (size_t i = 0; i < r->marks[MERGE_MARK_DELETE].n; i++)
		if (!merge_mem_marked(r, MERGE_MARK_KEPT, r->marks[MERGE_MARK_DELETE].s[i]))
			fn(arg, true, NULL, r->marks[MERGE_MARK_DELETE].s[i]);
	for (size_t i = 0; i < r->nf; i++)
		for (size_t k = 0; k < r->f[i].nw; k++)
			if (r->f[i].w[k].head &&
			    !merge_mem_marked(r, MERGE_MARK_SEEN, r->f[i].w[k].stamp))
				fn(arg, false, r->f[i].name, r->f[i].w[k].stamp);
}

bool
merge_row_summary(const struct mm_record *r, int *ret_open)
{
	bool deleted = merge_row_deleted(r);

	*ret_open = 0;
	if (deleted)
		return true; /* every delete saw every value: nothing to decide */
	for (size_t i = 0; r != NULL && i < r->nf; i++)
		merge_mem_conflicts(&r->f[i], count_conflict, ret_open);
	if (merge_row_delete_conflict(r))
		(*ret_open)++;
	return false;
}

fs_err
merge_row_pack(const struct mm_record *r, char **ret)
{
	cJSON *state;
	fs_err err;

	if ((err = merge_mem_record_to_json(r, &state)) != FS_OK)
		return err;
	*ret = cJSON_PrintUnformatted(state);
	cJSON_Delete(state);
	return *ret != NULL ? FS_OK : FS_ERR_NOMEM;
}

fs_err
merge_row_merge(struct merge_mem *mm, const struct form *form, const struct change *ch,
    char tombstone[HLC_TEXT_LEN + 1], struct merge_result *res, struct merge_row_out *out)
{
	const struct mm_record *r;
	fs_err err;

	memset(out, 0, sizeof(*out));
	if (merge_row_seen(merge_mem_record(mm, ch->id), ch->hlc))
		return FS_OK; /* merged before: a replay changes nothing */
	/* record_lww falls back to older values: it keeps every write (merge_mem.h). */
	mm->keep_history = form->conflict == FORM_CONFLICT_RECORD_LWW;
	if ((err = change_apply(&mm->ops, form, ch, res)) != FS_OK ||
	    (err = merge_mem_change_done(mm, ch->id, ch->hlc)) != FS_OK)
		return err;
	if (ch->is_delete && strcmp(ch->hlc, tombstone) > 0)
		memcpy(tombstone, ch->hlc, HLC_TEXT_LEN + 1);
	if ((r = merge_mem_record(mm, ch->id)) == NULL)
		return FS_ERR_INTERNAL;
	out->deleted = merge_row_summary(r, &out->open);
	if ((err = merge_row_pack(r, &out->state)) != FS_OK)
		return err;
	out->applied = true;
	return FS_OK;
}

fs_err
merge_row_load(struct merge_mem *mm, const char *id, const char *text, size_t len)
{
	cJSON *state = cJSON_ParseWithLength(text, len);
	fs_err err;

	if (state == NULL)
		return FS_ERR_CORRUPT;
	err = merge_mem_record_from_json(mm, id, state);
	cJSON_Delete(state);
	return err;
}

/* --- migration from the write set (schema 2) ------------------------------ */

struct mig {
	sqlite3 *db;
	sqlite3_stmt *writes, *stamps, *bases, *current;
	char *errmsg;
	size_t errlen;
};

static fs_err
mig_fail(struct mig *m, const char *what)
{
	if (m->errmsg != NULL)
		snprintf(m->errmsg, m->errlen, "%s: %s", what, sqlite3_errmsg(m->db));
	return FS_ERR_DB;
}

/* Steps st (bound to record id) and calls fn on each row. */
static fs_err
mig_each(struct mig *m, sqlite3_stmt *st, const char *id, struct merge_mem *mm,
    fs_err (*fn)(struct merge_mem *mm, const char *id, sqlite3_stmt *st))
{
	fs_err err = FS_OK;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((err = fn(mm, id, st)) != FS_OK)
			break;
	if (err == FS_OK && rc != SQLITE_DONE)
		err = mig_fail(m, "reading the write set");
	sqlite3_reset(st);
	return err;
}

static fs_err
mig_write(struct merge_mem *mm, const char *id, sqlite3_stmt *st)
{
	struct merge_write w = {
		.record = id,
		.field = (const char *)sqlite3_column_text(st, 0),
		.stamp = (const char *)sqlite3_column_text(st, 1),
		.value = (const char *)sqlite3_column_text(st, 2),
	};
	bool fresh;

	return mm->ops.write_insert(mm->ops.ctx, &w, &fresh);
}

static fs_err
mig_stamp(struct merge_mem *mm, const char *id, sqlite3_stmt *st)
{
	return merge_mem_change_done(mm, id, (const char *)sqlite3_column_text(st, 0));
}

static fs_err
mig_base(struct merge_mem *mm, const char *id, sqlite3_stmt *st)
{
	return mm->ops.base_insert(mm->ops.ctx, id, (const char *)sqlite3_column_text(st, 0),
	    (const char *)sqlite3_column_text(st, 1));
}

static fs_err
mig_current(struct merge_mem *mm, const char *id, sqlite3_stmt *st)
{
	return mm->ops.field_set_from(mm->ops.ctx, id, (const char *)sqlite3_column_text(st, 0),
	    (const char *)sqlite3_column_text(st, 1));
}

/*
 * One record's state from its write set: every write inserted, then every
 * change marked merged, then every base applied (a base naming a write
 * present marks it overwritten; one naming a change merged is dropped;
 * others stay pending), then the stored current values.  That is the
 * state merge_mem reaches by merging the same changes one by one, up to
 * pending stamps that can never matter (a stamp merged is never merged
 * again), so later changes merge exactly as on the write set.
 */
static fs_err
mig_record(struct mig *m, const char *id, bool keep_history, char **ret_text, int *ret_open)
{
	struct merge_mem mm;
	const struct mm_record *r;
	fs_err err;

	*ret_text = NULL;
	*ret_open = 0;
	merge_mem_init(&mm, keep_history);
	if ((err = mig_each(m, m->writes, id, &mm, mig_write)) != FS_OK ||
	    (err = mig_each(m, m->stamps, id, &mm, mig_stamp)) != FS_OK ||
	    (err = mig_each(m, m->bases, id, &mm, mig_base)) != FS_OK ||
	    (err = mig_each(m, m->current, id, &mm, mig_current)) != FS_OK)
		goto out;
	if ((r = merge_mem_record(&mm, id)) == NULL)
		goto out; /* a record row without writes: no state */
	for (size_t i = 0; i < r->nf; i++)
		merge_mem_conflicts(&r->f[i], count_conflict, ret_open);
	err = merge_row_pack(r, ret_text);
out:
	merge_mem_finish(&mm);
	if (err != FS_OK && err != FS_ERR_DB && m->errmsg != NULL)
		snprintf(m->errmsg, m->errlen, "record %s: its stored writes are inconsistent (%s)",
		    id, fs_strerror(err));
	return err;
}

static fs_err
mig_prepare(struct mig *m, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(m->db, sql, -1, st, NULL) != SQLITE_OK)
		return mig_fail(m, "preparing the migration");
	return FS_OK;
}

fs_err
merge_row_migrate(sqlite3 *db, const char *open_col, char *errmsg, size_t errlen)
{
	struct mig m = { .db = db, .errmsg = errmsg, .errlen = errlen };
	sqlite3_stmt *recs = NULL, *up = NULL;
	char sql[128];
	fs_err err;
	int rc = SQLITE_DONE;

	snprintf(sql, sizeof(sql), "UPDATE records SET state = ?2, %s = ?3 WHERE id = ?1", open_col);
	/* Writes in stamp order, so each field's list reads oldest first. */
	if ((err = mig_prepare(&m, "SELECT name, stamp, value FROM writes WHERE record_id = ?"
				   " ORDER BY stamp, name",
		 &m.writes)) != FS_OK ||
	    (err = mig_prepare(&m, "SELECT DISTINCT stamp FROM writes WHERE record_id = ?",
		 &m.stamps)) != FS_OK ||
	    (err = mig_prepare(&m, "SELECT name, stamp FROM write_bases WHERE record_id = ?"
				   " ORDER BY stamp",
		 &m.bases)) != FS_OK ||
	    (err = mig_prepare(&m, "SELECT name, stamp FROM fields WHERE record_id = ?",
		 &m.current)) != FS_OK ||
	    (err = mig_prepare(&m, sql, &up)) != FS_OK ||
	    /* An unknown policy keeps every write: always enough to merge. */
	    (err = mig_prepare(&m, "SELECT r.id, coalesce((SELECT json_extract(f.definition,"
				   " '$.conflict') FROM forms f WHERE f.id = r.form"
				   " AND f.version = r.form_version), 'record_lww') FROM records r",
		 &recs)) != FS_OK)
		goto out;
	while ((rc = sqlite3_step(recs)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(recs, 0);
		const char *policy = (const char *)sqlite3_column_text(recs, 1);
		bool keep = policy == NULL ||
		    (strcmp(policy, "field_lww") != 0 && strcmp(policy, "manual") != 0);
		char *text;
		int open;

		if ((err = mig_record(&m, id, keep, &text, &open)) != FS_OK)
			break;
		sqlite3_reset(up);
		sqlite3_bind_text(up, 1, id, -1, SQLITE_STATIC);
		if (text != NULL)
			sqlite3_bind_text(up, 2, text, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(up, 2);
		sqlite3_bind_int(up, 3, open);
		rc = sqlite3_step(up);
		free(text);
		if (rc != SQLITE_DONE) {
			err = mig_fail(&m, "writing a record's state");
			break;
		}
	}
	if (err == FS_OK && rc != SQLITE_DONE)
		err = mig_fail(&m, "reading records");
out:
	sqlite3_finalize(m.writes);
	sqlite3_finalize(m.stamps);
	sqlite3_finalize(m.bases);
	sqlite3_finalize(m.current);
	sqlite3_finalize(up);
	sqlite3_finalize(recs);
	return err;
}
