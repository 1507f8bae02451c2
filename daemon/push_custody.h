/*
 * push_custody.h -- the chain-of-custody checks of a push (issue 16;
 * docs/PROTOCOL.md, "Chain of custody").
 *
 * Protocol 3: the envelope carries the device's public key ("key"); the
 * first signed push registers it, another key afterwards is refused whole
 * (403 key_mismatch) until an admin resets it.  Every change carries
 * "prev" and "sig": the signature must verify under the key, and "prev"
 * must be the link of the last change the server took from the device,
 * else the change is refused alone: unsigned, bad_signature, chain_fork
 * (a stamp at or before the chain's head: a second history), chain_gap
 * (changes missing in between; the answer's "chain_head" lets the device
 * re-link).  A change refused by a later (form, team) check stays in the
 * chain: its link is kept, its values are not.
 *
 * Protocol 1 and 2 pushes carry no signatures; they are refused whole
 * (403 signature_required) for a device that has registered a key.
 */
#ifndef FS_DAEMON_PUSH_CUSTODY_H
#define FS_DAEMON_PUSH_CUSTODY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "change.h"
#include "custody.h"
#include "http.h"
#include "store_records.h"

struct push_custody {
	bool active;  /* protocol 3: every change is checked */
	bool dirty;   /* head (or key) moved: saved at the end of the batch */
	int refused;  /* changes refused by these checks in this batch */
	struct store_custody c;
	char link[CUSTODY_LINK_HEX + 1]; /* the link of the change being checked */
};

/*
 * Reads the device's chain and checks the envelope's key inside the
 * push's transaction.  FS_OK to go on; FS_ERR_FORBIDDEN or FS_ERR_INVALID
 * with resp filled (the batch is refused whole); a store error otherwise.
 */
fs_err push_custody_begin(struct push_custody *pc, struct store_push *push, const char *device,
    const cJSON *root, int protocol, struct http_response *resp);

/*
 * Checks one parsed change.  FS_OK and *ret_error NULL to go on with the
 * other checks (pc->link is its link); *ret_error a reason code (detail
 * in msg) when it is refused; *ret_dup true for a change already stored
 * with the same link (a replay: counted as a duplicate).
 */
fs_err push_custody_change(struct push_custody *pc, struct store_push *push,
    const struct change *ch, bool *ret_dup, const char **ret_error, char *msg, size_t len);

/* The change that passed push_custody_change() was stored, or refused later (reason). */
fs_err push_custody_took(struct push_custody *pc, struct store_push *push, const char *device,
    const struct change *ch, const char *refused_reason);

/* End of the batch: saves the head; adds "chain_head" to the answer. */
fs_err push_custody_end(struct push_custody *pc, struct store_push *push, const char *device,
    cJSON *answer);

#endif /* FS_DAEMON_PUSH_CUSTODY_H */
