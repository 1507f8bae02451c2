/*
 * id.h -- random identifiers from the kernel's CSPRNG (getrandom(2)).
 *
 * Record ids are 128 bits (32 hex digits), device ids 64 bits (16 hex
 * digits), batch ids 128 bits.  No state, no seeding: every call reads
 * fresh bytes from the kernel.
 */
#ifndef FS_ID_H
#define FS_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "fieldsync_err.h"

#define ID_RECORD_LEN 32
#define ID_DEVICE_LEN 16

/* Fills buf with nbytes random bytes. FS_ERR_IO if the kernel refuses. */
fs_err id_random_bytes(void *buf, size_t nbytes);

/* Writes 2*nbytes hex digits and a NUL into out (size 2*nbytes+1). */
fs_err id_random_hex(char *out, size_t nbytes);

/* True if s is exactly len lower-case hex digits. */
bool id_is_hex(const char *s, size_t len);

#endif /* FS_ID_H */
