/*
 * web.c -- serving the embedded review page.  See web.h.
 */
#include "web.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"

const struct web_asset *
web_find(const char *path)
{
	for (size_t i = 0; i < web_nassets; i++)
		if (strcmp(web_assets[i].path, path) == 0)
			return &web_assets[i];
	return NULL;
}

int
web_handle_asset(struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	const struct web_asset *a = web_find(req->path);
	char *body;

	(void)ctx;
	if (a == NULL)
		return http_error(resp, 404, "not_found", "no such file");
	/* The server owns and may compress the body: hand it a copy. */
	if ((body = malloc(a->len + 1)) == NULL)
		return -1;
	memcpy(body, a->data, a->len);
	body[a->len] = '\0';
	http_reply_take(resp, 200, body, a->len);
	resp->content_type = a->content_type;
	return 0;
}
