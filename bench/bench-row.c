/*
 * bench-row.c -- what one record costs in the one-row-per-record layout
 * (issue 12's disk target: <= 1.5 KB per labour-inspection record with a
 * history of one save), before a store is built on it.
 *
 * For N realistic labor_inspection records (bench_record_json(): every
 * field, the 11 indicators, notes of 10 to 70 words), one save each: the
 * change as a device sends it, merged through merge_mem (common/), and the
 * record's packed row (merge_mem_record_to_json()).  Prints the mean bytes
 * of the change as JSON and gzip-compressed (what a store keeping changes
 * "as received, compressed" holds), of the row as JSON and compressed, and
 * their sums.  No SQLite page overhead and no index: a lower bound for the
 * table, which the store's own figure must be compared against.
 *
 * usage: bench-row [N]     (default 1000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "change.h"
#include "form.h"
#include "merge_mem.h"
#include "util.h"

static size_t
gz_len(const char *text)
{
	uLongf out = compressBound((uLong)strlen(text));
	unsigned char *buf = malloc(out);
	size_t n;

	if (buf == NULL || compress2(buf, &out, (const Bytef *)text, (uLong)strlen(text), 6) != Z_OK)
		exit(1);
	n = (size_t)out;
	free(buf);
	return n;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	char path[1024], err[256], values[16384], *def, *text;
	uint64_t rng = 42;
	double change_json = 0, change_gz = 0, row_json = 0, row_gz = 0;
	struct form *form;
	size_t len;
	cJSON *out;

	snprintf(path, sizeof(path), "%s/labor_inspection.json", bench_forms_dir());
	if ((def = bench_read_file(path, &len)) == NULL ||
	    form_load(def, len, &form, err, sizeof(err)) != FS_OK) {
		fprintf(stderr, "bench-row: %s: %s\n", path, err);
		return 1;
	}
	free(def);
	for (int i = 0; i < n; i++) {
		struct merge_mem mm;
		struct merge_result res = { 0 };
		struct change ch;
		char id[33], hlc[HLC_TEXT_LEN + 1];
		cJSON *c, *row;

		merge_mem_init(&mm, false);
		bench_record_json(values, sizeof(values), &rng);
		snprintf(id, sizeof(id), "%032x", i + 1);
		hlc_format(((uint64_t)(1795000000000ULL + (uint64_t)i) << 16), "5a0c9e1f2b3d4e6f", hlc);
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "id", id);
		cJSON_AddStringToObject(c, "form", "labor_inspection");
		cJSON_AddNumberToObject(c, "form_version", form->version);
		cJSON_AddStringToObject(c, "op", "upsert");
		cJSON_AddStringToObject(c, "hlc", hlc);
		cJSON_AddItemToObject(c, "fields", cJSON_Parse(values));
		cJSON_AddObjectToObject(c, "base");
		if (change_parse(c, &ch, err, sizeof(err)) != FS_OK ||
		    change_check(&ch, form, err, sizeof(err)) != FS_OK ||
		    change_apply(&mm.ops, form, &ch, &res) != FS_OK ||
		    merge_mem_change_done(&mm, id, hlc) != FS_OK) {
			fprintf(stderr, "bench-row: record %d: %s\n", i, err);
			return 1;
		}
		text = cJSON_PrintUnformatted(c);
		change_json += (double)strlen(text);
		change_gz += (double)gz_len(text);
		free(text);
		if (merge_mem_record_to_json(merge_mem_record(&mm, id), &row) != FS_OK)
			return 1;
		text = cJSON_PrintUnformatted(row);
		row_json += (double)strlen(text);
		row_gz += (double)gz_len(text);
		free(text);
		cJSON_Delete(row);
		cJSON_Delete(c);
		merge_mem_finish(&mm);
	}
	form_free(form);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "bench", "row");
	cJSON_AddNumberToObject(out, "records", n);
	cJSON_AddNumberToObject(out, "change_json_bytes", change_json / n);
	cJSON_AddNumberToObject(out, "change_gz_bytes", change_gz / n);
	cJSON_AddNumberToObject(out, "row_json_bytes", row_json / n);
	cJSON_AddNumberToObject(out, "row_gz_bytes", row_gz / n);
	cJSON_AddNumberToObject(out, "change_gz_plus_row_json", (change_gz + row_json) / n);
	cJSON_AddNumberToObject(out, "change_gz_plus_row_gz", (change_gz + row_gz) / n);
	text = cJSON_PrintUnformatted(out);
	puts(text);
	free(text);
	cJSON_Delete(out);
	return 0;
}
