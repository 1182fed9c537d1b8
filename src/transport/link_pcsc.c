/* link_pcsc.c - the APDU link over PC/SC and its insertion/removal watcher
 * (pcsc-lite's libpcsclite; T=0 transport per ISO/IEC 7816-3 §12.2; PC/SC part 5). */
#include "transport/link_pcsc.h"

#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winscard.h>

#include "core/hex.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/timeval.h"

#define SUB "pcsc"

/* The injectable layer passes handles as long and bits as unsigned long. */
_Static_assert(sizeof(SCARDCONTEXT) == sizeof(long) && sizeof(SCARDHANDLE) == sizeof(long),
	       "pcsc-lite handles are not long");
_Static_assert(sizeof(LONG) == sizeof(long) && sizeof(DWORD) == sizeof(unsigned long),
	       "pcsc-lite LONG/DWORD are not long/unsigned long");
_Static_assert(MAX_ATR_SIZE <= CARD_ATR_MAX, "ATR buffers too small");
_Static_assert(MAX_READERNAME <= PCSC_READER_NAME_MAX, "reader name buffer too small");

/* ---- libpcsclite ---- */

static long pl_establish(void *arg, long *hctx)
{
	SCARDCONTEXT c = 0;
	LONG rc = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c);
	*hctx = c;
	return rc;
}

static long pl_release(void *arg, long hctx)
{
	return SCardReleaseContext(hctx);
}

static long pl_list_readers(void *arg, long hctx, char *buf, size_t *len)
{
	DWORD n = *len > 0xFFFFFFFFu ? 0xFFFFFFFFu : (DWORD)*len;
	LONG rc = SCardListReaders(hctx, NULL, buf, &n);
	*len = rc == SCARD_S_SUCCESS ? n : 0;
	return rc;
}

static long pl_connect(void *arg, long hctx, const char *reader, long *hcard, unsigned long *proto)
{
	SCARDHANDLE h = 0;
	DWORD p = 0;
	LONG rc = SCardConnect(hctx, reader, SCARD_SHARE_SHARED,
			       SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &p);
	*hcard = h;
	*proto = p;
	return rc;
}

static long pl_reconnect(void *arg, long hcard, bool reset, unsigned long *proto)
{
	DWORD p = 0;
	LONG rc = SCardReconnect(hcard, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
				 reset ? SCARD_RESET_CARD : SCARD_LEAVE_CARD, &p);
	*proto = p;
	return rc;
}

static long pl_disconnect(void *arg, long hcard)
{
	return SCardDisconnect(hcard, SCARD_LEAVE_CARD);
}

static long pl_transmit(void *arg, long hcard, unsigned long proto, const uint8_t *c, size_t clen,
			uint8_t *r, size_t *rlen)
{
	const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
	DWORD n = *rlen > 0xFFFFFFFFu ? 0xFFFFFFFFu : (DWORD)*rlen;
	if (clen > 0xFFFFFFFFu)
		return SCARD_E_INVALID_PARAMETER;
	LONG rc = SCardTransmit(hcard, pci, c, (DWORD)clen, NULL, r, &n);
	*rlen = rc == SCARD_S_SUCCESS ? n : 0;
	return rc;
}

static long pl_status(void *arg, long hcard, uint8_t *atr, size_t *atr_len)
{
	char name[PCSC_READER_NAME_MAX];
	DWORD name_len = sizeof(name), state = 0, proto = 0;
	DWORD n = *atr_len > MAX_ATR_SIZE ? MAX_ATR_SIZE : (DWORD)*atr_len;
	LONG rc = SCardStatus(hcard, name, &name_len, &state, &proto, atr, &n);
	*atr_len = rc == SCARD_S_SUCCESS ? n : 0;
	return rc;
}

static long pl_get_status_change(void *arg, long hctx, const char *reader, unsigned long cur,
				 unsigned long *event)
{
	SCARD_READERSTATE st;
	memset(&st, 0, sizeof(st));
	st.szReader = reader;
	st.dwCurrentState = cur;
	LONG rc = SCardGetStatusChange(hctx, 0, &st, 1);
	*event = st.dwEventState;
	return rc;
}

const struct transport_pcsc_api transport_pcsc_api_pcsclite = {
	.establish = pl_establish,
	.release = pl_release,
	.list_readers = pl_list_readers,
	.connect = pl_connect,
	.reconnect = pl_reconnect,
	.disconnect = pl_disconnect,
	.transmit = pl_transmit,
	.status = pl_status,
	.get_status_change = pl_get_status_change,
};

/* ---- status codes, translated once ---- */

static const struct pcsc_error {
	long code;
	int err;
	const char *text;
} pcsc_errors[] = {
	{ SCARD_S_SUCCESS, 0, "success" },
	{ SCARD_E_NO_SERVICE, -ECONNREFUSED, "pcscd is not running" },
	{ SCARD_E_SERVICE_STOPPED, -ECONNREFUSED, "pcscd is not running (it stopped)" },
	{ SCARD_F_COMM_ERROR, -ECONNREFUSED, "pcscd is not running (connection lost)" },
	{ SCARD_E_INVALID_HANDLE, -EBADF, "stale PC/SC handle (pcscd restarted?)" },
	{ SCARD_E_NO_READERS_AVAILABLE, -ENODEV, "no reader available" },
	{ SCARD_E_UNKNOWN_READER, -ENODEV, "unknown reader" },
	{ SCARD_E_READER_UNAVAILABLE, -ENODEV, "reader unavailable" },
	{ SCARD_E_NO_SMARTCARD, -ENOMEDIUM, "no card in the reader" },
	{ SCARD_W_REMOVED_CARD, -ENOMEDIUM, "card removed" },
	{ SCARD_W_RESET_CARD, -ECONNRESET, "card reset by another application" },
	{ SCARD_W_UNPOWERED_CARD, -EIO, "card not powered" },
	{ SCARD_W_UNRESPONSIVE_CARD, -EIO, "card does not answer the reset" },
	{ SCARD_W_UNSUPPORTED_CARD, -EPROTO, "card not supported (ATR)" },
	{ SCARD_E_CARD_UNSUPPORTED, -EPROTO, "card not supported by the reader" },
	{ SCARD_E_PROTO_MISMATCH, -EPROTO, "no protocol in common (T=0, T=1)" },
	{ SCARD_E_SHARING_VIOLATION, -EBUSY, "card in exclusive use by another application" },
	{ SCARD_E_NOT_TRANSACTED, -EIO, "APDU exchange failed" },
	{ SCARD_E_COMM_DATA_LOST, -EIO, "data lost between reader and card" },
	{ SCARD_E_INSUFFICIENT_BUFFER, -EMSGSIZE, "answer longer than the buffer" },
	{ SCARD_E_TIMEOUT, -ETIMEDOUT, "timeout" },
	{ SCARD_E_NO_MEMORY, -ENOMEM, "out of memory" },
	{ SCARD_E_INVALID_PARAMETER, -EINVAL, "invalid parameter" },
	{ SCARD_E_INVALID_VALUE, -EINVAL, "invalid value" },
	{ SCARD_E_CANCELLED, -ECANCELED, "cancelled" },
	{ SCARD_E_UNSUPPORTED_FEATURE, -EOPNOTSUPP, "not supported by the reader" },
	{ SCARD_F_INTERNAL_ERROR, -EIO, "internal error in pcscd" },
};

static const struct pcsc_error *find_error(long code)
{
	for (size_t i = 0; i < sizeof(pcsc_errors) / sizeof(pcsc_errors[0]); i++)
		if (pcsc_errors[i].code == code)
			return &pcsc_errors[i];
	return NULL;
}

int transport_pcsc_errno(long code)
{
	const struct pcsc_error *e = find_error(code);
	return e ? e->err : -EIO;
}

const char *transport_pcsc_strerror(long code)
{
	const struct pcsc_error *e = find_error(code);
	return e ? e->text : "PC/SC error";
}

/* The context is gone with pcscd: only a new one helps. */
static bool service_lost(long code)
{
	return code == (long)SCARD_E_NO_SERVICE || code == (long)SCARD_E_SERVICE_STOPPED ||
	       code == (long)SCARD_F_COMM_ERROR || code == (long)SCARD_E_INVALID_HANDLE;
}

/* ---- the link ---- */

struct transport_link_pcsc {
	const struct transport_pcsc_api *api;
	void *arg;
	char reader[PCSC_READER_NAME_MAX];
	long hctx, hcard;
	bool have_ctx, have_card;
	unsigned long proto;

	/* What the watcher has told the daemon, and what it saw. */
	bool card_up;       /* CARD_IN reported, CARD_OUT not yet */
	bool reset_pending; /* another application reset the card */
	bool reset_reported;
	bool swap_reported;      /* a new card under our old handle: reported */
	unsigned long gsc_state; /* last dwEventState, SCARD_STATE_UNAWARE after establish */
	bool have_counter;
	unsigned long counter; /* pcsc-lite's event counter when the card came up */
	bool down_logged;      /* pcscd away: said once, until it is back */
	int connect_logged;    /* the last failure to take the card, said once */
	unsigned backoff_ms;

	char last_error[256];
};

/* Remembers a PC/SC failure for logs; returns its errno. */
static int note(struct transport_link_pcsc *l, const char *what, long code)
{
	snprintf(l->last_error, sizeof(l->last_error), "%s: %s (0x%08lX)", what,
		 transport_pcsc_strerror(code), (unsigned long)code & 0xFFFFFFFFul);
	if (code == (long)SCARD_W_RESET_CARD)
		l->reset_pending = true;
	return transport_pcsc_errno(code);
}

__attribute__((format(printf, 3, 4))) static int fail(struct transport_link_pcsc *l, int rc,
						      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->last_error, sizeof(l->last_error), fmt, ap);
	va_end(ap);
	return rc;
}

/* One SCardTransmit; an answer holds SW1 SW2 at least. */
static int xfer(struct transport_link_pcsc *l, const uint8_t *c, size_t clen, uint8_t *r,
		size_t cap, size_t *rlen)
{
	size_t n = cap;
	long rc = l->api->transmit(l->arg, l->hcard, l->proto, c, clen, r, &n);
	if (rc != (long)SCARD_S_SUCCESS)
		return note(l, "SCardTransmit", rc);
	if (n < 2 || n > cap)
		return fail(l, -EPROTO, "SCardTransmit: answer of %zu bytes", n);
	*rlen = n;
	return 0;
}

/* GET RESPONSE goes to the command's logical channel (TS 102 221 §10.1.1:
 * CLA 0X for channels 0-3, 4X for 4-19), without secure messaging. */
static uint8_t get_response_cla(uint8_t cla)
{
	if (cla & 0x40)
		return (uint8_t)(0x40 | (cla & 0x0F));
	return (uint8_t)(cla & 0x03);
}

/* ISO/IEC 7816-3 §12.2: a short C-APDU as T=0 TPDUs. */
static int t0_transmit(struct transport_link_pcsc *l, const uint8_t *c, size_t len, uint8_t *out,
		       size_t cap, size_t *olen)
{
	uint8_t cmd[5 + APDU_SHORT_DATA_MAX];
	uint8_t r[APDU_SHORT_RESP_MAX + 2];
	size_t clen = len, rn = 0, got = 0;
	bool has_le = len == 5; /* case 2: P3 is Le */

	if (len < 4)
		return fail(l, -EINVAL, "C-APDU of %zu bytes", len);
	if (len > 5) {
		size_t lc = c[4];
		if (lc == 0)
			return fail(l, -EINVAL, "extended C-APDU: not over T=0");
		if (len == 6 + lc)
			clen = len - 1; /* case 4 as case 3: the data come with 61 xx */
		else if (len != 5 + lc)
			return fail(l, -EINVAL, "C-APDU of %zu bytes with Lc %zu", len, lc);
	}
	if (cap < 2)
		return -EMSGSIZE;
	memcpy(cmd, c, clen);
	int rc = xfer(l, cmd, clen, r, sizeof(r), &rn);
	if (rc == 0 && has_le && r[rn - 2] == 0x6C) {
		cmd[4] = r[rn - 1]; /* wrong Le: again with the length the card wants */
		rc = xfer(l, cmd, clen, r, sizeof(r), &rn);
	}
	for (unsigned round = 0; rc == 0; round++) {
		size_t d = rn - 2;
		if (d > cap - 2 - got)
			return fail(l, -EMSGSIZE, "answer over %zu bytes", cap - 2);
		memcpy(out + got, r, d);
		got += d;
		if (r[rn - 2] != 0x61) {
			out[got] = r[rn - 2];
			out[got + 1] = r[rn - 1];
			*olen = got + 2;
			return 0;
		}
		if (round >= PCSC_GETRESP_MAX)
			return fail(l, -EPROTO, "61 xx after %u GET RESPONSE", PCSC_GETRESP_MAX);
		uint8_t gr[5] = { get_response_cla(c[0]), 0xC0, 0x00, 0x00, r[rn - 1] };
		rc = xfer(l, gr, sizeof(gr), r, sizeof(r), &rn);
		if (rc == 0 && r[rn - 2] == 0x6C) {
			gr[4] = r[rn - 1];
			rc = xfer(l, gr, sizeof(gr), r, sizeof(r), &rn);
		}
	}
	return rc;
}

static int pcsc_transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap,
			 size_t *rlen)
{
	struct transport_link_pcsc *l = ctx;
	*rlen = 0;
	if (!l->have_card)
		return fail(l, -ENOMEDIUM, "no card in reader '%s'", l->reader);
	if (l->proto != SCARD_PROTOCOL_T0)
		return xfer(l, capdu, len, rapdu, cap, rlen);
	return t0_transmit(l, capdu, len, rapdu, cap, rlen);
}

static int connect_card(struct transport_link_pcsc *l)
{
	long h = 0;
	unsigned long proto = 0;
	long rc = l->api->connect(l->arg, l->hctx, l->reader, &h, &proto);
	if (rc != (long)SCARD_S_SUCCESS)
		return note(l, "SCardConnect", rc);
	if (proto != SCARD_PROTOCOL_T0 && proto != SCARD_PROTOCOL_T1) {
		l->api->disconnect(l->arg, h);
		return fail(l, -EPROTO, "SCardConnect: protocol %lu, not T=0 or T=1", proto);
	}
	l->hcard = h;
	l->proto = proto;
	l->have_card = true;
	return 0;
}

static void drop_card(struct transport_link_pcsc *l)
{
	if (l->have_card)
		l->api->disconnect(l->arg, l->hcard);
	l->have_card = false;
	l->card_up = false;
	l->reset_pending = l->reset_reported = l->swap_reported = false;
}

static int read_atr(struct transport_link_pcsc *l, uint8_t *atr, size_t cap, size_t *atr_len)
{
	uint8_t buf[CARD_ATR_MAX];
	size_t n = sizeof(buf);
	long rc = l->api->status(l->arg, l->hcard, buf, &n);
	if (rc != (long)SCARD_S_SUCCESS)
		return note(l, "SCardStatus", rc);
	if (n > sizeof(buf) || n > cap)
		return fail(l, -EMSGSIZE, "ATR of %zu bytes", n);
	if (n)
		memcpy(atr, buf, n);
	*atr_len = n;
	return 0;
}

/* A reset for the gateway: the card starts afresh, so TERMINAL PROFILE opens a new
 * session. When another application has just reset it, that reset is only
 * acknowledged (LEAVE): resetting again would send that application the same
 * "card reset" and, if it answered in kind, the two would never stop. */
static int pcsc_reset(void *ctx, uint8_t *atr, size_t cap, size_t *atr_len)
{
	struct transport_link_pcsc *l = ctx;
	unsigned long proto = 0;
	bool fresh = false;
	int rc;
	*atr_len = 0;
	if (!l->have_ctx)
		return fail(l, -ECONNREFUSED, "pcscd is not running");
	if (!l->have_card) {
		if ((rc = connect_card(l)) != 0)
			return rc;
		fresh = true;
	}
	long prc = l->api->reconnect(l->arg, l->hcard, !l->reset_pending, &proto);
	if ((prc == (long)SCARD_W_REMOVED_CARD || prc == (long)SCARD_E_INVALID_HANDLE) && !fresh) {
		/* Another card since this handle was made: start over with it. */
		l->api->disconnect(l->arg, l->hcard);
		l->have_card = false;
		if ((rc = connect_card(l)) != 0)
			return rc;
		prc = l->api->reconnect(l->arg, l->hcard, true, &proto);
	}
	if (prc != (long)SCARD_S_SUCCESS)
		return note(l, "SCardReconnect", prc);
	if (proto != SCARD_PROTOCOL_T0 && proto != SCARD_PROTOCOL_T1)
		return fail(l, -EPROTO, "SCardReconnect: protocol %lu, not T=0 or T=1", proto);
	l->proto = proto;
	l->reset_pending = l->reset_reported = l->swap_reported = false;
	return read_atr(l, atr, cap, atr_len);
}

void transport_link_pcsc_free(struct transport_link_pcsc *l)
{
	if (!l)
		return;
	if (l->have_card)
		l->api->disconnect(l->arg, l->hcard);
	if (l->have_ctx)
		l->api->release(l->arg, l->hctx);
	free(l);
}

static void pcsc_free(void *ctx)
{
	transport_link_pcsc_free(ctx);
}

const struct card_link_ops transport_link_pcsc_ops = {
	.name = "pcsc",
	.transmit = pcsc_transmit,
	.reset = pcsc_reset,
	.free = pcsc_free,
};

__attribute__((format(printf, 4, 5))) static void append(char *s, size_t cap, size_t *off,
							 const char *fmt, ...)
{
	if (*off >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n < cap - *off ? (size_t)n : cap - *off;
}

/* Looks for reader among the names pcscd lists; else says which there are. */
static int find_reader(struct transport_link_pcsc *l, char *err, size_t errcap)
{
	char buf[PCSC_READERS_BUF_MAX];
	size_t n = sizeof(buf) - 1, off = 0;
	unsigned count = 0;
	long rc = l->api->list_readers(l->arg, l->hctx, buf, &n);
	if (rc == (long)SCARD_E_NO_READERS_AVAILABLE) {
		n = 0;
	} else if (rc != (long)SCARD_S_SUCCESS) {
		snprintf(err, errcap, "cannot list the PC/SC readers: %s",
			 transport_pcsc_strerror(rc));
		return transport_pcsc_errno(rc);
	}
	if (n > sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	buf[n] = '\0'; /* a list that does not end is cut at the buffer */
	for (size_t i = 0; i < n && buf[i]; i += strlen(buf + i) + 1)
		if (strcmp(buf + i, l->reader) == 0)
			return 0;
	append(err, errcap, &off, "no reader '%s'; ", l->reader);
	for (size_t i = 0; i < n && buf[i]; i += strlen(buf + i) + 1)
		append(err, errcap, &off, "%s'%s'", count++ ? ", " : "readers: ", buf + i);
	if (!count)
		append(err, errcap, &off, "no readers");
	return -ENODEV;
}

int transport_link_pcsc_new_api(const char *reader, const struct transport_pcsc_api *api,
				void *api_arg, struct transport_link_pcsc **out, char *err,
				size_t errcap)
{
	if (!out || !err || !errcap)
		return -EINVAL;
	*out = NULL;
	err[0] = '\0';
	if (!api) {
		snprintf(err, errcap, "no PC/SC layer");
		return -EINVAL;
	}
	if (!reader || !reader[0] || strlen(reader) >= PCSC_READER_NAME_MAX) {
		snprintf(err, errcap, "reader name: 1 to %u characters", PCSC_READER_NAME_MAX - 1);
		return -EINVAL;
	}
	struct transport_link_pcsc *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	l->api = api;
	l->arg = api_arg;
	memcpy(l->reader, reader, strlen(reader) + 1);
	long rc = api->establish(api_arg, &l->hctx);
	if (rc != (long)SCARD_S_SUCCESS) {
		snprintf(err, errcap, "%s (SCardEstablishContext: 0x%08lX)",
			 transport_pcsc_strerror(rc), (unsigned long)rc & 0xFFFFFFFFul);
		free(l);
		return transport_pcsc_errno(rc);
	}
	l->have_ctx = true;
	l->gsc_state = SCARD_STATE_UNAWARE;
	int r = find_reader(l, err, errcap);
	if (r) {
		transport_link_pcsc_free(l);
		return r;
	}
	*out = l;
	return 0;
}

int transport_link_pcsc_new(const char *reader, struct transport_link_pcsc **out, char *err,
			    size_t errcap)
{
	return transport_link_pcsc_new_api(reader, &transport_pcsc_api_pcsclite, NULL, out, err,
					   errcap);
}

const char *transport_link_pcsc_reader(const struct transport_link_pcsc *l)
{
	return l ? l->reader : "";
}

bool transport_link_pcsc_has_card(const struct transport_link_pcsc *l)
{
	return l && l->have_card && l->card_up;
}

int transport_link_pcsc_protocol(const struct transport_link_pcsc *l)
{
	if (!l || !l->have_card)
		return -1;
	return l->proto == SCARD_PROTOCOL_T1 ? 1 : 0;
}

const char *transport_link_pcsc_last_error(const struct transport_link_pcsc *l)
{
	return l ? l->last_error : "";
}

/* ---- the poll ---- */

const char *transport_pcsc_event_name(enum transport_pcsc_event ev)
{
	switch (ev) {
	case TRANSPORT_PCSC_NONE:
		return "none";
	case TRANSPORT_PCSC_CARD_IN:
		return "card in";
	case TRANSPORT_PCSC_CARD_RESET:
		return "card reset";
	case TRANSPORT_PCSC_CARD_OUT:
		return "card out";
	}
	return "?";
}

/* pcscd went away: everything it gave us is void. */
static enum transport_pcsc_event lose_service(struct transport_link_pcsc *l, long code)
{
	bool was_up = l->card_up;
	note(l, "pcscd", code);
	drop_card(l);
	if (l->have_ctx)
		l->api->release(l->arg, l->hctx);
	l->have_ctx = false;
	l->have_counter = false;
	if (!l->down_logged) {
		log_warn(SUB, "%s: reader '%s' is out of reach; retrying until pcscd answers%s",
			 transport_pcsc_strerror(code), l->reader,
			 was_up ? " (the card counts as removed)" : "");
		l->down_logged = true;
	}
	return was_up ? TRANSPORT_PCSC_CARD_OUT : TRANSPORT_PCSC_NONE;
}

static void log_atr(const struct transport_link_pcsc *l, const uint8_t *atr, size_t n)
{
	char hex[3 * CARD_ATR_MAX + 1];
	log_info(SUB, "card in reader '%s' (T=%d), ATR %s", l->reader,
		 l->proto == SCARD_PROTOCOL_T1 ? 1 : 0, hex_encode(atr, n, ' ', hex, sizeof(hex)));
}

/* The card stays in the reader: was it reset or swapped under us? Each is
 * reported once; the gateway's reset (transport_bip_gw_restart) settles it. */
static enum transport_pcsc_event check_card(struct transport_link_pcsc *l, unsigned long event)
{
	unsigned long counter = (event >> 16) & 0xFFFFu;
	bool swapped = l->have_counter && counter != l->counter;
	l->counter = counter;
	l->have_counter = true;
	if (!swapped) {
		uint8_t atr[CARD_ATR_MAX];
		size_t n = sizeof(atr);
		long rc = l->api->status(l->arg, l->hcard, atr, &n);
		if (rc == (long)SCARD_W_RESET_CARD)
			l->reset_pending = true;
		else if (rc == (long)SCARD_W_REMOVED_CARD)
			swapped = true; /* out and in again, the counter notwithstanding */
		else if (rc != (long)SCARD_S_SUCCESS)
			note(l, "SCardStatus", rc);
	}
	if (swapped) {
		/* A new card for the gateway: it must be reset, not acknowledged. */
		l->reset_pending = l->reset_reported = false;
		if (l->swap_reported)
			return TRANSPORT_PCSC_NONE;
		l->swap_reported = true;
		log_info(SUB, "card in reader '%s' was replaced", l->reader);
		return TRANSPORT_PCSC_CARD_RESET;
	}
	if (l->reset_pending && !l->reset_reported && !l->swap_reported) {
		l->reset_reported = true;
		log_info(SUB, "card in reader '%s' was reset by another application", l->reader);
		return TRANSPORT_PCSC_CARD_RESET;
	}
	return TRANSPORT_PCSC_NONE;
}

unsigned transport_link_pcsc_poll(struct transport_link_pcsc *l, unsigned poll_ms,
				  unsigned backoff_max_ms, enum transport_pcsc_event *ev,
				  uint8_t *atr, size_t cap, size_t *atr_len)
{
	*ev = TRANSPORT_PCSC_NONE;
	*atr_len = 0;
	if (!poll_ms)
		poll_ms = PCSC_POLL_MS;
	if (backoff_max_ms < poll_ms)
		backoff_max_ms = poll_ms;
	if (!l->have_ctx) {
		long rc = l->api->establish(l->arg, &l->hctx);
		if (rc != (long)SCARD_S_SUCCESS) {
			note(l, "SCardEstablishContext", rc);
			if (!l->down_logged) {
				log_warn(SUB, "%s: reader '%s' is out of reach; retrying",
					 transport_pcsc_strerror(rc), l->reader);
				l->down_logged = true;
			}
			unsigned d = l->backoff_ms ? l->backoff_ms : poll_ms;
			l->backoff_ms = d > backoff_max_ms / 2 ? backoff_max_ms : 2 * d;
			return d;
		}
		l->have_ctx = true;
		l->gsc_state = SCARD_STATE_UNAWARE;
		l->have_counter = false;
		l->backoff_ms = 0;
		if (l->down_logged)
			log_info(SUB, "pcscd is back: watching reader '%s' again", l->reader);
		l->down_logged = false;
	}
	unsigned long event = 0;
	long rc = l->api->get_status_change(l->arg, l->hctx, l->reader, l->gsc_state, &event);
	if (service_lost(rc)) {
		*ev = lose_service(l, rc);
		return poll_ms;
	}
	if (rc == (long)SCARD_S_SUCCESS) {
		l->gsc_state = event;
	} else if (rc == (long)SCARD_E_TIMEOUT) {
		event = l->gsc_state; /* nothing new */
	} else if (rc == (long)SCARD_E_UNKNOWN_READER || rc == (long)SCARD_E_READER_UNAVAILABLE) {
		event = SCARD_STATE_UNKNOWN;
		l->gsc_state = SCARD_STATE_UNAWARE;
	} else {
		note(l, "SCardGetStatusChange", rc);
		return poll_ms;
	}
	bool present = (event & SCARD_STATE_PRESENT) &&
		       !(event & (SCARD_STATE_EMPTY | SCARD_STATE_UNKNOWN |
				  SCARD_STATE_UNAVAILABLE | SCARD_STATE_MUTE));
	if (l->card_up) {
		if (!present) {
			drop_card(l);
			log_info(SUB, "%s reader '%s'",
				 event & SCARD_STATE_UNKNOWN ? "card gone with its" : "card out of",
				 l->reader);
			*ev = TRANSPORT_PCSC_CARD_OUT;
			return poll_ms;
		}
		*ev = check_card(l, event);
		return poll_ms;
	}
	if (!present) {
		l->connect_logged = 0;
		return poll_ms;
	}
	int r = l->have_card ? 0 : connect_card(l);
	if (r == 0)
		r = read_atr(l, atr, cap, atr_len);
	if (r) {
		/* A card pcscd cannot power, or one held exclusively: said once. */
		if (r != l->connect_logged && r != -ENOMEDIUM)
			log_warn(SUB, "reader '%s': %s; retrying", l->reader, l->last_error);
		l->connect_logged = r;
		drop_card(l); /* and again at the next poll */
		return poll_ms;
	}
	l->connect_logged = 0;
	l->card_up = true;
	l->reset_pending = l->reset_reported = l->swap_reported = false;
	l->counter = (event >> 16) & 0xFFFFu;
	l->have_counter = true;
	log_atr(l, atr, *atr_len);
	*ev = TRANSPORT_PCSC_CARD_IN;
	return poll_ms;
}

/* ---- the watcher: the poll on a libevent timer ---- */

struct transport_pcsc_watch {
	struct event_base *base;
	struct transport_link_pcsc *l;
	unsigned poll_ms, backoff_max_ms;
	transport_pcsc_card_fn *fn;
	void *arg;
	struct event *timer;
	bool running;
};

static void arm(struct transport_pcsc_watch *w, unsigned ms)
{
	struct timeval tv = tv_from_ms(ms);
	if (evtimer_add(w->timer, &tv) != 0)
		log_err(SUB, "cannot arm the reader watch timer: reader '%s' is not watched",
			w->l->reader);
}

static unsigned step(struct transport_pcsc_watch *w)
{
	enum transport_pcsc_event ev;
	uint8_t atr[CARD_ATR_MAX];
	size_t n = 0;
	unsigned next = transport_link_pcsc_poll(w->l, w->poll_ms, w->backoff_max_ms, &ev, atr,
						 sizeof(atr), &n);
	if (ev != TRANSPORT_PCSC_NONE && w->fn)
		w->fn(w->arg, ev, n ? atr : NULL, n);
	return next;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct transport_pcsc_watch *w = arg;
	unsigned next = step(w);
	if (w->running) /* the callback may have stopped us */
		arm(w, next);
}

struct transport_pcsc_watch *transport_pcsc_watch_new(struct event_base *base,
						      struct transport_link_pcsc *l,
						      const struct transport_pcsc_watch_opts *opts,
						      transport_pcsc_card_fn *fn, void *arg)
{
	if (!base || !l)
		return NULL;
	struct transport_pcsc_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->base = base;
	w->l = l;
	w->fn = fn;
	w->arg = arg;
	w->poll_ms = opts && opts->poll_ms ? opts->poll_ms : PCSC_POLL_MS;
	w->backoff_max_ms =
		opts && opts->backoff_max_ms ? opts->backoff_max_ms : PCSC_BACKOFF_MAX_MS;
	w->timer = evtimer_new(base, on_tick, w);
	if (!w->timer) {
		free(w);
		return NULL;
	}
	return w;
}

void transport_pcsc_watch_free(struct transport_pcsc_watch *w)
{
	if (!w)
		return;
	event_free(w->timer);
	free(w);
}

int transport_pcsc_watch_start(struct transport_pcsc_watch *w)
{
	if (!w)
		return -EINVAL;
	w->running = true;
	unsigned next = step(w);
	if (!w->running)
		return 0;
	struct timeval tv = tv_from_ms(next);
	return evtimer_add(w->timer, &tv) == 0 ? 0 : -ENOMEM;
}

void transport_pcsc_watch_stop(struct transport_pcsc_watch *w)
{
	if (!w)
		return;
	w->running = false;
	evtimer_del(w->timer);
}
