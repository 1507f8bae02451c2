/*
 * store_pg_agency.c -- agencies and the referral index, PostgreSQL
 * backend (store_agency.h).  The index row written inside a push is in
 * store_pg_push.c, which owns the push's connection.
 */
#include <stdlib.h>
#include <string.h>

#include "store_pg_internal.h"

fs_err
pg_agency_save(
    struct store *store, const char *name, const char *title, const char *teams, bool create)
{
	char now[32];
	const char *p[] = { name, title, teams, now };
	PGresult *r;
	fs_err err;

	pg_now_text(now);
	if (create)
		return pg_run(store_pg_conn(store), "agency add", NULL,
		    "INSERT INTO agencies(name, title, teams, created_at) VALUES($1, $2, $3, $4)", 4, p);
	if ((err = pg_run(store_pg_conn(store), "agency save", &r,
		 "UPDATE agencies SET title = $2, teams = $3 WHERE name = $1", 3, p)) != FS_OK)
		return err;
	if (strtoll(PQcmdTuples(r), NULL, 10) == 0)
		err = FS_ERR_NOTFOUND;
	PQclear(r);
	return err;
}

fs_err
pg_agency_list(struct store *store, store_agency_cb cb, void *arg)
{
	struct store_agency a;
	PGresult *r;
	fs_err err;

	if ((err = pg_run(store_pg_conn(store), "agency list", &r,
		 "SELECT name, title, teams, created_at FROM agencies ORDER BY name", 0, NULL)) != FS_OK)
		return err;
	for (int i = 0; i < PQntuples(r); i++) {
		a.name = pg_text(r, i, 0);
		a.title = pg_text(r, i, 1);
		a.teams = pg_text(r, i, 2);
		a.created_at = pg_text(r, i, 3);
		if (cb(arg, &a) != 0)
			break;
	}
	PQclear(r);
	return FS_OK;
}

fs_err
pg_referral_list(struct store *store, const char *record_id, store_referral_cb cb, void *arg)
{
	const char *p[] = { record_id };
	struct store_referral x;
	PGresult *r;
	fs_err err;

	if ((err = pg_run(store_pg_conn(store), "referral list", &r,
		 "SELECT id, record_id, agency, status, case_number, owner, due, created_by,"
		 " created_at, updated_at FROM referrals WHERE $1::text IS NULL OR record_id = $1"
		 " ORDER BY created_at, id",
		 1, p)) != FS_OK)
		return err;
	for (int i = 0; i < PQntuples(r); i++) {
		x.id = pg_text(r, i, 0);
		x.record_id = pg_text(r, i, 1);
		x.agency = pg_text(r, i, 2);
		x.status = pg_text(r, i, 3);
		x.case_number = pg_text(r, i, 4);
		x.owner = pg_text_or_null(r, i, 5);
		x.due = pg_text_or_null(r, i, 6);
		x.created_by = pg_text(r, i, 7);
		x.created_at = pg_text(r, i, 8);
		x.updated_at = pg_text(r, i, 9);
		if (cb(arg, &x) != 0)
			break;
	}
	PQclear(r);
	return FS_OK;
}
