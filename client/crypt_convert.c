/*
 * crypt_convert.c -- fs_store_encrypt(): a plain device store made an
 * encrypted one (issue 17, item 4).
 *
 * The plain store is checkpointed, then copied page by page with VACUUM
 * INTO into a new file through the encrypting VFS (crypt_vfs.h; VACUUM
 * INTO keeps the page size and takes the reserved bytes asked for), the
 * copy is opened as a store (WAL mode, schema check) and synced, and only
 * then renamed over the plain file.  A failure at any step leaves the
 * plain store as it was and removes the copy.
 *
 * The plain file's old blocks are not overwritten (on flash they cannot
 * be, reliably): a store holding records should be encrypted before its
 * first record, with `init --encrypt`; this is for stores made before.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypt_vfs.h"
#include "custody.h"
#include "internal.h"

/* path as an SQLite URI path: every byte outside a safe set percent-encoded. */
static char *
uri_path(const char *path)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				   "/-._~";
	size_t n = strlen(path);
	char *out = malloc(3 * n + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)path[i];

		if (strchr(safe, ch) != NULL && ch != '\0')
			*p++ = (char)ch;
		else
			p += sprintf(p, "%%%02X", ch);
	}
	*p = '\0';
	return out;
}

static void
remove_store(const char *path)
{
	char name[4200];

	unlink(path);
	snprintf(name, sizeof(name), "%s-wal", path);
	unlink(name);
	snprintf(name, sizeof(name), "%s-shm", path);
	unlink(name);
}

fs_err
fs_store_encrypt(const char *path, const char *secret, size_t secret_len, char *msg,
    size_t msglen)
{
	char tmp[4096], *uri = NULL, *sql = NULL;
	struct crypt_vfs *v = NULL;
	sqlite3 *db = NULL;
	fs_client *check = NULL;
	bool fresh;
	fs_err err;
	int page = 0, reserve = CRYPT_RESERVE, fd;

	if (path == NULL || secret == NULL || msg == NULL)
		return FS_ERR_MISUSE;
	msg[0] = '\0';
	if (custody_init() != FS_OK) /* libsodium, before the key's memory */
		return FS_ERR_INTERNAL;
	if (crypt_file_kind(path) != CRYPT_PLAIN) {
		snprintf(msg, msglen, "store '%s' is not a plain fieldsync store (missing, or"
				      " encrypted already)", path);
		return FS_ERR_INVALID;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.encrypting", path) >= sizeof(tmp)) {
		snprintf(msg, msglen, "path too long");
		return FS_ERR_MISUSE;
	}
	remove_store(tmp); /* a copy left by an earlier try that was cut off */
	if ((err = crypt_vfs_start(tmp, secret, secret_len, &v, &fresh, msg, msglen)) != FS_OK)
		return err;
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(msg, msglen, "cannot read store '%s': %s", path, sqlite3_errmsg(db));
		err = FS_ERR_IO;
		goto out;
	}
	{
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			page = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (page != CRYPT_PAGE) {
		snprintf(msg, msglen, "store '%s' has pages of %d bytes; only %d can be encrypted",
		    path, page, CRYPT_PAGE);
		err = FS_ERR_INVALID;
		goto out;
	}
	/* Asked of the copy: VACUUM INTO takes the reserve requested on main. */
	sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
	if ((uri = uri_path(tmp)) == NULL ||
	    (sql = sqlite3_mprintf("VACUUM INTO 'file:%q?vfs=%q'", uri, crypt_vfs_name(v))) ==
		NULL) {
		snprintf(msg, msglen, "out of memory");
		err = FS_ERR_NOMEM;
		goto out;
	}
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(msg, msglen, "cannot copy the store: %s", sqlite3_errmsg(db));
		err = FS_ERR_IO;
		goto out;
	}
	sqlite3_close(db);
	db = NULL;
	crypt_vfs_stop(v);
	v = NULL;
	/* Opened as a store: WAL mode set, schema checked, everything readable. */
	if ((err = fs_open_encrypted(tmp, secret, secret_len, &check, msg, msglen)) != FS_OK)
		goto out;
	if (sqlite3_exec(check->db, "PRAGMA quick_check", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(msg, msglen, "the encrypted copy does not check: %s",
		    sqlite3_errmsg(check->db));
		err = FS_ERR_CORRUPT;
		goto out;
	}
	fs_close(check);
	check = NULL;
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	if (rename(tmp, path) != 0) {
		snprintf(msg, msglen, "cannot replace '%s' with its encrypted copy", path);
		err = FS_ERR_IO;
		goto out;
	}
	{
		char name[4200];
		snprintf(name, sizeof(name), "%s-wal", path);
		unlink(name);
		snprintf(name, sizeof(name), "%s-shm", path);
		unlink(name);
	}
	err = FS_OK;
out:
	sqlite3_free(sql);
	free(uri);
	fs_close(check);
	if (db != NULL)
		sqlite3_close(db);
	crypt_vfs_stop(v);
	if (err != FS_OK)
		remove_store(tmp);
	return err;
}
