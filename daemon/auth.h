/*
 * auth.h -- bearer tokens, device identities and role permissions.
 *
 * A token is 32 random bytes written as 64 lower-case hex digits.  It is
 * shown once, when the device is added, and the store keeps only its
 * SHA-256 hash.  A request is authenticated by hashing the presented token
 * and looking the hash up; the fetched hash is then compared with the
 * computed one in constant time.
 *
 * Every check names the permission it needs (auth_require()), never a
 * role.  Reviewers do not push: their decisions reach devices as changes
 * the server makes (review API), not as pushes.  Nor do they pull: a pull
 * page holds every value unmasked, and reviewers see sensitive fields
 * only through the review API's audited reveal.  An admin's pull (every
 * team) is written to the audit log, page by page.
 *
 *   permission        field  reviewer  admin
 *   AUTH_PUSH           x                x
 *   AUTH_PULL           x                x     (field: own team only)
 *   AUTH_READ_FORMS     x       x        x
 *   AUTH_REVIEW                 x        x
 *   AUTH_ADMIN                           x
 *
 * Reviewers are scoped to teams (issue 15): a reviewer token carries the
 * teams whose records it may read, reveal, export and decide on
 * (`device add --role reviewer --team north --team south`), or every team
 * (`--all-teams`, and every reviewer added before 0.5).  Admins see every
 * team; a field device its own, through pull.  auth_sees_team() is the one
 * check; the review API applies it to every record it touches and the
 * store applies the same list to lists and exports (review_filter.scope).
 *
 * This module never logs tokens or hashes.
 */
#ifndef FS_DAEMON_AUTH_H
#define FS_DAEMON_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fieldsync.h"

#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_LEN   (2 * AUTH_TOKEN_BYTES) /* hex digits */
#define AUTH_HASH_LEN    32                     /* SHA-256 */
#define AUTH_NAME_MAX    64                     /* device and team names */
#define AUTH_TEAMS_MAX   16                     /* teams of one reviewer */
/* A JSON array of AUTH_TEAMS_MAX names, each quoted, with commas. */
#define AUTH_TEAMS_TEXT_MAX (AUTH_TEAMS_MAX * (AUTH_NAME_MAX + 3) + 2)

struct store;

/* Who sent a request: one row of the devices table. */
struct auth_identity {
	int64_t device_rowid;
	char name[AUTH_NAME_MAX + 1];
	char role[16]; /* "field", "reviewer" or "admin" */
	char team[AUTH_NAME_MAX + 1];
	char hlc_device[17]; /* device id bound on first push, or "" */
	/*
	 * Reviewers: the teams they see, as a JSON array of names
	 * (["north","south"]), or "" for every team.  "" for the other roles.
	 */
	char review_teams[AUTH_TEAMS_TEXT_MAX + 1];
	/*
	 * Revoked with a wipe not yet confirmed (issue 17): the token is
	 * refused everywhere but POST /v1/wipe, and told to erase (410).
	 */
	bool wipe_pending;
};

enum auth_perm {
	AUTH_PUSH = 1 << 0,
	AUTH_PULL = 1 << 1,
	AUTH_READ_FORMS = 1 << 2,
	AUTH_REVIEW = 1 << 3,
	AUTH_ADMIN = 1 << 4,
};

/*
 * Makes a new token (AUTH_TOKEN_LEN hex digits + NUL) and its hash.
 * FS_ERR_IO if the kernel's random source fails.
 */
fs_err auth_token_new(char ret_token[AUTH_TOKEN_LEN + 1], unsigned char ret_hash[AUTH_HASH_LEN]);

/* SHA-256 of the token text.  FS_ERR_INTERNAL if GnuTLS fails. */
fs_err auth_token_hash(const char *token, unsigned char ret_hash[AUTH_HASH_LEN]);

/* Compares n bytes in time independent of where they differ. */
bool auth_ct_equal(const void *a, const void *b, size_t n);

/*
 * Parses an Authorization header value, strictly: the scheme "Bearer"
 * (case-insensitive), one space, exactly AUTH_TOKEN_LEN lower-case hex
 * digits, nothing else.  FS_ERR_AUTH if header is NULL or malformed.
 */
fs_err auth_parse_bearer(const char *header, char ret_token[AUTH_TOKEN_LEN + 1]);

/*
 * The device holding the token whose SHA-256 is hash: the store's lookup,
 * then the policy (a constant-time comparison of the stored hash, a
 * revoked device refused).  FS_ERR_NOTFOUND, FS_ERR_AUTH (revoked).
 */
fs_err auth_identify(struct store *store, const unsigned char hash[AUTH_HASH_LEN],
    struct auth_identity *ret_who);

/*
 * Authenticates an Authorization header against the store.  Returns FS_OK
 * and fills *ret_who, or FS_ERR_AUTH (missing, malformed, unknown or
 * revoked token; *ret_reason says which, in words safe to log and to send
 * back), or FS_ERR_DB / FS_ERR_BUSY when the store failed.  Thread-safe.
 */
fs_err auth_authenticate(struct store *store, const char *header, struct auth_identity *ret_who,
    const char **ret_reason);

/* True if the identity's role grants every permission in perms. */
bool auth_require(const struct auth_identity *who, unsigned perms);

/*
 * True if who may see the records of team in the review API: an admin
 * always, a reviewer when team is one of its teams (or it has every team),
 * a field device never (it reads through pull, scoped there).
 */
bool auth_sees_team(const struct auth_identity *who, const char *team);

/*
 * The JSON array of teams that limits what who sees in the review API, or
 * NULL when nothing limits it (an admin, a reviewer of every team); "[]"
 * (no team) for any other role.  Points into who or to a constant.
 */
const char *auth_review_scope(const struct auth_identity *who);

/*
 * Makes the JSON array text of a reviewer's teams from n valid names
 * (auth_valid_name()), without repeats, into buf.  FS_ERR_INVALID for a bad
 * or repeated name, none, or more than AUTH_TEAMS_MAX.
 */
fs_err auth_teams_text(const char *const *teams, size_t n, char buf[AUTH_TEAMS_TEXT_MAX + 1]);

/* True if role is "field", "reviewer" or "admin". */
bool auth_valid_role(const char *role);

/*
 * True if name is usable as a device or team name: 1 to AUTH_NAME_MAX
 * characters from [A-Za-z0-9._-], not starting with '.' or '-'.
 */
bool auth_valid_name(const char *name);

#endif /* FS_DAEMON_AUTH_H */
