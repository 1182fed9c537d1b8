/* test_vpcd.c - unit tests for the vpcd card link (vsmartcard vpcd protocol):
 * src/transport/vpcd_frame.c (framing at every split point, controls, bad
 * frames, a real card behind it) and src/transport/vpcd.c (the libevent
 * client against a fake vpcd on loopback: answers, partial reads and
 * writes, reconnects, one log line per outage, stop/start). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "card/card.h"
#include "card/layout.h"
#include "config/profile.h"
#include "core/hex.h"
#include "core/log.h"
#include "runner.h"
#include "transport/vpcd.h"
#include "transport/vpcd_frame.h"

#define DEFAULT_ATR "3B9F96801FC78031E073FE211B633A204E83009000 93"
#define ICCID "98 88 02 00 00 00 00 00 00 F6"
#define SELECT_MF "00A4000C023F00"
#define SELECT_ICCID "00A4000C022FE2"
#define READ_10 "00B000000A"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(hex_decode(s, out, cap, &n), 0);
	return n;
}

/* --- the default card -------------------------------------------------- */

static struct profile *prof;
static struct card_fs *fs;
static struct card *card;

static int load_card(void)
{
	struct profile_error perr;
	char msg[512];
	if (profile_load(unit_srcpath("cards/default"), &prof, &perr) != 0) {
		fprintf(stderr, "%s\n", profile_error_str(&perr, msg, sizeof(msg)));
		return -1;
	}
	if (card_layout_build(&prof->card, &fs, msg, sizeof(msg)) != 0)
		return -1;
	card = card_new(fs, prof->card.atr, prof->card.atr_len);
	return card ? 0 : -1;
}

static int free_card(void)
{
	card_free(card);
	card_fs_free(fs);
	profile_free(prof);
	card = NULL;
	fs = NULL;
	prof = NULL;
	return 0;
}

/* --- framing ----------------------------------------------------------- */

/* A stream of messages as vpcd sends them, and what each one is. */
static const char *const stream_msgs[] = {
	"01", "04", SELECT_MF, "02", "00B0820000", "00", "04",
};

static size_t build_stream(uint8_t *out, size_t cap, uint8_t msgs[][400], size_t *lens)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(stream_msgs) / sizeof(stream_msgs[0]); i++) {
		size_t flen = 0;
		lens[i] = unhex(stream_msgs[i], msgs[i], 400);
		CU_ASSERT_EQUAL_FATAL(
			transport_vpcd_frame_encode(msgs[i], lens[i], out + n, cap - n, &flen), 0);
		n += flen;
	}
	/* One long APDU too: 300 bytes of UPDATE BINARY-ish data. */
	size_t last = sizeof(stream_msgs) / sizeof(stream_msgs[0]);
	lens[last] = 305;
	msgs[last][0] = 0x00;
	msgs[last][1] = 0xD6;
	msgs[last][2] = 0x00;
	msgs[last][3] = 0x00;
	msgs[last][4] = 0x00; /* extended Lc follows */
	for (size_t i = 5; i < 305; i++)
		msgs[last][i] = (uint8_t)i;
	size_t flen = 0;
	CU_ASSERT_EQUAL_FATAL(transport_vpcd_frame_encode(msgs[last], 305, out + n, cap - n, &flen),
			      0);
	return n + flen;
}

#define STREAM_MSGS (sizeof(stream_msgs) / sizeof(stream_msgs[0]) + 1)

/* Feeds the stream in pieces cut at the given points (sorted, may be
 * empty) and checks that exactly the messages come out, in order. */
static void feed_pieces(const uint8_t *s, size_t len, const size_t *cuts, size_t ncuts,
			uint8_t msgs[][400], const size_t *lens)
{
	struct transport_vpcd_frame f;
	size_t got = 0, start = 0;
	CU_ASSERT_EQUAL_FATAL(transport_vpcd_frame_init(&f, 1024), 0);
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : len;
		size_t pos = start;
		while (pos < end) {
			size_t used = 0, mlen = 0;
			int rc = transport_vpcd_frame_feed(&f, s + pos, end - pos, &used);
			pos += used;
			if (rc == -EAGAIN) {
				CU_ASSERT_EQUAL(pos, end);
				break;
			}
			CU_ASSERT_EQUAL_FATAL(rc, 0);
			const uint8_t *m = transport_vpcd_frame_msg(&f, &mlen);
			CU_ASSERT_FATAL(got < STREAM_MSGS);
			CU_ASSERT_EQUAL(mlen, lens[got]);
			CU_ASSERT(m && mlen == lens[got] && memcmp(m, msgs[got], mlen) == 0);
			got++;
		}
		start = end;
	}
	CU_ASSERT_EQUAL(got, STREAM_MSGS);
	transport_vpcd_frame_cleanup(&f);
}

static void test_frame_every_split(void)
{
	static uint8_t msgs[STREAM_MSGS][400];
	size_t lens[STREAM_MSGS];
	uint8_t s[1024];
	size_t len = build_stream(s, sizeof(s), msgs, lens);
	size_t cuts[1024];
	/* Whole, then cut in two at every point, then one byte per feed. */
	feed_pieces(s, len, NULL, 0, msgs, lens);
	for (size_t i = 1; i < len; i++) {
		cuts[0] = i;
		feed_pieces(s, len, cuts, 1, msgs, lens);
	}
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	feed_pieces(s, len, cuts, len - 1, msgs, lens);
}

/* Every proper prefix leaves the decoder waiting, never failing. */
static void test_frame_prefixes(void)
{
	static uint8_t msgs[STREAM_MSGS][400];
	size_t lens[STREAM_MSGS];
	uint8_t s[1024];
	size_t len = build_stream(s, sizeof(s), msgs, lens);
	/* The last frame alone: 2 + 305 bytes at the end. */
	const uint8_t *last = s + len - 307;
	for (size_t i = 0; i < 307; i++) {
		struct transport_vpcd_frame f;
		size_t used = 0, mlen = 1;
		CU_ASSERT_EQUAL_FATAL(transport_vpcd_frame_init(&f, VPCD_MSG_MAX), 0);
		CU_ASSERT_EQUAL(transport_vpcd_frame_feed(&f, last, i, &used), -EAGAIN);
		CU_ASSERT_EQUAL(used, i);
		CU_ASSERT_PTR_NULL(transport_vpcd_frame_msg(&f, &mlen));
		CU_ASSERT_EQUAL(mlen, 0);
		transport_vpcd_frame_cleanup(&f);
	}
}

static void test_frame_zero_length(void)
{
	static const uint8_t zero[] = { 0x00, 0x00, 0x00, 0x01, 0x04 };
	static const uint8_t ok[] = { 0x00, 0x01, 0x04 };
	struct transport_vpcd_frame f;
	size_t used = 99, mlen = 0;
	CU_ASSERT_EQUAL_FATAL(transport_vpcd_frame_init(&f, 16), 0);
	CU_ASSERT_EQUAL(transport_vpcd_frame_feed(&f, zero, sizeof(zero), &used), -EPROTO);
	CU_ASSERT_EQUAL(used, 0);
	/* Sticky: the stream cannot be trusted any more. */
	CU_ASSERT_EQUAL(transport_vpcd_frame_feed(&f, ok, sizeof(ok), &used), -EPROTO);
	/* Also when the zero length arrives a byte at a time. */
	transport_vpcd_frame_reset(&f);
	CU_ASSERT_EQUAL(transport_vpcd_frame_feed(&f, zero, 1, &used), -EAGAIN);
	CU_ASSERT_EQUAL(transport_vpcd_frame_feed(&f, zero + 1, 1, &used), -EPROTO);
	/* A new connection starts clean. */
	transport_vpcd_frame_reset(&f);
	CU_ASSERT_EQUAL(transport_vpcd_frame_feed(&f, ok, sizeof(ok), &used), 0);
	CU_ASSERT_EQUAL(used, 3);
	const uint8_t *m = transport_vpcd_frame_msg(&f, &mlen);
	CU_ASSERT(m && mlen == 1 && m[0] == 0x04);
	transport_vpcd_frame_cleanup(&f);
	transport_vpcd_frame_cleanup(&f); /* twice is harmless */
}

static void test_frame_oversized(void)
{
	uint8_t s[2 + 11];
	struct transport_vpcd_frame f;
	size_t used = 0, mlen = 0;
	memset(s, 0xAB, sizeof(s));
	s[0] = 0;
	s[1] = 10;
	CU_ASSERT_EQUAL_FATAL(transport_vpcd_frame_init(&f, 10), 0);
	CU_ASSERT_EQUAL(transport_vpcd_frame_feed(&f, s, 12, &used), 0);
	CU_ASSERT(transport_vpcd_frame_msg(&f, &mlen) != NULL && mlen == 10);
	s[1] = 11;
	CU_ASSERT_EQUAL(transport_vpcd_frame_feed(&f, s, sizeof(s), &used), -EMSGSIZE);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_EQUAL(transport_vpcd_frame_feed(&f, s, sizeof(s), &used), -EMSGSIZE);
	transport_vpcd_frame_cleanup(&f);
	/* Lengths 0xFFxx against the protocol's own limit: accepted. */
	CU_ASSERT_EQUAL_FATAL(transport_vpcd_frame_init(&f, VPCD_MSG_MAX), 0);
	s[0] = 0xFF;
	s[1] = 0xFF;
	CU_ASSERT_EQUAL(transport_vpcd_frame_feed(&f, s, 2, &used), -EAGAIN);
	transport_vpcd_frame_cleanup(&f);
	CU_ASSERT_EQUAL(transport_vpcd_frame_init(&f, 0), -EINVAL);
	CU_ASSERT_EQUAL(transport_vpcd_frame_init(&f, VPCD_MSG_MAX + 1), -EINVAL);
}

static void test_frame_encode(void)
{
	static const uint8_t m[] = { 0x90, 0x00 };
	uint8_t out[8], *big = malloc(VPCD_MSG_MAX + 3);
	size_t len = 0;
	CU_ASSERT_FATAL(big != NULL);
	CU_ASSERT_EQUAL(transport_vpcd_frame_encode(m, 2, out, sizeof(out), &len), 0);
	CU_ASSERT(len == 4 && out[0] == 0 && out[1] == 2 && out[2] == 0x90 && out[3] == 0);
	CU_ASSERT_EQUAL(transport_vpcd_frame_encode(m, 2, out, 3, &len), -EMSGSIZE);
	CU_ASSERT_EQUAL(transport_vpcd_frame_encode(m, 0, out, sizeof(out), &len), -EINVAL);
	CU_ASSERT_EQUAL(transport_vpcd_frame_encode(NULL, 2, out, sizeof(out), &len), -EINVAL);
	memset(big, 0x11, VPCD_MSG_MAX + 3);
	CU_ASSERT_EQUAL(transport_vpcd_frame_encode(big, VPCD_MSG_MAX, big, VPCD_MSG_MAX + 2, &len),
			0);
	CU_ASSERT(len == VPCD_MSG_MAX + 2 && big[0] == 0xFF && big[1] == 0xFF && big[2] == 0x11);
	CU_ASSERT_EQUAL(
		transport_vpcd_frame_encode(big, VPCD_MSG_MAX + 1, big + 0, VPCD_MSG_MAX + 3, &len),
		-EMSGSIZE);
	free(big);
}

/* --- messages answered by the card ------------------------------------- */

struct ctrl_case {
	uint8_t byte;
	enum transport_vpcd_kind kind;
	const char *answer; /* frame, NULL when none */
};

static const struct ctrl_case ctrl_cases[] = {
	{ 0x00, VPCD_KIND_POWER_OFF, NULL },
	{ 0x01, VPCD_KIND_POWER_ON, NULL },
	{ 0x02, VPCD_KIND_RESET, NULL },
	{ 0x03, VPCD_KIND_UNKNOWN, NULL },
	{ 0x04, VPCD_KIND_ATR, "0016" DEFAULT_ATR },
	{ 0x05, VPCD_KIND_UNKNOWN, NULL },
	{ 0x80, VPCD_KIND_UNKNOWN, NULL },
	{ 0xFF, VPCD_KIND_UNKNOWN, NULL },
};

static void test_handle_controls(void)
{
	static uint8_t out[VPCD_FRAME_MAX];
	for (size_t i = 0; i < sizeof(ctrl_cases) / sizeof(ctrl_cases[0]); i++) {
		const struct ctrl_case *c = &ctrl_cases[i];
		enum transport_vpcd_kind kind = VPCD_KIND_APDU;
		uint8_t want[64];
		size_t len = 99, wlen = c->answer ? unhex(c->answer, want, sizeof(want)) : 0;
		CU_ASSERT_EQUAL(transport_vpcd_frame_handle(card, &c->byte, 1, out, sizeof(out),
							    &len, &kind),
				0);
		CU_ASSERT_EQUAL(kind, c->kind);
		CU_ASSERT_EQUAL(len, wlen);
		CU_ASSERT(len == wlen && memcmp(out, want, wlen) == 0);
	}
	CU_ASSERT_STRING_EQUAL(transport_vpcd_kind_name(VPCD_KIND_ATR), "get ATR");
	CU_ASSERT_STRING_EQUAL(transport_vpcd_kind_name((enum transport_vpcd_kind)42), "?");
}

/* Sends hex C-APDU through the handler; compares the R-APDU (no prefix). */
static void apdu(const char *capdu, const char *rapdu)
{
	static uint8_t out[VPCD_FRAME_MAX];
	uint8_t c[300], want[300];
	size_t clen = unhex(capdu, c, sizeof(c)), wlen = unhex(rapdu, want, sizeof(want));
	size_t len = 0;
	enum transport_vpcd_kind kind = VPCD_KIND_UNKNOWN;
	CU_ASSERT_EQUAL_FATAL(
		transport_vpcd_frame_handle(card, c, clen, out, sizeof(out), &len, &kind), 0);
	CU_ASSERT_EQUAL(kind, VPCD_KIND_APDU);
	CU_ASSERT_EQUAL(len, 2 + wlen);
	CU_ASSERT(len >= 2 && (size_t)((out[0] << 8) | out[1]) == len - 2);
	if (len != 2 + wlen || memcmp(out + 2, want, wlen) != 0) {
		char hex[700];
		fprintf(stderr, "\n  %s -> %s, want %s\n", capdu,
			hex_encode(out + 2, len > 2 ? len - 2 : 0, ' ', hex, sizeof(hex)), rapdu);
		CU_FAIL("R-APDU");
	}
}

static void ctrl(uint8_t byte)
{
	uint8_t out[8];
	size_t len = 1;
	CU_ASSERT_EQUAL(transport_vpcd_frame_handle(card, &byte, 1, out, sizeof(out), &len, NULL),
			0);
	CU_ASSERT_EQUAL(len, 0);
}

/* A real card answers; every power or reset message drops its state. */
static void test_handle_card(void)
{
	static const uint8_t resets[] = { VPCD_CTRL_OFF, VPCD_CTRL_ON, VPCD_CTRL_RESET };
	ctrl(VPCD_CTRL_ON);
	apdu(SELECT_MF, "9000");
	apdu("00B082000A", ICCID "9000");
	for (size_t i = 0; i < sizeof(resets); i++) {
		apdu(SELECT_ICCID, "9000");
		apdu(READ_10, ICCID "9000");
		ctrl(resets[i]);
		/* No current EF after a reset. */
		apdu(READ_10, "6986");
	}
	/* An unknown control byte changes nothing. */
	apdu(SELECT_ICCID, "9000");
	ctrl(0x03);
	apdu(READ_10, ICCID "9000");
	/* Malformed APDUs still get a status word. */
	apdu("0000", "6700");
	apdu("00B0", "6700");
}

static void test_handle_errors(void)
{
	static const uint8_t sel[] = { 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00 };
	static const uint8_t atr_ctrl = VPCD_CTRL_ATR;
	uint8_t out[8];
	size_t len = 0;
	CU_ASSERT_EQUAL(transport_vpcd_frame_handle(NULL, sel, 7, out, 8, &len, NULL), -EINVAL);
	CU_ASSERT_EQUAL(transport_vpcd_frame_handle(card, NULL, 7, out, 8, &len, NULL), -EINVAL);
	CU_ASSERT_EQUAL(transport_vpcd_frame_handle(card, sel, 0, out, 8, &len, NULL), -EINVAL);
	CU_ASSERT_EQUAL(transport_vpcd_frame_handle(card, sel, 7, out, 3, &len, NULL), -EMSGSIZE);
	CU_ASSERT_EQUAL(transport_vpcd_frame_handle(card, &atr_ctrl, 1, out, 8, &len, NULL),
			-EMSGSIZE);
	CU_ASSERT_EQUAL(transport_vpcd_frame_handle(card, sel, 7, out, 4, &len, NULL), 0);
	CU_ASSERT(len == 4 && out[2] == 0x90 && out[3] == 0x00);
}

/* An R-APDU that 16 bits cannot frame is answered 6F 00. */
static void test_handle_too_long(void)
{
	static uint8_t out[VPCD_FRAME_MAX];
	/* READ BINARY, extended Le 0000 (65536) of a 65535-byte EF. */
	static const uint8_t rb[] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t sel[] = { 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x6F, 0x01 };
	uint8_t *data = calloc(1, CARD_EF_SIZE_MAX);
	struct card_fs *big = card_fs_new();
	struct card *c;
	size_t len = 0;
	CU_ASSERT_FATAL(data && big);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(big->mf, 0x6F01, data, CARD_EF_SIZE_MAX, NULL), 0);
	c = card_new(big, prof->card.atr, prof->card.atr_len);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(
		transport_vpcd_frame_handle(c, sel, sizeof(sel), out, sizeof(out), &len, NULL), 0);
	CU_ASSERT(len == 4 && out[2] == 0x90);
	CU_ASSERT_EQUAL(
		transport_vpcd_frame_handle(c, rb, sizeof(rb), out, sizeof(out), &len, NULL), 0);
	CU_ASSERT(len == 4 && out[0] == 0 && out[1] == 2 && out[2] == 0x6F && out[3] == 0x00);
	card_free(c);
	card_fs_free(big);
	free(data);
}

/* --- the libevent client against a fake vpcd ---------------------------- */

static struct {
	unsigned warn, info, total;
	char last[512];
} logs;

static void log_sink(void *arg, enum log_level level, const char *line)
{
	logs.total++;
	if (level == LOG_WARN)
		logs.warn++;
	if (level == LOG_INFO)
		logs.info++;
	snprintf(logs.last, sizeof(logs.last), "%s", line);
}

struct fake {
	int lfd, cfd;
	uint16_t port;
	uint8_t in[VPCD_FRAME_MAX + 64];
	size_t in_len;
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* rcvbuf 0: the system's default. */
static int listen_on(uint16_t port, int rcvbuf, uint16_t *bound)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Before listen(): accepted sockets inherit it, window scale too. */
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(sa.sin_port);
	return fd;
}

static void fake_open_rcvbuf(struct fake *f, uint16_t port, int rcvbuf)
{
	memset(f, 0, sizeof(*f));
	f->cfd = -1;
	f->lfd = listen_on(port, rcvbuf, &f->port);
	CU_ASSERT_FATAL(f->lfd >= 0);
}

static void fake_open(struct fake *f, uint16_t port)
{
	fake_open_rcvbuf(f, port, 0);
}

static void fake_close(struct fake *f)
{
	if (f->cfd >= 0)
		close(f->cfd);
	if (f->lfd >= 0)
		close(f->lfd);
	f->cfd = f->lfd = -1;
}

/* Runs the loop until cond(arg) or ms pass; returns cond's last value. */
static bool pump(struct event_base *base, bool (*cond)(void *), void *arg, int ms)
{
	double end = now_ms() + ms;
	for (;;) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (cond && cond(arg))
			return true;
		if (now_ms() >= end)
			return cond ? cond(arg) : true;
		poll(NULL, 0, 1);
	}
}

static bool fake_accepted(void *arg)
{
	struct fake *f = arg;
	if (f->cfd < 0)
		f->cfd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (f->cfd >= 0)
		f->in_len = 0;
	return f->cfd >= 0;
}

/* Reads what the client sends; true once a whole frame is in f->in. */
static bool fake_has_frame(void *arg)
{
	struct fake *f = arg;
	ssize_t n = recv(f->cfd, f->in + f->in_len, sizeof(f->in) - f->in_len, 0);
	if (n > 0)
		f->in_len += (size_t)n;
	return f->in_len >= 2 && f->in_len >= 2 + (size_t)((f->in[0] << 8) | f->in[1]);
}

/* EOF from the client. */
static bool fake_eof(void *arg)
{
	struct fake *f = arg;
	uint8_t b[64];
	return recv(f->cfd, b, sizeof(b), 0) == 0;
}

static void fake_send_hex(struct fake *f, const char *hex)
{
	uint8_t b[512];
	size_t n = unhex(hex, b, sizeof(b));
	CU_ASSERT_EQUAL(send(f->cfd, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Sends a frame and expects the answer frame (hex, prefix included). */
static void exchange(struct event_base *base, struct fake *f, const char *frame, const char *want)
{
	uint8_t w[512];
	size_t wlen = unhex(want, w, sizeof(w));
	f->in_len = 0;
	fake_send_hex(f, frame);
	CU_ASSERT_FATAL(pump(base, fake_has_frame, f, 3000));
	CU_ASSERT_EQUAL(f->in_len, wlen);
	CU_ASSERT(f->in_len == wlen && memcmp(f->in, w, wlen) == 0);
	f->in_len = 0;
}

struct traced {
	unsigned n;
	uint8_t c[64], r[64];
	size_t clen, rlen;
};

static void on_trace(void *arg, const uint8_t *c, size_t clen, const uint8_t *r, size_t rlen)
{
	struct traced *t = arg;
	t->n++;
	t->clen = clen < sizeof(t->c) ? clen : sizeof(t->c);
	t->rlen = rlen < sizeof(t->r) ? rlen : sizeof(t->r);
	memcpy(t->c, c, t->clen);
	memcpy(t->r, r, t->rlen);
}

static struct transport_vpcd *client_new(struct event_base *base, uint16_t port,
					 unsigned backoff_max_ms)
{
	struct transport_vpcd_opts opts = { .backoff_min_ms = 10,
					    .backoff_max_ms = backoff_max_ms };
	char spec[64], err[256];
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", (unsigned)port);
	struct transport_vpcd *v = transport_vpcd_new(base, card, spec, &opts, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

static void test_client_exchange(void)
{
	struct event_base *base = event_base_new();
	struct fake f;
	struct traced t = { 0 };
	struct transport_vpcd_stats st;
	char peer[32];
	CU_ASSERT_FATAL(base != NULL);
	fake_open(&f, 0);
	memset(&logs, 0, sizeof(logs));
	log_set_sink(log_sink, NULL);
	struct transport_vpcd *v = client_new(base, f.port, 100);
	snprintf(peer, sizeof(peer), "127.0.0.1:%u", (unsigned)f.port);
	CU_ASSERT_STRING_EQUAL(transport_vpcd_peer(v), peer);
	transport_vpcd_set_trace(v, on_trace, &t);
	CU_ASSERT(!transport_vpcd_is_connected(v));
	transport_vpcd_start(v);
	CU_ASSERT_FATAL(pump(base, fake_accepted, &f, 3000));
	pump(base, NULL, NULL, 20);
	CU_ASSERT(transport_vpcd_is_connected(v));
	CU_ASSERT_EQUAL(logs.info, 1);
	CU_ASSERT(strstr(logs.last, "connected to vpcd") != NULL);

	exchange(base, &f, "0001 04", "0016" DEFAULT_ATR);
	fake_send_hex(&f, "0001 01"); /* power on: no answer */
	exchange(base, &f, "0007" SELECT_ICCID, "0002 9000");
	exchange(base, &f, "0005" READ_10, "000C" ICCID "9000");
	CU_ASSERT_EQUAL(t.n, 2);
	CU_ASSERT(t.clen == 5 && memcmp(t.c, "\x00\xB0\x00\x00\x0A", 5) == 0);
	CU_ASSERT(t.rlen == 12 && t.r[10] == 0x90 && t.r[11] == 0x00);

	/* A frame split over several segments, and a reset then an APDU in
	 * one segment: the reset takes effect before the APDU. */
	fake_send_hex(&f, "00");
	pump(base, NULL, NULL, 20);
	fake_send_hex(&f, "07 00A4");
	pump(base, NULL, NULL, 20);
	exchange(base, &f, "000C022FE2", "0002 9000");
	exchange(base, &f, "0001 02 0005" READ_10, "0002 6986");

	transport_vpcd_get_stats(v, &st);
	CU_ASSERT_EQUAL(st.connects, 1);
	CU_ASSERT_EQUAL(st.apdus, 4);
	CU_ASSERT_EQUAL(st.controls, 3);
	CU_ASSERT_EQUAL(st.errors, 0);
	CU_ASSERT_EQUAL(logs.warn, 0);

	/* stop: the card leaves the reader (vpcd sees EOF), quietly. */
	transport_vpcd_stop(v);
	CU_ASSERT(!transport_vpcd_is_connected(v));
	CU_ASSERT(pump(base, fake_eof, &f, 1000));
	close(f.cfd);
	f.cfd = -1;
	/* start: it comes back. */
	transport_vpcd_start(v);
	CU_ASSERT_FATAL(pump(base, fake_accepted, &f, 3000));
	exchange(base, &f, "0001 04", "0016" DEFAULT_ATR);
	CU_ASSERT_EQUAL(logs.warn, 0);

	transport_vpcd_free(v);
	CU_ASSERT(pump(base, fake_eof, &f, 1000));
	log_set_sink(NULL, NULL);
	fake_close(&f);
	event_base_free(base);
	transport_vpcd_free(NULL);
}

/* apdu-delay: the hook holds the answer; the command behind it waits. */
static unsigned delay_calls;
static unsigned delay_first(void *arg, const uint8_t *capdu, size_t clen)
{
	(void)arg;
	CU_ASSERT(clen >= 4);
	return delay_calls++ == 0 ? 300 : 0;
}

static void test_client_delay(void)
{
	struct event_base *base = event_base_new();
	struct fake f;
	CU_ASSERT_FATAL(base != NULL);
	fake_open(&f, 0);
	struct transport_vpcd *v = client_new(base, f.port, 100);
	delay_calls = 0;
	transport_vpcd_set_delay(v, delay_first, NULL);
	transport_vpcd_start(v);
	CU_ASSERT_FATAL(pump(base, fake_accepted, &f, 3000));
	exchange(base, &f, "0001 04", "0016" DEFAULT_ATR); /* controls are not delayed */
	CU_ASSERT_EQUAL(delay_calls, 0);
	double t0 = now_ms();
	/* Two APDUs in one segment: the first is held, the second behind it. */
	f.in_len = 0;
	fake_send_hex(&f, "0007" SELECT_ICCID "0005" READ_10);
	CU_ASSERT_FALSE(pump(base, fake_has_frame, &f, 200));
	CU_ASSERT_EQUAL(f.in_len, 0);
	CU_ASSERT_FATAL(pump(base, fake_has_frame, &f, 3000));
	CU_ASSERT(now_ms() - t0 >= 290);
	CU_ASSERT(f.in_len >= 4 && memcmp(f.in, "\x00\x02\x90\x00", 4) == 0);
	memmove(f.in, f.in + 4, f.in_len - 4);
	f.in_len -= 4;
	CU_ASSERT(pump(base, fake_has_frame, &f, 3000));
	CU_ASSERT(f.in_len == 14 && f.in[12] == 0x90);
	CU_ASSERT_EQUAL(delay_calls, 2);
	/* Stopped while an answer is held: no timer left behind. */
	delay_calls = 0;
	f.in_len = 0;
	fake_send_hex(&f, "0005" READ_10);
	pump(base, NULL, NULL, 50);
	transport_vpcd_stop(v);
	pump(base, NULL, NULL, 400);
	transport_vpcd_free(v);
	fake_close(&f);
	event_base_free(base);
}

/* vpcd not there yet: one warning however many attempts, then it connects
 * when vpcd comes up; lost again: one more warning, and it reconnects. */
static void test_client_reconnect(void)
{
	struct event_base *base = event_base_new();
	struct fake f;
	struct transport_vpcd_stats st;
	uint16_t port;
	int fd = listen_on(0, 0, &port);
	CU_ASSERT_FATAL(base && fd >= 0);
	close(fd); /* a port where nobody listens, for now */
	memset(&logs, 0, sizeof(logs));
	log_set_sink(log_sink, NULL);
	struct transport_vpcd *v = client_new(base, port, 40);
	transport_vpcd_start(v);
	pump(base, NULL, NULL, 400); /* about ten attempts */
	CU_ASSERT_EQUAL(logs.warn, 1);
	CU_ASSERT(strstr(logs.last, "cannot connect to vpcd") != NULL);
	CU_ASSERT(!transport_vpcd_is_connected(v));

	fake_open(&f, port);
	CU_ASSERT_FATAL(pump(base, fake_accepted, &f, 3000));
	exchange(base, &f, "0001 04", "0016" DEFAULT_ATR);
	CU_ASSERT_EQUAL(logs.warn, 1);
	CU_ASSERT(strstr(logs.last, "connected to vpcd") != NULL);

	/* pcscd restarts: the connection drops, the listener stays. */
	close(f.cfd);
	f.cfd = -1;
	CU_ASSERT_FATAL(pump(base, fake_accepted, &f, 3000));
	exchange(base, &f, "0001 04", "0016" DEFAULT_ATR);
	CU_ASSERT_EQUAL(logs.warn, 2);

	/* pcscd gone for a while: still one line for the outage. */
	fake_close(&f);
	pump(base, NULL, NULL, 300);
	CU_ASSERT_EQUAL(logs.warn, 3);
	CU_ASSERT(strstr(logs.last, "lost") != NULL);
	fake_open(&f, port);
	CU_ASSERT_FATAL(pump(base, fake_accepted, &f, 3000));
	exchange(base, &f, "0001 04", "0016" DEFAULT_ATR);
	CU_ASSERT_EQUAL(logs.warn, 3);

	transport_vpcd_get_stats(v, &st);
	CU_ASSERT_EQUAL(st.connects, 3);
	transport_vpcd_free(v);
	log_set_sink(NULL, NULL);
	fake_close(&f);
	event_base_free(base);
}

/* A zero-length frame drops the connection; the client comes back. */
static void test_client_bad_frame(void)
{
	struct event_base *base = event_base_new();
	struct fake f;
	struct transport_vpcd_stats st;
	CU_ASSERT_FATAL(base != NULL);
	fake_open(&f, 0);
	memset(&logs, 0, sizeof(logs));
	log_set_sink(log_sink, NULL);
	struct transport_vpcd *v = client_new(base, f.port, 100);
	transport_vpcd_start(v);
	CU_ASSERT_FATAL(pump(base, fake_accepted, &f, 3000));
	fake_send_hex(&f, "0000");
	CU_ASSERT(pump(base, fake_eof, &f, 1000));
	CU_ASSERT_EQUAL(logs.warn, 1);
	CU_ASSERT(strstr(logs.last, "empty frame") != NULL);
	close(f.cfd);
	f.cfd = -1;
	CU_ASSERT_FATAL(pump(base, fake_accepted, &f, 3000));
	exchange(base, &f, "0007" SELECT_MF, "0002 9000");
	transport_vpcd_get_stats(v, &st);
	CU_ASSERT_EQUAL(st.errors, 1);
	CU_ASSERT_EQUAL(st.connects, 2);
	transport_vpcd_free(v);
	log_set_sink(NULL, NULL);
	fake_close(&f);
	event_base_free(base);
}

/* Answers larger than the socket takes at once: reading pauses, the rest
 * leaves when there is room, and the messages already received are
 * answered after it, in order. */
static bool frame_complete(const struct fake *f, size_t *flen)
{
	if (f->in_len < 2)
		return false;
	*flen = 2 + (size_t)((f->in[0] << 8) | f->in[1]);
	return f->in_len >= *flen;
}

static bool fake_has_frame_buffered(void *arg)
{
	size_t flen;
	struct fake *f = arg;
	if (frame_complete(f, &flen))
		return true;
	return fake_has_frame(arg);
}

static void test_client_big_answers(void)
{
	enum { EF_LEN = 0xFFF0, N_READS = 4 };
	static const uint8_t rb[] = { 0x00, 0x07, 0x00, 0xB0, 0x00, 0x00, 0x00, 0xFF, 0xF0 };
	static const uint8_t sel[] = { 0x00, 0x07, 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x6F, 0x01 };
	struct event_base *base = event_base_new();
	uint8_t *data = malloc(EF_LEN);
	struct card_fs *big = card_fs_new();
	struct card *c;
	struct fake *f = calloc(1, sizeof(*f));
	struct transport_vpcd_stats st;
	uint8_t burst[N_READS * sizeof(rb) + sizeof(sel)];
	char spec[64], err[256];
	size_t flen = 0;
	CU_ASSERT_FATAL(base && data && big && f);
	for (size_t i = 0; i < EF_LEN; i++)
		data[i] = (uint8_t)(i * 13);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(big->mf, 0x6F01, data, EF_LEN, NULL), 0);
	c = card_new(big, prof->card.atr, prof->card.atr_len);
	CU_ASSERT_FATAL(c != NULL);
	fake_open_rcvbuf(f, 0, 4096);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", (unsigned)f->port);
	struct transport_vpcd_opts opts = { .sndbuf = 4096 };
	struct transport_vpcd *v = transport_vpcd_new(base, c, spec, &opts, err, sizeof(err));
	CU_ASSERT_FATAL(v != NULL);
	transport_vpcd_start(v);
	CU_ASSERT_FATAL(pump(base, fake_accepted, f, 3000));
	CU_ASSERT_EQUAL(send(f->cfd, sel, sizeof(sel), 0), (ssize_t)sizeof(sel));
	CU_ASSERT_FATAL(pump(base, fake_has_frame, f, 3000));
	CU_ASSERT(f->in_len == 4 && f->in[2] == 0x90);
	/* Four READ BINARY of 0xFFF0 bytes and a SELECT in one segment, and
	 * nothing read for a while: 256 KiB cannot all be queued in small
	 * socket buffers. */
	for (size_t i = 0; i < N_READS; i++)
		memcpy(burst + i * sizeof(rb), rb, sizeof(rb));
	memcpy(burst + N_READS * sizeof(rb), sel, sizeof(sel));
	f->in_len = 0;
	CU_ASSERT_EQUAL(send(f->cfd, burst, sizeof(burst), 0), (ssize_t)sizeof(burst));
	pump(base, NULL, NULL, 50);
	for (size_t i = 0; i <= N_READS; i++) {
		CU_ASSERT_FATAL(pump(base, fake_has_frame_buffered, f, 3000));
		CU_ASSERT_FATAL(frame_complete(f, &flen));
		if (i < N_READS) {
			CU_ASSERT_EQUAL(flen, 2 + EF_LEN + 2);
			CU_ASSERT(flen == 2 + EF_LEN + 2 && memcmp(f->in + 2, data, EF_LEN) == 0 &&
				  f->in[2 + EF_LEN] == 0x90 && f->in[3 + EF_LEN] == 0x00);
		} else {
			CU_ASSERT(flen == 4 && f->in[2] == 0x90 && f->in[3] == 0x00);
		}
		memmove(f->in, f->in + flen, f->in_len - flen);
		f->in_len -= flen;
	}
	CU_ASSERT_EQUAL(f->in_len, 0);
	transport_vpcd_get_stats(v, &st);
	CU_ASSERT(st.stalls >= 1);
	CU_ASSERT_EQUAL(st.apdus, 2 + N_READS);
	CU_ASSERT_EQUAL(st.errors, 0);
	transport_vpcd_free(v);
	fake_close(f);
	free(f);
	card_free(c);
	card_fs_free(big);
	free(data);
	event_base_free(base);
}

static void test_client_new_errors(void)
{
	struct event_base *base = event_base_new();
	char err[256] = "";
	CU_ASSERT_FATAL(base != NULL);
	CU_ASSERT_PTR_NULL(
		transport_vpcd_new(base, card, "127.0.0.1:99999", NULL, err, sizeof(err)));
	CU_ASSERT(strstr(err, "port") != NULL);
	CU_ASSERT_PTR_NULL(
		transport_vpcd_new(base, card, "nowhere.invalid", NULL, err, sizeof(err)));
	CU_ASSERT(strstr(err, "nowhere.invalid") != NULL);
	CU_ASSERT_PTR_NULL(transport_vpcd_new(NULL, card, "127.0.0.1", NULL, err, sizeof(err)));
	CU_ASSERT_PTR_NULL(transport_vpcd_new(base, NULL, "127.0.0.1", NULL, err, sizeof(err)));
	/* Default port. */
	struct transport_vpcd *v =
		transport_vpcd_new(base, card, "127.0.0.1", NULL, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(v);
	if (v)
		CU_ASSERT_STRING_EQUAL(transport_vpcd_peer(v), "127.0.0.1:35963");
	transport_vpcd_free(v);
	event_base_free(base);
}

int unit_register(void)
{
	static CU_TestInfo frame_tests[] = {
		UNIT_TEST(test_frame_every_split),
		UNIT_TEST(test_frame_prefixes),
		UNIT_TEST(test_frame_zero_length),
		UNIT_TEST(test_frame_oversized),
		UNIT_TEST(test_frame_encode),
		UNIT_TEST(test_handle_controls),
		UNIT_TEST(test_handle_card),
		UNIT_TEST(test_client_delay),
		UNIT_TEST(test_handle_errors),
		UNIT_TEST(test_handle_too_long),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo client_tests[] = {
		UNIT_TEST(test_client_exchange),   UNIT_TEST(test_client_reconnect),
		UNIT_TEST(test_client_bad_frame),  UNIT_TEST(test_client_big_answers),
		UNIT_TEST(test_client_new_errors), CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suites[] = {
		{ "transport_vpcd_frame", load_card, free_card, NULL, NULL, frame_tests },
		{ "transport_vpcd", load_card, free_card, NULL, NULL, client_tests },
		CU_SUITE_INFO_NULL,
	};
	return CU_register_suites(suites);
}
