/*
 * bench-concurrency.c -- issue 6, figure 5: many devices, one daemon.
 *
 * D simulated devices (each its own store of R records, each its own
 * enrolled token, in teams of TEAM devices) sync against one fieldsyncd:
 * every device pushes its records and pulls what its team has pushed so
 * far (with the default team of one, its own records come back).  The
 * devices run on the same two cores as the daemon: merging teammates'
 * records (FS_BENCH_TEAM=5) is device work that takes CPU from the daemon,
 * so the default keeps the devices light and the figures the daemon's.  A pool of C threads drives them (bounded concurrency: at most C
 * devices, hence at most C connections, at once).  The daemon is
 * configured for it: max_connections and max_per_ip above C, since every
 * simulated device comes from 127.0.0.1.
 *
 * Reported: every sync succeeded or not, p50/p99/max latency of single
 * HTTP requests as the device sees them (curl_easy_perform, bench/
 * wrap_curl.c) and of whole syncs, records pushed per second over the
 * whole run, requests that did not get a 200 (each was retried), and the
 * daemon's peak RSS (VmHWM) from a fresh start.  Device stores are made
 * before the clock starts.
 *
 * usage: bench-concurrency [DEVICES...]   (default 200 500)
 * environment: FS_BENCH_RECORDS (200), FS_BENCH_CONCURRENCY (64),
 *              FS_BENCH_TEAM (1), FS_BENCH_THREADS (daemon threads, 0: default),
 *              FS_BENCH_DAEMONS (1; up to 4 daemons on one PostgreSQL store, under
 *              tests/pg/with-pg.sh: device i syncs with daemon i mod N, as a
 *              round-robin balancer would send it),
 *              FS_BENCH_DEFAULTS=1: the daemon's default limits (max_connections
 *              256, max_per_ip 32: fewer than the concurrency from one address)
 *              and the client's default retry options, as a real deployment
 *              behind one NAT address would have them (issue 12)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_RUNS 4

struct device {
	char path[600];
	char token[65];
	double seconds;
	fs_err err;
	fs_sync_result res;
};

#define MAX_DAEMONS 4

struct run {
	bool defaults; /* the client's default options (FS_BENCH_DEFAULTS) */
	struct bench_daemon *d; /* nd daemons: device i syncs with d[i % nd] */
	int nd;
	struct device *dev;
	int n;
	atomic_int next;
};

static int
env_int(const char *name, int dflt, int lo, int hi)
{
	const char *v = getenv(name);
	int n = v != NULL ? atoi(v) : dflt;

	if (n < lo || n > hi)
		bench_die("%s must be %d to %d", name, lo, hi);
	return n;
}

static void *
worker(void *arg)
{
	struct run *r = arg;
	int i;

	while ((i = atomic_fetch_add(&r->next, 1)) < r->n) {
		struct device *dv = &r->dev[i];
		fs_sync_options o;
		fs_client *c;
		double t0;

		bench_sync_options(&r->d[i % r->nd], dv->token, &o);
		if (r->defaults) {
			o.max_attempts = 0;
			o.backoff_ms = 0;
			o.backoff_max_ms = 0;
			o.timeout_ms = 0;
		}
		if ((dv->err = fs_open(dv->path, &c)) != FS_OK)
			continue;
		t0 = bench_now();
		dv->err = fs_sync(c, &o, &dv->res);
		dv->seconds = bench_now() - t0;
		if (dv->err != FS_OK)
			bench_log("device %d: %s: %s", i, fs_strerror(dv->err), fs_errmsg(c));
		fs_close(c);
	}
	return NULL;
}

struct gen {
	struct device *dev;
	int from, to, records;
	const char *dir;
};

static void *
generate(void *arg)
{
	struct gen *g = arg;
	char name[64];

	for (int i = g->from; i < g->to; i++) {
		snprintf(name, sizeof(name), "dev-%d", i);
		bench_make_device_store(g->dev[i].path, name, g->records, (uint64_t)(i + 1) * 7919);
	}
	return NULL;
}

static cJSON *
run_devices(int ndev, int records, int conc, int team, unsigned threads, bool defaults)
{
	struct bench_daemon dd[MAX_DAEMONS], *dp = dd;
	int nd = env_int("FS_BENCH_DAEMONS", 1, 1, MAX_DAEMONS);
	struct device *dev = calloc((size_t)ndev, sizeof(*dev));
	pthread_t *tids = calloc((size_t)conc, sizeof(*tids)), gt[2];
	struct gen g[2];
	struct run r = { .defaults = defaults, .d = dd, .nd = nd, .dev = dev, .n = ndev };
	char name[64], teamname[64], dirname[64];
	double t0, wall, *lat, *syncs, cpu_self, cpu_daemon;
	int64_t pushed = 0, pulled = 0;
	int ok = 0, failed_req = 0;
	size_t nreq, k = 0;
	const struct bench_req *reqs;
	long hwm = 0, rss_idle = 0;
	cJSON *o;

	if (dev == NULL || tids == NULL)
		bench_die("out of memory");
	snprintf(dirname, sizeof(dirname), "conc-%d-%d", ndev, nd);
	/* Every device connects from 127.0.0.1: allow all of them, and some. */
	if (defaults)
		bench_daemon_init(dp, dirname, threads, 0, 0);
	else
		bench_daemon_init(dp, dirname, threads, (unsigned)conc * 2 + 16,
		    (unsigned)conc * 2 + 16);
	for (int i = 0; i < ndev; i++) {
		snprintf(name, sizeof(name), "dev-%d", i);
		snprintf(teamname, sizeof(teamname), "team-%d", i / team);
		bench_device_add(dp, name, "field", teamname, dev[i].token);
		snprintf(dev[i].path, sizeof(dev[i].path), "%.500s/%.64s.db", dp->dir, name);
	}
	t0 = bench_now();
	atomic_init(&r.next, 0);
	for (int t = 0; t < 2; t++) {
		g[t] = (struct gen){ .dev = dev, .from = t * ndev / 2, .to = (t + 1) * ndev / 2,
			.records = records };
		pthread_create(&gt[t], NULL, generate, &g[t]);
	}
	for (int t = 0; t < 2; t++)
		pthread_join(gt[t], NULL);
	bench_log("%d device stores of %d records made in %.1f s", ndev, records, bench_now() - t0);

	bench_daemon_start(dp);
	/* More daemons on the same PostgreSQL store (FS_BENCH_DAEMONS, issue 18). */
	for (int di = 1; di < nd; di++) {
		snprintf(name, sizeof(name), "%.40s-d%d", dirname, di);
		bench_daemon_share(&dd[di], name, dp, threads, dp->max_connections, dp->max_per_ip);
		bench_daemon_start(&dd[di]);
	}
	cpu_daemon = 0;
	for (int di = 0; di < nd; di++) {
		long idle = bench_daemon_rss_kb(&dd[di]);

		rss_idle = idle > rss_idle ? idle : rss_idle;
		cpu_daemon -= bench_daemon_cpu_s(&dd[di]);
	}
	bench_reqs_reset();
	cpu_self = bench_self_cpu_s();
	t0 = bench_now();
	for (int t = 0; t < conc; t++)
		if (pthread_create(&tids[t], NULL, worker, &r) != 0)
			bench_die("cannot start thread %d", t);
	for (int t = 0; t < conc; t++)
		pthread_join(tids[t], NULL);
	wall = bench_now() - t0;
	for (int di = 0; di < nd; di++) {
		long h = bench_daemon_hwm_kb(&dd[di]);

		hwm = h > hwm ? h : hwm; /* the largest daemon's */
		cpu_daemon += bench_daemon_cpu_s(&dd[di]);
	}
	cpu_self = bench_self_cpu_s() - cpu_self;

	syncs = calloc((size_t)ndev, sizeof(double));
	for (int i = 0; i < ndev; i++) {
		ok += dev[i].err == FS_OK && dev[i].res.pushed == records;
		pushed += dev[i].res.pushed;
		pulled += dev[i].res.pulled;
		syncs[i] = dev[i].seconds;
	}
	reqs = bench_reqs(&nreq);
	lat = calloc(nreq + 1, sizeof(double));
	for (size_t j = 0; j < nreq; j++) {
		if (reqs[j].status != 200)
			failed_req++;
		lat[k++] = reqs[j].seconds;
	}
	for (int di = 0; di < nd; di++)
		bench_daemon_stop(&dd[di]);
	bench_log("%d devices, %d daemon(s): %d synced, %.1f s, peak RSS %ld KiB", ndev, nd, ok,
	    wall, hwm);

	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "devices", ndev);
	cJSON_AddNumberToObject(o, "records_per_device", records);
	cJSON_AddNumberToObject(o, "concurrency", conc);
	cJSON_AddNumberToObject(o, "team_size", team);
	cJSON_AddNumberToObject(o, "daemon_threads", threads ? threads : 4);
	cJSON_AddNumberToObject(o, "daemons", nd);
	cJSON_AddStringToObject(o, "store", dp->pg[0] != '\0' ? "postgresql" : "sqlite");
	cJSON_AddNumberToObject(o, "syncs_ok", ok);
	cJSON_AddBoolToObject(o, "all_ok", ok == ndev);
	cJSON_AddNumberToObject(o, "wall_s", wall);
	cJSON_AddNumberToObject(o, "records_pushed", (double)pushed);
	cJSON_AddNumberToObject(o, "records_pulled", (double)pulled);
	cJSON_AddNumberToObject(o, "push_records_per_s", (double)pushed / wall);
	cJSON_AddNumberToObject(o, "requests", (double)nreq);
	cJSON_AddNumberToObject(o, "requests_per_s", (double)nreq / wall);
	cJSON_AddNumberToObject(o, "requests_not_200", failed_req);
	cJSON_AddNumberToObject(o, "request_p50_ms", 1e3 * bench_percentile(lat, k, 50));
	cJSON_AddNumberToObject(o, "request_p99_ms", 1e3 * bench_percentile(lat, k, 99));
	cJSON_AddNumberToObject(o, "request_max_ms", 1e3 * bench_percentile(lat, k, 100));
	cJSON_AddNumberToObject(o, "sync_p50_ms", 1e3 * bench_percentile(syncs, (size_t)ndev, 50));
	cJSON_AddNumberToObject(o, "sync_p99_ms", 1e3 * bench_percentile(syncs, (size_t)ndev, 99));
	/* Two cores are shared by the daemon and the simulated devices. */
	cJSON_AddNumberToObject(o, "daemon_cpu_s", cpu_daemon);
	cJSON_AddNumberToObject(o, "devices_cpu_s", cpu_self);
	cJSON_AddNumberToObject(o, "daemon_rss_idle_kb", (double)rss_idle);
	cJSON_AddNumberToObject(o, "daemon_peak_rss_kb", (double)hwm);
	free(lat);
	free(syncs);
	free(dev);
	free(tids);
	return o;
}

int
main(int argc, char **argv)
{
	int counts[MAX_RUNS] = { 200, 500 }, nruns = 2;
	int records = env_int("FS_BENCH_RECORDS", 200, 1, 100000);
	int conc = env_int("FS_BENCH_CONCURRENCY", 64, 1, 1000);
	int team = env_int("FS_BENCH_TEAM", 1, 1, 100000);
	bool defaults = env_int("FS_BENCH_DEFAULTS", 0, 0, 1) == 1;
	unsigned threads = (unsigned)env_int("FS_BENCH_THREADS", 0, 0, 256);
	cJSON *out, *arr, *last = NULL;

	if (argc > 1) {
		nruns = 0;
		for (int i = 1; i < argc && nruns < MAX_RUNS; i++)
			if ((counts[nruns++] = atoi(argv[i])) < 1 || counts[nruns - 1] > 5000)
				bench_die("usage: bench-concurrency [DEVICES...] (1 to 5000 each)");
	}
	fs_global_init();
	bench_workdir();
	arr = cJSON_CreateArray();
	for (int i = 0; i < nruns; i++) {
		last = run_devices(counts[i], records, conc, team, threads, defaults);
		cJSON_AddItemToArray(arr, last);
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "bench", "concurrency");
	cJSON_AddItemToObject(out, "runs", arr);
	{
		cJSON *t = cJSON_AddObjectToObject(out, "targets");
		bool all = true;
		cJSON *r;
		cJSON_ArrayForEach(r, arr)
		all = all && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "all_ok"));
		cJSON_AddBoolToObject(t, "every_sync_ok", all);
		cJSON_AddBoolToObject(t, "peak_rss_under_64mb",
		    cJSON_GetObjectItemCaseSensitive(last, "daemon_peak_rss_kb")->valuedouble <
			64 * 1024);
	}
	bench_print(out);
	return 0;
}
