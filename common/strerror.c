/*
 * strerror.c -- fs_strerror(): one sentence per error code, shared by the
 * library and the daemon.  A switch without a default, so that -Wswitch
 * flags a code added to the enum without a sentence.
 */
#include "fieldsync_err.h"

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
		return "the store failed";
	case FS_ERR_CORRUPT:
		return "the store is damaged";
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
	case FS_ERR_VERSION:
		return "the server speaks another protocol version: update fieldsync";
	case FS_ERR_CANCELLED:
		return "cancelled by the caller";
	case FS_ERR_MALFORMED:
		return "a message is malformed";
	case FS_ERR_KEY:
		return "wrong passphrase or key, or the key is locked";
	case FS_ERR_WIPED:
		return "this device was revoked by headquarters and its store erased";
	}
	return "unknown error";
}
