/* vpcd.h - the emulated card attached to vsmartcard's vpcd reader driver
 * over TCP, on libevent (`scwsemu --vpcd HOST:PORT`; protocol in
 * transport/vpcd_frame.h).
 *
 * pcscd loads vpcd ("Virtual PCD 00 00"), which listens on port 35963 and
 * takes one card connection. This client connects to it, answers every
 * message with the card, and reconnects with back-off (50 ms doubling to
 * 1 s) when pcscd is not there yet, restarts, or the stream breaks; it
 * logs that once per outage, not per attempt. vpcd sees the card inserted
 * while connected and removed otherwise.
 *
 * Speed: vpcd (vsmartcard 3.3 as in Debian) writes a request as two
 * send() calls, length then body, on a socket without TCP_NODELAY: its
 * Nagle holds the body until the card ACKs the length, and Linux delays
 * that ACK by 40 ms, hence vsmartcard's own cards run at 20 APDUs/s.
 * TCP_QUICKACK, set again after every read, ACKs at once: measured 20 ->
 * about 12,000 APDUs/s through pcscd. Each answer also leaves in one
 * send() on a TCP_NODELAY socket, so our side cannot fall into the same
 * trap (no difference measured: vpcd waits for every answer). */
#ifndef SCWS_TRANSPORT_VPCD_H
#define SCWS_TRANSPORT_VPCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/vpcd_frame.h"

struct event_base;
struct card;
struct transport_vpcd;

/* Called after each C-APDU is answered, with the C-APDU and the R-APDU
 * (response data + SW) as vpcd sees them; the views are valid during the
 * call only. Must not free the client or change its card. */
typedef void transport_vpcd_trace_fn(void *arg, const uint8_t *capdu, size_t clen,
				     const uint8_t *rapdu, size_t rlen);

/* Fault injection (apdu-delay): called with each C-APDU once the card has
 * answered it; a result > 0 holds the answer that many ms (reading pauses
 * meanwhile, so later commands wait behind it, as behind a slow card). */
typedef unsigned transport_vpcd_delay_fn(void *arg, const uint8_t *capdu, size_t clen);

struct transport_vpcd_opts {
	unsigned backoff_min_ms; /* 0: 50 */
	unsigned backoff_max_ms; /* 0: 1000 */
	/* For measurements only: leave the socket options at the defaults. */
	bool no_nodelay;
	bool no_quickack;
	/* For tests: SO_SNDBUF of the socket (0: the system's, autotuned). */
	int sndbuf;
};

/* spec: "HOST:PORT" or "HOST" (port 35963); see transport_hostport_parse.
 * The name is resolved here, once. base and card are borrowed and must
 * outlive the client; opts may be NULL. Nothing connects before
 * transport_vpcd_start(). NULL on a bad spec, an unresolvable name or no
 * memory, with a one-line reason in err. */
struct transport_vpcd *transport_vpcd_new(struct event_base *base, struct card *card,
					  const char *spec, const struct transport_vpcd_opts *opts,
					  char *err, size_t errcap);
/* Closes the connection. NULL is a no-op. Not from the trace callback. */
void transport_vpcd_free(struct transport_vpcd *v);

/* Inserts the card: connect now, and keep reconnecting until stop. */
void transport_vpcd_start(struct transport_vpcd *v);
/* Removes the card: close the connection and stop reconnecting. */
void transport_vpcd_stop(struct transport_vpcd *v);

/* Answers later messages with another card (a reloaded profile); the card
 * is reset, as a card swap would. Not from the trace callback. */
void transport_vpcd_set_card(struct transport_vpcd *v, struct card *card);

/* fn NULL removes the hook. */
void transport_vpcd_set_trace(struct transport_vpcd *v, transport_vpcd_trace_fn *fn, void *arg);
/* fn NULL: no delay. */
void transport_vpcd_set_delay(struct transport_vpcd *v, transport_vpcd_delay_fn *fn, void *arg);

bool transport_vpcd_is_connected(const struct transport_vpcd *v);
/* "127.0.0.1:35963": where it connects. */
const char *transport_vpcd_peer(const struct transport_vpcd *v);

struct transport_vpcd_stats {
	unsigned long connects; /* successful connections */
	unsigned long apdus;    /* C-APDUs answered */
	unsigned long controls; /* control messages handled */
	unsigned long errors;   /* connections dropped for a protocol error */
	unsigned long stalls;   /* answers the kernel took in parts (vpcd slow to read) */
};
void transport_vpcd_get_stats(const struct transport_vpcd *v, struct transport_vpcd_stats *st);

#endif
