/* test_card_pkcs15.c - unit tests for src/card/pkcs15.c: the PKCS#15 objects of
 * doc/protocol.md §4.3 byte for byte, decoders (nRF vector of §4.1, padding,
 * truncation at every length, malformed input) and the walk against a
 * scripted transmit and a small fake card (T=0 61 xx, 6C xx, errors at each
 * step, path forms, OID placements). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/pkcs15.h"
#include "codec/tlv.h"
#include "core/hex.h"
#include "runner.h"

static size_t hx(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int rc = hex_decode(s, out, cap, &n);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return n;
}

/* doc/protocol.md §4.3, verbatim. */
#define DIR_43                                                                        \
	"61 1D 4F 0C A0 00 00 00 63 50 4B 43 53 2D 31 35 50 07 50 4B 43 53 23 31 35 " \
	"51 04 3F 00 50 15"
#define ODF_43 "A7 06 30 04 04 02 64 30"
#define TOKENINFO_43                                                               \
	"30 2E 02 01 00 04 08 01 02 03 04 05 06 07 08 0C 08 53 43 57 53 2D 45 4D " \
	"55 80 12 44 4D 20 62 6F 6F 74 73 74 72 61 70 20 74 6F 6B 65 6E 03 01 00"
#define DODF_43                                                                    \
	"A1 22 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 A1 0E 30 0C " \
	"06 04 67 2B 07 01 30 04 04 02 64 32"
/* doc/protocol.md §4.1: the nRF card's DODF, OID mis-encoded as 06 04 67 2B 09 01. */
#define DODF_NRF                                                                \
	"A1 27 30 00 30 11 0C 0F 4C 77 4D 32 4D 20 42 6F 6F 74 73 74 72 61 70 " \
	"A1 10 30 0E 06 06 06 04 67 2B 09 01 30 04 04 02 64 32"

static void check_bytes(const uint8_t *got, size_t n, const char *hex)
{
	uint8_t exp[512];
	size_t en = hx(hex, exp, sizeof(exp));
	CU_ASSERT_EQUAL(n, en);
	if (n == en)
		CU_ASSERT_EQUAL(memcmp(got, exp, n), 0);
	if (n != en || memcmp(got, exp, n) != 0) {
		char h[1100];
		fprintf(stderr, "\n  got %s\n  exp %s\n", hex_encode(got, n, ' ', h, sizeof(h)),
			hex);
	}
}

/* ---- encoders: the exact bytes of §4.3 ---- */

static void test_encode_dir_43(void)
{
	struct card_pkcs15_dir_app app = { 0 };
	memcpy(app.aid, card_pkcs15_aid, sizeof(card_pkcs15_aid));
	app.aid_len = sizeof(card_pkcs15_aid);
	snprintf(app.label, sizeof(app.label), "PKCS#15");
	app.has_label = true;
	memcpy(app.path, "\x3F\x00\x50\x15", 4);
	app.path_len = 4;
	uint8_t out[64];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_dir_encode(&w, &app), 0);
	check_bytes(out, w.len, DIR_43);
	wr_init(&w, out, 10);
	CU_ASSERT_EQUAL(card_pkcs15_dir_encode(&w, &app), -EMSGSIZE);
	app.aid_len = 0;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_dir_encode(&w, &app), -EINVAL);
}

static void test_encode_odf_43(void)
{
	struct card_pkcs15_path p = { .path = { 0x64, 0x30 }, .len = 2 };
	uint8_t out[32];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_odf_encode(&w, CARD_PKCS15_ODF_DODF, &p), 0);
	check_bytes(out, w.len, ODF_43);
	/* index and length of a part of a file. */
	p.has_index = p.has_length = true;
	p.index = 16;
	p.length = 200;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_odf_encode(&w, CARD_PKCS15_ODF_DODF, &p), 0);
	check_bytes(out, w.len, "A7 0D 30 0B 04 02 64 30 02 01 10 80 02 00 C8");
	p.len = 0;
	CU_ASSERT_EQUAL(card_pkcs15_odf_encode(&w, CARD_PKCS15_ODF_DODF, &p), -EINVAL);
}

static void test_encode_tokeninfo_43(void)
{
	struct card_pkcs15_tokeninfo ti = { 0 };
	memcpy(ti.serial, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	ti.serial_len = 8;
	snprintf(ti.manufacturer, sizeof(ti.manufacturer), "SCWS-EMU");
	ti.has_manufacturer = true;
	snprintf(ti.label, sizeof(ti.label), "DM bootstrap token");
	ti.has_label = true;
	uint8_t out[64];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_tokeninfo_encode(&w, &ti), 0);
	check_bytes(out, w.len, TOKENINFO_43);
}

static void dm_entry(struct card_pkcs15_do *d)
{
	memset(d, 0, sizeof(*d));
	d->kind = CARD_PKCS15_DO_OID;
	snprintf(d->label, sizeof(d->label), "DM Bootstrap");
	d->has_label = true;
	memcpy(d->type_oid, card_pkcs15_oid_dm_bootstrap, 4);
	d->type_oid_len = 4;
	d->path.path[0] = 0x64;
	d->path.path[1] = 0x32;
	d->path.len = 2;
	d->has_path = true;
}

static void test_encode_dodf_43(void)
{
	struct card_pkcs15_do d;
	dm_entry(&d);
	uint8_t out[128];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_do_encode(&w, &d), 0);
	check_bytes(out, w.len, DODF_43);

	/* OID in applicationOID: an opaqueDO whose typeAttributes is the Path. */
	d.kind = CARD_PKCS15_DO_OPAQUE;
	memcpy(d.app_oid, card_pkcs15_oid_dm_bootstrap, 4);
	d.app_oid_len = 4;
	d.type_oid_len = 0;
	d.flags = CARD_PKCS15_FLAG_MODIFIABLE;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_do_encode(&w, &d), 0);
	check_bytes(out, w.len,
		    "30 24 30 12 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 "
		    "03 02 06 40 30 06 06 04 67 2B 07 01 A1 06 30 04 04 02 64 32");

	/* oidDO without an id is refused; so is an entry without a Path. */
	d.kind = CARD_PKCS15_DO_OID;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_do_encode(&w, &d), -EINVAL);
	dm_entry(&d);
	d.has_path = false;
	CU_ASSERT_EQUAL(card_pkcs15_do_encode(&w, &d), -EINVAL);
}

/* ---- decoders ---- */

static void test_decode_dir(void)
{
	uint8_t in[64];
	size_t n = hx(DIR_43 " FF FF FF", in, sizeof(in));
	struct card_pkcs15_dir_app app;
	CU_ASSERT_EQUAL(card_pkcs15_dir_decode(in, n, &app), 0);
	CU_ASSERT_EQUAL(app.aid_len, 12);
	CU_ASSERT_EQUAL(memcmp(app.aid, card_pkcs15_aid, 12), 0);
	CU_ASSERT_TRUE(app.has_label);
	CU_ASSERT_STRING_EQUAL(app.label, "PKCS#15");
	CU_ASSERT_EQUAL(app.path_len, 4);
	CU_ASSERT_EQUAL(memcmp(app.path, "\x3F\x00\x50\x15", 4), 0);
	CU_ASSERT_TRUE(card_pkcs15_dir_is_pkcs15(&app));
	/* Round trip. */
	uint8_t out[64];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_dir_encode(&w, &app), 0);
	check_bytes(out, w.len, DIR_43);

	/* The USIM record of pySim's test vector: not PKCS#15, 73 skipped. */
	n = hx("61 29 4F 10 A0 00 00 00 87 10 02 FF FF FF FF 89 07 09 00 00 50 05 55 53 69 6D 31 "
	       "73 0E A0 0C 80 0A 00 00 00 00 00 00 00 00 00 00",
	       in, sizeof(in));
	CU_ASSERT_EQUAL(card_pkcs15_dir_decode(in, n, &app), 0);
	CU_ASSERT_EQUAL(app.aid_len, 16);
	CU_ASSERT_STRING_EQUAL(app.label, "USim1");
	CU_ASSERT_FALSE(card_pkcs15_dir_is_pkcs15(&app));
	/* A longer AID with the PKCS#15 RID+PIX prefix is PKCS#15. */
	n = hx("61 10 4F 0E A0 00 00 00 63 50 4B 43 53 2D 31 35 01 02", in, sizeof(in));
	CU_ASSERT_EQUAL(card_pkcs15_dir_decode(in, n, &app), 0);
	CU_ASSERT_TRUE(card_pkcs15_dir_is_pkcs15(&app));
	CU_ASSERT_EQUAL(app.path_len, 0);
	CU_ASSERT_FALSE(app.has_label);
}

static void test_decode_odf(void)
{
	uint8_t in[64];
	size_t n = hx(ODF_43 " 00 00 00 00", in, sizeof(in));
	struct card_pkcs15_odf odf;
	CU_ASSERT_EQUAL(card_pkcs15_odf_decode(in, n, &odf), 0);
	CU_ASSERT_EQUAL(odf.n, 1);
	CU_ASSERT_EQUAL(odf.e[0].tag, 0xA7);
	CU_ASSERT_TRUE(odf.e[0].has_path);
	CU_ASSERT_EQUAL(odf.e[0].path.len, 2);
	CU_ASSERT_EQUAL(memcmp(odf.e[0].path.path, "\x64\x30", 2), 0);
	CU_ASSERT_FALSE(odf.e[0].path.has_index);

	/* Several choices, an absolute path, index/length, objects inline. */
	n = hx("A8 06 30 04 04 02 44 00 A7 0D 30 0B 04 06 3F 00 7F 50 64 31 02 01 05 "
	       "A7 04 A0 02 30 00 FF",
	       in, sizeof(in));
	CU_ASSERT_EQUAL(card_pkcs15_odf_decode(in, n, &odf), 0);
	CU_ASSERT_EQUAL(odf.n, 3);
	CU_ASSERT_EQUAL(odf.e[0].tag, 0xA8);
	CU_ASSERT_EQUAL(odf.e[1].path.len, 6);
	CU_ASSERT_TRUE(odf.e[1].path.has_index);
	CU_ASSERT_EQUAL(odf.e[1].path.index, 5);
	CU_ASSERT_FALSE(odf.e[1].path.has_length);
	CU_ASSERT_FALSE(odf.e[2].has_path);
	char s[64];
	CU_ASSERT_STRING_EQUAL(card_pkcs15_path_str(odf.e[1].path.path, 6, s, sizeof(s)),
			       "3F00/7F50/6431");
	/* Cut to whole bytes (with their separator); odd lengths unseparated. */
	CU_ASSERT_STRING_EQUAL(card_pkcs15_path_str(odf.e[1].path.path, 6, s, 8), "3F00/7F");
	CU_ASSERT_STRING_EQUAL(card_pkcs15_path_str(odf.e[1].path.path, 6, s, 7), "3F00");
	CU_ASSERT_STRING_EQUAL(card_pkcs15_path_str(odf.e[1].path.path, 3, s, sizeof(s)), "3F007F");
	CU_ASSERT_STRING_EQUAL(card_pkcs15_path_str(odf.e[1].path.path, 0, s, sizeof(s)), "");
	/* Empty EF / all padding: no entries, not an error. */
	CU_ASSERT_EQUAL(card_pkcs15_odf_decode(in, 0, &odf), 0);
	CU_ASSERT_EQUAL(odf.n, 0);
	memset(in, 0xFF, 16);
	CU_ASSERT_EQUAL(card_pkcs15_odf_decode(in, 16, &odf), 0);
	CU_ASSERT_EQUAL(odf.n, 0);
}

static void test_decode_tokeninfo(void)
{
	uint8_t in[96];
	size_t n = hx(TOKENINFO_43 " FF FF", in, sizeof(in));
	struct card_pkcs15_tokeninfo ti;
	CU_ASSERT_EQUAL(card_pkcs15_tokeninfo_decode(in, n, &ti), 0);
	CU_ASSERT_EQUAL(ti.version, 0);
	CU_ASSERT_EQUAL(ti.serial_len, 8);
	CU_ASSERT_STRING_EQUAL(ti.manufacturer, "SCWS-EMU");
	CU_ASSERT_STRING_EQUAL(ti.label, "DM bootstrap token");
	CU_ASSERT_EQUAL(ti.flags, 0);
	uint8_t out[96];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_tokeninfo_encode(&w, &ti), 0);
	check_bytes(out, w.len, TOKENINFO_43);
	/* Minimal: no manufacturer, no label, flags readonly; extra fields skipped. */
	n = hx("30 0D 02 01 01 04 01 AA 03 02 07 80 30 00 A2 00", in, sizeof(in));
	in[1] = 0x0E;
	n = hx("30 0E 02 01 01 04 01 AA 03 02 07 80 30 00 A2 00", in, sizeof(in));
	CU_ASSERT_EQUAL(card_pkcs15_tokeninfo_decode(in, n, &ti), 0);
	CU_ASSERT_EQUAL(ti.version, 1);
	CU_ASSERT_FALSE(ti.has_manufacturer);
	CU_ASSERT_FALSE(ti.has_label);
	CU_ASSERT_EQUAL(ti.flags, 1);
}

static void test_decode_dodf_43(void)
{
	uint8_t in[96];
	size_t n = hx(DODF_43 " FF FF FF FF", in, sizeof(in));
	struct card_pkcs15_dodf *d = malloc(sizeof(*d));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(card_pkcs15_dodf_decode(in, n, d), 0);
	CU_ASSERT_EQUAL(d->n, 1);
	const struct card_pkcs15_do *e = &d->e[0];
	CU_ASSERT_EQUAL(e->kind, CARD_PKCS15_DO_OID);
	CU_ASSERT_STRING_EQUAL(e->label, "DM Bootstrap");
	CU_ASSERT_EQUAL(e->flags, 0);
	CU_ASSERT_FALSE(e->has_app_name);
	CU_ASSERT_EQUAL(e->app_oid_len, 0);
	CU_ASSERT_EQUAL(e->type_oid_len, 4);
	CU_ASSERT_EQUAL(memcmp(e->type_oid, "\x67\x2B\x07\x01", 4), 0);
	CU_ASSERT_TRUE(e->has_path);
	CU_ASSERT_EQUAL(memcmp(e->path.path, "\x64\x32", 2), 0);
	bool mis = true;
	CU_ASSERT_EQUAL(card_pkcs15_dodf_find(d, NULL, 0, true, &mis), 0);
	CU_ASSERT_FALSE(mis);
	/* Round trip. */
	uint8_t out[96];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	CU_ASSERT_EQUAL(card_pkcs15_do_encode(&w, e), 0);
	check_bytes(out, w.len, DODF_43);
	free(d);
}

static void test_decode_dodf_nrf(void)
{
	uint8_t in[96];
	size_t n = hx(DODF_NRF, in, sizeof(in));
	struct card_pkcs15_dodf *d = malloc(sizeof(*d));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(card_pkcs15_dodf_decode(in, n, d), 0);
	CU_ASSERT_EQUAL(d->n, 1);
	const struct card_pkcs15_do *e = &d->e[0];
	CU_ASSERT_EQUAL(e->kind, CARD_PKCS15_DO_OID);
	CU_ASSERT_FALSE(e->has_label);
	CU_ASSERT_TRUE(e->has_app_name);
	CU_ASSERT_STRING_EQUAL(e->app_name, "LwM2M Bootstrap");
	CU_ASSERT_EQUAL(e->type_oid_len, 6);
	CU_ASSERT_EQUAL(memcmp(e->type_oid, card_pkcs15_oid_misencoded, 6), 0);
	CU_ASSERT_TRUE(e->has_path);
	CU_ASSERT_EQUAL(e->path.len, 2);
	CU_ASSERT_EQUAL(memcmp(e->path.path, "\x64\x32", 2), 0);
	/* Strict: no 2.23.43.7.1 here. Tolerant: the known mis-encoding. */
	bool mis = false;
	CU_ASSERT_EQUAL(card_pkcs15_dodf_find(d, NULL, 0, true, &mis), -ENOENT);
	CU_ASSERT_EQUAL(card_pkcs15_dodf_find(d, NULL, 0, false, &mis), 0);
	CU_ASSERT_TRUE(mis);
	/* Looking for the LwM2M OID 2.23.43.9.1: found as a wrapped OID. */
	mis = false;
	CU_ASSERT_EQUAL(
		card_pkcs15_dodf_find(d, (const uint8_t *)"\x67\x2B\x09\x01", 4, false, &mis), 0);
	CU_ASSERT_TRUE(mis);
	free(d);
}

static void test_decode_dodf_forms(void)
{
	/* clang-format off */
	static const struct {
		const char *hex;
		int find;      /* index found (non-strict), or -ENOENT */
		bool mis;
		const char *path;
	} cases[] = {
		/* applicationOID only, typeAttributes a bare Path (LwM2M wording). */
		{ "30 1A 30 00 30 06 06 04 67 2B 07 01 A1 0E 30 0C 04 02 64 32 02 01 00 80 03 00 "
		  "01 00", 0, false, "6432" },
		/* implicit OidDO: A1 { 06 oid, 30 path }. */
		{ "A1 14 30 00 30 00 A1 0E 06 04 67 2B 07 01 30 06 04 04 7F FF 64 32", 0, false,
		  "7FFF/6432" },
		/* Double-wrapped DM OID 06 04 67 2B 07 01. */
		{ "A1 16 30 00 30 00 A1 10 30 0E 06 06 06 04 67 2B 07 01 30 04 04 02 64 33", 0,
		  true, "6433" },
		/* A subClassAttributes [0] and authId / extra fields are skipped;
		 * the second entry matches. */
		{ "A1 19 30 03 0C 01 78 30 00 A1 10 30 0E 06 06 2A 86 48 86 F7 0D 30 04 04 02 64 "
		  "40 A1 1D 30 09 0C 01 79 04 01 01 02 01 00 30 00 A0 00 A1 0C 30 0A 06 04 67 2B "
		  "07 01 30 02 04 00",
		  -EPROTO, false, NULL }, /* the empty Path (04 00) is malformed */
		{ "A1 19 30 03 0C 01 78 30 00 A1 10 30 0E 06 06 2A 86 48 86 F7 0D 30 04 04 02 64 "
		  "40 A1 1F 30 09 0C 01 79 04 01 01 02 01 00 30 00 A0 00 A1 0E 30 0C 06 04 67 2B "
		  "07 01 30 04 04 02 64 41",
		  1, false, "6441" },
		/* Exact match wins over an earlier mis-encoded one. */
		{ DODF_NRF " " DODF_43, 1, false, "6432" },
		/* An entry that is not the bootstrap: not found. */
		{ "A1 16 30 00 30 00 A1 10 30 0E 06 06 2A 86 48 86 F7 0D 30 04 04 02 64 32", -ENOENT,
		  false, NULL },
		/* The OID entry with a direct value [0]: found, but no Path. */
		{ "A1 12 30 00 30 00 A1 0C 30 0A 06 04 67 2B 07 01 A0 02 04 00", 0, false, NULL },
	};
	/* clang-format on */
	struct card_pkcs15_dodf *d = malloc(sizeof(*d));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t in[160];
		size_t n = hx(cases[i].hex, in, sizeof(in));
		int rc = card_pkcs15_dodf_decode(in, n, d);
		if (cases[i].find == -EPROTO) {
			CU_ASSERT_EQUAL(rc, -EPROTO);
			continue;
		}
		CU_ASSERT_EQUAL(rc, 0);
		if (rc) {
			fprintf(stderr, "case %zu: decode %d\n", i, rc);
			continue;
		}
		bool mis = !cases[i].mis;
		int idx = card_pkcs15_dodf_find(d, NULL, 0, false, &mis);
		CU_ASSERT_EQUAL(idx, cases[i].find);
		if (idx < 0)
			continue;
		CU_ASSERT_EQUAL(mis, cases[i].mis);
		if (!cases[i].path) {
			CU_ASSERT_FALSE(d->e[idx].has_path);
			continue;
		}
		char s[64];
		CU_ASSERT_TRUE(d->e[idx].has_path);
		CU_ASSERT_STRING_EQUAL(
			card_pkcs15_path_str(d->e[idx].path.path, d->e[idx].path.len, s, sizeof(s)),
			cases[i].path);
	}
	free(d);
}

/* Malformed inputs: each decoder says -EPROTO. */
static void test_decode_malformed(void)
{
	/* clang-format off */
	static const struct {
		int which; /* 0 DIR, 1 ODF, 2 TokenInfo, 3 DODF */
		const char *hex;
	} cases[] = {
		{ 0, "" },
		{ 0, "FF FF" },
		{ 0, "62 00" },                                  /* not 61 */
		{ 0, "61 03 50 01 41" },                         /* no AID */
		{ 0, "61 06 4F 01 A0 4F 01 A0" },                /* two AIDs */
		{ 0, "61 03 4F 01 A0 01" },                      /* not padding after */
		{ 0, "61 03 4F 00 FF" },                         /* empty AID */
		{ 0, "61 13 4F 11 A0 00 00 00 63 50 4B 43 53 2D 31 35 01 02 03 04 05" },
		{ 0, "61 05 4F 01 A0 51 02 00" },                /* inner TLV too long */
		{ 1, "30 04 04 02 64 30" },                      /* not a context tag */
		{ 1, "87 02 64 30" },                            /* primitive */
		{ 1, "A7 04 04 02 64 30" },                      /* Path not a SEQUENCE */
		{ 1, "A7 02 30 00" },                            /* Path without 04 */
		{ 1, "A7 04 30 02 04 00" },                      /* empty path */
		{ 1, "A7 08 30 04 04 02 64 30 30 00" },          /* two objects */
		{ 1, "A7 06 30 04 04 02 64 30 FF 01" },          /* data after padding */
		{ 1, "A7 09 30 07 04 02 64 30 05 01 00" },       /* index not INTEGER */
		{ 1, "A7 09 30 07 04 02 64 30 02 01 FF" },       /* negative index */
		{ 1, "A7 0C 30 0A 04 02 64 30 02 01 00 02 01 00" }, /* length not [0] */
		{ 1, "A7 14 30 12 04 12 3F 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10" },
		{ 2, "" },
		{ 2, "30 00" },
		{ 2, "30 03 02 01 00" },                         /* no serial */
		{ 2, "30 06 02 01 00 04 01 01" },                /* no flags */
		{ 2, "30 09 02 01 00 04 01 01 03 01 08" },       /* bad bit string */
		{ 2, "30 08 02 00 04 01 01 03 01 00" },          /* empty INTEGER */
		{ 3, "A1 00" },
		{ 3, "A1 02 30 00" },                            /* no class attributes */
		{ 3, "A1 04 30 00 30 00" },                      /* no typeAttributes */
		{ 3, "A1 08 30 00 30 00 A2 02 05 00" },          /* [2] is not typeAttributes */
		{ 3, "A1 06 30 00 30 00 A1 00" },                /* empty typeAttributes */
		{ 3, "A1 08 30 00 30 00 A1 02 06 00" },          /* empty OID, no value */
		{ 3, "A1 0C 30 00 30 00 A1 06 06 02 2A 86 30 00" }, /* OID cut in a sub-id */
		{ 3, "A1 0A 30 00 30 00 A1 04 30 02 05 00" },    /* 30 with neither 06 nor 04 */
		{ 3, "A1 0C 30 00 30 00 A1 06 06 04 67 2B 07 01" }, /* OID without value */
		{ 3, "A1 0C 30 00 30 04 06 02 2A 80 A1 02 30 00" }, /* bad applicationOID */
		{ 3, "A1 10 30 04 03 02 08 00 30 00 A1 06 30 04 04 02 64 32" }, /* bad flags */
		{ 3, "04 02 64 32" },                            /* primitive entry */
		{ 3, DODF_43 " 01" },                            /* garbage after */
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t in[64];
		size_t n = hx(cases[i].hex, in, sizeof(in));
		uint8_t *p = malloc(n ? n : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, in, n);
		int rc = 0;
		struct card_pkcs15_dir_app app;
		struct card_pkcs15_odf odf;
		struct card_pkcs15_tokeninfo ti;
		static struct card_pkcs15_dodf dodf;
		switch (cases[i].which) {
		case 0:
			rc = card_pkcs15_dir_decode(p, n, &app);
			break;
		case 1:
			rc = card_pkcs15_odf_decode(p, n, &odf);
			break;
		case 2:
			rc = card_pkcs15_tokeninfo_decode(p, n, &ti);
			break;
		default:
			rc = card_pkcs15_dodf_decode(p, n, &dodf);
			break;
		}
		CU_ASSERT_EQUAL(rc, -EPROTO);
		if (rc != -EPROTO)
			fprintf(stderr, "malformed case %zu (%s): rc %d\n", i, cases[i].hex, rc);
		free(p);
	}
}

/* Every strict prefix of a one-object EF fails (the empty ODF and DODF are
 * valid and empty); nothing reads past the exact-sized copy. */
static void test_decode_every_prefix(void)
{
	static const char *const objs[4] = { DIR_43, ODF_43, TOKENINFO_43, DODF_NRF };
	static struct card_pkcs15_dodf dodf;
	for (int which = 0; which < 4; which++) {
		uint8_t in[96];
		size_t n = hx(objs[which], in, sizeof(in));
		for (size_t len = 0; len <= n; len++) {
			uint8_t *p = malloc(len ? len : 1);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			memcpy(p, in, len);
			int rc;
			struct card_pkcs15_dir_app app;
			struct card_pkcs15_odf odf;
			struct card_pkcs15_tokeninfo ti;
			switch (which) {
			case 0:
				rc = card_pkcs15_dir_decode(p, len, &app);
				break;
			case 1:
				rc = card_pkcs15_odf_decode(p, len, &odf);
				break;
			case 2:
				rc = card_pkcs15_tokeninfo_decode(p, len, &ti);
				break;
			default:
				rc = card_pkcs15_dodf_decode(p, len, &dodf);
				break;
			}
			bool ok = len == n || (len == 0 && (which == 1 || which == 3));
			CU_ASSERT_EQUAL(rc, ok ? 0 : -EPROTO);
			free(p);
		}
	}
}

static void test_dodf_limit(void)
{
	/* 33 entries: one over PKCS15_DODF_ENTRIES_MAX. */
	uint8_t in[33 * 36];
	uint8_t one[64];
	size_t n1 = hx(DODF_43, one, sizeof(one));
	size_t n = 0;
	for (int i = 0; i < 33; i++) {
		memcpy(in + n, one, n1);
		n += n1;
	}
	struct card_pkcs15_dodf *d = malloc(sizeof(*d));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(card_pkcs15_dodf_decode(in, n, d), -EMSGSIZE);
	CU_ASSERT_EQUAL(card_pkcs15_dodf_decode(in, n - n1, d), 0);
	CU_ASSERT_EQUAL(d->n, 32);
	free(d);
}

/* ---- the walk: a strict script (the nRF trace of doc/protocol.md §4.1) ---- */

struct script_step {
	const char *cmd;
	const char *resp;
};

struct script {
	const struct script_step *steps;
	size_t n, at;
	bool mismatch;
};

static int script_transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap,
			   size_t *rlen)
{
	struct script *s = ctx;
	char h[600];
	if (s->at == s->n) {
		fprintf(stderr, "\n  unexpected command %s\n",
			hex_encode(capdu, len, ' ', h, sizeof(h)));
		s->mismatch = true;
		return -EIO;
	}
	const struct script_step *st = &s->steps[s->at++];
	uint8_t exp[300];
	size_t en = 0;
	if (hex_decode(st->cmd, exp, sizeof(exp), &en) || en != len || memcmp(exp, capdu, len)) {
		fprintf(stderr, "\n  step %zu: got %s\n  expected %s\n", s->at,
			hex_encode(capdu, len, ' ', h, sizeof(h)), st->cmd);
		s->mismatch = true;
		return -EIO;
	}
	if (hex_decode(st->resp, rapdu, cap, rlen))
		return -EMSGSIZE;
	return 0;
}

static void collect_lines(void *arg, const char *line)
{
	struct buf *b = arg;
	if (buf_append_str(b, line) || buf_append_u8(b, '\n'))
		CU_FAIL("report buffer");
}

#define AID_HEX "A0 00 00 00 63 50 4B 43 53 2D 31 35"
#define BOOT_HEX "02 00 00 6A 00 6D 6C 71 03 31 2E 32 00 01 01"

static void test_walk_nrf_trace(void)
{
	/* clang-format off */
	static const struct script_step steps[] = {
		{ "00 A4 00 04 02 3F 00 00", "62 08 82 02 78 21 83 02 3F 00 90 00" },
		{ "00 A4 00 04 02 2F 00 00", "62 0B 82 05 42 21 00 1F 01 83 02 2F 00 90 00" },
		{ "00 B2 01 04 1F", DIR_43 " 90 00" },
		{ "00 70 00 00 01", "01 90 00" },
		{ "01 A4 04 04 0C " AID_HEX " 00",
		  "62 25 82 02 78 21 84 0C " AID_HEX " 8A 01 05 8B 03 2F 06 0C "
		  "C6 09 90 01 40 83 01 01 83 01 81 90 00" },
		{ "01 A4 08 04 04 7F FF 50 31 00",
		  "62 0C 82 02 41 21 83 02 50 31 80 02 00 08 90 00" },
		{ "01 B0 00 00 08", ODF_43 " 90 00" },
		{ "01 A4 08 04 04 7F FF 64 30 00",
		  "62 0C 82 02 41 21 83 02 64 30 80 02 00 29 90 00" },
		{ "01 B0 00 00 29", DODF_NRF " 90 00" },
		{ "01 A4 08 04 04 7F FF 64 32 00",
		  "62 0C 82 02 41 21 83 02 64 32 80 02 00 0F 90 00" },
		{ "01 B0 00 00 0F", BOOT_HEX " 90 00" },
		{ "01 70 80 01", "90 00" },
	};
	/* clang-format on */
	struct script s = { steps, sizeof(steps) / sizeof(steps[0]), 0, false };
	struct buf lines;
	buf_init(&lines, 16384);
	struct card_pkcs15_walk_ops ops = { .transmit = script_transmit,
					    .ctx = &s,
					    .report = collect_lines,
					    .report_arg = &lines };
	struct buf out;
	buf_init(&out, 4096);
	struct card_pkcs15_walk_info info;
	char err[256];
	int rc = card_pkcs15_walk(&ops, &out, &info, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		fprintf(stderr, "\n  walk: %d %s\n", rc, err);
	CU_ASSERT_FALSE(s.mismatch);
	CU_ASSERT_EQUAL(s.at, s.n);
	check_bytes(out.p, out.len, BOOT_HEX);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(info.channel, 1);
	CU_ASSERT_TRUE(info.misencoded_oid);
	CU_ASSERT_EQUAL(info.apdus, s.n);
	CU_ASSERT_EQUAL(info.ef_path_len, 2);
	CU_ASSERT_EQUAL(info.dodf_path_len, 2);
	CU_ASSERT_EQUAL(info.aid_len, 12);
	CU_ASSERT_TRUE(buf_append_u8(&lines, 0) == 0);
	const char *l = (const char *)lines.p;
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "SELECT 2F00 (EF.DIR): 90 00"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "linear fixed, 1 record of 31 bytes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "MANAGE CHANNEL open: 90 00"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "mis-encoded OID"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "15 bytes of bootstrap"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "MANAGE CHANNEL close 1: 90 00"));

	/* The same card with strict OIDs: no bootstrap, the channel closed. */
	s.at = 0;
	s.mismatch = false;
	s.n = 9; /* up to reading the DODF ... */
	static const struct script_step tail[] = { { "01 70 80 01", "90 00" } };
	struct script_step all[10];
	memcpy(all, steps, 9 * sizeof(steps[0]));
	all[9] = tail[0];
	s.steps = all;
	s.n = 10;
	ops.strict_oid = true;
	rc = card_pkcs15_walk(&ops, &out, &info, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "DODF 6430 has no entry with OID 2.23.43.7.1");
	CU_ASSERT_EQUAL(s.at, s.n);
	CU_ASSERT_FALSE(s.mismatch);
	CU_ASSERT_EQUAL(out.len, 0);
	buf_cleanup(&out);
	buf_cleanup(&lines);
}

/* ---- the walk: a small fake card ---- */

struct fake_file {
	bool in_adf;
	uint16_t fid;
	uint8_t fd; /* 01 transparent, 02 linear fixed */
	uint8_t rec_len;
	uint8_t data[1100];
	size_t len;
};

struct fake {
	struct fake_file f[8];
	size_t n;
	uint16_t adf_fid;
	/* behaviour */
	bool t0;             /* SELECT answers 61 xx; data by GET RESPONSE */
	bool strict_le;      /* READ with Le != what is there: 6C xx */
	bool no_channels;    /* MANAGE CHANNEL: 68 81 */
	bool no_path_select; /* SELECT P1 08: 6A 86 */
	bool no_size;        /* FCP without tag 80 */
	const char *inject;  /* hex prefix of a command ... */
	unsigned inject_nth; /* ... its nth occurrence (1-based) ... */
	uint16_t inject_sw;  /* ... answered with this SW */
	unsigned seen;
	int fail_at; /* transport error on this APDU number */
	/* state */
	unsigned count;
	bool open[4];
	bool in_adf[4];
	int cur[4]; /* index of the current EF, -1 none */
	uint8_t pending[300];
	size_t pending_len;
	char log[8192];
	size_t log_len;
};

static void fake_init(struct fake *fk)
{
	memset(fk, 0, sizeof(*fk));
	fk->adf_fid = 0x7F50;
	fk->open[0] = true;
	for (int i = 0; i < 4; i++)
		fk->cur[i] = -1;
}

static struct fake_file *fake_add(struct fake *fk, bool in_adf, uint16_t fid, uint8_t fd,
				  uint8_t rec_len, const char *hex)
{
	struct fake_file *f = &fk->f[fk->n++];
	f->in_adf = in_adf;
	f->fid = fid;
	f->fd = fd;
	f->rec_len = rec_len;
	f->len = 0;
	if (hex)
		f->len = hx(hex, f->data, sizeof(f->data));
	return f;
}

/* The default PKCS#15 card of §4.3 (ADF 7F50) with a 15-byte bootstrap. */
static void fake_default(struct fake *fk)
{
	fake_init(fk);
	fake_add(fk, false, 0x2F00, 0x02, 0x20, DIR_43 " FF");
	fake_add(fk, true, 0x5031, 0x01, 0, ODF_43);
	fake_add(fk, true, 0x5032, 0x01, 0, TOKENINFO_43);
	fake_add(fk, true, 0x6430, 0x01, 0, DODF_43);
	fake_add(fk, true, 0x6432, 0x01, 0, BOOT_HEX);
}

static int fake_find(struct fake *fk, bool in_adf, uint16_t fid)
{
	for (size_t i = 0; i < fk->n; i++)
		if (fk->f[i].in_adf == in_adf && fk->f[i].fid == fid)
			return (int)i;
	return -1;
}

static size_t put_sw(uint8_t *r, size_t n, uint16_t sw)
{
	r[n] = (uint8_t)(sw >> 8);
	r[n + 1] = (uint8_t)sw;
	return n + 2;
}

static int fake_transmit(void *ctx, const uint8_t *c, size_t len, uint8_t *r, size_t cap,
			 size_t *rlen)
{
	struct fake *fk = ctx;
	char h[600];
	fk->count++;
	hex_encode(c, len, ' ', h, sizeof(h));
	int k = snprintf(fk->log + fk->log_len, sizeof(fk->log) - fk->log_len, "%s\n", h);
	if (k > 0 && (size_t)k < sizeof(fk->log) - fk->log_len)
		fk->log_len += (size_t)k;
	if (fk->fail_at && (int)fk->count == fk->fail_at)
		return -ECONNRESET;
	CU_ASSERT_FATAL(cap >= 258);
	if (fk->inject && strncmp(h, fk->inject, strlen(fk->inject)) == 0 &&
	    ++fk->seen == fk->inject_nth) {
		*rlen = put_sw(r, 0, fk->inject_sw);
		return 0;
	}
	unsigned ch = c[0] & 0x03;
	uint8_t ins = c[1], p1 = c[2], p2 = c[3];
	if (!fk->open[ch]) {
		*rlen = put_sw(r, 0, 0x6881);
		return 0;
	}
	if (ins != 0xC0)
		fk->pending_len = 0;
	switch (ins) {
	case 0x70: {
		if (fk->no_channels) {
			*rlen = put_sw(r, 0, 0x6881);
			return 0;
		}
		if (p1 == 0x80) {
			fk->open[p2 & 3] = false;
			*rlen = put_sw(r, 0, 0x9000);
			return 0;
		}
		for (unsigned n = 1; n < 4; n++) {
			if (!fk->open[n]) {
				fk->open[n] = true;
				fk->in_adf[n] = false;
				fk->cur[n] = -1;
				r[0] = (uint8_t)n;
				*rlen = put_sw(r, 1, 0x9000);
				return 0;
			}
		}
		*rlen = put_sw(r, 0, 0x6A81);
		return 0;
	}
	case 0xA4: {
		const uint8_t *d = c + 5;
		size_t dl = c[4];
		int idx = -2; /* -2: a DF */
		bool adf = fk->in_adf[ch];
		if (p1 == 0x04) {
			if (dl != 12 || memcmp(d, card_pkcs15_aid, 12)) {
				*rlen = put_sw(r, 0, 0x6A82);
				return 0;
			}
			fk->in_adf[ch] = true;
		} else if (p1 == 0x00 && dl == 2) {
			uint16_t fid = (uint16_t)(d[0] << 8 | d[1]);
			if (fid == 0x3F00) {
				fk->in_adf[ch] = false;
			} else {
				idx = fake_find(fk, adf, fid);
				if (idx < 0) {
					*rlen = put_sw(r, 0, 0x6A82);
					return 0;
				}
			}
		} else if (p1 == 0x08) {
			if (fk->no_path_select) {
				*rlen = put_sw(r, 0, 0x6A86);
				return 0;
			}
			uint16_t f0 = (uint16_t)(d[0] << 8 | d[1]);
			uint16_t f1 = dl >= 4 ? (uint16_t)(d[2] << 8 | d[3]) : 0;
			if (dl == 4 && (f0 == 0x7FFF || f0 == fk->adf_fid)) {
				if (f0 == 0x7FFF && !fk->in_adf[ch]) {
					*rlen = put_sw(r, 0, 0x6A82);
					return 0;
				}
				idx = fake_find(fk, true, f1);
			} else if (dl == 2) {
				idx = fake_find(fk, false, f0);
			} else {
				idx = -1;
			}
			if (idx < 0) {
				*rlen = put_sw(r, 0, 0x6A82);
				return 0;
			}
		} else {
			*rlen = put_sw(r, 0, 0x6A86);
			return 0;
		}
		uint8_t fcp[64];
		struct wr w;
		wr_init(&w, fcp, sizeof(fcp));
		size_t m = codec_tlv_begin(&w, 0x62);
		if (idx == -2) {
			codec_tlv_put(&w, 0x82, "\x78\x21", 2);
		} else {
			const struct fake_file *f = &fk->f[idx];
			fk->cur[ch] = idx;
			if (f->fd == 0x02) {
				uint8_t fd[5] = { 0x42, 0x21, 0x00, f->rec_len,
						  (uint8_t)(f->len / f->rec_len) };
				codec_tlv_put(&w, 0x82, fd, 5);
			} else {
				codec_tlv_put(&w, 0x82, "\x41\x21", 2);
			}
			uint8_t fid[2] = { (uint8_t)(f->fid >> 8), (uint8_t)f->fid };
			codec_tlv_put(&w, 0x83, fid, 2);
			if (!fk->no_size) {
				uint8_t sz[2] = { (uint8_t)(f->len >> 8), (uint8_t)f->len };
				codec_tlv_put(&w, 0x80, sz, 2);
			}
		}
		codec_tlv_end(&w, m);
		if (fk->t0) {
			memcpy(fk->pending, fcp, w.len);
			fk->pending_len = w.len;
			*rlen = put_sw(r, 0, (uint16_t)(0x6100 | w.len));
			return 0;
		}
		memcpy(r, fcp, w.len);
		*rlen = put_sw(r, w.len, 0x9000);
		return 0;
	}
	case 0xC0: {
		size_t le = c[4] ? c[4] : 256;
		if (!fk->pending_len) {
			*rlen = put_sw(r, 0, 0x6985);
			return 0;
		}
		if (le != fk->pending_len) {
			*rlen = put_sw(r, 0, (uint16_t)(0x6C00 | fk->pending_len));
			return 0;
		}
		memcpy(r, fk->pending, fk->pending_len);
		*rlen = put_sw(r, fk->pending_len, 0x9000);
		fk->pending_len = 0;
		return 0;
	}
	case 0xB0:
	case 0xB2: {
		if (fk->cur[ch] < 0) {
			*rlen = put_sw(r, 0, 0x6986);
			return 0;
		}
		const struct fake_file *f = &fk->f[fk->cur[ch]];
		size_t le = c[4] ? c[4] : 256;
		size_t off, avail;
		if (ins == 0xB2) {
			size_t nrec = f->len / f->rec_len;
			if (p1 == 0 || p1 > nrec) {
				*rlen = put_sw(r, 0, 0x6A83);
				return 0;
			}
			off = (size_t)(p1 - 1) * f->rec_len;
			avail = f->rec_len;
		} else {
			off = (size_t)(p1 << 8 | p2);
			if (off > f->len) {
				*rlen = put_sw(r, 0, 0x6B00);
				return 0;
			}
			avail = f->len - off;
		}
		size_t n = le < avail ? le : avail;
		if (fk->strict_le && le != n && n < 256) {
			*rlen = put_sw(r, 0, (uint16_t)(0x6C00 | n));
			return 0;
		}
		memcpy(r, f->data + off, n);
		*rlen = put_sw(r, n, n < le ? 0x6282 : 0x9000);
		return 0;
	}
	default:
		*rlen = put_sw(r, 0, 0x6D00);
		return 0;
	}
}

static int run_walk(struct fake *fk, struct buf *out, struct card_pkcs15_walk_info *info, char *err,
		    size_t errcap, struct buf *lines)
{
	struct card_pkcs15_walk_ops ops = { .transmit = fake_transmit,
					    .ctx = fk,
					    .report = lines ? collect_lines : NULL,
					    .report_arg = lines };
	buf_reset(out);
	return card_pkcs15_walk(&ops, out, info, err, errcap);
}

static void expect_boot(struct fake *fk, const char *boot_hex)
{
	struct buf out;
	buf_init(&out, 65536);
	char err[256];
	struct card_pkcs15_walk_info info;
	int rc = run_walk(fk, &out, &info, err, sizeof(err), NULL);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		fprintf(stderr, "\n  walk %d: %s\n%s", rc, err, fk->log);
	check_bytes(out.p, out.len, boot_hex);
	/* Every channel closed again. */
	for (int i = 1; i < 4; i++)
		CU_ASSERT_FALSE(fk->open[i]);
	buf_cleanup(&out);
}

static void test_walk_fake_default(void)
{
	struct fake fk;
	fake_default(&fk);
	expect_boot(&fk, BOOT_HEX);
	/* The exact APDUs (CLA 01 on channel 1). */
	const char *exp = "00 A4 00 04 02 3F 00 00\n00 A4 00 04 02 2F 00 00\n00 B2 01 04 20\n"
			  "00 70 00 00 01\n01 A4 04 04 0C A0 00 00 00 63 50 4B 43 53 2D 31 35 00\n"
			  "01 A4 08 04 04 7F FF 50 31 00\n01 B0 00 00 08\n"
			  "01 A4 08 04 04 7F FF 64 30 00\n01 B0 00 00 24\n"
			  "01 A4 08 04 04 7F FF 64 32 00\n01 B0 00 00 0F\n01 70 80 01\n";
	CU_ASSERT_STRING_EQUAL(fk.log, exp);
}

static void test_walk_t0_and_wrong_le(void)
{
	struct fake fk;
	fake_default(&fk);
	fk.t0 = true;
	fk.strict_le = true;
	fk.no_size = true; /* size unknown: READ BINARY Le 00 -> 6C xx */
	expect_boot(&fk, BOOT_HEX);
	CU_ASSERT_PTR_NOT_NULL(strstr(fk.log, "01 A4 08 04 04 7F FF 50 31 00\n01 C0 00 00 0A\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fk.log, "01 B0 00 00 00\n01 B0 00 00 08\n"));
}

static void test_walk_basic_channel_and_fid_select(void)
{
	struct fake fk;
	fake_default(&fk);
	fk.no_channels = true;
	fk.no_path_select = true;
	expect_boot(&fk, BOOT_HEX);
	CU_ASSERT_PTR_NOT_NULL(strstr(fk.log, "00 A4 08 04 04 7F FF 50 31 00\n"
					      "00 A4 00 04 02 50 31 00\n"));
	CU_ASSERT_PTR_NULL(strstr(fk.log, "00 70 80"));
}

static void test_walk_path_forms(void)
{
	/* clang-format off */
	static const struct {
		const char *odf;
		const char *dodf;
	} cases[] = {
		{ "A7 06 30 04 04 02 64 30",
		  "A1 22 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 A1 0E 30 0C "
		  "06 04 67 2B 07 01 30 04 04 02 64 32" },
		{ "A7 08 30 06 04 04 7F FF 64 30",
		  "A1 24 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 A1 10 30 0E "
		  "06 04 67 2B 07 01 30 06 04 04 7F FF 64 32" },
		{ "A7 0A 30 08 04 06 3F 00 7F 50 64 30 00 00",
		  "A1 26 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 A1 12 30 10 "
		  "06 04 67 2B 07 01 30 08 04 06 3F 00 7F 50 64 32 FF FF FF" },
		/* OID in applicationOID, bare Path; an unrelated entry first. */
		{ "A8 06 30 04 04 02 44 00 A7 06 30 04 04 02 64 30",
		  "30 14 30 03 0C 01 78 30 05 06 03 2A 03 04 A1 06 30 04 04 02 64 31 "
		  "30 16 30 00 30 06 06 04 67 2B 07 01 A1 0A 30 08 04 06 3F 00 7F 50 64 32" },
		/* The nRF DODF (mis-encoded OID). */
		{ "A7 06 30 04 04 02 64 30", DODF_NRF },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake fk;
		fake_default(&fk);
		fk.f[1].len = hx(cases[i].odf, fk.f[1].data, sizeof(fk.f[1].data));
		fk.f[3].len = hx(cases[i].dodf, fk.f[3].data, sizeof(fk.f[3].data));
		expect_boot(&fk, BOOT_HEX);
	}
	/* The absolute form selects without 3F00 (P1 08 is "from the MF"). */
	struct fake fk;
	fake_default(&fk);
	fk.f[1].len = hx(cases[2].odf, fk.f[1].data, sizeof(fk.f[1].data));
	fk.f[3].len = hx(cases[2].dodf, fk.f[3].data, sizeof(fk.f[3].data));
	expect_boot(&fk, BOOT_HEX);
	CU_ASSERT_PTR_NOT_NULL(strstr(fk.log, "01 A4 08 04 04 7F 50 64 30 00\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fk.log, "01 A4 08 04 04 7F 50 64 32 00\n"));
}

static void test_walk_big_and_partial(void)
{
	struct fake fk;
	fake_default(&fk);
	/* 1000 bytes: READ BINARY in chunks of 256 (Le 00) and 232. */
	struct fake_file *b = &fk.f[4];
	b->len = 1000;
	for (size_t i = 0; i < b->len; i++)
		b->data[i] = (uint8_t)(i * 7 + 1);
	struct buf out;
	buf_init(&out, 65536);
	char err[256];
	CU_ASSERT_EQUAL(run_walk(&fk, &out, NULL, err, sizeof(err), NULL), 0);
	CU_ASSERT_EQUAL(out.len, 1000);
	CU_ASSERT_EQUAL(memcmp(out.p, b->data, 1000), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fk.log, "01 B0 00 00 00\n01 B0 01 00 00\n01 B0 02 00 00\n"
					      "01 B0 03 00 E8\n"));
	/* Over the caller's limit. */
	fake_default(&fk);
	fk.f[4].len = 1000;
	struct buf small;
	buf_init(&small, 999);
	CU_ASSERT_EQUAL(run_walk(&fk, &small, NULL, err, sizeof(err), NULL), -EMSGSIZE);
	CU_ASSERT_EQUAL(small.len, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "over the limit of 999"));
	buf_cleanup(&small);
	/* Unknown size, an exact multiple of 256: ends on 6B 00. */
	fake_default(&fk);
	fk.no_size = true;
	fk.f[4].len = 512;
	CU_ASSERT_EQUAL(run_walk(&fk, &out, NULL, err, sizeof(err), NULL), 0);
	CU_ASSERT_EQUAL(out.len, 512);
	/* Path index/length: a part of the EF. */
	fake_default(&fk);
	fk.f[3].len = hx("A1 28 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 A1 14 30 12 "
			 "06 04 67 2B 07 01 30 0A 04 02 64 32 02 01 03 80 01 04",
			 fk.f[3].data, sizeof(fk.f[3].data));
	expect_boot(&fk, "6A 00 6D 6C");
	CU_ASSERT_PTR_NOT_NULL(strstr(fk.log, "01 B0 00 03 04\n"));
	buf_cleanup(&out);
}

struct err_case {
	const char *inject; /* command prefix */
	unsigned nth;
	uint16_t sw;
	int rc;
	const char *err; /* substring */
};

/* clang-format off */
static const struct err_case err_cases[] = {
	{ "00 A4 00 04 02 3F 00", 1, 0x6A82, -EPROTO, "SELECT 3F00 (MF): 6A 82" },
	{ "00 A4 00 04 02 2F 00", 1, 0x6A82, -ENOENT, "SELECT 2F00 (EF.DIR): 6A 82" },
	{ "00 A4 00 04 02 2F 00", 1, 0x6982, -EPROTO, "SELECT 2F00 (EF.DIR): 69 82" },
	{ "00 B2 01", 1, 0x6A83, -ENOENT, "EF.DIR has no PKCS#15 application" },
	{ "00 B2 01", 1, 0x6A82, -EPROTO, "READ RECORD 1 of EF.DIR: 6A 82" },
	{ "00 70 00", 1, 0x6A82, -EPROTO, "MANAGE CHANNEL open: 6A 82" },
	{ "01 A4 04 04", 1, 0x6A82, -EPROTO, "SELECT AID A000000063504B43532D3135 on channel 1: "
					     "6A 82" },
	{ "01 A4 08 04 04 7F FF 50 31", 1, 0x6A82, -EPROTO, "SELECT 7FFF/5031 (EF.ODF): 6A 82" },
	{ "01 B0", 1, 0x6A82, -EPROTO, "READ BINARY EF.ODF offset 0 length 8: 6A 82" },
	{ "01 A4 08 04 04 7F FF 64 30", 1, 0x6A82, -EPROTO, "SELECT 7FFF/6430 (DODF 6430): "
							    "6A 82" },
	{ "01 B0", 2, 0x6982, -EACCES, "READ BINARY DODF 6430 offset 0 length 36: 69 82" },
	{ "01 A4 08 04 04 7F FF 64 32", 1, 0x6A82, -EPROTO, "SELECT 7FFF/6432 (bootstrap EF "
							    "6432): 6A 82" },
	{ "01 B0", 3, 0x6F00, -EPROTO, "READ BINARY bootstrap EF 6432 offset 0 length 15: "
				       "6F 00" },
	/* 6C xx: the same command again with Le = xx, then all is well. */
	{ "01 A4 08 04 04 7F FF 50 31", 1, 0x6C05, 0, "" },
};
/* clang-format on */

static void test_walk_errors_at_each_step(void)
{
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		struct fake fk;
		fake_default(&fk);
		fk.inject = c->inject;
		fk.inject_nth = c->nth;
		fk.inject_sw = c->sw;
		struct buf out, lines;
		buf_init(&out, 4096);
		buf_init(&lines, 16384);
		char err[256];
		int rc = run_walk(&fk, &out, NULL, err, sizeof(err), &lines);
		CU_ASSERT_EQUAL(rc, c->rc);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, c->err));
		if (rc != c->rc || !strstr(err, c->err))
			fprintf(stderr, "\n  case %zu: rc %d err \"%s\"\n", i, rc, err);
		CU_ASSERT_EQUAL(out.len, c->rc ? 0 : 15);
		if (c->rc == 0)
			CU_ASSERT_PTR_NOT_NULL(strstr(fk.log, "01 A4 08 04 04 7F FF 50 31 00\n"
							      "01 A4 08 04 04 7F FF 50 31 05\n"));
		for (int k = 1; k < 4; k++)
			CU_ASSERT_FALSE(fk.open[k]);
		buf_cleanup(&out);
		buf_cleanup(&lines);
	}
}

static void test_walk_broken_and_missing(void)
{
	/* clang-format off */
	static const struct {
		int file;       /* index in fake_default, or -1 to drop the bootstrap EF */
		const char *hex;
		int rc;
		const char *err;
	} cases[] = {
		{ 0, "61 0E 4F 0C A0 00 00 00 87 10 02 FF FF FF FF 89", -ENOENT,
		  "EF.DIR has no PKCS#15 application" },
		{ 0, "61 0E 4F 0D A0 00 00 00 87 10 02 FF FF FF FF 89", -EPROTO,
		  "EF.DIR record 1 is malformed" },
		{ 1, "A7 06 30 04 04 02 64", -EPROTO, "EF.ODF: malformed (7 bytes)" },
		{ 1, "A8 06 30 04 04 02 64 30", -ENOENT, "ODF has no DODF" },
		{ 1, "", -ENOENT, "ODF has no DODF" },
		{ 1, "A7 06 30 04 04 02 64 31", -EPROTO, "SELECT 7FFF/6431 (DODF 6431): 6A 82" },
		{ 1, "A7 05 30 03 04 01 64", -EPROTO, "path 64 is not a path to an EF" },
		{ 1, "A7 06 30 04 04 02 3F 00", -EPROTO, "path 3F00 is not a path to an EF" },
		{ 1, "A7 06 30 04 04 02 50 32 A7 06 30 04 04 02 64 30", -EPROTO,
		  "DODF 5032: malformed" },
		{ 3, "FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF", -ENOENT,
		  "DODF 6430 has no entry with OID 2.23.43.7.1" },
		{ 3, "", -ENOENT, "DODF 6430 has no entry with OID 2.23.43.7.1" },
		{ 3, "A1 22 30 0E 0C 0C 44 4D 20 42 6F 6F 74 73 74 72 61 70 30 00 A1 0E 30 0C "
		     "06 04 67 2B 07 01 30 04 04 02 64 32 00 01", -EPROTO, "DODF 6430: malformed" },
		{ 3, "A1 12 30 00 30 00 A1 0C 30 0A 06 04 67 2B 07 01 A0 02 04 00", -EPROTO,
		  "does not point to a file" },
		{ 3, "A1 16 30 00 30 00 A1 10 30 0E 06 04 67 2B 07 01 30 06 04 04 3F 00 2F 00",
		  -EPROTO, "SELECT 2F00 (bootstrap EF 3F00/2F00): linear fixed, not a transparent EF" },
		{ 4, "", -ENOENT, "bootstrap EF 6432 is empty" },
		{ 4, "FF FF FF FF", -ENOENT, "bootstrap EF 6432 is empty" },
		{ -1, NULL, -EPROTO, "SELECT 7FFF/6432 (bootstrap EF 6432): 6A 82" },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake fk;
		fake_default(&fk);
		if (cases[i].file < 0) {
			fk.n--;
		} else {
			struct fake_file *f = &fk.f[cases[i].file];
			f->len = hx(cases[i].hex, f->data, sizeof(f->data));
			if (f->fd == 0x02)
				f->rec_len = (uint8_t)f->len;
		}
		/* 3F00/2F00 from the ADF: the fake resolves it under the MF. */
		struct buf out;
		buf_init(&out, 4096);
		char err[256];
		int rc = run_walk(&fk, &out, NULL, err, sizeof(err), NULL);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].err));
		if (rc != cases[i].rc || !strstr(err, cases[i].err))
			fprintf(stderr, "\n  case %zu: rc %d err \"%s\"\n", i, rc, err);
		CU_ASSERT_EQUAL(out.len, 0);
		for (int k = 1; k < 4; k++)
			CU_ASSERT_FALSE(fk.open[k]);
		buf_cleanup(&out);
	}
}

static void test_walk_transport_errors(void)
{
	/* A transport failure at every APDU of the walk: -EIO, nothing out. */
	for (int at = 1; at <= 11; at++) {
		struct fake fk;
		fake_default(&fk);
		fk.fail_at = at;
		struct buf out;
		buf_init(&out, 4096);
		char err[256];
		int rc = run_walk(&fk, &out, NULL, err, sizeof(err), NULL);
		CU_ASSERT_EQUAL(rc, -EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "transmit failed"));
		CU_ASSERT_EQUAL(out.len, 0);
		buf_cleanup(&out);
	}
	/* A failure of the final MANAGE CHANNEL close does not spoil the result. */
	struct fake fk;
	fake_default(&fk);
	fk.fail_at = 12;
	struct buf out;
	buf_init(&out, 4096);
	char err[256];
	CU_ASSERT_EQUAL(run_walk(&fk, &out, NULL, err, sizeof(err), NULL), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(out.len, 15);
	buf_cleanup(&out);
}

/* A card that answers with garbage: no status word, a bad FCP, 61 loops. */
static int garbage_transmit(void *ctx, const uint8_t *c, size_t len, uint8_t *r, size_t cap,
			    size_t *rlen)
{
	int *mode = ctx;
	switch (*mode) {
	case 0:
		*rlen = 1;
		r[0] = 0x90;
		return 0;
	case 1:
		return hex_decode("62 05 82 02 78 90 00", r, cap, rlen);
	case 2:
		return hex_decode("61 10", r, cap, rlen);
	default:
		return hex_decode("62 02 82 00 90 00", r, cap, rlen);
	}
}

static void test_walk_garbage(void)
{
	static const char *const errs[] = { "no status word", "malformed FCP", "endless 61 xx",
					    "malformed FCP" };
	for (int mode = 0; mode < 4; mode++) {
		struct card_pkcs15_walk_ops ops = { .transmit = garbage_transmit, .ctx = &mode };
		struct buf out;
		buf_init(&out, 4096);
		char err[256];
		CU_ASSERT_EQUAL(card_pkcs15_walk(&ops, &out, NULL, err, sizeof(err)), -EPROTO);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, errs[mode]));
		buf_cleanup(&out);
	}
}

int unit_register(void)
{
	/* clang-format off */
	static CU_TestInfo enc[] = {
		UNIT_TEST(test_encode_dir_43),
		UNIT_TEST(test_encode_odf_43),
		UNIT_TEST(test_encode_tokeninfo_43),
		UNIT_TEST(test_encode_dodf_43),
		CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	/* clang-format off */
	static CU_TestInfo dec[] = {
		UNIT_TEST(test_decode_dir),
		UNIT_TEST(test_decode_odf),
		UNIT_TEST(test_decode_tokeninfo),
		UNIT_TEST(test_decode_dodf_43),
		UNIT_TEST(test_decode_dodf_nrf),
		UNIT_TEST(test_decode_dodf_forms),
		UNIT_TEST(test_decode_malformed),
		UNIT_TEST(test_decode_every_prefix),
		UNIT_TEST(test_dodf_limit),
		CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	/* clang-format off */
	static CU_TestInfo walk[] = {
		UNIT_TEST(test_walk_nrf_trace),
		UNIT_TEST(test_walk_fake_default),
		UNIT_TEST(test_walk_t0_and_wrong_le),
		UNIT_TEST(test_walk_basic_channel_and_fid_select),
		UNIT_TEST(test_walk_path_forms),
		UNIT_TEST(test_walk_big_and_partial),
		UNIT_TEST(test_walk_errors_at_each_step),
		UNIT_TEST(test_walk_broken_and_missing),
		UNIT_TEST(test_walk_transport_errors),
		UNIT_TEST(test_walk_garbage),
		CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	int rc = unit_add_suite("pkcs15_encode", enc);
	if (!rc)
		rc = unit_add_suite("pkcs15_decode", dec);
	if (!rc)
		rc = unit_add_suite("pkcs15_walk", walk);
	return rc;
}
