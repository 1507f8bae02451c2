/*
 * sync_internal.h -- what the sync modules share: one run's state and the
 * request helpers.
 *
 * fs_sync() (sync.c) owns the run: it lives on fs_sync()'s stack for one
 * call, and sync_push.c and sync_pull.c work on it and add to its counts.
 * Requests, their retries and the mapping of refusals to errors are
 * sync.c's, so both sides retry and report the same way.  Nothing here is
 * installed or exported.
 */
#ifndef FS_CLIENT_SYNC_INTERNAL_H
#define FS_CLIENT_SYNC_INTERNAL_H

#include <stdbool.h>

#include "http.h"
#include "internal.h"

/*
 * One fs_sync() call.  c and o are the caller's, borrowed for the call;
 * res is copied out to the caller at the end; prog is what the progress
 * callback is shown (borrowed by it only during the call).
 */
struct sync_run {
	fs_client *c;
	fs_sync_options opts;      /* the caller's options, extended with defaults */
	const fs_sync_options *o;  /* &opts */
	fs_sync_result res;
	fs_sync_progress prog;
	bool restored; /* the server lost data; push everything again */
	bool acked_checked; /* a push answer carried the restore check */
	bool cancelled; /* a progress callback asked to stop */
	int forms_skipped; /* published definitions this build cannot read */
	int64_t last_progress_ms; /* when the callbacks last heard of a running request */
	int relinks; /* chains re-linked after the server's head this sync (signing.c) */
	bool wipe; /* the server answered 410 wipe: this device was revoked (wipe.c) */
};

/*
 * wipe.c: erases the store of a device the server revoked with --wipe
 * (every file overwritten, then removed; the handle is left on an empty
 * in-memory store) and confirms it with POST /v1/wipe.  Returns
 * FS_ERR_WIPED with the message saying what was done.
 */
fs_err sync_wipe(struct sync_run *run);

/*
 * sync.c: fills run->prog from run->res and calls the caller's progress
 * callbacks, if any; one that asks to cancel sets run->cancelled.
 */
void sync_progress(struct sync_run *run, const char *phase, int attempt);

/*
 * sync.c: one try of a request, counted in run->res.  FS_OK with a 2xx or
 * 4xx answer in *a (the caller releases it with http_answer_finish()).
 * A 429 or 5xx answer is FS_ERR_SERVER (released; a->retry_after_s kept).
 */
fs_err sync_attempt(struct sync_run *run, const char *phase, int attempt, const char *method,
    const char *path, const struct http_body *body, struct http_answer *a);

/* sync.c: true for the errors another try may cure (network, server, garbled answer). */
bool sync_retryable(fs_err err);

/*
 * Tries in a row that find no link at all (connection refused, or cut
 * before the request went out) before a sync gives up: polled every
 * backoff_ms / 2 or so, SYNC_POLLS_PER_ATTEMPT for each attempt after
 * the first (50 polls, 25 to 50 s, with the defaults; none with
 * max_attempts 1).  They do not count as attempts otherwise.
 */
#define SYNC_POLLS_PER_ATTEMPT 10

/*
 * sync.c: the wait before the try after attempt failed ones: backoff from
 * backoff_ms, doubled per attempt up to backoff_max_ms, with jitter, at
 * least Retry-After; with no link at all, a short poll instead.
 */
int64_t sync_retry_delay(const struct sync_run *run, int attempt, long retry_after_s, bool no_link);

/*
 * sync.c: waits delay_ms, telling the progress callbacks why.
 * FS_ERR_CANCELLED if a callback asked to stop meanwhile.
 */
fs_err sync_wait(struct sync_run *run, const char *phase, int64_t delay_ms);

/* sync.c: sets the client's clock offset from the server's time in answer a. */
void sync_learn_time(struct sync_run *run, const struct http_answer *a);

/*
 * sync.c: one request with retries and backoff, counted in run->res.
 * FS_OK with a 2xx or a final 4xx answer in *a, which the caller releases
 * with http_answer_finish(); an error (and nothing to release) when the
 * server stayed unreachable or failing.  body (may be NULL) stays the
 * caller's.
 */
fs_err sync_request(struct sync_run *run, const char *phase, const char *method, const char *path,
    const struct http_body *body, struct http_answer *a);

/* sync.c: maps a final 4xx answer to an error with the server's detail (a stays the caller's). */
fs_err sync_answer_error(struct sync_run *run, const struct http_answer *a);

/* sync_push.c: sends every pending change in batches and marks them from the answers. */
fs_err sync_push_all(struct sync_run *run);

/*
 * sync_pull.c: checks that the server still holds the last acknowledged
 * point, with a request of its own, when the pull cursor is behind it and
 * no push answer carried the check; FS_ERR_SERVER with run->restored set
 * when it lost data (everything is then marked unsent again).
 */
fs_err sync_check_acked(struct sync_run *run);

/*
 * sync_pull.c: the server lost changes it had acknowledged (restored from
 * an older backup): every change of this device is marked unsent, the
 * cursors restart, run->restored is set and FS_ERR_SERVER returned.
 */
fs_err sync_server_lost_data(struct sync_run *run, int64_t cursor);

/*
 * sync_pull.c: pulls and merges every page after the device's cursor;
 * FS_ERR_SERVER with run->restored set when the server lost data.
 */
fs_err sync_pull_all(struct sync_run *run);

/* sync_pull.c: fetches the published forms into the store. */
fs_err sync_fetch_forms(struct sync_run *run);

/*
 * sync_pull.c: folds the server's newest stamp of this device (own_hlc,
 * NULL for none) into the clock, inside the caller's transaction;
 * FS_ERR_CLONED when it is newer than anything this device stamped.
 */
fs_err sync_own_hlc_check(fs_client *c, const char *own_hlc);

/*
 * sync_snapshot.c: a device that has pulled nothing yet takes each
 * record's row from GET /v1/snapshot, page by page (resumed after a cut),
 * then its pull cursor starts where the snapshot was taken.  Does nothing
 * when the device has pulled before or the server has no snapshot.
 */
fs_err sync_snapshot(struct sync_run *run);

#endif /* FS_CLIENT_SYNC_INTERNAL_H */
