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
	if (store_open_kind(config_store_kind(cfg), config_store_where(cfg), ret_store) != FS_OK) {
		if (cfg->store == CONFIG_STORE_POSTGRESQL) /* the string may hold a password */
			fprintf(stderr, "fieldsyncd: cannot open the PostgreSQL store (see the message above)\n");
		else
			fprintf(stderr, "fieldsyncd: cannot open the store in '%s'\n", cfg->data_dir);
		return 1;
	}
	return 0;
}
