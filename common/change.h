/*
 * change.h -- one change: the unit the device log holds and the wire
 * carries (docs/PROTOCOL.md, "Change").
 *
 *   {"id": record id (32 hex), "form": form id, "form_version": n,
 *    "op": "upsert" | "delete", "hlc": stamp,
 *    "fields": {name: value, ...}        (upsert only)
 *    "base": {name: stamp | [stamps]}    (the stamps it overwrote)
 *    "prev": link hash of the author's previous change (64 hex),
 *    "sig": the author's signature (custody.h)}
 *
 * change_parse() checks the shape only; change_check() checks it against
 * its form; change_apply() merges it into a store through struct
 * merge_ops.  None of them writes a value into a message.
 */
#ifndef FS_CHANGE_H
#define FS_CHANGE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "fieldsync_err.h"
#include "form.h"
#include "hlc.h"
#include "merge.h"

#define CHANGE_ID_LEN 32
#define CHANGE_SIG_MAX 1024 /* bytes of the reserved "sig" member */

struct change {
	const cJSON *json; /* the object this was parsed from; borrowed */
	const char *id;
	const char *form;
	int64_t form_version;
	bool is_delete;
	const char *hlc;
	uint64_t stamp;
	char device[HLC_DEVICE_LEN + 1]; /* author, from the stamp */
	const cJSON *fields;             /* object, or NULL for delete */
	const cJSON *base;               /* object (maybe empty) */
	const char *prev;                /* link of the author's previous change, or NULL */
	const char *sig;                 /* the author's signature, or NULL (custody.h) */
};

/*
 * Checks the shape of a change object and fills *ret (pointers borrowed from
 * obj).  FS_ERR_INVALID with a message naming the key otherwise: a key that
 * is not in the protocol, a key given twice (also inside "base"), or a
 * "sig" that is not a string of at most CHANGE_SIG_MAX bytes, a number in
 * "fields" beyond a double's range (read as inf, it would print as null).  Everything
 * a change may carry is named, so what the server stores and relays to
 * other devices is bounded by the form's own limits.
 */
fs_err change_parse(const cJSON *obj, struct change *ret, char *err, size_t errlen);

/*
 * 1 if the JSON object obj has a key twice, 0 if not, -1 when out of
 * memory.  O(n log n) in the number of keys.
 */
int change_dup_keys(const cJSON *obj);

/* Checks fields against the form (partial: only present fields) and base keys. */
fs_err change_check(const struct change *ch, const struct form *form, char *err, size_t errlen);

/*
 * Merges the change's field writes.  The caller holds the transaction and
 * maintains the record row (tombstone, form) itself.
 */
fs_err change_apply(const struct merge_ops *ops, const struct form *form,
    const struct change *ch, struct merge_result *res);

/*
 * What the store holds of the change's record (merge.h): a caller that
 * wants to skip its own work for a replay asks first, then passes the
 * answer to change_apply_state(), which is change_apply() without the
 * question.  The caller holds the transaction across both.
 */
fs_err change_state(const struct merge_ops *ops, const struct change *ch,
    enum merge_record_state *ret_state);
fs_err change_apply_state(const struct merge_ops *ops, const struct form *form,
    const struct change *ch, enum merge_record_state state, struct merge_result *res);

#endif /* FS_CHANGE_H */
