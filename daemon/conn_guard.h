/*
 * conn_guard.h -- the daemon's defence against slow connections (issue 15).
 *
 * libmicrohttpd's own timeout is an idle timeout: a client that trickles a
 * byte now and then keeps its connection -- and one of the server's slots --
 * for ever, and a few thousand such clients took every slot.  The guard
 * watches every connection from accept to close and enforces what the
 * idle timeout cannot:
 *
 *   - a TLS-handshake deadline: the handshake and the request line must
 *     arrive within handshake_timeout seconds of accept (libmicrohttpd
 *     tells of no finished handshake; the request line is the first sign
 *     of one);
 *   - a request-header deadline: the whole header within header_timeout
 *     seconds of accept (or of the end of the previous request on a kept
 *     connection), however the bytes trickle;
 *   - a body-rate floor: past the first header_timeout seconds, a body
 *     must have come at min_body_rate bytes per second on average;
 *   - a per-address limit that counts connections from accept, half-open
 *     ones (handshake not done) included;
 *   - when every slot is taken, a new connection takes the slot of the
 *     connection that has waited longest for its request to arrive (the
 *     slowest) -- first among those that have not finished a request yet,
 *     then among kept ones, and last among kept ones whose requests
 *     presented a valid token (a device between the requests of a sync);
 *     only if no connection is waiting is the new one refused.
 *
 * A connection is cut with shutdown(2) on its socket; libmicrohttpd then
 * closes it in its own thread as if the peer had gone.  Every refusal and
 * every cut is logged with the client's address (never a token or a
 * value), at most GUARD_LOG_BURST lines per GUARD_LOG_WINDOW_MS and kind,
 * then one line counting the rest, so an attack cannot fill the disk; the
 * same limit applies to libmicrohttpd's own messages (conn_guard_log_ok()).
 *
 * Wiring (server.c): conn_guard_accept as MHD_OPTION_ACCEPT_POLICY_CALLBACK,
 * conn_guard_notify as MHD_OPTION_NOTIFY_CONNECTION, conn_guard_uri as
 * MHD_OPTION_URI_LOG_CALLBACK, all with the guard as closure; the access
 * handler calls conn_guard_request(), conn_guard_body() and
 * conn_guard_answering(), the completion callback conn_guard_done().
 * libmicrohttpd's own connection limit must leave room above
 * max_connections for cut connections it has not closed yet
 * (conn_guard_mhd_limit()), and its per-address limit must be off.
 *
 * Threads: the callbacks run on libmicrohttpd's workers; a watchdog thread
 * of the guard's own checks the deadlines every GUARD_TICK_MS.  One mutex
 * guards the table.  No global state.
 */
#ifndef FS_DAEMON_CONN_GUARD_H
#define FS_DAEMON_CONN_GUARD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "fieldsync.h"

#define GUARD_TICK_MS       200
#define GUARD_LOG_BURST     10
#define GUARD_LOG_WINDOW_MS 10000

struct conn_guard;

struct conn_guard_limits {
	unsigned max_connections;
	unsigned max_per_ip;
	unsigned handshake_timeout; /* seconds */
	unsigned header_timeout;    /* seconds */
	unsigned min_body_rate;     /* bytes per second */
};

/* Counters, for logs and tests (conn_guard_stats()). */
struct conn_guard_stats {
	unsigned open;      /* connections in the table now */
	unsigned long cut;  /* cut for a deadline, the rate floor or a slot */
	unsigned long refused;
};

/*
 * Starts the guard and its watchdog thread.  FS_ERR_NOMEM, or FS_ERR_IO
 * when the thread cannot start.  Release with conn_guard_stop().
 */
fs_err conn_guard_start(const struct conn_guard_limits *limits, struct conn_guard **ret_guard);

/*
 * Stops the watchdog and frees the guard.  Call after MHD_stop_daemon():
 * no callback may run any more.  Accepts NULL.
 */
void conn_guard_stop(struct conn_guard *guard);

/* The connection limit to give libmicrohttpd: max_connections and room for cut ones. */
unsigned conn_guard_mhd_limit(const struct conn_guard_limits *limits);

/* libmicrohttpd callbacks; cls is the guard. */
enum MHD_Result conn_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
void conn_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code);
void *conn_guard_uri(void *cls, const char *uri, struct MHD_Connection *conn);

/* From the access handler: the header is complete; n bytes of body came; the body is complete. */
void conn_guard_request(struct MHD_Connection *conn);
void conn_guard_body(struct MHD_Connection *conn, size_t n);
/* From the access handler: the request presented a valid token. */
void conn_guard_trusted(struct MHD_Connection *conn);
void conn_guard_answering(struct MHD_Connection *conn);
/* From the completion callback: the request is over; the connection may wait for another. */
void conn_guard_done(struct MHD_Connection *conn);

/*
 * True if one more of libmicrohttpd's messages may be logged now (the
 * rate limit above); when a window ends with messages held back, logs how
 * many first.
 */
bool conn_guard_log_ok(struct conn_guard *guard);

void conn_guard_stats(struct conn_guard *guard, struct conn_guard_stats *ret);

#endif /* FS_DAEMON_CONN_GUARD_H */
