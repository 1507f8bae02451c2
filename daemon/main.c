/*
 * main.c -- fieldsyncd's entry point: options, configuration, and dispatch
 * to the server (the default "serve" command) or the admin commands.
 *
 * Order of precedence: built-in defaults, then the configuration file
 * (-f, or /etc/fieldsyncd/fieldsyncd.conf when it exists), then flags.
 * Exit status: 0 success, 1 runtime error, 2 usage error or bad input
 * (including configuration errors).
 */
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "admin_review.h"
#include "backup.h"
#include "casefile.h"
#include "verify.h"
#include "config.h"
#include "custody.h"
#include "fieldsync.h"
#include "hq_key.h"
#include "log.h"
#include "report.h"
#include "agency.h"
#include "server.h"
#include "store_migrate.h"
#include "server_key.h"
#include "server_tls.h"
#include "store.h"

#define EXIT_USAGE 2

enum {
	OPT_CERT = 256,
	OPT_KEY,
	OPT_INSECURE,
	OPT_PORT_FILE,
	OPT_VERSION,
};

struct flags {
	const char *conf;
	const char *port, *listen, *data_dir, *cert, *key, *port_file;
	bool insecure, check_only;
	int verbose;
};

static void
usage(FILE *fp)
{
	fputs("usage: fieldsyncd [-nv] [-f file] [-d data_dir] [-l address] [-p port]\n"
	      "                  [--cert file] [--key file] [--insecure-http] [--port-file file]\n"
	      "                  [serve]\n",
	    fp);
	admin_usage_lines(fp);
	admin_review_usage_lines(fp);
	agency_usage_lines(fp);
	fputs("       fieldsyncd [-f file] [-d data_dir] report --form FORM [--from DATE] [--to DATE]\n"
	      "                  [--by DIM[,DIM...]] [--format csv|json] [--out FILE]\n",
	    fp);
	backup_usage_lines(fp);
	fputs("       fieldsyncd [-f file] [-d data_dir] verify [--anchor HASH]\n", fp);
	casefile_usage_lines(fp);
	hq_key_usage_lines(fp);
#ifdef FS_HAVE_POSTGRESQL
	store_migrate_usage_lines(fp);
#endif
	fputs("       fieldsyncd --version | --help\n", fp);
}

static void
help(void)
{
	usage(stdout);
	fputs("\nfieldsyncd is the HTTPS sync server of fieldsync.\n\n"
	      "options:\n"
	      "  -f file           configuration file (default " CONFIG_DEFAULT_FILE
	      ", if present)\n"
	      "  -d data_dir       directory of the store (data_dir)\n"
	      "  -l address        numeric IPv4 or IPv6 address to listen on (listen)\n"
	      "  -p port           port, 0 for any free port (port)\n"
	      "  --cert file       TLS certificate chain, PEM (tls_cert)\n"
	      "  --key file        TLS private key, PEM (tls_key)\n"
	      "  --insecure-http   serve plain HTTP; loopback addresses only (insecure_http)\n"
	      "  --port-file file  write the port actually listened on to file\n"
	      "  -n                check the configuration and the TLS files, print\n"
	      "                    \"configuration OK\", exit\n"
	      "  -v                verbose (debug) logging\n"
	      "  --version         print the version and exit\n"
	      "  -h, --help        print this help and exit\n\n"
	      "Each command accepts --help.\n",
	    stdout);
}

/* Returns -1 to go on, or an exit status. */
static int
parse_flags(int argc, char **argv, struct flags *fl)
{
	static const struct option opts[] = {
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"insecure-http", no_argument, NULL, OPT_INSECURE},
	    {"port-file", required_argument, NULL, OPT_PORT_FILE},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	/* '+': stop at the first command word; commands parse their own options. */
	while ((c = getopt_long(argc, argv, "+f:p:l:d:nvh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fl->conf = optarg;
			break;
		case 'p':
			fl->port = optarg;
			break;
		case 'l':
			fl->listen = optarg;
			break;
		case 'd':
			fl->data_dir = optarg;
			break;
		case 'n':
			fl->check_only = true;
			break;
		case 'v':
			fl->verbose++;
			break;
		case OPT_CERT:
			fl->cert = optarg;
			break;
		case OPT_KEY:
			fl->key = optarg;
			break;
		case OPT_INSECURE:
			fl->insecure = true;
			break;
		case OPT_PORT_FILE:
			fl->port_file = optarg;
			break;
		case OPT_VERSION:
			printf("fieldsyncd %s\n", FS_VERSION_STRING);
			return 0;
		case 'h':
			help();
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	return -1;
}

static int
set_path(char *dst, const char *value, const char *flag)
{
	if (value[0] == '\0' || strlen(value) >= CONFIG_PATH_MAX - 64) {
		fprintf(stderr, "fieldsyncd: %s: path is empty or too long\n", flag);
		return -1;
	}
	snprintf(dst, CONFIG_PATH_MAX, "%s", value);
	return 0;
}

/* Builds the configuration: defaults, file, flags.  Returns -1 or status. */
static int
build_config(const struct flags *fl, struct config *cfg)
{
	const char *path = fl->conf;
	char err[1024];
	struct stat st;
	bool io;

	config_defaults(cfg);
	if (path == NULL && stat(CONFIG_DEFAULT_FILE, &st) == 0)
		path = CONFIG_DEFAULT_FILE;
	if (path != NULL && config_load(cfg, path, err, sizeof(err), &io) != 0) {
		fprintf(stderr, "fieldsyncd: %s\n", err);
		return io ? 1 : EXIT_USAGE;
	}
	if (fl->port != NULL && config_parse_port(fl->port, &cfg->port) != 0) {
		fprintf(stderr, "fieldsyncd: -p: must be a number from 0 to 65535\n");
		return EXIT_USAGE;
	}
	if (fl->listen != NULL) {
		if (config_parse_listen(fl->listen) != 0) {
			fprintf(stderr,
			    "fieldsyncd: -l: '%s' is not a numeric IPv4 or IPv6 address\n",
			    fl->listen);
			return EXIT_USAGE;
		}
		snprintf(cfg->listen, sizeof(cfg->listen), "%s", fl->listen);
	}
	if (fl->data_dir != NULL && set_path(cfg->data_dir, fl->data_dir, "-d") != 0)
		return EXIT_USAGE;
	if (fl->cert != NULL && set_path(cfg->tls_cert, fl->cert, "--cert") != 0)
		return EXIT_USAGE;
	if (fl->key != NULL && set_path(cfg->tls_key, fl->key, "--key") != 0)
		return EXIT_USAGE;
	if (fl->insecure)
		cfg->insecure_http = true;
	return -1;
}

static int
serve(const struct config *cfg, const struct flags *fl, int argc, char **argv)
{
	struct server_key key;
	struct store *store;
	char err[512];
	int rc, lock;

	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			help();
			return 0;
		}
		usage(stderr);
		return EXIT_USAGE;
	}
	if (config_check(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldsyncd: %s\n", err);
		return EXIT_USAGE;
	}
	if (fl->check_only) {
		/* Also load the TLS files: a wrong path or key is caught before a restart. */
		struct server_tls tls;
		if (!cfg->insecure_http) {
			if (server_tls_load(&tls, cfg) != 0)
				return 1;
			server_tls_free(&tls);
		}
		printf("configuration OK\n");
		return 0;
	}
	if (geteuid() == 0)
		log_warnx("Running as root; run fieldsyncd as its own user (see the systemd unit)");
	/* Held while serving: "fieldsyncd restore" refuses to run meanwhile. */
	if (backup_lock_shared(cfg->data_dir, &lock) != 0)
		return 1;
	if (store_open_kind(config_store_kind(cfg), config_store_where(cfg), &store) != FS_OK) {
		log_warnx("Failed to open the %s store%s%s", config_store_kind(cfg),
		    cfg->store == CONFIG_STORE_SQLITE ? " in " : "",
		    cfg->store == CONFIG_STORE_SQLITE ? cfg->data_dir : "");
		close(lock);
		return 1;
	}
	if (server_key_load(cfg->data_dir, &key) != 0) {
		store_close(store);
		close(lock);
		return 1;
	}
	rc = server_run(cfg, store, &key, fl->port_file);
	server_key_wipe(&key);
	store_close(store);
	close(lock);
	return rc;
}

int
main(int argc, char **argv)
{
	struct flags fl = {0};
	struct config cfg;
	int rc;

	umask(077);
	/*
	 * SQLite's allocation statistics take a global mutex on every malloc;
	 * the daemon reads none of them, and under load the lock was 7 % of
	 * its samples (docs/BENCHMARKS.md).  Must precede any other SQLite call.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	log_init(0);
	if (custody_init() != FS_OK) { /* libsodium: signatures are checked on push */
		fprintf(stderr, "fieldsyncd: libsodium did not initialise\n");
		return 1;
	}
	if ((rc = parse_flags(argc, argv, &fl)) >= 0)
		return rc;
	log_init(fl.verbose);
	if ((rc = build_config(&fl, &cfg)) >= 0)
		return rc;
	argc -= optind;
	argv += optind;
	if (argc == 0 || strcmp(argv[0], "serve") == 0) {
		static char serve_word[] = "serve";
		char *none[] = {serve_word, NULL};
		return serve(&cfg, &fl, argc == 0 ? 1 : argc, argc == 0 ? none : argv);
	}
	if (strcmp(argv[0], "device") == 0 || strcmp(argv[0], "form") == 0) {
		if (fl.check_only) {
			fprintf(stderr, "fieldsyncd: -n applies to the server only\n");
			return EXIT_USAGE;
		}
		return admin_main(&cfg, argc, argv);
	}
	if (strcmp(argv[0], "audit") == 0 || strcmp(argv[0], "export") == 0) {
		if (fl.check_only) {
			fprintf(stderr, "fieldsyncd: -n applies to the server only\n");
			return EXIT_USAGE;
		}
		return admin_review_main(&cfg, argc, argv);
	}
	if (strcmp(argv[0], "backup") == 0 || strcmp(argv[0], "restore") == 0) {
		if (fl.check_only) {
			fprintf(stderr, "fieldsyncd: -n applies to the server only\n");
			return EXIT_USAGE;
		}
		return backup_main(&cfg, argc, argv);
	}
	if (strcmp(argv[0], "agency") == 0) {
		if (fl.check_only) {
			fprintf(stderr, "fieldsyncd: -n applies to the server only\n");
			return EXIT_USAGE;
		}
		return agency_main(&cfg, argc, argv);
	}
	if (strcmp(argv[0], "report") == 0) {
		if (fl.check_only) {
			fprintf(stderr, "fieldsyncd: -n applies to the server only\n");
			return EXIT_USAGE;
		}
		return report_main(&cfg, argc, argv);
	}
	if (strcmp(argv[0], "casefile") == 0) {
		if (fl.check_only) {
			fprintf(stderr, "fieldsyncd: -n applies to the server only\n");
			return EXIT_USAGE;
		}
		return casefile_main(&cfg, argc, argv);
	}
	if (strcmp(argv[0], "key") == 0) {
		if (fl.check_only) {
			fprintf(stderr, "fieldsyncd: -n applies to the server only\n");
			return EXIT_USAGE;
		}
		return hq_key_main(&cfg, argc, argv);
	}
#ifdef FS_HAVE_POSTGRESQL
	if (strcmp(argv[0], "migrate-store") == 0) {
		if (fl.check_only) {
			fprintf(stderr, "fieldsyncd: -n applies to the server only\n");
			return EXIT_USAGE;
		}
		return store_migrate_main(&cfg, argc, argv);
	}
#endif
	if (strcmp(argv[0], "verify") == 0) {
		if (fl.check_only) {
			fprintf(stderr, "fieldsyncd: -n applies to the server only\n");
			return EXIT_USAGE;
		}
		return verify_main(&cfg, argc, argv);
	}
	fprintf(stderr, "fieldsyncd: unknown command '%.32s'\n", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
