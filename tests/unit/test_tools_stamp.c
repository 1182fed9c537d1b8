/* test_tools_stamp.c - unit tests for tools/stamp.c: the number's width,
 * the ${N} / ${NNN} substitutions (every place, nothing else touched, the
 * output cap), the per-card PSK keys (distinct, reproducible, any length). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "core/hex.h"
#include "core/limits.h"
#include "runner.h"
#include "tools/stamp.h"

static void test_width(void)
{
	static const struct {
		unsigned count, width;
	} cases[] = {
		{ 1, 3 },   { 9, 3 },    { 10, 3 },   { 100, 3 },
		{ 999, 3 }, { 1000, 4 }, { 9999, 4 }, { 10000, 5 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(stamp_width(cases[i].count), cases[i].width);
}

struct subst_case {
	const char *in;
	unsigned n, width;
	const char *want;
};

static const struct subst_case subst_cases[] = {
	{ "", 7, 3, "" },
	{ "no variable", 7, 3, "no variable" },
	{ "${N}", 7, 3, "7" },
	{ "${NNN}", 7, 3, "007" },
	{ "${NNN}", 1234, 4, "1234" },
	{ "${NNN}", 7, 4, "0007" },
	{ "dm${N}@lab", 42, 3, "dm42@lab" },
	{ "card-${NNN}/${N}/${NNN}", 5, 3, "card-005/5/005" },
	{ "${N}${N}", 12, 3, "1212" },
	/* Not variables: copied as they are. */
	{ "${n} $N ${NN} ${ N} $", 3, 3, "${n} $N ${NN} ${ N} $" },
	{ "${N", 3, 3, "${N" },
	{ "$${N}}", 3, 3, "$3}" },
	{ "<Name>IMEI:35${NNN}</Name>", 99, 3, "<Name>IMEI:35099</Name>" },
};

static void test_subst(void)
{
	for (size_t i = 0; i < sizeof(subst_cases) / sizeof(subst_cases[0]); i++) {
		const struct subst_case *c = &subst_cases[i];
		struct buf out;
		buf_init(&out, 256);
		CU_ASSERT_EQUAL(buf_append_str(&out, "pre:"), 0);
		CU_ASSERT_EQUAL(stamp_subst(c->in, strlen(c->in), c->n, c->width, &out), 0);
		CU_ASSERT_EQUAL(out.len, 4 + strlen(c->want));
		CU_ASSERT(out.len == 4 + strlen(c->want) && !memcmp(out.p, "pre:", 4) &&
			  !memcmp(out.p + 4, c->want, strlen(c->want)));
		CU_ASSERT_EQUAL(stamp_has_var(c->in),
				strstr(c->in, "${N}") || strstr(c->in, "${NNN}"));
		buf_cleanup(&out);
	}
	/* Every cut of the input is copied exactly (a variable cut is text). */
	const char *in = "a${NNN}b${N}c";
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		struct buf out;
		buf_init(&out, 256);
		CU_ASSERT_EQUAL(stamp_subst(in, cut, 4, 3, &out), 0);
		char want[64];
		static const char *const full[] = { "",       "a",      "a$",      "a${",
						    "a${N",   "a${NN",  "a${NNN",  "a004",
						    "a004b",  "a004b$", "a004b${", "a004b${N",
						    "a004b4", "a004b4c" };
		snprintf(want, sizeof(want), "%s", full[cut]);
		CU_ASSERT(out.len == strlen(want) && (!out.len || !memcmp(out.p, want, out.len)));
		buf_cleanup(&out);
	}
	/* The output's cap: -EMSGSIZE and nothing appended. */
	struct buf small;
	buf_init(&small, 6);
	CU_ASSERT_EQUAL(buf_append_str(&small, "ab"), 0);
	CU_ASSERT_EQUAL(stamp_subst("x${NNN}y", 8, 12, 3, &small), -EMSGSIZE);
	CU_ASSERT_EQUAL(small.len, 2);
	CU_ASSERT_EQUAL(stamp_subst("${NNN}", 6, 12, 3, &small), 0);
	CU_ASSERT(small.len == 5 && !memcmp(small.p, "ab012", 5));
	buf_cleanup(&small);
}

static void test_psk_key(void)
{
	uint8_t master[16], a[TLS_PSK_KEY_MAX], b[TLS_PSK_KEY_MAX], again[TLS_PSK_KEY_MAX];
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(
		hex_decode("00112233445566778899AABBCCDDEEFF", master, sizeof(master), &n), 0);
	/* The construction checked against an independent computation:
	 * printf 'lab-001\x01' | openssl dgst -sha256 -mac HMAC
	 *   -macopt hexkey:00112233445566778899AABBCCDDEEFF (first 16 bytes). */
	CU_ASSERT_EQUAL(stamp_psk_key(master, sizeof(master), "lab-001", a, 16), 0);
	char hex[2 * TLS_PSK_KEY_MAX + 1];
	hex_encode(a, 16, 0, hex, sizeof(hex));
	CU_ASSERT_STRING_EQUAL(hex, "B66B86392D36CAD83AC3ADBBEBDAE5FC");
	/* Reproducible, distinct per identity, a prefix of the longer key. */
	CU_ASSERT_EQUAL(stamp_psk_key(master, sizeof(master), "lab-001", again, 16), 0);
	CU_ASSERT_EQUAL(memcmp(a, again, 16), 0);
	CU_ASSERT_EQUAL(stamp_psk_key(master, sizeof(master), "lab-002", b, 16), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, 16), 0);
	CU_ASSERT_EQUAL(stamp_psk_key(master, sizeof(master), "lab-001", b, TLS_PSK_KEY_MAX), 0);
	CU_ASSERT_EQUAL(memcmp(a, b, 16), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(b, b + 32, 32), 0); /* the second block is another one */
	/* Another master, another key. */
	master[0] ^= 1;
	CU_ASSERT_EQUAL(stamp_psk_key(master, sizeof(master), "lab-001", again, 16), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, again, 16), 0);
	/* Bad arguments. */
	CU_ASSERT_EQUAL(stamp_psk_key(master, 0, "x", a, 16), -EINVAL);
	CU_ASSERT_EQUAL(stamp_psk_key(master, 16, "x", a, 0), -EINVAL);
	CU_ASSERT_EQUAL(stamp_psk_key(master, 16, "x", a, TLS_PSK_KEY_MAX + 1), -EINVAL);
	char long_id[TLS_PSK_IDENTITY_MAX + 2];
	memset(long_id, 'i', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	CU_ASSERT_EQUAL(stamp_psk_key(master, 16, long_id, a, 16), -EINVAL);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_width),
		UNIT_TEST(test_subst),
		UNIT_TEST(test_psk_key),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("tools_stamp", tests);
}
