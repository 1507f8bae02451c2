/*
 * fuzz-push-body.c -- the push-body decoder of POST /v1/push on any bytes:
 * strict JSON (form_json_parse), the envelope checks of daemon/sync.c
 * (device, batch, changes), then per change change_parse(), change_check()
 * against the shipped forms and merge_row_merge() into in-memory record
 * states (common/merge_row.h, what both stores run; fresh for each input).
 * Properties: every step answers FS_OK or its documented refusal, the
 * bytes push_spans() finds for each change parse to that change, a change
 * that parses re-parses identically from its own printed JSON, merging it
 * twice changes nothing the second time, a state packed to its row
 * text loads back to the same text, and a change's custody link, once
 * printed and read back, stays the same however often that is repeated (a
 * device signs its change as printed: cJSON may print a double as a nearby
 * one, 0.30000000000000004 as 0.3, so the link of the raw bytes may differ
 * from the printed form's once, never twice; the server stores and links
 * the bytes it receives).
 */
#include <stdlib.h>
#include <string.h>

#include "custody.h"

#include "change.h"
#include "form.h"
#include "fuzz-forms.h"
#include "fuzz.h"
#include "hlc.h"
#include "merge_row.h"
#include "push_spans.h"

#define MAX_CHANGES 5000 /* max_changes_per_batch's default */

static struct merge_mem mm;
static char tombstone[HLC_TEXT_LEN + 1];

/* The envelope rules of daemon/sync.c push_envelope(). */
static bool
envelope_ok(const cJSON *root, const cJSON **ret_changes, const char **ret_device)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "device");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "batch");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "changes");
	size_t n;
	int size;

	if (!cJSON_IsObject(root) || !cJSON_IsString(d) || !hlc_valid_device(d->valuestring) ||
	    !cJSON_IsString(b) || !cJSON_IsArray(c))
		return false;
	n = strlen(b->valuestring);
	if (n < 1 || n > 64 ||
	    strspn(b->valuestring, "abcdefghijklmnopqrstuvwxyz"
	                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
		return false;
	size = cJSON_GetArraySize(c);
	if (size < 1 || size > MAX_CHANGES)
		return false;
	*ret_changes = c;
	*ret_device = d->valuestring;
	return true;
}

static void
one_change(const cJSON *item)
{
	struct merge_result res = {0};
	struct change ch, again;
	const struct form *form;
	cJSON *reparsed;
	char err[256], *text;
	struct merge_row_out out;
	fs_err rc;

	rc = change_parse(item, &ch, err, sizeof(err));
	FUZZ_CHECK(rc == FS_OK || rc == FS_ERR_INVALID || rc == FS_ERR_NOMEM);
	if (rc != FS_OK)
		return;
	/* What the server stores is the change printed again: it must mean the same. */
	FUZZ_CHECK((text = cJSON_PrintUnformatted(item)) != NULL);
	FUZZ_CHECK(
	    form_json_parse(text, strlen(text), "change", &reparsed, err, sizeof(err)) == FS_OK);
	FUZZ_CHECK(change_parse(reparsed, &again, err, sizeof(err)) == FS_OK);
	FUZZ_CHECK(strcmp(again.id, ch.id) == 0 && strcmp(again.hlc, ch.hlc) == 0 &&
	           again.form_version == ch.form_version && again.is_delete == ch.is_delete);
	/* The custody link of the printed form: stable under printing again. */
	if (ch.prev != NULL) {
		unsigned char l1[CUSTODY_LINK_LEN], l2[CUSTODY_LINK_LEN];
		char lhex[CUSTODY_LINK_HEX + 1], *text2;
		struct change third;
		cJSON *reparsed2;
		const char *why;

		FUZZ_CHECK(custody_init() == FS_OK);
		FUZZ_CHECK((text2 = cJSON_PrintUnformatted(reparsed)) != NULL);
		FUZZ_CHECK(form_json_parse(text2, strlen(text2), "change", &reparsed2, err,
		               sizeof(err)) == FS_OK);
		FUZZ_CHECK(change_parse(reparsed2, &third, err, sizeof(err)) == FS_OK);
		FUZZ_CHECK(custody_link(&again, l1) == FS_OK && custody_link(&third, l2) == FS_OK);
		FUZZ_CHECK(memcmp(l1, l2, sizeof(l1)) == 0);
		FUZZ_CHECK(custody_link(&ch, l1) == FS_OK);
		cJSON_Delete(reparsed2);
		cJSON_free(text2);
		rc = custody_check(&ch, custody_genesis, lhex, &why); /* no valid key: never passes */
		FUZZ_CHECK(rc == FS_ERR_INVALID && why != NULL);
	}
	cJSON_Delete(reparsed);
	cJSON_free(text);
	if ((form = fuzz_form_find(ch.form, ch.form_version)) == NULL)
		return;
	rc = change_check(&ch, form, err, sizeof(err));
	FUZZ_CHECK(rc == FS_OK || rc == FS_ERR_INVALID);
	if (rc != FS_OK)
		return;
	FUZZ_CHECK(merge_row_merge(&mm, form, &ch, tombstone, &res, &out) == FS_OK);
	/* A record's row, loaded again, packs to the same text. */
	if (out.applied) {
		struct merge_mem again_mm;
		const struct mm_record *r;
		cJSON *packed;
		char *text2;

		merge_mem_init(&again_mm, false);
		FUZZ_CHECK(merge_row_load(&again_mm, ch.id, out.state, strlen(out.state)) == FS_OK);
		FUZZ_CHECK((r = merge_mem_record(&again_mm, ch.id)) != NULL);
		FUZZ_CHECK(merge_mem_record_to_json(r, &packed) == FS_OK);
		FUZZ_CHECK((text2 = cJSON_PrintUnformatted(packed)) != NULL);
		FUZZ_CHECK(strcmp(text2, out.state) == 0);
		cJSON_free(text2);
		cJSON_Delete(packed);
		merge_mem_finish(&again_mm);
	}
	free(out.state);
	/* Idempotent: the same change again adds nothing. */
	memset(&res, 0, sizeof(res));
	FUZZ_CHECK(merge_row_merge(&mm, form, &ch, tombstone, &res, &out) == FS_OK);
	FUZZ_CHECK(res.fields_applied == 0 && !out.applied && out.state == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const cJSON *changes, *item;
	const char *device;
	char err[256];
	cJSON *root;
	int n = 0;

	if (size > (1 << 20))
		return 0;
	fuzz_forms_load();
	merge_mem_finish(&mm);
	merge_mem_init(&mm, false);
	tombstone[0] = '\0';
	if (form_json_parse((const char *)data, size, "body", &root, err, sizeof(err)) != FS_OK)
		return 0;
	if (envelope_ok(root, &changes, &device)) {
		/* The bytes of each change as received (what the server stores). */
		size_t want = (size_t)cJSON_GetArraySize(changes), got = 0, k = 0;
		struct push_span *spans = calloc(want + 1, sizeof(*spans));

		FUZZ_CHECK(spans != NULL);
		FUZZ_CHECK(push_spans((const char *)data, size, spans, want, &got) == 0);
		FUZZ_CHECK(got == want);
		cJSON_ArrayForEach(item, changes)
		{
			cJSON *again = cJSON_ParseWithLength(spans[k].start, spans[k].len);

			char *a, *b;

			/* Printed, not cJSON_Compare(): that reads only the first of two equal keys. */
			FUZZ_CHECK(again != NULL);
			FUZZ_CHECK((a = cJSON_PrintUnformatted(again)) != NULL);
			FUZZ_CHECK((b = cJSON_PrintUnformatted(item)) != NULL);
			FUZZ_CHECK(strcmp(a, b) == 0);
			cJSON_free(a);
			cJSON_free(b);
			cJSON_Delete(again);
			k++;
		}
		free(spans);
		cJSON_ArrayForEach(item, changes)
		{
			if (n++ == 64)
				break; /* enough for coverage; keeps each input fast */
			one_change(item);
		}
	}
	(void)device;
	cJSON_Delete(root);
	return 0;
}
