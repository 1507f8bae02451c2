/*
 * forms.c -- form definitions on the device: import, list, lookup.
 *
 * Definitions are checked by common/form.c before they are stored, and
 * stored in their canonical JSON.  Parsed forms are cached on the handle;
 * a (id, version) pair is immutable once imported, so the cache never goes
 * stale.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"

static const struct form *
cache_find(fs_client *c, const char *id, int64_t version)
{
	for (size_t i = 0; i < c->nforms; i++)
		if (c->forms[i]->version == version && strcmp(c->forms[i]->id, id) == 0)
			return c->forms[i];
	return NULL;
}

static fs_err
cache_add(fs_client *c, struct form *form)
{
	struct form **grown = realloc(c->forms, (c->nforms + 1) * sizeof(*grown));

	if (grown == NULL)
		return FS_ERR_NOMEM;
	c->forms = grown;
	c->forms[c->nforms++] = form;
	return FS_OK;
}

fs_err
forms_get(fs_client *c, const char *form_id, int64_t version, const struct form **ret_form)
{
	const struct form *cached;
	struct form *form = NULL;
	sqlite3_stmt *st;
	char msg[256];
	fs_err err;
	int rc;

	if (version > 0 && (cached = cache_find(c, form_id, version)) != NULL) {
		*ret_form = cached;
		return FS_OK;
	}
	if ((err = db_stmt(c, version > 0
			? "SELECT version, definition FROM forms WHERE id = ?1 AND version = ?2"
			: "SELECT version, definition FROM forms WHERE id = ?1"
			  " ORDER BY version DESC LIMIT 1",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, form_id, -1, SQLITE_STATIC);
	if (version > 0)
		sqlite3_bind_int64(st, 2, version);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_stmt_done(c, st);
		if (version > 0)
			return client_fail(c, FS_ERR_NOTFOUND, "form '%s' version %lld is not on this device",
			    form_id, (long long)version);
		return client_fail(c, FS_ERR_NOTFOUND, "form '%s' is not on this device", form_id);
	}
	if (rc != SQLITE_ROW) {
		err = db_fail(c, "reading forms");
		db_stmt_done(c, st);
		return err;
	}
	version = sqlite3_column_int64(st, 0);
	if ((cached = cache_find(c, form_id, version)) != NULL) {
		db_stmt_done(c, st);
		*ret_form = cached;
		return FS_OK;
	}
	err = form_load((const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1),
	    &form, msg, sizeof(msg));
	db_stmt_done(c, st);
	if (err != FS_OK)
		return client_fail(c, FS_ERR_CORRUPT, "stored form '%s' is damaged: %s", form_id, msg);
	if (cache_add(c, form) != FS_OK) {
		form_free(form);
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	}
	*ret_form = form;
	return FS_OK;
}

/* Inserts a checked form; FS_ERR_EXISTS if the version exists with other content. */
static fs_err
forms_store(fs_client *c, const struct form *form)
{
	sqlite3_stmt *st;
	char now[32];
	fs_err err;
	int rc;

	if ((err = db_prepare(c, "SELECT definition FROM forms WHERE id = ? AND version = ?", &st)) !=
	    FS_OK)
		return err;
	sqlite3_bind_text(st, 1, form->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, form->version);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		bool same = strcmp((const char *)sqlite3_column_text(st, 0), form->json) == 0;
		sqlite3_finalize(st);
		if (same)
			return FS_OK;
		return client_fail(c, FS_ERR_EXISTS,
		    "form '%s' version %lld exists with different content; publish a new version",
		    form->id, (long long)form->version);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(c, "reading forms");
	db_now_text(now);
	if ((err = db_prepare(c, "INSERT INTO forms(id, version, definition, imported_at)"
				 " VALUES(?, ?, ?, ?)",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, form->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, form->version);
	sqlite3_bind_text(st, 3, form->json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "storing form");
	sqlite3_finalize(st);
	return err;
}

fs_err
fs_forms_import(fs_client *c, const char *json, size_t len, char **ret_form_id)
{
	struct form *form = NULL;
	char msg[256];
	char *id = NULL;
	fs_err err;

	if (c == NULL || json == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if ((err = form_load(json, len, &form, msg, sizeof(msg))) != FS_OK)
		return client_fail(c, err, "%s", msg);
	if (ret_form_id != NULL && (id = strdup(form->id)) == NULL) {
		form_free(form);
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	}
	if ((err = db_begin(c)) == FS_OK) {
		if ((err = forms_store(c, form)) == FS_OK)
			err = db_commit(c);
		else
			db_rollback(c);
	}
	form_free(form);
	if (err != FS_OK) {
		free(id);
		return err;
	}
	if (ret_form_id != NULL)
		*ret_form_id = id;
	return FS_OK;
}

fs_err
fs_forms_list(fs_client *c, char **ret_json)
{
	sqlite3_stmt *st;
	cJSON *arr;
	fs_err err;
	char *text;
	int rc;

	if (c == NULL || ret_json == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if ((err = db_prepare(c, "SELECT id, version FROM forms ORDER BY id, version DESC", &st)) !=
	    FS_OK)
		return err;
	if ((arr = cJSON_CreateArray()) == NULL) {
		sqlite3_finalize(st);
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const struct form *form;
		char *id = strdup((const char *)sqlite3_column_text(st, 0));
		cJSON *item, *fields;

		if (id == NULL) {
			err = client_fail(c, FS_ERR_NOMEM, "out of memory");
			break;
		}
		err = forms_get(c, id, sqlite3_column_int64(st, 1), &form);
		free(id);
		if (err != FS_OK)
			break;
		item = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, item);
		cJSON_AddStringToObject(item, "id", form->id);
		cJSON_AddNumberToObject(item, "version", (double)form->version);
		cJSON_AddStringToObject(item, "title", form->title);
		cJSON_AddStringToObject(item, "conflict", form_conflict_name(form->conflict));
		fields = cJSON_AddArrayToObject(item, "fields");
		for (size_t i = 0; i < form->nfields; i++) {
			cJSON *f = cJSON_CreateObject();
			cJSON_AddItemToArray(fields, f);
			cJSON_AddStringToObject(f, "name", form->fields[i].name);
			cJSON_AddStringToObject(f, "type", form_type_name(form->fields[i].type));
			cJSON_AddBoolToObject(f, "required", form->fields[i].required);
			cJSON_AddBoolToObject(f, "sensitive", form->fields[i].sensitive);
		}
	}
	if (err == FS_OK && rc != SQLITE_DONE)
		err = db_fail(c, "listing forms");
	sqlite3_finalize(st);
	if (err != FS_OK || (text = cJSON_PrintUnformatted(arr)) == NULL) {
		cJSON_Delete(arr);
		return err != FS_OK ? err : client_fail(c, FS_ERR_NOMEM, "out of memory");
	}
	cJSON_Delete(arr);
	*ret_json = text;
	return FS_OK;
}
