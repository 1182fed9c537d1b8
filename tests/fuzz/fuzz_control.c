/* fuzz_control.c - fuzz target for the control protocol (src/lab/control.c).
 *
 * Input: byte 0 picks the form (even: a JSON request line, odd: words as
 * in a scenario file; with bit 2 set, the rest is a whole scenario file
 * for lab/scenario.c), the rest is the line. The request is parsed, checked
 * against the command table and run through ops that record the call and
 * answer from byte 0 (success or an error with a reason). Checks: a parsed
 * request has 1..CONTROL_ARGS_MAX+1 words, each non-empty, shorter than
 * CONTROL_WORD_MAX and free of control characters; a JSON request survives
 * lab_request_to_line() and parses back to the same words; every reply is
 * exactly one line of a JSON object with a boolean "ok", and "error" a
 * string when ok is false; an op runs exactly for a request the table
 * accepted (fault commands go to a registry instead: an accepted
 * `fault add` is armed there, the table's check and the registry agree). */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/control.h"
#include "lab/fault.h"
#include "lab/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int op_result;
static unsigned op_calls;

static int answer(json_t *reply, char *err, size_t errcap)
{
	op_calls++;
	if (op_result) {
		snprintf(err, errcap, "refused");
		return op_result;
	}
	json_object_set_new(reply, "done", json_true());
	return 0;
}

static int f_status(void *ctx, json_t *reply, char *err, size_t errcap)
{
	return answer(reply, err, errcap);
}

static int f_card(void *ctx, enum lab_card_action a, json_t *reply, char *err, size_t errcap)
{
	if (a != LAB_CARD_REMOVE && a != LAB_CARD_INSERT && a != LAB_CARD_RESET)
		abort();
	return answer(reply, err, errcap);
}

static int f_enable(void *ctx, bool on, json_t *reply, char *err, size_t errcap)
{
	return answer(reply, err, errcap);
}

static int f_set(void *ctx, const char *path, json_t *reply, char *err, size_t errcap)
{
	if (!path || !*path)
		abort();
	return answer(reply, err, errcap);
}

static int f_reload(void *ctx, json_t *reply, char *err, size_t errcap)
{
	return answer(reply, err, errcap);
}

static int f_bootstrap_at(void *ctx, enum lab_fault_target t, const char *action, const char *path,
			  json_t *reply, char *err, size_t errcap)
{
	if (t != LAB_TARGET_ANY && t != LAB_TARGET_CARD && t != LAB_TARGET_SERVER)
		abort();
	if (strcmp(action, "on") && strcmp(action, "off") && strcmp(action, "set"))
		abort();
	if (!strcmp(action, "set") != (path != NULL) || (path && !*path))
		abort();
	return answer(reply, err, errcap);
}

static int f_requests(void *ctx, unsigned long long since, json_t *reply, char *err, size_t errcap)
{
	return answer(reply, err, errcap);
}

static int f_report(void *ctx, json_t *reply, char *err, size_t errcap)
{
	return answer(reply, err, errcap);
}

/* Every op the table can reach: a command the table accepts always runs
 * its op (a missing op would answer "not available" and the check below
 * could not tell a refused request from an accepted one). */
static const struct lab_control_ops ops = {
	.status = f_status,
	.card = f_card,
	.bootstrap_enable = f_enable,
	.bootstrap_set = f_set,
	.reload = f_reload,
	.bootstrap_at = f_bootstrap_at,
	.requests = f_requests,
	.report = f_report,
};

static void check_words(const struct lab_request *r)
{
	if (r->argc < 1 || r->argc > CONTROL_ARGS_MAX + 1)
		abort();
	for (size_t i = 0; i < r->argc; i++) {
		size_t n = strlen(r->argv[i]);
		if (n == 0 || n >= CONTROL_WORD_MAX)
			abort();
		for (size_t j = 0; j < n; j++)
			if ((unsigned char)r->argv[i][j] < 0x20 || r->argv[i][j] == 0x7F)
				abort();
	}
}

static void check_reply_line(const struct buf *out)
{
	if (out->len == 0 || out->p[out->len - 1] != '\n' ||
	    memchr(out->p, '\n', out->len) != out->p + out->len - 1)
		abort();
	json_error_t jerr;
	json_t *v = json_loadb((const char *)out->p, out->len - 1, 0, &jerr);
	if (!v || !json_is_object(v))
		abort();
	json_t *ok = json_object_get(v, "ok");
	if (!json_is_boolean(ok))
		abort();
	if (json_is_false(ok) && !json_is_string(json_object_get(v, "error")))
		abort();
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 4) {
		/* A scenario file: every step is a checked request; the runner
		 * gives each step once, in order. */
		struct lab_scenario *sc = NULL;
		char err[512];
		if (lab_scenario_parse("f", (const char *)data + 1, size - 1, &sc, err,
				       sizeof(err)) != 0) {
			if (sc || strncmp(err, "f:", 2))
				abort();
			return 0;
		}
		unsigned last = 0;
		for (size_t i = 0; i < sc->n_steps; i++) {
			check_words(&sc->steps[i].req);
			if (lab_control_check(&sc->steps[i].req, err, sizeof(err)) != 0 ||
			    sc->steps[i].line <= last)
				abort();
			last = sc->steps[i].line;
		}
		size_t ran = 0;
		while (lab_scenario_due(sc, UINT64_MAX, UINT64_MAX))
			ran++;
		if (ran != sc->n_steps || !lab_scenario_done(sc))
			abort();
		lab_scenario_free(sc);
		return 0;
	}
	bool words = data[0] & 1;
	op_result = (data[0] & 2) ? -EIO : 0;
	const char *line = (const char *)data + 1;
	size_t len = size - 1;
	struct lab_request r;
	char err[512];
	int rc = words ? lab_request_parse_words(&r, line, len, err, sizeof(err))
		       : lab_request_parse_json(&r, line, len, err, sizeof(err));
	if (rc == 0) {
		check_words(&r);
		struct buf b;
		buf_init(&b, CONTROL_LINE_MAX * 8);
		if (lab_request_to_line(&r, &b) != 0)
			abort();
		struct lab_request back;
		if (lab_request_parse_json(&back, (const char *)b.p, b.len - 1, err, sizeof(err)) !=
			    0 ||
		    back.argc != r.argc)
			abort();
		for (size_t i = 0; i < r.argc; i++)
			if (strcmp(back.argv[i], r.argv[i]))
				abort();
		lab_request_cleanup(&back);
		buf_cleanup(&b);
		bool accepted = lab_control_check(&r, err, sizeof(err)) == 0;
		struct lab_faults *reg = lab_faults_new();
		struct lab_control c = { .ops = &ops, .faults = reg };
		unsigned before = op_calls;
		json_t *reply = lab_control_run(&c, &r);
		bool fault = !strcmp(r.argv[0], "fault");
		if (!reply || !reg || (!fault && (op_calls != before) != accepted))
			abort();
		if (fault && accepted && r.argc > 2 && !strcmp(r.argv[1], "add") &&
		    (!json_is_true(json_object_get(reply, "ok")) || lab_faults_count(reg) != 1))
			abort();
		if (fault && !accepted && lab_faults_count(reg) != 0)
			abort();
		json_decref(reply);
		lab_faults_free(reg);
	} else if (r.argc != 0 || !err[0]) {
		abort();
	}
	lab_request_cleanup(&r);
	if (!words) {
		struct lab_control c = { .ops = &ops };
		struct buf out;
		buf_init(&out, CONTROL_LINE_MAX * 8);
		if (lab_control_line(&c, line, len, &out) != 0)
			abort();
		check_reply_line(&out);
		buf_cleanup(&out);
	}
	return 0;
}
