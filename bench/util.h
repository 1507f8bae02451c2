/*
 * util.h -- what the benchmark programs share: clocks, a deterministic
 * generator of realistic labor_inspection records, device stores built
 * for a benchmark, and a throwaway fieldsyncd on 127.0.0.1.
 *
 * Benchmarks are measurement programs, not library code: they use globals,
 * exit on setup failures (bench_die) and print exactly one JSON line of
 * figures on stdout.  Progress and diagnostics go to stderr.  Every wait
 * is bounded, and a daemon a benchmark started is killed when the
 * benchmark exits, however it exits (atexit, signals, PR_SET_PDEATHSIG).
 */
#ifndef FS_BENCH_UTIL_H
#define FS_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "fieldsync.h"

/* Build-time paths (bench/meson.build); the environment may override them. */
#ifndef BENCH_FIELDSYNCD
#define BENCH_FIELDSYNCD "fieldsyncd"
#endif
#ifndef BENCH_FIELDSYNC
#define BENCH_FIELDSYNC "fieldsync"
#endif
#ifndef BENCH_FORMS_DIR
#define BENCH_FORMS_DIR "schema/forms"
#endif

__attribute__((noreturn, format(printf, 1, 2))) void bench_die(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void bench_log(const char *fmt, ...);

/* Monotonic seconds. */
double bench_now(void);

/* Path of a build-time program or directory, overridable by an environment variable. */
const char *bench_fieldsyncd(void); /* FS_BENCH_FIELDSYNCD */
const char *bench_fieldsync(void);  /* FS_BENCH_FIELDSYNC */
const char *bench_forms_dir(void);  /* FS_BENCH_FORMS_DIR */

/*
 * The working directory: $FS_BENCH_DIR, else a new directory under /var/tmp
 * (a disk, not tmpfs: fsync must cost what it costs on a device).  Created
 * if needed.  Removed at exit when bench_workdir created it and
 * FS_BENCH_KEEP is unset.
 */
const char *bench_workdir(void);

/* Reads a whole file (NUL-terminated); exits on failure. */
char *bench_read_file(const char *path, size_t *ret_len);

/* Runs a command (argv[0] searched in PATH); returns its exit status, -1 if it died. */
int bench_run(char *const argv[], const char *stdout_path);

/* Copies a file (and its -wal, if any, is expected to be checkpointed). */
void bench_copy_file(const char *from, const char *to);

/* Removes a SQLite database and its -wal and -shm files. */
void bench_rm_db(const char *path);

/* --- records ------------------------------------------------------ */

/* xorshift64*: deterministic, seeded per device. */
uint64_t bench_rand(uint64_t *state);

/*
 * Writes a realistic labor_inspection value object (all required fields,
 * the 11 indicators, location, a sensitive name and phone, notes of 10 to
 * 70 words) into buf.  Returns its length; exits if cap is too small.
 */
size_t bench_record_json(char *buf, size_t cap, uint64_t *rng);

/* Gives the store a fresh headquarters key: its saves seal (issue 17). */
void bench_seal_key(fs_client *c);

/*
 * Makes a device store at path holding n records created with
 * fs_record_create (synchronous=OFF while generating: the setup is not
 * what is measured).  The store is checkpointed and closed.
 */
void bench_make_device_store(const char *path, const char *device_name, int n, uint64_t seed);

/*
 * A template store of n records under the work directory, made once and
 * then copied (same device id: push each copy to its own daemon).
 * Returns the template's path (static buffer per call site is not kept:
 * caller copies).
 */
void bench_template_store(int n, char *ret_path, size_t len);

/* --- daemon --------------------------------------------------------- */

struct bench_daemon {
	char dir[512];   /* this daemon's directory: data/, conf, log, port */
	char url[128];   /* https://127.0.0.1:PORT */
	char cacert[600];
	pid_t pid;
	unsigned threads, max_connections, max_per_ip;
	char pg[512]; /* the PostgreSQL store's connection string; "" for SQLite */
};

/*
 * Prepares a daemon directory under the work directory (name), with a
 * certificate, a configuration file and the two forms published.  threads
 * 0 keeps the default.
 */
void bench_daemon_init(struct bench_daemon *d, const char *name, unsigned threads,
    unsigned max_connections, unsigned max_per_ip);

/*
 * Another daemon on lead's PostgreSQL store (several daemons, one store),
 * with lead's signing key: call after lead has started once.
 */
void bench_daemon_share(struct bench_daemon *d, const char *name, const struct bench_daemon *lead,
    unsigned threads, unsigned max_connections, unsigned max_per_ip);

/* Enrols a device and writes its token (64 hex + NUL) into token. */
void bench_device_add(struct bench_daemon *d, const char *name, const char *role,
    const char *team, char token[65]);

/* Starts it and waits (at most 20 s) until it listens. */
void bench_daemon_start(struct bench_daemon *d);

/* Peak resident set of the running daemon (VmHWM), in KiB; -1 if unknown. */
long bench_daemon_hwm_kb(const struct bench_daemon *d);

/* Current resident set (VmRSS), in KiB. */
long bench_daemon_rss_kb(const struct bench_daemon *d);

/* CPU seconds (user + system) the running daemon has used so far; -1 if unknown. */
double bench_daemon_cpu_s(const struct bench_daemon *d);

/* CPU seconds (user + system) this process has used so far. */
double bench_self_cpu_s(void);

/* SIGTERM, then SIGKILL after 10 s.  Accepts a stopped daemon. */
void bench_daemon_stop(struct bench_daemon *d);

/* Path of the daemon's log (stderr). */
void bench_daemon_log_path(const struct bench_daemon *d, char *buf, size_t len);

/*
 * Server-side push time from the daemon's log: the sum of the "in N us"
 * figures of the push lines, and their count, from byte offset *pos on
 * (updated), so that one run can be measured after another.
 */
void bench_daemon_push_time(const struct bench_daemon *d, long *pos, double *ret_seconds,
    long *ret_batches, long *ret_accepted);

/* Sync options for d with token (borrowed). */
void bench_sync_options(const struct bench_daemon *d, const char *token, fs_sync_options *o);

/* --- request log (bench/wrap_curl.c, linked with --wrap) ------------ */

struct bench_req {
	double seconds;     /* curl_easy_perform, client side */
	long status;
	bool post;          /* POST /v1/push, else GET */
	int64_t body_up;    /* request body as sent */
	int64_t body_down;  /* answer body as received */
	int64_t header_up;  /* request line and headers */
	int64_t header_down; /* status line and headers */
};

/* Clears the request log (not thread-safe against running requests). */
void bench_reqs_reset(void);
/* The request log; valid until the next reset. */
const struct bench_req *bench_reqs(size_t *ret_n);

/* Percentile p (0..100) of v[0..n), sorting v in place; 0 for n == 0. */
double bench_percentile(double *v, size_t n, double p);

/* --- output --------------------------------------------------------- */

/* Adds the machine's load average and the commit, then prints obj as one line. */
void bench_print(cJSON *obj);

/* 1-minute load average. */
double bench_loadavg(void);

#endif /* FS_BENCH_UTIL_H */
