/*
 * hq_key.c -- headquarters' sealing keys in the daemon.  See hq_key.h.
 */
#include "hq_key.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "admin_util.h"
#include "config.h"
#include "key_reseal.h"
#include "store.h"

#define EXIT_USAGE 2

struct hq_unlocked {
	size_t n;
	struct seal_public *pub;          /* n entries */
	unsigned char (*sk)[SEAL_SECRET_LEN]; /* n entries, sodium_malloc() */
};

/* Strips one trailing newline (and a carriage return before it). */
static size_t
chomp(char *buf, size_t n)
{
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return n;
}

static long
read_file_passphrase(const char *file, char *buf)
{
	struct stat sb;
	ssize_t got;
	size_t n = 0;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		fprintf(stderr, "fieldsyncd: cannot open passphrase file %s: %s\n", file,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		fprintf(stderr,
		    "fieldsyncd: passphrase file %s must be a regular file of mode 0600 or"
		    " stricter (chmod 600 %s)\n",
		    file, file);
		close(fd);
		return -1;
	}
	while (n < HQ_PASS_MAX && (got = read(fd, buf + n, HQ_PASS_MAX - n)) > 0)
		n += (size_t)got;
	close(fd);
	buf[n] = '\0';
	if (memchr(buf, '\n', n) != NULL)
		n = (size_t)(strchr(buf, '\n') - buf) + 1;
	buf[n] = '\0';
	n = chomp(buf, n);
	if (n == 0) {
		fprintf(stderr, "fieldsyncd: passphrase file %s is empty\n", file);
		return -1;
	}
	return (long)n;
}

static long
read_tty_line(const char *prompt, char *buf)
{
	struct termios old, quiet;
	bool restore = false;
	FILE *tty;
	size_t n;

	if ((tty = fopen("/dev/tty", "r+")) == NULL) {
		fprintf(stderr, "fieldsyncd: no terminal to ask for the passphrase on: use"
				" --passphrase-file FILE\n");
		return -1;
	}
	fputs(prompt, tty);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
	}
	if (fgets(buf, HQ_PASS_MAX + 1, tty) == NULL)
		buf[0] = '\0';
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	n = chomp(buf, strlen(buf));
	return (long)n;
}

long
hq_read_passphrase(const char *file, const char *prompt, bool confirm, char *buf)
{
	char again[HQ_PASS_MAX + 1];
	long n, m;

	if (file != NULL)
		return read_file_passphrase(file, buf);
	if ((n = read_tty_line(prompt, buf)) < 0)
		return -1;
	if (n == 0) {
		fprintf(stderr, "fieldsyncd: empty passphrase\n");
		return -1;
	}
	if (!confirm)
		return n;
	m = read_tty_line("Same passphrase again: ", again);
	if (m != n || sodium_memcmp(again, buf, (size_t)n) != 0) {
		sodium_memzero(again, sizeof(again));
		sodium_memzero(buf, HQ_PASS_MAX + 1);
		fprintf(stderr, "fieldsyncd: the two passphrases differ\n");
		return -1;
	}
	sodium_memzero(again, sizeof(again));
	return n;
}

void
hq_unlocked_free(struct hq_unlocked *u)
{
	if (u == NULL)
		return;
	if (u->sk != NULL)
		sodium_free(u->sk); /* wipes */
	free(u->pub);
	free(u);
}

fs_err
hq_unlock(struct store *store, const char *pass, size_t passlen, struct hq_unlocked **ret)
{
	struct hq_unlocked *u = NULL;
	cJSON *keys = NULL, *k;
	fs_err err, last = FS_ERR_KEY;
	char *text = NULL;
	size_t total;

	*ret = NULL;
	if ((err = store_seal_keys(store, &text)) != FS_OK)
		return err;
	keys = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsArray(keys)) {
		cJSON_Delete(keys);
		return FS_ERR_CORRUPT;
	}
	if ((total = (size_t)cJSON_GetArraySize(keys)) == 0) {
		cJSON_Delete(keys);
		return FS_ERR_NOTFOUND;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL || (u->pub = calloc(total, sizeof(*u->pub))) == NULL ||
	    (u->sk = sodium_malloc(total * SEAL_SECRET_LEN)) == NULL) {
		hq_unlocked_free(u);
		cJSON_Delete(keys);
		return FS_ERR_NOMEM;
	}
	cJSON_ArrayForEach(k, keys)
	{
		const cJSON *pk = cJSON_GetObjectItemCaseSensitive(k, "public");
		struct seal_public pub;

		if (!cJSON_IsString(pk) || !seal_public_from_hex(pk->valuestring, &pub))
			continue;
		err = seal_secret_unlock(cJSON_GetObjectItemCaseSensitive(k, "locked"), &pub, pass,
		    passlen, u->sk[u->n]);
		if (err == FS_OK)
			u->pub[u->n++] = pub;
		else if (err != FS_ERR_KEY)
			last = err;
	}
	cJSON_Delete(keys);
	if (u->n == 0) {
		hq_unlocked_free(u);
		return last;
	}
	*ret = u;
	return FS_OK;
}

size_t
hq_unlocked_ids(const struct hq_unlocked *u, char *buf, size_t len)
{
	size_t pos = 0;

	if (len > 0)
		buf[0] = '\0';
	for (size_t i = 0; u != NULL && i < u->n; i++) {
		int w = snprintf(buf + pos, len - pos, "%s%s", i > 0 ? "," : "", u->pub[i].id);
		if (w < 0 || (size_t)w >= len - pos)
			break;
		pos += (size_t)w;
	}
	return u != NULL ? u->n : 0;
}

bool
hq_tree_has_sealed(const cJSON *tree)
{
	const cJSON *c;

	if (seal_is_envelope(tree))
		return true;
	for (c = tree != NULL ? tree->child : NULL; c != NULL; c = c->next)
		if (hq_tree_has_sealed(c))
			return true;
	return false;
}

/* The opened value of env, or NULL (not our key, does not open, out of memory). */
static cJSON *
open_one(const struct hq_unlocked *u, const cJSON *env)
{
	const char *kid = seal_envelope_key(env);
	unsigned char salt[SEAL_SALT_LEN];
	cJSON *value = NULL;
	char *text;
	size_t len;

	for (size_t i = 0; u != NULL && kid != NULL && i < u->n; i++) {
		if (strcmp(u->pub[i].id, kid) != 0)
			continue;
		if (seal_open(env, &u->pub[i], u->sk[i], &text, &len, salt) != FS_OK)
			return NULL;
		value = cJSON_ParseWithLengthOpts(text, len + 1, NULL, 1);
		seal_text_free(text, len + 1);
		sodium_memzero(salt, sizeof(salt));
		return value;
	}
	return NULL;
}

fs_err
hq_open_envelope(const struct hq_unlocked *u, const cJSON *env, char **ret_text, size_t *ret_len,
    unsigned char salt[SEAL_SALT_LEN])
{
	const char *kid = seal_envelope_key(env);

	for (size_t i = 0; u != NULL && kid != NULL && i < u->n; i++)
		if (strcmp(u->pub[i].id, kid) == 0)
			return seal_open(env, &u->pub[i], u->sk[i], ret_text, ret_len, salt);
	return FS_ERR_KEY;
}

fs_err
hq_open_tree(const struct hq_unlocked *u, cJSON *tree, int *ret_opened, int *ret_closed)
{
	cJSON *c, *next;

	for (c = tree != NULL ? tree->child : NULL; c != NULL; c = next) {
		next = c->next;
		if (seal_is_envelope(c)) {
			cJSON *value = open_one(u, c);

			if (value == NULL) {
				(*ret_closed)++;
				continue;
			}
			/* ReplaceItemViaPointer keeps no member name: give it c's. */
			if ((c->string != NULL && (value->string = strdup(c->string)) == NULL) ||
			    !cJSON_ReplaceItemViaPointer(tree, c, value)) {
				cJSON_Delete(value);
				return FS_ERR_NOMEM;
			}
			(*ret_opened)++;
			continue;
		}
		if (hq_open_tree(u, c, ret_opened, ret_closed) != FS_OK)
			return FS_ERR_NOMEM;
	}
	return FS_OK;
}

fs_err
hq_current_public(struct store *store, char **ret_json)
{
	cJSON *keys, *first, *out;
	char *text = NULL;
	fs_err err;

	*ret_json = NULL;
	if ((err = store_seal_keys(store, &text)) != FS_OK)
		return err;
	keys = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsArray(keys)) {
		cJSON_Delete(keys);
		return FS_ERR_CORRUPT;
	}
	if ((first = cJSON_GetArrayItem(keys, 0)) == NULL) {
		cJSON_Delete(keys);
		return FS_OK;
	}
	out = cJSON_CreateObject();
	cJSON_AddItemToObject(out, "id",
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(first, "id"), 1));
	cJSON_AddItemToObject(out, "public",
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(first, "public"), 1));
	cJSON_Delete(keys);
	*ret_json = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	return *ret_json != NULL ? FS_OK : FS_ERR_NOMEM;
}

/* ---- fieldsyncd key create | list ---- */

static const char usage_key[] =
    "usage: fieldsyncd [-f file] [-d data_dir] key create [--passphrase-file FILE]\n"
    "       fieldsyncd [-f file] [-d data_dir] key list\n"
    "       fieldsyncd [-f file] [-d data_dir] key check [--passphrase-file FILE]\n"
    "       fieldsyncd [-f file] [-d data_dir] key rotate [--passphrase-file FILE] [--reseal]\n"
    "       fieldsyncd [-f file] [-d data_dir] key reseal [--passphrase-file FILE]\n"
    "  create  makes headquarters' sealing key pair; devices receive its public\n"
    "          key with the forms (GET /v1/forms, \"seal_key\").  The\n"
    "          secret key is stored only locked under the passphrase (Argon2id,\n"
    "          XChaCha20-Poly1305); the passphrase is never stored.  A lost\n"
    "          passphrase cannot be recovered: the values sealed to that key are\n"
    "          lost with it.  A second create is a rotation: devices seal to the\n"
    "          newest key; older values stay readable with their own key.\n"
    "  list    prints each key's id, public key and creation time, newest first.\n"
    "  check   says which keys a passphrase unlocks (nothing is changed).\n"
    "  rotate  is create; with --reseal, then reseal with the same passphrase.\n"
    "  reseal  seals every current sensitive value again to the newest key: values\n"
    "          sealed to an older key this passphrase opens, and plain values\n"
    "          saved before devices knew a key.  Each record moves by a change\n"
    "          signed by the server (devices pull it); a field in conflict, or a\n"
    "          value no unlocked key opens, is left and counted.  The history\n"
    "          keeps the old envelopes: keep the old passphrases.  One record per\n"
    "          transaction: safe while the daemon runs, and run again to resume.\n"
    "  --passphrase-file FILE  read the passphrase from FILE's first line (mode\n"
    "                          0600 or stricter); otherwise it is asked on the\n"
    "                          terminal, echo off\n";

void
hq_key_usage_lines(FILE *fp)
{
	fputs("       fieldsyncd [-f file] [-d data_dir] key create|list|check|rotate|reseal"
	      " [--passphrase-file FILE] [--reseal]\n", fp);
}

static int
key_create(struct store *store, const char *pass_file)
{
	unsigned char *sk;
	struct seal_public pub;
	char pass[HQ_PASS_MAX + 1], pk_hex[SEAL_PUBLIC_HEX + 1], *locked_text;
	cJSON *locked = NULL;
	long n;
	fs_err err;

	if ((n = hq_read_passphrase(pass_file, "Passphrase for the new headquarters key: ", true,
		 pass)) < 0)
		return 1;
	if (n < 12) {
		sodium_memzero(pass, sizeof(pass));
		fprintf(stderr, "fieldsyncd: the passphrase must be at least 12 characters\n");
		return EXIT_USAGE;
	}
	if ((sk = sodium_malloc(SEAL_SECRET_LEN)) == NULL) {
		sodium_memzero(pass, sizeof(pass));
		fprintf(stderr, "fieldsyncd: out of memory\n");
		return 1;
	}
	fprintf(stderr, "fieldsyncd: making the key (Argon2id, about a second)...\n");
	err = seal_keypair(&pub, sk);
	if (err == FS_OK)
		err = seal_secret_lock(&pub, sk, pass, (size_t)n, &locked);
	sodium_free(sk);
	sodium_memzero(pass, sizeof(pass));
	if (err != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot make the key: %s\n", fs_strerror(err));
		return 1;
	}
	locked_text = cJSON_PrintUnformatted(locked);
	cJSON_Delete(locked);
	if (locked_text == NULL) {
		fprintf(stderr, "fieldsyncd: out of memory\n");
		return 1;
	}
	sodium_bin2hex(pk_hex, sizeof(pk_hex), pub.pk, SEAL_PUBLIC_LEN);
	err = store_seal_key_add(store, pub.id, pk_hex, locked_text);
	free(locked_text);
	if (err == FS_OK) {
		char detail[64];

		snprintf(detail, sizeof(detail), "key=%s", pub.id);
		err = store_audit(store, "admin", "key.create", NULL, detail);
	}
	if (err != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot store the key: %s\n", fs_strerror(err));
		return 1;
	}
	printf("key %s created; devices receive it with the forms at their next sync\n",
	    pub.id);
	printf("public %s\n", pk_hex);
	printf("Keep the passphrase safe: without it no sealed value can be read.\n");
	return 0;
}

static int
key_list(struct store *store)
{
	cJSON *keys, *k;
	char *text = NULL;
	fs_err err;

	if ((err = store_seal_keys(store, &text)) != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot read the keys: %s\n", fs_strerror(err));
		return 1;
	}
	keys = cJSON_Parse(text);
	free(text);
	if (cJSON_GetArraySize(keys) == 0)
		printf("no sealing key: sensitive fields travel and are stored unsealed"
		       " (fieldsyncd key create)\n");
	cJSON_ArrayForEach(k, keys)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(k, "id");
		const cJSON *pk = cJSON_GetObjectItemCaseSensitive(k, "public");
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(k, "created_at");

		printf("%s  %s  created %s%s\n", cJSON_IsString(id) ? id->valuestring : "?",
		    cJSON_IsString(pk) ? pk->valuestring : "?",
		    cJSON_IsString(at) ? at->valuestring : "?",
		    k == keys->child ? "  (current)" : "");
	}
	cJSON_Delete(keys);
	return 0;
}

static int
key_check(struct store *store, const char *pass_file)
{
	struct hq_unlocked *u = NULL;
	char pass[HQ_PASS_MAX + 1], ids[512];
	long n;
	fs_err err;

	if ((n = hq_read_passphrase(pass_file, "Headquarters key passphrase: ", false, pass)) < 0)
		return 1;
	err = hq_unlock(store, pass, (size_t)n, &u);
	sodium_memzero(pass, sizeof(pass));
	if (err == FS_ERR_NOTFOUND) {
		fprintf(stderr, "fieldsyncd: there is no sealing key (fieldsyncd key create)\n");
		return 1;
	}
	if (err != FS_OK) {
		fprintf(stderr, "fieldsyncd: %s\n",
		    err == FS_ERR_KEY ? "the passphrase unlocks no key" : fs_strerror(err));
		return 1;
	}
	hq_unlocked_ids(u, ids, sizeof(ids));
	printf("the passphrase unlocks key(s) %s\n", ids);
	hq_unlocked_free(u);
	return 0;
}

int
hq_unlock_cli(struct store *store, const char *pass_file, const char *purpose,
    const char *record_id, struct hq_unlocked **ret)
{
	char *pass = sodium_malloc(HQ_PASS_MAX + 1), detail[64];
	long n;
	fs_err err;

	*ret = NULL;
	if (pass == NULL) {
		fprintf(stderr, "fieldsyncd: out of memory\n");
		return 1;
	}
	n = hq_read_passphrase(pass_file, "Passphrase of the sealing key: ", false, pass);
	if (n < 0) {
		sodium_free(pass);
		return 1;
	}
	err = hq_unlock(store, pass, (size_t)n, ret);
	sodium_free(pass);
	switch (err) {
	case FS_OK:
		return 0;
	case FS_ERR_KEY:
		snprintf(detail, sizeof(detail), "for=%s", purpose);
		(void)store_audit(store, "cli", "key.unlock_failed", record_id, detail);
		fprintf(stderr, "fieldsyncd: the passphrase unlocks no sealing key; no %s made\n",
		    purpose);
		return 1;
	case FS_ERR_NOTFOUND:
		fprintf(stderr, "fieldsyncd: no sealing key was created (fieldsyncd key create)\n");
		return 1;
	default:
		fprintf(stderr, "fieldsyncd: cannot unlock the sealing keys: %s\n", fs_strerror(err));
		return 1;
	}
}

/* Unlocks the stored keys with a passphrase and re-seals (key_reseal.c). */
static int
key_reseal(const struct config *cfg, struct store *store, const char *pass_file)
{
	struct hq_unlocked *u = NULL;
	char ids[256];
	int rc;

	if (hq_unlock_cli(store, pass_file, "reseal", NULL, &u) != 0)
		return 1;
	hq_unlocked_ids(u, ids, sizeof(ids));
	fprintf(stderr, "fieldsyncd: unlocked key(s) %s\n", ids);
	rc = key_reseal_run(store, cfg->data_dir, u);
	hq_unlocked_free(u);
	return rc;
}

int
hq_key_main(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = { { "passphrase-file", required_argument, NULL, 'p' },
		{ "reseal", no_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *pass_file = NULL, *sub;
	struct store *store;
	bool reseal = false;
	int c, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_key, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	sub = argv[1];
	admin_getopt_reset();
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pass_file = optarg;
			break;
		case 'r':
			reseal = true;
			break;
		case 'h':
			fputs(usage_key, stdout);
			return 0;
		default:
			fputs(usage_key, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 ||
	    (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "check") != 0 &&
		strcmp(sub, "rotate") != 0 && strcmp(sub, "reseal") != 0) ||
	    (pass_file != NULL && strcmp(sub, "list") == 0) ||
	    (reseal && strcmp(sub, "rotate") != 0)) {
		fputs(usage_key, stderr);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "fieldsyncd: libsodium did not initialise\n");
		return 1;
	}
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	if (strcmp(sub, "create") == 0 || strcmp(sub, "rotate") == 0) {
		rc = key_create(store, pass_file);
		if (rc == 0 && reseal)
			rc = key_reseal(cfg, store, pass_file);
	} else if (strcmp(sub, "reseal") == 0)
		rc = key_reseal(cfg, store, pass_file);
	else if (strcmp(sub, "check") == 0)
		rc = key_check(store, pass_file);
	else
		rc = key_list(store);
	store_close(store);
	return rc;
}
