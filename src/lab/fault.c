/* fault.c - the fault registry: parsing "fault add" arguments, counting
 * events, listing as JSON. */
#include "lab/fault.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"

struct lab_faults {
	struct lab_fault slot[LAB_FAULTS_MAX];
	size_t n; /* slots in use, in id order */
	unsigned next_id;
};

typedef int parse_fn(struct lab_fault *ft, size_t argc, const char *const *argv, char *err,
		     size_t errcap);

struct kind_info {
	const char *name;
	size_t args_min, args_max; /* positional tokens */
	bool card_only;            /* target=server refused */
	parse_fn *parse;
	const char *usage; /* for the error */
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errcap, const char *fmt,
						      ...)
{
	if (err && errcap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Decimal in [min, max], digits only. */
static bool parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10u + (uint64_t)(*p - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Exactly ndigits hex digits. */
static bool parse_hex_fixed(const char *s, size_t ndigits, uint32_t *out)
{
	uint32_t v = 0;
	if (strlen(s) != ndigits)
		return false;
	for (size_t i = 0; i < ndigits; i++) {
		int d = hex_digit((unsigned char)s[i]);
		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return true;
}

static int parse_status(struct lab_fault *ft, size_t argc, const char *const *argv, char *err,
			size_t errcap)
{
	(void)argc;
	if (!parse_uint(argv[0], 200, 599, &ft->value))
		return fail(err, errcap, "http-status: CODE must be 200-599, not '%s'", argv[0]);
	return 0;
}

static int parse_ms(struct lab_fault *ft, size_t argc, const char *const *argv, char *err,
		    size_t errcap)
{
	(void)argc;
	if (!parse_uint(argv[0], 1, LAB_FAULT_MS_MAX, &ft->value))
		return fail(err, errcap, "%s: MS must be 1-%u, not '%s'",
			    lab_fault_kind_name(ft->kind), LAB_FAULT_MS_MAX, argv[0]);
	return 0;
}

static int parse_rate(struct lab_fault *ft, size_t argc, const char *const *argv, char *err,
		      size_t errcap)
{
	(void)argc;
	if (!parse_uint(argv[0], 1, LAB_FAULT_RATE_MAX, &ft->value))
		return fail(err, errcap, "%s: BYTES_PER_S must be 1-%u, not '%s'",
			    lab_fault_kind_name(ft->kind), LAB_FAULT_RATE_MAX, argv[0]);
	return 0;
}

static int parse_truncate(struct lab_fault *ft, size_t argc, const char *const *argv, char *err,
			  size_t errcap)
{
	(void)argc;
	if (!parse_uint(argv[0], 0, LAB_FAULT_TRUNCATE_MAX, &ft->value))
		return fail(err, errcap, "http-truncate: BYTES must be 0-%u, not '%s'",
			    LAB_FAULT_TRUNCATE_MAX, argv[0]);
	return 0;
}

static int parse_body(struct lab_fault *ft, size_t argc, const char *const *argv, char *err,
		      size_t errcap)
{
	(void)argc;
	if (!strcmp(argv[0], "wbxml-garbage"))
		ft->body = LAB_BODY_WBXML_GARBAGE;
	else if (!strcmp(argv[0], "wrong-type"))
		ft->body = LAB_BODY_WRONG_TYPE;
	else
		return fail(err, errcap, "http-body: wbxml-garbage or wrong-type, not '%s'",
			    argv[0]);
	return 0;
}

static const char *const cert_names[LAB_CERT_VARIANTS] = {
	[LAB_CERT_WRONG_NAME] = "wrong-name",
	[LAB_CERT_EXPIRED] = "expired",
	[LAB_CERT_UNTRUSTED] = "untrusted",
	[LAB_CERT_SELF_SIGNED] = "self-signed",
};

static int parse_cert(struct lab_fault *ft, size_t argc, const char *const *argv, char *err,
		      size_t errcap)
{
	(void)argc;
	for (unsigned i = 0; i < LAB_CERT_VARIANTS; i++)
		if (!strcmp(argv[0], cert_names[i])) {
			ft->cert = (enum lab_fault_cert)i;
			return 0;
		}
	return fail(err, errcap,
		    "tls-cert: wrong-name, expired, untrusted or self-signed, not '%s'", argv[0]);
}

static int parse_none(struct lab_fault *ft, size_t argc, const char *const *argv, char *err,
		      size_t errcap)
{
	(void)ft, (void)argc, (void)argv, (void)err, (void)errcap;
	return 0;
}

static int parse_apdu_sw(struct lab_fault *ft, size_t argc, const char *const *argv, char *err,
			 size_t errcap)
{
	(void)argc;
	uint32_t ins, sw;
	if (!parse_hex_fixed(argv[0], 2, &ins))
		return fail(err, errcap, "apdu-sw: INS must be 2 hex digits, not '%s'", argv[0]);
	if (!parse_hex_fixed(argv[1], 4, &sw))
		return fail(err, errcap, "apdu-sw: SW must be 4 hex digits, not '%s'", argv[1]);
	/* 61xx/6Cxx are procedure bytes a terminal acts on, 9000 is no fault;
	 * SW1 must be 6x or 9x (ISO 7816-3 §10.3.3). */
	uint8_t sw1 = (uint8_t)(sw >> 8);
	if ((sw1 & 0xF0) != 0x60 && (sw1 & 0xF0) != 0x90)
		return fail(err, errcap, "apdu-sw: SW1 must be 6X or 9X, not '%s'", argv[1]);
	if (sw1 == 0x60)
		return fail(err, errcap, "apdu-sw: SW1 60 is a NULL procedure byte, not a status");
	ft->ins = (uint8_t)ins;
	ft->sw = (uint16_t)sw;
	return 0;
}

static int parse_open_fail(struct lab_fault *ft, size_t argc, const char *const *argv, char *err,
			   size_t errcap)
{
	/* "20", "3A10" or "3A 10": general result then additional information. */
	size_t n = 0;
	for (size_t i = 0; i < argc; i++) {
		size_t got;
		if (hex_decode(argv[i], ft->result + n, sizeof(ft->result) - n, &got) || !got)
			return fail(err, errcap,
				    "bip-open-fail: RESULT must be hex bytes (20, 3A10), at most "
				    "%u, not '%s'",
				    LAB_FAULT_RESULT_MAX, argv[i]);
		n += got;
	}
	uint8_t gr = ft->result[0];
	if (gr < 0x20 || gr > 0x3F)
		return fail(err, errcap,
			    "bip-open-fail: the general result must be 20-3F (a failure), not %02X",
			    gr);
	ft->result_len = n;
	return 0;
}

static const struct kind_info kinds[LAB_FAULT_KINDS] = {
	[LAB_FAULT_HTTP_STATUS] = { "http-status", 1, 1, false, parse_status, "CODE" },
	[LAB_FAULT_HTTP_DELAY] = { "http-delay", 1, 1, false, parse_ms, "MS" },
	[LAB_FAULT_HTTP_DRIP] = { "http-drip", 1, 1, false, parse_rate, "BYTES_PER_S" },
	[LAB_FAULT_HTTP_TRUNCATE] = { "http-truncate", 1, 1, false, parse_truncate, "BYTES" },
	[LAB_FAULT_HTTP_BODY] = { "http-body", 1, 1, false, parse_body,
				  "wbxml-garbage|wrong-type" },
	[LAB_FAULT_TLS_CERT] = { "tls-cert", 1, 1, false, parse_cert,
				 "wrong-name|expired|untrusted|self-signed" },
	[LAB_FAULT_TLS_ALERT] = { "tls-alert", 0, 0, false, parse_none, "" },
	[LAB_FAULT_APDU_SW] = { "apdu-sw", 2, 2, true, parse_apdu_sw, "INS SW" },
	[LAB_FAULT_APDU_DELAY] = { "apdu-delay", 1, 1, true, parse_ms, "MS" },
	[LAB_FAULT_BIP_RATE] = { "bip-rate", 1, 1, true, parse_rate, "BYTES_PER_S" },
	[LAB_FAULT_BIP_DROP] = { "bip-drop", 0, 0, true, parse_none, "" },
	[LAB_FAULT_BIP_OPEN_FAIL] = { "bip-open-fail", 1, 2, true, parse_open_fail, "RESULT" },
};

const char *lab_fault_kind_name(enum lab_fault_kind kind)
{
	return (unsigned)kind < LAB_FAULT_KINDS ? kinds[kind].name : "?";
}

const char *lab_fault_target_name(enum lab_fault_target t)
{
	switch (t) {
	case LAB_TARGET_ANY:
		return "any";
	case LAB_TARGET_SERVER:
		return "server";
	case LAB_TARGET_CARD:
		return "card";
	}
	return "?";
}

const char *lab_fault_cert_name(enum lab_fault_cert c)
{
	return (unsigned)c < LAB_CERT_VARIANTS ? cert_names[c] : "?";
}

struct lab_faults *lab_faults_new(void)
{
	struct lab_faults *f = calloc(1, sizeof(*f));
	if (f)
		f->next_id = 1;
	return f;
}

void lab_faults_free(struct lab_faults *f)
{
	free(f);
}

size_t lab_faults_count(const struct lab_faults *f)
{
	return f ? f->n : 0;
}

/* "key=value" options after the positional arguments. */
static int parse_option(struct lab_fault *ft, const char *tok, unsigned *seen, char *err,
			size_t errcap)
{
	static const char *const keys[] = { "count", "after", "port", "target" };
	const char *eq = strchr(tok, '=');
	size_t klen = (size_t)(eq - tok);
	const char *v = eq + 1;
	unsigned k;
	for (k = 0; k < 4; k++)
		if (strlen(keys[k]) == klen && !memcmp(tok, keys[k], klen))
			break;
	if (k == 4)
		return fail(err, errcap, "unknown option '%.*s' (count=, after=, port=, target=)",
			    (int)klen, tok);
	if (*seen & 1u << k)
		return fail(err, errcap, "%s= given twice", keys[k]);
	*seen |= 1u << k;
	uint32_t n;
	switch (k) {
	case 0:
		if (!parse_uint(v, 0, LAB_FAULT_COUNT_MAX, &n))
			return fail(err, errcap, "count= must be 0-%u, not '%s'",
				    LAB_FAULT_COUNT_MAX, v);
		ft->count = n;
		break;
	case 1:
		if (!parse_uint(v, 0, LAB_FAULT_COUNT_MAX, &n))
			return fail(err, errcap, "after= must be 0-%u, not '%s'",
				    LAB_FAULT_COUNT_MAX, v);
		ft->after = n;
		break;
	case 2:
		if (!parse_uint(v, 1, 65535, &n))
			return fail(err, errcap, "port= must be 1-65535, not '%s'", v);
		ft->port = (uint16_t)n;
		break;
	default:
		if (!strcmp(v, "server"))
			ft->target = LAB_TARGET_SERVER;
		else if (!strcmp(v, "card"))
			ft->target = LAB_TARGET_CARD;
		else
			return fail(err, errcap, "target= must be server or card, not '%s'", v);
		break;
	}
	return 0;
}

static void join_args(struct lab_fault *ft, size_t argc, const char *const *argv)
{
	size_t len = 0;
	ft->args[0] = '\0';
	for (size_t i = 0; i < argc; i++) {
		int w = snprintf(ft->args + len, sizeof(ft->args) - len, "%s%s", i ? " " : "",
				 argv[i]);
		if (w < 0 || (size_t)w >= sizeof(ft->args) - len)
			break; /* cut: the parsers bound every token well below */
		len += (size_t)w;
	}
	/* Hex arguments are shown upper case. */
	if (ft->kind == LAB_FAULT_APDU_SW || ft->kind == LAB_FAULT_BIP_OPEN_FAIL)
		for (char *p = ft->args; *p; p++)
			if (*p >= 'a' && *p <= 'f')
				*p = (char)(*p - 'a' + 'A');
}

int lab_faults_add(struct lab_faults *f, size_t argc, const char *const *argv, char *err,
		   size_t errcap)
{
	if (err && errcap)
		err[0] = '\0';
	if (argc == 0)
		return fail(err, errcap, "fault add: KIND missing");
	unsigned k;
	for (k = 0; k < LAB_FAULT_KINDS; k++)
		if (!strcmp(argv[0], kinds[k].name))
			break;
	if (k == LAB_FAULT_KINDS)
		return fail(
			err, errcap,
			"unknown fault kind '%s' (http-status, http-delay, http-drip, "
			"http-truncate, "
			"http-body, tls-cert, tls-alert, apdu-sw, apdu-delay, bip-rate, bip-drop, "
			"bip-open-fail)",
			argv[0]);
	const struct kind_info *ki = &kinds[k];
	struct lab_fault ft = { .kind = (enum lab_fault_kind)k, .count = 1 };
	size_t npos = 0;
	while (1 + npos < argc && !strchr(argv[1 + npos], '='))
		npos++;
	if (npos < ki->args_min || npos > ki->args_max) {
		if (ki->args_max == 0)
			return fail(err, errcap, "%s takes no argument, not '%s'", ki->name,
				    argv[1]);
		return fail(err, errcap,
			    "usage: %s %s [count=N] [after=N] [port=P] [target=server|card]",
			    ki->name, ki->usage);
	}
	int rc = ki->parse(&ft, npos, argv + 1, err, errcap);
	if (rc)
		return rc;
	unsigned seen = 0;
	for (size_t i = 1 + npos; i < argc; i++) {
		if (!strchr(argv[i], '='))
			return fail(err, errcap, "'%s' after the options: arguments come first",
				    argv[i]);
		rc = parse_option(&ft, argv[i], &seen, err, errcap);
		if (rc)
			return rc;
	}
	if (ki->card_only && ft.target == LAB_TARGET_SERVER)
		return fail(err, errcap, "%s is a card fault: target=server does not apply",
			    ki->name);
	join_args(&ft, npos, argv + 1);

	size_t at = f->n;
	if (at == LAB_FAULTS_MAX) {
		/* Reuse the oldest spent slot, keeping id order. */
		size_t i;
		for (i = 0; i < f->n; i++)
			if (f->slot[i].count && !f->slot[i].left)
				break;
		if (i == f->n) {
			fail(err, errcap, "%u faults armed: clear some first", LAB_FAULTS_MAX);
			return -ENOSPC;
		}
		memmove(&f->slot[i], &f->slot[i + 1], (f->n - i - 1) * sizeof(f->slot[0]));
		at = f->n - 1;
	} else {
		f->n++;
	}
	ft.id = f->next_id++;
	ft.left = ft.count;
	f->slot[at] = ft;
	return (int)ft.id;
}

int lab_faults_clear(struct lab_faults *f, unsigned id)
{
	if (id == 0) {
		f->n = 0;
		return 0;
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->slot[i].id == id) {
			memmove(&f->slot[i], &f->slot[i + 1], (f->n - i - 1) * sizeof(f->slot[0]));
			f->n--;
			return 0;
		}
	return -ENOENT;
}

static bool matches(const struct lab_fault *ft, const struct lab_fault_event *ev)
{
	if (ft->count && !ft->left)
		return false;
	if (ft->port && ft->port != ev->port)
		return false;
	if (ft->target != LAB_TARGET_ANY && ft->target != ev->target)
		return false;
	if (ft->kind == LAB_FAULT_APDU_SW && ft->ins != ev->ins)
		return false;
	return true;
}

const struct lab_fault *lab_faults_fire(struct lab_faults *f, enum lab_fault_kind kind,
					const struct lab_fault_event *ev)
{
	struct lab_fault *hit = NULL;
	if (!f)
		return NULL;
	for (size_t i = 0; i < f->n; i++) {
		struct lab_fault *ft = &f->slot[i];
		if (ft->kind != kind || !matches(ft, ev))
			continue;
		if (ft->skipped < ft->after)
			ft->skipped++;
		else if (!hit)
			hit = ft;
	}
	if (hit) {
		if (hit->count)
			hit->left--;
		hit->fired++;
	}
	return hit;
}

json_t *lab_faults_list(const struct lab_faults *f)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	for (size_t i = 0; f && i < f->n; i++) {
		const struct lab_fault *ft = &f->slot[i];
		json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:o, s:I, s:o, s:s, s:I}", "id",
				      (json_int_t)ft->id, "kind", lab_fault_kind_name(ft->kind),
				      "args", ft->args, "count", (json_int_t)ft->count, "left",
				      ft->count ? json_integer(ft->left) : json_null(), "after",
				      (json_int_t)ft->after, "port",
				      ft->port ? json_integer(ft->port) : json_null(), "target",
				      lab_fault_target_name(ft->target), "fired",
				      (json_int_t)ft->fired);
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
