/*
 * store_backend.h -- what a backend of the central store provides
 * (issue 13): one table of functions, chosen at run time by the `store`
 * key of fieldsyncd.conf.
 *
 * The contract, for every backend (SQLite, PostgreSQL):
 *   - every operation of store.h, store_records.h and store_review.h that
 *     touches storage is an entry here; store.c dispatches each public
 *     call through the handle's table, so the daemon never names a backend;
 *   - the backend's struct store, struct store_push (its write
 *     transaction) and struct store_export begin with struct store_base:
 *     the dispatcher reads the table from there;
 *   - policy is not the backend's: names and roles are checked by the
 *     admin commands, tokens compared and revocation refused by
 *     auth_identify(), form definitions parsed by store_forms.c, the
 *     merge computed by common/merge_row.c -- a backend stores and reads;
 *   - whatever must commit together goes through one struct store_push
 *     (store_records.h); a backend with pooled connections keeps that
 *     transaction on one connection;
 *   - tests/unit/test-conformance.c is the suite a backend must pass.
 */
#ifndef FS_DAEMON_STORE_BACKEND_H
#define FS_DAEMON_STORE_BACKEND_H

#include "store.h"
#include "store_records.h"
#include "store_review.h"
#include "store_agency.h"

struct store_ops {
	const char *name; /* the value of `store` in fieldsyncd.conf */
	void (*close)(struct store *store);
	fs_err (*device_add)(struct store *store, const char *name, const char *role,
	    const char *team, const char *review_teams, const unsigned char token_hash[AUTH_HASH_LEN],
	    int64_t *ret_rowid);
	fs_err (*device_set_teams)(struct store *store, const char *name, const char *review_teams);
	fs_err (*device_list)(struct store *store, store_device_cb cb, void *arg);
	fs_err (*device_revoke)(struct store *store, const char *name, bool wipe);
	fs_err (*device_wipe_done)(struct store *store, int64_t rowid);
	fs_err (*open_conflicts)(struct store *store, int64_t *ret_n);
	fs_err (*device_by_token_hash)(struct store *store,
	    const unsigned char token_hash[AUTH_HASH_LEN], struct store_token_row *ret);
	fs_err (*device_bind_hlc)(struct store *store, int64_t rowid, const char *hlc_device);
	fs_err (*device_last_hlc)(struct store *store, int64_t rowid,
	    char ret_hlc[HLC_TEXT_LEN + 1]);
	fs_err (*form_insert)(struct store *store, const char *id, int64_t version,
	    const char *canonical, bool *ret_new);
	fs_err (*form_definition)(struct store *store, const char *id, int64_t version,
	    char **ret_json);
	fs_err (*form_list)(struct store *store, store_form_cb cb, void *arg);
	fs_err (*audit)(struct store *store, const char *actor, const char *action,
	    const char *record_id, const char *detail);
	fs_err (*push_begin)(struct store *store, struct store_push **ret_push);
	fs_err (*batch_answer)(struct store *store, const char *device, const char *batch,
	    char **ret_answer);
	fs_err (*push_record_head)(struct store_push *push, const char *record_id,
	    struct store_record_head *ret);
	/* Optional (NULL: nothing to do). */
	fs_err (*push_prefetch)(struct store_push *push, const char *const *ids,
	    const char *const *hlcs, size_t n);
	fs_err (*push_record_values)(struct store_push *push, const char *record_id, cJSON **ret);
	fs_err (*push_change_insert)(struct store_push *push, const struct change *ch,
	    const char *body, const char *team, const char *device, const char *batch,
	    int64_t *ret_seq, bool *ret_dup);
	fs_err (*push_record_merge)(struct store_push *push, const struct form *form,
	    const struct change *ch, const char *team, const char *author, int64_t seq,
	    struct merge_result *res, int *ret_open);
	fs_err (*push_device_seen)(struct store_push *push, const char *device, const char *stamp);
	fs_err (*push_batch_save)(struct store_push *push, const char *device, const char *batch,
	    const char *answer);
	fs_err (*push_record_info)(struct store_push *push, const char *record_id,
	    char ret_form[65], int64_t *ret_version, char ret_team[65]);
	fs_err (*push_field_heads)(struct store_push *push, const char *record_id,
	    const char *field, struct store_head *heads, size_t max, size_t *ret_n,
	    char ret_max[HLC_TEXT_LEN + 1]);
	fs_err (*push_delete_resolution)(struct store_push *push, const char *record_id,
	    bool keep, cJSON **ret_base, char ret_max[HLC_TEXT_LEN + 1]);
	fs_err (*push_server_stamp)(struct store_push *push, const char *after,
	    char ret_stamp[HLC_TEXT_LEN + 1]);
	fs_err (*push_commit)(struct store_push *push);
	void (*push_abort)(struct store_push *push);
	fs_err (*max_seq)(struct store *store, int64_t *ret_seq);
	fs_err (*forms_version)(struct store *store, int64_t *ret_version);
	fs_err (*change_hlc)(struct store *store, const char *team, int64_t seq,
	    char ret_hlc[HLC_TEXT_LEN + 1]);
	fs_err (*pull)(struct store *store, const struct store_pull_query *q, store_change_cb cb,
	    void *arg, struct store_pull_page *ret_page);
	fs_err (*push_event)(struct store_push *push, const char *id, const char *kind,
	    const char *status, const char *field, const char *stamp, const char *note,
	    const char *actor);
	fs_err (*push_audit)(struct store_push *push, const char *actor, const char *action,
	    const char *record_id, const char *detail);
	fs_err (*push_server_device)(struct store_push *push, char ret_id[HLC_DEVICE_LEN + 1]);
	fs_err (*snapshot)(struct store *store, const struct store_snapshot_query *q,
	    store_snapshot_cb cb, void *arg, struct store_snapshot_page *ret_page);
	fs_err (*review_list)(struct store *store, const struct review_filter *f, int64_t limit,
	    int64_t offset, review_record_cb cb, void *arg, int64_t *ret_total);
	fs_err (*review_get)(struct store *store, const char *id, review_record_cb cb, void *arg);
	fs_err (*review_fields)(struct store *store, const char *id, review_value_cb cb, void *arg);
	fs_err (*review_delete_conflict)(struct store *store, const char *id, review_value_cb cb,
	    void *arg);
	fs_err (*review_conflicts)(struct store *store, const char *id, review_value_cb cb,
	    void *arg);
	fs_err (*review_history)(struct store *store, const char *id, review_change_cb cb,
	    void *arg);
	fs_err (*review_events)(struct store *store, const char *id, review_event_cb cb, void *arg);
	fs_err (*review_set_status)(struct store *store, const char *id, const char *status,
	    const char *note, const char *actor);
	fs_err (*review_assign)(struct store *store, const char *id, const char *to,
	    const char *note, const char *actor);
	fs_err (*audit_list)(struct store *store, const char *since, review_audit_cb cb, void *arg);
	fs_err (*export_open)(struct store *store, const struct review_filter *f,
	    struct store_export **ret_x);
	fs_err (*export_next)(struct store_export *x, struct review_record *ret_r, bool *ret_done);
	fs_err (*export_fields)(struct store_export *x, const char *id, review_value_cb cb,
	    void *arg);
	void (*export_close)(struct store_export *x);
	fs_err (*push_custody)(struct store_push *push, const char *device,
	    struct store_custody *ret);
	fs_err (*push_custody_save)(struct store_push *push, const char *device,
	    const struct store_custody *c);
	fs_err (*push_change_body)(struct store_push *push, const char *record_id,
	    const char *hlc, char **ret_body);
	fs_err (*push_chain_refused)(struct store_push *push, const char *device,
	    const struct change *ch, const char *link, const char *reason);
	fs_err (*chain_walk)(struct store *store, store_chain_cb cb, void *arg);
	fs_err (*device_key_reset)(struct store *store, const char *name);
	fs_err (*history_walk)(struct store *store, store_history_cb cb, void *arg);
	fs_err (*record_history)(struct store *store, const char *record_id, store_history_cb cb,
	    void *arg);
	fs_err (*device_info)(struct store *store, const char *hlc_device, char ret_name[65],
	    char **ret_keys);
	fs_err (*seal_key_add)(struct store *store, const char *id, const char *public_hex,
	    const char *locked_json);
	fs_err (*seal_keys)(struct store *store, char **ret_json);
	fs_err (*agency_save)(struct store *store, const char *name, const char *title,
	    const char *teams, bool create);
	fs_err (*agency_list)(struct store *store, store_agency_cb cb, void *arg);
	fs_err (*push_referral_save)(struct store_push *push, const struct store_referral *r);
	fs_err (*referral_list)(struct store *store, const char *record_id, store_referral_cb cb,
	    void *arg);
};

/* The first member of every backend's store, push and export handle. */
struct store_base {
	const struct store_ops *ops;
};

/* The SQLite backend (store_sqlite.c and its siblings). */
extern const struct store_ops store_sqlite_ops;
fs_err store_sqlite_open(const char *data_dir, struct store **ret_store);

/* The PostgreSQL backend (store_pg*.c), when built with libpq: conninfo is libpq's. */
fs_err store_pg_open(const char *conninfo, struct store **ret_store);

#endif /* FS_DAEMON_STORE_BACKEND_H */
