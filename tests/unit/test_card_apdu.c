/* test_card_apdu.c - unit tests for src/card/apdu.c: cases 1-4 short and
 * extended, malformed lengths, CLA decoding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "card/apdu.h"
#include "core/hex.h"
#include "core/limits.h"
#include "runner.h"

struct parse_case {
	const char *hex;
	int rc;
	uint8_t apdu_case;
	bool extended;
	size_t lc;
	bool has_le;
	size_t le;
	size_t data_off; /* where data starts in the input (lc > 0) */
};

static const struct parse_case parse_cases[] = {
	/* Case 1: the header alone. */
	{ "00A40000", 0, 1, false, 0, false, 0, 0 },
	/* Case 2 short; "00" after the header is Le = 256. */
	{ "00B0000000", 0, 2, false, 0, true, 256, 0 },
	{ "00B0000001", 0, 2, false, 0, true, 1, 0 },
	{ "00B00000FF", 0, 2, false, 0, true, 255, 0 },
	/* Case 3 short. */
	{ "00A40000023F00", 0, 3, false, 2, false, 0, 5 },
	{ "00A4000001AA", 0, 3, false, 1, false, 0, 5 },
	/* Case 4 short. */
	{ "00A40004023F0000", 0, 4, false, 2, true, 256, 5 },
	{ "00A40004023F0010", 0, 4, false, 2, true, 16, 5 },
	{ "00A4000401AAFF", 0, 4, false, 1, true, 255, 5 },
	/* Case 2 extended: 00 Le Le, 0000 = 65536. */
	{ "00B00000000000", 0, 2, true, 0, true, 65536, 0 },
	{ "00B00000000100", 0, 2, true, 0, true, 256, 0 },
	{ "00B00000000001", 0, 2, true, 0, true, 1, 0 },
	{ "00B0000000FFFF", 0, 2, true, 0, true, 65535, 0 },
	/* Case 3 extended. */
	{ "00D60000000003AABBCC", 0, 3, true, 3, false, 0, 7 },
	/* Case 4 extended. */
	{ "00A400040000023F000000", 0, 4, true, 2, true, 65536, 7 },
	{ "00A400040000023F000102", 0, 4, true, 2, true, 258, 7 },
	/* Malformed. */
	{ "", -EINVAL, 0, false, 0, false, 0, 0 },
	{ "00", -EINVAL, 0, false, 0, false, 0, 0 },
	{ "00A400", -EINVAL, 0, false, 0, false, 0, 0 },
	/* Lc longer than the data. */
	{ "00A40000023F", -EINVAL, 0, false, 0, false, 0, 0 },
	{ "00A4000005AABBCC", -EINVAL, 0, false, 0, false, 0, 0 },
	/* Lc shorter than the data (one extra byte is Le, two are not). */
	{ "00A40000023F000000", -EINVAL, 0, false, 0, false, 0, 0 },
	{ "00A4000001AABBCCDD", -EINVAL, 0, false, 0, false, 0, 0 },
	/* 00 then fewer than two bytes: an extended body cut short. */
	{ "00A4000000AA", -EINVAL, 0, false, 0, false, 0, 0 },
	/* Extended Lc = 0000 is not a length. */
	{ "00A4000000000011", -EINVAL, 0, false, 0, false, 0, 0 },
	{ "00A400000000001122", -EINVAL, 0, false, 0, false, 0, 0 },
	/* Extended Lc longer / shorter than the data. */
	{ "00A400000000023F", -EINVAL, 0, false, 0, false, 0, 0 },
	{ "00A400000000023F00AA", -EINVAL, 0, false, 0, false, 0, 0 },
	{ "00A400000000023F00AABBCC", -EINVAL, 0, false, 0, false, 0, 0 },
	/* Extended header with a single Le byte. */
	{ "00A400000000023F0000", -EINVAL, 0, false, 0, false, 0, 0 },
};

static void test_parse_table(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		uint8_t in[64];
		size_t len = 0;
		CU_ASSERT_EQUAL_FATAL(hex_decode(c->hex, in, sizeof(in), &len), 0);
		/* An exactly sized heap copy so that ASan sees over-reads. */
		uint8_t *p = malloc(len ? len : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		if (len)
			memcpy(p, in, len);
		struct card_apdu a;
		int rc = card_apdu_parse(p, len, &a);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc != c->rc)
			fprintf(stderr, "\n  case %zu (%s): rc %d\n", i, c->hex, rc);
		if (rc == 0 && c->rc == 0) {
			CU_ASSERT_EQUAL(a.cla, p[0]);
			CU_ASSERT_EQUAL(a.ins, p[1]);
			CU_ASSERT_EQUAL(a.p1, p[2]);
			CU_ASSERT_EQUAL(a.p2, p[3]);
			CU_ASSERT_EQUAL(a.apdu_case, c->apdu_case);
			CU_ASSERT_EQUAL(a.extended, c->extended);
			CU_ASSERT_EQUAL(a.lc, c->lc);
			CU_ASSERT_EQUAL(a.has_le, c->has_le);
			CU_ASSERT_EQUAL(a.le, c->le);
			const uint8_t *want = c->lc ? p + c->data_off : NULL;
			CU_ASSERT_PTR_EQUAL(a.data, want);
		}
		free(p);
	}
	struct card_apdu a;
	CU_ASSERT_EQUAL(card_apdu_parse(NULL, 4, &a), -EINVAL);
	CU_ASSERT_EQUAL(card_apdu_parse((const uint8_t *)"\0\0\0\0", 4, NULL), -EINVAL);
}

/* The largest bodies: short Lc 255 + Le, extended Lc 65535 + Le. */
static void test_parse_max(void)
{
	size_t len = 4 + 3 + APDU_EXT_DATA_MAX + 2;
	uint8_t *p = calloc(1, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct card_apdu a;

	p[4] = 0xFF;
	CU_ASSERT_EQUAL(card_apdu_parse(p, 5 + 255, &a), 0);
	CU_ASSERT_EQUAL(a.apdu_case, 3);
	CU_ASSERT_EQUAL(a.lc, 255);
	CU_ASSERT_EQUAL(card_apdu_parse(p, 5 + 255 + 1, &a), 0);
	CU_ASSERT_EQUAL(a.apdu_case, 4);
	CU_ASSERT_EQUAL(a.le, 256);
	CU_ASSERT_EQUAL(card_apdu_parse(p, 5 + 255 + 2, &a), -EINVAL);

	p[4] = 0x00;
	p[5] = 0xFF;
	p[6] = 0xFF;
	CU_ASSERT_EQUAL(card_apdu_parse(p, len - 2, &a), 0);
	CU_ASSERT_EQUAL(a.apdu_case, 3);
	CU_ASSERT_TRUE(a.extended);
	CU_ASSERT_EQUAL(a.lc, APDU_EXT_DATA_MAX);
	CU_ASSERT_PTR_EQUAL(a.data, p + 7);
	CU_ASSERT_EQUAL(card_apdu_parse(p, len, &a), 0);
	CU_ASSERT_EQUAL(a.apdu_case, 4);
	CU_ASSERT_EQUAL(a.le, APDU_EXT_RESP_MAX);
	CU_ASSERT_EQUAL(card_apdu_parse(p, len - 1, &a), -EINVAL);
	CU_ASSERT_EQUAL(card_apdu_parse(p, len - 3, &a), -EINVAL);
	free(p);
}

/* Every prefix of a valid extended case 4 APDU: which ones parse. */
static void test_parse_prefixes(void)
{
	const uint8_t full[] = { 0x00, 0xA4, 0x04, 0x04, 0x00, 0x00, 0x02, 0x3F, 0x00, 0x00, 0x00 };
	/* len 4: case 1; 5: case 2 short (Le 00); 7: case 2 extended (Le 0002);
	 * 9: case 3 extended; 11: case 4 extended. */
	static const int want[] = { -EINVAL, -EINVAL, -EINVAL, -EINVAL, 0,       0,
				    -EINVAL, 0,       -EINVAL, 0,       -EINVAL, 0 };
	for (size_t n = 0; n <= sizeof(full); n++) {
		uint8_t *p = malloc(n ? n : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, full, n);
		struct card_apdu a;
		CU_ASSERT_EQUAL(card_apdu_parse(p, n, &a), want[n]);
		free(p);
	}
}

static void test_channel_table(void)
{
	static const struct {
		uint8_t cla;
		int chan;
		bool sm;
		uint8_t base;
	} cases[] = {
		{ 0x00, 0, false, 0x00 },  { 0x01, 1, false, 0x00 },  { 0x03, 3, false, 0x00 },
		{ 0x04, 0, true, 0x00 },   { 0x0C, 0, true, 0x00 },   { 0x0B, 3, true, 0x00 },
		{ 0x10, -1, false, 0x10 }, { 0x20, -1, false, 0x20 }, { 0x3F, -1, false, 0x3F },
		{ 0x40, 4, false, 0x00 },  { 0x41, 5, false, 0x00 },  { 0x4F, 19, false, 0x00 },
		{ 0x50, -1, false, 0x50 }, { 0x60, 4, true, 0x00 },   { 0x6F, 19, true, 0x00 },
		{ 0x70, -1, false, 0x70 }, { 0x80, 0, false, 0x80 },  { 0x81, 1, false, 0x80 },
		{ 0x83, 3, false, 0x80 },  { 0x84, 0, true, 0x80 },   { 0x90, -1, false, 0x90 },
		{ 0xA0, 0, false, 0xA0 },  { 0xA3, 3, false, 0xA0 },  { 0xB0, -1, false, 0xB0 },
		{ 0xC0, 4, false, 0x80 },  { 0xC7, 11, false, 0x80 }, { 0xCF, 19, false, 0x80 },
		{ 0xD0, -1, false, 0xD0 }, { 0xE0, 4, true, 0x80 },   { 0xEF, 19, true, 0x80 },
		{ 0xF0, -1, false, 0xF0 }, { 0xFF, -1, false, 0xFF },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(card_apdu_channel(cases[i].cla), cases[i].chan);
		CU_ASSERT_EQUAL(card_apdu_has_sm(cases[i].cla), cases[i].sm);
		CU_ASSERT_EQUAL(card_apdu_cla_base(cases[i].cla), cases[i].base);
	}
	/* Every class: a channel is always 0..19. */
	for (unsigned cla = 0; cla < 256; cla++) {
		int ch = card_apdu_channel((uint8_t)cla);
		CU_ASSERT_TRUE(ch >= -1 && ch < (int)CARD_LOGICAL_CHANNELS);
	}
}

int unit_register(void)
{
	static CU_TestInfo parse[] = {
		UNIT_TEST(test_parse_table),
		UNIT_TEST(test_parse_max),
		UNIT_TEST(test_parse_prefixes),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo cla[] = {
		UNIT_TEST(test_channel_table),
		CU_TEST_INFO_NULL,
	};
	int rc = unit_add_suite("card_apdu_parse", parse);
	if (!rc)
		rc = unit_add_suite("card_apdu_cla", cla);
	return rc;
}
