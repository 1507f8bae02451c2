/*
 * bench-save.c -- issue 6, figure 1: forms saved per second on a device.
 *
 * fs_record_create() (validation, the record's row, change log, clock: one
 * transaction, synchronous=FULL, WAL) against a bare SQLite transaction
 * that inserts the same record as one row into a table with the same
 * settings, in the same directory and the same run.  The two are
 * interleaved in rounds, alternating which goes first, so that load from
 * other processes falls on both alike.
 *
 * Also the disk each side uses per record (issue 12: <= 1.5 KB on the
 * device, history of one save).
 *
 * Issue 17: a third side saves the same records into a device store that
 * knows headquarters' key, so its three sensitive values are sealed and
 * kept as drafts: the cost of sealing is sealed / plain, in the same run,
 * and the bytes of a change as pushed (the change log's body) sealed and
 * plain.  A fourth side saves into an encrypted store (client/crypt_vfs.h,
 * every page sealed): encrypted / plain; and the time to open an
 * encrypted store (Argon2id of the PIN) against a plain one.
 *
 * usage: bench-save [SAVES]     (default 2000 of each)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sqlite3.h>

#include "util.h"

#define ROUND 50

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
must(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		bench_die("%s: %s", what, sqlite3_errmsg(db));
}

/* Bytes of the pages a store uses, after its WAL is checkpointed into it. */
static int64_t
used_bytes(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = 0;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		bench_die("cannot open %s", path);
	must(db, sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
	    "checkpoint");
	must(db, sqlite3_prepare_v2(db, "SELECT (p.page_count - f.freelist_count) * s.page_size"
					" FROM pragma_page_count p, pragma_freelist_count f,"
					" pragma_page_size s",
		     -1, &st, NULL),
	    "page count");
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

struct side {
	double wall, cpu;
	double *lat;
	int n;
};

/* Mean bytes of a change as logged (and pushed, before compression). */
static double
avg_body(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	double n = 0;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		bench_die("cannot open %s", path);
	must(db, sqlite3_prepare_v2(db, "SELECT avg(length(body)) FROM changelog", -1, &st, NULL),
	    "avg body");
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

int
main(int argc, char **argv)
{
	int total = argc > 1 ? atoi(argv[1]) : 2000;
	char fs_path[600], bare_path[600], sealed_path[600], crypt_path[600], buf[8192], *form, *id,
	    **recs, msg[256];
	struct side fs = { 0 }, bare = { 0 }, sealed = { 0 }, crypt = { 0 };
	static const char pin[] = "bench-pin-0000";
	double open_plain_s, open_crypt_s, t0;
	sqlite3_stmt *ins, *begin, *commit;
	uint64_t rng = 42;
	fs_client *c, *cs, *cc;
	sqlite3 *db;
	size_t len;
	fs_err err;
	cJSON *out;
	int64_t fs_bytes, bare_bytes;

	msg[0] = '\0';
	if (total < ROUND || total > 1000000)
		bench_die("usage: bench-save [SAVES >= %d]", ROUND);
	snprintf(fs_path, sizeof(fs_path), "%s/save-device.db", bench_workdir());
	snprintf(bare_path, sizeof(bare_path), "%s/save-bare.db", bench_workdir());
	snprintf(sealed_path, sizeof(sealed_path), "%s/save-sealed.db", bench_workdir());
	snprintf(crypt_path, sizeof(crypt_path), "%s/save-crypt.db", bench_workdir());
	bench_rm_db(fs_path);
	bench_rm_db(bare_path);
	bench_rm_db(sealed_path);
	bench_rm_db(crypt_path);
	if ((err = fs_open(fs_path, &c)) != FS_OK || fs_device_init(c, "bench-save") != FS_OK)
		bench_die("cannot make the device store");
	snprintf(buf, sizeof(buf), "%s/labor_inspection.json", bench_forms_dir());
	form = bench_read_file(buf, &len);
	if (fs_forms_import(c, form, len, NULL) != FS_OK)
		bench_die("form import: %s", fs_errmsg(c));
	if (fs_open(sealed_path, &cs) != FS_OK || fs_device_init(cs, "bench-sealed") != FS_OK ||
	    fs_forms_import(cs, form, len, NULL) != FS_OK)
		bench_die("cannot make the sealed device store");
	bench_seal_key(cs);
	if (fs_open_encrypted(crypt_path, pin, strlen(pin), &cc, msg, sizeof(msg)) != FS_OK ||
	    fs_device_init(cc, "bench-crypt") != FS_OK || fs_forms_import(cc, form, len, NULL) != FS_OK)
		bench_die("cannot make the encrypted device store: %s", msg);
	free(form);

	/* The bare baseline: same journal and sync settings, one row per record. */
	if (sqlite3_open(bare_path, &db) != SQLITE_OK)
		bench_die("cannot open %s", bare_path);
	must(db, sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				  " CREATE TABLE records(id TEXT PRIMARY KEY, form TEXT NOT NULL,"
				  " form_version INTEGER NOT NULL, body TEXT NOT NULL,"
				  " created_at TEXT NOT NULL)",
		     NULL, NULL, NULL),
	    "bare schema");
	must(db, sqlite3_prepare_v2(db, "INSERT INTO records VALUES(lower(hex(randomblob(16))),"
					"'labor_inspection', 1, ?1,"
					" strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
		     -1, &ins, NULL),
	    "prepare");
	must(db, sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL), "prepare");
	must(db, sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL), "prepare");

	fs.lat = calloc((size_t)total, sizeof(double));
	bare.lat = calloc((size_t)total, sizeof(double));
	sealed.lat = calloc((size_t)total, sizeof(double));
	crypt.lat = calloc((size_t)total, sizeof(double));
	/* Both sides save the same records, made before the clock starts. */
	recs = calloc((size_t)total, sizeof(*recs));
	if (fs.lat == NULL || bare.lat == NULL || sealed.lat == NULL || crypt.lat == NULL ||
	    recs == NULL)
		bench_die("out of memory");
	for (int i = 0; i < total; i++) {
		bench_record_json(buf, sizeof(buf), &rng);
		if ((recs[i] = strdup(buf)) == NULL)
			bench_die("out of memory");
	}
	for (int round = 0; fs.n < total; round++) {
		/* Each side goes first, second, third and fourth in turn. */
		for (int k = 0; k < 4; k++) {
			int which = (k + round) % 4;
			struct side *s = which == 0 ? &fs : which == 1 ? &bare : which == 2 ? &sealed : &crypt;
			fs_client *sc = which == 0 ? c : which == 2 ? cs : cc;
			double w0 = bench_now(), c0 = cpu_seconds();

			for (int i = 0; i < ROUND && s->n < total; i++) {
				double t = bench_now();
				const char *rec = recs[s->n];
				if (which != 1) {
					if (fs_record_create(sc, "labor_inspection", rec, &id) != FS_OK)
						bench_die("save: %s", fs_errmsg(sc));
					fs_free(id);
				} else {
					must(db, sqlite3_step(begin), "begin");
					sqlite3_reset(begin);
					sqlite3_bind_text(ins, 1, rec, -1, SQLITE_STATIC);
					must(db, sqlite3_step(ins), "insert");
					sqlite3_reset(ins);
					must(db, sqlite3_step(commit), "commit");
					sqlite3_reset(commit);
				}
				s->lat[s->n++] = bench_now() - t;
			}
			s->wall += bench_now() - w0;
			s->cpu += cpu_seconds() - c0;
		}
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(begin);
	sqlite3_finalize(commit);
	sqlite3_close(db);
	fs_close(c);
	fs_close(cs);
	fs_close(cc);
	/* Opening: the plain store, then the encrypted one (Argon2id of the PIN). */
	t0 = bench_now();
	if (fs_open(fs_path, &c) != FS_OK)
		bench_die("reopen");
	open_plain_s = bench_now() - t0;
	fs_close(c);
	t0 = bench_now();
	if (fs_open_encrypted(crypt_path, pin, strlen(pin), &cc, msg, sizeof(msg)) != FS_OK)
		bench_die("reopen encrypted: %s", msg);
	open_crypt_s = bench_now() - t0;
	fs_close(cc);
	fs_bytes = used_bytes(fs_path);
	bare_bytes = used_bytes(bare_path);

	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "bench", "save");
	cJSON_AddNumberToObject(out, "saves", total);
	cJSON_AddNumberToObject(out, "fs_saves_per_s", total / fs.wall);
	cJSON_AddNumberToObject(out, "bare_saves_per_s", total / bare.wall);
	cJSON_AddNumberToObject(out, "cost_ratio", fs.wall / bare.wall);
	cJSON_AddNumberToObject(out, "fs_p50_ms", 1e3 * bench_percentile(fs.lat, total, 50));
	cJSON_AddNumberToObject(out, "fs_p99_ms", 1e3 * bench_percentile(fs.lat, total, 99));
	cJSON_AddNumberToObject(out, "bare_p50_ms", 1e3 * bench_percentile(bare.lat, total, 50));
	cJSON_AddNumberToObject(out, "bare_p99_ms", 1e3 * bench_percentile(bare.lat, total, 99));
	cJSON_AddNumberToObject(out, "fs_cpu_us_per_save", 1e6 * fs.cpu / total);
	cJSON_AddNumberToObject(out, "bare_cpu_us_per_save", 1e6 * bare.cpu / total);
	cJSON_AddBoolToObject(out, "target_met", fs.wall / bare.wall <= 1.5);
	/* Disk: pages in use after a checkpoint (history of one save each). */
	cJSON_AddNumberToObject(out, "fs_disk_bytes_per_record", (double)fs_bytes / total);
	cJSON_AddNumberToObject(out, "bare_disk_bytes_per_record", (double)bare_bytes / total);
	cJSON_AddBoolToObject(out, "disk_target_met", (double)fs_bytes / total <= 1536);
	/* Issue 17: sealing three sensitive values per save. */
	cJSON_AddNumberToObject(out, "sealed_saves_per_s", total / sealed.wall);
	cJSON_AddNumberToObject(out, "sealed_over_plain", sealed.wall / fs.wall);
	cJSON_AddNumberToObject(out, "sealed_p50_ms", 1e3 * bench_percentile(sealed.lat, total, 50));
	cJSON_AddNumberToObject(out, "sealed_cpu_us_per_save", 1e6 * sealed.cpu / total);
	cJSON_AddNumberToObject(out, "plain_change_bytes", avg_body(fs_path));
	cJSON_AddNumberToObject(out, "sealed_change_bytes", avg_body(sealed_path));
	/* Issue 17: the encrypted store. */
	cJSON_AddNumberToObject(out, "encrypted_saves_per_s", total / crypt.wall);
	cJSON_AddNumberToObject(out, "encrypted_over_plain", crypt.wall / fs.wall);
	cJSON_AddNumberToObject(out, "encrypted_p50_ms", 1e3 * bench_percentile(crypt.lat, total, 50));
	cJSON_AddNumberToObject(out, "encrypted_cpu_us_per_save", 1e6 * crypt.cpu / total);
	cJSON_AddNumberToObject(out, "open_plain_ms", 1e3 * open_plain_s);
	cJSON_AddNumberToObject(out, "open_encrypted_ms", 1e3 * open_crypt_s);
	bench_print(out);
	for (int i = 0; i < total; i++)
		free(recs[i]);
	free(recs);
	free(fs.lat);
	free(bare.lat);
	free(sealed.lat);
	free(crypt.lat);
	return 0;
}
