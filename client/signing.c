/*
 * signing.c -- the device's key and the hash chain of its change log
 * (issue 16; the form is in common/custody.h).
 *
 * The key pair is made when the device is initialised -- or, for a store
 * made before signatures, when it is first opened by this version -- and
 * kept in the store's meta table (sign_pk, sign_sk).  The secret key is
 * never printed, logged or sent; the public key goes with every push
 * ("key" in the envelope), and the server binds it to the device's token.
 *
 * Every change appended to the log names the link of the change before it
 * ("prev") and is signed.  The chain is the log's rows that carry a link,
 * in seq order.  Changes that never reached the server may be re-linked
 * (and so re-signed): after a re-stamp, after one was refused before it
 * was sent (too large), or when the server's chain head says it holds
 * fewer of them than the device thought (a gap it refused).  Rows the
 * server acknowledged are never re-linked.
 *
 * Changes pushed before signatures (store versions before 4) stay as they
 * were, without a link: the chain starts at the first signed change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "custody.h"
#include "internal.h"

fs_err
signing_load(fs_client *c)
{
	char *pk = NULL, *sk = NULL;
	fs_err err;

	c->has_key = false;
	if ((err = db_meta_get(c, "sign_pk", &pk)) != FS_OK ||
	    (err = db_meta_get(c, "sign_sk", &sk)) != FS_OK)
		goto out;
	if (pk == NULL && sk == NULL && c->has_device) {
		/* A store from before signatures: make the key, sign what is pending. */
		free(pk);
		free(sk);
		pk = sk = NULL;
		if ((err = db_begin(c)) != FS_OK)
			return err;
		if ((err = signing_create(c)) != FS_OK ||
		    (err = signing_relink(c, 0, NULL)) != FS_OK || (err = db_commit(c)) != FS_OK) {
			db_rollback(c);
			c->has_key = false;
		}
		return err;
	}
	if (pk == NULL && sk == NULL)
		goto out; /* not initialised yet */
	if (pk == NULL || sk == NULL || !custody_is_hex(pk, CUSTODY_KEY_HEX) ||
	    !custody_unhex(sk, c->sign_sk, CUSTODY_SECRET_LEN)) {
		err = client_fail(c, FS_ERR_CORRUPT, "the device's signing key is damaged");
		goto out;
	}
	memcpy(c->sign_pk, pk, CUSTODY_KEY_HEX + 1);
	c->has_key = true;
out:
	if (sk != NULL)
		sodium_memzero(sk, strlen(sk));
	free(sk);
	free(pk);
	return err;
}

fs_err
signing_create(fs_client *c)
{
	char sk_hex[2 * CUSTODY_SECRET_LEN + 1];
	fs_err err;

	if (custody_keypair(c->sign_pk, c->sign_sk) != FS_OK)
		return client_fail(c, FS_ERR_INTERNAL, "could not make a signing key");
	custody_hex(c->sign_sk, CUSTODY_SECRET_LEN, sk_hex);
	if ((err = db_meta_set(c, "sign_pk", c->sign_pk)) == FS_OK)
		err = db_meta_set(c, "sign_sk", sk_hex);
	sodium_memzero(sk_hex, sizeof(sk_hex));
	c->has_key = err == FS_OK;
	return err;
}

/* The link of the newest row before seq (all rows when seq is 0) that has one. */
static fs_err
chain_tip(fs_client *c, int64_t before_seq, char ret[CUSTODY_LINK_HEX + 1])
{
	sqlite3_stmt *st;
	fs_err err;

	if ((err = db_stmt(c, "SELECT link FROM changelog WHERE link IS NOT NULL AND seq < ?"
			      " ORDER BY seq DESC LIMIT 1",
		 &st)) != FS_OK)
		return err;
	sqlite3_bind_int64(st, 1, before_seq > 0 ? before_seq : INT64_MAX);
	memcpy(ret, custody_genesis, CUSTODY_LINK_HEX + 1);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (!custody_is_hex(t, CUSTODY_LINK_HEX))
			err = client_fail(c, FS_ERR_CORRUPT, "a link in the change log is damaged");
		else
			memcpy(ret, t, CUSTODY_LINK_HEX + 1);
	} else if (sqlite3_errcode(c->db) != SQLITE_DONE) {
		err = db_fail(c, "reading the change log");
	}
	db_stmt_done(c, st);
	return err;
}

/*
 * Sets change's prev to prev and its sig; its link into ret_link.
 *
 * The link is computed from the change as printed and read back, not from
 * the object in memory: cJSON prints a number with 15 digits when that
 * reads back within an epsilon, so 0.30000000000000004 is stored and sent
 * as 0.3, another double.  The server links the bytes it receives; signing
 * the printed form is what makes the two agree (found by fuzz-push-body).
 */
static fs_err
sign_with(fs_client *c, cJSON *change, const char *prev, char ret_link[CUSTODY_LINK_HEX + 1])
{
	unsigned char link[CUSTODY_LINK_LEN];
	char sig[CUSTODY_SIG_HEX + 1], msg[200], *text;
	struct change ch;
	cJSON *printed;
	fs_err err;

	cJSON_DeleteItemFromObjectCaseSensitive(change, "sig");
	cJSON_DeleteItemFromObjectCaseSensitive(change, "prev");
	if (cJSON_AddStringToObject(change, "prev", prev) == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	if ((text = cJSON_PrintUnformatted(change)) == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	printed = cJSON_Parse(text);
	cJSON_free(text);
	if (printed == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	if (change_parse(printed, &ch, msg, sizeof(msg)) != FS_OK) {
		cJSON_Delete(printed);
		return client_fail(c, FS_ERR_INTERNAL, "signing a malformed change: %s", msg);
	}
	err = custody_link(&ch, link);
	cJSON_Delete(printed);
	if (err != FS_OK)
		return client_fail(c, err, "could not sign a change");
	custody_sign(link, c->sign_sk, sig);
	if (cJSON_AddStringToObject(change, "sig", sig) == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	custody_hex(link, sizeof(link), ret_link);
	return FS_OK;
}

fs_err
signing_sign(fs_client *c, cJSON *change, char ret_link[CUSTODY_LINK_HEX + 1])
{
	char prev[CUSTODY_LINK_HEX + 1];
	fs_err err;

	if (!c->has_key)
		return client_fail(c, FS_ERR_INTERNAL, "the device has no signing key");
	if ((err = chain_tip(c, 0, prev)) != FS_OK)
		return err;
	return sign_with(c, change, prev, ret_link);
}

fs_err
signing_relink(fs_client *c, int64_t after_seq, const char *start_prev)
{
	char prev[CUSTODY_LINK_HEX + 1], link[CUSTODY_LINK_HEX + 1];
	sqlite3_stmt *st = NULL, *up = NULL;
	fs_err err;
	int rc;

	if (!c->has_key)
		return client_fail(c, FS_ERR_INTERNAL, "the device has no signing key");
	if ((err = db_prepare(c, "SELECT seq, body FROM changelog WHERE seq > ? AND pushed = 0"
				 " AND rejected IS NULL ORDER BY seq",
		 &st)) != FS_OK)
		return err;
	if ((err = db_prepare(c, "UPDATE changelog SET body = ?1, link = ?2, batch = NULL"
				 " WHERE seq = ?3",
		 &up)) != FS_OK)
		goto out;
	sqlite3_bind_int64(st, 1, after_seq);
	snprintf(prev, sizeof(prev), "%s", start_prev != NULL ? start_prev : "");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		cJSON *body = cJSON_Parse((const char *)sqlite3_column_text(st, 1));
		char *text;

		if (body == NULL) {
			err = client_fail(c, FS_ERR_CORRUPT, "change %lld in the log is damaged",
			    (long long)seq);
			goto out;
		}
		if (prev[0] == '\0' && (err = chain_tip(c, seq, prev)) != FS_OK) {
			cJSON_Delete(body);
			goto out;
		}
		err = sign_with(c, body, prev, link);
		text = err == FS_OK ? cJSON_PrintUnformatted(body) : NULL;
		cJSON_Delete(body);
		if (err != FS_OK)
			goto out;
		if (text == NULL) {
			err = client_fail(c, FS_ERR_NOMEM, "out of memory");
			goto out;
		}
		sqlite3_reset(up);
		sqlite3_bind_text(up, 1, text, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(up, 2, link, -1, SQLITE_STATIC);
		sqlite3_bind_int64(up, 3, seq);
		rc = sqlite3_step(up);
		free(text);
		if (rc != SQLITE_DONE) {
			err = db_fail(c, "re-signing the change log");
			goto out;
		}
		memcpy(prev, link, sizeof(prev));
	}
	if (rc != SQLITE_DONE)
		err = db_fail(c, "reading the change log");
out:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	return err;
}

fs_err
signing_relink_after_link(fs_client *c, const char *head, bool *ret_done)
{
	sqlite3_stmt *st;
	int64_t seq = -1;
	fs_err err;

	*ret_done = false;
	if (strcmp(head, custody_genesis) == 0) {
		seq = 0;
	} else {
		if ((err = db_prepare(c, "SELECT seq FROM changelog WHERE link = ?", &st)) != FS_OK)
			return err;
		sqlite3_bind_text(st, 1, head, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			seq = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (seq < 0)
		return FS_OK; /* not a link of this device's log: a twin's, or damage */
	/* Rows after the server's head that it never took: out of the chain first. */
	{
		sqlite3_stmt *up;

		if ((err = db_prepare(c, "UPDATE changelog SET link = NULL WHERE seq > ?"
					 " AND pushed = 0 AND rejected IS NOT NULL",
			 &up)) != FS_OK)
			return err;
		sqlite3_bind_int64(up, 1, seq);
		if (sqlite3_step(up) != SQLITE_DONE)
			err = db_fail(c, "re-linking the change log");
		sqlite3_finalize(up);
		if (err != FS_OK)
			return err;
	}
	/* The first re-linked change follows the server's head itself. */
	if ((err = signing_relink(c, seq, head)) != FS_OK)
		return err;
	*ret_done = true;
	return FS_OK;
}
