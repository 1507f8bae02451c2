/*
 * test-store.c -- the device store through the public API: round trips,
 * atomicity of a save, validation refusals that write nothing, the change
 * log, persistence across reopen and schema versions.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fieldsync.h"
#include "harness.h"
#include "internal.h"

static char tmpdir[] = "/tmp/fs-test-store-XXXXXX";
static int dbcount;

static char *
read_form(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf = malloc(1 << 20);

	snprintf(path, sizeof(path), "%s/%s.json", getenv("FS_FORMS_DIR"), name);
	ASSERT((f = fopen(path, "rb")) != NULL);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static char *
db_path(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/dev%d.db", tmpdir, ++dbcount);
	return path;
}

/* A fresh initialised store with both shipped forms imported. */
static fs_client *
fresh(char **ret_path)
{
	fs_client *c;
	char *path = db_path(), *json;
	size_t len;

	ASSERT_OK(fs_open(path, &c));
	ASSERT_OK(fs_device_init(c, "test device"));
	json = read_form("labor_inspection", &len);
	ASSERT_OK(fs_forms_import(c, json, len, NULL));
	free(json);
	json = read_form("border_screening", &len);
	ASSERT_OK(fs_forms_import(c, json, len, NULL));
	free(json);
	if (ret_path != NULL)
		*ret_path = path;
	return c;
}

static const char *labor_values =
    "{\"worksite_name\":\"Farm 7\",\"sector\":\"agriculture\","
    "\"inspection_date\":\"2026-11-20\",\"referral_decision\":\"monitor\","
    "\"number_of_workers\":42,\"debt_bondage\":true,"
    "\"location\":{\"lat\":12.5,\"lon\":-3.25},"
    "\"interview_notes\":\"Unicode \\u00e9\\u4e2d\\ud83d\\ude00 ok\"}";

static int64_t
count(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n;

	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

FS_TEST(strerror_has_text_for_every_code)
{
	for (int e = 0; e <= FS_ERR_LAST; e++) {
		const char *s = fs_strerror((fs_err)e);
		ASSERT(s != NULL && s[0] != '\0');
		ASSERT(strcmp(s, "unknown error") != 0);
	}
	ASSERT_STR_EQ(fs_strerror((fs_err)9999), "unknown error");
}

FS_TEST(store_record_roundtrip)
{
	char *path, *id, *json;
	fs_client *c = fresh(&path);
	cJSON *got, *want, *values;

	ASSERT_OK(fs_record_create(c, "labor_inspection", labor_values, &id));
	ASSERT_EQ(strlen(id), 32);
	ASSERT_OK(fs_record_get(c, id, &json));
	got = cJSON_Parse(json);
	want = cJSON_Parse(labor_values);
	values = cJSON_GetObjectItemCaseSensitive(got, "values");
	ASSERT(cJSON_Compare(values, want, 1));
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(got, "form")->valuestring,
	    "labor_inspection");
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(got, "form_version")->valueint, 2);
	ASSERT(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(got, "deleted")));
	/* One stamp per field, all from this device. */
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(got, "stamps")),
	    cJSON_GetArraySize(want));
	ASSERT_CONTAINS(cJSON_GetObjectItemCaseSensitive(got, "stamps")->child->valuestring,
	    fs_device_id(c));
	cJSON_Delete(got);
	cJSON_Delete(want);
	fs_free(json);
	fs_free(id);
	fs_close(c);
}

FS_TEST(store_survives_reopen)
{
	char *path, *id, *json, device[17];
	fs_client *c = fresh(&path);
	int64_t pending;

	ASSERT_OK(fs_record_create(c, "labor_inspection", labor_values, &id));
	memcpy(device, fs_device_id(c), 17);
	fs_close(c);
	ASSERT_OK(fs_open(path, &c));
	ASSERT_STR_EQ(fs_device_id(c), device);
	ASSERT_OK(fs_record_get(c, id, &json));
	ASSERT_CONTAINS(json, "Farm 7");
	ASSERT_OK(fs_pending_count(c, &pending));
	ASSERT_EQ(pending, 1);
	fs_free(json);
	fs_free(id);
	fs_close(c);
}

FS_TEST(store_invalid_value_writes_nothing)
{
	char *path, *id = NULL;
	fs_client *c = fresh(&path);

	ASSERT_EQ(fs_record_create(c, "labor_inspection",
		      "{\"worksite_name\":\"Farm\",\"sector\":\"agriculture\","
		      "\"inspection_date\":\"2026-11-20\",\"referral_decision\":\"monitor\","
		      "\"number_of_workers\":-1}",
		      &id),
	    FS_ERR_INVALID);
	ASSERT(id == NULL);
	ASSERT_CONTAINS(fs_errmsg(c), "number_of_workers");
	ASSERT_CONTAINS(fs_errmsg(c), "min");
	/* Missing required field. */
	ASSERT_EQ(fs_record_create(c, "labor_inspection", "{\"worksite_name\":\"Farm\"}", &id),
	    FS_ERR_INVALID);
	ASSERT_CONTAINS(fs_errmsg(c), "required");
	ASSERT_EQ(fs_record_create(c, "labor_inspection", "{not json", &id), FS_ERR_JSON);
	ASSERT_EQ(fs_record_create(c, "no_such_form", "{}", &id), FS_ERR_NOTFOUND);
	ASSERT_EQ(count(path, "SELECT count(*) FROM records"), 0);
	ASSERT_EQ(count(path, "SELECT count(*) FROM changelog"), 0);
	fs_close(c);
}

FS_TEST(store_failed_changelog_write_leaves_no_record)
{
	char *path, *id = NULL;
	fs_client *c = fresh(&path);
	sqlite3 *db;

	/* Make every change-log insert fail from outside the library. */
	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db,
		      "CREATE TRIGGER fail_log BEFORE INSERT ON changelog"
		      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
		      NULL, NULL, NULL),
	    SQLITE_OK);
	ASSERT(fs_record_create(c, "labor_inspection", labor_values, &id) != FS_OK);
	ASSERT(id == NULL);
	ASSERT_EQ(count(path, "SELECT count(*) FROM records"), 0);
	ASSERT_EQ(count(path, "SELECT count(*) FROM fields"), 0);
	ASSERT_EQ(sqlite3_exec(db, "DROP TRIGGER fail_log", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* And the store still works afterwards. */
	ASSERT_OK(fs_record_create(c, "labor_inspection", labor_values, &id));
	ASSERT_EQ(count(path, "SELECT count(*) FROM records"), 1);
	ASSERT_EQ(count(path, "SELECT count(*) FROM changelog"), 1);
	fs_free(id);
	fs_close(c);
}

FS_TEST(store_edit_sets_base_and_keeps_other_fields)
{
	char *path, *id, *json, *log;
	fs_client *c = fresh(&path);
	cJSON *rec, *stamps, *change;
	char old_stamp[64];
	sqlite3 *db;
	sqlite3_stmt *st;

	ASSERT_OK(fs_record_create(c, "labor_inspection", labor_values, &id));
	ASSERT_OK(fs_record_get(c, id, &json));
	rec = cJSON_Parse(json);
	stamps = cJSON_GetObjectItemCaseSensitive(rec, "stamps");
	snprintf(old_stamp, sizeof(old_stamp), "%s",
	    cJSON_GetObjectItemCaseSensitive(stamps, "number_of_workers")->valuestring);
	cJSON_Delete(rec);
	fs_free(json);

	ASSERT_OK(fs_record_edit(c, id, "{\"number_of_workers\":43,\"interview_notes\":null}"));
	ASSERT_OK(fs_record_get(c, id, &json));
	rec = cJSON_Parse(json);
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(
		      cJSON_GetObjectItemCaseSensitive(rec, "values"), "number_of_workers")
		      ->valueint,
	    43);
	ASSERT(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "values"),
		   "interview_notes") == NULL);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(
			  cJSON_GetObjectItemCaseSensitive(rec, "values"), "worksite_name")
			  ->valuestring,
	    "Farm 7");
	ASSERT(strcmp(cJSON_GetObjectItemCaseSensitive(
			  cJSON_GetObjectItemCaseSensitive(rec, "stamps"), "number_of_workers")
			  ->valuestring,
		   old_stamp) > 0);
	cJSON_Delete(rec);
	fs_free(json);

	/* The second change names the stamp it overwrote. */
	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT body FROM changelog ORDER BY seq DESC LIMIT 1", -1,
		      &st, NULL),
	    SQLITE_OK);
	ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
	log = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	change = cJSON_Parse(log);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(
			  cJSON_GetObjectItemCaseSensitive(change, "base"), "number_of_workers")
			  ->valuestring,
	    old_stamp);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(change, "op")->valuestring, "upsert");
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(change, "fields")), 2);
	cJSON_Delete(change);
	free(log);

	/* An edit that breaks a rule writes nothing; a no-op edit logs nothing. */
	ASSERT_EQ(fs_record_edit(c, id, "{\"sector\":\"space\"}"), FS_ERR_INVALID);
	ASSERT_CONTAINS(fs_errmsg(c), "sector");
	ASSERT_EQ(fs_record_edit(c, id, "{\"worksite_name\":null}"), FS_ERR_INVALID);
	ASSERT_CONTAINS(fs_errmsg(c), "required");
	ASSERT_OK(fs_record_edit(c, id, "{\"number_of_workers\":43}"));
	ASSERT_EQ(count(path, "SELECT count(*) FROM changelog"), 2);
	ASSERT_EQ(fs_record_edit(c, "ffffffffffffffffffffffffffffffff", "{}"), FS_ERR_NOTFOUND);
	fs_free(id);
	fs_close(c);
}

FS_TEST(store_delete_is_a_tombstone)
{
	char *path, *id, *json;
	fs_client *c = fresh(&path);
	int64_t pending;

	ASSERT_OK(fs_record_create(c, "labor_inspection", labor_values, &id));
	ASSERT_OK(fs_record_delete(c, id));
	ASSERT_EQ(fs_record_delete(c, id), FS_ERR_DELETED);
	ASSERT_EQ(fs_record_edit(c, id, "{\"number_of_workers\":1}"), FS_ERR_DELETED);
	ASSERT_OK(fs_record_get(c, id, &json));
	ASSERT_CONTAINS(json, "\"deleted\":true");
	fs_free(json);
	ASSERT_OK(fs_record_list(c, NULL, &json));
	ASSERT_STR_EQ(json, "[]");
	fs_free(json);
	ASSERT_OK(fs_pending_count(c, &pending));
	ASSERT_EQ(pending, 2);
	ASSERT_EQ(count(path, "SELECT count(*) FROM changelog WHERE body LIKE '%\"op\":\"delete\"%'"),
	    1);
	fs_free(id);
	fs_close(c);
}

FS_TEST(store_list_filters_by_form)
{
	char *path, *a, *b, *json;
	fs_client *c = fresh(&path);

	ASSERT_OK(fs_record_create(c, "labor_inspection", labor_values, &a));
	ASSERT_OK(fs_record_create(c, "border_screening",
	    "{\"checkpoint\":\"North gate\",\"screening_time\":\"2026-11-20T10:00:00Z\","
	    "\"document_holder\":\"companion\",\"is_minor\":true,"
	    "\"minor_accompaniment\":\"with_non_guardian\",\"referral\":\"secondary_interview\"}",
	    &b));
	ASSERT_OK(fs_record_list(c, "border_screening", &json));
	ASSERT_CONTAINS(json, b);
	ASSERT(strstr(json, a) == NULL);
	fs_free(json);
	ASSERT_OK(fs_record_list(c, NULL, &json));
	ASSERT_CONTAINS(json, a);
	ASSERT_CONTAINS(json, b);
	fs_free(json);
	fs_free(a);
	fs_free(b);
	fs_close(c);
}

FS_TEST(store_needs_device_id_before_saving)
{
	fs_client *c;
	char *id = NULL, *json;
	size_t len;

	ASSERT_OK(fs_open(db_path(), &c));
	ASSERT(fs_device_id(c) == NULL);
	json = read_form("labor_inspection", &len);
	ASSERT_OK(fs_forms_import(c, json, len, NULL));
	free(json);
	ASSERT_EQ(fs_record_create(c, "labor_inspection", labor_values, &id), FS_ERR_NOT_INIT);
	ASSERT_OK(fs_device_init(c, "x"));
	ASSERT_EQ(fs_device_init(c, "x"), FS_ERR_EXISTS);
	fs_close(c);
}

FS_TEST(store_form_import_rules)
{
	fs_client *c = fresh(NULL);
	char *json, *list;
	size_t len;

	/* Same content again is fine; changed content under the same version is not. */
	json = read_form("labor_inspection", &len);
	ASSERT_OK(fs_forms_import(c, json, len, NULL));
	free(json);
	ASSERT_EQ(fs_forms_import(c,
		      "{\"id\":\"labor_inspection\",\"version\":2,\"title\":\"x\","
		      "\"fields\":[{\"name\":\"a\",\"type\":\"text\"}]}",
		      strlen("{\"id\":\"labor_inspection\",\"version\":2,\"title\":\"x\","
			     "\"fields\":[{\"name\":\"a\",\"type\":\"text\"}]}"),
		      NULL),
	    FS_ERR_EXISTS);
	ASSERT_EQ(fs_forms_import(c, "{\"id\":\"x\"}", 10, NULL), FS_ERR_FORM);
	ASSERT(fs_errmsg(c)[0] != '\0');
	ASSERT_OK(fs_forms_list(c, &list));
	ASSERT_CONTAINS(list, "\"id\":\"border_screening\"");
	ASSERT_CONTAINS(list, "\"id\":\"labor_inspection\"");
	fs_free(list);
	fs_close(c);
}

FS_TEST(store_newer_schema_is_refused)
{
	char *path;
	fs_client *c = fresh(&path);
	sqlite3 *db;

	fs_close(c);
	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	c = NULL;
	ASSERT_EQ(fs_open(path, &c), FS_ERR_SCHEMA);
	ASSERT(c == NULL);
}

FS_TEST(store_not_a_database_is_refused)
{
	char *path = db_path();
	fs_client *c = NULL;
	FILE *f = fopen(path, "wb");

	fputs("this is not an SQLite database, just some bytes that are long enough......"
	      "..........................................................................",
	    f);
	fclose(f);
	ASSERT(fs_open(path, &c) != FS_OK);
	ASSERT(c == NULL);
}

FS_TEST(store_changelog_is_append_only)
{
	char *path, *id;
	fs_client *c = fresh(&path);
	sqlite3 *db;

	ASSERT_OK(fs_record_create(c, "labor_inspection", labor_values, &id));
	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT(sqlite3_exec(db, "DELETE FROM changelog", NULL, NULL, NULL) != SQLITE_OK);
	sqlite3_close(db);
	ASSERT_EQ(count(path, "SELECT count(*) FROM changelog"), 1);
	ASSERT_EQ(count(path, "PRAGMA synchronous"), 2);
	fs_free(id);
	fs_close(c);
}

FS_TEST(store_values_from_assignments_types_values)
{
	fs_client *c = fresh(NULL);
	const char *sets[] = { "number_of_workers=12", "debt_bondage=yes", "location=1.5,2.5",
		"worksite_name=Site A" };
	const char *bad[] = { "number_of_workers=twelve" };
	const char *unknown[] = { "nonexistent=1" };
	char *json;

	ASSERT_OK(fs_values_from_assignments(c, "labor_inspection", sets, 4, &json));
	ASSERT_CONTAINS(json, "\"number_of_workers\":12");
	ASSERT_CONTAINS(json, "\"debt_bondage\":true");
	ASSERT_CONTAINS(json, "\"lat\":1.5");
	fs_free(json);
	ASSERT_EQ(fs_values_from_assignments(c, "labor_inspection", bad, 1, &json), FS_ERR_INVALID);
	ASSERT_CONTAINS(fs_errmsg(c), "number_of_workers");
	ASSERT(strstr(fs_errmsg(c), "twelve") == NULL);
	ASSERT_EQ(fs_values_from_assignments(c, "labor_inspection", unknown, 1, &json),
	    FS_ERR_INVALID);
	ASSERT_CONTAINS(fs_errmsg(c), "nonexistent");
	fs_close(c);
}

/*
 * The statement cache at its limit (issue 13): a statement lent out by
 * db_stmt() stays valid however many others are cached after it, and with
 * every slot lent the next request fails cleanly instead of freeing one in
 * use.
 */
FS_TEST(store_statement_cache_never_frees_a_lent_statement)
{
	fs_client *c = fresh(NULL);
	sqlite3_stmt *held, *st, *lent[DB_STMT_CACHE];
	static char sql[DB_STMT_CACHE * 3][64];
	static const char held_sql[] = "SELECT value FROM meta WHERE key = 'device_id'";

	ASSERT_OK(db_stmt(c, held_sql, &held));
	for (int i = 0; i < DB_STMT_CACHE * 3; i++) {
		snprintf(sql[i], sizeof(sql[i]), "SELECT %d + count(*) FROM meta", i);
		ASSERT_OK(db_stmt(c, sql[i], &st));
		ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
		ASSERT_EQ(sqlite3_column_int(st, 0) >= i, 1);
		db_stmt_done(c, st);
	}
	/* The held statement survived 72 others passing through 24 slots. */
	ASSERT_EQ(sqlite3_step(held), SQLITE_ROW);
	ASSERT_EQ(sqlite3_column_bytes(held, 0), 16);
	db_stmt_done(c, held);
	/* Every slot lent: the next one is refused, none is freed. */
	for (int i = 0; i < DB_STMT_CACHE; i++)
		ASSERT_OK(db_stmt(c, sql[i], &lent[i]));
	ASSERT_EQ(db_stmt(c, held_sql, &st), FS_ERR_INTERNAL);
	for (int i = 0; i < DB_STMT_CACHE; i++) {
		ASSERT_EQ(sqlite3_step(lent[i]), SQLITE_ROW);
		db_stmt_done(c, lent[i]);
	}
	ASSERT_OK(db_stmt(c, held_sql, &st));
	db_stmt_done(c, st);
	fs_close(c);
}

/* Schema 1 of the device store, as releases 0.1 and 0.2 created it. */
static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE forms(id TEXT NOT NULL, version INTEGER NOT NULL,"
    " definition TEXT NOT NULL, imported_at TEXT NOT NULL, PRIMARY KEY(id, version));"
    "CREATE TABLE records(id TEXT PRIMARY KEY, form TEXT NOT NULL,"
    " form_version INTEGER NOT NULL, tombstone TEXT, deleted INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE INDEX records_form ON records(form, updated_at);"
    "CREATE TABLE fields(record_id TEXT NOT NULL REFERENCES records(id),"
    " name TEXT NOT NULL, value TEXT, stamp TEXT NOT NULL,"
    " PRIMARY KEY(record_id, name)) WITHOUT ROWID;"
    "CREATE TABLE changelog(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " record_id TEXT NOT NULL, hlc TEXT NOT NULL UNIQUE, body TEXT NOT NULL,"
    " created_at TEXT NOT NULL, pushed INTEGER NOT NULL DEFAULT 0,"
    " batch TEXT, rejected TEXT, device_hlc TEXT);"
    "CREATE INDEX changelog_pending ON changelog(pushed, seq);"
    "CREATE TRIGGER changelog_no_delete BEFORE DELETE ON changelog"
    " BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;"
    "CREATE TABLE writes(record_id TEXT NOT NULL, name TEXT NOT NULL,"
    " stamp TEXT NOT NULL, base TEXT, value TEXT, device TEXT NOT NULL,"
    " PRIMARY KEY(record_id, name, stamp)) WITHOUT ROWID;"
    "CREATE TABLE write_bases(record_id TEXT NOT NULL, name TEXT NOT NULL,"
    " stamp TEXT NOT NULL, PRIMARY KEY(record_id, name, stamp)) WITHOUT ROWID;"
    "CREATE TABLE conflicts(record_id TEXT NOT NULL, name TEXT NOT NULL,"
    " stamp TEXT NOT NULL, created_at TEXT NOT NULL,"
    " PRIMARY KEY(record_id, name, stamp)) WITHOUT ROWID;";

/*
 * A device store written before merge rule 1 (schema 1) holding a
 * null-vs-null conflict and a real one: opening it drops the first only,
 * and the one-row-per-record migration (schema 3) keeps the second.
 */
FS_TEST(store_migrates_old_rule_conflicts)
{
	static const char plant[] =
	    "INSERT INTO records(id, form, form_version, created_at, updated_at)"
	    " VALUES('r1', 'labor_inspection', 1, 't', 't');"
	    "INSERT INTO writes VALUES('r1', 'sector', '0000000000010000-00000000000000a1',"
	    " NULL, NULL, 'a1');"
	    "INSERT INTO writes VALUES('r1', 'sector', '0000000000020000-00000000000000a2',"
	    " NULL, NULL, 'a2');"
	    "INSERT INTO fields VALUES('r1', 'sector', NULL, '0000000000020000-00000000000000a2');"
	    "INSERT INTO conflicts VALUES('r1', 'sector', '0000000000010000-00000000000000a1', 't');"
	    "INSERT INTO writes VALUES('r1', 'sector2', '0000000000010000-00000000000000a1',"
	    " NULL, '1', 'a1');"
	    "INSERT INTO writes VALUES('r1', 'sector2', '0000000000020000-00000000000000a2',"
	    " NULL, NULL, 'a2');"
	    "INSERT INTO fields VALUES('r1', 'sector2', NULL, '0000000000020000-00000000000000a2');"
	    "INSERT INTO conflicts VALUES('r1', 'sector2', '0000000000010000-00000000000000a1', 't');"
	    "PRAGMA user_version = 1;";
	char *path = db_path();
	fs_client *c;
	sqlite3 *db;

	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, schema_v1, NULL, NULL, NULL), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, plant, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ASSERT_OK(fs_open(path, &c));
	fs_close(c);
	ASSERT_EQ(count(path, "SELECT count(*) FROM conflicts WHERE name = 'sector'"), 0);
	ASSERT_EQ(count(path, "SELECT count(*) FROM conflicts WHERE name = 'sector2'"), 1);
	ASSERT_EQ(count(path, "SELECT count(*) FROM conflicts WHERE name = 'sector2'"
			      " AND value = '1' AND device = '00000000000000a1'"),
	    1);
	ASSERT_EQ(count(path, "SELECT conflicts FROM records WHERE id = 'r1'"), 1);
	ASSERT_EQ(count(path, "SELECT count(*) FROM fields WHERE record_id = 'r1'"
			      " AND value IS NULL AND stamp = '0000000000020000-00000000000000a2'"),
	    2);
	ASSERT_EQ(count(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
			      " AND name IN ('writes', 'write_bases')"),
	    0);
	ASSERT_EQ(count(path, "PRAGMA user_version"), 6);
}

/* A new store, and its WAL, are readable by their owner only (issue 15). */
FS_TEST(store_file_is_private)
{
	char *path, wal[300];
	fs_client *c = fresh(&path);
	struct stat st;
	char *id;

	ASSERT_OK(fs_record_create(c, "labor_inspection", labor_values, &id));
	fs_free(id);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ((int)(st.st_mode & 0777), 0600);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ASSERT_EQ(stat(wal, &st), 0);
	ASSERT_EQ((int)(st.st_mode & 0777), 0600);
	fs_close(c);
}

/* A store from before 0.5 (0644, WAL too) is tightened when opened; a umask of 0 changes nothing. */
FS_TEST(store_old_open_store_is_tightened)
{
	char *path, wal[300];
	fs_client *c = fresh(&path), *c2;
	struct stat st;
	mode_t old;
	char *id;

	/* The first handle keeps the WAL in place while the second opens. */
	ASSERT_OK(fs_record_create(c, "labor_inspection", labor_values, &id));
	fs_free(id);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ASSERT_EQ(chmod(path, 0644), 0);
	ASSERT_EQ(chmod(wal, 0664), 0);
	old = umask(0);
	ASSERT_OK(fs_open(path, &c2));
	umask(old);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ((int)(st.st_mode & 0777), 0600);
	ASSERT_EQ(stat(wal, &st), 0);
	ASSERT_EQ((int)(st.st_mode & 0777), 0600);
	fs_close(c2);
	fs_close(c);
}

int
main(void)
{
	ASSERT(mkdtemp(tmpdir) != NULL);
	FS_RUN(strerror_has_text_for_every_code);
	FS_RUN(store_record_roundtrip);
	FS_RUN(store_survives_reopen);
	FS_RUN(store_invalid_value_writes_nothing);
	FS_RUN(store_failed_changelog_write_leaves_no_record);
	FS_RUN(store_edit_sets_base_and_keeps_other_fields);
	FS_RUN(store_delete_is_a_tombstone);
	FS_RUN(store_list_filters_by_form);
	FS_RUN(store_needs_device_id_before_saving);
	FS_RUN(store_form_import_rules);
	FS_RUN(store_newer_schema_is_refused);
	FS_RUN(store_old_open_store_is_tightened);
	FS_RUN(store_not_a_database_is_refused);
	FS_RUN(store_changelog_is_append_only);
	FS_RUN(store_values_from_assignments_types_values);
	FS_RUN(store_statement_cache_never_frees_a_lent_statement);
	FS_RUN(store_migrates_old_rule_conflicts);
	FS_RUN(store_file_is_private);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s, ignoring\n", tmpdir);
	}
	FS_TEST_DONE();
}
