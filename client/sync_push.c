/*
 * sync_push.c -- the push side of fs_sync(): pending changes go to the
 * server in numbered batches.
 *
 * A batch is numbered in the log before it is sent and keeps its number
 * until its answer is read, so a retry is a replay the server recognises;
 * its changes are marked pushed (or refused, with the reason) in one
 * transaction with the newest acknowledged point of the server's log.  A
 * batch the server finds too large (413) is split in half; a single change
 * still too large is set aside as refused.  A 409 clock_ahead answer
 * re-stamps the unsent changes (restamp.c) and sends again.  The changes
 * the server refused for good are listed by fs_rejected_list().  Requests
 * and retries are sync.c's; nothing here reads from the server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "id.h"
#include "internal.h"
#include "sync_internal.h"

#define DEFAULT_BATCH 500
#define MAX_BATCH 5000

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

fs_err
sync_push_all(struct sync_run *run)
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
		err = sync_request(run, "push", "POST", "/v1/push", &b.body, &a);
		if (err != FS_OK) {
			batch_finish(&b);
			return err;
		}
		sync_learn_time(run, &a);
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
			err = sync_answer_error(run, &a);
		} else {
			err = batch_mark(run, &b, a.json);
		}
		http_answer_finish(&a);
		batch_finish(&b);
		if (err != FS_OK)
			return err;
		sync_progress(run, "push", 1);
	}
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
