/*
 * log.c -- logging to stderr.  See log.h.
 *
 * The verbosity is an int written once by log_init() before threads start
 * and only read afterwards, so it needs no lock.  stdio locks the stream
 * for each call, and each line is exactly one fprintf() call.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_LINE_MAX 1024

static int log_verbosity;

__attribute__((format(printf, 3, 0))) static void
log_vline(const char *prefix, int errnum, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	char errbuf[128];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0) {
		if (strerror_r(errnum, errbuf, sizeof(errbuf)) != 0)
			snprintf(errbuf, sizeof(errbuf), "error %d", errnum);
		fprintf(stderr, "fieldsyncd: %s%s: %s\n", prefix, msg, errbuf);
	} else {
		fprintf(stderr, "fieldsyncd: %s%s\n", prefix, msg);
	}
}

void
log_init(int verbosity)
{
	log_verbosity = verbosity;
}

int
log_debug_enabled(void)
{
	return log_verbosity > 0;
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vline("", saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("", 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("", 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 1)
		return;
	va_start(ap, fmt);
	log_vline("debug: ", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vline("fatal: ", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
