/*
 * store_review_sqlite.h -- the SQL of a review filter, shared by the
 * record list (store_review.c) and the export cursor (store_export.c).
 * Private to the SQLite backend.
 */
#ifndef FS_DAEMON_STORE_REVIEW_SQLITE_H
#define FS_DAEMON_STORE_REVIEW_SQLITE_H

#include <sqlite3.h>
#include <stddef.h>

#include "store_review.h"

/* Columns of struct review_record, selected from records r, in order. */
#define STORE_REVIEW_COLUMNS                                                                       \
	"r.id, r.form, r.form_version, r.team, r.created_by, r.created_at, r.updated_at,"          \
	" r.review_status, r.open_conflicts, r.deleted,"                                            \
	/* merge rule 2's record-level conflict: alive, a delete not kept */                    \
	" (NOT r.deleted AND r.open_conflicts > 0 AND EXISTS (SELECT 1 FROM"                       \
	" json_each(r.state, '$.d') dd WHERE dd.value NOT IN (SELECT value FROM"                  \
	" json_each(r.state, '$.dk')))), r.assigned_to"

/* The name of the device that authored stamps of device id column COL. */
#define STORE_REVIEW_DEVICE_NAME(d, col)                                                           \
	"coalesce(" d ".name, CASE WHEN " col " = (SELECT value FROM server_meta"                  \
	" WHERE key = 'hlc_device') THEN 'fieldsyncd' END, '')"

/*
 * Writes " WHERE ..." for f over `records r` into buf, with named
 * parameters.  Returns 0, or -1 if buf is too small.
 */
int store_review_where(const struct review_filter *f, char *buf, size_t len);

/* The ORDER BY clause of a list (f->sort); its parameter is bound by store_review_bind(). */
const char *store_review_order(const struct review_filter *f);

/* Binds the named parameters of store_review_where() on st. */
void store_review_bind(sqlite3_stmt *st, const struct review_filter *f);

/* Fills r from the STORE_REVIEW_COLUMNS at column 0 of st. */
void store_review_row(sqlite3_stmt *st, struct review_record *r);

#endif /* FS_DAEMON_STORE_REVIEW_SQLITE_H */
