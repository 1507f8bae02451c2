/*
 * crypt_vfs.c -- the encrypted device store.  See crypt_vfs.h.
 */
#include "crypt_vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN   crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KEY_LEN   crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define BODY      (CRYPT_PAGE - CRYPT_RESERVE) /* sealed bytes of a page */
#define WAL_HDR   32
#define FRAME_HDR 24
#define FRAME     (FRAME_HDR + CRYPT_PAGE)

_Static_assert(NONCE_LEN + TAG_LEN == CRYPT_RESERVE, "reserve holds nonce and tag");

static const char sqlite_magic[CRYPT_SALT] = "SQLite format 3";

/* The secret part: sodium_malloc()'d, wiped on free. */
struct crypt_secret {
	unsigned char key[KEY_LEN];
	unsigned char salt[CRYPT_SALT];
};

struct crypt_vfs {
	sqlite3_vfs base; /* pAppData = this */
	sqlite3_vfs *real;
	struct crypt_secret *s;
	char name[64];
	bool registered;
	unsigned long mem_files; /* files kept in memory so far (tests) */
};

enum file_kind { KIND_DB = 0, KIND_WAL = 1, KIND_MEM = 2 };

struct crypt_file {
	sqlite3_file base;
	struct crypt_vfs *v;
	enum file_kind kind;
	sqlite3_file *real;                 /* KIND_DB, KIND_WAL: right after this struct */
	unsigned char raw[CRYPT_PAGE];      /* scratch: a page as on disk */
	unsigned char plain[CRYPT_PAGE];    /* scratch: a page as SQLite sees it */
	unsigned char *mem;                 /* KIND_MEM: the file's bytes */
	sqlite3_int64 mem_len, mem_cap;
};

/* A run of a file: sealed page (idx) or plain bytes, [start, start + len). */
struct region {
	sqlite3_int64 start, len, idx;
	bool sealed;
};

static struct region
region_at(enum file_kind kind, sqlite3_int64 pos)
{
	struct region r = { 0, 0, 0, false };

	if (kind == KIND_DB) {
		r.idx = pos / CRYPT_PAGE;
		r.start = r.idx * CRYPT_PAGE;
		r.len = CRYPT_PAGE;
		r.sealed = true;
	} else if (pos < WAL_HDR) {
		r.len = WAL_HDR;
	} else {
		sqlite3_int64 j = (pos - WAL_HDR) / FRAME, base = WAL_HDR + j * FRAME;

		if (pos < base + FRAME_HDR) {
			r.start = base;
			r.len = FRAME_HDR;
		} else {
			r.start = base + FRAME_HDR;
			r.len = CRYPT_PAGE;
			r.idx = j;
			r.sealed = true;
		}
	}
	return r;
}

static void
make_ad(enum file_kind kind, sqlite3_int64 idx, unsigned char ad[9])
{
	uint64_t u = (uint64_t)idx;

	for (int i = 0; i < 8; i++)
		ad[i] = (unsigned char)(u >> (8 * i));
	ad[8] = (unsigned char)kind;
}

/* Seals plain (a page as SQLite wrote it) into raw. */
static void
seal_page(const struct crypt_file *f, sqlite3_int64 idx, const unsigned char *plain,
    unsigned char *raw)
{
	size_t skip = (f->kind == KIND_DB && idx == 0) ? CRYPT_SALT : 0;
	unsigned char ad[9];

	make_ad(f->kind, idx, ad);
	randombytes_buf(raw + BODY, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(raw + skip, raw + BODY + NONCE_LEN,
	    NULL, plain + skip, BODY - skip, ad, sizeof(ad), NULL, raw + BODY, f->v->s->key);
	if (skip)
		memcpy(raw, f->v->s->salt, CRYPT_SALT);
}

static bool
all_zero(const unsigned char *p, size_t n)
{
	unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Opens raw into plain; SQLITE_IOERR_DATA when it does not open. */
static int
open_page(const struct crypt_file *f, sqlite3_int64 idx, const unsigned char *raw,
    unsigned char *plain)
{
	size_t skip = (f->kind == KIND_DB && idx == 0) ? CRYPT_SALT : 0;
	unsigned char ad[9];

	if (all_zero(raw, CRYPT_PAGE)) { /* allocated, never written */
		memset(plain, 0, CRYPT_PAGE);
		return SQLITE_OK;
	}
	if (skip && memcmp(raw, f->v->s->salt, CRYPT_SALT) != 0)
		return SQLITE_IOERR_DATA;
	make_ad(f->kind, idx, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(plain + skip, NULL, raw + skip,
		BODY - skip, raw + BODY + NONCE_LEN, ad, sizeof(ad), raw + BODY, f->v->s->key) != 0)
		return SQLITE_IOERR_DATA;
	if (skip)
		memcpy(plain, sqlite_magic, CRYPT_SALT);
	memset(plain + BODY, 0, CRYPT_RESERVE); /* the reserve as SQLite left it */
	return SQLITE_OK;
}

/* Reads and opens the sealed page at r into f->plain; *ret_absent if not on disk. */
static int
read_page(struct crypt_file *f, const struct region *r, bool *ret_absent)
{
	int rc = f->real->pMethods->xRead(f->real, f->raw, CRYPT_PAGE, r->start);

	*ret_absent = false;
	if (rc == SQLITE_IOERR_SHORT_READ) {
		/* Past the end, or a torn page at the end: SQLite reads such pages as zeros. */
		memset(f->plain, 0, CRYPT_PAGE);
		*ret_absent = true;
		return SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		return rc;
	return open_page(f, r->idx, f->raw, f->plain);
}

/* --- in-memory files ------------------------------------------------- */

static int
mem_grow(struct crypt_file *f, sqlite3_int64 need)
{
	sqlite3_int64 cap = f->mem_cap > 0 ? f->mem_cap : 65536;
	unsigned char *p;

	if (need <= f->mem_cap)
		return SQLITE_OK;
	while (cap < need) {
		if (cap > ((sqlite3_int64)1 << 40))
			return SQLITE_FULL;
		cap *= 2;
	}
	/* Not realloc: the old bytes are wiped, not left in freed memory. */
	if ((p = malloc((size_t)cap)) == NULL)
		return SQLITE_IOERR_NOMEM;
	if (f->mem != NULL) {
		memcpy(p, f->mem, (size_t)f->mem_len);
		sodium_memzero(f->mem, (size_t)f->mem_cap);
		free(f->mem);
	}
	memset(p + f->mem_len, 0, (size_t)(cap - f->mem_len));
	f->mem = p;
	f->mem_cap = cap;
	return SQLITE_OK;
}

/* --- io methods ------------------------------------------------------ */

static int
x_close(sqlite3_file *file)
{
	struct crypt_file *f = (struct crypt_file *)file;
	int rc = SQLITE_OK;

	if (f->kind == KIND_MEM) {
		if (f->mem != NULL)
			sodium_memzero(f->mem, (size_t)f->mem_cap);
		free(f->mem);
		f->mem = NULL;
	} else {
		rc = f->real->pMethods->xClose(f->real);
	}
	sodium_memzero(f->plain, sizeof(f->plain));
	sodium_memzero(f->raw, sizeof(f->raw));
	return rc;
}

static int
x_read(sqlite3_file *file, void *out, int amt, sqlite3_int64 off)
{
	struct crypt_file *f = (struct crypt_file *)file;
	unsigned char *p = out;
	sqlite3_int64 first = off;
	bool short_read = false;

	if (f->kind == KIND_MEM) {
		sqlite3_int64 have = off < f->mem_len ? f->mem_len - off : 0;
		sqlite3_int64 n = have < amt ? have : amt;

		if (n > 0)
			memcpy(p, f->mem + off, (size_t)n);
		if (n < amt) {
			memset(p + n, 0, (size_t)(amt - n));
			return SQLITE_IOERR_SHORT_READ;
		}
		return SQLITE_OK;
	}
	while (amt > 0) {
		struct region r = region_at(f->kind, off);
		sqlite3_int64 n = r.start + r.len - off;
		bool absent;
		int rc;

		if (n > amt)
			n = amt;
		if (!r.sealed) {
			rc = f->real->pMethods->xRead(f->real, p, (int)n, off);
			if (rc == SQLITE_IOERR_SHORT_READ)
				short_read = true;
			else if (rc != SQLITE_OK)
				return rc;
		} else {
			rc = read_page(f, &r, &absent);
			/*
			 * A WAL frame read whole (header and page: SQLite's recovery
			 * after a crash) whose page does not open was torn by the
			 * crash: a write of a page across two kernel pages can stop
			 * in between when the process is killed, and a power cut can
			 * stop it anywhere.  Plain SQLite reads such a frame and its
			 * checksum fails, which ends the log there; so here: the raw
			 * bytes go up, and the checksum fails.  A page read alone is
			 * a committed frame: not opening is damage.
			 */
			if (rc == SQLITE_IOERR_DATA && f->kind == KIND_WAL && first < r.start) {
				memcpy(p, f->raw + (off - r.start), (size_t)n);
			} else {
				if (rc != SQLITE_OK)
					return rc;
				short_read |= absent;
				memcpy(p, f->plain + (off - r.start), (size_t)n);
			}
		}
		p += n;
		off += n;
		amt -= (int)n;
	}
	return short_read ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

static int
x_write(sqlite3_file *file, const void *in, int amt, sqlite3_int64 off)
{
	struct crypt_file *f = (struct crypt_file *)file;
	const unsigned char *p = in;

	if (f->kind == KIND_MEM) {
		int rc = mem_grow(f, off + amt);

		if (rc != SQLITE_OK)
			return rc;
		memcpy(f->mem + off, p, (size_t)amt);
		if (off + amt > f->mem_len)
			f->mem_len = off + amt;
		return SQLITE_OK;
	}
	while (amt > 0) {
		struct region r = region_at(f->kind, off);
		sqlite3_int64 n = r.start + r.len - off;
		bool absent;
		int rc;

		if (n > amt)
			n = amt;
		if (!r.sealed) {
			rc = f->real->pMethods->xWrite(f->real, p, (int)n, off);
		} else {
			/* SQLite writes whole pages; a part of one is merged into the page. */
			if (n < CRYPT_PAGE && (rc = read_page(f, &r, &absent)) != SQLITE_OK)
				return rc;
			memcpy(f->plain + (off - r.start), p, (size_t)n);
			seal_page(f, r.idx, f->plain, f->raw);
			rc = f->real->pMethods->xWrite(f->real, f->raw, CRYPT_PAGE, r.start);
		}
		if (rc != SQLITE_OK)
			return rc;
		p += n;
		off += n;
		amt -= (int)n;
	}
	return SQLITE_OK;
}

static int
x_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct crypt_file *f = (struct crypt_file *)file;

	if (f->kind == KIND_MEM) {
		if (size < f->mem_len) {
			sodium_memzero(f->mem + size, (size_t)(f->mem_len - size));
			f->mem_len = size;
		}
		return SQLITE_OK;
	}
	return f->real->pMethods->xTruncate(f->real, size);
}

static int
x_sync(sqlite3_file *file, int flags)
{
	struct crypt_file *f = (struct crypt_file *)file;

	return f->kind == KIND_MEM ? SQLITE_OK : f->real->pMethods->xSync(f->real, flags);
}

static int
x_file_size(sqlite3_file *file, sqlite3_int64 *ret)
{
	struct crypt_file *f = (struct crypt_file *)file;

	if (f->kind == KIND_MEM) {
		*ret = f->mem_len;
		return SQLITE_OK;
	}
	return f->real->pMethods->xFileSize(f->real, ret);
}

static int
x_lock(sqlite3_file *file, int level)
{
	struct crypt_file *f = (struct crypt_file *)file;

	return f->kind == KIND_MEM ? SQLITE_OK : f->real->pMethods->xLock(f->real, level);
}

static int
x_unlock(sqlite3_file *file, int level)
{
	struct crypt_file *f = (struct crypt_file *)file;

	return f->kind == KIND_MEM ? SQLITE_OK : f->real->pMethods->xUnlock(f->real, level);
}

static int
x_check_reserved(sqlite3_file *file, int *ret)
{
	struct crypt_file *f = (struct crypt_file *)file;

	if (f->kind == KIND_MEM) {
		*ret = 0;
		return SQLITE_OK;
	}
	return f->real->pMethods->xCheckReservedLock(f->real, ret);
}

static int
x_file_control(sqlite3_file *file, int op, void *arg)
{
	struct crypt_file *f = (struct crypt_file *)file;

	if (f->kind == KIND_MEM)
		return SQLITE_NOTFOUND;
	/* No memory-mapped reads: they would bypass x_read. */
	if (op == SQLITE_FCNTL_MMAP_SIZE) {
		*(sqlite3_int64 *)arg = 0;
		return SQLITE_OK;
	}
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
x_sector_size(sqlite3_file *file)
{
	struct crypt_file *f = (struct crypt_file *)file;

	return f->kind == KIND_MEM ? 512 : f->real->pMethods->xSectorSize(f->real);
}

static int
x_device_characteristics(sqlite3_file *file)
{
	struct crypt_file *f = (struct crypt_file *)file;

	if (f->kind == KIND_MEM)
		return 0;
	/* Writes are whole sealed pages: no atomic or sub-page promises carried over. */
	return f->real->pMethods->xDeviceCharacteristics(f->real) &
	       (SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_POWERSAFE_OVERWRITE |
		   SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN);
}

static int
x_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp)
{
	struct crypt_file *f = (struct crypt_file *)file;

	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int
x_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct crypt_file *f = (struct crypt_file *)file;

	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void
x_shm_barrier(sqlite3_file *file)
{
	struct crypt_file *f = (struct crypt_file *)file;

	f->real->pMethods->xShmBarrier(f->real);
}

static int
x_shm_unmap(sqlite3_file *file, int del)
{
	struct crypt_file *f = (struct crypt_file *)file;

	return f->real->pMethods->xShmUnmap(f->real, del);
}

/* Version 2: shared memory for WAL, and no xFetch (no memory-mapped reads). */
static const sqlite3_io_methods crypt_io = {
	2, x_close, x_read, x_write, x_truncate, x_sync, x_file_size, x_lock, x_unlock,
	x_check_reserved, x_file_control, x_sector_size, x_device_characteristics, x_shm_map,
	x_shm_lock, x_shm_barrier, x_shm_unmap, NULL, NULL,
};

/* --- vfs methods ----------------------------------------------------- */

static int
v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	struct crypt_vfs *v = vfs->pAppData;
	struct crypt_file *f = (struct crypt_file *)file;
	int rc;

	memset(f, 0, sizeof(*f));
	f->v = v;
	if (flags & SQLITE_OPEN_MAIN_DB)
		f->kind = KIND_DB;
	else if (flags & SQLITE_OPEN_WAL)
		f->kind = KIND_WAL;
	else
		f->kind = KIND_MEM; /* journals and temporary files: never on disk */
	if (f->kind == KIND_MEM) {
		v->mem_files++;
		if (out_flags != NULL)
			*out_flags = flags;
		f->base.pMethods = &crypt_io;
		return SQLITE_OK;
	}
	f->real = (sqlite3_file *)(f + 1);
	rc = v->real->xOpen(v->real, name, f->real, flags, out_flags);
	if (rc == SQLITE_OK)
		f->base.pMethods = &crypt_io;
	else if (f->real->pMethods != NULL)
		f->real->pMethods->xClose(f->real);
	return rc;
}

static int
v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	struct crypt_vfs *v = vfs->pAppData;
	int rc = v->real->xDelete(v->real, name, sync_dir);

	/* A journal this VFS kept in memory was never on disk. */
	return rc == SQLITE_IOERR_DELETE_NOENT ? SQLITE_OK : rc;
}

static int
v_access(sqlite3_vfs *vfs, const char *name, int flags, int *ret)
{
	struct crypt_vfs *v = vfs->pAppData;

	return v->real->xAccess(v->real, name, flags, ret);
}

static int
v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	struct crypt_vfs *v = vfs->pAppData;

	return v->real->xFullPathname(v->real, name, n, out);
}

static void *
v_dlopen(sqlite3_vfs *vfs, const char *path)
{
	struct crypt_vfs *v = vfs->pAppData;

	return v->real->xDlOpen(v->real, path);
}

static void
v_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	struct crypt_vfs *v = vfs->pAppData;

	v->real->xDlError(v->real, n, msg);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	struct crypt_vfs *v = vfs->pAppData;

	return v->real->xDlSym(v->real, h, sym);
}

static void
v_dlclose(sqlite3_vfs *vfs, void *h)
{
	struct crypt_vfs *v = vfs->pAppData;

	v->real->xDlClose(v->real, h);
}

static int
v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	struct crypt_vfs *v = vfs->pAppData;

	return v->real->xRandomness(v->real, n, out);
}

static int
v_sleep(sqlite3_vfs *vfs, int us)
{
	struct crypt_vfs *v = vfs->pAppData;

	return v->real->xSleep(v->real, us);
}

static int
v_current_time(sqlite3_vfs *vfs, double *ret)
{
	struct crypt_vfs *v = vfs->pAppData;

	return v->real->xCurrentTime(v->real, ret);
}

static int
v_last_error(sqlite3_vfs *vfs, int n, char *msg)
{
	struct crypt_vfs *v = vfs->pAppData;

	return v->real->xGetLastError != NULL ? v->real->xGetLastError(v->real, n, msg) : 0;
}

static int
v_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *ret)
{
	struct crypt_vfs *v = vfs->pAppData;

	return v->real->xCurrentTimeInt64(v->real, ret);
}

/* --- setup ------------------------------------------------------------ */

int
crypt_file_kind(const char *path)
{
	unsigned char head[CRYPT_SALT];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? CRYPT_ABSENT : -1;
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n < 0)
		return -1;
	if (n == 0)
		return CRYPT_ABSENT;
	if ((size_t)n == sizeof(head) && memcmp(head, sqlite_magic, CRYPT_SALT) == 0)
		return CRYPT_PLAIN;
	return CRYPT_SEALED;
}

/* Reads the first page of the file at path into page; false if it cannot. */
static bool
read_first_page(const char *path, unsigned char page[CRYPT_PAGE])
{
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	while (got < CRYPT_PAGE && (n = read(fd, page + got, CRYPT_PAGE - got)) > 0)
		got += (size_t)n;
	close(fd);
	return got == CRYPT_PAGE;
}

fs_err
crypt_vfs_start(const char *path, const char *secret, size_t secret_len, struct crypt_vfs **ret,
    bool *ret_new, char *msg, size_t msglen)
{
	struct crypt_vfs *v;
	unsigned char page[CRYPT_PAGE];
	int kind = crypt_file_kind(path);
	fs_err err;

	*ret = NULL;
	*ret_new = kind == CRYPT_ABSENT;
	if (kind < 0) {
		snprintf(msg, msglen, "cannot read store '%s': %s", path, strerror(errno));
		return FS_ERR_IO;
	}
	if (kind == CRYPT_PLAIN) {
		snprintf(msg, msglen, "store '%s' is not encrypted: open it without a key, or"
				      " encrypt it first (fieldsync encrypt)", path);
		return FS_ERR_INVALID;
	}
	if (secret_len == 0) {
		snprintf(msg, msglen, "an empty PIN or passphrase");
		return FS_ERR_KEY;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL || (v->s = sodium_malloc(sizeof(*v->s))) == NULL) {
		free(v);
		snprintf(msg, msglen, "out of memory");
		return FS_ERR_NOMEM;
	}
	if (kind == CRYPT_ABSENT) {
		randombytes_buf(v->s->salt, CRYPT_SALT);
	} else if (!read_first_page(path, page)) {
		snprintf(msg, msglen, "store '%s' is shorter than one page: damaged", path);
		err = FS_ERR_CORRUPT;
		goto fail;
	} else {
		memcpy(v->s->salt, page, CRYPT_SALT);
	}
	if (crypto_pwhash(v->s->key, KEY_LEN, secret, secret_len, v->s->salt,
		crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
		crypto_pwhash_ALG_ARGON2ID13) != 0) {
		snprintf(msg, msglen, "out of memory deriving the store key (Argon2id, 64 MiB)");
		err = FS_ERR_NOMEM;
		goto fail;
	}
	v->real = sqlite3_vfs_find(NULL);
	if (v->real == NULL) {
		snprintf(msg, msglen, "SQLite has no default VFS");
		err = FS_ERR_INTERNAL;
		goto fail;
	}
	if (kind == CRYPT_SEALED) {
		struct crypt_file probe = { .v = v, .kind = KIND_DB };
		unsigned char plain[CRYPT_PAGE];
		int rc = open_page(&probe, 0, page, plain);

		sodium_memzero(plain, sizeof(plain));
		if (rc != SQLITE_OK || all_zero(page, CRYPT_PAGE)) {
			snprintf(msg, msglen, "wrong PIN or key for store '%s' (or the store is"
					      " damaged); nothing was changed", path);
			err = FS_ERR_KEY;
			goto fail;
		}
	}
	snprintf(v->name, sizeof(v->name), "fieldsync-crypt-%p", (void *)v);
	v->base = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct crypt_file) + v->real->szOsFile,
		.mxPathname = v->real->mxPathname,
		.zName = v->name,
		.pAppData = v,
		.xOpen = v_open,
		.xDelete = v_delete,
		.xAccess = v_access,
		.xFullPathname = v_full_pathname,
		.xDlOpen = v_dlopen,
		.xDlError = v_dlerror,
		.xDlSym = v_dlsym,
		.xDlClose = v_dlclose,
		.xRandomness = v_randomness,
		.xSleep = v_sleep,
		.xCurrentTime = v_current_time,
		.xGetLastError = v_last_error,
		.xCurrentTimeInt64 = v_current_time64,
	};
	if (sqlite3_vfs_register(&v->base, 0) != SQLITE_OK) {
		snprintf(msg, msglen, "cannot register the store's VFS");
		err = FS_ERR_INTERNAL;
		goto fail;
	}
	v->registered = true;
	*ret = v;
	return FS_OK;
fail:
	crypt_vfs_stop(v);
	return err;
}

unsigned long
crypt_vfs_mem_files(const struct crypt_vfs *v)
{
	return v->mem_files;
}

const char *
crypt_vfs_name(const struct crypt_vfs *v)
{
	return v->name;
}

void
crypt_vfs_stop(struct crypt_vfs *v)
{
	if (v == NULL)
		return;
	if (v->registered)
		sqlite3_vfs_unregister(&v->base);
	sodium_free(v->s); /* wipes */
	free(v);
}

fs_err
crypt_vfs_prepare_new(sqlite3 *db)
{
	int reserve = CRYPT_RESERVE;

	if (sqlite3_exec(db, "PRAGMA page_size=4096", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve) != SQLITE_OK)
		return FS_ERR_DB;
	return FS_OK;
}
