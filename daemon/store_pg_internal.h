/*
 * store_pg_internal.h -- what the PostgreSQL backend's files share
 * (issue 18).  Nothing outside store_pg*.c includes this.
 *
 * Connections: one libpq connection per thread that uses the store,
 * opened on first use and kept in thread-specific data (as the SQLite
 * backend does), so a libmicrohttpd worker holds one connection for its
 * life.  A connection found broken (the server restarted, a fail-over) is
 * reset once before the next statement.
 *
 * Several daemons, one database: nothing here lives only in a process.
 * Every write that appends to the log or to a hash chain (a push, a
 * resolution, an audit entry, a review event) runs inside a transaction
 * that first takes the store's advisory transaction lock
 * (PG_WRITE_LOCK), so writers of every daemon take turns exactly as the
 * threads of one daemon do with SQLite: sequence numbers are committed in
 * the order they are handed out (a pull cursor never skips a change that
 * commits later), the server clock (server_meta) is read and advanced by
 * one writer at a time, and a chain's last hash cannot be appended after
 * twice.  Readers take no lock.
 *
 * Parameters are sent as text, NULL for SQL NULL; int64 values are
 * formatted by the caller into a PG_I64 buffer.
 */
#ifndef FS_DAEMON_STORE_PG_INTERNAL_H
#define FS_DAEMON_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "fieldsync.h"
#include "store_backend.h"

/* The advisory lock of every writer (any 64-bit number; "fieldsyn" in ASCII). */
#define PG_WRITE_LOCK "7379617320707369"

/* A buffer for an int64 parameter. */
typedef char pg_i64buf[24];
const char *pg_i64(pg_i64buf buf, int64_t v);

/* The calling thread's connection (borrowed; NULL if it cannot be opened, logged). */
PGconn *store_pg_conn(struct store *store);

/* The store's connection string (borrowed), for connections of their own (export). */
const char *store_pg_conninfo(struct store *store);

/*
 * Runs sql with n text parameters.  On success *ret (if not NULL) holds
 * the result, which the caller PQclear()s; without ret the result is
 * dropped.  Errors are mapped by SQLSTATE: unique violation ->
 * FS_ERR_EXISTS, check violation -> FS_ERR_INVALID, serialization or
 * lock timeout -> FS_ERR_BUSY, disk full -> FS_ERR_FULL, a broken
 * connection -> FS_ERR_DB (reset before the next call), else FS_ERR_DB;
 * the server's primary message is logged (it names tables and
 * constraints; never its DETAIL, which may quote a row's values).
 */
fs_err pg_run(PGconn *c, const char *what, PGresult **ret, const char *sql, int n,
    const char *const *params);

/* As pg_run, through the connection's prepared statement name (prepared on first use). */
fs_err pg_run_prepared(PGconn *c, const char *name, const char *what, PGresult **ret,
    const char *sql, int n, const char *const *params);

/*
 * Sends sql without waiting for its answer (a write whose result nothing
 * reads), so the caller works on while PostgreSQL does: the next call on c
 * (pg_run, pg_exec, pg_send, ...) first waits for it, and returns its
 * error if it failed.  One statement in flight per connection.
 */
fs_err pg_send(PGconn *c, const char *what, const char *sql, int n, const char *const *params);
/* Waits for the statement in flight on c, if any; its error. */
fs_err pg_drain(PGconn *c);

/*
 * A failed result's primary message, for logs and operators: it names the
 * table or constraint.  Never PQresultErrorMessage(): PostgreSQL's DETAIL
 * may hold the failing row, whose values describe possible victims.
 */
const char *pg_message(const PGresult *r);

/* Runs sql, no parameters, no result (BEGIN, COMMIT, ...). */
fs_err pg_exec(PGconn *c, const char *sql);

/* BEGIN and the writer lock (see above); on failure nothing is left open. */
fs_err pg_write_begin(PGconn *c);
/* COMMIT, or ROLLBACK when err is not FS_OK; returns the first error. */
fs_err pg_write_end(PGconn *c, fs_err err);

/* Column text; "" for NULL.  Valid until PQclear(). */
const char *pg_text(const PGresult *r, int row, int col);
/* Column text; NULL for NULL. */
const char *pg_text_or_null(const PGresult *r, int row, int col);
int64_t pg_int(const PGresult *r, int row, int col);

/* Now as ISO 8601 UTC text with milliseconds (what every stored time looks like). */
void pg_now_text(char buf[32]);

/* Hex of n bytes into out (2n + 1); back into bytes (false if not n bytes of hex). */
void pg_hex(const unsigned char *in, size_t n, char *out);
bool pg_unhex(const char *in, unsigned char *out, size_t n);

/*
 * Appends to the audit trail's hash chain on c, inside the caller's write
 * transaction (pg_write_begin()); at is the entry's time.
 */
fs_err pg_audit_append(PGconn *c, const char *at, const char *actor, const char *action,
    const char *record_id, const char *detail);
/* Appends one entry to a record's history chain (kind "change" or "event"). */
fs_err pg_history_append(PGconn *c, const char *record_id, const char *kind, int64_t ref,
    int nitems, const char *const *items);
/* Inserts a review event and its history entry, in the caller's write transaction. */
fs_err pg_event_insert(PGconn *c, const char *at, const char *id, const char *kind,
    const char *status, const char *note, const char *field, const char *stamp,
    const char *actor);

/* A server_meta value into buf; FS_ERR_CORRUPT when missing. */
fs_err pg_meta_get(PGconn *c, const char *key, char *buf, size_t len);

/* Names of devices by HLC device id, loaded once per listing. */
struct pg_names {
	PGresult *r;
	char server[32];
};
fs_err pg_names_load(PGconn *c, struct pg_names *n);
const char *pg_names_find(const struct pg_names *n, const char *hlc_device);
void pg_names_free(struct pg_names *n);

/* The entries of struct store_ops, by file. */
/* store_pg.c */
void pg_close(struct store *store);
fs_err pg_device_add(struct store *store, const char *name, const char *role, const char *team,
    const char *review_teams, const unsigned char token_hash[AUTH_HASH_LEN], int64_t *ret_rowid);
fs_err pg_device_set_teams(struct store *store, const char *name, const char *review_teams);
fs_err pg_device_list(struct store *store, store_device_cb cb, void *arg);
fs_err pg_device_revoke(struct store *store, const char *name, bool wipe);
fs_err pg_device_wipe_done(struct store *store, int64_t rowid);
fs_err pg_device_by_token_hash(struct store *store, const unsigned char token_hash[AUTH_HASH_LEN],
    struct store_token_row *ret);
fs_err pg_device_bind_hlc(struct store *store, int64_t rowid, const char *hlc_device);
fs_err pg_device_last_hlc(struct store *store, int64_t rowid, char ret_hlc[HLC_TEXT_LEN + 1]);
fs_err pg_device_key_reset(struct store *store, const char *name);
fs_err pg_device_info(struct store *store, const char *hlc_device, char ret_name[65],
    char **ret_keys);
fs_err pg_form_insert(struct store *store, const char *id, int64_t version,
    const char *canonical, bool *ret_new);
fs_err pg_form_definition(struct store *store, const char *id, int64_t version, char **ret_json);
fs_err pg_form_list(struct store *store, store_form_cb cb, void *arg);
fs_err pg_audit(struct store *store, const char *actor, const char *action,
    const char *record_id, const char *detail);
fs_err pg_seal_key_add(struct store *store, const char *id, const char *public_hex,
    const char *locked_json);
fs_err pg_seal_keys(struct store *store, char **ret_json);
fs_err pg_max_seq(struct store *store, int64_t *ret_seq);
fs_err pg_open_conflicts(struct store *store, int64_t *ret_n);
fs_err pg_forms_version(struct store *store, int64_t *ret_version);

/* store_pg_push.c */
fs_err pg_push_begin(struct store *store, struct store_push **ret_push);
fs_err pg_batch_answer(struct store *store, const char *device, const char *batch,
    char **ret_answer);
fs_err pg_push_record_head(struct store_push *push, const char *record_id,
    struct store_record_head *ret);
fs_err pg_push_record_values(struct store_push *push, const char *record_id, cJSON **ret);
fs_err pg_push_prefetch(struct store_push *push, const char *const *ids, const char *const *hlcs,
    size_t n);
fs_err pg_push_change_insert(struct store_push *push, const struct change *ch, const char *body,
    const char *team, const char *device, const char *batch, int64_t *ret_seq, bool *ret_dup);
fs_err pg_push_record_merge(struct store_push *push, const struct form *form,
    const struct change *ch, const char *team, const char *author, int64_t seq,
    struct merge_result *res, int *ret_open);
fs_err pg_push_device_seen(struct store_push *push, const char *device, const char *stamp);
fs_err pg_push_batch_save(struct store_push *push, const char *device, const char *batch,
    const char *answer);
fs_err pg_push_record_info(struct store_push *push, const char *record_id, char ret_form[65],
    int64_t *ret_version, char ret_team[65]);
fs_err pg_push_field_heads(struct store_push *push, const char *record_id, const char *field,
    struct store_head *heads, size_t max, size_t *ret_n, char ret_max[HLC_TEXT_LEN + 1]);
fs_err pg_push_delete_resolution(struct store_push *push, const char *record_id, bool keep,
    cJSON **ret_base, char ret_max[HLC_TEXT_LEN + 1]);
fs_err pg_push_server_stamp(struct store_push *push, const char *after,
    char ret_stamp[HLC_TEXT_LEN + 1]);
fs_err pg_push_commit(struct store_push *push);
void pg_push_abort(struct store_push *push);
fs_err pg_push_event(struct store_push *push, const char *id, const char *kind,
    const char *status, const char *field,
    const char *stamp, const char *note, const char *actor);
fs_err pg_push_audit(struct store_push *push, const char *actor, const char *action,
    const char *record_id, const char *detail);
fs_err pg_push_server_device(struct store_push *push, char ret_id[HLC_DEVICE_LEN + 1]);
fs_err pg_push_custody(struct store_push *push, const char *device, struct store_custody *ret);
fs_err pg_push_custody_save(struct store_push *push, const char *device,
    const struct store_custody *c);
fs_err pg_push_change_body(struct store_push *push, const char *record_id, const char *hlc,
    char **ret_body);
fs_err pg_push_chain_refused(struct store_push *push, const char *device,
    const struct change *ch, const char *link, const char *reason);

/* store_pg_read.c */
/*
 * Runs sql (a SELECT) and calls fn for each row (row index into r),
 * fetching 500 rows at a time through a cursor, in a read transaction of
 * its own unless one is open: memory stays bounded and fn may itself
 * query the store on c.  fn returns non-zero to stop (FS_ERR_CANCELLED).
 */
fs_err pg_each_row(PGconn *c, const char *what, const char *sql, int n,
    const char *const *params, int (*fn)(void *arg, const PGresult *r, int row), void *arg);
fs_err pg_change_hlc(struct store *store, const char *team, int64_t seq,
    char ret_hlc[HLC_TEXT_LEN + 1]);
fs_err pg_pull(struct store *store, const struct store_pull_query *q, store_change_cb cb,
    void *arg, struct store_pull_page *ret_page);
fs_err pg_snapshot(struct store *store, const struct store_snapshot_query *q,
    store_snapshot_cb cb, void *arg, struct store_snapshot_page *ret_page);
fs_err pg_chain_walk(struct store *store, store_chain_cb cb, void *arg);
fs_err pg_history_walk(struct store *store, store_history_cb cb, void *arg);
fs_err pg_record_history(struct store *store, const char *record_id, store_history_cb cb,
    void *arg);

/* store_pg_review.c */
fs_err pg_review_list(struct store *store, const struct review_filter *f, int64_t limit,
    int64_t offset, review_record_cb cb, void *arg, int64_t *ret_total);
fs_err pg_review_get(struct store *store, const char *id, review_record_cb cb, void *arg);
fs_err pg_review_fields(struct store *store, const char *id, review_value_cb cb, void *arg);
fs_err pg_review_delete_conflict(struct store *store, const char *id, review_value_cb cb,
    void *arg);
fs_err pg_review_conflicts(struct store *store, const char *id, review_value_cb cb, void *arg);
fs_err pg_review_history(struct store *store, const char *id, review_change_cb cb, void *arg);
fs_err pg_review_events(struct store *store, const char *id, review_event_cb cb, void *arg);
fs_err pg_review_set_status(struct store *store, const char *id, const char *status,
    const char *note, const char *actor);
fs_err pg_review_assign(struct store *store, const char *id, const char *to, const char *note,
    const char *actor);
fs_err pg_audit_list(struct store *store, const char *since, review_audit_cb cb, void *arg);
fs_err pg_export_open(struct store *store, const struct review_filter *f,
    struct store_export **ret_x);
fs_err pg_export_next(struct store_export *x, struct review_record *ret_r, bool *ret_done);
fs_err pg_export_fields(struct store_export *x, const char *id, review_value_cb cb, void *arg);
void pg_export_close(struct store_export *x);

fs_err pg_agency_save(struct store *store, const char *name, const char *title,
    const char *teams, bool create);
fs_err pg_agency_list(struct store *store, store_agency_cb cb, void *arg);
fs_err pg_push_referral_save(struct store_push *push, const struct store_referral *r);
fs_err pg_referral_list(struct store *store, const char *record_id, store_referral_cb cb,
    void *arg);

#endif /* FS_DAEMON_STORE_PG_INTERNAL_H */
