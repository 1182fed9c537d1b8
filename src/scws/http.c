/* http.c - sans-I/O HTTP/1.1 request parser and response writer
 * (RFC 9112 message syntax, RFC 9110 semantics).
 *
 * Frame, then interpret (lighttpd): the head is copied until the empty line
 * that ends it, within HTTP_HEAD_MAX, and only then split into views
 * (picohttpparser). Bodies stream through the framer (framer.c). The
 * parser is strict where RFC 9112 §11.2 (request smuggling) asks for it:
 * no obs-fold, no whitespace before a colon, no bare CR, one Content-Length
 * value, never Content-Length together with Transfer-Encoding. */
#include "config.h"

#include "scws/http.h"

#include "core/strparse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {
	[SCWS_HTTP_ST_HEAD] = "HEAD",       [SCWS_HTTP_ST_BODY] = "BODY",
	[SCWS_HTTP_ST_CHUNKED] = "CHUNKED", [SCWS_HTTP_ST_DONE] = "DONE",
	[SCWS_HTTP_ST_ERROR] = "ERROR",
};

const char *scws_http_state_name(enum scws_http_state st)
{
	if ((size_t)st < sizeof(state_names) / sizeof(state_names[0]) && state_names[st])
		return state_names[st];
	return "?";
}

static const char *const method_names[] = {
	[SCWS_HTTP_OTHER] = "OTHER",     [SCWS_HTTP_GET] = "GET", [SCWS_HTTP_HEAD] = "HEAD",
	[SCWS_HTTP_POST] = "POST",       [SCWS_HTTP_PUT] = "PUT", [SCWS_HTTP_DELETE] = "DELETE",
	[SCWS_HTTP_OPTIONS] = "OPTIONS",
};

const char *scws_http_method_name(enum scws_http_method m)
{
	if ((size_t)m < sizeof(method_names) / sizeof(method_names[0]))
		return method_names[m];
	return "?";
}

/* ---------------------------------------------------------------- characters */

/* tchar (RFC 9110 §5.6.2). */
static bool is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool scws_http_is_tchar(uint8_t c)
{
	return is_tchar(c);
}

bool scws_http_bytes_eq_ci(struct bytes v, const char *s)
{
	return ascii_eq_ci(v, s);
}

const struct bytes *scws_http_req_header(const struct scws_http_req *req, const char *name)
{
	return scws_http_header_find(req->headers, req->num_headers, name);
}

/* ---------------------------------------------------------------- lifecycle */

static void start_request(struct scws_http_parser *p)
{
	memset(&p->req, 0, sizeof(p->req));
	p->st = SCWS_HTTP_ST_HEAD;
	scws_http_head_reset(&p->head);
	p->head_scan = 0;
	p->line_checked = false;
	p->skip_body = false;
	buf_reset(&p->body);
}

void scws_http_parser_init(struct scws_http_parser *p, const struct scws_http_callbacks *cb,
			   void *arg)
{
	memset(p, 0, sizeof(*p));
	if (cb)
		p->cb = *cb;
	p->arg = arg;
	buf_init(&p->body, HTTP_BODY_MAX);
	start_request(p);
}

void scws_http_parser_cleanup(struct scws_http_parser *p)
{
	buf_cleanup(&p->body);
}

struct scws_http_parser *scws_http_parser_new(const struct scws_http_callbacks *cb, void *arg)
{
	struct scws_http_parser *p = malloc(sizeof(*p));
	if (p)
		scws_http_parser_init(p, cb, arg);
	return p;
}

void scws_http_parser_free(struct scws_http_parser *p)
{
	if (!p)
		return;
	scws_http_parser_cleanup(p);
	free(p);
}

const struct scws_http_req *scws_http_parser_req(const struct scws_http_parser *p)
{
	return &p->req;
}

struct bytes scws_http_parser_body(const struct scws_http_parser *p)
{
	return bytes_make(p->body.p, p->body.len);
}

void scws_http_parser_skip_body(struct scws_http_parser *p)
{
	p->skip_body = true;
}

bool scws_http_parser_in_request(const struct scws_http_parser *p)
{
	if (p->st == SCWS_HTTP_ST_HEAD)
		return p->head.len > 0;
	return p->st != SCWS_HTTP_ST_DONE;
}

int scws_http_parser_status(const struct scws_http_parser *p)
{
	return p->e.status;
}

const char *scws_http_parser_reason(const struct scws_http_parser *p)
{
	return p->e.reason;
}

__attribute__((format(printf, 4, 5))) static int fail(struct scws_http_parser *p, int err,
						      int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err = perr_vset(&p->e, err, status, fmt, ap);
	va_end(ap);
	p->st = SCWS_HTTP_ST_ERROR;
	return err;
}

/* A callback said stop: it took the decision, so it knows the answer. */
static int fail_cb(struct scws_http_parser *p, int rc)
{
	return fail(p, rc, 500, "request handler failed (error %d)", rc);
}

/* ---------------------------------------------------------------- head parsing */

/* One line of the framed head, a bare CR or a NUL in it a 400. */
static int next_line(struct scws_http_parser *p, size_t *pos, struct bytes *line)
{
	const char *bad = scws_http_head_line(&p->head, pos, line);
	return bad ? fail(p, -EPROTO, 400, "%s in request head", bad) : 0;
}

static const struct {
	const char *name;
	enum scws_http_method m;
} known_methods[] = {
	{ "GET", SCWS_HTTP_GET }, { "HEAD", SCWS_HTTP_HEAD },     { "POST", SCWS_HTTP_POST },
	{ "PUT", SCWS_HTTP_PUT }, { "DELETE", SCWS_HTTP_DELETE }, { "OPTIONS", SCWS_HTTP_OPTIONS },
};

/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3),
 * single spaces: a lenient split would disagree with other parsers. */
static int parse_request_line(struct scws_http_parser *p, struct bytes line)
{
	struct scws_http_req *req = &p->req;
	size_t i = 0;
	while (i < line.len && is_tchar(line.ptr[i]))
		i++;
	if (i == 0 || i >= line.len || line.ptr[i] != ' ')
		return fail(p, -EPROTO, 400, "malformed request line (method)");
	req->method_name = bytes_make(line.ptr, i);
	req->method = SCWS_HTTP_OTHER;
	for (size_t k = 0; k < sizeof(known_methods) / sizeof(known_methods[0]); k++)
		if (bytes_eq(req->method_name, known_methods[k].name,
			     strlen(known_methods[k].name)))
			req->method = known_methods[k].m;

	size_t t = ++i;
	while (i < line.len && line.ptr[i] > 0x20 && line.ptr[i] < 0x7F)
		i++;
	if (i == t || i >= line.len || line.ptr[i] != ' ')
		return fail(p, -EPROTO, 400, "malformed request line (request-target)");
	req->target = bytes_make(line.ptr + t, i - t);

	struct bytes v = bytes_make(line.ptr + i + 1, line.len - i - 1);
	if (v.len != 8 || memcmp(v.ptr, "HTTP/", 5) != 0 || v.ptr[5] < '0' || v.ptr[5] > '9' ||
	    v.ptr[6] != '.' || v.ptr[7] < '0' || v.ptr[7] > '9')
		return fail(p, -EPROTO, 400, "malformed request line (HTTP version)");
	if (v.ptr[5] != '1')
		return fail(p, -EOPNOTSUPP, 505, "HTTP/%c.%c not supported, only HTTP/1.0 and 1.1",
			    v.ptr[5], v.ptr[7]);
	/* RFC 9110 §2.5: a higher minor version is handled as the highest we
	 * implement. */
	req->minor_version = v.ptr[7] == '0' ? 0 : 1;
	return 0;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
static int parse_header_line(struct scws_http_parser *p, struct bytes line)
{
	struct scws_http_req *req = &p->req;
	if (scws_http_is_ows(line.ptr[0]))
		return fail(p, -EPROTO, 400, "obsolete line folding in request head");
	struct bytes name, value;
	const char *bad = scws_http_field_split(line, &name, &value);
	if (bad)
		return fail(p, -EPROTO, 400, "%s", bad);
	if (req->num_headers == HTTP_HEADERS_MAX)
		return fail(p, -EMSGSIZE, 431, "more than %u header fields", HTTP_HEADERS_MAX);
	struct scws_http_header *h = &req->headers[req->num_headers++];
	h->name = name;
	h->value = value;
	return 0;
}

/* Per-request facts gathered from the headers before they are judged. */
struct head_facts {
	unsigned hosts;
	bool has_cl;
	struct scws_http_framing fr;
	bool expect_other;
	bool expect_continue;
};

static void expect_element(void *arg, struct bytes e)
{
	struct head_facts *f = arg;
	if (scws_http_bytes_eq_ci(e, "100-continue"))
		f->expect_continue = true;
	else
		f->expect_other = true;
}

/* Content-Length = 1*DIGIT (RFC 9110 §8.6). */
static int parse_content_length(struct scws_http_parser *p, struct bytes v, uint64_t *out)
{
	uint64_t n = 0;
	if (v.len == 0)
		return fail(p, -EPROTO, 400, "invalid Content-Length");
	for (size_t i = 0; i < v.len; i++) {
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return fail(p, -EPROTO, 400, "invalid Content-Length");
		unsigned d = (unsigned)(v.ptr[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return fail(p, -EPROTO, 400, "Content-Length overflow");
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

/* Judges the parsed headers: framing first (RFC 9112 §6.3), then what
 * cannot be served (501, 413, 417). */
static int interpret_head(struct scws_http_parser *p)
{
	struct scws_http_req *req = &p->req;
	struct head_facts f;
	memset(&f, 0, sizeof(f));
	int rc = 0;
	for (size_t i = 0; i < req->num_headers && rc == 0; i++) {
		struct bytes n = req->headers[i].name, v = req->headers[i].value;
		if (scws_http_bytes_eq_ci(n, "Host")) {
			if (++f.hosts > 1)
				rc = fail(p, -EPROTO, 400, "more than one Host header");
			req->host = v;
		} else if (scws_http_bytes_eq_ci(n, "Content-Length")) {
			uint64_t cl = 0;
			rc = parse_content_length(p, v, &cl);
			if (rc == 0 && f.has_cl && cl != req->content_length)
				rc = fail(p, -EPROTO, 400, "conflicting Content-Length headers");
			f.has_cl = true;
			req->content_length = cl;
		} else if (scws_http_framing_field(&f.fr, n, v)) {
			/* Transfer-Encoding, Connection: judged below */
		} else if (scws_http_bytes_eq_ci(n, "Expect")) {
			scws_http_for_each_element(v, expect_element, &f);
		} else if (scws_http_bytes_eq_ci(n, "Content-Type")) {
			if (req->has_content_type)
				rc = fail(p, -EPROTO, 400, "more than one Content-Type header");
			req->has_content_type = true;
			req->content_type = v;
		}
	}
	if (rc)
		return rc;

	if (req->minor_version == 1 && f.hosts == 0)
		return fail(p, -EPROTO, 400, "HTTP/1.1 request without a Host header");
	if (f.fr.has_te && f.has_cl)
		return fail(p, -EPROTO, 400, "Content-Length and Transfer-Encoding both present");
	if (f.fr.has_te && req->minor_version == 0)
		return fail(p, -EPROTO, 400, "Transfer-Encoding in an HTTP/1.0 request");
	if (f.fr.has_te && f.fr.te_unknown)
		return fail(p, -EOPNOTSUPP, 501, "transfer-coding \"%s\" not implemented",
			    f.fr.te_bad);
	if (f.fr.has_te && (f.fr.te_chunked != 1 || !f.fr.te_chunked_last))
		return fail(p, -EPROTO, 400, "Transfer-Encoding must end in one \"chunked\"");
	if (req->content_length > HTTP_BODY_MAX)
		return fail(p, -EMSGSIZE, 413, "request body of %llu bytes over %u bytes",
			    (unsigned long long)req->content_length, HTTP_BODY_MAX);
	if (f.expect_other)
		return fail(p, -EOPNOTSUPP, 417, "only \"Expect: 100-continue\" is supported");

	req->is_chunked = f.fr.has_te;
	req->has_body = req->is_chunked || req->content_length > 0;
	if (req->minor_version == 1)
		req->keep_alive = !f.fr.conn_close;
	else
		req->keep_alive = f.fr.conn_keep_alive && !f.fr.conn_close;
	/* RFC 9110 §10.1.1: ignore 100-continue from HTTP/1.0; no need for it
	 * when there is no content. */
	req->expect_continue = f.expect_continue && req->minor_version == 1 && req->has_body;
	return 0;
}

/* The request-line, after the empty lines RFC 9112 §2.2 lets a client send
 * before it; *pos then points past it. */
static int first_line(struct scws_http_parser *p, size_t *pos)
{
	struct bytes line;
	int rc;
	do {
		rc = next_line(p, pos, &line);
		if (rc)
			return rc;
	} while (line.len == 0);
	return parse_request_line(p, line);
}

static int parse_head(struct scws_http_parser *p)
{
	size_t pos = 0;
	struct bytes line;
	int rc = first_line(p, &pos);
	if (rc)
		return rc;
	for (;;) {
		rc = next_line(p, &pos, &line);
		if (rc)
			return rc;
		if (line.len == 0)
			break;
		rc = parse_header_line(p, line);
		if (rc)
			return rc;
	}
	return interpret_head(p);
}

/* What can be refused before the head is complete is refused at once, so a
 * client that will never end it (an HTTP/0.9 request-line, a head whose
 * lines end in bare CRs) is not held until a timeout: a CR followed by
 * anything but LF, and the request-line as soon as its LF came. */
static int check_early(struct scws_http_parser *p)
{
	const struct scws_http_head *h = &p->head;
	for (size_t k = p->head_scan; k + 1 < h->len; k++)
		if (h->buf[k] == '\r' && h->buf[k + 1] != '\n')
			return fail(p, -EPROTO, 400, "bare CR in request head");
	p->head_scan = h->len ? h->len - 1 : 0;
	if (!p->line_checked && h->has_line) {
		size_t pos = 0;
		p->line_checked = true;
		int rc = first_line(p, &pos);
		if (rc)
			return rc;
	}
	return -EAGAIN;
}

/* Frames the head (RFC 9112 §2.2: empty lines before the request-line are
 * skipped). 0 when it is complete, -EAGAIN, or 431. */
static int frame_head(struct scws_http_parser *p, const uint8_t *in, size_t len, size_t *n)
{
	int rc = scws_http_head_frame(&p->head, true, in, len, n);
	if (rc == -EMSGSIZE)
		return fail(p, rc, 431, "request head over %u bytes", HTTP_HEAD_MAX);
	if (rc != -EAGAIN)
		return rc;
	return check_early(p);
}

/* ---------------------------------------------------------------- body */

static int deliver(struct scws_http_parser *p, const uint8_t *data, size_t len)
{
	if (len == 0 || p->skip_body)
		return 0;
	if (p->cb.on_body) {
		int rc = p->cb.on_body(p->arg, data, len);
		return rc < 0 ? fail_cb(p, rc) : 0;
	}
	/* The body stays within HTTP_BODY_MAX by framing (Content-Length in
	 * interpret_head, chunk sizes in the decoder), so only allocation can
	 * fail here. */
	int rc = buf_append(&p->body, data, len);
	return rc ? fail(p, rc, 500, "cannot buffer the request body") : 0;
}

/* on_data of the framer. */
static int deliver_data(void *arg, const uint8_t *data, size_t len)
{
	return deliver(arg, data, len);
}

static void head_done(struct scws_http_parser *p)
{
	if (p->req.is_chunked) {
		p->st = SCWS_HTTP_ST_CHUNKED;
		scws_framer_chunked(&p->framer, HTTP_BODY_MAX, "request body");
	} else if (p->req.content_length > 0) {
		p->st = SCWS_HTTP_ST_BODY;
		scws_framer_length(&p->framer, p->req.content_length);
	} else {
		p->st = SCWS_HTTP_ST_DONE;
	}
}

/* frame_head, parse_head, head_done and on_head: scws_msg_ops.head. */
static int take_head(void *arg, const uint8_t *in, size_t len, size_t *n)
{
	struct scws_http_parser *p = arg;
	int rc = frame_head(p, in, len, n);
	if (rc == 0)
		rc = parse_head(p);
	if (rc)
		return rc;
	head_done(p);
	if (p->cb.on_head) {
		rc = p->cb.on_head(p->arg, &p->req);
		if (rc < 0)
			return fail_cb(p, rc);
	}
	return 0;
}

static enum scws_msg_phase phase(const void *arg)
{
	const struct scws_http_parser *p = arg;
	switch (p->st) {
	case SCWS_HTTP_ST_HEAD:
		return SCWS_MSG_HEAD;
	case SCWS_HTTP_ST_DONE:
		return SCWS_MSG_DONE;
	default: /* BODY, CHUNKED (ERROR never reaches the loop) */
		return SCWS_MSG_BODY;
	}
}

static int body_end(void *arg, int rc)
{
	struct scws_http_parser *p = arg;
	if (rc == 0) {
		p->st = SCWS_HTTP_ST_DONE;
		return 0;
	}
	if (p->st == SCWS_HTTP_ST_ERROR) /* an on_body stop: deliver() said why */
		return p->e.err;
	const struct perr *e = scws_framer_err(&p->framer);
	return fail(p, rc, e->status, "%s", e->reason);
}

static const struct scws_msg_ops request_ops = {
	.phase = phase,
	.head = take_head,
	.body_end = body_end,
	.on_data = deliver_data,
};

int scws_http_parser_feed(struct scws_http_parser *p, const uint8_t *in, size_t len, size_t *used)
{
	*used = 0;
	if (p->st == SCWS_HTTP_ST_ERROR)
		return p->e.err;
	if (p->st == SCWS_HTTP_ST_DONE)
		start_request(p);
	return scws_framer_drive(&p->framer, &request_ops, p, in, len, used);
}

/* ---------------------------------------------------------------- responses */

static const struct {
	int status;
	const char *phrase;
} phrases[] = {
	{ 100, "Continue" },
	{ 200, "OK" },
	{ 204, "No Content" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 304, "Not Modified" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 408, "Request Timeout" },
	{ 411, "Length Required" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 417, "Expectation Failed" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 503, "Service Unavailable" },
	{ 505, "HTTP Version Not Supported" },
};

const char *scws_http_status_phrase(int status)
{
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].status == status)
			return phrases[i].phrase;
	return "";
}

int scws_http_date(time_t t, char *out, size_t cap)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	if (cap < 30 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		return -EINVAL;
	/* Own name tables: strftime's %a and %b follow the locale. */
	snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
		 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

static bool is_field_value_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true;
}

void scws_http_response_init(struct scws_http_response *r, const struct scws_http_req *req,
			     int status)
{
	memset(r, 0, sizeof(*r));
	r->status = status;
	if (!req) {
		r->close = true;
		return;
	}
	r->is_head = req->method == SCWS_HTTP_HEAD;
	r->close = !req->keep_alive;
	r->keep_alive_10 = req->keep_alive && req->minor_version == 0;
}

static int put_field(struct buf *out, const char *name, const char *value)
{
	if (!scws_http_is_token(name) || !is_field_value_ok(value))
		return -EINVAL;
	return buf_printf(out, "%s: %s\r\n", name, value);
}

int scws_http_response_write(struct buf *out, const struct scws_http_response *r)
{
	size_t mark = out->len;
	int rc;
	if (r->status < 100 || r->status > 599 || (r->body_len && !r->body))
		return -EINVAL;
	time_t now = r->date ? r->date : time(NULL);
	char date[32];
	rc = scws_http_date(now, date, sizeof(date));
	if (rc)
		return rc;
	rc = buf_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: scwsemu/%s\r\n", r->status,
			scws_http_status_phrase(r->status), date, PACKAGE_VERSION);
	/* RFC 9110 §8.6: no Content-Length in 1xx and 204; a 304 would
	 * announce the selected representation, which we never send. */
	bool no_content = r->status < 200 || r->status == 204 || r->status == 304;
	if (!rc && !no_content)
		rc = buf_printf(out, "Content-Length: %zu\r\n", r->body_len);
	if (!rc && r->content_type)
		rc = put_field(out, "Content-Type", r->content_type);
	if (!rc && r->cache_control)
		rc = put_field(out, "Cache-Control", r->cache_control);
	if (!rc && r->allow)
		rc = put_field(out, "Allow", r->allow);
	for (size_t i = 0; !rc && i < r->num_extra; i++) {
		const struct scws_http_field *f = &r->extra[i];
		rc = (f->name && f->value) ? put_field(out, f->name, f->value) : -EINVAL;
	}
	if (!rc && r->close)
		rc = buf_append_str(out, "Connection: close\r\n");
	else if (!rc && r->keep_alive_10)
		rc = buf_append_str(out, "Connection: keep-alive\r\n");
	if (!rc)
		rc = buf_append(out, "\r\n", 2);
	if (!rc && !r->is_head && !no_content)
		rc = buf_append(out, r->body, r->body_len);
	if (rc)
		out->len = mark;
	return rc;
}

int scws_http_response_error(struct buf *out, const struct scws_http_req *req, int status,
			     const char *reason, bool keep)
{
	struct scws_http_response r;
	scws_http_response_init(&r, req, status);
	if (!keep) {
		r.close = true;
		r.keep_alive_10 = false;
	}
	char body[256];
	if (!reason)
		reason = scws_http_status_phrase(status);
	int n = snprintf(body, sizeof(body), "%s\n", reason);
	if (n < 0)
		return -EINVAL;
	r.content_type = "text/plain; charset=utf-8";
	r.cache_control = "no-store";
	r.body = body;
	r.body_len = (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1;
	return scws_http_response_write(out, &r);
}
