/*
 * review_unlock.c -- POST /v1/review/unlock and /v1/review/lock: a
 * reviewer unlocks headquarters' sealing keys with the passphrase for a
 * short time, to reveal sealed values (issue 17).  See unlock_hold.h.
 *
 * Every attempt is audited (key.unlock, key.unlock_failed,
 * key.unlock_refused when rate-limited, key.lock); the passphrase is
 * wiped from the request and from the parsed body as soon as it is used,
 * and is never logged.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "form.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "review_api.h"
#include "server.h"
#include "store.h"
#include "unlock_hold.h"

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
