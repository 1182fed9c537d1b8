/* bip.c - BIP channels of a UICC in TCP server mode: channel state machine,
 * RECEIVE/SEND DATA scheduling and the sink (ETSI TS 102 223 §6.4.27-31,
 * §7.5.10-11, §8.56; doc/protocol.md §1.6-§1.10, §1.14). */
#include "card/bip.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One channel, indexed by the terminal's channel identifier. */
struct chan {
	bool in_use; /* granted by an OPEN CHANNEL of this session */
	enum card_cat_ch_state state;
	uint16_t port;
	uint16_t buffer_size; /* > 0 while in_use */
	void *conn;           /* sink connection; only while ESTABLISHED */
	bool want_close;      /* CLOSE CHANNEL (01) to send; only while ESTABLISHED */
	uint32_t gen;         /* bumped when conn changes: late responses are ignored */
	size_t rx_left;       /* what the terminal last said it holds (FF: > 255) */
	size_t tx_stored;     /* sent with qualifier 00 since the last 01; < buffer_size */
	uint8_t tx_free;      /* last SEND DATA Channel data length (FF: > 255) */
	unsigned connections;
};

/* OPEN_WAIT: failed, to be issued again at the terminal's next poll. */
enum open_state { OPEN_TODO, OPEN_SENT, OPEN_DONE, OPEN_FAILED, OPEN_WAIT };

/* The command in flight, as the application knows it. */
enum fly_kind {
	FLY_NONE,
	FLY_EVENTS,
	FLY_OPEN,
	FLY_STATUS,
	FLY_RECEIVE,
	FLY_SEND,
	FLY_CLOSE,
	FLY_POLL,
	FLY_POLL_OFF,
};

struct card_bip {
	struct card_bip_port ports[CAT_PORTS_MAX];
	size_t n_ports;
	uint16_t buffer_size;
	struct card_bip_retry retry;
	const struct card_bip_sink_ops *sink;
	void *sink_arg;
	struct card_cat *cat;

	bool profiled; /* a TERMINAL PROFILE was seen since the last reset */
	bool session;  /* ... and it allows server mode */
	bool events_todo, events_done;
	struct {
		uint16_t port;
		enum open_state st;
		unsigned tries; /* re-issues so far */
	} opens[CAT_BIP_CHANNELS_MAX];
	bool poll_todo; /* POLL INTERVAL to ask for */
	bool polling;   /* ... granted: POLLING OFF owed once nothing waits */
	size_t n_opens;
	bool status_todo;
	uint16_t last_status[CAT_BIP_CHANNELS_MAX];
	size_t n_last_status;
	struct chan ch[CAT_BIP_CHANNELS_MAX + 1]; /* [1..7] */
	unsigned rr;                              /* channel served last (round robin) */
	struct {
		enum fly_kind kind;
		unsigned channel;
		size_t open_idx;
		uint32_t gen;
		size_t n;
		uint8_t qualifier;
	} fly;
	char reason[192];
};

static const uint8_t event_list[] = { CAT_EVENT_DATA_AVAILABLE, CAT_EVENT_CHANNEL_STATUS };

#define LOG(bip, level, ...) card_cat_log((bip)->cat, level, __VA_ARGS__)

/* "BIP error (channel closed)" or the plain result name. */
static const char *result_text(const struct card_cat_response *tr, char *buf, size_t cap)
{
	if (!tr)
		return "not sent";
	if (tr->result == CAT_RES_BIP_ERROR && tr->result_info.len)
		snprintf(buf, cap, "%02X %s: %s", tr->result, card_cat_result_name(tr->result),
			 card_cat_bip_error_name(tr->result_info.ptr[0]));
	else
		snprintf(buf, cap, "%02X %s", tr->result, card_cat_result_name(tr->result));
	return buf;
}

static bool tr_ok(const struct card_cat_response *tr)
{
	return tr && CAT_RES_IS_SUCCESS(tr->result);
}

static bool tr_bip_error(const struct card_cat_response *tr, uint8_t info)
{
	return tr && tr->result == CAT_RES_BIP_ERROR && tr->result_info.len &&
	       tr->result_info.ptr[0] == info;
}

/* Ends the channel's connection, if any (sink close), and its data state. */
static void drop_conn(struct card_bip *bip, struct chan *ch)
{
	if (ch->conn)
		bip->sink->close(ch->conn);
	ch->conn = NULL;
	ch->gen++;
	ch->rx_left = 0;
	ch->tx_stored = 0;
	ch->tx_free = CAT_DATA_LEN_MORE;
	ch->want_close = false;
}

static void set_state(struct card_bip *bip, unsigned c, enum card_cat_ch_state st)
{
	struct chan *ch = &bip->ch[c];
	if (ch->state != st)
		LOG(bip, LOG_DEBUG, "channel %u (port %u): %s -> %s", c, ch->port,
		    card_cat_ch_state_name(ch->state), card_cat_ch_state_name(st));
	ch->state = st;
}

/* LISTEN -> ESTABLISHED: a client connected (TS 102 223 §7.5.11). */
static void establish(struct card_bip *bip, unsigned c)
{
	struct chan *ch = &bip->ch[c];
	drop_conn(bip, ch);
	set_state(bip, c, CAT_CH_ESTABLISHED);
	ch->connections++;
	ch->conn = bip->sink->open(bip->sink_arg, ch->port, c);
	if (!ch->conn) {
		LOG(bip, LOG_WARN, "channel %u (port %u): connection refused by the server", c,
		    ch->port);
		ch->want_close = true;
	}
}

/* The terminal says the channel is back in LISTEN or CLOSED. */
static void lose_client(struct card_bip *bip, unsigned c, enum card_cat_ch_state st)
{
	drop_conn(bip, &bip->ch[c]);
	set_state(bip, c, st);
}

static void drop_all(struct card_bip *bip)
{
	for (unsigned c = 1; c <= CAT_BIP_CHANNELS_MAX; c++) {
		drop_conn(bip, &bip->ch[c]);
		memset(&bip->ch[c], 0, sizeof(bip->ch[c]));
	}
	bip->profiled = false;
	bip->session = false;
	bip->events_todo = bip->events_done = false;
	bip->n_opens = 0;
	bip->poll_todo = bip->polling = false;
	bip->status_todo = false;
	bip->n_last_status = 0;
	bip->rr = 0;
	memset(&bip->fly, 0, sizeof(bip->fly));
	bip->reason[0] = '\0';
}

/* What server mode needs from TERMINAL PROFILE (doc/protocol.md §1.12). */
static void list_missing(const struct card_cat_profile *tp, char *buf, size_t cap)
{
	static const struct {
		size_t off;
		const char *what;
	} need[] = {
		{ offsetof(struct card_cat_profile, set_up_event_list), "SET UP EVENT LIST" },
		{ offsetof(struct card_cat_profile, ev_data_available), "event Data available" },
		{ offsetof(struct card_cat_profile, ev_channel_status), "event Channel status" },
		{ offsetof(struct card_cat_profile, open_channel), "OPEN CHANNEL" },
		{ offsetof(struct card_cat_profile, close_channel), "CLOSE CHANNEL" },
		{ offsetof(struct card_cat_profile, receive_data), "RECEIVE DATA" },
		{ offsetof(struct card_cat_profile, send_data), "SEND DATA" },
		{ offsetof(struct card_cat_profile, tcp_server), "TCP UICC server mode" },
	};
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (*(const bool *)((const char *)tp + need[i].off))
			continue;
		int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", need[i].what);
		if (w < 0 || (size_t)w >= cap - n)
			return;
		n += (size_t)w;
	}
	if (tp->channels == 0 && n < cap)
		snprintf(buf + n, cap - n, "%sBIP channels", n ? ", " : "");
}

static void app_profile(void *arg, const struct card_cat_profile *tp)
{
	struct card_bip *bip = arg;
	char missing[160];
	drop_all(bip);
	bip->profiled = true;
	list_missing(tp, missing, sizeof(missing));
	if (missing[0]) {
		snprintf(bip->reason, sizeof(bip->reason),
			 "terminal profile lacks %s: no OPEN CHANNEL", missing);
		LOG(bip, LOG_WARN, "%s", bip->reason);
		return;
	}
	bip->session = true;
	bip->events_todo = true;

	/* Ports in turn, so that a terminal with fewer channels than
	 * configured still serves every port. */
	size_t total = 0, left[CAT_PORTS_MAX];
	for (size_t i = 0; i < bip->n_ports; i++) {
		left[i] = bip->ports[i].channels;
		total += left[i];
	}
	size_t limit = total < tp->channels ? total : tp->channels;
	while (bip->n_opens < limit) {
		for (size_t i = 0; i < bip->n_ports && bip->n_opens < limit; i++) {
			if (!left[i])
				continue;
			left[i]--;
			bip->opens[bip->n_opens].port = bip->ports[i].port;
			bip->opens[bip->n_opens].st = OPEN_TODO;
			bip->n_opens++;
		}
	}
	if (limit < total) {
		snprintf(bip->reason, sizeof(bip->reason),
			 "terminal offers %u BIP channels: opening %zu of %zu", tp->channels, limit,
			 total);
		LOG(bip, LOG_WARN, "%s", bip->reason);
	}
}

static void put_chunk(struct card_bip *bip, unsigned c, struct bytes out,
		      struct card_cat_command *cmd)
{
	struct chan *ch = &bip->ch[c];
	size_t room = ch->buffer_size - ch->tx_stored;
	/* The terminal's own count of free Tx space (SEND DATA response) wins
	 * when it is smaller than ours. */
	if (ch->tx_free != CAT_DATA_LEN_MORE && ch->tx_free < room)
		room = ch->tx_free;
	size_t n = out.len;
	if (n > CAT_SEND_DATA_MAX)
		n = CAT_SEND_DATA_MAX;
	if (n > room)
		n = room;
	/* Flush ("send immediately") with the last byte the sink has now, and
	 * whenever the terminal's buffer is full (TS 102 223 §6.4.30). */
	uint8_t q = (n == out.len || n == room) ? CAT_QUAL_SEND_IMMEDIATELY : 0;
	cmd->details.type = CAT_CMD_SEND_DATA;
	cmd->details.qualifier = q;
	cmd->has_data = true;
	cmd->data = bytes_make(out.ptr, n);
	bip->fly.kind = FLY_SEND;
	bip->fly.n = n;
	bip->fly.qualifier = q;
}

/* The next command for channel c, if it has work. */
static bool chan_next(struct card_bip *bip, unsigned c, struct card_cat_command *cmd)
{
	struct chan *ch = &bip->ch[c];
	if (!ch->in_use || ch->state != CAT_CH_ESTABLISHED)
		return false;
	cmd->devices.dst = CAT_DEV_CHANNEL(c);
	bip->fly.channel = c;
	bip->fly.gen = ch->gen;
	if (ch->conn && !ch->want_close) {
		const struct card_bip_sink_ops *s = bip->sink;
		struct bytes out = s->output(ch->conn);
		if (out.len) {
			put_chunk(bip, c, out, cmd);
			return true;
		}
		if (s->done(ch->conn) || (s->expire && s->expire(ch->conn))) {
			ch->want_close = true;
		} else if (ch->rx_left && !(s->output_full && s->output_full(ch->conn))) {
			size_t n = ch->rx_left < CAT_RECEIVE_DATA_MAX ? ch->rx_left
								      : CAT_RECEIVE_DATA_MAX;
			cmd->details.type = CAT_CMD_RECEIVE_DATA;
			cmd->has_data_len = true;
			cmd->data_len = (uint8_t)n;
			bip->fly.kind = FLY_RECEIVE;
			bip->fly.n = n;
			return true;
		} else {
			return false;
		}
	}
	/* Done, failed or refused: back to LISTEN for the next client. */
	cmd->details.type = CAT_CMD_CLOSE_CHANNEL;
	cmd->details.qualifier = CAT_QUAL_CLOSE_TO_LISTEN;
	bip->fly.kind = FLY_CLOSE;
	return true;
}

static bool app_next(void *arg, struct card_cat_command *cmd)
{
	struct card_bip *bip = arg;
	if (!bip->session || bip->fly.kind != FLY_NONE)
		return false;
	cmd->devices.src = CAT_DEV_UICC;
	cmd->devices.dst = CAT_DEV_TERMINAL;
	if (bip->events_todo) {
		bip->events_todo = false;
		cmd->details.type = CAT_CMD_SET_UP_EVENT_LIST;
		cmd->has_events = true;
		cmd->events = bytes_make(event_list, sizeof(event_list));
		bip->fly.kind = FLY_EVENTS;
		return true;
	}
	if (!bip->events_done)
		return false;
	if (bip->poll_todo) {
		bip->poll_todo = false;
		cmd->details.type = CAT_CMD_POLL_INTERVAL;
		cmd->has_duration = true;
		cmd->duration = card_cat_duration_from_ms(bip->retry.delay_ms);
		bip->fly.kind = FLY_POLL;
		return true;
	}
	for (size_t i = 0; i < bip->n_opens; i++) {
		if (bip->opens[i].st != OPEN_TODO)
			continue;
		bip->opens[i].st = OPEN_SENT;
		cmd->details.type = CAT_CMD_OPEN_CHANNEL;
		cmd->has_buffer_size = true;
		cmd->buffer_size = bip->buffer_size;
		cmd->has_transport = true;
		cmd->transport = CAT_TRANSPORT_TCP_SERVER;
		cmd->port = bip->opens[i].port;
		bip->fly.kind = FLY_OPEN;
		bip->fly.open_idx = i;
		return true;
	}
	if (bip->polling && card_bip_settled(bip)) {
		const struct card_cat_profile *tp = card_cat_profile(bip->cat);
		if (tp && tp->polling_off) {
			cmd->details.type = CAT_CMD_POLLING_OFF;
			bip->fly.kind = FLY_POLL_OFF;
			return true;
		}
		bip->polling = false; /* the terminal keeps polling: harmless */
	}
	if (bip->status_todo) {
		bip->status_todo = false;
		cmd->details.type = CAT_CMD_GET_CHANNEL_STATUS;
		bip->fly.kind = FLY_STATUS;
		return true;
	}
	for (unsigned k = 1; k <= CAT_BIP_CHANNELS_MAX; k++) {
		unsigned c = (bip->rr + k - 1) % CAT_BIP_CHANNELS_MAX + 1;
		if (chan_next(bip, c, cmd)) {
			bip->rr = c;
			return true;
		}
	}
	return false;
}

static void open_failed(struct card_bip *bip, size_t idx, const char *why)
{
	if (bip->opens[idx].tries < bip->retry.count) {
		const struct card_cat_profile *tp = card_cat_profile(bip->cat);
		bip->opens[idx].tries++;
		bip->opens[idx].st = OPEN_WAIT;
		if (tp && tp->poll_interval && !bip->polling)
			bip->poll_todo = true;
		snprintf(bip->reason, sizeof(bip->reason),
			 "OPEN CHANNEL for port %u failed: %s; retry %u of %u at the next poll",
			 bip->opens[idx].port, why, bip->opens[idx].tries, bip->retry.count);
		LOG(bip, LOG_INFO, "%s", bip->reason);
		return;
	}
	/* Said once per port: its other channels fail for the same reason. */
	bool again = false;
	for (size_t i = 0; i < bip->n_opens; i++)
		again = again || (i != idx && bip->opens[i].st == OPEN_FAILED &&
				  bip->opens[i].port == bip->opens[idx].port);
	bip->opens[idx].st = OPEN_FAILED;
	snprintf(bip->reason, sizeof(bip->reason), "OPEN CHANNEL for port %u failed: %s",
		 bip->opens[idx].port, why);
	LOG(bip, again ? LOG_DEBUG : LOG_WARN, "%s", bip->reason);
}

static void open_result(struct card_bip *bip, size_t idx, const struct card_cat_response *tr)
{
	char buf[128];
	uint16_t port = bip->opens[idx].port;
	if (!tr_ok(tr)) {
		open_failed(bip, idx, result_text(tr, buf, sizeof(buf)));
		return;
	}
	if (tr->n_status == 0) {
		open_failed(bip, idx, "no channel status in the response");
		return;
	}
	unsigned c = CAT_CHST_CHANNEL(tr->status[0]);
	uint8_t st = CAT_CHST_STATE(tr->status[0]);
	if (c == 0 || bip->ch[c].in_use) {
		snprintf(buf, sizeof(buf), "channel identifier %u is not free", c);
		open_failed(bip, idx, buf);
		return;
	}
	if (st != CAT_CHST_LISTEN && st != CAT_CHST_ESTABLISHED) {
		snprintf(buf, sizeof(buf), "channel %u reported %s", c,
			 card_cat_chst_state_name(tr->status[0]));
		open_failed(bip, idx, buf);
		return;
	}
	/* TS 102 223 §6.4.27: with 07 the terminal gives the buffer size it
	 * can do; use it when smaller than ours (a larger one would let us
	 * overrun what we announced). */
	uint16_t bs = bip->buffer_size;
	if (tr->has_buffer_size) {
		if (tr->buffer_size == 0) {
			open_failed(bip, idx, "buffer size 0");
			return;
		}
		if (tr->buffer_size < bs)
			bs = tr->buffer_size;
	}
	struct chan *ch = &bip->ch[c];
	memset(ch, 0, sizeof(*ch));
	ch->in_use = true;
	ch->port = port;
	ch->buffer_size = bs;
	ch->tx_free = CAT_DATA_LEN_MORE;
	ch->state = CAT_CH_LISTEN;
	bip->opens[idx].st = OPEN_DONE;
	LOG(bip, LOG_INFO, "channel %u: port %u LISTEN, buffer size %u%s", c, port, bs,
	    tr->result == CAT_RES_MODIFIED ? " (modified by the terminal)" : "");
	if (st == CAT_CHST_ESTABLISHED)
		establish(bip, c);
}

/* Puts the channels in the states a GET CHANNEL STATUS response gives. */
static void status_result(struct card_bip *bip, const struct card_cat_response *tr)
{
	char buf[128];
	if (!tr_ok(tr)) {
		LOG(bip, LOG_WARN, "GET CHANNEL STATUS failed: %s",
		    result_text(tr, buf, sizeof(buf)));
		return;
	}
	bip->n_last_status = tr->n_status;
	memcpy(bip->last_status, tr->status, sizeof(bip->last_status));
	for (size_t i = 0; i < tr->n_status; i++) {
		unsigned c = CAT_CHST_CHANNEL(tr->status[i]);
		if (c == 0 || !bip->ch[c].in_use)
			continue;
		struct chan *ch = &bip->ch[c];
		switch (CAT_CHST_STATE(tr->status[i])) {
		case CAT_CHST_ESTABLISHED:
			if (ch->state == CAT_CH_LISTEN)
				establish(bip, c);
			break;
		case CAT_CHST_LISTEN:
			if (ch->state == CAT_CH_ESTABLISHED)
				lose_client(bip, c, CAT_CH_LISTEN);
			break;
		case CAT_CHST_CLOSED:
			lose_client(bip, c, CAT_CH_CLOSED);
			break;
		default:
			break;
		}
	}
}

/* RECEIVE or SEND DATA failed (TS 102 223 §8.12.11). */
static void data_failed(struct card_bip *bip, unsigned c, const char *what,
			const struct card_cat_response *tr)
{
	char buf[128];
	struct chan *ch = &bip->ch[c];
	LOG(bip, LOG_INFO, "channel %u (port %u): %s failed: %s", c, ch->port, what,
	    result_text(tr, buf, sizeof(buf)));
	if (tr_bip_error(tr, CAT_BIP_CHANNEL_CLOSED)) {
		lose_client(bip, c, CAT_CH_LISTEN);
	} else if (tr_bip_error(tr, CAT_BIP_CHANNEL_ID_INVALID)) {
		lose_client(bip, c, CAT_CH_CLOSED);
	} else {
		drop_conn(bip, ch);
		ch->want_close = true;
	}
}

static void receive_result(struct card_bip *bip, unsigned c, const struct card_cat_response *tr)
{
	struct chan *ch = &bip->ch[c];
	if (!tr_ok(tr)) {
		data_failed(bip, c, "RECEIVE DATA", tr);
		return;
	}
	struct bytes data = tr->has_data ? tr->data : bytes_make(NULL, 0);
	/* Result 02 with fewer bytes than asked is normal (doc/protocol.md §1.8);
	 * a response without data ends the round whatever B7 says, so a
	 * confused terminal cannot keep the card asking forever. */
	ch->rx_left = (tr->has_data_len && data.len) ? tr->data_len : 0;
	if (data.len && bip->sink->feed(ch->conn, data.ptr, data.len) < 0) {
		LOG(bip, LOG_INFO, "channel %u (port %u): server closed the connection", c,
		    ch->port);
		drop_conn(bip, ch);
		ch->want_close = true;
	}
}

static void send_result(struct card_bip *bip, unsigned c, const struct card_cat_response *tr)
{
	struct chan *ch = &bip->ch[c];
	if (!tr_ok(tr)) {
		data_failed(bip, c, "SEND DATA", tr);
		return;
	}
	bip->sink->consume(ch->conn, bip->fly.n);
	if (bip->fly.qualifier & CAT_QUAL_SEND_IMMEDIATELY)
		ch->tx_stored = 0;
	else
		ch->tx_stored += bip->fly.n;
	/* After a flush the terminal's buffer is empty whatever it says: a
	 * terminal answering 00 there cannot stall the channel. */
	ch->tx_free = tr->has_data_len && !(bip->fly.qualifier & CAT_QUAL_SEND_IMMEDIATELY)
			      ? tr->data_len
			      : CAT_DATA_LEN_MORE;
}

static void app_response(void *arg, const struct card_cat_details *issued,
			 const struct card_cat_response *tr)
{
	struct card_bip *bip = arg;
	char buf[128];
	enum fly_kind kind = bip->fly.kind;
	unsigned c = bip->fly.channel;
	bip->fly.kind = FLY_NONE;

	switch (kind) {
	case FLY_EVENTS:
		if (tr_ok(tr)) {
			bip->events_done = true;
		} else {
			bip->session = false;
			snprintf(bip->reason, sizeof(bip->reason),
				 "SET UP EVENT LIST failed (%s): no OPEN CHANNEL",
				 result_text(tr, buf, sizeof(buf)));
			LOG(bip, LOG_WARN, "%s", bip->reason);
			for (size_t i = 0; i < bip->n_opens; i++)
				bip->opens[i].st = OPEN_FAILED;
		}
		break;
	case FLY_OPEN:
		open_result(bip, bip->fly.open_idx, tr);
		break;
	case FLY_STATUS:
		status_result(bip, tr);
		break;
	case FLY_RECEIVE:
	case FLY_SEND:
		if (bip->ch[c].gen != bip->fly.gen || !bip->ch[c].conn) {
			/* The connection ended while the command was out. */
			LOG(bip, LOG_DEBUG, "channel %u: late %s response ignored", c,
			    card_cat_cmd_name(issued->type));
			break;
		}
		if (kind == FLY_RECEIVE)
			receive_result(bip, c, tr);
		else
			send_result(bip, c, tr);
		break;
	case FLY_POLL:
		/* Refused: the retries wait for whatever STATUS comes. */
		bip->polling = true;
		if (!tr_ok(tr)) {
			bip->polling = false;
			LOG(bip, LOG_INFO,
			    "POLL INTERVAL refused (%s): the retry waits for the "
			    "terminal's next STATUS",
			    result_text(tr, buf, sizeof(buf)));
		}
		break;
	case FLY_POLL_OFF:
		bip->polling = false;
		break;
	case FLY_CLOSE:
		/* Whatever the connection, the terminal closed what it had. */
		if (!tr_ok(tr))
			LOG(bip, LOG_INFO, "channel %u: CLOSE CHANNEL failed: %s", c,
			    result_text(tr, buf, sizeof(buf)));
		lose_client(bip, c,
			    tr_bip_error(tr, CAT_BIP_CHANNEL_ID_INVALID) ? CAT_CH_CLOSED
									 : CAT_CH_LISTEN);
		break;
	case FLY_NONE:
		break;
	}
}

static void app_cancel(void *arg, const struct card_cat_details *issued)
{
	struct card_bip *bip = arg;
	/* Channel commands are derived from the channel's state again; the
	 * others go back on their to-do flags. */
	switch (bip->fly.kind) {
	case FLY_EVENTS:
		bip->events_todo = true;
		break;
	case FLY_OPEN:
		bip->opens[bip->fly.open_idx].st = OPEN_TODO;
		break;
	case FLY_STATUS:
		bip->status_todo = true;
		break;
	case FLY_POLL:
		bip->poll_todo = true;
		break;
	default:
		break;
	}
	bip->fly.kind = FLY_NONE;
}

static int app_event(void *arg, const struct card_cat_event *ev)
{
	struct card_bip *bip = arg;
	if (ev->event != CAT_EVENT_CHANNEL_STATUS && ev->event != CAT_EVENT_DATA_AVAILABLE) {
		LOG(bip, LOG_DEBUG, "event %02X ignored", ev->event);
		return 0;
	}
	/* TS 102 223 §7.5.10-11: both events carry Channel status; Data
	 * available also the Channel data length. */
	if (!ev->has_status || (ev->event == CAT_EVENT_DATA_AVAILABLE && !ev->has_data_len))
		return -EPROTO;
	uint8_t st = CAT_CHST_STATE(ev->status);
	if (st == CAT_CHST_STATE_MASK)
		return -EPROTO; /* b8-b7 = 11: reserved */
	unsigned c = CAT_CHST_CHANNEL(ev->status);
	if (!bip->session || c == 0 || !bip->ch[c].in_use) {
		LOG(bip, LOG_DEBUG, "%s event for channel %u ignored",
		    card_cat_event_name(ev->event), c);
		return 0;
	}
	struct chan *ch = &bip->ch[c];
	if (ch->state == CAT_CH_CLOSED)
		return 0;
	switch (st) {
	case CAT_CHST_ESTABLISHED:
		if (ch->state == CAT_CH_LISTEN)
			establish(bip, c);
		break;
	case CAT_CHST_LISTEN:
		/* 41 00 (G&D) or 41 05 "link dropped" (SCWSGateway): the client
		 * left either way (doc/protocol.md §1.7). */
		if (ch->state == CAT_CH_ESTABLISHED) {
			LOG(bip, LOG_DEBUG, "channel %u (port %u): client left%s", c, ch->port,
			    CAT_CHST_INFO(ev->status) == CAT_CHST_INFO_LINK_DROPPED
				    ? " (link dropped)"
				    : "");
			lose_client(bip, c, CAT_CH_LISTEN);
		}
		break;
	default:
		LOG(bip, LOG_INFO, "channel %u (port %u) closed by the terminal", c, ch->port);
		lose_client(bip, c, CAT_CH_CLOSED);
		break;
	}
	if (ev->event == CAT_EVENT_DATA_AVAILABLE && ch->state == CAT_CH_ESTABLISHED && ch->conn)
		ch->rx_left = ev->data_len;
	return 0;
}

static void app_reset(void *arg)
{
	drop_all(arg);
}

/* The terminal's STATUS: the OPEN CHANNELs waiting for it go again. */
static void app_poll(void *arg)
{
	struct card_bip *bip = arg;
	if (!bip->session || !bip->events_done)
		return;
	for (size_t i = 0; i < bip->n_opens; i++)
		if (bip->opens[i].st == OPEN_WAIT)
			bip->opens[i].st = OPEN_TODO;
}

static const struct card_cat_app_ops bip_app_ops = {
	.profile = app_profile,
	.next = app_next,
	.response = app_response,
	.event = app_event,
	.cancel = app_cancel,
	.reset = app_reset,
	.poll = app_poll,
};

struct card_bip *card_bip_new(const struct card_bip_config *cfg)
{
	const struct card_bip_sink_ops *s = cfg ? cfg->sink : NULL;
	size_t total = 0;
	if (!s || !s->open || !s->feed || !s->output || !s->consume || !s->done || !s->close)
		return NULL;
	if (!cfg->ports || cfg->n_ports == 0 || cfg->n_ports > CAT_PORTS_MAX)
		return NULL;
	for (size_t i = 0; i < cfg->n_ports; i++) {
		if (cfg->ports[i].port == 0 || cfg->ports[i].channels == 0 ||
		    cfg->ports[i].channels > CAT_BIP_CHANNELS_MAX)
			return NULL;
		total += cfg->ports[i].channels;
	}
	if (total > CAT_BIP_CHANNELS_MAX)
		return NULL;
	if (cfg->open_retry.count > CARD_BIP_RETRY_MAX ||
	    (cfg->open_retry.count && (cfg->open_retry.delay_ms < CARD_BIP_RETRY_DELAY_MIN ||
				       cfg->open_retry.delay_ms > CARD_BIP_RETRY_DELAY_MAX)))
		return NULL;
	struct card_bip *bip = calloc(1, sizeof(*bip));
	if (!bip)
		return NULL;
	bip->cat = card_cat_new(&bip_app_ops, bip);
	if (!bip->cat) {
		free(bip);
		return NULL;
	}
	card_cat_set_log(bip->cat, cfg->log, cfg->log_arg);
	memcpy(bip->ports, cfg->ports, cfg->n_ports * sizeof(cfg->ports[0]));
	bip->n_ports = cfg->n_ports;
	bip->buffer_size = cfg->buffer_size ? cfg->buffer_size : CAT_BUFFER_SIZE_DEFAULT;
	bip->retry = cfg->open_retry;
	bip->sink = s;
	bip->sink_arg = cfg->sink_arg;
	return bip;
}

void card_bip_free(struct card_bip *bip)
{
	if (!bip)
		return;
	drop_all(bip);
	card_cat_free(bip->cat);
	free(bip);
}

void card_bip_attach(struct card_bip *bip, struct card *card)
{
	card_cat_attach(bip->cat, card);
}

struct card_cat *card_bip_cat(struct card_bip *bip)
{
	return bip->cat;
}

const char *card_bip_reason(const struct card_bip *bip)
{
	return bip->reason;
}

bool card_bip_settled(const struct card_bip *bip)
{
	if (!bip->profiled)
		return false;
	if (!bip->session)
		return true;
	if (!bip->events_done)
		return false;
	for (size_t i = 0; i < bip->n_opens; i++)
		if (bip->opens[i].st == OPEN_TODO || bip->opens[i].st == OPEN_SENT ||
		    bip->opens[i].st == OPEN_WAIT)
			return false;
	return true;
}

size_t card_bip_retries_waiting(const struct card_bip *bip)
{
	size_t n = 0;
	for (size_t i = 0; bip && i < bip->n_opens; i++)
		n += bip->opens[i].st == OPEN_WAIT;
	return n;
}

int card_bip_channel(const struct card_bip *bip, unsigned channel,
		     struct card_bip_channel_info *out)
{
	if (channel == 0 || channel > CAT_BIP_CHANNELS_MAX)
		return -EINVAL;
	const struct chan *ch = &bip->ch[channel];
	memset(out, 0, sizeof(*out));
	out->in_use = ch->in_use;
	out->state = ch->state;
	out->port = ch->port;
	out->buffer_size = ch->buffer_size;
	out->has_conn = ch->conn != NULL;
	out->rx_left = ch->rx_left;
	out->tx_stored = ch->tx_stored;
	out->connections = ch->connections;
	return 0;
}

int card_bip_request_status(struct card_bip *bip)
{
	const struct card_cat_profile *tp = card_cat_profile(bip->cat);
	if (!bip->session || !tp)
		return -EBADFD;
	if (!tp->get_channel_status)
		return -ENOTSUP;
	bip->status_todo = true;
	return 0;
}

size_t card_bip_last_status(const struct card_bip *bip, uint16_t *out, size_t cap)
{
	size_t n = bip->n_last_status < cap ? bip->n_last_status : cap;
	if (n)
		memcpy(out, bip->last_status, n * sizeof(out[0]));
	return bip->n_last_status;
}

uint64_t card_bip_channel_stalled_since(const struct card_bip *bip, unsigned channel)
{
	if (!bip || channel < 1 || channel > CAT_BIP_CHANNELS_MAX)
		return UINT64_MAX;
	const struct chan *ch = &bip->ch[channel];
	const struct card_bip_sink_ops *s = bip->sink;
	if (!ch->in_use || ch->state != CAT_CH_ESTABLISHED || !ch->conn || ch->want_close ||
	    !s->stalled_since || ch->rx_left || s->output(ch->conn).len)
		return UINT64_MAX;
	return s->stalled_since(ch->conn);
}
