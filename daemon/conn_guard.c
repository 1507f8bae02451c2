/*
 * conn_guard.c -- deadlines, a body-rate floor, a per-address limit and
 * slot reclaiming for libmicrohttpd's connections.  See conn_guard.h.
 *
 * The table is a list of every connection libmicrohttpd holds (a few
 * hundred at most: max_connections and the room above it), so scanning it
 * on accept and on every tick is cheap and needs no index.  An entry is
 * made when libmicrohttpd starts a connection and freed when it closes it;
 * the socket is valid in between, which is why a cut (shutdown(2)) is only
 * made under the lock that the close notification also takes.
 */
#include "conn_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "log.h"

enum phase {
	PH_LINE,    /* waiting for the TLS handshake and the request line */
	PH_HEADERS, /* request line seen, waiting for the end of the header */
	PH_BODY,    /* header complete, body arriving */
	PH_ANSWER,  /* body complete: the handler runs, the answer goes out */
};

/* One client address and its connections. */
struct addr {
	struct addr *next; /* in its bucket */
	int family;
	unsigned char ip[16];
	unsigned active; /* its connections not cut */
	unsigned refs;   /* entries pointing here */
};

#define ADDR_BUCKETS 512

struct entry {
	struct entry *prev, *next;
	struct conn_guard *guard;
	MHD_socket fd;
	struct addr *addr; /* NULL if it could not be allocated */
	char text[INET6_ADDRSTRLEN];
	enum phase phase;
	bool first;        /* no request has finished on this connection */
	bool trusted;      /* a request on it presented a valid token */
	bool cut;          /* shut down by the guard */
	int64_t since_ms;  /* accept, or the end of the previous request */
	int64_t body_ms;   /* when the header was complete */
	uint64_t body_bytes;
};

/* Connections at once that count as a burst worth giving memory back after. */
#define GUARD_TRIM_PEAK 64

enum log_kind { LOG_REFUSED, LOG_CUT, LOG_CLOSED, LOG_MHD, LOG_KINDS };

static const char *const log_what[LOG_KINDS] = {
	"refused connections", "cut connections", "connections closed without a request",
	"libmicrohttpd messages",
};

struct ratelimit {
	int64_t start;
	unsigned n;
	unsigned long held;
};

struct conn_guard {
	struct conn_guard_limits l;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stopping;
	struct entry *head;
	struct addr *addrs[ADDR_BUCKETS];
	unsigned n;      /* entries */
	unsigned active; /* entries not cut */
	unsigned peak;   /* most entries since memory was last given back */
	unsigned long cut, refused;
	struct ratelimit rl[LOG_KINDS];
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ends the window if it is over, saying how many lines it held back. */
static void
rl_roll(struct ratelimit *r, enum log_kind kind, int64_t now)
{
	if (now - r->start < GUARD_LOG_WINDOW_MS)
		return;
	if (r->held > 0)
		log_warnx("%lu more %s in the last %d s not logged", r->held, log_what[kind],
		    GUARD_LOG_WINDOW_MS / 1000);
	r->start = now;
	r->n = 0;
	r->held = 0;
}

/* True if one more line of this kind may be logged now.  Lock held. */
static bool
rl_ok(struct conn_guard *g, enum log_kind kind)
{
	struct ratelimit *r = &g->rl[kind];

	rl_roll(r, kind, now_ms());
	if (r->n < GUARD_LOG_BURST) {
		r->n++;
		return true;
	}
	r->held++;
	return false;
}

/* The address part of addr, for comparison and for the log. */
static void
addr_of(const struct sockaddr *addr, int *ret_family, unsigned char ip[16],
    char text[INET6_ADDRSTRLEN])
{
	memset(ip, 0, 16);
	*ret_family = addr != NULL ? addr->sa_family : AF_UNSPEC;
	if (*ret_family == AF_INET)
		memcpy(ip, &((const struct sockaddr_in *)(const void *)addr)->sin_addr, 4);
	else if (*ret_family == AF_INET6)
		memcpy(ip, &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr, 16);
	if ((*ret_family != AF_INET && *ret_family != AF_INET6) ||
	    inet_ntop(*ret_family, ip, text, INET6_ADDRSTRLEN) == NULL)
		snprintf(text, INET6_ADDRSTRLEN, "%s", "unknown address");
}

static struct addr **
addr_bucket(struct conn_guard *g, int family, const unsigned char ip[16])
{
	uint32_t h = 2166136261u ^ (uint32_t)family; /* FNV-1a */

	for (int i = 0; i < 16; i++)
		h = (h ^ ip[i]) * 16777619u;
	return &g->addrs[h % ADDR_BUCKETS];
}

/* The address's record; made (refs 0) if create and missing.  Lock held. */
static struct addr *
addr_find(struct conn_guard *g, int family, const unsigned char ip[16], bool create)
{
	struct addr **b = addr_bucket(g, family, ip), *a;

	for (a = *b; a != NULL; a = a->next)
		if (a->family == family && memcmp(a->ip, ip, 16) == 0)
			return a;
	if (!create || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->family = family;
	memcpy(a->ip, ip, 16);
	a->next = *b;
	*b = a;
	return a;
}

/* Drops an entry's reference; frees the record with its last.  Lock held. */
static void
addr_unref(struct conn_guard *g, struct addr *a)
{
	struct addr **p;

	if (a == NULL || --a->refs > 0)
		return;
	for (p = addr_bucket(g, a->family, a->ip); *p != a; p = &(*p)->next)
		;
	*p = a->next;
	free(a);
}

/* Shuts the connection down; libmicrohttpd closes it.  Lock held. */
static void
cut(struct conn_guard *g, struct entry *e, const char *why, bool quiet)
{
	e->cut = true;
	g->active--;
	if (e->addr != NULL)
		e->addr->active--;
	g->cut++;
	shutdown(e->fd, SHUT_RDWR);
	if (!quiet && rl_ok(g, LOG_CUT))
		log_warnx("Closed the connection from %s: %s", e->text, why);
}

/*
 * How much a waiting connection is worth keeping: one that has not finished
 * a request yet (what an attacker holds) least, then a kept one that has
 * (an authenticated one most: a device between the requests of a sync).
 */
static int
worth(const struct entry *e)
{
	return e->trusted ? 2 : e->first ? 0 : 1;
}

static unsigned
same_addr(const struct entry *e)
{
	return e->addr != NULL ? e->addr->active : 1;
}

/* True if a is a better connection to cut than b. */
static bool
cut_first(const struct entry *a, const struct entry *b)
{
	if (worth(a) != worth(b))
		return worth(a) < worth(b);
	/* An address holding many connections gives one up before one holding few. */
	if (same_addr(a) != same_addr(b))
		return same_addr(a) > same_addr(b);
	return a->since_ms < b->since_ms;
}

/*
 * The connection to cut to make room: of those waiting for a request, the
 * least worth keeping; of those, one from the address holding the most
 * connections; of those, the one that has waited longest.  NULL if every
 * connection is busy with a request.  Lock held.
 */
static struct entry *
slowest(struct conn_guard *g)
{
	struct entry *best = NULL;

	for (struct entry *e = g->head; e != NULL; e = e->next)
		if (!e->cut && e->phase <= PH_HEADERS && (best == NULL || cut_first(e, best)))
			best = e;
	return best;
}

enum MHD_Result
conn_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct conn_guard *g = cls;
	char text[INET6_ADDRSTRLEN];
	unsigned char ip[16];
	unsigned same;
	struct entry *victim;
	struct addr *a;
	int family;

	(void)addrlen;
	addr_of(addr, &family, ip, text);
	pthread_mutex_lock(&g->lock);
	same = (a = addr_find(g, family, ip, false)) != NULL ? a->active : 0;
	if (same >= g->l.max_per_ip) {
		g->refused++;
		if (rl_ok(g, LOG_REFUSED))
			log_warnx("Refused a connection from %s: %u connections from that address"
			          " are open (max_per_ip)", text, same);
		pthread_mutex_unlock(&g->lock);
		return MHD_NO;
	}
	if (g->active >= g->l.max_connections) {
		if ((victim = slowest(g)) == NULL) {
			g->refused++;
			if (rl_ok(g, LOG_REFUSED))
				log_warnx("Refused a connection from %s: all %u connections are"
				          " busy with requests (max_connections)",
				    text, g->l.max_connections);
			pthread_mutex_unlock(&g->lock);
			return MHD_NO;
		}
		cut(g, victim, "every slot taken: the slowest connection makes room", false);
	}
	pthread_mutex_unlock(&g->lock);
	return MHD_YES;
}

static struct entry *
entry_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info != NULL ? info->socket_context : NULL;
}

static void
started(struct conn_guard *g, struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *fd, *addr;
	unsigned char ip[16];
	struct entry *e;
	int family;

	*socket_context = NULL;
	fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (fd == NULL || (e = calloc(1, sizeof(*e))) == NULL)
		return; /* not watched: libmicrohttpd's idle timeout still applies */
	e->guard = g;
	e->fd = fd->connect_fd;
	addr_of(addr != NULL ? addr->client_addr : NULL, &family, ip, e->text);
	e->phase = PH_LINE;
	e->first = true;
	e->since_ms = now_ms();
	pthread_mutex_lock(&g->lock);
	if ((e->addr = addr_find(g, family, ip, true)) != NULL) {
		e->addr->refs++;
		e->addr->active++;
	}
	e->next = g->head;
	if (g->head != NULL)
		g->head->prev = e;
	g->head = e;
	g->n++;
	g->active++;
	if (g->n > g->peak)
		g->peak = g->n;
	pthread_mutex_unlock(&g->lock);
	*socket_context = e;
}

static void
closed(struct conn_guard *g, struct entry *e)
{
	pthread_mutex_lock(&g->lock);
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		g->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	g->n--;
	if (!e->cut) {
		g->active--;
		if (e->addr != NULL)
			e->addr->active--;
		/* A timeout of libmicrohttpd's, a failed handshake, a client gone. */
		if (e->first && e->phase <= PH_HEADERS && rl_ok(g, LOG_CLOSED))
			log_warnx("Connection from %s closed after %.1f s without a complete request",
			    e->text, (double)(now_ms() - e->since_ms) / 1000.0);
	}
	addr_unref(g, e->addr);
	pthread_mutex_unlock(&g->lock);
	free(e);
}

void
conn_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct conn_guard *g = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		started(g, conn, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
		closed(g, *socket_context);
		*socket_context = NULL;
	}
}

/* Moves the connection's entry to phase (and does what comes with it). */
static void
set_phase(struct MHD_Connection *conn, enum phase from_max, enum phase to)
{
	struct entry *e = entry_of(conn);

	if (e == NULL)
		return;
	pthread_mutex_lock(&e->guard->lock);
	if (e->phase <= from_max) {
		e->phase = to;
		if (to == PH_BODY) {
			e->body_ms = now_ms();
			e->body_bytes = 0;
		}
	}
	pthread_mutex_unlock(&e->guard->lock);
}

void *
conn_guard_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)uri;
	set_phase(conn, PH_LINE, PH_HEADERS);
	return NULL; /* the access handler's *con_cls stays NULL on its first call */
}

void
conn_guard_request(struct MHD_Connection *conn)
{
	set_phase(conn, PH_HEADERS, PH_BODY);
}

void
conn_guard_trusted(struct MHD_Connection *conn)
{
	struct entry *e = entry_of(conn);

	if (e == NULL)
		return;
	pthread_mutex_lock(&e->guard->lock);
	e->trusted = true;
	pthread_mutex_unlock(&e->guard->lock);
}

void
conn_guard_body(struct MHD_Connection *conn, size_t n)
{
	struct entry *e = entry_of(conn);

	if (e == NULL)
		return;
	pthread_mutex_lock(&e->guard->lock);
	e->body_bytes += n;
	pthread_mutex_unlock(&e->guard->lock);
}

void
conn_guard_answering(struct MHD_Connection *conn)
{
	set_phase(conn, PH_BODY, PH_ANSWER);
}

void
conn_guard_done(struct MHD_Connection *conn)
{
	struct entry *e = entry_of(conn);

	if (e == NULL)
		return;
	pthread_mutex_lock(&e->guard->lock);
	e->phase = PH_LINE;
	e->first = false;
	e->since_ms = now_ms();
	pthread_mutex_unlock(&e->guard->lock);
}

/* One pass over the table: every deadline and the rate floor.  Lock held. */
static void
tick(struct conn_guard *g, int64_t now)
{
	const int64_t hs = (int64_t)g->l.handshake_timeout * 1000;
	const int64_t hdr = (int64_t)g->l.header_timeout * 1000;
	char why[96];

	for (struct entry *e = g->head; e != NULL; e = e->next) {
		if (e->cut)
			continue;
		if (e->phase == PH_LINE && e->first && now - e->since_ms > hs) {
			snprintf(why, sizeof(why), "no TLS handshake and request line within %u s",
			    g->l.handshake_timeout);
			cut(g, e, why, false);
		} else if (e->phase <= PH_HEADERS && now - e->since_ms > hdr) {
			snprintf(why, sizeof(why), "no complete request header within %u s",
			    g->l.header_timeout);
			/* A kept connection with no new request is not an attack sign. */
			cut(g, e, why, e->phase == PH_LINE && !e->first);
		} else if (e->phase == PH_BODY && g->l.min_body_rate > 0 && now - e->body_ms > hdr &&
		           e->body_bytes * 1000 < (uint64_t)g->l.min_body_rate *
		                                      (uint64_t)(now - e->body_ms)) {
			snprintf(why, sizeof(why), "request body slower than %u bytes/s",
			    g->l.min_body_rate);
			cut(g, e, why, false);
		}
	}
	for (int k = 0; k < LOG_KINDS; k++)
		rl_roll(&g->rl[k], (enum log_kind)k, now);
#ifdef __GLIBC__
	/*
	 * After a burst of connections (an attack, a crowd of devices at
	 * shift change) has gone, give the freed TLS and request memory back
	 * to the system instead of keeping it in the workers' arenas.
	 */
	if (g->peak >= GUARD_TRIM_PEAK && g->n <= GUARD_TRIM_PEAK / 8) {
		malloc_trim(0);
		g->peak = g->n;
	}
#endif
}

static void *
watchdog(void *arg)
{
	struct conn_guard *g = arg;
	struct timespec until;

	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		tick(g, now_ms());
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += GUARD_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

fs_err
conn_guard_start(const struct conn_guard_limits *limits, struct conn_guard **ret_guard)
{
	struct conn_guard *g;
	pthread_condattr_t ca;
	int64_t now = now_ms();

	*ret_guard = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return FS_ERR_NOMEM;
	g->l = *limits;
	for (int k = 0; k < LOG_KINDS; k++)
		g->rl[k].start = now;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->thread, NULL, watchdog, g) != 0) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return FS_ERR_IO;
	}
	*ret_guard = g;
	return FS_OK;
}

void
conn_guard_stop(struct conn_guard *g)
{
	struct entry *e, *next;

	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	for (e = g->head; e != NULL; e = next) { /* none once libmicrohttpd has stopped */
		next = e->next;
		addr_unref(g, e->addr);
		free(e);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

unsigned
conn_guard_mhd_limit(const struct conn_guard_limits *limits)
{
	return limits->max_connections + limits->max_connections / 2 + 16;
}

bool
conn_guard_log_ok(struct conn_guard *g)
{
	bool ok;

	pthread_mutex_lock(&g->lock);
	ok = rl_ok(g, LOG_MHD);
	pthread_mutex_unlock(&g->lock);
	return ok;
}

void
conn_guard_stats(struct conn_guard *g, struct conn_guard_stats *ret)
{
	pthread_mutex_lock(&g->lock);
	ret->open = g->n;
	ret->cut = g->cut;
	ret->refused = g->refused;
	pthread_mutex_unlock(&g->lock);
}
