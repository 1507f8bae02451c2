/*
 * metrics_http.c -- GET /metrics (issue 18, item 4): the counters of
 * metrics.h with the gauges read now (open conflicts from the store,
 * connections from the guard), in the Prometheus text format.  Admin
 * token only: the counts tell how busy each office is.
 */
#include <string.h>

#include "conn_guard.h"
#include "http.h"
#include "metrics.h"
#include "routes.h"
#include "server.h"
#include "store.h"

int
metrics_handle(struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	struct conn_guard_stats st = {0};
	int64_t open = 0;
	char *text;
	fs_err err;

	(void)req;
	if ((err = store_open_conflicts(ctx->store, &open)) != FS_OK)
		return http_error_fs(resp, err, "could not count the open conflicts");
	if (ctx->guard != NULL)
		conn_guard_stats(ctx->guard, &st);
	if ((text = metrics_render(ctx->metrics, open, st.open, st.cut, st.refused)) == NULL)
		return http_error(resp, 500, "internal", "out of memory");
	http_reply_take(resp, 200, text, strlen(text));
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}
