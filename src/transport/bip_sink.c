/* bip_sink.c - scws_conn as the card's BIP sink (transport/bip_sink.h). */
#include "transport/bip_sink.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/profile.h"
#include "core/timeval.h"
#include "scws/server.h"
#include "transport/bip_gw.h"
#include "transport/sock.h"

/* An SCWS connection on a channel and its pacing timer. */
struct sink_conn {
	struct bip_sink_ctx *x;
	struct scws_conn *conn;
	struct event *pace;
};

static void sink_pace(struct sink_conn *sc)
{
	int ms = scws_conn_pace(sc->conn, transport_now_ms());
	if (ms >= 0 && !evtimer_pending(sc->pace, NULL)) {
		struct timeval tv = tv_from_ms((uint64_t)ms);
		evtimer_add(sc->pace, &tv);
	}
}

static void sink_pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink_conn *sc = arg;
	sink_pace(sc);
	if (sc->x->gw)
		transport_bip_gw_poll(sc->x->gw);
}

static void *sink_open(void *arg, uint16_t port, unsigned channel)
{
	struct bip_sink_ctx *x = arg;
	const struct profile *p = scws_server_profile(x->srv);
	bool tls = true;
	for (size_t i = 0; p && i < p->n_ports; i++)
		if (p->ports[i].port == port)
			tls = p->ports[i].tls;
	char peer[32], local[48];
	const char *gw_peer = NULL, *gw_local = NULL;
	snprintf(peer, sizeof(peer), "channel %u", channel);
	snprintf(local, sizeof(local), "card port %u", port);
	/* The client the gateway bound to this channel (in-process card). */
	if (x->gw)
		(void)transport_bip_gw_channel_client(x->gw, channel, &gw_peer, &gw_local);
	struct scws_conn_deadlines dl = x->deadlines;
	struct scws_conn_info info = {
		.transport = "bip",
		.peer = gw_peer ? gw_peer : peer,
		.local = gw_local ? gw_local : local,
		.local_port = port,
		.tls = tls,
		.deadlines = &dl,
		.now_ms = transport_now_ms(),
	};
	struct sink_conn *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	sc->x = x;
	sc->conn = scws_conn_new(x->srv, &info);
	sc->pace = evtimer_new(x->base, sink_pace_cb, sc);
	if (!sc->conn || !sc->pace) {
		scws_conn_free(sc->conn);
		if (sc->pace)
			event_free(sc->pace);
		free(sc);
		return NULL;
	}
	return sc;
}

static int sink_feed(void *conn, const uint8_t *p, size_t len)
{
	struct sink_conn *sc = conn;
	scws_conn_set_time(sc->conn, transport_now_ms());
	return scws_conn_feed(sc->conn, p, len);
}

static bool sink_expire(void *conn)
{
	struct sink_conn *sc = conn;
	return scws_conn_expire(sc->conn, transport_now_ms());
}

static uint64_t sink_stalled_since(void *conn)
{
	struct sink_conn *sc = conn;
	return scws_conn_stalled_since(sc->conn);
}

static struct bytes sink_output(void *conn)
{
	struct sink_conn *sc = conn;
	sink_pace(sc);
	return scws_conn_output(sc->conn);
}

static void sink_consume(void *conn, size_t n)
{
	struct sink_conn *sc = conn;
	scws_conn_set_time(sc->conn, transport_now_ms());
	scws_conn_consume(sc->conn, n);
}

static bool sink_output_full(void *conn)
{
	struct sink_conn *sc = conn;
	return scws_conn_output_full(sc->conn);
}

static bool sink_done(void *conn)
{
	struct sink_conn *sc = conn;
	return scws_conn_done(sc->conn) && !scws_conn_held(sc->conn);
}

static void sink_close(void *conn)
{
	struct sink_conn *sc = conn;
	scws_conn_free(sc->conn);
	event_free(sc->pace);
	free(sc);
}

const struct card_bip_sink_ops transport_bip_sink_ops = {
	.open = sink_open,
	.feed = sink_feed,
	.output = sink_output,
	.consume = sink_consume,
	.output_full = sink_output_full,
	.done = sink_done,
	.expire = sink_expire,
	.stalled_since = sink_stalled_since,
	.close = sink_close,
};
