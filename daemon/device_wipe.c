/*
 * device_wipe.c -- POST /v1/wipe: a device revoked with `device revoke
 * --wipe` confirms that it erased its store (issue 17, item 5).
 *
 * The request is authenticated by the revoked token itself, which the
 * server accepts for this route only, and only while the wipe is pending
 * (server.c); every other request of that token gets 410 `wipe`.  The
 * confirmation is recorded with its time and audited
 * (device.wipe_confirmed); after it the token is simply revoked (401).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "device_wipe.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "store.h"

int
wipe_handle_confirm(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	char detail[160];
	fs_err err;

	if (!req->who->wipe_pending)
		return http_error(resp, 409, "no_wipe", "no wipe was asked of this device");
	err = store_device_wipe_done(ctx->store, req->who->device_rowid);
	if (err == FS_ERR_NOTFOUND)
		return http_error(resp, 409, "no_wipe", "no wipe is pending for this device");
	if (err != FS_OK)
		return http_error_fs(resp, err, "could not record the wipe");
	snprintf(detail, sizeof(detail), "name=%.64s device=%.16s", req->who->name,
	    req->who->hlc_device[0] ? req->who->hlc_device : "-");
	if (store_audit(ctx->store, req->who->name, "device.wipe_confirmed", NULL, detail) != FS_OK)
		log_warnx("could not write the audit entry of %s's wipe", req->who->name);
	log_info("request %s: device %s confirmed it erased its store", req->request_id,
	    req->who->name);
	if ((resp->body = strdup("{\"wiped\":true}")) == NULL)
		return http_error(resp, 500, "internal", "out of memory");
	resp->body_len = strlen(resp->body);
	resp->status = 200;
	return 0;
}
