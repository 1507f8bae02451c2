/*
 * admin_review.c -- `fieldsyncd audit` and `fieldsyncd export`.  See
 * admin_review.h.
 */
#include "admin_review.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_util.h"
#include "config.h"
#include "export.h"
#include "hq_key.h"
#include "review_api.h"
#include "store.h"
#include "store_review.h"
#include "verify.h"

#define EXIT_USAGE 2
#define CHUNK      (64 * 1024)

static const char usage_audit[] =
    "usage: fieldsyncd [-f file] [-d data_dir] audit [--since DATE] [--json]\n"
    "       fieldsyncd [-f file] [-d data_dir] audit --anchor\n"
    "  Prints the audit trail, oldest first: time, actor, action, record, detail.\n"
    "  Entries: device add and revoke, form publish, and from the review API\n"
    "  reveal of sensitive values, review status changes, conflict resolutions\n"
    "  and exports.  Never holds field values or tokens.\n"
    "  --since DATE  only entries at or after DATE (YYYY-MM-DD or\n"
    "                YYYY-MM-DDTHH:MM:SSZ, UTC)\n"
    "  --json        one JSON object per line\n"
    "  --anchor      add an anchor to the trail (a hash of every record's history\n"
    "                now) and print its hash: write it down or publish it daily;\n"
    "                'fieldsyncd verify --anchor HASH' proves nothing before it moved\n";

static const char usage_export[] =
    "usage: fieldsyncd [-f file] [-d data_dir] export --form FORM [--format csv|json]\n"
    "                  [--since DATE] [--out FILE] [--include-sensitive]\n"
    "                  [--unlock] [--passphrase-file FILE]\n"
    "  Writes the records of FORM, one row per record and one column per field of\n"
    "  every published version of the form, streamed.  CSV is RFC 4180 with cells\n"
    "  that a spreadsheet would run as formulas made text.\n"
    "  --format csv|json      default csv\n"
    "  --since DATE           only records updated at or after DATE (YYYY-MM-DD or\n"
    "                         YYYY-MM-DDTHH:MM:SSZ, UTC)\n"
    "  --out FILE             write FILE (mode 0600, replaced only once complete)\n"
    "                         instead of standard output\n"
    "  --include-sensitive    include fields marked sensitive (left out by default);\n"
    "                         sealed values stay sealed (their envelopes) unless:\n"
    "  --unlock               ask the sealing key's passphrase on the terminal and\n"
    "                         write sealed values opened (implies --include-sensitive)\n"
    "  --passphrase-file FILE read the passphrase from FILE (mode 0600; implies\n"
    "                         --unlock)\n"
    "  The export is written to the audit trail (actor \"cli\").\n";

void
admin_review_usage_lines(FILE *fp)
{
	fputs("       fieldsyncd [-f file] [-d data_dir] audit [--since DATE] [--json]\n"
	      "       fieldsyncd [-f file] [-d data_dir] audit --anchor\n"
	      "       fieldsyncd [-f file] [-d data_dir] export --form FORM [--format csv|json]\n"
	      "                  [--since DATE] [--out FILE] [--include-sensitive]\n"
	      "                  [--unlock] [--passphrase-file FILE]\n",
	    fp);
}

static int
print_audit(void *arg, const struct review_audit *a)
{
	bool json = *(bool *)arg;
	cJSON *o;
	char *text;

	if (!json) {
		printf("%-24s %-16s %-15s %-32s %s\n", a->at, a->actor, a->action,
		    a->record_id[0] ? a->record_id : "-", a->detail);
		return 0;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)a->id);
	cJSON_AddStringToObject(o, "at", a->at);
	cJSON_AddStringToObject(o, "actor", a->actor);
	cJSON_AddStringToObject(o, "action", a->action);
	if (a->record_id[0] != '\0')
		cJSON_AddStringToObject(o, "record", a->record_id);
	cJSON_AddStringToObject(o, "detail", a->detail);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return 1;
	puts(text);
	cJSON_free(text);
	return 0;
}

static int
cmd_audit(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"since", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"anchor", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *since = NULL;
	char bound[32];
	struct store *store;
	bool json = false, anchor = false;
	int c, rc;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			since = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'a':
			anchor = true;
			break;
		case 'h':
			fputs(usage_audit, stdout);
			return 0;
		default:
			fputs(usage_audit, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || (anchor && (json || since != NULL))) {
		fputs(usage_audit, stderr);
		return EXIT_USAGE;
	}
	if (anchor) {
		char hash[65];

		if (admin_open_store(cfg, &store) != 0)
			return 1;
		rc = anchor_create(store, hash);
		store_close(store);
		if (rc != 0) {
			fprintf(stderr, "fieldsyncd: no anchor made: the history does not verify"
					" (run 'fieldsyncd verify') or the store failed\n");
			return 1;
		}
		printf("anchor %s\n", hash);
		return 0;
	}
	if (since != NULL && review_date_bound(since, false, bound) != 0) {
		fprintf(
		    stderr, "fieldsyncd: --since: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ\n");
		return EXIT_USAGE;
	}
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	if (!json)
		printf("%-24s %-16s %-15s %-32s %s\n", "AT", "ACTOR", "ACTION", "RECORD", "DETAIL");
	rc = store_audit_list(store, since ? bound : NULL, print_audit, &json) == FS_OK ? 0 : 1;
	if (rc != 0)
		fprintf(stderr, "fieldsyncd: cannot read the audit trail\n");
	store_close(store);
	return rc;
}

/* Streams x to fp.  Returns 0, or -1 (message printed). */
static int
write_export(struct export *x, FILE *fp, const char *what)
{
	char *buf = malloc(CHUNK);
	ssize_t n;
	int rc = 0;

	if (buf == NULL) {
		fprintf(stderr, "fieldsyncd: out of memory\n");
		return -1;
	}
	while ((n = export_read(x, buf, CHUNK)) > 0) {
		if (fwrite(buf, 1, (size_t)n, fp) != (size_t)n) {
			fprintf(stderr, "fieldsyncd: cannot write %s: %s\n", what, strerror(errno));
			rc = -1;
			break;
		}
	}
	if (n < 0) {
		fprintf(stderr, "fieldsyncd: the export failed (store error)\n");
		rc = -1;
	}
	if (rc == 0 && fflush(fp) != 0) {
		fprintf(stderr, "fieldsyncd: cannot write %s: %s\n", what, strerror(errno));
		rc = -1;
	}
	free(buf);
	return rc;
}

struct export_opts {
	const char *form, *format, *since, *out, *passfile;
	bool sensitive, unlock;
};

static int
export_args(int argc, char **argv, struct export_opts *o)
{
	static const struct option opts[] = {
	    {"form", required_argument, NULL, 'F'},
	    {"format", required_argument, NULL, 'T'},
	    {"since", required_argument, NULL, 's'},
	    {"out", required_argument, NULL, 'o'},
	    {"include-sensitive", no_argument, NULL, 'S'},
	    {"unlock", no_argument, NULL, 'U'},
	    {"passphrase-file", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'F':
			o->form = optarg;
			break;
		case 'T':
			o->format = optarg;
			break;
		case 's':
			o->since = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'S':
			o->sensitive = true;
			break;
		case 'P':
			o->passfile = optarg;
			/* FALLTHROUGH */
		case 'U':
			o->unlock = o->sensitive = true;
			break;
		case 'h':
			fputs(usage_export, stdout);
			return 0;
		default:
			fputs(usage_export, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || o->form == NULL) {
		fputs(usage_export, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(o->format, "csv") != 0 && strcmp(o->format, "json") != 0) {
		fprintf(stderr, "fieldsyncd: --format must be csv or json\n");
		return EXIT_USAGE;
	}
	return -1;
}

static fs_err
open_with_keys(void *arg, cJSON *tree, int *ret_opened, int *ret_closed)
{
	return hq_open_tree(arg, tree, ret_opened, ret_closed);
}

static int
cmd_export(const struct config *cfg, int argc, char **argv)
{
	struct export_opts o = {.format = "csv"};
	struct review_filter f = {.conflicts = -1, .deleted = -1};
	char bound[32], tmp[CONFIG_PATH_MAX + 16], detail[512];
	struct store *store = NULL;
	struct export *x = NULL;
	struct hq_unlocked *keys = NULL;
	char ids[256], extra[300];
	FILE *fp = stdout;
	fs_err err;
	int rc;

	if ((rc = export_args(argc, argv, &o)) >= 0)
		return rc;
	if (o.since != NULL && review_date_bound(o.since, false, bound) != 0) {
		fprintf(
		    stderr, "fieldsyncd: --since: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ\n");
		return EXIT_USAGE;
	}
	f.form = o.form;
	f.from = o.since != NULL ? bound : NULL;
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	rc = 1;
	if (o.unlock && hq_unlock_cli(store, o.passfile, "export", NULL, &keys) != 0)
		goto out;
	err = export_open(
	    store, &f, strcmp(o.format, "json") == 0 ? EXPORT_JSON : EXPORT_CSV, o.sensitive, &x);
	if (err == FS_ERR_NOTFOUND) {
		fprintf(stderr, "fieldsyncd: form '%.64s' is not published\n", o.form);
		rc = EXIT_USAGE;
		goto out;
	}
	if (err != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot start the export\n");
		goto out;
	}
	if (keys != NULL) {
		export_set_opener(x, open_with_keys, keys);
		hq_unlocked_ids(keys, ids, sizeof(ids));
	}
	snprintf(extra, sizeof(extra), "%s%s%s", o.out != NULL ? "to=file" : "to=stdout",
	    keys != NULL ? " unlocked=" : "", keys != NULL ? ids : "");
	if (export_audit_detail(store, &f, o.format, o.sensitive, extra, detail, sizeof(detail)) !=
		FS_OK ||
	    store_audit(store, "cli", "review.export", NULL, detail) != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot write the audit entry; nothing exported\n");
		goto out;
	}
	if (o.out != NULL) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", o.out);
		if ((fp = fopen(tmp, "w")) == NULL) {
			fprintf(
			    stderr, "fieldsyncd: cannot create '%s': %s\n", tmp, strerror(errno));
			goto out;
		}
	}
	if (write_export(x, fp, o.out != NULL ? o.out : "standard output") == 0)
		rc = 0;
	if (o.out != NULL) {
		if (fclose(fp) != 0)
			rc = 1;
		if (rc == 0 && rename(tmp, o.out) != 0) {
			fprintf(
			    stderr, "fieldsyncd: cannot write '%s': %s\n", o.out, strerror(errno));
			rc = 1;
		}
		if (rc != 0)
			unlink(tmp);
	}
	if (rc == 0)
		fprintf(stderr, "fieldsyncd: exported %lld records of form '%s'\n",
		    (long long)export_count(x), o.form);
	if (rc == 0 && keys != NULL) {
		int64_t opened, still;

		export_sealed_counts(x, &opened, &still);
		fprintf(stderr, "fieldsyncd: %lld sealed values opened", (long long)opened);
		if (still > 0)
			fprintf(stderr, ", %lld left sealed (a key this passphrase does not open)",
			    (long long)still);
		fputc('\n', stderr);
	}
out:
	export_free(x);
	hq_unlocked_free(keys);
	store_close(store);
	return rc;
}

int
admin_review_main(const struct config *cfg, int argc, char **argv)
{
	if (strcmp(argv[0], "audit") == 0)
		return cmd_audit(cfg, argc, argv);
	return cmd_export(cfg, argc, argv);
}
