/*
 * store_sqlite_rule2.c -- schema 7 -> 8: records merged again under merge
 * rule 2 (issue 22; common/merge.h).
 *
 * Under rule 1 a delete wrote null over every field, and a field's value
 * overwritten that way left the packed row (only heads are kept): a record
 * a delete raced with an edit was left a husk, its values only in the
 * changes.  The server keeps every change as received, so each record that
 * ever had a delete is merged again from its changes, in the order they
 * were stored, under rule 2: the values come back, the record is deleted
 * only if a delete saw every head, and a record an unseen edit kept alive
 * gets its one record-level conflict.  Records without a delete pack the
 * same under both rules and are left as they are.
 *
 * Each change is merged with its own form version (the policy); a change
 * whose version is not published (never stored by a push) would be a
 * damaged store: the migration stops, nothing is changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "form.h"
#include "log.h"
#include "merge_row.h"
#include "store_sqlite_internal.h"

struct rule2 {
	sqlite3 *db;
	sqlite3_stmt *changes, *form, *update;
	int records, changed;
};

static fs_err
rule2_fail(struct rule2 *m, const char *what)
{
	log_warnx("Merge rule 2 migration: %s: %s", what, sqlite3_errmsg(m->db));
	return FS_ERR_DB;
}

/* The parsed definition of (form, version) into *ret (form_free()). */
static fs_err
rule2_form(struct rule2 *m, const char *id, int64_t version, struct form **ret)
{
	char err[256];
	fs_err e = FS_ERR_CORRUPT;

	sqlite3_reset(m->form);
	sqlite3_bind_text(m->form, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(m->form, 2, version);
	if (sqlite3_step(m->form) == SQLITE_ROW) {
		const char *def = (const char *)sqlite3_column_text(m->form, 0);

		e = form_load(def, strlen(def), ret, err, sizeof(err));
		if (e != FS_OK)
			log_warnx("Merge rule 2 migration: form %s version %lld: %s", id,
			    (long long)version, err);
	} else {
		log_warnx("Merge rule 2 migration: form %s version %lld is not published", id,
		    (long long)version);
	}
	sqlite3_reset(m->form);
	return e;
}

/* Merges every stored change of record id again; writes its row. */
static fs_err
rule2_record(struct rule2 *m, const char *id)
{
	char tombstone[HLC_TEXT_LEN + 1] = "";
	struct merge_row_out last = { 0 };
	struct merge_mem mm;
	fs_err err = FS_OK;
	int rc;

	merge_mem_init(&mm, false);
	sqlite3_reset(m->changes);
	sqlite3_bind_text(m->changes, 1, id, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(m->changes)) == SQLITE_ROW) {
		const char *body = (const char *)sqlite3_column_text(m->changes, 0);
		struct merge_result res = { 0 };
		struct merge_row_out out;
		struct form *form = NULL;
		struct change ch;
		char why[256];
		cJSON *obj = cJSON_Parse(body);

		if (obj == NULL || change_parse(obj, &ch, why, sizeof(why)) != FS_OK) {
			log_warnx("Merge rule 2 migration: record %s: a stored change is damaged", id);
			cJSON_Delete(obj);
			err = FS_ERR_CORRUPT;
			break;
		}
		if ((err = rule2_form(m, ch.form, ch.form_version, &form)) == FS_OK)
			err = merge_row_merge(&mm, form, &ch, tombstone, &res, &out);
		form_free(form);
		cJSON_Delete(obj);
		if (err != FS_OK)
			break;
		if (out.applied) {
			free(last.state);
			last = out;
		}
	}
	if (err == FS_OK && rc != SQLITE_DONE)
		err = rule2_fail(m, "reading changes");
	sqlite3_reset(m->changes);
	if (err == FS_OK && last.state != NULL) {
		sqlite3_reset(m->update);
		sqlite3_bind_text(m->update, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(m->update, 2, last.state, -1, SQLITE_STATIC);
		sqlite3_bind_int(m->update, 3, last.deleted);
		sqlite3_bind_int(m->update, 4, last.open);
		if (tombstone[0] != '\0')
			sqlite3_bind_text(m->update, 5, tombstone, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(m->update, 5);
		if (sqlite3_step(m->update) != SQLITE_DONE)
			err = rule2_fail(m, "writing a record");
		else
			m->changed += sqlite3_changes(m->db) > 0;
		sqlite3_reset(m->update);
	}
	free(last.state);
	merge_mem_finish(&mm);
	return err;
}

fs_err
sqlite_rule2_migrate(sqlite3 *db)
{
	struct rule2 m = { .db = db };
	sqlite3_stmt *recs = NULL;
	fs_err err = FS_OK;
	int rc = SQLITE_DONE;

	if (sqlite3_prepare_v2(db, "SELECT body FROM changes WHERE record_id = ? ORDER BY seq", -1,
		&m.changes, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT definition FROM forms WHERE id = ? AND version = ?", -1,
		&m.form, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
		"UPDATE records SET state = ?2, deleted = ?3, open_conflicts = ?4,"
		" tombstone = ?5 WHERE id = ?1",
		-1, &m.update, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
		"SELECT DISTINCT record_id FROM changes WHERE body ->> '$.op' = 'delete'", -1, &recs,
		NULL) != SQLITE_OK) {
		err = rule2_fail(&m, "preparing");
		goto out;
	}
	while ((rc = sqlite3_step(recs)) == SQLITE_ROW) {
		m.records++;
		if ((err = rule2_record(&m, (const char *)sqlite3_column_text(recs, 0))) != FS_OK)
			break;
	}
	if (err == FS_OK && rc != SQLITE_DONE)
		err = rule2_fail(&m, "reading records");
	if (err == FS_OK)
		log_info("Merge rule 2: %d record(s) with a delete merged again from their changes",
		    m.records);
out:
	sqlite3_finalize(m.changes);
	sqlite3_finalize(m.form);
	sqlite3_finalize(m.update);
	sqlite3_finalize(recs);
	return err;
}
