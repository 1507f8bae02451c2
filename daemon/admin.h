/*
 * admin.h -- the administration commands of fieldsyncd: device add, list
 * and revoke; form publish and list.
 *
 * They work directly on the store in the configured data_dir (SQLite in
 * WAL mode, so they are safe while the daemon runs).  Output for people
 * goes to stdout, diagnostics to stderr.  A new token is printed exactly
 * once, on stdout, and never logged.
 */
#ifndef FS_DAEMON_ADMIN_H
#define FS_DAEMON_ADMIN_H

#include <stdio.h>

struct config;

/*
 * Runs "device ..." or "form ..." (argv[0] is "device" or "form").
 * Returns the process exit status: 0 success, 1 runtime error, 2 usage
 * error or bad input.
 */
int admin_main(const struct config *cfg, int argc, char **argv);

/* Prints the admin part of the usage text to fp. */
void admin_usage_lines(FILE *fp);

#endif /* FS_DAEMON_ADMIN_H */
