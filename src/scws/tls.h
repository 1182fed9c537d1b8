/* tls.h - SCWS TLS server engine, sans-I/O, over OpenSSL memory BIOs
 * (TLS 1.0-1.3: RFC 2246, RFC 5246, RFC 8446; PSK: RFC 4279, RFC 5489).
 *
 * The engine never touches a socket. A connection object drives it:
 *
 *	bytes from the peer -> scws_tls_feed()
 *	scws_tls_read() until -EAGAIN -> plaintext to the HTTP parser
 *	HTTP response -> scws_tls_write()
 *	scws_tls_output() / scws_tls_output_consume() -> bytes to the peer
 *
 * and sends whatever scws_tls_output() holds after every call, failures
 * included: a failed handshake leaves its alert there. A plain-HTTP port
 * simply has no engine.
 *
 * A context (struct scws_tls_ctx) holds one card's TLS settings: a server
 * certificate, a PSK, or both at once. TLS 1.2 PSK uses the RFC 4279 suites
 * and TLS 1.3 an external PSK (RFC 8446 §4.2.11) with SHA-256 as its hash,
 * as OpenSSL's s_client -psk and GnuTLS use it; the handshake then runs on
 * a SHA-256 suite (TLS_AES_128_GCM_SHA256 or TLS_CHACHA20_POLY1305_SHA256),
 * also when the context has a certificate and the client prefers
 * TLS_AES_256_GCM_SHA384. TLS_PSK_WITH_3DES_EDE_CBC_SHA (00 8B), which old
 * SCWS profiles list, cannot be offered: OpenSSL 3 as shipped by Debian has
 * no 3DES suite at all. Two certificates may serve side by side (an ECDSA
 * and an RSA one): OpenSSL picks by the client's signature algorithms and
 * suites. Session resumption (config.resumption, on by default): TLS <= 1.2
 * session IDs (an internal cache of SCWS_TLS_SESSIONS_MAX sessions) and
 * tickets, TLS 1.3 tickets (two after each full handshake); off, every
 * handset fetch is a full handshake and the card keeps no state between
 * connections.
 *
 * Single-threaded: a context and its connections belong to one thread. */
#ifndef SCWS_SCWS_TLS_H
#define SCWS_SCWS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"

/* The settings of one card. The caller fills it (from the card profile);
 * scws_tls_ctx_new() copies what it keeps, so the strings and the key are
 * only borrowed for the duration of that call. */
struct scws_tls_config {
	const char *cert_file; /* PEM certificate chain, server first; NULL = none */
	const char *key_file;  /* PEM private key; NULL = the key is in cert_file */
	/* A second certificate of another key type (RSA beside ECDSA); both
	 * NULL = none. Needs cert_file. */
	const char *cert2_file;
	const char *key2_file;
	/* The same four as bytes already in memory (what the card profile read
	 * and checked). Each, when set, is used instead of reading its file;
	 * the file name must still be set: it says the file is configured and
	 * names it in errors. */
	const uint8_t *cert_pem, *key_pem, *cert2_pem, *key2_pem;
	size_t cert_pem_len, key_pem_len, cert2_pem_len, key2_pem_len;
	bool resumption;          /* session IDs and tickets; true after _init() */
	const char *psk_identity; /* NULL = no PSK; 1..TLS_PSK_IDENTITY_MAX bytes */
	const uint8_t *psk_key;   /* 1..TLS_PSK_KEY_MAX bytes */
	size_t psk_key_len;
	int min_version; /* TLS1_VERSION..TLS1_3_VERSION; 0 = TLS1_2_VERSION */
	int max_version; /* 0 = TLS1_3_VERSION */
	/* TLS <= 1.2, OpenSSL syntax (may end in @SECLEVEL=n, which then wins
	 * over security_level); NULL = SCWS_TLS_CIPHERS_* for the modes set. */
	const char *cipher_list;
	const char *ciphersuites; /* TLS 1.3; NULL = OpenSSL's default */
	int security_level;       /* 0..5; -1 = OpenSSL's default */
};

/* Default TLS <= 1.2 lists. Certificate suites need ECDHE (forward secrecy)
 * and include CBC-SHA ones for TLS 1.0 clients. PSK: the RFC 4279 suite of
 * SCWS handsets (00 8C; 3DES excepted, see above), its GCM form, and two
 * ECDHE-PSK ones (RFC 5489): OpenSSL has no ECDHE-PSK with GCM, and GnuTLS's
 * NORMAL priority has no SHA-256 CBC MAC, so its ECDHE-PSK offer meets ours
 * only at CHACHA20-POLY1305 (RFC 7905). */
#define SCWS_TLS_CIPHERS_CERT                                          \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"   \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"     \
	"ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"           \
	"ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"
/* Added when an RSA certificate is loaded: RSA key exchange, for TLS 1.2
 * clients that offer nothing else. */
#define SCWS_TLS_CIPHERS_RSA "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA"
#define SCWS_TLS_CIPHERS_PSK                                 \
	"ECDHE-PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256:" \
	"ECDHE-PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA"

/* Fills the defaults: nothing configured, versions 0, security_level -1,
 * resumption on.
 * Use it: a zeroed struct means security level 0. */
void scws_tls_config_init(struct scws_tls_config *cfg);

struct scws_tls_ctx;

/* 0 and *out; -EINVAL for a bad configuration (err says what, naming the
 * file when a file is at fault), -ENOMEM. err may be NULL. Neither a
 * certificate nor a PSK is -EINVAL. */
__attribute__((warn_unused_result)) int scws_tls_ctx_new(const struct scws_tls_config *cfg,
							 struct scws_tls_ctx **out, char *err,
							 size_t err_cap);
/* Drops the caller's reference. Connections made from the context hold
 * their own, so it may be freed (e.g. on a profile reload) while they live.
 * NULL is a no-op. */
void scws_tls_ctx_free(struct scws_tls_ctx *ctx);
bool scws_tls_ctx_has_cert(const struct scws_tls_ctx *ctx);
bool scws_tls_ctx_has_psk(const struct scws_tls_ctx *ctx);

/* Connection states. Allowed transitions:
 * HANDSHAKING -> OPEN | CLOSED | FAILED, OPEN -> CLOSED | FAILED. */
enum scws_tls_state {
	SCWS_TLS_ST_HANDSHAKING,
	SCWS_TLS_ST_OPEN,   /* application data flows */
	SCWS_TLS_ST_CLOSED, /* close_notify sent (and maybe received) */
	SCWS_TLS_ST_FAILED, /* fatal error; the alert, if any, is in the output */
};
const char *scws_tls_state_name(enum scws_tls_state st);

struct scws_tls;

/* A server-side connection in HANDSHAKING; NULL on -ENOMEM. */
struct scws_tls *scws_tls_new(struct scws_tls_ctx *ctx);
/* NULL is a no-op. Sends nothing: call scws_tls_close() first for a clean
 * close_notify. */
void scws_tls_free(struct scws_tls *t);

/* Takes ciphertext from the peer and runs the handshake as far as it goes.
 * *used is how much was taken: at most TLS_IN_MAX bytes wait in the engine,
 * so *used < len means "scws_tls_read() until -EAGAIN, then feed the rest".
 * 0: progress (the state may now be OPEN); -EPROTO: the connection failed
 * (state FAILED, send the output and close); -EBADFD: not HANDSHAKING or
 * OPEN, nothing taken. */
__attribute__((warn_unused_result)) int scws_tls_feed(struct scws_tls *t, const uint8_t *in,
						      size_t len, size_t *used);

/* Decrypted application data into out[0..cap). 0 with *out_len > 0;
 * -EAGAIN: nothing yet (more ciphertext needed, or still handshaking);
 * -EPIPE: the peer sent close_notify (state CLOSED, ours is in the output);
 * -EPROTO: failed (state FAILED, alert in the output); -EINVAL: cap 0. */
__attribute__((warn_unused_result)) int scws_tls_read(struct scws_tls *t, uint8_t *out, size_t cap,
						      size_t *out_len);

/* Encrypts plaintext into the output, whole records only, as long as the
 * output stays under TLS_OUT_MAX. 0 with *used <= len (send the output and
 * write the rest); -EAGAIN: no room at all, send the output first;
 * -EBADFD: not OPEN; -EPROTO: failed. */
__attribute__((warn_unused_result)) int scws_tls_write(struct scws_tls *t, const uint8_t *in,
						       size_t len, size_t *used);

/* Ciphertext waiting to be sent: a view valid until the next call on t. */
struct bytes scws_tls_output(const struct scws_tls *t);
/* Marks the first n bytes of the output as sent (n > length empties it). */
void scws_tls_output_consume(struct scws_tls *t, size_t n);
/* Frees the storage of the engine's output buffer when it is empty (for a
 * connection going idle); it grows again on the next output. */
void scws_tls_shrink(struct scws_tls *t);

/* Queues close_notify when OPEN (state CLOSED). In HANDSHAKING the state
 * becomes CLOSED with nothing sent; in CLOSED or FAILED nothing happens.
 * 0, or -EPROTO when close_notify could not be queued (state FAILED). */
int scws_tls_close(struct scws_tls *t);

enum scws_tls_state scws_tls_state(const struct scws_tls *t);
/* Why the connection failed, for the log: the OpenSSL reason and the alert
 * sent or received, e.g. "psk identity not found (sent fatal alert: unknown
 * PSK identity)". "" when it has not failed. Never contains key material.
 * Valid until t is freed. */
const char *scws_tls_reason(const struct scws_tls *t);

/* What was negotiated, for the request log line; valid once OPEN, until t
 * is freed. Version "TLSv1.2"; cipher the OpenSSL name, e.g.
 * "PSK-AES128-CBC-SHA" or "TLS_AES_128_GCM_SHA256"; NULL before OPEN. */
const char *scws_tls_version(const struct scws_tls *t);
const char *scws_tls_cipher(const struct scws_tls *t);
/* The PSK identity the handshake used (NUL-terminated; an identity with a
 * NUL byte never matches); NULL for a certificate handshake or before OPEN. */
const char *scws_tls_psk_identity(const struct scws_tls *t);
/* The server name the client asked for (SNI, RFC 6066 §3), NULL when it
 * sent none; known once the ClientHello is in (also after a failure).
 * Valid until t is freed. */
const char *scws_tls_sni(const struct scws_tls *t);
/* The first fatal alert sent or received, e.g. "received fatal alert: bad
 * certificate"; "" when none. Valid until t is freed. */
const char *scws_tls_alert(const struct scws_tls *t);
/* The subject of the certificate the handshake presented ("/CN=localuicc");
 * NULL before OPEN and for a PSK handshake. Valid until t is freed. */
const char *scws_tls_cert_subject(const struct scws_tls *t);

#endif
