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
	uint64_t arg; /* LENGTH: the length; CHUNKED: max */
	const char *in;
	int rc; /* after the whole input */
	const char *body;
	size_t used; /* bytes taken in all */
	int status;  /* of an error */
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
		CU_ASSERT_EQUAL(
			scws_framer_feed(&f, (const uint8_t *)"x", 1, &used, unit_collect_data, &g),
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

/* ---------------------------------------------------------------- the feed loop
 * A toy parser on scws_framer_drive(): a head is one digit N and ':' (N
 * body bytes follow; '0' means none), and a '!' head is interim (another
 * head follows). Messages back to back, fed at every split point, must
 * give the same bodies and end where the last message ends. */
struct toy {
	struct scws_framer f;
	enum scws_msg_phase ph;
	char head[2];
	size_t have;
	struct unit_collect body;
	int heads;
};

static enum scws_msg_phase toy_phase(const void *arg)
{
	return ((const struct toy *)arg)->ph;
}

static int toy_head(void *arg, const uint8_t *in, size_t len, size_t *n)
{
	struct toy *t = arg;
	*n = 0;
	while (*n < len && t->have < 2)
		t->head[t->have++] = (char)in[(*n)++];
	if (t->have < 2)
		return -EAGAIN;
	t->have = 0;
	t->heads++;
	if (t->head[0] == '!')
		return 0; /* interim: still a head */
	if (t->head[0] < '0' || t->head[0] > '9' || t->head[1] != ':')
		return -EPROTO;
	if (t->head[0] == '0') {
		t->ph = SCWS_MSG_DONE;
	} else {
		t->ph = SCWS_MSG_BODY;
		scws_framer_length(&t->f, (uint64_t)(t->head[0] - '0'));
	}
	return 0;
}

static int toy_body_end(void *arg, int rc)
{
	struct toy *t = arg;
	if (rc == 0)
		t->ph = SCWS_MSG_DONE;
	return rc;
}

static int toy_data(void *arg, const uint8_t *data, size_t len)
{
	return unit_collect_data(&((struct toy *)arg)->body, data, len);
}

static const struct scws_msg_ops toy_ops = {
	.phase = toy_phase,
	.head = toy_head,
	.body_end = toy_body_end,
	.on_data = toy_data,
};

/* Feeds `in` cut at `cut` (0: whole), restarting after each message;
 * the bodies joined with '|', and the last result. */
static int toy_run(const char *in, size_t cut, struct toy *t)
{
	size_t len = strlen(in), pos = 0;
	int rc = -EAGAIN;
	memset(t, 0, sizeof(*t));
	unit_collect_init(&t->body, 64);
	while (pos < len) {
		size_t end = cut && pos < cut && cut < len ? cut : len;
		size_t used = 0;
		rc = scws_framer_drive(&t->f, &toy_ops, t, (const uint8_t *)in + pos, end - pos,
				       &used);
		pos += used;
		if (rc == 0) {
			toy_data(t, (const uint8_t *)"|", 1);
			t->ph = SCWS_MSG_HEAD;
			continue;
		}
		if (rc != -EAGAIN || (used == 0 && end == len))
			break;
	}
	return rc;
}

static void test_drive(void)
{
	static const char in[] = "3:abc0:!!2:de";
	struct toy whole;
	CU_ASSERT_EQUAL(toy_run(in, 0, &whole), 0);
	CU_ASSERT_EQUAL(whole.heads, 4);
	CU_ASSERT_EQUAL(whole.body.data.len, 8);
	CU_ASSERT_TRUE(whole.body.data.len == 8 && memcmp(whole.body.data.p, "abc||de|", 8) == 0);
	for (size_t cut = 1; cut < sizeof(in) - 1; cut++) {
		struct toy t;
		CU_ASSERT_EQUAL(toy_run(in, cut, &t), 0);
		CU_ASSERT_EQUAL(t.heads, 4);
		CU_ASSERT_EQUAL(t.body.data.len, whole.body.data.len);
		CU_ASSERT_TRUE(t.body.data.len == whole.body.data.len &&
			       memcmp(t.body.data.p, whole.body.data.p, t.body.data.len) == 0);
		unit_collect_cleanup(&t.body);
	}
	unit_collect_cleanup(&whole.body);
	struct toy bad;
	CU_ASSERT_EQUAL(toy_run("1:xZZ", 0, &bad), -EPROTO);
	unit_collect_cleanup(&bad.body);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_rows),        UNIT_TEST(test_callback_stop),
		UNIT_TEST(test_not_started), UNIT_TEST(test_drive),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("scws_framer", tests);
}
