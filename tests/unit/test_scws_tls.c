/* test_scws_tls.c - unit tests for src/scws/tls: whole handshakes in memory
 * between the engine and an OpenSSL client on its own memory BIOs
 * (RFC 5246, RFC 8446, RFC 4279). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/limits.h"
#include "helpers.h"
#include "runner.h"
#include "scws/tls.h"

#define PSK_ID "scws-test-id"
static const uint8_t psk_key[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
static const uint8_t bad_key[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xfe };

static const char http_req[] = "GET / HTTP/1.1\r\nHost: localuicc\r\n\r\n";
static const char http_resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

/* ---------------------------------------------------------------- server */

/* SRV_CERT_MEM: the certificate and key as bytes, as the card profile hands
 * them over, under file names that do not exist: a read would fail. */
enum srv_kind { SRV_CERT, SRV_PSK, SRV_BOTH, SRV_LEGACY, SRV_CERT_MEM };

static struct scws_tls_ctx *make_server(enum srv_kind kind)
{
	struct scws_tls_config cfg;
	struct scws_tls_ctx *ctx = NULL;
	char cert[4096], key[4096], err[256];

	scws_tls_config_init(&cfg);
	snprintf(cert, sizeof(cert), "%s", unit_srcpath("pki/scws-server.crt"));
	snprintf(key, sizeof(key), "%s", unit_srcpath("pki/scws-server.key"));
	if (kind == SRV_CERT || kind == SRV_BOTH) {
		cfg.cert_file = cert;
		cfg.key_file = key;
	}
	uint8_t *cert_pem = NULL, *key_pem = NULL;
	if (kind == SRV_CERT_MEM) {
		cert_pem = unit_read_file(cert, &cfg.cert_pem_len);
		key_pem = unit_read_file(key, &cfg.key_pem_len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cert_pem);
		CU_ASSERT_PTR_NOT_NULL_FATAL(key_pem);
		cfg.cert_pem = cert_pem;
		cfg.key_pem = key_pem;
		cfg.cert_file = "/nonexistent/scws-server.crt";
		cfg.key_file = "/nonexistent/scws-server.key";
	}
	if (kind != SRV_CERT && kind != SRV_CERT_MEM) {
		cfg.psk_identity = PSK_ID;
		cfg.psk_key = psk_key;
		cfg.psk_key_len = sizeof(psk_key);
	}
	if (kind == SRV_LEGACY) {
		/* What cards/legacy asks for. */
		cfg.min_version = TLS1_VERSION;
		cfg.max_version = TLS1_2_VERSION;
		cfg.cipher_list = "PSK-AES128-CBC-SHA:@SECLEVEL=0";
	}
	int rc = scws_tls_ctx_new(&cfg, &ctx, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		fprintf(stderr, "ctx: %s\n", err);
	free(cert_pem);
	free(key_pem);
	return ctx;
}

/* ---------------------------------------------------------------- client */

struct client_cfg {
	int min_version, max_version; /* 0 = OpenSSL's defaults */
	const char *cipher_list;
	const char *ciphersuites;
	bool seclevel0;     /* else OpenSSL's default level */
	bool verify;        /* against pki/scws-ca.crt, host localuicc */
	bool psk12;         /* TLS <= 1.2 PSK callback */
	bool psk13;         /* TLS 1.3 external PSK */
	const char *psk_id; /* NULL = PSK_ID */
	const uint8_t *key; /* 16 bytes; NULL = psk_key */
};

struct client {
	struct unit_psk psk;
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rbio, *wbio;
	const struct client_cfg *cfg;
	bool done, failed;
};

static int client_init(struct client *c, const struct client_cfg *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->psk.id = cfg->psk_id ? cfg->psk_id : PSK_ID;
	c->psk.key = cfg->key ? cfg->key : psk_key;
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx)
		return -1;
	if (cfg->seclevel0)
		SSL_CTX_set_security_level(c->ctx, 0);
	if (!SSL_CTX_set_min_proto_version(c->ctx, cfg->min_version) ||
	    !SSL_CTX_set_max_proto_version(c->ctx, cfg->max_version))
		return -1;
	if (cfg->cipher_list && SSL_CTX_set_cipher_list(c->ctx, cfg->cipher_list) != 1)
		return -1;
	if (cfg->ciphersuites && SSL_CTX_set_ciphersuites(c->ctx, cfg->ciphersuites) != 1)
		return -1;
	if (cfg->verify) {
		if (SSL_CTX_load_verify_locations(c->ctx, unit_srcpath("pki/scws-ca.crt"), NULL) !=
		    1)
			return -1;
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	}
	return unit_tls_client_new(c->ctx, cfg->verify, cfg->psk12 ? &c->psk : NULL,
				   cfg->psk13 ? &c->psk : NULL, &c->ssl, &c->rbio, &c->wbio);
}

static void client_cleanup(struct client *c)
{
	SSL_free(c->ssl); /* frees both BIOs */
	SSL_CTX_free(c->ctx);
	ERR_clear_error();
}

/* Client -> engine, `chunk` bytes per feed (0 = as much as it takes).
 * Returns bytes moved; stops when the engine takes no more. */
static size_t to_engine(struct client *c, struct scws_tls *t, size_t chunk)
{
	uint8_t tmp[4096];
	size_t moved = 0;
	int n;

	while ((n = BIO_read(c->wbio, tmp, (int)sizeof(tmp))) > 0) {
		size_t off = 0;
		while (off < (size_t)n) {
			size_t len = (size_t)n - off, used = 0;
			if (chunk && len > chunk)
				len = chunk;
			int rc = scws_tls_feed(t, tmp + off, len, &used);
			off += used;
			moved += used;
			if (rc || used == 0)
				return moved; /* failure, or full: the test reads first */
		}
	}
	return moved;
}

/* Engine output -> client, `chunk` bytes at a time (0 = all). */
static size_t to_client(struct client *c, struct scws_tls *t, size_t chunk)
{
	size_t moved = 0;
	struct bytes out;

	while ((out = scws_tls_output(t)).len) {
		size_t len = chunk && out.len > chunk ? chunk : out.len;
		CU_ASSERT_EQUAL_FATAL(BIO_write(c->rbio, out.ptr, (int)len), (int)len);
		scws_tls_output_consume(t, len);
		moved += len;
	}
	return moved;
}

static void client_step(struct client *c)
{
	if (c->done || c->failed)
		return;
	int rc = SSL_do_handshake(c->ssl);
	if (rc == 1)
		c->done = true;
	else if (SSL_get_error(c->ssl, rc) != SSL_ERROR_WANT_READ)
		c->failed = true;
	ERR_clear_error(); /* the engine's checks look at the same queue */
}

/* Runs the handshake until both sides finish or one fails. */
static void handshake(struct client *c, struct scws_tls *t, size_t chunk)
{
	for (int i = 0; i < 64; i++) {
		client_step(c);
		size_t moved = to_engine(c, t, chunk);
		moved += to_client(c, t, chunk);
		if (scws_tls_state(t) == SCWS_TLS_ST_FAILED) {
			client_step(c); /* let the client see the alert */
			return;
		}
		if (c->failed) {
			to_engine(c, t, chunk); /* and the engine the client's alert */
			return;
		}
		if (c->done && scws_tls_state(t) == SCWS_TLS_ST_OPEN)
			return;
		if (!moved && c->done)
			return;
	}
}

/* Reads all plaintext the engine has into out. */
static size_t engine_read_all(struct scws_tls *t, uint8_t *out, size_t cap, int *last)
{
	size_t total = 0, got;
	int rc;

	while (total < cap && (rc = scws_tls_read(t, out + total, cap - total, &got)) == 0)
		total += got;
	if (total == cap)
		rc = 0;
	*last = rc;
	return total;
}

/* GET in, response out, then the engine closes; checks every byte. */
static void roundtrip(struct client *c, struct scws_tls *t, size_t chunk)
{
	uint8_t buf[512];
	size_t used = 0, got = 0;
	int last;

	CU_ASSERT_EQUAL(SSL_write_ex(c->ssl, http_req, strlen(http_req), &used), 1);
	to_engine(c, t, chunk);
	size_t n = engine_read_all(t, buf, sizeof(buf), &last);
	CU_ASSERT_EQUAL(last, -EAGAIN);
	CU_ASSERT_EQUAL(n, strlen(http_req));
	CU_ASSERT_EQUAL(memcmp(buf, http_req, strlen(http_req)), 0);
	to_client(c, t, chunk); /* TLS 1.3 post-handshake bytes, if any */

	CU_ASSERT_EQUAL(scws_tls_write(t, (const uint8_t *)http_resp, strlen(http_resp), &used), 0);
	CU_ASSERT_EQUAL(used, strlen(http_resp));
	to_client(c, t, chunk);
	size_t total = 0;
	while (total < sizeof(buf) &&
	       SSL_read_ex(c->ssl, buf + total, sizeof(buf) - total, &got) == 1)
		total += got;
	CU_ASSERT_EQUAL(total, strlen(http_resp));
	CU_ASSERT_EQUAL(memcmp(buf, http_resp, strlen(http_resp)), 0);

	/* The engine closes: the client sees close_notify. */
	CU_ASSERT_EQUAL(scws_tls_close(t), 0);
	CU_ASSERT_EQUAL(scws_tls_state(t), SCWS_TLS_ST_CLOSED);
	CU_ASSERT_TRUE(scws_tls_output(t).len > 0);
	to_client(c, t, chunk);
	CU_ASSERT_EQUAL(SSL_read_ex(c->ssl, buf, sizeof(buf), &got), 0);
	CU_ASSERT_EQUAL(SSL_get_error(c->ssl, 0), SSL_ERROR_ZERO_RETURN);
	CU_ASSERT_EQUAL(scws_tls_write(t, (const uint8_t *)"x", 1, &used), -EBADFD);
	CU_ASSERT_EQUAL(scws_tls_read(t, buf, sizeof(buf), &got), -EPIPE);
	CU_ASSERT_EQUAL(scws_tls_close(t), 0);
}

/* --------------------------------------------------------- success table */

struct hs_case {
	const char *name;
	enum srv_kind srv;
	struct client_cfg cli;
	const char *version;
	const char *cipher;
	const char *psk_identity; /* NULL = certificate */
};

/* psk_id and key default to PSK_ID and psk_key. */
#define CLI_CERT .verify = true
#define CLI_PSK12 .psk12 = true
#define CLI_PSK13 .psk13 = true

/* clang-format off */
static const struct hs_case ok_cases[] = {
	/* (a) certificate */
	{ "cert tls1.3", SRV_CERT, { CLI_CERT }, "TLSv1.3", "TLS_AES_256_GCM_SHA384", NULL },
	{ "cert from memory tls1.3", SRV_CERT_MEM, { CLI_CERT }, "TLSv1.3",
	  "TLS_AES_256_GCM_SHA384", NULL },
	{ "cert from memory tls1.2", SRV_CERT_MEM, { CLI_CERT, .max_version = TLS1_2_VERSION },
	  "TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384", NULL },
	{ "cert tls1.3 aes128", SRV_CERT,
	  { CLI_CERT, .ciphersuites = "TLS_AES_128_GCM_SHA256" }, "TLSv1.3",
	  "TLS_AES_128_GCM_SHA256", NULL },
	{ "cert tls1.2", SRV_CERT, { CLI_CERT, .max_version = TLS1_2_VERSION }, "TLSv1.2",
	  "ECDHE-ECDSA-AES256-GCM-SHA384", NULL },
	{ "cert tls1.2 cbc", SRV_CERT,
	  { CLI_CERT, .max_version = TLS1_2_VERSION, .cipher_list = "ECDHE-ECDSA-AES128-SHA" },
	  "TLSv1.2", "ECDHE-ECDSA-AES128-SHA", NULL },
	/* (b) TLS 1.2 PSK */
	{ "psk tls1.2 cbc-sha", SRV_PSK,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION, .cipher_list = "PSK-AES128-CBC-SHA" },
	  "TLSv1.2", "PSK-AES128-CBC-SHA", PSK_ID },
	{ "psk tls1.2 gcm", SRV_PSK,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION, .cipher_list = "PSK-AES128-GCM-SHA256" },
	  "TLSv1.2", "PSK-AES128-GCM-SHA256", PSK_ID },
	{ "psk tls1.2 ecdhe", SRV_PSK,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION,
	    .cipher_list = "ECDHE-PSK-AES128-CBC-SHA256" },
	  "TLSv1.2", "ECDHE-PSK-AES128-CBC-SHA256", PSK_ID },
	{ "psk tls1.2 ecdhe chacha", SRV_PSK,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION,
	    .cipher_list = "ECDHE-PSK-CHACHA20-POLY1305" },
	  "TLSv1.2", "ECDHE-PSK-CHACHA20-POLY1305", PSK_ID },
	{ "psk tls1.2 client default list", SRV_PSK,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION }, "TLSv1.2", NULL, PSK_ID },
	/* (c) TLS 1.3 external PSK */
	/* OpenSSL clients put TLS_AES_256_GCM_SHA384 first, and the PSK's hash
	 * rules it out: their next choice. */
	{ "psk tls1.3", SRV_PSK, { CLI_PSK13, .min_version = TLS1_3_VERSION }, "TLSv1.3",
	  "TLS_CHACHA20_POLY1305_SHA256", PSK_ID },
	/* A SHA-384 first client: the server must pick a SHA-256 suite. */
	{ "psk tls1.3 client prefers sha384", SRV_PSK,
	  { CLI_PSK13, .ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256" },
	  "TLSv1.3", "TLS_AES_128_GCM_SHA256", PSK_ID },
	/* A TLS 1.2-style PSK callback on a TLS 1.3 client (OpenSSL's own
	 * fallback, what s_client -psk does). */
	{ "psk tls1.3 via psk12 callback", SRV_PSK, { CLI_PSK12 }, "TLSv1.3",
	  "TLS_CHACHA20_POLY1305_SHA256", PSK_ID },
	/* (d) both on one context */
	{ "both: cert tls1.3", SRV_BOTH, { CLI_CERT }, "TLSv1.3", "TLS_AES_256_GCM_SHA384", NULL },
	{ "both: cert tls1.2", SRV_BOTH, { CLI_CERT, .max_version = TLS1_2_VERSION }, "TLSv1.2",
	  "ECDHE-ECDSA-AES256-GCM-SHA384", NULL },
	{ "both: psk tls1.2", SRV_BOTH,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION, .cipher_list = "PSK-AES128-CBC-SHA" },
	  "TLSv1.2", "PSK-AES128-CBC-SHA", PSK_ID },
	/* Where OpenSSL alone would take the client's SHA-384 suite and drop
	 * the PSK for the certificate. */
	{ "both: psk tls1.3", SRV_BOTH, { CLI_PSK13 }, "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256",
	  PSK_ID },
	{ "both: psk tls1.3 aes", SRV_BOTH,
	  { CLI_PSK13, .ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256" },
	  "TLSv1.3", "TLS_AES_128_GCM_SHA256", PSK_ID },
	{ "both: psk tls1.3 via psk12 callback", SRV_BOTH, { CLI_PSK12 }, "TLSv1.3",
	  "TLS_CHACHA20_POLY1305_SHA256", PSK_ID },
	/* A TLS 1.3 client with an unknown identity on a context with a
	 * certificate: the PSK is ignored, the certificate used (RFC 8446
	 * §4.2.11). */
	{ "both: tls1.3 unknown identity falls back", SRV_BOTH,
	  { CLI_CERT, .psk13 = true, .psk_id = "other", .key = psk_key }, "TLSv1.3",
	  "TLS_AES_256_GCM_SHA384", NULL },
	/* Our identity, but only a SHA-384 suite: the PSK cannot serve, the
	 * certificate does. */
	{ "both: tls1.3 psk with sha384 only falls back", SRV_BOTH,
	  { CLI_CERT, .psk13 = true, .ciphersuites = "TLS_AES_256_GCM_SHA384" }, "TLSv1.3",
	  "TLS_AES_256_GCM_SHA384", NULL },
	/* (e) legacy */
	{ "legacy tls1.0", SRV_LEGACY,
	  { CLI_PSK12, .min_version = TLS1_VERSION, .max_version = TLS1_VERSION,
	    .cipher_list = "PSK-AES128-CBC-SHA:@SECLEVEL=0" },
	  "TLSv1", "PSK-AES128-CBC-SHA", PSK_ID },
	{ "legacy tls1.1", SRV_LEGACY,
	  { CLI_PSK12, .min_version = TLS1_1_VERSION, .max_version = TLS1_1_VERSION,
	    .cipher_list = "PSK-AES128-CBC-SHA:@SECLEVEL=0" },
	  "TLSv1.1", "PSK-AES128-CBC-SHA", PSK_ID },
	{ "legacy tls1.2", SRV_LEGACY,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION, .cipher_list = "PSK-AES128-CBC-SHA" },
	  "TLSv1.2", "PSK-AES128-CBC-SHA", PSK_ID },
};
/* clang-format on */

struct hs_outcome {
	char version[16], cipher[64], psk[TLS_PSK_IDENTITY_MAX + 1];
	bool has_psk;
};

static void run_ok_case(const struct hs_case *tc, size_t chunk, struct hs_outcome *o)
{
	struct scws_tls_ctx *ctx = make_server(tc->srv);
	struct client c;

	memset(o, 0, sizeof(*o));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL_FATAL(client_init(&c, &tc->cli), 0);
	struct scws_tls *t = scws_tls_new(ctx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NULL(scws_tls_version(t));
	CU_ASSERT_PTR_NULL(scws_tls_psk_identity(t));
	/* The connection holds its own reference (profile reload). */
	scws_tls_ctx_free(ctx);

	handshake(&c, t, chunk);
	if (!c.done || scws_tls_state(t) != SCWS_TLS_ST_OPEN)
		fprintf(stderr, "\n%s: client %s, engine %s: %s\n", tc->name,
			c.done ? "done" : "not done", scws_tls_state_name(scws_tls_state(t)),
			scws_tls_reason(t));
	CU_ASSERT_TRUE(c.done);
	CU_ASSERT_EQUAL(scws_tls_state(t), SCWS_TLS_ST_OPEN);
	CU_ASSERT_STRING_EQUAL(scws_tls_reason(t), "");
	if (scws_tls_state(t) == SCWS_TLS_ST_OPEN) {
		snprintf(o->version, sizeof(o->version), "%s", scws_tls_version(t));
		snprintf(o->cipher, sizeof(o->cipher), "%s", scws_tls_cipher(t));
		o->has_psk = scws_tls_psk_identity(t) != NULL;
		if (o->has_psk)
			snprintf(o->psk, sizeof(o->psk), "%s", scws_tls_psk_identity(t));
		CU_ASSERT_STRING_EQUAL(o->version, tc->version);
		if (tc->cipher)
			CU_ASSERT_STRING_EQUAL(o->cipher, tc->cipher);
		/* Both ends agree. */
		CU_ASSERT_STRING_EQUAL(o->cipher, SSL_get_cipher_name(c.ssl));
		CU_ASSERT_STRING_EQUAL(o->version, SSL_get_version(c.ssl));
		if (tc->psk_identity) {
			CU_ASSERT_TRUE(o->has_psk);
			CU_ASSERT_STRING_EQUAL(o->psk, tc->psk_identity);
		} else {
			CU_ASSERT_FALSE(o->has_psk);
		}
		if (tc->cli.verify && !tc->psk_identity)
			CU_ASSERT_EQUAL(SSL_get_verify_result(c.ssl), X509_V_OK);
		if (strcmp(o->cipher, tc->cipher ? tc->cipher : o->cipher))
			fprintf(stderr, "\n%s: got %s %s\n", tc->name, o->version, o->cipher);
		roundtrip(&c, t, chunk);
	}
	scws_tls_free(t);
	client_cleanup(&c);
}

/* (a)-(e), (h): every mode completes and carries a request and response. */
static void test_handshakes(void)
{
	struct hs_outcome o;
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++)
		run_ok_case(&ok_cases[i], 0, &o);
}

/* (i) one byte per feed, one byte per delivery: the same outcome. */
static void test_byte_at_a_time(void)
{
	struct hs_outcome whole, bytewise;
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		run_ok_case(&ok_cases[i], 0, &whole);
		run_ok_case(&ok_cases[i], 1, &bytewise);
		CU_ASSERT_STRING_EQUAL(whole.version, bytewise.version);
		CU_ASSERT_STRING_EQUAL(whole.cipher, bytewise.cipher);
		CU_ASSERT_EQUAL(whole.has_psk, bytewise.has_psk);
		CU_ASSERT_STRING_EQUAL(whole.psk, bytewise.psk);
	}
}

/* ------------------------------------------------------------- failures */

struct fail_case {
	const char *name;
	enum srv_kind srv;
	struct client_cfg cli;
	uint8_t alert[7];   /* the engine's exact output; alert[0] == 0: not checked */
	const char *reason; /* substring of scws_tls_reason() */
	const char *words;  /* the failure in words, at the start of the reason; NULL: none */
};

/* clang-format off */
static const struct fail_case fail_cases[] = {
	/* (f) wrong key: the server cannot decrypt the client's Finished;
	 * its alert goes out before its own ChangeCipherSpec, in clear. */
	{ "psk tls1.2 wrong key", SRV_PSK,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION, .cipher_list = "PSK-AES128-CBC-SHA",
	    .key = bad_key },
	  { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x14 }, "bad record mac",
	  "wrong PSK key for identity '" PSK_ID "': the client's key is not the card's" },
	{ "psk tls1.2 gcm wrong key", SRV_PSK,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION, .cipher_list = "PSK-AES128-GCM-SHA256",
	    .key = bad_key },
	  { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x14 }, "bad record mac",
	  "wrong PSK key for identity '" PSK_ID "'" },
	/* TLS 1.3: the binder does not verify (RFC 8446 §4.2.11.2); OpenSSL 3.0
	 * answers illegal_parameter (47). */
	{ "psk tls1.3 wrong key", SRV_PSK, { CLI_PSK13, .key = bad_key },
	  { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x2f }, "binder does not verify",
	  "wrong PSK key for identity '" PSK_ID "'" },
	{ "both: psk tls1.3 wrong key", SRV_BOTH, { CLI_PSK13, .key = bad_key },
	  { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x2f }, "binder does not verify",
	  "wrong PSK key for identity '" PSK_ID "'" },
	/* Wrong identity: RFC 4279 §2 unknown_psk_identity (115). */
	{ "psk tls1.2 wrong identity", SRV_PSK,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION, .psk_id = "nobody" },
	  { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x73 }, "unknown PSK identity",
	  "the client's PSK identity 'nobody' is not the card's ('" PSK_ID "')" },
	{ "legacy tls1.0 wrong identity", SRV_LEGACY,
	  { CLI_PSK12, .min_version = TLS1_VERSION, .max_version = TLS1_VERSION,
	    .cipher_list = "PSK-AES128-CBC-SHA:@SECLEVEL=0", .psk_id = "nobody" },
	  { 0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x73 }, "unknown PSK identity",
	  "the client's PSK identity 'nobody' is not the card's" },
	/* TLS 1.3, no certificate to fall back on. */
	{ "psk tls1.3 wrong identity", SRV_PSK,
	  { CLI_PSK13, .min_version = TLS1_3_VERSION, .psk_id = "nobody" },
	  { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 }, "handshake failure",
	  "the client's PSK identity 'nobody' is not the card's" },
	/* Modes the context does not have. */
	{ "psk-only context, certificate client", SRV_PSK, { CLI_CERT },
	  { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 }, "handshake failure",
	  "the client offered no PSK, and this card has only PSK (no certificate)" },
	{ "cert-only context, psk tls1.2 client", SRV_CERT,
	  { CLI_PSK12, .max_version = TLS1_2_VERSION, .cipher_list = "PSK" },
	  { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 }, "no shared cipher",
	  "no cipher in common: the client offers RSA-PSK-AES256-GCM-SHA384:" },
	/* (j) TLS 1.0 on the default context: protocol_version (70). */
	{ "tls1.0 refused by default", SRV_BOTH,
	  { CLI_PSK12, .min_version = TLS1_VERSION, .max_version = TLS1_VERSION,
	    .cipher_list = "ALL:@SECLEVEL=0", .seclevel0 = true },
	  { 0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46 }, "protocol version",
	  "protocol version refused: the client offers TLS 1.0, the card accepts TLS 1.2 to TLS 1.3" },
	{ "tls1.1 refused by default", SRV_CERT,
	  { CLI_CERT, .min_version = TLS1_1_VERSION, .max_version = TLS1_1_VERSION,
	    .cipher_list = "ALL:@SECLEVEL=0" },
	  { 0x15, 0x03, 0x02, 0x00, 0x02, 0x02, 0x46 }, "protocol version",
	  "protocol version refused: the client offers TLS 1.1, the card accepts TLS 1.2 to TLS 1.3" },
	/* Legacy offers only its PSK suite. */
	{ "legacy, certificate client", SRV_LEGACY,
	  { CLI_CERT, .max_version = TLS1_2_VERSION },
	  { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 }, "no shared cipher",
	  "the client offered no PSK, and this card has only PSK (no certificate)" },
};
/* clang-format on */

static void run_fail_case(const struct fail_case *tc, size_t chunk)
{
	struct scws_tls_ctx *ctx = make_server(tc->srv);
	struct client c;
	const struct client_cfg cli = tc->cli;
	uint8_t out[64];
	size_t out_len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL_FATAL(client_init(&c, &cli), 0);
	struct scws_tls *t = scws_tls_new(ctx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);

	/* Like handshake(), but keeps the engine's last output. */
	for (int i = 0; i < 64 && !c.failed; i++) {
		client_step(&c);
		size_t moved = to_engine(&c, t, chunk);
		if (scws_tls_state(t) == SCWS_TLS_ST_FAILED) {
			struct bytes b = scws_tls_output(t);
			out_len = b.len < sizeof(out) ? b.len : sizeof(out);
			memcpy(out, b.ptr, out_len);
			CU_ASSERT_TRUE(b.len <= sizeof(out));
			to_client(&c, t, chunk);
			client_step(&c);
			break;
		}
		moved += to_client(&c, t, chunk);
		if (!moved)
			break;
	}
	if (scws_tls_state(t) != SCWS_TLS_ST_FAILED || !strstr(scws_tls_reason(t), tc->reason))
		fprintf(stderr, "\n%s: engine %s \"%s\"\n", tc->name,
			scws_tls_state_name(scws_tls_state(t)), scws_tls_reason(t));
	CU_ASSERT_EQUAL(scws_tls_state(t), SCWS_TLS_ST_FAILED);
	CU_ASSERT_TRUE(c.failed);
	CU_ASSERT_FALSE(c.done);
	CU_ASSERT_PTR_NOT_NULL(strstr(scws_tls_reason(t), tc->reason));
	CU_ASSERT_PTR_NOT_NULL(strstr(scws_tls_reason(t), "sent fatal alert"));
	if (tc->words && strncmp(scws_tls_reason(t), tc->words, strlen(tc->words)) != 0)
		fprintf(stderr, "\n%s: \"%s\" does not start with \"%s\"\n", tc->name,
			scws_tls_reason(t), tc->words);
	CU_ASSERT_TRUE(!tc->words ||
		       strncmp(scws_tls_reason(t), tc->words, strlen(tc->words)) == 0);
	CU_ASSERT_EQUAL(out_len, 7);
	if (out_len != 7 || memcmp(out, tc->alert, 7)) {
		fprintf(stderr, "\n%s: output", tc->name);
		for (size_t i = 0; i < out_len; i++)
			fprintf(stderr, " %02x", out[i]);
		fprintf(stderr, "\n");
	}
	CU_ASSERT_EQUAL(memcmp(out, tc->alert, 7), 0);
	CU_ASSERT_PTR_NULL(scws_tls_version(t));
	CU_ASSERT_PTR_NULL(scws_tls_psk_identity(t));

	/* Everything after the failure is refused, nothing is queued. */
	size_t used = 1;
	CU_ASSERT_EQUAL(scws_tls_feed(t, (const uint8_t *)"x", 1, &used), -EBADFD);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_EQUAL(scws_tls_read(t, out, sizeof(out), &used), -EPROTO);
	CU_ASSERT_EQUAL(scws_tls_write(t, out, 1, &used), -EPROTO);
	CU_ASSERT_EQUAL(scws_tls_close(t), 0);
	CU_ASSERT_EQUAL(scws_tls_state(t), SCWS_TLS_ST_FAILED);
	CU_ASSERT_EQUAL(scws_tls_output(t).len, 0);
	/* No stale error left for the next connection. */
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	scws_tls_free(t);
	scws_tls_ctx_free(ctx);
	client_cleanup(&c);
}

/* (f), (j): both sides fail and the engine's output is the exact alert. */
static void test_failures(void)
{
	for (size_t i = 0; i < sizeof(fail_cases) / sizeof(fail_cases[0]); i++) {
		run_fail_case(&fail_cases[i], 0);
		run_fail_case(&fail_cases[i], 1);
	}
}

/* (g) bytes that are not a TLS ClientHello. */
struct garbage_case {
	const char *name;
	const uint8_t *in;
	size_t len;
	uint8_t alert[7]; /* the engine's exact output */
	const char *reason;
};

static const uint8_t g_http[] = "GET / HTTP/1.1\r\nHost: localuicc\r\n\r\n";
static const uint8_t g_ff[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t g_zero[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
/* Handshake record over 2^14 + 2048 bytes. */
static const uint8_t g_long[] = { 0x16, 0x03, 0x01, 0xff, 0xff, 0x01 };
/* A ClientHello of nothing but a version. */
static const uint8_t g_trunc_hello[] = { 0x16, 0x03, 0x01, 0x00, 0x06, 0x01,
					 0x00, 0x00, 0x02, 0x03, 0x03 };
/* A ClientHello with an empty cipher suite list. */
/* clang-format off */
static const uint8_t g_no_suites[] = {
	0x16, 0x03, 0x01, 0x00, 0x2b, 0x01, 0x00, 0x00, 0x27, 0x03, 0x03,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x00,       /* session id */
	0x00, 0x00, /* cipher suites */
	0x01, 0x00, /* compression: null */
};
/* clang-format on */
/* Application data before any handshake. */
static const uint8_t g_appdata[] = { 0x17, 0x03, 0x03, 0x00, 0x03, 0x61, 0x62, 0x63 };
/* A fatal alert before the ClientHello: OpenSSL calls it unexpected. */
static const uint8_t g_alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };
/* An SSLv2-format ClientHello offering only SSL 2.0. */
/* clang-format off */
static const uint8_t g_sslv2[] = {
	0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
	/* 7 SSLv2 cipher specs */
	0x01, 0x00, 0x80, 0x02, 0x00, 0x80, 0x03, 0x00, 0x80, 0x04, 0x00, 0x80,
	0x05, 0x00, 0x80, 0x06, 0x00, 0x40, 0x07, 0x00, 0xc0,
	/* challenge */
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f,
};
/* clang-format on */

#define ALERT(ver, desc)                                \
	{                                               \
		0x15, 0x03, ver, 0x00, 0x02, 0x02, desc \
	}
/* clang-format off */
static const struct garbage_case garbage_cases[] = {
	/* Not TLS at all: OpenSSL stays silent, the engine answers
	 * protocol_version itself. */
	{ "plain http", g_http, sizeof(g_http) - 1, ALERT(0x01, 70), "http request" },
	{ "ff", g_ff, sizeof(g_ff), ALERT(0x01, 70), "wrong version number" },
	{ "zeros", g_zero, sizeof(g_zero), ALERT(0x01, 70), "wrong version number" },
	/* OpenSSL's own alerts (record version 3.3). */
	{ "record too long", g_long, sizeof(g_long), ALERT(0x03, 22), "packet length too long" },
	{ "truncated hello", g_trunc_hello, sizeof(g_trunc_hello), ALERT(0x03, 50),
	  "length mismatch" },
	{ "hello without suites", g_no_suites, sizeof(g_no_suites), ALERT(0x03, 47),
	  "no ciphers specified" },
	{ "app data first", g_appdata, sizeof(g_appdata), ALERT(0x03, 10), "unexpected message" },
	{ "sslv2 hello", g_sslv2, sizeof(g_sslv2), ALERT(0x03, 70), "unknown protocol" },
	{ "peer alert", g_alert, sizeof(g_alert), ALERT(0x03, 10), "unexpected message" },
};
/* clang-format on */

static void run_garbage(const struct garbage_case *gc, struct scws_tls_ctx *ctx, size_t chunk)
{
	struct scws_tls *t = scws_tls_new(ctx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	size_t off = 0, used;
	int rc = 0;

	while (off < gc->len && rc == 0) {
		size_t len = chunk && gc->len - off > chunk ? chunk : gc->len - off;
		rc = scws_tls_feed(t, gc->in + off, len, &used);
		off += used;
	}
	struct bytes out = scws_tls_output(t);
	CU_ASSERT_EQUAL(rc, -EPROTO);
	CU_ASSERT_EQUAL(scws_tls_state(t), SCWS_TLS_ST_FAILED);
	CU_ASSERT_PTR_NOT_NULL(strstr(scws_tls_reason(t), gc->reason));
	CU_ASSERT_PTR_NOT_NULL(strstr(scws_tls_reason(t), "sent fatal alert"));
	CU_ASSERT_TRUE(bytes_eq(out, gc->alert, sizeof(gc->alert)));
	if (getenv("TLS_DEBUG") || !strstr(scws_tls_reason(t), gc->reason) ||
	    !bytes_eq(out, gc->alert, sizeof(gc->alert))) {
		fprintf(stderr, "\n%s: \"%s\"", gc->name, scws_tls_reason(t));
		for (size_t i = 0; i < out.len; i++)
			fprintf(stderr, " %02x", out.ptr[i]);
		fprintf(stderr, "\n");
	}
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	scws_tls_free(t);
}

static void test_garbage(void)
{
	struct scws_tls_ctx *ctx = make_server(SRV_BOTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	for (size_t i = 0; i < sizeof(garbage_cases) / sizeof(garbage_cases[0]); i++) {
		run_garbage(&garbage_cases[i], ctx, 0);
		run_garbage(&garbage_cases[i], ctx, 1);
	}
	scws_tls_ctx_free(ctx);
}

/* Pseudo-random bytes must never crash, and a failure always leaves the
 * engine failed with at most a few bytes of alert. */
static void test_random_bytes(void)
{
	struct scws_tls_ctx *ctx = make_server(SRV_BOTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	uint32_t x = 0x12345678;
	uint8_t in[600];

	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(in); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			in[i] = (uint8_t)x;
		}
		/* Half the rounds look like a handshake record. */
		if (round & 1) {
			in[0] = 0x16;
			in[1] = 0x03;
			in[2] = 0x01;
			in[3] = 0x02;
			in[4] = 0x00;
			in[5] = 0x01;
		}
		struct scws_tls *t = scws_tls_new(ctx);
		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		size_t used;
		int rc = scws_tls_feed(t, in, sizeof(in), &used);
		CU_ASSERT_EQUAL(used, sizeof(in));
		if (rc) {
			CU_ASSERT_EQUAL(rc, -EPROTO);
			CU_ASSERT_EQUAL(scws_tls_state(t), SCWS_TLS_ST_FAILED);
			CU_ASSERT_TRUE(scws_tls_output(t).len <= 7);
			CU_ASSERT_STRING_NOT_EQUAL(scws_tls_reason(t), "");
		}
		scws_tls_free(t);
	}
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	scws_tls_ctx_free(ctx);
}

/* ---------------------------------------------------------------- bounds */

static void open_pair(enum srv_kind kind, const struct client_cfg *cli, struct client *c,
		      struct scws_tls **t, struct scws_tls_ctx **ctx)
{
	*ctx = make_server(kind);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*ctx);
	CU_ASSERT_EQUAL_FATAL(client_init(c, cli), 0);
	*t = scws_tls_new(*ctx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*t);
	handshake(c, *t, 0);
	CU_ASSERT_EQUAL_FATAL(scws_tls_state(*t), SCWS_TLS_ST_OPEN);
}

/* The engine never holds more than TLS_OUT_MAX of ciphertext, and a large
 * response arrives whole in pieces. */
static void test_output_bound(void)
{
	static const struct client_cfg cli = { CLI_CERT };
	struct client c;
	struct scws_tls *t;
	struct scws_tls_ctx *ctx;
	size_t big_len = 200000, sent = 0, rcvd = 0, used, got;
	uint8_t *big = malloc(big_len), *back = malloc(big_len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 8));
	open_pair(SRV_CERT, &cli, &c, &t, &ctx);

	CU_ASSERT_EQUAL(scws_tls_write(t, big, big_len, &used), 0);
	CU_ASSERT_TRUE(used > 0 && used < big_len);
	CU_ASSERT_TRUE(scws_tls_output(t).len <= TLS_OUT_MAX);
	sent = used;
	size_t more;
	CU_ASSERT_EQUAL(scws_tls_write(t, big + sent, big_len - sent, &more), -EAGAIN);
	CU_ASSERT_EQUAL(more, 0);
	while (sent < big_len || scws_tls_output(t).len) {
		to_client(&c, t, 0);
		while (rcvd < big_len && SSL_read_ex(c.ssl, back + rcvd, big_len - rcvd, &got) == 1)
			rcvd += got;
		if (sent < big_len) {
			CU_ASSERT_EQUAL_FATAL(scws_tls_write(t, big + sent, big_len - sent, &used),
					      0);
			sent += used;
			CU_ASSERT_TRUE(scws_tls_output(t).len <= TLS_OUT_MAX);
		}
	}
	CU_ASSERT_EQUAL(rcvd, big_len);
	CU_ASSERT_EQUAL(memcmp(big, back, big_len), 0);
	/* The client closes: the engine answers with its own close_notify. */
	CU_ASSERT_EQUAL(SSL_shutdown(c.ssl), 0);
	to_engine(&c, t, 0);
	CU_ASSERT_EQUAL(scws_tls_read(t, back, 16, &got), -EPIPE);
	CU_ASSERT_EQUAL(scws_tls_state(t), SCWS_TLS_ST_CLOSED);
	to_client(&c, t, 0);
	CU_ASSERT_EQUAL(SSL_shutdown(c.ssl), 1);
	free(big);
	free(back);
	scws_tls_free(t);
	scws_tls_ctx_free(ctx);
	client_cleanup(&c);
}

/* The engine buffers at most TLS_IN_MAX of ciphertext: feed stops taking
 * bytes until plaintext is read, and nothing is lost. */
static void test_input_bound(void)
{
	static const struct client_cfg cli = { CLI_PSK12, .max_version = TLS1_2_VERSION };
	struct client c;
	struct scws_tls *t;
	struct scws_tls_ctx *ctx;
	size_t big_len = 100000, used, got, rcvd = 0;
	uint8_t *big = malloc(big_len), *back = malloc(big_len);
	uint8_t *ct = malloc(2 * big_len);
	size_t ct_len = 0, off = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 13);
	open_pair(SRV_PSK, &cli, &c, &t, &ctx);
	CU_ASSERT_EQUAL(SSL_write_ex(c.ssl, big, big_len, &used), 1);
	int n;
	while ((n = BIO_read(c.wbio, ct + ct_len, (int)(2 * big_len - ct_len))) > 0)
		ct_len += (size_t)n;
	CU_ASSERT_TRUE(ct_len > big_len);

	CU_ASSERT_EQUAL(scws_tls_feed(t, ct, ct_len, &used), 0);
	CU_ASSERT_EQUAL(used, TLS_IN_MAX);
	off = used;
	CU_ASSERT_EQUAL(scws_tls_feed(t, ct + off, ct_len - off, &used), 0);
	CU_ASSERT_EQUAL(used, 0);
	int rounds = 0;
	while (rcvd < big_len && rounds++ < 1000) {
		int rc = 0;
		while (rcvd < big_len &&
		       (rc = scws_tls_read(t, back + rcvd, big_len - rcvd, &got)) == 0)
			rcvd += got;
		if (rcvd < big_len)
			CU_ASSERT_EQUAL_FATAL(rc, -EAGAIN);
		if (off < ct_len) {
			CU_ASSERT_EQUAL(scws_tls_feed(t, ct + off, ct_len - off, &used), 0);
			CU_ASSERT_TRUE(used > 0);
			off += used;
		}
	}
	CU_ASSERT_EQUAL(off, ct_len);
	CU_ASSERT_EQUAL(rcvd, big_len);
	CU_ASSERT_EQUAL(memcmp(big, back, big_len), 0);
	free(big);
	free(back);
	free(ct);
	scws_tls_free(t);
	scws_tls_ctx_free(ctx);
	client_cleanup(&c);
}

/* ------------------------------------------------------ API and config */

static void test_api_states(void)
{
	struct scws_tls_ctx *ctx = make_server(SRV_BOTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_TRUE(scws_tls_ctx_has_cert(ctx));
	CU_ASSERT_TRUE(scws_tls_ctx_has_psk(ctx));
	struct scws_tls *t = scws_tls_new(ctx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	uint8_t b[16];
	size_t n;

	CU_ASSERT_EQUAL(scws_tls_state(t), SCWS_TLS_ST_HANDSHAKING);
	CU_ASSERT_STRING_EQUAL(scws_tls_reason(t), "");
	CU_ASSERT_EQUAL(scws_tls_read(t, b, 0, &n), -EINVAL);
	CU_ASSERT_EQUAL(scws_tls_read(t, b, sizeof(b), &n), -EAGAIN);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(scws_tls_write(t, b, 1, &n), -EBADFD);
	CU_ASSERT_EQUAL(scws_tls_feed(t, b, 0, &n), 0);
	CU_ASSERT_EQUAL(scws_tls_output(t).len, 0);
	/* Closing before the handshake sends nothing. */
	CU_ASSERT_EQUAL(scws_tls_close(t), 0);
	CU_ASSERT_EQUAL(scws_tls_state(t), SCWS_TLS_ST_CLOSED);
	CU_ASSERT_EQUAL(scws_tls_output(t).len, 0);
	CU_ASSERT_EQUAL(scws_tls_feed(t, b, 1, &n), -EBADFD);
	CU_ASSERT_EQUAL(scws_tls_read(t, b, sizeof(b), &n), -EPIPE);
	scws_tls_free(t);
	scws_tls_free(NULL);
	scws_tls_ctx_free(ctx);
	scws_tls_ctx_free(NULL);

	CU_ASSERT_STRING_EQUAL(scws_tls_state_name(SCWS_TLS_ST_HANDSHAKING), "handshaking");
	CU_ASSERT_STRING_EQUAL(scws_tls_state_name(SCWS_TLS_ST_OPEN), "open");
	CU_ASSERT_STRING_EQUAL(scws_tls_state_name(SCWS_TLS_ST_CLOSED), "closed");
	CU_ASSERT_STRING_EQUAL(scws_tls_state_name(SCWS_TLS_ST_FAILED), "failed");
	CU_ASSERT_STRING_EQUAL(scws_tls_state_name((enum scws_tls_state)42), "?");
}

struct cfg_case {
	const char *name;
	const char *cert, *key; /* relative to top_srcdir, or literal when starting with '/' */
	const char *psk_id;
	size_t key_len;
	int min_version, max_version, security_level;
	const char *cipher_list, *ciphersuites;
	int rc;
	const char *err; /* substring */
};

/* clang-format off */
static const struct cfg_case cfg_cases[] = {
	{ "ok cert", "pki/scws-server.crt", "pki/scws-server.key", NULL, 0, 0, 0, -1, NULL, NULL,
	  0, "" },
	{ "ok psk", NULL, NULL, "id", 16, 0, 0, -1, NULL, NULL, 0, "" },
	{ "ok psk max key", NULL, NULL, "id", TLS_PSK_KEY_MAX, 0, 0, -1, NULL, NULL, 0, "" },
	{ "ok tls1.3 only psk", NULL, NULL, "id", 16, TLS1_3_VERSION, 0, -1, NULL, NULL, 0, "" },
	{ "nothing", NULL, NULL, NULL, 0, 0, 0, -1, NULL, NULL, -EINVAL,
	  "neither a certificate nor a PSK" },
	{ "no cert file", "/nonexistent/x.crt", "pki/scws-server.key", NULL, 0, 0, 0, -1, NULL,
	  NULL, -EINVAL,
	  "/nonexistent/x.crt: cannot load the certificate chain: No such file" },
	{ "no key file", "pki/scws-server.crt", "/nonexistent/x.key", NULL, 0, 0, 0, -1, NULL,
	  NULL, -EINVAL,
	  "/nonexistent/x.key: cannot load the private key: No such file" },
	{ "key is a cert", "pki/scws-server.crt", "pki/scws-ca.crt", NULL, 0, 0, 0, -1, NULL,
	  NULL, -EINVAL, "pki/scws-ca.crt: cannot load the private key" },
	{ "key mismatch", "pki/scws-server.crt", "pki/scws-ca.key", NULL, 0, 0, 0, -1, NULL,
	  NULL, -EINVAL,
	  "scws-ca.key: cannot load the private key: key values mismatch" },
	{ "key without cert", NULL, "pki/scws-server.key", "id", 16, 0, 0, -1, NULL, NULL,
	  -EINVAL, "a key file without a certificate" },
	{ "empty identity", NULL, NULL, "", 16, 0, 0, -1, NULL, NULL, -EINVAL, "PSK identity" },
	{ "long identity", NULL, NULL,
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789",
	  16, 0, 0, -1, NULL, NULL, -EINVAL, "PSK identity" },
	{ "empty key", NULL, NULL, "id", 0, 0, 0, -1, NULL, NULL, -EINVAL, "PSK key" },
	{ "long key", NULL, NULL, "id", TLS_PSK_KEY_MAX + 1, 0, 0, -1, NULL, NULL, -EINVAL,
	  "PSK key" },
	{ "ssl3", NULL, NULL, "id", 16, SSL3_VERSION, 0, -1, NULL, NULL, -EINVAL, "versions" },
	{ "min > max", NULL, NULL, "id", 16, TLS1_3_VERSION, TLS1_2_VERSION, -1, NULL, NULL,
	  -EINVAL, "versions" },
	{ "bad version", NULL, NULL, "id", 16, 0, 0x0305, -1, NULL, NULL, -EINVAL, "versions" },
	{ "seclevel 6", NULL, NULL, "id", 16, 0, 0, 6, NULL, NULL, -EINVAL, "security level" },
	{ "3des", NULL, NULL, "id", 16, TLS1_VERSION, 0, 0, "PSK-3DES-EDE-CBC-SHA", NULL,
	  -EINVAL, "cipher list: no cipher match" },
	{ "bad suites", NULL, NULL, "id", 16, 0, 0, -1, NULL, "TLS_NOPE", -EINVAL,
	  "ciphersuites" },
	{ "cert key too weak for level 5", "pki/scws-server.crt", "pki/scws-server.key", NULL, 0,
	  0, 0, 5, NULL, NULL, -EINVAL,
	  "scws-server.crt: cannot load the certificate chain: ee key too small" },
};
/* clang-format on */

static void test_config(void)
{
	uint8_t key[TLS_PSK_KEY_MAX + 1];
	memset(key, 0x5a, sizeof(key));

	for (size_t i = 0; i < sizeof(cfg_cases) / sizeof(cfg_cases[0]); i++) {
		const struct cfg_case *cc = &cfg_cases[i];
		struct scws_tls_config cfg;
		struct scws_tls_ctx *ctx = (struct scws_tls_ctx *)&cfg; /* must be reset */
		char cert[4096], keyf[4096], err[256];

		scws_tls_config_init(&cfg);
		if (cc->cert) {
			snprintf(cert, sizeof(cert), "%s",
				 cc->cert[0] == '/' ? cc->cert : unit_srcpath(cc->cert));
			cfg.cert_file = cert;
		}
		if (cc->key) {
			snprintf(keyf, sizeof(keyf), "%s",
				 cc->key[0] == '/' ? cc->key : unit_srcpath(cc->key));
			cfg.key_file = keyf;
		}
		cfg.psk_identity = cc->psk_id;
		cfg.psk_key = cc->key_len ? key : NULL;
		cfg.psk_key_len = cc->key_len;
		cfg.min_version = cc->min_version;
		cfg.max_version = cc->max_version;
		cfg.security_level = cc->security_level;
		cfg.cipher_list = cc->cipher_list;
		cfg.ciphersuites = cc->ciphersuites;
		int rc = scws_tls_ctx_new(&cfg, &ctx, err, sizeof(err));
		if (rc != cc->rc || !strstr(err, cc->err))
			fprintf(stderr, "\n%s: rc %d \"%s\"\n", cc->name, rc, err);
		CU_ASSERT_EQUAL(rc, cc->rc);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cc->err));
		if (rc == 0) {
			CU_ASSERT_STRING_EQUAL(err, "");
			CU_ASSERT_PTR_NOT_NULL(ctx);
		} else {
			CU_ASSERT_PTR_NULL(ctx);
		}
		CU_ASSERT_EQUAL(ERR_peek_error(), 0);
		scws_tls_ctx_free(ctx);
	}
}

/* A second certificate: RSA beside ECDSA loads, the same type twice, a
 * second without a first, a mismatched key are refused. */
static void test_config_two_certs(void)
{
	/* clang-format off */
	static const struct {
		const char *cert, *key, *cert2, *key2;
		int rc;
		const char *err;
	} cases[] = {
		{ "pki/scws-server.crt", "pki/scws-server.key", "pki/scws-server-rsa.crt",
		  "pki/scws-server-rsa.key", 0, "" },
		{ "pki/scws-server-rsa.crt", "pki/scws-server-rsa.key", "pki/scws-server.crt",
		  "pki/scws-server.key", 0, "" },
		{ "pki/scws-server.crt", "pki/scws-server.key", "pki/scws-server.crt",
		  "pki/scws-server.key", -EINVAL, "same key type as the first" },
		{ NULL, NULL, "pki/scws-server-rsa.crt", "pki/scws-server-rsa.key", -EINVAL,
		  "a second certificate without a first" },
		{ "pki/scws-server.crt", "pki/scws-server.key", "pki/scws-server-rsa.crt",
		  "pki/scws-server.key", -EINVAL, "scws-server.key: does not match the second" },
	};
	/* clang-format on */
	uint8_t psk[16] = { 0 };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scws_tls_config cfg;
		struct scws_tls_ctx *ctx = NULL;
		char c1[4096] = "", k1[4096] = "", c2[4096], k2[4096], err[256];
		scws_tls_config_init(&cfg);
		CU_ASSERT_TRUE(cfg.resumption);
		if (cases[i].cert) {
			snprintf(c1, sizeof(c1), "%s", unit_srcpath(cases[i].cert));
			snprintf(k1, sizeof(k1), "%s", unit_srcpath(cases[i].key));
			cfg.cert_file = c1;
			cfg.key_file = k1;
		} else {
			cfg.psk_identity = "id";
			cfg.psk_key = psk;
			cfg.psk_key_len = sizeof(psk);
		}
		snprintf(c2, sizeof(c2), "%s", unit_srcpath(cases[i].cert2));
		snprintf(k2, sizeof(k2), "%s", unit_srcpath(cases[i].key2));
		cfg.cert2_file = c2;
		cfg.key2_file = k2;
		cfg.resumption = i % 2 == 0;
		int rc = scws_tls_ctx_new(&cfg, &ctx, err, sizeof(err));
		if (rc != cases[i].rc || !strstr(err, cases[i].err))
			fprintf(stderr, "\n  two certs %zu: rc %d \"%s\"\n", i, rc, err);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].err));
		CU_ASSERT_EQUAL(ERR_peek_error(), 0);
		scws_tls_ctx_free(ctx);
	}
}

/* A zeroed config with a NULL err buffer still reports. */
static void test_config_null_err(void)
{
	struct scws_tls_config cfg;
	struct scws_tls_ctx *ctx;
	scws_tls_config_init(&cfg);
	CU_ASSERT_EQUAL(cfg.security_level, -1);
	CU_ASSERT_EQUAL(scws_tls_ctx_new(&cfg, &ctx, NULL, 0), -EINVAL);
	CU_ASSERT_PTR_NULL(ctx);
}

int unit_register(void)
{
	/* clang-format off */
	static CU_TestInfo handshakes[] = {
		UNIT_TEST(test_handshakes), UNIT_TEST(test_byte_at_a_time),
		CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	/* clang-format off */
	static CU_TestInfo failures[] = {
		UNIT_TEST(test_failures), UNIT_TEST(test_garbage), UNIT_TEST(test_random_bytes),
		CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	/* clang-format off */
	static CU_TestInfo bounds[] = {
		UNIT_TEST(test_output_bound), UNIT_TEST(test_input_bound), CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	/* clang-format off */
	static CU_TestInfo api[] = {
		UNIT_TEST(test_api_states), UNIT_TEST(test_config), UNIT_TEST(test_config_null_err),
		UNIT_TEST(test_config_two_certs),
		CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	int rc = unit_add_suite("scws_tls_handshake", handshakes);
	if (!rc)
		rc = unit_add_suite("scws_tls_failure", failures);
	if (!rc)
		rc = unit_add_suite("scws_tls_bounds", bounds);
	if (!rc)
		rc = unit_add_suite("scws_tls_api", api);
	return rc;
}
