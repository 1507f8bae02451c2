/*
 * test-hlc.c -- hybrid logical clock properties.
 */
#include <stdint.h>

#include "harness.h"
#include "hlc.h"

static struct hlc
clock_for(const char *device)
{
	struct hlc c = { 0 };

	memcpy(c.device, device, HLC_DEVICE_LEN + 1);
	return c;
}

FS_TEST(hlc_uses_wall_clock_when_it_moves_forward)
{
	struct hlc c = clock_for("00000000000000aa");
	uint64_t s;

	ASSERT_OK(hlc_tick(&c, 1000, &s));
	ASSERT_U64_EQ(hlc_ms(s), 1000);
	ASSERT_EQ(hlc_counter(s), 0);
	ASSERT_OK(hlc_tick(&c, 2000, &s));
	ASSERT_U64_EQ(hlc_ms(s), 2000);
	ASSERT_EQ(hlc_counter(s), 0);
}

FS_TEST(hlc_counts_within_one_millisecond)
{
	struct hlc c = clock_for("00000000000000aa");
	uint64_t s;

	ASSERT_OK(hlc_tick(&c, 5000, &s));
	ASSERT_OK(hlc_tick(&c, 5000, &s));
	ASSERT_U64_EQ(hlc_ms(s), 5000);
	ASSERT_EQ(hlc_counter(s), 1);
}

FS_TEST(hlc_is_monotonic_when_wall_clock_goes_backwards)
{
	struct hlc c = clock_for("00000000000000aa");
	uint64_t prev, s;

	ASSERT_OK(hlc_tick(&c, 1700000000000LL, &prev));
	/* The clock jumps back by a day, then creeps forward. */
	for (int64_t wall = 1700000000000LL - 86400000LL, i = 0; i < 10000; i++, wall += 3) {
		ASSERT_OK(hlc_tick(&c, wall, &s));
		ASSERT(s > prev);
		ASSERT_U64_EQ(hlc_ms(s), 1700000000000ULL + (uint64_t)((i + 1) >> 16));
		prev = s;
	}
}

FS_TEST(hlc_counter_overflow_advances_milliseconds_without_wrap)
{
	struct hlc c = clock_for("00000000000000aa");
	uint64_t prev = 0, s;

	/* More than 65,535 stamps in one millisecond (FAILURE-MODES 27). */
	for (int i = 0; i < 70000; i++) {
		ASSERT_OK(hlc_tick(&c, 42, &s));
		ASSERT(s > prev);
		prev = s;
	}
	ASSERT_U64_EQ(hlc_ms(s), 43);
	ASSERT_EQ(hlc_counter(s), 70000 - 65536 - 1);
}

FS_TEST(hlc_negative_wall_time_is_clamped)
{
	struct hlc c = clock_for("00000000000000aa");
	uint64_t s;

	ASSERT_OK(hlc_tick(&c, -5, &s));
	ASSERT_U64_EQ(s, 1);
}

FS_TEST(hlc_refuses_milliseconds_past_48_bits)
{
	struct hlc c = clock_for("00000000000000aa");
	uint64_t s = 7;

	ASSERT_EQ(hlc_tick(&c, (int64_t)HLC_MS_MAX + 1, &s), FS_ERR_CLOCK);
	ASSERT_U64_EQ(s, 7);
	c.last = hlc_pack(HLC_MS_MAX, 0xFFFF);
	ASSERT_EQ(hlc_tick(&c, 0, &s), FS_ERR_CLOCK);
}

FS_TEST(hlc_observe_moves_clock_past_remote_stamp)
{
	struct hlc c = clock_for("00000000000000aa");
	uint64_t s;

	ASSERT_OK(hlc_observe(&c, hlc_pack(9000, 7), "00000000000000bb"));
	ASSERT_OK(hlc_tick(&c, 10, &s));
	ASSERT_U64_EQ(s, hlc_pack(9000, 8));
	/* An older remote stamp changes nothing. */
	ASSERT_OK(hlc_observe(&c, hlc_pack(100, 0), "00000000000000bb"));
	ASSERT_U64_EQ(c.last, hlc_pack(9000, 8));
}

FS_TEST(hlc_observe_detects_cloned_device)
{
	struct hlc c = clock_for("00000000000000aa");
	uint64_t s;

	ASSERT_OK(hlc_tick(&c, 1000, &s));
	/* Our own stamps coming back are fine. */
	ASSERT_OK(hlc_observe(&c, s, "00000000000000aa"));
	/* A stamp with our id that we never issued is a clone. */
	ASSERT_EQ(hlc_observe(&c, s + 5, "00000000000000aa"), FS_ERR_CLONED);
	ASSERT_U64_EQ(c.last, s);
}

FS_TEST(hlc_orders_equal_stamps_by_device)
{
	ASSERT(hlc_compare(5, "00000000000000aa", 5, "00000000000000bb") < 0);
	ASSERT(hlc_compare(5, "00000000000000bb", 5, "00000000000000aa") > 0);
	ASSERT(hlc_compare(6, "00000000000000aa", 5, "00000000000000bb") > 0);
	ASSERT_EQ(hlc_compare(5, "00000000000000aa", 5, "00000000000000aa"), 0);
}

FS_TEST(hlc_text_roundtrips_and_sorts_like_stamps)
{
	char a[HLC_TEXT_LEN + 1], b[HLC_TEXT_LEN + 1], dev[HLC_DEVICE_LEN + 1];
	uint64_t s;

	hlc_format(hlc_pack(1700000000123ULL, 65535), "0123456789abcdef", a);
	ASSERT_EQ(strlen(a), HLC_TEXT_LEN);
	ASSERT_OK(hlc_parse(a, &s, dev));
	ASSERT_U64_EQ(s, hlc_pack(1700000000123ULL, 65535));
	ASSERT_STR_EQ(dev, "0123456789abcdef");
	/* Text order equals stamp order across a counter carry. */
	hlc_format(hlc_pack(1700000000124ULL, 0), "0000000000000000", b);
	ASSERT(strcmp(a, b) < 0);
	hlc_format(hlc_pack(1, 2), "00000000000000aa", a);
	hlc_format(hlc_pack(1, 2), "00000000000000bb", b);
	ASSERT(strcmp(a, b) < 0);
}

FS_TEST(hlc_parse_is_strict)
{
	static const char *bad[] = {
		"",
		"0000000000000001",
		"0000000000000001-",
		"0000000000000001-0123456789abcde",
		"0000000000000001-0123456789abcdef0",
		"0000000000000001-0123456789ABCDEF",
		"000000000000000g-0123456789abcdef",
		"0000000000000001_0123456789abcdef",
		" 000000000000001-0123456789abcdef",
	};
	uint64_t s = 99;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(hlc_parse(bad[i], &s, NULL), FS_ERR_INVALID);
	ASSERT_EQ(hlc_parse(NULL, &s, NULL), FS_ERR_INVALID);
	ASSERT_U64_EQ(s, 99);
}

FS_TEST(hlc_two_clocks_never_issue_equal_stamps)
{
	struct hlc a = clock_for("00000000000000aa"), b = clock_for("00000000000000bb");
	uint64_t sa, sb;

	for (int i = 0; i < 1000; i++) {
		ASSERT_OK(hlc_tick(&a, 100 + i / 10, &sa));
		ASSERT_OK(hlc_observe(&b, sa, a.device));
		ASSERT_OK(hlc_tick(&b, 50, &sb));
		ASSERT(sb > sa);
		ASSERT_OK(hlc_observe(&a, sb, b.device));
	}
}

int
main(void)
{
	FS_RUN(hlc_uses_wall_clock_when_it_moves_forward);
	FS_RUN(hlc_counts_within_one_millisecond);
	FS_RUN(hlc_is_monotonic_when_wall_clock_goes_backwards);
	FS_RUN(hlc_counter_overflow_advances_milliseconds_without_wrap);
	FS_RUN(hlc_negative_wall_time_is_clamped);
	FS_RUN(hlc_refuses_milliseconds_past_48_bits);
	FS_RUN(hlc_observe_moves_clock_past_remote_stamp);
	FS_RUN(hlc_observe_detects_cloned_device);
	FS_RUN(hlc_orders_equal_stamps_by_device);
	FS_RUN(hlc_text_roundtrips_and_sorts_like_stamps);
	FS_RUN(hlc_parse_is_strict);
	FS_RUN(hlc_two_clocks_never_issue_equal_stamps);
	FS_TEST_DONE();
}
