/*
 * cmd_crypt.c -- fieldsync unlock and encrypt: the encrypted device store
 * (issue 17, item 4; client/crypt_vfs.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

int
cmd_unlock(struct cli *cli, int argc, char **argv)
{
	bool encrypted = false;
	int status;

	if (argc > 1 && cli_is_help(argv[1])) {
		printf("usage: fieldsync [--db PATH] [--key-file FILE] unlock\n\n"
		       "Checks that the PIN or key file opens the encrypted store, and says\n"
		       "so; a wrong one is refused and nothing is changed.  Every command\n"
		       "opens the store the same way: this one only checks.\n");
		return 0;
	}
	if (argc > 1)
		return cli_usage_error("unlock: unexpected argument '%s'", argv[1]);
	if (fs_store_encrypted(cli->db_path, &encrypted) != FS_OK) {
		fprintf(stderr, "fieldsync: cannot read store '%s'\n", cli->db_path);
		return EXIT_FAILURE;
	}
	if (!encrypted) {
		struct stat sb;

		if (stat(cli->db_path, &sb) != 0)
			return cli_usage_error("no device store at '%s'", cli->db_path);
		printf("store %s is not encrypted ('fieldsync encrypt' encrypts it)\n",
		    cli->db_path);
		return 0;
	}
	if ((status = cli_open(cli)) != 0)
		return status;
	printf("store %s is encrypted and the key opens it (device %s)\n", cli->db_path,
	    fs_device_id(cli->client) != NULL ? fs_device_id(cli->client) : "not initialised");
	return 0;
}

int
cmd_encrypt(struct cli *cli, int argc, char **argv)
{
	char secret[CLI_SECRET_MAX + 1], msg[512];
	bool encrypted = false;
	struct stat sb;
	long n;
	fs_err err;

	if (argc > 1 && cli_is_help(argv[1])) {
		printf("usage: fieldsync [--db PATH] [--key-file FILE] encrypt\n\n"
		       "Encrypts a plain device store: a copy is written through the\n"
		       "encrypting store layer, checked, and renamed over the plain one;\n"
		       "if anything fails the plain store stays as it was.  The PIN or\n"
		       "passphrase comes from the key file, or is asked twice (at least\n"
		       "%d characters).  The plain file's old blocks are not overwritten:\n"
		       "create stores with 'init --encrypt' before recording instead.\n",
		    CLI_SECRET_MIN);
		return 0;
	}
	if (argc > 1)
		return cli_usage_error("encrypt: unexpected argument '%s'", argv[1]);
	if (stat(cli->db_path, &sb) != 0 || sb.st_size == 0)
		return cli_usage_error("no device store at '%s'", cli->db_path);
	if (fs_store_encrypted(cli->db_path, &encrypted) == FS_OK && encrypted)
		return cli_usage_error("store '%s' is encrypted already", cli->db_path);
	if ((n = cli_read_secret(cli, !cli_key_given(cli), secret)) < 0)
		return EXIT_USAGE;
	fprintf(stderr, "fieldsync: encrypting %s ...\n", cli->db_path);
	err = fs_store_encrypt(cli->db_path, secret, (size_t)n, msg, sizeof(msg));
	explicit_bzero(secret, sizeof(secret));
	if (err != FS_OK) {
		fprintf(stderr, "fieldsync: %s; the store is unchanged\n",
		    msg[0] != '\0' ? msg : fs_strerror(err));
		return err == FS_ERR_INVALID ? EXIT_USAGE : EXIT_FAILURE;
	}
	printf("store %s is encrypted\n", cli->db_path);
	return 0;
}
