/*
 * bench-sync.c -- issue 6, figures 2, 3, 4 and 7: push throughput, bytes
 * on the wire, pull to a fresh device, growth.
 *
 * One fieldsyncd on 127.0.0.1 over HTTPS.  For each size (1k, 10k, 100k
 * realistic labor_inspection records, each from its own device and team)
 * a device store is pushed with fs_sync():
 *  - end to end: from fs_sync() to the moment the push phase ends (the
 *    progress callback's first "pull"), so the pull of its own changes
 *    that fs_sync() does next is timed apart;
 *  - server side: the push handler's time, read from the daemon's
 *    "push ... in N us" log lines (parse, validate, merge, commit);
 *  - server CPU: the daemon's user+system time over the sync, per record;
 *  - raw: the rows of schema 4 (one changes row, one records row, and a
 *    fields and a writes row per field) inserted with prepared statements,
 *    one transaction per batch of the same size, into a copy of the
 *    server's empty database (WAL, synchronous=FULL), in the same run;
 *  - raw, one row per record: the change row and a records row carrying
 *    the record as JSON -- the floor of schema 5's layout.
 * After the pushes, the server's disk per record (pages in use).  The
 * same source builds against release 0.2.0 (schema 4), so both builds
 * run it side by side (bench/run-all.sh, docs/BENCHMARKS.md).
 * Then a fresh device of the 100k team pulls everything (figure 4), and a
 * pull page is timed at each server size (figure 7).  Bytes (figure 3)
 * come from libcurl's counters (bench/wrap_curl.c) and from fs_sync_result.
 *
 * With BENCH_SEALED=1 the devices seal their three sensitive values per
 * record (issue 17): run both ways back to back to see the cost of
 * sealing on the push (bytes and time).
 *
 * usage: bench-sync [SIZE...]     (default 1000 10000 100000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "util.h"

#define BATCH 500
#define MAX_SIZES 8
#define PAGE_REPS 15

struct progress {
	double start, push_end;
};

static void
on_progress(void *arg, const fs_sync_progress *p)
{
	struct progress *pr = arg;

	if (pr->push_end == 0 && strcmp(p->phase, "push") != 0)
		pr->push_end = bench_now();
}

/* --- the raw baseline --------------------------------------------- */

struct raw_field {
	char *name, *value;
};

struct raw_change {
	char *id, *hlc, *body;
	struct raw_field *fields;
	int nfields;
};

static void
raw_must(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		bench_die("raw %s: %s", what, sqlite3_errmsg(db));
}

static void
raw_change_parse(struct raw_change *rc, const char *id, const char *hlc, const char *body)
{
	cJSON *obj = cJSON_Parse(body), *fields, *f;
	int i = 0;

	if (obj == NULL || (fields = cJSON_GetObjectItemCaseSensitive(obj, "fields")) == NULL)
		bench_die("raw: unreadable change");
	rc->id = strdup(id);
	rc->hlc = strdup(hlc);
	rc->body = strdup(body);
	rc->nfields = cJSON_GetArraySize(fields);
	rc->fields = calloc((size_t)rc->nfields, sizeof(*rc->fields));
	cJSON_ArrayForEach(f, fields)
	{
		rc->fields[i].name = strdup(f->string);
		rc->fields[i].value = cJSON_PrintUnformatted(f);
		i++;
	}
	cJSON_Delete(obj);
}

static void
raw_change_free(struct raw_change *rc)
{
	for (int i = 0; i < rc->nfields; i++) {
		free(rc->fields[i].name);
		free(rc->fields[i].value);
	}
	free(rc->fields);
	free(rc->id);
	free(rc->hlc);
	free(rc->body);
}

enum { RAW_CHANGE, RAW_RECORD, RAW_FIELD, RAW_WRITE, RAW_BATCH, RAW_N };

/* Inserts the rows of one batch in one transaction; returns the seconds it took. */
static double
raw_batch(sqlite3 *db, sqlite3_stmt **st, struct raw_change *b, int n, const char *team,
    const char *device, int batchno, bool compact)
{
	char batch[32];
	double t0 = bench_now();

	snprintf(batch, sizeof(batch), "raw-%d", batchno);
	raw_must(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), "begin");
	for (int i = 0; i < n; i++) {
		sqlite3_int64 seq;

		sqlite3_bind_text(st[RAW_CHANGE], 1, b[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st[RAW_CHANGE], 2, team, -1, SQLITE_STATIC);
		sqlite3_bind_text(st[RAW_CHANGE], 3, device, -1, SQLITE_STATIC);
		sqlite3_bind_text(st[RAW_CHANGE], 4, batch, -1, SQLITE_STATIC);
		sqlite3_bind_text(st[RAW_CHANGE], 5, b[i].hlc, -1, SQLITE_STATIC);
		sqlite3_bind_text(st[RAW_CHANGE], 6, b[i].body, -1, SQLITE_STATIC);
		raw_must(db, sqlite3_step(st[RAW_CHANGE]), "change");
		sqlite3_reset(st[RAW_CHANGE]);
		seq = sqlite3_last_insert_rowid(db);
		sqlite3_bind_text(st[RAW_RECORD], 1, b[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st[RAW_RECORD], 2, team, -1, SQLITE_STATIC);
		sqlite3_bind_text(st[RAW_RECORD], 3, device, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st[RAW_RECORD], 4, seq);
		if (compact)
			sqlite3_bind_text(st[RAW_RECORD], 5, b[i].body, -1, SQLITE_STATIC);
		raw_must(db, sqlite3_step(st[RAW_RECORD]), "record");
		sqlite3_reset(st[RAW_RECORD]);
		for (int k = 0; k < b[i].nfields && !compact; k++) {
			sqlite3_bind_text(st[RAW_FIELD], 1, b[i].id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st[RAW_FIELD], 2, b[i].fields[k].name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st[RAW_FIELD], 3, b[i].fields[k].value, -1, SQLITE_STATIC);
			sqlite3_bind_text(st[RAW_FIELD], 4, b[i].hlc, -1, SQLITE_STATIC);
			raw_must(db, sqlite3_step(st[RAW_FIELD]), "field");
			sqlite3_reset(st[RAW_FIELD]);
			sqlite3_bind_text(st[RAW_WRITE], 1, b[i].id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st[RAW_WRITE], 2, b[i].fields[k].name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st[RAW_WRITE], 3, b[i].hlc, -1, SQLITE_STATIC);
			sqlite3_bind_text(st[RAW_WRITE], 4, b[i].fields[k].value, -1, SQLITE_STATIC);
			sqlite3_bind_text(st[RAW_WRITE], 5, b[i].hlc + 17, -1, SQLITE_STATIC);
			raw_must(db, sqlite3_step(st[RAW_WRITE]), "write");
			sqlite3_reset(st[RAW_WRITE]);
		}
	}
	sqlite3_bind_text(st[RAW_BATCH], 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st[RAW_BATCH], 2, batch, -1, SQLITE_STATIC);
	raw_must(db, sqlite3_step(st[RAW_BATCH]), "batch");
	sqlite3_reset(st[RAW_BATCH]);
	raw_must(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
	return bench_now() - t0;
}

/*
 * The raw bulk insert of the rows a device store's changes become on the
 * server.  Only the inserts are timed (reading and parsing the changes is
 * not).  Returns seconds.
 */
static double
raw_insert(sqlite3 *db, const char *device_db, const char *team, bool compact)
{
	static const char *const sql[RAW_N] = {
		[RAW_CHANGE] = "INSERT INTO changes(record_id, team, device, batch, hlc, body,"
			       " received_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
			       " strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
		[RAW_RECORD] = "INSERT INTO records(id, form, form_version, team, created_by,"
			       " created_at, updated_at, last_seq) VALUES(?1, 'labor_inspection',"
			       " (SELECT max(version) FROM forms WHERE id = 'labor_inspection'),"
			       " ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ','now'),"
			       " strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?4)",
		[RAW_FIELD] = "INSERT INTO fields(record_id, name, value, stamp) VALUES(?1, ?2, ?3, ?4)",
		[RAW_WRITE] = "INSERT INTO writes(record_id, name, stamp, base, value, device)"
			      " VALUES(?1, ?2, ?3, NULL, ?4, ?5)",
		[RAW_BATCH] = "INSERT INTO batches(device, batch, answer, created_at)"
			      " VALUES(?1, ?2, '{}', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
	};
	/* One row per record holding every field (with the change's stamp) as JSON. */
	static const char compact_record[] =
	    "INSERT INTO records(id, form, form_version, team, created_by,"
	    " created_at, updated_at, last_seq, state) VALUES(?1, 'labor_inspection',"
	    " (SELECT max(version) FROM forms WHERE id = 'labor_inspection'),"
	    " ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ','now'),"
	    " strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?4, ?5)";
	sqlite3_stmt *st[RAW_N], *rd;
	struct raw_change b[BATCH];
	sqlite3 *dev;
	double total = 0;
	int n = 0, batchno = 0, rc;
	static int calls;
	char device[32];

	snprintf(device, sizeof(device), "raw-device-%d", calls++);
	for (int i = 0; i < RAW_N; i++) {
		st[i] = NULL;
		/* One row per record has no per-field tables (schema 5 has views there). */
		if (compact && (i == RAW_FIELD || i == RAW_WRITE))
			continue;
		raw_must(db, sqlite3_prepare_v2(db, compact && i == RAW_RECORD ? compact_record : sql[i],
				 -1, &st[i], NULL),
		    "prepare");
	}
	if (sqlite3_open_v2(device_db, &dev, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		bench_die("cannot open %s", device_db);
	raw_must(dev, sqlite3_prepare_v2(dev, "SELECT record_id, hlc, body FROM changelog ORDER BY seq",
			  -1, &rd, NULL),
	    "read");
	for (;;) {
		rc = sqlite3_step(rd);
		if (rc == SQLITE_ROW) {
			raw_change_parse(&b[n++], (const char *)sqlite3_column_text(rd, 0),
			    (const char *)sqlite3_column_text(rd, 1),
			    (const char *)sqlite3_column_text(rd, 2));
		} else if (rc != SQLITE_DONE) {
			bench_die("raw: reading %s: %s", device_db, sqlite3_errmsg(dev));
		}
		if (n == BATCH || (rc == SQLITE_DONE && n > 0)) {
			total += raw_batch(db, st, b, n, team, device, batchno++, compact);
			for (int i = 0; i < n; i++)
				raw_change_free(&b[i]);
			n = 0;
		}
		if (rc == SQLITE_DONE)
			break;
	}
	sqlite3_finalize(rd);
	sqlite3_close(dev);
	for (int i = 0; i < RAW_N; i++)
		sqlite3_finalize(st[i]);
	return total;
}

static bool
has_view(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	bool found;

	raw_must(db, sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = 'view'"
					    " AND name = ?", -1, &st, NULL),
	    "schema");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
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
	raw_must(db, sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
	    "checkpoint");
	raw_must(db, sqlite3_prepare_v2(db, "SELECT (p.page_count - f.freelist_count) * s.page_size"
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

/* --- one pull page, timed with a kept-alive connection -------------- */

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	*(size_t *)arg += size * nmemb;
	return size * nmemb;
}

static double
page_ms(const struct bench_daemon *d, const char *token, int64_t after)
{
	double t[PAGE_REPS];
	struct curl_slist *h = NULL;
	char url[256], auth[128];
	size_t got = 0;
	long status = 0;
	CURL *curl = curl_easy_init();

	snprintf(url, sizeof(url), "%s/v1/pull?after=%lld&limit=%d", d->url, (long long)after, BATCH);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	h = curl_slist_append(h, auth);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_CAINFO, d->cacert);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	/* The first request opens the connection; it is not counted. */
	for (int i = -1; i < PAGE_REPS; i++) {
		double t0 = bench_now();
		if (curl_easy_perform(curl) != CURLE_OK)
			bench_die("pull page request failed");
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200)
			bench_die("pull page: HTTP %ld", status);
		if (i >= 0)
			t[i] = bench_now() - t0;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	return 1e3 * bench_percentile(t, PAGE_REPS, 50);
}

/* --- main ----------------------------------------------------------- */

struct push_run {
	int n;
	double e2e_s, pull_own_s, server_s, raw_s, compact_s, server_cpu_s;
	long batches;
	fs_sync_result res;
	int64_t post_body_up, post_hdr_up, post_down;
	double req_p50_ms, req_p99_ms;
};

static void
sync_device(const struct bench_daemon *d, const char *path, const char *token,
    struct progress *pr, fs_sync_result *res)
{
	fs_sync_options o;
	fs_client *c;
	fs_err err;

	bench_sync_options(d, token, &o);
	o.progress = on_progress;
	o.progress_userdata = pr;
	if (fs_open(path, &c) != FS_OK)
		bench_die("cannot open %s", path);
	memset(res, 0, sizeof(*res));
	pr->push_end = 0;
	pr->start = bench_now();
	if ((err = fs_sync(c, &o, res)) != FS_OK)
		bench_die("sync of %s failed: %s: %s", path, fs_strerror(err), fs_errmsg(c));
	if (pr->push_end == 0)
		pr->push_end = bench_now();
	fs_close(c);
}

static cJSON *
page_figures(const struct bench_daemon *d, const char *reviewer, const char *team_token,
    int64_t total)
{
	cJSON *g = cJSON_CreateObject();

	cJSON_AddNumberToObject(g, "server_changes", (double)total);
	cJSON_AddNumberToObject(g, "first_page_ms", page_ms(d, reviewer, 0));
	cJSON_AddNumberToObject(g, "last_page_ms",
	    page_ms(d, reviewer, total > BATCH ? total - BATCH : 0));
	cJSON_AddNumberToObject(g, "team_page_ms", page_ms(d, team_token, 0));
	return g;
}

int
main(int argc, char **argv)
{
	int sizes[MAX_SIZES] = { 1000, 10000, 100000 }, nsizes = 3;
	struct push_run runs[MAX_SIZES];
	char tpl[600], path[700], rawpath[700], dbpath[700], reviewer[65], first_team[65] = "";
	struct bench_daemon d;
	struct progress pr;
	long logpos = 0, accepted;
	int64_t total = 0;
	sqlite3 *raw, *compact;
	cJSON *out, *arr, *growth;
	fs_sync_result pull_res;
	double pull_s, t0;
	size_t nreq;
	const struct bench_req *reqs;

	if (argc > 1) {
		nsizes = 0;
		for (int i = 1; i < argc && nsizes < MAX_SIZES; i++)
			if ((sizes[nsizes++] = atoi(argv[i])) < 1 || sizes[nsizes - 1] > 1000000)
				bench_die("usage: bench-sync [SIZE...] (1 to 1000000 records each)");
	}
	fs_global_init();
	for (int i = 0; i < nsizes; i++) {
		bench_template_store(sizes[i], tpl, sizeof(tpl));
	}
	bench_daemon_init(&d, "sync", 0, 0, 0);
	/* The raw baseline starts from the server's own empty database. */
	snprintf(dbpath, sizeof(dbpath), "%s/data/fieldsyncd.db", d.dir);
	if (d.pg[0] != '\0') {
		/*
		 * The PostgreSQL store (issue 18): the baselines still start from
		 * an empty SQLite store of this fieldsyncd, made beside it.
		 */
		char sq[600], form[700], *args[] = { (char *)bench_fieldsyncd(), "-f", "/dev/null",
			"-d", sq, "form", "publish", form, NULL };

		snprintf(sq, sizeof(sq), "%s/sqlite-baseline", d.dir);
		for (int i = 0; i < 2; i++) {
			snprintf(form, sizeof(form), "%s/%s.json", bench_forms_dir(),
			    i == 0 ? "labor_inspection" : "border_screening");
			if (bench_run(args, "/dev/null") != 0)
				bench_die("cannot make an empty SQLite store for the baseline");
		}
		snprintf(dbpath, sizeof(dbpath), "%s/fieldsyncd.db", sq);
	}
	snprintf(rawpath, sizeof(rawpath), "%s/raw.db", d.dir);
	bench_copy_file(dbpath, rawpath);
	if (sqlite3_open(rawpath, &raw) != SQLITE_OK)
		bench_die("cannot open %s", rawpath);
	raw_must(raw, sqlite3_exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL,
			  NULL, NULL),
	    "pragmas");
	/* What the store would cost with one row per record instead of two per field. */
	snprintf(rawpath, sizeof(rawpath), "%s/raw-compact.db", d.dir);
	bench_copy_file(dbpath, rawpath);
	if (sqlite3_open(rawpath, &compact) != SQLITE_OK)
		bench_die("cannot open %s", rawpath);
	raw_must(compact, sqlite3_exec(compact, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
			      NULL, NULL, NULL),
	    "pragmas");
	/* Schema 5 has the column; a build of schema 4 run beside it does not. */
	if (sqlite3_exec(compact, "SELECT state FROM records LIMIT 0", NULL, NULL, NULL) != SQLITE_OK)
		raw_must(compact, sqlite3_exec(compact, "ALTER TABLE records ADD COLUMN state TEXT",
				      NULL, NULL, NULL),
		    "state column");
	/* The per-field baseline needs schema 4's tables; schema 5 has views of those names. */
	if (has_view(raw, "fields"))
		raw_must(raw, sqlite3_exec(raw, "DROP VIEW fields; DROP VIEW conflicts; DROP VIEW merged;"
				  "CREATE TABLE fields(record_id TEXT NOT NULL, name TEXT NOT NULL,"
				  " value TEXT, stamp TEXT NOT NULL, PRIMARY KEY(record_id, name))"
				  " WITHOUT ROWID;"
				  "CREATE TABLE writes(record_id TEXT NOT NULL, name TEXT NOT NULL,"
				  " stamp TEXT NOT NULL, base TEXT, value TEXT, device TEXT NOT NULL,"
				  " PRIMARY KEY(record_id, name, stamp)) WITHOUT ROWID;",
				  NULL, NULL, NULL),
		    "schema 4 tables");
	bench_device_add(&d, "operator", "admin", "hq", reviewer);
	bench_daemon_start(&d);
	bench_log("fieldsyncd at %s", d.url);

	arr = cJSON_CreateArray();
	growth = cJSON_CreateArray();
	for (int i = 0; i < nsizes; i++) {
		struct push_run *r = &runs[i];
		char name[64], token[65];
		double *lat;
		size_t k = 0;

		memset(r, 0, sizeof(*r));
		r->n = sizes[i];
		snprintf(name, sizeof(name), "push-%d", r->n);
		bench_device_add(&d, name, "field", name, token);
		if (first_team[0] == '\0')
			memcpy(first_team, token, sizeof(token));
		bench_template_store(r->n, tpl, sizeof(tpl));
		snprintf(path, sizeof(path), "%s/%s.db", d.dir, name);
		bench_copy_file(tpl, path);
		bench_reqs_reset();
		r->server_cpu_s = bench_daemon_cpu_s(&d);
		sync_device(&d, path, token, &pr, &r->res);
		r->server_cpu_s = bench_daemon_cpu_s(&d) - r->server_cpu_s;
		r->e2e_s = pr.push_end - pr.start;
		r->pull_own_s = bench_now() - pr.push_end;
		if (r->res.pushed != r->n)
			bench_die("%s: pushed %lld of %d", name, (long long)r->res.pushed, r->n);
		bench_daemon_push_time(&d, &logpos, &r->server_s, &r->batches, &accepted);
		if (accepted != r->n)
			bench_die("%s: the daemon log shows %ld accepted of %d", name, accepted, r->n);
		reqs = bench_reqs(&nreq);
		lat = calloc(nreq + 1, sizeof(double));
		for (size_t j = 0; j < nreq; j++) {
			if (!reqs[j].post)
				continue;
			r->post_body_up += reqs[j].body_up;
			r->post_hdr_up += reqs[j].header_up;
			r->post_down += reqs[j].body_down + reqs[j].header_down;
			lat[k++] = reqs[j].seconds;
		}
		r->req_p50_ms = 1e3 * bench_percentile(lat, k, 50);
		r->req_p99_ms = 1e3 * bench_percentile(lat, k, 99);
		free(lat);
		r->raw_s = raw_insert(raw, path, name, false);
		r->compact_s = raw_insert(compact, path, name, true);
		total += r->n;
		bench_log("pushed %d: %.2f s end to end, %.2f s in the server, raw %.2f s", r->n,
		    r->e2e_s, r->server_s, r->raw_s);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "records", r->n);
		cJSON_AddNumberToObject(o, "push_s", r->e2e_s);
		cJSON_AddNumberToObject(o, "push_records_per_s", r->n / r->e2e_s);
		cJSON_AddNumberToObject(o, "push_us_per_record", 1e6 * r->e2e_s / r->n);
		cJSON_AddNumberToObject(o, "server_s", r->server_s);
		cJSON_AddNumberToObject(o, "server_records_per_s", r->n / r->server_s);
		/* The daemon's user+system CPU over the whole sync, per record pushed. */
		cJSON_AddNumberToObject(o, "server_cpu_us_per_record", 1e6 * r->server_cpu_s / r->n);
		cJSON_AddNumberToObject(o, "raw_s", r->raw_s);
		cJSON_AddNumberToObject(o, "raw_records_per_s", r->n / r->raw_s);
		cJSON_AddNumberToObject(o, "ingest_vs_raw", r->raw_s / r->server_s);
		cJSON_AddNumberToObject(o, "raw_one_row_per_record_per_s", r->n / r->compact_s);
		cJSON_AddNumberToObject(o, "batches", (double)r->batches);
		cJSON_AddNumberToObject(o, "push_request_p50_ms", r->req_p50_ms);
		cJSON_AddNumberToObject(o, "push_request_p99_ms", r->req_p99_ms);
		cJSON_AddNumberToObject(o, "pull_own_s", r->pull_own_s);
		cJSON_AddNumberToObject(o, "up_json_bytes_per_record",
		    (double)r->res.json_up / r->n);
		cJSON_AddNumberToObject(o, "up_wire_bytes_per_record",
		    (double)(r->post_body_up + r->post_hdr_up) / r->n);
		cJSON_AddNumberToObject(o, "up_body_ratio",
		    (double)r->post_body_up / (double)r->res.json_up);
		cJSON_AddNumberToObject(o, "push_answer_bytes_per_record",
		    (double)r->post_down / r->n);
		cJSON_AddItemToArray(arr, o);
		if (getenv("FS_BENCH_NO_PAGES") == NULL)
			cJSON_AddItemToArray(growth, page_figures(&d, reviewer, first_team, total));
	}

	/* Figure 4: a fresh device of the last team pulls all of it. */
	{
		char name[64], token[65];
		fs_client *c;
		fs_sync_options o;
		int n = sizes[nsizes - 1];

		snprintf(name, sizeof(name), "push-%d", n);
		bench_device_add(&d, "pull-fresh", "field", name, token);
		snprintf(path, sizeof(path), "%s/pull-fresh.db", d.dir);
		bench_rm_db(path);
		if (fs_open(path, &c) != FS_OK || fs_device_init(c, "pull-fresh") != FS_OK)
			bench_die("cannot make the fresh device");
		bench_sync_options(&d, token, &o);
		bench_reqs_reset();
		t0 = bench_now();
		if (fs_sync(c, &o, &pull_res) != FS_OK)
			bench_die("fresh pull failed: %s", fs_errmsg(c));
		pull_s = bench_now() - t0;
		fs_close(c);
		if (pull_res.pulled != n)
			bench_die("fresh pull got %lld of %d", (long long)pull_res.pulled, n);
		bench_log("pulled %d to a fresh device in %.2f s", n, pull_s);
	}
	reqs = bench_reqs(&nreq);

	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "bench", "sync");
	cJSON_AddItemToObject(out, "push", arr);
	{
		struct push_run *big = &runs[nsizes - 1], *small = &runs[0];
		cJSON *p = cJSON_AddObjectToObject(out, "pull");
		int64_t body_down = 0;
		for (size_t j = 0; j < nreq; j++)
			body_down += reqs[j].body_down;
		cJSON_AddNumberToObject(p, "records", (double)pull_res.pulled);
		cJSON_AddNumberToObject(p, "pull_s", pull_s);
		cJSON_AddNumberToObject(p, "pull_records_per_s", (double)pull_res.pulled / pull_s);
		cJSON_AddNumberToObject(p, "requests", (double)pull_res.requests);
		cJSON_AddNumberToObject(p, "down_json_bytes_per_record",
		    (double)pull_res.json_down / (double)pull_res.pulled);
		cJSON_AddNumberToObject(p, "down_wire_bytes_per_record",
		    (double)pull_res.bytes_down / (double)pull_res.pulled);
		cJSON_AddNumberToObject(p, "down_body_ratio",
		    (double)body_down / (double)pull_res.json_down);
		cJSON_AddNumberToObject(p, "up_wire_bytes_per_record",
		    (double)pull_res.bytes_up / (double)pull_res.pulled);
		cJSON *t = cJSON_AddObjectToObject(out, "targets");
		cJSON_AddBoolToObject(t, "push_20k_per_s", big->n / big->e2e_s >= 20000);
		cJSON_AddBoolToObject(t, "ingest_half_of_raw", big->raw_s / big->server_s >= 0.5);
		cJSON_AddBoolToObject(t, "push_bytes_35pct",
		    (double)big->post_body_up / (double)big->res.json_up <= 0.35);
		cJSON_AddBoolToObject(t, "pull_bytes_35pct",
		    (double)body_down / (double)pull_res.json_down <= 0.35);
		cJSON_AddNumberToObject(t, "push_linearity",
		    (big->e2e_s / big->n) / (small->e2e_s / small->n));
	}
	cJSON_AddItemToObject(out, "pull_page", growth);
	bench_daemon_stop(&d);
	/* Server disk: every table and index, history of one save per record. */
	if (d.pg[0] == '\0') /* PostgreSQL's disk is not read here */
		cJSON_AddNumberToObject(out, "server_disk_bytes_per_record",
		    (double)used_bytes(dbpath) / (double)total);
	cJSON_AddStringToObject(out, "store", d.pg[0] != '\0' ? "postgresql" : "sqlite");
	sqlite3_close(raw);
	sqlite3_close(compact);
	bench_print(out);
	return 0;
}
