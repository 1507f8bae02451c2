/*
 * routes.c -- the routing table and the built-in handlers.  See routes.h.
 *
 * Paths are matched exactly: there are few of them and none has
 * parameters in the path.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "store.h"
#include "sync.h"

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

static int
handle_forms(struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	static const char head[] = "{\"forms\":";
	char tail[48], *forms, *body;
	size_t forms_len, len;
	fs_err err;
	int n;

	(void)req;
	if ((err = store_forms_json(ctx->store, &forms, &forms_len)) != FS_OK)
		return http_error_fs(resp, err, "could not read the published forms");
	n = snprintf(tail, sizeof(tail), ",\"time_ms\":%" PRId64 "}", http_now_ms());
	len = sizeof(head) - 1 + forms_len + (size_t)n;
	if ((body = malloc(len + 1)) == NULL) {
		free(forms);
		return -1;
	}
	memcpy(body, head, sizeof(head) - 1);
	memcpy(body + sizeof(head) - 1, forms, forms_len);
	memcpy(body + sizeof(head) - 1 + forms_len, tail, (size_t)n + 1);
	free(forms);
	return http_reply_take(resp, 200, body, len);
}

static const struct route routes[] = {
    {"/v1/health", "GET", 0, handle_health},
    {"/v1/forms", "GET", AUTH_READ_FORMS, handle_forms},
    {"/v1/push", "POST", AUTH_PUSH, sync_handle_push},
    {"/v1/pull", "GET", AUTH_PULL, sync_handle_pull},
};

const struct route *
routes_find(const char *path, const char *method, const char **ret_allow)
{
	*ret_allow = NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, path) != 0)
			continue;
		if (strcmp(routes[i].method, method) == 0)
			return &routes[i];
		*ret_allow = routes[i].method;
	}
	return NULL;
}
