/*
 * fuzz.h -- what the fuzz targets share: the libFuzzer entry point and a
 * check that aborts (so both libFuzzer and the replay test see a failure).
 */
#ifndef FS_FUZZ_H
#define FS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__,   \
			    #cond);                                                                \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif /* FS_FUZZ_H */
