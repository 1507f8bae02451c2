/*
 * backup.h -- operations commands on the embedded SQLite store: an online
 * backup that runs while the daemon serves, a checked restore, and the
 * data-directory lock that keeps the two apart.
 *
 * "backup" copies the live store with SQLite's online backup API, in small
 * steps from one read snapshot, into a temporary file next to the target,
 * checks it, fsyncs it and renames it into place: the target is either the
 * previous file or a complete, self-contained (rollback-journal) copy.
 *
 * "restore" checks a backup (integrity_check, a fieldsyncd schema no newer
 * than this binary's, migrated if older), keeps the current store aside and
 * writes the backup into the store in one transaction.  It refuses while a
 * server runs on the data directory: the server holds a shared flock(2) on
 * DATA_DIR/fieldsyncd.lock (backup_lock_shared()) for as long as it runs,
 * and restore takes it exclusively.
 *
 * These commands are the SQLite backend's; a PostgreSQL store is backed up
 * with PostgreSQL's own tools.
 */
#ifndef FS_DAEMON_BACKUP_H
#define FS_DAEMON_BACKUP_H

#include <stdio.h>

struct config;

/*
 * Runs "backup ..." or "restore ..." (argv[0] is the command).  Returns the
 * process exit status: 0 success, 1 runtime error (including a server
 * running on the data directory), 2 usage error or an unusable backup file.
 */
int backup_main(const struct config *cfg, int argc, char **argv);

/* Prints the backup and restore lines of the usage text to fp. */
void backup_usage_lines(FILE *fp);

/*
 * Takes the server's shared lock on data_dir (created with mode 0700 if
 * missing) and returns the open lock file in *ret_fd; the lock lasts until
 * that descriptor is closed or the process exits.  Several servers may hold
 * it at once; a running restore may not.  Returns 0, or -1 after logging
 * why (a restore in progress, or the lock file could not be opened).
 */
int backup_lock_shared(const char *data_dir, int *ret_fd);

/*
 * Takes data_dir's lock exclusively, without waiting, as restore does (and
 * migrate-store): no server may run on data_dir meanwhile.  Returns the
 * descriptor (the lock lasts until it is closed), or -1 with errno set
 * (EWOULDBLOCK: a server holds it).
 */
int backup_lock_exclusive(const char *data_dir);

#endif /* FS_DAEMON_BACKUP_H */
