/* fetch.h - scwsemu-fetch's parts: the options (fetch_main.c), one fetch
 * over TCP, TLS and HTTP (fetch_net.c), the load generator (fetch_load.c). */
#ifndef SCWS_TOOLS_FETCH_H
#define SCWS_TOOLS_FETCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "core/buf.h"
#include "core/limits.h"
#include "tools/fetch_url.h"

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

/* The command line, parsed. */
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
	bool resume; /* --resume: workers resume their TLS sessions */
	/* Misbehaviour on purpose, to show the verdict rules failing. */
	bool no_devid;    /* --no-devid */
	bool unpadded;    /* --unpadded-passphrase */
	bool plain;       /* --plain: HTTP without TLS, whatever the URL says */
	bool insecure;    /* --insecure: no certificate check */
	unsigned loop;    /* --loop N: the whole fetch N times */
	unsigned loop_ms; /* --loop-interval MS */
};

enum fail_kind {
	FAIL_NONE, /* an HTTP response came */
	FAIL_RESOLVE,
	FAIL_CONNECT,
	FAIL_TLS,
	FAIL_TIMEOUT,
	FAIL_IO,    /* the connection broke after it was up */
	FAIL_PROTO, /* the response is not valid HTTP/1.1 */
	FAIL_LOCAL, /* out of memory, a file, a socket */
	FAIL_KINDS,
};

extern const char *const fail_names[FAIL_KINDS];

/* One fetch's outcome. */
struct result {
	enum fail_kind kind;
	char msg[512];   /* what failed, for a person */
	int status;      /* the final HTTP status when kind == FAIL_NONE */
	char reason[64]; /* its reason phrase */
	char content_type[128];
	struct buf body;
	char peer[INET6_ADDRSTRLEN + 16]; /* "127.0.0.1 port 4116" */
	double ms;                        /* connect to the last response byte */
	bool resumed;                     /* the TLS handshake resumed a session */
};

/* r->msg from fmt, r->kind = kind; returns -1. */
__attribute__((format(printf, 3, 4))) int set_fail(struct result *r, enum fail_kind kind,
						   const char *fmt, ...);
int64_t fetch_now_ms(void);
double fetch_now_s(void);

/* The TLS client context of a run (shared by the load generator's workers). */
struct client {
	const struct opts *o;
	SSL_CTX *ctx; /* NULL for http:// */
};
/* 0, or -1 after printing why. https false: no TLS (http:// or --plain). */
int client_init(struct client *c, const struct opts *o, bool https);
void client_cleanup(struct client *c);
/* One request and its response into r (r->body owned by the caller): 0 when
 * an HTTP response came, -1 with r->kind and r->msg otherwise. */
int fetch_once(const struct client *cl, const struct tools_fetch_url *u, struct result *r,
	       bool verbose, SSL_SESSION **sess);

/* "scwsemu-fetch: MESSAGE" and the --help hint on stderr; EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int usage_error(const char *fmt, ...);

/* --concurrency N --requests M: the exit status. */
int run_load(const struct opts *o);

#endif
