/*
 * export.h -- CSV and JSON exports of the records of one form: one row per
 * record, one column per field of the union of the form's versions
 * (formset.h) plus a form_version column, streamed.
 *
 * An export is pulled piece by piece with export_read(): only the current
 * record is in memory, read through the store's export cursor (its own
 * connection and snapshot), so 100 000 records never sit in memory at
 * once.  The same code serves GET /v1/review/export (a streamed HTTP
 * answer) and `fieldsyncd export` (admin_review.c).
 *
 * CSV follows RFC 4180 (CRLF line ends, fields with a comma, quote, CR or
 * LF quoted, quotes doubled) and is protected against formula injection: a
 * text cell that starts with = + - @, a tab or a CR gets a leading '
 * (common/csv.h, which the fuzz suite exercises).
 * Sensitive columns are left out unless include_sensitive is set (the
 * caller audits the export either way).
 */
#ifndef FS_DAEMON_EXPORT_H
#define FS_DAEMON_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "fieldsync.h"
#include "store_review.h"

struct server_ctx;
struct http_request;
struct http_response;
struct store;

enum export_format {
	EXPORT_CSV,
	EXPORT_JSON,
};

struct export;

/*
 * Starts an export of the records matching f (f->form is required).
 * FS_ERR_NOTFOUND if the form was never published.  Release with
 * export_free().
 */
fs_err export_open(struct store *store, const struct review_filter *f, enum export_format format,
    bool include_sensitive, struct export **ret_x);

/*
 * Writes the next bytes of the export into buf (max >= 1 bytes).  Returns
 * the number written, 0 at the end, or -1 if the store failed (the export
 * is then incomplete and must be discarded).
 */
ssize_t export_read(struct export *x, char *buf, size_t max);

/*
 * Opens sealed sensitive values with open (issue 17: hq_open_tree() with
 * keys the CLI unlocked, or a reviewer's unlocked keys) instead of
 * writing their envelopes; arg must outlive the export.  Only with
 * include_sensitive.  The counts: values opened, and left sealed because
 * no key opens them.
 */
typedef fs_err (*export_opener)(void *arg, cJSON *tree, int *ret_opened, int *ret_closed);
void export_set_opener(struct export *x, export_opener open, void *arg);
void export_sealed_counts(const struct export *x, int64_t *ret_opened, int64_t *ret_still);

/* Records written so far. */
int64_t export_count(const struct export *x);

/*
 * The audit entry's detail of an export (issue 15): the form, format,
 * whether sensitive values are in it, every filter given, and the number
 * of records matching when it starts ("rows=N"), then extra (may be NULL).
 * Filter values are names and dates, never field values; each is cut at
 * 64 bytes.  FS_OK, or the store's error counting the rows.
 */
fs_err export_audit_detail(struct store *store, const struct review_filter *f,
    const char *format, bool include_sensitive, const char *extra, char *buf, size_t len);

/* Frees the export.  Accepts NULL. */
void export_free(struct export *x);

/* GET /v1/review/export (docs/PROTOCOL.md). */
int export_handle(
    struct server_ctx *ctx, const struct http_request *req, struct http_response *resp);

#endif /* FS_DAEMON_EXPORT_H */
