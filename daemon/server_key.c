/*
 * server_key.c -- headquarters' signing key.  See server_key.h.
 */
#include "server_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"

#define KEY_FILE "server-signing.key"

int
server_key_load(const char *data_dir, struct server_key *ret)
{
	char path[4200], hex[2 * CUSTODY_SECRET_LEN + 2];
	unsigned char pk[CUSTODY_KEY_LEN];
	struct stat st;
	ssize_t n;
	int fd;

	memset(ret, 0, sizeof(*ret));
	snprintf(path, sizeof(path), "%s/%s", data_dir, KEY_FILE);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0) {
		if (custody_keypair(ret->pk, ret->sk) != FS_OK) {
			close(fd);
			unlink(path);
			log_warnx("Could not make the server's signing key");
			return -1;
		}
		custody_hex(ret->sk, CUSTODY_SECRET_LEN, hex);
		hex[2 * CUSTODY_SECRET_LEN] = '\n';
		n = write(fd, hex, 2 * CUSTODY_SECRET_LEN + 1);
		sodium_memzero(hex, sizeof(hex));
		if (n != 2 * CUSTODY_SECRET_LEN + 1 || fsync(fd) != 0 || close(fd) != 0) {
			unlink(path);
			log_warnx("Could not write '%s'", path);
			server_key_wipe(ret);
			return -1;
		}
		log_info("Made the server's signing key %s", path);
		return 0;
	}
	if (errno != EEXIST || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warnx("Cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		close(fd);
		log_warnx("'%s' must be readable by its owner only (chmod 600)", path);
		return -1;
	}
	n = read(fd, hex, sizeof(hex) - 1);
	close(fd);
	if (n >= 2 * CUSTODY_SECRET_LEN)
		hex[2 * CUSTODY_SECRET_LEN] = '\0';
	if (n < 2 * CUSTODY_SECRET_LEN || !custody_unhex(hex, ret->sk, CUSTODY_SECRET_LEN)) {
		sodium_memzero(hex, sizeof(hex));
		log_warnx("'%s' is not a signing key", path);
		return -1;
	}
	sodium_memzero(hex, sizeof(hex));
	crypto_sign_ed25519_sk_to_pk(pk, ret->sk);
	custody_hex(pk, sizeof(pk), ret->pk);
	return 0;
}

void
server_key_wipe(struct server_key *key)
{
	sodium_memzero(key->sk, sizeof(key->sk));
}
