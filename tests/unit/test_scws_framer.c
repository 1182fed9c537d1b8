/* test_scws_framer.c - unit tests for the body framer (scws/framer.c) the
 * request and response parsers share: each row fed whole, at every split
 * point and one byte at a time must give the same body, the same bytes
 * taken and the same result; plus a callback's stop and a feed before any
 * start. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "helpers.h"
#include "runner.h"
#include "scws/framer.h"

enum mode { LENGTH, CHUNKED, UNTIL_CLOSE };

static const struct row {
	const char *name;
	enum mode mode;
	uint64_t arg;      /* LENGTH: the length; CHUNKED: max */
	const char *in;
	int rc;            /* after the whole input */
	const char *body;
	size_t used;       /* bytes taken in all */
	int status;        /* of an error */
	const char *reason;
} rows[] = {
	{ "length exact", LENGTH, 5, "hello", 0, "hello", 5, 0, "" },
	{ "length, the next message after", LENGTH, 3, "abcGET", 0, "abc", 3, 0, "" },
	{ "length, short", LENGTH, 10, "abc", -EAGAIN, "abc", 3, 0, "" },
	{ "chunked", CHUNKED, 100, "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nX", 0, "abcde", 20, 0, "" },
	{ "chunked, over max", CHUNKED, 4, "5\r\nabcde\r\n0\r\n\r\n", -EMSGSIZE, "", 3, 413,
	  "chunked test body over 4 bytes" },
	{ "chunked, bad size", CHUNKED, 100, "zz\r\n", -EPROTO, "", 1, 400, "invalid chunk size" },
	{ "until close", UNTIL_CLOSE, 0, "all of it\r\n0\r\n", -EAGAIN, "all of it\r\n0\r\n", 14, 0,
	  "" },
};

static void start(struct scws_framer *f, const struct row *r)
{
	memset(f, 0xA5, sizeof(*f)); /* start() must not need a zeroed struct */
	if (r->mode == LENGTH)
		scws_framer_length(f, r->arg);
	else if (r->mode == CHUNKED)
		scws_framer_chunked(f, r->arg, "test body");
	else
		scws_framer_until_close(f);
}

/* Feeds r->in in pieces ending at cut, len, stopping at the first result
 * that is not -EAGAIN; true when all is as the row says. */
static bool run_split(const struct row *r, size_t cut, size_t step)
{
	struct scws_framer f;
	struct unit_collect g;
	unit_collect_init(&g, 1u << 16);
	start(&f, r);
	size_t len = strlen(r->in), pos = 0;
	int rc = -EAGAIN;
	while (rc == -EAGAIN && pos < len) {
		size_t end = pos < cut ? cut : (step ? pos + step : len);
		if (end > len)
			end = len;
		size_t used = 99;
		rc = scws_framer_feed(&f, (const uint8_t *)r->in + pos, end - pos, &used,
				      unit_collect_data, &g);
		if (rc == -EAGAIN && used != end - pos)
			rc = -EILSEQ; /* -EAGAIN takes all */
		pos += used;
	}
	const struct perr *e = scws_framer_err(&f);
	bool ok = rc == r->rc && pos == r->used && g.data.len == strlen(r->body) &&
		  memcmp(g.data.p ? g.data.p : (uint8_t *)"", r->body, g.data.len) == 0;
	if (r->rc != 0 && r->rc != -EAGAIN)
		ok = ok && e->set && e->err == r->rc && e->status == r->status &&
		     strcmp(e->reason, r->reason) == 0;
	else
		ok = ok && !e->set;
	if (!ok)
		fprintf(stderr, "\n%s (cut %zu, step %zu): rc %d used %zu body %zu '%s'\n", r->name,
			cut, step, rc, pos, g.data.len, e->reason);
	unit_collect_cleanup(&g);
	return ok;
}

static void test_rows(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = strlen(rows[i].in);
		CU_ASSERT_TRUE(run_split(&rows[i], 0, 0));
		CU_ASSERT_TRUE(run_split(&rows[i], 0, 1));
		for (size_t cut = 1; cut < len; cut++)
			CU_ASSERT_TRUE(run_split(&rows[i], cut, 0));
	}
}

/* A callback's stop: its value, status 0 and no words; sticky. */
static void test_callback_stop(void)
{
	static const enum mode modes[] = { LENGTH, CHUNKED, UNTIL_CLOSE };
	for (size_t i = 0; i < 3; i++) {
		struct row r = { "stop", modes[i], 100, "", 0, "", 0, 0, "" };
		struct scws_framer f;
		struct unit_collect g;
		unit_collect_init(&g, 1024);
		g.fail_at = 1;
		start(&f, &r);
		const char *in = modes[i] == CHUNKED ? "3\r\nabc\r\n" : "abc";
		size_t used;
		CU_ASSERT_EQUAL(scws_framer_feed(&f, (const uint8_t *)in, strlen(in), &used,
						 unit_collect_data, &g),
				-ECANCELED);
		const struct perr *e = scws_framer_err(&f);
		CU_ASSERT_TRUE(e->set);
		CU_ASSERT_EQUAL(e->status, 0);
		CU_ASSERT_STRING_EQUAL(e->reason, "");
		CU_ASSERT_EQUAL(scws_framer_feed(&f, (const uint8_t *)"x", 1, &used,
						 unit_collect_data, &g),
				-ECANCELED);
		CU_ASSERT_EQUAL(used, 0);
		unit_collect_cleanup(&g);
	}
}

static void test_not_started(void)
{
	struct scws_framer f;
	memset(&f, 0, sizeof(f));
	size_t used = 99;
	CU_ASSERT_EQUAL(scws_framer_feed(&f, (const uint8_t *)"x", 1, &used, NULL, NULL), -EBADFD);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_EQUAL(scws_framer_err(&f)->status, 500);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_rows), UNIT_TEST(test_callback_stop), UNIT_TEST(test_not_started),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("scws_framer", tests);
}
