/*
 * drafts.c -- sensitive values sealed on save, and the author's drafts
 * (issue 17).
 *
 * Once the device knows headquarters' public key (it comes with the
 * forms, GET /v1/forms "seal_key"), every non-null value of a field its
 * form marks sensitive is sealed (common/seal.h) before the change is
 * signed and enters the change log: the log, the record's merge state and
 * everything pushed hold only the envelope.  The plain value is kept in
 * `drafts` (record, field, stamp of the write, the value's JSON text) so
 * that the officer can read and correct the form, and removed when the
 * server acknowledges the change (drafts_drop_acked), unless the form
 * says "keep_drafts": true (schema/FORMS.md; the copies then stay, under
 * the device store's encryption only).  From then on the device holds
 * ciphertext only; a value sealed by another device never had a draft
 * here.
 *
 * The store runs with secure_delete on (db.c), so a removed draft's bytes
 * are overwritten in the database file, and the WAL is truncated after
 * the removal (its frames still held the inserted page).
 *
 * A device that does not know a key yet saves plain values, as before
 * sealing: a form is never refused for want of a key.  Those changes are
 * signed as they are and go to the server plain (PROTOCOL.md, "Sealed
 * values"); sealing them later would break their signatures.
 *
 * Why no keyed hash of the value: merge reads stamps only (merge.h), so
 * conflict detection needs no value equality, and a hash every device can
 * compute is also a dictionary oracle for whoever copies a store with its
 * key.  The one place that compares values, an edit's diff, compares the
 * author's drafts; a field whose plain value this device does not hold is
 * written again when an edit names it.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "internal.h"
#include "seal.h"

fs_err
drafts_load_key(fs_client *c)
{
	char *text = NULL;
	cJSON *obj;
	fs_err err;

	c->has_seal = false;
	if ((err = db_meta_get(c, "seal_key", &text)) != FS_OK || text == NULL)
		return err;
	obj = cJSON_Parse(text);
	free(text);
	if (!drafts_parse_key(obj, &c->seal)) {
		cJSON_Delete(obj);
		return client_fail(c, FS_ERR_CORRUPT, "stored sealing key is malformed");
	}
	cJSON_Delete(obj);
	c->has_seal = true;
	return FS_OK;
}

bool
drafts_parse_key(const cJSON *obj, struct seal_public *ret)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "id");
	const cJSON *pk = cJSON_GetObjectItemCaseSensitive(obj, "public");

	if (!cJSON_IsObject(obj) || !cJSON_IsString(id) || !cJSON_IsString(pk) ||
	    !seal_public_from_hex(pk->valuestring, ret))
		return false;
	/* The id is the key's hash: a mismatch is a damaged or forged answer. */
	return strcmp(ret->id, id->valuestring) == 0;
}

fs_err
drafts_set_key(fs_client *c, const cJSON *seal_key)
{
	struct seal_public pub;
	char text[128];
	fs_err err;

	if (seal_key == NULL || cJSON_IsNull(seal_key))
		return FS_OK; /* headquarters has no key (yet): a key once learned is kept */
	if (!drafts_parse_key(seal_key, &pub))
		return client_fail(c, FS_ERR_PROTOCOL, "the server's sealing key is malformed");
	if (c->has_seal && strcmp(c->seal.id, pub.id) == 0)
		return FS_OK;
	snprintf(text, sizeof(text), "{\"id\":\"%s\",\"public\":\"", pub.id);
	for (size_t i = 0; i < SEAL_PUBLIC_LEN; i++)
		snprintf(text + strlen(text), 3, "%02x", pub.pk[i]);
	strcat(text, "\"}");
	if ((err = db_meta_set(c, "seal_key", text)) != FS_OK)
		return err;
	c->seal = pub;
	c->has_seal = true;
	return FS_OK;
}

static fs_err
draft_insert(fs_client *c, const char *record, const char *field, const char *stamp,
    const char *text, bool keep)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = db_stmt(c, "INSERT OR REPLACE INTO drafts(record_id, field, hlc, value, keep)"
			      " VALUES(?1, ?2, ?3, ?4, ?5)",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, record, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, stamp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, keep ? 1 : 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "keeping a draft");
	db_stmt_done(c, st);
	return err;
}

fs_err
drafts_seal_change(fs_client *c, const struct form *form, cJSON *change)
{
	cJSON *fields = cJSON_GetObjectItemCaseSensitive(change, "fields");
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(change, "id"));
	const char *stamp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(change, "hlc"));
	cJSON *item, *next;
	fs_err err;

	if (!c->has_seal || fields == NULL || id == NULL || stamp == NULL)
		return FS_OK;
	for (item = fields->child; item != NULL; item = next) {
		const struct form_field *f = form_field_find(form, item->string);
		cJSON *env = NULL;
		char *text;
		size_t len;

		next = item->next;
		if (f == NULL || !f->sensitive || cJSON_IsNull(item) || seal_is_envelope(item))
			continue;
		if ((text = cJSON_PrintUnformatted(item)) == NULL)
			return client_fail(c, FS_ERR_NOMEM, "out of memory");
		len = strlen(text);
		err = seal_value(&c->seal, text, len, &env);
		if (err == FS_OK)
			err = draft_insert(c, id, item->string, stamp, text, form->keep_drafts);
		sodium_memzero(text, len);
		free(text);
		if (err != FS_OK) {
			cJSON_Delete(env);
			return err == FS_ERR_NOMEM ? client_fail(c, err, "out of memory") : err;
		}
		/* ReplaceItemViaPointer keeps no member name: give it the field's. */
		if ((env->string = strdup(item->string)) == NULL) {
			cJSON_Delete(env);
			return client_fail(c, FS_ERR_NOMEM, "out of memory");
		}
		cJSON_ReplaceItemViaPointer(fields, item, env);
	}
	return FS_OK;
}

fs_err
drafts_fill(fs_client *c, const char *record, cJSON *values, const cJSON *stamps)
{
	cJSON *item, *next;
	sqlite3_stmt *st;
	fs_err err = FS_OK;

	for (item = values->child; item != NULL && err == FS_OK; item = next) {
		const char *stamp = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(stamps, item->string));
		cJSON *plain = NULL;

		next = item->next;
		if (!seal_is_envelope(item) || stamp == NULL)
			continue;
		if ((err = db_stmt(c, "SELECT value FROM drafts WHERE record_id = ?1 AND field = ?2"
				      " AND hlc = ?3",
			 &st)) != FS_OK)
			break;
		sqlite3_bind_text(st, 1, record, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, item->string, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, stamp, -1, SQLITE_STATIC);
		switch (sqlite3_step(st)) {
		case SQLITE_ROW:
			plain = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
			if (plain == NULL)
				err = client_fail(c, FS_ERR_CORRUPT, "a draft of field '%s' is damaged",
				    item->string);
			break;
		case SQLITE_DONE:
			break;
		default:
			err = db_fail(c, "reading a draft");
		}
		db_stmt_done(c, st);
		if (plain != NULL) {
			if ((plain->string = strdup(item->string)) == NULL) {
				cJSON_Delete(plain);
				return client_fail(c, FS_ERR_NOMEM, "out of memory");
			}
			cJSON_ReplaceItemViaPointer(values, item, plain);
		}
	}
	return err;
}

fs_err
drafts_drop_acked(fs_client *c, const char *batch, int64_t from_seq, int64_t to_seq,
    bool *ret_dropped)
{
	sqlite3_stmt *st;
	fs_err err;

	*ret_dropped = false;
	if ((err = db_stmt(c, "DELETE FROM drafts WHERE keep = 0 AND hlc IN (SELECT hlc FROM"
			      " changelog WHERE seq BETWEEN ?2 AND ?3 AND batch = ?1 AND pushed = 1)",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from_seq);
	sqlite3_bind_int64(st, 3, to_seq);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "removing acknowledged drafts");
	else
		*ret_dropped = sqlite3_changes(c->db) > 0;
	db_stmt_done(c, st);
	return err;
}

void
drafts_truncate_wal(fs_client *c)
{
	/* Best effort: a reader holding the WAL makes it a partial checkpoint. */
	(void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}
