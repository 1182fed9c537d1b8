/* fuzz_link_pcsc.c - fuzz target for the PC/SC link (transport/link_pcsc.c): its T=0
 * transport (ISO/IEC 7816-3 §12.2: 61 xx, 6C xx, case 4), the reader check and the
 * insertion/removal poll, over a PC/SC layer that answers from the input.
 *
 * Input, read front to back as the link asks:
 *   - establish: 1 byte, b0 set: pcscd not running;
 *   - list readers: 1 byte, which list (4 kinds, one not terminated);
 *   - connect / reconnect: 1 byte, b0-b1: which status code, b2: T=1;
 *   - transmit: 1 byte n; n = FF: the status code of the next byte; else n bytes
 *     of answer (the layer may also claim more than it wrote: b7 of the next byte);
 *   - status: 1 byte, the ATR length claimed (up to 63), and a status code byte;
 *   - get status change: 1 byte status code, 2 bytes dwEventState (low), 1 byte
 *     counter;
 *   - between those, one operation (1 byte): 0-3 transmit of command k (next
 *     byte) with a response buffer of 2, 8, 260 or 600 bytes; 4-5 poll; 6 reset;
 *     7 free and open again.
 * When the input runs out every call succeeds with 90 00.
 * Checks: the R-APDU length stays within the buffer and holds SW1 SW2; the poll's
 * ATR within its buffer; no leak, no overflow (sanitizers). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <winscard.h>

#include "core/limits.h"
#include "core/log.h"
#include "transport/link_pcsc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define OPS_MAX 256

static const uint8_t *in_p;
static size_t in_len, in_pos;

static bool left(void)
{
	return in_pos < in_len;
}

static uint8_t u8(void)
{
	return left() ? in_p[in_pos++] : 0;
}

static const long codes[] = {
	SCARD_S_SUCCESS,
	SCARD_W_RESET_CARD,
	SCARD_W_REMOVED_CARD,
	SCARD_E_NO_SERVICE,
	SCARD_E_INVALID_HANDLE,
	SCARD_E_NO_SMARTCARD,
	SCARD_E_TIMEOUT,
	SCARD_E_UNKNOWN_READER,
	SCARD_E_SHARING_VIOLATION,
	SCARD_E_NOT_TRANSACTED,
	SCARD_E_INSUFFICIENT_BUFFER,
	SCARD_F_COMM_ERROR,
	SCARD_E_SERVICE_STOPPED,
	SCARD_W_UNRESPONSIVE_CARD,
	SCARD_E_PROTO_MISMATCH,
	0x12345678L,
};

static long code(uint8_t b)
{
	return codes[b % (sizeof(codes) / sizeof(codes[0]))];
}

static long z_establish(void *arg, long *hctx)
{
	*hctx = 7;
	return (u8() & 1) ? SCARD_E_NO_SERVICE : SCARD_S_SUCCESS;
}

static long z_release(void *arg, long hctx)
{
	return SCARD_S_SUCCESS;
}

static long z_list_readers(void *arg, long hctx, char *buf, size_t *len)
{
	static const struct {
		const char *s;
		size_t n;
	} lists[] = {
		{ "R\0S\0", 5 },
		{ "S\0R", 3 },
		{ "", 1 },
		{ "R\0", 3 },
	};
	uint8_t k = u8();
	if (k & 0x80)
		return code(k);
	k %= 4;
	if (lists[k].n > *len)
		return SCARD_E_INSUFFICIENT_BUFFER;
	memcpy(buf, lists[k].s, lists[k].n);
	*len = lists[k].n;
	return SCARD_S_SUCCESS;
}

static long z_connect(void *arg, long hctx, const char *reader, long *hcard, unsigned long *proto)
{
	uint8_t b = u8();
	*hcard = 9;
	*proto = (b & 4) ? SCARD_PROTOCOL_T1 : (b & 8) ? 0x10 : SCARD_PROTOCOL_T0;
	return (b & 3) == 0 ? SCARD_S_SUCCESS : code(b >> 4);
}

static long z_reconnect(void *arg, long hcard, bool reset, unsigned long *proto)
{
	return z_connect(arg, 0, NULL, &hcard, proto);
}

static long z_disconnect(void *arg, long hcard)
{
	return SCARD_S_SUCCESS;
}

static long z_transmit(void *arg, long hcard, unsigned long proto, const uint8_t *c, size_t clen,
		       uint8_t *r, size_t *rlen)
{
	if (!left()) {
		if (*rlen < 2)
			return SCARD_E_INSUFFICIENT_BUFFER;
		r[0] = 0x90;
		r[1] = 0x00;
		*rlen = 2;
		return SCARD_S_SUCCESS;
	}
	uint8_t n = u8();
	if (n == 0xFF)
		return code(u8());
	size_t w = n < *rlen ? n : *rlen;
	for (size_t i = 0; i < w; i++)
		r[i] = u8();
	/* A broken layer may claim more than the buffer. */
	*rlen = (u8() & 0x80) ? *rlen + n : w;
	return SCARD_S_SUCCESS;
}

static long z_status(void *arg, long hcard, uint8_t *atr, size_t *atr_len)
{
	size_t n = u8() % 64;
	long rc = code(u8() >> 4);
	for (size_t i = 0; i < n && i < *atr_len; i++)
		atr[i] = (uint8_t)(0x3B + i);
	*atr_len = n;
	return rc;
}

static long z_get_status_change(void *arg, long hctx, const char *reader, unsigned long cur,
				unsigned long *event)
{
	long rc = code(u8() >> 3);
	unsigned long lo = u8();
	lo |= (unsigned long)u8() << 8;
	*event = lo | ((unsigned long)u8() << 16);
	return rc;
}

static const struct transport_pcsc_api z_api = {
	.establish = z_establish,
	.release = z_release,
	.list_readers = z_list_readers,
	.connect = z_connect,
	.reconnect = z_reconnect,
	.disconnect = z_disconnect,
	.transmit = z_transmit,
	.status = z_status,
	.get_status_change = z_get_status_change,
};

/* Commands of every case, some not for T=0. */
static const struct {
	uint8_t c[16];
	size_t n;
} cmds[] = {
	{ { 0x80, 0xF2, 0x00, 0x00 }, 4 },
	{ { 0x80, 0x12, 0x00, 0x00, 0x10 }, 5 },
	{ { 0x00, 0xB0, 0x00, 0x00, 0x00 }, 5 },
	{ { 0x80, 0x10, 0x00, 0x00, 0x02, 0xFF, 0xFF }, 7 },
	{ { 0x01, 0xA4, 0x04, 0x04, 0x02, 0x7F, 0x50, 0x00 }, 8 },
	{ { 0x45, 0xC2, 0x00, 0x00, 0x01, 0xD6, 0x00 }, 7 },
	{ { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00 }, 7 },
	{ { 0x00, 0xB0, 0x00 }, 3 },
};

static struct transport_link_pcsc *open_link(void)
{
	struct transport_link_pcsc *l = NULL;
	char err[128];
	if (transport_link_pcsc_new_api("R", &z_api, NULL, &l, err, sizeof(err)) != 0)
		return NULL;
	return l;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_setup(LOG_ERROR, false);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = { 2, 8, 260, 600 };
	static uint8_t r[600];
	in_p = data;
	in_len = size;
	in_pos = 0;
	log_setup(LOG_ERROR, false);
	struct transport_link_pcsc *l = open_link();
	for (unsigned op = 0; op < OPS_MAX && left(); op++) {
		uint8_t o = u8();
		if (!l && (o & 7) != 7)
			continue;
		switch (o & 7) {
		case 0:
		case 1:
		case 2:
		case 3: {
			uint8_t k = u8() % (sizeof(cmds) / sizeof(cmds[0]));
			size_t cap = caps[o & 3], rlen = 0;
			int rc = transport_link_pcsc_ops.transmit(l, cmds[k].c, cmds[k].n, r, cap,
								  &rlen);
			if (rc == 0 && (rlen < 2 || rlen > cap))
				abort();
			break;
		}
		case 4:
		case 5: {
			enum transport_pcsc_event ev;
			uint8_t atr[CARD_ATR_MAX];
			size_t n = 0;
			unsigned d =
				transport_link_pcsc_poll(l, 250, 2000, &ev, atr, sizeof(atr), &n);
			if (n > sizeof(atr) || d < 250 || d > 2000 ||
			    (ev != TRANSPORT_PCSC_CARD_IN && n != 0))
				abort();
			break;
		}
		case 6: {
			uint8_t atr[CARD_ATR_MAX];
			size_t n = 0;
			if (transport_link_pcsc_ops.reset(l, atr, sizeof(atr), &n) == 0 &&
			    n > sizeof(atr))
				abort();
			break;
		}
		case 7:
			transport_link_pcsc_free(l);
			l = open_link();
			break;
		}
	}
	transport_link_pcsc_free(l);
	return 0;
}
