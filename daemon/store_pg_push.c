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

struct store_push {
	struct store_base base; /* first: store.c dispatches through it */
	struct store *store;
	PGconn *c;
	char now[32]; /* the transaction's time: every row it writes carries it */
};

extern const struct store_ops *const store_pg_ops_table;

fs_err
pg_push_begin(struct store *store, struct store_push **ret_push)
{
	struct store_push *push;
	PGconn *c = store_pg_conn(store);
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
	/* After the lock: times follow the order writers commit in. */
	pg_now_text(push->now);
	*ret_push = push;
	return FS_OK;
}

fs_err
pg_push_commit(struct store_push *push)
{
	fs_err err = pg_write_end(push->c, FS_OK);

	free(push);
	return err;
}

void
pg_push_abort(struct store_push *push)
{
	if (push == NULL)
		return;
	pg_write_end(push->c, FS_ERR_CANCELLED);
	free(push);
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
	const char *p[] = { record_id };
	PGresult *r;
	fs_err err;

	memset(ret, 0, sizeof(*ret));
	if ((err = pg_run_prepared(push->c, "record_head", "reading record", &r,
		 "SELECT team, form, form_version FROM records WHERE id = $1", 1, p)) != FS_OK)
		return err;
	if (PQntuples(r) == 1) {
		ret->exists = true;
		snprintf(ret->team, sizeof(ret->team), "%s", pg_text(r, 0, 0));
		snprintf(ret->form, sizeof(ret->form), "%s", pg_text(r, 0, 1));
		ret->form_version = pg_int(r, 0, 2);
	}
	PQclear(r);
	return FS_OK;
}

fs_err
pg_push_change_insert(struct store_push *push, const struct change *ch, const char *body,
    const char *team, const char *device, const char *batch, int64_t *ret_seq, bool *ret_dup)
{
	const char *p[] = { ch->id, team, device, batch, ch->hlc, body, push->now };
	char seq[24];
	PGresult *r;
	fs_err err;

	if ((err = pg_run_prepared(push->c, "change_insert", "appending change", &r,
		 "INSERT INTO changes(record_id, team, device, batch, hlc, body, received_at)"
		 " VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(record_id, hlc) DO NOTHING"
		 " RETURNING seq",
		 7, p)) != FS_OK)
		return err;
	*ret_dup = PQntuples(r) == 0;
	*ret_seq = *ret_dup ? 0 : pg_int(r, 0, 0);
	snprintf(seq, sizeof(seq), "%s", *ret_dup ? "" : pg_text(r, 0, 0));
	PQclear(r);
	if (*ret_dup)
		return FS_OK;
	/* The record's history chain: the items the SQLite store hashes. */
	const char *items[] = { ch->id, seq, push->now, body };
	return pg_history_append(push->c, ch->id, "change", *ret_seq, 4, items);
}

/* The record's tombstone and state into *tombstone and mm (nothing if new). */
static fs_err
record_state_load(struct store_push *push, const char *id, char tombstone[HLC_TEXT_LEN + 1],
    struct merge_mem *mm)
{
	const char *p[] = { id };
	PGresult *r;
	fs_err err;

	tombstone[0] = '\0';
	if ((err = pg_run_prepared(push->c, "record_load", "reading record", &r,
		 "SELECT tombstone, state FROM records WHERE id = $1 FOR UPDATE", 1, p)) != FS_OK)
		return err;
	if (PQntuples(r) == 1) {
		snprintf(tombstone, HLC_TEXT_LEN + 1, "%s", pg_text(r, 0, 0));
		if (!PQgetisnull(r, 0, 1) &&
		    (err = merge_row_load(mm, id, PQgetvalue(r, 0, 1),
			 (size_t)PQgetlength(r, 0, 1))) != FS_OK)
			log_warnx("Record %s: stored state is damaged", id);
	}
	PQclear(r);
	return err;
}

fs_err
pg_push_record_merge(struct store_push *push, const struct form *form, const struct change *ch,
    const char *team, const char *author, int64_t seq, struct merge_result *res, int *ret_open)
{
	char tombstone[HLC_TEXT_LEN + 1];
	struct merge_row_out out = { 0 };
	struct merge_mem mm;
	pg_i64buf vbuf, sbuf;
	char open[16];
	fs_err err;

	merge_mem_init(&mm, false);
	if ((err = record_state_load(push, ch->id, tombstone, &mm)) != FS_OK ||
	    (err = merge_row_merge(&mm, form, ch, tombstone, res, &out)) != FS_OK)
		goto out;
	*ret_open = out.open;
	if (!out.applied)
		goto out; /* merged before (its change was stored under another seq) */
	snprintf(open, sizeof(open), "%d", out.open);
	const char *p[] = { ch->id, ch->form, pg_i64(vbuf, ch->form_version), team, author,
		tombstone[0] != '\0' ? tombstone : NULL, out.deleted ? "1" : "0", open, out.state,
		pg_i64(sbuf, seq), push->now };
	err = pg_run_prepared(push->c, "record_write", "writing record", NULL,
	    "INSERT INTO records(id, form, form_version, team, created_by, tombstone,"
	    " deleted, open_conflicts, state, created_at, updated_at, last_seq)"
	    " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $11, $10)"
	    " ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at,"
	    " last_seq = excluded.last_seq,"
	    " form_version = greatest(records.form_version, excluded.form_version),"
	    " tombstone = excluded.tombstone, deleted = excluded.deleted,"
	    " open_conflicts = excluded.open_conflicts, state = excluded.state",
	    11, p);
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
pg_push_review_event(struct store_push *push, const char *id, const char *field,
    const char *stamp, const char *note, const char *actor)
{
	return pg_event_insert(push->c, push->now, id, "resolve", NULL, note, field, stamp, actor);
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
	const char *p[] = { record_id };
	PGresult *r;
	fs_err err;

	if ((err = pg_run(push->c, "reading record", &r,
		 "SELECT form, form_version, team FROM records WHERE id = $1", 1, p)) != FS_OK)
		return err;
	if (PQntuples(r) == 1) {
		snprintf(ret_form, 65, "%s", pg_text(r, 0, 0));
		*ret_version = pg_int(r, 0, 1);
		snprintf(ret_team, 65, "%s", pg_text(r, 0, 2));
	} else {
		err = FS_ERR_NOTFOUND;
	}
	PQclear(r);
	return err;
}

fs_err
pg_push_record_values(struct store_push *push, const char *record_id, cJSON **ret)
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
pg_push_field_heads(struct store_push *push, const char *record_id, const char *field,
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
pg_push_delete_resolution(struct store_push *push, const char *record_id, bool keep,
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
	const char *p[] = { record_id, hlc };
	PGresult *r;
	fs_err err;

	*ret_body = NULL;
	if ((err = pg_run_prepared(push->c, "change_body", "reading a change", &r,
		 "SELECT body FROM changes WHERE record_id = $1 AND hlc = $2", 2, p)) != FS_OK)
		return err;
	if (PQntuples(r) == 1 && (*ret_body = strdup(pg_text(r, 0, 0))) == NULL)
		err = FS_ERR_NOMEM;
	PQclear(r);
	return err;
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
