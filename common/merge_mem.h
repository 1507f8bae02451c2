/*
 * merge_mem.h -- the merge rule's storage in memory: what the rule needs
 * of a record to merge it, and nothing more (issue 12, one row per record;
 * issue 13, the rule as pure in-memory code).
 *
 * merge.c computes a field's current value and conflicts from the set of
 * every write ever received (struct merge_ops).  It never needs most of
 * that set: under field_lww and manual only the *heads* (writes no other
 * write names as its base) decide, because a write's stamp is always
 * greater than the stamps it names as base (the author observed them
 * before stamping; change_check() refuses a change that says otherwise),
 * so the newest write of a field is always a head.  A record's state here
 * is therefore, per field: its heads (stamp and value), the stamps named
 * as base by a write whose overwritten write has not arrived yet
 * ("pending": when it arrives it is not a head), and the current stamp;
 * per record: the stamps of the changes merged, so that a replay is
 * recognised although the writes it overwrote are gone.  Under record_lww
 * a change that loses falls back to an older value, so that policy keeps
 * every write (keep_history).
 *
 * The struct merge_ops over it (mm->ops) gives exactly what
 * merge_sqlite.c gives on the full write set: tests/unit/test-merge.c
 * runs both on the same random histories, in random orders with replays,
 * and compares them.  A store loads a record's state (one row), merges in
 * memory, and writes the row back.
 *
 * Not thread-safe: one struct merge_mem per thread or transaction.
 */
#ifndef FS_MERGE_MEM_H
#define FS_MERGE_MEM_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fieldsync_err.h"
#include "hlc.h"
#include "merge.h"

struct mm_write {
	char stamp[HLC_TEXT_LEN + 1];
	char *value; /* JSON text, NULL for null; owned */
	bool head;   /* false: overwritten (kept only with keep_history) */
};

struct mm_field {
	char *name; /* owned */
	struct mm_write *w;
	size_t nw, capw;
	char (*pending)[HLC_TEXT_LEN + 1]; /* base stamps of writes not seen yet */
	size_t npending, cappending;
	char current[HLC_TEXT_LEN + 1]; /* "" when the field has no value */
};

/* A set of stamps. */
struct mm_stamps {
	char (*s)[HLC_TEXT_LEN + 1];
	size_t n, cap;
};

struct mm_record {
	char *id; /* owned */
	struct mm_field *f;
	size_t nf, capf;
	char (*seen)[HLC_TEXT_LEN + 1]; /* stamps of the changes merged */
	size_t nseen, capseen;
	struct mm_stamps marks[3]; /* indexed by enum merge_mark (merge.h) */
};

struct merge_mem {
	struct mm_record *rec;
	size_t nrec, caprec;
	bool keep_history; /* every write, not only heads (record_lww) */
	struct merge_ops ops;
};

/* Sets mm up empty, with mm->ops ready.  keep_history: see above. */
void merge_mem_init(struct merge_mem *mm, bool keep_history);

/* Frees everything mm holds.  Accepts a zeroed struct. */
void merge_mem_finish(struct merge_mem *mm);

/*
 * Call after a change stamped stamp was applied to record through mm->ops
 * (change_apply()): the change counts as merged from now on, and a replay
 * of it adds nothing.  FS_ERR_NOMEM.
 */
fs_err merge_mem_change_done(struct merge_mem *mm, const char *record, const char *stamp);

/* The record's state, or NULL if mm holds nothing of it.  Borrowed. */
const struct mm_record *merge_mem_record(const struct merge_mem *mm, const char *record);

/* The current write of field f, or NULL when it has no value.  Borrowed. */
const struct mm_write *merge_mem_current(const struct mm_field *f);

/* True if stamp is in r's set kind (enum merge_mark). */
bool merge_mem_marked(const struct mm_record *r, enum merge_mark kind, const char *stamp);

/*
 * Calls fn for each open conflict of f: the heads other than the current
 * write, except null heads beside a null current value (merge.h).
 */
void merge_mem_conflicts(const struct mm_field *f,
    void (*fn)(void *arg, const struct mm_write *w), void *arg);

/*
 * The state of one record as one JSON object, the packed row a store
 * keeps (one row per record; the record's id is the row's key, not in
 * the object):
 *
 *   {"s": [STAMP, ...], "seen": [S, ...],
 *    "f": {NAME: [S, VALUE],                                   (short form)
 *          NAME: {"c": S, "w": [[S, VALUE, HEAD], ...], "p": [S, ...]}},
 *    "d": [S, ...], "dv": [S, ...], "dk": [S, ...]}
 *
 * "s" holds each distinct stamp of the record once, and S is an index
 * into it: one save stamps every field with the same stamp, which would
 * otherwise be written twice per field (2.3 KB of a labour inspection's
 * row; bench/bench-row.c).  "seen" the changes merged.  A field whose
 * only write is its current value and a head, with nothing pending --
 * nearly every field -- is the short form [S, VALUE]; any other is the
 * object: "c" the current stamp (absent: no value), "w" the writes kept
 * (HEAD 1 or 0), "p" the pending base stamps (absent when none).  VALUE
 * is the JSON value itself, null for null, never re-encoded as a string.
 * "d", "dv" and "dk" are merge rule 2's stamp sets (merge.h): the
 * record's deletes, the writes a delete saw, the deletes kept against;
 * each absent when empty, so a record never deleted packs as under rule 1.
 * *ret is owned by the caller (cJSON_Delete()).
 */
fs_err merge_mem_record_to_json(const struct mm_record *r, cJSON **ret);

/*
 * Loads the state of record id written by merge_mem_record_to_json()
 * into mm (which must not hold that record yet).  FS_ERR_CORRUPT for an
 * object of another shape or a stamp index out of its table (a damaged
 * store row), FS_ERR_NOMEM; after an error mm may hold part of the record
 * and is to be discarded.
 */
fs_err merge_mem_record_from_json(struct merge_mem *mm, const char *id, const cJSON *obj);

#endif /* FS_MERGE_MEM_H */
