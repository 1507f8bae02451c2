/*
 * store_sqlite_agency.c -- agencies and the referral index, SQLite
 * backend (store_agency.h).  The referral index row written inside a push
 * is in store_records.c, which owns the push's connection.
 */
#include <string.h>

#include "store_sqlite_internal.h"

fs_err
sqlite_agency_save(
    struct store *store, const char *name, const char *title, const char *teams, bool create)
{
	sqlite3_stmt *st;
	fs_err err;

	err = store_sqlite_prepare(store,
	    create ? "INSERT INTO agencies(name, title, teams, created_at)"
	             " VALUES(?1, ?2, ?3, " STORE_SQLITE_NOW ")"
	           : "UPDATE agencies SET title = ?2, teams = ?3 WHERE name = ?1",
	    &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, title, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, teams, -1, SQLITE_STATIC);
	if ((err = store_sqlite_step_done(st, "agency save")) != FS_OK)
		return err;
	if (!create && sqlite3_changes(store_sqlite_db(store)) == 0)
		return FS_ERR_NOTFOUND;
	return FS_OK;
}

fs_err
sqlite_agency_list(struct store *store, store_agency_cb cb, void *arg)
{
	struct store_agency a;
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	err = store_sqlite_prepare(
	    store, "SELECT name, title, teams, created_at FROM agencies ORDER BY name", &st);
	if (err != FS_OK)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.name = store_sqlite_text(st, 0);
		a.title = store_sqlite_text(st, 1);
		a.teams = store_sqlite_text(st, 2);
		a.created_at = store_sqlite_text(st, 3);
		if (cb(arg, &a) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(sqlite3_db_handle(st), rc, "agency list");
	sqlite3_finalize(st);
	return err;
}

static const char *
text_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : store_sqlite_text(st, i);
}

fs_err
sqlite_referral_list(struct store *store, const char *record_id, store_referral_cb cb, void *arg)
{
	struct store_referral r;
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	err = store_sqlite_prepare(store,
	    "SELECT id, record_id, agency, status, case_number, owner, due, created_by, created_at,"
	    " updated_at FROM referrals WHERE ?1 IS NULL OR record_id = ?1 ORDER BY created_at, id",
	    &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.id = store_sqlite_text(st, 0);
		r.record_id = store_sqlite_text(st, 1);
		r.agency = store_sqlite_text(st, 2);
		r.status = store_sqlite_text(st, 3);
		r.case_number = store_sqlite_text(st, 4);
		r.owner = text_or_null(st, 5);
		r.due = text_or_null(st, 6);
		r.created_by = store_sqlite_text(st, 7);
		r.created_at = store_sqlite_text(st, 8);
		r.updated_at = store_sqlite_text(st, 9);
		if (cb(arg, &r) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(sqlite3_db_handle(st), rc, "referral list");
	sqlite3_finalize(st);
	return err;
}
