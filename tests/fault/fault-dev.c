/*
 * fault-dev.c -- a field device for the fault suite, on the public API
 * only (what an application on a device links).
 *
 *	fault-dev init DB NAME FORM.json...
 *		makes a device store and imports the forms.
 *	fault-dev add DB N SEED [--edit PCT] [--delete PCT] [--notes BYTES]
 *	    [--timefile FILE --times SPEC,SPEC,...]
 *		makes N saves of labor_inspection records as fast as it can:
 *		creates, edits of any record the store holds (its own or pulled
 *		ones, so devices edit each other's records concurrently) and a
 *		few deletes.  Choices come from a PRNG seeded with SEED.  With
 *		--timefile, SPEC number i % count is written to FILE before save
 *		i: under libfaketime (FAKETIME_TIMESTAMP_FILE=FILE,
 *		FAKETIME_NO_CACHE=1) the device clock then jumps between saves,
 *		backwards too, inside one process.
 *		Prints "added N: C creates, E edits, D deletes".
 *
 * Exit status 0, or 1 with a line on stderr naming the failed call.  Field
 * values never go to stdout or stderr.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldsync.h"

#define MAX_TIMES 64

static uint64_t prng;

static uint64_t
next_rand(void)
{
	/* splitmix64 */
	uint64_t z = (prng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned
below(unsigned n)
{
	return (unsigned)(next_rand() % n);
}

static void __attribute__((noreturn)) die(fs_client *c, const char *what, fs_err err)
{
	fprintf(stderr, "fault-dev: %s: %s: %s\n", what, fs_strerror(err), fs_errmsg(c));
	exit(1);
}

static char *
read_file(const char *path, size_t *ret_len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "fault-dev: cannot read %s\n", path);
		exit(1);
	}
	if ((buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fprintf(stderr, "fault-dev: cannot read %s\n", path);
		exit(1);
	}
	buf[n] = '\0';
	fclose(fp);
	*ret_len = (size_t)n;
	return buf;
}

static int
cmd_init(int argc, char **argv)
{
	fs_client *c;
	fs_err err;

	if (argc < 3) {
		fprintf(stderr, "usage: fault-dev init DB NAME FORM.json...\n");
		return 2;
	}
	if ((err = fs_open(argv[1], &c)) != FS_OK)
		die(NULL, "fs_open", err);
	if ((err = fs_device_init(c, argv[2])) != FS_OK)
		die(c, "fs_device_init", err);
	for (int i = 3; i < argc; i++) {
		size_t len;
		char *json = read_file(argv[i], &len);

		if ((err = fs_forms_import(c, json, len, NULL)) != FS_OK)
			die(c, "fs_forms_import", err);
		free(json);
	}
	printf("%s\n", fs_device_id(c));
	fs_close(c);
	return 0;
}

static void
add_notes(cJSON *v, size_t bytes)
{
	char *s;

	if (bytes == 0)
		return;
	if (bytes > 20000)
		bytes = 20000; /* the form's max_length */
	if ((s = malloc(bytes + 1)) == NULL)
		exit(1);
	for (size_t i = 0; i < bytes; i++)
		s[i] = (char)('a' + below(26));
	s[bytes] = '\0';
	cJSON_AddStringToObject(v, "interview_notes", s);
	free(s);
}

static char *
values_create(uint64_t k, size_t notes)
{
	static const char *const sectors[] = {"agriculture", "construction", "fishing", "mining"};
	static const char *const decisions[] = {"none", "monitor", "refer_police"};
	cJSON *v = cJSON_CreateObject();
	char buf[64], *text;

	snprintf(buf, sizeof(buf), "Site %" PRIu64, k);
	cJSON_AddStringToObject(v, "worksite_name", buf);
	cJSON_AddStringToObject(v, "sector", sectors[below(4)]);
	snprintf(buf, sizeof(buf), "2026-%02u-%02u", 1 + below(12), 1 + below(28));
	cJSON_AddStringToObject(v, "inspection_date", buf);
	cJSON_AddStringToObject(v, "referral_decision", decisions[below(3)]);
	cJSON_AddNumberToObject(v, "number_of_workers", below(100001));
	/* A sensitive value: sealed once the device knows headquarters' key (issue 17). */
	snprintf(buf, sizeof(buf), "Person %u", below(100000));
	cJSON_AddStringToObject(v, "interviewee_name", buf);
	add_notes(v, notes);
	text = cJSON_PrintUnformatted(v);
	cJSON_Delete(v);
	return text;
}

static char *
values_edit(size_t notes)
{
	static const char *const flags[] = {
	    "deception", "isolation", "debt_bondage", "excessive_overtime"};
	cJSON *v = cJSON_CreateObject();
	char buf[64], *text;

	switch (below(5)) {
	case 0:
		cJSON_AddNumberToObject(v, "number_of_workers", below(100001));
		break;
	case 4:
		snprintf(buf, sizeof(buf), "Person %u", below(100000));
		cJSON_AddStringToObject(v, "interviewee_name", buf);
		break;
	case 1:
		cJSON_AddBoolToObject(v, flags[below(4)], below(2));
		break;
	case 2:
		snprintf(buf, sizeof(buf), "INS-%u", below(10000));
		cJSON_AddStringToObject(v, "inspector_id", buf);
		break;
	default:
		cJSON_AddNumberToObject(v, "number_of_workers", below(100001));
		cJSON_AddBoolToObject(v, flags[below(4)], below(2));
		break;
	}
	add_notes(v, notes);
	text = cJSON_PrintUnformatted(v);
	cJSON_Delete(v);
	return text;
}

/* The ids of the live records, as a cJSON array (owned). */
static cJSON *
list_ids(fs_client *c)
{
	char *json;
	cJSON *arr;
	fs_err err;

	if ((err = fs_record_list(c, NULL, &json)) != FS_OK)
		die(c, "fs_record_list", err);
	arr = cJSON_Parse(json);
	fs_free(json);
	if (!cJSON_IsArray(arr))
		die(c, "fs_record_list answer", FS_ERR_INTERNAL);
	return arr;
}

static void
write_time(const char *path, const char *spec)
{
	FILE *fp;
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL || fprintf(fp, "%s\n", spec) < 0 || fclose(fp) != 0 ||
	    rename(tmp, path) != 0) {
		fprintf(stderr, "fault-dev: cannot write %s\n", path);
		exit(1);
	}
}

static int
cmd_add(int argc, char **argv)
{
	unsigned edit_pct = 40, delete_pct = 3;
	size_t notes = 0, ntimes = 0;
	const char *timefile = NULL;
	char *times[MAX_TIMES], *times_buf = NULL;
	unsigned long n, creates = 0, edits = 0, deletes = 0, skips = 0;
	cJSON *ids = NULL;
	fs_client *c;
	fs_err err;

	if (argc < 4) {
		fprintf(stderr, "usage: fault-dev add DB N SEED [--edit PCT] [--delete PCT]"
		                " [--notes BYTES] [--timefile FILE --times SPEC,...]\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	prng = strtoull(argv[3], NULL, 0);
	for (int i = 4; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--edit") == 0) {
			edit_pct = (unsigned)atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--delete") == 0) {
			delete_pct = (unsigned)atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--notes") == 0) {
			notes = strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--timefile") == 0) {
			timefile = argv[i + 1];
		} else if (strcmp(argv[i], "--times") == 0) {
			times_buf = strdup(argv[i + 1]);
			for (char *t = strtok(times_buf, ","); t != NULL && ntimes < MAX_TIMES;
			     t = strtok(NULL, ","))
				times[ntimes++] = t;
		} else {
			fprintf(stderr, "fault-dev: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if ((timefile == NULL) != (ntimes == 0)) {
		fprintf(stderr, "fault-dev: --timefile and --times go together\n");
		return 2;
	}
	if ((err = fs_open(argv[1], &c)) != FS_OK)
		die(NULL, "fs_open", err);
	for (unsigned long i = 0; i < n; i++) {
		unsigned roll = below(100);
		int nids;
		char *json;

		if (timefile != NULL)
			write_time(timefile, times[i % ntimes]);
		if (ids == NULL)
			ids = list_ids(c);
		nids = cJSON_GetArraySize(ids);
		if (nids > 0 && roll < delete_pct) {
			const cJSON *r = cJSON_GetArrayItem(ids, (int)below((unsigned)nids));
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");

			err = fs_record_delete(c, id->valuestring);
			if (err != FS_OK && err != FS_ERR_DELETED)
				die(c, "fs_record_delete", err);
			deletes += err == FS_OK;
			cJSON_Delete(ids);
			ids = NULL;
		} else if (nids > 0 && roll < delete_pct + edit_pct && skips < 20) {
			const cJSON *r = cJSON_GetArrayItem(ids, (int)below((unsigned)nids));
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");

			json = values_edit(notes);
			err = fs_record_edit(c, id->valuestring, json);
			cJSON_free(json);
			if (err == FS_ERR_DELETED || err == FS_ERR_INVALID) {
				/*
				 * Deleted meanwhile, or brought back by an edit
				 * concurrent with a delete with required fields
				 * cleared (an edit must then set them): pick again.
				 */
				skips++;
				cJSON_Delete(ids);
				ids = NULL;
				i--;
				continue;
			}
			if (err != FS_OK)
				die(c, "fs_record_edit", err);
			edits++;
			skips = 0;
		} else {
			char *id;

			json = values_create(i + (prng & 0xffff) * 1000000, notes);
			if ((err = fs_record_create(c, "labor_inspection", json, &id)) != FS_OK)
				die(c, "fs_record_create", err);
			cJSON_free(json);
			fs_free(id);
			creates++;
			skips = 0;
			cJSON_Delete(ids);
			ids = NULL;
		}
	}
	cJSON_Delete(ids);
	fs_close(c);
	free(times_buf);
	printf("added %lu: %lu creates, %lu edits, %lu deletes\n", n, creates, edits, deletes);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return cmd_add(argc - 1, argv + 1);
	fprintf(stderr, "usage: fault-dev init|add ...\n");
	return 2;
}
