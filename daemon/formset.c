/*
 * formset.c -- the union of a form's published versions.  See formset.h.
 */
#include "formset.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"

struct load_ctx {
	const char *id;
	struct form **versions;
	size_t n, cap;
	fs_err err;
};

static int
load_one(void *arg, const struct store_form *f)
{
	struct load_ctx *lc = arg;
	struct form *form, **p;
	char msg[128];

	if (strcmp(f->id, lc->id) != 0)
		return 0;
	if (lc->n == lc->cap) {
		size_t cap = lc->cap ? lc->cap * 2 : 4;
		if ((p = realloc(lc->versions, cap * sizeof(*p))) == NULL) {
			lc->err = FS_ERR_NOMEM;
			return 1;
		}
		lc->versions = p;
		lc->cap = cap;
	}
	if ((lc->err = form_load(f->definition, strlen(f->definition), &form, msg, sizeof(msg))) !=
	    FS_OK)
		return 1;
	lc->versions[lc->n++] = form;
	return 0;
}

/* Appends or merges the fields of one version into the union. */
static void
union_add(struct formset *set, const struct form *form)
{
	for (size_t i = 0; i < form->nfields; i++) {
		const struct form_field *ff = &form->fields[i];
		struct formset_field *col = NULL;

		for (size_t j = 0; j < set->nfields; j++)
			if (strcmp(set->fields[j].name, ff->name) == 0)
				col = &set->fields[j];
		if (col == NULL) {
			col = &set->fields[set->nfields++];
			col->name = ff->name;
			col->label = ff->label;
			col->type = ff->type;
			col->sensitive = false;
		}
		col->sensitive = col->sensitive || ff->sensitive;
	}
}

fs_err
formset_load(struct store *store, const char *form_id, struct formset **ret_set)
{
	struct load_ctx lc = {.id = form_id, .err = FS_OK};
	struct formset *set;
	size_t total = 0;
	fs_err err;

	if (strlen(form_id) > FORM_NAME_MAX)
		return FS_ERR_NOTFOUND;
	/* store_form_list() gives ascending versions within one id. */
	if ((err = store_form_list(store, load_one, &lc)) == FS_OK)
		err = lc.err;
	if (err == FS_OK && lc.n == 0)
		err = FS_ERR_NOTFOUND;
	if (err != FS_OK)
		goto fail;
	if ((set = calloc(1, sizeof(*set))) == NULL) {
		err = FS_ERR_NOMEM;
		goto fail;
	}
	memcpy(set->id, form_id, strlen(form_id) + 1);
	set->versions = lc.versions;
	set->nversions = lc.n;
	for (size_t i = 0; i < lc.n; i++)
		total += lc.versions[i]->nfields;
	if ((set->fields = calloc(total, sizeof(*set->fields))) == NULL) {
		formset_free(set);
		return FS_ERR_NOMEM;
	}
	/* Newest first: its order wins, older-only fields follow. */
	for (size_t i = lc.n; i > 0; i--)
		union_add(set, lc.versions[i - 1]);
	*ret_set = set;
	return FS_OK;
fail:
	for (size_t i = 0; i < lc.n; i++)
		form_free(lc.versions[i]);
	free(lc.versions);
	return err;
}

void
formset_free(struct formset *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->nversions; i++)
		form_free(set->versions[i]);
	free(set->versions);
	free(set->fields);
	free(set);
}

const struct form_field *
formset_key_field(const struct formset *set, const char *key)
{
	const struct form_field *f;

	for (size_t i = set->nversions; i > 0; i--)
		if ((f = form_field_find(set->versions[i - 1], key)) != NULL)
			return f;
	return NULL;
}

const struct formset_field *
formset_field(const struct formset *set, const char *name)
{
	for (size_t i = 0; i < set->nfields; i++)
		if (strcmp(set->fields[i].name, name) == 0)
			return &set->fields[i];
	return NULL;
}

const struct form *
formset_version(const struct formset *set, int64_t version)
{
	for (size_t i = 0; i < set->nversions; i++)
		if (set->versions[i]->version == version)
			return set->versions[i];
	return NULL;
}

const struct form *
formset_latest(const struct formset *set)
{
	return set->versions[set->nversions - 1];
}

void
formcache_init(struct formcache *fc, struct store *store)
{
	memset(fc, 0, sizeof(*fc));
	fc->store = store;
}

fs_err
formcache_get(struct formcache *fc, const char *form_id, const struct formset **ret_set)
{
	struct formset *set;
	fs_err err;

	for (size_t i = 0; i < fc->n; i++) {
		if (strcmp(fc->sets[i]->id, form_id) == 0) {
			*ret_set = fc->sets[i];
			return FS_OK;
		}
	}
	if ((err = formset_load(fc->store, form_id, &set)) != FS_OK)
		return err;
	if (fc->n == FORMCACHE_MAX) {
		formset_free(fc->sets[0]);
		memmove(fc->sets, fc->sets + 1, (FORMCACHE_MAX - 1) * sizeof(fc->sets[0]));
		fc->n--;
	}
	fc->sets[fc->n++] = set;
	*ret_set = set;
	return FS_OK;
}

void
formcache_finish(struct formcache *fc)
{
	for (size_t i = 0; i < fc->n; i++)
		formset_free(fc->sets[i]);
	fc->n = 0;
}
