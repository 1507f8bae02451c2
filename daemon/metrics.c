/*
 * metrics.c -- the daemon's counters and their Prometheus text.  See
 * metrics.h.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 48
#define NBUCKETS   12

/* Seconds: a request on a fast link is milliseconds; a 9.6 kbit/s one, seconds. */
static const double latency_le[NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    5, 10, 30};
/* Seconds: how long a change waited on its device (offline) before it arrived. */
static const double age_le[NBUCKETS] = {1, 10, 60, 300, 900, 3600, 6 * 3600, 86400,
    3 * 86400, 7 * 86400, 30 * 86400, 365 * 86400};
/* The statuses counted by name; any other is "other". */
static const int statuses[] = {200, 400, 401, 403, 404, 405, 409, 410, 413, 415, 429, 500,
    503};
#define NSTATUS ((int)(sizeof(statuses) / sizeof(statuses[0])) + 1)

struct histogram {
	uint64_t bucket[NBUCKETS]; /* per bucket, not cumulative; rendered cumulative */
	uint64_t count;
	double sum;
};

struct route_stats {
	const char *route; /* a route's static template, or "other" */
	uint64_t by_status[NSTATUS];
	struct histogram latency;
};

struct metrics {
	pthread_mutex_t mu;
	struct route_stats routes[MAX_ROUTES];
	int nroutes;
	uint64_t accepted, duplicates, refused, store_errors, unlocks, unlock_failures;
	struct histogram age;
};

struct metrics *
metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m != NULL && pthread_mutex_init(&m->mu, NULL) != 0) {
		free(m);
		return NULL;
	}
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static void
observe(struct histogram *h, const double *le, double v)
{
	int i = 0;

	while (i < NBUCKETS && v > le[i])
		i++;
	if (i < NBUCKETS)
		h->bucket[i]++;
	h->count++;
	h->sum += v;
}

static struct route_stats *
route_slot(struct metrics *m, const char *route)
{
	const char *name = route != NULL ? route : "other";

	for (int i = 0; i < m->nroutes; i++)
		if (m->routes[i].route == name || strcmp(m->routes[i].route, name) == 0)
			return &m->routes[i];
	if (m->nroutes == MAX_ROUTES)
		return NULL;
	m->routes[m->nroutes].route = name;
	return &m->routes[m->nroutes++];
}

void
metrics_request(struct metrics *m, const char *route, int status, int64_t us, bool store_error)
{
	struct route_stats *r;
	int s = 0;

	while (s < NSTATUS - 1 && statuses[s] != status)
		s++;
	pthread_mutex_lock(&m->mu);
	if ((r = route_slot(m, route)) != NULL) {
		r->by_status[s]++;
		observe(&r->latency, latency_le, (double)us / 1e6);
	}
	if (store_error)
		m->store_errors++;
	pthread_mutex_unlock(&m->mu);
}

void
metrics_push(struct metrics *m, int accepted, int duplicates, int refused, int64_t age_ms)
{
	pthread_mutex_lock(&m->mu);
	m->accepted += (uint64_t)(accepted > 0 ? accepted : 0);
	m->duplicates += (uint64_t)(duplicates > 0 ? duplicates : 0);
	m->refused += (uint64_t)(refused > 0 ? refused : 0);
	if (accepted + duplicates + refused > 0)
		observe(&m->age, age_le, (double)(age_ms > 0 ? age_ms : 0) / 1e3);
	pthread_mutex_unlock(&m->mu);
}

void
metrics_unlock(struct metrics *m, bool ok)
{
	pthread_mutex_lock(&m->mu);
	if (ok)
		m->unlocks++;
	else
		m->unlock_failures++;
	pthread_mutex_unlock(&m->mu);
}

struct out {
	char *buf;
	size_t len, cap;
	bool nomem;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (o->nomem)
			return;
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		char *g = realloc(o->buf, o->cap * 2);
		if (g == NULL || n < 0) {
			o->nomem = true;
			return;
		}
		o->buf = g;
		o->cap *= 2;
	}
}

static void
put_histogram(struct out *o, const char *name, const char *label, const struct histogram *h,
    const double *le)
{
	uint64_t cum = 0;
	const char *sep = label[0] != '\0' ? "," : "";

	for (int i = 0; i < NBUCKETS; i++) {
		cum += h->bucket[i];
		put(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, label, sep, le[i],
		    (unsigned long long)cum);
	}
	put(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, label, sep, (unsigned long long)h->count);
	put(o, "%s_sum%s%s%s %.6f\n", name, label[0] ? "{" : "", label, label[0] ? "}" : "", h->sum);
	put(o, "%s_count%s%s%s %llu\n", name, label[0] ? "{" : "", label, label[0] ? "}" : "",
	    (unsigned long long)h->count);
}

char *
metrics_render(struct metrics *m, int64_t open_conflicts, unsigned connections,
    unsigned long cut, unsigned long refused)
{
	struct out o = {.buf = malloc(8192), .cap = 8192};
	char label[160];

	if (o.buf == NULL)
		return NULL;
	o.buf[0] = '\0';
	pthread_mutex_lock(&m->mu);
	put(&o, "# HELP fieldsync_requests_total Requests answered, by route template and HTTP"
		" status.\n# TYPE fieldsync_requests_total counter\n");
	for (int i = 0; i < m->nroutes; i++)
		for (int s = 0; s < NSTATUS; s++) {
			if (m->routes[i].by_status[s] == 0)
				continue;
			if (s < NSTATUS - 1)
				put(&o, "fieldsync_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
				    m->routes[i].route, statuses[s],
				    (unsigned long long)m->routes[i].by_status[s]);
			else
				put(&o, "fieldsync_requests_total{route=\"%s\",status=\"other\"} %llu\n",
				    m->routes[i].route, (unsigned long long)m->routes[i].by_status[s]);
		}
	put(&o, "# HELP fieldsync_request_duration_seconds Time from the request's first byte"
		" to its answer, by route template.\n"
		"# TYPE fieldsync_request_duration_seconds histogram\n");
	for (int i = 0; i < m->nroutes; i++) {
		snprintf(label, sizeof(label), "route=\"%s\"", m->routes[i].route);
		put_histogram(&o, "fieldsync_request_duration_seconds", label,
		    &m->routes[i].latency, latency_le);
	}
	put(&o, "# HELP fieldsync_changes_total Pushed changes, by result.\n"
		"# TYPE fieldsync_changes_total counter\n"
		"fieldsync_changes_total{result=\"accepted\"} %llu\n"
		"fieldsync_changes_total{result=\"duplicate\"} %llu\n"
		"fieldsync_changes_total{result=\"refused\"} %llu\n",
	    (unsigned long long)m->accepted, (unsigned long long)m->duplicates,
	    (unsigned long long)m->refused);
	put(&o, "# HELP fieldsync_push_change_age_seconds How long the newest change of a batch"
		" waited on its device before it arrived (offline time).\n"
		"# TYPE fieldsync_push_change_age_seconds histogram\n");
	put_histogram(&o, "fieldsync_push_change_age_seconds", "", &m->age, age_le);
	put(&o, "# HELP fieldsync_store_errors_total Answers reporting a failure of the store.\n"
		"# TYPE fieldsync_store_errors_total counter\nfieldsync_store_errors_total %llu\n",
	    (unsigned long long)m->store_errors);
	put(&o, "# HELP fieldsync_key_unlocks_total Sealing key unlocks by reviewers, by result.\n"
		"# TYPE fieldsync_key_unlocks_total counter\n"
		"fieldsync_key_unlocks_total{result=\"ok\"} %llu\n"
		"fieldsync_key_unlocks_total{result=\"failed\"} %llu\n",
	    (unsigned long long)m->unlocks, (unsigned long long)m->unlock_failures);
	pthread_mutex_unlock(&m->mu);
	put(&o, "# HELP fieldsync_open_conflicts Open conflicts in the store (fields and records).\n"
		"# TYPE fieldsync_open_conflicts gauge\nfieldsync_open_conflicts %lld\n",
	    (long long)open_conflicts);
	put(&o, "# HELP fieldsync_connections Connections open now.\n"
		"# TYPE fieldsync_connections gauge\nfieldsync_connections %u\n",
	    connections);
	put(&o, "# HELP fieldsync_connections_cut_total Connections cut by the guard (deadlines,"
		" rate floor, slots).\n# TYPE fieldsync_connections_cut_total counter\n"
		"fieldsync_connections_cut_total %lu\n"
		"# HELP fieldsync_connections_refused_total Connections refused at accept.\n"
		"# TYPE fieldsync_connections_refused_total counter\n"
		"fieldsync_connections_refused_total %lu\n",
	    cut, refused);
	if (o.nomem) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
