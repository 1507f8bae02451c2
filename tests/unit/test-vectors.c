/*
 * test-vectors.c -- the merge rule's JSON test vectors
 * (tests/vectors/merge-rule-*.json) against every storage of the rule:
 *
 *   - the write set on SQLite (common/merge_sqlite.c): every write kept,
 *     current values and conflicts recomputed by SQL (the reference);
 *   - the packed row both stores keep (common/merge_row.c): the record's
 *     state packed to text after each change and loaded again before the
 *     next, exactly as the device and the server do.
 *
 * Each vector runs in every arrival order of its changes, and each order
 * once more with its first change replayed at the end; every run must
 * reach the vector's fields, conflicts, deleted flag and record-level
 * conflict (merge rule 2).  The server's
 * store runs the same vectors through its own API in
 * tests/unit/test-conformance.c.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "change.h"
#include "form.h"
#include "harness.h"
#include "hlc.h"
#include "merge_row.h"
#include "merge_sqlite.h"

#define MAXCH 6
#define DUMP_MAX 4096

static const char *record_id;

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	char *buf;

	ASSERT(f != NULL);
	ASSERT_EQ(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ASSERT_EQ(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The vector's form with its policy. */
static struct form *
vector_form(const cJSON *form_json, const char *policy)
{
	cJSON *copy = cJSON_Duplicate(form_json, 1);
	struct form *f = NULL;
	char err[256], *text;

	cJSON_AddStringToObject(copy, "conflict", policy);
	text = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	ASSERT_OK(form_load(text, strlen(text), &f, err, sizeof(err)));
	free(text);
	return f;
}

/* A vector's change as a full change object (the vector leaves out id and form). */
static cJSON *
full_change(const cJSON *c)
{
	cJSON *ch = cJSON_Duplicate(c, 1);

	cJSON_AddStringToObject(ch, "id", record_id);
	cJSON_AddStringToObject(ch, "form", "v");
	cJSON_AddNumberToObject(ch, "form_version", 1);
	if (cJSON_GetObjectItemCaseSensitive(ch, "base") == NULL)
		cJSON_AddObjectToObject(ch, "base");
	return ch;
}

/* Sorted lines "F name value stamp", "C name stamp", "D n" joined in out. */
struct dump {
	char lines[64][160];
	int n;
};

static void
dump_add(struct dump *d, char kind, const char *a, const char *b, const char *c)
{
	ASSERT(d->n < 64);
	snprintf(d->lines[d->n++], sizeof(d->lines[0]), "%c %s %s %s", kind, a, b, c);
}

static int
line_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * The dump's text: its lines sorted, a deleted record's field conflicts
 * dropped (a deleted record has none open: merge.h), the flags added.
 */
static void
dump_text(struct dump *d, bool deleted, bool delete_conflict, char out[DUMP_MAX])
{
	size_t len = 0;

	if (deleted) {
		int k = 0;

		for (int i = 0; i < d->n; i++)
			if (d->lines[i][0] != 'C')
				memmove(d->lines[k++], d->lines[i], sizeof(d->lines[0]));
		d->n = k;
	}
	dump_add(d, 'D', deleted ? "1" : "0", "", "");
	dump_add(d, 'X', delete_conflict ? "1" : "0", "", "");
	qsort(d->lines, (size_t)d->n, sizeof(d->lines[0]), line_cmp);
	out[0] = '\0';
	for (int i = 0; i < d->n; i++)
		len += (size_t)snprintf(out + len, DUMP_MAX - len, "%s\n", d->lines[i]);
}

static void
expected_text(const cJSON *v, char out[DUMP_MAX])
{
	const cJSON *f, *c, *s;
	struct dump d = { .n = 0 };

	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(v, "fields"))
	{
		char *value = cJSON_PrintUnformatted(cJSON_GetArrayItem(f, 0));
		dump_add(&d, 'F', f->string, value,
		    cJSON_GetArrayItem(f, 1)->valuestring);
		free(value);
	}
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "conflicts"))
	{
		cJSON_ArrayForEach(s, c)
			dump_add(&d, 'C', c->string, s->valuestring, "");
	}
	dump_text(&d, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "deleted")),
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "delete_conflict")), out);
}

/*
 * Merge rule 2 on the write set, in SQL from the rule's text: deleted when
 * the record has a delete and every head (a write no base names) was seen
 * by a delete; the record-level conflict when alive with a delete that
 * is not kept against.
 */
static int
sql_flag(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v;

	ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

#define SQL_DELETED                                                                            \
	"SELECT EXISTS (SELECT 1 FROM marks WHERE kind = 0) AND NOT EXISTS (SELECT 1 FROM writes w" \
	" WHERE NOT EXISTS (SELECT 1 FROM write_bases b WHERE b.name = w.name"                     \
	" AND b.stamp = w.stamp) AND w.stamp NOT IN (SELECT stamp FROM marks WHERE kind = 1))"
#define SQL_KEPT_OR_NONE                                                                       \
	"SELECT NOT EXISTS (SELECT 1 FROM marks d WHERE kind = 0 AND d.stamp NOT IN"               \
	" (SELECT stamp FROM marks WHERE kind = 2))"

/* --- the write set on SQLite ------------------------------------------- */

static void
run_sqlite(const struct form *form, cJSON **changes, int n, char out[DUMP_MAX])
{
	struct merge_sqlite ms;
	struct dump d = { .n = 0 };
	sqlite3_stmt *st;
	sqlite3 *db;

	ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db,
		      "CREATE TABLE fields(record_id TEXT, name TEXT, value TEXT, stamp TEXT,"
		      " PRIMARY KEY(record_id, name));" MERGE_SQLITE_SCHEMA MERGE_SQLITE_MARKS_SCHEMA,
		      NULL, NULL, NULL),
	    SQLITE_OK);
	ASSERT_OK(merge_sqlite_init(&ms, db));
	for (int i = 0; i < n; i++) {
		struct merge_result res = { 0 };
		struct change ch;
		char err[256];

		ASSERT_OK(change_parse(changes[i], &ch, err, sizeof(err)));
		ASSERT_OK(change_check(&ch, form, err, sizeof(err)));
		ASSERT_OK(change_apply(&ms.ops, form, &ch, &res));
	}
	ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT name, coalesce(value, 'null'), stamp FROM fields",
		      -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		dump_add(&d, 'F', (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT name, stamp FROM conflicts", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		dump_add(&d, 'C', (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1), "");
	sqlite3_finalize(st);
	{
		bool deleted = sql_flag(db, SQL_DELETED) != 0;

		dump_text(&d, deleted, !deleted && !sql_flag(db, SQL_KEPT_OR_NONE), out);
	}
	merge_sqlite_finish(&ms);
	sqlite3_close(db);
}

/* --- the packed row of both stores ------------------------------------- */

struct row_dump {
	struct dump *d;
	const char *field;
};

static void
row_conflict(void *arg, const struct mm_write *w)
{
	struct row_dump *rd = arg;

	dump_add(rd->d, 'C', rd->field, w->stamp, "");
}

static void
run_row(const struct form *form, cJSON **changes, int n, char out[DUMP_MAX])
{
	char tombstone[HLC_TEXT_LEN + 1] = "", *state = NULL;
	const struct mm_record *r;
	struct dump d = { .n = 0 };
	struct merge_mem mm;
	bool deleted = false;

	for (int i = 0; i < n; i++) {
		struct merge_result res = { 0 };
		struct merge_row_out o;
		struct change ch;
		char err[256];

		ASSERT_OK(change_parse(changes[i], &ch, err, sizeof(err)));
		/* As a store does: the row loaded, merged in memory, packed again. */
		merge_mem_init(&mm, false);
		if (state != NULL)
			ASSERT_OK(merge_row_load(&mm, record_id, state, strlen(state)));
		ASSERT_OK(merge_row_merge(&mm, form, &ch, tombstone, &res, &o));
		if (o.applied) {
			free(state);
			state = o.state;
			deleted = o.deleted;
		}
		merge_mem_finish(&mm);
	}
	merge_mem_init(&mm, false);
	ASSERT_OK(merge_row_load(&mm, record_id, state, strlen(state)));
	r = merge_mem_record(&mm, record_id);
	for (size_t i = 0; i < r->nf; i++) {
		const struct mm_write *cur = merge_mem_current(&r->f[i]);
		struct row_dump rd = { .d = &d, .field = r->f[i].name };

		if (cur != NULL)
			dump_add(&d, 'F', r->f[i].name, cur->value ? cur->value : "null",
			    cur->stamp);
		merge_mem_conflicts(&r->f[i], row_conflict, &rd);
	}
	dump_text(&d, deleted, merge_row_delete_conflict(r), out);
	merge_mem_finish(&mm);
	free(state);
}

/* --- orders ------------------------------------------------------------- */

static int runs;

static void
check_order(const cJSON *v, const struct form *form, cJSON **order, int n, const char *want)
{
	char got[DUMP_MAX];
	const char *name = cJSON_GetObjectItemCaseSensitive(v, "name")->valuestring;

	run_sqlite(form, order, n, got);
	if (strcmp(got, want) != 0)
		FS_FAIL_AT("vector '%s', write set: got\n%swant\n%s", name, got, want);
	run_row(form, order, n, got);
	if (strcmp(got, want) != 0)
		FS_FAIL_AT("vector '%s', packed row: got\n%swant\n%s", name, got, want);
	runs++;
}

/* Every permutation of order[k..n-1] (Heap's algorithm would do; n <= 6). */
static void
permute(const cJSON *v, const struct form *form, cJSON **order, int k, int n, const char *want)
{
	if (k == n) {
		cJSON *with_replay[MAXCH + 1];

		check_order(v, form, order, n, want);
		memcpy(with_replay, order, (size_t)n * sizeof(*order));
		with_replay[n] = order[0];
		check_order(v, form, with_replay, n + 1, want);
		return;
	}
	for (int i = k; i < n; i++) {
		cJSON *t = order[k];
		order[k] = order[i];
		order[i] = t;
		permute(v, form, order, k + 1, n, want);
		order[i] = order[k];
		order[k] = t;
	}
}

FS_TEST(merge_rule_2_vectors)
{
	char path[4096], want[DUMP_MAX], *text;
	const char *root = getenv("FS_SOURCE_ROOT");
	const cJSON *v, *c;
	cJSON *doc;
	int nvec = 0;

	ASSERT(root != NULL);
	snprintf(path, sizeof(path), "%s/tests/vectors/merge-rule-2.json", root);
	text = read_file(path);
	ASSERT((doc = cJSON_Parse(text)) != NULL);
	free(text);
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(doc, "rule")->valueint, 2);
	record_id = cJSON_GetObjectItemCaseSensitive(doc, "record")->valuestring;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "vectors"))
	{
		struct form *form = vector_form(cJSON_GetObjectItemCaseSensitive(doc, "form"),
		    cJSON_GetObjectItemCaseSensitive(v, "policy")->valuestring);
		cJSON *order[MAXCH];
		int n = 0;

		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "changes"))
		{
			ASSERT(n < MAXCH);
			order[n++] = full_change(c);
		}
		expected_text(v, want);
		permute(v, form, order, 0, n, want);
		for (int i = 0; i < n; i++)
			cJSON_Delete(order[i]);
		form_free(form);
		nvec++;
	}
	cJSON_Delete(doc);
	ASSERT(nvec >= 10);
	printf("   %d vectors, %d runs\n", nvec, runs);
}

int
main(void)
{
	FS_RUN(merge_rule_2_vectors);
	FS_TEST_DONE();
}
