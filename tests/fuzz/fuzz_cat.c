/* fuzz_cat.c - fuzz target for the CAT/BIP card side (ETSI TS 102 223):
 * the TERMINAL RESPONSE, ENVELOPE and proactive command decoders, and the
 * proactive engine with its BIP server driven by a sequence of APDUs.
 *
 * Input: first byte
 *   0: the rest is a TERMINAL RESPONSE data field (decoded, re-encoded,
 *      decoded again: the same values);
 *   1: an ENVELOPE data field;  2: a FETCH response (proactive command);
 *   otherwise: a fresh card with the BIP server (4116 x 5, 3516 x 2) gets a
 *      full TERMINAL PROFILE (first byte 'P': a card that retries a refused
 *      OPEN CHANNEL twice, after a POLL INTERVAL the profile offers), then
 *      steps { op, len, len bytes }:
 *      'F' FETCH with the announced Le;   'T' TERMINAL RESPONSE to the last
 *      fetched command: its Command details, 82 81, then the bytes;
 *      'E' ENVELOPE D6 with the bytes as contents;   'R' the bytes as a raw
 *      C-APDU;   'S' sink: bytes[0] b1 full, b2 done, b3 fail next feed,
 *      the rest appended to the output of connection bytes[1] % 8;
 *      'X' card reset; other ops: a STATUS command.
 * Checks: every APDU is answered with a plausible status word, every
 * fetched command decodes and stays within the FETCH and SEND DATA
 * limits, each connection is closed exactly once. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "card/bip.h"
#include "core/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fconn {
	bool used, closed, full, done, fail;
	uint8_t out[1024];
	size_t out_len, out_pos;
	size_t in_total;
};

static struct fconn conns[64];
static size_t n_conns;

static void *s_open(void *arg, uint16_t port, unsigned channel)
{
	if (n_conns == sizeof(conns) / sizeof(conns[0]) || channel < 1 || channel > 7)
		return NULL;
	struct fconn *c = &conns[n_conns++];
	memset(c, 0, sizeof(*c));
	c->used = true;
	return c;
}

static int s_feed(void *conn, const uint8_t *p, size_t len)
{
	struct fconn *c = conn;
	if (c->closed)
		abort();
	c->in_total += len;
	/* Echo a little, so that SEND DATA runs. */
	size_t n = len < sizeof(c->out) - c->out_len ? len : sizeof(c->out) - c->out_len;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	if (c->fail) {
		c->fail = false;
		return -EPROTO;
	}
	return 0;
}

static struct bytes s_output(void *conn)
{
	struct fconn *c = conn;
	if (c->closed)
		abort();
	return bytes_make(c->out + c->out_pos, c->out_len - c->out_pos);
}

static void s_consume(void *conn, size_t n)
{
	struct fconn *c = conn;
	if (n > c->out_len - c->out_pos)
		abort();
	c->out_pos += n;
	if (c->out_pos == c->out_len)
		c->out_pos = c->out_len = 0;
}

static bool s_full(void *conn)
{
	return ((struct fconn *)conn)->full;
}

static bool s_done(void *conn)
{
	return ((struct fconn *)conn)->done;
}

static void s_close(void *conn)
{
	struct fconn *c = conn;
	if (c->closed)
		abort();
	c->closed = true;
}

static const struct card_bip_sink_ops sink = {
	.open = s_open,
	.feed = s_feed,
	.output = s_output,
	.consume = s_consume,
	.output_full = s_full,
	.done = s_done,
	.close = s_close,
};

static void quiet(void *arg, enum log_level level, const char *line)
{
}

static void check_decoders(uint8_t kind, const uint8_t *p, size_t len)
{
	uint8_t out[300];
	size_t n = 0;
	if (kind == 0) {
		struct card_cat_response r, r2;
		if (card_cat_msg_response_decode(p, len, &r))
			return;
		if (card_cat_msg_response_encode(&r, out, sizeof(out), &n) == 0) {
			if (card_cat_msg_response_decode(out, n, &r2) || r2.result != r.result ||
			    r2.n_status != r.n_status || r2.data.len != r.data.len ||
			    r2.details.number != r.details.number)
				abort();
		}
	} else if (kind == 1) {
		struct card_cat_event e, e2;
		if (card_cat_msg_event_decode(p, len, &e))
			return;
		if (card_cat_msg_event_encode(&e, out, sizeof(out), &n) ||
		    card_cat_msg_event_decode(out, n, &e2) || e2.event != e.event ||
		    e2.has_status != e.has_status || e2.status != e.status)
			abort();
	} else {
		struct card_cat_command c, c2;
		if (card_cat_msg_command_decode(p, len, &c))
			return;
		if (card_cat_msg_command_encode(&c, out, sizeof(out), &n) == 0 &&
		    (card_cat_msg_command_decode(out, n, &c2) || c2.data.len != c.data.len ||
		     c2.details.type != c.details.type))
			abort();
	}
}

/* ISO 7816-4 (61..6F, 90..93) and, since the card speaks CLA A0 too, the
 * GSM class's 94, 98, 9E and 9F (TS 51.011 §9.4): a raw APDU may be either. */
static bool plausible_sw(uint8_t sw1)
{
	return (sw1 >= 0x61 && sw1 <= 0x6F) || (sw1 >= 0x90 && sw1 <= 0x9F);
}

struct run {
	struct card *card;
	uint8_t out[APDU_RESP_MAX];
	size_t out_len;
	uint16_t sw;
	uint8_t last_cmd[3]; /* Command details of the last fetched command */
	bool have_cmd;
};

static void xmit(struct run *r, const uint8_t *apdu, size_t len)
{
	/* An exactly sized copy: ASan sees any read past the APDU. */
	uint8_t *p = malloc(len ? len : 1);
	if (!p)
		abort();
	if (len)
		memcpy(p, apdu, len);
	if (card_transmit(r->card, p, len, r->out, sizeof(r->out), &r->out_len) != 0)
		abort();
	free(p);
	if (r->out_len < 2 || !plausible_sw(r->out[r->out_len - 2]))
		abort();
	r->sw = (uint16_t)((r->out[r->out_len - 2] << 8) | r->out[r->out_len - 1]);
}

static void check_fetched(struct run *r, uint8_t le_sent)
{
	struct card_cat_command c;
	size_t n = r->out_len - 2;
	if (r->sw != SW_OK)
		return;
	if (n == 0 || n > CAT_PROACTIVE_MAX || card_cat_msg_command_decode(r->out, n, &c))
		abort();
	if (c.details.number == 0 || c.details.number == 0xFF)
		abort();
	if (c.details.type == CAT_CMD_SEND_DATA && c.data.len > CAT_SEND_DATA_MAX)
		abort();
	if (c.details.type == CAT_CMD_RECEIVE_DATA &&
	    (c.data_len == 0 || c.data_len > CAT_RECEIVE_DATA_MAX))
		abort();
	if (le_sent && n != le_sent)
		abort();
	r->last_cmd[0] = c.details.number;
	r->last_cmd[1] = c.details.type;
	r->last_cmd[2] = c.details.qualifier;
	r->have_cmd = true;
}

static void step(struct run *r, struct card_bip *bip, uint8_t op, const uint8_t *p, size_t len)
{
	uint8_t apdu[5 + 255 + 1];
	size_t n = 0;
	switch (op) {
	case 'F': {
		uint8_t le = (r->sw & 0xFF00) == 0x9100 ? (uint8_t)r->sw : 0x10;
		static const uint8_t hdr[] = { 0x80, 0x12, 0x00, 0x00 };
		memcpy(apdu, hdr, 4);
		apdu[4] = le;
		xmit(r, apdu, 5);
		check_fetched(r, le);
		break;
	}
	case 'T': {
		uint8_t d[255];
		size_t dl = 0;
		if (r->have_cmd) {
			d[dl++] = 0x81;
			d[dl++] = 0x03;
			memcpy(d + dl, r->last_cmd, 3);
			dl += 3;
		}
		d[dl++] = 0x82;
		d[dl++] = 0x02;
		d[dl++] = 0x82;
		d[dl++] = 0x81;
		if (len > sizeof(d) - dl)
			len = sizeof(d) - dl;
		memcpy(d + dl, p, len);
		dl += len;
		if (card_cat_msg_capdu(CAT_INS_TERMINAL_RESPONSE, d, dl, apdu, sizeof(apdu), &n))
			abort();
		xmit(r, apdu, n);
		break;
	}
	case 'E': {
		uint8_t d[255];
		size_t dl = 0;
		if (len > 250)
			len = 250;
		d[dl++] = 0xD6;
		if (len >= 0x80)
			d[dl++] = 0x81;
		d[dl++] = (uint8_t)len;
		memcpy(d + dl, p, len);
		dl += len;
		if (card_cat_msg_capdu(CAT_INS_ENVELOPE, d, dl, apdu, sizeof(apdu), &n))
			abort();
		xmit(r, apdu, n);
		break;
	}
	case 'R':
		xmit(r, p, len);
		if (len >= 2 && p[1] == CAT_INS_FETCH)
			check_fetched(r, 0);
		break;
	case 'S':
		if (len >= 2) {
			struct fconn *c = NULL;
			size_t want = p[1] % 8, k = 0;
			for (size_t i = 0; i < n_conns; i++)
				if (!conns[i].closed && k++ == want)
					c = &conns[i];
			if (c) {
				c->full = p[0] & 1;
				c->done = p[0] & 2;
				c->fail = p[0] & 4;
				size_t m = len - 2;
				if (m > sizeof(c->out) - c->out_len)
					m = sizeof(c->out) - c->out_len;
				memcpy(c->out + c->out_len, p + 2, m);
				c->out_len += m;
			}
		}
		break;
	case 'X':
		card_reset(r->card);
		r->sw = SW_OK;
		r->have_cmd = false;
		break;
	default: {
		static const uint8_t status[] = { 0x80, 0xF2, 0x00, 0x0C, 0x00 };
		xmit(r, status, sizeof(status));
		break;
	}
	}
	/* Invariants of every channel. */
	for (unsigned ch = 1; ch <= CAT_BIP_CHANNELS_MAX; ch++) {
		struct card_bip_channel_info ci;
		if (card_bip_channel(bip, ch, &ci))
			abort();
		if (ci.in_use && (ci.buffer_size == 0 || ci.tx_stored >= ci.buffer_size))
			abort();
		if (ci.has_conn && ci.state != CAT_CH_ESTABLISHED)
			abort();
	}
}

static void run_engine(const uint8_t *data, size_t size)
{
	static const uint8_t atr[] = { 0x3B, 0x02, 0x14, 0x50 };
	static const uint8_t tp[] = { 0x80, 0x10, 0x00, 0x00, 0x11, 0x01, 0x00, 0x00,
				      0x00, 0x01, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00,
				      0x1F, 0xE0, 0x00, 0x00, 0x00, 0x04 };
	static const uint8_t tp_poll[] = { 0x80, 0x10, 0x00, 0x00, 0x11, 0x01, 0x00, 0x60,
					   0x00, 0x01, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00,
					   0x1F, 0xE0, 0x00, 0x00, 0x00, 0x04 };
	bool retry = data[0] == 'P';
	static const struct card_bip_port ports[] = { { 4116, 5 }, { 3516, 2 } };
	static struct run r;
	struct card_bip_config cfg = {
		.ports = ports,
		.n_ports = 2,
		.buffer_size = 1400,
		.sink = &sink,
		.log = quiet,
		.open_retry = { retry ? 2 : 0, 100 },
	};
	struct card_fs *fs = card_fs_new();
	struct card *card = fs ? card_new(fs, atr, sizeof(atr)) : NULL;
	struct card_bip *bip = card ? card_bip_new(&cfg) : NULL;
	if (!bip)
		goto out;
	memset(&r, 0, sizeof(r));
	n_conns = 0;
	r.card = card;
	card_bip_attach(bip, card);
	if (retry)
		xmit(&r, tp_poll, sizeof(tp_poll));
	else
		xmit(&r, tp, sizeof(tp));
	size_t pos = 1;
	while (size - pos >= 2) {
		uint8_t op = data[pos];
		size_t len = data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		step(&r, bip, op, data + pos, len);
		pos += len;
	}
out:
	card_free(card);
	card_bip_free(bip);
	card_fs_free(fs);
	for (size_t i = 0; i < n_conns; i++)
		if (!conns[i].closed)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] <= 2) {
		/* An exactly sized copy for the decoders. */
		uint8_t *p = malloc(size - 1 ? size - 1 : 1);
		if (!p)
			return 0;
		memcpy(p, data + 1, size - 1);
		check_decoders(data[0], p, size - 1);
		free(p);
		return 0;
	}
	run_engine(data, size);
	return 0;
}
