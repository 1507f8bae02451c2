/*
 * config.c -- reading fieldsyncd.conf.  See config.h.
 *
 * The parser is table driven: each key names its type, its place in
 * struct config and its range, so a key cannot be added without a range
 * check.  Numbers are decimal; sizes accept a K, M or G suffix (binary,
 * optionally followed by "iB"); booleans accept yes/no, true/false, on/off
 * and 1/0.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_tls.h"

#define LINE_MAX_LEN 8192

enum key_type {
	KEY_LISTEN,
	KEY_PORT,
	KEY_PATH,
	KEY_STORE,
	KEY_CONNINFO,
	KEY_UINT,
	KEY_SIZE,
	KEY_INT64,
	KEY_BOOL,
	KEY_TLS_PRIORITIES,
};

struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	uint64_t min, max;
};

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

static const struct key keys[] = {
    {"listen", KEY_LISTEN, offsetof(struct config, listen), 0, 0},
    {"port", KEY_PORT, offsetof(struct config, port), 0, 65535},
    {"data_dir", KEY_PATH, offsetof(struct config, data_dir), 0, 0},
    {"store", KEY_STORE, offsetof(struct config, store), 0, 0},
    {"postgresql", KEY_CONNINFO, offsetof(struct config, postgresql), 0, 0},
    {"tls_cert", KEY_PATH, offsetof(struct config, tls_cert), 0, 0},
    {"tls_key", KEY_PATH, offsetof(struct config, tls_key), 0, 0},
    {"tls_priorities", KEY_TLS_PRIORITIES, offsetof(struct config, tls_priorities), 0, 0},
    {"threads", KEY_UINT, offsetof(struct config, threads), 1, 256},
    {"max_connections", KEY_UINT, offsetof(struct config, max_connections), 1, 65536},
    {"max_per_ip", KEY_UINT, offsetof(struct config, max_per_ip), 1, 65536},
    {"connection_timeout", KEY_UINT, offsetof(struct config, connection_timeout), 1, 3600},
    {"handshake_timeout", KEY_UINT, offsetof(struct config, handshake_timeout), 1, 3600},
    {"header_timeout", KEY_UINT, offsetof(struct config, header_timeout), 1, 3600},
    {"min_body_rate", KEY_UINT, offsetof(struct config, min_body_rate), 0, 1000000000},
    {"max_body", KEY_SIZE, offsetof(struct config, max_body), 1 * KIB, 1 * GIB},
    {"max_inflated", KEY_SIZE, offsetof(struct config, max_inflated), 1 * KIB, 4 * GIB},
    {"max_changes_per_batch", KEY_UINT, offsetof(struct config, max_changes_per_batch), 1, 1000000},
    {"max_clock_ahead_ms", KEY_INT64, offsetof(struct config, max_clock_ahead_ms), 1000, 86400000},
    {"insecure_http", KEY_BOOL, offsetof(struct config, insecure_http), 0, 0},
    {"unlock_seconds", KEY_UINT, offsetof(struct config, unlock_seconds), 10, 86400},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", "127.0.0.1");
	cfg->port = 8443;
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", "/var/lib/fieldsyncd");
	cfg->store = CONFIG_STORE_SQLITE;
	snprintf(cfg->tls_cert, sizeof(cfg->tls_cert), "%s", "/etc/fieldsyncd/cert.pem");
	snprintf(cfg->tls_key, sizeof(cfg->tls_key), "%s", "/etc/fieldsyncd/key.pem");
	snprintf(cfg->tls_priorities, sizeof(cfg->tls_priorities), "%s", SERVER_TLS_PRIORITIES);
	cfg->threads = 4;
	cfg->max_connections = 256;
	cfg->max_per_ip = 32;
	cfg->connection_timeout = 30;
	/* Short, yet room for a TLS handshake over 9.6 kbit/s with a 1 s round trip. */
	cfg->handshake_timeout = 10;
	cfg->header_timeout = 15;
	cfg->min_body_rate = 128;
	cfg->max_body = 8 * MIB;
	cfg->max_inflated = 64 * MIB;
	cfg->max_changes_per_batch = 5000;
	cfg->max_clock_ahead_ms = 300000;
	cfg->insecure_http = false;
	cfg->unlock_seconds = 300;
}

bool
config_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
	return false;
}

int
config_parse_listen(const char *text)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (strlen(text) >= CONFIG_ADDR_MAX)
		return -1;
	if (inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1)
		return 0;
	return -1;
}

/* Parses a decimal number with an optional binary suffix (sizes only). */
static int
parse_number(const char *text, bool suffix, uint64_t *ret)
{
	uint64_t v = 0, mult = 1;
	const char *p = text;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (*p != '\0') {
		if (!suffix)
			return -1;
		switch (*p) {
		case 'k':
		case 'K':
			mult = KIB;
			break;
		case 'm':
		case 'M':
			mult = MIB;
			break;
		case 'g':
		case 'G':
			mult = GIB;
			break;
		default:
			return -1;
		}
		p++;
		if (strcmp(p, "") != 0 && strcmp(p, "iB") != 0 && strcmp(p, "B") != 0)
			return -1;
		if (v > UINT64_MAX / mult)
			return -1;
		v *= mult;
	}
	*ret = v;
	return 0;
}

int
config_parse_port(const char *text, unsigned *ret_port)
{
	uint64_t v;

	if (parse_number(text, false, &v) != 0 || v > 65535)
		return -1;
	*ret_port = (unsigned)v;
	return 0;
}

static int
parse_bool(const char *text, bool *ret)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -1;
}

/* Applies one key; on failure writes the message (without place) to err. */
static int
apply_key(struct config *cfg, const struct key *k, const char *value, char *err, size_t errlen)
{
	char *field = (char *)cfg + k->offset;
	uint64_t v;
	bool b;

	switch (k->type) {
	case KEY_LISTEN:
		if (config_parse_listen(value) != 0) {
			snprintf(err, errlen,
			    "listen: '%.64s' is not a numeric IPv4 or IPv6 address", value);
			return -1;
		}
		snprintf(field, CONFIG_ADDR_MAX, "%s", value);
		return 0;
	case KEY_PORT:
		if (config_parse_port(value, (unsigned *)(void *)field) != 0) {
			snprintf(err, errlen, "port: must be a number from 0 to 65535");
			return -1;
		}
		return 0;
	case KEY_PATH:
		if (value[0] == '\0' || strlen(value) >= CONFIG_PATH_MAX - 64) {
			snprintf(err, errlen, "%s: path is empty or too long", k->name);
			return -1;
		}
		snprintf(field, CONFIG_PATH_MAX, "%s", value);
		return 0;
	case KEY_CONNINFO:
		/* Empty: not set (config_check() asks for it with store = postgresql). */
		if (strlen(value) >= CONFIG_PATH_MAX) {
			snprintf(err, errlen, "%s: connection string too long", k->name);
			return -1;
		}
		snprintf(field, CONFIG_PATH_MAX, "%s", value);
		return 0;
	case KEY_STORE:
		if (strcmp(value, "sqlite") == 0) {
			cfg->store = CONFIG_STORE_SQLITE;
			return 0;
		}
		if (strcmp(value, "postgresql") == 0) {
#ifdef FS_HAVE_POSTGRESQL
			cfg->store = CONFIG_STORE_POSTGRESQL;
			return 0;
#else
			snprintf(
			    err, errlen, "store: 'postgresql' is not built into this fieldsyncd");
			return -1;
#endif
		}
		snprintf(err, errlen, "store: must be 'sqlite' or 'postgresql'");
		return -1;
	case KEY_UINT:
	case KEY_SIZE:
	case KEY_INT64:
		if (parse_number(value, k->type == KEY_SIZE, &v) != 0 || v < k->min || v > k->max) {
			snprintf(err, errlen,
			    "%s: must be a number from %" PRIu64 " to %" PRIu64 "%s", k->name,
			    k->min, k->max,
			    k->type == KEY_SIZE ? " (bytes; K, M or G suffix allowed)" : "");
			return -1;
		}
		if (k->type == KEY_UINT)
			*(unsigned *)(void *)field = (unsigned)v;
		else if (k->type == KEY_SIZE)
			*(size_t *)(void *)field = (size_t)v;
		else
			*(int64_t *)(void *)field = (int64_t)v;
		return 0;
	case KEY_TLS_PRIORITIES: {
		gnutls_priority_t prio;
		const char *where = NULL;

		if (value[0] == '\0' || strlen(value) >= CONFIG_TLS_PRIORITIES_MAX) {
			snprintf(err, errlen, "tls_priorities: empty or longer than %d characters",
			    CONFIG_TLS_PRIORITIES_MAX - 1);
			return -1;
		}
		if (gnutls_priority_init(&prio, value, &where) != GNUTLS_E_SUCCESS) {
			snprintf(err, errlen, "tls_priorities: not a GnuTLS priority string (at '%.32s')",
			    where != NULL ? where : value);
			return -1;
		}
		gnutls_priority_deinit(prio);
		snprintf(field, CONFIG_TLS_PRIORITIES_MAX, "%s", value);
		return 0;
	}
	case KEY_BOOL:
		if (parse_bool(value, &b) != 0) {
			snprintf(err, errlen, "%s: must be yes or no", k->name);
			return -1;
		}
		*(bool *)(void *)field = b;
		return 0;
	}
	snprintf(err, errlen, "%s: internal error", k->name);
	return -1;
}

/*
 * Splits one line into key and value in place.  Returns 1 for a key line,
 * 0 for a blank or comment line, -1 with a message on a syntax error.
 */
static int
split_line(char *line, char **ret_key, char **ret_value, char *err, size_t errlen)
{
	char *p = line, *key, *value, *end;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	key = p;
	while (*p == '_' || isalnum((unsigned char)*p))
		p++;
	end = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=' || end == key) {
		snprintf(err, errlen, "expected 'key = value'");
		return -1;
	}
	*end = '\0';
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	value = p;
	if (*value == '"') {
		value++;
		if ((end = strchr(value, '"')) == NULL) {
			snprintf(err, errlen, "%s: unterminated quoted value", key);
			return -1;
		}
		*end++ = '\0';
		while (isspace((unsigned char)*end))
			end++;
		if (*end != '\0' && *end != '#') {
			snprintf(err, errlen, "%s: text after the quoted value", key);
			return -1;
		}
	} else {
		for (end = value; *end != '\0'; end++) {
			if (*end == '#' && end > value && isspace((unsigned char)end[-1]))
				break;
		}
		*end = '\0';
		while (end > value && isspace((unsigned char)end[-1]))
			*--end = '\0';
	}
	for (p = value; *p != '\0'; p++) {
		if (iscntrl((unsigned char)*p)) {
			snprintf(err, errlen, "%s: control character in value", key);
			return -1;
		}
	}
	*ret_key = key;
	*ret_value = value;
	return 1;
}

/* The later of the lines that set keys a and b (0 if neither was set). */
static unsigned
later_line(const unsigned seen[NKEYS], const char *a, const char *b)
{
	unsigned line = 0;

	for (size_t i = 0; i < NKEYS; i++)
		if ((strcmp(keys[i].name, a) == 0 || strcmp(keys[i].name, b) == 0) &&
		    seen[i] > line)
			line = seen[i];
	return line;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen, bool *ret_io_error)
{
	unsigned seen[NKEYS] = {0};
	char msg[512];
	char *line = NULL, *key, *value;
	size_t cap = 0, i;
	ssize_t n;
	unsigned lineno = 0;
	FILE *fp;
	int r = -1;

	*ret_io_error = false;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		*ret_io_error = true;
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if ((size_t)n > LINE_MAX_LEN) {
			snprintf(msg, sizeof(msg), "line too long");
			goto fail;
		}
		if (memchr(line, '\0', (size_t)n) != NULL) {
			snprintf(msg, sizeof(msg), "NUL byte in line");
			goto fail;
		}
		switch (split_line(line, &key, &value, msg, sizeof(msg))) {
		case 0:
			continue;
		case 1:
			break;
		default:
			goto fail;
		}
		for (i = 0; i < NKEYS; i++)
			if (strcmp(keys[i].name, key) == 0)
				break;
		if (i == NKEYS) {
			snprintf(msg, sizeof(msg), "unknown key '%.64s'", key);
			goto fail;
		}
		if (seen[i] != 0) {
			snprintf(msg, sizeof(msg), "%s: already set on line %u", key, seen[i]);
			goto fail;
		}
		seen[i] = lineno;
		if (apply_key(cfg, &keys[i], value, msg, sizeof(msg)) != 0)
			goto fail;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		*ret_io_error = true;
		goto out;
	}
	/* Limits that depend on each other: blame the later of the two lines. */
	if (cfg->max_inflated < cfg->max_body) {
		lineno = later_line(seen, "max_body", "max_inflated");
		snprintf(msg, sizeof(msg), "max_inflated (%zu) is smaller than max_body (%zu)",
		    cfg->max_inflated, cfg->max_body);
		goto fail;
	}
	if (cfg->handshake_timeout > cfg->header_timeout) {
		lineno = later_line(seen, "handshake_timeout", "header_timeout");
		snprintf(msg, sizeof(msg), "handshake_timeout (%u) is longer than header_timeout (%u)",
		    cfg->handshake_timeout, cfg->header_timeout);
		goto fail;
	}
	if (cfg->max_per_ip > cfg->max_connections) {
		lineno = later_line(seen, "max_per_ip", "max_connections");
		snprintf(msg, sizeof(msg), "max_per_ip (%u) is larger than max_connections (%u)",
		    cfg->max_per_ip, cfg->max_connections);
		goto fail;
	}
	r = 0;
	goto out;
fail:
	snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
out:
	free(line);
	fclose(fp);
	return r;
}

int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->store == CONFIG_STORE_POSTGRESQL && cfg->postgresql[0] == '\0') {
		snprintf(err, errlen,
		    "store = postgresql needs its connection string: postgresql = CONNINFO");
		return -1;
	}
	if (cfg->insecure_http && !config_is_loopback(cfg->listen)) {
		snprintf(err, errlen,
		    "insecure_http is only allowed with a loopback listen address, not '%s'",
		    cfg->listen);
		return -1;
	}
	if (!cfg->insecure_http && (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0')) {
		snprintf(
		    err, errlen, "tls_cert and tls_key are required unless insecure_http is set");
		return -1;
	}
	if (cfg->data_dir[0] == '\0') {
		snprintf(err, errlen, "data_dir is empty");
		return -1;
	}
	return 0;
}

const char *
config_store_kind(const struct config *cfg)
{
	return cfg->store == CONFIG_STORE_POSTGRESQL ? "postgresql" : "sqlite";
}

const char *
config_store_where(const struct config *cfg)
{
	return cfg->store == CONFIG_STORE_POSTGRESQL ? cfg->postgresql : cfg->data_dir;
}
