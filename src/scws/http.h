/* http.h - sans-I/O HTTP/1.1 request parser and response writer
 * (RFC 9110, RFC 9112).
 *
 * One struct scws_http_parser per connection, reused across keep-alive
 * requests. The caller feeds whatever bytes arrived:
 *
 *	rc = scws_http_parser_feed(p, in, len, &used);
 *
 *   -EAGAIN  all `len` bytes were taken (used == len); feed more.
 *   0        one request is complete; in[used..len) belongs to the next
 *            request (pipelining): feed it again after answering.
 *   other    the request is rejected; scws_http_parser_status() gives the
 *            status code (400, 413, 431, 417, 501, 505, 500) and
 *            scws_http_parser_reason() a one-line reason for the body.
 *            Answer with Connection: close: the stream cannot be re-framed.
 *            The error is sticky: further feeds return it and take nothing.
 *
 * Errno values: -EPROTO malformed (400), -EMSGSIZE over a limit (413/431),
 * -EOPNOTSUPP not implemented (501/505/417), -ENOMEM (500), or whatever
 * negative value a callback returned (status 500 unless the caller knows
 * better: it took that decision itself).
 *
 * The head is framed first (up to HTTP_HEAD_MAX bytes, ending in an empty
 * line; bare LF line ends are accepted), then parsed into views. The head
 * is copied into the parser, so the views in struct scws_http_req stay
 * valid from the on_head callback until the first feed after the request
 * completed (or _cleanup), i.e. across every body callback.
 *
 * The body is streamed: each decoded body byte (Content-Length or chunked,
 * chunk framing removed) goes once to on_body, in order, in pieces of any
 * size. With on_body NULL the parser instead buffers the body (at most
 * HTTP_BODY_MAX bytes) and scws_http_parser_body() shows it once feed
 * returned 0.
 *
 * Callbacks run inside scws_http_parser_feed(). They may call
 * scws_http_parser_skip_body() and write their own output, but must not
 * feed or free the parser. A callback returns 0 to go on or a negative
 * errno to stop: feed then returns that value and the parser is in the
 * error state.
 *
 * A connection typically does:
 *   on_head   route the request. To refuse it (405, 404, 415 ...) remember
 *             the answer and call scws_http_parser_skip_body(): the body
 *             is framed and dropped, the connection stays usable. For a
 *             form POST, scws_multipart_init(&mp, req->content_type, ...)
 *             (415/400 on failure); then, if req->expect_continue, queue
 *             SCWS_HTTP_CONTINUE.
 *   on_body   scws_multipart_feed(); on failure remember its 400 and
 *             reason and skip the rest of the body.
 *   feed == 0 scws_multipart_end(), write the answer, feed the leftover.
 *   feed < 0  scws_http_response_error(out, req, status, reason, false)
 *             and close once it is sent.
 * A refusal sent from on_head before the body (with Connection: close,
 * then return a negative value to stop) spares a 100-continue client the
 * upload; RFC 9110 §10.1.1 allows either. */
#ifndef SCWS_SCWS_HTTP_H
#define SCWS_SCWS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "core/limits.h"
#include "core/perr.h"
#include "scws/framer.h"
#include "scws/http_head.h"

enum scws_http_method {
	SCWS_HTTP_OTHER, /* a valid token we do not know: the router answers 405/501 */
	SCWS_HTTP_GET,
	SCWS_HTTP_HEAD,
	SCWS_HTTP_POST,
	SCWS_HTTP_PUT,
	SCWS_HTTP_DELETE,
	SCWS_HTTP_OPTIONS,
};

const char *scws_http_method_name(enum scws_http_method m);

struct scws_http_header {
	struct bytes name;  /* a token, as sent (compare case-insensitively) */
	struct bytes value; /* leading and trailing SP/HTAB removed; may be empty */
};

/* A parsed request head. Every view points into the parser (see above). */
struct scws_http_req {
	enum scws_http_method method;
	struct bytes method_name; /* the token as sent */
	struct bytes target;      /* request-target as sent, e.g. "/OMA/DM/Bootstrap.xml?x" */
	int minor_version;        /* 0 or 1 (HTTP/1.x with x > 1 is handled as 1.1) */
	struct scws_http_header headers[HTTP_HEADERS_MAX];
	size_t num_headers;
	struct bytes host;         /* Host value; empty when absent (HTTP/1.0 only) */
	struct bytes content_type; /* Content-Type value; empty when absent */
	bool has_content_type;
	bool is_chunked;         /* Transfer-Encoding: chunked */
	uint64_t content_length; /* 0 when chunked or absent */
	bool has_body;           /* chunked, or Content-Length > 0 */
	bool keep_alive;         /* the connection may carry another request */
	bool expect_continue;    /* HTTP/1.1 Expect: 100-continue and a body follows:
				    * send SCWS_HTTP_CONTINUE from on_head unless
				    * rejecting the request right away */
};

/* Value of the first header named `name` (ASCII, any case), or NULL. */
const struct bytes *scws_http_req_header(const struct scws_http_req *req, const char *name);

/* True when v equals the NUL-terminated ASCII string s, ignoring case. */
bool scws_http_bytes_eq_ci(struct bytes v, const char *s);

/* True for a tchar (RFC 9110 §5.6.2), the characters of a token; shared
 * with the client side (http_resp.c). */
bool scws_http_is_tchar(uint8_t c);

typedef int scws_http_head_fn(void *arg, const struct scws_http_req *req);
typedef int scws_http_body_fn(void *arg, const uint8_t *data, size_t len);

struct scws_http_callbacks {
	scws_http_head_fn *on_head; /* may be NULL */
	scws_http_body_fn *on_body; /* NULL: buffer the body in the parser */
};

enum scws_http_state {
	SCWS_HTTP_ST_HEAD,    /* framing the head */
	SCWS_HTTP_ST_BODY,    /* Content-Length body */
	SCWS_HTTP_ST_CHUNKED, /* chunked body (the framer's decoder) */
	SCWS_HTTP_ST_DONE,    /* request complete; next feed starts a new one */
	SCWS_HTTP_ST_ERROR,
};

const char *scws_http_state_name(enum scws_http_state st);

struct scws_http_parser {
	enum scws_http_state st;
	struct scws_http_callbacks cb;
	void *arg;
	struct scws_http_req req;

	struct scws_http_head head; /* the head being framed, then its views' bytes */
	size_t head_scan;           /* head bytes before this were checked for bare CRs */
	bool line_checked;          /* the request-line was checked as soon as it ended */

	struct scws_framer framer; /* the body: Content-Length, or chunked within HTTP_BODY_MAX */
	bool skip_body;
	struct buf body; /* only when cb.on_body is NULL */

	struct perr e; /* sticky in the error state: err, status, reason */
};

/* Embedded lifecycle. cb is copied; arg is passed to every callback. */
void scws_http_parser_init(struct scws_http_parser *p, const struct scws_http_callbacks *cb,
			   void *arg);
void scws_http_parser_cleanup(struct scws_http_parser *p);
/* Heap lifecycle: NULL on allocation failure; _free(NULL) is a no-op. */
struct scws_http_parser *scws_http_parser_new(const struct scws_http_callbacks *cb, void *arg);
void scws_http_parser_free(struct scws_http_parser *p);

/* See the top of this file. in may be NULL when len is 0. */
__attribute__((warn_unused_result)) int scws_http_parser_feed(struct scws_http_parser *p,
							      const uint8_t *in, size_t len,
							      size_t *used);

/* The current request: complete from on_head on. */
const struct scws_http_req *scws_http_parser_req(const struct scws_http_parser *p);

/* The buffered body (on_body NULL), valid like the head views. */
struct bytes scws_http_parser_body(const struct scws_http_parser *p);

/* From on_head or on_body (or between feeds): frame the rest of this
 * request's body but deliver none of it. For a request answered without
 * its body (405, 415, a multipart error ...) on a connection kept alive. */
void scws_http_parser_skip_body(struct scws_http_parser *p);

/* True from the first byte of a request until it completes (and in the
 * error state); false between requests. For the per-request deadline and
 * to tell a clean close from a truncated request. */
bool scws_http_parser_in_request(const struct scws_http_parser *p);

int scws_http_parser_status(const struct scws_http_parser *p);
const char *scws_http_parser_reason(const struct scws_http_parser *p);

/* ---------------------------------------------------------------- responses */

/* The interim answer to Expect: 100-continue. */
#define SCWS_HTTP_CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"

struct scws_http_field {
	const char *name;  /* a token */
	const char *value; /* no CR, LF or NUL */
};

struct scws_http_response {
	int status;                          /* 100..599 */
	const char *content_type;            /* NULL: no Content-Type */
	const char *cache_control;           /* NULL: none */
	const char *allow;                   /* NULL: none; "GET, HEAD, POST" for a 405 */
	const struct scws_http_field *extra; /* further header fields, in order */
	size_t num_extra;
	bool is_head;       /* answer to HEAD: all headers, no body */
	bool close;         /* Connection: close (the caller then closes) */
	bool keep_alive_10; /* Connection: keep-alive (HTTP/1.0 client kept) */
	time_t date;        /* Date; 0 means now */
	const void *body;
	size_t body_len;
};

/* Fills r for an answer to req (NULL when the head never parsed): status,
 * is_head, close and keep_alive_10 from the request, everything else
 * empty. The caller then sets the body and headers. */
void scws_http_response_init(struct scws_http_response *r, const struct scws_http_req *req,
			     int status);

/* Appends the status line, Date, Server, Content-Length (not for 1xx,
 * 204, 304), the optional fields, Connection, the empty line and (unless
 * is_head) the body to out. 0; -EINVAL for a bad status or a field with
 * CR/LF/NUL; -EMSGSIZE/-ENOMEM from the buffer. On failure out is left as
 * it was. */
__attribute__((warn_unused_result)) int scws_http_response_write(
	struct buf *out, const struct scws_http_response *r);

/* An error answer: `status`, text/plain body "<reason>\n", Cache-Control:
 * no-store, Connection: close unless keep is true (or req says close).
 * req may be NULL, or scws_http_parser_req() even after a parse error: a
 * HEAD request then gets the headers only. */
__attribute__((warn_unused_result)) int scws_http_response_error(struct buf *out,
								 const struct scws_http_req *req,
								 int status, const char *reason,
								 bool keep);

/* The standard reason phrase, or "" for a code we do not list. */
const char *scws_http_status_phrase(int status);

/* IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT":
 * 29 characters and a NUL into out. 0, or -EINVAL when cap < 30 or t is
 * out of range. */
int scws_http_date(time_t t, char *out, size_t cap);

#endif
