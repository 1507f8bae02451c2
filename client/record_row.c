/*
 * record_row.c -- one row per record on the device.  See record_row.h.
 */
#include "record_row.h"

#include "merge_row.h"

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
	err = merge_row_load(&row->mm, id, text, (size_t)sqlite3_column_bytes(st, 6));
	db_stmt_done(c, st);
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

/* Writes the row back: one statement. */
static fs_err
row_store(fs_client *c, struct record_row *row, const char *id, const char *form,
    int64_t version, const char *text, int conflicts)
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
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, form, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, version);
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
	struct merge_row_out out;
	fs_err err;

	if (ret_applied != NULL)
		*ret_applied = false;
	err = merge_row_merge(&row->mm, form, ch, row->tombstone, res, &out);
	if (err != FS_OK)
		return err == FS_ERR_NOMEM ? row_nomem(c)
					   : client_fail(c, err, "merging change %s", ch->hlc);
	if (!out.applied)
		return FS_OK; /* merged before: a replay changes nothing */
	row->deleted = out.deleted;
	err = row_store(c, row, ch->id, ch->form, ch->form_version, out.state, out.open);
	free(out.state);
	if (err == FS_OK && ret_applied != NULL)
		*ret_applied = true;
	return err;
}

fs_err
record_row_adopt(fs_client *c, struct record_row *row, const char *id, const char *form,
    int64_t version, const char *tombstone, const cJSON *state, struct record_stamps *ret_local)
{
	const struct mm_record *mine = merge_mem_record(&row->mm, id), *theirs;
	struct merge_mem other;
	char *text = NULL;
	int open;
	fs_err err;

	memset(ret_local, 0, sizeof(*ret_local));
	if (mine == NULL) {
		/* Nothing here yet (a fresh device): the server's row as it is. */
		if ((err = merge_mem_record_from_json(&row->mm, id, state)) != FS_OK)
			goto bad;
		goto store;
	}
	merge_mem_init(&other, false);
	if ((err = merge_mem_record_from_json(&other, id, state)) != FS_OK) {
		merge_mem_finish(&other);
		goto bad;
	}
	theirs = merge_mem_record(&other, id);
	/* What this device merged that the server's row does not hold yet. */
	for (size_t i = 0; i < mine->nseen; i++) {
		if (theirs != NULL && merge_row_seen(theirs, mine->seen[i]))
			continue;
		if (ret_local->n == ret_local->cap) {
			size_t cap = ret_local->cap ? ret_local->cap * 2 : 8;
			void *p = realloc(ret_local->stamp, cap * sizeof(*ret_local->stamp));

			if (p == NULL) {
				merge_mem_finish(&other);
				return row_nomem(c);
			}
			ret_local->stamp = p;
			ret_local->cap = cap;
		}
		memcpy(ret_local->stamp[ret_local->n++], mine->seen[i], HLC_TEXT_LEN + 1);
	}
	merge_mem_finish(&other);
	/* The server's row replaces this one: loaded again into row->mm. */
	merge_mem_finish(&row->mm);
	merge_mem_init(&row->mm, false);
	if ((err = merge_mem_record_from_json(&row->mm, id, state)) != FS_OK)
		return row_nomem(c); /* parsed once above: only memory can fail */
store:
	if (tombstone != NULL && strcmp(tombstone, row->tombstone) > 0)
		snprintf(row->tombstone, sizeof(row->tombstone), "%s", tombstone);
	theirs = merge_mem_record(&row->mm, id);
	row->deleted = merge_row_summary(theirs, &open);
	/* The state as received is the packed form already: printed, not rebuilt. */
	if (theirs == NULL || (text = cJSON_PrintUnformatted(state)) == NULL)
		return row_nomem(c);
	row->exists = true;
	err = row_store(c, row, id, form, version, text, open);
	free(text);
	return err;
bad:
	return err == FS_ERR_NOMEM ? row_nomem(c)
				   : client_fail(c, FS_ERR_PROTOCOL,
					 "snapshot: the state of record %s is malformed", id);
}

fs_err
record_row_migrate_v2(fs_client *c)
{
	char why[256] = "";
	fs_err err = merge_row_migrate(c->db, "conflicts", why, sizeof(why));

	return err == FS_OK ? FS_OK : client_fail(c, err, "%s", why);
}
