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

#include <sodium.h>

#include "admin_util.h"
#include "custody.h"
#include "store.h"
#include "store_records.h"

#define EXIT_USAGE 2

static const char usage_verify[] =
    "usage: fieldsyncd [-f file] [-d data_dir] verify [--anchor HASH]\n"
    "  Re-checks every signed change's signature and every device's hash chain,\n"
    "  the audit trail's chain, every record's history chain and every anchor;\n"
    "  prints the first broken link and exits 1, or a summary and exits 0.\n"
    "  --anchor HASH  also require an anchor with this hash (as printed by\n"
    "                 'fieldsyncd audit --anchor' and written down then)\n";

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
		if (!custody_verify_any(bin, ch.sig, row->keys)) {
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

/*
 * The history chains (custody.h "history"): the audit trail, then each
 * record's history.  Anchors are audit entries (action "anchor") whose
 * detail is "history<=N digest=HEX": HEX is anchor_digest() over the
 * records' heads among history entries 1..N, so an anchor written down
 * outside pins every record's history up to it, its last entries too.
 */
#define MAX_ANCHORS 4096

struct anchor {
	int64_t upto;
	char digest[CUSTODY_LINK_HEX + 1];
	unsigned char hash[CUSTODY_LINK_LEN]; /* the anchor entry's own hash */
	crypto_generichash_state st; /* running digest, filled as records pass */
};

struct hwalk {
	char scope[65];
	unsigned char last[CUSTODY_LINK_LEN];
	unsigned char head_at[MAX_ANCHORS][CUSTODY_LINK_LEN]; /* per anchor: record's head */
	bool has_at[MAX_ANCHORS];
	struct anchor *anchors;
	size_t nanchors;
	int64_t max_id;
	long audit, entries, records;
	bool broken;
	const char *want_anchor; /* --anchor HEX: must be one of them */
	bool anchor_found;
	bool digest_only; /* anchor_create(): one digest of every head, no checks of anchors */
	unsigned char last_anchor[CUSTODY_LINK_LEN]; /* the newest anchor entry's hash */
};

static void
hbroken(struct hwalk *w, const struct store_history_row *r, const char *what)
{
	w->broken = true;
	if (strcmp(r->scope, "audit") == 0)
		printf("BROKEN: audit entry %lld: %s\n", (long long)r->id, what);
	else if (r->id == 0)
		printf("BROKEN: record %s: %s %lld has no history entry: written behind the"
		       " server's back\n",
		    r->scope, r->kind, (long long)r->ref);
	else
		printf("BROKEN: record %s, history entry %lld (%s %lld): %s\n", r->scope,
		    (long long)r->id, r->kind, (long long)r->ref, what);
}

static void
anchor_feed(crypto_generichash_state *st, const char *record_id, const unsigned char *head)
{
	crypto_generichash_update(st, (const unsigned char *)record_id, strlen(record_id) + 1);
	crypto_generichash_update(st, head, CUSTODY_LINK_LEN);
}

/* A record's walk ended: its head as of each anchor goes into that anchor's digest. */
static void
record_end(struct hwalk *w)
{
	if (w->scope[0] == '\0' || strcmp(w->scope, "audit") == 0)
		return;
	for (size_t i = 0; i < w->nanchors; i++)
		if (w->has_at[i])
			anchor_feed(&w->anchors[i].st, w->scope, w->head_at[i]);
}

static int
check_history(void *arg, const struct store_history_row *r)
{
	struct hwalk *w = arg;
	unsigned char h[CUSTODY_LINK_LEN];

	if (r->hash == NULL && r->id == 0)
		return hbroken(w, r, ""), 1;
	if (strcmp(r->scope, w->scope) != 0) {
		record_end(w);
		snprintf(w->scope, sizeof(w->scope), "%s", r->scope);
		memset(w->last, 0, sizeof(w->last));
		memset(w->has_at, 0, sizeof(w->has_at));
		if (strcmp(r->scope, "audit") != 0)
			w->records++;
	}
	if (!r->ref_found)
		return hbroken(w, r, "the change or event it names is gone: removed"), 1;
	if (r->prev == NULL || r->hash == NULL)
		return hbroken(w, r, "its hash is missing or damaged"), 1;
	if (memcmp(r->prev, w->last, CUSTODY_LINK_LEN) != 0)
		return hbroken(w, r, "does not follow the entry before it: an entry removed or"
				     " reordered"),
		       1;
	custody_history_hash(r->prev, r->kind, r->nitems, r->items, r->lens, h);
	if (memcmp(h, r->hash, CUSTODY_LINK_LEN) != 0)
		return hbroken(w, r, "its content does not match its hash: altered"), 1;
	memcpy(w->last, h, sizeof(h));
	if (strcmp(r->scope, "audit") == 0) {
		w->audit++;
		/* items: at, actor, action, record_id, detail */
		if (r->items[2] != NULL && strcmp(r->items[2], "anchor") == 0)
			memcpy(w->last_anchor, h, sizeof(h));
		if (!w->digest_only && r->items[2] != NULL && strcmp(r->items[2], "anchor") == 0 &&
		    r->items[4] != NULL && w->nanchors < MAX_ANCHORS) {
			struct anchor *a = &w->anchors[w->nanchors];
			long long upto;

			if (sscanf(r->items[4], "history<=%lld digest=%64s", &upto, a->digest) != 2)
				return hbroken(w, r, "an anchor entry that does not parse"), 1;
			a->upto = upto;
			memcpy(a->hash, h, sizeof(h));
			crypto_generichash_init(&a->st, NULL, 0, CUSTODY_LINK_LEN);
			w->nanchors++;
		}
		return 0;
	}
	w->entries++;
	if (r->id > w->max_id)
		w->max_id = r->id;
	for (size_t i = 0; i < w->nanchors; i++) {
		if (r->id <= w->anchors[i].upto) {
			memcpy(w->head_at[i], h, sizeof(h));
			w->has_at[i] = true;
		}
	}
	return 0;
}

/* After the walk: every anchor's digest recomputed; --anchor found. */
static void
anchors_check(struct hwalk *w)
{
	char hex[CUSTODY_LINK_HEX + 1];

	for (size_t i = 0; i < w->nanchors && !w->broken; i++) {
		unsigned char d[CUSTODY_LINK_LEN];

		crypto_generichash_final(&w->anchors[i].st, d, sizeof(d));
		custody_hex(d, sizeof(d), hex);
		if (strcmp(hex, w->anchors[i].digest) != 0) {
			w->broken = true;
			printf("BROKEN: the records' histories up to anchor %zu (history entry %lld)"
			       " are not what the anchor recorded: entries before it were removed"
			       " or altered\n",
			    i + 1, (long long)w->anchors[i].upto);
		}
		custody_hex(w->anchors[i].hash, CUSTODY_LINK_LEN, hex);
		if (w->want_anchor != NULL && strcmp(hex, w->want_anchor) == 0)
			w->anchor_found = true;
	}
}

/* The digest of every record's history head now, and the last entry id. */
static int
anchor_digest(struct store *store, int64_t *ret_upto, char ret_hex[CUSTODY_LINK_HEX + 1])
{
	struct hwalk *w = calloc(1, sizeof(*w));
	unsigned char d[CUSTODY_LINK_LEN];
	struct anchor one;
	fs_err err;

	if (w == NULL)
		return -1;
	memset(&one, 0, sizeof(one));
	one.upto = INT64_MAX;
	crypto_generichash_init(&one.st, NULL, 0, CUSTODY_LINK_LEN);
	w->anchors = &one;
	w->nanchors = 1;
	w->digest_only = true;
	err = store_history_walk(store, check_history, w);
	record_end(w);
	if (err != FS_OK || w->broken) {
		free(w);
		return -1;
	}
	crypto_generichash_final(&one.st, d, sizeof(d));
	custody_hex(d, sizeof(d), ret_hex);
	*ret_upto = w->max_id;
	free(w);
	return 0;
}

/* The hash of the newest anchor entry of the audit trail. */
static int
anchor_last(struct store *store, char ret_hex[CUSTODY_LINK_HEX + 1])
{
	struct hwalk *w = calloc(1, sizeof(*w));
	fs_err err;

	if (w == NULL)
		return -1;
	w->digest_only = true;
	err = store_history_walk(store, check_history, w);
	custody_hex(w->last_anchor, CUSTODY_LINK_LEN, ret_hex);
	free(w);
	return err == FS_OK ? 0 : -1;
}

int
anchor_create(struct store *store, char ret_hash[CUSTODY_LINK_HEX + 1])
{
	char digest[CUSTODY_LINK_HEX + 1], detail[128];
	int64_t upto;

	if (custody_init() != FS_OK || anchor_digest(store, &upto, digest) != 0)
		return -1;
	snprintf(detail, sizeof(detail), "history<=%lld digest=%s", (long long)upto, digest);
	if (store_audit(store, "cli", "anchor", NULL, detail) != FS_OK)
		return -1;
	return anchor_last(store, ret_hash);
}

int
verify_main(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {{"anchor", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct walk w = { .device = "" };
	const char *want = NULL;
	struct hwalk *hw;
	struct store *store;
	fs_err err;
	int c;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'a' && custody_is_hex(optarg, CUSTODY_LINK_HEX)) {
			want = optarg;
			continue;
		}
		if (c == 'a')
			fprintf(stderr, "fieldsyncd: --anchor: expected 64 lower-case hex digits\n");
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
	if ((hw = calloc(1, sizeof(*hw))) == NULL ||
	    (hw->anchors = calloc(MAX_ANCHORS, sizeof(*hw->anchors))) == NULL) {
		if (hw != NULL)
			free(hw);
		store_close(store);
		fprintf(stderr, "fieldsyncd: out of memory\n");
		return 1;
	}
	hw->want_anchor = want;
	err = store_chain_walk(store, check_row, &w);
	if (err == FS_OK)
		device_end(&w);
	if (err == FS_OK && !w.broken) {
		err = store_history_walk(store, check_history, hw);
		if (err == FS_OK) {
			record_end(hw);
			anchors_check(hw);
		}
	}
	store_close(store);
	if (err != FS_OK && err != FS_ERR_CANCELLED) {
		fprintf(stderr, "fieldsyncd: cannot read the store: %s\n", fs_strerror(err));
		free(hw->anchors);
		free(hw);
		return 1;
	}
	if (!w.broken && !hw->broken && want != NULL && !hw->anchor_found) {
		hw->broken = true;
		printf("BROKEN: no anchor of the audit trail has the hash %s: the trail was"
		       " rewritten, or the anchor belongs to another server\n",
		    want);
	}
	if (w.broken || hw->broken) {
		free(hw->anchors);
		free(hw);
		return 1;
	}
	printf("verified: %ld device(s), %ld signed change(s), %ld refused link(s), %ld unsigned"
	       " change(s) from before signatures, %ld chain restart(s) after a key reset;"
	       " %ld audit entries, %ld history entries of %ld record(s), %zu anchor(s)%s:"
	       " every signature and link holds\n",
	    w.devices, w.signed_changes, w.refused, w.unsigned_changes, w.restarts, hw->audit,
	    hw->entries, hw->records, hw->nanchors, want != NULL ? " (the one given among them)" : "");
	free(hw->anchors);
	free(hw);
	return 0;
}
