/*
 * server_tls.h -- loading the TLS certificate and private key for the
 * server.
 *
 * Both PEM files are read into memory (libmicrohttpd takes them as
 * strings) and checked with GnuTLS, so that a wrong path, an unreadable
 * file, an encrypted key or a key that does not match the certificate is
 * reported by name before the server starts.  The key buffer is wiped when
 * freed.
 */
#ifndef FS_DAEMON_SERVER_TLS_H
#define FS_DAEMON_SERVER_TLS_H

#include <stddef.h>

struct config;

/*
 * TLS 1.2 and 1.3 only; in 1.2 only AEAD ciphers (AES-GCM, ChaCha20-Poly1305)
 * and ephemeral ECDH key exchange: no CBC with SHA-1, no static RSA (no
 * forward secrecy) -- issue 15, item 3.  `gnutls-cli --priority ... --list`
 * shows the nine suites this leaves.  The default of the tls_priorities
 * key of fieldsyncd.conf, which replaces it whole.
 */
#define SERVER_TLS_PRIORITIES                                                                \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"   \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"

struct server_tls {
	char *cert; /* PEM, NUL-terminated */
	char *key;  /* PEM, NUL-terminated; wiped on free */
	size_t key_len;
};

/*
 * Reads and checks cfg->tls_cert and cfg->tls_key.  Returns 0, or -1 after
 * logging why.
 */
int server_tls_load(struct server_tls *tls, const struct config *cfg);

/* Wipes and frees.  Accepts a zeroed or half-loaded struct. */
void server_tls_free(struct server_tls *tls);

#endif /* FS_DAEMON_SERVER_TLS_H */
