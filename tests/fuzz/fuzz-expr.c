/*
 * fuzz-expr.c -- the forms' expression parser (common/expr.c, issue 19) on
 * any text, and evaluation of what parses against a fixed set of values:
 * never a crash; a parse error always names a position; the fields an
 * expression names are valid field names; evaluation gives a value of one
 * of the four types and never fails.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "expr.h"
#include "fuzz.h"

static int
check_name(void *arg, const char *name)
{
	(void)arg;
	FUZZ_CHECK(name[0] >= 'a' && name[0] <= 'z' && strlen(name) <= 64);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cJSON *values;
	struct expr *e = NULL;
	struct expr_value v;
	char err[160], *text;

	if (values == NULL)
		values = cJSON_Parse("{\"a\": 3, \"b\": \"x y\", \"c\": true, \"d\": null,"
				     " \"e\": [\"p\", \"q\"], \"f\": \"2026-01-02\"}");
	if (size > EXPR_MAX_LEN + 16 || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (expr_parse(text, &e, err, sizeof(err)) == FS_OK) {
		FUZZ_CHECK(e != NULL);
		expr_each_field(e, check_name, NULL);
		expr_eval(e, values, cJSON_GetObjectItemCaseSensitive(values, "a"), "2026-12-06", &v);
		FUZZ_CHECK(v.type == EXPR_EMPTY || v.type == EXPR_BOOL || v.type == EXPR_NUMBER ||
			   v.type == EXPR_TEXT);
		(void)expr_truthy(&v);
		expr_free(e);
	} else {
		FUZZ_CHECK(e == NULL);
		FUZZ_CHECK(strlen(text) > EXPR_MAX_LEN || strncmp(err, "at ", 3) == 0 ||
			   strcmp(err, "out of memory") == 0);
	}
	free(text);
	return 0;
}
