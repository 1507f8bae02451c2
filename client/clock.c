/*
 * clock.c -- the device's hybrid logical clock, persisted in the store.
 *
 * Stamps use the wall clock corrected by the offset learned from the
 * server (DESIGN.md: the server is the time authority).  The highest stamp
 * is written in the same transaction as the change that used it, and
 * re-read at the start of each write transaction that moves it (a save, a
 * pulled page, a re-stamp): the stored clock is the truth, so two handles
 * on one file never issue the same stamp and neither sets the other's
 * clock back.  (A stamp a rolled-back transaction used was never stored,
 * so forgetting it is safe.)
 */
#include <stdlib.h>

#include "internal.h"

fs_err
clock_load(fs_client *c)
{
	int64_t stored = 0;
	fs_err err;

	if ((err = db_meta_get_i64(c, "hlc_last", 0, &stored)) != FS_OK)
		return err;
	c->clock.last = (uint64_t)stored;
	return FS_OK;
}

fs_err
clock_tick(fs_client *c, uint64_t *ret_stamp, char ret_text[HLC_TEXT_LEN + 1])
{
	fs_err err;

	if (!c->has_device)
		return client_fail(c, FS_ERR_NOT_INIT, "store has no device id: run init first");
	/*
	 * The store's clock and offset, not this handle's: another handle may
	 * have synced since (a later clock, or a re-stamp that set a clock
	 * running ahead back, with the corrected offset).
	 */
	if ((err = clock_load(c)) != FS_OK ||
	    (err = db_meta_get_i64(c, "clock_offset_ms", c->clock_offset_ms,
		 &c->clock_offset_ms)) != FS_OK)
		return err;
	if ((err = hlc_tick(&c->clock, hlc_wall_ms() + c->clock_offset_ms, ret_stamp)) != FS_OK)
		return client_fail(c, err, "clock out of range");
	hlc_format(*ret_stamp, c->clock.device, ret_text);
	return FS_OK;
}

fs_err
clock_save(fs_client *c)
{
	return db_meta_set_i64(c, "hlc_last", (int64_t)c->clock.last);
}
