/* tls.c - SCWS TLS server engine over OpenSSL memory BIOs
 * (RFC 2246, RFC 5246, RFC 8446; PSK: RFC 4279, RFC 5489). */
#include "scws/tls.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "core/buf.h"
#include "core/limits.h"

/* Output room scws_tls_write() keeps free before it encrypts another record:
 * the record itself plus slack for the small records OpenSSL may add (a
 * TLS 1.0 CBC empty fragment, a KeyUpdate, an alert). */
#define WRITE_ROOM (TLS_RECORD_HEADER + TLS_RECORD_MAX + 256u)

/* TLS alert descriptions we send ourselves (RFC 5246 §7.2). */
#define ALERT_DECODE_ERROR 50
#define ALERT_PROTOCOL_VERSION 70
#define ALERT_INTERNAL_ERROR 80

struct scws_tls_ctx {
	SSL_CTX *ssl_ctx;
	unsigned refs; /* the creator's plus one per connection */
	bool has_cert;
	bool has_rsa;            /* an RSA certificate: RSA key exchange suites too */
	size_t psk_identity_len; /* 0 = no PSK */
	char psk_identity[TLS_PSK_IDENTITY_MAX + 1];
	uint8_t psk_key[TLS_PSK_KEY_MAX];
	size_t psk_key_len;
	/* The configured TLS 1.3 suites whose hash is SHA-256 (the hash of
	 * our external PSK), as a list for SSL_set_ciphersuites() ("" when none
	 * or no PSK) and as code points. */
	char tls13_psk_suites[128];
	uint16_t tls13_psk_ids[8];
	size_t n_tls13_psk_ids;
};

struct scws_tls {
	struct scws_tls_ctx *ctx; /* one reference held */
	SSL *ssl;
	BIO *rbio; /* both BIOs are owned by ssl */
	BIO *wbio;
	struct buf out; /* ciphertext for the peer; len <= TLS_OUT_MAX */
	enum scws_tls_state state;
	bool has_output;     /* ciphertext was ever produced: keys may be in use */
	bool alert_sent;     /* a fatal alert went out */
	bool alert_rcvd;     /* a fatal alert came in */
	const char *version; /* static strings from OpenSSL, set when OPEN */
	const char *cipher;
	bool has_psk_identity;
	char psk_identity[TLS_PSK_IDENTITY_MAX + 1];
	char alert[80]; /* the last fatal alert, as text */
	/* What the ClientHello offered, to say a failure in words. */
	bool hello_seen;
	bool offered_psk; /* a PSK suite (TLS <= 1.2) or a pre_shared_key (1.3) */
	char offered_identity[TLS_PSK_IDENTITY_MAX + 1]; /* printable; "" = none */
	char hello_ciphers[TLS_REASON_LIST_MAX];
	char hello_versions[32];
	char reason[TLS_REASON_MAX];
	char cert[128]; /* subject of the certificate presented, "" for PSK */
};

static const char *const state_names[] = {
	[SCWS_TLS_ST_HANDSHAKING] = "handshaking",
	[SCWS_TLS_ST_OPEN] = "open",
	[SCWS_TLS_ST_CLOSED] = "closed",
	[SCWS_TLS_ST_FAILED] = "failed",
};

#define ST_BIT(s) (1u << (s))
static const unsigned allowed_next[] = {
	[SCWS_TLS_ST_HANDSHAKING] =
		ST_BIT(SCWS_TLS_ST_OPEN) | ST_BIT(SCWS_TLS_ST_CLOSED) | ST_BIT(SCWS_TLS_ST_FAILED),
	[SCWS_TLS_ST_OPEN] = ST_BIT(SCWS_TLS_ST_CLOSED) | ST_BIT(SCWS_TLS_ST_FAILED),
	[SCWS_TLS_ST_CLOSED] = 0,
	[SCWS_TLS_ST_FAILED] = 0,
};

const char *scws_tls_state_name(enum scws_tls_state st)
{
	if ((size_t)st >= sizeof(state_names) / sizeof(state_names[0]))
		return "?";
	return state_names[st];
}

static void set_state(struct scws_tls *t, enum scws_tls_state st)
{
	/* Every caller checks the state first: a refused transition is a bug. */
	assert(allowed_next[t->state] & ST_BIT(st));
	t->state = st;
}

void scws_tls_config_init(struct scws_tls_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->security_level = -1;
	cfg->resumption = true;
}

/* ------------------------------------------------------------------ PSK */

static bool identity_matches(const struct scws_tls_ctx *ctx, const void *id, size_t len)
{
	/* The identity is public (it travels in clear), so memcmp is fine. */
	return ctx->psk_identity_len && len == ctx->psk_identity_len &&
	       memcmp(id, ctx->psk_identity, len) == 0;
}

static void note_identity(struct scws_tls *t, const void *id, size_t len)
{
	/* Only called after identity_matches(): len <= TLS_PSK_IDENTITY_MAX. */
	memcpy(t->psk_identity, id, len);
	t->psk_identity[len] = '\0';
	t->has_psk_identity = true;
}

/* The identity the client named, printable (others as '?'), for the log:
 * an identity is no secret. */
static void note_offered_identity(struct scws_tls *t, const uint8_t *id, size_t len)
{
	if (len > TLS_PSK_IDENTITY_MAX)
		len = TLS_PSK_IDENTITY_MAX;
	for (size_t i = 0; i < len; i++)
		t->offered_identity[i] = id[i] >= 0x20 && id[i] < 0x7f ? (char)id[i] : '?';
	t->offered_identity[len] = '\0';
}

/* TLS <= 1.2 PSK key exchange (RFC 4279 §2); OpenSSL also falls back to it
 * in TLS 1.3 when psk_find_session() found nothing. 0 refuses the identity
 * (OpenSSL sends unknown_psk_identity). */
static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk,
				  unsigned int max_psk_len)
{
	struct scws_tls *t = SSL_get_app_data(ssl);
	const struct scws_tls_ctx *ctx = t->ctx;

	if (!identity)
		return 0;
	size_t len = strnlen(identity, TLS_PSK_IDENTITY_MAX + 1);
	note_offered_identity(t, (const uint8_t *)identity, len);
	if (!identity_matches(ctx, identity, len) || ctx->psk_key_len > max_psk_len)
		return 0;
	memcpy(psk, ctx->psk_key, ctx->psk_key_len);
	note_identity(t, identity, len);
	return (unsigned int)ctx->psk_key_len;
}

/* TLS 1.3 external PSK (RFC 8446 §4.2.11). An unknown identity is not an
 * error: the handshake goes on without a PSK (certificate, if any). The
 * session's cipher fixes the PSK's hash to SHA-256, the hash that OpenSSL's
 * s_client -psk and GnuTLS use for external PSKs. */
static int psk_find_session_cb(SSL *ssl, const unsigned char *identity, size_t identity_len,
			       SSL_SESSION **sess)
{
	static const unsigned char tls_aes_128_gcm_sha256[] = { 0x13, 0x01 };
	struct scws_tls *t = SSL_get_app_data(ssl);
	const struct scws_tls_ctx *ctx = t->ctx;

	*sess = NULL;
	if (!identity_matches(ctx, identity, identity_len))
		return 1;
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, tls_aes_128_gcm_sha256);
	SSL_SESSION *s = SSL_SESSION_new();
	if (!cipher || !s || !SSL_SESSION_set1_master_key(s, ctx->psk_key, ctx->psk_key_len) ||
	    !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return 0;
	}
	note_identity(t, identity, identity_len);
	*sess = s;
	return 1;
}

/* True when a TLS 1.3 pre_shared_key extension (RFC 8446 §4.2.11) offers
 * our identity. A malformed extension is simply no offer: OpenSSL rejects
 * it later. */
static bool offers_identity(const struct scws_tls_ctx *ctx, const uint8_t *ext, size_t len)
{
	struct rd r, ids;

	rd_init(&r, ext, len);
	uint16_t ids_len = rd_u16be(&r);
	struct bytes list = rd_bytes(&r, ids_len);
	if (r.failed)
		return false;
	rd_init(&ids, list.ptr, list.len);
	while (rd_left(&ids) && !ids.failed) {
		uint16_t id_len = rd_u16be(&ids);
		struct bytes id = rd_bytes(&ids, id_len);
		(void)rd_bytes(&ids, 4); /* obfuscated_ticket_age */
		if (!ids.failed && identity_matches(ctx, id.ptr, id.len))
			return true;
	}
	return false;
}

/* True when the client offers one of the suites our PSK can use. */
static bool offers_psk_suite(const struct scws_tls_ctx *ctx, SSL *ssl)
{
	const unsigned char *list;
	size_t len = SSL_client_hello_get0_ciphers(ssl, &list);

	for (size_t i = 0; i + 1 < len; i += 2) {
		uint16_t id = (uint16_t)(list[i] << 8 | list[i + 1]);
		for (size_t j = 0; j < ctx->n_tls13_psk_ids; j++)
			if (id == ctx->tls13_psk_ids[j])
				return true;
	}
	return false;
}

/* With a certificate, OpenSSL picks the TLS 1.3 suite before it looks at
 * the PSK, takes the client's first choice (TLS_AES_256_GCM_SHA384 for most
 * clients) and then ignores our SHA-256 PSK for the hash mismatch: a PSK
 * client would get the certificate. Only PSK-only contexts get OpenSSL's
 * own SHA-256 preference. So when the client offers our identity and a
 * suite this PSK can use, keep only those suites for this handshake. */
static const char *version_name(unsigned v)
{
	switch (v) {
	case SSL3_VERSION:
		return "SSL 3.0";
	case TLS1_VERSION:
		return "TLS 1.0";
	case TLS1_1_VERSION:
		return "TLS 1.1";
	case TLS1_2_VERSION:
		return "TLS 1.2";
	case TLS1_3_VERSION:
		return "TLS 1.3";
	default:
		return "?";
	}
}

static void version_range(char *out, size_t cap, unsigned lo, unsigned hi)
{
	if (lo == hi)
		snprintf(out, cap, "%s", version_name(lo));
	else
		snprintf(out, cap, "%s to %s", version_name(lo), version_name(hi));
}

/* Remembers the versions, suites and PSK the client offered. */
static void note_hello(struct scws_tls *t, SSL *ssl)
{
	const unsigned char *list, *ext;
	size_t len = SSL_client_hello_get0_ciphers(ssl, &list), elen;
	struct wr w;
	t->hello_seen = true;
	wr_init(&w, t->hello_ciphers, sizeof(t->hello_ciphers) - 1);
	for (size_t i = 0; i + 1 < len; i += 2) {
		uint16_t id = (uint16_t)(list[i] << 8 | list[i + 1]);
		if (id == 0x00FF || id == 0x5600 || (id & 0x0F0F) == 0x0A0A)
			continue; /* renegotiation and fallback SCSVs, GREASE */
		const SSL_CIPHER *c = SSL_CIPHER_find(ssl, list + i);
		const char *name = c ? SSL_CIPHER_get_name(c) : NULL;
		char hex[8];
		if (!name) /* formatted only for a suite OpenSSL has no name for */
			snprintf(hex, sizeof(hex), "0x%04X", id);
		if (name && strstr(name, "PSK"))
			t->offered_psk = true;
		if (w.len)
			wr_mem(&w, ":", 1);
		wr_mem(&w, name ? name : hex, strlen(name ? name : hex));
	}
	size_t hl = w.len && t->hello_ciphers[w.len - 1] == ':' ? w.len - 1 : w.len;
	t->hello_ciphers[hl] = '\0';
	if (w.failed && hl + 4 < sizeof(t->hello_ciphers))
		memcpy(t->hello_ciphers + hl, ":...", 5);
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &ext, &elen)) {
		struct rd r, ids;
		t->offered_psk = true;
		rd_init(&r, ext, elen);
		struct bytes l = rd_bytes(&r, rd_u16be(&r));
		rd_init(&ids, l.ptr, l.len);
		struct bytes id = rd_bytes(&ids, rd_u16be(&ids));
		if (!r.failed && !ids.failed)
			note_offered_identity(t, id.ptr, id.len);
	}
	unsigned lo = SSL_client_hello_get0_legacy_version(ssl), hi = lo;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &ext, &elen)) {
		struct rd r;
		rd_init(&r, ext, elen);
		struct bytes vs = rd_bytes(&r, rd_u8(&r));
		lo = 0xFFFF, hi = 0;
		for (size_t i = 0; !r.failed && i + 1 < vs.len; i += 2) {
			unsigned v = (unsigned)(vs.ptr[i] << 8 | vs.ptr[i + 1]);
			if (v < SSL3_VERSION || v > TLS1_3_VERSION)
				continue; /* GREASE, drafts */
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		if (hi == 0)
			lo = hi = SSL_client_hello_get0_legacy_version(ssl);
	}
	version_range(t->hello_versions, sizeof(t->hello_versions), lo, hi);
}

static int client_hello_cb(SSL *ssl, int *alert, void *arg)
{
	const struct scws_tls_ctx *ctx = arg;
	const unsigned char *ext;
	size_t len;

	note_hello(SSL_get_app_data(ssl), ssl);
	if (!ctx->n_tls13_psk_ids || !SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &ext, &len))
		return SSL_CLIENT_HELLO_SUCCESS;
	if (offers_identity(ctx, ext, len) && offers_psk_suite(ctx, ssl) &&
	    SSL_set_ciphersuites(ssl, ctx->tls13_psk_suites) != 1) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* Fills ctx->tls13_psk_suites from the context's final suite list. */
static void find_psk_suites(struct scws_tls_ctx *ctx)
{
	STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(ctx->ssl_ctx);
	struct wr w;

	wr_init(&w, ctx->tls13_psk_suites, sizeof(ctx->tls13_psk_suites) - 1);
	for (int i = 0; i < sk_SSL_CIPHER_num(all); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, i);
		const EVP_MD *md = SSL_CIPHER_get_handshake_digest(c);
		/* TLS 1.3 suites are 0x13xx (RFC 8446 §B.4). */
		if ((SSL_CIPHER_get_protocol_id(c) >> 8) != 0x13 || !md ||
		    EVP_MD_get_type(md) != NID_sha256)
			continue;
		const char *name = SSL_CIPHER_get_name(c);
		if (w.len)
			wr_u8(&w, ':');
		wr_mem(&w, name, strlen(name));
		if (ctx->n_tls13_psk_ids <
		    sizeof(ctx->tls13_psk_ids) / sizeof(ctx->tls13_psk_ids[0]))
			ctx->tls13_psk_ids[ctx->n_tls13_psk_ids++] = SSL_CIPHER_get_protocol_id(c);
	}
	if (w.failed)
		ctx->n_tls13_psk_ids = 0; /* leave OpenSSL's choice alone */
	ctx->tls13_psk_suites[w.failed ? 0 : w.len] = '\0';
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	if (!(where & SSL_CB_ALERT))
		return;
	struct scws_tls *t = SSL_get_app_data(ssl);
	bool fatal = (ret >> 8) == SSL3_AL_FATAL;
	/* Keep the first fatal alert: it says why; close_notify says nothing. */
	if (!fatal || t->alert_sent || t->alert_rcvd)
		return;
	bool sent = (where & SSL_CB_WRITE) != 0;
	if (sent)
		t->alert_sent = true;
	else
		t->alert_rcvd = true;
	snprintf(t->alert, sizeof(t->alert), "%s fatal alert: %s", sent ? "sent" : "received",
		 SSL_alert_desc_string_long(ret));
}

/* -------------------------------------------------------------- context */

/* "what: why: OpenSSL's first reason" into err; why or the reason may be
 * missing. The earliest error is the cause ("No such file or directory"),
 * the later ones only say who called whom. */
static int ctx_error(char *err, size_t err_cap, const char *what, const char *why)
{
	unsigned long e = ERR_peek_error();
	const char *lib = NULL;

	if (e && ERR_SYSTEM_ERROR(e))
		lib = strerror(ERR_GET_REASON(e));
	else if (e)
		lib = ERR_reason_error_string(e);
	if (err && err_cap) {
		if (why && lib)
			snprintf(err, err_cap, "%s: %s: %s", what, why, lib);
		else
			snprintf(err, err_cap, "%s: %s", what,
				 why   ? why
				 : lib ? lib
				       : "rejected by OpenSSL");
	}
	ERR_clear_error();
	return -EINVAL;
}

static bool version_ok(int v)
{
	return v == TLS1_VERSION || v == TLS1_1_VERSION || v == TLS1_2_VERSION ||
	       v == TLS1_3_VERSION;
}

/* Never prompt for a pass phrase: the profile refused encrypted keys. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0;
}

/* A certificate chain (server first) from PEM bytes, as
 * SSL_CTX_use_certificate_chain_file() reads one from a file. */
static int use_chain_mem(SSL_CTX *c, const uint8_t *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x = bio ? PEM_read_bio_X509_AUX(bio, NULL, no_password, NULL) : NULL;
	int ok = x && SSL_CTX_use_certificate(c, x) == 1 && SSL_CTX_clear_chain_certs(c) == 1;
	X509_free(x);
	while (ok) {
		X509 *ca = PEM_read_bio_X509(bio, NULL, no_password, NULL);
		if (!ca) {
			/* The end of the PEM stream is not an error. */
			unsigned long e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				ERR_clear_error();
			else
				ok = 0;
			break;
		}
		if (SSL_CTX_add0_chain_cert(c, ca) != 1) {
			X509_free(ca);
			ok = 0;
		}
	}
	BIO_free(bio);
	return ok;
}

/* The chain from pem when given (no second read of a file the profile
 * already checked: no window between the check and this use), else from
 * file. 1 on success, 0 with OpenSSL's error queue set. */
static int load_chain(SSL_CTX *c, const char *file, const uint8_t *pem, size_t len)
{
	return pem ? use_chain_mem(c, pem, len) : SSL_CTX_use_certificate_chain_file(c, file) == 1;
}

static int load_key(SSL_CTX *c, const char *file, const uint8_t *pem, size_t len)
{
	if (!pem)
		return SSL_CTX_use_PrivateKey_file(c, file, SSL_FILETYPE_PEM) == 1;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL) : NULL;
	int ok = k && SSL_CTX_use_PrivateKey(c, k) == 1;
	EVP_PKEY_free(k);
	BIO_free(bio);
	return ok;
}

/* True when the first certificate (cert_file) has an RSA key. */
static bool first_cert_is_rsa(SSL_CTX *c, const struct scws_tls_config *cfg)
{
	if (!cfg->cert_file || cfg->cert2_file)
		return false;
	X509 *x = SSL_CTX_get0_certificate(c);
	return x && EVP_PKEY_get_base_id(X509_get0_pubkey(x)) == EVP_PKEY_RSA;
}

static int ctx_setup(struct scws_tls_ctx *ctx, const struct scws_tls_config *cfg, char *err,
		     size_t err_cap)
{
	SSL_CTX *c = ctx->ssl_ctx;
	int min = cfg->min_version ? cfg->min_version : TLS1_2_VERSION;
	int max = cfg->max_version ? cfg->max_version : TLS1_3_VERSION;
	bool has_psk = cfg->psk_identity != NULL;
	char list[512];

	if (!version_ok(min) || !version_ok(max) || min > max)
		return ctx_error(err, err_cap, "TLS versions", "min/max not within TLS 1.0..1.3");
	if (!cfg->cert_file && !has_psk)
		return ctx_error(err, err_cap, "TLS", "neither a certificate nor a PSK configured");
	if (!cfg->cert_file && cfg->key_file)
		return ctx_error(err, err_cap, cfg->key_file, "a key file without a certificate");
	if (cfg->security_level < -1 || cfg->security_level > 5)
		return ctx_error(err, err_cap, "TLS security level", "not within 0..5");

	if (!SSL_CTX_set_min_proto_version(c, min) || !SSL_CTX_set_max_proto_version(c, max))
		return ctx_error(err, err_cap, "TLS versions", NULL);
	/* No renegotiation: it buys a peer CPU time on the card and nothing
	 * else. */
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* An idle connection gives its 16 KB + 16 KB record buffers back;
	 * OpenSSL allocates them again when a record comes or goes. */
	SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
	if (cfg->resumption) {
		/* Session IDs (TLS <= 1.2) from a bounded cache; tickets for
		 * both versions, sealed with keys OpenSSL makes per context (a
		 * reload, a restart: full handshakes again). */
		static const unsigned char sid_ctx[] = "scwsemu";
		SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
		SSL_CTX_sess_set_cache_size(c, SCWS_TLS_SESSIONS_MAX);
		if (!SSL_CTX_set_session_id_context(c, sid_ctx, sizeof(sid_ctx) - 1) ||
		    !SSL_CTX_set_num_tickets(c, SCWS_TLS_TICKETS))
			return ctx_error(err, err_cap, "TLS session resumption", NULL);
	} else {
		/* A handset fetch is one full handshake, and the card keeps
		 * nothing between connections. */
		SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
		SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
		if (!SSL_CTX_set_num_tickets(c, 0))
			return ctx_error(err, err_cap, "TLS tickets", NULL);
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_info_callback(c, info_cb);
	/* Before the cipher list: an "@SECLEVEL=n" there must win. */
	if (cfg->security_level >= 0)
		SSL_CTX_set_security_level(c, cfg->security_level);

	if (cfg->cert_file) {
		const char *key = cfg->key_file ? cfg->key_file : cfg->cert_file;
		const uint8_t *kp = cfg->key_file ? cfg->key_pem : cfg->cert_pem;
		size_t kl = cfg->key_file ? cfg->key_pem_len : cfg->cert_pem_len;
		if (!load_chain(c, cfg->cert_file, cfg->cert_pem, cfg->cert_pem_len))
			return ctx_error(err, err_cap, cfg->cert_file,
					 "cannot load the certificate chain");
		if (!load_key(c, key, kp, kl))
			return ctx_error(err, err_cap, key, "cannot load the private key");
		if (SSL_CTX_check_private_key(c) != 1)
			return ctx_error(err, err_cap, key, "does not match the certificate");
		ctx->has_cert = true;
	}
	if (cfg->cert2_file) {
		/* OpenSSL keeps one certificate per key type: the second must be
		 * of another type, or it would replace the first. */
		const char *key = cfg->key2_file ? cfg->key2_file : cfg->cert2_file;
		const uint8_t *kp = cfg->key2_file ? cfg->key2_pem : cfg->cert2_pem;
		size_t kl = cfg->key2_file ? cfg->key2_pem_len : cfg->cert2_pem_len;
		X509 *first = cfg->cert_file ? SSL_CTX_get0_certificate(c) : NULL;
		int first_type = first ? EVP_PKEY_get_base_id(X509_get0_pubkey(first)) : NID_undef;
		if (!cfg->cert_file)
			return ctx_error(err, err_cap, cfg->cert2_file,
					 "a second certificate without a first");
		if (!load_chain(c, cfg->cert2_file, cfg->cert2_pem, cfg->cert2_pem_len))
			return ctx_error(err, err_cap, cfg->cert2_file,
					 "cannot load the certificate chain");
		X509 *second = SSL_CTX_get0_certificate(c);
		if (!second || EVP_PKEY_get_base_id(X509_get0_pubkey(second)) == first_type)
			return ctx_error(err, err_cap, cfg->cert2_file,
					 "has the same key type as the first certificate");
		if (!load_key(c, key, kp, kl))
			return ctx_error(err, err_cap, key, "cannot load the private key");
		/* OpenSSL files a key under its own type: a key of the first
		 * certificate's type would load and leave the second keyless. */
		EVP_PKEY *pk = SSL_CTX_get0_privatekey(c);
		if (!pk || X509_check_private_key(second, pk) != 1)
			return ctx_error(err, err_cap, key,
					 "does not match the second certificate");
		if (first_type == EVP_PKEY_RSA ||
		    EVP_PKEY_get_base_id(X509_get0_pubkey(second)) == EVP_PKEY_RSA)
			ctx->has_rsa = true;
	} else if (first_cert_is_rsa(c, cfg)) {
		ctx->has_rsa = true;
	}

	if (has_psk) {
		size_t id_len = strnlen(cfg->psk_identity, TLS_PSK_IDENTITY_MAX + 1);
		if (id_len == 0 || id_len > TLS_PSK_IDENTITY_MAX)
			return ctx_error(err, err_cap, "PSK identity", "empty or too long");
		if (!cfg->psk_key || cfg->psk_key_len == 0 || cfg->psk_key_len > TLS_PSK_KEY_MAX)
			return ctx_error(err, err_cap, "PSK key", "empty or longer than 64 bytes");
		memcpy(ctx->psk_identity, cfg->psk_identity, id_len);
		ctx->psk_identity[id_len] = '\0';
		ctx->psk_identity_len = id_len;
		memcpy(ctx->psk_key, cfg->psk_key, cfg->psk_key_len);
		ctx->psk_key_len = cfg->psk_key_len;
		SSL_CTX_set_psk_server_callback(c, psk_server_cb);
		SSL_CTX_set_psk_find_session_callback(c, psk_find_session_cb);
	}

	if (min <= TLS1_2_VERSION) {
		const char *cl = cfg->cipher_list;
		if (!cl) {
			/* Without a certificate only PSK suites can complete, and
			 * without a PSK none of them may be offered. */
			snprintf(list, sizeof(list), "%s%s%s%s%s",
				 ctx->has_cert ? SCWS_TLS_CIPHERS_CERT : "",
				 ctx->has_rsa ? ":" : "", ctx->has_rsa ? SCWS_TLS_CIPHERS_RSA : "",
				 ctx->has_cert && has_psk ? ":" : "",
				 has_psk ? SCWS_TLS_CIPHERS_PSK : "");
			cl = list;
		}
		if (SSL_CTX_set_cipher_list(c, cl) != 1)
			return ctx_error(err, err_cap, "TLS cipher list", NULL);
	}
	if (cfg->ciphersuites && SSL_CTX_set_ciphersuites(c, cfg->ciphersuites) != 1)
		return ctx_error(err, err_cap, "TLS 1.3 ciphersuites", NULL);
	/* Every handshake: what the client offered says why one fails. */
	SSL_CTX_set_client_hello_cb(c, client_hello_cb, ctx);
	if (has_psk && max >= TLS1_3_VERSION)
		find_psk_suites(ctx);
	return 0;
}

int scws_tls_ctx_new(const struct scws_tls_config *cfg, struct scws_tls_ctx **out, char *err,
		     size_t err_cap)
{
	*out = NULL;
	if (err && err_cap)
		err[0] = '\0';
	ERR_clear_error();
	struct scws_tls_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->refs = 1;
	ctx->ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx->ssl_ctx) {
		free(ctx);
		ERR_clear_error();
		return -ENOMEM;
	}
	int rc = ctx_setup(ctx, cfg, err, err_cap);
	if (rc) {
		scws_tls_ctx_free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

static void ctx_unref(struct scws_tls_ctx *ctx)
{
	if (!ctx || --ctx->refs)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	OPENSSL_cleanse(ctx->psk_key, sizeof(ctx->psk_key));
	free(ctx);
}

void scws_tls_ctx_free(struct scws_tls_ctx *ctx)
{
	ctx_unref(ctx);
}

bool scws_tls_ctx_has_cert(const struct scws_tls_ctx *ctx)
{
	return ctx->has_cert;
}

bool scws_tls_ctx_has_psk(const struct scws_tls_ctx *ctx)
{
	return ctx->psk_identity_len != 0;
}

/* ----------------------------------------------------------- connection */

struct scws_tls *scws_tls_new(struct scws_tls_ctx *ctx)
{
	struct scws_tls *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	ERR_clear_error();
	t->ssl = SSL_new(ctx->ssl_ctx);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (!t->ssl || !t->rbio || !t->wbio) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		ERR_clear_error();
		return NULL;
	}
	/* An empty rbio must read as "want read", not as EOF (doc/style.md §5). */
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_app_data(t->ssl, t);
	SSL_set_accept_state(t->ssl);
	buf_init(&t->out, TLS_OUT_MAX);
	t->ctx = ctx;
	ctx->refs++;
	t->state = SCWS_TLS_ST_HANDSHAKING;
	return t;
}

void scws_tls_free(struct scws_tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	buf_cleanup(&t->out);
	ctx_unref(t->ctx);
	free(t);
}

/* Moves everything OpenSSL wrote into the output buffer: after every SSL_*
 * call (doc/style.md §5). -EMSGSIZE when the caller let it pass TLS_OUT_MAX. */
static int drain(struct scws_tls *t)
{
	size_t n;

	while ((n = BIO_ctrl_pending(t->wbio)) > 0) {
		if (n > TLS_OUT_MAX)
			n = TLS_OUT_MAX;
		int rc = buf_reserve(&t->out, n);
		if (rc)
			return rc;
		int got = BIO_read(t->wbio, t->out.p + t->out.len, (int)n);
		if (got <= 0)
			return -EIO;
		t->out.len += (size_t)got;
		t->has_output = true;
	}
	return 0;
}

/* A plaintext fatal alert for a peer that OpenSSL chose not to answer:
 * bytes that do not look like TLS at all ("Doesn't look like TLS - don't
 * send an alert" in its record layer). The caller always gets an alert. */
static void queue_own_alert(struct scws_tls *t, unsigned long e)
{
	int desc = ALERT_INTERNAL_ERROR;

	if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
		switch (ERR_GET_REASON(e)) {
		case SSL_R_WRONG_VERSION_NUMBER:
		case SSL_R_HTTP_REQUEST:
		case SSL_R_HTTPS_PROXY_REQUEST:
		case SSL_R_UNSUPPORTED_PROTOCOL:
			desc = ALERT_PROTOCOL_VERSION;
			break;
		case SSL_R_LENGTH_MISMATCH:
		case SSL_R_LENGTH_TOO_SHORT:
		case SSL_R_BAD_PACKET_LENGTH:
			desc = ALERT_DECODE_ERROR;
			break;
		default:
			break;
		}
	}
	/* Record version 3.1: what every TLS version accepts before the
	 * handshake has agreed on one (RFC 8446 §5.1, RFC 5246 Appendix E.1). */
	const uint8_t rec[] = { 0x15, 0x03, 0x01, 0x00, 0x02, SSL3_AL_FATAL, (uint8_t)desc };
	if (buf_append(&t->out, rec, sizeof(rec)) == 0) {
		t->alert_sent = true;
		snprintf(t->alert, sizeof(t->alert), "sent fatal alert: %s",
			 SSL_alert_desc_string_long(desc));
	}
}

/* The card's suites for this handshake, ":"-joined (cut at cap). */
static void card_ciphers(SSL *ssl, char *out, size_t cap)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_get_ciphers(ssl);
	struct wr w;
	wr_init(&w, out, cap - 1);
	for (int i = 0; sk && i < sk_SSL_CIPHER_num(sk); i++) {
		const char *name = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, i));
		if (w.len)
			wr_mem(&w, ":", 1);
		wr_mem(&w, name, strlen(name));
	}
	size_t ol = w.len && out[w.len - 1] == ':' ? w.len - 1 : w.len;
	out[ol] = '\0';
	if (w.failed && ol + 4 < cap)
		memcpy(out + ol, ":...", 5);
}

/* A handshake failure in words, from OpenSSL's reason and what the
 * ClientHello offered; "" when there is nothing to add. */
static void explain(const struct scws_tls *t, unsigned long e, char *out, size_t cap)
{
	const struct scws_tls_ctx *ctx = t->ctx;
	int r = e ? ERR_GET_REASON(e) : 0;
	out[0] = '\0';
	if (!t->hello_seen || t->state != SCWS_TLS_ST_HANDSHAKING)
		return;
	bool bad_mac = r == SSL_R_BINDER_DOES_NOT_VERIFY ||
		       r == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC ||
		       r == SSL_R_DIGEST_CHECK_FAILED || strstr(t->alert, "bad record mac") ||
		       strstr(t->alert, "decrypt");
	if (t->has_psk_identity && bad_mac) {
		snprintf(out, cap,
			 "wrong PSK key for identity '%s': the client's key is not the "
			 "card's",
			 t->psk_identity);
	} else if (t->offered_identity[0] && ctx->psk_identity_len &&
		   !identity_matches(ctx, t->offered_identity, strlen(t->offered_identity))) {
		snprintf(out, cap, "the client's PSK identity '%s' is not the card's ('%s')",
			 t->offered_identity, ctx->psk_identity);
	} else if (!ctx->has_cert && !t->offered_psk) {
		snprintf(out, cap,
			 "the client offered no PSK, and this card has only PSK (no "
			 "certificate): give the client the card's identity '%s' and key",
			 ctx->psk_identity);
	} else if (r == SSL_R_UNSUPPORTED_PROTOCOL || r == SSL_R_VERSION_TOO_LOW ||
		   r == SSL_R_WRONG_VERSION_NUMBER || r == SSL_R_UNKNOWN_PROTOCOL ||
		   r == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION) {
		char card[32];
		version_range(card, sizeof(card), (unsigned)SSL_get_min_proto_version(t->ssl),
			      (unsigned)SSL_get_max_proto_version(t->ssl));
		snprintf(out, cap,
			 "protocol version refused: the client offers %s, the card "
			 "accepts %s",
			 t->hello_versions, card);
	} else if (r == SSL_R_NO_SHARED_CIPHER) {
		char card[TLS_REASON_LIST_MAX];
		card_ciphers(t->ssl, card, sizeof(card));
		snprintf(out, cap, "no cipher in common: the client offers %s; the card accepts %s",
			 t->hello_ciphers[0] ? t->hello_ciphers : "none", card);
	}
}

/* Moves to FAILED and builds the reason. `what` is used when OpenSSL left
 * no error. Clears OpenSSL's (per-thread) error queue so that the next
 * connection does not inherit this one's errors. Returns -EPROTO. */
static int fail(struct scws_tls *t, const char *what)
{
	unsigned long e = ERR_peek_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;
	char lib[64];

	if (e && !why) {
		ERR_error_string_n(e, lib, sizeof(lib));
		why = lib;
	}
	if (!why)
		why = what;
	if (t->state == SCWS_TLS_ST_HANDSHAKING && !t->alert_sent && !t->alert_rcvd &&
	    !t->has_output)
		queue_own_alert(t, e);
	char words[TLS_REASON_MAX];
	explain(t, e, words, sizeof(words));
	if (words[0])
		snprintf(t->reason, sizeof(t->reason), "%s (%s%s%s)", words, why,
			 t->alert[0] ? "; " : "", t->alert);
	else if (t->alert[0])
		snprintf(t->reason, sizeof(t->reason), "%s (%s)", why, t->alert);
	else
		snprintf(t->reason, sizeof(t->reason), "%s", why);
	ERR_clear_error();
	if (t->state != SCWS_TLS_ST_FAILED)
		set_state(t, SCWS_TLS_ST_FAILED);
	return -EPROTO;
}

static const char *drain_error(int rc)
{
	return rc == -EMSGSIZE ? "output over TLS_OUT_MAX (not sent by the caller)"
			       : "out of memory";
}

static void on_open(struct scws_tls *t)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);

	t->version = SSL_get_version(t->ssl);
	t->cipher = c ? SSL_CIPHER_get_name(c) : "?";
	/* A callback that matched the identity does not mean the PSK was
	 * used: TLS 1.3 may still go on with the certificate. */
	if (SSL_version(t->ssl) >= TLS1_3_VERSION) {
		if (!SSL_session_reused(t->ssl))
			t->has_psk_identity = false;
	} else if (!c || SSL_CIPHER_get_auth_nid(c) != NID_auth_psk) {
		t->has_psk_identity = false;
	}
	X509 *x = t->has_psk_identity ? NULL : SSL_get_certificate(t->ssl);
	if (x)
		X509_NAME_oneline(X509_get_subject_name(x), t->cert, sizeof(t->cert));
	set_state(t, SCWS_TLS_ST_OPEN);
}

static int step_handshake(struct scws_tls *t)
{
	ERR_clear_error();
	int rc = SSL_do_handshake(t->ssl);
	int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, rc);
	int drc = drain(t);

	if (drc)
		return fail(t, drain_error(drc));
	if (rc == 1) {
		on_open(t);
		return 0;
	}
	if (err == SSL_ERROR_WANT_READ)
		return 0;
	return fail(t, t->alert_rcvd ? "peer alert" : "handshake failed");
}

int scws_tls_feed(struct scws_tls *t, const uint8_t *in, size_t len, size_t *used)
{
	*used = 0;
	if (t->state != SCWS_TLS_ST_HANDSHAKING && t->state != SCWS_TLS_ST_OPEN)
		return -EBADFD;
	size_t pending = BIO_ctrl_pending(t->rbio);
	size_t n = pending < TLS_IN_MAX ? TLS_IN_MAX - pending : 0;
	if (n > len)
		n = len;
	if (n) {
		if (BIO_write(t->rbio, in, (int)n) != (int)n)
			return fail(t, "out of memory");
		*used = n;
	}
	if (t->state == SCWS_TLS_ST_HANDSHAKING)
		return step_handshake(t);
	return 0;
}

int scws_tls_read(struct scws_tls *t, uint8_t *out, size_t cap, size_t *out_len)
{
	*out_len = 0;
	if (cap == 0)
		return -EINVAL;
	switch (t->state) {
	case SCWS_TLS_ST_FAILED:
		return -EPROTO;
	case SCWS_TLS_ST_CLOSED:
		return -EPIPE;
	case SCWS_TLS_ST_HANDSHAKING: {
		int rc = step_handshake(t);
		if (rc)
			return rc;
		if (t->state != SCWS_TLS_ST_OPEN)
			return -EAGAIN;
		break;
	}
	case SCWS_TLS_ST_OPEN:
		break;
	}

	size_t got = 0;
	ERR_clear_error();
	int rc = SSL_read_ex(t->ssl, out, cap, &got);
	int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, rc);
	int drc = drain(t);
	if (drc)
		return fail(t, drain_error(drc));
	if (rc == 1) {
		*out_len = got;
		return 0;
	}
	switch (err) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify: answer with ours (RFC 5246 §7.2.1). */
		ERR_clear_error();
		SSL_shutdown(t->ssl);
		ERR_clear_error();
		drc = drain(t);
		if (drc)
			return fail(t, drain_error(drc));
		set_state(t, SCWS_TLS_ST_CLOSED);
		return -EPIPE;
	default:
		return fail(t, t->alert_rcvd ? "peer alert" : "read failed");
	}
}

int scws_tls_write(struct scws_tls *t, const uint8_t *in, size_t len, size_t *used)
{
	*used = 0;
	if (t->state == SCWS_TLS_ST_FAILED)
		return -EPROTO;
	if (t->state != SCWS_TLS_ST_OPEN)
		return -EBADFD;
	while (*used < len && TLS_OUT_MAX - t->out.len >= WRITE_ROOM) {
		size_t chunk = len - *used;
		if (chunk > TLS_PLAINTEXT_MAX)
			chunk = TLS_PLAINTEXT_MAX;
		size_t done = 0;
		ERR_clear_error();
		int rc = SSL_write_ex(t->ssl, in + *used, chunk, &done);
		int drc = drain(t);
		if (drc)
			return fail(t, drain_error(drc));
		/* With memory BIOs and no renegotiation a write cannot block. */
		if (rc != 1)
			return fail(t, "write failed");
		*used += done;
	}
	if (*used == 0 && len > 0)
		return -EAGAIN;
	return 0;
}

struct bytes scws_tls_output(const struct scws_tls *t)
{
	return bytes_make(t->out.p, t->out.len);
}

void scws_tls_output_consume(struct scws_tls *t, size_t n)
{
	buf_consume(&t->out, n);
}

void scws_tls_shrink(struct scws_tls *t)
{
	if (!t->out.len)
		buf_cleanup(&t->out);
}

int scws_tls_close(struct scws_tls *t)
{
	switch (t->state) {
	case SCWS_TLS_ST_HANDSHAKING:
		set_state(t, SCWS_TLS_ST_CLOSED);
		return 0;
	case SCWS_TLS_ST_OPEN: {
		ERR_clear_error();
		/* 0 = ours sent, the peer's not yet seen: we do not wait for it. */
		int rc = SSL_shutdown(t->ssl);
		int drc = drain(t);
		if (drc)
			return fail(t, drain_error(drc));
		if (rc < 0)
			return fail(t, "close_notify failed");
		ERR_clear_error();
		set_state(t, SCWS_TLS_ST_CLOSED);
		return 0;
	}
	case SCWS_TLS_ST_CLOSED:
	case SCWS_TLS_ST_FAILED:
		break;
	}
	return 0;
}

enum scws_tls_state scws_tls_state(const struct scws_tls *t)
{
	return t->state;
}

const char *scws_tls_reason(const struct scws_tls *t)
{
	return t->reason;
}

const char *scws_tls_version(const struct scws_tls *t)
{
	return t->version;
}

const char *scws_tls_cipher(const struct scws_tls *t)
{
	return t->cipher;
}

const char *scws_tls_psk_identity(const struct scws_tls *t)
{
	return t->version && t->has_psk_identity ? t->psk_identity : NULL;
}

const char *scws_tls_sni(const struct scws_tls *t)
{
	return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

const char *scws_tls_alert(const struct scws_tls *t)
{
	return t->alert;
}

const char *scws_tls_cert_subject(const struct scws_tls *t)
{
	return t->version && t->cert[0] ? t->cert : NULL;
}
