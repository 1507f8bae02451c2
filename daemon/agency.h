/*
 * agency.h -- agencies own teams (issue 20, item 1).
 *
 * Labour Department, Immigration, Police, Human Services, Customs, the
 * prosecutors' office: each agency owns teams, and a device or reviewer
 * belongs to the agency of its team (`device add --team T`).  The agency
 * decides what a reviewer sees beyond its teams: the records referred to
 * its agency (referral.h).  A team no agency owns works as before.
 *
 *   fieldsyncd agency add NAME --title TITLE [--team TEAM ...]
 *   fieldsyncd agency teams NAME --team TEAM [--team TEAM ...]
 *   fieldsyncd agency list [--json]
 */
#ifndef FS_DAEMON_AGENCY_H
#define FS_DAEMON_AGENCY_H

#include <stdio.h>

#include "auth.h"
#include "fieldsync.h"

struct config;
struct store;

/* The agency that owns team, into ret ("" when none owns it). */
fs_err agency_of_team(struct store *store, const char *team, char ret[AUTH_NAME_MAX + 1]);

/*
 * The title of agency name into title (size bytes, may be NULL);
 * FS_ERR_NOTFOUND when there is no such agency.
 */
fs_err agency_find(struct store *store, const char *name, char *title, size_t size);

/* `fieldsyncd agency ...`; returns the exit status. */
int agency_main(const struct config *cfg, int argc, char **argv);
void agency_usage_lines(FILE *fp);

#endif /* FS_DAEMON_AGENCY_H */
