/*
 * log.h -- the daemon's logging, after OpenBSD's log.c.
 *
 * Every line goes to stderr (journald collects it under systemd), prefixed
 * with "fieldsyncd: ".  A line is formatted into a local buffer first and
 * written with a single fprintf(), so lines from different threads never
 * interleave.  The level is checked before anything is formatted.
 *
 * Never pass field values, tokens or request bodies to these functions:
 * only ids, names of devices, counts and sizes.
 *
 * log_init() is called once, before any thread starts; the functions are
 * safe to call from any thread afterwards.
 */
#ifndef FS_DAEMON_LOG_H
#define FS_DAEMON_LOG_H

#include <stdnoreturn.h>

/* Verbosity: 0 = warnings and info, 1 (-v) adds debug. */
void log_init(int verbosity);

/* True if log_debug() would print; lets callers skip expensive work. */
int log_debug_enabled(void);

/* Warning with ": strerror(errno)" appended; errno is preserved. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Warning without errno. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Logs with ": strerror(errno)" appended, then exits with status 1. */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Logs, then exits with status 1. */
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* FS_DAEMON_LOG_H */
