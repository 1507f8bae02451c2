/*
 * agency.c -- agencies and the teams they own.  See agency.h.
 */
#include "agency.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin_util.h"
#include "store.h"
#include "store_agency.h"

#define EXIT_USAGE 2
#define AGENCY_TITLE_MAX 120

static const char usage_agency[] =
    "usage: fieldsyncd [-f file] [-d data_dir] agency add NAME --title TITLE [--team TEAM ...]\n"
    "       fieldsyncd [-f file] [-d data_dir] agency teams NAME --team TEAM [--team TEAM ...]\n"
    "       fieldsyncd [-f file] [-d data_dir] agency list [--json]\n"
    "  An agency (Labour Department, Human Services, Police, ...) owns teams;\n"
    "  devices and reviewers belong to a team ('device add --team'), so to its\n"
    "  agency.  A team belongs to one agency at most.  'agency teams' replaces\n"
    "  the teams an agency owns.  A reviewer sees its teams' records and the\n"
    "  records referred to its agency (POST /v1/review/records/ID/refer).\n";

void
agency_usage_lines(FILE *fp)
{
	fputs("       fieldsyncd [-f file] [-d data_dir] agency add NAME --title TITLE [--team TEAM ...]\n"
	      "       fieldsyncd [-f file] [-d data_dir] agency teams NAME --team TEAM [--team TEAM ...]\n"
	      "       fieldsyncd [-f file] [-d data_dir] agency list [--json]\n",
	    fp);
}

/* Does the agency's JSON array of teams hold team? */
static bool
teams_hold(const char *teams, const char *team)
{
	cJSON *list = cJSON_Parse(teams), *t;
	bool hit = false;

	cJSON_ArrayForEach(t, list)
	{
		if (cJSON_IsString(t) && strcmp(t->valuestring, team) == 0)
			hit = true;
	}
	cJSON_Delete(list);
	return hit;
}

struct find {
	const char *team; /* looked up by team, or */
	const char *name; /* by name */
	const char *skip; /* an agency left out of the team lookup */
	char *ret;
	size_t size;
	bool found;
};

static int
find_one(void *arg, const struct store_agency *a)
{
	struct find *f = arg;

	if (f->name != NULL && strcmp(a->name, f->name) == 0) {
		if (f->ret != NULL)
			snprintf(f->ret, f->size, "%s", a->title);
		f->found = true;
		return 1;
	}
	if (f->team != NULL && (f->skip == NULL || strcmp(a->name, f->skip) != 0) &&
	    teams_hold(a->teams, f->team)) {
		snprintf(f->ret, f->size, "%s", a->name);
		f->found = true;
		return 1;
	}
	return 0;
}

fs_err
agency_of_team(struct store *store, const char *team, char ret[AUTH_NAME_MAX + 1])
{
	struct find f = { .team = team, .ret = ret, .size = AUTH_NAME_MAX + 1 };

	ret[0] = '\0';
	if (team == NULL || team[0] == '\0')
		return FS_OK;
	return store_agency_list(store, find_one, &f);
}

fs_err
agency_find(struct store *store, const char *name, char *title, size_t size)
{
	struct find f = { .name = name, .ret = title, .size = size };
	fs_err err;

	if ((err = store_agency_list(store, find_one, &f)) != FS_OK)
		return err;
	return f.found ? FS_OK : FS_ERR_NOTFOUND;
}

/* Checks that no other agency owns one of teams; prints the clash. */
static int
teams_free(struct store *store, const char *agency, const char *const *teams, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char owner[AUTH_NAME_MAX + 1] = "";
		struct find f = { .team = teams[i], .skip = agency, .ret = owner, .size = sizeof(owner) };

		if (store_agency_list(store, find_one, &f) != FS_OK) {
			fprintf(stderr, "fieldsyncd: could not read the agencies\n");
			return 1;
		}
		if (f.found) {
			fprintf(stderr,
			    "fieldsyncd: team '%s' belongs to agency '%s'; a team has one agency"
			    " ('agency teams %s ...' moves it)\n",
			    teams[i], owner, owner);
			return 1;
		}
	}
	return 0;
}

static int
cmd_save(struct store *store, int argc, char **argv, bool create)
{
	static const struct option opts[] = {
		{ "title", required_argument, NULL, 'T' },
		{ "team", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *title = NULL, *teams[AUTH_TEAMS_MAX + 1];
	char text[AUTH_TEAMS_TEXT_MAX + 1] = "[]", old[AGENCY_TITLE_MAX + 1], detail[600];
	size_t n = 0;
	const char *name;
	fs_err err;
	int c;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'T': title = optarg; break;
		case 't':
			if (n == AUTH_TEAMS_MAX) {
				fprintf(stderr, "fieldsyncd: an agency owns at most %d teams\n",
				    AUTH_TEAMS_MAX);
				return EXIT_USAGE;
			}
			teams[n++] = optarg;
			break;
		case 'h': fputs(usage_agency, stdout); return 0;
		default: fputs(usage_agency, stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || (create && title == NULL) || (!create && n == 0)) {
		fputs(usage_agency, stderr);
		return EXIT_USAGE;
	}
	name = argv[optind];
	if (!auth_valid_name(name)) {
		fprintf(stderr, "fieldsyncd: '%s' is not a valid agency name (letters, digits, . _ -)\n",
		    name);
		return EXIT_USAGE;
	}
	if (title != NULL && (title[0] == '\0' || strlen(title) > AGENCY_TITLE_MAX)) {
		fprintf(stderr, "fieldsyncd: the title is 1 to %d bytes\n", AGENCY_TITLE_MAX);
		return EXIT_USAGE;
	}
	if (n > 0 && auth_teams_text(teams, n, text) != FS_OK) {
		fprintf(stderr, "fieldsyncd: invalid or repeated team name\n");
		return EXIT_USAGE;
	}
	err = agency_find(store, name, old, sizeof(old));
	if (err == FS_OK && create) {
		fprintf(stderr, "fieldsyncd: agency '%s' exists ('agency teams' changes its teams)\n",
		    name);
		return 1;
	}
	if (err == FS_ERR_NOTFOUND && !create) {
		fprintf(stderr, "fieldsyncd: no agency '%s' ('agency list' shows them)\n", name);
		return 1;
	}
	if ((err != FS_OK && err != FS_ERR_NOTFOUND) || teams_free(store, name, teams, n) != 0)
		return 1;
	err = store_agency_save(store, name, title != NULL ? title : old, text, create);
	if (err != FS_OK) {
		fprintf(stderr, "fieldsyncd: could not save agency '%s': %s\n", name, fs_strerror(err));
		return 1;
	}
	snprintf(detail, sizeof(detail), "name=%s teams=%s", name, text);
	if (store_audit(store, "cli", create ? "agency.add" : "agency.teams", NULL, detail) != FS_OK)
		fprintf(stderr, "fieldsyncd: warning: could not write the audit entry\n");
	printf("agency '%s' %s, teams %s\n", name, create ? "added" : "updated", text);
	return 0;
}

struct list_ctx {
	bool json;
	cJSON *arr;
	struct store *store;
	int n;
};

/* Devices of a team, by role. */
struct count_ctx {
	const char *teams;
	int field, reviewer;
};

static int
count_one(void *arg, const struct store_device *d)
{
	struct count_ctx *cc = arg;

	if (d->revoked || !teams_hold(cc->teams, d->team))
		return 0;
	if (strcmp(d->role, "field") == 0)
		cc->field++;
	else if (strcmp(d->role, "reviewer") == 0)
		cc->reviewer++;
	return 0;
}

static int
list_one(void *arg, const struct store_agency *a)
{
	struct list_ctx *lc = arg;
	struct count_ctx cc = { .teams = a->teams };

	(void)store_device_list(lc->store, count_one, &cc);
	lc->n++;
	if (lc->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", a->name);
		cJSON_AddStringToObject(o, "title", a->title);
		cJSON_AddItemToObject(o, "teams", cJSON_Parse(a->teams));
		cJSON_AddNumberToObject(o, "field_devices", cc.field);
		cJSON_AddNumberToObject(o, "reviewers", cc.reviewer);
		cJSON_AddStringToObject(o, "created_at", a->created_at);
		cJSON_AddItemToArray(lc->arr, o);
		return 0;
	}
	printf("%-16s %-40s %-32s %5d %9d\n", a->name, a->title, a->teams, cc.field, cc.reviewer);
	return 0;
}

static int
cmd_list(struct store *store, int argc, char **argv)
{
	struct list_ctx lc = { .store = store };
	fs_err err;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		lc.json = true;
	else if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage_agency, stdout);
		return 0;
	} else if (argc != 1) {
		fputs(usage_agency, stderr);
		return EXIT_USAGE;
	}
	if (lc.json)
		lc.arr = cJSON_CreateArray();
	else
		printf("%-16s %-40s %-32s %5s %9s\n", "AGENCY", "TITLE", "TEAMS", "FIELD", "REVIEWERS");
	if ((err = store_agency_list(store, list_one, &lc)) != FS_OK) {
		cJSON_Delete(lc.arr);
		fprintf(stderr, "fieldsyncd: could not list agencies: %s\n", fs_strerror(err));
		return 1;
	}
	if (lc.json) {
		char *text = cJSON_Print(lc.arr);
		if (text != NULL)
			puts(text);
		free(text);
		cJSON_Delete(lc.arr);
	} else if (lc.n == 0) {
		printf("(no agency yet: 'fieldsyncd agency add NAME --title TITLE --team TEAM')\n");
	}
	return 0;
}

int
agency_main(const struct config *cfg, int argc, char **argv)
{
	struct store *store = NULL;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_agency, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "teams") != 0 &&
	    strcmp(argv[1], "list") != 0) {
		fprintf(stderr, "fieldsyncd: unknown agency command '%s'\n%s", argv[1], usage_agency);
		return EXIT_USAGE;
	}
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	if (strcmp(argv[1], "list") == 0)
		rc = cmd_list(store, argc - 1, argv + 1);
	else
		rc = cmd_save(store, argc - 1, argv + 1, strcmp(argv[1], "add") == 0);
	store_close(store);
	return rc;
}
