/* test_card_atr.c - unit tests for src/card/atr.c: ATRs decoded, their
 * TCK, historical bytes and card capabilities (ISO/IEC 7816-3 §8.2,
 * 7816-4 §8.1.1). */
#include <errno.h>
#include <string.h>

#include "card/atr.h"
#include "core/hex.h"
#include "runner.h"

static const struct {
	const char *hex;
	int rc;
	const char *err; /* substring, or NULL */
	unsigned protocols;
	int has_tck;
	int tck_ok;
	int channels;
	int ext_len;
	int chaining;
	size_t hist_len;
	int hist_ok;
} cases[] = {
	/* The shipped UICC ATR: T=0 and T=15, 15 historical bytes,
	 * capabilities FE 21 1B (4 channels, by card and interface). */
	{ "3B9F96801FC78031E073FE211B633A204E8300900093", 0, NULL, 0x8001, 1, 1, 4, 0, 0, 15, 1 },
	/* The same announcing 8 or more channels (1F), TCK adjusted. */
	{ "3B9F96801FC78031E073FE211F633A204E8300900097", 0, NULL, 0x8001, 1, 1, 8, 0, 0, 15, 1 },
	/* Extended lengths and chaining (DB; E1 keeps the XOR): TCK 93 fits. */
	{ "3B9F96801FC78031E073FEE1DB633A204E8300900093", 0, NULL, 0x8001, 1, 1, 4, 1, 1, 15, 1 },
	/* The shipped ATR with a wrong TCK. */
	{ "3B9F96801FC78031E073FE211B633A204E8300900031", 0, NULL, 0x8001, 1, 0, 4, 0, 0, 15, 1 },
	/* T=0 only: no TCK. */
	{ "3B00", 0, NULL, 0x0001, 0, 1, -1, 0, 0, 0, 0 },
	/* Category 14 is not one ISO 7816-4 defines. */
	{ "3B021450", 0, NULL, 0x0001, 0, 1, -1, 0, 0, 2, 0 },
	/* Category 00: status in the last three bytes; C1 = chaining,
	 * extended lengths, 2 channels. */
	{ "3B08"
	  "0073C840C1"
	  "009000",
	  0, NULL, 0x0001, 0, 1, 2, 1, 1, 8, 1 },
	{ "3B880073000000000000", -EINVAL, "10 bytes, but T0 and the TDi bytes announce 11", 0, 0,
	  0, 0, 0, 0, 0, 0 },
	/* Broken compact-TLV: the length runs past the bytes. */
	{ "3B03807F00", 0, NULL, 0x0001, 0, 1, -1, 0, 0, 3, 0 },
	/* Not ATRs. */
	{ "3C00", -EINVAL, "TS is 3C", 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "3B", -EINVAL, "2 to 33", 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "3B9F96", -EINVAL, "inside the interface bytes", 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "3B0214", -EINVAL, "3 bytes, but T0 and the TDi bytes announce 4", 0, 0, 0, 0, 0, 0, 0,
	  0 },
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[40];
		size_t n = 0;
		struct card_atr a;
		char err[160];
		CU_ASSERT_EQUAL_FATAL(hex_decode(cases[i].hex, b, sizeof(b), &n), 0);
		int rc = card_atr_parse(b, n, &a, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc != cases[i].rc)
			fprintf(stderr, "\n  case %zu: rc %d (%s)\n", i, rc, err);
		if (rc) {
			CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].err));
			continue;
		}
		CU_ASSERT_EQUAL(a.protocols, cases[i].protocols);
		CU_ASSERT_EQUAL(a.has_tck, cases[i].has_tck);
		CU_ASSERT_EQUAL(!a.has_tck || a.tck == a.tck_want, cases[i].tck_ok);
		CU_ASSERT_EQUAL(a.channels, cases[i].channels);
		CU_ASSERT_EQUAL(a.ext_len, cases[i].ext_len);
		CU_ASSERT_EQUAL(a.chaining, cases[i].chaining);
		CU_ASSERT_EQUAL(a.hist_len, cases[i].hist_len);
		CU_ASSERT_EQUAL(a.hist_ok, cases[i].hist_ok);
		if (a.channels != cases[i].channels || a.hist_ok != cases[i].hist_ok)
			fprintf(stderr, "\n  case %zu: channels %d hist_ok %d\n", i, a.channels,
				a.hist_ok);
	}
}

static void test_status_and_bits(void)
{
	uint8_t b[40];
	size_t n = 0;
	struct card_atr a;
	char err[80];
	CU_ASSERT_EQUAL_FATAL(
		hex_decode("3B9F96801FC78031E073FE211B633A204E8300900093", b, sizeof(b), &n), 0);
	CU_ASSERT_EQUAL_FATAL(card_atr_parse(b, n, &a, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(a.category, 0x80);
	CU_ASSERT_TRUE(a.has_status);
	CU_ASSERT_EQUAL(a.lcs, 0x00);
	CU_ASSERT_EQUAL(a.sw, 0x9000);
	CU_ASSERT_EQUAL(a.caps_len, 3);
	CU_ASSERT_EQUAL(a.caps[0], 0xFE);
	CU_ASSERT_EQUAL(a.tck, 0x93);
	CU_ASSERT_EQUAL(a.tck_want, 0x93);
	CU_ASSERT_EQUAL(card_atr_channel_bits(1), 0);
	CU_ASSERT_EQUAL(card_atr_channel_bits(4), 3);
	CU_ASSERT_EQUAL(card_atr_channel_bits(8), 7);
	CU_ASSERT_EQUAL(card_atr_channel_bits(20), 7);
	/* Every prefix of a good ATR fails cleanly or parses. */
	for (size_t k = 0; k <= n; k++)
		(void)!card_atr_parse(b, k, &a, err, sizeof(err));
	CU_ASSERT_EQUAL(card_atr_parse(NULL, 0, &a, err, sizeof(err)), -EINVAL);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_parse),
		UNIT_TEST(test_status_and_bits),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("card_atr", tests);
}
