/* test_scws_http.c - unit tests for src/scws/http.c: a table of requests run
 * whole, split at every point, one byte per feed and as every prefix; big
 * limits; callbacks; the response writer byte for byte. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scws/http.h"
#include "scws/multipart.h"
#include "helpers.h"
#include "runner.h"

/* ---------------------------------------------------------------- harness */

/* What the parser told us, rendered so one strcmp checks it all. The head
 * is "<method> <target> HTTP/1.<minor>[ keep-alive][ 100-continue]\n"
 * followed by "<name>: <value>\n" per header. */
struct got {
	int heads;
	char head[HTTP_HEAD_MAX + 512];
	struct buf body;
	bool buffered;     /* on_body NULL: read the parser's buffer at the end */
	bool skip_in_head; /* call scws_http_parser_skip_body() from on_head */
	int head_rc;       /* what on_head returns */
	struct scws_http_parser *p;
};

static void render_head(const struct scws_http_req *req, char *out, size_t cap)
{
	size_t n = 0;
	n += (size_t)snprintf(out + n, cap - n, "%.*s %.*s HTTP/1.%d%s%s\n",
			      (int)req->method_name.len, (const char *)req->method_name.ptr,
			      (int)req->target.len, (const char *)req->target.ptr,
			      req->minor_version, req->keep_alive ? " keep-alive" : "",
			      req->expect_continue ? " 100-continue" : "");
	for (size_t i = 0; i < req->num_headers && n < cap; i++)
		n += (size_t)snprintf(
			out + n, cap - n, "%.*s: %.*s\n", (int)req->headers[i].name.len,
			(const char *)req->headers[i].name.ptr, (int)req->headers[i].value.len,
			(const char *)req->headers[i].value.ptr);
}

static int on_head(void *arg, const struct scws_http_req *req)
{
	struct got *g = arg;
	g->heads++;
	render_head(req, g->head, sizeof(g->head));
	if (g->skip_in_head)
		scws_http_parser_skip_body(g->p);
	return g->head_rc;
}

static int on_body(void *arg, const uint8_t *data, size_t len)
{
	struct got *g = arg;
	CU_ASSERT_EQUAL(g->heads, 1);
	CU_ASSERT_NOT_EQUAL(len, 0);
	return buf_append(&g->body, data, len) ? -ENOMEM : 0;
}

static const struct scws_http_callbacks cbs = { on_head, on_body };
static const struct scws_http_callbacks cbs_buffered = { on_head, NULL };

static void got_init(struct got *g, struct scws_http_parser *p, bool buffered)
{
	memset(g, 0, sizeof(*g));
	buf_init(&g->body, 2 * HTTP_BODY_MAX);
	g->buffered = buffered;
	g->p = p;
	scws_http_parser_init(p, buffered ? &cbs_buffered : &cbs, g);
}

static void got_cleanup(struct got *g)
{
	scws_http_parser_cleanup(g->p);
	buf_cleanup(&g->body);
}

/* Feeds in[0..len) as pieces ending at cuts[0] < cuts[1] < ... == len,
 * stopping at the first result that is not -EAGAIN. *off is the number of
 * bytes the parser took. Checks that -EAGAIN always takes the whole
 * piece. */
static int feed_pieces(struct scws_http_parser *p, const uint8_t *in, const size_t *cuts,
		       size_t ncuts, size_t *off)
{
	int rc = -EAGAIN;
	*off = 0;
	for (size_t k = 0; k < ncuts; k++) {
		size_t used = 0;
		rc = scws_http_parser_feed(p, in + *off, cuts[k] - *off, &used);
		if (rc == -EAGAIN && used != cuts[k] - *off) {
			fprintf(stderr, "-EAGAIN but took %zu of %zu\n", used, cuts[k] - *off);
			CU_FAIL("-EAGAIN without taking the whole piece");
		}
		*off += used;
		if (rc != -EAGAIN)
			break;
	}
	return rc;
}

/* ---------------------------------------------------------------- the table */

struct http_case {
	const char *name;
	const char *in;
	size_t in_len;
	int status;         /* 0: a complete request is expected */
	const char *reason; /* for errors: exact */
	const char *head;   /* for success: render_head() */
	const char *body;
	size_t body_len;
	size_t leftover; /* bytes after the request (pipelining) */
};

#define IN(s) s, sizeof(s) - 1
#define BODY(s) s, sizeof(s) - 1
#define NOBODY "", 0
/* Request heads most cases share. */
#define POST_A "POST / HTTP/1.1\r\nHost: a\r\n"
#define CHUNKED POST_A "Transfer-Encoding: chunked\r\n\r\n"
#define ERR(status, reason) status, reason, NULL, NOBODY, 0

static const struct http_case cases[] = {
	/* ---- valid */
	{ "GET 1.1", IN("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), 0, NULL,
	  "GET / HTTP/1.1 keep-alive\nHost: localhost\n", NOBODY, 0 },
	{ "GET bootstrap, curl style",
	  IN("GET /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: 127.0.0.1:4116\r\n"
	     "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
	  0, NULL,
	  "GET /OMA/DM/Bootstrap.xml HTTP/1.1 keep-alive\nHost: 127.0.0.1:4116\n"
	  "User-Agent: curl/7.88.1\nAccept: */*\n",
	  NOBODY, 0 },
	{ "HEAD", IN("HEAD /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: localuicc\r\n\r\n"), 0, NULL,
	  "HEAD /OMA/DM/Bootstrap.xml HTTP/1.1 keep-alive\nHost: localuicc\n", NOBODY, 0 },
	{ "HTTP/1.0 without Host closes", IN("GET / HTTP/1.0\r\n\r\n"), 0, NULL, "GET / HTTP/1.0\n",
	  NOBODY, 0 },
	{ "HTTP/1.0 keep-alive", IN("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0, NULL,
	  "GET / HTTP/1.0 keep-alive\nConnection: Keep-Alive\n", NOBODY, 0 },
	{ "HTTP/1.1 Connection: close",
	  IN("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, CLOSE\r\n\r\n"), 0, NULL,
	  "GET / HTTP/1.1\nHost: a\nConnection: upgrade, CLOSE\n", NOBODY, 0 },
	{ "HTTP/1.0 keep-alive and close",
	  IN("GET / HTTP/1.0\r\nConnection: keep-alive,close\r\n\r\n"), 0, NULL,
	  "GET / HTTP/1.0\nConnection: keep-alive,close\n", NOBODY, 0 },
	{ "HTTP/1.2 is handled as 1.1", IN("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 0, NULL,
	  "GET / HTTP/1.1 keep-alive\nHost: a\n", NOBODY, 0 },
	{ "unknown method, absolute-form",
	  IN("BREW http://localhost/pot?milk=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"), 0, NULL,
	  "BREW http://localhost/pot?milk=1 HTTP/1.1 keep-alive\nHost: localhost\n", NOBODY, 0 },
	{ "empty Host value", IN("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0, NULL,
	  "GET / HTTP/1.1 keep-alive\nHost: \n", NOBODY, 0 },
	{ "values trimmed, empty value, obs-text",
	  IN("GET / HTTP/1.1\r\nHost: a\r\nX-A:  \t two  words \t \r\nX-B:\r\n"
	     "X-C: caf\xc3\xa9\r\n\r\n"),
	  0, NULL, "GET / HTTP/1.1 keep-alive\nHost: a\nX-A: two  words\nX-B: \nX-C: caf\xc3\xa9\n",
	  NOBODY, 0 },
	{ "bare LF line ends", IN("GET / HTTP/1.1\nHost: a\nX: y\n\n"), 0, NULL,
	  "GET / HTTP/1.1 keep-alive\nHost: a\nX: y\n", NOBODY, 0 },
	{ "mixed line ends", IN("GET / HTTP/1.1\r\nHost: a\n\r\n"), 0, NULL,
	  "GET / HTTP/1.1 keep-alive\nHost: a\n", NOBODY, 0 },
	{ "empty lines before the request line", IN("\r\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	  0, NULL, "GET / HTTP/1.1 keep-alive\nHost: a\n", NOBODY, 0 },
	{ "POST Content-Length",
	  IN("POST /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: 127.0.0.1:4116\r\n"
	     "Content-Length: 12\r\nContent-Type: text/plain\r\n\r\nhello\r\nworld"),
	  0, NULL,
	  "POST /OMA/DM/Bootstrap.xml HTTP/1.1 keep-alive\nHost: 127.0.0.1:4116\n"
	  "Content-Length: 12\nContent-Type: text/plain\n",
	  BODY("hello\r\nworld"), 0 },
	{ "Content-Length 0", IN(POST_A "Content-Length: 0\r\n\r\n"), 0, NULL,
	  "POST / HTTP/1.1 keep-alive\nHost: a\nContent-Length: 0\n", NOBODY, 0 },
	{ "Content-Length with leading zeros, twice agreeing",
	  IN(POST_A "Content-Length: 003\r\ncontent-length: 3\r\n\r\nabc"), 0, NULL,
	  "POST / HTTP/1.1 keep-alive\nHost: a\nContent-Length: 003\ncontent-length: 3\n",
	  BODY("abc"), 0 },
	{ "binary body with NUL",
	  IN("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n\0\r\n\xff"), 0, NULL,
	  "PUT /x HTTP/1.1 keep-alive\nHost: a\nContent-Length: 4\n", BODY("\0\r\n\xff"), 0 },
	{ "100-continue",
	  IN(POST_A "Expect: 100-Continue\r\n"
		    "Content-Length: 2\r\n\r\nhi"),
	  0, NULL,
	  "POST / HTTP/1.1 keep-alive 100-continue\nHost: a\nExpect: 100-Continue\n"
	  "Content-Length: 2\n",
	  BODY("hi"), 0 },
	{ "100-continue without a body",
	  IN("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"), 0, NULL,
	  "GET / HTTP/1.1 keep-alive\nHost: a\nExpect: 100-continue\n", NOBODY, 0 },
	{ "100-continue ignored in HTTP/1.0",
	  IN("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"), 0, NULL,
	  "POST / HTTP/1.0\nExpect: 100-continue\nContent-Length: 1\n", BODY("x"), 0 },
	{ "chunked",
	  IN(CHUNKED "5\r\nhello\r\n1;ext=\"q;uoted\"\r\n,\r\n"
		     "A \t; e1 ; e2=x\r\n 0123\r\n567\r\n"
		     "0\r\n\r\n"),
	  0, NULL, "POST / HTTP/1.1 keep-alive\nHost: a\nTransfer-Encoding: chunked\n",
	  BODY("hello, 0123\r\n567"), 0 },
	{ "chunked, upper case hex, leading zeros, trailer",
	  IN(POST_A "Transfer-Encoding: Chunked\r\n\r\n"
		    "0000B\r\nhello world\r\n00\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\n"),
	  0, NULL, "POST / HTTP/1.1 keep-alive\nHost: a\nTransfer-Encoding: Chunked\n",
	  BODY("hello world"), 0 },
	{ "chunked with bare LF everywhere",
	  IN("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\nT: 1\n\n"), 0,
	  NULL, "POST / HTTP/1.1 keep-alive\nHost: a\nTransfer-Encoding: chunked\n", BODY("abc"),
	  0 },
	{ "chunked, empty", IN(CHUNKED "0\r\n\r\n"), 0, NULL,
	  "POST / HTTP/1.1 keep-alive\nHost: a\nTransfer-Encoding: chunked\n", NOBODY, 0 },
	{ "chunked, list with empty elements",
	  IN(POST_A "Transfer-Encoding: , chunked,\r\n\r\n1\r\nz\r\n0\r\n\r\n"), 0, NULL,
	  "POST / HTTP/1.1 keep-alive\nHost: a\nTransfer-Encoding: , chunked,\n", BODY("z"), 0 },
	{ "pipelined: leftover stays",
	  IN("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"), 0, NULL,
	  "GET /a HTTP/1.1 keep-alive\nHost: a\n", NOBODY, 28 },
	{ "pipelined after a body",
	  IN("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyzGET /b HTTP/1.1\r\n"), 0,
	  NULL, "POST /a HTTP/1.1 keep-alive\nHost: a\nContent-Length: 3\n", BODY("xyz"), 17 },
	{ "pipelined after chunked",
	  IN("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "1\r\nq\r\n0\r\n\r\nGET"),
	  0, NULL, "POST /a HTTP/1.1 keep-alive\nHost: a\nTransfer-Encoding: chunked\n", BODY("q"),
	  3 },

	/* ---- request line */
	{ "no Host in HTTP/1.1", IN("GET / HTTP/1.1\r\n\r\n"),
	  ERR(400, "HTTP/1.1 request without a Host header") },
	{ "two Host", IN("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
	  ERR(400, "more than one Host header") },
	{ "double space", IN("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
	  ERR(400, "malformed request line (request-target)") },
	{ "leading space", IN(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	  ERR(400, "malformed request line (method)") },
	{ "no version", IN("GET /\r\nHost: a\r\n\r\n"),
	  ERR(400, "malformed request line (request-target)") },
	{ "trailing space", IN("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
	  ERR(400, "malformed request line (HTTP version)") },
	{ "lower-case version", IN("GET / http/1.1\r\nHost: a\r\n\r\n"),
	  ERR(400, "malformed request line (HTTP version)") },
	{ "two-digit minor", IN("GET / HTTP/1.10\r\nHost: a\r\n\r\n"),
	  ERR(400, "malformed request line (HTTP version)") },
	{ "HTTP/2.0", IN("GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
	  ERR(505, "HTTP/2.0 not supported, only HTTP/1.0 and 1.1") },
	{ "HTTP/0.9", IN("GET / HTTP/0.9\r\n\r\n"),
	  ERR(505, "HTTP/0.9 not supported, only HTTP/1.0 and 1.1") },
	{ "bad method char", IN("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
	  ERR(400, "malformed request line (method)") },
	{ "control in target", IN("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"),
	  ERR(400, "malformed request line (request-target)") },
	{ "bare CR in request line", IN("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"),
	  ERR(400, "bare CR in request head") },
	/* Refused at once: nothing more comes that could make these a head. */
	{ "HTTP/0.9 request-line, no head end", IN("GET /\r\n"),
	  ERR(400, "malformed request line (request-target)") },
	{ "HTTP/0.9 request-line, bare LF", IN("GET /index.html\n"),
	  ERR(400, "malformed request line (request-target)") },
	{ "bare CRs ending the head", IN("GET / HTTP/1.1\rHost: a\r\r"),
	  ERR(400, "bare CR in request head") },
	{ "bare CR after a good line", IN("GET / HTTP/1.1\r\nHost: a\rX"),
	  ERR(400, "bare CR in request head") },
	{ "bad version, no head end yet", IN("GET / HTTP/9\r\n"),
	  ERR(400, "malformed request line (HTTP version)") },
	{ "NUL in request line", IN("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"),
	  ERR(400, "NUL in request head") },

	/* ---- header syntax (RFC 9112 §11.2 smuggling rules) */
	{ "space before colon", IN("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
	  ERR(400, "whitespace between header name and colon") },
	{ "tab before colon", IN("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
	  ERR(400, "whitespace between header name and colon") },
	{ "obs-fold", IN("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"),
	  ERR(400, "obsolete line folding in request head") },
	{ "whitespace line after request line", IN("GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
	  ERR(400, "obsolete line folding in request head") },
	{ "bare CR in value", IN("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"),
	  ERR(400, "bare CR in request head") },
	{ "NUL in value", IN("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"),
	  ERR(400, "NUL in request head") },
	{ "control in value", IN("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n"),
	  ERR(400, "control character in header value") },
	{ "no colon", IN("GET / HTTP/1.1\r\nHost a\r\n\r\n"),
	  ERR(400, "whitespace between header name and colon") },
	{ "no colon, no space", IN("GET / HTTP/1.1\r\nHost\r\n\r\n"),
	  ERR(400, "header line without a colon") },
	{ "empty name", IN("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n"),
	  ERR(400, "invalid character in header name") },
	{ "bad name char", IN("GET / HTTP/1.1\r\nHo\"st: a\r\n\r\n"),
	  ERR(400, "invalid character in header name") },
	{ "two Content-Type",
	  IN(POST_A "Content-Type: a/b\r\n"
		    "Content-Type: c/d\r\n\r\n"),
	  ERR(400, "more than one Content-Type header") },

	/* ---- framing */
	{ "CL and TE",
	  IN(POST_A "Content-Length: 3\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
	  ERR(400, "Content-Length and Transfer-Encoding both present") },
	{ "CL not digits", IN(POST_A "Content-Length: 12a\r\n\r\n"),
	  ERR(400, "invalid Content-Length") },
	{ "CL negative", IN(POST_A "Content-Length: -1\r\n\r\n"),
	  ERR(400, "invalid Content-Length") },
	{ "CL plus sign", IN(POST_A "Content-Length: +5\r\n\r\n"),
	  ERR(400, "invalid Content-Length") },
	{ "CL empty", IN(POST_A "Content-Length: \r\n\r\n"), ERR(400, "invalid Content-Length") },
	{ "CL list", IN(POST_A "Content-Length: 1, 1\r\n\r\nx"),
	  ERR(400, "invalid Content-Length") },
	{ "CL overflow", IN(POST_A "Content-Length: 18446744073709551616\r\n\r\n"),
	  ERR(400, "Content-Length overflow") },
	{ "CL max uint64 is 413", IN(POST_A "Content-Length: 18446744073709551615\r\n\r\n"),
	  ERR(413, "request body of 18446744073709551615 bytes over 65536 bytes") },
	{ "CL conflicting",
	  IN(POST_A "Content-Length: 1\r\n"
		    "Content-Length: 2\r\n\r\nxy"),
	  ERR(400, "conflicting Content-Length headers") },
	{ "CL over 64 KiB", IN(POST_A "Content-Length: 65537\r\n\r\nabc"),
	  ERR(413, "request body of 65537 bytes over 65536 bytes") },
	{ "TE gzip", IN(POST_A "Transfer-Encoding: gzip\r\n\r\n"),
	  ERR(501, "transfer-coding \"gzip\" not implemented") },
	{ "TE gzip, chunked", IN(POST_A "Transfer-Encoding: gzip, chunked\r\n\r\n"),
	  ERR(501, "transfer-coding \"gzip\" not implemented") },
	{ "TE over two lines",
	  IN(POST_A "Transfer-Encoding: chunked\r\n"
		    "Transfer-Encoding: x-y\r\n\r\n"),
	  ERR(501, "transfer-coding \"x-y\" not implemented") },
	{ "TE chunked twice", IN(POST_A "Transfer-Encoding: chunked, chunked\r\n\r\n"),
	  ERR(400, "Transfer-Encoding must end in one \"chunked\"") },
	{ "TE empty", IN(POST_A "Transfer-Encoding:\r\n\r\n"),
	  ERR(400, "Transfer-Encoding must end in one \"chunked\"") },
	{ "TE in HTTP/1.0", IN("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	  ERR(400, "Transfer-Encoding in an HTTP/1.0 request") },
	{ "Expect other", IN(POST_A "Expect: 200-ok\r\nContent-Length: 1\r\n\r\nx"),
	  ERR(417, "only \"Expect: 100-continue\" is supported") },
	{ "chunk size not hex", IN(CHUNKED "zz\r\n"), ERR(400, "invalid chunk size") },
	{ "chunk size empty", IN(CHUNKED ";x\r\n"), ERR(400, "invalid chunk size") },
	{ "chunk size line empty (CRLF)", IN(CHUNKED "\r\n"), ERR(400, "invalid chunk size") },
	{ "chunk size line empty (LF)", IN(CHUNKED "\n"), ERR(400, "invalid chunk size") },
	{ "chunk size with inner space", IN(CHUNKED "1 2\r\n"), ERR(400, "invalid chunk size") },
	{ "chunk size overflow", IN(CHUNKED "10000000000000000\r\n"),
	  ERR(400, "chunk size overflow") },
	{ "chunk over 64 KiB", IN(CHUNKED "10001\r\nabc"),
	  ERR(413, "chunked request body over 65536 bytes") },
	{ "chunk data without CRLF", IN(CHUNKED "1\r\nab\r\n0\r\n\r\n"),
	  ERR(400, "chunk data not followed by CRLF") },
	{ "chunk data CR without LF", IN(CHUNKED "1\r\na\rb"),
	  ERR(400, "chunk data not followed by CRLF") },
	{ "bare CR in chunk-size line", IN(CHUNKED "1\rx"),
	  ERR(400, "bare CR in chunk-size line") },
	{ "control in chunk extension", IN(CHUNKED "1;a\x01\r\n"),
	  ERR(400, "control character in chunk extension") },
	{ "bare CR in trailer", IN(CHUNKED "0\r\nX: a\rb\r\n\r\n"),
	  ERR(400, "bare CR in trailer section") },
};

/* A case and how it is fed (buffered or streamed), for unit_split_all_ways(). */
struct way {
	const struct http_case *c;
	bool buffered;
};

/* A case's outcome on a fresh parser fed with the given pieces; returns
 * true when it is the expected one. `prefix` relaxes that: for a proper
 * prefix -EAGAIN is right too, with a body so far that is a prefix of the
 * expected one. */
static bool run_case(void *arg, size_t len, const size_t *cuts, size_t ncuts, bool prefix,
		     const char *mode)
{
	const struct way *w = arg;
	const struct http_case *c = w->c;
	const uint8_t *in = (const uint8_t *)c->in;
	bool buffered = w->buffered;
	struct scws_http_parser p;
	struct got g;
	got_init(&g, &p, buffered);
	size_t off;
	int rc = feed_pieces(&p, in, cuts, ncuts, &off);
	bool ok;
	if (buffered && rc == 0)
		CU_ASSERT_EQUAL_FATAL(buf_append(&g.body, p.body.p, p.body.len), 0);
	if (rc == -EAGAIN && prefix) {
		ok = off == len && scws_http_parser_status(&p) == 0;
		if (c->status == 0)
			ok = ok && g.body.len <= c->body_len &&
			     (g.body.len == 0 || memcmp(g.body.p, c->body, g.body.len) == 0) &&
			     (g.heads == 0 || strcmp(g.head, c->head) == 0);
	} else if (c->status == 0) {
		ok = rc == 0 && g.heads == 1 && strcmp(g.head, c->head) == 0 &&
		     g.body.len == c->body_len &&
		     (c->body_len == 0 || memcmp(g.body.p, c->body, c->body_len) == 0) &&
		     off == c->in_len - c->leftover && !scws_http_parser_in_request(&p);
	} else {
		ok = rc < 0 && rc != -EAGAIN && scws_http_parser_status(&p) == c->status &&
		     strcmp(scws_http_parser_reason(&p), c->reason) == 0;
		/* sticky */
		size_t used = 99;
		int again = scws_http_parser_feed(&p, (const uint8_t *)"x", 1, &used);
		ok = ok && again == rc && used == 0;
	}
	if (!ok)
		fprintf(stderr,
			"\n[%s] %s (%s, %zu pieces, ends %zu): rc %d, status %d \"%s\", "
			"heads %d, body %zu, took %zu\n%s",
			c->name, mode, buffered ? "buffered" : "streamed", ncuts, len, rc,
			scws_http_parser_status(&p), scws_http_parser_reason(&p), g.heads,
			g.body.len, off, g.heads ? g.head : "");
	got_cleanup(&g);
	return ok;
}

/* Runs a case whole, split at every point into two feeds, one byte per
 * feed, and as every proper prefix (helpers.h). */
static void run_all_ways(const struct http_case *c, bool buffered)
{
	struct way w = { c, buffered };
	unit_split_all_ways(c->in_len, c->leftover, "prefix", run_case, &w);
}

static void test_table_streamed(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_all_ways(&cases[i], false);
}

static void test_table_buffered(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_all_ways(&cases[i], true);
}

/* ---------------------------------------------------------------- limits */

/* A GET whose head is exactly `head_len` bytes, padded with an X header. */
static char *head_of_size(size_t head_len)
{
	const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	size_t pre_len = strlen(pre);
	char *s = malloc(head_len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memcpy(s, pre, pre_len);
	memset(s + pre_len, 'x', head_len - pre_len - 4);
	memcpy(s + head_len - 4, "\r\n\r\n", 4);
	s[head_len] = 0;
	return s;
}

static void test_head_limit(void)
{
	char *s = head_of_size(HTTP_HEAD_MAX);
	char expect[HTTP_HEAD_MAX + 64];
	size_t pre = strlen("GET / HTTP/1.1\r\nHost: a\r\nX: ");
	snprintf(expect, sizeof(expect), "GET / HTTP/1.1 keep-alive\nHost: a\nX: %.*s\n",
		 (int)(HTTP_HEAD_MAX - pre - 4), s + pre);
	struct http_case ok = {
		"head of 8192 bytes", s, HTTP_HEAD_MAX, 0, NULL, expect, NOBODY, 0
	};
	run_all_ways(&ok, false);
	free(s);

	s = head_of_size(HTTP_HEAD_MAX + 1);
	struct http_case big = { "head of 8193 bytes", s, HTTP_HEAD_MAX + 1,
				 ERR(431, "request head over 8192 bytes") };
	run_all_ways(&big, false);

	/* 431 as soon as the limit is passed, without waiting for the end. */
	struct scws_http_parser p;
	scws_http_parser_init(&p, NULL, NULL);
	size_t used;
	int rc = scws_http_parser_feed(&p, (const uint8_t *)s, HTTP_HEAD_MAX, &used);
	CU_ASSERT_EQUAL(rc, -EAGAIN);
	CU_ASSERT_EQUAL(scws_http_parser_feed(&p, (const uint8_t *)s, 1, &used), -EMSGSIZE);
	CU_ASSERT_EQUAL(scws_http_parser_status(&p), 431);
	scws_http_parser_cleanup(&p);
	free(s);
}

static void test_header_count(void)
{
	char s[2048], expect[2048];
	for (unsigned n = HTTP_HEADERS_MAX; n <= HTTP_HEADERS_MAX + 1; n++) {
		size_t len = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: a\r\n");
		size_t elen = (size_t)snprintf(expect, sizeof(expect),
					       "GET / HTTP/1.1 keep-alive\nHost: a\n");
		for (unsigned i = 1; i < n; i++) {
			len += (size_t)snprintf(s + len, sizeof(s) - len, "H%u: %u\r\n", i, i);
			elen += (size_t)snprintf(expect + elen, sizeof(expect) - elen, "H%u: %u\n",
						 i, i);
		}
		len += (size_t)snprintf(s + len, sizeof(s) - len, "\r\n");
		struct http_case c = { "header count", s, len, 0, NULL, expect, NOBODY, 0 };
		if (n > HTTP_HEADERS_MAX) {
			c.status = 431;
			c.reason = "more than 32 header fields";
		}
		run_all_ways(&c, false);
	}
}

/* A body of exactly HTTP_BODY_MAX bytes passes, one more is 413, for
 * Content-Length and for chunked (then in many chunks). */
static void test_body_limit(void)
{
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t blen = HTTP_BODY_MAX + extra;
		struct buf req;
		buf_init(&req, 4 * HTTP_BODY_MAX);
		uint8_t *body = malloc(blen);
		CU_ASSERT_PTR_NOT_NULL_FATAL(body);
		for (size_t i = 0; i < blen; i++)
			body[i] = (uint8_t)(i * 7);
		CU_ASSERT_EQUAL(buf_printf(&req, "POST / HTTP/1.1\r\nHost: a\r\n"
						 "Transfer-Encoding: chunked\r\n\r\n"),
				0);
		for (size_t off = 0; off < blen; off += 1000) {
			size_t n = blen - off < 1000 ? blen - off : 1000;
			CU_ASSERT_EQUAL(buf_printf(&req, "%zx\r\n", n), 0);
			CU_ASSERT_EQUAL(buf_append(&req, body + off, n), 0);
			CU_ASSERT_EQUAL(buf_append(&req, "\r\n", 2), 0);
		}
		CU_ASSERT_EQUAL(buf_append_str(&req, "0\r\n\r\n"), 0);
		for (int buffered = 0; buffered <= 1; buffered++) {
			struct scws_http_parser p;
			struct got g;
			got_init(&g, &p, buffered);
			size_t used;
			int rc = scws_http_parser_feed(&p, req.p, req.len, &used);
			if (extra == 0) {
				CU_ASSERT_EQUAL(rc, 0);
				CU_ASSERT_EQUAL(used, req.len);
				struct bytes b = buffered ? scws_http_parser_body(&p)
							  : bytes_make(g.body.p, g.body.len);
				CU_ASSERT_TRUE(bytes_eq(b, body, blen));
			} else {
				CU_ASSERT_EQUAL(rc, -EMSGSIZE);
				CU_ASSERT_EQUAL(scws_http_parser_status(&p), 413);
				CU_ASSERT_STRING_EQUAL(scws_http_parser_reason(&p),
						       "chunked request body over 65536 bytes");
			}
			got_cleanup(&g);
		}

		buf_reset(&req);
		CU_ASSERT_EQUAL(buf_printf(&req,
					   "POST / HTTP/1.1\r\nHost: a\r\n"
					   "Content-Length: %zu\r\n\r\n",
					   blen),
				0);
		CU_ASSERT_EQUAL(buf_append(&req, body, blen), 0);
		struct scws_http_parser p;
		struct got g;
		got_init(&g, &p, false);
		size_t used, off = 0;
		int rc = -EAGAIN;
		/* 237-byte pieces, as BIP RECEIVE DATA brings them. */
		while (rc == -EAGAIN && off < req.len) {
			size_t n = req.len - off < 237 ? req.len - off : 237;
			rc = scws_http_parser_feed(&p, req.p + off, n, &used);
			off += used;
		}
		CU_ASSERT_EQUAL(rc, extra ? -EMSGSIZE : 0);
		if (extra == 0) {
			CU_ASSERT_TRUE(bytes_eq(bytes_make(g.body.p, g.body.len), body, blen));
		} else {
			CU_ASSERT_EQUAL(g.body.len, 0); /* 413 from the head alone */
		}
		got_cleanup(&g);
		free(body);
		buf_cleanup(&req);
	}
}

static void test_chunk_line_and_trailer_limits(void)
{
	char s[HTTP_TRAILER_MAX + 256];
	const char *pre = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
	/* chunk-size line: "1;" + extension, CRLF; 256 bytes with the CRLF pass */
	for (size_t line = HTTP_CHUNK_LINE_MAX; line <= HTTP_CHUNK_LINE_MAX + 1; line++) {
		size_t n = (size_t)snprintf(s, sizeof(s), "%s1;", pre);
		memset(s + n, 'e', line - 4);
		n += line - 4;
		n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\nz\r\n0\r\n\r\n");
		struct http_case c = { "chunk-size line",
				       s,
				       n,
				       0,
				       NULL,
				       "POST / HTTP/1.1 keep-alive\nHost: a\n"
				       "Transfer-Encoding: chunked\n",
				       BODY("z"),
				       0 };
		if (line > HTTP_CHUNK_LINE_MAX) {
			c.status = 400;
			c.reason = "chunk-size line over 256 bytes";
		}
		run_all_ways(&c, false);
	}
	/* trailer section: bytes after "0\r\n", up to the final CRLF included */
	for (size_t tl = HTTP_TRAILER_MAX; tl <= HTTP_TRAILER_MAX + 1; tl++) {
		size_t n = (size_t)snprintf(s, sizeof(s), "%s0\r\nT: ", pre);
		memset(s + n, 't', tl - 7);
		n += tl - 7;
		n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\n\r\n");
		struct scws_http_parser p;
		scws_http_parser_init(&p, NULL, NULL);
		size_t used;
		int rc = scws_http_parser_feed(&p, (const uint8_t *)s, n, &used);
		if (tl == HTTP_TRAILER_MAX) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_EQUAL(used, n);
		} else {
			CU_ASSERT_EQUAL(rc, -EMSGSIZE);
			CU_ASSERT_EQUAL(scws_http_parser_status(&p), 431);
			CU_ASSERT_STRING_EQUAL(scws_http_parser_reason(&p),
					       "trailer section over 8192 bytes");
		}
		scws_http_parser_cleanup(&p);
	}
}

/* ---------------------------------------------------------------- connection use */

/* Keep-alive: three requests through one parser, fed as one stream split
 * into odd pieces; views of each request stay valid through its body. */
static void test_keep_alive_sequence(void)
{
	static const char stream[] =
		"POST /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nfirst"
		"GET /second HTTP/1.1\r\nHost: h\r\n\r\n"
		"POST /third HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3\r\nthi\r\n2\r\nrd\r\n0\r\n\r\n";
	static const char *const targets[] = { "/OMA/DM/Bootstrap.xml", "/second", "/third" };
	static const char *const bodies[] = { "first", "", "third" };
	for (size_t piece = 1; piece <= 13; piece += 4) {
		struct scws_http_parser p;
		struct got g;
		got_init(&g, &p, false);
		size_t off = 0, len = sizeof(stream) - 1, done = 0;
		while (off < len) {
			size_t n = len - off < piece ? len - off : piece;
			size_t used;
			int rc = scws_http_parser_feed(&p, (const uint8_t *)stream + off, n, &used);
			off += used;
			if (rc == -EAGAIN)
				continue;
			CU_ASSERT_EQUAL_FATAL(rc, 0);
			CU_ASSERT_FATAL(done < 3);
			const struct scws_http_req *req = scws_http_parser_req(&p);
			CU_ASSERT_TRUE(bytes_eq(req->target, targets[done], strlen(targets[done])));
			CU_ASSERT_TRUE(bytes_eq(bytes_make(g.body.p, g.body.len), bodies[done],
						strlen(bodies[done])));
			CU_ASSERT_TRUE(req->keep_alive);
			buf_reset(&g.body);
			g.heads = 0;
			done++;
		}
		CU_ASSERT_EQUAL(done, 3);
		CU_ASSERT_FALSE(scws_http_parser_in_request(&p));
		got_cleanup(&g);
	}
}

static int head_checks_views(void *arg, const struct scws_http_req *req)
{
	struct got *g = arg;
	g->heads++;
	const struct bytes *ct = scws_http_req_header(req, "content-TYPE");
	CU_ASSERT_PTR_NOT_NULL(ct);
	if (ct)
		CU_ASSERT_TRUE(bytes_eq(*ct, "multipart/form-data; boundary=b", 31));
	CU_ASSERT_TRUE(req->has_content_type);
	CU_ASSERT_TRUE(bytes_eq(req->content_type, "multipart/form-data; boundary=b", 31));
	CU_ASSERT_TRUE(bytes_eq(req->host, "127.0.0.1:4116", 14));
	CU_ASSERT_PTR_NULL(scws_http_req_header(req, "Cookie"));
	CU_ASSERT_EQUAL(req->method, SCWS_HTTP_POST);
	CU_ASSERT_TRUE(req->has_body);
	CU_ASSERT_FALSE(req->is_chunked);
	CU_ASSERT_EQUAL(req->content_length, 4);
	CU_ASSERT_TRUE(scws_http_parser_in_request(g->p));
	return 0;
}

static int body_checks_views(void *arg, const uint8_t *data, size_t len)
{
	struct got *g = arg;
	/* The head views stay valid while the body streams. */
	const struct scws_http_req *req = scws_http_parser_req(g->p);
	CU_ASSERT_TRUE(bytes_eq(req->content_type, "multipart/form-data; boundary=b", 31));
	return buf_append(&g->body, data, len) ? -ENOMEM : 0;
}

static void test_views_and_lookup(void)
{
	static const char req[] = "POST /x HTTP/1.1\r\nHost: 127.0.0.1:4116\r\n"
				  "Content-Type: multipart/form-data; boundary=b\r\n"
				  "Content-Length: 4\r\n\r\nabcd";
	struct scws_http_callbacks cb = { head_checks_views, body_checks_views };
	struct scws_http_parser p;
	struct got g;
	got_init(&g, &p, false);
	p.cb = cb;
	CU_ASSERT_FALSE(scws_http_parser_in_request(&p));
	for (size_t i = 0; i < sizeof(req) - 1; i++) {
		size_t used;
		int rc = scws_http_parser_feed(&p, (const uint8_t *)req + i, 1, &used);
		CU_ASSERT_EQUAL(used, 1);
		CU_ASSERT_EQUAL(rc, i + 2 == sizeof(req) ? 0 : -EAGAIN);
	}
	CU_ASSERT_EQUAL(g.heads, 1);
	CU_ASSERT_TRUE(bytes_eq(bytes_make(g.body.p, g.body.len), "abcd", 4));
	got_cleanup(&g);
}

/* on_head rejects: feed returns the callback's value, sticky. */
static void test_head_callback_stops(void)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
	struct scws_http_parser p;
	struct got g;
	got_init(&g, &p, false);
	g.head_rc = -EPERM;
	size_t used;
	CU_ASSERT_EQUAL(scws_http_parser_feed(&p, (const uint8_t *)req, sizeof(req) - 1, &used),
			-EPERM);
	CU_ASSERT_EQUAL(used, sizeof(req) - 4);
	CU_ASSERT_EQUAL(g.body.len, 0);
	CU_ASSERT_EQUAL(scws_http_parser_status(&p), 500);
	CU_ASSERT_EQUAL(scws_http_parser_feed(&p, (const uint8_t *)"abc", 3, &used), -EPERM);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_TRUE(scws_http_parser_in_request(&p));
	got_cleanup(&g);
}

/* A request answered without its body (e.g. 415): the body is framed and
 * dropped, and the next request on the connection parses. */
static void test_skip_body(void)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "4\r\nabcd\r\n0\r\n\r\nGET /n HTTP/1.1\r\nHost: a\r\n\r\n";
	for (int buffered = 0; buffered <= 1; buffered++) {
		struct scws_http_parser p;
		struct got g;
		got_init(&g, &p, buffered);
		g.skip_in_head = true;
		size_t used;
		int rc = scws_http_parser_feed(&p, (const uint8_t *)req, sizeof(req) - 1, &used);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(used, sizeof(req) - 1 - 28);
		CU_ASSERT_EQUAL(g.body.len, 0);
		CU_ASSERT_EQUAL(scws_http_parser_body(&p).len, 0);
		g.skip_in_head = false;
		size_t used2;
		CU_ASSERT_EQUAL(scws_http_parser_feed(&p, (const uint8_t *)req + used,
						      sizeof(req) - 1 - used, &used2),
				0);
		CU_ASSERT_EQUAL(used2, 28);
		CU_ASSERT_STRING_EQUAL(g.head, "GET /n HTTP/1.1 keep-alive\nHost: a\n");
		got_cleanup(&g);
	}
}

static void test_lifecycle(void)
{
	struct scws_http_parser *p = scws_http_parser_new(NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	static const char req[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok";
	size_t used;
	CU_ASSERT_EQUAL(scws_http_parser_feed(p, (const uint8_t *)req, sizeof(req) - 1, &used), 0);
	CU_ASSERT_TRUE(bytes_eq(scws_http_parser_body(p), "ok", 2));
	/* The next feed starts a new request: the old body is gone. */
	CU_ASSERT_EQUAL(scws_http_parser_feed(p, NULL, 0, &used), -EAGAIN);
	CU_ASSERT_EQUAL(scws_http_parser_body(p).len, 0);
	CU_ASSERT_STRING_EQUAL(scws_http_state_name(p->st), "HEAD");
	CU_ASSERT_STRING_EQUAL(scws_http_method_name(SCWS_HTTP_DELETE), "DELETE");
	scws_http_parser_free(p);
	scws_http_parser_free(NULL);
}

/* ---------------------------------------------------------------- responses */

#define RFC_DATE 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110 §5.6.7) */
#define SERVER "Server: scwsemu/" PACKAGE_VERSION "\r\n"
#define DATE "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"

static void test_date(void)
{
	char d[30];
	CU_ASSERT_EQUAL(scws_http_date(RFC_DATE, d, sizeof(d)), 0);
	CU_ASSERT_STRING_EQUAL(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	CU_ASSERT_EQUAL(scws_http_date(0, d, sizeof(d)), 0);
	CU_ASSERT_STRING_EQUAL(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	CU_ASSERT_EQUAL(scws_http_date(951782400, d, sizeof(d)), 0); /* leap day */
	CU_ASSERT_STRING_EQUAL(d, "Tue, 29 Feb 2000 00:00:00 GMT");
	CU_ASSERT_EQUAL(scws_http_date(0, d, 29), -EINVAL);
}

static void expect_out(const struct buf *b, const char *s)
{
	bool ok = bytes_eq(bytes_make(b->p, b->len), s, strlen(s));
	if (!ok)
		fprintf(stderr, "\ngot:\n%.*s\nwant:\n%s\n", (int)b->len, (const char *)b->p, s);
	CU_ASSERT_TRUE(ok);
}

static void test_response_ok_and_head(void)
{
	struct buf out;
	buf_init(&out, 4096);
	struct scws_http_response r;
	scws_http_response_init(&r, NULL, 200);
	r.close = false;
	r.date = RFC_DATE;
	r.content_type = "application/vnd.syncml.dm+wbxml";
	r.cache_control = "no-store";
	r.body = "\x02\x00\x00\x6a";
	r.body_len = 4;
	CU_ASSERT_EQUAL(scws_http_response_write(&out, &r), 0);
	static const char want[] = "HTTP/1.1 200 OK\r\n" DATE SERVER "Content-Length: 4\r\n"
				   "Content-Type: application/vnd.syncml.dm+wbxml\r\n"
				   "Cache-Control: no-store\r\n\r\n\x02\x00\x00\x6a";
	CU_ASSERT_TRUE(bytes_eq(bytes_make(out.p, out.len), want, sizeof(want) - 1));
	buf_reset(&out);
	r.is_head = true;
	CU_ASSERT_EQUAL(scws_http_response_write(&out, &r), 0);
	CU_ASSERT_TRUE(bytes_eq(bytes_make(out.p, out.len), want, sizeof(want) - 1 - 4));
	buf_cleanup(&out);
}

static void test_response_from_request(void)
{
	struct scws_http_parser p;
	scws_http_parser_init(&p, NULL, NULL);
	size_t used;
	static const char head10[] = "HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	CU_ASSERT_EQUAL_FATAL(
		scws_http_parser_feed(&p, (const uint8_t *)head10, sizeof(head10) - 1, &used), 0);
	struct buf out;
	buf_init(&out, 4096);
	struct scws_http_response r;
	scws_http_response_init(&r, scws_http_parser_req(&p), 405);
	r.date = RFC_DATE;
	r.allow = "GET, HEAD, POST";
	r.body = "no\n";
	r.body_len = 3;
	CU_ASSERT_EQUAL(scws_http_response_write(&out, &r), 0);
	expect_out(&out, "HTTP/1.1 405 Method Not Allowed\r\n" DATE SERVER "Content-Length: 3\r\n"
			 "Allow: GET, HEAD, POST\r\nConnection: keep-alive\r\n\r\n");

	static const char get11[] = "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	CU_ASSERT_EQUAL_FATAL(
		scws_http_parser_feed(&p, (const uint8_t *)get11, sizeof(get11) - 1, &used), 0);
	buf_reset(&out);
	scws_http_response_init(&r, scws_http_parser_req(&p), 404);
	r.date = RFC_DATE;
	struct scws_http_field extra[] = { { "X-Card", "default" }, { "Vary", "Accept" } };
	r.extra = extra;
	r.num_extra = 2;
	CU_ASSERT_EQUAL(scws_http_response_write(&out, &r), 0);
	expect_out(&out, "HTTP/1.1 404 Not Found\r\n" DATE SERVER "Content-Length: 0\r\n"
			 "X-Card: default\r\nVary: Accept\r\nConnection: close\r\n\r\n");
	scws_http_parser_cleanup(&p);
	buf_cleanup(&out);
}

static void test_response_error(void)
{
	struct scws_http_parser p;
	scws_http_parser_init(&p, NULL, NULL);
	size_t used;
	static const char bad[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n";
	int rc = scws_http_parser_feed(&p, (const uint8_t *)bad, sizeof(bad) - 1, &used);
	CU_ASSERT_EQUAL(rc, -EPROTO);
	struct buf out;
	buf_init(&out, 4096);
	CU_ASSERT_EQUAL(scws_http_response_error(&out, NULL, scws_http_parser_status(&p),
						 scws_http_parser_reason(&p), false),
			0);
	/* Date is now: compare around it. */
	static const char start[] = "HTTP/1.1 400 Bad Request\r\nDate: ";
	static const char rest[] = " GMT\r\n" SERVER "Content-Length: 50\r\n"
				   "Content-Type: text/plain; charset=utf-8\r\n"
				   "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
				   "Content-Length and Transfer-Encoding both present\n";
	CU_ASSERT_FATAL(out.len == sizeof(start) - 1 + 25 + sizeof(rest) - 1);
	CU_ASSERT_EQUAL(memcmp(out.p, start, sizeof(start) - 1), 0);
	CU_ASSERT_EQUAL(memcmp(out.p + sizeof(start) - 1 + 25, rest, sizeof(rest) - 1), 0);
	scws_http_parser_cleanup(&p);

	/* A HEAD that fails after its request line: headers only. */
	scws_http_parser_init(&p, NULL, NULL);
	static const char head[] = "HEAD / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n";
	rc = scws_http_parser_feed(&p, (const uint8_t *)head, sizeof(head) - 1, &used);
	CU_ASSERT_EQUAL(rc, -EOPNOTSUPP);
	CU_ASSERT_EQUAL(scws_http_parser_status(&p), 417);
	buf_reset(&out);
	CU_ASSERT_EQUAL(scws_http_response_error(&out, scws_http_parser_req(&p),
						 scws_http_parser_status(&p),
						 scws_http_parser_reason(&p), true),
			0);
	static const char tail[] = "Content-Length: 41\r\n"
				   "Content-Type: text/plain; charset=utf-8\r\n"
				   "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
	CU_ASSERT_FATAL(out.len > sizeof(tail) - 1);
	CU_ASSERT_EQUAL(memcmp(out.p, "HTTP/1.1 417 Expectation Failed\r\n", 33), 0);
	CU_ASSERT_EQUAL(memcmp(out.p + out.len - (sizeof(tail) - 1), tail, sizeof(tail) - 1), 0);
	scws_http_parser_cleanup(&p);
	buf_cleanup(&out);
}

static void test_response_rejects(void)
{
	struct buf out;
	buf_init(&out, 4096);
	CU_ASSERT_EQUAL(buf_append_str(&out, "keep"), 0);
	struct scws_http_response r;
	scws_http_response_init(&r, NULL, 200);
	r.date = RFC_DATE;
	r.content_type = "text/html\r\nSet-Cookie: x=1";
	CU_ASSERT_EQUAL(scws_http_response_write(&out, &r), -EINVAL);
	CU_ASSERT_EQUAL(out.len, 4);
	r.content_type = NULL;
	struct scws_http_field bad_name[] = { { "X Y", "1" } };
	r.extra = bad_name;
	r.num_extra = 1;
	CU_ASSERT_EQUAL(scws_http_response_write(&out, &r), -EINVAL);
	r.num_extra = 0;
	r.status = 99;
	CU_ASSERT_EQUAL(scws_http_response_write(&out, &r), -EINVAL);
	r.status = 600;
	CU_ASSERT_EQUAL(scws_http_response_write(&out, &r), -EINVAL);
	CU_ASSERT_EQUAL(out.len, 4);
	buf_cleanup(&out);

	/* Over the buffer's cap: nothing is left behind. */
	buf_init(&out, 100);
	CU_ASSERT_EQUAL(buf_append_str(&out, "keep"), 0);
	r.status = 200;
	r.body = "0123456789";
	r.body_len = 10;
	CU_ASSERT_EQUAL(scws_http_response_write(&out, &r), -EMSGSIZE);
	CU_ASSERT_EQUAL(out.len, 4);
	CU_ASSERT_EQUAL(memcmp(out.p, "keep", 4), 0);
	buf_cleanup(&out);

	/* 204: no Content-Length, no body. */
	buf_init(&out, 4096);
	scws_http_response_init(&r, NULL, 204);
	r.date = RFC_DATE;
	CU_ASSERT_EQUAL(scws_http_response_write(&out, &r), 0);
	expect_out(&out, "HTTP/1.1 204 No Content\r\n" DATE SERVER "Connection: close\r\n\r\n");
	buf_reset(&out);
	CU_ASSERT_EQUAL(buf_append_str(&out, SCWS_HTTP_CONTINUE), 0);
	expect_out(&out, "HTTP/1.1 100 Continue\r\n\r\n");
	buf_cleanup(&out);
	CU_ASSERT_STRING_EQUAL(scws_http_status_phrase(431), "Request Header Fields Too Large");
	CU_ASSERT_STRING_EQUAL(scws_http_status_phrase(299), "");
}

/* ---------------------------------------------------------------- a connection */

/* The flow a connection runs: feed -> on_head: route (415 for a non-form
 * POST, skipping its body) -> body streamed into multipart -> on
 * completion: answer. Three requests on one keep-alive stream, fed in
 * pieces of every size from 1 to 40 bytes. */
struct mini_conn {
	struct scws_http_parser http;
	struct scws_multipart form;
	bool is_form;
	int status;
	char reason[PERR_REASON_MAX];
	char devid[64];
	struct buf out;
};

static int conn_part_data(void *arg, const struct scws_multipart_part *part, const uint8_t *d,
			  size_t n)
{
	struct mini_conn *c = arg;
	size_t have = strlen(c->devid);
	if (bytes_eq(part->name, "devid", 5) && have + n < sizeof(c->devid)) {
		memcpy(c->devid + have, d, n);
		c->devid[have + n] = 0;
	}
	return 0;
}

static const struct scws_multipart_callbacks conn_form_cb = { NULL, conn_part_data, NULL };

/* The form parser failed: answer its status, drop the rest of the body. */
static void conn_refuse(struct mini_conn *c)
{
	c->status = scws_multipart_status(&c->form);
	snprintf(c->reason, sizeof(c->reason), "%s", scws_multipart_reason(&c->form));
	scws_http_parser_skip_body(&c->http);
}

static int conn_head(void *arg, const struct scws_http_req *req)
{
	struct mini_conn *c = arg;
	c->status = 200;
	c->reason[0] = 0;
	c->devid[0] = 0;
	c->is_form = false;
	if (req->method == SCWS_HTTP_POST) {
		if (scws_multipart_init(&c->form, req->content_type, &conn_form_cb, c)) {
			conn_refuse(c);
			return 0;
		}
		c->is_form = true;
	}
	if (req->expect_continue)
		return buf_append_str(&c->out, SCWS_HTTP_CONTINUE);
	return 0;
}

static int conn_body(void *arg, const uint8_t *d, size_t n)
{
	struct mini_conn *c = arg;
	size_t used;
	int rc = scws_multipart_feed(&c->form, d, n, &used);
	if (rc && rc != -EAGAIN)
		conn_refuse(c);
	return 0;
}

static void conn_answer(struct mini_conn *c)
{
	const struct scws_http_req *req = scws_http_parser_req(&c->http);
	if (c->is_form && c->status == 200 && scws_multipart_end(&c->form)) {
		c->status = 400;
		snprintf(c->reason, sizeof(c->reason), "%s", scws_multipart_reason(&c->form));
	}
	if (c->status != 200) {
		int rc = scws_http_response_error(&c->out, req, c->status, c->reason, true);
		CU_ASSERT_EQUAL(rc, 0);
		return;
	}
	struct scws_http_response r;
	scws_http_response_init(&r, req, 200);
	r.body = c->devid;
	r.body_len = strlen(c->devid);
	CU_ASSERT_EQUAL(scws_http_response_write(&c->out, &r), 0);
}

static void test_connection_flow(void)
{
	static const char stream[] =
		"POST /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: 127.0.0.1:4116\r\n"
		"Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n"
		"Content-Type: multipart/form-data; boundary=XyZ\r\n\r\n"
		"1c\r\n--XyZ\r\nContent-Disposition: \r\n"
		"38\r\nform-data; name=\"devid\"\r\n\r\nIMEI:1234567890123\r\n--XyZ--\r\n\r\n"
		"0\r\n\r\n"
		"POST /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
		"Content-Length: 5\r\n\r\nhello"
		"POST /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
		"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 52\r\n\r\n"
		"--b\r\nContent-Disposition: form-data; name=devid\r\n\r\nx";
	for (size_t piece = 1; piece <= 40; piece++) {
		struct mini_conn c;
		memset(&c, 0, sizeof(c));
		struct scws_http_callbacks cb = { conn_head, conn_body };
		scws_http_parser_init(&c.http, &cb, &c);
		buf_init(&c.out, 8192);
		size_t off = 0, len = sizeof(stream) - 1;
		unsigned answered = 0;
		while (off < len) {
			size_t n = len - off < piece ? len - off : piece, used;
			const uint8_t *in = (const uint8_t *)stream + off;
			int rc = scws_http_parser_feed(&c.http, in, n, &used);
			off += used;
			if (rc == 0) {
				conn_answer(&c);
				answered++;
			} else if (rc != -EAGAIN) {
				fprintf(stderr, "\npieces of %zu: rc %d at %zu: %d %s\n", piece, rc,
					off, scws_http_parser_status(&c.http),
					scws_http_parser_reason(&c.http));
				CU_FAIL("connection stream refused");
				break;
			}
		}
		CU_ASSERT_EQUAL(answered, 3);
		/* Blank out the three Date values, then compare every byte. */
		for (size_t i = 0; i + 6 < c.out.len; i++)
			if (memcmp(c.out.p + i, "Date: ", 6) == 0)
				memset(c.out.p + i + 6, '*', 29);
		expect_out(&c.out,
			   "HTTP/1.1 100 Continue\r\n\r\n"
			   "HTTP/1.1 200 OK\r\nDate: *****************************\r\n" SERVER
			   "Content-Length: 18\r\n\r\nIMEI:1234567890123"
			   "HTTP/1.1 415 Unsupported Media Type\r\n"
			   "Date: *****************************\r\n" SERVER
			   "Content-Length: 53\r\nContent-Type: text/plain; charset=utf-8\r\n"
			   "Cache-Control: no-store\r\n\r\n"
			   "Content-Type \"text/plain\" is not multipart/form-data\n"
			   "HTTP/1.1 400 Bad Request\r\n"
			   "Date: *****************************\r\n" SERVER
			   "Content-Length: 37\r\nContent-Type: text/plain; charset=utf-8\r\n"
			   "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
			   "body ends before the close delimiter\n");
		scws_http_parser_cleanup(&c.http);
		buf_cleanup(&c.out);
	}
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_table_streamed),
		UNIT_TEST(test_table_buffered),
		UNIT_TEST(test_head_limit),
		UNIT_TEST(test_header_count),
		UNIT_TEST(test_body_limit),
		UNIT_TEST(test_chunk_line_and_trailer_limits),
		UNIT_TEST(test_keep_alive_sequence),
		UNIT_TEST(test_views_and_lookup),
		UNIT_TEST(test_head_callback_stops),
		UNIT_TEST(test_skip_body),
		UNIT_TEST(test_lifecycle),
		UNIT_TEST(test_date),
		UNIT_TEST(test_response_ok_and_head),
		UNIT_TEST(test_response_from_request),
		UNIT_TEST(test_response_error),
		UNIT_TEST(test_response_rejects),
		UNIT_TEST(test_connection_flow),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("scws_http", tests);
}
