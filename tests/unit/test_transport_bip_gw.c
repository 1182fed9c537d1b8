/* test_transport_bip_gw.c - unit tests for the terminal-side BIP gateway
 * (ETSI TS 102 223 UICC server mode): transport/bip_term.c against a
 * scripted card (the exact frames of doc/protocol.md §1.13) and a reactive
 * card (result codes of §6.4.27-31 and §6.10, events, hostile cards),
 * transport/bip_gw.c over loopback sockets, transport/link_emu.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "card/bip.h"
#include "card/card.h"
#include "card/cat_msg.h"
#include "core/hex.h"
#include "core/limits.h"
#include "core/log.h"
#include "helpers.h"
#include "runner.h"
#include "transport/bip_gw.h"
#include "transport/bip_term.h"
#include "transport/link.h"

#define FRAME_MAX 600

/* ---- helpers ---------------------------------------------------------- */

static size_t hx(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int rc = hex_decode(s, out, cap, &n);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return n;
}

/* Hex text of p[0..n) in one of a few rotating static buffers. */
static const char *tohex(const uint8_t *p, size_t n)
{
	static char bufs[6][3 * FRAME_MAX + 1];
	static unsigned k;
	char *b = bufs[k++ % 6];
	if (n == 0) {
		b[0] = 0;
		return b;
	}
	return hex_encode(p, n, ' ', b, sizeof(bufs[0]));
}

/* Hex text normalised (upper case, single spaces) for comparisons. */
static const char *norm(const char *s)
{
	uint8_t tmp[FRAME_MAX];
	size_t n = hx(s, tmp, sizeof(tmp));
	return tohex(tmp, n);
}

static unsigned n_warnings;

static void quiet_sink(void *arg, enum log_level level, const char *line)
{
	if (level <= LOG_WARN)
		n_warnings++;
	if (getenv("BIP_TEST_LOG"))
		fprintf(stderr, "%s\n", line);
}

static void quiet(void)
{
	log_setup(LOG_DEBUG, false);
	log_set_sink(quiet_sink, NULL);
	n_warnings = 0;
}

/* ---- a scripted card: exact C-APDUs in, fixed R-APDUs out ------------- */

struct step {
	uint8_t c[FRAME_MAX];
	size_t clen;
	uint8_t r[FRAME_MAX];
	size_t rlen;
	int rc;
};

struct script {
	struct step steps[32];
	size_t n, pos;
};

static void script_add(struct script *s, const char *c, const char *r)
{
	CU_ASSERT_FATAL(s->n < sizeof(s->steps) / sizeof(s->steps[0]));
	struct step *st = &s->steps[s->n++];
	memset(st, 0, sizeof(*st));
	st->clen = hx(c, st->c, sizeof(st->c));
	if (r)
		st->rlen = hx(r, st->r, sizeof(st->r));
	else
		st->rc = -EIO;
}

static int script_transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap,
			   size_t *rlen)
{
	struct script *s = ctx;
	if (s->pos >= s->n) {
		fprintf(stderr, "unexpected APDU %s\n", tohex(capdu, len));
		CU_FAIL("APDU after the end of the script");
		return -EIO;
	}
	struct step *st = &s->steps[s->pos++];
	const char *want = tohex(st->c, st->clen), *got = tohex(capdu, len);
	if (strcmp(want, got) != 0)
		fprintf(stderr, "step %zu:\n want %s\n  got %s\n", s->pos - 1, want, got);
	CU_ASSERT_STRING_EQUAL(got, want);
	if (st->rc)
		return st->rc;
	if (st->rlen > cap)
		return -EMSGSIZE;
	memcpy(rapdu, st->r, st->rlen);
	*rlen = st->rlen;
	return 0;
}

static const uint8_t test_atr[] = { 0x3B, 0x02, 0x14, 0x50 };

static int fixed_reset(void *ctx, uint8_t *atr, size_t cap, size_t *atr_len)
{
	memcpy(atr, test_atr, sizeof(test_atr));
	*atr_len = sizeof(test_atr);
	return 0;
}

static const struct card_link_ops script_ops = {
	.name = "script",
	.transmit = script_transmit,
	.reset = fixed_reset,
};

/* ---- a fake network for the engine ------------------------------------ */

struct fconn {
	uint8_t out[4096];
	size_t out_len;
	bool closed;
};

struct fnet {
	uint16_t listened[8];
	size_t n_listen;
	uint16_t unlistened[8];
	size_t n_unlisten;
	int listen_rc;
	unsigned port_changed, want_read;
	size_t room;  /* bytes write() takes until refilled */
	int write_rc; /* non-zero: write() fails */
	struct fconn conns[8];
};

static int fn_listen(void *arg, uint16_t port)
{
	struct fnet *n = arg;
	if (n->listen_rc)
		return n->listen_rc;
	if (n->n_listen < 8)
		n->listened[n->n_listen++] = port;
	return 0;
}

static void fn_unlisten(void *arg, uint16_t port)
{
	struct fnet *n = arg;
	if (n->n_unlisten < 8)
		n->unlistened[n->n_unlisten++] = port;
}

static void fn_port_changed(void *arg, uint16_t port)
{
	((struct fnet *)arg)->port_changed++;
}

static ssize_t fn_write(void *arg, void *conn, const uint8_t *p, size_t len)
{
	struct fnet *n = arg;
	struct fconn *c = conn;
	if (n->write_rc)
		return n->write_rc;
	size_t k = len < n->room ? len : n->room;
	if (k > sizeof(c->out) - c->out_len)
		k = sizeof(c->out) - c->out_len;
	memcpy(c->out + c->out_len, p, k);
	c->out_len += k;
	n->room -= k;
	return (ssize_t)k;
}

static void fn_want_read(void *arg, void *conn)
{
	((struct fnet *)arg)->want_read++;
}

static void fn_close(void *arg, void *conn)
{
	((struct fconn *)conn)->closed = true;
}

static const struct bip_term_net_ops fnet_ops = {
	.listen = fn_listen,
	.unlisten = fn_unlisten,
	.port_changed = fn_port_changed,
	.write = fn_write,
	.want_read = fn_want_read,
	.close = fn_close,
};

static void fnet_init(struct fnet *n)
{
	memset(n, 0, sizeof(*n));
	n->room = SIZE_MAX;
}

/* ---- a reactive card: queues proactive commands, logs what it gets ---- */

struct mc_frame {
	uint8_t ins;
	uint8_t d[FRAME_MAX];
	size_t len;
};

struct mcard {
	uint8_t q[48][CAT_PROACTIVE_MAX];
	size_t qlen[48];
	size_t qhead, n_q;
	struct mc_frame log[96];
	size_t n_log;
	unsigned busy; /* answer that many ENVELOPEs 93 00 */
	bool endless;  /* never pop: the same command forever */
	unsigned n_apdus;
	size_t counts[256]; /* frames per INS, also past the log */
	uint8_t next_number;
	/* Called after a TERMINAL RESPONSE or ENVELOPE was logged. */
	void (*react)(struct mcard *m, const struct mc_frame *f);
	void *arg;
};

static void mc_push_raw(struct mcard *m, const uint8_t *p, size_t len)
{
	CU_ASSERT_FATAL(m->n_q < 48 && len <= CAT_PROACTIVE_MAX);
	size_t k = (m->qhead + m->n_q) % 48;
	memcpy(m->q[k], p, len);
	m->qlen[k] = len;
	m->n_q++;
}

static void mc_push_hex(struct mcard *m, const char *hex)
{
	uint8_t tmp[CAT_PROACTIVE_MAX];
	size_t n = hx(hex, tmp, sizeof(tmp));
	mc_push_raw(m, tmp, n);
}

/* A proactive command from its body (C-TLVs after the details). */
static void mc_push_cmd(struct mcard *m, uint8_t type, uint8_t qual, uint8_t dst,
			const uint8_t *body, size_t blen)
{
	uint8_t v[CAT_PROACTIVE_MAX], out[CAT_PROACTIVE_MAX];
	size_t n = 0;
	uint8_t number = ++m->next_number;
	const uint8_t head[] = { 0x81, 0x03, number, type, qual, 0x82, 0x02, 0x81, dst };
	memcpy(v, head, sizeof(head));
	n = sizeof(head);
	CU_ASSERT_FATAL(blen <= sizeof(v) - n);
	if (blen)
		memcpy(v + n, body, blen);
	n += blen;
	size_t o = 0;
	out[o++] = 0xD0;
	if (n >= 0x80)
		out[o++] = 0x81;
	out[o++] = (uint8_t)n;
	CU_ASSERT_FATAL(o + n <= sizeof(out));
	memcpy(out + o, v, n);
	mc_push_raw(m, out, o + n);
}

static void mc_events(struct mcard *m, const char *list_hex)
{
	uint8_t b[16];
	size_t n = hx(list_hex, b + 2, sizeof(b) - 2);
	b[0] = 0x99;
	b[1] = (uint8_t)n;
	mc_push_cmd(m, 0x05, 0x00, 0x82, b, n + 2);
}

static void mc_open(struct mcard *m, uint16_t port, uint16_t bufsize)
{
	const uint8_t b[] = { 0xB9, 0x02, (uint8_t)(bufsize >> 8), (uint8_t)bufsize, 0xBC,
			      0x03, 0x03, (uint8_t)(port >> 8),    (uint8_t)port };
	mc_push_cmd(m, 0x40, 0x00, 0x82, b, sizeof(b));
}

static void mc_receive(struct mcard *m, unsigned ch, uint8_t n)
{
	const uint8_t b[] = { 0xB7, 0x01, n };
	mc_push_cmd(m, 0x42, 0x00, (uint8_t)(0x20 | ch), b, sizeof(b));
}

static void mc_send(struct mcard *m, unsigned ch, uint8_t q, const uint8_t *d, size_t n)
{
	uint8_t b[CAT_PROACTIVE_MAX];
	size_t k = 0;
	b[k++] = 0xB6;
	if (n >= 0x80)
		b[k++] = 0x81;
	b[k++] = (uint8_t)n;
	memcpy(b + k, d, n);
	mc_push_cmd(m, 0x43, q, (uint8_t)(0x20 | ch), b, k + n);
}

static void mc_close(struct mcard *m, unsigned ch, uint8_t q)
{
	mc_push_cmd(m, 0x41, q, (uint8_t)(0x20 | ch), NULL, 0);
}

static void mc_status(struct mcard *m)
{
	mc_push_cmd(m, 0x44, 0x00, 0x82, NULL, 0);
}

static uint16_t mc_sw_next(const struct mcard *m)
{
	if (m->n_q == 0)
		return 0x9000;
	return (uint16_t)(0x9100 | (m->qlen[m->qhead] & 0xFF));
}

static int mc_transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap,
		       size_t *rlen)
{
	struct mcard *m = ctx;
	uint16_t sw = 0x6D00;
	size_t n = 0;
	m->n_apdus++;
	CU_ASSERT_FATAL(len >= 5 && capdu[0] == 0x80);
	uint8_t ins = capdu[1];
	if (ins == 0x12) {
		if (m->n_q == 0) {
			sw = 0x6F00;
		} else {
			size_t le = capdu[4] ? capdu[4] : 256;
			n = m->qlen[m->qhead] < le ? m->qlen[m->qhead] : le;
			memcpy(rapdu, m->q[m->qhead], n);
			sw = 0x9000;
		}
	} else if (ins == 0x10 || ins == 0x14 || ins == 0xC2) {
		CU_ASSERT_EQUAL(len, 5u + capdu[4]);
		if (ins == 0xC2 && m->busy) {
			m->busy--;
			rapdu[0] = 0x93;
			rapdu[1] = 0x00;
			*rlen = 2;
			return 0;
		}
		/* A card that talks forever is only counted once the log is full. */
		struct mc_frame spare, *f = &spare;
		m->counts[ins]++;
		if (m->n_log < sizeof(m->log) / sizeof(m->log[0]))
			f = &m->log[m->n_log++];
		f->ins = ins;
		f->len = len - 5;
		memcpy(f->d, capdu + 5, f->len);
		if (ins == 0x14 && m->n_q && !m->endless) {
			m->qhead = (m->qhead + 1) % 48;
			m->n_q--;
		}
		if (m->react && ins != 0x10)
			m->react(m, f);
		sw = mc_sw_next(m);
	}
	CU_ASSERT_FATAL(cap >= n + 2);
	rapdu[n] = (uint8_t)(sw >> 8);
	rapdu[n + 1] = (uint8_t)sw;
	*rlen = n + 2;
	return 0;
}

static const struct card_link_ops mc_ops = {
	.name = "mcard",
	.transmit = mc_transmit,
	.reset = fixed_reset,
};

/* The last frame the card got with that INS, or NULL. */
static const struct mc_frame *mc_last(const struct mcard *m, uint8_t ins)
{
	for (size_t i = m->n_log; i > 0; i--)
		if (m->log[i - 1].ins == ins)
			return &m->log[i - 1];
	return NULL;
}

/* The k-th last frame with that INS (0: the last), or NULL. */
static const struct mc_frame *mc_nth_last(const struct mcard *m, uint8_t ins, size_t k)
{
	for (size_t i = m->n_log; i > 0; i--)
		if (m->log[i - 1].ins == ins && k-- == 0)
			return &m->log[i - 1];
	return NULL;
}

static size_t mc_count(const struct mcard *m, uint8_t ins)
{
	return m->counts[ins];
}

static const char *frame_hex(const struct mc_frame *f)
{
	return f ? tohex(f->d, f->len) : "(none)";
}

/* An engine over a reactive card and the fake network, started. */
struct rig {
	struct mcard m;
	struct fnet net;
	struct card_link link;
	struct bip_term *t;
	enum bip_term_next next;
	unsigned wait_ms;
	int start_rc;
};

static void rig_new(struct rig *r, unsigned channels, size_t buffer_max)
{
	memset(r, 0, sizeof(*r));
	fnet_init(&r->net);
	r->link.ops = &mc_ops;
	r->link.ctx = &r->m;
	struct bip_term_config cfg = { .channels = channels, .buffer_max = buffer_max };
	r->t = transport_bip_term_new(&r->link, &fnet_ops, &r->net, &cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->t);
}

static void rig_start(struct rig *r)
{
	char err[256] = "";
	r->start_rc = transport_bip_term_start(r->t, &r->next, &r->wait_ms, err, sizeof(err));
	CU_ASSERT_EQUAL(r->start_rc, 0);
}

static enum bip_term_next rig_pump(struct rig *r)
{
	r->next = transport_bip_term_pump(r->t, &r->wait_ms);
	return r->next;
}

static void rig_free(struct rig *r)
{
	transport_bip_term_free(r->t);
	r->t = NULL;
}

/* The last TERMINAL RESPONSE must be exactly `hex`. */
#define ASSERT_LAST_TR(r, hex) CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&(r)->m, 0x14)), norm(hex))
#define ASSERT_LAST_ENV(r, hex) CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&(r)->m, 0xC2)), norm(hex))

/* Card with events 09 0A and one channel open on `port`: ch 1 LISTEN. */
static void rig_with_channel(struct rig *r, unsigned channels, uint16_t port, uint16_t bufsize)
{
	rig_new(r, channels, 0);
	mc_events(&r->m, "09 0A");
	mc_open(&r->m, port, bufsize);
	rig_start(r);
	CU_ASSERT_EQUAL(r->next, BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(mc_count(&r->m, 0x14), 2);
}

/* ---- doc/protocol.md §1.13, byte for byte --------------------------------- */

static void pattern(uint8_t *p, size_t n, const uint8_t *head, size_t hn)
{
	for (size_t i = 0; i < n; i++)
		p[i] = i < hn ? head[i] : (uint8_t)(i * 7 + 3);
}

static void test_example_113(void)
{
	struct script s;
	struct fnet net;
	struct fconn conn;
	char c[2 * FRAME_MAX], r[2 * FRAME_MAX];
	uint8_t rxd[200], txd[144];
	static const uint8_t rx_head[] = { 0x16, 0x03, 0x01, 0x00, 0xC3 };
	static const uint8_t tx_head[] = { 0x16, 0x03, 0x03, 0x00, 0x8B };
	quiet();
	memset(&s, 0, sizeof(s));
	memset(&conn, 0, sizeof(conn));
	fnet_init(&net);
	pattern(rxd, sizeof(rxd), rx_head, sizeof(rx_head));
	pattern(txd, sizeof(txd), tx_head, sizeof(tx_head));

	/* The example's card has one channel: TERMINAL PROFILE byte 13 = 20;
	 * byte 3 60 (POLL INTERVAL, POLLING OFF) is ours, not the example's. */
	script_add(&s, "80 10 00 00 11 01 00 60 00 01 0C 00 00 00 00 00 1F 20 00 00 00 04",
		   "91 0F");
	script_add(&s, "80 12 00 00 0F", "D0 0D 81 03 01 05 00 82 02 81 82 99 02 09 0A 90 00");
	script_add(&s, "80 14 00 00 0C 81 03 01 05 00 82 02 82 81 83 01 00", "91 14");
	script_add(&s, "80 12 00 00 14",
		   "D0 12 81 03 02 40 00 82 02 81 82 B9 02 05 78 BC 03 03 10 14 90 00");
	script_add(&s, "80 14 00 00 14 81 03 02 40 00 82 02 82 81 83 01 00 B8 02 41 00 B9 02 05 78",
		   "90 00");
	script_add(&s, "80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 81 00", "90 00");
	script_add(&s, "80 C2 00 00 10 D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 C8", "91 0E");
	script_add(&s, "80 12 00 00 0E", "D0 0C 81 03 03 42 00 82 02 81 21 B7 01 C8 90 00");
	snprintf(c, sizeof(c),
		 "80 14 00 00 DA 81 03 03 42 00 82 02 82 81 83 01 00 B6 81 C8 %s B7 01 00",
		 tohex(rxd, sizeof(rxd)));
	/* The example's card answers 90 00 here and its next FETCH has no
	 * announcement; ours announces the SEND DATA with 91 9F. */
	script_add(&s, c, "91 9F");
	snprintf(r, sizeof(r), "D0 81 9C 81 03 04 43 01 82 02 81 21 B6 81 90 %s 90 00",
		 tohex(txd, sizeof(txd)));
	script_add(&s, "80 12 00 00 9F", r);
	script_add(&s, "80 14 00 00 0F 81 03 04 43 01 82 02 82 81 83 01 00 B7 01 FF", "90 00");
	script_add(&s, "80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 41 05", "91 0B");
	/* GET CHANNEL STATUS (number 06) before CLOSE CHANNEL (05), so that the
	 * channel is still in LISTEN as the example's answer says. */
	script_add(&s, "80 12 00 00 0B", "D0 09 81 03 06 44 00 82 02 81 82 90 00");
	script_add(&s, "80 14 00 00 10 81 03 06 44 00 82 02 82 81 83 01 00 B8 02 41 00", "91 0B");
	script_add(&s, "80 12 00 00 0B", "D0 09 81 03 05 41 00 82 02 81 21 90 00");
	script_add(&s, "80 14 00 00 0C 81 03 05 41 00 82 02 82 81 83 01 00", "90 00");
	script_add(&s, "80 C2 00 00 0D D6 0B 99 01 0A 82 02 82 81 B8 02 01 00", "90 00");

	struct card_link link = { .ops = &script_ops, .ctx = &s };
	struct bip_term_config cfg = { .channels = 1 };
	struct bip_term *t = transport_bip_term_new(&link, &fnet_ops, &net, &cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	enum bip_term_next next;
	unsigned wait_ms = 0;
	char err[256];
	CU_ASSERT_EQUAL(transport_bip_term_start(t, &next, &wait_ms, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(next, BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(s.pos, 5);
	CU_ASSERT_EQUAL(net.n_listen, 1);
	CU_ASSERT_EQUAL(net.listened[0], 4116);

	CU_ASSERT_EQUAL(transport_bip_term_accept(t, 4116, &conn), 1);
	CU_ASSERT_EQUAL(transport_bip_term_rx_room(t, 1), 1400);
	CU_ASSERT_EQUAL(transport_bip_term_rx(t, 1, rxd, sizeof(rxd)), 0);
	CU_ASSERT_EQUAL(transport_bip_term_pump(t, &wait_ms), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(s.pos, 11);
	CU_ASSERT_EQUAL(conn.out_len, sizeof(txd));
	CU_ASSERT(memcmp(conn.out, txd, sizeof(txd)) == 0);
	CU_ASSERT(net.want_read >= 1);

	transport_bip_term_peer_closed(t, 1, true);
	CU_ASSERT_EQUAL(transport_bip_term_pump(t, &wait_ms), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(s.pos, s.n);
	CU_ASSERT_EQUAL(net.n_unlisten, 1);
	CU_ASSERT_EQUAL(net.unlistened[0], 4116);
	struct bip_term_channel_info info;
	CU_ASSERT_EQUAL(transport_bip_term_channel(t, 1, &info), 0);
	CU_ASSERT_EQUAL(info.state, CAT_CH_CLOSED);
	CU_ASSERT_FALSE(conn.closed); /* the owner closed it: peer_closed */
	transport_bip_term_free(t);
}

/* ---- start-up --------------------------------------------------------- */

static void test_profile_seven_channels(void)
{
	struct rig r;
	quiet();
	rig_new(&r, 0, 0);
	rig_start(&r);
	CU_ASSERT_EQUAL(r.m.n_log, 1);
	/* byte 3 60: POLL INTERVAL and POLLING OFF (a card retrying a refused
	 * OPEN CHANNEL asks to be polled). */
	CU_ASSERT_EQUAL(r.m.log[0].ins, 0x10);
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[0]),
			       norm("01 00 60 00 01 0C 00 00 00 00 00 1F E0 00 00 00 04"));
	CU_ASSERT_EQUAL(transport_bip_term_channels(r.t), 7);
	rig_free(&r);
}

static void test_start_failures(void)
{
	struct script s;
	struct fnet net;
	char err[256];
	enum bip_term_next next;
	unsigned ms;
	quiet();
	fnet_init(&net);
	struct card_link link = { .ops = &script_ops, .ctx = &s };

	/* No toolkit on the card. */
	memset(&s, 0, sizeof(s));
	script_add(&s, "80 10 00 00 11 01 00 60 00 01 0C 00 00 00 00 00 1F E0 00 00 00 04",
		   "6D 00");
	struct bip_term *t = transport_bip_term_new(&link, &fnet_ops, &net, NULL);
	CU_ASSERT_EQUAL(transport_bip_term_start(t, &next, &ms, err, sizeof(err)), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "6D 00"));
	transport_bip_term_free(t);

	/* The link breaks: start fails, nothing more is sent. */
	memset(&s, 0, sizeof(s));
	script_add(&s, "80 10 00 00 11 01 00 60 00 01 0C 00 00 00 00 00 1F E0 00 00 00 04", NULL);
	t = transport_bip_term_new(&link, &fnet_ops, &net, NULL);
	CU_ASSERT_EQUAL(transport_bip_term_start(t, &next, &ms, err, sizeof(err)), -EIO);
	CU_ASSERT(transport_bip_term_link_down(t));
	CU_ASSERT_EQUAL(transport_bip_term_pump(t, &ms), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(s.pos, 1);
	transport_bip_term_free(t);

	/* The link breaks in the middle of the session. */
	memset(&s, 0, sizeof(s));
	script_add(&s, "80 10 00 00 11 01 00 60 00 01 0C 00 00 00 00 00 1F E0 00 00 00 04",
		   "91 0B");
	script_add(&s, "80 12 00 00 0B", NULL);
	t = transport_bip_term_new(&link, &fnet_ops, &net, NULL);
	CU_ASSERT_EQUAL(transport_bip_term_start(t, &next, &ms, err, sizeof(err)), -EIO);
	transport_bip_term_free(t);

	/* Bad configurations. */
	struct bip_term_config bad = { .channels = 8 };
	CU_ASSERT_PTR_NULL(transport_bip_term_new(&link, &fnet_ops, &net, &bad));
	struct bip_term_config big = { .buffer_max = BIP_GW_BUFFER_MAX + 1 };
	CU_ASSERT_PTR_NULL(transport_bip_term_new(&link, &fnet_ops, &net, &big));
	CU_ASSERT_PTR_NULL(transport_bip_term_new(NULL, &fnet_ops, &net, NULL));
	transport_bip_term_free(NULL);
}

/* ---- OPEN CHANNEL ----------------------------------------------------- */

static void test_open_buffer_sizes(void)
{
	struct rig r;
	quiet();
	rig_new(&r, 0, 0);
	mc_open(&r.m, 4116, 0xFFFF);
	mc_open(&r.m, 3516, 1500);
	mc_open(&r.m, 3516, 1);
	mc_open(&r.m, 3516, 0);
	rig_start(&r);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0x14), 4);
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[1]),
			       norm("81 03 01 40 00 82 02 82 81 83 01 07 B8 02 41 00 B9 02 05 DC"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[2]),
			       norm("81 03 02 40 00 82 02 82 81 83 01 00 B8 02 42 00 B9 02 05 DC"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[3]),
			       norm("81 03 03 40 00 82 02 82 81 83 01 00 B8 02 43 00 B9 02 00 01"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[4]),
			       norm("81 03 04 40 00 82 02 82 81 83 02 3A 04 B9 02 00 00"));
	/* Two ports, one listen each: 3516 is shared by channels 2 and 3. */
	CU_ASSERT_EQUAL(r.net.n_listen, 2);
	rig_free(&r);

	/* A smaller gateway maximum. */
	rig_new(&r, 0, 1000);
	mc_open(&r.m, 4116, 1400);
	rig_start(&r);
	ASSERT_LAST_TR(&r, "81 03 01 40 00 82 02 82 81 83 01 07 B8 02 41 00 B9 02 03 E8");
	struct bip_term_channel_info info;
	CU_ASSERT_EQUAL(transport_bip_term_channel(r.t, 1, &info), 0);
	CU_ASSERT_EQUAL(info.buffer_size, 1000);
	CU_ASSERT_EQUAL(info.state, CAT_CH_LISTEN);
	CU_ASSERT_EQUAL(info.card_port, 4116);
	rig_free(&r);
}

static void test_open_no_channel_and_port_busy(void)
{
	struct rig r;
	quiet();
	rig_new(&r, 2, 0);
	mc_open(&r.m, 4116, 1400);
	mc_open(&r.m, 4116, 1400);
	mc_open(&r.m, 4116, 1400);
	rig_start(&r);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0x14), 3);
	ASSERT_LAST_TR(&r, "81 03 03 40 00 82 02 82 81 83 02 3A 01 B9 02 05 78");
	CU_ASSERT_EQUAL(r.net.n_listen, 1);
	rig_free(&r);

	rig_new(&r, 0, 0);
	r.net.listen_rc = -EADDRINUSE;
	mc_open(&r.m, 4116, 1400);
	rig_start(&r);
	ASSERT_LAST_TR(&r, "81 03 01 40 00 82 02 82 81 83 02 3A 10 B9 02 05 78");
	struct bip_term_channel_info info;
	CU_ASSERT_EQUAL(transport_bip_term_channel(r.t, 1, &info), 0);
	CU_ASSERT_EQUAL(info.state, CAT_CH_CLOSED);
	rig_free(&r);
}

/* bip-open-fail: the hook's result answers OPEN CHANNEL, nothing opens;
 * OPEN CHANNELs it lets by open as usual. */
static unsigned open_fault_calls;
static bool open_fault(void *arg, uint16_t port, uint8_t *result, size_t *len)
{
	const char *hex = arg;
	open_fault_calls++;
	if (port != 4116)
		return false;
	CU_ASSERT_EQUAL(hex_decode(hex, result, 4, len), 0);
	return true;
}

static void test_open_fault(void)
{
	static const struct {
		const char *result;
		const char *tr;
	} cases[] = {
		{ "20", "81 03 01 40 00 82 02 82 81 83 01 20" },
		{ "3A10", "81 03 01 40 00 82 02 82 81 83 02 3A 10" },
		{ "3A1011", "81 03 01 40 00 82 02 82 81 83 03 3A 10 11" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rig r;
		quiet();
		rig_new(&r, 0, 0);
		open_fault_calls = 0;
		transport_bip_term_set_open_fault(r.t, open_fault, (void *)cases[i].result);
		mc_open(&r.m, 4116, 1400);
		mc_open(&r.m, 3516, 1400);
		rig_start(&r);
		CU_ASSERT_EQUAL(open_fault_calls, 2);
		CU_ASSERT_STRING_EQUAL(frame_hex(mc_nth_last(&r.m, 0x14, 1)), norm(cases[i].tr));
		/* 3516 opened on channel 1: the failed one took no channel. */
		ASSERT_LAST_TR(&r, "81 03 02 40 00 82 02 82 81 83 01 00 B8 02 41 00 B9 02 05 78");
		CU_ASSERT_EQUAL(r.net.n_listen, 1);
		rig_free(&r);
	}
}

/* Lowest free id: after channel 1 closes, the next OPEN gets 1 again. */
static void test_open_lowest_free_id(void)
{
	struct rig r;
	struct fconn conn = { 0 };
	quiet();
	rig_with_channel(&r, 0, 4116, 1400);
	mc_open(&r.m, 4116, 1400);
	mc_close(&r.m, 1, 0x00);
	mc_open(&r.m, 3516, 1400);
	/* An event makes the card announce its queue. */
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &conn), 1);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	const struct mc_frame *f = mc_last(&r.m, 0x14);
	CU_ASSERT_STRING_EQUAL(frame_hex(f),
			       norm("81 03 05 40 00 82 02 82 81 83 01 00 B8 02 41 00 B9 02 05 78"));
	CU_ASSERT(conn.closed);
	/* The CLOSED event of channel 1 is not sent: the id was opened again
	 * before the card went idle. */
	for (size_t i = 0; i < r.m.n_log; i++)
		CU_ASSERT(
			!(r.m.log[i].ins == 0xC2 && strstr(frame_hex(&r.m.log[i]), "B8 02 01 00")));
	/* 4116 keeps channel 2; 3516 is new. */
	CU_ASSERT_EQUAL(r.net.n_unlisten, 0);
	CU_ASSERT_EQUAL(r.net.n_listen, 2);
	rig_free(&r);
}

/* ---- RECEIVE DATA / SEND DATA ----------------------------------------- */

/* The card asks for data when told it is there: FF, ED, 7E, 10. */
static void reads_on_data_available(struct mcard *m, const struct mc_frame *f)
{
	if (f->ins != 0xC2 || f->d[4] != 0x09 || m->arg)
		return;
	m->arg = m;
	mc_receive(m, 1, 0xFF);
	mc_receive(m, 1, 0xED);
	mc_receive(m, 1, 0x7E);
	mc_receive(m, 1, 0x10);
}

/* ...or 100 once. */
static void read_100_on_data_available(struct mcard *m, const struct mc_frame *f)
{
	if (f->ins != 0xC2 || f->d[4] != 0x09 || m->arg)
		return;
	m->arg = m;
	mc_receive(m, 1, 100);
}

static void test_receive_chunking(void)
{
	struct rig r;
	struct fconn conn = { 0 };
	uint8_t in[600], got[700];
	size_t got_len = 0;
	quiet();
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 13 + 1);
	rig_with_channel(&r, 0, 4116, 1400);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &conn), 1);
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 1, in, sizeof(in)), 0);
	r.m.react = reads_on_data_available;
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	/* Events: ESTABLISHED, then Data available with FF (600 > 255). */
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[3]),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 81 00"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[4]),
			       norm("D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 FF"));
	static const char *const heads[] = {
		"81 03 03 42 00 82 02 82 81 83 01 02 B6 81 ED", /* 237 < 255 asked */
		"81 03 04 42 00 82 02 82 81 83 01 00 B6 81 ED",
		"81 03 05 42 00 82 02 82 81 83 01 00 B6 7E",
		"81 03 06 42 00 82 02 82 81 83 01 02 B6 00", /* empty buffer */
	};
	static const char *const tails[] = { "B7 01 FF", "B7 01 7E", "B7 01 00", "B7 01 00" };
	for (size_t i = 0; i < 4; i++) {
		const struct mc_frame *f = &r.m.log[5 + i];
		uint8_t head[32], tail[8];
		size_t hn = hx(heads[i], head, sizeof(head)), tn = hx(tails[i], tail, sizeof(tail));
		CU_ASSERT_EQUAL_FATAL(f->ins, 0x14);
		CU_ASSERT_FATAL(f->len >= hn + tn);
		CU_ASSERT_STRING_EQUAL(tohex(f->d, hn), tohex(head, hn));
		CU_ASSERT_STRING_EQUAL(tohex(f->d + f->len - tn, tn), tohex(tail, tn));
		memcpy(got + got_len, f->d + hn, f->len - hn - tn);
		got_len += f->len - hn - tn;
	}
	CU_ASSERT_EQUAL(got_len, sizeof(in));
	CU_ASSERT(memcmp(got, in, sizeof(in)) == 0);
	CU_ASSERT_EQUAL(r.m.n_log, 9);
	CU_ASSERT(r.net.want_read >= 3);
	rig_free(&r);
}

static void test_send_buffering(void)
{
	struct rig r;
	struct fconn conn = { 0 };
	uint8_t d[400];
	quiet();
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(255 - i);
	rig_with_channel(&r, 0, 4116, 300);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &conn), 1);
	mc_send(&r.m, 1, 0x00, d, 200);
	mc_send(&r.m, 1, 0x00, d + 200, 101); /* over the buffer before a flush */
	mc_send(&r.m, 1, 0x01, d + 200, 100);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[4]),
			       norm("81 03 03 43 00 82 02 82 81 83 01 00 B7 01 64"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[5]),
			       norm("81 03 04 43 00 82 02 82 81 83 02 3A 04"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[6]),
			       norm("81 03 05 43 01 82 02 82 81 83 01 00 B7 01 FF"));
	CU_ASSERT_EQUAL(conn.out_len, 300);
	CU_ASSERT(memcmp(conn.out, d, 300) == 0);

	/* Backpressure: the connection takes 50 bytes, then nothing; the Tx
	 * buffer keeps the rest and says how little room is left. */
	r.net.room = 50;
	mc_send(&r.m, 1, 0x01, d, 240);
	mc_send(&r.m, 1, 0x00, d, 111);
	transport_bip_term_peer_closed(r.t, 1, false); /* an event to start the card... */
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &conn), 1); /* ...new client */
	conn.out_len = 0;
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	ASSERT_LAST_TR(&r, "81 03 07 43 00 82 02 82 81 83 02 3A 04");
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_nth_last(&r.m, 0x14, 1)),
			       norm("81 03 06 43 01 82 02 82 81 83 01 00 B7 01 6E"));
	CU_ASSERT_EQUAL(conn.out_len, 50);
	struct bip_term_channel_info info;
	CU_ASSERT_EQUAL(transport_bip_term_channel(r.t, 1, &info), 0);
	CU_ASSERT_EQUAL(info.tx_len, 190);
	r.net.room = SIZE_MAX;
	transport_bip_term_tx_drained(r.t, 1);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(conn.out_len, 240);
	CU_ASSERT(memcmp(conn.out, d, 240) == 0);

	/* A connection that fails on write: 3A 02 and LISTEN with 05. */
	r.net.write_rc = -EPIPE;
	mc_send(&r.m, 1, 0x01, d, 10);
	mc_send(&r.m, 1, 0x01, d, 10);
	mc_receive(&r.m, 1, 10);
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 1, d, 1), 0); /* Data available */
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[r.m.n_log - 4]),
			       norm("81 03 08 43 01 82 02 82 81 83 02 3A 02"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[r.m.n_log - 3]),
			       norm("81 03 09 43 01 82 02 82 81 83 02 3A 02"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[r.m.n_log - 2]),
			       norm("81 03 0A 42 00 82 02 82 81 83 02 3A 02"));
	ASSERT_LAST_ENV(&r, "D6 0B 99 01 0A 82 02 82 81 B8 02 41 05");
	CU_ASSERT(conn.closed);
	rig_free(&r);
}

/* ---- CLOSE CHANNEL, GET CHANNEL STATUS -------------------------------- */

static void test_close_and_status(void)
{
	struct rig r;
	struct fconn a = { 0 }, b = { 0 };
	quiet();
	rig_new(&r, 0, 0);
	mc_events(&r.m, "0A 09");
	mc_status(&r.m);
	mc_open(&r.m, 4116, 1400);
	mc_open(&r.m, 4116, 1400);
	rig_start(&r);
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[2]),
			       norm("81 03 02 44 00 82 02 82 81 83 01 00 B8 02 00 00"));
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &a), 1);
	CU_ASSERT(transport_bip_term_port_free(r.t, 4116));
	mc_status(&r.m);
	mc_close(&r.m, 1, 0x01); /* ESTABLISHED -> LISTEN, no event */
	mc_close(&r.m, 2, 0x01); /* LISTEN stays LISTEN */
	mc_status(&r.m);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	/* ESTABLISHED event, then the four commands. */
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[5]),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 81 00"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[6]),
			       norm("81 03 05 44 00 82 02 82 81 83 01 00 B8 02 81 00 B8 02 42 00"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[7]), norm("81 03 06 41 01 82 02 82 81 83 01 00"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[8]), norm("81 03 07 41 01 82 02 82 81 83 01 00"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[9]),
			       norm("81 03 08 44 00 82 02 82 81 83 01 00 B8 02 41 00 B8 02 42 00"));
	CU_ASSERT_EQUAL(r.m.n_log, 10);
	CU_ASSERT(a.closed);

	/* The port takes a client again; q=00 closes both channels: the
	 * connection is closed, CLOSED events, the port released once. */
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &b), 1);
	mc_close(&r.m, 1, 0x00);
	mc_close(&r.m, 2, 0x00);
	mc_close(&r.m, 2, 0x00); /* already closed: 3A 03 */
	mc_status(&r.m);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[11]),
			       norm("81 03 09 41 00 82 02 82 81 83 01 00"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[12]),
			       norm("81 03 0A 41 00 82 02 82 81 83 01 00"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[13]),
			       norm("81 03 0B 41 00 82 02 82 81 83 02 3A 03"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[14]),
			       norm("81 03 0C 44 00 82 02 82 81 83 01 00 B8 02 00 00"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[15]),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 01 00"));
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[16]),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 02 00"));
	CU_ASSERT_EQUAL(r.m.n_log, 17);
	CU_ASSERT(b.closed);
	CU_ASSERT_EQUAL(r.net.n_unlisten, 1);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &a), -ENOENT);
	rig_free(&r);
}

/* ---- events ----------------------------------------------------------- */

static void test_events_registered_only(void)
{
	struct rig r;
	struct fconn a = { 0 };
	uint8_t d[5] = { 1, 2, 3, 4, 5 };
	quiet();
	/* No SET UP EVENT LIST at all: no ENVELOPE ever. */
	rig_new(&r, 0, 0);
	mc_open(&r.m, 4116, 1400);
	rig_start(&r);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &a), 1);
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 1, d, sizeof(d)), 0);
	transport_bip_term_peer_closed(r.t, 1, false);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0xC2), 0);
	rig_free(&r);

	/* Only Data available. */
	rig_new(&r, 0, 0);
	mc_events(&r.m, "09");
	mc_open(&r.m, 4116, 1400);
	rig_start(&r);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &a), 1);
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 1, d, sizeof(d)), 0);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0xC2), 1);
	ASSERT_LAST_ENV(&r, "D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 05");
	transport_bip_term_peer_closed(r.t, 1, false);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0xC2), 1);
	/* An empty list deregisters; an unknown event refuses the list. */
	mc_events(&r.m, "09 05");
	mc_events(&r.m, "");
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &a), 1);
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 1, d, sizeof(d)), 0);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	/* Data available (still registered) made the card talk. */
	CU_ASSERT_EQUAL(mc_count(&r.m, 0xC2), 2);
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[r.m.n_log - 2]),
			       norm("81 03 03 05 00 82 02 82 81 83 01 30"));
	ASSERT_LAST_TR(&r, "81 03 04 05 00 82 02 82 81 83 01 00");
	transport_bip_term_peer_closed(r.t, 1, false);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &a), 1);
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 1, d, sizeof(d)), 0);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0xC2), 2);
	rig_free(&r);
}

/* While the card does not listen, clients come and go: the card hears
 * only what it needs to forget and what is true now. */
static void test_events_coalesce(void)
{
	struct rig r;
	struct fconn a = { 0 }, b = { 0 }, c = { 0 };
	quiet();
	rig_with_channel(&r, 1, 4116, 1400);
	r.m.busy = 1000;
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &a), 1);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_WAIT);
	CU_ASSERT_EQUAL(r.wait_ms, BIP_GW_BUSY_MIN_MS);
	/* Pumping while waiting sends nothing. */
	unsigned before = r.m.n_apdus;
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(r.m.n_apdus, before);
	transport_bip_term_peer_closed(r.t, 1, false);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &b), 1);
	transport_bip_term_peer_closed(r.t, 1, true);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &c), 1);
	/* Back-off doubles up to the maximum. */
	unsigned last = 0;
	for (int i = 0; i < 12; i++) {
		transport_bip_term_wake(r.t);
		CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_WAIT);
		CU_ASSERT(r.wait_ms >= last);
		last = r.wait_ms;
	}
	CU_ASSERT_EQUAL(last, BIP_GW_BUSY_MAX_MS);
	r.m.busy = 0;
	transport_bip_term_wake(r.t);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0xC2), 1);
	ASSERT_LAST_ENV(&r, "D6 0B 99 01 0A 82 02 82 81 B8 02 81 00");
	/* The card knows connection c; c goes, d comes: LISTEN then ESTABLISHED. */
	struct fconn d = { 0 };
	transport_bip_term_peer_closed(r.t, 1, true);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &d), 1);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0xC2), 3);
	CU_ASSERT_STRING_EQUAL(frame_hex(&r.m.log[r.m.n_log - 2]),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 41 05"));
	ASSERT_LAST_ENV(&r, "D6 0B 99 01 0A 82 02 82 81 B8 02 81 00");
	/* One channel, busy: the next client is refused by the engine. */
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &a), -EBUSY);
	CU_ASSERT_FALSE(transport_bip_term_port_free(r.t, 4116));
	rig_free(&r);
}

/* Data available again when the card read some, left some, and went idle. */
static void test_data_available_no_stall(void)
{
	struct rig r;
	struct fconn a = { 0 };
	uint8_t d[300];
	memset(d, 0x5A, sizeof(d));
	quiet();
	rig_with_channel(&r, 0, 4116, 1400);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &a), 1);
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 1, d, sizeof(d)), 0);
	r.m.react = read_100_on_data_available;
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	/* EST, DA(FF), TR(100 read, 200 left: C8), DA(C8). */
	CU_ASSERT_EQUAL(mc_count(&r.m, 0xC2), 3);
	ASSERT_LAST_ENV(&r, "D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 C8");
	/* A read of 0 bytes owes nothing: no ping-pong. */
	mc_receive(&r.m, 1, 0);
	transport_bip_term_peer_closed(r.t, 1, false);
	CU_ASSERT_EQUAL(transport_bip_term_accept(r.t, 4116, &a), 1);
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 1, d, 10), 0);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	size_t n = mc_count(&r.m, 0xC2);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0xC2), n);
	/* More bytes into a non-empty buffer: no new event either. */
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 1, d, 10), 0);
	CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0xC2), n);
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 1, d, 1400), -EMSGSIZE);
	CU_ASSERT_EQUAL(transport_bip_term_rx(r.t, 2, d, 1), -EBADFD);
	CU_ASSERT_EQUAL(transport_bip_term_rx_room(r.t, 1), 1400 - 20);
	rig_free(&r);
}

/* ---- hostile cards ---------------------------------------------------- */

struct hostile_case {
	const char *cmd; /* FETCH response data */
	const char *tr;  /* expected TERMINAL RESPONSE data, NULL: none */
};

static const struct hostile_case hostile_cases[] = {
	/* Types this terminal does not carry out. */
	{ "D0 0F 81 03 07 21 80 82 02 81 02 8D 04 04 41 42 43",
	  "81 03 07 21 80 82 02 82 81 83 01 30" },
	{ "D0 09 81 03 01 02 00 82 02 81 82", "81 03 01 02 00 82 02 82 81 83 01 30" },
	{ "D0 09 81 03 01 FF 00 82 02 81 82", "81 03 01 FF 00 82 02 82 81 83 01 30" },
	/* Unknown object: CR set -> 32, clear -> ignored, 01. */
	{ "D0 0C 81 03 01 44 00 82 02 81 82 FA 01 00", "81 03 01 44 00 82 02 82 81 83 01 32" },
	{ "D0 0C 81 03 01 44 00 82 02 81 82 7A 01 00",
	  "81 03 01 44 00 82 02 82 81 83 01 01 B8 02 00 00" },
	{ "D0 0D 81 03 01 44 00 82 02 81 82 7F 80 01 00", "81 03 01 44 00 82 02 82 81 83 01 32" },
	/* An object of another command, CR set. */
	{ "D0 0C 81 03 01 44 00 82 02 81 82 B7 01 10", "81 03 01 44 00 82 02 82 81 83 01 32" },
	/* Icon: nothing to show it on. */
	{ "D0 0D 81 03 01 44 00 82 02 81 82 9E 02 00 01",
	  "81 03 01 44 00 82 02 82 81 83 01 04 B8 02 00 00" },
	/* Command numbers are echoed whatever they are. */
	{ "D0 09 81 03 00 44 00 82 02 81 82", "81 03 00 44 00 82 02 82 81 83 01 00 B8 02 00 00" },
	{ "D0 09 01 03 FF 44 00 02 02 81 82", "81 03 FF 44 00 82 02 82 81 83 01 00 B8 02 00 00" },
	/* Missing or broken mandatory parts. */
	{ "D0 05 81 03 01 44 00", "81 03 01 44 00 82 02 82 81 83 01 36" },
	{ "D0 09 81 03 01 42 00 82 02 81 21", "81 03 01 42 00 82 02 82 81 83 01 36" },
	{ "D0 09 81 03 01 43 01 82 02 81 21", "81 03 01 43 01 82 02 82 81 83 01 36" },
	{ "D0 09 81 03 01 05 00 82 02 81 82", "81 03 01 05 00 82 02 82 81 83 01 36" },
	{ "D0 0E 81 03 01 40 00 82 02 81 82 BC 03 03 10 14",
	  "81 03 01 40 00 82 02 82 81 83 01 36" },
	{ "D0 0D 81 03 01 42 00 82 02 81 21 B7 02 10 10", "81 03 01 42 00 82 02 82 81 83 01 32" },
	{ "D0 0A 81 03 01 44 00 82 03 81 82 00", "81 03 01 44 00 82 02 82 81 83 01 32" },
	{ "D0 0A 81 03 01 44 00 82 05 81 82", "81 03 01 44 00 82 02 82 81 83 01 32" },
	{ "D0 0A 81 04 01 44 00 00 82 02 81 82", "81 03 01 44 00 82 02 82 81 83 01 32" },
	/* Device identities that do not add up. */
	{ "D0 09 81 03 01 44 00 82 02 82 82", "81 03 01 44 00 82 02 82 81 83 01 32" },
	{ "D0 09 81 03 01 44 00 82 02 81 02", "81 03 01 44 00 82 02 82 81 83 01 32" },
	/* Channel identifiers out of range or not open: 3A 03. */
	{ "D0 0C 81 03 01 42 00 82 02 81 28 B7 01 10", "81 03 01 42 00 82 02 82 81 83 02 3A 03" },
	{ "D0 0C 81 03 01 42 00 82 02 81 20 B7 01 10", "81 03 01 42 00 82 02 82 81 83 02 3A 03" },
	{ "D0 0C 81 03 01 42 00 82 02 81 82 B7 01 10", "81 03 01 42 00 82 02 82 81 83 02 3A 03" },
	{ "D0 0C 81 03 01 42 00 82 02 81 22 B7 01 10", "81 03 01 42 00 82 02 82 81 83 02 3A 03" },
	{ "D0 0C 81 03 01 43 01 82 02 81 27 B6 01 00", "81 03 01 43 01 82 02 82 81 83 02 3A 03" },
	{ "D0 09 81 03 01 41 00 82 02 81 23", "81 03 01 41 00 82 02 82 81 83 02 3A 03" },
	/* OPEN CHANNEL that is not UICC server mode, or port 0. */
	{ "D0 16 81 03 01 40 01 82 02 81 82 35 07 02 00 00 00 00 00 02 B9 02 05 78",
	  "81 03 01 40 01 82 02 82 81 83 01 30" },
	{ "D0 12 81 03 01 40 00 82 02 81 82 B9 02 05 78 BC 03 02 10 14",
	  "81 03 01 40 00 82 02 82 81 83 02 3A 06 B9 02 05 78" },
	{ "D0 12 81 03 01 40 00 82 02 81 82 B9 02 05 78 BC 03 03 00 00",
	  "81 03 01 40 00 82 02 82 81 83 01 32" },
	{ "D0 11 81 03 01 40 00 82 02 81 82 B9 02 05 78 BC 02 03 10",
	  "81 03 01 40 00 82 02 82 81 83 01 32" },
	/* Lengths that lie: cut short -> 32 with the details echoed; bytes
	 * after the object -> ignored. */
	{ "D0 20 81 03 01 44 00 82 02 81 82", "81 03 01 44 00 82 02 82 81 83 01 32" },
	{ "D0 81 09 81 03 01 44 00 82 02 81 82",
	  "81 03 01 44 00 82 02 82 81 83 01 00 B8 02 00 00" },
	{ "D0 09 81 03 01 44 00 82 02 81 82 FF FF 00",
	  "81 03 01 44 00 82 02 82 81 83 01 00 B8 02 00 00" },
	/* Nothing to answer: dropped. */
	{ "D0 04 82 02 81 82", NULL },
	{ "D0 05 81 02 01 44 00", NULL },
	{ "D1 03 01 02 03", NULL },
	{ "D0", NULL },
	{ "D0 81", NULL },
	{ "D0 82 00 09 81 03 01 44 00 82 02 81 82", NULL },
	{ "D0 80 81 03 01 44 00 82 02 81 82 00 00", NULL },
	{ "00 00 00 00", NULL },
	{ "D0 00", NULL },
};

static void test_hostile_commands(void)
{
	quiet();
	for (size_t i = 0; i < sizeof(hostile_cases) / sizeof(hostile_cases[0]); i++) {
		const struct hostile_case *hc = &hostile_cases[i];
		struct rig r;
		rig_new(&r, 0, 0);
		mc_push_hex(&r.m, hc->cmd);
		n_warnings = 0;
		rig_start(&r);
		CU_ASSERT_EQUAL(r.next, BIP_TERM_IDLE);
		const struct mc_frame *f = mc_last(&r.m, 0x14);
		if (hc->tr) {
			if (!f || strcmp(frame_hex(f), norm(hc->tr)) != 0)
				fprintf(stderr, "case %zu: %s\n want %s\n  got %s\n", i, hc->cmd,
					norm(hc->tr), frame_hex(f));
			CU_ASSERT_EQUAL(mc_count(&r.m, 0x14), 1);
			CU_ASSERT_STRING_EQUAL(frame_hex(f), norm(hc->tr));
		} else {
			if (f)
				fprintf(stderr, "case %zu: %s\n answered %s\n", i, hc->cmd,
					frame_hex(f));
			CU_ASSERT_PTR_NULL(f);
			CU_ASSERT(n_warnings >= 1); /* a logged drop */
		}
		rig_free(&r);
	}
}

/* FETCH that fails, lies, or asks for GET RESPONSE. */
static void test_hostile_fetch(void)
{
	struct script s;
	struct fnet net;
	char err[256];
	enum bip_term_next next;
	unsigned ms;
	static const char tp[] =
		"80 10 00 00 11 01 00 60 00 01 0C 00 00 00 00 00 1F E0 00 00 00 04";
	static const char tr_status[] = "80 14 00 00 10 81 03 01 44 00 82 02 82 81 83 01 00 "
					"B8 02 00 00";
	quiet();
	fnet_init(&net);
	struct card_link link = { .ops = &script_ops, .ctx = &s };
	struct {
		const char *steps[12][2];
	} cases[] = {
		/* FETCH refused: no command, no TERMINAL RESPONSE. */
		{ { { tp, "91 0B" }, { "80 12 00 00 0B", "6F 00" } } },
		{ { { tp, "91 0B" }, { "80 12 00 00 0B", "90 00" } } },
		/* 91 40 for an 11-byte command. */
		{ { { tp, "91 40" },
		    { "80 12 00 00 40", "D0 09 81 03 01 44 00 82 02 81 82 90 00" },
		    { tr_status, "90 00" } } },
		/* 91 00 means 256. */
		{ { { tp, "91 00" },
		    { "80 12 00 00 00", "D0 09 81 03 01 44 00 82 02 81 82 90 00" },
		    { tr_status, "90 00" } } },
		/* 6C xx: Le again. */
		{ { { tp, "91 20" },
		    { "80 12 00 00 20", "6C 0B" },
		    { "80 12 00 00 0B", "D0 09 81 03 01 44 00 82 02 81 82 90 00" },
		    { tr_status, "90 00" } } },
		/* 61 xx: GET RESPONSE for the rest. */
		{ { { tp, "91 05" },
		    { "80 12 00 00 05", "D0 09 81 03 01 61 06" },
		    { "00 C0 00 00 06", "44 00 82 02 81 82 90 00" },
		    { tr_status, "90 00" } } },
		/* 61 xx forever: bounded; never a complete answer: dropped. */
		{ { { tp, "91 02" },
		    { "80 12 00 00 02", "D0 09 61 01" },
		    { "00 C0 00 00 01", "81 61 01" },
		    { "00 C0 00 00 01", "03 61 01" },
		    { "00 C0 00 00 01", "01 61 01" },
		    { "00 C0 00 00 01", "44 61 01" } } },
		/* The card refuses the TERMINAL RESPONSE: logged, session over. */
		{ { { tp, "91 0B" },
		    { "80 12 00 00 0B", "D0 09 81 03 01 44 00 82 02 81 82 90 00" },
		    { tr_status, "6F 00" } } },
		/* An answer shorter than a status word. */
		{ { { tp, "91 0B" }, { "80 12 00 00 0B", "90" } } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&s, 0, sizeof(s));
		for (size_t j = 0; j < 12 && cases[i].steps[j][0]; j++)
			script_add(&s, cases[i].steps[j][0], cases[i].steps[j][1]);
		struct bip_term *t = transport_bip_term_new(&link, &fnet_ops, &net, NULL);
		CU_ASSERT_EQUAL(transport_bip_term_start(t, &next, &ms, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(next, BIP_TERM_IDLE);
		if (s.pos != s.n)
			fprintf(stderr, "fetch case %zu: stopped at step %zu of %zu\n", i, s.pos,
				s.n);
		CU_ASSERT_EQUAL(s.pos, s.n);
		CU_ASSERT_FALSE(transport_bip_term_link_down(t));
		transport_bip_term_free(t);
	}

	/* A response over the link's room (258 bytes): -EMSGSIZE, dropped. */
	static char big[3 * 400 + 1];
	size_t k = 0;
	for (int i = 0; i < 300; i++)
		k += (size_t)snprintf(big + k, sizeof(big) - k, "%s", i ? " 00" : "D0");
	memset(&s, 0, sizeof(s));
	script_add(&s, tp, "91 10");
	script_add(&s, "80 12 00 00 10", big);
	struct bip_term *t = transport_bip_term_new(&link, &fnet_ops, &net, NULL);
	CU_ASSERT_EQUAL(transport_bip_term_start(t, &next, &ms, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.pos, s.n);
	transport_bip_term_free(t);
}

/* A card that never stops: every answer announces the same command. */
static void test_hostile_endless(void)
{
	struct rig r;
	quiet();
	rig_new(&r, 0, 0);
	mc_push_hex(&r.m, "D0 09 81 03 01 44 00 82 02 81 82");
	r.m.endless = true;
	rig_start(&r);
	CU_ASSERT_EQUAL(r.next, BIP_TERM_AGAIN);
	CU_ASSERT_EQUAL(mc_count(&r.m, 0x14), BIP_GW_START_STEPS_MAX);
	unsigned waits = 0, again = 0;
	for (int i = 0; i < 100; i++) {
		enum bip_term_next n = rig_pump(&r);
		CU_ASSERT(n != BIP_TERM_IDLE);
		if (n == BIP_TERM_WAIT) {
			CU_ASSERT_EQUAL(r.wait_ms, BIP_GW_THROTTLE_MS);
			waits++;
			CU_ASSERT_EQUAL(rig_pump(&r), BIP_TERM_IDLE); /* waiting */
			transport_bip_term_wake(r.t);
		} else {
			again++;
		}
	}
	/* Each pump spends at most its budget; a pause every STREAK_MAX. */
	CU_ASSERT(mc_count(&r.m, 0x14) <= BIP_GW_START_STEPS_MAX + 100 * BIP_GW_PUMP_STEPS_MAX);
	CU_ASSERT(waits >= 8);
	CU_ASSERT(again > 0);
	rig_free(&r);
}

/* ---- the in-process link ---------------------------------------------- */

static unsigned n_traced;
static size_t last_trace_rlen;

static void count_trace(void *arg, const uint8_t *c, size_t cl, const uint8_t *r, size_t rl)
{
	n_traced++;
	last_trace_rlen = rl;
}

static void test_link_emu(void)
{
	struct card_fs *fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	static const uint8_t atr[] = { 0x3B, 0x9F, 0x96, 0x80, 0x1F, 0xC7, 0x80, 0x31,
				       0xE0, 0x73, 0xFE, 0x21, 0x1B, 0x63, 0x3A, 0x20,
				       0x4E, 0x83, 0x00, 0x90, 0x00, 0x31 };
	struct card *card = card_new(fs, atr, sizeof(atr));
	CU_ASSERT_PTR_NOT_NULL_FATAL(card);
	void *ctx = transport_link_emu_new(card);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_PTR_NULL(transport_link_emu_new(NULL));
	struct card_link l = { &transport_link_emu_ops, ctx, count_trace, NULL };
	uint8_t buf[APDU_RESP_MAX];
	size_t n = 0;
	n_traced = 0;
	CU_ASSERT_EQUAL(transport_link_reset(&l, buf, sizeof(buf), &n), 0);
	CU_ASSERT_EQUAL(n, sizeof(atr));
	CU_ASSERT(memcmp(buf, atr, n) == 0);
	CU_ASSERT_EQUAL(transport_link_reset(&l, buf, 3, &n), -EMSGSIZE);
	/* No toolkit attached: TERMINAL PROFILE is 6D 00. */
	static const uint8_t tp[] = { 0x80, 0x10, 0x00, 0x00, 0x01, 0x01 };
	CU_ASSERT_EQUAL(transport_link_transmit(&l, tp, sizeof(tp), buf, sizeof(buf), &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(buf[0], 0x6D);
	CU_ASSERT_EQUAL(n_traced, 2);
	CU_ASSERT_EQUAL(last_trace_rlen, 2);
	CU_ASSERT_EQUAL(transport_link_transmit(NULL, tp, sizeof(tp), buf, sizeof(buf), &n),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(transport_link_emu_ops.name, "emu");
	transport_link_emu_ops.free(ctx);
	card_free(card);
	card_fs_free(fs);
}

/* ---- the gateway over loopback sockets -------------------------------- */

struct net_rig {
	struct event_base *base;
	struct mcard m;
	struct bip_gw *gw;
	uint16_t port;
};

static bool wait_for(struct net_rig *n, bool (*cond)(struct net_rig *, void *), void *arg)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (cond(n, arg))
			return true;
		event_base_loop(n->base, EVLOOP_NONBLOCK);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > 3000)
			return cond(n, arg);
		usleep(500);
	}
}

static bool envs_at_least(struct net_rig *n, void *arg)
{
	return mc_count(&n->m, 0xC2) >= (size_t)(uintptr_t)arg;
}

struct recv_want {
	int fd;
	uint8_t buf[4096];
	size_t len, want;
	bool eof;
};

static bool client_got(struct net_rig *n, void *arg)
{
	struct recv_want *w = arg;
	for (;;) {
		ssize_t k = recv(w->fd, w->buf + w->len, sizeof(w->buf) - w->len, MSG_DONTWAIT);
		if (k > 0) {
			w->len += (size_t)k;
			continue;
		}
		if (k == 0)
			w->eof = true;
		break;
	}
	return w->len >= w->want || w->eof;
}

static int client_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* The card of these tests echoes: Data available -> RECEIVE DATA of what
 * is there; the data it gets -> SEND DATA q=01 of the same bytes. */
static void echo_react(struct mcard *m, const struct mc_frame *f)
{
	if (f->ins == 0xC2 && f->len >= 16 && f->d[2] == 0x99 && f->d[4] == 0x09) {
		mc_receive(m, f->d[11] & 7, f->d[15]);
	} else if (f->ins == 0x14 && f->len > 14 && f->d[3] == 0x42 &&
		   (f->d[11] == 0x00 || f->d[11] == 0x02)) {
		size_t hl = f->d[13] == 0x81 ? 15 : 14;
		size_t dl = f->d[hl - 1];
		if (dl)
			mc_send(m, 1, 0x01, f->d + hl, dl);
	}
}

/* n's event base and a gateway over link ops/arg with cfg. */
static void net_rig_open(struct net_rig *n, const struct card_link_ops *ops, void *arg,
			 const struct bip_gw_config *cfg)
{
	memset(n, 0, sizeof(*n));
	n->base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(n->base);
	char err[256] = "";
	n->gw = transport_bip_gw_new(n->base, ops, arg == NULL ? &n->m : arg, cfg, err,
				     sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(n->gw);
}

/* A gateway config on 127.0.0.1 with card port 4116 (n_ports 1) or 4116
 * and 3516 (2) on ephemeral host ports. */
static struct bip_gw_config net_rig_cfg(unsigned channels, size_t n_ports)
{
	static const struct bip_gw_addr lo = { "127.0.0.1", false };
	static const struct bip_gw_port_map map[2] = { { 4116, 0 }, { 3516, 0 } };
	return (struct bip_gw_config){ .listen = &lo,
				       .n_listen = 1,
				       .port_map = map,
				       .n_port_map = n_ports,
				       .channels = channels };
}

static void net_rig_new(struct net_rig *n, unsigned channels, const struct bip_gw_config *base_cfg)
{
	struct bip_gw_config cfg = net_rig_cfg(channels, 1);
	net_rig_open(n, &mc_ops, NULL, base_cfg ? base_cfg : &cfg);
}

/* A gateway over the in-process link to a real card (link_ctx from
 * transport_link_emu_new()), card ports 4116 and 3516 on ephemeral
 * loopback ports. */
static void net_rig_card(struct net_rig *n, void *link_ctx)
{
	struct bip_gw_config cfg = net_rig_cfg(0, 2);
	net_rig_open(n, &transport_link_emu_ops, link_ctx, &cfg);
}

static void net_rig_start(struct net_rig *n)
{
	char err[256] = "";
	CU_ASSERT_EQUAL(transport_bip_gw_start(n->gw, err, sizeof(err)), 0);
	struct bip_gw_endpoint ep[4];
	size_t k = transport_bip_gw_endpoints(n->gw, ep, 4);
	if (k >= 1)
		n->port = ep[0].port;
}

static void net_rig_free(struct net_rig *n)
{
	transport_bip_gw_free(n->gw);
	event_base_free(n->base);
}

static void test_gw_echo_flow(void)
{
	struct net_rig n;
	quiet();
	net_rig_new(&n, 0, NULL);
	mc_events(&n.m, "09 0A");
	mc_open(&n.m, 4116, 1400);
	n.m.react = echo_react;
	net_rig_start(&n);
	struct bip_gw_endpoint ep[4];
	CU_ASSERT_EQUAL(transport_bip_gw_endpoints(n.gw, ep, 4), 1);
	CU_ASSERT_STRING_EQUAL(ep[0].transport, "bip");
	CU_ASSERT_STRING_EQUAL(ep[0].scheme, "https");
	CU_ASSERT_STRING_EQUAL(ep[0].host, "127.0.0.1");
	CU_ASSERT_EQUAL(ep[0].card_port, 4116);
	CU_ASSERT(ep[0].port != 0);

	int fd = client_connect(n.port);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)1));
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0xC2)),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 81 00"));
	CU_ASSERT_EQUAL(transport_bip_gw_clients(n.gw), 1);
	CU_ASSERT_EQUAL(send(fd, "hello", 5, 0), 5);
	struct recv_want w = { .fd = fd, .want = 5 };
	CU_ASSERT(wait_for(&n, client_got, &w));
	CU_ASSERT_EQUAL(w.len, 5);
	CU_ASSERT(memcmp(w.buf, "hello", 5) == 0);
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0xC2)),
			       norm("D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 05"));
	/* A second round trip on the same connection. */
	char big[1000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	CU_ASSERT_EQUAL(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	struct recv_want w2 = { .fd = fd, .want = sizeof(big) };
	CU_ASSERT(wait_for(&n, client_got, &w2));
	CU_ASSERT_EQUAL(w2.len, sizeof(big));
	CU_ASSERT(memcmp(w2.buf, big, sizeof(big)) == 0);
	/* Client FIN: LISTEN with 00. */
	size_t envs = mc_count(&n.m, 0xC2);
	close(fd);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)(uintptr_t)(envs + 1)));
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0xC2)),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 41 00"));
	CU_ASSERT_EQUAL(transport_bip_gw_clients(n.gw), 0);

	/* RST: LISTEN with 05. */
	fd = client_connect(n.port);
	envs = mc_count(&n.m, 0xC2);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)(uintptr_t)(envs + 1)));
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)(uintptr_t)(envs + 2)));
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0xC2)),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 41 05"));
	net_rig_free(&n);
}

static bool last_env_established(struct net_rig *n, void *arg)
{
	const struct mc_frame *f = mc_last(&n->m, 0xC2);
	char hex[3 * 64];
	if (!f)
		return false;
	snprintf(hex, sizeof(hex), "%s", frame_hex(f)); /* frame_hex and norm share a buffer */
	return strstr(hex, norm("B8 02 81 00")) != NULL;
}

struct reset_want {
	int fd;
	int *err;
};

/* The client's socket was reset (nothing but ECONNRESET comes). */
static bool client_reset(struct net_rig *n, void *arg)
{
	struct reset_want *w = arg;
	char b[64];
	ssize_t k = recv(w->fd, b, sizeof(b), MSG_DONTWAIT);
	if (k < 0 && errno != EAGAIN)
		*w->err = errno;
	return k == 0 || (k < 0 && errno != EAGAIN);
}

/* bip-rate and bip-drop through the gateway's hooks, on the echo card. */
static unsigned g_rate;
static bool g_drop;
static uint16_t g_fault_port;
static unsigned gw_rate(void *arg, uint16_t card_port)
{
	g_fault_port = card_port;
	return g_rate;
}
static bool gw_drop(void *arg, uint16_t card_port)
{
	return g_drop;
}

static void test_gw_faults(void)
{
	static const struct bip_gw_fault_hooks h = { .rate = gw_rate, .drop = gw_drop };
	struct net_rig n;
	quiet();
	net_rig_new(&n, 0, NULL);
	mc_events(&n.m, "09 0A");
	mc_open(&n.m, 4116, 1400);
	n.m.react = echo_react;
	transport_bip_gw_set_faults(n.gw, &h);
	net_rig_start(&n);

	/* 1000 B/s: 400 bytes in take 0.4 s (less the first tick's worth); the
	 * echo flows back as they come, at the same rate. */
	g_rate = 1000;
	g_drop = false;
	int fd = client_connect(n.port);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)1));
	CU_ASSERT_EQUAL(g_fault_port, 4116);
	char msg[400];
	memset(msg, 'r', sizeof(msg));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(send(fd, msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	struct recv_want w = { .fd = fd, .want = sizeof(msg) };
	CU_ASSERT(wait_for(&n, client_got, &w));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CU_ASSERT_EQUAL(w.len, sizeof(msg));
	CU_ASSERT(dt >= 0.35);
	close(fd);

	/* Without the fault the next client is not capped. */
	g_rate = 0;
	fd = client_connect(n.port);
	CU_ASSERT(wait_for(&n, last_env_established, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(send(fd, msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	struct recv_want w2 = { .fd = fd, .want = sizeof(msg) };
	CU_ASSERT(wait_for(&n, client_got, &w2));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CU_ASSERT(dt < 0.35);

	/* bip-drop: the echo is about to go out: RST to the client, Channel
	 * status LISTEN 05 (link dropped) to the card. */
	g_drop = true;
	size_t envs = mc_count(&n.m, 0xC2);
	CU_ASSERT_EQUAL(send(fd, "x", 1, 0), 1);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)(uintptr_t)(envs + 2)));
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0xC2)),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 41 05"));
	int err = 0;
	CU_ASSERT(wait_for(&n, client_reset, &(struct reset_want){ fd, &err }));
	CU_ASSERT_EQUAL(err, ECONNRESET);
	close(fd);
	g_drop = false;
	net_rig_free(&n);
}

/* One channel, three clients: the others wait (not reset) and are served
 * in turn as the channel comes back to LISTEN. */
static void test_gw_backlog(void)
{
	struct net_rig n;
	quiet();
	net_rig_new(&n, 1, NULL);
	mc_events(&n.m, "09 0A");
	mc_open(&n.m, 4116, 1400);
	n.m.react = echo_react;
	net_rig_start(&n);
	int a = client_connect(n.port);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)1));
	int b = client_connect(n.port);
	int c = client_connect(n.port);
	/* b and c get nothing while a holds the channel. */
	CU_ASSERT_EQUAL(send(b, "bbb", 3, 0), 3);
	CU_ASSERT_EQUAL(send(c, "ccc", 3, 0), 3);
	for (int i = 0; i < 50; i++) {
		event_base_loop(n.base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	CU_ASSERT_EQUAL(mc_count(&n.m, 0xC2), 1);
	CU_ASSERT_EQUAL(send(a, "aaa", 3, 0), 3);
	struct recv_want wa = { .fd = a, .want = 3 };
	CU_ASSERT(wait_for(&n, client_got, &wa));
	CU_ASSERT(memcmp(wa.buf, "aaa", 3) == 0);
	close(a);
	struct recv_want wb = { .fd = b, .want = 3 };
	CU_ASSERT(wait_for(&n, client_got, &wb));
	CU_ASSERT_FALSE(wb.eof);
	CU_ASSERT(memcmp(wb.buf, "bbb", 3) == 0);
	close(b);
	struct recv_want wc = { .fd = c, .want = 3 };
	CU_ASSERT(wait_for(&n, client_got, &wc));
	CU_ASSERT_FALSE(wc.eof);
	CU_ASSERT(memcmp(wc.buf, "ccc", 3) == 0);
	close(c);
	net_rig_free(&n);
}

/* The card closes the channel right after sending: the client gets every
 * byte, then EOF; the channel listens again. */
static void close_after_send(struct mcard *m, const struct mc_frame *f)
{
	if (f->ins == 0xC2 && f->len >= 16 && f->d[4] == 0x09) {
		static uint8_t big[1200];
		memset(big, 'z', sizeof(big));
		for (int i = 0; i < 5; i++)
			mc_send(m, 1, 0x00, big, 0xF0);
		mc_send(m, 1, 0x01, big, 0);
		mc_close(m, 1, 0x01);
	}
}

static void test_gw_close_flushes(void)
{
	struct net_rig n;
	quiet();
	net_rig_new(&n, 0, NULL);
	mc_events(&n.m, "09 0A");
	mc_open(&n.m, 4116, 1200);
	n.m.react = close_after_send;
	net_rig_start(&n);
	int fd = client_connect(n.port);
	CU_ASSERT_EQUAL(send(fd, "x", 1, 0), 1);
	struct recv_want w = { .fd = fd, .want = 100000 };
	CU_ASSERT(wait_for(&n, client_got, &w));
	CU_ASSERT(w.eof);
	CU_ASSERT_EQUAL(w.len, 1200);
	close(fd);
	/* The port takes the next client on the same channel. */
	size_t envs = mc_count(&n.m, 0xC2);
	fd = client_connect(n.port);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)(uintptr_t)(envs + 1)));
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0xC2)),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 81 00"));
	close(fd);
	net_rig_free(&n);
}

/* A card that does not read: the socket is read only up to the buffer
 * (backpressure). Then it reads, and every byte arrives, in order. */
struct sink {
	uint8_t *buf;
	size_t len, cap;
};

static void reader_react(struct mcard *m, const struct mc_frame *f)
{
	struct sink *k = m->arg;
	if (f->ins == 0xC2 && f->len >= 16 && f->d[4] == 0x09 && (f->d[11] & 7) == 1) {
		mc_receive(m, 1, f->d[15]);
	} else if (f->ins == 0x14 && f->len > 14 && f->d[3] == 0x42 && f->d[12] == 0xB6) {
		size_t hl = f->d[13] == 0x81 ? 15 : 14;
		size_t dl = f->d[hl - 1];
		CU_ASSERT_FATAL(k->len + dl <= k->cap);
		memcpy(k->buf + k->len, f->d + hl, dl);
		k->len += dl;
	}
}

struct feed {
	int fd;
	const uint8_t *p;
	size_t len, sent;
	struct sink *k;
};

static bool fed_through(struct net_rig *n, void *arg)
{
	struct feed *fe = arg;
	if (fe->sent < fe->len) {
		ssize_t w = send(fe->fd, fe->p + fe->sent, fe->len - fe->sent, MSG_DONTWAIT);
		if (w > 0)
			fe->sent += (size_t)w;
	}
	return fe->k->len >= fe->len;
}

static void test_gw_rx_backpressure(void)
{
	struct net_rig n;
	quiet();
	struct bip_gw_config cfg = net_rig_cfg(0, 2);
	net_rig_new(&n, 0, &cfg);
	mc_events(&n.m, "09 0A");
	mc_open(&n.m, 4116, 1400);
	mc_open(&n.m, 3516, 1400);
	net_rig_start(&n);
	struct bip_gw_endpoint ep[4];
	CU_ASSERT_EQUAL_FATAL(transport_bip_gw_endpoints(n.gw, ep, 4), 2);
	uint16_t p4116 = ep[0].card_port == 4116 ? ep[0].port : ep[1].port;
	uint16_t p3516 = ep[0].card_port == 3516 ? ep[0].port : ep[1].port;
	static uint8_t big[1u << 20], got[1u << 20];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i % 251);
	int fd = client_connect(p4116);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	struct sink k = { .buf = got, .cap = sizeof(got) };
	struct feed fe = { .fd = fd, .p = big, .len = sizeof(big), .k = &k };
	for (int i = 0; i < 200; i++) {
		(void)fed_through(&n, &fe);
		event_base_loop(n.base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	CU_ASSERT(fe.sent < sizeof(big)); /* the kernel buffers filled up */
	struct bip_term_channel_info info;
	CU_ASSERT_EQUAL(transport_bip_term_channel(transport_bip_gw_term(n.gw), 1, &info), 0);
	CU_ASSERT_EQUAL(info.state, CAT_CH_ESTABLISHED);
	CU_ASSERT_EQUAL(info.rx_len, 1400);
	CU_ASSERT_EQUAL(mc_count(&n.m, 0xC2), 2);
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0xC2)),
			       norm("D6 0E 99 01 09 82 02 82 81 B8 02 81 00 B7 01 FF"));
	/* The card starts reading; a client on the other port gives it the
	 * occasion to say so (its ESTABLISHED event). */
	n.m.arg = &k;
	n.m.react = reader_react;
	mc_receive(&n.m, 1, 0xED);
	int fd2 = client_connect(p3516);
	CU_ASSERT(wait_for(&n, fed_through, &fe));
	CU_ASSERT_EQUAL(k.len, sizeof(big));
	CU_ASSERT(memcmp(got, big, sizeof(big)) == 0);
	close(fd2);
	close(fd);
	net_rig_free(&n);
}

static void test_gw_listen_failures(void)
{
	struct net_rig n;
	quiet();
	/* The host port is taken: 3A 10. */
	int busy = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_EQUAL_FATAL(bind(busy, (struct sockaddr *)&a, sizeof(a)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(busy, 1), 0);
	socklen_t alen = sizeof(a);
	CU_ASSERT_EQUAL_FATAL(getsockname(busy, (struct sockaddr *)&a, &alen), 0);
	static const struct bip_gw_addr lo = { "127.0.0.1", false };
	struct bip_gw_port_map map = { 4116, ntohs(a.sin_port) };
	struct bip_gw_config cfg = {
		.listen = &lo, .n_listen = 1, .port_map = &map, .n_port_map = 1
	};
	net_rig_new(&n, 0, &cfg);
	mc_open(&n.m, 4116, 1400);
	net_rig_start(&n);
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0x14)),
			       norm("81 03 01 40 00 82 02 82 81 83 02 3A 10 B9 02 05 78"));
	CU_ASSERT_EQUAL(transport_bip_gw_endpoints(n.gw, NULL, 0), 0);
	net_rig_free(&n);
	close(busy);

	/* A default address that cannot be bound is skipped; a requested one
	 * fails the OPEN CHANNEL. 192.0.2.1 (TEST-NET-1) is not local. */
	struct bip_gw_addr two[2] = { { "127.0.0.1", false }, { "192.0.2.1", true } };
	struct bip_gw_port_map eph = { 3516, 0 };
	struct bip_gw_config c2 = {
		.listen = two, .n_listen = 2, .port_map = &eph, .n_port_map = 1
	};
	net_rig_new(&n, 0, &c2);
	mc_open(&n.m, 3516, 1400);
	net_rig_start(&n);
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0x14)),
			       norm("81 03 01 40 00 82 02 82 81 83 01 00 B8 02 41 00 B9 02 05 78"));
	struct bip_gw_endpoint ep[4];
	CU_ASSERT_EQUAL(transport_bip_gw_endpoints(n.gw, ep, 4), 1);
	CU_ASSERT_STRING_EQUAL(ep[0].scheme, "http");
	net_rig_free(&n);
	two[1].is_default = false;
	net_rig_new(&n, 0, &c2);
	mc_open(&n.m, 3516, 1400);
	net_rig_start(&n);
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0x14)),
			       norm("81 03 01 40 00 82 02 82 81 83 02 3A 10 B9 02 05 78"));
	CU_ASSERT_EQUAL(transport_bip_gw_endpoints(n.gw, ep, 4), 0);
	net_rig_free(&n);

	/* Bad configurations. */
	struct event_base *base = event_base_new();
	char err[256];
	struct bip_gw_addr bad = { "localhost", false };
	struct bip_gw_config c3 = { .listen = &bad, .n_listen = 1 };
	CU_ASSERT_PTR_NULL(transport_bip_gw_new(base, &mc_ops, NULL, &c3, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "localhost"));
	struct bip_gw_config c4 = { .n_listen = BIP_GW_ADDRS_MAX + 1 };
	CU_ASSERT_PTR_NULL(transport_bip_gw_new(base, &mc_ops, NULL, &c4, err, sizeof(err)));
	struct bip_gw_config c5 = { .channels = 9 };
	CU_ASSERT_PTR_NULL(transport_bip_gw_new(base, &mc_ops, NULL, &c5, err, sizeof(err)));
	transport_bip_gw_free(NULL);
	event_base_free(base);
}

/* Default addresses: 127.0.0.1 and ::1 (when this host has IPv6), one
 * ephemeral host port for both. */
static void test_gw_default_addresses(void)
{
	struct net_rig n;
	quiet();
	struct bip_gw_port_map map = { 4116, 0 };
	struct bip_gw_config cfg = { .port_map = &map, .n_port_map = 1 };
	net_rig_new(&n, 0, &cfg);
	mc_open(&n.m, 4116, 1400);
	mc_open(&n.m, 4116, 1400);
	net_rig_start(&n);
	struct bip_gw_endpoint ep[4];
	size_t k = transport_bip_gw_endpoints(n.gw, ep, 4);
	CU_ASSERT(k == 1 || k == 2);
	CU_ASSERT_STRING_EQUAL(ep[0].host, "127.0.0.1");
	if (k == 2) {
		CU_ASSERT_STRING_EQUAL(ep[1].host, "::1");
		CU_ASSERT_EQUAL(ep[1].card_port, 4116);
	}
	net_rig_free(&n);
}

/* A silent client is dropped after the idle timeout: LISTEN with 05. */
static void test_gw_idle_timeout(void)
{
	struct net_rig n;
	quiet();
	struct bip_gw_config cfg = net_rig_cfg(0, 1);
	cfg.idle_timeout_ms = 50;
	net_rig_new(&n, 0, &cfg);
	mc_events(&n.m, "0A");
	mc_open(&n.m, 4116, 1400);
	net_rig_start(&n);
	int fd = client_connect(n.port);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)2));
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0xC2)),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 41 05"));
	struct recv_want w = { .fd = fd, .want = 1 };
	CU_ASSERT(wait_for(&n, client_got, &w));
	CU_ASSERT(w.eof);
	CU_ASSERT_EQUAL(transport_bip_gw_clients(n.gw), 0);
	close(fd);
	net_rig_free(&n);
}

static bool refused(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool r = connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno == ECONNREFUSED;
	close(fd);
	return r;
}

static uint16_t port_of(struct bip_gw *gw, uint16_t card_port)
{
	struct bip_gw_endpoint ep[4];
	size_t k = transport_bip_gw_endpoints(gw, ep, 4);
	for (size_t i = 0; i < k && i < 4; i++)
		if (ep[i].card_port == card_port)
			return ep[i].port;
	return 0;
}

/* A reset card opens its ports again: the listeners stay (same host
 * port), clients of the old session are closed, ports it no longer opens
 * close. Stop closes everything; start opens again. */
static void test_gw_restart_stop(void)
{
	struct net_rig n;
	char err[256];
	quiet();
	struct bip_gw_config cfg = net_rig_cfg(0, 2);
	net_rig_new(&n, 0, &cfg);
	mc_events(&n.m, "09 0A");
	mc_open(&n.m, 4116, 1400);
	mc_open(&n.m, 3516, 1400);
	net_rig_start(&n);
	uint16_t p4116 = port_of(n.gw, 4116), p3516 = port_of(n.gw, 3516);
	CU_ASSERT(p4116 && p3516);
	int a = client_connect(p4116);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)1));

	mc_events(&n.m, "09 0A");
	mc_open(&n.m, 4116, 1400);
	CU_ASSERT_EQUAL(transport_bip_gw_restart(n.gw, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(mc_count(&n.m, 0x10), 2);
	CU_ASSERT_EQUAL(transport_bip_gw_endpoints(n.gw, NULL, 0), 1);
	CU_ASSERT_EQUAL(port_of(n.gw, 4116), p4116);
	CU_ASSERT(refused(p3516));
	struct recv_want w = { .fd = a, .want = 1 };
	CU_ASSERT(wait_for(&n, client_got, &w));
	CU_ASSERT(w.eof);
	close(a);
	size_t envs = mc_count(&n.m, 0xC2);
	int b = client_connect(p4116);
	CU_ASSERT(wait_for(&n, envs_at_least, (void *)(uintptr_t)(envs + 1)));
	CU_ASSERT_STRING_EQUAL(frame_hex(mc_last(&n.m, 0xC2)),
			       norm("D6 0B 99 01 0A 82 02 82 81 B8 02 81 00"));

	transport_bip_gw_stop(n.gw);
	CU_ASSERT_EQUAL(transport_bip_gw_endpoints(n.gw, NULL, 0), 0);
	CU_ASSERT(refused(p4116));
	struct recv_want wb = { .fd = b, .want = 1 };
	CU_ASSERT(wait_for(&n, client_got, &wb));
	CU_ASSERT(wb.eof);
	close(b);
	mc_open(&n.m, 3516, 1400);
	CU_ASSERT_EQUAL(transport_bip_gw_start(n.gw, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(transport_bip_gw_endpoints(n.gw, NULL, 0), 1);
	CU_ASSERT(port_of(n.gw, 3516) != 0);
	net_rig_free(&n);
}

/* ---- against the card side (card/cat.c, card/bip.c) ------------------ */

/* The card's connections echo what a client sends (helpers.h). */
static bool closed_at_least(struct net_rig *n, void *arg)
{
	return unit_echo_closed >= (unsigned)(uintptr_t)arg;
}

/* The emulated card's BIP server behind this gateway, over real sockets:
 * two channels on 4116, one on 3516; echo through each; a third client of
 * 4116 waits for a channel. */
static void test_gw_with_card(void)
{
	quiet();
	unit_echo_reset();
	struct card_fs *fs = card_fs_new();
	struct card *card = card_new(fs, test_atr, sizeof(test_atr));
	static const struct card_bip_port ports[] = { { 4116, 2 }, { 3516, 1 } };
	struct card_bip_config bc = { .ports = ports, .n_ports = 2, .sink = &unit_echo_sink };
	struct card_bip *bip = card_bip_new(&bc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bip);
	card_bip_attach(bip, card);
	void *ctx = transport_link_emu_new(card);

	struct net_rig n;
	net_rig_card(&n, ctx);
	char err[256] = "";
	CU_ASSERT_EQUAL(transport_bip_gw_start(n.gw, err, sizeof(err)), 0);
	CU_ASSERT(card_bip_settled(bip));
	struct bip_gw_endpoint ep[4];
	CU_ASSERT_EQUAL_FATAL(transport_bip_gw_endpoints(n.gw, ep, 4), 2);
	uint16_t p4116 = ep[0].card_port == 4116 ? ep[0].port : ep[1].port;
	uint16_t p3516 = ep[0].card_port == 3516 ? ep[0].port : ep[1].port;
	struct bip_term_channel_info ci;
	struct bip_term *term = transport_bip_gw_term(n.gw);
	for (unsigned ch = 1; ch <= 3; ch++) {
		CU_ASSERT_EQUAL(transport_bip_term_channel(term, ch, &ci), 0);
		CU_ASSERT_EQUAL(ci.state, CAT_CH_LISTEN);
		CU_ASSERT_EQUAL(ci.buffer_size, CAT_BUFFER_SIZE_DEFAULT);
	}

	int a = client_connect(p4116), b = client_connect(p4116), c = client_connect(p3516);
	int w = client_connect(p4116); /* no channel left on 4116 */
	static char big[3000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('A' + i % 23);
	CU_ASSERT_EQUAL(send(a, big, sizeof(big), 0), (ssize_t)sizeof(big));
	CU_ASSERT_EQUAL(send(b, "bee", 3, 0), 3);
	CU_ASSERT_EQUAL(send(c, "sea", 3, 0), 3);
	CU_ASSERT_EQUAL(send(w, "wait", 4, 0), 4);
	struct recv_want ra = { .fd = a, .want = sizeof(big) };
	struct recv_want rb = { .fd = b, .want = 3 }, rc = { .fd = c, .want = 3 };
	CU_ASSERT(wait_for(&n, client_got, &ra));
	CU_ASSERT(wait_for(&n, client_got, &rb));
	CU_ASSERT(wait_for(&n, client_got, &rc));
	CU_ASSERT_EQUAL(ra.len, sizeof(big));
	CU_ASSERT(memcmp(ra.buf, big, sizeof(big)) == 0);
	CU_ASSERT(rb.len == 3 && memcmp(rb.buf, "bee", 3) == 0);
	CU_ASSERT(rc.len == 3 && memcmp(rc.buf, "sea", 3) == 0);
	CU_ASSERT_EQUAL(unit_echo_opened, 3);
	/* a leaves: the card drops that connection, w gets the channel. */
	close(a);
	CU_ASSERT(wait_for(&n, closed_at_least, (void *)1));
	struct recv_want rw = { .fd = w, .want = 4 };
	CU_ASSERT(wait_for(&n, client_got, &rw));
	CU_ASSERT(rw.len == 4 && memcmp(rw.buf, "wait", 4) == 0);
	CU_ASSERT_EQUAL(unit_echo_opened, 4);
	close(b);
	close(c);
	close(w);
	CU_ASSERT(wait_for(&n, closed_at_least, (void *)4));
	CU_ASSERT_FALSE(transport_bip_term_link_down(transport_bip_gw_term(n.gw)));

	transport_bip_gw_free(n.gw);
	event_base_free(n.base);
	transport_link_emu_ops.free(ctx);
	card_free(card);
	card_bip_free(bip);
	card_fs_free(fs);
}

/* bip-open-fail with a card that retries (scws.open_retry): the first
 * OPEN CHANNEL of 4116 gets 20, the card asks for POLL INTERVAL, the
 * gateway polls with STATUS when it is over, the card opens 4116 again
 * and the listener appears; then POLLING OFF. */
static unsigned open_once_calls; /* the OPEN CHANNELs of 4116 */
static bool open_fail_once(void *arg, uint16_t port, uint8_t *result, size_t *len)
{
	(void)arg;
	if (port != 4116 || open_once_calls++)
		return false;
	result[0] = 0x20;
	*len = 1;
	return true;
}

static bool listens_on_4116(struct net_rig *n, void *arg)
{
	struct bip_gw_endpoint ep[4];
	size_t k = transport_bip_gw_endpoints(n->gw, ep, 4);
	for (size_t i = 0; i < k; i++)
		if (ep[i].card_port == 4116)
			return true;
	return false;
}

static void test_gw_open_retry_with_card(void)
{
	quiet();
	open_once_calls = 0;
	struct card_fs *fs = card_fs_new();
	struct card *card = card_new(fs, test_atr, sizeof(test_atr));
	static const struct card_bip_port ports[] = { { 4116, 1 }, { 3516, 1 } };
	struct card_bip_config bc = {
		.ports = ports, .n_ports = 2, .sink = &unit_echo_sink, .open_retry = { 1, 300 }
	};
	struct card_bip *bip = card_bip_new(&bc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bip);
	card_bip_attach(bip, card);
	void *ctx = transport_link_emu_new(card);
	struct net_rig n;
	net_rig_card(&n, ctx);
	char err[256] = "";
	struct bip_gw_fault_hooks h = { .open_fail = open_fail_once };
	transport_bip_gw_set_faults(n.gw, &h);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(transport_bip_gw_start(n.gw, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(open_once_calls, 1); /* 4116 refused */
	CU_ASSERT_FALSE(listens_on_4116(&n, NULL));
	CU_ASSERT_EQUAL(card_bip_retries_waiting(bip), 1);
	CU_ASSERT(wait_for(&n, listens_on_4116, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CU_ASSERT(ms >= 290);                /* not before the POLL INTERVAL */
	CU_ASSERT_EQUAL(open_once_calls, 2); /* 4116 again */
	CU_ASSERT(card_bip_settled(bip));
	/* POLLING OFF went: no poll timer left behind (the loop goes idle). */
	event_base_loop(n.base, EVLOOP_NONBLOCK);
	CU_ASSERT_EQUAL(transport_bip_term_pump(transport_bip_gw_term(n.gw), NULL), BIP_TERM_IDLE);
	/* The retried channel serves. */
	struct bip_gw_endpoint ep[4];
	size_t k = transport_bip_gw_endpoints(n.gw, ep, 4);
	uint16_t p4116 = 0;
	for (size_t i = 0; i < k; i++)
		if (ep[i].card_port == 4116)
			p4116 = ep[i].port;
	int a = client_connect(p4116);
	CU_ASSERT_EQUAL(send(a, "retry", 5, 0), 5);
	struct recv_want ra = { .fd = a, .want = 5 };
	CU_ASSERT(wait_for(&n, client_got, &ra));
	CU_ASSERT(ra.len == 5 && memcmp(ra.buf, "retry", 5) == 0);
	close(a);
	transport_bip_gw_free(n.gw);
	event_base_free(n.base);
	transport_link_emu_ops.free(ctx);
	card_free(card);
	card_bip_free(bip);
	card_fs_free(fs);
}

int unit_register(void)
{
	static CU_TestInfo engine[] = {
		UNIT_TEST(test_example_113),
		UNIT_TEST(test_profile_seven_channels),
		UNIT_TEST(test_start_failures),
		UNIT_TEST(test_open_buffer_sizes),
		UNIT_TEST(test_open_no_channel_and_port_busy),
		UNIT_TEST(test_open_fault),
		UNIT_TEST(test_open_lowest_free_id),
		UNIT_TEST(test_receive_chunking),
		UNIT_TEST(test_send_buffering),
		UNIT_TEST(test_close_and_status),
		UNIT_TEST(test_events_registered_only),
		UNIT_TEST(test_events_coalesce),
		UNIT_TEST(test_data_available_no_stall),
		UNIT_TEST(test_hostile_commands),
		UNIT_TEST(test_hostile_fetch),
		UNIT_TEST(test_hostile_endless),
		UNIT_TEST(test_link_emu),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo gw[] = {
		UNIT_TEST(test_gw_echo_flow),
		UNIT_TEST(test_gw_faults),
		UNIT_TEST(test_gw_backlog),
		UNIT_TEST(test_gw_close_flushes),
		UNIT_TEST(test_gw_rx_backpressure),
		UNIT_TEST(test_gw_listen_failures),
		UNIT_TEST(test_gw_default_addresses),
		UNIT_TEST(test_gw_idle_timeout),
		UNIT_TEST(test_gw_restart_stop),
		UNIT_TEST(test_gw_with_card),
		UNIT_TEST(test_gw_open_retry_with_card),
		CU_TEST_INFO_NULL,
	};
	signal(SIGPIPE, SIG_IGN);
	int rc = unit_add_suite("transport_bip_term", engine);
	return rc ? rc : unit_add_suite("transport_bip_gw", gw);
}
