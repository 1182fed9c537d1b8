/* observe.h - what an SCWS connection saw, for an observer (the daemon's
 * journal of the client under test).
 *
 * A server (scws/server.h) holds at most one observer; each of its
 * connections calls it once per answered request (SCWS_OBS_REQUEST) and
 * once when the connection is freed (SCWS_OBS_CONNECTION: the handshake
 * outcome and the totals). The observer is called from inside
 * scws_conn_feed() / scws_conn_free(): it must not call back into the
 * connection or free it.
 *
 * Contract on secrets: a record never holds the passphrase (only its size
 * and whether it is canonical base64) nor a PSK key; the PSK identity is
 * not secret (RFC 4279 §7). Every string is printable ASCII, borrowed for
 * the call only; NULL means "not known / not applicable". */
#ifndef SCWS_SCWS_OBSERVE_H
#define SCWS_SCWS_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

enum scws_obs_kind {
	SCWS_OBS_REQUEST,
	SCWS_OBS_CONNECTION,
};

/* One part of a multipart/form-data body. */
struct scws_obs_part {
	const char *name;         /* Content-Disposition name */
	size_t size;              /* value bytes */
	const char *content_type; /* the part's Content-Type, NULL when absent */
};

struct scws_obs {
	enum scws_obs_kind kind;
	uint64_t conn_id; /* per server, from 1, in accept order */
	int64_t start_ms; /* wall clock (ms since the epoch): request or connection start */
	uint64_t duration_ms;
	const char *transport; /* "tcpip", "bip", "server" */
	const char *local;     /* the address the client reached, "127.0.0.1:4116" */
	const char *peer;
	bool https; /* the request came over TLS (or TLS offloaded) */
	/* TLS: NULL without a TLS engine or before the values are known */
	const char *tls_version;
	const char *cipher;
	const char *sni;
	const char *psk_identity;
	const char *cert; /* subject of the certificate presented */
	bool handshake_done;
	const char *alert; /* the alert (or failure) that ended the connection */
	/* The fault that acted on this connection ("tls-cert untrusted",
	 * "tls-alert"), or on a request's answer ("http-status 503",
	 * "http-body wrong-type, http-delay 1500"), as `fault add` names them,
	 * at most SCWS_OBS_FAULT_MAX - 1 bytes; NULL: none. */
	const char *fault;

	/* SCWS_OBS_REQUEST */
	const char *method;
	const char *path; /* the request-target's path */
	bool has_query;
	const char *host;
	const char *content_type;
	bool bootstrap; /* routed to the bootstrap endpoint */
	const struct scws_obs_part *parts;
	size_t n_parts;
	const char *form_error; /* why the body did not parse as a form */
	const char *devid;      /* the form's values (printable copies) */
	const char *username;
	const char *push_address;
	bool has_passphrase;
	size_t passphrase_size;
	const char *passphrase_base64; /* "ok" or what is wrong; never the value */
	int status;
	size_t bytes;           /* response body bytes */
	unsigned retry_after_s; /* Retry-After sent with the answer; 0: none */
	const char *reason;     /* the error body, NULL for 2xx */

	/* SCWS_OBS_CONNECTION */
	unsigned requests;
	uint64_t bytes_in;
	uint64_t bytes_out;
};

typedef void scws_observe_fn(void *arg, const struct scws_obs *rec);

#endif
