/*
 * verify.h -- `fieldsyncd verify`: re-checks the chain of custody at rest
 * (issue 16): every stored signed change's signature under its device's
 * keys, and every device's hash chain link by link, in stamp order, with
 * the links of refused changes and the chain head the server keeps.
 * Prints the first broken link (device, change, what is wrong) and exits
 * 1, or a summary and 0.
 */
#ifndef FS_DAEMON_VERIFY_H
#define FS_DAEMON_VERIFY_H

struct config;
struct store;

int verify_main(const struct config *cfg, int argc, char **argv);

/*
 * `fieldsyncd audit --anchor`: appends an anchor entry to the audit trail
 * (a digest of every record's history head now) and gives its hash, the
 * line an office writes down or publishes.  0, or -1 when the history
 * does not verify or the store fails.
 */
int anchor_create(struct store *store, char ret_hash[64 + 1]);

#endif /* FS_DAEMON_VERIFY_H */
