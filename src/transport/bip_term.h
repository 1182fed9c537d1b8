/* bip_term.h - the terminal side of BIP, UICC server mode, without sockets
 * (ETSI TS 102 223 §6.4.27-31, §7.5.10-11; doc/protocol.md §1.6-§1.14, §10).
 *
 * The engine plays the handset: it resets the card, sends TERMINAL
 * PROFILE, FETCHes every proactive command the card announces with 91 xx
 * and answers each with exactly one TERMINAL RESPONSE, keeps the channels
 * (state, Rx and Tx buffers bounded by the negotiated buffer size) and
 * tells the card about the network side with ENVELOPE (Event download:
 * Data available, Channel status). It reaches the card through a struct
 * card_link (synchronous) and the network through struct bip_term_net_ops:
 * it never touches a socket or a timer, so it runs the same under the
 * libevent shell (bip_gw.c), a unit test and a fuzzer.
 *
 * Calling pattern: the owner reports network events (accept, rx,
 * peer_closed, tx_drained) as they happen, then calls pump(), which talks
 * to the card until it has nothing left to say, a budget is spent, or the
 * card is busy. Only pump() and start() exchange APDUs and call the
 * net ops; none of the other entry points calls back into the owner.
 *
 * Decisions where the spec leaves a choice (reasons in bip_term.c):
 * - client FIN -> Channel status LISTEN with info 00, RST or error -> 05;
 *   unread Rx and unsent Tx of that connection are dropped;
 * - CLOSE CHANNEL q=00 is followed by a Channel status event CLOSED
 *   (as G&D's BipProxy does), q=01 by none;
 * - SEND DATA to a channel without connection -> 3A 02; data beyond the
 *   free Tx space -> 3A 04 (nothing stored);
 * - RECEIVE DATA returns min(requested, CAT_RECEIVE_DATA_MAX, Rx) bytes,
 *   result 02 when that is fewer than requested;
 * - POLL INTERVAL is granted as asked (at least BIP_GW_POLL_MIN_MS): while
 *   it holds, an idle pump() returns BIP_TERM_POLL with the interval, and
 *   the owner's poll() after it sends STATUS (80 F2 00 0C 00); POLLING OFF
 *   and reset() end it;
 * - Data available is sent when Rx goes from empty to non-empty, and once
 *   more when a RECEIVE DATA consumed bytes but left some and the card went
 *   idle without asking again (no stall, no endless ping-pong). */
#ifndef SCWS_TRANSPORT_BIP_TERM_H
#define SCWS_TRANSPORT_BIP_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "card/cat_msg.h"
#include "transport/link.h"

struct bip_term;

/* A channel's state is enum card_cat_ch_state (card/cat_msg.h). */

/* The network side, implemented by the owner. `conn` is the owner's handle
 * given to transport_bip_term_accept(). These run inside pump() or
 * start(): they must not call back into the engine (defer instead). */
struct bip_term_net_ops {
	/* The first channel on card_port was opened: listen for it.
	 * 0, or a negative errno (the OPEN CHANNEL fails with 3A 10). */
	int (*listen)(void *arg, uint16_t card_port);
	/* The last channel on card_port was closed: stop listening. */
	void (*unlisten)(void *arg, uint16_t card_port);
	/* The channels free to take a connection on card_port changed
	 * (transport_bip_term_port_free() may now answer differently). */
	void (*port_changed)(void *arg, uint16_t card_port);
	/* Writes up to len bytes of channel data to conn: returns how many it
	 * took (0 when its queue is full: the engine retries after
	 * transport_bip_term_tx_drained()), or a negative errno when the
	 * connection is unusable. */
	ssize_t (*write)(void *arg, void *conn, const uint8_t *p, size_t len);
	/* Rx room came back on the channel of conn (RECEIVE DATA). */
	void (*want_read)(void *arg, void *conn);
	/* The card closed the channel of conn (CLOSE CHANNEL) or the engine gave
	 * up on it: flush what was written, then close. The engine forgets
	 * conn before this call. */
	void (*close)(void *arg, void *conn);
};

struct bip_term_config {
	unsigned channels; /* channel ids 1..channels (TERMINAL PROFILE byte 13); 0: 7 */
	size_t buffer_max; /* largest buffer granted, 1..BIP_GW_BUFFER_MAX; 0: that */
};

/* What the owner should do after pump(). */
enum bip_term_next {
	BIP_TERM_IDLE,  /* nothing until the next network event */
	BIP_TERM_AGAIN, /* budget spent with work left: pump again soon (from the loop) */
	BIP_TERM_WAIT,  /* card busy (93 00) or too chatty: wake() after *wait_ms */
	BIP_TERM_POLL,  /* idle under a POLL INTERVAL: poll() then pump() after
			 * *wait_ms (a later pump() may say it again: the first
			 * deadline holds, or the card is never polled) */
};

/* link is copied (its ops and ctx stay borrowed), net and net_arg are
 * borrowed; all must outlive the engine. cfg may be NULL (defaults).
 * NULL on allocation failure or a bad config. */
struct bip_term *transport_bip_term_new(const struct card_link *link,
					const struct bip_term_net_ops *net, void *net_arg,
					const struct bip_term_config *cfg);
/* Calls no net op (the owner closes its connections and listeners). */
void transport_bip_term_free(struct bip_term *t);

/* reset() (a new session: channels of an earlier one are closed), card
 * reset, TERMINAL PROFILE, then the proactive session the profile
 * starts (SET UP EVENT LIST, OPEN CHANNELs) until the card is idle or
 * BIP_GW_START_STEPS_MAX steps were spent. 0; -EIO when the link fails;
 * -EPROTO when the card refuses TERMINAL PROFILE. A one-line reason in
 * err. Call pump() afterwards when *next is not BIP_TERM_IDLE. */
__attribute__((warn_unused_result)) int transport_bip_term_start(struct bip_term *t,
								 enum bip_term_next *next,
								 unsigned *wait_ms, char *err,
								 size_t errcap);

/* Forgets every channel, as a card reset does (TS 102 221 §6.2.1): the
 * connections are closed (net close), the ports released (net unlisten),
 * the event registrations and the proactive session dropped, and a
 * failed link is trusted again. start() next. */
void transport_bip_term_reset(struct bip_term *t);

/* Fault injection (bip-open-fail): consulted for each OPEN CHANNEL in
 * TCP server mode with its card port; returning true with a result (the
 * general result then additional information, *len 1..4 bytes) answers
 * the command with it, nothing opened. Runs inside pump() and start().
 * fn NULL: none. */
typedef bool bip_term_open_fault_fn(void *arg, uint16_t card_port, uint8_t *result, size_t *len);
void transport_bip_term_set_open_fault(struct bip_term *t, bip_term_open_fault_fn *fn, void *arg);

/* Runs the card: Tx flushes first (no APDU; also while waiting), then the
 * pending proactive commands, then the events owed; at most
 * BIP_GW_PUMP_STEPS_MAX steps (a step: one command with its FETCH and
 * TERMINAL RESPONSE, or one ENVELOPE). *wait_ms is set for BIP_TERM_WAIT. */
enum bip_term_next transport_bip_term_pump(struct bip_term *t, unsigned *wait_ms);
/* The card may have a proactive command without having said so (an
 * answer it held was released): the next pump() sends STATUS (80 F2 00
 * 0C 00), as a handset's periodic poll, when no 91 xx is pending. */
void transport_bip_term_poll(struct bip_term *t);

/* The wait asked for by BIP_TERM_WAIT is over; pump() next. */
void transport_bip_term_wake(struct bip_term *t);

/* A client connected on card_port: binds conn to the lowest channel of
 * that port in LISTEN. The channel id (1..7), -EBUSY when every channel
 * of the port is busy (the owner holds the client), -ENOENT when no
 * channel uses the port. */
int transport_bip_term_accept(struct bip_term *t, uint16_t card_port, void *conn);
/* True when a channel of card_port is in LISTEN. */
bool transport_bip_term_port_free(const struct bip_term *t, uint16_t card_port);

/* Bytes the Rx buffer of channel ch can take now (0 when not established). */
size_t transport_bip_term_rx_room(const struct bip_term *t, unsigned ch);
/* Bytes from the client of channel ch. 0; -EMSGSIZE over rx_room (nothing
 * taken); -EBADFD when the channel is not established. */
__attribute__((warn_unused_result)) int transport_bip_term_rx(struct bip_term *t, unsigned ch,
							      const uint8_t *p, size_t len);
/* The connection of channel ch can take more bytes: the next pump()
 * continues a flush. */
void transport_bip_term_tx_drained(struct bip_term *t, unsigned ch);
/* The client of channel ch closed (error false: FIN) or failed (true: RST,
 * timeout, socket error). The engine forgets the conn; the owner frees it. */
void transport_bip_term_peer_closed(struct bip_term *t, unsigned ch, bool error);

/* One channel, for listings and tests. */
struct bip_term_channel_info {
	enum card_cat_ch_state state;
	uint16_t card_port;
	size_t buffer_size;
	size_t rx_len, tx_len;
	void *conn;
	uint64_t bytes_in;  /* taken from clients (rx) since the channel was opened */
	uint64_t bytes_out; /* written to clients since the channel was opened */
};
/* 0, or -EINVAL for a channel id outside 1..channels. */
int transport_bip_term_channel(const struct bip_term *t, unsigned ch,
			       struct bip_term_channel_info *out);
unsigned transport_bip_term_channels(const struct bip_term *t);
/* True after a link failure: the engine no longer talks to the card. */
bool transport_bip_term_link_down(const struct bip_term *t);

#endif
