/* helpers.h - what several unit test programs need, written once.
 *
 * - unit_collect: an on_data/on_body callback that keeps every byte in a
 *   struct buf and can stop on its n-th call (the chunked decoder, the body
 *   framer).
 * - unit_echo_sink: a card BIP sink (card/bip.h) whose connections echo
 *   what a client sends (the BIP gateway and PC/SC link tests), with counts
 *   of connections opened and closed.
 * - unit_tls_client_new: a memory-BIO TLS client as the SCWS tests drive
 *   one (certificate verified against localuicc, or TLS 1.2 PSK, or TLS 1.3
 *   external PSK as `openssl s_client -psk` does it).
 * - unit_log_catch: the log's lines caught (how many, and the last one)
 *   instead of written to stderr (test_core.c, test_transport_sock.c);
 *   in helpers_log.c, so that its users link nothing else of librunner.a.
 * - unit_split_all_ways: the driver of the split-at-every-point tables
 *   (test_scws_http.c, test_scws_http_resp.c): one case fed whole, split in
 *   two at every point, one byte per feed, and as every proper prefix.
 *
 * Everything here is for tests: failures are CUnit assertions or a false
 * result, never a crash. */
#ifndef SCWS_TESTS_HELPERS_H
#define SCWS_TESTS_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "card/bip.h"
#include "core/buf.h"

/* ---- collecting callback ---- */

struct unit_collect {
	struct buf data; /* every byte, in order */
	size_t calls;
	size_t fail_at; /* the call (1-based) that returns -ECANCELED; 0 never */
};

/* data capped at cap bytes (over: -ENOMEM from the callback). */
void unit_collect_init(struct unit_collect *g, size_t cap);
void unit_collect_cleanup(struct unit_collect *g);
/* An on_data callback; arg is a struct unit_collect. Asserts len != 0. */
int unit_collect_data(void *arg, const uint8_t *data, size_t len);

/* ---- echo sink ---- */

extern const struct card_bip_sink_ops unit_echo_sink;
/* Connections the echo sink opened and closed since the last reset. */
extern unsigned unit_echo_opened, unit_echo_closed;
void unit_echo_reset(void);

/* ---- TLS test client ---- */

/* A PSK as the client sends it: identity and 16 key bytes (borrowed). */
struct unit_psk {
	const char *id;
	const uint8_t *key;
};

/* An SSL on ctx over two memory BIOs (*rbio: what the server sent, reads
 * at its end say "retry"; *wbio: what the client sends), in connect state.
 * verify: the host name localuicc is checked and sent (SNI); psk12/psk13
 * (may be NULL): the TLS <= 1.2 PSK callback / the TLS 1.3 external PSK
 * (TLS_AES_128_GCM_SHA256 session) answering with that PSK, which must
 * outlive the SSL (it is the SSL's app data). 0, or -1 (nothing to free
 * but *ssl when set). */
int unit_tls_client_new(SSL_CTX *ctx, bool verify, const struct unit_psk *psk12,
			const struct unit_psk *psk13, SSL **ssl, BIO **rbio, BIO **wbio);

/* ---- split-at-every-point tables ---- */

/* One run of a case: its first len input bytes fed as pieces ending at
 * cuts[0] < ... < cuts[ncuts - 1]; prefix: len stops before the case's
 * end. True when the outcome is what the case expects. */
typedef bool unit_split_run_fn(void *arg, size_t len, const size_t *cuts, size_t ncuts, bool prefix,
			       const char *mode);

/* A case of in_len bytes whose last `leftover` bytes follow the message:
 * run whole, split in two at every point, one byte per feed (when
 * in_len > 0), and as every proper prefix of in_len - leftover bytes (mode
 * prefix_mode); each way asserted. */
void unit_split_all_ways(size_t in_len, size_t leftover, const char *prefix_mode,
			 unit_split_run_fn *run, void *arg);

/* ---- log capture ---- */

struct unit_log {
	int count;       /* lines since unit_log_catch() */
	char line[1024]; /* the last one, without the newline */
};

/* From now until unit_log_release(), every log line goes to l. */
void unit_log_catch(struct unit_log *l);
void unit_log_release(void);

#endif
