/*
 * cmd_sync.c -- fieldsync sync: push pending changes, pull the team's.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char sync_help[] =
    "usage: fieldsync [--db PATH] sync --server URL --token-file FILE\n"
    "                 [--cacert FILE] [--pin sha256//BASE64] [--batch N]\n"
    "                 [--batch-bytes N] [--attempts N] [--retry-delay MS]\n"
    "                 [--stall-timeout S] [--push-only | --pull-only] [--quiet]\n\n"
    "Pushes the changes waiting on this device to a fieldsyncd server, then\n"
    "pulls and merges what other devices of the team synced.  Safe to run\n"
    "again at any time: an interrupted sync resumes without loss or\n"
    "duplicates.  URL is https://HOST[:PORT] (plain http:// only to a\n"
    "loopback address).  TLS is always verified: --cacert trusts a CA or a\n"
    "self-signed certificate, --pin pins the server's public key.\n"
    "The token file holds the device token (one line).\n\n"
    "Batches are sized for the link: the first is about --batch-bytes\n"
    "compressed (default 16384), each one the server acknowledges doubles\n"
    "the size (up to 1 MiB), a cut or stalled request halves it.  --batch\n"
    "caps the changes in every batch (1 to 5000, default 500).  A request\n"
    "that moves no byte for --stall-timeout seconds (default 30) is cut and\n"
    "tried again after --retry-delay ms (default 2000, doubled each time,\n"
    "with jitter); --attempts tries without progress end the sync (default\n"
    "6).  Progress (bytes and changes sent and acknowledged) goes to stderr.\n";

struct progress_state {
	bool quiet;
	bool tty;
	const char *last_phase;
	int64_t last_acked;  /* what the last line showed, so a log gets one line per step */
	int64_t last_pulled;
	int last_attempt;
	bool waiting;
};

/* "12.3 KB" */
static void
human_bytes(char *buf, size_t len, int64_t n)
{
	if (n < 1024)
		snprintf(buf, len, "%lld B", (long long)n);
	else if (n < 1024 * 1024)
		snprintf(buf, len, "%.1f KB", (double)n / 1024);
	else
		snprintf(buf, len, "%.1f MB", (double)n / (1024 * 1024));
}

static int
on_progress(void *userdata, const fs_sync_progress *p)
{
	struct progress_state *ps = userdata;
	char sent[32], acked[32], batch[32];
	bool step;

	if (ps->quiet)
		return 0;
	human_bytes(sent, sizeof(sent), p->bytes_sent);
	human_bytes(acked, sizeof(acked), p->bytes_acked);
	human_bytes(batch, sizeof(batch), p->batch_bytes);
	if (p->waiting != NULL) {
		/* One line per wait, not one per tick of it. */
		if (!ps->waiting)
			fprintf(stderr, "%s%s: %s; trying again in %.1f s\n", ps->tty ? "\n" : "",
			    p->phase, p->waiting, (double)p->wait_ms / 1000);
		ps->waiting = true;
		return 0;
	}
	ps->waiting = false;
	if (strcmp(p->phase, "push") == 0 && p->push_total > 0) {
		/* On a terminal the line is redrawn as bytes move; in a log, once per batch. */
		step = p->pushed != ps->last_acked || p->attempt != ps->last_attempt;
		if (ps->tty || step)
			fprintf(stderr,
			    "%spush: %lld/%lld changes acknowledged, %s sent, %s acknowledged"
			    "%s%lld%s%s%s",
			    ps->tty ? "\r" : "", (long long)(p->pushed + p->rejected),
			    (long long)p->push_total, sent, acked,
			    p->batch_changes > 0 ? " (batch of " : "",
			    (long long)p->batch_changes, p->batch_changes > 0 ? " changes, " : "",
			    p->batch_changes > 0 ? batch : "",
			    p->batch_changes > 0 ? (ps->tty ? ")   " : ")\n") : (ps->tty ? "   " : "\n"));
		ps->last_acked = p->pushed;
		ps->last_attempt = p->attempt;
	} else if (strcmp(p->phase, "pull") == 0 && p->pulled > 0 &&
	    (ps->tty || p->pulled != ps->last_pulled)) {
		human_bytes(sent, sizeof(sent), p->bytes_received);
		fprintf(stderr, "%s%spull: %lld changes received, %s down%s",
		    ps->last_phase != NULL && strcmp(ps->last_phase, "pull") != 0 && ps->tty ? "\n"
											    : "",
		    ps->tty ? "\r" : "", (long long)p->pulled, sent, ps->tty ? "   " : "\n");
		ps->last_pulled = p->pulled;
	}
	ps->last_phase = p->phase;
	return 0;
}

static char *
read_token(const char *path)
{
	size_t len;
	char *tok = cli_read_file(path, &len);

	if (tok == NULL)
		return NULL;
	while (len > 0 && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' '))
		tok[--len] = '\0';
	if (len == 0) {
		fprintf(stderr, "fieldsync: token file '%s' is empty\n", path);
		free(tok);
		return NULL;
	}
	return tok;
}

int
cmd_sync(struct cli *cli, int argc, char **argv)
{
	struct progress_state ps = { .tty = isatty(2) != 0 };
	fs_sync_options o = { 0 };
	const char *token_file = NULL;
	fs_sync_result r = { 0 };
	long long n;
	char *token;
	fs_err err;
	int status;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (cli_is_help(a)) {
			fputs(sync_help, stdout);
			return 0;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			ps.quiet = true;
			continue;
		} else if (strcmp(a, "--push-only") == 0 || strcmp(a, "--pull-only") == 0) {
			fs_sync_direction d =
			    strcmp(a, "--push-only") == 0 ? FS_SYNC_PUSH_ONLY : FS_SYNC_PULL_ONLY;
			if (o.direction != FS_SYNC_BOTH && o.direction != d)
				return cli_usage_error("sync: --push-only and --pull-only exclude each other");
			o.direction = d;
			continue;
		} else if (v == NULL) {
			return cli_usage_error("sync: '%s' needs a value or is unknown (see sync --help)",
			    a);
		} else if (strcmp(a, "--server") == 0) {
			o.server_url = v;
		} else if (strcmp(a, "--token-file") == 0) {
			token_file = v;
		} else if (strcmp(a, "--cacert") == 0) {
			o.ca_file = v;
		} else if (strcmp(a, "--pin") == 0) {
			o.pinned_key = v;
		} else if (strcmp(a, "--batch") == 0) {
			if (!cli_parse_int(v, 1, 5000, &n))
				return cli_usage_error("sync: --batch must be a whole number, 1 to 5000");
			o.batch_size = (int)n;
		} else if (strcmp(a, "--batch-bytes") == 0) {
			if (!cli_parse_int(v, 1024, 64 << 20, &n))
				return cli_usage_error("sync: --batch-bytes must be 1024 to 67108864");
			o.batch_bytes = n;
			if (o.batch_bytes > (1 << 20))
				o.batch_bytes_max = n;
		} else if (strcmp(a, "--attempts") == 0) {
			if (!cli_parse_int(v, 1, 100, &n))
				return cli_usage_error("sync: --attempts must be a whole number, 1 to 100");
			o.max_attempts = (int)n;
		} else if (strcmp(a, "--retry-delay") == 0) {
			if (!cli_parse_int(v, 10, 600000, &n))
				return cli_usage_error("sync: --retry-delay must be 10 to 600000 (ms)");
			o.backoff_ms = n;
		} else if (strcmp(a, "--stall-timeout") == 0) {
			if (!cli_parse_int(v, 1, 3600, &n))
				return cli_usage_error("sync: --stall-timeout must be 1 to 3600 (s)");
			o.timeout_ms = n * 1000;
		} else {
			return cli_usage_error("sync: unknown option '%s' (see sync --help)", a);
		}
		i++;
	}
	if (o.server_url == NULL || token_file == NULL)
		return cli_usage_error("sync: --server URL and --token-file FILE are required");
	if ((token = read_token(token_file)) == NULL)
		return EXIT_USAGE;
	if ((status = cli_open(cli)) != 0) {
		free(token);
		return status;
	}
	fs_global_init();
	o.token = token;
	o.progress_fn = on_progress;
	o.progress_userdata = &ps;
	err = fs_sync(cli->client, &o, &r);
	free(token);
	if (ps.tty && !ps.quiet && ps.last_phase != NULL)
		fputc('\n', stderr);
	if (err == FS_ERR_WIPED) {
		/* Remote wipe (issue 17): the library erased the store; the key file goes too. */
		fprintf(stderr, "fieldsync: %s\n", fs_errmsg(cli->client));
		if (cli_erase_key_file(cli))
			fprintf(stderr, "fieldsync: the store's key file was erased too\n");
		return EXIT_FAILURE;
	}
	if (err == FS_ERR_MISUSE) {
		/* Refused before any request (a plain http:// address, say). */
		fprintf(stderr, "fieldsync: %s\n",
		    fs_errmsg(cli->client)[0] ? fs_errmsg(cli->client) : fs_strerror(err));
		return EXIT_USAGE;
	}
	printf("pushed %lld (%lld already on the server), rejected %lld, pulled %lld, "
	       "conflicts %lld\n",
	    (long long)r.pushed, (long long)r.duplicates, (long long)r.rejected,
	    (long long)r.pulled, (long long)r.conflicts);
	if (!ps.quiet) {
		char up[32], down[32];

		human_bytes(up, sizeof(up), r.bytes_up);
		human_bytes(down, sizeof(down), r.bytes_down);
		fprintf(stderr, "fieldsync: %lld request(s), %s up, %s down, %lld batch(es), "
				"%lld cut(s) retried\n",
		    (long long)r.requests, up, down, (long long)r.batches, (long long)r.cuts);
	}
	if (r.rejected > 0)
		fprintf(stderr, "fieldsync: %lld change(s) were refused by the server and are kept "
				"on this device; see 'fieldsync status'\n",
		    (long long)r.rejected);
	if (err != FS_OK) {
		fprintf(stderr, "fieldsync: sync stopped: %s\n",
		    fs_errmsg(cli->client)[0] ? fs_errmsg(cli->client) : fs_strerror(err));
		fprintf(stderr, "fieldsync: nothing was lost; unsent changes stay pending\n");
		if (err == FS_ERR_VERSION)
			fprintf(stderr, "fieldsync: this version (%s) cannot sync with that server:"
					" install an update of fieldsync\n",
			    fs_version());
		return err == FS_ERR_AUTH || err == FS_ERR_FORBIDDEN ? EXIT_USAGE : EXIT_FAILURE;
	}
	return 0;
}
