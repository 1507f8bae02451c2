/*
 * referral.c -- referrals between agencies.  See referral.h.
 *
 * Every write is one store_push transaction: the referral record's change
 * (signed by the server, merged, logged under the referred record's team
 * so its devices pull it), the index row (store_agency.h), an event in
 * the referred record's history and an audit entry.  All of it commits,
 * or none.  The reasons never reach a log, an audit entry or an event:
 * they are sensitive values of the referral record, sealed to
 * headquarters' key when it has one.
 */
#include "referral.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agency.h"
#include "form.h"
#include "hq_change.h"
#include "hq_key.h"
#include "http.h"
#include "id.h"
#include "log.h"
#include "review_api.h"
#include "seal.h"
#include "server.h"
#include "store.h"
#include "store_agency.h"
#include "store_records.h"
#include "store_review.h"

#define REFERRAL_VERSION 1
#define CASE_NUMBER_MAX 40

/*
 * The built-in form.  A new content needs a new version (devices refuse a
 * version whose content changed), and the old one stays published.
 */
static const char referral_form[] =
    "{\"id\":\"referral\",\"version\":1,"
    "\"title\":\"Referral to another agency\","
    "\"description\":\"A case handed from one agency to another: written at headquarters,"
    " read on the devices of the team that found it (status only).\","
    "\"conflict\":\"field_lww\",\"fields\":["
    "{\"name\":\"record\",\"type\":\"text\",\"label\":\"Record referred\",\"required\":true,"
    "\"max_length\":32},"
    "{\"name\":\"agency\",\"type\":\"text\",\"label\":\"Agency referred to\",\"required\":true,"
    "\"max_length\":64},"
    "{\"name\":\"case_number\",\"type\":\"text\",\"label\":\"Case number\",\"required\":true,"
    "\"max_length\":40},"
    "{\"name\":\"status\",\"type\":\"select_one\",\"label\":\"Status\",\"required\":true,"
    "\"choices\":[\"open\",\"accepted\",\"declined\",\"closed\"]},"
    "{\"name\":\"owner\",\"type\":\"text\",\"label\":\"Owner at the agency\",\"max_length\":64},"
    "{\"name\":\"due\",\"type\":\"date\",\"label\":\"Due\"},"
    "{\"name\":\"reason\",\"type\":\"text\",\"label\":\"Reason for the referral\","
    "\"sensitive\":true,\"max_length\":2000},"
    "{\"name\":\"decline_reason\",\"type\":\"text\",\"label\":\"Reason for declining\","
    "\"sensitive\":true,\"max_length\":2000}]}";

fs_err
referral_form_publish(struct store *store)
{
	char msg[256];
	bool fresh = false;
	fs_err err;

	err = store_form_publish(
	    store, referral_form, strlen(referral_form), msg, sizeof(msg), NULL, NULL, &fresh);
	if (err == FS_ERR_EXISTS) {
		log_warnx("The store holds a form 'referral' version %d of other content:"
		          " referrals are off until it is removed",
		    REFERRAL_VERSION);
		return FS_OK;
	}
	if (err == FS_OK && fresh)
		log_info("Published the built-in form 'referral' version %d", REFERRAL_VERSION);
	return err;
}

fs_err
referral_reader_agency(
    struct store *store, const struct auth_identity *who, char ret[AUTH_NAME_MAX + 1])
{
	ret[0] = '\0';
	if (auth_review_scope(who) == NULL)
		return FS_OK;
	return agency_of_team(store, who->team, ret);
}

/* --- Reading the index ------------------------------------------------ */

struct grant {
	const char *agency, *id;
	bool ok;
	char since[32];
};

static int
grant_one(void *arg, const struct store_referral *r)
{
	struct grant *g = arg;

	if (strcmp(r->agency, g->agency) != 0)
		return 0;
	if (strcmp(r->id, g->id) != 0 &&
	    (strcmp(r->record_id, g->id) != 0 || strcmp(r->status, "declined") == 0))
		return 0;
	if (!g->ok || strcmp(r->created_at, g->since) < 0)
		snprintf(g->since, sizeof(g->since), "%s", r->created_at);
	g->ok = true;
	return 0;
}

fs_err
referral_grants(struct store *store, const char *agency, const char *id, bool *ret_ok,
    char ret_since[32])
{
	struct grant g = { .agency = agency, .id = id };
	fs_err err;

	*ret_ok = false;
	ret_since[0] = '\0';
	if (agency == NULL || agency[0] == '\0')
		return FS_OK;
	/* The referrals of the record, then the referral record itself. */
	if ((err = store_referral_list(store, id, grant_one, &g)) != FS_OK)
		return err;
	if (!g.ok && (err = store_referral_list(store, NULL, grant_one, &g)) != FS_OK)
		return err;
	*ret_ok = g.ok;
	if (g.ok)
		snprintf(ret_since, 32, "%s", g.since);
	return FS_OK;
}

/* One referral as the API shows it (never its reasons). */
static cJSON *
referral_json(struct store *store, const struct store_referral *r)
{
	char title[128] = "";
	cJSON *o = cJSON_CreateObject();

	(void)agency_find(store, r->agency, title, sizeof(title));
	cJSON_AddStringToObject(o, "id", r->id);
	cJSON_AddStringToObject(o, "record", r->record_id);
	cJSON_AddStringToObject(o, "agency", r->agency);
	cJSON_AddStringToObject(o, "agency_title", title);
	cJSON_AddStringToObject(o, "status", r->status);
	cJSON_AddStringToObject(o, "case_number", r->case_number);
	cJSON_AddItemToObject(o, "owner", r->owner ? cJSON_CreateString(r->owner) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "due", r->due ? cJSON_CreateString(r->due) : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "created_by", r->created_by);
	cJSON_AddStringToObject(o, "created_at", r->created_at);
	cJSON_AddStringToObject(o, "updated_at", r->updated_at);
	return o;
}

/* A copy of one index row, kept past the callback. */
struct row_copy {
	const char *want; /* the referral id looked for */
	bool found;
	char id[33], record_id[33], agency[AUTH_NAME_MAX + 1], status[16],
	    case_number[CASE_NUMBER_MAX + 1], owner[AUTH_NAME_MAX + 1], due[16],
	    created_by[AUTH_NAME_MAX + 1];
	bool has_owner, has_due;
	/* an open or accepted referral of want's record to agency (refer) */
	const char *to_agency;
};

static int
copy_one(void *arg, const struct store_referral *r)
{
	struct row_copy *c = arg;

	if (c->to_agency != NULL) {
		if (strcmp(r->agency, c->to_agency) == 0 &&
		    (strcmp(r->status, "open") == 0 || strcmp(r->status, "accepted") == 0)) {
			snprintf(c->case_number, sizeof(c->case_number), "%s", r->case_number);
			c->found = true;
			return 1;
		}
		return 0;
	}
	if (strcmp(r->id, c->want) != 0)
		return 0;
	c->found = true;
	snprintf(c->id, sizeof(c->id), "%s", r->id);
	snprintf(c->record_id, sizeof(c->record_id), "%s", r->record_id);
	snprintf(c->agency, sizeof(c->agency), "%s", r->agency);
	snprintf(c->status, sizeof(c->status), "%s", r->status);
	snprintf(c->case_number, sizeof(c->case_number), "%s", r->case_number);
	snprintf(c->created_by, sizeof(c->created_by), "%s", r->created_by);
	c->has_owner = r->owner != NULL;
	snprintf(c->owner, sizeof(c->owner), "%s", r->owner ? r->owner : "");
	c->has_due = r->due != NULL;
	snprintf(c->due, sizeof(c->due), "%s", r->due ? r->due : "");
	return 1;
}

/* --- Writing ---------------------------------------------------------- */

/* A text value, sealed to headquarters' current key when there is one. */
static fs_err
sealed_text(struct store *store, const char *text, cJSON **ret)
{
	struct seal_public pub;
	char *key = NULL, *json;
	cJSON *k, *str;
	fs_err err;

	*ret = NULL;
	if ((err = hq_current_public(store, &key)) != FS_OK)
		return err;
	if (key == NULL) {
		*ret = cJSON_CreateString(text);
		return *ret != NULL ? FS_OK : FS_ERR_NOMEM;
	}
	k = cJSON_Parse(key);
	free(key);
	if (!seal_public_from_hex(
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "public")), &pub)) {
		cJSON_Delete(k);
		return FS_ERR_CORRUPT;
	}
	cJSON_Delete(k);
	if ((str = cJSON_CreateString(text)) == NULL)
		return FS_ERR_NOMEM;
	json = cJSON_PrintUnformatted(str);
	cJSON_Delete(str);
	if (json == NULL)
		return FS_ERR_NOMEM;
	err = seal_value(&pub, json, strlen(json), ret);
	seal_text_free(json, strlen(json));
	return err;
}

/* What one write changes: the referral record's fields and the index row. */
struct write {
	const char *rid;      /* the referral record */
	const char *record;   /* the referred record */
	const char *team;     /* the referred record's team */
	cJSON *fields;        /* field -> value (owned) */
	struct store_referral row;
	const char *event;    /* the event's status text on the referred record */
	const char *audit;    /* action */
	char detail[256];
	const char *actor;
	bool create;
	/* the referral's status when the request read it (update), checked again in the transaction */
	const char *from_status;
	/* out */
	int status;
	const char *error;
	char msg[256];
};

/*
 * What the request checked, checked again under the store's writer lock
 * (the push transaction holds it; reads on this thread's connection see
 * the transaction): two reviewers answering one referral at once, or
 * referring one record to one agency twice, get a 409 instead of both
 * steps landing.
 */
static fs_err
recheck(struct store *store, struct write *w)
{
	struct row_copy now = { .want = w->rid };
	fs_err err;

	if (w->create) {
		now.to_agency = w->row.agency;
		if ((err = store_referral_list(store, w->record, copy_one, &now)) != FS_OK)
			return err;
		if (now.found) {
			w->status = 409;
			w->error = "already_referred";
			snprintf(w->msg, sizeof(w->msg),
			    "the record is already referred to that agency (case %s)", now.case_number);
		}
		return FS_OK;
	}
	if ((err = store_referral_list(store, w->record, copy_one, &now)) != FS_OK)
		return err;
	if (!now.found || strcmp(now.status, w->from_status) != 0) {
		w->status = 409;
		w->error = "changed";
		snprintf(w->msg, sizeof(w->msg),
		    "the referral changed meanwhile (now %s): read it again",
		    now.found ? now.status : "gone");
	}
	return FS_OK;
}

static fs_err
write_in(struct server_ctx *ctx, struct store_push *push, struct write *w)
{
	char stamp[HLC_TEXT_LEN + 1], max[HLC_TEXT_LEN + 1] = "";
	struct merge_result res = { 0 };
	struct form *form = NULL;
	cJSON *obj, *base = NULL, *f;
	int64_t seq;
	int open;
	fs_err err;

	if ((err = recheck(ctx->store, w)) != FS_OK || w->status != 0)
		return err;
	if ((err = store_form_get(ctx->store, REFERRAL_FORM, REFERRAL_VERSION, &form)) != FS_OK) {
		if (err == FS_ERR_NOTFOUND) {
			w->status = 503;
			w->error = "unavailable";
			snprintf(w->msg, sizeof(w->msg), "the referral form is not published");
		}
		return err;
	}
	obj = cJSON_CreateObject();
	if (!w->create) {
		base = cJSON_CreateObject();
		/* Every current head of each field written: a plain update, no conflict. */
		cJSON_ArrayForEach(f, w->fields)
		{
			struct store_head heads[MERGE_MAX_BASES] = { 0 };
			char fmax[HLC_TEXT_LEN + 1] = "";
			size_t n = 0;
			cJSON *list = cJSON_AddArrayToObject(base, f->string);

			err = store_push_field_heads(
			    push, w->rid, f->string, heads, MERGE_MAX_BASES, &n, fmax);
			for (size_t i = 0; err == FS_OK && i < n; i++)
				cJSON_AddItemToArray(list, cJSON_CreateString(heads[i].stamp));
			store_heads_finish(heads, n);
			if (err != FS_OK)
				goto out;
			if (strcmp(fmax, max) > 0)
				memcpy(max, fmax, sizeof(max));
		}
	}
	if ((err = store_push_server_stamp(push, max[0] ? max : NULL, stamp)) != FS_OK)
		goto out;
	cJSON_AddStringToObject(obj, "id", w->rid);
	cJSON_AddStringToObject(obj, "form", REFERRAL_FORM);
	cJSON_AddNumberToObject(obj, "form_version", REFERRAL_VERSION);
	cJSON_AddStringToObject(obj, "op", "upsert");
	cJSON_AddStringToObject(obj, "hlc", stamp);
	cJSON_AddItemToObject(obj, "fields", w->fields);
	w->fields = NULL;
	if (base != NULL) {
		cJSON_AddItemToObject(obj, "base", base);
		base = NULL;
	}
	err = hq_change_commit(push, ctx->key, form, obj, w->team, w->actor, "referral", &seq, &res,
	    &open, w->msg, sizeof(w->msg));
	if (err == FS_ERR_INVALID) {
		w->status = 400;
		w->error = "invalid";
		goto out;
	}
	if (err != FS_OK || (err = store_push_referral_save(push, &w->row)) != FS_OK ||
	    (err = store_push_event(push, w->record, "referral", w->event, NULL, NULL, NULL,
		 w->actor)) != FS_OK ||
	    (err = store_push_audit(push, w->actor, w->audit, w->record, w->detail)) != FS_OK)
		goto out;
out:
	cJSON_Delete(base);
	cJSON_Delete(obj);
	form_free(form);
	return err;
}

/* Runs w in one transaction and answers a failure; true when it committed. */
static bool
write_run(struct server_ctx *ctx, struct write *w, struct http_response *resp)
{
	struct store_push *push = NULL;
	fs_err err = FS_OK;

	/*
	 * The form is published with the first referral, not at start: a
	 * server whose agencies never refer keeps the forms it was given.
	 */
	if (w->create)
		err = referral_form_publish(ctx->store);
	if (err == FS_OK && (err = store_push_begin(ctx->store, &push)) == FS_OK) {
		err = write_in(ctx, push, w);
		if (err == FS_OK) {
			err = store_push_commit(push);
			push = NULL;
		}
	}
	store_push_abort(push);
	cJSON_Delete(w->fields);
	w->fields = NULL;
	if (w->status != 0) {
		http_error(resp, w->status, w->error, w->msg);
		return false;
	}
	if (err != FS_OK) {
		http_error_fs(resp, err, "the referral was not saved");
		return false;
	}
	return true;
}

/* Checks an optional string member; answers 400 and returns false when wrong. */
static bool
opt_text(const cJSON *root, const char *name, size_t max, bool nullable, const cJSON **ret,
    struct http_response *resp)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
	char msg[128];

	*ret = v;
	if (v == NULL || (nullable && cJSON_IsNull(v)))
		return true;
	if (cJSON_IsString(v) && v->valuestring[0] != '\0' && strlen(v->valuestring) <= max)
		return true;
	snprintf(msg, sizeof(msg), "'%s' must be a text of 1 to %zu bytes%s", name, max,
	    nullable ? ", or null" : "");
	http_error(resp, 400, "bad_request", msg);
	return false;
}

static bool
valid_date(const char *s)
{
	static const int days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, n = 0;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    s[4] != '-' || s[7] != '-')
		return false;
	return y >= 1900 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1];
}

struct record_info {
	char form[65], team[AUTH_NAME_MAX + 1];
	bool found;
};

static int
got_info(void *arg, const struct review_record *r)
{
	struct record_info *ri = arg;

	snprintf(ri->form, sizeof(ri->form), "%s", r->form);
	snprintf(ri->team, sizeof(ri->team), "%s", r->team);
	ri->found = true;
	return 0;
}

int
referral_handle_refer(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	const cJSON *agency, *reason, *due, *case_number;
	char msg[200], mine[AUTH_NAME_MAX + 1], title[128], rid[33], cn[CASE_NUMBER_MAX + 1];
	struct record_info ri = { .found = false };
	struct write w = { .create = true };
	cJSON *root, *obj, *v;
	time_t now = time(NULL);
	struct tm tm;
	fs_err err;

	if (!review_valid_id(req->param))
		return http_error(resp, 404, "not_found", "no such record");
	if (form_json_parse(req->body, req->body_len, "body", &root, msg, sizeof(msg)) != FS_OK)
		return http_error(resp, 400, "bad_json", msg);
	if (!cJSON_IsObject(root) || !opt_text(root, "agency", AUTH_NAME_MAX, false, &agency, resp) ||
	    !opt_text(root, "reason", REFERRAL_TEXT_MAX, false, &reason, resp) ||
	    !opt_text(root, "due", 10, true, &due, resp) ||
	    !opt_text(root, "case_number", CASE_NUMBER_MAX, true, &case_number, resp)) {
		if (!cJSON_IsObject(root))
			http_error(resp, 400, "bad_request", "the body is a JSON object");
		cJSON_Delete(root);
		return 0;
	}
	if (agency == NULL || reason == NULL) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "give 'agency' and 'reason'");
	}
	if (cJSON_IsString(due) && !valid_date(due->valuestring)) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "'due' is a date, YYYY-MM-DD");
	}
	if ((err = store_review_get(ctx->store, req->param, got_info, &ri)) != FS_OK) {
		cJSON_Delete(root);
		return http_error_fs(resp, err,
		    err == FS_ERR_NOTFOUND ? "no such record" : "could not read the record");
	}
	if (strcmp(ri.form, REFERRAL_FORM) == 0) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "a referral is not referred; refer its record");
	}
	/* Only the record's own side hands it on: a referral is not passed along. */
	if (!auth_sees_team(req->who, ri.team)) {
		cJSON_Delete(root);
		snprintf(msg, sizeof(msg), "team=%s action=refer", ri.team);
		(void)store_audit(ctx->store, req->who->name, "review.denied", req->param, msg);
		return http_error(resp, 403, "forbidden",
		    "only a reviewer of the record's team refers it (it was referred to you)");
	}
	if ((err = agency_find(ctx->store, agency->valuestring, title, sizeof(title))) != FS_OK ||
	    (err = referral_reader_agency(ctx->store, req->who, mine)) != FS_OK) {
		cJSON_Delete(root);
		if (err == FS_ERR_NOTFOUND)
			return http_error(resp, 400, "unknown_agency",
			    "no such agency ('fieldsyncd agency list' shows them)");
		return http_error_fs(resp, err, "could not read the agencies");
	}
	if (strcmp(mine, agency->valuestring) == 0) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "the record is already your agency's");
	}
	/* A second referral to the same agency: 409 from recheck(), in the transaction. */
	if (id_random_hex(rid, 16) != FS_OK) {
		cJSON_Delete(root);
		return http_error(resp, 500, "internal", "no random id");
	}
	gmtime_r(&now, &tm);
	if (cJSON_IsString(case_number))
		snprintf(cn, sizeof(cn), "%s", case_number->valuestring);
	else
		snprintf(cn, sizeof(cn), "%.20s-%04d-%.6s", agency->valuestring, tm.tm_year + 1900, rid);
	w.rid = rid;
	w.record = req->param;
	w.team = ri.team;
	w.actor = req->who->name;
	w.audit = "review.refer";
	w.fields = cJSON_CreateObject();
	cJSON_AddStringToObject(w.fields, "record", req->param);
	cJSON_AddStringToObject(w.fields, "agency", agency->valuestring);
	cJSON_AddStringToObject(w.fields, "case_number", cn);
	cJSON_AddStringToObject(w.fields, "status", "open");
	if (cJSON_IsString(due))
		cJSON_AddStringToObject(w.fields, "due", due->valuestring);
	if ((err = sealed_text(ctx->store, reason->valuestring, &v)) != FS_OK) {
		cJSON_Delete(w.fields);
		cJSON_Delete(root);
		return http_error_fs(resp, err, "could not seal the reason");
	}
	cJSON_AddItemToObject(w.fields, "reason", v);
	w.row = (struct store_referral){ .id = rid, .record_id = req->param,
		.agency = agency->valuestring, .status = "open", .case_number = cn,
		.due = cJSON_IsString(due) ? due->valuestring : NULL, .created_by = req->who->name };
	snprintf(msg, sizeof(msg), "%s:open", agency->valuestring);
	w.event = msg;
	snprintf(w.detail, sizeof(w.detail), "referral=%s agency=%s case=%s", rid,
	    agency->valuestring, cn);
	if (!write_run(ctx, &w, resp)) {
		cJSON_Delete(root);
		return 0;
	}
	log_info("review %s: %s referred record %s to agency %s (referral %s)", req->request_id,
	    req->who->name, req->param, agency->valuestring, rid);
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "id", rid);
	cJSON_AddStringToObject(obj, "record", req->param);
	cJSON_AddStringToObject(obj, "agency", agency->valuestring);
	cJSON_AddStringToObject(obj, "agency_title", title);
	cJSON_AddStringToObject(obj, "case_number", cn);
	cJSON_AddStringToObject(obj, "status", "open");
	cJSON_AddItemToObject(obj, "due",
	    cJSON_IsString(due) ? cJSON_CreateString(due->valuestring) : cJSON_CreateNull());
	cJSON_Delete(root);
	return http_reply_json(resp, 201, obj);
}

/* Is name a reviewer, not revoked, of a team agency owns? */
struct owner_check {
	struct store *store;
	const char *name, *agency;
	bool ok;
};

static int
owner_one(void *arg, const struct store_device *d)
{
	struct owner_check *oc = arg;
	char a[AUTH_NAME_MAX + 1];

	if (strcmp(d->name, oc->name) != 0)
		return 0;
	oc->ok = !d->revoked && strcmp(d->role, "reviewer") == 0 &&
	         agency_of_team(oc->store, d->team, a) == FS_OK && strcmp(a, oc->agency) == 0;
	return 1;
}

/* May a referral go from status from to status to? */
static bool
transition_ok(const char *from, const char *to)
{
	if (strcmp(from, to) == 0)
		return true;
	if (strcmp(from, "open") == 0)
		return strcmp(to, "accepted") == 0 || strcmp(to, "declined") == 0;
	if (strcmp(from, "accepted") == 0)
		return strcmp(to, "closed") == 0;
	return false;
}

int
referral_handle_update(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	const cJSON *status, *owner, *due, *reason;
	char msg[200], mine[AUTH_NAME_MAX + 1], event[96];
	struct row_copy cur = { .want = req->param };
	struct write w = { .create = false };
	struct record_info ri = { .found = false };
	const char *to;
	cJSON *root, *v;
	fs_err err;

	if (!review_valid_id(req->param))
		return http_error(resp, 404, "not_found", "no such referral");
	if (form_json_parse(req->body, req->body_len, "body", &root, msg, sizeof(msg)) != FS_OK)
		return http_error(resp, 400, "bad_json", msg);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "the body is a JSON object");
	}
	if (!opt_text(root, "status", 16, false, &status, resp) ||
	    !opt_text(root, "owner", AUTH_NAME_MAX, true, &owner, resp) ||
	    !opt_text(root, "due", 10, true, &due, resp) ||
	    !opt_text(root, "reason", REFERRAL_TEXT_MAX, false, &reason, resp)) {
		cJSON_Delete(root);
		return 0;
	}
	if (status == NULL && owner == NULL && due == NULL) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "give 'status', 'owner' or 'due'");
	}
	if (cJSON_IsString(due) && !valid_date(due->valuestring)) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "'due' is a date, YYYY-MM-DD");
	}
	if ((err = store_referral_list(ctx->store, NULL, copy_one, &cur)) != FS_OK ||
	    (err = referral_reader_agency(ctx->store, req->who, mine)) != FS_OK) {
		cJSON_Delete(root);
		return http_error_fs(resp, err, "could not read the referrals");
	}
	if (!cur.found) {
		cJSON_Delete(root);
		return http_error(resp, 404, "not_found", "no such referral");
	}
	/* The agency it went to decides; an admin may act for it. */
	if (strcmp(req->who->role, "admin") != 0 && strcmp(mine, cur.agency) != 0) {
		cJSON_Delete(root);
		snprintf(msg, sizeof(msg), "referral=%s agency=%s action=update", cur.id, cur.agency);
		(void)store_audit(ctx->store, req->who->name, "review.denied", cur.record_id, msg);
		return http_error(resp, 403, "forbidden",
		    "only the agency the case was referred to answers the referral");
	}
	to = cJSON_IsString(status) ? status->valuestring : cur.status;
	if (strcmp(to, "open") != 0 && strcmp(to, "accepted") != 0 && strcmp(to, "declined") != 0 &&
	    strcmp(to, "closed") != 0) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request",
		    "'status' is one of accepted, declined, closed");
	}
	if (!transition_ok(cur.status, to)) {
		snprintf(msg, sizeof(msg),
		    "a referral %s cannot become %s (open -> accepted or declined, accepted -> closed)",
		    cur.status, to);
		cJSON_Delete(root);
		return http_error(resp, 409, "bad_transition", msg);
	}
	if (strcmp(to, "declined") == 0 && strcmp(cur.status, "declined") != 0 && reason == NULL) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "declining needs a 'reason'");
	}
	if (cJSON_IsString(owner)) {
		struct owner_check oc = { .store = ctx->store, .name = owner->valuestring,
			.agency = cur.agency };
		if ((err = store_device_list(ctx->store, owner_one, &oc)) != FS_OK || !oc.ok) {
			cJSON_Delete(root);
			return http_error(resp, 400, "bad_request",
			    "'owner' must name a reviewer of the agency, not revoked");
		}
	}
	if ((err = store_review_get(ctx->store, cur.id, got_info, &ri)) != FS_OK) {
		cJSON_Delete(root);
		return http_error_fs(resp, err, "could not read the referral");
	}
	w.rid = cur.id;
	w.record = cur.record_id;
	w.from_status = cur.status;
	w.team = ri.team;
	w.actor = req->who->name;
	w.audit = "review.referral";
	w.fields = cJSON_CreateObject();
	if (strcmp(to, cur.status) != 0)
		cJSON_AddStringToObject(w.fields, "status", to);
	if (owner != NULL)
		cJSON_AddItemToObject(w.fields, "owner", cJSON_Duplicate(owner, 1));
	if (due != NULL)
		cJSON_AddItemToObject(w.fields, "due", cJSON_Duplicate(due, 1));
	if (reason != NULL && strcmp(to, "declined") == 0) {
		if ((err = sealed_text(ctx->store, reason->valuestring, &v)) != FS_OK) {
			cJSON_Delete(w.fields);
			cJSON_Delete(root);
			return http_error_fs(resp, err, "could not seal the reason");
		}
		cJSON_AddItemToObject(w.fields, "decline_reason", v);
	}
	if (w.fields->child == NULL) {
		cJSON_Delete(w.fields);
		cJSON_Delete(root);
		return http_error(resp, 409, "no_change", "the referral already says that");
	}
	w.row = (struct store_referral){ .id = cur.id, .record_id = cur.record_id,
		.agency = cur.agency, .status = to, .case_number = cur.case_number,
		.owner = owner == NULL ? (cur.has_owner ? cur.owner : NULL)
		                       : (cJSON_IsString(owner) ? owner->valuestring : NULL),
		.due = due == NULL ? (cur.has_due ? cur.due : NULL)
		                   : (cJSON_IsString(due) ? due->valuestring : NULL),
		.created_by = cur.created_by };
	snprintf(event, sizeof(event), "%s:%s", cur.agency, to);
	w.event = event;
	snprintf(w.detail, sizeof(w.detail), "referral=%s agency=%s status=%s owner=%s due=%s",
	    cur.id, cur.agency, to, w.row.owner ? w.row.owner : "-", w.row.due ? w.row.due : "-");
	if (!write_run(ctx, &w, resp)) {
		cJSON_Delete(root);
		return 0;
	}
	log_info("review %s: %s set referral %s to %s", req->request_id, req->who->name, cur.id, to);
	{
		struct store_referral r = w.row;
		cJSON *obj;

		r.created_at = r.updated_at = "";
		obj = referral_json(ctx->store, &r); /* r points into root */
		cJSON_Delete(root);
		return http_reply_json(resp, 200, obj);
	}
}

/* --- Listing ---------------------------------------------------------- */

struct list_ctx {
	struct store *store;
	const struct auth_identity *who;
	const char *mine;
	int dir; /* 0 both, 1 to us, 2 from us */
	cJSON *arr;
};

static int
list_one(void *arg, const struct store_referral *r)
{
	struct list_ctx *lc = arg;
	struct record_info ri = { .found = false };
	bool to_us, from_us;
	cJSON *o;

	to_us = lc->mine[0] != '\0' && strcmp(r->agency, lc->mine) == 0;
	from_us = store_review_get(lc->store, r->record_id, got_info, &ri) == FS_OK &&
	          auth_sees_team(lc->who, ri.team);
	if ((lc->dir == 1 && !to_us) || (lc->dir == 2 && !from_us) || (!to_us && !from_us))
		return 0;
	o = referral_json(lc->store, r);
	cJSON_AddStringToObject(o, "direction", to_us ? "to_us" : "from_us");
	cJSON_AddStringToObject(o, "team", ri.team);
	cJSON_AddItemToArray(lc->arr, o);
	return 0;
}

struct dir_arg {
	int dir;
	bool bad;
};

static int
dir_param(void *arg, const char *key, const char *value)
{
	struct dir_arg *d = arg;

	if ((strcmp(key, "to") == 0 || strcmp(key, "from") == 0) && value != NULL &&
	    strcmp(value, "us") == 0)
		d->dir = key[0] == 't' ? 1 : 2;
	else
		d->bad = true;
	return 0;
}

int
referral_handle_list(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	char mine[AUTH_NAME_MAX + 1];
	struct dir_arg d = { 0 };
	struct list_ctx lc;
	cJSON *obj;
	fs_err err;

	http_query_each(req, dir_param, &d);
	if (d.bad)
		return http_error(resp, 400, "bad_request", "parameters: to=us or from=us");
	if ((err = referral_reader_agency(ctx->store, req->who, mine)) != FS_OK)
		return http_error_fs(resp, err, "could not read the agencies");
	lc = (struct list_ctx){ .store = ctx->store, .who = req->who, .mine = mine, .dir = d.dir,
		.arr = cJSON_CreateArray() };
	if ((err = store_referral_list(ctx->store, NULL, list_one, &lc)) != FS_OK) {
		cJSON_Delete(lc.arr);
		return http_error_fs(resp, err, "could not read the referrals");
	}
	obj = cJSON_CreateObject();
	cJSON_AddItemToObject(obj, "agency", mine[0] ? cJSON_CreateString(mine) : cJSON_CreateNull());
	cJSON_AddItemToObject(obj, "referrals", lc.arr);
	return http_reply_json(resp, 200, obj);
}

static int
agency_one(void *arg, const struct store_agency *a)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddStringToObject(o, "title", a->title);
	cJSON_AddItemToArray(arg, o);
	return 0;
}

int
referral_handle_agencies(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	char mine[AUTH_NAME_MAX + 1];
	cJSON *obj, *arr = cJSON_CreateArray();
	fs_err err;

	if ((err = agency_of_team(ctx->store, req->who->team, mine)) != FS_OK ||
	    (err = store_agency_list(ctx->store, agency_one, arr)) != FS_OK) {
		cJSON_Delete(arr);
		return http_error_fs(resp, err, "could not read the agencies");
	}
	obj = cJSON_CreateObject();
	cJSON_AddItemToObject(obj, "mine", mine[0] ? cJSON_CreateString(mine) : cJSON_CreateNull());
	cJSON_AddItemToObject(obj, "agencies", arr);
	return http_reply_json(resp, 200, obj);
}

/* --- The record view -------------------------------------------------- */

struct view_ctx {
	struct store *store;
	const char *mine;
	bool all; /* the reader sees the record's team */
	cJSON *arr;
};

static int
view_one(void *arg, const struct store_referral *r)
{
	struct view_ctx *vc = arg;

	if (vc->all || strcmp(r->agency, vc->mine) == 0)
		cJSON_AddItemToArray(vc->arr, referral_json(vc->store, r));
	return 0;
}

cJSON *
referral_record_json(struct store *store, const char *record_id, bool sees_team, const char *mine)
{
	struct view_ctx vc = { .store = store, .mine = mine, .all = sees_team,
		.arr = cJSON_CreateArray() };

	(void)store_referral_list(store, record_id, view_one, &vc);
	return vc.arr;
}
