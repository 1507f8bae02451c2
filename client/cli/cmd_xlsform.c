/*
 * cmd_xlsform.c -- fieldsync forms from-csv | to-csv (issue 19, item 3):
 * a form written the XLSForm way, its survey, choices and settings sheets
 * saved as CSV, to and from the JSON definition (common/form_xls.h says
 * which columns and types).  Needs no device store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "form_xls.h"

static const char xls_help[] =
    "usage: fieldsync forms from-csv SURVEY.csv [CHOICES.csv] [--settings SETTINGS.csv]\n"
    "                 [--id ID] [--version N] [--title TITLE] [-o FILE]\n"
    "       fieldsync forms to-csv FORM.json DIR\n\n"
    "from-csv reads an XLSForm's survey sheet (and its choices and settings sheets),\n"
    "each saved as CSV, and prints the form definition as JSON (or writes it to\n"
    "FILE), checked as forms import checks it: import it next.  Columns: type,\n"
    "name, label, hint, required (yes, or an expression), relevant, constraint,\n"
    "constraint_message, calculation, sensitive, min, max, max_length, pattern,\n"
    "max_rows; begin_repeat NAME ... end_repeat for a repeat's rows (groups are\n"
    "read as headings only).\n"
    "settings: form_id, version, form_title, conflict.  --id, --version and\n"
    "--title replace the settings sheet.\n"
    "to-csv writes DIR/ID.survey.csv, DIR/ID.choices.csv and DIR/ID.settings.csv\n"
    "from a definition, for editing in a spreadsheet.\n";

static int
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		fprintf(stderr, "fieldsync: cannot write '%s'\n", path);
		if (fp != NULL)
			fclose(fp);
		return EXIT_FAILURE;
	}
	return 0;
}

static int
from_csv(int argc, char **argv)
{
	const char *files[2] = { NULL, NULL }, *settings = NULL, *id = NULL, *title = NULL;
	const char *out = NULL;
	char *text[3] = { NULL, NULL, NULL }, *json = NULL, err[300];
	long long version = 0;
	size_t nfiles = 0, len;
	int status = EXIT_FAILURE;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--settings") == 0 && i + 1 < argc)
			settings = argv[++i];
		else if (strcmp(argv[i], "--id") == 0 && i + 1 < argc)
			id = argv[++i];
		else if (strcmp(argv[i], "--title") == 0 && i + 1 < argc)
			title = argv[++i];
		else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc) {
			if (!cli_parse_int(argv[++i], 1, 9007199254740991LL, &version))
				return cli_usage_error("forms from-csv: --version must be a whole number");
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] != '-' && nfiles < 2)
			files[nfiles++] = argv[i];
		else
			return cli_usage_error("forms from-csv: unexpected argument '%s'", argv[i]);
	}
	if (nfiles == 0)
		return cli_usage_error("forms from-csv: SURVEY.csv is required");
	if ((text[0] = cli_read_file(files[0], &len)) == NULL ||
	    (files[1] != NULL && (text[1] = cli_read_file(files[1], &len)) == NULL) ||
	    (settings != NULL && (text[2] = cli_read_file(settings, &len)) == NULL)) {
		status = EXIT_USAGE;
		goto out;
	}
	if (form_from_xlsform(text[0], text[1], text[2], id, version, title, &json, err,
		sizeof(err)) != FS_OK) {
		fprintf(stderr, "fieldsync: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (out != NULL) {
		size_t n = strlen(json);

		json = realloc(json, n + 2);
		if (json == NULL)
			goto out;
		memcpy(json + n, "\n", 2);
		status = write_file(out, json);
	} else {
		printf("%s\n", json);
		status = 0;
	}
out:
	for (int i = 0; i < 3; i++)
		free(text[i]);
	free(json);
	return status;
}

static int
to_csv(int argc, char **argv)
{
	char *json, *sheet[3] = { NULL, NULL, NULL }, err[300], path[4096], *id_end;
	static const char *const names[3] = { "survey", "choices", "settings" };
	const char *id;
	struct stat st;
	size_t len;
	int status = EXIT_FAILURE;

	if (argc != 2)
		return cli_usage_error("forms to-csv: expected FORM.json DIR");
	if (stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode))
		return cli_usage_error("forms to-csv: '%s' is not a directory", argv[1]);
	if ((json = cli_read_file(argv[0], &len)) == NULL)
		return EXIT_USAGE;
	if (form_to_xlsform(json, &sheet[0], &sheet[1], &sheet[2], err, sizeof(err)) != FS_OK) {
		fprintf(stderr, "fieldsync: %s\n", err);
		free(json);
		return EXIT_USAGE;
	}
	/* The id is the settings row's first cell (a checked form name: no quoting). */
	id = strchr(sheet[2], '\n') + 1;
	id_end = strchr(id, ',');
	*id_end = '\0';
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s.%s.csv", argv[1], id, names[i]);
		if (i == 2)
			*id_end = ','; /* the settings text whole again */
		if ((status = write_file(path, sheet[i])) != 0)
			break;
		printf("%s\n", path);
	}
	free(json);
	for (int i = 0; i < 3; i++)
		free(sheet[i]);
	return status;
}

int
cmd_forms_csv(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i])) {
			fputs(xls_help, stdout);
			return 0;
		}
	if (strcmp(argv[0], "from-csv") == 0)
		return from_csv(argc - 1, argv + 1);
	return to_csv(argc - 1, argv + 1);
}
