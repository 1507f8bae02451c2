/*
 * fuzz-forms.h -- the form definitions, loaded once for the targets that
 * validate against them: the version 2 forms of tests/fixtures/forms
 * (FUZZ_FORMS_DIR) at every version down to 1, and the shipped forms of
 * schema/forms at their own version (FUZZ_SHIPPED_DIR: version 3, with
 * skip logic and a repeat).  Both directories are set by the build.
 */
#ifndef FS_FUZZ_FORMS_H
#define FS_FUZZ_FORMS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "fuzz.h"

/*
 * Each shipped form at its version and at every version before it: a
 * server has them all published, and the corpus was written against
 * version 1.  (Version 1 of the shipped forms differed only in which
 * fields are sensitive, which neither validation nor merge reads.)
 */
#define FUZZ_SHIPPED  2
#define FUZZ_NFORMS_MAX 16

static struct form *fuzz_forms[FUZZ_NFORMS_MAX];
static int fuzz_nforms;

static void
fuzz_forms_free(void)
{
	for (int i = 0; i < fuzz_nforms; i++)
		form_free(fuzz_forms[i]);
}

static void
fuzz_forms_load(void)
{
	static const char *const names[FUZZ_SHIPPED] = {"labor_inspection", "border_screening"};
	char path[4096], err[256], *buf, *text;
	cJSON *def, *version;
	FILE *fp;
	long n;

	if (fuzz_nforms > 0)
		return;
	for (int i = 0; i < 2 * FUZZ_SHIPPED; i++) {
		bool shipped = i >= FUZZ_SHIPPED;

		snprintf(path, sizeof(path), "%s/%s.json", shipped ? FUZZ_SHIPPED_DIR : FUZZ_FORMS_DIR,
		    names[i % FUZZ_SHIPPED]);
		FUZZ_CHECK((fp = fopen(path, "rb")) != NULL);
		FUZZ_CHECK(fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0);
		rewind(fp);
		FUZZ_CHECK((buf = malloc((size_t)n + 1)) != NULL);
		FUZZ_CHECK(fread(buf, 1, (size_t)n, fp) == (size_t)n);
		buf[n] = '\0';
		fclose(fp);
		FUZZ_CHECK((def = cJSON_Parse(buf)) != NULL);
		free(buf);
		version = cJSON_GetObjectItemCaseSensitive(def, "version");
		FUZZ_CHECK(cJSON_IsNumber(version) && version->valueint >= 1);
		for (int v = version->valueint; v >= (shipped ? version->valueint : 1); v--) {
			FUZZ_CHECK(fuzz_nforms < FUZZ_NFORMS_MAX);
			cJSON_SetNumberValue(version, v);
			FUZZ_CHECK((text = cJSON_PrintUnformatted(def)) != NULL);
			FUZZ_CHECK(form_load(text, strlen(text), &fuzz_forms[fuzz_nforms], err,
				       sizeof(err)) == FS_OK);
			fuzz_nforms++;
			free(text);
		}
		cJSON_Delete(def);
	}
	atexit(fuzz_forms_free);
}

static inline const struct form *
fuzz_form_find(const char *id, int64_t version)
{
	for (int i = 0; i < fuzz_nforms; i++)
		if (fuzz_forms[i]->version == version && strcmp(fuzz_forms[i]->id, id) == 0)
			return fuzz_forms[i];
	return NULL;
}

#endif /* FS_FUZZ_FORMS_H */
