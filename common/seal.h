/*
 * seal.h -- sealed sensitive values (issue 17): a field marked `sensitive`
 * leaves the device only as ciphertext for headquarters' key.
 *
 * Headquarters has an X25519 key pair (`fieldsyncd key create`).  Its
 * public key travels to devices with the forms; the secret key is kept
 * only locked under a passphrase (Argon2id, then XChaCha20-Poly1305) and
 * is unlocked for a short time, in locked memory, to reveal or export.
 *
 * A sealed value replaces the plain value inside a change's "fields":
 *
 *   {"sealed": BASE64, "key": KEY_ID, "commit": HEX64}
 *
 *   text   = the value's JSON text as the device printed it
 *   salt   = 16 fresh random bytes
 *   sealed = crypto_box_seal(salt || text, headquarters' public key)
 *   commit = BLAKE2b-256(salt || text)            (unkeyed)
 *   key    = the first 8 bytes of BLAKE2b-256(public key), hex
 *
 * The change is signed over the envelope (common/custody.h), so the
 * signature covers the ciphertext and the commitment; a case file that
 * reveals a value shows text and salt, and anyone can check them against
 * the signed commitment without a key (DESIGN, "Canonical form").  The
 * salt is random per value, so equal values seal differently and the
 * commitment tells nothing about the value.  Null is never sealed.
 *
 * Why the whole JSON text and not the decoded value: the device commits
 * to the bytes it printed, and whoever opens the box gets the same bytes;
 * no second printing of a number can differ (see custody.c on doubles).
 *
 * Merge never reads a sealed value: stamps alone decide, and two
 * concurrent writes are a conflict even when their plain values are
 * equal (no keyed hash is shared across devices).
 *
 * No function here logs or prints a value.  Every buffer that held a
 * plain value or a secret key is wiped before it is freed.
 */
#ifndef FS_SEAL_H
#define FS_SEAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fieldsync_err.h"

#define SEAL_PUBLIC_LEN  32 /* crypto_box_PUBLICKEYBYTES */
#define SEAL_SECRET_LEN  32 /* crypto_box_SECRETKEYBYTES */
#define SEAL_SALT_LEN    16
#define SEAL_COMMIT_LEN  32
#define SEAL_ID_HEX      16
#define SEAL_PUBLIC_HEX  (2 * SEAL_PUBLIC_LEN)
/* Longest value text sealed: a text field's own limit is lower. */
#define SEAL_TEXT_MAX    (1024 * 1024)

/* A public key and its id. */
struct seal_public {
	char id[SEAL_ID_HEX + 1];
	unsigned char pk[SEAL_PUBLIC_LEN];
};

/* Argon2id cost of a locked key; stored with it, so it can be raised later. */
#define SEAL_LOCK_OPSLIMIT 3
#define SEAL_LOCK_MEMLIMIT (64u * 1024 * 1024)

/* The id of a public key (16 hex digits). */
void seal_key_id(const unsigned char pk[SEAL_PUBLIC_LEN], char ret_id[SEAL_ID_HEX + 1]);

/* Fills key from 64 hex digits; false when pk_hex is not that. */
bool seal_public_from_hex(const char *pk_hex, struct seal_public *key);

/* A new key pair; the caller wipes sk (sodium_memzero). */
fs_err seal_keypair(struct seal_public *pub, unsigned char sk[SEAL_SECRET_LEN]);

/*
 * Seals a value's JSON text (len bytes, at most SEAL_TEXT_MAX) for key.
 * On success *ret is an envelope object the caller owns (cJSON_Delete).
 */
fs_err seal_value(const struct seal_public *key, const char *text, size_t len, cJSON **ret);

/* True if v is an object with a "sealed" member: meant as an envelope. */
bool seal_is_envelope(const cJSON *v);

/*
 * Checks an envelope's shape: exactly the three keys, "sealed" base64 of
 * a box no larger than a sealed SEAL_TEXT_MAX, "key" 16 and "commit" 64
 * lower-case hex digits.  FS_ERR_INVALID with a message otherwise.
 */
fs_err seal_check(const cJSON *v, char *err, size_t errlen);

/* The envelope's key id, or NULL when v is not an envelope. */
const char *seal_envelope_key(const cJSON *v);

/*
 * Opens an envelope with the key pair whose id it names (the caller picks
 * the pair).  On success *ret_text is the value's JSON text, NUL-ended,
 * *ret_len its length, owned by the caller and freed with seal_text_free()
 * (which wipes it); salt receives the salt.  FS_ERR_KEY when the box does
 * not open with this key or the commitment does not match (a box altered
 * or made for another key), FS_ERR_INVALID for a malformed envelope.
 */
fs_err seal_open(const cJSON *env, const struct seal_public *pub,
    const unsigned char sk[SEAL_SECRET_LEN], char **ret_text, size_t *ret_len,
    unsigned char salt[SEAL_SALT_LEN]);

/* Wipes and frees a text from seal_open().  Accepts NULL. */
void seal_text_free(char *text, size_t len);

/* True when commit_hex is BLAKE2b-256(salt || text). */
bool seal_commit_matches(const char *commit_hex, const unsigned char salt[SEAL_SALT_LEN],
    const char *text, size_t len);

/*
 * The secret key locked under a passphrase, as a JSON object the caller
 * owns: {"kdf": "argon2id13", "ops": N, "mem": N, "salt": HEX, "nonce":
 * HEX, "box": HEX}; the box is XChaCha20-Poly1305 of sk with the public
 * key's id as associated data.  Takes about half a second on purpose.
 */
fs_err seal_secret_lock(const struct seal_public *pub, const unsigned char sk[SEAL_SECRET_LEN],
    const char *pass, size_t passlen, cJSON **ret_locked);

/*
 * Unlocks a secret key locked by seal_secret_lock() for pub.  FS_ERR_KEY
 * for a wrong passphrase (or a locked key of another public key),
 * FS_ERR_INVALID for a damaged record, FS_ERR_NOMEM when Argon2id cannot
 * get its memory.  sk is wiped on failure.
 */
fs_err seal_secret_unlock(const cJSON *locked, const struct seal_public *pub,
    const char *pass, size_t passlen, unsigned char sk[SEAL_SECRET_LEN]);

#endif /* FS_SEAL_H */
