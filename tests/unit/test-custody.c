/*
 * test-custody.c -- the chain of custody's byte form (common/custody.c)
 * against tests/vectors/custody-1.json, which tests/interop/custody.py
 * (written from docs/PROTOCOL.md alone) checks too: both implementations
 * must produce the same canonical bytes, links and signatures.  Then what
 * a signature must catch: any byte of the canonical form changed, another
 * prev, another key.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "change.h"
#include "custody.h"
#include "harness.h"

static char *
read_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	if ((buf = malloc((size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, fp) == (size_t)n)
		buf[n] = '\0';
	fclose(fp);
	return buf;
}

static cJSON *
vectors(void)
{
	const char *root = getenv("FS_SOURCE_ROOT");
	char path[4096], *text;
	cJSON *doc;

	if (root == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/tests/vectors/custody-1.json", root);
	if ((text = read_file(path)) == NULL)
		return NULL;
	doc = cJSON_Parse(text);
	free(text);
	return doc;
}

static const char *
str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

FS_TEST(custody_vectors)
{
	unsigned char seed[32], pk[CUSTODY_KEY_LEN], sk[CUSTODY_SECRET_LEN], *canon;
	unsigned char link[CUSTODY_LINK_LEN];
	char hex[4096], pk_hex[CUSTODY_KEY_HEX + 1], sig[CUSTODY_SIG_HEX + 1], msg[128];
	char prev[CUSTODY_LINK_HEX + 1];
	const cJSON *c;
	cJSON *doc = vectors();
	size_t len;
	int n = 0;

	ASSERT(doc != NULL);
	ASSERT_EQ(custody_init(), FS_OK);
	ASSERT(custody_unhex(str(doc, "seed"), seed, sizeof(seed)));
	crypto_sign_seed_keypair(pk, sk, seed);
	custody_hex(pk, sizeof(pk), pk_hex);
	ASSERT_STR_EQ(pk_hex, str(doc, "public_key"));
	memcpy(prev, custody_genesis, sizeof(prev));
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases"))
	{
		cJSON *obj = cJSON_Parse(str(c, "change"));
		struct change ch;

		ASSERT(obj != NULL);
		ASSERT_EQ(change_parse(obj, &ch, msg, sizeof(msg)), FS_OK);
		ASSERT_STR_EQ(ch.prev, prev); /* the cases chain from genesis */
		ASSERT_EQ(custody_canonical(&ch, &canon, &len), FS_OK);
		ASSERT(2 * len + 1 <= sizeof(hex));
		custody_hex(canon, len, hex);
		ASSERT_STR_EQ(hex, str(c, "canonical"));
		ASSERT_EQ(custody_link(&ch, link), FS_OK);
		custody_hex(link, sizeof(link), prev);
		ASSERT_STR_EQ(prev, str(c, "link"));
		ASSERT(custody_verify(link, ch.sig, pk_hex));
		custody_sign(link, sk, sig); /* Ed25519 is deterministic */
		ASSERT_STR_EQ(sig, ch.sig);
		/* Every byte of the canonical form is covered: one flipped, the link moves. */
		for (size_t i = 0; i < len; i++) {
			unsigned char other[CUSTODY_LINK_LEN];

			canon[i] ^= 0x01;
			crypto_generichash(other, sizeof(other), canon, len, NULL, 0);
			ASSERT(!custody_verify(other, ch.sig, pk_hex));
			canon[i] ^= 0x01;
		}
		free(canon);
		cJSON_Delete(obj);
		n++;
	}
	ASSERT(n >= 4);
	cJSON_Delete(doc);
	sodium_memzero(sk, sizeof(sk));
}

/* What the server's check says of a change altered after signing. */
FS_TEST(custody_check_reasons)
{
	char pk[CUSTODY_KEY_HEX + 1], other_pk[CUSTODY_KEY_HEX + 1], link[CUSTODY_LINK_HEX + 1];
	unsigned char sk[CUSTODY_SECRET_LEN], other_sk[CUSTODY_SECRET_LEN], bin[CUSTODY_LINK_LEN];
	char sig[CUSTODY_SIG_HEX + 1], msg[128];
	const char *why;
	struct change ch;
	cJSON *obj;

	ASSERT_EQ(custody_keypair(pk, sk), FS_OK);
	ASSERT_EQ(custody_keypair(other_pk, other_sk), FS_OK);
	obj = cJSON_Parse("{\"id\":\"0123456789abcdef0123456789abcdef\",\"form\":\"f\","
			  "\"form_version\":1,\"op\":\"upsert\","
			  "\"hlc\":\"0000000000010000-00000000000000a1\","
			  "\"fields\":{\"n\":5},\"prev\":\"" /* genesis */
			  "0000000000000000000000000000000000000000000000000000000000000000\"}");
	ASSERT(obj != NULL);
	ASSERT_EQ(change_parse(obj, &ch, msg, sizeof(msg)), FS_OK);
	ASSERT_EQ(custody_check(&ch, pk, link, &why), FS_ERR_INVALID);
	ASSERT_STR_EQ(why, "unsigned");
	ASSERT_EQ(custody_link(&ch, bin), FS_OK);
	custody_sign(bin, sk, sig);
	cJSON_AddStringToObject(obj, "sig", sig);
	ASSERT_EQ(change_parse(obj, &ch, msg, sizeof(msg)), FS_OK);
	ASSERT_EQ(custody_check(&ch, pk, link, &why), FS_OK);
	ASSERT_EQ(custody_check(&ch, other_pk, link, &why), FS_ERR_INVALID);
	ASSERT_STR_EQ(why, "bad_signature");
	/* A value changed after signing. */
	cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "fields"), "n")
	    ->valuedouble = 6;
	ASSERT_EQ(change_parse(obj, &ch, msg, sizeof(msg)), FS_OK);
	ASSERT_EQ(custody_check(&ch, pk, link, &why), FS_ERR_INVALID);
	ASSERT_STR_EQ(why, "bad_signature");
	/* The same number spelt otherwise is the same change: 5 and 5.0. */
	cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "fields"), "n")
	    ->valuedouble = 5.0;
	ASSERT_EQ(change_parse(obj, &ch, msg, sizeof(msg)), FS_OK);
	ASSERT_EQ(custody_check(&ch, pk, link, &why), FS_OK);
	cJSON_Delete(obj);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(other_sk, sizeof(other_sk));
}

/*
 * A number beyond a double reads as inf and prints as null: the change is
 * refused before a link is computed (found by fuzz-push-body: the link of
 * such a change differed from the link of its stored text).
 */
FS_TEST(custody_refuses_infinite_numbers)
{
	static const char *const bad[] = { "12345678E901234567890", "-1e400",
		"[1,{\"a\":1e999}]" };
	char json[512], msg[128];
	struct change ch;
	cJSON *obj;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json),
		    "{\"id\":\"0123456789abcdef0123456789abcdef\",\"form\":\"f\","
		    "\"form_version\":1,\"op\":\"upsert\","
		    "\"hlc\":\"0000000000010000-00000000000000a1\",\"fields\":{\"n\":%s}}",
		    bad[i]);
		ASSERT((obj = cJSON_Parse(json)) != NULL);
		ASSERT_EQ(change_parse(obj, &ch, msg, sizeof(msg)), FS_ERR_INVALID);
		ASSERT_STR_EQ(msg, "'fields' holds a number out of range (beyond a double)");
		cJSON_Delete(obj);
	}
}

int
main(void)
{
	FS_RUN(custody_vectors);
	FS_RUN(custody_check_reasons);
	FS_RUN(custody_refuses_infinite_numbers);
	FS_TEST_DONE();
}
