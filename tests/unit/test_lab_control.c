/* test_lab_control.c - unit tests for lab/control.c: request lines (JSON
 * and words) with the exact reasons given for bad ones, the command table's
 * checks, dispatch through the ops, the reply lines. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/control.h"
#include "lab/fault.h"
#include "runner.h"

struct json_case {
	const char *line;
	int rc;
	const char *words; /* argv joined by '|' when rc == 0; else a substring of err */
};

static const struct json_case json_cases[] = {
	{ "{\"cmd\":\"status\"}", 0, "status" },
	{ "  {\"cmd\" : \"card\", \"args\": [\"remove\"]}  ", 0, "card|remove" },
	{ "{\"args\":[\"set\",\"/tmp/a b.xml\"],\"cmd\":\"bootstrap\"}", 0,
	  "bootstrap|set|/tmp/a b.xml" },
	{ "{\"cmd\":\"status\",\"args\":[]}", 0, "status" },
	{ "{\"cmd\":\"status\",\"id\":{\"x\":[1]}}", 0, "status" },
	{ "{\"cmd\":\"caf\\u00e9\"}", 0, "caf\xc3\xa9" },
	{ "", -EINVAL, "not JSON" },
	{ "status", -EINVAL, "not JSON" },
	{ "{\"cmd\":\"status\"} {}", -EINVAL, "not JSON" },
	{ "[\"status\"]", -EINVAL, "a request is a JSON object" },
	{ "\"status\"", -EINVAL, "not JSON" },
	{ "{}", -EINVAL, "no \"cmd\"" },
	{ "{\"cmd\":1}", -EINVAL, "\"cmd\" is not a string" },
	{ "{\"cmd\":\"\"}", -EINVAL, "\"cmd\" is empty" },
	{ "{\"cmd\":\"a\\nb\"}", -EINVAL, "\"cmd\" holds a control character (byte 1)" },
	{ "{\"cmd\":\"a\\u0000b\"}", -EINVAL, "not JSON" },
	{ "{\"cmd\":\"status\",\"cmd\":\"card\"}", -EINVAL, "not JSON: duplicate" },
	{ "{\"cmd\":\"status\",\"x\":1}", -EINVAL, "unknown key \"x\" (cmd, args, id, card)" },
	{ "{\"cmd\":\"card\",\"args\":\"remove\"}", -EINVAL, "\"args\" is not an array" },
	{ "{\"cmd\":\"card\",\"args\":[\"remove\",2]}", -EINVAL, "args[1] is not a string" },
	{ "{\"cmd\":\"card\",\"args\":[\"\"]}", -EINVAL, "args[0] is empty" },
	{ "{\"cmd\":\"x\",\"args\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\","
	  "\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}",
	  -EINVAL, "more than 16 arguments" },
};

static void joined(const struct lab_request *r, char *out, size_t cap)
{
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < r->argc; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s%s", i ? "|" : "", r->argv[i]);
}

static void test_json_requests(void)
{
	for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
		const struct json_case *c = &json_cases[i];
		struct lab_request r;
		char err[256] = "";
		int rc = lab_request_parse_json(&r, c->line, strlen(c->line), err, sizeof(err));
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc == 0) {
			char got[512];
			joined(&r, got, sizeof(got));
			CU_ASSERT_STRING_EQUAL(got, c->words);
		} else {
			CU_ASSERT_EQUAL(r.argc, 0);
			if (!strstr(err, c->words))
				fprintf(stderr, "case %zu: '%s' not in '%s'\n", i, c->words, err);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, c->words));
		}
		lab_request_cleanup(&r);
	}
}

static void test_word_limits(void)
{
	/* A word of CONTROL_WORD_MAX - 1 bytes passes, one more fails. */
	char *line = malloc(CONTROL_WORD_MAX + 64);
	char err[256];
	struct lab_request r;
	for (size_t n = CONTROL_WORD_MAX - 1; n <= CONTROL_WORD_MAX; n++) {
		int off = snprintf(line, 64, "{\"cmd\":\"bootstrap\",\"args\":[\"set\",\"");
		memset(line + off, 'a', n);
		strcpy(line + off + n, "\"]}");
		int rc = lab_request_parse_json(&r, line, strlen(line), err, sizeof(err));
		CU_ASSERT_EQUAL(rc, n < CONTROL_WORD_MAX ? 0 : -EINVAL);
		if (rc)
			CU_ASSERT_STRING_EQUAL(err, "args[1] is over 1023 bytes");
		lab_request_cleanup(&r);
	}
	free(line);
	/* A line over CONTROL_LINE_MAX is refused before parsing. */
	CU_ASSERT_EQUAL(lab_request_parse_json(&r, "{}", CONTROL_LINE_MAX + 1, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "request over 65536 bytes");
}

static void test_words(void)
{
	struct lab_request r;
	char err[256], got[512];
	const char *t = " \tfault add  http-status 503\r";
	CU_ASSERT_EQUAL(lab_request_parse_words(&r, t, strlen(t), err, sizeof(err)), 0);
	joined(&r, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "fault|add|http-status|503");
	lab_request_cleanup(&r);
	CU_ASSERT_EQUAL(lab_request_parse_words(&r, "  \t", 3, err, sizeof(err)), -ENOMSG);
	CU_ASSERT_STRING_EQUAL(err, "no command");
	CU_ASSERT_EQUAL(lab_request_parse_words(&r, "card\x01 x", 8, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "the command holds a control character (byte 4)");
	/* Found by fuzz_control: a word that is not UTF-8 cannot go back out
	 * as JSON. */
	CU_ASSERT_EQUAL(lab_request_parse_words(&r, "card rem \xE3 x", 12, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "word 3 is not UTF-8");
	const char *many = "a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16";
	CU_ASSERT_EQUAL(lab_request_parse_words(&r, many, strlen(many), err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(r.argc, 17);
	lab_request_cleanup(&r);
	const char *more = "a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17";
	CU_ASSERT_EQUAL(lab_request_parse_words(&r, more, strlen(more), err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "more than 16 arguments");
	/* argv form and back to a JSON line */
	const char *argv[] = { "bootstrap", "set", "x\"y.xml" };
	CU_ASSERT_EQUAL(lab_request_from_argv(&r, 3, argv, err, sizeof(err)), 0);
	struct buf b;
	buf_init(&b, 4096);
	CU_ASSERT_EQUAL(lab_request_to_line(&r, &b), 0);
	CU_ASSERT_EQUAL(b.len,
			strlen("{\"cmd\":\"bootstrap\",\"args\":[\"set\",\"x\\\"y.xml\"]}\n"));
	CU_ASSERT_EQUAL(
		memcmp(b.p, "{\"cmd\":\"bootstrap\",\"args\":[\"set\",\"x\\\"y.xml\"]}\n", b.len),
		0);
	lab_request_cleanup(&r);
	struct lab_request back;
	CU_ASSERT_EQUAL(
		lab_request_parse_json(&back, (const char *)b.p, b.len - 1, err, sizeof(err)), 0);
	joined(&back, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "bootstrap|set|x\"y.xml");
	lab_request_cleanup(&back);
	buf_cleanup(&b);
	const char *empty[] = { "" };
	CU_ASSERT_EQUAL(lab_request_from_argv(&r, 1, empty, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "the command is empty");
}

struct check_case {
	const char *words;
	const char *err; /* NULL: accepted */
};

static const struct check_case check_cases[] = {
	{ "status", NULL },
	{ "status now", "usage: status" },
	{ "card remove", NULL },
	{ "card insert", NULL },
	{ "card reset", NULL },
	{ "card", "usage: card remove|insert|reset" },
	{ "card pull", "unknown 'card pull'; usage: card remove|insert|reset" },
	{ "card remove now", "usage: card remove|insert|reset" },
	{ "bootstrap off", NULL },
	{ "bootstrap on", NULL },
	{ "bootstrap set f.xml", NULL },
	{ "bootstrap set",
	  "usage: bootstrap set FILE [target=card|server|both] (an XML or WBXML file)" },
	{ "bootstrap on f.xml", "usage: bootstrap on [target=card|server|both]" },
	{ "bootstrap toggle", "unknown 'bootstrap toggle'; usage: bootstrap off|on|set FILE "
			      "[target=card|server|both]" },
	{ "bootstrap off target=server", NULL },
	{ "bootstrap on target=card", NULL },
	{ "bootstrap set f.xml target=both", NULL },
	{ "bootstrap off target=phone", "target= is card, server or both" },
	{ "bootstrap set target=card", "usage: bootstrap set FILE" },
	{ "bootstrap off target=card x", "usage: bootstrap off" },
	{ "reload", NULL },
	{ "reload now", "usage: reload" },
	{ "fault list", NULL },
	{ "fault list all", "usage: fault list (no argument)" },
	{ "fault clear", NULL },
	{ "fault clear 3", NULL },
	{ "fault clear 0", "usage: fault clear [ID]" },
	{ "fault clear x", "usage: fault clear [ID]" },
	{ "fault clear 1 2", "usage: fault clear [ID]" },
	{ "fault add", "usage: fault add KIND" },
	{ "fault add http-status 503 count=2", NULL },
	{ "fault add apdu-sw B0 6F00 after=1", NULL },
	{ "fault add http-status 99", "http-status: CODE must be 200-599, not '99'" },
	{ "fault add melt", "melt" },
	{ "fault break", "unknown 'fault break'; usage: fault add KIND" },
	{ "requests", NULL },
	{ "requests --since 12", NULL },
	{ "requests --since", "usage: requests [--since N]" },
	{ "requests --since -1", "a journal entry number" },
	{ "requests --since 1x", "a journal entry number" },
	{ "requests 12", "usage: requests [--since N]" },
	{ "report", NULL },
	{ "report now", "usage: report" },
	{ "eject",
	  "unknown command 'eject' (status, card, bootstrap, reload, fault, requests, report)" },
};

static void test_check(void)
{
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *c = &check_cases[i];
		struct lab_request r;
		char err[256] = "";
		CU_ASSERT_EQUAL_FATAL(
			lab_request_parse_words(&r, c->words, strlen(c->words), err, sizeof(err)),
			0);
		int rc = lab_control_check(&r, err, sizeof(err));
		if (!c->err) {
			CU_ASSERT_EQUAL(rc, 0);
		} else {
			CU_ASSERT_EQUAL(rc, -EINVAL);
			if (!strstr(err, c->err))
				fprintf(stderr, "'%s': '%s' not in '%s'\n", c->words, c->err, err);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, c->err));
		}
		lab_request_cleanup(&r);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(lab_control_usage(), "card remove|insert|reset\n"));
}

/* ---- dispatch through fake ops */

struct fake {
	char calls[512];
	int fail; /* the next op fails with this */
};

static void note(struct fake *f, const char *s)
{
	size_t off = strlen(f->calls);
	snprintf(f->calls + off, sizeof(f->calls) - off, "%s;", s);
}

static int fake_status(void *ctx, json_t *reply, char *err, size_t errcap)
{
	struct fake *f = ctx;
	note(f, "status");
	json_object_set_new(reply, "card", json_pack("{s:b}", "present", 1));
	return 0;
}

static int fake_card(void *ctx, enum lab_card_action a, json_t *reply, char *err, size_t errcap)
{
	struct fake *f = ctx;
	note(f, a == LAB_CARD_REMOVE ? "remove" : a == LAB_CARD_INSERT ? "insert" : "reset");
	if (f->fail) {
		snprintf(err, errcap, "the card is already out");
		return f->fail;
	}
	json_object_set_new(reply, "card", json_string("removed"));
	return 0;
}

static int fake_enable(void *ctx, bool on, json_t *reply, char *err, size_t errcap)
{
	note(ctx, on ? "on" : "off");
	return 0;
}

static int fake_set(void *ctx, const char *path, json_t *reply, char *err, size_t errcap)
{
	note(ctx, path);
	return 0;
}

static int fake_reload(void *ctx, json_t *reply, char *err, size_t errcap)
{
	note(ctx, "reload");
	return -EIO; /* no reason given: strerror */
}

static const struct lab_control_ops fake_ops = {
	.status = fake_status,
	.card = fake_card,
	.bootstrap_enable = fake_enable,
	.bootstrap_set = fake_set,
	.reload = fake_reload,
};

static void line_is(struct lab_control *c, const char *in, const char *want)
{
	struct buf out;
	buf_init(&out, 65536);
	CU_ASSERT_EQUAL(lab_control_line(c, in, strlen(in), &out), 0);
	CU_ASSERT_EQUAL(out.len, strlen(want));
	if (out.len != strlen(want) || memcmp(out.p, want, out.len))
		fprintf(stderr, "got %.*s want %s", (int)out.len, (const char *)out.p, want);
	else
		CU_ASSERT_EQUAL(memcmp(out.p, want, out.len), 0);
	buf_cleanup(&out);
}

static void test_dispatch(void)
{
	struct fake f = { "", 0 };
	struct lab_control c = { .ops = &fake_ops, .ctx = &f };
	line_is(&c, "{\"cmd\":\"status\",\"id\":3}",
		"{\"ok\":true,\"card\":{\"present\":true},\"id\":3}\n");
	line_is(&c, "{\"cmd\":\"card\",\"args\":[\"remove\"]}",
		"{\"ok\":true,\"card\":\"removed\"}\n");
	f.fail = -EALREADY;
	line_is(&c, "{\"cmd\":\"card\",\"args\":[\"insert\"],\"id\":\"a\"}",
		"{\"ok\":false,\"error\":\"the card is already out\",\"id\":\"a\"}\n");
	line_is(&c, "{\"cmd\":\"bootstrap\",\"args\":[\"off\"]}", "{\"ok\":true}\n");
	line_is(&c, "{\"cmd\":\"bootstrap\",\"args\":[\"set\",\"b.wbxml\"]}", "{\"ok\":true}\n");
	line_is(&c, "{\"cmd\":\"reload\"}", "{\"ok\":false,\"error\":\"Input/output error\"}\n");
	/* refused before any op runs */
	line_is(&c, "{\"cmd\":\"card\",\"args\":[\"pull\"],\"id\":1}",
		"{\"ok\":false,\"error\":\"unknown 'card pull'; usage: card remove|insert|reset\","
		"\"id\":1}\n");
	line_is(&c, "nonsense",
		"{\"ok\":false,\"error\":\"not JSON: '[' or '{' expected near "
		"'nonsense' (column 8)\"}\n");
	CU_ASSERT_STRING_EQUAL(f.calls, "status;remove;insert;off;b.wbxml;reload;");
	/* no ops: not available */
	struct lab_control none = { .ops = NULL };
	line_is(&none, "{\"cmd\":\"card\",\"args\":[\"reset\"]}",
		"{\"ok\":false,\"error\":\"'card' is not available in this process\"}\n");
	/* a reply that does not fit: an error line that does */
	struct buf small;
	buf_init(&small, 60);
	const char *in =
		"{\"cmd\":\"status\",\"id\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
	CU_ASSERT_EQUAL(lab_control_line(&c, in, strlen(in), &small), -EMSGSIZE);
	CU_ASSERT_EQUAL(small.len, 0);
	buf_cleanup(&small);
	struct buf out;
	buf_init(&out, 4096);
	CU_ASSERT_EQUAL(lab_control_error_line(&out, "line over 65536 bytes"), 0);
	CU_ASSERT_EQUAL(
		memcmp(out.p, "{\"ok\":false,\"error\":\"line over 65536 bytes\"}\n", out.len), 0);
	buf_cleanup(&out);
}

static void test_faults(void)
{
	struct fake f = { "", 0 };
	struct lab_faults *reg = lab_faults_new();
	struct lab_control c = { .ops = &fake_ops, .ctx = &f, .faults = reg };
	line_is(&c,
		"{\"cmd\":\"fault\",\"args\":[\"add\",\"http-status\",\"503\",\"count=2\"],\"id\":"
		"9}",
		"{\"ok\":true,\"fault\":1,\"id\":9}\n");
	line_is(&c, "{\"cmd\":\"fault\",\"args\":[\"add\",\"bip-drop\"]}",
		"{\"ok\":true,\"fault\":2}\n");
	struct buf out;
	buf_init(&out, 65536);
	const char *in = "{\"cmd\":\"status\"}";
	CU_ASSERT_EQUAL(lab_control_line(&c, in, strlen(in), &out), 0);
	json_t *v = json_loadb((const char *)out.p, out.len, 0, NULL);
	json_t *faults = json_object_get(v, "faults");
	CU_ASSERT_EQUAL(json_array_size(faults), 2);
	CU_ASSERT_STRING_EQUAL(
		json_string_value(json_object_get(json_array_get(faults, 0), "kind")),
		"http-status");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(faults, 0), "left")), 2);
	json_decref(v);
	buf_reset(&out);
	in = "{\"cmd\":\"fault\",\"args\":[\"list\"]}";
	CU_ASSERT_EQUAL(lab_control_line(&c, in, strlen(in), &out), 0);
	v = json_loadb((const char *)out.p, out.len, 0, NULL);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(v, "faults")), 2);
	json_decref(v);
	buf_cleanup(&out);
	line_is(&c, "{\"cmd\":\"fault\",\"args\":[\"clear\",\"1\"]}",
		"{\"ok\":true,\"cleared\":1}\n");
	line_is(&c, "{\"cmd\":\"fault\",\"args\":[\"clear\",\"1\"]}",
		"{\"ok\":false,\"error\":\"no fault 1 (see fault list)\"}\n");
	line_is(&c, "{\"cmd\":\"fault\",\"args\":[\"clear\"]}",
		"{\"ok\":true,\"cleared\":\"all\"}\n");
	line_is(&c, "{\"cmd\":\"fault\",\"args\":[\"list\"]}", "{\"ok\":true,\"faults\":[]}\n");
	CU_ASSERT_EQUAL(lab_faults_count(reg), 0);
	/* a bad fault is refused by the table, before the registry sees it */
	line_is(&c, "{\"cmd\":\"fault\",\"args\":[\"add\",\"http-status\",\"700\"]}",
		"{\"ok\":false,\"error\":\"http-status: CODE must be 200-599, not '700'\"}\n");
	CU_ASSERT_EQUAL(lab_faults_count(reg), 0);
	lab_faults_free(reg);
	/* without a registry: not available */
	struct lab_control none = { .ops = &fake_ops, .ctx = &f };
	line_is(&none, "{\"cmd\":\"fault\",\"args\":[\"list\"]}",
		"{\"ok\":false,\"error\":\"'fault' is not available in this process\"}\n");
}

/* ---- a rack: the request's "card" picks the processor */

struct rack {
	struct lab_control cards[2];
	struct fake f[2];
	struct lab_control self;
	struct fake all;
};

/* select gets the processor's ctx (here the fake its ops act on): the
 * rack is found through this instead. */
static struct rack *the_rack;

static struct lab_control *rack_pick(void *ctx, const char *card, bool all, char *err,
				     size_t errcap)
{
	struct rack *r = the_rack;
	(void)ctx;
	if (!strcmp(card, "alpha"))
		return &r->cards[0];
	if (!strcmp(card, "beta"))
		return &r->cards[1];
	if (card[0]) {
		snprintf(err, errcap, "no card named '%s'", card);
		return NULL;
	}
	if (all)
		return &r->self;
	snprintf(err, errcap, "2 cards: name one");
	return NULL;
}

static void test_rack(void)
{
	struct rack r;
	memset(&r, 0, sizeof(r));
	the_rack = &r;
	for (int i = 0; i < 2; i++)
		r.cards[i] = (struct lab_control){ .ops = &fake_ops, .ctx = &r.f[i] };
	r.self = (struct lab_control){ .ops = &fake_ops, .ctx = &r.all, .select = rack_pick };
	struct lab_control *c = &r.self;
	line_is(c, "{\"cmd\":\"card\",\"args\":[\"remove\"],\"card\":\"beta\"}",
		"{\"ok\":true,\"card\":\"removed\"}\n");
	CU_ASSERT_STRING_EQUAL(r.f[1].calls, "remove;");
	CU_ASSERT_STRING_EQUAL(r.f[0].calls, "");
	line_is(c, "{\"cmd\":\"card\",\"args\":[\"reset\"],\"card\":\"alpha\",\"id\":1}",
		"{\"ok\":true,\"card\":\"removed\",\"id\":1}\n");
	CU_ASSERT_STRING_EQUAL(r.f[0].calls, "reset;");
	/* no card named: status speaks for the rack, other commands are refused */
	line_is(c, "{\"cmd\":\"status\"}", "{\"ok\":true,\"card\":{\"present\":true}}\n");
	CU_ASSERT_STRING_EQUAL(r.all.calls, "status;");
	line_is(c, "{\"cmd\":\"reload\"}", "{\"ok\":false,\"error\":\"2 cards: name one\"}\n");
	line_is(c, "{\"cmd\":\"status\",\"card\":\"gamma\"}",
		"{\"ok\":false,\"error\":\"no card named 'gamma'\"}\n");
	/* "card" is a card name, a string */
	line_is(c, "{\"cmd\":\"status\",\"card\":7}",
		"{\"ok\":false,\"error\":\"\\\"card\\\" is not a string\"}\n");
	line_is(c, "{\"cmd\":\"status\",\"card\":\"a b\"}",
		"{\"ok\":false,\"error\":\"card 'a b': a card name is 1 to 63 of A-Z a-z 0-9 . _ "
		"-\"}\n");
	/* a processor without a rack refuses a request naming a card */
	line_is(&r.cards[0], "{\"cmd\":\"status\",\"card\":\"alpha\"}",
		"{\"ok\":false,\"error\":\"this process runs no rack of cards: no \\\"card\\\" "
		"(alpha)\"}\n");
	/* scwsemu-ctl --card: the request line carries it */
	struct lab_request q;
	char err[256];
	const char *argv[] = { "card", "insert" };
	CU_ASSERT_EQUAL(lab_request_from_argv(&q, 2, argv, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(lab_request_set_card(&q, "beta", err, sizeof(err)), 0);
	CU_ASSERT_NOT_EQUAL(lab_request_set_card(&q, "../x", err, sizeof(err)), 0);
	struct buf out;
	buf_init(&out, 4096);
	CU_ASSERT_EQUAL(lab_request_to_line(&q, &out), 0);
	const char *want = "{\"cmd\":\"card\",\"args\":[\"insert\"],\"card\":\"beta\"}\n";
	CU_ASSERT_EQUAL(out.len, strlen(want));
	CU_ASSERT_EQUAL(memcmp(out.p, want, out.len < strlen(want) ? out.len : strlen(want)), 0);
	buf_cleanup(&out);
	lab_request_cleanup(&q);
}

/* Found by fuzz_control: an error message quotes the client's word cut at
 * 64 bytes ("'%.64s'"); cut inside a multi-byte character it was not
 * UTF-8, jansson refused the reply and the client got no line at all.
 * Every split point of a 2-, 3- and 4-byte character across the cut. */
static void test_error_cut_in_a_character(void)
{
	static const char *const chars[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };
	struct lab_control none = { .ops = NULL };
	for (size_t k = 0; k < sizeof(chars) / sizeof(chars[0]); k++) {
		size_t clen = strlen(chars[k]);
		for (size_t pad = 64 - clen + 1; pad < 64; pad++) {
			char word[128], line[256];
			memset(word, 'a', pad);
			memcpy(word + pad, chars[k], clen);
			strcpy(word + pad + clen, "zz");
			/* the words form and the JSON form, and a JSON key */
			struct lab_request r;
			char err[512];
			CU_ASSERT_EQUAL_FATAL(
				lab_request_parse_words(&r, word, strlen(word), err, sizeof(err)),
				0);
			json_t *reply = lab_control_run(&none, &r);
			CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
			const char *e = json_string_value(json_object_get(reply, "error"));
			CU_ASSERT_PTR_NOT_NULL_FATAL(e);
			CU_ASSERT_EQUAL(strncmp(e, "unknown command 'aaaa", 21), 0);
			/* the broken character's bytes are '?', the rest is kept */
			CU_ASSERT_PTR_NOT_NULL(strstr(e, "?' (status, card,"));
			json_decref(reply);
			lab_request_cleanup(&r);
			snprintf(line, sizeof(line), "{\"cmd\":\"%s\"}", word);
			struct buf out;
			buf_init(&out, 4096);
			CU_ASSERT_EQUAL(lab_control_line(&none, line, strlen(line), &out), 0);
			CU_ASSERT_TRUE(out.len > 0 && out.p[out.len - 1] == '\n');
			json_t *v = json_loadb((const char *)out.p, out.len, 0, NULL);
			CU_ASSERT_TRUE(json_is_false(json_object_get(v, "ok")));
			json_decref(v);
			buf_reset(&out);
			snprintf(line, sizeof(line), "{\"cmd\":\"status\",\"%s\":1}", word);
			CU_ASSERT_EQUAL(lab_control_line(&none, line, strlen(line), &out), 0);
			v = json_loadb((const char *)out.p, out.len, 0, NULL);
			CU_ASSERT_PTR_NOT_NULL(
				strstr(json_string_value(json_object_get(v, "error")),
				       "?\" (cmd, args, id, card)"));
			json_decref(v);
			buf_cleanup(&out);
		}
	}
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_json_requests),
		UNIT_TEST(test_word_limits),
		UNIT_TEST(test_words),
		UNIT_TEST(test_check),
		UNIT_TEST(test_dispatch),
		UNIT_TEST(test_faults),
		UNIT_TEST(test_rack),
		UNIT_TEST(test_error_cut_in_a_character),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("lab_control", tests);
}
