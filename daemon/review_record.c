/*
 * review_record.c -- GET /v1/review/records/ID (one record with its values,
 * open conflicts, history and review events) and POST .../reveal (its
 * sensitive values, audited).  See review_api.h.
 *
 * Both walk the same data through one collector.  In the record view a
 * sensitive value is written as null with "masked": true; reveal returns
 * only the sensitive values, after the audit entry is written (if the
 * audit cannot be written, nothing is revealed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "change.h"
#include "custody.h"
#include "form.h"
#include "formset.h"
#include "hq_key.h"
#include "http.h"
#include "log.h"
#include "review_api.h"
#include "referral.h"
#include "server.h"
#include "store.h"
#include "store_records.h"
#include "unlock_hold.h"

struct record_view {
	struct server_ctx *ctx;
	const struct formset *set; /* NULL when the form is not published */
	bool reveal;               /* collect only sensitive values, unmasked */
	cJSON *record;             /* the records row */
	cJSON *values;             /* name -> {value, stamp, device...} */
	cJSON *conflicts;          /* name -> [candidate, ...] */
	cJSON *delete_conflict;    /* {"deletes": [...], "edits": [...]} or NULL */
	cJSON *history;
	cJSON *events;
	cJSON *revealed; /* names of the sensitive fields seen (reveal) */
	cJSON *keys;     /* device id -> its registered keys, read once per view */
	/*
	 * A reader who sees the record through a referral to its agency (not
	 * through its team) reads its history from the referral on: since.
	 */
	bool sees_team;
	char mine[AUTH_NAME_MAX + 1]; /* the reader's agency */
	char since[32];               /* "" for the whole history */
};

/*
 * Whether a change's signature holds (issue 16): "valid" under one of its
 * device's registered keys, "invalid", or "unsigned" (from before
 * signatures).  The review page shows it beside each change, and in the
 * printed case file.
 */
static const char *
signature_status(struct record_view *rv, const char *body, const char *device_id)
{
	unsigned char link[CUSTODY_LINK_LEN];
	const cJSON *k;
	char msg[64], name[65], *keys = NULL;
	struct change ch;
	const char *res = "invalid";
	cJSON *obj;

	if ((obj = cJSON_Parse(body)) == NULL || change_parse(obj, &ch, msg, sizeof(msg)) != FS_OK) {
		cJSON_Delete(obj);
		return "invalid";
	}
	if (ch.prev == NULL && ch.sig == NULL) {
		cJSON_Delete(obj);
		return "unsigned";
	}
	if ((k = cJSON_GetObjectItemCaseSensitive(rv->keys, device_id)) == NULL &&
	    store_device_info(rv->ctx->store, device_id, name, &keys) == FS_OK && keys != NULL) {
		k = cJSON_AddStringToObject(rv->keys, device_id, keys);
		free(keys);
	}
	if (cJSON_IsString(k) && ch.sig != NULL && custody_link(&ch, link) == FS_OK &&
	    custody_verify_any(link, ch.sig, k->valuestring))
		res = "valid";
	cJSON_Delete(obj);
	return res;
}

static bool
sensitive(const struct record_view *rv, const char *field)
{
	const struct formset_field *col;

	/* A field the form does not know is masked too: fail closed. */
	if (rv->set != NULL && strchr(field, '/') != NULL) {
		const struct form_field *sub = formset_key_field(rv->set, field);

		return sub == NULL || sub->sensitive;
	}
	if (rv->set == NULL || (col = formset_field(rv->set, field)) == NULL)
		return true;
	return col->sensitive;
}

/* Adds "value" (masked when sensitive) to obj. */
static void
add_value(const struct record_view *rv, cJSON *obj, const char *field, const char *text)
{
	if (sensitive(rv, field) && !rv->reveal) {
		cJSON_AddNullToObject(obj, "value");
		cJSON_AddTrueToObject(obj, "masked");
		return;
	}
	cJSON_AddItemToObject(obj, "value", review_value_json(text));
}

static void
note_revealed(struct record_view *rv, const char *field)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, rv->revealed)
	{
		if (strcmp(item->valuestring, field) == 0)
			return;
	}
	cJSON_AddItemToArray(rv->revealed, cJSON_CreateString(field));
}

static int
got_record(void *arg, const struct review_record *r)
{
	struct record_view *rv = arg;
	cJSON *o = rv->record;

	cJSON_AddStringToObject(o, "id", r->id);
	cJSON_AddStringToObject(o, "form", r->form);
	cJSON_AddNumberToObject(o, "form_version", (double)r->form_version);
	cJSON_AddStringToObject(o, "team", r->team);
	cJSON_AddStringToObject(o, "created_by", r->created_by);
	cJSON_AddStringToObject(o, "created_at", r->created_at);
	cJSON_AddStringToObject(o, "updated_at", r->updated_at);
	cJSON_AddStringToObject(o, "review_status", r->review_status);
	cJSON_AddItemToObject(o, "assigned_to",
	    r->assigned_to != NULL ? cJSON_CreateString(r->assigned_to) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "open_conflicts", r->open_conflicts);
	cJSON_AddBoolToObject(o, "deleted", r->deleted);
	cJSON_AddBoolToObject(o, "delete_conflict", r->delete_conflict);
	return 0;
}

static void
add_author(cJSON *obj, const struct review_value *v)
{
	cJSON_AddStringToObject(obj, "stamp", v->stamp);
	cJSON_AddStringToObject(obj, "device", v->device_name);
	cJSON_AddStringToObject(obj, "device_id", v->device_id);
}

static int
got_value(void *arg, const struct review_value *v)
{
	struct record_view *rv = arg;
	cJSON *obj;

	if (rv->reveal) {
		if (sensitive(rv, v->field)) {
			cJSON_AddItemToObject(rv->values, v->field, review_value_json(v->value));
			note_revealed(rv, v->field);
		}
		return 0;
	}
	if ((obj = cJSON_AddObjectToObject(rv->values, v->field)) == NULL)
		return 1;
	add_value(rv, obj, v->field, v->value);
	add_author(obj, v);
	return 0;
}

static int
got_conflict(void *arg, const struct review_value *v)
{
	struct record_view *rv = arg;
	cJSON *list, *obj;

	if (rv->reveal && !sensitive(rv, v->field))
		return 0;
	if ((list = cJSON_GetObjectItemCaseSensitive(rv->conflicts, v->field)) == NULL &&
	    (list = cJSON_AddArrayToObject(rv->conflicts, v->field)) == NULL)
		return 1;
	obj = cJSON_CreateObject();
	cJSON_AddItemToArray(list, obj);
	if (rv->reveal) {
		cJSON_AddStringToObject(obj, "stamp", v->stamp);
		cJSON_AddItemToObject(obj, "value", review_value_json(v->value));
		note_revealed(rv, v->field);
		return 0;
	}
	add_value(rv, obj, v->field, v->value);
	add_author(obj, v);
	cJSON_AddStringToObject(obj, "since", v->created_at);
	return 0;
}

/* One side of merge rule 2's record-level conflict (store_review_delete_conflict()). */
static int
got_delete_side(void *arg, const struct review_value *v)
{
	struct record_view *rv = arg;
	bool is_delete = strcmp(v->field, "@delete") == 0;
	const char *key = is_delete ? "deletes" : "edits";
	cJSON *list, *obj;

	if (rv->reveal)
		return 0;
	if (rv->delete_conflict == NULL &&
	    (rv->delete_conflict = cJSON_CreateObject()) == NULL)
		return 1;
	if ((list = cJSON_GetObjectItemCaseSensitive(rv->delete_conflict, key)) == NULL &&
	    (list = cJSON_AddArrayToObject(rv->delete_conflict, key)) == NULL)
		return 1;
	if ((obj = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(list, obj))
		return 1;
	if (!is_delete) {
		cJSON_AddStringToObject(obj, "field", v->field);
		add_value(rv, obj, v->field, v->value);
	}
	cJSON_AddStringToObject(obj, "device_name", v->device_name);
	add_author(obj, v);
	return 0;
}

static int
got_change(void *arg, const struct review_change *c)
{
	struct record_view *rv = arg;
	cJSON *body, *out, *fields, *masked, *f;
	const cJSON *op, *src, *base;

	if (rv->since[0] != '\0' && strcmp(c->received_at, rv->since) < 0)
		return 0;
	body = cJSON_ParseWithLengthOpts(c->body, strlen(c->body) + 1, NULL, 1);
	if (body == NULL)
		return 0; /* the log is checked on the way in; skip what cannot be read */
	op = cJSON_GetObjectItemCaseSensitive(body, "op");
	src = cJSON_GetObjectItemCaseSensitive(body, "fields");
	base = cJSON_GetObjectItemCaseSensitive(body, "base");
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "seq", (double)c->seq);
	fields = cJSON_CreateObject();
	masked = cJSON_CreateArray();
	cJSON_ArrayForEach(f, src)
	{
		if (!sensitive(rv, f->string)) {
			if (!rv->reveal)
				cJSON_AddItemReferenceToObject(fields, f->string, f);
			continue;
		}
		if (rv->reveal) {
			cJSON_AddItemReferenceToObject(fields, f->string, f);
			note_revealed(rv, f->string);
		} else {
			cJSON_AddNullToObject(fields, f->string);
			cJSON_AddItemToArray(masked, cJSON_CreateString(f->string));
		}
	}
	if (rv->reveal) {
		cJSON_Delete(masked);
		if (fields->child == NULL) {
			cJSON_Delete(fields);
			cJSON_Delete(out);
			cJSON_Delete(body);
			return 0;
		}
		cJSON_AddItemToObject(out, "fields", cJSON_Duplicate(fields, 1));
		cJSON_Delete(fields);
		cJSON_AddItemToArray(rv->history, out);
		cJSON_Delete(body);
		return 0;
	}
	cJSON_AddStringToObject(out, "hlc", c->hlc);
	cJSON_AddStringToObject(out, "device", c->device_name);
	cJSON_AddStringToObject(out, "device_id", c->device_id);
	cJSON_AddStringToObject(out, "received_at", c->received_at);
	cJSON_AddStringToObject(out, "op", cJSON_IsString(op) ? op->valuestring : "?");
	cJSON_AddStringToObject(out, "signature", signature_status(rv, c->body, c->device_id));
	cJSON_AddItemToObject(out, "fields", cJSON_Duplicate(fields, 1));
	cJSON_AddItemToObject(out, "masked", masked);
	if (cJSON_IsObject(base))
		cJSON_AddItemToObject(out, "base", cJSON_Duplicate(base, 1));
	cJSON_Delete(fields);
	cJSON_AddItemToArray(rv->history, out);
	cJSON_Delete(body);
	return 0;
}

static int
got_event(void *arg, const struct review_event *e)
{
	struct record_view *rv = arg;
	cJSON *o;

	if (rv->since[0] != '\0' && strcmp(e->at, rv->since) < 0)
		return 0;
	o = cJSON_CreateObject();
	cJSON_AddItemToArray(rv->events, o);
	cJSON_AddStringToObject(o, "kind", e->kind);
	if (e->status[0] != '\0')
		cJSON_AddStringToObject(o, "status", e->status);
	if (e->field[0] != '\0') {
		cJSON_AddStringToObject(o, "field", e->field);
		cJSON_AddStringToObject(o, "stamp", e->stamp);
	}
	cJSON_AddStringToObject(o, "note", e->note);
	cJSON_AddStringToObject(o, "actor", e->actor);
	cJSON_AddStringToObject(o, "at", e->at);
	return 0;
}

/* Reads everything of record id into rv.  FS_ERR_NOTFOUND if none. */
static fs_err
collect(struct record_view *rv, const char *id)
{
	struct store *store = rv->ctx->store;
	fs_err err;

	if ((err = store_review_get(store, id, got_record, rv)) != FS_OK)
		return err;
	if ((err = store_review_fields(store, id, got_value, rv)) != FS_OK ||
	    (err = store_review_conflicts(store, id, got_conflict, rv)) != FS_OK ||
	    (err = store_review_delete_conflict(store, id, got_delete_side, rv)) != FS_OK ||
	    (err = store_review_history(store, id, got_change, rv)) != FS_OK)
		return err;
	if (!rv->reveal)
		err = store_review_events(store, id, got_event, rv);
	return err;
}

/* One entry of the "fields" array: a column of the form with its value. */
static void
add_field(struct record_view *rv, cJSON *arr, const char *name, const char *label,
    enum form_type type, bool is_sensitive)
{
	cJSON *o = cJSON_CreateObject(), *cur = cJSON_GetObjectItemCaseSensitive(rv->values, name);
	cJSON *item;

	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "label", label != NULL ? label : name);
	cJSON_AddStringToObject(o, "type", form_type_name(type));
	cJSON_AddBoolToObject(o, "sensitive", is_sensitive);
	if (cur != NULL) {
		cJSON_ArrayForEach(item, cur) cJSON_AddItemReferenceToObject(o, item->string, item);
	} else {
		cJSON_AddNullToObject(o, "value");
	}
	cJSON_AddItemToArray(arr, o);
}

/* The values of a repeat's rows, one entry per key, labelled "Repeat, row N: sub-field". */
struct rows_view {
	struct record_view *rv;
	cJSON *arr;
	const struct form_field *f;
	int n;
};

static int
add_row(void *arg, const char *row)
{
	struct rows_view *x = arg;
	const struct form *rows = x->f->rows;
	char key[FORM_KEY_MAX + 1], label[512];

	x->n++;
	for (size_t j = 0; j < rows->nfields; j++) {
		const struct form_field *sub = &rows->fields[j];

		snprintf(key, sizeof(key), "%s/%s/%s", x->f->name, row, sub->name);
		if (cJSON_GetObjectItemCaseSensitive(x->rv->values, key) == NULL)
			continue;
		snprintf(label, sizeof(label), "%s, row %d: %s",
		    x->f->label != NULL ? x->f->label : x->f->name, x->n,
		    sub->label != NULL ? sub->label : sub->name);
		add_field(x->rv, x->arr, key, label, sub->type, sensitive(x->rv, key));
	}
	return 0;
}

/* The "fields" array: the record's form version in order, then the rest. */
static cJSON *
fields_array(struct record_view *rv, int64_t version)
{
	const struct form *form = rv->set ? formset_version(rv->set, version) : NULL;
	cJSON *arr = cJSON_CreateArray(), *v;

	if (form == NULL && rv->set != NULL)
		form = formset_latest(rv->set);
	for (size_t i = 0; form != NULL && i < form->nfields; i++) {
		const struct form_field *ff = &form->fields[i];
		struct rows_view x = { rv, arr, ff, 0 };

		add_field(rv, arr, ff->name, ff->label, ff->type, sensitive(rv, ff->name));
		if (ff->type == FORM_REPEAT)
			form_rows_each(ff, rv->values, add_row, &x);
	}
	cJSON_ArrayForEach(v, rv->values)
	{
		const struct formset_field *col;
		if (form != NULL && form_field_find(form, v->string) != NULL)
			continue;
		col = rv->set ? formset_field(rv->set, v->string) : NULL;
		add_field(rv, arr, v->string, col ? col->label : NULL, col ? col->type : FORM_TEXT,
		    sensitive(rv, v->string));
	}
	return arr;
}

/* The "conflicts" array: per field, the current value and the losing heads. */
static cJSON *
conflicts_array(struct record_view *rv)
{
	cJSON *arr = cJSON_CreateArray(), *list, *o, *cur;
	const struct formset_field *col;

	cJSON_ArrayForEach(list, rv->conflicts)
	{
		o = cJSON_CreateObject();
		col = rv->set ? formset_field(rv->set, list->string) : NULL;
		cJSON_AddStringToObject(o, "field", list->string);
		cJSON_AddStringToObject(o, "label", col && col->label ? col->label : list->string);
		cJSON_AddBoolToObject(o, "sensitive", sensitive(rv, list->string));
		cur = cJSON_GetObjectItemCaseSensitive(rv->values, list->string);
		if (cur != NULL)
			cJSON_AddItemReferenceToObject(o, "current", cur);
		cJSON_AddItemReferenceToObject(o, "candidates", list);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static void
view_finish(struct record_view *rv)
{
	cJSON_Delete(rv->record);
	cJSON_Delete(rv->values);
	cJSON_Delete(rv->conflicts);
	cJSON_Delete(rv->delete_conflict);
	cJSON_Delete(rv->history);
	cJSON_Delete(rv->events);
	cJSON_Delete(rv->revealed);
	cJSON_Delete(rv->keys);
}

/* Starts a view of req's record; answers 404/5xx itself and returns false. */
static bool
view_start(struct record_view *rv, struct server_ctx *ctx, const struct http_request *req,
    bool reveal, struct formset **ret_set, struct http_response *resp)
{
	const cJSON *form;
	fs_err err;

	memset(rv, 0, sizeof(*rv));
	*ret_set = NULL;
	rv->ctx = ctx;
	rv->reveal = reveal;
	rv->record = cJSON_CreateObject();
	rv->values = cJSON_CreateObject();
	rv->conflicts = cJSON_CreateObject();
	rv->history = cJSON_CreateArray();
	rv->events = cJSON_CreateArray();
	rv->revealed = cJSON_CreateArray();
	rv->keys = cJSON_CreateObject();
	if (!review_valid_id(req->param)) {
		http_error(resp, 404, "not_found", "no such record");
		return false;
	}
	/* The form first: masking must be known before any value is read. */
	err = store_review_get(ctx->store, req->param, got_record, rv);
	if (err == FS_OK) {
		const char *team = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rv->record, "team"));
		bool ok = false;

		rv->sees_team = auth_sees_team(req->who, team);
		err = referral_reader_agency(ctx->store, req->who, rv->mine);
		if (err == FS_OK && !rv->sees_team)
			err = referral_grants(ctx->store, rv->mine, req->param, &ok, rv->since);
	}
	if (err == FS_OK) {
		form = cJSON_GetObjectItemCaseSensitive(rv->record, "form");
		err = formset_load(ctx->store, form->valuestring, ret_set);
		if (err == FS_ERR_NOTFOUND)
			err = FS_OK; /* not published: everything is masked */
		rv->set = *ret_set;
		cJSON_Delete(rv->record);
		rv->record = cJSON_CreateObject();
	}
	if (err == FS_OK)
		err = collect(rv, req->param);
	if (err != FS_OK) {
		http_error_fs(resp, err,
		    err == FS_ERR_NOTFOUND ? "no such record" : "could not read the record");
		return false;
	}
	return true;
}

int
review_handle_record(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	struct record_view rv;
	struct formset *set;
	cJSON *obj, *form;
	int64_t version;

	if (!view_start(&rv, ctx, req, false, &set, resp)) {
		view_finish(&rv);
		formset_free(set);
		return 0;
	}
	obj = cJSON_CreateObject();
	version = (int64_t)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(rv.record, "form_version"));
	cJSON_AddItemToObject(obj, "record", rv.record);
	rv.record = NULL;
	form = cJSON_AddObjectToObject(obj, "form");
	if (set != NULL) {
		const struct form *f = formset_version(set, version);
		if (f == NULL)
			f = formset_latest(set);
		cJSON_AddStringToObject(form, "id", f->id);
		cJSON_AddNumberToObject(form, "version", (double)f->version);
		cJSON_AddStringToObject(form, "title", f->title);
	}
	cJSON_AddItemToObject(obj, "fields", fields_array(&rv, version));
	cJSON_AddItemToObject(obj, "conflicts", conflicts_array(&rv));
	/* Merge rule 2: a delete, and the edits it did not see (null: none). */
	cJSON_AddItemToObject(obj, "delete_conflict",
	    rv.delete_conflict != NULL ? rv.delete_conflict : cJSON_CreateNull());
	rv.delete_conflict = NULL;
	cJSON_AddItemToObject(obj, "history", rv.history);
	cJSON_AddItemToObject(obj, "events", rv.events);
	rv.history = rv.events = NULL;
	/* Referrals (issue 20): how the reader sees the record, and its hand-offs. */
	cJSON_AddStringToObject(obj, "access", rv.sees_team ? "team" : "referral");
	cJSON_AddItemToObject(obj, "history_since",
	    rv.since[0] ? cJSON_CreateString(rv.since) : cJSON_CreateNull());
	cJSON_AddItemToObject(obj, "referrals",
	    referral_record_json(ctx->store, req->param, rv.sees_team, rv.mine));
	/* References into rv must be resolved before rv is freed. */
	{
		char *text = cJSON_PrintUnformatted(obj);
		cJSON_Delete(obj);
		view_finish(&rv);
		formset_free(set);
		if (text == NULL)
			return -1;
		return http_reply_take(resp, 200, text, strlen(text));
	}
}

static int
record_exists(void *arg, const struct review_record *r)
{
	(void)r;
	*(bool *)arg = true;
	return 0;
}

int
review_handle_print(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	const cJSON *revealed;
	bool found = false;
	cJSON *root = NULL;
	char msg[160];
	fs_err err;

	if (!review_valid_id(req->param))
		return http_error(resp, 404, "not_found", "no such record");
	if (req->body_len > 0) {
		if (form_json_parse(req->body, req->body_len, "body", &root, msg, sizeof(msg)) !=
			FS_OK ||
		    !cJSON_IsObject(root))
			return cJSON_Delete(root), http_error(resp, 400, "bad_json", "body: an object");
	}
	revealed = cJSON_GetObjectItemCaseSensitive(root, "revealed");
	err = store_review_get(ctx->store, req->param, record_exists, &found);
	if (err == FS_OK && !found)
		err = FS_ERR_NOTFOUND;
	if (err == FS_OK)
		err = store_audit(ctx->store, req->who->name, "casefile.print", req->param,
		    cJSON_IsTrue(revealed) ? "sensitive=revealed" : "sensitive=masked");
	cJSON_Delete(root);
	if (err != FS_OK)
		return http_error_fs(resp, err,
		    err == FS_ERR_NOTFOUND ? "no such record" : "could not write the audit entry");
	if ((resp->body = strdup("{\"audited\":true}")) == NULL)
		return http_error(resp, 500, "internal", "out of memory");
	resp->body_len = strlen(resp->body);
	resp->status = 200;
	return 0;
}

int
review_handle_reveal(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	struct record_view rv;
	struct formset *set;
	char detail[512];
	const cJSON *item;
	size_t pos;
	cJSON *obj, *cands;
	bool sealed;
	fs_err err;

	if (!view_start(&rv, ctx, req, true, &set, resp)) {
		view_finish(&rv);
		formset_free(set);
		return 0;
	}
	/*
	 * Sealed values (issue 17) open only with this reviewer's unlocked
	 * keys: without them nothing is revealed and nothing audited.
	 */
	sealed = hq_tree_has_sealed(rv.values) || hq_tree_has_sealed(rv.conflicts) ||
		 hq_tree_has_sealed(rv.history);
	if (sealed && unlock_hold_left(ctx->unlock, req->who->name) <= 0) {
		view_finish(&rv);
		formset_free(set);
		return http_error(resp, 403, "key_locked",
		    "these values are sealed: unlock the sealing key with its passphrase first");
	}
	pos = (size_t)snprintf(detail, sizeof(detail), "fields=");
	cJSON_ArrayForEach(item, rv.revealed)
	{
		int n = snprintf(detail + pos, sizeof(detail) - pos, "%s%s",
		    item == rv.revealed->child ? "" : ",", item->valuestring);
		if (n < 0 || (size_t)n >= sizeof(detail) - pos)
			break;
		pos += (size_t)n;
	}
	/* Audit first: no audit entry, no values. */
	if ((err = store_audit(ctx->store, req->who->name, "review.reveal", req->param, detail)) !=
	    FS_OK) {
		view_finish(&rv);
		formset_free(set);
		return http_error_fs(
		    resp, err, "could not write the audit entry; nothing revealed");
	}
	log_info("review %s: %s revealed sensitive fields of record %s", req->request_id,
	    req->who->name, req->param);
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "id", req->param);
	cJSON_AddItemToObject(obj, "fields", rv.values);
	cands = cJSON_AddArrayToObject(obj, "candidates");
	{
		cJSON *list, *c;
		cJSON_ArrayForEach(list, rv.conflicts)
		{
			cJSON_ArrayForEach(c, list)
			{
				cJSON *o = cJSON_Duplicate(c, 1);
				cJSON_AddStringToObject(o, "field", list->string);
				cJSON_AddItemToArray(cands, o);
			}
		}
	}
	cJSON_AddItemToObject(obj, "history", rv.history);
	rv.values = rv.history = NULL;
	view_finish(&rv);
	formset_free(set);
	if (sealed) {
		int opened = 0, closed = 0;

		if ((err = unlock_hold_open(ctx->unlock, req->who->name, obj, &opened, &closed)) !=
		    FS_OK) {
			cJSON_Delete(obj);
			return err == FS_ERR_KEY
				   ? http_error(resp, 403, "key_locked",
					 "the sealing key was locked meanwhile: unlock it again")
				   : http_error_fs(resp, err, "could not open the sealed values");
		}
		/* Sealed for a key this passphrase does not open (an older, rotated one). */
		cJSON_AddNumberToObject(obj, "still_sealed", closed);
	}
	return http_reply_json(resp, 200, obj);
}
