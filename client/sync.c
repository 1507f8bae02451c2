/*
 * sync.c -- fs_sync(): push pending changes, pull and merge the server's.
 *
 * Rules (DESIGN.md, "Client sync rules"):
 *  - a batch's changes are marked pushed only after its answer was read and
 *    parsed; a batch keeps its id until then, so a retry after a lost
 *    answer is a replay the server recognises;
 *  - a change refused for good stays in the log with its reason and is no
 *    longer sent; the ones behind it go on;
 *  - applying a pulled page and moving the cursor is one transaction;
 *  - a 409 clock_ahead answer resets the clock offset from the server's
 *    time and re-stamps the changes that never left the device.
 *
 * This file holds what a sync run shares: its state and results, single
 * requests, waits between tries, progress, and fs_sync() itself.  The push
 * side (batches sized for the link) is in sync_push.c, the pull side in
 * sync_pull.c.
 */
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "id.h"
#include "internal.h"
#include "sync_internal.h"

fs_err
fs_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? FS_OK : FS_ERR_NOMEM;
}

const char *
fs_version(void)
{
	return FS_VERSION_STRING;
}

/* Calls the caller's callbacks with run->prog; a non-zero answer cancels. */
static void
progress_call(struct sync_run *run)
{
	if (run->o->progress != NULL)
		run->o->progress(run->o->progress_userdata, &run->prog);
	if (run->o->progress_fn != NULL && run->o->progress_fn(run->o->progress_userdata,
					       &run->prog) != 0)
		run->cancelled = true;
}

void
sync_progress(struct sync_run *run, const char *phase, int attempt)
{
	run->prog.phase = phase;
	run->prog.attempt = attempt;
	run->prog.pushed = run->res.pushed;
	run->prog.pulled = run->res.pulled;
	run->prog.conflicts = run->res.conflicts;
	run->prog.rejected = run->res.rejected;
	run->prog.bytes_sent = run->res.bytes_up;
	run->prog.bytes_received = run->res.bytes_down;
	run->prog.waiting = NULL;
	run->prog.wait_ms = 0;
	progress_call(run);
}

/* http_watch: the bytes of the request under way, shown live. */
static int
on_request_bytes(void *arg, int64_t up, int64_t down)
{
	struct sync_run *run = arg;

	run->prog.bytes_sent = run->res.bytes_up + up;
	run->prog.bytes_received = run->res.bytes_down + down;
	/* The caller's callbacks at most every 250 ms: curl calls far more often. */
	{
		struct timespec now;
		int64_t ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		if (ms - run->last_progress_ms >= 250) {
			run->last_progress_ms = ms;
			progress_call(run);
		}
	}
	return run->cancelled ? 1 : 0;
}

/* "Equal jitter": half of d fixed, half random. */
static int64_t
jitter(int64_t d)
{
	uint32_t r = 0;

	id_random_bytes(&r, sizeof(r));
	return d / 2 + (int64_t)(r % (uint32_t)(d / 2 + 1));
}

int64_t
sync_retry_delay(const struct sync_run *run, int attempt, long retry_after_s, bool no_link)
{
	const fs_sync_options *o = run->o;
	int64_t base = o->backoff_ms > 0 ? o->backoff_ms : 2000;
	int64_t cap = o->backoff_max_ms > 0 ? o->backoff_max_ms : 30000;
	int64_t d = base;

	/*
	 * No link at all (the connection was refused or could not be made):
	 * nothing was sent, so asking again costs nothing; poll at half the
	 * first delay, so that a link that comes back is used at once.
	 */
	if (no_link)
		return jitter(base / 2 > 100 ? base / 2 : 100);
	for (int i = 1; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	d = jitter(d);
	if (retry_after_s > 0 && retry_after_s * 1000 > d)
		d = retry_after_s * 1000 < cap ? retry_after_s * 1000 : cap;
	return d;
}

fs_err
sync_wait(struct sync_run *run, const char *phase, int64_t delay_ms)
{
	int64_t left = delay_ms;

	run->prog.phase = phase;
	run->prog.waiting = run->c->errmsg[0] != '\0' ? run->c->errmsg : "retrying";
	run->prog.wait_ms = left;
	progress_call(run);
	/* In slices, so that a cancelling callback is heard within 250 ms. */
	while (left > 0 && !run->cancelled) {
		int64_t ms = left < 250 ? left : 250;
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

		while (nanosleep(&ts, &ts) != 0)
			;
		left -= ms;
		run->prog.wait_ms = left;
		if (run->o->progress_fn != NULL)
			progress_call(run);
	}
	run->prog.waiting = NULL;
	run->prog.wait_ms = 0;
	if (run->cancelled)
		return client_fail(run->c, FS_ERR_CANCELLED, "sync cancelled by the caller");
	return FS_OK;
}

/* Learns the server's clock from an answer (DESIGN: the server is the time authority). */
void
sync_learn_time(struct sync_run *run, const struct http_answer *a)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(a->json, "time_ms");
	int64_t server = cJSON_IsNumber(t) ? (int64_t)t->valuedouble : a->server_time_ms;

	if (server > 0)
		run->c->clock_offset_ms = server - hlc_wall_ms();
}

bool
sync_retryable(fs_err err)
{
	return err == FS_ERR_NETWORK || err == FS_ERR_PROTOCOL || err == FS_ERR_SERVER;
}

fs_err
sync_attempt(struct sync_run *run, const char *phase, int attempt, const char *method,
    const char *path, const struct http_body *body, struct http_answer *a)
{
	struct http_watch watch = { .fn = on_request_bytes, .arg = run };
	fs_err err;

	sync_progress(run, phase, attempt);
	if (run->cancelled)
		return client_fail(run->c, FS_ERR_CANCELLED, "sync cancelled by the caller");
	err = http_request(run->c, run->o, method, path, body, &watch, a);
	run->res.requests++;
	run->res.bytes_up += a->bytes_up;
	run->res.bytes_down += a->bytes_down;
	run->res.json_up += a->json_up;
	run->res.json_down += a->json_down;
	if (err == FS_OK && (a->status == 429 || a->status >= 500)) {
		err = client_fail(run->c, FS_ERR_SERVER, "server answered HTTP %ld", a->status);
		http_answer_finish(a);
	}
	return err;
}

fs_err
sync_request(struct sync_run *run, const char *phase, const char *method, const char *path,
    const struct http_body *body, struct http_answer *a)
{
	int max = run->o->max_attempts > 0 ? run->o->max_attempts : 6;
	int failures = 0, polls = 0;
	fs_err err;

	for (;;) {
		fs_err werr;
		int64_t delay;

		err = sync_attempt(run, phase, failures + 1, method, path, body, a);
		if (err == FS_OK || !sync_retryable(err))
			return err;
		if (err == FS_ERR_NETWORK && a->no_link) {
			/* The link is down: poll, a few times per attempt allowed. */
			if (++polls > (max - 1) * SYNC_POLLS_PER_ATTEMPT)
				return err;
			delay = sync_retry_delay(run, 1, 0, true);
		} else {
			if (err == FS_ERR_NETWORK)
				run->res.cuts++;
			if (++failures >= max)
				return err;
			delay = sync_retry_delay(run, failures, a->retry_after_s, false);
		}
		if ((werr = sync_wait(run, phase, delay)) != FS_OK)
			return werr;
	}
}

/* Maps a final 4xx answer to an error with the server's detail. */
fs_err
sync_answer_error(struct sync_run *run, const struct http_answer *a)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(a->json, "error");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(a->json, "detail");
	const char *error = cJSON_IsString(e) ? e->valuestring : "error";
	const char *detail = cJSON_IsString(d) ? d->valuestring : "";
	fs_err err;

	if (strcmp(error, "unsupported_protocol") == 0 ||
	    strcmp(error, "unsupported_merge_rule") == 0) {
		/* Retrying cannot help: only another build of fieldsync can. */
		return client_fail(run->c, FS_ERR_VERSION,
		    "update fieldsync: the server does not speak this version's protocol (%s)",
		    detail);
	}
	/* Remote wipe (issue 17): revoked, and told to erase this store (wipe.c). */
	if (a->status == 410 && strcmp(error, "wipe") == 0) {
		run->wipe = true;
		return client_fail(run->c, FS_ERR_WIPED, "%s", detail);
	}
	switch (a->status) {
	case 401:
		err = FS_ERR_AUTH;
		break;
	case 403:
		err = FS_ERR_FORBIDDEN;
		break;
	case 409:
		err = FS_ERR_CLOCK;
		break;
	case 413:
		err = FS_ERR_TOOBIG;
		break;
	default:
		err = FS_ERR_PROTOCOL;
		break;
	}
	return client_fail(run->c, err, "server refused (HTTP %ld %s): %s", a->status, error,
	    detail);
}

/* Notes the start of an attempt, for fs_status() (and another process asking). */
static fs_err
note_attempt_start(fs_client *c)
{
	char now[32];
	fs_err err;

	db_now_text(now);
	if ((err = db_begin(c)) != FS_OK)
		return err;
	if ((err = db_meta_set(c, "last_attempt", now)) != FS_OK ||
	    (err = db_meta_set(c, "last_error", "running")) != FS_OK) {
		db_rollback(c);
		return err;
	}
	return db_commit(c);
}

/* Notes how the attempt ended: its error ("" on success) and, on success, the sync time. */
static void
note_attempt_end(fs_client *c, const fs_sync_options *o, fs_err result)
{
	char now[32], msg[FS_ERRMSG_MAX + 64];

	db_now_text(now);
	if (result == FS_OK)
		msg[0] = '\0';
	else
		snprintf(msg, sizeof(msg), "%s", c->errmsg[0] != '\0' ? c->errmsg : fs_strerror(result));
	if (db_begin(c) != FS_OK)
		return;
	if (db_meta_set(c, "last_error", msg) != FS_OK ||
	    (result == FS_OK &&
		(db_meta_set(c, "last_sync", now) != FS_OK ||
		    db_meta_set(c, "server", o->server_url) != FS_OK)) ||
	    db_meta_set_i64(c, "clock_offset_ms", c->clock_offset_ms) != FS_OK) {
		db_rollback(c);
		return;
	}
	db_commit(c);
}

static fs_err
sync_run_all(struct sync_run *run)
{
	fs_client *c = run->c;
	bool push = run->o->direction != FS_SYNC_PULL_ONLY;
	bool pull = run->o->direction != FS_SYNC_PUSH_ONLY;
	fs_err err = FS_OK;

	if (push)
		err = sync_push_all(run);
	/* When no push answer carried the restore check, a request of its own (if needed). */
	if (err == FS_OK && !run->acked_checked)
		err = sync_check_acked(run);
	if (err == FS_OK && pull)
		err = sync_pull_all(run);
	if (err == FS_ERR_SERVER && run->restored) {
		/* Heal the restored server at once: push everything, pull again. */
		client_reset_error(c);
		run->restored = false;
		if ((err = sync_push_all(run)) == FS_OK && pull)
			err = sync_pull_all(run);
	}
	return err;
}

fs_err
fs_sync_sized(fs_client *c, const fs_sync_options *o, size_t o_size, fs_sync_result *ret_result,
    size_t r_size)
{
	struct sync_run run = { .c = c };
	fs_err err;

	if (c == NULL || o == NULL || o_size < offsetof(fs_sync_options, batch_bytes))
		return FS_ERR_MISUSE;
	/*
	 * The caller's struct may be older (smaller) than ours: only its own
	 * size is read, the fields it does not know stay zero (defaults).
	 */
	memcpy(&run.opts, o, o_size < sizeof(run.opts) ? o_size : sizeof(run.opts));
	run.o = &run.opts;
	if (run.o->server_url == NULL || run.o->token == NULL ||
	    (unsigned)run.o->direction > FS_SYNC_PULL_ONLY)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if (!c->has_device)
		return client_fail(c, FS_ERR_NOT_INIT, "store has no device id: run init first");
	if ((err = http_check_url(c, run.o->server_url)) != FS_OK)
		return err;
	if ((err = fs_pending_count(c, &run.prog.push_total)) != FS_OK)
		return err;
	if ((err = note_attempt_start(c)) == FS_OK)
		err = sync_run_all(&run);
	if (run.wipe)
		err = sync_wipe(&run); /* the store is gone: nothing to note in it */
	else
		note_attempt_end(c, run.o, err);
	/* No connection stays open between syncs. */
	http_close(c);
	if (ret_result != NULL) {
		/* And only the caller's size is written. */
		memcpy(ret_result, &run.res, r_size < sizeof(run.res) ? r_size : sizeof(run.res));
	}
	return err;
}

/*
 * The entry point of programs built against 0.1, whose header declared
 * fs_sync() as a function: their structs end before batch_bytes and
 * batches.  The header now makes fs_sync() a macro around
 * fs_sync_sized(); this symbol stays for the binaries already out there.
 */
#undef fs_sync
FS_API fs_err fs_sync(fs_client *c, const fs_sync_options *o, fs_sync_result *ret_result);

fs_err
fs_sync(fs_client *c, const fs_sync_options *o, fs_sync_result *ret_result)
{
	return fs_sync_sized(c, o, offsetof(fs_sync_options, batch_bytes), ret_result,
	    offsetof(fs_sync_result, batches));
}
