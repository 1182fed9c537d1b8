/* bip_sink.h - the SCWS behind the card's BIP channels: scws_conn as a
 * card/bip.h sink, with the timer that releases a held answer (http-delay,
 * http-drip: scws_conn_pace) and then asks the gateway to poll the card,
 * since a card cannot speak unasked.
 *
 * The context is the caller's (one per card) and must outlive every
 * connection the sink opened: card_bip_free() closes them first. */
#ifndef SCWS_TRANSPORT_BIP_SINK_H
#define SCWS_TRANSPORT_BIP_SINK_H

#include "card/bip.h"
#include "scws/conn.h"

struct event_base;
struct scws_server;
struct bip_gw;

struct bip_sink_ctx {
	struct event_base *base;
	struct scws_server *srv;
	struct bip_gw *gw; /* the in-process gateway, or NULL (--vpcd: pcscd's terminal) */
	struct scws_conn_deadlines deadlines;
};

/* sink_arg: a struct bip_sink_ctx. */
extern const struct card_bip_sink_ops transport_bip_sink_ops;

#endif
