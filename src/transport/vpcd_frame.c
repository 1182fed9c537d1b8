/* vpcd_frame.c - vsmartcard vpcd protocol, card side, sans-I/O (vsmartcard
 * vpcd.c sendToVICC/recvFromVICC, VirtualSmartcard.py VirtualICC.run). */
#include "transport/vpcd_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "card/apdu.h"
#include "card/card.h"

int transport_vpcd_frame_init(struct transport_vpcd_frame *f, size_t max)
{
	if (!f || max == 0 || max > VPCD_MSG_MAX)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->msg = malloc(max);
	if (!f->msg)
		return -ENOMEM;
	f->max = max;
	return 0;
}

void transport_vpcd_frame_cleanup(struct transport_vpcd_frame *f)
{
	if (!f)
		return;
	free(f->msg);
	f->msg = NULL;
	f->max = 0;
	transport_vpcd_frame_reset(f);
}

void transport_vpcd_frame_reset(struct transport_vpcd_frame *f)
{
	f->need = 0;
	f->have = 0;
	f->hdr_len = 0;
	f->complete = false;
	f->err = 0;
}

int transport_vpcd_frame_feed(struct transport_vpcd_frame *f, const uint8_t *in, size_t len,
			      size_t *used)
{
	size_t pos = 0;
	*used = 0;
	if (f->err)
		return f->err;
	if (f->complete) {
		f->complete = false;
		f->hdr_len = 0;
		f->have = 0;
	}
	while (f->hdr_len < 2 && pos < len)
		f->hdr[f->hdr_len++] = in[pos++];
	if (f->hdr_len < 2) {
		*used = pos;
		return -EAGAIN;
	}
	if (f->have == 0 && f->need == 0) {
		size_t n = (size_t)((f->hdr[0] << 8) | f->hdr[1]);
		/* vpcd never sends an empty frame; its own reader treats an
		 * empty answer as a dead card. */
		if (n == 0)
			f->err = -EPROTO;
		else if (n > f->max)
			f->err = -EMSGSIZE;
		if (f->err) {
			*used = 0;
			return f->err;
		}
		f->need = n;
	}
	size_t take = f->need - f->have;
	if (take > len - pos)
		take = len - pos;
	memcpy(f->msg + f->have, in + pos, take);
	f->have += take;
	pos += take;
	*used = pos;
	if (f->have < f->need)
		return -EAGAIN;
	f->complete = true;
	f->need = 0;
	return 0;
}

const uint8_t *transport_vpcd_frame_msg(const struct transport_vpcd_frame *f, size_t *len)
{
	if (!f->complete) {
		*len = 0;
		return NULL;
	}
	*len = f->have;
	return f->msg;
}

int transport_vpcd_frame_encode(const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
				size_t *out_len)
{
	if (!msg || !len || !out || !out_len)
		return -EINVAL;
	if (len > VPCD_MSG_MAX || cap < 2 || len > cap - 2)
		return -EMSGSIZE;
	/* msg may overlap out (framing in place). */
	memmove(out + 2, msg, len);
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	*out_len = 2 + len;
	return 0;
}

static const char *const kind_names[] = {
	[VPCD_KIND_POWER_OFF] = "power off", [VPCD_KIND_POWER_ON] = "power on",
	[VPCD_KIND_RESET] = "reset",         [VPCD_KIND_ATR] = "get ATR",
	[VPCD_KIND_APDU] = "APDU",           [VPCD_KIND_UNKNOWN] = "unknown control",
};

const char *transport_vpcd_kind_name(enum transport_vpcd_kind kind)
{
	if ((size_t)kind < sizeof(kind_names) / sizeof(kind_names[0]))
		return kind_names[kind];
	return "?";
}

static void put_prefix(uint8_t *out, size_t len)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
}

static int answer_apdu(struct card *card, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
		       size_t *out_len)
{
	size_t room = cap - 2, rlen = 0;
	if (room > VPCD_MSG_MAX)
		room = VPCD_MSG_MAX;
	int rc = card_transmit(card, msg, len, out + 2, room, &rlen);
	if (rc == -EMSGSIZE && room == VPCD_MSG_MAX) {
		/* The R-APDU cannot be framed in 16 bits; the card has acted. */
		out[2] = (uint8_t)(SW_TECHNICAL_PROBLEM >> 8);
		out[3] = (uint8_t)SW_TECHNICAL_PROBLEM;
		rlen = 2;
	} else if (rc) {
		return rc;
	}
	put_prefix(out, rlen);
	*out_len = 2 + rlen;
	return 0;
}

int transport_vpcd_frame_handle(struct card *card, const uint8_t *msg, size_t len, uint8_t *out,
				size_t cap, size_t *out_len, enum transport_vpcd_kind *kind)
{
	enum transport_vpcd_kind k;
	if (!card || !msg || !len || !out || !out_len)
		return -EINVAL;
	*out_len = 0;
	if (len > 1)
		k = VPCD_KIND_APDU;
	else if (msg[0] == VPCD_CTRL_OFF)
		k = VPCD_KIND_POWER_OFF;
	else if (msg[0] == VPCD_CTRL_ON)
		k = VPCD_KIND_POWER_ON;
	else if (msg[0] == VPCD_CTRL_RESET)
		k = VPCD_KIND_RESET;
	else if (msg[0] == VPCD_CTRL_ATR)
		k = VPCD_KIND_ATR;
	else
		k = VPCD_KIND_UNKNOWN;
	if (kind)
		*kind = k;

	switch (k) {
	case VPCD_KIND_POWER_OFF:
	case VPCD_KIND_POWER_ON:
	case VPCD_KIND_RESET:
		card_reset(card);
		return 0;
	case VPCD_KIND_ATR: {
		size_t atr_len = 0;
		const uint8_t *atr = card_atr(card, &atr_len);
		return transport_vpcd_frame_encode(atr, atr_len, out, cap, out_len);
	}
	case VPCD_KIND_APDU:
		if (cap < 4)
			return -EMSGSIZE;
		return answer_apdu(card, msg, len, out, cap, out_len);
	case VPCD_KIND_UNKNOWN:
		break;
	}
	return 0;
}
