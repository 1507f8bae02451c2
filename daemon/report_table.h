/*
 * report_table.h -- the situation report's table and its disclosure
 * control (issue 20, item 4; docs/OPERATIONS.md, "Situation report").
 *
 * A table has one row per combination of the report's dimensions
 * (district, month, ...) and a total row, and one column per measure:
 * the number of records, then counts of records (with an indicator, at a
 * risk level, with a referral outcome).  Every count is of records, so
 * each column adds up over the rows to its total, and within a row the
 * columns of one *group* (the risk levels; the referral outcomes) add up
 * to the row's number of records: those are the table's *lines*.
 *
 * Small counts identify people: a cell from 1 to threshold-1 is
 * suppressed (shown "<5").  A suppressed cell alone on a line could be
 * recovered by subtraction from the line's total, so complementary
 * suppression hides the smallest other cell of such a line, again and
 * again until no line holds exactly one hidden cell.  Zero is shown (an
 * empty cell says nobody was counted, which discloses no one).
 *
 * Pure: no store, no I/O (report.c fills it and writes it).
 */
#ifndef FS_DAEMON_REPORT_TABLE_H
#define FS_DAEMON_REPORT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fieldsync.h"

#define REPORT_THRESHOLD 5

struct report_table {
	size_t nrows, ncols; /* rows include the total row, last */
	char **row_keys;     /* per row: the dimension values joined by '\t' ("" for the total) */
	int *col_group;      /* per column: 0 none, else the group number (lines within a row) */
	int64_t *cells;      /* nrows * ncols, row-major */
	bool *hidden;        /* nrows * ncols */
	size_t cap;          /* rows allocated */
};

/* An empty table of ncols columns; col_group (ncols ints) is copied.  NULL: out of memory. */
struct report_table *report_table_new(size_t ncols, const int *col_group);
void report_table_free(struct report_table *t);

/*
 * The row of key (created with zero cells when new), and its index in
 * *ret_row.  FS_ERR_NOMEM.
 */
fs_err report_table_row(struct report_table *t, const char *key, size_t *ret_row);

/* Adds 1 to a cell. */
void report_table_count(struct report_table *t, size_t row, size_t col);

/*
 * Sorts the rows by key, appends the total row, and applies primary and
 * complementary suppression with threshold (REPORT_THRESHOLD).  Returns
 * how many cells are hidden, or -1 when out of memory.
 */
long report_table_finish(struct report_table *t, int64_t threshold);

static inline int64_t *
report_cell(const struct report_table *t, size_t row, size_t col)
{
	return &t->cells[row * t->ncols + col];
}

static inline bool *
report_hidden(const struct report_table *t, size_t row, size_t col)
{
	return &t->hidden[row * t->ncols + col];
}

#endif /* FS_DAEMON_REPORT_TABLE_H */
