/*
 * push_answer.h -- the answer to a push (docs/PROTOCOL.md, POST /v1/push),
 * built whole or not at all (issue 14, item 8).
 *
 * A device marks sent exactly the changes an answer counts.  An answer
 * that lost a refusal to a failed allocation would have the device mark
 * that change sent and lose it; a damaged answer stored as the batch's
 * replay would fail every retry forever.  So every cJSON call here is
 * checked, and a failure gives FS_ERR_NOMEM / NULL: the push then fails
 * whole (nothing applied, nothing stored) and the device retries.
 * tests/unit/test-push-answer.c fails each allocation in turn.
 */
#ifndef FS_DAEMON_PUSH_ANSWER_H
#define FS_DAEMON_PUSH_ANSWER_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "change.h"
#include "fieldsync.h"
#include "hlc.h"

struct push_counts {
	int accepted, duplicates, conflicts;
	int64_t last_seq;                /* the last change this push stored */
	char last_hlc[HLC_TEXT_LEN + 1]; /* its stamp */
	char max_hlc[HLC_TEXT_LEN + 1];  /* the newest stamp it stored */
};

/*
 * Adds the refusal of change number index (ch may be NULL: unparsable) to
 * the array rejected.  FS_OK, or FS_ERR_NOMEM when it could not be added
 * whole (then nothing of it is in the array).
 */
fs_err push_reject(cJSON *rejected, int index, const struct change *ch, const char *error,
    const char *detail);

/*
 * The answer of a batch, taking ownership of rejected (deleted on failure
 * too).  NULL when it could not be built whole: never a partial one.
 */
cJSON *push_answer(const char *batch, const struct push_counts *counts, cJSON *rejected,
    int64_t cursor, const char *cursor_hlc);

#endif /* FS_DAEMON_PUSH_ANSWER_H */
