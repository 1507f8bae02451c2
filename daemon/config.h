/*
 * config.h -- fieldsyncd's configuration: the only parser of
 * fieldsyncd.conf.
 *
 * The file is a list of `key = value` lines; blank lines and lines whose
 * first non-blank character is '#' are ignored, and " #" starts a comment
 * after a value.  Every key has a default (config_defaults()), a range
 * check and an entry in docs/fieldsyncd.conf.example.  Errors name the
 * place: "file:line: message".
 *
 * Command-line flags are applied by the caller after config_load(); then
 * config_check() validates the combination (TLS files present, plain HTTP
 * only on loopback, limits consistent).  After that the struct is treated
 * as const and passed explicitly; there is no global configuration.
 */
#ifndef FS_DAEMON_CONFIG_H
#define FS_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_FILE "/etc/fieldsyncd/fieldsyncd.conf"
#define CONFIG_PATH_MAX     4096
#define CONFIG_ADDR_MAX     64
#define CONFIG_TLS_PRIORITIES_MAX 512

enum config_store {
	CONFIG_STORE_SQLITE,
	CONFIG_STORE_POSTGRESQL, /* refused unless built with libpq */
};

struct config {
	char listen[CONFIG_ADDR_MAX]; /* numeric IPv4 or IPv6 address */
	unsigned port;                /* 0 = ephemeral (tests) */
	char data_dir[CONFIG_PATH_MAX];
	enum config_store store;
	/* store = postgresql: the libpq connection string or URI (may hold a password: never logged) */
	char postgresql[CONFIG_PATH_MAX];
	char tls_cert[CONFIG_PATH_MAX]; /* PEM certificate chain */
	char tls_key[CONFIG_PATH_MAX];  /* PEM private key */
	char tls_priorities[CONFIG_TLS_PRIORITIES_MAX]; /* GnuTLS priority string */
	unsigned threads;               /* MHD worker threads */
	unsigned max_connections;
	unsigned max_per_ip;
	unsigned connection_timeout; /* seconds of inactivity */
	unsigned handshake_timeout;  /* seconds from accept to the request line */
	unsigned header_timeout;     /* seconds from accept to the end of the header */
	unsigned min_body_rate;      /* bytes per second, past header_timeout; 0: none */
	size_t max_body;             /* request body as sent (compressed) */
	size_t max_inflated;         /* request body after decompression */
	unsigned max_changes_per_batch;
	int64_t max_clock_ahead_ms;
	bool insecure_http; /* plain HTTP; loopback only */
	unsigned unlock_seconds; /* how long a reviewer's unlocked sealing keys are held */
};

/* Fills cfg with the defaults. */
void config_defaults(struct config *cfg);

/*
 * Reads path into cfg (which holds defaults or earlier values).  Returns 0
 * on success.  On failure returns -1 and writes "path:line: message" (or
 * "path: message" when the file cannot be read) into err; cfg may then be
 * partly updated and must not be used.  *ret_io_error is set to true when
 * the file could not be read (a runtime error rather than bad input).
 */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen, bool *ret_io_error);

/*
 * Checks the final configuration after flags were applied.  Returns 0, or
 * -1 with a message in err.
 */
int config_check(const struct config *cfg, char *err, size_t errlen);

/* True if addr is a numeric loopback address (127.0.0.0/8 or ::1). */
bool config_is_loopback(const char *addr);

/*
 * Parses a port number ("0".."65535").  Returns 0 or -1.  Used for -p as
 * well as the port key, so both accept exactly the same values.
 */
int config_parse_port(const char *text, unsigned *ret_port);

/* Validates a listen address (numeric IPv4/IPv6).  Returns 0 or -1. */
int config_parse_listen(const char *text);

/* The `store` key's value as store_open_kind() takes it ("sqlite", "postgresql"). */
const char *config_store_kind(const struct config *cfg);

/* Where that store is, as store_open_kind() takes it: data_dir, or the connection string. */
const char *config_store_where(const struct config *cfg);

#endif /* FS_DAEMON_CONFIG_H */
