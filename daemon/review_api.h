/*
 * review_api.h -- the review API for headquarters (docs/PROTOCOL.md,
 * "Review API"): records by filter, one record with its values, conflicts
 * and history, review status, reveal of sensitive values, conflict
 * resolution.  Every route needs AUTH_REVIEW (reviewer or admin tokens).
 *
 * Sensitive values (a field marked sensitive in any version of its form)
 * never leave these handlers unmasked except through POST .../reveal,
 * which writes an audit entry first.  Nothing here logs a value.
 *
 * The handlers are split by concern: review_api.c (filters, list, status,
 * who am I), review_record.c (one record, reveal), review_resolve.c
 * (resolution).  The CSV/JSON export is in export.c.
 */
#ifndef FS_DAEMON_REVIEW_API_H
#define FS_DAEMON_REVIEW_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "store_review.h"

struct server_ctx;
struct http_request;
struct http_response;

#define REVIEW_SEARCH_MAX 100 /* bytes of a text search (q=) */

/* A review filter parsed from a query string, with the buffers it points into. */
struct review_query {
	struct review_filter f;
	char from[32], to[32]; /* normalised bounds */
	int64_t limit, offset;
	const char *format;     /* export only: "csv" or "json" */
	bool include_sensitive; /* export only */
	char search[REVIEW_SEARCH_MAX + 1];
	char qfields[8192];     /* f.search_fields: the non-sensitive text fields of every form */
	char dfields[1024];     /* f.date_fields: each form's date question */
	char agency[65];        /* f.agency / f.referred=us: the reader's agency */
};

/*
 * Parses the query parameters of req into q (docs/PROTOCOL.md lists them).
 * export says whether format and include_sensitive are allowed.  An
 * indicator filter on a field that a published form marks sensitive is
 * refused (400 sensitive_filter): it would disclose the value unaudited.
 * q->f.scope limits the filter to the reader's teams (auth_review_scope());
 * a team filter naming a team outside them is refused (403 forbidden,
 * audited as review.denied).
 * Returns true, or false with an error answer already in resp.
 */
bool review_query_parse(struct store *store, const struct http_request *req, bool export,
    struct review_query *q, struct http_response *resp);

/*
 * Normalises a date bound: YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS[.fff]Z, into
 * ISO text with milliseconds comparable with the store's times.  An upper
 * bound given as a date covers the whole day.  Returns 0 or -1.
 */
int review_date_bound(const char *text, bool upper, char ret[32]);

/* True if s is a record id (32 lower-case hex digits). */
bool review_valid_id(const char *s);

/* Parses a stored value (JSON text, NULL for null) into a new cJSON item. */
cJSON *review_value_json(const char *text);

/* The review status a reviewer may set: reviewed, follow_up, referred. */
bool review_status_settable(const char *status);

/*
 * The route check of every /v1/review/records/ID route: a reviewer may
 * touch only records of its teams (auth_sees_team()).  Another team's
 * record gets 403 forbidden and an audit entry review.denied (who, the
 * record, its team, the route); no value is read.  A malformed or unknown
 * id goes on to the handler, which answers 404 as before.
 */
bool review_check_record(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

/*
 * The same for the routes that read a record (view, reveal, print): a
 * record referred to the reader's agency passes too (issue 20).  A
 * referral lets the agency read the case, with its own audited reveal,
 * not decide on the referring side's record: status, assignment,
 * resolution and onward referral keep review_check_record().  The agency
 * answers the referral itself (POST /v1/review/referrals/RID).
 */
bool review_check_record_read(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

int review_handle_me(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
/* GET /v1/review/points?form=F: the records' locations for the map (review_points.c). */
int review_handle_points(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

int review_handle_list(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
int review_handle_record(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
int review_handle_assign(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
int review_handle_status(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
/*
 * POST /v1/review/records/ID/print {"revealed": bool}: the page is about
 * to print the record as a case file (issue 16, item 4a); audited as
 * casefile.print before the page prints.  200 {"audited": true}, or 404.
 */
int review_handle_print(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

int review_handle_reveal(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
/*
 * POST /v1/review/unlock {"passphrase": TEXT}: unlocks headquarters'
 * sealing keys for this reviewer (unlock_hold.h); 200 {"unlocked_seconds",
 * "keys"}, 403 wrong_passphrase, 429 too_many_attempts (Retry-After), 404
 * no_key.  POST /v1/review/lock wipes them now.  Both audited.
 */
int review_handle_unlock(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
int review_handle_lock(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);
int review_handle_resolve(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

#endif /* FS_DAEMON_REVIEW_API_H */
