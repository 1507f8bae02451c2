/*
 * routes.c -- the routing table and the built-in handlers.  See routes.h.
 *
 * Paths are matched exactly, segment by segment, with '*' matching one
 * segment (a record id): there are few routes, so a linear scan is fine.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "export.h"
#include "report.h"
#include "hq_key.h"
#include "device_wipe.h"
#include "metrics.h"
#include "review_api.h"
#include "store.h"
#include "sync.h"
#include "web.h"
#include "referral.h"

static int
handle_health(struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	char *body;
	int n;

	(void)ctx;
	(void)req;
	if ((body = malloc(128)) == NULL)
		return -1;
	n = snprintf(body, 128, "{\"status\":\"ok\",\"version\":\"%s\",\"time_ms\":%" PRId64 "}",
	    FS_VERSION_STRING, http_now_ms());
	return http_reply_take(resp, 200, body, (size_t)n);
}

/*
 * {"forms": [...], "seal_key": {"id", "public"} (only when headquarters
 * has a sealing key, issue 17), "time_ms": N}.
 */
static int
handle_forms(struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	static const char head[] = "{\"forms\":";
	char tail[48], *forms, *body, *key = NULL;
	size_t forms_len, key_len, len;
	fs_err err;
	int n;

	if (sync_version(req, resp) == 0)
		return 0;
	if ((err = hq_current_public(ctx->store, &key)) != FS_OK)
		return http_error_fs(resp, err, "could not read the sealing key");
	if ((err = store_forms_json(ctx->store, &forms, &forms_len)) != FS_OK) {
		free(key);
		return http_error_fs(resp, err, "could not read the published forms");
	}
	n = snprintf(tail, sizeof(tail), ",\"time_ms\":%" PRId64 "}", http_now_ms());
	key_len = key != NULL ? strlen(",\"seal_key\":") + strlen(key) : 0;
	len = sizeof(head) - 1 + forms_len + key_len + (size_t)n;
	if ((body = malloc(len + 1)) == NULL) {
		free(forms);
		free(key);
		return -1;
	}
	memcpy(body, head, sizeof(head) - 1);
	memcpy(body + sizeof(head) - 1, forms, forms_len);
	if (key != NULL)
		snprintf(body + sizeof(head) - 1 + forms_len, key_len + 1, ",\"seal_key\":%s", key);
	memcpy(body + sizeof(head) - 1 + forms_len + key_len, tail, (size_t)n + 1);
	free(forms);
	free(key);
	return http_reply_take(resp, 200, body, len);
}

/*
 * Every route under /v1/review/records/ID checks, before its handler, that
 * the reviewer sees the record's team (review_check_record(), issue 15),
 * or, for the routes that read it, that it is referred to the reviewer's
 * agency (review_check_record_read(), issue 20).
 */
static const struct route routes[] = {
    {"/v1/health", "GET", 0, handle_health, NULL},
    {"/v1/forms", "GET", AUTH_READ_FORMS, handle_forms, NULL},
    {"/v1/push", "POST", AUTH_PUSH, sync_handle_push, NULL},
    /* A revoked device confirming its wipe (device_wipe.c; server.c lets it in). */
    {"/v1/wipe", "POST", AUTH_PUSH, wipe_handle_confirm, NULL},
    {"/v1/pull", "GET", AUTH_PULL, sync_handle_pull, NULL},
    {"/v1/snapshot", "GET", AUTH_PULL, sync_handle_snapshot, NULL},
    /* The review API (docs/PROTOCOL.md, "Review API"). */
    {"/v1/review/me", "GET", AUTH_REVIEW, review_handle_me, NULL},
    {"/v1/review/records", "GET", AUTH_REVIEW, review_handle_list, NULL},
    {"/v1/review/points", "GET", AUTH_REVIEW, review_handle_points, NULL},
    {"/v1/review/records/*", "GET", AUTH_REVIEW, review_handle_record, review_check_record_read},
    {"/v1/review/records/*/status", "POST", AUTH_REVIEW, review_handle_status, review_check_record},
    {"/v1/review/records/*/assign", "POST", AUTH_REVIEW, review_handle_assign, review_check_record},
    {"/v1/review/records/*/reveal", "POST", AUTH_REVIEW, review_handle_reveal,
        review_check_record_read},
    {"/v1/review/records/*/print", "POST", AUTH_REVIEW, review_handle_print,
        review_check_record_read},
    {"/v1/review/records/*/resolve", "POST", AUTH_REVIEW, review_handle_resolve,
        review_check_record},
    {"/v1/review/records/*/refer", "POST", AUTH_REVIEW, referral_handle_refer, review_check_record},
    /* A referral: its agency's reviewers (or an admin) answer it; the handler checks. */
    {"/v1/review/referrals", "GET", AUTH_REVIEW, referral_handle_list, NULL},
    {"/v1/review/agencies", "GET", AUTH_REVIEW, referral_handle_agencies, NULL},
    {"/v1/review/referrals/*", "POST", AUTH_REVIEW, referral_handle_update, NULL},
    {"/v1/review/export", "GET", AUTH_REVIEW, export_handle, NULL},
    {"/v1/review/report", "GET", AUTH_REVIEW, report_handle, NULL},
    /* Prometheus metrics (metrics.h): admin token. */
    {"/metrics", "GET", AUTH_ADMIN, metrics_handle, NULL},
    {"/v1/review/unlock", "POST", AUTH_REVIEW, review_handle_unlock, NULL},
    {"/v1/review/lock", "POST", AUTH_REVIEW, review_handle_lock, NULL},
    /* The review page: static files, no data, so no token. */
    {"/", "GET", 0, web_handle_asset, NULL},
    {"/app.js", "GET", 0, web_handle_asset, NULL},
    {"/report.js", "GET", 0, web_handle_asset, NULL},
    {"/map.js", "GET", 0, web_handle_asset, NULL},
    {"/belize.json", "GET", 0, web_handle_asset, NULL},
    {"/app.css", "GET", 0, web_handle_asset, NULL},
    {"/favicon.svg", "GET", 0, web_handle_asset, NULL},
};

/* Matches path against pattern; the '*' segment is copied to param. */
static bool
path_match(const char *pattern, const char *path, char param[ROUTE_PARAM_MAX + 1])
{
	const char *p = pattern, *s = path;
	size_t n;

	while (*p != '\0') {
		if (*p == '*') {
			for (n = 0; s[n] != '\0' && s[n] != '/'; n++)
				;
			if (n == 0 || n > ROUTE_PARAM_MAX)
				return false;
			memcpy(param, s, n);
			param[n] = '\0';
			s += n;
			p++;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *s == '\0';
}

const struct route *
routes_find(const char *path, const char *method, const char **ret_allow,
    char ret_param[ROUTE_PARAM_MAX + 1])
{
	*ret_allow = NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		ret_param[0] = '\0';
		if (!path_match(routes[i].path, path, ret_param))
			continue;
		if (strcmp(routes[i].method, method) == 0)
			return &routes[i];
		*ret_allow = routes[i].method;
	}
	ret_param[0] = '\0';
	return NULL;
}
