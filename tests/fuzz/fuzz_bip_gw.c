/* fuzz_bip_gw.c - fuzz target for the terminal side of BIP (transport/
 * bip_term.c, ETSI TS 102 223 UICC server mode): a card link that answers
 * from the input (OpenSC's fuzzer_reader idea) and network events drawn
 * from the same input, against a fake network.
 *
 * Input, read front to back as the engine asks:
 *   2 bytes of setup: channels (b3-b1; 0 = 7), b4 = listen fails;
 *                     buffer maximum / 8 (0 = default);
 *   then, interleaved in the order they are needed,
 *   - each FETCH answer: length (1 byte), that many bytes, SW1 SW2;
 *   - each other answer: SW1 SW2 (FF FF: the link breaks);
 *   - between pumps, one operation (3 bytes: op, a, b; ch = b % 8):
 *     0 accept on port index a, connection b % 16; 1 a bytes (which
 *     follow) from the client of ch; 2 client of ch gone (a b1: error);
 *     3 the connection takes a * 16 more bytes; 4 wake; 5 listen fails
 *     (a b1) or not; 6 card reset and start again.
 * When the input runs out, the card answers 90 00 (FETCH: 6F 00).
 * Checks: the engine's invariants (buffers within the buffer size, a
 * channel id within 1..channels), and that everything stays bounded. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/log.h"
#include "transport/bip_term.h"
#include "transport/link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CONNS 16
#define OPS_MAX 64

struct in {
	const uint8_t *p;
	size_t len, pos;
};

static bool left(const struct in *in)
{
	return in->pos < in->len;
}

static uint8_t u8(struct in *in)
{
	return left(in) ? in->p[in->pos++] : 0;
}

struct fconn {
	bool used;
	size_t written;
};

struct fuzz {
	struct in in;
	uint16_t ports[CAT_BIP_CHANNELS_MAX];
	size_t n_ports;
	int listen_rc;
	size_t room;
	struct fconn conns[CONNS];
};

static int fz_transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap,
		       size_t *rlen)
{
	struct fuzz *f = ctx;
	size_t n = 0;
	if (len < 5 || cap < 2)
		abort(); /* the engine never sends that */
	if (!left(&f->in)) {
		rapdu[0] = capdu[1] == 0x12 ? 0x6F : 0x90;
		rapdu[1] = 0x00;
		*rlen = 2;
		return 0;
	}
	if (capdu[1] == 0x12) {
		n = u8(&f->in);
		for (size_t i = 0; i < n && i < cap - 2; i++)
			rapdu[i] = u8(&f->in);
		if (n > cap - 2)
			return -EMSGSIZE;
	}
	uint8_t sw1 = u8(&f->in), sw2 = u8(&f->in);
	if (sw1 == 0xFF && sw2 == 0xFF)
		return -EIO;
	rapdu[n] = sw1;
	rapdu[n + 1] = sw2;
	*rlen = n + 2;
	return 0;
}

static int fz_reset(void *ctx, uint8_t *atr, size_t cap, size_t *atr_len)
{
	static const uint8_t a[] = { 0x3B, 0x02, 0x14, 0x50 };
	memcpy(atr, a, sizeof(a));
	*atr_len = sizeof(a);
	return 0;
}

static const struct card_link_ops fz_ops = {
	.name = "fuzz",
	.transmit = fz_transmit,
	.reset = fz_reset,
};

static int fz_listen(void *arg, uint16_t port)
{
	struct fuzz *f = arg;
	if (f->listen_rc)
		return f->listen_rc;
	if (f->n_ports >= CAT_BIP_CHANNELS_MAX)
		abort(); /* one port per channel at most */
	f->ports[f->n_ports++] = port;
	return 0;
}

static void fz_unlisten(void *arg, uint16_t port)
{
	struct fuzz *f = arg;
	for (size_t i = 0; i < f->n_ports; i++) {
		if (f->ports[i] == port) {
			f->ports[i] = f->ports[--f->n_ports];
			return;
		}
	}
	abort(); /* unlisten of a port never listened */
}

static void fz_port_changed(void *arg, uint16_t port)
{
}

static ssize_t fz_write(void *arg, void *conn, const uint8_t *p, size_t len)
{
	struct fuzz *f = arg;
	struct fconn *c = conn;
	if (!c || !c->used)
		abort(); /* a write to a connection the engine gave up */
	size_t k = len < f->room ? len : f->room;
	f->room -= k;
	c->written += k;
	return (ssize_t)k;
}

static void fz_want_read(void *arg, void *conn)
{
}

static void fz_close(void *arg, void *conn)
{
	struct fconn *c = conn;
	if (!c || !c->used)
		abort();
	c->used = false;
}

static const struct bip_term_net_ops fz_net = {
	.listen = fz_listen,
	.unlisten = fz_unlisten,
	.port_changed = fz_port_changed,
	.write = fz_write,
	.want_read = fz_want_read,
	.close = fz_close,
};

static void check(struct bip_term *t, unsigned channels)
{
	for (unsigned ch = 1; ch <= channels; ch++) {
		struct bip_term_channel_info ci;
		if (transport_bip_term_channel(t, ch, &ci) != 0)
			abort();
		if (ci.rx_len > ci.buffer_size || ci.tx_len > ci.buffer_size ||
		    ci.buffer_size > BIP_GW_BUFFER_MAX)
			abort();
		if ((ci.conn != NULL) != (ci.state == CAT_CH_ESTABLISHED))
			abort();
	}
}

static void pump(struct bip_term *t)
{
	unsigned ms = 0;
	for (int i = 0; i < 4; i++)
		if (transport_bip_term_pump(t, &ms) != BIP_TERM_AGAIN)
			break;
}

static void discard(void *arg, enum log_level level, const char *line)
{
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_sink(discard, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz f;
	memset(&f, 0, sizeof(f));
	f.in.p = data;
	f.in.len = size;
	f.room = SIZE_MAX;
	uint8_t c0 = u8(&f.in), c1 = u8(&f.in);
	struct bip_term_config cfg = {
		.channels = c0 & 7,
		.buffer_max = c1 ? (c1 * 8u > BIP_GW_BUFFER_MAX ? BIP_GW_BUFFER_MAX : c1 * 8u) : 0,
	};
	f.listen_rc = (c0 & 8) ? -EADDRINUSE : 0;
	struct card_link link = { .ops = &fz_ops, .ctx = &f };
	struct bip_term *t = transport_bip_term_new(&link, &fz_net, &f, &cfg);
	if (!t)
		return 0;
	unsigned channels = transport_bip_term_channels(t);
	enum bip_term_next next;
	unsigned ms;
	char err[128];
	if (transport_bip_term_start(t, &next, &ms, err, sizeof(err)) == 0) {
		if (next == BIP_TERM_AGAIN)
			pump(t);
		check(t, channels);
		uint8_t buf[256];
		for (int op = 0; op < OPS_MAX && left(&f.in); op++) {
			uint8_t o = u8(&f.in), a = u8(&f.in), b = u8(&f.in);
			unsigned ch = b % 8;
			switch (o % 7) {
			case 0: {
				uint16_t port = f.n_ports ? f.ports[a % f.n_ports] : 4116;
				struct fconn *c = &f.conns[b % CONNS];
				if (c->used)
					break;
				int rc = transport_bip_term_accept(t, port, c);
				if (rc > 0)
					c->used = true;
				else if (rc != -EBUSY && rc != -ENOENT)
					abort();
				break;
			}
			case 1: {
				size_t n = a, room = transport_bip_term_rx_room(t, ch);
				if (n > room)
					n = room;
				for (size_t i = 0; i < n; i++)
					buf[i] = u8(&f.in);
				int rc = transport_bip_term_rx(t, ch, buf, n);
				if (rc && rc != -EBADFD)
					abort();
				break;
			}
			case 2: {
				struct bip_term_channel_info ci;
				if (transport_bip_term_channel(t, ch, &ci) == 0 && ci.conn)
					((struct fconn *)ci.conn)->used = false;
				transport_bip_term_peer_closed(t, ch, a & 1);
				break;
			}
			case 3:
				f.room += (size_t)a * 16;
				transport_bip_term_tx_drained(t, ch);
				break;
			case 4:
				transport_bip_term_wake(t);
				break;
			case 5:
				f.listen_rc = (a & 1) ? -EADDRINUSE : 0;
				break;
			case 6:
				transport_bip_term_reset(t);
				if (f.n_ports)
					abort(); /* every port released */
				for (size_t i = 0; i < CONNS; i++)
					if (f.conns[i].used)
						abort(); /* every connection closed */
				if (transport_bip_term_start(t, &next, &ms, err, sizeof(err)))
					break;
				if (next == BIP_TERM_AGAIN)
					pump(t);
				break;
			}
			pump(t);
			check(t, channels);
		}
	}
	transport_bip_term_free(t);
	return 0;
}
