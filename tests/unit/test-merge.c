/*
 * test-merge.c -- the merge rule's properties (common/merge.c, change.c).
 *
 * Property test: several devices edit a few records offline, each on its
 * own replica, exchanging random subsets of changes now and then.  Then
 * fresh replicas apply the complete set of changes in random orders with
 * random replays.  Every replica must end in the identical state (current
 * values and conflict set), and every value ever written must be the
 * current value, in the conflict set, or knowingly overwritten (named as
 * base by a later write).  Runs for field_lww, manual and record_lww.
 *
 * Equivalence: every fresh replica is applied twice, to the full write
 * set on SQLite (merge_sqlite.c) and to the compact in-memory record state
 * (merge_mem.c: heads, pending bases, merged change stamps), and the two
 * must hold the same current values and conflicts after every change.
 */
#include <sqlite3.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "change.h"
#include "form.h"
#include "harness.h"
#include "hlc.h"
#include "merge_mem.h"
#include "merge_row.h"
#include "merge_sqlite.h"

#define NDEV 4
#define NREC 3
#define NFIELD 4
#define NSTEPS 300
#define NREPLICAS 6

static const char *field_names[NFIELD] = { "a", "b", "c", "d" };
static const char *record_ids[NREC] = {
	"00000000000000000000000000000001",
	"00000000000000000000000000000002",
	"00000000000000000000000000000003",
};

struct replica {
	sqlite3 *db;
	struct merge_sqlite ms;
};

static uint64_t rng_state;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static struct form *
test_form(enum form_conflict policy)
{
	char json[512], err[256];
	struct form *f = NULL;

	snprintf(json, sizeof(json),
	    "{\"id\":\"t\",\"version\":1,\"title\":\"t\",\"conflict\":\"%s\",\"fields\":["
	    "{\"name\":\"a\",\"type\":\"integer\"},{\"name\":\"b\",\"type\":\"integer\"},"
	    "{\"name\":\"c\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"integer\"}]}",
	    form_conflict_name(policy));
	ASSERT_OK(form_load(json, strlen(json), &f, err, sizeof(err)));
	return f;
}

static void
replica_open(struct replica *r)
{
	ASSERT_EQ(sqlite3_open(":memory:", &r->db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(r->db,
		      "CREATE TABLE fields(record_id TEXT, name TEXT, value TEXT, stamp TEXT,"
		      " PRIMARY KEY(record_id, name));" MERGE_SQLITE_SCHEMA MERGE_SQLITE_MARKS_SCHEMA,
		      NULL, NULL, NULL),
	    SQLITE_OK);
	ASSERT_OK(merge_sqlite_init(&r->ms, r->db));
}

static void
replica_close(struct replica *r)
{
	merge_sqlite_finish(&r->ms);
	sqlite3_close(r->db);
}

static void
replica_apply(struct replica *r, const struct form *form, const cJSON *change)
{
	struct merge_result res = { 0 };
	struct change ch;
	char err[256];

	ASSERT_OK(change_parse(change, &ch, err, sizeof(err)));
	ASSERT_OK(change_check(&ch, form, err, sizeof(err)));
	ASSERT_EQ(sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	ASSERT_OK(change_apply(&r->ms.ops, form, &ch, &res));
	ASSERT_EQ(sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

/* The replica's state as one string: current values and open conflicts. */
static char *
replica_dump(struct replica *r)
{
	static const char *q = "SELECT 'F', record_id, name, coalesce(value, 'null'), stamp"
			       " FROM fields UNION ALL SELECT 'C', record_id, name, '', stamp"
			       " FROM conflicts UNION ALL SELECT 'M', record_id, kind, '', stamp"
			       " FROM marks ORDER BY 1, 2, 3, 5";
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	sqlite3_stmt *st;

	ASSERT_EQ(sqlite3_prepare_v2(r->db, q, -1, &st, NULL), SQLITE_OK);
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		char line[256];
		int n = snprintf(line, sizeof(line), "%s %s %s %s %s\n", sqlite3_column_text(st, 0),
		    sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
		    sqlite3_column_text(st, 3), sqlite3_column_text(st, 4));
		if (len + (size_t)n + 1 > cap)
			out = realloc(out, cap *= 2);
		memcpy(out + len, line, (size_t)n + 1);
		len += (size_t)n;
	}
	sqlite3_finalize(st);
	return out;
}

static const char *
current_stamp(struct replica *r, const char *rec, const char *field, char buf[HLC_TEXT_LEN + 1])
{
	sqlite3_stmt *st;
	const char *res = NULL;

	ASSERT_EQ(sqlite3_prepare_v2(r->db, "SELECT stamp FROM fields WHERE record_id = ? AND name = ?",
		      -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, rec, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(buf, HLC_TEXT_LEN + 1, "%s", sqlite3_column_text(st, 0));
		res = buf;
	}
	sqlite3_finalize(st);
	return res;
}

/* merge_mem: one line per current value or conflict, as replica_dump() prints them. */
struct mem_dump {
	char **lines;
	size_t n, cap;
	const char *rec, *field;
};

static void
mem_line(struct mem_dump *d, const char *kind, const char *value, const char *stamp)
{
	char line[256];

	snprintf(line, sizeof(line), "%s %s %s %s %s\n", kind, d->rec, d->field, value, stamp);
	if (d->n == d->cap)
		d->lines = realloc(d->lines, (d->cap = d->cap ? d->cap * 2 : 64) * sizeof(char *));
	d->lines[d->n++] = strdup(line);
}

static void
mem_conflict(void *arg, const struct mm_write *w)
{
	mem_line(arg, "C", "", w->stamp);
}

/* Orders lines as replica_dump()'s ORDER BY kind, record, name, stamp. */
static int
mem_cmp(const void *a, const void *b)
{
	char ka[4][80], kb[4][80];
	const char *la = *(char *const *)a, *lb = *(char *const *)b;
	int c;

	/* kind record name [value] stamp: the stamp is the last word. */
	sscanf(la, "%79s %79s %79s", ka[0], ka[1], ka[2]);
	sscanf(lb, "%79s %79s %79s", kb[0], kb[1], kb[2]);
	snprintf(ka[3], sizeof(ka[3]), "%s", strrchr(la, ' ') + 1);
	snprintf(kb[3], sizeof(kb[3]), "%s", strrchr(lb, ' ') + 1);
	for (int i = 0; i < 4; i++)
		if ((c = strcmp(ka[i], kb[i])) != 0)
			return c;
	return 0;
}

static char *
mem_dump(const struct merge_mem *mm)
{
	struct mem_dump d = { 0 };
	size_t len = 0;
	char *out;

	for (size_t i = 0; i < mm->nrec; i++) {
		const struct mm_record *r = &mm->rec[i];

		for (size_t k = 0; k < r->nf; k++) {
			const struct mm_write *cur = merge_mem_current(&r->f[k]);

			d.rec = r->id;
			d.field = r->f[k].name;
			if (cur != NULL)
				mem_line(&d, "F", cur->value != NULL ? cur->value : "null", cur->stamp);
			merge_mem_conflicts(&r->f[k], mem_conflict, &d);
		}
		for (int m = 0; m < 3; m++) {
			char kind[2] = { (char)('0' + m), '\0' };

			d.rec = r->id;
			d.field = kind;
			for (size_t k = 0; k < r->marks[m].n; k++)
				mem_line(&d, "M", "", r->marks[m].s[k]);
		}
	}
	qsort(d.lines, d.n, sizeof(char *), mem_cmp);
	for (size_t i = 0; i < d.n; i++)
		len += strlen(d.lines[i]);
	out = malloc(len + 1);
	out[0] = '\0';
	len = 0;
	for (size_t i = 0; i < d.n; i++) {
		size_t l = strlen(d.lines[i]);
		memcpy(out + len, d.lines[i], l + 1);
		len += l;
		free(d.lines[i]);
	}
	free(d.lines);
	return out;
}

static void
mem_apply(struct merge_mem *mm, const struct form *form, const cJSON *change)
{
	struct merge_result res = { 0 };
	struct change ch;
	char err[256];

	ASSERT_OK(change_parse(change, &ch, err, sizeof(err)));
	ASSERT_OK(change_apply(&mm->ops, form, &ch, &res));
	ASSERT_OK(merge_mem_change_done(mm, ch.id, ch.hlc));
}

/*
 * Replaces mm by a copy made through the packed row of every record
 * (merge_mem_record_to_json(), printed and parsed again, then
 * merge_mem_record_from_json()): a store that writes a record's row and
 * reads it back must merge on exactly as before.
 */
static void
mem_roundtrip(struct merge_mem *mm, bool keep_history)
{
	struct merge_mem copy;

	merge_mem_init(&copy, keep_history);
	for (size_t i = 0; i < mm->nrec; i++) {
		cJSON *row, *back;
		char *text;

		ASSERT_OK(merge_mem_record_to_json(&mm->rec[i], &row));
		text = cJSON_PrintUnformatted(row);
		cJSON_Delete(row);
		ASSERT((back = cJSON_Parse(text)) != NULL);
		free(text);
		ASSERT_OK(merge_mem_record_from_json(&copy, mm->rec[i].id, back));
		cJSON_Delete(back);
	}
	merge_mem_finish(mm);
	*mm = copy;
	mm->ops.ctx = mm;
}

/* Every written value: current, in conflicts, or named as a base. */
static void
assert_nothing_lost(struct replica *r)
{
	sqlite3_stmt *st;
	int bad = -1;

	ASSERT_EQ(sqlite3_prepare_v2(r->db,
		      "SELECT count(*) FROM writes w WHERE"
		      " NOT EXISTS (SELECT 1 FROM fields f WHERE f.record_id = w.record_id"
		      "  AND f.name = w.name AND f.stamp = w.stamp)"
		      " AND NOT EXISTS (SELECT 1 FROM conflicts c WHERE c.record_id = w.record_id"
		      "  AND c.name = w.name AND c.stamp = w.stamp)"
		      " AND NOT EXISTS (SELECT 1 FROM write_bases b WHERE b.record_id = w.record_id"
		      "  AND b.name = w.name AND b.stamp = w.stamp)"
		      /* A null beside a null current value: the current value is it. */
		      " AND NOT (w.value IS NULL AND EXISTS (SELECT 1 FROM fields f"
		      "  WHERE f.record_id = w.record_id AND f.name = w.name AND f.value IS NULL))",
		      -1, &st, NULL),
	    SQLITE_OK);
	ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
	bad = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	ASSERT_EQ(bad, 0);
}

/*
 * Applies changes (JSON texts, in this order) to a fresh replica, checks
 * that nothing written was lost, and returns its dump (free()).
 */
static char *
replay(const struct form *form, const char *const *changes, size_t n)
{
	struct replica r;
	char *dump;

	replica_open(&r);
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(changes[i]);
		replica_apply(&r, form, j);
		cJSON_Delete(j);
	}
	dump = replica_dump(&r);
	assert_nothing_lost(&r);
	replica_close(&r);
	return dump;
}

/* Adds to base, under field, every head of (rec, field) rep holds. */
static void
add_heads(struct replica *r, const char *rec, const char *field, cJSON *base)
{
	sqlite3_stmt *st;
	cJSON *arr = cJSON_CreateArray();

	ASSERT_EQ(sqlite3_prepare_v2(r->db,
		      "SELECT stamp FROM writes w WHERE record_id = ?1 AND name = ?2 AND NOT EXISTS"
		      " (SELECT 1 FROM write_bases b WHERE b.record_id = ?1 AND b.name = ?2"
		      " AND b.stamp = w.stamp) ORDER BY stamp",
		      -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, rec, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		cJSON_AddItemToArray(arr, cJSON_CreateString((const char *)sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	if (cJSON_GetArraySize(arr) > 0)
		cJSON_AddItemToObject(base, field, arr);
	else
		cJSON_Delete(arr);
}

/* Adds base["@delete"]: every delete of rec that rep holds.  False if none. */
static bool
add_deletes(struct replica *r, const char *rec, cJSON *base)
{
	sqlite3_stmt *st;
	cJSON *arr = cJSON_CreateArray();

	ASSERT_EQ(sqlite3_prepare_v2(r->db,
		      "SELECT stamp FROM marks WHERE record_id = ? AND kind = 0 ORDER BY stamp", -1,
		      &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, rec, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		cJSON_AddItemToArray(arr, cJSON_CreateString((const char *)sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	if (cJSON_GetArraySize(arr) == 0) {
		cJSON_Delete(arr);
		return false;
	}
	cJSON_AddItemToObject(base, MERGE_BASE_DELETE, arr);
	return true;
}

/* dump without its M lines: the fields and their conflicts only. */
static void
drop_marks(char *dump)
{
	char *p = dump, *out = dump;

	while (*p != '\0') {
		char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);

		if (p[0] != 'M') {
			memmove(out, p, len);
			out += len;
		}
		p += len;
	}
	*out = '\0';
}

struct device {
	struct hlc clock;
	struct replica rep;
	size_t seen; /* prefix of the global log this device has merged */
	bool *got;
};

static void
run_property(enum form_conflict policy, uint64_t seed)
{
	struct form *form = test_form(policy);
	struct device dev[NDEV];
	cJSON *log = cJSON_CreateArray();
	char *expected = NULL;
	int total, value = 0;

	rng_state = seed;
	fprintf(stderr, "   policy %s seed %llu\n", form_conflict_name(policy),
	    (unsigned long long)seed);
	for (int d = 0; d < NDEV; d++) {
		memset(&dev[d], 0, sizeof(dev[d]));
		snprintf(dev[d].clock.device, sizeof(dev[d].clock.device), "%016x", d + 1);
		replica_open(&dev[d].rep);
		dev[d].got = calloc(NSTEPS + 1, sizeof(bool));
	}
	for (int step = 0; step < NSTEPS; step++) {
		int d = (int)(rnd() % NDEV);
		struct device *me = &dev[d];

		if (rnd() % 4 == 0) {
			/* Receive a random subset of changes it has not seen. */
			int n = cJSON_GetArraySize(log);
			for (int i = 0; i < n; i++) {
				if (!me->got[i] && rnd() % 2 == 0) {
					cJSON *ch = cJSON_GetArrayItem(log, i);
					uint64_t ts;
					char devid[17];
					hlc_parse(cJSON_GetObjectItemCaseSensitive(ch, "hlc")->valuestring,
					    &ts, devid);
					ASSERT_OK(hlc_observe(&me->clock, ts, devid));
					replica_apply(&me->rep, form, ch);
					me->got[i] = true;
				}
			}
			continue;
		}
		/* A local edit of one or two fields, with the base it sees. */
		{
			const char *rec = record_ids[rnd() % NREC];
			cJSON *ch = cJSON_CreateObject(), *fields, *base;
			char stamp[HLC_TEXT_LEN + 1], cur[HLC_TEXT_LEN + 1];
			uint64_t ts;
			int nf = 1 + (int)(rnd() % 2);

			/* Device clocks are skewed by days and step backwards. */
			ASSERT_OK(hlc_tick(&me->clock,
			    1700000000000LL + (int64_t)d * 86400000LL - (int64_t)(rnd() % 100000),
			    &ts));
			hlc_format(ts, me->clock.device, stamp);
			cJSON_AddStringToObject(ch, "id", rec);
			cJSON_AddStringToObject(ch, "form", "t");
			cJSON_AddNumberToObject(ch, "form_version", 1);
			cJSON_AddStringToObject(ch, "hlc", stamp);
			base = cJSON_CreateObject();
			if (rnd() % 10 == 0) {
				/* A delete names every head it holds (merge rule 2). */
				cJSON_AddStringToObject(ch, "op", "delete");
				for (int f = 0; f < NFIELD; f++)
					add_heads(&me->rep, rec, field_names[f], base);
				if (base->child == NULL) {
					cJSON_Delete(base);
					cJSON_Delete(ch);
					continue;
				}
			} else if (rnd() % 10 == 0 && add_deletes(&me->rep, rec, base)) {
				/* A reviewer keeps the record against the deletes it holds. */
				cJSON_AddStringToObject(ch, "op", "upsert");
				cJSON_AddObjectToObject(ch, "fields");
			} else {
				cJSON_AddStringToObject(ch, "op", "upsert");
				fields = cJSON_AddObjectToObject(ch, "fields");
				for (int k = 0; k < nf; k++) {
					const char *f = field_names[rnd() % NFIELD];
					if (cJSON_GetObjectItemCaseSensitive(fields, f) != NULL)
						continue;
					cJSON_AddNumberToObject(fields, f, ++value);
					if (current_stamp(&me->rep, rec, f, cur))
						cJSON_AddStringToObject(base, f, cur);
				}
			}
			cJSON_AddItemToObject(ch, "base", base);
			replica_apply(&me->rep, form, ch);
			me->got[cJSON_GetArraySize(log)] = true;
			cJSON_AddItemToArray(log, ch);
		}
	}
	total = cJSON_GetArraySize(log);
	ASSERT(total > NSTEPS / 2);
	/* Fresh replicas: the whole log in random orders, with replays. */
	for (int k = 0; k < NREPLICAS; k++) {
		struct replica r;
		struct merge_mem mm;
		int *order = malloc(sizeof(int) * (size_t)total);
		char *dump, *mdump;

		replica_open(&r);
		merge_mem_init(&mm, policy == FORM_CONFLICT_RECORD_LWW);
		for (int i = 0; i < total; i++)
			order[i] = i;
		if (k > 0) {
			for (int i = total - 1; i > 0; i--) {
				int j = (int)(rnd() % (uint32_t)(i + 1)), t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
		}
		for (int i = 0; i < total; i++) {
			const cJSON *ch = cJSON_GetArrayItem(log, order[i]);

			if (i == total / 2)
				mem_roundtrip(&mm, policy == FORM_CONFLICT_RECORD_LWW);
			replica_apply(&r, form, ch);
			mem_apply(&mm, form, ch);
			if (rnd() % 5 == 0) { /* replay an earlier change */
				ch = cJSON_GetArrayItem(log, order[rnd() % (uint32_t)(i + 1)]);
				replica_apply(&r, form, ch);
				mem_apply(&mm, form, ch);
			}
			/* The compact state answers as the full write set does, at every step. */
			if ((k == 0 && i % 4 == 0) || i == total - 1) {
				dump = replica_dump(&r);
				mdump = mem_dump(&mm);
				if (strcmp(dump, mdump) != 0)
					FS_FAIL_AT("merge_mem differs from the write set after change %d"
						   " of replica %d:\n%s\n--- write set:\n%s",
					    i, k, mdump, dump);
				free(dump);
				free(mdump);
			}
		}
		merge_mem_finish(&mm);
		dump = replica_dump(&r);
		assert_nothing_lost(&r);
		if (expected == NULL) {
			expected = dump;
			ASSERT(strlen(expected) > 0);
		} else {
			if (strcmp(dump, expected) != 0)
				FS_FAIL_AT("replica %d diverged:\n%s\n--- expected:\n%s", k, dump,
				    expected);
			free(dump);
		}
		free(order);
		replica_close(&r);
	}
	/*
	 * Merge rule 2: a delete never changes a field.  The fields and their
	 * conflicts are those of the upserts alone, however the deletes fell.
	 */
	{
		struct replica up;
		char *dump, *want = strdup(expected);

		replica_open(&up);
		for (int i = 0; i < total; i++) {
			const cJSON *ch = cJSON_GetArrayItem(log, i);
			if (strcmp(cJSON_GetObjectItemCaseSensitive(ch, "op")->valuestring, "upsert") == 0)
				replica_apply(&up, form, ch);
		}
		dump = replica_dump(&up);
		drop_marks(dump);
		drop_marks(want);
		ASSERT_STR_EQ(dump, want);
		free(dump);
		free(want);
		replica_close(&up);
	}
	/* Devices that then receive everything converge to the same state. */
	for (int d = 0; d < NDEV; d++) {
		char *dump;
		for (int i = 0; i < total; i++)
			if (!dev[d].got[i])
				replica_apply(&dev[d].rep, form, cJSON_GetArrayItem(log, i));
		dump = replica_dump(&dev[d].rep);
		ASSERT_STR_EQ(dump, expected);
		free(dump);
		replica_close(&dev[d].rep);
		free(dev[d].got);
	}
	free(expected);
	cJSON_Delete(log);
	form_free(form);
}

/* Seeds per policy: FS_MERGE_SEEDS (CI lowers it under valgrind), default 8. */
static uint64_t
seeds(void)
{
	const char *s = getenv("FS_MERGE_SEEDS");
	long n = s != NULL ? strtol(s, NULL, 10) : 8;

	return n >= 1 && n <= 1000 ? (uint64_t)n : 8;
}

FS_TEST(merge_converges_field_lww)
{
	for (uint64_t seed = 1; seed <= seeds(); seed++)
		run_property(FORM_CONFLICT_FIELD_LWW, seed * 7919);
}

FS_TEST(merge_converges_manual)
{
	for (uint64_t seed = 1; seed <= seeds(); seed++)
		run_property(FORM_CONFLICT_MANUAL, seed * 104729);
}

/* Two devices edit the same field from the same base: one conflict. */
FS_TEST(merge_concurrent_edit_is_a_conflict_and_a_resolution_clears_it)
{
	struct form *form = test_form(FORM_CONFLICT_FIELD_LWW);
	struct replica r;
	const char *c1 = "{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\","
			 "\"form_version\":1,\"op\":\"upsert\","
			 "\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":1},"
			 "\"base\":{}}";
	const char *c2 = "{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\","
			 "\"form_version\":1,\"op\":\"upsert\","
			 "\"hlc\":\"0000000000020000-000000000000000a\",\"fields\":{\"a\":2},"
			 "\"base\":{\"a\":\"0000000000010000-000000000000000a\"}}";
	const char *c3 = "{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\","
			 "\"form_version\":1,\"op\":\"upsert\","
			 "\"hlc\":\"0000000000030000-000000000000000b\",\"fields\":{\"a\":3},"
			 "\"base\":{\"a\":\"0000000000010000-000000000000000a\"}}";
	const char *fix = "{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\","
			  "\"form_version\":1,\"op\":\"upsert\","
			  "\"hlc\":\"0000000000040000-000000000000000c\",\"fields\":{\"a\":2},"
			  "\"base\":{\"a\":[\"0000000000020000-000000000000000a\","
			  "\"0000000000030000-000000000000000b\"]}}";
	cJSON *j;
	char *dump;

	replica_open(&r);
	j = cJSON_Parse(c1);
	replica_apply(&r, form, j);
	cJSON_Delete(j);
	j = cJSON_Parse(c2);
	replica_apply(&r, form, j);
	cJSON_Delete(j);
	dump = replica_dump(&r);
	ASSERT(strstr(dump, "C ") == NULL); /* a knowing overwrite is no conflict */
	free(dump);
	j = cJSON_Parse(c3);
	replica_apply(&r, form, j);
	cJSON_Delete(j);
	dump = replica_dump(&r);
	ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 a 3 ");
	ASSERT_CONTAINS(dump, "C 00000000000000000000000000000001 a  0000000000020000-");
	free(dump);
	/* A reviewer's choice names both heads as base: conflict gone, value 2. */
	j = cJSON_Parse(fix);
	replica_apply(&r, form, j);
	cJSON_Delete(j);
	dump = replica_dump(&r);
	ASSERT(strstr(dump, "C ") == NULL);
	ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 a 2 0000000000040000-");
	free(dump);
	replica_close(&r);
	form_free(form);
}

FS_TEST(merge_manual_keeps_older_value)
{
	struct form *form = test_form(FORM_CONFLICT_MANUAL);
	struct replica r;
	const char *a = "{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\","
			"\"form_version\":1,\"op\":\"upsert\","
			"\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":1}}";
	const char *b = "{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\","
			"\"form_version\":1,\"op\":\"upsert\","
			"\"hlc\":\"0000000000020000-000000000000000b\",\"fields\":{\"a\":2}}";
	cJSON *j;
	char *dump;

	replica_open(&r);
	j = cJSON_Parse(b);
	replica_apply(&r, form, j);
	cJSON_Delete(j);
	j = cJSON_Parse(a);
	replica_apply(&r, form, j);
	cJSON_Delete(j);
	dump = replica_dump(&r);
	ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 a 1 ");
	ASSERT_CONTAINS(dump, "C 00000000000000000000000000000001 a  0000000000020000-");
	free(dump);
	replica_close(&r);
	form_free(form);
}

FS_TEST(merge_converges_record_lww)
{
	for (uint64_t seed = 1; seed <= seeds(); seed++)
		run_property(FORM_CONFLICT_RECORD_LWW, seed * 15485863);
}

/* The newer of two concurrent changes wins every field, even untouched ones. */
FS_TEST(merge_record_lww_loser_loses_all_its_fields)
{
	struct form *form = test_form(FORM_CONFLICT_RECORD_LWW);
	const char *base = "{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\","
			   "\"form_version\":1,\"op\":\"upsert\","
			   "\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"b\":7}}";
	const char *a = "{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\","
			"\"form_version\":1,\"op\":\"upsert\","
			"\"hlc\":\"0000000000050000-000000000000000a\",\"fields\":{\"a\":1,\"b\":1},"
			"\"base\":{\"b\":\"0000000000010000-000000000000000a\"}}";
	const char *b = "{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\","
			"\"form_version\":1,\"op\":\"upsert\","
			"\"hlc\":\"0000000000070000-000000000000000b\",\"fields\":{\"a\":2}}";
	const char *order[2][3] = { { base, a, b }, { b, a, base } };
	char *first = NULL;

	for (int k = 0; k < 2; k++) {
		char *dump = replay(form, order[k], 3);

		/* a: B wins.  b: A's write lost with its change; the older value stays. */
		ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 a 2 ");
		ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 b 7 ");
		ASSERT_CONTAINS(dump, "C 00000000000000000000000000000001 a  0000000000050000-");
		ASSERT_CONTAINS(dump, "C 00000000000000000000000000000001 b  0000000000050000-");
		if (first == NULL)
			first = dump;
		else {
			ASSERT_STR_EQ(dump, first);
			free(dump);
		}
	}
	free(first);
	form_free(form);
}

/*
 * Merges changes (JSON texts, in this order) into one record's row as the
 * stores do (merge_row_merge()) and says what the row then is.  Returns
 * the row's dump (free()).
 */
static char *
row_replay(const struct form *form, const char *const *changes, size_t n, bool *ret_deleted,
    int *ret_open, bool *ret_conflict)
{
	char tombstone[HLC_TEXT_LEN + 1] = "";
	struct merge_mem mm;
	char *dump;

	merge_mem_init(&mm, form->conflict == FORM_CONFLICT_RECORD_LWW);
	*ret_deleted = false;
	*ret_open = 0;
	for (size_t i = 0; i < n; i++) {
		struct merge_result res = { 0 };
		struct merge_row_out out;
		struct change ch;
		char err[256];
		cJSON *j = cJSON_Parse(changes[i]);

		ASSERT_OK(change_parse(j, &ch, err, sizeof(err)));
		ASSERT_OK(change_check(&ch, form, err, sizeof(err)));
		ASSERT_OK(merge_row_merge(&mm, form, &ch, tombstone, &res, &out));
		if (out.applied) {
			*ret_deleted = out.deleted;
			*ret_open = out.open;
		}
		free(out.state);
		cJSON_Delete(j);
	}
	*ret_conflict = merge_row_delete_conflict(merge_mem_record(&mm, record_ids[0]));
	dump = mem_dump(&mm);
	drop_marks(dump);
	merge_mem_finish(&mm);
	return dump;
}

#define R1 "{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":1,"

/*
 * Merge rule 2 (issue 22): a delete and an edit it did not see, older or
 * newer, of a field it saw or not.  The record stays alive whole -- every
 * value the delete saw kept, plus the edit -- with one record-level
 * conflict, in every arrival order.
 */
FS_TEST(merge_delete_vs_edit_it_did_not_see_keeps_the_record_whole)
{
	static const enum form_conflict policies[] = { FORM_CONFLICT_FIELD_LWW,
		FORM_CONFLICT_MANUAL, FORM_CONFLICT_RECORD_LWW };
	const char *create = R1 "\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\","
				"\"fields\":{\"a\":1,\"c\":3}}";
	const char *del = R1 "\"op\":\"delete\",\"hlc\":\"0000000000050000-000000000000000a\","
			     "\"base\":{\"a\":\"0000000000010000-000000000000000a\","
			     "\"c\":\"0000000000010000-000000000000000a\"}}";
	const char *newer = R1 "\"op\":\"upsert\",\"hlc\":\"0000000000070000-000000000000000b\","
			       "\"fields\":{\"b\":2}}";
	const char *older = R1 "\"op\":\"upsert\",\"hlc\":\"0000000000030000-000000000000000b\","
			       "\"fields\":{\"c\":4},\"base\":{\"c\":\"0000000000010000-000000000000000a\"}}";
	const char *edits[2] = { newer, older };

	for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
		struct form *form = test_form(policies[p]);

		for (int e = 0; e < 2; e++) {
			const char *order[6][3] = { { create, del, edits[e] },
				{ create, edits[e], del }, { del, create, edits[e] },
				{ del, edits[e], create }, { edits[e], create, del },
				{ edits[e], del, create } };
			char *first = NULL;

			for (int k = 0; k < 6; k++) {
				bool deleted, conflict;
				int open;
				char *dump = row_replay(form, order[k], 3, &deleted, &open, &conflict);

				ASSERT(!deleted && conflict && open == 1);
				ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 a 1 ");
				ASSERT_CONTAINS(dump, e == 0
					? "F 00000000000000000000000000000001 b 2 0000000000070000-"
					: "F 00000000000000000000000000000001 c 4 0000000000030000-");
				if (e == 0)
					ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 c 3 ");
				ASSERT(strstr(dump, "null") == NULL && strstr(dump, "C ") == NULL);
				if (first == NULL)
					first = dump;
				else {
					ASSERT_STR_EQ(dump, first);
					free(dump);
				}
			}
			free(first);
		}
		form_free(form);
	}
}

/*
 * The two resolutions of that conflict: a delete that saw every head
 * deletes the record; an upsert naming the delete under "@delete" keeps it.
 * Either way the conflict closes, in every order, and a later edit that
 * did not see the confirming delete opens it again.
 */
FS_TEST(merge_delete_conflict_resolutions)
{
	struct form *form = test_form(FORM_CONFLICT_FIELD_LWW);
	const char *create = R1 "\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\","
				"\"fields\":{\"a\":1}}";
	const char *del = R1 "\"op\":\"delete\",\"hlc\":\"0000000000050000-000000000000000a\","
			     "\"base\":{\"a\":\"0000000000010000-000000000000000a\"}}";
	const char *edit = R1 "\"op\":\"upsert\",\"hlc\":\"0000000000070000-000000000000000b\","
			      "\"fields\":{\"b\":2}}";
	const char *confirm = R1 "\"op\":\"delete\",\"hlc\":\"0000000000090000-00000000000000ff\","
				 "\"base\":{\"a\":\"0000000000010000-000000000000000a\","
				 "\"b\":\"0000000000070000-000000000000000b\"}}";
	const char *keep = R1 "\"op\":\"upsert\",\"hlc\":\"0000000000090000-00000000000000ff\","
			      "\"fields\":{},\"base\":{\"@delete\":[\"0000000000050000-000000000000000a\"]}}";
	const char *late = R1 "\"op\":\"upsert\",\"hlc\":\"0000000000080000-000000000000000c\","
			      "\"fields\":{\"d\":5}}";
	bool deleted, conflict;
	int open;
	char *dump;

	{
		const char *seq[4] = { create, del, edit, confirm };
		const char *rev[4] = { confirm, edit, del, create };

		dump = row_replay(form, seq, 4, &deleted, &open, &conflict);
		ASSERT(deleted && !conflict && open == 0);
		free(dump);
		dump = row_replay(form, rev, 4, &deleted, &open, &conflict);
		ASSERT(deleted && !conflict && open == 0);
		free(dump);
	}
	{
		const char *seq[4] = { create, del, edit, keep };
		const char *rev[4] = { keep, edit, create, del };

		dump = row_replay(form, seq, 4, &deleted, &open, &conflict);
		ASSERT(!deleted && !conflict && open == 0);
		ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 a 1 ");
		ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 b 2 ");
		free(dump);
		dump = row_replay(form, rev, 4, &deleted, &open, &conflict);
		ASSERT(!deleted && !conflict && open == 0);
		free(dump);
	}
	{
		/* An edit the confirming delete did not see: the conflict again. */
		const char *seq[5] = { create, del, edit, confirm, late };

		dump = row_replay(form, seq, 5, &deleted, &open, &conflict);
		ASSERT(!deleted && conflict && open == 1);
		ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 a 1 ");
		ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 d 5 ");
		free(dump);
	}
	form_free(form);
}

/*
 * Two devices delete one record, a device deletes a record already
 * deleted, a delete arrives before the create it saw: deleted, no conflict.
 */
FS_TEST(merge_concurrent_deletes_make_no_conflict)
{
	static const enum form_conflict policies[] = { FORM_CONFLICT_FIELD_LWW,
		FORM_CONFLICT_MANUAL, FORM_CONFLICT_RECORD_LWW };
	const char *create = R1 "\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\","
				"\"fields\":{\"a\":1}}";
	const char *d1 = R1 "\"op\":\"delete\",\"hlc\":\"0000000000050000-000000000000000a\","
			    "\"base\":{\"a\":\"0000000000010000-000000000000000a\"}}";
	const char *d2 = R1 "\"op\":\"delete\",\"hlc\":\"0000000000060000-000000000000000b\","
			    "\"base\":{\"a\":\"0000000000010000-000000000000000a\"}}";
	const char *order[6][3] = { { create, d1, d2 }, { create, d2, d1 }, { d1, create, d2 },
		{ d1, d2, create }, { d2, create, d1 }, { d2, d1, create } };

	for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
		struct form *form = test_form(policies[p]);

		for (int k = 0; k < 6; k++) {
			bool deleted, conflict;
			int open;
			char *dump = row_replay(form, order[k], 3, &deleted, &open, &conflict);

			ASSERT(deleted && !conflict && open == 0);
			/* The delete wrote nothing: the value stays, for history and undo. */
			ASSERT_CONTAINS(dump, "F 00000000000000000000000000000001 a 1 ");
			ASSERT(strstr(dump, "null") == NULL);
			free(dump);
		}
		form_free(form);
	}
}

FS_TEST(change_parse_refuses_malformed_changes)
{
	static const char *bad[] = {
		"[]",
		"{}",
		"{\"id\":\"xyz\",\"form\":\"t\",\"form_version\":1,\"op\":\"upsert\","
		"\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":1}}",
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":0,"
		"\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":1}}",
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":1,"
		"\"op\":\"merge\",\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":1}}",
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":1,"
		"\"op\":\"upsert\",\"hlc\":\"1\",\"fields\":{\"a\":1}}",
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":1,"
		"\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{}}",
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":1,"
		"\"op\":\"delete\",\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":1}}",
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":1,"
		"\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":1},"
		"\"base\":[]}",
	};
	struct change ch;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *j = cJSON_Parse(bad[i]);
		ASSERT_EQ(change_parse(j, &ch, err, sizeof(err)), FS_ERR_INVALID);
		ASSERT(err[0] != '\0');
		cJSON_Delete(j);
	}
}

FS_TEST(change_check_refuses_bad_values_and_bases)
{
	struct form *form = test_form(FORM_CONFLICT_FIELD_LWW);
	static const char *bad[] = {
		/* wrong type */
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":1,"
		"\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":\"x\"}}",
		/* unknown field */
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":1,"
		"\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"z\":1}}",
		/* base not older than the change */
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":1,"
		"\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":1},"
		"\"base\":{\"a\":\"0000000000020000-000000000000000a\"}}",
		/* base for a field the change does not set */
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":1,"
		"\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":1},"
		"\"base\":{\"b\":\"0000000000000001-000000000000000a\"}}",
		/* wrong version */
		"{\"id\":\"00000000000000000000000000000001\",\"form\":\"t\",\"form_version\":2,"
		"\"op\":\"upsert\",\"hlc\":\"0000000000010000-000000000000000a\",\"fields\":{\"a\":1}}",
	};
	struct change ch;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *j = cJSON_Parse(bad[i]);
		ASSERT_OK(change_parse(j, &ch, err, sizeof(err)));
		ASSERT_EQ(change_check(&ch, form, err, sizeof(err)), FS_ERR_INVALID);
		cJSON_Delete(j);
	}
	form_free(form);
}

int
main(void)
{
	FS_RUN(merge_delete_vs_edit_it_did_not_see_keeps_the_record_whole);
	FS_RUN(merge_delete_conflict_resolutions);
	FS_RUN(merge_concurrent_deletes_make_no_conflict);
	FS_RUN(merge_concurrent_edit_is_a_conflict_and_a_resolution_clears_it);
	FS_RUN(merge_manual_keeps_older_value);
	FS_RUN(change_parse_refuses_malformed_changes);
	FS_RUN(change_check_refuses_bad_values_and_bases);
	FS_RUN(merge_converges_field_lww);
	FS_RUN(merge_converges_manual);
	FS_RUN(merge_record_lww_loser_loses_all_its_fields);
	FS_RUN(merge_converges_record_lww);
	FS_TEST_DONE();
}
