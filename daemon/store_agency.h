/*
 * store_agency.h -- agencies and the referral index in the central store
 * (issue 20, items 1 and 2).
 *
 * An agency (Labour Department, Human Services, Police, ...) owns teams;
 * devices and reviewers belong to a team, so to the team's agency.  A
 * team belongs to at most one agency (agency.c checks it); a team no
 * agency owns works as before agencies existed.
 *
 * A referral is a record of the built-in form "referral" (referral.c):
 * synced data, merged like any other.  The referrals table indexes those
 * records -- which record was referred, to which agency, its status -- so
 * the review API can answer "may this reader see this record" with one
 * clause.  Only headquarters writes referral records, always together
 * with the index row, in one store_push transaction.
 */
#ifndef FS_DAEMON_STORE_AGENCY_H
#define FS_DAEMON_STORE_AGENCY_H

#include <stdbool.h>

#include "fieldsync.h"

struct store;
struct store_push;

struct store_agency {
	const char *name;  /* short name, auth_valid_name() */
	const char *title; /* "Department of Human Services" */
	const char *teams; /* JSON array of team names */
	const char *created_at;
};

/* Non-zero from a callback stops the walk (FS_OK is returned). */
typedef int (*store_agency_cb)(void *arg, const struct store_agency *a);

/*
 * Creates agency name (create true; FS_ERR_EXISTS if there) or replaces
 * the title and teams of an existing one (create false; FS_ERR_NOTFOUND
 * if absent).  teams is a JSON array of valid team names.
 */
fs_err store_agency_save(struct store *store, const char *name, const char *title,
    const char *teams, bool create);

/* Every agency, by name.  The row's strings are valid during the call. */
fs_err store_agency_list(struct store *store, store_agency_cb cb, void *arg);

/* One referral, as indexed. */
struct store_referral {
	const char *id;        /* the referral record's id */
	const char *record_id; /* the record referred */
	const char *agency;    /* the agency it went to */
	const char *status;    /* open, accepted, declined, closed */
	const char *case_number;
	const char *owner; /* NULL: nobody yet */
	const char *due;   /* YYYY-MM-DD or NULL */
	const char *created_by;
	const char *created_at;
	const char *updated_at;
};

typedef int (*store_referral_cb)(void *arg, const struct store_referral *r);

/*
 * Writes the index row of referral r->id inside push (insert or replace;
 * created_by and created_at are kept from the first write, updated_at is
 * the transaction's time).
 */
fs_err store_push_referral_save(struct store_push *push, const struct store_referral *r);

/*
 * The referrals of record_id, or every referral when record_id is NULL,
 * oldest first.  The row's strings are valid during the call.
 */
fs_err store_referral_list(
    struct store *store, const char *record_id, store_referral_cb cb, void *arg);

#endif /* FS_DAEMON_STORE_AGENCY_H */
