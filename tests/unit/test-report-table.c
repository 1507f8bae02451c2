/*
 * test-report-table.c -- the situation report's suppression
 * (daemon/report_table.c, issue 20 item 4):
 *
 *   - primary: every count from 1 to 4 hidden, 0 and 5+ shown;
 *   - complementary: no line (a column with its total; a row's risk
 *     levels or referral outcomes with the row's records) holds exactly
 *     one hidden cell, so no hidden count is the difference of shown ones;
 *     a worked case where the lone hidden cell could be recovered from
 *     the totals, and 300 random tables checked for both rules;
 *   - the total row is the sum of the rows; rows come sorted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "report_table.h"

/* Columns: records | indicator | risk low, high (group 1) | outcome none, referred (group 2). */
static const int groups[] = { 0, 0, 1, 1, 2, 2 };
#define NC 6

static struct report_table *
table_of(const char *const *keys, const int64_t (*cells)[NC], size_t n)
{
	struct report_table *t = report_table_new(NC, groups);
	size_t row;

	ASSERT(t != NULL);
	for (size_t i = 0; i < n; i++) {
		ASSERT_OK(report_table_row(t, keys[i], &row));
		for (size_t c = 0; c < NC; c++)
			for (int64_t k = 0; k < cells[i][c]; k++)
				report_table_count(t, row, c);
	}
	return t;
}

/* Checks the two rules and the totals; returns the number of hidden cells. */
static long
check_rules(const struct report_table *t)
{
	size_t total = t->nrows - 1;
	long hidden = 0;

	for (size_t c = 0; c < NC; c++) {
		int64_t sum = 0;
		int h = 0;

		for (size_t r = 0; r < total; r++)
			sum += *report_cell(t, r, c);
		ASSERT_EQ(sum, *report_cell(t, total, c));
		for (size_t r = 0; r <= total; r++) {
			int64_t v = *report_cell(t, r, c);
			bool x = *report_hidden(t, r, c);

			if (v > 0 && v < REPORT_THRESHOLD && !x)
				FS_FAIL_AT("row %zu col %zu: %lld shown", r, c, (long long)v);
			h += x;
			hidden += x;
		}
		if (h == 1)
			FS_FAIL_AT("column %zu: one hidden cell, recoverable from its total", c);
	}
	for (size_t r = 0; r <= total; r++)
		for (int g = 1; g <= 2; g++) {
			int h = *report_hidden(t, r, 0);

			for (size_t c = 1; c < NC; c++)
				if (groups[c] == g)
					h += *report_hidden(t, r, c);
			if (h == 1)
				FS_FAIL_AT("row %zu group %d: one hidden cell, recoverable", r, g);
		}
	return hidden;
}

FS_TEST(report_primary_and_totals)
{
	static const char *const keys[] = { "toledo\t2026-11", "cayo\t2026-11", "cayo\t2026-10" };
	static const int64_t cells[][NC] = {
		{ 20, 9, 10, 10, 10, 10 },
		{ 30, 0, 15, 15, 15, 15 },
		{ 40, 7, 20, 20, 20, 20 },
	};
	struct report_table *t = table_of(keys, cells, 3);

	ASSERT_EQ(report_table_finish(t, REPORT_THRESHOLD), 0);
	ASSERT_EQ(t->nrows, 4);
	ASSERT_STR_EQ(t->row_keys[0], "cayo\t2026-10"); /* sorted */
	ASSERT_STR_EQ(t->row_keys[2], "toledo\t2026-11");
	ASSERT_STR_EQ(t->row_keys[3], "");               /* the total, last */
	ASSERT_EQ(*report_cell(t, 3, 0), 90);
	ASSERT_EQ(*report_cell(t, 3, 1), 16);
	ASSERT(!*report_hidden(t, 1, 1)); /* a zero is shown */
	check_rules(t);
	report_table_free(t);
}

FS_TEST(report_complementary_suppression)
{
	/*
	 * Row a: 3 high-risk records.  Shown alone, the total of the high
	 * column (3) would give it away, and so would a's records minus its
	 * low ones (10 - 7).
	 */
	static const char *const keys[] = { "a", "b" };
	static const int64_t cells[][NC] = {
		{ 10, 6, 7, 3, 10, 0 },
		{ 12, 8, 12, 0, 6, 6 },
	};
	struct report_table *t = table_of(keys, cells, 2);
	long hidden = report_table_finish(t, REPORT_THRESHOLD);

	ASSERT(hidden >= 4);
	ASSERT(*report_hidden(t, 0, 3));  /* a, high: primary */
	ASSERT(*report_hidden(t, 2, 3));  /* the column's total would recover it */
	ASSERT(*report_hidden(t, 0, 2));  /* a's low would recover it from a's records */
	ASSERT_EQ(check_rules(t), hidden);
	report_table_free(t);
}

/* xorshift64*: the same tables on every run. */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

FS_TEST(report_random_tables_keep_both_rules)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	long total_hidden = 0;

	for (int round = 0; round < 300; round++) {
		size_t n = 1 + next(&seed) % 8;
		int64_t cells[8][NC];
		char names[8][8];
		const char *keys[8];

		for (size_t i = 0; i < n; i++) {
			int64_t rec = (int64_t)(next(&seed) % 14);
			int64_t low = rec ? (int64_t)(next(&seed) % (uint64_t)(rec + 1)) : 0;
			int64_t none = rec ? (int64_t)(next(&seed) % (uint64_t)(rec + 1)) : 0;

			cells[i][0] = rec;
			cells[i][1] = rec ? (int64_t)(next(&seed) % (uint64_t)(rec + 1)) : 0;
			cells[i][2] = low;
			cells[i][3] = rec - low;
			cells[i][4] = none;
			cells[i][5] = rec - none;
			snprintf(names[i], sizeof(names[i]), "r%zu", i);
			keys[i] = names[i];
		}
		struct report_table *t = table_of(keys, (const int64_t(*)[NC])cells, n);
		long hidden = report_table_finish(t, REPORT_THRESHOLD);

		ASSERT(hidden >= 0);
		ASSERT_EQ(check_rules(t), hidden);
		total_hidden += hidden;
		report_table_free(t);
	}
	ASSERT(total_hidden > 300); /* the tables did have small cells to hide */
}

int
main(void)
{
	FS_RUN(report_primary_and_totals);
	FS_RUN(report_complementary_suppression);
	FS_RUN(report_random_tables_keep_both_rules);
	FS_TEST_DONE();
}
