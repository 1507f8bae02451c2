/*
 * http.h -- one HTTPS request to the fieldsync server, with libcurl.
 *
 * TLS peer and host verification are always on; a CA file and a pinned
 * public key narrow trust for self-signed deployments.  Request bodies are
 * gzip-compressed here; libcurl inflates answers.  An answer is accepted
 * only as JSON (a captive portal's HTML page is a transport failure), and
 * its size is capped.
 */
#ifndef FS_CLIENT_HTTP_H
#define FS_CLIENT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "internal.h"

#define HTTP_MAX_ANSWER (64u << 20)

struct http_answer {
	long status;           /* HTTP status, 0 when no answer arrived */
	cJSON *json;           /* parsed body, owned (NULL if none) */
	long retry_after_s;    /* Retry-After, -1 if absent */
	int64_t server_time_ms; /* X-Fieldsync-Time, -1 if absent */
	int64_t bytes_up;      /* bytes sent: request line, headers, body as on the wire */
	int64_t bytes_down;    /* bytes received: status line, headers, body as on the wire */
	int64_t json_up;       /* request body before compression */
	int64_t json_down;     /* answer body after decompression */
};

/*
 * Sends one request, on the connection kept on the client from the previous
 * one when it is still open (http_close() ends it).  body (may be NULL) is
 * gzip-compressed.  Returns FS_OK
 * when a JSON answer arrived, whatever its status; FS_ERR_NETWORK,
 * FS_ERR_TLS or FS_ERR_PROTOCOL (answer not JSON) otherwise, with the
 * handle's message set.  Release with http_answer_finish().
 */
fs_err http_request(fs_client *c, const fs_sync_options *o, const char *method,
    const char *path, const char *body, size_t body_len, struct http_answer *ret);

void http_answer_finish(struct http_answer *a);

/* Closes the connection http_request() keeps on the client (accepts none). */
void http_close(fs_client *c);

/* gzip-compresses in into *ret_out (malloc'd). */
fs_err http_gzip(const char *in, size_t len, char **ret_out, size_t *ret_len);

#endif /* FS_CLIENT_HTTP_H */
