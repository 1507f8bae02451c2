/*
 * rule2_migrate.c -- device schema 4 -> 5: rows of merge rule 1 brought to
 * merge rule 2 (issue 22; common/merge.h).
 *
 * Under rule 1 a delete wrote null over every field, and a value it
 * overwrote left the packed row (only heads are kept).  A device does not
 * keep the other devices' changes, so it cannot merge a record again as
 * the server does (daemon/store_sqlite_rule2.c); it does two things:
 *
 *  1. Now, for every record with a tombstone: the delete's nulls are taken
 *     out of the row (a delete is a stamp that wrote null to every field
 *     of the row, or the tombstone itself) and become the record's
 *     deletes; every head older than the newest delete counts as seen by
 *     it.  A deleted record stays deleted; a record an edit kept alive
 *     shows what this device still holds of it, with its record-level
 *     conflict, instead of nulls.
 *  2. At the next sync, when such a record existed, the device takes the
 *     server's rows again (GET /v1/snapshot, as a fresh device does: pull
 *     cursor 0): the server merged every record again from all its
 *     changes, so the values the nulls had dropped come back.  The
 *     device's own changes not yet acknowledged are merged again on top
 *     (sync_snapshot.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "merge_row.h"
#include "record_row.h"

/* True if every field of r has a null write stamped stamp. */
static bool
nulls_everywhere(const struct mm_record *r, const char *stamp)
{
	if (r->nf == 0)
		return false;
	for (size_t i = 0; i < r->nf; i++) {
		bool found = false;

		for (size_t k = 0; k < r->f[i].nw && !found; k++)
			found = strcmp(r->f[i].w[k].stamp, stamp) == 0 && r->f[i].w[k].value == NULL;
		if (!found)
			return false;
	}
	return true;
}

/* The stamps of rule 1's deletes in r: the tombstone and every all-null stamp. */
static fs_err
find_deletes(const struct mm_record *r, const char *tombstone, struct mm_stamps *out)
{
	for (size_t i = 0; i < r->nf; i++)
		for (size_t k = 0; k < r->f[i].nw; k++) {
			const char *s = r->f[i].w[k].stamp;
			bool dup = false;

			for (size_t j = 0; j < out->n && !dup; j++)
				dup = strcmp(out->s[j], s) == 0;
			if (dup || (strcmp(s, tombstone) != 0 && !nulls_everywhere(r, s)))
				continue;
			if (out->n == out->cap) {
				size_t cap = out->cap ? out->cap * 2 : 4;
				void *p = realloc(out->s, cap * sizeof(*out->s));
				if (p == NULL)
					return FS_ERR_NOMEM;
				out->s = p;
				out->cap = cap;
			}
			memcpy(out->s[out->n++], s, HLC_TEXT_LEN + 1);
		}
	return FS_OK;
}

static bool
in_set(const struct mm_stamps *set, const char *stamp)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->s[i], stamp) == 0)
			return true;
	return false;
}

/*
 * Takes the writes stamped by a delete out of field f and makes the
 * remaining write the policy picks current (manual: the oldest head;
 * otherwise the newest write).  False when nothing remains.
 */
static bool
drop_delete_writes(struct mm_field *f, const struct mm_stamps *dels, bool manual)
{
	size_t k = 0;
	const char *pick = NULL;

	for (size_t i = 0; i < f->nw; i++) {
		if (in_set(dels, f->w[i].stamp)) {
			free(f->w[i].value);
			continue;
		}
		f->w[k++] = f->w[i];
	}
	f->nw = k;
	if (k == 0)
		return false;
	for (size_t i = 0; i < k; i++) {
		const char *s = f->w[i].stamp;

		if (manual && !f->w[i].head)
			continue;
		if (pick == NULL || (manual ? strcmp(s, pick) < 0 : strcmp(s, pick) > 0))
			pick = s;
	}
	if (pick == NULL)
		pick = f->w[k - 1].stamp;
	/* A write a delete's null overwrote is gone; what is left is a head. */
	for (size_t i = 0; i < k; i++)
		if (!f->w[i].head && strcmp(f->w[i].stamp, pick) == 0)
			f->w[i].head = true;
	memmove(f->current, pick, HLC_TEXT_LEN + 1);
	return true;
}

static void
field_free(struct mm_field *f)
{
	for (size_t k = 0; k < f->nw; k++)
		free(f->w[k].value);
	free(f->w);
	free(f->pending);
	free(f->name);
}

/* One record's row: its rule-1 deletes become rule 2's marks. */
static fs_err
convert(struct merge_mem *mm, const char *id, const char *tombstone, bool manual)
{
	struct mm_record *r = (struct mm_record *)merge_mem_record(mm, id);
	struct mm_stamps dels = { 0 };
	const char *newest = tombstone;
	fs_err err;
	size_t k = 0;

	if (r == NULL)
		return FS_OK;
	if ((err = find_deletes(r, tombstone, &dels)) != FS_OK)
		return err;
	for (size_t i = 0; i < r->nf; i++) {
		if (drop_delete_writes(&r->f[i], &dels, manual))
			r->f[k++] = r->f[i];
		else
			field_free(&r->f[i]);
	}
	r->nf = k;
	for (size_t i = 0; i < dels.n && err == FS_OK; i++) {
		if (strcmp(dels.s[i], newest) > 0)
			newest = dels.s[i];
		err = mm->ops.mark_insert(mm, id, MERGE_MARK_DELETE, dels.s[i]);
	}
	if (err == FS_OK && dels.n == 0)
		err = mm->ops.mark_insert(mm, id, MERGE_MARK_DELETE, tombstone);
	/* What the delete saw is not in the row: every older head counts as seen. */
	for (size_t i = 0; i < r->nf && err == FS_OK; i++)
		for (size_t j = 0; j < r->f[i].nw && err == FS_OK; j++)
			if (r->f[i].w[j].head && strcmp(r->f[i].w[j].stamp, newest) < 0)
				err = mm->ops.mark_insert(mm, id, MERGE_MARK_SEEN, r->f[i].w[j].stamp);
	free(dels.s);
	return err;
}

fs_err
record_row_migrate_rule2(fs_client *c)
{
	sqlite3_stmt *st = NULL, *up = NULL;
	int n = 0, rc;
	fs_err err;

	if ((err = db_prepare(c, "SELECT r.id, r.state, r.tombstone, coalesce((SELECT"
				 " f.definition ->> '$.conflict' FROM forms f WHERE f.id = r.form"
				 " AND f.version = r.form_version), 'field_lww') FROM records r"
				 " WHERE r.tombstone IS NOT NULL AND r.state IS NOT NULL",
		 &st)) != FS_OK ||
	    (err = db_prepare(c, "UPDATE records SET state = ?2, deleted = ?3, conflicts = ?4"
				 " WHERE id = ?1",
		 &up)) != FS_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *state = (const char *)sqlite3_column_text(st, 1);
		const char *tomb = (const char *)sqlite3_column_text(st, 2);
		const char *policy = (const char *)sqlite3_column_text(st, 3);
		struct merge_mem mm;
		char *text = NULL;
		int open = 0;
		bool deleted;

		merge_mem_init(&mm, false);
		err = merge_row_load(&mm, id, state, strlen(state));
		if (err == FS_OK)
			err = convert(&mm, id, tomb, strcmp(policy, "manual") == 0);
		if (err == FS_OK) {
			deleted = merge_row_summary(merge_mem_record(&mm, id), &open);
			err = merge_row_pack(merge_mem_record(&mm, id), &text);
		}
		merge_mem_finish(&mm);
		if (err != FS_OK) {
			err = client_fail(c, err, "record %s: its stored row is damaged", id);
			goto out;
		}
		sqlite3_reset(up);
		sqlite3_bind_text(up, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 2, text, -1, SQLITE_STATIC);
		sqlite3_bind_int(up, 3, deleted);
		sqlite3_bind_int(up, 4, open);
		rc = sqlite3_step(up);
		free(text);
		if (rc != SQLITE_DONE) {
			err = db_fail(c, "writing a record");
			goto out;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		err = db_fail(c, "reading records");
		goto out;
	}
	/* The server's rows, merged again from every change, at the next sync. */
	if (n > 0 &&
	    ((err = db_meta_set_i64(c, "pull_cursor", 0)) != FS_OK ||
		(err = db_meta_set_i64(c, "snapshot_next", 0)) != FS_OK ||
		(err = db_exec(c, "DELETE FROM meta WHERE key IN ('snapshot_as_of',"
				  " 'snapshot_as_of_hlc', 'cursor_hlc')")) != FS_OK))
		goto out;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	return err;
}
