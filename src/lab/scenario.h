/* scenario.h - `scwsemu --scenario FILE`: control commands replayed from a
 * file, sans-I/O (the timers are main.c's).
 *
 * One command per line, as words (lab_request_parse_words()), optionally
 * after one condition:
 *
 *	# comment (from a '#' that starts a word to the end of the line)
 *	after-requests=1 card remove
 *	at=3 card insert          # 3 s after the emulator is ready
 *	at=4.5 bootstrap off      # milliseconds at most
 *	fault add http-status 503 # no condition: right after the step before
 *
 * Steps run in file order, each once its condition holds: at=SECONDS from
 * ready (an at= already past runs at once), after-requests=N once N HTTP
 * responses were sent in all since start-up. Every line is checked at
 * load against the command table (lab_control_check()): the first error
 * is "FILE:LINE: reason". */
#ifndef SCWS_LAB_SCENARIO_H
#define SCWS_LAB_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lab/control.h"

enum lab_step_when { LAB_STEP_NOW, LAB_STEP_AT, LAB_STEP_AFTER_REQUESTS };

struct lab_step {
	unsigned line; /* 1-based line in the file */
	enum lab_step_when when;
	uint64_t at_ms;         /* LAB_STEP_AT */
	uint64_t requests;      /* LAB_STEP_AFTER_REQUESTS */
	struct lab_request req; /* checked against the command table */
};

struct lab_scenario {
	char *name; /* the file name, for messages */
	struct lab_step *steps;
	size_t n_steps; /* <= SCENARIO_STEPS_MAX */
	size_t next;    /* the first step not run yet */
};

/* Parses text (the file's bytes; name for messages). 0 and *out, or
 * -EINVAL with "NAME:LINE: reason" in err, -ENOMEM. */
__attribute__((warn_unused_result)) int lab_scenario_parse(const char *name, const char *text,
							   size_t len, struct lab_scenario **out,
							   char *err, size_t errcap);
/* Reads and parses the file (at most CONTROL_LINE_MAX * 16 bytes). Errors
 * as lab_scenario_parse(), or the file's errno with "PATH: reason". */
__attribute__((warn_unused_result)) int lab_scenario_load(const char *path,
							  struct lab_scenario **out, char *err,
							  size_t errcap);
void lab_scenario_free(struct lab_scenario *sc);

/* The next step when its condition holds at elapsed_ms since ready with
 * `requests` responses sent: returns it and moves past it; NULL when the
 * next step must wait (or none is left). Call until NULL. */
const struct lab_step *lab_scenario_due(struct lab_scenario *sc, uint64_t elapsed_ms,
					uint64_t requests);
/* Milliseconds until the next step's at= (0: due now), or -1 when no
 * timer is needed: no step left, or it waits for requests. */
int64_t lab_scenario_wait_ms(const struct lab_scenario *sc, uint64_t elapsed_ms);
bool lab_scenario_done(const struct lab_scenario *sc);

#endif
