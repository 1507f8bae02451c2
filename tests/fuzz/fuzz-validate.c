/*
 * fuzz-validate.c -- the record validator against the shipped forms:
 * form_check_value() and form_validate() on any JSON value, and
 * form_value_from_text() on any typed text.
 *
 * Input: byte 0 picks the form, byte 1 the field, byte 2 the mode; the
 * rest is the JSON value (mode 0), a whole values object (mode 1) or text
 * typed by a user (mode 2).
 */
#include <string.h>

#include "form.h"
#include "fuzz-forms.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct form *form;
	const struct form_field *f;
	cJSON *value, *obj;
	char err[256], *text;
	fs_err rc;

	if (size < 3 || size > (1 << 20))
		return 0;
	fuzz_forms_load();
	form = fuzz_forms[data[0] % fuzz_nforms];
	f = &form->fields[data[1] % form->nfields];
	switch (data[2] % 3) {
	case 0:
		if (form_json_parse((const char *)data + 3, size - 3, "value", &value, err,
		        sizeof(err)) != FS_OK)
			return 0;
		rc = form_check_value(f, value, err, sizeof(err));
		FUZZ_CHECK(rc == FS_OK || rc == FS_ERR_INVALID);
		obj = cJSON_CreateObject();
		cJSON_AddItemToObject(obj, f->name, value);
		/* A valid value is a valid partial change of one field. */
		if (rc == FS_OK)
			FUZZ_CHECK(form_validate(form, obj, false, err, sizeof(err)) == FS_OK ||
			           (f->required && !cJSON_IsBool(value) && !cJSON_IsNumber(value)));
		(void)form_validate(form, obj, true, err, sizeof(err));
		cJSON_Delete(obj);
		break;
	case 1:
		if (form_json_parse((const char *)data + 3, size - 3, "values", &value, err,
		        sizeof(err)) != FS_OK)
			return 0;
		rc = form_validate(form, value, data[1] & 1, err, sizeof(err));
		FUZZ_CHECK(rc == FS_OK || rc == FS_ERR_INVALID || rc == FS_ERR_JSON);
		cJSON_Delete(value);
		break;
	default:
		if ((text = malloc(size - 2)) == NULL)
			return 0;
		memcpy(text, data + 3, size - 3);
		text[size - 3] = '\0';
		rc = form_value_from_text(f, text, &value, err, sizeof(err));
		FUZZ_CHECK(rc == FS_OK || rc == FS_ERR_INVALID);
		if (rc == FS_OK) {
			rc = form_check_value(f, value, err, sizeof(err));
			FUZZ_CHECK(rc == FS_OK || rc == FS_ERR_INVALID);
			cJSON_Delete(value);
		}
		free(text);
		break;
	}
	return 0;
}
