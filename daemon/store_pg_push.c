/*
 * store_pg_push.c -- the PostgreSQL backend's write transaction
 * (store_records.h): a push or a resolution is one transaction on the
 * calling thread's connection, under the writer lock of every daemon
 * (store_pg_internal.h), with the statements run per change prepared
 * once per connection.  The merge is common/merge_row.c's, as in SQLite:
 * the backend loads and writes the packed row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody.h"
#include "hlc.h"
#include "log.h"
#include "merge_row.h"
#include "store_pg_internal.h"
#include "store_state.h"

/*
 * Write-behind within the transaction.  A push holds the writer lock of
 * every daemon from BEGIN to COMMIT, so nobody else writes the log, the
 * records or the history meanwhile: the push reads each record it touches
 * once (its head, state, last history hash, and whether the change is
 * stored already -- one round trip), merges in memory, numbers its
 * changes itself (max(seq) + 1, ...), and writes its changes, history
 * entries and records as multi-row INSERTs when it commits (or before a
 * review event, whose history entry must follow theirs).  A batch of 500
 * changes is then ~500 reads and a few writes instead of ~3,500 round
 * trips (docs/BENCHMARKS.md, "PostgreSQL store").
 */

/* A record the push has read or written. */
struct rec {
	char *id;
	bool exists;      /* a row in the store, or one this push writes */
	bool dirty;       /* to be written at flush */
	char team[65], form[65], created_by[65];
	int64_t form_version, last_seq;
	char tombstone[HLC_TEXT_LEN + 1];
	char *state;      /* packed state (owned), NULL if none */
	bool has_hist;
	unsigned char hist[CUSTODY_LINK_LEN]; /* last history hash, zeros when none */
	int deleted, open;
	/* Stamps asked about: is a change of that stamp stored (its body) or not. */
	struct known {
		char hlc[HLC_TEXT_LEN + 1];
		char *body; /* NULL: none stored */
	} *known;
	size_t nknown, capknown;
};

/* A change (or its history entry) to write at flush. */
struct pending_change {
	int64_t seq;
	char *record_id, *team, *device, *batch, *hlc, *body;
	char prev[2 * CUSTODY_LINK_LEN + 1], hash[2 * CUSTODY_LINK_LEN + 1];
};

struct store_push {
	struct store_base base; /* first: store.c dispatches through it */
	struct store *store;
	PGconn *c;
	char now[32]; /* the transaction's time: every row it writes carries it */
	int64_t next_seq; /* the last sequence number handed out */
	struct rec **recs; /* open addressing, cap a power of two */
	size_t nrecs, caprecs;
	struct pending_change *pend;
	size_t npend, cappend;
};

extern const struct store_ops *const store_pg_ops_table;

static uint64_t
hash_text(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static void
rec_free(struct rec *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->state);
	for (size_t i = 0; i < r->nknown; i++)
		free(r->known[i].body);
	free(r->known);
	free(r);
}

static void
pending_free(struct store_push *push)
{
	for (size_t i = 0; i < push->npend; i++) {
		struct pending_change *p = &push->pend[i];

		free(p->record_id);
		free(p->team);
		free(p->device);
		free(p->batch);
		free(p->hlc);
		free(p->body);
	}
	push->npend = 0;
}

static void
recs_clear(struct store_push *push)
{
	for (size_t i = 0; i < push->caprecs; i++) {
		rec_free(push->recs[i]);
		push->recs[i] = NULL;
	}
	push->nrecs = 0;
}

static void
push_free(struct store_push *push)
{
	recs_clear(push);
	free(push->recs);
	pending_free(push);
	free(push->pend);
	free(push);
}

/* The slot of id in the table (empty or holding id). */
static struct rec **
rec_slot(struct store_push *push, const char *id)
{
	size_t i = (size_t)hash_text(id) & (push->caprecs - 1);

	while (push->recs[i] != NULL && strcmp(push->recs[i]->id, id) != 0)
		i = (i + 1) & (push->caprecs - 1);
	return &push->recs[i];
}

static fs_err
rec_grow(struct store_push *push)
{
	size_t cap = push->caprecs ? 2 * push->caprecs : 64;
	struct rec **old = push->recs, **nw = calloc(cap, sizeof(*nw));
	size_t oldcap = push->caprecs;

	if (nw == NULL)
		return FS_ERR_NOMEM;
	push->recs = nw;
	push->caprecs = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i] != NULL)
			*rec_slot(push, old[i]->id) = old[i];
	free(old);
	return FS_OK;
}

/* What r knows of stamp hlc, or NULL when it was never asked. */
static struct known *
known_find(const struct rec *r, const char *hlc)
{
	for (size_t i = 0; i < r->nknown; i++)
		if (strcmp(r->known[i].hlc, hlc) == 0)
			return &r->known[i];
	return NULL;
}

static fs_err
known_add(struct rec *r, const char *hlc, const char *body)
{
	struct known *k;

	if (known_find(r, hlc) != NULL)
		return FS_OK;
	if (r->nknown == r->capknown) {
		size_t cap = r->capknown ? 2 * r->capknown : 2;

		if ((k = realloc(r->known, cap * sizeof(*k))) == NULL)
			return FS_ERR_NOMEM;
		r->known = k;
		r->capknown = cap;
	}
	k = &r->known[r->nknown];
	snprintf(k->hlc, sizeof(k->hlc), "%s", hlc);
	k->body = NULL;
	if (body != NULL && (k->body = strdup(body)) == NULL)
		return FS_ERR_NOMEM;
	r->nknown++;
	return FS_OK;
}

/* The columns every read of a record selects, for q(id, hlc). */
#define REC_COLUMNS                                                                                \
	"q.id, r.id IS NOT NULL, r.team, r.form, r.form_version, r.tombstone, r.state,"           \
	" (SELECT hash FROM history WHERE record_id = q.id ORDER BY id DESC LIMIT 1),"             \
	" (SELECT body FROM changes WHERE record_id = q.id AND hlc = q.hlc),"                     \
	" r.created_by, r.last_seq, r.deleted, r.open_conflicts, q.hlc"

/* The cache entry of id, made empty (not read yet) when missing. */
static fs_err
rec_slot_get(struct store_push *push, const char *id, struct rec **ret)
{
	struct rec **slot, *r;
	fs_err err;

	if (push->caprecs == 0 || 2 * (push->nrecs + 1) > push->caprecs) {
		if ((err = rec_grow(push)) != FS_OK)
			return err;
	}
	slot = rec_slot(push, id);
	if ((r = *slot) == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL || (r->id = strdup(id)) == NULL) {
			free(r);
			return FS_ERR_NOMEM;
		}
		*slot = r;
		push->nrecs++;
	}
	*ret = r;
	return FS_OK;
}

/* Fills the cache from row i of REC_COLUMNS. */
static fs_err
rec_fill(struct store_push *push, const PGresult *res, int i)
{
	struct rec *r;
	fs_err err;

	if ((err = rec_slot_get(push, pg_text(res, i, 0), &r)) != FS_OK)
		return err;
	if (!r->has_hist) { /* the first read; later ones only learn of another stamp */
		r->exists = strcmp(pg_text(res, i, 1), "t") == 0;
		snprintf(r->team, sizeof(r->team), "%s", pg_text(res, i, 2));
		snprintf(r->form, sizeof(r->form), "%s", pg_text(res, i, 3));
		r->form_version = pg_int(res, i, 4);
		snprintf(r->tombstone, sizeof(r->tombstone), "%s", pg_text(res, i, 5));
		if (!PQgetisnull(res, i, 6) && (r->state = strdup(pg_text(res, i, 6))) == NULL)
			return FS_ERR_NOMEM;
		if (!PQgetisnull(res, i, 7) &&
		    !pg_unhex(pg_text(res, i, 7), r->hist, sizeof(r->hist)))
			return FS_ERR_CORRUPT;
		snprintf(r->created_by, sizeof(r->created_by), "%s", pg_text(res, i, 9));
		r->last_seq = pg_int(res, i, 10);
		r->deleted = (int)pg_int(res, i, 11);
		r->open = (int)pg_int(res, i, 12);
		r->has_hist = true;
	}
	if (!PQgetisnull(res, i, 13))
		return known_add(r, pg_text(res, i, 13), pg_text_or_null(res, i, 8));
	return FS_OK;
}

/*
 * The record id as this push sees it, read from the store on first use
 * (with hlc: whether a change of that stamp is stored, and its body).
 */
static fs_err
rec_get(struct store_push *push, const char *id, const char *hlc, struct rec **ret)
{
	struct rec *r;
	PGresult *res;
	fs_err err;

	if ((err = rec_slot_get(push, id, &r)) != FS_OK)
		return err;
	if (r->has_hist && (hlc == NULL || known_find(r, hlc) != NULL)) {
		*ret = r;
		return FS_OK;
	}
	const char *p[] = { id, hlc };
	if ((err = pg_run_prepared(push->c, "rec_get", "reading record", &res,
		 "SELECT " REC_COLUMNS " FROM (SELECT $1::text AS id, $2::text AS hlc) q"
		 " LEFT JOIN records r ON r.id = q.id",
		 2, p)) != FS_OK)
		return err;
	err = rec_fill(push, res, 0);
	PQclear(res);
	if (err != FS_OK)
		return err;
	*ret = r;
	return FS_OK;
}

fs_err
pg_push_prefetch(struct store_push *push, const char *const *ids, const char *const *hlcs,
    size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	PGresult *res = NULL;
	char *text = NULL;
	size_t asked = 0;
	fs_err err = arr != NULL ? FS_OK : FS_ERR_NOMEM;

	for (size_t i = 0; err == FS_OK && i < n; i++) {
		struct rec **slot;
		cJSON *o;

		if (ids[i] == NULL || hlcs[i] == NULL)
			continue;
		if (push->caprecs > 0 && *(slot = rec_slot(push, ids[i])) != NULL &&
		    (*slot)->has_hist && known_find(*slot, hlcs[i]) != NULL)
			continue;
		if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(arr, o) ||
		    cJSON_AddStringToObject(o, "id", ids[i]) == NULL ||
		    cJSON_AddStringToObject(o, "hlc", hlcs[i]) == NULL)
			err = FS_ERR_NOMEM;
		asked++;
	}
	if (err == FS_OK && asked > 0 && (text = cJSON_PrintUnformatted(arr)) == NULL)
		err = FS_ERR_NOMEM;
	cJSON_Delete(arr);
	if (err != FS_OK || asked == 0) {
		free(text);
		return err;
	}
	const char *p[] = { text };
	err = pg_run(push->c, "reading records", &res,
	    "SELECT " REC_COLUMNS " FROM json_to_recordset($1::json) AS q(id text, hlc text)"
	    " LEFT JOIN records r ON r.id = q.id",
	    1, p);
	free(text);
	for (int i = 0; err == FS_OK && i < PQntuples(res); i++)
		err = rec_fill(push, res, i);
	PQclear(res);
	return err;
}

/* The record's state loaded into mm (nothing when it has none). */
static fs_err
rec_load(const struct rec *r, struct merge_mem *mm)
{
	fs_err err;

	if (r->state == NULL)
		return FS_OK;
	if ((err = merge_row_load(mm, r->id, r->state, strlen(r->state))) != FS_OK)
		log_warnx("Record %s: stored state is damaged", r->id);
	return err;
}

/* --- Flush: the pending rows as multi-row INSERTs ------------------- */

/*
 * A push sends what it holds back every FLUSH_AT changes without waiting
 * (pg_send()): PostgreSQL writes one chunk while the daemon verifies and
 * merges the next.  32 measured best on the 10k-record push (24 to 48
 * alike, 128 8 % slower: the last chunk is waited for at COMMIT).  Each chunk is one statement: its changes and their
 * history entries (in order: the history's ids follow the chain) as
 * data-modifying CTEs, and the records it touched as an upsert.
 */
#define FLUSH_AT 32


/* A growing SQL text and its parameters. */
struct stmt {
	char *sql;
	size_t len, cap;
	const char **p;
	int np, capp;
	char (*nums)[24]; /* numbers as text, one slot per parameter */
	bool *isnum;      /* p[i] is nums[i] (set again once nums stops moving) */
	fs_err err;
};

static void
st_add(struct stmt *st, const char *text)
{
	size_t n = strlen(text);

	if (st->err != FS_OK)
		return;
	if (st->len + n + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 4096;
		char *sql;

		while (st->len + n + 1 > cap)
			cap *= 2;
		if ((sql = realloc(st->sql, cap)) == NULL) {
			st->err = FS_ERR_NOMEM;
			return;
		}
		st->sql = sql;
		st->cap = cap;
	}
	memcpy(st->sql + st->len, text, n + 1);
	st->len += n;
}

/* Appends parameter value as $n. */
static void
st_param(struct stmt *st, const char *value)
{
	char ref[16];

	if (st->err != FS_OK)
		return;
	if (st->np == st->capp) {
		int cap = st->capp ? 2 * st->capp : 256;
		const char **p = realloc(st->p, (size_t)cap * sizeof(*p));
		char(*nums)[24] = realloc(st->nums, (size_t)cap * sizeof(*nums));
		bool *isnum = realloc(st->isnum, (size_t)cap * sizeof(*isnum));

		if (p != NULL)
			st->p = p;
		if (nums != NULL)
			st->nums = nums;
		if (isnum != NULL)
			st->isnum = isnum;
		if (p == NULL || nums == NULL || isnum == NULL) {
			st->err = FS_ERR_NOMEM;
			return;
		}
		st->capp = cap;
	}
	st->isnum[st->np] = false;
	st->p[st->np++] = value;
	snprintf(ref, sizeof(ref), "$%d", st->np);
	st_add(st, ref);
}

/* Appends an int64 parameter (its text kept in st). */
static void
st_int(struct stmt *st, int64_t v)
{
	if (st->err != FS_OK)
		return;
	/* st_param() may grow nums: format after the slot exists. */
	st_param(st, NULL);
	if (st->err == FS_OK) {
		snprintf(st->nums[st->np - 1], sizeof(st->nums[0]), "%lld", (long long)v);
		st->isnum[st->np - 1] = true;
	}
}

static void
st_free(struct stmt *st)
{
	free(st->sql);
	free(st->p);
	free(st->nums);
	free(st->isnum);
}

/* Points the number parameters at their text, now that nums no longer moves. */
static void
st_fix(struct stmt *st)
{
	for (int i = 0; i < st->np; i++)
		if (st->isnum[i])
			st->p[i] = st->nums[i];
}

/*
 * Builds and sends the statement for everything pending and every dirty
 * record; waits for it when wait.  The pending changes are freed and the
 * records marked clean once it is sent.
 */
static fs_err
flush_send(struct store_push *push, bool wait)
{
	struct stmt st = { 0 };
	bool any_rec = false;
	int ctes = 0;
	fs_err err;

	if (push->npend > 0) {
		st_add(&st, "WITH c AS (INSERT INTO changes(seq, record_id, team, device, batch, hlc,"
			    " body, received_at) VALUES ");
		for (size_t i = 0; i < push->npend; i++) {
			struct pending_change *c = &push->pend[i];

			st_add(&st, i ? ", (" : "(");
			st_int(&st, c->seq);
			st_add(&st, ", ");
			st_param(&st, c->record_id);
			st_add(&st, ", ");
			st_param(&st, c->team);
			st_add(&st, ", ");
			st_param(&st, c->device);
			st_add(&st, ", ");
			st_param(&st, c->batch);
			st_add(&st, ", ");
			st_param(&st, c->hlc);
			st_add(&st, ", ");
			st_param(&st, c->body);
			st_add(&st, ", ");
			st_param(&st, push->now);
			st_add(&st, ")");
		}
		st_add(&st, "), h AS (INSERT INTO history(record_id, kind, ref, prev, hash) VALUES ");
		for (size_t i = 0; i < push->npend; i++) {
			struct pending_change *c = &push->pend[i];

			st_add(&st, i ? ", (" : "(");
			st_param(&st, c->record_id);
			st_add(&st, ", 'change', ");
			st_int(&st, c->seq);
			st_add(&st, ", ");
			st_param(&st, c->prev);
			st_add(&st, ", ");
			st_param(&st, c->hash);
			st_add(&st, ")");
		}
		st_add(&st, ") ");
		ctes = 2;
	}
	for (size_t i = 0; i < push->caprecs; i++) {
		struct rec *r = push->recs[i];

		if (r == NULL || !r->dirty)
			continue;
		st_add(&st, any_rec ? ", (" :
				      "INSERT INTO records(id, form, form_version, team, created_by,"
				      " tombstone, deleted, open_conflicts, state, created_at,"
				      " updated_at, last_seq) VALUES (");
		any_rec = true;
		st_param(&st, r->id);
		st_add(&st, ", ");
		st_param(&st, r->form);
		st_add(&st, ", ");
		st_int(&st, r->form_version);
		st_add(&st, ", ");
		st_param(&st, r->team);
		st_add(&st, ", ");
		st_param(&st, r->created_by);
		st_add(&st, ", ");
		st_param(&st, r->tombstone[0] != '\0' ? r->tombstone : NULL);
		st_add(&st, ", ");
		st_param(&st, r->deleted ? "1" : "0");
		st_add(&st, ", ");
		st_int(&st, r->open);
		st_add(&st, ", ");
		st_param(&st, r->state);
		st_add(&st, ", ");
		st_param(&st, push->now);
		st_add(&st, ", ");
		st_param(&st, push->now);
		st_add(&st, ", ");
		st_int(&st, r->last_seq);
		st_add(&st, ")");
	}
	if (any_rec)
		st_add(&st, " ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at,"
			    " last_seq = excluded.last_seq, form_version = excluded.form_version,"
			    " tombstone = excluded.tombstone, deleted = excluded.deleted,"
			    " open_conflicts = excluded.open_conflicts, state = excluded.state");
	else if (ctes > 0)
		st_add(&st, "SELECT 1");
	if ((err = st.err) == FS_OK && st.np > 0) {
		st_fix(&st);
		err = pg_send(push->c, "writing changes and records", st.sql, st.np, st.p);
	}
	st_free(&st);
	if (err != FS_OK)
		return err;
	pending_free(push);
	for (size_t i = 0; i < push->caprecs; i++)
		if (push->recs[i] != NULL)
			push->recs[i]->dirty = false;
	return wait ? pg_drain(push->c) : FS_OK;
}

/* Writes what the push holds back and waits; the cache is then dropped. */
static fs_err
flush(struct store_push *push)
{
	pg_i64buf b;
	const char *ps[] = { pg_i64(b, push->next_seq) };
	bool numbered = push->npend > 0;
	fs_err err;

	if ((err = flush_send(push, true)) != FS_OK)
		return err;
	/* The column's own sequence follows the numbers handed out here. */
	if (numbered && (err = pg_run(push->c, "sequence", NULL,
			     "SELECT setval(pg_get_serial_sequence('changes', 'seq'), $1)", 1,
			     ps)) != FS_OK)
		return err;
	/* What follows (a review event) reads the store itself. */
	recs_clear(push);
	return FS_OK;
}

fs_err
pg_push_begin(struct store *store, struct store_push **ret_push)
{
	struct store_push *push;
	PGconn *c = store_pg_conn(store);
	PGresult *r;
	fs_err err;

	if (c == NULL)
		return FS_ERR_DB;
	if ((push = calloc(1, sizeof(*push))) == NULL)
		return FS_ERR_NOMEM;
	push->base.ops = store_pg_ops_table;
	push->store = store;
	push->c = c;
	if ((err = pg_write_begin(c)) != FS_OK) {
		free(push);
		return err;
	}
	/* Under the lock: no other writer numbers changes until COMMIT. */
	if ((err = pg_run_prepared(c, "max_seq", "reading the log", &r,
		 "SELECT coalesce(max(seq), 0) FROM changes", 0, NULL)) != FS_OK) {
		pg_write_end(c, err);
		free(push);
		return err;
	}
	push->next_seq = pg_int(r, 0, 0);
	PQclear(r);
	/* After the lock: times follow the order writers commit in. */
	pg_now_text(push->now);
	*ret_push = push;
	return FS_OK;
}

fs_err
pg_push_commit(struct store_push *push)
{
	fs_err err = flush(push);

	err = pg_write_end(push->c, err);
	push_free(push);
	return err;
}

void
pg_push_abort(struct store_push *push)
{
	if (push == NULL)
		return;
	pg_write_end(push->c, FS_ERR_CANCELLED);
	push_free(push);
}

fs_err
pg_batch_answer(struct store *store, const char *device, const char *batch, char **ret_answer)
{
	const char *p[] = { device, batch };
	PGresult *r;
	fs_err err;

	*ret_answer = NULL;
	if ((err = pg_run_prepared(store_pg_conn(store), "batch_answer", "reading batch", &r,
		 "SELECT answer FROM batches WHERE device = $1 AND batch = $2", 2, p)) != FS_OK)
		return err;
	if (PQntuples(r) == 1 && (*ret_answer = strdup(pg_text(r, 0, 0))) == NULL)
		err = FS_ERR_NOMEM;
	PQclear(r);
	return err;
}

fs_err
pg_push_record_head(struct store_push *push, const char *record_id, struct store_record_head *ret)
{
	struct rec *r;
	fs_err err;

	memset(ret, 0, sizeof(*ret));
	if ((err = rec_get(push, record_id, NULL, &r)) != FS_OK)
		return err;
	if (r->exists) {
		ret->exists = true;
		snprintf(ret->team, sizeof(ret->team), "%s", r->team);
		snprintf(ret->form, sizeof(ret->form), "%s", r->form);
		ret->form_version = r->form_version;
	}
	return FS_OK;
}

/* Is (record, hlc) among this push's own changes? Then its body. */
static const char *
pending_body(const struct store_push *push, const char *record_id, const char *hlc)
{
	for (size_t i = push->npend; i-- > 0;)
		if (strcmp(push->pend[i].hlc, hlc) == 0 && strcmp(push->pend[i].record_id, record_id) == 0)
			return push->pend[i].body;
	return NULL;
}

fs_err
pg_push_change_insert(struct store_push *push, const struct change *ch, const char *body,
    const char *team, const char *device, const char *batch, int64_t *ret_seq, bool *ret_dup)
{
	struct pending_change *pc;
	char seq[24];
	struct rec *r;
	fs_err err;

	*ret_seq = 0;
	*ret_dup = false;
	if (pending_body(push, ch->id, ch->hlc) != NULL) {
		*ret_dup = true;
		return FS_OK;
	}
	if ((err = rec_get(push, ch->id, ch->hlc, &r)) != FS_OK)
		return err;
	if (known_find(r, ch->hlc)->body != NULL) {
		*ret_dup = true;
		return FS_OK;
	}
	if (push->npend == push->cappend) {
		size_t cap = push->cappend ? 2 * push->cappend : 64;
		struct pending_change *np = realloc(push->pend, cap * sizeof(*np));

		if (np == NULL)
			return FS_ERR_NOMEM;
		push->pend = np;
		push->cappend = cap;
	}
	pc = &push->pend[push->npend];
	memset(pc, 0, sizeof(*pc));
	pc->seq = push->next_seq + 1;
	if ((pc->record_id = strdup(ch->id)) == NULL || (pc->team = strdup(team)) == NULL ||
	    (pc->device = strdup(device)) == NULL || (pc->batch = strdup(batch)) == NULL ||
	    (pc->hlc = strdup(ch->hlc)) == NULL || (pc->body = strdup(body)) == NULL) {
		push->npend++; /* freed with the others */
		return FS_ERR_NOMEM;
	}
	push->npend++;
	push->next_seq = pc->seq;
	/* The record's history chain: the items the SQLite store hashes. */
	{
		const char *items[] = { ch->id, seq, push->now, body };
		size_t lens[4];
		unsigned char hash[CUSTODY_LINK_LEN];

		snprintf(seq, sizeof(seq), "%lld", (long long)pc->seq);
		for (int i = 0; i < 4; i++)
			lens[i] = strlen(items[i]);
		custody_history_hash(r->hist, "change", 4, items, lens, hash);
		pg_hex(r->hist, sizeof(r->hist), pc->prev);
		pg_hex(hash, sizeof(hash), pc->hash);
		memcpy(r->hist, hash, sizeof(hash));
	}
	*ret_seq = pc->seq;
	return FS_OK;
}

fs_err
pg_push_record_merge(struct store_push *push, const struct form *form, const struct change *ch,
    const char *team, const char *author, int64_t seq, struct merge_result *res, int *ret_open)
{
	struct merge_row_out out = { 0 };
	struct merge_mem mm;
	struct rec *r;
	fs_err err;

	merge_mem_init(&mm, false);
	if ((err = rec_get(push, ch->id, NULL, &r)) != FS_OK || (err = rec_load(r, &mm)) != FS_OK ||
	    (err = merge_row_merge(&mm, form, ch, r->tombstone, res, &out)) != FS_OK)
		goto out;
	*ret_open = out.open;
	if (!out.applied)
		goto out; /* merged before (its change was stored under another seq) */
	if (!r->exists) {
		snprintf(r->form, sizeof(r->form), "%s", ch->form);
		snprintf(r->team, sizeof(r->team), "%s", team);
		snprintf(r->created_by, sizeof(r->created_by), "%s", author);
		r->form_version = ch->form_version;
		r->exists = true;
	} else if (ch->form_version > r->form_version) {
		r->form_version = ch->form_version;
	}
	free(r->state);
	r->state = out.state;
	out.state = NULL;
	r->deleted = out.deleted;
	r->open = out.open;
	r->last_seq = seq;
	r->dirty = true;
	if (push->npend >= FLUSH_AT)
		err = flush_send(push, false);
out:
	free(out.state);
	merge_mem_finish(&mm);
	return err;
}

fs_err
pg_push_batch_save(struct store_push *push, const char *device, const char *batch,
    const char *answer)
{
	const char *p[] = { device, batch, answer, push->now };

	return pg_run_prepared(push->c, "batch_save", "saving batch answer", NULL,
	    "INSERT INTO batches(device, batch, answer, created_at) VALUES($1, $2, $3, $4)", 4, p);
}

fs_err
pg_push_device_seen(struct store_push *push, const char *device, const char *stamp)
{
	const char *p[] = { device, stamp };

	return pg_run_prepared(push->c, "device_seen", "noting a device's newest stamp", NULL,
	    "UPDATE devices SET last_hlc = $2 WHERE hlc_device = $1"
	    " AND (last_hlc IS NULL OR last_hlc < $2)",
	    2, p);
}

fs_err
pg_push_event(struct store_push *push, const char *id, const char *kind, const char *status,
    const char *field,
    const char *stamp, const char *note, const char *actor)
{
	fs_err err;

	/* Its history entry follows the changes' entries: write those first. */
	if ((err = flush(push)) != FS_OK)
		return err;
	return pg_event_insert(push->c, push->now, id, kind, status, note, field, stamp, actor);
}

fs_err
pg_push_audit(struct store_push *push, const char *actor, const char *action,
    const char *record_id, const char *detail)
{
	return pg_audit_append(push->c, push->now, actor, action, record_id, detail);
}

fs_err
pg_push_server_device(struct store_push *push, char ret_id[HLC_DEVICE_LEN + 1])
{
	char id[64];
	fs_err err;

	if ((err = pg_meta_get(push->c, "hlc_device", id, sizeof(id))) != FS_OK)
		return err;
	if (!hlc_valid_device(id))
		return FS_ERR_CORRUPT;
	memcpy(ret_id, id, HLC_DEVICE_LEN + 1);
	return FS_OK;
}

fs_err
pg_push_record_info(struct store_push *push, const char *record_id, char ret_form[65],
    int64_t *ret_version, char ret_team[65])
{
	struct rec *r;
	fs_err err;

	if ((err = rec_get(push, record_id, NULL, &r)) != FS_OK)
		return err;
	if (!r->exists)
		return FS_ERR_NOTFOUND;
	snprintf(ret_form, 65, "%s", r->form);
	*ret_version = r->form_version;
	snprintf(ret_team, 65, "%s", r->team);
	return FS_OK;
}

fs_err
pg_push_record_values(struct store_push *push, const char *record_id, cJSON **ret)
{
	struct merge_mem mm;
	struct rec *r;
	fs_err err;

	merge_mem_init(&mm, false);
	if ((err = rec_get(push, record_id, NULL, &r)) == FS_OK && (err = rec_load(r, &mm)) == FS_OK)
		err = store_state_values(merge_mem_record(&mm, record_id), ret);
	merge_mem_finish(&mm);
	return err;
}

fs_err
pg_push_field_heads(struct store_push *push, const char *record_id, const char *field,
    struct store_head *heads, size_t max, size_t *ret_n, char ret_max[HLC_TEXT_LEN + 1])
{
	struct merge_mem mm;
	struct rec *r;
	fs_err err;

	*ret_n = 0;
	ret_max[0] = '\0';
	merge_mem_init(&mm, false);
	if ((err = rec_get(push, record_id, NULL, &r)) == FS_OK && (err = rec_load(r, &mm)) == FS_OK)
		err = store_state_field_heads(merge_mem_record(&mm, record_id), field, heads, max,
		    ret_n, ret_max);
	merge_mem_finish(&mm);
	return err;
}

fs_err
pg_push_delete_resolution(struct store_push *push, const char *record_id, bool keep,
    cJSON **ret_base, char ret_max[HLC_TEXT_LEN + 1])
{
	struct merge_mem mm;
	struct rec *r;
	fs_err err;

	*ret_base = NULL;
	ret_max[0] = '\0';
	merge_mem_init(&mm, false);
	if ((err = rec_get(push, record_id, NULL, &r)) == FS_OK && (err = rec_load(r, &mm)) == FS_OK)
		err = store_state_delete_resolution(merge_mem_record(&mm, record_id), keep, ret_base,
		    ret_max);
	merge_mem_finish(&mm);
	return err;
}

fs_err
pg_push_server_stamp(struct store_push *push, const char *after, char ret_stamp[HLC_TEXT_LEN + 1])
{
	char last[32], device[HLC_DEVICE_LEN + 1];
	struct hlc clock = {.last = 0};
	uint64_t stamp;
	char *end;
	fs_err err;

	/* Read and advanced under the writer lock: one clock for every daemon. */
	if ((err = pg_meta_get(push->c, "hlc_device", clock.device, sizeof(clock.device))) !=
		FS_OK ||
	    (err = pg_meta_get(push->c, "hlc_last", last, sizeof(last))) != FS_OK)
		return err;
	if (!hlc_valid_device(clock.device))
		return FS_ERR_CORRUPT;
	clock.last = strtoull(last, &end, 16);
	if (*end != '\0')
		return FS_ERR_CORRUPT;
	if (after != NULL && after[0] != '\0') {
		if (hlc_parse(after, &stamp, device) != FS_OK)
			return FS_ERR_CORRUPT;
		if ((err = hlc_observe(&clock, stamp, device)) != FS_OK)
			return err;
	}
	if ((err = hlc_tick(&clock, hlc_wall_ms(), &stamp)) != FS_OK)
		return err;
	snprintf(last, sizeof(last), "%016llx", (unsigned long long)stamp);
	const char *p[] = { last };
	if ((err = pg_run(push->c, "saving server clock", NULL,
		 "UPDATE server_meta SET value = $1 WHERE key = 'hlc_last'", 1, p)) != FS_OK)
		return err;
	hlc_format(stamp, clock.device, ret_stamp);
	return FS_OK;
}

/* --- Chain of custody ------------------------------------------------ */

fs_err
pg_push_custody(struct store_push *push, const char *device, struct store_custody *ret)
{
	const char *p[] = { device };
	PGresult *r;
	fs_err err;

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->head, custody_genesis, sizeof(ret->head));
	/* Headquarters' own chain (resolutions) is kept in server_meta. */
	if ((err = pg_run_prepared(push->c, "custody", "reading a device's chain", &r,
		 "SELECT sign_key, chain_head, chain_hlc FROM devices WHERE hlc_device = $1"
		 " UNION ALL SELECT (SELECT value FROM server_meta WHERE key = 'sign_pk'),"
		 " (SELECT value FROM server_meta WHERE key = 'chain_head'),"
		 " (SELECT value FROM server_meta WHERE key = 'chain_hlc')"
		 " WHERE $1 = (SELECT value FROM server_meta WHERE key = 'hlc_device')",
		 1, p)) != FS_OK)
		return err;
	if (PQntuples(r) >= 1) {
		const char *k = pg_text(r, 0, 0), *h = pg_text(r, 0, 1);

		if (custody_is_hex(k, CUSTODY_KEY_HEX))
			memcpy(ret->key, k, CUSTODY_KEY_HEX + 1);
		if (custody_is_hex(h, CUSTODY_LINK_HEX))
			memcpy(ret->head, h, CUSTODY_LINK_HEX + 1);
		snprintf(ret->hlc, sizeof(ret->hlc), "%s", pg_text(r, 0, 2));
	}
	PQclear(r);
	return FS_OK;
}

fs_err
pg_push_custody_save(struct store_push *push, const char *device, const struct store_custody *c)
{
	const char *p[] = { device, c->key, c->head, c->hlc };
	PGresult *r;
	int64_t n;
	fs_err err;

	if ((err = pg_run_prepared(push->c, "custody_save", "saving a device's chain", &r,
		 "UPDATE devices SET sign_key = coalesce(sign_key, $2),"
		 " chain_head = $3, chain_hlc = nullif($4, '') WHERE hlc_device = $1",
		 4, p)) != FS_OK)
		return err;
	n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	if (n == 0) { /* headquarters: server_meta */
		if ((err = pg_run(push->c, "saving headquarters' chain", NULL,
			 "INSERT INTO server_meta(key, value) SELECT k, v FROM (VALUES"
			 " ('sign_pk', $2), ('chain_head', $3), ('chain_hlc', $4)) x(k, v)"
			 " WHERE $1 = (SELECT value FROM server_meta WHERE key = 'hlc_device')"
			 " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			 4, p)) != FS_OK)
			return err;
	}
	if (!c->key_new)
		return FS_OK;
	const char *pk[] = { device, c->key, push->now };
	return pg_run(push->c, "registering a device key", NULL,
	    "INSERT INTO device_keys(device, key, at) VALUES($1, $2, $3) ON CONFLICT DO NOTHING", 3,
	    pk);
}

fs_err
pg_push_change_body(struct store_push *push, const char *record_id, const char *hlc,
    char **ret_body)
{
	const char *mine = pending_body(push, record_id, hlc);
	struct rec *r;
	fs_err err;

	*ret_body = NULL;
	if (mine == NULL) {
		/* Reads the record with it: the change that follows needs nothing more. */
		if ((err = rec_get(push, record_id, hlc, &r)) != FS_OK)
			return err;
		mine = known_find(r, hlc)->body;
	}
	if (mine != NULL && (*ret_body = strdup(mine)) == NULL)
		return FS_ERR_NOMEM;
	return FS_OK;
}

fs_err
pg_push_chain_refused(struct store_push *push, const char *device, const struct change *ch,
    const char *link, const char *reason)
{
	const char *p[] = { device, ch->hlc, ch->id, link, ch->prev, reason, push->now };

	return pg_run(push->c, "keeping a refused link", NULL,
	    "INSERT INTO chain_refused(device, hlc, record_id, link, prev, reason, at)"
	    " VALUES($1, $2, $3, $4, $5, $6, $7)",
	    7, p);
}

fs_err
pg_push_referral_save(struct store_push *push, const struct store_referral *r)
{
	const char *p[] = { r->id, r->record_id, r->agency, r->status, r->case_number, r->owner,
		r->due, r->created_by, push->now };

	return pg_run(push->c, "referral", NULL,
	    "INSERT INTO referrals(id, record_id, agency, status, case_number, owner, due,"
	    " created_by, created_at, updated_at) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
	    " ON CONFLICT(id) DO UPDATE SET status = excluded.status,"
	    " case_number = excluded.case_number, owner = excluded.owner, due = excluded.due,"
	    " updated_at = excluded.updated_at",
	    9, p);
}
