/*
 * cli_key.c -- the PIN or passphrase of an encrypted device store, and
 * opening the store with it (issue 17, item 4).
 *
 * Where the secret comes from, in order: --key-file FILE, then
 * $FIELDSYNC_KEY_FILE (for unattended use: the file's first line; refused
 * unless the file is a regular file no one else may read, mode 0600 or
 * stricter), else the terminal (/dev/tty, echo off; asked twice when a
 * new store is created).  The secret is wiped once the store is open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

static size_t
chomp(char *buf, size_t n)
{
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return n;
}

static long
read_key_file(const char *file, char *buf)
{
	struct stat sb;
	size_t n = 0;
	ssize_t got;
	char *nl;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		fprintf(stderr, "fieldsync: cannot open key file %s: %s\n", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		fprintf(stderr,
		    "fieldsync: key file %s must be a regular file of mode 0600 or stricter"
		    " (chmod 600 %s)\n",
		    file, file);
		close(fd);
		return -1;
	}
	while (n < CLI_SECRET_MAX && (got = read(fd, buf + n, CLI_SECRET_MAX - n)) > 0)
		n += (size_t)got;
	close(fd);
	buf[n] = '\0';
	if ((nl = memchr(buf, '\n', n)) != NULL) {
		explicit_bzero(nl, n - (size_t)(nl - buf));
		n = (size_t)(nl - buf);
	}
	n = chomp(buf, n);
	if (n == 0) {
		fprintf(stderr, "fieldsync: key file %s is empty\n", file);
		return -1;
	}
	return (long)n;
}

static long
read_tty(const char *prompt, char *buf)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	bool echo_off;
	size_t n;

	if (tty == NULL) {
		fprintf(stderr, "fieldsync: the store is encrypted and there is no terminal to ask"
				" its PIN: give --key-file FILE or FIELDSYNC_KEY_FILE\n");
		return -1;
	}
	fputs(prompt, tty);
	fflush(tty);
	echo_off = tcgetattr(fileno(tty), &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	if (fgets(buf, CLI_SECRET_MAX + 1, tty) == NULL)
		buf[0] = '\0';
	if (echo_off)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	n = chomp(buf, strlen(buf));
	if (n == 0) {
		fprintf(stderr, "fieldsync: no PIN or passphrase typed\n");
		return -1;
	}
	return (long)n;
}

long
cli_read_secret(const struct cli *cli, bool confirm, char *buf)
{
	const char *file = cli->key_file;
	char prompt[600], again[CLI_SECRET_MAX + 1];
	long n, m;

	if (file == NULL || file[0] == '\0')
		file = getenv("FIELDSYNC_KEY_FILE");
	if (file != NULL && file[0] != '\0')
		return read_key_file(file, buf);
	snprintf(prompt, sizeof(prompt), "PIN or passphrase of store %s: ", cli->db_path);
	if ((n = read_tty(prompt, buf)) < 0 || !confirm)
		return n;
	if (n < CLI_SECRET_MIN) {
		explicit_bzero(buf, CLI_SECRET_MAX + 1);
		fprintf(stderr, "fieldsync: a PIN or passphrase of at least %d characters\n",
		    CLI_SECRET_MIN);
		return -1;
	}
	m = read_tty("Again: ", again);
	if (m != n || memcmp(buf, again, (size_t)n) != 0) {
		explicit_bzero(buf, CLI_SECRET_MAX + 1);
		explicit_bzero(again, sizeof(again));
		fprintf(stderr, "fieldsync: the two did not match; nothing was created\n");
		return -1;
	}
	explicit_bzero(again, sizeof(again));
	return n;
}

bool
cli_key_given(const struct cli *cli)
{
	const char *env = getenv("FIELDSYNC_KEY_FILE");

	return (cli->key_file != NULL && cli->key_file[0] != '\0') ||
	       (env != NULL && env[0] != '\0');
}

int
cli_open_encrypted(struct cli *cli, bool create)
{
	char secret[CLI_SECRET_MAX + 1], msg[512];
	long n;
	fs_err err;

	msg[0] = '\0';
	if ((n = cli_read_secret(cli, create && !cli_key_given(cli), secret)) < 0)
		return EXIT_USAGE;
	err = fs_open_encrypted(cli->db_path, secret, (size_t)n, &cli->client, msg, sizeof(msg));
	explicit_bzero(secret, sizeof(secret));
	if (err != FS_OK) {
		fprintf(stderr, "fieldsync: %s\n", msg[0] != '\0' ? msg : fs_strerror(err));
		return err == FS_ERR_KEY || err == FS_ERR_INVALID ? EXIT_USAGE : EXIT_FAILURE;
	}
	return 0;
}

bool
cli_erase_key_file(const struct cli *cli)
{
	const char *file = cli->key_file;
	struct stat sb;
	int fd;

	if (file == NULL || file[0] == '\0')
		file = getenv("FIELDSYNC_KEY_FILE");
	if (file == NULL || file[0] == '\0')
		return false;
	if ((fd = open(file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
			char zeros[256] = { 0 };

			for (off_t left = sb.st_size; left > 0;) {
				ssize_t w = write(fd, zeros,
				    left < (off_t)sizeof(zeros) ? (size_t)left : sizeof(zeros));
				if (w <= 0)
					break;
				left -= w;
			}
			fsync(fd);
		}
		close(fd);
	}
	return unlink(file) == 0;
}
