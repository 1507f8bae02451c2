/*
 * fuzz-inflate.c -- daemon/inflate.c on any body: decoding never writes
 * more than its limit, always NUL-terminates, and gzip encoding round-trips.
 * The first byte chooses the coding and the limit (1 byte to 64 KiB), so
 * the fuzzer reaches the "too big" edge cheaply.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "inflate.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum inflate_coding codings[] = {
	    INFLATE_IDENTITY, INFLATE_GZIP, INFLATE_DEFLATE};
	enum inflate_coding coding, parsed;
	size_t max_out, out_len, enc_len, len;
	char *out, *enc, *hdr;
	fs_err err;

	if (size < 2 || size > (1 << 20))
		return 0;
	coding = codings[data[0] % 3];
	max_out = ((size_t)data[1] << 8 | (size_t)(data[0] >> 2)) % 65536 + 1;
	data += 2;
	size -= 2;
	err = inflate_decode(coding, data, size, max_out, &out, &out_len);
	FUZZ_CHECK(err == FS_OK || err == FS_ERR_TOOBIG || err == FS_ERR_MALFORMED);
	if (err == FS_OK) {
		FUZZ_CHECK(out_len <= max_out);
		FUZZ_CHECK(out[out_len] == '\0');
		if (coding == INFLATE_IDENTITY)
			FUZZ_CHECK(out_len == size && memcmp(out, data, size) == 0);
		free(out);
	}
	/* Round trip through the encoder. */
	if (inflate_gzip_encode(data, size, &enc, &enc_len) == FS_OK) {
		err = inflate_decode(INFLATE_GZIP, enc, enc_len, size, &out, &len);
		FUZZ_CHECK(err == FS_OK && len == size && memcmp(out, data, size) == 0);
		free(out);
		free(enc);
	}
	/* The input as a Content-Encoding header value. */
	if (size < 256 && (hdr = malloc(size + 1)) != NULL) {
		memcpy(hdr, data, size);
		hdr[size] = '\0';
		if (inflate_coding_parse(hdr, &parsed) == 0)
			FUZZ_CHECK(parsed == INFLATE_IDENTITY || parsed == INFLATE_GZIP ||
			           parsed == INFLATE_DEFLATE);
		free(hdr);
	}
	return 0;
}
