/*
 * unlock_hold.h -- headquarters' sealing keys held unlocked for a short
 * time, per reviewer (issue 17).
 *
 * A reviewer types the passphrase on the page (POST /v1/review/unlock);
 * the keys it opens (hq_key.h) are held for that reviewer only, in
 * sodium_malloc() memory, for cfg unlock_seconds, and wiped when the time
 * is up (unlock_hold_expire(), called every second by the server's main
 * thread), when the reviewer locks (POST /v1/review/lock) or at shutdown.
 * Another reviewer's reveal needs its own unlock.
 *
 * Wrong passphrases are rate-limited for the whole daemon, not per
 * reviewer or address: UNLOCK_MAX_FAILS failures within
 * UNLOCK_FAIL_WINDOW seconds refuse every unlock until the oldest of them
 * leaves the window (a passphrase guessed through many tokens is still
 * bounded).  The caller audits each attempt, and also counts the audited
 * failures of the whole store (review_unlock.c): the limit then holds
 * for every daemon of a shared store and across restarts.
 *
 * Thread-safe: one mutex; Argon2id runs outside it.
 */
#ifndef FS_DAEMON_UNLOCK_HOLD_H
#define FS_DAEMON_UNLOCK_HOLD_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fieldsync_err.h"

struct store;
struct unlock_hold;

#define UNLOCK_MAX_FAILS   5
#define UNLOCK_FAIL_WINDOW (15 * 60)
#define UNLOCK_MAX_HOLDERS 64

/* A hold keeping keys for seconds after each unlock; NULL when out of memory. */
struct unlock_hold *unlock_hold_new(unsigned seconds);

/* Wipes every held key and frees.  Accepts NULL. */
void unlock_hold_free(struct unlock_hold *h);

/*
 * Unlocks with a passphrase for reviewer who.  FS_OK: *ret_seconds is how
 * long the keys stay unlocked, ret_ids (len bytes) their ids "id,id".
 * FS_ERR_KEY: the passphrase opens no key (counted).  FS_ERR_BUSY: too
 * many recent failures, *ret_retry seconds until the next try.
 * FS_ERR_NOTFOUND: no key was ever created.  Others from the store.
 */
fs_err unlock_hold_unlock(struct unlock_hold *h, struct store *store, const char *who,
    const char *pass, size_t passlen, int *ret_seconds, int *ret_retry, char *ret_ids,
    size_t len);

/* Wipes who's keys; true when it held any. */
bool unlock_hold_lock(struct unlock_hold *h, const char *who);

/* Seconds who's keys stay unlocked; 0 when who holds none. */
int unlock_hold_left(struct unlock_hold *h, const char *who);

/*
 * Opens, in tree, the sealed envelopes whose key who holds (hq_open_tree()).
 * FS_ERR_KEY when who holds no unlocked key.
 */
fs_err unlock_hold_open(struct unlock_hold *h, const char *who, cJSON *tree, int *ret_opened,
    int *ret_closed);

/* Wipes the keys whose time is up. */
void unlock_hold_expire(struct unlock_hold *h);

#endif /* FS_DAEMON_UNLOCK_HOLD_H */
