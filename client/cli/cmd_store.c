/*
 * cmd_store.c -- fieldsync init, forms and status.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

int
cmd_init(struct cli *cli, int argc, char **argv)
{
	const char *name = NULL;
	fs_err err;
	int status;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			printf("usage: fieldsync [--db PATH] [--key-file FILE] init --device NAME"
			       " [--encrypt]\n\n"
			       "Creates the device store and gives this device a random id.\n"
			       "NAME is a human label (1 to 64 characters), e.g. the officer's\n"
			       "device number.\n"
			       "With --encrypt, or with a key file (--key-file, FIELDSYNC_KEY_FILE),\n"
			       "the store is encrypted: every page of it and of its WAL is sealed\n"
			       "under a key drawn from the PIN or passphrase (asked twice on the\n"
			       "terminal, at least %d characters, unless a key file gives it).\n"
			       "Every later command asks it, or reads the key file.  A lost PIN\n"
			       "cannot be recovered: sync first, the server keeps the records.\n",
			    CLI_SECRET_MIN);
			return 0;
		} else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
			name = argv[++i];
		} else if (strcmp(argv[i], "--encrypt") == 0) {
			cli->encrypt = true;
		} else {
			return cli_usage_error("init: unexpected argument '%s' (see init --help)",
			    argv[i]);
		}
	}
	if (name == NULL)
		return cli_usage_error("init: --device NAME is required");
	cli->create = true;
	if ((status = cli_open(cli)) != 0)
		return status;
	if ((err = fs_device_init(cli->client, name)) != FS_OK)
		return cli_fail(cli, err);
	printf("initialised device %s (%s) in %s%s\n", fs_device_id(cli->client), name,
	    cli->db_path, cli->encrypt || cli_key_given(cli) ? " (encrypted)" : "");
	return 0;
}

static int
forms_import(struct cli *cli, const char *path)
{
	char *json, *id = NULL;
	size_t len;
	fs_err err;
	int status;

	if ((json = cli_read_file(path, &len)) == NULL)
		return EXIT_USAGE;
	if ((status = cli_open(cli)) != 0) {
		free(json);
		return status;
	}
	err = fs_forms_import(cli->client, json, len, &id);
	free(json);
	if (err != FS_OK) {
		fprintf(stderr, "fieldsync: %s: %s\n", path, fs_errmsg(cli->client));
		return err == FS_ERR_FORM || err == FS_ERR_JSON || err == FS_ERR_EXISTS ? EXIT_USAGE
											 : EXIT_FAILURE;
	}
	printf("imported form %s\n", id);
	fs_free(id);
	return 0;
}

static int
forms_list(struct cli *cli)
{
	cJSON *arr, *item;
	char *json;
	fs_err err;
	int status;

	if ((status = cli_open(cli)) != 0)
		return status;
	if ((err = fs_forms_list(cli->client, &json)) != FS_OK)
		return cli_fail(cli, err);
	arr = cJSON_Parse(json);
	fs_free(json);
	printf("%-24s %-8s %-7s %s\n", "FORM", "VERSION", "FIELDS", "TITLE");
	cJSON_ArrayForEach(item, arr)
	{
		printf("%-24s %-8d %-7d %s\n",
		    cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring,
		    cJSON_GetObjectItemCaseSensitive(item, "version")->valueint,
		    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(item, "fields")),
		    cJSON_GetObjectItemCaseSensitive(item, "title")->valuestring);
	}
	cJSON_Delete(arr);
	return 0;
}

int
cmd_forms(struct cli *cli, int argc, char **argv)
{
	static const char help[] =
	    "usage: fieldsync [--db PATH] forms import FILE\n"
	    "       fieldsync [--db PATH] forms list\n"
	    "       fieldsync forms from-csv SURVEY.csv [CHOICES.csv] [--settings FILE] ...\n"
	    "       fieldsync forms to-csv FORM.json DIR\n\n"
	    "import checks a form definition (schema/FORMS.md) and stores it; a broken\n"
	    "definition is refused with the field and the problem.  list shows the\n"
	    "forms on this device.  from-csv and to-csv convert between a definition and\n"
	    "an XLSForm's sheets saved as CSV (see forms from-csv --help).\n";

	if (argc < 2 || cli_is_help(argv[1])) {
		fputs(help, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "from-csv") == 0 || strcmp(argv[1], "to-csv") == 0)
		return cmd_forms_csv(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0) {
		if (argc == 3 && cli_is_help(argv[2])) {
			fputs(help, stdout);
			return 0;
		}
		if (argc != 3)
			return cli_usage_error("forms import: expected one FILE");
		return forms_import(cli, argv[2]);
	}
	if (strcmp(argv[1], "list") == 0) {
		if (argc == 3 && cli_is_help(argv[2])) {
			fputs(help, stdout);
			return 0;
		}
		if (argc != 2)
			return cli_usage_error("forms list: unexpected argument '%s'", argv[2]);
		return forms_list(cli);
	}
	return cli_usage_error("forms: unknown subcommand '%s' (import, list, from-csv, to-csv)",
	    argv[1]);
}

/* Lists the changes the server refused, with the reason, so they can be fixed. */
static int
show_rejected(struct cli *cli)
{
	cJSON *arr, *item;
	char *json;
	fs_err err;

	if ((err = fs_rejected_list(cli->client, &json)) != FS_OK)
		return cli_fail(cli, err);
	arr = cJSON_Parse(json);
	fs_free(json);
	cJSON_ArrayForEach(item, arr)
	{
		printf("  refused: record %s change %s: %s\n",
		    cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring,
		    cJSON_GetObjectItemCaseSensitive(item, "hlc")->valuestring,
		    cJSON_GetObjectItemCaseSensitive(item, "reason")->valuestring);
	}
	cJSON_Delete(arr);
	return 0;
}

int
cmd_status(struct cli *cli, int argc, char **argv)
{
	bool json_out = false;
	cJSON *obj;
	char *json;
	fs_err err;
	int status;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			printf("usage: fieldsync [--db PATH] status [--json]\n\n"
			       "Shows the device id, changes waiting to be pushed, changes the\n"
			       "server refused (each with its reason; they stay on the device),\n"
			       "changes the server acknowledged, the time of the last sync that\n"
			       "finished, and when the last try began and how it ended.\n");
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json_out = true;
		} else {
			return cli_usage_error("status: unexpected argument '%s'", argv[i]);
		}
	}
	if ((status = cli_open(cli)) != 0)
		return status;
	if ((err = fs_status(cli->client, &json)) != FS_OK)
		return cli_fail(cli, err);
	if (json_out) {
		printf("%s\n", json);
		fs_free(json);
		return 0;
	}
	obj = cJSON_Parse(json);
	fs_free(json);
	{
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(obj, "device_id");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "device_name");
		const cJSON *last = cJSON_GetObjectItemCaseSensitive(obj, "last_sync");
		const cJSON *server = cJSON_GetObjectItemCaseSensitive(obj, "server");
		const cJSON *attempt = cJSON_GetObjectItemCaseSensitive(obj, "last_attempt");
		const cJSON *lerr = cJSON_GetObjectItemCaseSensitive(obj, "last_error");

		printf("device:    %s (%s)\n", cJSON_IsString(dev) ? dev->valuestring : "none",
		    cJSON_IsString(name) ? name->valuestring : "not initialised");
		printf("records:   %d\n", cJSON_GetObjectItemCaseSensitive(obj, "records")->valueint);
		printf("pending:   %d change(s) not yet on the server\n",
		    cJSON_GetObjectItemCaseSensitive(obj, "pending")->valueint);
		printf("acknowledged: %d change(s) held by the server\n",
		    cJSON_GetObjectItemCaseSensitive(obj, "acknowledged")->valueint);
		printf("rejected:  %d change(s) refused by the server (kept here)\n",
		    cJSON_GetObjectItemCaseSensitive(obj, "rejected")->valueint);
		printf("last sync: %s%s%s\n", cJSON_IsString(last) ? last->valuestring : "never",
		    cJSON_IsString(server) ? " with " : "",
		    cJSON_IsString(server) ? server->valuestring : "");
		if (cJSON_IsString(attempt)) {
			const char *e = cJSON_IsString(lerr) ? lerr->valuestring : "";

			printf("last try:  %s: %s\n", attempt->valuestring,
			    e[0] == '\0'              ? "finished"
			    : strcmp(e, "running") == 0 ? "running (or was stopped before it ended)"
							: e);
		}
	}
	cJSON_Delete(obj);
	return show_rejected(cli);
}
