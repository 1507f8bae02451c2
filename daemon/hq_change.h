/*
 * hq_change.h -- a change authored by headquarters (the server's own
 * device), signed and chained with the server's key and merged, inside
 * the caller's push transaction.  Used by conflict resolutions
 * (review_resolve.c) and by re-sealing (key_reseal.c).
 */
#ifndef FS_DAEMON_HQ_CHANGE_H
#define FS_DAEMON_HQ_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "fieldsync_err.h"
#include "merge.h"

struct form;
struct server_key;
struct store_push;

/*
 * obj is a change without "prev" and "sig" (docs/PROTOCOL.md, "Change"),
 * stamped by store_push_server_stamp().  Adds them, checks the change
 * against form, stores it in the received log under team (origin names
 * where it came from in the batch column: "review", "reseal"), and
 * merges it.  *ret_seq is its place in the log, *ret_open the open
 * conflicts after it.  FS_ERR_INVALID with msg when the change does not
 * fit the form; store errors otherwise.  obj is the caller's.
 */
fs_err hq_change_commit(struct store_push *push, const struct server_key *key,
    const struct form *form, cJSON *obj, const char *team, const char *actor,
    const char *origin, int64_t *ret_seq, struct merge_result *res, int *ret_open, char *msg,
    size_t msglen);

#endif /* FS_DAEMON_HQ_CHANGE_H */
