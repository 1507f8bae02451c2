/*
 * fuzz-seal.c -- what arrives sealed from the network (issue 17): a value
 * in a sensitive field of a push (seal_is_envelope, seal_check,
 * seal_envelope_key), the server's "seal_key" in a GET /v1/forms answer
 * (seal_public_from_hex, the id check the device makes), and opening an
 * envelope with a key: never a crash, an envelope that passes the shape
 * check has a 16-hex key id, and an envelope that opens gives back text
 * whose commitment matches.  The keys are derived from a fixed seed so
 * that a crash replays.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "fuzz.h"
#include "seal.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seal_public pub;
	static unsigned char sk[SEAL_SECRET_LEN];
	static int ready;
	unsigned char salt[SEAL_SALT_LEN];
	char msg[160], *text = NULL;
	const cJSON *pk, *id;
	cJSON *root;
	size_t len;

	if (!ready) {
		unsigned char seed[crypto_box_SEEDBYTES] = {7};

		FUZZ_CHECK(sodium_init() >= 0);
		FUZZ_CHECK(crypto_box_seed_keypair(pub.pk, sk, seed) == 0);
		seal_key_id(pub.pk, pub.id);
		ready = 1;
	}
	if (size > 65536)
		return 0;
	if ((root = cJSON_ParseWithLength((const char *)data, size)) == NULL)
		return 0;
	if (seal_is_envelope(root) && seal_check(root, msg, sizeof(msg)) == FS_OK) {
		const char *key = seal_envelope_key(root);

		FUZZ_CHECK(key != NULL && strlen(key) == SEAL_ID_HEX);
		if (seal_open(root, &pub, sk, &text, &len, salt) == FS_OK) {
			FUZZ_CHECK(seal_commit_matches(
			    cJSON_GetObjectItemCaseSensitive(root, "commit")->valuestring, salt, text,
			    len));
			seal_text_free(text, len);
		}
	}
	/* A forms answer's seal_key: {"id", "public"}, the id the hash of the key. */
	pk = cJSON_GetObjectItemCaseSensitive(root, "public");
	id = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (cJSON_IsString(pk)) {
		struct seal_public got;

		if (seal_public_from_hex(pk->valuestring, &got)) {
			FUZZ_CHECK(strlen(got.id) == SEAL_ID_HEX);
			if (cJSON_IsString(id) && strcmp(id->valuestring, got.id) == 0)
				FUZZ_CHECK(strlen(pk->valuestring) == SEAL_PUBLIC_HEX);
		}
	}
	cJSON_Delete(root);
	return 0;
}
