/*
 * export.c -- streamed CSV and JSON exports.  See export.h.
 *
 * The export is a small state machine: header, one record per step, footer.
 * Each step formats into an output buffer that export_read() drains; the
 * next step runs only once the buffer is empty, so memory holds one record.
 */
#include "export.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "csv.h"
#include "formset.h"
#include "http.h"
#include "log.h"
#include "review_api.h"
#include "server.h"
#include "store.h"
#include "unlock_hold.h"

#define OBUF_MAX ((size_t)256 * 1024 * 1024) /* one record never needs more */

/* The fixed columns before the fields, in order. */
static const char *const fixed_cols[] = {"id", "form", "form_version", "team", "created_by",
    "created_at", "updated_at", "review_status", "open_conflicts", "deleted", "delete_conflict"};
#define NFIXED (sizeof(fixed_cols) / sizeof(fixed_cols[0]))

struct obuf {
	char *data;
	size_t len, off, cap;
	bool failed;
};

enum export_state { ST_HEADER, ST_ROWS, ST_FOOTER, ST_DONE };

struct export
{
	struct formset *set;
	struct store_export *cur;
	enum export_format format;
	int *col_of; /* set->fields index -> output column, or -1 (left out) */
	char **vals; /* current record's values (JSON text) per output column */
	const struct formset_field **cols;
	size_t ncols;
	enum export_state state;
	int64_t count;
	bool include_sensitive;
	export_opener open; /* opens sealed values (issue 17); NULL: left sealed */
	void *open_arg;
	struct unlock_hold *hold; /* an API export: the reviewer's unlocked keys */
	char open_who[128];
	int64_t opened, still_sealed;
	struct obuf out;
};

/* Reserves n more bytes; returns where to write them or NULL. */
static char *
ob_reserve(struct obuf *ob, size_t n)
{
	size_t cap;
	char *p;

	if (ob->failed)
		return NULL;
	if (ob->len + n > ob->cap) {
		if (ob->len + n > OBUF_MAX) {
			ob->failed = true;
			return NULL;
		}
		cap = ob->cap ? ob->cap : 16384;
		while (cap < ob->len + n)
			cap *= 2;
		if ((p = realloc(ob->data, cap)) == NULL) {
			ob->failed = true;
			return NULL;
		}
		ob->data = p;
		ob->cap = cap;
	}
	return ob->data + ob->len;
}

static void
ob_add(struct obuf *ob, const char *s, size_t n)
{
	char *p = ob_reserve(ob, n);

	if (p != NULL) {
		memcpy(p, s, n);
		ob->len += n;
	}
}

static void
ob_str(struct obuf *ob, const char *s)
{
	ob_add(ob, s, strlen(s));
}

static void
csv_cell(struct obuf *ob, const char *s, size_t len, bool text)
{
	char *p = ob_reserve(ob, CSV_CELL_MAX(len));

	if (p != NULL)
		ob->len += csv_escape_cell(p, s, len, text);
}

/* Appends item as plain text: strings as they are, numbers as JSON. */
static void
plain_text(struct obuf *t, const cJSON *item)
{
	char *s;

	if (cJSON_IsString(item)) {
		ob_str(t, item->valuestring);
	} else if (!cJSON_IsNull(item) && (s = cJSON_PrintUnformatted(item)) != NULL) {
		ob_str(t, s);
		cJSON_free(s);
	}
}

/* One CSV cell for a stored value (JSON text, NULL for null). */
static void
csv_value(struct obuf *ob, const char *json)
{
	struct obuf t = {0};
	const cJSON *item;
	cJSON *v;

	if (json == NULL || strcmp(json, "null") == 0)
		return;
	if (json[0] != '"' && json[0] != '[' && json[0] != '{') {
		csv_cell(ob, json, strlen(json), false); /* a number or a boolean */
		return;
	}
	if ((v = cJSON_ParseWithLengthOpts(json, strlen(json) + 1, NULL, 1)) == NULL)
		return;
	if (cJSON_IsArray(v)) {
		/* select_multiple: the choices, separated by ';'. */
		cJSON_ArrayForEach(item, v)
		{
			if (item != v->child)
				ob_add(&t, ";", 1);
			plain_text(&t, item);
		}
	} else if (cJSON_IsObject(v)) {
		/* geopoint: lat,lon[,alt[,acc]] as typed on a device. */
		static const char *const keys[] = {"lat", "lon", "alt", "acc"};
		for (size_t i = 0; i < 4; i++) {
			item = cJSON_GetObjectItemCaseSensitive(v, keys[i]);
			if (item == NULL)
				break;
			if (i > 0)
				ob_add(&t, ",", 1);
			plain_text(&t, item);
		}
	} else {
		plain_text(&t, v);
	}
	cJSON_Delete(v);
	if (t.failed)
		ob->failed = true;
	else
		csv_cell(ob, t.data ? t.data : "", t.len, true);
	free(t.data);
}

/* Appends s as a JSON string. */
static void
json_string(struct obuf *ob, const char *s)
{
	char esc[8];

	ob_add(ob, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			ob_add(ob, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			ob_add(ob, esc, 6);
		} else {
			ob_add(ob, s, 1);
		}
	}
	ob_add(ob, "\"", 1);
}

static void
emit_header(struct export *x)
{
	char now[32];
	time_t t = time(NULL);
	struct tm tm;

	if (x->format == EXPORT_CSV) {
		for (size_t i = 0; i < NFIXED; i++) {
			if (i > 0)
				ob_add(&x->out, ",", 1);
			ob_str(&x->out, fixed_cols[i]);
		}
		for (size_t i = 0; i < x->ncols; i++) {
			ob_add(&x->out, ",", 1);
			csv_cell(&x->out, x->cols[i]->name, strlen(x->cols[i]->name), true);
		}
		ob_add(&x->out, "\r\n", 2);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ob_str(&x->out, "{\"form\":");
	json_string(&x->out, x->set->id);
	ob_str(&x->out, ",\"exported_at\":");
	json_string(&x->out, now);
	ob_str(&x->out,
	    x->include_sensitive ? ",\"sensitive\":\"included\"" : ",\"sensitive\":\"omitted\"");
	ob_str(&x->out, ",\"columns\":[");
	for (size_t i = 0; i < x->ncols; i++) {
		if (i > 0)
			ob_add(&x->out, ",", 1);
		json_string(&x->out, x->cols[i]->name);
	}
	ob_str(&x->out, "],\"records\":[");
}

/*
 * A sealed value opened with the export's keys, as JSON text; an envelope
 * no key opens stays as it is (counted).  The opened text is not wiped
 * after use: the export holds the value in its output anyway.
 */
static int
open_value(struct export *x, const char *stored, char **ret)
{
	cJSON *wrap = cJSON_CreateArray(), *v = cJSON_Parse(stored);
	int opened = 0, closed = 0;

	if (wrap == NULL || v == NULL) {
		cJSON_Delete(wrap);
		cJSON_Delete(v);
		return (*ret = strdup(stored)) == NULL ? 1 : 0;
	}
	cJSON_AddItemToArray(wrap, v);
	if (x->open(x->open_arg, wrap, &opened, &closed) != FS_OK) {
		cJSON_Delete(wrap);
		return 1;
	}
	x->opened += opened;
	x->still_sealed += closed;
	*ret = cJSON_PrintUnformatted(wrap->child);
	cJSON_Delete(wrap);
	return *ret == NULL ? 1 : 0;
}

/*
 * A value of a repeat's row ("repeat/row/sub", common/form_repeat.c): the
 * repeat's column holds the rows as a JSON array of objects, {"row": id,
 * sub: value, ...}, in the order their values come.  Sensitive sub-fields
 * are left out like sensitive fields.
 */
static int
take_row_value(struct export *x, const struct review_value *v)
{
	const struct formset_field *col;
	const struct form_field *sub;
	struct form_key k;
	cJSON *rows, *row = NULL, *val;
	char *text = NULL;
	int i;

	if (!form_key_split(v->field, &k) || (col = formset_field(x->set, k.repeat)) == NULL ||
	    col->type != FORM_REPEAT || (i = x->col_of[col - x->set->fields]) < 0 ||
	    (sub = formset_key_field(x->set, v->field)) == NULL || (sub->sensitive && !x->include_sensitive))
		return 0;
	if (sub->sensitive && x->open != NULL && strstr(v->value, "\"sealed\"") != NULL &&
	    open_value(x, v->value, &text) != 0)
		return 1;
	val = cJSON_Parse(text != NULL ? text : v->value);
	free(text);
	if (cJSON_IsNull(val)) {
		cJSON_Delete(val);
		return 0; /* a cleared answer, or a removed row */
	}
	rows = x->vals[i] != NULL ? cJSON_Parse(x->vals[i]) : cJSON_CreateArray();
	cJSON_ArrayForEach(row, rows)
	if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "row")), k.row) == 0)
		break;
	if (row == NULL && rows != NULL && (row = cJSON_CreateObject()) != NULL) {
		cJSON_AddItemToArray(rows, row);
		cJSON_AddStringToObject(row, "row", k.row);
	}
	if (val == NULL || row == NULL || !cJSON_AddItemToObject(row, k.sub, val)) {
		cJSON_Delete(val);
		cJSON_Delete(rows);
		return 1;
	}
	free(x->vals[i]);
	x->vals[i] = cJSON_PrintUnformatted(rows);
	cJSON_Delete(rows);
	return x->vals[i] == NULL ? 1 : 0;
}

static int
take_value(void *arg, const struct review_value *v)
{
	struct export *x = arg;
	const struct formset_field *col = formset_field(x->set, v->field);
	int i;

	if (col == NULL && v->value != NULL && strchr(v->field, '/') != NULL)
		return take_row_value(x, v);

	if (col == NULL || (i = x->col_of[col - x->set->fields]) < 0 || v->value == NULL)
		return 0;
	free(x->vals[i]);
	x->vals[i] = NULL;
	if (col->sensitive && x->open != NULL && strstr(v->value, "\"sealed\"") != NULL)
		return open_value(x, v->value, &x->vals[i]);
	return (x->vals[i] = strdup(v->value)) == NULL ? 1 : 0;
}

static void
emit_row(struct export *x, const struct review_record *r)
{
	char num[32];
	struct obuf *ob = &x->out;

	if (x->format == EXPORT_CSV) {
		const char *text[] = {r->id, r->form, NULL, r->team, r->created_by, r->created_at,
		    r->updated_at, r->review_status};
		for (size_t i = 0; i < 8; i++) {
			if (i > 0)
				ob_add(ob, ",", 1);
			if (i == 2) {
				snprintf(num, sizeof(num), "%lld", (long long)r->form_version);
				ob_str(ob, num);
			} else {
				csv_cell(ob, text[i], strlen(text[i]), true);
			}
		}
		snprintf(num, sizeof(num), ",%d,%s,%s", r->open_conflicts,
		    r->deleted ? "true" : "false", r->delete_conflict ? "true" : "false");
		ob_str(ob, num);
		for (size_t i = 0; i < x->ncols; i++) {
			ob_add(ob, ",", 1);
			csv_value(ob, x->vals[i]);
		}
		ob_add(ob, "\r\n", 2);
		return;
	}
	ob_str(ob, x->count > 0 ? ",\n{\"id\":" : "\n{\"id\":");
	json_string(ob, r->id);
	ob_str(ob, ",\"form\":");
	json_string(ob, r->form);
	snprintf(num, sizeof(num), ",\"form_version\":%lld", (long long)r->form_version);
	ob_str(ob, num);
	ob_str(ob, ",\"team\":");
	json_string(ob, r->team);
	ob_str(ob, ",\"created_by\":");
	json_string(ob, r->created_by);
	ob_str(ob, ",\"created_at\":");
	json_string(ob, r->created_at);
	ob_str(ob, ",\"updated_at\":");
	json_string(ob, r->updated_at);
	ob_str(ob, ",\"review_status\":");
	json_string(ob, r->review_status);
	snprintf(num, sizeof(num), ",\"open_conflicts\":%d", r->open_conflicts);
	ob_str(ob, num);
	ob_str(ob, r->deleted ? ",\"deleted\":true" : ",\"deleted\":false");
	ob_str(ob, r->delete_conflict ? ",\"delete_conflict\":true" : ",\"delete_conflict\":false");
	ob_str(ob, ",\"fields\":{");
	for (size_t i = 0; i < x->ncols; i++) {
		if (i > 0)
			ob_add(ob, ",", 1);
		json_string(ob, x->cols[i]->name);
		ob_add(ob, ":", 1);
		/* Stored values are canonical JSON text already. */
		ob_str(ob, x->vals[i] != NULL ? x->vals[i] : "null");
	}
	ob_str(ob, "}}");
}

/* Produces the next piece into x->out.  Returns -1 if the store failed. */
static int
step(struct export *x)
{
	struct review_record r;
	char tail[64];
	bool done;

	switch (x->state) {
	case ST_HEADER:
		emit_header(x);
		x->state = ST_ROWS;
		break;
	case ST_ROWS:
		if (store_export_next(x->cur, &r, &done) != FS_OK)
			return -1;
		if (done) {
			x->state = ST_FOOTER;
			break;
		}
		for (size_t i = 0; i < x->ncols; i++) {
			free(x->vals[i]);
			x->vals[i] = NULL;
		}
		if (store_export_fields(x->cur, r.id, take_value, x) != FS_OK)
			return -1;
		emit_row(x, &r);
		x->count++;
		break;
	case ST_FOOTER:
		if (x->format == EXPORT_JSON) {
			snprintf(tail, sizeof(tail), "\n],\"count\":%lld}\n", (long long)x->count);
			ob_str(&x->out, tail);
		}
		x->state = ST_DONE;
		break;
	case ST_DONE:
		break;
	}
	return x->out.failed ? -1 : 0;
}

ssize_t
export_read(struct export *x, char *buf, size_t max)
{
	size_t n;

	while (x->out.off == x->out.len) {
		x->out.off = x->out.len = 0;
		if (x->state == ST_DONE)
			return 0;
		if (step(x) != 0)
			return -1;
	}
	n = x->out.len - x->out.off;
	if (n > max)
		n = max;
	memcpy(buf, x->out.data + x->out.off, n);
	x->out.off += n;
	return (ssize_t)n;
}

void
export_set_opener(struct export *x, export_opener open, void *arg)
{
	x->open = open;
	x->open_arg = arg;
}

/* An API export opens with the reviewer's keys while they stay unlocked. */
static fs_err
open_with_hold(void *arg, cJSON *tree, int *ret_opened, int *ret_closed)
{
	struct export *x = arg;
	fs_err err = unlock_hold_open(x->hold, x->open_who, tree, ret_opened, ret_closed);

	/* Locked (or expired) meanwhile: the rest of the export stays sealed. */
	if (err == FS_ERR_KEY) {
		*ret_opened = 0;
		*ret_closed = 1;
		return FS_OK;
	}
	return err;
}

void
export_sealed_counts(const struct export *x, int64_t *ret_opened, int64_t *ret_still)
{
	*ret_opened = x->opened;
	*ret_still = x->still_sealed;
}

int64_t
export_count(const struct export *x)
{
	return x->count;
}

fs_err
export_open(struct store *store, const struct review_filter *f, enum export_format format,
    bool include_sensitive, struct export **ret_x)
{
	struct export *x;
	fs_err err;

	if (f->form == NULL)
		return FS_ERR_INVALID;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return FS_ERR_NOMEM;
	x->format = format;
	x->include_sensitive = include_sensitive;
	if ((err = formset_load(store, f->form, &x->set)) != FS_OK)
		goto fail;
	x->col_of = calloc(x->set->nfields, sizeof(*x->col_of));
	x->vals = calloc(x->set->nfields, sizeof(*x->vals));
	x->cols = calloc(x->set->nfields, sizeof(*x->cols));
	if (x->col_of == NULL || x->vals == NULL || x->cols == NULL) {
		err = FS_ERR_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < x->set->nfields; i++) {
		if (x->set->fields[i].sensitive && !include_sensitive) {
			x->col_of[i] = -1;
			continue;
		}
		x->col_of[i] = (int)x->ncols;
		x->cols[x->ncols++] = &x->set->fields[i];
	}
	if ((err = store_export_open(store, f, &x->cur)) != FS_OK)
		goto fail;
	*ret_x = x;
	return FS_OK;
fail:
	export_free(x);
	return err;
}

void
export_free(struct export *x)
{
	if (x == NULL)
		return;
	store_export_close(x->cur);
	for (size_t i = 0; x->vals != NULL && i < x->ncols; i++)
		free(x->vals[i]);
	free(x->vals);
	free(x->cols);
	free(x->col_of);
	formset_free(x->set);
	free(x->out.data);
	free(x);
}

/* --- the audit entry ------------------------------------------------- */

static void
detail_add(char *buf, size_t len, size_t *pos, const char *key, const char *value)
{
	int n;

	if (value == NULL || *pos >= len)
		return;
	n = snprintf(buf + *pos, len - *pos, " %s=%.64s", key, value);
	if (n > 0)
		*pos += (size_t)n < len - *pos ? (size_t)n : len - *pos - 1;
}

fs_err
export_audit_detail(struct store *store, const struct review_filter *f, const char *format,
    bool include_sensitive, const char *extra, char *buf, size_t len)
{
	static const char *const tri[] = { "any", "no", "yes" };
	int64_t rows = 0;
	char num[32], flags[160] = "";
	size_t pos = 0, fp = 0;
	fs_err err;

	if ((err = store_review_list(store, f, 0, 0, NULL, NULL, &rows)) != FS_OK)
		return err;
	snprintf(buf, len, "form=%.64s format=%s sensitive=%s", f->form, format,
	    include_sensitive ? "included" : "omitted");
	pos = strlen(buf);
	snprintf(num, sizeof(num), "%lld", (long long)rows);
	detail_add(buf, len, &pos, "rows", num);
	detail_add(buf, len, &pos, "team", f->team);
	detail_add(buf, len, &pos, "sees", f->scope);
	detail_add(buf, len, &pos, "device", f->device);
	detail_add(buf, len, &pos, "status", f->status);
	detail_add(buf, len, &pos, f->by_created ? "created_from" : "updated_from", f->from);
	detail_add(buf, len, &pos, f->by_created ? "created_to" : "updated_to", f->to);
	if (f->conflicts >= -1 && f->conflicts <= 1 && f->conflicts != -1)
		detail_add(buf, len, &pos, "conflicts", tri[f->conflicts + 1]);
	if (f->deleted == 0 || f->deleted == 1)
		detail_add(buf, len, &pos, "deleted", f->deleted ? "all" : "none");
	for (size_t i = 0; i < f->nflags && fp < sizeof(flags); i++) {
		int n = snprintf(flags + fp, sizeof(flags) - fp, "%s%.64s", i ? "," : "",
		    f->flags[i]);
		fp += n > 0 ? (size_t)n : 0;
	}
	if (fp > 0)
		detail_add(buf, len, &pos, "flags", flags);
	if (extra != NULL && pos < len)
		snprintf(buf + pos, len - pos, " %s", extra);
	return FS_OK;
}

/* --- HTTP ------------------------------------------------------------ */

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	ssize_t n = export_read(cls, buf, max);

	(void)pos;
	if (n < 0) {
		log_warnx("Export failed after %lld records; the download is cut short",
		    (long long)export_count(cls));
		return HTTP_STREAM_ERROR;
	}
	return n == 0 ? HTTP_STREAM_END : n;
}

static void
stream_free(void *cls)
{
	struct export *x = cls;

	log_info("export of form %s done: %lld records", x->set->id, (long long)x->count);
	export_free(x);
}

int
export_handle(struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	struct review_query q;
	struct export *x;
	char detail[512], stamp[32];
	enum export_format format;
	bool unlocked;
	time_t t = time(NULL);
	struct tm tm;
	fs_err err;

	if (!review_query_parse(ctx->store, req, true, &q, resp))
		return 0;
	if (q.f.form == NULL)
		return http_error(resp, 400, "bad_request", "'form' is required");
	format = strcmp(q.format, "json") == 0 ? EXPORT_JSON : EXPORT_CSV;
	if ((err = export_open(ctx->store, &q.f, format, q.include_sensitive, &x)) != FS_OK)
		return http_error_fs(resp, err,
		    err == FS_ERR_NOTFOUND ? "the form is not published"
		                           : "could not start the export");
	/*
	 * Sealed values (issue 17) are opened only while this reviewer's keys
	 * are unlocked; otherwise their envelopes are exported.
	 */
	unlocked = q.include_sensitive && unlock_hold_left(ctx->unlock, req->who->name) > 0;
	if (unlocked) {
		x->hold = ctx->unlock;
		snprintf(x->open_who, sizeof(x->open_who), "%s", req->who->name);
		export_set_opener(x, open_with_hold, x);
	}
	if ((err = export_audit_detail(ctx->store, &q.f, q.format, q.include_sensitive,
		 unlocked ? "unlocked=yes" : NULL, detail, sizeof(detail))) != FS_OK ||
	    (err = store_audit(ctx->store, req->who->name, "review.export", NULL, detail)) !=
		FS_OK) {
		export_free(x);
		return http_error_fs(
		    resp, err, "could not write the audit entry; nothing exported");
	}
	log_info("review %s: %s exports form %s as %s", req->request_id, req->who->name, q.f.form,
	    q.format);
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(resp->attachment, sizeof(resp->attachment), "%s-%s.%s", q.f.form, stamp, q.format);
	resp->status = 200;
	resp->content_type =
	    format == EXPORT_CSV ? "text/csv; charset=utf-8" : "application/json; charset=utf-8";
	resp->stream_read = stream_read;
	resp->stream_free = stream_free;
	resp->stream_cls = x;
	return 0;
}
