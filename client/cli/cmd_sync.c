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
    "                 [--attempts N] [--quiet]\n\n"
    "Pushes the changes waiting on this device to a fieldsyncd server, then\n"
    "pulls and merges what other devices of the team synced.  Safe to run\n"
    "again at any time: an interrupted sync resumes without loss or\n"
    "duplicates.  URL is https://HOST[:PORT] (plain http:// only to a\n"
    "loopback address).  TLS is always verified: --cacert trusts a CA or a\n"
    "self-signed certificate, --pin pins the server's public key.\n"
    "The token file holds the device token (one line).\n";

struct progress_state {
	bool quiet;
	bool tty;
	const char *last_phase;
};

static void
on_progress(void *userdata, const fs_sync_progress *p)
{
	struct progress_state *ps = userdata;

	if (ps->quiet)
		return;
	if (p->attempt > 1)
		fprintf(stderr, "%s: retrying (attempt %d)\n", p->phase, p->attempt);
	else if (strcmp(p->phase, "push") == 0 && p->push_total > 0)
		fprintf(stderr, "%spush: %lld/%lld changes sent%s", ps->tty ? "\r" : "",
		    (long long)p->pushed + (long long)p->rejected, (long long)p->push_total,
		    ps->tty ? "" : "\n");
	else if (strcmp(p->phase, "pull") == 0 && p->pulled > 0)
		fprintf(stderr, "%spull: %lld changes received%s", ps->tty ? "\r" : "",
		    (long long)p->pulled, ps->tty ? "" : "\n");
	ps->last_phase = p->phase;
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
			o.batch_size = atoi(v);
			if (o.batch_size < 1 || o.batch_size > 5000)
				return cli_usage_error("sync: --batch must be 1 to 5000");
		} else if (strcmp(a, "--attempts") == 0) {
			o.max_attempts = atoi(v);
			if (o.max_attempts < 1 || o.max_attempts > 100)
				return cli_usage_error("sync: --attempts must be 1 to 100");
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
	o.progress = on_progress;
	o.progress_userdata = &ps;
	err = fs_sync(cli->client, &o, &r);
	free(token);
	if (ps.tty && !ps.quiet && ps.last_phase != NULL)
		fputc('\n', stderr);
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
	if (r.rejected > 0)
		fprintf(stderr, "fieldsync: %lld change(s) were refused by the server and are kept "
				"on this device; see 'fieldsync status'\n",
		    (long long)r.rejected);
	if (err != FS_OK) {
		fprintf(stderr, "fieldsync: sync stopped: %s\n",
		    fs_errmsg(cli->client)[0] ? fs_errmsg(cli->client) : fs_strerror(err));
		fprintf(stderr, "fieldsync: nothing was lost; unsent changes stay pending\n");
		return err == FS_ERR_AUTH || err == FS_ERR_FORBIDDEN ? EXIT_USAGE : EXIT_FAILURE;
	}
	return 0;
}
