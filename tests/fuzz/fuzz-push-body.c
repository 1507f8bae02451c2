/*
 * fuzz-push-body.c -- the push-body decoder of POST /v1/push on any bytes:
 * strict JSON (form_json_parse), the envelope checks of daemon/sync.c
 * (device, batch, changes), then per change change_parse(), change_check()
 * against the shipped forms and change_apply() into an in-memory SQLite
 * merge store (rolled back after each input).  Properties: every step
 * answers FS_OK or its documented refusal, a change that parses re-parses
 * identically from its own printed JSON, and merging it twice changes
 * nothing the second time.
 */
#include <sqlite3.h>
#include <string.h>

#include "change.h"
#include "form.h"
#include "fuzz-forms.h"
#include "fuzz.h"
#include "hlc.h"
#include "merge_sqlite.h"

#define MAX_CHANGES 5000 /* max_changes_per_batch's default */

static sqlite3 *db;
static struct merge_sqlite ms;

static void
store_close(void)
{
	merge_sqlite_finish(&ms);
	sqlite3_close(db);
}

static void
store_open(void)
{
	if (db != NULL)
		return;
	FUZZ_CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	FUZZ_CHECK(sqlite3_exec(db,
	               "CREATE TABLE fields(record_id TEXT NOT NULL, name TEXT NOT NULL,"
	               " value TEXT, stamp TEXT NOT NULL, PRIMARY KEY(record_id, name))"
	               " WITHOUT ROWID;" MERGE_SQLITE_SCHEMA,
	               NULL, NULL, NULL) == SQLITE_OK);
	FUZZ_CHECK(merge_sqlite_init(&ms, db) == FS_OK);
	atexit(store_close);
}

/* The envelope rules of daemon/sync.c push_envelope(). */
static bool
envelope_ok(const cJSON *root, const cJSON **ret_changes, const char **ret_device)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "device");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "batch");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "changes");
	size_t n;
	int size;

	if (!cJSON_IsObject(root) || !cJSON_IsString(d) || !hlc_valid_device(d->valuestring) ||
	    !cJSON_IsString(b) || !cJSON_IsArray(c))
		return false;
	n = strlen(b->valuestring);
	if (n < 1 || n > 64 ||
	    strspn(b->valuestring, "abcdefghijklmnopqrstuvwxyz"
	                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
		return false;
	size = cJSON_GetArraySize(c);
	if (size < 1 || size > MAX_CHANGES)
		return false;
	*ret_changes = c;
	*ret_device = d->valuestring;
	return true;
}

static int
count_rows(void)
{
	sqlite3_stmt *st;
	int n = -1;

	FUZZ_CHECK(sqlite3_prepare_v2(db,
	               "SELECT (SELECT count(*) FROM writes) + (SELECT count(*) FROM write_bases)"
	               " + (SELECT count(*) FROM conflicts) + (SELECT count(*) FROM fields)",
	               -1, &st, NULL) == SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
one_change(const cJSON *item)
{
	struct merge_result res = {0};
	struct change ch, again;
	const struct form *form;
	cJSON *reparsed;
	char err[256], *text;
	fs_err rc;
	int rows;

	rc = change_parse(item, &ch, err, sizeof(err));
	FUZZ_CHECK(rc == FS_OK || rc == FS_ERR_INVALID || rc == FS_ERR_NOMEM);
	if (rc != FS_OK)
		return;
	/* What the server stores is the change printed again: it must mean the same. */
	FUZZ_CHECK((text = cJSON_PrintUnformatted(item)) != NULL);
	FUZZ_CHECK(
	    form_json_parse(text, strlen(text), "change", &reparsed, err, sizeof(err)) == FS_OK);
	FUZZ_CHECK(change_parse(reparsed, &again, err, sizeof(err)) == FS_OK);
	FUZZ_CHECK(strcmp(again.id, ch.id) == 0 && strcmp(again.hlc, ch.hlc) == 0 &&
	           again.form_version == ch.form_version && again.is_delete == ch.is_delete);
	cJSON_Delete(reparsed);
	cJSON_free(text);
	if ((form = fuzz_form_find(ch.form, ch.form_version)) == NULL)
		return;
	rc = change_check(&ch, form, err, sizeof(err));
	FUZZ_CHECK(rc == FS_OK || rc == FS_ERR_INVALID);
	if (rc != FS_OK)
		return;
	FUZZ_CHECK(change_apply(&ms.ops, form, &ch, &res) == FS_OK);
	/* Idempotent: the same change again adds nothing. */
	rows = count_rows();
	memset(&res, 0, sizeof(res));
	FUZZ_CHECK(change_apply(&ms.ops, form, &ch, &res) == FS_OK);
	FUZZ_CHECK(res.fields_applied == 0 && count_rows() == rows);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const cJSON *changes, *item;
	const char *device;
	char err[256];
	cJSON *root;
	int n = 0;

	if (size > (1 << 20))
		return 0;
	fuzz_forms_load();
	store_open();
	if (form_json_parse((const char *)data, size, "body", &root, err, sizeof(err)) != FS_OK)
		return 0;
	if (envelope_ok(root, &changes, &device)) {
		FUZZ_CHECK(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
		cJSON_ArrayForEach(item, changes)
		{
			if (n++ == 64)
				break; /* enough for coverage; keeps each input fast */
			one_change(item);
		}
		FUZZ_CHECK(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
	}
	(void)device;
	cJSON_Delete(root);
	return 0;
}
