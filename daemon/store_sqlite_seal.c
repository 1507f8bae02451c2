/*
 * store_sqlite_seal.c -- headquarters' sealing keys in the SQLite store
 * (issue 17): each key pair's public key and its secret key locked under
 * the passphrase (common/seal.h).  The passphrase is never stored, so a
 * copied database or backup holds nothing that opens a sealed value.
 */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_internal.h"

fs_err
sqlite_seal_key_add(struct store *store, const char *id, const char *public_hex,
    const char *locked_json)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = store_sqlite_prepare(store,
		 "INSERT INTO seal_keys(id, public, locked, created_at)"
		 " VALUES(?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, public_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, locked_json, -1, SQLITE_STATIC);
	return store_sqlite_step_done(st, "adding a sealing key");
}

fs_err
sqlite_seal_keys(struct store *store, char **ret_json)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	*ret_json = NULL;
	if ((err = store_sqlite_prepare(store,
		 "SELECT coalesce(json_group_array(json_object('id', id, 'public', public,"
		 " 'locked', json(locked), 'created_at', created_at)), '[]')"
		 " FROM (SELECT * FROM seal_keys ORDER BY created_at DESC, id)",
		 &st)) != FS_OK)
		return err;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((*ret_json = strdup(store_sqlite_text(st, 0))) == NULL) {
			sqlite3_finalize(st);
			return FS_ERR_NOMEM;
		}
		rc = SQLITE_DONE;
	}
	err = rc == SQLITE_DONE ? FS_OK
				: store_sqlite_err(sqlite3_db_handle(st), rc, "reading sealing keys");
	sqlite3_finalize(st);
	return err;
}
