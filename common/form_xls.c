/*
 * form_xls.c -- XLSForm sheets saved as CSV, to and from form definitions
 * (form_xls.h).  The definition is built with cJSON and checked with
 * form_load(), so whatever the sheets say, only a form fieldsync accepts
 * comes out.
 */
#include "form_xls.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "csv.h"
#include "form.h"

static fs_err xerr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static fs_err
xerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return FS_ERR_FORM;
}

/* --- Reading CSV (RFC 4180) into an array of rows of strings --------- */

/* Appends c to the cell being read. */
static bool
cell_put(char **cell, size_t *len, size_t *cap, char c)
{
	if (*len + 2 > *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		char *p = realloc(*cell, ncap);

		if (p == NULL)
			return false;
		*cell = p;
		*cap = ncap;
	}
	(*cell)[(*len)++] = c;
	(*cell)[*len] = '\0';
	return true;
}

/* The rows of text, each an array of strings; NULL and err set on a broken quote. */
static cJSON *
csv_read(const char *text, const char *sheet, char *err, size_t errlen)
{
	cJSON *rows = cJSON_CreateArray(), *row = NULL;
	char *cell = NULL;
	size_t len = 0, cap = 0, line = 1, qline = 1;
	bool quoted = false, was_quoted = false, ok = rows != NULL;
	const char *p = text;

	if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3; /* a byte order mark, as spreadsheets write it */
	cell_put(&cell, &len, &cap, 'x');
	len = 0;
	cell[0] = '\0';
	for (; ok; p++) {
		char c = *p;

		if (quoted) {
			if (c == '\0') {
				xerr(err, errlen, "%s line %zu: a quoted cell is not closed", sheet, qline);
				ok = false;
				break;
			}
			if (c == '"' && p[1] == '"') {
				ok = cell_put(&cell, &len, &cap, '"');
				p++;
			} else if (c == '"') {
				quoted = false;
			} else {
				line += c == '\n';
				ok = cell_put(&cell, &len, &cap, c);
			}
			continue;
		}
		if (c == '"' && len == 0 && !was_quoted) {
			quoted = was_quoted = true;
			qline = line;
			continue;
		}
		if (c == ',' || c == '\n' || c == '\0' || (c == '\r' && p[1] == '\n')) {
			if (row == NULL && (row = cJSON_CreateArray()) == NULL) {
				ok = false;
				break;
			}
			ok = cJSON_AddItemToArray(row, cJSON_CreateString(cell));
			len = 0;
			cell[0] = '\0';
			was_quoted = false;
			if (c == ',')
				continue;
			if (c == '\r')
				p++;
			/* A row of one empty cell is a blank line: dropped. */
			if (cJSON_GetArraySize(row) > 1 || row->child->valuestring[0] != '\0') {
				ok = ok && cJSON_AddItemToArray(rows, row);
			} else {
				cJSON_Delete(row);
			}
			row = NULL;
			line++;
			if (c == '\0')
				break;
			continue;
		}
		ok = cell_put(&cell, &len, &cap, c);
	}
	free(cell);
	cJSON_Delete(row);
	if (!ok) {
		if (err[0] == '\0')
			xerr(err, errlen, "out of memory");
		cJSON_Delete(rows);
		return NULL;
	}
	return rows;
}

/* Index of column name in the header (case-insensitive); prefix matches "name::...". */
static int
column(const cJSON *header, const char *name, bool prefix)
{
	int i = 0;
	const cJSON *h;

	cJSON_ArrayForEach(h, header)
	{
		size_t n = strlen(name);

		if (strcasecmp(h->valuestring, name) == 0 ||
		    (prefix && strncasecmp(h->valuestring, name, n) == 0 &&
			strncmp(h->valuestring + n, "::", 2) == 0))
			return i;
		i++;
	}
	return -1;
}

/* The cell of row at column i; "" when the row is short or i < 0. */
static const char *
at(const cJSON *row, int i)
{
	const cJSON *c = i >= 0 ? cJSON_GetArrayItem(row, i) : NULL;

	return c != NULL ? c->valuestring : "";
}

static bool
yes(const char *s)
{
	return strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "true()") == 0 || strcmp(s, "1") == 0;
}

static bool
no(const char *s)
{
	return s[0] == '\0' || strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "false()") == 0 || strcmp(s, "0") == 0;
}

/* A number cell into obj[key]; false when it is not a number. */
static bool
add_number(cJSON *obj, const char *key, const char *s)
{
	char *end;
	double v;

	if (s[0] == '\0')
		return true;
	v = strtod(s, &end);
	if (*end != '\0')
		return false;
	return cJSON_AddNumberToObject(obj, key, v) != NULL;
}

/* The choices of list into a new array; NULL when the list has none. */
static cJSON *
list_choices(const cJSON *choices, const char *list)
{
	const cJSON *header = cJSON_GetArrayItem(choices, 0), *row;
	int cl = column(header, "list_name", false), cn = column(header, "name", false);
	cJSON *out = cJSON_CreateArray();
	bool any = false;

	if (out == NULL || cl < 0 || cn < 0) {
		cJSON_Delete(out);
		return NULL;
	}
	for (row = header != NULL ? header->next : NULL; row != NULL; row = row->next) {
		if (strcmp(at(row, cl), list) != 0)
			continue;
		cJSON_AddItemToArray(out, cJSON_CreateString(at(row, cn)));
		any = true;
	}
	if (!any) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

static const struct {
	const char *xls, *ours;
} types[] = {
	{ "text", "text" }, { "integer", "integer" }, { "int", "integer" },
	{ "decimal", "decimal" }, { "boolean", "boolean" }, { "date", "date" },
	{ "dateTime", "datetime" }, { "datetime", "datetime" }, { "geopoint", "geopoint" },
	{ "calculate", "text" },
};

/* "begin_repeat", "begin repeat" (XLSForm takes both): what, then "_" or " ", then which. */
static bool
keyword(const char *type, const char *what, const char *which)
{
	size_t n = strlen(what);

	return strncasecmp(type, what, n) == 0 && (type[n] == '_' || type[n] == ' ') &&
	    strcasecmp(type + n + 1, which) == 0;
}

/* One survey row into a field of fields; *skip for a row without data. */
static fs_err
survey_field(const cJSON *header, const cJSON *row, size_t rowno, const cJSON *choices,
    cJSON *fields, char *err, size_t errlen)
{
	const char *type = at(row, column(header, "type", false));
	const char *name = at(row, column(header, "name", false));
	int label = column(header, "label", false);
	const char *req;
	char list[128] = "";
	const char *ours = NULL;
	cJSON *f;
	static const char *const text_cols[][2] = {
		{ "hint", "hint" }, { "relevant", "relevant" }, { "constraint", "constraint" },
		{ "constraint_message", "constraint_message" }, { "calculation", "calculate" },
		{ "pattern", "pattern" }, { "description", "description" },
	};

	if (label < 0)
		label = column(header, "label", true);
	if (strcasecmp(type, "note") == 0)
		return FS_OK;
	if (keyword(type, "begin", "repeat"))
		ours = "repeat";
	else if (strncasecmp(type, "begin", 5) == 0 || strncasecmp(type, "end", 3) == 0)
		return xerr(err, errlen, "survey row %zu: unknown type '%.40s'", rowno, type);
	else if (strncmp(type, "select_one ", 11) == 0 || strncmp(type, "select_multiple ", 16) == 0) {
		const char *l = type + (type[7] == 'o' ? 11 : 16);

		while (*l == ' ')
			l++;
		snprintf(list, sizeof(list), "%s", l);
		ours = type[7] == 'o' ? "select_one" : "select_multiple";
	} else {
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(type, types[i].xls) == 0)
				ours = types[i].ours;
	}
	if (ours == NULL)
		return xerr(err, errlen, "survey row %zu: unknown type '%.40s'", rowno, type);
	if (name[0] == '\0')
		return xerr(err, errlen, "survey row %zu: no name", rowno);
	if ((f = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(fields, f) ||
	    cJSON_AddStringToObject(f, "name", name) == NULL ||
	    cJSON_AddStringToObject(f, "type", ours) == NULL)
		return FS_ERR_NOMEM;
	if (at(row, label)[0] != '\0' && cJSON_AddStringToObject(f, "label", at(row, label)) == NULL)
		return FS_ERR_NOMEM;
	if (list[0] != '\0') {
		cJSON *ch = list_choices(choices, list);

		if (ch == NULL)
			return xerr(err, errlen, "survey row %zu: list '%.60s' has no choices", rowno,
			    list);
		cJSON_AddItemToObject(f, "choices", ch);
	}
	req = at(row, column(header, "required", false));
	if (yes(req))
		cJSON_AddTrueToObject(f, "required");
	else if (!no(req))
		cJSON_AddStringToObject(f, "required_if", req);
	if (yes(at(row, column(header, "sensitive", false))))
		cJSON_AddTrueToObject(f, "sensitive");
	for (size_t i = 0; i < sizeof(text_cols) / sizeof(text_cols[0]); i++) {
		const char *v = at(row, column(header, text_cols[i][0], false));

		if (v[0] != '\0' && cJSON_AddStringToObject(f, text_cols[i][1], v) == NULL)
			return FS_ERR_NOMEM;
	}
	if (strcasecmp(type, "calculate") == 0 && cJSON_GetObjectItem(f, "calculate") == NULL)
		return xerr(err, errlen, "survey row %zu: a calculate row needs a calculation", rowno);
	if (strcmp(ours, "repeat") == 0 &&
	    (cJSON_AddArrayToObject(f, "fields") == NULL ||
		!add_number(f, "max_rows", at(row, column(header, "max_rows", false)))))
		return xerr(err, errlen, "survey row %zu: max_rows must be a number", rowno);
	if (!add_number(f, "min", at(row, column(header, "min", false))) ||
	    !add_number(f, "max", at(row, column(header, "max", false))) ||
	    !add_number(f, "max_length", at(row, column(header, "max_length", false))))
		return xerr(err, errlen, "survey row %zu: min, max and max_length must be numbers",
		    rowno);
	return FS_OK;
}

fs_err
form_from_xlsform(const char *survey, const char *choices, const char *settings, const char *id,
    long long version, const char *title, char **ret_json, char *err, size_t errlen)
{
	cJSON *s = NULL, *c = NULL, *st = NULL, *def = NULL, *fields, *repeat = NULL;
	const cJSON *header, *row;
	struct form *form = NULL;
	size_t rowno = 1;
	fs_err rc = FS_ERR_NOMEM;

	err[0] = '\0';
	if ((s = csv_read(survey, "survey", err, errlen)) == NULL ||
	    (c = csv_read(choices != NULL ? choices : "list_name,name,label\n", "choices", err,
		 errlen)) == NULL ||
	    (settings != NULL && (st = csv_read(settings, "settings", err, errlen)) == NULL)) {
		rc = FS_ERR_FORM;
		goto out;
	}
	if ((header = cJSON_GetArrayItem(s, 0)) == NULL || column(header, "type", false) < 0 ||
	    column(header, "name", false) < 0) {
		rc = xerr(err, errlen, "survey: the first row must name the columns (type, name, ...)");
		goto out;
	}
	if ((def = cJSON_CreateObject()) == NULL)
		goto out;
	if (st != NULL && cJSON_GetArraySize(st) >= 2) {
		const cJSON *h = cJSON_GetArrayItem(st, 0), *v = cJSON_GetArrayItem(st, 1);
		const char *sid = at(v, column(h, "form_id", false)), *sv = at(v, column(h, "version", false));
		const char *stt = at(v, column(h, "form_title", false));
		const char *conflict = at(v, column(h, "conflict", false));
		const char *desc = at(v, column(h, "description", false));

		if (id == NULL && sid[0] != '\0')
			id = sid;
		if (title == NULL && stt[0] != '\0')
			title = stt;
		if (version == 0 && sv[0] != '\0')
			version = strtoll(sv, NULL, 10);
		if (conflict[0] != '\0')
			cJSON_AddStringToObject(def, "conflict", conflict);
		if (desc[0] != '\0')
			cJSON_AddStringToObject(def, "description", desc);
		if (yes(at(v, column(h, "keep_drafts", false))))
			cJSON_AddTrueToObject(def, "keep_drafts");
	}
	if (id == NULL || title == NULL || version < 1) {
		rc = xerr(err, errlen, "settings: form_id, version and form_title are needed (a"
				       " settings sheet, or --id, --version and --title)");
		goto out;
	}
	if (cJSON_AddStringToObject(def, "id", id) == NULL ||
	    cJSON_AddNumberToObject(def, "version", (double)version) == NULL ||
	    cJSON_AddStringToObject(def, "title", title) == NULL ||
	    (fields = cJSON_AddArrayToObject(def, "fields")) == NULL)
		goto out;
	/*
	 * A group is only a heading: its rows are read as if it were not
	 * there.  A repeat's rows are its sub-fields, up to its end_repeat.
	 */
	for (row = header->next; row != NULL; row = row->next) {
		const char *type = at(row, column(header, "type", false));

		rowno++;
		if (keyword(type, "begin", "group") || keyword(type, "end", "group"))
			continue;
		if (keyword(type, "end", "repeat")) {
			if (repeat == NULL) {
				rc = xerr(err, errlen, "survey row %zu: end_repeat without begin_repeat",
				    rowno);
				goto out;
			}
			repeat = NULL;
			continue;
		}
		if (keyword(type, "begin", "repeat") && repeat != NULL) {
			rc = xerr(err, errlen, "survey row %zu: a repeat cannot hold a repeat", rowno);
			goto out;
		}
		if ((rc = survey_field(header, row, rowno, c, repeat != NULL ? repeat : fields, err,
			 errlen)) != FS_OK)
			goto out;
		if (keyword(type, "begin", "repeat"))
			repeat = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(fields,
								      cJSON_GetArraySize(fields) - 1),
			    "fields");
	}
	if (repeat != NULL) {
		rc = xerr(err, errlen, "survey: a begin_repeat has no end_repeat");
		goto out;
	}
	if ((*ret_json = cJSON_PrintUnformatted(def)) == NULL) {
		rc = FS_ERR_NOMEM;
		goto out;
	}
	/* Only a definition fieldsync accepts leaves here. */
	if ((rc = form_load(*ret_json, strlen(*ret_json), &form, err, errlen)) != FS_OK) {
		cJSON_free(*ret_json);
		*ret_json = NULL;
		rc = FS_ERR_FORM;
	}
out:
	if (rc == FS_ERR_NOMEM && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	form_free(form);
	cJSON_Delete(s);
	cJSON_Delete(c);
	cJSON_Delete(st);
	cJSON_Delete(def);
	return rc;
}

/* --- Writing ---------------------------------------------------------- */

struct out {
	char *s;
	size_t len, cap;
	bool nomem;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->nomem)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		char *p;

		while (o->len + n + 1 > cap)
			cap *= 2;
		if ((p = realloc(o->s, cap)) == NULL) {
			o->nomem = true;
			return;
		}
		o->s = p;
		o->cap = cap;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

/* One cell (RFC 4180; expressions and labels as they are, no formula guard). */
static void
cell(struct out *o, const char *s, bool last)
{
	size_t n = strlen(s);
	char *buf = malloc(CSV_CELL_MAX(n) + 1);

	if (buf == NULL) {
		o->nomem = true;
		return;
	}
	put(o, buf, csv_escape_cell(buf, s, n, false));
	free(buf);
	put(o, last ? "\n" : ",", 1);
}

static const char *
str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static const char *
num(const cJSON *obj, const char *key, char buf[32])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	buf[0] = '\0';
	if (cJSON_IsNumber(v))
		snprintf(buf, 32, "%.17g", v->valuedouble);
	return buf;
}

/*
 * The survey rows of fields, and their choice lists.  A repeat is a
 * begin_repeat row, its sub-fields' rows and an end_repeat row; a
 * sub-field's choice list is named "repeat_sub" (list names are one
 * namespace in XLSForm).
 */
static void
write_fields(struct out *sv, struct out *ch, const cJSON *fields, const char *repeat)
{
	const cJSON *f;
	char b1[32], b2[32], b3[32], b4[32];

	cJSON_ArrayForEach(f, fields)
	{
		const char *type = str(f, "type"), *name = str(f, "name");
		const cJSON *choices = cJSON_GetObjectItemCaseSensitive(f, "choices"), *c;
		bool is_repeat = strcmp(type, "repeat") == 0;
		char t[240], list[200];

		if (repeat != NULL)
			snprintf(list, sizeof(list), "%s_%s", repeat, name);
		else
			snprintf(list, sizeof(list), "%s", name);
		if (strcmp(type, "select_one") == 0 || strcmp(type, "select_multiple") == 0)
			snprintf(t, sizeof(t), "%s %s", type, list);
		else if (is_repeat)
			snprintf(t, sizeof(t), "begin_repeat");
		else
			snprintf(t, sizeof(t), "%s", strcmp(type, "datetime") == 0 ? "dateTime" : type);
		cell(sv, t, false);
		cell(sv, name, false);
		cell(sv, str(f, "label"), false);
		cell(sv, str(f, "hint"), false);
		cell(sv, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "required")) ? "yes"
											 : str(f, "required_if"),
		    false);
		cell(sv, str(f, "relevant"), false);
		cell(sv, str(f, "constraint"), false);
		cell(sv, str(f, "constraint_message"), false);
		cell(sv, str(f, "calculate"), false);
		cell(sv, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "sensitive")) ? "yes" : "",
		    false);
		cell(sv, num(f, "min", b1), false);
		cell(sv, num(f, "max", b2), false);
		cell(sv, num(f, "max_length", b3), false);
		cell(sv, str(f, "pattern"), false);
		cell(sv, str(f, "description"), false);
		cell(sv, num(f, "max_rows", b4), true);
		cJSON_ArrayForEach(c, choices)
		{
			cell(ch, list, false);
			cell(ch, c->valuestring, false);
			cell(ch, c->valuestring, true);
		}
		if (is_repeat) {
			write_fields(sv, ch, cJSON_GetObjectItemCaseSensitive(f, "fields"), name);
			cell(sv, "end_repeat", false);
			cell(sv, name, false);
			for (int i = 0; i < 13; i++)
				cell(sv, "", false);
			cell(sv, "", true);
		}
	}
}

fs_err
form_to_xlsform(const char *json, char **ret_survey, char **ret_choices, char **ret_settings,
    char *err, size_t errlen)
{
	static const char *const cols[] = { "type", "name", "label", "hint", "required",
		"relevant", "constraint", "constraint_message", "calculation", "sensitive", "min",
		"max", "max_length", "pattern", "description", "max_rows" };
	struct out sv = { 0 }, ch = { 0 }, se = { 0 };
	struct form *form = NULL;
	cJSON *def = NULL;
	char vbuf[32];
	fs_err rc;

	if ((rc = form_load(json, strlen(json), &form, err, errlen)) != FS_OK)
		return FS_ERR_FORM;
	form_free(form);
	if ((def = cJSON_Parse(json)) == NULL)
		return FS_ERR_NOMEM;
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		cell(&sv, cols[i], i + 1 == sizeof(cols) / sizeof(cols[0]));
	cell(&ch, "list_name", false);
	cell(&ch, "name", false);
	cell(&ch, "label", true);
	write_fields(&sv, &ch, cJSON_GetObjectItemCaseSensitive(def, "fields"), NULL);
	cell(&se, "form_id", false);
	cell(&se, "version", false);
	cell(&se, "form_title", false);
	cell(&se, "conflict", false);
	cell(&se, "description", false);
	cell(&se, "keep_drafts", true);
	cell(&se, str(def, "id"), false);
	cell(&se, num(def, "version", vbuf), false);
	cell(&se, str(def, "title"), false);
	cell(&se, str(def, "conflict"), false);
	cell(&se, str(def, "description"), false);
	cell(&se, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(def, "keep_drafts")) ? "yes" : "",
	    true);
	cJSON_Delete(def);
	if (sv.nomem || ch.nomem || se.nomem) {
		free(sv.s);
		free(ch.s);
		free(se.s);
		snprintf(err, errlen, "out of memory");
		return FS_ERR_NOMEM;
	}
	*ret_survey = sv.s;
	*ret_choices = ch.s;
	*ret_settings = se.s;
	return FS_OK;
}
