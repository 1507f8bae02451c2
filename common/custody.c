/*
 * custody.c -- canonical form, link hash and signatures of changes.  See
 * custody.h; hashing, signing and hex come from libsodium.
 */
#include "custody.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

const char custody_genesis[CUSTODY_LINK_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static const char canonical_magic[] = "fieldsync-change-1"; /* and its NUL */
static const char link_magic[] = "fieldsync-link-1";       /* and its NUL */

struct buf {
	unsigned char *p;
	size_t len, cap;
	bool nomem;
};

static void
buf_put(struct buf *b, const void *data, size_t n)
{
	if (b->nomem)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *p;

		while (cap < b->len + n)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->nomem = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void
buf_u32(struct buf *b, size_t v)
{
	unsigned char be[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };

	buf_put(b, be, 4);
}

static void
buf_str(struct buf *b, const char *s, size_t n)
{
	buf_u32(b, n);
	buf_put(b, s, n);
}

static void
buf_tag(struct buf *b, char tag)
{
	buf_put(b, &tag, 1);
}

/* The shortest %.Ng that reads back as v (N = 1..17). */
static void
number_text(double v, char out[40])
{
	for (int p = 1; p <= 17; p++) {
		snprintf(out, 40, "%.*g", p, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static void buf_value(struct buf *b, const cJSON *v, int depth);

static void
buf_object(struct buf *b, const cJSON *obj, int depth)
{
	const cJSON **items, *item;
	size_t n = 0, i = 0;

	for (item = obj->child; item != NULL; item = item->next)
		n++;
	buf_tag(b, 'o');
	buf_u32(b, n);
	if (n == 0)
		return;
	if ((items = malloc(n * sizeof(*items))) == NULL) {
		b->nomem = true;
		return;
	}
	for (item = obj->child; item != NULL; item = item->next)
		items[i++] = item;
	/* strcmp compares as unsigned char: byte order of the UTF-8 keys. */
	qsort(items, n, sizeof(*items), cmp_key);
	for (i = 0; i < n; i++) {
		buf_str(b, items[i]->string, strlen(items[i]->string));
		buf_value(b, items[i], depth + 1);
	}
	free(items);
}

static void
buf_value(struct buf *b, const cJSON *v, int depth)
{
	char num[40];
	const cJSON *item;
	size_t n = 0;

	if (depth > 64) { /* the change parser bounds nesting well below this */
		b->nomem = true;
		return;
	}
	if (v == NULL || cJSON_IsNull(v)) {
		buf_tag(b, 'n');
	} else if (cJSON_IsFalse(v)) {
		buf_tag(b, 'f');
	} else if (cJSON_IsTrue(v)) {
		buf_tag(b, 't');
	} else if (cJSON_IsNumber(v)) {
		number_text(v->valuedouble, num);
		buf_tag(b, 'd');
		buf_str(b, num, strlen(num));
	} else if (cJSON_IsString(v)) {
		buf_tag(b, 's');
		buf_str(b, v->valuestring, strlen(v->valuestring));
	} else if (cJSON_IsArray(v)) {
		for (item = v->child; item != NULL; item = item->next)
			n++;
		buf_tag(b, 'a');
		buf_u32(b, n);
		for (item = v->child; item != NULL; item = item->next)
			buf_value(b, item, depth + 1);
	} else if (cJSON_IsObject(v)) {
		buf_object(b, v, depth);
	} else {
		b->nomem = true; /* cJSON_Raw and invalid: never parsed from text */
	}
}

fs_err
custody_init(void)
{
	return sodium_init() < 0 ? FS_ERR_INTERNAL : FS_OK;
}

fs_err
custody_keypair(char ret_pk[CUSTODY_KEY_HEX + 1], unsigned char ret_sk[CUSTODY_SECRET_LEN])
{
	unsigned char pk[CUSTODY_KEY_LEN];

	if (custody_init() != FS_OK || crypto_sign_keypair(pk, ret_sk) != 0)
		return FS_ERR_INTERNAL;
	custody_hex(pk, sizeof(pk), ret_pk);
	return FS_OK;
}

bool
custody_is_hex(const char *s, size_t n)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

void
custody_hex(const unsigned char *bin, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, bin, n);
}

bool
custody_unhex(const char *hex, unsigned char *bin, size_t n)
{
	size_t got = 0;

	if (!custody_is_hex(hex, 2 * n))
		return false;
	return sodium_hex2bin(bin, n, hex, 2 * n, NULL, &got, NULL) == 0 && got == n;
}

fs_err
custody_canonical(const struct change *ch, unsigned char **ret, size_t *ret_len)
{
	struct buf b = { 0 };
	char ver[24];
	int vn;

	*ret = NULL;
	*ret_len = 0;
	if (!custody_is_hex(ch->prev, CUSTODY_LINK_HEX))
		return FS_ERR_INVALID;
	vn = snprintf(ver, sizeof(ver), "%lld", (long long)ch->form_version);
	buf_put(&b, canonical_magic, sizeof(canonical_magic));
	buf_str(&b, ch->device, strlen(ch->device));
	buf_str(&b, ch->id, strlen(ch->id));
	buf_str(&b, ch->form, strlen(ch->form));
	buf_str(&b, ver, (size_t)vn);
	buf_str(&b, ch->is_delete ? "delete" : "upsert", 6);
	buf_str(&b, ch->hlc, strlen(ch->hlc));
	buf_str(&b, ch->prev, CUSTODY_LINK_HEX);
	buf_value(&b, ch->fields, 0);
	if (ch->base != NULL) {
		buf_value(&b, ch->base, 0);
	} else {
		buf_tag(&b, 'o');
		buf_u32(&b, 0);
	}
	if (b.nomem) {
		free(b.p);
		return FS_ERR_NOMEM;
	}
	*ret = b.p;
	*ret_len = b.len;
	return FS_OK;
}

fs_err
custody_link(const struct change *ch, unsigned char ret_link[CUSTODY_LINK_LEN])
{
	unsigned char *canon;
	size_t len;
	fs_err err;

	if ((err = custody_canonical(ch, &canon, &len)) != FS_OK)
		return err;
	crypto_generichash(ret_link, CUSTODY_LINK_LEN, canon, len, NULL, 0);
	free(canon);
	return FS_OK;
}

/* The signed message: a context, so a link signature means nothing else. */
static void
link_message(const unsigned char link[CUSTODY_LINK_LEN],
    unsigned char msg[sizeof(link_magic) + CUSTODY_LINK_LEN])
{
	memcpy(msg, link_magic, sizeof(link_magic));
	memcpy(msg + sizeof(link_magic), link, CUSTODY_LINK_LEN);
}

void
custody_sign(const unsigned char link[CUSTODY_LINK_LEN],
    const unsigned char sk[CUSTODY_SECRET_LEN], char ret_sig[CUSTODY_SIG_HEX + 1])
{
	unsigned char msg[sizeof(link_magic) + CUSTODY_LINK_LEN], sig[CUSTODY_SIG_LEN];

	link_message(link, msg);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	custody_hex(sig, sizeof(sig), ret_sig);
}

bool
custody_verify(const unsigned char link[CUSTODY_LINK_LEN], const char *sig_hex,
    const char *pk_hex)
{
	unsigned char msg[sizeof(link_magic) + CUSTODY_LINK_LEN], sig[CUSTODY_SIG_LEN];
	unsigned char pk[CUSTODY_KEY_LEN];

	if (!custody_unhex(sig_hex, sig, sizeof(sig)) || !custody_unhex(pk_hex, pk, sizeof(pk)))
		return false;
	link_message(link, msg);
	return crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) == 0;
}

bool
custody_verify_any(const unsigned char link[CUSTODY_LINK_LEN], const char *sig_hex,
    const char *keys)
{
	char key[CUSTODY_KEY_HEX + 1];
	const char *p = keys;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ",");

		if (n == CUSTODY_KEY_HEX) {
			memcpy(key, p, n);
			key[n] = '\0';
			if (custody_verify(link, sig_hex, key))
				return true;
		}
		p += n + (p[n] == ',');
	}
	return false;
}

fs_err
custody_check(const struct change *ch, const char *pk_hex, char ret_link[CUSTODY_LINK_HEX + 1],
    const char **ret_reason)
{
	unsigned char link[CUSTODY_LINK_LEN];
	fs_err err;

	ret_link[0] = '\0';
	*ret_reason = NULL;
	if (ch->prev == NULL || ch->sig == NULL) {
		*ret_reason = "unsigned";
		return FS_ERR_INVALID;
	}
	if ((err = custody_link(ch, link)) != FS_OK) {
		if (err == FS_ERR_INVALID)
			*ret_reason = "unsigned";
		return err;
	}
	custody_hex(link, sizeof(link), ret_link);
	if (!custody_verify(link, ch->sig, pk_hex)) {
		*ret_reason = "bad_signature";
		return FS_ERR_INVALID;
	}
	return FS_OK;
}

void
custody_history_hash(const unsigned char prev[CUSTODY_LINK_LEN], const char *kind, int n,
    const char *const items[], const size_t lens[], unsigned char ret[CUSTODY_LINK_LEN])
{
	static const char magic[] = "fieldsync-history-1"; /* and its NUL */
	static const unsigned char null_mark[4] = { 0xff, 0xff, 0xff, 0xff };
	crypto_generichash_state h;
	unsigned char be[4];
	size_t klen = strlen(kind);

	crypto_generichash_init(&h, NULL, 0, CUSTODY_LINK_LEN);
	crypto_generichash_update(&h, (const unsigned char *)magic, sizeof(magic));
	crypto_generichash_update(&h, prev, CUSTODY_LINK_LEN);
	be[0] = (unsigned char)(klen >> 24), be[1] = (unsigned char)(klen >> 16);
	be[2] = (unsigned char)(klen >> 8), be[3] = (unsigned char)klen;
	crypto_generichash_update(&h, be, 4);
	crypto_generichash_update(&h, (const unsigned char *)kind, klen);
	for (int i = 0; i < n; i++) {
		if (items[i] == NULL) {
			crypto_generichash_update(&h, null_mark, 4);
			continue;
		}
		be[0] = (unsigned char)(lens[i] >> 24), be[1] = (unsigned char)(lens[i] >> 16);
		be[2] = (unsigned char)(lens[i] >> 8), be[3] = (unsigned char)lens[i];
		crypto_generichash_update(&h, be, 4);
		crypto_generichash_update(&h, (const unsigned char *)items[i], lens[i]);
	}
	crypto_generichash_final(&h, ret, CUSTODY_LINK_LEN);
}
