/*
 * server.c -- libmicrohttpd daemon, request life cycle and shutdown.  See
 * server.h.
 *
 * A request goes through three stages in the access handler:
 *  1. headers: path check (400), route (404/405), authentication (401/403),
 *     Content-Encoding (415), Content-Length against max_body (413).  Any
 *     refusal is queued at once, so the body is never read into memory.
 *  2. body: accumulated up to max_body; past it, the rest is discarded and
 *     413 is answered (a client that keeps sending several times the limit
 *     is disconnected).
 *  3. end: the body is decompressed within max_inflated (413 past it, 400
 *     if corrupt), the handler runs, the answer is sent.
 *
 * Threads: libmicrohttpd runs a pool of cfg->threads workers, each with its
 * own epoll (or poll) loop; a request stays on one worker from start to end.
 * The main thread only waits for signals.  Requests in flight are counted
 * (from the first call of the access handler to the completion callback) so
 * that shutdown can wait for them.
 */
#include "server.h"
#include "metrics.h"
#include "unlock_hold.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "conn_guard.h"
#include "http.h"
#include "id.h"
#include "inflate.h"
#include "log.h"
#include "protocol.h"
#include "routes.h"
#include "server_tls.h"

/* Disconnect a client that sends this many times max_body past the limit. */
#define DISCARD_FACTOR 4
/* Compress answers at least this long when the client accepts gzip. */
#define GZIP_MIN 1024

struct server {
	struct server_ctx ctx;
	struct MHD_Daemon *mhd;
	struct conn_guard *guard; /* slow connections (conn_guard.h) */
	atomic_int inflight;
};

struct request {
	struct server *srv;
	const struct route *route;
	struct timespec start;
	char id[17];
	struct auth_identity who;
	bool authed;
	enum inflate_coding coding;
	char *raw; /* body as received */
	size_t raw_len, raw_cap;
	size_t discarded; /* bytes thrown away past max_body */
	bool too_big;
	char param[ROUTE_PARAM_MAX + 1]; /* the route's '*' segment */
	bool answered;           /* a response was queued */
	const char *allow;       /* for 405 */
	const char *auth_reason; /* for 401 */
};

static const char fallback_body[] = "{\"error\":\"internal\",\"detail\":\"out of memory\"}";

/*
 * On every answer.  The review page loads only its own script and style
 * (no inline script, no other origin), may not be framed, and sends no
 * Referer.
 */
static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
			  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

_Static_assert(HTTP_STREAM_END == MHD_CONTENT_READER_END_OF_STREAM, "stream end");
_Static_assert(HTTP_STREAM_ERROR == MHD_CONTENT_READER_END_WITH_ERROR, "stream error");

/* Size of the buffer libmicrohttpd hands a stream reader. */
#define STREAM_BLOCK (64 * 1024)

static int64_t
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

static int64_t
elapsed_us(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - start->tv_sec) * 1000000 +
	       (now.tv_nsec - start->tv_nsec) / 1000;
}

static void
log_request(
    const struct request *rq, const char *method, const char *url, int status, size_t bytes_out)
{
	char path[128];

	http_log_safe(path, sizeof(path), url);
	log_info("request %s device=%s \"%s %s\" %d %" PRId64 "ms in=%zu out=%zu", rq->id,
	    rq->authed ? rq->who.name : "-", method, path, status, elapsed_ms(&rq->start),
	    rq->raw_len + rq->discarded, bytes_out);
}

static void
add_header(struct MHD_Response *r, const char *name, const char *value)
{
	if (MHD_add_response_header(r, name, value) != MHD_YES)
		log_warnx("Failed to add response header %s, ignoring", name);
}

/*
 * Queues resp (taking its body) on conn with the common headers, and logs
 * the request.  Returns MHD_YES, or MHD_NO to close the connection.
 */
static enum MHD_Result
send_response(struct MHD_Connection *conn, struct request *rq, struct http_response *resp,
    const char *method, const char *url)
{
	struct MHD_Response *r;
	char buf[32], disposition[128], *gz;
	size_t gzlen;
	bool gzipped = false, fallback = false;
	enum MHD_Result ret;
	int status = resp->status;

	conn_guard_answering(conn); /* what is left to come is thrown away */
	if (status < 100 || status > 599) {
		log_warnx("request %s: handler set no valid status", rq->id);
		free(resp->body);
		resp->body = NULL;
		if (resp->stream_read != NULL && resp->stream_free != NULL)
			resp->stream_free(resp->stream_cls);
		resp->stream_read = NULL;
	}
	if (resp->stream_read != NULL) {
		free(resp->body);
		resp->body = NULL;
		resp->body_len = 0;
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
		    resp->stream_read, resp->stream_cls, resp->stream_free);
		if (r == NULL && resp->stream_free != NULL)
			resp->stream_free(resp->stream_cls);
		resp->stream_read = NULL;
		if (r == NULL) {
			log_warnx("request %s: failed to create a response", rq->id);
			return MHD_NO;
		}
		goto headers;
	}
	if (resp->body != NULL && resp->body_len >= GZIP_MIN &&
	    http_accepts_gzip(MHD_lookup_connection_value(
	        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING)) &&
	    inflate_gzip_encode(resp->body, resp->body_len, &gz, &gzlen) == FS_OK) {
		free(resp->body);
		resp->body = gz;
		resp->body_len = gzlen;
		gzipped = true;
	}
	if (resp->body != NULL) {
		r = MHD_create_response_from_buffer(
		    resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
		if (r == NULL)
			free(resp->body);
	} else {
		status = 500;
		fallback = true;
		r = MHD_create_response_from_buffer(sizeof(fallback_body) - 1,
		    (void *)(uintptr_t)fallback_body, MHD_RESPMEM_PERSISTENT);
	}
	resp->body = NULL;
	if (r == NULL) {
		log_warnx("request %s: failed to create a response", rq->id);
		return MHD_NO;
	}
headers:
	add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    resp->content_type != NULL && !fallback ? resp->content_type : "application/json");
	if (resp->attachment[0] != '\0' && !fallback) {
		snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s\"",
		    resp->attachment);
		add_header(r, "Content-Disposition", disposition);
	}
	snprintf(buf, sizeof(buf), "%" PRId64, http_now_ms());
	add_header(r, "X-Fieldsync-Time", buf);
	add_header(r, "X-Request-Id", rq->id);
	add_header(r, "X-Content-Type-Options", "nosniff");
	add_header(r, "Content-Security-Policy", csp);
	add_header(r, "X-Frame-Options", "DENY");
	add_header(r, "Referrer-Policy", "no-referrer");
	add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* HTTPS only, for a year; and the page needs no camera, microphone or place (issue 15). */
	add_header(r, "Strict-Transport-Security", "max-age=31536000");
	add_header(r, "Permissions-Policy",
	    "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
	add_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	if (gzipped)
		add_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	if (status == 401)
		add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"fieldsync\"");
	if (status == 405 && rq->allow != NULL)
		add_header(r, MHD_HTTP_HEADER_ALLOW, rq->allow);
	if (resp->retry_after > 0) {
		snprintf(buf, sizeof(buf), "%d", resp->retry_after);
		add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, buf);
	}
	ret = MHD_queue_response(conn, (unsigned)status, r);
	if (ret == MHD_YES) {
		rq->answered = true;
		log_request(rq, method, url, status, resp->body_len);
		if (rq->srv->ctx.metrics != NULL)
			metrics_request(rq->srv->ctx.metrics, rq->route != NULL ? rq->route->path : NULL,
			    status, elapsed_us(&rq->start),
			    status >= 500 && resp->error != NULL &&
				(strcmp(resp->error, "store_failed") == 0 ||
				    strcmp(resp->error, "store") == 0 || strcmp(resp->error, "busy") == 0));
	}
	MHD_destroy_response(r);
	return ret;
}

/*
 * Stage 1: everything that can be decided from the request line and
 * headers.  Returns true and fills resp if the request is refused.
 */
static bool
check_headers(struct server *srv, struct request *rq, struct MHD_Connection *conn, const char *url,
    const char *method, struct http_response *resp)
{
	const struct config *cfg = srv->ctx.cfg;
	const char *v;
	char detail[96];
	fs_err err;

	if (http_path_suspicious(url)) {
		http_error(resp, 400, "bad_path", "the request path is not allowed");
		return true;
	}
	if ((rq->route = routes_find(url, method, &rq->allow, rq->param)) == NULL) {
		if (rq->allow != NULL)
			http_error(
			    resp, 405, "method_not_allowed", "this path takes another method");
		else
			http_error(resp, 404, "not_found", "no such endpoint");
		return true;
	}
	if (rq->route->perms != 0) {
		v = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		err = auth_authenticate(srv->ctx.store, v, &rq->who, &rq->auth_reason);
		/*
		 * Remote wipe (issue 17): a device revoked with --wipe is told to
		 * erase its store at any request, and may then confirm, once.
		 */
		if (err == FS_ERR_AUTH && rq->who.wipe_pending) {
			if (strcmp(rq->route->path, "/v1/wipe") != 0) {
				http_error(resp, 410, "wipe",
				    "this device was revoked: erase its store, then confirm with"
				    " POST /v1/wipe");
				return true;
			}
			err = FS_OK;
		}
		if (err == FS_ERR_AUTH) {
			http_error(resp, 401, "unauthorized", rq->auth_reason);
			return true;
		}
		if (err != FS_OK) {
			http_error_fs(resp, err, "could not check the token");
			return true;
		}
		rq->authed = true;
		conn_guard_trusted(conn);
		if (!auth_require(&rq->who, rq->route->perms)) {
			http_error(resp, 403, "forbidden", "the device's role does not allow this");
			return true;
		}
	}
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (inflate_coding_parse(v, &rq->coding) != 0) {
		http_error(resp, 415, "unsupported_encoding",
		    "Content-Encoding must be gzip, deflate or identity");
		return true;
	}
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v != NULL && strtoull(v, NULL, 10) > cfg->max_body) {
		snprintf(
		    detail, sizeof(detail), "the body is larger than %zu bytes", cfg->max_body);
		http_error(resp, 413, "too_large", detail);
		return true;
	}
	return false;
}

/* Stage 2: one chunk of body.  Returns MHD_NO to drop the connection. */
static enum MHD_Result
take_body(struct request *rq, struct MHD_Connection *conn, const char *upload, size_t n,
    const char *method, const char *url)
{
	size_t max = rq->srv->ctx.cfg->max_body;
	struct http_response resp = {0};
	char *p;

	if (rq->too_big) {
		rq->discarded += n;
		return rq->discarded / DISCARD_FACTOR > max ? MHD_NO : MHD_YES;
	}
	if (rq->raw_len + n > max) {
		rq->too_big = true;
		rq->discarded = rq->raw_len + n;
		rq->raw_len = 0;
		free(rq->raw);
		rq->raw = NULL;
		/* Answer now if libmicrohttpd lets us; otherwise at the end. */
		http_error(&resp, 413, "too_large", "the body is larger than max_body");
		if (send_response(conn, rq, &resp, method, url) != MHD_YES)
			free(resp.body);
		return MHD_YES;
	}
	if (rq->raw_len + n > rq->raw_cap) {
		size_t cap = rq->raw_cap ? rq->raw_cap : 16384;
		while (cap < rq->raw_len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		if ((p = realloc(rq->raw, cap)) == NULL)
			return MHD_NO;
		rq->raw = p;
		rq->raw_cap = cap;
	}
	memcpy(rq->raw + rq->raw_len, upload, n);
	rq->raw_len += n;
	return MHD_YES;
}

/* Stage 3: decode the body, run the handler, answer. */
static enum MHD_Result
finish(struct request *rq, struct MHD_Connection *conn, const char *url, const char *method)
{
	struct server *srv = rq->srv;
	struct http_response resp = {0};
	struct http_request req = {0};
	char *body = NULL;
	size_t body_len = 0;
	char detail[96];
	fs_err err;

	if (rq->too_big) {
		http_error(&resp, 413, "too_large", "the body is larger than max_body");
		goto send;
	}
	err = inflate_decode(rq->coding, rq->raw ? rq->raw : "", rq->raw_len,
	    srv->ctx.cfg->max_inflated, &body, &body_len);
	free(rq->raw);
	rq->raw = NULL;
	if (err == FS_ERR_TOOBIG) {
		snprintf(detail, sizeof(detail), "the decompressed body is larger than %zu bytes",
		    srv->ctx.cfg->max_inflated);
		http_error(&resp, 413, "too_large", detail);
		goto send;
	}
	if (err != FS_OK) {
		http_error_fs(&resp, err,
		    err == FS_ERR_MALFORMED ? "the body could not be decompressed"
		                          : "could not read the body");
		goto send;
	}
	req.method = method;
	req.path = url;
	req.param = rq->param;
	req.conn = conn;
	req.query_after = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after");
	req.query_limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
	req.protocol = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, FS_PROTOCOL_HEADER);
	req.merge_rule = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, FS_MERGE_RULE_HEADER);
	req.body = body;
	req.body_len = body_len;
	req.who = rq->authed ? &rq->who : NULL;
	req.request_id = rq->id;
	if (rq->route->check != NULL && !rq->route->check(&srv->ctx, &req, &resp))
		goto send;
	if (rq->route->handler(&srv->ctx, &req, &resp) != 0) {
		log_warnx("request %s: handler for %s failed", rq->id, rq->route->path);
		if (resp.stream_read != NULL && resp.stream_free != NULL)
			resp.stream_free(resp.stream_cls);
		resp.stream_read = NULL;
		http_error(&resp, 500, "internal", "the server failed to answer");
	}
send:
	free(body);
	return send_response(conn, rq, &resp, method, url);
}

const char *
http_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
http_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct query_each {
	int (*cb)(void *arg, const char *name, const char *value);
	void *arg;
	bool stopped;
};

static enum MHD_Result
query_each_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_each *qe = cls;

	(void)kind;
	if (qe->stopped)
		return MHD_NO;
	if (qe->cb(qe->arg, key, value) != 0)
		qe->stopped = true;
	return qe->stopped ? MHD_NO : MHD_YES;
}

int
http_query_each(const struct http_request *req,
    int (*cb)(void *arg, const char *name, const char *value), void *arg)
{
	struct query_each qe = {.cb = cb, .arg = arg, .stopped = false};

	return MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_each_one, &qe);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct server *srv = cls;
	struct request *rq = *con_cls;
	struct http_response resp = {0};
	enum MHD_Result ret;

	(void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		rq->srv = srv;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		if (id_random_hex(rq->id, 8) != FS_OK)
			snprintf(rq->id, sizeof(rq->id), "%s", "0000000000000000");
		atomic_fetch_add(&srv->inflight, 1);
		*con_cls = rq;
		conn_guard_request(conn);
		if (check_headers(srv, rq, conn, url, method, &resp)) {
			ret = send_response(conn, rq, &resp, method, url);
			free(resp.body);
			return ret;
		}
		return MHD_YES;
	}
	if (rq->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		conn_guard_body(conn, *upload_size);
		ret = take_body(rq, conn, upload, *upload_size, method, url);
		*upload_size = 0;
		return ret;
	}
	conn_guard_answering(conn);
	return finish(rq, conn, url, method);
}

static void
on_completed(
    void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct server *srv = cls;
	struct request *rq = *con_cls;

	conn_guard_done(conn);
	if (rq == NULL)
		return;
	if (!rq->answered || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		log_info("request %s device=%s ended before completion (code %d)", rq->id,
		    rq->authed ? rq->who.name : "-", (int)toe);
	free(rq->raw);
	free(rq);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->inflight, 1);
}

/*
 * Keeps "%00" undecoded so that the path check sees it: a decoded NUL would
 * silently cut the path short.  Everything else is decoded as usual.
 */
static size_t
on_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	if (strstr(s, "%00") != NULL)
		return strlen(s);
	return MHD_http_unescape(s);
}

__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	/* Rate-limited: an attack makes one message a connection (conn_guard.h). */
	if (cls != NULL && !conn_guard_log_ok(cls))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warnx("libmicrohttpd: %s", msg);
}

/* Writes the port to path atomically (write a temporary file, rename). */
static int
write_port_file(const char *path, unsigned port)
{
	char tmp[CONFIG_PATH_MAX + 8];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("Failed to write port file '%s'", tmp);
		return -1;
	}
	fprintf(fp, "%u\n", port);
	if (fclose(fp) != 0 || rename(tmp, path) != 0) {
		log_warn("Failed to write port file '%s'", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Waits for SIGTERM or SIGINT; SIGHUP is logged and ignored. */
/*
 * Waits for a signal, waking every second to wipe the sealing keys whose
 * time is up (unlock_hold.h): a key is not held past its time even when
 * no request comes.
 */
static int
wait_for_signal(const sigset_t *set, struct unlock_hold *unlock)
{
	const struct timespec tick = {1, 0};
	int sig;

	for (;;) {
		sig = sigtimedwait(set, NULL, &tick);
		unlock_hold_expire(unlock);
		if (sig < 0)
			continue;
		if (sig == SIGHUP) {
			log_info(
			    "SIGHUP received; configuration reload is not supported, ignoring");
			continue;
		}
		return sig;
	}
}

static void
drain(struct server *srv)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	struct timespec start;
	int64_t limit = (int64_t)srv->ctx.cfg->connection_timeout * 1000;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (atomic_load(&srv->inflight) > 0 && elapsed_ms(&start) < limit)
		nanosleep(&pause, NULL);
	if (atomic_load(&srv->inflight) > 0)
		log_warnx("%d requests still in flight at shutdown, closing them",
		    atomic_load(&srv->inflight));
}

int
server_run(const struct config *cfg, struct store *store, const struct server_key *key,
    const char *port_file)
{
	struct server srv = {.ctx = {.cfg = cfg, .store = store, .key = key}};
	const struct conn_guard_limits limits = {.max_connections = cfg->max_connections,
		.max_per_ip = cfg->max_per_ip, .handshake_timeout = cfg->handshake_timeout,
		.header_timeout = cfg->header_timeout, .min_body_rate = cfg->min_body_rate};
	struct server_tls tls = {0};
	struct MHD_OptionItem tls_opts[4];
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	const union MHD_DaemonInfo *info;
	unsigned flags, port;
	sigset_t set;
	MHD_socket lsock;
	bool v6;
	int sig, rc = 1;

	atomic_init(&srv.inflight, 0);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		fatalx("Failed to block signals");

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	v6 = inet_pton(AF_INET, cfg->listen, &sin.sin_addr) != 1;
	if (v6) {
		if (inet_pton(AF_INET6, cfg->listen, &sin6.sin6_addr) != 1) {
			log_warnx("Invalid listen address '%s'", cfg->listen);
			return 1;
		}
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)cfg->port);
		sa = (struct sockaddr *)&sin6;
	} else {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)cfg->port);
		sa = (struct sockaddr *)&sin;
	}
	if (!cfg->insecure_http && server_tls_load(&tls, cfg) != 0)
		return 1;

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	flags |=
	    MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL;
	if (!cfg->insecure_http)
		flags |= MHD_USE_TLS;
	if (v6)
		flags |= MHD_USE_IPv6;
	/* The TLS options go last, in an array that is empty for plain HTTP. */
	tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls.cert};
	tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls.key};
	tls_opts[2] = (struct MHD_OptionItem){
	    MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)cfg->tls_priorities};
	tls_opts[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (cfg->insecure_http)
		tls_opts[0].option = MHD_OPTION_END;
	if (conn_guard_start(&limits, &srv.guard) != FS_OK) {
		log_warnx("Failed to start the connection guard");
		goto out;
	}
	srv.ctx.guard = srv.guard;
	if ((srv.ctx.unlock = unlock_hold_new(cfg->unlock_seconds)) == NULL ||
	    (srv.ctx.metrics = metrics_new()) == NULL) {
		log_warnx("Out of memory");
		goto out;
	}
	/*
	 * The guard enforces max_connections and max_per_ip itself, counting
	 * from accept; libmicrohttpd's own limit leaves room above it for the
	 * connections the guard has cut and libmicrohttpd has not closed yet.
	 */
	srv.mhd = MHD_start_daemon(flags, (uint16_t)cfg->port, conn_guard_accept, srv.guard,
	    on_request, &srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv.guard,
	    MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
	    conn_guard_mhd_limit(&limits), MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)cfg->connection_timeout, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
	    MHD_OPTION_NOTIFY_CONNECTION, conn_guard_notify, srv.guard,
	    MHD_OPTION_URI_LOG_CALLBACK, conn_guard_uri, srv.guard,
	    MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, NULL, MHD_OPTION_ARRAY, tls_opts,
	    MHD_OPTION_END);
	if (srv.mhd == NULL) {
		log_warnx("Failed to start the HTTP%s server on %s port %u",
		    cfg->insecure_http ? "" : "S", cfg->listen, cfg->port);
		goto out;
	}
	info = MHD_get_daemon_info(srv.mhd, MHD_DAEMON_INFO_BIND_PORT);
	port = info != NULL ? info->port : cfg->port;
	log_info("listening on %s://%s%s%s:%u", cfg->insecure_http ? "http" : "https",
	    v6 ? "[" : "", cfg->listen, v6 ? "]" : "", port);
	if (cfg->insecure_http)
		log_warnx(
		    "Serving plain HTTP on loopback: for tests and TLS-terminating proxies only");
	if (port_file != NULL && write_port_file(port_file, port) != 0)
		goto stop;

	sig = wait_for_signal(&set, srv.ctx.unlock);
	log_info("%s received, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	lsock = MHD_quiesce_daemon(srv.mhd);
	drain(&srv);
	MHD_stop_daemon(srv.mhd);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	srv.mhd = NULL;
	rc = 0;
	log_info("stopped");
	goto out;
stop:
	MHD_stop_daemon(srv.mhd);
out:
	unlock_hold_free(srv.ctx.unlock); /* wipes the keys still held */
	metrics_free(srv.ctx.metrics);
	conn_guard_stop(srv.guard);
	server_tls_free(&tls);
	return rc;
}
