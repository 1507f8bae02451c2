/*
 * cmd_record.c -- fieldsync record new|edit|delete|show|list.
 *
 * Values come from --set field=value (converted to the field's type, see
 * schema/FORMS.md "Text input") or from --json FILE holding a value object.
 * A refused value prints one line naming the field and the rule, exits 2,
 * and nothing is written.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char record_help[] =
    "usage: fieldsync [--db PATH] record new FORM (--set FIELD=VALUE ... | --json FILE)\n"
    "       fieldsync [--db PATH] record new FORM --interactive\n"
    "       fieldsync [--db PATH] record edit ID (--set FIELD=VALUE ... | --json FILE)\n"
    "       fieldsync [--db PATH] record delete ID\n"
    "       fieldsync [--db PATH] record show ID\n"
    "       fieldsync [--db PATH] record list [--form FORM]\n\n"
    "new prints the id of the saved record.  VALUE is converted to the field's\n"
    "type: numbers, true/false, YYYY-MM-DD, comma-separated choices for\n"
    "select_multiple, lat,lon for geopoint; an empty VALUE clears the field.\n"
    "--json FILE (or - for stdin) gives the values as a JSON object instead.\n"
    "--interactive asks the questions that apply one by one (answers from\n"
    "standard input, prompts on standard error), with the choices listed.\n"
    "For a form with skip logic, new and edit then say on standard error which\n"
    "questions do not apply and which are still to answer.\n";

/* Gathers --set / --json into a JSON value object for form_id. */
static int
collect_values(struct cli *cli, const char *form_id, int argc, char **argv, char **ret_json)
{
	const char **sets = calloc((size_t)argc + 1, sizeof(*sets));
	const char *json_path = NULL;
	size_t nsets = 0, len;
	fs_err err;

	if (sets == NULL)
		return EXIT_FAILURE;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
			sets[nsets++] = argv[++i];
		} else if (strncmp(argv[i], "--set=", 6) == 0) {
			sets[nsets++] = argv[i] + 6;
		} else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
			json_path = argv[++i];
		} else {
			free(sets);
			return cli_usage_error("record: unexpected argument '%s' (see record --help)",
			    argv[i]);
		}
	}
	if (json_path != NULL && nsets > 0) {
		free(sets);
		return cli_usage_error("record: use either --set or --json, not both");
	}
	if (json_path != NULL) {
		free(sets);
		return (*ret_json = cli_read_file(json_path, &len)) == NULL ? EXIT_USAGE : 0;
	}
	err = fs_values_from_assignments(cli->client, form_id, sets, nsets, ret_json);
	free(sets);
	return err == FS_OK ? 0 : cli_fail(cli, err);
}

static int
record_new(struct cli *cli, int argc, char **argv)
{
	char *values = NULL, *id = NULL;
	fs_err err;
	int status;

	if (argc < 1 || argv[0][0] == '-')
		return cli_usage_error("record new: FORM is required");
	if ((status = cli_open(cli)) != 0)
		return status;
	if (argc == 2 && strcmp(argv[1], "--interactive") == 0)
		return cli_record_interactive(cli, argv[0]);
	if ((status = collect_values(cli, argv[0], argc - 1, argv + 1, &values)) != 0)
		return status;
	err = fs_record_create(cli->client, argv[0], values, &id);
	fs_free(values);
	if (err != FS_OK)
		return cli_fail(cli, err);
	printf("%s\n", id);
	cli_say_applies(cli, id);
	fs_free(id);
	return 0;
}

/* The form of a stored record, for converting --set values. */
static int
record_form(struct cli *cli, const char *id, char **ret_form)
{
	cJSON *obj, *form;
	char *json;
	fs_err err;

	if ((err = fs_record_get(cli->client, id, &json)) != FS_OK)
		return cli_fail(cli, err);
	obj = cJSON_Parse(json);
	fs_free(json);
	form = cJSON_GetObjectItemCaseSensitive(obj, "form");
	*ret_form = strdup(cJSON_IsString(form) ? form->valuestring : "");
	cJSON_Delete(obj);
	return *ret_form != NULL ? 0 : EXIT_FAILURE;
}

static int
record_edit(struct cli *cli, int argc, char **argv)
{
	char *values = NULL, *form = NULL;
	fs_err err;
	int status;

	if (argc < 1 || argv[0][0] == '-')
		return cli_usage_error("record edit: ID is required");
	if ((status = cli_open(cli)) != 0 || (status = record_form(cli, argv[0], &form)) != 0)
		return status;
	status = collect_values(cli, form, argc - 1, argv + 1, &values);
	free(form);
	if (status != 0)
		return status;
	err = fs_record_edit(cli->client, argv[0], values);
	fs_free(values);
	if (err != FS_OK)
		return cli_fail(cli, err);
	printf("saved %s\n", argv[0]);
	cli_say_applies(cli, argv[0]);
	return 0;
}

/*
 * The referrals headquarters made of record id (issue 20): records of the
 * form "referral" this device pulled, their status only -- the reasons
 * are sealed to headquarters' key and stay out.  NULL when there are none
 * or they cannot be read (the record itself is shown all the same).
 */
static cJSON *
referrals_of(struct cli *cli, const char *id)
{
	static const char *const shown[] = { "agency", "case_number", "status", "owner", "due" };
	cJSON *list, *item, *out = NULL;
	char *json;

	if (fs_record_list(cli->client, "referral", &json) != FS_OK)
		return NULL;
	list = cJSON_Parse(json);
	fs_free(json);
	cJSON_ArrayForEach(item, list)
	{
		const char *rid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "id"));
		cJSON *rec, *fields, *o;
		char *text;

		if (rid == NULL || fs_record_get(cli->client, rid, &text) != FS_OK)
			continue;
		rec = cJSON_Parse(text);
		fs_free(text);
		fields = cJSON_GetObjectItemCaseSensitive(rec, "values");
		text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fields, "record"));
		if (text == NULL || strcmp(text, id) != 0) {
			cJSON_Delete(rec);
			continue;
		}
		if (out == NULL)
			out = cJSON_CreateArray();
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", rid);
		for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
			cJSON *v = cJSON_GetObjectItemCaseSensitive(fields, shown[i]);
			cJSON_AddItemToObject(o, shown[i],
			    cJSON_IsString(v) ? cJSON_CreateString(v->valuestring) : cJSON_CreateNull());
		}
		cJSON_AddItemToArray(out, o);
		cJSON_Delete(rec);
	}
	cJSON_Delete(list);
	return out;
}

static int
record_one(struct cli *cli, int argc, char **argv, bool delete)
{
	char *json;
	fs_err err;
	int status;

	if (argc != 1 || argv[0][0] == '-')
		return cli_usage_error("record %s: expected one ID", delete ? "delete" : "show");
	if ((status = cli_open(cli)) != 0)
		return status;
	if (delete) {
		if ((err = fs_record_delete(cli->client, argv[0])) != FS_OK)
			return cli_fail(cli, err);
		printf("deleted %s\n", argv[0]);
		return 0;
	}
	if ((err = fs_record_get(cli->client, argv[0], &json)) != FS_OK)
		return cli_fail(cli, err);
	{
		cJSON *obj = cJSON_Parse(json);
		cJSON *refs = referrals_of(cli, argv[0]);

		if (refs != NULL && cJSON_GetArraySize(refs) > 0)
			cJSON_AddItemToObject(obj, "referrals", refs);
		else
			cJSON_Delete(refs);
		char *pretty = cJSON_Print(obj);
		printf("%s\n", pretty != NULL ? pretty : json);
		cJSON_free(pretty);
		cJSON_Delete(obj);
	}
	fs_free(json);
	return 0;
}

static int
record_list(struct cli *cli, int argc, char **argv)
{
	const char *form = NULL;
	cJSON *arr, *item;
	char *json;
	fs_err err;
	int status;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--form") == 0 && i + 1 < argc)
			form = argv[++i];
		else
			return cli_usage_error("record list: unexpected argument '%s'", argv[i]);
	}
	if ((status = cli_open(cli)) != 0)
		return status;
	if ((err = fs_record_list(cli->client, form, &json)) != FS_OK)
		return cli_fail(cli, err);
	arr = cJSON_Parse(json);
	fs_free(json);
	printf("%-32s  %-20s  %-3s  %s\n", "ID", "FORM", "V", "UPDATED");
	cJSON_ArrayForEach(item, arr)
	{
		printf("%-32s  %-20s  %-3d  %s\n",
		    cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring,
		    cJSON_GetObjectItemCaseSensitive(item, "form")->valuestring,
		    cJSON_GetObjectItemCaseSensitive(item, "form_version")->valueint,
		    cJSON_GetObjectItemCaseSensitive(item, "updated")->valuestring);
	}
	cJSON_Delete(arr);
	return 0;
}

int
cmd_record(struct cli *cli, int argc, char **argv)
{
	if (argc < 2) {
		fputs(record_help, stderr);
		return EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			fputs(record_help, stdout);
			return 0;
		}
	}
	if (strcmp(argv[1], "new") == 0)
		return record_new(cli, argc - 2, argv + 2);
	if (strcmp(argv[1], "edit") == 0)
		return record_edit(cli, argc - 2, argv + 2);
	if (strcmp(argv[1], "delete") == 0)
		return record_one(cli, argc - 2, argv + 2, true);
	if (strcmp(argv[1], "show") == 0)
		return record_one(cli, argc - 2, argv + 2, false);
	if (strcmp(argv[1], "list") == 0)
		return record_list(cli, argc - 2, argv + 2);
	return cli_usage_error("record: unknown subcommand '%s' (new, edit, delete, show, list)",
	    argv[1]);
}
