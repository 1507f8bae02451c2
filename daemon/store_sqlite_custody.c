/*
 * store_sqlite_custody.c -- the SQLite backend's part of the chain of
 * custody (store_records.h, "Chain of custody"): devices' keys and chain
 * heads, the links of refused changes, and the walk `fieldsyncd verify`
 * makes.  Stores and reads; the checks are push_custody.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody.h"
#include "store_sqlite_internal.h"

static fs_err
prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? FS_OK : store_sqlite_err(db, rc, "preparing statement");
}

fs_err
sqlite_push_custody(struct store_push *push, const char *device, struct store_custody *ret)
{
	sqlite3 *db = sqlite_push_conn(push);
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->head, custody_genesis, sizeof(ret->head));
	/* Headquarters' own chain (resolutions) is kept in server_meta. */
	if ((err = prep(db, "SELECT sign_key, chain_head, chain_hlc FROM devices"
			    " WHERE hlc_device = ?1 UNION ALL SELECT"
			    " (SELECT value FROM server_meta WHERE key = 'sign_pk'),"
			    " (SELECT value FROM server_meta WHERE key = 'chain_head'),"
			    " (SELECT value FROM server_meta WHERE key = 'chain_hlc')"
			    " WHERE ?1 = (SELECT value FROM server_meta WHERE key = 'hlc_device')",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = store_sqlite_text(st, 0), *h = store_sqlite_text(st, 1);

		if (custody_is_hex(k, CUSTODY_KEY_HEX))
			memcpy(ret->key, k, CUSTODY_KEY_HEX + 1);
		if (custody_is_hex(h, CUSTODY_LINK_HEX))
			memcpy(ret->head, h, CUSTODY_LINK_HEX + 1);
		snprintf(ret->hlc, sizeof(ret->hlc), "%s", store_sqlite_text(st, 2));
		rc = SQLITE_DONE;
	}
	err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(db, rc, "reading a device's chain");
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_push_custody_save(struct store_push *push, const char *device,
    const struct store_custody *c)
{
	sqlite3 *db = sqlite_push_conn(push);
	sqlite3_stmt *st;
	fs_err err;

	if ((err = prep(db, "UPDATE devices SET sign_key = coalesce(sign_key, ?2),"
			    " chain_head = ?3, chain_hlc = nullif(?4, '') WHERE hlc_device = ?1",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->head, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->hlc, -1, SQLITE_STATIC);
	if ((err = store_sqlite_step_done(st, "saving a device's chain")) != FS_OK)
		return err;
	if (sqlite3_changes(db) == 0) { /* headquarters: server_meta */
		if ((err = prep(db, "INSERT OR REPLACE INTO server_meta(key, value)"
				    " SELECT 'sign_pk', ?2 UNION ALL SELECT 'chain_head', ?3"
				    " UNION ALL SELECT 'chain_hlc', ?4"
				    " WHERE ?1 = (SELECT value FROM server_meta WHERE key = 'hlc_device')",
			 &st)) != FS_OK)
			return err;
		sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->head, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, c->hlc, -1, SQLITE_STATIC);
		if ((err = store_sqlite_step_done(st, "saving headquarters' chain")) != FS_OK)
			return err;
	}
	if (!c->key_new)
		return FS_OK;
	if ((err = prep(db, "INSERT OR IGNORE INTO device_keys(device, key, at) VALUES(?, ?, ?)",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sqlite_push_now(push), -1, SQLITE_STATIC);
	return store_sqlite_step_done(st, "registering a device key");
}

fs_err
sqlite_push_change_body(struct store_push *push, const char *record_id, const char *hlc,
    char **ret_body)
{
	sqlite3 *db = sqlite_push_conn(push);
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	*ret_body = NULL;
	if ((err = sqlite_push_stmt_body(push,
		 "SELECT body FROM changes WHERE record_id = ? AND hlc = ?", &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hlc, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((*ret_body = strdup(store_sqlite_text(st, 0))) == NULL) {
			sqlite3_reset(st);
			return FS_ERR_NOMEM;
		}
		rc = SQLITE_DONE;
	}
	err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(db, rc, "reading a change");
	sqlite3_reset(st);
	return err;
}

fs_err
sqlite_push_chain_refused(struct store_push *push, const char *device, const struct change *ch,
    const char *link, const char *reason)
{
	sqlite3 *db = sqlite_push_conn(push);
	sqlite3_stmt *st;
	fs_err err;

	if ((err = prep(db, "INSERT INTO chain_refused(device, hlc, record_id, link, prev, reason, at)"
			    " VALUES(?, ?, ?, ?, ?, ?, ?)",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->hlc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, link, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ch->prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, sqlite_push_now(push), -1, SQLITE_STATIC);
	return store_sqlite_step_done(st, "keeping a refused link");
}

fs_err
sqlite_chain_walk(struct store *store, store_chain_cb cb, void *arg)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	/* One read transaction: the walk sees one state of the store. */
	if ((err = store_sqlite_prepare(store,
		 "WITH k(device, keys) AS (SELECT device, group_concat(key, ',') FROM device_keys"
		 " GROUP BY device)"
		 " SELECT d.hlc_device, d.name, coalesce(k.keys, ''), c.seq, c.hlc, c.body,"
		 " NULL, NULL, d.chain_head FROM changes c JOIN devices d ON d.hlc_device = c.device"
		 " LEFT JOIN k ON k.device = d.hlc_device"
		 " UNION ALL SELECT d.hlc_device, d.name, coalesce(k.keys, ''), 0, r.hlc,"
		 " NULL, r.link, r.prev, d.chain_head FROM chain_refused r JOIN devices d"
		 " ON d.hlc_device = r.device LEFT JOIN k ON k.device = d.hlc_device"
		 /* Headquarters' resolutions: the server's own chain (server_key.h). */
		 " UNION ALL SELECT c.device, 'headquarters', coalesce(k.keys, ''), c.seq, c.hlc,"
		 " c.body, NULL, NULL, (SELECT value FROM server_meta WHERE key = 'chain_head')"
		 " FROM changes c LEFT JOIN k ON k.device = c.device"
		 " WHERE c.device = (SELECT value FROM server_meta WHERE key = 'hlc_device')"
		 " ORDER BY 1, 5, 4",
		 &st)) != FS_OK)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_chain_row row = {
			.device = store_sqlite_text(st, 0),
			.name = store_sqlite_text(st, 1),
			.keys = store_sqlite_text(st, 2),
			.head = store_sqlite_text(st, 8),
			.seq = sqlite3_column_int64(st, 3),
			.hlc = store_sqlite_text(st, 4),
			.body = sqlite3_column_type(st, 5) == SQLITE_NULL ? NULL
									  : store_sqlite_text(st, 5),
			.link = sqlite3_column_type(st, 6) == SQLITE_NULL ? NULL
									  : store_sqlite_text(st, 6),
			.prev = sqlite3_column_type(st, 7) == SQLITE_NULL ? NULL
									  : store_sqlite_text(st, 7),
		};
		if (cb(arg, &row) != 0) {
			sqlite3_finalize(st);
			return FS_ERR_CANCELLED;
		}
	}
	err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(sqlite3_db_handle(st), rc, "walking the chains");
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_device_key_reset(struct store *store, const char *name)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = store_sqlite_prepare(store,
		 "UPDATE devices SET sign_key = NULL, chain_head = NULL, chain_hlc = NULL"
		 " WHERE name = ?1",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((err = store_sqlite_step_done(st, "resetting a device key")) != FS_OK)
		return err;
	return sqlite3_changes(store_sqlite_db(store)) == 0 ? FS_ERR_NOTFOUND : FS_OK;
}
