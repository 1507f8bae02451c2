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
 *
 * A save does not write the clock: the stamp it issued is in the change
 * log it appends to, and the stored clock is the higher of meta hlc_last
 * (moved by pulls and re-stamps) and the change log's newest stamp (an
 * index lookup).  One page less per save (docs/BENCHMARKS.md, device save).
 */
#include <stdlib.h>

#include "internal.h"

fs_err
clock_load(fs_client *c)
{
	int64_t stored = 0;
	fs_err err;

	sqlite3_stmt *st;
	uint64_t logged = 0;
	const char *text;
	int rc;

	if ((err = db_meta_get_i64(c, "hlc_last", 0, &stored)) != FS_OK)
		return err;
	/*
	 * A refused change keeps its stamp, which may be from a clock that
	 * ran ahead and was corrected since: it does not count.  The hlc
	 * index is walked from its end, so this stops at the first row.
	 */
	if ((err = db_stmt(c, "SELECT hlc FROM changelog WHERE rejected IS NULL"
			      " ORDER BY hlc DESC LIMIT 1",
		 &st)) != FS_OK)
		return err;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW && rc != SQLITE_DONE) {
		db_stmt_done(c, st);
		return db_fail(c, "reading the clock");
	}
	if (rc == SQLITE_ROW && (text = (const char *)sqlite3_column_text(st, 0)) != NULL &&
	    hlc_parse(text, &logged, NULL) != FS_OK) {
		db_stmt_done(c, st);
		return client_fail(c, FS_ERR_CORRUPT, "the change log holds a malformed stamp");
	}
	db_stmt_done(c, st);
	c->clock.last = logged > (uint64_t)stored ? logged : (uint64_t)stored;
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
