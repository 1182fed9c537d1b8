/* test_lab_verdict.c - unit tests for src/lab/verdict.c: per rule, a table
 * of journals (pass, fail, warn, n/a rows) judged and the result checked
 * with a word of the reason; devid URNs; clients and connections; exit
 * status; the JUnit report read back with libxml2 (testsuites / testsuite /
 * testcase / failure | skipped) and the JSON report. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lab/verdict.h"
#include "runner.h"

#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#define T0 1764870000000LL
#define GOOD_DEVID "IMEI:490154203237518"

/* A correct CR request over BIP; rows override what they test. */
#define POST_OK                                                                               \
	.kind = SCWS_OBS_REQUEST, .conn_id = 1, .start_ms = T0, .duration_ms = 5,             \
	.transport = "bip", .local = "port 4116", .peer = "channel 1", .https = true,         \
	.tls_version = "TLSv1.3", .cipher = "TLS_AES_128_GCM_SHA256", .handshake_done = true, \
	.method = "POST", .path = "/OMA/DM/Bootstrap.xml", .bootstrap = true,                 \
	.content_type = "multipart/form-data; boundary=b", .devid = GOOD_DEVID,               \
	.parts = devid_part, .n_parts = 1, .status = 200, .bytes = 300

#define CONN(tr)                                                                    \
	.kind = SCWS_OBS_CONNECTION, .conn_id = 9, .start_ms = T0, .transport = tr, \
	.local = "port 4116", .peer = "channel 1"

static const struct scws_obs_part devid_part[] = { { "devid", 20, "text/plain" } };
static const struct scws_obs_part devid_octet[] = { { "devid", 20, "application/octet-stream" } };
static const struct scws_obs_part devid_bare[] = { { "devid", 20, NULL } };

struct row {
	const char *name;
	enum lab_verdict_rule rule;
	enum lab_verdict_result want;
	const char *reason_has; /* a piece of the reason, or NULL */
	bool has_server;
	size_t n;
	struct scws_obs rec[6];
};

static void run_rows(const struct row *rows, size_t nrows)
{
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		struct lab_journal *j = lab_journal_new(0);
		struct lab_verdicts *v = NULL;
		struct lab_verdict_ctx ctx = { .has_server = r->has_server };
		for (size_t k = 0; k < r->n; k++)
			CU_ASSERT_PTR_NOT_NULL(lab_journal_add(j, &r->rec[k]));
		CU_ASSERT_EQUAL_FATAL(lab_verdict_judge(j, &ctx, &v), 0);
		CU_ASSERT_EQUAL_FATAL(v->n_clients, 1);
		const struct lab_verdict_item *it = &v->clients[0].rule[r->rule];
		if (it->result != r->want ||
		    (r->reason_has && !strstr(it->reason, r->reason_has)) || !it->reason[0]) {
			fprintf(stderr, "\n%s: %s: got %s (%s), want %s with '%s'\n", r->name,
				lab_verdict_rule_id(r->rule), lab_verdict_result_name(it->result),
				it->reason, lab_verdict_result_name(r->want),
				r->reason_has ? r->reason_has : "");
			CU_FAIL("verdict");
		}
		lab_verdicts_free(v);
		lab_journal_free(j);
	}
}

#define ROWS(t) run_rows(t, sizeof(t) / sizeof(t[0]))

static void test_method_path_https(void)
{
	/* clang-format off */
	static const struct row t[] = {
		{ "post", LAB_RULE_METHOD, LAB_VERDICT_PASS, "POST", false, 1, { { POST_OK } } },
		{ "get", LAB_RULE_METHOD, LAB_VERDICT_WARN, "pre-CR", false, 1,
		  { { POST_OK, .method = "GET", .devid = NULL, .n_parts = 0 } } },
		{ "put", LAB_RULE_METHOD, LAB_VERDICT_FAIL, "PUT", false, 1,
		  { { POST_OK, .method = "PUT", .status = 405 } } },
		{ "no request", LAB_RULE_METHOD, LAB_VERDICT_NA, "no bootstrap request", false, 1,
		  { { CONN("bip"), .alert = "x" } } },
		{ "exact", LAB_RULE_PATH, LAB_VERDICT_PASS, NULL, false, 1, { { POST_OK } } },
		{ "query", LAB_RULE_PATH, LAB_VERDICT_WARN, "query", false, 1,
		  { { POST_OK, .has_query = true } } },
		{ "case", LAB_RULE_PATH, LAB_VERDICT_FAIL, "/OMA/DM/bootstrap.xml", false, 1,
		  { { POST_OK, .path = "/OMA/DM/bootstrap.xml", .bootstrap = false, .status = 404 } } },
		{ "tls", LAB_RULE_HTTPS, LAB_VERDICT_PASS, "TLSv1.3", false, 1, { { POST_OK } } },
		{ "plain", LAB_RULE_HTTPS, LAB_VERDICT_FAIL, "plain HTTP", false, 1,
		  { { POST_OK, .https = false, .tls_version = NULL, .status = 403 } } },
		{ "plain to tls port", LAB_RULE_HTTPS, LAB_VERDICT_FAIL, "TLS port", false, 1,
		  { { CONN("tcpip"), .alert = "http request (sent fatal alert: unexpected message)" } } },
	};
	/* clang-format on */
	ROWS(t);
}

static void test_form(void)
{
	/* clang-format off */
	static const struct row t[] = {
		{ "multipart", LAB_RULE_MULTIPART, LAB_VERDICT_PASS, "boundary", false, 1,
		  { { POST_OK } } },
		{ "urlencoded", LAB_RULE_MULTIPART, LAB_VERDICT_FAIL, "x-www-form-urlencoded", false,
		  1, { { POST_OK, .content_type = "application/x-www-form-urlencoded", .status = 415 } } },
		{ "no content-type", LAB_RULE_MULTIPART, LAB_VERDICT_FAIL, "no Content-Type", false,
		  1, { { POST_OK, .content_type = NULL, .status = 415 } } },
		{ "no boundary", LAB_RULE_MULTIPART, LAB_VERDICT_FAIL, "no boundary", false, 1,
		  { { POST_OK, .content_type = "multipart/form-data", .status = 400 } } },
		{ "bad body", LAB_RULE_MULTIPART, LAB_VERDICT_FAIL, "close delimiter", false, 1,
		  { { POST_OK, .form_error = "the body ends before the close delimiter",
		      .status = 400 } } },
		{ "get", LAB_RULE_MULTIPART, LAB_VERDICT_NA, NULL, false, 1,
		  { { POST_OK, .method = "GET", .devid = NULL } } },
		{ "devid", LAB_RULE_DEVID, LAB_VERDICT_PASS, GOOD_DEVID, false, 1, { { POST_OK } } },
		{ "no devid", LAB_RULE_DEVID, LAB_VERDICT_FAIL, "no devid", false, 1,
		  { { POST_OK, .devid = NULL, .n_parts = 0, .status = 400 } } },
		{ "empty devid", LAB_RULE_DEVID, LAB_VERDICT_FAIL, "empty", false, 1,
		  { { POST_OK, .devid = "", .status = 400 } } },
		{ "get devid", LAB_RULE_DEVID, LAB_VERDICT_NA, NULL, false, 1,
		  { { POST_OK, .method = "GET", .devid = NULL } } },
		{ "imei", LAB_RULE_DEVID_URN, LAB_VERDICT_PASS, NULL, false, 1, { { POST_OK } } },
		{ "luhn", LAB_RULE_DEVID_URN, LAB_VERDICT_FAIL, "Luhn", false, 1,
		  { { POST_OK, .devid = "IMEI:490154203237519" } } },
		{ "short imei", LAB_RULE_DEVID_URN, LAB_VERDICT_FAIL, "15 digits", false, 1,
		  { { POST_OK, .devid = "IMEI:1234567890123" } } },
		{ "scheme", LAB_RULE_DEVID_URN, LAB_VERDICT_FAIL, "none of", false, 1,
		  { { POST_OK, .devid = "foo:bar" } } },
		{ "no devid urn", LAB_RULE_DEVID_URN, LAB_VERDICT_NA, NULL, false, 1,
		  { { POST_OK, .devid = NULL } } },
		{ "text/plain", LAB_RULE_PART_TYPE, LAB_VERDICT_PASS, NULL, false, 1, { { POST_OK } } },
		{ "no type", LAB_RULE_PART_TYPE, LAB_VERDICT_PASS, "default", false, 1,
		  { { POST_OK, .parts = devid_bare } } },
		{ "octet", LAB_RULE_PART_TYPE, LAB_VERDICT_FAIL, "application/octet-stream", false, 1,
		  { { POST_OK, .parts = devid_octet } } },
		{ "no parts", LAB_RULE_PART_TYPE, LAB_VERDICT_NA, NULL, false, 1,
		  { { POST_OK, .n_parts = 0 } } },
	};
	/* clang-format on */
	ROWS(t);
}

static void test_credentials(void)
{
	/* clang-format off */
	static const struct row t[] = {
		{ "both", LAB_RULE_PASSPHRASE_WITH_USERNAME, LAB_VERDICT_PASS, "alice", false, 1,
		  { { POST_OK, .username = "alice", .has_passphrase = true, .passphrase_size = 8,
		      .passphrase_base64 = "ok" } } },
		{ "username only", LAB_RULE_PASSPHRASE_WITH_USERNAME, LAB_VERDICT_FAIL,
		  "without passphrase", false, 1, { { POST_OK, .username = "alice", .status = 400 } } },
		{ "passphrase only", LAB_RULE_PASSPHRASE_WITH_USERNAME, LAB_VERDICT_FAIL,
		  "without username", false, 1,
		  { { POST_OK, .has_passphrase = true, .passphrase_size = 8,
		      .passphrase_base64 = "ok" } } },
		{ "neither", LAB_RULE_PASSPHRASE_WITH_USERNAME, LAB_VERDICT_NA, NULL, false, 1,
		  { { POST_OK } } },
		{ "b64 ok", LAB_RULE_PASSPHRASE_BASE64, LAB_VERDICT_PASS, "canonical", false, 1,
		  { { POST_OK, .username = "a", .has_passphrase = true, .passphrase_size = 8,
		      .passphrase_base64 = "ok" } } },
		{ "unpadded", LAB_RULE_PASSPHRASE_BASE64, LAB_VERDICT_FAIL, "not padded", false, 1,
		  { { POST_OK, .username = "a", .has_passphrase = true, .passphrase_size = 7,
		      .passphrase_base64 = "not padded: 7 characters, not a multiple of 4",
		      .status = 400 } } },
		{ "no passphrase", LAB_RULE_PASSPHRASE_BASE64, LAB_VERDICT_NA, NULL, false, 1,
		  { { POST_OK } } },
		{ "uri", LAB_RULE_PUSH_ADDRESS, LAB_VERDICT_PASS, "http://192.0.2.1/p", false, 1,
		  { { POST_OK, .push_address = "http://192.0.2.1/p" } } },
		{ "sms uri", LAB_RULE_PUSH_ADDRESS, LAB_VERDICT_PASS, NULL, false, 1,
		  { { POST_OK, .push_address = "sms:+15551234567" } } },
		{ "not uri", LAB_RULE_PUSH_ADDRESS, LAB_VERDICT_FAIL, "not a URI", false, 1,
		  { { POST_OK, .push_address = "192.0.2.1 port 80" } } },
		{ "bad escape", LAB_RULE_PUSH_ADDRESS, LAB_VERDICT_FAIL, "not a URI", false, 1,
		  { { POST_OK, .push_address = "http://x/%zz" } } },
		{ "no push", LAB_RULE_PUSH_ADDRESS, LAB_VERDICT_NA, NULL, false, 1, { { POST_OK } } },
	};
	/* clang-format on */
	ROWS(t);
}

static void test_tls(void)
{
	/* clang-format off */
	static const struct row t[] = {
		{ "1.3", LAB_RULE_TLS_VERSION, LAB_VERDICT_PASS, "TLSv1.3", false, 1, { { POST_OK } } },
		{ "1.2", LAB_RULE_TLS_VERSION, LAB_VERDICT_PASS, NULL, false, 1,
		  { { POST_OK, .tls_version = "TLSv1.2" } } },
		{ "1.1", LAB_RULE_TLS_VERSION, LAB_VERDICT_WARN, "legacy", false, 1,
		  { { POST_OK, .tls_version = "TLSv1.1" } } },
		{ "1.0", LAB_RULE_TLS_VERSION, LAB_VERDICT_WARN, "TLSv1 ", false, 1,
		  { { POST_OK, .tls_version = "TLSv1" } } },
		{ "plain", LAB_RULE_TLS_VERSION, LAB_VERDICT_NA, NULL, false, 1,
		  { { POST_OK, .https = false, .tls_version = NULL } } },
		{ "sni", LAB_RULE_TLS_SNI, LAB_VERDICT_PASS, "localuicc", false, 1,
		  { { POST_OK, .transport = "tcpip", .sni = "localuicc" } } },
		{ "no sni", LAB_RULE_TLS_SNI, LAB_VERDICT_WARN, "no SNI", false, 1,
		  { { POST_OK, .transport = "tcpip" } } },
		{ "other sni", LAB_RULE_TLS_SNI, LAB_VERDICT_FAIL, "example.com", false, 1,
		  { { POST_OK, .transport = "tcpip", .sni = "example.com" } } },
		{ "bip sni", LAB_RULE_TLS_SNI, LAB_VERDICT_NA, NULL, false, 1, { { POST_OK } } },
		{ "aborted", LAB_RULE_TLS_CERT_CHECK, LAB_VERDICT_PASS, "tls-cert expired", false, 2,
		  { { CONN("bip"), .fault = "tls-cert expired",
		      .alert = "received fatal alert: certificate expired" },
		    { POST_OK, .start_ms = T0 + 100 } } },
		{ "sent anyway", LAB_RULE_TLS_CERT_CHECK, LAB_VERDICT_FAIL, "does not check", false, 1,
		  { { POST_OK, .fault = "tls-cert self-signed" } } },
		{ "no fault", LAB_RULE_TLS_CERT_CHECK, LAB_VERDICT_NA, NULL, false, 1, { { POST_OK } } },
	};
	/* clang-format on */
	ROWS(t);
}

static void test_story(void)
{
	/* clang-format off */
	static const struct row t[] = {
		{ "server 404 then card", LAB_RULE_FALLBACK, LAB_VERDICT_PASS, "server", true, 2,
		  { { POST_OK, .transport = "server", .local = "127.0.0.1:5443", .status = 404 },
		    { POST_OK, .start_ms = T0 + 50 } } },
		{ "server unusable then card", LAB_RULE_FALLBACK, LAB_VERDICT_PASS,
		  "could not be used", true, 2,
		  { { CONN("server"), .alert = "received fatal alert: bad certificate" },
		    { POST_OK, .start_ms = T0 + 50 } } },
		{ "card only", LAB_RULE_FALLBACK, LAB_VERDICT_FAIL, "without asking", true, 1,
		  { { POST_OK } } },
		{ "server had it", LAB_RULE_FALLBACK, LAB_VERDICT_FAIL, "had served", true, 2,
		  { { POST_OK, .transport = "server" }, { POST_OK, .start_ms = T0 + 50 } } },
		{ "server only", LAB_RULE_FALLBACK, LAB_VERDICT_NA, "did not use", true, 1,
		  { { POST_OK, .transport = "server" } } },
		{ "no server", LAB_RULE_FALLBACK, LAB_VERDICT_NA, "no Bootstrap Server", false, 1,
		  { { POST_OK } } },
		{ "once", LAB_RULE_NO_REFETCH, LAB_VERDICT_PASS, NULL, false, 1, { { POST_OK } } },
		{ "twice", LAB_RULE_NO_REFETCH, LAB_VERDICT_WARN, "1 more", false, 2,
		  { { POST_OK }, { POST_OK, .start_ms = T0 + 1000 } } },
		{ "never", LAB_RULE_NO_REFETCH, LAB_VERDICT_NA, NULL, false, 1,
		  { { POST_OK, .status = 404 } } },
		{ "one retry", LAB_RULE_RETRY, LAB_VERDICT_PASS, "1 retries", false, 2,
		  { { POST_OK, .status = 404 }, { POST_OK, .start_ms = T0 + 1000 } } },
		{ "too early", LAB_RULE_RETRY, LAB_VERDICT_WARN, "Retry-After: 5", false, 2,
		  { { POST_OK, .status = 503, .retry_after_s = 5 },
		    { POST_OK, .start_ms = T0 + 1000 } } },
		{ "waited", LAB_RULE_RETRY, LAB_VERDICT_PASS, NULL, false, 2,
		  { { POST_OK, .status = 503, .retry_after_s = 1 },
		    { POST_OK, .start_ms = T0 + 1100 } } },
		{ "too many", LAB_RULE_RETRY, LAB_VERDICT_WARN, "4 retries", false, 5,
		  { { POST_OK, .status = 404 }, { POST_OK, .status = 404 }, { POST_OK, .status = 404 },
		    { POST_OK, .status = 404 }, { POST_OK, .status = 404 } } },
		{ "no retry", LAB_RULE_RETRY, LAB_VERDICT_NA, NULL, false, 1, { { POST_OK } } },
		{ "received", LAB_RULE_RECEIVED, LAB_VERDICT_PASS, "300 bytes", false, 1,
		  { { POST_OK } } },
		{ "404", LAB_RULE_RECEIVED, LAB_VERDICT_FAIL, "-> 404", false, 1,
		  { { POST_OK, .status = 404 } } },
		{ "head", LAB_RULE_RECEIVED, LAB_VERDICT_FAIL, NULL, false, 1,
		  { { POST_OK, .method = "HEAD", .bytes = 0 } } },
		{ "handshake only", LAB_RULE_RECEIVED, LAB_VERDICT_FAIL, "unknown ca", false, 1,
		  { { CONN("bip"), .alert = "received fatal alert: unknown ca" } } },
	};
	/* clang-format on */
	ROWS(t);
}

static void test_devid_problem(void)
{
	/* clang-format off */
	static const struct {
		const char *devid;
		bool ok;
	} t[] = {
		{ "IMEI:490154203237518", true }, { "imei:490154203237518", true },
		{ "IMEI:356938035643809", true }, { "IMEI:356938035643800", false },
		{ "IMEI:49015420323751", false }, { "IMEI:49015420323751A", false },
		{ "MEID:A0000000002329", true },  { "MEID:A000000000232", false },
		{ "MEID:270113177609911234", true }, { "ESN:8000A1B2", true },
		{ "ESN:12812345678", true },       { "ESN:1234567", false },
		{ "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", true },
		{ "urn:x:y", false },              { "urn:uuid:", false },
		{ "IMEI", false },                 { "", false },
		{ "MAC:00:11:22:33:44:55", false },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char why[256];
		const char *p = lab_verdict_devid_problem(t[i].devid, why, sizeof(why));
		if ((p == NULL) != t[i].ok) {
			fprintf(stderr, "\n%s: %s\n", t[i].devid, p ? p : "ok");
			CU_FAIL("devid");
		}
	}
}

/* Clients: devid, or peer; a connection without a request belongs to the
 * next request of its host; exit statuses. */
static void test_clients(void)
{
	struct lab_journal *j = lab_journal_new(0);
	struct lab_verdicts *v = NULL;
	struct lab_verdict_ctx ctx = { 0 };
	CU_ASSERT_EQUAL_FATAL(lab_verdict_judge(j, &ctx, &v), 0);
	CU_ASSERT_EQUAL(v->n_clients, 0);
	CU_ASSERT_EQUAL(lab_verdict_exit_status(v), 4);
	lab_verdicts_free(v);

	/* clang-format off */
	struct scws_obs recs[] = {
		{ CONN("tcpip"), .peer = "127.0.0.1:1000", .alert = "unknown ca" },
		{ POST_OK, .transport = "tcpip", .peer = "127.0.0.1:1001", .sni = "localuicc" },
		{ POST_OK, .devid = "IMEI:356938035643809", .status = 404 },
		{ POST_OK, .method = "GET", .devid = NULL, .peer = "[::1]:7" },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		CU_ASSERT_PTR_NOT_NULL(lab_journal_add(j, &recs[i]));
	CU_ASSERT_EQUAL_FATAL(lab_verdict_judge(j, &ctx, &v), 0);
	CU_ASSERT_EQUAL_FATAL(v->n_clients, 3);
	CU_ASSERT_STRING_EQUAL(v->clients[0].name, "devid " GOOD_DEVID);
	CU_ASSERT_EQUAL(v->clients[0].connections, 1);
	CU_ASSERT_EQUAL(v->clients[0].requests, 1);
	CU_ASSERT(v->clients[0].received);
	CU_ASSERT_EQUAL(lab_verdict_client_worst(&v->clients[0]), LAB_VERDICT_PASS);
	CU_ASSERT_STRING_EQUAL(v->clients[1].name, "devid IMEI:356938035643809");
	CU_ASSERT_EQUAL(v->clients[1].rule[LAB_RULE_RECEIVED].result, LAB_VERDICT_FAIL);
	CU_ASSERT_STRING_EQUAL(v->clients[2].name, "peer ::1");
	CU_ASSERT_EQUAL(v->clients[2].rule[LAB_RULE_METHOD].result, LAB_VERDICT_WARN);
	CU_ASSERT_EQUAL(lab_verdict_worst(v), LAB_VERDICT_FAIL);
	CU_ASSERT_EQUAL(lab_verdict_exit_status(v), 3);
	CU_ASSERT(v->any_fetched);

	struct buf txt;
	buf_init(&txt, 65536);
	CU_ASSERT_EQUAL(lab_verdict_text(v, &txt), 0);
	CU_ASSERT_EQUAL(buf_append_u8(&txt, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr((const char *)txt.p, "fail bootstrap-received"));
	CU_ASSERT_PTR_NOT_NULL(strstr((const char *)txt.p, "(exit 3)"));
	buf_cleanup(&txt);
	lab_verdicts_free(v);
	lab_journal_free(j);
}

static xmlNode *next_elem(xmlNode *n)
{
	while (n && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

static bool name_is(const xmlNode *n, const char *name)
{
	return n && strcmp((const char *)n->name, name) == 0;
}

static char *attr(xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* The JUnit file read back with libxml2. */
static void test_junit(void)
{
	struct lab_journal *j = lab_journal_new(0);
	struct lab_verdicts *v = NULL;
	struct lab_verdict_ctx ctx = { 0 };
	/* clang-format off */
	struct scws_obs recs[] = {
		{ POST_OK },
		{ POST_OK, .devid = "IMEI:<&\"'>", .status = 400, .peer = "channel 2" },
	};
	/* clang-format on */
	for (size_t i = 0; i < 2; i++)
		CU_ASSERT_PTR_NOT_NULL(lab_journal_add(j, &recs[i]));
	CU_ASSERT_EQUAL_FATAL(lab_verdict_judge(j, &ctx, &v), 0);
	struct buf out;
	buf_init(&out, 1 << 20);
	CU_ASSERT_EQUAL_FATAL(lab_verdict_junit(v, &out), 0);

	xmlDoc *doc = xmlReadMemory((const char *)out.p, (int)out.len, "report.xml", NULL,
				    XML_PARSE_NONET);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	xmlNode *root = xmlDocGetRootElement(doc);
	CU_ASSERT_FATAL(name_is(root, "testsuites"));
	size_t suites = 0, failures = 0, skipped = 0;
	for (xmlNode *s = next_elem(root->children); s; s = next_elem(s->next)) {
		CU_ASSERT_FATAL(name_is(s, "testsuite"));
		char *sname = attr(s, "name");
		CU_ASSERT_PTR_NOT_NULL_FATAL(sname);
		size_t cases = 0, sfail = 0;
		for (xmlNode *c = next_elem(s->children); c; c = next_elem(c->next)) {
			CU_ASSERT_FATAL(name_is(c, "testcase"));
			char *cname = attr(c, "name");
			CU_ASSERT_STRING_EQUAL(cname,
					       lab_verdict_rule_id((enum lab_verdict_rule)cases));
			xmlNode *k = next_elem(c->children);
			if (name_is(k, "failure")) {
				char *msg = attr(k, "message");
				CU_ASSERT_PTR_NOT_NULL(msg);
				if (suites == 1 && strcmp(cname, "devid-urn") == 0)
					CU_ASSERT_PTR_NOT_NULL(strstr(msg, "IMEI:<&\"'>"));
				xmlFree(msg);
				sfail++;
			} else if (name_is(k, "skipped")) {
				skipped++;
			} else {
				CU_ASSERT(name_is(k, "system-out"));
			}
			xmlFree(cname);
			cases++;
		}
		CU_ASSERT_EQUAL(cases, LAB_RULE_COUNT);
		char *nf = attr(s, "failures");
		CU_ASSERT_EQUAL((size_t)strtoul(nf, NULL, 10), sfail);
		xmlFree(nf);
		if (suites == 0) {
			CU_ASSERT_STRING_EQUAL(sname, "devid " GOOD_DEVID);
			CU_ASSERT_EQUAL(sfail, 0);
		} else {
			CU_ASSERT_STRING_EQUAL(sname, "devid IMEI:<&\"'>");
			CU_ASSERT(sfail >= 2); /* devid-urn, bootstrap-received */
		}
		failures += sfail;
		xmlFree(sname);
		suites++;
	}
	CU_ASSERT_EQUAL(suites, 2);
	char *tf = attr(root, "failures"), *ts = attr(root, "skipped");
	CU_ASSERT_EQUAL((size_t)strtoul(tf, NULL, 10), failures);
	CU_ASSERT_EQUAL((size_t)strtoul(ts, NULL, 10), skipped);
	xmlFree(tf);
	xmlFree(ts);
	xmlFreeDoc(doc);
	buf_cleanup(&out);

	json_t *x = lab_verdict_json(v);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "result")), "fail");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(x, "exit_status")), 3);
	json_t *c1 = json_array_get(json_object_get(x, "clients"), 1);
	json_t *r = json_array_get(json_object_get(c1, "rules"), LAB_RULE_DEVID_URN);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "id")), "devid-urn");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "result")), "fail");
	json_decref(x);
	lab_verdicts_free(v);
	lab_journal_free(j);
}

/* Every rule has an id, unique, and a sentence. */
static void test_rule_table(void)
{
	for (int i = 0; i < LAB_RULE_COUNT; i++) {
		CU_ASSERT(strlen(lab_verdict_rule_id((enum lab_verdict_rule)i)) > 3);
		CU_ASSERT(strlen(lab_verdict_rule_spec((enum lab_verdict_rule)i)) > 10);
		for (int k = 0; k < i; k++)
			CU_ASSERT(strcmp(lab_verdict_rule_id((enum lab_verdict_rule)i),
					 lab_verdict_rule_id((enum lab_verdict_rule)k)) != 0);
	}
	CU_ASSERT_STRING_EQUAL(lab_verdict_result_name(LAB_VERDICT_NA), "n/a");
}

int unit_register(void)
{
	/* clang-format off */
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_method_path_https),
		UNIT_TEST(test_form),
		UNIT_TEST(test_credentials),
		UNIT_TEST(test_tls),
		UNIT_TEST(test_story),
		UNIT_TEST(test_devid_problem),
		UNIT_TEST(test_clients),
		UNIT_TEST(test_junit),
		UNIT_TEST(test_rule_table),
		CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	return unit_add_suite("lab_verdict", tests);
}
