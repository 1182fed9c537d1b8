/* scenario.c - control commands replayed from a file. */
#include "lab/scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/file.h"
#include "core/perr.h"

#define SCENARIO_FILE_MAX (CONTROL_LINE_MAX * 16u)

void lab_scenario_free(struct lab_scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->n_steps; i++)
		lab_request_cleanup(&sc->steps[i].req);
	free(sc->steps);
	free(sc->name);
	free(sc);
}

/* "3", "0.25", "4.5": seconds with at most three decimals, to ms. */
static int parse_seconds(const char *s, size_t len, uint64_t *ms)
{
	uint64_t whole = 0, frac = 0;
	size_t i = 0, digits = 0, fdigits = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		whole = whole * 10 + (uint64_t)(s[i] - '0');
		if (whole > SCENARIO_AT_MAX)
			return -EINVAL;
	}
	if (digits == 0)
		return -EINVAL;
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, fdigits++) {
			if (fdigits == 3)
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(s[i] - '0');
		}
		if (fdigits == 0)
			return -EINVAL;
	}
	if (i != len)
		return -EINVAL;
	while (fdigits++ < 3)
		frac *= 10;
	*ms = whole * 1000 + frac;
	return *ms <= (uint64_t)SCENARIO_AT_MAX * 1000 ? 0 : -EINVAL;
}

static int parse_count(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > 1000000000u)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One line without its newline into step; 0, -ENOMSG (nothing on it), or
 * -EINVAL with the reason (no file:line prefix). */
static int parse_line(const char *s, size_t len, struct lab_step *st, char *err, size_t errcap)
{
	/* A comment starts with a '#' at the start of a word. */
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '#' && (i == 0 || blank(s[i - 1]))) {
			len = i;
			break;
		}
	}
	size_t i = 0;
	while (i < len && blank(s[i]))
		i++;
	if (i == len)
		return -ENOMSG;
	size_t w = i;
	while (w < len && !blank(s[w]))
		w++;
	st->when = LAB_STEP_NOW;
	static const char at[] = "at=", after[] = "after-requests=";
	bool is_at = w - i >= sizeof(at) - 1 && !memcmp(s + i, at, sizeof(at) - 1);
	bool is_after = w - i >= sizeof(after) - 1 && !memcmp(s + i, after, sizeof(after) - 1);
	if (is_at) {
		if (parse_seconds(s + i + 3, w - i - 3, &st->at_ms) != 0) {
			snprintf(err, errcap, "%.*s: at=SECONDS, 0 to %u, at most 3 decimals",
				 (int)(w - i > 64 ? 64 : w - i), s + i, SCENARIO_AT_MAX);
			return -EINVAL;
		}
		st->when = LAB_STEP_AT;
	} else if (is_after) {
		if (parse_count(s + i + 15, w - i - 15, &st->requests) != 0) {
			snprintf(err, errcap, "%.*s: after-requests=N, N a count of responses",
				 (int)(w - i > 64 ? 64 : w - i), s + i);
			return -EINVAL;
		}
		st->when = LAB_STEP_AFTER_REQUESTS;
	} else if (memchr(s + i, '=', w - i) && !(w - i >= 5 && !memcmp(s + i, "card=", 5))) {
		/* a first word with a "=" is a condition, and not one we know */
		const char *eq = memchr(s + i, '=', w - i);
		snprintf(err, errcap,
			 "unknown condition '%.*s' (at=SECONDS, after-requests=N, "
			 "card=NAME)",
			 (int)(eq - (s + i) + 1 > 64 ? 64 : eq - (s + i) + 1), s + i);
		return -EINVAL;
	}
	if (st->when != LAB_STEP_NOW)
		i = w;
	/* card=NAME: the card of a rack the command is for. */
	static const char card[] = "card=";
	char name[PROFILE_NAME_MAX] = "";
	while (i < len && blank(s[i]))
		i++;
	w = i;
	while (w < len && !blank(s[w]))
		w++;
	if (w - i >= sizeof(card) - 1 && !memcmp(s + i, card, sizeof(card) - 1)) {
		size_t n = w - i - (sizeof(card) - 1);
		if (n == 0 || n >= sizeof(name)) {
			snprintf(err, errcap, "card=NAME: a card name of 1 to %u characters",
				 PROFILE_NAME_MAX - 1);
			return -EINVAL;
		}
		memcpy(name, s + i + sizeof(card) - 1, n);
		name[n] = 0;
		i = w;
	}
	int rc = lab_request_parse_words(&st->req, s + i, len - i, err, errcap);
	if (rc == -ENOMSG) {
		snprintf(err, errcap, "a condition without a command");
		return -EINVAL;
	}
	if (rc)
		return rc;
	if (name[0] && (rc = lab_request_set_card(&st->req, name, err, errcap)) != 0) {
		lab_request_cleanup(&st->req);
		return rc;
	}
	rc = lab_control_check(&st->req, err, errcap);
	if (rc) {
		lab_request_cleanup(&st->req);
		return rc;
	}
	return 0;
}

int lab_scenario_parse(const char *name, const char *text, size_t len, struct lab_scenario **out,
		       char *err, size_t errcap)
{
	*out = NULL;
	struct lab_scenario *sc = calloc(1, sizeof(*sc));
	if (!sc || !(sc->name = strdup(name))) {
		free(sc);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	size_t cap = 0;
	unsigned line = 0;
	size_t pos = 0;
	int rc = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		line++;
		char why[512];
		struct lab_step st;
		memset(&st, 0, sizeof(st));
		st.line = line;
		if (memchr(text + pos, '\0', end - pos)) {
			perr_where(err, errcap, name, line, "a NUL byte: not a text file");
			rc = -EINVAL;
			break;
		}
		rc = end - pos > CONTROL_LINE_MAX
			     ? -EINVAL
			     : parse_line(text + pos, end - pos, &st, why, sizeof(why));
		if (end - pos > CONTROL_LINE_MAX)
			snprintf(why, sizeof(why), "line over %u bytes", CONTROL_LINE_MAX);
		pos = nl ? end + 1 : len;
		if (rc == -ENOMSG) {
			rc = 0;
			continue;
		}
		if (rc) {
			perr_where(err, errcap, name, line, "%s", why);
			break;
		}
		if (sc->n_steps == SCENARIO_STEPS_MAX) {
			lab_request_cleanup(&st.req);
			perr_where(err, errcap, name, line, "more than %u steps",
				   SCENARIO_STEPS_MAX);
			rc = -EINVAL;
			break;
		}
		if (sc->n_steps == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct lab_step *n = realloc(sc->steps, ncap * sizeof(*n));
			if (!n) {
				lab_request_cleanup(&st.req);
				snprintf(err, errcap, "out of memory");
				rc = -ENOMEM;
				break;
			}
			sc->steps = n;
			cap = ncap;
		}
		sc->steps[sc->n_steps++] = st;
	}
	if (rc) {
		lab_scenario_free(sc);
		return rc;
	}
	*out = sc;
	return 0;
}

int lab_scenario_load(const char *path, struct lab_scenario **out, char *err, size_t errcap)
{
	*out = NULL;
	struct buf b;
	buf_init(&b, SCENARIO_FILE_MAX);
	int rc = file_read_all(path, &b);
	if (rc == -EMSGSIZE)
		snprintf(err, errcap, "%s: over %u bytes", path, SCENARIO_FILE_MAX);
	else if (rc)
		snprintf(err, errcap, "%s: %s", path, strerror(-rc));
	if (!rc)
		rc = lab_scenario_parse(path, (const char *)b.p, b.len, out, err, errcap);
	buf_cleanup(&b);
	return rc;
}

static bool holds(const struct lab_step *st, uint64_t elapsed_ms, uint64_t requests)
{
	switch (st->when) {
	case LAB_STEP_AT:
		return elapsed_ms >= st->at_ms;
	case LAB_STEP_AFTER_REQUESTS:
		return requests >= st->requests;
	default:
		return true;
	}
}

const struct lab_step *lab_scenario_due(struct lab_scenario *sc, uint64_t elapsed_ms,
					uint64_t requests)
{
	if (!sc || sc->next >= sc->n_steps)
		return NULL;
	const struct lab_step *st = &sc->steps[sc->next];
	if (!holds(st, elapsed_ms, requests))
		return NULL;
	sc->next++;
	return st;
}

int64_t lab_scenario_wait_ms(const struct lab_scenario *sc, uint64_t elapsed_ms)
{
	if (!sc || sc->next >= sc->n_steps)
		return -1;
	const struct lab_step *st = &sc->steps[sc->next];
	if (st->when == LAB_STEP_AFTER_REQUESTS)
		return -1;
	if (st->when == LAB_STEP_NOW || elapsed_ms >= st->at_ms)
		return 0;
	return (int64_t)(st->at_ms - elapsed_ms);
}

bool lab_scenario_done(const struct lab_scenario *sc)
{
	return !sc || sc->next >= sc->n_steps;
}
