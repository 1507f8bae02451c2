/*
 * verify.c -- `fieldsyncd verify`.  See verify.h.
 *
 * Each device's links come in stamp order (store_chain_walk).  A device's
 * changes from before signatures (0.3 and older) carry no link: they are
 * counted, and the chain starts at its first signed change.  After that
 * every change must be signed by one of the device's keys, name the link
 * before it ("prev"; the genesis zeros only when a reset key started a new
 * chain), sit in the log after the one before it, and the last link must
 * be the head the server keeps (a removed last change shows there).
 * Nothing here prints a field value: the names, stamps and record ids.
 */
#include "verify.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_util.h"
#include "custody.h"
#include "store.h"
#include "store_records.h"

#define EXIT_USAGE 64

static const char usage_verify[] =
    "usage: fieldsyncd [-f file] [-d data_dir] verify\n"
    "  Re-checks every signed change's signature and every device's hash chain;\n"
    "  prints the first broken link and exits 1, or a summary and exits 0.\n";

struct walk {
	char device[HLC_DEVICE_LEN + 1];
	char name[65];
	char head[65];
	char link[CUSTODY_LINK_HEX + 1]; /* "" until the device's chain starts */
	int64_t last_seq;
	long devices, signed_changes, unsigned_changes, refused, restarts;
	bool broken;
};

static void
broken(struct walk *w, const struct store_chain_row *row, const char *what)
{
	w->broken = true;
	if (row->seq > 0)
		printf("BROKEN: device '%s' (%s), change %lld (stamp %s): %s\n", row->name,
		    row->device, (long long)row->seq, row->hlc, what);
	else
		printf("BROKEN: device '%s' (%s), refused change (stamp %s): %s\n", row->name,
		    row->device, row->hlc, what);
}

static bool
verifies_under_any(const unsigned char link[CUSTODY_LINK_LEN], const char *sig, const char *keys)
{
	char key[CUSTODY_KEY_HEX + 1];
	const char *p = keys;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (n == CUSTODY_KEY_HEX) {
			memcpy(key, p, n);
			key[n] = '\0';
			if (custody_verify(link, sig, key))
				return true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

/* The end of a device's links: its last link must be the head the server keeps. */
static void
device_end(struct walk *w)
{
	if (w->device[0] == '\0' || w->broken || w->link[0] == '\0')
		return;
	if (w->head[0] != '\0' && strcmp(w->head, w->link) != 0) {
		w->broken = true;
		printf("BROKEN: device '%s' (%s): its chain ends at a link that is not the head the"
		       " server holds: its last change(s) were removed\n",
		    w->name, w->device);
	}
}

static int
check_row(void *arg, const struct store_chain_row *row)
{
	struct walk *w = arg;
	unsigned char bin[CUSTODY_LINK_LEN];
	char link[CUSTODY_LINK_HEX + 1], msg[128];
	struct change ch;
	const char *prev;
	cJSON *obj = NULL;

	if (strcmp(row->device, w->device) != 0) {
		device_end(w);
		if (w->broken)
			return 1;
		snprintf(w->device, sizeof(w->device), "%s", row->device);
		snprintf(w->name, sizeof(w->name), "%s", row->name);
		snprintf(w->head, sizeof(w->head), "%s", row->head);
		w->link[0] = '\0';
		w->last_seq = 0;
		w->devices++;
	}
	if (row->body == NULL) { /* a refused change: its link and prev were kept */
		if (!custody_is_hex(row->link, CUSTODY_LINK_HEX) ||
		    !custody_is_hex(row->prev, CUSTODY_LINK_HEX))
			return broken(w, row, "the kept link is damaged"), 1;
		prev = row->prev;
		snprintf(link, sizeof(link), "%s", row->link);
		w->refused++;
	} else {
		if ((obj = cJSON_Parse(row->body)) == NULL ||
		    change_parse(obj, &ch, msg, sizeof(msg)) != FS_OK) {
			cJSON_Delete(obj);
			return broken(w, row, "the stored change does not parse: altered"), 1;
		}
		if (strcmp(ch.hlc, row->hlc) != 0 || strcmp(ch.device, row->device) != 0) {
			cJSON_Delete(obj);
			return broken(w, row, "the stored change's stamp is not its row's: altered or moved"),
			       1;
		}
		if (ch.prev == NULL && ch.sig == NULL && w->link[0] == '\0') {
			cJSON_Delete(obj); /* from before signatures */
			w->unsigned_changes++;
			return 0;
		}
		if (ch.prev == NULL || ch.sig == NULL || custody_link(&ch, bin) != FS_OK) {
			cJSON_Delete(obj);
			return broken(w, row, "an unsigned change inside the device's chain"), 1;
		}
		if (!verifies_under_any(bin, ch.sig, row->keys)) {
			cJSON_Delete(obj);
			return broken(w, row,
				   "the signature does not verify under the device's keys: the change"
				   " was altered"),
			       1;
		}
		custody_hex(bin, sizeof(bin), link);
		prev = ch.prev;
		if (row->seq <= w->last_seq) {
			cJSON_Delete(obj);
			return broken(w, row, "stored before the change it follows: rows reordered"), 1;
		}
		w->last_seq = row->seq;
		w->signed_changes++;
	}
	if (strcmp(prev, custody_genesis) == 0) {
		if (w->link[0] != '\0')
			w->restarts++; /* a new chain after a key reset */
	} else if (w->link[0] == '\0' || strcmp(prev, w->link) != 0) {
		cJSON_Delete(obj);
		return broken(w, row,
			   "does not follow the link before it: a change before it is missing,"
			   " reordered or altered"),
		       1;
	}
	memcpy(w->link, link, sizeof(w->link));
	cJSON_Delete(obj);
	return 0;
}

int
verify_main(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct walk w = { .device = "" };
	struct store *store;
	fs_err err;
	int c;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		fputs(usage_verify, c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : EXIT_USAGE;
	}
	if (argc - optind != 0) {
		fputs(usage_verify, stderr);
		return EXIT_USAGE;
	}
	if (custody_init() != FS_OK) {
		fprintf(stderr, "fieldsyncd: libsodium did not initialise\n");
		return 1;
	}
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	err = store_chain_walk(store, check_row, &w);
	if (err == FS_OK)
		device_end(&w);
	store_close(store);
	if (err != FS_OK && err != FS_ERR_CANCELLED) {
		fprintf(stderr, "fieldsyncd: cannot read the store: %s\n", fs_strerror(err));
		return 1;
	}
	if (w.broken)
		return 1;
	printf("verified: %ld device(s), %ld signed change(s), %ld refused link(s), %ld unsigned"
	       " change(s) from before signatures, %ld chain restart(s) after a key reset:"
	       " every signature and link holds\n",
	    w.devices, w.signed_changes, w.refused, w.unsigned_changes, w.restarts);
	return 0;
}
