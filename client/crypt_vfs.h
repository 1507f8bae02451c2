/*
 * crypt_vfs.h -- the encrypted device store (issue 17, item 4): an SQLite
 * VFS that seals every page of the store and of its WAL.
 *
 * Why a VFS and not SQLCipher or values encrypted one by one: Debian's
 * SQLCipher is SQLite 3.15 (2016), too old for this code (UPSERT needs
 * 3.24) and weak in its defaults; encrypting values at the application
 * layer would leave indexes, record ids, stamps, the change log's shape
 * and SQLite's free pages in the clear.  A VFS in the manner of SQLite's
 * own cksumvfs sits under the pager and sees whole pages: nothing reaches
 * the disk unsealed, on the system SQLite, and the rest of the library
 * does not change.
 *
 * Layout (page size fixed at 4096, 40 reserved bytes per page, set when
 * the store is created):
 *
 *   store page i:  [ ciphertext of bytes 0..4055 | nonce 24 | tag 16 ]
 *   store page 0:  [ salt 16 | ciphertext of bytes 16..4055 | nonce | tag ]
 *                  (the 16 bytes "SQLite format 3\0" are put back on read)
 *   WAL:           header (32) and frame headers (24) as SQLite writes
 *                  them; each frame's page sealed like a store page
 *
 * Sealing: XChaCha20-Poly1305 (libsodium), a fresh random nonce per write,
 * associated data = the page's (or frame's) index and the file kind, so a
 * page moved elsewhere does not open.  The key is Argon2id (libsodium's
 * "interactive" cost, about 0.1 s and 64 MiB) of the officer's PIN or
 * passphrase and the 16-byte salt at the head of the file; it lives in
 * sodium_malloc() memory and is wiped at close.  A wrong key fails to open
 * page 0 before SQLite is even called: nothing is read or written.
 *
 * What stays in the clear: the salt; the file sizes; the WAL header and
 * frame headers (page numbers, database size at commit, SQLite's salts
 * and its checksums -- computed by SQLite over the plain page, 64 bits a
 * frame, which tell nothing useful about a page of this size); the -shm
 * index (page numbers and frame positions only).  Temporary files
 * (statement journals, VACUUM's copies, temp tables) never reach the
 * disk: this VFS keeps them in memory, wiped when closed.  A rollback
 * journal is kept in memory too: an encrypted store is always in WAL mode,
 * and only the one-time conversion of a plain store (on a temporary copy,
 * renamed into place when complete) ever writes through one.
 *
 * An all-zero page on disk reads as zeros (a page the file system
 * allocated and SQLite never wrote); any other page that does not open is
 * SQLITE_IOERR_DATA: damaged or tampered with -- except in a WAL frame
 * read whole, as SQLite's recovery reads them after a crash: a frame's
 * page is written at an offset that is not page-aligned, so a killed
 * process or a power cut can leave it torn, and plain SQLite then sees a
 * frame whose checksum fails and ends the log there.  Such a frame's raw
 * bytes are handed up, and its checksum fails the same way (found by the
 * kill -9 test on an encrypted store).
 *
 * One VFS object per open store (registered under a name of its own), so
 * the library keeps no global state of its own; the VFS must outlive the
 * connection that uses it.
 */
#ifndef FS_CLIENT_CRYPT_VFS_H
#define FS_CLIENT_CRYPT_VFS_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "fieldsync_err.h"

#define CRYPT_PAGE      4096
#define CRYPT_RESERVE   40 /* nonce 24 + tag 16 */
#define CRYPT_SALT      16

struct crypt_vfs;

/*
 * What the file at path is: CRYPT_ABSENT (missing or empty), CRYPT_PLAIN
 * (an SQLite file), CRYPT_SEALED (anything else: taken for an encrypted
 * store), or -1 when it cannot be read (errno set).
 */
enum { CRYPT_ABSENT = 0, CRYPT_PLAIN = 1, CRYPT_SEALED = 2 };
int crypt_file_kind(const char *path);

/*
 * Derives the key for the store at path from secret and registers a VFS
 * for it.  A missing or empty file gets a fresh salt (*ret_new true: the
 * caller sets the page size and reserved bytes before the first write).
 * FS_ERR_KEY: secret does not open the store; FS_ERR_INVALID: the file is
 * a plain SQLite store; FS_ERR_NOMEM, FS_ERR_IO.  msg explains.
 */
fs_err crypt_vfs_start(const char *path, const char *secret, size_t secret_len,
    struct crypt_vfs **ret, bool *ret_new, char *msg, size_t msglen);

/* How many journals and temporary files were kept in memory (for tests). */
unsigned long crypt_vfs_mem_files(const struct crypt_vfs *v);

/* The registered VFS name to pass to sqlite3_open_v2(). */
const char *crypt_vfs_name(const struct crypt_vfs *v);

/*
 * Unregisters the VFS and wipes the key.  Call only once no connection
 * uses it any more.  Accepts NULL.
 */
void crypt_vfs_stop(struct crypt_vfs *v);

/*
 * Sets up a new, still empty encrypted store on db (page size and
 * reserved bytes); before anything is written.
 */
fs_err crypt_vfs_prepare_new(sqlite3 *db);

#endif /* FS_CLIENT_CRYPT_VFS_H */
