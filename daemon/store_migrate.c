/*
 * store_migrate.c -- `fieldsyncd migrate-store --to CONNINFO` (issue 18):
 * moves a SQLite store (data_dir/fieldsyncd.db) into an empty PostgreSQL
 * database, everything as it is.
 *
 * What is copied, row for row with the same ids: devices (tokens keep
 * working, device ids and keys stay bound), forms, the change log with its
 * sequence numbers (pull cursors devices hold stay valid), records with
 * their packed state and row numbers (snapshot cursors too), batch
 * answers (a batch replayed after the move is still answered, not
 * applied twice), review events, the audit trail, the chain of custody
 * and the history chains with their hashes (the hashes cover the same
 * text in both stores, so `fieldsyncd verify` holds on the copy),
 * sealing keys, and the server's own id, clock and chain.  The sequences
 * of the target are then set past the copied ids.
 *
 * Safety: the SQLite store is first brought to this binary's schema
 * (store_open), read from one read transaction, never written; the
 * target must be empty (a second run refuses, it does not merge); the
 * whole copy is one PostgreSQL transaction, so a failure leaves the
 * target as empty as it was; row counts are compared before COMMIT.  The
 * data directory is locked exclusively as restore does: no fieldsyncd
 * may serve it meanwhile.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "admin_util.h"
#include "backup.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "store_migrate.h"
#include "store_pg_internal.h"

/*
 * One table: the SQLite columns to read (blobs as lower-case hex, ints as
 * ints), and the PostgreSQL table and columns they go to, in order.
 */
struct table {
	const char *name;
	const char *select; /* on the SQLite store */
	const char *columns; /* of the PostgreSQL table */
	int ncol;
	const char *serial;  /* the serial column whose sequence follows, or NULL */
};

static const struct table tables[] = {
	{ "devices",
	    "SELECT rowid_, name, role, team, lower(hex(token_hash)), hlc_device, revoked,"
	    " created_at, revoked_at, last_hlc, sign_key, chain_head, chain_hlc, review_teams,"
	    " wipe, wipe_at FROM devices ORDER BY rowid_",
	    "rowid_, name, role, team, token_hash, hlc_device, revoked, created_at, revoked_at,"
	    " last_hlc, sign_key, chain_head, chain_hlc, review_teams, wipe, wipe_at",
	    16, "rowid_" },
	{ "forms", "SELECT id, version, definition, published_at FROM forms ORDER BY id, version",
	    "id, version, definition, published_at", 4, NULL },
	{ "changes",
	    "SELECT seq, record_id, team, device, batch, hlc, body, received_at FROM changes"
	    " ORDER BY seq",
	    "seq, record_id, team, device, batch, hlc, body, received_at", 8, "seq" },
	{ "records",
	    "SELECT rowid, id, form, form_version, team, created_by, tombstone, deleted,"
	    " created_at, updated_at, review_status, open_conflicts, last_seq, state, assigned_to"
	    " FROM records ORDER BY rowid",
	    "rowid_, id, form, form_version, team, created_by, tombstone, deleted, created_at,"
	    " updated_at, review_status, open_conflicts, last_seq, state, assigned_to",
	    15, "rowid_" },
	{ "batches", "SELECT device, batch, answer, created_at FROM batches",
	    "device, batch, answer, created_at", 4, NULL },
	{ "review_events",
	    "SELECT id, record_id, kind, status, note, actor, at, field, stamp FROM review_events"
	    " ORDER BY id",
	    "id, record_id, kind, status, note, actor, at, field, stamp", 9, "id" },
	{ "audit",
	    "SELECT id, at, actor, action, record_id, detail, lower(hex(prev)), lower(hex(hash))"
	    " FROM audit ORDER BY id",
	    "id, at, actor, action, record_id, detail, prev, hash", 8, "id" },
	{ "chain_refused",
	    "SELECT id, device, hlc, record_id, link, prev, reason, at FROM chain_refused ORDER BY id",
	    "id, device, hlc, record_id, link, prev, reason, at", 8, "id" },
	{ "device_keys", "SELECT device, key, at FROM device_keys", "device, key, at", 3, NULL },
	{ "history",
	    "SELECT id, record_id, kind, ref, lower(hex(prev)), lower(hex(hash)) FROM history"
	    " ORDER BY id",
	    "id, record_id, kind, ref, prev, hash", 6, "id" },
	{ "seal_keys", "SELECT id, public, locked, created_at FROM seal_keys",
	    "id, public, locked, created_at", 4, NULL },
	{ "agencies", "SELECT name, title, teams, created_at FROM agencies",
	    "name, title, teams, created_at", 4, NULL },
	{ "referrals",
	    "SELECT id, record_id, agency, status, case_number, owner, due, created_by, created_at,"
	    " updated_at FROM referrals",
	    "id, record_id, agency, status, case_number, owner, due, created_by, created_at,"
	    " updated_at",
	    10, NULL },
};

#define NTABLES (sizeof(tables) / sizeof(tables[0]))
#define MAX_COLS 16
#define PROGRESS_EVERY 20000

static const char usage_text[] =
    "usage: fieldsyncd [-f file] [-d data_dir] migrate-store --to CONNINFO\n";

void
store_migrate_usage_lines(FILE *fp)
{
	fputs("       fieldsyncd [-f file] [-d data_dir] migrate-store --to CONNINFO\n", fp);
}

static void
help(void)
{
	fputs(usage_text, stdout);
	fputs("\nMoves the SQLite store of data_dir into an empty PostgreSQL database\n"
	      "(created and migrated here), every table as it is: tokens, device keys,\n"
	      "pull cursors and hash chains stay valid.  One transaction: on any error the\n"
	      "database is left empty.  Stop fieldsyncd first.  The SQLite store is not\n"
	      "changed; afterwards set `store = postgresql` and `postgresql = CONNINFO`\n"
	      "in fieldsyncd.conf.\n\n"
	      "  --to CONNINFO   libpq connection string or URI (postgresql://...); keep a\n"
	      "                  password out of it: ~/.pgpass or PGPASSWORD\n"
	      "  -h, --help      print this help and exit\n",
	    stdout);
}

/* Copies one table; *ret_n gets its rows. */
static fs_err
copy_table(sqlite3 *src, PGconn *dst, const struct table *t, int64_t *ret_n)
{
	char sql[1024], name[64];
	const char *p[MAX_COLS];
	sqlite3_stmt *st;
	size_t pos;
	int64_t n = 0;
	fs_err err = FS_OK;
	int rc;

	pos = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s(%s) VALUES(", t->name, t->columns);
	for (int i = 0; i < t->ncol; i++)
		pos += (size_t)snprintf(sql + pos, sizeof(sql) - pos, "%s$%d", i ? ", " : "", i + 1);
	snprintf(sql + pos, sizeof(sql) - pos, ")");
	snprintf(name, sizeof(name), "migrate_%s", t->name);
	if (sqlite3_prepare_v2(src, t->select, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "fieldsyncd: reading %s: %s\n", t->name, sqlite3_errmsg(src));
		return FS_ERR_DB;
	}
	{
		PGresult *r = PQprepare(dst, name, sql, t->ncol, NULL);

		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "fieldsyncd: preparing %s: %s\n", t->name, pg_message(r));
			err = FS_ERR_DB;
		}
		PQclear(r);
	}
	while (err == FS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < t->ncol; i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);

			/* hex() of NULL is '': back to NULL. */
			p[i] = sqlite3_column_type(st, i) == SQLITE_NULL || (v != NULL && v[0] == '\0' &&
				strncmp(sqlite3_column_name(st, i), "lower(hex(", 10) == 0)
			    ? NULL
			    : v;
		}
		PGresult *r = PQexecPrepared(dst, name, t->ncol, p, NULL, NULL, 0);

		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "fieldsyncd: copying %s: %s\n", t->name, pg_message(r));
			err = FS_ERR_DB;
		}
		PQclear(r);
		if (++n % PROGRESS_EVERY == 0)
			fprintf(stderr, "fieldsyncd: %s: %lld rows\n", t->name, (long long)n);
	}
	if (err == FS_OK && rc != SQLITE_DONE) {
		fprintf(stderr, "fieldsyncd: reading %s: %s\n", t->name, sqlite3_errmsg(src));
		err = FS_ERR_DB;
	}
	sqlite3_finalize(st);
	*ret_n = n;
	return err;
}

/* Rows of table in the target (inside the copy's transaction). */
static fs_err
target_count(PGconn *dst, const char *table, int64_t *ret)
{
	char sql[128];
	PGresult *r;
	fs_err err;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if ((err = pg_run(dst, "counting", &r, sql, 0, NULL)) != FS_OK)
		return err;
	*ret = pg_int(r, 0, 0);
	PQclear(r);
	return FS_OK;
}

/* The copy itself, in one transaction on dst.  Returns an exit status. */
static int
copy_all(sqlite3 *src, PGconn *dst)
{
	int64_t total = 0, n, check, empty = 0;
	sqlite3_stmt *st;
	char sql[256];
	fs_err err;

	if ((err = pg_write_begin(dst)) != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot start the copy: %s\n", fs_strerror(err));
		return 1;
	}
	for (size_t i = 0; i < NTABLES && err == FS_OK; i++) {
		if ((err = target_count(dst, tables[i].name, &n)) == FS_OK)
			empty += n;
	}
	if (err == FS_OK && empty > 0) {
		fprintf(stderr, "fieldsyncd: the target database is not empty (%lld rows): nothing"
				" copied; migrate-store fills a new, empty database only\n",
		    (long long)empty);
		pg_write_end(dst, FS_ERR_EXISTS);
		return 1;
	}
	sqlite3_exec(src, "BEGIN", NULL, NULL, NULL); /* one snapshot of the source */
	for (size_t i = 0; i < NTABLES && err == FS_OK; i++) {
		const struct table *t = &tables[i];

		if ((err = copy_table(src, dst, t, &n)) != FS_OK)
			break;
		if ((err = target_count(dst, t->name, &check)) == FS_OK && check != n) {
			fprintf(stderr, "fieldsyncd: %s: %lld rows read, %lld in the target\n", t->name,
			    (long long)n, (long long)check);
			err = FS_ERR_INTERNAL;
		}
		if (err == FS_OK && t->serial != NULL) {
			snprintf(sql, sizeof(sql),
			    "SELECT setval(pg_get_serial_sequence('%s', '%s'), coalesce(max(%s), 1),"
			    " max(%s) IS NOT NULL) FROM %s",
			    t->name, t->serial, t->serial, t->serial, t->name);
			err = pg_run(dst, "setting a sequence", NULL, sql, 0, NULL);
		}
		if (err == FS_OK)
			printf("%-14s %lld rows\n", t->name, (long long)n);
		total += n;
	}
	/* The server's own id, clock, key and chain: the source's, not the new database's. */
	if (err == FS_OK &&
	    sqlite3_prepare_v2(src, "SELECT key, value FROM server_meta", -1, &st, NULL) == SQLITE_OK) {
		while (err == FS_OK && sqlite3_step(st) == SQLITE_ROW) {
			const char *p[] = { (const char *)sqlite3_column_text(st, 0),
				(const char *)sqlite3_column_text(st, 1) };

			if (strcmp(p[0], "schema") == 0)
				continue;
			err = pg_run(dst, "server_meta", NULL,
			    "INSERT INTO server_meta(key, value) VALUES($1, $2)"
			    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			    2, p);
		}
		sqlite3_finalize(st);
	}
	sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	if (err == FS_OK) {
		char now[32];

		pg_now_text(now);
		snprintf(sql, sizeof(sql), "from=sqlite rows=%lld", (long long)total);
		err = pg_audit_append(dst, now, "cli", "store.migrate", NULL, sql);
	}
	if ((err = pg_write_end(dst, err)) != FS_OK) {
		fprintf(stderr, "fieldsyncd: migration failed (%s); the target database is left"
				" empty\n", fs_strerror(err));
		return 1;
	}
	printf("migrated %lld rows to PostgreSQL; now set store = postgresql in fieldsyncd.conf\n",
	    (long long)total);
	return 0;
}

int
store_migrate_main(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *to = NULL;
	char path[CONFIG_PATH_MAX + 32];
	struct store *store = NULL, *target = NULL;
	sqlite3 *src = NULL;
	int c, lock, rc = 1;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 'h':
			help();
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (to == NULL || optind != argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (cfg->store != CONFIG_STORE_SQLITE) {
		fprintf(stderr, "fieldsyncd: migrate-store moves a SQLite store; this configuration"
				" already uses PostgreSQL\n");
		return 2;
	}
	if ((lock = backup_lock_exclusive(cfg->data_dir)) < 0) {
		if (errno == EWOULDBLOCK)
			fprintf(stderr, "fieldsyncd: a fieldsyncd server is running on '%s'; stop it"
					" first\n", cfg->data_dir);
		else
			fprintf(stderr, "fieldsyncd: cannot lock '%s': %s\n", cfg->data_dir,
			    strerror(errno));
		return 1;
	}
	/* The source at this binary's schema first (a no-op when it is). */
	snprintf(path, sizeof(path), "%s/fieldsyncd.db", cfg->data_dir);
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "fieldsyncd: no SQLite store at '%s'\n", path);
		goto out;
	}
	if (store_open(cfg->data_dir, &store) != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot open the SQLite store in '%s'\n", cfg->data_dir);
		goto out;
	}
	store_close(store);
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "fieldsyncd: cannot read '%s'\n", path);
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	/* The target: schema created by the PostgreSQL store itself. */
	if (store_pg_open(to, &target) != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot open the PostgreSQL database (see above)\n");
		goto out;
	}
	rc = copy_all(src, store_pg_conn(target));
out:
	store_close(target);
	sqlite3_close(src);
	close(lock);
	return rc;
}
