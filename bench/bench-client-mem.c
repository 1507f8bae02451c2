/*
 * bench-client-mem.c -- issue 6, figure 6: the memory of `fieldsync sync`.
 *
 * The command-line tool, as a child process, syncs a device store holding
 * N pending changes (default 100k realistic labor_inspection records) to
 * a fresh fieldsyncd: it pushes them all in batches and then pulls them
 * back (its own changes return and merge as no-ops).  Its peak resident
 * set comes from wait4()'s rusage (ru_maxrss) and, as a cross-check, from
 * VmHWM sampled in /proc while it runs.  The client must stream: a batch
 * at a time, never the whole log in memory.
 *
 * usage: bench-client-mem [RECORDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static long
hwm_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(fp);
	return kb;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	char tpl[600], db[700], tokfile[700], token[65], *quiet = "-q";
	struct bench_daemon d;
	struct rusage ru;
	long sampled = -1, kb;
	int status = 0;
	double t0, wall;
	pid_t pid, w;
	FILE *fp;
	cJSON *out;

	if (n < 1 || n > 1000000)
		bench_die("usage: bench-client-mem [RECORDS]");
	bench_template_store(n, tpl, sizeof(tpl));
	bench_daemon_init(&d, "client-mem", 0, 0, 0);
	bench_device_add(&d, "mem", "field", "mem", token);
	snprintf(db, sizeof(db), "%s/mem.db", d.dir);
	snprintf(tokfile, sizeof(tokfile), "%s/mem.token", d.dir);
	bench_copy_file(tpl, db);
	if ((fp = fopen(tokfile, "w")) == NULL || fprintf(fp, "%s\n", token) < 0 || fclose(fp) != 0)
		bench_die("cannot write %s", tokfile);
	bench_daemon_start(&d);

	t0 = bench_now();
	fflush(NULL);
	if ((pid = fork()) < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		/* Its summary line would break the one line of figures. */
		if (fd >= 0) {
			dup2(fd, 1);
			close(fd);
		}
		execl(bench_fieldsync(), bench_fieldsync(), "--db", db, "sync", "--server", d.url,
		    "--token-file", tokfile, "--cacert", d.cacert, quiet, (char *)NULL);
		_exit(127);
	}
	/* Bounded: 20 minutes at most, sampling the peak as a cross-check. */
	for (int i = 0; i < 20 * 60 * 20; i++) {
		if ((w = wait4(pid, &status, WNOHANG, &ru)) == pid)
			break;
		if ((kb = hwm_kb(pid)) > sampled)
			sampled = kb;
		usleep(50000);
	}
	if (w != pid) {
		kill(pid, SIGKILL);
		w = wait4(pid, &status, 0, &ru);
		bench_die("fieldsync sync did not finish in 20 minutes");
	}
	wall = bench_now() - t0;
	bench_daemon_stop(&d);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_die("fieldsync sync failed (status %d)", status);
	bench_log("fieldsync sync of %d changes: %.1f s, peak RSS %ld KiB", n, wall, ru.ru_maxrss);

	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "bench", "client-mem");
	cJSON_AddNumberToObject(out, "pending_changes", n);
	cJSON_AddNumberToObject(out, "sync_s", wall);
	cJSON_AddNumberToObject(out, "peak_rss_kb", (double)ru.ru_maxrss);
	cJSON_AddNumberToObject(out, "peak_rss_sampled_kb", (double)sampled);
	cJSON_AddBoolToObject(out, "target_met", ru.ru_maxrss < 16 * 1024);
	bench_print(out);
	return 0;
}
