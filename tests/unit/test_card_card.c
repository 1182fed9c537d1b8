/* test_card_card.c - unit tests for src/card/card.c: every command and
 * status word on a small hand-built UICC (ETSI TS 102 221, ISO 7816-4). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "core/hex.h"
#include "runner.h"

/* The tree:
 *   MF 3F00
 *     2F00 EF.DIR, linear fixed 2 x 32, SFI 1E (update ADM)
 *     2FE2 EF.ICCID, transparent 10 bytes (update ADM)
 *     6F10 linear fixed 3 x 4: 11.., 22.., 33.. (update ALW)
 *     7F10 DF
 *       6F20 transparent "xyz"
 *     7F20 DF
 *     7F50 ADF, AID A0 00 00 00 63 50 4B 43 53 2D 31 35
 *       5031 EF.ODF, SFI 11 (update ADM)
 *       6430 EF.DODF (update ADM)
 *       6432 bootstrap, 300 bytes b[i] = i * 7 + 1 (update ALW) */
#define MF_FCP "62108202782183023F008A01058C03069090"
#define ADF_FCP "621E8202782183027F50840CA000000063504B43532D31358A01058C03069090"
#define ODF_FCP "621782024121830250318A01058C0303900080020008880188"
#define DODF_FCP "621682024121830264308A01058C03039000800200248800"
#define AID "A000000063504B43532D3135"
#define ODF "A706300404026430"
#define DODF                             \
	"A12230"                         \
	"0E0C0C444D20426F6F747374726170" \
	"3000A10E300C0604672B0701"       \
	"300404026432"
#define DIR_REC1                                \
	"611D4F0C" AID "5007504B43532331355104" \
	"3F005015"                              \
	"FF"
#define BOOT_LEN 300

static const uint8_t atr[] = { 0x3B, 0x9F, 0x96, 0x80, 0x1F, 0xC7, 0x80, 0x31, 0xA0, 0x73, 0xBE,
			       0x21, 0x13, 0x67, 0x43, 0x20, 0x07, 0x18, 0x00, 0x00, 0x01, 0xA5 };

static struct card_fs *fs;
static struct card *card;

static uint8_t boot_byte(size_t i)
{
	return (uint8_t)(i * 7 + 1);
}

static void add_hex_ef(struct card_fs_node *parent, uint16_t fid, const char *hex,
		       struct card_fs_node **out)
{
	uint8_t b[256];
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(hex_decode(hex, b, sizeof(b), &n), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(parent, fid, b, n, out), 0);
}

static void build_card(void)
{
	struct card_fs_node *df, *adf, *n;
	uint8_t b[BOOT_LEN];
	size_t len = 0;

	fs = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	CU_ASSERT_EQUAL_FATAL(hex_decode(DIR_REC1, b, 32, &len), 0);
	CU_ASSERT_EQUAL_FATAL(len, 32);
	memset(b + 32, 0xFF, 32);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef_records(fs->mf, 0x2F00, 32, b, 2, &n), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_set_sfi(n, 0x1E), 0);
	add_hex_ef(fs->mf, 0x2FE2, "98101400000000000000", NULL);
	CU_ASSERT_EQUAL_FATAL(hex_decode("111111112222222233333333", b, sizeof(b), &len), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef_records(fs->mf, 0x6F10, 4, b, 3, &n), 0);
	n->update_always = true;
	CU_ASSERT_EQUAL_FATAL(card_fs_add_df(fs->mf, 0x7F10, &df), 0);
	add_hex_ef(df, 0x6F20, "78797A", NULL);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_df(fs->mf, 0x7F20, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(hex_decode(AID, b, sizeof(b), &len), 0);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_adf(fs, 0x7F50, b, len, &adf), 0);
	add_hex_ef(adf, 0x5031, ODF, &n);
	CU_ASSERT_EQUAL_FATAL(card_fs_set_sfi(n, 0x11), 0);
	add_hex_ef(adf, 0x6430, DODF, NULL);
	for (size_t i = 0; i < BOOT_LEN; i++)
		b[i] = boot_byte(i);
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(adf, 0x6432, b, BOOT_LEN, &n), 0);
	n->update_always = true;

	card = card_new(fs, atr, sizeof(atr));
	CU_ASSERT_PTR_NOT_NULL_FATAL(card);
}

static void fresh(void)
{
	card_free(card);
	card_fs_free(fs);
	card = NULL;
	fs = NULL;
	build_card();
}

/* One exchange: the C-APDU in hex, the whole R-APDU in hex, or "#n:SWSW"
 * to check only the data length and the status word. */
struct step {
	const char *capdu;
	const char *rapdu;
};

static size_t transmit(const char *capdu_hex, uint8_t *out, size_t cap)
{
	uint8_t in[600];
	size_t len = 0, out_len = 0;
	CU_ASSERT_EQUAL_FATAL(hex_decode(capdu_hex, in, sizeof(in), &len), 0);
	/* An exactly sized heap copy so that ASan sees over-reads. */
	uint8_t *p = malloc(len ? len : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	if (len)
		memcpy(p, in, len);
	CU_ASSERT_EQUAL(card_transmit(card, p, len, out, cap, &out_len), 0);
	free(p);
	return out_len;
}

/* "RESET" as a C-APDU resets the card (no exchange). */
static void run_steps(const char *name, const struct step *steps, size_t n)
{
	static uint8_t out[APDU_RESP_MAX];
	for (size_t i = 0; i < n; i++) {
		if (strcmp(steps[i].capdu, "RESET") == 0) {
			card_reset(card);
			continue;
		}
		size_t len = transmit(steps[i].capdu, out, sizeof(out));
		bool ok;
		CU_ASSERT_FATAL(len >= 2);
		if (steps[i].rapdu[0] == '#') {
			char *end = NULL;
			unsigned long dlen = strtoul(steps[i].rapdu + 1, &end, 10);
			unsigned long sw = strtoul(end + 1, NULL, 16);
			unsigned long got = (unsigned long)((out[len - 2] << 8) | out[len - 1]);
			ok = dlen == len - 2 && sw == got;
		} else {
			uint8_t want[600];
			size_t wlen = 0;
			int rc = hex_decode(steps[i].rapdu, want, sizeof(want), &wlen);
			CU_ASSERT_EQUAL_FATAL(rc, 0);
			ok = wlen == len && memcmp(want, out, len) == 0;
		}
		CU_ASSERT(ok);
		if (!ok) {
			char hex[2 * 64 + 1];
			hex_encode(out, len > 64 ? 64 : len, 0, hex, sizeof(hex));
			fprintf(stderr, "\n  %s step %zu: %s -> %s%s (want %s)\n", name, i,
				steps[i].capdu, hex, len > 64 ? "..." : "", steps[i].rapdu);
		}
	}
}

#define RUN(steps) run_steps(#steps, steps, sizeof(steps) / sizeof(steps[0]))

static void test_dispatch(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "", "6700" },
		{ "00", "6700" },
		{ "00A400", "6700" },
		/* Classes without a channel coding, or with no command here. */
		{ "10A4000C023F00", "6E00" },
		/* The GSM class (on by default) is A0 alone: P2 0C is wrong
		 * there, A1-AF are not GSM. */
		{ "A0A4000C023F00", "6B00" },
		{ "A1A4000C023F00", "6E00" },
		{ "A4A4000C023F00", "6E00" },
		{ "F0A4000C023F00", "6E00" },
		{ "90F2000000", "6E00" },
		/* Known class, unknown instruction. */
		{ "00FF000000", "6D00" },
		{ "80A4000C023F00", "6D00" },
		{ "00F2000000", "6D00" },
		{ "00CA000000", "6D00" },
		/* Toolkit instructions without a toolkit. */
		{ "8010000003FFFFFF", "6D00" },
		{ "8012000010", "6D00" },
		{ "8014000003010203", "6D00" },
		{ "80C2000003D60100", "6D00" },
		{ "0010000003FFFFFF", "6D00" },
		/* Malformed length. */
		{ "00A4000C023F", "6700" },
		{ "00A4000C023F000000", "6700" },
		{ "00A4000C00000002", "6700" },
		/* Secure messaging, closed channels. */
		{ "04A4000C023F00", "6882" },
		{ "60A4000C023F00", "6882" },
		{ "01A4000C023F00", "6881" },
		{ "41A4000C023F00", "6881" },
		{ "C3F2000000", "6881" },
		{ "00A4000C023F00", "9000" },
		{ "80F2000C", "9000" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);
}

static void test_select(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		/* 7FFF before any application is selected. */
		{ "00A4000C027FFF", "6A82" },
		/* Case 3 with FCP: T=0 style 61 xx, then GET RESPONSE. */
		{ "00A40004023F00", "6112" },
		{ "00C0000012", MF_FCP "9000" },
		/* Case 4: the FCP comes directly. */
		{ "00A40004027F5000", ADF_FCP "9000" },
		/* P2 00 is answered as FCP. */
		{ "00A40000027F5000", ADF_FCP "9000" },
		{ "00A4000C025031", "9000" },
		{ "00B0000008", ODF "9000" },
		/* From the ADF: 2F00 is neither a child, the parent nor a DF sibling. */
		{ "00A4000C022F00", "6A82" },
		{ "00A4000C026430", "9000" },
		/* The parent of the current DF. */
		{ "00A4000C023F00", "9000" },
		{ "00A4000C022F00", "9000" },
		{ "00A4000C027F10", "9000" },
		/* The current DF itself, a child, a DF sibling, an EF of the parent. */
		{ "00A4000C027F10", "9000" },
		{ "00A4000C026F20", "9000" },
		{ "00B0000000", "78797A9000" },
		{ "00A4000C027F20", "9000" },
		{ "00A4000C026F20", "6A82" },
		{ "00A4000C022FE2", "6A82" },
		{ "00A4000C027F10", "9000" },
		/* 7FFF: the current ADF. */
		{ "00A4040C0C" AID, "9000" },
		{ "00A40004027FFF00", ADF_FCP "9000" },
		{ "00A4000C023F00", "9000" },
		{ "00A40004027FFF00", ADF_FCP "9000" },
		/* By AID: whole, partial, not found, bad lengths. */
		{ "00A4040407A000000063504B00", ADF_FCP "9000" },
		{ "00A4040C05A000000087", "6A82" },
		{ "00A4040C0DA000000063504B43532D313500", "6A82" },
		{ "00A4040C", "6700" },
		{ "00A4040C11A000000063504B43532D31350000000000", "6700" },
		/* P2 b2-b1 (occurrence) is ignored for AIDs. */
		{ "00A4040E0CA000000063504B43532D3135", "9000" },
		/* Path from the MF; 3F00 is not part of it. */
		{ "00A40804047F50503100", ODF_FCP "9000" },
		{ "00A4080C043F007F50", "6A82" },
		{ "00A4080C047F506431", "6A82" },
		{ "00A4080C06" "7F505031" "0001", "6A82" },
		{ "00A4080C037F5050", "6700" },
		{ "00A4080C", "6700" },
		{ "00A4080C12" "7F507F507F507F507F507F507F507F507F50", "6700" },
		/* Path from the current DF, 7FFF first. */
		{ "00A4000C023F00", "9000" },
		{ "00A4090C027F10", "9000" },
		{ "00A4090C026F20", "9000" },
		{ "00A4090C027F10", "6A82" },
		{ "00A4090C047FFF6430", "9000" },
		{ "00B0000000", DODF "9000" },
		/* P1 03: the parent DF. */
		{ "00A4030C", "9000" },
		{ "00A4030C", "6A82" },
		/* P1 00 without data: the MF. */
		{ "00A4000C027F10", "9000" },
		{ "00A4000C", "9000" },
		{ "80F2000000", MF_FCP "9000" },
		/* Wrong P1/P2, wrong Lc. */
		{ "00A40010023F00", "6A86" },
		{ "00A40008023F00", "6A86" },
		{ "00A4000D023F00", "6A86" },
		{ "00A4080D047F505031", "6A86" },
		{ "00A40100023F00", "6A86" },
		{ "00A40200023F00", "6A86" },
		{ "00A4050C023F00", "6A86" },
		{ "00A4000C033F0000", "6700" },
		{ "00A4000C013F", "6700" },
		{ "00A4030C023F00", "6700" },
		/* A failed SELECT leaves the current file alone. */
		{ "00A4000C027F50", "9000" },
		{ "00A4000C029999", "6A82" },
		{ "80F2000000", ADF_FCP "9000" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);
}

static void test_read_binary(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		/* No current EF after reset; then a record EF. */
		{ "00B0000008", "6986" },
		{ "00A4000C022F00", "9000" },
		{ "00B0000001", "6981" },
		/* SFI 11 (ODF) from the MF: not there. */
		{ "00A4000C023F00", "9000" },
		{ "00B0910000", "6A82" },
		{ "00A4040C0C" AID, "9000" },
		{ "00B0910000", ODF "9000" },
		{ "00B0910200", "3004040264309000" },
		{ "00B0910400", "040264309000" },
		{ "00B0910800", "6B00" },
		/* Reading by SFI made the ODF current. */
		{ "00B0000102", "06309000" },
		{ "00B0800000", "6A86" },
		{ "00B0A00000", "6A86" },
		{ "00B0C10000", "6A86" },
		{ "00B09F0000", "6A86" },
		/* The 300-byte EF: Le 00 gives 256, 6C for a long Le, 6B past the end. */
		{ "00A4000C026432", "9000" },
		{ "00B0000000", "#256:9000" },
		{ "00B0000001", "019000" },
		{ "00B0000003", "01080F9000" },
		{ "00B0010000", "#44:9000" },
		{ "00B001002C", "#44:9000" },
		{ "00B0010040", "6C2C" },
		{ "00B0012B00", "#1:9000" },
		{ "00B0012B02", "6C01" },
		{ "00B0012C01", "6B00" },
		{ "00B0012C00", "6B00" },
		{ "00B0012D01", "6B00" },
		{ "00B07F0001", "6B00" },
		{ "00B0002CFF", "#255:9000" },
		/* Extended Le. */
		{ "00B00000000000", "#300:9000" },
		{ "00B00000000100", "#256:9000" },
		{ "00B00000000200", "#300:6282" },
		{ "00B000D4000100", "6C58" },
		{ "00B000D4000058", "#88:9000" },
		/* No Le, or data. */
		{ "00B00000", "6700" },
		{ "00B000000101", "6700" },
		{ "00B00000010100", "6700" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);

	/* The bytes themselves, at an offset and across the 256 boundary. */
	static uint8_t out[APDU_RESP_MAX];
	size_t len = transmit("00B000FA000032", out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(len, 0x32 + 2);
	for (size_t i = 0; i < 0x32; i++)
		CU_ASSERT_EQUAL(out[i], boot_byte(0xFA + i));
}

static void test_read_record(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "00B2010404", "6986" },
		{ "00A4000C026F10", "9000" },
		{ "00B2010404", "111111119000" },
		/* Absolute mode leaves the record pointer unset. */
		{ "00B2000404", "6A83" },
		{ "00B2000204", "111111119000" },
		{ "00B2000204", "222222229000" },
		{ "00B2000404", "222222229000" },
		{ "00B2030404", "333333339000" },
		{ "00B2000404", "222222229000" },
		{ "00B2000204", "333333339000" },
		{ "00B2000204", "6A83" },
		{ "00B2000404", "333333339000" },
		{ "00B2000304", "222222229000" },
		{ "00B2000304", "111111119000" },
		{ "00B2000304", "6A83" },
		{ "00B2000404", "111111119000" },
		/* Re-selecting the EF drops the pointer; previous starts at the end. */
		{ "00A4000C026F10", "9000" },
		{ "00B2000304", "333333339000" },
		{ "00B2040404", "6A83" },
		{ "00B2FF0404", "6A86" },
		/* Le: 00 = the record, else exactly the record length. */
		{ "00B2010400", "111111119000" },
		{ "00B2010402", "6C04" },
		{ "00B2010405", "6C04" },
		{ "00B20104000000", "111111119000" },
		{ "00B20104000004", "111111119000" },
		{ "00B20104000005", "6C04" },
		{ "00B20104", "6700" },
		{ "00B201040101", "6700" },
		/* Modes and SFI. */
		{ "00B2010004", "6A86" },
		{ "00B2010104", "6A86" },
		{ "00B2010504", "6A86" },
		{ "00B2010204", "6A86" },
		{ "00B2010304", "6A86" },
		{ "00B201FC04", "6A86" },
		{ "00B201F420", DIR_REC1 "9000" },
		{ "00B2000220", DIR_REC1 "9000" },
		{ "00B2000220", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
				"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF9000" },
		{ "00B201EC20", "6A82" },
		/* Not a record EF. */
		{ "00A4000C022FE2", "9000" },
		{ "00B2010400", "6981" },
		{ "00B0000000", "981014000000000000009000" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);
}

static void test_update(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "00D6000001AA", "6986" },
		{ "00DC010401AA", "6986" },
		/* ADM files. */
		{ "00A4000C022FE2", "9000" },
		{ "00D6000001AA", "6982" },
		{ "00DC010401AA", "6981" },
		{ "00A4000C022F00", "9000" },
		{ "00DC010420" "0000000000000000000000000000000000000000000000000000000000000000",
		  "6982" },
		{ "00D6000001AA", "6981" },
		/* An ALW transparent EF. */
		{ "00A4040C0C" AID, "9000" },
		{ "00D6910001AA", "6982" },
		{ "00A4000C026432", "9000" },
		{ "00D6000002AABB", "9000" },
		{ "00B0000003", "AABB0F9000" },
		{ "00D6012B01CC", "9000" },
		{ "00B0012B01", "CC9000" },
		{ "00D6012B02CCDD", "6700" },
		{ "00D6012C01CC", "6B00" },
		{ "00D6800001CC", "6A86" },
		{ "00D6000001", "6700" },
		{ "00D60000", "6700" },
		{ "00D6000001AA00", "6700" },
		{ "00D60000000002AABB", "9000" },
		/* An ALW record EF, with the record pointer. */
		{ "00A4000C023F00", "9000" },
		{ "00A4000C026F10", "9000" },
		{ "00DC020404DEADBEEF", "9000" },
		{ "00B2020404", "DEADBEEF9000" },
		{ "00DC020403DEADBE", "6700" },
		{ "00DC020405DEADBEEF00", "6700" },
		{ "00DC040404DEADBEEF", "6A83" },
		{ "00DC000404DEADBEEF", "6A83" },
		{ "00DC000204CAFEF00D", "9000" },
		{ "00DC000204CAFEF00D", "9000" },
		{ "00B2000404", "CAFEF00D9000" },
		{ "00B2010404", "CAFEF00D9000" },
		{ "00DC000304AAAAAAAA", "9000" },
		{ "00B2010404", "AAAAAAAA9000" },
		{ "00DC000304BBBBBBBB", "6A83" },
		{ "00DC000404CCCCCCCC", "9000" },
		{ "00B2000404", "CCCCCCCC9000" },
		{ "00B2020404", "CAFEF00D9000" },
		{ "00DC010604AAAAAAAA", "6A86" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);
}

static void test_get_response(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "00C0000000", "6985" },
		/* 6C with the exact length, then partial reads with 61 xx. */
		{ "00A40004023F00", "6112" },
		{ "00C0000020", "6C12" },
		{ "00C0000008", "6210820278218302" "610A" },
		{ "00C000000A", "3F008A01058C03069090" "9000" },
		{ "00C000000A", "6985" },
		/* Le 00: everything; no Le: 6C. */
		{ "00A40004027F50", "6120" },
		{ "00C00000", "6C20" },
		{ "00C0000000", ADF_FCP "9000" },
		/* Any other command drops the pending data. */
		{ "00A40004023F00", "6112" },
		{ "80F2000C", "9000" },
		{ "00C0000012", "6985" },
		{ "00A40004023F00", "6112" },
		{ "00A4000C023F00", "9000" },
		{ "00C0000012", "6985" },
		/* So does a failed command. */
		{ "00A40004023F00", "6112" },
		{ "00FF000000", "6D00" },
		{ "00C0000012", "6985" },
		/* Wrong P1P2 or data. */
		{ "00A40004023F00", "6112" },
		{ "00C0010012", "6A86" },
		{ "00A40004023F00", "6112" },
		{ "00C000000112", "6700" },
		/* GET RESPONSE on another channel does not see it. */
		{ "0070000001", "019000" },
		{ "00A40004023F00", "6112" },
		{ "01C0000012", "6985" },
		{ "01A40004027F50", "6120" },
		{ "01C0000020", ADF_FCP "9000" },
		/* STATUS without Le: 61 xx too. */
		{ "80F20000", "6112" },
		{ "00C0000012", MF_FCP "9000" },
		/* MANAGE CHANNEL open without Le. */
		{ "00700000", "6101" },
		{ "00C0000001", "029000" },
		/* Extended: the part beyond Le waits too. */
		{ "00A40004000002" "7F50" "0010", "621E8202782183027F50840CA0000000" "6110" },
		{ "00C0000010", "63504B43532D31358A01058C03069090" "9000" },
		{ "00A40004027F5010", "621E8202782183027F50840CA0000000" "6110" },
		{ "00C0000000", "63504B43532D31358A01058C03069090" "9000" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);
}

static void test_status(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "80F2000000", MF_FCP "9000" },
		/* No application yet: no DF name. */
		{ "80F2000100", "9000" },
		{ "80F2000C00", "9000" },
		{ "80F2000C", "9000" },
		{ "00A4040C0C" AID, "9000" },
		{ "80F2000000", ADF_FCP "9000" },
		{ "80F2010000", ADF_FCP "9000" },
		{ "80F2020000", ADF_FCP "9000" },
		{ "80F2000100", "840C" AID "9000" },
		/* Selecting an EF does not change the current DF. */
		{ "00A4000C025031", "9000" },
		{ "80F2000000", ADF_FCP "9000" },
		/* The application stays current when the MF is selected. */
		{ "00A4000C023F00", "9000" },
		{ "80F2000000", MF_FCP "9000" },
		{ "80F2000100", "840C" AID "9000" },
		/* Le shorter than the FCP: the rest via GET RESPONSE. */
		{ "80F2000010", "62108202782183023F008A01058C0306" "6102" },
		{ "00C0000002", "90909000" },
		{ "80F2030000", "6A86" },
		{ "80F2000200", "6A86" },
		{ "80F2000001AA", "6700" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);
}

static void test_channels(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "0070000001", "019000" },
		{ "0070000001", "029000" },
		{ "0070000000", "039000" },
		/* Open a given channel: once. */
		{ "00700003", "6A81" },
		{ "00700005", "9000" },
		{ "0070000500", "6A81" },
		{ "00700014", "6881" },
		{ "00700013", "9000" },
		/* Close. */
		{ "00708002", "9000" },
		{ "00708002", "6881" },
		{ "02A4000C023F00", "6881" },
		{ "00708014", "6881" },
		{ "00708000", "6A86" },
		{ "00708000", "6A86" },
		{ "0070000001", "029000" },
		/* P2 00 closes the channel of CLA; then it is unusable. */
		{ "03708000", "9000" },
		{ "03A4000C023F00", "6881" },
		{ "83F2000000", "6881" },
		{ "0070000001", "039000" },
		/* Bad P1, data. */
		{ "00700100", "6A86" },
		{ "00704000", "6A86" },
		{ "0070000001AA", "6700" },
		/* Channel 1's SELECT does not move channel 0. */
		{ "01A4040C0C" AID, "9000" },
		{ "01A4000C025031", "9000" },
		{ "80F2000000", MF_FCP "9000" },
		{ "81F2000000", ADF_FCP "9000" },
		{ "00B0000008", "6986" },
		{ "01B0000008", ODF "9000" },
		{ "00A4000C027FFF", "6A82" },
		/* A channel opened from channel 1 inherits its DF and ADF. */
		{ "0170000001", "049000" },
		{ "C0F2000000", ADF_FCP "9000" },
		{ "40B0000008", "6986" },
		{ "40A4000C027FFF", "9000" },
		/* CLA 8X with SM bits is not channel 4. */
		{ "84F2000000", "6882" },
		/* One opened from channel 0 starts at the MF. */
		{ "0070000001", "069000" },
		{ "C2F2000000", MF_FCP "9000" },
		{ "C2F2000100", "9000" },
		/* Channels 4..19: CLA 4X and CX. */
		{ "00700004", "6A81" },
		{ "00700007", "9000" },
		{ "43A4000C027F10", "9000" },
		{ "C3F2000000", "62108202782183027F108A01058C030690909000" },
		{ "00700013", "6A81" },
		{ "4FA4000C027F10", "9000" },
		{ "4F708000", "9000" },
		{ "4FA4000C027F10", "6881" },
		{ "4F70000000", "6881" },
		{ "00700013", "9000" },
		{ "4FA4000C027F10", "9000" },
		{ "4F70000001", "089000" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);
}

static void test_channels_full(void)
{
	char capdu[16];
	static uint8_t out[APDU_RESP_MAX];
	fresh();
	for (unsigned n = 1; n < CARD_LOGICAL_CHANNELS; n++) {
		size_t len = transmit("0070000001", out, sizeof(out));
		CU_ASSERT_EQUAL(len, 3);
		CU_ASSERT_EQUAL(out[0], n);
		CU_ASSERT_EQUAL(out[1], 0x90);
		CU_ASSERT_TRUE(card_channel_is_open(card, n));
	}
	/* clang-format off */
	static const struct step full[] = {
		{ "0070000001", "6A81" },
		{ "4F708000", "9000" },
		{ "0070000001", "139000" },
	};
	/* clang-format on */
	RUN(full);
	for (unsigned n = 1; n < CARD_LOGICAL_CHANNELS; n++) {
		snprintf(capdu, sizeof(capdu), "007080%02X", n);
		size_t len = transmit(capdu, out, sizeof(out));
		CU_ASSERT_EQUAL(len, 2);
		CU_ASSERT_EQUAL(out[0], 0x90);
		CU_ASSERT_FALSE(card_channel_is_open(card, n));
	}
	CU_ASSERT_TRUE(card_channel_is_open(card, 0));
	CU_ASSERT_FALSE(card_channel_is_open(card, CARD_LOGICAL_CHANNELS));
}

/* doc/protocol.md §4.1: the nRF LwM2M bootstrap trace, on channel 1. */
static void test_trace_4_1(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "0070000001", "019000" },
		{ "01A404040CA000000063504B43532D313500", ADF_FCP "9000" },
		{ "01A40804047FFF503100", ODF_FCP "9000" },
		/* The trace asks for 80 bytes; this card says how many there are. */
		{ "01B0000080", "6C08" },
		{ "01B0000008", ODF "9000" },
		{ "01A40804047FFF643000", DODF_FCP "9000" },
		{ "01B0000000", DODF "9000" },
		{ "01A4080C047FFF6432", "9000" },
		{ "01B0000000", "#256:9000" },
		{ "01B0010000", "#44:9000" },
		{ "01708001", "9000" },
		{ "01B0000000", "6881" },
		{ "80F2000000", MF_FCP "9000" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);
	CU_ASSERT_PTR_EQUAL(card_current_df(card, 0), fs->mf);
	CU_ASSERT_PTR_NULL(card_current_df(card, 1));
}

static void test_current_files(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "0070000001", "019000" },
		{ "01A4080C047F505031", "9000" },
		{ "01B2000204", "6981" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);
	struct card_fs_node *adf = card_fs_child(fs->mf, 0x7F50);
	CU_ASSERT_PTR_EQUAL(card_current_df(card, 1), adf);
	CU_ASSERT_PTR_EQUAL(card_current_ef(card, 1), card_fs_child(adf, 0x5031));
	CU_ASSERT_PTR_EQUAL(card_current_adf(card, 1), adf);
	CU_ASSERT_PTR_EQUAL(card_current_df(card, 0), fs->mf);
	CU_ASSERT_PTR_NULL(card_current_ef(card, 0));
	CU_ASSERT_PTR_NULL(card_current_adf(card, 0));
	CU_ASSERT_PTR_NULL(card_current_df(card, 2));
	CU_ASSERT_PTR_NULL(card_current_df(card, 99));
}

static void test_reset(void)
{
	/* clang-format off */
	static const struct step before[] = {
		{ "0070000001", "019000" },
		{ "00A4040C0C" AID, "9000" },
		{ "00A4000C025031", "9000" },
		{ "00A40004023F00", "6112" },
	};
	/* clang-format on */
	/* clang-format off */
	static const struct step after[] = {
		{ "01A4000C023F00", "6881" },
		{ "00C0000012", "6985" },
		{ "80F2000000", MF_FCP "9000" },
		{ "00B0000001", "6986" },
		{ "00A4000C027FFF", "6A82" },
		{ "0070000001", "019000" },
	};
	/* clang-format on */
	fresh();
	RUN(before);
	card_reset(card);
	RUN(after);
	size_t len = 0;
	const uint8_t *p = card_atr(card, &len);
	CU_ASSERT_EQUAL(len, sizeof(atr));
	CU_ASSERT_EQUAL(memcmp(p, atr, sizeof(atr)), 0);
}

/* A scripted toolkit: records calls, answers from its fields. */
struct fake_tk {
	size_t pending;
	int rc;
	uint16_t sw;
	const char *data_hex;
	unsigned calls[4];
	unsigned resets;
	uint8_t last_ins;
	size_t last_lc;
};

static int fake_answer(struct fake_tk *t, unsigned which, const struct card_apdu *a,
		       struct wr *resp, uint16_t *sw)
{
	t->calls[which]++;
	t->last_ins = a->ins;
	t->last_lc = a->lc;
	if (t->data_hex) {
		uint8_t b[256];
		size_t n = 0;
		if (hex_decode(t->data_hex, b, sizeof(b), &n) == 0)
			wr_mem(resp, b, n);
	}
	*sw = t->sw;
	return t->rc;
}

static int fake_tp(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	return fake_answer(arg, 0, a, resp, sw);
}

static int fake_fetch(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	struct fake_tk *t = arg;
	int rc = fake_answer(t, 1, a, resp, sw);
	t->pending = 0;
	return rc;
}

static int fake_tr(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	return fake_answer(arg, 2, a, resp, sw);
}

static int fake_env(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	return fake_answer(arg, 3, a, resp, sw);
}

static size_t fake_pending(void *arg)
{
	return ((struct fake_tk *)arg)->pending;
}

static void fake_reset(void *arg)
{
	((struct fake_tk *)arg)->resets++;
}

static void test_toolkit(void)
{
	static const struct card_toolkit_ops ops = {
		.terminal_profile = fake_tp,
		.fetch = fake_fetch,
		.terminal_response = fake_tr,
		.envelope = fake_env,
		.pending = fake_pending,
		.reset = fake_reset,
	};
	struct fake_tk t = { .sw = SW_OK };
	fresh();
	card_set_toolkit(card, &ops, &t);

	/* clang-format off */
	static const struct step tp[] = {
		{ "8010000003FFFFFF", "9000" },
		{ "0010000003FFFFFF", "6D00" },
	};
	/* clang-format on */
	RUN(tp);
	CU_ASSERT_EQUAL(t.calls[0], 1);
	CU_ASSERT_EQUAL(t.last_lc, 3);

	/* A pending proactive command turns every 90 00 into 91 xx. */
	t.pending = 0x0B;
	/* clang-format off */
	static const struct step pend[] = {
		{ "8010000003FFFFFF", "910B" },
		{ "80F2000C", "910B" },
		{ "00A4000C027F50", "910B" },
		{ "00A4000C029999", "6A82" },
		{ "00A40004023F00", "6112" },
		{ "00C0000012", MF_FCP "910B" },
		{ "0070000001", "01910B" },
		{ "81F2000C", "910B" },
	};
	/* clang-format on */
	RUN(pend);

	t.data_hex = "D009810301130082028183";
	/* clang-format off */
	static const struct step fetch[] = {
		{ "801200000B", "D009810301130082028183" "9000" },
		{ "80F2000C", "9000" },
	};
	/* clang-format on */
	RUN(fetch);
	CU_ASSERT_EQUAL(t.calls[1], 1);

	/* Response data without Le waits for GET RESPONSE. */
	t.data_hex = "AABBCC";
	/* clang-format off */
	static const struct step env[] = {
		{ "80C2000003D60100", "6103" },
		{ "00C0000003", "AABBCC9000" },
		{ "8014000003810301", "6103" },
	};
	/* clang-format on */
	RUN(env);
	CU_ASSERT_EQUAL(t.calls[3], 1);
	CU_ASSERT_EQUAL(t.calls[2], 1);

	/* Errors from the toolkit become status words. */
	t.data_hex = NULL;
	/* clang-format off */
	static const struct {
		int rc;
		const char *sw;
	} errs[] = {
		{ -EBUSY, "9300" }, { -EINVAL, "6A80" }, { -EPROTO, "6A80" },
		{ -EMSGSIZE, "6700" }, { -EBADFD, "6985" }, { -ENOMEM, "6F00" },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		t.rc = errs[i].rc;
		struct step s = { "80C2000003D60100", errs[i].sw };
		run_steps("toolkit errors", &s, 1);
	}
	t.rc = 0;
	t.sw = SW_TOOLKIT_BUSY;
	static const struct step busy[] = { { "80C2000003D60100", "9300" } };
	RUN(busy);

	card_reset(card);
	CU_ASSERT_EQUAL(t.resets, 1);

	/* Detached: 6D 00 again, and no 91 xx. */
	t.pending = 5;
	card_set_toolkit(card, NULL, NULL);
	/* clang-format off */
	static const struct step off[] = {
		{ "8010000003FFFFFF", "6D00" },
		{ "80F2000C", "9000" },
	};
	/* clang-format on */
	RUN(off);
}

/* apdu-sw: the hook answers commands of its INS with its status word,
 * before the card processes them (nothing happens), and drops pending
 * GET RESPONSE data like any other command. */
static unsigned sw_calls;
static bool sw_hook(void *arg, uint8_t ins, uint16_t *sw)
{
	sw_calls++;
	if (ins != *(const uint8_t *)arg)
		return false;
	*sw = 0x6F00;
	return true;
}

static void test_sw_fault(void)
{
	static uint8_t ins = 0xB0;
	/* clang-format off */
	static const struct step steps[] = {
		{ "00A4000C023F00", "9000" },
		{ "00B0000001", "6F00" },
		/* Other INS go through. */
		{ "80F2000010", "62108202782183023F008A01058C0306" "6102" },
		/* The faulted command drops what GET RESPONSE would have read. */
		{ "00B0000001", "6F00" },
		{ "00C0000002", "6985" },
	};
	/* clang-format on */
	fresh();
	sw_calls = 0;
	card_set_sw_fault(card, sw_hook, &ins);
	RUN(steps);
	CU_ASSERT_EQUAL(sw_calls, 5); /* every APDU */
	card_set_sw_fault(card, NULL, NULL);
	uint8_t out[300];
	size_t n = transmit("00A4000C023F00", out, sizeof(out));
	CU_ASSERT(n == 2 && out[0] == 0x90);
}

static void test_transmit_cap(void)
{
	uint8_t out[40];
	size_t len = 0;
	const uint8_t sel[] = { 0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00, 0x00 };
	fresh();
	CU_ASSERT_EQUAL(card_transmit(card, sel, sizeof(sel), out, 1, &len), -EMSGSIZE);
	CU_ASSERT_EQUAL(card_transmit(card, sel, sizeof(sel), out, 19, &len), -EMSGSIZE);
	CU_ASSERT_EQUAL(card_transmit(card, sel, sizeof(sel), out, 20, &len), 0);
	CU_ASSERT_EQUAL(len, 20);
	CU_ASSERT_EQUAL(out[18], 0x90);
	CU_ASSERT_EQUAL(card_transmit(card, NULL, 0, out, 2, &len), 0);
	CU_ASSERT_EQUAL(len, 2);
	CU_ASSERT_EQUAL(out[0], 0x67);
	CU_ASSERT_EQUAL(card_transmit(NULL, sel, sizeof(sel), out, 20, &len), -EINVAL);
}

static void test_new_free(void)
{
	struct card_fs *f = card_fs_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	uint8_t big[34] = { 0x3B };
	CU_ASSERT_PTR_NULL(card_new(NULL, atr, sizeof(atr)));
	CU_ASSERT_PTR_NULL(card_new(f, NULL, 0));
	CU_ASSERT_PTR_NULL(card_new(f, atr, 0));
	CU_ASSERT_PTR_NULL(card_new(f, big, sizeof(big)));
	struct card *c = card_new(f, big, 33);
	CU_ASSERT_PTR_NOT_NULL(c);
	card_free(c);
	card_free(NULL);
	card_fs_free(f);
}

static void test_sw_text(void)
{
	/* clang-format off */
	static const struct {
		uint16_t sw;
		const char *text;
	} cases[] = {
		{ 0x9000, "normal ending" },
		{ 0x6A82, "file or application not found" },
		{ 0x6D00, "instruction code not supported" },
		{ 0x6E00, "class not supported" },
		{ 0x6112, "response bytes still available (GET RESPONSE)" },
		{ 0x6C08, "wrong Le, SW2 gives the exact length" },
		{ 0x910B, "normal ending, proactive command pending" },
		{ 0x1234, "unknown status word" },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_STRING_EQUAL(card_sw_text(cases[i].sw), cases[i].text);
	/* Every SW this card answers has a text. */
	/* clang-format off */
	static const uint16_t answered[] = {
		0x9000, 0x6282, 0x6700, 0x6881, 0x6882, 0x6981, 0x6982, 0x6985, 0x6986,
		0x6A80, 0x6A81, 0x6A82, 0x6A83, 0x6A86, 0x6B00, 0x6D00, 0x6E00, 0x6F00,
		0x9300, 0x6100, 0x61FF, 0x6C00, 0x6CFF, 0x9101, 0x91FF,
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(answered) / sizeof(answered[0]); i++)
		CU_ASSERT_STRING_NOT_EQUAL(card_sw_text(answered[i]), "unknown status word");
}

/* ---- PINs (TS 102 221 §9, §11.1.9-13) ---- */

#define PIN1 "31323334FFFFFFFF"     /* "1234" */
#define PIN1_NEW "39383736FFFFFFFF" /* "9876" */
#define PUK1 "3132333435363738"     /* "12345678" */
#define PIN2 "35363738FFFFFFFF"     /* "5678" */
#define ADM1 "3838383838383838"     /* "88888888" */
#define WRONG "30303030FFFFFFFF"    /* "0000" */
/* C6: PS_DO 90 01 A0 (PIN1 and ADM1 enabled, PIN2 not; 20 with PIN1
 * disabled), then 95 01 08
 * 83 01 ref for 01, 81, 0A. */
#define C6_ON                                         \
	"C6159001A0950108830101950108830181950108830" \
	"10A"
#define C6_PIN1_OFF                                   \
	"C615900120950108830101950108830181950108830" \
	"10A"
#define MF_FCP_PINS "62278202782183023F008A01058C03069090" C6_ON

static void pin_block(uint8_t *b, const char *digits)
{
	memset(b, 0xFF, CARD_PIN_LEN);
	memcpy(b, digits, strlen(digits));
}

/* PIN1 1234 enabled (3 tries, PUK 12345678 with 10), PIN2 5678 disabled
 * (3 tries, no PUK), ADM1 88888888 enabled; the bootstrap EF 6432 needs
 * PIN1 to be read, 2FE2 needs PIN2. */
static void configure_pins(unsigned channels, bool gsm)
{
	struct card_options o;
	card_options_init(&o);
	o.channels = channels;
	o.gsm_class = gsm;
	o.n_pins = 3;
	o.pins[0].ref = CARD_KEY_PIN1;
	pin_block(o.pins[0].pin, "1234");
	memcpy(o.pins[0].puk, "12345678", 8);
	o.pins[0].puk_len = 8;
	o.pins[0].tries = 3;
	o.pins[0].puk_tries = 10;
	o.pins[0].enabled = true;
	o.pins[1].ref = CARD_KEY_PIN2;
	pin_block(o.pins[1].pin, "5678");
	o.pins[1].tries = 3;
	o.pins[2].ref = CARD_KEY_ADM1;
	pin_block(o.pins[2].pin, "88888888");
	o.pins[2].tries = 10;
	o.pins[2].enabled = true;
	CU_ASSERT_EQUAL_FATAL(card_configure(card, &o), 0);
	uint16_t p[] = { 0x3F00, 0x7F50, 0x6432 };
	card_fs_lookup(fs, p, 3)->read_key = CARD_KEY_PIN1;
	uint16_t q[] = { 0x3F00, 0x2FE2 };
	card_fs_lookup(fs, q, 2)->read_key = CARD_KEY_PIN2;
}

static void test_configure(void)
{
	struct card_options o;
	fresh();
	card_options_init(&o);
	CU_ASSERT_EQUAL(o.channels, CARD_LOGICAL_CHANNELS);
	CU_ASSERT_TRUE(o.gsm_class);
	CU_ASSERT_EQUAL(o.n_pins, 0);
	CU_ASSERT_EQUAL(card_configure(NULL, &o), -EINVAL);
	CU_ASSERT_EQUAL(card_configure(card, NULL), -EINVAL);
	o.channels = 0;
	CU_ASSERT_EQUAL(card_configure(card, &o), -EINVAL);
	o.channels = CARD_LOGICAL_CHANNELS + 1;
	CU_ASSERT_EQUAL(card_configure(card, &o), -EINVAL);
	o.channels = 4;
	o.n_pins = CARD_PINS_MAX + 1;
	CU_ASSERT_EQUAL(card_configure(card, &o), -EINVAL);
	o.n_pins = 2;
	o.pins[0].ref = 0x01;
	o.pins[0].tries = 3;
	o.pins[1] = o.pins[0];
	CU_ASSERT_EQUAL(card_configure(card, &o), -EINVAL); /* ref twice */
	o.pins[1].ref = 0x00;
	CU_ASSERT_EQUAL(card_configure(card, &o), -EINVAL);
	o.pins[1].ref = 0x81;
	o.pins[1].tries = 16;
	CU_ASSERT_EQUAL(card_configure(card, &o), -EINVAL);
	o.pins[1].tries = 0;
	CU_ASSERT_EQUAL(card_configure(card, &o), -EINVAL);
	o.pins[1].tries = 1;
	o.pins[1].puk_len = 8;
	o.pins[1].puk_tries = 0;
	CU_ASSERT_EQUAL(card_configure(card, &o), -EINVAL);
	o.pins[1].puk_tries = 15;
	CU_ASSERT_EQUAL(card_configure(card, &o), 0);
}

/* VERIFY PIN with every retry count, the empty form, blocking at 0, the
 * block surviving a reset, UNBLOCK. */
/* clang-format off */
static const struct step pin_verify[] = {
	/* The FCP of the MF and the ADF carries C6; an EF's does not. */
	{ "00A40004023F0000", MF_FCP_PINS "9000" },
	/* Bootstrap EF needs PIN1: 69 82 until verified. */
	{ "00A40804047F50643200", "#24:9000" },
	{ "00B0000010", "6982" },
	{ "00B1000003540100" "10", "6982" },
	/* Empty VERIFY (case 1): tries left; with Le it is no VERIFY. */
	{ "00200001", "63C3" },
	{ "0020000100", "6700" },
	/* Bad P1, unknown key, wrong lengths. */
	{ "00200101", "6A86" },
	{ "00200002", "6A88" },
	{ "0020008208" PIN1, "6A88" },
	{ "0020000104" "31323334", "6700" },
	{ "0020000108" PIN1 "00", "6700" },
	/* Wrong, wrong, right: the counter is back to 3. */
	{ "0020000108" WRONG, "63C2" },
	{ "00200001", "63C2" },
	{ "0020000108" WRONG, "63C1" },
	{ "0020000108" PIN1, "9000" },
	{ "00200001", "9000" },
	{ "00B0000004", "01080F16" "9000" },
	{ "00B1000003540101" "04", "5302080F" "9000" },
	/* A reset forgets the verification, not the counter. */
	{ "RESET", "" },
	{ "00200001", "63C3" },
	{ "00A4080C047F506432", "9000" },
	{ "00B0000004", "6982" },
	/* Three wrong: 63 C2, 63 C1, 63 C0, then blocked. */
	{ "0020000108" WRONG, "63C2" },
	{ "0020000108" WRONG, "63C1" },
	{ "0020000108" WRONG, "63C0" },
	{ "0020000108" PIN1, "6983" },
	{ "00200001", "6983" },
	{ "0024000110" PIN1 PIN1_NEW, "6983" },
	{ "0026000108" PIN1, "6983" },
	/* Blocked across a reset. */
	{ "RESET", "" },
	{ "0020000108" PIN1, "6983" },
	{ "00B0000004", "6986" },
	/* UNBLOCK: the empty form gives the PUK's tries. */
	{ "002C0001", "63CA" },
	{ "002C000110" WRONG "31FFFFFFFFFFFFFF", "6A80" },
	{ "002C000110" WRONG PIN1_NEW, "63C9" },
	{ "002C0001", "63C9" },
	{ "002C000108" PUK1, "6700" },
	{ "002C000210" PUK1 PIN1_NEW, "6A88" },
	{ "002C008110" PUK1 PIN1_NEW, "6985" }, /* PIN2 has no PUK */
	{ "002C000110" PUK1 PIN1_NEW, "9000" },
	/* The new PIN, counters full, verified. */
	{ "002C0001", "63CA" },
	{ "00200001", "9000" },
	{ "00A4080C047F506432", "9000" },
	{ "00B0000004", "01080F16" "9000" },
	{ "RESET", "" },
	{ "00200001", "63C3" },
	{ "0020000108" PIN1, "63C2" },
	{ "0020000108" PIN1_NEW, "9000" },
};
/* clang-format on */

/* The PUK blocks for good after its tries. */
static void test_pin_puk_blocked(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "0020000108" WRONG, "63C2" },
		{ "0020000108" WRONG, "63C1" },
		{ "0020000108" WRONG, "63C0" },
	};
	/* clang-format on */
	fresh();
	configure_pins(CARD_LOGICAL_CHANNELS, true);
	RUN(steps);
	char capdu[64];
	static uint8_t out[APDU_RESP_MAX];
	for (unsigned left = 9;; left--) {
		snprintf(capdu, sizeof(capdu), "002C000110%s%s", WRONG, PIN1_NEW);
		size_t len = transmit(capdu, out, sizeof(out));
		CU_ASSERT_EQUAL(len, 2);
		CU_ASSERT_EQUAL(out[0], 0x63);
		CU_ASSERT_EQUAL(out[1], 0xC0 | left);
		if (left == 0)
			break;
	}
	/* clang-format off */
	static const struct step blocked[] = {
		{ "002C000110" PUK1 PIN1_NEW, "6983" },
		{ "002C0001", "6983" },
		{ "0020000108" PIN1, "6983" },
	};
	/* clang-format on */
	RUN(blocked);
	card_reset(card);
	RUN(blocked);
}

/* CHANGE, DISABLE, ENABLE. */
/* clang-format off */
static const struct step pin_change_enable[] = {
	/* CHANGE: old then new. */
	{ "0024000108" PIN1, "6700" },
	{ "0024000110" PIN1 "31FFFFFFFFFFFFFF", "6A80" },
	{ "0024000110" PIN1 "3132333435363738FF", "6700" },
	{ "0024000110" PIN1 "31323334FF353637", "6A80" },
	{ "0024000110" WRONG PIN1_NEW, "63C2" },
	{ "0024000110" PIN1 PIN1_NEW, "9000" },
	{ "00200001", "9000" },
	{ "RESET", "" },
	{ "0020000108" PIN1, "63C2" },
	{ "0020000108" PIN1_NEW, "9000" },
	/* DISABLE: the PIN, then READ needs nothing; C6 says so. */
	{ "0028000108" PIN1_NEW, "6985" }, /* already enabled */
	{ "0026010108" PIN1_NEW, "6A86" },
	{ "0026000108" WRONG, "63C2" },
	{ "0026000108" PIN1_NEW, "9000" },
	{ "0026000108" PIN1_NEW, "6985" },
	{ "RESET", "" },
	{ "00A40004023F0000", "62278202782183023F008A01058C03069090" C6_PIN1_OFF "9000" },
	{ "00200001", "9000" },
	{ "0020000108" PIN1_NEW, "6984" },
	{ "0024000110" PIN1_NEW PIN1, "6984" },
	{ "00A4080C047F506432", "9000" },
	{ "00B0000004", "01080F16" "9000" },
	/* ENABLE again: READ needs it again after a reset. */
	{ "0028000108" WRONG, "63C2" },
	{ "0028000108" PIN1_NEW, "9000" },
	{ "00B0000004", "01080F16" "9000" },
	{ "RESET", "" },
	{ "00A4080C047F506432", "9000" },
	{ "00B0000004", "6982" },
	/* PIN2 is disabled: 2FE2 reads; ADM1 lets UPDATE through. */
	{ "00A4000C023F00", "9000" },
	{ "00A4000C022FE2", "9000" },
	{ "00B0000002", "98109000" },
	{ "00D6000001AA", "6982" },
	{ "0020000A08" ADM1, "9000" },
	{ "00D6000001AA", "9000" },
	{ "00B0000002", "AA109000" },
	{ "RESET", "" },
	{ "00A4000C022FE2", "9000" },
	{ "00D6000001BB", "6982" },
	/* GSM VERIFY CHV. */
	{ "A020000108" WRONG, "9804" },
	{ "A020000108" WRONG, "9804" },
	{ "A020000108" WRONG, "9840" },
	{ "A020000108" PIN1, "9840" },
	{ "A020000208" PIN2, "9808" },
	{ "A020000308" PIN2, "6B00" },
	{ "A020000104" "31323334", "6700" },
};
/* clang-format on */
/* The PIN scripts: each on a fresh card with PINs, "RESET" steps between
 * the exchanges. */
static void test_pin_scripts(void)
{
	/* clang-format off */
	static const struct {
		const char *name;
		const struct step *steps;
		size_t n;
	} scripts[] = {
		{ "pin_verify", pin_verify, sizeof(pin_verify) / sizeof(pin_verify[0]) },
		{ "pin_change_enable", pin_change_enable,
		  sizeof(pin_change_enable) / sizeof(pin_change_enable[0]) },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		fresh();
		configure_pins(CARD_LOGICAL_CHANNELS, true);
		run_steps(scripts[i].name, scripts[i].steps, scripts[i].n);
	}
}

/* MANAGE CHANNEL at the configured limit (the ATR's 4: basic + 3). */
static void test_channel_limit(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "0070000001", "019000" },
		{ "0070000001", "029000" },
		{ "0070000001", "039000" },
		{ "0070000001", "6A81" },
		{ "00700004", "6881" },
		{ "00700013", "6881" },
		{ "40A4000C023F00", "6881" },
		{ "00708004", "6881" },
		{ "00708002", "9000" },
		{ "00700002", "9000" },
		{ "0070000001", "6A81" },
		{ "83F2000C", "9000" },
	};
	/* clang-format on */
	fresh();
	configure_pins(4, true);
	RUN(steps);
	CU_ASSERT_FALSE(card_channel_is_open(card, 4));
}

/* READ BINARY B1: offset DO 54 beyond 7FFF, answer in DO 53. */
static void test_read_binary_odd(void)
{
	static uint8_t big[CARD_EF_SIZE_MAX];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	fresh();
	struct card_fs_node *n;
	CU_ASSERT_EQUAL_FATAL(card_fs_add_ef(fs->mf, 0x6F40, big, sizeof(big), &n), 0);
	/* clang-format off */
	static const struct step real[] = {
		/* 65535 bytes: the size on 3 bytes (80 03 00 FF FF), not a
		 * negative INTEGER. */
		{ "00A40004026F4000", "6217820241218302" "6F40" "8A01058C0303900080030" "0FFFF8800"
				      "9000" },
		/* Le 256: 53 81 FD and 253 bytes. */
		{ "00B1000004" "54028000" "00", "#256:9000" },
		{ "00B1000004" "54028000" "04", "53028081" "9000" },
		{ "00B1000004" "5402FFFE" "00", "530101" "9000" },
		{ "00B1000004" "54027FFF" "04", "53028080" "9000" },
		{ "00B1000005" "540300FFFD" "00", "53020201" "9000" },
		/* Le 130: 53 7F and 127 bytes; Le 2: no room for data. */
		{ "00B1000004" "54020000" "82", "#129:9000" },
		{ "00B1000004" "54020000" "02", "6700" },
		/* FFFF is past the last byte (FFFE). */
		{ "00B1000004" "5402FFFF" "00", "6B00" },
		{ "00B1000005" "540301FFFF" "00", "6B00" },
		/* Bad data objects and lengths. */
		{ "00B1000004" "53028000" "00", "6A80" },
		{ "00B1000003" "540200" "00", "6A80" },
		{ "00B1000006" "540400000000" "00", "6A80" },
		{ "00B1000002" "5400" "00", "6700" },
		{ "00B1000003" "540100", "6700" },
		{ "00B1000004" "54028000" "02", "6700" },
		/* P1-P2: an SFI, a FID; errors. */
		{ "00B10002" "03" "540100" "04", "6A82" },
		{ "00B12FE2" "03" "540100" "0C", "530A98101400000000000000" "9000" },
		{ "00B1001E" "03" "540100" "04", "6981" },
		{ "00B16F10" "03" "540100" "0A", "6981" },
		{ "00B19999" "03" "540100" "04", "6A82" },
		/* The UICC B0 stops at 7FFF: P1 b8 is the SFI flag. */
		{ "00A4000C026F40", "9000" },
		{ "00B07FFF01", "80" "9000" },
	};
	/* clang-format on */
	RUN(real);
}

/* The GSM class: SELECT 9F xx + GET RESPONSE, READ BINARY/RECORD, STATUS;
 * and off. */
static void test_gsm(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "A0A40000023F00", "9F17" },
		{ "A0C0000017", "0000" "0000" "3F00" "01" "0000000000" "0A" "01" "0303" "00" "00"
				"00000000" "00" "9000" },
		{ "A0A40000022FE2", "9F0F" },
		{ "A0C000000F", "0000" "000A" "2FE2" "04" "00" "0A" "FF" "AA" "01" "02" "00" "00"
				"9000" },
		{ "A0C000000F", "9400" },
		{ "A0B000000A", "98101400000000000000" "9000" },
		{ "A0B000000B", "670A" },
		{ "A0B0000A01", "9402" },
		{ "A0B0820001", "6B00" },
		{ "A0A40000026F10", "9F0F" },
		{ "A0C000000F", "0000" "000C" "6F10" "04" "00" "00" "FF" "AA" "01" "02" "01" "04"
				"9000" },
		{ "A0B2010404", "11111111" "9000" },
		{ "A0B2020404", "22222222" "9000" },
		{ "A0B2050404", "9402" },
		{ "A0B2000A04", "6B00" },
		{ "A0B0000001", "9408" },
		{ "A0A40000026F99", "9404" },
		{ "A0A40400026F10", "6B00" },
		{ "A0A4000003123456", "6700" },
		{ "A0A40000027F10", "9F17" },
		{ "A0F2000017", "0000" "0000" "7F10" "02" "0000000000" "0A" "01" "0001" "00" "00"
				"00000000" "00" "9000" },
		{ "A0F2000004", "00000000" "9000" },
		{ "A0F2010017", "6B00" },
		{ "A0B0000001", "9400" },
		{ "A0C0000001", "9400" },
		{ "A0CA000000", "6D00" },
	};
	/* clang-format on */
	fresh();
	RUN(steps);
	/* Off: every A0 command is 6E 00, the UICC class still works. */
	struct card_options o;
	card_options_init(&o);
	o.gsm_class = false;
	CU_ASSERT_EQUAL_FATAL(card_configure(card, &o), 0);
	/* clang-format off */
	static const struct step off[] = {
		{ "A0A40000023F00", "6E00" },
		{ "A0F2000017", "6E00" },
		{ "00A4000C023F00", "9000" },
	};
	/* clang-format on */
	RUN(off);
}

/* With PINs, the GSM response tells the CHV states. */
static void test_gsm_chv(void)
{
	/* clang-format off */
	static const struct step steps[] = {
		{ "A0A40000023F00", "9F17" },
		/* CHV1 enabled (b8 of 14 clear), 4 codes, CHV1 83, UNBLOCK 8A,
		 * CHV2 83, no UNBLOCK CHV2. */
		{ "A0C0000017", "0000" "0000" "3F00" "01" "0000000000" "0A" "01" "0303" "04" "00"
				"838A8300" "00" "9000" },
		{ "A0A40000022FE2", "9F0F" },
		{ "A0C000000F", "0000" "000A" "2FE2" "04" "00" "2A" "FF" "AA" "01" "02" "00" "00"
				"9000" },
		{ "A020000108" WRONG, "9804" },
		{ "A0A40000023F00", "9F17" },
		{ "A0C0000017", "#23:9000" },
	};
	/* clang-format on */
	fresh();
	configure_pins(CARD_LOGICAL_CHANNELS, true);
	RUN(steps);
}

/* Suite teardown: the card and file system the tests left behind. */
static int suite_cleanup(void)
{
	card_free(card);
	card_fs_free(fs);
	card = NULL;
	fs = NULL;
	return 0;
}

int unit_register(void)
{
	/* clang-format off */
	static CU_TestInfo cmds[] = {
		UNIT_TEST(test_dispatch),     UNIT_TEST(test_select),
		UNIT_TEST(test_read_binary),  UNIT_TEST(test_read_record),
		UNIT_TEST(test_update),       UNIT_TEST(test_get_response),
		UNIT_TEST(test_status),       UNIT_TEST(test_channels),
		UNIT_TEST(test_channels_full), UNIT_TEST(test_trace_4_1),
		UNIT_TEST(test_current_files), UNIT_TEST(test_reset),
		UNIT_TEST(test_toolkit),      UNIT_TEST(test_transmit_cap),
		UNIT_TEST(test_sw_fault),
		UNIT_TEST(test_new_free),     UNIT_TEST(test_sw_text),
		UNIT_TEST(test_configure),    UNIT_TEST(test_pin_scripts),
		UNIT_TEST(test_pin_puk_blocked),
		UNIT_TEST(test_channel_limit), UNIT_TEST(test_read_binary_odd),
		UNIT_TEST(test_gsm),          UNIT_TEST(test_gsm_chv),
		CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	return unit_add_suite_cleanup("card_card", suite_cleanup, cmds);
}
