/*
 * store_state.h -- what every backend answers from a record's packed
 * state (common/merge_row.h) once it has loaded it: the current values,
 * a field's heads, the base of a delete resolution.  Backend-neutral:
 * the SQLite and the PostgreSQL stores load the row their own way and
 * call these, so the answers cannot differ between stores.
 *
 * r may be NULL (no such record): empty answers.
 */
#ifndef FS_DAEMON_STORE_STATE_H
#define FS_DAEMON_STORE_STATE_H

#include <cjson/cJSON.h>

#include "merge_mem.h"
#include "store_records.h"

/* The record's current values as one object (*ret owned by the caller). */
fs_err store_state_values(const struct mm_record *r, cJSON **ret);

/* As store_push_field_heads() (store_records.h). */
fs_err store_state_field_heads(const struct mm_record *r, const char *field,
    struct store_head *heads, size_t max, size_t *ret_n, char ret_max[HLC_TEXT_LEN + 1]);

/* As store_push_delete_resolution() (store_records.h). */
fs_err store_state_delete_resolution(const struct mm_record *r, bool keep, cJSON **ret_base,
    char ret_max[HLC_TEXT_LEN + 1]);

#endif /* FS_DAEMON_STORE_STATE_H */
