/*
 * admin.c -- device and form administration commands.  See admin.h.
 *
 * Each subcommand parses its own options with getopt_long(), so that
 * "--help" works at every level and the usage text printed is the one the
 * parser implements.
 */
#include "admin.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_util.h"
#include "auth.h"
#include "config.h"
#include "fieldsync.h"
#include "store.h"

#define EXIT_USAGE    2
#define FORM_FILE_MAX (1024 * 1024)

static const char usage_device_add[] =
    "usage: fieldsyncd [-f file] [-d data_dir] device add --name NAME --role ROLE --team TEAM\n"
    "                  [--team TEAM2 ...] [--all-teams]\n"
    "  Adds a device and prints its token once, on stdout, as 'token: <64 hex digits>'.\n"
    "  ROLE is field, reviewer or admin.  NAME and TEAM: 1-64 characters from\n"
    "  A-Z a-z 0-9 . _ - (not starting with . or -).\n"
    "  A field device or an admin has one team.  A reviewer sees the records of\n"
    "  the teams given (up to 16; the first is its own), or of every team with\n"
    "  --all-teams; 'device teams' changes that later.\n";
static const char usage_device_list[] =
    "usage: fieldsyncd [-f file] [-d data_dir] device list\n"
    "  Lists devices: name, role, team, bound device id, revoked, created, and\n"
    "  the teams a reviewer sees.\n";
static const char usage_device_revoke[] =
    "usage: fieldsyncd [-f file] [-d data_dir] device revoke NAME [--wipe]\n"
    "  Revokes a device; its token stops working at once.\n"
    "  --wipe  also asks the device to erase its store (and its key file) at its\n"
    "          next contact; it confirms, and the confirmation is audited\n"
    "          (device.wipe_confirmed; 'device list' shows wipe pending/done)\n";
static const char usage_device_reset_key[] =
    "usage: fieldsyncd [-f file] [-d data_dir] device reset-key NAME\n"
    "  Forgets the device's signing key and chain of custody: its next signed\n"
    "  push registers a new key and starts a new chain.  The old keys are kept,\n"
    "  so 'fieldsyncd verify' still checks what they signed.  Audited.\n";
static const char usage_device_teams[] =
    "usage: fieldsyncd [-f file] [-d data_dir] device teams NAME --team TEAM [--team TEAM2 ...]\n"
    "       fieldsyncd [-f file] [-d data_dir] device teams NAME --all-teams\n"
    "  Sets the teams whose records a reviewer sees (lists, records, reveals,\n"
    "  status, resolutions, exports); its token sees the new set at its next\n"
    "  request.  Audited.\n";
static const char usage_form_publish[] =
    "usage: fieldsyncd [-f file] [-d data_dir] form publish FILE\n"
    "  Checks and publishes a form definition (schema/FORMS.md).\n";
static const char usage_form_list[] = "usage: fieldsyncd [-f file] [-d data_dir] form list\n"
                                      "  Lists published form versions.\n";

void
admin_usage_lines(FILE *fp)
{
	fputs("       fieldsyncd [-f file] [-d data_dir] device add --name NAME --role ROLE "
	      "--team TEAM [--team TEAM2 ...] [--all-teams]\n"
	      "       fieldsyncd [-f file] [-d data_dir] device list\n"
	      "       fieldsyncd [-f file] [-d data_dir] device revoke NAME [--wipe]\n"
	      "       fieldsyncd [-f file] [-d data_dir] device reset-key NAME\n"
	      "       fieldsyncd [-f file] [-d data_dir] device teams NAME --team TEAM [--team TEAM2 ...]\n"
	      "       fieldsyncd [-f file] [-d data_dir] device teams NAME --all-teams\n"
	      "       fieldsyncd [-f file] [-d data_dir] form publish FILE\n"
	      "       fieldsyncd [-f file] [-d data_dir] form list\n",
	    fp);
}

/*
 * Parses a subcommand that takes only --help and npos positional
 * arguments.  Returns -1 to go on, or an exit status.
 */
static int
simple_args(int argc, char **argv, const char *usage, int npos)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (argc - optind != npos) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	return -1;
}

static int
device_add(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"role", required_argument, NULL, 'r'},
	    {"team", required_argument, NULL, 't'},
	    {"all-teams", no_argument, NULL, 'A'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *name = NULL, *role = NULL, *team = NULL, *teams[AUTH_TEAMS_MAX + 1];
	char token[AUTH_TOKEN_LEN + 1], detail[256 + AUTH_TEAMS_TEXT_MAX];
	char review_teams[AUTH_TEAMS_TEXT_MAX + 1];
	size_t nteams = 0;
	bool all_teams = false;
	unsigned char hash[AUTH_HASH_LEN];
	struct store *store;
	fs_err err;
	int c, rc = 1;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'r':
			role = optarg;
			break;
		case 't':
			if (nteams == AUTH_TEAMS_MAX) {
				fprintf(stderr, "fieldsyncd: at most %d teams\n", AUTH_TEAMS_MAX);
				return EXIT_USAGE;
			}
			if (nteams == 0)
				team = optarg;
			teams[nteams++] = optarg;
			break;
		case 'A':
			all_teams = true;
			break;
		case 'h':
			fputs(usage_device_add, stdout);
			return 0;
		default:
			fputs(usage_device_add, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || name == NULL || role == NULL || team == NULL) {
		fputs(usage_device_add, stderr);
		return EXIT_USAGE;
	}
	if (!auth_valid_name(name) || !auth_valid_name(team)) {
		fprintf(stderr, "fieldsyncd: invalid %s name\n%s",
		    auth_valid_name(name) ? "team" : "device", usage_device_add);
		return EXIT_USAGE;
	}
	if (!auth_valid_role(role)) {
		fprintf(stderr, "fieldsyncd: role must be field, reviewer or admin\n");
		return EXIT_USAGE;
	}
	if (strcmp(role, "reviewer") != 0 && (nteams > 1 || all_teams)) {
		fprintf(stderr, "fieldsyncd: a %s device belongs to one team; several teams and"
		                " --all-teams are for reviewers\n", role);
		return EXIT_USAGE;
	}
	if (strcmp(role, "reviewer") == 0 && !all_teams &&
	    auth_teams_text(teams, nteams, review_teams) != FS_OK) {
		fprintf(stderr, "fieldsyncd: invalid or repeated team name\n%s", usage_device_add);
		return EXIT_USAGE;
	}
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	if ((err = auth_token_new(token, hash)) != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot make a token (random source failed)\n");
		goto out;
	}
	err = store_device_add(store, name, role, team,
	    strcmp(role, "reviewer") == 0 && !all_teams ? review_teams : NULL, hash, NULL);
	if (err == FS_ERR_EXISTS) {
		fprintf(stderr, "fieldsyncd: a device called '%s' already exists\n", name);
		rc = EXIT_USAGE;
		goto out;
	}
	if (err != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot add the device\n");
		goto out;
	}
	snprintf(detail, sizeof(detail), "name=%s role=%s team=%s%s%s", name, role, team,
	    strcmp(role, "reviewer") == 0 ? " sees=" : "",
	    strcmp(role, "reviewer") != 0 ? "" : all_teams ? "all" : review_teams);
	if (store_audit(store, "cli", "device.add", NULL, detail) != FS_OK)
		fprintf(stderr, "fieldsyncd: could not write the audit entry, ignoring\n");
	printf("token: %s\n", token);
	fflush(stdout);
	fprintf(stderr,
	    "fieldsyncd: device '%s' added (role %s, team %s)\n"
	    "fieldsyncd: warning: the token is shown only this once; store it now. "
	    "It cannot be shown again, only revoked and replaced.\n",
	    name, role, team);
	rc = 0;
out:
	memset(token, 0, sizeof(token));
	store_close(store);
	return rc;
}

static int
print_device(void *arg, const struct store_device *d)
{
	(void)arg;
	printf("%-24s %-8s %-16s %-16s %-7s %-20s %s\n", d->name, d->role, d->team,
	    d->hlc_device[0] ? d->hlc_device : "-",
	    !d->revoked                            ? "no"
	    : strcmp(d->wipe, "pending") == 0      ? "wipe"
	    : strcmp(d->wipe, "done") == 0         ? "wiped"
						   : "yes",
	    d->created_at,
	    strcmp(d->role, "reviewer") != 0 ? "-"
	    : d->review_teams == NULL        ? "all"
	                                     : d->review_teams);
	return 0;
}

static int
device_list(const struct config *cfg, int argc, char **argv)
{
	struct store *store;
	int rc;

	if ((rc = simple_args(argc, argv, usage_device_list, 0)) >= 0)
		return rc;
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	printf("%-24s %-8s %-16s %-16s %-7s %-20s %s\n", "NAME", "ROLE", "TEAM", "DEVICE ID",
	    "REVOKED", "CREATED", "SEES");
	rc = store_device_list(store, print_device, NULL) == FS_OK ? 0 : 1;
	if (rc != 0)
		fprintf(stderr, "fieldsyncd: cannot list devices\n");
	store_close(store);
	return rc;
}

static int
device_revoke(const struct config *cfg, int argc, char **argv)
{
	struct store *store;
	const char *name;
	char detail[128];
	fs_err err;
	int rc;

	static const struct option opts[] = {{"wipe", no_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	bool wipe = false;
	int c;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_device_revoke, stdout);
			return 0;
		}
		if (c != 'w') {
			fputs(usage_device_revoke, stderr);
			return EXIT_USAGE;
		}
		wipe = true;
	}
	if (argc - optind != 1) {
		fputs(usage_device_revoke, stderr);
		return EXIT_USAGE;
	}
	name = argv[optind];
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	err = store_device_revoke(store, name, wipe);
	if (err == FS_OK) {
		snprintf(detail, sizeof(detail), "name=%.64s%s", name, wipe ? " wipe=asked" : "");
		if (store_audit(store, "cli", "device.revoke", NULL, detail) != FS_OK)
			fprintf(stderr, "fieldsyncd: could not write the audit entry, ignoring\n");
		printf("device '%s' revoked%s\n", name,
		    wipe ? "; it erases its store at its next contact" : "");
		rc = 0;
	} else if (err == FS_ERR_NOTFOUND) {
		fprintf(stderr, "fieldsyncd: no device called '%.64s'\n", name);
		rc = EXIT_USAGE;
	} else {
		fprintf(stderr, "fieldsyncd: cannot revoke the device\n");
		rc = 1;
	}
	store_close(store);
	return rc;
}

static int
device_reset_key(const struct config *cfg, int argc, char **argv)
{
	struct store *store;
	char detail[96];
	const char *name;
	fs_err err;
	int rc;

	if ((rc = simple_args(argc, argv, usage_device_reset_key, 1)) >= 0)
		return rc;
	name = argv[optind];
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	err = store_device_key_reset(store, name);
	if (err == FS_OK) {
		snprintf(detail, sizeof(detail), "name=%.64s", name);
		if (store_audit(store, "cli", "device.reset_key", NULL, detail) != FS_OK)
			fprintf(stderr, "fieldsyncd: could not write the audit entry, ignoring\n");
		printf("device '%s': signing key reset; its next signed push registers a new one\n",
		    name);
		rc = 0;
	} else if (err == FS_ERR_NOTFOUND) {
		fprintf(stderr, "fieldsyncd: no device called '%.64s'\n", name);
		rc = EXIT_USAGE;
	} else {
		fprintf(stderr, "fieldsyncd: cannot reset the device's key\n");
		rc = 1;
	}
	store_close(store);
	return rc;
}

static int
device_teams(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"team", required_argument, NULL, 't'},
	    {"all-teams", no_argument, NULL, 'A'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *teams[AUTH_TEAMS_MAX + 1], *name;
	char text[AUTH_TEAMS_TEXT_MAX + 1], detail[96 + AUTH_TEAMS_TEXT_MAX];
	size_t nteams = 0;
	bool all_teams = false;
	struct store *store;
	fs_err err;
	int c, rc;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (nteams == AUTH_TEAMS_MAX) {
				fprintf(stderr, "fieldsyncd: at most %d teams\n", AUTH_TEAMS_MAX);
				return EXIT_USAGE;
			}
			teams[nteams++] = optarg;
			break;
		case 'A':
			all_teams = true;
			break;
		case 'h':
			fputs(usage_device_teams, stdout);
			return 0;
		default:
			fputs(usage_device_teams, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || (nteams > 0) == all_teams) {
		fputs(usage_device_teams, stderr);
		return EXIT_USAGE;
	}
	name = argv[optind];
	if (!all_teams && auth_teams_text(teams, nteams, text) != FS_OK) {
		fprintf(stderr, "fieldsyncd: invalid or repeated team name\n%s", usage_device_teams);
		return EXIT_USAGE;
	}
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	err = store_device_set_teams(store, name, all_teams ? NULL : text);
	if (err == FS_OK) {
		snprintf(detail, sizeof(detail), "name=%.64s sees=%s", name, all_teams ? "all" : text);
		if (store_audit(store, "cli", "device.teams", NULL, detail) != FS_OK)
			fprintf(stderr, "fieldsyncd: could not write the audit entry, ignoring\n");
		printf("reviewer '%s' now sees %s\n", name, all_teams ? "every team" : text);
		rc = 0;
	} else if (err == FS_ERR_NOTFOUND || err == FS_ERR_INVALID) {
		fprintf(stderr, "fieldsyncd: no reviewer called '%.64s'\n", name);
		rc = EXIT_USAGE;
	} else {
		fprintf(stderr, "fieldsyncd: cannot change the reviewer's teams\n");
		rc = 1;
	}
	store_close(store);
	return rc;
}

static char *
read_file(const char *path, size_t *ret_len)
{
	FILE *fp;
	char *buf;
	size_t n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	if ((buf = malloc(FORM_FILE_MAX + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	n = fread(buf, 1, FORM_FILE_MAX + 1, fp);
	if (ferror(fp) || n > FORM_FILE_MAX) {
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	buf[n] = '\0';
	*ret_len = n;
	return buf;
}

static int
form_publish(const struct config *cfg, int argc, char **argv)
{
	char msg[512] = "", id[65], detail[128];
	struct store *store;
	const char *path;
	int64_t version;
	size_t len;
	char *json;
	bool fresh;
	fs_err err;
	int rc;

	if ((rc = simple_args(argc, argv, usage_form_publish, 1)) >= 0)
		return rc;
	path = argv[optind];
	if ((json = read_file(path, &len)) == NULL) {
		fprintf(stderr,
		    "fieldsyncd: cannot read '%s' (missing, unreadable or over %d bytes)\n", path,
		    FORM_FILE_MAX);
		return EXIT_USAGE;
	}
	if (admin_open_store(cfg, &store) != 0) {
		free(json);
		return 1;
	}
	err = store_form_publish(store, json, len, msg, sizeof(msg), id, &version, &fresh);
	if (err == FS_OK && fresh) {
		snprintf(detail, sizeof(detail), "form=%s version=%lld", id, (long long)version);
		if (store_audit(store, "cli", "form.publish", NULL, detail) != FS_OK)
			fprintf(stderr, "fieldsyncd: could not write the audit entry, ignoring\n");
		printf("published form '%s' version %lld\n", id, (long long)version);
		rc = 0;
	} else if (err == FS_OK) {
		printf("form '%s' version %lld was already published, unchanged\n", id,
		    (long long)version);
		rc = 0;
	} else if (err == FS_ERR_FORM || err == FS_ERR_JSON || err == FS_ERR_EXISTS) {
		fprintf(
		    stderr, "fieldsyncd: %s: %s\n", path, msg[0] ? msg : "invalid form definition");
		rc = EXIT_USAGE;
	} else {
		fprintf(stderr, "fieldsyncd: cannot publish '%s'\n", path);
		rc = 1;
	}
	free(json);
	store_close(store);
	return rc;
}

static int
print_form(void *arg, const struct store_form *f)
{
	const cJSON *title = NULL;
	cJSON *root;

	(void)arg;
	root = cJSON_ParseWithLengthOpts(f->definition, strlen(f->definition), NULL, 0);
	if (root != NULL)
		title = cJSON_GetObjectItemCaseSensitive(root, "title");
	printf("%-24s %7lld  %-24s  %s\n", f->id, (long long)f->version, f->published_at,
	    cJSON_IsString(title) ? title->valuestring : "-");
	cJSON_Delete(root);
	return 0;
}

static int
form_list(const struct config *cfg, int argc, char **argv)
{
	struct store *store;
	int rc;

	if ((rc = simple_args(argc, argv, usage_form_list, 0)) >= 0)
		return rc;
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	printf("%-24s %7s  %-24s  %s\n", "ID", "VERSION", "PUBLISHED", "TITLE");
	rc = store_form_list(store, print_form, NULL) == FS_OK ? 0 : 1;
	if (rc != 0)
		fprintf(stderr, "fieldsyncd: cannot list forms\n");
	store_close(store);
	return rc;
}

struct subcommand {
	const char *group, *name;
	int (*run)(const struct config *cfg, int argc, char **argv);
};

static const struct subcommand subcommands[] = {
    {"device", "add", device_add},
    {"device", "list", device_list},
    {"device", "revoke", device_revoke},
    {"device", "reset-key", device_reset_key},
    {"device", "teams", device_teams},
    {"form", "publish", form_publish},
    {"form", "list", form_list},
};

static void
group_usage(FILE *fp, const char *group)
{
	fprintf(
	    fp, "usage: fieldsyncd [-f file] [-d data_dir] %s COMMAND [options]\ncommands:", group);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(subcommands[i].group, group) == 0)
			fprintf(fp, " %s", subcommands[i].name);
	fprintf(fp, "\n'fieldsyncd %s COMMAND --help' describes one command.\n", group);
}

int
admin_main(const struct config *cfg, int argc, char **argv)
{
	const char *group = argv[0];

	if (argc < 2) {
		group_usage(stderr, group);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		group_usage(stdout, group);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(subcommands[i].group, group) == 0 &&
		    strcmp(subcommands[i].name, argv[1]) == 0)
			return subcommands[i].run(cfg, argc - 1, argv + 1);
	}
	fprintf(stderr, "fieldsyncd: unknown command '%s %.32s'\n", group, argv[1]);
	group_usage(stderr, group);
	return EXIT_USAGE;
}
