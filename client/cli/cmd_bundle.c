/*
 * cmd_bundle.c -- fieldsync verify-bundle DIR: checks a case file made by
 * `fieldsyncd casefile` offline, with no access to any server, and prints
 * what it proves (issue 16, item 4).
 *
 * Checks, in order, stopping at the first failure (exit 1, naming it):
 *   1. manifest.sig is headquarters' Ed25519 signature over manifest.json,
 *      under the key the manifest names (printed, to compare with the one
 *      the office published);
 *   2. every file the manifest lists has the BLAKE2b hash it records;
 *   3. every change: its canonical form re-computed gives the manifest's
 *      link, and the device's signature verifies under one of the keys the
 *      manifest lists for it (for a change whose sensitive values were
 *      withheld, the signature is checked over the manifest's link);
 *   4. the record's history chain: each entry follows the one before and
 *      (for every entry whose content is all in the bundle) hashes to what
 *      the manifest says.
 * The byte forms are docs/PROTOCOL.md's, "Chain of custody".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "custody.h"
#include "seal.h"

struct check {
	const char *dir;
	cJSON *man;
	int changes, withheld, events;
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
bad(const char *fmt, ...)
{
	va_list ap;

	printf("NOT PROVEN: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return EXIT_FAILURE;
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *
read_in(const char *dir, const char *name, size_t *len)
{
	char path[4200];

	if (strstr(name, "..") != NULL || name[0] == '/')
		return NULL; /* a manifest naming files outside the bundle */
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return cli_read_file(path, len);
}

/* 1 and 2: the manifest's signature, then every file's hash. */
static int
check_files(struct check *c, const char *text, size_t len)
{
	unsigned char mh[CUSTODY_LINK_LEN], pk[CUSTODY_KEY_LEN], sig[CUSTODY_SIG_LEN];
	unsigned char msg[sizeof("fieldsync-casefile-1") + CUSTODY_LINK_LEN];
	const char *hq = jstr(c->man, "headquarters_key");
	const cJSON *f;
	size_t slen = 0;
	char *s;

	if ((s = read_in(c->dir, "manifest.sig", &slen)) == NULL)
		return bad("manifest.sig is missing");
	while (slen > 0 && (s[slen - 1] == '\n' || s[slen - 1] == '\r'))
		s[--slen] = '\0';
	if (hq == NULL || !custody_unhex(hq, pk, sizeof(pk)) || !custody_unhex(s, sig, sizeof(sig))) {
		free(s);
		return bad("the manifest's key or signature is malformed");
	}
	free(s);
	crypto_generichash(mh, sizeof(mh), (const unsigned char *)text, len, NULL, 0);
	memcpy(msg, "fieldsync-casefile-1", sizeof("fieldsync-casefile-1"));
	memcpy(msg + sizeof("fieldsync-casefile-1"), mh, sizeof(mh));
	if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
		return bad("manifest.json is not what headquarters signed: it was altered");
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(c->man, "files"))
	{
		char want[CUSTODY_LINK_HEX + 1];
		size_t n = 0;
		char *data = cJSON_IsString(f) ? read_in(c->dir, f->string, &n) : NULL;

		if (data == NULL)
			return bad("%s is missing", f->string);
		crypto_generichash(mh, sizeof(mh), (const unsigned char *)data, n, NULL, 0);
		free(data);
		custody_hex(mh, sizeof(mh), want);
		if (strcmp(want, f->valuestring) != 0)
			return bad("%s is not the file the manifest lists: it was altered", f->string);
	}
	return 0;
}

static bool
verifies_under(const unsigned char link[CUSTODY_LINK_LEN], const char *sig, const cJSON *keys,
    const char **ret_key)
{
	const cJSON *k;

	cJSON_ArrayForEach(k, keys)
	{
		if (cJSON_IsString(k) && custody_verify(link, sig, k->valuestring)) {
			*ret_key = k->valuestring;
			return true;
		}
	}
	return false;
}

/* 3 and 4 for one history entry. */
static int
check_entry(struct check *c, const cJSON *e, unsigned char last[CUSTODY_LINK_LEN])
{
	const char *kind = jstr(e, "kind"), *prev = jstr(e, "prev"), *hash = jstr(e, "hash");
	unsigned char p[CUSTODY_LINK_LEN], h[CUSTODY_LINK_LEN], got[CUSTODY_LINK_LEN];
	const char *items[CUSTODY_HISTORY_MAX_ITEMS];
	size_t lens[CUSTODY_HISTORY_MAX_ITEMS];
	int n = 0;

	if (kind == NULL || prev == NULL || hash == NULL || !custody_unhex(prev, p, sizeof(p)) ||
	    !custody_unhex(hash, h, sizeof(h)))
		return bad("a history entry of the manifest is malformed");
	if (memcmp(p, last, sizeof(p)) != 0)
		return bad("the record's history is broken before entry %s: an entry was removed"
			   " or reordered",
		    hash);
	if (strcmp(kind, "change") == 0) {
		const char *file = jstr(e, "file"), *link = jstr(e, "link"), *dev = jstr(e, "device");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(c->man, "devices"), dev != NULL ? dev : "");
		bool withheld = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "withheld"));
		unsigned char lk[CUSTODY_LINK_LEN];
		const char *key = NULL;
		char msg[128], seqtxt[24];
		struct change ch;
		cJSON *obj;
		size_t len = 0;
		char *body;

		if (file == NULL || link == NULL || d == NULL || !custody_unhex(link, lk, sizeof(lk)))
			return bad("change entry %s lacks its file, link or device", hash);
		if ((body = read_in(c->dir, file, &len)) == NULL)
			return bad("%s is missing", file);
		if ((obj = cJSON_Parse(body)) == NULL ||
		    change_parse(obj, &ch, msg, sizeof(msg)) != FS_OK || ch.sig == NULL) {
			cJSON_Delete(obj);
			free(body);
			return bad("%s is not a signed change", file);
		}
		if (!withheld) {
			if (custody_link(&ch, got) != FS_OK || memcmp(got, lk, sizeof(lk)) != 0) {
				cJSON_Delete(obj);
				free(body);
				return bad("%s does not hash to its link: altered", file);
			}
		}
		if (!verifies_under(lk, ch.sig, cJSON_GetObjectItemCaseSensitive(d, "keys"), &key)) {
			cJSON_Delete(obj);
			free(body);
			return bad("%s: the device's signature does not verify", file);
		}
		printf("  change %s: stamp %s, device '%s' (%s), received %s: signature valid%s\n",
		    file, ch.hlc, jstr(d, "name") ? jstr(d, "name") : "?", ch.device,
		    jstr(e, "received_at") ? jstr(e, "received_at") : "?",
		    withheld ? " over its link; sensitive values withheld, content not proven" : "");
		c->changes++;
		if (withheld) {
			c->withheld++;
		} else {
			const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");

			snprintf(seqtxt, sizeof(seqtxt), "%lld",
			    cJSON_IsNumber(seq) ? (long long)seq->valuedouble : -1LL);
			items[0] = jstr(c->man, "record");
			items[1] = seqtxt;
			items[2] = jstr(e, "received_at");
			items[3] = body;
			n = 4;
			for (int i = 0; i < n; i++)
				lens[i] = items[i] != NULL ? strlen(items[i]) : 0;
			custody_history_hash(p, "change", n, items, lens, got);
			if (memcmp(got, h, sizeof(h)) != 0) {
				cJSON_Delete(obj);
				free(body);
				return bad("history entry of %s does not match its hash: altered", file);
			}
		}
		cJSON_Delete(obj);
		free(body);
	} else {
		const cJSON *it, *arr = cJSON_GetObjectItemCaseSensitive(e, "items");

		cJSON_ArrayForEach(it, arr)
		{
			if (n == CUSTODY_HISTORY_MAX_ITEMS)
				break;
			items[n] = cJSON_IsString(it) ? it->valuestring : NULL;
			lens[n] = items[n] != NULL ? strlen(items[n]) : 0;
			n++;
		}
		custody_history_hash(p, "event", n, items, lens, got);
		if (memcmp(got, h, sizeof(h)) != 0)
			return bad("a review event does not match its hash: altered");
		printf("  review event: %s%s%s by %s at %s\n", n > 2 && items[2] ? items[2] : "?",
		    n > 3 && items[3] ? " " : "", n > 3 && items[3] ? items[3] : "",
		    n > 7 && items[7] ? items[7] : "?", n > 8 && items[8] ? items[8] : "?");
		c->events++;
	}
	memcpy(last, h, CUSTODY_LINK_LEN);
	return 0;
}

/*
 * The revealed sealed values (issue 17): each revealed/ file gives a
 * change file, a field, the value's text and its salt; the change (already
 * checked against its signature) holds that field's envelope, whose
 * commitment must be BLAKE2b-256(salt || text).  Returns 0, or 1 (said).
 */
static int
check_revealed(struct check *c, int *ret_n)
{
	const cJSON *f;

	*ret_n = 0;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(c->man, "files"))
	{
		unsigned char salt[SEAL_SALT_LEN];
		const char *change_file, *field, *text, *salt_hex;
		const cJSON *env, *commit;
		cJSON *r, *ch = NULL;
		char *body, *cbody;
		size_t len;
		bool ok;

		if (strncmp(f->string, "revealed/", 9) != 0)
			continue;
		if ((body = read_in(c->dir, f->string, &len)) == NULL)
			return bad("%s is missing", f->string);
		r = cJSON_ParseWithLength(body, len);
		free(body);
		change_file = jstr(r, "change");
		field = jstr(r, "field");
		text = jstr(r, "text");
		salt_hex = jstr(r, "salt");
		if (change_file == NULL || field == NULL || text == NULL || salt_hex == NULL ||
		    strlen(salt_hex) != 2 * SEAL_SALT_LEN || !custody_unhex(salt_hex, salt, sizeof(salt)) ||
		    strncmp(change_file, "changes/", 8) != 0 ||
		    (cbody = read_in(c->dir, change_file, &len)) == NULL) {
			cJSON_Delete(r);
			return bad("%s is not a revealed value of a change of this bundle", f->string);
		}
		ch = cJSON_ParseWithLength(cbody, len);
		free(cbody);
		env = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ch, "fields"), field);
		commit = cJSON_GetObjectItemCaseSensitive(env, "commit");
		ok = seal_is_envelope(env) && cJSON_IsString(commit) &&
		     seal_commit_matches(commit->valuestring, salt, text, strlen(text));
		if (!ok) {
			cJSON_Delete(r);
			cJSON_Delete(ch);
			return bad("%s: the revealed value of '%s' does not match the commitment signed in"
				   " %s", f->string, field, change_file);
		}
		printf("  revealed: '%s' in %s is %s (matches the signed commitment)\n", field,
		    change_file, text);
		cJSON_Delete(r);
		cJSON_Delete(ch);
		(*ret_n)++;
	}
	return 0;
}

int
cmd_verify_bundle(struct cli *cli, int argc, char **argv)
{
	struct check c = { 0 };
	unsigned char last[CUSTODY_LINK_LEN] = { 0 };
	const cJSON *e;
	size_t len = 0;
	char *text;
	int rc, revealed = 0;

	(void)cli;
	if (argc == 2 && cli_is_help(argv[1])) {
		printf("usage: fieldsync verify-bundle DIR\n\n"
		       "Checks a case file made by 'fieldsyncd casefile' with no access to any\n"
		       "server: headquarters' signature over its manifest, every file's hash,\n"
		       "every change's link and its device's signature, the record's history\n"
		       "chain.  Prints what that proves; exits 0 if everything holds, 1 with\n"
		       "the first thing that does not.\n");
		return 0;
	}
	if (argc != 2)
		return cli_usage_error("usage: fieldsync verify-bundle DIR");
	if (custody_init() != FS_OK)
		return EXIT_FAILURE;
	c.dir = argv[1];
	if ((text = read_in(c.dir, "manifest.json", &len)) == NULL)
		return EXIT_FAILURE;
	if ((c.man = cJSON_ParseWithLength(text, len)) == NULL ||
	    jstr(c.man, "format") == NULL || strcmp(jstr(c.man, "format"), "fieldsync-casefile-1") != 0) {
		cJSON_Delete(c.man);
		free(text);
		return bad("manifest.json is not a fieldsync case file");
	}
	rc = check_files(&c, text, len);
	free(text);
	if (rc != 0) {
		cJSON_Delete(c.man);
		return rc;
	}
	printf("case file of record %s (form %s): manifest signed by headquarters key %s\n",
	    jstr(c.man, "record") ? jstr(c.man, "record") : "?",
	    jstr(c.man, "form") ? jstr(c.man, "form") : "?", jstr(c.man, "headquarters_key"));
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c.man, "history"))
	{
		if ((rc = check_entry(&c, e, last)) != 0) {
			cJSON_Delete(c.man);
			return rc;
		}
	}
	if ((rc = check_revealed(&c, &revealed)) != 0) {
		cJSON_Delete(c.man);
		return rc;
	}
	if (revealed != (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c.man, "revealed")) &&
	    cJSON_GetObjectItemCaseSensitive(c.man, "revealed") != NULL) {
		cJSON_Delete(c.man);
		return bad("the manifest counts other revealed values than the bundle holds");
	}
	printf("PROVEN: every file is as headquarters listed it; %d change(s), each signed by the"
	       " device named%s; %d review event(s); the record's history is one unbroken hash"
	       " chain in this order%s.  Compare the headquarters key above with the one your"
	       " office published.\n",
	    c.changes,
	    c.withheld ? " (sensitive values withheld in some: their content is not proven)" : "",
	    c.events, revealed > 0 ? "; each revealed sealed value is the one its device signed" : "");
	cJSON_Delete(c.man);
	return 0;
}
