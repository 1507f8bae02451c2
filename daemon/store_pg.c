/*
 * store_pg.c -- the PostgreSQL backend of store.h (issue 18):
 * connections, the schema and its migrations, the helpers the other
 * store_pg*.c files share, devices, forms, the audit trail, sealing keys.
 *
 * `store = postgresql` and `postgresql = CONNINFO` in fieldsyncd.conf
 * (a libpq connection string or URI).  The layout is the SQLite store's
 * (schema/sql/server-postgresql.sql is its documentation copy): one row
 * per record with its packed state (common/merge_row.h) in a json
 * column, the changes as received, the same hash chains.  Text columns
 * use the "C" collation, so stamps and names sort byte by byte as they
 * do in SQLite whatever the database's locale.
 *
 * Schema versions live in server_meta ('schema'); migrations[i] takes
 * the schema from i to i + 1 in one transaction, under an advisory lock,
 * so daemons started together migrate once.  A schema newer than this
 * binary knows is refused (FS_ERR_SCHEMA), never modified.
 *
 * store_pg_internal.h says how several daemons share one database.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libpq-events.h>
#include <sodium.h>

#include "custody.h"
#include "hlc.h"
#include "log.h"
#include "store_pg_internal.h"

/* The statements a connection has prepared (pg_run_prepared()), by name. */
#define PG_MAX_PREPARED 32

struct conn {
	PGconn *pg;
	struct store *store;
	const char *prepared[PG_MAX_PREPARED]; /* names, static strings */
	int nprepared;
	const char *inflight; /* what the statement sent by pg_send() does, or NULL */
	struct conn *prev, *next;
};

struct store {
	struct store_base base; /* first: store.c dispatches through it */
	char *conninfo;
	pthread_key_t key;
	pthread_mutex_t lock; /* guards conns */
	struct conn *conns;
};

#define CT "TEXT COLLATE \"C\""

/*
 * migrations[i] takes the schema from version i to i + 1.  Version 1 is
 * the SQLite store's schema 11 at once (the PostgreSQL store started
 * there); fs_field() reads a field's current value out of a packed state,
 * for the review filters.  The packed state is TEXT, not json: it is
 * written with every change and read by SQL only in filters and views
 * (cast there), so PostgreSQL need not parse it on every write.
 */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE devices(rowid_ BIGSERIAL PRIMARY KEY, name " CT " NOT NULL UNIQUE,"
    " role " CT " NOT NULL CHECK(role IN ('field','reviewer','admin')), team " CT " NOT NULL,"
    " token_hash " CT " NOT NULL UNIQUE, hlc_device " CT " UNIQUE,"
    " revoked INTEGER NOT NULL DEFAULT 0, created_at " CT " NOT NULL, revoked_at " CT ","
    " last_hlc " CT ", sign_key " CT ", chain_head " CT ", chain_hlc " CT ","
    " review_teams " CT " CHECK(review_teams IS NULL OR json_typeof(review_teams::json) = 'array'),"
    " wipe " CT " CHECK(wipe IS NULL OR wipe IN ('pending','done')), wipe_at " CT ");"
    "CREATE TABLE forms(id " CT " NOT NULL, version BIGINT NOT NULL, definition TEXT NOT NULL,"
    " published_at " CT " NOT NULL, PRIMARY KEY(id, version));"
    "CREATE TABLE changes(seq BIGSERIAL PRIMARY KEY, record_id " CT " NOT NULL,"
    " team " CT " NOT NULL, device " CT " NOT NULL, batch " CT " NOT NULL, hlc " CT " NOT NULL,"
    " body TEXT NOT NULL, received_at " CT " NOT NULL, UNIQUE(record_id, hlc));"
    "CREATE INDEX changes_team_seq ON changes(team, seq);"
    "CREATE TABLE records(rowid_ BIGSERIAL UNIQUE, id " CT " PRIMARY KEY, form " CT " NOT NULL,"
    " form_version BIGINT NOT NULL, team " CT " NOT NULL, created_by " CT " NOT NULL,"
    " tombstone " CT ", deleted INTEGER NOT NULL DEFAULT 0, created_at " CT " NOT NULL,"
    " updated_at " CT " NOT NULL, review_status " CT " NOT NULL DEFAULT 'new',"
    " open_conflicts INTEGER NOT NULL DEFAULT 0, last_seq BIGINT NOT NULL, state TEXT);"
    /* A record's state (~2-8 KB) stays in its row, uncompressed: no TOAST work per push. */
    "ALTER TABLE records SET (toast_tuple_target = 8160);"
    "CREATE INDEX records_form ON records(form, updated_at);"
    "CREATE INDEX records_updated ON records(updated_at);"
    "CREATE INDEX records_team ON records(team, rowid_);"
    "CREATE TABLE batches(device " CT " NOT NULL, batch " CT " NOT NULL, answer TEXT NOT NULL,"
    " created_at " CT " NOT NULL, PRIMARY KEY(device, batch));"
    "CREATE TABLE review_events(id BIGSERIAL PRIMARY KEY, record_id " CT " NOT NULL,"
    " kind " CT " NOT NULL, status " CT ", note TEXT, actor " CT " NOT NULL, at " CT " NOT NULL,"
    " field " CT ", stamp " CT ");"
    "CREATE INDEX review_events_record ON review_events(record_id, id);"
    "CREATE TABLE audit(id BIGSERIAL PRIMARY KEY, at " CT " NOT NULL, actor " CT " NOT NULL,"
    " action " CT " NOT NULL, record_id " CT ", detail TEXT, prev " CT ", hash " CT ");"
    "CREATE INDEX audit_at ON audit(at);"
    "CREATE TABLE chain_refused(id BIGSERIAL PRIMARY KEY, device " CT " NOT NULL,"
    " hlc " CT " NOT NULL, record_id " CT " NOT NULL, link " CT " NOT NULL, prev " CT " NOT NULL,"
    " reason " CT " NOT NULL, at " CT " NOT NULL);"
    "CREATE INDEX chain_refused_device ON chain_refused(device, hlc);"
    "CREATE TABLE device_keys(device " CT " NOT NULL, key " CT " NOT NULL, at " CT " NOT NULL,"
    " PRIMARY KEY(device, key));"
    "CREATE TABLE history(id BIGSERIAL PRIMARY KEY, record_id " CT " NOT NULL,"
    " kind " CT " NOT NULL CHECK(kind IN ('change', 'event')), ref BIGINT NOT NULL,"
    " prev " CT " NOT NULL, hash " CT " NOT NULL);"
    "CREATE INDEX history_record ON history(record_id, id);"
    "CREATE TABLE seal_keys(id " CT " PRIMARY KEY, public " CT " NOT NULL UNIQUE,"
    " locked TEXT NOT NULL CHECK(json_typeof(locked::json) = 'object'),"
    " created_at " CT " NOT NULL);"
    /* The server's own device id may not be bound by a device. */
    "CREATE FUNCTION fs_reserved_id() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF NEW.hlc_device = (SELECT value FROM server_meta WHERE key = 'hlc_device') THEN"
    " RAISE EXCEPTION 'device id reserved for the server' USING ERRCODE = '23505'; END IF;"
    " RETURN NEW; END $$;"
    "CREATE TRIGGER devices_server_hlc BEFORE UPDATE OF hlc_device ON devices"
    " FOR EACH ROW EXECUTE FUNCTION fs_reserved_id();"
    /* A field's current value (JSON text, NULL for null or none) in a packed state. */
    "CREATE FUNCTION fs_field(st json, name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$"
    " SELECT CASE WHEN json_typeof(f) = 'array' THEN"
    " CASE json_typeof(f -> 1) WHEN 'null' THEN NULL ELSE (f -> 1)::text END"
    " ELSE (SELECT CASE json_typeof(w -> 1) WHEN 'null' THEN NULL ELSE (w -> 1)::text END"
    " FROM json_array_elements(f -> 'w') w WHERE (w ->> 0) = (f ->> 'c') LIMIT 1) END"
    " FROM (SELECT st -> 'f' -> name AS f) x $$;"
    /*
     * The SQLite store's views of the packed state, for people (psql),
     * tests and scripts: the same names, columns and values.
     */
    "CREATE VIEW fields(record_id, name, value, stamp) AS SELECT r.id, f.key,"
    " CASE WHEN json_typeof(f.value) = 'array' THEN"
    " CASE json_typeof(f.value -> 1) WHEN 'null' THEN NULL ELSE (f.value -> 1)::text END"
    " ELSE (SELECT CASE json_typeof(w -> 1) WHEN 'null' THEN NULL ELSE (w -> 1)::text END"
    " FROM json_array_elements(f.value -> 'w') w WHERE (w ->> 0) = (f.value ->> 'c') LIMIT 1)"
    " END, r.state::json -> 's' ->> (CASE WHEN json_typeof(f.value) = 'array' THEN f.value ->> 0"
    " ELSE f.value ->> 'c' END)::int"
    " FROM records r, json_each(r.state::json -> 'f') f WHERE r.state IS NOT NULL"
    " AND (json_typeof(f.value) = 'array' OR json_typeof(f.value -> 'c') IS NOT NULL);"
    "CREATE VIEW conflicts(record_id, name, stamp, value, device, created_at) AS"
    " SELECT r.id, f.key, r.state::json -> 's' ->> (w ->> 0)::int,"
    " CASE json_typeof(w -> 1) WHEN 'null' THEN NULL ELSE (w -> 1)::text END,"
    " substr(r.state::json -> 's' ->> (w ->> 0)::int, 18), r.updated_at"
    " FROM records r, json_each(r.state::json -> 'f') f, json_array_elements(f.value -> 'w') w"
    " WHERE r.open_conflicts > 0 AND json_typeof(f.value) = 'object' AND (w ->> 2) = '1'"
    " AND (f.value ->> 'c') IS DISTINCT FROM (w ->> 0)"
    " AND NOT (json_typeof(w -> 1) = 'null' AND EXISTS (SELECT 1"
    " FROM json_array_elements(f.value -> 'w') cw WHERE (cw ->> 0) = (f.value ->> 'c')"
    " AND json_typeof(cw -> 1) = 'null'));"
    "CREATE VIEW merged(record_id, stamp) AS SELECT r.id, r.state::json -> 's' ->> x::int"
    " FROM records r, json_array_elements_text(r.state::json -> 'seen') x WHERE r.state IS NOT NULL;",
    /* 1 -> 2: a record assigned to a reviewer (issue 20, item 3); the SQLite store's 11 -> 12. */
    "ALTER TABLE records ADD COLUMN assigned_to " CT ";"
    "CREATE INDEX records_assigned ON records(assigned_to) WHERE assigned_to IS NOT NULL;",
    /* 2 -> 3: agencies and referrals (issue 20); the SQLite store's 12 -> 13. */
    "CREATE TABLE agencies(name " CT " PRIMARY KEY, title " CT " NOT NULL,"
    " teams TEXT NOT NULL CHECK(json_typeof(teams::json) = 'array'), created_at " CT " NOT NULL);"
    "CREATE TABLE referrals(id " CT " PRIMARY KEY, record_id " CT " NOT NULL,"
    " agency " CT " NOT NULL,"
    " status " CT " NOT NULL CHECK(status IN ('open','accepted','declined','closed')),"
    " case_number " CT " NOT NULL, owner " CT ", due " CT ", created_by " CT " NOT NULL,"
    " created_at " CT " NOT NULL, updated_at " CT " NOT NULL);"
    "CREATE INDEX referrals_record ON referrals(record_id);"
    "CREATE INDEX referrals_agency ON referrals(agency, status);",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

const char *
pg_i64(pg_i64buf buf, int64_t v)
{
	snprintf(buf, sizeof(pg_i64buf), "%lld", (long long)v);
	return buf;
}

void
pg_now_text(char buf[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + 19, 13, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

void
pg_hex(const unsigned char *in, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

bool
pg_unhex(const char *in, unsigned char *out, size_t n)
{
	size_t got = 0;

	return in != NULL && strlen(in) == 2 * n &&
	    sodium_hex2bin(out, n, in, 2 * n, NULL, &got, NULL) == 0 && got == n;
}

const char *
pg_text(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

const char *
pg_text_or_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int64_t
pg_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const char *
pg_message(const PGresult *r)
{
	const char *m = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	return m != NULL ? m : "unknown error";
}

/* The error of a failed result (or of the connection when r is NULL), mapped. */
static fs_err
pg_err(PGconn *c, const PGresult *r, const char *what)
{
	const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r != NULL ? pg_message(r) : PQerrorMessage(c);

	if (state == NULL || PQstatus(c) != CONNECTION_OK) {
		log_warnx("Store connection failed during %s: %s", what, msg);
		return FS_ERR_DB;
	}
	if (strcmp(state, "23505") == 0)
		return FS_ERR_EXISTS;
	if (strcmp(state, "23514") == 0)
		return FS_ERR_INVALID;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0) {
		log_warnx("Store busy during %s, giving up", what);
		return FS_ERR_BUSY;
	}
	if (strcmp(state, "53100") == 0) {
		log_warnx("Store full during %s", what);
		return FS_ERR_FULL;
	}
	if (strcmp(state, "53200") == 0)
		return FS_ERR_NOMEM;
	if (strncmp(state, "23", 2) == 0) {
		/* NOT NULL, a foreign key: a bug of ours, never the caller's. */
		log_warnx("Store refused %s: %s", what, msg);
		return FS_ERR_INTERNAL;
	}
	log_warnx("Store failed during %s (%s): %s", what, state, msg);
	return FS_ERR_DB;
}

static struct conn *conn_of(PGconn *c);

static fs_err
result_check(PGconn *c, PGresult *r, const char *what, PGresult **ret)
{
	ExecStatusType s = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		if (ret != NULL)
			*ret = r;
		else
			PQclear(r);
		return FS_OK;
	}
	fs_err err = r != NULL ? pg_err(c, r, what) : (log_warnx("Store out of memory during %s", what), FS_ERR_NOMEM);
	PQclear(r);
	return err;
}

fs_err
pg_run(PGconn *c, const char *what, PGresult **ret, const char *sql, int n,
    const char *const *params)
{
	fs_err err;

	if (c == NULL)
		return FS_ERR_DB;
	if ((err = pg_drain(c)) != FS_OK)
		return err;
	return result_check(c, PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0), what, ret);
}

fs_err
pg_exec(PGconn *c, const char *sql)
{
	fs_err err;

	if (c == NULL)
		return FS_ERR_DB;
	/* ROLLBACK after a failed statement in flight: its error is the caller's already. */
	if ((err = pg_drain(c)) != FS_OK && strcmp(sql, "ROLLBACK") != 0)
		return err;
	return result_check(c, PQexec(c, sql), "exec", NULL);
}

fs_err
pg_send(PGconn *c, const char *what, const char *sql, int n, const char *const *params)
{
	struct conn *x;
	fs_err err;

	if (c == NULL || (x = conn_of(c)) == NULL)
		return FS_ERR_DB;
	if ((err = pg_drain(c)) != FS_OK)
		return err;
	/* libpq copies the parameters into its buffer: the caller may free them now. */
	if (!PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL, 0)) {
		log_warnx("Store failed during %s: %s", what, PQerrorMessage(c));
		return FS_ERR_DB;
	}
	x->inflight = what;
	return FS_OK;
}

fs_err
pg_drain(PGconn *c)
{
	struct conn *x = c != NULL ? conn_of(c) : NULL;
	PGresult *r;
	fs_err err = FS_OK;

	if (x == NULL || x->inflight == NULL)
		return FS_OK;
	while ((r = PQgetResult(c)) != NULL) {
		ExecStatusType s = PQresultStatus(r);

		if (err == FS_OK && s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
			err = pg_err(c, r, x->inflight);
		PQclear(r);
	}
	x->inflight = NULL;
	return err;
}

/*
 * libpq's way to hang our data on a connection (libpq-events.h): the
 * struct conn of a PGconn, for its list of prepared statements.  A reset
 * (PGEVT_CONNRESET) empties the list: the server forgot them.
 */
static int
conn_event(PGEventId id, void *info, void *arg)
{
	(void)arg;
	if (id == PGEVT_CONNRESET) {
		struct conn *x = PQinstanceData(((PGEventConnReset *)info)->conn, conn_event);

		if (x != NULL)
			x->nprepared = 0;
	}
	return 1;
}

static struct conn *
conn_of(PGconn *c)
{
	return PQinstanceData(c, conn_event);
}

fs_err
pg_run_prepared(PGconn *c, const char *name, const char *what, PGresult **ret, const char *sql,
    int n, const char *const *params)
{
	struct conn *x;
	fs_err err;
	int i;

	if (c == NULL)
		return FS_ERR_DB;
	if ((err = pg_drain(c)) != FS_OK)
		return err;
	x = conn_of(c);
	for (i = 0; x != NULL && i < x->nprepared; i++)
		if (x->prepared[i] == name)
			break;
	if (x == NULL || i == PG_MAX_PREPARED)
		return pg_run(c, what, ret, sql, n, params);
	if (i == x->nprepared) {
		err = result_check(c, PQprepare(c, name, sql, n, NULL), what, NULL);
		if (err != FS_OK)
			return err;
		x->prepared[x->nprepared++] = name;
	}
	return result_check(c, PQexecPrepared(c, name, n, params, NULL, NULL, 0), what, ret);
}

fs_err
pg_write_begin(PGconn *c)
{
	fs_err err;

	if ((err = pg_exec(c, "BEGIN")) != FS_OK)
		return err;
	/* Bounded like the SQLite store's busy timeout: 503 and the device retries. */
	if ((err = pg_exec(c, "SET LOCAL lock_timeout = '5s'")) != FS_OK ||
	    (err = pg_exec(c, "SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")")) != FS_OK)
		pg_exec(c, "ROLLBACK");
	return err;
}

fs_err
pg_write_end(PGconn *c, fs_err err)
{
	if (err == FS_OK && (err = pg_exec(c, "COMMIT")) == FS_OK)
		return FS_OK;
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		pg_exec(c, "ROLLBACK");
	return err;
}

static void
conn_close(struct conn *c)
{
	PQfinish(c->pg);
	free(c);
}

/* Thread-specific data destructor: the thread is exiting. */
static void
conn_release(void *arg)
{
	struct conn *c = arg;
	struct store *store = c->store;

	pthread_mutex_lock(&store->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		store->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&store->lock);
	conn_close(c);
}

/* libpq's notices (a NOTICE of CREATE IF NOT EXISTS...) are not ours to print. */
static void
notice_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGconn *
connect_to(const char *conninfo)
{
	PGconn *pg = PQconnectdb(conninfo);

	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		/* libpq's message names the host and the reason, never a password. */
		log_warnx("Cannot connect to the PostgreSQL store: %s",
		    pg != NULL ? PQerrorMessage(pg) : "out of memory");
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, notice_quiet, NULL);
	if (PQclientEncoding(pg) != 6 /* PG_UTF8 */ && PQsetClientEncoding(pg, "UTF8") != 0) {
		log_warnx("PostgreSQL store: cannot use UTF8");
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

PGconn *
store_pg_conn(struct store *store)
{
	struct conn *c = pthread_getspecific(store->key);

	if (c != NULL) {
		if (PQstatus(c->pg) == CONNECTION_OK)
			return c->pg;
		/* The server went away (restart, fail-over): once more, fresh. */
		log_warnx("PostgreSQL store connection lost, reconnecting");
		PQreset(c->pg);
		return PQstatus(c->pg) == CONNECTION_OK ? c->pg : NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->pg = connect_to(store->conninfo)) == NULL) {
		free(c);
		return NULL;
	}
	c->store = store;
	if (!PQregisterEventProc(c->pg, conn_event, "fieldsyncd", NULL) ||
	    !PQsetInstanceData(c->pg, conn_event, c)) {
		conn_close(c);
		return NULL;
	}
	pthread_mutex_lock(&store->lock);
	c->next = store->conns;
	if (c->next != NULL)
		c->next->prev = c;
	store->conns = c;
	pthread_mutex_unlock(&store->lock);
	if (pthread_setspecific(store->key, c) != 0) {
		conn_release(c);
		return NULL;
	}
	return c->pg;
}

const char *
store_pg_conninfo(struct store *store)
{
	return store->conninfo;
}

fs_err
pg_meta_get(PGconn *c, const char *key, char *buf, size_t len)
{
	const char *p[] = { key };
	PGresult *r;
	fs_err err;

	if ((err = pg_run(c, "reading server_meta", &r,
		 "SELECT value FROM server_meta WHERE key = $1", 1, p)) != FS_OK)
		return err;
	if (PQntuples(r) == 1)
		snprintf(buf, len, "%s", pg_text(r, 0, 0));
	else
		err = FS_ERR_CORRUPT;
	PQclear(r);
	return err;
}

/* Creates or migrates the schema, under an advisory lock (daemons starting together). */
static fs_err
migrate(PGconn *c)
{
	int64_t version = 0;
	unsigned char id[HLC_DEVICE_LEN / 2];
	char idhex[HLC_DEVICE_LEN + 1], vbuf[24];
	PGresult *r;
	fs_err err;

	if ((err = pg_exec(c, "BEGIN")) != FS_OK)
		return err;
	if ((err = pg_exec(c, "SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")")) != FS_OK ||
	    (err = pg_exec(c, "CREATE TABLE IF NOT EXISTS server_meta(key TEXT COLLATE \"C\""
			      " PRIMARY KEY, value TEXT NOT NULL)")) != FS_OK ||
	    (err = pg_run(c, "schema version", &r,
		 "SELECT value FROM server_meta WHERE key = 'schema'", 0, NULL)) != FS_OK)
		goto out;
	if (PQntuples(r) == 1)
		version = pg_int(r, 0, 0);
	PQclear(r);
	if (version == 0) {
		/* The server's own device id (its resolutions are changes it authors). */
		randombytes_buf(id, sizeof(id));
		pg_hex(id, sizeof(id), idhex);
		const char *p[] = { idhex };
		if ((err = pg_run(c, "server id", NULL,
			 "INSERT INTO server_meta(key, value) VALUES('hlc_device', $1),"
			 " ('hlc_last', '0000000000000000'), ('schema', '0')",
			 1, p)) != FS_OK)
			goto out;
	}
	if (version > NMIGRATIONS) {
		log_warnx("Store schema version %lld is newer than this fieldsyncd (%d)",
		    (long long)version, NMIGRATIONS);
		err = FS_ERR_SCHEMA;
		goto out;
	}
	for (; version < NMIGRATIONS; version++) {
		log_info("Migrating store schema to version %lld", (long long)version + 1);
		snprintf(vbuf, sizeof(vbuf), "%lld", (long long)version + 1);
		const char *p[] = { vbuf };
		if ((err = pg_exec(c, migrations[version])) != FS_OK ||
		    (err = pg_run(c, "schema version", NULL,
			 "UPDATE server_meta SET value = $1 WHERE key = 'schema'", 1, p)) != FS_OK)
			goto out;
	}
out:
	return pg_write_end(c, err);
}

static const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.device_add = pg_device_add,
	.device_list = pg_device_list,
	.device_revoke = pg_device_revoke,
	.device_wipe_done = pg_device_wipe_done,
	.open_conflicts = pg_open_conflicts,
	.device_set_teams = pg_device_set_teams,
	.device_by_token_hash = pg_device_by_token_hash,
	.device_bind_hlc = pg_device_bind_hlc,
	.device_last_hlc = pg_device_last_hlc,
	.form_insert = pg_form_insert,
	.form_definition = pg_form_definition,
	.form_list = pg_form_list,
	.audit = pg_audit,
	.push_begin = pg_push_begin,
	.batch_answer = pg_batch_answer,
	.push_record_head = pg_push_record_head,
	.push_prefetch = pg_push_prefetch,
	.push_record_values = pg_push_record_values,
	.push_change_insert = pg_push_change_insert,
	.push_record_merge = pg_push_record_merge,
	.push_device_seen = pg_push_device_seen,
	.push_batch_save = pg_push_batch_save,
	.push_record_info = pg_push_record_info,
	.push_field_heads = pg_push_field_heads,
	.push_delete_resolution = pg_push_delete_resolution,
	.push_server_stamp = pg_push_server_stamp,
	.push_commit = pg_push_commit,
	.push_abort = pg_push_abort,
	.max_seq = pg_max_seq,
	.forms_version = pg_forms_version,
	.change_hlc = pg_change_hlc,
	.pull = pg_pull,
	.push_event = pg_push_event,
	.push_audit = pg_push_audit,
	.push_server_device = pg_push_server_device,
	.snapshot = pg_snapshot,
	.review_list = pg_review_list,
	.review_get = pg_review_get,
	.review_fields = pg_review_fields,
	.review_conflicts = pg_review_conflicts,
	.review_delete_conflict = pg_review_delete_conflict,
	.review_history = pg_review_history,
	.review_events = pg_review_events,
	.review_set_status = pg_review_set_status,
	.review_assign = pg_review_assign,
	.audit_list = pg_audit_list,
	.export_open = pg_export_open,
	.export_next = pg_export_next,
	.export_fields = pg_export_fields,
	.export_close = pg_export_close,
	.push_custody = pg_push_custody,
	.push_custody_save = pg_push_custody_save,
	.push_change_body = pg_push_change_body,
	.push_chain_refused = pg_push_chain_refused,
	.chain_walk = pg_chain_walk,
	.device_key_reset = pg_device_key_reset,
	.history_walk = pg_history_walk,
	.record_history = pg_record_history,
	.device_info = pg_device_info,
	.seal_key_add = pg_seal_key_add,
	.seal_keys = pg_seal_keys,
	.agency_save = pg_agency_save,
	.agency_list = pg_agency_list,
	.push_referral_save = pg_push_referral_save,
	.referral_list = pg_referral_list,
};

const struct store_ops *const store_pg_ops_table = &store_pg_ops;

fs_err
store_pg_open(const char *conninfo, struct store **ret_store)
{
	struct store *store;
	PGconn *c;
	fs_err err;

	if (conninfo == NULL || conninfo[0] == '\0') {
		log_warnx("store = postgresql needs a connection string (postgresql = ...)");
		return FS_ERR_INVALID;
	}
	if (sodium_init() < 0)
		return FS_ERR_INTERNAL;
	if ((store = calloc(1, sizeof(*store))) == NULL)
		return FS_ERR_NOMEM;
	store->base.ops = &store_pg_ops;
	if ((store->conninfo = strdup(conninfo)) == NULL) {
		free(store);
		return FS_ERR_NOMEM;
	}
	if (pthread_key_create(&store->key, conn_release) != 0) {
		free(store->conninfo);
		free(store);
		return FS_ERR_NOMEM;
	}
	pthread_mutex_init(&store->lock, NULL);
	if ((c = store_pg_conn(store)) == NULL) {
		err = FS_ERR_IO;
		goto fail;
	}
	if ((err = migrate(c)) != FS_OK)
		goto fail;
	*ret_store = store;
	return FS_OK;
fail:
	pg_close(store);
	return err;
}

void
pg_close(struct store *store)
{
	struct conn *c, *next;

	if (store == NULL)
		return;
	pthread_key_delete(store->key);
	for (c = store->conns; c != NULL; c = next) {
		next = c->next;
		conn_close(c);
	}
	pthread_mutex_destroy(&store->lock);
	free(store->conninfo);
	free(store);
}

/* --- Audit and history chains -------------------------------------- */

/* The last hash of a chain (hex) into prev, zeros when empty. */
static fs_err
chain_last(PGresult *r, unsigned char prev[CUSTODY_LINK_LEN])
{
	memset(prev, 0, CUSTODY_LINK_LEN);
	if (PQntuples(r) == 1 && !pg_unhex(pg_text(r, 0, 0), prev, CUSTODY_LINK_LEN)) {
		log_warnx("Store: a chain's last hash is damaged");
		return FS_ERR_CORRUPT;
	}
	return FS_OK;
}

fs_err
pg_audit_append(PGconn *c, const char *at, const char *actor, const char *action,
    const char *record_id, const char *detail)
{
	unsigned char prev[CUSTODY_LINK_LEN], hash[CUSTODY_LINK_LEN];
	char prevhex[2 * CUSTODY_LINK_LEN + 1], hashhex[2 * CUSTODY_LINK_LEN + 1];
	const char *items[] = { at, actor, action, record_id, detail };
	size_t lens[5];
	PGresult *r;
	fs_err err;

	if ((err = pg_run_prepared(c, "audit_last", "audit", &r,
		 "SELECT hash FROM audit ORDER BY id DESC LIMIT 1", 0, NULL)) != FS_OK)
		return err;
	err = chain_last(r, prev);
	PQclear(r);
	if (err != FS_OK)
		return err;
	for (int i = 0; i < 5; i++)
		lens[i] = items[i] != NULL ? strlen(items[i]) : 0;
	custody_history_hash(prev, "audit", 5, items, lens, hash);
	pg_hex(prev, sizeof(prev), prevhex);
	pg_hex(hash, sizeof(hash), hashhex);
	const char *p[] = { at, actor, action, record_id, detail, prevhex, hashhex };
	return pg_run_prepared(c, "audit_insert", "audit", NULL,
	    "INSERT INTO audit(at, actor, action, record_id, detail, prev, hash)"
	    " VALUES($1, $2, $3, $4, $5, $6, $7)",
	    7, p);
}

fs_err
pg_history_append(PGconn *c, const char *record_id, const char *kind, int64_t ref, int nitems,
    const char *const *items)
{
	unsigned char prev[CUSTODY_LINK_LEN], hash[CUSTODY_LINK_LEN];
	char prevhex[2 * CUSTODY_LINK_LEN + 1], hashhex[2 * CUSTODY_LINK_LEN + 1];
	size_t lens[CUSTODY_HISTORY_MAX_ITEMS];
	const char *p1[] = { record_id };
	pg_i64buf refbuf;
	PGresult *r;
	fs_err err;

	if ((err = pg_run_prepared(c, "history_last", "history", &r,
		 "SELECT hash FROM history WHERE record_id = $1 ORDER BY id DESC LIMIT 1", 1,
		 p1)) != FS_OK)
		return err;
	err = chain_last(r, prev);
	PQclear(r);
	if (err != FS_OK)
		return err;
	for (int i = 0; i < nitems; i++)
		lens[i] = items[i] != NULL ? strlen(items[i]) : 0;
	custody_history_hash(prev, kind, nitems, items, lens, hash);
	pg_hex(prev, sizeof(prev), prevhex);
	pg_hex(hash, sizeof(hash), hashhex);
	const char *p[] = { record_id, kind, pg_i64(refbuf, ref), prevhex, hashhex };
	return pg_run_prepared(c, "history_insert", "history", NULL,
	    "INSERT INTO history(record_id, kind, ref, prev, hash) VALUES($1, $2, $3, $4, $5)", 5,
	    p);
}

fs_err
pg_event_insert(PGconn *c, const char *at, const char *id, const char *kind,
    const char *status, const char *note, const char *field, const char *stamp,
    const char *actor)
{
	const char *p[] = { id, kind, status, note, field, stamp, actor, at };
	char idbuf[24];
	PGresult *r;
	fs_err err;

	if ((err = pg_run(c, "review event", &r,
		 "INSERT INTO review_events(record_id, kind, status, note, field, stamp, actor, at)"
		 " VALUES($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
		 8, p)) != FS_OK)
		return err;
	snprintf(idbuf, sizeof(idbuf), "%s", pg_text(r, 0, 0));
	PQclear(r);
	/* The items the SQLite store hashes: record_id, id, kind, status, note, field, stamp, actor, at. */
	const char *items[] = { id, idbuf, kind, status, note, field, stamp, actor, at };
	return pg_history_append(c, id, "event", strtoll(idbuf, NULL, 10), 9, items);
}

fs_err
pg_audit(struct store *store, const char *actor, const char *action, const char *record_id,
    const char *detail)
{
	PGconn *c = store_pg_conn(store);
	char now[32];
	fs_err err;

	pg_now_text(now);
	/* Inside a caller's transaction on this thread: part of it (as with SQLite). */
	if (c != NULL && PQtransactionStatus(c) == PQTRANS_INTRANS)
		return pg_audit_append(c, now, actor, action, record_id, detail);
	if ((err = pg_write_begin(c)) != FS_OK)
		return err;
	return pg_write_end(c, pg_audit_append(c, now, actor, action, record_id, detail));
}

/* --- Devices -------------------------------------------------------- */

/* Runs a one-statement write; *ret_n (if not NULL) gets the rows it touched. */
static fs_err
write1(struct store *store, const char *what, const char *sql, int n, const char *const *p,
    int64_t *ret_n)
{
	PGresult *r;
	fs_err err = pg_run(store_pg_conn(store), what, &r, sql, n, p);

	if (err != FS_OK)
		return err;
	if (ret_n != NULL)
		*ret_n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return FS_OK;
}

fs_err
pg_device_add(struct store *store, const char *name, const char *role, const char *team,
    const char *review_teams, const unsigned char token_hash[AUTH_HASH_LEN], int64_t *ret_rowid)
{
	char hash[2 * AUTH_HASH_LEN + 1], now[32];
	const char *p[] = { name, role, team, hash, now, review_teams };
	PGresult *r;
	fs_err err;

	pg_hex(token_hash, AUTH_HASH_LEN, hash);
	pg_now_text(now);
	if ((err = pg_run(store_pg_conn(store), "device add", &r,
		 "INSERT INTO devices(name, role, team, token_hash, created_at, review_teams)"
		 " VALUES($1, $2, $3, $4, $5, $6) RETURNING rowid_",
		 6, p)) != FS_OK)
		return err;
	if (ret_rowid != NULL)
		*ret_rowid = pg_int(r, 0, 0);
	PQclear(r);
	return FS_OK;
}

fs_err
pg_device_list(struct store *store, store_device_cb cb, void *arg)
{
	struct store_device d;
	PGresult *r;
	fs_err err;

	if ((err = pg_run(store_pg_conn(store), "device list", &r,
		 "SELECT rowid_, name, role, team, hlc_device, revoked, created_at, revoked_at,"
		 " review_teams, coalesce(wipe, '') FROM devices ORDER BY name",
		 0, NULL)) != FS_OK)
		return err;
	for (int i = 0; i < PQntuples(r); i++) {
		d.rowid = pg_int(r, i, 0);
		d.name = pg_text(r, i, 1);
		d.role = pg_text(r, i, 2);
		d.team = pg_text(r, i, 3);
		d.hlc_device = pg_text(r, i, 4);
		d.revoked = pg_int(r, i, 5) != 0;
		d.created_at = pg_text(r, i, 6);
		d.revoked_at = pg_text(r, i, 7);
		d.review_teams = pg_text_or_null(r, i, 8);
		d.wipe = pg_text(r, i, 9);
		if (cb(arg, &d) != 0)
			break;
	}
	PQclear(r);
	return FS_OK;
}

fs_err
pg_device_revoke(struct store *store, const char *name, bool wipe)
{
	char now[32];
	const char *p[] = { name, wipe ? "1" : "0", now };
	int64_t n = 0;
	fs_err err;

	pg_now_text(now);
	/* A wipe asked once stays asked (or done); a later plain revoke keeps it. */
	if ((err = write1(store, "device revoke",
		 "UPDATE devices SET revoked = 1, revoked_at = coalesce(revoked_at, $3),"
		 " wipe = CASE WHEN $2 = '1' AND wipe IS NULL THEN 'pending' ELSE wipe END"
		 " WHERE name = $1",
		 3, p, &n)) != FS_OK)
		return err;
	return n == 0 ? FS_ERR_NOTFOUND : FS_OK;
}

fs_err
pg_device_wipe_done(struct store *store, int64_t rowid)
{
	char now[32];
	pg_i64buf b;
	const char *p[] = { pg_i64(b, rowid), now };
	int64_t n = 0;
	fs_err err;

	pg_now_text(now);
	if ((err = write1(store, "device wipe",
		 "UPDATE devices SET wipe = 'done', wipe_at = $2 WHERE rowid_ = $1 AND wipe = 'pending'",
		 2, p, &n)) != FS_OK)
		return err;
	return n == 0 ? FS_ERR_NOTFOUND : FS_OK;
}

fs_err
pg_device_by_token_hash(struct store *store, const unsigned char token_hash[AUTH_HASH_LEN],
    struct store_token_row *ret)
{
	char hash[2 * AUTH_HASH_LEN + 1];
	const char *p[] = { hash };
	PGresult *r;
	fs_err err;

	pg_hex(token_hash, AUTH_HASH_LEN, hash);
	if ((err = pg_run_prepared(store_pg_conn(store), "token", "token lookup", &r,
		 "SELECT rowid_, name, role, team, hlc_device, revoked, token_hash, review_teams,"
		 " wipe IS NOT DISTINCT FROM 'pending' FROM devices WHERE token_hash = $1",
		 1, p)) != FS_OK)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return FS_ERR_NOTFOUND;
	}
	memset(ret, 0, sizeof(*ret));
	if (!pg_unhex(pg_text(r, 0, 6), ret->token_hash, AUTH_HASH_LEN))
		memset(ret->token_hash, 0, AUTH_HASH_LEN);
	ret->who.device_rowid = pg_int(r, 0, 0);
	snprintf(ret->who.name, sizeof(ret->who.name), "%s", pg_text(r, 0, 1));
	snprintf(ret->who.role, sizeof(ret->who.role), "%s", pg_text(r, 0, 2));
	snprintf(ret->who.team, sizeof(ret->who.team), "%s", pg_text(r, 0, 3));
	snprintf(ret->who.hlc_device, sizeof(ret->who.hlc_device), "%s", pg_text(r, 0, 4));
	ret->revoked = pg_int(r, 0, 5) != 0;
	ret->who.wipe_pending = strcmp(pg_text(r, 0, 8), "t") == 0;
	if (strcmp(ret->who.role, "reviewer") == 0 && !PQgetisnull(r, 0, 7))
		snprintf(ret->who.review_teams, sizeof(ret->who.review_teams), "%s",
		    pg_text(r, 0, 7));
	PQclear(r);
	return FS_OK;
}

fs_err
pg_device_set_teams(struct store *store, const char *name, const char *review_teams)
{
	const char *p1[] = { name };
	const char *p[] = { name, review_teams };
	PGresult *r;
	fs_err err;
	bool reviewer;

	if ((err = pg_run(store_pg_conn(store), "device teams", &r,
		 "SELECT role = 'reviewer' FROM devices WHERE name = $1", 1, p1)) != FS_OK)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return FS_ERR_NOTFOUND;
	}
	reviewer = strcmp(pg_text(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!reviewer)
		return FS_ERR_INVALID;
	return write1(store, "device teams", "UPDATE devices SET review_teams = $2 WHERE name = $1",
	    2, p, NULL);
}

fs_err
pg_device_bind_hlc(struct store *store, int64_t rowid, const char *hlc_device)
{
	pg_i64buf b;
	const char *p[] = { pg_i64(b, rowid), hlc_device };
	PGresult *r;
	fs_err err;

	if (!hlc_valid_device(hlc_device))
		return FS_ERR_INVALID;
	/* One statement: atomic on its own and inside a caller's transaction. */
	if ((err = write1(store, "device bind",
		 "UPDATE devices SET hlc_device = $2 WHERE rowid_ = $1 AND hlc_device IS NULL", 2, p,
		 NULL)) != FS_OK)
		return err; /* FS_ERR_EXISTS: another row, or the server, holds the id */
	if ((err = pg_run(store_pg_conn(store), "device bind", &r,
		 "SELECT hlc_device FROM devices WHERE rowid_ = $1", 1, p)) != FS_OK)
		return err;
	if (PQntuples(r) != 1)
		err = FS_ERR_NOTFOUND;
	else
		err = strcmp(pg_text(r, 0, 0), hlc_device) == 0 ? FS_OK : FS_ERR_FORBIDDEN;
	PQclear(r);
	return err;
}

fs_err
pg_device_last_hlc(struct store *store, int64_t rowid, char ret_hlc[HLC_TEXT_LEN + 1])
{
	pg_i64buf b;
	const char *p[] = { pg_i64(b, rowid) };
	PGresult *r;
	fs_err err;

	ret_hlc[0] = '\0';
	if ((err = pg_run(store_pg_conn(store), "reading a device", &r,
		 "SELECT last_hlc FROM devices WHERE rowid_ = $1", 1, p)) != FS_OK)
		return err;
	if (PQntuples(r) == 1)
		snprintf(ret_hlc, HLC_TEXT_LEN + 1, "%s", pg_text(r, 0, 0));
	PQclear(r);
	return FS_OK;
}

fs_err
pg_device_key_reset(struct store *store, const char *name)
{
	const char *p[] = { name };
	int64_t n = 0;
	fs_err err;

	if ((err = write1(store, "resetting a device key",
		 "UPDATE devices SET sign_key = NULL, chain_head = NULL, chain_hlc = NULL"
		 " WHERE name = $1",
		 1, p, &n)) != FS_OK)
		return err;
	return n == 0 ? FS_ERR_NOTFOUND : FS_OK;
}

fs_err
pg_device_info(struct store *store, const char *hlc_device, char ret_name[65], char **ret_keys)
{
	const char *p[] = { hlc_device };
	PGresult *r;
	fs_err err;

	*ret_keys = NULL;
	ret_name[0] = '\0';
	if ((err = pg_run(store_pg_conn(store), "device", &r,
		 "SELECT coalesce((SELECT name FROM devices WHERE hlc_device = $1),"
		 " CASE WHEN $1 = (SELECT value FROM server_meta WHERE key = 'hlc_device')"
		 " THEN 'headquarters' END, ''),"
		 " coalesce((SELECT string_agg(key, ',' ORDER BY at, key) FROM device_keys"
		 " WHERE device = $1), '')",
		 1, p)) != FS_OK)
		return err;
	snprintf(ret_name, 65, "%s", pg_text(r, 0, 0));
	*ret_keys = strdup(pg_text(r, 0, 1));
	PQclear(r);
	return *ret_keys != NULL ? FS_OK : FS_ERR_NOMEM;
}

/* --- Forms and keys -------------------------------------------------- */

fs_err
pg_form_insert(struct store *store, const char *id, int64_t version, const char *canonical,
    bool *ret_new)
{
	pg_i64buf b;
	char now[32];
	const char *p[] = { id, pg_i64(b, version), canonical, now };
	int64_t n = 0;
	char *stored = NULL;
	fs_err err;

	pg_now_text(now);
	if ((err = write1(store, "form publish",
		 "INSERT INTO forms(id, version, definition, published_at) VALUES($1, $2, $3, $4)"
		 " ON CONFLICT(id, version) DO NOTHING",
		 4, p, &n)) != FS_OK)
		return err;
	*ret_new = n != 0;
	if (*ret_new)
		return FS_OK;
	/* Already published: only an identical definition is accepted. */
	if ((err = pg_form_definition(store, id, version, &stored)) != FS_OK)
		return err;
	err = strcmp(stored, canonical) == 0 ? FS_OK : FS_ERR_EXISTS;
	free(stored);
	return err;
}

fs_err
pg_form_definition(struct store *store, const char *id, int64_t version, char **ret_json)
{
	pg_i64buf b;
	const char *p[] = { id, pg_i64(b, version) };
	PGresult *r;
	fs_err err;

	if ((err = pg_run_prepared(store_pg_conn(store), "form_def", "form", &r,
		 "SELECT definition FROM forms WHERE id = $1 AND version = $2", 2, p)) != FS_OK)
		return err;
	if (PQntuples(r) != 1)
		err = FS_ERR_NOTFOUND;
	else if ((*ret_json = strdup(pg_text(r, 0, 0))) == NULL)
		err = FS_ERR_NOMEM;
	PQclear(r);
	return err;
}

fs_err
pg_form_list(struct store *store, store_form_cb cb, void *arg)
{
	struct store_form f;
	PGresult *r;
	fs_err err;

	if ((err = pg_run(store_pg_conn(store), "form list", &r,
		 "SELECT id, version, definition, published_at FROM forms ORDER BY id, version", 0,
		 NULL)) != FS_OK)
		return err;
	for (int i = 0; i < PQntuples(r); i++) {
		f.id = pg_text(r, i, 0);
		f.version = pg_int(r, i, 1);
		f.definition = pg_text(r, i, 2);
		f.published_at = pg_text(r, i, 3);
		if (cb(arg, &f) != 0)
			break;
	}
	PQclear(r);
	return FS_OK;
}

fs_err
pg_seal_key_add(struct store *store, const char *id, const char *public_hex,
    const char *locked_json)
{
	char now[32];
	const char *p[] = { id, public_hex, locked_json, now };

	pg_now_text(now);
	return write1(store, "adding a sealing key",
	    "INSERT INTO seal_keys(id, public, locked, created_at) VALUES($1, $2, $3, $4)", 4, p,
	    NULL);
}

fs_err
pg_seal_keys(struct store *store, char **ret_json)
{
	PGresult *r;
	fs_err err;

	*ret_json = NULL;
	if ((err = pg_run(store_pg_conn(store), "reading sealing keys", &r,
		 "SELECT coalesce(json_agg(json_build_object('id', id, 'public', public,"
		 " 'locked', locked::json, 'created_at', created_at)"
		 " ORDER BY created_at DESC, id), '[]')::text FROM seal_keys",
		 0, NULL)) != FS_OK)
		return err;
	*ret_json = strdup(pg_text(r, 0, 0));
	PQclear(r);
	return *ret_json != NULL ? FS_OK : FS_ERR_NOMEM;
}

/* --- Counts ---------------------------------------------------------- */

static fs_err
single_int(struct store *store, const char *sql, int64_t *ret)
{
	PGresult *r;
	fs_err err;

	if ((err = pg_run(store_pg_conn(store), "reading a count", &r, sql, 0, NULL)) != FS_OK)
		return err;
	*ret = pg_int(r, 0, 0);
	PQclear(r);
	return FS_OK;
}

fs_err
pg_max_seq(struct store *store, int64_t *ret_seq)
{
	return single_int(store, "SELECT coalesce(max(seq), 0) FROM changes", ret_seq);
}

fs_err
pg_open_conflicts(struct store *store, int64_t *ret_n)
{
	return single_int(store, "SELECT coalesce(sum(open_conflicts), 0) FROM records", ret_n);
}

fs_err
pg_forms_version(struct store *store, int64_t *ret_version)
{
	/* As the SQLite store: grows with every form and every sealing key. */
	return single_int(store,
	    "SELECT (SELECT count(*) FROM forms) + (SELECT count(*) FROM seal_keys)", ret_version);
}

/* --- Names of devices ------------------------------------------------ */

fs_err
pg_names_load(PGconn *c, struct pg_names *n)
{
	fs_err err;

	memset(n, 0, sizeof(*n));
	if ((err = pg_meta_get(c, "hlc_device", n->server, sizeof(n->server))) != FS_OK)
		return err;
	return pg_run(c, "device names", &n->r,
	    "SELECT hlc_device, name FROM devices WHERE hlc_device IS NOT NULL ORDER BY hlc_device",
	    0, NULL);
}

const char *
pg_names_find(const struct pg_names *n, const char *hlc_device)
{
	int lo = 0, hi = n->r != NULL ? PQntuples(n->r) : 0;

	while (lo < hi) {
		int mid = (lo + hi) / 2, cmp = strcmp(PQgetvalue(n->r, mid, 0), hlc_device);

		if (cmp == 0)
			return PQgetvalue(n->r, mid, 1);
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return strcmp(hlc_device, n->server) == 0 ? "fieldsyncd" : "";
}

void
pg_names_free(struct pg_names *n)
{
	PQclear(n->r);
	n->r = NULL;
}
