/*
 * hlc.h -- hybrid logical clock stamps.
 *
 * A stamp is 48 bits of milliseconds since the epoch and a 16-bit counter,
 * packed in a uint64_t (ms << 16 | counter), plus the id of the device that
 * made it.  Stamps are totally ordered: by the 64-bit value, then by device
 * id.  The text form is 16 lower-case hex digits, '-', the device id, so
 * that strcmp() orders text stamps exactly as hlc_compare() orders parsed
 * ones (SQL ORDER BY works on the text column too).
 *
 * The clock never goes backwards: if the wall clock does, the counter moves
 * on.  The counter never wraps: at 0xFFFF the milliseconds advance by one.
 * This module keeps no state of its own; the caller owns struct hlc and
 * persists hlc.last.
 */
#ifndef FS_HLC_H
#define FS_HLC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fieldsync_err.h"

#define HLC_DEVICE_LEN 16                         /* hex digits of a device id */
#define HLC_TEXT_LEN (16 + 1 + HLC_DEVICE_LEN)    /* without the NUL */
#define HLC_MS_MAX ((UINT64_C(1) << 48) - 1)

struct hlc {
	uint64_t last;                   /* highest stamp issued or seen */
	char device[HLC_DEVICE_LEN + 1]; /* this clock's device id */
};

static inline uint64_t
hlc_pack(uint64_t ms, uint16_t counter)
{
	return (ms << 16) | counter;
}

static inline uint64_t
hlc_ms(uint64_t stamp)
{
	return stamp >> 16;
}

static inline uint16_t
hlc_counter(uint64_t stamp)
{
	return (uint16_t)(stamp & 0xFFFF);
}

/* Wall clock in milliseconds (CLOCK_REALTIME). */
int64_t hlc_wall_ms(void);

/*
 * Issues a new stamp for a local event, given the (offset-corrected) wall
 * time.  The result is greater than every stamp issued or observed before.
 * FS_ERR_CLOCK if the 48-bit millisecond range would be exceeded.
 */
fs_err hlc_tick(struct hlc *clock, int64_t wall_ms, uint64_t *ret_stamp);

/*
 * Folds a remote stamp into the clock so later local stamps sort after it.
 * FS_ERR_CLONED if device equals the clock's own device id while the remote
 * stamp is greater than anything this clock issued (a cloned image).
 */
fs_err hlc_observe(struct hlc *clock, uint64_t remote, const char *device);

/* Writes the text form (HLC_TEXT_LEN chars + NUL) into buf. */
void hlc_format(uint64_t stamp, const char *device, char buf[HLC_TEXT_LEN + 1]);

/*
 * Parses a text stamp.  Strict: exactly 16 hex digits, '-', exactly
 * HLC_DEVICE_LEN lower-case hex digits, NUL.  FS_ERR_INVALID otherwise.
 */
fs_err hlc_parse(const char *text, uint64_t *ret_stamp, char ret_device[HLC_DEVICE_LEN + 1]);

/* Orders two stamps: <0, 0, >0. */
int hlc_compare(uint64_t a, const char *dev_a, uint64_t b, const char *dev_b);

/* True if text is a valid device id (HLC_DEVICE_LEN lower-case hex digits). */
bool hlc_valid_device(const char *text);

#endif /* FS_HLC_H */
