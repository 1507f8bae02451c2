/*
 * harness.h -- a tiny unit-test harness (after libuv's task.h).
 *
 * FS_TEST(name) defines a case; FS_RUN(name) runs it from main(); the
 * ASSERT_* macros print file:line and the values, then abort the process so
 * the test fails.  FS_TEST_MAIN() ends main with a summary line.
 */
#ifndef FS_HARNESS_H
#define FS_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS_TEST(name) static void test_##name(void)

#define FS_RUN(name)                                                                         \
	do {                                                                                 \
		fprintf(stderr, "-- %s\n", #name);                                           \
		test_##name();                                                               \
		fs_harness_ran++;                                                            \
	} while (0)

static int fs_harness_ran;

#define FS_TEST_DONE()                                                                       \
	do {                                                                                 \
		fprintf(stderr, "ok: %d cases\n", fs_harness_ran);                           \
		return 0;                                                                    \
	} while (0)

#define FS_FAIL_AT(...)                                                                      \
	do {                                                                                 \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                              \
		fprintf(stderr, __VA_ARGS__);                                                \
		fprintf(stderr, "\n");                                                       \
		abort();                                                                     \
	} while (0)

#define ASSERT(cond)                                                                         \
	do {                                                                                 \
		if (!(cond))                                                                 \
			FS_FAIL_AT("assertion failed: %s", #cond);                           \
	} while (0)

#define ASSERT_EQ(a, b)                                                                      \
	do {                                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);                          \
		if (a_ != b_)                                                                \
			FS_FAIL_AT("%s == %s failed: %lld != %lld", #a, #b, a_, b_);         \
	} while (0)

#define ASSERT_U64_EQ(a, b)                                                                  \
	do {                                                                                 \
		uint64_t a_ = (a), b_ = (b);                                                 \
		if (a_ != b_)                                                                \
			FS_FAIL_AT("%s == %s failed: %" PRIx64 " != %" PRIx64, #a, #b, a_,   \
			    b_);                                                             \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                                  \
	do {                                                                                 \
		const char *a_ = (a), *b_ = (b);                                             \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                         \
			FS_FAIL_AT("%s == %s failed: \"%s\" != \"%s\"", #a, #b,              \
			    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                         \
	} while (0)

#define ASSERT_CONTAINS(hay, needle)                                                         \
	do {                                                                                 \
		const char *h_ = (hay), *n_ = (needle);                                      \
		if (h_ == NULL || strstr(h_, n_) == NULL)                                    \
			FS_FAIL_AT("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)",     \
			    n_);                                                             \
	} while (0)

#define ASSERT_OK(expr)                                                                      \
	do {                                                                                 \
		int e_ = (int)(expr);                                                        \
		if (e_ != 0)                                                                 \
			FS_FAIL_AT("%s returned %d, expected 0", #expr, e_);                 \
	} while (0)

#endif /* FS_HARNESS_H */
