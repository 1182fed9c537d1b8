/* bip.h - BIP channels of a UICC in TCP server mode (ETSI TS 102 223 §6.4.27
 * and §7.5.10-11; doc/protocol.md §1.6-§1.10, §1.14), on top of the proactive
 * engine of cat.h.
 *
 * Sans-I/O, in the card. After a TERMINAL PROFILE that offers what server
 * mode needs (SET UP EVENT LIST, the Data available and Channel status
 * events, OPEN/CLOSE CHANNEL, RECEIVE/SEND DATA, at least one channel,
 * TCP UICC server mode), the BIP server issues SET UP EVENT LIST (09 0A)
 * and one OPEN CHANNEL (qualifier 00, Buffer size, transport 03 + port)
 * per configured channel, as many as the terminal offers, taking the ports
 * in turn (4116, 3516, 4116, ...). A terminal that lacks something gets no
 * command at all and the reason is logged (card_bip_reason()).
 *
 * Each channel the terminal grants is CLOSED, LISTEN or ESTABLISHED (TS
 * 102 223 §8.56). A Channel status event ESTABLISHED (or a Data available
 * event whose status says so) opens a connection on the sink. Data
 * available leads to RECEIVE DATA of min(left, CAT_RECEIVE_DATA_MAX) until
 * the response's Channel data length is 0 (FF: more than 255); the bytes
 * go to the sink, unless the sink's output is full (then the channel waits
 * until it drains). The sink's output goes out in SEND DATA chunks of at
 * most CAT_SEND_DATA_MAX bytes and never more than the channel's buffer
 * size between two chunks with "send immediately" (qualifier 01); the last
 * chunk of what the sink has now goes with 01 too. Once the sink is done
 * and its output sent, CLOSE CHANNEL with qualifier 01 sends the channel
 * back to LISTEN for the next client. A Channel status event LISTEN (41 00
 * or 41 05) or CLOSED closes the connection (the client left). Failures
 * of RECEIVE/SEND DATA: 3A 02 (channel closed): the connection is closed
 * and the channel is in LISTEN; 3A 03 (identifier not valid): the
 * connection is closed and the channel CLOSED; anything else: the
 * connection is closed and CLOSE CHANNEL (01) tells the terminal to drop
 * its client. A channel the terminal closes stays closed until the next
 * TERMINAL PROFILE or reset. OPEN CHANNEL answered "performed with
 * modification" (07) with a smaller Buffer size: that size is used; an
 * OPEN CHANNEL that fails leaves that port's channel closed (logged),
 * unless the config's open_retry says to try again.
 *
 * Retry (open_retry.count > 0): a failed OPEN CHANNEL (any result that is
 * not a success, or a response without a usable channel) is issued again
 * up to count times per channel. The card has no clock: when the terminal
 * offers POLL INTERVAL (TERMINAL PROFILE byte 3 b6), the card asks for a
 * STATUS every open_retry.delay_ms (rounded up to the Duration units of
 * TS 102 223 §8.8) and re-issues the OPEN CHANNELs waiting at the first
 * STATUS after that; once none waits it sends POLLING OFF (if offered).
 * A terminal without POLL INTERVAL gets the retry at its next STATUS,
 * whenever that comes. */
#ifndef SCWS_CARD_BIP_H
#define SCWS_CARD_BIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card/card.h"
#include "card/cat.h"
#include "core/bytes.h"

/* Where a channel's bytes go: one connection per TCP client. This maps
 * one to one onto struct scws_conn (scws/conn.h): open ->
 * scws_conn_new(srv, info) with transport "bip", feed -> scws_conn_feed,
 * output -> scws_conn_output, consume -> scws_conn_consume, output_full ->
 * scws_conn_output_full, done -> scws_conn_done, close -> scws_conn_free.
 * All callbacks run inside card_transmit() (or card_reset() /
 * card_bip_free()). */
struct card_bip_sink_ops {
	/* A client connected on `channel` (1..7) of `port`: a new connection,
	 * or NULL to refuse it (the channel is closed back to LISTEN). */
	void *(*open)(void *arg, uint16_t port, unsigned channel);
	/* Bytes from the client. A negative errno closes the connection. */
	int (*feed)(void *conn, const uint8_t *p, size_t len);
	/* Bytes for the client; valid until the next call on conn. */
	struct bytes (*output)(void *conn);
	void (*consume)(void *conn, size_t n);
	/* True: do not feed more for now (may be NULL: never full). */
	bool (*output_full)(void *conn);
	/* True: close once the output is sent. */
	bool (*done)(void *conn);
	/* May be NULL. Asked whenever the channel has nothing to send: true
	 * when the connection missed one of its deadlines (scws_conn_expire
	 * with the sink's clock) and is to be closed now; the channel goes
	 * back to LISTEN (CLOSE CHANNEL 01). The card has no clock: the
	 * sink's is the one the deadlines count on. */
	bool (*expire)(void *conn);
	/* May be NULL. Since when the connection waits for its client with
	 * nothing owed to it (scws_conn_stalled_since), UINT64_MAX if not. */
	uint64_t (*stalled_since)(void *conn);
	/* The connection is over (client gone, channel closed or reset):
	 * free it. Called exactly once per conn that open() returned. */
	void (*close)(void *conn);
};

/* Configured channels of one port. */
struct card_bip_port {
	uint16_t port;     /* e.g. 4116 (HTTPS), 3516 (HTTP) */
	unsigned channels; /* 1..7 */
};

/* What the card does after an OPEN CHANNEL the terminal refused. */
struct card_bip_retry {
	unsigned count;    /* re-issues per channel, 0..CARD_BIP_RETRY_MAX; 0: never */
	unsigned delay_ms; /* asked as POLL INTERVAL, 100..CARD_BIP_RETRY_DELAY_MAX */
};

struct card_bip_config {
	const struct card_bip_port *ports; /* copied */
	size_t n_ports;                    /* 1..CAT_PORTS_MAX; channels total <= 7 */
	uint16_t buffer_size;              /* asked in OPEN CHANNEL; 0: CAT_BUFFER_SIZE_DEFAULT */
	struct card_bip_retry open_retry;  /* zero: no retry */
	const struct card_bip_sink_ops *sink; /* borrowed, must outlive the server */
	void *sink_arg;
	card_cat_log_fn *log; /* NULL: log_msg() under "cat" */
	void *log_arg;
};

struct card_bip;

/* NULL on allocation failure or a bad config (no port, port 0, a count of
 * 0, more than 7 channels in total, no sink or a sink without open, feed,
 * output, consume, done or close, an open_retry out of its ranges). */
struct card_bip *card_bip_new(const struct card_bip_config *cfg);
/* Closes every connection. Detach the server from its card first (or
 * free the card). */
void card_bip_free(struct card_bip *bip);

/* Attaches the server's proactive engine to the card as its toolkit. */
void card_bip_attach(struct card_bip *bip, struct card *card);
/* The engine (for card_cat_pending() and the like). */
struct card_cat *card_bip_cat(struct card_bip *bip);

/* Why the last TERMINAL PROFILE got no (or fewer) OPEN CHANNEL, or why a
 * channel failed to open; "" when nothing went wrong. Valid until the next
 * call into the card. */
const char *card_bip_reason(const struct card_bip *bip);

/* True once every OPEN CHANNEL of the session has been answered (the
 * channels that will ever listen do): none is waiting for a retry. */
bool card_bip_settled(const struct card_bip *bip);

/* OPEN CHANNELs of this session that failed and wait for their retry
 * (the terminal's next poll). */
size_t card_bip_retries_waiting(const struct card_bip *bip);

/* One channel, by the terminal's channel identifier 1..7. */
struct card_bip_channel_info {
	bool in_use; /* granted by an OPEN CHANNEL of this session */
	enum card_cat_ch_state state;
	uint16_t port;
	uint16_t buffer_size; /* as negotiated */
	bool has_conn;
	size_t rx_left;       /* bytes the terminal still holds (FF: > 255) */
	size_t tx_stored;     /* bytes sent with qualifier 00 since the last 01 */
	unsigned connections; /* connections opened on it so far */
};
/* 0, or -EINVAL for a channel outside 1..7. */
__attribute__((warn_unused_result)) int card_bip_channel(const struct card_bip *bip,
							 unsigned channel,
							 struct card_bip_channel_info *out);

/* For a gateway in front of this card that must make room: since when the
 * connection of channel (1..7) waits for its client with nothing owed to
 * it and nothing left to send (the sink's stalled_since); UINT64_MAX when
 * it has no connection, is closing, has bytes to send or the sink cannot
 * say. */
uint64_t card_bip_channel_stalled_since(const struct card_bip *bip, unsigned channel);

/* Queues GET CHANNEL STATUS (sent when the engine is free). 0; -EBADFD
 * before a usable TERMINAL PROFILE; -ENOTSUP when the terminal does not
 * support the command. The answer updates the channels (a channel the
 * terminal reports LISTEN or CLOSED loses its connection; one it reports
 * ESTABLISHED gets one) and is kept for card_bip_last_status(). */
__attribute__((warn_unused_result)) int card_bip_request_status(struct card_bip *bip);
/* The Channel status values of the last GET CHANNEL STATUS response;
 * returns their count (0 before any), copies at most cap. */
size_t card_bip_last_status(const struct card_bip *bip, uint16_t *out, size_t cap);

#endif
