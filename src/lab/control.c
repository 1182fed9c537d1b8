/* control.c - the control protocol: request parsing and the command table. */
#include "lab/control.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strparse.h"
#include "lab/fault.h"

/* ---- requests ------------------------------------------------------------ */

void lab_request_cleanup(struct lab_request *r)
{
	if (!r)
		return;
	json_decref(r->id);
	free(r->mem);
	memset(r, 0, sizeof(*r));
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errcap, const char *fmt,
						      ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A word the protocol accepts: 1..CONTROL_WORD_MAX-1 bytes, no control
 * character (and so no NUL, no newline). */
static int word_ok(const char *w, size_t len, const char *what, char *err, size_t errcap)
{
	if (len == 0)
		return fail(err, errcap, "%s is empty", what);
	if (len >= CONTROL_WORD_MAX)
		return fail(err, errcap, "%s is over %u bytes", what, CONTROL_WORD_MAX - 1);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)w[i] < 0x20 || w[i] == 0x7F)
			return fail(err, errcap, "%s holds a control character (byte %zu)", what,
				    i);
	/* A word goes back out in a JSON line (lab_request_to_line), and JSON
	 * text is UTF-8 (RFC 8259 §8.1): jansson is the judge. */
	json_t *s = json_stringn(w, len);
	if (!s)
		return fail(err, errcap, "%s is not UTF-8", what);
	json_decref(s);
	return 0;
}

/* Copies n words (lens given) into r->mem; they were checked. */
static int store_words(struct lab_request *r, size_t n, const char *const *w, const size_t *lens,
		       char *err, size_t errcap)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += lens[i] + 1;
	r->mem = malloc(total ? total : 1);
	if (!r->mem) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	char *p = r->mem;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, w[i], lens[i]);
		p[lens[i]] = '\0';
		r->argv[i] = p;
		p += lens[i] + 1;
	}
	r->argc = n;
	return 0;
}

static int too_many(char *err, size_t errcap)
{
	return fail(err, errcap, "more than %u arguments", CONTROL_ARGS_MAX);
}

int lab_request_parse_json(struct lab_request *r, const char *line, size_t len, char *err,
			   size_t errcap)
{
	memset(r, 0, sizeof(*r));
	if (len > CONTROL_LINE_MAX)
		return fail(err, errcap, "request over %u bytes", CONTROL_LINE_MAX);
	json_error_t jerr;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, errcap, "not JSON: %s (column %d)", jerr.text, jerr.column);
	int rc = 0;
	const char *w[CONTROL_ARGS_MAX + 1];
	size_t lens[CONTROL_ARGS_MAX + 1];
	size_t n = 0;
	if (!json_is_object(root)) {
		rc = fail(err, errcap, "a request is a JSON object: {\"cmd\": \"status\"}");
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "cmd") && strcmp(key, "args") && strcmp(key, "id") &&
		    strcmp(key, "card")) {
			rc = fail(err, errcap, "unknown key \"%.64s\" (cmd, args, id, card)", key);
			goto out;
		}
	}
	json_t *card = json_object_get(root, "card");
	if (card && !json_is_string(card)) {
		rc = fail(err, errcap, "\"card\" is not a string");
		goto out;
	}
	json_t *cmd = json_object_get(root, "cmd");
	if (!cmd) {
		rc = fail(err, errcap, "no \"cmd\": {\"cmd\": \"status\"}");
		goto out;
	}
	if (!json_is_string(cmd)) {
		rc = fail(err, errcap, "\"cmd\" is not a string");
		goto out;
	}
	w[0] = json_string_value(cmd);
	lens[0] = json_string_length(cmd);
	if ((rc = word_ok(w[0], lens[0], "\"cmd\"", err, errcap)))
		goto out;
	n = 1;
	json_t *args = json_object_get(root, "args");
	if (args && !json_is_array(args)) {
		rc = fail(err, errcap, "\"args\" is not an array of strings");
		goto out;
	}
	size_t i;
	json_array_foreach(args, i, v)
	{
		char what[32];
		snprintf(what, sizeof(what), "args[%zu]", i);
		if (i >= CONTROL_ARGS_MAX) {
			rc = too_many(err, errcap);
			goto out;
		}
		if (!json_is_string(v)) {
			rc = fail(err, errcap, "%s is not a string", what);
			goto out;
		}
		w[n] = json_string_value(v);
		lens[n] = json_string_length(v);
		if ((rc = word_ok(w[n], lens[n], what, err, errcap)))
			goto out;
		n++;
	}
	if ((rc = store_words(r, n, w, lens, err, errcap)))
		goto out;
	r->id = json_incref(json_object_get(root, "id"));
	if (card)
		rc = lab_request_set_card(r, json_string_value(card), err, errcap);
out:
	json_decref(root);
	if (rc)
		lab_request_cleanup(r);
	return rc;
}

int lab_request_set_card(struct lab_request *r, const char *name, char *err, size_t errcap)
{
	size_t n = strlen(name);
	bool ok = n > 0 && n < sizeof(r->card) && strcmp(name, ".") && strcmp(name, "..");
	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)name[i]) || name[i] == '.' || name[i] == '_' ||
		     name[i] == '-';
	if (!ok)
		return fail(err, errcap,
			    "card '%.64s': a card name is 1 to %u of A-Z a-z 0-9 . _ -", name,
			    (unsigned)sizeof(r->card) - 1);
	memcpy(r->card, name, n + 1);
	return 0;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int lab_request_parse_words(struct lab_request *r, const char *text, size_t len, char *err,
			    size_t errcap)
{
	memset(r, 0, sizeof(*r));
	if (len > CONTROL_LINE_MAX)
		return fail(err, errcap, "request over %u bytes", CONTROL_LINE_MAX);
	const char *w[CONTROL_ARGS_MAX + 1];
	size_t lens[CONTROL_ARGS_MAX + 1];
	size_t n = 0, i = 0;
	while (i < len) {
		while (i < len && blank(text[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && !blank(text[i]))
			i++;
		if (n == CONTROL_ARGS_MAX + 1)
			return too_many(err, errcap);
		char what[32];
		if (n)
			snprintf(what, sizeof(what), "word %zu", n + 1);
		else
			snprintf(what, sizeof(what), "the command");
		int rc = word_ok(text + start, i - start, what, err, errcap);
		if (rc)
			return rc;
		w[n] = text + start;
		lens[n++] = i - start;
	}
	if (n == 0) {
		snprintf(err, errcap, "no command");
		return -ENOMSG;
	}
	return store_words(r, n, w, lens, err, errcap);
}

int lab_request_from_argv(struct lab_request *r, size_t argc, const char *const *argv, char *err,
			  size_t errcap)
{
	memset(r, 0, sizeof(*r));
	if (argc == 0) {
		snprintf(err, errcap, "no command");
		return -ENOMSG;
	}
	if (argc > CONTROL_ARGS_MAX + 1)
		return too_many(err, errcap);
	size_t lens[CONTROL_ARGS_MAX + 1];
	for (size_t i = 0; i < argc; i++) {
		char what[32];
		if (i)
			snprintf(what, sizeof(what), "argument %zu", i);
		else
			snprintf(what, sizeof(what), "the command");
		lens[i] = strlen(argv[i]);
		int rc = word_ok(argv[i], lens[i], what, err, errcap);
		if (rc)
			return rc;
	}
	return store_words(r, argc, argv, lens, err, errcap);
}

/* Appends a JSON value and a newline (compact, one line). */
static int append_json(struct buf *out, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!s)
		return -ENOMEM;
	size_t before = out->len;
	int rc = buf_append_str(out, s);
	rc = rc ? rc : buf_append_u8(out, '\n');
	free(s);
	if (rc)
		out->len = before;
	return rc;
}

int lab_request_to_line(const struct lab_request *r, struct buf *out)
{
	if (!r->argc)
		return -EINVAL;
	json_t *o = json_object();
	json_t *args = json_array();
	int rc = !o || !args ? -ENOMEM : 0;
	if (!rc)
		rc = json_object_set_new(o, "cmd", json_string(r->argv[0])) ? -ENOMEM : 0;
	for (size_t i = 1; i < r->argc && !rc; i++)
		rc = json_array_append_new(args, json_string(r->argv[i])) ? -ENOMEM : 0;
	if (!rc && r->argc > 1) {
		rc = json_object_set(o, "args", args) ? -ENOMEM : 0;
	}
	if (!rc && r->id)
		rc = json_object_set(o, "id", r->id) ? -ENOMEM : 0;
	if (!rc && r->card[0])
		rc = json_object_set_new(o, "card", json_string(r->card)) ? -ENOMEM : 0;
	if (!rc)
		rc = append_json(out, o);
	json_decref(args);
	json_decref(o);
	return rc;
}

/* ---- the command table --------------------------------------------------- */

struct lab_command {
	const char *name;
	const char *usage;
	size_t min_args, max_args; /* words after the command */
	/* The first word must be one of these (NULL-terminated); NULL: any. */
	const char *const *words;
	/* Further checks of the words, or NULL. 0 or -EINVAL with a reason. */
	int (*check)(const struct lab_request *r, char *err, size_t errcap);
	int (*run)(struct lab_control *c, const struct lab_request *r, json_t *reply, char *err,
		   size_t errcap);
};

static int not_available(const char *what, char *err, size_t errcap)
{
	snprintf(err, errcap, "'%s' is not available in this process", what);
	return -ENOTSUP;
}

static int run_status(struct lab_control *c, const struct lab_request *r, json_t *reply, char *err,
		      size_t errcap)
{
	(void)r;
	if (!c->ops || !c->ops->status)
		return not_available("status", err, errcap);
	int rc = c->ops->status(c->ctx, reply, err, errcap);
	if (rc || !c->faults)
		return rc;
	json_t *list = lab_faults_list(c->faults);
	if (!list || json_object_set_new(reply, "faults", list)) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static const char *const card_words[] = { "remove", "insert", "reset", NULL };

static int run_card(struct lab_control *c, const struct lab_request *r, json_t *reply, char *err,
		    size_t errcap)
{
	if (!c->ops || !c->ops->card)
		return not_available("card", err, errcap);
	enum lab_card_action a = !strcmp(r->argv[1], "remove")   ? LAB_CARD_REMOVE
				 : !strcmp(r->argv[1], "insert") ? LAB_CARD_INSERT
								 : LAB_CARD_RESET;
	return c->ops->card(c->ctx, a, reply, err, errcap);
}

static const char *const bootstrap_words[] = { "off", "on", "set", NULL };

/* A last word target=card|server|both: its target (and the words before
 * it in *argc), else LAB_TARGET_ANY with *argc unchanged; -1 for a bad
 * target= value. */
static int bootstrap_target(const struct lab_request *r, size_t *argc, bool *given)
{
	const char *w = r->argv[r->argc - 1];
	*argc = r->argc;
	*given = false;
	if (r->argc < 3 || strncmp(w, "target=", 7) != 0)
		return LAB_TARGET_ANY;
	*argc = r->argc - 1;
	*given = true;
	return !strcmp(w + 7, "card")     ? LAB_TARGET_CARD
	       : !strcmp(w + 7, "server") ? LAB_TARGET_SERVER
	       : !strcmp(w + 7, "both")   ? LAB_TARGET_ANY
					  : -1;
}

static int check_bootstrap(const struct lab_request *r, char *err, size_t errcap)
{
	bool set = !strcmp(r->argv[1], "set"), given;
	size_t argc;
	if (bootstrap_target(r, &argc, &given) < 0)
		return fail(err, errcap, "bootstrap: '%.64s': target= is card, server or both",
			    r->argv[r->argc - 1]);
	if (set && argc != 3)
		return fail(err, errcap,
			    "usage: bootstrap set FILE [target=card|server|both] "
			    "(an XML or WBXML file)");
	if (!set && argc != 2)
		return fail(err, errcap, "usage: bootstrap %s [target=card|server|both]",
			    r->argv[1]);
	return 0;
}

static int run_bootstrap(struct lab_control *c, const struct lab_request *r, json_t *reply,
			 char *err, size_t errcap)
{
	bool given;
	size_t argc;
	int t = bootstrap_target(r, &argc, &given);
	if (given) {
		if (!c->ops || !c->ops->bootstrap_at)
			return not_available("bootstrap ... target=", err, errcap);
		return c->ops->bootstrap_at(c->ctx, (enum lab_fault_target)t, r->argv[1],
					    argc == 3 ? r->argv[2] : NULL, reply, err, errcap);
	}
	if (!strcmp(r->argv[1], "set")) {
		if (!c->ops || !c->ops->bootstrap_set)
			return not_available("bootstrap set", err, errcap);
		return c->ops->bootstrap_set(c->ctx, r->argv[2], reply, err, errcap);
	}
	if (!c->ops || !c->ops->bootstrap_enable)
		return not_available("bootstrap", err, errcap);
	return c->ops->bootstrap_enable(c->ctx, !strcmp(r->argv[1], "on"), reply, err, errcap);
}

static int run_reload(struct lab_control *c, const struct lab_request *r, json_t *reply, char *err,
		      size_t errcap)
{
	(void)r;
	if (!c->ops || !c->ops->reload)
		return not_available("reload", err, errcap);
	return c->ops->reload(c->ctx, reply, err, errcap);
}

static const char *const fault_words[] = { "add", "list", "clear", NULL };

/* An id for `fault clear`: 1..UINT_MAX in decimal. */
static int parse_id(const char *s, unsigned *out)
{
	unsigned long v = 0;
	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 0xFFFFFFFFul)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int check_fault(const struct lab_request *r, char *err, size_t errcap)
{
	const char *sub = r->argv[1];
	if (!strcmp(sub, "list"))
		return r->argc == 2 ? 0 : fail(err, errcap, "usage: fault list (no argument)");
	if (!strcmp(sub, "clear")) {
		unsigned id;
		if (r->argc > 3 || (r->argc == 3 && parse_id(r->argv[2], &id)))
			return fail(err, errcap,
				    "usage: fault clear [ID] (ID as fault list shows it)");
		return 0;
	}
	if (r->argc < 3)
		return fail(err, errcap,
			    "usage: fault add KIND [ARGS] [count=N] [after=N] [port=P] "
			    "[target=server|card]");
	/* The registry's own parser decides, on a scratch registry. */
	struct lab_faults *scratch = lab_faults_new();
	if (!scratch) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	int rc = lab_faults_add(scratch, r->argc - 2, r->argv + 2, err, errcap);
	lab_faults_free(scratch);
	return rc < 0 ? -EINVAL : 0;
}

static int run_fault(struct lab_control *c, const struct lab_request *r, json_t *reply, char *err,
		     size_t errcap)
{
	if (!c->faults)
		return not_available("fault", err, errcap);
	const char *sub = r->argv[1];
	if (!strcmp(sub, "list")) {
		json_t *list = lab_faults_list(c->faults);
		return list && !json_object_set_new(reply, "faults", list) ? 0 : -ENOMEM;
	}
	if (!strcmp(sub, "clear")) {
		unsigned id = 0;
		if (r->argc == 3 && parse_id(r->argv[2], &id))
			return fail(err, errcap, "bad fault id '%.32s'", r->argv[2]);
		int rc = lab_faults_clear(c->faults, id);
		if (rc == -ENOENT) {
			snprintf(err, errcap, "no fault %u (see fault list)", id);
			return rc;
		}
		if (rc)
			return rc;
		return json_object_set_new(reply, "cleared",
					   id ? json_integer(id) : json_string("all"))
			       ? -ENOMEM
			       : 0;
	}
	int id = lab_faults_add(c->faults, r->argc - 2, r->argv + 2, err, errcap);
	if (id < 0)
		return id;
	return json_object_set_new(reply, "fault", json_integer(id)) ? -ENOMEM : 0;
}

/* requests [--since N] */
static int check_requests(const struct lab_request *r, char *err, size_t errcap)
{
	char *end;
	if (r->argc == 1)
		return 0;
	if (r->argc != 3 || strcmp(r->argv[1], "--since") != 0)
		return fail(err, errcap, "usage: requests [--since N]");
	errno = 0;
	(void)strtoull(r->argv[2], &end, 10);
	if (errno || end == r->argv[2] || *end || r->argv[2][0] == '-')
		return fail(err, errcap, "requests --since '%.64s': a journal entry number",
			    r->argv[2]);
	return 0;
}

static int run_requests(struct lab_control *c, const struct lab_request *r, json_t *reply,
			char *err, size_t errcap)
{
	if (!c->ops || !c->ops->requests)
		return not_available("requests", err, errcap);
	return c->ops->requests(c->ctx, r->argc == 3 ? strtoull(r->argv[2], NULL, 10) : 0, reply,
				err, errcap);
}

static int run_report(struct lab_control *c, const struct lab_request *r, json_t *reply, char *err,
		      size_t errcap)
{
	(void)r;
	if (!c->ops || !c->ops->report)
		return not_available("report", err, errcap);
	return c->ops->report(c->ctx, reply, err, errcap);
}

/* The commands, in the order the usage lists them. A new command is a new
 * row (and its section in doc/scwsemu.1). */
static const struct lab_command commands[] = {
	{ "status", "status", 0, 0, NULL, NULL, run_status },
	{ "card", "card remove|insert|reset", 1, 1, card_words, NULL, run_card },
	{ "bootstrap", "bootstrap off|on|set FILE [target=card|server|both]", 1, 3, bootstrap_words,
	  check_bootstrap, run_bootstrap },
	{ "reload", "reload", 0, 0, NULL, NULL, run_reload },
	{ "fault",
	  "fault add KIND [ARGS] [count=N] [after=N] [port=P] [target=server|card]\n"
	  "fault list\nfault clear [ID]",
	  1, CONTROL_ARGS_MAX, fault_words, check_fault, run_fault },
	{ "requests", "requests [--since N]", 0, 2, NULL, check_requests, run_requests },
	{ "report", "report", 0, 0, NULL, NULL, run_report },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct lab_command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

const char *lab_control_usage(void)
{
	static char text[1024];
	if (!text[0]) {
		size_t off = 0;
		for (size_t i = 0; i < N_COMMANDS && off < sizeof(text); i++) {
			int n = snprintf(text + off, sizeof(text) - off, "%s\n", commands[i].usage);
			if (n < 0)
				break;
			off += (size_t)n;
		}
	}
	return text;
}

static int check_with(const struct lab_command *cmd, const struct lab_request *r, char *err,
		      size_t errcap)
{
	size_t nargs = r->argc - 1;
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		return fail(err, errcap, "usage: %s", cmd->usage);
	if (cmd->words && nargs) {
		bool found = false;
		for (const char *const *w = cmd->words; *w && !found; w++)
			found = !strcmp(*w, r->argv[1]);
		if (!found)
			return fail(err, errcap, "unknown '%s %.64s'; usage: %s", cmd->name,
				    r->argv[1], cmd->usage);
	}
	return cmd->check ? cmd->check(r, err, errcap) : 0;
}

int lab_control_check(const struct lab_request *r, char *err, size_t errcap)
{
	if (!r || r->argc == 0)
		return fail(err, errcap, "no command");
	const struct lab_command *cmd = find_command(r->argv[0]);
	if (!cmd) {
		char names[256] = "";
		size_t off = 0;
		for (size_t i = 0; i < N_COMMANDS; i++) {
			int n = snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
					 commands[i].name);
			if (n < 0 || (size_t)n >= sizeof(names) - off)
				break;
			off += (size_t)n;
		}
		return fail(err, errcap, "unknown command '%.64s' (%s)", r->argv[0], names);
	}
	return check_with(cmd, r, err, errcap);
}

/* An error message quotes the client's words cut at a byte count
 * ("'%.64s'"), which can split a multi-byte character; JSON text is UTF-8
 * and jansson refuses the message then, so the client would get no reply
 * at all. Each byte of a broken sequence becomes '?'. */
static void utf8_scrub(char *s)
{
	for (size_t i = 0; s[i];) {
		size_t n = utf8_seq_len(s + i);
		if (n == 0)
			s[i++] = '?';
		else
			i += n;
	}
}

static json_t *error_reply(const char *msg)
{
	json_t *reply = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	if (reply)
		return reply;
	char text[512];
	snprintf(text, sizeof(text), "%s", msg);
	utf8_scrub(text);
	reply = json_pack("{s:b, s:s}", "ok", 0, "error", text);
	return reply ? reply : json_pack("{s:b, s:s}", "ok", 0, "error", "bad request");
}

json_t *lab_control_run(struct lab_control *c, const struct lab_request *r)
{
	char err[512] = "";
	json_t *reply;
	int rc = lab_control_check(r, err, sizeof(err));
	if (rc) {
		reply = error_reply(err);
	} else {
		reply = json_pack("{s:b}", "ok", 1);
		if (!reply)
			return NULL;
		const struct lab_command *cmd = find_command(r->argv[0]);
		struct lab_control *to = c;
		if (c->select)
			to = c->select(c->ctx, r->card, strcmp(r->argv[0], "status") == 0, err,
				       sizeof(err));
		else if (r->card[0])
			snprintf(err, sizeof(err),
				 "this process runs no rack of cards: no "
				 "\"card\" (%.64s)",
				 r->card);
		if (!to || (!c->select && r->card[0]))
			rc = -ENOENT;
		else
			rc = cmd ? cmd->run(to, r, reply, err, sizeof(err)) : -EINVAL; /* checked */
		if (rc) {
			json_decref(reply);
			if (!err[0])
				snprintf(err, sizeof(err), "%s", strerror(-rc));
			reply = error_reply(err);
		}
	}
	if (reply && r && r->id && json_object_set(reply, "id", r->id) != 0) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

int lab_control_line(struct lab_control *c, const char *line, size_t len, struct buf *out)
{
	struct lab_request r;
	char err[512];
	if (lab_request_parse_json(&r, line, len, err, sizeof(err)) != 0)
		return lab_control_error_line(out, err);
	json_t *reply = lab_control_run(c, &r);
	lab_request_cleanup(&r);
	if (!reply)
		return -ENOMEM;
	size_t before = out->len;
	int rc = append_json(out, reply);
	json_decref(reply);
	if (rc == -EMSGSIZE) {
		out->len = before;
		return lab_control_error_line(out, "the reply does not fit the output buffer");
	}
	return rc;
}

int lab_control_error_line(struct buf *out, const char *msg)
{
	json_t *reply = error_reply(msg);
	if (!reply)
		return -ENOMEM;
	int rc = append_json(out, reply);
	json_decref(reply);
	return rc;
}
