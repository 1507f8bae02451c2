/*
 * test-push-answer.c -- the push answer under allocation failure (issue 14,
 * item 8): every allocation of the answer path (the refusals, the answer,
 * its printing) is failed in turn, and each run must either end with the
 * whole answer -- every refusal there, every count -- or report the
 * failure (so the push fails whole and the device retries).  Never a
 * partial answer that would have the device mark a refused change sent.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "push_answer.h"

#define NREJ 5

static long budget = -1; /* allocations before the one that fails; -1: none fails */
static long failed;

/* Fails exactly one allocation, the budget-th; the others succeed. */
static void *
failing_malloc(size_t n)
{
	if (budget == 0) {
		budget = -1;
		failed++;
		return NULL;
	}
	if (budget > 0)
		budget--;
	return malloc(n);
}

/* One run of the answer path; the printed answer, or NULL if a step failed. */
static char *
answer_path(void)
{
	struct push_counts counts = { .accepted = 3, .duplicates = 2, .conflicts = 1 };
	struct change ch = { .id = "0123456789abcdef0123456789abcdef",
		.hlc = "01a209c38ace0000-ed759f0cab76726f" };
	cJSON *rejected = cJSON_CreateArray(), *answer;
	char *text;

	if (rejected == NULL)
		return NULL;
	for (int k = 0; k < NREJ; k++) {
		if (push_reject(rejected, 10 + k, k % 2 ? &ch : NULL, "invalid",
			"field 'x': rule 'max'") != FS_OK) {
			cJSON_Delete(rejected);
			return NULL;
		}
	}
	if ((answer = push_answer("batch-1", &counts, rejected, 42,
		 "01a209c38ace0000-ed759f0cab76726f")) == NULL)
		return NULL;
	text = cJSON_PrintUnformatted(answer);
	cJSON_Delete(answer);
	return text;
}

static void
check_whole(const char *text)
{
	cJSON *a = cJSON_Parse(text), *r;
	int k = 0;

	ASSERT(a != NULL);
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(a, "accepted")->valueint, 3);
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(a, "duplicates")->valueint, 2);
	ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(a, "cursor")->valueint, 42);
	ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(a, "cursor_hlc")));
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(a, "batch")->valuestring, "batch-1");
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(a, "rejected"))
	{
		ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(r, "index")->valueint, 10 + k);
		ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(r, "error")->valuestring, "invalid");
		ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "detail")));
		ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(r, "id") != NULL, k % 2 == 1);
		k++;
	}
	ASSERT_EQ(k, NREJ);
	cJSON_Delete(a);
}

FS_TEST(push_answer_whole_or_nothing_under_allocation_failure)
{
	cJSON_Hooks hooks = { .malloc_fn = failing_malloc, .free_fn = free };
	long n, failures = 0;
	char *text = NULL;

	cJSON_InitHooks(&hooks);
	for (n = 0; n < 10000; n++) {
		budget = n;
		failed = 0;
		text = answer_path();
		budget = -1;
		if (failed == 0) {
			ASSERT(text != NULL); /* nothing failed: the whole answer */
			break;
		}
		/* An allocation failed: the path must say so, not answer in part. */
		if (text != NULL)
			FS_FAIL_AT("allocation %ld failed, yet an answer came out: %s", n, text);
		failures++;
	}
	ASSERT(text != NULL);
	ASSERT(failures > 20); /* every allocation of the path was failed once */
	check_whole(text);
	free(text);
	cJSON_InitHooks(NULL);
	printf("   %ld allocations failed in turn, each reported\n", failures);
}

int
main(void)
{
	FS_RUN(push_answer_whole_or_nothing_under_allocation_failure);
	FS_TEST_DONE();
}
