/*
 * sync_push.c -- the push side of fs_sync(): pending changes go to the
 * server in numbered batches sized in bytes for the link.
 *
 * Batch size (docs/PROTOCOL.md, "Batches"): the first batch is about
 * batch_bytes compressed (16 KB by default: 4 s at 32 kbit/s), each
 * acknowledged batch doubles the size up to batch_bytes_max, and a cut or
 * stalled request halves it.  --batch (batch_size) caps the changes of
 * every batch.  A field link that drops every 30 s then still moves data:
 * a batch that cannot cross it in one piece is sent in smaller ones.
 *
 * Numbering: a batch's changes are numbered in the log (in log order)
 * before it is sent.  Every request under a number sends a prefix of its
 * changes -- the whole batch, or after a cut, a smaller first part -- so
 * the server's answer (fresh, or replayed from the first request it
 * applied under that number) always covers the first N numbered changes,
 * N being the answer's own count.  Those are marked (pushed, or refused
 * with the reason) in one transaction with the newest acknowledged point
 * of the server's log, and the rest lose the number, to go out under a
 * new one: nothing the server acknowledged is sent again, and a batch it
 * may have applied is replayed, never applied twice.
 *
 * A batch the server finds too large (413) is split in half; a single
 * change still too large is set aside as refused.  A 409 clock_ahead
 * answer re-stamps the unsent changes (restamp.c) and sends again.  The
 * changes the server refused for good are listed by fs_rejected_list().
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
#define DEFAULT_BATCH_BYTES 16384
#define DEFAULT_BATCH_BYTES_MAX (1 << 20)
#define MIN_BATCH_BYTES 1024
#define MAX_RELINKS 3 /* gaps repaired in one sync before they count as refusals */

struct batch {
	char id[33];
	int64_t *seqs; /* the changes in this request, in log order */
	size_t n;
	struct http_body body; /* {"device","batch","acked","changes":[...]}, compressed */
};

/* The push's sizing, carried from batch to batch. */
struct push_plan {
	int64_t bytes;     /* compressed bytes the next batch aims at */
	int64_t bytes_max; /* the most it grows to */
	int64_t grow_to;   /* doubling stops here: half the size of the last cut batch */
	int count_max;     /* changes per batch at most */
	double ratio;      /* JSON bytes per compressed byte, as measured */
};

static void
batch_finish(struct batch *b)
{
	free(b->seqs);
	http_body_free(&b->body);
	memset(b, 0, sizeof(*b));
}

/* The number of the batch an interrupted sync left, or "" (then a new one). */
static fs_err
batch_resumed(fs_client *c, char id[33])
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	id[0] = '\0';
	/*
	 * Batches are numbered in log order and re-stamping or a server
	 * restore clears every number, so a batch left by an interrupted sync
	 * holds the first pending changes: the first pending change tells (an
	 * index seek, where looking for any numbered change would scan the log).
	 */
	if ((err = db_stmt(c, "SELECT batch FROM changelog WHERE pushed = 0 AND rejected IS NULL"
			      " ORDER BY seq LIMIT 1",
		 &st)) != FS_OK)
		return err;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(id, 33, "%s", (const char *)sqlite3_column_text(st, 0));
	db_stmt_done(c, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(c, "reading the change log");
	return FS_OK;
}

/*
 * The next request: the first part of the batch an interrupted sync left,
 * or a new batch of pending changes, as many as fit plan->bytes (at least
 * one), numbered before it is sent.
 */
static fs_err
batch_next(fs_client *c, const struct push_plan *plan, struct batch *b)
{
	int64_t acked = 0, json_budget = (int64_t)((double)plan->bytes * plan->ratio);
	char head[320]; /* ids, key and counts: all hex or digits */
	sqlite3_stmt *st;
	bool resumed;
	fs_err err;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((err = db_begin(c)) != FS_OK)
		return err;
	if ((err = batch_resumed(c, b->id)) != FS_OK ||
	    (err = db_meta_get_i64(c, "acked_seq", 0, &acked)) != FS_OK)
		goto rollback;
	resumed = b->id[0] != '\0';
	if (!resumed && (err = id_random_hex(b->id, 16)) != FS_OK)
		goto rollback;
	/* LIMIT: the scan stops at the batch's last change, not at the log's end. */
	if ((err = db_prepare(c, resumed
				 ? "SELECT seq, body FROM changelog WHERE batch = ?1 AND pushed = 0"
				   " AND rejected IS NULL ORDER BY seq LIMIT ?2"
				 : "SELECT seq, body FROM changelog WHERE pushed = 0 AND rejected IS NULL"
				   " AND batch IS NULL ORDER BY seq LIMIT ?2",
		 &st)) != FS_OK)
		goto rollback;
	if (resumed)
		sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, plan->count_max);
	/*
	 * The bodies are the changes as they go on the wire (changelog.c):
	 * streamed into the compressed body one by one.  Device and batch ids
	 * are hex, nothing to escape.  "acked" asks the server for the stamp
	 * at this device's last acknowledged point (the restore check).
	 */
	if (acked > 0)
		snprintf(head, sizeof(head),
		    "{\"device\":\"%s\",\"key\":\"%s\",\"batch\":\"%s\",\"acked\":%lld,"
		    "\"changes\":[",
		    c->clock.device, c->sign_pk, b->id, (long long)acked);
	else
		snprintf(head, sizeof(head),
		    "{\"device\":\"%s\",\"key\":\"%s\",\"batch\":\"%s\",\"changes\":[",
		    c->clock.device, c->sign_pk, b->id);
	b->seqs = malloc(sizeof(*b->seqs) * (size_t)plan->count_max);
	if (b->seqs == NULL || (err = http_body_init(&b->body)) != FS_OK ||
	    (err = http_body_add(&b->body, head, strlen(head))) != FS_OK) {
		sqlite3_finalize(st);
		err = client_fail(c, FS_ERR_NOMEM, "out of memory");
		goto rollback;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 1);

		if (b->n > 0 && b->body.json_len + (int64_t)len + 1 > json_budget)
			break;
		if ((b->n > 0 && (err = http_body_add(&b->body, ",", 1)) != FS_OK) ||
		    (err = http_body_add(&b->body, sqlite3_column_text(st, 1), len)) != FS_OK)
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
	if (!resumed && b->n > 0) {
		/* Numbered before it leaves: a retry after a lost answer is a replay. */
		if ((err = db_stmt(c, "UPDATE changelog SET batch = ?1 WHERE seq BETWEEN ?2 AND ?3"
				      " AND pushed = 0 AND rejected IS NULL AND batch IS NULL",
			 &st)) != FS_OK)
			goto rollback;
		sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, b->seqs[0]);
		sqlite3_bind_int64(st, 3, b->seqs[b->n - 1]);
		rc = sqlite3_step(st);
		db_stmt_done(c, st);
		if (rc != SQLITE_DONE) {
			err = db_fail(c, "numbering a batch");
			goto rollback;
		}
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
 * transaction.  The restore check asks for the stamp there: a server
 * restored from a backup older than that point lost changes it
 * acknowledged, even when this device's pull cursor is older still (a
 * pull cut off after the push).
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

/*
 * The restore check carried by a push answer (protocol 2): the stamp the
 * server holds at this device's last acknowledged point.  *ret_lost when
 * it is not the one this device remembers.
 */
static fs_err
acked_lost(struct sync_run *run, const cJSON *answer, bool *ret_lost)
{
	const cJSON *acked = cJSON_GetObjectItemCaseSensitive(answer, "acked");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(answer, "acked_hlc");
	int64_t mine = 0;
	char *hlc = NULL;
	fs_err err;

	*ret_lost = false;
	if (!cJSON_IsNumber(acked) || !cJSON_IsString(at))
		return FS_OK;
	if ((err = db_meta_get_i64(run->c, "acked_seq", 0, &mine)) != FS_OK ||
	    (err = db_meta_get(run->c, "acked_hlc", &hlc)) != FS_OK)
		return err;
	if (mine == (int64_t)acked->valuedouble && hlc != NULL) {
		*ret_lost = strcmp(hlc, at->valuestring) != 0;
		run->acked_checked = true;
	}
	free(hlc);
	return FS_OK;
}

/* The first n numbered changes of batch id, in log order, into seqs. */
static fs_err
batch_numbered(fs_client *c, const char *id, int64_t *seqs, size_t n, size_t *ret_n)
{
	sqlite3_stmt *st;
	size_t got = 0;
	fs_err err;
	int rc;

	if ((err = db_prepare(c, "SELECT seq FROM changelog WHERE batch = ?1 AND pushed = 0"
				 " AND rejected IS NULL ORDER BY seq LIMIT ?2",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		seqs[got++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(c, "reading a batch");
	*ret_n = got;
	return FS_OK;
}

/*
 * Marks a batch from its parsed answer, in one transaction: the first N
 * numbered changes (N the answer's count), the rest unnumbered.
 */
static fs_err
batch_mark(struct sync_run *run, const struct batch *b, const cJSON *answer)
{
	const cJSON *rejected = cJSON_GetObjectItemCaseSensitive(answer, "rejected"), *r;
	const cJSON *acc = cJSON_GetObjectItemCaseSensitive(answer, "accepted");
	const cJSON *dup = cJSON_GetObjectItemCaseSensitive(answer, "duplicates");
	const cJSON *conf = cJSON_GetObjectItemCaseSensitive(answer, "conflicts");
	const cJSON *chain_head = cJSON_GetObjectItemCaseSensitive(answer, "chain_head");
	fs_client *c = run->c;
	int64_t *seqs = NULL;
	size_t total, have = 0;
	sqlite3_stmt *st;
	int nrej = 0, gaps = 0;
	bool lost, dropped = false;
	fs_err err;

	if (!cJSON_IsArray(rejected) || !cJSON_IsNumber(acc) || !cJSON_IsNumber(dup) ||
	    acc->valuedouble < 0 || dup->valuedouble < 0 || acc->valuedouble > MAX_BATCH ||
	    dup->valuedouble > MAX_BATCH)
		return client_fail(c, FS_ERR_PROTOCOL, "push answer lacks its counts");
	total = (size_t)acc->valueint + (size_t)dup->valueint + (size_t)cJSON_GetArraySize(rejected);
	if (total < 1 || total > MAX_BATCH)
		return client_fail(c, FS_ERR_PROTOCOL, "push answer counts no change");
	/*
	 * A fresh answer covers exactly what was sent; only a replay may
	 * cover another prefix of the batch.  Counts that do not add up are
	 * not trusted: nothing is marked, the batch goes again.
	 */
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(answer, "replayed")) && total != b->n)
		return client_fail(c, FS_ERR_PROTOCOL,
		    "push answer counts %zu changes, %zu were sent: not trusted", total, b->n);
	if ((err = acked_lost(run, answer, &lost)) != FS_OK)
		return err;
	if (lost) /* FAILURE-MODES 38: the server lost changes it had acknowledged. */
		return sync_server_lost_data(run, 0);
	if ((seqs = malloc(sizeof(*seqs) * total)) == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	if ((err = db_begin(c)) != FS_OK)
		goto out;
	if ((err = batch_numbered(c, b->id, seqs, total, &have)) != FS_OK)
		goto rollback;
	if (have != total) {
		err = client_fail(c, FS_ERR_PROTOCOL,
		    "push answer counts %zu changes; this batch had %zu", total, have);
		goto rollback;
	}
	cJSON_ArrayForEach(r, rejected)
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(r, "index");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "detail");
		char reason[300];

		if (!cJSON_IsNumber(idx) || idx->valueint < 0 || (size_t)idx->valueint >= total) {
			err = client_fail(c, FS_ERR_PROTOCOL, "push answer names a change it was not sent");
			goto rollback;
		}
		/*
		 * A gap: the server's chain for this device ends before the
		 * change's "prev" (a change it never took, e.g. one refused
		 * too large).  Not the change's fault: it stays pending and
		 * is re-linked after the server's head below.
		 */
		if (cJSON_IsString(e) && strcmp(e->valuestring, "chain_gap") == 0 &&
		    cJSON_IsString(chain_head) && run->relinks < MAX_RELINKS) {
			gaps++;
			continue;
		}
		snprintf(reason, sizeof(reason), "%s: %s", cJSON_IsString(e) ? e->valuestring : "?",
		    cJSON_IsString(d) ? d->valuestring : "");
		if ((err = db_stmt(c, "UPDATE changelog SET rejected = ? WHERE seq = ?", &st)) !=
		    FS_OK)
			goto rollback;
		sqlite3_bind_text(st, 1, reason, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, seqs[idx->valueint]);
		if (sqlite3_step(st) != SQLITE_DONE)
			err = db_fail(c, "marking a refused change");
		db_stmt_done(c, st);
		if (err != FS_OK)
			goto rollback;
		nrej++;
	}
	/* The changes of a gap are neither sent nor refused: off the batch, re-linked. */
	if (gaps > 0) {
		bool done = false;

		cJSON_ArrayForEach(r, rejected)
		{
			const cJSON *idx = cJSON_GetObjectItemCaseSensitive(r, "index");
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");

			if (!cJSON_IsString(e) || strcmp(e->valuestring, "chain_gap") != 0)
				continue;
			if ((err = db_stmt(c, "UPDATE changelog SET batch = NULL, rejected = NULL"
					      " WHERE seq = ?", &st)) != FS_OK)
				goto rollback;
			sqlite3_bind_int64(st, 1, seqs[idx->valueint]);
			/* A marker the pushed = 1 update below must skip. */
			if (sqlite3_step(st) != SQLITE_DONE)
				err = db_fail(c, "re-linking a change");
			db_stmt_done(c, st);
			if (err != FS_OK)
				goto rollback;
		}
		if ((err = signing_relink_after_link(c, chain_head->valuestring, &done)) != FS_OK)
			goto rollback;
		if (!done) {
			err = client_fail(c, FS_ERR_CLONED,
			    "the server's chain for this device ends at a change this device never"
			    " made: a cloned or restored device; ask an administrator");
			goto rollback;
		}
		run->relinks++;
	}
	/* By sequence range: batch has no index, a scan per batch would be quadratic. */
	if ((err = db_stmt(c, "UPDATE changelog SET pushed = 1 WHERE seq BETWEEN ?2 AND ?3"
			      " AND batch = ?1 AND rejected IS NULL",
		 &st)) != FS_OK)
		goto rollback;
	sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seqs[0]);
	sqlite3_bind_int64(st, 3, seqs[total - 1]);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "marking changes sent");
	db_stmt_done(c, st);
	/* Acknowledged: the author's plain copies go (drafts.c). */
	if (err != FS_OK ||
	    (err = drafts_drop_acked(c, b->id, seqs[0], seqs[total - 1], &dropped)) != FS_OK)
		goto rollback;
	/* The part of the batch this answer does not cover goes out under a new number. */
	if ((err = db_stmt(c, "UPDATE changelog SET batch = NULL WHERE seq > ?2 AND batch = ?1"
			      " AND pushed = 0 AND rejected IS NULL",
		 &st)) != FS_OK)
		goto rollback;
	sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seqs[total - 1]);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "renumbering the rest of a batch");
	db_stmt_done(c, st);
	if (err != FS_OK || (err = db_meta_set_i64(c, "clock_offset_ms", c->clock_offset_ms)) != FS_OK ||
	    (err = remember_ack(c, answer)) != FS_OK)
		goto rollback;
	if ((err = db_commit(c)) != FS_OK)
		goto out;
	if (dropped)
		drafts_truncate_wal(c);
	run->res.pushed += (int64_t)total - nrej - gaps;
	run->res.duplicates += dup->valueint;
	run->res.rejected += nrej;
	run->res.conflicts += cJSON_IsNumber(conf) ? conf->valueint : 0;
	run->res.batches++;
	goto out;
rollback:
	db_rollback(c);
out:
	free(seqs);
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
batch_too_large(struct sync_run *run, const struct batch *b, struct push_plan *plan)
{
	fs_client *c = run->c;
	sqlite3_stmt *st;
	fs_err err = FS_OK;

	if (b->n > 1) {
		plan->count_max = (int)(b->n / 2);
		plan->bytes = plan->bytes / 2 > MIN_BATCH_BYTES ? plan->bytes / 2 : MIN_BATCH_BYTES;
		if ((err = db_prepare(c, "UPDATE changelog SET batch = NULL WHERE batch = ?"
					 " AND pushed = 0",
			 &st)) != FS_OK)
			return err;
		sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
	} else {
		/* Out of the chain too: the server never had it (signing.c). */
		if ((err = db_prepare(c, "UPDATE changelog SET rejected = 'too_large: the server"
					 " refuses this change as larger than it accepts', batch = NULL,"
					 " link = NULL WHERE seq = ?",
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

static void
plan_init(const fs_sync_options *o, struct push_plan *plan)
{
	plan->count_max = o->batch_size > 0 ? o->batch_size : DEFAULT_BATCH;
	if (plan->count_max > MAX_BATCH)
		plan->count_max = MAX_BATCH;
	plan->bytes_max = o->batch_bytes_max > 0 ? o->batch_bytes_max : DEFAULT_BATCH_BYTES_MAX;
	if (plan->bytes_max > (int64_t)HTTP_MAX_BODY)
		plan->bytes_max = HTTP_MAX_BODY;
	plan->bytes = o->batch_bytes > 0 ? o->batch_bytes : DEFAULT_BATCH_BYTES;
	if (plan->bytes > plan->bytes_max)
		plan->bytes = plan->bytes_max;
	if (plan->bytes < MIN_BATCH_BYTES)
		plan->bytes = MIN_BATCH_BYTES;
	plan->ratio = 6.0; /* changes compress about 6:1; measured from the first batch on */
	plan->grow_to = plan->bytes_max;
}

/*
 * A batch was cut or stalled: the next one is half its size, and sizes
 * from there grow slowly (as TCP does after a loss): a link that drops
 * every few seconds settles near the largest batch that crosses it,
 * instead of doubling into the next cut and wasting the bytes sent.
 */
static void
plan_cut(struct push_plan *plan, int64_t sent)
{
	int64_t half = (sent < plan->bytes ? sent : plan->bytes) / 2;

	plan->bytes = half > MIN_BATCH_BYTES ? half : MIN_BATCH_BYTES;
	plan->grow_to = plan->bytes;
}

/* A batch was acknowledged: double below grow_to, else grow by a quarter. */
static void
plan_acked(struct push_plan *plan)
{
	if (plan->bytes < plan->grow_to)
		plan->bytes = plan->bytes * 2 < plan->grow_to ? plan->bytes * 2 : plan->grow_to;
	else
		plan->bytes += plan->bytes / 4 > MIN_BATCH_BYTES ? plan->bytes / 4 : MIN_BATCH_BYTES;
	if (plan->bytes > plan->bytes_max)
		plan->bytes = plan->bytes_max;
}

/* What the last batch taught: how well the changes compress. */
static void
plan_learn(struct push_plan *plan, const struct batch *b)
{
	if (b->body.gz_len > 0 && b->n > 1) {
		double r = (double)b->body.json_len / (double)b->body.gz_len;
		plan->ratio = r < 1.0 ? 1.0 : r > 20.0 ? 20.0 : r;
	}
}

fs_err
sync_push_all(struct sync_run *run)
{
	struct push_plan plan;
	int clock_retries = 0, failures = 0, polls = 0;
	int max = run->o->max_attempts > 0 ? run->o->max_attempts : 6;
	struct http_answer a;
	struct batch b;
	fs_err err;

	plan_init(run->o, &plan);
	for (;;) {
		if ((err = batch_next(run->c, &plan, &b)) != FS_OK)
			return err;
		if (b.n == 0) {
			batch_finish(&b);
			run->prog.batch_changes = 0;
			run->prog.batch_bytes = 0;
			return FS_OK;
		}
		plan_learn(&plan, &b);
		run->prog.batch_changes = (int64_t)b.n;
		run->prog.batch_bytes = (int64_t)b.body.gz_len;
		err = sync_attempt(run, "push", failures + 1, "POST", "/v1/push", &b.body, &a);
		if (err != FS_OK) {
			int64_t delay;

			int64_t sent = (int64_t)b.body.gz_len;

			batch_finish(&b);
			if (!sync_retryable(err))
				return err;
			if (err == FS_ERR_NETWORK && a.no_link) {
				/* No link at all: nothing was sent; poll until it is back. */
				if (++polls > (max - 1) * SYNC_POLLS_PER_ATTEMPT)
					return err;
				delay = sync_retry_delay(run, 1, 0, true);
			} else {
				if (++failures >= max)
					return err;
				if (err == FS_ERR_NETWORK) {
					run->res.cuts++;
					/*
					 * Cut or stalled on a connection of its own: the
					 * next try sends a smaller first part.  A request
					 * cut on a connection that had already carried one
					 * started late in that connection's life; its size
					 * is not what failed.
					 */
					if (a.new_conn)
						plan_cut(&plan, sent);
				}
				/*
				 * A link that carried batches before is cut, not gone:
				 * the wait grows only to four times the first.
				 */
				delay = sync_retry_delay(run, run->res.batches > 0 && failures > 3 ? 3 : failures,
				    a.retry_after_s, false);
			}
			if ((err = sync_wait(run, "push", delay)) != FS_OK)
				return err;
			continue;
		}
		polls = 0;
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
			err = batch_too_large(run, &b, &plan);
		} else if (a.status != 200) {
			err = sync_answer_error(run, &a);
		} else if ((err = batch_mark(run, &b, a.json)) == FS_OK) {
			/* Acknowledged: the link carried it, try twice as much. */
			failures = 0;
			run->prog.bytes_acked += a.bytes_up;
			plan_acked(&plan);
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
