/*
 * merge_sqlite.h -- struct merge_ops on an SQLite connection.
 *
 * Used by the device store and by the daemon's SQLite store: both hold the
 * same three tables (MERGE_SQLITE_SCHEMA) next to their `fields` table
 * (record_id, name, value, stamp).  Statements are prepared once per
 * struct merge_sqlite and reused.
 */
#ifndef FS_MERGE_SQLITE_H
#define FS_MERGE_SQLITE_H

#include <sqlite3.h>

#include "merge.h"

#define MERGE_SQLITE_SCHEMA                                                                   \
	"CREATE TABLE IF NOT EXISTS writes(record_id TEXT NOT NULL, name TEXT NOT NULL,"      \
	" stamp TEXT NOT NULL, base TEXT, value TEXT, device TEXT NOT NULL,"                   \
	" PRIMARY KEY(record_id, name, stamp)) WITHOUT ROWID;"                                 \
	"CREATE TABLE IF NOT EXISTS write_bases(record_id TEXT NOT NULL, name TEXT NOT NULL," \
	" stamp TEXT NOT NULL, PRIMARY KEY(record_id, name, stamp)) WITHOUT ROWID;"            \
	"CREATE TABLE IF NOT EXISTS conflicts(record_id TEXT NOT NULL, name TEXT NOT NULL,"   \
	" stamp TEXT NOT NULL, created_at TEXT NOT NULL,"                                      \
	" PRIMARY KEY(record_id, name, stamp)) WITHOUT ROWID;"

/*
 * Merge rule 2's record-level stamp sets (merge.h, enum merge_mark), for
 * the write-set storage only: the stores keep them in the packed row
 * (merge_mem.h).  Not part of MERGE_SQLITE_SCHEMA, which old schema
 * migrations replay.
 */
#define MERGE_SQLITE_MARKS_SCHEMA                                                             \
	"CREATE TABLE IF NOT EXISTS marks(record_id TEXT NOT NULL, kind INTEGER NOT NULL,"     \
	" stamp TEXT NOT NULL, PRIMARY KEY(record_id, kind, stamp)) WITHOUT ROWID;"

/*
 * Merge rule 1 (protocol.h) for stores written before it: a null head
 * beside a null current value is no conflict (two devices deleting one
 * record); such rows, opened by the rule before, are dropped.  Run once
 * by each store's schema migration, after which every replica, old or
 * fresh, holds the same conflict set for the same writes.  The server
 * recounts records.open_conflicts after it.
 */
#define MERGE_SQLITE_MIGRATE_RULE_1                                                            \
	"DELETE FROM conflicts WHERE EXISTS (SELECT 1 FROM writes w"                           \
	" WHERE w.record_id = conflicts.record_id AND w.name = conflicts.name"                  \
	" AND w.stamp = conflicts.stamp AND w.value IS NULL) AND EXISTS (SELECT 1 FROM fields f" \
	" WHERE f.record_id = conflicts.record_id AND f.name = conflicts.name"                  \
	" AND f.value IS NULL);"

enum {
	MS_WRITE_INSERT,
	MS_BASE_INSERT,
	MS_MIN_HEAD,
	MS_MAX_WRITE,
	MS_MAX_NOT_LOSING,
	MS_RECORD_FIELDS,
	MS_FIELD_SET,
	MS_FIELD_CLEAR,
	MS_CONFLICT_DELETE,
	MS_CONFLICT_INSERT,
	MS_CONFLICT_COUNT,
	MS_RECORD_STATE,
	MS_FIELD_SET_WRITE,
	MS_MARK_INSERT,
	MS_NSTMT
};

/* Multi-row inserts of first writes: 1, 2, 4, ... MS_MULTI_MAX rows. */
#define MS_MULTI_SIZES 6
#define MS_MULTI_MAX   (1 << (MS_MULTI_SIZES - 1))

struct merge_sqlite {
	sqlite3 *db;
	sqlite3_stmt *st[MS_NSTMT];
	sqlite3_stmt *multi[2][MS_MULTI_SIZES]; /* writes, fields; prepared on first use */
	struct merge_ops ops;
};

/* Prepares the statements; ms->ops is ready on FS_OK.  ms is caller memory. */
fs_err merge_sqlite_init(struct merge_sqlite *ms, sqlite3 *db);

/* Finalises the statements.  Accepts a zeroed or half-built struct. */
void merge_sqlite_finish(struct merge_sqlite *ms);

#endif /* FS_MERGE_SQLITE_H */
