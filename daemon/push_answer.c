/*
 * push_answer.c -- the answer to a push, whole or not at all.  See
 * push_answer.h.
 */
#include "push_answer.h"

#include <stdbool.h>

fs_err
push_reject(cJSON *rejected, int index, const struct change *ch, const char *error,
    const char *detail)
{
	cJSON *r = cJSON_CreateObject();
	bool ok = r != NULL && cJSON_AddNumberToObject(r, "index", index) != NULL &&
	    (ch == NULL || (cJSON_AddStringToObject(r, "id", ch->id) != NULL &&
			       cJSON_AddStringToObject(r, "hlc", ch->hlc) != NULL)) &&
	    cJSON_AddStringToObject(r, "error", error) != NULL &&
	    cJSON_AddStringToObject(r, "detail", detail) != NULL;

	if (!ok || !cJSON_AddItemToArray(rejected, r)) {
		cJSON_Delete(r);
		return FS_ERR_NOMEM;
	}
	return FS_OK;
}

cJSON *
push_answer(const char *batch, const struct push_counts *counts, cJSON *rejected, int64_t cursor,
    const char *cursor_hlc)
{
	cJSON *obj = cJSON_CreateObject();
	bool ok;

	if (obj == NULL || !cJSON_AddItemToObject(obj, "rejected", rejected)) {
		cJSON_Delete(obj);
		cJSON_Delete(rejected);
		return NULL;
	}
	ok = cJSON_AddStringToObject(obj, "batch", batch) != NULL &&
	    cJSON_AddNumberToObject(obj, "accepted", counts->accepted) != NULL &&
	    cJSON_AddNumberToObject(obj, "duplicates", counts->duplicates) != NULL &&
	    cJSON_AddNumberToObject(obj, "conflicts", counts->conflicts) != NULL &&
	    cJSON_AddNumberToObject(obj, "cursor", (double)cursor) != NULL &&
	    /* The device remembers it: a restored server no longer has it there. */
	    (cursor_hlc[0] == '\0' || cJSON_AddStringToObject(obj, "cursor_hlc", cursor_hlc) != NULL);
	if (!ok) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}
