/*
 * http.c -- HTTPS requests with libcurl.  See http.h.
 */
#include "http.h"
#include "protocol.h"

#define FS_STR_(x) #x
#define FS_STR(x)  FS_STR_(x)

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

struct sink {
	char *buf;
	size_t len, cap;
	int too_big;
};

/* What the request sent and received, counted once (curl's debug callback). */
struct wire_count {
	int64_t up, down;
	const struct http_watch *watch;
	bool cancelled;
};

static int
on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *userdata)
{
	struct wire_count *w = userdata;

	(void)h;
	(void)data;
	if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT)
		w->up += (int64_t)size;
	else if (type == CURLINFO_HEADER_IN || type == CURLINFO_DATA_IN)
		w->down += (int64_t)size;
	return 0;
}

static int
on_xfer(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct wire_count *w = userdata;

	(void)dltotal;
	(void)ultotal;
	(void)dlnow;
	(void)ulnow;
	if (w->watch != NULL && w->watch->fn != NULL && w->watch->fn(w->watch->arg, w->up, w->down))
		w->cancelled = true;
	return w->cancelled ? 1 : 0;
}

struct headers_seen {
	long retry_after;
	int64_t server_time;
	int json;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	if (s->len + n + 1 > HTTP_MAX_ANSWER) {
		s->too_big = 1;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 8192;
		char *grown;
		while (cap < s->len + n + 1)
			cap *= 2;
		if ((grown = realloc(s->buf, cap)) == NULL)
			return 0;
		s->buf = grown;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, ptr, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct headers_seen *h = userdata;
	size_t n = size * nmemb;
	char line[256];

	if (n >= sizeof(line))
		return n;
	memcpy(line, ptr, n);
	line[n] = '\0';
	if (strncasecmp(line, "Retry-After:", 12) == 0)
		h->retry_after = strtol(line + 12, NULL, 10);
	else if (strncasecmp(line, "X-Fieldsync-Time:", 17) == 0)
		h->server_time = strtoll(line + 17, NULL, 10);
	else if (strncasecmp(line, "Content-Type:", 13) == 0)
		h->json = strstr(line, "application/json") != NULL;
	else if (strncasecmp(line, "HTTP/", 5) == 0)
		*h = (struct headers_seen){ .retry_after = -1, .server_time = -1 };
	return n;
}

fs_err
http_body_init(struct http_body *b)
{
	memset(b, 0, sizeof(*b));
	/* Level 6: metered links pay for every byte; the device's CPU hardly notices. */
	if (deflateInit2(&b->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return FS_ERR_NOMEM;
	b->open = true;
	return FS_OK;
}

/* Runs deflate over what is pending, growing the output as it fills. */
static fs_err
body_deflate(struct http_body *b, int flush)
{
	int rc;

	do {
		if (b->gz_len == b->gz_cap) {
			size_t cap = b->gz_cap ? b->gz_cap * 2 : 16384;
			char *grown;
			if (cap > HTTP_MAX_BODY || (grown = realloc(b->gz, cap)) == NULL)
				return cap > HTTP_MAX_BODY ? FS_ERR_TOOBIG : FS_ERR_NOMEM;
			b->gz = grown;
			b->gz_cap = cap;
		}
		b->z.next_out = (Bytef *)b->gz + b->gz_len;
		b->z.avail_out = (uInt)(b->gz_cap - b->gz_len);
		rc = deflate(&b->z, flush);
		b->gz_len = b->gz_cap - b->z.avail_out;
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			return FS_ERR_INTERNAL;
	} while (b->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	return FS_OK;
}

fs_err
http_body_add(struct http_body *b, const void *data, size_t len)
{
	if (!b->open)
		return FS_ERR_INTERNAL;
	b->z.next_in = (Bytef *)(uintptr_t)data;
	b->z.avail_in = (uInt)len;
	b->json_len += (int64_t)len;
	return body_deflate(b, Z_NO_FLUSH);
}

fs_err
http_body_finish(struct http_body *b)
{
	fs_err err;

	if (!b->open)
		return FS_ERR_INTERNAL;
	b->z.next_in = NULL;
	b->z.avail_in = 0;
	err = body_deflate(b, Z_FINISH);
	deflateEnd(&b->z);
	b->open = false;
	return err;
}

void
http_body_free(struct http_body *b)
{
	if (b->open)
		deflateEnd(&b->z);
	free(b->gz);
	memset(b, 0, sizeof(*b));
}

/*
 * True if a TLS handshake error text says the connection itself broke (a
 * reset, an early close, a stalled link), not that TLS refused the peer.
 */
static bool
handshake_cut(const char *detail)
{
	static const char *const cut[] = { "reset", "recv failure", "send failure", "eof",
		"syscall", "closed", "timed out", "broken pipe" };
	char low[CURL_ERROR_SIZE];
	size_t i;

	for (i = 0; detail[i] != '\0' && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)detail[i]);
	low[i] = '\0';
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
		if (strstr(low, cut[i]) != NULL)
			return true;
	return false;
}

static fs_err
curl_failure(fs_client *c, CURLcode rc, const char *errbuf, const char *url)
{
	const char *detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);

	/*
	 * FAILURE-MODES 3: a connection cut during the handshake is a network
	 * failure, retried like any other, not a TLS refusal that stops sync.
	 */
	if (rc == CURLE_SSL_CONNECT_ERROR && handshake_cut(detail))
		return client_fail(c, FS_ERR_NETWORK, "cannot reach %s: %s", url, detail);
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_USE_SSL_FAILED:
		/* FAILURE-MODES 9: a far-off device clock shows up here. */
		if (strstr(detail, "not yet valid") != NULL || strstr(detail, "expired") != NULL)
			return client_fail(c, FS_ERR_TLS,
			    "TLS to %s failed: %s (check the device clock)", url, detail);
		return client_fail(c, FS_ERR_TLS, "TLS to %s failed: %s", url, detail);
	default:
		return client_fail(c, FS_ERR_NETWORK, "cannot reach %s: %s", url, detail);
	}
}

/* "localhost", an IPv4 address in 127.0.0.0/8 or [::1]: never a name that merely starts so. */
static bool
host_is_loopback(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;
	char buf[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (n > 2 && n < sizeof(buf) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		return inet_pton(AF_INET6, buf, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
	}
	return false;
}

fs_err
http_check_url(fs_client *c, const char *url)
{
	char *scheme = NULL, *host = NULL;
	CURLU *u = curl_url();
	fs_err err = FS_OK;

	if (u == NULL)
		return client_fail(c, FS_ERR_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		err = client_fail(c, FS_ERR_MISUSE, "the server address is not a URL");
	} else if (strcmp(scheme, "https") != 0 &&
		   !(strcmp(scheme, "http") == 0 && host_is_loopback(host))) {
		/* Field values and the token never cross a network in clear. */
		err = client_fail(c, FS_ERR_MISUSE,
		    "the server address must start with https:// (plain http only to"
		    " this machine's loopback address)");
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return err;
}

fs_err
http_request(fs_client *c, const fs_sync_options *o, const char *method, const char *path,
    const struct http_body *body, const struct http_watch *watch, struct http_answer *ret)
{
	char url[2048], auth[256], errbuf[CURL_ERROR_SIZE] = "";
	struct headers_seen seen = { .retry_after = -1, .server_time = -1 };
	struct wire_count wire = { .watch = watch };
	struct curl_slist *hdrs = NULL;
	struct sink sink = { 0 };
	CURLcode rc;
	CURL *curl;
	fs_err err = FS_OK;

	memset(ret, 0, sizeof(*ret));
	ret->retry_after_s = -1;
	ret->server_time_ms = -1;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", o->server_url, path) >= sizeof(url))
		return client_fail(c, FS_ERR_MISUSE, "the server address is too long");
	if (snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token) >=
	    (int)sizeof(auth))
		return client_fail(c, FS_ERR_MISUSE, "token too long");
	/*
	 * One handle per sync, kept on the client between requests: libcurl
	 * then reuses the connection and the TLS session instead of a new
	 * handshake per batch.  Options are set afresh for every request.
	 */
	if ((curl = c->http) != NULL)
		curl_easy_reset(curl);
	else if ((curl = c->http = curl_easy_init()) == NULL)
		return client_fail(c, FS_ERR_NOMEM, "cannot start libcurl");
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	/* protocol.h: what this device speaks and merges by, on every request. */
	hdrs = curl_slist_append(hdrs, FS_PROTOCOL_HEADER ": " FS_STR(FS_PROTOCOL_VERSION));
	hdrs = curl_slist_append(hdrs, FS_MERGE_RULE_HEADER ": " FS_STR(FS_MERGE_RULE_VERSION));
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		hdrs = curl_slist_append(hdrs, "Content-Encoding: gzip");
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
	/*
	 * Verification is never off.  With a CA file (or the system's CAs) the
	 * chain and host name are checked, and a pin narrows that further.  With
	 * a pin and no CA file -- a self-signed deployment -- the pinned key is
	 * the trust anchor: libcurl still refuses any other key, so the chain
	 * check, which a self-signed certificate cannot pass, is replaced by a
	 * stronger one rather than dropped.
	 */
	if (o->pinned_key != NULL && o->ca_file == NULL) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (o->ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, o->ca_file);
	if (o->pinned_key != NULL)
		curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, o->pinned_key);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	/*
	 * No fixed total timeout: a batch on a 9.6 kbit/s link may take a
	 * minute, but a request that moves no byte for timeout_ms has stalled
	 * (a dead link often looks like that, not like a reset) and is cut.
	 */
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
	    (long)((o->timeout_ms > 0 ? o->timeout_ms : 30000) + 999) / 1000);
	/* Bytes counted once, as sent and received (curl's size counters count a POST body twice). */
	curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &wire);
	curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_xfer);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &wire);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &seen);
	if (body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->gz);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->gz_len);
	}
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ret->status);
	{
		long conns = 0;

		curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &conns);
		ret->new_conn = conns > 0;
	}
	ret->bytes_up = wire.up;
	ret->bytes_down = wire.down;
	ret->json_up = body != NULL ? body->json_len : 0;
	ret->json_down = (int64_t)sink.len;
	ret->retry_after_s = seen.retry_after;
	ret->server_time_ms = seen.server_time;
	if (rc != CURLE_OK && wire.cancelled) {
		err = client_fail(c, FS_ERR_CANCELLED, "sync cancelled by the caller");
		ret->status = 0;
	} else if (rc != CURLE_OK) {
		err = sink.too_big ? client_fail(c, FS_ERR_PROTOCOL, "answer from %s is too large", url)
				   : curl_failure(c, rc, errbuf, url);
		/*
		 * Refused, unreachable, or cut before the request went out (in
		 * the TLS handshake): the link is down, and nothing was sent.
		 */
		ret->no_link = err == FS_ERR_NETWORK && wire.up == 0;
		ret->status = 0;
	} else if (!seen.json || sink.buf == NULL ||
	    (ret->json = cJSON_ParseWithLengthOpts(sink.buf, sink.len + 1, NULL, 1)) == NULL ||
	    !cJSON_IsObject(ret->json)) {
		/* FAILURE-MODES 8: a portal's 200 with HTML is not success. */
		cJSON_Delete(ret->json);
		ret->json = NULL;
		err = client_fail(c, FS_ERR_PROTOCOL,
		    "answer from %s (HTTP %ld) is not fieldsync JSON (captive portal or proxy?)", url,
		    ret->status);
	}
	curl_slist_free_all(hdrs);
	free(sink.buf);
	return err;
}

void
http_close(fs_client *c)
{
	curl_easy_cleanup(c->http);
	c->http = NULL;
}

void
http_answer_finish(struct http_answer *a)
{
	cJSON_Delete(a->json);
	a->json = NULL;
}
