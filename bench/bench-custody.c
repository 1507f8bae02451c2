/*
 * bench-custody.c -- what the chain of custody costs a push, per change,
 * on one core (issue 16: target <= 60 us of verification per change).
 *
 * 2,000 signed changes shaped like a labour-inspection save (10 fields),
 * then, each pass over all of them, timed:
 *   parse    -- cJSON_Parse + change_parse: what every push pays anyway;
 *   link     -- canonical form + BLAKE2b (the chain check alone);
 *   check    -- canonical form + BLAKE2b + Ed25519 verify (what the server
 *               adds per change in protocol 3);
 *   sign     -- canonical form + BLAKE2b + Ed25519 sign (the device's
 *               cost per save).
 * Best of 5 passes each, in microseconds per change, and check/parse as a
 * ratio.  Prints one JSON line.  Timings vary on a shared machine; the
 * ratio is what to compare between runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "change.h"
#include "custody.h"

#define N      2000
#define PASSES 5

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static char *texts[N];

static void
build(const char *pk, const unsigned char *sk)
{
	char prev[CUSTODY_LINK_HEX + 1], sig[CUSTODY_SIG_HEX + 1], msg[128];
	unsigned char link[CUSTODY_LINK_LEN];

	memcpy(prev, custody_genesis, sizeof(prev));
	(void)pk;
	for (int i = 0; i < N; i++) {
		char text[1024];
		struct change ch;
		cJSON *obj;

		snprintf(text, sizeof(text),
		    "{\"id\":\"%032x\",\"form\":\"labor_inspection\",\"form_version\":1,"
		    "\"op\":\"upsert\",\"hlc\":\"%016llx-ed759f0cab76726f\",\"fields\":{"
		    "\"worksite_name\":\"Worksite %d on the river road\",\"sector\":\"fishing\","
		    "\"inspection_date\":\"2026-11-20\",\"number_of_workers\":%d,"
		    "\"debt_bondage\":true,\"isolation\":false,\"referral_decision\":\"monitor\","
		    "\"indicators\":[\"debt\",\"isolation\"],\"interview_notes\":\"Spoke with the"
		    " foreman and two workers; documents held by the employer.\","
		    "\"officer_notes\":null},\"base\":{},\"prev\":\"%s\"}",
		    i + 1, (unsigned long long)(0x01a209c38ace0000ULL + (unsigned)i), i, 10 + i % 90,
		    prev);
		obj = cJSON_Parse(text);
		if (obj == NULL || change_parse(obj, &ch, msg, sizeof(msg)) != FS_OK ||
		    custody_link(&ch, link) != FS_OK) {
			fprintf(stderr, "bench-custody: could not build change %d\n", i);
			exit(1);
		}
		custody_sign(link, sk, sig);
		custody_hex(link, sizeof(link), prev);
		cJSON_AddStringToObject(obj, "sig", sig);
		texts[i] = cJSON_PrintUnformatted(obj);
		cJSON_Delete(obj);
	}
}

/* One pass of what = 0 parse, 1 link, 2 check, 3 sign; microseconds per change. */
static double
pass(int what, const char *pk, const unsigned char *sk)
{
	unsigned char link[CUSTODY_LINK_LEN];
	char lhex[CUSTODY_LINK_HEX + 1], sig[CUSTODY_SIG_HEX + 1], msg[128];
	double t0 = now_us();
	const char *why;

	for (int i = 0; i < N; i++) {
		cJSON *obj = cJSON_Parse(texts[i]);
		struct change ch;

		if (obj == NULL || change_parse(obj, &ch, msg, sizeof(msg)) != FS_OK)
			exit(1);
		if (what == 1 && custody_link(&ch, link) != FS_OK)
			exit(1);
		if (what == 2 && custody_check(&ch, pk, lhex, &why) != FS_OK) {
			fprintf(stderr, "bench-custody: change %d does not verify\n", i);
			exit(1);
		}
		if (what == 3) {
			if (custody_link(&ch, link) != FS_OK)
				exit(1);
			custody_sign(link, sk, sig);
		}
		cJSON_Delete(obj);
	}
	return (now_us() - t0) / N;
}

int
main(void)
{
	static const char *names[] = { "parse", "link", "check", "sign" };
	unsigned char sk[CUSTODY_SECRET_LEN];
	char pk[CUSTODY_KEY_HEX + 1];
	double best[4];

	if (custody_keypair(pk, sk) != FS_OK)
		return 1;
	build(pk, sk);
	for (int w = 0; w < 4; w++) {
		best[w] = 1e18;
		for (int p = 0; p < PASSES; p++) {
			double t = pass(w, pk, sk);
			if (t < best[w])
				best[w] = t;
		}
	}
	printf("{\"bench\":\"custody\",\"changes\":%d", N);
	for (int w = 0; w < 4; w++)
		printf(",\"%s_us\":%.1f", names[w], best[w]);
	printf(",\"verify_added_us\":%.1f,\"check_over_parse\":%.2f}\n", best[2] - best[0],
	    best[2] / best[0]);
	for (int i = 0; i < N; i++)
		cJSON_free(texts[i]);
	return 0;
}
