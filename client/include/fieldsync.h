/*
 * fieldsync.h -- the public API of libfieldsync, the device-side library.
 *
 * libfieldsync records screening forms offline on a field device, in one
 * SQLite file, and keeps an append-only change log that is later pushed to a
 * fieldsyncd server.  Everything not declared here is private.
 *
 * Conventions
 *  - Every function returns an fs_err.  FS_OK is 0.  A longer, human readable
 *    explanation of the last failure on a handle is in fs_errmsg(handle); it
 *    names fields and rules, never field values.
 *  - Output parameters are named ret_* and are written only on success.
 *  - A returned `char *` belongs to the caller and is released with fs_free().
 *    A returned `const char *` is borrowed and valid as documented.
 *  - Records and field values cross the API as JSON text (UTF-8).  A record
 *    value object maps field names to JSON values: text, date, datetime and
 *    select_one are strings, integer and decimal are numbers, boolean is
 *    true/false, select_multiple is an array of strings, geopoint is an
 *    object {"lat": n, "lon": n} with optional "alt" and "acc".  null clears
 *    a field.  schema/FORMS.md is the full reference.
 *  - Threads: a handle may be used by one thread at a time.  Different
 *    handles, even on the same file, may be used concurrently.
 *  - The library keeps no global mutable state and never logs.
 */
#ifndef FIELDSYNC_H
#define FIELDSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "fieldsync_err.h"

#define FS_VERSION_MAJOR 0
#define FS_VERSION_MINOR 3
#define FS_VERSION_PATCH 0
#define FS_VERSION_STRING "0.3.0"

/*
 * The version of the library that is running (which may be newer than
 * the header a program was built with), as "MAJOR.MINOR.PATCH".  Static.
 */
FS_API const char *fs_version(void);

/* An open device store.  Opaque. */
typedef struct fs_client fs_client;

/*
 * Opens (creating if needed) the device store at path, applies pending
 * schema migrations, and sets WAL and synchronous=FULL.
 * On success *ret_client owns the handle; release it with fs_close().
 * On failure *ret_client is untouched; errors are FS_ERR_IO, FS_ERR_DB,
 * FS_ERR_CORRUPT, FS_ERR_SCHEMA, FS_ERR_NOMEM, FS_ERR_MISUSE.
 */
FS_API fs_err fs_open(const char *path, fs_client **ret_client);

/*
 * Opens (or creates, when path is missing or empty) an encrypted device
 * store: every page of the store and of its WAL sealed under a key drawn
 * from secret (the officer's PIN or passphrase, secret_len bytes) with
 * Argon2id; temporary files stay in memory.  See client/crypt_vfs.h.
 * FS_ERR_KEY: secret does not open this store (nothing was read or
 * changed); FS_ERR_INVALID: the store is not encrypted.  On failure msg
 * (msglen bytes; may be NULL) says why.  fs_open() on an encrypted store
 * fails with FS_ERR_KEY.  The library does not keep secret.
 */
FS_API fs_err fs_open_encrypted(const char *path, const char *secret, size_t secret_len,
    fs_client **ret_client, char *msg, size_t msglen);

/*
 * Encrypts the plain store at path with secret (copied through the
 * encrypting VFS, checked, then renamed over it; on failure the plain
 * store is left as it was).  No handle may be open on it.  msg (msglen
 * bytes) says why on failure.  FS_ERR_INVALID when it is not a plain
 * store.
 */
FS_API fs_err fs_store_encrypt(const char *path, const char *secret, size_t secret_len,
    char *msg, size_t msglen);

/* Whether the store at path is encrypted (false for a missing file). */
FS_API fs_err fs_store_encrypted(const char *path, bool *ret_encrypted);

/* Closes a handle.  Accepts NULL. */
FS_API void fs_close(fs_client *client);

/*
 * The explanation of the last failure on this handle, or "" if none.
 * Borrowed: valid until the next call on the handle.  Accepts NULL.
 */
FS_API const char *fs_errmsg(const fs_client *client);

/* Releases memory returned by the library.  Accepts NULL. */
FS_API void fs_free(void *ptr);

/*
 * Initialises the store as a device: draws a random device id and records
 * the human name.  FS_ERR_EXISTS if the store already has a device id.
 */
FS_API fs_err fs_device_init(fs_client *client, const char *name);

/*
 * The device id (16 hex digits), or NULL before fs_device_init().
 * Borrowed: valid until fs_close().
 */
FS_API const char *fs_device_id(const fs_client *client);

/*
 * Imports one form definition (JSON text, len bytes).  The definition is
 * checked; a broken one is refused with FS_ERR_FORM (or FS_ERR_JSON) and
 * fs_errmsg() names the field and the problem.  Importing the same id and
 * version again with identical content succeeds; with different content it
 * is FS_ERR_EXISTS.  On success, if ret_form_id is not NULL it receives
 * the form id (free with fs_free()).
 */
FS_API fs_err fs_forms_import(fs_client *client, const char *json, size_t len,
    char **ret_form_id);

/*
 * Lists imported forms as a JSON array of {"id","version","title",
 * "fields"} objects, newest version first per id.  *ret_json is freed with
 * fs_free().
 */
FS_API fs_err fs_forms_list(fs_client *client, char **ret_json);

/*
 * The questions of form_id's newest version as they stand for values_json
 * (a JSON object: the values entered so far; NULL for none), in the form's
 * order (issue 19; schema/FORMS.md, "Skip logic"): a JSON array with one
 * object per field, {"name", "label" (if any), "type", "choices" (select
 * fields), "applies" (its `relevant` holds), "required" (now: it applies
 * and is required, or its `required_if` holds), "calculated", "sensitive",
 * "value" (the entered or calculated value, null when none) and
 * "problem" (the rule a given value breaks, as "field 'x': rule ...",
 * absent when none)}.  A repeat (type "repeat") has "value" null and also
 * "fields" (its sub-fields, as questions of an empty row), "rows" (rows
 * with an answer) and "max_rows"; its "problem" is what its rows break.
 * For a prompt that walks an officer through a form, and to show what
 * applies after an edit.  *ret_json is freed with
 * fs_free().  FS_ERR_NOTFOUND for a form that is not imported,
 * FS_ERR_JSON when values_json is not an object.
 */
FS_API fs_err fs_form_questions(fs_client *client, const char *form_id, const char *values_json,
    char **ret_json);

/*
 * Turns "name=value" assignments typed on a command line into a JSON value
 * object for form_id's newest version, converting each value to its
 * field's type (see schema/FORMS.md, "Text input").  An empty value means
 * null (clear).  A repeat's value is "repeat/ROW/field=value" (issue 19,
 * schema/FORMS.md "Repeat groups"): ROW is an existing row's id, or
 * "+label" for a new row -- the assignments with the same repeat and label
 * fill one new row, given a fresh random id here.  Unknown fields or
 * unparsable values give FS_ERR_INVALID.  *ret_json is freed with fs_free().
 */
FS_API fs_err fs_values_from_assignments(fs_client *client, const char *form_id,
    const char *const *assignments, size_t n, char **ret_json);

/*
 * Creates a record of the newest version of form_id from a JSON value
 * object.  The values are validated (all rules including required); on any
 * violation nothing is written, FS_ERR_INVALID is returned and fs_errmsg()
 * names the field and the rule.  The record and its change-log entry are
 * written in one durable transaction: when this returns FS_OK the record
 * survives a power cut.  *ret_id (32 hex digits) is freed with fs_free().
 * FS_ERR_FORBIDDEN for the built-in form "referral": referrals are written
 * at headquarters only (docs/PROTOCOL.md), a device reads them.
 */
FS_API fs_err fs_record_create(fs_client *client, const char *form_id,
    const char *values_json, char **ret_id);

/*
 * Edits a record: the given fields are set (null clears), the others are
 * kept.  The merged record is validated as on create.  FS_ERR_NOTFOUND,
 * FS_ERR_DELETED, FS_ERR_INVALID, FS_ERR_FORBIDDEN (a referral).
 */
FS_API fs_err fs_record_edit(fs_client *client, const char *id, const char *values_json);

/*
 * Deletes a record: a tombstone that syncs, naming every value this device
 * holds of it.  An edit elsewhere that the delete did not see keeps the
 * record alive (merge rule 2, docs/PROTOCOL.md).  FS_ERR_NOTFOUND,
 * FS_ERR_DELETED, FS_ERR_FORBIDDEN (a referral).
 */
FS_API fs_err fs_record_delete(fs_client *client, const char *id);

/*
 * One record as JSON: {"id","form","form_version","deleted","values":{...},
 * "stamps":{field: stamp}, "created","updated","conflicts":[{"field",
 * "stamp","value","device"}]}; conflicts are the open ones (values that
 * lost against a concurrent edit, kept until resolved).  A record a delete
 * raced with an edit it did not see (merge rule 2) also has
 * "delete_conflict": {"deletes":[{"stamp","device"}], "edits":[{"field",
 * "stamp","device"}]}: it stays alive with every value until a reviewer
 * confirms the delete or keeps it.  Deleted records are returned with
 * "deleted": true.  *ret_json is freed with fs_free().
 */
FS_API fs_err fs_record_get(fs_client *client, const char *id, char **ret_json);

/*
 * Lists records (not deleted) as a JSON array of {"id","form",
 * "form_version","updated"} objects, newest first.  form_id may be NULL
 * for all forms.  *ret_json is freed with fs_free().
 */
FS_API fs_err fs_record_list(fs_client *client, const char *form_id, char **ret_json);

/* The number of change-log entries not yet acknowledged by a server. */
FS_API fs_err fs_pending_count(fs_client *client, int64_t *ret_count);

/*
 * Store status as JSON: {"device_id","device_name","pending","rejected",
 * "acknowledged","records","forms","last_sync","server","last_attempt",
 * "last_error","cursor","clock_offset_ms"}.  last_sync (the last sync
 * that finished) is null before the first; last_attempt is when the last
 * sync began, last_error how it ended ("" success, "running" while one
 * runs or after one was killed, else the message); acknowledged counts
 * the changes the server holds.  *ret_json is freed with fs_free().
 */
FS_API fs_err fs_status(fs_client *client, char **ret_json);


/* --- Sync ------------------------------------------------------------ */

/*
 * Process-wide set-up for sync: wraps curl_global_init().  Call once
 * before the first fs_sync() and before starting threads; the only
 * process-wide call in the library.
 */
FS_API fs_err fs_global_init(void);

/*
 * Progress of a running sync, passed to the progress callbacks.  Fields
 * are only ever added at the end: a callback built against an older
 * header reads the part it knows.
 */
typedef struct fs_sync_progress {
	const char *phase;   /* "push", "pull" or "forms" */
	int64_t pushed;      /* changes acknowledged by the server so far */
	int64_t push_total;  /* changes that were pending when the sync began */
	int64_t pulled;      /* changes received and merged so far */
	int64_t conflicts;   /* conflicts reported so far */
	int64_t rejected;    /* changes the server refused (kept, see status) */
	int attempt;         /* 1 for the first try of a request, more on retries */
	/* Added in 0.2. */
	int64_t bytes_sent;  /* bytes sent so far, this call (as on the wire) */
	int64_t bytes_received; /* bytes received so far, this call */
	int64_t bytes_acked; /* request bytes of the batches acknowledged so far */
	int64_t batch_changes; /* changes in the batch being sent now (0: none) */
	int64_t batch_bytes; /* its size as sent (compressed) */
	const char *waiting; /* while waiting to retry: why (the last error), else NULL */
	int64_t wait_ms;     /* and for how long */
} fs_sync_progress;

typedef void (*fs_progress_cb)(void *userdata, const fs_sync_progress *progress);

/*
 * A progress callback that may stop the sync: return non-zero and
 * fs_sync() ends as soon as it can with FS_ERR_CANCELLED (what was
 * acknowledged stays acknowledged, the rest stays pending).  Called at
 * least once a second while a request runs.
 */
typedef int (*fs_progress_fn)(void *userdata, const fs_sync_progress *progress);

/* What fs_sync() does: push and pull (default), or one of them. */
typedef enum fs_sync_direction {
	FS_SYNC_BOTH = 0,
	FS_SYNC_PUSH_ONLY = 1,
	FS_SYNC_PULL_ONLY = 2,
} fs_sync_direction;

/*
 * Sync options.  Zero-initialise, then set what you need.  Strings are
 * borrowed for the duration of fs_sync().  Fields are only ever added at
 * the end; fs_sync() passes the size the caller was built with, so an
 * older program keeps working with a newer library.
 */
typedef struct fs_sync_options {
	const char *server_url;   /* "https://host:port" (required; "http://" is
	                             refused except to a loopback address) */
	const char *token;        /* bearer token (required) */
	const char *ca_file;      /* PEM CA bundle; NULL: the system's */
	const char *pinned_key;   /* "sha256//BASE64" pins the server key; NULL: none.
	                             Without ca_file the pin alone is the trust
	                             anchor (self-signed servers). */
	int batch_size;           /* most changes per push request; 0: 500 */
	int max_attempts;         /* tries of a request without progress before
	                             giving up; 0: 6 */
	int64_t backoff_ms;       /* first retry delay (half of it fixed, half
	                             random), doubled each time; 0: 2000 */
	int64_t backoff_max_ms;   /* cap on one delay; 0: 30000 */
	int64_t timeout_ms;       /* a request that moves no byte this long is
	                             cut (stall); 0: 30000 */
	fs_progress_cb progress;  /* may be NULL */
	void *progress_userdata;
	/* Added in 0.2. */
	int64_t batch_bytes;      /* first push batch, compressed bytes; 0: 16384.
	                             Doubled after each acknowledged batch up to
	                             batch_bytes_max, halved after a cut or stall */
	int64_t batch_bytes_max;  /* 0: 1 MiB */
	fs_sync_direction direction; /* push and pull, or one of them */
	fs_progress_fn progress_fn; /* may be NULL; called like progress, and
	                             may cancel.  Gets progress_userdata. */
} fs_sync_options;

/* What a sync did.  Counts cover this call only.  Fields only ever added at the end. */
typedef struct fs_sync_result {
	int64_t pushed;      /* changes the server acknowledged */
	int64_t duplicates;  /* of those, ones it already had */
	int64_t rejected;    /* changes refused for good (kept with a reason) */
	int64_t pulled;      /* changes received and merged */
	int64_t conflicts;   /* conflicts the server reported for our pushes */
	int64_t cursor;      /* pull cursor afterwards */
	/*
	 * Traffic of this call, for metered links (added in 0.1).  Counted
	 * by libcurl per request, retries and requests cut halfway included;
	 * TLS record overhead is not counted.
	 */
	int64_t requests;    /* HTTP requests made */
	int64_t bytes_up;    /* request lines, headers and bodies as sent (gzip) */
	int64_t bytes_down;  /* status lines, headers and bodies as received */
	int64_t json_up;     /* request bodies before compression */
	int64_t json_down;   /* answer bodies after decompression */
	/* Added in 0.2. */
	int64_t batches;     /* push batches acknowledged */
	int64_t cuts;        /* requests cut or stalled (and retried) */
} fs_sync_result;

/*
 * Pushes pending changes in batches, then pulls and merges the server's
 * changes, then downloads forms if the server published new ones.
 * TLS verification is always on.  A change is marked sent only after the
 * server's answer for its batch was read and parsed; anything else leaves
 * it pending, so an interrupted sync resumes without loss or duplicates.
 * Batches are sized in bytes for the link (docs/PROTOCOL.md, "Batches").
 * Network failures and 5xx/429 answers are retried with exponential
 * backoff and jitter (honouring Retry-After).  Errors: FS_ERR_NETWORK,
 * FS_ERR_TLS, FS_ERR_AUTH (sync paused, nothing lost), FS_ERR_FORBIDDEN,
 * FS_ERR_SERVER, FS_ERR_PROTOCOL, FS_ERR_VERSION (update fieldsync),
 * FS_ERR_CLOCK, FS_ERR_CLONED, FS_ERR_CANCELLED, store errors.
 * *ret_result (may be NULL) is filled even on failure, with what was done
 * before it.  The progress callbacks run on the calling thread.
 *
 * fs_sync() is a macro that passes the sizes of the structs the caller
 * was built with to fs_sync_sized(); call that directly only from a
 * language binding.  (Programs built against 0.1, before the macro, call
 * a function fs_sync() that the library keeps for them.)
 */
FS_API fs_err fs_sync_sized(fs_client *client, const fs_sync_options *options,
    size_t options_size, fs_sync_result *ret_result, size_t result_size);

#define fs_sync(client, options, ret_result)                                            \
	fs_sync_sized((client), (options), sizeof(fs_sync_options), (ret_result),        \
	    sizeof(fs_sync_result))

/*
 * Changes the server refused for good, as a JSON array of {"seq","id",
 * "hlc","reason"}.  They stay on the device.  *ret_json freed with fs_free().
 */
FS_API fs_err fs_rejected_list(fs_client *client, char **ret_json);

#ifdef __cplusplus
}
#endif

#endif /* FIELDSYNC_H */
