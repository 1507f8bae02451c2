/*
 * admin_util.c -- shared helpers of the admin commands.  See admin_util.h.
 */
#include "admin_util.h"

#include <getopt.h>
#include <stdio.h>

#include "config.h"
#include "store.h"

void
admin_getopt_reset(void)
{
#ifdef __GLIBC__
	optind = 0; /* glibc: full reinitialisation */
#else
	optind = 1;
#endif
}

int
admin_open_store(const struct config *cfg, struct store **ret_store)
{
	if (store_open_kind(config_store_kind(cfg), cfg->data_dir, ret_store) != FS_OK) {
		fprintf(stderr, "fieldsyncd: cannot open the store in '%s'\n", cfg->data_dir);
		return 1;
	}
	return 0;
}
