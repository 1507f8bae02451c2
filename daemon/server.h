/*
 * server.h -- the HTTPS front end of fieldsyncd (libmicrohttpd + GnuTLS).
 *
 * The server owns the listening socket, TLS, the worker threads, request
 * limits, decompression, authentication and routing; it hands each request
 * to a handler (routes.h) as a struct http_request and sends back the
 * struct http_response the handler filled in.  It does not know the sync
 * protocol or the store schema.
 *
 * Handlers run on libmicrohttpd's worker threads, several at a time, and
 * receive the shared struct server_ctx.
 */
#ifndef FS_DAEMON_SERVER_H
#define FS_DAEMON_SERVER_H

struct config;
struct store;

/*
 * What every handler receives.  Read-only for handlers (the store is
 * thread-safe, see store.h).
 */
struct server_key;

struct unlock_hold;
struct metrics;
struct conn_guard;

struct server_ctx {
	const struct config *cfg;
	struct store *store;
	const struct server_key *key; /* signs headquarters' changes (server_key.h) */
	struct unlock_hold *unlock;   /* sealing keys unlocked per reviewer (unlock_hold.h) */
	struct metrics *metrics;      /* GET /metrics (metrics.h) */
	struct conn_guard *guard;     /* connection counts for the metrics */
};

/*
 * Runs the daemon: loads the TLS certificate and key, listens, prints
 * "fieldsyncd: listening on https://ADDR:PORT" (the actual port) to stderr,
 * writes the port to port_file if not NULL, and serves until SIGTERM or
 * SIGINT.  Then it stops accepting, lets requests in flight finish (up to
 * connection_timeout seconds) and returns 0.  Returns 1 if the server could
 * not start.  The caller closes the store afterwards.
 *
 * Must be called from the main thread before any other thread exists: it
 * blocks SIGTERM, SIGINT and SIGHUP in every thread and waits for them with
 * sigwait(), and ignores SIGPIPE.
 */
int server_run(const struct config *cfg, struct store *store, const struct server_key *key,
    const char *port_file);

#endif /* FS_DAEMON_SERVER_H */
