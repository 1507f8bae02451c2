/*
 * custody.h -- chain of custody for changes (issue 16): the canonical byte
 * form of a change, its link hash, and the device's Ed25519 signature.
 *
 * A change is evidence when anyone can show who wrote it and that not a
 * byte moved since.  The device signs every change it saves, and every
 * change names the link hash of the device's previous change ("prev"):
 * the changes of one device form a hash chain that the server checks on
 * push and `fieldsyncd verify` re-checks at rest.
 *
 *   canonical = "fieldsync-change-1" 0x00
 *               str(device) str(id) str(form) str(form_version) str(op)
 *               str(hlc) str(prev) value(fields | absent) value(base | {})
 *   link      = BLAKE2b-256(canonical)
 *   sig       = Ed25519(secret key, "fieldsync-link-1" 0x00 || link)
 *
 * str(s) is a 4-byte big-endian length then the bytes; value() is a tag
 * byte then the value: 'n' null (and an absent "fields"), 'f' false,
 * 't' true, 'd' str(number), 's' str(UTF-8 bytes), 'a' u32 count then
 * the values, 'o' u32 count then (str(key), value) in byte order of the
 * keys.  A number is read as an IEEE double and written as the shortest
 * "%.Ng" (N = 1..17) that reads back as the same double.  docs/PROTOCOL.md
 * ("Chain of custody") is the text a second implementation follows;
 * tests/vectors/custody-1.json pins the bytes.
 *
 * Why per-change signatures (and not one per batch, which DESIGN allows):
 * a verify costs ~43 us on the reference machine (bench/), within the
 * 60 us budget, and a change signed on its own is proven by itself in a
 * case file, without a chain segment of other records' changes.  Why the
 * signature covers the link, not the canonical bytes: the link is what
 * the chain and the case file name; one hash, then a fixed-size signature.
 *
 * Sealed values (issue 17) are JSON objects inside "fields"; the 'o'
 * encoding covers them (ciphertext and commitment) like any other value.
 *
 * Keys and signatures travel as lower-case hex: a public key 64 digits, a
 * link 64, a signature 128.  No function here logs or prints a value.
 */
#ifndef FS_CUSTODY_H
#define FS_CUSTODY_H

#include <stdbool.h>
#include <stddef.h>

#include "change.h"
#include "fieldsync_err.h"

#define CUSTODY_KEY_LEN    32  /* Ed25519 public key */
#define CUSTODY_SECRET_LEN 64  /* Ed25519 secret key (seed and public key) */
#define CUSTODY_LINK_LEN   32  /* BLAKE2b-256 */
#define CUSTODY_SIG_LEN    64
#define CUSTODY_KEY_HEX    (2 * CUSTODY_KEY_LEN)
#define CUSTODY_LINK_HEX   (2 * CUSTODY_LINK_LEN)
#define CUSTODY_SIG_HEX    (2 * CUSTODY_SIG_LEN)

/* The "prev" of a device's first change: 64 zeros. */
extern const char custody_genesis[CUSTODY_LINK_HEX + 1];

/* Initialises libsodium; FS_ERR_INTERNAL if it cannot.  Safe to call again. */
fs_err custody_init(void);

/* A new key pair: hex public key, raw secret key (the caller wipes it). */
fs_err custody_keypair(char ret_pk[CUSTODY_KEY_HEX + 1], unsigned char ret_sk[CUSTODY_SECRET_LEN]);

/* True if s is exactly n lower-case hex digits. */
bool custody_is_hex(const char *s, size_t n);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void custody_hex(const unsigned char *bin, size_t n, char *out);

/* Decodes exactly 2n lower-case hex digits; false otherwise. */
bool custody_unhex(const char *hex, unsigned char *bin, size_t n);

/*
 * The canonical bytes of a parsed change (its "prev" included, "sig" not),
 * in a buffer the caller frees.  FS_ERR_INVALID when the change has no
 * valid "prev"; FS_ERR_NOMEM.
 */
fs_err custody_canonical(const struct change *ch, unsigned char **ret, size_t *ret_len);

/* The link hash of a parsed change (see above). */
fs_err custody_link(const struct change *ch, unsigned char ret_link[CUSTODY_LINK_LEN]);

/* Signs a link with a secret key into hex. */
void custody_sign(const unsigned char link[CUSTODY_LINK_LEN],
    const unsigned char sk[CUSTODY_SECRET_LEN], char ret_sig[CUSTODY_SIG_HEX + 1]);

/* True when sig_hex is a valid signature of link by the hex public key. */
bool custody_verify(const unsigned char link[CUSTODY_LINK_LEN], const char *sig_hex,
    const char *pk_hex);

/*
 * True when sig_hex verifies link under one of the comma-separated hex
 * public keys in keys (every key a device registered).
 */
bool custody_verify_any(const unsigned char link[CUSTODY_LINK_LEN], const char *sig_hex,
    const char *keys);

/*
 * Checks a change as the server does: it carries "prev" and "sig", its
 * signature verifies under pk_hex.  Fills ret_link (hex) either way when
 * the canonical form could be made.  FS_OK, FS_ERR_INVALID with a reason
 * code in *ret_reason ("unsigned", "bad_signature"), FS_ERR_NOMEM.
 */
fs_err custody_check(const struct change *ch, const char *pk_hex,
    char ret_link[CUSTODY_LINK_HEX + 1], const char **ret_reason);

/*
 * The server's history chains (issue 16, item 3): the audit trail and
 * each record's history.  An entry's hash is
 *
 *   BLAKE2b-256("fieldsync-history-1" 0x00 || prev || str(kind) || item...)
 *
 * where prev is the 32-byte hash of the entry before it (zeros for the
 * first), and each item is str(bytes), or the 4 bytes ff ff ff ff for
 * SQL NULL.  The store computes it as it writes an entry
 * (daemon/store_sqlite_history.c); `fieldsyncd verify` recomputes it.
 */
#define CUSTODY_HISTORY_MAX_ITEMS 12
void custody_history_hash(const unsigned char prev[CUSTODY_LINK_LEN], const char *kind,
    int n, const char *const items[], const size_t lens[], unsigned char ret[CUSTODY_LINK_LEN]);

#endif /* FS_CUSTODY_H */
