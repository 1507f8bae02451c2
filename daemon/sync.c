/*
 * sync.c -- POST /v1/push and GET /v1/pull.
 *
 * Push: one batch is one transaction.  The batch id makes a retry
 * idempotent (the first answer is stored and returned again), and each
 * change is also unique by (record, stamp), so even a batch re-sent under a
 * new id applies nothing twice.  A change that breaks its form is rejected
 * with its reason and does not stop the others.  Whole-batch refusals:
 * malformed body (400), a device id that is not this token's (403), a
 * stamp too far ahead of the server clock (409 clock_ahead), too many
 * changes (413), a store failure (5xx: nothing applied).
 *
 * Pull: the received change log after a cursor, restricted to the caller's
 * team for field devices.  Nothing here logs a field value.
 */
#include "sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "change.h"
#include "config.h"
#include "form.h"
#include "hlc.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "protocol.h"
#include "push_answer.h"
#include "push_custody.h"
#include "push_spans.h"
#include "server.h"
#include "store.h"
#include "store_records.h"
#include "referral.h"

#define PULL_DEFAULT_LIMIT 500
#define PULL_MAX_LIMIT 5000
#define BATCH_ID_MAX 64
#define PUSH_FORM_CACHE 16
/* A full batch (5000 changes of ~30 fields) is ~300k elements. */
#define PUSH_MAX_ELEMENTS 1000000

/* Forms named by one batch, loaded once each. */
struct form_cache {
	struct form *forms[PUSH_FORM_CACHE];
	size_t n;
};

static void
form_cache_finish(struct form_cache *fc)
{
	for (size_t i = 0; i < fc->n; i++)
		form_free(fc->forms[i]);
}

static fs_err
form_cache_get(struct form_cache *fc, struct store *store, const char *id, int64_t version,
    const struct form **ret)
{
	struct form *form;
	fs_err err;

	for (size_t i = 0; i < fc->n; i++) {
		if (fc->forms[i]->version == version && strcmp(fc->forms[i]->id, id) == 0) {
			*ret = fc->forms[i];
			return FS_OK;
		}
	}
	if ((err = store_form_get(store, id, version, &form)) != FS_OK)
		return err;
	if (fc->n == PUSH_FORM_CACHE) {
		form_free(fc->forms[0]);
		memmove(fc->forms, fc->forms + 1, (PUSH_FORM_CACHE - 1) * sizeof(fc->forms[0]));
		fc->n--;
	}
	fc->forms[fc->n++] = form;
	*ret = form;
	return FS_OK;
}

static int64_t
elapsed_us(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000 + (t.tv_nsec - t0->tv_nsec) / 1000;
}

/*
 * An upper bound on the JSON values in text: every value but the first
 * follows a ',', ':' or '[' (the first is counted once).  A bracket inside a
 * string only makes the bound looser, never lets a body through.
 */
static size_t
json_elements(const char *text, size_t len)
{
	size_t n = 1;

	for (size_t i = 0; i < len; i++)
		n += text[i] == ',' || text[i] == ':' || text[i] == '[' || text[i] == '{';
	return n;
}

static bool
valid_batch_id(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			c == '-' || c == '_'))
			return false;
	}
	return n > 0 && n <= BATCH_ID_MAX;
}

static void
set_json(struct http_response *resp, int status, cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);

	cJSON_Delete(obj);
	if (text == NULL) {
		http_error(resp, 500, "internal", "out of memory");
		return;
	}
	resp->status = status;
	resp->body = text;
	resp->body_len = strlen(text);
}

/*
 * The protocol version of a request (protocol.h): 1 without the header, the
 * header's number when this server speaks it.  Anything else, or another
 * merge rule, is answered 400 with the versions this server speaks and
 * nothing is changed; 0 is returned then.
 */
int
sync_version(const struct http_request *req, struct http_response *resp)
{
	const char *error = NULL;
	int64_t v = 1, rule = FS_MERGE_RULE_VERSION;
	char detail[192];
	char *end;

	if (req->protocol != NULL) {
		v = strtoll(req->protocol, &end, 10);
		if (end == req->protocol || *end != '\0' || v < FS_PROTOCOL_OLDEST ||
		    v > FS_PROTOCOL_VERSION)
			error = "unsupported_protocol";
	}
	if (error == NULL && req->merge_rule != NULL) {
		rule = strtoll(req->merge_rule, &end, 10);
		if (end == req->merge_rule || *end != '\0' || rule != FS_MERGE_RULE_VERSION)
			error = "unsupported_merge_rule";
	}
	if (error == NULL)
		return (int)v;
	snprintf(detail, sizeof(detail),
	    "this server speaks protocol %d to %d with merge rule %d; update fieldsync",
	    FS_PROTOCOL_OLDEST, FS_PROTOCOL_VERSION, FS_MERGE_RULE_VERSION);
	{
		cJSON *obj = cJSON_CreateObject();
		cJSON_AddStringToObject(obj, "error", error);
		cJSON_AddStringToObject(obj, "detail", detail);
		cJSON_AddNumberToObject(obj, "protocol", FS_PROTOCOL_VERSION);
		cJSON_AddNumberToObject(obj, "protocol_oldest", FS_PROTOCOL_OLDEST);
		cJSON_AddNumberToObject(obj, "merge_rule", FS_MERGE_RULE_VERSION);
		set_json(resp, 400, obj);
	}
	return 0;
}

/* Checks the envelope; fills device, batch, changes or answers 4xx. */
static bool
push_envelope(const struct server_ctx *ctx, const cJSON *root, int protocol, const char **device,
    const char **batch, const cJSON **changes, struct http_response *resp)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "device");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "batch");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "changes");
	char detail[128];
	int n;

	const cJSON *key;

	if (!cJSON_IsObject(root)) {
		http_error(resp, 400, "bad_request", "body must be a JSON object");
		return false;
	}
	/* Strict, as the document is: a key the protocol does not name is refused (issue 14). */
	cJSON_ArrayForEach(key, root)
	{
		if (strcmp(key->string, "device") != 0 && strcmp(key->string, "batch") != 0 &&
		    strcmp(key->string, "changes") != 0 && strcmp(key->string, "acked") != 0 &&
		    (protocol < 3 || strcmp(key->string, "key") != 0)) {
			snprintf(detail, sizeof(detail), "unknown key '%.64s' in the push body",
			    key->string);
			http_error(resp, 400, "bad_request", detail);
			return false;
		}
	}
	if (!cJSON_IsString(d) || !hlc_valid_device(d->valuestring)) {
		http_error(resp, 400, "bad_request", "'device' must be 16 lower-case hex digits");
		return false;
	}
	if (!cJSON_IsString(b) || !valid_batch_id(b->valuestring)) {
		http_error(resp, 400, "bad_request", "'batch' must be 1 to 64 of [A-Za-z0-9_-]");
		return false;
	}
	if (!cJSON_IsArray(c)) {
		http_error(resp, 400, "bad_request", "'changes' must be an array");
		return false;
	}
	n = cJSON_GetArraySize(c);
	if (n < 1 || (unsigned)n > ctx->cfg->max_changes_per_batch) {
		snprintf(detail, sizeof(detail), "a batch holds 1 to %u changes",
		    ctx->cfg->max_changes_per_batch);
		http_error(resp, n < 1 ? 400 : 413, n < 1 ? "bad_request" : "too_large", detail);
		return false;
	}
	*device = d->valuestring;
	*batch = b->valuestring;
	*changes = c;
	return true;
}

/* 409 when any stamp is further ahead of the server clock than allowed. */
static bool
push_clock_ok(const struct server_ctx *ctx, const cJSON *changes, struct http_response *resp)
{
	int64_t now = hlc_wall_ms(), limit = now + ctx->cfg->max_clock_ahead_ms;
	const cJSON *item;
	uint64_t stamp;

	cJSON_ArrayForEach(item, changes)
	{
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(item, "hlc");
		if (cJSON_IsString(h) && hlc_parse(h->valuestring, &stamp, NULL) == FS_OK &&
		    (int64_t)hlc_ms(stamp) > limit) {
			cJSON *obj = cJSON_CreateObject();
			cJSON_AddStringToObject(obj, "error", "clock_ahead");
			cJSON_AddStringToObject(obj, "detail",
			    "a change is stamped ahead of the server clock; correct the device"
			    " clock offset and re-stamp pending changes");
			cJSON_AddNumberToObject(obj, "server_time_ms", (double)now);
			cJSON_AddNumberToObject(obj, "max_ahead_ms",
			    (double)ctx->cfg->max_clock_ahead_ms);
			set_json(resp, 409, obj);
			return false;
		}
	}
	return true;
}


/*
 * A change of another form version than its record's (docs/PROTOCOL.md,
 * "Form versions").  The record takes the higher of the two versions, so
 * every value it would then hold must satisfy that version's rules: the
 * change's values when the record is ahead, the record's values with the
 * change's when the change moves it forward.  Only the rules of present
 * values are checked (type, limits, choices); a field that the newer
 * version requires and the record lacks does not hold the record back.
 * FS_ERR_INVALID with the field and rule in msg.
 */
/* The record's stored values with the change's laid over them (*ret the caller's). */
static fs_err
overlay_values(struct store_push *push, const struct change *ch, cJSON **ret)
{
	const cJSON *item;
	cJSON *values;
	fs_err err;

	if ((err = store_push_record_values(push, ch->id, &values)) != FS_OK)
		return err;
	cJSON_ArrayForEach(item, ch->fields)
	{
		cJSON *copy = cJSON_Duplicate(item, 1);

		if (copy == NULL) {
			cJSON_Delete(values);
			return FS_ERR_NOMEM;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(values, item->string);
		cJSON_AddItemToObject(values, item->string, copy);
	}
	*ret = values;
	return FS_OK;
}

/*
 * Skip logic (issue 19): a change may not set a question that does not
 * apply to the record it makes (the stored values with the change's).
 * The device clears such a field itself; a change that sets one is
 * refused like any other broken rule, naming the field and the rule.
 */
static fs_err
relevance_check(struct store_push *push, const struct form *form, const struct change *ch,
    char *msg, size_t len)
{
	char today[11];
	cJSON *values;
	fs_err err;

	if (ch->is_delete || !form_has_logic(form))
		return FS_OK;
	if ((err = overlay_values(push, ch, &values)) != FS_OK)
		return err;
	form_today(today);
	err = form_check_relevant(form, values, ch->fields, today, msg, len);
	cJSON_Delete(values);
	return err;
}

static fs_err
version_check(struct server_ctx *ctx, struct form_cache *fc, struct store_push *push,
    const struct store_record_head *head, const struct change *ch, char *msg, size_t len)
{
	int64_t target = head->form_version > ch->form_version ? head->form_version
							       : ch->form_version;
	const struct form *tf;
	cJSON *values = NULL;
	char why[200];
	fs_err err;

	if (ch->is_delete)
		return FS_OK; /* nulls satisfy every version */
	if ((err = form_cache_get(fc, ctx->store, ch->form, target, &tf)) != FS_OK)
		return err;
	/* The change moves the record forward: all of it must fit. */
	if (target == ch->form_version && (err = overlay_values(push, ch, &values)) != FS_OK)
		return err;
	err = form_validate(tf, values != NULL ? values : ch->fields, false, why, sizeof(why));
	cJSON_Delete(values);
	if (err == FS_ERR_NOMEM)
		return err;
	if (err != FS_OK) {
		snprintf(msg, len, "the record would be form version %lld, whose rules it breaks: %.160s",
		    (long long)target, why);
		return FS_ERR_INVALID;
	}
	return FS_OK;
}

/* A refusal after the custody checks: the change's link stays in the device's chain. */
static fs_err
refuse(struct push_custody *pc, struct store_push *push, const char *device, cJSON *rejected,
    int index, const struct change *ch, const char *error, const char *detail)
{
	fs_err err;

	if ((err = push_custody_took(pc, push, device, ch, error)) != FS_OK)
		return err;
	return push_reject(rejected, index, ch, error, detail);
}

/* The records and stamps the batch names, read at once where the store gains by it. */
static fs_err
prefetch(struct store_push *push, const cJSON *changes)
{
	size_t n = (size_t)cJSON_GetArraySize(changes), i = 0;
	const char **ids = calloc(n + 1, sizeof(*ids)), **hlcs = calloc(n + 1, sizeof(*hlcs));
	const cJSON *item;
	fs_err err = FS_OK;

	if (ids == NULL || hlcs == NULL) {
		err = FS_ERR_NOMEM;
		goto out;
	}
	cJSON_ArrayForEach(item, changes)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
		const cJSON *hlc = cJSON_GetObjectItemCaseSensitive(item, "hlc");

		ids[i] = cJSON_IsString(id) ? id->valuestring : NULL;
		hlcs[i] = cJSON_IsString(hlc) ? hlc->valuestring : NULL;
		i++;
	}
	err = store_push_prefetch(push, ids, hlcs, i);
out:
	free(ids);
	free(hlcs);
	return err;
}

/* Validates and merges one change inside the push transaction. */
static fs_err
push_one(struct server_ctx *ctx, struct store_push *push, struct form_cache *fc,
    struct push_custody *pc, const struct auth_identity *who, const char *device,
    const char *batch, int index, const cJSON *item, const struct push_span *span,
    cJSON *rejected, struct push_counts *counts)
{
	struct merge_result res = { 0 };
	const struct form *form;
	struct change ch;
	struct store_record_head head;
	char msg[256];
	bool dup;
	int64_t seq;
	int open = 0;
	char *body;
	fs_err err;

	if (change_parse(item, &ch, msg, sizeof(msg)) != FS_OK) {
		return push_reject(rejected, index, NULL, "invalid", msg);
	}
	if (strcmp(ch.device, device) != 0) {
		return push_reject(rejected, index, &ch, "wrong_device",
		    "the change is stamped by another device");
	}
	/* Signature and chain first: whatever follows refuses a change proven to be the device's. */
	{
		const char *why;
		bool replay;

		if ((err = push_custody_change(pc, push, &ch, &replay, &why, msg, sizeof(msg))) !=
		    FS_OK)
			return err;
		if (why != NULL)
			return push_reject(rejected, index, &ch, why, msg);
		if (replay) {
			counts->duplicates++;
			return FS_OK;
		}
	}
	if ((err = form_cache_get(fc, ctx->store, ch.form, ch.form_version, &form)) != FS_OK) {
		if (err != FS_ERR_NOTFOUND)
			return err;
		return refuse(pc, push, device, rejected, index, &ch, "unknown_form", "form version is not published");
	}
	if (change_check(&ch, form, msg, sizeof(msg)) != FS_OK) {
		return refuse(pc, push, device, rejected, index, &ch, "invalid", msg);
	}
	/* Referrals are headquarters' (referral.h): a device reads them, never writes them. */
	if (strcmp(ch.form, REFERRAL_FORM) == 0)
		return refuse(pc, push, device, rejected, index, &ch, "forbidden",
		    "referrals are written at headquarters, through the review API");
	if ((err = store_push_record_head(push, ch.id, &head)) != FS_OK)
		return err;
	if (head.exists && strcmp(head.team, who->team) != 0) {
		return refuse(pc, push, device, rejected, index, &ch, "forbidden", "the record belongs to another team");
	}
	/* A record keeps its form: a change naming another is refused (issue 14). */
	if (head.exists && strcmp(head.form, ch.form) != 0) {
		return refuse(pc, push, device, rejected, index, &ch, "form_mismatch",
		    "the change names another form than its record's");
	}
	if (head.exists && head.form_version != ch.form_version &&
	    (err = version_check(ctx, fc, push, &head, &ch, msg, sizeof(msg))) != FS_OK) {
		if (err != FS_ERR_INVALID)
			return err;
		return refuse(pc, push, device, rejected, index, &ch, "invalid", msg);
	}
	if ((err = relevance_check(push, form, &ch, msg, sizeof(msg))) != FS_OK) {
		if (err != FS_ERR_INVALID)
			return err;
		return refuse(pc, push, device, rejected, index, &ch, "invalid", msg);
	}
	body = span != NULL ? strndup(span->start, span->len) : cJSON_PrintUnformatted(item);
	if (body == NULL)
		return FS_ERR_NOMEM;
	err = store_push_change_insert(push, &ch, body, who->team, device, batch, &seq, &dup);
	free(body);
	if (err != FS_OK)
		return err;
	if (dup) {
		counts->duplicates++;
		return FS_OK;
	}
	if ((err = push_custody_took(pc, push, device, &ch, NULL)) != FS_OK)
		return err;
	if ((err = store_push_record_merge(push, form, &ch, who->team, who->name, seq, &res,
		 &open)) != FS_OK)
		return err;
	counts->accepted++;
	counts->conflicts += res.conflicts;
	counts->last_seq = seq;
	snprintf(counts->last_hlc, sizeof(counts->last_hlc), "%s", ch.hlc);
	if (strcmp(ch.hlc, counts->max_hlc) > 0)
		snprintf(counts->max_hlc, sizeof(counts->max_hlc), "%s", ch.hlc);
	return FS_OK;
}

/*
 * Protocol 2: the envelope's "acked" is the last point of the log this
 * device saw acknowledged; the answer gives the stamp there ("acked_hlc",
 * "" when the log holds none: a server restored from an older backup).
 * The device compares it with the stamp it remembers, so a restore is
 * seen on the push it makes anyway, without a request of its own.
 */
static bool
push_acked_answer(struct server_ctx *ctx, const struct auth_identity *who, const cJSON *root,
    cJSON *answer)
{
	const cJSON *acked = cJSON_GetObjectItemCaseSensitive(root, "acked");
	char hlc[HLC_TEXT_LEN + 1];

	if (!cJSON_IsNumber(acked) || acked->valuedouble < 1 || acked->valuedouble > 9e15)
		return true;
	if (store_change_hlc(ctx->store, who->team, (int64_t)acked->valuedouble, hlc) != FS_OK)
		return false;
	cJSON_AddNumberToObject(answer, "acked", (double)(int64_t)acked->valuedouble);
	cJSON_AddStringToObject(answer, "acked_hlc", hlc);
	return true;
}

/* Replays the stored answer with the current server time. */
static void
push_replay(struct server_ctx *ctx, const struct auth_identity *who, const cJSON *root,
    struct http_response *resp, const char *stored)
{
	cJSON *obj = cJSON_Parse(stored);

	if (obj == NULL) {
		http_error(resp, 500, "internal", "stored batch answer is damaged");
		return;
	}
	cJSON_AddTrueToObject(obj, "replayed");
	if (!push_acked_answer(ctx, who, root, obj)) {
		cJSON_Delete(obj);
		http_error(resp, 500, "store", "could not read the log");
		return;
	}
	cJSON_AddNumberToObject(obj, "time_ms", (double)hlc_wall_ms());
	set_json(resp, 200, obj);
}

int
sync_handle_push(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp)
{
	const struct auth_identity *who = req->who;
	struct push_counts counts = { 0 };
	struct push_custody pc = { 0 };
	struct form_cache fc = { .n = 0 };
	int protocol;
	struct store_push *push = NULL;
	const char *device, *batch;
	const cJSON *changes, *item;
	cJSON *root, *rejected = NULL, *answer;
	char *stored = NULL, *text = NULL, msg[256], cursor_hlc[HLC_TEXT_LEN + 1] = "";
	struct push_span *spans = NULL;
	size_t nspans = 0;
	int64_t cursor = 0;
	int index = 0;
	struct timespec t0;
	fs_err err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!auth_require(who, AUTH_PUSH))
		return http_error(resp, 403, "forbidden", "this token may not push"), 0;
	if ((protocol = sync_version(req, resp)) == 0)
		return 0;
	/* The body is JSON and says so (issue 14): a form post or text is refused. */
	{
		const char *ct = http_header(req, "Content-Type");

		if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
		    (ct[16] != '\0' && ct[16] != ';')) {
			http_error(resp, 415, "unsupported_media_type",
			    "a push body is JSON: Content-Type: application/json");
			return 0;
		}
	}
	/* cJSON costs ~64 bytes a node: bound the nodes before parsing. */
	if (json_elements(req->body, req->body_len) > PUSH_MAX_ELEMENTS)
		return http_error(resp, 413, "too_large", "the body has too many JSON elements"), 0;
	/* Strict: one value, no NUL, no \u0000, no duplicate keys in values. */
	if (form_json_parse(req->body, req->body_len, "body", &root, msg, sizeof(msg)) != FS_OK)
		return http_error(resp, 400, "bad_json", msg), 0;
	if (change_dup_keys(root) != 0) {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "a key appears twice in the body"), 0;
	}
	if (!push_envelope(ctx, root, protocol, &device, &batch, &changes, resp))
		goto out;
	/*
	 * A token's first push binds it to the device id, once the batch has
	 * passed the clock check (a refused batch changes nothing).  A bound
	 * device's batch goes to the replay lookup first: a batch the server
	 * applied gets its first answer back even if the server's clock (or
	 * max_clock_ahead_ms) has moved since -- a 409 there would have the
	 * device re-stamp changes the server already holds, stored twice.
	 */
	if (strcmp(who->hlc_device, device) != 0) {
		if (!push_clock_ok(ctx, changes, resp))
			goto out;
		switch ((err = store_device_bind_hlc(ctx->store, who->device_rowid, device))) {
		case FS_OK:
			break;
		case FS_ERR_FORBIDDEN:
			http_error(resp, 403, "device_mismatch",
			    "this token belongs to another device id");
			goto out;
		case FS_ERR_EXISTS:
			http_error(resp, 403, "device_taken",
			    "this device id is enrolled with another token");
			goto out;
		case FS_ERR_INVALID:
			http_error(resp, 400, "bad_request", "'device' is not a device id");
			goto out;
		case FS_ERR_NOTFOUND:
			http_error(resp, 401, "unauthorized", "the token's device was removed");
			goto out;
		default:
			http_error_store(resp, err, "could not bind the device id");
			goto out;
		}
	}
	/* A replay is answered without waiting for the writer lock... */
	if ((err = store_batch_answer(ctx->store, device, batch, &stored)) != FS_OK) {
		http_error_store(resp, err, fs_strerror(err));
		goto out;
	}
	if (stored != NULL) {
		push_replay(ctx, who, root, resp, stored);
		goto out;
	}
	if ((err = store_push_begin(ctx->store, &push)) != FS_OK)
		goto fail;
	/*
	 * ... and looked up again under it: a retry that arrived while the
	 * first attempt was being applied finds its answer now, before the
	 * clock check could refuse it.
	 */
	if ((err = store_batch_answer(ctx->store, device, batch, &stored)) != FS_OK)
		goto fail;
	if (stored != NULL) {
		store_push_abort(push);
		push = NULL;
		push_replay(ctx, who, root, resp, stored);
		goto out;
	}
	if (!push_clock_ok(ctx, changes, resp)) {
		store_push_abort(push);
		push = NULL;
		goto out;
	}
	switch ((err = push_custody_begin(&pc, push, device, root, protocol, resp))) {
	case FS_OK:
		break;
	case FS_ERR_FORBIDDEN:
	case FS_ERR_INVALID:
		store_push_abort(push); /* refused whole: resp says why */
		push = NULL;
		goto out;
	default:
		goto fail;
	}
	if ((rejected = cJSON_CreateArray()) == NULL) {
		err = FS_ERR_NOMEM;
		goto fail;
	}
	/*
	 * Each change is stored as the bytes the device sent (push_spans.h);
	 * should the body not split as expected, as printed from its parse
	 * (what a fieldsync device sends byte for byte anyway).
	 */
	nspans = (size_t)cJSON_GetArraySize(changes);
	if (nspans > 0 && (spans = calloc(nspans, sizeof(*spans))) != NULL) {
		size_t found = 0;

		if (push_spans(req->body, req->body_len, spans, nspans, &found) != 0 ||
		    found != nspans) {
			free(spans);
			spans = NULL;
		}
	}
	if ((err = prefetch(push, changes)) != FS_OK)
		goto fail;
	cJSON_ArrayForEach(item, changes)
	{
		const struct push_span *span = spans != NULL ? &spans[index] : NULL;

		if ((err = push_one(ctx, push, &fc, &pc, who, device, batch, index++, item, span,
			 rejected, &counts)) != FS_OK)
			goto fail;
	}
	/*
	 * The cursor is the last change this push stored, with its stamp
	 * (the device remembers both: a restored server no longer has that
	 * stamp there).  With nothing stored, the log's end and no stamp.
	 */
	if (counts.accepted > 0) {
		cursor = counts.last_seq;
		snprintf(cursor_hlc, sizeof(cursor_hlc), "%s", counts.last_hlc);
		if ((err = store_push_device_seen(push, device, counts.max_hlc)) != FS_OK)
			goto fail;
	} else if ((err = store_max_seq(ctx->store, &cursor)) != FS_OK) {
		goto fail;
	}
	answer = push_answer(batch, &counts, rejected, cursor, cursor_hlc);
	rejected = NULL;
	if (answer == NULL) {
		err = FS_ERR_NOMEM;
		goto fail;
	}
	if ((err = push_custody_end(&pc, push, device, answer)) != FS_OK) {
		cJSON_Delete(answer);
		goto fail;
	}
	/* Counted where an office looks: one audit entry per push that had refusals. */
	if (pc.refused > 0) {
		char detail[96];

		snprintf(detail, sizeof(detail), "%d change(s) refused: signature or chain",
		    pc.refused);
		if ((err = store_push_audit(push, who->name, "custody_refused", NULL, detail)) !=
		    FS_OK) {
			cJSON_Delete(answer);
			goto fail;
		}
	}
	if ((text = cJSON_PrintUnformatted(answer)) == NULL) {
		cJSON_Delete(answer);
		err = FS_ERR_NOMEM;
		goto fail;
	}
	if ((err = store_push_batch_save(push, device, batch, text)) != FS_OK) {
		cJSON_Delete(answer);
		goto fail;
	}
	err = store_push_commit(push);
	push = NULL;
	if (err != FS_OK) {
		cJSON_Delete(answer);
		goto fail;
	}
	if (ctx->metrics != NULL) {
		int64_t newest = 0;
		uint64_t stamp;

		cJSON_ArrayForEach(item, changes)
		{
			const cJSON *h = cJSON_GetObjectItemCaseSensitive(item, "hlc");

			if (cJSON_IsString(h) && hlc_parse(h->valuestring, &stamp, NULL) == FS_OK &&
			    (int64_t)hlc_ms(stamp) > newest)
				newest = (int64_t)hlc_ms(stamp);
		}
		metrics_push(ctx->metrics, counts.accepted, counts.duplicates,
		    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(answer, "rejected")),
		    newest > 0 ? hlc_wall_ms() - newest : 0);
	}
	/* The handler's time (parse, merge, commit) is what bench/ reads. */
	log_info("push %s: device %s batch %s: %d accepted, %d duplicate, %d rejected, "
		 "%d conflicts in %lld us",
	    req->request_id, who->name, batch, counts.accepted, counts.duplicates,
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(answer, "rejected")),
	    counts.conflicts, (long long)elapsed_us(&t0));
	if (!push_acked_answer(ctx, who, root, answer)) {
		cJSON_Delete(answer);
		err = FS_ERR_DB;
		goto answered;
	}
	cJSON_AddNumberToObject(answer, "time_ms", (double)hlc_wall_ms());
	set_json(resp, 200, answer);
	goto out;
answered:
	/* Applied and committed; only the restore check's read failed. */
	http_error(resp, 500, "store", "the batch was applied; retry to read its answer");
	goto out;
fail:
	store_push_abort(push);
	log_warnx("push %s: device %s: batch not applied: %s", req->request_id, who->name,
	    fs_strerror(err));
	http_error_store(resp, err, "the batch was not applied; retry later");
out:
	free(spans);
	cJSON_Delete(rejected);
	form_cache_finish(&fc);
	free(stored);
	free(text);
	cJSON_Delete(root);
	return 0;
}

static bool
parse_int(const char *s, int64_t lo, int64_t hi, int64_t *ret)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v < lo || v > hi)
		return false;
	*ret = v;
	return true;
}

static int
pull_row(void *arg, int64_t seq, const char *body)
{
	cJSON *arr = arg, *item = cJSON_CreateObject(), *raw = cJSON_CreateRaw(body);

	if (item == NULL || raw == NULL) {
		cJSON_Delete(item);
		cJSON_Delete(raw);
		return 1;
	}
	cJSON_AddNumberToObject(item, "seq", (double)seq);
	cJSON_AddItemToObject(item, "change", raw);
	cJSON_AddItemToArray(arr, item);
	return 0;
}

/* Rows one pull request may look at when they are the caller's own. */
#define PULL_SCAN_LIMIT 20000

struct query_check {
	int after, limit;
	const char *bad;
};

static int
query_check_one(void *arg, const char *name, const char *value)
{
	struct query_check *q = arg;

	(void)value;
	if (strcmp(name, "after") == 0 && q->after++ == 0)
		return 0;
	if (strcmp(name, "limit") == 0 && q->limit++ == 0)
		return 0;
	q->bad = name;
	return 1;
}

/*
 * Pull and snapshot take `after` and `limit`, each at most once; anything
 * else is refused, 400 with the parameter named (issue 14: one rule for
 * every endpoint, as the review list has).
 */
static bool
query_strict(const struct http_request *req, struct http_response *resp)
{
	struct query_check q = { 0 };
	char detail[128];

	if (req->conn == NULL)
		return true;
	http_query_each(req, query_check_one, &q);
	if (q.bad == NULL)
		return true;
	snprintf(detail, sizeof(detail), "parameter '%.40s' is unknown or given twice", q.bad);
	http_error(resp, 400, "bad_request", detail);
	return false;
}

static int
snapshot_row(void *arg, const struct store_snapshot_row *row)
{
	cJSON *arr = arg, *item = cJSON_CreateObject();

	if (item == NULL || !cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		return -1;
	}
	if (cJSON_AddStringToObject(item, "id", row->id) == NULL ||
	    cJSON_AddStringToObject(item, "form", row->form) == NULL ||
	    cJSON_AddNumberToObject(item, "form_version", (double)row->form_version) == NULL ||
	    (row->tombstone != NULL &&
		cJSON_AddStringToObject(item, "tombstone", row->tombstone) == NULL))
		return -1;
	/* The packed state goes out as the store holds it: no parse, no print. */
	return cJSON_AddItemToObject(item, "state", cJSON_CreateRaw(row->state)) ? 0 : -1;
}

/*
 * GET /v1/snapshot?after=K&limit=N (protocol 2): a fresh device's first
 * pull, each record's row once instead of its whole history
 * (docs/PROTOCOL.md, "Snapshot").  Scoped like a pull; an admin's is
 * audited.
 */
int
sync_handle_snapshot(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp)
{
	const struct auth_identity *who = req->who;
	int64_t after = 0, limit = PULL_DEFAULT_LIMIT, forms = 0;
	struct store_snapshot_query q = { 0 };
	struct store_snapshot_page page;
	char own_hlc[HLC_TEXT_LEN + 1] = "";
	bool field = !auth_require(who, AUTH_ADMIN);
	cJSON *obj, *arr;
	fs_err err;

	if (!auth_require(who, AUTH_PULL))
		return http_error(resp, 403, "forbidden", "this token may not pull"), 0;
	if (sync_version(req, resp) == 0 || !query_strict(req, resp))
		return 0;
	if (req->query_after != NULL && !parse_int(req->query_after, 0, INT64_MAX, &after))
		return http_error(resp, 400, "bad_request", "'after' must be a cursor (>= 0)"), 0;
	if (req->query_limit != NULL && !parse_int(req->query_limit, 1, PULL_MAX_LIMIT, &limit))
		return http_error(resp, 400, "bad_request", "'limit' must be 1 to 5000"), 0;
	obj = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(obj, "records");
	q.team = field ? who->team : NULL;
	q.after = after;
	q.limit = (int)limit;
	/* No echo: a record made only of the caller's own changes stays out. */
	if (who->hlc_device[0] != '\0')
		q.skip_device = who->hlc_device;
	err = store_snapshot(ctx->store, &q, snapshot_row, arr, &page);
	if (err == FS_OK)
		err = store_forms_version(ctx->store, &forms);
	if (err == FS_OK && who->device_rowid > 0)
		err = store_device_last_hlc(ctx->store, who->device_rowid, own_hlc);
	if (err == FS_OK && !field) {
		char detail[96];

		snprintf(detail, sizeof(detail), "after=%lld next=%lld records=%d",
		    (long long)after, (long long)page.next, page.delivered);
		err = store_audit(ctx->store, who->name, "sync.snapshot", NULL, detail);
	}
	if (err != FS_OK) {
		cJSON_Delete(obj);
		http_error_store(resp, err, fs_strerror(err));
		return 0;
	}
	cJSON_AddNumberToObject(obj, "next", (double)page.next);
	cJSON_AddBoolToObject(obj, "more", page.more);
	cJSON_AddNumberToObject(obj, "as_of", (double)page.as_of);
	cJSON_AddStringToObject(obj, "as_of_hlc", page.as_of_hlc);
	cJSON_AddNumberToObject(obj, "forms_version", (double)forms);
	if (own_hlc[0] != '\0')
		cJSON_AddStringToObject(obj, "own_hlc", own_hlc);
	cJSON_AddNumberToObject(obj, "protocol", FS_PROTOCOL_VERSION);
	cJSON_AddNumberToObject(obj, "time_ms", (double)hlc_wall_ms());
	set_json(resp, 200, obj);
	return 0;
}

int
sync_handle_pull(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp)
{
	const struct auth_identity *who = req->who;
	int64_t after = 0, limit = PULL_DEFAULT_LIMIT, forms = 0;
	struct store_pull_query q = { 0 };
	struct store_pull_page page;
	char own_hlc[HLC_TEXT_LEN + 1] = "";
	/* Permissions, not role names (auth.h): only an admin pulls every team. */
	bool field = !auth_require(who, AUTH_ADMIN);
	cJSON *obj, *arr;
	int version;
	fs_err err;

	if (!auth_require(who, AUTH_PULL))
		return http_error(resp, 403, "forbidden", "this token may not pull"), 0;
	if ((version = sync_version(req, resp)) == 0 || !query_strict(req, resp))
		return 0;
	if (req->query_after != NULL && !parse_int(req->query_after, 0, INT64_MAX, &after))
		return http_error(resp, 400, "bad_request", "'after' must be a cursor (>= 0)"), 0;
	if (req->query_limit != NULL && !parse_int(req->query_limit, 1, PULL_MAX_LIMIT, &limit))
		return http_error(resp, 400, "bad_request", "'limit' must be 1 to 5000"), 0;
	obj = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(obj, "changes");
	/* Field devices see their own team; admins see all. */
	q.team = field ? who->team : NULL;
	q.after = after;
	q.limit = (int)limit;
	q.scan_limit = (int)limit;
	/*
	 * Protocol 2: a device is not sent its own changes back (it holds
	 * them); the rows are skipped, the cursor still moves past them.
	 */
	if (version >= 2 && who->hlc_device[0] != '\0') {
		q.skip_device = who->hlc_device;
		q.scan_limit = PULL_SCAN_LIMIT;
	}
	err = store_pull(ctx->store, &q, pull_row, arr, &page);
	if (err == FS_OK)
		err = store_forms_version(ctx->store, &forms);
	if (err == FS_OK && version >= 2 && who->device_rowid > 0)
		err = store_device_last_hlc(ctx->store, who->device_rowid, own_hlc);
	if (err != FS_OK) {
		cJSON_Delete(obj);
		http_error_store(resp, err, fs_strerror(err));
		return 0;
	}
	/* Every team's values, unmasked: an admin's pull is audited. */
	if (!field) {
		char detail[96];

		snprintf(detail, sizeof(detail), "after=%lld next=%lld changes=%d",
		    (long long)after, (long long)page.next, page.delivered);
		if ((err = store_audit(ctx->store, who->name, "sync.pull", NULL, detail)) != FS_OK) {
			cJSON_Delete(obj);
			http_error_store(resp, err, "could not write the audit log");
			return 0;
		}
	}
	cJSON_AddNumberToObject(obj, "next", (double)page.next);
	cJSON_AddBoolToObject(obj, "more", page.more);
	cJSON_AddNumberToObject(obj, "forms_version", (double)forms);
	/*
	 * The stamp at the cursor: a device that remembers another one knows
	 * the server was restored from an older backup.  Only a stamp of the
	 * caller's own team ("" otherwise: nothing of another team leaks).
	 */
	if (after > 0)
		cJSON_AddStringToObject(obj, "after_hlc", page.after_hlc);
	if (version >= 2) {
		/* The stamp at next, which the device remembers for its next pull. */
		cJSON_AddStringToObject(obj, "next_hlc", page.next_hlc);
		/* The newest change of this device here: a clone sees its twin's. */
		if (own_hlc[0] != '\0')
			cJSON_AddStringToObject(obj, "own_hlc", own_hlc);
		cJSON_AddNumberToObject(obj, "protocol", FS_PROTOCOL_VERSION);
	}
	cJSON_AddNumberToObject(obj, "time_ms", (double)hlc_wall_ms());
	set_json(resp, 200, obj);
	return 0;
}
