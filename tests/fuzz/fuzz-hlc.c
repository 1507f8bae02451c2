/*
 * fuzz-hlc.c -- hlc_parse() on any text, and the properties around it: a
 * parsed stamp formats back to exactly the input, text order is stamp
 * order, and the clock only moves forward.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hlc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *second, dev[HLC_DEVICE_LEN + 1], dev2[HLC_DEVICE_LEN + 1];
	char buf[HLC_TEXT_LEN + 1];
	uint64_t stamp, stamp2, next;
	size_t half;

	if (size > 4096)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (hlc_parse(text, &stamp, dev) == FS_OK) {
		FUZZ_CHECK(strlen(text) == HLC_TEXT_LEN);
		hlc_format(stamp, dev, buf);
		FUZZ_CHECK(strcmp(buf, text) == 0);
		FUZZ_CHECK(hlc_valid_device(dev));
		/* The clock: a tick after observing this stamp is greater. */
		struct hlc clock = {.last = 0};
		memcpy(clock.device, "0000000000000000", HLC_DEVICE_LEN + 1);
		if (strcmp(dev, clock.device) != 0) {
			FUZZ_CHECK(hlc_observe(&clock, stamp, dev) == FS_OK);
			FUZZ_CHECK(clock.last >= stamp);
			if (hlc_tick(&clock, (int64_t)(stamp >> 20), &next) == FS_OK)
				FUZZ_CHECK(next > stamp);
		} else {
			FUZZ_CHECK(stamp == 0 || hlc_observe(&clock, stamp, dev) == FS_ERR_CLONED);
		}
	}
	/* Two stamps: text order must be stamp order. */
	half = size / 2;
	text[half] = '\0';
	second = text + half + 1;
	if (size > 0 && hlc_parse(text, &stamp, dev) == FS_OK &&
	    hlc_parse(second, &stamp2, dev2) == FS_OK) {
		int c = hlc_compare(stamp, dev, stamp2, dev2), s = strcmp(text, second);
		FUZZ_CHECK((c < 0) == (s < 0) && (c == 0) == (s == 0));
	}
	free(text);
	return 0;
}
