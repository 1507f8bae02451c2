/*
 * casefile.c -- `fieldsyncd casefile RECORD_ID --out DIR` (issue 16,
 * item 4b): an evidence bundle a prosecutor can check without the server.
 *
 *   DIR/changes/NNNN.json  each change of the record, the bytes the device
 *                          sent (its signature inside), in history order;
 *   DIR/manifest.json      the record, its history (changes and review
 *                          events, each with its place in the record's
 *                          hash chain), every signing device's keys, the
 *                          hash of every file, headquarters' public key;
 *   DIR/manifest.sig       headquarters' signature over the manifest;
 *   DIR/README.txt         what it holds and how to check it.
 *
 * `fieldsync verify-bundle DIR` checks it offline (client/cli/cmd_bundle.c).
 * Sensitive values are left out unless --include-sensitive (audited, as an
 * export with them is): a change holding one is then written with the
 * value replaced, and the bundle says which.  Such a change's signature
 * still verifies over its link, which the manifest gives; its content can
 * be checked only against the full change.  A sealed value (issue 17) is
 * kept as it is -- ciphertext and commitment -- so its change verifies
 * whole.  (Revealing one sealed value in a bundle with its text and salt,
 * checkable against the signed commitment, is not built yet.)
 * Every bundle made is audited.  Nothing here logs a value.
 */
#include "casefile.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "admin_util.h"
#include "config.h"
#include "custody.h"
#include "form.h"
#include "hq_key.h"
#include "seal.h"
#include "server_key.h"
#include "store.h"
#include "store_records.h"
#include "store_review.h"

#define EXIT_USAGE 2

static const char usage_casefile[] =
    "usage: fieldsyncd [-f file] [-d data_dir] casefile RECORD_ID --out DIR"
    " [--include-sensitive]\n"
    "                  [--reveal] [--passphrase-file FILE]\n"
    "  Writes the record's evidence bundle into DIR (made, must not exist): its\n"
    "  changes exactly as received with their signatures, its history chain and\n"
    "  review events, the devices' public keys, a manifest signed by\n"
    "  headquarters' key and a README.  'fieldsync verify-bundle DIR' checks it\n"
    "  offline.  Audited.\n"
    "  --include-sensitive  keep the values of fields marked sensitive (audited);\n"
    "                       without it they are replaced and the bundle says so\n"
    "                       (sealed values are ciphertext: always kept)\n"
    "  --reveal             unlock the sealing key (passphrase on the terminal)\n"
    "                       and add each sealed value's text and salt under\n"
    "                       revealed/: verify-bundle proves them against the\n"
    "                       signed commitments (audited casefile.reveal)\n"
    "  --passphrase-file FILE  the passphrase from FILE (mode 0600; implies\n"
    "                       --reveal)\n";

void
casefile_usage_lines(FILE *fp)
{
	fputs("       fieldsyncd [-f file] [-d data_dir] casefile RECORD_ID --out DIR"
	      " [--include-sensitive]\n"
	      "                  [--reveal] [--passphrase-file FILE]\n",
	    fp);
}

struct bundle {
	struct store *store;
	const char *dir;
	bool sensitive;
	struct form *form;
	cJSON *history, *devices, *files;
	int nchanges, nredacted, nrevealed;
	const struct hq_unlocked *keys; /* --reveal: the unlocked sealing keys */
	fs_err err;
	char msg[160];
};



static int
write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char path[4200];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -1;
	n = write(fd, data, len);
	if (n != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void
blake_hex(const char *data, size_t len, char out[CUSTODY_LINK_HEX + 1])
{
	unsigned char h[CUSTODY_LINK_LEN];

	crypto_generichash(h, sizeof(h), (const unsigned char *)data, len, NULL, 0);
	custody_hex(h, sizeof(h), out);
}

/* The device's name and keys into the manifest, once per device. */
static fs_err
add_device(struct bundle *b, const char *device)
{
	char name[65], *keys = NULL;
	cJSON *d, *arr;
	fs_err err;

	if (cJSON_GetObjectItemCaseSensitive(b->devices, device) != NULL)
		return FS_OK;
	if ((err = store_device_info(b->store, device, name, &keys)) != FS_OK)
		return err;
	d = cJSON_AddObjectToObject(b->devices, device);
	arr = d != NULL ? cJSON_AddArrayToObject(d, "keys") : NULL;
	if (arr == NULL || cJSON_AddStringToObject(d, "name", name) == NULL) {
		free(keys);
		return FS_ERR_NOMEM;
	}
	for (char *k = strtok(keys, ","); k != NULL; k = strtok(NULL, ","))
		cJSON_AddItemToArray(arr, cJSON_CreateString(k));
	free(keys);
	return FS_OK;
}

/* A copy of change with every plain sensitive value replaced; NULL if none. */
static char *
redacted(const struct bundle *b, const cJSON *change)
{
	const cJSON *f;
	cJSON *copy, *fields;
	char *text;
	int n = 0;

	if ((copy = cJSON_Duplicate(change, 1)) == NULL)
		return NULL;
	fields = cJSON_GetObjectItemCaseSensitive(copy, "fields");
	for (f = fields != NULL ? fields->child : NULL; f != NULL;) {
		const struct form_field *ff = form_field_find(b->form, f->string);
		const cJSON *next = f->next;

		/* A sealed value is ciphertext already: kept, so its signature verifies. */
		if (ff != NULL && ff->sensitive && !cJSON_IsNull(f) && !seal_is_envelope(f)) {
			cJSON_ReplaceItemInObjectCaseSensitive(fields, f->string,
			    cJSON_CreateString("[withheld: sensitive]"));
			n++;
		}
		f = next;
	}
	text = n > 0 ? cJSON_PrintUnformatted(copy) : NULL;
	cJSON_Delete(copy);
	return text;
}

static void
hex32(const unsigned char *p, char out[CUSTODY_LINK_HEX + 1])
{
	if (p != NULL)
		custody_hex(p, CUSTODY_LINK_LEN, out);
	else
		out[0] = '\0';
}

/*
 * --reveal (issue 17): each sealed value of change (written as file) with
 * its text and salt in revealed/NNNN-FIELD.json, listed in the manifest.
 * Anyone can check BLAKE2b-256(salt || text) against the commitment the
 * device signed (fieldsync verify-bundle); no key is needed for that.
 */
static int
reveal_values(struct bundle *b, const cJSON *change, const char *file)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(change, "fields"))
	{
		unsigned char salt[SEAL_SALT_LEN];
		char name[200], salt_hex[2 * SEAL_SALT_LEN + 1], sum[CUSTODY_LINK_HEX + 1], *text;
		char *out;
		size_t len;
		cJSON *r;

		if (!seal_is_envelope(f) || hq_open_envelope(b->keys, f, &text, &len, salt) != FS_OK)
			continue;
		custody_hex(salt, sizeof(salt), salt_hex);
		salt_hex[2 * SEAL_SALT_LEN] = '\0';
		r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "change", file);
		cJSON_AddStringToObject(r, "field", f->string);
		cJSON_AddStringToObject(r, "text", text);
		cJSON_AddStringToObject(r, "salt", salt_hex);
		seal_text_free(text, len);
		sodium_memzero(salt, sizeof(salt));
		out = cJSON_Print(r);
		cJSON_Delete(r);
		snprintf(name, sizeof(name), "revealed/%04d-%.64s.json", b->nchanges, f->string);
		if (out == NULL || write_file(b->dir, name, out, strlen(out)) != 0) {
			free(out);
			snprintf(b->msg, sizeof(b->msg), "cannot write %.100s", name);
			b->err = FS_ERR_IO;
			return 1;
		}
		blake_hex(out, strlen(out), sum);
		free(out);
		cJSON_AddStringToObject(b->files, name, sum);
		b->nrevealed++;
	}
	return 0;
}

static int
add_entry(void *arg, const struct store_history_row *r)
{
	struct bundle *b = arg;
	char prev[CUSTODY_LINK_HEX + 1], hash[CUSTODY_LINK_HEX + 1], file[32];
	char sum[CUSTODY_LINK_HEX + 1], link[CUSTODY_LINK_HEX + 1], msg[128];
	cJSON *e = cJSON_CreateObject();

	if (e == NULL || !r->ref_found || r->hash == NULL) {
		cJSON_Delete(e);
		snprintf(b->msg, sizeof(b->msg), "the record's history is damaged: run 'fieldsyncd verify'");
		b->err = FS_ERR_CORRUPT;
		return 1;
	}
	cJSON_AddItemToArray(b->history, e);
	hex32(r->prev, prev);
	hex32(r->hash, hash);
	cJSON_AddNumberToObject(e, "entry", (double)r->id);
	cJSON_AddStringToObject(e, "kind", r->kind);
	cJSON_AddStringToObject(e, "prev", prev);
	cJSON_AddStringToObject(e, "hash", hash);
	if (strcmp(r->kind, "change") == 0) {
		/* items: record_id, seq, received_at, body */
		const char *body = r->items[3];
		cJSON *obj = cJSON_Parse(body);
		struct change ch;
		unsigned char bin[CUSTODY_LINK_LEN];
		char *red = NULL;

		if (obj == NULL || change_parse(obj, &ch, msg, sizeof(msg)) != FS_OK) {
			cJSON_Delete(obj);
			snprintf(b->msg, sizeof(b->msg), "a stored change does not parse");
			b->err = FS_ERR_CORRUPT;
			return 1;
		}
		snprintf(file, sizeof(file), "changes/%04d.json", ++b->nchanges);
		cJSON_AddStringToObject(e, "file", file);
		cJSON_AddNumberToObject(e, "seq", (double)r->ref);
		cJSON_AddStringToObject(e, "received_at", r->items[2]);
		cJSON_AddStringToObject(e, "device", ch.device);
		cJSON_AddStringToObject(e, "hlc", ch.hlc);
		if (ch.prev != NULL && ch.sig != NULL && custody_link(&ch, bin) == FS_OK) {
			custody_hex(bin, sizeof(bin), link);
			cJSON_AddStringToObject(e, "link", link);
		}
		if (!b->sensitive)
			red = redacted(b, obj);
		cJSON_AddBoolToObject(e, "withheld", red != NULL);
		if (red != NULL)
			b->nredacted++;
		if ((b->err = add_device(b, ch.device)) != FS_OK) {
			cJSON_Delete(obj);
			free(red);
			return 1;
		}
		cJSON_Delete(obj);
		blake_hex(red != NULL ? red : body, strlen(red != NULL ? red : body), sum);
		if (write_file(b->dir, file, red != NULL ? red : body,
			strlen(red != NULL ? red : body)) != 0) {
			free(red);
			snprintf(b->msg, sizeof(b->msg), "cannot write %s: %s", file, strerror(errno));
			b->err = FS_ERR_IO;
			return 1;
		}
		free(red);
		cJSON_AddStringToObject(b->files, file, sum);
		if (b->keys != NULL) {
			cJSON *again = cJSON_Parse(body);
			int stop = again != NULL ? reveal_values(b, again, file) : 0;

			cJSON_Delete(again);
			if (stop)
				return 1;
		}
	} else {
		/* items: record_id, id, kind, status, note, field, stamp, actor, at */
		static const char *const names[] = { "record_id", "id", "kind", "status", "note",
			"field", "stamp", "actor", "at" };
		cJSON *items = cJSON_AddArrayToObject(e, "items");

		cJSON *ev = cJSON_AddObjectToObject(e, "event");

		/* The items in the order the chain hashes them, and by name for people. */
		for (int i = 0; i < 9 && items != NULL && ev != NULL; i++) {
			cJSON_AddItemToArray(items, r->items[i] != NULL
							? cJSON_CreateString(r->items[i])
							: cJSON_CreateNull());
			if (i >= 2)
				cJSON_AddItemToObject(ev, names[i], r->items[i] != NULL
									? cJSON_CreateString(r->items[i])
									: cJSON_CreateNull());
		}
	}
	return 0;
}

struct rec_form {
	char form[65];
	int64_t version;
};

static int
record_form(void *arg, const struct review_record *r)
{
	struct rec_form *rf = arg;

	snprintf(rf->form, sizeof(rf->form), "%s", r->form);
	rf->version = r->form_version;
	return 0;
}

static const char readme[] =
    "fieldsync evidence bundle (case file)\n"
    "=====================================\n\n"
    "This directory holds one screening record's history as the fieldsync server\n"
    "received and kept it:\n\n"
    "  changes/NNNN.json  each change of the record, the exact bytes the field\n"
    "                     device sent, with the device's Ed25519 signature (\"sig\")\n"
    "                     and the link of the change it made before (\"prev\");\n"
    "  manifest.json      the record, its history in order (changes and review\n"
    "                     events) with each entry's place in the record's hash\n"
    "                     chain, the public keys of every device that signed,\n"
    "                     the BLAKE2b hash of every file;\n"
    "  manifest.sig       headquarters' signature over manifest.json.\n\n"
    "To check it, with no access to the server:\n\n"
    "  fieldsync verify-bundle DIR\n\n"
    "It re-computes every change's canonical form and link, verifies each device\n"
    "signature, re-computes the record's history chain, checks every file against\n"
    "the manifest and the manifest against headquarters' key, and prints what\n"
    "that proves.  Compare the headquarters key it prints with the one your\n"
    "office published.  The canonical form and the hashes are specified in\n"
    "fieldsync's docs/PROTOCOL.md (\"Chain of custody\").\n\n"
    "Sealed values (ciphertext to headquarters' key) are in the changes as\n"
    "signed.  If the bundle was made with --reveal, revealed/ holds, for each\n"
    "sealed value, its text and salt: verify-bundle checks that BLAKE2b-256 of\n"
    "salt and text is the commitment the device signed, so the text is proven\n"
    "without any key.\n\n"
    "If the manifest says \"sensitive\": \"withheld\", the values of fields marked\n"
    "sensitive were replaced in the files; for those changes the signature is\n"
    "checked over the link the manifest gives, and their content is not proven\n"
    "by this bundle.\n";

int
casefile_main(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = { { "out", required_argument, NULL, 'o' },
		{ "include-sensitive", no_argument, NULL, 'S' }, { "reveal", no_argument, NULL, 'R' },
		{ "passphrase-file", required_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct hq_unlocked *keys = NULL;
	const char *pass_file = NULL;
	bool reveal = false;
	struct bundle b = { .err = FS_OK };
	const char *out = NULL, *id;
	struct server_key key;
	struct store *store;
	char changes_dir[4200], detail[160], sig[CUSTODY_SIG_HEX + 1];
	unsigned char mh[CUSTODY_LINK_LEN], msgbuf[sizeof("fieldsync-casefile-1") + CUSTODY_LINK_LEN];
	struct rec_form rec = { .version = 0 };
	cJSON *man = NULL;
	char *text = NULL, form_id[65] = "";
	int64_t form_version = 0;
	int c, rc = 1;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'S':
			b.sensitive = true;
			break;
		case 'P':
			pass_file = optarg;
			/* FALLTHROUGH */
		case 'R':
			reveal = true;
			break;
		case 'h':
			fputs(usage_casefile, stdout);
			return 0;
		default:
			fputs(usage_casefile, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || out == NULL) {
		fputs(usage_casefile, stderr);
		return EXIT_USAGE;
	}
	id = argv[optind];
	if (strlen(id) != 32 || !custody_is_hex(id, 32)) {
		fprintf(stderr, "fieldsyncd: '%.40s' is not a record id (32 hex digits)\n", id);
		return EXIT_USAGE;
	}
	if (custody_init() != FS_OK || server_key_load(cfg->data_dir, &key) != 0) {
		fprintf(stderr, "fieldsyncd: cannot load headquarters' signing key\n");
		return 1;
	}
	if (admin_open_store(cfg, &store) != 0) {
		server_key_wipe(&key);
		return 1;
	}
	b.store = store;
	b.dir = out;
	if (store_review_get(store, id, record_form, &rec) != FS_OK) {
		fprintf(stderr, "fieldsyncd: no record %s\n", id);
		rc = EXIT_USAGE;
		goto done;
	}
	snprintf(form_id, sizeof(form_id), "%s", rec.form);
	form_version = rec.version;
	if (store_form_get(store, form_id, form_version, &b.form) != FS_OK) {
		fprintf(stderr, "fieldsyncd: the record's form %s version %lld is not published\n",
		    form_id, (long long)form_version);
		goto done;
	}
	if (reveal) {
		if (hq_unlock_cli(store, pass_file, "casefile", id, &keys) != 0)
			goto done;
		b.keys = keys;
	}
	snprintf(changes_dir, sizeof(changes_dir), "%s/changes", out);
	if (mkdir(out, 0700) != 0 || mkdir(changes_dir, 0700) != 0) {
		fprintf(stderr, "fieldsyncd: cannot make '%s': %s (it must not exist)\n", out,
		    strerror(errno));
		rc = EXIT_USAGE;
		goto done;
	}
	if (reveal) {
		char rdir[4200];

		snprintf(rdir, sizeof(rdir), "%s/revealed", out);
		if (mkdir(rdir, 0700) != 0) {
			fprintf(stderr, "fieldsyncd: cannot make '%s': %s\n", rdir, strerror(errno));
			goto done;
		}
	}
	man = cJSON_CreateObject();
	cJSON_AddStringToObject(man, "format", "fieldsync-casefile-1");
	cJSON_AddStringToObject(man, "record", id);
	cJSON_AddStringToObject(man, "form", form_id);
	cJSON_AddNumberToObject(man, "form_version", (double)form_version);
	cJSON_AddStringToObject(man, "sensitive", b.sensitive ? "included" : "withheld");
	cJSON_AddStringToObject(man, "headquarters_key", key.pk);
	b.history = cJSON_AddArrayToObject(man, "history");
	b.devices = cJSON_AddObjectToObject(man, "devices");
	b.files = cJSON_AddObjectToObject(man, "files");
	if (b.history == NULL || b.devices == NULL || b.files == NULL) {
		fprintf(stderr, "fieldsyncd: out of memory\n");
		goto done;
	}
	if (store_record_history(store, id, add_entry, &b) != FS_OK || b.err != FS_OK) {
		fprintf(stderr, "fieldsyncd: %s\n", b.msg[0] ? b.msg : "cannot read the history");
		goto done;
	}
	cJSON_AddNumberToObject(man, "revealed", b.nrevealed);
	{
		char sum[CUSTODY_LINK_HEX + 1];

		/* The README is listed too: no byte of a bundle goes unchecked. */
		blake_hex(readme, sizeof(readme) - 1, sum);
		cJSON_AddStringToObject(b.files, "README.txt", sum);
	}
	if ((text = cJSON_Print(man)) == NULL ||
	    write_file(out, "manifest.json", text, strlen(text)) != 0 ||
	    write_file(out, "README.txt", readme, sizeof(readme) - 1) != 0) {
		fprintf(stderr, "fieldsyncd: cannot write the bundle: %s\n", strerror(errno));
		goto done;
	}
	/* Headquarters signs the manifest: every file's hash is in it. */
	crypto_generichash(mh, sizeof(mh), (const unsigned char *)text, strlen(text), NULL, 0);
	memcpy(msgbuf, "fieldsync-casefile-1", sizeof("fieldsync-casefile-1"));
	memcpy(msgbuf + sizeof("fieldsync-casefile-1"), mh, sizeof(mh));
	{
		unsigned char s[CUSTODY_SIG_LEN];

		crypto_sign_detached(s, NULL, msgbuf, sizeof(msgbuf), key.sk);
		custody_hex(s, sizeof(s), sig);
	}
	sig[CUSTODY_SIG_HEX] = '\0';
	if (write_file(out, "manifest.sig", sig, CUSTODY_SIG_HEX) != 0) {
		fprintf(stderr, "fieldsyncd: cannot write the bundle: %s\n", strerror(errno));
		goto done;
	}
	snprintf(detail, sizeof(detail), "changes=%d sensitive=%s withheld=%d revealed=%d",
	    b.nchanges, b.sensitive ? "included" : "withheld", b.nredacted, b.nrevealed);
	if (store_audit(store, "cli",
		b.nrevealed > 0 ? "casefile.reveal"
		: b.sensitive   ? "casefile.sensitive"
				: "casefile",
		id, detail) != FS_OK) {
		fprintf(stderr, "fieldsyncd: could not write the audit entry; bundle not made\n");
		goto done;
	}
	printf("case file of record %s in %s: %d change(s), %d history entries, sensitive"
	       " values %s%s; check it with 'fieldsync verify-bundle %s'\n",
	    id, out, b.nchanges, cJSON_GetArraySize(b.history),
	    b.sensitive ? "included" : "withheld", b.nredacted ? " (some replaced)" : "", out);
	if (reveal)
		printf("%d sealed value(s) revealed with their salts under %s/revealed\n", b.nrevealed,
		    out);
	rc = 0;
done:
	hq_unlocked_free(keys);
	free(text);
	cJSON_Delete(man);
	form_free(b.form);
	store_close(store);
	server_key_wipe(&key);
	return rc;
}
