/*
 * report_table.c -- the situation report's table: counting, and primary
 * and complementary suppression (report_table.h).
 */
#include "report_table.h"

#include <stdlib.h>
#include <string.h>

struct report_table *
report_table_new(size_t ncols, const int *col_group)
{
	struct report_table *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->col_group = calloc(ncols, sizeof(int))) == NULL) {
		free(t);
		return NULL;
	}
	memcpy(t->col_group, col_group, ncols * sizeof(int));
	t->ncols = ncols;
	return t;
}

void
report_table_free(struct report_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows; i++)
		free(t->row_keys[i]);
	free(t->row_keys);
	free(t->col_group);
	free(t->cells);
	free(t->hidden);
	free(t);
}

static fs_err
grow(struct report_table *t)
{
	size_t cap = t->cap ? 2 * t->cap : 16;
	char **keys = realloc(t->row_keys, cap * sizeof(*keys));
	int64_t *cells;
	bool *hidden;

	if (keys == NULL)
		return FS_ERR_NOMEM;
	t->row_keys = keys;
	if ((cells = realloc(t->cells, cap * t->ncols * sizeof(*cells))) == NULL)
		return FS_ERR_NOMEM;
	t->cells = cells;
	if ((hidden = realloc(t->hidden, cap * t->ncols * sizeof(*hidden))) == NULL)
		return FS_ERR_NOMEM;
	t->hidden = hidden;
	t->cap = cap;
	return FS_OK;
}

fs_err
report_table_row(struct report_table *t, const char *key, size_t *ret_row)
{
	size_t i;

	/* Reports have tens to a few thousand rows: a scan is enough. */
	for (i = 0; i < t->nrows; i++)
		if (strcmp(t->row_keys[i], key) == 0) {
			*ret_row = i;
			return FS_OK;
		}
	if (t->nrows == t->cap && grow(t) != FS_OK)
		return FS_ERR_NOMEM;
	if ((t->row_keys[i] = strdup(key)) == NULL)
		return FS_ERR_NOMEM;
	memset(report_cell(t, i, 0), 0, t->ncols * sizeof(int64_t));
	memset(report_hidden(t, i, 0), 0, t->ncols * sizeof(bool));
	t->nrows++;
	*ret_row = i;
	return FS_OK;
}

void
report_table_count(struct report_table *t, size_t row, size_t col)
{
	(*report_cell(t, row, col))++;
}

/* Row order: by key, with the cells moving along (qsort of (key, index) pairs). */
struct keyed {
	const char *key;
	size_t row;
};

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

static fs_err
sort_rows(struct report_table *t)
{
	size_t n = t->nrows;
	struct keyed *order = malloc((n ? n : 1) * sizeof(*order));
	char **keys = malloc((n ? n : 1) * sizeof(*keys));
	int64_t *cells = malloc((n ? n : 1) * t->ncols * sizeof(*cells));
	fs_err err = FS_ERR_NOMEM;

	if (order == NULL || keys == NULL || cells == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		order[i] = (struct keyed){ t->row_keys[i], i };
	qsort(order, n, sizeof(*order), by_key);
	for (size_t i = 0; i < n; i++) {
		keys[i] = t->row_keys[order[i].row];
		memcpy(&cells[i * t->ncols], report_cell(t, order[i].row, 0),
		    t->ncols * sizeof(*cells));
	}
	if (n > 0) {
		memcpy(t->row_keys, keys, n * sizeof(*keys));
		memcpy(t->cells, cells, n * t->ncols * sizeof(*cells));
	}
	err = FS_OK;
out:
	free(order);
	free(keys);
	free(cells);
	return err;
}

/*
 * One line: its member cells and its total, as (row, col) pairs.  With
 * exactly one hidden cell among them, hides one more: the smallest
 * non-zero shown cell, or else a shown zero.  Returns true when it hid one.
 */
struct cellref {
	size_t r, c;
};

static bool
protect_line(struct report_table *t, const struct cellref *line, size_t n)
{
	size_t hidden = 0, best = n;

	for (size_t i = 0; i < n; i++)
		hidden += *report_hidden(t, line[i].r, line[i].c);
	if (hidden != 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		int64_t v = *report_cell(t, line[i].r, line[i].c);

		if (*report_hidden(t, line[i].r, line[i].c))
			continue;
		if (best == n) {
			best = i;
			continue;
		}
		int64_t b = *report_cell(t, line[best].r, line[best].c);
		/* Non-zero before zero; then the smallest. */
		if ((b == 0 && v != 0) || (v != 0 && v < b))
			best = i;
	}
	if (best == n)
		return false;
	*report_hidden(t, line[best].r, line[best].c) = true;
	return true;
}

long
report_table_finish(struct report_table *t, int64_t threshold)
{
	size_t total, nline = (t->nrows + 1 > t->ncols ? t->nrows + 1 : t->ncols) + 1;
	struct cellref *line = malloc(nline * sizeof(*line));
	bool changed = true;
	long nhidden = 0;
	int maxg = 0;

	if (line == NULL || sort_rows(t) != FS_OK || report_table_row(t, "", &total) != FS_OK) {
		free(line);
		return -1;
	}
	/* The total row: every column summed over the rows. */
	for (size_t r = 0; r < total; r++)
		for (size_t c = 0; c < t->ncols; c++)
			*report_cell(t, total, c) += *report_cell(t, r, c);
	/* Primary suppression. */
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		t->hidden[i] = t->cells[i] > 0 && t->cells[i] < threshold;
	for (size_t c = 0; c < t->ncols; c++)
		if (t->col_group[c] > maxg)
			maxg = t->col_group[c];
	/* Complementary suppression, until no line has a lone hidden cell. */
	while (changed) {
		changed = false;
		for (size_t c = 0; c < t->ncols; c++) {
			size_t n = 0;

			for (size_t r = 0; r <= total; r++)
				line[n++] = (struct cellref){ r, c };
			changed |= protect_line(t, line, n);
		}
		for (size_t r = 0; r <= total; r++)
			for (int g = 1; g <= maxg; g++) {
				size_t n = 0;

				line[n++] = (struct cellref){ r, 0 }; /* the row's records */
				for (size_t c = 1; c < t->ncols; c++)
					if (t->col_group[c] == g)
						line[n++] = (struct cellref){ r, c };
				if (n > 1)
					changed |= protect_line(t, line, n);
			}
	}
	free(line);
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		nhidden += t->hidden[i];
	return nhidden;
}
