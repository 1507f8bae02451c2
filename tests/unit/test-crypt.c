/*
 * test-crypt.c -- the encrypted device store (client/crypt_vfs.c, issue 17
 * item 4).  Planted values saved into an encrypted store are absent, as
 * bytes, from the store file and from its WAL while the store is open;
 * statements and a VACUUM that need temporary files get them in memory
 * from the store's VFS (every file but the store and its WAL does); a wrong PIN is refused with FS_ERR_KEY before
 * anything is read or changed (the files' bytes stay the same); plain
 * fs_open() refuses an encrypted store; a byte changed on disk is caught
 * as damage, never read as other data; a plain store is encrypted by
 * fs_store_encrypt() with its records intact, and a failed one leaves it
 * as it was.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fieldsync.h"
#include "harness.h"
#include "crypt_vfs.h"
#include "internal.h"

static char tmpdir[] = "/tmp/fs-test-crypt-XXXXXX";
static char sqlite_tmp[600];
static const char pin[] = "Pin-4711-planted";
static const char planted_name[] = "Planted-Victim-Crypt-91x";
static const char planted_site[] = "Planted-Site-Crypt-33q";

static char *
form_text(size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf = malloc(1 << 20);

	snprintf(path, sizeof(path), "%s/labor_inspection.json", getenv("FS_FORMS_DIR"));
	ASSERT((f = fopen(path, "rb")) != NULL);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* The whole file, or NULL (len 0) when it does not exist. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat sb;
	unsigned char *buf;
	FILE *f;

	*len = 0;
	if (stat(path, &sb) != 0)
		return NULL;
	buf = malloc((size_t)sb.st_size + 1);
	ASSERT((f = fopen(path, "rb")) != NULL);
	*len = fread(buf, 1, (size_t)sb.st_size, f);
	fclose(f);
	return buf;
}

static bool
file_has(const char *path, const char *needle)
{
	size_t len, n = strlen(needle);
	unsigned char *buf = slurp(path, &len);
	bool found = false;

	for (size_t i = 0; buf != NULL && i + n <= len && !found; i++)
		found = memcmp(buf + i, needle, n) == 0;
	free(buf);
	return found;
}

static void
save_records(fs_client *c, int n, const char *site)
{
	char values[512], *id;

	for (int i = 0; i < n; i++) {
		snprintf(values, sizeof(values),
		    "{\"worksite_name\":\"%s %d\",\"sector\":\"agriculture\","
		    "\"inspection_date\":\"2026-12-01\",\"referral_decision\":\"monitor\","
		    "\"interviewee_name\":\"%s\",\"number_of_workers\":%d}",
		    site, i, planted_name, i + 1);
		ASSERT_OK(fs_record_create(c, "labor_inspection", values, &id));
		fs_free(id);
	}
}

static int
count_records(fs_client *c)
{
	sqlite3_stmt *st;
	int n = -1;

	ASSERT_EQ(sqlite3_prepare_v2(c->db, "SELECT count(*) FROM records", -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static bool
dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	ASSERT(d != NULL);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 0;
}

FS_TEST(crypt_store_holds_no_plain_bytes_while_open)
{
	char path[600], wal[620], msg[256];
	unsigned long mem0;
	fs_client *c;
	size_t len;
	char *form = form_text(&len);

	snprintf(path, sizeof(path), "%s/open.db", tmpdir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ASSERT_OK(fs_open_encrypted(path, pin, strlen(pin), &c, msg, sizeof(msg)));
	ASSERT_OK(fs_device_init(c, "crypt-1"));
	ASSERT_OK(fs_forms_import(c, form, len, NULL));
	save_records(c, 300, planted_site);
	/* Open, not checkpointed: the WAL holds the recent pages. */
	ASSERT(access(wal, F_OK) == 0);
	ASSERT(!file_has(path, planted_name) && !file_has(path, planted_site));
	ASSERT(!file_has(wal, planted_name) && !file_has(wal, planted_site));
	ASSERT(!file_has(path, "labor_inspection") && !file_has(wal, "labor_inspection"));
	ASSERT(!file_has(path, "SQLite format 3"));
	/* A statement touching every row, inside a transaction, then a VACUUM. */
	ASSERT_EQ(sqlite3_exec(c->db,
		      "BEGIN; UPDATE changelog SET created_at = created_at || ''; COMMIT;", NULL,
		      NULL, NULL),
	    SQLITE_OK);
	mem0 = crypt_vfs_mem_files(c->crypt);
	/* A small cache: VACUUM's copy spills to a temporary file. */
	ASSERT_EQ(sqlite3_exec(c->db, "PRAGMA cache_size=8; VACUUM; PRAGMA cache_size=-1024", NULL,
		      NULL, NULL),
	    SQLITE_OK);
	ASSERT(crypt_vfs_mem_files(c->crypt) > mem0);
	ASSERT(dir_empty(sqlite_tmp));
	ASSERT_EQ(count_records(c), 300);
	fs_close(c);
	ASSERT(!file_has(path, planted_name) && !file_has(path, planted_site));
	/* Reopened with the PIN: everything there. */
	ASSERT_OK(fs_open_encrypted(path, pin, strlen(pin), &c, msg, sizeof(msg)));
	ASSERT_EQ(count_records(c), 300);
	ASSERT_STR_EQ(fs_device_id(c) != NULL ? "yes" : "no", "yes");
	fs_close(c);
	free(form);
}

static void
copy_file(const char *from, const char *to)
{
	size_t len;
	unsigned char *buf = slurp(from, &len);
	FILE *f;

	ASSERT(buf != NULL);
	ASSERT((f = fopen(to, "wb")) != NULL);
	ASSERT_EQ(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
}

/*
 * A crash while the last WAL frame's page was being written: the frame
 * is torn (its page half new, half old).  The store must open, without
 * that frame, as plain SQLite opens a WAL whose last frame's checksum
 * fails -- not refuse to open as damaged.
 */
FS_TEST(crypt_torn_wal_frame_is_dropped_not_fatal)
{
	char path[600], wal[620], copy[600], copy_wal[620], msg[256];
	fs_client *c;
	struct stat sb;
	off_t frames, page_at;
	unsigned char junk[2048];
	size_t len;
	char *form = form_text(&len);
	int fd;

	snprintf(path, sizeof(path), "%s/torn.db", tmpdir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(copy, sizeof(copy), "%s/torn-copy.db", tmpdir);
	snprintf(copy_wal, sizeof(copy_wal), "%s-wal", copy);
	ASSERT_OK(fs_open_encrypted(path, pin, strlen(pin), &c, msg, sizeof(msg)));
	ASSERT_OK(fs_device_init(c, "crypt-torn"));
	ASSERT_OK(fs_forms_import(c, form, len, NULL));
	save_records(c, 20, "Torn site");
	/* The files as a crash leaves them: store and WAL, no checkpoint. */
	copy_file(path, copy);
	copy_file(wal, copy_wal);
	fs_close(c);
	/* The second half of the last frame's page: other bytes. */
	ASSERT_EQ(stat(copy_wal, &sb), 0);
	frames = (sb.st_size - 32) / (24 + 4096);
	ASSERT(frames > 1);
	page_at = 32 + (frames - 1) * (24 + 4096) + 24;
	memset(junk, 0x5a, sizeof(junk));
	ASSERT((fd = open(copy_wal, O_RDWR)) >= 0);
	ASSERT_EQ(pwrite(fd, junk, sizeof(junk), page_at + 4096 - (off_t)sizeof(junk)),
	    (ssize_t)sizeof(junk));
	close(fd);
	ASSERT_OK(fs_open_encrypted(copy, pin, strlen(pin), &c, msg, sizeof(msg)));
	ASSERT_EQ(sqlite3_exec(c->db, "PRAGMA quick_check", NULL, NULL, NULL), SQLITE_OK);
	/* At most the last transaction (one save) is gone with its frame. */
	ASSERT(count_records(c) >= 19);
	fs_close(c);
	free(form);
}

FS_TEST(crypt_wrong_pin_changes_nothing)
{
	char path[600], msg[256];
	unsigned char *before, *after;
	size_t blen, alen;
	fs_client *c = NULL;

	snprintf(path, sizeof(path), "%s/open.db", tmpdir); /* from the test above */
	before = slurp(path, &blen);
	ASSERT(before != NULL && blen > 0);
	ASSERT_EQ(fs_open_encrypted(path, "Pin-4711-plantee", 16, &c, msg, sizeof(msg)),
	    FS_ERR_KEY);
	ASSERT(c == NULL);
	ASSERT_CONTAINS(msg, "wrong PIN");
	ASSERT_EQ(fs_open(path, &c), FS_ERR_KEY);
	after = slurp(path, &alen);
	ASSERT_EQ(alen, blen);
	ASSERT(memcmp(before, after, blen) == 0);
	free(before);
	free(after);
}

FS_TEST(crypt_damage_is_caught)
{
	char path[600], msg[256];
	fs_client *c;
	int fd;
	unsigned char b;
	size_t len;
	char *form = form_text(&len);

	snprintf(path, sizeof(path), "%s/damage.db", tmpdir);
	ASSERT_OK(fs_open_encrypted(path, pin, strlen(pin), &c, msg, sizeof(msg)));
	ASSERT_OK(fs_device_init(c, "crypt-2"));
	ASSERT_OK(fs_forms_import(c, form, len, NULL));
	save_records(c, 50, "Damage site");
	fs_close(c);
	/* One byte flipped in the middle of every page but the first. */
	ASSERT((fd = open(path, O_RDWR)) >= 0);
	for (off_t pg = 1; pread(fd, &b, 1, pg * 4096 + 1000) == 1; pg++) {
		b ^= 0x20;
		ASSERT_EQ(pwrite(fd, &b, 1, pg * 4096 + 1000), 1);
	}
	close(fd);
	/* Page 0 is intact: the open reads the schema pages and fails, loudly. */
	ASSERT_EQ(fs_open_encrypted(path, pin, strlen(pin), &c, msg, sizeof(msg)), FS_ERR_CORRUPT);
	ASSERT_CONTAINS(msg, "damaged or altered");
	free(form);
}

FS_TEST(crypt_plain_store_is_encrypted_in_place)
{
	char path[600], msg[256];
	fs_client *c;
	bool enc = true;
	size_t len;
	char *form = form_text(&len);

	snprintf(path, sizeof(path), "%s/plain.db", tmpdir);
	ASSERT_OK(fs_open(path, &c));
	ASSERT_OK(fs_device_init(c, "crypt-3"));
	ASSERT_OK(fs_forms_import(c, form, len, NULL));
	save_records(c, 120, planted_site);
	fs_close(c);
	ASSERT_OK(fs_store_encrypted(path, &enc));
	ASSERT(!enc);
	ASSERT(file_has(path, planted_name));
	/* Refused while it is not a plain store; an empty secret refused. */
	ASSERT_EQ(fs_store_encrypt(path, "", 0, msg, sizeof(msg)), FS_ERR_KEY);
	ASSERT(file_has(path, planted_name)); /* unchanged */
	ASSERT_OK(fs_store_encrypt(path, pin, strlen(pin), msg, sizeof(msg)));
	ASSERT_OK(fs_store_encrypted(path, &enc));
	ASSERT(enc);
	ASSERT(!file_has(path, planted_name) && !file_has(path, planted_site));
	ASSERT_EQ(fs_store_encrypt(path, pin, strlen(pin), msg, sizeof(msg)), FS_ERR_INVALID);
	ASSERT_OK(fs_open_encrypted(path, pin, strlen(pin), &c, msg, sizeof(msg)));
	ASSERT_EQ(count_records(c), 120);
	save_records(c, 5, "After encryption");
	ASSERT_EQ(count_records(c), 125);
	fs_close(c);
	free(form);
}

int
main(void)
{
	ASSERT(mkdtemp(tmpdir) != NULL);
	/* Where SQLite would put temporary files: must stay empty. */
	snprintf(sqlite_tmp, sizeof(sqlite_tmp), "%s/sqlite-tmp", tmpdir);
	ASSERT_EQ(mkdir(sqlite_tmp, 0700), 0);
	setenv("SQLITE_TMPDIR", sqlite_tmp, 1);
	FS_RUN(crypt_store_holds_no_plain_bytes_while_open);
	FS_RUN(crypt_wrong_pin_changes_nothing);
	FS_RUN(crypt_damage_is_caught);
	FS_RUN(crypt_torn_wal_frame_is_dropped_not_fatal);
	FS_RUN(crypt_plain_store_is_encrypted_in_place);
	{
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			return 1;
	}
	FS_TEST_DONE();
}
