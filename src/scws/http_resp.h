/* http_resp.h - the client side of HTTP/1.1, sans-I/O: a response parser
 * and a request writer with a multipart/form-data body (RFC 9112, RFC 9110,
 * RFC 7578). Used by scwsemu-fetch, the reference handset client.
 *
 * Parser. One struct scws_http_resp_parser per connection. Before each
 * request is sent, say what it was (a response to HEAD has no body):
 *
 *	scws_http_resp_parser_expect(p, SCWS_HTTP_POST);
 *	rc = scws_http_resp_parser_feed(p, in, len, &used);   bytes that came
 *	rc = scws_http_resp_parser_eof(p);                    the peer closed
 *
 *   -EAGAIN  all `len` bytes were taken (used == len); feed more, or call
 *            _eof() when the connection ends.
 *   0        the final response is complete; in[used..len) came after it.
 *   other    malformed (-EPROTO), over a limit (-EMSGSIZE), not supported
 *            (-EOPNOTSUPP: HTTP/2 status line, a transfer-coding other than
 *            chunked, 101 Switching Protocols), -ENOMEM, or a callback's
 *            negative value. scws_http_resp_parser_reason() says what in one
 *            line. The error is sticky; the connection cannot be reused.
 *
 * The head is framed first (up to HTTP_HEAD_MAX bytes, at most
 * HTTP_HEADERS_MAX fields; bare LF line ends accepted) and copied into the
 * parser, then parsed into views valid from on_head until the next feed
 * after the response completed (or _cleanup). Interim 1xx responses are
 * reported to on_head (status 100..199) and skipped: the parser then waits
 * for the next head, up to HTTP_RESP_INTERIM_MAX of them.
 *
 * The body length follows RFC 9112 §6.3: none for HEAD, 1xx, 204 and 304;
 * chunked when Transfer-Encoding ends in chunked; else Content-Length; else
 * everything up to the close (then _eof() completes the response, and a
 * close before a Content-Length or chunked body is complete is -EPROTO).
 * Obsolete line folding is replaced by spaces (RFC 9112 §5.2, as a user
 * agent must). Stricter than §6.3 allows a client to be, and on purpose for
 * a test client: Content-Length together with Transfer-Encoding,
 * conflicting Content-Length values and whitespace before a colon are
 * errors, not something to guess around.
 *
 * Each decoded body byte goes once to on_body, in order. With on_body NULL
 * the parser buffers the body (at most HTTP_RESP_BODY_MAX bytes, over is
 * -EMSGSIZE) and scws_http_resp_parser_body() shows it once feed or eof
 * returned 0. Callbacks run inside feed/eof and must not feed or free the
 * parser; a negative return stops it (sticky error).
 *
 * Request writer. scws_http_request_write() formats a request the way
 * scws_http_response_write() (http.h) formats a response: into a capped
 * struct buf, refusing header values with CR/LF and names that are not
 * tokens, leaving the buffer unchanged on failure. scws_http_form_*()
 * make a multipart/form-data body (RFC 7578 §4) with a random boundary. */
#ifndef SCWS_SCWS_HTTP_RESP_H
#define SCWS_SCWS_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "core/limits.h"
#include "core/perr.h"
#include "scws/framer.h"
#include "scws/http.h"

/* A parsed response head. Views point into the parser (see above). */
struct scws_http_resp {
	int minor_version;   /* 0 or 1 (HTTP/1.x with x > 1 is handled as 1.1) */
	int status;          /* 100..599 (RFC 9110 §15; others are -EPROTO) */
	struct bytes reason; /* reason-phrase, may be empty */
	struct scws_http_header headers[HTTP_HEADERS_MAX];
	size_t num_headers;
	struct bytes content_type; /* Content-Type value; empty when absent */
	bool is_chunked;           /* Transfer-Encoding: chunked */
	bool has_content_length;
	uint64_t content_length; /* 0 unless has_content_length */
	bool has_body;           /* a body follows (maybe an empty chunked one) */
	bool until_close;        /* the body ends when the connection does */
	bool keep_alive;         /* the connection may carry another request */
};

/* Value of the first header named `name` (ASCII, any case), or NULL. */
const struct bytes *scws_http_resp_header(const struct scws_http_resp *r, const char *name);

typedef int scws_http_resp_head_fn(void *arg, const struct scws_http_resp *resp);

struct scws_http_resp_callbacks {
	scws_http_resp_head_fn *on_head; /* every head, 1xx included; may be NULL */
	scws_http_body_fn *on_body;      /* NULL: buffer the body in the parser */
};

enum scws_http_resp_state {
	SCWS_HTTP_RESP_ST_HEAD,        /* framing a head */
	SCWS_HTTP_RESP_ST_BODY,        /* Content-Length body */
	SCWS_HTTP_RESP_ST_UNTIL_CLOSE, /* body delimited by the close */
	SCWS_HTTP_RESP_ST_CHUNKED,     /* chunked body (the framer's decoder) */
	SCWS_HTTP_RESP_ST_DONE,        /* response complete; next feed starts a new one */
	SCWS_HTTP_RESP_ST_ERROR,
};

const char *scws_http_resp_state_name(enum scws_http_resp_state st);

struct scws_http_resp_parser {
	enum scws_http_resp_state st;
	struct scws_http_resp_callbacks cb;
	void *arg;
	enum scws_http_method method; /* of the request being answered */
	struct scws_http_resp resp;
	unsigned interim; /* 1xx heads skipped for this response */

	struct scws_http_head head; /* the head being framed, then its views' bytes */

	struct scws_framer framer; /* the body: Content-Length, chunked or until the close */
	struct buf body;           /* only when cb.on_body is NULL */

	struct perr e; /* sticky in the error state: err and reason (status 0) */
};

/* Embedded lifecycle. cb is copied (may be NULL); arg goes to every
 * callback. The expected method starts as GET. */
void scws_http_resp_parser_init(struct scws_http_resp_parser *p,
				const struct scws_http_resp_callbacks *cb, void *arg);
void scws_http_resp_parser_cleanup(struct scws_http_resp_parser *p);
/* Heap lifecycle: NULL on allocation failure; _free(NULL) is a no-op. */
struct scws_http_resp_parser *scws_http_resp_parser_new(const struct scws_http_resp_callbacks *cb,
							void *arg);
void scws_http_resp_parser_free(struct scws_http_resp_parser *p);

/* The method of the request the next response answers (HEAD: no body).
 * Call between responses; it stays until changed. */
void scws_http_resp_parser_expect(struct scws_http_resp_parser *p, enum scws_http_method m);

/* See the top of this file. in may be NULL when len is 0. */
__attribute__((warn_unused_result)) int scws_http_resp_parser_feed(struct scws_http_resp_parser *p,
								   const uint8_t *in, size_t len,
								   size_t *used);

/* The connection was closed by the peer (a clean TLS close_notify or a TCP
 * FIN). 0 when that completes the response (a body delimited by the close,
 * or a response already complete); -EPROTO when the response was cut short
 * (the reason says where; a close before any byte says so too); the sticky
 * error in the error state. */
__attribute__((warn_unused_result)) int scws_http_resp_parser_eof(struct scws_http_resp_parser *p);

/* The current response head: complete from on_head on. */
const struct scws_http_resp *scws_http_resp_parser_resp(const struct scws_http_resp_parser *p);

/* The buffered body (on_body NULL), valid like the head views. */
struct bytes scws_http_resp_parser_body(const struct scws_http_resp_parser *p);

/* True from the first byte of a response until it completes (and in the
 * error state); false before and between responses. */
bool scws_http_resp_parser_in_response(const struct scws_http_resp_parser *p);

/* "" when there was no error. */
const char *scws_http_resp_parser_reason(const struct scws_http_resp_parser *p);

/* ---------------------------------------------------------------- requests */

struct scws_http_request {
	enum scws_http_method method;        /* not SCWS_HTTP_OTHER */
	const char *target;                  /* origin-form, e.g. "/OMA/DM/Bootstrap.xml": VCHARs */
	const char *host;                    /* Host value, e.g. "localuicc:443" or "[::1]:4116" */
	const char *user_agent;              /* NULL: none */
	const char *accept;                  /* NULL: none */
	const char *content_type;            /* NULL: none */
	const struct scws_http_field *extra; /* further header fields, in order */
	size_t num_extra;
	bool close; /* Connection: close */
	const void *body;
	size_t body_len; /* sent with Content-Length (also 0 for POST/PUT) */
};

/* Appends the request line, Host, the optional fields, Content-Length (when
 * there is a body or the method is POST or PUT), Connection, the empty line
 * and the body to out. 0; -EINVAL for a bad method, target, host or field;
 * -EMSGSIZE/-ENOMEM from the buffer. On failure out is left as it was. */
__attribute__((warn_unused_result)) int scws_http_request_write(struct buf *out,
								const struct scws_http_request *r);

/* One form field: a name (ASCII without '"', CR, LF, NUL) and a value of
 * any bytes. */
struct scws_http_form_field {
	const char *name;
	const void *value;
	size_t value_len;
};

/* A random boundary (RFC 2046 §5.1.1 bchars: "scwsemu-" and 32 hex digits
 * from getrandom()) and its NUL into out. 0, -EINVAL when cap is under
 * SCWS_HTTP_FORM_BOUNDARY_LEN + 1, or the getrandom() errno. */
#define SCWS_HTTP_FORM_BOUNDARY_LEN 40u
__attribute__((warn_unused_result)) int scws_http_form_boundary(char *out, size_t cap);

/* The Content-Type value for boundary: multipart/form-data; boundary=...
 * Returns out (truncated to fit cap, cap >= 1). */
const char *scws_http_form_content_type(const char *boundary, char *out, size_t cap);

/* Appends a multipart/form-data body: one part per field, in order, each
 * with "Content-Disposition: form-data; name=\"...\"" and nothing else
 * (RFC 7578 §4.2, §4.8), then the close delimiter. 0; -EINVAL for a
 * boundary that is not 1..70 bchars or a bad field name; -EEXIST when a
 * value contains the delimiter (pick another boundary); -EMSGSIZE/-ENOMEM
 * from the buffer. On failure out is left as it was. */
__attribute__((warn_unused_result)) int scws_http_form_write(
	struct buf *out, const char *boundary, const struct scws_http_form_field *fields, size_t n);

#endif
