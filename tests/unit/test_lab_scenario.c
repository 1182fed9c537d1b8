/* test_lab_scenario.c - unit tests for lab/scenario.c: the file format
 * (conditions, comments, blank lines) with the exact file:line reasons,
 * and the runner's order, at= and after-requests= conditions. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/scenario.h"
#include "runner.h"

static struct lab_scenario *parse_ok(const char *text)
{
	struct lab_scenario *sc = NULL;
	char err[256] = "";
	int rc = lab_scenario_parse("s.txt", text, strlen(text), &sc, err, sizeof(err));
	if (rc)
		fprintf(stderr, "unexpected: %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	return sc;
}

static void test_format(void)
{
	const char *text = "# a story\n"
			   "\n"
			   "   after-requests=1   card remove  # the handset fetched once\n"
			   "at=3 card insert\r\n"
			   "at=4.25\tbootstrap off\n"
			   "fault add http-status 503 count=2\n"
			   "bootstrap set /tmp/a#b.xml # a comment";
	struct lab_scenario *sc = parse_ok(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
	CU_ASSERT_EQUAL_FATAL(sc->n_steps, 5);
	CU_ASSERT_EQUAL(sc->steps[0].line, 3);
	CU_ASSERT_EQUAL(sc->steps[0].when, LAB_STEP_AFTER_REQUESTS);
	CU_ASSERT_EQUAL(sc->steps[0].requests, 1);
	CU_ASSERT_EQUAL(sc->steps[0].req.argc, 2);
	CU_ASSERT_STRING_EQUAL(sc->steps[0].req.argv[1], "remove");
	CU_ASSERT_EQUAL(sc->steps[1].when, LAB_STEP_AT);
	CU_ASSERT_EQUAL(sc->steps[1].at_ms, 3000);
	CU_ASSERT_EQUAL(sc->steps[2].at_ms, 4250);
	CU_ASSERT_EQUAL(sc->steps[3].when, LAB_STEP_NOW);
	CU_ASSERT_EQUAL(sc->steps[3].req.argc, 5);
	CU_ASSERT_EQUAL(sc->steps[4].line, 7);
	CU_ASSERT_EQUAL(sc->steps[4].req.argc, 3);
	CU_ASSERT_STRING_EQUAL(sc->steps[4].req.argv[2], "/tmp/a#b.xml");
	lab_scenario_free(sc);
	/* empty file, comments only: no step */
	sc = parse_ok("# nothing\n\n   \n");
	CU_ASSERT_EQUAL(sc->n_steps, 0);
	CU_ASSERT_TRUE(lab_scenario_done(sc));
	CU_ASSERT_EQUAL(lab_scenario_wait_ms(sc, 0), -1);
	lab_scenario_free(sc);
}

struct bad {
	const char *text;
	const char *err;
};

static const struct bad bad_cases[] = {
	{ "status\nat=x card remove\n",
	  "s.txt:2: at=x: at=SECONDS, 0 to 86400, at most 3 decimals" },
	{ "at=1.2345 status", "s.txt:1: at=1.2345: at=SECONDS" },
	{ "at=1. status", "s.txt:1: at=1.: at=SECONDS" },
	{ "at=86401 status", "s.txt:1: at=86401: at=SECONDS" },
	{ "at= status", "s.txt:1: at=: at=SECONDS" },
	{ "after-requests=-1 status", "s.txt:1: after-requests=-1: after-requests=N" },
	{ "after-requests= status", "s.txt:1: after-requests=: after-requests=N" },
	{ "sleep=1 status",
	  "s.txt:1: unknown condition 'sleep=' (at=SECONDS, after-requests=N, card=NAME)" },
	{ "\n\nat=3\n", "s.txt:3: a condition without a command" },
	{ "at=3 # later\n", "s.txt:1: a condition without a command" },
	{ "card pull\n", "s.txt:1: unknown 'card pull'; usage: card remove|insert|reset" },
	{ "eject", "s.txt:1: unknown command 'eject'" },
	{ "fault add http-status 700", "s.txt:1: http-status: CODE must be 200-599, not '700'" },
	{ "status\n\nbootstrap set\n", "s.txt:3: usage: bootstrap set FILE" },
	{ "status\x01\n", "s.txt:1: the command holds a control character" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct lab_scenario *sc = (void *)1;
		char err[256] = "";
		int rc = lab_scenario_parse("s.txt", bad_cases[i].text, strlen(bad_cases[i].text),
					    &sc, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_PTR_NULL(sc);
		if (strncmp(err, bad_cases[i].err, strlen(bad_cases[i].err)))
			fprintf(stderr, "case %zu: got '%s' want '%s'\n", i, err, bad_cases[i].err);
		CU_ASSERT_EQUAL(strncmp(err, bad_cases[i].err, strlen(bad_cases[i].err)), 0);
	}
	/* a NUL byte */
	struct lab_scenario *sc;
	char err[256];
	/* card=NAME: the card of a rack a step is for */
	const char *rack = "at=1 card=beta card remove\ncard=alpha status\nstatus\n";
	CU_ASSERT_EQUAL(lab_scenario_parse("r.txt", rack, strlen(rack), &sc, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(sc->n_steps, 3);
	CU_ASSERT_STRING_EQUAL(sc->steps[0].req.card, "beta");
	CU_ASSERT_STRING_EQUAL(sc->steps[0].req.argv[0], "card");
	CU_ASSERT_STRING_EQUAL(sc->steps[0].req.argv[1], "remove");
	CU_ASSERT_EQUAL(sc->steps[0].at_ms, 1000);
	CU_ASSERT_STRING_EQUAL(sc->steps[1].req.card, "alpha");
	CU_ASSERT_STRING_EQUAL(sc->steps[2].req.card, "");
	lab_scenario_free(sc);
	CU_ASSERT_EQUAL(lab_scenario_parse("r.txt", "card= status\n", 13, &sc, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "r.txt:1: card=NAME: a card name of 1 to 63 characters");
	CU_ASSERT_EQUAL(lab_scenario_parse("r.txt", "card=a/b status\n", 16, &sc, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err,
			       "r.txt:1: card 'a/b': a card name is 1 to 63 of A-Z a-z 0-9 . _ -");
	CU_ASSERT_EQUAL(lab_scenario_parse("s.txt", "status\n\0x\n", 9, &sc, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "s.txt:2: a NUL byte: not a text file");
	/* too many steps */
	size_t n = SCENARIO_STEPS_MAX + 1;
	char *big = malloc(n * 7 + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(big + i * 7, "status\n", 7);
	big[n * 7] = 0;
	CU_ASSERT_EQUAL(lab_scenario_parse("s.txt", big, n * 7, &sc, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "s.txt:1025: more than 1024 steps");
	CU_ASSERT_EQUAL(lab_scenario_parse("s.txt", big, (n - 1) * 7, &sc, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(sc->n_steps, SCENARIO_STEPS_MAX);
	lab_scenario_free(sc);
	free(big);
	/* a missing file */
	CU_ASSERT_EQUAL(lab_scenario_load("/nonexistent/s.txt", &sc, err, sizeof(err)), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "/nonexistent/s.txt: No such file or directory");
}

static void test_runner(void)
{
	struct lab_scenario *sc = parse_ok("after-requests=1 card remove\n"
					   "at=3 card insert\n"
					   "status\n"
					   "at=1 bootstrap off\n"
					   "after-requests=2 bootstrap on\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
	/* waits for one request, whatever the time */
	CU_ASSERT_PTR_NULL(lab_scenario_due(sc, 10000, 0));
	CU_ASSERT_EQUAL(lab_scenario_wait_ms(sc, 10000), -1);
	const struct lab_step *st = lab_scenario_due(sc, 100, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(st->line, 1);
	/* then at=3: 2.9 s to wait at 100 ms, requests do not matter */
	CU_ASSERT_PTR_NULL(lab_scenario_due(sc, 100, 50));
	CU_ASSERT_EQUAL(lab_scenario_wait_ms(sc, 100), 2900);
	st = lab_scenario_due(sc, 3000, 1);
	CU_ASSERT_EQUAL(st ? st->line : 0, 2);
	/* no condition: at once; an at= already past: at once, in file order */
	CU_ASSERT_EQUAL(lab_scenario_wait_ms(sc, 3000), 0);
	st = lab_scenario_due(sc, 3000, 1);
	CU_ASSERT_EQUAL(st ? st->line : 0, 3);
	st = lab_scenario_due(sc, 3000, 1);
	CU_ASSERT_EQUAL(st ? st->line : 0, 4);
	CU_ASSERT_PTR_NULL(lab_scenario_due(sc, 3000, 1));
	CU_ASSERT_FALSE(lab_scenario_done(sc));
	st = lab_scenario_due(sc, 3001, 2);
	CU_ASSERT_EQUAL(st ? st->line : 0, 5);
	CU_ASSERT_TRUE(lab_scenario_done(sc));
	CU_ASSERT_PTR_NULL(lab_scenario_due(sc, 99999, 99));
	CU_ASSERT_EQUAL(lab_scenario_wait_ms(sc, 0), -1);
	lab_scenario_free(sc);
	lab_scenario_free(NULL);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_format),
		UNIT_TEST(test_errors),
		UNIT_TEST(test_runner),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("lab_scenario", tests);
}
