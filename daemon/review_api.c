/*
 * review_api.c -- query filters, GET /v1/review/me, GET /v1/review/records
 * and POST /v1/review/records/ID/status.  See review_api.h.
 */
#include "review_api.h"
#include "unlock_hold.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "form.h"
#include "formset.h"
#include "http.h"
#include "id.h"
#include "referral.h"
#include "agency.h"
#include "log.h"
#include "server.h"
#include "store.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT     500
#define SUMMARY_MAX        120 /* bytes of the summary text in a list row */

bool
review_valid_id(const char *s)
{
	return s != NULL && id_is_hex(s, ID_RECORD_LEN);
}

bool
review_status_settable(const char *status)
{
	return review_status_valid(status) && strcmp(status, "new") != 0;
}

cJSON *
review_value_json(const char *text)
{
	cJSON *v;

	if (text == NULL)
		return cJSON_CreateNull();
	v = cJSON_ParseWithLengthOpts(text, strlen(text) + 1, NULL, 1);
	return v != NULL ? v : cJSON_CreateNull();
}

static bool
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

int
review_date_bound(const char *text, bool upper, char ret[32])
{
	size_t n = strlen(text);
	char frac[4] = "000";
	const char *p;
	int i;

	if (n < 10 || !digits(text, 4) || text[4] != '-' || !digits(text + 5, 2) ||
	    text[7] != '-' || !digits(text + 8, 2))
		return -1;
	/* Shape and calendar: no month 13, no 30 February, no 25 o'clock (issue 14). */
	if (n == 10 ? !form_date_valid(text) : (!form_datetime_valid(text) || text[n - 1] != 'Z'))
		return -1;
	if (n == 10) {
		snprintf(ret, 32, "%.10s%s", text, upper ? "T23:59:59.999Z" : "T00:00:00.000Z");
		return 0;
	}
	if (n < 20 || text[10] != 'T' || !digits(text + 11, 2) || text[13] != ':' ||
	    !digits(text + 14, 2) || text[16] != ':' || !digits(text + 17, 2))
		return -1;
	p = text + 19;
	if (*p == '.') {
		for (i = 0, p++; isdigit((unsigned char)*p); p++, i++)
			if (i < 3)
				frac[i] = *p;
		if (i == 0)
			return -1;
		for (; i < 3; i++)
			frac[i] = '0';
	} else if (upper) {
		memcpy(frac, "999", 4);
	}
	if (strcmp(p, "Z") != 0)
		return -1;
	snprintf(ret, 32, "%.19s.%sZ", text, frac);
	return 0;
}

static bool
valid_field_name(const char *s)
{
	size_t n = 0;

	if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return false;
	return n <= FORM_NAME_MAX;
}

static bool
parse_count(const char *s, int64_t lo, int64_t hi, int64_t *ret)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
		return false;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return false;
	*ret = v;
	return true;
}

static bool
parse_bool(const char *s, bool *ret)
{
	if (s != NULL && (strcmp(s, "1") == 0 || strcmp(s, "true") == 0)) {
		*ret = true;
		return true;
	}
	if (s != NULL && (strcmp(s, "0") == 0 || strcmp(s, "false") == 0)) {
		*ret = false;
		return true;
	}
	return false;
}

struct query_state {
	struct review_query *q;
	bool export;
	char error[160];
};

/* One query parameter; sets st->error and stops on a bad one. */
static int
query_one(void *arg, const char *key, const char *value)
{
	struct query_state *st = arg;
	struct review_query *q = st->q;
	struct review_filter *f = &q->f;
	bool b;

	if (value == NULL)
		value = "";
	if (strcmp(key, "form") == 0) {
		if (!valid_field_name(value))
			goto bad;
		f->form = value;
	} else if (strcmp(key, "team") == 0 || strcmp(key, "device") == 0) {
		if (!auth_valid_name(value))
			goto bad;
		*(key[0] == 't' ? &f->team : &f->device) = value;
	} else if (strcmp(key, "status") == 0) {
		if (!review_status_valid(value))
			goto bad;
		f->status = value;
	} else if (strcmp(key, "from") == 0) {
		if (review_date_bound(value, false, q->from) != 0)
			goto bad;
		f->from = q->from;
	} else if (strcmp(key, "to") == 0) {
		if (review_date_bound(value, true, q->to) != 0)
			goto bad;
		f->to = q->to;
	} else if (strcmp(key, "date") == 0) {
		if (strcmp(value, "updated") != 0 && strcmp(value, "created") != 0)
			goto bad;
		f->by_created = value[0] == 'c';
	} else if (strcmp(key, "conflicts") == 0) {
		if (!parse_bool(value, &b))
			goto bad;
		f->conflicts = b ? 1 : 0;
	} else if (strcmp(key, "deleted") == 0) {
		if (!parse_bool(value, &b))
			goto bad;
		f->deleted = b ? 1 : 0;
	} else if (strcmp(key, "limit") == 0 && !st->export) {
		if (!parse_count(value, 1, LIST_MAX_LIMIT, &q->limit))
			goto bad;
	} else if (strcmp(key, "offset") == 0 && !st->export) {
		if (!parse_count(value, 0, INT64_MAX / 2, &q->offset))
			goto bad;
	} else if (strcmp(key, "format") == 0 && st->export) {
		if (strcmp(value, "csv") != 0 && strcmp(value, "json") != 0)
			goto bad;
		q->format = value;
	} else if (strcmp(key, "include_sensitive") == 0 && st->export) {
		if (!parse_bool(value, &q->include_sensitive))
			goto bad;
	} else if (strcmp(key, "assigned") == 0) {
		/* me (resolved below), none, or a reviewer's name. */
		if (strcmp(value, "none") == 0)
			f->assigned = "";
		else if (strcmp(value, "me") == 0 || auth_valid_name(value))
			f->assigned = value;
		else
			goto bad;
	} else if (strcmp(key, "referred") == 0) {
		/* us (the reader's agency, resolved below) or an agency's name. */
		if (strcmp(value, "us") != 0 && !auth_valid_name(value))
			goto bad;
		f->referred = value;
	} else if (strcmp(key, "q") == 0) {
		/* Free text: no control characters, not empty, at most REVIEW_SEARCH_MAX bytes. */
		if (value[0] == '\0' || strlen(value) > REVIEW_SEARCH_MAX)
			goto bad;
		for (const char *c = value; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				goto bad;
		memcpy(q->search, value, strlen(value) + 1);
		f->search = q->search;
	} else if (strcmp(key, "sort") == 0 && !st->export) {
		if (strcmp(value, "updated") == 0)
			f->sort = REVIEW_SORT_UPDATED;
		else if (strcmp(value, "date") == 0)
			f->sort = REVIEW_SORT_DATE;
		else if (strcmp(value, "risk") == 0)
			f->sort = REVIEW_SORT_RISK;
		else
			goto bad;
	} else if (strcmp(key, "flag") == 0 ||
	           (valid_field_name(key) && strcmp(value, "true") == 0)) {
		/* flag=NAME, or the shorthand NAME=true: a boolean field is true. */
		const char *name = strcmp(key, "flag") == 0 ? value : key;
		if (!valid_field_name(name))
			goto bad;
		if (f->nflags == REVIEW_MAX_FLAGS) {
			snprintf(st->error, sizeof(st->error), "at most %d indicator filters",
			    REVIEW_MAX_FLAGS);
			return 1;
		}
		f->flags[f->nflags++] = name;
	} else {
		snprintf(st->error, sizeof(st->error), "unknown query parameter '%.32s'", key);
		return 1;
	}
	return 0;
bad:
	snprintf(st->error, sizeof(st->error), "query parameter '%.32s' has an invalid value", key);
	return 1;
}

/* Looks for an indicator filter naming a field some published form marks sensitive. */
struct flag_check {
	const struct review_filter *f;
	const char *hit;
};

static int
flag_check_form(void *arg, const struct store_form *sf)
{
	struct flag_check *fc = arg;
	const struct form_field *field;
	struct form *form;
	char msg[64];

	/* A definition this daemon cannot read has no field it could mask. */
	if (form_load(sf->definition, strlen(sf->definition), &form, msg, sizeof(msg)) != FS_OK)
		return 0;
	for (size_t i = 0; i < fc->f->nflags && fc->hit == NULL; i++)
		if ((field = form_field_find(form, fc->f->flags[i])) != NULL && field->sensitive)
			fc->hit = fc->f->flags[i];
	form_free(form);
	return fc->hit != NULL;
}

/*
 * The fields a text search reads (text and select fields no published
 * version marks sensitive) and the fields that hold each form's date (its
 * first required date or date-time question), from every published form.
 */
struct field_lists {
	cJSON *search, *sensitive, *dates;
};

static bool
has_name(const cJSON *arr, const char *name)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, arr)
	if (strcmp(x->valuestring, name) == 0)
		return true;
	return false;
}

static int
lists_form(void *arg, const struct store_form *sf)
{
	struct field_lists *fl = arg;
	struct form *form;
	bool dated = false;
	char msg[64];

	if (form_load(sf->definition, strlen(sf->definition), &form, msg, sizeof(msg)) != FS_OK)
		return 0;
	for (size_t i = 0; i < form->nfields; i++) {
		const struct form_field *f = &form->fields[i];
		cJSON *into = NULL;

		if (f->sensitive)
			into = fl->sensitive;
		else if (f->type == FORM_TEXT || f->type == FORM_SELECT_ONE ||
			 f->type == FORM_SELECT_MULTIPLE)
			into = fl->search;
		if (into != NULL && !has_name(into, f->name))
			cJSON_AddItemToArray(into, cJSON_CreateString(f->name));
		if (!dated && (f->type == FORM_DATE || f->type == FORM_DATETIME) && f->required &&
		    f->relevant == NULL) {
			dated = true;
			if (!has_name(fl->dates, f->name))
				cJSON_AddItemToArray(fl->dates, cJSON_CreateString(f->name));
		}
	}
	form_free(form);
	return 0;
}

static bool
field_lists(struct store *store, struct review_query *q)
{
	struct field_lists fl = { cJSON_CreateArray(), cJSON_CreateArray(), cJSON_CreateArray() };
	cJSON *x, *next;
	bool ok = false;

	if (fl.search == NULL || fl.sensitive == NULL || fl.dates == NULL ||
	    store_form_list(store, lists_form, &fl) != FS_OK)
		goto out;
	/* Sensitive in any version: never searched. */
	for (x = fl.search->child; x != NULL; x = next) {
		next = x->next;
		if (has_name(fl.sensitive, x->valuestring))
			cJSON_Delete(cJSON_DetachItemViaPointer(fl.search, x));
	}
	ok = cJSON_PrintPreallocated(fl.search, q->qfields, sizeof(q->qfields), false) &&
	    cJSON_PrintPreallocated(fl.dates, q->dfields, sizeof(q->dfields), false);
	q->f.search_fields = q->qfields;
	q->f.date_fields = q->dfields;
out:
	cJSON_Delete(fl.search);
	cJSON_Delete(fl.sensitive);
	cJSON_Delete(fl.dates);
	return ok;
}

/* 403 for a team outside the reader's, audited (review.denied); no value read. */
static void
deny(struct store *store, const struct http_request *req, const char *record_id,
    const char *team, struct http_response *resp)
{
	const char *action = strrchr(req->path, '/') != NULL ? strrchr(req->path, '/') + 1 : "";
	char detail[AUTH_NAME_MAX + 64];

	/* The id has its own column: the action is the route's last segment. */
	if (record_id != NULL && strcmp(action, record_id) == 0)
		action = "view";
	else if (strcmp(action, "records") == 0)
		action = "list";
	snprintf(detail, sizeof(detail), "team=%s action=%.16s", team, action);
	log_info("review %s: %s refused: team %s is outside its teams", req->request_id,
	    req->who->name, team);
	if (store_audit(store, req->who->name, "review.denied", record_id, detail) != FS_OK)
		log_warnx("review %s: could not audit a refusal", req->request_id);
	http_error(resp, 403, "forbidden", "the record's team is not one of this reviewer's teams");
}

static int
record_team(void *arg, const struct review_record *r)
{
	snprintf(arg, AUTH_NAME_MAX + 1, "%s", r->team);
	return 0;
}

/* Both route checks; by_referral: a referral to the reader's agency also lets it in. */
static bool
check_record(struct server_ctx *ctx, const struct http_request *req, struct http_response *resp,
    bool by_referral)
{
	char team[AUTH_NAME_MAX + 1] = "";
	fs_err err;

	if (auth_review_scope(req->who) == NULL || !review_valid_id(req->param))
		return true;
	err = store_review_get(ctx->store, req->param, record_team, team);
	if (err == FS_ERR_NOTFOUND)
		return true;
	if (err != FS_OK) {
		http_error_fs(resp, err, "could not read the record");
		return false;
	}
	if (auth_sees_team(req->who, team))
		return true;
	/* Referred to the reader's agency (issue 20): it reads the record too. */
	if (by_referral) {
		char agency[AUTH_NAME_MAX + 1], since[32];
		bool ok = false;

		err = referral_reader_agency(ctx->store, req->who, agency);
		if (err == FS_OK && agency[0] != '\0')
			err = referral_grants(ctx->store, agency, req->param, &ok, since);
		if (err != FS_OK) {
			http_error_fs(resp, err, "could not read the referrals");
			return false;
		}
		if (ok)
			return true;
	}
	deny(ctx->store, req, req->param, team, resp);
	return false;
}

bool
review_check_record(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	return check_record(ctx, req, resp, false);
}

bool
review_check_record_read(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	return check_record(ctx, req, resp, true);
}

bool
review_query_parse(struct store *store, const struct http_request *req, bool export,
    struct review_query *q, struct http_response *resp)
{
	struct query_state st = {.q = q, .export = export, .error = ""};
	struct flag_check fc = {.f = &q->f, .hit = NULL};
	fs_err err;

	memset(q, 0, sizeof(*q));
	q->f.conflicts = -1;
	q->f.deleted = -1;
	q->limit = LIST_DEFAULT_LIMIT;
	q->format = "csv";
	http_query_each(req, query_one, &st);
	if (st.error[0] != '\0') {
		http_error(resp, 400, "bad_request", st.error);
		return false;
	}
	q->f.scope = auth_review_scope(req->who);
	/* The reader's agency widens the scope by the records referred to it. */
	if (q->f.scope != NULL) {
		if ((err = referral_reader_agency(store, req->who, q->agency)) != FS_OK) {
			http_error_fs(resp, err, "could not read the agencies");
			return false;
		}
		if (q->agency[0] != '\0')
			q->f.agency = q->agency;
	}
	if (q->f.referred != NULL && strcmp(q->f.referred, "us") == 0) {
		if (q->agency[0] == '\0' &&
		    (err = agency_of_team(store, req->who->team, q->agency)) != FS_OK) {
			http_error_fs(resp, err, "could not read the agencies");
			return false;
		}
		q->f.referred = q->agency[0] != '\0' ? q->agency : "\x01none";
	}
	if (q->f.assigned != NULL && strcmp(q->f.assigned, "me") == 0)
		q->f.assigned = req->who->name;
	if ((q->f.search != NULL || q->f.sort == REVIEW_SORT_DATE) && !field_lists(store, q)) {
		http_error(resp, 500, "internal", "could not read the form definitions");
		return false;
	}
	if (q->f.team != NULL && !auth_sees_team(req->who, q->f.team)) {
		deny(store, req, NULL, q->f.team, resp);
		return false;
	}
	/*
	 * Filtering on a sensitive field would tell its value without a
	 * reveal, and so without an audit entry: refused.
	 */
	if (q->f.nflags == 0)
		return true;
	if ((err = store_form_list(store, flag_check_form, &fc)) != FS_OK) {
		http_error_fs(resp, err, "could not read the form definitions");
		return false;
	}
	if (fc.hit != NULL) {
		snprintf(st.error, sizeof(st.error),
		    "'%.64s' is a sensitive field: it cannot be a filter", fc.hit);
		http_error(resp, 400, "sensitive_filter", st.error);
		return false;
	}
	return true;
}

int
review_handle_me(struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddStringToObject(obj, "name", req->who->name);
	cJSON_AddStringToObject(obj, "role", req->who->role);
	cJSON_AddStringToObject(obj, "team", req->who->team);
	/* The teams whose records this token sees; null: every team. */
	if (auth_review_scope(req->who) == NULL)
		cJSON_AddNullToObject(obj, "teams");
	else
		cJSON_AddItemToObject(obj, "teams", cJSON_Parse(auth_review_scope(req->who)));
	/* Seconds this reviewer's sealing keys stay unlocked (issue 17); 0: locked. */
	cJSON_AddNumberToObject(obj, "unlocked_seconds",
	    ctx->unlock != NULL ? unlock_hold_left(ctx->unlock, req->who->name) : 0);
	return http_reply_json(resp, 200, obj);
}

/* Adds the columns of struct review_record to obj. */
static void
add_record(cJSON *obj, const struct review_record *r)
{
	cJSON_AddStringToObject(obj, "id", r->id);
	cJSON_AddStringToObject(obj, "form", r->form);
	cJSON_AddNumberToObject(obj, "form_version", (double)r->form_version);
	cJSON_AddStringToObject(obj, "team", r->team);
	cJSON_AddStringToObject(obj, "created_by", r->created_by);
	cJSON_AddStringToObject(obj, "created_at", r->created_at);
	cJSON_AddStringToObject(obj, "updated_at", r->updated_at);
	cJSON_AddStringToObject(obj, "review_status", r->review_status);
	cJSON_AddNumberToObject(obj, "open_conflicts", r->open_conflicts);
	cJSON_AddBoolToObject(obj, "deleted", r->deleted);
	cJSON_AddBoolToObject(obj, "delete_conflict", r->delete_conflict);
	cJSON_AddItemToObject(obj, "assigned_to",
	    r->assigned_to != NULL ? cJSON_CreateString(r->assigned_to) : cJSON_CreateNull());
}

struct list_ctx {
	struct server_ctx *ctx;
	struct formcache fc;
	cJSON *rows;
	cJSON *row;                          /* the row being filled */
	const struct formset *set;           /* its form */
	const struct formset_field *summary; /* the summary column found so far */
	char summary_text[SUMMARY_MAX + 4];
	fs_err err;
};

/* Copies at most SUMMARY_MAX bytes of s, cut at a UTF-8 character boundary. */
static void
summary_copy(char *dst, const char *s)
{
	size_t n = strlen(s);

	if (n > SUMMARY_MAX) {
		n = SUMMARY_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		memcpy(dst, s, n);
		memcpy(dst + n, "\xe2\x80\xa6", 4); /* an ellipsis */
		return;
	}
	memcpy(dst, s, n + 1);
}

/* Picks the summary (first non-sensitive text value) and the true flags. */
static int
list_value(void *arg, const struct review_value *v)
{
	struct list_ctx *lc = arg;
	const struct formset_field *col = formset_field(lc->set, v->field);
	cJSON *val;

	if (col == NULL || col->sensitive || v->value == NULL)
		return 0;
	/* At a glance, for the compact list: choices, dates and counts (district, risk...). */
	if (col->type == FORM_SELECT_ONE || col->type == FORM_DATE || col->type == FORM_DATETIME ||
	    col->type == FORM_INTEGER) {
		if ((val = review_value_json(v->value)) != NULL &&
		    !cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(lc->row, "values"),
			v->field, val))
			cJSON_Delete(val);
		return 0;
	}
	if (col->type == FORM_BOOLEAN && strcmp(v->value, "true") == 0) {
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(lc->row, "flags"),
		    cJSON_CreateString(v->field));
	} else if (col->type == FORM_TEXT && (lc->summary == NULL || col < lc->summary)) {
		val = review_value_json(v->value);
		if (cJSON_IsString(val) && val->valuestring[0] != '\0') {
			lc->summary = col;
			summary_copy(lc->summary_text, val->valuestring);
		}
		cJSON_Delete(val);
	}
	return 0;
}

static int
list_row(void *arg, const struct review_record *r)
{
	struct list_ctx *lc = arg;
	cJSON *row = cJSON_CreateObject();

	if (row == NULL)
		return 1;
	cJSON_AddItemToArray(lc->rows, row);
	add_record(row, r);
	cJSON_AddArrayToObject(row, "flags");
	cJSON_AddObjectToObject(row, "values");
	lc->row = row;
	lc->summary = NULL;
	lc->summary_text[0] = '\0';
	if ((lc->err = formcache_get(&lc->fc, r->form, &lc->set)) != FS_OK) {
		if (lc->err != FS_ERR_NOTFOUND)
			return 1;
		lc->err = FS_OK; /* a form never published: no summary, no flags */
	} else if ((lc->err = store_review_fields(lc->ctx->store, r->id, list_value, lc)) !=
	           FS_OK) {
		return 1;
	}
	cJSON_AddStringToObject(row, "summary", lc->summary_text);
	return 0;
}

int
review_handle_list(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	struct list_ctx lc = {.ctx = ctx, .err = FS_OK};
	struct review_query q;
	int64_t total = 0;
	cJSON *obj;
	fs_err err;

	if (!review_query_parse(ctx->store, req, false, &q, resp))
		return 0;
	formcache_init(&lc.fc, ctx->store);
	obj = cJSON_CreateObject();
	lc.rows = cJSON_AddArrayToObject(obj, "records");
	err = store_review_list(ctx->store, &q.f, q.limit, q.offset, list_row, &lc, &total);
	formcache_finish(&lc.fc);
	if (err == FS_ERR_NOMEM && lc.err != FS_OK)
		err = lc.err;
	if (err != FS_OK) {
		cJSON_Delete(obj);
		return http_error_fs(resp, err, "could not list the records");
	}
	cJSON_AddNumberToObject(obj, "total", (double)total);
	cJSON_AddNumberToObject(obj, "limit", (double)q.limit);
	cJSON_AddNumberToObject(obj, "offset", (double)q.offset);
	return http_reply_json(resp, 200, obj);
}

/*
 * POST /v1/review/records/ID/assign {"to": NAME | null, "note"}: the record
 * goes to a reviewer's queue (issue 20, item 3).  NAME must be a reviewer
 * (or an admin) that is not revoked and sees the record's team.
 */
struct assignee {
	const char *name;
	bool found, revoked, reviewer;
	char team[AUTH_NAME_MAX + 1];
	const char *teams; /* its review teams (JSON), NULL for all */
	char teams_buf[AUTH_TEAMS_TEXT_MAX + 1];
};

static int
find_assignee(void *arg, const struct store_device *d)
{
	struct assignee *a = arg;

	if (strcmp(d->name, a->name) != 0)
		return 0;
	a->found = true;
	a->revoked = d->revoked;
	a->reviewer = strcmp(d->role, "reviewer") == 0 || strcmp(d->role, "admin") == 0;
	if (strcmp(d->role, "reviewer") == 0 && d->review_teams != NULL) {
		snprintf(a->teams_buf, sizeof(a->teams_buf), "%s", d->review_teams);
		a->teams = a->teams_buf;
	}
	return 1;
}

static bool
assignee_sees(const struct assignee *a, const char *team)
{
	cJSON *arr, *x;
	bool ok = false;

	if (a->teams == NULL)
		return true;
	if ((arr = cJSON_Parse(a->teams)) == NULL)
		return false;
	cJSON_ArrayForEach(x, arr)
	if (cJSON_IsString(x) && strcmp(x->valuestring, team) == 0)
		ok = true;
	cJSON_Delete(arr);
	return ok;
}

int
review_handle_assign(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	const cJSON *to, *note;
	char msg[160], team[AUTH_NAME_MAX + 1] = "";
	struct assignee a = { 0 };
	cJSON *root, *obj;
	fs_err err;

	if (!review_valid_id(req->param))
		return http_error(resp, 404, "not_found", "no such record");
	if (form_json_parse(req->body, req->body_len, "body", &root, msg, sizeof(msg)) != FS_OK)
		return http_error(resp, 400, "bad_json", msg);
	to = cJSON_GetObjectItemCaseSensitive(root, "to");
	note = cJSON_GetObjectItemCaseSensitive(root, "note");
	if (to == NULL || (!cJSON_IsNull(to) && (!cJSON_IsString(to) || !auth_valid_name(to->valuestring)))) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "'to' must be a reviewer's name, or null");
	}
	if (note != NULL && !cJSON_IsNull(note) &&
	    (!cJSON_IsString(note) || strlen(note->valuestring) > REVIEW_NOTE_MAX)) {
		cJSON_Delete(root);
		snprintf(msg, sizeof(msg), "'note' must be a text of at most %d bytes", REVIEW_NOTE_MAX);
		return http_error(resp, 400, "bad_request", msg);
	}
	if ((err = store_review_get(ctx->store, req->param, record_team, team)) != FS_OK) {
		cJSON_Delete(root);
		return http_error_fs(resp, err, err == FS_ERR_NOTFOUND ? "no such record" : "could not read the record");
	}
	if (cJSON_IsString(to)) {
		a.name = to->valuestring;
		if ((err = store_device_list(ctx->store, find_assignee, &a)) != FS_OK) {
			cJSON_Delete(root);
			return http_error_fs(resp, err, "could not read the devices");
		}
		if (!a.found || a.revoked || !a.reviewer || !assignee_sees(&a, team)) {
			cJSON_Delete(root);
			return http_error(resp, 400, "bad_request",
			    "'to' must name a reviewer who is not revoked and sees the record's team");
		}
	}
	err = store_review_assign(ctx->store, req->param, cJSON_IsString(to) ? to->valuestring : NULL,
	    cJSON_IsString(note) ? note->valuestring : NULL, req->who->name);
	if (err != FS_OK) {
		cJSON_Delete(root);
		return http_error_fs(resp, err, err == FS_ERR_NOTFOUND ? "no such record" : "could not assign");
	}
	log_info("review %s: %s assigned record %s to %s", req->request_id, req->who->name,
	    req->param, cJSON_IsString(to) ? to->valuestring : "nobody");
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "id", req->param);
	cJSON_AddItemToObject(obj, "assigned_to",
	    cJSON_IsString(to) ? cJSON_CreateString(to->valuestring) : cJSON_CreateNull());
	cJSON_Delete(root);
	return http_reply_json(resp, 200, obj);
}

int
review_handle_status(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	const cJSON *status, *note;
	char msg[160];
	cJSON *root, *obj;
	fs_err err;

	if (!review_valid_id(req->param))
		return http_error(resp, 404, "not_found", "no such record");
	if (form_json_parse(req->body, req->body_len, "body", &root, msg, sizeof(msg)) != FS_OK)
		return http_error(resp, 400, "bad_json", msg);
	status = cJSON_GetObjectItemCaseSensitive(root, "status");
	note = cJSON_GetObjectItemCaseSensitive(root, "note");
	if (!cJSON_IsString(status) || !review_status_settable(status->valuestring)) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request",
		    "'status' must be \"reviewed\", \"follow_up\" or \"referred\"");
	}
	if (note != NULL && !cJSON_IsNull(note) &&
	    (!cJSON_IsString(note) || strlen(note->valuestring) > REVIEW_NOTE_MAX)) {
		cJSON_Delete(root);
		snprintf(
		    msg, sizeof(msg), "'note' must be a text of at most %d bytes", REVIEW_NOTE_MAX);
		return http_error(resp, 400, "bad_request", msg);
	}
	err = store_review_set_status(ctx->store, req->param, status->valuestring,
	    cJSON_IsString(note) ? note->valuestring : NULL, req->who->name);
	if (err != FS_OK) {
		cJSON_Delete(root);
		return http_error_fs(resp, err,
		    err == FS_ERR_NOTFOUND ? "no such record" : "could not set the status");
	}
	log_info("review %s: %s set record %s to %s", req->request_id, req->who->name, req->param,
	    status->valuestring);
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "id", req->param);
	cJSON_AddStringToObject(obj, "review_status", status->valuestring);
	cJSON_Delete(root);
	return http_reply_json(resp, 200, obj);
}
