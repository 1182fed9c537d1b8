/* fuzz_der.c - fuzz target for the BER-TLV/DER and PKCS#15 decoders
 * (src/codec/tlv.c, src/card/pkcs15.c) and the PKCS#15 walk.
 *
 * Every input goes to every decoder: a recursive BER-TLV walk (BER and
 * DER), COMPREHENSION-TLV lists, OID contents (with a round-trip check),
 * EF.DIR records, ODF, TokenInfo and DODF (re-encoding what decoded).
 * Then the same bytes drive the walk as a card's answers: each R-APDU is
 * { length (1 byte), bytes }, the last two being the status word, so the
 * walk meets malformed FCPs, 61/6C chains, odd SWs and broken objects. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "card/pkcs15.h"
#include "codec/tlv.h"
#include "core/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void tlv_tree(const uint8_t *p, size_t len, unsigned flags, unsigned depth)
{
	struct rd r;
	struct codec_tlv t;
	rd_init(&r, p, len);
	while (rd_left(&r) && codec_tlv_read(&r, flags, &t) == 0) {
		/* The view lies inside the input and the raw TLV ends it. */
		if (t.value.ptr + t.value.len != t.raw.ptr + t.raw.len || t.raw.len > len)
			abort();
		if (t.constructed && depth < 16)
			tlv_tree(t.value.ptr, t.value.len, flags, depth + 1);
		long v = 0;
		uint32_t bits = 0;
		/* INTEGER round trip: what decodes as DER encodes to the same bytes. */
		if (t.tag == 0x02 && codec_tlv_int(t.value, CODEC_TLV_DER, &v) == 0) {
			uint8_t out[16];
			struct wr w;
			wr_init(&w, out, sizeof(out));
			codec_tlv_put_int(&w, 0x02, v);
			if (w.failed || w.len != t.value.len + 2 ||
			    memcmp(out + 2, t.value.ptr, t.value.len) != 0)
				abort();
		}
		if (t.tag == 0x03 && codec_tlv_named_bits(t.value, &bits) == 0 &&
		    t.value.len == 1 && bits != 0)
			abort(); /* an empty BIT STRING has no bit set */
	}
}

static void oid_roundtrip(const uint8_t *p, size_t len)
{
	char text[CODEC_OID_TEXT_MAX];
	uint8_t back[64];
	size_t n = 0;
	if (codec_oid_decode(p, len, text, sizeof(text)) != 0)
		return;
	/* A valid content decodes to text that encodes to the same bytes. */
	if (codec_oid_encode(text, back, sizeof(back), &n) != 0 || n != len ||
	    memcmp(back, p, len) != 0)
		abort();
}

static void ctlv_list(const uint8_t *p, size_t len)
{
	struct rd r;
	struct codec_ctlv t;
	rd_init(&r, p, len);
	while (rd_left(&r) && codec_ctlv_read(&r, 0, &t) == 0) {
		uint8_t out[300];
		struct wr w;
		wr_init(&w, out, sizeof(out));
		codec_ctlv_put(&w, t.tag, t.cr, t.value.ptr, t.value.len);
		if (w.failed)
			abort();
	}
}

static void pkcs15_objects(const uint8_t *p, size_t len)
{
	static struct card_pkcs15_dodf dodf;
	struct card_pkcs15_dir_app app;
	struct card_pkcs15_odf odf;
	struct card_pkcs15_tokeninfo ti;
	uint8_t out[4096];
	struct wr w;

	if (card_pkcs15_dir_decode(p, len, &app) == 0) {
		wr_init(&w, out, sizeof(out));
		if (card_pkcs15_dir_encode(&w, &app) != 0)
			abort();
		(void)card_pkcs15_dir_is_pkcs15(&app);
	}
	if (card_pkcs15_odf_decode(p, len, &odf) == 0) {
		for (size_t i = 0; i < odf.n; i++) {
			wr_init(&w, out, sizeof(out));
			if (odf.e[i].has_path &&
			    card_pkcs15_odf_encode(&w, odf.e[i].tag, &odf.e[i].path) != 0)
				abort();
		}
	}
	if (card_pkcs15_tokeninfo_decode(p, len, &ti) == 0) {
		wr_init(&w, out, sizeof(out));
		if (card_pkcs15_tokeninfo_encode(&w, &ti) != 0)
			abort();
	}
	if (card_pkcs15_dodf_decode(p, len, &dodf) == 0) {
		bool mis;
		(void)card_pkcs15_dodf_find(&dodf, NULL, 0, false, &mis);
		(void)card_pkcs15_dodf_find(&dodf, NULL, 0, true, &mis);
		for (size_t i = 0; i < dodf.n; i++) {
			struct card_pkcs15_dodf one;
			wr_init(&w, out, sizeof(out));
			/* What encodes decodes again to one entry. */
			if (card_pkcs15_do_encode(&w, &dodf.e[i]) == 0 &&
			    (card_pkcs15_dodf_decode(out, w.len, &one) != 0 || one.n != 1))
				abort();
		}
	}
}

struct script {
	const uint8_t *p;
	size_t len, pos;
};

static int script_transmit(void *ctx, const uint8_t *capdu, size_t clen, uint8_t *rapdu, size_t cap,
			   size_t *rlen)
{
	struct script *s = ctx;
	if (s->pos >= s->len)
		return -EIO;
	size_t n = s->p[s->pos++];
	if (n > s->len - s->pos)
		n = s->len - s->pos;
	if (n > cap)
		return -EMSGSIZE;
	memcpy(rapdu, s->p + s->pos, n);
	s->pos += n;
	*rlen = n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tlv_tree(data, size, 0, 0);
	tlv_tree(data, size, CODEC_TLV_DER, 0);
	ctlv_list(data, size);
	oid_roundtrip(data, size);
	pkcs15_objects(data, size);

	struct script s = { data, size, 0 };
	struct card_pkcs15_walk_ops ops = { .transmit = script_transmit, .ctx = &s };
	struct buf out;
	char err[256];
	buf_init(&out, 4096);
	int rc = card_pkcs15_walk(&ops, &out, NULL, err, sizeof(err));
	if (rc == 0 && out.len == 0)
		abort();
	if (rc != 0 && (out.len != 0 || err[0] == '\0'))
		abort();
	buf_cleanup(&out);
	return 0;
}
