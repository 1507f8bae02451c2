/*
 * sync_pull.c -- the pull side of fs_sync(): the server's changes are
 * merged page by page.
 *
 * Each page is merged and the pull cursor moved in one transaction.  New
 * or missing form definitions are fetched first; one this build cannot
 * read is left out, and only a change that needs it stops the pull.  A
 * server restored from an older backup (the change at the device's cursor
 * or at its last acknowledged point is not the one seen there) is detected
 * here, and every change of this device is marked unsent again so that the
 * next push heals it.  Requests and retries are sync.c's; nothing here
 * sends changes.
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
 * Changes per pull page: the protocol's documented default.  A page is
 * held twice while it is merged (the answer and its parsed tree), about
 * 2.5 MB at 500 changes.
 */
#define PULL_LIMIT 500

fs_err
sync_fetch_forms(struct sync_run *run)
{
	struct http_answer a;
	const cJSON *forms, *f;
	fs_err err;

	if ((err = sync_request(run, "forms", "GET", "/v1/forms", NULL, &a)) != FS_OK)
		return err;
	if (a.status != 200) {
		err = sync_answer_error(run, &a);
		http_answer_finish(&a);
		return err;
	}
	/* Headquarters' key to seal sensitive values to, when it has one (drafts.c). */
	if ((err = drafts_set_key(run->c,
		 cJSON_GetObjectItemCaseSensitive(a.json, "seal_key"))) != FS_OK) {
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
		/*
		 * A version the device holds with other content: device and
		 * server would validate, and merge (policy, the fields a delete
		 * clears), by different rules.  The pull stops with the reason
		 * (pushing still works, and the server checks what it gets).
		 */
		if (err == FS_ERR_EXISTS) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "id");
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, "version");

			err = client_fail(run->c, FS_ERR_FORM,
			    "form '%.64s' version %lld on this device differs from the one the"
			    " server publishes; the pull stops here.  A changed form needs a new"
			    " version number",
			    cJSON_IsString(id) ? id->valuestring : "?",
			    cJSON_IsNumber(v) ? (long long)v->valuedouble : -1LL);
			break;
		}
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

fs_err
sync_own_hlc_check(fs_client *c, const char *own_hlc)
{
	char device[HLC_DEVICE_LEN + 1];
	uint64_t stamp;

	if (own_hlc == NULL)
		return FS_OK;
	if (hlc_parse(own_hlc, &stamp, device) != FS_OK || strcmp(device, c->clock.device) != 0)
		return client_fail(c, FS_ERR_PROTOCOL, "pull answer's own_hlc is malformed");
	if (hlc_observe(&c->clock, stamp, device) != FS_OK)
		return client_fail(c, FS_ERR_CLONED,
		    "the server holds changes stamped with this device's id that this"
		    " device never made: restored from a backup or cloned? Sync stopped");
	return FS_OK;
}

/*
 * Merges one pulled page and moves the cursor, in one transaction.
 * FS_ERR_NOTFOUND when a change names a form version the device lacks
 * (nothing applied; the caller fetches forms and retries).
 */
static fs_err
apply_page(struct sync_run *run, const cJSON *changes, int64_t next, const char *next_hlc,
    const char *own_hlc)
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
	/*
	 * Protocol 2 sends no change of this device back, but the newest
	 * stamp the server holds from it: newer than anything this device
	 * issued means a twin with the same id (a cloned image).
	 */
	if ((err = sync_own_hlc_check(c, own_hlc)) != FS_OK)
		goto rollback;
	cJSON_ArrayForEach(item, changes)
	{
		const cJSON *obj = cJSON_GetObjectItemCaseSensitive(item, "change");
		struct record_row row;
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
		/* One row read, merged in memory, written back (record_row.h). */
		err = record_row_load(c, ch.id, &row);
		if (err == FS_OK)
			err = record_row_apply(c, &row, form, &ch, &res, NULL);
		record_row_finish(&row);
		if (err != FS_OK)
			goto rollback;
		snprintf(last_hlc, sizeof(last_hlc), "%s", ch.hlc);
		n++;
	}
	/* Protocol 2 names the stamp at next (which may be a change of ours, not sent). */
	if (next_hlc != NULL)
		snprintf(last_hlc, sizeof(last_hlc), "%s", next_hlc);
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
fs_err
sync_server_lost_data(struct sync_run *run, int64_t cursor)
{
	fs_client *c = run->c;
	fs_err err;

	if ((err = db_begin(c)) != FS_OK)
		return err;
	if ((err = db_exec(c, "UPDATE changelog SET pushed = 0, batch = NULL"
			      " WHERE rejected IS NULL")) != FS_OK ||
	    (err = db_meta_set_i64(c, "pull_cursor", 0)) != FS_OK ||
	    (err = db_exec(c, "DELETE FROM meta WHERE key = 'cursor_hlc'")) != FS_OK ||
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
 * When a pull was cut off after a push, the pull cursor is behind the
 * last acknowledged change, and the cursor's own check cannot see a
 * restore between the two.  A push answer carries the stamp at the
 * acknowledged point (protocol 2); only when nothing was pushed does one
 * small pull request ask for it (and only then: after a complete pull
 * the cursor is at or past it, and nothing is asked).
 */
fs_err
sync_check_acked(struct sync_run *run)
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
	if ((err = sync_request(run, "pull", "GET", path, NULL, &a)) != FS_OK)
		goto out;
	if (a.status != 200) {
		err = sync_answer_error(run, &a);
		http_answer_finish(&a);
		goto out;
	}
	at = cJSON_GetObjectItemCaseSensitive(a.json, "after_hlc");
	lost = !cJSON_IsString(at) || strcmp(at->valuestring, acked_hlc) != 0;
	http_answer_finish(&a);
	if (lost)
		err = sync_server_lost_data(run, acked);
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
		const cJSON *changes, *next, *m, *fv, *at, *nh, *own;
		const char *next_hlc, *own_hlc;

		snprintf(path, sizeof(path), "/v1/pull?after=%lld&limit=%d", (long long)cursor,
		    PULL_LIMIT);
		if ((err = sync_request(run, "pull", "GET", path, NULL, &a)) != FS_OK)
			return err;
		if (a.status != 200) {
			err = sync_answer_error(run, &a);
			http_answer_finish(&a);
			return err;
		}
		sync_learn_time(run, &a);
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
			return sync_server_lost_data(run, cursor);
		}
		if (cJSON_IsNumber(fv) && (int64_t)fv->valuedouble != forms_seen && !fetched) {
			/* New forms published: fetch them before merging. */
			/* With a form left out, not noted: an updated fieldsync fetches again. */
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
		nh = cJSON_GetObjectItemCaseSensitive(a.json, "next_hlc");
		own = cJSON_GetObjectItemCaseSensitive(a.json, "own_hlc");
		next_hlc = cJSON_IsString(nh) ? nh->valuestring : NULL;
		own_hlc = cJSON_IsString(own) ? own->valuestring : NULL;
		err = apply_page(run, changes, (int64_t)next->valuedouble, next_hlc, own_hlc);
		if (err == FS_ERR_NOTFOUND && !fetched) {
			fetched = true;
			if ((err = sync_fetch_forms(run)) == FS_OK)
				err = apply_page(run, changes, (int64_t)next->valuedouble, next_hlc,
				    own_hlc);
		}
		more = cJSON_IsTrue(m);
		cursor = (int64_t)next->valuedouble;
		http_answer_finish(&a);
		/* Checked on the first page; later pages follow our own cursor. */
		cursor_hlc = NULL;
		if (err != FS_OK)
			return err;
		sync_progress(run, "pull", 1);
	}
	return FS_OK;
}

fs_err
sync_pull_all(struct sync_run *run)
{
	char *cursor_hlc = NULL;
	fs_err err;

	/* A first pull takes each record's row once (sync_snapshot.c). */
	if ((err = sync_snapshot(run)) != FS_OK)
		return err;
	if ((err = db_meta_get(run->c, "cursor_hlc", &cursor_hlc)) != FS_OK)
		return err;
	err = pull_pages(run, cursor_hlc);
	free(cursor_hlc);
	return err;
}
