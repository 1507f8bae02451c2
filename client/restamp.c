/*
 * restamp.c -- re-stamping changes that never left the device.
 *
 * When the server refuses a batch because its stamps are too far ahead of
 * its clock (the device clock was wrong), the device learns the offset and
 * gives its unsent changes new stamps from the corrected clock, in their
 * original order.  Stamps of pushed or pulled data are never touched, and
 * the clock restarts just after the highest of them, so order with respect
 * to everything the server has seen is kept.  Bases that named an old
 * stamp are rewritten to the new one.  One transaction.
 *
 * The original stamp is kept in changelog.device_hlc as evidence of what
 * the device clock said.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "id.h"
#include "internal.h"

struct stamp_map {
	char (*old)[HLC_TEXT_LEN + 1];
	char (*new)[HLC_TEXT_LEN + 1];
	char (*rec)[ID_RECORD_LEN + 1]; /* the record each stamp wrote */
	size_t n;
};

static const char *
map_find(const struct stamp_map *m, const char *old)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->old[i], old) == 0)
			return m->new[i];
	return NULL;
}

static void
rewrite_base(const struct stamp_map *m, cJSON *base)
{
	cJSON *item, *s;
	const char *repl;

	cJSON_ArrayForEach(item, base)
	{
		if (cJSON_IsString(item) && (repl = map_find(m, item->valuestring)) != NULL) {
			cJSON_SetValuestring(item, repl);
		} else if (cJSON_IsArray(item)) {
			cJSON_ArrayForEach(s, item)
			{
				if (cJSON_IsString(s) && (repl = map_find(m, s->valuestring)) != NULL)
					cJSON_SetValuestring(s, repl);
			}
		}
	}
}

/* Doubles the map's room; on failure the map is unchanged (and still freed by the caller). */
static fs_err
map_grow(struct stamp_map *m, size_t *cap)
{
	size_t n = *cap ? *cap * 2 : 64;
	void *p;

	if ((p = realloc(m->old, n * sizeof(*m->old))) == NULL)
		return FS_ERR_NOMEM;
	m->old = p;
	if ((p = realloc(m->new, n * sizeof(*m->new))) == NULL)
		return FS_ERR_NOMEM;
	m->new = p;
	if ((p = realloc(m->rec, n * sizeof(*m->rec))) == NULL)
		return FS_ERR_NOMEM;
	m->rec = p;
	*cap = n;
	return FS_OK;
}

/*
 * Runs sql with ?1 old stamp, ?2 new stamp, ?3 record id.  A stamp names
 * writes of one record, and bases name stamps of the same record, so the
 * statement is confined to the record's row.
 */
static fs_err
exec_bind3(fs_client *c, const char *sql, const char *a, const char *b, const char *rec)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = db_stmt(c, sql, &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rec, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "re-stamping");
	db_stmt_done(c, st);
	return err;
}

/* The highest stamp that left or came to this device: the clock's new floor. */
static fs_err
synced_floor(fs_client *c, uint64_t *ret)
{
	sqlite3_stmt *st;
	uint64_t best = 0, v;
	fs_err err;

	/*
	 * Stamps of other devices sit in the records' states (record_row.h):
	 * a scan of every row, for a rare event (a clock found wrong).
	 */
	if ((err = db_prepare(c, "SELECT max(hlc) FROM changelog WHERE pushed = 1"
				 " UNION ALL SELECT max(s.value) FROM records r,"
				 " json_each(r.state, '$.s') s WHERE r.state IS NOT NULL"
				 " AND substr(s.value, 18) <> ?",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, c->clock.device, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (t != NULL && hlc_parse(t, &v, NULL) == FS_OK && v > best)
			best = v;
	}
	sqlite3_finalize(st);
	*ret = best;
	return FS_OK;
}

fs_err
sync_restamp_pending(fs_client *c)
{
	struct stamp_map m = { 0 };
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	uint64_t floor_stamp;
	fs_err err;
	int rc;

	if ((err = db_begin(c)) != FS_OK)
		return err;
	if ((err = synced_floor(c, &floor_stamp)) != FS_OK)
		goto rollback;
	c->clock.last = floor_stamp;
	if ((err = db_prepare(c, "SELECT seq, hlc, body, record_id FROM changelog WHERE pushed = 0"
				 " AND rejected IS NULL ORDER BY seq",
		 &st)) != FS_OK)
		goto rollback;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		const char *old = (const char *)sqlite3_column_text(st, 1);
		cJSON *body = cJSON_Parse((const char *)sqlite3_column_text(st, 2));
		sqlite3_stmt *up;
		uint64_t ts;
		char *text;

		if (body == NULL) {
			err = client_fail(c, FS_ERR_CORRUPT, "change %lld in the log is damaged",
			    (long long)seq);
			goto rollback;
		}
		if (m.n == cap && map_grow(&m, &cap) != FS_OK) {
			cJSON_Delete(body);
			err = client_fail(c, FS_ERR_NOMEM, "out of memory");
			goto rollback;
		}
		memcpy(m.old[m.n], old, HLC_TEXT_LEN + 1);
		snprintf(m.rec[m.n], sizeof(m.rec[m.n]), "%s",
		    (const char *)sqlite3_column_text(st, 3));
		if ((err = hlc_tick(&c->clock, hlc_wall_ms() + c->clock_offset_ms, &ts)) != FS_OK) {
			cJSON_Delete(body);
			goto rollback;
		}
		hlc_format(ts, c->clock.device, m.new[m.n]);
		cJSON_ReplaceItemInObjectCaseSensitive(body, "hlc", cJSON_CreateString(m.new[m.n]));
		m.n++;
		rewrite_base(&m, cJSON_GetObjectItemCaseSensitive(body, "base"));
		text = cJSON_PrintUnformatted(body);
		cJSON_Delete(body);
		if (text == NULL) {
			err = client_fail(c, FS_ERR_NOMEM, "out of memory");
			goto rollback;
		}
		if ((err = db_prepare(c, "UPDATE changelog SET hlc = ?1, body = ?2, batch = NULL,"
					 " device_hlc = coalesce(device_hlc, hlc) WHERE seq = ?3",
			 &up)) != FS_OK) {
			free(text);
			goto rollback;
		}
		sqlite3_bind_text(up, 1, m.new[m.n - 1], -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 2, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(up, 3, seq);
		if (sqlite3_step(up) != SQLITE_DONE)
			err = db_fail(c, "re-stamping");
		sqlite3_finalize(up);
		free(text);
		if (err != FS_OK)
			goto rollback;
	}
	sqlite3_finalize(st);
	st = NULL;
	/*
	 * Same substitution in the records' rows.  A stamp is a fixed-width
	 * text that occurs in a packed state only as an entry of its stamp
	 * table (merge_mem.h), so a textual replace is exact.
	 */
	for (size_t i = 0; i < m.n; i++) {
		const char *o = m.old[i], *n = m.new[i], *r = m.rec[i];
		if ((err = exec_bind3(c, "UPDATE records SET state = replace(state, ?1, ?2),"
					 " tombstone = CASE WHEN tombstone = ?1 THEN ?2"
					 " ELSE tombstone END WHERE id = ?3", o, n, r)) ||
		    (err = exec_bind3(c, "UPDATE drafts SET hlc = ?2 WHERE hlc = ?1"
					 " AND record_id = ?3", o, n, r)))
			goto rollback;
	}
	/* New stamps are new canonical bytes: sign and chain them again (signing.c). */
	if ((err = signing_relink(c, 0, NULL)) != FS_OK)
		goto rollback;
	if ((err = clock_save(c)) != FS_OK || (err = db_meta_set_i64(c, "clock_offset_ms",
						       c->clock_offset_ms)) != FS_OK)
		goto rollback;
	err = db_commit(c);
	free(m.old);
	free(m.new);
	free(m.rec);
	return err;
rollback:
	sqlite3_finalize(st);
	db_rollback(c);
	free(m.old);
	free(m.new);
	free(m.rec);
	{
		int64_t last = 0;
		if (db_meta_get_i64(c, "hlc_last", 0, &last) == FS_OK)
			c->clock.last = (uint64_t)last;
	}
	return err;
}
