/*
 * casefile.h -- `fieldsyncd casefile`: a record's evidence bundle (issue
 * 16, item 4).  See casefile.c.
 */
#ifndef FS_DAEMON_CASEFILE_H
#define FS_DAEMON_CASEFILE_H

#include <stdio.h>

struct config;

int casefile_main(const struct config *cfg, int argc, char **argv);
void casefile_usage_lines(FILE *fp);

#endif /* FS_DAEMON_CASEFILE_H */
