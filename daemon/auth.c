/*
 * auth.c -- tokens, identities and permissions.  See auth.h.
 *
 * The token hash is SHA-256 of the 64-character token text.  A token has
 * 256 bits of entropy, so a fast unsalted hash is enough: there is nothing
 * to brute-force, and the hash can be the lookup key.
 */
#include "auth.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "id.h"
#include "store.h"

fs_err
auth_token_hash(const char *token, unsigned char ret_hash[AUTH_HASH_LEN])
{
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), ret_hash) != 0)
		return FS_ERR_INTERNAL;
	return FS_OK;
}

fs_err
auth_token_new(char ret_token[AUTH_TOKEN_LEN + 1], unsigned char ret_hash[AUTH_HASH_LEN])
{
	char token[AUTH_TOKEN_LEN + 1];
	fs_err err;

	if ((err = id_random_hex(token, AUTH_TOKEN_BYTES)) != FS_OK)
		return err;
	if ((err = auth_token_hash(token, ret_hash)) != FS_OK)
		return err;
	memcpy(ret_token, token, sizeof(token));
	gnutls_memset(token, 0, sizeof(token));
	return FS_OK;
}

bool
auth_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

fs_err
auth_parse_bearer(const char *header, char ret_token[AUTH_TOKEN_LEN + 1])
{
	const char *t;

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return FS_ERR_AUTH;
	t = header + 7;
	if (!id_is_hex(t, AUTH_TOKEN_LEN))
		return FS_ERR_AUTH;
	memcpy(ret_token, t, AUTH_TOKEN_LEN + 1);
	return FS_OK;
}

fs_err
auth_identify(struct store *store, const unsigned char hash[AUTH_HASH_LEN],
    struct auth_identity *ret_who)
{
	struct store_token_row row;
	fs_err err;

	if ((err = store_device_by_token_hash(store, hash, &row)) != FS_OK)
		return err;
	/* The hash is the lookup key; compare it again, in constant time. */
	if (!auth_ct_equal(row.token_hash, hash, AUTH_HASH_LEN))
		return FS_ERR_NOTFOUND;
	if (row.revoked) {
		/* Who it was, for the wipe (issue 17): a device told to erase may confirm. */
		if (row.who.wipe_pending)
			*ret_who = row.who;
		return FS_ERR_AUTH;
	}
	*ret_who = row.who;
	return FS_OK;
}

fs_err
auth_authenticate(
    struct store *store, const char *header, struct auth_identity *ret_who, const char **ret_reason)
{
	char token[AUTH_TOKEN_LEN + 1];
	unsigned char hash[AUTH_HASH_LEN];
	fs_err err;

	memset(ret_who, 0, sizeof(*ret_who));
	if (header == NULL) {
		*ret_reason = "no bearer token";
		return FS_ERR_AUTH;
	}
	if (auth_parse_bearer(header, token) != FS_OK) {
		*ret_reason = "malformed Authorization header";
		return FS_ERR_AUTH;
	}
	err = auth_token_hash(token, hash);
	gnutls_memset(token, 0, sizeof(token));
	if (err != FS_OK)
		return err;
	err = auth_identify(store, hash, ret_who);
	if (err == FS_ERR_NOTFOUND) {
		*ret_reason = "unknown token";
		return FS_ERR_AUTH;
	}
	if (err == FS_ERR_AUTH)
		*ret_reason = ret_who->wipe_pending ? "device revoked: erase its store" : "device revoked";
	return err;
}

/* The permissions each role grants; see the table in auth.h. */
static unsigned
role_perms(const char *role)
{
	/*
	 * Reviewers read through the review API, which masks sensitive
	 * fields and audits reveals; they do not pull raw changes.  Only
	 * devices (and admins, audited) push and pull.
	 */
	const unsigned field = AUTH_PUSH | AUTH_PULL | AUTH_READ_FORMS;
	const unsigned reviewer = AUTH_READ_FORMS | AUTH_REVIEW;
	const unsigned admin = field | AUTH_REVIEW | AUTH_ADMIN;

	if (strcmp(role, "field") == 0)
		return field;
	if (strcmp(role, "reviewer") == 0)
		return reviewer;
	if (strcmp(role, "admin") == 0)
		return admin;
	return 0;
}

bool
auth_require(const struct auth_identity *who, unsigned perms)
{
	if (who == NULL || perms == 0)
		return false;
	return (role_perms(who->role) & perms) == perms;
}

const char *
auth_review_scope(const struct auth_identity *who)
{
	if (who != NULL && strcmp(who->role, "admin") == 0)
		return NULL;
	if (who != NULL && strcmp(who->role, "reviewer") == 0)
		return who->review_teams[0] != '\0' ? who->review_teams : NULL;
	return "[]"; /* any other role sees no team here */
}

bool
auth_sees_team(const struct auth_identity *who, const char *team)
{
	const char *scope;
	cJSON *list, *t;
	bool found = false;

	if (who == NULL || team == NULL || !auth_require(who, AUTH_REVIEW))
		return false;
	if ((scope = auth_review_scope(who)) == NULL)
		return true;
	if ((list = cJSON_Parse(scope)) == NULL)
		return false; /* unreadable: see nothing rather than everything */
	cJSON_ArrayForEach(t, list)
	{
		if (cJSON_IsString(t) && strcmp(t->valuestring, team) == 0)
			found = true;
	}
	cJSON_Delete(list);
	return found;
}

fs_err
auth_teams_text(const char *const *teams, size_t n, char buf[AUTH_TEAMS_TEXT_MAX + 1])
{
	size_t pos = 0;

	if (n == 0 || n > AUTH_TEAMS_MAX)
		return FS_ERR_INVALID;
	buf[pos++] = '[';
	for (size_t i = 0; i < n; i++) {
		if (!auth_valid_name(teams[i]))
			return FS_ERR_INVALID;
		for (size_t k = 0; k < i; k++)
			if (strcmp(teams[k], teams[i]) == 0)
				return FS_ERR_INVALID;
		/* Valid names need no JSON escaping ([A-Za-z0-9._-]). */
		pos += (size_t)snprintf(buf + pos, AUTH_TEAMS_TEXT_MAX + 1 - pos, "%s\"%s\"",
		    i ? "," : "", teams[i]);
	}
	buf[pos++] = ']';
	buf[pos] = '\0';
	return FS_OK;
}

bool
auth_valid_role(const char *role)
{
	return role != NULL && role_perms(role) != 0;
}

bool
auth_valid_name(const char *name)
{
	size_t n;

	if (name == NULL || name[0] == '\0' || name[0] == '.' || name[0] == '-')
		return false;
	for (n = 0; name[n] != '\0'; n++) {
		char c = name[n];
		if (n >= AUTH_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		        c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}
