/*
 * test-form-logic.c -- skip logic, constraints, required_if and
 * calculations of forms (common/form_logic.c, issue 19 item 1):
 *
 *   - definitions refused at load with the field, the key and the
 *     position: a parse error, an unknown field, a sensitive field named,
 *     a cycle, a calculated sensitive field, a bad constraint_message;
 *   - a table of records, each with what the device does on save
 *     (form_apply_logic: calculated, cleared) and whether the whole record
 *     then passes (form_validate complete, as the device checks) -- the
 *     table the device and the server agree on: the server's check of a
 *     change (form_check_relevant) refuses exactly the records whose
 *     non-relevant fields hold values, and accepts what the device saves.
 *
 * tests/integration/test-skip-logic.sh drives the same rules through the
 * CLI (device) and a push (server).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "form.h"
#include "harness.h"

static const char form_json[] =
    "{\"id\": \"screening\", \"version\": 2, \"title\": \"t\", \"fields\": ["
    " {\"name\": \"age\", \"type\": \"integer\", \"required\": true},"
    " {\"name\": \"guardian\", \"type\": \"text\", \"required\": true, \"relevant\": \"${age} < 18\"},"
    " {\"name\": \"debt\", \"type\": \"boolean\"},"
    " {\"name\": \"debt_amount\", \"type\": \"decimal\", \"relevant\": \"${debt} = true()\","
    "  \"constraint\": \". > 0 and . < 100000\", \"constraint_message\": \"between 0 and 100,000\"},"
    " {\"name\": \"indicators\", \"type\": \"select_multiple\", \"choices\": [\"a\", \"b\", \"c\", \"d\"]},"
    " {\"name\": \"indicator_count\", \"type\": \"integer\", \"calculate\": \"count-selected(${indicators})\"},"
    " {\"name\": \"risk\", \"type\": \"select_one\", \"choices\": [\"low\", \"high\"],"
    "  \"calculate\": \"if(${indicator_count} >= 3, 'high', 'low')\"},"
    " {\"name\": \"action\", \"type\": \"text\", \"required_if\": \"${risk} = 'high'\"},"
    " {\"name\": \"name\", \"type\": \"text\", \"sensitive\": true, \"relevant\": \"${age} >= 0\"}"
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

/* A one-field-pair form with key: value on field b; the load error. */
static void
load_bad(const char *field_a, const char *field_b, const char *want)
{
	char json[1024], err[256] = "";
	struct form *f = NULL;

	snprintf(json, sizeof(json),
	    "{\"id\": \"x\", \"version\": 1, \"title\": \"t\", \"fields\": [%s, %s]}", field_a,
	    field_b);
	ASSERT_EQ(form_load(json, strlen(json), &f, err, sizeof(err)), FS_ERR_FORM);
	ASSERT(f == NULL);
	ASSERT_CONTAINS(err, want);
}

FS_TEST(form_logic_refused_at_load)
{
	const char *a = "{\"name\": \"a\", \"type\": \"integer\"}";
	const char *s = "{\"name\": \"a\", \"type\": \"text\", \"sensitive\": true}";

	load_bad(a, "{\"name\": \"b\", \"type\": \"text\", \"relevant\": \"${a} < \"}",
	    "field 'b': relevant: at ");
	load_bad(a, "{\"name\": \"b\", \"type\": \"text\", \"relevant\": \"(${a} < 3\"}",
	    "expected ')'");
	load_bad(a, "{\"name\": \"b\", \"type\": \"text\", \"relevant\": \"${zz} = 1\"}",
	    "field 'b': relevant names unknown field 'zz'");
	load_bad(s, "{\"name\": \"b\", \"type\": \"text\", \"relevant\": \"${a} = 'x'\"}",
	    "names sensitive field 'a'");
	load_bad(a, "{\"name\": \"b\", \"type\": \"integer\", \"relevant\": \"${b} > 1\"}", "cycle");
	load_bad("{\"name\": \"a\", \"type\": \"integer\", \"calculate\": \"${b} + 1\"}",
	    "{\"name\": \"b\", \"type\": \"integer\", \"relevant\": \"${a} > 1\"}", "cycle");
	load_bad(a, "{\"name\": \"b\", \"type\": \"text\", \"sensitive\": true, \"calculate\": \"${a}\"}",
	    "cannot be sensitive");
	load_bad(a, "{\"name\": \"b\", \"type\": \"text\", \"constraint_message\": \"no\"}",
	    "with a 'constraint'");
	load_bad(a, "{\"name\": \"b\", \"type\": \"text\", \"relevant\": 3}",
	    "'relevant' must be a non-empty string");
	load_bad(a, "{\"name\": \"b\", \"type\": \"text\", \"shown_if\": \"1\"}", "unknown key");
}

struct row {
	const char *values;   /* what the officer entered */
	const char *saved;    /* the values after form_apply_logic, or NULL: as entered */
	const char *error;    /* the rule form_validate (complete) refuses, or NULL */
	const char *server;   /* the rule the server's check refuses as entered, or NULL */
};

static const struct row table[] = {
	/* an adult: no guardian asked; an entered one is cleared by the device, refused by the server */
	{"{\"age\": 30}", NULL, NULL, NULL},
	{"{\"age\": 30, \"guardian\": \"Ana\"}", "{\"age\": 30, \"guardian\": null}", NULL,
	    "'guardian': rule 'relevant'"},
	/* a minor: the guardian is required while it applies */
	{"{\"age\": 16}", NULL, "'guardian': rule 'required'", NULL},
	{"{\"age\": 16, \"guardian\": \"Ana\"}", NULL, NULL, NULL},
	/* no debt: no amount; a debt: the amount within its constraint */
	{"{\"age\": 30, \"debt\": false, \"debt_amount\": 50}",
	    "{\"age\": 30, \"debt\": false, \"debt_amount\": null}", NULL,
	    "'debt_amount': rule 'relevant'"},
	{"{\"age\": 30, \"debt\": true, \"debt_amount\": 500}", NULL, NULL, NULL},
	{"{\"age\": 30, \"debt\": true, \"debt_amount\": 500000}", NULL,
	    "'debt_amount': rule 'constraint' (between 0 and 100,000)", NULL},
	{"{\"age\": 30, \"debt_amount\": 5}", "{\"age\": 30, \"debt_amount\": null}", NULL,
	    "'debt_amount': rule 'relevant'"},
	/* calculated: the count and the risk, and what high risk requires */
	{"{\"age\": 30, \"indicators\": [\"a\"]}",
	    "{\"age\": 30, \"indicators\": [\"a\"], \"indicator_count\": 1, \"risk\": \"low\"}", NULL,
	    NULL},
	{"{\"age\": 30, \"indicators\": [\"a\", \"b\", \"c\"]}",
	    "{\"age\": 30, \"indicators\": [\"a\", \"b\", \"c\"], \"indicator_count\": 3,"
	    " \"risk\": \"high\"}",
	    "'action': rule 'required_if'", NULL},
	{"{\"age\": 30, \"indicators\": [\"a\", \"b\", \"c\", \"d\"], \"action\": \"refer\"}",
	    "{\"age\": 30, \"indicators\": [\"a\", \"b\", \"c\", \"d\"], \"action\": \"refer\","
	    " \"indicator_count\": 4, \"risk\": \"high\"}",
	    NULL, NULL},
	/* a calculated value typed by hand is overwritten by the calculation */
	{"{\"age\": 30, \"indicator_count\": 9}",
	    "{\"age\": 30, \"indicator_count\": 0, \"risk\": \"low\"}", NULL, NULL},
	/* no age: the guardian's relevance is empty, so false; age itself is required */
	{"{\"guardian\": \"Ana\"}", "{\"guardian\": null}", "'age': rule 'required'",
	    "'guardian': rule 'relevant'"},
};

FS_TEST(form_logic_table)
{
	struct form *form = load_ok(form_json);
	char err[256], today[11];

	form_today(today);
	ASSERT_EQ(strlen(today), 10);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct row *r = &table[i];
		cJSON *entered = cJSON_Parse(r->values), *saved = cJSON_Parse(r->values);
		cJSON *want = cJSON_Parse(r->saved != NULL ? r->saved : r->values);
		fs_err rc;

		fprintf(stderr, "case %zu: %s\n", i, r->values);
		ASSERT(entered != NULL && saved != NULL && want != NULL);
		/* The device: computed and cleared, then the whole record checked. */
		ASSERT_OK(form_apply_logic(form, saved, today));
		for (cJSON *w = want->child; w != NULL; w = w->next) {
			cJSON *got = cJSON_GetObjectItemCaseSensitive(saved, w->string);

			ASSERT(got != NULL);
			ASSERT(cJSON_Compare(got, w, 1));
		}
		err[0] = '\0';
		rc = form_validate(form, saved, true, err, sizeof(err));
		if (r->error == NULL) {
			if (rc != FS_OK)
				fprintf(stderr, "  unexpected: %s\n", err);
			ASSERT_OK(rc);
		} else {
			ASSERT_EQ(rc, FS_ERR_INVALID);
			ASSERT_CONTAINS(err, r->error);
		}
		/* The server: the change as entered, on an empty record. */
		err[0] = '\0';
		rc = form_check_relevant(form, entered, entered, today, err, sizeof(err));
		if (r->server == NULL) {
			ASSERT_OK(rc);
		} else {
			ASSERT_EQ(rc, FS_ERR_INVALID);
			ASSERT_CONTAINS(err, r->server);
		}
		/* And what the device saves always passes the server's check. */
		ASSERT_OK(form_check_relevant(form, saved, saved, today, err, sizeof(err)));
		cJSON_Delete(entered);
		cJSON_Delete(saved);
		cJSON_Delete(want);
	}
	form_free(form);
}

FS_TEST(form_logic_partial_change_defers_required)
{
	struct form *form = load_ok(form_json);
	char err[256];
	cJSON *change = cJSON_Parse("{\"guardian\": null}");

	/* A change clearing a question that stopped applying is not refused as 'required'. */
	ASSERT_OK(form_validate(form, change, false, err, sizeof(err)));
	cJSON_Delete(change);
	/* A plain required field still is. */
	change = cJSON_Parse("{\"age\": null}");
	ASSERT_EQ(form_validate(form, change, false, err, sizeof(err)), FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "'age': rule 'required'");
	cJSON_Delete(change);
	form_free(form);
}

FS_TEST(form_logic_today_and_order)
{
	/* Fields declared before what they read are still computed in order. */
	const char *json =
	    "{\"id\": \"o\", \"version\": 1, \"title\": \"t\", \"fields\": ["
	    " {\"name\": \"c\", \"type\": \"integer\", \"calculate\": \"${b} * 2\"},"
	    " {\"name\": \"b\", \"type\": \"integer\", \"calculate\": \"${a} + 1\"},"
	    " {\"name\": \"a\", \"type\": \"integer\"},"
	    " {\"name\": \"late\", \"type\": \"date\", \"constraint\": \". <= today()\"}]}";
	struct form *form = load_ok(json);
	cJSON *v = cJSON_Parse("{\"a\": 4, \"late\": \"2999-01-01\"}");
	char err[256];

	ASSERT_OK(form_apply_logic(form, v, "2026-12-06"));
	ASSERT_EQ((int)cJSON_GetObjectItem(v, "b")->valuedouble, 5);
	ASSERT_EQ((int)cJSON_GetObjectItem(v, "c")->valuedouble, 10);
	ASSERT_EQ(form_check_logic(form, v, "2026-12-06", err, sizeof(err)), FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "'late': rule 'constraint'");
	cJSON_ReplaceItemInObject(v, "late", cJSON_CreateString("2026-01-01"));
	ASSERT_OK(form_check_logic(form, v, "2026-12-06", err, sizeof(err)));
	cJSON_Delete(v);
	form_free(form);
}

int
main(void)
{
	FS_RUN(form_logic_refused_at_load);
	FS_RUN(form_logic_table);
	FS_RUN(form_logic_partial_change_defers_required);
	FS_RUN(form_logic_today_and_order);
	FS_TEST_DONE();
}
