/*
 * wipe.c -- remote wipe (issue 17, item 5): a device revoked with
 * `fieldsyncd device revoke --wipe` learns it at its next contact (any
 * request answers 410 `wipe`), erases its store, and confirms.
 *
 * Erasing: the connection is closed, then the store, its WAL, its shared
 * memory file and any journal are each overwritten with zeros, synced and
 * removed.  On flash storage an overwrite may land elsewhere, so the
 * zeros are not a guarantee for a plain store; for an encrypted store
 * (crypt_vfs.h) they are: the first page holds the salt, and without it
 * no PIN derives the key of what may linger.  The device's signing key
 * lives in the store and goes with it.  The handle is then left on an
 * empty in-memory store, so that later calls fail cleanly (no device).
 *
 * Then POST /v1/wipe: the server records and audits the confirmation.  If
 * that request fails the store is gone all the same (the confirmation
 * cannot be sent again: the token is revoked); the message says so.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypt_vfs.h"
#include "internal.h"
#include "sync_internal.h"

/* Overwrites the file with zeros, syncs and removes it; true if it is gone. */
static bool
erase_file(const char *path)
{
	static const char zeros[8192];
	struct stat sb;
	off_t left;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
			for (left = sb.st_size; left > 0;) {
				size_t n = left < (off_t)sizeof(zeros) ? (size_t)left : sizeof(zeros);
				ssize_t w = write(fd, zeros, n);

				if (w <= 0)
					break;
				left -= w;
			}
			fsync(fd);
		}
		close(fd);
	}
	return unlink(path) == 0 || access(path, F_OK) != 0;
}

fs_err
sync_wipe(struct sync_run *run)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	fs_client *c = run->c;
	const char *name = sqlite3_db_filename(c->db, "main");
	char *path = name != NULL && name[0] != '\0' ? strdup(name) : NULL;
	bool erased = true;
	struct http_answer a;
	fs_err err;

	db_stmt_clear(c);
	sqlite3_close_v2(c->db);
	c->db = NULL;
	crypt_vfs_stop(c->crypt); /* wipes the store key */
	c->crypt = NULL;
	sodium_memzero(c->sign_sk, sizeof(c->sign_sk));
	c->has_key = false;
	c->has_device = false;
	for (size_t i = 0; path != NULL && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char file[4200];

		snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
		if (access(file, F_OK) == 0)
			erased &= erase_file(file);
	}
	free(path);
	/* An empty store, so that the handle stays usable (and says: no device). */
	if (db_open(c, ":memory:", NULL, 0) != FS_OK) {
		sqlite3_close_v2(c->db);
		c->db = NULL;
	}
	if (!erased)
		return client_fail(c, FS_ERR_WIPED,
		    "this device was revoked by headquarters and told to erase its store; a file"
		    " of the store could not be removed: remove it by hand");
	err = sync_request(run, "wipe", "POST", "/v1/wipe", NULL, &a);
	if (err == FS_OK) {
		bool ok = a.status == 200;
		http_answer_finish(&a);
		if (ok)
			return client_fail(c, FS_ERR_WIPED,
			    "this device was revoked by headquarters: its store was erased and the"
			    " server told");
	}
	return client_fail(c, FS_ERR_WIPED,
	    "this device was revoked by headquarters: its store was erased, but the server"
	    " could not be told");
}
