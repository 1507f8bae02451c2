/*
 * report.c -- the situation report (report.h): the dimensions and measures
 * taken from the form's newest version, the records counted through the
 * store's export cursor, the table suppressed (report_table.c) and written
 * as CSV or JSON.
 *
 * Measures, one column each, every one a count of records:
 *   records                 the records of the row
 *   FIELD                   records with the boolean FIELD true (the
 *                           indicators; not additive: a record may have
 *                           several)
 *   risk_level=CHOICE       records at each risk level, and
 *   risk_level=(none)       those without one (the group adds up to records)
 *   REFERRAL=CHOICE         the same for the officer's referral decision
 *                           (referral_decision, or referral)
 *   referred=STATUS         the agencies' answer: records by the status of
 *                           their latest referral to another agency
 *                           (open, accepted, declined, closed; (none):
 *                           never referred), from the referrals index
 *                           (store_agency.h)
 * Dimensions (--by): month (of the form's first required date or
 * date-time question, else of the record's creation), referred (as
 * above), or any question of the form that is not sensitive and holds one
 * value (select_one, text, integer, boolean, date).
 */
#include "report.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin_util.h"
#include "auth.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "form.h"
#include "formset.h"
#include "report_table.h"
#include "review_api.h"
#include "store.h"
#include "store_agency.h"
#include "store_review.h"

#define REPORT_MAX_COLS 256
#define EXIT_USAGE 2
/* The referral outcome: a value the report adds to each record. */
#define REFERRED "referred"

static const char *const referred_choices[] = { "open", "accepted", "declined", "closed", "" };

struct column {
	const char *field; /* the value read */
	const char *choice; /* NULL: the boolean is true; "": no value ("(none)") */
	char name[160];
};

struct report {
	const struct form *form;
	const char *date_field; /* NULL: created_at */
	const char *by[REPORT_MAX_BY];
	size_t nby;
	char by_buf[256];
	struct column cols[REPORT_MAX_COLS];
	int group[REPORT_MAX_COLS];
	size_t ncols;
	const char *from, *to;
	struct report_table *t;
	cJSON *vals; /* the current record's values of interest */
	bool with_referred; /* the form has no question named "referred" */
	cJSON *referred;    /* record id -> {"s": status, "u": updated_at} of its latest referral */
	int64_t records;
	fs_err err;
};

static fs_err fail(char *err, size_t errlen, fs_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static fs_err
fail(char *err, size_t errlen, fs_err code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

static bool
add_col(struct report *r, const char *field, const char *choice, int group)
{
	struct column *c;

	if (r->ncols == REPORT_MAX_COLS)
		return false;
	c = &r->cols[r->ncols];
	c->field = field;
	c->choice = choice;
	if (choice == NULL)
		snprintf(c->name, sizeof(c->name), "%s", field != NULL ? field : "records");
	else
		snprintf(c->name, sizeof(c->name), "%s=%s", field, choice[0] ? choice : "(none)");
	r->group[r->ncols++] = group;
	return true;
}

/* The measures of the form (see the top of this file). */
static fs_err
plan_columns(struct report *r, char *err, size_t errlen)
{
	const struct form *form = r->form;
	const char *groups[] = { "risk_level", NULL, NULL };
	int g = 0;

	add_col(r, NULL, NULL, 0);
	for (size_t i = 0; i < form->nfields; i++) {
		const struct form_field *f = &form->fields[i];

		if (f->type == FORM_BOOLEAN && !f->sensitive && f->calculate == NULL &&
		    !add_col(r, f->name, NULL, 0))
			return fail(err, errlen, FS_ERR_INVALID, "form %s: too many columns", form->id);
	}
	groups[1] = form_field_find(form, "referral_decision") != NULL ? "referral_decision"
								       : "referral";
	for (size_t k = 0; k < 2; k++) {
		const struct form_field *f = form_field_find(form, groups[k]);

		if (f == NULL || f->type != FORM_SELECT_ONE || f->sensitive)
			continue;
		g++;
		for (size_t j = 0; j <= f->nchoices; j++)
			if (!add_col(r, f->name, j < f->nchoices ? f->choices[j] : "", g))
				return fail(err, errlen, FS_ERR_INVALID, "form %s: too many columns",
				    form->id);
	}
	r->with_referred = form_field_find(form, REFERRED) == NULL;
	if (r->with_referred) {
		g++;
		for (size_t j = 0; j < sizeof(referred_choices) / sizeof(*referred_choices); j++)
			if (!add_col(r, REFERRED, referred_choices[j], g))
				return fail(err, errlen, FS_ERR_INVALID, "form %s: too many columns",
				    form->id);
	}
	return FS_OK;
}

/* Keeps the latest referral of each record (by its last change). */
static int
take_referral(void *arg, const struct store_referral *ref)
{
	struct report *r = arg;
	cJSON *cur = cJSON_GetObjectItemCaseSensitive(r->referred, ref->record_id), *o;
	const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cur, "u"));

	if (u != NULL && strcmp(u, ref->updated_at) > 0)
		return 0;
	if ((o = cJSON_CreateObject()) == NULL || cJSON_AddStringToObject(o, "s", ref->status) == NULL ||
	    cJSON_AddStringToObject(o, "u", ref->updated_at) == NULL) {
		cJSON_Delete(o);
		r->err = FS_ERR_NOMEM;
		return 1;
	}
	if (cur != NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(r->referred, ref->record_id);
	cJSON_AddItemToObject(r->referred, ref->record_id, o);
	return 0;
}

/* Adds the record's referral outcome to its values, as if it were a question. */
static fs_err
add_referred(struct report *r, const char *record_id)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(r->referred, record_id), "s"));

	if (!r->with_referred || s == NULL)
		return FS_OK;
	return cJSON_AddStringToObject(r->vals, REFERRED, s) != NULL ? FS_OK : FS_ERR_NOMEM;
}

static fs_err
plan_dimensions(struct report *r, const char *by, char *err, size_t errlen)
{
	char *save = NULL, *tok;

	for (size_t i = 0; i < r->form->nfields; i++) {
		const struct form_field *f = &r->form->fields[i];

		if ((f->type == FORM_DATE || f->type == FORM_DATETIME) && f->required &&
		    f->relevant == NULL) {
			r->date_field = f->name;
			break;
		}
	}
	if (strlen(by) >= sizeof(r->by_buf))
		return fail(err, errlen, FS_ERR_INVALID, "--by: too long%s", "");
	snprintf(r->by_buf, sizeof(r->by_buf), "%s", by);
	for (tok = strtok_r(r->by_buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		const struct form_field *f;

		if (r->nby == REPORT_MAX_BY)
			return fail(err, errlen, FS_ERR_INVALID, "--by: at most 4 dimensions%s", "");
		for (size_t i = 0; i < r->nby; i++)
			if (strcmp(r->by[i], tok) == 0)
				return fail(err, errlen, FS_ERR_INVALID, "--by: '%s' given twice", tok);
		if (strcmp(tok, "month") != 0 && !(strcmp(tok, REFERRED) == 0 && r->with_referred)) {
			f = strchr(tok, '/') == NULL ? form_field_find(r->form, tok) : NULL;
			if (f == NULL)
				return fail(err, errlen, FS_ERR_INVALID,
				    "--by: the form has no question '%.64s'", tok);
			if (f->sensitive)
				return fail(err, errlen, FS_ERR_INVALID,
				    "--by: '%.64s' is sensitive: a report never reads it", tok);
			if (f->type == FORM_SELECT_MULTIPLE || f->type == FORM_GEOPOINT ||
			    f->type == FORM_REPEAT || f->type == FORM_DECIMAL ||
			    f->type == FORM_DATETIME)
				return fail(err, errlen, FS_ERR_INVALID,
				    "--by: '%.64s' does not hold one value to group by", tok);
		}
		r->by[r->nby++] = tok;
	}
	if (r->nby == 0)
		return fail(err, errlen, FS_ERR_INVALID, "--by: no dimension%s", "");
	return FS_OK;
}

/* The fields a record is read for. */
static bool
wanted(const struct report *r, const char *field)
{
	if (r->date_field != NULL && strcmp(field, r->date_field) == 0)
		return true;
	for (size_t i = 0; i < r->nby; i++)
		if (strcmp(r->by[i], field) == 0)
			return true;
	for (size_t i = 1; i < r->ncols; i++)
		if (strcmp(r->cols[i].field, field) == 0)
			return true;
	return false;
}

static int
take_value(void *arg, const struct review_value *v)
{
	struct report *r = arg;
	cJSON *val;

	if (v->value == NULL || !wanted(r, v->field))
		return 0;
	if ((val = cJSON_Parse(v->value)) == NULL) {
		r->err = FS_ERR_NOMEM;
		return 1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(r->vals, v->field);
	cJSON_AddItemToObject(r->vals, v->field, val);
	return 0;
}

/* A value as the text of a dimension or a choice; "" when none. */
static void
text_of(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsBool(v))
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNumber(v))
		snprintf(buf, len, "%.15g", v->valuedouble);
	else
		buf[0] = '\0';
}

static fs_err
count_record(struct report *r, const struct review_record *rec)
{
	char date[64], key[1024] = "", part[256];
	size_t row, used = 0;

	text_of(r->date_field != NULL ? cJSON_GetObjectItemCaseSensitive(r->vals, r->date_field)
				       : NULL,
	    date, sizeof(date));
	if (date[0] == '\0')
		snprintf(date, sizeof(date), "%s", rec->created_at);
	if ((r->from != NULL && strncmp(date, r->from, 10) < 0) ||
	    (r->to != NULL && strncmp(date, r->to, 10) > 0))
		return FS_OK;
	for (size_t i = 0; i < r->nby; i++) {
		if (strcmp(r->by[i], "month") == 0)
			snprintf(part, sizeof(part), "%.7s", date);
		else
			text_of(cJSON_GetObjectItemCaseSensitive(r->vals, r->by[i]), part,
			    sizeof(part));
		/* A tab separates the parts: no choice or date holds one; text values lose theirs. */
		for (char *p = part; *p != '\0'; p++)
			if (*p == '\t' || *p == '\n' || *p == '\r')
				*p = ' ';
		used += (size_t)snprintf(key + used, sizeof(key) - used, "%s%s", i ? "\t" : "",
		    part[0] ? part : "(none)");
		if (used >= sizeof(key))
			used = sizeof(key) - 1;
	}
	if (report_table_row(r->t, key, &row) != FS_OK)
		return FS_ERR_NOMEM;
	r->records++;
	report_table_count(r->t, row, 0);
	for (size_t c = 1; c < r->ncols; c++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->vals, r->cols[c].field);

		if (r->cols[c].choice == NULL) {
			if (cJSON_IsTrue(v))
				report_table_count(r->t, row, c);
			continue;
		}
		text_of(v, part, sizeof(part));
		if (strcmp(part, r->cols[c].choice) == 0 ||
		    (r->cols[c].choice[0] == '\0' && !cJSON_IsString(v)))
			report_table_count(r->t, row, c);
	}
	return FS_OK;
}

static void
csv_cell(FILE *out, const char *s)
{
	bool formula = s[0] != '\0' && strchr("=+-@", s[0]) != NULL;

	if (strpbrk(s, ",\"\r\n") == NULL && !formula) {
		fputs(s, out);
		return;
	}
	/* Quoted; a leading formula character made text, as the export does. */
	fputc('"', out);
	if (formula)
		fputc('\'', out);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void
write_csv(const struct report *r, FILE *out)
{
	const struct report_table *t = r->t;

	for (size_t i = 0; i < r->nby; i++)
		fprintf(out, "%s%s", i ? "," : "", r->by[i]);
	for (size_t c = 0; c < r->ncols; c++) {
		fputc(',', out);
		csv_cell(out, r->cols[c].name);
	}
	fputs("\r\n", out);
	for (size_t row = 0; row < t->nrows; row++) {
		bool total = row + 1 == t->nrows;
		const char *k = t->row_keys[row];

		for (size_t i = 0; i < r->nby; i++) {
			size_t n = strcspn(k, "\t");
			char part[256];

			snprintf(part, sizeof(part), "%.*s", (int)n, k);
			if (i > 0)
				fputc(',', out);
			csv_cell(out, total ? (i == 0 ? "Total" : "") : part);
			k += n + (k[n] == '\t');
		}
		for (size_t c = 0; c < r->ncols; c++) {
			if (*report_hidden(t, row, c))
				fputs(",<5", out);
			else
				fprintf(out, ",%lld", (long long)*report_cell(t, row, c));
		}
		fputs("\r\n", out);
	}
}

static cJSON *
cells_json(const struct report *r, size_t row)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t c = 0; a != NULL && c < r->ncols; c++)
		cJSON_AddItemToArray(a, *report_hidden(r->t, row, c)
			? cJSON_CreateString("<5")
			: cJSON_CreateNumber((double)*report_cell(r->t, row, c)));
	return a;
}

static fs_err
write_json(const struct report *r, FILE *out, long hidden, int64_t threshold)
{
	cJSON *o = cJSON_CreateObject(), *by, *cols, *rows;
	char *text;

	if (o == NULL)
		return FS_ERR_NOMEM;
	cJSON_AddStringToObject(o, "form", r->form->id);
	cJSON_AddItemToObject(o, "from", r->from ? cJSON_CreateString(r->from) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "to", r->to ? cJSON_CreateString(r->to) : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "date", r->date_field ? r->date_field : "created_at");
	by = cJSON_AddArrayToObject(o, "by");
	for (size_t i = 0; by != NULL && i < r->nby; i++)
		cJSON_AddItemToArray(by, cJSON_CreateString(r->by[i]));
	cols = cJSON_AddArrayToObject(o, "columns");
	for (size_t c = 0; cols != NULL && c < r->ncols; c++)
		cJSON_AddItemToArray(cols, cJSON_CreateString(r->cols[c].name));
	cJSON_AddNumberToObject(o, "threshold", (double)threshold);
	cJSON_AddNumberToObject(o, "suppressed", (double)hidden);
	rows = cJSON_AddArrayToObject(o, "rows");
	for (size_t row = 0; rows != NULL && row + 1 < r->t->nrows; row++) {
		cJSON *x = cJSON_CreateObject(), *key = cJSON_AddObjectToObject(x, "by");
		const char *k = r->t->row_keys[row];

		for (size_t i = 0; key != NULL && i < r->nby; i++) {
			size_t n = strcspn(k, "\t");
			char part[256];

			snprintf(part, sizeof(part), "%.*s", (int)n, k);
			cJSON_AddStringToObject(key, r->by[i], part);
			k += n + (k[n] == '\t');
		}
		cJSON_AddItemToObject(x, "cells", cells_json(r, row));
		cJSON_AddItemToArray(rows, x);
	}
	cJSON_AddItemToObject(o, "total", cells_json(r, r->t->nrows - 1));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return FS_ERR_NOMEM;
	fputs(text, out);
	fputc('\n', out);
	cJSON_free(text);
	return FS_OK;
}

fs_err
report_write(struct store *store, const struct report_opts *o, FILE *out, int64_t *ret_records,
    char *err, size_t errlen)
{
	struct review_filter f = { .form = o->form, .scope = o->scope, .conflicts = -1, .deleted = 0 };
	struct report *r = calloc(1, sizeof(*r));
	struct formset *set = NULL;
	struct store_export *x = NULL;
	int64_t threshold = o->threshold > 0 ? o->threshold : REPORT_THRESHOLD;
	fs_err rc;
	long hidden;

	if (r == NULL)
		return FS_ERR_NOMEM;
	err[0] = '\0';
	if ((o->from != NULL && !form_date_valid(o->from)) || (o->to != NULL && !form_date_valid(o->to))) {
		rc = fail(err, errlen, FS_ERR_INVALID, "--from and --to are dates, YYYY-MM-DD%s", "");
		goto out;
	}
	if ((rc = formset_load(store, o->form, &set)) != FS_OK) {
		if (rc == FS_ERR_NOTFOUND)
			fail(err, errlen, rc, "no form '%.64s' is published", o->form);
		goto out;
	}
	r->form = formset_latest(set);
	r->from = o->from;
	r->to = o->to;
	if ((rc = plan_columns(r, err, errlen)) != FS_OK ||
	    (rc = plan_dimensions(r, o->by != NULL ? o->by : "district,month", err, errlen)) !=
		FS_OK)
		goto out;
	if ((r->t = report_table_new(r->ncols, r->group)) == NULL) {
		rc = FS_ERR_NOMEM;
		goto out;
	}
	if (r->with_referred) {
		if ((r->referred = cJSON_CreateObject()) == NULL) {
			rc = FS_ERR_NOMEM;
			goto out;
		}
		if ((rc = store_referral_list(store, NULL, take_referral, r)) == FS_OK)
			rc = r->err;
		if (rc != FS_OK)
			goto out;
	}
	if ((rc = store_export_open(store, &f, &x)) != FS_OK)
		goto out;
	for (;;) {
		struct review_record rec;
		bool done;

		if ((rc = store_export_next(x, &rec, &done)) != FS_OK || done)
			break;
		if ((r->vals = cJSON_CreateObject()) == NULL) {
			rc = FS_ERR_NOMEM;
			break;
		}
		rc = store_export_fields(x, rec.id, take_value, r);
		if (rc == FS_OK && r->err != FS_OK)
			rc = r->err;
		if (rc == FS_OK)
			rc = add_referred(r, rec.id);
		if (rc == FS_OK)
			rc = count_record(r, &rec);
		cJSON_Delete(r->vals);
		r->vals = NULL;
		if (rc != FS_OK)
			break;
	}
	if (rc != FS_OK)
		goto out;
	if ((hidden = report_table_finish(r->t, threshold)) < 0) {
		rc = FS_ERR_NOMEM;
		goto out;
	}
	if (o->json)
		rc = write_json(r, out, hidden, threshold);
	else
		write_csv(r, out);
	if (ret_records != NULL)
		*ret_records = r->records;
out:
	store_export_close(x);
	cJSON_Delete(r->referred);
	report_table_free(r->t);
	formset_free(set);
	free(r);
	return rc;
}

static const char usage_report[] =
    "usage: fieldsyncd [-f file] [-d data_dir] report --form FORM [--from DATE] [--to DATE]\n"
    "                  [--by DIM[,DIM...]] [--format csv|json] [--out FILE]\n"
    "  Counts the records of FORM (every published version, deleted ones left out)\n"
    "  by up to 4 dimensions, with the number of records, of each yes/no indicator,\n"
    "  of each risk level, each referral decision and each agency's answer to a\n"
    "  referral (referred=open|accepted|declined|closed).  Cells from 1 to 4 are shown\n"
    "  as \"<5\", and further cells are hidden so that none can be worked out from\n"
    "  the totals (complementary suppression).  Sensitive questions are never read.\n"
    "  --by DIMS       month (of the form's date), referred (the status of the\n"
    "                  record's latest referral to an agency), or questions of the\n"
    "                  form that are not sensitive: district, sector, risk_level ...;\n"
    "                  default district,month\n"
    "  --from, --to    inclusive dates (YYYY-MM-DD) on the form's date\n"
    "  --format        csv (default) or json\n"
    "  --out FILE      write FILE (mode 0600) instead of standard output\n"
    "  The report is written to the audit trail (actor \"cli\").\n";

int
report_main(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "form", required_argument, NULL, 'F' },
		{ "from", required_argument, NULL, 'a' },
		{ "to", required_argument, NULL, 'b' },
		{ "by", required_argument, NULL, 'B' },
		{ "format", required_argument, NULL, 'T' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct report_opts o = { 0 };
	const char *format = "csv", *path = NULL;
	struct store *store = NULL;
	char err[300], detail[400];
	int64_t n = 0;
	FILE *out = stdout;
	fs_err rc;
	int c;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'F': o.form = optarg; break;
		case 'a': o.from = optarg; break;
		case 'b': o.to = optarg; break;
		case 'B': o.by = optarg; break;
		case 'T': format = optarg; break;
		case 'o': path = optarg; break;
		case 'h':
			fputs(usage_report, stdout);
			return 0;
		default:
			fputs(usage_report, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || o.form == NULL) {
		fputs(usage_report, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
		fprintf(stderr, "fieldsyncd: --format must be csv or json\n");
		return EXIT_USAGE;
	}
	o.json = strcmp(format, "json") == 0;
	if (admin_open_store(cfg, &store) != 0)
		return 1;
	if (path != NULL && (out = fopen(path, "w")) == NULL) {
		fprintf(stderr, "fieldsyncd: cannot write %s\n", path);
		store_close(store);
		return 1;
	}
	rc = report_write(store, &o, out, &n, err, sizeof(err));
	if (path != NULL && fclose(out) != 0 && rc == FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot write %s\n", path);
		rc = FS_ERR_IO;
	}
	if (rc == FS_OK) {
		snprintf(detail, sizeof(detail), "form=%.64s by=%.200s from=%s to=%s records=%lld",
		    o.form, o.by != NULL ? o.by : "district,month", o.from ? o.from : "-",
		    o.to ? o.to : "-", (long long)n);
		(void)store_audit(store, "cli", "report", NULL, detail);
		fprintf(stderr, "fieldsyncd: report of %lld records of %s\n", (long long)n, o.form);
	} else {
		fprintf(stderr, "fieldsyncd: report: %s\n", err[0] ? err : fs_strerror(rc));
		if (path != NULL)
			remove(path);
	}
	store_close(store);
	return rc == FS_OK ? 0 : (rc == FS_ERR_INVALID || rc == FS_ERR_NOTFOUND ? EXIT_USAGE : 1);
}

/*
 * GET /v1/review/report?form=F&by=D,D&from=DATE&to=DATE&format=json|csv:
 * the report for a reviewer, over the teams the reviewer sees (the
 * review page draws it).  Audited as review.report.
 */
int
report_handle(struct server_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
	struct report_opts o = { 0 };
	const char *format = http_query(req, "format");
	char err[300], detail[400];
	char *buf = NULL;
	size_t len = 0;
	int64_t n = 0;
	FILE *mem;
	fs_err rc;

	o.form = http_query(req, "form");
	o.by = http_query(req, "by");
	o.from = http_query(req, "from");
	o.to = http_query(req, "to");
	o.scope = auth_review_scope(req->who);
	if (format == NULL)
		format = "json";
	if (o.form == NULL)
		return http_error(resp, 400, "bad_request", "'form' is required");
	if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
		return http_error(resp, 400, "bad_request", "'format' must be json or csv");
	o.json = strcmp(format, "json") == 0;
	if ((mem = open_memstream(&buf, &len)) == NULL)
		return http_error(resp, 500, "internal", "out of memory");
	rc = report_write(ctx->store, &o, mem, &n, err, sizeof(err));
	if (fclose(mem) != 0 && rc == FS_OK)
		rc = FS_ERR_NOMEM;
	if (rc != FS_OK) {
		free(buf);
		if (rc == FS_ERR_INVALID)
			return http_error(resp, 400, "bad_request", err);
		if (rc == FS_ERR_NOTFOUND)
			return http_error(resp, 404, "not_found", "the form is not published");
		return http_error_fs(resp, rc, "could not make the report");
	}
	snprintf(detail, sizeof(detail), "form=%.64s by=%.200s from=%s to=%s records=%lld", o.form,
	    o.by != NULL ? o.by : "district,month", o.from ? o.from : "-", o.to ? o.to : "-",
	    (long long)n);
	if ((rc = store_audit(ctx->store, req->who->name, "review.report", NULL, detail)) != FS_OK) {
		free(buf);
		return http_error_fs(resp, rc, "could not write the audit entry; no report");
	}
	log_info("review %s: %s reports form %s", req->request_id, req->who->name, o.form);
	resp->status = 200;
	resp->content_type =
	    o.json ? "application/json; charset=utf-8" : "text/csv; charset=utf-8";
	resp->body = buf;
	resp->body_len = len;
	return 0;
}
