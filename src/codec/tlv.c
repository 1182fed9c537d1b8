/* tlv.c - BER-TLV / DER (ISO/IEC 8825-1 X.690, ISO/IEC 7816-4 §5.2),
 * COMPREHENSION-TLV (ETSI TS 102 223 Annex C) and OID contents (X.690 §8.19). */
#include "codec/tlv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"

static int read_tag(struct rd *r, unsigned flags, uint32_t *tag)
{
	uint8_t b = rd_u8(r);
	if (r->failed)
		return -EPROTO;
	/* ISO/IEC 7816-4 §5.2.2.1: 00 and FF are not tags but padding; 00 is
	 * also BER's end-of-contents, which only indefinite lengths use. */
	if (b == 0x00 || b == 0xFF)
		return -EPROTO;
	uint32_t t = b;
	if ((b & 0x1F) == 0x1F) {
		uint32_t num = 0;
		unsigned n = 0;
		uint8_t s;
		do {
			s = rd_u8(r);
			if (r->failed || n == 3)
				return -EPROTO; /* cut short, or over 4 tag bytes */
			/* X.690 §8.1.2.4.2 c): the first subsequent byte is not 80. */
			if (n == 0 && s == 0x80 && (flags & CODEC_TLV_DER))
				return -EPROTO;
			t = (t << 8) | s;
			num = (num << 7) | (s & 0x7F);
			n++;
		} while (s & 0x80);
		if ((flags & CODEC_TLV_DER) && num < 0x1F)
			return -EPROTO; /* tag number fits the short form */
	}
	*tag = t;
	return 0;
}

static int read_len(struct rd *r, unsigned flags, size_t *len)
{
	uint8_t b = rd_u8(r);
	if (r->failed)
		return -EPROTO;
	if (b < 0x80) {
		*len = b;
		return 0;
	}
	/* 80 is the indefinite form (not allowed here, X.690 §10.1 for DER);
	 * more than three length bytes is never needed for a card file. */
	unsigned n = b & 0x7F;
	if (n == 0 || n > 3)
		return -EPROTO;
	size_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | rd_u8(r);
	if (r->failed)
		return -EPROTO;
	if (flags & CODEC_TLV_DER) {
		static const size_t min[4] = { 0, 0x80, 0x100, 0x10000 };
		if (v < min[n])
			return -EPROTO;
	}
	*len = v;
	return 0;
}

int codec_tlv_read(struct rd *r, unsigned flags, struct codec_tlv *out)
{
	if (r->failed)
		return -EPROTO;
	struct rd t = *r;
	uint32_t tag;
	size_t len;
	int rc = read_tag(&t, flags, &tag);
	if (rc)
		return rc;
	rc = read_len(&t, flags, &len);
	if (rc)
		return rc;
	if (rd_left(&t) < len)
		return -EPROTO;
	uint8_t first = r->p[r->pos];
	out->tag = tag;
	out->cls = first & 0xC0;
	out->constructed = (first & 0x20) != 0;
	out->value = rd_bytes(&t, len);
	out->raw = bytes_make(r->p + r->pos, t.pos - r->pos);
	*r = t;
	return 0;
}

int codec_tlv_expect(struct rd *r, unsigned flags, uint32_t tag, struct codec_tlv *out)
{
	struct rd save = *r;
	int rc = codec_tlv_read(r, flags, out);
	if (rc)
		return rc;
	if (out->tag != tag) {
		*r = save;
		return -EPROTO;
	}
	return 0;
}

int codec_tlv_find(const uint8_t *p, size_t len, unsigned flags, uint32_t tag,
		   struct codec_tlv *out)
{
	struct rd r;
	rd_init(&r, p, len);
	while (rd_left(&r)) {
		int rc = codec_tlv_read(&r, flags, out);
		if (rc)
			return rc;
		if (out->tag == tag)
			return 0;
	}
	return -ENOENT;
}

bool codec_tlv_rest_is_padding(const struct rd *r)
{
	if (r->failed)
		return false;
	for (size_t i = r->pos; i < r->len; i++)
		if (r->p[i] != 0x00 && r->p[i] != 0xFF)
			return false;
	return true;
}

void codec_tlv_put_tag(struct wr *w, uint32_t tag)
{
	if (tag == 0) {
		w->failed = true;
		return;
	}
	bool started = false;
	for (int shift = 24; shift >= 0; shift -= 8) {
		uint8_t b = (uint8_t)(tag >> shift);
		if (b || started || shift == 0) {
			wr_u8(w, b);
			started = true;
		}
	}
}

static unsigned len_bytes(size_t len)
{
	if (len < 0x80)
		return 1;
	if (len <= 0xFF)
		return 2;
	if (len <= 0xFFFF)
		return 3;
	if (len <= 0xFFFFFF)
		return 4;
	return 0;
}

void codec_tlv_put_len(struct wr *w, size_t len)
{
	unsigned n = len_bytes(len);
	if (n == 0) {
		w->failed = true;
		return;
	}
	if (n > 1)
		wr_u8(w, (uint8_t)(0x80 | (n - 1)));
	for (unsigned i = n - 1; i > 0; i--)
		wr_u8(w, (uint8_t)(len >> (8 * (i - 1))));
	if (n == 1)
		wr_u8(w, (uint8_t)len);
}

void codec_tlv_put(struct wr *w, uint32_t tag, const void *value, size_t len)
{
	codec_tlv_put_tag(w, tag);
	codec_tlv_put_len(w, len);
	wr_mem(w, value, len);
}

size_t codec_tlv_begin(struct wr *w, uint32_t tag)
{
	codec_tlv_put_tag(w, tag);
	size_t mark = w->len;
	wr_u8(w, 0);
	return mark;
}

void codec_tlv_end(struct wr *w, size_t mark)
{
	if (w->failed || mark >= w->len)
		return;
	size_t content = w->len - mark - 1;
	unsigned n = len_bytes(content);
	if (n == 0) {
		w->failed = true;
		return;
	}
	if (n > 1) {
		if (!wr_room(w, n - 1))
			return;
		memmove(w->p + mark + n, w->p + mark + 1, content);
		w->len += n - 1;
		w->p[mark] = (uint8_t)(0x80 | (n - 1));
		for (unsigned i = 1; i < n; i++)
			w->p[mark + i] = (uint8_t)(content >> (8 * (n - 1 - i)));
	} else {
		w->p[mark] = (uint8_t)content;
	}
}

void codec_tlv_put_int(struct wr *w, uint32_t tag, long v)
{
	uint8_t b[sizeof(long)];
	unsigned long u = (unsigned long)v;
	for (size_t i = 0; i < sizeof(b); i++)
		b[sizeof(b) - 1 - i] = (uint8_t)(u >> (8 * i));
	size_t i = 0;
	/* X.690 §8.3.2: drop a leading byte that only repeats the sign. */
	while (i + 1 < sizeof(b) &&
	       ((b[i] == 0x00 && !(b[i + 1] & 0x80)) || (b[i] == 0xFF && (b[i + 1] & 0x80))))
		i++;
	codec_tlv_put(w, tag, b + i, sizeof(b) - i);
}

void codec_tlv_put_str(struct wr *w, uint32_t tag, const char *s)
{
	codec_tlv_put(w, tag, s, strlen(s));
}

void codec_tlv_put_named_bits(struct wr *w, uint32_t tag, uint32_t bits)
{
	uint8_t c[5] = { 0 };
	int top = -1;
	for (int i = 0; i < 32; i++)
		if (bits & (1u << i))
			top = i;
	if (top < 0) {
		codec_tlv_put(w, tag, c, 1);
		return;
	}
	size_t nbytes = (size_t)top / 8 + 1;
	c[0] = (uint8_t)(7 - top % 8);
	for (int i = 0; i <= top; i++)
		if (bits & (1u << i))
			c[1 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
	codec_tlv_put(w, tag, c, 1 + nbytes);
}

int codec_tlv_int(struct bytes v, unsigned flags, long *out)
{
	if (v.len == 0)
		return -EPROTO;
	if (v.len >= 2 &&
	    ((v.ptr[0] == 0x00 && !(v.ptr[1] & 0x80)) || (v.ptr[0] == 0xFF && (v.ptr[1] & 0x80)))) {
		if (flags & CODEC_TLV_DER)
			return -EPROTO;
	}
	bool neg = (v.ptr[0] & 0x80) != 0;
	size_t i = 0;
	/* BER allows redundant sign bytes; skip them before the range check. */
	while (i + 1 < v.len && v.ptr[i] == (neg ? 0xFF : 0x00) &&
	       ((v.ptr[i + 1] & 0x80) != 0) == neg)
		i++;
	if (v.len - i > sizeof(long))
		return -ERANGE;
	unsigned long u = neg ? ~0ul : 0;
	for (; i < v.len; i++)
		u = (u << 8) | v.ptr[i];
	*out = (long)u;
	return 0;
}

int codec_tlv_named_bits(struct bytes v, uint32_t *out)
{
	if (v.len == 0 || v.ptr[0] > 7 || (v.len == 1 && v.ptr[0] != 0))
		return -EPROTO;
	size_t nbits = (v.len - 1) * 8 - v.ptr[0];
	uint32_t bits = 0;
	for (size_t i = 0; i < nbits && i < 32; i++)
		if (v.ptr[1 + i / 8] & (0x80 >> (i % 8)))
			bits |= 1u << i;
	*out = bits;
	return 0;
}

int codec_ctlv_read(struct rd *r, unsigned flags, struct codec_ctlv *out)
{
	if (r->failed)
		return -EPROTO;
	struct rd t = *r;
	uint8_t b = rd_u8(&t);
	if (t.failed)
		return -EPROTO;
	/* TS 101 220 §7.1.1: 00, 80 and FF are not valid C-TLV tags. */
	if (b == 0x00 || b == 0x80 || b == 0xFF)
		return -EPROTO;
	if (b == 0x7F) {
		uint16_t v = rd_u16be(&t);
		if (t.failed || (v & 0x7FFF) == 0)
			return -EPROTO;
		out->long_tag = true;
		out->cr = (v & 0x8000) != 0;
		out->tag = v & 0x7FFF;
	} else {
		out->long_tag = false;
		out->cr = (b & 0x80) != 0;
		out->tag = b & 0x7F;
	}
	size_t len = rd_u8(&t);
	if (t.failed)
		return -EPROTO;
	if (len == 0x81) {
		len = rd_u8(&t);
		if (t.failed || ((flags & CODEC_TLV_DER) && len < 0x80))
			return -EPROTO;
	} else if (len >= 0x80) {
		return -EPROTO;
	}
	if (rd_left(&t) < len)
		return -EPROTO;
	out->value = rd_bytes(&t, len);
	out->raw = bytes_make(r->p + r->pos, t.pos - r->pos);
	*r = t;
	return 0;
}

int codec_ctlv_find(const uint8_t *p, size_t len, uint16_t tag, struct codec_ctlv *out)
{
	struct rd r;
	rd_init(&r, p, len);
	while (rd_left(&r)) {
		int rc = codec_ctlv_read(&r, 0, out);
		if (rc)
			return rc;
		if (out->tag == tag)
			return 0;
	}
	return -ENOENT;
}

void codec_ctlv_put(struct wr *w, uint16_t tag, bool cr, const void *value, size_t len)
{
	if (tag == 0 || tag > 0x7FFF || len > 0xFF) {
		w->failed = true;
		return;
	}
	if (tag <= 0x7E) {
		wr_u8(w, (uint8_t)((cr ? 0x80 : 0) | tag));
	} else {
		wr_u8(w, 0x7F);
		wr_u16be(w, (uint16_t)((cr ? 0x8000 : 0) | tag));
	}
	if (len >= 0x80)
		wr_u8(w, 0x81);
	wr_u8(w, (uint8_t)len);
	wr_mem(w, value, len);
}

static void put_subid(struct wr *w, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (uint8_t)(v & 0x7F);
		v >>= 7;
	} while (v);
	while (n > 1)
		wr_u8(w, (uint8_t)(0x80 | tmp[--n]));
	wr_u8(w, tmp[0]);
}

int codec_oid_encode(const char *dotted, uint8_t *out, size_t cap, size_t *out_len)
{
	uint32_t arcs[CODEC_OID_ARCS_MAX];
	size_t n = 0;
	const char *s = dotted;
	if (!s)
		return -EINVAL;
	for (;;) {
		if (*s < '0' || *s > '9' || n == CODEC_OID_ARCS_MAX)
			return -EINVAL;
		/* A leading zero is only "0" itself (no "01"). */
		if (*s == '0' && s[1] >= '0' && s[1] <= '9')
			return -EINVAL;
		uint64_t v = 0;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (uint64_t)(*s++ - '0');
			if (v > UINT32_MAX)
				return -EINVAL;
		}
		arcs[n++] = (uint32_t)v;
		if (*s == '\0')
			break;
		if (*s++ != '.')
			return -EINVAL;
	}
	if (n < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39))
		return -EINVAL;
	struct wr w;
	wr_init(&w, out, cap);
	put_subid(&w, (uint64_t)arcs[0] * 40 + arcs[1]);
	for (size_t i = 2; i < n; i++)
		put_subid(&w, arcs[i]);
	if (w.failed)
		return -EMSGSIZE;
	*out_len = w.len;
	return 0;
}

int codec_oid_decode(const uint8_t *p, size_t len, char *out, size_t cap)
{
	if (len == 0)
		return -EPROTO;
	size_t used = 0, arcs = 0;
	size_t i = 0;
	if (cap == 0)
		return -EMSGSIZE;
	out[0] = '\0';
	while (i < len) {
		if (p[i] == 0x80)
			return -EPROTO; /* X.690 §8.19.2: no leading 80 */
		uint64_t v = 0;
		for (;;) {
			if (i == len)
				return -EPROTO; /* last byte had b8 set */
			uint8_t b = p[i++];
			v = (v << 7) | (b & 0x7F);
			if (v > (uint64_t)UINT32_MAX + 80)
				return -EPROTO;
			if (!(b & 0x80))
				break;
		}
		int k;
		if (arcs == 0) {
			uint64_t first = v < 40 ? 0 : v < 80 ? 1 : 2;
			k = snprintf(out + used, cap - used, "%u.%llu", (unsigned)first,
				     (unsigned long long)(v - first * 40));
			arcs = 2;
		} else {
			if (v > UINT32_MAX)
				return -EPROTO;
			k = snprintf(out + used, cap - used, ".%llu", (unsigned long long)v);
			arcs++;
		}
		if (arcs > CODEC_OID_ARCS_MAX)
			return -EPROTO;
		if (k < 0 || (size_t)k >= cap - used) {
			out[used] = '\0';
			return -EMSGSIZE;
		}
		used += (size_t)k;
	}
	return 0;
}
