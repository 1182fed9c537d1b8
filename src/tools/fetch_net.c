/* fetch_net.c - scwsemu-fetch: one fetch over TCP, TLS and HTTP/1.1 (fetch.h). */
#include "config.h"

#include "tools/fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "codec/wbxml.h"
#include "config/paths.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/json.h"
#include "core/limits.h"
#include "scws/http.h"
#include "scws/http_resp.h"
#include "tools/fetch_url.h"
#include "transport/sock.h"

/* ---------------------------------------------------------------- results */

const char *const fail_names[FAIL_KINDS] = {
	[FAIL_NONE] = "none",           [FAIL_RESOLVE] = "resolve",
	[FAIL_CONNECT] = "connect",     [FAIL_TLS] = "tls",
	[FAIL_TIMEOUT] = "timeout",     [FAIL_IO] = "io",
	[FAIL_PROTO] = "http-protocol", [FAIL_LOCAL] = "local",
};

int set_fail(struct result *r, enum fail_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->kind = kind;
	return -1;
}

int64_t fetch_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double fetch_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- TLS setup */

/* TLS_AES_128_GCM_SHA256: the hash of an external PSK, as the SCWS and
 * OpenSSL's s_client use it (scws/tls.h). */
static const unsigned char tls13_aes128gcmsha256_id[] = { 0x13, 0x01 };
static int psk_ex_index = -1;
/* --resume: the SSL's slot (SSL_SESSION **) for the session to resume next. */
static int sess_ex_index = -1;

/* A session (TLS 1.2 after the handshake, TLS 1.3 from each ticket as it
 * comes): kept in the worker's slot, replacing the one before. */
static int keep_session(SSL *ssl, SSL_SESSION *sess)
{
	SSL_SESSION **slot = sess_ex_index >= 0 ? SSL_get_ex_data(ssl, sess_ex_index) : NULL;
	if (!slot)
		return 0;
	SSL_SESSION_free(*slot);
	*slot = sess;
	return 1; /* the reference is ours */
}

static const struct opts *ssl_opts(SSL *ssl)
{
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_ex_index);
}

/* TLS 1.3 external PSK (RFC 8446 §4.2.11). */
static int psk_use_session(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
			   SSL_SESSION **sess)
{
	const struct opts *o = ssl_opts(ssl);
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, tls13_aes128gcmsha256_id);
	*id = NULL;
	*idlen = 0;
	*sess = NULL;
	if (!o || !cipher)
		return 0;
	/* After a HelloRetryRequest the hash is fixed: offer nothing if ours
	 * does not match it. */
	if (md && md != SSL_CIPHER_get_handshake_digest(cipher))
		return 1;
	SSL_SESSION *s = SSL_SESSION_new();
	if (!s || !SSL_SESSION_set1_master_key(s, o->psk_key, o->psk_key_len) ||
	    !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return 0;
	}
	*sess = s;
	*id = (const unsigned char *)o->psk_identity;
	*idlen = strlen(o->psk_identity);
	return 1;
}

/* TLS 1.2 PSK (RFC 4279). */
static unsigned int psk_client(SSL *ssl, const char *hint, char *identity,
			       unsigned int max_identity_len, unsigned char *psk,
			       unsigned int max_psk_len)
{
	const struct opts *o = ssl_opts(ssl);
	(void)hint;
	if (!o || strlen(o->psk_identity) + 1 > max_identity_len || o->psk_key_len > max_psk_len)
		return 0;
	memcpy(identity, o->psk_identity, strlen(o->psk_identity) + 1);
	memcpy(psk, o->psk_key, o->psk_key_len);
	return (unsigned int)o->psk_key_len;
}

static void openssl_errors(char *out, size_t cap)
{
	unsigned long e = ERR_get_error();
	out[0] = 0;
	if (e)
		ERR_error_string_n(e, out, cap);
	ERR_clear_error();
}

/* 0, or EXIT_USAGE/EXIT_FAIL after saying why. */
int client_init(struct client *c, const struct opts *o, bool https)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	if (!https)
		return 0;
	char err[256];
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx) {
		openssl_errors(err, sizeof(err));
		fprintf(stderr, PROG ": cannot create a TLS context: %s\n", err);
		return EXIT_FAIL;
	}
	SSL_CTX_set_min_proto_version(c->ctx, o->tls_min);
	SSL_CTX_set_max_proto_version(c->ctx, o->tls_max);
	if (o->resume) {
		/* Each worker keeps its own last session (keep_session). */
		if (sess_ex_index < 0)
			sess_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT |
							       SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(c->ctx, keep_session);
	} else {
		/* Every fetch is a full handshake, as a handset's first one is. */
		SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(c->ctx, SSL_OP_NO_TICKET);
	}
	/* OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 and above. */
	bool legacy = o->tls_min < TLS1_2_VERSION;
	if (psk_ex_index < 0)
		psk_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	SSL_CTX_set_ex_data(c->ctx, psk_ex_index, (void *)o);
	/* In PSK mode no CA is loaded: a server that answers the PSK with a
	 * certificate fails verification instead of being trusted. */
	SSL_CTX_set_verify(c->ctx, o->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	if (o->has_psk) {
		const char *list =
			legacy ? "PSK:ECDHE-PSK:DHE-PSK:@SECLEVEL=0" : "PSK:ECDHE-PSK:DHE-PSK";
		if (!SSL_CTX_set_cipher_list(c->ctx, list)) {
			openssl_errors(err, sizeof(err));
			fprintf(stderr, PROG ": no PSK cipher suite: %s\n", err);
			return EXIT_FAIL;
		}
		SSL_CTX_set_psk_client_callback(c->ctx, psk_client);
		SSL_CTX_set_psk_use_session_callback(c->ctx, psk_use_session);
	} else {
		char def[PATH_MAX];
		const char *ca = o->cacert ? o->cacert
					   : config_data_path("pki/scws-ca.crt", def, sizeof(def));
		if (legacy)
			SSL_CTX_set_security_level(c->ctx, 0);
		if (!SSL_CTX_load_verify_locations(c->ctx, ca, NULL)) {
			openssl_errors(err, sizeof(err));
			fprintf(stderr, PROG ": %s: cannot load CA certificates: %s\n", ca, err);
			return EXIT_USAGE;
		}
	}
	return 0;
}

void client_cleanup(struct client *c)
{
	SSL_CTX_free(c->ctx);
}

/* ---------------------------------------------------------------- one fetch */

struct conn {
	int fd;
	SSL *ssl;
	int64_t deadline;
	double timeout_s;
};

/* Waits until fd is ready for `events`; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - fetch_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { fd, events, 0 };
		int n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* "127.0.0.1 port 4116", as curl says it. */
static void addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	(void)transport_sock_addr(sa, ip, &port);
	snprintf(out, cap, "%s port %u", ip, port);
}

struct addr_list {
	struct sockaddr_storage a[FETCH_ADDRS_MAX];
	socklen_t len[FETCH_ADDRS_MAX];
	size_t n;
};

static void set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* Where the URL's host and port lead: --connect-to, then --resolve, an
 * address literal, or the system resolver (/etc/hosts, DNS). */
static int resolve(const struct opts *o, const struct tools_fetch_url *u, struct addr_list *al,
		   struct result *r)
{
	struct tools_fetch_route rt;
	tools_fetch_url_route(u, o->connect_to, o->num_connect_to, o->resolve, o->num_resolve, &rt);
	const char *host = rt.host;
	unsigned port = rt.port;
	al->n = 0;
	if (rt.fixed) {
		memcpy(&al->a[0], &rt.fixed->addr, rt.fixed->addr_len);
		al->len[0] = rt.fixed->addr_len;
		set_port(&al->a[0], port);
		al->n = 1;
		return 0;
	}
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", port);
	int rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0)
		return set_fail(r, FAIL_RESOLVE,
				"%s does not resolve (%s); add it to /etc/hosts or use "
				"--resolve %s:%u:ADDR",
				host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc), host,
				u->port);
	for (struct addrinfo *ai = res; ai && al->n < FETCH_ADDRS_MAX; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(al->a[0]))
			continue;
		memcpy(&al->a[al->n], ai->ai_addr, ai->ai_addrlen);
		al->len[al->n++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (al->n == 0)
		return set_fail(r, FAIL_RESOLVE, "%s has no IPv4 or IPv6 address", host);
	return 0;
}

/* Tries each address in turn, like curl without happy eyeballs. */
static int connect_any(struct conn *c, const struct addr_list *al, struct result *r, bool verbose)
{
	char where[sizeof(r->peer)];
	for (size_t i = 0; i < al->n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&al->a[i];
		addr_text(sa, where, sizeof(where));
		if (verbose)
			fprintf(stderr, "* connecting to %s\n", where);
		int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			set_fail(r, FAIL_LOCAL, "socket: %s", strerror(errno));
			continue;
		}
		int rc = connect(fd, sa, al->len[i]) == 0 ? 0 : -errno;
		if (rc == -EINPROGRESS) {
			rc = wait_fd(fd, POLLOUT, c->deadline);
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0)
				rc = -soerr;
		}
		if (rc == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			c->fd = fd;
			snprintf(r->peer, sizeof(r->peer), "%s", where);
			return 0;
		}
		close(fd);
		if (rc == -ETIMEDOUT)
			return set_fail(r, FAIL_TIMEOUT, "connect to %s: timed out after %g s",
					where, c->timeout_s);
		set_fail(r, FAIL_CONNECT, "connect to %s: %s", where, strerror(-rc));
		if (verbose)
			fprintf(stderr, "* %s\n", r->msg);
	}
	return -1;
}

/* Why the handshake failed, in one line, with the OpenSSL reason. */
static void tls_failure(struct conn *c, int ssl_err, bool psk, const char *where, struct result *r)
{
	unsigned long e = ERR_peek_last_error();
	int reason = ERR_GET_REASON(e);
	long vr = SSL_get_verify_result(c->ssl);
	char text[256];
	if (e && reason == SSL_R_CERTIFICATE_VERIFY_FAILED && psk)
		snprintf(text, sizeof(text),
			 "the server did not take the PSK and sent a certificate instead");
	else if (e && reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
		snprintf(text, sizeof(text), "certificate verify failed: %s",
			 X509_verify_cert_error_string(vr));
	else if (e && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		snprintf(text, sizeof(text), "the server closed the connection");
	else if (e && ERR_reason_error_string(e))
		snprintf(text, sizeof(text), "%s", ERR_reason_error_string(e));
	else if (e)
		ERR_error_string_n(e, text, sizeof(text));
	else if (ssl_err == SSL_ERROR_SYSCALL && errno)
		snprintf(text, sizeof(text), "%s", strerror(errno));
	else
		snprintf(text, sizeof(text), "the server closed the connection");
	ERR_clear_error();
	set_fail(r, FAIL_TLS, "TLS handshake with %s failed: %s", where, text);
}

static int tls_handshake(struct conn *c, const struct client *cl, const struct tools_fetch_url *u,
			 struct result *r, bool verbose, SSL_SESSION **sess)
{
	const struct opts *o = cl->o;
	c->ssl = SSL_new(cl->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		return set_fail(r, FAIL_LOCAL, "cannot create a TLS connection");
	if (sess && (!SSL_set_ex_data(c->ssl, sess_ex_index, sess) ||
		     (*sess && !SSL_set_session(c->ssl, *sess))))
		return set_fail(r, FAIL_LOCAL, "cannot offer the previous TLS session");
	if (!o->has_psk && !o->insecure) {
		/* The name checked is the URL's, wherever --resolve or
		 * --connect-to sent the socket; SNI carries names only (RFC
		 * 6066 §3). */
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		int ok = u->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, u->host)
				       : X509_VERIFY_PARAM_set1_host(vp, u->host, 0);
		if (!ok)
			return set_fail(r, FAIL_LOCAL, "cannot set the name to verify");
	}
	if (!u->host_is_ip && !SSL_set_tlsext_host_name(c->ssl, u->host))
		return set_fail(r, FAIL_LOCAL, "cannot set the server name");
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int rc = SSL_connect(c->ssl);
		if (rc == 1)
			break;
		int e = SSL_get_error(c->ssl, rc);
		int w;
		if (e == SSL_ERROR_WANT_READ)
			w = wait_fd(c->fd, POLLIN, c->deadline);
		else if (e == SSL_ERROR_WANT_WRITE)
			w = wait_fd(c->fd, POLLOUT, c->deadline);
		else {
			tls_failure(c, e, o->has_psk, r->peer, r);
			return -1;
		}
		if (w == -ETIMEDOUT)
			return set_fail(r, FAIL_TIMEOUT,
					"TLS handshake with %s: timed out after %g s", r->peer,
					c->timeout_s);
		if (w)
			return set_fail(r, FAIL_IO, "TLS handshake with %s: %s", r->peer,
					strerror(-w));
	}
	r->resumed = SSL_session_reused(c->ssl) == 1;
	if (verbose) {
		fprintf(stderr, "* %s %s, %s \"%s\"\n", SSL_get_version(c->ssl),
			SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)),
			o->has_psk ? "PSK identity" : "certificate verified for",
			o->has_psk ? o->psk_identity : u->host);
	}
	return 0;
}

/* Writes all of p; 0 or -1 with r set. */
static int conn_write(struct conn *c, const uint8_t *p, size_t len, struct result *r)
{
	while (len) {
		size_t n = 0;
		int w = 0;
		if (c->ssl) {
			ERR_clear_error();
			if (SSL_write_ex(c->ssl, p, len, &n) != 1) {
				int e = SSL_get_error(c->ssl, 0);
				if (e == SSL_ERROR_WANT_WRITE)
					w = wait_fd(c->fd, POLLOUT, c->deadline);
				else if (e == SSL_ERROR_WANT_READ)
					w = wait_fd(c->fd, POLLIN, c->deadline);
				else {
					char err[256];
					openssl_errors(err, sizeof(err));
					return set_fail(r, FAIL_IO, "sending the request to %s: %s",
							r->peer, err[0] ? err : strerror(errno));
				}
			}
		} else {
			ssize_t k = send(c->fd, p, len, MSG_NOSIGNAL);
			if (k >= 0)
				n = (size_t)k;
			else if (errno == EAGAIN || errno == EWOULDBLOCK)
				w = wait_fd(c->fd, POLLOUT, c->deadline);
			else if (errno != EINTR)
				return set_fail(r, FAIL_IO, "sending the request to %s: %s",
						r->peer, strerror(errno));
		}
		if (w == -ETIMEDOUT)
			return set_fail(r, FAIL_TIMEOUT,
					"sending the request to %s: timed out "
					"after %g s",
					r->peer, c->timeout_s);
		if (w)
			return set_fail(r, FAIL_IO, "sending the request to %s: %s", r->peer,
					strerror(-w));
		p += n;
		len -= n;
	}
	return 0;
}

/* Reads some bytes: 0 with *n > 0, 0 with *n == 0 at the end of the
 * stream, or -1 with r set. */
static int conn_read(struct conn *c, uint8_t *p, size_t cap, size_t *n, struct result *r)
{
	for (;;) {
		int w = 0;
		*n = 0;
		if (c->ssl) {
			ERR_clear_error();
			errno = 0;
			if (SSL_read_ex(c->ssl, p, cap, n) == 1)
				return 0;
			int e = SSL_get_error(c->ssl, 0);
			unsigned long err = ERR_peek_last_error();
			if (e == SSL_ERROR_ZERO_RETURN ||
			    (e == SSL_ERROR_SSL &&
			     ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
			    (e == SSL_ERROR_SYSCALL && errno == 0)) {
				/* A close without close_notify is taken as the end:
				 * the HTTP framing still tells a cut body. */
				ERR_clear_error();
				return 0;
			}
			if (e == SSL_ERROR_WANT_READ)
				w = wait_fd(c->fd, POLLIN, c->deadline);
			else if (e == SSL_ERROR_WANT_WRITE)
				w = wait_fd(c->fd, POLLOUT, c->deadline);
			else {
				char text[256];
				openssl_errors(text, sizeof(text));
				return set_fail(r, FAIL_IO, "reading the response from %s: %s",
						r->peer, text[0] ? text : strerror(errno));
			}
		} else {
			ssize_t k = recv(c->fd, p, cap, 0);
			if (k >= 0) {
				*n = (size_t)k;
				return 0;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				w = wait_fd(c->fd, POLLIN, c->deadline);
			else if (errno != EINTR)
				return set_fail(r, FAIL_IO, "reading the response from %s: %s",
						r->peer, strerror(errno));
		}
		if (w == -ETIMEDOUT)
			return set_fail(r, FAIL_TIMEOUT,
					"waiting for the response from %s: timed "
					"out after %g s",
					r->peer, c->timeout_s);
		if (w)
			return set_fail(r, FAIL_IO, "reading the response from %s: %s", r->peer,
					strerror(-w));
	}
}

static void conn_close(struct conn *c)
{
	if (c->ssl) {
		/* close_notify, without waiting for the server's. */
		ERR_clear_error();
		SSL_shutdown(c->ssl);
		ERR_clear_error();
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

/* Prints a head with a prefix per line, from its raw bytes. */
static void print_head(const char *prefix, const uint8_t *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const uint8_t *lf = memchr(p + i, '\n', len - i);
		size_t n = lf ? (size_t)(lf - (p + i)) : len - i;
		size_t shown = n && p[i + n - 1] == '\r' ? n - 1 : n;
		if (shown == 0)
			break;
		fprintf(stderr, "%s%.*s\n", prefix, (int)shown, (const char *)(p + i));
		i += n + 1;
	}
}

static int print_resp_head(void *arg, const struct scws_http_resp *resp)
{
	(void)arg;
	fprintf(stderr, "< HTTP/1.%d %d %.*s\n", resp->minor_version, resp->status,
		(int)resp->reason.len, (const char *)resp->reason.ptr);
	for (size_t i = 0; i < resp->num_headers; i++)
		fprintf(stderr, "< %.*s: %.*s\n", (int)resp->headers[i].name.len,
			(const char *)resp->headers[i].name.ptr, (int)resp->headers[i].value.len,
			(const char *)resp->headers[i].value.ptr);
	return 0;
}

/* The request: a multipart/form-data POST (or a GET) with Connection:
 * close, since a handset fetches once per connection. *form_len is the
 * size of the form at the end of req. */
static int build_request(const struct opts *o, const struct tools_fetch_url *u, struct buf *req,
			 size_t *form_len, struct result *r)
{
	struct buf form;
	char boundary[SCWS_HTTP_FORM_BOUNDARY_LEN + 1], ct[128];
	char *pass64 = NULL;
	int rc = 0;
	buf_init(&form, HTTP_BODY_MAX);
	struct scws_http_request hr = {
		.method = o->is_get ? SCWS_HTTP_GET : SCWS_HTTP_POST,
		.target = u->target,
		.host = u->authority,
		.user_agent = PROG "/" PACKAGE_VERSION,
		.accept = WBXML_TYPE ", " XML_TYPE,
		.close = true,
	};
	struct scws_http_form_field f[4];
	size_t nf = 0;
	if (!o->is_get) {
		if (!o->no_devid)
			f[nf++] = (struct scws_http_form_field){ "devid", o->devid,
								 strlen(o->devid) };
		if (o->username)
			f[nf++] = (struct scws_http_form_field){ "username", o->username,
								 strlen(o->username) };
		if (o->passphrase) {
			/* RFC 4648 §4 base64 with padding, no line breaks. */
			size_t plen = strlen(o->passphrase);
			pass64 = malloc(4 * ((plen + 2) / 3) + 1);
			if (!pass64) {
				rc = set_fail(r, FAIL_LOCAL, "out of memory");
				goto out;
			}
			int n = EVP_EncodeBlock((unsigned char *)pass64,
						(const unsigned char *)o->passphrase, (int)plen);
			while (o->unpadded && n > 0 && pass64[n - 1] == '=')
				pass64[--n] = 0; /* misbehaving on purpose */
			f[nf++] = (struct scws_http_form_field){ "passphrase", pass64, (size_t)n };
		}
		if (o->push_address)
			f[nf++] = (struct scws_http_form_field){ "push-address", o->push_address,
								 strlen(o->push_address) };
		/* A value holding "--boundary" needs another boundary; 128
		 * random bits make a second clash beyond belief. */
		for (int tries = 0; tries < 4; tries++) {
			rc = scws_http_form_boundary(boundary, sizeof(boundary));
			if (!rc)
				rc = scws_http_form_write(&form, boundary, f, nf);
			if (rc != -EEXIST)
				break;
		}
		if (rc) {
			rc = set_fail(r, FAIL_LOCAL, "cannot write the form: %s", strerror(-rc));
			goto out;
		}
		hr.content_type = scws_http_form_content_type(boundary, ct, sizeof(ct));
		hr.body = form.p;
		hr.body_len = form.len;
	}
	rc = scws_http_request_write(req, &hr);
	if (rc) {
		rc = set_fail(r, FAIL_LOCAL, "cannot write the request: %s", strerror(-rc));
		goto out;
	}
	*form_len = form.len;
out:
	if (pass64)
		OPENSSL_cleanse(pass64, strlen(pass64));
	free(pass64);
	buf_cleanup(&form);
	return rc;
}

/* The request head as sent, then the form fields, the passphrase by its
 * length only. */
static void print_request(const struct opts *o, const struct buf *req, size_t form_len)
{
	print_head("> ", req->p, req->len - form_len);
	fprintf(stderr, ">\n");
	if (o->is_get)
		return;
	fprintf(stderr, "> [multipart/form-data, %zu bytes]\n", form_len);
	fprintf(stderr, ">   devid: %s\n", o->devid);
	if (o->username)
		fprintf(stderr, ">   username: %s\n", o->username);
	if (o->passphrase)
		fprintf(stderr, ">   passphrase: <%zu bytes>\n", strlen(o->passphrase));
	if (o->push_address)
		fprintf(stderr, ">   push-address: %s\n", o->push_address);
}

/* One bootstrap fetch on a new connection. 0 when an HTTP response came
 * (any status), -1 with r->kind and r->msg otherwise. r->body must be
 * initialised by the caller. */
/* sess: NULL, or the worker's session slot (--resume): offered, and
 * replaced by the one the server gives. */
int fetch_once(const struct client *cl, const struct tools_fetch_url *u, struct result *r,
	       bool verbose, SSL_SESSION **sess)
{
	const struct opts *o = cl->o;
	struct conn c = { .fd = -1, .ssl = NULL };
	struct buf req;
	struct scws_http_resp_parser p;
	struct scws_http_resp_callbacks cb = { verbose ? print_resp_head : NULL, NULL };
	uint8_t in[16384];
	struct addr_list al;
	size_t form_len = 0;
	int rc;

	r->kind = FAIL_NONE;
	r->msg[0] = 0;
	r->status = 0;
	r->peer[0] = 0;
	r->resumed = false;
	buf_reset(&r->body);
	buf_init(&req, HTTP_BODY_MAX + HTTP_HEAD_MAX);
	scws_http_resp_parser_init(&p, &cb, NULL);
	scws_http_resp_parser_expect(&p, o->is_get ? SCWS_HTTP_GET : SCWS_HTTP_POST);
	double t0 = fetch_now_s();
	c.timeout_s = o->timeout_ms / 1000.0;
	c.deadline = fetch_now_ms() + o->timeout_ms;

	rc = build_request(o, u, &req, &form_len, r);
	if (rc == 0)
		rc = resolve(o, u, &al, r);
	if (rc == 0)
		rc = connect_any(&c, &al, r, verbose);
	if (rc == 0 && u->is_https)
		rc = tls_handshake(&c, cl, u, r, verbose, sess);
	if (rc == 0 && verbose)
		print_request(o, &req, form_len);
	if (rc == 0)
		rc = conn_write(&c, req.p, req.len, r);
	while (rc == 0) {
		size_t n, used;
		rc = conn_read(&c, in, sizeof(in), &n, r);
		if (rc)
			break;
		int prc = n ? scws_http_resp_parser_feed(&p, in, n, &used)
			    : scws_http_resp_parser_eof(&p);
		if (prc == -EAGAIN && n)
			continue;
		if (prc == 0)
			break;
		rc = set_fail(r, FAIL_PROTO, "bad response from %s: %s", r->peer,
			      prc == -EAGAIN ? "connection closed"
					     : scws_http_resp_parser_reason(&p));
	}
	if (rc == 0) {
		const struct scws_http_resp *resp = scws_http_resp_parser_resp(&p);
		struct bytes b = scws_http_resp_parser_body(&p);
		r->status = resp->status;
		snprintf(r->reason, sizeof(r->reason), "%.*s", (int)resp->reason.len,
			 (const char *)resp->reason.ptr);
		snprintf(r->content_type, sizeof(r->content_type), "%.*s",
			 (int)resp->content_type.len, (const char *)resp->content_type.ptr);
		if (buf_append(&r->body, b.ptr, b.len))
			rc = set_fail(r, FAIL_LOCAL, "out of memory");
	}
	r->ms = (fetch_now_s() - t0) * 1000.0;
	if (rc == 0 && verbose)
		fprintf(stderr, "* %zu bytes of %s in %.1f ms\n", r->body.len,
			r->content_type[0] ? r->content_type : "(no type)", r->ms);
	conn_close(&c);
	scws_http_resp_parser_cleanup(&p);
	OPENSSL_cleanse(req.p, req.len);
	buf_cleanup(&req);
	return rc;
}
