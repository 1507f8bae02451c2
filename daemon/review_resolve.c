/*
 * review_resolve.c -- POST /v1/review/records/ID/resolve: a reviewer
 * settles the conflict on one field by choosing a value.
 *
 * The choice becomes an ordinary change (docs/PROTOCOL.md, "Change"),
 * authored by the server: stamped by the server's own clock (store_records.h)
 * above every stamp the field has, with a base that lists every current head
 * of the field, so every conflict on it is settled and every replica that
 * merges the change reaches the same state.  It goes into the received
 * change log under the record's team, so field devices pull it like any
 * other change, and is merged here (store_push_record_merge()) in the same
 * explicit store transaction (struct store_push) that writes the review
 * event and the audit entry: all of it commits, or none.  The value
 * is checked against the record's form version like a pushed one.
 *
 * The reviewer chooses either a candidate by its stamp (the current value
 * or a conflicting one; the browser never needs a sensitive value for
 * that) or gives a new value.
 *
 * Merge rule 2's record-level conflict (a delete, and an edit it did not
 * see: common/merge.h) is settled with {"record": "delete"} -- a delete
 * whose base names every head of every field, so a delete saw everything
 * -- or {"record": "keep"} -- an upsert with no field whose base names the
 * deletes under "@delete".  Both are changes like the above.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "change.h"
#include "custody.h"
#include "server_key.h"
#include "form.h"
#include "hq_change.h"
#include "http.h"
#include "log.h"
#include "review_api.h"
#include "server.h"
#include "store.h"
#include "store_records.h"
#include "store_review.h"

struct resolve_req {
	const char *record; /* "delete" or "keep": the record-level conflict */
	const char *field;
	const char *stamp;  /* chosen candidate, or NULL */
	const cJSON *value; /* new value, or NULL */
	const char *note;   /* may be NULL */
};

/* Checks the body; answers 400 itself and returns false. */
static bool
parse_body(const cJSON *root, struct resolve_req *rr, struct http_response *resp)
{
	const cJSON *field = cJSON_GetObjectItemCaseSensitive(root, "field");
	const cJSON *stamp = cJSON_GetObjectItemCaseSensitive(root, "stamp");
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(root, "value");
	const cJSON *note = cJSON_GetObjectItemCaseSensitive(root, "note");
	const cJSON *record = cJSON_GetObjectItemCaseSensitive(root, "record");
	uint64_t ts;

	if (cJSON_IsObject(root) && record != NULL) {
		if (!cJSON_IsString(record) || (strcmp(record->valuestring, "delete") != 0 &&
						   strcmp(record->valuestring, "keep") != 0) ||
		    field != NULL || stamp != NULL || value != NULL) {
			http_error(resp, 400, "bad_request",
			    "'record' is \"delete\" or \"keep\", without 'field', 'stamp' or 'value'");
			return false;
		}
		rr->record = record->valuestring;
		rr->field = "@record";
		rr->stamp = NULL;
		rr->value = NULL;
	} else if (!cJSON_IsObject(root) || !cJSON_IsString(field) || field->valuestring[0] == '\0' ||
	    strlen(field->valuestring) > FORM_KEY_MAX) {
		http_error(resp, 400, "bad_request", "'field' must name a field");
		return false;
	}
	if (rr->record == NULL && (stamp == NULL) == (value == NULL)) {
		http_error(
		    resp, 400, "bad_request", "give either 'stamp' (a candidate) or 'value'");
		return false;
	}
	if (stamp != NULL &&
	    (!cJSON_IsString(stamp) || hlc_parse(stamp->valuestring, &ts, NULL) != FS_OK)) {
		http_error(resp, 400, "bad_request", "'stamp' must be a stamp");
		return false;
	}
	if (note != NULL && !cJSON_IsNull(note) &&
	    (!cJSON_IsString(note) || strlen(note->valuestring) > REVIEW_NOTE_MAX)) {
		http_error(resp, 400, "bad_request", "'note' must be a short text");
		return false;
	}
	if (rr->record == NULL) {
		rr->field = field->valuestring;
		rr->stamp = stamp != NULL ? stamp->valuestring : NULL;
		rr->value = value;
	}
	rr->note = cJSON_IsString(note) ? note->valuestring : NULL;
	return true;
}

/* The outcome of a resolution, for the answer. */
struct resolve_out {
	char stamp[HLC_TEXT_LEN + 1];
	int64_t seq;
	int open;     /* open conflicts of the record afterwards */
	size_t heads; /* heads settled */
	int status;   /* HTTP status of a refusal, 0 on success */
	const char *error, *detail;
	char msg[256];
};

static fs_err
refuse(struct resolve_out *out, int status, const char *error, const char *detail)
{
	out->status = status;
	out->error = error;
	out->detail = detail;
	return FS_ERR_INVALID;
}

/* Builds the change object of the resolution. */
static cJSON *
build_change(const char *id, const char *form, int64_t version, const char *stamp,
    const char *field, cJSON *value, const struct store_head *heads, size_t n)
{
	cJSON *ch = cJSON_CreateObject(), *fields, *base, *list;

	cJSON_AddStringToObject(ch, "id", id);
	cJSON_AddStringToObject(ch, "form", form);
	cJSON_AddNumberToObject(ch, "form_version", (double)version);
	cJSON_AddStringToObject(ch, "op", "upsert");
	cJSON_AddStringToObject(ch, "hlc", stamp);
	fields = cJSON_AddObjectToObject(ch, "fields");
	cJSON_AddItemToObject(fields, field, value);
	base = cJSON_AddObjectToObject(ch, "base");
	list = cJSON_AddArrayToObject(base, field);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(heads[i].stamp));
	return ch;
}

/* Everything inside the push transaction. */
static fs_err
resolve_in(struct server_ctx *ctx, struct store_push *push, const char *id,
    const struct resolve_req *rr, const char *actor, struct resolve_out *out)
{
	struct store_head heads[MERGE_MAX_BASES] = {0};
	char form_id[65], team[65], max[HLC_TEXT_LEN + 1];
	struct merge_result res = {0};
	struct form *form = NULL;
	cJSON *value = NULL, *obj = NULL;
	int64_t version;
	size_t n = 0;
	fs_err err;

	if ((err = store_push_record_info(push, id, form_id, &version, team)) != FS_OK) {
		if (err == FS_ERR_NOTFOUND)
			refuse(out, 404, "not_found", "no such record");
		return err;
	}
	if ((err = store_form_get(ctx->store, form_id, version, &form)) != FS_OK)
		return err;
	if (rr->record != NULL) {
		bool keep = strcmp(rr->record, "keep") == 0;
		cJSON *base = NULL;

		if ((err = store_push_delete_resolution(push, id, keep, &base, max)) != FS_OK)
			goto out;
		if (base == NULL) {
			err = refuse(out, 409, "no_conflict",
			    "the record has no open conflict between a delete and an edit");
			goto out;
		}
		if ((err = store_push_server_stamp(push, max, out->stamp)) != FS_OK ||
		    (obj = cJSON_CreateObject()) == NULL) {
			cJSON_Delete(base);
			err = err != FS_OK ? err : FS_ERR_NOMEM;
			goto out;
		}
		cJSON_AddStringToObject(obj, "id", id);
		cJSON_AddStringToObject(obj, "form", form_id);
		cJSON_AddNumberToObject(obj, "form_version", (double)version);
		cJSON_AddStringToObject(obj, "op", keep ? "upsert" : "delete");
		cJSON_AddStringToObject(obj, "hlc", out->stamp);
		if (keep)
			cJSON_AddObjectToObject(obj, "fields");
		cJSON_AddItemToObject(obj, "base", base);
		goto sign;
	}
	if (form_field_find(form, rr->field) == NULL) {
		err = refuse(
		    out, 400, "bad_request", "the field is not in the record's form version");
		goto out;
	}
	err = store_push_field_heads(push, id, rr->field, heads, MERGE_MAX_BASES, &n, max);
	if (err == FS_ERR_TOOBIG)
		err =
		    refuse(out, 409, "too_many_heads", "the field has too many concurrent values");
	if (err != FS_OK)
		goto out;
	if (n < 2) {
		err = refuse(out, 409, "no_conflict", "the field has no open conflict");
		goto out;
	}
	if (rr->stamp != NULL) {
		size_t i;
		for (i = 0; i < n && strcmp(heads[i].stamp, rr->stamp) != 0; i++)
			;
		if (i == n) {
			err = refuse(out, 409, "stale",
			    "the chosen value is no longer a candidate; reload the record");
			goto out;
		}
		value = review_value_json(heads[i].value);
	} else {
		value = cJSON_Duplicate(rr->value, 1);
	}
	if ((err = store_push_server_stamp(push, max, out->stamp)) != FS_OK)
		goto out;
	obj = build_change(id, form_id, version, out->stamp, rr->field, value, heads, n);
	value = NULL;
	if (obj == NULL) {
		err = FS_ERR_NOMEM;
		goto out;
	}
sign:
	err = hq_change_commit(push, ctx->key, form, obj, team, actor, "review", &out->seq, &res,
	    &out->open, out->msg, sizeof(out->msg));
	if (err == FS_ERR_INVALID) {
		err = refuse(out, 400, "invalid", out->msg);
		goto out;
	}
	if (err != FS_OK ||
	    (err = store_push_review_event(push, id, rr->field, out->stamp, rr->note, actor)) !=
		FS_OK)
		goto out;
	out->heads = n;
	if (rr->record != NULL)
		snprintf(out->msg, sizeof(out->msg), "record=%s stamp=%s", rr->record, out->stamp);
	else
		snprintf(out->msg, sizeof(out->msg), "field=%s stamp=%s settled=%zu by=%s",
		    rr->field, out->stamp, n, rr->stamp != NULL ? "candidate" : "new_value");
	err = store_push_audit(push, actor, "review.resolve", id, out->msg);
out:
	cJSON_Delete(value);
	cJSON_Delete(obj);
	store_heads_finish(heads, n);
	form_free(form);
	return err;
}

int
review_handle_resolve(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	struct resolve_out out = {.status = 0};
	struct store_push *push = NULL;
	struct resolve_req rr = { 0 };
	cJSON *root, *obj;
	char msg[160];
	fs_err err;

	if (!review_valid_id(req->param))
		return http_error(resp, 404, "not_found", "no such record");
	if (form_json_parse(req->body, req->body_len, "body", &root, msg, sizeof(msg)) != FS_OK)
		return http_error(resp, 400, "bad_json", msg);
	if (!parse_body(root, &rr, resp)) {
		cJSON_Delete(root);
		return 0;
	}
	if ((err = store_push_begin(ctx->store, &push)) == FS_OK) {
		err = resolve_in(ctx, push, req->param, &rr, req->who->name, &out);
		if (err == FS_OK) {
			err = store_push_commit(push);
			push = NULL;
		}
	}
	store_push_abort(push);
	if (out.status != 0 || err != FS_OK) {
		if (out.status != 0)
			http_error(resp, out.status, out.error, out.detail);
		else
			http_error_fs(resp, err, "the resolution was not applied");
		cJSON_Delete(root);
		return 0;
	}
	if (rr.record != NULL)
		log_info("review %s: %s resolved record %s: %s", req->request_id, req->who->name,
		    req->param, rr.record);
	else
		log_info("review %s: %s resolved field %s of record %s (%zu values settled)",
		    req->request_id, req->who->name, rr.field, req->param, out.heads);
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "id", req->param);
	if (rr.record != NULL)
		cJSON_AddStringToObject(obj, "record", rr.record);
	else
		cJSON_AddStringToObject(obj, "field", rr.field);
	cJSON_AddStringToObject(obj, "hlc", out.stamp);
	cJSON_AddNumberToObject(obj, "seq", (double)out.seq);
	cJSON_AddNumberToObject(obj, "settled", (double)out.heads);
	cJSON_AddNumberToObject(obj, "open_conflicts", out.open);
	cJSON_Delete(root);
	return http_reply_json(resp, 200, obj);
}
