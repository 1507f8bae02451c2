/*
 * formset.h -- every published version of one form, seen as one set of
 * columns: the union of the versions' fields.
 *
 * The review API and the exports show records made with different versions
 * of a form side by side.  A formset orders the union as the newest
 * version orders its fields, followed by fields that only older versions
 * have (newest version first).  A field counts as sensitive if any version
 * marks it sensitive, so a value never escapes masking because a later
 * version changed its mind.  Labels and types come from the newest version
 * that has the field.
 *
 * This module reads definitions through store.h and holds no state of its
 * own; a formset is owned by its caller.
 */
#ifndef FS_DAEMON_FORMSET_H
#define FS_DAEMON_FORMSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fieldsync.h"
#include "form.h"

struct store;

struct formset_field {
	const char *name;  /* borrowed from the newest version that has it */
	const char *label; /* may be NULL */
	enum form_type type;
	bool sensitive; /* in any version */
};

struct formset {
	char id[FORM_NAME_MAX + 1];
	struct form **versions; /* ascending version */
	size_t nversions;
	struct formset_field *fields; /* the union, in column order */
	size_t nfields;
};

/*
 * Loads every published version of form_id.  FS_ERR_NOTFOUND if none is
 * published.  *ret_set is released with formset_free().
 */
fs_err formset_load(struct store *store, const char *form_id, struct formset **ret_set);

/* Frees a formset.  Accepts NULL. */
void formset_free(struct formset *set);

/*
 * The field a value key names in the newest version that knows it (a
 * repeat's "repeat/row/sub" gives the sub-field), or NULL.
 */
const struct form_field *formset_key_field(const struct formset *set, const char *key);

/* The column called name, or NULL. */
const struct formset_field *formset_field(const struct formset *set, const char *name);

/* One version, or NULL if it was never published. */
const struct form *formset_version(const struct formset *set, int64_t version);

/* The newest version. */
const struct form *formset_latest(const struct formset *set);

/*
 * A small per-request cache of formsets by form id (a record list shows
 * several forms).  formcache_get() loads on first use; FS_ERR_NOTFOUND if
 * the form was never published.  A returned set stays valid until the next
 * formcache_get() or formcache_finish().
 */
#define FORMCACHE_MAX 16

struct formcache {
	struct store *store;
	struct formset *sets[FORMCACHE_MAX];
	size_t n;
};

void formcache_init(struct formcache *fc, struct store *store);
fs_err formcache_get(struct formcache *fc, const char *form_id, const struct formset **ret_set);
void formcache_finish(struct formcache *fc);

#endif /* FS_DAEMON_FORMSET_H */
