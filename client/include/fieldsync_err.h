/*
 * fieldsync_err.h -- the error codes of libfieldsync and fieldsyncd, and
 * fs_strerror().  Included by fieldsync.h (the public API), and on its
 * own by the code both sides share (common/), which needs the codes but
 * not the device API.  Installed beside fieldsync.h.
 */
#ifndef FIELDSYNC_ERR_H
#define FIELDSYNC_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

#ifndef FS_API
#if defined(FS_BUILDING_LIBRARY)
#define FS_API __attribute__((visibility("default")))
#else
#define FS_API
#endif
#endif

/*
 * Error codes.  Values are explicit and never renumbered; a retired code
 * stays as a placeholder.
 */
typedef enum fs_err {
	FS_OK = 0,                /* success */
	FS_ERR_NOMEM = 1,         /* out of memory */
	FS_ERR_MISUSE = 2,        /* bad argument to a public function */
	FS_ERR_IO = 3,            /* file could not be read or written */
	FS_ERR_DB = 4,            /* the SQLite store failed */
	FS_ERR_CORRUPT = 5,       /* the store is damaged */
	FS_ERR_INVALID = 6,       /* a value broke a rule of its form */
	FS_ERR_FORM = 7,          /* a form definition is broken */
	FS_ERR_NOTFOUND = 8,      /* no such record, form or object */
	FS_ERR_EXISTS = 9,        /* already exists */
	FS_ERR_NOT_INIT = 10,     /* the device store was never initialised */
	FS_ERR_JSON = 11,         /* malformed JSON */
	FS_ERR_NETWORK = 12,      /* server unreachable, connection lost */
	FS_ERR_TLS = 13,          /* TLS handshake or verification failed */
	FS_ERR_AUTH = 14,         /* token missing, wrong or revoked (401) */
	FS_ERR_FORBIDDEN = 15,    /* role does not allow this (403) */
	FS_ERR_SERVER = 16,       /* server failed (5xx) */
	FS_ERR_PROTOCOL = 17,     /* the answer is not fieldsync's protocol */
	FS_ERR_CLOCK = 18,        /* a stamp is too far ahead of the server */
	FS_ERR_FULL = 19,         /* disk or store full */
	FS_ERR_DELETED = 20,      /* the record is deleted */
	FS_ERR_TOOBIG = 21,       /* a size limit was exceeded */
	FS_ERR_BUSY = 22,         /* the store is locked by another writer */
	FS_ERR_CLONED = 23,       /* a remote stamp carries this device's id */
	FS_ERR_INTERNAL = 24,     /* a bug: an invariant did not hold */
	FS_ERR_SCHEMA = 25,       /* store written by a newer fieldsync */
	FS_ERR_VERSION = 26,      /* the server speaks another protocol: update */
	FS_ERR_CANCELLED = 27,    /* the caller's progress callback stopped it */
	FS_ERR_MALFORMED = 28,    /* a message (request, answer, body) is malformed */
	FS_ERR_KEY = 29,          /* wrong passphrase or key, or the key is locked */
	FS_ERR_WIPED = 30,        /* revoked by headquarters: the store was erased */
} fs_err;

/* The largest fs_err value; for loops over every code. */
#define FS_ERR_LAST FS_ERR_WIPED

/*
 * Returns a static English sentence for an error code.  Never NULL; an
 * unknown code gives "unknown error".
 */
FS_API const char *fs_strerror(fs_err err);

#ifdef __cplusplus
}
#endif

#endif /* FIELDSYNC_ERR_H */
