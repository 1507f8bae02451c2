/*
 * store_pg_read.c -- the PostgreSQL backend's reads of the log: pull
 * pages, snapshots, and the walks `fieldsyncd verify` makes over the
 * chains.  Each is one read-only REPEATABLE READ transaction, so a page
 * or a walk sees one state of the store while every daemon goes on
 * writing; walks stream rows one at a time (libpq's single-row mode), so
 * a store of any size is walked in constant memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody.h"
#include "log.h"
#include "store_pg_internal.h"

#define READ_BEGIN "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

/* Rows fetched at a time by pg_each_row(): memory stays bounded, the connection free between. */
#define EACH_FETCH 500
#define FS_EACH_FETCH_TEXT "500"

fs_err
pg_each_row(PGconn *c, const char *what, const char *sql, int n, const char *const *params,
    int (*fn)(void *arg, const PGresult *r, int row), void *arg)
{
	bool own_tx, done = false;
	PGresult *r = NULL;
	char *decl;
	size_t len;
	fs_err err;

	if (c == NULL)
		return FS_ERR_DB;
	if ((err = pg_drain(c)) != FS_OK)
		return err;
	/*
	 * A cursor, not libpq's single-row mode: a callback may read the store
	 * itself (a case file names each change's device) between two fetches.
	 */
	own_tx = PQtransactionStatus(c) == PQTRANS_IDLE;
	if (own_tx && (err = pg_exec(c, READ_BEGIN)) != FS_OK)
		return err;
	len = strlen(sql) + 64;
	if ((decl = malloc(len)) == NULL) {
		err = FS_ERR_NOMEM;
		goto out;
	}
	snprintf(decl, len, "DECLARE fs_each NO SCROLL CURSOR FOR %s", sql);
	err = pg_run(c, what, NULL, decl, n, params);
	free(decl);
	while (err == FS_OK && !done) {
		if ((err = pg_run(c, what, &r, "FETCH " FS_EACH_FETCH_TEXT " FROM fs_each", 0, NULL)) !=
		    FS_OK)
			break;
		done = PQntuples(r) < EACH_FETCH;
		for (int i = 0; i < PQntuples(r) && err == FS_OK; i++)
			if (fn(arg, r, i) != 0)
				err = FS_ERR_CANCELLED;
		PQclear(r);
		r = NULL;
	}
	if (err == FS_OK || err == FS_ERR_CANCELLED)
		pg_run(c, what, NULL, "CLOSE fs_each", 0, NULL);
out:
	if (own_tx)
		pg_exec(c, err == FS_OK || err == FS_ERR_CANCELLED ? "COMMIT" : "ROLLBACK");
	return err;
}

/* The stamp at seq when visible to team (NULL: all teams). */
static fs_err
stamp_at(PGconn *c, const char *team, int64_t seq, char ret_hlc[HLC_TEXT_LEN + 1])
{
	pg_i64buf b;
	const char *p[] = { pg_i64(b, seq), team };
	PGresult *r;
	fs_err err;

	ret_hlc[0] = '\0';
	if (seq <= 0)
		return FS_OK;
	if ((err = pg_run_prepared(c, "stamp_at", "reading a change", &r,
		 "SELECT hlc FROM changes WHERE seq = $1 AND ($2::text IS NULL OR team = $2)", 2,
		 p)) != FS_OK)
		return err;
	if (PQntuples(r) == 1)
		snprintf(ret_hlc, HLC_TEXT_LEN + 1, "%s", pg_text(r, 0, 0));
	PQclear(r);
	return FS_OK;
}

fs_err
pg_change_hlc(struct store *store, const char *team, int64_t seq, char ret_hlc[HLC_TEXT_LEN + 1])
{
	return stamp_at(store_pg_conn(store), team, seq, ret_hlc);
}

fs_err
pg_pull(struct store *store, const struct store_pull_query *q, store_change_cb cb, void *arg,
    struct store_pull_page *ret_page)
{
	PGconn *c = store_pg_conn(store);
	struct store_pull_page page = { .next = q->after };
	pg_i64buf a, l;
	PGresult *r = NULL;
	int scanned = 0;
	fs_err err;

	if ((err = pg_exec(c, READ_BEGIN)) != FS_OK)
		return err;
	if ((err = stamp_at(c, q->team, q->after, page.after_hlc)) != FS_OK)
		goto out;
	const char *p[] = { pg_i64(a, q->after),
		pg_i64(l, (q->scan_limit > q->limit ? q->scan_limit : q->limit) + 1), q->team };
	if ((err = pg_run_prepared(c, "pull", "reading changes", &r,
		 "SELECT seq, device, hlc, body FROM changes WHERE seq > $1"
		 " AND ($3::text IS NULL OR team = $3) ORDER BY seq LIMIT $2",
		 3, p)) != FS_OK)
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *device = pg_text(r, i, 1);
		bool own = q->skip_device != NULL && strcmp(device, q->skip_device) == 0;

		if (page.delivered == q->limit || scanned == q->scan_limit) {
			page.more = true;
			break;
		}
		scanned++;
		page.next = pg_int(r, i, 0);
		snprintf(page.next_hlc, sizeof(page.next_hlc), "%s", pg_text(r, i, 2));
		if (own)
			continue;
		page.delivered++;
		if (cb(arg, page.next, pg_text(r, i, 3)) != 0) {
			err = FS_ERR_NOMEM;
			break;
		}
	}
out:
	PQclear(r);
	pg_exec(c, "COMMIT");
	if (err == FS_OK)
		*ret_page = page;
	return err;
}

fs_err
pg_snapshot(struct store *store, const struct store_snapshot_query *q, store_snapshot_cb cb,
    void *arg, struct store_snapshot_page *ret_page)
{
	PGconn *c = store_pg_conn(store);
	struct store_snapshot_page page = { .next = q->after };
	const char *pt[] = { q->team };
	pg_i64buf a, l;
	PGresult *r = NULL;
	fs_err err;

	if ((err = pg_exec(c, READ_BEGIN)) != FS_OK)
		return err;
	if ((err = pg_run(c, "reading the log", &r,
		 "SELECT coalesce(max(seq), 0) FROM changes WHERE $1::text IS NULL OR team = $1", 1,
		 pt)) != FS_OK)
		goto out;
	page.as_of = pg_int(r, 0, 0);
	PQclear(r);
	r = NULL;
	if ((err = stamp_at(c, q->team, page.as_of, page.as_of_hlc)) != FS_OK)
		goto out;
	const char *p[] = { pg_i64(a, q->after), pg_i64(l, q->limit + 1), q->team, q->skip_device };
	if ((err = pg_run_prepared(c, "snapshot", "reading records", &r,
		 "SELECT rowid_, id, form, form_version, tombstone, state FROM records"
		 " WHERE rowid_ > $1 AND ($3::text IS NULL OR team = $3) AND state IS NOT NULL"
		 " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM"
		 " json_array_elements_text(records.state::json -> 's') s WHERE substr(s, 18) <> $4))"
		 " ORDER BY rowid_ LIMIT $2",
		 4, p)) != FS_OK)
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_snapshot_row row = {
			.id = pg_text(r, i, 1),
			.form = pg_text(r, i, 2),
			.form_version = pg_int(r, i, 3),
			.tombstone = pg_text_or_null(r, i, 4),
			.state = pg_text(r, i, 5),
		};

		if (page.delivered == q->limit) {
			page.more = true;
			break;
		}
		page.next = pg_int(r, i, 0);
		page.delivered++;
		if (cb(arg, &row) != 0) {
			err = FS_ERR_NOMEM;
			break;
		}
	}
out:
	PQclear(r);
	pg_exec(c, "COMMIT");
	if (err == FS_OK)
		*ret_page = page;
	return err;
}

/* --- Walks for `fieldsyncd verify` ---------------------------------- */

struct chain_ctx {
	store_chain_cb cb;
	void *arg;
};

static int
chain_row(void *arg, const PGresult *r, int i)
{
	struct chain_ctx *x = arg;
	struct store_chain_row row = {
		.device = pg_text(r, i, 0),
		.name = pg_text(r, i, 1),
		.keys = pg_text(r, i, 2),
		.head = pg_text(r, i, 8),
		.seq = pg_int(r, i, 3),
		.hlc = pg_text(r, i, 4),
		.body = pg_text_or_null(r, i, 5),
		.link = pg_text_or_null(r, i, 6),
		.prev = pg_text_or_null(r, i, 7),
	};

	return x->cb(x->arg, &row);
}

fs_err
pg_chain_walk(struct store *store, store_chain_cb cb, void *arg)
{
	struct chain_ctx x = { cb, arg };
	PGconn *c = store_pg_conn(store);
	fs_err err;

	if ((err = pg_exec(c, READ_BEGIN)) != FS_OK)
		return err;
	err = pg_each_row(c, "walking the chains",
	    "WITH k(device, keys) AS (SELECT device, string_agg(key, ',' ORDER BY at, key)"
	    " FROM device_keys GROUP BY device),"
	    " hq(id, head) AS (SELECT (SELECT value FROM server_meta WHERE key = 'hlc_device'),"
	    " (SELECT value FROM server_meta WHERE key = 'chain_head'))"
	    " SELECT d.hlc_device, d.name, coalesce(k.keys, ''), c.seq, c.hlc, c.body,"
	    " NULL, NULL, d.chain_head FROM changes c JOIN devices d ON d.hlc_device = c.device"
	    " LEFT JOIN k ON k.device = d.hlc_device"
	    " UNION ALL SELECT d.hlc_device, d.name, coalesce(k.keys, ''), 0, r.hlc,"
	    " NULL, r.link, r.prev, d.chain_head FROM chain_refused r JOIN devices d"
	    " ON d.hlc_device = r.device LEFT JOIN k ON k.device = d.hlc_device"
	    " UNION ALL SELECT c.device, 'headquarters', coalesce(k.keys, ''), c.seq, c.hlc,"
	    " c.body, NULL, NULL, hq.head FROM changes c JOIN hq ON c.device = hq.id"
	    " LEFT JOIN k ON k.device = c.device"
	    " ORDER BY 1, 5, 4",
	    0, NULL, chain_row, &x);
	pg_exec(c, "COMMIT");
	return err;
}

struct history_ctx {
	const char *scope; /* NULL: column 0 */
	int nitems;
	store_history_cb cb;
	void *arg;
};

/* Columns: scope, kind, id, ref, ref_found, prev, hash, items from 7 on. */
static int
history_row(void *arg, const PGresult *r, int i)
{
	struct history_ctx *x = arg;
	struct store_history_row row = { 0 };
	unsigned char prev[CUSTODY_LINK_LEN], hash[CUSTODY_LINK_LEN];
	int nitems = x->nitems;

	row.scope = x->scope != NULL ? x->scope : pg_text(r, i, 0);
	row.kind = pg_text(r, i, 1);
	row.id = pg_int(r, i, 2);
	row.ref = pg_int(r, i, 3);
	row.ref_found = strcmp(pg_text(r, i, 4), "t") == 0;
	if (pg_unhex(pg_text(r, i, 5), prev, sizeof(prev)))
		row.prev = prev;
	if (pg_unhex(pg_text(r, i, 6), hash, sizeof(hash)))
		row.hash = hash;
	if (strcmp(row.kind, "change") == 0 && nitems > 4)
		nitems = 4; /* record_id, seq, received_at, body */
	row.nitems = nitems;
	for (int k = 0; k < nitems; k++) {
		row.items[k] = pg_text_or_null(r, i, 7 + k);
		row.lens[k] = row.items[k] != NULL ? (size_t)PQgetlength(r, i, 7 + k) : 0;
	}
	return x->cb(x->arg, &row);
}

#define HISTORY_ROWS(where)                                                                        \
	"SELECT h.record_id, 'change', h.id, h.ref, c.seq IS NOT NULL, h.prev, h.hash,"            \
	" c.record_id, c.seq::text, c.received_at, c.body, NULL, NULL, NULL, NULL, NULL"            \
	" FROM history h LEFT JOIN changes c ON c.seq = h.ref WHERE h.kind = 'change'" where        \
	" UNION ALL SELECT h.record_id, 'event', h.id, h.ref, e.id IS NOT NULL, h.prev,"            \
	" h.hash, e.record_id, e.id::text, e.kind, e.status, e.note, e.field, e.stamp, e.actor,"   \
	" e.at FROM history h LEFT JOIN review_events e ON e.id = h.ref"                           \
	" WHERE h.kind = 'event'" where

fs_err
pg_history_walk(struct store *store, store_history_cb cb, void *arg)
{
	PGconn *c = store_pg_conn(store);
	struct history_ctx audit = { "audit", 5, cb, arg }, rec = { NULL, 9, cb, arg },
			   orphan = { NULL, 0, cb, arg };
	fs_err err;

	if ((err = pg_exec(c, READ_BEGIN)) != FS_OK)
		return err;
	if ((err = pg_each_row(c, "walking the history",
		 "SELECT 'audit', 'audit', id, id, true, prev, hash, at, actor, action, record_id,"
		 " detail FROM audit ORDER BY id",
		 0, NULL, history_row, &audit)) != FS_OK ||
	    (err = pg_each_row(c, "walking the history", HISTORY_ROWS("") " ORDER BY 1, 3", 0,
		 NULL, history_row, &rec)) != FS_OK)
		goto out;
	/* Entries of history with no row in it: written behind the server's back. */
	err = pg_each_row(c, "walking the history",
	    "SELECT c.record_id, 'change', 0, c.seq, true, NULL, NULL FROM changes c"
	    " WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.kind = 'change' AND h.ref = c.seq)"
	    " UNION ALL SELECT e.record_id, 'event', 0, e.id, true, NULL, NULL FROM review_events e"
	    " WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.kind = 'event' AND h.ref = e.id)"
	    " ORDER BY 1, 4",
	    0, NULL, history_row, &orphan);
out:
	pg_exec(c, "COMMIT");
	return err;
}

fs_err
pg_record_history(struct store *store, const char *record_id, store_history_cb cb, void *arg)
{
	struct history_ctx rec = { NULL, 9, cb, arg };
	const char *p[] = { record_id };

	return pg_each_row(store_pg_conn(store), "reading a history",
	    HISTORY_ROWS(" AND h.record_id = $1") " ORDER BY 3", 1, p, history_row, &rec);
}
