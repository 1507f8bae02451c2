/*
 * http.h -- what a request handler sees of HTTP: the request as parsed by
 * the server, the JSON response it fills in, and helpers to build JSON
 * answers and errors.
 *
 * Handlers (sync_handle_push(), sync_handle_pull(), the built-in routes)
 * never touch libmicrohttpd.  The server has already authenticated the
 * caller, checked the permission the route needs, enforced the size limits
 * and decompressed the body; it adds the common headers (Content-Type,
 * X-Fieldsync-Time, X-Request-Id, security headers), compresses the answer
 * when the client accepts gzip, and logs the request.
 *
 * Answers are JSON unless the handler names another content type (the
 * review page's static files, CSV exports).  Errors look like {"error":
 * "not_found", "detail": "no route for this path"}: "error" is a stable
 * machine-readable code, and "detail" is an English sentence that never
 * contains field values.
 *
 * A handler may answer with a stream instead of a body (exports): the
 * server then pulls the answer piece by piece through resp->stream_read on
 * the same worker thread, after the handler has returned, and calls
 * resp->stream_free once at the end (also when the client went away).
 */
#ifndef FS_DAEMON_HTTP_H
#define FS_DAEMON_HTTP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fieldsync.h"

struct auth_identity;

struct http_request {
	const char *method;              /* "GET", "POST" */
	const char *path;                /* "/v1/push"; no query string */
	const char *param;               /* the segment matched by a route's '*', or "" */
	const char *query_after;         /* raw value of ?after=, or NULL */
	const char *query_limit;         /* raw value of ?limit=, or NULL */
	const char *protocol;            /* Fieldsync-Protocol header, or NULL */
	const char *merge_rule;          /* Fieldsync-Merge-Rule header, or NULL */
	const char *body;                /* decompressed, NUL-terminated; "" when none */
	size_t body_len;                 /* bytes before the NUL */
	const struct auth_identity *who; /* NULL only on routes without auth */
	const char *request_id;          /* for log lines */
	void *conn;                      /* the server's connection, for http_query() */
};

/* Stream reader results, as libmicrohttpd's content reader defines them. */
#define HTTP_STREAM_END   ((ssize_t)-1) /* the answer is complete */
#define HTTP_STREAM_ERROR ((ssize_t)-2) /* failed: cut the connection */

/*
 * Fills buf (max bytes) with the next part of a streamed answer; pos is the
 * number of bytes sent so far.  Returns the number of bytes written (at
 * least 1), HTTP_STREAM_END or HTTP_STREAM_ERROR.  Never returns 0.
 */
typedef ssize_t (*http_stream_read)(void *cls, uint64_t pos, char *buf, size_t max);

struct http_response {
	int status; /* HTTP status code */
	char *body; /* malloc'd; owned by the server after return */
	size_t body_len;
	int retry_after;          /* seconds for a Retry-After header; 0 = none */
	const char *error;        /* http_error()'s code (static), for metrics; else NULL */
	const char *content_type; /* static string; NULL means application/json */
	char attachment[96];      /* file name for Content-Disposition, or "" */
	http_stream_read stream_read; /* when set, body is ignored (see above) */
	void (*stream_free)(void *cls);
	void *stream_cls;
};

/*
 * Handler convention: return 0 once resp is filled in (whatever the
 * status).  Any other value makes the server discard resp->body and answer
 * 500 "internal".
 */

/*
 * Sets resp to status with {"error": error, "detail": detail}.  detail may
 * be NULL.  Always returns 0, so a handler can `return http_error(...)`; if
 * memory runs out, the server sends a fixed 500 body instead.
 */
int http_error(struct http_response *resp, int status, const char *error, const char *detail);

/*
 * Like http_error(), with the status and error code for err taken from the
 * one table that maps fs_err to HTTP (http_status_for()).
 */
int http_error_fs(struct http_response *resp, fs_err err, const char *detail);

/*
 * Answers a failure of the store in the middle of work the client cannot
 * be blamed for (a push, a pull): 507 store_full, 503 busy or
 * out_of_memory (Retry-After: 1), anything else 500 store_failed -- never
 * a 4xx, which would make a device give a change up or re-stamp it.
 * From the same table as http_error_fs().
 */
int http_error_store(struct http_response *resp, fs_err err, const char *detail);

/*
 * Sets resp to status with root printed as JSON.  Consumes root (it is
 * deleted even on failure).  Returns 0, or -1 if out of memory.
 */
int http_reply_json(struct http_response *resp, int status, cJSON *root);

/*
 * Sets resp to status with json (malloc'd, len bytes), taking ownership.
 * Returns 0.
 */
int http_reply_take(struct http_response *resp, int status, char *json, size_t len);

/* The HTTP status for an internal error code (one table, no default). */
int http_status_for(fs_err err);

/* The stable "error" code string for an internal error code. */
const char *http_error_code(fs_err err);

/*
 * The value of query parameter name (decoded), or NULL when absent.  With a
 * repeated parameter, the first.  Implemented by the server (server.c).
 */
const char *http_query(const struct http_request *req, const char *name);

/* The request header name, or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/*
 * Calls cb for every query parameter in order (value NULL for "?key"
 * without '=').  cb returns 0 to go on.  Returns the number of parameters
 * visited.
 */
int http_query_each(const struct http_request *req,
    int (*cb)(void *arg, const char *name, const char *value), void *arg);

/* Server time in milliseconds since the epoch (the time authority). */
int64_t http_now_ms(void);

/*
 * True if a request path must be refused with 400: it contains "..", an
 * encoded dot pair ("%2e%2e" in any case), an encoded NUL ("%00"), a
 * backslash or a control character.
 */
bool http_path_suspicious(const char *path);

/* True if an Accept-Encoding value accepts gzip (a q=0 refuses it). */
bool http_accepts_gzip(const char *header);

/*
 * Copies src into dst (dstlen bytes) for a log line: printable ASCII kept,
 * everything else written as '?', truncated with "..." if too long.
 */
void http_log_safe(char *dst, size_t dstlen, const char *src);

#endif /* FS_DAEMON_HTTP_H */
