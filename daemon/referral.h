/*
 * referral.h -- one agency hands a case to another (issue 20, item 2).
 *
 * A referral is a record of the built-in form "referral" (published by
 * the daemon with the first referral, so devices receive it with the
 * other forms):
 *
 *   record, agency, case_number, status (open, accepted, declined,
 *   closed), owner, due, reason (sensitive), decline_reason (sensitive)
 *
 * It is written only by headquarters (a reviewer through the review API),
 * as changes signed by the server's key (hq_change.h), stored under the
 * referred record's team: the devices of the team that found the case
 * pull it like any change and see its status; its reasons are sealed to
 * headquarters' key when there is one, so a device never reads them.  A
 * field device pushing a change of this form is refused.  Being synced
 * data, a referral is merged field by field like any record: two reviewers
 * who change it at once keep both values as a conflict, nothing is lost.
 *
 * Who reads what (store_agency.h indexes the referrals): a reviewer sees
 * the records of its teams, plus the records referred to its agency that
 * its agency did not decline, with their history from the referral on,
 * and their sensitive values only through its own audited reveal.
 *
 * Routes (docs/PROTOCOL.md, "Referrals"):
 *   POST /v1/review/records/ID/refer   {"agency", "reason", "due"?, "case_number"?}
 *   POST /v1/review/referrals/RID      {"status"?, "owner"?, "due"?, "reason"?}
 *   GET  /v1/review/referrals          [?to=us|from=us]
 */
#ifndef FS_DAEMON_REFERRAL_H
#define FS_DAEMON_REFERRAL_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "fieldsync.h"
#include "protocol.h"

#define REFERRAL_FORM FS_REFERRAL_FORM
#define REFERRAL_TEXT_MAX 2000 /* bytes of a reason */

struct server_ctx;
struct http_request;
struct http_response;
struct store;

/* Publishes the built-in referral form if the store lacks it (at the first referral). */
fs_err referral_form_publish(struct store *store);

/*
 * The agency of who's own team into ret ("" for none, and for readers
 * who see every team: they need no referral to read a record).
 */
fs_err referral_reader_agency(
    struct store *store, const struct auth_identity *who, char ret[AUTH_NAME_MAX + 1]);

/*
 * Whether a reader of agency (non-empty) may read record id because of a
 * referral: id was referred to agency and not declined, or id is a
 * referral to agency.  *ret_since is when the first such referral was made
 * (the history shown starts there); "" when *ret_ok is false.
 */
fs_err referral_grants(struct store *store, const char *agency, const char *id, bool *ret_ok,
    char ret_since[32]);

/*
 * The referrals of record_id a reader sees, as a JSON array the caller
 * owns: every one when it sees the record's team, else those to its
 * agency mine.  Never a reason.
 */
cJSON *referral_record_json(
    struct store *store, const char *record_id, bool sees_team, const char *mine);

int referral_handle_refer(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
int referral_handle_update(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
/* GET /v1/review/agencies: {"mine": NAME | null, "agencies": [{"name", "title"}]}. */
int referral_handle_agencies(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
int referral_handle_list(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

#endif /* FS_DAEMON_REFERRAL_H */
