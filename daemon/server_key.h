/*
 * server_key.h -- headquarters' signing key (issue 16, item 5).
 *
 * A conflict resolution is a change the server authors; it is signed and
 * chained like a device's (common/custody.h), with this key, so the whole
 * history of a record verifies.  The key lives in DATA_DIR/server-signing.key
 * (mode 0600, made at the first start): outside the database, so a copied
 * backup cannot forge headquarters' edits.  Its public key is registered in
 * the store at the first resolution; a new key file (a lost one replaced)
 * starts a new chain, and the old public key stays for `fieldsyncd verify`.
 */
#ifndef FS_DAEMON_SERVER_KEY_H
#define FS_DAEMON_SERVER_KEY_H

#include "custody.h"

struct server_key {
	unsigned char sk[CUSTODY_SECRET_LEN];
	char pk[CUSTODY_KEY_HEX + 1];
};

/* Reads the key of data_dir, making it first if there is none.  0, or -1 (logged). */
int server_key_load(const char *data_dir, struct server_key *ret);

/* Wipes the secret key. */
void server_key_wipe(struct server_key *key);

#endif /* FS_DAEMON_SERVER_KEY_H */
