/* test_scws_chunked.c - unit tests for the chunked transfer-coding decoder
 * (scws/chunked.c, RFC 9112 §7.1): a table fed whole, at every split point
 * and one byte at a time, plus limits, callback errors and the name table. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "helpers.h"
#include "runner.h"
#include "scws/chunked.h"

struct result {
	int rc;
	int status;
	char reason[PERR_REASON_MAX];
	size_t used; /* bytes taken in all */
	struct buf data;
};

/* Feeds in[0..len) as pieces ending at cuts[0] < ... == len, stopping at
 * the first result that is not -EAGAIN. */
static void run(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts, uint64_t max,
		struct result *r)
{
	struct scws_chunked d;
	struct unit_collect g;
	unit_collect_init(&g, 1u << 20);
	scws_chunked_init(&d, max, "test body");
	r->rc = -EAGAIN;
	r->used = 0;
	for (size_t k = 0; k < ncuts && r->rc == -EAGAIN; k++) {
		size_t used = 99;
		r->rc = scws_chunked_feed(&d, in + r->used, cuts[k] - r->used, &used,
					  unit_collect_data, &g);
		if (r->rc == -EAGAIN)
			CU_ASSERT_EQUAL(used, cuts[k] - r->used);
		r->used += used;
	}
	r->status = d.e.status;
	snprintf(r->reason, sizeof(r->reason), "%s", d.e.reason);
	r->data = g.data;
}

struct chunked_case {
	const char *name;
	const char *in;
	size_t in_len;
	uint64_t max;
	int rc;             /* 0, -EAGAIN, or the error */
	int status;         /* for errors */
	const char *reason; /* for errors: exact */
	const char *data;   /* the decoded body */
	size_t data_len;
	size_t leftover; /* bytes after the body (rc 0) */
};

#define IN(s) s, sizeof(s) - 1
#define DATA(s) s, sizeof(s) - 1
#define NONE "", 0
#define OK(d, left) 0, 0, NULL, d, left
#define AGAIN(d) -EAGAIN, 0, NULL, d, 0
#define ERR(e, st, why) e, st, why, NONE, 0
#define NOMAX UINT64_MAX

static const struct chunked_case cases[] = {
	{ "two chunks", IN("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), NOMAX, OK(DATA("abcde"), 0) },
	{ "empty body", IN("0\r\n\r\n"), NOMAX, OK(NONE, 0) },
	{ "leftover after the body", IN("1\r\nz\r\n0\r\n\r\nGET"), NOMAX, OK(DATA("z"), 3) },
	{ "upper case hex, leading zeros", IN("0000B\r\nhello world\r\n00\r\n\r\n"), NOMAX,
	  OK(DATA("hello world"), 0) },
	{ "bare LF everywhere", IN("3\nabc\n0\nT: 1\n\n"), NOMAX, OK(DATA("abc"), 0) },
	{ "extensions, BWS, trailer",
	  IN("5 ;a=b\r\nhello\r\n1;x=\"q;uoted\"\t\r\n,\r\n0\r\nT: 1\r\nU: 2\r\n\r\n"), NOMAX,
	  OK(DATA("hello,"), 0) },
	{ "binary data with CR LF inside", IN("4\r\n\r\n\0\n\r\n0\r\n\r\n"), NOMAX,
	  OK(DATA("\r\n\0\n"), 0) },
	{ "exactly max", IN("4\r\nabcd\r\n0\r\n\r\n"), 4, OK(DATA("abcd"), 0) },
	{ "incomplete: in the data", IN("5\r\nab"), NOMAX, AGAIN(DATA("ab")) },
	{ "incomplete: before the last chunk", IN("2\r\nab\r\n"), NOMAX, AGAIN(DATA("ab")) },
	{ "incomplete: in the trailer", IN("0\r\nX: 1\r\n"), NOMAX, AGAIN(NONE) },
	{ "not hex", IN("zz\r\n"), NOMAX, ERR(-EPROTO, 400, "invalid chunk size") },
	{ "only an extension", IN(";x\r\n"), NOMAX, ERR(-EPROTO, 400, "invalid chunk size") },
	{ "empty line (CRLF)", IN("\r\n0\r\n\r\n"), NOMAX,
	  ERR(-EPROTO, 400, "invalid chunk size") },
	{ "empty line (LF)", IN("\n"), NOMAX, ERR(-EPROTO, 400, "invalid chunk size") },
	{ "inner space", IN("1 2\r\n"), NOMAX, ERR(-EPROTO, 400, "invalid chunk size") },
	{ "leading space", IN(" 1\r\n"), NOMAX, ERR(-EPROTO, 400, "invalid chunk size") },
	{ "size overflow", IN("10000000000000000\r\n"), NOMAX,
	  ERR(-EPROTO, 400, "chunk size overflow") },
	{ "over max", IN("3\r\nabc\r\n2\r\n"), 4,
	  ERR(-EMSGSIZE, 413, "chunked test body over 4 bytes") },
	{ "data without CRLF", IN("1\r\nab\r\n0\r\n\r\n"), NOMAX,
	  ERR(-EPROTO, 400, "chunk data not followed by CRLF") },
	{ "data CR without LF", IN("1\r\na\rb"), NOMAX,
	  ERR(-EPROTO, 400, "chunk data not followed by CRLF") },
	{ "bare CR in chunk-size line", IN("1\rx"), NOMAX,
	  ERR(-EPROTO, 400, "bare CR in chunk-size line") },
	{ "control in extension", IN("1;a\x01\r\n"), NOMAX,
	  ERR(-EPROTO, 400, "control character in chunk extension") },
	{ "bare CR in trailer", IN("0\r\nX: a\rb\r\n\r\n"), NOMAX,
	  ERR(-EPROTO, 400, "bare CR in trailer section") },
	{ "NUL in trailer", IN("0\r\nX: \0\r\n\r\n"), NOMAX,
	  ERR(-EPROTO, 400, "NUL in trailer section") },
};

/* Error cases deliver what came before the error: compare data only for
 * the others, where it is the whole point. */
static bool same(const struct chunked_case *c, const struct result *r)
{
	bool ok = r->rc == c->rc;
	if (c->rc == 0)
		ok = ok && r->used == c->in_len - c->leftover;
	else if (c->rc == -EAGAIN)
		ok = ok && r->used == c->in_len;
	if (c->rc == 0 || c->rc == -EAGAIN)
		ok = ok && r->status == 0 && r->reason[0] == 0 && r->data.len == c->data_len &&
		     (c->data_len == 0 || memcmp(r->data.p, c->data, c->data_len) == 0);
	else
		ok = ok && r->status == c->status && strcmp(r->reason, c->reason) == 0;
	if (!ok)
		fprintf(stderr, "\n%s: rc %d status %d reason \"%s\" used %zu data %zu\n", c->name,
			r->rc, r->status, r->reason, r->used, r->data.len);
	return ok;
}

static void test_table_whole(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct chunked_case *c = &cases[i];
		struct result r;
		size_t cut = c->in_len;
		run((const uint8_t *)c->in, c->in_len, &cut, 1, c->max, &r);
		CU_ASSERT_TRUE(same(c, &r));
		buf_cleanup(&r.data);
	}
}

/* Every split point in two pieces, then one byte at a time: the result is
 * the one for the whole input. */
static void test_table_split(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct chunked_case *c = &cases[i];
		for (size_t k = 0; k <= c->in_len; k++) {
			struct result r;
			size_t cuts[2] = { k, c->in_len };
			run((const uint8_t *)c->in, c->in_len, cuts, 2, c->max, &r);
			CU_ASSERT_TRUE(same(c, &r));
			buf_cleanup(&r.data);
		}
		size_t cuts[64];
		CU_ASSERT_FATAL(c->in_len <= sizeof(cuts) / sizeof(cuts[0]));
		for (size_t k = 0; k < c->in_len; k++)
			cuts[k] = k + 1;
		struct result r;
		run((const uint8_t *)c->in, c->in_len, cuts, c->in_len, c->max, &r);
		CU_ASSERT_TRUE(same(c, &r));
		buf_cleanup(&r.data);
	}
}

/* The chunk-size line and the trailer section each stop at their limit. */
static void test_limits(void)
{
	char s[HTTP_TRAILER_MAX + 64];
	for (size_t line = HTTP_CHUNK_LINE_MAX; line <= HTTP_CHUNK_LINE_MAX + 1; line++) {
		/* "1;" + extension + CRLF = line bytes, then the data and the end */
		memset(s, 'e', line);
		memcpy(s, "1;", 2);
		memcpy(s + line - 2, "\r\n", 2);
		memcpy(s + line, "x\r\n0\r\n\r\n", 8);
		struct result r;
		size_t cut = line + 8;
		run((const uint8_t *)s, cut, &cut, 1, NOMAX, &r);
		if (line == HTTP_CHUNK_LINE_MAX) {
			CU_ASSERT_EQUAL(r.rc, 0);
			CU_ASSERT_EQUAL(r.data.len, 1);
		} else {
			CU_ASSERT_EQUAL(r.rc, -EPROTO);
			CU_ASSERT_EQUAL(r.status, 400);
			CU_ASSERT_STRING_EQUAL(r.reason, "chunk-size line over 256 bytes");
			CU_ASSERT_EQUAL(r.used, HTTP_CHUNK_LINE_MAX + 1);
		}
		buf_cleanup(&r.data);
	}
	/* trailer section: bytes after "0\r\n", final CRLF included */
	for (size_t tl = HTTP_TRAILER_MAX; tl <= HTTP_TRAILER_MAX + 1; tl++) {
		memcpy(s, "0\r\n", 3);
		memset(s + 3, 't', tl);
		memcpy(s + 3 + tl - 4, "\r\n\r\n", 4);
		struct result r;
		size_t cut = 3 + tl;
		run((const uint8_t *)s, cut, &cut, 1, NOMAX, &r);
		if (tl == HTTP_TRAILER_MAX) {
			CU_ASSERT_EQUAL(r.rc, 0);
			CU_ASSERT_EQUAL(r.used, cut);
		} else {
			CU_ASSERT_EQUAL(r.rc, -EMSGSIZE);
			CU_ASSERT_EQUAL(r.status, 431);
			CU_ASSERT_STRING_EQUAL(r.reason, "trailer section over 8192 bytes");
		}
		buf_cleanup(&r.data);
	}
}

/* Without a limit, sizes that add up past 2^64 are malformed, not 413. */
static void test_total_overflow(void)
{
	struct scws_chunked d;
	scws_chunked_init(&d, UINT64_MAX, "body");
	d.total = UINT64_MAX - 1; /* as if that much had come */
	size_t used;
	CU_ASSERT_EQUAL(scws_chunked_feed(&d, (const uint8_t *)"1\r\n", 3, &used, NULL, NULL),
			-EAGAIN);
	CU_ASSERT_EQUAL(scws_chunked_feed(&d, (const uint8_t *)"x\r\n2\r\n", 6, &used, NULL, NULL),
			-EPROTO);
	CU_ASSERT_EQUAL(used, 6);
	CU_ASSERT_EQUAL(d.e.status, 400);
	CU_ASSERT_STRING_EQUAL(d.e.reason, "chunked body length overflow");
}

/* on_data's error comes back as is, with status 0, and sticks. */
static void test_callback_error(void)
{
	static const char in[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	struct scws_chunked d;
	struct unit_collect g;
	unit_collect_init(&g, 64);
	g.fail_at = 2;
	scws_chunked_init(&d, NOMAX, "body");
	size_t used = 99;
	CU_ASSERT_EQUAL(scws_chunked_feed(&d, (const uint8_t *)in, sizeof(in) - 1, &used,
					  unit_collect_data, &g),
			-ECANCELED);
	CU_ASSERT_EQUAL(used, 13); /* up to and including "de" */
	CU_ASSERT_EQUAL(d.e.status, 0);
	CU_ASSERT_STRING_EQUAL(d.e.reason, "");
	CU_ASSERT_STRING_EQUAL(scws_chunked_state_name(d.st), "ERROR");
	CU_ASSERT_EQUAL(g.data.len, 3);
	used = 99;
	CU_ASSERT_EQUAL(
		scws_chunked_feed(&d, (const uint8_t *)"0", 1, &used, unit_collect_data, &g),
		-ECANCELED);
	CU_ASSERT_EQUAL(used, 0);
	unit_collect_cleanup(&g);
}

/* A decoder error sticks too; NULL on_data frames without delivering;
 * a finished body takes nothing more. */
static void test_sticky_and_done(void)
{
	struct scws_chunked d;
	size_t used = 99;
	scws_chunked_init(&d, NOMAX, "body");
	CU_ASSERT_EQUAL(scws_chunked_feed(&d, (const uint8_t *)"g\r\n", 3, &used, NULL, NULL),
			-EPROTO);
	CU_ASSERT_EQUAL(used, 1);
	CU_ASSERT_EQUAL(scws_chunked_feed(&d, (const uint8_t *)"0\r\n\r\n", 5, &used, NULL, NULL),
			-EPROTO);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_STRING_EQUAL(d.e.reason, "invalid chunk size");

	scws_chunked_init(&d, NOMAX, "body");
	CU_ASSERT_EQUAL(scws_chunked_feed(&d, NULL, 0, &used, NULL, NULL), -EAGAIN);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_STRING_EQUAL(scws_chunked_state_name(d.st), "CHUNK_SIZE");
	CU_ASSERT_EQUAL(scws_chunked_feed(&d, (const uint8_t *)"2\r\nab", 5, &used, NULL, NULL),
			-EAGAIN);
	CU_ASSERT_STRING_EQUAL(scws_chunked_state_name(d.st), "CHUNK_DATA_CR");
	CU_ASSERT_EQUAL(
		scws_chunked_feed(&d, (const uint8_t *)"\r\n0\r\n\r\nX", 8, &used, NULL, NULL), 0);
	CU_ASSERT_EQUAL(used, 7);
	CU_ASSERT_EQUAL(scws_chunked_feed(&d, (const uint8_t *)"X", 1, &used, NULL, NULL), 0);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_STRING_EQUAL(scws_chunked_state_name(d.st), "DONE");
	CU_ASSERT_EQUAL(d.total, 2);
}

static void test_state_names(void)
{
	static const char *const want[] = { "CHUNK_SIZE", "CHUNK_EXT",     "CHUNK_SIZE_LF",
					    "CHUNK_DATA", "CHUNK_DATA_CR", "CHUNK_DATA_LF",
					    "TRAILER",    "DONE",          "ERROR" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CU_ASSERT_STRING_EQUAL(scws_chunked_state_name((enum scws_chunked_state)i),
				       want[i]);
	CU_ASSERT_STRING_EQUAL(scws_chunked_state_name((enum scws_chunked_state)99), "?");
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_table_whole),    UNIT_TEST(test_table_split),
		UNIT_TEST(test_limits),         UNIT_TEST(test_total_overflow),
		UNIT_TEST(test_callback_error), UNIT_TEST(test_sticky_and_done),
		UNIT_TEST(test_state_names),    CU_TEST_INFO_NULL,
	};
	return unit_add_suite("scws_chunked", tests);
}
