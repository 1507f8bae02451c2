/*
 * fuzz-form.c -- form_load() on any text.  A definition it accepts loads
 * again from its own canonical JSON to the same canonical JSON, and every
 * field of it can be asked about.
 */
#include <string.h>

#include "form.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form *form, *again;
	char err[256];
	fs_err rc;

	if (size > (1 << 20))
		return 0;
	rc = form_load((const char *)data, size, &form, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL || rc == FS_OK);
	if (rc != FS_OK) {
		FUZZ_CHECK(rc == FS_ERR_JSON || rc == FS_ERR_FORM);
		return 0;
	}
	FUZZ_CHECK(form->nfields >= 1 && form->nfields <= FORM_MAX_FIELDS);
	for (size_t i = 0; i < form->nfields; i++) {
		FUZZ_CHECK(form_field_find(form, form->fields[i].name) == &form->fields[i]);
		FUZZ_CHECK(form_type_name(form->fields[i].type) != NULL);
		/* Null is always a valid value to check. */
		FUZZ_CHECK(form_check_value(&form->fields[i], NULL, err, sizeof(err)) == FS_OK);
	}
	FUZZ_CHECK(form_load(form->json, strlen(form->json), &again, err, sizeof(err)) == FS_OK);
	FUZZ_CHECK(strcmp(form->json, again->json) == 0);
	form_free(again);
	form_free(form);
	return 0;
}
