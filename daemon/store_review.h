/*
 * store_review.h -- what headquarters review reads and writes in the
 * central store: records by filter, one record's values, conflicts,
 * history and review events, review status, the audit trail, the server's
 * own device id, and a cursor for exports.
 *
 * Like store.h this is one logical interface with an SQLite backend today
 * (store_review.c, store_export.c); no SQL leaks out of it.  Values are
 * handed out as the JSON text the store keeps (NULL for null); callers
 * decide what to mask.  Strings passed to callbacks are valid only during
 * the callback.
 *
 * Conflict resolution writes through the push transaction of
 * store_records.h, because a resolution is an ordinary change.
 */
#ifndef FS_DAEMON_STORE_REVIEW_H
#define FS_DAEMON_STORE_REVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fieldsync.h"
#include "hlc.h"

struct store;

#define REVIEW_MAX_FLAGS 16
#define REVIEW_NOTE_MAX  2000 /* bytes of a reviewer's note */

/* Which records a list or an export covers.  NULL / -1 mean "any". */
struct review_filter {
	const char *form;
	const char *team;
	/*
	 * The teams the reader may see, as a JSON array of names (a reviewer's
	 * auth_review_scope()); NULL for every team.  Unlike team, a filter the
	 * reader chose, this is who the reader is.
	 */
	const char *scope;
	/*
	 * The reader's agency (issue 20), with scope: the reader also sees the
	 * records referred to it (not declined) and those referrals' own
	 * records.  NULL: the reader's agency owns no referral.
	 */
	const char *agency;
	const char *referred; /* only records referred to this agency (any status) */
	const char *device; /* device name: the creator or the author of any change */
	const char *status; /* review status */
	const char *assigned; /* assigned to this reviewer; "" for records assigned to nobody */
	const char *from;   /* inclusive bounds on the date column, ISO 8601 UTC text */
	const char *to;
	bool by_created;      /* the bounds apply to created_at rather than updated_at */
	int conflicts;        /* -1 any, 0 none open, 1 at least one open */
	/*
	 * Deleted records: -1 (the default) leaves them out unless they have
	 * open conflicts -- an edit the delete overrode needs a reviewer --,
	 * 0 leaves them all out, 1 takes them all.
	 */
	int deleted;
	const char *flags[REVIEW_MAX_FLAGS]; /* boolean fields that must be true */
	size_t nflags;
	/*
	 * Text search (issue 20): search is found, ignoring the case of ASCII
	 * letters, in the value of one of search_fields, a JSON array of field
	 * names the caller made of non-sensitive fields only.
	 */
	const char *search;
	const char *search_fields;
	/* List order (REVIEW_SORT_*); date_fields: JSON array of the fields holding a record's date. */
	int sort;
	const char *date_fields;
};

#define REVIEW_SORT_UPDATED 0 /* last change first (the default) */
#define REVIEW_SORT_DATE    1 /* the form's date (inspection, screening) first, newest first */
#define REVIEW_SORT_RISK    2 /* risk_level high, medium, low, none; then last change first */

/* One row of the records table. */
struct review_record {
	const char *id;
	const char *form;
	int64_t form_version;
	const char *team;
	const char *created_by; /* device name */
	const char *created_at;
	const char *updated_at;
	const char *review_status; /* new, reviewed, follow_up, referred */
	int open_conflicts;  /* the fields' and the record-level one */
	bool deleted;
	bool delete_conflict; /* merge rule 2: a delete and an edit it did not see */
	const char *assigned_to; /* the reviewer the record is assigned to, or NULL (issue 20) */
};

/* A field's current value, or one candidate of a conflict. */
struct review_value {
	const char *field;
	const char *value; /* JSON text, NULL for null */
	const char *stamp;
	const char *device_id;   /* author (HLC device id) */
	const char *device_name; /* "" if unknown; "fieldsyncd" for the server */
	const char *created_at;  /* conflicts only: when the conflict opened */
};

/* One change of the received log. */
struct review_change {
	int64_t seq;
	const char *hlc;
	const char *device_id;
	const char *device_name;
	const char *received_at;
	const char *body; /* the change as received (JSON) */
};

/* One review event. */
struct review_event {
	int64_t id;
	const char *kind;   /* "status" or "resolve" */
	const char *status; /* kind status: the new status */
	const char *note;   /* may be "" */
	const char *field;  /* kind resolve: the field and the resolving stamp */
	const char *stamp;
	const char *actor;
	const char *at;
};

/* One audit entry. */
struct review_audit {
	int64_t id;
	const char *at;
	const char *actor;
	const char *action;
	const char *record_id; /* "" if none */
	const char *detail;
};

typedef int (*review_record_cb)(void *arg, const struct review_record *r);
typedef int (*review_value_cb)(void *arg, const struct review_value *v);
typedef int (*review_change_cb)(void *arg, const struct review_change *c);
typedef int (*review_event_cb)(void *arg, const struct review_event *e);
typedef int (*review_audit_cb)(void *arg, const struct review_audit *a);

/* True for "new", "reviewed", "follow_up", "referred". */
bool review_status_valid(const char *status);

/*
 * Calls cb for the records matching f, most recently updated first,
 * skipping offset and at most limit; *ret_total (if not NULL) receives the
 * number of matching records.  A callback returning non-zero stops the
 * listing and gives FS_ERR_NOMEM.
 */
fs_err store_review_list(struct store *store, const struct review_filter *f, int64_t limit,
    int64_t offset, review_record_cb cb, void *arg, int64_t *ret_total);

/* Calls cb once with the record id.  FS_ERR_NOTFOUND if there is none. */
fs_err store_review_get(struct store *store, const char *id, review_record_cb cb, void *arg);

/* The record's current values, by field name. */
fs_err store_review_fields(struct store *store, const char *id, review_value_cb cb, void *arg);

/* The record's open conflicts (the losing heads), by field and stamp. */
fs_err store_review_conflicts(struct store *store, const char *id, review_value_cb cb, void *arg);

/*
 * Merge rule 2's record-level conflict of the record (common/merge.h), if
 * it has one: cb once per side -- each delete not kept against (field
 * "@delete", value NULL) and each head no delete saw (its field and value)
 * -- with its stamp and author.  Nothing when there is no such conflict.
 */
fs_err store_review_delete_conflict(struct store *store, const char *id, review_value_cb cb,
    void *arg);

/* Every change received for the record, in sequence order. */
fs_err store_review_history(struct store *store, const char *id, review_change_cb cb, void *arg);

/* The record's review events, oldest first. */
fs_err store_review_events(struct store *store, const char *id, review_event_cb cb, void *arg);

/*
 * Sets the review status of a record and keeps the change (with the note,
 * which may be NULL) as a review event and an audit entry, in one
 * transaction.  FS_ERR_NOTFOUND if there is no such record,
 * FS_ERR_INVALID for a status that is not valid.
 */
fs_err store_review_set_status(
    struct store *store, const char *id, const char *status, const char *note, const char *actor);

/*
 * Assigns record id to reviewer to (NULL: to nobody), with a review event
 * (kind "assign", the assignee in its status, the note) in the record's
 * history and an audit entry review.assign.  FS_ERR_NOTFOUND for no such
 * record.
 */
fs_err store_review_assign(
    struct store *store, const char *id, const char *to, const char *note, const char *actor);


/* The audit trail from since (ISO text, NULL for all), oldest first. */
fs_err store_audit_list(struct store *store, const char *since, review_audit_cb cb, void *arg);

/* --- Export cursor ---------------------------------------------------- */

struct store_export;

/*
 * Opens a cursor over the records matching f (f->form must be set), oldest
 * update first.  It reads one consistent snapshot through its own
 * read-only connection, so it may be stepped from any one thread at a time
 * (a response callback) while the thread's own connection serves other
 * requests.  Release with store_export_close().
 */
fs_err store_export_open(
    struct store *store, const struct review_filter *f, struct store_export **ret_x);

/*
 * Steps to the next record: *ret_done is true at the end, otherwise *ret_r
 * is filled (valid until the next step).
 */
fs_err store_export_next(struct store_export *x, struct review_record *ret_r, bool *ret_done);

/* The current values of record id, through the cursor's snapshot. */
fs_err store_export_fields(struct store_export *x, const char *id, review_value_cb cb, void *arg);

/* Closes the cursor and its connection.  Accepts NULL. */
void store_export_close(struct store_export *x);

#endif /* FS_DAEMON_STORE_REVIEW_H */
