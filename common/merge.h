/*
 * merge.h -- the conflict rule, per record and field by field.
 *
 * Every field write ever received is kept (record, field, stamp, base,
 * value).  A write's base names the stamp(s) of the value(s) it knowingly
 * overwrote.  A write is a *head* when no other write names it as base.
 * From the set of writes of one field:
 *
 *   current   = the write with the highest stamp        (field_lww)
 *             = the head with the lowest stamp          (manual: keep the
 *               older value until a reviewer picks)
 *   conflicts = heads other than the current write, except null heads
 *               beside a null current value (nothing to choose between)
 *
 * Both are pure functions of the set of writes, so every replica that has
 * seen the same writes holds the same state, whatever order they arrived in
 * and however often they were replayed: the rule is commutative,
 * associative and idempotent.  A value knowingly overwritten is not a
 * conflict (it stays in the history); a value overwritten by a device that
 * never saw it is always in the conflict set until a later write names it
 * as base -- which is exactly what a reviewer's resolution does (its base
 * lists every head).  Merge reads stamps only, never values, so it works
 * unchanged once sensitive values are sealed end to end.
 *
 * A delete (merge rule 2, issue 22) writes no field.  It is a record-level
 * tombstone with the causal context it saw: its stamp joins the record's
 * deletes and every stamp of its base (the writes the deleting device
 * held, per field) joins the record's *seen-by-a-delete* stamps.  The
 * record is deleted while it has a delete and every head of every field
 * was seen by a delete.  A head no delete saw -- an edit made without
 * knowledge of the delete, whatever its stamp -- keeps the record alive
 * *whole* (every field keeps its value: the delete overwrote nothing) and
 * opens one record-level conflict, until a reviewer confirms the delete
 * (a delete that saw every head) or keeps the record (an upsert whose base
 * names the delete under the reserved key "@delete", which marks it
 * *kept*).  Open: alive, and a delete that is not kept.  A deleted record
 * has no open conflict (the delete saw every value).  These are functions
 * of the three stamp sets and the heads, so of the set of changes.  (Rule
 * 1 wrote null over every field: a delete and an edit it did not see left
 * the record alive with one value, a husk.)
 *
 *   record_lww: a change *loses* when, on any field, one of its writes is a
 *   head beside a newer head (it was concurrent with a newer change).  The
 *   current value of every field is the newest write whose change did not
 *   lose, so the newest of two concurrent changes wins all its fields and
 *   the loser's writes -- even on fields the winner did not touch -- are in
 *   the conflict set.  Still a pure function of the write set.
 *
 * The storage is abstract (struct merge_ops) so the SQLite stores of device
 * and server and a PostgreSQL store share this one rule.
 */
#ifndef FS_MERGE_H
#define FS_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fieldsync_err.h"
#include "form.h"
#include "hlc.h"

#define MERGE_MAX_BASES 64

struct merge_write {
	const char *record;
	const char *field;
	const char *stamp;  /* text stamp (hlc.h) */
	const char *device; /* author device id */
	const char *value;  /* JSON text, NULL for null */
	const char *base;   /* JSON text of the base as received: "stamp", [..], or NULL */
};

struct merge_head {
	char stamp[HLC_TEXT_LEN + 1];
};

/* The record-level stamp sets of merge rule 2 (see above). */
enum merge_mark {
	MERGE_MARK_DELETE, /* the stamp of a delete */
	MERGE_MARK_SEEN,   /* a write some delete saw (named in its base) */
	MERGE_MARK_KEPT,   /* a delete a later upsert kept the record against */
};

/* The reserved base key by which an upsert names the deletes it keeps against. */
#define MERGE_BASE_DELETE "@delete"

/*
 * What a store holds of a record when a change arrives, for the shortcuts
 * of change_apply():
 *  - MERGE_RECORD_NEW: no write of the record at all.  Every write of the
 *    change is the first of its field: the only head, so it is the current
 *    value under every policy and conflicts with nothing (merge_field_first()).
 *  - MERGE_RECORD_SEEN: a write of the record carries the change's stamp.
 *    A change's writes are stored in one transaction and a stamp names one
 *    change of one record, so the change was merged before: a replay, and
 *    merging it again changes nothing.
 *  - MERGE_RECORD_OTHER: the general case.
 */
enum merge_record_state {
	MERGE_RECORD_NEW,
	MERGE_RECORD_SEEN,
	MERGE_RECORD_OTHER,
};

/*
 * Storage operations.  Every function returns FS_OK or an error; the caller
 * of merge_apply() owns the transaction around them.
 */
struct merge_ops {
	void *ctx;
	/* Inserts a write; *ret_new is false when (record, field, stamp) exists. */
	fs_err (*write_insert)(void *ctx, const struct merge_write *w, bool *ret_new);
	/* Records that stamp was knowingly overwritten on (record, field). */
	fs_err (*base_insert)(void *ctx, const char *record, const char *field, const char *stamp);
	/* The lowest-stamped head of (record, field); *ret_found false if none. */
	fs_err (*min_head)(void *ctx, const char *record, const char *field,
	    char ret_stamp[HLC_TEXT_LEN + 1], bool *ret_found);
	/* Highest stamp among all writes of (record, field). */
	fs_err (*max_write)(void *ctx, const char *record, const char *field,
	    char ret_stamp[HLC_TEXT_LEN + 1]);
	/*
	 * record_lww: the highest-stamped write of (record, field) whose change
	 * did not lose on any field of the record; *ret_found false if every
	 * write of the field lost.
	 */
	fs_err (*max_write_not_losing)(void *ctx, const char *record, const char *field,
	    char ret_stamp[HLC_TEXT_LEN + 1], bool *ret_found);
	/* record_lww: calls fn for every field the record has writes for. */
	fs_err (*record_fields)(void *ctx, const char *record,
	    fs_err (*fn)(void *arg, const char *field), void *arg);
	/* Makes the write with stamp the field's current value; NULL: no value. */
	fs_err (*field_set_from)(void *ctx, const char *record, const char *field, const char *stamp);
	/*
	 * Makes the open conflicts of (record, field) exactly the heads other
	 * than current (NULL: all heads), and returns how many there are.
	 */
	fs_err (*conflicts_sync)(void *ctx, const char *record, const char *field,
	    const char *current, int *ret_open);
	/* Adds stamp to one of record's stamp sets (enum merge_mark); idempotent. */
	fs_err (*mark_insert)(void *ctx, const char *record, enum merge_mark kind,
	    const char *stamp);
	/*
	 * Optional (NULL: every change takes the general path).  What the
	 * store holds of record before the change stamped stamp is merged
	 * (enum merge_record_state).
	 */
	fs_err (*record_state)(void *ctx, const char *record, const char *stamp,
	    enum merge_record_state *ret_state);
	/*
	 * Optional (NULL: field_set_from).  Makes the write w, just inserted,
	 * the field's current value from the value the caller holds.
	 */
	fs_err (*field_set_write)(void *ctx, const struct merge_write *w);
	/*
	 * Optional (NULL: merge_field_first() per write).  Stores the n first
	 * writes of one change on a record without writes (MERGE_RECORD_NEW),
	 * fields all distinct, and makes each its field's current value, in
	 * as few statements as the store allows.
	 */
	fs_err (*first_writes)(void *ctx, const struct merge_write *w, size_t n);
};

/*
 * The result of checking one change: kept for the per-change answer.
 */
struct merge_result {
	int fields_applied; /* field writes that were new */
	int conflicts;      /* open conflicts on the touched fields afterwards */
};

/*
 * Collects the stamps named by a base value (a stamp string or an array of
 * them).  FS_ERR_INVALID for anything else or a malformed stamp.
 */
fs_err merge_parse_base(const cJSON *base, struct merge_head *out, size_t max, size_t *ret_n);

/*
 * Adds one field write and recomputes that field (current value and
 * conflicts) under policy.  Idempotent.
 */
fs_err merge_field(const struct merge_ops *ops, enum form_conflict policy,
    const struct merge_write *w, const cJSON *base, struct merge_result *res);

/*
 * merge_field() for a write of a record that had no writes before the
 * change began (MERGE_RECORD_NEW): the same result, without the reads.
 * With several writes of one change on one record, each is still the
 * only write of its field, and none of them can lose under record_lww (no
 * field has two heads), so the shortcut holds for the whole change.
 */
fs_err merge_field_first(const struct merge_ops *ops, const struct merge_write *w,
    const cJSON *base, struct merge_result *res);

#endif /* FS_MERGE_H */
