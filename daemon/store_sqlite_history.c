/*
 * store_sqlite_history.c -- the SQLite backend's history chains (issue 16,
 * item 3; the hash is common/custody.h's custody_history_hash()).
 *
 * Two kinds of chain:
 *   - the audit trail: each audit row carries prev and hash;
 *   - each record's history: a row in `history` for every change stored
 *     and every review event of the record, in the order they were
 *     written, each with prev and hash; the hash covers the change's
 *     stored bytes (or the event's columns).
 *
 * The hash is computed inside the INSERT by the SQL function fs_chain(),
 * registered on every connection of the store: reading the chain's last
 * hash and appending after it is one statement, which SQLite runs under
 * the write lock, so two writers cannot both append after the same entry.
 * A row written by hand (sqlite3 shell) has no such function and fails;
 * one written with a made-up hash fails `fieldsyncd verify`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody.h"
#include "store_sqlite_internal.h"

/* fs_chain(prev BLOB, kind TEXT, item...) -> BLOB(32) */
static void
fs_chain(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	unsigned char prev[CUSTODY_LINK_LEN] = { 0 }, out[CUSTODY_LINK_LEN];
	const char *items[CUSTODY_HISTORY_MAX_ITEMS];
	size_t lens[CUSTODY_HISTORY_MAX_ITEMS];
	const char *kind;
	int n = argc - 2;

	if (argc < 2 || n > CUSTODY_HISTORY_MAX_ITEMS) {
		sqlite3_result_error(ctx, "fs_chain: wrong number of arguments", -1);
		return;
	}
	if (sqlite3_value_type(argv[0]) == SQLITE_BLOB &&
	    sqlite3_value_bytes(argv[0]) == CUSTODY_LINK_LEN)
		memcpy(prev, sqlite3_value_blob(argv[0]), CUSTODY_LINK_LEN);
	kind = (const char *)sqlite3_value_text(argv[1]);
	for (int i = 0; i < n; i++) {
		sqlite3_value *v = argv[i + 2];

		if (sqlite3_value_type(v) == SQLITE_NULL) {
			items[i] = NULL;
			lens[i] = 0;
		} else {
			items[i] = (const char *)sqlite3_value_text(v);
			lens[i] = (size_t)sqlite3_value_bytes(v);
			if (items[i] == NULL) {
				sqlite3_result_error_nomem(ctx);
				return;
			}
		}
	}
	custody_history_hash(prev, kind != NULL ? kind : "", n, items, lens, out);
	sqlite3_result_blob(ctx, out, sizeof(out), SQLITE_TRANSIENT);
}

int
sqlite_history_register(sqlite3 *db)
{
	return sqlite3_create_function(db, "fs_chain", -1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL, fs_chain, NULL, NULL);
}

#define HISTORY_CHANGE_SQL \
	"INSERT INTO history(record_id, kind, ref, prev, hash)" \
	" SELECT c.record_id, 'change', c.seq, p.h," \
	" fs_chain(p.h, 'change', c.record_id, c.seq, c.received_at, c.body)" \
	" FROM changes c, (SELECT coalesce((SELECT hash FROM history WHERE record_id = ?1" \
	" ORDER BY id DESC LIMIT 1), zeroblob(32)) AS h) p WHERE c.seq = ?2"

fs_err
sqlite_history_change(sqlite3 *db, const char *record_id, int64_t seq)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, HISTORY_CHANGE_SQL, -1, &st, NULL)) != SQLITE_OK)
		return store_sqlite_err(db, rc, "preparing statement");
	sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	return store_sqlite_step_done(st, "appending to a record's history");
}

/* The same inside a push, with the push's cached statement (one prepare a batch). */
fs_err
sqlite_history_push_change(struct store_push *push, const char *record_id, int64_t seq)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	if ((err = sqlite_push_stmt_history(push, HISTORY_CHANGE_SQL, &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	rc = sqlite3_step(st);
	err = rc == SQLITE_DONE ? FS_OK
				: store_sqlite_err(sqlite_push_conn(push), rc,
				      "appending to a record's history");
	sqlite3_reset(st);
	return err;
}

fs_err
sqlite_history_event(sqlite3 *db, int64_t event_id)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db,
	    "INSERT INTO history(record_id, kind, ref, prev, hash)"
	    " SELECT e.record_id, 'event', e.id, p.h,"
	    " fs_chain(p.h, 'event', e.record_id, e.id, e.kind, e.status, e.note, e.field,"
	    " e.stamp, e.actor, e.at)"
	    " FROM review_events e, (SELECT coalesce((SELECT hash FROM history"
	    " WHERE record_id = (SELECT record_id FROM review_events WHERE id = ?1)"
	    " ORDER BY id DESC LIMIT 1), zeroblob(32)) AS h) p WHERE e.id = ?1",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_err(db, rc, "preparing statement");
	sqlite3_bind_int64(st, 1, event_id);
	return store_sqlite_step_done(st, "appending to a record's history");
}

fs_err
sqlite_history_migrate(sqlite3 *db)
{
	sqlite3_stmt *st;
	fs_err err = FS_OK;
	int rc;

	/* The audit trail in id order, each row after the one before. */
	rc = sqlite3_exec(db,
	    "CREATE TEMP TABLE audit_order AS SELECT id FROM audit ORDER BY id;", NULL, NULL,
	    NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_err(db, rc, "chaining the audit trail");
	rc = sqlite3_prepare_v2(db, "SELECT id FROM temp.audit_order ORDER BY id", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_err(db, rc, "chaining the audit trail");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && err == FS_OK) {
		sqlite3_stmt *up;
		int64_t id = sqlite3_column_int64(st, 0);

		rc = sqlite3_prepare_v2(db,
		    "UPDATE audit SET prev = p.h, hash = fs_chain(p.h, 'audit', at, actor, action,"
		    " record_id, detail) FROM (SELECT coalesce((SELECT hash FROM audit"
		    " WHERE id < ?1 ORDER BY id DESC LIMIT 1), zeroblob(32)) AS h) p WHERE id = ?1",
		    -1, &up, NULL);
		if (rc != SQLITE_OK) {
			err = store_sqlite_err(db, rc, "chaining the audit trail");
			break;
		}
		sqlite3_bind_int64(up, 1, id);
		err = store_sqlite_step_done(up, "chaining the audit trail");
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "DROP TABLE temp.audit_order", NULL, NULL, NULL);
	if (err != FS_OK)
		return err;
	/* Each record's changes and events, by time (changes first at a tie). */
	rc = sqlite3_prepare_v2(db,
	    "SELECT kind, ref, record_id FROM (SELECT 'change' AS kind, seq AS ref, record_id,"
	    " received_at AS at, 0 AS o FROM changes UNION ALL SELECT 'event', id, record_id, at,"
	    " 1 FROM review_events) ORDER BY at, o, ref",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_err(db, rc, "building the records' histories");
	while (err == FS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (strcmp((const char *)sqlite3_column_text(st, 0), "change") == 0)
			err = sqlite_history_change(db, (const char *)sqlite3_column_text(st, 2),
			    sqlite3_column_int64(st, 1));
		else
			err = sqlite_history_event(db, sqlite3_column_int64(st, 1));
	}
	sqlite3_finalize(st);
	return err;
}

/* Hands one row of a walk to the callback: items from column first on. */
static int
walk_row(sqlite3_stmt *st, const char *scope, int first, int nitems, store_history_cb cb,
    void *arg)
{
	struct store_history_row row = { 0 };

	row.scope = scope != NULL ? scope : store_sqlite_text(st, 0);
	row.kind = store_sqlite_text(st, 1);
	row.id = sqlite3_column_int64(st, 2);
	row.ref = sqlite3_column_int64(st, 3);
	row.ref_found = sqlite3_column_int(st, 4) != 0;
	if (sqlite3_column_type(st, 5) == SQLITE_BLOB && sqlite3_column_bytes(st, 5) == 32)
		row.prev = sqlite3_column_blob(st, 5);
	if (sqlite3_column_type(st, 6) == SQLITE_BLOB && sqlite3_column_bytes(st, 6) == 32)
		row.hash = sqlite3_column_blob(st, 6);
	if (strcmp(row.kind, "change") == 0 && nitems > 4)
		nitems = 4; /* record_id, seq, received_at, body */
	row.nitems = nitems;
	for (int i = 0; i < nitems; i++) {
		if (sqlite3_column_type(st, first + i) == SQLITE_NULL) {
			row.items[i] = NULL;
		} else {
			row.items[i] = (const char *)sqlite3_column_text(st, first + i);
			row.lens[i] = (size_t)sqlite3_column_bytes(st, first + i);
		}
	}
	return cb(arg, &row);
}

static fs_err
walk(struct store *store, const char *sql, const char *scope, int nitems, store_history_cb cb,
    void *arg)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	if ((err = store_sqlite_prepare(store, sql, &st)) != FS_OK)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (walk_row(st, scope, 7, nitems, cb, arg) != 0) {
			sqlite3_finalize(st);
			return FS_ERR_CANCELLED;
		}
	}
	err = rc == SQLITE_DONE ? FS_OK
				: store_sqlite_err(sqlite3_db_handle(st), rc, "walking the history");
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_history_walk(struct store *store, store_history_cb cb, void *arg)
{
	fs_err err;

	/* Columns: scope, kind, id, ref, ref_found, prev, hash, items... */
	if ((err = walk(store,
		 "SELECT 'audit', 'audit', id, id, 1, prev, hash, at, actor, action, record_id,"
		 " detail FROM audit ORDER BY id",
		 "audit", 5, cb, arg)) != FS_OK)
		return err;
	if ((err = walk(store,
		 "SELECT h.record_id, 'change', h.id, h.ref, c.seq IS NOT NULL, h.prev, h.hash,"
		 " c.record_id, c.seq, c.received_at, c.body, NULL, NULL, NULL, NULL, NULL"
		 " FROM history h LEFT JOIN changes c ON c.seq = h.ref WHERE h.kind = 'change'"
		 " UNION ALL SELECT h.record_id, 'event', h.id, h.ref, e.id IS NOT NULL, h.prev,"
		 " h.hash, e.record_id, e.id, e.kind, e.status, e.note, e.field, e.stamp, e.actor,"
		 " e.at FROM history h LEFT JOIN review_events e ON e.id = h.ref"
		 " WHERE h.kind = 'event' ORDER BY 1, 3",
		 NULL, 9, cb, arg)) != FS_OK)
		return err;
	/* Entries of history with no row in it: written behind the server's back. */
	return walk(store,
	    "SELECT c.record_id, 'change', 0, c.seq, 1, NULL, NULL FROM changes c"
	    " WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.kind = 'change' AND h.ref = c.seq)"
	    " UNION ALL SELECT e.record_id, 'event', 0, e.id, 1, NULL, NULL FROM review_events e"
	    " WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.kind = 'event' AND h.ref = e.id)"
	    " ORDER BY 1, 4",
	    NULL, 0, cb, arg);
}

fs_err
sqlite_record_history(struct store *store, const char *record_id, store_history_cb cb, void *arg)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	if ((err = store_sqlite_prepare(store,
		 "SELECT h.record_id, 'change', h.id, h.ref, c.seq IS NOT NULL, h.prev, h.hash,"
		 " c.record_id, c.seq, c.received_at, c.body, NULL, NULL, NULL, NULL, NULL"
		 " FROM history h LEFT JOIN changes c ON c.seq = h.ref"
		 " WHERE h.kind = 'change' AND h.record_id = ?1"
		 " UNION ALL SELECT h.record_id, 'event', h.id, h.ref, e.id IS NOT NULL, h.prev,"
		 " h.hash, e.record_id, e.id, e.kind, e.status, e.note, e.field, e.stamp, e.actor,"
		 " e.at FROM history h LEFT JOIN review_events e ON e.id = h.ref"
		 " WHERE h.kind = 'event' AND h.record_id = ?1 ORDER BY 3",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (walk_row(st, NULL, 7, 9, cb, arg) != 0) {
			sqlite3_finalize(st);
			return FS_ERR_CANCELLED;
		}
	}
	err = rc == SQLITE_DONE ? FS_OK
				: store_sqlite_err(sqlite3_db_handle(st), rc, "reading a history");
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_device_info(struct store *store, const char *hlc_device, char ret_name[65],
    char **ret_keys)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	*ret_keys = NULL;
	ret_name[0] = '\0';
	if ((err = store_sqlite_prepare(store,
		 "SELECT coalesce((SELECT name FROM devices WHERE hlc_device = ?1),"
		 " CASE WHEN ?1 = (SELECT value FROM server_meta WHERE key = 'hlc_device')"
		 " THEN 'headquarters' END, ''),"
		 " coalesce((SELECT group_concat(key, ',') FROM device_keys WHERE device = ?1), '')",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, hlc_device, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(ret_name, 65, "%s", store_sqlite_text(st, 0));
		if ((*ret_keys = strdup(store_sqlite_text(st, 1))) == NULL) {
			sqlite3_finalize(st);
			return FS_ERR_NOMEM;
		}
		rc = SQLITE_DONE;
	}
	err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(sqlite3_db_handle(st), rc, "device");
	sqlite3_finalize(st);
	return err;
}
