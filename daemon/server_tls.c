/*
 * server_tls.c -- reading and checking the certificate and key.  See
 * server_tls.h.
 */
#include "server_tls.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

#define PEM_MAX (1024 * 1024)

/* Reads a whole file (at most PEM_MAX bytes) into a NUL-terminated buffer. */
static char *
read_pem(const char *path, const char *what, size_t *ret_len)
{
	FILE *fp;
	char *buf;
	size_t n;

	if ((fp = fopen(path, "r")) == NULL) {
		log_warn("Failed to open TLS %s '%s'", what, path);
		return NULL;
	}
	if ((buf = malloc(PEM_MAX + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	n = fread(buf, 1, PEM_MAX + 1, fp);
	if (ferror(fp) || n > PEM_MAX || n == 0) {
		log_warnx("Failed to read TLS %s '%s': %s", what, path,
		    n > PEM_MAX ? "file too large"
		    : n == 0    ? "file empty"
		                : "read error");
		gnutls_memset(buf, 0, PEM_MAX + 1);
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	buf[n] = '\0';
	*ret_len = n;
	return buf;
}

int
server_tls_load(struct server_tls *tls, const struct config *cfg)
{
	gnutls_certificate_credentials_t creds;
	gnutls_datum_t cert, key;
	size_t cert_len;
	int r;

	memset(tls, 0, sizeof(*tls));
	if ((tls->cert = read_pem(cfg->tls_cert, "certificate", &cert_len)) == NULL)
		goto fail;
	if ((tls->key = read_pem(cfg->tls_key, "key", &tls->key_len)) == NULL)
		goto fail;
	if (gnutls_certificate_allocate_credentials(&creds) != GNUTLS_E_SUCCESS)
		goto fail;
	cert.data = (unsigned char *)tls->cert;
	cert.size = (unsigned)cert_len;
	key.data = (unsigned char *)tls->key;
	key.size = (unsigned)tls->key_len;
	r = gnutls_certificate_set_x509_key_mem(creds, &cert, &key, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(creds);
	if (r < 0) {
		log_warnx("TLS certificate '%s' and key '%s' are not usable: %s", cfg->tls_cert,
		    cfg->tls_key, gnutls_strerror(r));
		goto fail;
	}
	return 0;
fail:
	server_tls_free(tls);
	return -1;
}

void
server_tls_free(struct server_tls *tls)
{
	if (tls->key != NULL) {
		gnutls_memset(tls->key, 0, tls->key_len);
		free(tls->key);
	}
	free(tls->cert);
	memset(tls, 0, sizeof(*tls));
}
