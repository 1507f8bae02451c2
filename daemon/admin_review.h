/*
 * admin_review.h -- the review commands of fieldsyncd for operators
 * without the page: `audit` prints the audit trail, `export` writes a
 * form's records as CSV or JSON (export.h), streamed.
 *
 * Like admin.h they work directly on the store in the configured data_dir
 * (safe while the daemon runs: WAL).  An export from the command line is
 * audited like one from the page, with actor "cli".
 */
#ifndef FS_DAEMON_ADMIN_REVIEW_H
#define FS_DAEMON_ADMIN_REVIEW_H

#include <stdio.h>

struct config;

/*
 * Runs "audit ..." or "export ..." (argv[0] names the command).  Returns
 * the process exit status: 0 success, 1 runtime error, 2 usage error.
 */
int admin_review_main(const struct config *cfg, int argc, char **argv);

/* Prints the usage lines of these commands to fp. */
void admin_review_usage_lines(FILE *fp);

#endif /* FS_DAEMON_ADMIN_REVIEW_H */
