/* verdict.c - the rules of OMA DM "Bootstrap via HTTPS" (CR, section 5.5.7)
 * applied to the journal; JUnit XML (core/xml escapes the text) and JSON
 * reports. */
#include "config.h"

#include "lab/verdict.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/xml.h"
#include "scws/bootstrap.h"

static const struct {
	const char *id;
	const char *spec;
} rules[LAB_RULE_COUNT] = {
	[LAB_RULE_METHOD] = { "http-method", "The device performs an HTTPS POST (a GET is the "
					     "pre-CR form: warn)." },
	[LAB_RULE_PATH] = { "http-path", "The request goes to the endpoint's exact path "
					 "(/OMA/DM/Bootstrap.xml on the "
					 "SCWS, the configured path on a Bootstrap Server)." },
	[LAB_RULE_HTTPS] = { "https", "The bootstrap is requested over HTTPS (plain HTTP fails)." },
	[LAB_RULE_MULTIPART] = { "form-multipart", "The body MUST be multipart/form-data (RFC "
						   "2388): Content-Type with a boundary, "
						   "a body that parses strictly (RFC 7578 / RFC "
						   "2046: CRLF, close delimiter)." },
	[LAB_RULE_DEVID] = { "devid-present", "devid is mandatory." },
	[LAB_RULE_DEVID_URN] = { "devid-urn", "devid is the device's URN: IMEI: with 15 digits and "
					      "a correct Luhn check digit, "
					      "MEID:, ESN:, or urn:." },
	[LAB_RULE_PART_TYPE] = { "form-part-type", "The form fields are text/plain: a part's "
						   "Content-Type, when given, is text/plain." },
	[LAB_RULE_PASSPHRASE_WITH_USERNAME] = { "passphrase-with-username",
						"passphrase is present exactly when username is." },
	[LAB_RULE_PASSPHRASE_BASE64] = { "passphrase-base64",
					 "passphrase is base64 (RFC 4648): canonical, with "
					 "padding, in the base64 alphabet." },
	[LAB_RULE_PUSH_ADDRESS] = { "push-address-uri", "push-address, when present, is a URI (RFC "
							"3986) for notifications." },
	[LAB_RULE_TLS_VERSION] = { "tls-version",
				   "TLS 1.2 or later (TLS 1.0/1.1 of legacy cards: warn)." },
	[LAB_RULE_TLS_SNI] = { "tls-sni", "On the TCP/IP path the SCWS is localuicc:443: the "
					  "client names localuicc (SNI)." },
	[LAB_RULE_TLS_CERT_CHECK] = { "tls-cert-check",
				      "A client that is presented a bad certificate aborts the "
				      "handshake instead of "
				      "sending a request." },
	[LAB_RULE_FALLBACK] = { "fallback-order",
				"With a Bootstrap Server configured, the SCWS URLs are used only "
				"after the server "
				"answered not available or could not be reached." },
	[LAB_RULE_NO_REFETCH] = { "no-refetch", "After a 200 the client does not fetch the "
						"bootstrap again (warn)." },
	[LAB_RULE_RETRY] = { "retry-after", "After a 404 or 503 the client does not retry sooner "
					    "than Retry-After, nor more "
					    "than a few times (warn)." },
	[LAB_RULE_RECEIVED] = { "bootstrap-received", "The server returns the TNDS bootstrap: a "
						      "client that tried received it." },
};

static const char *const result_names[] = {
	[LAB_VERDICT_NA] = "n/a",
	[LAB_VERDICT_PASS] = "pass",
	[LAB_VERDICT_WARN] = "warn",
	[LAB_VERDICT_FAIL] = "fail",
};

const char *lab_verdict_result_name(enum lab_verdict_result r)
{
	return (unsigned)r <= LAB_VERDICT_FAIL ? result_names[r] : "?";
}

const char *lab_verdict_rule_id(enum lab_verdict_rule r)
{
	return (unsigned)r < LAB_RULE_COUNT ? rules[r].id : "?";
}

const char *lab_verdict_rule_spec(enum lab_verdict_rule r)
{
	return (unsigned)r < LAB_RULE_COUNT ? rules[r].spec : "?";
}

/* ---------------------------------------------------------------- devids */

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return n > 0;
}

/* Luhn over 15 digits (3GPP TS 23.003 §6.2.1, Annex B): the last is the
 * check digit. */
static int luhn_check_digit(const char *d14)
{
	int sum = 0;
	for (int i = 0; i < 14; i++) {
		int v = d14[i] - '0';
		if (i % 2 == 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return (10 - sum % 10) % 10;
}

static bool urn_nid_ok(const char *s, size_t n)
{
	/* RFC 8141 §2: NID = (alphanum) 0*30(ldh) alphanum */
	if (n < 2 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool an =
			(c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
		if (!an && !(c == '-' && i > 0 && i + 1 < n))
			return false;
	}
	return true;
}

const char *lab_verdict_devid_problem(const char *s, char *why, size_t cap)
{
	const char *colon = strchr(s, ':');
	if (!s[0]) {
		snprintf(why, cap, "devid is empty");
		return why;
	}
	if (!colon) {
		snprintf(why, cap, "devid '%s' has no scheme (IMEI:, MEID:, ESN: or urn:)", s);
		return why;
	}
	size_t slen = (size_t)(colon - s);
	const char *v = colon + 1;
	size_t vlen = strlen(v);
	if (slen == 4 && strncasecmp(s, "IMEI", 4) == 0) {
		if (vlen != 15 || !all_digits(v, vlen)) {
			snprintf(why, cap,
				 "devid '%s': an IMEI has 15 digits (14 and the Luhn check "
				 "digit, 3GPP TS 23.003), this one has %zu characters%s",
				 s, vlen, all_digits(v, vlen) ? "" : " and not only digits");
			return why;
		}
		int cd = luhn_check_digit(v);
		if (v[14] - '0' != cd) {
			snprintf(why, cap, "devid '%s': the Luhn check digit should be %d, not %c",
				 s, cd, v[14]);
			return why;
		}
		return NULL;
	}
	if (slen == 4 && strncasecmp(s, "MEID", 4) == 0) {
		/* 3GPP2 S.R0048: 14 hex digits, or 18 decimal digits. */
		if ((vlen == 14 && all_hex(v, vlen)) || (vlen == 18 && all_digits(v, vlen)))
			return NULL;
		snprintf(why, cap, "devid '%s': a MEID is 14 hex digits (or 18 decimal)", s);
		return why;
	}
	if (slen == 3 && strncasecmp(s, "ESN", 3) == 0) {
		/* TIA/EIA-95: 8 hex digits, or 11 decimal digits. */
		if ((vlen == 8 && all_hex(v, vlen)) || (vlen == 11 && all_digits(v, vlen)))
			return NULL;
		snprintf(why, cap, "devid '%s': an ESN is 8 hex digits (or 11 decimal)", s);
		return why;
	}
	if (slen == 3 && strncasecmp(s, "urn", 3) == 0) {
		const char *c2 = strchr(v, ':');
		if (c2 && urn_nid_ok(v, (size_t)(c2 - v)) && c2[1]) {
			for (const char *p = c2 + 1; *p; p++)
				if (*p <= 0x20 || *p >= 0x7F)
					goto bad_urn;
			return NULL;
		}
	bad_urn:
		snprintf(why, cap, "devid '%s' is not a URN (urn:NID:NSS, RFC 8141)", s);
		return why;
	}
	snprintf(why, cap, "devid '%s': scheme '%.*s' is none of IMEI:, MEID:, ESN:, urn:", s,
		 (int)slen, s);
	return why;
}

/* RFC 3986 §3: scheme ":" and the rest in the URI character set. */
static bool uri_ok(const char *s)
{
	static const char other[] = "-._~:/?#[]@!$&'()*+,;=%";
	const char *p = s;
	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
		return false;
	while (*p && *p != ':') {
		bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			  (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.';
		if (!ok)
			return false;
		p++;
	}
	if (*p != ':' || !p[1])
		return false;
	for (p++; *p; p++) {
		bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			  (*p >= '0' && *p <= '9') || strchr(other, *p);
		if (!ok)
			return false;
		if (*p == '%' && !(p[1] && p[2] && strchr("0123456789ABCDEFabcdef", p[1]) &&
				   strchr("0123456789ABCDEFabcdef", p[2])))
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------- clients */

static bool is_request(const struct lab_journal_entry *e)
{
	return e->kind == SCWS_OBS_REQUEST;
}

/* A request that tries to get the bootstrap. */
static bool is_attempt(const struct lab_journal_entry *e)
{
	if (!is_request(e))
		return false;
	if (e->bootstrap || strcasecmp(e->method, "POST") == 0)
		return true;
	for (const char *p = e->path; *p; p++)
		if (strncasecmp(p, "bootstrap", 9) == 0)
			return true;
	return false;
}

static bool is_card(const struct lab_journal_entry *e)
{
	return strcmp(e->transport, "server") != 0;
}

static bool got_bootstrap(const struct lab_journal_entry *e)
{
	return is_attempt(e) && e->bootstrap && e->status == 200 && e->bytes > 0 &&
	       strcasecmp(e->method, "HEAD") != 0;
}

static bool not_available(const struct lab_journal_entry *e)
{
	return e->status == 404 || e->status == 503;
}

static void client_key(const struct lab_journal_entry *e, char *out, size_t cap)
{
	char host[64];
	if (is_request(e) && e->has_devid && e->devid[0]) {
		snprintf(out, cap, "devid %s", e->devid);
		return;
	}
	snprintf(out, cap, "peer %s", lab_journal_peer_host(e->peer, host, sizeof(host)));
}

static bool same_host(const struct lab_journal_entry *a, const struct lab_journal_entry *b)
{
	char ha[64], hb[64];
	return strcmp(lab_journal_peer_host(a->peer, ha, sizeof(ha)),
		      lab_journal_peer_host(b->peer, hb, sizeof(hb))) == 0;
}

/* The client an entry belongs to (see verdict.h). */
static void owner_key(const struct lab_journal *j, size_t i, char *out, size_t cap)
{
	const struct lab_journal_entry *e = lab_journal_at(j, i);
	size_t n = lab_journal_len(j);
	if (is_request(e)) {
		client_key(e, out, cap);
		return;
	}
	if (e->requests) {
		/* its own requests came before it */
		for (size_t k = i; k-- > 0;) {
			const struct lab_journal_entry *r = lab_journal_at(j, k);
			if (is_request(r) && r->conn_id == e->conn_id &&
			    strcmp(r->transport, e->transport) == 0) {
				client_key(r, out, cap);
				return;
			}
		}
	} else {
		for (size_t k = i + 1; k < n; k++) {
			const struct lab_journal_entry *r = lab_journal_at(j, k);
			if (is_request(r) && same_host(r, e)) {
				client_key(r, out, cap);
				return;
			}
		}
		for (size_t k = i; k-- > 0;) {
			const struct lab_journal_entry *r = lab_journal_at(j, k);
			if (is_request(r) && same_host(r, e)) {
				client_key(r, out, cap);
				return;
			}
		}
	}
	client_key(e, out, cap);
}

/* ---------------------------------------------------------------- judging */

__attribute__((format(printf, 3, 4))) static void judge(struct lab_verdict_item *it,
							enum lab_verdict_result r, const char *fmt,
							...)
{
	if (r <= it->result && it->result != LAB_VERDICT_NA)
		return; /* the first reason of the worst result stays */
	if (r == LAB_VERDICT_NA && it->result != LAB_VERDICT_NA)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
	va_end(ap);
	it->result = r;
}

static const char *clock_of(int64_t ms, char *out, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&s, &tm)) {
		snprintf(out, cap, "?");
		return out;
	}
	snprintf(out, cap, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ms % 1000));
	return out;
}

/* "POST /OMA/DM/Bootstrap.xml (bip, 127.0.0.1:4116, 18:40:01.123)" */
static const char *seen(const struct lab_journal_entry *e, char *out, size_t cap)
{
	char t[16];
	clock_of(e->start_ms, t, sizeof(t));
	if (is_request(e))
		snprintf(out, cap, "%s %s%s (%s, %s, %s)", e->method[0] ? e->method : "?",
			 e->path[0] ? e->path : "?", e->has_query ? "?..." : "", e->transport,
			 e->local, t);
	else
		snprintf(out, cap, "connection %llu (%s, %s, %s)", (unsigned long long)e->conn_id,
			 e->transport, e->local, t);
	return out;
}

static void rule_method(struct lab_verdict_item *it, const struct lab_journal_entry *e,
			const char *s)
{
	if (strcmp(e->method, "POST") == 0)
		judge(it, LAB_VERDICT_PASS, "%s", s);
	else if (strcmp(e->method, "GET") == 0 || strcmp(e->method, "HEAD") == 0)
		judge(it, LAB_VERDICT_WARN,
		      "%s: the pre-CR form; the CR asks for a POST with a "
		      "multipart/form-data body",
		      s);
	else
		judge(it, LAB_VERDICT_FAIL,
		      "%s: answered %d; the bootstrap is requested with "
		      "POST",
		      s, e->status);
}

static void rule_path(struct lab_verdict_item *it, const struct lab_journal_entry *e, const char *s)
{
	if (!e->bootstrap)
		judge(it, LAB_VERDICT_FAIL,
		      "%s: not the endpoint's path (%s on the SCWS), "
		      "answered %d",
		      s, SCWS_BOOTSTRAP_PATH, e->status);
	else if (e->has_query)
		judge(it, LAB_VERDICT_WARN, "%s: the endpoint's path with a query string", s);
	else
		judge(it, LAB_VERDICT_PASS, "%s", s);
}

static void rule_https(struct lab_verdict_item *it, const struct lab_journal_entry *e,
		       const char *s)
{
	if (e->https)
		judge(it, LAB_VERDICT_PASS, "%s over %s", s,
		      e->tls_version[0] ? e->tls_version : "TLS");
	else
		judge(it, LAB_VERDICT_FAIL, "%s: plain HTTP (answered %d)", s, e->status);
}

static bool is_post(const struct lab_journal_entry *e)
{
	return strcmp(e->method, "POST") == 0;
}

static bool known_field(const char *name)
{
	return !strcmp(name, "devid") || !strcmp(name, "username") || !strcmp(name, "passphrase") ||
	       !strcmp(name, "push-address");
}

static void rule_form(struct lab_verdict_client *c, const struct lab_journal_entry *e,
		      const char *s)
{
	char why[200];
	if (!is_post(e)) {
		judge(&c->rule[LAB_RULE_MULTIPART], LAB_VERDICT_NA, "%s: no body (not a POST)", s);
		judge(&c->rule[LAB_RULE_DEVID], LAB_VERDICT_NA, "%s: no form (not a POST)", s);
		judge(&c->rule[LAB_RULE_DEVID_URN], LAB_VERDICT_NA, "no devid sent");
		judge(&c->rule[LAB_RULE_PART_TYPE], LAB_VERDICT_NA, "no form sent");
		judge(&c->rule[LAB_RULE_PASSPHRASE_WITH_USERNAME], LAB_VERDICT_NA, "no form sent");
		judge(&c->rule[LAB_RULE_PASSPHRASE_BASE64], LAB_VERDICT_NA, "no passphrase sent");
		judge(&c->rule[LAB_RULE_PUSH_ADDRESS], LAB_VERDICT_NA, "no push-address sent");
		return;
	}
	struct lab_verdict_item *it = &c->rule[LAB_RULE_MULTIPART];
	bool is_mp = strncasecmp(e->content_type, "multipart/form-data", 19) == 0;
	if (!e->content_type[0])
		judge(it, LAB_VERDICT_FAIL, "%s: no Content-Type", s);
	else if (!is_mp)
		judge(it, LAB_VERDICT_FAIL, "%s: Content-Type: %s", s, e->content_type);
	else if (!strcasestr(e->content_type, "boundary="))
		judge(it, LAB_VERDICT_FAIL, "%s: Content-Type: %s has no boundary", s,
		      e->content_type);
	else if (e->form_error[0])
		judge(it, LAB_VERDICT_FAIL, "%s: the body does not parse: %s", s, e->form_error);
	else
		judge(it, LAB_VERDICT_PASS, "%s: Content-Type: %s, %zu parts", s, e->content_type,
		      e->n_parts);

	it = &c->rule[LAB_RULE_DEVID];
	if (!e->has_devid)
		judge(it, LAB_VERDICT_FAIL, "%s: no devid field%s%s", s,
		      e->form_error[0] ? " (" : "", e->form_error[0] ? "body did not parse)" : "");
	else if (!e->devid[0])
		judge(it, LAB_VERDICT_FAIL, "%s: devid empty", s);
	else
		judge(it, LAB_VERDICT_PASS, "%s: devid %s", s, e->devid);

	it = &c->rule[LAB_RULE_DEVID_URN];
	if (e->has_devid && e->devid[0]) {
		if (lab_verdict_devid_problem(e->devid, why, sizeof(why)))
			judge(it, LAB_VERDICT_FAIL, "%s: %s", s, why);
		else
			judge(it, LAB_VERDICT_PASS, "devid %s", e->devid);
	} else {
		judge(it, LAB_VERDICT_NA, "no devid sent");
	}

	it = &c->rule[LAB_RULE_PART_TYPE];
	bool any = false;
	for (size_t i = 0; i < e->n_parts; i++) {
		const struct lab_journal_part *p = &e->parts[i];
		if (!known_field(p->name))
			continue;
		any = true;
		if (p->content_type[0] && strcasecmp(p->content_type, "text/plain") != 0)
			judge(it, LAB_VERDICT_FAIL, "%s: part %s has Content-Type %s", s, p->name,
			      p->content_type);
		else
			judge(it, LAB_VERDICT_PASS, "%s: parts text/plain%s", s,
			      p->content_type[0] ? "" : " (no Content-Type: the default)");
	}
	if (!any)
		judge(it, LAB_VERDICT_NA, "no form field part");

	it = &c->rule[LAB_RULE_PASSPHRASE_WITH_USERNAME];
	if (e->has_username && !e->has_passphrase)
		judge(it, LAB_VERDICT_FAIL, "%s: username '%s' without passphrase", s, e->username);
	else if (!e->has_username && e->has_passphrase)
		judge(it, LAB_VERDICT_FAIL, "%s: passphrase (%zu bytes) without username", s,
		      e->passphrase_size);
	else if (e->has_username)
		judge(it, LAB_VERDICT_PASS, "%s: username '%s' and a passphrase of %zu bytes", s,
		      e->username, e->passphrase_size);
	else
		judge(it, LAB_VERDICT_NA, "neither username nor passphrase sent");

	it = &c->rule[LAB_RULE_PASSPHRASE_BASE64];
	if (!e->has_passphrase)
		judge(it, LAB_VERDICT_NA, "no passphrase sent");
	else if (strcmp(e->passphrase_base64, "ok") != 0)
		judge(it, LAB_VERDICT_FAIL, "%s: passphrase of %zu bytes: %s", s,
		      e->passphrase_size, e->passphrase_base64);
	else
		judge(it, LAB_VERDICT_PASS, "%s: passphrase of %zu bytes, canonical base64", s,
		      e->passphrase_size);

	it = &c->rule[LAB_RULE_PUSH_ADDRESS];
	if (!e->has_push_address)
		judge(it, LAB_VERDICT_NA, "no push-address sent");
	else if (!uri_ok(e->push_address))
		judge(it, LAB_VERDICT_FAIL, "%s: push-address '%s' is not a URI", s,
		      e->push_address);
	else
		judge(it, LAB_VERDICT_PASS, "push-address %s", e->push_address);
}

static void rule_tls(struct lab_verdict_client *c, const struct lab_journal_entry *e, const char *s)
{
	struct lab_verdict_item *it = &c->rule[LAB_RULE_TLS_VERSION];
	const char *v = e->tls_version;
	if (v[0]) {
		if (!strcmp(v, "TLSv1.2") || !strcmp(v, "TLSv1.3"))
			judge(it, LAB_VERDICT_PASS, "%s: %s, %s", s, v, e->cipher);
		else if (!strcmp(v, "TLSv1") || !strcmp(v, "TLSv1.1"))
			judge(it, LAB_VERDICT_WARN, "%s: %s (%s): below TLS 1.2, legacy cards only",
			      s, v, e->cipher);
		else
			judge(it, LAB_VERDICT_FAIL, "%s: %s", s, v);
	}
	it = &c->rule[LAB_RULE_TLS_SNI];
	if (strcmp(e->transport, "tcpip") == 0 && e->has_tls && (e->handshake_done || v[0])) {
		if (!e->sni[0])
			judge(it, LAB_VERDICT_WARN,
			      "%s: no SNI (the server was addressed by IP, "
			      "not as localuicc)",
			      s);
		else if (strcasecmp(e->sni, "localuicc") != 0)
			judge(it, LAB_VERDICT_FAIL, "%s: SNI '%s', not localuicc", s, e->sni);
		else
			judge(it, LAB_VERDICT_PASS, "%s: SNI localuicc", s);
	}
	it = &c->rule[LAB_RULE_TLS_CERT_CHECK];
	if (strncmp(e->fault, "tls-cert", 8) == 0) {
		if (is_request(e))
			judge(it, LAB_VERDICT_FAIL,
			      "%s: sent a request over a connection that "
			      "presented a bad certificate (%s): it does not check certificates",
			      s, e->fault);
		else if (!e->requests)
			judge(it, LAB_VERDICT_PASS,
			      "%s: aborted the handshake after a bad "
			      "certificate (%s): %s",
			      s, e->fault, e->alert[0] ? e->alert : "closed");
	}
}

static void judge_client(struct lab_verdict_client *c, const struct lab_journal *j,
			 const size_t *idx, size_t n, const struct lab_verdict_ctx *ctx)
{
	char s[256], t[16];
	const struct lab_journal_entry *first_200 = NULL;
	unsigned retries_max = ctx->retries_max ? ctx->retries_max : LAB_RETRIES_MAX;
	char order[256] = "";
	size_t olen = 0, later = 0;
	const char *last_alert = NULL;
	bool plain_to_tls = false;

	for (size_t k = 0; k < n; k++) {
		const struct lab_journal_entry *e = lab_journal_at(j, idx[k]);
		seen(e, s, sizeof(s));
		rule_tls(c, e, s);
		if (!is_request(e)) {
			c->connections++;
			if (e->alert[0])
				last_alert = e->alert;
			if (strstr(e->alert, "http request")) {
				plain_to_tls = true;
				judge(&c->rule[LAB_RULE_HTTPS], LAB_VERDICT_FAIL,
				      "%s: plain HTTP sent to a TLS port (%s)", s, e->alert);
			}
			continue;
		}
		if (!is_attempt(e))
			continue;
		c->requests++;
		if (olen + 1 < sizeof(order))
			olen += (size_t)snprintf(order + olen, sizeof(order) - olen,
						 "%s%s %s -> %d", olen ? ", " : "", e->transport,
						 e->local, e->status);
		if (olen >= sizeof(order))
			olen = sizeof(order) - 1;
		rule_method(&c->rule[LAB_RULE_METHOD], e, s);
		rule_path(&c->rule[LAB_RULE_PATH], e, s);
		rule_https(&c->rule[LAB_RULE_HTTPS], e, s);
		rule_form(c, e, s);
		if (first_200)
			later++;
		if (!first_200 && got_bootstrap(e)) {
			first_200 = e;
			c->received = true;
		}
	}
	(void)plain_to_tls;

	static const char *const none[LAB_RULE_COUNT] = {
		[LAB_RULE_METHOD] = "no bootstrap request",
		[LAB_RULE_PATH] = "no bootstrap request",
		[LAB_RULE_HTTPS] = "no bootstrap request",
		[LAB_RULE_MULTIPART] = "no bootstrap request",
		[LAB_RULE_DEVID] = "no bootstrap request",
		[LAB_RULE_DEVID_URN] = "no devid sent",
		[LAB_RULE_PART_TYPE] = "no form sent",
		[LAB_RULE_PASSPHRASE_WITH_USERNAME] = "no form sent",
		[LAB_RULE_PASSPHRASE_BASE64] = "no passphrase sent",
		[LAB_RULE_PUSH_ADDRESS] = "no push-address sent",
		[LAB_RULE_TLS_VERSION] = "no TLS handshake completed",
		[LAB_RULE_TLS_SNI] = "not on the TCP/IP path (localuicc)",
		[LAB_RULE_TLS_CERT_CHECK] = "no tls-cert fault acted on this client's connections",
	};
	for (int r = 0; r < LAB_RULE_COUNT; r++)
		if (c->rule[r].result == LAB_VERDICT_NA && !c->rule[r].reason[0] && none[r])
			judge(&c->rule[r], LAB_VERDICT_NA, "%s", none[r]);

	/* Rules over the story. */
	struct lab_verdict_item *it = &c->rule[LAB_RULE_RECEIVED];
	if (first_200)
		judge(it, LAB_VERDICT_PASS, "%zu bytes by %s", first_200->bytes,
		      seen(first_200, s, sizeof(s)));
	else if (c->requests)
		judge(it, LAB_VERDICT_FAIL,
		      "%zu requests, none answered 200 with the bootstrap: %s", c->requests, order);
	else
		judge(it, LAB_VERDICT_FAIL, "%zu connections, no bootstrap request%s%s",
		      c->connections, last_alert ? ": " : "", last_alert ? last_alert : "");

	it = &c->rule[LAB_RULE_NO_REFETCH];
	if (!first_200) {
		judge(it, LAB_VERDICT_NA, "never received the bootstrap");
	} else if (later) {
		const struct lab_journal_entry *next = NULL;
		for (size_t k = 0; k < n && !next; k++) {
			const struct lab_journal_entry *e = lab_journal_at(j, idx[k]);
			if (e->seq > first_200->seq && is_attempt(e))
				next = e;
		}
		judge(it, LAB_VERDICT_WARN, "%zu more requests after the 200 at %s, the first %s",
		      later, clock_of(first_200->start_ms, t, sizeof(t)),
		      next ? seen(next, s, sizeof(s)) : "?");
	} else {
		judge(it, LAB_VERDICT_PASS, "one 200, no request after it");
	}

	/* Retries after "not available", per side (server, card). */
	it = &c->rule[LAB_RULE_RETRY];
	for (int side = 0; side < 2; side++) {
		const struct lab_journal_entry *prev = NULL;
		unsigned retries = 0;
		for (size_t k = 0; k < n; k++) {
			const struct lab_journal_entry *e = lab_journal_at(j, idx[k]);
			if (!is_attempt(e) || is_card(e) != (side == 1))
				continue;
			if (prev && not_available(prev)) {
				retries++;
				int64_t gap =
					e->start_ms - (prev->start_ms + (int64_t)prev->duration_ms);
				if (prev->retry_after_s &&
				    gap < (int64_t)prev->retry_after_s * 1000)
					judge(it, LAB_VERDICT_WARN,
					      "%s came %.1f s after a %d with "
					      "Retry-After: %u",
					      seen(e, s, sizeof(s)), (double)gap / 1000.0,
					      prev->status, prev->retry_after_s);
				if (retries > retries_max)
					judge(it, LAB_VERDICT_WARN,
					      "%u retries after %d on the %s "
					      "(at most %u), the last %s",
					      retries, prev->status,
					      side ? "SCWS" : "Bootstrap Server", retries_max,
					      seen(e, s, sizeof(s)));
				else
					judge(it, LAB_VERDICT_PASS,
					      "%u retries after %d on the %s, "
					      "none early",
					      retries, prev->status,
					      side ? "SCWS" : "Bootstrap Server");
			}
			prev = e;
		}
	}
	if (it->result == LAB_VERDICT_NA)
		judge(it, LAB_VERDICT_NA, "no retry after a 404 or 503");

	/* Fallback order. */
	it = &c->rule[LAB_RULE_FALLBACK];
	if (!ctx->has_server) {
		judge(it, LAB_VERDICT_NA, "no Bootstrap Server configured");
		return;
	}
	const struct lab_journal_entry *srv_no = NULL, *srv_ok = NULL, *card = NULL;
	for (size_t k = 0; k < n && !card; k++) {
		const struct lab_journal_entry *e = lab_journal_at(j, idx[k]);
		if (is_card(e)) {
			if (is_attempt(e))
				card = e;
			continue;
		}
		if (is_attempt(e) && got_bootstrap(e))
			srv_ok = e;
		else if ((is_attempt(e) && e->status != 200) || (!is_request(e) && !e->requests))
			srv_no = e;
	}
	if (!card)
		judge(it, LAB_VERDICT_NA, "did not use the SCWS URLs%s%s", olen ? ": " : "", order);
	else if (srv_ok)
		judge(it, LAB_VERDICT_FAIL,
		      "went to the SCWS (%s) although the Bootstrap Server "
		      "had served the bootstrap (%s); order: %s",
		      seen(card, s, sizeof(s)), clock_of(srv_ok->start_ms, t, sizeof(t)), order);
	else if (!srv_no)
		judge(it, LAB_VERDICT_FAIL,
		      "went to the SCWS (%s) without asking the Bootstrap "
		      "Server first; order: %s",
		      seen(card, s, sizeof(s)), order);
	else
		judge(it, LAB_VERDICT_PASS, "the SCWS after the Bootstrap Server %s; order: %s",
		      is_request(srv_no) ? "said not available" : "could not be used", order);
}

int lab_verdict_judge(const struct lab_journal *j, const struct lab_verdict_ctx *ctx,
		      struct lab_verdicts **out)
{
	size_t n = lab_journal_len(j);
	struct lab_verdicts *v = calloc(1, sizeof(*v));
	char(*keys)[160] = n ? calloc(n, sizeof(*keys)) : NULL;
	size_t *owner = n ? calloc(n, sizeof(*owner)) : NULL;
	size_t *idx = n ? calloc(n, sizeof(*idx)) : NULL;
	int rc = -ENOMEM;
	*out = NULL;
	if (!v || (n && (!keys || !owner || !idx)))
		goto err;
	v->clients = calloc(LAB_CLIENTS_MAX, sizeof(*v->clients));
	if (!v->clients)
		goto err;
	for (size_t i = 0; i < n; i++) {
		owner_key(j, i, keys[i], sizeof(keys[i]));
		size_t c;
		for (c = 0; c < v->n_clients; c++)
			if (strcmp(v->clients[c].name, keys[i]) == 0)
				break;
		if (c == v->n_clients) {
			if (v->n_clients == LAB_CLIENTS_MAX) {
				v->clients_dropped++;
				owner[i] = SIZE_MAX;
				continue;
			}
			snprintf(v->clients[v->n_clients++].name, sizeof(v->clients[0].name), "%s",
				 keys[i]);
		}
		owner[i] = c;
	}
	for (size_t c = 0; c < v->n_clients; c++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (owner[i] == c)
				idx[m++] = i;
		judge_client(&v->clients[c], j, idx, m, ctx);
		if (v->clients[c].received)
			v->any_fetched = true;
	}
	*out = v;
	v = NULL;
	rc = 0;
err:
	free(keys);
	free(owner);
	free(idx);
	lab_verdicts_free(v);
	return rc;
}

void lab_verdicts_free(struct lab_verdicts *v)
{
	if (!v)
		return;
	free(v->clients);
	free(v);
}

enum lab_verdict_result lab_verdict_client_worst(const struct lab_verdict_client *c)
{
	enum lab_verdict_result w = LAB_VERDICT_NA;
	for (int r = 0; r < LAB_RULE_COUNT; r++)
		if (c->rule[r].result > w)
			w = c->rule[r].result;
	return w;
}

enum lab_verdict_result lab_verdict_worst(const struct lab_verdicts *v)
{
	enum lab_verdict_result w = LAB_VERDICT_NA;
	for (size_t c = 0; c < v->n_clients; c++) {
		enum lab_verdict_result x = lab_verdict_client_worst(&v->clients[c]);
		if (x > w)
			w = x;
	}
	return w;
}

int lab_verdict_exit_status(const struct lab_verdicts *v)
{
	if (!v->n_clients)
		return 4;
	return lab_verdict_worst(v) == LAB_VERDICT_FAIL ? 3 : 0;
}

/* ---------------------------------------------------------------- reports */

static size_t count(const struct lab_verdict_client *c, enum lab_verdict_result r)
{
	size_t k = 0;
	for (int i = 0; i < LAB_RULE_COUNT; i++)
		k += c->rule[i].result == r;
	return k;
}

/* ' name="value"', the value escaped. */
static int attr(struct buf *b, const char *name, const char *value)
{
	int rc = buf_append_str(b, " ");
	rc = rc ? rc : buf_append_str(b, name);
	rc = rc ? rc : buf_append_str(b, "=\"");
	rc = rc ? rc : xml_put_escaped(b, value, true);
	return rc ? rc : buf_append_str(b, "\"");
}

static int attr_n(struct buf *b, const char *name, size_t n)
{
	char text[24];
	snprintf(text, sizeof(text), "%zu", n);
	return attr(b, name, text);
}

/* '<name tests=".." failures=".." skipped=".." errors="0"' of a suite. */
static int suite_open(struct buf *b, const char *indent, const char *tag, const char *name,
		      size_t tests, size_t fails, size_t skips)
{
	int rc = buf_append_str(b, indent);
	rc = rc ? rc : buf_append_str(b, tag);
	rc = rc ? rc : attr(b, "name", name);
	rc = rc ? rc : attr_n(b, "tests", tests);
	rc = rc ? rc : attr_n(b, "failures", fails);
	rc = rc ? rc : attr_n(b, "skipped", skips);
	rc = rc ? rc : attr(b, "errors", "0");
	return rc ? rc : buf_append_str(b, ">\n");
}

/* One <testcase>: a <failure> with the rule's clause, a <skipped>, or the
 * result and reason as <system-out>. */
static int testcase(struct buf *b, const struct lab_verdict_client *cl, int r)
{
	const struct lab_verdict_item *it = &cl->rule[r];
	int rc = buf_append_str(b, "  <testcase");
	rc = rc ? rc : attr(b, "name", rules[r].id);
	rc = rc ? rc : attr(b, "classname", cl->name);
	rc = rc ? rc : buf_append_str(b, ">\n");
	if (it->result == LAB_VERDICT_FAIL) {
		rc = rc ? rc : buf_append_str(b, "   <failure");
		rc = rc ? rc : attr(b, "type", rules[r].id);
		rc = rc ? rc : attr(b, "message", it->reason);
		rc = rc ? rc : buf_append_str(b, ">");
		rc = rc ? rc : xml_put_escaped(b, rules[r].spec, false);
		rc = rc ? rc : buf_append_str(b, "</failure>\n");
	} else if (it->result == LAB_VERDICT_NA) {
		rc = rc ? rc : buf_append_str(b, "   <skipped");
		rc = rc ? rc : attr(b, "message", it->reason);
		rc = rc ? rc : buf_append_str(b, "/>\n");
	} else {
		rc = rc ? rc : buf_append_str(b, "   <system-out>");
		rc = rc ? rc : xml_put_escaped(b, lab_verdict_result_name(it->result), false);
		rc = rc ? rc : buf_append_str(b, ": ");
		rc = rc ? rc : xml_put_escaped(b, it->reason, false);
		rc = rc ? rc : buf_append_str(b, "</system-out>\n");
	}
	return rc ? rc : buf_append_str(b, "  </testcase>\n");
}

int lab_verdict_junit(const struct lab_verdicts *v, struct buf *out)
{
	size_t fails = 0, skips = 0, tests = 0;
	for (size_t c = 0; c < v->n_clients; c++) {
		fails += count(&v->clients[c], LAB_VERDICT_FAIL);
		skips += count(&v->clients[c], LAB_VERDICT_NA);
		tests += LAB_RULE_COUNT;
	}
	int rc = buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	rc = rc ? rc : suite_open(out, "", "<testsuites", "scwsemu verdicts", tests, fails, skips);
	for (size_t c = 0; c < v->n_clients && !rc; c++) {
		const struct lab_verdict_client *cl = &v->clients[c];
		rc = suite_open(out, " ", "<testsuite", cl->name, LAB_RULE_COUNT,
				count(cl, LAB_VERDICT_FAIL), count(cl, LAB_VERDICT_NA));
		for (int r = 0; r < LAB_RULE_COUNT && !rc; r++)
			rc = testcase(out, cl, r);
		rc = rc ? rc : buf_append_str(out, " </testsuite>\n");
	}
	return rc ? rc : buf_append_str(out, "</testsuites>\n");
}

json_t *lab_verdict_json(const struct lab_verdicts *v)
{
	json_t *o = json_object(), *a = json_array();
	int rc = 0;
	if (!o || !a || json_object_set_new(o, "clients", a)) {
		json_decref(o);
		if (!o)
			json_decref(a);
		return NULL;
	}
	rc |= json_object_set_new(o, "result",
				  json_string(lab_verdict_result_name(lab_verdict_worst(v))));
	rc |= json_object_set_new(o, "exit_status", json_integer(lab_verdict_exit_status(v)));
	if (v->clients_dropped)
		rc |= json_object_set_new(o, "clients_not_judged",
					  json_integer((json_int_t)v->clients_dropped));
	for (size_t c = 0; c < v->n_clients && !rc; c++) {
		const struct lab_verdict_client *cl = &v->clients[c];
		json_t *co = json_object(), *ra = json_array();
		if (!co || !ra || json_array_append_new(a, co) ||
		    json_object_set_new(co, "rules", ra)) {
			json_decref(ra);
			rc = 1;
			break;
		}
		rc |= json_object_set_new(co, "client", json_string(cl->name));
		rc |= json_object_set_new(
			co, "result",
			json_string(lab_verdict_result_name(lab_verdict_client_worst(cl))));
		rc |= json_object_set_new(co, "requests", json_integer((json_int_t)cl->requests));
		rc |= json_object_set_new(co, "connections",
					  json_integer((json_int_t)cl->connections));
		rc |= json_object_set_new(co, "received", json_boolean(cl->received));
		for (int r = 0; r < LAB_RULE_COUNT && !rc; r++) {
			json_t *ro = json_pack("{s:s, s:s, s:s, s:s}", "id", rules[r].id, "result",
					       lab_verdict_result_name(cl->rule[r].result),
					       "reason", cl->rule[r].reason, "spec", rules[r].spec);
			if (!ro || json_array_append_new(ra, ro))
				rc = 1;
		}
	}
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int lab_verdict_text(const struct lab_verdicts *v, struct buf *out)
{
	int rc = 0;
	if (!v->n_clients)
		return buf_printf(out, "scwsemu verdict: no client came (exit 4)\n");
	rc |= buf_printf(out, "scwsemu verdict: %s, %zu client%s (exit %d)\n",
			 lab_verdict_result_name(lab_verdict_worst(v)), v->n_clients,
			 v->n_clients == 1 ? "" : "s", lab_verdict_exit_status(v));
	for (size_t c = 0; c < v->n_clients && !rc; c++) {
		const struct lab_verdict_client *cl = &v->clients[c];
		rc |= buf_printf(out, "  %s: %s (%zu requests, %zu connections)\n", cl->name,
				 lab_verdict_result_name(lab_verdict_client_worst(cl)),
				 cl->requests, cl->connections);
		for (int r = 0; r < LAB_RULE_COUNT && !rc; r++)
			if (cl->rule[r].result == LAB_VERDICT_FAIL ||
			    cl->rule[r].result == LAB_VERDICT_WARN)
				rc |= buf_printf(out, "    %s %s: %s\n",
						 lab_verdict_result_name(cl->rule[r].result),
						 rules[r].id, cl->rule[r].reason);
	}
	return rc ? -ENOMEM : 0;
}
