/*
 * merge_sqlite.c -- the merge rule's storage on SQLite.  See merge.h.
 */
#include "merge_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOT_SUPERSEDED                                                                       \
	" NOT EXISTS (SELECT 1 FROM write_bases b WHERE b.record_id = w.record_id"           \
	" AND b.name = w.name AND b.stamp = w.stamp)"

#define NOT_SUPERSEDED_H                                                                     \
	" NOT EXISTS (SELECT 1 FROM write_bases b WHERE b.record_id = h.record_id"           \
	" AND b.name = h.name AND b.stamp = h.stamp)"
#define NOT_SUPERSEDED_N                                                                     \
	" NOT EXISTS (SELECT 1 FROM write_bases b WHERE b.record_id = n.record_id"           \
	" AND b.name = n.name AND b.stamp = n.stamp)"

/*
 * The field's current write (?3) is null.  A null head beside a null
 * current value is no conflict: both authors wanted the field empty (two
 * devices deleting one record, say), and a reviewer has nothing to choose.
 * Nullness is not a value: merge still never reads a value itself.
 */
#define CURRENT_IS_NULL                                                                      \
	" ?3 IS NOT NULL AND (SELECT c.value FROM writes c WHERE c.record_id = ?1"            \
	" AND c.name = ?2 AND c.stamp = ?3) IS NULL"

static const char *const sql[MS_NSTMT] = {
	[MS_WRITE_INSERT] = "INSERT OR IGNORE INTO writes(record_id, name, stamp, base, value,"
			    " device) VALUES(?, ?, ?, ?, ?, ?)",
	[MS_BASE_INSERT] = "INSERT OR IGNORE INTO write_bases(record_id, name, stamp)"
			   " VALUES(?, ?, ?)",
	[MS_MIN_HEAD] = "SELECT w.stamp FROM writes w WHERE w.record_id = ?1 AND w.name = ?2"
			" AND" NOT_SUPERSEDED " ORDER BY w.stamp LIMIT 1",
	[MS_MAX_WRITE] = "SELECT max(stamp) FROM writes WHERE record_id = ? AND name = ?",
	/* A change loses when one of its writes is a head beside a newer head. */
	[MS_MAX_NOT_LOSING] = "SELECT max(w.stamp) FROM writes w WHERE w.record_id = ?1"
			      " AND w.name = ?2 AND w.stamp NOT IN (SELECT h.stamp FROM writes h"
			      " WHERE h.record_id = ?1 AND" NOT_SUPERSEDED_H " AND EXISTS"
			      " (SELECT 1 FROM writes n WHERE n.record_id = ?1 AND n.name = h.name"
			      " AND n.stamp > h.stamp AND" NOT_SUPERSEDED_N "))",
	[MS_RECORD_FIELDS] = "SELECT DISTINCT name FROM writes WHERE record_id = ?1 AND ?2 IS NULL",
	[MS_FIELD_SET] = "INSERT INTO fields(record_id, name, value, stamp)"
			 " SELECT record_id, name, value, stamp FROM writes"
			 " WHERE record_id = ?1 AND name = ?2 AND stamp = ?3"
			 " ON CONFLICT(record_id, name) DO UPDATE SET value = excluded.value,"
			 " stamp = excluded.stamp",
	[MS_FIELD_CLEAR] = "DELETE FROM fields WHERE record_id = ?1 AND name = ?2",
	[MS_CONFLICT_DELETE] = "DELETE FROM conflicts WHERE record_id = ?1 AND name = ?2"
			       " AND (stamp IS ?3 OR EXISTS (SELECT 1 FROM write_bases b"
			       " WHERE b.record_id = ?1 AND b.name = ?2 AND b.stamp = conflicts.stamp)"
			       " OR (" CURRENT_IS_NULL " AND (SELECT x.value FROM writes x"
			       " WHERE x.record_id = ?1 AND x.name = ?2 AND x.stamp = conflicts.stamp)"
			       " IS NULL))",
	[MS_CONFLICT_INSERT] = "INSERT OR IGNORE INTO conflicts(record_id, name, stamp, created_at)"
			       " SELECT w.record_id, w.name, w.stamp, ?4 FROM writes w"
			       " WHERE w.record_id = ?1 AND w.name = ?2 AND w.stamp IS NOT ?3"
			       " AND" NOT_SUPERSEDED " AND NOT (w.value IS NULL AND" CURRENT_IS_NULL ")",
	[MS_CONFLICT_COUNT] = "SELECT count(*) FROM conflicts WHERE record_id = ? AND name = ?",
	/* NULL: no write; 1: a write with this stamp; 0: others only. */
	[MS_MARK_INSERT] = "INSERT OR IGNORE INTO marks(record_id, kind, stamp) VALUES (?1, ?2, ?3)",
	[MS_RECORD_STATE] = "SELECT max(stamp = ?2) FROM writes WHERE record_id = ?1",
	[MS_FIELD_SET_WRITE] = "INSERT INTO fields(record_id, name, value, stamp)"
			       " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(record_id, name)"
			       " DO UPDATE SET value = excluded.value, stamp = excluded.stamp",
};

static fs_err
ms_error(sqlite3 *db)
{
	switch (sqlite3_errcode(db) & 0xff) {
	case SQLITE_FULL:
		return FS_ERR_FULL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return FS_ERR_BUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return FS_ERR_CORRUPT;
	case SQLITE_NOMEM:
		return FS_ERR_NOMEM;
	case SQLITE_IOERR:
		return FS_ERR_IO;
	default:
		return FS_ERR_DB;
	}
}

/* Resets and binds record and field as ?1 and ?2. */
static sqlite3_stmt *
ms_stmt(struct merge_sqlite *ms, int which, const char *record, const char *field)
{
	sqlite3_stmt *st = ms->st[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_text(st, 1, record, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	return st;
}

static fs_err
ms_done(struct merge_sqlite *ms, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? FS_OK : ms_error(ms->db);
}

static fs_err
ms_write_insert(void *ctx, const struct merge_write *w, bool *ret_new)
{
	struct merge_sqlite *ms = ctx;
	sqlite3_stmt *st = ms_stmt(ms, MS_WRITE_INSERT, w->record, w->field);
	fs_err err;

	sqlite3_bind_text(st, 3, w->stamp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, w->base, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, w->value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, w->device, -1, SQLITE_STATIC);
	if ((err = ms_done(ms, st)) != FS_OK)
		return err;
	*ret_new = sqlite3_changes(ms->db) == 1;
	return FS_OK;
}

static fs_err
ms_base_insert(void *ctx, const char *record, const char *field, const char *stamp)
{
	struct merge_sqlite *ms = ctx;
	sqlite3_stmt *st = ms_stmt(ms, MS_BASE_INSERT, record, field);

	sqlite3_bind_text(st, 3, stamp, -1, SQLITE_STATIC);
	return ms_done(ms, st);
}

static fs_err
ms_one_stamp(struct merge_sqlite *ms, sqlite3_stmt *st, char ret_stamp[HLC_TEXT_LEN + 1],
    bool *ret_found)
{
	int rc = sqlite3_step(st);
	const unsigned char *text;

	*ret_found = false;
	if (rc == SQLITE_ROW && (text = sqlite3_column_text(st, 0)) != NULL) {
		snprintf(ret_stamp, HLC_TEXT_LEN + 1, "%s", (const char *)text);
		*ret_found = true;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_reset(st);
		return ms_error(ms->db);
	}
	sqlite3_reset(st);
	return FS_OK;
}

static fs_err
ms_min_head(void *ctx, const char *record, const char *field, char ret_stamp[HLC_TEXT_LEN + 1],
    bool *ret_found)
{
	struct merge_sqlite *ms = ctx;

	return ms_one_stamp(ms, ms_stmt(ms, MS_MIN_HEAD, record, field), ret_stamp, ret_found);
}

static fs_err
ms_max_write(void *ctx, const char *record, const char *field, char ret_stamp[HLC_TEXT_LEN + 1])
{
	struct merge_sqlite *ms = ctx;
	bool found;
	fs_err err;

	err = ms_one_stamp(ms, ms_stmt(ms, MS_MAX_WRITE, record, field), ret_stamp, &found);
	if (err == FS_OK && !found)
		err = FS_ERR_INTERNAL;
	return err;
}

static fs_err
ms_max_not_losing(void *ctx, const char *record, const char *field,
    char ret_stamp[HLC_TEXT_LEN + 1], bool *ret_found)
{
	struct merge_sqlite *ms = ctx;

	return ms_one_stamp(ms, ms_stmt(ms, MS_MAX_NOT_LOSING, record, field), ret_stamp,
	    ret_found);
}

static fs_err
ms_record_fields(void *ctx, const char *record, fs_err (*fn)(void *arg, const char *field),
    void *arg)
{
	struct merge_sqlite *ms = ctx;
	char (*names)[FORM_KEY_MAX + 1] = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st = ms_stmt(ms, MS_RECORD_FIELDS, record, NULL);
	fs_err err = FS_OK;
	int rc;

	/* Collect first: fn runs statements that would reset this one. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			void *grown = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*names));
			if (grown == NULL) {
				err = FS_ERR_NOMEM;
				break;
			}
			names = grown;
		}
		snprintf(names[n++], FORM_KEY_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	if (err == FS_OK && rc != SQLITE_DONE)
		err = ms_error(ms->db);
	sqlite3_reset(st);
	for (size_t i = 0; err == FS_OK && i < n; i++)
		err = fn(arg, names[i]);
	free(names);
	return err;
}

static fs_err
ms_field_set_from(void *ctx, const char *record, const char *field, const char *stamp)
{
	struct merge_sqlite *ms = ctx;
	sqlite3_stmt *st;

	if (stamp == NULL)
		return ms_done(ms, ms_stmt(ms, MS_FIELD_CLEAR, record, field));
	st = ms_stmt(ms, MS_FIELD_SET, record, field);
	sqlite3_bind_text(st, 3, stamp, -1, SQLITE_STATIC);
	return ms_done(ms, st);
}

static fs_err
ms_field_set_write(void *ctx, const struct merge_write *w)
{
	struct merge_sqlite *ms = ctx;
	sqlite3_stmt *st = ms_stmt(ms, MS_FIELD_SET_WRITE, w->record, w->field);

	sqlite3_bind_text(st, 3, w->value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, w->stamp, -1, SQLITE_STATIC);
	return ms_done(ms, st);
}

/* The statement inserting 2^k rows into writes (table 0) or fields (table 1). */
static fs_err
ms_multi(struct merge_sqlite *ms, int table, int k, sqlite3_stmt **ret)
{
	static const char *const head[2] = {
		"INSERT OR IGNORE INTO writes(record_id, name, stamp, base, value, device) VALUES",
		"INSERT INTO fields(record_id, name, value, stamp) VALUES",
	};
	static const char *const row[2] = { "(?,?,?,?,?,?)", "(?,?,?,?)" };
	static const char tail[] =
	    " ON CONFLICT(record_id, name) DO UPDATE SET value = excluded.value,"
	    " stamp = excluded.stamp";
	char text[128 + MS_MULTI_MAX * 16 + sizeof(tail)];
	size_t len;
	int rows = 1 << k;

	if (ms->multi[table][k] != NULL) {
		*ret = ms->multi[table][k];
		return FS_OK;
	}
	len = (size_t)snprintf(text, sizeof(text), "%s", head[table]);
	for (int i = 0; i < rows; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", i ? "," : "", row[table]);
	if (table == 1)
		snprintf(text + len, sizeof(text) - len, "%s", tail);
	if (sqlite3_prepare_v3(ms->db, text, -1, SQLITE_PREPARE_PERSISTENT, &ms->multi[table][k],
		NULL) != SQLITE_OK)
		return ms_error(ms->db);
	*ret = ms->multi[table][k];
	return FS_OK;
}

/* n first writes, in chunks of a power of two rows: one statement per chunk and table. */
static fs_err
ms_first_writes(void *ctx, const struct merge_write *w, size_t n)
{
	struct merge_sqlite *ms = ctx;
	sqlite3_stmt *st;
	fs_err err;

	while (n > 0) {
		int k = MS_MULTI_SIZES - 1;
		size_t rows;

		while ((size_t)1 << k > n)
			k--;
		rows = (size_t)1 << k;
		if ((err = ms_multi(ms, 0, k, &st)) != FS_OK)
			return err;
		for (size_t i = 0; i < rows; i++) {
			int p = (int)i * 6;
			sqlite3_bind_text(st, p + 1, w[i].record, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, p + 2, w[i].field, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, p + 3, w[i].stamp, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, p + 4, w[i].base, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, p + 5, w[i].value, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, p + 6, w[i].device, -1, SQLITE_STATIC);
		}
		err = ms_done(ms, st);
		sqlite3_clear_bindings(st);
		if (err != FS_OK)
			return err;
		if ((err = ms_multi(ms, 1, k, &st)) != FS_OK)
			return err;
		for (size_t i = 0; i < rows; i++) {
			int p = (int)i * 4;
			sqlite3_bind_text(st, p + 1, w[i].record, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, p + 2, w[i].field, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, p + 3, w[i].value, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, p + 4, w[i].stamp, -1, SQLITE_STATIC);
		}
		err = ms_done(ms, st);
		sqlite3_clear_bindings(st);
		if (err != FS_OK)
			return err;
		w += rows;
		n -= rows;
	}
	return FS_OK;
}

static fs_err
ms_conflicts_sync(void *ctx, const char *record, const char *field, const char *current,
    int *ret_open)
{
	struct merge_sqlite *ms = ctx;
	sqlite3_stmt *st;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	fs_err err;

	st = ms_stmt(ms, MS_CONFLICT_DELETE, record, field);
	sqlite3_bind_text(st, 3, current, -1, SQLITE_STATIC);
	if ((err = ms_done(ms, st)) != FS_OK)
		return err;
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	st = ms_stmt(ms, MS_CONFLICT_INSERT, record, field);
	sqlite3_bind_text(st, 3, current, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT);
	if ((err = ms_done(ms, st)) != FS_OK)
		return err;
	st = ms_stmt(ms, MS_CONFLICT_COUNT, record, field);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return ms_error(ms->db);
	}
	*ret_open = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return FS_OK;
}

static fs_err
ms_record_state(void *ctx, const char *record, const char *stamp,
    enum merge_record_state *ret_state)
{
	struct merge_sqlite *ms = ctx;
	sqlite3_stmt *st = ms_stmt(ms, MS_RECORD_STATE, record, stamp);
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return ms_error(ms->db);
	}
	if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		*ret_state = MERGE_RECORD_NEW;
	else
		*ret_state = sqlite3_column_int(st, 0) ? MERGE_RECORD_SEEN : MERGE_RECORD_OTHER;
	sqlite3_reset(st);
	return FS_OK;
}

static fs_err
ms_mark_insert(void *ctx, const char *record, enum merge_mark kind, const char *stamp)
{
	struct merge_sqlite *ms = ctx;
	sqlite3_stmt *st = ms->st[MS_MARK_INSERT];
	int rc;

	sqlite3_bind_text(st, 1, record, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)kind);
	sqlite3_bind_text(st, 3, stamp, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? FS_OK : ms_error(ms->db);
}

fs_err
merge_sqlite_init(struct merge_sqlite *ms, sqlite3 *db)
{
	memset(ms, 0, sizeof(*ms));
	ms->db = db;
	for (int i = 0; i < MS_NSTMT; i++) {
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ms->st[i],
			NULL) != SQLITE_OK) {
			fs_err err = ms_error(db);
			merge_sqlite_finish(ms);
			return err;
		}
	}
	ms->ops = (struct merge_ops){
		.ctx = ms,
		.write_insert = ms_write_insert,
		.base_insert = ms_base_insert,
		.min_head = ms_min_head,
		.max_write = ms_max_write,
		.max_write_not_losing = ms_max_not_losing,
		.record_fields = ms_record_fields,
		.field_set_from = ms_field_set_from,
		.conflicts_sync = ms_conflicts_sync,
		.record_state = ms_record_state,
		.field_set_write = ms_field_set_write,
		.first_writes = ms_first_writes,
		.mark_insert = ms_mark_insert,
	};
	return FS_OK;
}

void
merge_sqlite_finish(struct merge_sqlite *ms)
{
	for (int i = 0; i < MS_NSTMT; i++) {
		sqlite3_finalize(ms->st[i]);
		ms->st[i] = NULL;
	}
	for (int t = 0; t < 2; t++) {
		for (int k = 0; k < MS_MULTI_SIZES; k++) {
			sqlite3_finalize(ms->multi[t][k]);
			ms->multi[t][k] = NULL;
		}
	}
}
