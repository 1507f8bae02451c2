/*
 * record_and_sync.c -- how a field application embeds libfieldsync.
 *
 * Records one screening form in the device store, then syncs with a
 * fieldsyncd server.  Recording needs no network: the record is durable
 * the moment fs_record_create() returns, and a failed sync loses nothing
 * (the change stays pending and goes out with the next sync).
 *
 *   record_and_sync --db device.db --server https://hq.example:8443 \
 *       --token-file device.token (--cacert ca.pem | --pin sha256//BASE64) \
 *       [--device NAME] FORM FIELD=VALUE...
 *
 * On a new device store it draws a device id; when FORM is not on the
 * device yet it syncs once first, which downloads the server's published
 * forms.  Prints the new record's id on stdout.  Exit status: 0 when the
 * record was recorded and sent, 1 when it was recorded but the sync
 * failed, 2 on bad input (nothing recorded).
 *
 * Build against an installed libfieldsync (see Makefile):
 *
 *   cc -o record_and_sync record_and_sync.c $(pkg-config --cflags --libs fieldsync)
 */
#include <fieldsync.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct args {
	const char *db, *server, *token_file, *cacert, *pin, *device, *form;
	const char *const *assignments;
	size_t nassignments;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: record_and_sync --db PATH --server URL --token-file FILE\n"
	    "                       (--cacert FILE | --pin sha256//BASE64) [--device NAME]\n"
	    "                       FORM FIELD=VALUE...\n");
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	int i;

	a->device = "example-app";
	for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *opt = argv[i], *val = argv[i + 1];

		if (strcmp(opt, "--db") == 0)
			a->db = val;
		else if (strcmp(opt, "--server") == 0)
			a->server = val;
		else if (strcmp(opt, "--token-file") == 0)
			a->token_file = val;
		else if (strcmp(opt, "--cacert") == 0)
			a->cacert = val;
		else if (strcmp(opt, "--pin") == 0)
			a->pin = val;
		else if (strcmp(opt, "--device") == 0)
			a->device = val;
		else
			return -1;
	}
	if (a->db == NULL || a->server == NULL || a->token_file == NULL ||
	    (a->cacert == NULL && a->pin == NULL) || i >= argc)
		return -1;
	a->form = argv[i++];
	a->assignments = (const char *const *)&argv[i];
	a->nassignments = (size_t)(argc - i);
	return 0;
}

/* Reads the one-line token file into buf.  Returns 0 or -1. */
static int
read_token(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL || fgets(buf, (int)len, fp) == NULL) {
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* Progress callback: runs on the thread that called fs_sync(). */
static void
on_progress(void *userdata, const fs_sync_progress *p)
{
	(void)userdata;
	if (p->attempt > 1)
		fprintf(stderr, "%s: retrying (attempt %d)\n", p->phase, p->attempt);
}

static fs_err
sync_now(fs_client *c, const struct args *a, const char *token)
{
	fs_sync_options o;
	fs_sync_result r;
	fs_err err;

	memset(&o, 0, sizeof(o));
	o.server_url = a->server;
	o.token = token;
	o.ca_file = a->cacert; /* NULL: the system's CA store */
	o.pinned_key = a->pin; /* alone, it trusts a self-signed server */
	o.progress = on_progress;
	err = fs_sync(c, &o, &r);
	fprintf(stderr, "sync: pushed %lld, pulled %lld, conflicts %lld, rejected %lld\n",
	    (long long)r.pushed, (long long)r.pulled, (long long)r.conflicts,
	    (long long)r.rejected);
	if (err != FS_OK)
		fprintf(stderr, "sync failed: %s\n",
		    fs_errmsg(c)[0] != '\0' ? fs_errmsg(c) : fs_strerror(err));
	return err;
}

int
main(int argc, char **argv)
{
	struct args a;
	char token[256];
	char *values = NULL, *id = NULL;
	int64_t pending = -1;
	fs_client *c = NULL;
	fs_err err;
	int status = 2;

	memset(&a, 0, sizeof(a));
	if (parse_args(argc, argv, &a) != 0) {
		usage();
		return 2;
	}
	if (read_token(a.token_file, token, sizeof(token)) != 0) {
		fprintf(stderr, "cannot read a token from '%s'\n", a.token_file);
		return 2;
	}
	/* Once per process, before any thread starts. */
	if ((err = fs_global_init()) != FS_OK) {
		fprintf(stderr, "fs_global_init: %s\n", fs_strerror(err));
		return 1;
	}
	if ((err = fs_open(a.db, &c)) != FS_OK) {
		fprintf(stderr, "cannot open '%s': %s\n", a.db, fs_strerror(err));
		return 1;
	}
	if (fs_device_id(c) == NULL && (err = fs_device_init(c, a.device)) != FS_OK) {
		fprintf(stderr, "cannot initialise the device: %s\n", fs_errmsg(c));
		goto out;
	}

	/* Text assignments -> a JSON value object typed by the form. */
	err = fs_values_from_assignments(c, a.form, a.assignments, a.nassignments, &values);
	if (err == FS_ERR_NOTFOUND) {
		/* The form is not on this device yet: a sync downloads it. */
		status = 1;
		if (sync_now(c, &a, token) != FS_OK)
			goto out;
		status = 2;
		err = fs_values_from_assignments(c, a.form, a.assignments, a.nassignments, &values);
	}
	if (err != FS_OK) {
		fprintf(stderr, "%s\n", fs_errmsg(c));
		goto out;
	}

	/* Validated and durable in one transaction; nothing is written on error. */
	if ((err = fs_record_create(c, a.form, values, &id)) != FS_OK) {
		fprintf(stderr, "not recorded: %s\n", fs_errmsg(c));
		goto out;
	}
	printf("%s\n", id);
	fflush(stdout);

	status = 1;
	if (sync_now(c, &a, token) != FS_OK) {
		fprintf(
		    stderr, "the record is saved on the device and goes out with the next sync\n");
		goto out;
	}
	if (fs_pending_count(c, &pending) == FS_OK && pending == 0)
		status = 0;
	else
		fprintf(stderr, "%lld change(s) still pending\n", (long long)pending);
out:
	memset(token, 0, sizeof(token));
	fs_free(values);
	fs_free(id);
	fs_close(c);
	return status;
}
