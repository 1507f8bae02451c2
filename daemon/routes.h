/*
 * routes.h -- the request routing table and the built-in handlers
 * (GET /v1/health, GET /v1/forms).
 *
 * A route names a path, a method, the permissions it needs (auth.h) and
 * its handler.  The sync handlers live in sync.c (sync.h), the review API
 * in review_api.c, review_resolve.c and export.c, the review page in web.c.
 *
 * A path is matched exactly, except that one segment written '*' matches
 * any single non-empty segment (up to ROUTE_PARAM_MAX bytes, no '/'); the
 * handler finds it in req->param.
 */
#ifndef FS_DAEMON_ROUTES_H
#define FS_DAEMON_ROUTES_H

#include <stdbool.h>

#include "http.h"
#include "server.h"

typedef int (*route_handler)(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

/*
 * Runs before the handler, once the request is authenticated and its body
 * read: true to go on, false when it has put the answer in resp (a refusal).
 */
typedef bool (*route_check)(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

struct route {
	const char *path;
	const char *method;
	unsigned perms; /* enum auth_perm bits; 0 = no authentication */
	route_handler handler;
	route_check check; /* NULL: none */
};

#define ROUTE_PARAM_MAX 64

/*
 * Finds the route for path and method.  Returns NULL if there is none; then
 * *ret_allow is the method the path does accept (405) or NULL when the
 * path is unknown (404).  ret_param (ROUTE_PARAM_MAX + 1 bytes) receives
 * the segment matched by '*', or "".
 */
const struct route *routes_find(const char *path, const char *method, const char **ret_allow,
    char ret_param[ROUTE_PARAM_MAX + 1]);

#endif /* FS_DAEMON_ROUTES_H */
