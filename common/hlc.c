/*
 * hlc.c -- hybrid logical clock.  See hlc.h.
 *
 * A new stamp is max(wall << 16, last + 1).  Because the counter is the low
 * 16 bits, last + 1 on a counter of 0xFFFF carries into the milliseconds:
 * the counter never wraps and no stamp is ever issued twice.
 */
#include "hlc.h"

#include <string.h>
#include <time.h>

#include "id.h"

int64_t
hlc_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

fs_err
hlc_tick(struct hlc *clock, int64_t wall_ms, uint64_t *ret_stamp)
{
	uint64_t wall, next;

	if (wall_ms < 0)
		wall_ms = 0;
	wall = (uint64_t)wall_ms;
	if (wall > HLC_MS_MAX)
		return FS_ERR_CLOCK;
	/* The last stamp of all: last + 1 would wrap to 0 and go backwards. */
	if (clock->last == UINT64_MAX)
		return FS_ERR_CLOCK;
	next = clock->last + 1;
	if (hlc_pack(wall, 0) > next)
		next = hlc_pack(wall, 0);
	clock->last = next;
	*ret_stamp = next;
	return FS_OK;
}

fs_err
hlc_observe(struct hlc *clock, uint64_t remote, const char *device)
{
	if (device != NULL && strcmp(device, clock->device) == 0 && remote > clock->last)
		return FS_ERR_CLONED;
	if (remote > clock->last)
		clock->last = remote;
	return FS_OK;
}

void
hlc_format(uint64_t stamp, const char *device, char buf[HLC_TEXT_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--) {
		buf[i] = hex[stamp & 15];
		stamp >>= 4;
	}
	buf[16] = '-';
	memcpy(buf + 17, device, HLC_DEVICE_LEN);
	buf[HLC_TEXT_LEN] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

fs_err
hlc_parse(const char *text, uint64_t *ret_stamp, char ret_device[HLC_DEVICE_LEN + 1])
{
	uint64_t v = 0;

	if (text == NULL)
		return FS_ERR_INVALID;
	for (int i = 0; i < 16; i++) {
		int d = hexval(text[i]);
		if (d < 0)
			return FS_ERR_INVALID;
		v = (v << 4) | (uint64_t)d;
	}
	if (text[16] != '-' || !hlc_valid_device(text + 17))
		return FS_ERR_INVALID;
	*ret_stamp = v;
	if (ret_device != NULL) {
		memcpy(ret_device, text + 17, HLC_DEVICE_LEN);
		ret_device[HLC_DEVICE_LEN] = '\0';
	}
	return FS_OK;
}

int
hlc_compare(uint64_t a, const char *dev_a, uint64_t b, const char *dev_b)
{
	if (a != b)
		return a < b ? -1 : 1;
	return strcmp(dev_a, dev_b);
}

bool
hlc_valid_device(const char *text)
{
	return id_is_hex(text, HLC_DEVICE_LEN);
}
