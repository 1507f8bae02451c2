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

int verify_main(const struct config *cfg, int argc, char **argv);

#endif /* FS_DAEMON_VERIFY_H */
