/* server.h - the SCWS of one card: what every connection shares.
 *
 * Holds the loaded card (profile + file system, adopted), its TLS context,
 * and the state kept across requests (the last push-address per devid).
 * scws_server_load() swaps the card in place (SIGHUP): requests that start
 * afterwards see the new card at once; connections opened before keep the
 * TLS context they started with (OpenSSL reference-counts it). */
#ifndef SCWS_SCWS_SERVER_H
#define SCWS_SCWS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scws/observe.h"
#include "card/card.h"

struct profile;
struct card_fs;
struct scws_server;
struct scws_tls_config;

struct scws_server *scws_server_new(void);
void scws_server_free(struct scws_server *srv);

/* Adopts p and fs (freed by the server, also on failure). 0, or a negative
 * errno with a one-line reason in err (e.g. the TLS certificate does not
 * load); on failure the previous card stays in place. */
__attribute__((warn_unused_result)) int scws_server_load(struct scws_server *srv, struct profile *p,
							 struct card_fs *fs, char *err,
							 size_t errcap);

/* The card's profile (borrowed; valid until the next load). */
const struct profile *scws_server_profile(const struct scws_server *srv);

/* Last push-address a client sent with this devid, or NULL. The string
 * stays valid until the next scws_server_set_push_address() or _free().
 * The server keeps the SCWS_PUSH_DEVIDS_MAX devids updated most recently. */
const char *scws_server_push_address(const struct scws_server *srv, const char *devid);

/* ---- failed credential attempts (scws/throttle.h): per peer and devid */

/* limit failures per window_ms, then 429 until the window is over; limit
 * 0: no limit (the state after scws_server_new; the daemon sets
 * --auth-fail-limit, default AUTH_FAIL_LIMIT_DEFAULT). */
void scws_server_set_auth_throttle(struct scws_server *srv, unsigned limit, unsigned window_ms);
struct scws_throttle *scws_server_throttle(struct scws_server *srv);
/* For a status: 429 answers so far, peers and devids blocked at now_ms
 * (the same clock the connections are given). */
struct scws_server_auth_stats {
	unsigned long refused;
	size_t blocked;
};
void scws_server_auth_stats(const struct scws_server *srv, uint64_t now_ms,
			    struct scws_server_auth_stats *out);

/* ---- steering and counting (the control socket, lab/control.h) */

/* Off: the bootstrap endpoint answers 404 "not available" (the files are
 * untouched); on again: served as before. On after scws_server_new(). */
void scws_server_set_bootstrap_enabled(struct scws_server *srv, bool on);
bool scws_server_bootstrap_enabled(const struct scws_server *srv);

/* Replaces the bytes of the current card's bootstrap EF in the server's
 * file system (data already in the profile's store form: see
 * profile_bootstrap_read()); the next request reads them. A reload brings
 * the profile's own back. 0 or a negative errno with a reason in err. */
__attribute__((warn_unused_result)) int scws_server_set_bootstrap(struct scws_server *srv,
								  const uint8_t *data, size_t len,
								  char *err, size_t errcap);

/* Responses sent, counted as each is logged: with status (100..599), or
 * all of them with status 0. */
#define SCWS_STATUS_MIN 100
#define SCWS_STATUS_MAX 599
unsigned long scws_server_responses(const struct scws_server *srv, int status);
/* Called after each response is counted (NULL: none). The hook runs inside
 * a connection's processing: it must not free connections (defer). */
typedef void scws_server_response_fn(void *arg, int status);
void scws_server_set_response_hook(struct scws_server *srv, scws_server_response_fn *fn, void *arg);
/* ---- a Bootstrap Server (the same endpoint outside the card) */

/* Where the endpoint answers; default SCWS_BOOTSTRAP_PATH. path is copied
 * (at most 127 bytes, starting with '/'). 0 or -EINVAL. */
__attribute__((warn_unused_result)) int scws_server_set_bootstrap_path(struct scws_server *srv,
								       const char *path);
const char *scws_server_bootstrap_path(const struct scws_server *srv);

/* Serve doc (copied; WBXML when is_wbxml, else XML) instead of the card's
 * bootstrap; len 0: no bootstrap at all (answered 404, not available);
 * NULL clears it. 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int scws_server_set_document(struct scws_server *srv,
								 const uint8_t *doc, size_t len,
								 bool is_wbxml);

/* TLS settings of the server's own that win over the card profile's, also
 * across reloads. 0, or a negative errno with the reason in err. */
__attribute__((warn_unused_result)) int scws_server_set_tls(struct scws_server *srv,
							    const struct scws_tls_config *cfg,
							    char *err, size_t errcap);

/* ---- the observer of every connection (scws/observe.h); fn NULL: none */

void scws_server_set_observer(struct scws_server *srv, scws_observe_fn *fn, void *arg);
/* ---- fault hooks (the instrument's fault injection; main.c wires them to
 * lab/fault.h, so scws/ never includes lab/). Each hook is consulted at
 * the moment its fact happens and fills an answer zeroed by the caller;
 * it runs inside scws_conn_new() or scws_conn_feed() and must not call
 * back into the conn. */

/* Retry-After of an injected 503, in seconds. */
#define SCWS_FAULT_RETRY_AFTER "2"

enum scws_fault_body {
	SCWS_FAULT_BODY_NONE,
	SCWS_FAULT_BODY_WBXML_GARBAGE, /* a malformed WBXML body under the WBXML type */
	SCWS_FAULT_BODY_WRONG_TYPE,    /* the bootstrap under Content-Type text/html */
};

/* What to do to the answer of one bootstrap request (its path routed to
 * the endpoint, whatever the method). */
struct scws_fault_response {
	int status;                /* != 0: answered with this status (503: Retry-After) */
	enum scws_fault_body body; /* applies to a 200 */
	bool truncate;             /* close after truncate_len bytes of the answer */
	size_t truncate_len;       /* HTTP bytes (before TLS), head included */
	unsigned delay_ms;         /* release the answer this late (scws_conn_pace) */
	unsigned drip_bps;         /* then at most this many bytes per second; 0: at once */
};

/* The fault certificates, in this order: the files scws-fault-<name>.crt
 * beside the card's own certificate, all with the key scws-fault.key
 * (pki/make-pki.sh makes them). */
enum scws_fault_cert {
	SCWS_FAULT_CERT_WRONG_NAME,
	SCWS_FAULT_CERT_EXPIRED,
	SCWS_FAULT_CERT_UNTRUSTED,
	SCWS_FAULT_CERT_SELF_SIGNED,
	SCWS_FAULT_CERTS
};

enum scws_fault_tls { SCWS_FAULT_TLS_NONE, SCWS_FAULT_TLS_CERT, SCWS_FAULT_TLS_ALERT };

/* What to do to the handshake of a new TLS connection. */
/* "wrong-name", "expired", "untrusted", "self-signed" ("?" out of range):
 * the fault's word, as `fault add tls-cert` takes it and the journal shows. */
const char *scws_fault_cert_name(enum scws_fault_cert c);

struct scws_fault_handshake {
	enum scws_fault_tls kind;
	enum scws_fault_cert cert; /* SCWS_FAULT_TLS_CERT: present this one */
};

struct scws_fault_hooks {
	/* transport "tcpip" or "bip"; port: the local port of the conn. */
	void (*response)(void *arg, const char *transport, uint16_t port,
			 struct scws_fault_response *out);
	void (*handshake)(void *arg, const char *transport, uint16_t port,
			  struct scws_fault_handshake *out);
	/* apdu-sw on the SCWS's own card (its PKCS#15 walk), card/card.h. */
	card_sw_fault_fn *apdu_sw;
	void *arg;
};

/* Copies h (NULL: no hooks; either function may be NULL). */
void scws_server_set_fault_hooks(struct scws_server *srv, const struct scws_fault_hooks *h);

/* ---- for the connections and their handlers (scws/conn.c, scws/bootstrap.c) */

struct buf;
struct scws_tls_ctx;

/* The observer (NULL when none) and a new connection's id (from 1). */
scws_observe_fn *scws_server_observer(const struct scws_server *srv, void **arg);
uint64_t scws_server_next_conn_id(struct scws_server *srv);

/* True when the bootstrap served is WBXML (the document set, else the
 * card profile's store). */
bool scws_server_stores_wbxml(const struct scws_server *srv);

/* The current card's TLS context (borrowed), or NULL when the card has no
 * TLS settings. A connection takes its own reference (scws_tls_new()). */
struct scws_tls_ctx *scws_server_tls_ctx(const struct scws_server *srv);

/* The hooks' answers (zeroed when no hook is set). */
void scws_server_fault_response(const struct scws_server *srv, const char *transport, uint16_t port,
				struct scws_fault_response *out);
void scws_server_fault_handshake(const struct scws_server *srv, const char *transport,
				 uint16_t port, struct scws_fault_handshake *out);
/* The TLS context presenting fault certificate c (borrowed), or NULL when
 * the card has no certificate or the files were not found beside it.
 * Made on the first call after each load, from the files as they are
 * then; a miss is not retried until the next load. */
struct scws_tls_ctx *scws_server_fault_tls_ctx(struct scws_server *srv, enum scws_fault_cert c);

/* Reads the DM bootstrap as a handset would (card_pkcs15_walk: EF.DIR ->
 * PKCS#15 -> ODF -> DODF -> EF), inside the card: over the server's own
 * card object, reset first, so no APDU of it reaches a terminal interface
 * or a trace. Appends to out. 0; -ENOENT no bootstrap on the card (or no
 * card loaded); another negative errno for a broken card, with err saying
 * which step failed. */
__attribute__((warn_unused_result)) int scws_server_read_bootstrap(struct scws_server *srv,
								   struct buf *out, char *err,
								   size_t errcap);

/* Counts one response (conn.c, as it logs it) and calls the hook. */
void scws_server_count_response(struct scws_server *srv, int status);

/* The URLs the daemon serves this card at (its transports' real
 * endpoints, ports after --port-map), for the index page; copied,
 * replacing the previous list; at most SCWS_URLS_MAX of at most
 * SCWS_URL_MAX - 1 bytes each (more: -EMSGSIZE, the list unchanged). 0,
 * -EMSGSIZE or -ENOMEM. */
__attribute__((warn_unused_result)) int scws_server_set_urls(struct scws_server *srv,
							     const char *const *urls, size_t n);
/* The list (borrowed, valid until the next set); returns the count. */
size_t scws_server_urls(const struct scws_server *srv, const char *const **urls);

/* Records addr as devid's last push-address (both copied; the devid
 * updated longest ago is forgotten when the store is full). 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int scws_server_set_push_address(struct scws_server *srv,
								     const char *devid,
								     const char *addr);

#endif
