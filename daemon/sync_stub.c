/*
 * sync_stub.c -- placeholder push and pull handlers answering 501, built
 * only while daemon/sync.c does not exist.  The server has already
 * authenticated the caller and decompressed (and size-checked) the body
 * before it gets here, so the limits can be tested without the sync code.
 */
#include "http.h"
#include "server.h"
#ifdef HAVE_SYNC_H
#include "sync.h"
#else
#include "sync_stub.h"
#endif

int
sync_handle_push(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp)
{
	(void)ctx;
	(void)req;
	return http_error(resp, 501, "not_implemented", "push is not implemented yet");
}

int
sync_handle_pull(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp)
{
	(void)ctx;
	(void)req;
	return http_error(resp, 501, "not_implemented", "pull is not implemented yet");
}
