/*
 * backup.c -- online backup and checked restore of the SQLite store.  See
 * backup.h.
 *
 * Backup.  The live store is opened read-only.  In WAL mode (always, for a
 * store fieldsyncd has opened) a read transaction is begun before the first
 * step and held until the last, so every step copies pages of one snapshot:
 * the copy is consistent, and it finishes even while devices push, because
 * SQLite restarts a backup only when the source changes under it between
 * steps, which a held WAL snapshot rules out.  A WAL reader never blocks
 * the writer, so the server keeps serving; its WAL grows until the snapshot
 * is released, since a checkpoint cannot pass a reader.  Steps are
 * BACKUP_STEP_PAGES pages with a short pause between them, so a large store
 * does not monopolise the disk.  The copy goes to FILE.tmp-XXXXXX in FILE's
 * directory, is switched to a rollback journal (one self-contained file),
 * passes integrity_check, is fsynced and renamed over FILE, and the
 * directory is fsynced.
 *
 * Restore.  With the data directory locked exclusively (no server can start
 * or be running), the backup is checked (integrity_check; the tables of a
 * fieldsyncd store), copied to a working directory inside data_dir and
 * opened there with store_open(), which refuses a schema newer than this
 * binary (FS_ERR_SCHEMA) and migrates an older one.  The live store is then
 * switched out of WAL mode, which SQLite allows only when no other
 * connection has it open: a second guard, against a fieldsyncd command or a
 * server that does not take the lock.  The current store is kept as
 * fieldsyncd.db.before-restore-TIME, and the working copy is written into
 * the store with the backup API, in one transaction: after a crash the
 * store is either the old one or the restored one.
 */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin_util.h"
#include "config.h"
#include "fieldsync.h"
#include "log.h"
#include "sqlite_util.h"
#include "store.h"

#define EXIT_USAGE 2

/* The store's file in data_dir: STORE_FILE in store_sqlite.c. */
#define STORE_FILE "fieldsyncd.db"
#define LOCK_FILE  "fieldsyncd.lock"

#define BACKUP_STEP_PAGES 256      /* 1 MiB with 4 KiB pages */
#define STEP_PAUSE_NS     1000000L /* between two steps */
#define BUSY_PAUSE_MS     20       /* before retrying a step that met a lock */
#define BUSY_MAX_MS       30000    /* then give up */
#define PATHBUF           (CONFIG_PATH_MAX + 128)

/* The fieldsyncd tables a backup must hold (schema version 1 onwards). */
#define STORE_TABLES     "'devices','forms','changes','records'"
#define STORE_TABLES_NUM 4

static const char usage_backup[] =
    "usage: fieldsyncd [-f file] [-d data_dir] backup --to FILE\n"
    "  Copies the store to FILE while the server keeps serving (SQLite online\n"
    "  backup of one snapshot), checks the copy, then renames it into place.\n";
static const char usage_restore[] =
    "usage: fieldsyncd [-f file] [-d data_dir] restore --from FILE\n"
    "  Checks FILE (integrity, schema version) and replaces the store with it;\n"
    "  the current store is kept as fieldsyncd.db.before-restore-TIME.  Refused\n"
    "  while a server runs on the data directory: stop it first.\n";

void
backup_usage_lines(FILE *fp)
{
	fputs("       fieldsyncd [-f file] [-d data_dir] backup --to FILE\n"
	      "       fieldsyncd [-f file] [-d data_dir] restore --from FILE\n",
	    fp);
}

/*
 * Parses "--NAME FILE" (required) and --help.  Returns -1 to go on with
 * *ret_path set, or an exit status.
 */
static int
parse_file_opt(int argc, char **argv, const char *name, const char *usage, const char **ret_path)
{
	const struct option opts[] = {
	    {name, required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	int c;

	admin_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || path == NULL || path[0] == '\0') {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (strlen(path) >= CONFIG_PATH_MAX) {
		fprintf(stderr, "fieldsyncd: --%s: path too long\n", name);
		return EXIT_USAGE;
	}
	*ret_path = path;
	return -1;
}

static void
pause_ns(long ns)
{
	struct timespec ts = {0, ns};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Opens path with flags (plus extended result codes and a busy timeout).
 * Returns 0, or -1 after saying why.
 */
static int
db_open(const char *path, int flags, sqlite3 **ret_db)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "fieldsyncd: cannot open '%s': %s\n", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);
	*ret_db = db;
	return 0;
}

/*
 * Runs PRAGMA integrity_check.  Returns 0 when it answers "ok"; otherwise
 * -1 with its first finding (names and page numbers, never values) or the
 * SQLite error in msg.
 */
static int
check_integrity(sqlite3 *db, char *msg, size_t len)
{
	char first[256];

	if (sqlite_query_text(db, "PRAGMA integrity_check", first, sizeof(first)) != SQLITE_OK) {
		snprintf(msg, len, "%s", sqlite3_errmsg(db));
		return -1;
	}
	if (strcmp(first, "ok") != 0) {
		snprintf(msg, len, "%s", first);
		return -1;
	}
	return 0;
}

/*
 * Copies the main database of src into dst with the online backup API,
 * pages pages per step (-1: all in one step).  A step that meets a lock is
 * retried for up to BUSY_MAX_MS.  Returns 0, or -1 with the error in msg.
 */
static int
copy_db(sqlite3 *dst, sqlite3 *src, int pages, char *msg, size_t len)
{
	sqlite3_backup *b;
	int rc, waited_ms = 0;

	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		snprintf(msg, len, "%s", sqlite3_errmsg(dst));
		return -1;
	}
	for (;;) {
		rc = sqlite3_backup_step(b, pages);
		if (rc == SQLITE_DONE)
			break;
		if (rc == SQLITE_OK) {
			waited_ms = 0;
			pause_ns(STEP_PAUSE_NS);
			continue;
		}
		if (((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) &&
		    waited_ms < BUSY_MAX_MS) {
			pause_ns(BUSY_PAUSE_MS * 1000000L);
			waited_ms += BUSY_PAUSE_MS;
			continue;
		}
		break;
	}
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(msg, len, "%s", sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

/* True if a and b name the same existing file. */
static bool
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* fsyncs the directory holding path, so that a rename in it is durable. */
static int
fsync_parent(const char *path)
{
	char dir[PATHBUF];
	char *slash;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * When run as root, gives path to the owner of the data directory, so that
 * the server, running as its own user, can open what root created there.
 */
static void
match_owner(const char *path, const struct stat *dir)
{
	if (geteuid() != 0 || dir->st_uid == 0)
		return;
	if (chown(path, dir->st_uid, dir->st_gid) != 0)
		fprintf(stderr, "fieldsyncd: cannot give '%s' to uid %u: %s, ignoring\n", path,
		    (unsigned)dir->st_uid, strerror(errno));
}

/*
 * Opens data_dir/fieldsyncd.lock (created if missing) and flocks it with
 * op, without waiting.  Returns the descriptor, or -1 with errno set
 * (EWOULDBLOCK: someone else holds a conflicting lock).
 */
static int
lock_open(const char *data_dir, int op)
{
	char path[PATHBUF];
	struct stat dir;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/%s", data_dir, LOCK_FILE);
	if ((fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (flock(fd, op | LOCK_NB) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (stat(data_dir, &dir) == 0)
		match_owner(path, &dir);
	return fd;
}

int
backup_lock_exclusive(const char *data_dir)
{
	return lock_open(data_dir, LOCK_EX);
}

int
backup_lock_shared(const char *data_dir, int *ret_fd)
{
	int fd;

	if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
		log_warn("Failed to create data directory '%s'", data_dir);
		return -1;
	}
	if ((fd = lock_open(data_dir, LOCK_SH)) < 0) {
		if (errno == EWOULDBLOCK)
			log_warnx("A restore is running in '%s'; not starting", data_dir);
		else
			log_warn("Failed to lock '%s/%s'", data_dir, LOCK_FILE);
		return -1;
	}
	*ret_fd = fd;
	return 0;
}

static int
run_backup(const struct config *cfg, const char *to)
{
	char live[PATHBUF], other[PATHBUF], tmp[PATHBUF], msg[512], mode[32];
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	int64_t version = 0, tables = 0, pages = 0, page_size = 0;
	sqlite3 *src = NULL, *dst = NULL;
	bool snapshot = false;
	int fd = -1, rc = 1;
	struct stat st;

	tmp[0] = '\0';
	snprintf(live, sizeof(live), "%s/%s", cfg->data_dir, STORE_FILE);
	if (stat(live, &st) != 0) {
		fprintf(
		    stderr, "fieldsyncd: no store to back up: '%s': %s\n", live, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(other, sizeof(other), "%s%s", live, suffixes[i]);
		if (same_file(to, other)) {
			fprintf(stderr,
			    "fieldsyncd: '%s' is the live store; back up to another file\n", to);
			return EXIT_USAGE;
		}
	}
	if (stat(to, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "fieldsyncd: '%s' exists and is not a regular file\n", to);
		return EXIT_USAGE;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", to);
	if ((fd = mkstemp(tmp)) < 0) {
		fprintf(stderr, "fieldsyncd: cannot create '%s': %s\n", tmp, strerror(errno));
		tmp[0] = '\0';
		return 1;
	}
	if (db_open(live, SQLITE_OPEN_READONLY, &src) != 0 ||
	    db_open(tmp, SQLITE_OPEN_READWRITE, &dst) != 0)
		goto out;
	if (sqlite_query_text(src, "PRAGMA journal_mode", mode, sizeof(mode)) != SQLITE_OK)
		goto src_failed;
	if (strcmp(mode, "wal") == 0) {
		/* Hold one read snapshot across every step (see the top of this file). */
		if (sqlite3_exec(src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite_query_int(src, "SELECT count(*) FROM sqlite_schema", &tables) != SQLITE_OK)
			goto src_failed;
		snapshot = true;
	}
	if (sqlite_query_int(src, "PRAGMA user_version", &version) != SQLITE_OK)
		goto src_failed;
	if (copy_db(dst, src, BACKUP_STEP_PAGES, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "fieldsyncd: backup of '%s' failed: %s\n", live, msg);
		goto out;
	}
	if (snapshot)
		sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(src);
	src = NULL;

	/* One self-contained file: a rollback journal, not WAL. */
	if (sqlite_query_text(dst, "PRAGMA journal_mode=DELETE", mode, sizeof(mode)) != SQLITE_OK ||
	    strcmp(mode, "delete") != 0) {
		fprintf(stderr, "fieldsyncd: cannot finish '%s': %s\n", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	if (check_integrity(dst, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "fieldsyncd: the copy failed its integrity check: %s\n", msg);
		goto out;
	}
	if (sqlite_query_int(dst, "PRAGMA page_count", &pages) != SQLITE_OK ||
	    sqlite_query_int(dst, "PRAGMA page_size", &page_size) != SQLITE_OK) {
		fprintf(stderr, "fieldsyncd: cannot read '%s': %s\n", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		fprintf(stderr, "fieldsyncd: cannot close '%s': %s\n", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	dst = NULL;
	/* Only now: closing another descriptor of the file drops SQLite's locks. */
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		fprintf(stderr, "fieldsyncd: cannot write '%s': %s\n", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, to) != 0) {
		fprintf(stderr, "fieldsyncd: cannot rename '%s' to '%s': %s\n", tmp, to,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	if (fsync_parent(to) != 0)
		fprintf(stderr, "fieldsyncd: cannot fsync the directory of '%s': %s, ignoring\n",
		    to, strerror(errno));
	printf("backup of '%s' written to '%s' (%lld bytes, schema version %lld)\n", live, to,
	    (long long)(pages * page_size), (long long)version);
	rc = 0;
	goto out;
src_failed:
	fprintf(stderr, "fieldsyncd: cannot read the store '%s': %s\n", live, sqlite3_errmsg(src));
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0') {
		unlink(tmp);
		snprintf(other, sizeof(other), "%s-journal", tmp);
		unlink(other);
	}
	return rc;
}

/* Removes the restore's working directory and whatever SQLite left in it. */
static void
remove_workdir(const char *dir)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char path[PATHBUF];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s%s", dir, STORE_FILE, suffixes[i]);
		unlink(path);
	}
	rmdir(dir);
}

/*
 * Creates data_dir/fieldsyncd.db.before-restore-YYYYMMDDTHHMMSSZ[-N], empty,
 * and returns its name in path.  Returns 0 or -1.
 */
static int
create_keep_file(const char *data_dir, char *path, size_t len)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int fd;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int n = 1; n < 100; n++) {
		if (n == 1)
			snprintf(path, len, "%s/%s.before-restore-%s", data_dir, STORE_FILE, stamp);
		else
			snprintf(path, len, "%s/%s.before-restore-%s-%d", data_dir, STORE_FILE,
			    stamp, n);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

/*
 * Writes a copy of the live store (open in db) to a new before-restore
 * file, named in keep.  Returns 0 or -1 after saying why.
 */
static int
keep_current(sqlite3 *db, const char *data_dir, const struct stat *dir, char *keep, size_t len)
{
	char msg[512] = "";
	sqlite3 *copy = NULL;
	int rc = -1;

	if (create_keep_file(data_dir, keep, len) != 0) {
		fprintf(stderr,
		    "fieldsyncd: cannot create a file in '%s' to keep the current store: %s\n",
		    data_dir, strerror(errno));
		keep[0] = '\0';
		return -1;
	}
	if (db_open(keep, SQLITE_OPEN_READWRITE, &copy) != 0)
		goto out;
	if (sqlite3_exec(copy, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK ||
	    copy_db(copy, db, -1, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "fieldsyncd: cannot keep the current store as '%s': %s\n", keep,
		    msg[0] != '\0' ? msg : sqlite3_errmsg(copy));
		goto out;
	}
	if (sqlite3_close(copy) != SQLITE_OK)
		goto out;
	copy = NULL;
	match_owner(keep, dir);
	rc = 0;
out:
	sqlite3_close(copy);
	if (rc != 0) {
		unlink(keep);
		keep[0] = '\0';
	}
	return rc;
}

static int
run_restore(const struct config *cfg, const char *from)
{
	char live[PATHBUF], workdir[PATHBUF], work[PATHBUF], keep[PATHBUF], msg[512], mode[32];
	int64_t n = 0, version = 0, restored_version = 0, records = 0, changes = 0;
	sqlite3 *src = NULL, *copy = NULL, *db = NULL;
	struct store *store = NULL;
	struct stat st, dir;
	bool had_store;
	int lock = -1, rc = 1;
	fs_err err;

	workdir[0] = keep[0] = '\0';
	if (stat(from, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "fieldsyncd: '%s' is not a readable file\n", from);
		return EXIT_USAGE;
	}
	if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "fieldsyncd: cannot create the data directory '%s': %s\n",
		    cfg->data_dir, strerror(errno));
		return 1;
	}
	if (stat(cfg->data_dir, &dir) != 0 || !S_ISDIR(dir.st_mode)) {
		fprintf(stderr, "fieldsyncd: '%s' is not a directory\n", cfg->data_dir);
		return 1;
	}
	if ((lock = lock_open(cfg->data_dir, LOCK_EX)) < 0) {
		if (errno == EWOULDBLOCK)
			fprintf(stderr,
			    "fieldsyncd: a fieldsyncd server is running on '%s' (it holds %s/%s); "
			    "stop it first (systemctl stop fieldsyncd), then restore\n",
			    cfg->data_dir, cfg->data_dir, LOCK_FILE);
		else
			fprintf(stderr, "fieldsyncd: cannot lock '%s/%s': %s\n", cfg->data_dir,
			    LOCK_FILE, strerror(errno));
		return 1;
	}

	/* 1. The backup: intact, and a fieldsyncd store. */
	rc = EXIT_USAGE;
	if (db_open(from, SQLITE_OPEN_READONLY, &src) != 0)
		goto out;
	if (check_integrity(src, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "fieldsyncd: '%s' is damaged or not an SQLite database: %s\n", from,
		    msg);
		goto out;
	}
	if (sqlite_query_int(src,
	        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
	        "(" STORE_TABLES ")",
	        &n) != SQLITE_OK ||
	    n != STORE_TABLES_NUM || sqlite_query_int(src, "PRAGMA user_version", &version) != SQLITE_OK ||
	    version < 1) {
		fprintf(stderr, "fieldsyncd: '%s' is not a fieldsyncd store\n", from);
		goto out;
	}

	/* 2. A working copy in data_dir, brought to this binary's schema. */
	rc = 1;
	snprintf(workdir, sizeof(workdir), "%s/restore.tmp-XXXXXX", cfg->data_dir);
	if (mkdtemp(workdir) == NULL) {
		fprintf(stderr, "fieldsyncd: cannot create a directory in '%s': %s\n",
		    cfg->data_dir, strerror(errno));
		workdir[0] = '\0';
		goto out;
	}
	snprintf(work, sizeof(work), "%s/%s", workdir, STORE_FILE);
	if (db_open(work, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &copy) != 0)
		goto out;
	if (copy_db(copy, src, -1, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "fieldsyncd: cannot copy '%s': %s\n", from, msg);
		goto out;
	}
	sqlite3_close(copy);
	copy = NULL;
	sqlite3_close(src);
	src = NULL;
	err = store_open(workdir, &store);
	if (err == FS_ERR_SCHEMA) {
		fprintf(stderr,
		    "fieldsyncd: '%s' has store schema version %lld, newer than this fieldsyncd "
		    "knows; restore it with the fieldsyncd version that wrote it\n",
		    from, (long long)version);
		rc = EXIT_USAGE;
		goto out;
	}
	if (err != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot open the copy of '%s': %s\n", from,
		    fs_strerror(err));
		goto out;
	}
	store_close(store);
	store = NULL;
	if (db_open(work, SQLITE_OPEN_READWRITE, &copy) != 0)
		goto out;
	if (sqlite_query_int(copy, "PRAGMA user_version", &restored_version) != SQLITE_OK ||
	    sqlite_query_int(copy, "SELECT count(*) FROM records", &records) != SQLITE_OK ||
	    sqlite_query_int(copy, "SELECT count(*) FROM changes", &changes) != SQLITE_OK) {
		fprintf(stderr, "fieldsyncd: cannot read the copy of '%s': %s\n", from,
		    sqlite3_errmsg(copy));
		goto out;
	}

	/* 3. The live store: nobody else may have it open. */
	snprintf(live, sizeof(live), "%s/%s", cfg->data_dir, STORE_FILE);
	had_store = stat(live, &st) == 0 && st.st_size > 0;
	if (db_open(live, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db) != 0)
		goto out;
	sqlite3_busy_timeout(db, 1000);
	if (sqlite_query_text(db, "PRAGMA journal_mode=DELETE", mode, sizeof(mode)) != SQLITE_OK ||
	    strcmp(mode, "delete") != 0) {
		int code = sqlite3_errcode(db) & 0xff;
		if (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_OK)
			fprintf(stderr,
			    "fieldsyncd: the store '%s' is open in another process (a fieldsyncd "
			    "command or server); stop it, then restore\n",
			    live);
		else
			fprintf(stderr,
			    "fieldsyncd: cannot prepare the store '%s' for the restore: %s; move "
			    "%s, %s-wal and %s-shm out of '%s' and restore again\n",
			    live, sqlite3_errmsg(db), STORE_FILE, STORE_FILE, STORE_FILE,
			    cfg->data_dir);
		goto out;
	}
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK)
		goto db_failed;
	if (had_store && keep_current(db, cfg->data_dir, &dir, keep, sizeof(keep)) != 0) {
		fprintf(stderr,
		    "fieldsyncd: nothing was changed; to restore anyway, move %s, %s-wal and "
		    "%s-shm out of '%s' and restore again\n",
		    STORE_FILE, STORE_FILE, STORE_FILE, cfg->data_dir);
		goto out;
	}

	/* 4. One transaction: the store is the old one or the restored one. */
	if (copy_db(db, copy, -1, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "fieldsyncd: restore failed, the store is unchanged: %s\n", msg);
		goto out;
	}
	if (check_integrity(db, msg, sizeof(msg)) != 0) {
		fprintf(
		    stderr, "fieldsyncd: the restored store failed its integrity check: %s\n", msg);
		goto out;
	}
	if (sqlite3_close(db) != SQLITE_OK)
		goto db_failed;
	db = NULL;
	match_owner(live, &dir);
	if (fsync_parent(live) != 0)
		fprintf(stderr, "fieldsyncd: cannot fsync '%s': %s, ignoring\n", cfg->data_dir,
		    strerror(errno));
	printf("store '%s' restored from '%s': schema version %lld", live, from,
	    (long long)restored_version);
	if (restored_version != version)
		printf(" (migrated from %lld)", (long long)version);
	printf(", %lld records, %lld changes\n", (long long)records, (long long)changes);
	if (keep[0] != '\0')
		printf("the previous store was kept as '%s'\n", keep);
	rc = 0;
	goto out;
db_failed:
	fprintf(stderr, "fieldsyncd: restore into '%s' failed: %s\n", live, sqlite3_errmsg(db));
out:
	sqlite3_close(src);
	sqlite3_close(copy);
	sqlite3_close(db);
	store_close(store);
	if (workdir[0] != '\0')
		remove_workdir(workdir);
	close(lock);
	return rc;
}

int
backup_main(const struct config *cfg, int argc, char **argv)
{
	bool backup = strcmp(argv[0], "backup") == 0;
	const char *path;
	int rc;

	rc = backup ? parse_file_opt(argc, argv, "to", usage_backup, &path)
	            : parse_file_opt(argc, argv, "from", usage_restore, &path);
	if (rc >= 0)
		return rc;
	if (cfg->store != CONFIG_STORE_SQLITE) {
		fprintf(stderr,
		    "fieldsyncd: %s works on the SQLite store; use PostgreSQL's own tools "
		    "(pg_dump, pg_restore)\n",
		    argv[0]);
		return EXIT_USAGE;
	}
	return backup ? run_backup(cfg, path) : run_restore(cfg, path);
}
