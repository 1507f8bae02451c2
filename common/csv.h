/*
 * csv.h -- one CSV cell, escaped: RFC 4180 quoting plus protection against
 * formula injection in spreadsheets.
 *
 * A cell is quoted when it holds a comma, a quote, CR or LF; quotes inside
 * are doubled.  A text cell that starts with = + - @, a tab or a CR would
 * be run as a formula by a spreadsheet, so it gets a leading apostrophe
 * (inside the quotes when quoted).  Numbers and booleans (text = false) are
 * written as they are.  Pure: no allocation, no state.
 */
#ifndef FS_CSV_H
#define FS_CSV_H

#include <stdbool.h>
#include <stddef.h>

/* The most bytes csv_escape_cell() writes for len bytes of input. */
#define CSV_CELL_MAX(len) (2 * (len) + 3)

/*
 * Writes the cell for s (len bytes, may contain any byte) into out, which
 * has room for CSV_CELL_MAX(len) bytes, and returns the bytes written.  No
 * NUL is added.
 */
size_t csv_escape_cell(char *out, const char *s, size_t len, bool text);

#endif /* FS_CSV_H */
