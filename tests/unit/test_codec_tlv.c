/* test_codec_tlv.c - unit tests for src/codec/tlv.c: BER-TLV/DER reader and
 * writer, COMPREHENSION-TLV (TS 102 223 Annex C), OID contents (X.690 §8.19). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/tlv.h"
#include "core/hex.h"
#include "core/limits.h"
#include "runner.h"

static size_t hx(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int rc = hex_decode(s, out, cap, &n);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return n;
}

struct read_case {
	const char *hex;
	unsigned flags;
	int rc;
	uint32_t tag;
	size_t vlen;
	size_t used;
};

static const struct read_case read_cases[] = {
	{ "04 02 64 30", 0, 0, 0x04, 2, 4 },
	{ "30 00", 0, 0, 0x30, 0, 2 },
	{ "A7 06 30 04 04 02 64 30", 0, 0, 0xA7, 6, 8 },
	{ "5F 50 01 41", 0, 0, 0x5F50, 1, 4 },
	{ "7F 49 00", 0, 0, 0x7F49, 0, 3 },
	{ "9F 81 01 00", 0, 0, 0x9F8101, 0, 4 },
	{ "DF 81 81 01 00", 0, 0, 0xDF818101, 0, 5 },
	{ "DF 81 81 81 01 00", 0, -EPROTO, 0, 0, 0 }, /* tag over 4 bytes */
	{ "5F", 0, -EPROTO, 0, 0, 0 },                /* tag cut short */
	{ "5F 81", 0, -EPROTO, 0, 0, 0 },
	{ "04 81 01 AA", 0, 0, 0x04, 1, 4 }, /* BER: non-minimal ok */
	{ "04 81 01 AA", CODEC_TLV_DER, -EPROTO, 0, 0, 0 },
	{ "04 82 00 01 AA", 0, 0, 0x04, 1, 5 },
	{ "04 82 00 81", CODEC_TLV_DER, -EPROTO, 0, 0, 0 },
	{ "04 83 00 00 01 AA", 0, 0, 0x04, 1, 6 },
	{ "04 83 00 01 00", CODEC_TLV_DER, -EPROTO, 0, 0, 0 },
	{ "04 84 00 00 00 01 AA", 0, -EPROTO, 0, 0, 0 }, /* 84: not supported */
	{ "30 80 04 00 00 00", 0, -EPROTO, 0, 0, 0 },    /* indefinite */
	{ "04 03 AA BB", 0, -EPROTO, 0, 0, 0 },          /* past the input */
	{ "04 82 FF FF", 0, -EPROTO, 0, 0, 0 },
	{ "04", 0, -EPROTO, 0, 0, 0 },
	{ "04 81", 0, -EPROTO, 0, 0, 0 },
	{ "04 82 01", 0, -EPROTO, 0, 0, 0 },
	{ "", 0, -EPROTO, 0, 0, 0 },
	{ "00 00", 0, -EPROTO, 0, 0, 0 }, /* padding is not a tag */
	{ "FF 01 00", 0, -EPROTO, 0, 0, 0 },
	{ "1F 1E 00", CODEC_TLV_DER, -EPROTO, 0, 0, 0 }, /* short-form number in long form */
	{ "1F 1E 00", 0, 0, 0x1F1E, 0, 3 },
	{ "1F 80 1F 00", CODEC_TLV_DER, -EPROTO, 0, 0, 0 }, /* leading 80 */
	{ "1F 1F 00", CODEC_TLV_DER, 0, 0x1F1F, 0, 3 },
};

static void test_tlv_read_table(void)
{
	for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]); i++) {
		const struct read_case *c = &read_cases[i];
		uint8_t in[32];
		size_t n = hx(c->hex, in, sizeof(in));
		/* An exactly sized copy, so ASan sees any read past the end. */
		uint8_t *p = malloc(n ? n : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, in, n);
		struct rd r;
		rd_init(&r, p, n);
		struct codec_tlv t;
		int rc = codec_tlv_read(&r, c->flags, &t);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc != c->rc)
			fprintf(stderr, "case %zu (%s): rc %d\n", i, c->hex, rc);
		if (rc == 0) {
			CU_ASSERT_EQUAL(t.tag, c->tag);
			CU_ASSERT_EQUAL(t.value.len, c->vlen);
			CU_ASSERT_EQUAL(r.pos, c->used);
			CU_ASSERT_EQUAL(t.raw.len, c->used);
		} else {
			CU_ASSERT_EQUAL(r.pos, 0);
			CU_ASSERT_FALSE(r.failed);
		}
		free(p);
	}
}

static void test_tlv_class_bits(void)
{
	const uint8_t in[] = { 0xA1, 0x02, 0x04, 0x00, 0x5F, 0x50, 0x00 };
	struct rd r;
	rd_init(&r, in, sizeof(in));
	struct codec_tlv t;
	CU_ASSERT_EQUAL(codec_tlv_read(&r, 0, &t), 0);
	CU_ASSERT_EQUAL(t.cls, CODEC_TLV_CLASS_CONTEXT);
	CU_ASSERT_TRUE(t.constructed);
	CU_ASSERT_PTR_EQUAL(t.value.ptr, in + 2);
	CU_ASSERT_EQUAL(codec_tlv_read(&r, 0, &t), 0);
	CU_ASSERT_EQUAL(t.cls, CODEC_TLV_CLASS_APPLICATION);
	CU_ASSERT_FALSE(t.constructed);
	CU_ASSERT_EQUAL(rd_left(&r), 0);
	CU_ASSERT_EQUAL(codec_tlv_read(&r, 0, &t), -EPROTO);
}

static void test_tlv_expect_find_padding(void)
{
	uint8_t in[32];
	size_t n = hx("4F 02 A0 00 50 01 41 51 02 3F 00 FF FF 00", in, sizeof(in));
	struct codec_tlv t;
	CU_ASSERT_EQUAL(codec_tlv_find(in, 11, 0, 0x51, &t), 0);
	CU_ASSERT_TRUE(bytes_eq(t.value, "\x3F\x00", 2));
	CU_ASSERT_EQUAL(codec_tlv_find(in, 11, 0, 0x52, &t), -ENOENT);
	CU_ASSERT_EQUAL(codec_tlv_find(in, n, 0, 0x52, &t), -EPROTO);
	struct rd r;
	rd_init(&r, in, n);
	CU_ASSERT_EQUAL(codec_tlv_expect(&r, 0, 0x50, &t), -EPROTO);
	CU_ASSERT_EQUAL(r.pos, 0);
	CU_ASSERT_EQUAL(codec_tlv_expect(&r, 0, 0x4F, &t), 0);
	CU_ASSERT_FALSE(codec_tlv_rest_is_padding(&r));
	r.pos = 11;
	CU_ASSERT_TRUE(codec_tlv_rest_is_padding(&r));
	r.pos = n;
	CU_ASSERT_TRUE(codec_tlv_rest_is_padding(&r));
}

static void test_tlv_write_lengths(void)
{
	static const struct {
		size_t len;
		const char *hdr;
	} cases[] = {
		{ 0, "04 00" },
		{ 0x7F, "04 7F" },
		{ 0x80, "04 81 80" },
		{ 0xFF, "04 81 FF" },
		{ 0x100, "04 82 01 00" },
		{ 0xFFFF, "04 82 FF FF" },
		{ 0x10000, "04 83 01 00 00" },
	};
	static uint8_t val[0x10000];
	static uint8_t out[0x10010];
	memset(val, 0x5A, sizeof(val));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t hdr[8];
		size_t hn = hx(cases[i].hdr, hdr, sizeof(hdr));
		struct wr w;
		/* Both writers, put() and begin()/end(), give the same bytes. */
		wr_init(&w, out, sizeof(out));
		size_t vlen = cases[i].len < sizeof(val) ? cases[i].len : sizeof(val);
		if (cases[i].len > sizeof(val))
			continue;
		codec_tlv_put(&w, 0x04, val, vlen);
		CU_ASSERT_FALSE(w.failed);
		CU_ASSERT_EQUAL(w.len, hn + vlen);
		CU_ASSERT_EQUAL(memcmp(out, hdr, hn), 0);
		wr_init(&w, out, sizeof(out));
		size_t m = codec_tlv_begin(&w, 0x04);
		wr_mem(&w, val, vlen);
		codec_tlv_end(&w, m);
		CU_ASSERT_FALSE(w.failed);
		CU_ASSERT_EQUAL(w.len, hn + vlen);
		CU_ASSERT_EQUAL(memcmp(out, hdr, hn), 0);
		CU_ASSERT_EQUAL(memcmp(out + hn, val, vlen), 0);
		/* And the DER reader takes it back. */
		struct rd r;
		rd_init(&r, out, w.len);
		struct codec_tlv t;
		CU_ASSERT_EQUAL(codec_tlv_read(&r, CODEC_TLV_DER, &t), 0);
		CU_ASSERT_EQUAL(t.value.len, vlen);
	}
}

static void test_tlv_write_nested(void)
{
	uint8_t out[64];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	size_t a7 = codec_tlv_begin(&w, 0xA7);
	size_t s = codec_tlv_begin(&w, 0x30);
	codec_tlv_put(&w, 0x04, "\x64\x30", 2);
	codec_tlv_end(&w, s);
	codec_tlv_end(&w, a7);
	codec_tlv_put_tag(&w, 0x5F50);
	codec_tlv_put_len(&w, 0);
	uint8_t exp[16];
	size_t n = hx("A7 06 30 04 04 02 64 30 5F 50 00", exp, sizeof(exp));
	CU_ASSERT_FALSE(w.failed);
	CU_ASSERT_EQUAL(w.len, n);
	CU_ASSERT_EQUAL(memcmp(out, exp, n), 0);
}

static void test_tlv_write_overflow(void)
{
	/* The length grows from 1 to 2 bytes at end(): it must not fit. */
	uint8_t out[0x82];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	size_t m = codec_tlv_begin(&w, 0x04);
	uint8_t v[0x80] = { 0 };
	wr_mem(&w, v, sizeof(v));
	CU_ASSERT_FALSE(w.failed);
	codec_tlv_end(&w, m);
	CU_ASSERT_TRUE(w.failed);
	CU_ASSERT_EQUAL(w.len, 0x82);
	wr_init(&w, out, 1);
	codec_tlv_put(&w, 0x04, "a", 1);
	CU_ASSERT_TRUE(w.failed);
	wr_init(&w, out, sizeof(out));
	codec_tlv_put_tag(&w, 0);
	CU_ASSERT_TRUE(w.failed);
}

static void test_tlv_int(void)
{
	static const struct {
		long v;
		const char *hex;
	} cases[] = {
		{ 0, "02 01 00" },
		{ 1, "02 01 01" },
		{ 127, "02 01 7F" },
		{ 128, "02 02 00 80" },
		{ 256, "02 02 01 00" },
		{ -1, "02 01 FF" },
		{ -128, "02 01 80" },
		{ -129, "02 02 FF 7F" },
		{ 0x7FFFFFFFL, "02 04 7F FF FF FF" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[16], exp[16];
		size_t n = hx(cases[i].hex, exp, sizeof(exp));
		struct wr w;
		wr_init(&w, out, sizeof(out));
		codec_tlv_put_int(&w, 0x02, cases[i].v);
		CU_ASSERT_EQUAL(w.len, n);
		CU_ASSERT_EQUAL(memcmp(out, exp, n), 0);
		long back = 12345;
		CU_ASSERT_EQUAL(codec_tlv_int(bytes_make(exp + 2, n - 2), CODEC_TLV_DER, &back), 0);
		CU_ASSERT_EQUAL(back, cases[i].v);
	}
	long v;
	CU_ASSERT_EQUAL(codec_tlv_int(bytes_make("", 0), 0, &v), -EPROTO);
	CU_ASSERT_EQUAL(codec_tlv_int(bytes_make("\x00\x01", 2), CODEC_TLV_DER, &v), -EPROTO);
	CU_ASSERT_EQUAL(codec_tlv_int(bytes_make("\x00\x01", 2), 0, &v), 0);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(codec_tlv_int(bytes_make("\xFF\xFF", 2), 0, &v), 0);
	CU_ASSERT_EQUAL(v, -1);
	CU_ASSERT_EQUAL(codec_tlv_int(bytes_make("\x01\x00\x00\x00\x00\x00\x00\x00\x00", 9), 0, &v),
			-ERANGE);
}

static void test_tlv_named_bits(void)
{
	static const struct {
		uint32_t bits;
		const char *hex;
	} cases[] = {
		{ 0, "03 01 00" },
		{ 1u << 0, "03 02 07 80" },               /* private */
		{ (1u << 0) | (1u << 1), "03 02 06 C0" }, /* private, modifiable */
		{ 1u << 1, "03 02 06 40" },
		{ 1u << 8, "03 03 07 00 80" },
		{ 1u << 7, "03 02 00 01" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[8], exp[8];
		size_t n = hx(cases[i].hex, exp, sizeof(exp));
		struct wr w;
		wr_init(&w, out, sizeof(out));
		codec_tlv_put_named_bits(&w, 0x03, cases[i].bits);
		CU_ASSERT_EQUAL(w.len, n);
		CU_ASSERT_EQUAL(memcmp(out, exp, n), 0);
		uint32_t back = 0xDEAD;
		CU_ASSERT_EQUAL(codec_tlv_named_bits(bytes_make(exp + 2, n - 2), &back), 0);
		CU_ASSERT_EQUAL(back, cases[i].bits);
	}
	uint32_t b;
	CU_ASSERT_EQUAL(codec_tlv_named_bits(bytes_make("", 0), &b), -EPROTO);
	CU_ASSERT_EQUAL(codec_tlv_named_bits(bytes_make("\x08\x00", 2), &b), -EPROTO);
	CU_ASSERT_EQUAL(codec_tlv_named_bits(bytes_make("\x01", 1), &b), -EPROTO);
}

struct ctlv_case {
	const char *hex;
	unsigned flags;
	int rc;
	uint16_t tag;
	bool cr;
	size_t vlen;
};

static const struct ctlv_case ctlv_cases[] = {
	{ "81 03 01 40 00", 0, 0, 0x01, true, 3 },
	{ "01 03 01 40 00", 0, 0, 0x01, false, 3 },
	{ "B9 02 05 78", 0, 0, 0x39, true, 2 },
	{ "3C 03 03 10 14", 0, 0, 0x3C, false, 3 },
	{ "7F 80 68 01 00", 0, 0, 0x68, true, 1 }, /* 3-byte tag with CR */
	{ "7F 01 23 00", 0, 0, 0x0123, false, 0 },
	{ "7F 00 00 00", 0, -EPROTO, 0, false, 0 },
	{ "7F 80", 0, -EPROTO, 0, false, 0 },
	{ "00 00", 0, -EPROTO, 0, false, 0 },
	{ "80 00", 0, -EPROTO, 0, false, 0 },
	{ "FF 00", 0, -EPROTO, 0, false, 0 },
	{ "B6 81 01 AA", 0, 0, 0x36, true, 1 },
	{ "B6 81 01 AA", CODEC_TLV_DER, -EPROTO, 0, false, 0 },
	{ "B6 82 00 01 AA", 0, -EPROTO, 0, false, 0 },
	{ "B6 80", 0, -EPROTO, 0, false, 0 },
	{ "B6 02 AA", 0, -EPROTO, 0, false, 0 },
	{ "B6 81", 0, -EPROTO, 0, false, 0 },
	{ "B6", 0, -EPROTO, 0, false, 0 },
	{ "", 0, -EPROTO, 0, false, 0 },
};

static void test_ctlv_read_table(void)
{
	for (size_t i = 0; i < sizeof(ctlv_cases) / sizeof(ctlv_cases[0]); i++) {
		const struct ctlv_case *c = &ctlv_cases[i];
		uint8_t in[16];
		size_t n = hx(c->hex, in, sizeof(in));
		uint8_t *p = malloc(n ? n : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, in, n);
		struct rd r;
		rd_init(&r, p, n);
		struct codec_ctlv t;
		int rc = codec_ctlv_read(&r, c->flags, &t);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc == 0) {
			CU_ASSERT_EQUAL(t.tag, c->tag);
			CU_ASSERT_EQUAL(t.cr, c->cr);
			CU_ASSERT_EQUAL(t.value.len, c->vlen);
			CU_ASSERT_EQUAL(r.pos, n);
		} else {
			CU_ASSERT_EQUAL(r.pos, 0);
		}
		free(p);
	}
}

static void test_ctlv_write_and_find(void)
{
	uint8_t out[300];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	codec_ctlv_put(&w, 0x01, true, "\x02\x40\x00", 3);
	codec_ctlv_put(&w, 0x02, true, "\x81\x82", 2);
	codec_ctlv_put(&w, 0x39, true, "\x05\x78", 2);
	codec_ctlv_put(&w, 0x3C, true, "\x03\x10\x14", 3);
	uint8_t exp[32];
	size_t n = hx("81 03 02 40 00 82 02 81 82 B9 02 05 78 BC 03 03 10 14", exp, sizeof(exp));
	CU_ASSERT_FALSE(w.failed);
	CU_ASSERT_EQUAL(w.len, n);
	CU_ASSERT_EQUAL(memcmp(out, exp, n), 0);
	struct codec_ctlv t;
	CU_ASSERT_EQUAL(codec_ctlv_find(out, w.len, 0x3C, &t), 0);
	CU_ASSERT_TRUE(bytes_eq(t.value, "\x03\x10\x14", 3));
	CU_ASSERT_EQUAL(codec_ctlv_find(out, w.len, 0x36, &t), -ENOENT);
	CU_ASSERT_EQUAL(codec_ctlv_find(out, w.len - 1, 0x36, &t), -EPROTO);

	/* 81 xx for lengths >= 80, the 3-byte tag form for tags over 7E. */
	uint8_t big[200];
	memset(big, 0x16, sizeof(big));
	wr_init(&w, out, sizeof(out));
	codec_ctlv_put(&w, 0x36, true, big, sizeof(big));
	CU_ASSERT_EQUAL(w.len, 3 + sizeof(big));
	CU_ASSERT_EQUAL(out[0], 0xB6);
	CU_ASSERT_EQUAL(out[1], 0x81);
	CU_ASSERT_EQUAL(out[2], 0xC8);
	wr_init(&w, out, sizeof(out));
	codec_ctlv_put(&w, 0x0123, true, "", 0);
	CU_ASSERT_EQUAL(w.len, 4);
	CU_ASSERT_EQUAL(memcmp(out, "\x7F\x81\x23\x00", 4), 0);
	struct rd r;
	rd_init(&r, out, w.len);
	CU_ASSERT_EQUAL(codec_ctlv_read(&r, CODEC_TLV_DER, &t), 0);
	CU_ASSERT_EQUAL(t.tag, 0x0123);
	CU_ASSERT_TRUE(t.cr && t.long_tag);
	wr_init(&w, out, sizeof(out));
	codec_ctlv_put(&w, 0x36, true, big, 256);
	CU_ASSERT_TRUE(w.failed);
}

struct oid_case {
	const char *text;
	const char *hex; /* NULL: encode rejects it */
};

static const struct oid_case oid_cases[] = {
	{ "2.23.43.7.1", "67 2B 07 01" },
	{ "2.23.43.9.1", "67 2B 09 01" },
	{ "1.2.840.113549.1.1.1", "2A 86 48 86 F7 0D 01 01 01" },
	{ "0.0", "00" },
	{ "0.39", "27" },
	{ "1.0", "28" },
	{ "2.999.3", "88 37 03" },
	{ "2.4294967295", "90 80 80 80 4F" },
	{ "1.2.4294967295", "2A 8F FF FF FF 7F" },
	{ "1", NULL },
	{ "", NULL },
	{ "3.1", NULL },
	{ "1.40", NULL },
	{ "1..2", NULL },
	{ "1.2.", NULL },
	{ ".1.2", NULL },
	{ "1.02", NULL },
	{ "1.2.4294967296", NULL },
	{ "1.2.x", NULL },
	{ "1.-2", NULL },
};

static void test_oid_table(void)
{
	for (size_t i = 0; i < sizeof(oid_cases) / sizeof(oid_cases[0]); i++) {
		const struct oid_case *c = &oid_cases[i];
		uint8_t out[32];
		size_t n = 0;
		int rc = codec_oid_encode(c->text, out, sizeof(out), &n);
		if (!c->hex) {
			CU_ASSERT_EQUAL(rc, -EINVAL);
			continue;
		}
		uint8_t exp[32];
		size_t en = hx(c->hex, exp, sizeof(exp));
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(n, en);
		CU_ASSERT_EQUAL(memcmp(out, exp, en), 0);
		char text[CODEC_OID_TEXT_MAX];
		CU_ASSERT_EQUAL(codec_oid_decode(exp, en, text, sizeof(text)), 0);
		CU_ASSERT_STRING_EQUAL(text, c->text);
	}
}

static void test_oid_decode_errors(void)
{
	char text[64];
	CU_ASSERT_EQUAL(codec_oid_decode((const uint8_t *)"", 0, text, sizeof(text)), -EPROTO);
	/* Leading 80 in a sub-identifier; last byte with b8 set. */
	CU_ASSERT_EQUAL(codec_oid_decode((const uint8_t *)"\x2A\x80\x01", 3, text, sizeof(text)),
			-EPROTO);
	CU_ASSERT_EQUAL(codec_oid_decode((const uint8_t *)"\x2A\x86", 2, text, sizeof(text)),
			-EPROTO);
	/* Over 32 bits. */
	CU_ASSERT_EQUAL(codec_oid_decode((const uint8_t *)"\x2A\x90\x80\x80\x80\x00", 6, text,
					 sizeof(text)),
			-EPROTO);
	/* The mis-encoded LwM2M OID is valid DER contents: 0.6.4.103.43.9.1. */
	CU_ASSERT_EQUAL(codec_oid_decode((const uint8_t *)"\x06\x04\x67\x2B\x09\x01", 6, text,
					 sizeof(text)),
			0);
	CU_ASSERT_STRING_EQUAL(text, "0.6.4.103.43.9.1");
	CU_ASSERT_EQUAL(codec_oid_decode((const uint8_t *)"\x67\x2B\x07\x01", 4, text, 8),
			-EMSGSIZE);
	CU_ASSERT_EQUAL(codec_oid_decode((const uint8_t *)"\x67\x2B\x07\x01", 4, text, 12), 0);
	uint8_t out[2];
	size_t n;
	CU_ASSERT_EQUAL(codec_oid_encode("2.23.43.7.1", out, sizeof(out), &n), -EMSGSIZE);
	/* Too many arcs. */
	char many[200] = "1.2";
	for (int i = 0; i < 40; i++) {
		size_t l = strlen(many);
		snprintf(many + l, sizeof(many) - l, ".1");
	}
	uint8_t big[64];
	CU_ASSERT_EQUAL(codec_oid_encode(many, big, sizeof(big), &n), -EINVAL);
	memset(big, 0x01, sizeof(big));
	CU_ASSERT_EQUAL(codec_oid_decode(big, 40, text, 40), -EMSGSIZE);
	char wide[256];
	CU_ASSERT_EQUAL(codec_oid_decode(big, 40, wide, sizeof(wide)), -EPROTO);
}

/* Every prefix of a valid TLV list fails cleanly or reads a shorter list. */
static void test_tlv_every_prefix(void)
{
	uint8_t in[64];
	size_t n = hx("A1 22 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 A1 0E 30 0C "
		      "06 04 67 2B 07 01 30 04 04 02 64 32",
		      in, sizeof(in));
	for (size_t len = 0; len < n; len++) {
		uint8_t *p = malloc(len ? len : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, in, len);
		struct rd r;
		rd_init(&r, p, len);
		struct codec_tlv t;
		CU_ASSERT_EQUAL(codec_tlv_read(&r, CODEC_TLV_DER, &t), -EPROTO);
		free(p);
	}
	struct rd r;
	rd_init(&r, in, n);
	struct codec_tlv t;
	CU_ASSERT_EQUAL(codec_tlv_read(&r, CODEC_TLV_DER, &t), 0);
	CU_ASSERT_EQUAL(t.raw.len, n);
}

int unit_register(void)
{
	static CU_TestInfo tlv[] = {
		UNIT_TEST(test_tlv_read_table),
		UNIT_TEST(test_tlv_class_bits),
		UNIT_TEST(test_tlv_expect_find_padding),
		UNIT_TEST(test_tlv_write_lengths),
		UNIT_TEST(test_tlv_write_nested),
		UNIT_TEST(test_tlv_write_overflow),
		UNIT_TEST(test_tlv_int),
		UNIT_TEST(test_tlv_named_bits),
		UNIT_TEST(test_tlv_every_prefix),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo ctlv[] = {
		UNIT_TEST(test_ctlv_read_table),
		UNIT_TEST(test_ctlv_write_and_find),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo oid[] = {
		UNIT_TEST(test_oid_table),
		UNIT_TEST(test_oid_decode_errors),
		CU_TEST_INFO_NULL,
	};
	int rc = unit_add_suite("codec_tlv", tlv);
	if (!rc)
		rc = unit_add_suite("codec_ctlv", ctlv);
	if (!rc)
		rc = unit_add_suite("codec_oid", oid);
	return rc;
}
