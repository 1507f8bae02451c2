/*
 * store_forms.c -- published forms above every store backend: a
 * definition is checked with form_load() before it is stored, and what is
 * stored is the form module's canonical JSON, so two publications of the
 * same definition compare equal byte for byte whatever their formatting.
 * The backend keeps texts (store_form_insert(), store_form_definition(),
 * store_form_list()); parsing and its rules live here once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "log.h"
#include "store.h"

fs_err
store_form_publish(struct store *store, const char *json, size_t len, char *err, size_t errlen,
    char ret_id[65], int64_t *ret_version, bool *ret_new)
{
	struct form *form = NULL;
	bool fresh = false;
	fs_err e;

	if ((e = form_load(json, len, &form, err, errlen)) != FS_OK)
		return e;
	e = store_form_insert(store, form->id, form->version, form->json, &fresh);
	if (e == FS_ERR_EXISTS)
		snprintf(err, errlen,
		    "form '%s' version %lld is already published with a different definition;"
		    " publish it as a new version",
		    form->id, (long long)form->version);
	if (e == FS_OK) {
		if (ret_id != NULL)
			snprintf(ret_id, 65, "%s", form->id);
		if (ret_version != NULL)
			*ret_version = form->version;
		if (ret_new != NULL)
			*ret_new = fresh;
	}
	form_free(form);
	return e;
}

fs_err
store_form_get(struct store *store, const char *id, int64_t version, struct form **ret_form)
{
	char msg[256], *def = NULL;
	fs_err err;

	if ((err = store_form_definition(store, id, version, &def)) != FS_OK)
		return err;
	err = form_load(def, strlen(def), ret_form, msg, sizeof(msg));
	free(def);
	if (err != FS_OK) {
		log_warnx("Stored form '%s' version %lld no longer loads: %s", id,
		    (long long)version, msg);
		return err == FS_ERR_NOMEM ? err : FS_ERR_CORRUPT;
	}
	return FS_OK;
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
