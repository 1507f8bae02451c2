/*
 * store_sqlite.c -- the SQLite backend of store.h: connections, schema
 * migrations, devices, forms and the audit trail.
 *
 * One database file, data_dir/fieldsyncd.db, in WAL mode.  Each thread
 * gets its own connection (store_sqlite_internal.h explains why and how).
 * The schema is versioned with PRAGMA user_version: migrations[i] takes the
 * database from version i to i + 1, each in its own transaction.  This
 * array is the authoritative schema; schema/sql/server-sqlite.sql is a
 * documentation copy.  A database whose version is newer than this binary
 * knows is refused (FS_ERR_SCHEMA), never modified.
 *
 * Forms are in store_sqlite_forms.c; records, changes and conflicts are
 * not handled here (store_records.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "auth.h"
#include "form.h"
#include "hlc.h"
#include "log.h"
#include "merge_row.h"
#include "merge_sqlite.h"
#include "sqlite_util.h"
#include "store.h"
#include "store_sqlite_internal.h"

#define STORE_FILE "fieldsyncd.db"

struct conn {
	sqlite3 *db;
	struct store *store;
	struct conn *prev, *next;
};

struct store {
	struct store_base base; /* first: store.c dispatches through it */
	char *path;
	pthread_key_t key;
	pthread_mutex_t lock; /* guards conns */
	struct conn *conns;
	/* The writer lock (store_sqlite_writer_take()): one per store, waited on a monotonic clock. */
	pthread_mutex_t writer_mutex;
	pthread_cond_t writer_free;
	bool writer_held;
};

/*
 * migrations[i] takes the schema from version i to i + 1: its SQL, then
 * (if set) its C step, then its closing SQL, in one transaction.
 */
struct migration {
	const char *sql;
	fs_err (*fn)(sqlite3 *db);
	const char *sql_after;
};

static fs_err migrate_to_rows(sqlite3 *db);
static fs_err migrate_reviewers_note(sqlite3 *db);

static const struct migration migrations[] = {
    /* 0 -> 1: the full central schema. */
    { "CREATE TABLE devices(rowid_ INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL CHECK(role IN ('field','reviewer','admin')), team TEXT NOT NULL,"
    " token_hash BLOB NOT NULL UNIQUE, hlc_device TEXT UNIQUE,"
    " revoked INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, revoked_at TEXT);"
    "CREATE TABLE forms(id TEXT NOT NULL, version INTEGER NOT NULL, definition TEXT NOT NULL,"
    " published_at TEXT NOT NULL, PRIMARY KEY(id, version));"
    "CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL,"
    " team TEXT NOT NULL, device TEXT NOT NULL, batch TEXT NOT NULL, hlc TEXT NOT NULL,"
    " body TEXT NOT NULL, received_at TEXT NOT NULL);"
    "CREATE INDEX changes_team_seq ON changes(team, seq);"
    "CREATE UNIQUE INDEX changes_hlc ON changes(record_id, hlc);"
    "CREATE TABLE records(id TEXT PRIMARY KEY, form TEXT NOT NULL,"
    " form_version INTEGER NOT NULL, team TEXT NOT NULL, created_by TEXT NOT NULL,"
    " tombstone TEXT, deleted INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL, review_status TEXT NOT NULL DEFAULT 'new',"
    " open_conflicts INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL);"
    "CREATE INDEX records_form ON records(form, updated_at);"
    "CREATE TABLE fields(record_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT,"
    " stamp TEXT NOT NULL, PRIMARY KEY(record_id, name)) WITHOUT ROWID;"
    /* writes, write_bases, conflicts: the merge rule's tables (merge_sqlite.h). */
    MERGE_SQLITE_SCHEMA "CREATE INDEX conflicts_record ON conflicts(record_id);"
    "CREATE TABLE batches(device TEXT NOT NULL, batch TEXT NOT NULL, answer TEXT NOT NULL,"
    " created_at TEXT NOT NULL, PRIMARY KEY(device, batch)) WITHOUT ROWID;"
    "CREATE TABLE review_events(id INTEGER PRIMARY KEY, record_id TEXT NOT NULL,"
    " kind TEXT NOT NULL, status TEXT, note TEXT, actor TEXT NOT NULL, at TEXT NOT NULL);"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,"
    " action TEXT NOT NULL, record_id TEXT, detail TEXT);",
      NULL, NULL },
    /*
     * 1 -> 2: headquarters review.  server_meta holds the server's own HLC
     * device id (a reviewer's resolution is a change the server authors)
     * and the last stamp it issued; no device may bind that id.  Review
     * events name the field and stamp of a resolution.
     */
    { "CREATE TABLE server_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "INSERT INTO server_meta(key, value) VALUES('hlc_device', lower(hex(randomblob(8)))),"
    " ('hlc_last', '0000000000000000');"
    "CREATE TRIGGER devices_server_hlc BEFORE UPDATE OF hlc_device ON devices"
    " WHEN NEW.hlc_device = (SELECT value FROM server_meta WHERE key = 'hlc_device')"
    " BEGIN SELECT RAISE(ABORT, 'device id reserved for the server'); END;"
    "ALTER TABLE review_events ADD COLUMN field TEXT;"
    "ALTER TABLE review_events ADD COLUMN stamp TEXT;"
    "CREATE INDEX review_events_record ON review_events(record_id, id);"
    "CREATE INDEX records_updated ON records(updated_at);"
    "CREATE INDEX audit_at ON audit(at);",
      NULL, NULL },
    /*
     * 2 -> 3: protocol 2 (pull without echo).  The newest stamp the server
     * holds from each device: a device never pulls its own changes back,
     * so a cloned device image learns of its twin from this instead.
     */
    { "ALTER TABLE devices ADD COLUMN last_hlc TEXT;"
    "UPDATE devices SET last_hlc = (SELECT max(hlc) FROM changes"
    " WHERE changes.device = devices.hlc_device) WHERE hlc_device IS NOT NULL;",
      NULL, NULL },
    /*
     * 3 -> 4: merge rule 1 for a store written before it (null-vs-null
     * conflicts after a delete are none), and the records' counts again.
     */
    { MERGE_SQLITE_MIGRATE_RULE_1
    "UPDATE records SET open_conflicts = (SELECT count(*) FROM conflicts c"
    " WHERE c.record_id = records.id) WHERE open_conflicts > 0;",
      NULL, NULL },
    /*
     * 4 -> 5: one row per record (common/merge_row.h).  Each record's
     * write set becomes its packed state in records.state; the tables of
     * one row per field and write go, and views of the same names show
     * the state to people, tests and the review filters.
     */
    { "ALTER TABLE records ADD COLUMN state TEXT;"
      /* A team's records in row order: the snapshot a fresh device pulls. */
      "CREATE INDEX records_team ON records(team);",
      migrate_to_rows,
      "DROP TABLE fields; DROP TABLE writes; DROP TABLE write_bases; DROP TABLE conflicts;"
      MERGE_ROW_VIEWS("open_conflicts") },
    /*
     * 5 -> 6: chain of custody (issue 16).  A device's public key, bound
     * at its first signed push, and the head of its hash chain; the links
     * of changes a form check refused (no values), so the chain verifies
     * through them.
     */
    { "ALTER TABLE devices ADD COLUMN sign_key TEXT;"
      "ALTER TABLE devices ADD COLUMN chain_head TEXT;"
      "ALTER TABLE devices ADD COLUMN chain_hlc TEXT;"
      "CREATE TABLE chain_refused(id INTEGER PRIMARY KEY, device TEXT NOT NULL,"
      " hlc TEXT NOT NULL, record_id TEXT NOT NULL, link TEXT NOT NULL, prev TEXT NOT NULL,"
      " reason TEXT NOT NULL, at TEXT NOT NULL);"
      "CREATE INDEX chain_refused_device ON chain_refused(device, hlc);"
      /* Every key a device registered: a reset keeps the old ones for verify. */
      "CREATE TABLE device_keys(device TEXT NOT NULL, key TEXT NOT NULL, at TEXT NOT NULL,"
      " PRIMARY KEY(device, key)) WITHOUT ROWID;",
      NULL, NULL },
    /*
     * 6 -> 7: tamper-evident history (issue 16, item 3;
     * store_sqlite_history.c).  The audit trail and each record's history
     * (its changes and review events) become hash chains; what is there
     * already is chained in its order.
     */
    { "ALTER TABLE audit ADD COLUMN prev BLOB;"
      "ALTER TABLE audit ADD COLUMN hash BLOB;"
      "CREATE TABLE history(id INTEGER PRIMARY KEY, record_id TEXT NOT NULL,"
      " kind TEXT NOT NULL CHECK(kind IN ('change', 'event')), ref INTEGER NOT NULL,"
      " prev BLOB NOT NULL, hash BLOB NOT NULL);"
      "CREATE INDEX history_record ON history(record_id, id);",
      sqlite_history_migrate, NULL },
    /*
     * 7 -> 8: merge rule 2 (issue 22; store_sqlite_rule2.c).  Every record
     * that had a delete is merged again from its stored changes: a delete
     * no longer writes nulls, so the values a delete raced with come back.
     */
    { "SELECT 1;", sqlite_rule2_migrate, NULL },
    /*
     * 8 -> 9: reviewers scoped to teams (issue 15).  A reviewer's teams are
     * a JSON array; NULL is every team, which is what every reviewer added
     * before saw, so none loses access at the upgrade (OPERATIONS.md says
     * how to narrow them: `fieldsyncd device teams NAME --team ...`).
     */
    { "ALTER TABLE devices ADD COLUMN review_teams TEXT"
      " CHECK(review_teams IS NULL OR (json_valid(review_teams)"
      " AND json_type(review_teams) = 'array'));",
      migrate_reviewers_note, NULL },
    /*
     * 9 -> 10: sealed sensitive fields (issue 17; store_sqlite_seal.c).
     * Headquarters' key pairs: the public key and the secret key locked
     * under a passphrase that is never stored.
     */
    { "CREATE TABLE seal_keys(id TEXT PRIMARY KEY, public TEXT NOT NULL UNIQUE,"
      " locked TEXT NOT NULL CHECK(json_valid(locked)), created_at TEXT NOT NULL)"
      " WITHOUT ROWID;",
      NULL, NULL },
    /*
     * 10 -> 11: remote wipe (issue 17): a revoked device asked to erase
     * its store ('pending'), and its confirmation ('done', with the time).
     */
    { "ALTER TABLE devices ADD COLUMN wipe TEXT CHECK(wipe IS NULL OR wipe IN ('pending','done'));"
      "ALTER TABLE devices ADD COLUMN wipe_at TEXT;",
      NULL, NULL },
    /*
     * 11 -> 12: a record assigned to a reviewer (issue 20, item 3): the
     * reviewer's name, NULL when nobody has it; "my queue" on the page.
     */
    { "ALTER TABLE records ADD COLUMN assigned_to TEXT;"
      "CREATE INDEX records_assigned ON records(assigned_to) WHERE assigned_to IS NOT NULL;",
      NULL, NULL },
    /*
     * 12 -> 13: agencies and referrals (issue 20, items 1 and 2;
     * daemon/agency.c, daemon/referral.c).  An agency owns teams (a JSON
     * array; a team belongs to at most one agency, which the admin command
     * checks).  referrals indexes the referral records (form "referral",
     * synced data like any record) by the record referred and the agency
     * it went to, so "who reads a record" is one SQL clause.
     */
    { "CREATE TABLE agencies(name TEXT PRIMARY KEY, title TEXT NOT NULL,"
      " teams TEXT NOT NULL CHECK(json_valid(teams) AND json_type(teams) = 'array'),"
      " created_at TEXT NOT NULL) WITHOUT ROWID;"
      "CREATE TABLE referrals(id TEXT PRIMARY KEY, record_id TEXT NOT NULL, agency TEXT NOT NULL,"
      " status TEXT NOT NULL CHECK(status IN ('open','accepted','declined','closed')),"
      " case_number TEXT NOT NULL, owner TEXT, due TEXT, created_by TEXT NOT NULL,"
      " created_at TEXT NOT NULL, updated_at TEXT NOT NULL) WITHOUT ROWID;"
      "CREATE INDEX referrals_record ON referrals(record_id);"
      "CREATE INDEX referrals_agency ON referrals(agency, status);",
      NULL, NULL },
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Says how many reviewers the upgrade left seeing every team. */
static fs_err
migrate_reviewers_note(sqlite3 *db)
{
	int64_t n = 0;

	if (sqlite_query_int(db, "SELECT count(*) FROM devices WHERE role = 'reviewer'"
	                         " AND NOT revoked", &n) != SQLITE_OK)
		return store_sqlite_err(db, SQLITE_ERROR, "counting reviewers");
	if (n > 0)
		log_info("Reviewers scoped to teams: %lld reviewer(s) added before see every team;"
		         " narrow each with 'fieldsyncd device teams NAME --team TEAM'", (long long)n);
	return FS_OK;
}

static fs_err
migrate_to_rows(sqlite3 *db)
{
	char why[256] = "";
	fs_err err = merge_row_migrate(db, "open_conflicts", why, sizeof(why));

	if (err != FS_OK)
		log_warnx("Migrating records to one row each failed: %s", why);
	return err;
}

fs_err
store_sqlite_err(sqlite3 *db, int rc, const char *what)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return FS_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_warnx("Store busy during %s, giving up", what);
		return FS_ERR_BUSY;
	case SQLITE_NOMEM:
		return FS_ERR_NOMEM;
	case SQLITE_CONSTRAINT:
		/* By cause (issue 13): only a key taken means "exists". */
		switch (rc) {
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
			return FS_ERR_EXISTS;
		case SQLITE_CONSTRAINT_TRIGGER:
			/* A rule of the schema refused it (append-only, a reserved id). */
			return FS_ERR_FORBIDDEN;
		case SQLITE_CONSTRAINT_CHECK:
			return FS_ERR_INVALID;
		default:
			/* NOT NULL, a foreign key, a type: a bug of ours, never the caller's. */
			log_warnx("Store refused %s: %s", what, db ? sqlite3_errmsg(db) : "");
			return FS_ERR_INTERNAL;
		}
	case SQLITE_FULL:
		log_warnx("Store full during %s", what);
		return FS_ERR_FULL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		log_warnx("Store corrupt during %s: %s", what, db ? sqlite3_errmsg(db) : "");
		return FS_ERR_CORRUPT;
	default:
		log_warnx("Store failed during %s: %s", what,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		return FS_ERR_DB;
	}
}

fs_err
store_sqlite_exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? FS_OK : store_sqlite_err(db, rc, "exec");
}

/* Thread-specific data destructor: the thread is exiting. */
static void
conn_release(void *arg)
{
	struct conn *c = arg;
	struct store *store = c->store;

	pthread_mutex_lock(&store->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		store->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&store->lock);
	/* A statement left unfinalized keeps the connection open: say so. */
	if (sqlite3_close(c->db) != SQLITE_OK)
		log_warnx("Store connection of an ending thread still busy at close, ignoring");
	free(c);
}

static fs_err
conn_open(const char *path, sqlite3 **ret_db)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(
	    path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("Failed to open store '%s': %s", path,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return rc == SQLITE_NOMEM ? FS_ERR_NOMEM : FS_ERR_IO;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);
	/* fs_chain(), which appends to the history chains (store_sqlite_history.c). */
	if ((rc = sqlite_history_register(db)) != SQLITE_OK) {
		fs_err err = store_sqlite_err(db, rc, "connection setup");
		sqlite3_close(db);
		return err;
	}
	rc = sqlite3_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		fs_err err = store_sqlite_err(db, rc, "connection setup");
		sqlite3_close(db);
		return err;
	}
	*ret_db = db;
	return FS_OK;
}

sqlite3 *
store_sqlite_db(struct store *store)
{
	struct conn *c = pthread_getspecific(store->key);

	if (c != NULL)
		return c->db;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (conn_open(store->path, &c->db) != FS_OK) {
		free(c);
		return NULL;
	}
	c->store = store;
	pthread_mutex_lock(&store->lock);
	c->next = store->conns;
	if (c->next != NULL)
		c->next->prev = c;
	store->conns = c;
	pthread_mutex_unlock(&store->lock);
	if (pthread_setspecific(store->key, c) != 0) {
		conn_release(c);
		return NULL;
	}
	return c->db;
}

static fs_err
migrate(sqlite3 *db)
{
	sqlite3_stmt *st;
	char sql[64];
	int64_t stored = 0;
	int version = 0, rc;
	fs_err err;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		if (mode == NULL || strcmp(mode, "wal") != 0)
			log_warnx("Store refused WAL mode (journal_mode=%s), continuing",
			    mode ? mode : "?");
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return store_sqlite_err(db, rc, "journal mode");

	if ((err = store_sqlite_exec(db, "BEGIN IMMEDIATE")) != FS_OK)
		return err;
	if ((rc = sqlite_query_int(db, "PRAGMA user_version", &stored)) != SQLITE_OK) {
		err = store_sqlite_err(db, rc, "schema version");
		goto rollback;
	}
	version = stored > NMIGRATIONS ? NMIGRATIONS + 1 : (int)stored;
	if (stored > NMIGRATIONS) {
		log_warnx("Store schema version %lld is newer than this fieldsyncd (%d)",
		    (long long)stored, NMIGRATIONS);
		err = FS_ERR_SCHEMA;
		goto rollback;
	}
	for (; version < NMIGRATIONS; version++) {
		log_info("Migrating store schema to version %d", version + 1);
		const struct migration *m = &migrations[version];

		if ((err = store_sqlite_exec(db, m->sql)) != FS_OK ||
		    (m->fn != NULL && (err = m->fn(db)) != FS_OK) ||
		    (m->sql_after != NULL && (err = store_sqlite_exec(db, m->sql_after)) != FS_OK))
			goto rollback;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", version + 1);
		if ((err = store_sqlite_exec(db, sql)) != FS_OK)
			goto rollback;
	}
	return store_sqlite_exec(db, "COMMIT");
rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.close = sqlite_close,
	.device_add = sqlite_device_add,
	.device_list = sqlite_device_list,
	.device_revoke = sqlite_device_revoke,
	.device_wipe_done = sqlite_device_wipe_done,
	.open_conflicts = sqlite_open_conflicts,
	.device_set_teams = sqlite_device_set_teams,
	.device_by_token_hash = sqlite_device_by_token_hash,
	.device_bind_hlc = sqlite_device_bind_hlc,
	.device_last_hlc = sqlite_device_last_hlc,
	.form_insert = sqlite_form_insert,
	.form_definition = sqlite_form_definition,
	.form_list = sqlite_form_list,
	.audit = sqlite_audit,
	.push_begin = sqlite_push_begin,
	.batch_answer = sqlite_batch_answer,
	.push_record_head = sqlite_push_record_head,
	.push_record_values = sqlite_push_record_values,
	.push_change_insert = sqlite_push_change_insert,
	.push_record_merge = sqlite_push_record_merge,
	.push_device_seen = sqlite_push_device_seen,
	.push_batch_save = sqlite_push_batch_save,
	.push_record_info = sqlite_push_record_info,
	.push_field_heads = sqlite_push_field_heads,
	.push_delete_resolution = sqlite_push_delete_resolution,
	.push_server_stamp = sqlite_push_server_stamp,
	.push_commit = sqlite_push_commit,
	.push_abort = sqlite_push_abort,
	.max_seq = sqlite_max_seq,
	.forms_version = sqlite_forms_version,
	.change_hlc = sqlite_change_hlc,
	.pull = sqlite_pull,
	.push_event = sqlite_push_event,
	.push_audit = sqlite_push_audit,
	.push_server_device = sqlite_push_server_device,
	.snapshot = sqlite_snapshot,
	.review_list = sqlite_review_list,
	.review_get = sqlite_review_get,
	.review_fields = sqlite_review_fields,
	.review_conflicts = sqlite_review_conflicts,
	.review_delete_conflict = sqlite_review_delete_conflict,
	.review_history = sqlite_review_history,
	.review_events = sqlite_review_events,
	.review_set_status = sqlite_review_set_status,
	.review_assign = sqlite_review_assign,
	.audit_list = sqlite_audit_list,
	.export_open = sqlite_export_open,
	.export_next = sqlite_export_next,
	.export_fields = sqlite_export_fields,
	.export_close = sqlite_export_close,
	.push_custody = sqlite_push_custody,
	.push_custody_save = sqlite_push_custody_save,
	.push_change_body = sqlite_push_change_body,
	.push_chain_refused = sqlite_push_chain_refused,
	.chain_walk = sqlite_chain_walk,
	.device_key_reset = sqlite_device_key_reset,
	.history_walk = sqlite_history_walk,
	.record_history = sqlite_record_history,
	.device_info = sqlite_device_info,
	.seal_key_add = sqlite_seal_key_add,
	.seal_keys = sqlite_seal_keys,
	.agency_save = sqlite_agency_save,
	.agency_list = sqlite_agency_list,
	.push_referral_save = sqlite_push_referral_save,
	.referral_list = sqlite_referral_list,
};

fs_err
store_sqlite_open(const char *data_dir, struct store **ret_store)
{
	struct store *store;
	size_t len;
	sqlite3 *db;
	fs_err err;

	if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
		log_warn("Failed to create data directory '%s'", data_dir);
		return FS_ERR_IO;
	}
	if ((store = calloc(1, sizeof(*store))) == NULL)
		return FS_ERR_NOMEM;
	store->base.ops = &store_sqlite_ops;
	len = strlen(data_dir) + sizeof("/" STORE_FILE);
	if ((store->path = malloc(len)) == NULL) {
		free(store);
		return FS_ERR_NOMEM;
	}
	snprintf(store->path, len, "%s/%s", data_dir, STORE_FILE);
	if (pthread_key_create(&store->key, conn_release) != 0) {
		free(store->path);
		free(store);
		return FS_ERR_NOMEM;
	}
	pthread_mutex_init(&store->lock, NULL);
	pthread_mutex_init(&store->writer_mutex, NULL);
	{
		pthread_condattr_t attr;

		/* A wall clock set back while a push waits must not stretch the wait. */
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&store->writer_free, &attr);
		pthread_condattr_destroy(&attr);
	}
	if ((db = store_sqlite_db(store)) == NULL) {
		err = FS_ERR_IO;
		goto fail;
	}
	if ((err = migrate(db)) != FS_OK)
		goto fail;
	*ret_store = store;
	return FS_OK;
fail:
	store_close(store);
	return err;
}

void
sqlite_close(struct store *store)
{
	struct conn *c, *next;

	if (store == NULL)
		return;
	/* After the key is deleted no destructor can run for it any more. */
	pthread_key_delete(store->key);
	for (c = store->conns; c != NULL; c = next) {
		next = c->next;
		if (sqlite3_close(c->db) != SQLITE_OK)
			log_warnx("Store connection still busy at close, ignoring");
		free(c);
	}
	pthread_mutex_destroy(&store->lock);
	pthread_mutex_destroy(&store->writer_mutex);
	pthread_cond_destroy(&store->writer_free);
	free(store->path);
	free(store);
}

fs_err
store_sqlite_writer_take(struct store *store, int wait_s)
{
	struct timespec until;
	fs_err err = FS_OK;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_s;
	pthread_mutex_lock(&store->writer_mutex);
	while (store->writer_held && err == FS_OK) {
		if (pthread_cond_timedwait(&store->writer_free, &store->writer_mutex, &until) ==
		    ETIMEDOUT)
			err = FS_ERR_BUSY;
	}
	if (err == FS_OK)
		store->writer_held = true;
	pthread_mutex_unlock(&store->writer_mutex);
	return err;
}

void
store_sqlite_writer_release(struct store *store)
{
	pthread_mutex_lock(&store->writer_mutex);
	store->writer_held = false;
	pthread_cond_signal(&store->writer_free);
	pthread_mutex_unlock(&store->writer_mutex);
}

fs_err
store_sqlite_prepare(struct store *store, const char *sql, sqlite3_stmt **ret_st)
{
	sqlite3 *db = store_sqlite_db(store);
	int rc;

	if (db == NULL)
		return FS_ERR_DB;
	rc = sqlite3_prepare_v2(db, sql, -1, ret_st, NULL);
	return rc == SQLITE_OK ? FS_OK : store_sqlite_err(db, rc, "prepare");
}

fs_err
store_sqlite_step_done(sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	fs_err err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(sqlite3_db_handle(st), rc, what);

	sqlite3_finalize(st);
	return err;
}

const char *
store_sqlite_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s != NULL ? s : "";
}

fs_err
sqlite_device_add(struct store *store, const char *name, const char *role, const char *team,
    const char *review_teams, const unsigned char token_hash[AUTH_HASH_LEN], int64_t *ret_rowid)
{
	sqlite3_stmt *st;
	fs_err err;

	/* Names and roles are checked above the store (admin.c); the schema's CHECK guards roles. */
	err = store_sqlite_prepare(store,
	    "INSERT INTO devices(name, role, team, token_hash, created_at, review_teams)"
	    " VALUES(?1, ?2, ?3, ?4, " STORE_SQLITE_NOW ", ?5)",
	    &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, team, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, token_hash, AUTH_HASH_LEN, SQLITE_STATIC);
	if (review_teams != NULL)
		sqlite3_bind_text(st, 5, review_teams, -1, SQLITE_STATIC);
	if ((err = store_sqlite_step_done(st, "device add")) != FS_OK)
		return err;
	if (ret_rowid != NULL)
		*ret_rowid = sqlite3_last_insert_rowid(store_sqlite_db(store));
	return FS_OK;
}

fs_err
sqlite_device_list(struct store *store, store_device_cb cb, void *arg)
{
	struct store_device d;
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	err = store_sqlite_prepare(store,
	    "SELECT rowid_, name, role, team, hlc_device, revoked, created_at, revoked_at,"
	    " review_teams, coalesce(wipe, '') FROM devices ORDER BY name",
	    &st);
	if (err != FS_OK)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		d.rowid = sqlite3_column_int64(st, 0);
		d.name = store_sqlite_text(st, 1);
		d.role = store_sqlite_text(st, 2);
		d.team = store_sqlite_text(st, 3);
		d.hlc_device = store_sqlite_text(st, 4);
		d.revoked = sqlite3_column_int(st, 5) != 0;
		d.created_at = store_sqlite_text(st, 6);
		d.revoked_at = store_sqlite_text(st, 7);
		d.review_teams = (const char *)sqlite3_column_text(st, 8);
		d.wipe = store_sqlite_text(st, 9);
		if (cb(arg, &d) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	err =
	    rc == SQLITE_DONE ? FS_OK : store_sqlite_err(sqlite3_db_handle(st), rc, "device list");
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_device_revoke(struct store *store, const char *name, bool wipe)
{
	sqlite3_stmt *st;
	fs_err err;

	/* A wipe asked once stays asked (or done); a later plain revoke keeps it. */
	err = store_sqlite_prepare(store,
	    "UPDATE devices SET revoked = 1, revoked_at = coalesce(revoked_at, " STORE_SQLITE_NOW
	    "), wipe = CASE WHEN ?2 AND wipe IS NULL THEN 'pending' ELSE wipe END WHERE name = ?1",
	    &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, wipe ? 1 : 0);
	if ((err = store_sqlite_step_done(st, "device revoke")) != FS_OK)
		return err;
	return sqlite3_changes(store_sqlite_db(store)) == 0 ? FS_ERR_NOTFOUND : FS_OK;
}

fs_err
sqlite_device_wipe_done(struct store *store, int64_t rowid)
{
	sqlite3_stmt *st;
	fs_err err;

	err = store_sqlite_prepare(store,
	    "UPDATE devices SET wipe = 'done', wipe_at = " STORE_SQLITE_NOW
	    " WHERE rowid_ = ?1 AND wipe = 'pending'",
	    &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_int64(st, 1, rowid);
	if ((err = store_sqlite_step_done(st, "device wipe")) != FS_OK)
		return err;
	return sqlite3_changes(store_sqlite_db(store)) == 0 ? FS_ERR_NOTFOUND : FS_OK;
}

fs_err
sqlite_device_by_token_hash(struct store *store, const unsigned char token_hash[AUTH_HASH_LEN],
    struct store_token_row *ret)
{
	sqlite3_stmt *st;
	const void *stored;
	fs_err err;
	int rc;

	err = store_sqlite_prepare(store,
	    "SELECT rowid_, name, role, team, hlc_device, revoked, token_hash, review_teams,"
	    " wipe IS 'pending' FROM devices WHERE token_hash = ?1",
	    &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_blob(st, 1, token_hash, AUTH_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE
		          ? FS_ERR_NOTFOUND
		          : store_sqlite_err(sqlite3_db_handle(st), rc, "token lookup");
		sqlite3_finalize(st);
		return err;
	}
	memset(ret, 0, sizeof(*ret));
	stored = sqlite3_column_blob(st, 6);
	if (stored != NULL && sqlite3_column_bytes(st, 6) == AUTH_HASH_LEN)
		memcpy(ret->token_hash, stored, AUTH_HASH_LEN);
	ret->who.device_rowid = sqlite3_column_int64(st, 0);
	snprintf(ret->who.name, sizeof(ret->who.name), "%s", store_sqlite_text(st, 1));
	snprintf(ret->who.role, sizeof(ret->who.role), "%s", store_sqlite_text(st, 2));
	snprintf(ret->who.team, sizeof(ret->who.team), "%s", store_sqlite_text(st, 3));
	snprintf(ret->who.hlc_device, sizeof(ret->who.hlc_device), "%s", store_sqlite_text(st, 4));
	ret->revoked = sqlite3_column_int(st, 5) != 0;
	ret->who.wipe_pending = sqlite3_column_int(st, 8) != 0;
	if (strcmp(ret->who.role, "reviewer") == 0 && sqlite3_column_type(st, 7) != SQLITE_NULL)
		snprintf(ret->who.review_teams, sizeof(ret->who.review_teams), "%s",
		    store_sqlite_text(st, 7));
	sqlite3_finalize(st);
	return FS_OK;
}

fs_err
sqlite_device_set_teams(struct store *store, const char *name, const char *review_teams)
{
	sqlite3_stmt *st;
	fs_err err;
	int role_ok = 0;

	if ((err = store_sqlite_prepare(store,
		 "SELECT role = 'reviewer' FROM devices WHERE name = ?1", &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return FS_ERR_NOTFOUND;
	}
	role_ok = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (!role_ok)
		return FS_ERR_INVALID;
	if ((err = store_sqlite_prepare(store,
		 "UPDATE devices SET review_teams = ?2 WHERE name = ?1", &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (review_teams != NULL)
		sqlite3_bind_text(st, 2, review_teams, -1, SQLITE_STATIC);
	return store_sqlite_step_done(st, "device teams");
}

fs_err
sqlite_device_bind_hlc(struct store *store, int64_t rowid, const char *hlc_device)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	if (!hlc_valid_device(hlc_device))
		return FS_ERR_INVALID;
	/* One statement: atomic on its own and inside a caller's transaction. */
	err = store_sqlite_prepare(store,
	    "UPDATE devices SET hlc_device = ?2 WHERE rowid_ = ?1 AND hlc_device IS NULL", &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_int64(st, 1, rowid);
	sqlite3_bind_text(st, 2, hlc_device, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	/* Another row holds this id (UNIQUE), or it is the server's own (the trigger). */
	if (rc == SQLITE_CONSTRAINT_TRIGGER)
		return FS_ERR_EXISTS;
	if (rc != SQLITE_DONE)
		return store_sqlite_err(store_sqlite_db(store), rc, "device bind");

	if ((err = store_sqlite_prepare(
	         store, "SELECT hlc_device FROM devices WHERE rowid_ = ?1", &st)) != FS_OK)
		return err;
	sqlite3_bind_int64(st, 1, rowid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = strcmp(store_sqlite_text(st, 0), hlc_device) == 0 ? FS_OK : FS_ERR_FORBIDDEN;
	else if (rc == SQLITE_DONE)
		err = FS_ERR_NOTFOUND;
	else
		err = store_sqlite_err(sqlite3_db_handle(st), rc, "device bind");
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_device_last_hlc(struct store *store, int64_t rowid, char ret_hlc[HLC_TEXT_LEN + 1])
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	ret_hlc[0] = '\0';
	if ((err = store_sqlite_prepare(store, "SELECT last_hlc FROM devices WHERE rowid_ = ?1",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_int64(st, 1, rowid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT)
		snprintf(ret_hlc, HLC_TEXT_LEN + 1, "%s", store_sqlite_text(st, 0));
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = store_sqlite_err(sqlite3_db_handle(st), rc, "reading a device");
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_audit(struct store *store, const char *actor, const char *action, const char *record_id,
    const char *detail)
{
	sqlite3_stmt *st;
	fs_err err;

	err = store_sqlite_prepare(store,
	    SQLITE_AUDIT_INSERT, &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, record_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	return store_sqlite_step_done(st, "audit");
}
