/*
 * store_records.c -- SQLite backend of store_records.h.
 *
 * Gap-free cursor: SQLite has one writer at a time and a reader sees a
 * committed snapshot, so a pull never sees sequence n+1 before n is
 * visible.  (A PostgreSQL backend must take care of this itself, e.g. by
 * serialising sequence assignment per commit.)
 */
#include "store_records.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hlc.h"
#include "log.h"
#include "merge_row.h"
#include "sqlite_util.h"
#include "store_sqlite_internal.h"
#include "store_state.h"

static fs_err meta_get(sqlite3 *db, const char *key, char *buf, size_t len);

/* Statements run for every change of a batch: prepared once per push. */
enum { PS_TEAM, PS_CHANGE, PS_RECORD, PS_LOAD, PS_BODY, PS_HISTORY, PS_N };

struct store_push {
	struct store_base base; /* first: store.c dispatches through it */
	struct store *store;
	sqlite3 *db;
	sqlite3_stmt *st[PS_N];
	bool locked; /* holds the store's writer lock */
	/*
	 * The transaction's time, once: every row it writes carries the same
	 * instant (SQLite's strftime() per row was 3 calls a change).
	 */
	char now[32];
};

/* Now as ISO 8601 UTC text with milliseconds, as STORE_SQLITE_NOW writes it. */
static void
now_text(char buf[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + 19, 13, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

/*
 * The store's writer lock (store_sqlite_writer_take()) is taken before
 * BEGIN IMMEDIATE; the busy timeout still covers writers in other
 * processes (the admin commands).  Bounded like the busy timeout:
 * FS_ERR_BUSY (503, the device retries) after PUSH_LOCK_WAIT_S.
 */
#define PUSH_LOCK_WAIT_S 5

static void
push_free(struct store_push *push)
{
	for (int i = 0; i < PS_N; i++)
		sqlite3_finalize(push->st[i]);
	if (push->locked)
		store_sqlite_writer_release(push->store);
	free(push);
}

fs_err
sqlite_push_begin(struct store *store, struct store_push **ret_push)
{
	struct store_push *push;
	sqlite3 *db = store_sqlite_db(store);
	fs_err err;

	if (db == NULL)
		return FS_ERR_DB;
	if ((push = calloc(1, sizeof(*push))) == NULL)
		return FS_ERR_NOMEM;
	push->base.ops = &store_sqlite_ops;
	push->db = db;
	push->store = store;
	now_text(push->now);
	if ((err = store_sqlite_writer_take(store, PUSH_LOCK_WAIT_S)) != FS_OK) {
		push_free(push);
		return err;
	}
	push->locked = true;
	if ((err = store_sqlite_exec(db, "BEGIN IMMEDIATE")) != FS_OK) {
		push_free(push);
		return err;
	}
	*ret_push = push;
	return FS_OK;
}

sqlite3 *
sqlite_push_conn(struct store_push *push)
{
	return push->db;
}

static fs_err push_stmt(struct store_push *push, int which, const char *sql, sqlite3_stmt **ret);

fs_err
sqlite_push_stmt_body(struct store_push *push, const char *sql, sqlite3_stmt **ret)
{
	return push_stmt(push, PS_BODY, sql, ret);
}

fs_err
sqlite_push_stmt_history(struct store_push *push, const char *sql, sqlite3_stmt **ret)
{
	return push_stmt(push, PS_HISTORY, sql, ret);
}

const char *
sqlite_push_now(struct store_push *push)
{
	return push->now;
}

/* The push's statement `which` (sql), reset and unbound; prepared on first use. */
static fs_err
push_stmt(struct store_push *push, int which, const char *sql, sqlite3_stmt **ret)
{
	int rc;

	if (push->st[which] != NULL) {
		sqlite3_reset(push->st[which]);
		sqlite3_clear_bindings(push->st[which]);
	} else if ((rc = sqlite3_prepare_v3(push->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			&push->st[which], NULL)) != SQLITE_OK) {
		return store_sqlite_err(push->db, rc, "preparing statement");
	}
	*ret = push->st[which];
	return FS_OK;
}

/* Steps a push statement that returns no rows, then resets it. */
static fs_err
push_step_done(struct store_push *push, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	fs_err err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(push->db, rc, what);

	sqlite3_reset(st);
	return err;
}

fs_err
sqlite_push_commit(struct store_push *push)
{
	fs_err err = store_sqlite_exec(push->db, "COMMIT");

	if (err != FS_OK)
		sqlite3_exec(push->db, "ROLLBACK", NULL, NULL, NULL);
	push_free(push);
	return err;
}

void
sqlite_push_abort(struct store_push *push)
{
	if (push == NULL)
		return;
	if (!sqlite3_get_autocommit(push->db))
		sqlite3_exec(push->db, "ROLLBACK", NULL, NULL, NULL);
	push_free(push);
}

static fs_err
prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? FS_OK : store_sqlite_err(db, rc, "preparing statement");
}

static fs_err
step_done(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	fs_err err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(db, rc, what);

	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_batch_answer(struct store *store, const char *device, const char *batch,
    char **ret_answer)
{
	sqlite3 *db = store_sqlite_db(store);
	sqlite3_stmt *st;
	char *answer = NULL;
	fs_err err;
	int rc;

	if (db == NULL)
		return FS_ERR_DB;
	if ((err = prepare(db, "SELECT answer FROM batches WHERE device = ? AND batch = ?", &st)) !=
	    FS_OK)
		return err;
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, batch, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((answer = strdup((const char *)sqlite3_column_text(st, 0))) == NULL)
			err = FS_ERR_NOMEM;
	} else if (rc != SQLITE_DONE) {
		err = store_sqlite_err(db, rc, "reading batch");
	}
	sqlite3_finalize(st);
	if (err == FS_OK)
		*ret_answer = answer;
	return err;
}

fs_err
sqlite_push_record_head(struct store_push *push, const char *record_id,
    struct store_record_head *ret)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if ((err = push_stmt(push, PS_TEAM,
		 "SELECT team, form, form_version FROM records WHERE id = ?", &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret->exists = true;
		snprintf(ret->team, sizeof(ret->team), "%s", store_sqlite_text(st, 0));
		snprintf(ret->form, sizeof(ret->form), "%s", store_sqlite_text(st, 1));
		ret->form_version = sqlite3_column_int64(st, 2);
	} else if (rc != SQLITE_DONE) {
		err = store_sqlite_err(push->db, rc, "reading record");
	}
	sqlite3_reset(st);
	return err;
}

fs_err
sqlite_push_change_insert(struct store_push *push, const struct change *ch, const char *body,
    const char *team, const char *device, const char *batch, int64_t *ret_seq, bool *ret_dup)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = push_stmt(push, PS_CHANGE,
		 "INSERT OR IGNORE INTO changes(record_id, team, device, batch, hlc, body,"
		 " received_at) VALUES(?, ?, ?, ?, ?, ?, ?)",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, team, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, batch, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ch->hlc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, push->now, -1, SQLITE_STATIC);
	if ((err = push_step_done(push, st, "appending change")) != FS_OK)
		return err;
	*ret_dup = sqlite3_changes(push->db) == 0;
	*ret_seq = *ret_dup ? 0 : sqlite3_last_insert_rowid(push->db);
	/* The record's history chain (store_sqlite_history.c). */
	return *ret_dup ? FS_OK : sqlite_history_push_change(push, ch->id, *ret_seq);
}

/* The record's tombstone and state into *tombstone and mm (nothing if new). */
static fs_err
record_state_load(struct store_push *push, const char *id, char tombstone[HLC_TEXT_LEN + 1],
    struct merge_mem *mm)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	tombstone[0] = '\0';
	if ((err = push_stmt(push, PS_LOAD, "SELECT tombstone, state FROM records WHERE id = ?",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		const char *state = (const char *)sqlite3_column_text(st, 1);

		if (t != NULL)
			snprintf(tombstone, HLC_TEXT_LEN + 1, "%s", t);
		if (state != NULL &&
		    (err = merge_row_load(mm, id, state, (size_t)sqlite3_column_bytes(st, 1))) != FS_OK)
			log_warnx("Record %s: stored state is damaged", id);
	} else if (rc != SQLITE_DONE) {
		err = store_sqlite_err(push->db, rc, "reading record");
	}
	sqlite3_reset(st);
	return err;
}

fs_err
sqlite_push_record_merge(struct store_push *push, const struct form *form,
    const struct change *ch, const char *team, const char *author, int64_t seq,
    struct merge_result *res, int *ret_open)
{
	char tombstone[HLC_TEXT_LEN + 1];
	struct merge_row_out out = { 0 };
	struct merge_mem mm;
	sqlite3_stmt *st;
	fs_err err;

	merge_mem_init(&mm, false);
	if ((err = record_state_load(push, ch->id, tombstone, &mm)) != FS_OK ||
	    (err = merge_row_merge(&mm, form, ch, tombstone, res, &out)) != FS_OK)
		goto out;
	*ret_open = out.open;
	if (!out.applied)
		goto out; /* merged before (its change was stored under another seq) */
	if ((err = push_stmt(push, PS_RECORD,
		 "INSERT INTO records(id, form, form_version, team, created_by, tombstone,"
		 " deleted, open_conflicts, state, created_at, updated_at, last_seq)"
		 " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?11, ?10)"
		 " ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at,"
		 " last_seq = excluded.last_seq,"
		 " form_version = max(form_version, excluded.form_version),"
		 " tombstone = excluded.tombstone, deleted = excluded.deleted,"
		 " open_conflicts = excluded.open_conflicts, state = excluded.state",
		 &st)) != FS_OK)
		goto out;
	sqlite3_bind_text(st, 1, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->form, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ch->form_version);
	sqlite3_bind_text(st, 4, team, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, author, -1, SQLITE_STATIC);
	if (tombstone[0] != '\0')
		sqlite3_bind_text(st, 6, tombstone, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, out.deleted);
	sqlite3_bind_int(st, 8, out.open);
	sqlite3_bind_text(st, 9, out.state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, seq);
	sqlite3_bind_text(st, 11, push->now, -1, SQLITE_STATIC);
	err = push_step_done(push, st, "writing record");
out:
	free(out.state);
	merge_mem_finish(&mm);
	return err;
}

fs_err
sqlite_push_batch_save(struct store_push *push, const char *device, const char *batch,
    const char *answer)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = prepare(push->db, "INSERT INTO batches(device, batch, answer, created_at)"
				     " VALUES(?, ?, ?, " STORE_SQLITE_NOW ")",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, batch, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, answer, -1, SQLITE_STATIC);
	return step_done(push->db, st, "saving batch answer");
}

fs_err
sqlite_push_device_seen(struct store_push *push, const char *device, const char *stamp)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = prepare(push->db, "UPDATE devices SET last_hlc = ?2 WHERE hlc_device = ?1"
				     " AND (last_hlc IS NULL OR last_hlc < ?2)",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, stamp, -1, SQLITE_STATIC);
	return step_done(push->db, st, "noting a device's newest stamp");
}

static fs_err
single_int(struct store *store, const char *sql, int64_t *ret)
{
	sqlite3 *db = store_sqlite_db(store);
	int rc;

	if (db == NULL)
		return FS_ERR_DB;
	if ((rc = sqlite_query_int(db, sql, ret)) != SQLITE_OK)
		return store_sqlite_err(db, rc, "reading a count");
	return FS_OK;
}

fs_err
sqlite_max_seq(struct store *store, int64_t *ret_seq)
{
	return single_int(store, "SELECT coalesce(max(seq), 0) FROM changes", ret_seq);
}

fs_err
sqlite_open_conflicts(struct store *store, int64_t *ret_n)
{
	return single_int(store, "SELECT coalesce(sum(open_conflicts), 0) FROM records", ret_n);
}

fs_err
sqlite_forms_version(struct store *store, int64_t *ret_version)
{
	/*
	 * Grows with every published form and every sealing key: a device
	 * fetches GET /v1/forms again when it changes, and learns the new key
	 * with the forms (issue 17).
	 */
	return single_int(store,
	    "SELECT (SELECT count(*) FROM forms) + (SELECT count(*) FROM seal_keys)", ret_version);
}

/*
 * The stamp at seq when that change is visible to team (NULL: all teams):
 * a device must not learn another team's devices or times from a cursor.
 */
static fs_err
pull_stamp_at(sqlite3 *db, const char *team, int64_t seq, char ret_hlc[HLC_TEXT_LEN + 1])
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	ret_hlc[0] = '\0';
	if (seq <= 0)
		return FS_OK;
	if ((err = prepare(db, "SELECT hlc FROM changes WHERE seq = ?1 AND (?2 IS NULL OR team = ?2)",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_int64(st, 1, seq);
	if (team != NULL)
		sqlite3_bind_text(st, 2, team, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(ret_hlc, HLC_TEXT_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		err = store_sqlite_err(db, rc, "reading a change");
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_change_hlc(struct store *store, const char *team, int64_t seq,
    char ret_hlc[HLC_TEXT_LEN + 1])
{
	sqlite3 *db = store_sqlite_db(store);

	if (db == NULL)
		return FS_ERR_DB;
	return pull_stamp_at(db, team, seq, ret_hlc);
}

fs_err
sqlite_pull(struct store *store, const struct store_pull_query *q, store_change_cb cb, void *arg,
    struct store_pull_page *ret_page)
{
	sqlite3 *db = store_sqlite_db(store);
	struct store_pull_page page = { .next = q->after };
	sqlite3_stmt *st = NULL;
	int scanned = 0, rc = SQLITE_DONE;
	fs_err err;

	if (db == NULL)
		return FS_ERR_DB;
	if ((rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
		return store_sqlite_err(db, rc, "starting a read");
	if ((err = pull_stamp_at(db, q->team, q->after, page.after_hlc)) != FS_OK)
		goto out;
	if ((err = prepare(db, q->team != NULL
			? "SELECT seq, device, hlc, body FROM changes WHERE team = ?3 AND seq > ?1"
			  " ORDER BY seq LIMIT ?2"
			: "SELECT seq, device, hlc, body FROM changes WHERE seq > ?1 ORDER BY seq"
			  " LIMIT ?2",
		 &st)) != FS_OK)
		goto out;
	sqlite3_bind_int64(st, 1, q->after);
	sqlite3_bind_int(st, 2, (q->scan_limit > q->limit ? q->scan_limit : q->limit) + 1);
	if (q->team != NULL)
		sqlite3_bind_text(st, 3, q->team, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *device = (const char *)sqlite3_column_text(st, 1);
		bool own = q->skip_device != NULL && device != NULL &&
		    strcmp(device, q->skip_device) == 0;

		if (page.delivered == q->limit || scanned == q->scan_limit) {
			page.more = true;
			break;
		}
		scanned++;
		page.next = sqlite3_column_int64(st, 0);
		snprintf(page.next_hlc, sizeof(page.next_hlc), "%s",
		    (const char *)sqlite3_column_text(st, 2));
		if (own)
			continue;
		page.delivered++;
		if (cb(arg, page.next, (const char *)sqlite3_column_text(st, 3)) != 0) {
			err = FS_ERR_NOMEM;
			break;
		}
	}
	if (err == FS_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = store_sqlite_err(db, rc, "reading changes");
out:
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (err == FS_OK)
		*ret_page = page;
	return err;
}

fs_err
sqlite_push_event(struct store_push *push, const char *id, const char *kind,
    const char *status, const char *field,
    const char *stamp, const char *note, const char *actor)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = prepare(push->db,
		 "INSERT INTO review_events(record_id, kind, note, field, stamp, actor, at, status)"
		 " VALUES(?1, ?6, ?2, ?3, ?4, ?5, " STORE_SQLITE_NOW ", ?7)",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, note, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, field, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, stamp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, status, -1, SQLITE_STATIC);
	if ((err = step_done(push->db, st, "review event")) != FS_OK)
		return err;
	return sqlite_history_event(push->db, sqlite3_last_insert_rowid(push->db));
}

fs_err
sqlite_push_audit(struct store_push *push, const char *actor, const char *action,
    const char *record_id, const char *detail)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = prepare(push->db, SQLITE_AUDIT_INSERT, &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, record_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	return step_done(push->db, st, "audit");
}

fs_err
sqlite_push_server_device(struct store_push *push, char ret_id[HLC_DEVICE_LEN + 1])
{
	char id[64];
	fs_err err;

	if ((err = meta_get(push->db, "hlc_device", id, sizeof(id))) != FS_OK)
		return err;
	if (!hlc_valid_device(id))
		return FS_ERR_CORRUPT;
	memcpy(ret_id, id, HLC_DEVICE_LEN + 1);
	return FS_OK;
}

fs_err
sqlite_snapshot(struct store *store, const struct store_snapshot_query *q, store_snapshot_cb cb,
    void *arg, struct store_snapshot_page *ret_page)
{
	sqlite3 *db = store_sqlite_db(store);
	struct store_snapshot_page page = { .next = q->after };
	sqlite3_stmt *st = NULL;
	fs_err err;
	int rc;

	if (db == NULL)
		return FS_ERR_DB;
	if ((rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
		return store_sqlite_err(db, rc, "starting a read");
	if ((err = prepare(db, "SELECT coalesce(max(seq), 0) FROM changes"
			       " WHERE ?1 IS NULL OR team = ?1",
		 &st)) != FS_OK)
		goto out;
	if (q->team != NULL)
		sqlite3_bind_text(st, 1, q->team, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		err = store_sqlite_err(db, rc, "reading the log");
		goto out;
	}
	page.as_of = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if ((err = pull_stamp_at(db, q->team, page.as_of, page.as_of_hlc)) != FS_OK ||
	    (err = prepare(db, "SELECT rowid, id, form, form_version, tombstone, state FROM records"
			       " WHERE rowid > ?1 AND (?3 IS NULL OR team = ?3)"
			       " AND state IS NOT NULL AND (?4 IS NULL OR EXISTS (SELECT 1"
			       " FROM json_each(records.state, '$.s') s"
			       " WHERE substr(s.value, 18) <> ?4)) ORDER BY rowid LIMIT ?2",
		 &st)) != FS_OK)
		goto out;
	if (q->skip_device != NULL)
		sqlite3_bind_text(st, 4, q->skip_device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 1, q->after);
	sqlite3_bind_int(st, 2, q->limit + 1);
	if (q->team != NULL)
		sqlite3_bind_text(st, 3, q->team, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_snapshot_row row = {
			.id = store_sqlite_text(st, 1),
			.form = store_sqlite_text(st, 2),
			.form_version = sqlite3_column_int64(st, 3),
			.tombstone = (const char *)sqlite3_column_text(st, 4),
			.state = store_sqlite_text(st, 5),
		};

		if (page.delivered == q->limit) {
			page.more = true;
			break;
		}
		page.next = sqlite3_column_int64(st, 0);
		page.delivered++;
		if (cb(arg, &row) != 0) {
			err = FS_ERR_NOMEM;
			break;
		}
	}
	if (err == FS_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = store_sqlite_err(db, rc, "reading records");
out:
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (err == FS_OK)
		*ret_page = page;
	return err;
}

fs_err
sqlite_push_record_info(struct store_push *push, const char *record_id, char ret_form[65],
    int64_t *ret_version, char ret_team[65])
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	if ((err = prepare(push->db, "SELECT form, form_version, team FROM records WHERE id = ?",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(ret_form, 65, "%s", store_sqlite_text(st, 0));
		*ret_version = sqlite3_column_int64(st, 1);
		snprintf(ret_team, 65, "%s", store_sqlite_text(st, 2));
	} else {
		err = rc == SQLITE_DONE ? FS_ERR_NOTFOUND
		                        : store_sqlite_err(push->db, rc, "reading record");
	}
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_push_record_values(struct store_push *push, const char *record_id, cJSON **ret)
{
	char tombstone[HLC_TEXT_LEN + 1];
	struct merge_mem mm;
	fs_err err;

	merge_mem_init(&mm, false);
	if ((err = record_state_load(push, record_id, tombstone, &mm)) == FS_OK)
		err = store_state_values(merge_mem_record(&mm, record_id), ret);
	merge_mem_finish(&mm);
	return err;
}

fs_err
sqlite_push_field_heads(struct store_push *push, const char *record_id, const char *field,
    struct store_head *heads, size_t max, size_t *ret_n, char ret_max[HLC_TEXT_LEN + 1])
{
	char tombstone[HLC_TEXT_LEN + 1];
	struct merge_mem mm;
	fs_err err;

	*ret_n = 0;
	ret_max[0] = '\0';
	merge_mem_init(&mm, false);
	if ((err = record_state_load(push, record_id, tombstone, &mm)) == FS_OK)
		err = store_state_field_heads(merge_mem_record(&mm, record_id), field, heads, max,
		    ret_n, ret_max);
	merge_mem_finish(&mm);
	return err;
}

fs_err
sqlite_push_delete_resolution(struct store_push *push, const char *record_id, bool keep,
    cJSON **ret_base, char ret_max[HLC_TEXT_LEN + 1])
{
	char tombstone[HLC_TEXT_LEN + 1];
	struct merge_mem mm;
	fs_err err;

	*ret_base = NULL;
	ret_max[0] = '\0';
	merge_mem_init(&mm, false);
	if ((err = record_state_load(push, record_id, tombstone, &mm)) == FS_OK)
		err = store_state_delete_resolution(merge_mem_record(&mm, record_id), keep, ret_base,
		    ret_max);
	merge_mem_finish(&mm);
	return err;
}

void
store_heads_finish(struct store_head *heads, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(heads[i].value);
		heads[i].value = NULL;
	}
}

/* Reads server_meta key into buf. */
static fs_err
meta_get(sqlite3 *db, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	if ((err = prepare(db, "SELECT value FROM server_meta WHERE key = ?", &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(buf, len, "%s", store_sqlite_text(st, 0));
	else
		err = rc == SQLITE_DONE ? FS_ERR_CORRUPT
		                        : store_sqlite_err(db, rc, "reading server clock");
	sqlite3_finalize(st);
	return err;
}

fs_err
sqlite_push_server_stamp(struct store_push *push, const char *after,
    char ret_stamp[HLC_TEXT_LEN + 1])
{
	char last[32], device[HLC_DEVICE_LEN + 1];
	struct hlc clock = {.last = 0};
	uint64_t stamp;
	sqlite3_stmt *st;
	char *end;
	fs_err err;

	if ((err = meta_get(push->db, "hlc_device", clock.device, sizeof(clock.device))) != FS_OK ||
	    (err = meta_get(push->db, "hlc_last", last, sizeof(last))) != FS_OK)
		return err;
	if (!hlc_valid_device(clock.device))
		return FS_ERR_CORRUPT;
	clock.last = strtoull(last, &end, 16);
	if (*end != '\0')
		return FS_ERR_CORRUPT;
	if (after != NULL && after[0] != '\0') {
		if ((err = hlc_parse(after, &stamp, device)) != FS_OK)
			return FS_ERR_CORRUPT;
		/* After this, the next tick is numerically greater than after. */
		if ((err = hlc_observe(&clock, stamp, device)) != FS_OK)
			return err;
	}
	if ((err = hlc_tick(&clock, hlc_wall_ms(), &stamp)) != FS_OK)
		return err;
	snprintf(last, sizeof(last), "%016llx", (unsigned long long)stamp);
	if ((err = prepare(push->db, "UPDATE server_meta SET value = ? WHERE key = 'hlc_last'",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, last, -1, SQLITE_STATIC);
	if ((err = step_done(push->db, st, "saving server clock")) != FS_OK)
		return err;
	hlc_format(stamp, clock.device, ret_stamp);
	return FS_OK;
}

fs_err
sqlite_push_referral_save(struct store_push *push, const struct store_referral *r)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = prepare(push->db,
		 "INSERT INTO referrals(id, record_id, agency, status, case_number, owner, due,"
		 " created_by, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
		 " ON CONFLICT(id) DO UPDATE SET status = excluded.status,"
		 " case_number = excluded.case_number, owner = excluded.owner, due = excluded.due,"
		 " updated_at = excluded.updated_at",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->record_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->case_number, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->due, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, push->now, -1, SQLITE_STATIC);
	return step_done(push->db, st, "referral");
}
