/*
 * test-kill9.c -- a save that returned FS_OK survives kill -9, and the
 * store is never left damaged.
 *
 * The parent makes a store with the labor_inspection form, then runs N
 * rounds (argv[1], default 200).  Each round forks a child that opens the
 * store and saves records as fast as it can: mostly fs_record_create, and
 * every fifth save an fs_record_edit of a record it made earlier.  Values
 * are derived from a counter k, so the parent can recompute any of them.
 * Around each save the child writes one line to a pipe with write(2):
 *
 *	c K			about to create the record for counter K
 *	C ID K			created ID from counter K (FS_OK returned)
 *	e ID FIELD K		about to set FIELD of ID to its value for K
 *	E ID FIELD K		that edit returned FS_OK
 *
 * after a first "R" line once the store is open.  The parent waits a
 * random 0-30 ms (seeded PRNG; FS_KILL9_SEED repeats a run), sends SIGKILL
 * and keeps every line it received whole.  Every eighth round is killed
 * 0-5 ms after fork instead, usually before the child has saved anything
 * or while it is still opening (and recovering) the store.
 *
 * At the end: PRAGMA integrity_check and foreign_key_check through sqlite3
 * directly, then through the public API every reported record must read
 * back with exactly the values the child saved, reported edits applied in
 * order.  A save that committed but was killed before its line was written
 * is allowed to show (an "e" line with no "E": that field may hold either
 * value; a "c" with no "C": an extra record nobody checks).  The change
 * log must hold at least one row per reported save and fs_pending_count()
 * must equal its row count.
 *
 * With FS_KILL9_PIN set, the store is an encrypted one (issue 17,
 * client/crypt_vfs.h) opened with that PIN: the same kills and the same
 * checks, the integrity check through the store's own connection.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fieldsync.h"
#include "harness.h"
#include "internal.h"

/* FS_KILL9_PIN: the PIN of an encrypted store, or NULL for a plain one. */
static const char *pin;

static fs_err
open_store(const char *path, fs_client **ret)
{
	char msg[256];

	if (pin == NULL)
		return fs_open(path, ret);
	return fs_open_encrypted(path, pin, strlen(pin), ret, msg, sizeof(msg));
}

#define DEFAULT_ROUNDS   200
#define ROUND_SPAN       100000 /* counters per round: round r uses r * ROUND_SPAN + i */
#define CHILD_MAX_SAVES  50000  /* bounds a round even if the kill never came */
#define EDIT_EVERY       5      /* every fifth save is an edit */
#define DELAY_MAX_US     30000  /* kill 0-30 ms after the child is ready */
#define EARLY_EVERY      8      /* every eighth round is killed right after fork */
#define EARLY_MAX_US     5000   /* ... within 0-5 ms */
#define READY_TIMEOUT_US (60 * 1000000LL)
#define NOTES_MAX        8192
#define LINE_MAX_LEN     256
#define MAX_REPORTED     20 /* losses printed in detail */
#define PATH_LEN         1024

/* The fields an edit changes; each edit value differs from any create value. */
enum edit_field { EF_WORKSITE, EF_INSPECTOR, EF_NOTES, EF_WORKERS, NEDIT };

static const char *const edit_names[NEDIT] = {
    "worksite_name", "inspector_id", "interview_notes", "number_of_workers"};

/* A record the child reported, and what the parent expects of it. */
struct rec {
	char id[33];
	uint64_t k;              /* counter of the create */
	bool has_edit[NEDIT];    /* a reported edit set this field ... */
	uint64_t edit_k[NEDIT];  /* ... to its value for this counter */
	bool has_maybe[NEDIT];   /* an edit began and may have committed ... */
	uint64_t maybe_k[NEDIT]; /* ... with this counter */
};

struct state {
	struct rec *recs;
	size_t nrecs, cap;
	size_t creates, edits; /* reported saves */
	int early_kills;       /* rounds that reported no save */
	int inside_kills;      /* rounds killed between an intent and its report */
	int finished;          /* rounds where the child hit CHILD_MAX_SAVES */
};

/* The part of a round the parent learns from the pipe. */
struct round {
	uint64_t base;
	size_t first_rec; /* this round's records are recs[first_rec..] */
	bool ready;
	char last; /* kind of the last whole line */
	bool pending_edit;
	size_t pe_rec;
	int pe_field;
	uint64_t pe_k;
	char buf[1 << 16];
	size_t len;
};

static uint64_t
mix(uint64_t x)
{
	/* splitmix64's finaliser: a cheap, well-spread hash of the counter. */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t prng_state;

static uint64_t
prng_next(void)
{
	prng_state += 0x9e3779b97f4a7c15ULL;
	return mix(prng_state);
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Deterministic notes text of about len bytes, some of it non-ASCII. */
static void
make_notes(char *buf, size_t size, const char *prefix, uint64_t k, size_t len)
{
	size_t n = (size_t)snprintf(buf, size, "%s %" PRIu64 ":", prefix, k);
	char word[64];
	int w;

	for (int j = 0; n < len; j++) {
		w = j % 10 == 9 ? snprintf(word, sizeof(word), " ünïcödé-%d", j)
		                : snprintf(word, sizeof(word), " note-%" PRIu64 "-%d", k % 997, j);
		if (n + (size_t)w >= size)
			break;
		memcpy(buf + n, word, (size_t)w + 1);
		n += (size_t)w;
	}
}

/* Adds or replaces name in obj; takes value. */
static void
put(cJSON *obj, const char *name, cJSON *value)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, name) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(obj, name, value);
	else
		cJSON_AddItemToObject(obj, name, value);
}

/* The values the child gives the record it creates from counter k. */
static cJSON *
values_create(uint64_t k)
{
	static const char *const sectors[] = {"agriculture", "construction", "domestic_work",
	    "fishing", "manufacturing", "mining", "hospitality", "other"};
	static const char *const decisions[] = {
	    "none", "monitor", "refer_labour_authority", "refer_police", "refer_victim_services"};
	static const char *const indicators[] = {"abuse_of_vulnerability", "deception",
	    "restriction_of_movement", "isolation", "physical_sexual_violence",
	    "intimidation_threats", "retention_of_documents", "withholding_of_wages",
	    "debt_bondage", "abusive_conditions", "excessive_overtime"};
	uint64_t h = mix(k);
	cJSON *v = cJSON_CreateObject(), *loc;
	char buf[128], *notes;
	unsigned bits;

	ASSERT(v != NULL);
	if (k % 3 == 0)
		snprintf(buf, sizeof(buf), "Ферма №%" PRIu64, k);
	else
		snprintf(buf, sizeof(buf), "Worksite %" PRIu64, k);
	cJSON_AddStringToObject(v, "worksite_name", buf);
	cJSON_AddStringToObject(v, "sector", sectors[k % 8]);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", 2020 + (int)(k % 7), 1 + (int)(k / 7 % 12),
	    1 + (int)(k / 84 % 28));
	cJSON_AddStringToObject(v, "inspection_date", buf);
	if (k % 4 != 3) {
		loc = cJSON_AddObjectToObject(v, "location");
		cJSON_AddNumberToObject(loc, "lat", (double)(h % 18001) / 100.0 - 90.0);
		cJSON_AddNumberToObject(loc, "lon", (double)((h >> 20) % 36001) / 100.0 - 180.0);
		if (k % 4 == 1)
			cJSON_AddNumberToObject(loc, "acc", (double)(h >> 50) / 16.0);
	}
	/* Even on create, odd on edit: an edit always changes something. */
	if (k % 5 != 4)
		cJSON_AddNumberToObject(v, "number_of_workers", (double)(2 * (k % 50000)));
	snprintf(buf, sizeof(buf), "INS-%04u", (unsigned)(k % 10000));
	cJSON_AddStringToObject(v, "inspector_id", buf);
	for (size_t i = 0; i < sizeof(indicators) / sizeof(indicators[0]); i++) {
		bits = (unsigned)(h >> (2 * i + 8)) & 3u;
		if (bits != 0)
			cJSON_AddBoolToObject(v, indicators[i], bits != 1);
	}
	if (k % 2 == 1) {
		snprintf(buf, sizeof(buf), "Synthetic worker %" PRIu64, k);
		cJSON_AddStringToObject(v, "interviewee_name", buf);
	}
	if (k % 3 != 2) {
		snprintf(buf, sizeof(buf), "+%u (%03u) %04u-%02u", (unsigned)(h % 999) + 1,
		    (unsigned)(h >> 10) % 1000, (unsigned)(h >> 20) % 10000,
		    (unsigned)(h >> 34) % 100);
		cJSON_AddStringToObject(v, "employer_contact_phone", buf);
	}
	if (k % 3 != 1) {
		/* Up to ~6 KB: some saves span several pages. */
		ASSERT((notes = malloc(NOTES_MAX)) != NULL);
		make_notes(notes, NOTES_MAX, "Notes", k, (size_t)(h >> 40) % 6000);
		cJSON_AddStringToObject(v, "interview_notes", notes);
		free(notes);
	}
	cJSON_AddStringToObject(v, "referral_decision", decisions[k % 5]);
	if (k % 5 != 0 && k % 2 == 0) {
		snprintf(buf, sizeof(buf), "Agency %u", (unsigned)(k % 17));
		cJSON_AddStringToObject(v, "referral_agency", buf);
	}
	return v;
}

/* The value an edit with counter k gives field f. */
static cJSON *
value_edit(int f, uint64_t k)
{
	char buf[128], *notes;
	cJSON *v;

	switch (f) {
	case EF_WORKSITE:
		snprintf(buf, sizeof(buf), "Edited worksite %" PRIu64, k);
		return cJSON_CreateString(buf);
	case EF_INSPECTOR:
		snprintf(buf, sizeof(buf), "EDIT-%" PRIu64, k);
		return cJSON_CreateString(buf);
	case EF_NOTES:
		ASSERT((notes = malloc(NOTES_MAX)) != NULL);
		make_notes(notes, NOTES_MAX, "Edited", k, (size_t)(mix(k) % 2000));
		v = cJSON_CreateString(notes);
		free(notes);
		return v;
	case EF_WORKERS:
		return cJSON_CreateNumber((double)(2 * (k % 50000) + 1));
	}
	abort();
}

static char *
to_text(cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);

	ASSERT(text != NULL);
	cJSON_Delete(obj);
	return text;
}

/* The child's side. */

static void
say(int fd, const char *fmt, ...)
{
	char line[LINE_MAX_LEN];
	size_t off = 0;
	va_list ap;
	ssize_t n;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(line))
		_exit(4);
	/* One write(2) of less than PIPE_BUF bytes: atomic, and no stdio buffer. */
	while (off < (size_t)len) {
		n = write(fd, line + off, (size_t)len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(4);
		off += (size_t)n;
	}
}

static void __attribute__((noreturn)) child_die(fs_client *c, const char *what, fs_err err)
{
	/* Messages name fields and rules, never values. */
	fprintf(stderr, "kill9 child: %s: %s: %s\n", what, fs_strerror(err), fs_errmsg(c));
	_exit(3);
}

static void __attribute__((noreturn)) child_main(const char *path, int fd, uint64_t base)
{
	char(*ids)[33], *json, *id;
	size_t nids = 0;
	fs_client *c = NULL;
	fs_err err;
	uint64_t k;
	int f;

	if ((ids = malloc(CHILD_MAX_SAVES * sizeof(*ids))) == NULL)
		_exit(3);
	if ((err = open_store(path, &c)) != FS_OK)
		child_die(NULL, "fs_open", err);
	say(fd, "R\n");
	for (uint64_t i = 0; i < CHILD_MAX_SAVES; i++) {
		k = base + i;
		if (nids > 0 && i % EDIT_EVERY == EDIT_EVERY - 1) {
			const char *target = ids[mix(k) % nids];
			cJSON *obj = cJSON_CreateObject();

			f = (int)(k / EDIT_EVERY % NEDIT);
			cJSON_AddItemToObject(obj, edit_names[f], value_edit(f, k));
			json = to_text(obj);
			say(fd, "e %s %s %" PRIu64 "\n", target, edit_names[f], k);
			if ((err = fs_record_edit(c, target, json)) != FS_OK)
				child_die(c, "fs_record_edit", err);
			say(fd, "E %s %s %" PRIu64 "\n", target, edit_names[f], k);
			cJSON_free(json);
		} else {
			json = to_text(values_create(k));
			say(fd, "c %" PRIu64 "\n", k);
			if ((err = fs_record_create(c, "labor_inspection", json, &id)) != FS_OK)
				child_die(c, "fs_record_create", err);
			say(fd, "C %s %" PRIu64 "\n", id, k);
			snprintf(ids[nids++], sizeof(ids[0]), "%s", id);
			fs_free(id);
			cJSON_free(json);
		}
	}
	fs_close(c);
	_exit(0);
}

/* The parent's side: reading what the child reported. */

static bool
valid_id(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return i == 32;
}

static int
edit_field(const char *name)
{
	for (int f = 0; f < NEDIT; f++)
		if (strcmp(name, edit_names[f]) == 0)
			return f;
	return -1;
}

/* This round's record with id, or SIZE_MAX. */
static size_t
round_find(const struct state *st, const struct round *rd, const char *id)
{
	for (size_t i = rd->first_rec; i < st->nrecs; i++)
		if (strcmp(st->recs[i].id, id) == 0)
			return i;
	return SIZE_MAX;
}

static bool
in_round(const struct round *rd, uint64_t k)
{
	return k >= rd->base && k < rd->base + ROUND_SPAN;
}

/* Handles one whole line; false if it breaks the protocol. */
static bool
handle_line(struct state *st, struct round *rd, const char *line)
{
	char id[64], field[64];
	uint64_t k;
	size_t r;
	int f;

	switch (line[0]) {
	case 'R':
		if (strcmp(line, "R") != 0 || rd->ready)
			return false;
		rd->ready = true;
		return true;
	case 'c':
		if (sscanf(line, "c %" SCNu64, &k) != 1 || !in_round(rd, k))
			return false;
		break;
	case 'C':
		if (sscanf(line, "C %63s %" SCNu64, id, &k) != 2 || !valid_id(id) ||
		    !in_round(rd, k))
			return false;
		if (st->nrecs == st->cap) {
			st->cap = st->cap ? 2 * st->cap : 1024;
			ASSERT((st->recs = realloc(st->recs, st->cap * sizeof(*st->recs))) != NULL);
		}
		memset(&st->recs[st->nrecs], 0, sizeof(st->recs[0]));
		memcpy(st->recs[st->nrecs].id, id, 33);
		st->recs[st->nrecs++].k = k;
		st->creates++;
		break;
	case 'e':
	case 'E':
		if (sscanf(line + 1, " %63s %63s %" SCNu64, id, field, &k) != 3 ||
		    (f = edit_field(field)) < 0 || !in_round(rd, k) ||
		    (r = round_find(st, rd, id)) == SIZE_MAX)
			return false;
		if (line[0] == 'e') {
			rd->pending_edit = true;
			rd->pe_rec = r;
			rd->pe_field = f;
			rd->pe_k = k;
		} else {
			if (!rd->pending_edit || rd->pe_rec != r || rd->pe_field != f ||
			    rd->pe_k != k)
				return false;
			rd->pending_edit = false;
			st->recs[r].has_edit[f] = true;
			st->recs[r].edit_k[f] = k;
			st->edits++;
		}
		break;
	default:
		return false;
	}
	rd->last = line[0];
	return true;
}

/*
 * Reads what the pipe has, waiting at most until deadline (now_us() time);
 * handles whole lines.  Returns 1 if data came, 0 at the deadline, -1 at
 * end of file.
 */
static int
pump(struct state *st, struct round *rd, int fd, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int64_t left = deadline - now_us();
	char *nl, *line;
	ssize_t n;
	int rc;

	if (left <= 0)
		return 0;
	if (left < 1000) {
		/* poll() counts in milliseconds; sleep the rest exactly. */
		struct timespec ts = {0, (long)left * 1000};
		nanosleep(&ts, NULL);
		return 0;
	}
	rc = poll(&pfd, 1, (int)(left / 1000));
	if (rc < 0 && errno == EINTR)
		return 1;
	ASSERT(rc >= 0);
	if (rc == 0)
		return 0;
	n = read(fd, rd->buf + rd->len, sizeof(rd->buf) - rd->len - 1);
	if (n < 0 && errno == EINTR)
		return 1;
	ASSERT(n >= 0);
	if (n == 0)
		return -1;
	rd->len += (size_t)n;
	rd->buf[rd->len] = '\0';
	line = rd->buf;
	while ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		if (!handle_line(st, rd, line))
			FS_FAIL_AT("round at counter %" PRIu64 ": bad line from child: %.80s",
			    rd->base, line);
		line = nl + 1;
	}
	rd->len -= (size_t)(line - rd->buf);
	memmove(rd->buf, line, rd->len);
	ASSERT(rd->len < LINE_MAX_LEN);
	return 1;
}

static void
run_round(struct state *st, const char *path, int round)
{
	struct round *rd;
	int fds[2], status;
	int64_t deadline;
	bool early = round % EARLY_EVERY == EARLY_EVERY - 1;
	size_t saves_before = st->creates + st->edits;
	pid_t pid;

	ASSERT((rd = calloc(1, sizeof(*rd))) != NULL);
	rd->base = (uint64_t)round * ROUND_SPAN;
	rd->first_rec = st->nrecs;
	ASSERT(pipe(fds) == 0);
	fflush(stdout);
	fflush(stderr);
	ASSERT((pid = fork()) >= 0);
	if (pid == 0) {
		close(fds[0]);
		child_main(path, fds[1], rd->base);
	}
	close(fds[1]);
	if (early) {
		deadline = now_us() + (int64_t)(prng_next() % (EARLY_MAX_US + 1));
	} else {
		deadline = now_us() + READY_TIMEOUT_US;
		while (!rd->ready) {
			if (pump(st, rd, fds[0], deadline) <= 0) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				FS_FAIL_AT("round %d: the child never opened the store (%s)", round,
				    WIFEXITED(status) ? "it exited" : "timeout");
			}
		}
		deadline = now_us() + (int64_t)(prng_next() % (DELAY_MAX_US + 1));
	}
	while (pump(st, rd, fds[0], deadline) > 0)
		continue;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		ASSERT(errno == EINTR);
	/* Lines written before the kill are still in the pipe. */
	while (pump(st, rd, fds[0], now_us() + 10 * 1000000LL) > 0)
		continue;
	close(fds[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		st->finished++;
	else if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		FS_FAIL_AT("round %d: the child failed (status 0x%x) before it was killed", round,
		    (unsigned)status);
	if (rd->pending_edit) {
		struct rec *r = &st->recs[rd->pe_rec];

		r->has_maybe[rd->pe_field] = true;
		r->maybe_k[rd->pe_field] = rd->pe_k;
	}
	if (st->creates + st->edits == saves_before)
		st->early_kills++;
	if (rd->last == 'c' || rd->last == 'e')
		st->inside_kills++;
	free(rd);
}

/* The checks after the last kill. */

static int64_t
sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t n;

	ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
	n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

/* PRAGMA integrity_check and foreign_key_check; returns the change-log row count. */
static int64_t
check_sqlite(const char *path, sqlite3 *open_db, int64_t *ret_records)
{
	sqlite3_stmt *stmt;
	const char *text;
	sqlite3 *db = open_db;
	int rows = 0;
	int64_t changelog;

	if (db == NULL)
		ASSERT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL), SQLITE_OK);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		text = (const char *)sqlite3_column_text(stmt, 0);
		if (rows++ > 0 || text == NULL || strcmp(text, "ok") != 0)
			FS_FAIL_AT("integrity_check: %s", text != NULL ? text : "(null)");
	}
	sqlite3_finalize(stmt);
	ASSERT_EQ(rows, 1);
	ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		FS_FAIL_AT("foreign_key_check: a row of %s has no parent",
		    (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	changelog = sql_int(db, "SELECT count(*) FROM changelog");
	*ret_records = sql_int(db, "SELECT count(*) FROM records");
	if (open_db == NULL)
		ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
	return changelog;
}

/* Checks one record; returns the number of maybe-edits found applied, or -1 if lost. */
static int
check_record(fs_client *c, const struct rec *r, int *ret_reported)
{
	const cJSON *values, *deleted, *item;
	cJSON *got = NULL, *want;
	char *json;
	fs_err err;
	int maybes = 0, bad = 0;

	if ((err = fs_record_get(c, r->id, &json)) != FS_OK) {
		if ((*ret_reported)++ < MAX_REPORTED)
			fprintf(stderr, "kill9: LOST record %s (counter %" PRIu64 "): %s\n", r->id,
			    r->k, fs_strerror(err));
		return -1;
	}
	ASSERT((got = cJSON_Parse(json)) != NULL);
	fs_free(json);
	values = cJSON_GetObjectItemCaseSensitive(got, "values");
	deleted = cJSON_GetObjectItemCaseSensitive(got, "deleted");
	ASSERT(cJSON_IsObject(values));
	if (!cJSON_IsFalse(deleted)) {
		if ((*ret_reported)++ < MAX_REPORTED)
			fprintf(stderr, "kill9: record %s reads back as deleted\n", r->id);
		cJSON_Delete(got);
		return -1;
	}
	want = values_create(r->k);
	for (int f = 0; f < NEDIT; f++)
		if (r->has_edit[f])
			put(want, edit_names[f], value_edit(f, r->edit_k[f]));
	/* Every field either way round: a value lost, changed or left over. */
	for (int pass = 0; pass < 2; pass++) {
		const cJSON *a = pass == 0 ? want : values, *b = pass == 0 ? values : want;

		cJSON_ArrayForEach(item, a)
		{
			const cJSON *other = cJSON_GetObjectItemCaseSensitive(b, item->string);
			const cJSON *mine =
			    pass == 0 ? cJSON_GetObjectItemCaseSensitive(values, item->string)
			              : item;
			int f = edit_field(item->string);

			if (other != NULL && (pass == 1 || cJSON_Compare(item, other, 1)))
				continue;
			if (f >= 0 && r->has_maybe[f] && mine != NULL) {
				cJSON *maybe = value_edit(f, r->maybe_k[f]);
				bool same = cJSON_Compare(maybe, mine, 1);

				cJSON_Delete(maybe);
				if (same) {
					maybes++;
					continue;
				}
			}
			if ((*ret_reported)++ < MAX_REPORTED)
				fprintf(stderr, "kill9: LOST record %s field '%s': %s\n", r->id,
				    item->string,
				    other == NULL ? (pass == 0 ? "missing" : "unexpected")
				                  : "not the value saved");
			bad++;
		}
	}
	cJSON_Delete(want);
	cJSON_Delete(got);
	return bad > 0 ? -1 : maybes;
}

static char *
read_form(const char *name, size_t *ret_len)
{
	const char *dir = getenv("FS_FORMS_DIR");
	char path[4096];
	size_t len;
	char *buf;
	FILE *f;

	if (dir == NULL)
		FS_FAIL_AT("FS_FORMS_DIR is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		FS_FAIL_AT("cannot open %s", path);
	ASSERT((buf = malloc(1 << 20)) != NULL);
	len = fread(buf, 1, (1 << 20) - 1, f);
	ASSERT(ferror(f) == 0);
	fclose(f);
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

static void
make_store(const char *path, const char *form, size_t len)
{
	fs_client *c;

	ASSERT_OK(open_store(path, &c));
	ASSERT_OK(fs_device_init(c, "kill9 device"));
	ASSERT_OK(fs_forms_import(c, form, len, NULL));
	fs_close(c);
}

static void
remove_store(const char *dir, const char path[PATH_LEN])
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char file[PATH_LEN + 16];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
		unlink(file);
	}
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	struct state st = {0};
	const char *seed_env = getenv("FS_KILL9_SEED"), *tmp = getenv("TMPDIR");
	char dir[PATH_LEN], path[PATH_LEN];
	int64_t changelog, records, pending, t0 = now_us();
	int rounds = DEFAULT_ROUNDS, lost = 0, reported = 0, maybes = 0, rc;
	uint64_t seed;
	fs_client *c;
	size_t form_len;
	char *form;

	(void)fs_harness_ran; /* harness.h's FS_RUN counter; no FS_TEST cases here. */
	if (argc > 1 && (rounds = atoi(argv[1])) < 1) {
		fprintf(stderr, "usage: test-kill9 [ROUNDS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((pin = getenv("FS_KILL9_PIN")) != NULL && pin[0] == '\0')
		pin = NULL;
	form = read_form("labor_inspection", &form_len);
	seed = seed_env != NULL ? strtoull(seed_env, NULL, 0)
	                        : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	prng_state = seed;
	printf("kill9: seed %" PRIu64 " (FS_KILL9_SEED=%" PRIu64 " repeats it), %d rounds%s\n", seed,
	    seed, rounds, pin != NULL ? ", encrypted store" : "");
	snprintf(dir, sizeof(dir), "%s/fs-test-kill9-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	ASSERT(mkdtemp(dir) != NULL);
	ASSERT(strlen(dir) + sizeof("/device.db") <= sizeof(path));
	snprintf(path, sizeof(path), "%s/device.db", dir);
	/* A failing check aborts; the store is kept for a look. */
	fprintf(stderr, "kill9: store %s\n", path);
	make_store(path, form, form_len);
	free(form);

	for (int round = 0; round < rounds; round++)
		run_round(&st, path, round);

	ASSERT_OK(open_store(path, &c));
	/* An encrypted store is checked through its own connection (and VFS). */
	changelog = check_sqlite(pin == NULL ? path : NULL, pin == NULL ? NULL : c->db, &records);
	for (size_t i = 0; i < st.nrecs; i++) {
		if ((rc = check_record(c, &st.recs[i], &reported)) < 0)
			lost++;
		else
			maybes += rc;
	}
	ASSERT_OK(fs_pending_count(c, &pending));
	fs_close(c);

	if (records < (int64_t)st.creates) {
		fprintf(stderr, "kill9: %" PRId64 " records in the store, %zu creates reported\n",
		    records, st.creates);
		lost++;
	}
	if (changelog < (int64_t)(st.creates + st.edits)) {
		fprintf(stderr, "kill9: change log has %" PRId64 " rows, %zu saves reported\n",
		    changelog, st.creates + st.edits);
		lost++;
	}
	if (pending != changelog) {
		fprintf(stderr,
		    "kill9: fs_pending_count() is %" PRId64 ", change log has %" PRId64 " rows\n",
		    pending, changelog);
		lost++;
	}
	/* Integrity problems abort in check_sqlite() before this. */
	printf("kill9: %d kills (%d with no save reported, %d inside a save call), %zu saves "
	       "reported (%zu creates, %zu edits), %" PRId64 " more committed unreported "
	       "(%d edits seen), %d lost, integrity ok, %.1f s\n",
	    rounds - st.finished, st.early_kills, st.inside_kills, st.creates + st.edits,
	    st.creates, st.edits, changelog - (int64_t)(st.creates + st.edits), maybes, lost,
	    (double)(now_us() - t0) / 1e6);
	if (st.finished > 0)
		printf("kill9: %d rounds reached %d saves before the kill\n", st.finished,
		    CHILD_MAX_SAVES);
	free(st.recs);
	if (lost > 0) {
		fprintf(stderr, "kill9: FAILED; store kept in %s, seed %" PRIu64 "\n", dir, seed);
		return 1;
	}
	remove_store(dir, path);
	return 0;
}
