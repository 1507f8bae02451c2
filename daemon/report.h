/*
 * report.h -- the situation report (issue 20, item 4): how many records of
 * a form, by district, month, sector or any other non-sensitive question,
 * with the indicators, risk levels and referral outcomes counted, small
 * cells suppressed (report_table.h).  For the national anti-trafficking
 * council's yearly counts.  docs/OPERATIONS.md, "Situation report".
 *
 * The report reads the current values of the records through the store's
 * export cursor, never a sensitive field, and writes counts only.
 */
#ifndef FS_DAEMON_REPORT_H
#define FS_DAEMON_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "fieldsync.h"

struct store;

#define REPORT_MAX_BY 4

struct report_opts {
	const char *form;
	const char *from, *to; /* YYYY-MM-DD, inclusive, on the form's date; NULL: open */
	const char *by;        /* comma-separated dimensions; NULL: "district,month" */
	const char *scope;     /* JSON array of the teams the reader sees; NULL: all */
	int64_t threshold;     /* 0: REPORT_THRESHOLD */
	int json;              /* 0: CSV */
};

/*
 * Builds the report and writes it to out.  FS_ERR_INVALID or
 * FS_ERR_NOTFOUND with a message for the user in err (a dimension the form
 * does not have, a sensitive one, a bad date, no such form); FS_ERR_NOMEM,
 * a store error.  *ret_records (may be NULL) is the number of records
 * counted.
 */
fs_err report_write(struct store *store, const struct report_opts *o, FILE *out,
    int64_t *ret_records, char *err, size_t errlen);

struct server_ctx;
struct http_request;
struct http_response;

/* GET /v1/review/report (routes.c): the report over the reviewer's teams, audited. */
int report_handle(struct server_ctx *ctx, const struct http_request *req,
    struct http_response *resp);

/* fieldsyncd report ... (admin command). */
int report_main(const struct config *cfg, int argc, char **argv);

#endif /* FS_DAEMON_REPORT_H */
