/*
 * cmd_prompt.c -- the officer's side of skip logic (issue 19, item 5):
 *
 *   record new FORM --interactive   asks the questions that apply, one by
 *                                   one, in the form's order, with the
 *                                   choices listed; an answer that breaks
 *                                   a rule is said and asked again; a
 *                                   question that starts or stops applying
 *                                   after an answer is said at once
 *   record new / edit --set ...     after saving, says which questions do
 *                                   not apply and which required ones are
 *                                   still unanswered
 *
 * Prompts and notes go to standard error, so standard output still holds
 * only the new record's id.  Answers are read line by line from standard
 * input (a terminal, or a file for scripts and tests).  The rules are the
 * library's (fs_form_questions(), common/form_logic.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define ANSWER_MAX 4096

/* The questions for values (a JSON object), or NULL after printing why. */
static cJSON *
questions(struct cli *cli, const char *form, const cJSON *values)
{
	char *text = cJSON_PrintUnformatted(values), *json = NULL;
	cJSON *q = NULL;
	fs_err err;

	if (text == NULL)
		return NULL;
	if ((err = fs_form_questions(cli->client, form, text, &json)) != FS_OK)
		cli_fail(cli, err);
	else
		q = cJSON_Parse(json);
	cJSON_free(text);
	fs_free(json);
	return q;
}

static const cJSON *
find(const cJSON *qs, const char *name)
{
	const cJSON *q;

	cJSON_ArrayForEach(q, qs)
	{
		if (strcmp(cJSON_GetObjectItemCaseSensitive(q, "name")->valuestring, name) == 0)
			return q;
	}
	return NULL;
}

static bool
flag(const cJSON *q, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, key));
}

/* Says which questions started or stopped applying between two walks. */
static void
say_changes(const cJSON *before, const cJSON *after)
{
	const cJSON *q;

	cJSON_ArrayForEach(q, after)
	{
		const char *name = cJSON_GetObjectItemCaseSensitive(q, "name")->valuestring;
		const cJSON *old = find(before, name);

		if (old == NULL || flag(old, "applies") == flag(q, "applies"))
			continue;
		fprintf(stderr, "  %s %s\n", flag(q, "applies") ? "now applies:" : "no longer applies:",
		    name);
	}
}

static void
prompt(const cJSON *q)
{
	const cJSON *label = cJSON_GetObjectItemCaseSensitive(q, "label");
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(q, "choices"), *c;
	const char *type = cJSON_GetObjectItemCaseSensitive(q, "type")->valuestring;

	fprintf(stderr, "%s [%s%s]", cJSON_IsString(label) ? label->valuestring
							 : cJSON_GetObjectItemCaseSensitive(q, "name")->valuestring,
	    type, flag(q, "required") ? ", required" : "");
	if (cJSON_IsArray(choices)) {
		fprintf(stderr, "\n  choices%s:", strcmp(type, "select_multiple") == 0
						? " (several, separated by commas)"
						: "");
		cJSON_ArrayForEach(c, choices)
		{
			fprintf(stderr, " %s", c->valuestring);
		}
	}
	fputs("\n> ", stderr);
	fflush(stderr);
}

/* Reads one answer line (without its newline); false at the end of input. */
static bool
read_answer(char *buf, size_t len)
{
	if (fgets(buf, (int)len, stdin) == NULL)
		return false;
	buf[strcspn(buf, "\r\n")] = '\0';
	return true;
}

/*
 * Sets values[name] from the typed text; false after saying why not.  A
 * new row's key ("repeat/+/sub") gets its row id here: key (may be NULL)
 * receives the key the value was stored under.
 */
static bool
take(struct cli *cli, const char *form, cJSON *values, const char *name, const char *text,
    char *key, size_t keylen)
{
	char assign[ANSWER_MAX + 300], *json = NULL;
	const char *one[] = { assign };
	cJSON *obj, *v;
	fs_err err;

	snprintf(assign, sizeof(assign), "%s=%s", name, text);
	if ((err = fs_values_from_assignments(cli->client, form, one, 1, &json)) != FS_OK) {
		fprintf(stderr, "  %s\n", fs_errmsg(cli->client));
		return false;
	}
	obj = cJSON_Parse(json);
	fs_free(json);
	v = obj != NULL && obj->child != NULL ? cJSON_DetachItemViaPointer(obj, obj->child) : NULL;
	cJSON_Delete(obj);
	if (v == NULL || v->string == NULL) {
		cJSON_Delete(v);
		return false;
	}
	if (key != NULL)
		snprintf(key, keylen, "%s", v->string);
	cJSON_DeleteItemFromObjectCaseSensitive(values, v->string);
	cJSON_AddItemToObject(values, v->string, v);
	return true;
}

/* Removes every value of one row: keys that start with prefix "repeat/row/". */
static void
drop_row(cJSON *values, const char *prefix)
{
	cJSON *item, *next;

	for (item = values->child; item != NULL; item = next) {
		next = item->next;
		if (strncmp(item->string, prefix, strlen(prefix)) == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(values, item));
	}
}

/*
 * A repeat (issue 19, item 2): "add a row?", then each sub-field of the
 * row; a row that breaks a rule is said and dropped.  False at the end of
 * input.
 */
static bool
ask_rows(struct cli *cli, const char *form, cJSON *values, const cJSON *q)
{
	const char *name = cJSON_GetObjectItemCaseSensitive(q, "name")->valuestring;
	const cJSON *label = cJSON_GetObjectItemCaseSensitive(q, "label");
	char answer[ANSWER_MAX];
	int rows = 0;

	for (;;) {
		const cJSON *sub, *subs = cJSON_GetObjectItemCaseSensitive(q, "fields");
		const cJSON *max = cJSON_GetObjectItemCaseSensitive(q, "max_rows");
		char key[300] = "", prefix[300] = "", assign[300];
		cJSON *after, *mine;

		if (cJSON_IsNumber(max) && rows >= max->valuedouble) {
			fprintf(stderr, "%s: %d rows, the most it holds\n",
			    cJSON_IsString(label) ? label->valuestring : name, rows);
			return true;
		}

		fprintf(stderr, "%s [repeat, %d row%s so far]: add a row? (y/n)\n> ",
		    cJSON_IsString(label) ? label->valuestring : name, rows, rows == 1 ? "" : "s");
		fflush(stderr);
		if (!read_answer(answer, sizeof(answer)))
			return false;
		if (answer[0] != 'y' && answer[0] != 'Y') {
			if (rows == 0 && flag(q, "required")) {
				fprintf(stderr, "  required: add at least one row\n");
				continue;
			}
			return true;
		}
		cJSON_ArrayForEach(sub, subs)
		{
			const char *sn = cJSON_GetObjectItemCaseSensitive(sub, "name")->valuestring;

			if (flag(sub, "calculated"))
				continue; /* computed on save */
			for (;;) {
				fputs("  ", stderr);
				prompt(sub);
				if (!read_answer(answer, sizeof(answer))) {
					if (prefix[0] != '\0') /* a row left half-answered is not kept */
						drop_row(values, prefix);
					return false;
				}
				if (answer[0] == '\0') {
					if (!flag(sub, "required"))
						break;
					fprintf(stderr, "  required: it must be answered\n");
					continue;
				}
				if (prefix[0] == '\0')
					snprintf(assign, sizeof(assign), "%s/+/%s", name, sn);
				else
					snprintf(assign, sizeof(assign), "%s%s", prefix, sn);
				if (!take(cli, form, values, assign, answer, key, sizeof(key)))
					continue;
				if (prefix[0] == '\0') /* "repeat/row/" of the key just made */
					snprintf(prefix, sizeof(prefix), "%.*s", (int)(strrchr(key, '/') - key + 1), key);
				break;
			}
		}
		if ((after = questions(cli, form, values)) == NULL)
			return false;
		mine = (cJSON *)find(after, name);
		if (prefix[0] != '\0' &&
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(mine, "problem"))) {
			fprintf(stderr, "  %s: row dropped\n",
			    cJSON_GetObjectItemCaseSensitive(mine, "problem")->valuestring);
			drop_row(values, prefix);
		} else if (prefix[0] != '\0') {
			rows++;
		}
		cJSON_Delete(after);
	}
}

int
cli_record_interactive(struct cli *cli, const char *form)
{
	cJSON *values = cJSON_CreateObject(), *asked = cJSON_CreateObject(), *qs = NULL;
	char answer[ANSWER_MAX], *text = NULL, *id = NULL;
	int status = EXIT_FAILURE;
	bool more = true;
	fs_err err;

	if (values == NULL || asked == NULL)
		goto out;
	if ((qs = questions(cli, form, values)) == NULL) {
		status = EXIT_USAGE;
		goto out;
	}
	fprintf(stderr, "form %s: answer each question; an empty line skips an optional one\n",
	    form);
	while (more) {
		const cJSON *q, *next = NULL;
		const char *name;
		cJSON *after;

		cJSON_ArrayForEach(q, qs)
		{
			name = cJSON_GetObjectItemCaseSensitive(q, "name")->valuestring;
			if (flag(q, "applies") && !flag(q, "calculated") &&
			    cJSON_GetObjectItemCaseSensitive(asked, name) == NULL) {
				next = q;
				break;
			}
		}
		if (next == NULL)
			break;
		name = cJSON_GetObjectItemCaseSensitive(next, "name")->valuestring;
		if (strcmp(cJSON_GetObjectItemCaseSensitive(next, "type")->valuestring, "repeat") == 0) {
			more = ask_rows(cli, form, values, next);
			cJSON_AddTrueToObject(asked, name);
			if ((after = questions(cli, form, values)) == NULL)
				goto out;
			cJSON_Delete(qs);
			qs = after;
			continue;
		}
		prompt(next);
		if (!(more = read_answer(answer, sizeof(answer))))
			break;
		if (answer[0] == '\0') {
			if (flag(next, "required")) {
				fprintf(stderr, "  required: it must be answered\n");
				continue;
			}
			cJSON_AddTrueToObject(asked, name);
			continue;
		}
		if (!take(cli, form, values, name, answer, NULL, 0))
			continue;
		if ((after = questions(cli, form, values)) == NULL)
			goto out;
		{
			const cJSON *mine = find(after, name);
			const cJSON *problem = cJSON_GetObjectItemCaseSensitive(mine, "problem");

			if (cJSON_IsString(problem)) {
				fprintf(stderr, "  %s\n", problem->valuestring);
				cJSON_DeleteItemFromObjectCaseSensitive(values, name);
				cJSON_Delete(after);
				continue;
			}
		}
		cJSON_AddTrueToObject(asked, name);
		say_changes(qs, after);
		cJSON_Delete(qs);
		qs = after;
	}
	if (!more)
		fprintf(stderr, "\n(end of input)\n");
	if ((text = cJSON_PrintUnformatted(values)) == NULL)
		goto out;
	if ((err = fs_record_create(cli->client, form, text, &id)) != FS_OK) {
		status = cli_fail(cli, err);
		goto out;
	}
	printf("%s\n", id);
	status = 0;
out:
	fs_free(id);
	cJSON_free(text);
	cJSON_Delete(values);
	cJSON_Delete(asked);
	cJSON_Delete(qs);
	return status;
}

void
cli_say_applies(struct cli *cli, const char *id)
{
	cJSON *rec = NULL, *qs = NULL;
	const cJSON *q, *form, *values;
	char *json = NULL;
	bool logic = false;

	if (fs_record_get(cli->client, id, &json) != FS_OK || (rec = cJSON_Parse(json)) == NULL)
		goto out;
	form = cJSON_GetObjectItemCaseSensitive(rec, "form");
	values = cJSON_GetObjectItemCaseSensitive(rec, "values");
	if (!cJSON_IsString(form) || !cJSON_IsObject(values) ||
	    (qs = questions(cli, form->valuestring, values)) == NULL)
		goto out;
	cJSON_ArrayForEach(q, qs)
	{
		logic |= !flag(q, "applies") || flag(q, "calculated");
	}
	if (!logic)
		goto out; /* a form without skip logic: nothing to say */
	fputs("does not apply:", stderr);
	cJSON_ArrayForEach(q, qs)
	{
		if (!flag(q, "applies"))
			fprintf(stderr, " %s", cJSON_GetObjectItemCaseSensitive(q, "name")->valuestring);
	}
	fputs("\nstill to answer:", stderr);
	cJSON_ArrayForEach(q, qs)
	{
		const cJSON *rows = cJSON_GetObjectItemCaseSensitive(q, "rows");

		if (flag(q, "applies") && !flag(q, "calculated") &&
		    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(q, "value")) &&
		    !(cJSON_IsNumber(rows) && rows->valuedouble > 0))
			fprintf(stderr, " %s%s", cJSON_GetObjectItemCaseSensitive(q, "name")->valuestring,
			    flag(q, "required") ? " (required)" : "");
	}
	fputc('\n', stderr);
out:
	fs_free(json);
	cJSON_Delete(rec);
	cJSON_Delete(qs);
}
