/* test_scws_http_resp.c - unit tests for src/scws/http_resp.c: a table of
 * responses run whole, split at every point, one byte per feed and as every
 * prefix followed by a close; limits; interim responses; keep-alive; the
 * request and multipart/form-data writers byte for byte, and read back by
 * the server's own request and multipart parsers. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scws/http.h"
#include "scws/http_resp.h"
#include "scws/multipart.h"
#include "helpers.h"
#include "runner.h"

/* ---------------------------------------------------------------- harness */

/* What the parser told us, rendered so one strcmp checks it all. Each head
 * (interim ones too) is "<status> HTTP/1.<minor> <reason>|<flags>\n" and
 * then "<name>: <value>\n" per header; flags are " keep-alive", " chunked",
 * " cl=N", " until-close". */
struct got {
	int heads;
	char head[2 * HTTP_HEAD_MAX];
	size_t head_len;
	struct buf body;
	int head_rc; /* what on_head returns */
	int body_rc; /* what on_body returns */
};

static void render_head(const struct scws_http_resp *r, char *out, size_t cap, size_t *len)
{
	size_t n = *len;
	if (n >= cap)
		return;
	n += (size_t)snprintf(out + n, cap - n, "%d HTTP/1.%d %.*s|%s%s%s", r->status,
			      r->minor_version, (int)r->reason.len, (const char *)r->reason.ptr,
			      r->keep_alive ? " keep-alive" : "", r->is_chunked ? " chunked" : "",
			      r->until_close ? " until-close" : "");
	if (n < cap && r->has_content_length)
		n += (size_t)snprintf(out + n, cap - n, " cl=%llu",
				      (unsigned long long)r->content_length);
	if (n < cap)
		n += (size_t)snprintf(out + n, cap - n, "\n");
	for (size_t i = 0; i < r->num_headers && n < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, "%.*s: %.*s\n", (int)r->headers[i].name.len,
				      (const char *)r->headers[i].name.ptr,
				      (int)r->headers[i].value.len,
				      (const char *)r->headers[i].value.ptr);
	*len = n < cap ? n : cap - 1;
}

static int on_head(void *arg, const struct scws_http_resp *r)
{
	struct got *g = arg;
	g->heads++;
	render_head(r, g->head, sizeof(g->head), &g->head_len);
	return g->head_rc;
}

static int on_body(void *arg, const uint8_t *data, size_t len)
{
	struct got *g = arg;
	CU_ASSERT_NOT_EQUAL(len, 0);
	if (g->body_rc)
		return g->body_rc;
	return buf_append(&g->body, data, len) ? -ENOMEM : 0;
}

static const struct scws_http_resp_callbacks cbs = { on_head, on_body };
static const struct scws_http_resp_callbacks cbs_buffered = { on_head, NULL };

static void got_init(struct got *g, struct scws_http_resp_parser *p, bool buffered)
{
	memset(g, 0, sizeof(*g));
	buf_init(&g->body, 2 * HTTP_RESP_BODY_MAX);
	scws_http_resp_parser_init(p, buffered ? &cbs_buffered : &cbs, g);
}

/* ---------------------------------------------------------------- the table */

struct resp_case {
	const char *name;
	const char *in;
	size_t in_len;
	enum scws_http_method method;
	bool eof;           /* the connection closes after the input */
	int rc;             /* 0: a complete response is expected */
	const char *reason; /* for errors: exact */
	const char *head;   /* every head, rendered */
	const char *body;
	size_t body_len;
	size_t leftover; /* bytes after the response */
};

#define IN(s) s, sizeof(s) - 1
#define BODY(s) s, sizeof(s) - 1
#define NOBODY "", 0
#define GET SCWS_HTTP_GET
#define OK(head) 0, NULL, head
#define ERR(rc, reason) rc, reason, NULL, NOBODY, 0
#define S200 "HTTP/1.1 200 OK\r\n"
#define CHUNKED S200 "Transfer-Encoding: chunked\r\n\r\n"
#define H200 "200 HTTP/1.1 OK| keep-alive"
#define HCH H200 " chunked\nTransfer-Encoding: chunked\n"

/* clang-format off */
static const struct resp_case cases[] = {
	/* ---- valid */
	{ "bootstrap, as scwsemu answers",
	  IN("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: scwsemu/0.1.0\r\n"
	     "Content-Length: 5\r\nContent-Type: application/vnd.syncml.dm+wbxml\r\n"
	     "Cache-Control: no-store\r\n\r\n\x02\x00\x00\x6a\x00"),
	  GET, false,
	  OK(H200 " cl=5\nDate: Sun, 06 Nov 1994 08:49:37 GMT\nServer: scwsemu/0.1.0\n"
	     "Content-Length: 5\nContent-Type: application/vnd.syncml.dm+wbxml\n"
	     "Cache-Control: no-store\n"),
	  BODY("\x02\x00\x00\x6a\x00"), 0 },
	{ "404 with a reason, Connection: close",
	  IN("HTTP/1.1 404 Not Found\r\nContent-Length: 23\r\nConnection: close\r\n\r\n"
	     "no bootstrap available\n"),
	  SCWS_HTTP_POST, false,
	  OK("404 HTTP/1.1 Not Found| cl=23\nContent-Length: 23\nConnection: close\n"),
	  BODY("no bootstrap available\n"), 0 },
	{ "Content-Length 0", IN(S200 "Content-Length: 0\r\n\r\n"), GET, false,
	  OK(H200 " cl=0\nContent-Length: 0\n"), NOBODY, 0 },
	{ "CL list of equal values, leading zeros, two lines",
	  IN(S200 "Content-Length: 3, 003\r\ncontent-length: 3\r\n\r\nabc"), GET, false,
	  OK(H200 " cl=3\nContent-Length: 3, 003\ncontent-length: 3\n"), BODY("abc"), 0 },
	{ "binary body with CRLF and NUL", IN(S200 "Content-Length: 4\r\n\r\n\0\r\n\xff"), GET,
	  false, OK(H200 " cl=4\nContent-Length: 4\n"), BODY("\0\r\n\xff"), 0 },
	{ "chunked with extensions and a trailer",
	  IN(CHUNKED "5\r\nhello\r\n1;ext=\"q;uoted\"\r\n,\r\nA \t; e1 ; e2=x\r\n 0123\r\n567\r\n"
		     "0\r\nX-Checksum: 1\r\n\r\n"),
	  GET, false, OK(HCH), BODY("hello, 0123\r\n567"), 0 },
	{ "chunked, upper case hex, leading zeros",
	  IN(S200 "Transfer-Encoding: Chunked\r\n\r\n0000B\r\nhello world\r\n00\r\n\r\n"), GET,
	  false, OK(H200 " chunked\nTransfer-Encoding: Chunked\n"), BODY("hello world"), 0 },
	{ "chunked with bare LF everywhere",
	  IN("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\nT: 1\n\n"), GET, false,
	  OK(HCH), BODY("abc"), 0 },
	{ "chunked, empty", IN(CHUNKED "0\r\n\r\n"), GET, false, OK(HCH), NOBODY, 0 },
	{ "chunked as a list with empty elements",
	  IN(S200 "Transfer-Encoding: , chunked,\r\n\r\n1\r\nz\r\n0\r\n\r\n"), GET, false,
	  OK(H200 " chunked\nTransfer-Encoding: , chunked,\n"), BODY("z"), 0 },
	{ "until close, HTTP/1.0", IN("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nab\r\nc"),
	  GET, true, OK("200 HTTP/1.0 OK| until-close\nContent-Type: text/plain\n"),
	  BODY("ab\r\nc"), 0 },
	{ "until close, HTTP/1.1 is not kept alive", IN(S200 "X: y\r\n\r\nbody"), GET, true,
	  OK("200 HTTP/1.1 OK| until-close\nX: y\n"), BODY("body"), 0 },
	{ "until close, empty body", IN(S200 "\r\n"), GET, true, OK("200 HTTP/1.1 OK| until-close\n"),
	  NOBODY, 0 },
	{ "HTTP/1.0 keep-alive", IN("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
				    "Content-Length: 1\r\n\r\nx"),
	  GET, false, OK("200 HTTP/1.0 OK| keep-alive cl=1\nConnection: Keep-Alive\n"
			 "Content-Length: 1\n"),
	  BODY("x"), 0 },
	{ "HTTP/1.0 keep-alive and close", IN("HTTP/1.0 200 OK\r\nConnection: keep-alive,close\r\n"
					      "Content-Length: 0\r\n\r\n"),
	  GET, false, OK("200 HTTP/1.0 OK| cl=0\nConnection: keep-alive,close\nContent-Length: 0\n"),
	  NOBODY, 0 },
	{ "HTTP/1.2 is handled as 1.1", IN("HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n"), GET,
	  false, OK(H200 " cl=0\nContent-Length: 0\n"), NOBODY, 0 },
	{ "no reason phrase, no space", IN("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), GET, false,
	  OK("200 HTTP/1.1 | keep-alive cl=0\nContent-Length: 0\n"), NOBODY, 0 },
	{ "empty reason phrase", IN("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"), GET, false,
	  OK("200 HTTP/1.1 | keep-alive cl=0\nContent-Length: 0\n"), NOBODY, 0 },
	{ "reason with spaces, tab and obs-text",
	  IN("HTTP/1.1 403 Verboten \t caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n"), GET, false,
	  OK("403 HTTP/1.1 Verboten \t caf\xc3\xa9| keep-alive cl=0\nContent-Length: 0\n"), NOBODY,
	  0 },
	{ "values trimmed, empty value",
	  IN(S200 "X-A:  \t two  words \t \r\nX-B:\r\nContent-Length: 0\r\n\r\n"), GET, false,
	  OK(H200 " cl=0\nX-A: two  words\nX-B: \nContent-Length: 0\n"), NOBODY, 0 },
	{ "obs-fold is unfolded with spaces",
	  IN(S200 "X: a\r\n  b\r\n\tc \r\nY: 1\r\nContent-Length: 0\r\n\r\n"), GET, false,
	  OK(H200 " cl=0\nX: a    b  \tc\nY: 1\nContent-Length: 0\n"), NOBODY, 0 },
	{ "obs-fold of an empty value", IN(S200 "X:\r\n z\r\nContent-Length: 0\r\n\r\n"), GET, false,
	  OK(H200 " cl=0\nX: z\nContent-Length: 0\n"), NOBODY, 0 },
	{ "bare LF line ends", IN("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi"), GET, false,
	  OK(H200 " cl=2\nContent-Length: 2\n"), BODY("hi"), 0 },
	{ "HEAD: Content-Length describes a body that does not come",
	  IN(S200 "Content-Length: 1234\r\n\r\nHTTP/1.1"), SCWS_HTTP_HEAD, false,
	  OK(H200 " cl=1234\nContent-Length: 1234\n"), NOBODY, 8 },
	{ "HEAD: chunked is not read", IN(CHUNKED "HTTP/1.1"), SCWS_HTTP_HEAD, false,
	  OK(H200 "\nTransfer-Encoding: chunked\n"), NOBODY, 8 },
	{ "204 has no body", IN("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc"), GET,
	  false, OK("204 HTTP/1.1 No Content| keep-alive cl=3\nContent-Length: 3\n"), NOBODY, 3 },
	{ "304 has no body, even without a length",
	  IN("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\nabc"), GET, false,
	  OK("304 HTTP/1.1 Not Modified| keep-alive\nETag: \"x\"\n"), NOBODY, 3 },
	{ "100 Continue is skipped",
	  IN("HTTP/1.1 100 Continue\r\n\r\n" S200 "Content-Length: 2\r\n\r\nok"), SCWS_HTTP_POST,
	  false, OK("100 HTTP/1.1 Continue|\n" H200 " cl=2\nContent-Length: 2\n"), BODY("ok"), 0 },
	{ "103 with headers, then 100, then 200",
	  IN("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\nContent-Length: 9\r\n\r\n"
	     "HTTP/1.1 100 Continue\n\n" S200 "Content-Length: 0\r\n\r\n"),
	  GET, false,
	  OK("103 HTTP/1.1 Early Hints|\nLink: </a>\nContent-Length: 9\n"
	     "100 HTTP/1.1 Continue|\n" H200 " cl=0\nContent-Length: 0\n"),
	  NOBODY, 0 },
	{ "pipelined: leftover after a Content-Length body",
	  IN(S200 "Content-Length: 3\r\n\r\nxyzHTTP/1.1 404"), GET, false,
	  OK(H200 " cl=3\nContent-Length: 3\n"), BODY("xyz"), 12 },
	{ "pipelined: leftover after chunked", IN(CHUNKED "1\r\nq\r\n0\r\n\r\nHTT"), GET, false,
	  OK(HCH), BODY("q"), 3 },

	/* ---- status line */
	{ "HTTP/2", IN("HTTP/2 200\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "malformed status line (HTTP version)") },
	{ "HTTP/2.0", IN("HTTP/2.0 200 OK\r\n\r\n"), GET, false,
	  ERR(-EOPNOTSUPP, "HTTP/2.0 response, only HTTP/1.0 and 1.1") },
	{ "HTTP/0.9", IN("HTTP/0.9 200 OK\r\n\r\n"), GET, false,
	  ERR(-EOPNOTSUPP, "HTTP/0.9 response, only HTTP/1.0 and 1.1") },
	{ "lower-case version", IN("http/1.1 200 OK\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "malformed status line (HTTP version)") },
	{ "not HTTP", IN("ICY 200 OK\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "malformed status line (HTTP version)") },
	{ "TLS alert bytes", IN("\x15\x03\x03\x00\x02\x02\x28\n\n"), GET, false,
	  ERR(-EPROTO, "NUL in response head") },
	{ "two-digit status", IN("HTTP/1.1 20 OK\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "malformed status line (status code)") },
	{ "four-digit status", IN("HTTP/1.1 2000 OK\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "malformed status line (status code)") },
	{ "double space", IN("HTTP/1.1  200 OK\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "malformed status line (status code)") },
	{ "status 099", IN("HTTP/1.1 099 X\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "status code 99 out of range") },
	{ "status 600", IN("HTTP/1.1 600 X\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "status code 600 out of range") },
	{ "control in reason", IN("HTTP/1.1 200 O\x01K\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "control character in reason phrase") },
	{ "empty line before the status line", IN("\r\n" S200 "\r\n"), GET, false,
	  ERR(-EPROTO, "empty line before the status line") },
	{ "101 without an upgrade", IN("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"),
	  GET, false, ERR(-EOPNOTSUPP, "101 Switching Protocols without an upgrade asked for") },

	/* ---- header syntax */
	{ "bare CR in head", IN(S200 "X: a\rb\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "bare CR in response head") },
	{ "NUL in value", IN(S200 "X: a\0b\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "NUL in response head") },
	{ "control in value", IN(S200 "X: a\x7f\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "control character in header value") },
	{ "control in a folded line", IN(S200 "X: a\r\n \x01\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "control character in header value") },
	{ "space before colon", IN(S200 "Content-Length : 1\r\n\r\nx"), GET, false,
	  ERR(-EPROTO, "whitespace between header name and colon") },
	{ "no colon", IN(S200 "Content-Length\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "header line without a colon") },
	{ "empty name", IN(S200 ": a\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "invalid character in header name") },
	{ "bad name char", IN(S200 "X\"Y: a\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "invalid character in header name") },
	{ "whitespace before the first field", IN(S200 " X: a\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "whitespace before the first header field") },
	{ "two Content-Type", IN(S200 "Content-Type: a/b\r\nContent-Type: c/d\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "more than one Content-Type header") },

	/* ---- framing */
	{ "CL and TE", IN(S200 "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), GET,
	  false, ERR(-EPROTO, "Content-Length and Transfer-Encoding both present") },
	{ "CL not digits", IN(S200 "Content-Length: 12a\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "invalid Content-Length") },
	{ "CL negative", IN(S200 "Content-Length: -1\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "invalid Content-Length") },
	{ "CL empty", IN(S200 "Content-Length:\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "invalid Content-Length") },
	{ "CL list with an empty element", IN(S200 "Content-Length: 1, , 1\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "invalid Content-Length") },
	{ "CL list that disagrees", IN(S200 "Content-Length: 1, 2\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "conflicting Content-Length values") },
	{ "CL lines that disagree", IN(S200 "Content-Length: 1\r\nContent-Length: 2\r\n\r\n"), GET,
	  false, ERR(-EPROTO, "conflicting Content-Length values") },
	{ "CL overflow", IN(S200 "Content-Length: 18446744073709551616\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "Content-Length overflow") },
	{ "TE gzip", IN(S200 "Transfer-Encoding: gzip, chunked\r\n\r\n"), GET, false,
	  ERR(-EOPNOTSUPP, "transfer-coding \"gzip\" not supported") },
	{ "TE chunked twice", IN(S200 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  GET, false, ERR(-EPROTO, "Transfer-Encoding must end in one \"chunked\"") },
	{ "TE empty", IN(S200 "Transfer-Encoding:\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "Transfer-Encoding must end in one \"chunked\"") },
	{ "TE in HTTP/1.0", IN("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "Transfer-Encoding in an HTTP/1.0 response") },
	{ "chunk size not hex", IN(CHUNKED "zz\r\n"), GET, false,
	  ERR(-EPROTO, "invalid chunk size") },
	{ "chunk size empty", IN(CHUNKED "\r\n0\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "invalid chunk size") },
	{ "chunk size empty, bare LF", IN(CHUNKED "\n"), GET, false,
	  ERR(-EPROTO, "invalid chunk size") },
	{ "chunk size only an extension", IN(CHUNKED ";x\r\n"), GET, false,
	  ERR(-EPROTO, "invalid chunk size") },
	{ "chunk size with inner space", IN(CHUNKED "1 2\r\n"), GET, false,
	  ERR(-EPROTO, "invalid chunk size") },
	{ "chunk size overflow", IN(CHUNKED "10000000000000000\r\n"), GET, false,
	  ERR(-EPROTO, "chunk size overflow") },
	{ "chunk data without CRLF", IN(CHUNKED "1\r\nab\r\n0\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "chunk data not followed by CRLF") },
	{ "bare CR in chunk-size line", IN(CHUNKED "1\rx"), GET, false,
	  ERR(-EPROTO, "bare CR in chunk-size line") },
	{ "control in chunk extension", IN(CHUNKED "1;a\x01\r\n"), GET, false,
	  ERR(-EPROTO, "control character in chunk extension") },
	{ "bare CR in trailer", IN(CHUNKED "0\r\nX: a\rb\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "bare CR in trailer section") },
	{ "NUL in trailer", IN(CHUNKED "0\r\nX: \0\r\n\r\n"), GET, false,
	  ERR(-EPROTO, "NUL in trailer section") },

	/* ---- the connection closes too early */
	{ "closed before a response", IN(""), GET, true,
	  ERR(-EPROTO, "connection closed before a response") },
	{ "closed in the head", IN(S200 "Content-Le"), GET, true,
	  ERR(-EPROTO, "connection closed in the response head") },
	{ "closed after an interim response", IN("HTTP/1.1 100 Continue\r\n\r\n"), GET, true,
	  ERR(-EPROTO, "connection closed in the response head") },
	{ "closed inside a Content-Length body", IN(S200 "Content-Length: 10\r\n\r\nabc"), GET,
	  true, ERR(-EPROTO, "connection closed after 3 of 10 body bytes") },
	{ "closed inside chunk data", IN(CHUNKED "5\r\nab"), GET, true,
	  ERR(-EPROTO, "connection closed inside the chunked body (CHUNK_DATA)") },
	{ "closed before the last chunk", IN(CHUNKED "2\r\nab\r\n"), GET, true,
	  ERR(-EPROTO, "connection closed inside the chunked body (CHUNK_SIZE)") },
	{ "closed in the trailer", IN(CHUNKED "0\r\nX: 1\r\n"), GET, true,
	  ERR(-EPROTO, "connection closed inside the chunked body (TRAILER)") },
};
/* clang-format on */

/* Feeds in[0..len) as pieces ending at cuts[0] < ... == len, stopping at
 * the first result that is not -EAGAIN; then, when `eof`, closes. */
static int feed_pieces(struct scws_http_resp_parser *p, const uint8_t *in, const size_t *cuts,
		       size_t ncuts, bool eof, size_t *off)
{
	int rc = -EAGAIN;
	*off = 0;
	for (size_t k = 0; k < ncuts; k++) {
		size_t used = 0;
		rc = scws_http_resp_parser_feed(p, in + *off, cuts[k] - *off, &used);
		if (rc == -EAGAIN && used != cuts[k] - *off)
			CU_FAIL("-EAGAIN without taking the whole piece");
		*off += used;
		if (rc != -EAGAIN)
			break;
	}
	if (rc == -EAGAIN && eof)
		rc = scws_http_resp_parser_eof(p);
	return rc;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A case and how it is fed (buffered or streamed), for unit_split_all_ways(). */
struct way {
	const struct resp_case *c;
	bool buffered;
};

/* A case's outcome on a fresh parser fed with the given pieces. `prefix`:
 * the input is a proper prefix and the connection closes after it, so the
 * outcome must be a clean "connection closed" error (or the case's own
 * error, or, for a body delimited by the close, a body that is a prefix of
 * the expected one). */
static bool run_case(void *arg, size_t len, const size_t *cuts, size_t ncuts, bool prefix,
		     const char *mode)
{
	const struct way *w = arg;
	const struct resp_case *c = w->c;
	const uint8_t *in = (const uint8_t *)c->in;
	bool buffered = w->buffered;
	struct scws_http_resp_parser p;
	struct got g;
	got_init(&g, &p, buffered);
	scws_http_resp_parser_expect(&p, c->method);
	size_t off;
	int rc = feed_pieces(&p, in, cuts, ncuts, c->eof || prefix, &off);
	if (buffered && rc == 0)
		CU_ASSERT_EQUAL_FATAL(buf_append(&g.body, p.body.p, p.body.len), 0);
	const char *reason = scws_http_resp_parser_reason(&p);
	bool ok;
	if (prefix) {
		bool body_prefix = g.body.len <= c->body_len &&
				   (g.body.len == 0 || memcmp(g.body.p, c->body, g.body.len) == 0);
		if (rc == 0)
			ok = c->rc == 0 && c->eof && body_prefix && g.heads > 0 &&
			     strcmp(g.head, c->head) == 0;
		else if (rc == -EPROTO && starts_with(reason, "connection closed"))
			ok = c->rc != 0 || body_prefix;
		else
			ok = c->rc != 0 && rc == c->rc && strcmp(reason, c->reason) == 0;
	} else if (c->rc == 0) {
		ok = rc == 0 && strcmp(g.head, c->head) == 0 && g.body.len == c->body_len &&
		     (c->body_len == 0 || memcmp(g.body.p, c->body, c->body_len) == 0) &&
		     off == c->in_len - c->leftover && !scws_http_resp_parser_in_response(&p) &&
		     reason[0] == 0;
	} else {
		ok = rc == c->rc && strcmp(reason, c->reason) == 0 &&
		     scws_http_resp_parser_in_response(&p);
	}
	if (rc != 0 && rc != -EAGAIN) {
		/* sticky, for feed and eof */
		size_t used = 99;
		ok = ok && scws_http_resp_parser_feed(&p, (const uint8_t *)"x", 1, &used) == rc &&
		     used == 0 && scws_http_resp_parser_eof(&p) == rc;
	}
	if (!ok)
		fprintf(stderr,
			"\n[%s] %s (%s, %zu pieces, ends %zu): rc %d \"%s\", heads %d, "
			"body %zu, took %zu\n%s",
			c->name, mode, buffered ? "buffered" : "streamed", ncuts, len, rc, reason,
			g.heads, g.body.len, off, g.head);
	scws_http_resp_parser_cleanup(&p);
	buf_cleanup(&g.body);
	return ok;
}

/* Runs a case whole, split at every point into two feeds, one byte per
 * feed, and as every proper prefix followed by a close (helpers.h). */
static void run_all_ways(const struct resp_case *c, bool buffered)
{
	struct way w = { c, buffered };
	unit_split_all_ways(c->in_len, c->leftover, "prefix, then close", run_case, &w);
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

static void test_head_limit(void)
{
	const char *pre = S200 "X: ";
	size_t pre_len = strlen(pre);
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t head_len = HTTP_HEAD_MAX + extra;
		char *s = malloc(head_len + 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		memcpy(s, pre, pre_len);
		memset(s + pre_len, 'x', head_len - pre_len - 4);
		memcpy(s + head_len - 4, "\r\n\r\n", 4);
		s[head_len] = 0;
		char *expect = malloc(HTTP_HEAD_MAX + 64);
		CU_ASSERT_PTR_NOT_NULL_FATAL(expect);
		snprintf(expect, HTTP_HEAD_MAX + 64, "200 HTTP/1.1 OK| until-close\nX: %.*s\n",
			 (int)(head_len - pre_len - 4), s + pre_len);
		struct resp_case c = { "head at the limit", s,      head_len, GET, true,
				       OK(expect),          NOBODY, 0 };
		if (extra) {
			c.name = "head over the limit";
			c.rc = -EMSGSIZE;
			c.reason = "response head over 8192 bytes";
		}
		run_all_ways(&c, false);
		free(expect);
		free(s);
	}
}

static void test_header_count(void)
{
	char s[2048], expect[2048];
	for (unsigned n = HTTP_HEADERS_MAX; n <= HTTP_HEADERS_MAX + 1; n++) {
		size_t len = (size_t)snprintf(s, sizeof(s), S200 "Content-Length: 0\r\n");
		size_t elen =
			(size_t)snprintf(expect, sizeof(expect), H200 " cl=0\nContent-Length: 0\n");
		for (unsigned i = 1; i < n; i++) {
			len += (size_t)snprintf(s + len, sizeof(s) - len, "H%u: %u\r\n", i, i);
			elen += (size_t)snprintf(expect + elen, sizeof(expect) - elen, "H%u: %u\n",
						 i, i);
		}
		len += (size_t)snprintf(s + len, sizeof(s) - len, "\r\n");
		struct resp_case c = { "header count", s, len, GET, false, OK(expect), NOBODY, 0 };
		if (n > HTTP_HEADERS_MAX) {
			c.rc = -EMSGSIZE;
			c.reason = "more than 32 header fields";
		}
		run_all_ways(&c, false);
	}
}

/* A buffered body of HTTP_RESP_BODY_MAX bytes passes, one more does not,
 * framed by Content-Length, chunked or the close; streamed it always
 * passes. */
static void test_body_limit(void)
{
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t blen = HTTP_RESP_BODY_MAX + extra;
		uint8_t *body = malloc(blen);
		CU_ASSERT_PTR_NOT_NULL_FATAL(body);
		for (size_t i = 0; i < blen; i++)
			body[i] = (uint8_t)(i * 7);
		for (int framing = 0; framing < 3; framing++) {
			struct buf r;
			buf_init(&r, 2 * HTTP_RESP_BODY_MAX);
			if (framing == 0) {
				CU_ASSERT_EQUAL(
					buf_printf(&r, S200 "Content-Length: %zu\r\n\r\n", blen),
					0);
				CU_ASSERT_EQUAL(buf_append(&r, body, blen), 0);
			} else if (framing == 1) {
				CU_ASSERT_EQUAL(buf_append_str(&r, CHUNKED), 0);
				for (size_t off = 0; off < blen; off += 30000) {
					size_t n = blen - off < 30000 ? blen - off : 30000;
					CU_ASSERT_EQUAL(buf_printf(&r, "%zx\r\n", n), 0);
					CU_ASSERT_EQUAL(buf_append(&r, body + off, n), 0);
					CU_ASSERT_EQUAL(buf_append(&r, "\r\n", 2), 0);
				}
				CU_ASSERT_EQUAL(buf_append_str(&r, "0\r\n\r\n"), 0);
			} else {
				CU_ASSERT_EQUAL(buf_append_str(&r, "HTTP/1.0 200 OK\r\n\r\n"), 0);
				CU_ASSERT_EQUAL(buf_append(&r, body, blen), 0);
			}
			for (int buffered = 0; buffered <= 1; buffered++) {
				struct scws_http_resp_parser p;
				struct got g;
				got_init(&g, &p, buffered);
				size_t used;
				int rc = scws_http_resp_parser_feed(&p, r.p, r.len, &used);
				if (rc == -EAGAIN && framing == 2)
					rc = scws_http_resp_parser_eof(&p);
				if (extra == 0 || !buffered) {
					CU_ASSERT_EQUAL(rc, 0);
					CU_ASSERT_EQUAL(used, r.len);
					struct bytes b = buffered
								 ? scws_http_resp_parser_body(&p)
								 : bytes_make(g.body.p, g.body.len);
					CU_ASSERT_TRUE(bytes_eq(b, body, blen));
				} else {
					CU_ASSERT_EQUAL(rc, -EMSGSIZE);
					CU_ASSERT_STRING_EQUAL(
						scws_http_resp_parser_reason(&p),
						framing == 0
							? "response body of 4194305 bytes over "
							  "4194304 bytes"
							: "response body over 4194304 bytes");
				}
				scws_http_resp_parser_cleanup(&p);
				buf_cleanup(&g.body);
			}
			buf_cleanup(&r);
		}
		free(body);
	}
}

static void test_interim_limit(void)
{
	for (unsigned n = HTTP_RESP_INTERIM_MAX; n <= HTTP_RESP_INTERIM_MAX + 1; n++) {
		struct buf r;
		buf_init(&r, 4096);
		for (unsigned i = 0; i < n; i++)
			CU_ASSERT_EQUAL(buf_append_str(&r, "HTTP/1.1 100 Continue\r\n\r\n"), 0);
		CU_ASSERT_EQUAL(buf_append_str(&r, S200 "Content-Length: 0\r\n\r\n"), 0);
		struct scws_http_resp_parser p;
		struct got g;
		got_init(&g, &p, false);
		size_t used;
		int rc = scws_http_resp_parser_feed(&p, r.p, r.len, &used);
		if (n <= HTTP_RESP_INTERIM_MAX) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_EQUAL(used, r.len);
			CU_ASSERT_EQUAL(g.heads, (int)n + 1);
			CU_ASSERT_EQUAL(scws_http_resp_parser_resp(&p)->status, 200);
		} else {
			CU_ASSERT_EQUAL(rc, -EMSGSIZE);
			CU_ASSERT_STRING_EQUAL(scws_http_resp_parser_reason(&p),
					       "more than 8 interim responses");
		}
		scws_http_resp_parser_cleanup(&p);
		buf_cleanup(&g.body);
		buf_cleanup(&r);
	}
}

static int feed_str(struct scws_http_resp_parser *p, const char *s, size_t *used)
{
	return scws_http_resp_parser_feed(p, (const uint8_t *)s, strlen(s), used);
}

static void test_chunk_line_and_trailer_limits(void)
{
	struct scws_http_resp_parser p;
	size_t used;
	char line[HTTP_TRAILER_MAX + 16];

	/* chunk-size line: 1 digit, ';', padding, CRLF = exactly the limit */
	for (size_t extra = 0; extra <= 1; extra++) {
		scws_http_resp_parser_init(&p, NULL, NULL);
		CU_ASSERT_EQUAL(feed_str(&p, CHUNKED, &used), -EAGAIN);
		size_t n = HTTP_CHUNK_LINE_MAX + extra;
		line[0] = '1';
		line[1] = ';';
		memset(line + 2, 'e', n - 4);
		memcpy(line + n - 2, "\r\n", 2);
		line[n] = 0;
		int rc = feed_str(&p, line, &used);
		if (extra == 0) {
			CU_ASSERT_EQUAL(rc, -EAGAIN);
			CU_ASSERT_EQUAL(feed_str(&p, "x\r\n0\r\n\r\n", &used), 0);
			CU_ASSERT_TRUE(bytes_eq(scws_http_resp_parser_body(&p), "x", 1));
		} else {
			CU_ASSERT_EQUAL(rc, -EPROTO);
			CU_ASSERT_STRING_EQUAL(scws_http_resp_parser_reason(&p),
					       "chunk-size line over 256 bytes");
		}
		scws_http_resp_parser_cleanup(&p);
	}

	/* trailer section: one field line plus the final CRLF */
	for (size_t extra = 0; extra <= 1; extra++) {
		scws_http_resp_parser_init(&p, NULL, NULL);
		CU_ASSERT_EQUAL(feed_str(&p, CHUNKED "0\r\n", &used), -EAGAIN);
		size_t n = HTTP_TRAILER_MAX + extra;
		memcpy(line, "T: ", 3);
		memset(line + 3, 'v', n - 7);
		memcpy(line + n - 4, "\r\n\r\n", 4);
		line[n] = 0;
		int rc = feed_str(&p, line, &used);
		CU_ASSERT_EQUAL(rc, extra ? -EMSGSIZE : 0);
		if (extra)
			CU_ASSERT_STRING_EQUAL(scws_http_resp_parser_reason(&p),
					       "trailer section over 8192 bytes");
		scws_http_resp_parser_cleanup(&p);
	}
}

/* ---------------------------------------------------------------- connection use */

/* One parser, three requests on one connection: GET, HEAD, POST with a
 * 100 Continue; the leftover of each feed is fed again. */
static void test_keep_alive_sequence(void)
{
	static const char stream[] =
		S200 "Content-Length: 3\r\n\r\nabc" S200 "Content-Length: 3\r\n\r\n"
		     "HTTP/1.1 100 Continue\r\n\r\n" CHUNKED "2\r\nde\r\n0\r\n\r\n";
	static const enum scws_http_method methods[] = { SCWS_HTTP_GET, SCWS_HTTP_HEAD,
							 SCWS_HTTP_POST };
	static const char *const bodies[] = { "abc", "", "de" };
	struct scws_http_resp_parser p;
	scws_http_resp_parser_init(&p, NULL, NULL);
	CU_ASSERT_FALSE(scws_http_resp_parser_in_response(&p));
	const uint8_t *in = (const uint8_t *)stream;
	size_t len = sizeof(stream) - 1, off = 0;
	for (size_t i = 0; i < 3; i++) {
		scws_http_resp_parser_expect(&p, methods[i]);
		size_t used;
		int rc = scws_http_resp_parser_feed(&p, in + off, len - off, &used);
		CU_ASSERT_EQUAL(rc, 0);
		off += used;
		const struct scws_http_resp *r = scws_http_resp_parser_resp(&p);
		CU_ASSERT_EQUAL(r->status, 200);
		CU_ASSERT_TRUE(r->keep_alive);
		CU_ASSERT_TRUE(
			bytes_eq(scws_http_resp_parser_body(&p), bodies[i], strlen(bodies[i])));
		CU_ASSERT_FALSE(scws_http_resp_parser_in_response(&p));
	}
	CU_ASSERT_EQUAL(off, len);
	/* The server closes the idle connection: nothing was cut short. */
	CU_ASSERT_EQUAL(scws_http_resp_parser_eof(&p), 0);
	scws_http_resp_parser_cleanup(&p);
}

static void test_in_response(void)
{
	struct scws_http_resp_parser p;
	size_t used;
	scws_http_resp_parser_init(&p, NULL, NULL);
	CU_ASSERT_EQUAL(feed_str(&p, "", &used), -EAGAIN);
	CU_ASSERT_FALSE(scws_http_resp_parser_in_response(&p));
	CU_ASSERT_EQUAL(feed_str(&p, "H", &used), -EAGAIN);
	CU_ASSERT_TRUE(scws_http_resp_parser_in_response(&p));
	CU_ASSERT_EQUAL(feed_str(&p, "TTP/1.1 100 Continue\r\n\r\n", &used), -EAGAIN);
	CU_ASSERT_TRUE(scws_http_resp_parser_in_response(&p));
	CU_ASSERT_EQUAL(feed_str(&p, S200 "Content-Length: 1\r\n\r\n", &used), -EAGAIN);
	CU_ASSERT_EQUAL(p.st, SCWS_HTTP_RESP_ST_BODY);
	CU_ASSERT_STRING_EQUAL(scws_http_resp_state_name(p.st), "BODY");
	CU_ASSERT_EQUAL(feed_str(&p, "z", &used), 0);
	CU_ASSERT_FALSE(scws_http_resp_parser_in_response(&p));
	CU_ASSERT_EQUAL(scws_http_resp_parser_feed(&p, NULL, 0, &used), -EAGAIN);
	CU_ASSERT_EQUAL(used, 0);
	scws_http_resp_parser_cleanup(&p);
}

static void test_views_and_lookup(void)
{
	struct scws_http_resp_parser p;
	size_t used;
	scws_http_resp_parser_init(&p, NULL, NULL);
	CU_ASSERT_EQUAL(feed_str(&p,
				 "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n"
				 "X-Twice: 1\r\nx-twice: 2\r\nContent-Length: 4\r\n\r\nnone",
				 &used),
			0);
	const struct scws_http_resp *r = scws_http_resp_parser_resp(&p);
	CU_ASSERT_EQUAL(r->status, 404);
	CU_ASSERT_TRUE(bytes_eq(r->reason, "Not Found", 9));
	CU_ASSERT_TRUE(bytes_eq(r->content_type, "text/plain", 10));
	const struct bytes *v = scws_http_resp_header(r, "X-TWICE");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_TRUE(bytes_eq(*v, "1", 1));
	CU_ASSERT_PTR_NULL(scws_http_resp_header(r, "X-Other"));
	CU_ASSERT_PTR_NULL(scws_http_resp_header(r, "X-Twic"));
	CU_ASSERT_EQUAL(r->num_headers, 4);
	CU_ASSERT_TRUE(r->has_body);
	CU_ASSERT_FALSE(r->until_close);
	scws_http_resp_parser_cleanup(&p);
}

static void test_callbacks_stop(void)
{
	struct scws_http_resp_parser p;
	struct got g;
	size_t used;
	got_init(&g, &p, false);
	g.head_rc = -ECANCELED;
	CU_ASSERT_EQUAL(feed_str(&p, S200 "Content-Length: 2\r\n\r\nab", &used), -ECANCELED);
	CU_ASSERT_STRING_EQUAL(scws_http_resp_parser_reason(&p),
			       "response handler failed (error -125)");
	CU_ASSERT_EQUAL(scws_http_resp_parser_eof(&p), -ECANCELED);
	scws_http_resp_parser_cleanup(&p);
	buf_cleanup(&g.body);

	got_init(&g, &p, false);
	g.body_rc = -EIO;
	CU_ASSERT_EQUAL(feed_str(&p, S200 "Content-Length: 2\r\n\r\nab", &used), -EIO);
	CU_ASSERT_EQUAL(g.heads, 1);
	scws_http_resp_parser_cleanup(&p);
	buf_cleanup(&g.body);

	/* an interim head's callback can stop it too */
	got_init(&g, &p, false);
	g.head_rc = -EPERM;
	CU_ASSERT_EQUAL(feed_str(&p, "HTTP/1.1 100 Continue\r\n\r\n", &used), -EPERM);
	scws_http_resp_parser_cleanup(&p);
	buf_cleanup(&g.body);
}

static void test_lifecycle(void)
{
	scws_http_resp_parser_free(NULL);
	struct scws_http_resp_parser *p = scws_http_resp_parser_new(NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	size_t used;
	CU_ASSERT_EQUAL(feed_str(p, S200 "\r\nbody", &used), -EAGAIN);
	CU_ASSERT_EQUAL(scws_http_resp_parser_eof(p), 0);
	CU_ASSERT_TRUE(bytes_eq(scws_http_resp_parser_body(p), "body", 4));
	CU_ASSERT_STRING_EQUAL(scws_http_resp_parser_reason(p), "");
	scws_http_resp_parser_free(p);
	CU_ASSERT_STRING_EQUAL(scws_http_resp_state_name(SCWS_HTTP_RESP_ST_UNTIL_CLOSE),
			       "UNTIL_CLOSE");
	CU_ASSERT_STRING_EQUAL(scws_http_resp_state_name(SCWS_HTTP_RESP_ST_ERROR), "ERROR");
	CU_ASSERT_STRING_EQUAL(scws_http_resp_state_name((enum scws_http_resp_state)99), "?");
}

/* ---------------------------------------------------------------- request writer */

static void expect_buf(const struct buf *b, const char *s)
{
	size_t n = strlen(s);
	CU_ASSERT_EQUAL(b->len, n);
	if (b->len != n || memcmp(b->p, s, n) != 0) {
		fprintf(stderr, "\ngot:\n%.*s\nexpected:\n%s\n", (int)b->len, (const char *)b->p,
			s);
		CU_FAIL("bytes differ");
	}
}

static void test_request_get(void)
{
	struct buf b;
	buf_init(&b, 4096);
	struct scws_http_request r = {
		.method = SCWS_HTTP_GET,
		.target = "/OMA/DM/Bootstrap.xml",
		.host = "[::1]:4116",
		.user_agent = "scwsemu-fetch/0.1.0",
		.accept = "application/vnd.syncml.dm+wbxml, application/vnd.syncml.dm+xml",
		.close = true,
	};
	CU_ASSERT_EQUAL(scws_http_request_write(&b, &r), 0);
	expect_buf(&b, "GET /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: [::1]:4116\r\n"
		       "User-Agent: scwsemu-fetch/0.1.0\r\n"
		       "Accept: application/vnd.syncml.dm+wbxml, application/vnd.syncml.dm+xml\r\n"
		       "Connection: close\r\n\r\n");

	buf_reset(&b);
	struct scws_http_field extra[] = { { "X-Test", "1" }, { "Expect", "100-continue" } };
	struct scws_http_request h = { .method = SCWS_HTTP_HEAD,
				       .target = "/",
				       .host = "localuicc",
				       .extra = extra,
				       .num_extra = 2 };
	CU_ASSERT_EQUAL(scws_http_request_write(&b, &h), 0);
	expect_buf(&b, "HEAD / HTTP/1.1\r\nHost: localuicc\r\nX-Test: 1\r\n"
		       "Expect: 100-continue\r\n\r\n");

	buf_reset(&b);
	struct scws_http_request post = { .method = SCWS_HTTP_POST, .target = "/x", .host = "h" };
	CU_ASSERT_EQUAL(scws_http_request_write(&b, &post), 0);
	expect_buf(&b, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
	buf_cleanup(&b);
}

static void test_request_rejects(void)
{
	struct buf b;
	buf_init(&b, 4096);
	CU_ASSERT_EQUAL(buf_append_str(&b, "keep"), 0);
	struct scws_http_field bad_name[] = { { "X Y", "1" } };
	struct scws_http_field bad_value[] = { { "X", "a\r\nInjected: 1" } };
	struct scws_http_field null_value[] = { { "X", NULL } };
	/* clang-format off */
	struct scws_http_request rs[] = {
		{ .method = SCWS_HTTP_OTHER, .target = "/", .host = "h" },
		{ .method = SCWS_HTTP_GET, .target = "x", .host = "h" },
		{ .method = SCWS_HTTP_GET, .target = "/a b", .host = "h" },
		{ .method = SCWS_HTTP_GET, .target = "/\x7f", .host = "h" },
		{ .method = SCWS_HTTP_GET, .target = NULL, .host = "h" },
		{ .method = SCWS_HTTP_GET, .target = "/", .host = NULL },
		{ .method = SCWS_HTTP_GET, .target = "/", .host = "h\r\nX: 1" },
		{ .method = SCWS_HTTP_GET, .target = "/", .host = "h", .accept = "a\nb" },
		{ .method = SCWS_HTTP_GET, .target = "/", .host = "h", .extra = bad_name,
		  .num_extra = 1 },
		{ .method = SCWS_HTTP_GET, .target = "/", .host = "h", .extra = bad_value,
		  .num_extra = 1 },
		{ .method = SCWS_HTTP_GET, .target = "/", .host = "h", .extra = null_value,
		  .num_extra = 1 },
		{ .method = SCWS_HTTP_POST, .target = "/", .host = "h", .body = NULL, .body_len = 3 },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		CU_ASSERT_EQUAL(scws_http_request_write(&b, &rs[i]), -EINVAL);
		expect_buf(&b, "keep");
	}
	buf_cleanup(&b);

	/* Over the buffer's cap: -EMSGSIZE and nothing written. */
	buf_init(&b, 40);
	CU_ASSERT_EQUAL(buf_append_str(&b, "keep"), 0);
	struct scws_http_request big = { .method = SCWS_HTTP_POST,
					 .target = "/",
					 .host = "h",
					 .body = "0123456789012345678901234567890123456789",
					 .body_len = 40 };
	CU_ASSERT_EQUAL(scws_http_request_write(&b, &big), -EMSGSIZE);
	expect_buf(&b, "keep");
	buf_cleanup(&b);
}

/* ---------------------------------------------------------------- form writer */

/* clang-format off */
static const struct scws_http_form_field form[] = {
	{ "devid", "IMEI:493005100592800", 20 },
	{ "username", "dmuser", 6 },
	{ "passphrase", "czNjcmV0LXBhc3M=", 16 },
	{ "push-address", "http://127.0.0.1:9/push", 23 },
	{ "empty", "", 0 },
	{ "binary", "\0\r\n--x\r\n", 8 },
};
/* clang-format on */

#define FORM_BYTES                                                                               \
	"--B\r\nContent-Disposition: form-data; name=\"devid\"\r\n\r\nIMEI:493005100592800\r\n"  \
	"--B\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\ndmuser\r\n"             \
	"--B\r\nContent-Disposition: form-data; name=\"passphrase\"\r\n\r\nczNjcmV0LXBhc3M=\r\n" \
	"--B\r\nContent-Disposition: form-data; name=\"push-address\"\r\n\r\n"                   \
	"http://127.0.0.1:9/push\r\n"                                                            \
	"--B\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n"                      \
	"--B\r\nContent-Disposition: form-data; name=\"binary\"\r\n\r\n\0\r\n--x\r\n\r\n"        \
	"--B--\r\n"

static void test_form_bytes(void)
{
	struct buf b;
	buf_init(&b, 4096);
	CU_ASSERT_EQUAL(scws_http_form_write(&b, "B", form, 6), 0);
	static const char expect[] = FORM_BYTES;
	CU_ASSERT_TRUE(bytes_eq(bytes_make(b.p, b.len), expect, sizeof(expect) - 1));

	buf_reset(&b);
	CU_ASSERT_EQUAL(scws_http_form_write(&b, "B", NULL, 0), 0);
	expect_buf(&b, "--B--\r\n");
	buf_cleanup(&b);

	char ct[128];
	CU_ASSERT_STRING_EQUAL(scws_http_form_content_type("B", ct, sizeof(ct)),
			       "multipart/form-data; boundary=B");
}

static void test_form_rejects(void)
{
	struct buf b;
	buf_init(&b, 4096);
	CU_ASSERT_EQUAL(buf_append_str(&b, "keep"), 0);
	/* clang-format off */
	static const char *const bad_boundaries[] = {
		"", "ends in space ", "semi;colon", "quote\"", "at@",
		"12345678901234567890123456789012345678901234567890123456789012345678901",
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(bad_boundaries) / sizeof(bad_boundaries[0]); i++) {
		CU_ASSERT_EQUAL(scws_http_form_write(&b, bad_boundaries[i], form, 1), -EINVAL);
		expect_buf(&b, "keep");
	}
	/* 70 bchars, an inner space and every special one: fine */
	char longest[MULTIPART_BOUNDARY_MAX + 1] = "'()+_,-./:=? ";
	size_t n = strlen(longest);
	memset(longest + n, '7', MULTIPART_BOUNDARY_MAX - n);
	longest[MULTIPART_BOUNDARY_MAX] = 0;
	CU_ASSERT_EQUAL(scws_http_form_write(&b, longest, form, 1), 0);
	buf_reset(&b);
	CU_ASSERT_EQUAL(buf_append_str(&b, "keep"), 0);

	/* clang-format off */
	struct scws_http_form_field names[][1] = {
		{ { "a\"b", "v", 1 } }, { { "a\r\nb", "v", 1 } }, { { "", "v", 1 } },
		{ { NULL, "v", 1 } },   { { "n", NULL, 1 } },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CU_ASSERT_EQUAL(scws_http_form_write(&b, "B", names[i], 1), -EINVAL);
		expect_buf(&b, "keep");
	}
	struct scws_http_form_field clash[] = { { "a", "x", 1 }, { "b", "xx--Bxx", 7 } };
	CU_ASSERT_EQUAL(scws_http_form_write(&b, "B", clash, 2), -EEXIST);
	struct scws_http_form_field clash0[] = { { "a", "--B", 3 } };
	CU_ASSERT_EQUAL(scws_http_form_write(&b, "B", clash0, 1), -EEXIST);
	struct scws_http_form_field near[] = { { "a", "-B--A", 5 } };
	CU_ASSERT_EQUAL(scws_http_form_write(&b, "B", near, 1), 0);
	buf_cleanup(&b);

	buf_init(&b, 64);
	CU_ASSERT_EQUAL(scws_http_form_write(&b, "B", form, 6), -EMSGSIZE);
	CU_ASSERT_EQUAL(b.len, 0);
	buf_cleanup(&b);
}

static void test_form_boundary(void)
{
	char a[SCWS_HTTP_FORM_BOUNDARY_LEN + 1], b[SCWS_HTTP_FORM_BOUNDARY_LEN + 1];
	CU_ASSERT_EQUAL(scws_http_form_boundary(a, sizeof(a) - 1), -EINVAL);
	CU_ASSERT_EQUAL(scws_http_form_boundary(a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(scws_http_form_boundary(b, sizeof(b)), 0);
	CU_ASSERT_EQUAL(strlen(a), SCWS_HTTP_FORM_BOUNDARY_LEN);
	CU_ASSERT_TRUE(starts_with(a, "scwsemu-"));
	CU_ASSERT_EQUAL(strspn(a + 8, "0123456789abcdef"), 32);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);

	/* The server's multipart parser takes the Content-Type we make. */
	char ct[128];
	struct scws_multipart m;
	scws_http_form_content_type(a, ct, sizeof(ct));
	CU_ASSERT_EQUAL(scws_multipart_init(&m, bytes_make(ct, strlen(ct)), NULL, NULL), 0);
	CU_ASSERT_TRUE(bytes_eq(scws_multipart_boundary(&m), a, strlen(a)));
	scws_multipart_cleanup(&m);
}

/* Round trip: the request writer's POST with a form, read by the server's
 * request parser and multipart parser, gives back every field. */
struct parts {
	char names[8][32];
	struct buf values[8];
	unsigned n;
};

static int part_begin(void *arg, const struct scws_multipart_part *part)
{
	struct parts *ps = arg;
	CU_ASSERT_FATAL(ps->n < 8);
	snprintf(ps->names[ps->n], sizeof(ps->names[0]), "%.*s", (int)part->name.len,
		 (const char *)part->name.ptr);
	buf_init(&ps->values[ps->n], 1024);
	ps->n++;
	return 0;
}

static int part_data(void *arg, const struct scws_multipart_part *part, const uint8_t *d, size_t n)
{
	struct parts *ps = arg;
	(void)part;
	return buf_append(&ps->values[ps->n - 1], d, n);
}

static void test_form_round_trip(void)
{
	char boundary[SCWS_HTTP_FORM_BOUNDARY_LEN + 1], ct[128];
	CU_ASSERT_EQUAL_FATAL(scws_http_form_boundary(boundary, sizeof(boundary)), 0);
	struct buf body, req;
	buf_init(&body, 4096);
	buf_init(&req, 8192);
	CU_ASSERT_EQUAL_FATAL(scws_http_form_write(&body, boundary, form, 6), 0);
	struct scws_http_request r = {
		.method = SCWS_HTTP_POST,
		.target = "/OMA/DM/Bootstrap.xml",
		.host = "localuicc:443",
		.content_type = scws_http_form_content_type(boundary, ct, sizeof(ct)),
		.body = body.p,
		.body_len = body.len,
	};
	CU_ASSERT_EQUAL_FATAL(scws_http_request_write(&req, &r), 0);

	struct scws_http_parser hp;
	scws_http_parser_init(&hp, NULL, NULL);
	size_t used;
	CU_ASSERT_EQUAL_FATAL(scws_http_parser_feed(&hp, req.p, req.len, &used), 0);
	CU_ASSERT_EQUAL(used, req.len);
	const struct scws_http_req *hr = scws_http_parser_req(&hp);
	CU_ASSERT_EQUAL(hr->method, SCWS_HTTP_POST);
	CU_ASSERT_TRUE(bytes_eq(hr->host, "localuicc:443", 13));
	CU_ASSERT_EQUAL(hr->content_length, body.len);

	struct parts ps;
	memset(&ps, 0, sizeof(ps));
	struct scws_multipart_callbacks mcb = { part_begin, part_data, NULL };
	struct scws_multipart m;
	CU_ASSERT_EQUAL_FATAL(scws_multipart_init(&m, hr->content_type, &mcb, &ps), 0);
	struct bytes b = scws_http_parser_body(&hp);
	CU_ASSERT_EQUAL(scws_multipart_feed(&m, b.ptr, b.len, &used), 0);
	CU_ASSERT_EQUAL(scws_multipart_end(&m), 0);
	CU_ASSERT_EQUAL(ps.n, 6);
	for (unsigned i = 0; i < ps.n && i < 6; i++) {
		CU_ASSERT_STRING_EQUAL(ps.names[i], form[i].name);
		CU_ASSERT_TRUE(bytes_eq(bytes_make(ps.values[i].p, ps.values[i].len), form[i].value,
					form[i].value_len));
		buf_cleanup(&ps.values[i]);
	}
	scws_multipart_cleanup(&m);
	scws_http_parser_cleanup(&hp);
	buf_cleanup(&body);
	buf_cleanup(&req);
}

/* The server's response writer, read back by this parser. */
static void test_reads_server_responses(void)
{
	struct buf out;
	buf_init(&out, 8192);
	struct scws_http_response w;
	scws_http_response_init(&w, NULL, 200);
	w.close = false;
	w.content_type = "application/vnd.syncml.dm+wbxml";
	w.cache_control = "no-store";
	w.body = "\x02\x00\x00";
	w.body_len = 3;
	CU_ASSERT_EQUAL_FATAL(scws_http_response_write(&out, &w), 0);
	CU_ASSERT_EQUAL_FATAL(scws_http_response_error(&out, NULL, 404, "no bootstrap", false), 0);

	struct scws_http_resp_parser p;
	scws_http_resp_parser_init(&p, NULL, NULL);
	size_t used, off = 0;
	CU_ASSERT_EQUAL(scws_http_resp_parser_feed(&p, out.p, out.len, &used), 0);
	off += used;
	const struct scws_http_resp *r = scws_http_resp_parser_resp(&p);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_TRUE(r->keep_alive);
	CU_ASSERT_TRUE(bytes_eq(r->content_type, "application/vnd.syncml.dm+wbxml", 31));
	CU_ASSERT_TRUE(bytes_eq(scws_http_resp_parser_body(&p), "\x02\x00\x00", 3));
	CU_ASSERT_EQUAL(scws_http_resp_parser_feed(&p, out.p + off, out.len - off, &used), 0);
	CU_ASSERT_EQUAL(off + used, out.len);
	CU_ASSERT_EQUAL(r->status, 404);
	CU_ASSERT_FALSE(r->keep_alive);
	CU_ASSERT_TRUE(bytes_eq(scws_http_resp_parser_body(&p), "no bootstrap\n", 13));
	scws_http_resp_parser_cleanup(&p);
	buf_cleanup(&out);
}

int unit_register(void)
{
	/* clang-format off */
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_table_streamed),
		UNIT_TEST(test_table_buffered),
		UNIT_TEST(test_head_limit),
		UNIT_TEST(test_header_count),
		UNIT_TEST(test_body_limit),
		UNIT_TEST(test_interim_limit),
		UNIT_TEST(test_chunk_line_and_trailer_limits),
		UNIT_TEST(test_keep_alive_sequence),
		UNIT_TEST(test_in_response),
		UNIT_TEST(test_views_and_lookup),
		UNIT_TEST(test_callbacks_stop),
		UNIT_TEST(test_lifecycle),
		UNIT_TEST(test_request_get),
		UNIT_TEST(test_request_rejects),
		UNIT_TEST(test_form_bytes),
		UNIT_TEST(test_form_rejects),
		UNIT_TEST(test_form_boundary),
		UNIT_TEST(test_form_round_trip),
		UNIT_TEST(test_reads_server_responses),
		CU_TEST_INFO_NULL,
	};
	/* clang-format on */
	return unit_add_suite("scws_http_resp", tests);
}
