/*
 * hq_change.c -- headquarters' own changes.  See hq_change.h.
 */
#include "hq_change.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "custody.h"
#include "form.h"
#include "server_key.h"
#include "store_records.h"

fs_err
hq_change_commit(struct store_push *push, const struct server_key *key, const struct form *form,
    cJSON *obj, const char *team, const char *actor, const char *origin, int64_t *ret_seq,
    struct merge_result *res, int *ret_open, char *msg, size_t msglen)
{
	char device[HLC_DEVICE_LEN + 1], sig[CUSTODY_SIG_HEX + 1];
	unsigned char link[CUSTODY_LINK_LEN];
	struct store_custody sc;
	struct change ch;
	char *body = NULL;
	bool dup;
	fs_err err;

	/* Signed and chained like a device's change, by headquarters' key (server_key.h). */
	if ((err = store_push_server_device(push, device)) != FS_OK ||
	    (err = store_push_custody(push, device, &sc)) != FS_OK)
		return err;
	if (strcmp(sc.key, key->pk) != 0) {
		/* The first signed change, or a new key file: a new chain. */
		memcpy(sc.key, key->pk, sizeof(sc.key));
		memcpy(sc.head, custody_genesis, sizeof(sc.head));
		sc.key_new = true;
	}
	if (cJSON_AddStringToObject(obj, "prev", sc.head) == NULL)
		return FS_ERR_NOMEM;
	if (change_parse(obj, &ch, msg, msglen) != FS_OK || change_check(&ch, form, msg, msglen) != FS_OK)
		return FS_ERR_INVALID;
	if ((err = custody_link(&ch, link)) != FS_OK)
		return err;
	custody_sign(link, key->sk, sig);
	custody_hex(link, sizeof(link), sc.head);
	if (cJSON_AddStringToObject(obj, "sig", sig) == NULL)
		return FS_ERR_NOMEM;
	snprintf(sc.hlc, sizeof(sc.hlc), "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "hlc")));
	if (change_parse(obj, &ch, msg, msglen) != FS_OK)
		return FS_ERR_INTERNAL;
	if ((body = cJSON_PrintUnformatted(obj)) == NULL)
		return FS_ERR_NOMEM;
	if ((err = store_push_custody_save(push, device, &sc)) == FS_OK &&
	    (err = store_push_change_insert(push, &ch, body, team, device, origin, ret_seq, &dup)) ==
		FS_OK)
		err = store_push_record_merge(push, form, &ch, team, actor, *ret_seq, res, ret_open);
	free(body);
	return err;
}
