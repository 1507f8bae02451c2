/*
 * sync.h -- the sync endpoints: POST /v1/push and GET /v1/pull
 * (docs/PROTOCOL.md).  The server has already authenticated the caller,
 * decompressed the body within its limits and checked the method.
 */
#ifndef FS_DAEMON_SYNC_H
#define FS_DAEMON_SYNC_H

struct server_ctx;
struct http_request;
struct http_response;

/*
 * The protocol version a request speaks (common/protocol.h): 1 without a
 * Fieldsync-Protocol header.  A version or merge rule this server does not
 * speak is answered 400 (unsupported_protocol, unsupported_merge_rule,
 * naming the versions it speaks) and 0 is returned: the handler stops.
 */
int sync_version(const struct http_request *req, struct http_response *resp);

int sync_handle_push(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp);
int sync_handle_pull(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp);

/* GET /v1/snapshot: each record's row once, for a fresh device (protocol 2). */
int sync_handle_snapshot(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp);

#endif /* FS_DAEMON_SYNC_H */
