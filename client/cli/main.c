/*
 * main.c -- fieldsync: record screening forms offline and sync them.
 *
 * This file holds option parsing common to every command and the dispatch;
 * each command lives in its own cmd_*.c file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: fieldsync [--db PATH] COMMAND [ARGS]\n"
	    "\n"
	    "Records screening forms offline in a device store and syncs them with\n"
	    "a fieldsyncd server.\n"
	    "\n"
	    "Commands:\n"
	    "  init --device NAME       create the device store (--encrypt: encrypted)\n"
	    "  unlock                   check the PIN or key file of an encrypted store\n"
	    "  encrypt                  encrypt a plain store with a new PIN or key file\n"
	    "  forms import FILE        import a form definition\n"
	    "  forms list               list the forms on this device\n"
	    "  record new FORM ...      record a new form (prints its id)\n"
	    "  record edit ID ...       change fields of a record\n"
	    "  record delete ID         delete a record\n"
	    "  record show ID           print a record as JSON\n"
	    "  record list [--form F]   list records\n"
	    "  status                   pending changes, last sync\n"
	    "  sync --server URL ...    push and pull changes\n"
	    "  verify-bundle DIR        check a case file offline (no store needed)\n"
	    "\n"
	    "Options:\n"
	    "  --db PATH   device store (default: $FIELDSYNC_DB, else ./fieldsync.db)\n"
	    "  --key-file FILE  the PIN or passphrase of an encrypted store, first line\n"
	    "              of FILE (mode 0600; default: $FIELDSYNC_KEY_FILE, else asked\n"
	    "              on the terminal)\n"
	    "  --version   print the version\n"
	    "  -h, --help  this help; COMMAND --help for a command's help\n"
	    "\n"
	    "Exit status: 0 success, 1 failure, 2 bad input (nothing was written).\n");
}

bool
cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int
cli_fail(struct cli *cli, fs_err err)
{
	const char *msg = cli != NULL ? fs_errmsg(cli->client) : "";

	fprintf(stderr, "fieldsync: %s\n", msg[0] != '\0' ? msg : fs_strerror(err));
	switch (err) {
	case FS_ERR_INVALID:
	case FS_ERR_JSON:
	case FS_ERR_FORM:
	case FS_ERR_MISUSE:
	case FS_ERR_NOTFOUND:
	case FS_ERR_DELETED:
	case FS_ERR_EXISTS:
	case FS_ERR_NOT_INIT:
	case FS_ERR_TOOBIG:
		return EXIT_USAGE;
	default:
		return EXIT_FAILURE;
	}
}

bool
cli_parse_int(const char *s, long long lo, long long hi, long long *ret)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v < lo || v > hi)
		return false;
	*ret = v;
	return true;
}

int
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("fieldsync: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

int
cli_open(struct cli *cli)
{
	fs_err err;

	struct stat sb;

	bool encrypted = false, exists;

	if (cli->client != NULL)
		return 0;
	exists = stat(cli->db_path, &sb) == 0 && sb.st_size > 0;
	/* Only init creates a store: a mistyped --db must not make an empty one. */
	if (!cli->create && !exists) {
		fprintf(stderr, "fieldsync: no device store at '%s' (run 'fieldsync init' first)\n",
		    cli->db_path);
		return EXIT_USAGE;
	}
	/* An encrypted store (issue 17): opened with its PIN (cli_key.c). */
	if (exists && fs_store_encrypted(cli->db_path, &encrypted) == FS_OK && encrypted)
		return cli_open_encrypted(cli, false);
	if (!exists && (cli->encrypt || cli_key_given(cli)))
		return cli_open_encrypted(cli, true);
	if (exists && cli->key_file != NULL) {
		fprintf(stderr, "fieldsync: store '%s' is not encrypted: --key-file is for an"
				" encrypted store ('fieldsync encrypt' encrypts this one)\n",
		    cli->db_path);
		return EXIT_USAGE;
	}
	if ((err = fs_open(cli->db_path, &cli->client)) != FS_OK) {
		fprintf(stderr, "fieldsync: cannot open store '%s': %s\n", cli->db_path,
		    fs_strerror(err));
		return EXIT_FAILURE;
	}
	return 0;
}

char *
cli_read_file(const char *path, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 4096, len = 0, n;
	char *buf, *grown;

	if (f == NULL) {
		fprintf(stderr, "fieldsync: cannot read '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(cap)) == NULL)
		goto fail;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			if (cap >= 16u << 20) {
				fprintf(stderr, "fieldsync: '%s' is larger than 16 MiB\n", path);
				goto fail;
			}
			if ((grown = realloc(buf, cap * 2)) == NULL)
				goto fail;
			buf = grown;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "fieldsync: cannot read '%s': %s\n", path, strerror(errno));
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	buf[len] = '\0';
	*ret_len = len;
	return buf;
fail:
	free(buf);
	if (f != stdin)
		fclose(f);
	return NULL;
}

static const struct {
	const char *name;
	int (*run)(struct cli *, int, char **);
} commands[] = {
	{ "init", cmd_init },
	{ "forms", cmd_forms },
	{ "record", cmd_record },
	{ "status", cmd_status },
	{ "sync", cmd_sync },
	{ "verify-bundle", cmd_verify_bundle },
	{ "unlock", cmd_unlock },
	{ "encrypt", cmd_encrypt },
};

int
main(int argc, char **argv)
{
	struct cli cli = { .db_path = getenv("FIELDSYNC_DB"), .key_file = NULL, .client = NULL };
	int i, status;

	if (cli.db_path == NULL || cli.db_path[0] == '\0')
		cli.db_path = "fieldsync.db";
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (cli_is_help(argv[i])) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("fieldsync %s\n", FS_VERSION_STRING);
			return 0;
		} else if (strcmp(argv[i], "--key-file") == 0 && i + 1 < argc) {
			cli.key_file = argv[++i];
		} else if (strncmp(argv[i], "--key-file=", 11) == 0) {
			cli.key_file = argv[i] + 11;
		} else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
			cli.db_path = argv[++i];
		} else if (strncmp(argv[i], "--db=", 5) == 0) {
			cli.db_path = argv[i] + 5;
		} else {
			return cli_usage_error("unknown option '%s' (see fieldsync --help)", argv[i]);
		}
	}
	if (i == argc)
		return cli_usage_error("no command given (see fieldsync --help)");
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(argv[i], commands[k].name) == 0) {
			status = commands[k].run(&cli, argc - i, argv + i);
			fs_close(cli.client);
			return status;
		}
	}
	return cli_usage_error("unknown command '%s' (see fieldsync --help)", argv[i]);
}
