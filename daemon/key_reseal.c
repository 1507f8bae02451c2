/*
 * key_reseal.c -- `fieldsyncd key reseal` and `key rotate --reseal`
 * (issue 17, item 2): every current sensitive value of every live record
 * sealed again to headquarters' newest key.
 *
 * A value sealed to an older key (opened with the keys the passphrase
 * unlocks) or stored plain (saved by a device before it knew any key) is
 * sealed to the current key and written back as a change authored by
 * headquarters, signed and chained with the server's key (hq_change.h),
 * whose base is the value's stamp: it knowingly overwrites it, so no
 * conflict opens, and the devices pull the new envelope like any change.
 * A device's signed change cannot be altered (its signature would break),
 * so the old envelopes and plain values stay in each record's history and
 * in the received log; only the current values move.  Deleting those old
 * values is not possible without breaking the chain of custody: keep the
 * old keys' passphrases as long as those records are kept.
 *
 * One record per transaction, so a running daemon keeps serving and an
 * interrupted reseal resumes where it stopped: a value already sealed to
 * the current key is skipped.  A field in conflict (several heads) is
 * left to a reviewer; a value no unlocked key opens is left as it is;
 * both are counted.  Progress every 200 records; one audit entry at the
 * end (key.reseal, counts only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "hq_change.h"
#include "hq_key.h"
#include "key_reseal.h"
#include "seal.h"
#include "server_key.h"
#include "store.h"
#include "store_records.h"
#include "store_review.h"

struct rec_ref {
	char id[65];
};

struct collect {
	struct rec_ref *v;
	size_t n, cap;
	bool nomem;
};

struct reseal_counts {
	long records, values, conflicts, unopened;
};

static int
add_form(void *arg, const struct store_form *f)
{
	char ***ids = arg;
	size_t n = 0;

	while ((*ids)[n] != NULL)
		n++;
	/* Versions of one form come in a row: one entry per form id. */
	if (n > 0 && strcmp((*ids)[n - 1], f->id) == 0)
		return 0;
	char **grown = realloc(*ids, (n + 2) * sizeof(char *));
	if (grown == NULL)
		return 1;
	*ids = grown;
	if ((grown[n] = strdup(f->id)) == NULL)
		return 1;
	grown[n + 1] = NULL;
	return 0;
}

/* The ids of every live record, form by form. */
static fs_err
collect_records(struct store *store, struct collect *c)
{
	char **forms = calloc(1, sizeof(char *));
	fs_err err;

	if (forms == NULL)
		return FS_ERR_NOMEM;
	err = store_form_list(store, add_form, &forms);
	for (size_t i = 0; err == FS_OK && forms[i] != NULL; i++) {
		struct review_filter f = {.form = forms[i], .conflicts = -1, .deleted = 0};
		struct store_export *x = NULL;
		struct review_record r;
		bool done = false;

		if ((err = store_export_open(store, &f, &x)) != FS_OK)
			break;
		while (err == FS_OK && (err = store_export_next(x, &r, &done)) == FS_OK && !done) {
			if (c->n == c->cap) {
				size_t cap = c->cap ? 2 * c->cap : 1024;
				struct rec_ref *g = realloc(c->v, cap * sizeof(*g));
				if (g == NULL) {
					err = FS_ERR_NOMEM;
					break;
				}
				c->v = g;
				c->cap = cap;
			}
			snprintf(c->v[c->n++].id, sizeof(c->v[0].id), "%s", r.id);
		}
		store_export_close(x);
	}
	for (size_t i = 0; forms[i] != NULL; i++)
		free(forms[i]);
	free(forms);
	return err;
}

/*
 * The value's JSON text opened (an envelope the keys open) or as stored
 * (a plain value); NULL when it is already sealed to cur, or sealed to a
 * key not unlocked (*ret_unopened).  The caller frees.
 */
static char *
plain_text(const struct hq_unlocked *u, const struct seal_public *cur, const char *stored,
    bool *ret_unopened)
{
	cJSON *wrap, *v = cJSON_Parse(stored);
	int opened = 0, closed = 0;
	char *text;

	*ret_unopened = false;
	if (v == NULL)
		return NULL;
	if (!seal_is_envelope(v)) {
		cJSON_Delete(v);
		return strdup(stored);
	}
	if (strcmp(seal_envelope_key(v) != NULL ? seal_envelope_key(v) : "", cur->id) == 0) {
		cJSON_Delete(v);
		return NULL;
	}
	wrap = cJSON_CreateArray();
	cJSON_AddItemToArray(wrap, v);
	if (hq_open_tree(u, wrap, &opened, &closed) != FS_OK || opened != 1) {
		*ret_unopened = true;
		cJSON_Delete(wrap);
		return NULL;
	}
	text = cJSON_PrintUnformatted(wrap->child);
	cJSON_Delete(wrap);
	return text;
}

/* One record, in its own transaction. */
static fs_err
reseal_record(struct store *store, const struct server_key *key, const struct hq_unlocked *u,
    const struct seal_public *cur, const char *id, struct reseal_counts *k)
{
	char form_id[65], team[65], max[HLC_TEXT_LEN + 1] = "", fmax[HLC_TEXT_LEN + 1];
	char stamp[HLC_TEXT_LEN + 1], msg[256];
	struct store_push *push = NULL;
	struct merge_result res = {0};
	struct form *form = NULL;
	cJSON *fields = cJSON_CreateObject(), *base = cJSON_CreateObject(), *obj = NULL;
	cJSON *values = NULL, *keys = NULL;
	int64_t version, seq;
	int open = 0, nvalues = 0;
	fs_err err;

	if (fields == NULL || base == NULL) {
		err = FS_ERR_NOMEM;
		goto out;
	}
	if ((err = store_push_begin(store, &push)) != FS_OK ||
	    (err = store_push_record_info(push, id, form_id, &version, team)) != FS_OK ||
	    (err = store_form_get(store, form_id, version, &form)) != FS_OK)
		goto out;
	/*
	 * The sensitive keys: the form's sensitive fields, and the sensitive
	 * sub-fields of every row of its repeats (form_repeat.c).
	 */
	if ((err = store_push_record_values(push, id, &values)) != FS_OK ||
	    (keys = cJSON_CreateArray()) == NULL) {
		err = err != FS_OK ? err : FS_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < form->nfields; i++)
		if (form->fields[i].sensitive)
			cJSON_AddItemToArray(keys, cJSON_CreateString(form->fields[i].name));
	for (const cJSON *v = values != NULL ? values->child : NULL; v != NULL; v = v->next) {
		const struct form_field *sub;

		if (v->string != NULL && strchr(v->string, '/') != NULL &&
		    (sub = form_field_find(form, v->string)) != NULL && sub->sensitive)
			cJSON_AddItemToArray(keys, cJSON_CreateString(v->string));
	}
	for (const cJSON *kv = keys->child; kv != NULL; kv = kv->next) {
		struct store_head heads[MERGE_MAX_BASES] = {0};
		const char *name = kv->valuestring;
		size_t n = 0;
		bool unopened;
		char *text;
		cJSON *env = NULL;

		if (name == NULL) {
			err = FS_ERR_NOMEM;
			goto out;
		}
		err = store_push_field_heads(push, id, name, heads, MERGE_MAX_BASES, &n, fmax);
		if (err == FS_ERR_TOOBIG) {
			k->conflicts++;
			err = FS_OK;
			continue;
		}
		if (err != FS_OK)
			goto out;
		if (n > 1)
			k->conflicts++;
		if (n != 1 || heads[0].value == NULL) {
			store_heads_finish(heads, n);
			continue;
		}
		text = plain_text(u, cur, heads[0].value, &unopened);
		if (unopened)
			k->unopened++;
		if (text != NULL) {
			err = seal_value(cur, text, strlen(text), &env);
			seal_text_free(text, strlen(text));
			if (err == FS_OK) {
				cJSON_AddItemToObject(fields, name, env);
				cJSON_AddStringToObject(base, name, heads[0].stamp);
				if (strcmp(fmax, max) > 0)
					memcpy(max, fmax, sizeof(max));
				nvalues++;
			}
		}
		store_heads_finish(heads, n);
		if (err != FS_OK)
			goto out;
	}
	if (nvalues == 0) {
		err = FS_OK;
		goto out; /* nothing to move: rolled back below */
	}
	if ((err = store_push_server_stamp(push, max, stamp)) != FS_OK ||
	    (obj = cJSON_CreateObject()) == NULL) {
		err = err != FS_OK ? err : FS_ERR_NOMEM;
		goto out;
	}
	cJSON_AddStringToObject(obj, "id", id);
	cJSON_AddStringToObject(obj, "form", form_id);
	cJSON_AddNumberToObject(obj, "form_version", (double)version);
	cJSON_AddStringToObject(obj, "op", "upsert");
	cJSON_AddStringToObject(obj, "hlc", stamp);
	cJSON_AddItemToObject(obj, "fields", fields);
	cJSON_AddItemToObject(obj, "base", base);
	fields = base = NULL;
	err = hq_change_commit(push, key, form, obj, team, "cli", "reseal", &seq, &res, &open, msg,
	    sizeof(msg));
	if (err == FS_ERR_INVALID)
		fprintf(stderr, "fieldsyncd: record %s: %s; left as it was\n", id, msg);
	if (err == FS_OK) {
		err = store_push_commit(push);
		push = NULL;
		if (err == FS_OK) {
			k->records++;
			k->values += nvalues;
		}
	}
out:
	store_push_abort(push);
	cJSON_Delete(fields);
	cJSON_Delete(base);
	cJSON_Delete(obj);
	cJSON_Delete(values);
	cJSON_Delete(keys);
	form_free(form);
	return err == FS_ERR_INVALID ? FS_OK : err;
}

int
key_reseal_run(struct store *store, const char *data_dir, const struct hq_unlocked *u)
{
	struct collect c = {0};
	struct reseal_counts k = {0};
	struct server_key key;
	struct seal_public cur;
	char *cur_json = NULL, detail[200];
	cJSON *cj = NULL;
	fs_err err;
	int rc = 1;

	if (hq_current_public(store, &cur_json) != FS_OK || cur_json == NULL ||
	    (cj = cJSON_Parse(cur_json)) == NULL ||
	    !seal_public_from_hex(
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cj, "public")), &cur)) {
		fprintf(stderr, "fieldsyncd: no current sealing key to seal to\n");
		goto out_json;
	}
	if (server_key_load(data_dir, &key) != 0) {
		fprintf(stderr, "fieldsyncd: cannot read the server's signing key\n");
		goto out_json;
	}
	if ((err = collect_records(store, &c)) != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot list the records: %s\n", fs_strerror(err));
		goto out;
	}
	fprintf(stderr, "fieldsyncd: re-sealing the sensitive values of %zu records to key %s\n",
	    c.n, cur.id);
	for (size_t i = 0; i < c.n; i++) {
		if ((err = reseal_record(store, &key, u, &cur, c.v[i].id, &k)) != FS_OK) {
			fprintf(stderr, "fieldsyncd: stopped at record %zu of %zu: %s (run again to"
					" go on; nothing done is lost)\n",
			    i + 1, c.n, fs_strerror(err));
			goto out;
		}
		if ((i + 1) % 200 == 0 || i + 1 == c.n)
			fprintf(stderr, "fieldsyncd: %zu/%zu records, %ld values re-sealed\n", i + 1,
			    c.n, k.values);
	}
	snprintf(detail, sizeof(detail), "key=%s records=%ld values=%ld conflicts=%ld unopened=%ld",
	    cur.id, k.records, k.values, k.conflicts, k.unopened);
	if (store_audit(store, "cli", "key.reseal", NULL, detail) != FS_OK)
		fprintf(stderr, "fieldsyncd: could not write the audit entry\n");
	printf("re-sealed %ld values in %ld records to key %s\n", k.values, k.records, cur.id);
	if (k.conflicts > 0)
		printf("%ld fields in conflict left as they are: resolve them, then run again\n",
		    k.conflicts);
	if (k.unopened > 0)
		printf("%ld values sealed to a key this passphrase does not open left as they are\n",
		    k.unopened);
	rc = 0;
out:
	server_key_wipe(&key);
out_json:
	free(c.v);
	cJSON_Delete(cj);
	free(cur_json);
	return rc;
}
