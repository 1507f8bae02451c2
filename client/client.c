/*
 * client.c -- the handle: open, close, device identity and status.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "custody.h"
#include "http.h"
#include "id.h"
#include "crypt_vfs.h"
#include "internal.h"

static fs_err
open_store(const char *path, const char *secret, size_t secret_len, fs_client **ret_client,
    char *msg, size_t msglen)
{
	fs_client *c;
	fs_err err;

	if (path == NULL || ret_client == NULL)
		return FS_ERR_MISUSE;
	*ret_client = NULL;
	if (custody_init() != FS_OK) /* libsodium, before any key is made or used */
		return FS_ERR_INTERNAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return FS_ERR_NOMEM;
	if ((err = db_open(c, path, secret, secret_len)) != FS_OK) {
		if (msg != NULL)
			snprintf(msg, msglen, "%s", c->errmsg);
		fs_close(c);
		return err;
	}
	*ret_client = c;
	return FS_OK;
}

fs_err
fs_open(const char *path, fs_client **ret_client)
{
	return open_store(path, NULL, 0, ret_client, NULL, 0);
}

fs_err
fs_open_encrypted(const char *path, const char *secret, size_t secret_len,
    fs_client **ret_client, char *msg, size_t msglen)
{
	if (secret == NULL)
		return FS_ERR_MISUSE;
	return open_store(path, secret, secret_len, ret_client, msg, msglen);
}

fs_err
fs_store_encrypted(const char *path, bool *ret_encrypted)
{
	int kind;

	if (path == NULL || ret_encrypted == NULL)
		return FS_ERR_MISUSE;
	if ((kind = crypt_file_kind(path)) < 0)
		return FS_ERR_IO;
	*ret_encrypted = kind == CRYPT_SEALED;
	return FS_OK;
}

void
fs_close(fs_client *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nforms; i++)
		form_free(c->forms[i]);
	free(c->forms);
	db_stmt_clear(c);
	http_close(c);
	sodium_memzero(c->sign_sk, sizeof(c->sign_sk));
	if (sqlite3_close(c->db) == SQLITE_OK) {
		crypt_vfs_stop(c->crypt); /* wipes the store key */
	} else {
		/* A statement still open (a bug): the VFS must outlive the connection. */
		sqlite3_close_v2(c->db);
	}
	free(c);
}

fs_err
fs_device_init(fs_client *c, const char *name)
{
	char device[HLC_DEVICE_LEN + 1];
	fs_err err;

	if (c == NULL || name == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if (name[0] == '\0' || strlen(name) > 64)
		return client_fail(c, FS_ERR_INVALID, "device name must be 1 to 64 characters");
	if (c->has_device)
		return client_fail(c, FS_ERR_EXISTS, "store already initialised as device %s",
		    c->clock.device);
	if ((err = id_random_hex(device, HLC_DEVICE_LEN / 2)) != FS_OK)
		return client_fail(c, err, "no random bytes from the kernel");
	if ((err = db_begin(c)) != FS_OK)
		return err;
	if ((err = db_meta_set(c, "device_id", device)) != FS_OK ||
	    (err = db_meta_set(c, "device_name", name)) != FS_OK ||
	    (err = signing_create(c)) != FS_OK || (err = db_commit(c)) != FS_OK) {
		db_rollback(c);
		c->has_key = false;
		sodium_memzero(c->sign_sk, sizeof(c->sign_sk));
		return err;
	}
	memcpy(c->clock.device, device, sizeof(device));
	c->has_device = true;
	return FS_OK;
}

const char *
fs_device_id(const fs_client *c)
{
	if (c == NULL || !c->has_device)
		return NULL;
	return c->clock.device;
}

static fs_err
count_rows(fs_client *c, const char *sql, int64_t *ret_count)
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = db_prepare(c, sql, &st)) != FS_OK)
		return err;
	if (sqlite3_step(st) == SQLITE_ROW)
		*ret_count = sqlite3_column_int64(st, 0);
	else
		err = db_fail(c, "counting");
	sqlite3_finalize(st);
	return err;
}

fs_err
fs_pending_count(fs_client *c, int64_t *ret_count)
{
	if (c == NULL || ret_count == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	return count_rows(c, "SELECT count(*) FROM changelog WHERE pushed = 0 AND rejected IS NULL",
	    ret_count);
}

static fs_err
add_meta_string(fs_client *c, cJSON *obj, const char *json_key, const char *meta_key)
{
	char *value = NULL;
	fs_err err;

	if ((err = db_meta_get(c, meta_key, &value)) != FS_OK)
		return err;
	if (value != NULL)
		cJSON_AddStringToObject(obj, json_key, value);
	else
		cJSON_AddNullToObject(obj, json_key);
	free(value);
	return FS_OK;
}

fs_err
fs_status(fs_client *c, char **ret_json)
{
	int64_t pending = 0, records = 0, forms = 0, rejected = 0, cursor = 0, acked = 0;
	cJSON *obj;
	fs_err err;
	char *text;

	if (c == NULL || ret_json == NULL)
		return FS_ERR_MISUSE;
	client_reset_error(c);
	if ((err = count_rows(c, "SELECT count(*) FROM changelog WHERE pushed = 0"
				 " AND rejected IS NULL", &pending)) != FS_OK ||
	    (err = count_rows(c, "SELECT count(*) FROM changelog WHERE rejected IS NOT NULL",
		 &rejected)) != FS_OK ||
	    (err = count_rows(c, "SELECT count(*) FROM changelog WHERE pushed = 1", &acked)) !=
		FS_OK ||
	    (err = count_rows(c, "SELECT count(*) FROM records WHERE deleted = 0", &records)) !=
		FS_OK ||
	    (err = count_rows(c, "SELECT count(DISTINCT id) FROM forms", &forms)) != FS_OK ||
	    (err = db_meta_get_i64(c, "pull_cursor", 0, &cursor)) != FS_OK)
		return err;
	if ((obj = cJSON_CreateObject()) == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	if (c->has_device)
		cJSON_AddStringToObject(obj, "device_id", c->clock.device);
	else
		cJSON_AddNullToObject(obj, "device_id");
	if ((err = add_meta_string(c, obj, "device_name", "device_name")) != FS_OK ||
	    (err = add_meta_string(c, obj, "last_sync", "last_sync")) != FS_OK ||
	    (err = add_meta_string(c, obj, "server", "server")) != FS_OK ||
	    (err = add_meta_string(c, obj, "last_attempt", "last_attempt")) != FS_OK ||
	    (err = add_meta_string(c, obj, "last_error", "last_error")) != FS_OK) {
		cJSON_Delete(obj);
		return err;
	}
	cJSON_AddNumberToObject(obj, "pending", (double)pending);
	cJSON_AddNumberToObject(obj, "rejected", (double)rejected);
	cJSON_AddNumberToObject(obj, "acknowledged", (double)acked);
	cJSON_AddNumberToObject(obj, "records", (double)records);
	cJSON_AddNumberToObject(obj, "forms", (double)forms);
	cJSON_AddNumberToObject(obj, "cursor", (double)cursor);
	cJSON_AddNumberToObject(obj, "clock_offset_ms", (double)c->clock_offset_ms);
	text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (text == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	*ret_json = text;
	return FS_OK;
}
