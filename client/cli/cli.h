/*
 * cli.h -- the fieldsync command-line tool, shared by its command files.
 *
 * Every command gets argc/argv starting at its own name, the open client
 * (NULL for commands that open nothing) and returns an exit status:
 * 0 success, 1 runtime failure, 2 bad input or usage.
 */
#ifndef FS_CLI_H
#define FS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "fieldsync.h"

#define EXIT_USAGE 2

struct cli {
	const char *db_path;
	const char *key_file; /* --key-file: the PIN of an encrypted store, or NULL */
	fs_client *client;
	bool create;  /* cli_open() may create the store (init) */
	bool encrypt; /* init --encrypt: the new store is encrypted */
};

/* cli_key.c: the PIN or passphrase of an encrypted store (issue 17). */
#define CLI_SECRET_MAX 1024
#define CLI_SECRET_MIN 6 /* typed for a new store */
/*
 * Reads the secret into buf (CLI_SECRET_MAX + 1 bytes): --key-file, else
 * $FIELDSYNC_KEY_FILE, else the terminal (twice with confirm).  Returns
 * its length, or -1 after saying why.  The caller wipes buf.
 */
long cli_read_secret(const struct cli *cli, bool confirm, char *buf);
/* True when a key file is given (option or environment). */
bool cli_key_given(const struct cli *cli);
/* Overwrites and removes the key file, if one is given; true if it did. */
bool cli_erase_key_file(const struct cli *cli);
/* Opens (create: creates) the encrypted store; an exit status. */
int cli_open_encrypted(struct cli *cli, bool create);

/* Prints "fieldsync: <message>" for err and returns the exit status for it. */
int cli_fail(struct cli *cli, fs_err err);
/* Prints "fieldsync: <fmt>" and returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True if arg is -h or --help. */
bool cli_is_help(const char *arg);
/* Opens the store named by --db (or FIELDSYNC_DB). */
int cli_open(struct cli *cli);
/*
 * Parses a whole decimal integer in [lo, hi] ("10x", "", " 5" and
 * overflow are refused).  True on success.
 */
bool cli_parse_int(const char *s, long long lo, long long hi, long long *ret);
/* Reads a whole file (at most 16 MiB) into a NUL-terminated buffer. */
char *cli_read_file(const char *path, size_t *ret_len);

int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_forms(struct cli *cli, int argc, char **argv);
/* cmd_xlsform.c: forms from-csv | to-csv (argv[0] is the subcommand). */
int cmd_forms_csv(int argc, char **argv);
int cmd_record(struct cli *cli, int argc, char **argv);
/* cmd_prompt.c: skip logic for the officer (issue 19). */
int cli_record_interactive(struct cli *cli, const char *form);
void cli_say_applies(struct cli *cli, const char *id);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_sync(struct cli *cli, int argc, char **argv);
int cmd_verify_bundle(struct cli *cli, int argc, char **argv);
int cmd_unlock(struct cli *cli, int argc, char **argv);
int cmd_encrypt(struct cli *cli, int argc, char **argv);

#endif /* FS_CLI_H */
