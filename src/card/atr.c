/* atr.c - the answer to reset decoded: interface bytes, TCK, historical
 * bytes and their card capabilities (ISO/IEC 7816-3 §8.2, 7816-4 §8.1.1). */
#include "card/atr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errcap, const char *fmt,
						      ...)
{
	if (errcap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Compact-TLV objects (tag in the high nibble, length in the low one):
 * 3 card service data, 7 card capabilities, 8 status indicator. */
static void parse_hist(struct card_atr *a)
{
	if (a->hist_len == 0)
		return;
	a->category = a->hist[0];
	if (a->category != 0x00 && a->category != 0x80) {
		a->hist_ok = a->category == 0x10 || a->category >= 0x81;
		return;
	}
	/* Category 00: the last three bytes are the status indicator, out
	 * of the TLV objects. */
	size_t end = a->hist_len;
	if (a->category == 0x00) {
		if (end < 4)
			return;
		end -= 3;
		a->has_status = true;
		a->lcs = a->hist[end];
		a->sw = (uint16_t)(a->hist[end + 1] << 8 | a->hist[end + 2]);
	}
	struct rd r;
	rd_init(&r, a->hist + 1, end - 1);
	while (rd_left(&r)) {
		uint8_t tl = rd_u8(&r);
		size_t l = tl & 0x0F;
		struct bytes b = rd_bytes(&r, l);
		const uint8_t *v = b.ptr;
		if (r.failed)
			return;
		switch (tl >> 4) {
		case 0x7:
			a->has_caps = true;
			a->caps_len = l > 3 ? 3 : l;
			memcpy(a->caps, v, a->caps_len);
			if (l >= 3) {
				a->chaining = (v[2] & 0x80) != 0;
				a->ext_len = (v[2] & 0x40) != 0;
				a->channels = (v[2] & 0x07) + 1;
			}
			break;
		case 0x8:
			if (l == 1 || l == 3) {
				a->has_status = true;
				a->lcs = v[0];
				if (l == 3)
					a->sw = (uint16_t)(v[1] << 8 | v[2]);
			} else if (l == 2) {
				a->has_status = true;
				a->sw = (uint16_t)(v[0] << 8 | v[1]);
			}
			break;
		default:
			break;
		}
	}
	a->hist_ok = !r.failed;
}

int card_atr_parse(const uint8_t *atr, size_t len, struct card_atr *out, char *err, size_t errcap)
{
	memset(out, 0, sizeof(*out));
	out->channels = -1;
	if (errcap)
		err[0] = '\0';
	if (!atr || len < 2 || len > CARD_ATR_MAX)
		return fail(err, errcap, "%zu bytes; an ATR has 2 to %u", len, CARD_ATR_MAX);
	if (atr[0] != 0x3B && atr[0] != 0x3F)
		return fail(err, errcap, "TS is %02X; an ATR starts with 3B or 3F", atr[0]);
	out->ts = atr[0];
	out->t0 = atr[1];
	size_t pos = 1, k = atr[1] & 0x0F;
	uint8_t y = atr[1] >> 4;
	for (;;) {
		pos += 1; /* past T0 or TDi */
		pos += (size_t)((y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1));
		if (!(y & 8))
			break;
		if (pos >= len)
			return fail(err, errcap, "%zu bytes end inside the interface bytes", len);
		uint8_t td = atr[pos];
		out->protocols |= 1u << (td & 0x0F);
		if ((td & 0x0F) != 0)
			out->has_tck = true;
		y = td >> 4;
	}
	if (!out->protocols)
		out->protocols = 1; /* T=0 by default */
	size_t want = pos + k + (out->has_tck ? 1 : 0);
	if (want != len)
		return fail(err, errcap, "%zu bytes, but T0 and the TDi bytes announce %zu", len,
			    want);
	memcpy(out->hist, atr + pos, k);
	out->hist_len = k;
	if (out->has_tck) {
		uint8_t x = 0;
		for (size_t i = 1; i + 1 < len; i++)
			x ^= atr[i];
		out->tck = atr[len - 1];
		out->tck_want = x;
	}
	parse_hist(out);
	return 0;
}
