/*
 * store_review.c -- SQLite backend of the review reads and writes of
 * store_review.h (the export cursor is in store_export.c).
 *
 * Everything here runs on the calling thread's connection
 * (store_sqlite_internal.h).  The one write that is not part of a push,
 * a status change, is its own BEGIN IMMEDIATE transaction together with
 * its review event and audit entry, so the three never disagree.
 */
#include "store_review.h"

#include <stdio.h>
#include <string.h>

#include "merge_row.h"
#include "store.h"
#include "store_review_sqlite.h"
#include "store_sqlite_internal.h"

bool
review_status_valid(const char *status)
{
	return status != NULL &&
	       (strcmp(status, "new") == 0 || strcmp(status, "reviewed") == 0 ||
	           strcmp(status, "follow_up") == 0 || strcmp(status, "referred") == 0);
}

/* Appends text to buf; -1 when it does not fit. */
static int
append(char *buf, size_t len, size_t *pos, const char *text)
{
	size_t n = strlen(text);

	if (*pos + n + 1 > len)
		return -1;
	memcpy(buf + *pos, text, n + 1);
	*pos += n;
	return 0;
}

int
store_review_where(const struct review_filter *f, char *buf, size_t len)
{
	const char *col = f->by_created ? "r.created_at" : "r.updated_at";
	char part[256];
	size_t pos = 0;
	int rc = 0;

	rc |= append(buf, len, &pos, " WHERE 1");
	if (f->deleted == 0)
		rc |= append(buf, len, &pos, " AND r.deleted = 0");
	else if (f->deleted < 0)
		rc |= append(buf, len, &pos, " AND (r.deleted = 0 OR r.open_conflicts > 0)");
	if (f->form != NULL)
		rc |= append(buf, len, &pos, " AND r.form = :form");
	if (f->team != NULL)
		rc |= append(buf, len, &pos, " AND r.team = :team");
	if (f->scope != NULL && f->agency == NULL)
		rc |= append(buf, len, &pos, " AND r.team IN (SELECT value FROM json_each(:scope))");
	else if (f->scope != NULL)
		rc |= append(buf, len, &pos,
		    " AND (r.team IN (SELECT value FROM json_each(:scope))"
		    " OR r.id IN (SELECT record_id FROM referrals WHERE agency = :agency"
		    " AND status <> 'declined') OR r.id IN (SELECT id FROM referrals"
		    " WHERE agency = :agency))");
	if (f->referred != NULL)
		rc |= append(buf, len, &pos,
		    " AND r.id IN (SELECT record_id FROM referrals WHERE agency = :referred)");
	if (f->status != NULL)
		rc |= append(buf, len, &pos, " AND r.review_status = :status");
	if (f->assigned != NULL)
		rc |= append(buf, len, &pos,
		    f->assigned[0] ? " AND r.assigned_to = :assigned" : " AND r.assigned_to IS NULL");
	if (f->device != NULL)
		rc |= append(buf, len, &pos,
		    " AND (r.created_by = :device OR EXISTS (SELECT 1 FROM changes c"
		    " JOIN devices d ON d.hlc_device = c.device"
		    " WHERE c.record_id = r.id AND d.name = :device))");
	if (f->from != NULL) {
		snprintf(part, sizeof(part), " AND %s >= :from", col);
		rc |= append(buf, len, &pos, part);
	}
	if (f->to != NULL) {
		snprintf(part, sizeof(part), " AND %s <= :to", col);
		rc |= append(buf, len, &pos, part);
	}
	if (f->conflicts == 0)
		rc |= append(buf, len, &pos, " AND r.open_conflicts = 0");
	else if (f->conflicts > 0)
		rc |= append(buf, len, &pos, " AND r.open_conflicts > 0");
	for (size_t i = 0; i < f->nflags && i < REVIEW_MAX_FLAGS; i++) {
		snprintf(part, sizeof(part),
		    " AND EXISTS (SELECT 1 FROM fields fl WHERE fl.record_id = r.id"
		    " AND fl.name = :flag%zu AND fl.value = 'true')",
		    i);
		rc |= append(buf, len, &pos, part);
	}
	if (f->search != NULL && f->search_fields != NULL)
		rc |= append(buf, len, &pos,
		    " AND EXISTS (SELECT 1 FROM fields fl WHERE fl.record_id = r.id"
		    " AND fl.name IN (SELECT value FROM json_each(:qfields))"
		    " AND instr(lower(fl.value), lower(:q)) > 0)");
	return rc == 0 ? 0 : -1;
}

const char *
store_review_order(const struct review_filter *f)
{
	switch (f->sort) {
	case REVIEW_SORT_RISK:
		return " ORDER BY CASE (SELECT fl.value FROM fields fl WHERE fl.record_id = r.id"
		       " AND fl.name = 'risk_level') WHEN '\"high\"' THEN 0 WHEN '\"medium\"' THEN 1"
		       " WHEN '\"low\"' THEN 2 ELSE 3 END, r.updated_at DESC, r.id";
	case REVIEW_SORT_DATE:
		if (f->date_fields != NULL)
			return " ORDER BY coalesce((SELECT fl.value ->> '$' FROM fields fl"
			       " WHERE fl.record_id = r.id AND fl.value IS NOT NULL"
			       " AND fl.name IN (SELECT value FROM json_each(:dfields)) LIMIT 1),"
			       " r.created_at) DESC, r.id";
		break;
	}
	return " ORDER BY r.updated_at DESC, r.id";
}

static void
bind_named(sqlite3_stmt *st, const char *name, const char *value)
{
	int i = sqlite3_bind_parameter_index(st, name);

	/* Copied: an export cursor steps after the caller's strings are gone. */
	if (i > 0 && value != NULL)
		sqlite3_bind_text(st, i, value, -1, SQLITE_TRANSIENT);
}

void
store_review_bind(sqlite3_stmt *st, const struct review_filter *f)
{
	char name[16];

	bind_named(st, ":form", f->form);
	bind_named(st, ":team", f->team);
	bind_named(st, ":scope", f->scope);
	bind_named(st, ":agency", f->agency);
	bind_named(st, ":referred", f->referred);
	bind_named(st, ":status", f->status);
	bind_named(st, ":assigned", f->assigned);
	bind_named(st, ":device", f->device);
	bind_named(st, ":from", f->from);
	bind_named(st, ":to", f->to);
	for (size_t i = 0; i < f->nflags && i < REVIEW_MAX_FLAGS; i++) {
		snprintf(name, sizeof(name), ":flag%zu", i);
		bind_named(st, name, f->flags[i]);
	}
	bind_named(st, ":q", f->search);
	bind_named(st, ":qfields", f->search_fields);
	bind_named(st, ":dfields", f->date_fields);
}

void
store_review_row(sqlite3_stmt *st, struct review_record *r)
{
	r->id = store_sqlite_text(st, 0);
	r->form = store_sqlite_text(st, 1);
	r->form_version = sqlite3_column_int64(st, 2);
	r->team = store_sqlite_text(st, 3);
	r->created_by = store_sqlite_text(st, 4);
	r->created_at = store_sqlite_text(st, 5);
	r->updated_at = store_sqlite_text(st, 6);
	r->review_status = store_sqlite_text(st, 7);
	r->open_conflicts = sqlite3_column_int(st, 8);
	r->deleted = sqlite3_column_int(st, 9) != 0;
	r->delete_conflict = sqlite3_column_int(st, 10) != 0;
	r->assigned_to = sqlite3_column_type(st, 11) == SQLITE_NULL ? NULL : store_sqlite_text(st, 11);
}

/* The caller's callback, whichever kind of row it takes. */
struct row_cb {
	union {
		review_record_cb record;
		review_value_cb value;
		review_change_cb change;
		review_event_cb event;
		review_audit_cb audit;
	} u;
	void *arg;
};

typedef int (*row_fn)(sqlite3_stmt *st, const struct row_cb *cb);

/* Steps st to the end; finalizes it.  A non-zero callback gives NOMEM. */
static fs_err
each_row(sqlite3_stmt *st, row_fn fn, const struct row_cb *cb, const char *what)
{
	fs_err err = FS_OK;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn(st, cb) != 0) {
			err = FS_ERR_NOMEM;
			break;
		}
	}
	if (err == FS_OK && rc != SQLITE_DONE)
		err = store_sqlite_err(sqlite3_db_handle(st), rc, what);
	sqlite3_finalize(st);
	return err;
}

static int
record_row(sqlite3_stmt *st, const struct row_cb *cb)
{
	struct review_record r;

	store_review_row(st, &r);
	return cb->u.record(cb->arg, &r);
}

fs_err
sqlite_review_list(struct store *store, const struct review_filter *f, int64_t limit, int64_t offset,
    review_record_cb cb, void *arg, int64_t *ret_total)
{
	char where[4096], sql[5120];
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	if (store_review_where(f, where, sizeof(where)) != 0)
		return FS_ERR_INVALID;
	if (ret_total != NULL) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM records r%s", where);
		if ((err = store_sqlite_prepare(store, sql, &st)) != FS_OK)
			return err;
		store_review_bind(st, f);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*ret_total = sqlite3_column_int64(st, 0);
		err = rc == SQLITE_ROW
		          ? FS_OK
		          : store_sqlite_err(sqlite3_db_handle(st), rc, "record count");
		sqlite3_finalize(st);
		if (err != FS_OK)
			return err;
	}
	snprintf(sql, sizeof(sql),
	    "SELECT " STORE_REVIEW_COLUMNS " FROM records r%s%s LIMIT :limit OFFSET :offset", where,
	    store_review_order(f));
	if ((err = store_sqlite_prepare(store, sql, &st)) != FS_OK)
		return err;
	store_review_bind(st, f);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":limit"), limit);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":offset"), offset);
	return each_row(
	    st, record_row, &(struct row_cb){.u.record = cb, .arg = arg}, "record list");
}

fs_err
sqlite_review_get(struct store *store, const char *id, review_record_cb cb, void *arg)
{
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	err = store_sqlite_prepare(
	    store, "SELECT " STORE_REVIEW_COLUMNS " FROM records r WHERE r.id = ?1", &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct review_record r;
		store_review_row(st, &r);
		err = cb(arg, &r) != 0 ? FS_ERR_NOMEM : FS_OK;
	} else if (rc == SQLITE_DONE)
		err = FS_ERR_NOTFOUND;
	else
		err = store_sqlite_err(sqlite3_db_handle(st), rc, "record get");
	sqlite3_finalize(st);
	return err;
}

static int
value_row(sqlite3_stmt *st, const struct row_cb *cb)
{
	struct review_value v = {
	    .field = store_sqlite_text(st, 0),
	    .value = (const char *)sqlite3_column_text(st, 1),
	    .stamp = store_sqlite_text(st, 2),
	    .device_id = store_sqlite_text(st, 3),
	    .device_name = store_sqlite_text(st, 4),
	    .created_at = store_sqlite_text(st, 5),
	};

	return cb->u.value(cb->arg, &v);
}

fs_err
sqlite_review_fields(struct store *store, const char *id, review_value_cb cb, void *arg)
{
	sqlite3_stmt *st;
	fs_err err;

	/* clang-format off */
	err = store_sqlite_prepare(store,
	    "SELECT f.name, f.value, f.stamp, substr(f.stamp, 18), "
	    STORE_REVIEW_DEVICE_NAME("d", "substr(f.stamp, 18)")
	    ", '' FROM fields f"
	    " LEFT JOIN devices d ON d.hlc_device = substr(f.stamp, 18)"
	    " WHERE f.record_id = ?1 ORDER BY f.name",
	    &st);
	/* clang-format on */
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return each_row(
	    st, value_row, &(struct row_cb){.u.value = cb, .arg = arg}, "record fields");
}

fs_err
sqlite_review_conflicts(struct store *store, const char *id, review_value_cb cb, void *arg)
{
	sqlite3_stmt *st;
	fs_err err;

	/* clang-format off */
	err = store_sqlite_prepare(store,
	    "SELECT c.name, c.value, c.stamp, c.device, " STORE_REVIEW_DEVICE_NAME("d", "c.device")
	    ", c.created_at FROM conflicts c"
	    " LEFT JOIN devices d ON d.hlc_device = c.device"
	    " WHERE c.record_id = ?1 ORDER BY c.name, c.stamp",
	    &st);
	/* clang-format on */
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return each_row(
	    st, value_row, &(struct row_cb){.u.value = cb, .arg = arg}, "record conflicts");
}

struct side_ctx {
	struct store *store;
	const struct mm_record *r;
	review_value_cb cb;
	void *arg;
	fs_err err;
};

/* One side of the record-level conflict, with its author's name. */
static void
side(void *arg, bool is_delete, const char *field, const char *stamp)
{
	struct side_ctx *x = arg;
	struct review_value v = { .field = is_delete ? "@delete" : field, .stamp = stamp,
		.device_id = stamp + HLC_TEXT_LEN - HLC_DEVICE_LEN, .device_name = "",
		.created_at = "" };
	sqlite3_stmt *st;

	if (x->err != FS_OK)
		return;
	for (size_t i = 0; !is_delete && i < x->r->nf; i++)
		if (strcmp(x->r->f[i].name, field) == 0)
			for (size_t k = 0; k < x->r->f[i].nw; k++)
				if (strcmp(x->r->f[i].w[k].stamp, stamp) == 0)
					v.value = x->r->f[i].w[k].value;
	/* clang-format off */
	if ((x->err = store_sqlite_prepare(x->store,
	         "SELECT " STORE_REVIEW_DEVICE_NAME("d", "?1") " FROM (SELECT 1)"
	         " LEFT JOIN devices d ON d.hlc_device = ?1", &st)) != FS_OK)
		return;
	/* clang-format on */
	sqlite3_bind_text(st, 1, v.device_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v.device_name = store_sqlite_text(st, 0);
	if (x->cb(x->arg, &v) != 0)
		x->err = FS_ERR_NOMEM;
	sqlite3_finalize(st);
}

fs_err
sqlite_review_delete_conflict(struct store *store, const char *id, review_value_cb cb, void *arg)
{
	struct side_ctx x = { .store = store, .cb = cb, .arg = arg };
	struct merge_mem mm;
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	if ((err = store_sqlite_prepare(store,
		 "SELECT state FROM records WHERE id = ?1 AND open_conflicts > 0 AND NOT deleted"
		 " AND state ->> '$.d' IS NOT NULL",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	merge_mem_init(&mm, false);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    (err = merge_row_load(&mm, id, (const char *)sqlite3_column_text(st, 0),
		 (size_t)sqlite3_column_bytes(st, 0))) == FS_OK) {
		x.r = merge_mem_record(&mm, id);
		sqlite3_reset(st);
		merge_row_delete_conflict_each(x.r, side, &x);
		err = x.err;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		err = store_sqlite_err(sqlite3_db_handle(st), rc, "reading a record");
	}
	sqlite3_finalize(st);
	merge_mem_finish(&mm);
	return err;
}

static int
change_row(sqlite3_stmt *st, const struct row_cb *cb)
{
	struct review_change c = {
	    .seq = sqlite3_column_int64(st, 0),
	    .hlc = store_sqlite_text(st, 1),
	    .device_id = store_sqlite_text(st, 2),
	    .device_name = store_sqlite_text(st, 3),
	    .received_at = store_sqlite_text(st, 4),
	    .body = store_sqlite_text(st, 5),
	};

	return cb->u.change(cb->arg, &c);
}

fs_err
sqlite_review_history(struct store *store, const char *id, review_change_cb cb, void *arg)
{
	sqlite3_stmt *st;
	fs_err err;

	/* clang-format off */
	err = store_sqlite_prepare(store,
	    "SELECT c.seq, c.hlc, c.device, " STORE_REVIEW_DEVICE_NAME("d", "c.device")
	    ", c.received_at, c.body FROM changes c"
	    " LEFT JOIN devices d ON d.hlc_device = c.device"
	    " WHERE c.record_id = ?1 ORDER BY c.seq",
	    &st);
	/* clang-format on */
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return each_row(
	    st, change_row, &(struct row_cb){.u.change = cb, .arg = arg}, "record history");
}

static int
event_row(sqlite3_stmt *st, const struct row_cb *cb)
{
	struct review_event e = {
	    .id = sqlite3_column_int64(st, 0),
	    .kind = store_sqlite_text(st, 1),
	    .status = store_sqlite_text(st, 2),
	    .note = store_sqlite_text(st, 3),
	    .field = store_sqlite_text(st, 4),
	    .stamp = store_sqlite_text(st, 5),
	    .actor = store_sqlite_text(st, 6),
	    .at = store_sqlite_text(st, 7),
	};

	return cb->u.event(cb->arg, &e);
}

fs_err
sqlite_review_events(struct store *store, const char *id, review_event_cb cb, void *arg)
{
	sqlite3_stmt *st;
	fs_err err;

	err = store_sqlite_prepare(store,
	    "SELECT id, kind, status, note, field, stamp, actor, at FROM review_events"
	    " WHERE record_id = ?1 ORDER BY id",
	    &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return each_row(
	    st, event_row, &(struct row_cb){.u.event = cb, .arg = arg}, "review events");
}

static fs_err
event_insert(struct store *store, const char *id, const char *kind, const char *status,
    const char *note, const char *field, const char *stamp, const char *actor)
{
	sqlite3_stmt *st;
	fs_err err;

	err = store_sqlite_prepare(store,
	    "INSERT INTO review_events(record_id, kind, status, note, field, stamp, actor, at)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, " STORE_SQLITE_NOW ")",
	    &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, field, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, stamp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, actor, -1, SQLITE_STATIC);
	if ((err = store_sqlite_step_done(st, "review event")) != FS_OK)
		return err;
	return sqlite_history_event(store_sqlite_db(store),
	    sqlite3_last_insert_rowid(store_sqlite_db(store)));
}

fs_err
sqlite_review_set_status(
    struct store *store, const char *id, const char *status, const char *note, const char *actor)
{
	sqlite3 *db = store_sqlite_db(store);
	char detail[64];
	sqlite3_stmt *st;
	fs_err err;

	if (!review_status_valid(status))
		return FS_ERR_INVALID;
	if (db == NULL)
		return FS_ERR_DB;
	if ((err = store_sqlite_exec(db, "BEGIN IMMEDIATE")) != FS_OK)
		return err;
	err =
	    store_sqlite_prepare(store, "UPDATE records SET review_status = ?2 WHERE id = ?1", &st);
	if (err != FS_OK)
		goto rollback;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	if ((err = store_sqlite_step_done(st, "review status")) != FS_OK)
		goto rollback;
	if (sqlite3_changes(db) == 0) {
		err = FS_ERR_NOTFOUND;
		goto rollback;
	}
	if ((err = event_insert(store, id, "status", status, note, NULL, NULL, actor)) != FS_OK)
		goto rollback;
	/* The note is the reviewer's own text: it stays out of the audit trail. */
	snprintf(detail, sizeof(detail), "status=%s%s", status, note && *note ? " note=yes" : "");
	if ((err = store_audit(store, actor, "review.status", id, detail)) != FS_OK)
		goto rollback;
	if ((err = store_sqlite_exec(db, "COMMIT")) != FS_OK)
		goto rollback;
	return FS_OK;
rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

fs_err
sqlite_review_assign(
    struct store *store, const char *id, const char *to, const char *note, const char *actor)
{
	sqlite3 *db = store_sqlite_db(store);
	char detail[128];
	sqlite3_stmt *st;
	fs_err err;

	if (db == NULL)
		return FS_ERR_DB;
	if ((err = store_sqlite_exec(db, "BEGIN IMMEDIATE")) != FS_OK)
		return err;
	err = store_sqlite_prepare(store, "UPDATE records SET assigned_to = ?2 WHERE id = ?1", &st);
	if (err != FS_OK)
		goto rollback;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (to != NULL)
		sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	if ((err = store_sqlite_step_done(st, "review assign")) != FS_OK)
		goto rollback;
	if (sqlite3_changes(db) == 0) {
		err = FS_ERR_NOTFOUND;
		goto rollback;
	}
	if ((err = event_insert(store, id, "assign", to, note, NULL, NULL, actor)) != FS_OK)
		goto rollback;
	snprintf(detail, sizeof(detail), "to=%s%s", to != NULL ? to : "-",
	    note && *note ? " note=yes" : "");
	if ((err = store_audit(store, actor, "review.assign", id, detail)) != FS_OK)
		goto rollback;
	if ((err = store_sqlite_exec(db, "COMMIT")) != FS_OK)
		goto rollback;
	return FS_OK;
rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

static int
audit_row(sqlite3_stmt *st, const struct row_cb *cb)
{
	struct review_audit a = {
	    .id = sqlite3_column_int64(st, 0),
	    .at = store_sqlite_text(st, 1),
	    .actor = store_sqlite_text(st, 2),
	    .action = store_sqlite_text(st, 3),
	    .record_id = store_sqlite_text(st, 4),
	    .detail = store_sqlite_text(st, 5),
	};

	return cb->u.audit(cb->arg, &a);
}

fs_err
sqlite_audit_list(struct store *store, const char *since, review_audit_cb cb, void *arg)
{
	sqlite3_stmt *st;
	fs_err err;

	err = store_sqlite_prepare(store,
	    "SELECT id, at, actor, action, record_id, detail FROM audit"
	    " WHERE ?1 IS NULL OR at >= ?1 ORDER BY id",
	    &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC);
	return each_row(st, audit_row, &(struct row_cb){.u.audit = cb, .arg = arg}, "audit list");
}
