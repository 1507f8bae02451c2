/*
 * db.c -- the device store: opening, durability settings, schema
 * migrations and small SQL helpers.
 *
 * The store is one SQLite file in WAL mode with synchronous=FULL, so a
 * committed transaction survives a power cut.  The schema version is
 * PRAGMA user_version; migrations[i] moves version i to i+1 and each runs
 * in its own transaction.  A store newer than this code is refused
 * (FS_ERR_SCHEMA) rather than guessed at.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypt_vfs.h"
#include "internal.h"
#include "merge_row.h"
#include "merge_sqlite.h"
#include "record_row.h"

/*
 * migrations[i] moves schema version i to i+1: its SQL, then (if set) its
 * C step, in one transaction.
 */
struct migration {
	const char *sql;
	fs_err (*fn)(fs_client *c);
	const char *sql_after;
};

static const struct migration migrations[] = {
	/* 0 -> 1: the first schema. */
	{ "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	  "CREATE TABLE forms(id TEXT NOT NULL, version INTEGER NOT NULL,"
	  " definition TEXT NOT NULL, imported_at TEXT NOT NULL,"
	  " PRIMARY KEY(id, version));"
	  "CREATE TABLE records(id TEXT PRIMARY KEY, form TEXT NOT NULL,"
	  " form_version INTEGER NOT NULL, tombstone TEXT,"
	  " deleted INTEGER NOT NULL DEFAULT 0,"
	  " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
	  "CREATE INDEX records_form ON records(form, updated_at);"
	  /* One row per field: its JSON value and the HLC stamp that set it. */
	  "CREATE TABLE fields(record_id TEXT NOT NULL REFERENCES records(id),"
	  " name TEXT NOT NULL, value TEXT, stamp TEXT NOT NULL,"
	  " PRIMARY KEY(record_id, name)) WITHOUT ROWID;"
	  /* Append-only: rows are inserted, then only their pushed/rejected
	   * marks change.  body is the change exactly as it goes on the wire. */
	  "CREATE TABLE changelog(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " record_id TEXT NOT NULL, hlc TEXT NOT NULL UNIQUE, body TEXT NOT NULL,"
	  " created_at TEXT NOT NULL, pushed INTEGER NOT NULL DEFAULT 0,"
	  " batch TEXT, rejected TEXT, device_hlc TEXT);"
	  "CREATE INDEX changelog_pending ON changelog(pushed, seq);"
	  "CREATE TRIGGER changelog_no_delete BEFORE DELETE ON changelog"
	  " BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;"
	  /* Every field write seen, local or pulled, for the merge rule. */
	  MERGE_SQLITE_SCHEMA,
	  NULL, NULL },
	/* 1 -> 2: merge rule 1 for a store written before it (merge_sqlite.h). */
	{ MERGE_SQLITE_MIGRATE_RULE_1, NULL, NULL },
	/*
	 * 2 -> 3: one row per record (record_row.h); the fan-out tables go.
	 * The change log loses AUTOINCREMENT (its rows are never deleted, so
	 * a plain rowid never repeats either): one page less written per save,
	 * sqlite_sequence's.
	 */
	{ "ALTER TABLE records ADD COLUMN state TEXT;"
	  "ALTER TABLE records ADD COLUMN conflicts INTEGER NOT NULL DEFAULT 0;"
	  "CREATE TABLE changelog3(seq INTEGER PRIMARY KEY, record_id TEXT NOT NULL,"
	  " hlc TEXT NOT NULL UNIQUE, body TEXT NOT NULL, created_at TEXT NOT NULL,"
	  " pushed INTEGER NOT NULL DEFAULT 0, batch TEXT, rejected TEXT, device_hlc TEXT);"
	  "INSERT INTO changelog3 SELECT seq, record_id, hlc, body, created_at, pushed, batch,"
	  " rejected, device_hlc FROM changelog;"
	  "DROP TABLE changelog;"
	  "ALTER TABLE changelog3 RENAME TO changelog;"
	  "CREATE INDEX changelog_pending ON changelog(pushed, seq);"
	  "CREATE TRIGGER changelog_no_delete BEFORE DELETE ON changelog"
	  " BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;",
	  record_row_migrate_v2,
	  "DROP TABLE fields; DROP TABLE writes; DROP TABLE write_bases; DROP TABLE conflicts;"
	  /* For people and tests reading the store with sqlite3 (merge_row.h). */
	  MERGE_ROW_VIEWS("conflicts") },
	/*
	 * 3 -> 4: chain of custody (signing.c).  Each change's link hash in
	 * the device's chain; rows pushed before signatures have none.  The
	 * key pair and the signing of pending changes follow at open
	 * (signing_load), in a transaction of their own.
	 */
	{ "ALTER TABLE changelog ADD COLUMN link TEXT;", NULL, NULL },
	/*
	 * 4 -> 5: merge rule 2 (issue 22; rule2_migrate.c).  A delete no
	 * longer writes nulls: rows with a tombstone are converted, and the
	 * next sync takes the server's rows again.
	 */
	{ "SELECT 1;", record_row_migrate_rule2, NULL },
	/*
	 * 5 -> 6: the author's plain copies of its sealed values until the
	 * server acknowledges them (issue 17, drafts.c).
	 */
	{ "CREATE TABLE drafts(record_id TEXT NOT NULL, field TEXT NOT NULL, hlc TEXT NOT NULL,"
	  " value TEXT NOT NULL, keep INTEGER NOT NULL DEFAULT 0,"
	  " PRIMARY KEY(record_id, field, hlc)) WITHOUT ROWID;",
	  NULL, NULL },
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

fs_err
db_fail(fs_client *c, const char *what)
{
	int rc = sqlite3_extended_errcode(c->db);
	fs_err err;

	/* A page of an encrypted store that does not open (crypt_vfs.h). */
	if (rc == SQLITE_IOERR_DATA)
		return client_fail(c, FS_ERR_CORRUPT,
		    "%s: a page of the encrypted store does not open: damaged or altered", what);
	switch (rc & 0xff) {
	case SQLITE_FULL:
		err = FS_ERR_FULL;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		err = FS_ERR_BUSY;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		err = FS_ERR_CORRUPT;
		break;
	case SQLITE_NOMEM:
		err = FS_ERR_NOMEM;
		break;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
		err = FS_ERR_IO;
		break;
	default:
		err = FS_ERR_DB;
		break;
	}
	return client_fail(c, err, "%s: %s", what, sqlite3_errmsg(c->db));
}

fs_err
db_exec(fs_client *c, const char *sql)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(c, "store");
	return FS_OK;
}

fs_err
db_prepare(fs_client *c, const char *sql, sqlite3_stmt **ret_stmt)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, ret_stmt, NULL) != SQLITE_OK)
		return db_fail(c, "store");
	return FS_OK;
}

fs_err
db_stmt(fs_client *c, const char *sql, sqlite3_stmt **ret_stmt)
{
	struct db_stmt_slot *slot = NULL;

	for (size_t i = 0; i < DB_STMT_CACHE; i++) {
		slot = &c->stmts[i];
		/* The address finds it; the text proves it (a buffer may be reused). */
		if (slot->sql == sql && slot->st != NULL && !slot->lent &&
		    strcmp(sqlite3_sql(slot->st), sql) == 0) {
			sqlite3_reset(slot->st);
			sqlite3_clear_bindings(slot->st);
			slot->lent = true;
			*ret_stmt = slot->st;
			return FS_OK;
		}
	}
	/* Round robin over the slots not lent out: a lent statement is in use. */
	for (size_t n = 0; n < DB_STMT_CACHE; n++) {
		slot = &c->stmts[c->stmt_next];
		c->stmt_next = (c->stmt_next + 1) % DB_STMT_CACHE;
		if (!slot->lent)
			break;
		slot = NULL;
	}
	if (slot == NULL)
		return client_fail(c, FS_ERR_INTERNAL, "statement cache: all %d statements in use",
		    DB_STMT_CACHE);
	sqlite3_finalize(slot->st);
	slot->st = NULL;
	slot->sql = NULL;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->st, NULL) !=
	    SQLITE_OK)
		return db_fail(c, "store");
	slot->sql = sql;
	slot->lent = true;
	*ret_stmt = slot->st;
	return FS_OK;
}

void
db_stmt_done(fs_client *c, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	for (size_t i = 0; i < DB_STMT_CACHE; i++) {
		if (c->stmts[i].st == st) {
			c->stmts[i].lent = false;
			return;
		}
	}
}

void
db_stmt_clear(fs_client *c)
{
	for (size_t i = 0; i < DB_STMT_CACHE; i++) {
		sqlite3_finalize(c->stmts[i].st);
		c->stmts[i].st = NULL;
		c->stmts[i].sql = NULL;
		c->stmts[i].lent = false;
	}
}

fs_err
db_begin(fs_client *c)
{
	return db_exec(c, "BEGIN IMMEDIATE");
}

fs_err
db_commit(fs_client *c)
{
	fs_err err = db_exec(c, "COMMIT");

	if (err != FS_OK)
		db_rollback(c);
	return err;
}

void
db_rollback(fs_client *c)
{
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

fs_err
db_meta_get(fs_client *c, const char *key, char **ret_value)
{
	sqlite3_stmt *st;
	fs_err err;
	char *value = NULL;
	int rc;

	if ((err = db_stmt(c, "SELECT value FROM meta WHERE key = ?", &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		value = strdup((const char *)sqlite3_column_text(st, 0));
		if (value == NULL) {
			db_stmt_done(c, st);
			return client_fail(c, FS_ERR_NOMEM, "out of memory");
		}
	} else if (rc != SQLITE_DONE) {
		err = db_fail(c, "reading settings");
	}
	db_stmt_done(c, st);
	if (err == FS_OK)
		*ret_value = value;
	return err;
}

fs_err
db_meta_set(fs_client *c, const char *key, const char *value)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = db_stmt(c, "INSERT INTO meta(key, value) VALUES(?, ?)"
			      " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "writing settings");
	db_stmt_done(c, st);
	return err;
}

fs_err
db_meta_get_i64(fs_client *c, const char *key, int64_t dflt, int64_t *ret_value)
{
	char *text = NULL, *end;
	fs_err err;
	long long v;

	if ((err = db_meta_get(c, key, &text)) != FS_OK)
		return err;
	if (text == NULL) {
		*ret_value = dflt;
		return FS_OK;
	}
	v = strtoll(text, &end, 10);
	if (*end != '\0' || end == text) {
		free(text);
		return client_fail(c, FS_ERR_CORRUPT, "setting '%s' is not a number", key);
	}
	free(text);
	*ret_value = v;
	return FS_OK;
}

fs_err
db_meta_set_i64(fs_client *c, const char *key, int64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)value);
	return db_meta_set(c, key, buf);
}

void
db_now_text(char buf[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + 19, 13, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

static fs_err
db_user_version(fs_client *c, int *ret_version)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = db_prepare(c, "PRAGMA user_version", &st)) != FS_OK)
		return err;
	if (sqlite3_step(st) != SQLITE_ROW) {
		err = db_fail(c, "reading schema version");
	} else {
		*ret_version = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	return err;
}

static fs_err
db_migrate(fs_client *c)
{
	int version = 0;
	fs_err err;
	char sql[64];

	if ((err = db_user_version(c, &version)) != FS_OK)
		return err;
	if (version > NMIGRATIONS)
		return client_fail(c, FS_ERR_SCHEMA,
		    "store schema version %d is newer than this fieldsync (%d)", version,
		    NMIGRATIONS);
	for (; version < NMIGRATIONS; version++) {
		if ((err = db_begin(c)) != FS_OK)
			return err;
		const struct migration *m = &migrations[version];

		if ((err = db_exec(c, m->sql)) != FS_OK ||
		    (m->fn != NULL && (err = m->fn(c)) != FS_OK) ||
		    (m->sql_after != NULL && (err = db_exec(c, m->sql_after)) != FS_OK)) {
			char why[FS_ERRMSG_MAX];

			snprintf(why, sizeof(why), "%s", c->errmsg);
			db_rollback(c);
			return client_fail(c, err, "migrating store to version %d: %s",
			    version + 1, why);
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		if ((err = db_exec(c, sql)) != FS_OK) {
			db_rollback(c);
			return err;
		}
		if ((err = db_commit(c)) != FS_OK)
			return err;
	}
	return FS_OK;
}

static fs_err
db_load_device(fs_client *c)
{
	char *device = NULL;
	int64_t last = 0;
	fs_err err;

	if ((err = db_meta_get(c, "device_id", &device)) != FS_OK)
		return err;
	if (device != NULL) {
		if (!hlc_valid_device(device)) {
			free(device);
			return client_fail(c, FS_ERR_CORRUPT, "stored device id is malformed");
		}
		memcpy(c->clock.device, device, HLC_DEVICE_LEN + 1);
		c->has_device = true;
		free(device);
	}
	if ((err = db_meta_get_i64(c, "hlc_last", 0, &last)) != FS_OK)
		return err;
	c->clock.last = (uint64_t)last;
	if ((err = db_meta_get_i64(c, "clock_offset_ms", 0, &c->clock_offset_ms)) != FS_OK)
		return err;
	if ((err = signing_load(c)) != FS_OK)
		return err;
	return drafts_load_key(c);
}

/*
 * Takes group and other permissions off a file that has them (a store
 * created before 0.5 was 0644).  Best effort: a file of another owner
 * stays as it is, and SQLite's open then says what is wrong, if anything.
 */
static void
tighten(const char *path, const char *suffix)
{
	char name[4096];
	struct stat st;

	if ((size_t)snprintf(name, sizeof(name), "%s%s", path, suffix) >= sizeof(name))
		return;
	if (stat(name, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
		(void)chmod(name, st.st_mode & 0700);
}

fs_err
db_open(fs_client *c, const char *path, const char *secret, size_t secret_len)
{
	bool is_file = strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0;
	bool fresh = false;
	char msg[512];
	int rc;
	fs_err err;

	/*
	 * A new store is created readable by its owner only (issue 15: it
	 * holds the whole team's records), whatever the umask; SQLite gives
	 * its WAL and shared memory files the same mode.  An existing store
	 * and its WAL are tightened to the same on open.
	 */
	if (secret == NULL && is_file && crypt_file_kind(path) == CRYPT_SEALED)
		return client_fail(c, FS_ERR_KEY,
		    "store '%s' is encrypted: give its PIN or key file (--key-file,"
		    " FIELDSYNC_KEY_FILE)", path);
	if (secret != NULL && !is_file)
		return client_fail(c, FS_ERR_MISUSE, "an encrypted store must be a file path");
	/* The key first: a wrong one stops here, before anything is opened (crypt_vfs.h). */
	if (secret != NULL &&
	    (err = crypt_vfs_start(path, secret, secret_len, &c->crypt, &fresh, msg, sizeof(msg))) !=
		FS_OK)
		return client_fail(c, err, "%s", msg);
	if (is_file) {
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
		tighten(path, "");
		tighten(path, "-wal");
		tighten(path, "-shm");
		tighten(path, "-journal");
	}
	rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
	    c->crypt != NULL ? crypt_vfs_name(c->crypt) : NULL);
	if (rc != SQLITE_OK) {
		if (c->db == NULL)
			return client_fail(c, FS_ERR_NOMEM, "out of memory");
		return client_fail(c, FS_ERR_IO, "cannot open store '%s': %s", path,
		    sqlite3_errmsg(c->db));
	}
	sqlite3_busy_timeout(c->db, 5000);
	sqlite3_extended_result_codes(c->db, 1);
	/* A new encrypted store: room for each page's nonce and tag, before any write. */
	if (fresh && crypt_vfs_prepare_new(c->db) != FS_OK)
		return db_fail(c, "setting up the encrypted store");
	/* journal_mode answers with a row; exec ignores it. */
	if ((err = db_exec(c, "PRAGMA journal_mode=WAL")) != FS_OK)
		return err == FS_ERR_CORRUPT ? err
					     : client_fail(c, err, "cannot open store '%s': %s", path,
						   sqlite3_errmsg(c->db));
	/*
	 * A 1 MiB page cache (SQLite's default is 2): a save touches a dozen
	 * pages, and the random inserts of a large pull miss any cache a
	 * phone can spare; the operating system's file cache serves them.
	 * Measured (docs/BENCHMARKS.md): pulls as fast, 1 MiB less resident.
	 */
	/*
	 * secure_delete: a removed draft (drafts.c) is overwritten with zeros
	 * in the file, not left on a free page for anyone who copies it.
	 */
	if ((err = db_exec(c, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
			      " PRAGMA cache_size=-1024; PRAGMA secure_delete=ON;")) != FS_OK)
		return err;
	if ((err = db_migrate(c)) != FS_OK)
		return err;
	return db_load_device(c);
}
