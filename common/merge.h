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
 * A delete is a write of null to every field of its form version (base:
 * the stamps the deleting device saw, none for a field it saw no value
 * of) plus a record tombstone; the record is deleted while its tombstone
 * is at least every current field stamp.  An edit the delete did not see,
 * of any field, is a head beside the delete's null: newer, it brings the
 * record back and leaves the delete's null in the conflict set; older, it
 * is in the conflict set of the deleted record.  (Writing only the fields
 * the device saw values of let an edit of a field that was empty until
 * then pass without a conflict.)
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
