/*
 * review_points.c -- GET /v1/review/points?form=F (issue 20, item 5): where
 * the records of a form were made, for the review page's map: each record
 * the reviewer's teams hold (deleted ones left out) that has a value in
 * the form's location question (its first geopoint that is not
 * sensitive), with its risk level when the form has one.  The page draws
 * them on the outline of Belize it carries (daemon/web/belize.json).
 * Not audited, as the list is not: no sensitive value is read.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "form.h"
#include "formset.h"
#include "http.h"
#include "review_api.h"
#include "server.h"
#include "store.h"
#include "store_review.h"

#define POINTS_MAX 50000 /* more are counted, not listed */

struct points {
	const char *where, *risk; /* the fields read */
	cJSON *point;             /* the current record's */
	cJSON *list;
	int64_t listed, without, over;
	fs_err err;
};

static int
take(void *arg, const struct review_value *v)
{
	struct points *p = arg;
	cJSON *val;

	if (v->value == NULL ||
	    (strcmp(v->field, p->where) != 0 && (p->risk == NULL || strcmp(v->field, p->risk) != 0)))
		return 0;
	if ((val = cJSON_Parse(v->value)) == NULL) {
		p->err = FS_ERR_NOMEM;
		return 1;
	}
	if (strcmp(v->field, p->where) == 0) {
		const cJSON *lat = cJSON_GetObjectItemCaseSensitive(val, "lat");
		const cJSON *lon = cJSON_GetObjectItemCaseSensitive(val, "lon");

		if (cJSON_IsNumber(lat) && cJSON_IsNumber(lon)) {
			cJSON_AddNumberToObject(p->point, "lat", lat->valuedouble);
			cJSON_AddNumberToObject(p->point, "lon", lon->valuedouble);
		}
	} else if (cJSON_IsString(val)) {
		cJSON_AddStringToObject(p->point, "risk", val->valuestring);
	}
	cJSON_Delete(val);
	return 0;
}

int
review_handle_points(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp)
{
	struct review_filter f = { .conflicts = -1, .deleted = 0 };
	struct points p = { 0 };
	struct formset *set = NULL;
	struct store_export *x = NULL;
	const struct form *form;
	cJSON *obj;
	fs_err err;

	f.form = http_query(req, "form");
	f.scope = auth_review_scope(req->who);
	if (f.form == NULL || f.form[0] == '\0' || strlen(f.form) > FORM_NAME_MAX)
		return http_error(resp, 400, "bad_request", "'form' is required");
	if ((err = formset_load(ctx->store, f.form, &set)) != FS_OK)
		return http_error_fs(resp, err,
		    err == FS_ERR_NOTFOUND ? "the form is not published" : "could not read the form");
	form = formset_latest(set);
	for (size_t i = 0; i < form->nfields && p.where == NULL; i++)
		if (form->fields[i].type == FORM_GEOPOINT && !form->fields[i].sensitive)
			p.where = form->fields[i].name;
	if (form_field_find(form, "risk_level") != NULL && !form_field_find(form, "risk_level")->sensitive)
		p.risk = "risk_level";
	obj = cJSON_CreateObject();
	p.list = cJSON_AddArrayToObject(obj, "points");
	cJSON_AddItemToObject(obj, "field", p.where != NULL ? cJSON_CreateString(p.where) : cJSON_CreateNull());
	err = p.where != NULL ? store_export_open(ctx->store, &f, &x) : FS_OK;
	while (err == FS_OK && x != NULL) {
		struct review_record rec;
		bool done;

		if ((err = store_export_next(x, &rec, &done)) != FS_OK || done)
			break;
		if ((p.point = cJSON_CreateObject()) == NULL) {
			err = FS_ERR_NOMEM;
			break;
		}
		cJSON_AddStringToObject(p.point, "id", rec.id);
		err = store_export_fields(x, rec.id, take, &p);
		if (err == FS_OK && p.err != FS_OK)
			err = p.err;
		if (cJSON_GetObjectItemCaseSensitive(p.point, "lat") == NULL) {
			p.without++;
			cJSON_Delete(p.point);
		} else if (p.listed == POINTS_MAX) {
			p.over++;
			cJSON_Delete(p.point);
		} else {
			cJSON_AddItemToArray(p.list, p.point);
			p.listed++;
		}
		p.point = NULL;
	}
	store_export_close(x);
	formset_free(set);
	if (err != FS_OK) {
		cJSON_Delete(obj);
		return http_error_fs(resp, err, "could not read the records");
	}
	cJSON_AddNumberToObject(obj, "without_location", (double)p.without);
	cJSON_AddNumberToObject(obj, "not_listed", (double)p.over);
	return http_reply_json(resp, 200, obj);
}
