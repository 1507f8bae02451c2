/*
 * sync_stub.h -- the declarations of sync.h, used only while daemon/sync.h
 * does not exist yet (meson defines HAVE_SYNC_H when it does).  Keep them
 * identical to sync.h.  Delete this file together with sync_stub.c once the
 * sync code has landed.
 */
#ifndef FS_DAEMON_SYNC_STUB_H
#define FS_DAEMON_SYNC_STUB_H

struct http_request;
struct http_response;
struct server_ctx;

int sync_handle_push(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp);
int sync_handle_pull(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp);

#endif /* FS_DAEMON_SYNC_STUB_H */
