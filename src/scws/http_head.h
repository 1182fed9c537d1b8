/* http_head.h - what the HTTP/1.1 request parser (http.c) and response
 * parser (http_resp.c) share: framing a head, splitting its lines and
 * field lines, and the Transfer-Encoding and Connection lists
 * (RFC 9112 §2-§7, RFC 9110 §5.6).
 *
 * The helpers only say what is wrong (a reason fragment or an errno); the
 * parser that calls them owns the error state, the status code and the
 * words "request" or "response" in its reasons. */
#ifndef SCWS_HTTP_HEAD_H
#define SCWS_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/limits.h"

/* A head copied in until the empty line that ends it. */
struct scws_http_head {
	uint8_t buf[HTTP_HEAD_MAX];
	size_t len;        /* len <= HTTP_HEAD_MAX */
	size_t line_start; /* start of the line being framed, <= len */
	bool has_line;     /* a non-empty line came: an empty one now ends the head */
};

void scws_http_head_reset(struct scws_http_head *h);

/* Copies bytes up to and including the LF of the empty line that ends the
 * head, never past it, so *n stops at the first body byte. 0 when the head
 * is complete; -EAGAIN for more; -EMSGSIZE over HTTP_HEAD_MAX; -EPROTO for
 * an empty line before the first line unless lead_empty_ok (RFC 9112 §2.2
 * lets a server skip those). */
int scws_http_head_frame(struct scws_http_head *h, bool lead_empty_ok, const uint8_t *in,
			 size_t len, size_t *n);

/* One line of a framed head: [*pos, LF) without a final CR. Every line of a
 * framed head ends in LF, so *pos must be before the final one. NULL, or
 * what is wrong ("bare CR", "NUL"). */
const char *scws_http_head_line(const struct scws_http_head *h, size_t *pos, struct bytes *line);

struct scws_http_header;

/* Value of the first of n headers named `name` (ASCII, any case), or NULL. */
const struct bytes *scws_http_header_find(const struct scws_http_header *h, size_t n,
					  const char *name);

/* token = 1*tchar (RFC 9110 §5.6.2), for the field names we write. */
bool scws_http_is_token(const char *s);

bool scws_http_is_ows(uint8_t c);
struct bytes scws_http_trim_ows(struct bytes v);

/* field-value characters (RFC 9110 §5.5): no CTL but HTAB. */
bool scws_http_value_ok(struct bytes v);

/* Copies a peer token into a reason, keeping it printable and short. */
const char *scws_http_printable(struct bytes v, char *out, size_t cap);

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), the line
 * not starting with whitespace. NULL and the name and trimmed value, or
 * the reason it is malformed. */
const char *scws_http_field_split(struct bytes line, struct bytes *name, struct bytes *value);

/* What Transfer-Encoding and Connection say, judged by the caller. */
struct scws_http_framing {
	bool has_te;
	bool te_unknown;
	bool te_chunked_last;
	unsigned te_chunked;
	char te_bad[40]; /* the first unknown transfer-coding, printable */
	bool conn_close;
	bool conn_keep_alive;
};

/* Calls fn on each non-empty element of a #list (RFC 9110 §5.6.1). */
typedef void scws_http_element_fn(void *arg, struct bytes e);
void scws_http_for_each_element(struct bytes v, scws_http_element_fn *fn, void *arg);

/* Notes a Transfer-Encoding or Connection field in f: true when name is one
 * of them. */
bool scws_http_framing_field(struct scws_http_framing *f, struct bytes name, struct bytes value);

#endif
