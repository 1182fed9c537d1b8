/* cat.c - proactive UICC engine: TERMINAL PROFILE, FETCH, TERMINAL RESPONSE
 * and ENVELOPE over the card's toolkit hook (ETSI TS 102 223 §6, TS 102 221
 * §7.4.2 and §14). */
#include "card/cat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cmd_state {
	CMD_NONE,        /* nothing announced: ask the application */
	CMD_PENDING,     /* encoded and announced (91 xx), waiting for FETCH */
	CMD_OUTSTANDING, /* fetched, waiting for its TERMINAL RESPONSE */
};

struct card_cat {
	const struct card_cat_app_ops *app;
	void *app_arg;
	card_cat_log_fn *log;
	void *log_arg;

	bool has_profile;
	struct card_cat_profile profile;

	enum cmd_state state;
	uint8_t next_number;         /* 01..FE */
	struct card_cat_details cur; /* the command PENDING or OUTSTANDING */
	uint8_t cmd[CAT_PROACTIVE_MAX];
	size_t cmd_len; /* 0 < cmd_len <= CAT_PROACTIVE_MAX when not NONE */
	bool in_next;   /* guards against re-entry from the application */
};

void card_cat_log(const struct card_cat *cat, enum log_level level, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	if (!cat->log && !log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (cat->log)
		cat->log(cat->log_arg, level, line);
	else
		log_msg(level, "cat", "%s", line);
}

void card_cat_set_log(struct card_cat *cat, card_cat_log_fn *fn, void *arg)
{
	cat->log = fn;
	cat->log_arg = fn ? arg : NULL;
}

static void drop_command(struct card_cat *cat)
{
	cat->state = CMD_NONE;
	cat->cmd_len = 0;
}

struct card_cat *card_cat_new(const struct card_cat_app_ops *app, void *app_arg)
{
	if (!app || !app->next || !app->response)
		return NULL;
	struct card_cat *cat = calloc(1, sizeof(*cat));
	if (!cat)
		return NULL;
	cat->app = app;
	cat->app_arg = app_arg;
	cat->next_number = 1;
	return cat;
}

void card_cat_free(struct card_cat *cat)
{
	free(cat);
}

const struct card_cat_profile *card_cat_profile(const struct card_cat *cat)
{
	return cat->has_profile ? &cat->profile : NULL;
}

bool card_cat_outstanding(const struct card_cat *cat, struct card_cat_details *out)
{
	if (cat->state != CMD_OUTSTANDING)
		return false;
	if (out)
		*out = cat->cur;
	return true;
}

/* Asks the application for the next command and encodes it. */
static void prepare(struct card_cat *cat)
{
	struct card_cat_command c;
	if (cat->state != CMD_NONE || !cat->has_profile || cat->in_next)
		return;
	memset(&c, 0, sizeof(c));
	cat->in_next = true;
	bool have = cat->app->next(cat->app_arg, &c);
	cat->in_next = false;
	if (!have)
		return;
	c.details.number = cat->next_number;
	/* TS 102 223 §8.6: numbers 01..FE; 00 and FF are reserved. */
	cat->next_number = cat->next_number == 0xFE ? 1 : (uint8_t)(cat->next_number + 1);
	int rc = card_cat_msg_command_encode(&c, cat->cmd, sizeof(cat->cmd), &cat->cmd_len);
	if (rc) {
		card_cat_log(cat, LOG_ERROR, "cannot encode %s (%d), dropped",
			     card_cat_cmd_name(c.details.type), rc);
		cat->app->response(cat->app_arg, &c.details, NULL);
		drop_command(cat);
		return;
	}
	cat->cur = c.details;
	cat->state = CMD_PENDING;
}

size_t card_cat_pending(struct card_cat *cat)
{
	prepare(cat);
	return cat->state == CMD_PENDING ? cat->cmd_len : 0;
}

static bool p1p2_ok(const struct card_apdu *a, uint16_t *sw)
{
	if (a->p1 || a->p2) {
		*sw = SW_WRONG_P1P2;
		return false;
	}
	return true;
}

static int tk_terminal_profile(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	struct card_cat *cat = arg;
	struct card_cat_profile tp;
	if (!p1p2_ok(a, sw))
		return 0;
	if (a->lc == 0)
		return -EMSGSIZE;
	if (card_cat_msg_profile_decode(a->data, a->lc, &tp))
		return -EPROTO;
	drop_command(cat);
	cat->next_number = 1;
	cat->profile = tp;
	cat->has_profile = true;
	if (cat->app->profile)
		cat->app->profile(cat->app_arg, &tp);
	*sw = SW_OK;
	return 0;
}

static int tk_fetch(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	struct card_cat *cat = arg;
	if (!p1p2_ok(a, sw))
		return 0;
	if (a->lc)
		return -EMSGSIZE;
	prepare(cat);
	if (cat->state != CMD_PENDING)
		return -EBADFD;
	bool le_max = a->le == (a->extended ? APDU_EXT_RESP_MAX : APDU_SHORT_RESP_MAX);
	if (!a->has_le || (a->le != cat->cmd_len && !le_max)) {
		*sw = SW_WRONG_LE(cat->cmd_len);
		return 0;
	}
	wr_mem(resp, cat->cmd, cat->cmd_len);
	if (resp->failed)
		return -EIO;
	cat->state = CMD_OUTSTANDING;
	*sw = SW_OK;
	return 0;
}

static int tk_terminal_response(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	struct card_cat *cat = arg;
	struct card_cat_response tr;
	if (!p1p2_ok(a, sw))
		return 0;
	if (a->lc == 0)
		return -EMSGSIZE;
	if (cat->state != CMD_OUTSTANDING)
		return -EBADFD;
	int rc = card_cat_msg_response_decode(a->data, a->lc, &tr);
	if (rc) {
		card_cat_log(cat, LOG_WARN, "TERMINAL RESPONSE to %s %02X does not decode (%d)",
			     card_cat_cmd_name(cat->cur.type), cat->cur.number, rc);
		return -EPROTO;
	}
	if (tr.details.number != cat->cur.number || tr.details.type != cat->cur.type) {
		card_cat_log(cat, LOG_WARN,
			     "TERMINAL RESPONSE for command %02X type %02X, outstanding is %02X %s",
			     tr.details.number, tr.details.type, cat->cur.number,
			     card_cat_cmd_name(cat->cur.type));
		return -EPROTO;
	}
	struct card_cat_details issued = cat->cur;
	drop_command(cat);
	cat->app->response(cat->app_arg, &issued, &tr);
	*sw = SW_OK;
	return 0;
}

static int tk_envelope(void *arg, const struct card_apdu *a, struct wr *resp, uint16_t *sw)
{
	struct card_cat *cat = arg;
	struct card_cat_event ev;
	if (!p1p2_ok(a, sw))
		return 0;
	if (a->lc == 0)
		return -EMSGSIZE;
	if (!cat->has_profile)
		return -EBADFD;
	int rc = card_cat_msg_event_decode(a->data, a->lc, &ev);
	if (rc == -ENOTSUP) {
		card_cat_log(cat, LOG_DEBUG, "ENVELOPE %02X not supported", a->data[0]);
		*sw = SW_FUNC_NOT_SUPPORTED;
		return 0;
	}
	if (rc) {
		card_cat_log(cat, LOG_WARN, "ENVELOPE does not decode (%d)", rc);
		return -EPROTO;
	}
	/* TS 102 221 §7.4.2.2: the terminal fetches what the last 91 xx
	 * announced, and this ENVELOPE's status word announces anew. */
	if (cat->state == CMD_PENDING && cat->app->cancel) {
		struct card_cat_details issued = cat->cur;
		drop_command(cat);
		cat->next_number = issued.number;
		cat->app->cancel(cat->app_arg, &issued);
	}
	if (cat->app->event) {
		rc = cat->app->event(cat->app_arg, &ev);
		if (rc)
			return rc;
	}
	*sw = SW_OK;
	return 0;
}

static size_t tk_pending(void *arg)
{
	return card_cat_pending(arg);
}

static void tk_reset(void *arg)
{
	struct card_cat *cat = arg;
	drop_command(cat);
	cat->has_profile = false;
	cat->next_number = 1;
	if (cat->app->reset)
		cat->app->reset(cat->app_arg);
}

static void tk_status(void *arg)
{
	struct card_cat *cat = arg;
	if (cat->has_profile && cat->app->poll)
		cat->app->poll(cat->app_arg);
}

const struct card_toolkit_ops card_cat_toolkit_ops = {
	.terminal_profile = tk_terminal_profile,
	.fetch = tk_fetch,
	.terminal_response = tk_terminal_response,
	.envelope = tk_envelope,
	.pending = tk_pending,
	.reset = tk_reset,
	.status = tk_status,
};

void card_cat_attach(struct card_cat *cat, struct card *card)
{
	card_set_toolkit(card, &card_cat_toolkit_ops, cat);
}
