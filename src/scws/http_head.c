/* http_head.c - head framing, line and field-line splitting and the
 * Transfer-Encoding / Connection lists shared by the HTTP/1.1 request and
 * response parsers (RFC 9112 §2-§7, RFC 9110 §5.6). */
#include "config.h"

#include "scws/http_head.h"

#include <errno.h>
#include <string.h>

#include "scws/http.h"

void scws_http_head_reset(struct scws_http_head *h)
{
	h->len = 0;
	h->line_start = 0;
	h->has_line = false;
}

int scws_http_head_frame(struct scws_http_head *h, bool lead_empty_ok, const uint8_t *in,
			 size_t len, size_t *n)
{
	size_t i = 0;
	*n = 0;
	while (i < len) {
		const uint8_t *lf = memchr(in + i, '\n', len - i);
		size_t take = lf ? (size_t)(lf - (in + i)) + 1 : len - i;
		if (take > HTTP_HEAD_MAX - h->len) {
			*n = i;
			return -EMSGSIZE;
		}
		memcpy(h->buf + h->len, in + i, take);
		h->len += take;
		i += take;
		if (!lf)
			break;
		size_t line_len = h->len - h->line_start;
		bool empty = line_len == 1 || (line_len == 2 && h->buf[h->line_start] == '\r');
		h->line_start = h->len;
		if (!empty) {
			h->has_line = true;
		} else if (h->has_line) {
			*n = i;
			return 0;
		} else if (!lead_empty_ok) {
			*n = i;
			return -EPROTO;
		}
	}
	*n = i;
	return -EAGAIN;
}

const char *scws_http_head_line(const struct scws_http_head *h, size_t *pos, struct bytes *line)
{
	const uint8_t *s = h->buf + *pos;
	const uint8_t *lf = memchr(s, '\n', h->len - *pos);
	size_t n = (size_t)(lf - s);
	*pos += n + 1;
	if (n && s[n - 1] == '\r')
		n--;
	if (memchr(s, '\r', n))
		return "bare CR";
	if (memchr(s, 0, n))
		return "NUL";
	*line = bytes_make(s, n);
	return NULL;
}

const struct bytes *scws_http_header_find(const struct scws_http_header *h, size_t n,
					  const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (scws_http_bytes_eq_ci(h[i].name, name))
			return &h[i].value;
	return NULL;
}

bool scws_http_is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!scws_http_is_tchar((uint8_t)*s))
			return false;
	return true;
}

bool scws_http_is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

struct bytes scws_http_trim_ows(struct bytes v)
{
	while (v.len && scws_http_is_ows(v.ptr[0])) {
		v.ptr++;
		v.len--;
	}
	while (v.len && scws_http_is_ows(v.ptr[v.len - 1]))
		v.len--;
	return v;
}

bool scws_http_value_ok(struct bytes v)
{
	for (size_t k = 0; k < v.len; k++) {
		uint8_t c = v.ptr[k];
		if ((c < 0x20 && c != '\t') || c == 0x7F)
			return false;
	}
	return true;
}

const char *scws_http_printable(struct bytes v, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < v.len && n + 1 < cap; i++)
		out[n++] = (v.ptr[i] > 0x20 && v.ptr[i] < 0x7F) ? (char)v.ptr[i] : '?';
	out[n] = 0;
	return out;
}

const char *scws_http_field_split(struct bytes line, struct bytes *name, struct bytes *value)
{
	size_t i = 0;
	while (i < line.len && scws_http_is_tchar(line.ptr[i]))
		i++;
	if (i < line.len && scws_http_is_ows(line.ptr[i]))
		return "whitespace between header name and colon";
	if (i == line.len)
		return "header line without a colon";
	if (i == 0 || line.ptr[i] != ':')
		return "invalid character in header name";
	struct bytes v = bytes_make(line.ptr + i + 1, line.len - i - 1);
	if (!scws_http_value_ok(v))
		return "control character in header value";
	*name = bytes_make(line.ptr, i);
	*value = scws_http_trim_ows(v);
	return NULL;
}

void scws_http_for_each_element(struct bytes v, scws_http_element_fn *fn, void *arg)
{
	size_t start = 0;
	for (size_t i = 0; i <= v.len; i++) {
		if (i < v.len && v.ptr[i] != ',')
			continue;
		struct bytes e = scws_http_trim_ows(bytes_make(v.ptr + start, i - start));
		start = i + 1;
		if (e.len)
			fn(arg, e);
	}
}

static void te_element(void *arg, struct bytes e)
{
	struct scws_http_framing *f = arg;
	if (scws_http_bytes_eq_ci(e, "chunked")) {
		f->te_chunked++;
		f->te_chunked_last = true;
		return;
	}
	if (!f->te_unknown)
		scws_http_printable(e, f->te_bad, sizeof(f->te_bad));
	f->te_unknown = true;
	f->te_chunked_last = false;
}

static void connection_element(void *arg, struct bytes e)
{
	struct scws_http_framing *f = arg;
	if (scws_http_bytes_eq_ci(e, "close"))
		f->conn_close = true;
	else if (scws_http_bytes_eq_ci(e, "keep-alive"))
		f->conn_keep_alive = true;
}

bool scws_http_framing_field(struct scws_http_framing *f, struct bytes name, struct bytes value)
{
	if (scws_http_bytes_eq_ci(name, "Transfer-Encoding")) {
		f->has_te = true;
		scws_http_for_each_element(value, te_element, f);
		return true;
	}
	if (scws_http_bytes_eq_ci(name, "Connection")) {
		scws_http_for_each_element(value, connection_element, f);
		return true;
	}
	return false;
}
