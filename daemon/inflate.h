/*
 * inflate.h -- bounded decoding of request bodies (gzip, deflate) and gzip
 * encoding of responses, with zlib.
 *
 * Decoding never produces more than a fixed number of bytes, whatever the
 * input claims, so a small compressed body cannot blow up into gigabytes
 * (a "zip bomb").  "deflate" is the zlib format as HTTP defines it
 * (RFC 9110 8.4.1.2), "gzip" is RFC 1952 (several members are accepted).
 * The module does not parse HTTP headers beyond the coding name.
 */
#ifndef FS_DAEMON_INFLATE_H
#define FS_DAEMON_INFLATE_H

#include <stddef.h>

#include "fieldsync.h"

enum inflate_coding {
	INFLATE_IDENTITY,
	INFLATE_GZIP,
	INFLATE_DEFLATE,
};

/*
 * Maps a Content-Encoding header value (NULL means identity) to a coding.
 * Case-insensitive; "x-gzip" counts as gzip.  Returns 0, or -1 for a coding
 * this server does not accept (the caller answers 415).
 */
int inflate_coding_parse(const char *header, enum inflate_coding *ret_coding);

/*
 * Decodes len bytes of in.  On success *ret_out is a malloc'd buffer owned
 * by the caller with a NUL after the *ret_len bytes of data.  Identity input
 * is copied.  Errors: FS_ERR_TOOBIG if the output would exceed max_out
 * bytes (413), FS_ERR_MALFORMED if the stream is damaged, truncated or has
 * trailing bytes (400), FS_ERR_NOMEM.
 */
fs_err inflate_decode(enum inflate_coding coding, const void *in, size_t len, size_t max_out,
    char **ret_out, size_t *ret_len);

/*
 * Compresses len bytes of in as one gzip member.  *ret_out is malloc'd and
 * owned by the caller.  FS_ERR_NOMEM or FS_ERR_INTERNAL on failure.
 */
fs_err inflate_gzip_encode(const void *in, size_t len, char **ret_out, size_t *ret_len);

#endif /* FS_DAEMON_INFLATE_H */
