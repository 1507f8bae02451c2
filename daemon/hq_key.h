/*
 * hq_key.h -- headquarters' sealing keys in the daemon (issue 17): reading
 * a passphrase, unlocking the stored keys, opening sealed values, and
 * the public key devices receive with the forms.  The format and the
 * cryptography are common/seal.h's.
 *
 * Unlocked secret keys live in memory from sodium_malloc() (guard pages,
 * locked against swapping where the system allows, wiped when freed).
 * Passphrases are wiped by whoever read them.  Nothing here logs a value
 * or a passphrase.
 */
#ifndef FS_DAEMON_HQ_KEY_H
#define FS_DAEMON_HQ_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "fieldsync_err.h"
#include "seal.h"

struct store;

/* The longest passphrase read (bytes). */
#define HQ_PASS_MAX 1024

/* Secret keys that a passphrase opened. */
struct hq_unlocked;

/*
 * Reads a passphrase into buf (HQ_PASS_MAX + 1 bytes): from file (its
 * first line; refused unless the file is a regular file no one else may
 * read: mode 0600 or stricter), or else from the terminal with prompt,
 * echo off.  With confirm, the terminal asks twice and the two must
 * match.  Returns the length, or -1 after printing why to stderr.
 */
long hq_read_passphrase(const char *file, const char *prompt, bool confirm, char *buf);

/*
 * Unlocks every key of the store that the passphrase opens (after a
 * rotation, old keys may have other passphrases).  On success *ret holds
 * at least one key and is the caller's (hq_unlocked_free()).
 * FS_ERR_NOTFOUND when the store has no key, FS_ERR_KEY when the
 * passphrase opens none.  Costs one Argon2id run per stored key.
 */
fs_err hq_unlock(struct store *store, const char *pass, size_t passlen,
    struct hq_unlocked **ret);

/* Wipes and frees.  Accepts NULL. */
void hq_unlocked_free(struct hq_unlocked *u);

/*
 * For a command (export, reseal, casefile): reads the passphrase
 * (hq_read_passphrase(), from pass_file or the terminal) and unlocks
 * into *ret.  A wrong passphrase is audited as key.unlock_failed
 * ("for=PURPOSE", on record_id if not NULL).  Every failure is said on
 * stderr; returns 0 or 1.
 */
int hq_unlock_cli(struct store *store, const char *pass_file, const char *purpose,
    const char *record_id, struct hq_unlocked **ret);

/* Number of keys held, and the ids as "id,id" (buf of len bytes). */
size_t hq_unlocked_ids(const struct hq_unlocked *u, char *buf, size_t len);

/*
 * Replaces, inside tree, every sealed envelope whose key u holds by the
 * value it seals (parsed JSON), recursively.  Counts opened envelopes in
 * *ret_opened and those left sealed (a key not unlocked, a box that does
 * not open) in *ret_closed.  u may be NULL (nothing opens).
 * FS_ERR_NOMEM; otherwise FS_OK.
 */
fs_err hq_open_tree(const struct hq_unlocked *u, cJSON *tree, int *ret_opened,
    int *ret_closed);

/*
 * Opens one envelope with the key u holds for it: its JSON text (freed
 * with seal_text_free()) and salt, for a case file that proves the value
 * against the signed commitment.  FS_ERR_KEY when u holds no key that
 * opens it.
 */
fs_err hq_open_envelope(const struct hq_unlocked *u, const cJSON *env, char **ret_text,
    size_t *ret_len, unsigned char salt[SEAL_SALT_LEN]);

/* True if tree holds a sealed envelope anywhere. */
bool hq_tree_has_sealed(const cJSON *tree);

/*
 * The key devices seal to: {"id": ID, "public": HEX} of the newest key,
 * as JSON text the caller frees; NULL in *ret_json when there is none.
 */
fs_err hq_current_public(struct store *store, char **ret_json);

/*
 * `fieldsyncd key create|list` (argv[0] is "key").  Exit status: 0, 1
 * runtime error, 2 usage.
 */
struct config;
int hq_key_main(const struct config *cfg, int argc, char **argv);

/* The key command's line of the usage text. */
void hq_key_usage_lines(FILE *fp);

#endif /* FS_DAEMON_HQ_KEY_H */
