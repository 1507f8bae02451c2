/*
 * error.c -- error codes and per-handle messages.
 *
 * fs_strerror() is a switch without a default so that -Wswitch flags a
 * code added to the enum without a sentence.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

const char *
fs_strerror(fs_err err)
{
	switch (err) {
	case FS_OK:
		return "success";
	case FS_ERR_NOMEM:
		return "out of memory";
	case FS_ERR_MISUSE:
		return "bad argument to a library function";
	case FS_ERR_IO:
		return "file could not be read or written";
	case FS_ERR_DB:
		return "the device store failed";
	case FS_ERR_CORRUPT:
		return "the store or a message is damaged";
	case FS_ERR_INVALID:
		return "a value breaks a rule of its form";
	case FS_ERR_FORM:
		return "the form definition is broken";
	case FS_ERR_NOTFOUND:
		return "not found";
	case FS_ERR_EXISTS:
		return "already exists";
	case FS_ERR_NOT_INIT:
		return "the device store is not initialised (run init)";
	case FS_ERR_JSON:
		return "malformed JSON";
	case FS_ERR_NETWORK:
		return "the server cannot be reached";
	case FS_ERR_TLS:
		return "TLS connection or certificate check failed";
	case FS_ERR_AUTH:
		return "the server refused the token";
	case FS_ERR_FORBIDDEN:
		return "the token's role does not allow this";
	case FS_ERR_SERVER:
		return "the server failed";
	case FS_ERR_PROTOCOL:
		return "the server's answer is not the fieldsync protocol";
	case FS_ERR_CLOCK:
		return "the device clock is too far from the server's";
	case FS_ERR_FULL:
		return "the disk or store is full";
	case FS_ERR_DELETED:
		return "the record is deleted";
	case FS_ERR_TOOBIG:
		return "a size limit was exceeded";
	case FS_ERR_BUSY:
		return "the store is locked by another writer";
	case FS_ERR_CLONED:
		return "another device uses this device's id (cloned image?)";
	case FS_ERR_INTERNAL:
		return "internal error";
	case FS_ERR_SCHEMA:
		return "the store was written by a newer fieldsync";
	}
	return "unknown error";
}

fs_err
client_fail(fs_client *c, fs_err err, const char *fmt, ...)
{
	va_list ap;

	if (c == NULL)
		return err;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

void
client_reset_error(fs_client *c)
{
	c->errmsg[0] = '\0';
}

const char *
fs_errmsg(const fs_client *c)
{
	return c == NULL ? "" : c->errmsg;
}

void
fs_free(void *ptr)
{
	free(ptr);
}
