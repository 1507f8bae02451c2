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
 * This file holds what a sync run shares: its state and results, the
 * requests with their retries and backoff, and fs_sync() itself.  The push
 * side is in sync_push.c, the pull side in sync_pull.c.
 */
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

void
sync_progress(struct sync_run *run, const char *phase, int attempt)
{
	run->prog.phase = phase;
	run->prog.attempt = attempt;
	run->prog.pushed = run->res.pushed;
	run->prog.pulled = run->res.pulled;
	run->prog.conflicts = run->res.conflicts;
	run->prog.rejected = run->res.rejected;
	if (run->o->progress != NULL)
		run->o->progress(run->o->progress_userdata, &run->prog);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Backoff with "equal jitter": half fixed, half random. */
static int64_t
backoff_delay(const fs_sync_options *o, int attempt, long retry_after_s)
{
	int64_t base = o->backoff_ms > 0 ? o->backoff_ms : 500;
	int64_t cap = o->backoff_max_ms > 0 ? o->backoff_max_ms : 30000;
	int64_t d = base;
	uint32_t r = 0;

	for (int i = 1; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	id_random_bytes(&r, sizeof(r));
	d = d / 2 + (int64_t)(r % (uint32_t)(d / 2 + 1));
	if (retry_after_s > 0 && retry_after_s * 1000 > d)
		d = retry_after_s * 1000 < cap ? retry_after_s * 1000 : cap;
	return d;
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

/*
 * One request with retries.  FS_OK with a 2xx or a final 4xx answer in *a;
 * an error when the server stayed unreachable or failing.
 */
fs_err
sync_request(struct sync_run *run, const char *phase, const char *method, const char *path,
    const struct http_body *body, struct http_answer *a)
{
	int max = run->o->max_attempts > 0 ? run->o->max_attempts : 6;
	fs_err err = FS_OK;

	for (int attempt = 1; attempt <= max; attempt++) {
		sync_progress(run, phase, attempt);
		err = http_request(run->c, run->o, method, path, body, a);
		run->res.requests++;
		run->res.bytes_up += a->bytes_up;
		run->res.bytes_down += a->bytes_down;
		run->res.json_up += a->json_up;
		run->res.json_down += a->json_down;
		if (err == FS_OK) {
			if (a->status == 429 || a->status >= 500) {
				err = client_fail(run->c, FS_ERR_SERVER, "server answered HTTP %ld",
				    a->status);
			} else {
				return FS_OK;
			}
		} else if (err != FS_ERR_NETWORK && err != FS_ERR_PROTOCOL) {
			return err;
		}
		if (attempt < max)
			sleep_ms(backoff_delay(run->o, attempt, a->retry_after_s));
		http_answer_finish(a);
	}
	return err;
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

fs_err
fs_sync(fs_client *c, const fs_sync_options *o, fs_sync_result *ret_result)
{
	struct sync_run run = { .c = c, .o = o };
	char now[32];
	fs_err err;

	if (c == NULL || o == NULL || o->server_url == NULL || o->token == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if (!c->has_device)
		return client_fail(c, FS_ERR_NOT_INIT, "store has no device id: run init first");
	if ((err = http_check_url(c, o->server_url)) != FS_OK)
		return err;
	if ((err = fs_pending_count(c, &run.prog.push_total)) != FS_OK)
		return err;
	err = sync_check_acked(&run);
	if (err == FS_OK)
		err = sync_push_all(&run);
	if (err == FS_OK)
		err = sync_pull_all(&run);
	if (err == FS_ERR_SERVER && run.restored) {
		/* Heal the restored server at once: push everything, pull again. */
		client_reset_error(c);
		run.restored = false;
		if ((err = sync_push_all(&run)) == FS_OK)
			err = sync_pull_all(&run);
	}
	if (err == FS_OK) {
		db_now_text(now);
		if ((err = db_begin(c)) == FS_OK) {
			if ((err = db_meta_set(c, "last_sync", now)) != FS_OK ||
			    (err = db_meta_set(c, "server", o->server_url)) != FS_OK ||
			    (err = db_meta_set_i64(c, "clock_offset_ms", c->clock_offset_ms)) != FS_OK)
				db_rollback(c);
			else
				err = db_commit(c);
		}
	}
	/* No connection stays open between syncs. */
	http_close(c);
	if (ret_result != NULL)
		*ret_result = run.res;
	return err;
}
