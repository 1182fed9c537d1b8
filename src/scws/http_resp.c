/* http_resp.c - the client side of HTTP/1.1: response parser and request
 * writer (RFC 9112 message syntax, RFC 9110 semantics, RFC 7578 forms).
 *
 * The parser has the shape of the request parser in http.c: the head is
 * framed within HTTP_HEAD_MAX and only then split into views, bodies
 * stream through the framer (framer.c, chunked ones its chunked.c). What differs is what a client
 * must handle (RFC 9112 §6.3): bodies delimited by the close, responses
 * without a body whatever their headers say (HEAD, 1xx, 204, 304), interim
 * 1xx heads, and obs-fold, which a user agent must unfold rather than
 * refuse (§5.2). */
#include "config.h"

#include "scws/http_resp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char *const state_names[] = {
	[SCWS_HTTP_RESP_ST_HEAD] = "HEAD",
	[SCWS_HTTP_RESP_ST_BODY] = "BODY",
	[SCWS_HTTP_RESP_ST_UNTIL_CLOSE] = "UNTIL_CLOSE",
	[SCWS_HTTP_RESP_ST_CHUNKED] = "CHUNKED",
	[SCWS_HTTP_RESP_ST_DONE] = "DONE",
	[SCWS_HTTP_RESP_ST_ERROR] = "ERROR",
};

const char *scws_http_resp_state_name(enum scws_http_resp_state st)
{
	if ((size_t)st < sizeof(state_names) / sizeof(state_names[0]) && state_names[st])
		return state_names[st];
	return "?";
}

/* ---------------------------------------------------------------- characters */

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

const struct bytes *scws_http_resp_header(const struct scws_http_resp *r, const char *name)
{
	return scws_http_header_find(r->headers, r->num_headers, name);
}

/* ---------------------------------------------------------------- lifecycle */

static void start_head(struct scws_http_resp_parser *p)
{
	memset(&p->resp, 0, sizeof(p->resp));
	p->st = SCWS_HTTP_RESP_ST_HEAD;
	scws_http_head_reset(&p->head);
}

static void start_response(struct scws_http_resp_parser *p)
{
	start_head(p);
	p->interim = 0;
	buf_reset(&p->body);
}

void scws_http_resp_parser_init(struct scws_http_resp_parser *p,
				const struct scws_http_resp_callbacks *cb, void *arg)
{
	memset(p, 0, sizeof(*p));
	if (cb)
		p->cb = *cb;
	p->arg = arg;
	p->method = SCWS_HTTP_GET;
	buf_init(&p->body, HTTP_RESP_BODY_MAX);
	start_response(p);
}

void scws_http_resp_parser_cleanup(struct scws_http_resp_parser *p)
{
	buf_cleanup(&p->body);
}

struct scws_http_resp_parser *scws_http_resp_parser_new(const struct scws_http_resp_callbacks *cb,
							void *arg)
{
	struct scws_http_resp_parser *p = malloc(sizeof(*p));
	if (p)
		scws_http_resp_parser_init(p, cb, arg);
	return p;
}

void scws_http_resp_parser_free(struct scws_http_resp_parser *p)
{
	if (!p)
		return;
	scws_http_resp_parser_cleanup(p);
	free(p);
}

void scws_http_resp_parser_expect(struct scws_http_resp_parser *p, enum scws_http_method m)
{
	p->method = m;
}

const struct scws_http_resp *scws_http_resp_parser_resp(const struct scws_http_resp_parser *p)
{
	return &p->resp;
}

struct bytes scws_http_resp_parser_body(const struct scws_http_resp_parser *p)
{
	return bytes_make(p->body.p, p->body.len);
}

bool scws_http_resp_parser_in_response(const struct scws_http_resp_parser *p)
{
	if (p->st == SCWS_HTTP_RESP_ST_HEAD)
		return p->head.len > 0 || p->interim > 0;
	return p->st != SCWS_HTTP_RESP_ST_DONE;
}

const char *scws_http_resp_parser_reason(const struct scws_http_resp_parser *p)
{
	return p->e.reason;
}

__attribute__((format(printf, 3, 4))) static int fail(struct scws_http_resp_parser *p, int err,
						      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err = perr_vset(&p->e, err, 0, fmt, ap);
	va_end(ap);
	p->st = SCWS_HTTP_RESP_ST_ERROR;
	return err;
}

static int fail_cb(struct scws_http_resp_parser *p, int rc)
{
	return fail(p, rc, "response handler failed (error %d)", rc);
}

/* ---------------------------------------------------------------- head parsing */

/* One line of the framed head; a bare CR or a NUL in it is malformed. */
static int next_line(struct scws_http_resp_parser *p, size_t *pos, struct bytes *line)
{
	const char *bad = scws_http_head_line(&p->head, pos, line);
	return bad ? fail(p, -EPROTO, "%s in response head", bad) : 0;
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ]
 * (RFC 9112 §4). The SP before an empty reason is often left out; a
 * client loses nothing by accepting that. */
static int parse_status_line(struct scws_http_resp_parser *p, struct bytes line)
{
	struct scws_http_resp *r = &p->resp;
	const uint8_t *s = line.ptr;
	if (line.len < 12 || memcmp(s, "HTTP/", 5) != 0 || !is_digit(s[5]) || s[6] != '.' ||
	    !is_digit(s[7]) || s[8] != ' ')
		return fail(p, -EPROTO, "malformed status line (HTTP version)");
	if (s[5] != '1')
		return fail(p, -EOPNOTSUPP, "HTTP/%c.%c response, only HTTP/1.0 and 1.1", s[5],
			    s[7]);
	r->minor_version = s[7] == '0' ? 0 : 1;
	if (!is_digit(s[9]) || !is_digit(s[10]) || !is_digit(s[11]) ||
	    (line.len > 12 && s[12] != ' '))
		return fail(p, -EPROTO, "malformed status line (status code)");
	r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	/* RFC 9110 §15: values outside 100..599 are invalid. */
	if (r->status < 100 || r->status > 599)
		return fail(p, -EPROTO, "status code %d out of range", r->status);
	r->reason = line.len > 12 ? bytes_make(s + 13, line.len - 13) : bytes_make(s + 12, 0);
	if (!scws_http_value_ok(r->reason))
		return fail(p, -EPROTO, "control character in reason phrase");
	return 0;
}

/* obs-fold = OWS CRLF RWS (RFC 9112 §5.2): the line continues the previous
 * field value. Unfolded in place: the line ends between the two become SP,
 * so the value stays one view into the head. */
static int unfold(struct scws_http_resp_parser *p, struct bytes line)
{
	struct scws_http_resp *r = &p->resp;
	if (r->num_headers == 0)
		return fail(p, -EPROTO, "whitespace before the first header field");
	struct scws_http_header *h = &r->headers[r->num_headers - 1];
	size_t from = (size_t)(h->value.ptr - p->head.buf) + h->value.len;
	size_t to = (size_t)(line.ptr - p->head.buf);
	for (size_t i = from; i < to; i++)
		if (p->head.buf[i] == '\r' || p->head.buf[i] == '\n')
			p->head.buf[i] = ' ';
	if (!scws_http_value_ok(line))
		return fail(p, -EPROTO, "control character in header value");
	const uint8_t *start = h->value.ptr;
	h->value = scws_http_trim_ows(bytes_make(start, (size_t)(line.ptr + line.len - start)));
	return 0;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
static int parse_header_line(struct scws_http_resp_parser *p, struct bytes line)
{
	struct scws_http_resp *r = &p->resp;
	if (scws_http_is_ows(line.ptr[0]))
		return unfold(p, line);
	struct bytes name, value;
	const char *bad = scws_http_field_split(line, &name, &value);
	if (bad)
		return fail(p, -EPROTO, "%s", bad);
	if (r->num_headers == HTTP_HEADERS_MAX)
		return fail(p, -EMSGSIZE, "more than %u header fields", HTTP_HEADERS_MAX);
	struct scws_http_header *h = &r->headers[r->num_headers++];
	h->name = name;
	h->value = value;
	return 0;
}

/* Content-Length = 1*DIGIT (RFC 9110 §8.6). A list of identical values
 * ("5, 5", from a proxy merging lines) is one value, as §8.6 allows. */
static int parse_content_length(struct scws_http_resp_parser *p, struct bytes v)
{
	struct scws_http_resp *r = &p->resp;
	size_t i = 0;
	do {
		while (i < v.len && scws_http_is_ows(v.ptr[i]))
			i++;
		if (i == v.len || !is_digit(v.ptr[i]))
			return fail(p, -EPROTO, "invalid Content-Length");
		uint64_t n = 0;
		for (; i < v.len && is_digit(v.ptr[i]); i++) {
			unsigned d = (unsigned)(v.ptr[i] - '0');
			if (n > (UINT64_MAX - d) / 10)
				return fail(p, -EPROTO, "Content-Length overflow");
			n = n * 10 + d;
		}
		while (i < v.len && scws_http_is_ows(v.ptr[i]))
			i++;
		if (i < v.len && v.ptr[i] != ',')
			return fail(p, -EPROTO, "invalid Content-Length");
		if (r->has_content_length && n != r->content_length)
			return fail(p, -EPROTO, "conflicting Content-Length values");
		r->has_content_length = true;
		r->content_length = n;
	} while (i++ < v.len);
	return 0;
}

static bool status_has_no_body(int status)
{
	return status < 200 || status == 204 || status == 304;
}

/* Judges a final response head: the body length (RFC 9112 §6.3) and
 * whether the connection stays open. */
static int interpret_head(struct scws_http_resp_parser *p)
{
	struct scws_http_resp *r = &p->resp;
	struct scws_http_framing f;
	memset(&f, 0, sizeof(f));
	bool has_ct = false;
	int rc = 0;
	for (size_t i = 0; i < r->num_headers && rc == 0; i++) {
		struct bytes n = r->headers[i].name, v = r->headers[i].value;
		if (scws_http_bytes_eq_ci(n, "Content-Length")) {
			rc = parse_content_length(p, v);
		} else if (scws_http_framing_field(&f, n, v)) {
			/* Transfer-Encoding, Connection: judged below */
		} else if (scws_http_bytes_eq_ci(n, "Content-Type")) {
			if (has_ct)
				rc = fail(p, -EPROTO, "more than one Content-Type header");
			has_ct = true;
			r->content_type = v;
		}
	}
	if (rc)
		return rc;

	if (r->minor_version == 1)
		r->keep_alive = !f.conn_close;
	else
		r->keep_alive = f.conn_keep_alive && !f.conn_close;

	/* §6.3 rule 1: the framing headers of these describe what a GET would
	 * have got, not bytes that follow. */
	if (p->method == SCWS_HTTP_HEAD || status_has_no_body(r->status))
		return 0;
	if (f.has_te && r->has_content_length)
		return fail(p, -EPROTO, "Content-Length and Transfer-Encoding both present");
	if (f.has_te && r->minor_version == 0)
		return fail(p, -EPROTO, "Transfer-Encoding in an HTTP/1.0 response");
	if (f.has_te && f.te_unknown)
		return fail(p, -EOPNOTSUPP, "transfer-coding \"%s\" not supported", f.te_bad);
	if (f.has_te && (f.te_chunked != 1 || !f.te_chunked_last))
		return fail(p, -EPROTO, "Transfer-Encoding must end in one \"chunked\"");
	if (!p->cb.on_body && r->content_length > HTTP_RESP_BODY_MAX)
		return fail(p, -EMSGSIZE, "response body of %llu bytes over %u bytes",
			    (unsigned long long)r->content_length, HTTP_RESP_BODY_MAX);
	r->is_chunked = f.has_te;
	r->until_close = !f.has_te && !r->has_content_length;
	r->has_body = r->is_chunked || r->until_close || r->content_length > 0;
	if (r->until_close)
		r->keep_alive = false;
	return 0;
}

static int parse_head(struct scws_http_resp_parser *p)
{
	size_t pos = 0;
	struct bytes line;
	int rc = next_line(p, &pos, &line);
	if (rc == 0)
		rc = parse_status_line(p, line);
	while (rc == 0) {
		rc = next_line(p, &pos, &line);
		if (rc || line.len == 0)
			break;
		rc = parse_header_line(p, line);
	}
	if (rc)
		return rc;
	if (p->resp.status < 200)
		return 0;
	return interpret_head(p);
}

/* Frames the head. 0 when it is complete, -EAGAIN, or an error. */
static int frame_head(struct scws_http_resp_parser *p, const uint8_t *in, size_t len, size_t *n)
{
	int rc = scws_http_head_frame(&p->head, false, in, len, n);
	if (rc == -EMSGSIZE)
		return fail(p, rc, "response head over %u bytes", HTTP_HEAD_MAX);
	/* A server that writes an empty line before the status line
	 * miscounted the previous body: say so rather than skip it. */
	if (rc == -EPROTO)
		return fail(p, rc, "empty line before the status line");
	return rc;
}

/* ---------------------------------------------------------------- body */

static int deliver(struct scws_http_resp_parser *p, const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	if (p->cb.on_body) {
		int rc = p->cb.on_body(p->arg, data, len);
		return rc < 0 ? fail_cb(p, rc) : 0;
	}
	int rc = buf_append(&p->body, data, len);
	if (rc == -EMSGSIZE)
		return fail(p, rc, "response body over %u bytes", HTTP_RESP_BODY_MAX);
	return rc ? fail(p, rc, "cannot buffer the response body") : 0;
}

/* on_data of the framer. */
static int deliver_data(void *arg, const uint8_t *data, size_t len)
{
	return deliver(arg, data, len);
}

/* A head is parsed: skip an interim one, else pick the body framing. */
static int head_done(struct scws_http_resp_parser *p)
{
	struct scws_http_resp *r = &p->resp;
	if (p->cb.on_head) {
		int rc = p->cb.on_head(p->arg, r);
		if (rc < 0)
			return fail_cb(p, rc);
	}
	if (r->status == 101)
		return fail(p, -EOPNOTSUPP, "101 Switching Protocols without an upgrade asked for");
	if (r->status < 200) {
		if (++p->interim > HTTP_RESP_INTERIM_MAX)
			return fail(p, -EMSGSIZE, "more than %u interim responses",
				    HTTP_RESP_INTERIM_MAX);
		start_head(p);
		return 0;
	}
	if (!r->has_body) {
		p->st = SCWS_HTTP_RESP_ST_DONE;
	} else if (r->is_chunked) {
		p->st = SCWS_HTTP_RESP_ST_CHUNKED;
		/* No limit when streamed; buffered, deliver() stops at HTTP_RESP_BODY_MAX. */
		scws_framer_chunked(&p->framer, UINT64_MAX, "response body");
	} else if (r->until_close) {
		p->st = SCWS_HTTP_RESP_ST_UNTIL_CLOSE;
		scws_framer_until_close(&p->framer);
	} else {
		p->st = SCWS_HTTP_RESP_ST_BODY;
		scws_framer_length(&p->framer, r->content_length);
	}
	return 0;
}

/* frame_head, parse_head and head_done: scws_msg_ops.head. */
static int take_head(void *arg, const uint8_t *in, size_t len, size_t *n)
{
	struct scws_http_resp_parser *p = arg;
	int rc = frame_head(p, in, len, n);
	if (rc == 0)
		rc = parse_head(p);
	return rc ? rc : head_done(p);
}

static enum scws_msg_phase phase(const void *arg)
{
	const struct scws_http_resp_parser *p = arg;
	switch (p->st) {
	case SCWS_HTTP_RESP_ST_HEAD:
		return SCWS_MSG_HEAD;
	case SCWS_HTTP_RESP_ST_DONE:
		return SCWS_MSG_DONE;
	default: /* BODY, UNTIL_CLOSE, CHUNKED (ERROR never reaches the loop) */
		return SCWS_MSG_BODY;
	}
}

static int body_end(void *arg, int rc)
{
	struct scws_http_resp_parser *p = arg;
	if (rc == 0) {
		p->st = SCWS_HTTP_RESP_ST_DONE;
		return 0;
	}
	if (p->st == SCWS_HTTP_RESP_ST_ERROR) /* an on_body stop: deliver() said why */
		return p->e.err;
	return fail(p, rc, "%s", scws_framer_err(&p->framer)->reason);
}

static const struct scws_msg_ops response_ops = {
	.phase = phase,
	.head = take_head,
	.body_end = body_end,
	.on_data = deliver_data,
};

int scws_http_resp_parser_feed(struct scws_http_resp_parser *p, const uint8_t *in, size_t len,
			       size_t *used)
{
	*used = 0;
	if (p->st == SCWS_HTTP_RESP_ST_ERROR)
		return p->e.err;
	if (p->st == SCWS_HTTP_RESP_ST_DONE)
		start_response(p);
	return scws_framer_drive(&p->framer, &response_ops, p, in, len, used);
}

int scws_http_resp_parser_eof(struct scws_http_resp_parser *p)
{
	switch (p->st) {
	case SCWS_HTTP_RESP_ST_ERROR:
		return p->e.err;
	case SCWS_HTTP_RESP_ST_DONE:
		return 0;
	case SCWS_HTTP_RESP_ST_UNTIL_CLOSE:
		p->st = SCWS_HTTP_RESP_ST_DONE;
		return 0;
	case SCWS_HTTP_RESP_ST_HEAD:
		if (p->head.len == 0 && p->interim == 0)
			return fail(p, -EPROTO, "connection closed before a response");
		return fail(p, -EPROTO, "connection closed in the response head");
	case SCWS_HTTP_RESP_ST_BODY:
		return fail(p, -EPROTO, "connection closed after %llu of %llu body bytes",
			    (unsigned long long)p->framer.total,
			    (unsigned long long)p->framer.length);
	case SCWS_HTTP_RESP_ST_CHUNKED:
		return fail(p, -EPROTO, "connection closed inside the chunked body (%s)",
			    scws_chunked_state_name(p->framer.chunked.st));
	default:
		return fail(p, -EBADFD, "connection closed in parser state %s",
			    scws_http_resp_state_name(p->st));
	}
}

/* ---------------------------------------------------------------- requests */

static bool is_field_value_ok(const char *s)
{
	for (; *s; s++) {
		uint8_t c = (uint8_t)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7F)
			return false;
	}
	return true;
}

/* request-target in origin-form: "/" and VCHARs (RFC 9112 §3.2.1). */
static bool is_target_ok(const char *s)
{
	if (*s != '/')
		return false;
	for (; *s; s++)
		if ((uint8_t)*s <= 0x20 || (uint8_t)*s >= 0x7F)
			return false;
	return true;
}

static int put_field(struct buf *out, const char *name, const char *value)
{
	if (!value)
		return 0;
	if (!scws_http_is_token(name) || !is_field_value_ok(value))
		return -EINVAL;
	return buf_printf(out, "%s: %s\r\n", name, value);
}

int scws_http_request_write(struct buf *out, const struct scws_http_request *r)
{
	size_t mark = out->len;
	if (r->method == SCWS_HTTP_OTHER || !r->target || !is_target_ok(r->target) || !r->host ||
	    (r->body_len && !r->body))
		return -EINVAL;
	int rc = buf_printf(out, "%s %s HTTP/1.1\r\n", scws_http_method_name(r->method), r->target);
	if (!rc)
		rc = put_field(out, "Host", r->host);
	if (!rc)
		rc = put_field(out, "User-Agent", r->user_agent);
	if (!rc)
		rc = put_field(out, "Accept", r->accept);
	if (!rc)
		rc = put_field(out, "Content-Type", r->content_type);
	for (size_t i = 0; !rc && i < r->num_extra; i++) {
		const struct scws_http_field *f = &r->extra[i];
		rc = (f->name && f->value) ? put_field(out, f->name, f->value) : -EINVAL;
	}
	/* RFC 9110 §8.6: a POST without content still says Content-Length: 0. */
	if (!rc && (r->body_len || r->method == SCWS_HTTP_POST || r->method == SCWS_HTTP_PUT))
		rc = buf_printf(out, "Content-Length: %zu\r\n", r->body_len);
	if (!rc && r->close)
		rc = buf_append_str(out, "Connection: close\r\n");
	if (!rc)
		rc = buf_append(out, "\r\n", 2);
	if (!rc && r->body_len)
		rc = buf_append(out, r->body, r->body_len);
	if (rc)
		out->len = mark;
	return rc;
}

/* bcharsnospace (RFC 2046 §5.1.1); a space is a bchar but not at the end. */
static bool is_bchar_nospace(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != 0 && strchr("'()+_,-./:=?", c) != NULL);
}

static bool is_boundary_ok(const char *b)
{
	size_t n = strlen(b);
	if (n == 0 || n > MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (b[i] != ' ' && !is_bchar_nospace(b[i]))
			return false;
	return true;
}

int scws_http_form_boundary(char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	uint8_t rnd[16];
	if (cap < SCWS_HTTP_FORM_BOUNDARY_LEN + 1)
		return -EINVAL;
	ssize_t n = getrandom(rnd, sizeof(rnd), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(rnd))
		return -EIO;
	memcpy(out, "scwsemu-", 8);
	for (size_t i = 0; i < sizeof(rnd); i++) {
		out[8 + 2 * i] = digits[rnd[i] >> 4];
		out[9 + 2 * i] = digits[rnd[i] & 15];
	}
	out[SCWS_HTTP_FORM_BOUNDARY_LEN] = 0;
	return 0;
}

const char *scws_http_form_content_type(const char *boundary, char *out, size_t cap)
{
	snprintf(out, cap, "multipart/form-data; boundary=%s", boundary);
	return out;
}

static bool is_form_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s == '"' || *s == '\r' || *s == '\n')
			return false;
	return true;
}

/* RFC 2046 §5.1.1 forbids the delimiter (CRLF "--" boundary) inside a
 * part; refusing "--" boundary anywhere in a value is stricter and also
 * covers a value that starts with it right after our CRLF. */
static bool contains_delimiter(const uint8_t *v, size_t len, const char *boundary)
{
	size_t bl = strlen(boundary);
	for (size_t i = 0; i + 2 + bl <= len; i++)
		if (v[i] == '-' && v[i + 1] == '-' && memcmp(v + i + 2, boundary, bl) == 0)
			return true;
	return false;
}

int scws_http_form_write(struct buf *out, const char *boundary,
			 const struct scws_http_form_field *fields, size_t n)
{
	size_t mark = out->len;
	if (!is_boundary_ok(boundary))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!is_form_name_ok(fields[i].name) || (fields[i].value_len && !fields[i].value))
			return -EINVAL;
		if (contains_delimiter(fields[i].value, fields[i].value_len, boundary))
			return -EEXIST;
	}
	int rc = 0;
	/* RFC 7578 §4.1: each part begins with the dash-boundary; the CRLF
	 * before a delimiter belongs to the delimiter. No preamble. */
	for (size_t i = 0; !rc && i < n; i++) {
		rc = buf_printf(out, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n",
				boundary, fields[i].name);
		if (!rc && fields[i].value_len)
			rc = buf_append(out, fields[i].value, fields[i].value_len);
		if (!rc)
			rc = buf_append(out, "\r\n", 2);
	}
	if (!rc)
		rc = buf_printf(out, "--%s--\r\n", boundary);
	if (rc)
		out->len = mark;
	return rc;
}
