/*
 * test-seal.c -- sealed sensitive values (common/seal.c, issue 17): a
 * value sealed to headquarters' key opens only with that key, gives back
 * the exact text and a salt that matches the commitment; any byte of the
 * box or the commitment changed is caught; equal values seal differently;
 * a locked secret key opens only with its passphrase; the form accepts an
 * envelope only for a sensitive field, and only of the right shape.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "custody.h"
#include "form.h"
#include "harness.h"
#include "seal.h"

static const char planted[] = "\"Planted-Name-7Q2\"";

FS_TEST(seal_round_trip)
{
	struct seal_public pub, other;
	unsigned char sk[SEAL_SECRET_LEN], other_sk[SEAL_SECRET_LEN], salt[SEAL_SALT_LEN];
	cJSON *env, *env2;
	char *text, *printed, msg[160];
	size_t len;

	ASSERT_EQ(seal_keypair(&pub, sk), FS_OK);
	ASSERT_EQ(seal_keypair(&other, other_sk), FS_OK);
	ASSERT(strcmp(pub.id, other.id) != 0);
	ASSERT_EQ(seal_value(&pub, planted, strlen(planted), &env), FS_OK);
	ASSERT(seal_is_envelope(env));
	ASSERT_EQ(seal_check(env, msg, sizeof(msg)), FS_OK);
	ASSERT_STR_EQ(seal_envelope_key(env), pub.id);
	/* The plain value is nowhere in the envelope's text. */
	printed = cJSON_PrintUnformatted(env);
	ASSERT(strstr(printed, "Planted-Name") == NULL);
	free(printed);
	/* Opens with its key, to the exact text, and the salt matches the commitment. */
	ASSERT_EQ(seal_open(env, &pub, sk, &text, &len, salt), FS_OK);
	ASSERT_EQ(len, strlen(planted));
	ASSERT_STR_EQ(text, planted);
	ASSERT(seal_commit_matches(
	    cJSON_GetObjectItemCaseSensitive(env, "commit")->valuestring, salt, text, len));
	ASSERT(!seal_commit_matches(
	    cJSON_GetObjectItemCaseSensitive(env, "commit")->valuestring, salt, "\"other\"", 7));
	seal_text_free(text, len);
	/* Not with another key, even one claiming the id. */
	ASSERT_EQ(seal_open(env, &other, other_sk, &text, &len, salt), FS_ERR_KEY);
	memcpy(other.id, pub.id, sizeof(pub.id));
	ASSERT_EQ(seal_open(env, &other, other_sk, &text, &len, salt), FS_ERR_KEY);
	/* Equal values seal differently (fresh salt and ephemeral key). */
	ASSERT_EQ(seal_value(&pub, planted, strlen(planted), &env2), FS_OK);
	ASSERT(strcmp(cJSON_GetObjectItemCaseSensitive(env, "sealed")->valuestring,
		   cJSON_GetObjectItemCaseSensitive(env2, "sealed")->valuestring) != 0);
	ASSERT(strcmp(cJSON_GetObjectItemCaseSensitive(env, "commit")->valuestring,
		   cJSON_GetObjectItemCaseSensitive(env2, "commit")->valuestring) != 0);
	/* Another envelope's commitment on this box: caught. */
	cJSON_ReplaceItemInObjectCaseSensitive(env, "commit",
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(env2, "commit"), 1));
	ASSERT_EQ(seal_open(env, &pub, sk, &text, &len, salt), FS_ERR_KEY);
	cJSON_Delete(env);
	/* One character of the box changed: caught. */
	{
		cJSON *s = cJSON_GetObjectItemCaseSensitive(env2, "sealed");
		char *b = strdup(s->valuestring);
		b[10] = b[10] == 'A' ? 'B' : 'A';
		cJSON_ReplaceItemInObjectCaseSensitive(env2, "sealed", cJSON_CreateString(b));
		free(b);
		ASSERT_EQ(seal_open(env2, &pub, sk, &text, &len, salt), FS_ERR_KEY);
	}
	cJSON_Delete(env2);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(other_sk, sizeof(other_sk));
}

FS_TEST(seal_shape)
{
	static const char *const bad[] = {
		"{\"sealed\":\"AAAA\",\"key\":\"0123456789abcdef\"}",
		"{\"sealed\":\"AAAA\",\"key\":\"0123456789abcdef\",\"commit\":\"00\"}",
		"{\"sealed\":5,\"key\":\"0123456789abcdef\",\"commit\":"
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}",
		"{\"sealed\":\"AAAA\",\"key\":\"0123456789ABCDEF\",\"commit\":"
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}",
		"{\"sealed\":\"AAAA\",\"key\":\"0123456789abcdef\",\"commit\":"
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}",
		"{\"sealed\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!!\","
		"\"key\":\"0123456789abcdef\",\"commit\":"
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}",
		"{\"sealed\":\"x\",\"key\":\"0123456789abcdef\",\"commit\":"
		"\"0000000000000000000000000000000000000000000000000000000000000000\",\"extra\":1}",
	};
	char msg[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *v = cJSON_Parse(bad[i]);
		ASSERT(v != NULL);
		ASSERT_EQ(seal_check(v, msg, sizeof(msg)), FS_ERR_INVALID);
		cJSON_Delete(v);
	}
}

FS_TEST(seal_locked_key)
{
	struct seal_public pub, other;
	unsigned char sk[SEAL_SECRET_LEN], back[SEAL_SECRET_LEN], other_sk[SEAL_SECRET_LEN];
	cJSON *locked;
	char *text;

	ASSERT_EQ(seal_keypair(&pub, sk), FS_OK);
	ASSERT_EQ(seal_keypair(&other, other_sk), FS_OK);
	ASSERT_EQ(seal_secret_lock(&pub, sk, "correct horse battery", 21, &locked), FS_OK);
	text = cJSON_PrintUnformatted(locked);
	ASSERT(text != NULL);
	free(text);
	ASSERT_EQ(seal_secret_unlock(locked, &pub, "correct horse battery", 21, back), FS_OK);
	ASSERT(memcmp(back, sk, sizeof(sk)) == 0);
	ASSERT_EQ(seal_secret_unlock(locked, &pub, "correct horse batterz", 21, back), FS_ERR_KEY);
	/* Wiped on failure. */
	for (size_t i = 0; i < sizeof(back); i++)
		ASSERT_EQ(back[i], 0);
	/* Bound to its public key: the same box offered for another key fails. */
	ASSERT_EQ(seal_secret_unlock(locked, &other, "correct horse battery", 21, back), FS_ERR_KEY);
	/* A damaged record is not a wrong passphrase. */
	cJSON_ReplaceItemInObjectCaseSensitive(locked, "box", cJSON_CreateString("zz"));
	ASSERT_EQ(seal_secret_unlock(locked, &pub, "correct horse battery", 21, back),
	    FS_ERR_INVALID);
	cJSON_Delete(locked);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(other_sk, sizeof(other_sk));
}

/* The form takes an envelope for a sensitive field only. */
FS_TEST(seal_form_rules)
{
	static const char def[] =
	    "{\"id\":\"f\",\"version\":1,\"title\":\"F\",\"fields\":["
	    "{\"name\":\"victim_name\",\"type\":\"text\",\"sensitive\":true},"
	    "{\"name\":\"age\",\"type\":\"integer\",\"sensitive\":true,\"min\":0,\"max\":120},"
	    "{\"name\":\"district\",\"type\":\"text\"}]}";
	struct seal_public pub;
	unsigned char sk[SEAL_SECRET_LEN];
	struct form *form;
	cJSON *env, *values;
	char msg[256];

	ASSERT_EQ(form_load(def, strlen(def), &form, msg, sizeof(msg)), FS_OK);
	ASSERT_EQ(seal_keypair(&pub, sk), FS_OK);
	ASSERT_EQ(seal_value(&pub, "200", 3, &env), FS_OK);
	values = cJSON_CreateObject();
	/* The sealed age is past its max: the server cannot see it, the device checked it. */
	cJSON_AddItemToObject(values, "age", cJSON_Duplicate(env, 1));
	cJSON_AddItemToObject(values, "victim_name", cJSON_Duplicate(env, 1));
	ASSERT_EQ(form_validate(form, values, false, msg, sizeof(msg)), FS_OK);
	cJSON_AddItemToObject(values, "district", cJSON_Duplicate(env, 1));
	ASSERT_EQ(form_validate(form, values, false, msg, sizeof(msg)), FS_ERR_INVALID);
	ASSERT(strstr(msg, "field 'district': rule 'sealed'") != NULL);
	cJSON_DeleteItemFromObjectCaseSensitive(values, "district");
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(values, "age"),
	    "commit");
	ASSERT_EQ(form_validate(form, values, false, msg, sizeof(msg)), FS_ERR_INVALID);
	ASSERT(strstr(msg, "field 'age': rule 'sealed'") != NULL);
	cJSON_Delete(values);
	cJSON_Delete(env);
	form_free(form);
	sodium_memzero(sk, sizeof(sk));
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	FS_RUN(seal_round_trip);
	FS_RUN(seal_shape);
	FS_RUN(seal_locked_key);
	FS_RUN(seal_form_rules);
	FS_TEST_DONE();
}
