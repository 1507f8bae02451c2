/*
 * store_sqlite_internal.h -- what the SQLite backend shares with the rest
 * of the SQLite-specific daemon code (store_records.c, written by the sync
 * side).  Nothing outside store_*.c and sync code should include this.
 *
 * Connections and threads: SQLite handles are never shared between threads.
 * The store keeps one connection per thread, opened lazily the first time a
 * thread calls store_sqlite_db() and kept in thread-specific data, so each
 * libmicrohttpd worker thread ends up with exactly one connection, reused
 * for every request it serves.  A connection is closed when its thread exits
 * (thread-specific data destructor) or by store_close(), whichever comes
 * first.  Connections are opened with SQLITE_OPEN_NOMUTEX, which is safe
 * because each is confined to its thread.  Every connection has
 * busy_timeout 5000 ms, foreign_keys on and synchronous=FULL; the database
 * is in WAL mode, so readers never block the (single) writer.
 *
 * Writers should start their transaction with "BEGIN IMMEDIATE" so that a
 * lock conflict shows up at BEGIN (and is retried by the busy timeout)
 * rather than as SQLITE_BUSY in the middle of a transaction.
 */
#ifndef FS_DAEMON_STORE_SQLITE_INTERNAL_H
#define FS_DAEMON_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "fieldsync.h"

struct store;

/* SQL expression for the current time as ISO 8601 UTC with milliseconds. */
#define STORE_SQLITE_NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

/*
 * The calling thread's connection to the store, opened on first use.
 * Borrowed: do not close it, do not pass it to another thread.  NULL if it
 * could not be opened (already logged).
 */
sqlite3 *store_sqlite_db(struct store *store);

/*
 * Maps an SQLite result code to fs_err, logging the connection's message
 * (which names tables and columns, never values) for real failures:
 * BUSY/LOCKED -> FS_ERR_BUSY, NOMEM -> FS_ERR_NOMEM, FULL -> FS_ERR_FULL,
 * CORRUPT/NOTADB -> FS_ERR_CORRUPT, CONSTRAINT -> FS_ERR_EXISTS, anything
 * else -> FS_ERR_DB.  what names the operation for the log line.
 */
fs_err store_sqlite_err(sqlite3 *db, int rc, const char *what);

/* Runs SQL without results (BEGIN, COMMIT, ...).  Maps errors as above. */
fs_err store_sqlite_exec(sqlite3 *db, const char *sql);

/*
 * Prepares sql on the calling thread's connection.  On success the caller
 * owns *ret_st and finalizes it.
 */
fs_err store_sqlite_prepare(struct store *store, const char *sql, sqlite3_stmt **ret_st);

/* Steps a statement that returns no rows, then finalizes it. */
fs_err store_sqlite_step_done(sqlite3_stmt *st, const char *what);

/*
 * The store's writer lock, held by one push (or resolution) at a time.
 * SQLite has one writer at a time; worker threads that wait for it in
 * SQLite's busy handler sleep in steps of up to 100 ms and leave the lock
 * idle in between, while waiting here hands the store over the moment the
 * previous writer is done.  The wait is bounded (wait_s, on a monotonic
 * clock): FS_ERR_BUSY after it.  Per store, not per process: two stores
 * in one process do not wait for each other.
 */
fs_err store_sqlite_writer_take(struct store *store, int wait_s);
void store_sqlite_writer_release(struct store *store);

/* Column i as text; "" for NULL.  Valid until the next step or finalize. */
const char *store_sqlite_text(sqlite3_stmt *st, int i);

#endif /* FS_DAEMON_STORE_SQLITE_INTERNAL_H */
