/* bip_term.c - the terminal side of BIP in UICC server mode, sans-I/O
 * (ETSI TS 102 223 §6.4.27-31, §6.6.16, §6.10, §7.5.10-11; TS 102 221 §7.4.2;
 * doc/protocol.md §1). */
#include "transport/bip_term.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/apdu.h"
#include "card/card.h"
#include "card/cat_msg.h"
#include "codec/tlv.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"

#define SUB "bip"
struct term_ch {
	enum card_cat_ch_state state;
	uint16_t card_port;
	size_t bufsize;
	struct buf rx;     /* bytes from the client; max bufsize */
	struct buf tx;     /* SEND DATA bytes the connection has not taken; max bufsize */
	size_t tx_flush;   /* tx_flush <= tx.len: head bytes to write (SEND DATA q=01) */
	void *conn;        /* non-NULL exactly when ESTABLISHED */
	uint32_t conn_gen; /* connections accepted since the channel opened */
	/* What the card was told last (TERMINAL RESPONSE or event); the
	 * events owed are the difference to the state above. */
	enum card_cat_ch_state card_state;
	uint32_t card_gen;
	uint8_t drop_info;  /* further info of the LISTEN event: 00 FIN, 05 link dropped */
	bool closed_event;  /* CLOSE CHANNEL q=00: one CLOSED event owed */
	bool da_owed;       /* a Data available event owed */
	uint64_t bytes_in;  /* from clients to the card since OPEN CHANNEL */
	uint64_t bytes_out; /* from the card to clients since OPEN CHANNEL */
};

struct bip_term {
	struct card_link link;
	const struct bip_term_net_ops *net;
	void *net_arg;
	unsigned channels;
	size_t buffer_max;
	struct term_ch ch[CAT_BIP_CHANNELS_MAX + 1]; /* ids 1..channels */
	bool ev_data_available, ev_channel_status;   /* SET UP EVENT LIST */
	size_t pending; /* length announced by 91 xx (1..256); 0 none */
	bool waiting;   /* until wake(): card busy or throttled */
	unsigned busy_ms;
	unsigned streak; /* proactive commands since the card was last idle */
	bool streak_warned;
	bool link_down;
	bool in_pump;
	bip_term_open_fault_fn *open_fault;
	void *open_fault_arg;
	bool want_poll;                 /* send STATUS at the next pump */
	uint32_t poll_ms;               /* POLL INTERVAL granted to the card; 0: polling off */
	uint8_t cmd[CAT_PROACTIVE_MAX]; /* the fetched command */
	uint8_t capdu[5 + APDU_SHORT_DATA_MAX + 1];
	uint8_t rapdu[APDU_SHORT_RESP_MAX + 2];
};

/* A TERMINAL RESPONSE being built: views in r point into this struct. */
struct tr {
	struct card_cat_response r;
	uint8_t addl;
	uint8_t data[CAT_RECEIVE_DATA_MAX];
};

void transport_bip_term_set_open_fault(struct bip_term *t, bip_term_open_fault_fn *fn, void *arg)
{
	t->open_fault = fn;
	t->open_fault_arg = arg;
}

/* Channel data length: a count, FF meaning "more than 255" (§8.54). */
static uint8_t len_byte(size_t n)
{
	return n > 0xFF ? CAT_DATA_LEN_MORE : (uint8_t)n;
}

static int link_fail(struct bip_term *t, const char *what, int rc)
{
	if (!t->link_down)
		log_err(SUB,
			"card link (%s) failed during %s: %s; the gateway stops talking "
			"to the card",
			t->link.ops->name ? t->link.ops->name : "?", what,
			strerror(rc < 0 ? -rc : EIO));
	t->link_down = true;
	return -EIO;
}

/* One exchange of t->capdu[0..clen); response data in t->rapdu[0..*dlen).
 * -EIO when the link is gone, -EPROTO for an answer without a usable SW
 * (the command may have taken effect; the card stays reachable). */
static int exchange(struct bip_term *t, size_t clen, const char *what, size_t *dlen, uint16_t *sw)
{
	size_t rlen = 0;
	if (t->link_down)
		return -EIO;
	int rc = transport_link_transmit(&t->link, t->capdu, clen, t->rapdu, sizeof(t->rapdu),
					 &rlen);
	if (rc == -EMSGSIZE || rc == -EPROTO) {
		log_warn(SUB, "%s: the card's answer is unusable (%s)", what, strerror(-rc));
		return -EPROTO;
	}
	if (rc)
		return link_fail(t, what, rc);
	*sw = (uint16_t)((t->rapdu[rlen - 2] << 8) | t->rapdu[rlen - 1]);
	*dlen = rlen - 2;
	return 0;
}

/* The status word that ends a TERMINAL PROFILE, TERMINAL RESPONSE or
 * ENVELOPE: 91 xx announces the next proactive command. */
static void note_sw(struct bip_term *t, uint16_t sw, const char *what)
{
	if ((sw & 0xFF00) == 0x9100) {
		t->pending = (sw & 0xFF) ? (sw & 0xFF) : 256;
		return;
	}
	if (sw != SW_OK)
		log_warn(SUB, "card answered %s with %02X %02X (%s)", what, sw >> 8, sw & 0xFF,
			 card_sw_text(sw));
}

static bool port_in_use(const struct bip_term *t, uint16_t port)
{
	for (unsigned i = 1; i <= t->channels; i++)
		if (t->ch[i].state != CAT_CH_CLOSED && t->ch[i].card_port == port)
			return true;
	return false;
}

static void port_changed(struct bip_term *t, uint16_t port)
{
	if (t->net && t->net->port_changed)
		t->net->port_changed(t->net_arg, port);
}

static void reset_buffers(struct term_ch *c)
{
	buf_reset(&c->rx);
	buf_reset(&c->tx);
	c->tx_flush = 0;
	c->da_owed = false;
}

/* ESTABLISHED -> LISTEN. close_it: the engine ends the connection (CLOSE
 * CHANNEL, write error), else the owner reported it gone. */
static void to_listen(struct bip_term *t, unsigned id, bool close_it, uint8_t info)
{
	struct term_ch *c = &t->ch[id];
	void *conn = c->conn;
	c->conn = NULL;
	c->state = CAT_CH_LISTEN;
	c->drop_info = info;
	reset_buffers(c);
	if (close_it && conn && t->net && t->net->close)
		t->net->close(t->net_arg, conn);
	port_changed(t, c->card_port);
}

/* Writes what SEND DATA q=01 asked for, as far as the connection takes it.
 * A connection that refuses is dropped like an RST (Channel status 05). */
static int flush_tx(struct bip_term *t, unsigned id)
{
	struct term_ch *c = &t->ch[id];
	while (c->state == CAT_CH_ESTABLISHED && c->tx_flush > 0) {
		ssize_t w = t->net && t->net->write
				    ? t->net->write(t->net_arg, c->conn, c->tx.p, c->tx_flush)
				    : -EPIPE;
		if (w < 0) {
			log_info(SUB, "channel %u: connection failed while sending (%s)", id,
				 strerror((int)-w));
			to_listen(t, id, true, CAT_CHST_INFO_LINK_DROPPED);
			return -EPIPE;
		}
		if (w == 0)
			break;
		size_t n = (size_t)w > c->tx_flush ? c->tx_flush : (size_t)w;
		buf_consume(&c->tx, n);
		c->tx_flush -= n;
		c->bytes_out += n;
	}
	return 0;
}

static void flush_all(struct bip_term *t)
{
	for (unsigned i = 1; i <= t->channels; i++)
		if (t->ch[i].tx_flush)
			(void)flush_tx(t, i);
}

static void bip_error(struct tr *tr, uint8_t info)
{
	tr->r.result = CAT_RES_BIP_ERROR;
	tr->addl = info;
	tr->r.result_info = bytes_make(&tr->addl, 1);
}

/* The channel a RECEIVE/SEND/CLOSE addresses (destination 21..27), or 0
 * when the id is out of range or the channel is not open (3A 03). */
static unsigned dst_channel(const struct bip_term *t, uint8_t dst)
{
	unsigned id = dst & 0x07;
	if ((dst & 0xF8) != CAT_DEV_CHANNEL(0) || id == 0 || id > t->channels)
		return 0;
	return t->ch[id].state == CAT_CH_CLOSED ? 0 : id;
}

/* The channel a RECEIVE or SEND DATA addresses when it has a client; else
 * 0 with the BIP error said (3A 03 no such channel, 3A 02 no client: it
 * left, and the card may not have seen the event yet). */
static unsigned client_channel(const struct bip_term *t, const struct card_cat_command *c,
			       struct tr *tr)
{
	unsigned id = dst_channel(t, c->devices.dst);
	if (!id) {
		bip_error(tr, CAT_BIP_CHANNEL_ID_INVALID);
		return 0;
	}
	if (t->ch[id].state != CAT_CH_ESTABLISHED) {
		bip_error(tr, CAT_BIP_CHANNEL_CLOSED);
		return 0;
	}
	return id;
}

/* SET UP EVENT LIST (§6.4.16): the list replaces the previous one; an
 * event this terminal cannot report fails the command and changes nothing. */
static void do_event_list(struct bip_term *t, const struct card_cat_command *c, struct tr *tr)
{
	bool da = false, cs = false;
	for (size_t i = 0; i < c->events.len; i++) {
		uint8_t ev = c->events.ptr[i];
		if (ev == CAT_EVENT_DATA_AVAILABLE) {
			da = true;
		} else if (ev == CAT_EVENT_CHANNEL_STATUS) {
			cs = true;
		} else {
			log_info(SUB, "SET UP EVENT LIST: event %02X is not supported", ev);
			tr->r.result = CAT_RES_BEYOND_CAPABILITIES;
			return;
		}
	}
	t->ev_data_available = da;
	t->ev_channel_status = cs;
	log_info(SUB, "card registered events:%s%s%s", da ? " data-available" : "",
		 cs ? " channel-status" : "", !da && !cs ? " none" : "");
	tr->r.result = CAT_RES_OK;
}

/* OPEN CHANNEL related to UICC server mode (§6.4.27.5, doc/protocol.md §1.6).
 * The response carries Buffer size also when a BIP error refuses the
 * channel, as the Android/G&D terminals do, so the card learns our limit. */
static void do_open(struct bip_term *t, const struct card_cat_command *c, struct tr *tr)
{
	if (!c->has_transport) {
		/* Client modes need a bearer and a network: not in this terminal
		 * (TERMINAL PROFILE byte 17 says server mode only). */
		log_info(SUB, "OPEN CHANNEL without a transport level (client mode): refused");
		tr->r.result = CAT_RES_BEYOND_CAPABILITIES;
		return;
	}
	uint8_t res[4];
	size_t res_len = 0;
	if (c->transport == CAT_TRANSPORT_TCP_SERVER && t->open_fault &&
	    t->open_fault(t->open_fault_arg, c->port, res, &res_len) && res_len >= 1 &&
	    res_len <= sizeof(res)) {
		log_info(SUB, "OPEN CHANNEL port %u: answered %02X%s by a fault", c->port, res[0],
			 res_len > 1 ? " with additional information" : "");
		tr->r.result = res[0];
		memcpy(tr->data, res + 1, res_len - 1);
		tr->addl = res_len > 1 ? res[1] : 0; /* for the log line */
		tr->r.result_info = bytes_make(tr->data, res_len - 1);
		return;
	}
	size_t grant = c->buffer_size < t->buffer_max ? c->buffer_size : t->buffer_max;
	tr->r.has_buffer_size = true;
	tr->r.buffer_size = (uint16_t)grant;
	if (c->transport != CAT_TRANSPORT_TCP_SERVER) {
		log_info(SUB, "OPEN CHANNEL transport %02X: only 03 (TCP server) is supported",
			 c->transport);
		bip_error(tr, CAT_BIP_TRANSPORT_UNAVAILABLE);
		return;
	}
	if (c->port == 0) {
		tr->r.has_buffer_size = false;
		tr->r.result = CAT_RES_DATA_NOT_UNDERSTOOD;
		return;
	}
	if (grant == 0) {
		bip_error(tr, CAT_BIP_BUFFER_SIZE_UNAVAILABLE);
		return;
	}
	unsigned id = 0;
	for (unsigned i = 1; i <= t->channels && !id; i++)
		if (t->ch[i].state == CAT_CH_CLOSED)
			id = i;
	if (!id) {
		log_info(SUB, "OPEN CHANNEL port %u: all %u channels in use", c->port, t->channels);
		bip_error(tr, CAT_BIP_NO_CHANNEL);
		return;
	}
	if (!port_in_use(t, c->port)) {
		int rc = t->net && t->net->listen ? t->net->listen(t->net_arg, c->port) : -ENOSYS;
		if (rc) {
			/* A port another process holds: the gateway says it once. */
			log_msg(rc == -EADDRINUSE ? LOG_DEBUG : LOG_WARN, SUB,
				"OPEN CHANNEL port %u: cannot listen (%s)", c->port, strerror(-rc));
			bip_error(tr, CAT_BIP_PORT_UNAVAILABLE);
			return;
		}
	}
	struct term_ch *ch = &t->ch[id];
	buf_cleanup(&ch->rx);
	buf_cleanup(&ch->tx);
	memset(ch, 0, sizeof(*ch));
	buf_init(&ch->rx, grant);
	buf_init(&ch->tx, grant);
	ch->state = CAT_CH_LISTEN;
	ch->card_state = CAT_CH_LISTEN;
	ch->card_port = c->port;
	ch->bufsize = grant;
	tr->r.result = grant < c->buffer_size ? CAT_RES_MODIFIED : CAT_RES_OK;
	tr->r.n_status = 1;
	tr->r.status[0] = CAT_CHST(CAT_CHST_LISTEN, id, 0);
	log_info(SUB, "channel %u: TCP server on card port %u, buffer %zu%s", id, c->port, grant,
		 grant < c->buffer_size ? " (reduced)" : "");
	port_changed(t, c->port);
}

/* CLOSE CHANNEL (§6.4.28): q b1=1 back to LISTEN keeping the port, b1=0
 * CLOSED, the port released when no other channel uses it. */
static void do_close(struct bip_term *t, const struct card_cat_command *c, struct tr *tr)
{
	unsigned id = dst_channel(t, c->devices.dst);
	if (!id) {
		bip_error(tr, CAT_BIP_CHANNEL_ID_INVALID);
		return;
	}
	struct term_ch *ch = &t->ch[id];
	if (c->details.qualifier & CAT_QUAL_CLOSE_TO_LISTEN) {
		if (ch->state == CAT_CH_ESTABLISHED)
			to_listen(t, id, true, CAT_CHST_INFO_NONE);
		ch->card_state = CAT_CH_LISTEN;
		ch->card_gen = ch->conn_gen;
		log_info(SUB, "channel %u: closed by the card, back to LISTEN", id);
	} else {
		void *conn = ch->conn;
		ch->conn = NULL;
		reset_buffers(ch);
		buf_cleanup(&ch->rx);
		buf_cleanup(&ch->tx);
		ch->state = CAT_CH_CLOSED;
		ch->card_state = CAT_CH_CLOSED;
		/* Not a transition §7.5.11 asks to report (it results from a
		 * proactive command), but G&D's terminal reports it and cards
		 * written against it wait for it; a card that does not care
		 * ignores it. */
		ch->closed_event = true;
		if (conn && t->net && t->net->close)
			t->net->close(t->net_arg, conn);
		if (port_in_use(t, ch->card_port))
			port_changed(t, ch->card_port);
		else if (t->net && t->net->unlisten)
			t->net->unlisten(t->net_arg, ch->card_port);
		log_info(SUB, "channel %u: closed by the card", id);
	}
	tr->r.result = CAT_RES_OK;
}

/* RECEIVE DATA (§6.4.29): at most what fits one TERMINAL RESPONSE. */
static void do_receive(struct bip_term *t, const struct card_cat_command *c, struct tr *tr)
{
	unsigned id = client_channel(t, c, tr);
	if (!id)
		return;
	struct term_ch *ch = &t->ch[id];
	size_t n = c->data_len;
	if (n > CAT_RECEIVE_DATA_MAX)
		n = CAT_RECEIVE_DATA_MAX;
	if (n > ch->rx.len)
		n = ch->rx.len;
	if (n)
		memcpy(tr->data, ch->rx.p, n);
	buf_consume(&ch->rx, n);
	tr->r.has_data = true;
	tr->r.data = bytes_make(tr->data, n);
	tr->r.has_data_len = true;
	tr->r.data_len = len_byte(ch->rx.len);
	tr->r.result = n < c->data_len ? CAT_RES_MISSING_INFO : CAT_RES_OK;
	if (ch->rx.len == 0)
		ch->da_owed = false;
	else if (n > 0)
		/* Owed again only if the card goes idle without asking for the
		 * rest: it may have lost count; after a read of 0 bytes nothing
		 * is owed, or a card and this terminal could ping-pong forever. */
		ch->da_owed = true;
	if (n && t->net && t->net->want_read)
		t->net->want_read(t->net_arg, ch->conn);
}

/* SEND DATA (§6.4.30): q b1=1 sends the Tx buffer now. Data beyond the
 * free Tx space is refused whole with 3A 04 "requested buffer size not
 * available" (the card must not exceed the buffer size before a flush). */
static void do_send(struct bip_term *t, const struct card_cat_command *c, struct tr *tr)
{
	unsigned id = client_channel(t, c, tr);
	if (!id)
		return;
	struct term_ch *ch = &t->ch[id];
	if (c->data.len > ch->bufsize - ch->tx.len) {
		log_info(SUB, "channel %u: SEND DATA of %zu bytes, %zu free in Tx", id, c->data.len,
			 ch->bufsize - ch->tx.len);
		bip_error(tr, CAT_BIP_BUFFER_SIZE_UNAVAILABLE);
		return;
	}
	if (buf_append(&ch->tx, c->data.ptr, c->data.len) != 0) {
		bip_error(tr, CAT_BIP_NO_CAUSE);
		return;
	}
	if (c->details.qualifier & CAT_QUAL_SEND_IMMEDIATELY) {
		ch->tx_flush = ch->tx.len;
		if (flush_tx(t, id) != 0) {
			bip_error(tr, CAT_BIP_CHANNEL_CLOSED);
			return;
		}
	}
	tr->r.has_data_len = true;
	tr->r.data_len = len_byte(ch->bufsize - ch->tx.len);
	tr->r.result = CAT_RES_OK;
}

/* GET CHANNEL STATUS (§6.4.31): one Channel status per open channel,
 * 00 00 ("no channel available") when there is none. */
static void do_status(struct bip_term *t, const struct card_cat_command *c, struct tr *tr)
{
	size_t n = 0;
	for (unsigned i = 1; i <= t->channels; i++)
		if (t->ch[i].state != CAT_CH_CLOSED)
			tr->r.status[n++] = CAT_CHST(card_cat_ch_state_chst(t->ch[i].state), i, 0);
	if (n == 0)
		tr->r.status[n++] = 0;
	tr->r.n_status = n;
	tr->r.result = CAT_RES_OK;
}

/* POLL INTERVAL (§6.4.6): the card asks to be polled with STATUS every
 * Duration while the terminal is idle; granted as asked, at least
 * BIP_GW_POLL_MIN_MS (the Duration in the response is what is granted). */
static void do_poll_interval(struct bip_term *t, const struct card_cat_command *c, struct tr *tr)
{
	uint32_t ms = card_cat_duration_ms(c->duration);
	if (ms == 0) {
		tr->r.result = CAT_RES_DATA_NOT_UNDERSTOOD;
		return;
	}
	struct card_cat_duration d = c->duration;
	if (ms < BIP_GW_POLL_MIN_MS) {
		ms = BIP_GW_POLL_MIN_MS;
		d = card_cat_duration_from_ms(ms);
	}
	t->poll_ms = ms;
	tr->r.has_duration = true;
	tr->r.duration = d;
	tr->r.result = CAT_RES_OK;
	log_dbg(SUB, "POLL INTERVAL: STATUS every %u ms while idle", (unsigned)ms);
}

/* POLLING OFF (§6.4.7): back to no poll at all (the card speaks after a
 * command of ours, or a poll the owner asks for). */
static void do_polling_off(struct bip_term *t, const struct card_cat_command *c, struct tr *tr)
{
	(void)c;
	t->poll_ms = 0;
	tr->r.result = CAT_RES_OK;
}

typedef void cmd_fn(struct bip_term *t, const struct card_cat_command *c, struct tr *tr);

/* What this terminal carries out (TERMINAL PROFILE bytes 5, 12): one
 * handler per row of the command table in card/cat_msg.c. */
static const struct {
	uint8_t type;
	cmd_fn *fn;
} handlers[] = {
	{ CAT_CMD_SET_UP_EVENT_LIST, do_event_list },
	{ CAT_CMD_OPEN_CHANNEL, do_open },
	{ CAT_CMD_CLOSE_CHANNEL, do_close },
	{ CAT_CMD_RECEIVE_DATA, do_receive },
	{ CAT_CMD_SEND_DATA, do_send },
	{ CAT_CMD_GET_CHANNEL_STATUS, do_status },
	{ CAT_CMD_POLL_INTERVAL, do_poll_interval },
	{ CAT_CMD_POLLING_OFF, do_polling_off },
};

static cmd_fn *handler(uint8_t type)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].type == type)
			return handlers[i].fn;
	return NULL;
}

/* Step 1: the command's frame and objects. False when there is nothing to
 * answer: not a D0 object, or no Command details to echo (§6.10.1 "message
 * too short": ignored; logged). */
static bool scan_command(const uint8_t *p, size_t len, struct card_cat_command_scan *sc)
{
	if (card_cat_msg_command_scan(p, len, sc) != 0) {
		log_warn(SUB, "FETCH gave no proactive command (%zu bytes, first %02X): dropped",
			 len, len ? p[0] : 0);
		return false;
	}
	if (sc->trailing)
		log_dbg(SUB, "FETCH: %zu bytes after the proactive command ignored", sc->trailing);
	if (!sc->has_details) {
		log_warn(SUB, "FETCH: proactive command without Command details: dropped");
		return false;
	}
	return true;
}

/* Step 2: the objects against the command's row (§6.10.4/5): an object not
 * expected here is ignored when its CR bit is clear (the command then
 * reports partial comprehension), else the command is refused; the
 * mandatory one must be there. CAT_RES_OK, or the result that answers. */
static uint8_t check_objects(const struct card_cat_command_scan *sc,
			     const struct card_cat_cmd_spec *s, bool *partial, bool *icon)
{
	bool have_mandatory = !s->mandatory;
	*partial = false;
	*icon = false;
	if (!sc->has_devices)
		return CAT_RES_VALUES_MISSING;
	for (size_t i = 0; i < sc->n_objs; i++) {
		if (sc->objs[i].tag == s->mandatory)
			have_mandatory = true;
		if (sc->objs[i].tag == CAT_TAG_ICON_ID)
			*icon = true;
		if (card_cat_cmd_allows(s, sc->objs[i].tag))
			continue;
		if (sc->objs[i].cr)
			return CAT_RES_DATA_NOT_UNDERSTOOD;
		*partial = true;
	}
	return have_mandatory ? CAT_RES_OK : CAT_RES_VALUES_MISSING;
}

/* Step 3: the decoded command, from the UICC to the device of its row. */
static bool decode_command(const uint8_t *p, size_t len, const struct card_cat_cmd_spec *s,
			   struct card_cat_command *c)
{
	if (card_cat_msg_command_decode(p, len, c) != 0)
		return false;
	return c->devices.src == CAT_DEV_UICC &&
	       (s->dst != CAT_DST_TERMINAL || c->devices.dst == CAT_DEV_TERMINAL);
}

/* Works out the TERMINAL RESPONSE to the command in p[0..len): scan,
 * check against the command table, decode, carry out. False when there is
 * nothing to answer. */
static bool handle_command(struct bip_term *t, const uint8_t *p, size_t len, struct tr *tr)
{
	struct card_cat_command_scan sc;
	memset(tr, 0, sizeof(*tr));
	tr->r.devices.src = CAT_DEV_TERMINAL;
	tr->r.devices.dst = CAT_DEV_UICC;
	if (!scan_command(p, len, &sc))
		return false;
	tr->r.details = sc.details;
	const struct card_cat_details *d = &tr->r.details;
	log_dbg(SUB, "proactive command %02X: %s, qualifier %02X", d->number,
		card_cat_cmd_name(d->type), d->qualifier);
	if (sc.malformed) {
		tr->r.result = CAT_RES_DATA_NOT_UNDERSTOOD;
		return true;
	}
	const struct card_cat_cmd_spec *s = card_cat_cmd_spec(d->type);
	cmd_fn *fn = handler(d->type);
	if (!s || !fn) {
		log_info(SUB, "proactive command type %02X (%s) is not supported", d->type,
			 card_cat_cmd_name(d->type));
		tr->r.result = CAT_RES_BEYOND_CAPABILITIES;
		return true;
	}
	bool partial, icon;
	tr->r.result = check_objects(&sc, s, &partial, &icon);
	if (tr->r.result != CAT_RES_OK)
		return true;
	struct card_cat_command c;
	if (!decode_command(p, sc.len, s, &c)) {
		tr->r.result = CAT_RES_DATA_NOT_UNDERSTOOD;
		return true;
	}
	fn(t, &c, tr);
	if (tr->r.result == CAT_RES_OK && partial)
		tr->r.result = CAT_RES_PARTIAL_COMPREHENSION;
	else if (tr->r.result == CAT_RES_OK && icon)
		tr->r.result = CAT_RES_ICON_NOT_DISPLAYED; /* no display: §6.4 icons */
	return true;
}

/* FETCH with Le = le into t->cmd. 0 and *len, or a negative errno when the
 * card gave no command (logged). A card whose 91 xx under-announced is
 * followed through 6C xx (Le again) and 61 xx (GET RESPONSE), bounded. */
static int fetch(struct bip_term *t, size_t le, size_t *len)
{
	size_t clen = 0, dlen = 0, got = 0;
	uint16_t sw = 0;
	int rc = card_cat_msg_capdu(CAT_INS_FETCH, NULL, le, t->capdu, sizeof(t->capdu), &clen);
	if (rc == 0)
		rc = exchange(t, clen, "FETCH", &dlen, &sw);
	if (rc == 0 && (sw & 0xFF00) == 0x6C00) {
		t->capdu[4] = (uint8_t)sw;
		rc = exchange(t, clen, "FETCH", &dlen, &sw);
	}
	for (unsigned round = 0; rc == 0; round++) {
		if (dlen > sizeof(t->cmd) - got) {
			log_warn(SUB, "FETCH: proactive command over %zu bytes: dropped",
				 sizeof(t->cmd));
			return -EMSGSIZE;
		}
		memcpy(t->cmd + got, t->rapdu, dlen);
		got += dlen;
		if ((sw & 0xFF00) != 0x6100 || round >= BIP_GW_GETRESP_MAX)
			break;
		static const uint8_t get_response[4] = { 0x00, 0xC0, 0x00, 0x00 };
		memcpy(t->capdu, get_response, sizeof(get_response));
		t->capdu[4] = (uint8_t)sw;
		rc = exchange(t, 5, "GET RESPONSE", &dlen, &sw);
	}
	if (rc)
		return rc;
	/* 91 xx here would chain a second command before the first is
	 * answered; the TERMINAL RESPONSE's status word says it again. */
	if (sw != SW_OK && (sw & 0xFF00) != 0x9100) {
		log_warn(SUB, "FETCH answered %02X %02X (%s): no command", sw >> 8, sw & 0xFF,
			 card_sw_text(sw));
		return -EPROTO;
	}
	*len = got;
	return 0;
}

static void send_tr(struct bip_term *t, struct tr *tr)
{
	uint8_t body[CAT_TR_MAX];
	size_t n = 0, clen = 0, dlen = 0;
	uint16_t sw = 0;
	int rc = card_cat_msg_response_encode(&tr->r, body, sizeof(body), &n);
	if (rc == 0)
		rc = card_cat_msg_capdu(CAT_INS_TERMINAL_RESPONSE, body, n, t->capdu,
					sizeof(t->capdu), &clen);
	if (rc) {
		/* Our own limits keep every response under 255 bytes. */
		log_err(SUB, "cannot encode the TERMINAL RESPONSE (%s)", strerror(-rc));
		return;
	}
	if (tr->r.result == CAT_RES_BIP_ERROR)
		log_info(SUB, "%s %02X: result 3A %02X (%s)", card_cat_cmd_name(tr->r.details.type),
			 tr->r.details.number, tr->addl, card_cat_bip_error_name(tr->addl));
	else if (tr->r.result != CAT_RES_OK)
		log_info(SUB, "%s %02X: result %02X (%s)", card_cat_cmd_name(tr->r.details.type),
			 tr->r.details.number, tr->r.result, card_cat_result_name(tr->r.result));
	if (exchange(t, clen, "TERMINAL RESPONSE", &dlen, &sw) == 0)
		note_sw(t, sw, "TERMINAL RESPONSE");
}

/* One proactive command: FETCH, carry out, TERMINAL RESPONSE. */
static void run_proactive(struct bip_term *t)
{
	size_t le = t->pending, len = 0;
	struct tr tr;
	t->pending = 0;
	if (fetch(t, le, &len) != 0)
		return;
	if (handle_command(t, t->cmd, len, &tr))
		send_tr(t, &tr);
}

static int send_event(struct bip_term *t, uint8_t ev, uint16_t status, bool has_len,
		      uint8_t dlen_byte, uint16_t *sw)
{
	struct card_cat_event e = {
		.event = ev,
		.devices = { CAT_DEV_TERMINAL, CAT_DEV_UICC },
		.has_status = true,
		.status = status,
		.has_data_len = has_len,
		.data_len = dlen_byte,
	};
	uint8_t body[CAT_ENVELOPE_MAX];
	size_t n = 0, clen = 0, dlen = 0;
	int rc = card_cat_msg_event_encode(&e, body, sizeof(body), &n);
	if (rc == 0)
		rc = card_cat_msg_capdu(CAT_INS_ENVELOPE, body, n, t->capdu, sizeof(t->capdu),
					&clen);
	if (rc == 0)
		rc = exchange(t, clen, "ENVELOPE", &dlen, sw);
	return rc;
}

enum deliver { DELIVER_NONE, DELIVER_SENT, DELIVER_STOP };

/* The next event owed to the card, if any: per channel, first what the
 * card has to forget (CLOSED, or LISTEN when it knows a connection that is
 * gone), then the connection it does not know yet, then Data available.
 * Events the card did not register are settled without an APDU. Working
 * from (what the card knows, what is) rather than a queue keeps this
 * bounded whatever the clients do while the card is busy. */
static enum deliver deliver_one(struct bip_term *t)
{
	for (unsigned i = 1; i <= t->channels; i++) {
		struct term_ch *c = &t->ch[i];
		for (;;) {
			uint8_t ev = CAT_EVENT_CHANNEL_STATUS, dlen = 0;
			uint16_t status;
			enum card_cat_ch_state tell;
			bool is_da = false;
			if (c->closed_event) {
				status = CAT_CHST(CAT_CHST_CLOSED, i, 0);
				tell = CAT_CH_CLOSED;
			} else if (c->state == CAT_CH_CLOSED) {
				break;
			} else if (c->card_state == CAT_CH_ESTABLISHED &&
				   (c->state != CAT_CH_ESTABLISHED || c->card_gen != c->conn_gen)) {
				status = CAT_CHST(CAT_CHST_LISTEN, i, c->drop_info);
				tell = CAT_CH_LISTEN;
			} else if (c->state == CAT_CH_ESTABLISHED &&
				   (c->card_state != CAT_CH_ESTABLISHED ||
				    c->card_gen != c->conn_gen)) {
				status = CAT_CHST(CAT_CHST_ESTABLISHED, i, 0);
				tell = CAT_CH_ESTABLISHED;
			} else if (c->state == CAT_CH_ESTABLISHED && c->da_owed && c->rx.len) {
				ev = CAT_EVENT_DATA_AVAILABLE;
				status = CAT_CHST(CAT_CHST_ESTABLISHED, i, 0);
				dlen = len_byte(c->rx.len);
				tell = CAT_CH_ESTABLISHED;
				is_da = true;
			} else {
				c->da_owed = false;
				break;
			}
			bool registered = is_da ? t->ev_data_available : t->ev_channel_status;
			if (registered) {
				uint16_t sw = 0;
				int rc = send_event(t, ev, status, is_da, dlen, &sw);
				if (rc == -EIO)
					return DELIVER_STOP;
				if (rc == 0 && sw == SW_TOOLKIT_BUSY) {
					t->waiting = true;
					return DELIVER_STOP;
				}
				if (rc == 0)
					note_sw(t, sw, "ENVELOPE");
				t->busy_ms = BIP_GW_BUSY_MIN_MS;
				log_dbg(SUB, "channel %u: event %s %04X", i,
					card_cat_event_name(ev), status);
			}
			if (is_da) {
				c->da_owed = false;
			} else if (tell == CAT_CH_CLOSED) {
				c->closed_event = false;
			} else {
				c->card_state = tell;
				c->card_gen = c->conn_gen;
			}
			if (registered)
				return DELIVER_SENT;
		}
	}
	return DELIVER_NONE;
}

enum bip_term_next transport_bip_term_pump(struct bip_term *t, unsigned *wait_ms)
{
	enum bip_term_next next = BIP_TERM_IDLE;
	if (!t || t->in_pump)
		return BIP_TERM_IDLE;
	t->in_pump = true;
	/* Flushes need no APDU: they go on while the card is busy or gone. */
	flush_all(t);
	if (t->link_down || t->waiting)
		goto out;
	if (t->want_poll && !t->pending) {
		size_t dlen = 0;
		uint16_t sw = 0;
		static const uint8_t status[] = { 0x80, 0xF2, 0x00, 0x0C, 0x00 };
		memcpy(t->capdu, status, sizeof(status));
		if (exchange(t, sizeof(status), "STATUS", &dlen, &sw) == 0)
			note_sw(t, sw, "STATUS");
	}
	t->want_poll = false;
	for (unsigned n = 0; n < BIP_GW_PUMP_STEPS_MAX; n++) {
		if (t->link_down)
			goto out;
		if (t->pending) {
			/* A card that never stops issuing commands gets them all
			 * answered, but in bursts with pauses between. */
			if (t->streak >= BIP_GW_STREAK_MAX) {
				if (!t->streak_warned)
					log_warn(SUB,
						 "card issued %u proactive commands in a row; "
						 "pausing %u ms between bursts",
						 t->streak, BIP_GW_THROTTLE_MS);
				t->streak_warned = true;
				t->streak = 0;
				t->waiting = true;
				if (wait_ms)
					*wait_ms = BIP_GW_THROTTLE_MS;
				next = BIP_TERM_WAIT;
				goto out;
			}
			t->streak++;
			run_proactive(t);
			continue;
		}
		t->streak = 0;
		switch (deliver_one(t)) {
		case DELIVER_SENT:
			continue;
		case DELIVER_STOP:
			if (t->waiting) {
				if (wait_ms)
					*wait_ms = t->busy_ms;
				log_dbg(SUB, "toolkit busy: retry in %u ms", t->busy_ms);
				t->busy_ms *= 2;
				if (t->busy_ms > BIP_GW_BUSY_MAX_MS)
					t->busy_ms = BIP_GW_BUSY_MAX_MS;
				next = BIP_TERM_WAIT;
			}
			goto out;
		case DELIVER_NONE:
			goto out;
		}
	}
	next = BIP_TERM_AGAIN;
out:
	/* Idle with a POLL INTERVAL granted: the poll is the next thing. */
	if (next == BIP_TERM_IDLE && t->poll_ms && !t->link_down && !t->waiting) {
		if (wait_ms)
			*wait_ms = t->poll_ms;
		next = BIP_TERM_POLL;
	}
	t->in_pump = false;
	return next;
}

void transport_bip_term_poll(struct bip_term *t)
{
	if (t)
		t->want_poll = true;
}

void transport_bip_term_wake(struct bip_term *t)
{
	if (t)
		t->waiting = false;
}

int transport_bip_term_start(struct bip_term *t, enum bip_term_next *next, unsigned *wait_ms,
			     char *err, size_t errcap)
{
	uint8_t atr[CARD_ATR_MAX + 1];
	size_t atr_len = 0, tp_len = 0, clen = 0, dlen = 0;
	uint8_t tp[CAT_PROFILE_LEN];
	uint16_t sw = 0;
	if (next)
		*next = BIP_TERM_IDLE;
	/* A new TERMINAL PROFILE is a new session: whatever was open goes. */
	transport_bip_term_reset(t);
	int rc = transport_link_reset(&t->link, atr, sizeof(atr), &atr_len);
	if (rc) {
		snprintf(err, errcap, "card reset failed: %s", strerror(-rc));
		link_fail(t, "reset", rc);
		return -EIO;
	}
	/* The minimal profile of doc/protocol.md §1.12: BIP commands, both events,
	 * UICC server mode, and how many channels we keep. */
	struct card_cat_profile prof = {
		.set_up_event_list = true,
		.ev_data_available = true,
		.ev_channel_status = true,
		.open_channel = true,
		.close_channel = true,
		.receive_data = true,
		.send_data = true,
		.get_channel_status = true,
		.channels = (uint8_t)t->channels,
		.tcp_server = true,
		.poll_interval = true,
		.polling_off = true,
	};
	rc = card_cat_msg_profile_encode(&prof, tp, sizeof(tp), &tp_len);
	if (rc == 0)
		rc = card_cat_msg_capdu(CAT_INS_TERMINAL_PROFILE, tp, tp_len, t->capdu,
					sizeof(t->capdu), &clen);
	if (rc == 0)
		rc = exchange(t, clen, "TERMINAL PROFILE", &dlen, &sw);
	if (rc) {
		snprintf(err, errcap, "TERMINAL PROFILE failed: %s", strerror(-rc));
		return rc == -EIO ? -EIO : -EPROTO;
	}
	if (sw != SW_OK && (sw & 0xFF00) != 0x9100) {
		snprintf(err, errcap, "card refused TERMINAL PROFILE: %02X %02X (%s)", sw >> 8,
			 sw & 0xFF, card_sw_text(sw));
		return -EPROTO;
	}
	note_sw(t, sw, "TERMINAL PROFILE");
	enum bip_term_next n = BIP_TERM_IDLE;
	for (unsigned spent = 0; spent < BIP_GW_START_STEPS_MAX; spent += BIP_GW_PUMP_STEPS_MAX) {
		n = transport_bip_term_pump(t, wait_ms);
		if (n != BIP_TERM_AGAIN)
			break;
	}
	if (t->link_down) {
		snprintf(err, errcap, "card link failed during the first proactive session");
		return -EIO;
	}
	if (next)
		*next = n;
	return 0;
}

void transport_bip_term_reset(struct bip_term *t)
{
	if (!t)
		return;
	for (unsigned i = 1; i <= t->channels; i++) {
		struct term_ch *c = &t->ch[i];
		if (c->state == CAT_CH_CLOSED)
			continue;
		void *conn = c->conn;
		uint16_t port = c->card_port;
		c->conn = NULL;
		c->state = CAT_CH_CLOSED;
		if (conn && t->net && t->net->close)
			t->net->close(t->net_arg, conn);
		if (!port_in_use(t, port) && t->net && t->net->unlisten)
			t->net->unlisten(t->net_arg, port);
	}
	for (unsigned i = 1; i <= CAT_BIP_CHANNELS_MAX; i++) {
		buf_cleanup(&t->ch[i].rx);
		buf_cleanup(&t->ch[i].tx);
	}
	memset(t->ch, 0, sizeof(t->ch));
	t->ev_data_available = t->ev_channel_status = false;
	t->pending = 0;
	t->waiting = false;
	t->poll_ms = 0;
	t->busy_ms = BIP_GW_BUSY_MIN_MS;
	t->streak = 0;
	t->streak_warned = false;
	t->link_down = false;
}

struct bip_term *transport_bip_term_new(const struct card_link *link,
					const struct bip_term_net_ops *net, void *net_arg,
					const struct bip_term_config *cfg)
{
	if (!link || !link->ops || !link->ops->transmit || !link->ops->reset)
		return NULL;
	unsigned channels = cfg && cfg->channels ? cfg->channels : CAT_BIP_CHANNELS_MAX;
	size_t buffer_max = cfg && cfg->buffer_max ? cfg->buffer_max : BIP_GW_BUFFER_MAX;
	if (channels > CAT_BIP_CHANNELS_MAX || buffer_max > BIP_GW_BUFFER_MAX)
		return NULL;
	struct bip_term *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->link = *link;
	t->net = net;
	t->net_arg = net_arg;
	t->channels = channels;
	t->buffer_max = buffer_max;
	t->busy_ms = BIP_GW_BUSY_MIN_MS;
	return t;
}

void transport_bip_term_free(struct bip_term *t)
{
	if (!t)
		return;
	for (unsigned i = 1; i <= CAT_BIP_CHANNELS_MAX; i++) {
		buf_cleanup(&t->ch[i].rx);
		buf_cleanup(&t->ch[i].tx);
	}
	free(t);
}

int transport_bip_term_accept(struct bip_term *t, uint16_t card_port, void *conn)
{
	bool any = false;
	if (!t || !conn)
		return -EINVAL;
	for (unsigned i = 1; i <= t->channels; i++) {
		struct term_ch *c = &t->ch[i];
		if (c->state == CAT_CH_CLOSED || c->card_port != card_port)
			continue;
		any = true;
		if (c->state != CAT_CH_LISTEN)
			continue;
		c->state = CAT_CH_ESTABLISHED;
		c->conn = conn;
		c->conn_gen++;
		/* drop_info stays: it belongs to the LISTEN event the card may
		 * still be owed for the previous connection. */
		reset_buffers(c);
		return (int)i;
	}
	return any ? -EBUSY : -ENOENT;
}

bool transport_bip_term_port_free(const struct bip_term *t, uint16_t card_port)
{
	for (unsigned i = 1; t && i <= t->channels; i++)
		if (t->ch[i].state == CAT_CH_LISTEN && t->ch[i].card_port == card_port)
			return true;
	return false;
}

static struct term_ch *established(const struct bip_term *t, unsigned ch)
{
	if (!t || ch == 0 || ch > t->channels || t->ch[ch].state != CAT_CH_ESTABLISHED)
		return NULL;
	return (struct term_ch *)&t->ch[ch];
}

size_t transport_bip_term_rx_room(const struct bip_term *t, unsigned ch)
{
	const struct term_ch *c = established(t, ch);
	return c ? c->bufsize - c->rx.len : 0;
}

int transport_bip_term_rx(struct bip_term *t, unsigned ch, const uint8_t *p, size_t len)
{
	struct term_ch *c = established(t, ch);
	if (!c)
		return -EBADFD;
	if (len > c->bufsize - c->rx.len)
		return -EMSGSIZE;
	if (len == 0)
		return 0;
	bool was_empty = c->rx.len == 0;
	int rc = buf_append(&c->rx, p, len);
	if (rc)
		return rc;
	c->bytes_in += len;
	if (was_empty)
		c->da_owed = true;
	return 0;
}

void transport_bip_term_tx_drained(struct bip_term *t, unsigned ch)
{
	/* The flush itself runs in the next pump(), never from the owner's
	 * write callback: a failing write may close that very connection. */
	(void)t;
	(void)ch;
}

void transport_bip_term_peer_closed(struct bip_term *t, unsigned ch, bool error)
{
	if (!established(t, ch))
		return;
	log_info(SUB, "channel %u: client %s", ch, error ? "connection dropped" : "closed");
	to_listen(t, ch, false, error ? CAT_CHST_INFO_LINK_DROPPED : CAT_CHST_INFO_NONE);
}

int transport_bip_term_channel(const struct bip_term *t, unsigned ch,
			       struct bip_term_channel_info *out)
{
	if (!t || !out || ch == 0 || ch > t->channels)
		return -EINVAL;
	const struct term_ch *c = &t->ch[ch];
	out->state = c->state;
	out->card_port = c->card_port;
	out->buffer_size = c->bufsize;
	out->rx_len = c->rx.len;
	out->tx_len = c->tx.len;
	out->conn = c->conn;
	out->bytes_in = c->bytes_in;
	out->bytes_out = c->bytes_out;
	return 0;
}

unsigned transport_bip_term_channels(const struct bip_term *t)
{
	return t ? t->channels : 0;
}

bool transport_bip_term_link_down(const struct bip_term *t)
{
	return !t || t->link_down;
}
