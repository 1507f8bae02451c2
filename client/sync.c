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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "change.h"
#include "http.h"
#include "id.h"
#include "internal.h"

#define DEFAULT_BATCH 500
#define MAX_BATCH 5000
/*
 * Changes per pull page.  A page is held twice while it is merged (the
 * answer and its parsed tree): 200 keeps that near 1 MB, and with the
 * connection kept open between pages a smaller page costs no time.
 */
#define PULL_LIMIT 200

struct sync_run {
	fs_client *c;
	const fs_sync_options *o;
	fs_sync_result res;
	fs_sync_progress prog;
	bool restored; /* the server lost data; push everything again */
	int forms_skipped; /* published definitions this build cannot read */
};

fs_err
fs_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? FS_OK : FS_ERR_NOMEM;
}

static void
progress(struct sync_run *run, const char *phase, int attempt)
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
static void
learn_time(struct sync_run *run, const struct http_answer *a)
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
static fs_err
request(struct sync_run *run, const char *phase, const char *method, const char *path,
    const struct http_body *body, struct http_answer *a)
{
	int max = run->o->max_attempts > 0 ? run->o->max_attempts : 6;
	fs_err err = FS_OK;

	for (int attempt = 1; attempt <= max; attempt++) {
		progress(run, phase, attempt);
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
static fs_err
answer_error(struct sync_run *run, const struct http_answer *a)
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

/* --- push ------------------------------------------------------------ */

struct batch {
	char id[33];
	int64_t *seqs;
	size_t n;
	struct http_body body; /* {"device","batch","changes":[...]}, compressed */
};

static void
batch_finish(struct batch *b)
{
	free(b->seqs);
	http_body_free(&b->body);
	memset(b, 0, sizeof(*b));
}

/* The next batch: one already numbered by an interrupted sync, else a new one. */
static fs_err
batch_next(fs_client *c, int size, struct batch *b)
{
	char head[128];
	sqlite3_stmt *st;
	bool resumed;
	fs_err err;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((err = db_begin(c)) != FS_OK)
		return err;
	/*
	 * Batches are numbered in log order and re-stamping or a server restore
	 * clears every number, so a batch left by an interrupted sync holds
	 * the first pending changes: the first pending change tells (an index
	 * seek, where looking for any numbered change would scan the log).
	 */
	if ((err = db_stmt(c, "SELECT batch FROM changelog WHERE pushed = 0 AND rejected IS NULL"
			      " ORDER BY seq LIMIT 1",
		 &st)) != FS_OK)
		goto rollback;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(b->id, sizeof(b->id), "%s", (const char *)sqlite3_column_text(st, 0));
	db_stmt_done(st);
	resumed = b->id[0] != '\0';
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		err = db_fail(c, "reading the change log");
		goto rollback;
	}
	if (b->id[0] == '\0') {
		if ((err = id_random_hex(b->id, 16)) != FS_OK)
			goto rollback;
		if ((err = db_prepare(c, "UPDATE changelog SET batch = ?1 WHERE seq IN (SELECT seq"
					 " FROM changelog WHERE pushed = 0 AND rejected IS NULL"
					 " AND batch IS NULL ORDER BY seq LIMIT ?2)",
			 &st)) != FS_OK)
			goto rollback;
		sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, size);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			err = db_fail(c, "numbering a batch");
			goto rollback;
		}
	}
	/*
	 * A batch numbered by an interrupted sync goes out whole, whatever the
	 * batch size now: its id may already be answered on the server, and a
	 * part left behind under that id would be taken for a replay.
	 */
	if (resumed)
		size = MAX_BATCH;
	/* LIMIT: the scan stops at the batch's last change, not at the log's end. */
	if ((err = db_prepare(c, "SELECT seq, body FROM changelog WHERE batch = ?1 AND pushed = 0"
				 " AND rejected IS NULL ORDER BY seq LIMIT ?2",
		 &st)) != FS_OK)
		goto rollback;
	sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, size);
	/*
	 * The bodies are the changes as they go on the wire (changelog.c):
	 * streamed into the compressed body one by one.  Device and batch ids
	 * are hex, nothing to escape.
	 */
	snprintf(head, sizeof(head), "{\"device\":\"%s\",\"batch\":\"%s\",\"changes\":[",
	    c->clock.device, b->id);
	b->seqs = malloc(sizeof(*b->seqs) * (size_t)(size > MAX_BATCH ? MAX_BATCH : size) + 1);
	if (b->seqs == NULL || (err = http_body_init(&b->body)) != FS_OK ||
	    (err = http_body_add(&b->body, head, strlen(head))) != FS_OK) {
		sqlite3_finalize(st);
		err = client_fail(c, FS_ERR_NOMEM, "out of memory");
		goto rollback;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((b->n > 0 && (err = http_body_add(&b->body, ",", 1)) != FS_OK) ||
		    (err = http_body_add(&b->body, sqlite3_column_text(st, 1),
			 (size_t)sqlite3_column_bytes(st, 1))) != FS_OK)
			break;
		b->seqs[b->n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (err == FS_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
		err = db_fail(c, "reading the change log");
		goto rollback;
	}
	if (err != FS_OK || (err = http_body_add(&b->body, "]}", 2)) != FS_OK ||
	    (err = http_body_finish(&b->body)) != FS_OK) {
		err = client_fail(c, err, "cannot compress the batch");
		goto rollback;
	}
	if ((err = db_commit(c)) != FS_OK)
		goto fail;
	return FS_OK;
rollback:
	db_rollback(c);
fail:
	batch_finish(b);
	return err;
}

/*
 * Keeps the newest point of the server's log this device saw acknowledged
 * (the push answer's cursor and the stamp there), inside batch_mark()'s
 * transaction.  The pull checks it: a server restored from a backup older
 * than that point lost changes it acknowledged, even when this device's
 * pull cursor is older still (a pull cut off after the push).
 */
static fs_err
remember_ack(fs_client *c, const cJSON *answer)
{
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(answer, "cursor");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(answer, "cursor_hlc");
	char device[HLC_DEVICE_LEN + 1];
	uint64_t stamp;
	int64_t seen;
	fs_err err;

	if (!cJSON_IsNumber(cur) || cur->valuedouble < 1 || cur->valuedouble > 9e15 ||
	    !cJSON_IsString(at) || hlc_parse(at->valuestring, &stamp, device) != FS_OK)
		return FS_OK; /* a server without it: the pull cursor's check only */
	if ((err = db_meta_get_i64(c, "acked_seq", 0, &seen)) != FS_OK)
		return err;
	if ((int64_t)cur->valuedouble <= seen)
		return FS_OK;
	if ((err = db_meta_set_i64(c, "acked_seq", (int64_t)cur->valuedouble)) != FS_OK)
		return err;
	return db_meta_set(c, "acked_hlc", at->valuestring);
}

/* Marks a batch from its parsed answer, in one transaction. */
static fs_err
batch_mark(struct sync_run *run, const struct batch *b, const cJSON *answer)
{
	const cJSON *rejected = cJSON_GetObjectItemCaseSensitive(answer, "rejected"), *r;
	const cJSON *acc = cJSON_GetObjectItemCaseSensitive(answer, "accepted");
	const cJSON *dup = cJSON_GetObjectItemCaseSensitive(answer, "duplicates");
	const cJSON *conf = cJSON_GetObjectItemCaseSensitive(answer, "conflicts");
	fs_client *c = run->c;
	sqlite3_stmt *st;
	int nrej = 0;
	fs_err err;

	if (!cJSON_IsArray(rejected) || !cJSON_IsNumber(acc) || !cJSON_IsNumber(dup))
		return client_fail(c, FS_ERR_PROTOCOL, "push answer lacks its counts");
	if ((err = db_begin(c)) != FS_OK)
		return err;
	cJSON_ArrayForEach(r, rejected)
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(r, "index");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "detail");
		char reason[300];

		if (!cJSON_IsNumber(idx) || idx->valueint < 0 || (size_t)idx->valueint >= b->n) {
			db_rollback(c);
			return client_fail(c, FS_ERR_PROTOCOL, "push answer names a change it was not sent");
		}
		snprintf(reason, sizeof(reason), "%s: %s", cJSON_IsString(e) ? e->valuestring : "?",
		    cJSON_IsString(d) ? d->valuestring : "");
		if ((err = db_prepare(c, "UPDATE changelog SET rejected = ? WHERE seq = ?", &st)) !=
		    FS_OK)
			goto rollback;
		sqlite3_bind_text(st, 1, reason, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, b->seqs[idx->valueint]);
		if (sqlite3_step(st) != SQLITE_DONE)
			err = db_fail(c, "marking a refused change");
		sqlite3_finalize(st);
		if (err != FS_OK)
			goto rollback;
		nrej++;
	}
	/* By sequence range: batch has no index, a scan per batch would be quadratic. */
	if ((err = db_stmt(c, "UPDATE changelog SET pushed = 1 WHERE seq BETWEEN ?2 AND ?3"
			      " AND batch = ?1 AND rejected IS NULL",
		 &st)) != FS_OK)
		goto rollback;
	sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, b->seqs[0]);
	sqlite3_bind_int64(st, 3, b->seqs[b->n - 1]);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "marking changes sent");
	db_stmt_done(st);
	if (err != FS_OK || (err = db_meta_set_i64(c, "clock_offset_ms", c->clock_offset_ms)) != FS_OK ||
	    (err = remember_ack(c, answer)) != FS_OK)
		goto rollback;
	if ((err = db_commit(c)) != FS_OK)
		return err;
	run->res.pushed += (int64_t)b->n - nrej;
	run->res.duplicates += dup->valueint;
	run->res.rejected += nrej;
	run->res.conflicts += cJSON_IsNumber(conf) ? conf->valueint : 0;
	return FS_OK;
rollback:
	db_rollback(c);
	return err;
}

/*
 * The server refused a batch whole as too large (413: more changes or
 * bytes than it takes).  Nothing of it was applied and no answer kept, so
 * its changes may be numbered again: the batch is split in half and the
 * push goes on with the smaller size.  A single change that is still too
 * large is kept with the reason, in the "needs attention" state, so that
 * it never blocks the changes behind it (DESIGN, client sync rules).
 */
static fs_err
batch_too_large(struct sync_run *run, const struct batch *b, int *size)
{
	fs_client *c = run->c;
	sqlite3_stmt *st;
	fs_err err = FS_OK;

	if (b->n > 1) {
		*size = (int)(b->n / 2);
		if ((err = db_prepare(c, "UPDATE changelog SET batch = NULL WHERE batch = ?"
					 " AND pushed = 0",
			 &st)) != FS_OK)
			return err;
		sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
	} else {
		if ((err = db_prepare(c, "UPDATE changelog SET rejected = 'too_large: the server"
					 " refuses this change as larger than it accepts', batch = NULL"
					 " WHERE seq = ?",
			 &st)) != FS_OK)
			return err;
		sqlite3_bind_int64(st, 1, b->seqs[0]);
		run->res.rejected++;
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "splitting a batch the server found too large");
	sqlite3_finalize(st);
	return err;
}

static fs_err
push_all(struct sync_run *run)
{
	int size = run->o->batch_size > 0 ? run->o->batch_size : DEFAULT_BATCH;
	int clock_retries = 0;
	struct http_answer a;
	struct batch b;
	fs_err err;

	if (size > MAX_BATCH)
		size = MAX_BATCH;
	for (;;) {
		if ((err = batch_next(run->c, size, &b)) != FS_OK)
			return err;
		if (b.n == 0) {
			batch_finish(&b);
			return FS_OK;
		}
		err = request(run, "push", "POST", "/v1/push", &b.body, &a);
		if (err != FS_OK) {
			batch_finish(&b);
			return err;
		}
		learn_time(run, &a);
		if (a.status == 409 && clock_retries++ < 2) {
			/* FAILURE-MODES 24: re-stamp with the server's time, send again. */
			http_answer_finish(&a);
			batch_finish(&b);
			if ((err = sync_restamp_pending(run->c)) != FS_OK)
				return err;
			continue;
		}
		if (a.status == 413) {
			err = batch_too_large(run, &b, &size);
		} else if (a.status != 200) {
			err = answer_error(run, &a);
		} else {
			err = batch_mark(run, &b, a.json);
		}
		http_answer_finish(&a);
		batch_finish(&b);
		if (err != FS_OK)
			return err;
		progress(run, "push", 1);
	}
}

/* --- pull ------------------------------------------------------------ */

static fs_err
fetch_forms(struct sync_run *run)
{
	struct http_answer a;
	const cJSON *forms, *f;
	fs_err err;

	if ((err = request(run, "forms", "GET", "/v1/forms", NULL, &a)) != FS_OK)
		return err;
	if (a.status != 200) {
		err = answer_error(run, &a);
		http_answer_finish(&a);
		return err;
	}
	forms = cJSON_GetObjectItemCaseSensitive(a.json, "forms");
	cJSON_ArrayForEach(f, forms)
	{
		char *text = cJSON_PrintUnformatted(f);
		if (text == NULL) {
			err = FS_ERR_NOMEM;
			break;
		}
		err = fs_forms_import(run->c, text, strlen(text), NULL);
		free(text);
		/* A version the device holds with other content keeps the device's. */
		if (err == FS_ERR_EXISTS)
			err = FS_OK;
		/*
		 * A definition this build cannot read (a newer format) is left
		 * out: the other forms still arrive and the records of every
		 * other form still sync.  A pulled change that needs it stops
		 * the pull with a message saying so (apply_page).
		 */
		if (err == FS_ERR_FORM || err == FS_ERR_JSON) {
			run->forms_skipped++;
			client_reset_error(run->c);
			err = FS_OK;
		}
		if (err != FS_OK)
			break;
	}
	http_answer_finish(&a);
	return err;
}

/* Creates or updates the record row of a pulled change (before its fields). */
static fs_err
record_row_upsert(fs_client *c, const struct change *ch)
{
	sqlite3_stmt *st;
	char now[32];
	fs_err err;

	db_now_text(now);
	if ((err = db_stmt(c, "INSERT INTO records(id, form, form_version, tombstone, created_at,"
				 " updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?5)"
				 " ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at,"
				 " form_version = max(form_version, excluded.form_version),"
				 MERGE_SQLITE_TOMBSTONE_UPSERT,
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->form, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ch->form_version);
	if (ch->is_delete)
		sqlite3_bind_text(st, 4, ch->hlc, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "writing record");
	db_stmt_done(st);
	return err;
}

/* Recomputes the deleted flag after a merge. */
static fs_err
record_row_refresh(fs_client *c, const char *id)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = db_stmt(c, "UPDATE records SET" MERGE_SQLITE_DELETED " WHERE id = ?1", &st)) !=
	    FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "writing record");
	db_stmt_done(st);
	return err;
}

/*
 * Merges one pulled page and moves the cursor, in one transaction.
 * FS_ERR_NOTFOUND when a change names a form version the device lacks
 * (nothing applied; the caller fetches forms and retries).
 */
static fs_err
apply_page(struct sync_run *run, const cJSON *changes, int64_t next)
{
	fs_client *c = run->c;
	struct merge_result res = { 0 };
	char msg[256], last_hlc[HLC_TEXT_LEN + 1] = "";
	const cJSON *item;
	int n = 0;
	fs_err err;

	if ((err = db_begin(c)) != FS_OK)
		return err;
	/* Another handle may have stamped since: observe on top of the stored clock. */
	if ((err = clock_load(c)) != FS_OK)
		goto rollback;
	cJSON_ArrayForEach(item, changes)
	{
		const cJSON *obj = cJSON_GetObjectItemCaseSensitive(item, "change");
		enum merge_record_state state;
		const struct form *form;
		struct change ch;

		if ((err = change_parse(obj, &ch, msg, sizeof(msg))) != FS_OK) {
			err = client_fail(c, FS_ERR_PROTOCOL, "pulled change is malformed: %s", msg);
			goto rollback;
		}
		if ((err = forms_get(c, ch.form, ch.form_version, &form)) != FS_OK) {
			if (err == FS_ERR_NOTFOUND)
				err = client_fail(c, FS_ERR_NOTFOUND,
				    "a pulled change uses form '%s' version %lld, which this"
				    " device does not have%s; the pull stops there (pushing"
				    " still works)",
				    ch.form, (long long)ch.form_version,
				    run->forms_skipped > 0
					? " (the server publishes a form this version of"
					  " fieldsync cannot read: update fieldsync)"
					: "");
			goto rollback;
		}
		if ((err = hlc_observe(&c->clock, ch.stamp, ch.device)) != FS_OK) {
			err = client_fail(c, FS_ERR_CLONED,
			    "the server holds changes stamped with this device's id that this"
			    " device never made: restored from a backup or cloned? Sync stopped");
			goto rollback;
		}
		if ((err = change_state(&c->merge.ops, &ch, &state)) != FS_OK) {
			err = db_fail(c, "merging a pulled change");
			goto rollback;
		}
		/* This device's own changes come back: already merged, nothing to do. */
		if (state != MERGE_RECORD_SEEN) {
			if ((err = record_row_upsert(c, &ch)) != FS_OK)
				goto rollback;
			if ((err = change_apply_state(&c->merge.ops, form, &ch, state, &res)) !=
			    FS_OK) {
				err = db_fail(c, "merging a pulled change");
				goto rollback;
			}
			if ((err = record_row_refresh(c, ch.id)) != FS_OK)
				goto rollback;
		}
		snprintf(last_hlc, sizeof(last_hlc), "%s", ch.hlc);
		n++;
	}
	if ((err = db_meta_set_i64(c, "pull_cursor", next)) != FS_OK ||
	    (last_hlc[0] != '\0' && (err = db_meta_set(c, "cursor_hlc", last_hlc)) != FS_OK) ||
	    (err = clock_save(c)) != FS_OK)
		goto rollback;
	if ((err = db_commit(c)) != FS_OK)
		return err;
	run->res.pulled += n;
	run->res.cursor = next;
	return FS_OK;
rollback:
	db_rollback(c);
	/* The in-memory clock may have moved; reload it from the store. */
	{
		int64_t last = 0;
		if (db_meta_get_i64(c, "hlc_last", 0, &last) == FS_OK)
			c->clock.last = (uint64_t)last;
	}
	return err;
}

/*
 * The change at this device's cursor is not the one the device pulled
 * there: the server was restored from an older backup and lost changes it
 * had acknowledged.  Everything this
 * device made is marked unsent again (the server drops what it still has
 * as duplicates) and the cursor restarts, so the next sync heals the
 * server.  FS_ERR_SERVER tells the caller to sync again.
 */
static fs_err
server_lost_data(struct sync_run *run, int64_t cursor)
{
	fs_client *c = run->c;
	fs_err err;

	if ((err = db_begin(c)) != FS_OK)
		return err;
	if ((err = db_exec(c, "UPDATE changelog SET pushed = 0, batch = NULL"
			      " WHERE rejected IS NULL")) != FS_OK ||
	    (err = db_meta_set_i64(c, "pull_cursor", 0)) != FS_OK ||
	    (err = db_meta_set_i64(c, "acked_seq", 0)) != FS_OK) {
		db_rollback(c);
		return err;
	}
	if ((err = db_commit(c)) != FS_OK)
		return err;
	run->restored = true;
	return client_fail(c, FS_ERR_SERVER,
	    "the server's log no longer holds the change at this device's cursor %lld: the"
	    " server was restored from an older backup; all of this device's changes will be"
	    " sent again",
	    (long long)cursor);
}

/*
 * Before pushing: when a pull was cut off after a push, the pull cursor
 * is behind the last acknowledged change, and the cursor's own check
 * cannot see a restore between the two.  One small pull request asks
 * for the stamp at the acknowledged point (only then: after a complete
 * pull the cursor is at or past it, and nothing is asked).
 */
static fs_err
check_acked(struct sync_run *run)
{
	fs_client *c = run->c;
	int64_t acked = 0, cursor = 0;
	char *acked_hlc = NULL, path[96];
	struct http_answer a;
	const cJSON *at;
	bool lost;
	fs_err err;

	if ((err = db_meta_get_i64(c, "acked_seq", 0, &acked)) != FS_OK ||
	    (err = db_meta_get_i64(c, "pull_cursor", 0, &cursor)) != FS_OK)
		return err;
	if (acked <= cursor)
		return FS_OK;
	if ((err = db_meta_get(c, "acked_hlc", &acked_hlc)) != FS_OK || acked_hlc == NULL)
		return err;
	snprintf(path, sizeof(path), "/v1/pull?after=%lld&limit=1", (long long)acked);
	if ((err = request(run, "pull", "GET", path, NULL, &a)) != FS_OK)
		goto out;
	if (a.status != 200) {
		err = answer_error(run, &a);
		http_answer_finish(&a);
		goto out;
	}
	at = cJSON_GetObjectItemCaseSensitive(a.json, "after_hlc");
	lost = !cJSON_IsString(at) || strcmp(at->valuestring, acked_hlc) != 0;
	http_answer_finish(&a);
	if (lost)
		err = server_lost_data(run, acked);
out:
	free(acked_hlc);
	return err;
}

static fs_err
pull_pages(struct sync_run *run, const char *cursor_hlc)
{
	fs_client *c = run->c;
	int64_t cursor = 0, forms_seen = -1;
	struct http_answer a;
	char path[96];
	fs_err err;
	bool more = true, fetched = false;

	if ((err = db_meta_get_i64(c, "pull_cursor", 0, &cursor)) != FS_OK ||
	    (err = db_meta_get_i64(c, "forms_version", -1, &forms_seen)) != FS_OK)
		return err;
	run->res.cursor = cursor;
	while (more) {
		const cJSON *changes, *next, *m, *fv, *at;

		snprintf(path, sizeof(path), "/v1/pull?after=%lld&limit=%d", (long long)cursor,
		    PULL_LIMIT);
		if ((err = request(run, "pull", "GET", path, NULL, &a)) != FS_OK)
			return err;
		if (a.status != 200) {
			err = answer_error(run, &a);
			http_answer_finish(&a);
			return err;
		}
		learn_time(run, &a);
		changes = cJSON_GetObjectItemCaseSensitive(a.json, "changes");
		next = cJSON_GetObjectItemCaseSensitive(a.json, "next");
		m = cJSON_GetObjectItemCaseSensitive(a.json, "more");
		fv = cJSON_GetObjectItemCaseSensitive(a.json, "forms_version");
		if (!cJSON_IsArray(changes) || !cJSON_IsNumber(next) || !cJSON_IsBool(m)) {
			http_answer_finish(&a);
			return client_fail(c, FS_ERR_PROTOCOL, "pull answer is malformed");
		}
		at = cJSON_GetObjectItemCaseSensitive(a.json, "after_hlc");
		if (cursor > 0 && cursor_hlc != NULL && cJSON_IsString(at) &&
		    strcmp(at->valuestring, cursor_hlc) != 0) {
			/* FAILURE-MODES 38: the server lost changes it had acknowledged. */
			http_answer_finish(&a);
			return server_lost_data(run, cursor);
		}
		if (cJSON_IsNumber(fv) && (int64_t)fv->valuedouble != forms_seen && !fetched) {
			/* New forms published: fetch them before merging. */
			/* With a form left out, not noted: an updated fieldsync fetches again. */
			if ((err = fetch_forms(run)) != FS_OK ||
			    (run->forms_skipped == 0 &&
				(err = db_meta_set_i64(c, "forms_version",
				     (int64_t)fv->valuedouble)) != FS_OK)) {
				http_answer_finish(&a);
				return err;
			}
			forms_seen = (int64_t)fv->valuedouble;
			fetched = true;
		}
		err = apply_page(run, changes, (int64_t)next->valuedouble);
		if (err == FS_ERR_NOTFOUND && !fetched) {
			fetched = true;
			if ((err = fetch_forms(run)) == FS_OK)
				err = apply_page(run, changes, (int64_t)next->valuedouble);
		}
		more = cJSON_IsTrue(m);
		cursor = (int64_t)next->valuedouble;
		http_answer_finish(&a);
		/* Checked on the first page; later pages follow our own cursor. */
		cursor_hlc = NULL;
		if (err != FS_OK)
			return err;
		progress(run, "pull", 1);
	}
	return FS_OK;
}

static fs_err
pull_all(struct sync_run *run)
{
	char *cursor_hlc = NULL;
	fs_err err;

	if ((err = db_meta_get(run->c, "cursor_hlc", &cursor_hlc)) != FS_OK)
		return err;
	err = pull_pages(run, cursor_hlc);
	free(cursor_hlc);
	return err;
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
	err = check_acked(&run);
	if (err == FS_OK)
		err = push_all(&run);
	if (err == FS_OK)
		err = pull_all(&run);
	if (err == FS_ERR_SERVER && run.restored) {
		/* Heal the restored server at once: push everything, pull again. */
		client_reset_error(c);
		run.restored = false;
		if ((err = push_all(&run)) == FS_OK)
			err = pull_all(&run);
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

fs_err
fs_rejected_list(fs_client *c, char **ret_json)
{
	sqlite3_stmt *st;
	cJSON *arr;
	fs_err err;
	char *text;

	if (c == NULL || ret_json == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if ((err = db_prepare(c, "SELECT seq, record_id, hlc, rejected FROM changelog"
				 " WHERE rejected IS NOT NULL ORDER BY seq",
		 &st)) != FS_OK)
		return err;
	arr = cJSON_CreateArray();
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "seq", (double)sqlite3_column_int64(st, 0));
		cJSON_AddStringToObject(r, "id", (const char *)sqlite3_column_text(st, 1));
		cJSON_AddStringToObject(r, "hlc", (const char *)sqlite3_column_text(st, 2));
		cJSON_AddStringToObject(r, "reason", (const char *)sqlite3_column_text(st, 3));
		cJSON_AddItemToArray(arr, r);
	}
	sqlite3_finalize(st);
	text = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	if (text == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	*ret_json = text;
	return FS_OK;
}
