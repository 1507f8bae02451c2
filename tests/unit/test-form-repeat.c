/*
 * test-form-repeat.c -- repeat groups (common/form_repeat.c, issue 19
 * item 2): definitions refused at load, the "repeat/row/sub" keys, a
 * change's values checked per key, a whole record's rows checked (count,
 * required sub-fields, rules within a row), and what a device does on save
 * (a repeat that does not apply emptied, a row's calculation made).  The
 * same functions run on the device and the server.  Two devices' rows
 * merged: tests/integration/test-skip-logic.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "form.h"
#include "harness.h"

static const char form_json[] =
    "{\"id\": \"visit\", \"version\": 3, \"title\": \"t\", \"fields\": ["
    " {\"name\": \"workers\", \"type\": \"integer\", \"required\": true},"
    " {\"name\": \"interviews\", \"type\": \"repeat\", \"label\": \"Interviews\","
    "  \"relevant\": \"${workers} > 0\", \"required\": true, \"max_rows\": 3, \"fields\": ["
    "   {\"name\": \"name\", \"type\": \"text\", \"sensitive\": true},"
    "   {\"name\": \"age\", \"type\": \"integer\", \"required\": true, \"min\": 0},"
    "   {\"name\": \"guardian\", \"type\": \"text\", \"relevant\": \"${age} < 18\"},"
    "   {\"name\": \"minor\", \"type\": \"boolean\", \"calculate\": \"${age} < 18\"}"
    "  ]}"
    "]}";

static struct form *
load_ok(const char *json)
{
	struct form *f = NULL;
	char err[256];

	if (form_load(json, strlen(json), &f, err, sizeof(err)) != FS_OK)
		fprintf(stderr, "load: %s\n", err);
	ASSERT(f != NULL);
	return f;
}

static void
load_bad(const char *fields, const char *want)
{
	char json[2048], err[256] = "";
	struct form *f = NULL;

	snprintf(json, sizeof(json), "{\"id\": \"x\", \"version\": 1, \"title\": \"t\", \"fields\": [%s]}",
	    fields);
	ASSERT_EQ(form_load(json, strlen(json), &f, err, sizeof(err)), FS_ERR_FORM);
	ASSERT(f == NULL);
	ASSERT_CONTAINS(err, want);
}

FS_TEST(repeat_refused_at_load)
{
	load_bad("{\"name\": \"r\", \"type\": \"repeat\"}", "field 'r': missing 'fields'");
	load_bad("{\"name\": \"r\", \"type\": \"repeat\", \"fields\": [{\"name\": \"s\", \"type\":"
		 " \"repeat\", \"fields\": [{\"name\": \"t\", \"type\": \"text\"}]}]}",
	    "field 'r': field 's': a repeat cannot hold a repeat");
	load_bad("{\"name\": \"r\", \"type\": \"repeat\", \"sensitive\": true, \"fields\":"
		 " [{\"name\": \"t\", \"type\": \"text\"}]}",
	    "a repeat cannot be sensitive");
	load_bad("{\"name\": \"r\", \"type\": \"repeat\", \"constraint\": \"1 = 1\", \"fields\":"
		 " [{\"name\": \"t\", \"type\": \"text\"}]}",
	    "a repeat takes 'relevant' only");
	load_bad("{\"name\": \"r\", \"type\": \"repeat\", \"fields\": [{\"name\": \"t\", \"type\":"
		 " \"text\"}]}, {\"name\": \"n\", \"type\": \"integer\", \"calculate\": \"${r}\"}",
	    "field 'n': calculate names repeat 'r'");
	load_bad("{\"name\": \"t\", \"type\": \"text\", \"fields\": []}",
	    "'fields' is only allowed for repeat");
	load_bad("{\"name\": \"r\", \"type\": \"repeat\", \"max_rows\": 0, \"fields\": [{\"name\":"
		 " \"t\", \"type\": \"text\"}]}",
	    "'max_rows' must be an integer from 1 to");
	/* A sub-field's own error names the repeat and the sub-field. */
	load_bad("{\"name\": \"r\", \"type\": \"repeat\", \"fields\": [{\"name\": \"t\", \"type\":"
		 " \"integer\", \"min\": 5, \"max\": 1}]}",
	    "field 'r': field 't': min is greater than max");
	/* A row's rule names its own row's sub-fields only. */
	load_bad("{\"name\": \"a\", \"type\": \"integer\"}, {\"name\": \"r\", \"type\": \"repeat\","
		 " \"fields\": [{\"name\": \"t\", \"type\": \"text\", \"relevant\": \"${a} > 1\"}]}",
	    "names unknown field 'a'");
}

FS_TEST(repeat_keys)
{
	struct form *form = load_ok(form_json);
	struct form_key k;
	const struct form_field *f;

	ASSERT(form_key_split("interviews/a1b2/age", &k));
	ASSERT_STR_EQ(k.repeat, "interviews");
	ASSERT_STR_EQ(k.row, "a1b2");
	ASSERT_STR_EQ(k.sub, "age");
	ASSERT(!form_key_split("interviews/A1/age", &k));       /* upper case */
	ASSERT(!form_key_split("interviews//age", &k));         /* no row */
	ASSERT(!form_key_split("interviews/a1/age/x", &k));     /* too deep */
	ASSERT(!form_key_split("interviews/a1/", &k));          /* no sub-field */
	ASSERT(!form_key_split("interviews/0123456789abcdef0123456789abcdef0/age", &k)); /* 33 */
	ASSERT(form_key_split("interviews/0123456789abcdef0123456789abcdef/age", &k));   /* 32 */
	f = form_field_find(form, "interviews/r1/age");
	ASSERT(f != NULL && f->type == FORM_INTEGER);
	f = form_field_find(form, "interviews/r1/name");
	ASSERT(f != NULL && f->sensitive);
	ASSERT(form_field_find(form, "interviews/r1/nope") == NULL);
	ASSERT(form_field_find(form, "workers/r1/age") == NULL); /* not a repeat */
	ASSERT(form_field_find(form, "interviews")->type == FORM_REPEAT);
	form_free(form);
}

static fs_err
validate(const struct form *form, const char *json, bool complete, char *err, size_t len)
{
	cJSON *v = cJSON_Parse(json);
	fs_err rc;

	ASSERT(v != NULL);
	rc = form_validate(form, v, complete, err, len);
	cJSON_Delete(v);
	return rc;
}

FS_TEST(repeat_values_checked)
{
	struct form *form = load_ok(form_json);
	char err[512];

	/* A change: each key against its sub-field. */
	ASSERT_OK(validate(form, "{\"interviews/r1/age\": 30}", false, err, sizeof(err)));
	/* Clearing a row's required value is a change like any other. */
	ASSERT_OK(validate(form, "{\"interviews/r1/age\": null}", false, err, sizeof(err)));
	ASSERT_EQ(validate(form, "{\"interviews/r1/age\": -1}", false, err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "field 'interviews/r1/age': rule 'min'");
	ASSERT_EQ(validate(form, "{\"interviews/r1/salary\": 1}", false, err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "rule 'unknown_field'");
	ASSERT_EQ(validate(form, "{\"interviews/R1/age\": 1}", false, err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_EQ(validate(form, "{\"interviews\": [1]}", false, err, sizeof(err)), FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "holds rows");
	ASSERT_EQ(validate(form, "{\"interviews/r1/age\": 1, \"interviews/r1/age\": 2}", false, err,
		      sizeof(err)),
	    FS_ERR_JSON);

	/* A whole record. */
	ASSERT_OK(validate(form,
	    "{\"workers\": 4, \"interviews/r1/age\": 30, \"interviews/r2/age\": 16,"
	    " \"interviews/r2/guardian\": \"g\", \"interviews/r2/minor\": true}",
	    true, err, sizeof(err)));
	ASSERT_EQ(validate(form, "{\"workers\": 4}", true, err, sizeof(err)), FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "field 'interviews': rule 'required' (must have a row)");
	ASSERT_EQ(validate(form, "{\"workers\": 4, \"interviews/r1/name\": \"n\"}", true, err,
		      sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "field 'interviews', row 'r1': field 'age': rule 'required'");
	ASSERT_EQ(validate(form,
		      "{\"workers\": 4, \"interviews/r1/age\": 30, \"interviews/r1/guardian\": \"g\"}",
		      true, err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "row 'r1': field 'guardian': rule 'relevant'");
	/* A removed row (every value null) is not a row. */
	ASSERT_OK(validate(form,
	    "{\"workers\": 4, \"interviews/r1/age\": 30, \"interviews/r2/age\": null,"
	    " \"interviews/r2/name\": null}",
	    true, err, sizeof(err)));
	ASSERT_EQ(validate(form,
		      "{\"workers\": 4, \"interviews/a/age\": 1, \"interviews/b/age\": 2,"
		      " \"interviews/c/age\": 3, \"interviews/d/age\": 4}",
		      true, err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "rule 'max_rows' (at most 3 rows)");
	/* No workers: the repeat does not apply, rows are refused, none needed. */
	ASSERT_OK(validate(form, "{\"workers\": 0}", true, err, sizeof(err)));
	ASSERT_EQ(validate(form, "{\"workers\": 0, \"interviews/r1/age\": 30}", true, err,
		      sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "field 'interviews': rule 'relevant'");
	form_free(form);
}

FS_TEST(repeat_device_save_and_server_check)
{
	struct form *form = load_ok(form_json);
	cJSON *v, *rec, *change;
	char err[512];

	/* Save: each row's calculation made, from its own row's values. */
	v = cJSON_Parse("{\"workers\": 4, \"interviews/r1/age\": 30, \"interviews/r2/age\": 15}");
	ASSERT_OK(form_apply_logic(form, v, "2026-12-06"));
	ASSERT(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "interviews/r1/minor")));
	ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "interviews/r2/minor")));
	cJSON_Delete(v);
	/* Save: a row whose answers are cleared stays removed (its calculation is cleared too). */
	v = cJSON_Parse("{\"workers\": 4, \"interviews/r1/age\": 30, \"interviews/r2/age\": null,"
			" \"interviews/r2/minor\": false}");
	ASSERT_OK(form_apply_logic(form, v, "2026-12-06"));
	ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "interviews/r2/minor")));
	ASSERT(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "interviews/r1/minor")));
	cJSON_Delete(v);
	/* Save: a repeat that stops applying keeps no rows. */
	v = cJSON_Parse("{\"workers\": 0, \"interviews/r1/age\": 30, \"interviews/r1/name\": \"n\"}");
	ASSERT_OK(form_apply_logic(form, v, "2026-12-06"));
	ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "interviews/r1/age")));
	ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "interviews/r1/name")));
	ASSERT_OK(form_check_logic(form, v, "2026-12-06", err, sizeof(err)));
	cJSON_Delete(v);

	/* Server: a change setting a row's value where the repeat does not apply. */
	rec = cJSON_Parse("{\"workers\": 0, \"interviews/r1/age\": 30}");
	change = cJSON_Parse("{\"interviews/r1/age\": 30}");
	ASSERT_EQ(form_check_relevant(form, rec, change, "2026-12-06", err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "field 'interviews/r1/age': rule 'relevant'");
	cJSON_Delete(rec);
	cJSON_Delete(change);
	/* Server: a sub-field that does not apply within its row. */
	rec = cJSON_Parse("{\"workers\": 2, \"interviews/r1/age\": 30, \"interviews/r1/guardian\": \"g\"}");
	change = cJSON_Parse("{\"interviews/r1/guardian\": \"g\"}");
	ASSERT_EQ(form_check_relevant(form, rec, change, "2026-12-06", err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "field 'interviews/r1/guardian': rule 'relevant'");
	cJSON_Delete(rec);
	cJSON_Delete(change);
	/* Clearing a value always passes; an applicable one too. */
	rec = cJSON_Parse("{\"workers\": 2, \"interviews/r1/age\": 12, \"interviews/r1/guardian\": \"g\"}");
	change = cJSON_Parse("{\"interviews/r1/guardian\": \"g\", \"interviews/r9/name\": null}");
	ASSERT_OK(form_check_relevant(form, rec, change, "2026-12-06", err, sizeof(err)));
	cJSON_Delete(rec);
	cJSON_Delete(change);
	form_free(form);
}

FS_TEST(repeat_rows_each_counts_rows_once)
{
	struct form *form = load_ok(form_json);
	const struct form_field *f = form_field_find(form, "interviews");
	cJSON *v = cJSON_Parse("{\"interviews/b/age\": 1, \"workers\": 3, \"interviews/a/age\": 2,"
			       " \"interviews/b/name\": \"x\", \"interviewsx/c/age\": 1}");
	cJSON *row;
	int64_t rows = -1;
	char err[256];

	ASSERT_OK(form_repeat_check(f, v, "2026-12-06", &rows, err, sizeof(err)));
	ASSERT_EQ(rows, 2);
	row = form_row_values(f, v, "b");
	ASSERT(row != NULL);
	ASSERT_EQ(cJSON_GetArraySize(row), 2);
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(row, "age")->valueint, 1);
	cJSON_Delete(row);
	cJSON_Delete(v);
	form_free(form);
}

int
main(void)
{
	FS_RUN(repeat_refused_at_load);
	FS_RUN(repeat_keys);
	FS_RUN(repeat_values_checked);
	FS_RUN(repeat_device_save_and_server_check);
	FS_RUN(repeat_rows_each_counts_rows_once);
	FS_TEST_DONE();
}
