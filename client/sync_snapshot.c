/*
 * sync_snapshot.c -- a device's first pull: each record's row once.
 *
 * A device that has pulled nothing (pull cursor 0) would otherwise page
 * through every change the server ever received for its team: 11,000
 * changes for 10,000 records, each merged in turn.  GET /v1/snapshot
 * sends each record's packed merge state instead (common/merge_row.h),
 * the row the server itself holds, which this device adopts as its own:
 * the same rule over the same changes gives the same state, so adopting
 * it is merging them all at once.
 *
 * Consistency: every row of a page holds every change up to the page's
 * as_of (and maybe later ones).  The device keeps the first page's as_of
 * and, when the last page is in, starts its pull cursor there; a change
 * after as_of that a later row already held is merged again and ignored
 * (merge is idempotent), and one it did not hold comes by pull.
 *
 * This device's own unacknowledged changes: a record it edited offline is
 * in its store before the first pull.  Sync pushes before it pulls, so the
 * server's row normally holds them; any the server's row lacks are merged
 * again from the change log on top of it (record_row_adopt()).  A device
 * that has merged another device's changes (a store pulled into before, a
 * cursor reset after a server restore) never takes a snapshot: its rows
 * hold changes it could not merge again, and the ordinary pull is right.
 *
 * Each page is adopted and its position noted in one transaction, so a cut
 * resumes at the next page.  A server without the endpoint (0.2) answers
 * 404 and the ordinary pull runs instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "http.h"
#include "internal.h"
#include "record_row.h"
#include "sync_internal.h"

/*
 * Records per page: 50 first (about 12 KB gzipped of labour inspections),
 * doubled after each page that came in under SNAPSHOT_FAST_MS, up to 500
 * (the pull's page), and halved after a slow one, so that on a slow link a
 * page crosses between two cuts (tests/slowlink: 32 kbit/s, a cut every
 * 30 s) and on a fast one the device commits large pages.
 */
#define SNAPSHOT_FIRST 50
#define SNAPSHOT_MIN 25
#define SNAPSHOT_MAX 500
#define SNAPSHOT_FAST_MS 4000

/* True when no record here holds a change stamped by another device. */
static fs_err
snapshot_allowed(fs_client *c, bool *ret)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	if ((err = db_prepare(c, "SELECT 1 FROM records r, json_each(r.state, '$.s') s"
				 " WHERE r.state IS NOT NULL AND substr(s.value, 18) <> ? LIMIT 1",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, c->clock.device, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(c, "reading records");
	*ret = rc == SQLITE_DONE;
	return FS_OK;
}

/* Merges this device's own change stamped stamp again from its log. */
static fs_err
replay_own(fs_client *c, struct record_row *row, const char *stamp)
{
	struct merge_result res = { 0 };
	const struct form *form;
	struct change ch;
	sqlite3_stmt *st;
	cJSON *body = NULL;
	char msg[256];
	fs_err err;
	int rc;

	if ((err = db_prepare(c, "SELECT body FROM changelog WHERE hlc = ?", &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, stamp, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		body = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return client_fail(c, FS_ERR_PROTOCOL,
		    "snapshot: the server's row lacks change %s, which this device merged but"
		    " did not make", stamp);
	if (rc != SQLITE_ROW)
		return db_fail(c, "reading the change log");
	if (body == NULL || change_parse(body, &ch, msg, sizeof(msg)) != FS_OK) {
		cJSON_Delete(body);
		return client_fail(c, FS_ERR_CORRUPT, "change %s in the log is damaged", stamp);
	}
	if ((err = forms_get(c, ch.form, ch.form_version, &form)) == FS_OK)
		err = record_row_apply(c, row, form, &ch, &res, NULL);
	cJSON_Delete(body);
	return err;
}

/* Folds every stamp of a row's table into the clock (a clone is refused). */
static fs_err
observe_stamps(fs_client *c, const cJSON *state)
{
	const cJSON *s;
	char device[HLC_DEVICE_LEN + 1];
	uint64_t ts;

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(state, "s"))
	{
		if (!cJSON_IsString(s) || hlc_parse(s->valuestring, &ts, device) != FS_OK)
			return client_fail(c, FS_ERR_PROTOCOL, "snapshot: a row has a malformed stamp");
		if (hlc_observe(&c->clock, ts, device) != FS_OK)
			return client_fail(c, FS_ERR_CLONED,
			    "the server holds changes stamped with this device's id that this"
			    " device never made: restored from a backup or cloned? Sync stopped");
	}
	return FS_OK;
}

/* Adopts one snapshot row (checked here: it comes off the network). */
static fs_err
adopt_one(fs_client *c, const cJSON *item)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
	const cJSON *form = cJSON_GetObjectItemCaseSensitive(item, "form");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(item, "form_version");
	const cJSON *tomb = cJSON_GetObjectItemCaseSensitive(item, "tombstone");
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(item, "state");
	struct record_stamps local = { 0 };
	struct record_row row;
	uint64_t ts;
	fs_err err;

	if (!cJSON_IsString(id) || strlen(id->valuestring) != CHANGE_ID_LEN ||
	    !cJSON_IsString(form) || strlen(form->valuestring) > FORM_NAME_MAX ||
	    !cJSON_IsNumber(version) || version->valuedouble < 1 || version->valuedouble > 1e9 ||
	    (tomb != NULL && (!cJSON_IsString(tomb) ||
				 hlc_parse(tomb->valuestring, &ts, NULL) != FS_OK)) ||
	    !cJSON_IsObject(state))
		return client_fail(c, FS_ERR_PROTOCOL, "snapshot: a record is malformed");
	if ((err = observe_stamps(c, state)) != FS_OK)
		return err;
	if ((err = record_row_load(c, id->valuestring, &row)) == FS_OK)
		err = record_row_adopt(c, &row, id->valuestring, form->valuestring,
		    (int64_t)version->valuedouble, tomb != NULL ? tomb->valuestring : NULL, state,
		    &local);
	for (size_t i = 0; err == FS_OK && i < local.n; i++)
		err = replay_own(c, &row, local.stamp[i]);
	free(local.stamp);
	record_row_finish(&row);
	return err;
}

/* One page in one transaction: rows adopted, position (or the end) noted. */
static fs_err
adopt_page(struct sync_run *run, const cJSON *records, int64_t next, bool more,
    const char *own_hlc)
{
	fs_client *c = run->c;
	const cJSON *item;
	char *as_of_hlc = NULL;
	int64_t as_of = 0;
	int n = 0;
	fs_err err;

	if ((err = db_begin(c)) != FS_OK)
		return err;
	if ((err = clock_load(c)) != FS_OK || (err = sync_own_hlc_check(c, own_hlc)) != FS_OK)
		goto rollback;
	cJSON_ArrayForEach(item, records)
	{
		if ((err = adopt_one(c, item)) != FS_OK)
			goto rollback;
		n++;
	}
	if ((err = db_meta_set_i64(c, "snapshot_next", next)) != FS_OK)
		goto rollback;
	if (!more) {
		/* Done: pull from where the snapshot was taken. */
		if ((err = db_meta_get_i64(c, "snapshot_as_of", 0, &as_of)) != FS_OK ||
		    (err = db_meta_get(c, "snapshot_as_of_hlc", &as_of_hlc)) != FS_OK ||
		    (err = db_meta_set_i64(c, "pull_cursor", as_of)) != FS_OK ||
		    (as_of_hlc != NULL && as_of_hlc[0] != '\0' &&
			(err = db_meta_set(c, "cursor_hlc", as_of_hlc)) != FS_OK) ||
		    (err = db_exec(c, "DELETE FROM meta WHERE key IN ('snapshot_next',"
				      " 'snapshot_as_of', 'snapshot_as_of_hlc')")) != FS_OK)
			goto rollback;
		run->res.cursor = as_of;
	}
	if ((err = clock_save(c)) != FS_OK || (err = db_commit(c)) != FS_OK)
		goto out;
	run->res.pulled += n;
	goto out;
rollback:
	db_rollback(c);
	{
		int64_t last = 0;
		if (db_meta_get_i64(c, "hlc_last", 0, &last) == FS_OK)
			c->clock.last = (uint64_t)last;
	}
out:
	free(as_of_hlc);
	return err;
}

fs_err
sync_snapshot(struct sync_run *run)
{
	fs_client *c = run->c;
	int64_t cursor = 0, next = -1, forms_seen = -1;
	bool allowed = false, more = true, fetched = false;
	int limit = SNAPSHOT_FIRST;
	int64_t t0;
	struct http_answer a;
	char path[96];
	fs_err err;

	if ((err = db_meta_get_i64(c, "pull_cursor", 0, &cursor)) != FS_OK ||
	    (err = db_meta_get_i64(c, "snapshot_next", -1, &next)) != FS_OK ||
	    (err = db_meta_get_i64(c, "forms_version", -1, &forms_seen)) != FS_OK)
		return err;
	if (cursor != 0)
		return FS_OK;
	if (next < 0) {
		if ((err = snapshot_allowed(c, &allowed)) != FS_OK || !allowed)
			return err;
		next = 0;
	}
	while (more) {
		const cJSON *records, *nx, *m, *as_of, *as_of_hlc, *fv, *own;

		snprintf(path, sizeof(path), "/v1/snapshot?after=%lld&limit=%d", (long long)next,
		    limit);
		t0 = hlc_wall_ms();
		if ((err = sync_request(run, "pull", "GET", path, NULL, &a)) != FS_OK)
			return err;
		if (hlc_wall_ms() - t0 < SNAPSHOT_FAST_MS)
			limit = limit * 2 > SNAPSHOT_MAX ? SNAPSHOT_MAX : limit * 2;
		else
			limit = limit / 2 < SNAPSHOT_MIN ? SNAPSHOT_MIN : limit / 2;
		if (a.status == 404 && next == 0) {
			http_answer_finish(&a); /* a server before 0.3: the ordinary pull */
			return FS_OK;
		}
		if (a.status != 200) {
			err = sync_answer_error(run, &a);
			http_answer_finish(&a);
			return err;
		}
		sync_learn_time(run, &a);
		records = cJSON_GetObjectItemCaseSensitive(a.json, "records");
		nx = cJSON_GetObjectItemCaseSensitive(a.json, "next");
		m = cJSON_GetObjectItemCaseSensitive(a.json, "more");
		as_of = cJSON_GetObjectItemCaseSensitive(a.json, "as_of");
		as_of_hlc = cJSON_GetObjectItemCaseSensitive(a.json, "as_of_hlc");
		fv = cJSON_GetObjectItemCaseSensitive(a.json, "forms_version");
		own = cJSON_GetObjectItemCaseSensitive(a.json, "own_hlc");
		if (!cJSON_IsArray(records) || !cJSON_IsNumber(nx) || nx->valuedouble < next ||
		    !cJSON_IsBool(m) || !cJSON_IsNumber(as_of) || as_of->valuedouble < 0 ||
		    !cJSON_IsString(as_of_hlc)) {
			http_answer_finish(&a);
			return client_fail(c, FS_ERR_PROTOCOL, "snapshot answer is malformed");
		}
		/* The first page fixes where the pull starts afterwards. */
		if (next == 0 &&
		    ((err = db_meta_set_i64(c, "snapshot_as_of", (int64_t)as_of->valuedouble)) !=
			    FS_OK ||
			(err = db_meta_set(c, "snapshot_as_of_hlc", as_of_hlc->valuestring)) !=
			    FS_OK)) {
			http_answer_finish(&a);
			return err;
		}
		/* Rows name forms: have them first, as a pull does. */
		if (cJSON_IsNumber(fv) && (int64_t)fv->valuedouble != forms_seen && !fetched) {
			if ((err = sync_fetch_forms(run)) != FS_OK ||
			    (run->forms_skipped == 0 &&
				(err = db_meta_set_i64(c, "forms_version",
				     (int64_t)fv->valuedouble)) != FS_OK)) {
				http_answer_finish(&a);
				return err;
			}
			forms_seen = (int64_t)fv->valuedouble;
			fetched = true;
		}
		more = cJSON_IsTrue(m);
		err = adopt_page(run, records, (int64_t)nx->valuedouble, more,
		    cJSON_IsString(own) ? own->valuestring : NULL);
		next = (int64_t)nx->valuedouble;
		http_answer_finish(&a);
		if (err != FS_OK)
			return err;
		sync_progress(run, "pull", 1);
	}
	return FS_OK;
}
