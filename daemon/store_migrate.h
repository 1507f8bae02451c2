/*
 * store_migrate.h -- `fieldsyncd migrate-store`: a SQLite store moved into
 * an empty PostgreSQL database (store_migrate.c says what and how).
 * Built with the PostgreSQL store only.
 */
#ifndef FS_DAEMON_STORE_MIGRATE_H
#define FS_DAEMON_STORE_MIGRATE_H

#include <stdio.h>

struct config;

/*
 * Runs "migrate-store ..." (argv[0] is the command).  Returns the exit
 * status: 0 done, 1 runtime error (nothing written to the target), 2 usage.
 */
int store_migrate_main(const struct config *cfg, int argc, char **argv);

/* Prints the command's usage line to fp. */
void store_migrate_usage_lines(FILE *fp);

#endif /* FS_DAEMON_STORE_MIGRATE_H */
