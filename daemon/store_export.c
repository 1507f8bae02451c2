/*
 * store_export.c -- SQLite backend of the export cursor of store_review.h.
 *
 * An export may stream 100 000 records over minutes while the daemon goes
 * on serving.  Its rows are read by a response callback on the libmicro-
 * httpd worker thread, between that thread's other requests, so the cursor
 * cannot use the thread's own connection: an open statement there would pin
 * that connection to an old snapshot and break the next push it serves.
 * The cursor therefore opens its own read-only connection and one read
 * transaction, so the whole export is one consistent snapshot (WAL lets the
 * writers go on meanwhile).  Only one record and its fields are in memory
 * at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_review.h"
#include "store_review_sqlite.h"
#include "store_sqlite_internal.h"

struct store_export {
	struct store_base base; /* first: store.c dispatches through it */
	sqlite3 *db;
	sqlite3_stmt *rows;
	sqlite3_stmt *fields;
};

fs_err
sqlite_export_open(struct store *store, const struct review_filter *f, struct store_export **ret_x)
{
	char where[4096], sql[4608];
	struct store_export *x;
	const char *path;
	sqlite3 *main_db;
	fs_err err;
	int rc;

	if (f->form == NULL || store_review_where(f, where, sizeof(where)) != 0)
		return FS_ERR_INVALID;
	if ((main_db = store_sqlite_db(store)) == NULL)
		return FS_ERR_DB;
	if ((path = sqlite3_db_filename(main_db, "main")) == NULL || path[0] == '\0')
		return FS_ERR_DB;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return FS_ERR_NOMEM;
	x->base.ops = &store_sqlite_ops;
	rc = sqlite3_open_v2(path, &x->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = store_sqlite_err(x->db, rc, "export connection");
		goto fail;
	}
	sqlite3_busy_timeout(x->db, 5000);
	if ((err = store_sqlite_exec(x->db, "BEGIN")) != FS_OK)
		goto fail;
	snprintf(sql, sizeof(sql),
	    "SELECT " STORE_REVIEW_COLUMNS " FROM records r%s ORDER BY r.updated_at, r.id", where);
	if ((rc = sqlite3_prepare_v2(x->db, sql, -1, &x->rows, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(x->db,
	         "SELECT name, value, stamp, '', '', '' FROM fields WHERE record_id = ?1", -1,
	         &x->fields, NULL)) != SQLITE_OK) {
		err = store_sqlite_err(x->db, rc, "export query");
		goto fail;
	}
	store_review_bind(x->rows, f);
	*ret_x = x;
	return FS_OK;
fail:
	store_export_close(x);
	return err;
}

fs_err
sqlite_export_next(struct store_export *x, struct review_record *ret_r, bool *ret_done)
{
	int rc = sqlite3_step(x->rows);

	if (rc == SQLITE_ROW) {
		store_review_row(x->rows, ret_r);
		*ret_done = false;
		return FS_OK;
	}
	if (rc == SQLITE_DONE) {
		*ret_done = true;
		return FS_OK;
	}
	return store_sqlite_err(x->db, rc, "export rows");
}

fs_err
sqlite_export_fields(struct store_export *x, const char *id, review_value_cb cb, void *arg)
{
	struct review_value v = {.device_id = "", .device_name = "", .created_at = ""};
	fs_err err = FS_OK;
	int rc;

	sqlite3_reset(x->fields);
	sqlite3_bind_text(x->fields, 1, id, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(x->fields)) == SQLITE_ROW) {
		v.field = store_sqlite_text(x->fields, 0);
		v.value = (const char *)sqlite3_column_text(x->fields, 1);
		v.stamp = store_sqlite_text(x->fields, 2);
		if (cb(arg, &v) != 0) {
			err = FS_ERR_NOMEM;
			break;
		}
	}
	if (err == FS_OK && rc != SQLITE_DONE)
		err = store_sqlite_err(x->db, rc, "export fields");
	sqlite3_reset(x->fields);
	return err;
}

void
sqlite_export_close(struct store_export *x)
{
	if (x == NULL)
		return;
	sqlite3_finalize(x->rows);
	sqlite3_finalize(x->fields);
	if (x->db != NULL && !sqlite3_get_autocommit(x->db))
		sqlite3_exec(x->db, "COMMIT", NULL, NULL, NULL);
	if (x->db != NULL && sqlite3_close(x->db) != SQLITE_OK)
		log_warnx("Export connection still busy at close, ignoring");
	free(x);
}
