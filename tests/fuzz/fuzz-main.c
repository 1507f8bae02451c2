/*
 * fuzz-main.c -- replays fuzz inputs without libFuzzer, so every fuzz
 * target also builds with gcc as an ordinary test (cJSON and systemd do
 * the same).
 *
 *	fuzz-replay-TARGET PATH...
 *
 * Each PATH is a file or a directory whose regular files (seeds, and any
 * crash-* file a fuzzer left) are fed to LLVMFuzzerTestOneInput() one at a
 * time, in name order.  A crash or a failed assertion in the target fails
 * the test; otherwise it prints "fuzz-replay: N inputs" and exits 0.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "fuzz-replay: cannot read %s\n", path);
		exit(1);
	}
	/* An exact-size copy, so that ASan and valgrind see reads past the end. */
	if ((buf = malloc(n > 0 ? (size_t)n : 1)) == NULL ||
	    fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fprintf(stderr, "fuzz-replay: cannot read %s\n", path);
		exit(1);
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 1;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
replay(const char *path)
{
	struct stat st;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int count = 0;
	DIR *dir;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "fuzz-replay: no such file or directory: %s\n", path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	if ((dir = opendir(path)) == NULL) {
		fprintf(stderr, "fuzz-replay: cannot open %s\n", path);
		exit(1);
	}
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((names = realloc(names, cap * sizeof(*names))) == NULL)
				exit(1);
		}
		if ((names[n] = malloc(strlen(path) + strlen(e->d_name) + 2)) == NULL)
			exit(1);
		sprintf(names[n++], "%s/%s", path, e->d_name);
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			count += replay_file(names[i]);
		free(names[i]);
	}
	free(names);
	return count;
}

int
main(int argc, char **argv)
{
	int count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		count += replay(argv[i]);
	printf("fuzz-replay: %d inputs\n", count);
	return count > 0 ? 0 : 1;
}
