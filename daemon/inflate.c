/*
 * inflate.c -- bounded gzip/deflate decoding and gzip encoding.  See
 * inflate.h.
 *
 * The output buffer grows by doubling up to max_out + 1 bytes; producing
 * that last byte proves the limit was exceeded and decoding stops at once,
 * so memory use is bounded by max_out whatever the compression ratio.
 * gzip is decoded strictly (windowBits 15 + 16): a body labelled gzip that
 * is really zlib is a client bug and is refused rather than guessed at.
 */
#include "inflate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

int
inflate_coding_parse(const char *header, enum inflate_coding *ret_coding)
{
	if (header == NULL || header[0] == '\0' || strcasecmp(header, "identity") == 0)
		*ret_coding = INFLATE_IDENTITY;
	else if (strcasecmp(header, "gzip") == 0 || strcasecmp(header, "x-gzip") == 0)
		*ret_coding = INFLATE_GZIP;
	else if (strcasecmp(header, "deflate") == 0)
		*ret_coding = INFLATE_DEFLATE;
	else
		return -1;
	return 0;
}

static fs_err
copy_identity(const void *in, size_t len, size_t max_out, char **ret_out, size_t *ret_len)
{
	char *out;

	if (len > max_out)
		return FS_ERR_TOOBIG;
	if ((out = malloc(len + 1)) == NULL)
		return FS_ERR_NOMEM;
	if (len > 0)
		memcpy(out, in, len);
	out[len] = '\0';
	*ret_out = out;
	*ret_len = len;
	return FS_OK;
}

fs_err
inflate_decode(enum inflate_coding coding, const void *in, size_t len, size_t max_out,
    char **ret_out, size_t *ret_len)
{
	z_stream zs;
	char *out = NULL, *p;
	size_t cap, limit, produced = 0;
	fs_err err = FS_ERR_MALFORMED;
	int zr;

	if (coding == INFLATE_IDENTITY)
		return copy_identity(in, len, max_out, ret_out, ret_len);
	if (len == 0)
		return FS_ERR_MALFORMED;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, coding == INFLATE_GZIP ? 15 + 16 : 15) != Z_OK)
		return FS_ERR_NOMEM;
	/* One spare byte to detect overflow, one for the NUL. */
	limit = max_out + 1;
	cap = len < limit / 4 ? len * 4 : limit;
	if (cap < 4096)
		cap = limit < 4096 ? limit : 4096;
	if ((out = malloc(cap + 1)) == NULL) {
		err = FS_ERR_NOMEM;
		goto out;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	for (;;) {
		size_t chunk_in = len - (size_t)((const char *)zs.next_in - (const char *)in);
		size_t before;

		if (produced == cap) {
			if (cap == limit)
				break; /* produced max_out + 1 bytes */
			cap = cap > limit / 2 ? limit : cap * 2;
			if ((p = realloc(out, cap + 1)) == NULL) {
				err = FS_ERR_NOMEM;
				goto out;
			}
			out = p;
		}
		zs.avail_in = chunk_in > UINT32_MAX ? UINT32_MAX : (uInt)chunk_in;
		zs.next_out = (Bytef *)out + produced;
		before = cap - produced > UINT32_MAX ? UINT32_MAX : cap - produced;
		zs.avail_out = (uInt)before;
		zr = inflate(&zs, Z_NO_FLUSH);
		produced += before - zs.avail_out;
		if (zr == Z_STREAM_END) {
			size_t left = len - (size_t)((const char *)zs.next_in - (const char *)in);
			if (left == 0) {
				err = FS_OK;
				break;
			}
			/* RFC 1952 allows several gzip members; deflate has one. */
			if (coding != INFLATE_GZIP || inflateReset(&zs) != Z_OK)
				break;
			continue;
		}
		if (zr == Z_MEM_ERROR) {
			err = FS_ERR_NOMEM;
			break;
		}
		if (zr == Z_BUF_ERROR && zs.avail_out > 0)
			break; /* no more input: truncated */
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			break; /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
	}
	if (produced > max_out) {
		err = FS_ERR_TOOBIG;
		goto out;
	}
	if (err != FS_OK)
		goto out;
	out[produced] = '\0';
	*ret_out = out;
	*ret_len = produced;
	out = NULL;
out:
	inflateEnd(&zs);
	free(out);
	return err;
}

fs_err
inflate_gzip_encode(const void *in, size_t len, char **ret_out, size_t *ret_len)
{
	z_stream zs;
	uLong bound;
	char *out;
	int zr;

	memset(&zs, 0, sizeof(zs));
	if (len > UINT32_MAX)
		return FS_ERR_TOOBIG;
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return FS_ERR_NOMEM;
	bound = deflateBound(&zs, (uLong)len);
	if ((out = malloc(bound)) == NULL) {
		deflateEnd(&zs);
		return FS_ERR_NOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)bound;
	zr = deflate(&zs, Z_FINISH);
	if (zr != Z_STREAM_END) {
		deflateEnd(&zs);
		free(out);
		return FS_ERR_INTERNAL;
	}
	*ret_len = zs.total_out;
	deflateEnd(&zs);
	*ret_out = out;
	return FS_OK;
}
