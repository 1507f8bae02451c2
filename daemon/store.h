/*
 * store.h -- the daemon's central store: one interface, one implementation
 * per backend (store_sqlite*.c, and store_pg*.c for PostgreSQL, issue 18).
 *
 * This part covers devices (tokens, roles, teams, the device id bound to a
 * token) and published form definitions, plus the audit trail.  Records,
 * changes and conflicts are written by the sync code (store_records.h),
 * which uses the backend's own handle (store_sqlite_internal.h).
 *
 * The API has no SQL in it: every function is one logical operation, so a
 * PostgreSQL backend can implement the same declarations with its own
 * connections and transactions.
 *
 * Threads: struct store may be shared by every thread of the daemon.  Each
 * function uses the calling thread's own database connection (see
 * store_sqlite.c), so calls from different threads run concurrently and
 * the store serialises writers itself.  store_open() and store_close() must
 * not race with other calls.
 *
 * Errors are fs_err codes: FS_ERR_DB (the database failed), FS_ERR_BUSY
 * (still locked after the busy timeout), FS_ERR_SCHEMA (written by a newer
 * fieldsyncd), FS_ERR_NOMEM, FS_ERR_IO (data_dir unusable), and the ones
 * named per function.
 */
#ifndef FS_DAEMON_STORE_H
#define FS_DAEMON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "fieldsync.h"
#include "hlc.h"

struct form;
struct store;

/* One row of the devices table, as listed by store_device_list(). */
struct store_device {
	int64_t rowid;
	const char *name;
	const char *role;
	const char *team;
	const char *review_teams; /* reviewers: JSON array of teams; NULL: every team */
	const char *hlc_device;   /* "" when not bound yet */
	bool revoked;
	const char *created_at; /* ISO 8601 UTC */
	const char *revoked_at; /* "" when not revoked */
	const char *wipe;       /* "", "pending" or "done" (remote wipe, issue 17) */
};

/* One published form version, as listed by store_form_list(). */
struct store_form {
	const char *id;
	int64_t version;
	const char *definition; /* canonical JSON */
	const char *published_at;
};

/* Callbacks return 0 to go on, non-zero to stop the listing early. */
typedef int (*store_device_cb)(void *arg, const struct store_device *device);
typedef int (*store_form_cb)(void *arg, const struct store_form *form);

/*
 * Opens the store in data_dir (created with mode 0700 if missing), applies
 * pending schema migrations and returns it in *ret_store.  Release with
 * store_close().
 */
fs_err store_open(const char *data_dir, struct store **ret_store);

/*
 * Opens the store of backend kind ("sqlite": where is the data directory),
 * chosen at run time (fieldsyncd.conf `store`).  FS_ERR_INVALID for a
 * backend this fieldsyncd was built without.
 */
fs_err store_open_kind(const char *kind, const char *where, struct store **ret_store);

/*
 * Closes the store and every connection it opened.  Call only after the
 * threads that used it have stopped.  Accepts NULL.
 */
void store_close(struct store *store);

/* --- Devices -------------------------------------------------------- */

/*
 * Adds a device.  The caller has checked role (auth_valid_role()), name
 * and team (auth_valid_name()); token_hash is the SHA-256 of its token.
 * review_teams is a reviewer's teams (auth_teams_text()), NULL for every
 * team and for the other roles.  On success *ret_rowid (if not NULL)
 * receives the row id.  FS_ERR_EXISTS if the name is taken, FS_ERR_INVALID
 * for a bad role or name.
 */
fs_err store_device_add(struct store *store, const char *name, const char *role, const char *team,
    const char *review_teams, const unsigned char token_hash[AUTH_HASH_LEN], int64_t *ret_rowid);

/*
 * Sets the teams a reviewer sees (auth_teams_text(), or NULL for every
 * team); the token keeps working and sees the new set at its next
 * request.  FS_ERR_NOTFOUND if no device has that name, FS_ERR_INVALID if
 * it is not a reviewer.
 */
fs_err store_device_set_teams(struct store *store, const char *name, const char *review_teams);

/*
 * Calls cb once per device, ordered by name.  The strings are valid only
 * during the callback.
 */
fs_err store_device_list(struct store *store, store_device_cb cb, void *arg);

/*
 * Revokes the device called name: its token stops working at once.
 * Revoking a revoked device succeeds and keeps the first revocation time.
 * With wipe, the device is also asked to erase its store at its next
 * contact (issue 17; the token then gets 410 and may only confirm).
 * FS_ERR_NOTFOUND if there is no such device.
 */
fs_err store_device_revoke(struct store *store, const char *name, bool wipe);

/* Open conflicts of the live records, fields and record-level (metrics). */
fs_err store_open_conflicts(struct store *store, int64_t *ret_n);

/*
 * Records that the device (rowid) erased its store, as asked.
 * FS_ERR_NOTFOUND when no wipe is pending for it.
 */
fs_err store_device_wipe_done(struct store *store, int64_t rowid);

/* A device as found by its token's hash. */
struct store_token_row {
	struct auth_identity who;
	unsigned char token_hash[AUTH_HASH_LEN]; /* as stored */
	bool revoked;
};

/*
 * Looks a device up by the hash of its token.  FS_ERR_NOTFOUND if no device
 * has it.  Policy is the caller's (auth_identify()): the constant-time
 * comparison and the refusal of a revoked device.
 */
fs_err store_device_by_token_hash(struct store *store,
    const unsigned char token_hash[AUTH_HASH_LEN], struct store_token_row *ret);

/*
 * Binds the device id (HLC device, 16 hex digits) that a token pushes with,
 * the first time it pushes.  Atomic without a surrounding transaction, and
 * safe inside one.  FS_OK if the row is now (or already was) bound to
 * hlc_device; FS_ERR_EXISTS if another device row holds that id;
 * FS_ERR_FORBIDDEN if this row is bound to a different id (a token copied
 * to another device); FS_ERR_NOTFOUND if there is no such row;
 * FS_ERR_INVALID if hlc_device is not a device id.
 */
fs_err store_device_bind_hlc(struct store *store, int64_t rowid, const char *hlc_device);

/*
 * Forgets a device's signing key and chain (issue 16): its next push
 * registers a new key and starts a new chain.  FS_ERR_NOTFOUND for no
 * such device.  The caller audits.
 */
fs_err store_device_key_reset(struct store *store, const char *name);

/*
 * The newest stamp the server holds from the device of row rowid, into
 * ret_hlc ("" when it has none).
 */
fs_err store_device_last_hlc(struct store *store, int64_t rowid, char ret_hlc[HLC_TEXT_LEN + 1]);

/* --- Forms ---------------------------------------------------------- */

/*
 * Publishes a form definition (JSON text, len bytes).  It is checked with
 * form_load(); a broken one gives FS_ERR_FORM or FS_ERR_JSON with the form
 * module's message in err.  The canonical JSON is stored.  Publishing the
 * same id and version again with the same content succeeds (*ret_new set
 * to false); different content gives FS_ERR_EXISTS.  ret_id (at least 65
 * bytes), ret_version and ret_new may be NULL.
 */
fs_err store_form_publish(struct store *store, const char *json, size_t len, char *err,
    size_t errlen, char ret_id[65], int64_t *ret_version, bool *ret_new);

/*
 * Every published definition as one JSON array, ordered by id and version.
 * *ret_json is malloc'd and owned by the caller (free()); *ret_len (if not
 * NULL) receives its length.
 */
fs_err store_forms_json(struct store *store, char **ret_json, size_t *ret_len);

/*
 * The backend's part of forms (store_forms.c does the rest): stores a
 * canonical definition under (id, version) -- *ret_new false when that
 * version was there with the same text, FS_ERR_EXISTS with another --
 * and returns one version's text (*ret_json malloc'd, the caller frees;
 * FS_ERR_NOTFOUND if not published).
 */
fs_err store_form_insert(struct store *store, const char *id, int64_t version,
    const char *canonical, bool *ret_new);
fs_err store_form_definition(struct store *store, const char *id, int64_t version,
    char **ret_json);

/* Calls cb once per published form version, ordered by id and version. */
fs_err store_form_list(struct store *store, store_form_cb cb, void *arg);

/*
 * Loads one published form version.  *ret_form is owned by the caller
 * (form_free()).  FS_ERR_NOTFOUND if it was never published.
 */
fs_err store_form_get(struct store *store, const char *id, int64_t version, struct form **ret_form);

/* --- Audit ---------------------------------------------------------- */

/*
 * Appends to the audit trail.  actor is a device name or "cli"; action a
 * short verb ("device.add"); record_id and detail may be NULL.  detail
 * must never hold field values or tokens.
 */
fs_err store_audit(struct store *store, const char *actor, const char *action,
    const char *record_id, const char *detail);

/*
 * Headquarters' sealing keys (issue 17, common/seal.h).  add stores a
 * public key (64 hex), its id and the secret key locked under a
 * passphrase (seal_secret_lock()'s JSON); FS_ERR_EXISTS for an id already
 * there.  keys returns a JSON array, newest first, of {"id", "public",
 * "locked", "created_at"} in a string the caller frees ("[]" when none).
 */
fs_err store_seal_key_add(struct store *store, const char *id, const char *public_hex,
    const char *locked_json);
fs_err store_seal_keys(struct store *store, char **ret_json);

#endif /* FS_DAEMON_STORE_H */
