/*
 * fuzz-forms.h -- the shipped form definitions (schema/forms), loaded once
 * for the targets that validate against them.  FUZZ_FORMS_DIR is set by
 * the build.
 */
#ifndef FS_FUZZ_FORMS_H
#define FS_FUZZ_FORMS_H

#include <stdio.h>
#include <stdlib.h>

#include "form.h"
#include "fuzz.h"

#define FUZZ_NFORMS 2

static struct form *fuzz_forms[FUZZ_NFORMS];

static void
fuzz_forms_free(void)
{
	for (int i = 0; i < FUZZ_NFORMS; i++)
		form_free(fuzz_forms[i]);
}

static void
fuzz_forms_load(void)
{
	static const char *const names[FUZZ_NFORMS] = {"labor_inspection", "border_screening"};
	char path[4096], err[256], *buf;
	FILE *fp;
	long n;

	if (fuzz_forms[0] != NULL)
		return;
	for (int i = 0; i < FUZZ_NFORMS; i++) {
		snprintf(path, sizeof(path), "%s/%s.json", FUZZ_FORMS_DIR, names[i]);
		FUZZ_CHECK((fp = fopen(path, "rb")) != NULL);
		FUZZ_CHECK(fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0);
		rewind(fp);
		FUZZ_CHECK((buf = malloc((size_t)n)) != NULL);
		FUZZ_CHECK(fread(buf, 1, (size_t)n, fp) == (size_t)n);
		fclose(fp);
		FUZZ_CHECK(form_load(buf, (size_t)n, &fuzz_forms[i], err, sizeof(err)) == FS_OK);
		free(buf);
	}
	atexit(fuzz_forms_free);
}

static inline const struct form *
fuzz_form_find(const char *id, int64_t version)
{
	for (int i = 0; i < FUZZ_NFORMS; i++)
		if (fuzz_forms[i]->version == version && strcmp(fuzz_forms[i]->id, id) == 0)
			return fuzz_forms[i];
	return NULL;
}

#endif /* FS_FUZZ_FORMS_H */
