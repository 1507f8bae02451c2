/*
 * admin_util.h -- what the admin commands of fieldsyncd share (admin.c,
 * admin_review.c, backup.c): argument parsing and opening the store with
 * a message an operator can act on.
 */
#ifndef FS_DAEMON_ADMIN_UTIL_H
#define FS_DAEMON_ADMIN_UTIL_H

struct config;
struct store;

/* Resets getopt for a new argument vector (each subcommand parses its own). */
void admin_getopt_reset(void);

/*
 * Opens the store in cfg->data_dir.  0 with *ret_store set, or 1 after
 * printing "fieldsyncd: cannot open the store in DIR" to stderr.
 */
int admin_open_store(const struct config *cfg, struct store **ret_store);

#endif /* FS_DAEMON_ADMIN_UTIL_H */
