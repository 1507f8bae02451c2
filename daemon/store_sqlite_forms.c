/*
 * store_sqlite_forms.c -- published form definitions in the SQLite store.
 * See store.h.
 *
 * A definition is checked with form_load() before it is stored, and what is
 * stored is the form module's canonical JSON, so two publications of the
 * same definition compare equal byte for byte whatever their formatting.
 * Published versions are never changed or removed: records name the version
 * they were made with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "log.h"
#include "store.h"
#include "store_sqlite_internal.h"

fs_err
store_form_publish(struct store *store, const char *json, size_t len, char *err, size_t errlen,
    char ret_id[65], int64_t *ret_version, bool *ret_new)
{
	struct form *form = NULL;
	sqlite3_stmt *st;
	bool fresh = true;
	fs_err e;
	int rc;

	if ((e = form_load(json, len, &form, err, errlen)) != FS_OK)
		return e;
	e = store_sqlite_prepare(store,
	    "INSERT INTO forms(id, version, definition, published_at)"
	    " VALUES(?1, ?2, ?3, " STORE_SQLITE_NOW ") ON CONFLICT(id, version) DO NOTHING",
	    &st);
	if (e != FS_OK)
		goto out;
	sqlite3_bind_text(st, 1, form->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, form->version);
	sqlite3_bind_text(st, 3, form->json, -1, SQLITE_STATIC);
	if ((e = store_sqlite_step_done(st, "form publish")) != FS_OK)
		goto out;
	if (sqlite3_changes(store_sqlite_db(store)) == 0) {
		/* Already published: only an identical definition is accepted. */
		fresh = false;
		e = store_sqlite_prepare(
		    store, "SELECT definition FROM forms WHERE id = ?1 AND version = ?2", &st);
		if (e != FS_OK)
			goto out;
		sqlite3_bind_text(st, 1, form->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, form->version);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			if (strcmp(store_sqlite_text(st, 0), form->json) != 0) {
				snprintf(err, errlen,
				    "form '%s' version %lld is already published with a different "
				    "definition; publish it as a new version",
				    form->id, (long long)form->version);
				e = FS_ERR_EXISTS;
			}
		} else {
			e = store_sqlite_err(sqlite3_db_handle(st), rc, "form publish");
		}
		sqlite3_finalize(st);
		if (e != FS_OK)
			goto out;
	}
	if (ret_id != NULL)
		snprintf(ret_id, 65, "%s", form->id);
	if (ret_version != NULL)
		*ret_version = form->version;
	if (ret_new != NULL)
		*ret_new = fresh;
out:
	form_free(form);
	return e;
}

fs_err
store_form_list(struct store *store, store_form_cb cb, void *arg)
{
	struct store_form f;
	sqlite3_stmt *st;
	fs_err err;
	int rc;

	err = store_sqlite_prepare(store,
	    "SELECT id, version, definition, published_at FROM forms ORDER BY id, version", &st);
	if (err != FS_OK)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		f.id = store_sqlite_text(st, 0);
		f.version = sqlite3_column_int64(st, 1);
		f.definition = store_sqlite_text(st, 2);
		f.published_at = store_sqlite_text(st, 3);
		if (cb(arg, &f) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	err = rc == SQLITE_DONE ? FS_OK : store_sqlite_err(sqlite3_db_handle(st), rc, "form list");
	sqlite3_finalize(st);
	return err;
}

struct json_buf {
	char *data;
	size_t len, cap;
	bool failed;
};

static void
json_buf_add(struct json_buf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static int
forms_json_add(void *arg, const struct store_form *f)
{
	struct json_buf *b = arg;

	if (b->len > 1)
		json_buf_add(b, ",", 1);
	json_buf_add(b, f->definition, strlen(f->definition));
	return b->failed ? 1 : 0;
}

fs_err
store_forms_json(struct store *store, char **ret_json, size_t *ret_len)
{
	struct json_buf b = {0};
	fs_err err;

	json_buf_add(&b, "[", 1);
	if ((err = store_form_list(store, forms_json_add, &b)) != FS_OK)
		goto fail;
	json_buf_add(&b, "]", 1);
	if (b.failed) {
		err = FS_ERR_NOMEM;
		goto fail;
	}
	*ret_json = b.data;
	if (ret_len != NULL)
		*ret_len = b.len;
	return FS_OK;
fail:
	free(b.data);
	return b.failed ? FS_ERR_NOMEM : err;
}

fs_err
store_form_get(struct store *store, const char *id, int64_t version, struct form **ret_form)
{
	char msg[256];
	sqlite3_stmt *st;
	const char *def;
	fs_err err;
	int rc;

	err = store_sqlite_prepare(
	    store, "SELECT definition FROM forms WHERE id = ?1 AND version = ?2", &st);
	if (err != FS_OK)
		return err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? FS_ERR_NOTFOUND
		                        : store_sqlite_err(sqlite3_db_handle(st), rc, "form get");
		sqlite3_finalize(st);
		return err;
	}
	def = store_sqlite_text(st, 0);
	err = form_load(def, strlen(def), ret_form, msg, sizeof(msg));
	sqlite3_finalize(st);
	if (err != FS_OK) {
		log_warnx("Stored form '%s' version %lld no longer loads: %s", id,
		    (long long)version, msg);
		return err == FS_ERR_NOMEM ? err : FS_ERR_CORRUPT;
	}
	return FS_OK;
}
