/*
 * sqlite_util.h -- one-value queries on a raw SQLite connection, shared by
 * the store (store_sqlite.c, store_records.c) and backup/restore
 * (backup.c), which works on store files it opens itself.
 */
#ifndef FS_DAEMON_SQLITE_UTIL_H
#define FS_DAEMON_SQLITE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/*
 * The first column of the first row of sql as an integer.  SQLITE_OK, the
 * statement's error, or SQLITE_ERROR when there is no row.
 */
int sqlite_query_int(sqlite3 *db, const char *sql, int64_t *ret);

/* The same as text into buf (len bytes; "" for no row or NULL).  SQLITE_OK or the error. */
int sqlite_query_text(sqlite3 *db, const char *sql, char *buf, size_t len);

#endif /* FS_DAEMON_SQLITE_UTIL_H */
