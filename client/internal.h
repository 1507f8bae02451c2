/*
 * internal.h -- private state of libfieldsync, shared by its modules.
 *
 * struct fs_client is the only place the library keeps state: the SQLite
 * connection, the hybrid logical clock, the error message of the last call
 * and a cache of parsed form definitions.  Nothing here is installed.
 */
#ifndef FS_CLIENT_INTERNAL_H
#define FS_CLIENT_INTERNAL_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>

#include "fieldsync.h"
#include "form.h"
#include "hlc.h"
#include "merge.h"
#include "seal.h"

#define FS_ERRMSG_MAX 512

struct form_cache_entry {
	struct form *form;
};

/* Prepared statements kept for the hot paths (save, push, pull); see db_stmt(). */
#define DB_STMT_CACHE 24

struct db_stmt_slot {
	const char *sql; /* the caller's text (a literal): the key */
	sqlite3_stmt *st;
	bool lent;       /* handed out by db_stmt(), not yet given back */
};

struct fs_client {
	sqlite3 *db;
	char errmsg[FS_ERRMSG_MAX];
	bool has_device;
	struct hlc clock;        /* clock.device is the device id */
	int64_t clock_offset_ms; /* server_now - device_now, from the last sync */
	struct form **forms;     /* parsed definitions, loaded on demand */
	size_t nforms;
	struct db_stmt_slot stmts[DB_STMT_CACHE];
	size_t stmt_next;        /* the slot a full cache reuses next */
	void *http;              /* CURL handle during a sync (http.c), else NULL */
	bool has_key;            /* sign_pk and sign_sk hold the device's key */
	char sign_pk[64 + 1];    /* Ed25519 public key, hex (signing.c) */
	unsigned char sign_sk[64]; /* Ed25519 secret key: wiped on close, never printed */
	struct crypt_vfs *crypt; /* an encrypted store's VFS (crypt_vfs.h), or NULL */
	bool has_seal;           /* seal holds headquarters' public key (drafts.c) */
	struct seal_public seal;
};

/* Sets the handle's message and returns err, for `return client_fail(...)`. */
fs_err client_fail(fs_client *c, fs_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears the handle's message at the start of a public call. */
void client_reset_error(fs_client *c);

/* db.c: store access. */
/* secret: the PIN or passphrase of an encrypted store (crypt_vfs.h), or NULL. */
fs_err db_open(fs_client *c, const char *path, const char *secret, size_t secret_len);
fs_err db_exec(fs_client *c, const char *sql);
fs_err db_prepare(fs_client *c, const char *sql, sqlite3_stmt **ret_stmt);
/*
 * A prepared statement from the handle's cache, reset and with no
 * bindings; prepared on first use.  Borrowed: never finalize it; give it
 * back with db_stmt_done() when finished with it (on every path), which
 * resets it so that it holds no read transaction open.  A statement lent
 * out is never evicted: a full cache evicts only statements given back,
 * and with every slot lent db_stmt() fails with FS_ERR_INTERNAL (a bug:
 * nothing holds DB_STMT_CACHE statements at once).  Meant for string
 * literals run on every save or synced change.
 */
fs_err db_stmt(fs_client *c, const char *sql, sqlite3_stmt **ret_stmt);
void db_stmt_done(fs_client *c, sqlite3_stmt *st);
/* Finalizes every cached statement (before closing the connection). */
void db_stmt_clear(fs_client *c);
fs_err db_fail(fs_client *c, const char *what);
fs_err db_begin(fs_client *c);
fs_err db_commit(fs_client *c);
void db_rollback(fs_client *c);
/* Meta values; *ret_value is NULL when the key is absent.  Caller frees. */
fs_err db_meta_get(fs_client *c, const char *key, char **ret_value);
fs_err db_meta_set(fs_client *c, const char *key, const char *value);
fs_err db_meta_get_i64(fs_client *c, const char *key, int64_t dflt, int64_t *ret_value);
fs_err db_meta_set_i64(fs_client *c, const char *key, int64_t value);
/* Current UTC time as RFC 3339 text, in buf of at least 32 bytes. */
void db_now_text(char buf[32]);

/* forms.c: the newest (version <= 0) or a given version of a form. Borrowed. */
fs_err forms_get(fs_client *c, const char *form_id, int64_t version,
    const struct form **ret_form);

/* clock.c: loads the stored clock into c, inside a write transaction. */
fs_err clock_load(fs_client *c);
/* A new stamp with corrected time, inside a write transaction. */
fs_err clock_tick(fs_client *c, uint64_t *ret_stamp, char ret_text[HLC_TEXT_LEN + 1]);
/* Persists the clock inside the current transaction. */
fs_err clock_save(fs_client *c);

/* changelog.c: appends a change (owned by caller) to the log. */
/*
 * signing.c: the device key and the change log's hash chain (custody.h).
 * signing_load() reads the key at open (making it, and signing pending
 * changes, for a store from before signatures); signing_create() makes
 * one inside the caller's transaction; signing_sign() sets a new change's
 * "prev" and "sig" and gives its link; signing_relink() re-links and
 * re-signs the unsent changes after seq, the first after start_prev (NULL:
 * the link before it in the log); signing_relink_after_link() does
 * so after the row whose link the server holds as its head (*ret_done
 * false when no row of this log has that link).
 */
fs_err signing_load(fs_client *c);
fs_err signing_create(fs_client *c);
fs_err signing_sign(fs_client *c, cJSON *change, char ret_link[64 + 1]);
fs_err signing_relink(fs_client *c, int64_t after_seq, const char *start_prev);
fs_err signing_relink_after_link(fs_client *c, const char *head, bool *ret_done);

fs_err changelog_append(fs_client *c, const char *record_id, const char *hlc_text,
    const cJSON *change, const char *link);

/*
 * drafts.c: sealing sensitive values on save, and the author's drafts.
 * drafts_load_key() reads the known key at open; drafts_set_key() keeps
 * the one a GET /v1/forms answer names (NULL or null: none, kept as is);
 * drafts_parse_key() checks {"id","public"}.  drafts_seal_change() seals
 * the sensitive values of a change about to be signed and keeps their
 * drafts (inside the caller's transaction); drafts_fill() replaces the
 * envelopes of a record's values by the drafts this device holds;
 * drafts_drop_acked() removes the drafts of a batch's acknowledged
 * changes (*ret_dropped when any), drafts_truncate_wal() after commit.
 */
fs_err drafts_load_key(fs_client *c);
bool drafts_parse_key(const cJSON *obj, struct seal_public *ret);
fs_err drafts_set_key(fs_client *c, const cJSON *seal_key);
fs_err drafts_seal_change(fs_client *c, const struct form *form, cJSON *change);
fs_err drafts_fill(fs_client *c, const char *record, cJSON *values, const cJSON *stamps);
fs_err drafts_drop_acked(fs_client *c, const char *batch, int64_t from_seq, int64_t to_seq,
    bool *ret_dropped);
void drafts_truncate_wal(fs_client *c);

/* restamp.c: new stamps for unsent changes after a clock correction. */
fs_err sync_restamp_pending(fs_client *c);

#endif /* FS_CLIENT_INTERNAL_H */
