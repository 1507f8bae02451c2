/*
 * metrics.h -- what the daemon counts for GET /metrics (issue 18, item 4),
 * in the Prometheus text format.  Every metric is documented in
 * docs/OPERATIONS.md, "What to monitor".
 *
 * Counters live in the server's context (no global state) behind one
 * mutex: an increment is a few nanoseconds beside a request's work, and a
 * scrape reads a consistent set.  Nothing here holds a field value, a
 * token or a device name: labels are route templates, statuses and fixed
 * words.
 */
#ifndef FS_DAEMON_METRICS_H
#define FS_DAEMON_METRICS_H

#include <stdbool.h>
#include <stdint.h>

struct metrics;

/* NULL when out of memory. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * One answered request: route is the route's template ("/v1/push"; NULL:
 * none matched), status the HTTP status, us its duration;
 * store_error when the answer reports a failure of the store.
 */
void metrics_request(struct metrics *m, const char *route, int status, int64_t us,
    bool store_error);

/*
 * One applied push batch: its changes by result, and the age of its
 * newest change at arrival (server time minus the change's stamp, ms).
 */
void metrics_push(struct metrics *m, int accepted, int duplicates, int refused, int64_t age_ms);

/* The sealing key unlocks and failures (issue 17). */
void metrics_unlock(struct metrics *m, bool ok);

struct server_ctx;
struct http_request;
struct http_response;

/* GET /metrics (metrics_http.c). */
int metrics_handle(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

/*
 * The text of a scrape, with the gauges the caller read (open conflicts
 * in the store; connections open now, cut and refused since the start).
 * Caller frees; NULL when out of memory.
 */
char *metrics_render(struct metrics *m, int64_t open_conflicts, unsigned connections,
    unsigned long cut, unsigned long refused);

#endif /* FS_DAEMON_METRICS_H */
