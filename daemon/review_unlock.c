/*
 * review_unlock.c -- POST /v1/review/unlock and /v1/review/lock: a
 * reviewer unlocks headquarters' sealing keys with the passphrase for a
 * short time, to reveal sealed values (issue 17).  See unlock_hold.h.
 *
 * Every attempt is audited (key.unlock, key.unlock_failed,
 * key.unlock_refused when rate-limited, key.lock); the passphrase is
 * wiped from the request and from the parsed body as soon as it is used,
 * and is never logged.
 *
 * The limit on wrong passphrases (UNLOCK_MAX_FAILS in UNLOCK_FAIL_WINDOW)
 * holds for the whole store, not only this daemon: the failures are
 * counted from the audit trail, which every daemon of a PostgreSQL store
 * writes (issue 18), and which a restart does not forget.  The daemon's
 * own count (unlock_hold.c) still refuses before the store is asked.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth.h"
#include "form.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "review_api.h"
#include "server.h"
#include "store.h"
#include "store_review.h"
#include "unlock_hold.h"

/* The times of the latest wrong passphrases, a ring of UNLOCK_MAX_FAILS. */
struct fails {
	time_t t[UNLOCK_MAX_FAILS];
	size_t n, next;
};

static int
count_fail(void *arg, const struct review_audit *a)
{
	struct fails *f = arg;
	struct tm tm = { 0 };

	if (strcmp(a->action, "key.unlock_failed") != 0)
		return 0;
	/* The audit's times: YYYY-MM-DDTHH:MM:SS.mmmZ, UTC. */
	if (sscanf(a->at, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		&tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	f->t[f->next] = timegm(&tm);
	f->next = (f->next + 1) % UNLOCK_MAX_FAILS;
	if (f->n < UNLOCK_MAX_FAILS)
		f->n++;
	return 0;
}

/* Seconds every unlock is refused for, store-wide (0: not limited). */
static int
store_wide_retry(struct store *store)
{
	struct fails f = { .n = 0 };
	time_t now = time(NULL), since = now - UNLOCK_FAIL_WINDOW, oldest;
	char text[32];
	struct tm tm;

	gmtime_r(&since, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	if (store_audit_list(store, text, count_fail, &f) != FS_OK || f.n < UNLOCK_MAX_FAILS)
		return 0; /* unreadable: the daemon's own count still holds */
	oldest = f.t[f.next]; /* the ring is full: next is the oldest of the latest */
	if (now - oldest >= UNLOCK_FAIL_WINDOW)
		return 0;
	return (int)(UNLOCK_FAIL_WINDOW - (now - oldest));
}

int
review_handle_unlock(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	const cJSON *pass;
	char msg[160], ids[256], detail[300];
	int seconds = 0, retry = 0;
	cJSON *root = NULL, *obj;
	fs_err err;

	err = form_json_parse(req->body, req->body_len, "body", &root, msg, sizeof(msg));
	/* The request's copy of the passphrase goes first (the server frees the buffer). */
	sodium_memzero((void *)req->body, req->body_len);
	if (err != FS_OK)
		return http_error(resp, 400, "bad_json", msg);
	pass = cJSON_GetObjectItemCaseSensitive(root, "passphrase");
	if (!cJSON_IsObject(root) || cJSON_GetArraySize(root) != 1 || !cJSON_IsString(pass) ||
	    pass->valuestring[0] == '\0') {
		cJSON_Delete(root);
		return http_error(resp, 400, "bad_request", "body: {\"passphrase\": TEXT}");
	}
	if ((retry = store_wide_retry(ctx->store)) > 0)
		err = FS_ERR_BUSY; /* other daemons, or before a restart */
	else
		err = unlock_hold_unlock(ctx->unlock, ctx->store, req->who->name, pass->valuestring,
		    strlen(pass->valuestring), &seconds, &retry, ids, sizeof(ids));
	sodium_memzero(pass->valuestring, strlen(pass->valuestring));
	cJSON_Delete(root);
	if (ctx->metrics != NULL && (err == FS_OK || err == FS_ERR_KEY))
		metrics_unlock(ctx->metrics, err == FS_OK);
	switch (err) {
	case FS_OK:
		snprintf(detail, sizeof(detail), "keys=%s seconds=%d", ids, seconds);
		if ((err = store_audit(ctx->store, req->who->name, "key.unlock", NULL, detail)) !=
		    FS_OK) {
			/* No audit entry, no unlock. */
			unlock_hold_lock(ctx->unlock, req->who->name);
			return http_error_fs(resp, err, "could not write the audit entry; still locked");
		}
		log_info("review %s: %s unlocked the sealing keys for %d s", req->request_id,
		    req->who->name, seconds);
		obj = cJSON_CreateObject();
		cJSON_AddNumberToObject(obj, "unlocked_seconds", seconds);
		cJSON_AddStringToObject(obj, "keys", ids);
		return http_reply_json(resp, 200, obj);
	case FS_ERR_KEY:
		(void)store_audit(ctx->store, req->who->name, "key.unlock_failed", NULL, "");
		log_warnx("review %s: %s typed a wrong passphrase", req->request_id, req->who->name);
		if (retry <= 0)
			retry = store_wide_retry(ctx->store);
		if (retry > 0) {
			resp->retry_after = retry;
			snprintf(msg, sizeof(msg),
			    "wrong passphrase; %d wrong in %d minutes: try again in %d s",
			    UNLOCK_MAX_FAILS, UNLOCK_FAIL_WINDOW / 60, retry);
			return http_error(resp, 429, "too_many_attempts", msg);
		}
		return http_error(resp, 403, "wrong_passphrase",
		    "the passphrase opens no sealing key");
	case FS_ERR_BUSY:
		(void)store_audit(ctx->store, req->who->name, "key.unlock_refused", NULL, "");
		resp->retry_after = retry;
		snprintf(msg, sizeof(msg), "%d wrong passphrases in %d minutes: try again in %d s",
		    UNLOCK_MAX_FAILS, UNLOCK_FAIL_WINDOW / 60, retry);
		return http_error(resp, 429, "too_many_attempts", msg);
	case FS_ERR_NOTFOUND:
		return http_error(resp, 404, "no_key",
		    "no sealing key was created (fieldsyncd key create)");
	default:
		return http_error_fs(resp, err, "could not read the sealing keys");
	}
}

int
review_handle_lock(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	cJSON *obj;

	if (unlock_hold_lock(ctx->unlock, req->who->name))
		(void)store_audit(ctx->store, req->who->name, "key.lock", NULL, "");
	obj = cJSON_CreateObject();
	cJSON_AddNumberToObject(obj, "unlocked_seconds", 0);
	return http_reply_json(resp, 200, obj);
}
