/*
 * fuzz-snapshot-state.c -- a record's packed merge state as a device reads
 * it off the network (GET /v1/snapshot, client/sync_snapshot.c) and as
 * both stores read their rows: strict JSON (form_json_parse), then
 * merge_mem_record_from_json().  Properties: it answers FS_OK or
 * FS_ERR_CORRUPT (never anything else, never a crash); a state it accepts
 * packs to a text that loads and packs to the same text again; and a
 * change of the shipped labour form merges into it and merging it a second
 * time changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz-forms.h"
#include "fuzz.h"
#include "merge_row.h"

#define ID "0123456789abcdef0123456789abcdef"

static char *
pack(const struct merge_mem *mm)
{
	const struct mm_record *r = merge_mem_record(mm, ID);
	char *text = NULL;

	FUZZ_CHECK(r != NULL);
	FUZZ_CHECK(merge_row_pack(r, &text) == FS_OK);
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char change_json[] =
	    "{\"id\":\"" ID "\",\"form\":\"labor_inspection\",\"form_version\":1,"
	    "\"op\":\"upsert\",\"hlc\":\"7fff000000000000-00000000000000f1\","
	    "\"fields\":{\"worksite_name\":\"w\",\"number_of_workers\":3},"
	    "\"base\":{\"worksite_name\":\"0000000000010000-00000000000000a1\"}}";
	struct merge_mem mm, again;
	struct merge_row_out out;
	struct merge_result res = {0};
	const struct form *form;
	struct change ch;
	char err[256], tomb[HLC_TEXT_LEN + 1] = "", *one, *two;
	cJSON *obj, *chobj;
	fs_err rc;

	if (size > (1 << 16))
		return 0;
	fuzz_forms_load();
	if (form_json_parse((const char *)data, size, "state", &obj, err, sizeof(err)) != FS_OK)
		return 0;
	merge_mem_init(&mm, false);
	rc = merge_mem_record_from_json(&mm, ID, obj);
	cJSON_Delete(obj);
	FUZZ_CHECK(rc == FS_OK || rc == FS_ERR_CORRUPT || rc == FS_ERR_NOMEM);
	if (rc != FS_OK) {
		merge_mem_finish(&mm);
		return 0;
	}
	/* Packed, loaded and packed again: the same text. */
	one = pack(&mm);
	merge_mem_init(&again, false);
	FUZZ_CHECK(merge_row_load(&again, ID, one, strlen(one)) == FS_OK);
	two = pack(&again);
	FUZZ_CHECK(strcmp(one, two) == 0);
	free(one);
	free(two);
	merge_mem_finish(&again);
	/* A change merges into whatever was accepted, and only once. */
	form = fuzz_form_find("labor_inspection", 1);
	FUZZ_CHECK(form != NULL);
	FUZZ_CHECK((chobj = cJSON_Parse(change_json)) != NULL);
	FUZZ_CHECK(change_parse(chobj, &ch, err, sizeof(err)) == FS_OK);
	rc = merge_row_merge(&mm, form, &ch, tomb, &res, &out);
	FUZZ_CHECK(rc == FS_OK || rc == FS_ERR_INTERNAL);
	free(out.state);
	if (rc == FS_OK) {
		FUZZ_CHECK(merge_row_merge(&mm, form, &ch, tomb, &res, &out) == FS_OK);
		FUZZ_CHECK(!out.applied && out.state == NULL);
	}
	cJSON_Delete(chobj);
	merge_mem_finish(&mm);
	return 0;
}
