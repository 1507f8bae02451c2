/*
 * store_records.h -- the sync side of the central store: the received
 * change log (the pull cursor), merged records, batches already answered.
 *
 * Like store.h this is one logical interface with an SQLite backend today
 * (store_records.c).  The merge rule is common code (common/merge.c over
 * the record's packed state, common/merge_row.h): a backend stores one row
 * per record and never computes a merge itself.
 *
 * The store contract for writes: struct store_push is an explicit write
 * transaction, begun by store_push_begin() and ended by store_push_commit()
 * or store_push_abort().  Everything that must commit together -- the
 * changes of a batch, their records, the batch answer; or a resolution's
 * change, record, review event and audit entry -- is called with that
 * handle, never with struct store, so a backend with pooled connections
 * (PostgreSQL) runs them on the one connection that holds the
 * transaction.  The handle belongs to the calling thread.  A push's
 * cursor is what store_push_change_insert() returned for its own
 * changes, never the log's maximum (another writer's batch may be later).
 */
#ifndef FS_DAEMON_STORE_RECORDS_H
#define FS_DAEMON_STORE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "change.h"
#include "hlc.h"
#include "fieldsync.h"
#include "merge.h"

struct store;
struct store_push;

/* Opens the push transaction (BEGIN IMMEDIATE).  *ret_push until commit/abort. */
fs_err store_push_begin(struct store *store, struct store_push **ret_push);


/*
 * The stored answer of a batch already applied, or *ret_answer NULL.
 * Works outside a push too (push may be NULL: uses store).  Caller frees.
 */
fs_err store_batch_answer(struct store *store, const char *device, const char *batch,
    char **ret_answer);

/* What a push checks a change against: the record's team, form and version. */
struct store_record_head {
	bool exists; /* false for a new record (the rest is then empty) */
	char team[65];
	char form[65];
	int64_t form_version;
};

fs_err store_push_record_head(struct store_push *push, const char *record_id,
    struct store_record_head *ret);

/*
 * A hint before a batch: the record ids and stamps its n changes name
 * (an entry NULL for an item that is not a change).  A backend that pays
 * a round trip per read (PostgreSQL) reads them all at once; the answers
 * of the calls that follow are the same with or without it.  The strings
 * are only read during the call.
 */
fs_err store_push_prefetch(struct store_push *push, const char *const *ids,
    const char *const *hlcs, size_t n);

/*
 * The record's current values as one JSON object (name -> value, null for
 * a written null), for checking them against a newer form version.
 * *ret owned by the caller (cJSON_Delete()); an empty object for a new
 * record.
 */
fs_err store_push_record_values(struct store_push *push, const char *record_id, cJSON **ret);

/*
 * Appends a change to the received log (never rewritten).  *ret_dup is true
 * when the same (record, stamp) was received before: nothing is written.
 */
fs_err store_push_change_insert(struct store_push *push, const struct change *ch,
    const char *body, const char *team, const char *device, const char *batch,
    int64_t *ret_seq, bool *ret_dup);

/*
 * Merges a change (parsed, checked against form, just appended as seq)
 * into its record: one row read, the merge in memory (common/merge_row.h),
 * one row written -- state, tombstone, deleted flag, open-conflict count,
 * last change.  A new record belongs to team and was created by author.
 * res counts the writes applied and conflicts; *ret_open receives the
 * record's open conflicts.
 */
fs_err store_push_record_merge(struct store_push *push, const struct form *form,
    const struct change *ch, const char *team, const char *author, int64_t seq,
    struct merge_result *res, int *ret_open);

/* Notes stamp as device's newest on the server, unless it has a newer one. */
fs_err store_push_device_seen(struct store_push *push, const char *device, const char *stamp);

/* Keeps the answer of a batch for replays. */
fs_err store_push_batch_save(struct store_push *push, const char *device, const char *batch,
    const char *answer);

/* --- Conflict resolution (a change the server authors) ---------------- */

/* The form, form version and team of a record.  FS_ERR_NOTFOUND if none. */
fs_err store_push_record_info(struct store_push *push, const char *record_id, char ret_form[65],
    int64_t *ret_version, char ret_team[65]);

/* One head of a field: a write that no other write names as its base. */
struct store_head {
	char stamp[HLC_TEXT_LEN + 1];
	char *value; /* JSON text (malloc'd), NULL for null */
};

/*
 * The heads of (record, field), lowest stamp first, into heads (at most max;
 * FS_ERR_TOOBIG if there are more), their number in *ret_n, and the highest
 * stamp of any write of the field in ret_max ("" if none).  Release the
 * values with store_heads_finish(), also after an error.
 */
fs_err store_push_field_heads(struct store_push *push, const char *record_id, const char *field,
    struct store_head *heads, size_t max, size_t *ret_n, char ret_max[HLC_TEXT_LEN + 1]);

/*
 * The base of a resolution of merge rule 2's record-level conflict
 * (common/merge.h) on record_id: to keep the record, {"@delete": [every
 * delete not kept against]}; to confirm the delete, {field: [every head],
 * ...} over every field.  *ret_base (owned by the caller) is NULL when the
 * record has no such conflict; ret_max is the highest stamp the record
 * holds ("" if none).  FS_ERR_NOTFOUND without the record.
 */
fs_err store_push_delete_resolution(struct store_push *push, const char *record_id, bool keep,
    cJSON **ret_base, char ret_max[HLC_TEXT_LEN + 1]);

/* Frees the values of n heads.  Accepts heads with NULL values. */
void store_heads_finish(struct store_head *heads, size_t n);

/*
 * Issues a stamp from the server's own clock: its device id and last stamp
 * are kept in the store, and the new stamp is greater than both the last
 * one and after (a stamp text, or NULL).  The clock is saved inside the
 * push transaction, so an aborted push issues nothing.  FS_ERR_CLONED if
 * after carries the server's id but is newer than anything it issued.
 */
fs_err store_push_server_stamp(struct store_push *push, const char *after,
    char ret_stamp[HLC_TEXT_LEN + 1]);

/* Commits and frees push.  On failure the transaction is rolled back. */
fs_err store_push_commit(struct store_push *push);

/* Rolls back and frees push.  Accepts NULL. */
void store_push_abort(struct store_push *push);

/* The highest committed sequence number (0 when empty). */
fs_err store_max_seq(struct store *store, int64_t *ret_seq);

/* A number that changes whenever a form is published. */
fs_err store_forms_version(struct store *store, int64_t *ret_version);

/*
 * The stamp of the change with sequence seq, or "" when there is none or
 * it belongs to another team than team (NULL: any team).
 */
fs_err store_change_hlc(struct store *store, const char *team, int64_t seq,
    char ret_hlc[HLC_TEXT_LEN + 1]);

/* One received change, for pull.  Strings valid during the callback only. */
typedef int (*store_change_cb)(void *arg, int64_t seq, const char *body);

/* What one pull page asks for. */
struct store_pull_query {
	const char *team;           /* only this team's changes; NULL: every team */
	const char *skip_device;    /* leave out this device's own changes; NULL: none */
	int64_t after;              /* the cursor: changes with a greater sequence */
	int limit;                  /* at most this many changes delivered */
	int scan_limit;             /* at most this many rows looked at (>= limit) */
};

/* Where a pull page ended. */
struct store_pull_page {
	int64_t next;                    /* the last sequence looked at (or after) */
	char next_hlc[HLC_TEXT_LEN + 1]; /* its stamp; "" when next == after */
	char after_hlc[HLC_TEXT_LEN + 1]; /* the stamp at after; "" if none or not visible */
	bool more;                       /* rows follow next */
	int delivered;                   /* changes passed to cb */
};

/*
 * Calls cb for the changes after q->after, in sequence order: every change
 * of q->team (all teams when NULL) except q->skip_device's own.  Skipped
 * rows still move the cursor, so a device that pushed a thousand changes
 * is not sent them back, nor asked to page through them.  One read
 * transaction: the page, next and the stamps are one consistent view.
 */
fs_err store_pull(struct store *store, const struct store_pull_query *q, store_change_cb cb,
    void *arg, struct store_pull_page *ret_page);

/*
 * Inside the transaction of a push or a resolution (explicit, so that a
 * backend with pooled connections writes them in the same transaction as
 * the change they go with): a review event of kind "resolve", an audit
 * entry, and the server's own device id.
 */
/*
 * Any review event inside the push: kind ("refer", "referral", ...), a
 * status, the field and stamp it concerns (each may be NULL), a note.
 */
fs_err store_push_event(struct store_push *push, const char *id, const char *kind,
    const char *status, const char *field, const char *stamp, const char *note,
    const char *actor);
fs_err store_push_review_event(struct store_push *push, const char *id, const char *field,
    const char *stamp, const char *note, const char *actor);
fs_err store_push_audit(struct store_push *push, const char *actor, const char *action,
    const char *record_id, const char *detail);
fs_err store_push_server_device(struct store_push *push, char ret_id[HLC_DEVICE_LEN + 1]);

/*
 * Snapshot (protocol 2, GET /v1/snapshot): a fresh device receives each
 * record's row once -- its packed merge state (common/merge_row.h) --
 * instead of every change ever made.  Records are paged in row order.
 */
struct store_snapshot_query {
	const char *team; /* only this team's records; NULL: every team */
	/* leave out records holding no change but this device's own (it has them); NULL: none */
	const char *skip_device;
	int64_t after;    /* the cursor: records after this row */
	int limit;        /* at most this many records */
};

struct store_snapshot_page {
	int64_t next;                     /* the last row delivered (or after) */
	bool more;                        /* rows follow next */
	int delivered;
	int64_t as_of;                    /* the team's newest change when the page was read */
	char as_of_hlc[HLC_TEXT_LEN + 1]; /* its stamp; "" when none */
};

/* One record of a snapshot; the strings are valid during the call only. */
struct store_snapshot_row {
	const char *id, *form;
	int64_t form_version;
	const char *tombstone; /* NULL when never deleted */
	const char *state;     /* the packed state, JSON text */
};

typedef int (*store_snapshot_cb)(void *arg, const struct store_snapshot_row *row);

/*
 * Calls cb for the records after q->after.  One read transaction: every
 * row delivered holds every change up to page->as_of (and perhaps later
 * ones, which a device merging them again ignores: merge is idempotent),
 * so a device that pulls changes after as_of once the snapshot is done
 * misses nothing.
 */
fs_err store_snapshot(struct store *store, const struct store_snapshot_query *q,
    store_snapshot_cb cb, void *arg, struct store_snapshot_page *ret_page);

/*
 * Chain of custody (issue 16, common/custody.h).  A device's registered
 * public key and the head of its hash chain: the link of the last change
 * the server took from it (stored, or refused by a form check) and that
 * change's stamp.  key "" when none is registered, head custody_genesis
 * and hlc "" before the first signed change.
 */
struct store_custody {
	bool key_new; /* save registers key (kept in the device's key history) */
	char key[64 + 1];
	char head[64 + 1];
	char hlc[HLC_TEXT_LEN + 1];
};

fs_err store_push_custody(struct store_push *push, const char *device, struct store_custody *ret);
/* Writes key (when the device had none), head and hlc. */
fs_err store_push_custody_save(struct store_push *push, const char *device,
    const struct store_custody *c);
/* The stored bytes of the change (record_id, hlc), or *ret_body NULL.  Caller frees. */
fs_err store_push_change_body(struct store_push *push, const char *record_id, const char *hlc,
    char **ret_body);
/*
 * A change whose signature and link held but which a form or team check
 * refused: its link stays in the device's chain (the device goes on from
 * it), so the link, prev, stamp and reason are kept -- not its values.
 */
fs_err store_push_chain_refused(struct store_push *push, const char *device,
    const struct change *ch, const char *link, const char *reason);

/* One link of a device's chain, in stamp order, for fieldsyncd verify. */
struct store_chain_row {
	const char *device; /* hlc device id */
	const char *name;   /* the device's name */
	const char *keys;   /* every key the device ever registered, comma-separated */
	const char *head;   /* the device's chain head as the server keeps it ("" none) */
	int64_t seq;        /* 0 for a refused change */
	const char *hlc;
	const char *body;   /* the change as received; NULL for a refused one */
	const char *link;   /* refused: the link kept; stored: NULL (recompute) */
	const char *prev;   /* refused: its prev; stored: NULL (in body) */
};
typedef int (*store_chain_cb)(void *arg, const struct store_chain_row *row);

/* Every device's links, device by device, each in stamp order. */
fs_err store_chain_walk(struct store *store, store_chain_cb cb, void *arg);

/*
 * One entry of the server's history chains (custody.h, "history"), for
 * fieldsyncd verify: scope "audit" for the audit trail, else the record
 * id.  items are what the entry's hash covers, as the store hashed them.
 * An entry with hash NULL and id 0 is a change or event (ref) that has
 * no history entry at all.  ref_found false: the change or event the
 * entry names is gone.
 */
struct store_history_row {
	const char *scope;
	const char *kind; /* "audit", "change", "event" */
	int64_t id, ref;
	bool ref_found;
	const unsigned char *prev, *hash; /* 32 bytes each, or NULL */
	int nitems;
	const char *items[12];
	size_t lens[12];
};
typedef int (*store_history_cb)(void *arg, const struct store_history_row *row);

/* The audit trail in order, then each record's history in order, then orphans. */
fs_err store_history_walk(struct store *store, store_history_cb cb, void *arg);

/* One record's history entries in order (items as in store_history_walk()). */
fs_err store_record_history(struct store *store, const char *record_id, store_history_cb cb,
    void *arg);

/*
 * A device's name ("headquarters" for the server's own id, "" if unknown)
 * and every public key it registered, comma-separated (*ret_keys: caller
 * frees).
 */
fs_err store_device_info(struct store *store, const char *hlc_device, char ret_name[65],
    char **ret_keys);

#endif /* FS_DAEMON_STORE_RECORDS_H */
