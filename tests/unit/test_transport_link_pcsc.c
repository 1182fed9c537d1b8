/* test_transport_link_pcsc.c - unit tests for the PC/SC link (transport/link_pcsc.c)
 * over a fake PC/SC layer: T=0 transport (ISO/IEC 7816-3 §12.2: 61 xx, 6C xx, case 4),
 * T=1 passthrough, the reader check, the status code table, the insertion / removal /
 * reset / pcscd-away poll and its libevent watcher, and the BIP gateway over the link
 * with the emulated card behind a T=0 fake. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <winscard.h>

#include "card/bip.h"
#include "card/card.h"
#include "card/layout.h"
#include "config/profile.h"
#include "core/hex.h"
#include "core/limits.h"
#include "core/log.h"
#include "helpers.h"
#include "runner.h"
#include "transport/bip_gw.h"
#include "transport/link_pcsc.h"

#define FRAME_MAX 600
#define SENT_MAX 80
#define SCRIPT_MAX 80
#define READERS "Virtual PCD 00 00\0Virtual PCD 00 01\0"
#define READER "Virtual PCD 00 00"

/* ---- helpers ---------------------------------------------------------- */

static size_t hx(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int rc = hex_decode(s, out, cap, &n);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return n;
}

static const char *tohex(const uint8_t *p, size_t n)
{
	static char bufs[6][3 * FRAME_MAX + 1];
	static unsigned k;
	char *b = bufs[k++ % 6];
	b[0] = '\0';
	return n ? hex_encode(p, n, ' ', b, sizeof(bufs[0])) : b;
}

static const char *norm(const char *s)
{
	uint8_t tmp[FRAME_MAX];
	return tohex(tmp, hx(s, tmp, sizeof(tmp)));
}

/* Log lines kept for assertions. */
static char log_lines[64][300];
static unsigned n_log;

static void log_keep(void *arg, enum log_level level, const char *line)
{
	if (n_log < 64)
		snprintf(log_lines[n_log], sizeof(log_lines[0]), "%s", line);
	n_log++;
	if (getenv("PCSC_TEST_LOG"))
		fprintf(stderr, "%s\n", line);
}

static void logs_reset(void)
{
	log_setup(LOG_DEBUG, false);
	log_set_sink(log_keep, NULL);
	n_log = 0;
}

/* How many kept log lines contain s. */
static unsigned logs_with(const char *s)
{
	unsigned n = 0;
	for (unsigned i = 0; i < n_log && i < 64; i++)
		if (strstr(log_lines[i], s))
			n++;
	return n;
}

/* Runs the loop until something breaks it, at most ms. */
static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void run_for(struct event_base *base, unsigned ms)
{
	struct event *g = evtimer_new(base, on_guard, base);
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };
	CU_ASSERT_FATAL(g != NULL);
	evtimer_add(g, &tv);
	event_base_dispatch(base);
	event_free(g);
}

/* ---- a fake pcscd with one reader ------------------------------------- */

struct fake {
	bool service;        /* pcscd running */
	long gen;            /* contexts of older pcscd runs are stale */
	long ctx_live;       /* contexts established in this run and not released */
	const char *readers; /* multi-string; NULL: no reader at all */
	size_t readers_len;
	bool present;
	bool exclusive;        /* someone holds the card exclusively */
	unsigned long counter; /* pcsc-lite's event counter */
	unsigned long proto;   /* SCARD_PROTOCOL_T0 or _T1 */
	uint8_t atr[33];
	size_t atr_len;

	bool handle_open;
	long hcard;
	bool handle_reset;   /* another application reset the card */
	bool handle_removed; /* the card went out since the handle was made */

	unsigned establishes, releases, connects, disconnects, reconnects, resets;
	bool last_reconnect_reset;
	long transmit_rc; /* one forced failure */

	/* every C-APDU, and the answers: a script, or the emulated card */
	char sent[SENT_MAX][3 * FRAME_MAX + 1];
	unsigned n_sent;
	uint8_t ans[SCRIPT_MAX][FRAME_MAX];
	size_t ans_len[SCRIPT_MAX];
	unsigned n_ans, next_ans;
	struct card *card;
};

static struct fake F;

static const uint8_t fake_atr[] = { 0x3B, 0x9F, 0x96, 0x80, 0x1F, 0xC7, 0x80, 0x31,
				    0xE0, 0x73, 0xFE, 0x21, 0x1B, 0x63, 0x3A, 0x20,
				    0x4E, 0x83, 0x00, 0x90, 0x00, 0x93 };

static void fake_init(unsigned long proto, bool present)
{
	memset(&F, 0, sizeof(F));
	F.service = true;
	F.gen = 1;
	F.readers = READERS;
	F.readers_len = sizeof(READERS); /* with the final empty name */
	F.present = present;
	F.proto = proto;
	memcpy(F.atr, fake_atr, sizeof(fake_atr));
	F.atr_len = sizeof(fake_atr);
}

static void fake_answer(const char *hex)
{
	CU_ASSERT_FATAL(F.n_ans < SCRIPT_MAX);
	F.ans_len[F.n_ans] = hx(hex, F.ans[F.n_ans], FRAME_MAX);
	F.n_ans++;
}

static void fake_insert(void)
{
	F.present = true;
	F.counter++;
}

static void fake_remove(void)
{
	F.present = false;
	F.counter++;
	F.handle_removed = F.handle_open;
}

/* Another application resets the card. */
static void fake_external_reset(void)
{
	F.handle_reset = true;
	F.resets++;
	if (F.card)
		card_reset(F.card);
}

/* pcscd stops; start again with fake_service_up(). */
static void fake_service_down(void)
{
	F.service = false;
	F.gen++;
	F.ctx_live = 0;
	F.handle_open = false;
	F.counter = 0;
}

static void fake_service_up(void)
{
	F.service = true;
}

static long check_ctx(long hctx)
{
	if (!F.service)
		return SCARD_E_NO_SERVICE;
	return (hctx >> 8) == F.gen ? SCARD_S_SUCCESS : SCARD_E_INVALID_HANDLE;
}

static long check_card(long hcard)
{
	long rc = check_ctx(hcard >> 8);
	if (rc != SCARD_S_SUCCESS)
		return rc;
	if (!F.handle_open || hcard != F.hcard)
		return SCARD_E_INVALID_HANDLE;
	if (F.handle_removed || !F.present)
		return SCARD_W_REMOVED_CARD;
	if (F.handle_reset)
		return SCARD_W_RESET_CARD;
	return SCARD_S_SUCCESS;
}

static long f_establish(void *arg, long *hctx)
{
	F.establishes++;
	if (!F.service)
		return SCARD_E_NO_SERVICE;
	F.ctx_live++;
	*hctx = (F.gen << 8) | (F.establishes & 0xFF);
	return SCARD_S_SUCCESS;
}

static long f_release(void *arg, long hctx)
{
	F.releases++;
	long rc = check_ctx(hctx);
	if (rc == SCARD_S_SUCCESS)
		F.ctx_live--;
	return rc;
}

static bool reader_listed(const char *name)
{
	for (size_t i = 0; F.readers && i < F.readers_len && F.readers[i];
	     i += strlen(F.readers + i) + 1)
		if (strcmp(F.readers + i, name) == 0)
			return true;
	return false;
}

static long f_list_readers(void *arg, long hctx, char *buf, size_t *len)
{
	long rc = check_ctx(hctx);
	if (rc != SCARD_S_SUCCESS)
		return rc;
	if (!F.readers)
		return SCARD_E_NO_READERS_AVAILABLE;
	if (F.readers_len > *len)
		return SCARD_E_INSUFFICIENT_BUFFER;
	memcpy(buf, F.readers, F.readers_len);
	*len = F.readers_len;
	return SCARD_S_SUCCESS;
}

/* Power-up or reset of the emulated card, when there is one. */
static void fake_power(void)
{
	F.resets++;
	if (F.card)
		card_reset(F.card);
}

static long f_connect(void *arg, long hctx, const char *reader, long *hcard, unsigned long *proto)
{
	F.connects++;
	long rc = check_ctx(hctx);
	if (rc != SCARD_S_SUCCESS)
		return rc;
	if (!reader_listed(reader))
		return SCARD_E_UNKNOWN_READER;
	if (!F.present)
		return SCARD_E_NO_SMARTCARD;
	if (F.exclusive)
		return SCARD_E_SHARING_VIOLATION;
	F.handle_open = true;
	F.hcard = (hctx << 8) | F.connects;
	F.handle_reset = F.handle_removed = false;
	fake_power();
	*hcard = F.hcard;
	*proto = F.proto;
	return SCARD_S_SUCCESS;
}

static long f_reconnect(void *arg, long hcard, bool reset, unsigned long *proto)
{
	F.reconnects++;
	F.last_reconnect_reset = reset;
	long rc = check_ctx(hcard >> 8);
	if (rc != SCARD_S_SUCCESS)
		return rc;
	if (!F.handle_open || hcard != F.hcard)
		return SCARD_E_INVALID_HANDLE;
	if (!F.present)
		return SCARD_E_NO_SMARTCARD;
	if (reset || F.handle_removed)
		fake_power();
	F.handle_reset = F.handle_removed = false;
	*proto = F.proto;
	return SCARD_S_SUCCESS;
}

static long f_disconnect(void *arg, long hcard)
{
	F.disconnects++;
	long rc = check_ctx(hcard >> 8);
	if (rc == SCARD_S_SUCCESS && hcard == F.hcard)
		F.handle_open = false;
	return rc;
}

static long f_transmit(void *arg, long hcard, unsigned long proto, const uint8_t *c, size_t clen,
		       uint8_t *r, size_t *rlen)
{
	long rc = check_card(hcard);
	if (rc != SCARD_S_SUCCESS)
		return rc;
	CU_ASSERT_EQUAL(proto, F.proto);
	if (F.transmit_rc) {
		rc = F.transmit_rc;
		F.transmit_rc = 0;
		return rc;
	}
	if (F.n_sent < SENT_MAX)
		snprintf(F.sent[F.n_sent], sizeof(F.sent[0]), "%s", tohex(c, clen));
	F.n_sent++;
	if (F.card) {
		size_t n = 0;
		if (card_transmit(F.card, c, clen, r, *rlen, &n) != 0)
			return SCARD_E_INSUFFICIENT_BUFFER;
		*rlen = n;
		return SCARD_S_SUCCESS;
	}
	if (F.next_ans >= F.n_ans) {
		CU_FAIL("C-APDU after the end of the script");
		return SCARD_E_NOT_TRANSACTED;
	}
	size_t n = F.ans_len[F.next_ans];
	if (n > *rlen)
		return SCARD_E_INSUFFICIENT_BUFFER;
	memcpy(r, F.ans[F.next_ans++], n);
	*rlen = n;
	return SCARD_S_SUCCESS;
}

static long f_status(void *arg, long hcard, uint8_t *atr, size_t *atr_len)
{
	long rc = check_card(hcard);
	if (rc != SCARD_S_SUCCESS)
		return rc;
	CU_ASSERT_FATAL(*atr_len >= F.atr_len);
	memcpy(atr, F.atr, F.atr_len);
	*atr_len = F.atr_len;
	return SCARD_S_SUCCESS;
}

static long f_get_status_change(void *arg, long hctx, const char *reader, unsigned long cur,
				unsigned long *event)
{
	long rc = check_ctx(hctx);
	if (rc != SCARD_S_SUCCESS)
		return rc;
	if (!reader_listed(reader))
		return SCARD_E_UNKNOWN_READER;
	unsigned long st = F.present ? SCARD_STATE_PRESENT : SCARD_STATE_EMPTY;
	if (F.present && F.handle_open)
		st |= SCARD_STATE_INUSE;
	st |= (F.counter & 0xFFFF) << 16;
	if (cur != SCARD_STATE_UNAWARE && (cur & ~(unsigned long)SCARD_STATE_CHANGED) == st) {
		*event = cur;
		return SCARD_E_TIMEOUT;
	}
	*event = st | SCARD_STATE_CHANGED;
	return SCARD_S_SUCCESS;
}

static const struct transport_pcsc_api fake_api = {
	.establish = f_establish,
	.release = f_release,
	.list_readers = f_list_readers,
	.connect = f_connect,
	.reconnect = f_reconnect,
	.disconnect = f_disconnect,
	.transmit = f_transmit,
	.status = f_status,
	.get_status_change = f_get_status_change,
};

static struct transport_link_pcsc *open_link(void)
{
	struct transport_link_pcsc *l = NULL;
	char err[256] = "";
	int rc = transport_link_pcsc_new_api(READER, &fake_api, NULL, &l, err, sizeof(err));
	if (rc)
		fprintf(stderr, "open_link: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return l;
}

static enum transport_pcsc_event poll1(struct transport_link_pcsc *l, unsigned *delay)
{
	enum transport_pcsc_event ev;
	uint8_t atr[CARD_ATR_MAX];
	size_t n = 0;
	unsigned d = transport_link_pcsc_poll(l, 250, 2000, &ev, atr, sizeof(atr), &n);
	if (delay)
		*delay = d;
	if (ev == TRANSPORT_PCSC_CARD_IN) {
		CU_ASSERT_EQUAL(n, sizeof(fake_atr));
		CU_ASSERT(n == sizeof(fake_atr) && memcmp(atr, fake_atr, n) == 0);
	}
	return ev;
}

/* A link with the card up (CARD_IN seen). */
static struct transport_link_pcsc *open_card(unsigned long proto)
{
	fake_init(proto, true);
	struct transport_link_pcsc *l = open_link();
	CU_ASSERT_EQUAL_FATAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_IN);
	CU_ASSERT_EQUAL(transport_link_pcsc_protocol(l), proto == SCARD_PROTOCOL_T1 ? 1 : 0);
	return l;
}

/* transmit(c) through the ops table: the R-APDU as hex, or "rc=N". */
static const char *xmit(struct transport_link_pcsc *l, const char *c, size_t cap)
{
	static char out[3 * FRAME_MAX + 16];
	uint8_t cb[FRAME_MAX], rb[FRAME_MAX];
	size_t clen = hx(c, cb, sizeof(cb)), rlen = 99;
	if (cap > sizeof(rb))
		cap = sizeof(rb);
	int rc = transport_link_pcsc_ops.transmit(l, cb, clen, rb, cap, &rlen);
	if (rc)
		snprintf(out, sizeof(out), "rc=%d", rc);
	else
		snprintf(out, sizeof(out), "%s", tohex(rb, rlen));
	return out;
}

static void expect_sent(unsigned i, const char *hex)
{
	CU_ASSERT_FATAL(i < F.n_sent && i < SENT_MAX);
	if (strcmp(F.sent[i], norm(hex)) != 0)
		fprintf(stderr, "C-APDU %u:\n want %s\n  got %s\n", i, norm(hex), F.sent[i]);
	CU_ASSERT_STRING_EQUAL(F.sent[i], norm(hex));
}

/* ---- T=0 and T=1 ------------------------------------------------------ */

/* T=1: every C-APDU goes as it is, every answer comes back as it is. */
static void test_t1_passthrough(void)
{
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T1);
	fake_answer("61 10");
	fake_answer("6C 0A");
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 A4 04 04 02 7F 50 00", 300), "61 10");
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 B0 00 00 00", 300), "6C 0A");
	CU_ASSERT_EQUAL(F.n_sent, 2);
	expect_sent(0, "00 A4 04 04 02 7F 50 00");
	expect_sent(1, "00 B0 00 00 00");
	transport_link_pcsc_free(l);
	CU_ASSERT_EQUAL(F.ctx_live, 0);
}

/* T=0, case 3 (TERMINAL PROFILE) and case 1: as they are, SW as it comes. */
static void test_t0_case1_case3(void)
{
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T0);
	fake_answer("91 1A");
	fake_answer("90 00");
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 10 00 00 03 FF FF FF", 300), "91 1A");
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 70 80 01", 300), "90 00");
	CU_ASSERT_EQUAL(F.n_sent, 2);
	expect_sent(0, "80 10 00 00 03 FF FF FF");
	expect_sent(1, "00 70 80 01");
	transport_link_pcsc_free(l);
}

/* T=0, case 2 with the wrong Le: 6C xx, sent again with Le = xx. */
static void test_t0_6c(void)
{
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T0);
	fake_answer("6C 0A");
	fake_answer("98 88 00 00 00 00 00 00 00 F6 90 00");
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 B0 82 00 00", 300),
			       norm("98 88 00 00 00 00 00 00 00 F6 90 00"));
	CU_ASSERT_EQUAL(F.n_sent, 2);
	expect_sent(0, "00 B0 82 00 00");
	expect_sent(1, "00 B0 82 00 0A");
	/* A second 6C is the card's answer, not followed again. */
	fake_answer("6C 05");
	fake_answer("6C 04");
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 B0 00 00 10", 300), "6C 04");
	expect_sent(3, "00 B0 00 00 05");
	transport_link_pcsc_free(l);
}

/* T=0: 61 xx chains: GET RESPONSE with xx, data accumulated, the last SW kept. */
static void test_t0_61_chain(void)
{
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T0);
	fake_answer("D0 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 61 10");
	fake_answer("10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F 61 03");
	fake_answer("20 21 22 91 0B");
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 12 00 00 10", 300),
			       norm("D0 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"
				    "10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F"
				    "20 21 22 91 0B"));
	CU_ASSERT_EQUAL(F.n_sent, 3);
	expect_sent(0, "80 12 00 00 10");
	expect_sent(1, "00 C0 00 00 10");
	expect_sent(2, "00 C0 00 00 03");
	/* 61 00: 256 bytes to come (GET RESPONSE with P3 = 00). */
	char big[3 * 256 + 8] = "";
	for (int i = 0; i < 256; i++) {
		char b[4];
		snprintf(b, sizeof(b), "%02X ", i);
		memcpy(big + 3 * i, b, 3);
	}
	memcpy(big + 3 * 256, "90 00", 6);
	fake_answer("61 00");
	fake_answer(big);
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 F2 00 00", 300), norm(big));
	expect_sent(4, "00 C0 00 00 00");
	transport_link_pcsc_free(l);
}

/* T=0, case 4: sent as case 3 (no Le), the data fetched with GET RESPONSE on the
 * command's logical channel; 6C xx to a GET RESPONSE asks again with xx. */
static void test_t0_case4(void)
{
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T0);
	fake_answer("61 08");
	fake_answer("6C 06");
	fake_answer("62 04 82 02 78 21 90 00");
	CU_ASSERT_STRING_EQUAL(xmit(l, "01 A4 04 04 02 7F 50 00", 300), "62 04 82 02 78 21 90 00");
	CU_ASSERT_EQUAL(F.n_sent, 3);
	expect_sent(0, "01 A4 04 04 02 7F 50");
	expect_sent(1, "01 C0 00 00 08");
	expect_sent(2, "01 C0 00 00 06");
	/* Case 4 answered without data: the SW as it is. */
	fake_answer("6A 82");
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 A4 08 04 02 6F 00 00", 300), "6A 82");
	expect_sent(3, "00 A4 08 04 02 6F 00");
	transport_link_pcsc_free(l);
}

/* GET RESPONSE's CLA: the logical channel of the command (TS 102 221 §10.1.1). */
static void test_t0_getresponse_cla(void)
{
	static const struct {
		const char *cmd, *gr;
	} cases[] = {
		{ "80 F2 00 00", "00 C0 00 00 02" }, /* proprietary, channel 0 */
		{ "83 F2 00 00", "03 C0 00 00 02" }, /* channel 3 */
		{ "0C B0 00 00", "00 C0 00 00 02" }, /* SM bits dropped */
		{ "41 B0 00 00", "41 C0 00 00 02" }, /* further interindustry, 5 */
		{ "6F B0 00 00", "4F C0 00 00 02" }, /* channel 19, SM dropped */
		{ "C7 F2 00 00", "47 C0 00 00 02" }, /* proprietary, channel 11 */
	};
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_answer("61 02");
		fake_answer("AA BB 90 00");
		CU_ASSERT_STRING_EQUAL(xmit(l, cases[i].cmd, 300), "AA BB 90 00");
		expect_sent(2 * (unsigned)i + 1, cases[i].gr);
	}
	transport_link_pcsc_free(l);
}

/* Hostile or oversized answers, and C-APDUs T=0 cannot carry. */
static void test_t0_limits(void)
{
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T0);
	/* More data than the caller's buffer. */
	fake_answer("01 02 03 04 61 04");
	fake_answer("05 06 07 08 90 00");
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 12 00 00 04", 8), "rc=-90"); /* -EMSGSIZE */
	/* Exactly the caller's buffer. */
	fake_answer("01 02 03 04 61 02");
	fake_answer("05 06 90 00");
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 12 00 00 04", 8), "01 02 03 04 05 06 90 00");
	/* 61 xx forever: PCSC_GETRESP_MAX rounds, then -EPROTO. */
	unsigned before = F.n_sent;
	for (unsigned i = 0; i <= PCSC_GETRESP_MAX; i++)
		fake_answer("00 61 01");
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "rc=-71");
	CU_ASSERT_EQUAL(F.n_sent - before, PCSC_GETRESP_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(transport_link_pcsc_last_error(l), "GET RESPONSE"));
	/* Not for T=0: nothing is sent. */
	before = F.n_sent;
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 B0 00 00 00 01 00", 300), "rc=-22"); /* extended */
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 B0 00", 300), "rc=-22");
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 D6 00 00 03 01 02", 300), "rc=-22");    /* short data */
	CU_ASSERT_STRING_EQUAL(xmit(l, "00 D6 00 00 01 01 02 03", 300), "rc=-22"); /* long */
	CU_ASSERT_EQUAL(F.n_sent, before);
	/* An answer without SW1 SW2 from the layer below. */
	fake_answer("90");
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "rc=-71");
	transport_link_pcsc_free(l);
}

/* Failures of the link: no card, card reset by someone else, card pulled. */
static void test_transmit_errors(void)
{
	logs_reset();
	fake_init(SCARD_PROTOCOL_T0, false);
	struct transport_link_pcsc *l = open_link();
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "rc=-123"); /* -ENOMEDIUM */
	CU_ASSERT_FALSE(transport_link_pcsc_has_card(l));
	CU_ASSERT_EQUAL(transport_link_pcsc_protocol(l), -1);
	transport_link_pcsc_free(l);

	l = open_card(SCARD_PROTOCOL_T0);
	CU_ASSERT(transport_link_pcsc_has_card(l));
	F.transmit_rc = SCARD_W_RESET_CARD;
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "rc=-104"); /* -ECONNRESET */
	CU_ASSERT_STRING_EQUAL(transport_link_pcsc_last_error(l),
			       "SCardTransmit: card reset by another application (0x80100068)");
	F.transmit_rc = SCARD_E_NOT_TRANSACTED;
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "rc=-5");
	fake_remove();
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "rc=-123");
	CU_ASSERT_STRING_EQUAL(transport_link_pcsc_last_error(l),
			       "SCardTransmit: card removed (0x80100069)");
	fake_service_down();
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "rc=-111"); /* -ECONNREFUSED */
	transport_link_pcsc_free(l);
}

/* The link in front of the emulated card answering as over T=0 (no Le: 61 xx):
 * what the gateway sees over T=0 equals the card's whole answer to the same
 * C-APDU with Le (as over T=1), 6C xx and 61 xx followed. */
static void test_t0_emulated_card(void)
{
	static const char *const apdus[] = {
		"00 A4 00 04 02 3F 00 00", /* SELECT MF, FCP: case 4 */
		"00 A4 00 04 02 2F 00 00", /* EF.DIR */
		"00 B2 01 04 00",          /* its record: case 2, Le 00 */
		"00 B2 01 04 10",          /* wrong Le: 6C xx */
		"00 A4 00 0C 02 2F E2",    /* EF.ICCID, no FCP: case 3 */
		"00 B0 00 00 0A",          /* READ BINARY: case 2 */
		"80 F2 00 00",             /* STATUS: case 1, data come with 61 xx */
	};
	logs_reset();
	struct profile *p = NULL;
	struct profile_error perr;
	struct card_fs *fs = NULL;
	char msg[512];
	CU_ASSERT_EQUAL_FATAL(profile_load(unit_srcpath("cards/default"), &p, &perr), 0);
	CU_ASSERT_EQUAL_FATAL(card_layout_build(&p->card, &fs, msg, sizeof(msg)), 0);
	struct card *ref = card_new(fs, p->card.atr, p->card.atr_len);
	struct card *emu = card_new(fs, p->card.atr, p->card.atr_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	CU_ASSERT_PTR_NOT_NULL_FATAL(emu);

	fake_init(SCARD_PROTOCOL_T0, true);
	F.card = emu;
	struct transport_link_pcsc *l = open_link();
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_IN);
	for (size_t i = 0; i < sizeof(apdus) / sizeof(apdus[0]); i++) {
		uint8_t c[64], want[300];
		size_t clen = hx(apdus[i], c, sizeof(c)), wlen = 0;
		CU_ASSERT_EQUAL(card_transmit(ref, c, clen, want, sizeof(want), &wlen), 0);
		/* The card holds back what exceeds Le: the whole answer is the sum. */
		char whole[3 * FRAME_MAX + 1];
		snprintf(whole, sizeof(whole), "%s", tohex(want, wlen));
		if (wlen == 2 && want[0] == 0x6C) { /* wrong Le: what the card wants */
			c[clen - 1] = want[1];
			CU_ASSERT_EQUAL(card_transmit(ref, c, clen, want, sizeof(want), &wlen), 0);
			snprintf(whole, sizeof(whole), "%s", tohex(want, wlen));
		}
		while (wlen >= 2 && want[wlen - 2] == 0x61) {
			uint8_t gr[5] = { 0x00, 0xC0, 0x00, 0x00, want[wlen - 1] }, more[300];
			size_t mlen = 0;
			int rc = card_transmit(ref, gr, 5, more, sizeof(more), &mlen);
			CU_ASSERT_EQUAL_FATAL(rc, 0);
			CU_ASSERT_FATAL(wlen - 2 + mlen <= sizeof(want));
			wlen -= 2;
			memcpy(want + wlen, more, mlen);
			wlen += mlen;
			snprintf(whole, sizeof(whole), "%s", tohex(want, wlen));
		}
		const char *got = xmit(l, apdus[i], 300);
		if (strcmp(got, whole) != 0)
			fprintf(stderr, "%s:\n want %s\n  got %s\n", apdus[i], whole, got);
		CU_ASSERT_STRING_EQUAL(got, whole);
	}
	CU_ASSERT(F.n_sent > sizeof(apdus) / sizeof(apdus[0])); /* some GET RESPONSE */
	transport_link_pcsc_free(l);
	card_free(ref);
	card_free(emu);
	card_fs_free(fs);
	profile_free(p);
}

/* ---- the reader ------------------------------------------------------- */

static void test_reader_found(void)
{
	logs_reset();
	fake_init(SCARD_PROTOCOL_T0, true);
	struct transport_link_pcsc *l = open_link();
	CU_ASSERT_STRING_EQUAL(transport_link_pcsc_reader(l), READER);
	CU_ASSERT_EQUAL(F.connects, 0); /* the watcher takes the card */
	CU_ASSERT_FALSE(transport_link_pcsc_has_card(l));
	CU_ASSERT_STRING_EQUAL(transport_link_pcsc_ops.name, "pcsc");
	transport_link_pcsc_ops.free(l);
	CU_ASSERT_EQUAL(F.ctx_live, 0);
	transport_link_pcsc_ops.free(NULL);
}

static void test_reader_not_found(void)
{
	static const struct {
		const char *name;
		const char *readers;
		size_t len;
		int rc;
		const char *err;
	} cases[] = {
		{ "No Such Reader", READERS, sizeof(READERS), -ENODEV,
		  "no reader 'No Such Reader'; readers: 'Virtual PCD 00 00', 'Virtual PCD 00 01'" },
		{ "Virtual PCD", READERS, sizeof(READERS), -ENODEV, /* no prefix match */
		  "no reader 'Virtual PCD'; readers: 'Virtual PCD 00 00', 'Virtual PCD 00 01'" },
		{ "X", NULL, 0, -ENODEV, "no reader 'X'; no readers" },
		{ "X", "\0", 1, -ENODEV, "no reader 'X'; no readers" },
		/* A list without its final NUL still reads as names. */
		{ "X", "A\0B", 3, -ENODEV, "no reader 'X'; readers: 'A', 'B'" },
		{ "B", "A\0B", 3, 0, "" },
	};
	logs_reset();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_init(SCARD_PROTOCOL_T0, false);
		F.readers = cases[i].readers;
		F.readers_len = cases[i].len;
		struct transport_link_pcsc *l = (void *)1;
		char err[256] = "junk";
		int rc = transport_link_pcsc_new_api(cases[i].name, &fake_api, NULL, &l, err,
						     sizeof(err));
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_STRING_EQUAL(err, cases[i].err);
		CU_ASSERT((rc == 0) == (l != NULL));
		transport_link_pcsc_free(l);
		CU_ASSERT_EQUAL(F.ctx_live, 0);
		CU_ASSERT_EQUAL(F.establishes, F.releases);
	}
	/* A short error buffer is cut, not overrun. */
	fake_init(SCARD_PROTOCOL_T0, false);
	struct transport_link_pcsc *l = NULL;
	char small[12];
	CU_ASSERT_EQUAL(transport_link_pcsc_new_api("No Such Reader", &fake_api, NULL, &l, small,
						    sizeof(small)),
			-ENODEV);
	CU_ASSERT_STRING_EQUAL(small, "no reader '");
}

static void test_reader_bad_args_and_pcscd_away(void)
{
	logs_reset();
	char longname[PCSC_READER_NAME_MAX + 1];
	memset(longname, 'r', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	struct transport_link_pcsc *l = NULL;
	char err[256];
	fake_init(SCARD_PROTOCOL_T0, false);
	CU_ASSERT_EQUAL(transport_link_pcsc_new_api(NULL, &fake_api, NULL, &l, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_EQUAL(transport_link_pcsc_new_api("", &fake_api, NULL, &l, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_EQUAL(
		transport_link_pcsc_new_api(longname, &fake_api, NULL, &l, err, sizeof(err)),
		-EINVAL);
	CU_ASSERT_EQUAL(transport_link_pcsc_new_api(READER, NULL, NULL, &l, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_EQUAL(
		transport_link_pcsc_new_api(READER, &fake_api, NULL, NULL, err, sizeof(err)),
		-EINVAL);
	CU_ASSERT_EQUAL(F.establishes, 0);
	fake_service_down();
	CU_ASSERT_EQUAL(transport_link_pcsc_new_api(READER, &fake_api, NULL, &l, err, sizeof(err)),
			-ECONNREFUSED);
	CU_ASSERT_STRING_EQUAL(err, "pcscd is not running (SCardEstablishContext: 0x8010001D)");
	CU_ASSERT_PTR_NULL(l);
}

/* ---- the status code table -------------------------------------------- */

static void test_error_table(void)
{
	static const struct {
		long code;
		int err;
		const char *text;
	} cases[] = {
		{ SCARD_S_SUCCESS, 0, "success" },
		{ SCARD_E_NO_SERVICE, -ECONNREFUSED, "pcscd is not running" },
		{ SCARD_E_SERVICE_STOPPED, -ECONNREFUSED, "pcscd is not running (it stopped)" },
		{ SCARD_F_COMM_ERROR, -ECONNREFUSED, "pcscd is not running (connection lost)" },
		{ SCARD_E_INVALID_HANDLE, -EBADF, "stale PC/SC handle (pcscd restarted?)" },
		{ SCARD_W_REMOVED_CARD, -ENOMEDIUM, "card removed" },
		{ SCARD_E_NO_SMARTCARD, -ENOMEDIUM, "no card in the reader" },
		{ SCARD_W_RESET_CARD, -ECONNRESET, "card reset by another application" },
		{ SCARD_E_UNKNOWN_READER, -ENODEV, "unknown reader" },
		{ SCARD_E_NO_READERS_AVAILABLE, -ENODEV, "no reader available" },
		{ SCARD_E_READER_UNAVAILABLE, -ENODEV, "reader unavailable" },
		{ SCARD_E_SHARING_VIOLATION, -EBUSY,
		  "card in exclusive use by another application" },
		{ SCARD_E_PROTO_MISMATCH, -EPROTO, "no protocol in common (T=0, T=1)" },
		{ SCARD_W_UNRESPONSIVE_CARD, -EIO, "card does not answer the reset" },
		{ SCARD_W_UNPOWERED_CARD, -EIO, "card not powered" },
		{ SCARD_E_NOT_TRANSACTED, -EIO, "APDU exchange failed" },
		{ SCARD_E_INSUFFICIENT_BUFFER, -EMSGSIZE, "answer longer than the buffer" },
		{ SCARD_E_TIMEOUT, -ETIMEDOUT, "timeout" },
		{ SCARD_E_NO_MEMORY, -ENOMEM, "out of memory" },
		{ SCARD_E_INVALID_PARAMETER, -EINVAL, "invalid parameter" },
		{ SCARD_E_UNSUPPORTED_FEATURE, -EOPNOTSUPP, "not supported by the reader" },
		{ 0x12345678L, -EIO, "PC/SC error" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(transport_pcsc_errno(cases[i].code), cases[i].err);
		CU_ASSERT_STRING_EQUAL(transport_pcsc_strerror(cases[i].code), cases[i].text);
	}
	CU_ASSERT_STRING_EQUAL(transport_pcsc_event_name(TRANSPORT_PCSC_CARD_IN), "card in");
	CU_ASSERT_STRING_EQUAL(transport_pcsc_event_name(TRANSPORT_PCSC_CARD_RESET), "card reset");
	CU_ASSERT_STRING_EQUAL(transport_pcsc_event_name(TRANSPORT_PCSC_CARD_OUT), "card out");
	CU_ASSERT_STRING_EQUAL(transport_pcsc_event_name(TRANSPORT_PCSC_NONE), "none");
}

/* ---- insertion, removal, resets, pcscd going and coming ---------------- */

static void test_poll_insert_remove(void)
{
	logs_reset();
	fake_init(SCARD_PROTOCOL_T0, false);
	struct transport_link_pcsc *l = open_link();
	unsigned d = 0;
	CU_ASSERT_EQUAL(poll1(l, &d), TRANSPORT_PCSC_NONE);
	CU_ASSERT_EQUAL(d, 250);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	fake_insert();
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_IN);
	CU_ASSERT(transport_link_pcsc_has_card(l));
	CU_ASSERT_EQUAL(logs_with("card in reader 'Virtual PCD 00 00' (T=0), ATR 3B 9F 96 80"), 1);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	fake_remove();
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_OUT);
	CU_ASSERT_FALSE(transport_link_pcsc_has_card(l));
	CU_ASSERT_EQUAL(logs_with("card out of reader 'Virtual PCD 00 00'"), 1);
	CU_ASSERT_FALSE(F.handle_open); /* disconnected */
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	fake_insert();
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_IN);
	CU_ASSERT_EQUAL(F.connects, 2);
	/* Through the link, a gateway's reset: SCardReconnect with RESET. */
	uint8_t atr[CARD_ATR_MAX];
	size_t n = 0;
	unsigned r0 = F.resets;
	CU_ASSERT_EQUAL(transport_link_pcsc_ops.reset(l, atr, sizeof(atr), &n), 0);
	CU_ASSERT(F.last_reconnect_reset);
	CU_ASSERT_EQUAL(F.resets, r0 + 1);
	CU_ASSERT(n == sizeof(fake_atr) && memcmp(atr, fake_atr, n) == 0);
	CU_ASSERT_EQUAL(transport_link_pcsc_ops.reset(l, atr, 4, &n), -EMSGSIZE);
	transport_link_pcsc_free(l);
	CU_ASSERT_EQUAL(F.ctx_live, 0);
	CU_ASSERT_FALSE(F.handle_open);
}

/* Another application resets the card: reported once, and the gateway's reset
 * that follows only acknowledges it (LEAVE), so the card is not reset twice. */
static void test_poll_external_reset(void)
{
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T1);
	fake_external_reset();
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_RESET);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	CU_ASSERT_EQUAL(logs_with("was reset by another application"), 1);
	uint8_t atr[CARD_ATR_MAX];
	size_t n = 0;
	unsigned r0 = F.resets;
	CU_ASSERT_EQUAL(transport_link_pcsc_ops.reset(l, atr, sizeof(atr), &n), 0);
	CU_ASSERT_FALSE(F.last_reconnect_reset);
	CU_ASSERT_EQUAL(F.resets, r0);
	CU_ASSERT_EQUAL(n, sizeof(fake_atr));
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	/* The next reset is a real one again. */
	CU_ASSERT_EQUAL(transport_link_pcsc_ops.reset(l, atr, sizeof(atr), &n), 0);
	CU_ASSERT(F.last_reconnect_reset);
	CU_ASSERT_EQUAL(F.resets, r0 + 1);

	/* Seen first by an exchange: the next poll reports it. */
	fake_external_reset();
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "rc=-104");
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_RESET);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	CU_ASSERT_EQUAL(transport_link_pcsc_ops.reset(l, atr, sizeof(atr), &n), 0);
	CU_ASSERT_FALSE(F.last_reconnect_reset);
	transport_link_pcsc_free(l);
}

/* Out and in again between two polls: a new card (the event counter moved). */
static void test_poll_swap(void)
{
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T0);
	fake_remove();
	fake_insert();
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_RESET);
	CU_ASSERT_EQUAL(logs_with("was replaced"), 1);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	/* The handle predates the new card: the reset makes a fresh one and resets. */
	uint8_t atr[CARD_ATR_MAX];
	size_t n = 0;
	CU_ASSERT_EQUAL(transport_link_pcsc_ops.reset(l, atr, sizeof(atr), &n), 0);
	CU_ASSERT(F.last_reconnect_reset);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	fake_answer("90 00");
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "90 00");
	/* The handle says "removed" though the counter did not move. */
	F.handle_removed = true;
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_RESET);
	CU_ASSERT_EQUAL(transport_link_pcsc_ops.reset(l, atr, sizeof(atr), &n), 0);
	/* Only the counter moved (out and in again), the handle works. */
	F.counter += 2;
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_RESET);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	CU_ASSERT_EQUAL(logs_with("was replaced"), 3);
	transport_link_pcsc_free(l);
}

/* pcscd goes: the card counts as out, said once, re-establish with a back-off;
 * pcscd comes back: said once, and the card in the reader is in again. */
static void test_poll_pcscd_away(void)
{
	static const unsigned delays[] = { 250, 500, 1000, 2000, 2000 };
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T0);
	fake_service_down();
	unsigned d = 0;
	CU_ASSERT_EQUAL(poll1(l, &d), TRANSPORT_PCSC_CARD_OUT);
	CU_ASSERT_EQUAL(d, 250);
	CU_ASSERT_FALSE(transport_link_pcsc_has_card(l));
	for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
		CU_ASSERT_EQUAL(poll1(l, &d), TRANSPORT_PCSC_NONE);
		CU_ASSERT_EQUAL(d, delays[i]);
	}
	CU_ASSERT_EQUAL(logs_with("pcscd is not running"), 1);
	CU_ASSERT_EQUAL(logs_with("the card counts as removed"), 1);
	uint8_t atr[CARD_ATR_MAX];
	size_t n = 0;
	CU_ASSERT_EQUAL(transport_link_pcsc_ops.reset(l, atr, sizeof(atr), &n), -ECONNREFUSED);
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "rc=-123");
	fake_service_up();
	fake_insert(); /* the card reconnects to the new pcscd */
	CU_ASSERT_EQUAL(poll1(l, &d), TRANSPORT_PCSC_CARD_IN);
	CU_ASSERT_EQUAL(d, 250);
	CU_ASSERT_EQUAL(logs_with("pcscd is back"), 1);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	/* Down again: the back-off starts from the beginning. */
	fake_service_down();
	CU_ASSERT_EQUAL(poll1(l, &d), TRANSPORT_PCSC_CARD_OUT);
	CU_ASSERT_EQUAL(poll1(l, &d), TRANSPORT_PCSC_NONE);
	CU_ASSERT_EQUAL(d, 250);
	CU_ASSERT_EQUAL(logs_with("pcscd is not running"), 2);
	transport_link_pcsc_free(l);
	CU_ASSERT_EQUAL(F.ctx_live, 0);
}

/* pcscd restarted between two polls: the old context is stale. */
static void test_poll_pcscd_restarted(void)
{
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T0);
	fake_service_down();
	fake_service_up();
	fake_insert();
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_OUT);
	CU_ASSERT_EQUAL(logs_with("stale PC/SC handle"), 1);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_IN);
	CU_ASSERT_EQUAL(logs_with("pcscd is back"), 1);
	fake_answer("90 00");
	CU_ASSERT_STRING_EQUAL(xmit(l, "80 F2 00 00", 300), "90 00");
	transport_link_pcsc_free(l);
	CU_ASSERT_EQUAL(F.ctx_live, 0);
}

/* The reader goes (unplugged), comes back; a card held exclusively by someone. */
static void test_poll_reader_gone_and_busy(void)
{
	logs_reset();
	struct transport_link_pcsc *l = open_card(SCARD_PROTOCOL_T0);
	F.readers = "Virtual PCD 00 01\0";
	F.readers_len = 19;
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_OUT);
	CU_ASSERT_EQUAL(logs_with("card gone with its reader"), 1);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	F.readers = READERS;
	F.readers_len = sizeof(READERS);
	F.exclusive = true;
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_NONE);
	CU_ASSERT_EQUAL(logs_with("card in exclusive use by another application"), 1);
	F.exclusive = false;
	CU_ASSERT_EQUAL(poll1(l, NULL), TRANSPORT_PCSC_CARD_IN);
	transport_link_pcsc_free(l);
}

/* ---- the watcher on libevent ------------------------------------------ */

struct seen {
	enum transport_pcsc_event ev[16];
	size_t atr_len[16];
	unsigned n;
	struct event_base *base;
	struct transport_pcsc_watch *w;
	bool stop_on_out;
};

static void on_card(void *arg, enum transport_pcsc_event ev, const uint8_t *atr, size_t n)
{
	struct seen *s = arg;
	if (s->n < 16) {
		s->ev[s->n] = ev;
		s->atr_len[s->n] = n;
	}
	s->n++;
	CU_ASSERT((ev == TRANSPORT_PCSC_CARD_IN) == (atr != NULL));
	if (ev == TRANSPORT_PCSC_CARD_OUT && s->stop_on_out)
		transport_pcsc_watch_stop(s->w);
	event_base_loopbreak(s->base);
}

static void do_insert(evutil_socket_t fd, short what, void *arg)
{
	fake_insert();
}

static void do_remove(evutil_socket_t fd, short what, void *arg)
{
	fake_remove();
}

static void test_watch_timer(void)
{
	logs_reset();
	fake_init(SCARD_PROTOCOL_T0, false);
	struct transport_link_pcsc *l = open_link();
	struct seen s;
	memset(&s, 0, sizeof(s));
	s.base = event_base_new();
	struct transport_pcsc_watch_opts o = { .poll_ms = 5, .backoff_max_ms = 20 };
	s.w = transport_pcsc_watch_new(s.base, l, &o, on_card, &s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s.w);
	CU_ASSERT_PTR_NULL(transport_pcsc_watch_new(NULL, l, &o, on_card, &s));
	CU_ASSERT_PTR_NULL(transport_pcsc_watch_new(s.base, NULL, &o, on_card, &s));
	CU_ASSERT_EQUAL(transport_pcsc_watch_start(s.w), 0);
	CU_ASSERT_EQUAL(s.n, 0); /* no card yet */
	struct timeval t20 = { 0, 20000 };
	event_base_once(s.base, -1, EV_TIMEOUT, do_insert, NULL, &t20);
	run_for(s.base, 2000);
	CU_ASSERT_EQUAL_FATAL(s.n, 1);
	CU_ASSERT_EQUAL(s.ev[0], TRANSPORT_PCSC_CARD_IN);
	CU_ASSERT_EQUAL(s.atr_len[0], sizeof(fake_atr));
	/* Removal, with the callback stopping the watcher: no timer is left. */
	s.stop_on_out = true;
	event_base_once(s.base, -1, EV_TIMEOUT, do_remove, NULL, &t20);
	run_for(s.base, 2000);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT_EQUAL(s.ev[1], TRANSPORT_PCSC_CARD_OUT);
	/* Stopped: a card coming now is not reported. */
	event_base_once(s.base, -1, EV_TIMEOUT, do_insert, NULL, &t20);
	run_for(s.base, 60);
	CU_ASSERT_EQUAL(s.n, 2);
	fake_remove();
	transport_pcsc_watch_free(s.w);

	/* A card already there is reported from inside start(). */
	fake_insert();
	memset(s.ev, 0, sizeof(s.ev));
	s.n = 0;
	s.w = transport_pcsc_watch_new(s.base, l, NULL, on_card, &s);
	CU_ASSERT_EQUAL(transport_pcsc_watch_start(s.w), 0);
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT_EQUAL(s.ev[0], TRANSPORT_PCSC_CARD_IN);
	transport_pcsc_watch_stop(s.w);
	transport_pcsc_watch_free(s.w);
	transport_pcsc_watch_free(NULL);
	transport_pcsc_watch_stop(NULL);
	event_base_free(s.base);
	transport_link_pcsc_free(l);
}

/* ---- the BIP gateway over the link, the emulated card behind T=0 ------ */

/* What the daemon does with the watcher's events. */
struct gw_rig {
	struct event_base *base;
	struct bip_gw *gw;
	unsigned in, out, resets;
	int last_rc;
};

static void gw_on_card(void *arg, enum transport_pcsc_event ev, const uint8_t *atr, size_t n)
{
	struct gw_rig *g = arg;
	char err[256] = "";
	switch (ev) {
	case TRANSPORT_PCSC_CARD_IN:
		g->in++;
		g->last_rc = transport_bip_gw_start(g->gw, err, sizeof(err));
		break;
	case TRANSPORT_PCSC_CARD_RESET:
		g->resets++;
		g->last_rc = transport_bip_gw_restart(g->gw, err, sizeof(err));
		break;
	case TRANSPORT_PCSC_CARD_OUT:
		g->out++;
		transport_bip_gw_stop(g->gw);
		break;
	case TRANSPORT_PCSC_NONE:
		break;
	}
	if (g->last_rc)
		fprintf(stderr, "gateway: %s\n", err);
	event_base_loopbreak(g->base);
}

static int client_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

struct echo_wait {
	struct event_base *base;
	int fd;
	char buf[64];
	size_t len, want;
};

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct echo_wait *e = arg;
	ssize_t n = recv(fd, e->buf + e->len, sizeof(e->buf) - e->len, MSG_DONTWAIT);
	if (n > 0)
		e->len += (size_t)n;
	if (n <= 0 || e->len >= e->want)
		event_base_loopbreak(e->base);
}

/* Sends text through the gateway and waits (at most 2 s) for the echo. */
static bool echo_through(struct event_base *base, uint16_t port, const char *text)
{
	struct echo_wait e = { .base = base, .want = strlen(text) };
	e.fd = client_connect(port);
	CU_ASSERT_EQUAL(send(e.fd, text, e.want, 0), (ssize_t)e.want);
	struct event *ev = event_new(base, e.fd, EV_READ | EV_PERSIST, on_readable, &e);
	event_add(ev, NULL);
	run_for(base, 2000);
	event_free(ev);
	close(e.fd);
	return e.len == e.want && memcmp(e.buf, text, e.want) == 0;
}

static uint16_t listening_port(struct bip_gw *gw)
{
	struct bip_gw_endpoint ep[4];
	size_t n = transport_bip_gw_endpoints(gw, ep, 4);
	return n ? ep[0].port : 0;
}

/* Waits (at most 2 s) for the watcher to call back. */
static void wait_event(struct gw_rig *g)
{
	run_for(g->base, 2000);
}

static void test_gateway_over_pcsc(void)
{
	logs_reset();
	static const uint8_t atr[] = { 0x3B, 0x02, 0x14, 0x50 };
	struct card_fs *fs = card_fs_new();
	struct card *card = card_new(fs, atr, sizeof(atr));
	static const struct card_bip_port ports[] = { { 4116, 2 } };
	struct card_bip_config bc = { .ports = ports, .n_ports = 1, .sink = &unit_echo_sink };
	struct card_bip *bip = card_bip_new(&bc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bip);
	card_bip_attach(bip, card);

	fake_init(SCARD_PROTOCOL_T0, false);
	F.card = card;
	struct transport_link_pcsc *l = open_link();
	struct gw_rig g = { .base = event_base_new() };
	static const struct bip_gw_addr lo = { "127.0.0.1", false };
	static const struct bip_gw_port_map map = { 4116, 0 };
	struct bip_gw_config cfg = {
		.listen = &lo, .n_listen = 1, .port_map = &map, .n_port_map = 1
	};
	char err[256] = "";
	g.gw = transport_bip_gw_new(g.base, &transport_link_pcsc_ops, l, &cfg, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(g.gw);
	struct transport_pcsc_watch_opts o = { .poll_ms = 5 };
	struct transport_pcsc_watch *w = transport_pcsc_watch_new(g.base, l, &o, gw_on_card, &g);
	CU_ASSERT_EQUAL(transport_pcsc_watch_start(w), 0);
	CU_ASSERT_EQUAL(g.in, 0);
	CU_ASSERT_EQUAL(listening_port(g.gw), 0);

	/* The card arrives: TERMINAL PROFILE, OPEN CHANNEL, a listener; echo works. */
	fake_insert();
	wait_event(&g);
	CU_ASSERT_EQUAL_FATAL(g.in, 1);
	CU_ASSERT_EQUAL(g.last_rc, 0);
	uint16_t port = listening_port(g.gw);
	CU_ASSERT_FATAL(port != 0);
	CU_ASSERT(echo_through(g.base, port, "over T=0"));
	CU_ASSERT_EQUAL(transport_link_pcsc_protocol(l), 0);

	/* Someone else resets the card: the gateway restarts, the port stays. */
	fake_external_reset();
	wait_event(&g);
	CU_ASSERT_EQUAL(g.resets, 1);
	CU_ASSERT_EQUAL(g.last_rc, 0);
	CU_ASSERT_FALSE(F.last_reconnect_reset); /* acknowledged, not reset again */
	CU_ASSERT_EQUAL(listening_port(g.gw), port);
	CU_ASSERT(echo_through(g.base, port, "after a reset"));

	/* Removal: no listener; insertion: served again. */
	fake_remove();
	wait_event(&g);
	CU_ASSERT_EQUAL(g.out, 1);
	CU_ASSERT_EQUAL(listening_port(g.gw), 0);
	fake_insert();
	wait_event(&g);
	CU_ASSERT_EQUAL(g.in, 2);
	CU_ASSERT_EQUAL(g.last_rc, 0);
	port = listening_port(g.gw);
	CU_ASSERT_FATAL(port != 0);
	CU_ASSERT(echo_through(g.base, port, "card back"));

	/* pcscd away and back. */
	fake_service_down();
	wait_event(&g);
	CU_ASSERT_EQUAL(g.out, 2);
	fake_service_up();
	fake_insert();
	wait_event(&g);
	CU_ASSERT_EQUAL(g.in, 3);
	port = listening_port(g.gw);
	CU_ASSERT(port != 0 && echo_through(g.base, port, "pcscd back"));

	transport_pcsc_watch_free(w);
	transport_bip_gw_free(g.gw);
	event_base_free(g.base);
	transport_link_pcsc_free(l);
	card_free(card);
	card_bip_free(bip);
	card_fs_free(fs);
}

int unit_register(void)
{
	static CU_TestInfo link[] = {
		UNIT_TEST(test_t1_passthrough),
		UNIT_TEST(test_t0_case1_case3),
		UNIT_TEST(test_t0_6c),
		UNIT_TEST(test_t0_61_chain),
		UNIT_TEST(test_t0_case4),
		UNIT_TEST(test_t0_getresponse_cla),
		UNIT_TEST(test_t0_limits),
		UNIT_TEST(test_transmit_errors),
		UNIT_TEST(test_t0_emulated_card),
		UNIT_TEST(test_reader_found),
		UNIT_TEST(test_reader_not_found),
		UNIT_TEST(test_reader_bad_args_and_pcscd_away),
		UNIT_TEST(test_error_table),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo watch[] = {
		UNIT_TEST(test_poll_insert_remove),
		UNIT_TEST(test_poll_external_reset),
		UNIT_TEST(test_poll_swap),
		UNIT_TEST(test_poll_pcscd_away),
		UNIT_TEST(test_poll_pcscd_restarted),
		UNIT_TEST(test_poll_reader_gone_and_busy),
		UNIT_TEST(test_watch_timer),
		UNIT_TEST(test_gateway_over_pcsc),
		CU_TEST_INFO_NULL,
	};
	signal(SIGPIPE, SIG_IGN);
	int rc = unit_add_suite("transport_link_pcsc", link);
	return rc ? rc : unit_add_suite("transport_pcsc_watch", watch);
}
