/* test_card_cat.c - unit tests for src/card/cat.c and src/card/bip.c: a real
 * struct card with the BIP server attached, driven through card_transmit()
 * by a scripted terminal, with a fake sink (ETSI TS 102 223, TS 102 221;
 * doc/protocol.md §1.13-§1.14). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/bip.h"
#include "core/hex.h"
#include "core/limits.h"
#include "runner.h"

/* ---- fake sink -------------------------------------------------------- */

enum sink_mode {
	SINK_ECHO,   /* output = what came in */
	SINK_CANNED, /* after `trigger` bytes: `canned_len` bytes of output, then done */
	SINK_QUIET,  /* keeps what comes, says nothing */
};

struct fconn {
	uint16_t port;
	unsigned channel;
	uint8_t in[8192];
	size_t in_len;
	uint8_t out[8192];
	size_t out_len, out_pos;
	bool done, full, closed, answered;
	int feed_rc;
};

static struct fconn pool[64];
static size_t n_conns, n_closed;
static enum sink_mode sink_mode;
static size_t trigger, canned_len;
static bool refuse_open;

static uint8_t canned_byte(size_t i)
{
	/* doc/protocol.md §1.13: the SEND DATA shows 16 03 03 00 8B, then … */
	static const uint8_t head[] = { 0x16, 0x03, 0x03, 0x00, 0x8B };
	return i < sizeof(head) ? head[i] : (uint8_t)(i * 13 + 5);
}

static void *sink_open(void *arg, uint16_t port, unsigned channel)
{
	if (refuse_open || n_conns == sizeof(pool) / sizeof(pool[0]))
		return NULL;
	struct fconn *c = &pool[n_conns++];
	memset(c, 0, sizeof(*c));
	c->port = port;
	c->channel = channel;
	return c;
}

static int sink_feed(void *conn, const uint8_t *p, size_t len)
{
	struct fconn *c = conn;
	CU_ASSERT_FALSE(c->closed);
	CU_ASSERT_FATAL(c->in_len + len <= sizeof(c->in));
	memcpy(c->in + c->in_len, p, len);
	c->in_len += len;
	if (sink_mode == SINK_ECHO) {
		CU_ASSERT_FATAL(c->out_len + len <= sizeof(c->out));
		memcpy(c->out + c->out_len, p, len);
		c->out_len += len;
	} else if (sink_mode == SINK_CANNED && !c->answered && c->in_len >= trigger) {
		c->answered = true;
		for (size_t i = 0; i < canned_len; i++)
			c->out[c->out_len++] = canned_byte(i);
		c->done = true;
	}
	return c->feed_rc;
}

static struct bytes sink_output(void *conn)
{
	struct fconn *c = conn;
	CU_ASSERT_FALSE(c->closed);
	return bytes_make(c->out + c->out_pos, c->out_len - c->out_pos);
}

static void sink_consume(void *conn, size_t n)
{
	struct fconn *c = conn;
	CU_ASSERT_FATAL(n <= c->out_len - c->out_pos);
	c->out_pos += n;
}

static bool sink_output_full(void *conn)
{
	return ((struct fconn *)conn)->full;
}

static bool sink_done(void *conn)
{
	return ((struct fconn *)conn)->done;
}

static void sink_close(void *conn)
{
	struct fconn *c = conn;
	CU_ASSERT_FALSE(c->closed); /* exactly once */
	c->closed = true;
	n_closed++;
}

static const struct card_bip_sink_ops sink_ops = {
	.open = sink_open,
	.feed = sink_feed,
	.output = sink_output,
	.consume = sink_consume,
	.output_full = sink_output_full,
	.done = sink_done,
	.close = sink_close,
};

/* ---- log capture ------------------------------------------------------- */

static char log_text[8192];

static void log_capture(void *arg, enum log_level level, const char *line)
{
	size_t n = strlen(log_text);
	if (level <= LOG_INFO && n + strlen(line) + 2 < sizeof(log_text))
		snprintf(log_text + n, sizeof(log_text) - n, "%s\n", line);
}

/* ---- the card ---------------------------------------------------------- */

static const uint8_t atr[] = { 0x3B, 0x02, 0x14, 0x50 };
static struct card_fs *fs;
static struct card *card;
static struct card_bip *bip;
static uint8_t rbuf[APDU_RESP_MAX];
static size_t rlen; /* response data bytes of the last APDU (SW excluded) */
static uint16_t last_sw;

/* The next setup()'s open_retry (teardown() clears it). */
static struct card_bip_retry setup_retry;

static void setup(const struct card_bip_port *ports, size_t n, uint16_t buffer_size)
{
	memset(pool, 0, sizeof(pool));
	n_conns = n_closed = 0;
	sink_mode = SINK_ECHO;
	trigger = canned_len = 0;
	refuse_open = false;
	log_text[0] = '\0';
	fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	card = card_new(fs, atr, sizeof(atr));
	CU_ASSERT_PTR_NOT_NULL_FATAL(card);
	struct card_bip_config cfg = {
		.ports = ports,
		.n_ports = n,
		.buffer_size = buffer_size,
		.sink = &sink_ops,
		.log = log_capture,
		.open_retry = setup_retry,
	};
	bip = card_bip_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bip);
	card_bip_attach(bip, card);
}

static void teardown(void)
{
	card_free(card);
	card_bip_free(bip);
	card_fs_free(fs);
	/* Every connection the sink opened was closed exactly once. */
	CU_ASSERT_EQUAL(n_closed, n_conns);
	card = NULL;
	bip = NULL;
	fs = NULL;
	memset(&setup_retry, 0, sizeof(setup_retry));
}

static uint16_t xmit(const uint8_t *capdu, size_t len)
{
	size_t n = 0;
	/* An exactly sized copy, so ASan sees reads past the APDU. */
	uint8_t *p = malloc(len ? len : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(p, capdu, len);
	CU_ASSERT_EQUAL_FATAL(card_transmit(card, p, len, rbuf, sizeof(rbuf), &n), 0);
	free(p);
	CU_ASSERT_FATAL(n >= 2);
	rlen = n - 2;
	last_sw = (uint16_t)((rbuf[rlen] << 8) | rbuf[rlen + 1]);
	return last_sw;
}

static uint16_t xmit_hex(const char *hex)
{
	uint8_t b[300];
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(hex_decode(hex, b, sizeof(b), &n), 0);
	return xmit(b, n);
}

static uint16_t toolkit(uint8_t ins, const uint8_t *data, size_t len)
{
	uint8_t capdu[300];
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_capdu(ins, data, len, capdu, sizeof(capdu), &n), 0);
	return xmit(capdu, n);
}

static const uint8_t full_tp[] = { 0x01, 0, 0,    0,    0x01, 0x0C, 0, 0,   0,
				   0,    0, 0x1F, 0xE0, 0,    0,    0, 0x04 };

static uint16_t send_tp(const uint8_t *tp, size_t len)
{
	return toolkit(CAT_INS_TERMINAL_PROFILE, tp, len);
}

/* The last FETCHed command, kept so that decoded views stay valid. */
static uint8_t fetched[CAT_PROACTIVE_MAX];
static size_t fetched_len;

static void fetch(struct card_cat_command *c)
{
	CU_ASSERT_EQUAL_FATAL(last_sw & 0xFF00, 0x9100);
	size_t le = last_sw & 0xFF ? last_sw & 0xFF : 256;
	CU_ASSERT_EQUAL_FATAL(toolkit(CAT_INS_FETCH, NULL, le), SW_OK);
	CU_ASSERT_EQUAL_FATAL(rlen, le);
	memcpy(fetched, rbuf, rlen);
	fetched_len = rlen;
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_command_decode(fetched, fetched_len, c), 0);
	CU_ASSERT_EQUAL(c->devices.src, CAT_DEV_UICC);
}

static uint16_t send_tr(const struct card_cat_response *r)
{
	uint8_t b[CAT_TR_MAX];
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_response_encode(r, b, sizeof(b), &n), 0);
	return toolkit(CAT_INS_TERMINAL_RESPONSE, b, n);
}

static uint16_t send_event(uint8_t event, uint16_t status, int data_len)
{
	uint8_t b[CAT_ENVELOPE_MAX];
	size_t n = 0;
	struct card_cat_event e = {
		.event = event,
		.devices = { CAT_DEV_TERMINAL, CAT_DEV_UICC },
		.has_status = true,
		.status = status,
		.has_data_len = data_len >= 0,
		.data_len = (uint8_t)(data_len >= 0 ? data_len : 0),
	};
	CU_ASSERT_EQUAL_FATAL(card_cat_msg_event_encode(&e, b, sizeof(b), &n), 0);
	return toolkit(CAT_INS_ENVELOPE, b, n);
}

static struct card_cat_response tr_for(const struct card_cat_command *c, uint8_t result)
{
	struct card_cat_response r = {
		.details = c->details,
		.devices = { CAT_DEV_TERMINAL, CAT_DEV_UICC },
		.result = result,
	};
	return r;
}

/* ---- the scripted terminal ------------------------------------------- */

struct chunk {
	size_t len;
	uint8_t qualifier;
};

struct tchan {
	bool open;
	uint16_t port;
	uint16_t buffer_size;
	uint8_t rx[8192];
	size_t rx_len, rx_pos;
	uint8_t tx[8192];
	size_t tx_len;
	size_t stored; /* since the last "send immediately" */
	size_t flushed;
	struct chunk chunks[256];
	size_t n_chunks;
	size_t requests[256]; /* RECEIVE DATA lengths asked */
	size_t n_requests;
	unsigned closes;
};

static struct term {
	uint16_t grant_buffer; /* 0: grant what is asked */
	uint8_t open_result;   /* CAT_RES_OK or e.g. CAT_RES_BIP_ERROR */
	uint8_t open_info;
	uint8_t send_result, send_info; /* applied once, then reset to OK */
	uint8_t recv_result, recv_info;
	bool free_zero; /* SEND DATA responses say 00 bytes free */
	struct tchan ch[CAT_BIP_CHANNELS_MAX + 1];
	unsigned opens, events_setups, statuses;
	unsigned poll_intervals, polling_offs;
	uint32_t poll_ms; /* POLL INTERVAL in force (0: none) */
	uint8_t numbers[1024];
	size_t n_numbers;
	uint8_t types[1024];
	uint8_t dsts[1024]; /* channel of each command (0: the terminal) */
} term;

static void term_init(void)
{
	memset(&term, 0, sizeof(term));
}

static unsigned term_free_id(void)
{
	for (unsigned i = 1; i <= CAT_BIP_CHANNELS_MAX; i++)
		if (!term.ch[i].open)
			return i;
	return 0;
}

/* Answers one fetched command as a terminal would. */
static void term_answer(const struct card_cat_command *c)
{
	struct card_cat_response r = tr_for(c, CAT_RES_OK);
	uint8_t info = 0, data[256];
	unsigned id = c->devices.dst & 0x07;
	struct tchan *t = &term.ch[id];

	if (term.n_numbers < sizeof(term.numbers)) {
		term.types[term.n_numbers] = c->details.type;
		term.dsts[term.n_numbers] = (c->devices.dst & 0xF0) == 0x20 ? id : 0;
		term.numbers[term.n_numbers++] = c->details.number;
	}
	switch (c->details.type) {
	case CAT_CMD_SET_UP_EVENT_LIST:
		CU_ASSERT(bytes_eq(c->events, "\x09\x0A", 2));
		CU_ASSERT_EQUAL(c->devices.dst, CAT_DEV_TERMINAL);
		term.events_setups++;
		break;
	case CAT_CMD_OPEN_CHANNEL:
		CU_ASSERT_EQUAL(c->devices.dst, CAT_DEV_TERMINAL);
		CU_ASSERT_EQUAL(c->details.qualifier, 0);
		CU_ASSERT(c->has_transport && c->transport == CAT_TRANSPORT_TCP_SERVER);
		term.opens++;
		if (term.open_result != CAT_RES_OK && term.open_result != CAT_RES_MODIFIED) {
			r.result = term.open_result;
			info = term.open_info;
			r.result_info = bytes_make(&info, 1);
			break;
		}
		id = term_free_id();
		CU_ASSERT_FATAL(id != 0);
		t = &term.ch[id];
		memset(t, 0, sizeof(*t));
		t->open = true;
		t->port = c->port;
		t->buffer_size = term.grant_buffer ? term.grant_buffer : c->buffer_size;
		r.result = term.open_result;
		r.n_status = 1;
		r.status[0] = CAT_CHST(CAT_CHST_LISTEN, id, 0);
		r.has_buffer_size = true;
		r.buffer_size = t->buffer_size;
		break;
	case CAT_CMD_RECEIVE_DATA: {
		CU_ASSERT_FATAL(t->open);
		CU_ASSERT(c->data_len >= 1 && c->data_len <= CAT_RECEIVE_DATA_MAX);
		if (t->n_requests < 256)
			t->requests[t->n_requests++] = c->data_len;
		if (term.recv_result != CAT_RES_OK) {
			r.result = term.recv_result;
			info = term.recv_info;
			r.result_info = bytes_make(&info, 1);
			term.recv_result = CAT_RES_OK;
			break;
		}
		size_t avail = t->rx_len - t->rx_pos;
		size_t n = avail < c->data_len ? avail : c->data_len;
		memcpy(data, t->rx + t->rx_pos, n);
		t->rx_pos += n;
		if (n < c->data_len)
			r.result = CAT_RES_MISSING_INFO;
		r.has_data = true;
		r.data = bytes_make(data, n);
		r.has_data_len = true;
		avail -= n;
		r.data_len = (uint8_t)(avail > 0xFF ? 0xFF : avail);
		break;
	}
	case CAT_CMD_SEND_DATA:
		CU_ASSERT_FATAL(t->open);
		if (term.send_result != CAT_RES_OK) {
			r.result = term.send_result;
			info = term.send_info;
			r.result_info = bytes_make(&info, 1);
			term.send_result = CAT_RES_OK;
			break;
		}
		CU_ASSERT(c->data.len <= CAT_SEND_DATA_MAX);
		/* Never over the buffer size before a "send immediately". */
		CU_ASSERT(t->stored + c->data.len <= t->buffer_size);
		CU_ASSERT_FATAL(t->tx_len + c->data.len <= sizeof(t->tx));
		memcpy(t->tx + t->tx_len, c->data.ptr, c->data.len);
		t->tx_len += c->data.len;
		if (t->n_chunks < 256) {
			t->chunks[t->n_chunks].len = c->data.len;
			t->chunks[t->n_chunks++].qualifier = c->details.qualifier;
		}
		t->stored += c->data.len;
		if (c->details.qualifier & CAT_QUAL_SEND_IMMEDIATELY) {
			t->flushed += t->stored;
			t->stored = 0;
		}
		r.has_data_len = true;
		r.data_len =
			(uint8_t)(t->buffer_size - t->stored > 0xFF ? 0xFF
								    : t->buffer_size - t->stored);
		if (term.free_zero)
			r.data_len = 0;
		break;
	case CAT_CMD_CLOSE_CHANNEL:
		CU_ASSERT_FATAL(t->open);
		CU_ASSERT_EQUAL(c->details.qualifier, CAT_QUAL_CLOSE_TO_LISTEN);
		t->closes++;
		t->rx_len = t->rx_pos = 0;
		t->stored = 0;
		break;
	case CAT_CMD_GET_CHANNEL_STATUS:
		term.statuses++;
		for (unsigned i = 1; i <= CAT_BIP_CHANNELS_MAX; i++)
			if (term.ch[i].open)
				r.status[r.n_status++] = CAT_CHST(CAT_CHST_LISTEN, i, 0);
		if (r.n_status == 0)
			r.status[r.n_status++] = 0;
		break;
	case CAT_CMD_POLL_INTERVAL:
		CU_ASSERT_EQUAL(c->devices.dst, CAT_DEV_TERMINAL);
		CU_ASSERT_FATAL(c->has_duration);
		term.poll_intervals++;
		term.poll_ms = card_cat_duration_ms(c->duration);
		r.has_duration = true;
		r.duration = c->duration;
		break;
	case CAT_CMD_POLLING_OFF:
		CU_ASSERT_EQUAL(c->devices.dst, CAT_DEV_TERMINAL);
		term.polling_offs++;
		term.poll_ms = 0;
		break;
	default:
		CU_FAIL("unexpected proactive command");
		break;
	}
	send_tr(&r);
}

/* FETCH and answer while the card has something; returns the count. */
static unsigned term_pump(void)
{
	unsigned n = 0;
	while ((last_sw & 0xFF00) == 0x9100) {
		struct card_cat_command c;
		fetch(&c);
		term_answer(&c);
		CU_ASSERT_FATAL(++n < 5000);
	}
	return n;
}

/* A client connects / sends bytes / leaves. */
static void term_connect(unsigned id)
{
	CU_ASSERT_EQUAL(
		send_event(CAT_EVENT_CHANNEL_STATUS, CAT_CHST(CAT_CHST_ESTABLISHED, id, 0), -1) &
			0xFF00,
		last_sw & 0xFF00);
	CU_ASSERT(last_sw == SW_OK || (last_sw & 0xFF00) == 0x9100);
}

static void term_data(unsigned id, const uint8_t *p, size_t len)
{
	struct tchan *t = &term.ch[id];
	CU_ASSERT_FATAL(t->rx_len + len <= sizeof(t->rx));
	memcpy(t->rx + t->rx_len, p, len);
	t->rx_len += len;
	size_t avail = t->rx_len - t->rx_pos;
	send_event(CAT_EVENT_DATA_AVAILABLE, CAT_CHST(CAT_CHST_ESTABLISHED, id, 0),
		   avail > 0xFF ? 0xFF : (int)avail);
	CU_ASSERT(last_sw == SW_OK || (last_sw & 0xFF00) == 0x9100);
}

static void term_leave(unsigned id, uint8_t info)
{
	send_event(CAT_EVENT_CHANNEL_STATUS, CAT_CHST(CAT_CHST_LISTEN, id, info), -1);
	term.ch[id].rx_len = term.ch[id].rx_pos = 0;
	term.ch[id].stored = 0;
}

static void term_start(const uint8_t *tp, size_t len)
{
	term_init();
	send_tp(tp, len);
	term_pump();
}

static struct card_bip_channel_info chan_info(unsigned id)
{
	struct card_bip_channel_info ci;
	CU_ASSERT_EQUAL(card_bip_channel(bip, id, &ci), 0);
	return ci;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 31 + 7);
}

/* ---- tests ------------------------------------------------------------- */

static const struct card_bip_port port_4116[] = { { 4116, 1 } };
static const struct card_bip_port ports_7[] = { { 4116, 5 }, { 3516, 2 } };

/* doc/protocol.md §1.13 byte for byte, up to the TERMINAL RESPONSE of SEND DATA. */
static void test_example_exchange(void)
{
	struct card_cat_command c;
	uint8_t data[200];
	setup(port_4116, 1, 0);
	sink_mode = SINK_CANNED;
	trigger = 200;
	canned_len = 0x90;

	CU_ASSERT_EQUAL(
		xmit_hex("80 10 00 00 11 01 00 00 00 01 0C 00 00 00 00 00 1F 20 00 00 00 04"),
		0x910F);
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 0F"), SW_OK);
	CU_ASSERT_EQUAL(rlen, 0x0F);
	uint8_t want[300];
	size_t wn = 0;
	CU_ASSERT_EQUAL(
		hex_decode("D0 0D 81 03 01 05 00 82 02 81 82 99 02 09 0A", want, sizeof(want), &wn),
		0);
	CU_ASSERT(rlen == wn && memcmp(rbuf, want, wn) == 0);
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 0C 81 03 01 05 00 82 02 82 81 83 01 00"), 0x9114);
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 14"), SW_OK);
	CU_ASSERT_EQUAL(hex_decode("D0 12 81 03 02 40 00 82 02 81 82 B9 02 05 78 BC 03 03 10 14",
				   want, sizeof(want), &wn),
			0);
	CU_ASSERT(rlen == wn && memcmp(rbuf, want, wn) == 0);
	CU_ASSERT_FALSE(card_bip_settled(bip));
	CU_ASSERT_EQUAL(
		xmit_hex("80 14 00 00 14 81 03 02 40 00 82 02 82 81 83 01 00 B8 02 41 00 B9 "
			 "02 05 78"),
		SW_OK);
	CU_ASSERT(card_bip_settled(bip));
	CU_ASSERT_STRING_EQUAL(card_bip_reason(bip), "");
	struct card_bip_channel_info ci = chan_info(1);
	CU_ASSERT(ci.in_use && ci.state == CAT_CH_LISTEN && ci.port == 4116);
	CU_ASSERT_EQUAL(ci.buffer_size, 1400);

	CU_ASSERT_EQUAL(xmit_hex("80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 81 00"), SW_OK);
	CU_ASSERT_EQUAL(n_conns, 1);
	CU_ASSERT(pool[0].port == 4116 && pool[0].channel == 1);
	CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_ESTABLISHED);
	CU_ASSERT_EQUAL(xmit_hex("80 C2 00 00 10 D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 C8"),
			0x910E);
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 0E"), SW_OK);
	CU_ASSERT_EQUAL(
		hex_decode("D0 0C 81 03 03 42 00 82 02 81 21 B7 01 C8", want, sizeof(want), &wn),
		0);
	CU_ASSERT(rlen == wn && memcmp(rbuf, want, wn) == 0);

	/* TR RECEIVE DATA with 200 bytes: 16 03 01 00 C3 … */
	uint8_t tr[CAT_TR_MAX], capdu[300];
	size_t n = 0, cn = 0;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	memcpy(data, "\x16\x03\x01\x00\xC3", 5);
	CU_ASSERT_EQUAL(
		hex_decode("81 03 03 42 00 82 02 82 81 83 01 00 B6 81 C8", tr, sizeof(tr), &n), 0);
	memcpy(tr + n, data, sizeof(data));
	n += sizeof(data);
	memcpy(tr + n, "\xB7\x01\x00", 3);
	n += 3;
	CU_ASSERT_EQUAL(n, 0xDA);
	CU_ASSERT_EQUAL(
		card_cat_msg_capdu(CAT_INS_TERMINAL_RESPONSE, tr, n, capdu, sizeof(capdu), &cn), 0);
	CU_ASSERT_EQUAL(memcmp(capdu, "\x80\x14\x00\x00\xDA", 5), 0);
	/* The sink answers 0x90 bytes at once: SEND DATA (04) is announced. */
	CU_ASSERT_EQUAL(xmit(capdu, cn), 0x919F);
	CU_ASSERT(pool[0].in_len == 200 && memcmp(pool[0].in, data, 200) == 0);

	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 9F"), SW_OK);
	CU_ASSERT_EQUAL(
		hex_decode("D0 81 9C 81 03 04 43 01 82 02 81 21 B6 81 90", want, sizeof(want), &wn),
		0);
	for (size_t i = 0; i < 0x90; i++)
		want[wn++] = canned_byte(i);
	CU_ASSERT(rlen == wn && memcmp(rbuf, want, wn) == 0);
	CU_ASSERT_EQUAL(card_cat_msg_command_decode(rbuf, rlen, &c), 0);

	/* The sink is done and its output is out: CLOSE CHANNEL, back to LISTEN. */
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 0F 81 03 04 43 01 82 02 82 81 83 01 00 B7 01 FF"),
			0x910B);
	CU_ASSERT_EQUAL(pool[0].out_pos, 0x90);
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 0B"), SW_OK);
	CU_ASSERT_EQUAL(hex_decode("D0 09 81 03 05 41 01 82 02 81 21", want, sizeof(want), &wn), 0);
	CU_ASSERT(rlen == wn && memcmp(rbuf, want, wn) == 0);
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 0C 81 03 05 41 01 82 02 82 81 83 01 00"), SW_OK);
	CU_ASSERT(pool[0].closed);
	CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_LISTEN);

	/* GET CHANNEL STATUS on request. */
	CU_ASSERT_EQUAL(card_bip_request_status(bip), 0);
	CU_ASSERT_EQUAL(xmit_hex("80 F2 00 0C 00"), 0x910B);
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 0B"), SW_OK);
	CU_ASSERT_EQUAL(hex_decode("D0 09 81 03 06 44 00 82 02 81 82", want, sizeof(want), &wn), 0);
	CU_ASSERT(rlen == wn && memcmp(rbuf, want, wn) == 0);
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 10 81 03 06 44 00 82 02 82 81 83 01 00 B8 02 41 00"),
			SW_OK);
	uint16_t st[8];
	CU_ASSERT_EQUAL(card_bip_last_status(bip, st, 8), 1);
	CU_ASSERT_EQUAL(st[0], 0x4100);
	teardown();
}

/* Data in many totals: RECEIVE DATA sizes, exact bytes, SEND DATA chunks. */
static void run_transfer(size_t total, uint16_t grant)
{
	uint8_t *data = malloc(total);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	for (size_t i = 0; i < total; i++)
		data[i] = pattern(i + total);
	setup(port_4116, 1, 0);
	term_init();
	term.grant_buffer = grant;
	term.open_result = grant ? CAT_RES_MODIFIED : CAT_RES_OK;
	send_tp(full_tp, sizeof(full_tp));
	term_pump();
	uint16_t bs = grant ? grant : CAT_BUFFER_SIZE_DEFAULT;
	CU_ASSERT_EQUAL(chan_info(1).buffer_size, bs);
	if (grant)
		CU_ASSERT_PTR_NOT_NULL(strstr(log_text, "modified"));
	term_connect(1);
	term_data(1, data, total);
	term_pump();

	struct tchan *t = &term.ch[1];
	/* The sink got exactly the bytes, and echoed them. */
	CU_ASSERT_EQUAL(pool[0].in_len, total);
	CU_ASSERT_EQUAL(memcmp(pool[0].in, data, total), 0);
	CU_ASSERT_EQUAL(t->tx_len, total);
	CU_ASSERT_EQUAL(memcmp(t->tx, data, total), 0);
	/* RECEIVE DATA asked min(left, EDh) each time, left as the terminal said
	 * (FF: more than 255). */
	size_t left = total, known = total > 0xFF ? 0xFF : total;
	for (size_t i = 0; i < t->n_requests; i++) {
		size_t want = known < CAT_RECEIVE_DATA_MAX ? known : CAT_RECEIVE_DATA_MAX;
		CU_ASSERT_EQUAL(t->requests[i], want);
		size_t got = left < want ? left : want;
		left -= got;
		known = left > 0xFF ? 0xFF : left;
	}
	CU_ASSERT_EQUAL(left, 0);
	CU_ASSERT_EQUAL(t->n_requests, (total + CAT_RECEIVE_DATA_MAX - 1) / CAT_RECEIVE_DATA_MAX);
	/* SEND DATA: never over the buffer before 01; the last chunk is 01. */
	size_t stored = 0;
	for (size_t i = 0; i < t->n_chunks; i++) {
		CU_ASSERT(t->chunks[i].len >= 1 && t->chunks[i].len <= CAT_SEND_DATA_MAX);
		stored += t->chunks[i].len;
		CU_ASSERT(stored <= bs);
		if (t->chunks[i].qualifier == CAT_QUAL_SEND_IMMEDIATELY)
			stored = 0;
		else
			CU_ASSERT_EQUAL(t->chunks[i].qualifier, 0);
	}
	CU_ASSERT(t->n_chunks > 0);
	CU_ASSERT_EQUAL(t->chunks[t->n_chunks - 1].qualifier, CAT_QUAL_SEND_IMMEDIATELY);
	CU_ASSERT_EQUAL(t->stored, 0);
	CU_ASSERT_EQUAL(pool[0].out_pos, total);
	free(data);
	teardown();
}

static void test_receive_chunk_sizes(void)
{
	static const size_t totals[] = { 1, 17, 200, 237, 238, 255, 256, 1000, 4000 };
	for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++)
		run_transfer(totals[i], 0);
}

/* Result 07 with a smaller Buffer size: that size bounds every flush. */
static void test_modified_buffer_size(void)
{
	static const uint16_t grants[] = { 1, 100, 240, 241, 300, 500, 1000 };
	for (size_t i = 0; i < sizeof(grants) / sizeof(grants[0]); i++)
		run_transfer(1000, grants[i]);
	/* The exact chunking for a 300-byte buffer: 240+60, 240+60, ... */
	run_transfer(700, 300);
}

static void test_chunks_exact(void)
{
	uint8_t data[700];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	setup(port_4116, 1, 0);
	term_init();
	term.grant_buffer = 300;
	term.open_result = CAT_RES_MODIFIED;
	send_tp(full_tp, sizeof(full_tp));
	term_pump();
	sink_mode = SINK_QUIET;
	term_connect(1);
	term_data(1, data, sizeof(data));
	term_pump();
	/* Now the sink answers 700 bytes at once. */
	memcpy(pool[0].out, data, sizeof(data));
	pool[0].out_len = sizeof(data);
	CU_ASSERT_EQUAL(xmit_hex("80 F2 00 0C 00") & 0xFF00, 0x9100);
	term_pump();
	static const struct chunk want[] = {
		{ 240, 0 }, { 60, 1 }, { 240, 0 }, { 60, 1 }, { 100, 1 }
	};
	struct tchan *t = &term.ch[1];
	CU_ASSERT_EQUAL_FATAL(t->n_chunks, 5);
	for (size_t i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(t->chunks[i].len, want[i].len);
		CU_ASSERT_EQUAL(t->chunks[i].qualifier, want[i].qualifier);
	}
	CU_ASSERT_EQUAL(memcmp(t->tx, data, sizeof(data)), 0);
	teardown();
}

/* The client leaves (41 00 and 41 05); a second client on the same channel. */
static void test_client_gone_and_second_connection(void)
{
	static const uint8_t infos[] = { CAT_CHST_INFO_NONE, CAT_CHST_INFO_LINK_DROPPED };
	for (size_t k = 0; k < 2; k++) {
		setup(port_4116, 1, 0);
		term_start(full_tp, sizeof(full_tp));
		sink_mode = SINK_QUIET;
		term_connect(1);
		term_data(1, (const uint8_t *)"GET / HTTP/1.1\r\n", 16);
		term_pump();
		CU_ASSERT_EQUAL(pool[0].in_len, 16);
		term_leave(1, infos[k]);
		CU_ASSERT_EQUAL(last_sw, SW_OK); /* nothing to send: no CLOSE */
		CU_ASSERT(pool[0].closed);
		CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_LISTEN);
		CU_ASSERT_FALSE(chan_info(1).has_conn);
		CU_ASSERT_EQUAL(term.ch[1].closes, 0);
		/* A repeated LISTEN is harmless. */
		term_leave(1, infos[k]);
		CU_ASSERT_EQUAL(last_sw, SW_OK);

		sink_mode = SINK_ECHO;
		term_connect(1);
		CU_ASSERT_EQUAL(n_conns, 2);
		CU_ASSERT(pool[1].channel == 1 && pool[1].port == 4116);
		/* A repeated ESTABLISHED does not open another connection. */
		term_connect(1);
		CU_ASSERT_EQUAL(n_conns, 2);
		term_data(1, (const uint8_t *)"second", 6);
		term_pump();
		CU_ASSERT(pool[1].in_len == 6 && memcmp(pool[1].in, "second", 6) == 0);
		CU_ASSERT(term.ch[1].tx_len == 6 && memcmp(term.ch[1].tx, "second", 6) == 0);
		CU_ASSERT_EQUAL(chan_info(1).connections, 2);
		teardown();
	}
}

/* The sink finishes: CLOSE CHANNEL (01), LISTEN, then the next client. */
static void test_done_closes_to_listen(void)
{
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	sink_mode = SINK_CANNED;
	trigger = 5;
	canned_len = 500;
	for (unsigned round = 0; round < 3; round++) {
		term_connect(1);
		term_data(1, (const uint8_t *)"hello", 5);
		term_pump();
		struct fconn *fc = &pool[round];
		CU_ASSERT(fc->closed);
		CU_ASSERT_EQUAL(fc->out_pos, 500);
		CU_ASSERT_EQUAL(term.ch[1].closes, round + 1);
		CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_LISTEN);
		CU_ASSERT_EQUAL(term.ch[1].flushed, 500 * (round + 1));
		/* CLOSE came last, after the data. */
		CU_ASSERT_EQUAL(term.types[term.n_numbers - 1], CAT_CMD_CLOSE_CHANNEL);
	}
	teardown();
}

/* 4116 x 5 and 3516 x 2: seven channels, all busy at once. */
static void test_seven_channels(void)
{
	setup(ports_7, 2, 0);
	term_start(full_tp, sizeof(full_tp));
	CU_ASSERT_EQUAL(term.opens, 7);
	static const uint16_t order[] = { 4116, 3516, 4116, 3516, 4116, 4116, 4116 };
	for (unsigned id = 1; id <= 7; id++) {
		CU_ASSERT_EQUAL(term.ch[id].port, order[id - 1]);
		CU_ASSERT_EQUAL(chan_info(id).state, CAT_CH_LISTEN);
	}
	CU_ASSERT(card_bip_settled(bip));
	sink_mode = SINK_QUIET;
	uint8_t data[7][300];
	for (unsigned id = 1; id <= 7; id++) {
		term_connect(id);
		for (size_t i = 0; i < sizeof(data[0]); i++)
			data[id - 1][i] = (uint8_t)(pattern(i) ^ id);
	}
	/* Every client sends before the card reads any. */
	for (unsigned id = 1; id <= 7; id++) {
		struct tchan *t = &term.ch[id];
		memcpy(t->rx, data[id - 1], sizeof(data[0]));
		t->rx_len = sizeof(data[0]);
		send_event(CAT_EVENT_DATA_AVAILABLE, CAT_CHST(CAT_CHST_ESTABLISHED, id, 0), 0xFF);
	}
	CU_ASSERT_EQUAL(n_conns, 7);
	/* Round robin: the first seven RECEIVE DATA go to seven channels. */
	size_t first = term.n_numbers;
	term_pump();
	for (unsigned id = 1; id <= 7; id++) {
		struct fconn *fc = NULL;
		for (size_t i = 0; i < n_conns; i++)
			if (pool[i].channel == id)
				fc = &pool[i];
		CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
		if (!fc)
			return; /* not reached: tells gcc -O2 the pointer is checked */
		CU_ASSERT_EQUAL(fc->in_len, sizeof(data[0]));
		CU_ASSERT_EQUAL(memcmp(fc->in, data[id - 1], sizeof(data[0])), 0);
		CU_ASSERT_EQUAL(term.ch[id].requests[0], CAT_RECEIVE_DATA_MAX);
		CU_ASSERT_EQUAL(chan_info(id).state, CAT_CH_ESTABLISHED);
	}
	/* The first seven RECEIVE DATA went one to each channel. */
	unsigned mask = 0;
	for (size_t i = first; i < first + 7; i++) {
		CU_ASSERT_EQUAL(term.types[i], CAT_CMD_RECEIVE_DATA);
		mask |= 1u << term.dsts[i];
	}
	CU_ASSERT_EQUAL(mask, 0xFE);
	/* All answer at once. */
	for (unsigned id = 1; id <= 7; id++) {
		struct fconn *fc = &pool[id - 1];
		memcpy(fc->out, "HTTP/1.1 200 OK\r\n", 17);
		fc->out_len = 17;
		fc->done = true;
	}
	xmit_hex("80 F2 00 0C 00");
	term_pump();
	for (unsigned id = 1; id <= 7; id++) {
		CU_ASSERT(term.ch[id].tx_len == 17);
		CU_ASSERT_EQUAL(term.ch[id].closes, 1);
		CU_ASSERT_EQUAL(chan_info(id).state, CAT_CH_LISTEN);
	}
	CU_ASSERT_EQUAL(n_closed, 7);
	teardown();
}

/* Terminal profiles that do not allow server mode get no OPEN CHANNEL. */
static void test_profile_refused(void)
{
	static const struct {
		size_t byte;
		uint8_t clear;
		const char *why;
	} cases[] = {
		{ 17, 0x04, "TCP UICC server mode" }, { 5, 0x01, "SET UP EVENT LIST" },
		{ 6, 0x04, "event Data available" },  { 6, 0x08, "event Channel status" },
		{ 12, 0x01, "OPEN CHANNEL" },         { 12, 0x02, "CLOSE CHANNEL" },
		{ 12, 0x04, "RECEIVE DATA" },         { 12, 0x08, "SEND DATA" },
		{ 13, 0xE0, "BIP channels" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t tp[sizeof(full_tp)];
		memcpy(tp, full_tp, sizeof(tp));
		tp[cases[i].byte - 1] &= (uint8_t)~cases[i].clear;
		setup(ports_7, 2, 0);
		CU_ASSERT_EQUAL(send_tp(tp, sizeof(tp)), SW_OK);
		CU_ASSERT_PTR_NOT_NULL(strstr(card_bip_reason(bip), cases[i].why));
		CU_ASSERT_PTR_NOT_NULL(strstr(log_text, cases[i].why));
		CU_ASSERT(card_bip_settled(bip));
		CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 0F"), SW_CONDITIONS_NOT_SATISFIED);
		CU_ASSERT_EQUAL(card_bip_request_status(bip), -EBADFD);
		/* Events are accepted and ignored. */
		CU_ASSERT_EQUAL(send_event(CAT_EVENT_CHANNEL_STATUS, 0x8100, -1), SW_OK);
		CU_ASSERT_EQUAL(n_conns, 0);
		teardown();
	}
	/* A short profile (no byte 17) lacks server mode too. */
	setup(port_4116, 1, 0);
	CU_ASSERT_EQUAL(send_tp(full_tp, 13), SW_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(card_bip_reason(bip), "TCP UICC server mode"));
	teardown();
	/* GET CHANNEL STATUS not supported: requests are refused. */
	setup(port_4116, 1, 0);
	uint8_t tp[sizeof(full_tp)];
	memcpy(tp, full_tp, sizeof(tp));
	tp[11] &= (uint8_t)~0x10;
	term_start(tp, sizeof(tp));
	CU_ASSERT_EQUAL(term.opens, 1);
	CU_ASSERT_EQUAL(card_bip_request_status(bip), -ENOTSUP);
	teardown();
}

/* A terminal with fewer channels than configured: ports in turn. */
static void test_fewer_channels(void)
{
	uint8_t tp[sizeof(full_tp)];
	memcpy(tp, full_tp, sizeof(tp));
	tp[12] = 3 << 5;
	setup(ports_7, 2, 0);
	term_start(tp, sizeof(tp));
	CU_ASSERT_EQUAL(term.opens, 3);
	CU_ASSERT_EQUAL(term.ch[1].port, 4116);
	CU_ASSERT_EQUAL(term.ch[2].port, 3516);
	CU_ASSERT_EQUAL(term.ch[3].port, 4116);
	CU_ASSERT_PTR_NOT_NULL(strstr(card_bip_reason(bip), "opening 3 of 7"));
	CU_ASSERT(card_bip_settled(bip));
	teardown();
}

/* OPEN CHANNEL answered with a BIP error: that channel stays closed. */
static void test_open_channel_errors(void)
{
	setup(ports_7, 2, 0);
	term_init();
	term.open_result = CAT_RES_BIP_ERROR;
	term.open_info = CAT_BIP_PORT_UNAVAILABLE;
	send_tp(full_tp, sizeof(full_tp));
	term_pump();
	CU_ASSERT_EQUAL(term.opens, 7);
	for (unsigned id = 1; id <= 7; id++)
		CU_ASSERT_FALSE(chan_info(id).in_use);
	CU_ASSERT_PTR_NOT_NULL(strstr(card_bip_reason(bip), "port not available"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log_text, "OPEN CHANNEL for port 4116 failed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log_text, "OPEN CHANNEL for port 3516 failed"));
	CU_ASSERT(card_bip_settled(bip));
	/* An event for a channel we do not hold is ignored. */
	CU_ASSERT_EQUAL(send_event(CAT_EVENT_CHANNEL_STATUS, 0x8100, -1), SW_OK);
	CU_ASSERT_EQUAL(n_conns, 0);
	teardown();

	/* Odd but successful answers: no channel status, channel 0, a channel
	 * already taken, a CLOSED status, buffer size 0. */
	static const char *const bad_trs[] = {
		"81 03 02 40 00 82 02 82 81 83 01 00 B9 02 05 78",
		"81 03 02 40 00 82 02 82 81 83 01 00 B8 02 40 00 B9 02 05 78",
		"81 03 02 40 00 82 02 82 81 83 01 00 B8 02 01 00 B9 02 05 78",
		"81 03 02 40 00 82 02 82 81 83 01 00 B8 02 41 00 B9 02 00 00",
	};
	for (size_t i = 0; i < sizeof(bad_trs) / sizeof(bad_trs[0]); i++) {
		setup(port_4116, 1, 0);
		term_init();
		send_tp(full_tp, sizeof(full_tp));
		struct card_cat_command c;
		fetch(&c);
		term_answer(&c);
		fetch(&c);
		CU_ASSERT_EQUAL(c.details.type, CAT_CMD_OPEN_CHANNEL);
		uint8_t b[64];
		size_t n = 0;
		CU_ASSERT_EQUAL(hex_decode(bad_trs[i], b, sizeof(b), &n), 0);
		CU_ASSERT_EQUAL(toolkit(CAT_INS_TERMINAL_RESPONSE, b, n), SW_OK);
		CU_ASSERT_FALSE(chan_info(1).in_use);
		CU_ASSERT_PTR_NOT_NULL(strstr(card_bip_reason(bip), "port 4116 failed"));
		teardown();
	}
	/* Two channels granted the same identifier: the second is refused. */
	static const struct card_bip_port two[] = { { 4116, 2 } };
	setup(two, 1, 0);
	term_init();
	send_tp(full_tp, sizeof(full_tp));
	struct card_cat_command c;
	fetch(&c);
	term_answer(&c);
	fetch(&c);
	term_answer(&c);
	term.ch[1].open = false; /* the terminal forgets it and hands out 1 again */
	fetch(&c);
	term_answer(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(card_bip_reason(bip), "channel identifier 1 is not free"));
	teardown();
	/* SET UP EVENT LIST refused: no OPEN CHANNEL. */
	setup(port_4116, 1, 0);
	send_tp(full_tp, sizeof(full_tp));
	fetch(&c);
	struct card_cat_response r = tr_for(&c, CAT_RES_BEYOND_CAPABILITIES);
	CU_ASSERT_EQUAL(send_tr(&r), SW_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(card_bip_reason(bip), "SET UP EVENT LIST failed"));
	CU_ASSERT(card_bip_settled(bip));
	teardown();
}

/* TERMINAL PROFILE with POLL INTERVAL and POLLING OFF (byte 3 b6 b7). */
static const uint8_t poll_tp[] = { 0x01, 0, 0x60, 0,    0x01, 0x0C, 0, 0,   0,
				   0,    0, 0x1F, 0xE0, 0,    0,    0, 0x04 };

static uint16_t poll_status(void)
{
	return xmit_hex("80 F2 00 0C 00");
}

/* A card with scws.open_retry = retry ({0}: none) on ports, whose
 * terminal refuses every OPEN CHANNEL, after the TERMINAL PROFILE tp. */
static void start_refused(struct card_bip_retry retry, const struct card_bip_port *ports,
			  const uint8_t *tp, size_t tp_len)
{
	setup_retry = retry;
	setup(ports, 1, 0);
	term_init();
	term.open_result = CAT_RES_TERMINAL_UNABLE;
	send_tp(tp, tp_len);
	term_pump();
}

/* scws.open_retry: a refused OPEN CHANNEL goes again at the terminal's
 * STATUS after the POLL INTERVAL the card asked for, count times at most;
 * then POLLING OFF. */
static void test_open_retry(void)
{
	/* Refused once (20, then 3A 10), granted at the second retry. */
	start_refused((struct card_bip_retry){ 2, 1500 }, port_4116, poll_tp, sizeof(poll_tp));
	CU_ASSERT_EQUAL(term.opens, 1);
	CU_ASSERT_EQUAL(term.poll_intervals, 1);
	CU_ASSERT_EQUAL(term.poll_ms, 1500); /* 15 tenths of a second */
	CU_ASSERT_EQUAL(last_sw, SW_OK);     /* nothing until the poll */
	CU_ASSERT_EQUAL(card_bip_retries_waiting(bip), 1);
	CU_ASSERT_FALSE(card_bip_settled(bip));
	CU_ASSERT_PTR_NOT_NULL(strstr(card_bip_reason(bip), "retry 1 of 2 at the next poll"));
	/* Anything but STATUS leaves the retry waiting. */
	CU_ASSERT_EQUAL(send_event(CAT_EVENT_CHANNEL_STATUS, 0x8100, -1), SW_OK);
	CU_ASSERT_EQUAL(term.opens, 1);
	term.open_result = CAT_RES_BIP_ERROR;
	term.open_info = CAT_BIP_PORT_UNAVAILABLE;
	CU_ASSERT_EQUAL(poll_status() & 0xFF00, 0x9100);
	term_pump();
	CU_ASSERT_EQUAL(term.opens, 2);
	CU_ASSERT_EQUAL(term.poll_intervals, 1); /* still in force: not asked again */
	CU_ASSERT_PTR_NOT_NULL(strstr(card_bip_reason(bip), "port not available; retry 2 of 2"));
	term.open_result = CAT_RES_OK;
	CU_ASSERT_EQUAL(poll_status() & 0xFF00, 0x9100);
	term_pump();
	CU_ASSERT_EQUAL(term.opens, 3);
	CU_ASSERT_EQUAL(term.polling_offs, 1);
	CU_ASSERT_EQUAL(term.poll_ms, 0);
	CU_ASSERT(chan_info(1).in_use && chan_info(1).state == CAT_CH_LISTEN);
	CU_ASSERT(card_bip_settled(bip));
	CU_ASSERT_EQUAL(card_bip_retries_waiting(bip), 0);
	/* Polling is off: a STATUS is a STATUS. */
	CU_ASSERT_EQUAL(poll_status(), SW_OK);
	teardown();

	/* Refused every time: count + 1 OPEN CHANNELs, then it gives up. */
	start_refused((struct card_bip_retry){ 1, 100 }, port_4116, poll_tp, sizeof(poll_tp));
	CU_ASSERT_EQUAL(term.poll_ms, 100);
	CU_ASSERT_EQUAL(poll_status() & 0xFF00, 0x9100);
	term_pump();
	CU_ASSERT_EQUAL(term.opens, 2);
	CU_ASSERT_EQUAL(term.polling_offs, 1);
	CU_ASSERT_FALSE(chan_info(1).in_use);
	CU_ASSERT(card_bip_settled(bip));
	CU_ASSERT_PTR_NOT_NULL(strstr(card_bip_reason(bip), "port 4116 failed: 20"));
	CU_ASSERT_PTR_NULL(strstr(card_bip_reason(bip), "retry"));
	CU_ASSERT_EQUAL(poll_status(), SW_OK);
	CU_ASSERT_EQUAL(term.opens, 2);
	teardown();

	/* No retry configured (the default): one OPEN CHANNEL, no poll. */
	start_refused((struct card_bip_retry){ 0, 0 }, port_4116, poll_tp, sizeof(poll_tp));
	CU_ASSERT_EQUAL(term.opens, 1);
	CU_ASSERT_EQUAL(term.poll_intervals, 0);
	CU_ASSERT(card_bip_settled(bip));
	CU_ASSERT_EQUAL(poll_status(), SW_OK);
	CU_ASSERT_EQUAL(term.opens, 1);
	teardown();

	/* A terminal without POLL INTERVAL: the retry waits for its STATUS;
	 * every channel of the port retries on its own. */
	static const struct card_bip_port two[] = { { 4116, 2 } };
	start_refused((struct card_bip_retry){ 1, 60000 }, two, full_tp, sizeof(full_tp));
	CU_ASSERT_EQUAL(term.opens, 2);
	CU_ASSERT_EQUAL(term.poll_intervals, 0);
	CU_ASSERT_EQUAL(card_bip_retries_waiting(bip), 2);
	term.open_result = CAT_RES_OK;
	CU_ASSERT_EQUAL(poll_status() & 0xFF00, 0x9100);
	term_pump();
	CU_ASSERT_EQUAL(term.opens, 4);
	CU_ASSERT_EQUAL(term.polling_offs, 0);
	CU_ASSERT(chan_info(1).in_use && chan_info(2).in_use);
	CU_ASSERT(card_bip_settled(bip));
	teardown();

	/* A reset forgets the waiting retry. */
	start_refused((struct card_bip_retry){ 3, 1000 }, port_4116, poll_tp, sizeof(poll_tp));
	CU_ASSERT_EQUAL(card_bip_retries_waiting(bip), 1);
	card_reset(card);
	CU_ASSERT_EQUAL(card_bip_retries_waiting(bip), 0);
	teardown();

	/* The config's ranges. */
	static const struct card_bip_retry bad[] = {
		{ CARD_BIP_RETRY_MAX + 1, 1000 },
		{ 1, 99 },
		{ 1, CARD_BIP_RETRY_DELAY_MAX + 1 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct card_bip_config cfg = {
			.ports = port_4116,
			.n_ports = 1,
			.sink = &sink_ops,
			.open_retry = bad[i],
		};
		CU_ASSERT_PTR_NULL(card_bip_new(&cfg));
	}
	struct card_bip_config ok = {
		.ports = port_4116,
		.n_ports = 1,
		.sink = &sink_ops,
		.open_retry = { 0, 5 }, /* no retry: the delay does not matter */
	};
	struct card_bip *b = card_bip_new(&ok);
	CU_ASSERT_PTR_NOT_NULL(b);
	card_bip_free(b);
}

/* RECEIVE/SEND DATA failures (TS 102 223 §8.12.11). */
static void test_data_errors(void)
{
	/* SEND DATA: 3A 02 channel closed -> LISTEN, no CLOSE CHANNEL. */
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	term_connect(1);
	term.send_result = CAT_RES_BIP_ERROR;
	term.send_info = CAT_BIP_CHANNEL_CLOSED;
	term_data(1, (const uint8_t *)"abc", 3);
	term_pump();
	CU_ASSERT(pool[0].closed);
	CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_LISTEN);
	CU_ASSERT_EQUAL(term.ch[1].closes, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(log_text, "channel closed"));
	/* And the channel still serves the next client. */
	term_connect(1);
	term_data(1, (const uint8_t *)"xyz", 3);
	term_pump();
	CU_ASSERT(term.ch[1].tx_len == 3 && memcmp(term.ch[1].tx, "xyz", 3) == 0);
	teardown();

	/* RECEIVE DATA: 3A 00 -> drop and CLOSE CHANNEL (01). */
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	term_connect(1);
	term.recv_result = CAT_RES_BIP_ERROR;
	term.recv_info = CAT_BIP_NO_CAUSE;
	term_data(1, (const uint8_t *)"abc", 3);
	term_pump();
	CU_ASSERT(pool[0].closed);
	CU_ASSERT_EQUAL(term.ch[1].closes, 1);
	CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_LISTEN);
	teardown();

	/* 3A 03 channel identifier not valid -> CLOSED; later events ignored. */
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	term_connect(1);
	term.recv_result = CAT_RES_BIP_ERROR;
	term.recv_info = CAT_BIP_CHANNEL_ID_INVALID;
	term_data(1, (const uint8_t *)"abc", 3);
	term_pump();
	CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_CLOSED);
	term_connect(1);
	CU_ASSERT_EQUAL(n_conns, 1);
	CU_ASSERT_EQUAL(last_sw, SW_OK);
	teardown();

	/* Terminal busy (20) on SEND DATA: drop and CLOSE. */
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	term_connect(1);
	term.send_result = CAT_RES_TERMINAL_UNABLE;
	term_data(1, (const uint8_t *)"abc", 3);
	term_pump();
	CU_ASSERT(pool[0].closed);
	CU_ASSERT_EQUAL(term.ch[1].closes, 1);
	teardown();

	/* The sink refuses the connection: CLOSE CHANNEL at once. */
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	refuse_open = true;
	term_connect(1);
	term_pump();
	CU_ASSERT_EQUAL(term.ch[1].closes, 1);
	CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_LISTEN);
	CU_ASSERT_PTR_NOT_NULL(strstr(log_text, "refused"));
	teardown();

	/* The sink fails on feed: drop and CLOSE. */
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	term_connect(1);
	pool[0].feed_rc = -EPROTO;
	sink_mode = SINK_QUIET;
	term_data(1, (const uint8_t *)"abc", 3);
	term_pump();
	CU_ASSERT(pool[0].closed);
	CU_ASSERT_EQUAL(term.ch[1].closes, 1);
	teardown();

	/* The terminal closes the channel (status CLOSED): it stays closed. */
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	term_connect(1);
	CU_ASSERT_EQUAL(send_event(CAT_EVENT_CHANNEL_STATUS, CAT_CHST(CAT_CHST_CLOSED, 1, 0), -1),
			SW_OK);
	CU_ASSERT(pool[0].closed);
	CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_CLOSED);
	term_connect(1);
	CU_ASSERT_EQUAL(n_conns, 1);
	teardown();
}

/* A client leaves while SEND DATA is out: the late response changes nothing. */
static void test_late_response(void)
{
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	term_connect(1);
	term_data(1, (const uint8_t *)"abc", 3);
	struct card_cat_command c;
	fetch(&c);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_RECEIVE_DATA);
	term_answer(&c);
	fetch(&c);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_SEND_DATA);
	term_leave(1, CAT_CHST_INFO_LINK_DROPPED);
	CU_ASSERT(pool[0].closed);
	term_connect(1);
	CU_ASSERT_EQUAL(n_conns, 2);
	struct card_cat_response r = tr_for(&c, CAT_RES_OK);
	CU_ASSERT_EQUAL(send_tr(&r), SW_OK);
	CU_ASSERT_EQUAL(pool[1].out_pos, 0);
	CU_ASSERT_FALSE(pool[1].closed);
	/* RECEIVE DATA out while the client leaves: its bytes are dropped. */
	term_data(1, (const uint8_t *)"new", 3);
	fetch(&c);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_RECEIVE_DATA);
	term_leave(1, 0);
	term.ch[1].rx_len = 3;
	memcpy(term.ch[1].rx, "new", 3);
	term_answer(&c);
	CU_ASSERT_EQUAL(pool[1].in_len, 0);
	CU_ASSERT(pool[1].closed);
	teardown();
}

/* A command announced but not fetched is withdrawn by an ENVELOPE: what
 * was prepared for a client that left never reaches the next one. */
static void test_pending_withdrawn(void)
{
	struct card_cat_command c;
	setup(port_4116, 1, 0);
	send_tp(full_tp, sizeof(full_tp));
	fetch(&c);
	term_init();
	term_answer(&c);
	CU_ASSERT_EQUAL(last_sw, 0x9114); /* OPEN CHANNEL 02 announced */
	/* An event meanwhile: the same OPEN CHANNEL is announced again. */
	CU_ASSERT_EQUAL(xmit_hex("80 C2 00 00 09 D6 07 99 01 05 82 02 82 81"), 0x9114);
	fetch(&c);
	CU_ASSERT_EQUAL(c.details.number, 2);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_OPEN_CHANNEL);
	term_answer(&c);
	CU_ASSERT_EQUAL(last_sw, SW_OK);
	CU_ASSERT_EQUAL(term.opens, 1);

	sink_mode = SINK_ECHO;
	term_connect(1);
	term_data(1, (const uint8_t *)"secret", 6);
	fetch(&c);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_RECEIVE_DATA);
	term_answer(&c);
	CU_ASSERT_EQUAL(last_sw & 0xFF00, 0x9100); /* SEND DATA "secret" announced */
	uint8_t number = (uint8_t)(c.details.number + 1);
	/* The client leaves before the FETCH: nothing is announced any more. */
	term_leave(1, 0);
	CU_ASSERT_EQUAL(last_sw, SW_OK);
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 15"), SW_CONDITIONS_NOT_SATISFIED);
	/* The next client gets its own bytes, under the withdrawn number. */
	term_connect(1);
	CU_ASSERT_EQUAL(last_sw, SW_OK);
	term_data(1, (const uint8_t *)"mine", 4);
	fetch(&c);
	CU_ASSERT_EQUAL(c.details.number, number);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_RECEIVE_DATA);
	term_answer(&c);
	term_pump();
	CU_ASSERT(term.ch[1].tx_len == 4 && memcmp(term.ch[1].tx, "mine", 4) == 0);
	teardown();
}

/* A terminal that says 00 bytes free after a store gets a flush, and
 * never stalls the channel. */
static void test_terminal_buffer_full(void)
{
	uint8_t data[1000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	term.free_zero = true;
	term_connect(1);
	memcpy(pool[0].out, data, sizeof(data));
	pool[0].out_len = sizeof(data);
	xmit_hex("80 F2 00 0C 00");
	term_pump();
	struct tchan *t = &term.ch[1];
	CU_ASSERT_EQUAL(t->tx_len, sizeof(data));
	CU_ASSERT_EQUAL(memcmp(t->tx, data, sizeof(data)), 0);
	/* 240 stored, then an empty flush, and so on. */
	CU_ASSERT_EQUAL(t->chunks[0].len, 240);
	CU_ASSERT_EQUAL(t->chunks[0].qualifier, 0);
	CU_ASSERT_EQUAL(t->chunks[1].len, 0);
	CU_ASSERT_EQUAL(t->chunks[1].qualifier, CAT_QUAL_SEND_IMMEDIATELY);
	CU_ASSERT_EQUAL(t->chunks[2].len, 240);
	CU_ASSERT_EQUAL(t->stored, 0);
	teardown();
}

/* A sink whose output is full is not fed until it drains. */
static void test_backpressure(void)
{
	uint8_t data[600];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	sink_mode = SINK_QUIET;
	term_connect(1);
	pool[0].full = true;
	term_data(1, data, sizeof(data));
	CU_ASSERT_EQUAL(last_sw, SW_OK); /* nothing to ask */
	CU_ASSERT_EQUAL(chan_info(1).rx_left, 0xFF);
	CU_ASSERT_EQUAL(pool[0].in_len, 0);
	/* Output waiting and full: SEND DATA goes, RECEIVE DATA does not. */
	memcpy(pool[0].out, "0123456789", 10);
	pool[0].out_len = 10;
	xmit_hex("80 F2 00 0C 00");
	struct card_cat_command c;
	fetch(&c);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_SEND_DATA);
	term_answer(&c);
	CU_ASSERT_EQUAL(last_sw, SW_OK);
	CU_ASSERT_EQUAL(pool[0].in_len, 0);
	/* Drained: reading resumes. */
	pool[0].full = false;
	xmit_hex("80 F2 00 0C 00");
	term_pump();
	CU_ASSERT_EQUAL(pool[0].in_len, sizeof(data));
	CU_ASSERT_EQUAL(memcmp(pool[0].in, data, sizeof(data)), 0);
	teardown();
}

/* Exact status words for bad APDUs; nothing crashes. */
static void test_apdu_errors(void)
{
	setup(port_4116, 1, 0);
	/* Before TERMINAL PROFILE. */
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 0F"), SW_CONDITIONS_NOT_SATISFIED);
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 0C 81 03 01 05 00 82 02 82 81 83 01 00"),
			SW_CONDITIONS_NOT_SATISFIED);
	CU_ASSERT_EQUAL(xmit_hex("80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 81 00"),
			SW_CONDITIONS_NOT_SATISFIED);
	/* TERMINAL PROFILE: P1/P2, no data. */
	CU_ASSERT_EQUAL(xmit_hex("80 10 01 00 02 01 00"), SW_WRONG_P1P2);
	CU_ASSERT_EQUAL(xmit_hex("80 10 00 00"), SW_WRONG_LENGTH);
	CU_ASSERT_EQUAL(xmit_hex("80 10 00 00 05 01 00"), SW_WRONG_LENGTH); /* Lc vs data */
	CU_ASSERT_EQUAL(send_tp(full_tp, sizeof(full_tp)), 0x910F);
	/* FETCH: wrong Le, no Le, P1, data; the command stays announced. */
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 0E"), SW_WRONG_LE(0x0F));
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 10"), SW_WRONG_LE(0x0F));
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00"), SW_WRONG_LE(0x0F));
	CU_ASSERT_EQUAL(xmit_hex("80 12 01 00 0F"), SW_WRONG_P1P2);
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 01 00"), SW_WRONG_LENGTH);
	CU_ASSERT_EQUAL(xmit_hex("80 F2 00 0C 00"), 0x910F);
	/* Le 00 (256) gets the command. */
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 00"), SW_OK);
	CU_ASSERT_EQUAL(rlen, 0x0F);
	CU_ASSERT_EQUAL(rbuf[4], 0x01);
	/* Fetched: a second FETCH has nothing. */
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 0F"), SW_CONDITIONS_NOT_SATISFIED);
	struct card_cat_details d;
	CU_ASSERT(card_cat_outstanding(card_bip_cat(bip), &d));
	CU_ASSERT_EQUAL(d.number, 1);
	/* TERMINAL RESPONSE: wrong number, wrong type, garbage, empty. */
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 0C 81 03 02 05 00 82 02 82 81 83 01 00"),
			SW_WRONG_DATA);
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 0C 81 03 01 40 00 82 02 82 81 83 01 00"),
			SW_WRONG_DATA);
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 03 01 02 03"), SW_WRONG_DATA);
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 09 81 03 01 05 00 82 02 82 81"), SW_WRONG_DATA);
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00"), SW_WRONG_LENGTH);
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 01 0C 81 03 01 05 00 82 02 82 81 83 01 00"),
			SW_WRONG_P1P2);
	CU_ASSERT(card_cat_outstanding(card_bip_cat(bip), NULL));
	/* The right one, with another qualifier echoed: accepted. */
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 0C 81 03 01 05 01 82 02 82 81 83 01 00"), 0x9114);
	CU_ASSERT_FALSE(card_cat_outstanding(card_bip_cat(bip), NULL));
	/* Answered already: the same response again has nothing to match. */
	CU_ASSERT_EQUAL(xmit_hex("80 14 00 00 0C 81 03 01 05 00 82 02 82 81 83 01 00"), 0x6985);
	/* ENVELOPE: garbage, truncated, other BER-TLV, bad events. */
	static const struct {
		const char *apdu;
		uint16_t sw;
	} envs[] = {
		{ "80 C2 00 00", SW_WRONG_LENGTH },
		{ "80 C2 00 00 01 D6", SW_WRONG_DATA },
		{ "80 C2 00 00 03 FF FF FF", SW_WRONG_DATA },
		{ "80 C2 00 00 0C D6 0B 99 01 0A 82 02 82 81 B8 02 81", SW_WRONG_DATA },
		{ "80 C2 00 00 0E D6 0B 99 01 0A 82 02 82 81 B8 02 81 00 00", SW_WRONG_DATA },
		{ "80 C2 00 00 05 D1 03 02 01 00", SW_FUNC_NOT_SUPPORTED },
		{ "80 C2 00 00 09 D6 07 99 01 0A 82 02 82 81", SW_WRONG_DATA },
		{ "80 C2 00 00 0D D6 0B 99 01 09 82 02 82 81 B8 02 81 00", SW_WRONG_DATA },
		{ "80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 C1 00", SW_WRONG_DATA },
		{ "80 C2 01 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 81 00", SW_WRONG_P1P2 },
		/* Unknown event, unknown channel: accepted and ignored. */
		{ "80 C2 00 00 09 D6 07 99 01 05 82 02 82 81", 0x9114 },
		{ "80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 85 00", 0x9114 },
		{ "80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 80 00", 0x9114 },
	};
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		uint16_t sw = xmit_hex(envs[i].apdu);
		if (sw != envs[i].sw)
			fprintf(stderr, "\n%s -> %04X\n", envs[i].apdu, sw);
		CU_ASSERT_EQUAL(sw, envs[i].sw);
	}
	CU_ASSERT_EQUAL(n_conns, 0);
	/* Still working: OPEN CHANNEL is next. */
	CU_ASSERT_EQUAL(xmit_hex("80 F2 00 0C 00"), 0x9114);
	teardown();
}

/* Command numbers 01..FE, then 01 again; 01 after each TERMINAL PROFILE. */
static void test_command_numbers(void)
{
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	CU_ASSERT_EQUAL(term.numbers[0], 1);
	CU_ASSERT_EQUAL(term.numbers[1], 2);
	for (unsigned i = 0; i < 300; i++) {
		CU_ASSERT_EQUAL_FATAL(card_bip_request_status(bip), 0);
		xmit_hex("80 F2 00 0C 00");
		term_pump();
	}
	CU_ASSERT_EQUAL(term.n_numbers, 302);
	for (size_t i = 0; i < term.n_numbers; i++)
		CU_ASSERT_EQUAL(term.numbers[i], (uint8_t)(i % 254 + 1));
	CU_ASSERT_EQUAL(term.statuses, 300);
	/* A new profile restarts the session and the numbering. */
	term_start(full_tp, sizeof(full_tp));
	CU_ASSERT_EQUAL(term.numbers[0], 1);
	CU_ASSERT_EQUAL(term.types[0], CAT_CMD_SET_UP_EVENT_LIST);
	CU_ASSERT_EQUAL(term.opens, 1);
	teardown();
}

/* GET CHANNEL STATUS reconciles the channels. */
static void test_get_status_reconciles(void)
{
	static const struct card_bip_port two[] = { { 4116, 2 } };
	setup(two, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	term_connect(1);
	CU_ASSERT_EQUAL(n_conns, 1);
	CU_ASSERT_EQUAL(card_bip_request_status(bip), 0);
	xmit_hex("80 F2 00 0C 00");
	struct card_cat_command c;
	fetch(&c);
	CU_ASSERT_EQUAL(c.details.type, CAT_CMD_GET_CHANNEL_STATUS);
	/* The terminal says 1 is back in LISTEN, 2 is ESTABLISHED. */
	struct card_cat_response r = tr_for(&c, CAT_RES_OK);
	r.n_status = 2;
	r.status[0] = 0x4100;
	r.status[1] = 0x8200;
	CU_ASSERT_EQUAL(send_tr(&r), SW_OK);
	CU_ASSERT(pool[0].closed);
	CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_LISTEN);
	CU_ASSERT_EQUAL(chan_info(2).state, CAT_CH_ESTABLISHED);
	CU_ASSERT_EQUAL(n_conns, 2);
	CU_ASSERT_EQUAL(pool[1].channel, 2);
	uint16_t st[8];
	CU_ASSERT_EQUAL(card_bip_last_status(bip, st, 1), 2);
	CU_ASSERT_EQUAL(st[0], 0x4100);
	teardown();
}

/* Card reset drops connections and the proactive session. */
static void test_reset(void)
{
	setup(port_4116, 1, 0);
	term_start(full_tp, sizeof(full_tp));
	term_connect(1);
	term_data(1, (const uint8_t *)"abc", 3);
	CU_ASSERT_EQUAL(last_sw & 0xFF00, 0x9100);
	card_reset(card);
	CU_ASSERT(pool[0].closed);
	CU_ASSERT_FALSE(chan_info(1).in_use);
	CU_ASSERT_PTR_NULL(card_cat_profile(card_bip_cat(bip)));
	CU_ASSERT_EQUAL(xmit_hex("80 F2 00 0C 00"), SW_OK);
	CU_ASSERT_EQUAL(xmit_hex("80 12 00 00 0E"), SW_CONDITIONS_NOT_SATISFIED);
	CU_ASSERT_EQUAL(xmit_hex("80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 81 00"),
			SW_CONDITIONS_NOT_SATISFIED);
	CU_ASSERT_FALSE(card_bip_settled(bip));
	term_start(full_tp, sizeof(full_tp));
	CU_ASSERT_EQUAL(term.numbers[0], 1);
	CU_ASSERT_EQUAL(chan_info(1).state, CAT_CH_LISTEN);
	teardown();
}

static void test_config_and_names(void)
{
	struct card_bip_config cfg = { .sink = &sink_ops };
	static const struct card_bip_port eight[] = { { 4116, 5 }, { 3516, 3 } };
	static const struct card_bip_port zero[] = { { 4116, 0 } };
	static const struct card_bip_port noport[] = { { 0, 1 } };
	CU_ASSERT_PTR_NULL(card_bip_new(NULL));
	CU_ASSERT_PTR_NULL(card_bip_new(&cfg));
	cfg.ports = eight;
	cfg.n_ports = 2;
	CU_ASSERT_PTR_NULL(card_bip_new(&cfg));
	cfg.ports = zero;
	cfg.n_ports = 1;
	CU_ASSERT_PTR_NULL(card_bip_new(&cfg));
	cfg.ports = noport;
	CU_ASSERT_PTR_NULL(card_bip_new(&cfg));
	struct card_bip_sink_ops partial = sink_ops;
	partial.close = NULL;
	cfg.ports = port_4116;
	cfg.sink = &partial;
	CU_ASSERT_PTR_NULL(card_bip_new(&cfg));
	cfg.sink = &sink_ops;
	struct card_bip *b = card_bip_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL(b);
	struct card_bip_channel_info ci;
	CU_ASSERT_EQUAL(card_bip_channel(b, 0, &ci), -EINVAL);
	CU_ASSERT_EQUAL(card_bip_channel(b, 8, &ci), -EINVAL);
	CU_ASSERT_EQUAL(card_bip_channel(b, 7, &ci), 0);
	CU_ASSERT_FALSE(ci.in_use);
	CU_ASSERT_FALSE(card_bip_settled(b));
	card_bip_free(b);
	card_bip_free(NULL);
	card_cat_free(NULL);
	CU_ASSERT_STRING_EQUAL(card_cat_ch_state_name(CAT_CH_CLOSED), "CLOSED");
	CU_ASSERT_STRING_EQUAL(card_cat_ch_state_name(CAT_CH_LISTEN), "LISTEN");
	CU_ASSERT_STRING_EQUAL(card_cat_ch_state_name(CAT_CH_ESTABLISHED), "ESTABLISHED");
	CU_ASSERT_STRING_EQUAL(card_cat_ch_state_name((enum card_cat_ch_state)9), "unknown");
}

static CU_TestInfo tests[] = {
	UNIT_TEST(test_example_exchange),      UNIT_TEST(test_open_retry),
	UNIT_TEST(test_receive_chunk_sizes),   UNIT_TEST(test_modified_buffer_size),
	UNIT_TEST(test_chunks_exact),          UNIT_TEST(test_client_gone_and_second_connection),
	UNIT_TEST(test_done_closes_to_listen), UNIT_TEST(test_seven_channels),
	UNIT_TEST(test_profile_refused),       UNIT_TEST(test_fewer_channels),
	UNIT_TEST(test_open_channel_errors),   UNIT_TEST(test_data_errors),
	UNIT_TEST(test_late_response),         UNIT_TEST(test_pending_withdrawn),
	UNIT_TEST(test_terminal_buffer_full),  UNIT_TEST(test_backpressure),
	UNIT_TEST(test_apdu_errors),           UNIT_TEST(test_command_numbers),
	UNIT_TEST(test_get_status_reconciles), UNIT_TEST(test_reset),
	UNIT_TEST(test_config_and_names),      CU_TEST_INFO_NULL,
};

int unit_register(void)
{
	return unit_add_suite("card_cat", tests);
}
