/*
 * record_row.c -- one row per record on the device.  See record_row.h.
 */
#include "record_row.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fs_err
row_nomem(fs_client *c)
{
	return client_fail(c, FS_ERR_NOMEM, "out of memory");
}

fs_err
record_row_load(fs_client *c, const char *id, struct record_row *row)
{
	sqlite3_stmt *st;
	const char *text;
	cJSON *state;
	fs_err err;
	int rc;

	memset(row, 0, sizeof(*row));
	merge_mem_init(&row->mm, false);
	if ((err = db_stmt(c, "SELECT form, form_version, deleted, tombstone, created_at,"
			      " updated_at, state FROM records WHERE id = ?",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? FS_OK : db_fail(c, "reading record");
		db_stmt_done(c, st);
		return err;
	}
	row->exists = true;
	snprintf(row->form, sizeof(row->form), "%s", (const char *)sqlite3_column_text(st, 0));
	row->version = sqlite3_column_int64(st, 1);
	row->deleted = sqlite3_column_int(st, 2) != 0;
	if ((text = (const char *)sqlite3_column_text(st, 3)) != NULL)
		snprintf(row->tombstone, sizeof(row->tombstone), "%s", text);
	row->created_at = strdup((const char *)sqlite3_column_text(st, 4));
	row->updated_at = strdup((const char *)sqlite3_column_text(st, 5));
	if (row->created_at == NULL || row->updated_at == NULL) {
		db_stmt_done(c, st);
		return row_nomem(c);
	}
	text = (const char *)sqlite3_column_text(st, 6);
	if (text == NULL) {
		db_stmt_done(c, st); /* created but nothing merged yet: no state */
		return FS_OK;
	}
	state = cJSON_ParseWithLength(text, (size_t)sqlite3_column_bytes(st, 6));
	db_stmt_done(c, st);
	if (state == NULL)
		return client_fail(c, FS_ERR_CORRUPT, "stored state of record %s is damaged", id);
	err = merge_mem_record_from_json(&row->mm, state);
	cJSON_Delete(state);
	if (err == FS_ERR_NOMEM)
		return row_nomem(c);
	if (err != FS_OK)
		return client_fail(c, FS_ERR_CORRUPT, "stored state of record %s is damaged", id);
	return FS_OK;
}

void
record_row_finish(struct record_row *row)
{
	free(row->created_at);
	free(row->updated_at);
	merge_mem_finish(&row->mm);
	memset(row, 0, sizeof(*row));
}

const struct mm_record *
record_row_state(const struct record_row *row, const char *id)
{
	return merge_mem_record(&row->mm, id);
}

static bool
row_seen(const struct mm_record *r, const char *stamp)
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

/*
 * A record is deleted while its tombstone is at least every live current
 * value's stamp (merge.h).  Returns the open conflicts too.
 */
static bool
row_deleted(const struct mm_record *r, const char *tombstone, int *ret_conflicts)
{
	bool live = false;

	*ret_conflicts = 0;
	for (size_t i = 0; r != NULL && i < r->nf; i++) {
		const struct mm_write *cur = merge_mem_current(&r->f[i]);

		if (cur != NULL && cur->value != NULL && strcmp(cur->stamp, tombstone) > 0)
			live = true;
		merge_mem_conflicts(&r->f[i], count_conflict, ret_conflicts);
	}
	return tombstone[0] != '\0' && !live;
}

/* Writes the row back: one statement. */
static fs_err
row_store(fs_client *c, struct record_row *row, const struct change *ch, const char *text,
    int conflicts)
{
	sqlite3_stmt *st;
	char now[32];
	fs_err err;

	db_now_text(now);
	if ((err = db_stmt(c, "INSERT INTO records(id, form, form_version, tombstone, deleted,"
			      " conflicts, state, created_at, updated_at)"
			      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
			      " ON CONFLICT(id) DO UPDATE SET"
			      " form_version = max(form_version, excluded.form_version),"
			      " tombstone = excluded.tombstone, deleted = excluded.deleted,"
			      " conflicts = excluded.conflicts, state = excluded.state,"
			      " updated_at = excluded.updated_at",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->form, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ch->form_version);
	if (row->tombstone[0] != '\0')
		sqlite3_bind_text(st, 4, row->tombstone, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int(st, 5, row->deleted);
	sqlite3_bind_int(st, 6, conflicts);
	sqlite3_bind_text(st, 7, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "writing record");
	db_stmt_done(c, st);
	return err;
}

fs_err
record_row_apply(fs_client *c, struct record_row *row, const struct form *form,
    const struct change *ch, struct merge_result *res, bool *ret_applied)
{
	const struct mm_record *r;
	cJSON *state;
	char *text;
	int conflicts;
	fs_err err;

	if (ret_applied != NULL)
		*ret_applied = false;
	if (row_seen(merge_mem_record(&row->mm, ch->id), ch->hlc))
		return FS_OK; /* merged before: a replay changes nothing */
	/* record_lww falls back to older values: it keeps every write (merge_mem.h). */
	row->mm.keep_history = form->conflict == FORM_CONFLICT_RECORD_LWW;
	if ((err = change_apply(&row->mm.ops, form, ch, res)) != FS_OK ||
	    (err = merge_mem_change_done(&row->mm, ch->id, ch->hlc)) != FS_OK)
		return err == FS_ERR_NOMEM ? row_nomem(c)
					   : client_fail(c, err, "merging change %s", ch->hlc);
	if (ch->is_delete && strcmp(ch->hlc, row->tombstone) > 0)
		snprintf(row->tombstone, sizeof(row->tombstone), "%s", ch->hlc);
	r = merge_mem_record(&row->mm, ch->id);
	row->deleted = row_deleted(r, row->tombstone, &conflicts);
	if (r == NULL || merge_mem_record_to_json(r, &state) != FS_OK)
		return row_nomem(c);
	text = cJSON_PrintUnformatted(state);
	cJSON_Delete(state);
	if (text == NULL)
		return row_nomem(c);
	err = row_store(c, row, ch, text, conflicts);
	free(text);
	if (err == FS_OK && ret_applied != NULL)
		*ret_applied = true;
	return err;
}

/* --- migration from schema 2 ----------------------------------------------- */

struct mig_write {
	char *name, *value;
	char stamp[HLC_TEXT_LEN + 1];
};

/*
 * One record's state from its write set: every write inserted, then every
 * change marked merged, then every base applied (a base naming a write
 * present marks it overwritten; one naming a change already merged is
 * dropped; others stay pending), then the stored current value.  The
 * result merges every later change exactly as the write set did
 * (tests/unit/test-merge.c proves merge_mem against merge_sqlite).
 */
static fs_err
migrate_record(fs_client *c, const char *id, bool keep_history, char **ret_text, int *ret_open)
{
	struct merge_mem mm;
	sqlite3_stmt *st = NULL;
	const struct mm_record *r;
	cJSON *state = NULL;
	fs_err err = FS_OK;
	int rc;

	merge_mem_init(&mm, keep_history);
	*ret_text = NULL;
	/* Writes in stamp order, so each field's list reads oldest first. */
	if ((err = db_prepare(c, "SELECT name, stamp, value FROM writes WHERE record_id = ?"
				 " ORDER BY stamp, name",
		 &st)) != FS_OK)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct merge_write w = {
			.record = id,
			.field = (const char *)sqlite3_column_text(st, 0),
			.stamp = (const char *)sqlite3_column_text(st, 1),
			.value = (const char *)sqlite3_column_text(st, 2),
		};
		bool fresh;

		if ((err = mm.ops.write_insert(mm.ops.ctx, &w, &fresh)) != FS_OK)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		err = db_fail(c, "migrating: reading writes");
		goto out;
	}
	sqlite3_finalize(st);
	if ((err = db_prepare(c, "SELECT DISTINCT stamp FROM writes WHERE record_id = ?", &st)) !=
	    FS_OK)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((err = merge_mem_change_done(&mm, id,
			 (const char *)sqlite3_column_text(st, 0))) != FS_OK)
			goto out;
	sqlite3_finalize(st);
	if ((err = db_prepare(c, "SELECT name, stamp FROM write_bases WHERE record_id = ?"
				 " ORDER BY stamp",
		 &st)) != FS_OK)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((err = mm.ops.base_insert(mm.ops.ctx, id, (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1))) != FS_OK)
			goto out;
	sqlite3_finalize(st);
	if ((err = db_prepare(c, "SELECT name, stamp FROM fields WHERE record_id = ?", &st)) !=
	    FS_OK)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((err = mm.ops.field_set_from(mm.ops.ctx, id,
			 (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1))) != FS_OK)
			goto out;
	sqlite3_finalize(st);
	st = NULL;
	if ((r = merge_mem_record(&mm, id)) == NULL) {
		*ret_open = 0;
		goto out; /* a record row without writes: no state */
	}
	{
		int open = 0;

		for (size_t i = 0; i < r->nf; i++)
			merge_mem_conflicts(&r->f[i], count_conflict, &open);
		*ret_open = open;
	}
	if ((err = merge_mem_record_to_json(r, &state)) != FS_OK ||
	    (*ret_text = cJSON_PrintUnformatted(state)) == NULL)
		err = FS_ERR_NOMEM;
out:
	sqlite3_finalize(st);
	cJSON_Delete(state);
	merge_mem_finish(&mm);
	if (err == FS_ERR_NOMEM)
		return row_nomem(c);
	if (err != FS_OK && err != FS_ERR_DB && c->errmsg[0] == '\0')
		return client_fail(c, FS_ERR_CORRUPT,
		    "migrating record %s: its stored writes are inconsistent", id);
	return err;
}

fs_err
record_row_migrate_v2(fs_client *c)
{
	sqlite3_stmt *st, *up = NULL;
	fs_err err;
	int rc;

	if ((err = db_prepare(c, "SELECT r.id, coalesce((SELECT json_extract(f.definition,"
				 " '$.conflict') FROM forms f WHERE f.id = r.form"
				 " AND f.version = r.form_version), 'record_lww') FROM records r",
		 &st)) != FS_OK)
		return err;
	if ((err = db_prepare(c, "UPDATE records SET state = ?2, conflicts = ?3 WHERE id = ?1",
		 &up)) != FS_OK) {
		sqlite3_finalize(st);
		return err;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *policy = (const char *)sqlite3_column_text(st, 1);
		/* An unknown policy keeps every write: always enough to merge. */
		bool keep = policy == NULL || (strcmp(policy, "field_lww") != 0 &&
						  strcmp(policy, "manual") != 0);
		char *text;
		int open = 0;

		if ((err = migrate_record(c, id, keep, &text, &open)) != FS_OK)
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
			err = db_fail(c, "migrating records");
			break;
		}
	}
	if (err == FS_OK && rc != SQLITE_DONE)
		err = db_fail(c, "migrating records");
	sqlite3_finalize(up);
	sqlite3_finalize(st);
	return err;
}
