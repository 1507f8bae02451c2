/*
 * push_custody.c -- signature and chain checks of a push.  See
 * push_custody.h; the byte form and the crypto are common/custody.c's.
 */
#include "push_custody.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fs_err
push_custody_begin(struct push_custody *pc, struct store_push *push, const char *device,
    const cJSON *root, int protocol, struct http_response *resp)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(root, "key");
	fs_err err;

	memset(pc, 0, sizeof(*pc));
	if ((err = store_push_custody(push, device, &pc->c)) != FS_OK)
		return err;
	if (protocol < 3) {
		if (pc->c.key[0] != '\0') {
			http_error(resp, 403, "signature_required",
			    "this device registered a signing key: its pushes must be signed"
			    " (protocol 3)");
			return FS_ERR_FORBIDDEN;
		}
		return FS_OK;
	}
	if (!cJSON_IsString(key) || !custody_is_hex(key->valuestring, CUSTODY_KEY_HEX)) {
		http_error(resp, 400, "bad_request",
		    "'key' must be the device's public key, 64 lower-case hex digits");
		return FS_ERR_INVALID;
	}
	if (pc->c.key[0] == '\0') {
		/* The first signed push registers the key (bound to the token's device). */
		memcpy(pc->c.key, key->valuestring, CUSTODY_KEY_HEX + 1);
		pc->c.key_new = true;
		pc->dirty = true;
	} else if (strcmp(pc->c.key, key->valuestring) != 0) {
		http_error(resp, 403, "key_mismatch",
		    "this device registered another signing key; an administrator must reset it"
		    " (fieldsyncd device reset-key)");
		return FS_ERR_FORBIDDEN;
	}
	pc->active = true;
	return FS_OK;
}

/* Same record and stamp stored before: the same change (a replay) or a second history. */
static fs_err
stored_twin(struct store_push *push, const struct change *ch, const char *link, bool *ret_dup,
    bool *ret_fork)
{
	unsigned char bin[CUSTODY_LINK_LEN];
	char other[CUSTODY_LINK_HEX + 1], msg[128];
	struct change och;
	char *body = NULL;
	cJSON *obj;
	fs_err err;

	*ret_dup = *ret_fork = false;
	if ((err = store_push_change_body(push, ch->id, ch->hlc, &body)) != FS_OK || body == NULL)
		return err;
	obj = cJSON_Parse(body);
	free(body);
	if (obj == NULL)
		return FS_ERR_NOMEM;
	if (change_parse(obj, &och, msg, sizeof(msg)) == FS_OK && och.prev != NULL &&
	    custody_link(&och, bin) == FS_OK) {
		custody_hex(bin, sizeof(bin), other);
		*ret_dup = strcmp(other, link) == 0;
	}
	*ret_fork = !*ret_dup;
	cJSON_Delete(obj);
	return FS_OK;
}

fs_err
push_custody_change(struct push_custody *pc, struct store_push *push, const struct change *ch,
    bool *ret_dup, const char **ret_error, char *msg, size_t len)
{
	bool fork;
	fs_err err;

	*ret_dup = false;
	*ret_error = NULL;
	pc->link[0] = '\0';
	if (!pc->active)
		return FS_OK;
	if ((err = custody_check(ch, pc->c.key, pc->link, ret_error)) != FS_OK) {
		if (err != FS_ERR_INVALID)
			return err;
		snprintf(msg, len, "%s",
		    strcmp(*ret_error, "unsigned") == 0
			? "the change carries no 'prev' and 'sig'; protocol 3 needs both"
			: "the signature does not verify under the device's registered key");
		pc->refused++;
		return FS_OK;
	}
	if ((err = stored_twin(push, ch, pc->link, ret_dup, &fork)) != FS_OK)
		return err;
	if (*ret_dup)
		return FS_OK;
	if (fork) {
		*ret_error = "chain_fork";
		snprintf(msg, len, "another change with this record and stamp is stored");
		pc->refused++;
		return FS_OK;
	}
	if (strcmp(ch->prev, pc->c.head) != 0) {
		bool behind = pc->c.hlc[0] != '\0' && strcmp(ch->hlc, pc->c.hlc) <= 0;

		*ret_error = behind ? "chain_fork" : "chain_gap";
		snprintf(msg, len, "%s",
		    behind ? "the change does not follow the device's chain: a second history"
			   : "the change's 'prev' is not the last change the server holds from"
			     " this device; re-link after 'chain_head'");
		pc->refused++;
		return FS_OK;
	}
	return FS_OK;
}

fs_err
push_custody_took(struct push_custody *pc, struct store_push *push, const char *device,
    const struct change *ch, const char *refused_reason)
{
	fs_err err;

	if (!pc->active || pc->link[0] == '\0')
		return FS_OK;
	if (refused_reason != NULL &&
	    (err = store_push_chain_refused(push, device, ch, pc->link, refused_reason)) != FS_OK)
		return err;
	memcpy(pc->c.head, pc->link, sizeof(pc->c.head));
	snprintf(pc->c.hlc, sizeof(pc->c.hlc), "%s", ch->hlc);
	pc->link[0] = '\0';
	pc->dirty = true;
	return FS_OK;
}

fs_err
push_custody_end(struct push_custody *pc, struct store_push *push, const char *device,
    cJSON *answer)
{
	fs_err err;

	if (pc->dirty && (err = store_push_custody_save(push, device, &pc->c)) != FS_OK)
		return err;
	if (pc->active && answer != NULL &&
	    cJSON_AddStringToObject(answer, "chain_head", pc->c.head) == NULL)
		return FS_ERR_NOMEM;
	return FS_OK;
}
