/*
 * cmd_sync.c -- fieldsync sync (placeholder until the sync module lands).
 */
#include "cli.h"

int
cmd_sync(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	fprintf(stderr, "fieldsync: sync is not available in this build yet\n");
	return 1;
}
