/* fetch_main.c - scwsemu-fetch: the reference handset client for the OMA DM
 * bootstrap fallback over a Smart Card Web Server (https://{SCWS@}/OMA/DM/
 * Bootstrap.xml, doc/protocol.md §2.1; the form of RFC 7578, §6), and the load
 * generator of the benchmarks.
 *
 * One request per connection, as a handset fetches a bootstrap: TCP, a
 * full TLS handshake (no session is ever reused), the request written by
 * scws/http_resp.c, the response read by its parser. Sockets are
 * non-blocking only so that every step honours one deadline; the load
 * generator runs one such client per thread. */
#include "config.h"

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

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_NOT_FOUND 3
#define EXIT_REFUSED 4

#define PROG "scwsemu-fetch"
#define DEFAULT_URL "https://127.0.0.1:4116/OMA/DM/Bootstrap.xml"
#define DEFAULT_DEVID "IMEI:493005100592800"
#define WBXML_TYPE "application/vnd.syncml.dm+wbxml"
#define XML_TYPE "application/vnd.syncml.dm+xml"

/* The order a DM client tries the SCWS (OMA DM Bootstrap,
 * doc/protocol.md §2.1): BIP over IPv4, BIP over IPv6, then TCP/IP (ETSI TS 102 483). */
static const char *const auto_urls[] = {
	"https://127.0.0.1:4116/OMA/DM/Bootstrap.xml",
	"https://[::1]:4116/OMA/DM/Bootstrap.xml",
	"https://localuicc:443/OMA/DM/Bootstrap.xml",
};

static const char usage_text[] =
	"Usage: " PROG " [URL] [options]\n"
	"Fetch the DM bootstrap from a Smart Card Web Server as a handset does.\n"
	"URL defaults to " DEFAULT_URL ".\n"
	"\n"
	"  --auto                  try https://127.0.0.1:4116, https://[::1]:4116 and\n"
	"                          https://localuicc:443 in that order\n"
	"  --get                   GET instead of the multipart/form-data POST\n"
	"  --devid ID              devid field (default " DEFAULT_DEVID ")\n"
	"  --username U            username field\n"
	"  --passphrase P          passphrase, sent base64-encoded (RFC 4648)\n"
	"  --push-address URI      push-address field\n"
	"  --cacert FILE           certificate TLS, trusting FILE (default: the test CA\n"
	"                          pki/scws-ca.crt)\n"
	"  --psk IDENTITY:HEXKEY   PSK TLS instead (TLS 1.2 PSK suites, TLS 1.3 external PSK)\n"
	"  --tls-min V, --tls-max V  TLS versions 1.0 .. 1.3 (default 1.2 .. 1.3)\n"
	"  --resolve HOST:PORT:ADDR  use ADDR for HOST and PORT (like curl)\n"
	"  --connect-to HOST1:PORT1:HOST2:PORT2  connect to HOST2:PORT2 for a URL naming\n"
	"                          HOST1:PORT1 (like curl; empty fields match any / keep)\n"
	"  -o, --output FILE       write the bootstrap to FILE instead of stdout\n"
	"  --xml                   decode a WBXML bootstrap to XML\n"
	"  --timeout SEC           per request, connect to last byte (default 10)\n"
	"  -v, --verbose           request and response heads on stderr\n"
	"\nMisbehaving on purpose (to see a verdict rule of scwsemu fail):\n"
	"  --no-devid              send the form without devid\n"
	"  --unpadded-passphrase   send the passphrase's base64 without '=' padding\n"
	"                          (--username without --passphrase: no passphrase at all)\n"
	"  --plain                 HTTP without TLS, also to an https:// URL's port\n"
	"  --insecure              do not check the server's certificate\n"
	"  --loop N                do the whole fetch N times, whatever the answer\n"
	"  --loop-interval MS      wait MS between two rounds of --loop (default 0)\n"
	"\n"
	"  --concurrency N --requests M  load generator: M requests over N workers,\n"
	"                          each on a new TLS connection; --json for machine output\n"
	"  --resume                load generator: each worker resumes its previous TLS\n"
	"                          session (TLS 1.2 session id or ticket, TLS 1.3 ticket)\n"
	"\n"
	"Exit status: 0 got the bootstrap, 3 none available (404), 4 refused (400, 403,\n"
	"other 4xx), 1 transport, TLS or server failure, 2 bad usage.\n";

/* ---------------------------------------------------------------- options */

struct opts {
	const char *url;
	bool is_auto;
	bool is_get;
	const char *devid;
	const char *username;
	const char *passphrase;
	const char *push_address;
	const char *cacert;
	bool has_psk;
	char psk_identity[TLS_PSK_IDENTITY_MAX + 1];
	uint8_t psk_key[TLS_PSK_KEY_MAX];
	size_t psk_key_len;
	int tls_min;
	int tls_max;
	struct tools_fetch_resolve resolve[FETCH_RESOLVE_MAX];
	size_t num_resolve;
	struct tools_fetch_connect_to connect_to[FETCH_RESOLVE_MAX];
	size_t num_connect_to;
	const char *output;
	bool want_xml;
	int timeout_ms;
	bool verbose;
	unsigned concurrency;
	unsigned long requests;
	bool is_load;
	bool want_json;
	bool resume;             /* --resume: workers resume their TLS sessions */
	/* Misbehaviour on purpose, to show the verdict rules failing. */
	bool no_devid;           /* --no-devid */
	bool unpadded;           /* --unpadded-passphrase */
	bool plain;              /* --plain: HTTP without TLS, whatever the URL says */
	bool insecure;           /* --insecure: no certificate check */
	unsigned loop;           /* --loop N: the whole fetch N times */
	unsigned loop_ms;        /* --loop-interval MS */
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	return EXIT_USAGE;
}

static int parse_tls_version(const char *s, int *v)
{
	static const struct {
		const char *name;
		int v;
	} versions[] = { { "1.0", TLS1_VERSION }, { "1.1", TLS1_1_VERSION },
			 { "1.2", TLS1_2_VERSION }, { "1.3", TLS1_3_VERSION } };
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (!strcmp(s, versions[i].name)) {
			*v = versions[i].v;
			return 0;
		}
	return -EINVAL;
}

static int parse_unsigned(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || s[0] < '0' || s[0] > '9' || v == 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ---------------------------------------------------------------- results */

enum fail_kind {
	FAIL_NONE,     /* an HTTP response came */
	FAIL_RESOLVE,
	FAIL_CONNECT,
	FAIL_TLS,
	FAIL_TIMEOUT,
	FAIL_IO,       /* the connection broke after it was up */
	FAIL_PROTO,    /* the response is not valid HTTP/1.1 */
	FAIL_LOCAL,    /* out of memory, a file, a socket */
	FAIL_KINDS,
};

static const char *const fail_names[FAIL_KINDS] = {
	[FAIL_NONE] = "none",       [FAIL_RESOLVE] = "resolve", [FAIL_CONNECT] = "connect",
	[FAIL_TLS] = "tls",         [FAIL_TIMEOUT] = "timeout", [FAIL_IO] = "io",
	[FAIL_PROTO] = "http-protocol", [FAIL_LOCAL] = "local",
};

struct result {
	enum fail_kind kind;
	char msg[512];              /* what failed, for a person */
	int status;                 /* the final HTTP status when kind == FAIL_NONE */
	char reason[64];            /* its reason phrase */
	char content_type[128];
	struct buf body;
	char peer[INET6_ADDRSTRLEN + 16]; /* "127.0.0.1 port 4116" */
	double ms;                  /* connect to the last response byte */
	bool resumed;               /* the TLS handshake resumed a session */
};

__attribute__((format(printf, 3, 4)))
static int set_fail(struct result *r, enum fail_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->kind = kind;
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- TLS setup */

struct client {
	const struct opts *o;
	SSL_CTX *ctx; /* NULL for http:// */
};

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
static int client_init(struct client *c, const struct opts *o, bool https)
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
		const char *list = legacy ? "PSK:ECDHE-PSK:DHE-PSK:@SECLEVEL=0"
					  : "PSK:ECDHE-PSK:DHE-PSK";
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

static void client_cleanup(struct client *c)
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
		int64_t left = deadline - now_ms();
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
	tools_fetch_url_route(u, o->connect_to, o->num_connect_to, o->resolve, o->num_resolve,
			      &rt);
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
static int connect_any(struct conn *c, const struct addr_list *al, struct result *r,
		       bool verbose)
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
static void tls_failure(struct conn *c, int ssl_err, bool psk, const char *where,
			struct result *r)
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
			return set_fail(r, FAIL_TIMEOUT, "sending the request to %s: timed out "
					"after %g s", r->peer, c->timeout_s);
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
			return set_fail(r, FAIL_TIMEOUT, "waiting for the response from %s: timed "
					"out after %g s", r->peer, c->timeout_s);
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
static int fetch_once(const struct client *cl, const struct tools_fetch_url *u, struct result *r,
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
	double t0 = now_s();
	c.timeout_s = o->timeout_ms / 1000.0;
	c.deadline = now_ms() + o->timeout_ms;

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
			      prc == -EAGAIN ? "connection closed" : scws_http_resp_parser_reason(&p));
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
	r->ms = (now_s() - t0) * 1000.0;
	if (rc == 0 && verbose)
		fprintf(stderr, "* %zu bytes of %s in %.1f ms\n", r->body.len,
			r->content_type[0] ? r->content_type : "(no type)", r->ms);
	conn_close(&c);
	scws_http_resp_parser_cleanup(&p);
	OPENSSL_cleanse(req.p, req.len);
	buf_cleanup(&req);
	return rc;
}

/* ---------------------------------------------------------------- single mode */

static bool type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	return !strncasecmp(ct, type, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

static int write_output(const struct opts *o, const uint8_t *p, size_t len)
{
	FILE *f = o->output ? fopen(o->output, "wb") : stdout;
	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", o->output, strerror(errno));
		return EXIT_FAIL;
	}
	bool ok = (len == 0 || fwrite(p, 1, len, f) == len);
	ok = (o->output ? fclose(f) == 0 : fflush(f) == 0) && ok;
	if (!ok) {
		fprintf(stderr, PROG ": %s: %s\n", o->output ? o->output : "stdout",
			strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The answer of a fetch that got a response, as an exit status. */
static int finish_fetch(const struct opts *o, const struct result *r)
{
	if (r->status == 200) {
		if (!o->want_xml || !type_is(r->content_type, WBXML_TYPE))
			return write_output(o, r->body.p, r->body.len);
		struct buf xml;
		char err[256];
		buf_init(&xml, SCWS_CONVERT_MAX);
		int rc = codec_wbxml_decode(r->body.p, r->body.len, &xml, err, sizeof(err));
		if (rc) {
			fprintf(stderr, PROG ": the bootstrap is not valid WBXML: %s\n", err);
			buf_cleanup(&xml);
			return EXIT_FAIL;
		}
		rc = write_output(o, xml.p, xml.len);
		buf_cleanup(&xml);
		return rc;
	}
	/* The server's error bodies are one text line: show it. */
	int n = 0;
	if (type_is(r->content_type, "text/plain"))
		while ((size_t)n < r->body.len && n < 300 && r->body.p[n] >= 0x20 &&
		       r->body.p[n] < 0x7F)
			n++;
	fprintf(stderr, PROG ": %d %s%s%.*s\n", r->status, r->reason, n ? ": " : "", n,
		(const char *)r->body.p);
	if (r->status == 404)
		return EXIT_NOT_FOUND;
	if (r->status >= 400 && r->status < 500)
		return EXIT_REFUSED;
	return EXIT_FAIL;
}

static int run_single(const struct opts *o)
{
	const char *one[1] = { o->url };
	const char *const *urls = o->is_auto ? auto_urls : one;
	size_t nurls = o->is_auto ? sizeof(auto_urls) / sizeof(auto_urls[0]) : 1;
	struct tools_fetch_url u[3];
	bool https = false;
	for (size_t i = 0; i < nurls; i++) {
		if (tools_fetch_url_parse(urls[i], &u[i]))
			return usage_error("not an http:// or https:// URL: %s", urls[i]);
		if (o->plain)
			u[i].is_https = false;
		https = https || u[i].is_https;
	}
	struct client cl;
	int rc = client_init(&cl, o, https);
	if (rc) {
		client_cleanup(&cl);
		return rc;
	}
	struct result r;
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, HTTP_RESP_BODY_MAX);
	rc = EXIT_FAIL;
	for (unsigned round = 0; round < (o->loop ? o->loop : 1); round++) {
	if (round) {
		struct timespec ts = { o->loop_ms / 1000, (long)(o->loop_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		buf_reset(&r.body);
		rc = EXIT_FAIL;
	}
	for (size_t i = 0; i < nurls; i++) {
		if (fetch_once(&cl, &u[i], &r, o->verbose, NULL) == 0) {
			if (o->is_auto)
				fprintf(stderr, PROG ": %s answered (connected to %s)\n", u[i].text,
					r.peer);
			rc = finish_fetch(o, &r);
			break;
		}
		fprintf(stderr, PROG ": %s: %s\n", u[i].text, r.msg);
		if (o->is_auto && i + 1 == nurls)
			fprintf(stderr, PROG ": no SCWS answered\n");
	}
	}
	buf_cleanup(&r.body);
	client_cleanup(&cl);
	return rc;
}

/* ---------------------------------------------------------------- load mode */

struct sample {
	double ms;
	int status;
	enum fail_kind kind;
	bool resumed;
};

struct load {
	const struct client *cl;
	const struct tools_fetch_url *u;
	atomic_ulong next;
	unsigned long total;
	struct sample *samples;
};

static void *load_worker(void *arg)
{
	struct load *l = arg;
	struct result r;
	SSL_SESSION *sess = NULL; /* --resume: this worker's last session */
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, HTTP_RESP_BODY_MAX);
	for (;;) {
		unsigned long i = atomic_fetch_add(&l->next, 1);
		if (i >= l->total)
			break;
		fetch_once(l->cl, l->u, &r, false, l->cl->o->resume ? &sess : NULL);
		l->samples[i].ms = r.ms;
		l->samples[i].kind = r.kind;
		l->samples[i].status = r.kind == FAIL_NONE ? r.status : 0;
		l->samples[i].resumed = r.resumed;
	}
	SSL_SESSION_free(sess);
	buf_cleanup(&r.body);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n), n > 0. */
static double percentile(const double *v, size_t n, unsigned pct)
{
	size_t rank = (pct * n + 99) / 100;
	return v[rank ? rank - 1 : 0];
}

/* Error kinds and non-200 statuses with their counts, as "name N" pairs. */
struct tally {
	char name[32];
	unsigned long n;
};

static void count(struct tally *t, size_t *nt, size_t cap, const char *name)
{
	for (size_t i = 0; i < *nt; i++)
		if (!strcmp(t[i].name, name)) {
			t[i].n++;
			return;
		}
	if (*nt < cap) {
		snprintf(t[*nt].name, sizeof(t[0].name), "%s", name);
		t[(*nt)++].n = 1;
	}
}

static int run_load(const struct opts *o)
{
	struct tools_fetch_url u;
	if (tools_fetch_url_parse(o->url, &u))
		return usage_error("not an http:// or https:// URL: %s", o->url);
	struct client cl;
	int rc = client_init(&cl, o, u.is_https);
	if (rc) {
		client_cleanup(&cl);
		return rc;
	}
	struct load l = { .cl = &cl, .u = &u, .total = o->requests };
	atomic_init(&l.next, 0);
	l.samples = calloc(o->requests, sizeof(*l.samples));
	pthread_t *threads = calloc(o->concurrency, sizeof(*threads));
	double *ms = calloc(o->requests, sizeof(*ms));
	if (!l.samples || !threads || !ms) {
		fprintf(stderr, PROG ": out of memory\n");
		rc = EXIT_FAIL;
		goto out;
	}
	unsigned started = 0;
	double t0 = now_s();
	for (; started < o->concurrency; started++)
		if (pthread_create(&threads[started], NULL, load_worker, &l) != 0)
			break;
	if (started == 0) {
		fprintf(stderr, PROG ": cannot start a worker thread\n");
		rc = EXIT_FAIL;
		goto out;
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	double elapsed = now_s() - t0;

	/* Latency counts every request that got an HTTP answer, whatever its
	 * status; transport failures have none to measure. */
	size_t nms = 0;
	unsigned long ok = 0, resumed = 0;
	struct tally errs[FAIL_KINDS + 32];
	size_t nerr = 0;
	for (unsigned long i = 0; i < o->requests; i++) {
		const struct sample *s = &l.samples[i];
		if (s->kind == FAIL_NONE)
			ms[nms++] = s->ms;
		resumed += s->resumed;
		if (s->kind == FAIL_NONE && s->status == 200) {
			ok++;
		} else if (s->kind == FAIL_NONE) {
			char name[32];
			snprintf(name, sizeof(name), "http %d", s->status);
			count(errs, &nerr, sizeof(errs) / sizeof(errs[0]), name);
		} else {
			count(errs, &nerr, sizeof(errs) / sizeof(errs[0]), fail_names[s->kind]);
		}
	}
	qsort(ms, nms, sizeof(*ms), cmp_double);
	double rps = elapsed > 0 ? (double)nms / elapsed : 0;
	double p50 = nms ? percentile(ms, nms, 50) : 0, p90 = nms ? percentile(ms, nms, 90) : 0;
	double p99 = nms ? percentile(ms, nms, 99) : 0, max = nms ? ms[nms - 1] : 0;
	const char *mode = !u.is_https ? "no TLS" : o->has_psk ? "PSK TLS" : "certificate TLS";
	if (o->want_json) {
		printf("{\"url\": ");
		json_fput_str(stdout, u.text);
		printf(", \"tls\": \"%s\", \"requests\": %lu, \"concurrency\": %u, \"ok\": %lu, "
		       "\"answered\": %zu, \"seconds\": %.3f, \"requests_per_second\": %.1f, "
		       "\"latency_ms\": {\"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, "
		       "\"max\": %.2f}, \"resumed\": %lu, \"errors\": {",
		       u.is_https ? (o->has_psk ? "psk" : "certificate") : "none", o->requests,
		       o->concurrency, ok, nms, elapsed, rps, p50, p90, p99, max, resumed);
		for (size_t i = 0; i < nerr; i++) {
			printf("%s", i ? ", " : "");
			json_fput_str(stdout, errs[i].name);
			printf(": %lu", errs[i].n);
		}
		printf("}}\n");
	} else {
		printf("%lu requests to %s, %u at a time, each on a new connection (%s)\n",
		       o->requests, u.text, o->concurrency, mode);
		printf("ok: %lu, errors: %lu\n", ok, o->requests - ok);
		if (o->resume)
			printf("TLS sessions resumed: %lu of %lu\n", resumed, o->requests);
		printf("time: %.3f s, %.1f requests/s\n", elapsed, rps);
		if (nms)
			printf("latency ms: p50 %.2f, p90 %.2f, p99 %.2f, max %.2f\n", p50, p90,
			       p99, max);
		if (nerr) {
			printf("errors by kind:");
			for (size_t i = 0; i < nerr; i++)
				printf("%s %s %lu", i ? "," : "", errs[i].name, errs[i].n);
			printf("\n");
		}
	}
	fflush(stdout);
	rc = ok == o->requests ? EXIT_OK : EXIT_FAIL;
out:
	free(ms);
	free(threads);
	free(l.samples);
	client_cleanup(&cl);
	return rc;
}

/* ---------------------------------------------------------------- main */

enum {
	OPT_AUTO = 256,
	OPT_GET,
	OPT_DEVID,
	OPT_USERNAME,
	OPT_PASSPHRASE,
	OPT_PUSH,
	OPT_CACERT,
	OPT_PSK,
	OPT_RESOLVE,
	OPT_CONNECT_TO,
	OPT_XML,
	OPT_TIMEOUT,
	OPT_CONCURRENCY,
	OPT_REQUESTS,
	OPT_JSON,
	OPT_RESUME,
	OPT_TLS_MIN,
	OPT_TLS_MAX,
	OPT_NO_DEVID,
	OPT_UNPADDED,
	OPT_PLAIN,
	OPT_INSECURE,
	OPT_LOOP,
	OPT_LOOP_INTERVAL,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "auto", no_argument, NULL, OPT_AUTO },
	{ "get", no_argument, NULL, OPT_GET },
	{ "devid", required_argument, NULL, OPT_DEVID },
	{ "username", required_argument, NULL, OPT_USERNAME },
	{ "passphrase", required_argument, NULL, OPT_PASSPHRASE },
	{ "push-address", required_argument, NULL, OPT_PUSH },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "psk", required_argument, NULL, OPT_PSK },
	{ "resolve", required_argument, NULL, OPT_RESOLVE },
	{ "connect-to", required_argument, NULL, OPT_CONNECT_TO },
	{ "output", required_argument, NULL, 'o' },
	{ "xml", no_argument, NULL, OPT_XML },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "requests", required_argument, NULL, OPT_REQUESTS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "tls-min", required_argument, NULL, OPT_TLS_MIN },
	{ "tls-max", required_argument, NULL, OPT_TLS_MAX },
	{ "no-devid", no_argument, NULL, OPT_NO_DEVID },
	{ "unpadded-passphrase", no_argument, NULL, OPT_UNPADDED },
	{ "plain", no_argument, NULL, OPT_PLAIN },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "loop", required_argument, NULL, OPT_LOOP },
	{ "loop-interval", required_argument, NULL, OPT_LOOP_INTERVAL },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* IDENTITY:HEXKEY, the key after the last ':'. */
static int parse_psk(const char *s, struct opts *o)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || (size_t)(colon - s) > TLS_PSK_IDENTITY_MAX)
		return usage_error("--psk wants IDENTITY:HEXKEY");
	memcpy(o->psk_identity, s, (size_t)(colon - s));
	o->psk_identity[colon - s] = 0;
	if (hex_decode(colon + 1, o->psk_key, sizeof(o->psk_key), &o->psk_key_len) ||
	    o->psk_key_len == 0)
		return usage_error("--psk: the key must be 1 to %u bytes of hex", TLS_PSK_KEY_MAX);
	o->has_psk = true;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	unsigned long v;
	bool has_concurrency = false, has_requests = false;
	memset(o, 0, sizeof(*o));
	o->devid = DEFAULT_DEVID;
	o->timeout_ms = 10000;
	o->tls_min = TLS1_2_VERSION;
	o->tls_max = TLS1_3_VERSION;
	o->concurrency = 1;
	o->requests = 100;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:v", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_AUTO: o->is_auto = true; break;
		case OPT_GET: o->is_get = true; break;
		case OPT_DEVID: o->devid = optarg; break;
		case OPT_USERNAME: o->username = optarg; break;
		case OPT_PASSPHRASE: o->passphrase = optarg; break;
		case OPT_PUSH: o->push_address = optarg; break;
		case OPT_CACERT: o->cacert = optarg; break;
		case OPT_PSK:
			if (parse_psk(optarg, o))
				return EXIT_USAGE;
			break;
		case OPT_RESOLVE:
			if (o->num_resolve == FETCH_RESOLVE_MAX)
				return usage_error("more than %u --resolve", FETCH_RESOLVE_MAX);
			if (tools_fetch_url_parse_resolve(optarg, &o->resolve[o->num_resolve++]))
				return usage_error("--resolve wants HOST:PORT:ADDR, ADDR numeric: %s",
						   optarg);
			break;
		case OPT_CONNECT_TO:
			if (o->num_connect_to == FETCH_RESOLVE_MAX)
				return usage_error("more than %u --connect-to", FETCH_RESOLVE_MAX);
			if (tools_fetch_url_parse_connect_to(optarg, &o->connect_to[o->num_connect_to++]))
				return usage_error("--connect-to wants HOST1:PORT1:HOST2:PORT2: %s",
						   optarg);
			break;
		case 'o': o->output = optarg; break;
		case OPT_XML: o->want_xml = true; break;
		case OPT_TIMEOUT: {
			char *end;
			errno = 0;
			double t = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(t > 0) || t > 3600)
				return usage_error("--timeout wants seconds, over 0 and up to 3600");
			o->timeout_ms = (int)(t * 1000 + 0.5);
			if (o->timeout_ms < 1)
				o->timeout_ms = 1;
			break;
		}
		case 'v': o->verbose = true; break;
		case OPT_CONCURRENCY:
			if (parse_unsigned(optarg, FETCH_CONCURRENCY_MAX, &v))
				return usage_error("--concurrency wants 1 to %u", FETCH_CONCURRENCY_MAX);
			o->concurrency = (unsigned)v;
			has_concurrency = true;
			break;
		case OPT_REQUESTS:
			if (parse_unsigned(optarg, FETCH_REQUESTS_MAX, &v))
				return usage_error("--requests wants 1 to %u", FETCH_REQUESTS_MAX);
			o->requests = v;
			has_requests = true;
			break;
		case OPT_JSON: o->want_json = true; break;
		case OPT_RESUME: o->resume = true; break;
		case OPT_TLS_MIN:
		case OPT_TLS_MAX:
			if (parse_tls_version(optarg, c == OPT_TLS_MIN ? &o->tls_min : &o->tls_max))
				return usage_error("TLS versions are 1.0, 1.1, 1.2 and 1.3");
			break;
		case OPT_NO_DEVID: o->no_devid = true; break;
		case OPT_UNPADDED: o->unpadded = true; break;
		case OPT_PLAIN: o->plain = true; break;
		case OPT_INSECURE: o->insecure = true; break;
		case OPT_LOOP:
		case OPT_LOOP_INTERVAL: {
			char *end;
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' ||
			    n > (c == OPT_LOOP ? 10000ul : 600000ul) || (c == OPT_LOOP && n == 0))
				return usage_error("%s %s: expected %s", argv[optind - 2], optarg,
						   c == OPT_LOOP ? "1..10000" : "0..600000 ms");
			if (c == OPT_LOOP)
				o->loop = (unsigned)n;
			else
				o->loop_ms = (unsigned)n;
			break;
		}
		case OPT_HELP: fputs(usage_text, stdout); return -1;
		case OPT_VERSION: puts(PROG " " PACKAGE_VERSION); return -1;
		case ':': return usage_error("%s needs a value", argv[optind - 1]);
		default: return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		o->url = argv[optind++];
	if (optind < argc)
		return usage_error("one URL at most (%s)", argv[optind]);
	if (o->url && o->is_auto)
		return usage_error("--auto tries its own URLs: give no URL");
	if (!o->url)
		o->url = DEFAULT_URL;
	if (o->cacert && o->has_psk)
		return usage_error("--cacert and --psk exclude each other");
	if (o->tls_min > o->tls_max)
		return usage_error("--tls-min is above --tls-max");
	o->is_load = has_concurrency || has_requests;
	if (o->is_load && o->is_auto)
		return usage_error("the load generator wants one URL, not --auto");
	if (o->is_load && (o->output || o->want_xml || o->verbose))
		return usage_error("-o, --xml and -v do not go with --concurrency/--requests");
	if (o->is_load && (o->loop || o->plain || o->insecure))
		return usage_error("--loop, --plain and --insecure do not go with the load generator");
	if (o->want_json && !o->is_load)
		return usage_error("--json goes with --concurrency/--requests");
	if (o->resume && !o->is_load)
		return usage_error("--resume goes with --concurrency/--requests");
	if (o->is_get && (o->username || o->passphrase || o->push_address))
		fprintf(stderr, PROG ": warning: --get sends no form fields\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct opts *o = malloc(sizeof(*o));
	if (!o) {
		fprintf(stderr, PROG ": out of memory\n");
		return EXIT_FAIL;
	}
	int rc = parse_args(argc, argv, o);
	if (rc) {
		free(o);
		return rc < 0 ? EXIT_OK : rc;
	}
	/* A server that resets the connection must not kill the client. */
	signal(SIGPIPE, SIG_IGN);
	rc = o->is_load ? run_load(o) : run_single(o);
	OPENSSL_cleanse(o->psk_key, sizeof(o->psk_key));
	free(o);
	return rc;
}
