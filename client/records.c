/*
 * records.c -- creating, editing, deleting and reading records.
 *
 * A save validates first, then opens one write transaction that updates
 * the record, its per-field stamps and appends the change-log entry, and
 * commits (synchronous=FULL).  Either all of it is on disk or none of it.
 *
 * Field rows keep a stamp even when their value is cleared (value NULL):
 * the merge needs it.  A deleted record keeps its fields and gets a
 * tombstone stamp.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "change.h"
#include "id.h"
#include "internal.h"
#include "merge_row.h"
#include "protocol.h"
#include "record_row.h"

struct record_state {
	struct record_row row;
	char form[FORM_NAME_MAX + 1];
	int64_t version;
	bool deleted;
	cJSON *values; /* name -> value (JSON null when cleared) */
	cJSON *stamps; /* name -> stamp text */
};

static void
record_state_finish(struct record_state *r)
{
	record_row_finish(&r->row);
	cJSON_Delete(r->values);
	cJSON_Delete(r->stamps);
	memset(r, 0, sizeof(*r));
}

static fs_err
parse_values(fs_client *c, const char *values_json, cJSON **ret_values)
{
	char msg[256];
	cJSON *values;
	fs_err err;

	if ((err = form_json_parse(values_json, strlen(values_json), "values", &values, msg,
		 sizeof(msg))) != FS_OK)
		return client_fail(c, err, "%s", msg);
	if (!cJSON_IsObject(values)) {
		cJSON_Delete(values);
		return client_fail(c, FS_ERR_JSON, "values must be a JSON object");
	}
	*ret_values = values;
	return FS_OK;
}

/*
 * Reads a record's row and the current value and stamp of each field from
 * its merge state (a field with no current write has neither).
 */
static fs_err
record_load(fs_client *c, const char *id, struct record_state *r)
{
	const struct mm_record *m;
	fs_err err;

	memset(r, 0, sizeof(*r));
	if ((err = record_row_load(c, id, &r->row)) != FS_OK) {
		record_state_finish(r);
		return err;
	}
	if (!r->row.exists) {
		record_state_finish(r);
		return client_fail(c, FS_ERR_NOTFOUND, "no record %s", id);
	}
	snprintf(r->form, sizeof(r->form), "%s", r->row.form);
	r->version = r->row.version;
	r->deleted = r->row.deleted;
	r->values = cJSON_CreateObject();
	r->stamps = cJSON_CreateObject();
	if (!r->values || !r->stamps) {
		record_state_finish(r);
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	}
	m = record_row_state(&r->row, id);
	for (size_t i = 0; m != NULL && i < m->nf; i++) {
		const struct mm_write *w = merge_mem_current(&m->f[i]);
		cJSON *value;

		if (w == NULL)
			continue;
		value = w->value != NULL ? cJSON_Parse(w->value) : cJSON_CreateNull();
		if (value == NULL) {
			record_state_finish(r);
			return client_fail(c, FS_ERR_CORRUPT, "stored value of field '%s' is damaged",
			    m->f[i].name);
		}
		cJSON_AddItemToObject(r->values, m->f[i].name, value);
		cJSON_AddStringToObject(r->stamps, m->f[i].name, w->stamp);
	}
	/* The author reads its own sealed values until they are acknowledged. */
	if ((err = drafts_fill(c, id, r->values, r->stamps)) != FS_OK)
		record_state_finish(r);
	return err;
}

/* The wire form of a change (docs/PROTOCOL.md).  Takes ownership of fields and base. */
static cJSON *
change_new(const char *id, const struct form *form, const char *op, const char *stamp,
    cJSON *fields, cJSON *base)
{
	cJSON *change = cJSON_CreateObject();

	if (change == NULL) {
		cJSON_Delete(fields);
		cJSON_Delete(base);
		return NULL;
	}
	cJSON_AddStringToObject(change, "id", id);
	cJSON_AddStringToObject(change, "form", form->id);
	cJSON_AddNumberToObject(change, "form_version", (double)form->version);
	cJSON_AddStringToObject(change, "op", op);
	cJSON_AddStringToObject(change, "hlc", stamp);
	if (fields != NULL)
		cJSON_AddItemToObject(change, "fields", fields);
	cJSON_AddItemToObject(change, "base", base != NULL ? base : cJSON_CreateObject());
	return change;
}

/*
 * Merges the change into the record's row (loaded in *row, or absent for a
 * new record) with the same rule a pulled change goes through, appends it
 * to the log (which persists the clock).  The caller holds the transaction.
 */
static fs_err
save_change(fs_client *c, struct record_row *row, const struct form *form, cJSON *change)
{
	struct merge_result res = { 0 };
	char msg[256], link[64 + 1];
	struct change ch;
	fs_err err;

	if (change == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	/* Sensitive values sealed before anything keeps or signs them (drafts.c). */
	if ((err = drafts_seal_change(c, form, change)) != FS_OK)
		return err;
	/* Signed and chained before anything reads it (signing.c). */
	if ((err = signing_sign(c, change, link)) != FS_OK)
		return err;
	if ((err = change_parse(change, &ch, msg, sizeof(msg))) != FS_OK)
		return client_fail(c, FS_ERR_INTERNAL, "built a malformed change: %s", msg);
	if ((err = record_row_apply(c, row, form, &ch, &res, NULL)) != FS_OK)
		return err;
	/* The stamp is in the log now: that persists the clock (clock.c). */
	return changelog_append(c, ch.id, ch.hlc, change, link);
}

fs_err
fs_record_create(fs_client *c, const char *form_id, const char *values_json, char **ret_id)
{
	char id[ID_RECORD_LEN + 1], stamp[HLC_TEXT_LEN + 1], msg[256];
	const struct form *form;
	cJSON *values = NULL, *fields, *change = NULL;
	struct record_row row = { 0 };
	uint64_t ts;
	fs_err err;
	char *out;

	if (c == NULL || form_id == NULL || values_json == NULL || ret_id == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if (!c->has_device)
		return client_fail(c, FS_ERR_NOT_INIT, "store has no device id: run init first");
	if (strcmp(form_id, FS_REFERRAL_FORM) == 0)
		return client_fail(c, FS_ERR_FORBIDDEN,
		    "referrals are written by headquarters only, read here");
	if ((err = forms_get(c, form_id, 0, &form)) != FS_OK)
		return err;
	if ((err = parse_values(c, values_json, &values)) != FS_OK)
		return err;
	/* Skip logic (issue 19): calculated values computed, questions that do not apply emptied. */
	{
		char today[11];

		form_today(today);
		if (form_apply_logic(form, values, today) != FS_OK) {
			cJSON_Delete(values);
			return client_fail(c, FS_ERR_NOMEM, "out of memory");
		}
	}
	if ((err = form_validate(form, values, true, msg, sizeof(msg))) != FS_OK) {
		cJSON_Delete(values);
		return client_fail(c, err, "%s", msg);
	}
	/* Unset fields carry no information on create. */
	fields = cJSON_CreateObject();
	for (cJSON *item = values->child; item != NULL; item = item->next)
		if (!cJSON_IsNull(item))
			cJSON_AddItemToObject(fields, item->string, cJSON_Duplicate(item, 1));
	cJSON_Delete(values);
	if ((err = id_random_hex(id, ID_RECORD_LEN / 2)) != FS_OK) {
		cJSON_Delete(fields);
		return client_fail(c, err, "no random bytes from the kernel");
	}
	if ((out = strdup(id)) == NULL) {
		cJSON_Delete(fields);
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	}
	if ((err = db_begin(c)) != FS_OK)
		goto fail;
	if ((err = clock_tick(c, &ts, stamp)) != FS_OK)
		goto rollback;
	change = change_new(id, form, "upsert", stamp, fields, NULL);
	fields = NULL;
	record_row_finish(&row); /* a new record: no row yet */
	merge_mem_init(&row.mm, false);
	err = save_change(c, &row, form, change);
	record_row_finish(&row);
	if (err != FS_OK)
		goto rollback;
	if ((err = db_commit(c)) != FS_OK)
		goto fail;
	cJSON_Delete(change);
	*ret_id = out;
	return FS_OK;
rollback:
	db_rollback(c);
fail:
	cJSON_Delete(fields);
	cJSON_Delete(change);
	free(out);
	return err;
}

/* Loads a live record inside the current transaction, with its form. */
static fs_err
record_load_live(fs_client *c, const char *id, struct record_state *r,
    const struct form **ret_form)
{
	fs_err err;

	if ((err = record_load(c, id, r)) != FS_OK)
		return err;
	if (r->deleted) {
		record_state_finish(r);
		return client_fail(c, FS_ERR_DELETED, "record %s is deleted", id);
	}
	if (strcmp(r->form, FS_REFERRAL_FORM) == 0) {
		record_state_finish(r);
		return client_fail(c, FS_ERR_FORBIDDEN,
		    "record %s is a referral: written by headquarters only, read here", id);
	}
	if ((err = forms_get(c, r->form, r->version, ret_form)) != FS_OK)
		record_state_finish(r);
	return err;
}

/*
 * Works out what an edit changes: the edit laid over the stored values,
 * then the form's skip logic and calculations applied to the whole record
 * (issue 19: a question that stops applying is emptied, a calculated value
 * follows); fields whose value then differs from the stored one go into
 * *ret_fields, the stamps they overwrite into *ret_base, and the merged
 * record is validated as a whole.
 */
static fs_err
edit_diff(fs_client *c, const struct form *form, struct record_state *r, const cJSON *values,
    cJSON **ret_fields, cJSON **ret_base)
{
	cJSON *fields = cJSON_CreateObject(), *base = cJSON_CreateObject();
	cJSON *before = cJSON_Duplicate(r->values, 1);
	const cJSON *item;
	char msg[256], today[11];
	fs_err err;

	if (fields == NULL || base == NULL || before == NULL) {
		err = FS_ERR_NOMEM;
		snprintf(msg, sizeof(msg), "out of memory");
		goto fail_msg;
	}
	if ((err = form_validate(form, values, false, msg, sizeof(msg))) != FS_OK)
		goto fail_msg;
	cJSON_ArrayForEach(item, values)
	{
		if (cJSON_GetObjectItemCaseSensitive(r->values, item->string) != NULL)
			cJSON_ReplaceItemInObjectCaseSensitive(r->values, item->string,
			    cJSON_Duplicate(item, 1));
		else
			cJSON_AddItemToObject(r->values, item->string, cJSON_Duplicate(item, 1));
	}
	form_today(today);
	if ((err = form_apply_logic(form, r->values, today)) != FS_OK) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto fail_msg;
	}
	cJSON_ArrayForEach(item, r->values)
	{
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(before, item->string);
		const cJSON *stamp = cJSON_GetObjectItemCaseSensitive(r->stamps, item->string);
		bool old_unset = old == NULL || cJSON_IsNull(old);

		if (old_unset ? cJSON_IsNull(item) : cJSON_Compare(old, item, 1))
			continue;
		cJSON_AddItemToObject(fields, item->string, cJSON_Duplicate(item, 1));
		if (stamp != NULL)
			cJSON_AddStringToObject(base, item->string, stamp->valuestring);
	}
	if ((err = form_validate(form, r->values, true, msg, sizeof(msg))) != FS_OK)
		goto fail_msg;
	cJSON_Delete(before);
	*ret_fields = fields;
	*ret_base = base;
	return FS_OK;
fail_msg:
	cJSON_Delete(before);
	cJSON_Delete(fields);
	cJSON_Delete(base);
	return client_fail(c, err, "%s", msg);
}

fs_err
fs_record_edit(fs_client *c, const char *id, const char *values_json)
{
	struct record_state r;
	const struct form *form;
	cJSON *values = NULL, *fields = NULL, *base = NULL, *change = NULL;
	char stamp[HLC_TEXT_LEN + 1];
	uint64_t ts;
	fs_err err;

	if (c == NULL || id == NULL || values_json == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if (!c->has_device)
		return client_fail(c, FS_ERR_NOT_INIT, "store has no device id: run init first");
	if ((err = parse_values(c, values_json, &values)) != FS_OK)
		return err;
	if ((err = db_begin(c)) != FS_OK) {
		cJSON_Delete(values);
		return err;
	}
	if ((err = record_load_live(c, id, &r, &form)) != FS_OK)
		goto rollback_values;
	err = edit_diff(c, form, &r, values, &fields, &base);
	cJSON_Delete(values);
	values = NULL;
	if (err != FS_OK)
		goto rollback_state;
	if (fields->child == NULL) {
		/* Nothing differs: no change to record. */
		cJSON_Delete(fields);
		cJSON_Delete(base);
		record_state_finish(&r);
		db_rollback(c);
		return FS_OK;
	}
	if ((err = clock_tick(c, &ts, stamp)) != FS_OK) {
		cJSON_Delete(fields);
		cJSON_Delete(base);
		goto rollback_state;
	}
	change = change_new(id, form, "upsert", stamp, fields, base);
	err = save_change(c, &r.row, form, change);
	cJSON_Delete(change);
	record_state_finish(&r);
	if (err != FS_OK) {
		db_rollback(c);
		return err;
	}
	return db_commit(c);
rollback_state:
	record_state_finish(&r);
rollback_values:
	cJSON_Delete(values);
	db_rollback(c);
	return err;
}

/*
 * {field: stamp | [stamps]}: every head of every field of the loaded record
 * (a field with one head gets its stamp, several an array).  NULL when out
 * of memory.
 */
static cJSON *
delete_base(struct record_state *r, const char *id)
{
	const struct mm_record *m = record_row_state(&r->row, id);
	cJSON *base = cJSON_CreateObject();

	for (size_t i = 0; base != NULL && m != NULL && i < m->nf; i++) {
		const struct mm_field *f = &m->f[i];
		cJSON *heads = cJSON_CreateArray();

		for (size_t k = 0; heads != NULL && k < f->nw; k++)
			if (f->w[k].head)
				cJSON_AddItemToArray(heads, cJSON_CreateString(f->w[k].stamp));
		if (heads == NULL) {
			cJSON_Delete(base);
			return NULL;
		}
		if (cJSON_GetArraySize(heads) == 1)
			cJSON_AddStringToObject(base, f->name, cJSON_GetArrayItem(heads, 0)->valuestring);
		if (cJSON_GetArraySize(heads) > 1)
			cJSON_AddItemToObject(base, f->name, heads);
		else
			cJSON_Delete(heads);
	}
	return base;
}

fs_err
fs_record_delete(fs_client *c, const char *id)
{
	struct record_state r;
	const struct form *form;
	char stamp[HLC_TEXT_LEN + 1];
	cJSON *change;
	uint64_t ts;
	fs_err err;

	if (c == NULL || id == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if (!c->has_device)
		return client_fail(c, FS_ERR_NOT_INIT, "store has no device id: run init first");
	if ((err = db_begin(c)) != FS_OK)
		return err;
	if ((err = record_load_live(c, id, &r, &form)) != FS_OK) {
		db_rollback(c);
		return err;
	}
	if ((err = clock_tick(c, &ts, stamp)) != FS_OK) {
		record_state_finish(&r);
		db_rollback(c);
		return err;
	}
	/*
	 * base: every head of every field the device holds (merge rule 2,
	 * merge.h): the record is deleted while a delete saw every head, so a
	 * delete from a device that shows a field conflict settles it too.
	 */
	change = change_new(id, form, "delete", stamp, NULL, delete_base(&r, id));
	err = save_change(c, &r.row, form, change);
	record_state_finish(&r);
	cJSON_Delete(change);
	if (err != FS_OK) {
		db_rollback(c);
		return err;
	}
	return db_commit(c);
}

struct conflict_list {
	const char *field;
	cJSON *arr;
	bool nomem;
};

static void
conflict_add(void *arg, const struct mm_write *w)
{
	struct conflict_list *cl = arg;
	cJSON *item = cJSON_CreateObject(), *value = NULL;
	char device[HLC_DEVICE_LEN + 1] = "";
	uint64_t ts;

	if (w->value != NULL)
		value = cJSON_Parse(w->value);
	(void)hlc_parse(w->stamp, &ts, device);
	if (item == NULL || !cJSON_AddItemToArray(cl->arr, item)) {
		cJSON_Delete(item);
		cJSON_Delete(value);
		cl->nomem = true;
		return;
	}
	cJSON_AddStringToObject(item, "field", cl->field);
	cJSON_AddStringToObject(item, "stamp", w->stamp);
	cJSON_AddItemToObject(item, "value", value != NULL ? value : cJSON_CreateNull());
	cJSON_AddStringToObject(item, "device", device);
}

static int
conflict_order(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int d = strcmp(cJSON_GetObjectItemCaseSensitive(x, "field")->valuestring,
	    cJSON_GetObjectItemCaseSensitive(y, "field")->valuestring);

	return d != 0 ? d
		      : strcmp(cJSON_GetObjectItemCaseSensitive(x, "stamp")->valuestring,
			    cJSON_GetObjectItemCaseSensitive(y, "stamp")->valuestring);
}

/*
 * The open conflicts of a record: the values that lost, with their stamps
 * and authors, ordered by field and stamp.
 */
static fs_err
record_conflicts(fs_client *c, const struct record_state *r, const char *id, cJSON *arr)
{
	const struct mm_record *m = record_row_state(&r->row, id);
	struct conflict_list cl = { .arr = cJSON_CreateArray() };
	cJSON **items;
	size_t n;

	if (cl.arr == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; m != NULL && i < m->nf; i++) {
		cl.field = m->f[i].name;
		merge_mem_conflicts(&m->f[i], conflict_add, &cl);
	}
	n = (size_t)cJSON_GetArraySize(cl.arr);
	if (cl.nomem || (items = calloc(n + 1, sizeof(*items))) == NULL) {
		cJSON_Delete(cl.arr);
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		items[i] = cJSON_DetachItemFromArray(cl.arr, 0);
	qsort(items, n, sizeof(*items), conflict_order);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, items[i]);
	free(items);
	cJSON_Delete(cl.arr);
	return FS_OK;
}

/* One side of merge rule 2's record-level conflict, into {"deletes", "edits"}. */
static void
delete_side(void *arg, bool is_delete, const char *field, const char *stamp)
{
	cJSON *dc = arg, *list, *item;
	char device[HLC_DEVICE_LEN + 1] = "";
	uint64_t ts;

	list = cJSON_GetObjectItemCaseSensitive(dc, is_delete ? "deletes" : "edits");
	if (list == NULL)
		list = cJSON_AddArrayToObject(dc, is_delete ? "deletes" : "edits");
	if (list == NULL || (item = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddItemToArray(list, item);
	(void)hlc_parse(stamp, &ts, device);
	if (!is_delete)
		cJSON_AddStringToObject(item, "field", field);
	cJSON_AddStringToObject(item, "stamp", stamp);
	cJSON_AddStringToObject(item, "device", device);
}

fs_err
fs_record_get(fs_client *c, const char *id, char **ret_json)
{
	struct record_state r;
	cJSON *obj, *values;
	fs_err err;
	char *text;

	if (c == NULL || id == NULL || ret_json == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if ((err = record_load(c, id, &r)) != FS_OK)
		return err;
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "id", id);
	cJSON_AddStringToObject(obj, "form", r.form);
	cJSON_AddNumberToObject(obj, "form_version", (double)r.version);
	cJSON_AddBoolToObject(obj, "deleted", r.deleted);
	values = cJSON_AddObjectToObject(obj, "values");
	for (cJSON *item = r.values->child; item != NULL; item = item->next)
		if (!cJSON_IsNull(item))
			cJSON_AddItemToObject(values, item->string, cJSON_Duplicate(item, 1));
	cJSON_AddItemToObject(obj, "stamps", r.stamps);
	r.stamps = NULL;
	cJSON_AddStringToObject(obj, "created", r.row.created_at);
	cJSON_AddStringToObject(obj, "updated", r.row.updated_at);
	err = record_conflicts(c, &r, id, cJSON_AddArrayToObject(obj, "conflicts"));
	/* Merge rule 2: deleted elsewhere, edited here (or the other way) unseen. */
	if (err == FS_OK && merge_row_delete_conflict(record_row_state(&r.row, id))) {
		cJSON *dc = cJSON_AddObjectToObject(obj, "delete_conflict");

		if (dc != NULL)
			merge_row_delete_conflict_each(record_row_state(&r.row, id), delete_side, dc);
	}
	record_state_finish(&r);
	if (err != FS_OK) {
		cJSON_Delete(obj);
		return err;
	}
	text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (text == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	*ret_json = text;
	return FS_OK;
}

fs_err
fs_record_list(fs_client *c, const char *form_id, char **ret_json)
{
	sqlite3_stmt *st;
	cJSON *arr;
	fs_err err;
	char *text;
	int rc;

	if (c == NULL || ret_json == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if ((err = db_prepare(c, "SELECT id, form, form_version, updated_at FROM records"
				 " WHERE deleted = 0 AND (?1 IS NULL OR form = ?1)"
				 " ORDER BY updated_at DESC, id",
		 &st)) != FS_OK)
		return err;
	if (form_id != NULL)
		sqlite3_bind_text(st, 1, form_id, -1, SQLITE_STATIC);
	arr = cJSON_CreateArray();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *item = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, item);
		cJSON_AddStringToObject(item, "id", (const char *)sqlite3_column_text(st, 0));
		cJSON_AddStringToObject(item, "form", (const char *)sqlite3_column_text(st, 1));
		cJSON_AddNumberToObject(item, "form_version", (double)sqlite3_column_int64(st, 2));
		cJSON_AddStringToObject(item, "updated", (const char *)sqlite3_column_text(st, 3));
	}
	if (rc != SQLITE_DONE)
		err = db_fail(c, "listing records");
	sqlite3_finalize(st);
	if (err != FS_OK || (text = cJSON_PrintUnformatted(arr)) == NULL) {
		cJSON_Delete(arr);
		return err != FS_OK ? err : client_fail(c, FS_ERR_NOMEM, "out of memory");
	}
	cJSON_Delete(arr);
	*ret_json = text;
	return FS_OK;
}

/*
 * Rows added by one list of assignments: "repeat/+label/sub" names a new
 * row, the same one for every assignment with the same repeat and label
 * ("+" alone is a label too), and gets a fresh random row id (form.h).
 */
#define NEW_ROWS_MAX 64

struct new_rows {
	size_t n;
	struct {
		char repeat_label[FORM_KEY_MAX + 1];
		char id[FORM_ROW_MAX + 1];
	} row[NEW_ROWS_MAX];
};

static fs_err
new_row_key(fs_client *c, struct new_rows *rows, char *name, size_t size)
{
	char *a = strchr(name, '/'), *b, key[2 * FORM_KEY_MAX + FORM_ROW_MAX + 4];
	size_t i;

	if (a == NULL || a[1] != '+' || (b = strchr(a + 1, '/')) == NULL)
		return FS_OK;
	*b = '\0'; /* name is now "repeat/+label" */
	for (i = 0; i < rows->n && strcmp(rows->row[i].repeat_label, name) != 0; i++)
		;
	if (i == rows->n) {
		if (i == NEW_ROWS_MAX || strlen(name) > FORM_KEY_MAX)
			return client_fail(c, FS_ERR_INVALID, "more than %d new rows at once",
			    NEW_ROWS_MAX);
		snprintf(rows->row[i].repeat_label, sizeof(rows->row[i].repeat_label), "%s", name);
		/* 16 hex digits: 64 random bits, no two devices' rows collide. */
		if (id_random_hex(rows->row[i].id, 8) != FS_OK)
			return client_fail(c, FS_ERR_IO, "no random bytes from the kernel");
		rows->n++;
	}
	*a = '\0';
	if ((size_t)snprintf(key, sizeof(key), "%s/%s/%s", name, rows->row[i].id, b + 1) >= size)
		return client_fail(c, FS_ERR_INVALID, "field '%s/%s': name too long", name, b + 1);
	memcpy(name, key, strlen(key) + 1);
	return FS_OK;
}

fs_err
fs_values_from_assignments(fs_client *c, const char *form_id, const char *const *assignments,
    size_t n, char **ret_json)
{
	const struct form *form;
	cJSON *obj;
	char msg[256];
	fs_err err;
	char *text;

	if (c == NULL || form_id == NULL || (n > 0 && assignments == NULL) || ret_json == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if ((err = forms_get(c, form_id, 0, &form)) != FS_OK)
		return err;
	if ((obj = cJSON_CreateObject()) == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	struct new_rows rows = { 0 };

	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(assignments[i], '=');
		char name[FORM_KEY_MAX + 1];
		const struct form_field *field;
		size_t len;
		cJSON *value;

		len = eq ? (size_t)(eq - assignments[i]) : 0;
		if (eq == NULL || len == 0 || len > FORM_KEY_MAX) {
			cJSON_Delete(obj);
			return client_fail(c, FS_ERR_INVALID,
			    "assignment #%zu: expected field=value", i + 1);
		}
		memcpy(name, assignments[i], len);
		name[len] = '\0';
		if ((err = new_row_key(c, &rows, name, sizeof(name))) != FS_OK) {
			cJSON_Delete(obj);
			return err;
		}
		if ((field = form_field_find(form, name)) == NULL) {
			cJSON_Delete(obj);
			return client_fail(c, FS_ERR_INVALID,
			    "field '%s': rule 'unknown_field' (form '%s' has no such field)", name,
			    form->id);
		}
		if (cJSON_GetObjectItemCaseSensitive(obj, name) != NULL) {
			cJSON_Delete(obj);
			return client_fail(c, FS_ERR_INVALID, "field '%s': set more than once", name);
		}
		if ((err = form_value_from_text(field, eq + 1, &value, msg, sizeof(msg))) != FS_OK) {
			cJSON_Delete(obj);
			return client_fail(c, err, "%s", msg);
		}
		cJSON_AddItemToObject(obj, name, value);
	}
	text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (text == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	*ret_json = text;
	return FS_OK;
}
