/*
 * test-form.c -- unit tests for common/form.c.
 *
 * Every field type and every rule is tried with good and bad values; a bad
 * value must give FS_ERR_INVALID with a message that names the field and the
 * rule and never contains the value.  Broken definitions must be refused
 * with a message that names the field and the problem.  The forms of
 * version 2 the other tests use are read from $FS_FORMS_DIR (the build
 * points it at tests/fixtures/forms), the shipped forms of version 3 from
 * $FS_SHIPPED_FORMS_DIR (schema/forms).
 *
 * JSON in this file is written with single quotes, which squote() turns
 * into double quotes, so that definitions stay readable.
 */
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "harness.h"

#define FIELD_DEF(f) "{'id':'f','version':1,'title':'T','fields':[" f "]}"

static const char test_form[] =
    "{'id':'test_form','version':3,'title':'Test form','fields':["
    "{'name':'notes','type':'text','max_length':10},"
    "{'name':'long_text','type':'text'},"
    "{'name':'phone','type':'text','sensitive':true,'pattern':'\\\\+?[0-9 ()-]{5,20}'},"
    "{'name':'full_name','type':'text','required':true,'sensitive':true,'label':'Name'},"
    "{'name':'workers','type':'integer','min':0,'max':100000},"
    "{'name':'count','type':'integer'},"
    "{'name':'amount','type':'decimal','min':-1.5,'max':2.5},"
    "{'name':'ratio','type':'decimal'},"
    "{'name':'flag','type':'boolean'},"
    "{'name':'day','type':'date'},"
    "{'name':'when','type':'datetime'},"
    "{'name':'sector','type':'select_one','choices':['farm','mine','other']},"
    "{'name':'signs','type':'select_multiple','choices':['aa','bb','cc']},"
    "{'name':'tags','type':'select_multiple','required':true,'choices':['xx','yy']},"
    "{'name':'place','type':'geopoint','hint':'where','description':'d'}"
    "]}";

static char *
squote(const char *s)
{
	char *d = strdup(s), *p;

	ASSERT(d != NULL);
	for (p = d; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static struct form *
load_at(int line, const char *sq)
{
	char *json = squote(sq), err[512] = "";
	struct form *form = NULL;
	fs_err rc;

	rc = form_load(json, strlen(json), &form, err, sizeof(err));
	free(json);
	if (rc != FS_OK || form == NULL)
		FS_FAIL_AT("line %d: form_load returned %d: %s", line, (int)rc, err);
	return form;
}
#define LOAD(sq) load_at(__LINE__, (sq))

static void
load_bad_at(int line, const char *sq, fs_err want, const char *who, const char *what)
{
	char *json = squote(sq), err[512] = "";
	struct form *form = NULL;
	fs_err rc;

	rc = form_load(json, strlen(json), &form, err, sizeof(err));
	free(json);
	if (rc != want || form != NULL || strstr(err, who) == NULL || strstr(err, what) == NULL)
		FS_FAIL_AT("line %d: form_load returned %d \"%s\", expected %d with \"%s\" and "
		           "\"%s\"",
		    line, (int)rc, err, (int)want, who, what);
}
#define LOAD_BAD(sq, rc, who, what) load_bad_at(__LINE__, (sq), (rc), (who), (what))

/* The message a broken definition gives, for exact comparisons. */
static void
load_msg(const char *sq, char *err, size_t errlen)
{
	char *json = squote(sq);
	struct form *form = NULL;

	ASSERT(form_load(json, strlen(json), &form, err, errlen) != FS_OK);
	ASSERT(form == NULL);
	free(json);
}

static cJSON *
parse_at(int line, const char *sq)
{
	char *json = squote(sq), err[256] = "";
	cJSON *v = NULL;
	fs_err rc;

	rc = form_json_parse(json, strlen(json), "values", &v, err, sizeof(err));
	free(json);
	if (rc != FS_OK)
		FS_FAIL_AT("line %d: cannot parse test JSON: %s", line, err);
	return v;
}

static const struct form_field *
field_at(int line, const struct form *form, const char *name)
{
	const struct form_field *f = form_field_find(form, name);

	if (f == NULL)
		FS_FAIL_AT("line %d: no field '%s'", line, name);
	return f;
}

static void
cjson_ok_at(int line, const struct form *form, const char *name, const cJSON *v)
{
	char err[512] = "";
	fs_err rc = form_check_value(field_at(line, form, name), v, err, sizeof(err));

	if (rc != FS_OK)
		FS_FAIL_AT(
		    "line %d: field '%s' refused a good value: %d %s", line, name, (int)rc, err);
}

/*
 * A bad value: FS_ERR_INVALID, the message names the field and the rule and
 * does not contain secret.
 */
static void
cjson_bad_at(int line, const struct form *form, const char *name, const cJSON *v, const char *rule,
    const char *secret)
{
	char err[512] = "", want_field[128], want_rule[64];
	fs_err rc = form_check_value(field_at(line, form, name), v, err, sizeof(err));

	snprintf(want_field, sizeof(want_field), "field '%s': ", name);
	snprintf(want_rule, sizeof(want_rule), "rule '%s' (", rule);
	if (rc != FS_ERR_INVALID)
		FS_FAIL_AT("line %d: field '%s' accepted a bad value (%d, rule %s)", line, name,
		    (int)rc, rule);
	if (strncmp(err, want_field, strlen(want_field)) != 0 || strstr(err, want_rule) == NULL)
		FS_FAIL_AT("line %d: message \"%s\" does not name field '%s' and rule '%s'", line,
		    err, name, rule);
	if (secret != NULL && secret[0] != '\0' && strstr(err, secret) != NULL)
		FS_FAIL_AT("line %d: message \"%s\" contains the value", line, err);
}

static void
value_ok_at(int line, const struct form *form, const char *name, const char *sq)
{
	cJSON *v = parse_at(line, sq);

	cjson_ok_at(line, form, name, v);
	cJSON_Delete(v);
}
#define VALUE_OK(form, name, sq) value_ok_at(__LINE__, (form), (name), (sq))

/* secret NULL means the JSON text of the value itself. */
static void
value_bad_at(int line, const struct form *form, const char *name, const char *sq, const char *rule,
    const char *secret)
{
	cJSON *v = parse_at(line, sq);
	char *text = squote(sq);

	cjson_bad_at(line, form, name, v, rule, secret != NULL ? secret : text);
	free(text);
	cJSON_Delete(v);
}
#define VALUE_BAD(form, name, sq, rule, secret)                                                    \
	value_bad_at(__LINE__, (form), (name), (sq), (rule), (secret))

static void
string_bad_at(int line, const struct form *form, const char *name, const char *s, const char *rule)
{
	cJSON *v = cJSON_CreateString(s);

	ASSERT(v != NULL);
	cjson_bad_at(line, form, name, v, rule, s);
	cJSON_Delete(v);
}
#define STRING_BAD(form, name, s, rule) string_bad_at(__LINE__, (form), (name), (s), (rule))

static void
string_ok_at(int line, const struct form *form, const char *name, const char *s)
{
	cJSON *v = cJSON_CreateString(s);

	ASSERT(v != NULL);
	cjson_ok_at(line, form, name, v);
	cJSON_Delete(v);
}
#define STRING_OK(form, name, s) string_ok_at(__LINE__, (form), (name), (s))

static fs_err
validate_at(
    int line, const struct form *form, const char *sq, bool complete, char *err, size_t errlen)
{
	cJSON *v = parse_at(line, sq);
	fs_err rc = form_validate(form, v, complete, err, errlen);

	cJSON_Delete(v);
	return rc;
}

static void
validate_bad_at(int line, const struct form *form, const char *sq, bool complete, const char *name,
    const char *rule)
{
	char err[512] = "", want[128];
	fs_err rc = validate_at(line, form, sq, complete, err, sizeof(err));

	snprintf(want, sizeof(want), "field '%s': rule '%s'", name, rule);
	if (rc != FS_ERR_INVALID || strstr(err, want) == NULL)
		FS_FAIL_AT("line %d: form_validate gave %d \"%s\", expected \"%s\"", line, (int)rc,
		    err, want);
}
#define VALIDATE_OK(form, sq, complete)                                                            \
	do {                                                                                       \
		char e_[512] = "";                                                                 \
		if (validate_at(__LINE__, (form), (sq), (complete), e_, sizeof(e_)) != FS_OK)      \
			FS_FAIL_AT("form_validate refused: %s", e_);                               \
	} while (0)
#define VALIDATE_BAD(form, sq, complete, name, rule)                                               \
	validate_bad_at(__LINE__, (form), (sq), (complete), (name), (rule))

/* form_value_from_text() must give exactly the JSON in want_sq. */
static void
text_ok_at(
    int line, const struct form *form, const char *name, const char *text, const char *want_sq)
{
	char err[512] = "";
	cJSON *v = NULL, *want = parse_at(line, want_sq);
	fs_err rc;

	rc = form_value_from_text(field_at(line, form, name), text, &v, err, sizeof(err));
	if (rc != FS_OK || v == NULL)
		FS_FAIL_AT("line %d: form_value_from_text refused: %d %s", line, (int)rc, err);
	if (!cJSON_Compare(v, want, 1)) {
		char *got = cJSON_PrintUnformatted(v);
		FS_FAIL_AT("line %d: got %s, expected %s", line, got, want_sq);
	}
	cJSON_Delete(v);
	cJSON_Delete(want);
}
#define TEXT_OK(form, name, text, want) text_ok_at(__LINE__, (form), (name), (text), (want))

static void
text_bad_at(int line, const struct form *form, const char *name, const char *text)
{
	char err[512] = "", want[128];
	cJSON *v = NULL;
	fs_err rc;

	rc = form_value_from_text(field_at(line, form, name), text, &v, err, sizeof(err));
	snprintf(want, sizeof(want), "field '%s': rule 'type' (", name);
	if (rc != FS_ERR_INVALID || v != NULL || strstr(err, want) == NULL)
		FS_FAIL_AT("line %d: form_value_from_text gave %d \"%s\"", line, (int)rc, err);
	if (strlen(text) >= 3 && strstr(err, text) != NULL)
		FS_FAIL_AT("line %d: message \"%s\" contains the value", line, err);
}
#define TEXT_BAD(form, name, text) text_bad_at(__LINE__, (form), (name), (text))

static const char *forms_dir_var = "FS_FORMS_DIR";

static char *
read_forms_file(const char *name, size_t *ret_len)
{
	const char *dir = getenv(forms_dir_var);
	char path[1024];
	FILE *fp;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "schema/forms", name);
	if ((fp = fopen(path, "rb")) == NULL)
		FS_FAIL_AT("cannot open %s (set FS_FORMS_DIR)", path);
	ASSERT(fseek(fp, 0, SEEK_END) == 0);
	n = ftell(fp);
	ASSERT(n > 0);
	rewind(fp);
	buf = malloc((size_t)n);
	ASSERT(buf != NULL);
	ASSERT(fread(buf, 1, (size_t)n, fp) == (size_t)n);
	fclose(fp);
	*ret_len = (size_t)n;
	return buf;
}

static struct form *
load_shipped(const char *name)
{
	char err[512] = "";
	struct form *form = NULL;
	size_t len;
	char *json = read_forms_file(name, &len);

	if (form_load(json, len, &form, err, sizeof(err)) != FS_OK)
		FS_FAIL_AT("%s does not load: %s", name, err);
	free(json);
	return form;
}

FS_TEST(definition_loads)
{
	struct form *form = LOAD(test_form);
	const struct form_field *f;

	ASSERT_STR_EQ(form->id, "test_form");
	ASSERT_EQ(form->version, 3);
	ASSERT_STR_EQ(form->title, "Test form");
	ASSERT_EQ(form->conflict, FORM_CONFLICT_FIELD_LWW);
	ASSERT_EQ(form->nfields, 15);

	f = form_field_find(form, "notes");
	ASSERT(f == &form->fields[0]);
	ASSERT_EQ(f->type, FORM_TEXT);
	ASSERT_EQ(f->max_length, 10);
	ASSERT(f->label == NULL && f->pattern == NULL && f->regex == NULL);
	f = form_field_find(form, "phone");
	ASSERT(f->sensitive && !f->required && f->regex != NULL);
	ASSERT_STR_EQ(f->pattern, "\\+?[0-9 ()-]{5,20}");
	f = form_field_find(form, "full_name");
	ASSERT(f->required && f->sensitive);
	ASSERT_STR_EQ(f->label, "Name");
	f = form_field_find(form, "workers");
	ASSERT(f->type == FORM_INTEGER && f->has_min && f->has_max);
	ASSERT(f->min == 0 && f->max == 100000);
	f = form_field_find(form, "count");
	ASSERT(!f->has_min && !f->has_max);
	f = form_field_find(form, "signs");
	ASSERT_EQ(f->type, FORM_SELECT_MULTIPLE);
	ASSERT_EQ(f->nchoices, 3);
	ASSERT_STR_EQ(f->choices[2], "cc");
	ASSERT_EQ(form_field_find(form, "place")->type, FORM_GEOPOINT);
	ASSERT(form_field_find(form, "nope") == NULL);
	ASSERT(form_field_find(form, "") == NULL);
	form_free(form);
	form_free(NULL);
}

FS_TEST(definition_json_is_canonical)
{
	struct form *form = LOAD("{ 'id' : 'x',\n 'version': 1, 'title': 'T',\t'fields': [ "
	                         "{'name':'a','type':'integer','min':0} ] }\n");
	struct form *again;
	char err[256];

	ASSERT_STR_EQ(form->json,
	    "{\"id\":\"x\",\"version\":1,\"title\":\"T\",\"fields\":[{\"name\":\"a\","
	    "\"type\":\"integer\",\"min\":0}]}");
	ASSERT_OK(form_load(form->json, strlen(form->json), &again, err, sizeof(err)));
	ASSERT_STR_EQ(again->json, form->json);
	form_free(again);
	form_free(form);
}

FS_TEST(definition_conflict_policies_and_names)
{
	static const char *const policies[] = {"field_lww", "record_lww", "manual"};
	char def[256];
	struct form *form;
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(def, sizeof(def),
		    "{'id':'p','version':2,'title':'T','conflict':'%s',"
		    "'fields':[{'name':'a','type':'text'}]}",
		    policies[i]);
		form = LOAD(def);
		ASSERT_EQ(form->conflict, i);
		ASSERT_STR_EQ(form_conflict_name(form->conflict), policies[i]);
		form_free(form);
	}
	ASSERT_STR_EQ(form_type_name(FORM_TEXT), "text");
	ASSERT_STR_EQ(form_type_name(FORM_INTEGER), "integer");
	ASSERT_STR_EQ(form_type_name(FORM_DECIMAL), "decimal");
	ASSERT_STR_EQ(form_type_name(FORM_BOOLEAN), "boolean");
	ASSERT_STR_EQ(form_type_name(FORM_DATE), "date");
	ASSERT_STR_EQ(form_type_name(FORM_DATETIME), "datetime");
	ASSERT_STR_EQ(form_type_name(FORM_SELECT_ONE), "select_one");
	ASSERT_STR_EQ(form_type_name(FORM_SELECT_MULTIPLE), "select_multiple");
	ASSERT_STR_EQ(form_type_name(FORM_GEOPOINT), "geopoint");
}

FS_TEST(definition_accepts_optional_keys)
{
	struct form *form =
	    LOAD("{'id':'a_b_9','version':9007199254740991,'title':'T',"
	         "'description':'d','hint':'h','label':'l','fields':["
	         "{'name':'s','type':'select_one','choices':['a,b','c']},"
	         "{'name':'d','type':'decimal','min':0.25,'max':0.25},"
	         "{'name':'i','type':'integer','min':-5,'max':-5},"
	         "{'name':'t','type':'text','max_length':65536,'required':false,"
	         "'sensitive':false,'label':'\xc3\xa9t\xc3\xa9','hint':'h',"
	         "'description':'d'},"
	         "{'name':'a23456789012345678901234567890123456789012345678901234567890123',"
	         "'type':'boolean'}]}");

	ASSERT_EQ(form->nfields, 5);
	ASSERT_EQ(form->version, 9007199254740991LL);
	ASSERT_EQ(form->fields[3].max_length, 65536);
	ASSERT_STR_EQ(form->fields[3].label, "\xc3\xa9t\xc3\xa9");
	form_free(form);
}

FS_TEST(definition_rejects_bad_json)
{
	static const char nul[] = "{\"id\":\"a\"\0}";
	char err[256] = "";
	struct form *form = NULL;

	LOAD_BAD("", FS_ERR_JSON, "form", "no JSON text");
	LOAD_BAD("{", FS_ERR_JSON, "form", "malformed JSON");
	LOAD_BAD("{'id':'a',}", FS_ERR_JSON, "form", "malformed JSON");
	LOAD_BAD(FIELD_DEF("{'name':'a','type':'text'}") " x", FS_ERR_JSON, "form",
	    "unexpected text after the JSON value");
	LOAD_BAD(FIELD_DEF("{'name':'a','type':'text','label':'a\\u0000b'}"), FS_ERR_JSON, "form",
	    "\\u0000");
	ASSERT_EQ(form_load(nul, sizeof(nul) - 1, &form, err, sizeof(err)), FS_ERR_JSON);
	ASSERT_CONTAINS(err, "NUL byte");
	ASSERT(form == NULL);
	ASSERT_EQ(form_load(NULL, 0, &form, err, sizeof(err)), FS_ERR_JSON);
	/* Only len bytes are read: the valid prefix is not taken for the whole. */
	ASSERT_EQ(form_load("{}garbage", 2, &form, err, sizeof(err)), FS_ERR_FORM);
}

FS_TEST(definition_rejects_bad_top_level)
{
	char err[256];

	LOAD_BAD("[]", FS_ERR_FORM, "form", "not a JSON object");
	LOAD_BAD("{'version':1,'title':'T','fields':[{'name':'a','type':'text'}]}", FS_ERR_FORM,
	    "form", "missing 'id'");
	load_msg("{'id':'a','title':'T','fields':[{'name':'a','type':'text'}]}", err, sizeof(err));
	ASSERT_STR_EQ(err, "form: missing 'version'");
	LOAD_BAD("{'id':'a','version':1,'fields':[{'name':'a','type':'text'}]}", FS_ERR_FORM,
	    "form", "missing 'title'");
	LOAD_BAD("{'id':'a','version':1,'title':'T'}", FS_ERR_FORM, "form", "missing 'fields'");
	LOAD_BAD("{'id':'Abc','version':1,'title':'T','fields':[]}", FS_ERR_FORM, "form",
	    "invalid 'id'");
	LOAD_BAD(
	    "{'id':'9a','version':1,'title':'T','fields':[]}", FS_ERR_FORM, "form", "invalid 'id'");
	LOAD_BAD("{'id':'a-b','version':1,'title':'T','fields':[]}", FS_ERR_FORM, "form",
	    "invalid 'id'");
	LOAD_BAD("{'id':'a2345678901234567890123456789012345678901234567890123456789012345',"
	         "'version':1,'title':'T','fields':[]}",
	    FS_ERR_FORM, "form", "invalid 'id'");
	LOAD_BAD("{'id':7,'version':1,'title':'T','fields':[]}", FS_ERR_FORM, "form",
	    "'id' must be a string");
	LOAD_BAD("{'id':'a','version':0,'title':'T','fields':[]}", FS_ERR_FORM, "form",
	    "'version' must be an integer of at least 1");
	LOAD_BAD("{'id':'a','version':-3,'title':'T','fields':[]}", FS_ERR_FORM, "form",
	    "'version' must be an integer");
	LOAD_BAD("{'id':'a','version':1.5,'title':'T','fields':[]}", FS_ERR_FORM, "form",
	    "'version' must be an integer");
	LOAD_BAD("{'id':'a','version':'1','title':'T','fields':[]}", FS_ERR_FORM, "form",
	    "'version' must be an integer");
	LOAD_BAD("{'id':'a','version':9007199254740992,'title':'T','fields':[]}", FS_ERR_FORM,
	    "form", "'version' must be an integer");
	LOAD_BAD("{'id':'a','version':1,'title':5,'fields':[]}", FS_ERR_FORM, "form",
	    "'title' must be a string");
	LOAD_BAD("{'id':'a','version':1,'title':'','fields':[]}", FS_ERR_FORM, "form",
	    "'title' is empty");
	LOAD_BAD("{'id':'a','version':1,'title':'\xc0\xaf','fields':[]}", FS_ERR_FORM, "form",
	    "'title' is not valid UTF-8");
	LOAD_BAD("{'id':'a','version':1,'title':'T','conflict':'lww','fields':[]}", FS_ERR_FORM,
	    "form", "unknown 'conflict' policy");
	LOAD_BAD("{'id':'a','version':1,'title':'T','conflict':true,'fields':[]}", FS_ERR_FORM,
	    "form", "'conflict' must be a string");
	LOAD_BAD("{'id':'a','version':1,'title':'T','description':5,'fields':[]}", FS_ERR_FORM,
	    "form", "'description' must be a string");
	LOAD_BAD("{'id':'a','verison':1,'title':'T','fields':[]}", FS_ERR_FORM, "form",
	    "unknown key 'verison'");
	LOAD_BAD("{'id':'a','id':'b','version':1,'title':'T','fields':[]}", FS_ERR_FORM, "form",
	    "key 'id' appears twice");
	LOAD_BAD("{'id':'a','version':1,'title':'T','fields':[]}", FS_ERR_FORM, "form",
	    "'fields' must be a non-empty array");
	LOAD_BAD("{'id':'a','version':1,'title':'T','fields':{}}", FS_ERR_FORM, "form",
	    "'fields' must be a non-empty array");
	/* A strange key is quoted only as printable ASCII. */
	load_msg("{'id':'a','version':1,'title':'T','\x01\xff':1,'fields':[]}", err, sizeof(err));
	ASSERT_STR_EQ(err, "form: unknown key '?\?'");
	/* A long one is cut. */
	load_msg("{'id':'a','version':1,'title':'T','fields':[],'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		 "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk':1}",
	    err, sizeof(err));
	ASSERT(strlen(err) < 100);
	ASSERT_CONTAINS(err, "kkk...'");
}

FS_TEST(definition_rejects_bad_fields)
{
	char err[256];

	LOAD_BAD(FIELD_DEF("3"), FS_ERR_FORM, "field #1", "not an object");
	load_msg(FIELD_DEF("{'name':'a','type':'text'},{'name':'b','type':'text'},"
	                   "{'type':'text'}"),
	    err, sizeof(err));
	ASSERT_STR_EQ(err, "field #3: missing 'name'");
	LOAD_BAD(FIELD_DEF("{'name':5,'type':'text'}"), FS_ERR_FORM, "field #1",
	    "'name' must be a string");
	LOAD_BAD(FIELD_DEF("{'name':'Worker','type':'text'}"), FS_ERR_FORM, "field #1",
	    "invalid 'name'");
	LOAD_BAD(
	    FIELD_DEF("{'name':'_a','type':'text'}"), FS_ERR_FORM, "field #1", "invalid 'name'");
	LOAD_BAD(
	    FIELD_DEF("{'name':'a b','type':'text'}"), FS_ERR_FORM, "field #1", "invalid 'name'");
	LOAD_BAD(FIELD_DEF("{'name':'','type':'text'}"), FS_ERR_FORM, "field #1", "invalid 'name'");
	LOAD_BAD(FIELD_DEF("{'name':'a23456789012345678901234567890123456789012345678901234567890"
	                   "12345','type':'text'}"),
	    FS_ERR_FORM, "field #1", "invalid 'name'");
	LOAD_BAD(FIELD_DEF("{'name':'a','type':'text'},{'name':'a','type':'integer'}"), FS_ERR_FORM,
	    "field 'a'", "duplicate name");
	load_msg(FIELD_DEF("{'name':'x','type':'text','requried':true}"), err, sizeof(err));
	ASSERT_STR_EQ(err, "field 'x': unknown key 'requried'");
	LOAD_BAD(FIELD_DEF("{'name':'x','type':'text','type':'text'}"), FS_ERR_FORM, "field 'x'",
	    "key 'type' appears twice");
	LOAD_BAD(FIELD_DEF("{'name':'x'}"), FS_ERR_FORM, "field 'x'", "missing 'type'");
	LOAD_BAD(FIELD_DEF("{'name':'x','type':'string'}"), FS_ERR_FORM, "field 'x'",
	    "unknown type 'string'");
	LOAD_BAD(FIELD_DEF("{'name':'x','type':['text']}"), FS_ERR_FORM, "field 'x'",
	    "'type' must be a string");
	LOAD_BAD(FIELD_DEF("{'name':'x','type':'text','required':'yes'}"), FS_ERR_FORM, "field 'x'",
	    "'required' must be true or false");
	LOAD_BAD(FIELD_DEF("{'name':'x','type':'text','sensitive':1}"), FS_ERR_FORM, "field 'x'",
	    "'sensitive' must be true or false");
	LOAD_BAD(FIELD_DEF("{'name':'x','type':'text','label':5}"), FS_ERR_FORM, "field 'x'",
	    "'label' must be a string");
	LOAD_BAD(FIELD_DEF("{'name':'x','type':'text','label':null}"), FS_ERR_FORM, "field 'x'",
	    "'label' must be a string");
	LOAD_BAD(FIELD_DEF("{'name':'x','type':'text','hint':[]}"), FS_ERR_FORM, "field 'x'",
	    "'hint' must be a string");
	LOAD_BAD(FIELD_DEF("{'name':'x','type':'text','description':{}}"), FS_ERR_FORM, "field 'x'",
	    "'description' must be a string");
	LOAD_BAD(FIELD_DEF("{'name':'x','type':'text','label':'\xed\xa0\x80'}"), FS_ERR_FORM,
	    "field 'x'", "'label' is not valid UTF-8");
}

FS_TEST(definition_rejects_bad_choices)
{
	char err[256];

	load_msg(FIELD_DEF("{'name':'sector','type':'select_one'}"), err, sizeof(err));
	ASSERT_STR_EQ(err, "field 'sector': select_one needs a non-empty 'choices' array");
	LOAD_BAD(FIELD_DEF("{'name':'s','type':'select_multiple','choices':[]}"), FS_ERR_FORM,
	    "field 's'", "select_multiple needs a non-empty 'choices' array");
	LOAD_BAD(FIELD_DEF("{'name':'s','type':'select_one','choices':'a'}"), FS_ERR_FORM,
	    "field 's'", "needs a non-empty 'choices' array");
	LOAD_BAD(FIELD_DEF("{'name':'s','type':'select_one','choices':['a',1]}"), FS_ERR_FORM,
	    "field 's'", "choice #2 must be a string");
	LOAD_BAD(FIELD_DEF("{'name':'s','type':'select_one','choices':['a','']}"), FS_ERR_FORM,
	    "field 's'", "choice #2 is empty");
	LOAD_BAD(FIELD_DEF("{'name':'s','type':'select_one','choices':['a','b','a']}"), FS_ERR_FORM,
	    "field 's'", "choice #3 repeats choice #1");
	LOAD_BAD(FIELD_DEF("{'name':'s','type':'select_one','choices':[' a']}"), FS_ERR_FORM,
	    "field 's'", "choice #1 has leading or trailing white space");
	LOAD_BAD(FIELD_DEF("{'name':'s','type':'select_one','choices':['a\\t']}"), FS_ERR_FORM,
	    "field 's'", "choice #1 has leading or trailing white space");
	LOAD_BAD(FIELD_DEF("{'name':'s','type':'select_one','choices':['\xc3']}"), FS_ERR_FORM,
	    "field 's'", "choice #1 is not valid UTF-8");
	LOAD_BAD(FIELD_DEF("{'name':'s','type':'select_multiple','choices':['a,b']}"), FS_ERR_FORM,
	    "field 's'", "choice #1 contains a comma");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','choices':['a']}"), FS_ERR_FORM, "field 't'",
	    "'choices' is only allowed for select_one and select_multiple");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'boolean','choices':[]}"), FS_ERR_FORM, "field 't'",
	    "'choices' is only allowed");
}

FS_TEST(definition_rejects_too_many)
{
	size_t cap = 64 + 40 * (FORM_MAX_FIELDS + 1), len, i;
	char *def = malloc(cap), err[256] = "";
	struct form *form = NULL;

	ASSERT(def != NULL);
	len =
	    (size_t)snprintf(def, cap, "{\"id\":\"a\",\"version\":1,\"title\":\"T\",\"fields\":[");
	for (i = 0; i < FORM_MAX_FIELDS; i++)
		len += (size_t)snprintf(def + len, cap - len,
		    "%s{\"name\":\"f%zu\",\"type\":\"text\"}", i > 0 ? "," : "", i);
	len += (size_t)snprintf(def + len, cap - len, "]}");
	ASSERT_OK(form_load(def, len, &form, err, sizeof(err)));
	ASSERT_EQ(form->nfields, FORM_MAX_FIELDS);
	form_free(form);
	form = NULL;
	len -= 2;
	len += (size_t)snprintf(def + len, cap - len, ",{\"name\":\"extra\",\"type\":\"text\"}]}");
	ASSERT_EQ(form_load(def, len, &form, err, sizeof(err)), FS_ERR_FORM);
	ASSERT_STR_EQ(err, "form: more than 512 fields");
	ASSERT(form == NULL);

	len = (size_t)snprintf(def, cap,
	    "{\"id\":\"a\",\"version\":1,\"title\":\"T\",\"fields\":[{\"name\":\"s\","
	    "\"type\":\"select_one\",\"choices\":[");
	for (i = 0; i < 1001; i++)
		len += (size_t)snprintf(def + len, cap - len, "%s\"c%zu\"", i > 0 ? "," : "", i);
	len += (size_t)snprintf(def + len, cap - len, "]}]}");
	ASSERT_EQ(form_load(def, len, &form, err, sizeof(err)), FS_ERR_FORM);
	ASSERT_STR_EQ(err, "field 's': more than 1000 choices");
	free(def);
}

FS_TEST(definition_rejects_bad_bounds)
{
	char err[256];

	load_msg(
	    FIELD_DEF("{'name':'workers','type':'integer','min':10,'max':5}"), err, sizeof(err));
	ASSERT_STR_EQ(err, "field 'workers': min is greater than max");
	LOAD_BAD(FIELD_DEF("{'name':'d','type':'decimal','min':0.5,'max':0.25}"), FS_ERR_FORM,
	    "field 'd'", "min is greater than max");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','min':0}"), FS_ERR_FORM, "field 't'",
	    "'min' is only allowed for integer and decimal");
	LOAD_BAD(FIELD_DEF("{'name':'b','type':'boolean','max':1}"), FS_ERR_FORM, "field 'b'",
	    "'max' is only allowed for integer and decimal");
	LOAD_BAD(FIELD_DEF("{'name':'d','type':'date','min':0}"), FS_ERR_FORM, "field 'd'",
	    "'min' is only allowed");
	LOAD_BAD(FIELD_DEF("{'name':'i','type':'integer','min':0.5}"), FS_ERR_FORM, "field 'i'",
	    "'min' must be an integer");
	LOAD_BAD(FIELD_DEF("{'name':'i','type':'integer','max':1e300}"), FS_ERR_FORM, "field 'i'",
	    "'max' must be an integer");
	LOAD_BAD(FIELD_DEF("{'name':'i','type':'integer','min':'0'}"), FS_ERR_FORM, "field 'i'",
	    "'min' must be a number");
	LOAD_BAD(FIELD_DEF("{'name':'i','type':'decimal','max':null}"), FS_ERR_FORM, "field 'i'",
	    "'max' must be a number");
	LOAD_BAD(FIELD_DEF("{'name':'i','type':'decimal','max':1e999}"), FS_ERR_FORM, "field 'i'",
	    "'max' must be a number");
	LOAD_BAD(FIELD_DEF("{'name':'n','type':'integer','max_length':5}"), FS_ERR_FORM,
	    "field 'n'", "'max_length' is only allowed for text");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','max_length':0}"), FS_ERR_FORM, "field 't'",
	    "'max_length' must be an integer from 1 to 65536");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','max_length':-1}"), FS_ERR_FORM, "field 't'",
	    "'max_length' must be an integer");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','max_length':1.5}"), FS_ERR_FORM, "field 't'",
	    "'max_length' must be an integer");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','max_length':65537}"), FS_ERR_FORM,
	    "field 't'", "'max_length' must be an integer");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','max_length':'10'}"), FS_ERR_FORM,
	    "field 't'", "'max_length' must be an integer");
}

FS_TEST(definition_rejects_bad_patterns)
{
	LOAD_BAD(FIELD_DEF("{'name':'n','type':'integer','pattern':'[0-9]+'}"), FS_ERR_FORM,
	    "field 'n'", "'pattern' is only allowed for text");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':5}"), FS_ERR_FORM, "field 't'",
	    "'pattern' must be a string");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':''}"), FS_ERR_FORM, "field 't'",
	    "'pattern' must be 1 to 1024 bytes");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'[a-'}"), FS_ERR_FORM, "field 't'",
	    "'pattern' has an unterminated bracket expression");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'[[:alpha:]'}"), FS_ERR_FORM,
	    "field 't'", "unterminated bracket expression");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'(a'}"), FS_ERR_FORM, "field 't'",
	    "'pattern' has unbalanced parentheses");
	/* Would escape the anchors as ^(a)|(b)$ if it were let through. */
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'a)|(b'}"), FS_ERR_FORM,
	    "field 't'", "'pattern' has unbalanced parentheses");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'(a)\\\\1'}"), FS_ERR_FORM,
	    "field 't'", "'pattern' uses a back-reference");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'a\\\\'}"), FS_ERR_FORM,
	    "field 't'", "'pattern' ends with a backslash");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'a{2,1}'}"), FS_ERR_FORM,
	    "field 't'", "'pattern' has a malformed or too large {} interval");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'a{1000}'}"), FS_ERR_FORM,
	    "field 't'", "'pattern' has a malformed or too large {} interval");
	/* regcomp copies the tree per repetition: these exhausted memory (fuzzer). */
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'Z+++++++++++++++++++++t'}"),
	    FS_ERR_FORM, "field 't'", "'pattern' repeats a repetition");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'((((a{9}){9}){9}){9})'}"),
	    FS_ERR_FORM, "field 't'", "'pattern' is too complex");
	LOAD_BAD(FIELD_DEF("{'name':'t','type':'text','pattern':'+a'}"), FS_ERR_FORM, "field 't'",
	    "'pattern' repeats nothing");
}

FS_TEST(pattern_is_anchored)
{
	struct form *form = LOAD(FIELD_DEF("{'name':'alt','type':'text','pattern':'ab|cd'},"
	                                   "{'name':'cls','type':'text','pattern':'[[:alpha:]]+'},"
	                                   "{'name':'par','type':'text','pattern':'[)(]+'},"
	                                   "{'name':'brk','type':'text','pattern':'[]x]+'}"));

	STRING_OK(form, "alt", "ab");
	STRING_OK(form, "alt", "cd");
	STRING_BAD(form, "alt", "abcd", "pattern");
	STRING_BAD(form, "alt", "xab", "pattern");
	STRING_BAD(form, "alt", "cdx", "pattern");
	STRING_OK(form, "cls", "abc");
	STRING_BAD(form, "cls", "abc1", "pattern");
	STRING_OK(form, "par", ")(");
	STRING_BAD(form, "par", ")x(", "pattern");
	STRING_OK(form, "brk", "]x]");
	STRING_BAD(form, "brk", "]y", "pattern");
	form_free(form);
}

FS_TEST(text_values)
{
	struct form *form = LOAD(test_form);
	char *big = malloc(FORM_TEXT_DEFAULT_MAX + 2);

	ASSERT(big != NULL);
	VALUE_OK(form, "notes", "''");
	VALUE_OK(form, "notes", "'hello'");
	VALUE_OK(form, "notes", "'0123456789'");
	STRING_OK(form, "notes", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"); /* 10 bytes */
	STRING_BAD(form, "notes", "SECRETSECRE", "max_length");
	STRING_BAD(form, "notes", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "max_length");
	VALUE_BAD(form, "notes", "12345", "type", NULL);
	VALUE_BAD(form, "notes", "true", "type", NULL);
	VALUE_BAD(form, "notes", "['SECRET']", "type", "SECRET");
	VALUE_BAD(form, "notes", "{'a':'SECRET'}", "type", "SECRET");

	memset(big, 'S', FORM_TEXT_DEFAULT_MAX + 1);
	big[FORM_TEXT_DEFAULT_MAX] = '\0';
	STRING_OK(form, "long_text", big);
	big[FORM_TEXT_DEFAULT_MAX] = 'S';
	big[FORM_TEXT_DEFAULT_MAX + 1] = '\0';
	STRING_BAD(form, "long_text", big, "max_length");
	free(big);
	form_free(form);
}

FS_TEST(text_utf8)
{
	static const char *const good[] = {
	    "plain ascii", "\xc3\xa9", /* U+00E9 */
	    "\xe2\x82\xac",            /* U+20AC */
	    "\xed\x9f\xbf",            /* U+D7FF, just below the surrogates */
	    "\xee\x80\x80",            /* U+E000, just above them */
	    "\xef\xbf\xbd",            /* U+FFFD */
	    "\xf0\x9d\x84\x9e",        /* U+1D11E */
	    "\xf4\x8f\xbf\xbf",        /* U+10FFFF */
	};
	static const char *const bad[] = {
	    "SECRET\x80",                 /* lone continuation byte */
	    "SECRET\xc3\x28",             /* missing continuation */
	    "SECRET\xe2\x82",             /* cut at the end */
	    "SECRET\xe2\x82x",            /* cut in the middle */
	    "SECRET\xc0\xaf",             /* overlong '/' */
	    "SECRET\xc1\xbf",             /* overlong U+007F */
	    "SECRET\xe0\x80\xaf",         /* overlong '/', 3 bytes */
	    "SECRET\xe0\x9f\xbf",         /* overlong U+07FF */
	    "SECRET\xf0\x80\x80\xaf",     /* overlong '/', 4 bytes */
	    "SECRET\xf0\x8f\xbf\xbf",     /* overlong U+FFFF */
	    "SECRET\xed\xa0\x80",         /* U+D800, high surrogate */
	    "SECRET\xed\xbf\xbf",         /* U+DFFF, low surrogate */
	    "SECRET\xf4\x90\x80\x80",     /* U+110000 */
	    "SECRET\xf5\x80\x80\x80",     /* beyond U+10FFFF */
	    "SECRET\xf8\x88\x80\x80\x80", /* 5-byte form */
	    "SECRET\xfe",
	    "SECRET\xff",
	};
	struct form *form = LOAD(test_form);
	char err[256];
	cJSON *v = NULL;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		STRING_OK(form, "long_text", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		STRING_BAD(form, "long_text", bad[i], "utf8");

	/* Raw bytes pass through the JSON parser and are caught by the rule. */
	ASSERT_OK(form_json_parse("\"SECRET\xc0\xaf\"", 10, "values", &v, err, sizeof(err)));
	cjson_bad_at(__LINE__, form, "notes", v, "utf8", "SECRET");
	cJSON_Delete(v);
	/* Escaped pairs decode to valid UTF-8; lone escaped surrogates are malformed JSON. */
	VALUE_OK(form, "long_text", "'\\ud834\\udd1e'");
	ASSERT_EQ(form_json_parse("\"\\ud800\"", 8, "values", &v, err, sizeof(err)), FS_ERR_JSON);
	ASSERT_EQ(form_json_parse("\"\\udc00x\"", 9, "values", &v, err, sizeof(err)), FS_ERR_JSON);
	/* NUL cannot reach a text value: refused before cJSON would cut the string. */
	ASSERT_EQ(
	    form_json_parse("\"a\\u0000b\"", 10, "values", &v, err, sizeof(err)), FS_ERR_JSON);
	ASSERT_STR_EQ(err, "values: JSON text contains a \\u0000 escape");
	ASSERT_EQ(form_json_parse("\"a\0b\"", 5, "values", &v, err, sizeof(err)), FS_ERR_JSON);
	ASSERT_STR_EQ(err, "values: JSON text contains a NUL byte");
	/* An escaped backslash followed by u0000 is just text. */
	ASSERT_OK(form_json_parse("\"\\\\u0000\"", 9, "values", &v, err, sizeof(err)));
	ASSERT_STR_EQ(v->valuestring, "\\u0000");
	cJSON_Delete(v);
	form_free(form);
}

FS_TEST(text_pattern)
{
	struct form *form = LOAD(test_form);

	VALUE_OK(form, "phone", "'+1 (555) 123-4567'");
	VALUE_OK(form, "phone", "'12345'");
	VALUE_OK(form, "phone", "''"); /* empty text is unset: no pattern */
	STRING_BAD(form, "phone", "call SECRET", "pattern");
	STRING_BAD(form, "phone", "55512345x", "pattern");
	STRING_BAD(form, "phone", "x55512345", "pattern");
	STRING_BAD(form, "phone", "1234", "pattern");
	STRING_BAD(form, "phone", "+123456789012345678901", "pattern");
	form_free(form);
}

FS_TEST(integer_values)
{
	struct form *form = LOAD(test_form);
	char err[256];
	cJSON *v;

	VALUE_OK(form, "workers", "0");
	VALUE_OK(form, "workers", "100000");
	VALUE_OK(form, "workers", "1e2");
	VALUE_OK(form, "workers", "-0");
	VALUE_OK(form, "count", "9007199254740991");
	VALUE_OK(form, "count", "-9007199254740991");
	VALUE_BAD(form, "workers", "-1", "min", NULL);
	VALUE_BAD(form, "workers", "100001", "max", NULL);
	VALUE_BAD(form, "workers", "1.5", "type", NULL);
	VALUE_BAD(form, "workers", "'12'", "type", NULL);
	VALUE_BAD(form, "workers", "true", "type", NULL);
	VALUE_BAD(form, "workers", "[7]", "type", NULL);
	/* Above 2^53 a double no longer holds every integer. */
	VALUE_BAD(form, "count", "9007199254740992", "type", NULL);
	VALUE_BAD(form, "count", "9007199254740993", "type", NULL);
	VALUE_BAD(form, "count", "-9007199254740992", "type", NULL);
	VALUE_BAD(form, "count", "18446744073709551616", "type", NULL);
	VALUE_BAD(form, "count", "1e300", "type", NULL);
	VALUE_BAD(form, "count", "1e400", "type", NULL);

	v = cJSON_CreateNumber(-7);
	ASSERT_EQ(form_check_value(form_field_find(form, "workers"), v, err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_STR_EQ(err, "field 'workers': rule 'min' (must be at least 0)");
	cJSON_SetNumberValue(v, 123456);
	ASSERT_EQ(form_check_value(form_field_find(form, "workers"), v, err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_STR_EQ(err, "field 'workers': rule 'max' (must be at most 100000)");
	cJSON_Delete(v);
	form_free(form);
}

FS_TEST(decimal_values)
{
	struct form *form = LOAD(test_form);
	char err[256];
	cJSON *v;

	VALUE_OK(form, "amount", "-1.5");
	VALUE_OK(form, "amount", "2.5");
	VALUE_OK(form, "amount", "0");
	VALUE_OK(form, "amount", "1e-3");
	VALUE_OK(form, "ratio", "-1e300");
	VALUE_OK(form, "ratio", "9007199254740993");
	VALUE_BAD(form, "amount", "-1.625", "min", NULL);
	VALUE_BAD(form, "amount", "2.625", "max", NULL);
	VALUE_BAD(form, "amount", "'1.0'", "type", NULL);
	VALUE_BAD(form, "amount", "false", "type", NULL);
	VALUE_BAD(form, "ratio", "1e400", "type", NULL);
	VALUE_BAD(form, "ratio", "-1e400", "type", NULL);
	v = cJSON_CreateNumber(NAN);
	cjson_bad_at(__LINE__, form, "ratio", v, "type", "nan");
	cJSON_SetNumberValue(v, INFINITY);
	cjson_bad_at(__LINE__, form, "ratio", v, "type", "inf");
	cJSON_SetNumberValue(v, -1.75);
	ASSERT_EQ(
	    form_check_value(form_field_find(form, "amount"), v, err, sizeof(err)), FS_ERR_INVALID);
	ASSERT_STR_EQ(err, "field 'amount': rule 'min' (must be at least -1.5)");
	cJSON_Delete(v);
	form_free(form);
}

FS_TEST(boolean_values)
{
	struct form *form = LOAD(test_form);

	VALUE_OK(form, "flag", "true");
	VALUE_OK(form, "flag", "false");
	VALUE_BAD(form, "flag", "1", "type", NULL);
	VALUE_BAD(form, "flag", "0", "type", NULL);
	VALUE_BAD(form, "flag", "'true'", "type", NULL);
	VALUE_BAD(form, "flag", "'yes'", "type", NULL);
	VALUE_BAD(form, "flag", "[]", "type", NULL);
	form_free(form);
}

FS_TEST(date_values_and_leap_days)
{
	static const char *const good[] = {"2024-02-29", "2000-02-29", "1996-02-29", "2023-02-28",
	    "1999-12-31", "2024-01-01", "2024-04-30", "0001-01-01"};
	static const char *const bad[] = {"2023-02-29", "1900-02-29", "2100-02-29", "2024-02-30",
	    "2024-13-01", "2024-00-10", "2024-04-31", "2024-06-31", "2024-01-00", "2024-01-32",
	    "2024-4-01", "24-04-01", "2024/04/01", "2024-04-01 ", " 2024-04-01",
	    "2024-04-01T00:00:00Z", "", "2024-0a-01"};
	struct form *form = LOAD(test_form);
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		STRING_OK(form, "day", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		STRING_BAD(form, "day", bad[i], "type");
	VALUE_BAD(form, "day", "20240401", "type", NULL);
	form_free(form);
}

FS_TEST(datetime_values)
{
	static const char *const good[] = {"2024-02-29T23:59:59Z", "2024-02-29T00:00:00.5+05:30",
	    "2024-01-01T12:00:00.123456789-00:00", "1999-12-31T23:59:59+14:00",
	    "2024-06-15T08:30:00-03:00", "2000-02-29T00:00:00Z"};
	static const char *const bad[] = {"2023-02-29T10:00:00Z", "1900-02-29T10:00:00Z",
	    "2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z",
	    "2024-01-01t10:00:00Z", "2024-01-01T10:00:00z", "2024-01-01T10:00:00",
	    "2024-01-01T10:00:00+5:30", "2024-01-01T10:00:00+05:60", "2024-01-01T10:00:00+24:00",
	    "2024-01-01T10:00:00+0530", "2024-01-01T10:00:00.Z", "2024-01-01T10:00:00.1234567890Z",
	    "2024-01-01T10:00Z", "2024-01-01 10:00:00Z", "2024-01-01T10:00:00ZZ",
	    "2024-01-01T10:00:00+05:30x", "2024-01-01", ""};
	struct form *form = LOAD(test_form);
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		STRING_OK(form, "when", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		STRING_BAD(form, "when", bad[i], "type");
	VALUE_BAD(form, "when", "1700000000", "type", NULL);
	form_free(form);
}

FS_TEST(select_values)
{
	struct form *form = LOAD(test_form);

	VALUE_OK(form, "sector", "'farm'");
	VALUE_OK(form, "sector", "'other'");
	STRING_BAD(form, "sector", "Farm", "choices");
	STRING_BAD(form, "sector", "SECRET", "choices");
	STRING_BAD(form, "sector", "", "choices");
	VALUE_BAD(form, "sector", "3", "type", NULL);
	VALUE_BAD(form, "sector", "['farm']", "type", "farm");

	VALUE_OK(form, "signs", "[]");
	VALUE_OK(form, "signs", "['aa']");
	VALUE_OK(form, "signs", "['cc','aa','bb']");
	VALUE_BAD(form, "signs", "['aa','aa']", "choices", NULL);
	VALUE_BAD(form, "signs", "['aa','SECRET']", "choices", "SECRET");
	VALUE_BAD(form, "signs", "'aa'", "type", NULL);
	VALUE_BAD(form, "signs", "[1]", "type", NULL);
	VALUE_BAD(form, "signs", "['aa',null]", "type", NULL);
	VALUE_BAD(form, "signs", "{'aa':true}", "type", NULL);
	form_free(form);
}

FS_TEST(geopoint_values)
{
	struct form *form = LOAD(test_form);

	VALUE_OK(form, "place", "{'lat':0,'lon':0}");
	VALUE_OK(form, "place", "{'lon':180,'lat':-90,'alt':-10.5,'acc':0}");
	VALUE_OK(form, "place", "{'lat':90,'lon':-180,'acc':5.25}");
	VALUE_OK(form, "place", "{'lat':-1.2921,'lon':36.8219,'alt':1795}");
	VALUE_BAD(form, "place", "{'lat':90.123,'lon':0}", "type", "90.123");
	VALUE_BAD(form, "place", "{'lat':-91.5,'lon':0}", "type", "91.5");
	VALUE_BAD(form, "place", "{'lat':0,'lon':180.25}", "type", "180.25");
	VALUE_BAD(form, "place", "{'lat':0,'lon':-181.5}", "type", "181.5");
	VALUE_BAD(form, "place", "{'lat':0,'lon':0,'acc':-1.5}", "type", "1.5");
	VALUE_BAD(form, "place", "{'lat':12.75}", "type", "12.75");
	VALUE_BAD(form, "place", "{'lon':12.75}", "type", "12.75");
	VALUE_BAD(form, "place", "{'lat':1,'lon':2,'note':'SECRET'}", "type", "SECRET");
	VALUE_BAD(form, "place", "{'lat':'12.75','lon':2}", "type", "12.75");
	VALUE_BAD(form, "place", "{'lat':1,'lon':2,'alt':null}", "type", NULL);
	VALUE_BAD(form, "place", "{'lat':1,'lat':2,'lon':3}", "type", NULL);
	VALUE_BAD(form, "place", "[12.75,2]", "type", "12.75");
	VALUE_BAD(form, "place", "'12.75,2'", "type", "12.75");
	VALUE_BAD(form, "place", "{}", "type", NULL);
	form_free(form);
}

FS_TEST(null_is_unset_for_every_type)
{
	struct form *form = LOAD(test_form);
	cJSON *null = cJSON_CreateNull();
	size_t i;

	for (i = 0; i < form->nfields; i++) {
		ASSERT_OK(form_check_value(&form->fields[i], NULL, NULL, 0));
		ASSERT_OK(form_check_value(&form->fields[i], null, NULL, 0));
	}
	cJSON_Delete(null);
	form_free(form);
}

FS_TEST(validate_required_complete_and_partial)
{
	struct form *form = LOAD(test_form);
	char err[256];
	cJSON *v;

	VALIDATE_OK(form, "{'full_name':'A','tags':['xx']}", true);
	VALIDATE_OK(form,
	    "{'notes':'n','phone':'12345','full_name':'A','workers':5,'count':-3,"
	    "'amount':1.25,'ratio':3,'flag':false,'day':'2024-02-29',"
	    "'when':'2024-02-29T12:00:00Z','sector':'mine','signs':['bb'],"
	    "'tags':['xx','yy'],'place':{'lat':1,'lon':2},'long_text':null}",
	    true);
	VALIDATE_BAD(form, "{'tags':['xx']}", true, "full_name", "required");
	VALIDATE_BAD(form, "{'full_name':'','tags':['xx']}", true, "full_name", "required");
	VALIDATE_BAD(form, "{'full_name':null,'tags':['xx']}", true, "full_name", "required");
	VALIDATE_BAD(form, "{'full_name':'A','tags':[]}", true, "tags", "required");
	VALIDATE_BAD(form, "{'full_name':'A'}", true, "tags", "required");
	VALIDATE_BAD(form, "{}", true, "full_name", "required");
	VALIDATE_BAD(form, "{'full_name':'A','tags':['xx'],'workers':-5}", true, "workers", "min");

	/* A partial change checks only what it carries, but cannot clear a required field. */
	VALIDATE_OK(form, "{}", false);
	VALIDATE_OK(form, "{'notes':'hi','flag':null}", false);
	VALIDATE_BAD(form, "{'full_name':null}", false, "full_name", "required");
	VALIDATE_BAD(form, "{'full_name':''}", false, "full_name", "required");
	VALIDATE_BAD(form, "{'tags':[]}", false, "tags", "required");
	VALIDATE_BAD(form, "{'workers':100001}", false, "workers", "max");
	VALIDATE_BAD(form, "{'full_name':5}", false, "full_name", "type");

	ASSERT_EQ(validate_at(__LINE__, form, "{'full_name':'A','tags':['xx'],'nmae':'SECRET'}",
	              true, err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_STR_EQ(err, "field 'nmae': rule 'unknown_field' (not in form test_form version 3)");
	VALIDATE_BAD(form, "{'nmae':1}", false, "nmae", "unknown_field");
	/* A key that is not a field name is not repeated: it may be a value typed by mistake. */
	ASSERT_EQ(
	    validate_at(__LINE__, form, "{'notes':'a','Maria SECRET':1}", false, err, sizeof(err)),
	    FS_ERR_INVALID);
	ASSERT_STR_EQ(err, "field #2 of the values: rule 'unknown_field' (not a valid field name)");

	ASSERT_EQ(validate_at(__LINE__, form, "{'notes':'a','notes':'b'}", false, err, sizeof(err)),
	    FS_ERR_JSON);
	ASSERT_STR_EQ(err, "values: field 'notes' appears twice");
	ASSERT_EQ(
	    validate_at(__LINE__, form, "['full_name']", true, err, sizeof(err)), FS_ERR_JSON);
	ASSERT_EQ(form_validate(form, NULL, true, err, sizeof(err)), FS_ERR_JSON);
	v = cJSON_CreateString("x");
	ASSERT_EQ(form_validate(form, v, false, err, sizeof(err)), FS_ERR_JSON);
	cJSON_Delete(v);
	form_free(form);
}

FS_TEST(value_from_text_every_type)
{
	struct form *form = LOAD(test_form);

	TEXT_OK(form, "notes", "hello", "'hello'");
	TEXT_OK(form, "notes", "  spaced  ", "'  spaced  '");
	TEXT_OK(form, "notes", "", "null");

	TEXT_OK(form, "count", "42", "42");
	TEXT_OK(form, "count", " -7 ", "-7");
	TEXT_OK(form, "count", "+3", "3");
	TEXT_OK(form, "count", "9007199254740991", "9007199254740991");
	TEXT_OK(form, "count", "-9007199254740991", "-9007199254740991");
	TEXT_OK(form, "count", "", "null");
	TEXT_OK(form, "count", "   ", "null");
	TEXT_OK(form, "workers", "-5", "-5"); /* a rule, not the type: not checked here */
	TEXT_BAD(form, "count", "9007199254740992");
	TEXT_BAD(form, "count", "-9007199254740992");
	TEXT_BAD(form, "count", "99999999999999999999");
	TEXT_BAD(form, "count", "1.5");
	TEXT_BAD(form, "count", "12abc");
	TEXT_BAD(form, "count", "0x10");
	TEXT_BAD(form, "count", "1e3");
	TEXT_BAD(form, "count", "-");
	TEXT_BAD(form, "count", "1 2");
	TEXT_BAD(form, "count", "--1");

	TEXT_OK(form, "ratio", "2.5", "2.5");
	TEXT_OK(form, "ratio", "-1e-3", "-0.001");
	TEXT_OK(form, "ratio", " 7 ", "7");
	TEXT_OK(form, "ratio", ".5", "0.5");
	TEXT_BAD(form, "ratio", "1e400");
	TEXT_BAD(form, "ratio", "inf");
	TEXT_BAD(form, "ratio", "nan");
	TEXT_BAD(form, "ratio", "0x1p3");
	TEXT_BAD(form, "ratio", "1,5");
	TEXT_BAD(form, "ratio", ".");
	TEXT_BAD(form, "ratio", "1.2.3");
	TEXT_BAD(form, "ratio", "12 kg");

	TEXT_OK(form, "flag", "true", "true");
	TEXT_OK(form, "flag", "TRUE", "true");
	TEXT_OK(form, "flag", "Yes", "true");
	TEXT_OK(form, "flag", "1", "true");
	TEXT_OK(form, "flag", "false", "false");
	TEXT_OK(form, "flag", " No ", "false");
	TEXT_OK(form, "flag", "0", "false");
	TEXT_OK(form, "flag", "", "null");
	TEXT_BAD(form, "flag", "maybe");
	TEXT_BAD(form, "flag", "2");
	TEXT_BAD(form, "flag", "yess");

	TEXT_OK(form, "day", "2024-02-29", "'2024-02-29'");
	TEXT_OK(form, "day", " 2024-01-01 ", "'2024-01-01'");
	TEXT_BAD(form, "day", "2023-02-29");
	TEXT_BAD(form, "day", "29/02/2024");
	TEXT_OK(form, "when", "2024-02-29T10:00:00+03:00", "'2024-02-29T10:00:00+03:00'");
	TEXT_BAD(form, "when", "2024-02-29 10:00");

	TEXT_OK(form, "sector", " farm ", "'farm'");
	TEXT_OK(form, "sector", "Farm", "'Farm'"); /* choices are a rule, checked later */

	TEXT_OK(form, "signs", "aa, cc", "['aa','cc']");
	TEXT_OK(form, "signs", " aa ,,bb, ", "['aa','bb']");
	TEXT_OK(form, "signs", "bb", "['bb']");
	TEXT_OK(form, "signs", ",", "[]");
	TEXT_OK(form, "signs", "", "null");

	TEXT_OK(form, "place", "1.5,2.5", "{'lat':1.5,'lon':2.5}");
	TEXT_OK(form, "place", "-1.2921, 36.8219, 1795, 12",
	    "{'lat':-1.2921,'lon':36.8219,'alt':1795,'acc':12}");
	TEXT_OK(form, "place", "0,0,-3", "{'lat':0,'lon':0,'alt':-3}");
	TEXT_BAD(form, "place", "91,0");
	TEXT_BAD(form, "place", "0,181");
	TEXT_BAD(form, "place", "0,0,0,-1");
	TEXT_BAD(form, "place", "12.75");
	TEXT_BAD(form, "place", "1,2,3,4,5");
	TEXT_BAD(form, "place", "a,b");
	TEXT_BAD(form, "place", "1,,2");
	TEXT_BAD(form, "place", "1,2,");
	form_free(form);
}

FS_TEST(value_from_text_ignores_locale)
{
	static const char *const locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "fr_FR"};
	struct form *form;
	size_t i;

	for (i = 0; i < sizeof(locales) / sizeof(locales[0]); i++)
		if (setlocale(LC_NUMERIC, locales[i]) != NULL)
			break;
	if (i == sizeof(locales) / sizeof(locales[0])) {
		fprintf(stderr, "   (no locale with a decimal comma installed, skipped)\n");
		return;
	}
	form = LOAD(test_form);
	TEXT_OK(form, "ratio", "2.5", "2.5");
	TEXT_OK(form, "place", "1.5,2.5", "{'lat':1.5,'lon':2.5}");
	TEXT_BAD(form, "ratio", "2,5");
	form_free(form);
	setlocale(LC_NUMERIC, "C");
}

FS_TEST(messages_fit_any_buffer)
{
	struct form *form = LOAD(test_form);
	const struct form_field *f = form_field_find(form, "workers");
	char err[8];
	cJSON *v = cJSON_CreateNumber(-1);

	memset(err, 'x', sizeof(err));
	ASSERT_EQ(form_check_value(f, v, err, sizeof(err)), FS_ERR_INVALID);
	ASSERT_STR_EQ(err, "field '");
	ASSERT_EQ(form_check_value(f, v, NULL, 0), FS_ERR_INVALID);
	ASSERT_EQ(form_check_value(f, v, err, 0), FS_ERR_INVALID);
	cJSON_Delete(v);
	form_free(form);
}

/* The shipped forms, version 3 (issue 19, item 3): schema/forms. */
static struct form *
load_v3(const char *name)
{
	struct form *form;

	forms_dir_var = "FS_SHIPPED_FORMS_DIR";
	form = load_shipped(name);
	forms_dir_var = "FS_FORMS_DIR";
	ASSERT_EQ(form->version, 3);
	return form;
}

/* values after a device's save (calculations made, skipped answers cleared). */
static cJSON *
saved(const struct form *form, const char *json)
{
	cJSON *v = parse_at(__LINE__, json);

	ASSERT_OK(form_apply_logic(form, v, "2026-12-06"));
	return v;
}

FS_TEST(shipped_v3_labor_inspection)
{
	static const char *const districts[] = {
	    "corozal", "orange_walk", "belize", "cayo", "stann_creek", "toledo"};
	struct form *form = load_v3("labor_inspection.json");
	const struct form_field *f;
	char err[512];
	cJSON *v;

	f = field_at(__LINE__, form, "district");
	ASSERT(f->type == FORM_SELECT_ONE && f->required && f->nchoices == 6);
	for (size_t i = 0; i < 6; i++)
		ASSERT_STR_EQ(f->choices[i], districts[i]);
	f = field_at(__LINE__, form, "referral_agency");
	ASSERT(f->type == FORM_SELECT_ONE && f->nchoices == 8 && f->relevant != NULL);
	ASSERT_STR_EQ(f->choices[3], "human_services");
	ASSERT(field_at(__LINE__, form, "indicator_count")->calculate != NULL);
	ASSERT(field_at(__LINE__, form, "risk_level")->calculate != NULL);
	ASSERT(field_at(__LINE__, form, "interview_notes")->sensitive);
	f = field_at(__LINE__, form, "interviews");
	ASSERT(f->type == FORM_REPEAT && f->rows != NULL && f->max_rows == 50);
	ASSERT(field_at(__LINE__, form, "interviews/a1/worker_name")->sensitive);
	ASSERT(field_at(__LINE__, form, "interviews/a1/is_minor")->calculate != NULL);

	/* Three indicators: count 3, risk high; a follow-up asked only when it applies. */
	v = saved(form, "{'worksite_name':'Kiln','district':'cayo','sector':'manufacturing',"
			"'inspection_date':'2026-11-20','deception':true,'debt_bondage':true,"
			"'debt_amount':300,'retention_of_documents':true,'documents_held_by':'employer',"
			"'isolation':false,'months_unpaid':4,'number_of_workers':3,"
			"'interviews/r1/age':16,'referral_decision':'refer_police','referral_agency':'police_atu'}");
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(v, "indicator_count")->valueint, 3);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(v, "risk_level")->valuestring, "high");
	ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "months_unpaid"))); /* no withholding */
	ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "interviews/r1/is_minor")));
	ASSERT_OK(form_validate(form, v, true, err, sizeof(err)));
	cJSON_Delete(v);
	/* None: low; no referral, so no agency; no district: refused. */
	v = saved(form, "{'worksite_name':'Farm','sector':'agriculture','inspection_date':'2026-11-20',"
			"'referral_decision':'none','referral_agency':'customs'}");
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(v, "indicator_count")->valueint, 0);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(v, "risk_level")->valuestring, "low");
	ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "referral_agency")));
	ASSERT_EQ(form_validate(form, v, true, err, sizeof(err)), FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "field 'district': rule 'required'");
	cJSON_Delete(v);
	/* A referral needs its agency; the agency is one of the list. */
	v = saved(form, "{'worksite_name':'Farm','district':'toledo','sector':'agriculture',"
			"'inspection_date':'2026-11-20','isolation':true,'referral_decision':'refer_victim_services'}");
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(v, "risk_level")->valuestring, "medium");
	ASSERT_EQ(form_validate(form, v, true, err, sizeof(err)), FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "field 'referral_agency': rule 'required'");
	cJSON_Delete(v);
	VALIDATE_BAD(form, "{'referral_agency':'Police ATU'}", false, "referral_agency", "choices");
	VALIDATE_BAD(form, "{'district':'Cayo'}", false, "district", "choices");
	form_free(form);
}

FS_TEST(shipped_v3_border_screening)
{
	struct form *form = load_v3("border_screening.json");
	char err[512];
	cJSON *v;

	ASSERT(field_at(__LINE__, form, "district")->required);
	ASSERT(field_at(__LINE__, form, "minor_accompaniment")->relevant != NULL);
	ASSERT(field_at(__LINE__, form, "officer_notes")->sensitive);
	ASSERT_EQ(field_at(__LINE__, form, "companions")->type, FORM_REPEAT);
	ASSERT(field_at(__LINE__, form, "companions/c1/companion_name")->sensitive);
	ASSERT(field_at(__LINE__, form, "companions/c1/relationship")->required);
	/* An adult: accompaniment not asked (cleared); the traveller holds the documents. */
	v = saved(form, "{'checkpoint':'Santa Elena','district':'corozal',"
			"'screening_time':'2026-11-20T10:00:00Z','document_holder':'traveller',"
			"'is_minor':false,'minor_accompaniment':'with_non_guardian',"
			"'debt_to_recruiter_or_transporter':false,'debt_amount':100,'referral':'none'}");
	ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "minor_accompaniment")));
	ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "debt_amount")));
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(v, "indicator_count")->valueint, 0);
	ASSERT_OK(form_validate(form, v, true, err, sizeof(err)));
	cJSON_Delete(v);
	/* A minor with a companion who holds the documents: two signs, high. */
	v = saved(form, "{'checkpoint':'Benque Viejo','district':'cayo',"
			"'screening_time':'2026-11-20T10:00:00Z','document_holder':'companion',"
			"'is_minor':true,'minor_accompaniment':'with_non_guardian','referral':'refer_victim_services',"
			"'referral_agency':'human_services','companions/c1/relationship':'recruiter_or_agent',"
			"'companions/c1/holds_travellers_documents':true}");
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(v, "indicator_count")->valueint, 2);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(v, "risk_level")->valuestring, "high");
	ASSERT_OK(form_validate(form, v, true, err, sizeof(err)));
	cJSON_Delete(v);
	/* A minor: the accompaniment is required. */
	v = saved(form, "{'checkpoint':'X','district':'cayo','screening_time':'2026-11-20T10:00:00Z',"
			"'document_holder':'traveller','is_minor':true,'referral':'none'}");
	ASSERT_EQ(form_validate(form, v, true, err, sizeof(err)), FS_ERR_INVALID);
	ASSERT_CONTAINS(err, "field 'minor_accompaniment': rule 'required'");
	cJSON_Delete(v);
	form_free(form);
}

FS_TEST(shipped_labor_inspection_loads)
{
	static const char *const indicators[] = {"abuse_of_vulnerability", "deception",
	    "restriction_of_movement", "isolation", "physical_sexual_violence",
	    "intimidation_threats", "retention_of_documents", "withholding_of_wages",
	    "debt_bondage", "abusive_conditions", "excessive_overtime"};
	struct form *form = load_shipped("labor_inspection.json");
	const struct form_field *f;
	size_t i;

	ASSERT_STR_EQ(form->id, "labor_inspection");
	ASSERT_EQ(form->version, 2); /* 2: the notes are sensitive (issue 15) */
	ASSERT_EQ(form->conflict, FORM_CONFLICT_FIELD_LWW);
	ASSERT_EQ(form->nfields, 22);
	for (i = 0; i < 11; i++) {
		f = field_at(__LINE__, form, indicators[i]);
		ASSERT_EQ(f->type, FORM_BOOLEAN);
		ASSERT(f->label != NULL && !f->sensitive);
	}
	for (i = 0; i < form->nfields; i++)
		ASSERT(form->fields[i].label != NULL);
	f = field_at(__LINE__, form, "worksite_name");
	ASSERT(f->type == FORM_TEXT && f->required && f->max_length == 200 && !f->sensitive);
	f = field_at(__LINE__, form, "sector");
	ASSERT(f->type == FORM_SELECT_ONE && f->required && f->nchoices == 8);
	f = field_at(__LINE__, form, "inspection_date");
	ASSERT(f->type == FORM_DATE && f->required);
	ASSERT_EQ(field_at(__LINE__, form, "location")->type, FORM_GEOPOINT);
	f = field_at(__LINE__, form, "number_of_workers");
	ASSERT(f->type == FORM_INTEGER && f->min == 0 && f->max == 100000);
	ASSERT_EQ(field_at(__LINE__, form, "interview_notes")->max_length, 20000);
	ASSERT(field_at(__LINE__, form, "interview_notes")->sensitive);
	ASSERT(field_at(__LINE__, form, "employer_contact_phone")->sensitive);
	ASSERT(field_at(__LINE__, form, "employer_contact_phone")->regex != NULL);
	ASSERT(field_at(__LINE__, form, "interviewee_name")->sensitive);
	ASSERT_EQ(field_at(__LINE__, form, "interviewee_name")->max_length, 200);
	f = field_at(__LINE__, form, "referral_decision");
	ASSERT(f->type == FORM_SELECT_ONE && f->required && f->nchoices == 5);
	ASSERT_EQ(field_at(__LINE__, form, "referral_agency")->max_length, 200);
	ASSERT_EQ(field_at(__LINE__, form, "inspector_id")->type, FORM_TEXT);

	VALIDATE_OK(form,
	    "{'worksite_name':'Farm 12','sector':'agriculture','inspection_date':'2024-02-29',"
	    "'location':{'lat':-1.29,'lon':36.82},'number_of_workers':40,"
	    "'retention_of_documents':true,'debt_bondage':true,'deception':false,"
	    "'employer_contact_phone':'+254 (20) 555-1234','referral_decision':'refer_police'}",
	    true);
	VALIDATE_BAD(form,
	    "{'worksite_name':'F','sector':'agriculture',"
	    "'inspection_date':'2024-02-29'}",
	    true, "referral_decision", "required");
	VALIDATE_BAD(form, "{'employer_contact_phone':'call SECRET'}", false,
	    "employer_contact_phone", "pattern");
	VALIDATE_BAD(form, "{'sector':'fishery'}", false, "sector", "choices");
	form_free(form);
}

FS_TEST(shipped_border_screening_loads)
{
	static const char *const sensitive[] = {
	    "traveller_name", "travel_document_number", "recruiter_name", "recruiter_phone"};
	struct form *form = load_shipped("border_screening.json");
	const struct form_field *f;
	size_t i, nsensitive = 0;

	ASSERT_STR_EQ(form->id, "border_screening");
	ASSERT_EQ(form->version, 2);
	ASSERT_EQ(form->conflict, FORM_CONFLICT_FIELD_LWW);
	ASSERT_EQ(form->nfields, 18);
	for (i = 0; i < 4; i++)
		ASSERT(field_at(__LINE__, form, sensitive[i])->sensitive);
	for (i = 0; i < form->nfields; i++)
		nsensitive += form->fields[i].sensitive;
	ASSERT_EQ(nsensitive, 5); /* the four and the officer's notes */
	ASSERT_EQ(field_at(__LINE__, form, "travel_document_number")->max_length, 40);
	f = field_at(__LINE__, form, "screening_time");
	ASSERT(f->type == FORM_DATETIME && f->required);
	f = field_at(__LINE__, form, "document_holder");
	ASSERT(f->type == FORM_SELECT_ONE && f->required && f->nchoices == 5);
	ASSERT(field_at(__LINE__, form, "is_minor")->required);
	ASSERT_EQ(field_at(__LINE__, form, "minor_accompaniment")->nchoices, 4);
	f = field_at(__LINE__, form, "debt_amount");
	ASSERT(f->type == FORM_DECIMAL && f->has_min && f->min == 0 && !f->has_max);
	f = field_at(__LINE__, form, "control_signs");
	ASSERT(f->type == FORM_SELECT_MULTIPLE && f->nchoices == 6 && !f->required);
	f = field_at(__LINE__, form, "referral");
	ASSERT(f->type == FORM_SELECT_ONE && f->required && f->nchoices == 4);
	ASSERT_EQ(field_at(__LINE__, form, "officer_notes")->max_length, 20000);
	ASSERT(field_at(__LINE__, form, "officer_notes")->sensitive);

	VALIDATE_OK(form,
	    "{'checkpoint':'North gate','screening_time':'2024-05-01T14:30:00+02:00',"
	    "'document_holder':'companion','is_minor':false,'job_offer_abroad':true,"
	    "'debt_to_recruiter_or_transporter':true,'debt_amount':1500.5,"
	    "'signs_of_control_by_companion':true,"
	    "'control_signs':['speaks_for_traveller','holds_documents'],"
	    "'referral':'secondary_interview'}",
	    true);
	VALIDATE_BAD(form,
	    "{'checkpoint':'N','screening_time':'2024-05-01T14:30:00Z',"
	    "'document_holder':'traveller','referral':'none'}",
	    true, "is_minor", "required");
	VALIDATE_BAD(form, "{'debt_amount':-10}", false, "debt_amount", "min");
	VALIDATE_BAD(form,
	    "{'travel_document_number':'SECRET-0123456789-0123456789-0123456789-01'}", false,
	    "travel_document_number", "max_length");
	form_free(form);
}

int
main(void)
{
	FS_RUN(definition_loads);
	FS_RUN(definition_json_is_canonical);
	FS_RUN(definition_conflict_policies_and_names);
	FS_RUN(definition_accepts_optional_keys);
	FS_RUN(definition_rejects_bad_json);
	FS_RUN(definition_rejects_bad_top_level);
	FS_RUN(definition_rejects_bad_fields);
	FS_RUN(definition_rejects_bad_choices);
	FS_RUN(definition_rejects_too_many);
	FS_RUN(definition_rejects_bad_bounds);
	FS_RUN(definition_rejects_bad_patterns);
	FS_RUN(pattern_is_anchored);
	FS_RUN(text_values);
	FS_RUN(text_utf8);
	FS_RUN(text_pattern);
	FS_RUN(integer_values);
	FS_RUN(decimal_values);
	FS_RUN(boolean_values);
	FS_RUN(date_values_and_leap_days);
	FS_RUN(datetime_values);
	FS_RUN(select_values);
	FS_RUN(geopoint_values);
	FS_RUN(null_is_unset_for_every_type);
	FS_RUN(validate_required_complete_and_partial);
	FS_RUN(value_from_text_every_type);
	FS_RUN(value_from_text_ignores_locale);
	FS_RUN(messages_fit_any_buffer);
	FS_RUN(shipped_labor_inspection_loads);
	FS_RUN(shipped_border_screening_loads);
	FS_RUN(shipped_v3_labor_inspection);
	FS_RUN(shipped_v3_border_screening);
	FS_TEST_DONE();
}
