/*
 * wrap_curl.c -- times every request libfieldsync makes.
 *
 * Programs that need per-request figures link with
 * -Wl,--wrap=curl_easy_perform: the calls libfieldsync's objects make to
 * curl_easy_perform() land here, are timed, their byte counters read from
 * libcurl, and go on to the real function.  The library is unchanged.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define REQS_MAX (1u << 20)

CURLcode __real_curl_easy_perform(CURL *curl);
CURLcode __wrap_curl_easy_perform(CURL *curl);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct bench_req *reqs;
static size_t nreqs, capreqs;

CURLcode
__wrap_curl_easy_perform(CURL *curl)
{
	double t0 = bench_now();
	CURLcode rc = __real_curl_easy_perform(curl);
	struct bench_req r = { .seconds = bench_now() - t0 };
	curl_off_t up = 0, down = 0;
	long hup = 0, hdown = 0;
	char *method = NULL;

	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_easy_getinfo(curl, CURLINFO_SIZE_DOWNLOAD_T, &down);
	curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &hup);
	curl_easy_getinfo(curl, CURLINFO_HEADER_SIZE, &hdown);
	curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_METHOD, &method);
	r.post = method != NULL && strcmp(method, "POST") == 0;
	r.body_up = up;
	r.body_down = down;
	r.header_up = hup;
	r.header_down = hdown;
	if (rc != CURLE_OK)
		r.status = 0;
	pthread_mutex_lock(&lock);
	if (nreqs == capreqs && capreqs < REQS_MAX) {
		size_t cap = capreqs ? capreqs * 2 : 4096;
		struct bench_req *grown = realloc(reqs, cap * sizeof(*reqs));
		if (grown != NULL) {
			reqs = grown;
			capreqs = cap;
		}
	}
	if (nreqs < capreqs)
		reqs[nreqs++] = r;
	pthread_mutex_unlock(&lock);
	return rc;
}

void
bench_reqs_reset(void)
{
	pthread_mutex_lock(&lock);
	nreqs = 0;
	pthread_mutex_unlock(&lock);
}

const struct bench_req *
bench_reqs(size_t *ret_n)
{
	pthread_mutex_lock(&lock);
	*ret_n = nreqs;
	pthread_mutex_unlock(&lock);
	return reqs;
}
