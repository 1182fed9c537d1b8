/* control.h - the control protocol of a running scwsemu, sans-I/O
 * (`scwsemu --control PATH`, `scwsemu-ctl`, `--scenario FILE`).
 *
 * A request is one JSON object on one line:
 *
 *	{"cmd": "card", "args": ["remove"], "id": 7}
 *
 * "cmd" (a string) names the command, "args" (an array of strings,
 * optional) its words, "id" (any JSON value, optional) is echoed in the
 * reply, "card" (a string, optional) names the card of a rack the command
 * is for (scwsemu --card NAME=DIR). Any other key is an error. The reply is one JSON object on one
 * line: {"ok": true, ...} with what the command reports, or {"ok": false,
 * "error": "one line"}. The same request can be written as words
 * ("card remove"): scenario files and scwsemu-ctl's command line.
 *
 * Commands are rows of a table (name, usage, argument check, handler; see
 * control.c): adding one is adding a row. Handlers act on the daemon
 * through struct lab_control_ops, which main.c provides, so this layer
 * holds no socket, timer or daemon object. A NULL op answers "not
 * available" (e.g. `card` when the process runs no card).
 *
 * Bounds: a line is at most CONTROL_LINE_MAX bytes (the transport answers
 * longer ones with lab_control_error_line() and drops the client), at most
 * CONTROL_ARGS_MAX words after the command, each shorter than
 * CONTROL_WORD_MAX, no control characters. */
#ifndef SCWS_LAB_CONTROL_H
#define SCWS_LAB_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/limits.h"
#include "lab/fault.h"

struct lab_faults;

/* A parsed request. argv[0] is the command; argv[1..argc-1] its words. */
struct lab_request {
	size_t argc; /* 1..CONTROL_ARGS_MAX + 1 once parsed */
	const char *argv[CONTROL_ARGS_MAX + 1];
	json_t *id;                  /* the request's "id" (owned reference), or NULL */
	char *mem;                   /* the words, back to back (owned) */
	char card[PROFILE_NAME_MAX]; /* the request's "card"; "" when none */
};

/* Sets r->card (a card name: [A-Za-z0-9._-]); 0 or -EINVAL with a reason. */
__attribute__((warn_unused_result)) int lab_request_set_card(struct lab_request *r,
							     const char *name, char *err,
							     size_t errcap);

/* One JSON request line (without its newline). 0, or -EINVAL with a
 * one-line reason in err (r is then empty). Clean up r in both cases. */
__attribute__((warn_unused_result)) int lab_request_parse_json(struct lab_request *r,
							       const char *line, size_t len,
							       char *err, size_t errcap);
/* The same request as words separated by blanks ("fault add http-status
 * 503"); no quoting. 0, or -EINVAL with a reason (-ENOMSG: no word). */
__attribute__((warn_unused_result)) int lab_request_parse_words(struct lab_request *r,
								const char *text, size_t len,
								char *err, size_t errcap);
/* From an argv vector (scwsemu-ctl): the same checks. */
__attribute__((warn_unused_result)) int lab_request_from_argv(struct lab_request *r, size_t argc,
							      const char *const *argv, char *err,
							      size_t errcap);
/* The request as a JSON line (with the newline) appended to out: what
 * scwsemu-ctl sends. 0 or a negative errno. */
__attribute__((warn_unused_result)) int lab_request_to_line(const struct lab_request *r,
							    struct buf *out);
void lab_request_cleanup(struct lab_request *r);

enum lab_card_action { LAB_CARD_REMOVE, LAB_CARD_INSERT, LAB_CARD_RESET };

/* A bootstrap command's target= (lab/fault.h's enum): the card's SCWS, the
 * Bootstrap Servers (--bootstrap-server), or both (ANY, the default). */

/* What the daemon does for the commands. Each returns 0 after adding what
 * it reports to reply (an object that already holds "ok": true), or a
 * negative errno with a one-line reason in err (the reply is then
 * {"ok": false, "error": err}). A NULL op: the command is not available. */
struct lab_control_ops {
	/* status: card, bootstrap, channels, connections, responses, apdus. */
	int (*status)(void *ctx, json_t *reply, char *err, size_t errcap);
	int (*card)(void *ctx, enum lab_card_action a, json_t *reply, char *err, size_t errcap);
	/* bootstrap off|on: the endpoint answers 404 while off. */
	int (*bootstrap_enable)(void *ctx, bool on, json_t *reply, char *err, size_t errcap);
	/* bootstrap set FILE (the path as given). */
	int (*bootstrap_set)(void *ctx, const char *path, json_t *reply, char *err, size_t errcap);
	/* reload: as SIGHUP. */
	int (*reload)(void *ctx, json_t *reply, char *err, size_t errcap);
	/* bootstrap off|on|set FILE target=card|server|both: action is "off",
	 * "on" or "set" (path the FILE, NULL otherwise). When NULL, a target=
	 * word is "not available" and the two ops above serve "both". */
	int (*bootstrap_at)(void *ctx, enum lab_fault_target t, const char *action,
			    const char *path, json_t *reply, char *err, size_t errcap);
	/* requests [--since N]: the journal entries numbered above since. */
	int (*requests)(void *ctx, unsigned long long since, json_t *reply, char *err,
			size_t errcap);
	/* report: the verdicts as they stand (the --report files rewritten). */
	int (*report)(void *ctx, json_t *reply, char *err, size_t errcap);
};

/* A command processor: what the handlers reach. All borrowed. */
struct lab_control {
	const struct lab_control_ops *ops;
	void *ctx;
	struct lab_faults *faults; /* NULL: fault commands are not available */
	/* A rack of cards: the processor of the card a request is for. card is
	 * the request's "card" ("" when it names none); all is true when the
	 * command may speak for every card at once (status). Returns the
	 * card's processor, or this one to run the command here (all cards),
	 * or NULL with a one-line reason in err (no such card; several cards
	 * and none named). NULL select: a request naming a card is refused. */
	struct lab_control *(*select)(void *ctx, const char *card, bool all, char *err,
				      size_t errcap);
};

/* The command table's verdict on r without running it (scenario files are
 * checked at start-up): 0, or -EINVAL with "usage: ..." or the reason. */
__attribute__((warn_unused_result)) int lab_control_check(const struct lab_request *r, char *err,
							  size_t errcap);

/* Runs r: a new reference to the reply object (NULL only when memory ran
 * out). The reply carries r's id. */
json_t *lab_control_run(struct lab_control *c, const struct lab_request *r);

/* One request line in, one reply line (with its newline) appended to out:
 * parse, check, run. 0, or a negative errno when out cannot take it. */
__attribute__((warn_unused_result)) int lab_control_line(struct lab_control *c, const char *line,
							 size_t len, struct buf *out);

/* {"ok": false, "error": msg} and a newline, appended to out. */
__attribute__((warn_unused_result)) int lab_control_error_line(struct buf *out, const char *msg);

/* The usage lines of every command, one per line ("card remove|insert|reset"). */
const char *lab_control_usage(void);

#endif
