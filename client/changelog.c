/*
 * changelog.c -- the device's append-only change log.
 *
 * Each saved edit appends one change, serialised exactly as it will travel
 * on the wire (docs/PROTOCOL.md), signed, with its link in the device's
 * hash chain (signing.c).  Rows are never deleted (a trigger
 * refuses it); sync only sets their pushed and rejected marks.
 */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "internal.h"

fs_err
changelog_append(fs_client *c, const char *record_id, const char *hlc_text,
    const cJSON *change, const char *link)
{
	char now[32];
	sqlite3_stmt *st;
	char *body;
	fs_err err;

	if ((body = cJSON_PrintUnformatted(change)) == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	db_now_text(now);
	if ((err = db_stmt(c, "INSERT INTO changelog(record_id, hlc, body, created_at, link)"
			      " VALUES(?, ?, ?, ?, ?)",
		 &st)) != FS_OK) {
		free(body);
		return err;
	}
	sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hlc_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, link, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(c, "writing the change log");
	db_stmt_done(c, st);
	free(body);
	return err;
}
