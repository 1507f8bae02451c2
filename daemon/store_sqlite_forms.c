/*
 * store_sqlite_forms.c -- published form definitions in the SQLite store.
 * See store.h.
 *
 * The backend stores and returns definition texts only: store_forms.c
 * checks and parses them (form_load()), above every backend.  Published
 * versions are never changed or removed: records name the version they
 * were made with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "log.h"
#include "store.h"
#include "store_sqlite_internal.h"

fs_err
sqlite_form_insert(struct store *store, const char *id, int64_t version, const char *canonical,
    bool *ret_new)
{
	sqlite3_stmt *st;
	fs_err e;
	int rc;

	e = store_sqlite_prepare(store,
	    "INSERT INTO forms(id, version, definition, published_at)"
	    " VALUES(?1, ?2, ?3, " STORE_SQLITE_NOW ") ON CONFLICT(id, version) DO NOTHING",
	    &st);
	if (e != FS_OK)
		return e;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_text(st, 3, canonical, -1, SQLITE_STATIC);
	if ((e = store_sqlite_step_done(st, "form publish")) != FS_OK)
		return e;
	*ret_new = sqlite3_changes(store_sqlite_db(store)) != 0;
	if (*ret_new)
		return FS_OK;
	/* Already published: only an identical definition is accepted. */
	e = store_sqlite_prepare(store, "SELECT definition FROM forms WHERE id = ?1 AND version = ?2",
	    &st);
	if (e != FS_OK)
		return e;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		e = strcmp(store_sqlite_text(st, 0), canonical) == 0 ? FS_OK : FS_ERR_EXISTS;
	else
		e = store_sqlite_err(sqlite3_db_handle(st), rc, "form publish");
	sqlite3_finalize(st);
	return e;
}

fs_err
sqlite_form_list(struct store *store, store_form_cb cb, void *arg)
{
	struct store_form f;
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	err = store_sqlite_prepare(store,
	    "SELECT id, version, definition, published_at FROM forms ORDER BY id, version", &st);
	if (err != FS_OK)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		f.id = store_sqlite_text(st, 0);
		f.version = sqlite3_column_int64(st, 1);
		f.definition = store_sqlite_text(st, 2);
		f.published_at = store_sqlite_text(st, 3);
		if (cb(arg, &f) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(sqlite3_db_handle(st), rc, "form list");
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_form_definition(struct store *store, const char *id, int64_t version, char **ret_json)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	err = store_sqlite_prepare(
	    store, "SELECT definition FROM forms WHERE id = ?1 AND version = ?2", &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = (*ret_json = strdup(store_sqlite_text(st, 0))) != NULL ? FS_OK : FS_ERR_NOMEM;
	else
		err = rc == SQLITE_DONE ? FS_ERR_NOTFOUND
		                        : store_sqlite_err(sqlite3_db_handle(st), rc, "form get");
	sqlite3_finalize(st);
	return err;
}
