/*
 * record_row.h -- one row per record on the device (issue 12).
 *
 * A record's row in `records` holds, besides its form, tombstone and
 * flags, its whole merge state (common/merge_mem.h) as one packed JSON
 * text in the column `state`: each field's current value and stamp, the
 * heads beside it (the open conflicts), and the few stamps the rule still
 * needs to recognise a replay or a late arrival.  A save or a pulled
 * change reads that one row, merges in memory with the rule code the
 * server runs too (common/merge.c), and writes the row back: a save
 * writes two rows (the record and its change-log entry), where schema 2
 * wrote about 44 (a `fields` and a `writes` row per field).
 *
 * The views `fields` and `conflicts` (db.c) show the state as the tables
 * of schema 2 did, for people and tests reading a store with sqlite3; the
 * library never reads them.
 *
 * Everything here runs inside the caller's write transaction.
 */
#ifndef FS_CLIENT_RECORD_ROW_H
#define FS_CLIENT_RECORD_ROW_H

#include <stdbool.h>
#include <stdint.h>

#include "change.h"
#include "internal.h"
#include "merge_mem.h"

struct record_row {
	bool exists;                      /* a row was read */
	char form[FORM_NAME_MAX + 1];
	int64_t version;
	bool deleted;
	char tombstone[HLC_TEXT_LEN + 1]; /* "" when never deleted */
	char *created_at, *updated_at;    /* owned; NULL when !exists */
	struct merge_mem mm;              /* the record's merge state */
};

/*
 * Reads record id into *row (caller memory).  A missing record is not an
 * error: row->exists is false and the state is empty.  FS_ERR_CORRUPT (with
 * the handle's message) when the stored state is damaged.  On every return
 * *row is to be released with record_row_finish().
 */
fs_err record_row_load(fs_client *c, const char *id, struct record_row *row);

/* Frees what *row holds.  Accepts a zeroed struct. */
void record_row_finish(struct record_row *row);

/*
 * Merges change ch (parsed, checked against form) into the loaded row and
 * writes the row back: merge state, tombstone, deleted flag, open
 * conflicts, form version (the highest seen).  A change the row has
 * merged before changes nothing (*ret_applied false).  ret_applied may be
 * NULL.
 */
fs_err record_row_apply(fs_client *c, struct record_row *row, const struct form *form,
    const struct change *ch, struct merge_result *res, bool *ret_applied);

/* The record's state in row (NULL when it has none yet).  Borrowed. */
const struct mm_record *record_row_state(const struct record_row *row, const char *id);

/* Stamps of changes, a growing list (record_row_adopt()). */
struct record_stamps {
	char (*stamp)[HLC_TEXT_LEN + 1]; /* owned: free() */
	size_t n, cap;
};

/*
 * Makes the server's packed state of record id (a snapshot row, checked
 * here) the row's state and writes it, with the later of the two
 * tombstones.  *ret_local receives the changes the loaded row had merged
 * that the server's row does not hold (this device's own, not yet
 * acknowledged): the caller merges them again from its change log.
 * FS_ERR_PROTOCOL for a malformed state.  Free ret_local->stamp.
 */
fs_err record_row_adopt(fs_client *c, struct record_row *row, const char *id, const char *form,
    int64_t version, const char *tombstone, const cJSON *state, struct record_stamps *ret_local);

/*
 * Builds the packed state of every record from the tables of schema 2
 * (writes, write_bases, fields, conflicts): the migration to schema 3.
 */
fs_err record_row_migrate_v2(fs_client *c);

/*
 * Schema 4 -> 5 (rule2_migrate.c): rows of merge rule 1 with a tombstone
 * brought to rule 2, and, if there were any, the next sync set to take the
 * server's rows again.  In the caller's transaction.
 */
fs_err record_row_migrate_rule2(fs_client *c);

#endif /* FS_CLIENT_RECORD_ROW_H */
