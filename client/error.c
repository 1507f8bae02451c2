/*
 * error.c -- per-handle error messages (fs_strerror() is in common/).
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

fs_err
client_fail(fs_client *c, fs_err err, const char *fmt, ...)
{
	va_list ap;

	if (c == NULL)
		return err;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

void
client_reset_error(fs_client *c)
{
	c->errmsg[0] = '\0';
}

const char *
fs_errmsg(const fs_client *c)
{
	return c == NULL ? "" : c->errmsg;
}

void
fs_free(void *ptr)
{
	free(ptr);
}
