/*
 * util.c -- shared benchmark helpers.  See util.h.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"
#include "seal.h"

#define MAX_DAEMONS 8

static char workdir[512];
static bool workdir_made;
static pid_t daemons[MAX_DAEMONS];

void
bench_die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void
bench_log(const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : dflt;
}

const char *
bench_fieldsyncd(void)
{
	return env_or("FS_BENCH_FIELDSYNCD", BENCH_FIELDSYNCD);
}

const char *
bench_fieldsync(void)
{
	return env_or("FS_BENCH_FIELDSYNC", BENCH_FIELDSYNC);
}

const char *
bench_forms_dir(void)
{
	return env_or("FS_BENCH_FORMS_DIR", BENCH_FORMS_DIR);
}

/* Kills every daemon still running: at exit and on fatal signals. */
static void
kill_daemons(void)
{
	for (int i = 0; i < MAX_DAEMONS; i++) {
		if (daemons[i] > 0) {
			kill(daemons[i], SIGKILL);
			waitpid(daemons[i], NULL, 0);
			daemons[i] = 0;
		}
	}
}

static void
remove_workdir(void)
{
	char *argv[] = { "rm", "-rf", workdir, NULL };

	kill_daemons();
	if (workdir_made && getenv("FS_BENCH_KEEP") == NULL)
		bench_run(argv, NULL);
}

static void
on_signal(int sig)
{
	for (int i = 0; i < MAX_DAEMONS; i++)
		if (daemons[i] > 0)
			kill(daemons[i], SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

const char *
bench_workdir(void)
{
	const char *dir;

	if (workdir[0] != '\0')
		return workdir;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	atexit(remove_workdir);
	if ((dir = getenv("FS_BENCH_DIR")) != NULL && dir[0] != '\0') {
		snprintf(workdir, sizeof(workdir), "%s", dir);
		if (mkdir(workdir, 0700) != 0 && errno != EEXIST)
			bench_die("cannot create %s: %s", workdir, strerror(errno));
		return workdir;
	}
	snprintf(workdir, sizeof(workdir), "/var/tmp/fs-bench-XXXXXX");
	if (mkdtemp(workdir) == NULL)
		bench_die("cannot create a work directory: %s", strerror(errno));
	workdir_made = true;
	return workdir;
}

char *
bench_read_file(const char *path, size_t *ret_len)
{
	FILE *fp = fopen(path, "rb");
	size_t len = 0, cap = 4096, n;
	char *buf = malloc(cap);

	if (fp == NULL || buf == NULL)
		bench_die("cannot read %s: %s", path, strerror(errno));
	while ((n = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
		len += n;
		if (cap - len - 1 == 0 && (buf = realloc(buf, cap *= 2)) == NULL)
			bench_die("out of memory");
	}
	fclose(fp);
	buf[len] = '\0';
	if (ret_len != NULL)
		*ret_len = len;
	return buf;
}

int
bench_run(char *const argv[], const char *stdout_path)
{
	pid_t pid;
	int status;

	fflush(NULL);
	if ((pid = fork()) < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 2);
			if (stdout_path == NULL)
				dup2(fd, 1);
			close(fd);
		}
		if (stdout_path != NULL) {
			fd = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0)
				_exit(127);
			dup2(fd, 1);
			close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			bench_die("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void
bench_copy_file(const char *from, const char *to)
{
	char *argv[] = { "cp", (char *)from, (char *)to, NULL };

	if (bench_run(argv, NULL) != 0)
		bench_die("cannot copy %s to %s", from, to);
}

void
bench_rm_db(const char *path)
{
	char buf[600];

	unlink(path);
	snprintf(buf, sizeof(buf), "%s-wal", path);
	unlink(buf);
	snprintf(buf, sizeof(buf), "%s-shm", path);
	unlink(buf);
}

/* --- records ------------------------------------------------------ */

uint64_t
bench_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

#define PICK(arr, rng) (arr[bench_rand(rng) % (sizeof(arr) / sizeof(arr[0]))])

static const char *const sectors[] = { "agriculture", "construction", "domestic_work",
	"fishing", "manufacturing", "mining", "hospitality", "other" };
static const char *const referrals[] = { "none", "monitor", "refer_labour_authority",
	"refer_police", "refer_victim_services" };
static const char *const agencies[] = { "Regional Labour Office", "Anti-Trafficking Police Unit",
	"Victim Support Centre", "Migrant Workers Shelter", "Public Prosecutor" };
static const char *const site_adj[] = { "Green Valley", "North Ridge", "Sunrise", "Blue Harbour",
	"Red Clay", "Golden Field", "Riverside", "Hilltop", "Old Mill", "Coastal" };
static const char *const site_noun[] = { "Brickworks", "Farm", "Construction Site", "Fish Camp",
	"Garment Factory", "Quarry", "Hotel", "Plantation", "Workshop", "Mine" };
static const char *const first[] = { "Amina", "Jose", "Li", "Fatima", "Ivan", "Maria", "Rahul",
	"Nadia", "Samuel", "Thi", "Omar", "Grace", "Carlos", "Aisha", "Dmitri", "Ngozi" };
static const char *const last[] = { "Diallo", "Santos", "Wei", "Haddad", "Petrov", "Garcia",
	"Sharma", "Rahman", "Okafor", "Nguyen", "Mensah", "Lopez", "Kowalski", "Tembo" };
static const char *const words[] = { "workers", "said", "the", "employer", "keeps", "passports",
	"in", "office", "they", "sleep", "on", "site", "no", "contract", "was", "shown", "wages",
	"paid", "late", "or", "not", "at", "all", "recruitment", "fee", "debt", "of", "months",
	"guard", "at", "gate", "night", "shift", "twelve", "hours", "seven", "days", "a", "week",
	"some", "are", "minors", "interviewed", "separately", "without", "supervisor", "present",
	"housing", "overcrowded", "water", "unsafe", "injuries", "not", "treated", "phones",
	"taken", "threatened", "with", "deportation", "if", "they", "complain", "transport",
	"provided", "by", "recruiter", "from", "border", "town", "language", "barrier", "translator",
	"needed", "follow", "up", "visit", "planned" };

size_t
bench_record_json(char *buf, size_t cap, uint64_t *rng)
{
	static const char *const indicators[] = { "abuse_of_vulnerability", "deception",
		"restriction_of_movement", "isolation", "physical_sexual_violence",
		"intimidation_threats", "retention_of_documents", "withholding_of_wages",
		"debt_bondage", "abusive_conditions", "excessive_overtime" };
	const char *referral = PICK(referrals, rng);
	size_t n = 0;
	int nwords, w;

#define PUT(...)                                                                 \
	do {                                                                     \
		int k_ = snprintf(buf + n, cap - n, __VA_ARGS__);                \
		if (k_ < 0 || (size_t)k_ >= cap - n)                             \
			bench_die("record buffer too small");                    \
		n += (size_t)k_;                                                 \
	} while (0)

	PUT("{\"worksite_name\":\"%s %s %u\",\"sector\":\"%s\",\"inspection_date\":\"2026-%02u-%02u\"",
	    PICK(site_adj, rng), PICK(site_noun, rng), (unsigned)(bench_rand(rng) % 1000),
	    PICK(sectors, rng), (unsigned)(bench_rand(rng) % 12 + 1),
	    (unsigned)(bench_rand(rng) % 28 + 1));
	PUT(",\"location\":{\"lat\":%.6f,\"lon\":%.6f}",
	    (double)(bench_rand(rng) % 1800000) / 10000.0 - 90.0,
	    (double)(bench_rand(rng) % 3600000) / 10000.0 - 180.0);
	PUT(",\"number_of_workers\":%u,\"inspector_id\":\"INS-%04u\"",
	    (unsigned)(bench_rand(rng) % 400 + 1), (unsigned)(bench_rand(rng) % 10000));
	for (size_t i = 0; i < sizeof(indicators) / sizeof(indicators[0]); i++)
		PUT(",\"%s\":%s", indicators[i], bench_rand(rng) % 5 == 0 ? "true" : "false");
	PUT(",\"interviewee_name\":\"%s %s\",\"employer_contact_phone\":\"+%u %03u %03u %04u\"",
	    PICK(first, rng), PICK(last, rng), (unsigned)(bench_rand(rng) % 90 + 10),
	    (unsigned)(bench_rand(rng) % 1000), (unsigned)(bench_rand(rng) % 1000),
	    (unsigned)(bench_rand(rng) % 10000));
	PUT(",\"interview_notes\":\"");
	nwords = 10 + (int)(bench_rand(rng) % 61);
	for (w = 0; w < nwords; w++)
		PUT("%s%s", w ? " " : "", PICK(words, rng));
	PUT(".\",\"referral_decision\":\"%s\"", referral);
	if (strncmp(referral, "refer_", 6) == 0)
		PUT(",\"referral_agency\":\"%s\"", PICK(agencies, rng));
	PUT("}");
#undef PUT
	return n;
}

static char *
form_text(const char *name, size_t *ret_len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s.json", bench_forms_dir(), name);
	return bench_read_file(path, ret_len);
}

void
bench_make_device_store(const char *path, const char *device_name, int n, uint64_t seed)
{
	fs_client *c;
	char buf[8192], *id, *form;
	size_t len;
	uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 1;
	fs_err err;

	bench_rm_db(path);
	if ((err = fs_open(path, &c)) != FS_OK)
		bench_die("fs_open %s: %s", path, fs_strerror(err));
	if ((err = fs_device_init(c, device_name)) != FS_OK)
		bench_die("fs_device_init: %s", fs_errmsg(c));
	/* BENCH_SEALED=1: the device knows a key, so its sensitive values are sealed. */
	if (getenv("BENCH_SEALED") != NULL && strcmp(getenv("BENCH_SEALED"), "1") == 0)
		bench_seal_key(c);
	form = form_text("labor_inspection", &len);
	if ((err = fs_forms_import(c, form, len, NULL)) != FS_OK)
		bench_die("fs_forms_import: %s", fs_errmsg(c));
	free(form);
	/* Generation only: the saves measured in bench-save keep FULL. */
	if (sqlite3_exec(c->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL) != SQLITE_OK)
		bench_die("pragma: %s", sqlite3_errmsg(c->db));
	for (int i = 0; i < n; i++) {
		bench_record_json(buf, sizeof(buf), &rng);
		if ((err = fs_record_create(c, "labor_inspection", buf, &id)) != FS_OK)
			bench_die("fs_record_create: %s", fs_errmsg(c));
		fs_free(id);
	}
	sqlite3_exec(c->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	fs_close(c);
}

void
bench_template_store(int n, char *ret_path, size_t len)
{
	char tmp[600], name[64];
	struct stat st;
	double t0;

	snprintf(ret_path, len, "%s/template-%d.db", bench_workdir(), n);
	if (stat(ret_path, &st) == 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", ret_path);
	snprintf(name, sizeof(name), "bench-%d", n);
	t0 = bench_now();
	bench_make_device_store(tmp, name, n, (uint64_t)n);
	if (rename(tmp, ret_path) != 0)
		bench_die("rename %s: %s", tmp, strerror(errno));
	bench_log("made a device store of %d records in %.1f s", n, bench_now() - t0);
}

/* --- daemon --------------------------------------------------------- */

static void
write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0)
		bench_die("cannot write %s", path);
}

static void
daemon_admin(struct bench_daemon *d, char **args, const char *out)
{
	char data[600], conf[600];
	char *argv[16];
	int i = 0;

	snprintf(data, sizeof(data), "%s/data", d->dir);
	snprintf(conf, sizeof(conf), "%s/fieldsyncd.conf", d->dir);
	argv[i++] = (char *)bench_fieldsyncd();
	argv[i++] = "-f";
	argv[i++] = conf;
	argv[i++] = "-d";
	argv[i++] = data;
	while (*args != NULL && i < 15)
		argv[i++] = *args++;
	argv[i] = NULL;
	if (bench_run(argv, out) != 0)
		bench_die("%s %s %s failed", argv[0], argv[5], argv[6]);
}

static void bench_daemon_init_keep(struct bench_daemon *d, const char *name, unsigned threads,
    unsigned max_connections, unsigned max_per_ip);

/* A new database on the throwaway server of tests/pg/with-pg.sh; its conninfo into buf. */
static void
bench_pg_createdb(const char *name, char *buf, size_t len)
{
	const char *script = getenv("FS_PG_SCRIPT"), *dir = getenv("FS_PG_DIR");
	char cmd[1200], db[128];
	FILE *p;
	size_t i;

	if (script == NULL || dir == NULL)
		bench_die("FS_STORE_KIND=postgresql needs tests/pg/with-pg.sh around the benchmark");
	snprintf(db, sizeof(db), "bench_%s", name);
	for (i = 0; db[i] != '\0'; i++)
		if (db[i] == '-')
			db[i] = '_';
	snprintf(cmd, sizeof(cmd), "'%s' createdb '%s' '%s'", script, dir, db);
	if ((p = popen(cmd, "r")) == NULL || fgets(buf, (int)len, p) == NULL || pclose(p) != 0)
		bench_die("cannot create database %s", db);
	buf[strcspn(buf, "\n")] = '\0';
}

void
bench_daemon_share(struct bench_daemon *d, const char *name, const struct bench_daemon *lead,
    unsigned threads, unsigned max_connections, unsigned max_per_ip)
{
	char from[700], to[700], buf[4096];
	FILE *in, *out;
	size_t n;

	memset(d, 0, sizeof(*d));
	snprintf(d->pg, sizeof(d->pg), "%s", lead->pg);
	if (d->pg[0] == '\0')
		bench_die("several daemons need the PostgreSQL store (tests/pg/with-pg.sh)");
	bench_daemon_init_keep(d, name, threads, max_connections, max_per_ip);
	/* One signing key for every daemon of the store (docs/OPERATIONS.md). */
	snprintf(from, sizeof(from), "%s/data/server-signing.key", lead->dir);
	snprintf(to, sizeof(to), "%s/data", d->dir);
	mkdir(to, 0700);
	snprintf(to, sizeof(to), "%s/data/server-signing.key", d->dir);
	if ((in = fopen(from, "rb")) == NULL || (out = fopen(to, "wb")) == NULL)
		bench_die("cannot copy the signing key (start the first daemon first)");
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	if (fclose(out) != 0 || chmod(to, 0600) != 0)
		bench_die("cannot copy the signing key");
}

void
bench_daemon_init(struct bench_daemon *d, const char *name, unsigned threads,
    unsigned max_connections, unsigned max_per_ip)
{
	memset(d, 0, sizeof(*d));
	bench_daemon_init_keep(d, name, threads, max_connections, max_per_ip);
}

static void
bench_daemon_init_keep(struct bench_daemon *d, const char *name, unsigned threads,
    unsigned max_connections, unsigned max_per_ip)
{
	char path[700], key[700], conf[3072], form[1024];
	char *rm[] = { "rm", "-rf", d->dir, NULL };
	char *openssl[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
		"ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
		"-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out",
		d->cacert, NULL };

	d->threads = threads;
	d->max_connections = max_connections ? max_connections : 256;
	d->max_per_ip = max_per_ip ? max_per_ip : 32;
	snprintf(d->dir, sizeof(d->dir), "%s/%s", bench_workdir(), name);
	if (bench_run(rm, NULL) != 0 || mkdir(d->dir, 0700) != 0)
		bench_die("cannot make %s", d->dir);
	snprintf(key, sizeof(key), "%s/key.pem", d->dir);
	snprintf(d->cacert, sizeof(d->cacert), "%s/cert.pem", d->dir);
	if (bench_run(openssl, NULL) != 0)
		bench_die("openssl could not make a certificate");
	snprintf(conf, sizeof(conf),
	    "# written by the benchmark\n"
	    "listen = 127.0.0.1\nport = 0\ndata_dir = %s/data\n"
	    "tls_cert = %s\ntls_key = %s\n"
	    "max_connections = %u\nmax_per_ip = %u\n%s%u\n",
	    d->dir, d->cacert, key, d->max_connections, d->max_per_ip,
	    threads ? "threads = " : "# threads = ", threads ? threads : 4);
	/*
	 * Under tests/pg/with-pg.sh (FS_STORE_KIND=postgresql): the
	 * PostgreSQL store, a fresh database per daemon, or the one of the
	 * daemon given to bench_daemon_share() (several daemons, one store).
	 */
	if (d->pg[0] == '\0' && getenv("FS_STORE_KIND") != NULL &&
	    strcmp(getenv("FS_STORE_KIND"), "postgresql") == 0)
		bench_pg_createdb(name, d->pg, sizeof(d->pg));
	if (d->pg[0] != '\0') {
		size_t used = strlen(conf);

		snprintf(conf + used, sizeof(conf) - used, "store = postgresql\npostgresql = \"%s\"\n",
		    d->pg);
	}
	snprintf(path, sizeof(path), "%s/fieldsyncd.conf", d->dir);
	write_text(path, conf);
	for (int i = 0; i < 2; i++) {
		char *args[] = { "form", "publish", form, NULL };
		snprintf(form, sizeof(form), "%s/%s.json", bench_forms_dir(),
		    i == 0 ? "labor_inspection" : "border_screening");
		daemon_admin(d, args, NULL);
	}
}

void
bench_device_add(struct bench_daemon *d, const char *name, const char *role, const char *team,
    char token[65])
{
	char out[700], *text, *p;
	char *args[] = { "device", "add", "--name", (char *)name, "--role", (char *)role,
		"--team", (char *)team, NULL };

	snprintf(out, sizeof(out), "%s/token.out", d->dir);
	daemon_admin(d, args, out);
	text = bench_read_file(out, NULL);
	if ((p = strstr(text, "token: ")) == NULL || strlen(p + 7) < 64)
		bench_die("device add printed no token");
	memcpy(token, p + 7, 64);
	token[64] = '\0';
	free(text);
	unlink(out);
}

void
bench_daemon_log_path(const struct bench_daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/daemon.log", d->dir);
}

void
bench_daemon_start(struct bench_daemon *d)
{
	char port_file[600], conf[600], log[600];
	struct stat st;
	pid_t parent = getpid();
	int slot = -1;

	for (int i = 0; i < MAX_DAEMONS; i++)
		if (daemons[i] == 0) {
			slot = i;
			break;
		}
	if (slot < 0)
		bench_die("too many daemons");
	snprintf(port_file, sizeof(port_file), "%s/port", d->dir);
	snprintf(conf, sizeof(conf), "%s/fieldsyncd.conf", d->dir);
	bench_daemon_log_path(d, log, sizeof(log));
	unlink(port_file);
	fflush(NULL);
	if ((d->pid = fork()) < 0)
		bench_die("fork: %s", strerror(errno));
	if (d->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		/* Dies with the benchmark, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			close(fd);
		}
		execl(bench_fieldsyncd(), bench_fieldsyncd(), "-f", conf, "--port-file", port_file,
		    (char *)NULL);
		_exit(127);
	}
	daemons[slot] = d->pid;
	for (int i = 0; i < 400; i++) {
		int status;
		if (stat(port_file, &st) == 0 && st.st_size > 0) {
			char *text = bench_read_file(port_file, NULL);
			snprintf(d->url, sizeof(d->url), "https://127.0.0.1:%d", atoi(text));
			free(text);
			return;
		}
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			daemons[slot] = 0;
			d->pid = 0;
			bench_die("fieldsyncd exited at start; see %s", log);
		}
		usleep(50000);
	}
	bench_die("fieldsyncd did not start within 20 s; see %s", log);
}

static long
proc_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long kb = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			kb = strtol(line + klen + 1, NULL, 10);
	fclose(fp);
	return kb;
}

long
bench_daemon_hwm_kb(const struct bench_daemon *d)
{
	return d->pid > 0 ? proc_status_kb(d->pid, "VmHWM") : -1;
}

long
bench_daemon_rss_kb(const struct bench_daemon *d)
{
	return d->pid > 0 ? proc_status_kb(d->pid, "VmRSS") : -1;
}

double
bench_daemon_cpu_s(const struct bench_daemon *d)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)d->pid);
	if (d->pid <= 0 || (fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* After "pid (comm) ": state is field 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double
bench_self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void
bench_daemon_stop(struct bench_daemon *d)
{
	int status;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			goto done;
		usleep(50000);
	}
	bench_log("fieldsyncd did not stop within 10 s: killing it");
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
done:
	for (int i = 0; i < MAX_DAEMONS; i++)
		if (daemons[i] == d->pid)
			daemons[i] = 0;
	d->pid = 0;
}

void
bench_daemon_push_time(const struct bench_daemon *d, long *pos, double *ret_seconds,
    long *ret_batches, long *ret_accepted)
{
	char path[600], line[2048];
	double seconds = 0;
	long batches = 0, accepted = 0;
	FILE *fp;

	bench_daemon_log_path(d, path, sizeof(path));
	if ((fp = fopen(path, "r")) == NULL)
		bench_die("cannot read %s", path);
	fseek(fp, *pos, SEEK_SET);
	while (fgets(line, sizeof(line), fp) != NULL) {
		/* "push ID: device NAME batch B: N accepted, ... conflicts in N us" */
		const char *p = strstr(line, ": push "), *acc, *us;
		if (p == NULL || (acc = strstr(p, " accepted, ")) == NULL ||
		    (us = strstr(acc, " conflicts in ")) == NULL)
			continue;
		while (acc > p && acc[-1] != ' ')
			acc--;
		us += strlen(" conflicts");
		accepted += strtol(acc, NULL, 10);
		seconds += strtod(us + 4, NULL) / 1e6;
		batches++;
	}
	*pos = ftell(fp);
	fclose(fp);
	*ret_seconds = seconds;
	*ret_batches = batches;
	*ret_accepted = accepted;
}

void
bench_sync_options(const struct bench_daemon *d, const char *token, fs_sync_options *o)
{
	memset(o, 0, sizeof(*o));
	o->server_url = d->url;
	o->token = token;
	o->ca_file = d->cacert;
	o->max_attempts = 8;
	o->backoff_ms = 200;
	o->backoff_max_ms = 5000;
	o->timeout_ms = 120000;
}

/* --- percentiles and output ---------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
bench_percentile(double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double
bench_loadavg(void)
{
	double l[3] = { 0 };

	if (getloadavg(l, 3) < 1)
		return -1;
	return l[0];
}

void
bench_print(cJSON *obj)
{
	const char *commit = getenv("FS_BENCH_COMMIT");
	char *text;

	cJSON_AddNumberToObject(obj, "loadavg_1m", bench_loadavg());
	if (commit != NULL)
		cJSON_AddStringToObject(obj, "commit", commit);
	if ((text = cJSON_PrintUnformatted(obj)) == NULL)
		bench_die("out of memory");
	printf("%s\n", text);
	fflush(stdout);
	free(text);
	cJSON_Delete(obj);
}

void
bench_seal_key(fs_client *c)
{
	unsigned char pk[SEAL_PUBLIC_LEN], sk[SEAL_SECRET_LEN];
	char hex[2 * SEAL_PUBLIC_LEN + 1], id[SEAL_ID_HEX + 1];
	cJSON *key;

	if (crypto_box_keypair(pk, sk) != 0)
		bench_die("no key pair");
	sodium_memzero(sk, sizeof(sk)); /* the bench only seals */
	sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
	seal_key_id(pk, id);
	key = cJSON_CreateObject();
	cJSON_AddStringToObject(key, "id", id);
	cJSON_AddStringToObject(key, "public", hex);
	if (drafts_set_key(c, key) != FS_OK)
		bench_die("cannot set the sealing key: %s", fs_errmsg(c));
	cJSON_Delete(key);
}
