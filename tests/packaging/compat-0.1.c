/*
 * compat-0.1.c -- a program built against libfieldsync 0.1's header, run
 * against this library (issue 13: "a caller built against the previous
 * header still works").
 *
 * It does not include fieldsync.h: it declares what 0.1's header declared,
 * byte for byte, as a program compiled then has it baked in -- fs_sync() a
 * function, and its option and result structs without the fields 0.2
 * added at their end.  Both structs sit at the start of a buffer whose
 * tail holds a pattern: a library that read past the caller's options
 * would see garbage there (an invalid direction is refused with
 * FS_ERR_MISUSE), and one that wrote past its result would change the
 * pattern.  Built with sanitizers, the exact-size heap blocks catch the
 * same.  Records one form and syncs it.
 *
 * usage: compat-0.1 DB URL TOKEN_FILE CA_FILE
 * Prints "pushed N" and exits 0; anything else exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int fs_err; /* enum fs_err: an int */
typedef struct fs_client fs_client;

typedef struct fs_sync_progress_0_1 {
	const char *phase;
	int64_t pushed, push_total, pulled, conflicts, rejected;
	int attempt;
} fs_sync_progress_0_1;

typedef void (*fs_progress_cb_0_1)(void *userdata, const fs_sync_progress_0_1 *progress);

typedef struct fs_sync_options_0_1 {
	const char *server_url;
	const char *token;
	const char *ca_file;
	const char *pinned_key;
	int batch_size;
	int max_attempts;
	int64_t backoff_ms;
	int64_t backoff_max_ms;
	int64_t timeout_ms;
	fs_progress_cb_0_1 progress;
	void *progress_userdata;
} fs_sync_options_0_1;

typedef struct fs_sync_result_0_1 {
	int64_t pushed, duplicates, rejected, pulled, conflicts, cursor;
	int64_t requests, bytes_up, bytes_down, json_up, json_down;
} fs_sync_result_0_1;

fs_err fs_global_init(void);
fs_err fs_open(const char *path, fs_client **ret_client);
void fs_close(fs_client *client);
const char *fs_errmsg(const fs_client *client);
fs_err fs_record_create(fs_client *client, const char *form_id, const char *values_json,
    char **ret_id);
void fs_free(void *p);
fs_err fs_sync(fs_client *client, const fs_sync_options_0_1 *options, fs_sync_result_0_1 *ret);

#define TAIL 256
#define PATTERN 0xA5

static int progress_calls;

static void
on_progress(void *userdata, const fs_sync_progress_0_1 *p)
{
	(void)userdata;
	if (p->phase != NULL && p->attempt >= 1)
		progress_calls++;
}

static char *
read_token(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return buf;
}

int
main(int argc, char **argv)
{
	unsigned char *obuf, *rbuf;
	fs_sync_options_0_1 *o;
	fs_sync_result_0_1 *r;
	fs_client *c = NULL;
	char *id = NULL;
	fs_err err;

	if (argc != 5) {
		fprintf(stderr, "usage: compat-0.1 DB URL TOKEN_FILE CA_FILE\n");
		return 1;
	}
	obuf = malloc(sizeof(*o) + TAIL);
	rbuf = malloc(sizeof(*r) + TAIL);
	if (obuf == NULL || rbuf == NULL)
		return 1;
	memset(obuf, 0, sizeof(*o));
	memset(obuf + sizeof(*o), PATTERN, TAIL);
	memset(rbuf, 0, sizeof(*r));
	memset(rbuf + sizeof(*r), PATTERN, TAIL);
	o = (fs_sync_options_0_1 *)obuf;
	r = (fs_sync_result_0_1 *)rbuf;
	o->server_url = argv[2];
	o->token = read_token(argv[3]);
	o->ca_file = argv[4];
	o->max_attempts = 3;
	o->progress = on_progress;
	if (o->token == NULL || fs_global_init() != 0 || fs_open(argv[1], &c) != 0)
		return 1;
	if ((err = fs_record_create(c, "labor_inspection",
		 "{\"worksite_name\":\"Old program site\",\"sector\":\"mining\","
		 "\"inspection_date\":\"2026-11-22\",\"referral_decision\":\"none\"}",
		 &id)) != 0) {
		fprintf(stderr, "compat-0.1: record: %d %s\n", err, fs_errmsg(c));
		return 1;
	}
	fs_free(id);
	err = fs_sync(c, o, r);
	if (err != 0) {
		fprintf(stderr, "compat-0.1: fs_sync: %d %s\n", err, fs_errmsg(c));
		return 1;
	}
	for (size_t i = 0; i < TAIL; i++) {
		if (rbuf[sizeof(*r) + i] != PATTERN) {
			fprintf(stderr, "compat-0.1: the library wrote past the 0.1 result struct\n");
			return 1;
		}
	}
	if (r->pushed < 1 || r->requests < 1 || r->bytes_up < 1 || progress_calls < 1) {
		fprintf(stderr, "compat-0.1: counts not filled in\n");
		return 1;
	}
	printf("pushed %lld\n", (long long)r->pushed);
	fs_close(c);
	free(obuf);
	free(rbuf);
	return 0;
}
