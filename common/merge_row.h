/*
 * merge_row.h -- one row per record: what device and server share of it
 * (issue 12; DESIGN "What comes now", 1).
 *
 * Both stores keep a record's merge state (merge_mem.h) packed as one
 * JSON text in records.state.  A change is merged by reading that row,
 * merging in memory with the rule's own code (merge.c over merge_mem),
 * and writing the row back: one row read and one row written per change,
 * where the write-set layout of schema 2 (merge_sqlite.h) inserted a
 * `writes` and a `fields` row per field and ran a dozen queries per field.
 *
 * This module holds the parts the two stores have in common:
 *   - merge_row_merge(): a change into a loaded state, and what the
 *     record row then says (deleted, open conflicts);
 *   - MERGE_ROW_VIEWS: SQL views named like schema 2's tables, so people,
 *     tests and SQL filters read fields and conflicts as before;
 *   - merge_row_migrate(): the write set of schema 2 packed into rows.
 */
#ifndef FS_MERGE_ROW_H
#define FS_MERGE_ROW_H

#include <stdbool.h>

#include <sqlite3.h>

#include "change.h"
#include "merge_mem.h"

/*
 * Views over records.state (SQLite's JSON functions).  `fields` has one
 * row per field with a current write: its JSON value text (SQL NULL for
 * null) and stamp; `conflicts` one row per open conflict (merge.h) with
 * the losing value, its stamp, the author device (from the stamp) and
 * the record's last update; `merged` the changes merged into each
 * record, by stamp.  open_col is the records column counting open
 * conflicts, which lets the conflicts view skip every clean record.
 */
#define MERGE_ROW_VIEWS(open_col)                                                              \
	"CREATE VIEW fields(record_id, name, value, stamp) AS"                                 \
	" SELECT r.id, f.key, CASE WHEN f.type = 'array' THEN"                                 \
	"  (CASE json_type(f.value, '$[1]') WHEN 'null' THEN NULL ELSE f.value -> '$[1]' END)" \
	"  ELSE (SELECT CASE json_type(w.value, '$[1]') WHEN 'null' THEN NULL"                 \
	"  ELSE w.value -> '$[1]' END FROM json_each(f.value, '$.w') w"                        \
	"  WHERE w.value ->> '$[0]' = f.value ->> '$.c') END,"                                 \
	" r.state ->> ('$.s[' || (CASE WHEN f.type = 'array' THEN f.value ->> '$[0]'"          \
	"  ELSE f.value ->> '$.c' END) || ']')"                                                \
	" FROM records r, json_each(r.state, '$.f') f WHERE r.state IS NOT NULL"               \
	" AND (f.type = 'array' OR json_type(f.value, '$.c') IS NOT NULL);"                    \
	"CREATE VIEW conflicts(record_id, name, stamp, value, device, created_at) AS"          \
	" SELECT r.id, f.key, r.state ->> ('$.s[' || (w.value ->> '$[0]') || ']'),"            \
	"  CASE json_type(w.value, '$[1]') WHEN 'null' THEN NULL ELSE w.value -> '$[1]' END,"  \
	"  substr(r.state ->> ('$.s[' || (w.value ->> '$[0]') || ']'), 18), r.updated_at"      \
	" FROM records r, json_each(r.state, '$.f') f, json_each(f.value, '$.w') w"            \
	" WHERE r." open_col " > 0 AND f.type = 'object' AND w.value ->> '$[2]' = 1"           \
	"  AND (f.value ->> '$.c') IS NOT (w.value ->> '$[0]')"                                \
	"  AND NOT (json_type(w.value, '$[1]') = 'null' AND EXISTS (SELECT 1"                  \
	"   FROM json_each(f.value, '$.w') cw WHERE cw.value ->> '$[0]' = f.value ->> '$.c'"   \
	"   AND json_type(cw.value, '$[1]') = 'null'));"                                       \
	"CREATE VIEW merged(record_id, stamp) AS"                                              \
	" SELECT r.id, r.state ->> ('$.s[' || x.value || ']')"                                 \
	" FROM records r, json_each(r.state, '$.seen') x WHERE r.state IS NOT NULL;"

/* What a record row says after a merge. */
struct merge_row_out {
	bool applied;   /* false: the change was merged before (a replay) */
	bool deleted;   /* merge_row_summary() */
	int open;       /* open conflicts of the record */
	char *state;    /* the packed state to store (owned; NULL when !applied) */
};

/* True if the change stamped stamp was merged into r. */
bool merge_row_seen(const struct mm_record *r, const char *stamp);

/*
 * Merges ch (parsed, checked against form) into mm, which holds the
 * record's state as loaded (or nothing, for a new record), and packs the
 * result.  tombstone (in/out, "" for none) is the record's tombstone, the
 * newest delete's stamp, moved forward by a delete (shown and sent; rule 2
 * decides deletion by merge_row_summary(), not by it).  A replay changes nothing (out->applied
 * false).  FS_ERR_NOMEM, or the rule's own errors.  Free out->state.
 */
fs_err merge_row_merge(struct merge_mem *mm, const struct form *form, const struct change *ch,
    char tombstone[HLC_TEXT_LEN + 1], struct merge_result *res, struct merge_row_out *out);

/*
 * Whether r is deleted (merge rule 2, merge.h: it has a delete and a
 * delete saw every head).  *ret_open: its open conflicts -- the fields'
 * and the record-level one -- or 0 when deleted.  r may be NULL.
 */
bool merge_row_summary(const struct mm_record *r, int *ret_open);

/* True if r is deleted under merge rule 2 (see merge_row_summary()). */
bool merge_row_deleted(const struct mm_record *r);

/*
 * True if r has the record-level conflict of merge rule 2: it is alive
 * because of a head no delete saw, and a delete is not kept against.
 */
bool merge_row_delete_conflict(const struct mm_record *r);

/*
 * For a record with that conflict, calls fn for each side: every delete
 * not kept against (is_delete, field NULL), then every head no delete saw
 * (its field and stamp).  Nothing otherwise.
 */
void merge_row_delete_conflict_each(const struct mm_record *r,
    void (*fn)(void *arg, bool is_delete, const char *field, const char *stamp), void *arg);

/* r's packed state as text (*ret owned by the caller).  FS_ERR_NOMEM. */
fs_err merge_row_pack(const struct mm_record *r, char **ret);

/* Parses record id's stored state text into mm.  FS_ERR_CORRUPT when damaged. */
fs_err merge_row_load(struct merge_mem *mm, const char *id, const char *text, size_t len);

/*
 * Schema 2 to one row per record, in the caller's transaction: for every
 * record, its writes, bases and current values (tables writes,
 * write_bases, fields) become its packed state in records.state, and
 * records.<open_col> its open conflicts.  The forms table tells each
 * record's policy (record_lww keeps every write).  The caller drops the
 * old tables afterwards.  On error, *errmsg (if not NULL) says why.
 */
fs_err merge_row_migrate(sqlite3 *db, const char *open_col, char *errmsg, size_t errlen);

#endif /* FS_MERGE_ROW_H */
