/*
 * key_reseal.h -- re-sealing current sensitive values to the newest
 * sealing key (issue 17).  See key_reseal.c.
 */
#ifndef FS_DAEMON_KEY_RESEAL_H
#define FS_DAEMON_KEY_RESEAL_H

struct hq_unlocked;
struct store;

/*
 * Re-seals, record by record, every current sensitive value not sealed
 * to the newest key (opening older envelopes with u), as changes signed
 * with the server key of data_dir.  Prints progress to stderr and a
 * summary to stdout; audits key.reseal.  An exit status: 0 or 1.
 */
int key_reseal_run(struct store *store, const char *data_dir, const struct hq_unlocked *u);

#endif /* FS_DAEMON_KEY_RESEAL_H */
