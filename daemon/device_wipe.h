/*
 * device_wipe.h -- remote wipe's confirmation route (issue 17).  See
 * device_wipe.c.
 */
#ifndef FS_DAEMON_DEVICE_WIPE_H
#define FS_DAEMON_DEVICE_WIPE_H

struct server_ctx;
struct http_request;
struct http_response;

/* POST /v1/wipe: 200 {"wiped": true}, or 409 no_wipe. */
int wipe_handle_confirm(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

#endif /* FS_DAEMON_DEVICE_WIPE_H */
