/* test_scws_bootstrap.c - unit tests for src/scws/{conn,server,bootstrap}:
 * every row of the bootstrap endpoint table (doc/design.md §5) through a whole
 * connection, bytes in and response bytes out, fed whole and in pieces;
 * a few rows over TLS with an in-memory OpenSSL client (certificate and
 * PSK); reloads, the push-address store, the log line, the limits. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "card/card.h"
#include "card/layout.h"
#include "card/pkcs15.h"
#include "codec/wbxml.h"
#include "config/profile.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "helpers.h"
#include "runner.h"
#include "scws/bootstrap.h"
#include "scws/conn.h"
#include "scws/server.h"

#define BOOT "/OMA/DM/Bootstrap.xml"
#define WBXML_T "application/vnd.syncml.dm+wbxml"
#define XML_T "application/vnd.syncml.dm+xml"

/* ---------------------------------------------------------------- cards */

enum card_id { C_DEFAULT, C_AUTH, C_EMPTY, C_XML, C_ALLOW, C_BROKEN, C_COUNT };

/* clang-format off */
static const char *const card_dirs[C_COUNT] = {
	[C_DEFAULT] = "cards/default",
	[C_AUTH] = "cards/auth",
	[C_EMPTY] = "cards/empty",
	[C_XML] = "cards/xml",
	[C_ALLOW] = "tests/data/profiles/scws-allow",
	[C_BROKEN] = "tests/data/profiles/scws-broken",
};
/* clang-format on */

struct fixture {
	struct scws_server *srv;
	struct buf boot;  /* what a handset's walk finds (empty: none) */
	struct buf other; /* the bootstrap in the other form */
	uint8_t *index;
	size_t index_len;
};

static struct fixture fx[C_COUNT];

static int load_profile(const char *rel, struct profile **p, struct card_fs **fs)
{
	struct profile_error perr;
	char msg[1024];
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", unit_srcpath(rel));
	if (profile_load(dir, p, &perr) != 0) {
		fprintf(stderr, "%s\n", profile_error_str(&perr, msg, sizeof(msg)));
		return -1;
	}
	if (card_layout_build(&(*p)->card, fs, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "%s: %s\n", rel, msg);
		profile_free(*p);
		return -1;
	}
	return 0;
}

static int tr(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap, size_t *rlen)
{
	return card_transmit(ctx, capdu, len, rapdu, cap, rlen);
}

/* The expected bytes: a walk of our own, over a card object of our own. */
static void own_walk(const struct profile *p, struct card_fs *fs, struct buf *out)
{
	struct card *card = card_new(fs, p->card.atr, p->card.atr_len);
	struct card_pkcs15_walk_ops ops = { .transmit = tr, .ctx = card };
	char err[256];
	CU_ASSERT_PTR_NOT_NULL_FATAL(card);
	if (card_pkcs15_walk(&ops, out, NULL, err, sizeof(err)) != 0)
		buf_reset(out);
	card_free(card);
}

static void free_fixtures(void)
{
	for (int i = 0; i < C_COUNT; i++) {
		scws_server_free(fx[i].srv);
		buf_cleanup(&fx[i].boot);
		buf_cleanup(&fx[i].other);
		free(fx[i].index);
	}
	memset(fx, 0, sizeof(fx));
}

static struct fixture *fixture(enum card_id id)
{
	static bool registered;
	struct fixture *f = &fx[id];
	if (f->srv)
		return f;
	if (!registered) {
		atexit(free_fixtures);
		registered = true;
	}
	struct profile *p;
	struct card_fs *fs;
	char err[512];
	CU_ASSERT_EQUAL_FATAL(load_profile(card_dirs[id], &p, &fs), 0);
	buf_init(&f->boot, CARD_EF_SIZE_MAX);
	buf_init(&f->other, SCWS_CONVERT_MAX);
	own_walk(p, fs, &f->boot);
	if (p->card.has_bootstrap && id != C_BROKEN) {
		/* The walk finds exactly what the profile stores. */
		CU_ASSERT_EQUAL(f->boot.len, p->card.bootstrap_len);
		CU_ASSERT(f->boot.len && memcmp(f->boot.p, p->card.bootstrap, f->boot.len) == 0);
		int rc = p->store == PROFILE_STORE_WBXML
				 ? codec_wbxml_decode(f->boot.p, f->boot.len, &f->other, err,
						      sizeof(err))
				 : codec_wbxml_encode(f->boot.p, f->boot.len, &f->other, err,
						      sizeof(err));
		CU_ASSERT_EQUAL(rc, 0);
	}
	if (p->index_html) {
		/* As served: the URL marker replaced by the list, which without
		 * a daemon holds the bootstrap path alone. */
		static const char mark[] = "<!--scwsemu:urls-->";
		static const char list[] = "<ul>\n<li><a href=\"/OMA/DM/Bootstrap.xml\">"
					   "/OMA/DM/Bootstrap.xml</a></li>\n</ul>\n";
		const uint8_t *m = memmem(p->index_html, p->index_html_len, mark, sizeof(mark) - 1);
		size_t head = m ? (size_t)(m - p->index_html) : p->index_html_len;
		size_t tail = m ? p->index_html_len - head - (sizeof(mark) - 1) : 0;
		f->index_len = head + (m ? sizeof(list) - 1 : 0) + tail;
		f->index = malloc(f->index_len);
		memcpy(f->index, p->index_html, head);
		if (m) {
			memcpy(f->index + head, list, sizeof(list) - 1);
			memcpy(f->index + head + sizeof(list) - 1, m + sizeof(mark) - 1, tail);
		}
	}
	f->srv = scws_server_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->srv);
	int rc = scws_server_load(f->srv, p, fs, err, sizeof(err));
	if (rc)
		fprintf(stderr, "load %s: %s\n", card_dirs[id], err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return f;
}

/* ---------------------------------------------------------------- log capture */

static char g_log[64 * 1024];
static size_t g_log_len;
static unsigned g_log_requests;

static void sink(void *arg, enum log_level level, const char *line)
{
	size_t n = strlen(line);
	if (strstr(line, "scws: request "))
		g_log_requests++;
	if (g_log_len + n + 2 < sizeof(g_log)) {
		memcpy(g_log + g_log_len, line, n);
		g_log_len += n;
		g_log[g_log_len++] = '\n';
		g_log[g_log_len] = 0;
	}
}

static void log_capture(void)
{
	g_log_len = 0;
	g_log[0] = 0;
	g_log_requests = 0;
	log_set_sink(sink, NULL);
}

/* ---------------------------------------------------------------- responses */

struct resp {
	int status;
	char head[2048]; /* header lines, NUL-terminated */
	const uint8_t *body;
	size_t body_len;
};

/* One response at p; returns its length, 0 when malformed or incomplete.
 * head_req: the answer to HEAD carries no body whatever Content-Length says. */
static size_t parse_resp(const uint8_t *p, size_t len, bool head_req, struct resp *r)
{
	memset(r, 0, sizeof(*r));
	const uint8_t *end = NULL;
	for (size_t i = 0; i + 4 <= len; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0) {
			end = p + i;
			break;
		}
	if (!end || len < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0)
		return 0;
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	size_t hl = (size_t)(end - p) + 2;
	if (hl >= sizeof(r->head))
		return 0;
	memcpy(r->head, p, hl);
	r->head[hl] = 0;
	size_t cl = 0;
	const char *h = strcasestr(r->head, "\r\nContent-Length: ");
	if (h)
		cl = strtoul(h + 18, NULL, 10);
	if (head_req || r->status < 200)
		cl = 0;
	size_t total = hl + 2 + cl;
	if (total > len)
		return 0;
	r->body = p + hl + 2;
	r->body_len = cl;
	return total;
}

/* Value of header `name` in r (copied into out), or NULL. */
static const char *hdr(const struct resp *r, const char *name, char *out, size_t cap)
{
	char key[64];
	snprintf(key, sizeof(key), "\r\n%s: ", name);
	const char *h = strcasestr(r->head, key);
	if (!h)
		return NULL;
	h += strlen(key);
	const char *e = strstr(h, "\r\n");
	size_t n = (size_t)(e - h) < cap - 1 ? (size_t)(e - h) : cap - 1;
	memcpy(out, h, n);
	out[n] = 0;
	return out;
}

/* Date changes from one second to the next: blank it for comparisons. */
static void blank_dates(uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 8 + 29 <= len; i++)
		if (memcmp(p + i, "\r\nDate: ", 8) == 0)
			memset(p + i + 8, 'X', 29);
}

/* ---------------------------------------------------------------- plain conn */

struct run {
	struct buf out;
	bool done;
	bool full_seen;
};

/* Feeds `in` to a new conn in pieces of `chunk` bytes (0: whole), taking
 * the output after each feed. https: TLS offloaded (served as HTTPS);
 * else a plain-HTTP port. */
static void run_conn(struct scws_server *srv, bool https, const uint8_t *in, size_t len,
		     size_t chunk, struct run *x)
{
	struct scws_conn_info info = {
		.transport = "test",
		.peer = "127.0.0.1:50000",
		.local_port = https ? 4116 : 3516,
		.tls = false,
		.tls_offloaded = https,
	};
	buf_init(&x->out, 8u * 1024 * 1024);
	x->done = false;
	struct scws_conn *c = scws_conn_new(srv, &info);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	size_t off = 0;
	while (off < len && !scws_conn_done(c)) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;
		CU_ASSERT_EQUAL(scws_conn_feed(c, in + off, n), 0);
		off += n;
		struct bytes o = scws_conn_output(c);
		CU_ASSERT_EQUAL(buf_append(&x->out, o.ptr, o.len), 0);
		scws_conn_consume(c, o.len);
		CU_ASSERT_EQUAL(scws_conn_output(c).len, 0);
	}
	x->done = scws_conn_done(c);
	scws_conn_free(c);
}

/* ---------------------------------------------------------------- the table */

enum want_body { B_ANY, B_BOOT, B_OTHER, B_INDEX, B_EMPTY };

struct row {
	const char *name;
	enum card_id card;
	bool plain_port;  /* a plain-HTTP port (else HTTPS, TLS offloaded) */
	const char *req;  /* the request bytes; with body: the head without its end */
	const char *body; /* NULL: req is whole; else sent with a Content-Length */
	int status[3];    /* every response in order (0 ends) */
	bool head_req;    /* the last request is a HEAD */
	enum want_body want;
	const char *ctype; /* Content-Type of the last response, or NULL */
	const char *has;   /* substring of the last body, or NULL */
	const char *hline; /* a header line of the last response, or NULL */
	bool done;         /* the conn is done (closing) afterwards */
};

#define GET(path) "GET " path " HTTP/1.1\r\nHost: localuicc\r\n\r\n"
#define HEAD_(path) "HEAD " path " HTTP/1.1\r\nHost: localuicc\r\n\r\n"
#define GETA(accept) "GET " BOOT " HTTP/1.1\r\nHost: localuicc\r\nAccept: " accept "\r\n\r\n"
#define MP_CT "Content-Type: multipart/form-data; boundary=XyZ\r\n"
#define POST "POST " BOOT " HTTP/1.1\r\nHost: localuicc\r\n" MP_CT
#define PART(n, v) "--XyZ\r\nContent-Disposition: form-data; name=\"" n "\"\r\n\r\n" v "\r\n"
#define END "--XyZ--\r\n"
#define DEVID PART("devid", "IMEI:493005100592800")
#define PASS64 "czNjcmV0LXBhc3M=" /* s3cret-pass */
#define CHUNKED_FORM                                                                               \
	"POST " BOOT " HTTP/1.1\r\nHost: localuicc\r\n" MP_CT "Transfer-Encoding: chunked\r\n\r\n" \
	"a\r\n--XyZ\r\nCon\r\n"                                                                    \
	"4c\r\ntent-Disposition: form-data; name=\"devid\"\r\n\r\nIMEI:493005100592800\r\n"        \
	"--XyZ--\r\n\r\n0\r\n\r\n"

/* clang-format off */
static const struct row rows[] = {
	/* GET and HEAD */
	{ "GET 200", C_DEFAULT, false, GET(BOOT), NULL, { 200 }, false, B_BOOT, WBXML_T, NULL,
	  "Cache-Control: no-store", false },
	{ "HEAD 200", C_DEFAULT, false, HEAD_(BOOT), NULL, { 200 }, true, B_EMPTY, WBXML_T, NULL,
	  "Cache-Control: no-store", false },
	{ "GET with a query", C_DEFAULT, false, GET(BOOT "?devid=x"), NULL, { 200 }, false, B_BOOT,
	  WBXML_T, NULL, NULL, false },
	{ "GET absolute-form", C_DEFAULT, false, GET("https://localuicc:443" BOOT), NULL, { 200 },
	  false, B_BOOT, WBXML_T, NULL, NULL, false },
	{ "GET xml card", C_XML, false, GET(BOOT), NULL, { 200 }, false, B_BOOT, XML_T, NULL,
	  NULL, false },
	{ "GET HTTP/1.0 without Host", C_DEFAULT, false, "GET " BOOT " HTTP/1.0\r\n\r\n", NULL,
	  { 200 }, false, B_BOOT, WBXML_T, NULL, "Connection: close", true },
	{ "GET HTTP/1.0 keep-alive", C_DEFAULT, false,
	  "GET " BOOT " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", NULL, { 200 }, false, B_BOOT,
	  WBXML_T, NULL, "Connection: keep-alive", false },
	{ "GET Connection: close", C_DEFAULT, false,
	  "GET " BOOT " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", NULL, { 200 }, false,
	  B_BOOT, WBXML_T, NULL, "Connection: close", true },
	{ "GET needs credentials 403", C_AUTH, false, GET(BOOT), NULL, { 403 }, false, B_ANY,
	  "text/plain; charset=utf-8", "requires username and passphrase", NULL, false },
	{ "GET allow-list 404", C_ALLOW, false, GET(BOOT), NULL, { 404 }, false, B_ANY, NULL,
	  "a GET carries no devid", NULL, false },
	{ "GET no bootstrap 404", C_EMPTY, false, GET(BOOT), NULL, { 404 }, false, B_ANY, NULL,
	  "no bootstrap available\n", NULL, false },
	{ "GET broken PKCS#15 404", C_BROKEN, false, GET(BOOT), NULL, { 404 }, false, B_ANY, NULL,
	  "no bootstrap available\n", NULL, false },
	{ "HEAD 404 has no body", C_EMPTY, false, HEAD_(BOOT), NULL, { 404 }, true, B_EMPTY, NULL,
	  NULL, NULL, false },

	/* Accept */
	{ "Accept XML converts", C_DEFAULT, false, GETA(XML_T), NULL, { 200 }, false, B_OTHER,
	  XML_T, "<MgmtTree", "Vary: Accept", false },
	{ "Accept WBXML converts", C_XML, false, GETA(WBXML_T), NULL, { 200 }, false, B_OTHER,
	  WBXML_T, NULL, NULL, false },
	{ "Accept the stored type", C_DEFAULT, false, GETA(WBXML_T), NULL, { 200 }, false, B_BOOT,
	  WBXML_T, NULL, NULL, false },
	{ "Accept */*", C_DEFAULT, false, GETA("*/*"), NULL, { 200 }, false, B_BOOT, WBXML_T,
	  NULL, NULL, false },
	{ "Accept application/*", C_XML, false, GETA("application/*"), NULL, { 200 }, false,
	  B_BOOT, XML_T, NULL, NULL, false },
	{ "Accept both, other preferred", C_DEFAULT, false,
	  GETA(WBXML_T ";q=0.4, " XML_T ";q=0.5"), NULL, { 200 }, false, B_OTHER, XML_T, NULL,
	  NULL, false },
	{ "Accept both, equal q keeps stored", C_DEFAULT, false, GETA(XML_T ", " WBXML_T), NULL,
	  { 200 }, false, B_BOOT, WBXML_T, NULL, NULL, false },
	{ "Accept stored q=0, */*", C_DEFAULT, false, GETA(WBXML_T ";q=0, */*"), NULL, { 200 },
	  false, B_OTHER, XML_T, NULL, NULL, false },
	{ "Accept browser-like", C_DEFAULT, false,
	  GETA("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), NULL, { 200 },
	  false, B_BOOT, WBXML_T, NULL, NULL, false },
	{ "Accept text/html 406", C_DEFAULT, false, GETA("text/html"), NULL, { 406 }, false,
	  B_ANY, "text/plain; charset=utf-8", "neither is acceptable (Accept: text/html)", NULL,
	  false },
	{ "Accept */*;q=0 406", C_DEFAULT, false, GETA("*/*;q=0"), NULL, { 406 }, false, B_ANY,
	  NULL, "neither is acceptable", NULL, false },
	{ "Accept both q=0 406", C_XML, false, GETA(XML_T ";q=0," WBXML_T ";q=0.000"), NULL,
	  { 406 }, false, B_ANY, NULL, "neither", NULL, false },
	{ "Accept malformed only: stored", C_DEFAULT, false, GETA("nonsense"), NULL, { 200 },
	  false, B_BOOT, WBXML_T, NULL, NULL, false },
	{ "Accept bad q ignored", C_DEFAULT, false, GETA(XML_T ";q=2, " WBXML_T ";q=0.1"), NULL,
	  { 200 }, false, B_BOOT, WBXML_T, NULL, NULL, false },
	{ "Accept on an empty card: 404 first", C_EMPTY, false, GETA("text/html"), NULL, { 404 },
	  false, B_ANY, NULL, "no bootstrap available", NULL, false },

	/* POST */
	{ "POST devid 200", C_DEFAULT, false, POST, DEVID END, { 200 }, false, B_BOOT, WBXML_T,
	  NULL, "Cache-Control: no-store", false },
	{ "POST every field 200", C_DEFAULT, false, POST,
	  DEVID PART("username", "u") PART("passphrase", "eA==")
		  PART("push-address", "http://127.0.0.1:9/push") PART("colour", "blue") END,
	  { 200 }, false, B_BOOT, WBXML_T, NULL, NULL, false },
	{ "POST xml card Accept WBXML", C_XML, false,
	  POST "Accept: " WBXML_T "\r\n", DEVID END, { 200 }, false, B_OTHER, WBXML_T, NULL, NULL,
	  false },
	{ "POST chunked 200", C_DEFAULT, false, CHUNKED_FORM, NULL, { 200 }, false, B_BOOT,
	  WBXML_T, NULL, NULL, false },
	{ "POST 100-continue", C_DEFAULT, false, POST "Expect: 100-continue\r\n", DEVID END,
	  { 100, 200 }, false, B_BOOT, WBXML_T, NULL, NULL, false },
	{ "POST empty card 404", C_EMPTY, false, POST, DEVID END, { 404 }, false, B_ANY, NULL,
	  "no bootstrap available\n", NULL, false },
	{ "POST broken card 404", C_BROKEN, false, POST, DEVID END, { 404 }, false, B_ANY, NULL,
	  "no bootstrap available\n", NULL, false },
	{ "POST allow-list listed", C_ALLOW, false, POST, DEVID END, { 200 }, false, B_BOOT,
	  WBXML_T, NULL, NULL, false },
	{ "POST allow-list scheme case", C_ALLOW, false, POST,
	  PART("devid", "meid:A0000000001234") END, { 200 }, false, B_BOOT, WBXML_T, NULL, NULL,
	  false },
	{ "POST allow-list value case", C_ALLOW, false, POST,
	  PART("devid", "MEID:a0000000001234") END, { 404 }, false, B_ANY, NULL,
	  "devid 'MEID:a0000000001234' is not in this card's allow-list", NULL, false },
	{ "POST allow-list other 404", C_ALLOW, false, POST, PART("devid", "IMEI:1") END, { 404 },
	  false, B_ANY, NULL, "not in this card's allow-list", NULL, false },

	/* 400: the form */
	{ "devid missing", C_DEFAULT, false, POST, PART("username", "x") PART("passphrase", "eA==") END,
	  { 400 }, false, B_ANY, "text/plain; charset=utf-8", "devid missing\n", NULL, false },
	{ "empty form", C_DEFAULT, false, POST, END, { 400 }, false, B_ANY, NULL, "devid missing\n",
	  NULL, false },
	{ "devid empty", C_DEFAULT, false, POST, PART("devid", "") END, { 400 }, false, B_ANY, NULL,
	  "devid empty\n", NULL, false },
	{ "devid no colon", C_DEFAULT, false, POST, PART("devid", "nocolon") END, { 400 }, false,
	  B_ANY, NULL,
	  "devid 'nocolon' is not of the form scheme:value, e.g. IMEI:493005100592800\n", NULL,
	  false },
	{ "devid scheme digit", C_DEFAULT, false, POST, PART("devid", "1MEI:1") END, { 400 }, false,
	  B_ANY, NULL, "not of the form scheme:value", NULL, false },
	{ "devid empty value", C_DEFAULT, false, POST, PART("devid", "IMEI:") END, { 400 }, false,
	  B_ANY, NULL, "not of the form scheme:value", NULL, false },
	{ "devid space", C_DEFAULT, false, POST, PART("devid", "IMEI:49 30") END, { 400 }, false,
	  B_ANY, NULL, "devid 'IMEI:49 30' is not", NULL, false },
	{ "devid control byte", C_DEFAULT, false, POST, PART("devid", "IMEI:\x01" "1") END, { 400 },
	  false, B_ANY, NULL, "devid 'IMEI:?1' is not", NULL, false },
	{ "username without passphrase", C_DEFAULT, false, POST, DEVID PART("username", "u") END,
	  { 400 }, false, B_ANY, NULL, "username without passphrase\n", NULL, false },
	{ "passphrase not base64", C_DEFAULT, false, POST,
	  DEVID PART("username", "u") PART("passphrase", "not base64!") END, { 400 }, false, B_ANY,
	  NULL, "passphrase is not valid base64\n", NULL, false },
	{ "passphrase unpadded", C_DEFAULT, false, POST, DEVID PART("passphrase", "eA") END,
	  { 400 }, false, B_ANY, NULL, "passphrase is not valid base64", NULL, false },
	{ "passphrase non-zero pad bits", C_DEFAULT, false, POST,
	  DEVID PART("passphrase", "eB==") END, { 400 }, false, B_ANY, NULL, "not valid base64",
	  NULL, false },
	{ "push-address not a URI", C_DEFAULT, false, POST,
	  DEVID PART("push-address", "not a uri") END, { 400 }, false, B_ANY, NULL,
	  "push-address is not a URI\n", NULL, false },
	{ "push-address scheme only", C_DEFAULT, false, POST, DEVID PART("push-address", "http:") END,
	  { 400 }, false, B_ANY, NULL, "push-address is not a URI", NULL, false },
	{ "part without name", C_DEFAULT, false, POST,
	  "--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n" END, { 400 }, false, B_ANY, NULL,
	  "part 1 has no Content-Disposition: form-data; name=...", NULL, false },
	{ "no close delimiter", C_DEFAULT, false, POST, DEVID, { 400 }, false, B_ANY, NULL,
	  "body ends before the close delimiter", NULL, false },
	{ "missing boundary", C_DEFAULT, false,
	  "POST " BOOT " HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\n", "x",
	  { 400 }, false, B_ANY, NULL, "boundary", NULL, false },
	{ "devid twice", C_DEFAULT, false, POST, DEVID PART("devid", "IMEI:2") END, { 400 }, false,
	  B_ANY, NULL, "field 'devid' sent more than once\n", NULL, false },
	{ "form error before credentials", C_AUTH, false, POST, PART("devid", "bad") END, { 400 },
	  false, B_ANY, NULL, "devid 'bad'", NULL, false },

	/* 403 */
	{ "credentials missing 403", C_AUTH, false, POST, DEVID END, { 403 }, false, B_ANY, NULL,
	  "credentials required", NULL, false },
	{ "passphrase without username 403", C_AUTH, false, POST,
	  DEVID PART("passphrase", PASS64) END, { 403 }, false, B_ANY, NULL,
	  "credentials required", NULL, false },
	{ "wrong passphrase 403", C_AUTH, false, POST,
	  DEVID PART("username", "dmuser") PART("passphrase", "d3Jvbmc=") END, { 403 }, false,
	  B_ANY, NULL, "wrong username or passphrase\n", NULL, false },
	{ "passphrase prefix 403", C_AUTH, false, POST,
	  DEVID PART("username", "dmuser") PART("passphrase", "czNjcmV0LXBhcw==") END, { 403 },
	  false, B_ANY, NULL, "wrong username or passphrase", NULL, false },
	{ "wrong username 403", C_AUTH, false, POST,
	  DEVID PART("username", "dmuser2") PART("passphrase", PASS64) END, { 403 }, false, B_ANY,
	  NULL, "wrong username or passphrase", NULL, false },
	{ "right credentials 200", C_AUTH, false, POST,
	  DEVID PART("username", "dmuser") PART("passphrase", PASS64) END, { 200 }, false, B_BOOT,
	  WBXML_T, NULL, NULL, false },
	{ "credentials on a card without them", C_DEFAULT, false, POST,
	  DEVID PART("username", "who") PART("passphrase", "eA==") END, { 200 }, false, B_BOOT,
	  WBXML_T, NULL, NULL, false },

	/* 415, 405, 404, 403 on the plain port */
	{ "urlencoded 415", C_DEFAULT, false,
	  "POST " BOOT " HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n",
	  "devid=IMEI:1", { 415 }, false, B_ANY, NULL,
	  "\"application/x-www-form-urlencoded\" is not multipart/form-data", NULL, false },
	{ "no Content-Type 415", C_DEFAULT, false, "POST " BOOT " HTTP/1.1\r\nHost: x\r\n",
	  "devid=IMEI:1", { 415 }, false, B_ANY, NULL, "no Content-Type", NULL, false },
	{ "PUT 405", C_DEFAULT, false, "PUT " BOOT " HTTP/1.1\r\nHost: x\r\n", "x", { 405 }, false,
	  B_ANY, NULL, "method PUT is not allowed", "Allow: GET, HEAD, POST", false },
	{ "DELETE 405", C_DEFAULT, false, "DELETE " BOOT " HTTP/1.1\r\nHost: x\r\n\r\n", NULL,
	  { 405 }, false, B_ANY, NULL, NULL, "Allow: GET, HEAD, POST", false },
	{ "unknown method 405", C_DEFAULT, false, "BREW " BOOT " HTTP/1.1\r\nHost: x\r\n\r\n", NULL,
	  { 405 }, false, B_ANY, NULL, "method BREW", "Allow: GET, HEAD, POST", false },
	{ "other path 404", C_DEFAULT, false, GET("/OMA/DM/Other.xml?a=b"), NULL, { 404 }, false,
	  B_ANY, NULL, "no such resource on this card: /OMA/DM/Other.xml\n", NULL, false },
	{ "path case matters", C_DEFAULT, false, GET("/oma/dm/bootstrap.xml"), NULL, { 404 }, false,
	  B_ANY, NULL, "no such resource", NULL, false },
	{ "plain port GET 403", C_DEFAULT, true, GET(BOOT), NULL, { 403 }, false, B_ANY,
	  "text/plain; charset=utf-8",
	  "the bootstrap is served over HTTPS only (port 4116 or localuicc:443)\n", NULL, false },
	{ "plain port POST 403", C_DEFAULT, true, POST, DEVID END, { 403 }, false, B_ANY, NULL,
	  "HTTPS only", NULL, false },
	{ "plain port index 200", C_DEFAULT, true, GET("/"), NULL, { 200 }, false, B_INDEX,
	  "text/html; charset=utf-8", NULL, NULL, false },

	/* percent-decoding before routing (RFC 3986 §2.3, §6.2.2.2) */
	{ "%2E is '.'", C_DEFAULT, false, GET("/OMA/DM/Bootstrap%2Exml"), NULL, { 200 }, false,
	  B_BOOT, WBXML_T, NULL, NULL, false },
	{ "%2e lower case", C_DEFAULT, false, GET("/OMA/DM/Bootstrap%2exml"), NULL, { 200 }, false,
	  B_BOOT, WBXML_T, NULL, NULL, false },
	{ "every letter encoded", C_DEFAULT, false,
	  GET("/%4F%4D%41/%44%4D/%42ootstrap.%78%6D%6C"), NULL, { 200 }, false, B_BOOT, WBXML_T,
	  NULL, NULL, false },
	{ "%7E and %5F decode", C_DEFAULT, false, GET("/OMA/DM/%7E%5F"), NULL, { 404 }, false,
	  B_ANY, NULL, "no such resource on this card: /OMA/DM/%7E%5F\n", NULL, false },
	{ "/index%2Ehtml", C_DEFAULT, false, GET("/index%2Ehtml"), NULL, { 200 }, false, B_INDEX,
	  NULL, NULL, NULL, false },
	{ "%20 stays encoded: 404", C_DEFAULT, false, GET("/OMA/DM/Bootstrap%20.xml"), NULL,
	  { 404 }, false, B_ANY, NULL, "no such resource", NULL, false },
	{ "%2F 400", C_DEFAULT, false, GET("/OMA%2FDM/Bootstrap.xml"), NULL, { 400 }, false,
	  B_ANY, "text/plain; charset=utf-8",
	  "an encoded '/' (%2F) in the path: /OMA%2FDM/Bootstrap.xml\n", NULL, false },
	{ "%2f 400", C_DEFAULT, false, GET("/OMA%2fDM/Bootstrap.xml"), NULL, { 400 }, false, B_ANY,
	  NULL, "an encoded '/' (%2F)", NULL, false },
	{ "%00 400", C_DEFAULT, false, GET("/OMA/DM/Bootstrap.xml%00"), NULL, { 400 }, false,
	  B_ANY, NULL, "an encoded NUL (%00) in the path", NULL, false },
	{ ".. 400", C_DEFAULT, false, GET("/OMA/../OMA/DM/Bootstrap.xml"), NULL, { 400 }, false,
	  B_ANY, NULL, "a '..' segment in the path: /OMA/../OMA/DM/Bootstrap.xml\n", NULL, false },
	{ "trailing .. 400", C_DEFAULT, false, GET("/OMA/.."), NULL, { 400 }, false, B_ANY, NULL,
	  "a '..' segment", NULL, false },
	{ "%2E%2E 400", C_DEFAULT, false, GET("/OMA/DM/%2E%2E/DM/Bootstrap.xml"), NULL, { 400 },
	  false, B_ANY, NULL, "a '..' segment", NULL, false },
	{ ".%2e 400", C_DEFAULT, false, GET("/.%2e/OMA/DM/Bootstrap.xml"), NULL, { 400 }, false,
	  B_ANY, NULL, "a '..' segment", NULL, false },
	{ "... is a name: 404", C_DEFAULT, false, GET("/.../x..y"), NULL, { 404 }, false, B_ANY,
	  NULL, "no such resource on this card: /.../x..y\n", NULL, false },
	{ "bad %2. 400", C_DEFAULT, false, GET("/OMA/DM/Bootstrap%2.xml"), NULL, { 400 }, false,
	  B_ANY, NULL, "a '%' not followed by two hex digits in the path", NULL, false },
	{ "% at the end 400", C_DEFAULT, false, GET("/x%"), NULL, { 400 }, false, B_ANY, NULL,
	  "a '%' not followed by two hex digits", NULL, false },
	{ "%4 at the end 400", C_DEFAULT, false, GET("/x%4"), NULL, { 400 }, false, B_ANY, NULL,
	  "a '%' not followed by two hex digits", NULL, false },
	{ "query not decoded", C_DEFAULT, false, GET("/OMA/DM/Bootstrap.xml?a=%2F%00"), NULL,
	  { 200 }, false, B_BOOT, WBXML_T, NULL, NULL, false },

	/* the index page */
	{ "index 200", C_DEFAULT, false, GET("/"), NULL, { 200 }, false, B_INDEX,
	  "text/html; charset=utf-8", NULL, NULL, false },
	{ "index.html 200", C_DEFAULT, false, GET("/index.html"), NULL, { 200 }, false, B_INDEX,
	  "text/html; charset=utf-8", NULL, NULL, false },
	{ "index HEAD", C_DEFAULT, false, HEAD_("/"), NULL, { 200 }, true, B_EMPTY,
	  "text/html; charset=utf-8", NULL, NULL, false },
	{ "built-in index", C_BROKEN, false, GET("/"), NULL, { 200 }, false, B_ANY,
	  "text/html; charset=utf-8", "/OMA/DM/Bootstrap.xml", NULL, false },
	{ "index POST 405", C_DEFAULT, false, "POST / HTTP/1.1\r\nHost: x\r\n", "a=b", { 405 },
	  false, B_ANY, NULL, NULL, "Allow: GET, HEAD", false },

	/* HTTP framing and limits */
	{ "body 64 KiB + 1 413", C_DEFAULT, false,
	  "POST " BOOT " HTTP/1.1\r\nHost: x\r\n" MP_CT "Content-Length: 65537\r\n\r\n", NULL,
	  { 413 }, false, B_ANY, NULL, "over 65536 bytes", "Connection: close", true },
	{ "HTTP/1.1 without Host 400", C_DEFAULT, false, "GET / HTTP/1.1\r\n\r\n", NULL, { 400 },
	  false, B_ANY, NULL, "without a Host header", "Connection: close", true },
	{ "HTTP/2 505", C_DEFAULT, false, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", NULL, { 505 },
	  false, B_ANY, NULL, NULL, "Connection: close", true },
	{ "Expect other 417", C_DEFAULT, false, "GET / HTTP/1.1\r\nHost: x\r\nExpect: x\r\n\r\n",
	  NULL, { 417 }, false, B_ANY, NULL, NULL, NULL, true },
	{ "100-continue rejected from the head", C_DEFAULT, false,
	  "PUT " BOOT " HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
	  NULL, { 405 }, false, B_ANY, NULL, NULL, "Connection: close", true },
	{ "100-continue 415", C_DEFAULT, false,
	  "POST " BOOT " HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n"
	  "Content-Type: text/plain\r\n\r\n",
	  NULL, { 415 }, false, B_ANY, NULL, NULL, "Connection: close", true },
	{ "100-continue plain port 403", C_DEFAULT, true, POST "Expect: 100-continue\r\n", DEVID END,
	  { 403 }, false, B_ANY, NULL, "HTTPS only", "Connection: close", true },

	/* keep-alive and pipelining */
	{ "keep-alive GET then POST", C_DEFAULT, false,
	  GET(BOOT) POST "Content-Length: 72\r\n\r\n" PART("devid", "IMEI:1") END, NULL,
	  { 200, 200 }, false, B_BOOT, WBXML_T, NULL, NULL, false },
	{ "pipelined 404, index, HEAD", C_DEFAULT, false, GET("/x") GET("/") HEAD_(BOOT), NULL,
	  { 404, 200, 200 }, true, B_EMPTY, WBXML_T, NULL, NULL, false },
	{ "405 with a body, then GET", C_DEFAULT, false,
	  "PUT " BOOT " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" GET(BOOT), NULL,
	  { 405, 200 }, false, B_BOOT, WBXML_T, NULL, NULL, false },
	{ "405 chunked body skipped, then GET", C_DEFAULT, false,
	  "PUT " BOOT " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "3\r\nabc\r\n0\r\n\r\n" GET("/"), NULL, { 405, 200 }, false, B_INDEX, NULL, NULL, NULL,
	  false },
	{ "form error keeps the connection", C_DEFAULT, false,
	  POST "Content-Length: 9\r\n\r\n" END GET(BOOT), NULL, { 400, 200 }, false, B_BOOT,
	  WBXML_T, NULL, NULL, false },
	{ "request after Connection: close ignored", C_DEFAULT, false,
	  "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" GET("/"), NULL, { 200 }, false,
	  B_INDEX, NULL, NULL, "Connection: close", true },
};
/* clang-format on */

/* The request bytes of a row into b. */
static void build_request(const struct row *r, struct buf *b)
{
	buf_init(b, 256 * 1024);
	CU_ASSERT_EQUAL(buf_append_str(b, r->req), 0);
	if (r->body)
		CU_ASSERT_EQUAL(
			buf_printf(b, "Content-Length: %zu\r\n\r\n%s", strlen(r->body), r->body),
			0);
}

/* Checks every response of a row's output; returns how many there were. */
static unsigned check_row(const struct row *r, const struct run *x)
{
	const struct fixture *f = &fx[r->card];
	const uint8_t *p = x->out.p;
	size_t left = x->out.len;
	struct resp rs;
	unsigned n = 0;
	char v[256];

	for (; n < 3 && r->status[n]; n++) {
		bool last = n + 1 == 3 || !r->status[n + 1];
		size_t used = parse_resp(p, left, last && r->head_req, &rs);
		CU_ASSERT(used > 0);
		if (!used) {
			fprintf(stderr, "\n%s: response %u does not parse\n", r->name, n + 1);
			return n;
		}
		if (rs.status != r->status[n])
			fprintf(stderr, "\n%s: status %d, want %d\n%.*s\n", r->name, rs.status,
				r->status[n], (int)(used < 600 ? used : 600), (const char *)p);
		CU_ASSERT_EQUAL(rs.status, r->status[n]);
		p += used;
		left -= used;
	}
	CU_ASSERT_EQUAL(left, 0); /* nothing more, nothing half */
	CU_ASSERT_EQUAL(x->done, r->done);
	if (x->done != r->done)
		fprintf(stderr, "\n%s: done %d\n", r->name, x->done);

	const struct buf *want = NULL;
	if (r->want == B_BOOT)
		want = &f->boot;
	else if (r->want == B_OTHER)
		want = &f->other;
	if (want) {
		CU_ASSERT(want->len > 0);
		CU_ASSERT_EQUAL(rs.body_len, want->len);
		CU_ASSERT(rs.body_len == want->len && memcmp(rs.body, want->p, want->len) == 0);
	}
	if (r->want == B_INDEX)
		CU_ASSERT(rs.body_len == f->index_len &&
			  memcmp(rs.body, f->index, f->index_len) == 0);
	if (r->want == B_EMPTY) {
		CU_ASSERT_EQUAL(rs.body_len, 0);
		/* HEAD: Content-Length of what GET would send. */
		if (r->status[n - 1] == 200 && hdr(&rs, "Content-Length", v, sizeof(v)) &&
		    r->ctype && strcmp(r->ctype, WBXML_T) == 0)
			CU_ASSERT_EQUAL(strtoul(v, NULL, 10), f->boot.len);
	}
	if (r->ctype) {
		CU_ASSERT_PTR_NOT_NULL(hdr(&rs, "Content-Type", v, sizeof(v)));
		CU_ASSERT_STRING_EQUAL(hdr(&rs, "Content-Type", v, sizeof(v)) ? v : "", r->ctype);
	}
	if (r->has) {
		bool found = rs.body_len && memmem(rs.body, rs.body_len, r->has, strlen(r->has));
		if (!found)
			fprintf(stderr, "\n%s: body '%.*s' lacks '%s'\n", r->name, (int)rs.body_len,
				(const char *)rs.body, r->has);
		CU_ASSERT_TRUE(found);
	}
	if (r->hline) {
		char line[256];
		snprintf(line, sizeof(line), "\r\n%s\r\n", r->hline);
		CU_ASSERT_PTR_NOT_NULL(strstr(rs.head, line));
	}
	if (rs.status >= 400 && !r->head_req) {
		/* Every error body is one line saying what was wrong. */
		CU_ASSERT(rs.body_len > 1 && rs.body[rs.body_len - 1] == '\n');
		CU_ASSERT_PTR_NULL(memchr(rs.body, '\n', rs.body_len - 1));
		CU_ASSERT_PTR_NOT_NULL(strstr(rs.head, "\r\nCache-Control: no-store\r\n"));
	}
	return n;
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct fixture *f = fixture(r->card);
		struct buf req;
		struct run x;
		build_request(r, &req);
		log_capture();
		run_conn(f->srv, !r->plain_port, req.p, req.len, 0, &x);
		log_set_sink(sink, NULL);
		unsigned n = check_row(r, &x);
		/* One log line per request (100 Continue is not an answer). */
		unsigned finals = n - (r->status[0] == 100);
		if (g_log_requests != finals)
			fprintf(stderr, "\n%s: %u request log lines:\n%s", r->name, g_log_requests,
				g_log);
		CU_ASSERT_EQUAL(g_log_requests, finals);
		buf_cleanup(&x.out);
		buf_cleanup(&req);
	}
}

/* The same bytes in pieces of every size give the same responses. */
static void test_table_split(void)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 1000 };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct fixture *f = fixture(r->card);
		struct buf req;
		struct run whole, x;
		build_request(r, &req);
		log_capture();
		run_conn(f->srv, !r->plain_port, req.p, req.len, 0, &whole);
		blank_dates(whole.out.p, whole.out.len);
		for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
			run_conn(f->srv, !r->plain_port, req.p, req.len, chunks[k], &x);
			blank_dates(x.out.p, x.out.len);
			bool same = x.out.len == whole.out.len &&
				    memcmp(x.out.p, whole.out.p, x.out.len) == 0;
			if (!same)
				fprintf(stderr, "\n%s: chunk %zu differs\n", r->name, chunks[k]);
			CU_ASSERT_TRUE(same);
			CU_ASSERT_EQUAL(x.done, whole.done);
			buf_cleanup(&x.out);
		}
		log_set_sink(sink, NULL);
		buf_cleanup(&whole.out);
		buf_cleanup(&req);
	}
}

/* ---------------------------------------------------------------- single cases */

static struct scws_conn *new_conn(struct scws_server *srv, bool https)
{
	struct scws_conn_info info = {
		.transport = "test",
		.peer = "[::1]:4242",
		.local_port = 4116,
		.tls_offloaded = https,
	};
	return scws_conn_new(srv, &info);
}

static size_t feed_str(struct scws_conn *c, const char *s, struct buf *out)
{
	CU_ASSERT_EQUAL(scws_conn_feed(c, (const uint8_t *)s, strlen(s)), 0);
	struct bytes o = scws_conn_output(c);
	size_t n = o.len;
	if (out)
		CU_ASSERT_EQUAL(buf_append(out, o.ptr, o.len), 0);
	scws_conn_consume(c, o.len);
	return n;
}

/* The index page lists the URLs the daemon says it serves. */
static void test_index_urls(void)
{
	struct fixture *f = fixture(C_DEFAULT);
	struct fixture *b = fixture(C_BROKEN);
	/* clang-format off */
	static const char *const urls[] = {
		"https://127.0.0.1:40116/OMA/DM/Bootstrap.xml",
		"http://[::1]:40001/OMA/DM/Bootstrap.xml",
	};
	/* clang-format on */
	const char *const *got = NULL;
	CU_ASSERT_EQUAL(scws_server_urls(f->srv, &got), 0);
	CU_ASSERT_EQUAL(scws_server_set_urls(f->srv, urls, 2), 0);
	CU_ASSERT_EQUAL(scws_server_urls(f->srv, &got), 2);
	CU_ASSERT_STRING_EQUAL(got[1], urls[1]);
	CU_ASSERT_EQUAL(scws_server_set_urls(b->srv, urls, 1), 0);
	for (int i = 0; i < 2; i++) {
		struct scws_server *srv = i ? b->srv : f->srv;
		struct buf out;
		buf_init(&out, 1 << 20);
		struct scws_conn *c = new_conn(srv, true);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		feed_str(c, GET("/"), &out);
		CU_ASSERT_TRUE(buf_append_u8(&out, 0) == 0);
		const char *body = (const char *)out.p;
		CU_ASSERT_PTR_NOT_NULL(strstr(body, "HTTP/1.1 200"));
		CU_ASSERT_PTR_NOT_NULL(strstr(body,
					      "<li><a href=\"https://127.0.0.1:40116/OMA/DM/"
					      "Bootstrap.xml\">https://127.0.0.1:40116/OMA/DM/"
					      "Bootstrap.xml</a></li>\n"));
		CU_ASSERT_EQUAL(strstr(body, "http://[::1]:40001") != NULL, i == 0);
		CU_ASSERT_PTR_NULL(strstr(body, "<!--scwsemu:urls-->"));
		CU_ASSERT_PTR_NULL(strstr(body, "4116/OMA"));
		scws_conn_free(c);
		buf_cleanup(&out);
	}
	/* Over the limits: the list stays as it was. */
	static char longurl[SCWS_URL_MAX + 1];
	memset(longurl, 'a', SCWS_URL_MAX);
	const char *bad[] = { longurl };
	CU_ASSERT_EQUAL(scws_server_set_urls(f->srv, bad, 1), -EMSGSIZE);
	CU_ASSERT_EQUAL(scws_server_set_urls(f->srv, urls, SCWS_URLS_MAX + 1), -EMSGSIZE);
	CU_ASSERT_EQUAL(scws_server_urls(f->srv, &got), 2);
	CU_ASSERT_EQUAL(scws_server_set_urls(f->srv, NULL, 0), 0);
	CU_ASSERT_EQUAL(scws_server_set_urls(b->srv, NULL, 0), 0);
	CU_ASSERT_EQUAL(scws_server_urls(f->srv, &got), 0);
}

/* An idle connection holds no request state and no output buffer: both
 * are taken when a request starts and given back when none is in
 * progress, pipelined requests included. */
static void test_idle_footprint(void)
{
	struct fixture *f = fixture(C_DEFAULT);
	struct scws_conn *c = new_conn(f->srv, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	size_t idle = scws_conn_footprint(c);
	CU_ASSERT(idle < 1024);
	CU_ASSERT_EQUAL(feed_str(c, "GET / HTTP/1.1\r\nHo", NULL), 0);
	CU_ASSERT_TRUE(scws_conn_in_request(c));
	CU_ASSERT(scws_conn_footprint(c) > idle + HTTP_HEAD_MAX);
	CU_ASSERT(feed_str(c, "st: x\r\n\r\n", NULL) > 0);
	CU_ASSERT_FALSE(scws_conn_in_request(c));
	CU_ASSERT_EQUAL(scws_conn_footprint(c), idle);
	/* Two answered, a third begun: the state stays until it ends. */
	CU_ASSERT(feed_str(c, GET("/") GET("/x") "GET /", NULL) > 0);
	CU_ASSERT_TRUE(scws_conn_in_request(c));
	CU_ASSERT(scws_conn_footprint(c) > idle + HTTP_HEAD_MAX);
	CU_ASSERT(feed_str(c, " HTTP/1.1\r\nHost: x\r\n\r\n", NULL) > 0);
	CU_ASSERT_EQUAL(scws_conn_footprint(c), idle);
	CU_ASSERT_FALSE(scws_conn_done(c));
	/* An answer not yet taken keeps its output buffer. */
	CU_ASSERT_EQUAL(scws_conn_feed(c, (const uint8_t *)GET("/"), strlen(GET("/"))), 0);
	CU_ASSERT(scws_conn_footprint(c) > idle);
	scws_conn_consume(c, scws_conn_output(c).len);
	CU_ASSERT_EQUAL(scws_conn_footprint(c), idle);
	scws_conn_free(c);
}

static void test_431(void)
{
	struct fixture *f = fixture(C_DEFAULT);
	struct scws_conn *c = new_conn(f->srv, true);
	struct buf out;
	char line[1200];
	buf_init(&out, 65536);
	memset(line, 'a', sizeof(line) - 3);
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	feed_str(c, "GET / HTTP/1.1\r\nHost: x\r\n", &out);
	for (int i = 0; i < 8 && !scws_conn_done(c); i++) {
		CU_ASSERT_TRUE(scws_conn_in_request(c));
		feed_str(c, "X-Long: ", &out);
		feed_str(c, line, &out);
	}
	CU_ASSERT_TRUE(scws_conn_done(c));
	CU_ASSERT_FALSE(scws_conn_in_request(c));
	struct resp rs;
	CU_ASSERT_EQUAL(parse_resp(out.p, out.len, false, &rs), out.len);
	CU_ASSERT_EQUAL(rs.status, 431);
	CU_ASSERT_PTR_NOT_NULL(strstr(rs.head, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
	CU_ASSERT(rs.body_len && memmem(rs.body, rs.body_len, "request head over 8192 bytes", 28));
	scws_conn_free(c);
	buf_cleanup(&out);
}

/* A body of 64 KiB + 1 sent chunked: 413 as the excess arrives. */
static void test_413_chunked(void)
{
	struct fixture *f = fixture(C_DEFAULT);
	struct scws_conn *c = new_conn(f->srv, true);
	struct buf out;
	static char data[32769];
	buf_init(&out, 65536);
	memset(data, 'x', sizeof(data) - 1);
	feed_str(c, POST "Transfer-Encoding: chunked\r\n\r\n", &out);
	CU_ASSERT_EQUAL(out.len, 0);
	feed_str(c, "8000\r\n", &out);
	data[32768] = 0;
	feed_str(c, data, &out);
	feed_str(c, "\r\n8000\r\n", &out);
	feed_str(c, data, &out);
	CU_ASSERT_EQUAL(out.len, 0);
	CU_ASSERT_FALSE(scws_conn_done(c));
	feed_str(c, "\r\n1\r\n", &out);
	CU_ASSERT_TRUE(scws_conn_done(c));
	struct resp rs;
	CU_ASSERT_EQUAL(parse_resp(out.p, out.len, false, &rs), out.len);
	CU_ASSERT_EQUAL(rs.status, 413);
	scws_conn_free(c);
	buf_cleanup(&out);
}

/* A value over SCWS_FIELD_MAX is 400, and the rest of the body is read
 * (the connection stays usable). */
static void test_field_too_long(void)
{
	struct fixture *f = fixture(C_DEFAULT);
	struct buf body, req;
	buf_init(&body, 65536);
	buf_init(&req, 65536);
	CU_ASSERT_EQUAL(buf_append_str(&body, DEVID "--XyZ\r\nContent-Disposition: form-data; "
						    "name=\"username\"\r\n\r\n"),
			0);
	for (unsigned i = 0; i < SCWS_FIELD_MAX + 1; i++)
		CU_ASSERT_EQUAL(buf_append_u8(&body, 'u'), 0);
	CU_ASSERT_EQUAL(buf_append_str(&body, "\r\n" END), 0);
	CU_ASSERT_EQUAL(buf_printf(&req, POST "Content-Length: %zu\r\n\r\n", body.len), 0);
	CU_ASSERT_EQUAL(buf_append(&req, body.p, body.len), 0);
	CU_ASSERT_EQUAL(buf_append_str(&req, GET("/")), 0);
	for (size_t chunk = 0; chunk < 3; chunk++) {
		struct run x;
		run_conn(f->srv, true, req.p, req.len, chunk * 100, &x);
		struct resp rs;
		size_t used = parse_resp(x.out.p, x.out.len, false, &rs);
		CU_ASSERT(used > 0);
		CU_ASSERT_EQUAL(rs.status, 400);
		CU_ASSERT(rs.body_len && memmem(rs.body, rs.body_len,
						"field username longer than 1024 bytes\n", 38));
		CU_ASSERT_EQUAL(parse_resp(x.out.p + used, x.out.len - used, false, &rs),
				x.out.len - used);
		CU_ASSERT_EQUAL(rs.status, 200);
		buf_cleanup(&x.out);
	}
	/* Exactly SCWS_FIELD_MAX is fine (then: username without passphrase). */
	buf_reset(&body);
	buf_reset(&req);
	CU_ASSERT_EQUAL(buf_append_str(&body, DEVID "--XyZ\r\nContent-Disposition: form-data; "
						    "name=\"username\"\r\n\r\n"),
			0);
	for (unsigned i = 0; i < SCWS_FIELD_MAX; i++)
		CU_ASSERT_EQUAL(buf_append_u8(&body, 'u'), 0);
	CU_ASSERT_EQUAL(buf_append_str(&body, "\r\n" END), 0);
	CU_ASSERT_EQUAL(buf_printf(&req, POST "Content-Length: %zu\r\n\r\n", body.len), 0);
	CU_ASSERT_EQUAL(buf_append(&req, body.p, body.len), 0);
	struct run x;
	run_conn(f->srv, true, req.p, req.len, 0, &x);
	struct resp rs;
	CU_ASSERT(parse_resp(x.out.p, x.out.len, false, &rs) > 0);
	CU_ASSERT_EQUAL(rs.status, 400);
	CU_ASSERT(rs.body_len && memmem(rs.body, rs.body_len, "username without passphrase", 27));
	buf_cleanup(&x.out);
	buf_cleanup(&body);
	buf_cleanup(&req);
}

static void test_peer_closed(void)
{
	struct fixture *f = fixture(C_DEFAULT);
	struct scws_conn *c = new_conn(f->srv, true);
	struct buf out;
	buf_init(&out, 65536);
	CU_ASSERT_FALSE(scws_conn_in_request(c));
	CU_ASSERT_FALSE(scws_conn_done(c));
	feed_str(c, "GET / HTTP/1.1\r\nHo", &out);
	CU_ASSERT_TRUE(scws_conn_in_request(c));
	scws_conn_peer_closed(c);
	CU_ASSERT_TRUE(scws_conn_done(c));
	CU_ASSERT_FALSE(scws_conn_in_request(c));
	CU_ASSERT_EQUAL(out.len, 0);
	CU_ASSERT_EQUAL(scws_conn_output(c).len, 0);
	/* Input after done is ignored. */
	feed_str(c, "st: x\r\n\r\n", &out);
	CU_ASSERT_EQUAL(out.len, 0);
	scws_conn_free(c);

	c = new_conn(f->srv, true);
	feed_str(c, GET("/"), &out);
	CU_ASSERT(out.len > 0);
	CU_ASSERT_FALSE(scws_conn_in_request(c));
	CU_ASSERT_FALSE(scws_conn_done(c));
	scws_conn_peer_closed(c);
	CU_ASSERT_TRUE(scws_conn_done(c));
	scws_conn_free(c);
	scws_conn_free(NULL);
	buf_cleanup(&out);
}

/* Many pipelined requests and a client that does not read: the output
 * says full above its mark, and past SCWS_CONN_PIPELINE_MAX the conn
 * answers 503 and closes. */
static void test_output_bound(void)
{
	struct fixture *f = fixture(C_DEFAULT);
	struct scws_conn *c = new_conn(f->srv, true);
	struct buf req;
	buf_init(&req, 4u * 1024 * 1024);
	size_t per = f->boot.len + 200;
	size_t n = SCWS_CONN_PIPELINE_MAX / per + 50;
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(buf_append_str(&req, GET(BOOT)), 0);
	CU_ASSERT_FALSE(scws_conn_output_full(c));
	log_set_sink(sink, NULL);
	CU_ASSERT_EQUAL(scws_conn_feed(c, req.p, req.len), 0);
	log_set_sink(sink, NULL);
	CU_ASSERT_TRUE(scws_conn_output_full(c));
	CU_ASSERT_TRUE(scws_conn_done(c));
	struct bytes o = scws_conn_output(c);
	CU_ASSERT(o.len > SCWS_CONN_PIPELINE_MAX && o.len < SCWS_CONN_OUT_MAX);
	/* 200s, then one 503, in order. */
	struct resp rs;
	size_t off = 0, oks = 0;
	int last = 0;
	while (off < o.len) {
		size_t used = parse_resp(o.ptr + off, o.len - off, false, &rs);
		CU_ASSERT_FATAL(used > 0);
		off += used;
		if (rs.status == 200)
			oks++;
		last = rs.status;
	}
	CU_ASSERT_EQUAL(last, 503);
	CU_ASSERT(oks > SCWS_CONN_PIPELINE_MAX / per - 2 && oks < n);
	/* Draining a little at a time, then all. */
	scws_conn_consume(c, 100);
	CU_ASSERT_EQUAL(scws_conn_output(c).len, o.len - 100);
	size_t left = o.len - 100;
	while (left > 0) {
		size_t k = left > 237 ? 237 : left;
		scws_conn_consume(c, k);
		left -= k;
		CU_ASSERT_EQUAL(scws_conn_output(c).len, left);
		if (left < SCWS_CONN_OUT_HIGH)
			CU_ASSERT_FALSE(scws_conn_output_full(c));
	}
	scws_conn_consume(c, 10); /* more than there is */
	CU_ASSERT_EQUAL(scws_conn_output(c).len, 0);
	scws_conn_free(c);
	buf_cleanup(&req);
}

static void post_form(struct scws_server *srv, const char *body, int want)
{
	char req[4096];
	snprintf(req, sizeof(req), POST "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	struct run x;
	run_conn(srv, true, (const uint8_t *)req, strlen(req), 0, &x);
	struct resp rs;
	CU_ASSERT(parse_resp(x.out.p, x.out.len, false, &rs) > 0);
	CU_ASSERT_EQUAL(rs.status, want);
	buf_cleanup(&x.out);
}

static void test_push_address(void)
{
	struct fixture *f = fixture(C_DEFAULT);
	struct fixture *a = fixture(C_AUTH);
	struct fixture *l = fixture(C_ALLOW);
	struct fixture *e = fixture(C_EMPTY);
	CU_ASSERT_PTR_NULL(scws_server_push_address(f->srv, "IMEI:7"));
	post_form(f->srv, PART("devid", "IMEI:7") PART("push-address", "http://127.0.0.1:9/a") END,
		  200);
	CU_ASSERT_STRING_EQUAL(scws_server_push_address(f->srv, "IMEI:7"), "http://127.0.0.1:9/a");
	post_form(f->srv, PART("devid", "IMEI:7") PART("push-address", "sms:+3312345") END, 200);
	CU_ASSERT_STRING_EQUAL(scws_server_push_address(f->srv, "IMEI:7"), "sms:+3312345");
	/* Not from a 400, nor a refused client, nor a devid not allowed. */
	post_form(f->srv,
		  PART("devid", "IMEI:7") PART("push-address", "sms:1") PART("passphrase", "x") END,
		  400);
	CU_ASSERT_STRING_EQUAL(scws_server_push_address(f->srv, "IMEI:7"), "sms:+3312345");
	post_form(a->srv, PART("devid", "IMEI:8") PART("push-address", "sms:1") END, 403);
	CU_ASSERT_PTR_NULL(scws_server_push_address(a->srv, "IMEI:8"));
	post_form(l->srv, PART("devid", "IMEI:8") PART("push-address", "sms:1") END, 404);
	CU_ASSERT_PTR_NULL(scws_server_push_address(l->srv, "IMEI:8"));
	/* A card without a bootstrap still records it (the client did send it). */
	post_form(e->srv, PART("devid", "IMEI:9") PART("push-address", "sms:9") END, 404);
	CU_ASSERT_STRING_EQUAL(scws_server_push_address(e->srv, "IMEI:9"), "sms:9");

	/* Bounded: the devid updated longest ago goes first. */
	struct scws_server *srv = scws_server_new();
	char d[32];
	for (unsigned i = 0; i < SCWS_PUSH_DEVIDS_MAX; i++) {
		snprintf(d, sizeof(d), "IMEI:%u", i);
		CU_ASSERT_EQUAL(scws_server_set_push_address(srv, d, "sms:1"), 0);
	}
	CU_ASSERT_EQUAL(scws_server_set_push_address(srv, "IMEI:0", "sms:0"), 0); /* refreshed */
	CU_ASSERT_EQUAL(scws_server_set_push_address(srv, "IMEI:new", "sms:2"), 0);
	CU_ASSERT_STRING_EQUAL(scws_server_push_address(srv, "IMEI:0"), "sms:0");
	CU_ASSERT_PTR_NULL(scws_server_push_address(srv, "IMEI:1"));
	CU_ASSERT_STRING_EQUAL(scws_server_push_address(srv, "IMEI:2"), "sms:1");
	CU_ASSERT_STRING_EQUAL(scws_server_push_address(srv, "IMEI:new"), "sms:2");
	CU_ASSERT_PTR_NULL(scws_server_push_address(srv, NULL));
	scws_server_free(srv);
	scws_server_free(NULL);
}

/* One info line per request with what the design names, and never a
 * secret; a broken card adds a warning that says why. */
static void test_log_line(void)
{
	struct fixture *a = fixture(C_AUTH);
	struct fixture *b = fixture(C_BROKEN);
	log_capture();
	post_form(a->srv,
		  DEVID PART("username", "dmuser") PART("passphrase", PASS64)
			  PART("push-address", "sms:1") PART("x-extra", "1") END,
		  200);
	log_set_sink(sink, NULL);
	CU_ASSERT_EQUAL(g_log_requests, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log,
				      "info  scws: request transport=test "
				      "peer=127.0.0.1:50000 port=4116 method=POST "
				      "path=/OMA/DM/Bootstrap.xml devid=IMEI:493005100592800 "
				      "fields=username,passphrase,push-address "
				      "ignored=x-extra status=200 bytes="));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log, " ms="));
	CU_ASSERT_PTR_NULL(strstr(g_log, "s3cret"));
	CU_ASSERT_PTR_NULL(strstr(g_log, PASS64));

	log_capture();
	post_form(a->srv, DEVID PART("username", "dmuser") PART("passphrase", "d3Jvbmc=") END, 403);
	log_set_sink(sink, NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "status=403"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "reason=\"wrong username or passphrase\""));
	CU_ASSERT_PTR_NULL(strstr(g_log, "d3Jvbmc"));
	CU_ASSERT_PTR_NULL(strstr(g_log, "wrong\""));

	log_capture();
	struct run x;
	run_conn(b->srv, true, (const uint8_t *)GET(BOOT), strlen(GET(BOOT)), 0, &x);
	log_set_sink(sink, NULL);
	buf_cleanup(&x.out);
	CU_ASSERT_EQUAL(g_log_requests, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "warn  scws: bootstrap walk failed, answering 404 "
					     "card=scws-broken reason=\"DODF 6430: malformed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "status=404"));

	log_capture();
	struct fixture *e = fixture(C_EMPTY);
	run_conn(e->srv, true, (const uint8_t *)GET(BOOT), strlen(GET(BOOT)), 0, &x);
	log_set_sink(sink, NULL);
	buf_cleanup(&x.out);
	CU_ASSERT_PTR_NULL(strstr(g_log, "warn "));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "status=404"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "detail="));
}

/* scws_server_load with another card changes the answer at once; a
 * failed load keeps the card in place. */
static void test_reload(void)
{
	struct profile *p;
	struct card_fs *fs;
	char err[512];
	struct scws_server *srv = scws_server_new();
	struct run x;
	struct resp rs;
	CU_ASSERT_PTR_NULL(scws_server_profile(srv));
	CU_ASSERT_PTR_NULL(scws_server_tls_ctx(srv));

	/* No card yet: 503, the built-in index. */
	run_conn(srv, true, (const uint8_t *)GET(BOOT), strlen(GET(BOOT)), 0, &x);
	CU_ASSERT(parse_resp(x.out.p, x.out.len, false, &rs) > 0);
	CU_ASSERT_EQUAL(rs.status, 503);
	buf_cleanup(&x.out);

	CU_ASSERT_EQUAL_FATAL(load_profile("cards/default", &p, &fs), 0);
	CU_ASSERT_EQUAL_FATAL(scws_server_load(srv, p, fs, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(scws_server_tls_ctx(srv));
	CU_ASSERT_STRING_EQUAL(scws_server_profile(srv)->name, "default");

	/* A conn opened now, mid-request across the reload. */
	struct scws_conn *c = new_conn(srv, true);
	struct buf out;
	buf_init(&out, 65536);
	feed_str(c, "GET " BOOT " HTTP/1.1\r\n", &out);

	CU_ASSERT_EQUAL_FATAL(load_profile("cards/auth", &p, &fs), 0);
	CU_ASSERT_EQUAL_FATAL(scws_server_load(srv, p, fs, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(scws_server_profile(srv)->name, "auth");
	feed_str(c, "Host: x\r\n\r\n", &out);
	CU_ASSERT(parse_resp(out.p, out.len, false, &rs) > 0);
	CU_ASSERT_EQUAL(rs.status, 403);
	scws_conn_free(c);
	buf_cleanup(&out);

	/* A TLS settings failure keeps the auth card. */
	CU_ASSERT_EQUAL_FATAL(load_profile("cards/xml", &p, &fs), 0);
	free(p->tls.cipher_list);
	p->tls.cipher_list = strdup("NO-SUCH-CIPHER");
	free(p->tls.ciphersuites);
	p->tls.ciphersuites = NULL;
	free(p->tls.psk_identity);
	p->tls.psk_identity = NULL;
	CU_ASSERT_NOT_EQUAL(scws_server_load(srv, p, fs, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "TLS"));
	CU_ASSERT_STRING_EQUAL(scws_server_profile(srv)->name, "auth");
	CU_ASSERT_EQUAL(scws_server_load(srv, NULL, NULL, err, sizeof(err)), -EINVAL);
	run_conn(srv, true, (const uint8_t *)GET(BOOT), strlen(GET(BOOT)), 0, &x);
	CU_ASSERT(parse_resp(x.out.p, x.out.len, false, &rs) > 0);
	CU_ASSERT_EQUAL(rs.status, 403);
	buf_cleanup(&x.out);

	/* The empty card: 404. */
	CU_ASSERT_EQUAL_FATAL(load_profile("cards/empty", &p, &fs), 0);
	CU_ASSERT_EQUAL_FATAL(scws_server_load(srv, p, fs, err, sizeof(err)), 0);
	run_conn(srv, true, (const uint8_t *)GET(BOOT), strlen(GET(BOOT)), 0, &x);
	CU_ASSERT(parse_resp(x.out.p, x.out.len, false, &rs) > 0);
	CU_ASSERT_EQUAL(rs.status, 404);
	buf_cleanup(&x.out);

	/* A card without TLS settings: a TLS port gets no conn. */
	CU_ASSERT_EQUAL_FATAL(load_profile("cards/default", &p, &fs), 0);
	free(p->tls.cert_file);
	free(p->tls.key_file);
	free(p->tls.psk_identity);
	p->tls.cert_file = p->tls.key_file = p->tls.psk_identity = NULL;
	CU_ASSERT_EQUAL_FATAL(scws_server_load(srv, p, fs, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NULL(scws_server_tls_ctx(srv));
	struct scws_conn_info info = {
		.transport = "bip", .peer = "x", .local_port = 4116, .tls = true
	};
	log_set_sink(sink, NULL);
	CU_ASSERT_PTR_NULL(scws_conn_new(srv, &info));
	log_set_sink(sink, NULL);
	scws_server_free(srv);
}

static void test_base64(void)
{
	/* clang-format off */
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} t[] = {
		{ "", 0, "" },
		{ "eA==", 0, "x" },
		{ "eHk=", 0, "xy" },
		{ "eHl6", 0, "xyz" },
		{ "czNjcmV0LXBhc3M=", 0, "s3cret-pass" },
		{ "+/+/", 0, "\xfb\xff\xbf" },
		{ "eA", -EINVAL, NULL },
		{ "eA=", -EINVAL, NULL },
		{ "eA===", -EINVAL, NULL },
		{ "e===", -EINVAL, NULL },
		{ "====", -EINVAL, NULL },
		{ "eA=x", -EINVAL, NULL },
		{ "eA==eA==", -EINVAL, NULL },
		{ "eB==", -EINVAL, NULL },
		{ "eHm=", -EINVAL, NULL },
		{ "eA-_", -EINVAL, NULL },
		{ "eA\n==", -EINVAL, NULL },
		{ "e A=", -EINVAL, NULL },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t out[16];
		size_t n = 99;
		int rc = scws_bootstrap_base64_decode((const uint8_t *)t[i].in, strlen(t[i].in),
						      out, sizeof(out), &n);
		if (rc != t[i].rc)
			fprintf(stderr, "\nbase64 '%s': %d\n", t[i].in, rc);
		CU_ASSERT_EQUAL(rc, t[i].rc);
		if (t[i].out)
			CU_ASSERT(n == strlen(t[i].out) && memcmp(out, t[i].out, n) == 0);
	}
	uint8_t small[2];
	size_t n;
	CU_ASSERT_EQUAL(
		scws_bootstrap_base64_decode((const uint8_t *)"eHl6", 4, small, sizeof(small), &n),
		-EMSGSIZE);
}

static void test_devid_uri(void)
{
	/* clang-format off */
	static const struct {
		const char *s;
		bool ok;
	} t[] = {
		{ "IMEI:493005100592800", true }, { "MEID:A0000000001234", true },
		{ "urn+x-1.a:v", true },          { "a:b", true },
		{ "IMEI", false },                { ":1", false },
		{ "IMEI:", false },               { "1MEI:1", false },
		{ "IM EI:1", false },             { "IMEI:1 2", false },
		{ "IMEI:1\x7f", false },          { "IMEI:\xc3\xa9", false },
		{ "", false },                    { "IM_EI:1", false },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CU_ASSERT_EQUAL(scws_bootstrap_devid_ok((const uint8_t *)t[i].s, strlen(t[i].s)),
				t[i].ok);
		CU_ASSERT_EQUAL(scws_bootstrap_uri_ok((const uint8_t *)t[i].s, strlen(t[i].s)),
				t[i].ok);
	}
	CU_ASSERT_FALSE(scws_bootstrap_devid_ok((const uint8_t *)"IMEI:1\0"
								 "2",
						8));
	CU_ASSERT_TRUE(scws_bootstrap_uri_ok((const uint8_t *)"http://127.0.0.1:9/p?q=1", 24));
}

/* ---------------------------------------------------------------- TLS */

#define PSK_ID "scwsemu"
static const uint8_t psk_key[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

struct client {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rbio, *wbio;
	struct unit_psk psk;
};

enum cli_kind { CLI_CERT, CLI_PSK12, CLI_PSK13 };

static void client_init(struct client *c, enum cli_kind kind, const uint8_t *key)
{
	memset(c, 0, sizeof(*c));
	c->psk.id = PSK_ID;
	c->psk.key = key;
	c->ctx = SSL_CTX_new(TLS_client_method());
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->ctx);
	if (kind == CLI_CERT) {
		CU_ASSERT_EQUAL(SSL_CTX_load_verify_locations(
					c->ctx, unit_srcpath("pki/scws-ca.crt"), NULL),
				1);
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	} else if (kind == CLI_PSK12) {
		SSL_CTX_set_max_proto_version(c->ctx, TLS1_2_VERSION);
		CU_ASSERT_EQUAL(SSL_CTX_set_cipher_list(c->ctx, "PSK-AES128-GCM-SHA256"), 1);
	} else {
		SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION);
	}
	CU_ASSERT_EQUAL(unit_tls_client_new(
				c->ctx, kind == CLI_CERT, kind == CLI_PSK12 ? &c->psk : NULL,
				kind == CLI_PSK13 ? &c->psk : NULL, &c->ssl, &c->rbio, &c->wbio),
			0);
}

static void client_cleanup(struct client *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	ERR_clear_error();
}

/* Moves bytes both ways (chunk bytes per conn feed, 0 = all) until
 * neither side has anything more; plaintext the client reads goes to
 * got. */
static void pump(struct client *cl, struct scws_conn *c, size_t chunk, struct buf *got)
{
	uint8_t tmp[16384];
	for (int round = 0; round < 1000; round++) {
		bool moved = false;
		if (!SSL_is_init_finished(cl->ssl)) {
			SSL_do_handshake(cl->ssl);
			ERR_clear_error();
		}
		int n;
		while ((n = BIO_read(cl->wbio, tmp, (int)sizeof(tmp))) > 0) {
			for (size_t off = 0; off < (size_t)n;) {
				size_t k =
					chunk && (size_t)n - off > chunk ? chunk : (size_t)n - off;
				CU_ASSERT_EQUAL(scws_conn_feed(c, tmp + off, k), 0);
				off += k;
			}
			moved = true;
		}
		struct bytes o = scws_conn_output(c);
		if (o.len) {
			CU_ASSERT_EQUAL(BIO_write(cl->rbio, o.ptr, (int)o.len), (int)o.len);
			scws_conn_consume(c, o.len);
			moved = true;
		}
		if (SSL_is_init_finished(cl->ssl)) {
			size_t r;
			while (SSL_read_ex(cl->ssl, tmp, sizeof(tmp), &r) == 1) {
				CU_ASSERT_EQUAL(buf_append(got, tmp, r), 0);
				moved = true;
			}
			ERR_clear_error();
		}
		if (!moved)
			return;
	}
}

static struct scws_conn *tls_conn(struct scws_server *srv)
{
	struct scws_conn_info info = {
		.transport = "bip",
		.peer = "127.0.0.1:50001",
		.local_port = 4116,
		.tls = true,
	};
	struct scws_conn *c = scws_conn_new(srv, &info);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

struct tls_case {
	const char *name;
	enum card_id card;
	enum cli_kind cli;
	const char *req;
	const char *body;
	int status[2];
	enum want_body want;
	const char *log; /* in the request log line */
};

/* clang-format off */
static const struct tls_case tls_cases[] = {
	{ "cert GET", C_DEFAULT, CLI_CERT, GET(BOOT), NULL, { 200 }, B_BOOT, "tls=TLSv1.3" },
	{ "PSK 1.2 POST", C_DEFAULT, CLI_PSK12, POST, DEVID END, { 200 }, B_BOOT,
	  "tls=TLSv1.2 cipher=PSK-AES128-GCM-SHA256 psk_identity=scwsemu" },
	{ "PSK 1.3 GET", C_DEFAULT, CLI_PSK13, GET(BOOT), NULL, { 200 }, B_BOOT,
	  "psk_identity=scwsemu" },
	{ "cert 403 auth", C_AUTH, CLI_CERT, GET(BOOT), NULL, { 403 }, B_ANY, "status=403" },
	{ "cert POST auth", C_AUTH, CLI_CERT, POST,
	  DEVID PART("username", "dmuser") PART("passphrase", PASS64) END, { 200 }, B_BOOT,
	  "fields=username,passphrase" },
	{ "PSK 1.3 keep-alive then close", C_XML, CLI_PSK13,
	  GET(BOOT) "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", NULL, { 200, 200 },
	  B_INDEX, "tls=TLSv1.3" },
	{ "cert 100-continue", C_DEFAULT, CLI_CERT, POST "Expect: 100-continue\r\n", DEVID END,
	  { 100, 200 }, B_BOOT, "status=200" },
};
/* clang-format on */

static void run_tls_case(const struct tls_case *tc, size_t chunk)
{
	struct fixture *f = fixture(tc->card);
	struct client cl;
	struct buf req, got;
	struct scws_conn *c = tls_conn(f->srv);
	client_init(&cl, tc->cli, psk_key);
	buf_init(&req, 65536);
	buf_init(&got, 1024 * 1024);
	CU_ASSERT_EQUAL(buf_append_str(&req, tc->req), 0);
	if (tc->body)
		CU_ASSERT_EQUAL(buf_printf(&req, "Content-Length: %zu\r\n\r\n%s", strlen(tc->body),
					   tc->body),
				0);
	log_capture();
	pump(&cl, c, chunk, &got);
	CU_ASSERT_TRUE(SSL_is_init_finished(cl.ssl));
	CU_ASSERT_FALSE(scws_conn_done(c));
	size_t w;
	CU_ASSERT_EQUAL(SSL_write_ex(cl.ssl, req.p, req.len, &w), 1);
	pump(&cl, c, chunk, &got);
	log_set_sink(sink, NULL);

	const uint8_t *p = got.p;
	size_t left = got.len;
	struct resp rs;
	for (int i = 0; i < 2 && tc->status[i]; i++) {
		size_t used = parse_resp(p, left, false, &rs);
		CU_ASSERT_FATAL(used > 0);
		if (rs.status != tc->status[i])
			fprintf(stderr, "\n%s: status %d\n", tc->name, rs.status);
		CU_ASSERT_EQUAL(rs.status, tc->status[i]);
		p += used;
		left -= used;
	}
	CU_ASSERT_EQUAL(left, 0);
	if (tc->want == B_BOOT)
		CU_ASSERT(rs.body_len == f->boot.len &&
			  memcmp(rs.body, f->boot.p, f->boot.len) == 0);
	if (tc->want == B_INDEX)
		CU_ASSERT(rs.body_len == f->index_len &&
			  memcmp(rs.body, f->index, f->index_len) == 0);
	if (!strstr(g_log, tc->log))
		fprintf(stderr, "\n%s: log lacks '%s':\n%s", tc->name, tc->log, g_log);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log, tc->log));
	if (strstr(tc->req, "Connection: close")) {
		/* close_notify came after the last answer, then done. */
		CU_ASSERT_TRUE(scws_conn_done(c));
		size_t r;
		CU_ASSERT_EQUAL(SSL_read_ex(cl.ssl, got.p, 1, &r), 0);
		CU_ASSERT_EQUAL(SSL_get_error(cl.ssl, 0), SSL_ERROR_ZERO_RETURN);
	} else {
		CU_ASSERT_FALSE(scws_conn_done(c));
		/* The client's close_notify ends the conn. */
		CU_ASSERT_EQUAL(SSL_shutdown(cl.ssl), 0);
		pump(&cl, c, chunk, &got);
		CU_ASSERT_TRUE(scws_conn_done(c));
	}
	scws_conn_free(c);
	client_cleanup(&cl);
	buf_cleanup(&req);
	buf_cleanup(&got);
}

static void test_tls(void)
{
	for (size_t i = 0; i < sizeof(tls_cases) / sizeof(tls_cases[0]); i++) {
		run_tls_case(&tls_cases[i], 0);
		run_tls_case(&tls_cases[i], 1);
		run_tls_case(&tls_cases[i], 100);
	}
}

/* A wrong PSK: the alert goes out, one warning names the peer and the
 * reason (not the key), and the conn is done. */
static void test_tls_failure(void)
{
	static const uint8_t bad_key[16] = { 1 };
	struct fixture *f = fixture(C_DEFAULT);
	struct client cl;
	struct buf got;
	buf_init(&got, 65536);
	struct scws_conn *c = tls_conn(f->srv);
	CU_ASSERT_FALSE(scws_conn_in_request(c));
	client_init(&cl, CLI_PSK12, bad_key);
	log_capture();
	pump(&cl, c, 0, &got);
	log_set_sink(sink, NULL);
	CU_ASSERT_TRUE(scws_conn_done(c));
	CU_ASSERT_FALSE(SSL_is_init_finished(cl.ssl));
	CU_ASSERT_EQUAL(got.len, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "warn  scws: TLS handshake failed transport=bip "
					     "peer=127.0.0.1:50001 port=4116 reason="));
	CU_ASSERT_PTR_NULL(strstr(g_log, "00112233"));
	CU_ASSERT_EQUAL(g_log_requests, 0);
	scws_conn_free(c);
	client_cleanup(&cl);

	/* Plain HTTP on the TLS port: a plain-text 400 naming the https://
	 * URL (Host kept, nothing else echoed), done; OpenSSL never sees it. */
	static const char plain_req[] = "GET /x HTTP/1.1\r\nHost: localuicc:4116<b>\r\n\r\n";
	static const char want400[] =
		"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
		"Content-Length: 127\r\nConnection: close\r\n\r\n"
		"400 Bad Request: this port speaks HTTPS (TLS), and a plain HTTP request came.\n"
		"Use https://localuicc:4116b/OMA/DM/Bootstrap.xml\n";
	for (size_t split = 1; split <= 2; split++) {
		c = tls_conn(f->srv);
		log_capture();
		/* The first byte decides: a split anywhere later changes nothing
		 * but the Host the answer can see (the first chunk's). */
		size_t first = split == 1 ? strlen(plain_req) : 5;
		CU_ASSERT_EQUAL(scws_conn_feed(c, (const uint8_t *)plain_req, first), 0);
		log_set_sink(sink, NULL);
		CU_ASSERT_TRUE(scws_conn_done(c));
		struct bytes o = scws_conn_output(c);
		if (split == 1) {
			CU_ASSERT_EQUAL(o.len, strlen(want400));
			CU_ASSERT_TRUE(o.len == strlen(want400) &&
				       memcmp(o.ptr, want400, o.len) == 0);
		} else {
			CU_ASSERT_TRUE(o.len > 24 &&
				       memcmp(o.ptr, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
			CU_ASSERT_PTR_NOT_NULL(
				strstr(g_log, "https://127.0.0.1:4116/OMA/DM/Bootstrap.xml"));
		}
		CU_ASSERT_PTR_NOT_NULL(
			strstr(g_log, "warn  scws: plain HTTP on an HTTPS port transport=bip"));
		CU_ASSERT_PTR_NULL(strstr(g_log, "TLS handshake failed"));
		CU_ASSERT_EQUAL(scws_conn_feed(c, (const uint8_t *)"GET", 3), 0); /* ignored */
		scws_conn_free(c);
	}

	/* A TLS ClientHello on the plain port: done at once, no answer. */
	c = new_conn(f->srv, false);
	client_init(&cl, CLI_CERT, psk_key);
	SSL_do_handshake(cl.ssl);
	ERR_clear_error();
	uint8_t hello[4096];
	int hn = BIO_read(cl.wbio, hello, sizeof(hello));
	CU_ASSERT_TRUE_FATAL(hn > 5 && hello[0] == 0x16);
	log_capture();
	CU_ASSERT_EQUAL(scws_conn_feed(c, hello, (size_t)hn), 0);
	log_set_sink(sink, NULL);
	CU_ASSERT_TRUE(scws_conn_done(c));
	CU_ASSERT_EQUAL(scws_conn_output(c).len, 0);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(g_log, "warn  scws: TLS on a plain-HTTP port transport=test"));
	CU_ASSERT_FALSE(scws_conn_in_request(c));
	scws_conn_free(c);
	client_cleanup(&cl);

	/* A handshake under way counts as a request (for the deadline). */
	c = tls_conn(f->srv);
	client_init(&cl, CLI_CERT, psk_key);
	SSL_do_handshake(cl.ssl);
	ERR_clear_error();
	uint8_t tmp[4096];
	int n = BIO_read(cl.wbio, tmp, 10);
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT_EQUAL(scws_conn_feed(c, tmp, 10), 0);
	CU_ASSERT_TRUE(scws_conn_in_request(c));
	scws_conn_peer_closed(c);
	CU_ASSERT_TRUE(scws_conn_done(c));
	scws_conn_free(c);
	client_cleanup(&cl);
	buf_cleanup(&got);
}

/* Connections opened before a reload keep their TLS context and see the
 * new card at once. */
static void test_tls_reload(void)
{
	struct profile *p;
	struct card_fs *fs;
	char err[512];
	struct scws_server *srv = scws_server_new();
	CU_ASSERT_EQUAL_FATAL(load_profile("cards/default", &p, &fs), 0);
	CU_ASSERT_EQUAL_FATAL(scws_server_load(srv, p, fs, err, sizeof(err)), 0);
	struct scws_conn *c = tls_conn(srv);
	struct client cl;
	struct buf got;
	buf_init(&got, 65536);
	client_init(&cl, CLI_CERT, psk_key);
	pump(&cl, c, 0, &got);
	CU_ASSERT_TRUE(SSL_is_init_finished(cl.ssl));

	CU_ASSERT_EQUAL_FATAL(load_profile("cards/xml", &p, &fs), 0);
	CU_ASSERT_EQUAL_FATAL(scws_server_load(srv, p, fs, err, sizeof(err)), 0);
	size_t w;
	CU_ASSERT_EQUAL(SSL_write_ex(cl.ssl, GET(BOOT), strlen(GET(BOOT)), &w), 1);
	pump(&cl, c, 0, &got);
	struct resp rs;
	CU_ASSERT_EQUAL(parse_resp(got.p, got.len, false, &rs), got.len);
	CU_ASSERT_EQUAL(rs.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(rs.head, "\r\nContent-Type: " XML_T "\r\n"));
	scws_conn_free(c);
	client_cleanup(&cl);
	buf_cleanup(&got);
	scws_server_free(srv);
}

/* ---------------------------------------------------------------- fault hooks */

static struct scws_fault_response g_fr;
static struct scws_fault_handshake g_fh;
static unsigned g_resp_calls;
static uint8_t g_sw_ins;

static void hook_response(void *arg, const char *transport, uint16_t port,
			  struct scws_fault_response *out)
{
	(void)arg;
	CU_ASSERT_STRING_EQUAL(transport, "test");
	CU_ASSERT_EQUAL(port, 4116);
	g_resp_calls++;
	*out = g_fr;
}

static void hook_handshake(void *arg, const char *transport, uint16_t port,
			   struct scws_fault_handshake *out)
{
	(void)arg, (void)transport, (void)port;
	*out = g_fh;
}

static bool hook_sw(void *arg, uint8_t ins, uint16_t *sw)
{
	(void)arg;
	if (ins != g_sw_ins)
		return false;
	*sw = 0x6F00;
	return true;
}

static struct scws_server *hooked(void)
{
	static const struct scws_fault_hooks h = {
		.response = hook_response,
		.handshake = hook_handshake,
		.apdu_sw = hook_sw,
	};
	struct scws_server *srv = fixture(C_DEFAULT)->srv;
	memset(&g_fr, 0, sizeof(g_fr));
	memset(&g_fh, 0, sizeof(g_fh));
	g_resp_calls = 0;
	g_sw_ins = 0;
	scws_server_set_fault_hooks(srv, &h);
	return srv;
}

static void test_fault_status(void)
{
	struct scws_server *srv = hooked();
	struct buf out;
	buf_init(&out, 1 << 20);
	struct scws_conn *c = new_conn(srv, true);
	g_fr.status = 503;
	feed_str(c, GET(BOOT), &out);
	struct resp r;
	parse_resp(out.p, out.len, false, &r);
	CU_ASSERT_EQUAL(r.status, 503);
	char v[64];
	CU_ASSERT_STRING_EQUAL(hdr(&r, "Retry-After", v, sizeof(v)), SCWS_FAULT_RETRY_AFTER);
	CU_ASSERT_FALSE(scws_conn_done(c)); /* keep-alive as usual */
	/* The index is not a bootstrap request: no hook, no fault. */
	buf_reset(&out);
	g_fr.status = 500;
	feed_str(c, GET("/"), &out);
	parse_resp(out.p, out.len, false, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(g_resp_calls, 1);
	/* Another status has no Retry-After. */
	buf_reset(&out);
	feed_str(c, GET(BOOT), &out);
	parse_resp(out.p, out.len, false, &r);
	CU_ASSERT_EQUAL(r.status, 500);
	CU_ASSERT_PTR_NULL(hdr(&r, "Retry-After", v, sizeof(v)));
	scws_conn_free(c);
	buf_cleanup(&out);
	scws_server_set_fault_hooks(srv, NULL);
}

static void test_fault_body(void)
{
	struct fixture *f = fixture(C_DEFAULT);
	struct scws_server *srv = hooked();
	struct buf out;
	buf_init(&out, 1 << 20);
	struct scws_conn *c = new_conn(srv, true);
	struct resp r;
	char v[96];
	g_fr.body = SCWS_FAULT_BODY_WRONG_TYPE;
	feed_str(c, GET(BOOT), &out);
	parse_resp(out.p, out.len, false, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(hdr(&r, "Content-Type", v, sizeof(v)), "text/html; charset=utf-8");
	CU_ASSERT(r.body_len == f->boot.len && !memcmp(r.body, f->boot.p, r.body_len));
	buf_reset(&out);
	g_fr.body = SCWS_FAULT_BODY_WBXML_GARBAGE;
	feed_str(c, GET(BOOT), &out);
	parse_resp(out.p, out.len, false, &r);
	CU_ASSERT_STRING_EQUAL(hdr(&r, "Content-Type", v, sizeof(v)), SCWS_BOOTSTRAP_TYPE_WBXML);
	CU_ASSERT_EQUAL(r.body_len, 12);
	struct buf xml;
	buf_init(&xml, SCWS_CONVERT_MAX);
	char err[256];
	CU_ASSERT_NOT_EQUAL(codec_wbxml_decode(r.body, r.body_len, &xml, err, sizeof(err)), 0);
	buf_cleanup(&xml);
	/* Not for an error answer: the body fault applies to a 200. */
	buf_reset(&out);
	feed_str(c, "DELETE " BOOT " HTTP/1.1\r\nHost: x\r\n\r\n", &out);
	parse_resp(out.p, out.len, false, &r);
	CU_ASSERT_EQUAL(r.status, 405);
	scws_conn_free(c);
	buf_cleanup(&out);
	scws_server_set_fault_hooks(srv, NULL);
}

static void test_fault_truncate(void)
{
	static const size_t cuts[] = { 0, 1, 100, 300 };
	struct scws_server *srv = hooked();
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct buf out;
		buf_init(&out, 1 << 20);
		struct scws_conn *c = new_conn(srv, true);
		g_fr.truncate = true;
		g_fr.truncate_len = cuts[i];
		feed_str(c, GET(BOOT), &out);
		CU_ASSERT_EQUAL(out.len, cuts[i]);
		CU_ASSERT_TRUE(scws_conn_done(c));
		if (cuts[i])
			CU_ASSERT_EQUAL(
				memcmp(out.p, "HTTP/1.1 200 OK\r\n", cuts[i] < 17 ? cuts[i] : 17),
				0);
		scws_conn_free(c);
		buf_cleanup(&out);
	}
	/* Longer than the answer: the whole answer, the conn goes on. */
	struct buf out;
	buf_init(&out, 1 << 20);
	struct scws_conn *c = new_conn(srv, true);
	g_fr.truncate_len = 1 << 20;
	feed_str(c, GET(BOOT), &out);
	struct resp r;
	parse_resp(out.p, out.len, false, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_FALSE(scws_conn_done(c));
	scws_conn_free(c);
	buf_cleanup(&out);
	scws_server_set_fault_hooks(srv, NULL);
}

/* The release schedule: nothing before the delay, then bps. */
static void test_fault_pace(void)
{
	struct scws_server *srv = hooked();
	struct scws_conn *c = new_conn(srv, true);
	CU_ASSERT_EQUAL(scws_conn_pace(c, 0), -1);
	CU_ASSERT_FALSE(scws_conn_held(c));
	g_fr.delay_ms = 1000;
	g_fr.drip_bps = 1000;
	CU_ASSERT_EQUAL(scws_conn_feed(c, (const uint8_t *)GET(BOOT), strlen(GET(BOOT))), 0);
	CU_ASSERT_TRUE(scws_conn_held(c));
	CU_ASSERT_EQUAL(scws_conn_output(c).len, 0);
	CU_ASSERT_EQUAL(scws_conn_pace(c, 5000), 1000); /* the clock starts at the first call */
	CU_ASSERT_EQUAL(scws_conn_output(c).len, 0);
	CU_ASSERT_EQUAL(scws_conn_pace(c, 5999), 1);
	CU_ASSERT_EQUAL(scws_conn_output(c).len, 0);
	int w = scws_conn_pace(c, 6000);
	CU_ASSERT(w >= (int)SCWS_PACE_TICK_MS);
	CU_ASSERT_EQUAL(scws_conn_output(c).len, 0);
	CU_ASSERT(scws_conn_pace(c, 6250) > 0);
	CU_ASSERT_EQUAL(scws_conn_output(c).len, 250);
	scws_conn_consume(c, 1000); /* no further than released */
	CU_ASSERT_EQUAL(scws_conn_output(c).len, 0);
	CU_ASSERT(scws_conn_pace(c, 6400) > 0);
	CU_ASSERT_EQUAL(scws_conn_output(c).len, 150);
	scws_conn_consume(c, 150);
	CU_ASSERT_EQUAL(scws_conn_pace(c, 100000), -1);
	CU_ASSERT_FALSE(scws_conn_held(c));
	struct bytes o = scws_conn_output(c);
	CU_ASSERT(o.len > 500); /* the rest of the answer at once */
	scws_conn_consume(c, o.len);
	/* A later answer is not paced. */
	memset(&g_fr, 0, sizeof(g_fr));
	CU_ASSERT_EQUAL(scws_conn_feed(c, (const uint8_t *)GET(BOOT), strlen(GET(BOOT))), 0);
	CU_ASSERT(scws_conn_output(c).len > 1000);
	CU_ASSERT_EQUAL(scws_conn_pace(c, 100001), -1);
	scws_conn_free(c);

	/* Done (Connection: close) but held: not finished yet. */
	c = new_conn(srv, true);
	g_fr.delay_ms = 10;
	const char *req = "GET " BOOT " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	CU_ASSERT_EQUAL(scws_conn_feed(c, (const uint8_t *)req, strlen(req)), 0);
	CU_ASSERT_TRUE(scws_conn_done(c));
	CU_ASSERT_TRUE(scws_conn_held(c));
	CU_ASSERT_EQUAL(scws_conn_pace(c, 0), 10);
	CU_ASSERT_EQUAL(scws_conn_pace(c, 10), -1);
	CU_ASSERT(scws_conn_output(c).len > 1000);
	scws_conn_free(c);
	scws_server_set_fault_hooks(srv, NULL);
}

static void test_fault_apdu_sw(void)
{
	struct scws_server *srv = hooked();
	struct buf out;
	buf_init(&out, 1 << 20);
	struct scws_conn *c = new_conn(srv, true);
	g_sw_ins = 0xB0;
	feed_str(c, GET(BOOT), &out);
	struct resp r;
	parse_resp(out.p, out.len, false, &r);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "6F 00"));
	buf_reset(&out);
	g_sw_ins = 0x12; /* not in the walk */
	feed_str(c, GET(BOOT), &out);
	parse_resp(out.p, out.len, false, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	scws_conn_free(c);
	buf_cleanup(&out);
	scws_server_set_fault_hooks(srv, NULL);
}

static void test_fault_tls(void)
{
	struct scws_server *srv = hooked();
	/* tls-alert: whatever the client sends first, one fatal alert. */
	g_fh.kind = SCWS_FAULT_TLS_ALERT;
	struct scws_conn *c = tls_conn(srv);
	static const uint8_t hello[] = {
		0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00
	};
	CU_ASSERT_EQUAL(scws_conn_feed(c, hello, sizeof(hello)), 0);
	struct bytes o = scws_conn_output(c);
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };
	CU_ASSERT(o.len == sizeof(alert) && !memcmp(o.ptr, alert, sizeof(alert)));
	CU_ASSERT_TRUE(scws_conn_done(c));
	scws_conn_free(c);
	/* tls-cert: a real client sees the fault certificate. */
	g_fh.kind = SCWS_FAULT_TLS_CERT;
	g_fh.cert = SCWS_FAULT_CERT_EXPIRED;
	CU_ASSERT_PTR_NOT_NULL(scws_server_fault_tls_ctx(srv, SCWS_FAULT_CERT_EXPIRED));
	for (unsigned i = 0; i < SCWS_FAULT_CERTS; i++)
		CU_ASSERT_PTR_NOT_NULL(scws_server_fault_tls_ctx(srv, (enum scws_fault_cert)i));
	CU_ASSERT_PTR_NULL(scws_server_fault_tls_ctx(srv, SCWS_FAULT_CERTS));
	/* Made once (on first use), then the same context each time. */
	CU_ASSERT_PTR_EQUAL(scws_server_fault_tls_ctx(srv, SCWS_FAULT_CERT_UNTRUSTED),
			    scws_server_fault_tls_ctx(srv, SCWS_FAULT_CERT_UNTRUSTED));
	c = tls_conn(srv);
	struct client cl;
	client_init(&cl, CLI_CERT, NULL);
	SSL_set_verify(cl.ssl, SSL_VERIFY_NONE, NULL); /* verified, not enforced */
	struct buf got;
	buf_init(&got, 1 << 20);
	pump(&cl, c, 4096, &got);
	CU_ASSERT_TRUE(SSL_is_init_finished(cl.ssl));
	CU_ASSERT_EQUAL(SSL_get_verify_result(cl.ssl), X509_V_ERR_CERT_HAS_EXPIRED);
	X509 *peer = SSL_get1_peer_certificate(cl.ssl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(X509_get0_notAfter(peer), 1609459200),
			0); /* 2021-01-01 */
	X509_free(peer);
	client_cleanup(&cl);
	buf_cleanup(&got);
	scws_conn_free(c);
	scws_server_set_fault_hooks(srv, NULL);
}

/* The observer learns which fault acted (the journal judges the client by
 * it): on a request's answer, with the Retry-After it carried, and on the
 * connection for the handshake faults. */
struct obs_seen {
	unsigned n;
	enum scws_obs_kind kind[8];
	char fault[8][SCWS_OBS_FAULT_MAX];
	unsigned retry_after[8];
	int status[8];
};

static void obs_record(void *arg, const struct scws_obs *rec)
{
	struct obs_seen *s = arg;
	if (s->n >= 8)
		return;
	s->kind[s->n] = rec->kind;
	snprintf(s->fault[s->n], sizeof(s->fault[0]), "%s", rec->fault ? rec->fault : "");
	s->retry_after[s->n] = rec->retry_after_s;
	s->status[s->n] = rec->status;
	s->n++;
}

static void test_fault_observed(void)
{
	struct scws_server *srv = hooked();
	struct obs_seen seen;
	memset(&seen, 0, sizeof(seen));
	scws_server_set_observer(srv, obs_record, &seen);
	struct buf out;
	buf_init(&out, 1 << 20);
	struct scws_conn *c = new_conn(srv, true);
	g_fr.status = 503;
	feed_str(c, GET(BOOT), &out);
	g_fr.status = 0;
	g_fr.body = SCWS_FAULT_BODY_WRONG_TYPE;
	g_fr.delay_ms = 1500;
	feed_str(c, GET(BOOT), &out);
	memset(&g_fr, 0, sizeof(g_fr));
	feed_str(c, GET(BOOT), &out); /* no fault: none named, no Retry-After */
	scws_conn_free(c);
	CU_ASSERT_EQUAL_FATAL(seen.n, 4);
	CU_ASSERT(seen.kind[0] == SCWS_OBS_REQUEST && seen.status[0] == 503);
	CU_ASSERT_STRING_EQUAL(seen.fault[0], "http-status 503");
	CU_ASSERT_EQUAL(seen.retry_after[0], 2);
	CU_ASSERT_STRING_EQUAL(seen.fault[1], "http-body wrong-type, http-delay 1500");
	CU_ASSERT_EQUAL(seen.retry_after[1], 0);
	CU_ASSERT_STRING_EQUAL(seen.fault[2], "");
	CU_ASSERT_EQUAL(seen.retry_after[2], 0);
	CU_ASSERT(seen.kind[3] == SCWS_OBS_CONNECTION && !seen.fault[3][0]);

	/* Handshake faults name the connection. */
	memset(&seen, 0, sizeof(seen));
	g_fh.kind = SCWS_FAULT_TLS_ALERT;
	c = tls_conn(srv);
	static const uint8_t hello[] = {
		0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00
	};
	CU_ASSERT_EQUAL(scws_conn_feed(c, hello, sizeof(hello)), 0);
	scws_conn_free(c);
	g_fh.kind = SCWS_FAULT_TLS_CERT;
	g_fh.cert = SCWS_FAULT_CERT_UNTRUSTED;
	c = tls_conn(srv);
	struct client cl;
	client_init(&cl, CLI_CERT, NULL);
	SSL_set_verify(cl.ssl, SSL_VERIFY_NONE, NULL); /* a client that does not check */
	struct buf got;
	buf_init(&got, 1 << 20);
	pump(&cl, c, 4096, &got);
	CU_ASSERT_TRUE(SSL_is_init_finished(cl.ssl));
	client_cleanup(&cl);
	buf_cleanup(&got);
	scws_conn_free(c);
	CU_ASSERT_EQUAL_FATAL(seen.n, 2);
	CU_ASSERT(seen.kind[0] == SCWS_OBS_CONNECTION && seen.kind[1] == SCWS_OBS_CONNECTION);
	CU_ASSERT_STRING_EQUAL(seen.fault[0], "tls-alert");
	CU_ASSERT_STRING_EQUAL(seen.fault[1], "tls-cert untrusted");
	for (unsigned k = 0; k < SCWS_FAULT_CERTS; k++)
		CU_ASSERT_STRING_NOT_EQUAL(scws_fault_cert_name((enum scws_fault_cert)k), "?");
	CU_ASSERT_STRING_EQUAL(scws_fault_cert_name(SCWS_FAULT_CERTS), "?");
	scws_server_set_observer(srv, NULL, NULL);
	scws_server_set_fault_hooks(srv, NULL);
	buf_cleanup(&out);
}

int unit_register(void)
{
	/* Every line goes to the capture buffer: the tests read it, and the
	 * run stays quiet. */
	log_set_sink(sink, NULL);
	/* clang-format off */
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_table),
		UNIT_TEST(test_table_split),
		UNIT_TEST(test_index_urls), UNIT_TEST(test_idle_footprint), UNIT_TEST(test_431),
		UNIT_TEST(test_413_chunked),
		UNIT_TEST(test_field_too_long),
		UNIT_TEST(test_peer_closed),
		UNIT_TEST(test_output_bound),
		UNIT_TEST(test_push_address),
		UNIT_TEST(test_log_line),
		UNIT_TEST(test_reload),
		UNIT_TEST(test_base64),
		UNIT_TEST(test_devid_uri),
		UNIT_TEST(test_tls),
		UNIT_TEST(test_tls_failure),
		UNIT_TEST(test_tls_reload),
		UNIT_TEST(test_fault_status),
		UNIT_TEST(test_fault_body),
		UNIT_TEST(test_fault_truncate),
		UNIT_TEST(test_fault_pace),
		UNIT_TEST(test_fault_apdu_sw),
		UNIT_TEST(test_fault_tls),
		UNIT_TEST(test_fault_observed),
		CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	return unit_add_suite("scws_bootstrap", tests);
}
