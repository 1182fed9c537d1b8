/* bip_gw.h - the terminal-side BIP gateway on libevent: TCP clients on
 * loopback <-> BIP channels of a card in UICC server mode (ETSI TS 102 223
 * §6.4.27-31, §7.5.10-11; doc/design.md "The picture"; doc/protocol.md §1, §10).
 *
 * The protocol lives in bip_term.[ch] (sans-I/O); this is its socket
 * shell. For every card port that an OPEN CHANNEL asks for, the gateway
 * listens on each configured address (default 127.0.0.1 and ::1), at the
 * mapped host port (--port-map CARD=HOST; 0 = ephemeral, the same number
 * on every address when it is free there). Several channels of one port
 * share the listeners; each accepted client is bound to the lowest
 * channel of that port in LISTEN. When every channel of the port is busy
 * the listeners pause, so further clients wait in the kernel's backlog
 * (no reset), as Qualcomm's and VIA's handsets do; they are taken as
 * channels return to LISTEN. While clients wait, the bound client stalled
 * the longest (for EVICT_GRACE_MS at least) is closed to make room, one per
 * waiting client: stalled is a client whose bytes the card has left
 * unanswered (a TLS handshake or an HTTP request not complete yet: the card
 * answers a complete one at once) or that has everything answered (idle in
 * keep-alive); a client whose answer is on its way out is never chosen.
 * With the card in the same process the card says it (stalled_since);
 * otherwise the gateway judges by bytes, as a handset would. The card's own
 * deadlines (scws/conn.h through the card's sink) apply as the card runs.
 *
 * Bounded: per client, what the card has not read yet is at most twice
 * the channel's buffer size (the Rx buffer plus libevent's input; the
 * socket is not read while that input holds a buffer's worth:
 * backpressure), and what the client has not read yet at most
 * BIP_GW_SOCK_OUT_MAX plus the Tx buffer.
 * The card is driven only when something happened (a client, bytes, a
 * close, a retry timer after 93 00), from the event loop, never from
 * inside a bufferevent callback. */
#ifndef SCWS_TRANSPORT_BIP_GW_H
#define SCWS_TRANSPORT_BIP_GW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

#include "transport/bip_term.h"
#include "transport/link.h"

struct event_base;
struct bip_gw;

struct bip_gw_addr {
	char host[BIP_GW_HOST_MAX]; /* numeric IPv4 or IPv6, no brackets */
	bool is_default;            /* failing to bind it only warns */
};

struct bip_gw_port_map {
	uint16_t card_port; /* as in OPEN CHANNEL */
	uint16_t host_port; /* 0: ephemeral */
};

struct bip_gw_config {
	/* n_listen 0: 127.0.0.1 and ::1, both is_default. At most
	 * BIP_GW_ADDRS_MAX. */
	const struct bip_gw_addr *listen;
	size_t n_listen;
	/* Card ports not listed listen on the same host port. At most
	 * BIP_GW_PORT_MAP_MAX. */
	const struct bip_gw_port_map *port_map;
	size_t n_port_map;
	unsigned channels;        /* 1..7; 0: 7 (TERMINAL PROFILE byte 13) */
	size_t buffer_max;        /* 0: BIP_GW_BUFFER_MAX */
	unsigned idle_timeout_ms; /* a client silent this long is dropped (05); 0: never */
	/* Client limits shared with the other transports (transport/admit.h;
	 * borrowed); NULL: none beyond the channels and the parked queue. */
	struct admit *admit;
	/* May be NULL. The card's own word (an in-process card: main.c asks
	 * card_bip_channel_stalled_since) on since when the client of a
	 * channel keeps it waiting; without it, the gateway judges by bytes. */
	uint64_t (*stalled_since)(void *arg, unsigned channel);
	void *stalled_arg;
	card_link_trace_fn *trace; /* every APDU exchange (and the ATR); NULL: none */
	void *trace_arg;
};

/* One listening socket, for the ready file and the start-up log. */
struct bip_gw_endpoint {
	const char *transport; /* "bip" */
	const char *scheme;    /* "https" for card port 4116 (and 443), else "http" */
	char host[BIP_GW_HOST_MAX];
	uint16_t port; /* host port bound */
	uint16_t card_port;
};

/* base, ops and link_ctx are borrowed and must outlive the gateway (the
 * caller frees link_ctx with ops->free after transport_bip_gw_free). cfg
 * is copied. Opens nothing yet. NULL on a bad config (an address that is
 * not numeric, too many entries) or no memory, with a reason in err. */
struct bip_gw *transport_bip_gw_new(struct event_base *base, const struct card_link_ops *ops,
				    void *link_ctx, const struct bip_gw_config *cfg, char *err,
				    size_t errcap);
/* Closes every client and listener. NULL is a no-op. Not from a trace hook. */
void transport_bip_gw_free(struct bip_gw *gw);

/* Resets the card, sends TERMINAL PROFILE and runs the first proactive
 * session (SET UP EVENT LIST, OPEN CHANNELs: the listeners open here), then
 * leaves the rest to the event loop. 0 (also when the card opened no
 * channel: see transport_bip_gw_endpoints), or a negative errno with a
 * one-line reason: -EIO link failure, -EPROTO card refused the profile.
 * Call once (and again after transport_bip_gw_stop()). */
__attribute__((warn_unused_result)) int transport_bip_gw_start(struct bip_gw *gw, char *err,
							       size_t errcap);

/* The card is gone (removed): every client and listener is closed; the
 * card is not touched. transport_bip_gw_start() again once it is back. */
void transport_bip_gw_stop(struct bip_gw *gw);
/* The card was reset or replaced (a reloaded profile; with the in-process
 * link, transport_link_emu_set_card() first): every client is closed, then
 * the card is started as by transport_bip_gw_start(). The listeners of
 * card ports the card opens again stay open (same host ports, no client
 * refused meanwhile); the others close. Same returns as start. */
__attribute__((warn_unused_result)) int transport_bip_gw_restart(struct bip_gw *gw, char *err,
								 size_t errcap);

/* The listening sockets now (they follow OPEN/CLOSE CHANNEL): fills up to
 * cap entries and returns how many there are. */
size_t transport_bip_gw_endpoints(const struct bip_gw *gw, struct bip_gw_endpoint *out, size_t cap);
/* A card port's host port was held by another process (EADDRINUSE) since
 * the gateway was made: that OPEN CHANNEL failed (3A 10) and nothing was
 * logged; the returned line names the address, the port, and --port-map
 * CARD=0 as the way out. NULL when it never happened. */
const char *transport_bip_gw_port_in_use(const struct bip_gw *gw);
/* Connected clients, bound to a channel or waiting for one. */
size_t transport_bip_gw_clients(const struct bip_gw *gw);
/* The TCP client bound to channel ch: its address and the address it
 * reached ("127.0.0.1:4116"; NULL when unknown). False when no client is
 * on ch. The strings live as long as that client. */
bool transport_bip_gw_channel_client(const struct bip_gw *gw, unsigned ch, const char **peer,
				     const char **local);

/* Polls the card from the loop (transport_bip_term_poll): for a card
 * whose SCWS releases a held answer on its own time. */
void transport_bip_gw_poll(struct bip_gw *gw);

/* Fault injection (main.c wires these to lab/fault.h):
 * - rate: asked when a client is bound to a channel of card_port; > 0
 *   caps that connection at so many bytes per second each way (bip-rate):
 *   libevent's rate limit on the client's socket, refilled every
 *   BIP_GW_RATE_TICK_MS, gates what is read from the client (so the card
 *   sees its request trickle in) and what is written to it (the card's
 *   SEND DATA fills the socket queue, which drains at the rate);
 * - drop: asked before channel data goes to a client of card_port (each
 *   flush of SEND DATA); true loses the link there (bip-drop): the
 *   client gets an RST, the card a Channel status event "link dropped";
 * - open_fail: the engine's OPEN CHANNEL hook (bip_term.h).
 * Any member may be NULL; h NULL removes them. Copied. */
struct bip_gw_fault_hooks {
	unsigned (*rate)(void *arg, uint16_t card_port);
	bool (*drop)(void *arg, uint16_t card_port);
	bip_term_open_fault_fn *open_fail;
	void *arg;
};
void transport_bip_gw_set_faults(struct bip_gw *gw, const struct bip_gw_fault_hooks *h);

/* The engine, for listings and tests (borrowed). */
struct bip_term *transport_bip_gw_term(const struct bip_gw *gw);

#endif
