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

/*
 * The SQLite backend's entries of struct store_ops (store_backend.h), by
 * the names store.c dispatches to.
 */
#include "store_backend.h"

void sqlite_close(struct store *store);
fs_err sqlite_device_add(struct store *store, const char *name, const char *role, const char *team,
    const char *review_teams, const unsigned char token_hash[AUTH_HASH_LEN], int64_t *ret_rowid);
fs_err sqlite_device_set_teams(struct store *store, const char *name, const char *review_teams);
fs_err sqlite_device_list(struct store *store, store_device_cb cb, void *arg);
fs_err sqlite_device_revoke(struct store *store, const char *name, bool wipe);
fs_err sqlite_device_wipe_done(struct store *store, int64_t rowid);
fs_err sqlite_open_conflicts(struct store *store, int64_t *ret_n);
fs_err sqlite_device_by_token_hash(struct store *store,
    const unsigned char token_hash[AUTH_HASH_LEN], struct store_token_row *ret);
fs_err sqlite_device_bind_hlc(struct store *store, int64_t rowid, const char *hlc_device);
fs_err sqlite_device_last_hlc(struct store *store, int64_t rowid, char ret_hlc[HLC_TEXT_LEN + 1]);
fs_err sqlite_form_insert(struct store *store, const char *id, int64_t version,
    const char *canonical, bool *ret_new);
fs_err sqlite_form_definition(struct store *store, const char *id, int64_t version,
    char **ret_json);
fs_err sqlite_form_list(struct store *store, store_form_cb cb, void *arg);
fs_err sqlite_audit(struct store *store, const char *actor, const char *action,
    const char *record_id, const char *detail);
fs_err sqlite_push_begin(struct store *store, struct store_push **ret_push);
fs_err sqlite_batch_answer(struct store *store, const char *device, const char *batch,
    char **ret_answer);
fs_err sqlite_push_record_head(struct store_push *push, const char *record_id,
    struct store_record_head *ret);
fs_err sqlite_push_record_values(struct store_push *push, const char *record_id, cJSON **ret);
fs_err sqlite_push_change_insert(struct store_push *push, const struct change *ch, const char *body,
    const char *team, const char *device, const char *batch, int64_t *ret_seq, bool *ret_dup);
fs_err sqlite_push_record_merge(struct store_push *push, const struct form *form,
    const struct change *ch, const char *team, const char *author, int64_t seq,
    struct merge_result *res, int *ret_open);
fs_err sqlite_push_device_seen(struct store_push *push, const char *device, const char *stamp);
fs_err sqlite_push_batch_save(struct store_push *push, const char *device, const char *batch,
    const char *answer);
fs_err sqlite_push_record_info(struct store_push *push, const char *record_id, char ret_form[65],
    int64_t *ret_version, char ret_team[65]);
fs_err sqlite_push_delete_resolution(struct store_push *push, const char *record_id, bool keep,
    cJSON **ret_base, char ret_max[HLC_TEXT_LEN + 1]);
fs_err sqlite_push_field_heads(struct store_push *push, const char *record_id, const char *field,
    struct store_head *heads, size_t max, size_t *ret_n, char ret_max[HLC_TEXT_LEN + 1]);
fs_err sqlite_push_server_stamp(struct store_push *push, const char *after,
    char ret_stamp[HLC_TEXT_LEN + 1]);
fs_err sqlite_push_commit(struct store_push *push);
void sqlite_push_abort(struct store_push *push);
fs_err sqlite_max_seq(struct store *store, int64_t *ret_seq);
fs_err sqlite_forms_version(struct store *store, int64_t *ret_version);
fs_err sqlite_change_hlc(struct store *store, const char *team, int64_t seq,
    char ret_hlc[HLC_TEXT_LEN + 1]);
fs_err sqlite_pull(struct store *store, const struct store_pull_query *q, store_change_cb cb,
    void *arg, struct store_pull_page *ret_page);
fs_err sqlite_push_event(struct store_push *push, const char *id, const char *kind,
    const char *status, const char *field,
    const char *stamp, const char *note, const char *actor);
fs_err sqlite_push_audit(struct store_push *push, const char *actor, const char *action,
    const char *record_id, const char *detail);
fs_err sqlite_push_server_device(struct store_push *push, char ret_id[HLC_DEVICE_LEN + 1]);
fs_err sqlite_snapshot(struct store *store, const struct store_snapshot_query *q,
    store_snapshot_cb cb, void *arg, struct store_snapshot_page *ret_page);
fs_err sqlite_review_list(struct store *store, const struct review_filter *f, int64_t limit,
    int64_t offset, review_record_cb cb, void *arg, int64_t *ret_total);
fs_err sqlite_review_get(struct store *store, const char *id, review_record_cb cb, void *arg);
fs_err sqlite_review_fields(struct store *store, const char *id, review_value_cb cb, void *arg);
fs_err sqlite_review_delete_conflict(struct store *store, const char *id, review_value_cb cb,
    void *arg);
fs_err sqlite_review_conflicts(struct store *store, const char *id, review_value_cb cb, void *arg);
fs_err sqlite_review_history(struct store *store, const char *id, review_change_cb cb, void *arg);
fs_err sqlite_review_events(struct store *store, const char *id, review_event_cb cb, void *arg);
fs_err sqlite_review_assign(struct store *store, const char *id, const char *to,
    const char *note, const char *actor);
fs_err sqlite_review_set_status(struct store *store, const char *id, const char *status,
    const char *note, const char *actor);
fs_err sqlite_audit_list(struct store *store, const char *since, review_audit_cb cb, void *arg);
fs_err sqlite_export_open(struct store *store, const struct review_filter *f,
    struct store_export **ret_x);
fs_err sqlite_export_next(struct store_export *x, struct review_record *ret_r, bool *ret_done);
fs_err sqlite_export_fields(struct store_export *x, const char *id, review_value_cb cb, void *arg);
void sqlite_export_close(struct store_export *x);

/* store_records.c: a push's connection and its transaction time. */
sqlite3 *sqlite_push_conn(struct store_push *push);
const char *sqlite_push_now(struct store_push *push);
/*
 * The push's cached statements for the custody code (prepared once per
 * push, reset and unbound on each call; never finalize them): the stored
 * body of a change, and the history append of a change.
 */
fs_err sqlite_push_stmt_body(struct store_push *push, const char *sql, sqlite3_stmt **ret);
fs_err sqlite_push_stmt_history(struct store_push *push, const char *sql, sqlite3_stmt **ret);

/* store_sqlite_custody.c */
fs_err sqlite_push_custody(struct store_push *push, const char *device,
    struct store_custody *ret);
fs_err sqlite_push_custody_save(struct store_push *push, const char *device,
    const struct store_custody *c);
fs_err sqlite_push_change_body(struct store_push *push, const char *record_id,
    const char *hlc, char **ret_body);
fs_err sqlite_push_chain_refused(struct store_push *push, const char *device,
    const struct change *ch, const char *link, const char *reason);
fs_err sqlite_chain_walk(struct store *store, store_chain_cb cb, void *arg);
fs_err sqlite_device_key_reset(struct store *store, const char *name);
/* store_sqlite_seal.c */
fs_err sqlite_seal_key_add(struct store *store, const char *id, const char *public_hex,
    const char *locked_json);
fs_err sqlite_seal_keys(struct store *store, char **ret_json);

/* store_sqlite_history.c: the audit trail's and records' hash chains. */
int sqlite_history_register(sqlite3 *db);
fs_err sqlite_history_change(sqlite3 *db, const char *record_id, int64_t seq);
fs_err sqlite_history_push_change(struct store_push *push, const char *record_id, int64_t seq);
fs_err sqlite_history_event(sqlite3 *db, int64_t event_id);
fs_err sqlite_history_migrate(sqlite3 *db);

/* Schema 7 -> 8: records with a delete merged again under merge rule 2. */
fs_err sqlite_rule2_migrate(sqlite3 *db);
fs_err sqlite_history_walk(struct store *store, store_history_cb cb, void *arg);
fs_err sqlite_record_history(struct store *store, const char *record_id, store_history_cb cb,
    void *arg);
fs_err sqlite_device_info(struct store *store, const char *hlc_device, char ret_name[65],
    char **ret_keys);

/* An audit row appended to the audit chain (binds ?1 actor ?2 action ?3 record ?4 detail). */
#define SQLITE_AUDIT_INSERT \
	"INSERT INTO audit(at, actor, action, record_id, detail, prev, hash)" \
	" SELECT p.t, ?1, ?2, ?3, ?4, p.h, fs_chain(p.h, 'audit', p.t, ?1, ?2, ?3, ?4)" \
	" FROM (SELECT " STORE_SQLITE_NOW " AS t, coalesce((SELECT hash FROM audit" \
	" ORDER BY id DESC LIMIT 1), zeroblob(32)) AS h) p"

fs_err sqlite_agency_save(struct store *store, const char *name, const char *title,
    const char *teams, bool create);
fs_err sqlite_agency_list(struct store *store, store_agency_cb cb, void *arg);
fs_err sqlite_push_referral_save(struct store_push *push, const struct store_referral *r);
fs_err sqlite_referral_list(struct store *store, const char *record_id, store_referral_cb cb,
    void *arg);

#endif /* FS_DAEMON_STORE_SQLITE_INTERNAL_H */
