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
#include <stdbool.h>
#include <zlib.h>

#include "internal.h"

#define HTTP_MAX_ANSWER (64u << 20)
#define HTTP_MAX_BODY   (64u << 20) /* a request body, compressed */

struct http_answer {
	long status;           /* HTTP status, 0 when no answer arrived */
	cJSON *json;           /* parsed body, owned (NULL if none) */
	long retry_after_s;    /* Retry-After, -1 if absent */
	int64_t server_time_ms; /* X-Fieldsync-Time, -1 if absent */
	int64_t bytes_up;      /* bytes sent: request line, headers, body as on the wire
	                          (HTTP bytes; TLS framing not counted) */
	int64_t bytes_down;    /* bytes received: status line, headers, body as on the wire */
	int64_t json_up;       /* request body before compression */
	int64_t json_down;     /* answer body after decompression */
	bool no_link;          /* the connection could not even be opened (link down) */
	bool new_conn;         /* the request opened a connection (did not reuse one) */
};

/*
 * A request body built piece by piece and gzip-compressed as it grows, so
 * a push batch never sits in memory uncompressed (nor twice).  Zero it,
 * then http_body_init(), http_body_add() as often as needed,
 * http_body_finish(); release with http_body_free() (also after errors).
 */
struct http_body {
	z_stream z;
	bool open;        /* z holds deflate state */
	char *gz;         /* the gzip stream so far, owned */
	size_t gz_len, gz_cap;
	int64_t json_len; /* bytes added, before compression */
};

fs_err http_body_init(struct http_body *b);
fs_err http_body_add(struct http_body *b, const void *data, size_t len);
fs_err http_body_finish(struct http_body *b);
void http_body_free(struct http_body *b);

/*
 * Sends one request, on the connection kept on the client from the previous
 * one when it is still open (http_close() ends it).  body (may be NULL) is
 * a finished http_body, sent as Content-Encoding: gzip.  Returns FS_OK
 * when a JSON answer arrived, whatever its status; FS_ERR_NETWORK,
 * FS_ERR_TLS or FS_ERR_PROTOCOL (answer not JSON) otherwise, with the
 * handle's message set.  Release with http_answer_finish().
 */
/*
 * FS_OK if url may carry records: https, or http to a loopback address
 * (a fieldsyncd run with --insecure-http on the same machine).  Else
 * FS_ERR_MISUSE with the reason in c's error message.
 */
fs_err http_check_url(fs_client *c, const char *url);

/*
 * Called while a request runs (at least once a second) with the bytes
 * sent and received so far by this request; non-zero stops it, and
 * http_request() returns FS_ERR_CANCELLED.
 */
struct http_watch {
	int (*fn)(void *arg, int64_t up, int64_t down);
	void *arg;
};

fs_err http_request(fs_client *c, const fs_sync_options *o, const char *method,
    const char *path, const struct http_body *body, const struct http_watch *watch,
    struct http_answer *ret);

void http_answer_finish(struct http_answer *a);

/* Closes the connection http_request() keeps on the client (accepts none). */
void http_close(fs_client *c);


#endif /* FS_CLIENT_HTTP_H */
