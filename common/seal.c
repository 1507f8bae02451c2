/*
 * seal.c -- sealed sensitive values and headquarters' locked key.  See
 * seal.h for the format and why.  libsodium does the cryptography and the
 * encodings (crypto_box_seal, crypto_generichash, crypto_pwhash,
 * crypto_aead_xchacha20poly1305_ietf, sodium_bin2base64).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "custody.h"
#include "seal.h"

#define LOCK_KDF "argon2id13"

/* Base64 of a box of SEAL_TEXT_MAX + salt, the largest envelope accepted. */
#define SEALED_B64_MAX \
	sodium_base64_ENCODED_LEN(SEAL_TEXT_MAX + SEAL_SALT_LEN + crypto_box_SEALBYTES, \
	    sodium_base64_VARIANT_ORIGINAL)

static void
seterr(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

void
seal_key_id(const unsigned char pk[SEAL_PUBLIC_LEN], char ret_id[SEAL_ID_HEX + 1])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), pk, SEAL_PUBLIC_LEN, NULL, 0);
	custody_hex(h, SEAL_ID_HEX / 2, ret_id);
}

bool
seal_public_from_hex(const char *pk_hex, struct seal_public *key)
{
	if (pk_hex == NULL || !custody_is_hex(pk_hex, SEAL_PUBLIC_HEX) ||
	    !custody_unhex(pk_hex, key->pk, SEAL_PUBLIC_LEN))
		return false;
	seal_key_id(key->pk, key->id);
	return true;
}

fs_err
seal_keypair(struct seal_public *pub, unsigned char sk[SEAL_SECRET_LEN])
{
	if (crypto_box_keypair(pub->pk, sk) != 0)
		return FS_ERR_INTERNAL;
	seal_key_id(pub->pk, pub->id);
	return FS_OK;
}

static void
commit_of(const unsigned char salt[SEAL_SALT_LEN], const char *text, size_t len,
    unsigned char out[SEAL_COMMIT_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, SEAL_COMMIT_LEN);
	crypto_generichash_update(&st, salt, SEAL_SALT_LEN);
	crypto_generichash_update(&st, (const unsigned char *)text, len);
	crypto_generichash_final(&st, out, SEAL_COMMIT_LEN);
}

bool
seal_commit_matches(const char *commit_hex, const unsigned char salt[SEAL_SALT_LEN],
    const char *text, size_t len)
{
	unsigned char want[SEAL_COMMIT_LEN], got[SEAL_COMMIT_LEN];

	if (commit_hex == NULL || !custody_unhex(commit_hex, want, sizeof(want)))
		return false;
	commit_of(salt, text, len, got);
	return sodium_memcmp(want, got, sizeof(got)) == 0;
}

fs_err
seal_value(const struct seal_public *key, const char *text, size_t len, cJSON **ret)
{
	unsigned char commit[SEAL_COMMIT_LEN], *plain = NULL, *box = NULL;
	char commit_hex[2 * SEAL_COMMIT_LEN + 1], *b64 = NULL;
	size_t plain_len = SEAL_SALT_LEN + len, box_len, b64_len;
	fs_err err = FS_ERR_NOMEM;
	cJSON *env = NULL;

	if (len > SEAL_TEXT_MAX)
		return FS_ERR_TOOBIG;
	box_len = plain_len + crypto_box_SEALBYTES;
	b64_len = sodium_base64_ENCODED_LEN(box_len, sodium_base64_VARIANT_ORIGINAL);
	if ((plain = malloc(plain_len)) == NULL || (box = malloc(box_len)) == NULL ||
	    (b64 = malloc(b64_len)) == NULL)
		goto out;
	randombytes_buf(plain, SEAL_SALT_LEN);
	memcpy(plain + SEAL_SALT_LEN, text, len);
	commit_of(plain, text, len, commit);
	if (crypto_box_seal(box, plain, plain_len, key->pk) != 0) {
		err = FS_ERR_INTERNAL;
		goto out;
	}
	sodium_bin2base64(b64, b64_len, box, box_len, sodium_base64_VARIANT_ORIGINAL);
	custody_hex(commit, sizeof(commit), commit_hex);
	if ((env = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(env, "sealed", b64) == NULL ||
	    cJSON_AddStringToObject(env, "key", key->id) == NULL ||
	    cJSON_AddStringToObject(env, "commit", commit_hex) == NULL) {
		cJSON_Delete(env);
		goto out;
	}
	*ret = env;
	err = FS_OK;
out:
	if (plain != NULL)
		sodium_memzero(plain, plain_len);
	free(plain);
	free(box);
	free(b64);
	return err;
}

bool
seal_is_envelope(const cJSON *v)
{
	return cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, "sealed") != NULL;
}

const char *
seal_envelope_key(const cJSON *v)
{
	const cJSON *k;

	if (!seal_is_envelope(v))
		return NULL;
	k = cJSON_GetObjectItemCaseSensitive(v, "key");
	return cJSON_IsString(k) ? k->valuestring : NULL;
}

fs_err
seal_check(const cJSON *v, char *err, size_t errlen)
{
	const cJSON *s, *k, *c, *item;
	size_t n = 0, slen;

	if (!cJSON_IsObject(v)) {
		seterr(err, errlen, "a sealed value must be an object");
		return FS_ERR_INVALID;
	}
	cJSON_ArrayForEach(item, v)
		n++;
	s = cJSON_GetObjectItemCaseSensitive(v, "sealed");
	k = cJSON_GetObjectItemCaseSensitive(v, "key");
	c = cJSON_GetObjectItemCaseSensitive(v, "commit");
	if (n != 3 || !cJSON_IsString(s) || !cJSON_IsString(k) || !cJSON_IsString(c)) {
		seterr(err, errlen, "a sealed value has exactly \"sealed\", \"key\" and \"commit\"");
		return FS_ERR_INVALID;
	}
	if (!custody_is_hex(k->valuestring, SEAL_ID_HEX) ||
	    !custody_is_hex(c->valuestring, 2 * SEAL_COMMIT_LEN)) {
		seterr(err, errlen, "a sealed value's key or commit is not lower-case hex of its length");
		return FS_ERR_INVALID;
	}
	slen = strlen(s->valuestring);
	if (slen < sodium_base64_ENCODED_LEN(SEAL_SALT_LEN + crypto_box_SEALBYTES,
			sodium_base64_VARIANT_ORIGINAL) - 1 ||
	    slen >= SEALED_B64_MAX) {
		seterr(err, errlen, "a sealed value's box has an impossible length");
		return FS_ERR_INVALID;
	}
	for (size_t i = 0; i < slen; i++) {
		char ch = s->valuestring[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			ch == '+' || ch == '/' || ch == '=')) {
			seterr(err, errlen, "a sealed value's box is not base64");
			return FS_ERR_INVALID;
		}
	}
	return FS_OK;
}

fs_err
seal_open(const cJSON *env, const struct seal_public *pub,
    const unsigned char sk[SEAL_SECRET_LEN], char **ret_text, size_t *ret_len,
    unsigned char salt[SEAL_SALT_LEN])
{
	const char *b64, *commit;
	unsigned char *box = NULL, *plain = NULL;
	size_t box_cap, box_len, plain_len;
	fs_err err = FS_ERR_NOMEM;
	char *text;

	if (seal_check(env, NULL, 0) != FS_OK)
		return FS_ERR_INVALID;
	if (strcmp(seal_envelope_key(env), pub->id) != 0)
		return FS_ERR_KEY;
	b64 = cJSON_GetObjectItemCaseSensitive(env, "sealed")->valuestring;
	commit = cJSON_GetObjectItemCaseSensitive(env, "commit")->valuestring;
	box_cap = strlen(b64) / 4 * 3 + 3;
	if ((box = malloc(box_cap)) == NULL)
		return FS_ERR_NOMEM;
	if (sodium_base642bin(box, box_cap, b64, strlen(b64), NULL, &box_len, NULL,
		sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    box_len < SEAL_SALT_LEN + crypto_box_SEALBYTES) {
		err = FS_ERR_INVALID;
		goto out;
	}
	plain_len = box_len - crypto_box_SEALBYTES;
	if ((plain = malloc(plain_len + 1)) == NULL)
		goto out;
	if (crypto_box_seal_open(plain, box, box_len, pub->pk, sk) != 0 ||
	    !seal_commit_matches(commit, plain, (const char *)plain + SEAL_SALT_LEN,
		plain_len - SEAL_SALT_LEN)) {
		err = FS_ERR_KEY;
		goto out;
	}
	if ((text = malloc(plain_len - SEAL_SALT_LEN + 1)) == NULL)
		goto out;
	memcpy(salt, plain, SEAL_SALT_LEN);
	memcpy(text, plain + SEAL_SALT_LEN, plain_len - SEAL_SALT_LEN);
	text[plain_len - SEAL_SALT_LEN] = '\0';
	*ret_text = text;
	*ret_len = plain_len - SEAL_SALT_LEN;
	err = FS_OK;
out:
	if (plain != NULL)
		sodium_memzero(plain, plain_len + 1);
	free(plain);
	free(box);
	return err;
}

void
seal_text_free(char *text, size_t len)
{
	if (text == NULL)
		return;
	sodium_memzero(text, len);
	free(text);
}

fs_err
seal_secret_lock(const struct seal_public *pub, const unsigned char sk[SEAL_SECRET_LEN],
    const char *pass, size_t passlen, cJSON **ret_locked)
{
	unsigned char salt[crypto_pwhash_SALTBYTES], nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned char kek[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	unsigned char box[SEAL_SECRET_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES];
	char salt_hex[2 * sizeof(salt) + 1], nonce_hex[2 * sizeof(nonce) + 1];
	char box_hex[2 * sizeof(box) + 1];
	unsigned long long box_len;
	cJSON *o;

	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	if (crypto_pwhash(kek, sizeof(kek), pass, passlen, salt, SEAL_LOCK_OPSLIMIT,
		SEAL_LOCK_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return FS_ERR_NOMEM;
	crypto_aead_xchacha20poly1305_ietf_encrypt(box, &box_len, sk, SEAL_SECRET_LEN,
	    (const unsigned char *)pub->id, SEAL_ID_HEX, NULL, nonce, kek);
	sodium_memzero(kek, sizeof(kek));
	custody_hex(salt, sizeof(salt), salt_hex);
	custody_hex(nonce, sizeof(nonce), nonce_hex);
	custody_hex(box, sizeof(box), box_hex);
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "kdf", LOCK_KDF) == NULL ||
	    cJSON_AddNumberToObject(o, "ops", SEAL_LOCK_OPSLIMIT) == NULL ||
	    cJSON_AddNumberToObject(o, "mem", SEAL_LOCK_MEMLIMIT) == NULL ||
	    cJSON_AddStringToObject(o, "salt", salt_hex) == NULL ||
	    cJSON_AddStringToObject(o, "nonce", nonce_hex) == NULL ||
	    cJSON_AddStringToObject(o, "box", box_hex) == NULL) {
		cJSON_Delete(o);
		return FS_ERR_NOMEM;
	}
	*ret_locked = o;
	return FS_OK;
}

fs_err
seal_secret_unlock(const cJSON *locked, const struct seal_public *pub,
    const char *pass, size_t passlen, unsigned char sk[SEAL_SECRET_LEN])
{
	unsigned char salt[crypto_pwhash_SALTBYTES], nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned char kek[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	unsigned char box[SEAL_SECRET_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES];
	unsigned char check[SEAL_PUBLIC_LEN];
	const cJSON *kdf, *ops, *mem, *s, *n, *b;
	unsigned long long sk_len;

	kdf = cJSON_GetObjectItemCaseSensitive(locked, "kdf");
	ops = cJSON_GetObjectItemCaseSensitive(locked, "ops");
	mem = cJSON_GetObjectItemCaseSensitive(locked, "mem");
	s = cJSON_GetObjectItemCaseSensitive(locked, "salt");
	n = cJSON_GetObjectItemCaseSensitive(locked, "nonce");
	b = cJSON_GetObjectItemCaseSensitive(locked, "box");
	if (!cJSON_IsString(kdf) || strcmp(kdf->valuestring, LOCK_KDF) != 0 ||
	    !cJSON_IsNumber(ops) || ops->valuedouble < crypto_pwhash_OPSLIMIT_MIN ||
	    ops->valuedouble > 64 || !cJSON_IsNumber(mem) ||
	    mem->valuedouble < crypto_pwhash_MEMLIMIT_MIN || mem->valuedouble > 4294967296.0 ||
	    !cJSON_IsString(s) || !custody_unhex(s->valuestring, salt, sizeof(salt)) ||
	    !cJSON_IsString(n) || !custody_unhex(n->valuestring, nonce, sizeof(nonce)) ||
	    !cJSON_IsString(b) || !custody_unhex(b->valuestring, box, sizeof(box)))
		return FS_ERR_INVALID;
	if (crypto_pwhash(kek, sizeof(kek), pass, passlen, salt,
		(unsigned long long)ops->valuedouble, (size_t)mem->valuedouble,
		crypto_pwhash_ALG_ARGON2ID13) != 0)
		return FS_ERR_NOMEM;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(sk, &sk_len, NULL, box, sizeof(box),
		(const unsigned char *)pub->id, SEAL_ID_HEX, nonce, kek) != 0 ||
	    sk_len != SEAL_SECRET_LEN) {
		sodium_memzero(kek, sizeof(kek));
		sodium_memzero(sk, SEAL_SECRET_LEN);
		return FS_ERR_KEY;
	}
	sodium_memzero(kek, sizeof(kek));
	/* The secret key must be the public key's own. */
	crypto_scalarmult_base(check, sk);
	if (sodium_memcmp(check, pub->pk, SEAL_PUBLIC_LEN) != 0) {
		sodium_memzero(sk, SEAL_SECRET_LEN);
		return FS_ERR_KEY;
	}
	return FS_OK;
}
