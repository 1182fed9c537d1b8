/* conn.h - one SCWS connection, sans-I/O: bytes in -> [TLS] -> HTTP/1.1 ->
 * handlers -> [TLS] -> bytes out.
 *
 * The same object serves a TCP/IP connection (localuicc:443) and, unchanged,
 * a BIP channel inside the card. The caller moves bytes: it feeds what the
 * peer sent, sends what scws_conn_output() shows and consumes it, and
 * closes the transport once scws_conn_done() says so and the output is
 * flushed. A conn never blocks and never touches a socket. */
#ifndef SCWS_SCWS_CONN_H
#define SCWS_SCWS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"

struct scws_server;
struct scws_conn;

/* The deadlines of a connection, in ms; 0: none. Each phase has one:
 * - handshake: the TLS handshake complete, counted from the connection;
 * - head: a request's line and headers, counted from its first byte (on a
 *   TLS port: the first byte of the record that carries it);
 * - request: the whole request, body included, from the same byte;
 * - keepalive: the first byte of the next request, counted from the last
 *   answer (or from the handshake, or the connection on a plain port).
 * While an answer waits unsent, the conn has no deadline: the transport's
 * idle timeout (no byte either way) applies. */
struct scws_conn_deadlines {
	unsigned handshake_ms;
	unsigned head_ms;
	unsigned request_ms;
	unsigned keepalive_ms;
};

struct scws_conn_info {
	const char *transport; /* "tcpip" or "bip"; copied */
	const char *peer;      /* "127.0.0.1:50000" or "[::1]:50000"; copied */
	const char *local;     /* the address the client reached; copied; NULL:
				* "port N" from local_port */
	uint16_t local_port;   /* the port the client connected to */
	bool tls;              /* HTTPS (TLS engine first) or plain HTTP */
	/* With tls false: TLS was already removed in front of the conn (a
	 * TLS-terminating front end; the unit tests), so plain bytes are
	 * served as HTTPS, bootstrap included. */
	bool tls_offloaded;
	/* NULL: no deadlines. Copied. */
	const struct scws_conn_deadlines *deadlines;
	uint64_t now_ms; /* the transport's clock at the connection */
};

/* A new connection on srv (borrowed: it must outlive the conn). The
 * server's observer (scws/observe.h) hears of every request the conn
 * answers and, from scws_conn_free(), of the connection itself. NULL on
 * allocation failure or when the server has no TLS context for a TLS
 * port (logged). */
struct scws_conn *scws_conn_new(struct scws_server *srv, const struct scws_conn_info *info);
void scws_conn_free(struct scws_conn *c);

/* Bytes from the peer. Returns 0; a protocol error is answered (an HTTP
 * error response or a TLS alert) and turns the conn to done, so callers
 * need no error path beyond scws_conn_done(). */
int scws_conn_feed(struct scws_conn *c, const uint8_t *in, size_t len);

/* The peer closed its sending side (FIN) or the transport failed. */
void scws_conn_peer_closed(struct scws_conn *c);

/* Bytes waiting to be sent; the view is valid until the next call on c. */
struct bytes scws_conn_output(const struct scws_conn *c);
void scws_conn_consume(struct scws_conn *c, size_t n);

/* Pacing (faults http-delay and http-drip, server.h): an answer may be
 * held and released over time. The conn has no clock; the transport
 * calls scws_conn_pace() with its monotonic time in ms after every feed
 * and whenever the wait it returned is over: it moves the release point
 * and returns the ms until more output is released (at least
 * SCWS_PACE_TICK_MS), or -1 when nothing is held (no timer needed).
 * scws_conn_output() shows only released bytes. While scws_conn_held()
 * is true the conn is not finished even when scws_conn_done() says so:
 * close only once done, not held, and the output sent. */
int scws_conn_pace(struct scws_conn *c, uint64_t now_ms);
bool scws_conn_held(const struct scws_conn *c);

/* Bytes of memory the conn holds itself: its struct, a request's state
 * (HTTP parser and form: taken when a request's first byte comes, given
 * back when none is in progress) and its output buffers (freed once all
 * is sent and no request is in progress); not the TLS engine's. An idle
 * connection holds only the struct. */
size_t scws_conn_footprint(const struct scws_conn *c);

/* True when the conn wants no more input for now (its output is above its
 * high-water mark): stop reading until the output drains. */
bool scws_conn_output_full(const struct scws_conn *c);

/* True when the conn is finished: close the transport once the output
 * shown by scws_conn_output() has been sent. */
bool scws_conn_done(const struct scws_conn *c);

/* True while a request has begun but its response is not yet written
 * (for the transport's per-request deadline). */
bool scws_conn_in_request(const struct scws_conn *c);

/* The clock (ms, monotonic, any origin the transport keeps to): the conn
 * never reads one. Set it before scws_conn_feed() so that the phases the
 * bytes start are stamped with their time. */
void scws_conn_set_time(struct scws_conn *c, uint64_t now_ms);

/* When the current phase's deadline passes (same clock), or UINT64_MAX
 * when it has none (done, an answer unsent, no deadline configured). */
uint64_t scws_conn_deadline(const struct scws_conn *c);

/* With now_ms at or past scws_conn_deadline(): logs which phase was late
 * and turns the conn to done (no answer: the client was too slow to be
 * owed one), and returns true. Otherwise false. */
bool scws_conn_expire(struct scws_conn *c, uint64_t now_ms);

/* Since when (same clock) the conn waits for its client with no request
 * it owes an answer to: a handshake or a request not complete yet, or
 * idle between requests (the later of the phase's start and the last time
 * its output was all taken); UINT64_MAX while an answer is due or unsent,
 * or once done. A handshake or request that is incomplete with nothing
 * received since then (the client's turn, not a trickle) counts
 * SCWS_STALL_QUIET_MS later. The oldest such conn is the one to close when
 * others wait for room. */
uint64_t scws_conn_stalled_since(const struct scws_conn *c);

#endif
