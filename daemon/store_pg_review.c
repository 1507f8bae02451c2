/*
 * store_pg_review.c -- the PostgreSQL backend of store_review.h: the
 * record list and its filters, one record's values, conflicts and
 * history, review status, the audit list, and the export cursor.
 *
 * A record's values and conflicts are read from its packed state by the
 * merge code itself (merge_mem.h), not by SQL over the JSON as the SQLite
 * store's views do: one decoder, so both stores show the same values.
 * The filters that need a value in SQL (boolean flags) use fs_field(),
 * the schema's function (store_pg.c).
 *
 * The export cursor has a connection of its own and one REPEATABLE READ
 * transaction (one consistent state of the store, however long the
 * download), and fetches rows from a server-side cursor 200 at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hlc.h"
#include "log.h"
#include "merge_row.h"
#include "store_pg_internal.h"

/* Columns of struct review_record, selected from records r, in order; then the state. */
#define REVIEW_COLUMNS                                                                             \
	"r.id, r.form, r.form_version, r.team, r.created_by, r.created_at, r.updated_at,"          \
	" r.review_status, r.open_conflicts, r.deleted,"                                            \
	/* merge rule 2's record-level conflict: alive, a delete not kept */                    \
	" (r.deleted = 0 AND r.open_conflicts > 0 AND EXISTS (SELECT 1 FROM"                       \
	" json_array_elements_text(coalesce(r.state::json -> 'd', '[]')) dd WHERE dd NOT IN (SELECT x"  \
	" FROM json_array_elements_text(coalesce(r.state::json -> 'dk', '[]')) x))), r.assigned_to"

static void
record_from(const PGresult *r, int i, struct review_record *rec)
{
	rec->id = pg_text(r, i, 0);
	rec->form = pg_text(r, i, 1);
	rec->form_version = pg_int(r, i, 2);
	rec->team = pg_text(r, i, 3);
	rec->created_by = pg_text(r, i, 4);
	rec->created_at = pg_text(r, i, 5);
	rec->updated_at = pg_text(r, i, 6);
	rec->review_status = pg_text(r, i, 7);
	rec->open_conflicts = (int)pg_int(r, i, 8);
	rec->deleted = pg_int(r, i, 9) != 0;
	rec->delete_conflict = strcmp(pg_text(r, i, 10), "t") == 0;
	rec->assigned_to = PQgetisnull(r, i, 11) ? NULL : pg_text(r, i, 11);
}

/* A filter as SQL text and its parameters ($1 ... $n). */
struct where {
	char sql[4096];
	size_t pos;
	const char *p[16 + REVIEW_MAX_FLAGS];
	int n;
	int overflow;
};

static void
put(struct where *w, const char *text)
{
	size_t len = strlen(text);

	if (w->pos + len + 1 > sizeof(w->sql)) {
		w->overflow = 1;
		return;
	}
	memcpy(w->sql + w->pos, text, len + 1);
	w->pos += len;
}

/* Appends before, then value's parameter ($n) and after when value is set. */
static void
add(struct where *w, const char *before, const char *value, const char *after)
{
	char num[16];

	put(w, before);
	if (value == NULL)
		return;
	w->p[w->n++] = value;
	snprintf(num, sizeof(num), "$%d", w->n);
	put(w, num);
	put(w, after);
}

static int
where_build(const struct review_filter *f, struct where *w)
{
	const char *col = f->by_created ? " AND r.created_at" : " AND r.updated_at";

	memset(w, 0, sizeof(*w));
	put(w, " WHERE true");
	if (f->deleted == 0)
		put(w, " AND r.deleted = 0");
	else if (f->deleted < 0)
		put(w, " AND (r.deleted = 0 OR r.open_conflicts > 0)");
	if (f->form != NULL)
		add(w, " AND r.form = ", f->form, "");
	if (f->team != NULL)
		add(w, " AND r.team = ", f->team, "");
	if (f->scope != NULL && f->agency == NULL)
		add(w, " AND r.team IN (SELECT json_array_elements_text(", f->scope, "::json))");
	else if (f->scope != NULL) {
		add(w, " AND (r.team IN (SELECT json_array_elements_text(", f->scope, "::json))");
		add(w, " OR r.id IN (SELECT record_id FROM referrals WHERE agency = ", f->agency,
		    " AND status <> 'declined')");
		add(w, " OR r.id IN (SELECT id FROM referrals WHERE agency = ", f->agency, "))");
	}
	if (f->referred != NULL)
		add(w, " AND r.id IN (SELECT record_id FROM referrals WHERE agency = ", f->referred, ")");
	if (f->status != NULL)
		add(w, " AND r.review_status = ", f->status, "");
	if (f->assigned != NULL && f->assigned[0] == '\0')
		put(w, " AND r.assigned_to IS NULL");
	else if (f->assigned != NULL)
		add(w, " AND r.assigned_to = ", f->assigned, "");
	if (f->device != NULL) {
		add(w, " AND (r.created_by = ", f->device, "");
		add(w, " OR EXISTS (SELECT 1 FROM changes c JOIN devices d ON d.hlc_device = c.device"
		       " WHERE c.record_id = r.id AND d.name = ", f->device, "))");
	}
	if (f->from != NULL) {
		put(w, col);
		add(w, " >= ", f->from, "");
	}
	if (f->to != NULL) {
		put(w, col);
		add(w, " <= ", f->to, "");
	}
	if (f->conflicts == 0)
		put(w, " AND r.open_conflicts = 0");
	else if (f->conflicts > 0)
		put(w, " AND r.open_conflicts > 0");
	for (size_t i = 0; i < f->nflags && i < REVIEW_MAX_FLAGS; i++)
		add(w, " AND fs_field(r.state::json, ", f->flags[i], ") = 'true'");
	if (f->search != NULL && f->search_fields != NULL) {
		add(w, " AND EXISTS (SELECT 1 FROM json_array_elements_text(", f->search_fields,
		    "::json) qn");
		add(w, " WHERE strpos(lower(fs_field(r.state::json, qn)), lower(", f->search, "::text)) > 0)");
	}
	return w->overflow ? -1 : 0;
}

/* The ORDER BY clause (f->sort), its parameter added to w. */
static void
order_build(const struct review_filter *f, struct where *w, char *buf, size_t len)
{
	char num[16];

	switch (f->sort) {
	case REVIEW_SORT_RISK:
		snprintf(buf, len, " ORDER BY CASE fs_field(r.state::json, 'risk_level')"
				   " WHEN '\"high\"' THEN 0 WHEN '\"medium\"' THEN 1"
				   " WHEN '\"low\"' THEN 2 ELSE 3 END, r.updated_at DESC, r.id");
		return;
	case REVIEW_SORT_DATE:
		if (f->date_fields == NULL)
			break;
		w->p[w->n++] = f->date_fields;
		snprintf(num, sizeof(num), "$%d", w->n);
		snprintf(buf, len,
		    " ORDER BY coalesce((SELECT fs_field(r.state::json, dn)::json #>> '{}'"
		    " FROM json_array_elements_text(%s::json) dn"
		    " WHERE fs_field(r.state::json, dn) IS NOT NULL LIMIT 1), r.created_at) DESC, r.id",
		    num);
		return;
	}
	snprintf(buf, len, " ORDER BY r.updated_at DESC, r.id");
}

fs_err
pg_review_list(struct store *store, const struct review_filter *f, int64_t limit, int64_t offset,
    review_record_cb cb, void *arg, int64_t *ret_total)
{
	PGconn *c = store_pg_conn(store);
	char sql[4608 + 512], order[512];
	struct where w;
	pg_i64buf lb, ob;
	PGresult *r;
	fs_err err;

	if (where_build(f, &w) != 0)
		return FS_ERR_INVALID;
	if (ret_total != NULL) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM records r%s", w.sql);
		if ((err = pg_run(c, "record count", &r, sql, w.n, w.p)) != FS_OK)
			return err;
		*ret_total = pg_int(r, 0, 0);
		PQclear(r);
	}
	order_build(f, &w, order, sizeof(order));
	w.p[w.n] = pg_i64(lb, limit);
	w.p[w.n + 1] = pg_i64(ob, offset);
	snprintf(sql, sizeof(sql),
	    "SELECT " REVIEW_COLUMNS " FROM records r%s%s LIMIT $%d OFFSET $%d", w.sql, order,
	    w.n + 1, w.n + 2);
	if ((err = pg_run(c, "record list", &r, sql, w.n + 2, w.p)) != FS_OK)
		return err;
	for (int i = 0; i < PQntuples(r) && err == FS_OK; i++) {
		struct review_record rec;

		record_from(r, i, &rec);
		if (cb(arg, &rec) != 0)
			err = FS_ERR_NOMEM;
	}
	PQclear(r);
	return err;
}

fs_err
pg_review_get(struct store *store, const char *id, review_record_cb cb, void *arg)
{
	const char *p[] = { id };
	PGresult *r;
	fs_err err;

	if ((err = pg_run(store_pg_conn(store), "record get", &r,
		 "SELECT " REVIEW_COLUMNS " FROM records r WHERE r.id = $1", 1, p)) != FS_OK)
		return err;
	if (PQntuples(r) == 1) {
		struct review_record rec;

		record_from(r, 0, &rec);
		err = cb(arg, &rec) != 0 ? FS_ERR_NOMEM : FS_OK;
	} else {
		err = FS_ERR_NOTFOUND;
	}
	PQclear(r);
	return err;
}

/* Loads record id's packed state into mm; *ret_r NULL when none. */
static fs_err
state_load(PGconn *c, const char *id, const char *sql, struct merge_mem *mm,
    const struct mm_record **ret_r, char updated_at[32])
{
	const char *p[] = { id };
	PGresult *r;
	fs_err err;

	*ret_r = NULL;
	if ((err = pg_run(c, "reading a record", &r, sql, 1, p)) != FS_OK)
		return err;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		if ((err = merge_row_load(mm, id, PQgetvalue(r, 0, 0),
			 (size_t)PQgetlength(r, 0, 0))) == FS_OK)
			*ret_r = merge_mem_record(mm, id);
		if (updated_at != NULL)
			snprintf(updated_at, 32, "%s", pg_text(r, 0, 1));
	}
	PQclear(r);
	return err;
}

static int
field_order(const void *a, const void *b)
{
	return strcmp((*(const struct mm_field *const *)a)->name,
	    (*(const struct mm_field *const *)b)->name);
}

/* r's fields sorted by name (the SQLite store's order); *ret freed by the caller. */
static fs_err
fields_sorted(const struct mm_record *r, const struct mm_field ***ret)
{
	const struct mm_field **v = calloc(r->nf + 1, sizeof(*v));

	if (v == NULL)
		return FS_ERR_NOMEM;
	for (size_t i = 0; i < r->nf; i++)
		v[i] = &r->f[i];
	if (r->nf > 1)
		qsort(v, r->nf, sizeof(*v), field_order);
	*ret = v;
	return FS_OK;
}

/* The values of r to cb: current writes, with their authors' names when names is set. */
static fs_err
values_each(const struct mm_record *r, const struct pg_names *names, review_value_cb cb,
    void *arg)
{
	const struct mm_field **v;
	fs_err err;

	if (r == NULL)
		return FS_OK;
	if ((err = fields_sorted(r, &v)) != FS_OK)
		return err;
	for (size_t i = 0; i < r->nf && err == FS_OK; i++) {
		const struct mm_write *cur = merge_mem_current(v[i]);
		const char *dev;
		struct review_value x;

		if (cur == NULL)
			continue;
		dev = cur->stamp + HLC_TEXT_LEN - HLC_DEVICE_LEN;
		x = (struct review_value){ .field = v[i]->name, .value = cur->value,
			.stamp = cur->stamp, .device_id = names != NULL ? dev : "",
			.device_name = names != NULL ? pg_names_find(names, dev) : "",
			.created_at = "" };
		if (cb(arg, &x) != 0)
			err = FS_ERR_NOMEM;
	}
	free(v);
	return err;
}

fs_err
pg_review_fields(struct store *store, const char *id, review_value_cb cb, void *arg)
{
	PGconn *c = store_pg_conn(store);
	const struct mm_record *r;
	struct pg_names names;
	struct merge_mem mm;
	fs_err err;

	merge_mem_init(&mm, false);
	if ((err = pg_names_load(c, &names)) == FS_OK &&
	    (err = state_load(c, id, "SELECT state FROM records WHERE id = $1", &mm, &r, NULL)) ==
		FS_OK)
		err = values_each(r, &names, cb, arg);
	pg_names_free(&names);
	merge_mem_finish(&mm);
	return err;
}

struct conflict_ctx {
	const char *field, *created_at;
	const struct pg_names *names;
	review_value_cb cb;
	void *arg;
	struct review_value *out;
	size_t n, cap;
	fs_err err;
};

static void
conflict_one(void *arg, const struct mm_write *w)
{
	struct conflict_ctx *x = arg;
	const char *dev = w->stamp + HLC_TEXT_LEN - HLC_DEVICE_LEN;

	if (x->err != FS_OK)
		return;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 8;
		struct review_value *o = realloc(x->out, cap * sizeof(*o));

		if (o == NULL) {
			x->err = FS_ERR_NOMEM;
			return;
		}
		x->out = o;
		x->cap = cap;
	}
	x->out[x->n++] = (struct review_value){ .field = x->field, .value = w->value,
		.stamp = w->stamp, .device_id = dev, .device_name = pg_names_find(x->names, dev),
		.created_at = x->created_at };
}

static int
stamp_order(const void *a, const void *b)
{
	return strcmp(((const struct review_value *)a)->stamp,
	    ((const struct review_value *)b)->stamp);
}

fs_err
pg_review_conflicts(struct store *store, const char *id, review_value_cb cb, void *arg)
{
	PGconn *c = store_pg_conn(store);
	const struct mm_record *r;
	const struct mm_field **v = NULL;
	struct pg_names names;
	struct merge_mem mm;
	char updated_at[32] = "";
	fs_err err;

	merge_mem_init(&mm, false);
	if ((err = pg_names_load(c, &names)) != FS_OK ||
	    (err = state_load(c, id,
		 "SELECT state, updated_at FROM records WHERE id = $1 AND open_conflicts > 0", &mm,
		 &r, updated_at)) != FS_OK ||
	    r == NULL || (err = fields_sorted(r, &v)) != FS_OK)
		goto out;
	for (size_t i = 0; i < r->nf && err == FS_OK; i++) {
		struct conflict_ctx x = { .field = v[i]->name, .created_at = updated_at,
			.names = &names };

		merge_mem_conflicts(v[i], conflict_one, &x);
		if (x.n > 1)
			qsort(x.out, x.n, sizeof(*x.out), stamp_order);
		for (size_t k = 0; k < x.n && x.err == FS_OK; k++)
			if (cb(arg, &x.out[k]) != 0)
				x.err = FS_ERR_NOMEM;
		err = x.err;
		free(x.out);
	}
out:
	free(v);
	pg_names_free(&names);
	merge_mem_finish(&mm);
	return err;
}

struct side_ctx {
	const struct mm_record *r;
	const struct pg_names *names;
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
		.device_id = stamp + HLC_TEXT_LEN - HLC_DEVICE_LEN, .created_at = "" };

	if (x->err != FS_OK)
		return;
	for (size_t i = 0; !is_delete && i < x->r->nf; i++)
		if (strcmp(x->r->f[i].name, field) == 0)
			for (size_t k = 0; k < x->r->f[i].nw; k++)
				if (strcmp(x->r->f[i].w[k].stamp, stamp) == 0)
					v.value = x->r->f[i].w[k].value;
	v.device_name = pg_names_find(x->names, v.device_id);
	if (x->cb(x->arg, &v) != 0)
		x->err = FS_ERR_NOMEM;
}

fs_err
pg_review_delete_conflict(struct store *store, const char *id, review_value_cb cb, void *arg)
{
	PGconn *c = store_pg_conn(store);
	struct side_ctx x = { .cb = cb, .arg = arg };
	struct pg_names names;
	struct merge_mem mm;
	fs_err err;

	merge_mem_init(&mm, false);
	if ((err = pg_names_load(c, &names)) == FS_OK &&
	    (err = state_load(c, id,
		 "SELECT state FROM records WHERE id = $1 AND open_conflicts > 0 AND deleted = 0"
		 " AND state::json -> 'd' IS NOT NULL",
		 &mm, &x.r, NULL)) == FS_OK &&
	    x.r != NULL) {
		x.names = &names;
		merge_row_delete_conflict_each(x.r, side, &x);
		err = x.err;
	}
	pg_names_free(&names);
	merge_mem_finish(&mm);
	return err;
}

fs_err
pg_review_history(struct store *store, const char *id, review_change_cb cb, void *arg)
{
	PGconn *c = store_pg_conn(store);
	const char *p[] = { id };
	struct pg_names names;
	PGresult *r;
	fs_err err;

	if ((err = pg_names_load(c, &names)) != FS_OK)
		return err;
	if ((err = pg_run(c, "record history", &r,
		 "SELECT seq, hlc, device, received_at, body FROM changes WHERE record_id = $1"
		 " ORDER BY seq",
		 1, p)) == FS_OK) {
		for (int i = 0; i < PQntuples(r) && err == FS_OK; i++) {
			struct review_change ch = {
				.seq = pg_int(r, i, 0),
				.hlc = pg_text(r, i, 1),
				.device_id = pg_text(r, i, 2),
				.device_name = pg_names_find(&names, pg_text(r, i, 2)),
				.received_at = pg_text(r, i, 3),
				.body = pg_text(r, i, 4),
			};
			if (cb(arg, &ch) != 0)
				err = FS_ERR_NOMEM;
		}
		PQclear(r);
	}
	pg_names_free(&names);
	return err;
}

fs_err
pg_review_events(struct store *store, const char *id, review_event_cb cb, void *arg)
{
	const char *p[] = { id };
	PGresult *r;
	fs_err err;

	if ((err = pg_run(store_pg_conn(store), "review events", &r,
		 "SELECT id, kind, status, note, field, stamp, actor, at FROM review_events"
		 " WHERE record_id = $1 ORDER BY id",
		 1, p)) != FS_OK)
		return err;
	for (int i = 0; i < PQntuples(r) && err == FS_OK; i++) {
		struct review_event e = {
			.id = pg_int(r, i, 0),
			.kind = pg_text(r, i, 1),
			.status = pg_text(r, i, 2),
			.note = pg_text(r, i, 3),
			.field = pg_text(r, i, 4),
			.stamp = pg_text(r, i, 5),
			.actor = pg_text(r, i, 6),
			.at = pg_text(r, i, 7),
		};
		if (cb(arg, &e) != 0)
			err = FS_ERR_NOMEM;
	}
	PQclear(r);
	return err;
}

fs_err
pg_review_set_status(struct store *store, const char *id, const char *status, const char *note,
    const char *actor)
{
	PGconn *c = store_pg_conn(store);
	const char *p[] = { id, status };
	char detail[64], now[32];
	PGresult *r;
	fs_err err;

	if (!review_status_valid(status))
		return FS_ERR_INVALID;
	if ((err = pg_write_begin(c)) != FS_OK)
		return err;
	pg_now_text(now);
	if ((err = pg_run(c, "review status", &r,
		 "UPDATE records SET review_status = $2 WHERE id = $1", 2, p)) != FS_OK)
		return pg_write_end(c, err);
	if (strtoll(PQcmdTuples(r), NULL, 10) == 0)
		err = FS_ERR_NOTFOUND;
	PQclear(r);
	if (err == FS_OK)
		err = pg_event_insert(c, now, id, "status", status, note, NULL, NULL, actor);
	/* The note is the reviewer's own text: it stays out of the audit trail. */
	snprintf(detail, sizeof(detail), "status=%s%s", status, note && *note ? " note=yes" : "");
	if (err == FS_OK)
		err = pg_audit_append(c, now, actor, "review.status", id, detail);
	return pg_write_end(c, err);
}

fs_err
pg_review_assign(struct store *store, const char *id, const char *to, const char *note,
    const char *actor)
{
	PGconn *c = store_pg_conn(store);
	const char *p[] = { id, to };
	char detail[128], now[32];
	PGresult *r;
	fs_err err;

	if ((err = pg_write_begin(c)) != FS_OK)
		return err;
	pg_now_text(now);
	if ((err = pg_run(c, "review assign", &r,
		 "UPDATE records SET assigned_to = $2 WHERE id = $1", 2, p)) != FS_OK)
		return pg_write_end(c, err);
	if (strtoll(PQcmdTuples(r), NULL, 10) == 0)
		err = FS_ERR_NOTFOUND;
	PQclear(r);
	if (err == FS_OK)
		err = pg_event_insert(c, now, id, "assign", to, note, NULL, NULL, actor);
	snprintf(detail, sizeof(detail), "to=%s%s", to != NULL ? to : "-",
	    note && *note ? " note=yes" : "");
	if (err == FS_OK)
		err = pg_audit_append(c, now, actor, "review.assign", id, detail);
	return pg_write_end(c, err);
}

struct audit_ctx {
	review_audit_cb cb;
	void *arg;
};

static int
audit_row(void *arg, const PGresult *r, int i)
{
	struct audit_ctx *x = arg;
	struct review_audit a = {
		.id = pg_int(r, i, 0),
		.at = pg_text(r, i, 1),
		.actor = pg_text(r, i, 2),
		.action = pg_text(r, i, 3),
		.record_id = pg_text(r, i, 4),
		.detail = pg_text(r, i, 5),
	};

	return x->cb(x->arg, &a);
}

fs_err
pg_audit_list(struct store *store, const char *since, review_audit_cb cb, void *arg)
{
	struct audit_ctx x = { cb, arg };
	const char *p[] = { since };
	fs_err err;

	err = pg_each_row(store_pg_conn(store), "audit list",
	    "SELECT id, at, actor, action, record_id, detail FROM audit"
	    " WHERE $1::text IS NULL OR at >= $1 ORDER BY id",
	    1, p, audit_row, &x);
	return err == FS_ERR_CANCELLED ? FS_ERR_NOMEM : err;
}

/* --- Export cursor --------------------------------------------------- */

#define EXPORT_FETCH 200

struct store_export {
	struct store_base base; /* first: store.c dispatches through it */
	PGconn *c;
	PGresult *rows; /* the batch being read */
	int next;       /* its next row */
	bool done;
	struct merge_mem mm;
	int state_col;
};

extern const struct store_ops *const store_pg_ops_table;

fs_err
pg_export_open(struct store *store, const struct review_filter *f, struct store_export **ret_x)
{
	struct store_export *x;
	char sql[4608];
	struct where w;
	fs_err err;

	if (f->form == NULL || where_build(f, &w) != 0)
		return FS_ERR_INVALID;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return FS_ERR_NOMEM;
	x->base.ops = store_pg_ops_table;
	merge_mem_init(&x->mm, false);
	x->state_col = 12;
	x->c = PQconnectdb(store_pg_conninfo(store));
	if (x->c == NULL || PQstatus(x->c) != CONNECTION_OK) {
		log_warnx("Export: cannot connect to the PostgreSQL store: %s",
		    x->c != NULL ? PQerrorMessage(x->c) : "out of memory");
		err = FS_ERR_DB;
		goto fail;
	}
	snprintf(sql, sizeof(sql),
	    "DECLARE export NO SCROLL CURSOR FOR SELECT " REVIEW_COLUMNS ", r.state"
	    " FROM records r%s ORDER BY r.updated_at, r.id",
	    w.sql);
	if ((err = pg_exec(x->c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) != FS_OK ||
	    (err = pg_run(x->c, "export query", NULL, sql, w.n, w.p)) != FS_OK)
		goto fail;
	*ret_x = x;
	return FS_OK;
fail:
	pg_export_close(x);
	return err;
}

fs_err
pg_export_next(struct store_export *x, struct review_record *ret_r, bool *ret_done)
{
	fs_err err;

	if (x->rows == NULL || x->next >= PQntuples(x->rows)) {
		PQclear(x->rows);
		x->rows = NULL;
		x->next = 0;
		if (x->done) {
			*ret_done = true;
			return FS_OK;
		}
		if ((err = pg_run(x->c, "export rows", &x->rows,
			 "FETCH 200 FROM export", 0, NULL)) != FS_OK)
			return err;
		if (PQntuples(x->rows) < EXPORT_FETCH)
			x->done = true;
		if (PQntuples(x->rows) == 0) {
			*ret_done = true;
			return FS_OK;
		}
	}
	record_from(x->rows, x->next, ret_r);
	x->next++;
	*ret_done = false;
	return FS_OK;
}

fs_err
pg_export_fields(struct store_export *x, const char *id, review_value_cb cb, void *arg)
{
	int i = x->next - 1;
	fs_err err;

	/* The row export_next() returned last, if it is this record. */
	if (x->rows == NULL || i < 0 || strcmp(pg_text(x->rows, i, 0), id) != 0)
		return FS_ERR_INVALID;
	if (PQgetisnull(x->rows, i, x->state_col))
		return FS_OK;
	merge_mem_finish(&x->mm);
	merge_mem_init(&x->mm, false);
	if ((err = merge_row_load(&x->mm, id, PQgetvalue(x->rows, i, x->state_col),
		 (size_t)PQgetlength(x->rows, i, x->state_col))) != FS_OK)
		return err;
	err = values_each(merge_mem_record(&x->mm, id), NULL, cb, arg);
	merge_mem_finish(&x->mm);
	merge_mem_init(&x->mm, false);
	return err;
}

void
pg_export_close(struct store_export *x)
{
	if (x == NULL)
		return;
	PQclear(x->rows);
	merge_mem_finish(&x->mm);
	PQfinish(x->c); /* ends the read transaction with it */
	free(x);
}
