/*
 * id.c -- random identifiers.  See id.h.
 */
#include "id.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

fs_err
id_random_bytes(void *buf, size_t nbytes)
{
	unsigned char *p = buf;

	while (nbytes > 0) {
		ssize_t n = getrandom(p, nbytes, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return FS_ERR_IO;
		}
		p += n;
		nbytes -= (size_t)n;
	}
	return FS_OK;
}

fs_err
id_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	fs_err err;

	if (nbytes > sizeof(raw))
		return FS_ERR_MISUSE;
	if ((err = id_random_bytes(raw, nbytes)) != FS_OK)
		return err;
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
	return FS_OK;
}

bool
id_is_hex(const char *s, size_t len)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return s[i] == '\0';
}
