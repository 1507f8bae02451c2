/*
 * test-expr.c -- the expression language of forms (common/expr.c, issue
 * 19 item 1): a table of expressions and values with the result each
 * must give (precedence, types, empty values, division by zero, the
 * functions), the parse errors with their positions, the limits (very
 * long and deeply nested expressions refused cleanly), and the fields an
 * expression names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "expr.h"
#include "harness.h"

/* Values every case can read. */
static const char values_json[] =
    "{\"age\": 16, \"name\": \"Ana\", \"debt\": true, \"none\": null, \"zero\": 0,"
    " \"flags\": [\"deception\", \"isolation\"], \"date\": \"2026-11-20\","
    " \"num_text\": \"12\", \"note\": \"caf\\u00e9\", \"loc\": {\"lat\": 1, \"lon\": 2}}";

struct row {
	const char *expr;
	const char *want; /* "empty", "true", "false", "n:<number>", "t:<text>" */
};

static const struct row table[] = {
	/* precedence and associativity */
	{"1 + 2 * 3", "n:7"},
	{"(1 + 2) * 3", "n:9"},
	{"10 - 4 - 3", "n:3"},
	{"2 * 3 mod 4", "n:2"},
	{"7 div 2", "n:3.5"},
	{"-2 * -3", "n:6"},
	{"1 < 2 and 2 < 3 or false()", "true"},
	{"false() or true() and false()", "false"},
	{"not(1 = 1) or 1 = 1", "true"},
	/* fields and types */
	{"${age} >= 18", "false"},
	{"${age} + 1", "n:17"},
	{"${name} = 'Ana'", "true"},
	{"${name} = \"Ana\"", "true"},
	{"${debt}", "true"},
	{"${debt} = true()", "true"},
	{"${num_text} + 1", "n:13"},
	{"${num_text} = 12", "true"},
	{"${date} < '2026-12-01'", "true"},
	{"${date} > '2026-11-19'", "true"},
	/* empty values */
	{"${none}", "empty"},
	{"${missing}", "empty"},
	{"${none} = ''", "true"},
	{"${missing} = ''", "true"},
	{"${none} = 0", "false"},
	{"${none} != 0", "true"},
	{"${none} < 5", "false"},
	{"${none} + 1", "empty"},
	{"${name} + 1", "empty"},
	{"${loc}", "empty"},
	{"if(${none} = '', 'unset', 'set')", "t:unset"},
	/* division and modulo by zero */
	{"1 div 0", "empty"},
	{"1 mod ${zero}", "empty"},
	{"(1 div 0) = ''", "true"},
	/* functions */
	{"selected(${flags}, 'isolation')", "true"},
	{"selected(${flags}, 'debt_bondage')", "false"},
	{"selected(${flags}, 'iso')", "false"},
	{"count-selected(${flags})", "n:2"},
	{"count-selected(${none})", "n:0"},
	{"string-length(${name})", "n:3"},
	{"string-length(${note})", "n:4"},
	{"string-length(${missing})", "n:0"},
	{"today()", "t:2026-12-06"},
	{"today() > ${date}", "true"},
	{"if(${age} < 18, 'minor', 'adult')", "t:minor"},
	{"if(${debt}, ${age} * 2, 0)", "n:32"},
	{"not(${debt})", "false"},
	{"not(${none})", "true"},
	{".", "n:5"},
	{". > 3 and . < 10", "true"},
	{"string-length(.) = 1", "true"},
};

static void
check_row(const cJSON *values, const struct row *r)
{
	struct expr *e = NULL;
	struct expr_value v;
	char err[160], got[128];
	cJSON *self = cJSON_CreateNumber(5);

	if (expr_parse(r->expr, &e, err, sizeof(err)) != FS_OK)
		FS_FAIL_AT("'%s' does not parse: %s", r->expr, err);
	expr_eval(e, values, self, "2026-12-06", &v);
	switch (v.type) {
	case EXPR_EMPTY:
		snprintf(got, sizeof(got), "empty");
		break;
	case EXPR_BOOL:
		snprintf(got, sizeof(got), "%s", v.b ? "true" : "false");
		break;
	case EXPR_NUMBER:
		snprintf(got, sizeof(got), "n:%g", v.n);
		break;
	case EXPR_TEXT:
		snprintf(got, sizeof(got), "t:%.100s", v.text);
		break;
	}
	if (strcmp(got, r->want) != 0)
		FS_FAIL_AT("'%s' gives %s, not %s", r->expr, got, r->want);
	expr_free(e);
	cJSON_Delete(self);
}

FS_TEST(expr_table)
{
	cJSON *values = cJSON_Parse(values_json);

	ASSERT(values != NULL);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		check_row(values, &table[i]);
	cJSON_Delete(values);
}

FS_TEST(expr_truth)
{
	struct expr_value v = {.type = EXPR_EMPTY};

	ASSERT(!expr_truthy(&v));
	v.type = EXPR_NUMBER;
	v.n = 0;
	ASSERT(!expr_truthy(&v));
	v.n = -1;
	ASSERT(expr_truthy(&v));
	v.type = EXPR_TEXT;
	v.text[0] = '\0';
	ASSERT(!expr_truthy(&v));
	strcpy(v.text, "0");
	ASSERT(expr_truthy(&v)); /* a text is true when not empty, as in XPath */
}

static void
parse_fails(const char *text, const char *msg_part)
{
	struct expr *e = NULL;
	char err[160];

	if (expr_parse(text, &e, err, sizeof(err)) != FS_ERR_FORM)
		FS_FAIL_AT("'%s' parsed", text);
	ASSERT(e == NULL);
	if (strstr(err, msg_part) == NULL)
		FS_FAIL_AT("'%s': error '%s' lacks '%s'", text, err, msg_part);
}

FS_TEST(expr_parse_errors_name_the_position)
{
	parse_fails("1 +", "at 4: the expression ends too early");
	parse_fails("(1 + 2", "at 7: expected ')'");
	parse_fails("${Age} > 3", "at 3: a field name starts with a lower-case letter");
	parse_fails("${age > 3", "at 6: expected '}'");
	parse_fails("$age", "at 1: expected '${'");
	parse_fails("'open", "at 1: a text is not closed");
	parse_fails("frobnicate(1)", "at 1: unknown function 'frobnicate'");
	parse_fails("if(1, 2)", "if takes 3 argument(s), not 2");
	parse_fails("today(1)", "today takes 0 argument(s)");
	parse_fails("selected(${a} 'x')", "expected ',' or ')'");
	parse_fails("1 2", "at 3: unexpected '2'");
	parse_fails("", "the expression ends too early");
	parse_fails("1 # 2", "unexpected '#'");
	parse_fails("true", "expected '(' after true");
}

FS_TEST(expr_limits_refused_cleanly)
{
	char *deep = malloc(EXPR_MAX_LEN + 2), *longe = malloc(EXPR_MAX_LEN + 2);
	struct expr *e = NULL;
	char err[160];
	size_t n = 0;

	/* Nesting: ((((...1...)))) past the limit. */
	for (int i = 0; i < EXPR_MAX_DEPTH + 1; i++)
		deep[n++] = '(';
	deep[n++] = '1';
	for (int i = 0; i < EXPR_MAX_DEPTH + 1; i++)
		deep[n++] = ')';
	deep[n] = '\0';
	ASSERT_EQ(expr_parse(deep, &e, err, sizeof(err)), FS_ERR_FORM);
	ASSERT_CONTAINS(err, "nested more than");
	/* Also through unary minus. */
	memset(deep, '-', EXPR_MAX_DEPTH * 2);
	strcpy(deep + EXPR_MAX_DEPTH * 2, "1");
	ASSERT_EQ(expr_parse(deep, &e, err, sizeof(err)), FS_ERR_FORM);
	ASSERT_CONTAINS(err, "nested more than");
	/* Too many parts: 1+1+1+... */
	n = 0;
	for (int i = 0; i < EXPR_MAX_NODES; i++) {
		longe[n++] = '1';
		longe[n++] = '+';
	}
	longe[n++] = '1';
	longe[n] = '\0';
	ASSERT_EQ(expr_parse(longe, &e, err, sizeof(err)), FS_ERR_FORM);
	ASSERT_CONTAINS(err, "too long");
	/* Too many bytes. */
	memset(longe, ' ', EXPR_MAX_LEN + 1);
	longe[EXPR_MAX_LEN + 1] = '\0';
	longe[0] = '1';
	ASSERT_EQ(expr_parse(longe, &e, err, sizeof(err)), FS_ERR_FORM);
	ASSERT_CONTAINS(err, "at most");
	/* Just inside the limits: parses and evaluates. */
	n = 0;
	for (int i = 0; i < EXPR_MAX_DEPTH - 2; i++)
		deep[n++] = '(';
	deep[n++] = '7';
	for (int i = 0; i < EXPR_MAX_DEPTH - 2; i++)
		deep[n++] = ')';
	deep[n] = '\0';
	ASSERT_EQ(expr_parse(deep, &e, err, sizeof(err)), FS_OK);
	{
		struct expr_value v;
		expr_eval(e, NULL, NULL, NULL, &v);
		ASSERT(v.type == EXPR_NUMBER && v.n == 7);
	}
	expr_free(e);
	free(deep);
	free(longe);
}

static int
collect(void *arg, const char *name)
{
	char *buf = arg;

	strcat(buf, name);
	strcat(buf, ",");
	return 0;
}

FS_TEST(expr_names_its_fields)
{
	struct expr *e = NULL;
	char err[160], names[256] = "";

	ASSERT_OK(expr_parse("if(${a} > 1, ${b_2}, selected(${c}, 'x')) or ${a} = .", &e, err,
	    sizeof(err)));
	ASSERT_EQ(expr_each_field(e, collect, names), 0);
	ASSERT_STR_EQ(names, "a,b_2,c,a,");
	expr_free(e);
}

int
main(void)
{
	FS_RUN(expr_table);
	FS_RUN(expr_truth);
	FS_RUN(expr_parse_errors_name_the_position);
	FS_RUN(expr_limits_refused_cleanly);
	FS_RUN(expr_names_its_fields);
	FS_TEST_DONE();
}
