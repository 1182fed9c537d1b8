/* bootstrap.c - SCWS router, DM bootstrap endpoint and index page (OMA DM
 * Bootstrap via SCWS; multipart/form-data RFC 7578; base64 RFC 4648;
 * content negotiation RFC 9110 §12.5.1). Decisions: see bootstrap.h. */
#include "config.h"

#include "scws/bootstrap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "card/card.h"
#include "codec/wbxml.h"
#include "config/profile.h"
#include "core/hex.h"
#include "core/log.h"
#include "scws/server.h"
#include "scws/throttle.h"

static const char *const field_names[SCWS_BOOTSTRAP_F_COUNT] = {
	[SCWS_BOOTSTRAP_F_DEVID] = "devid",
	[SCWS_BOOTSTRAP_F_USERNAME] = "username",
	[SCWS_BOOTSTRAP_F_PASSPHRASE] = "passphrase",
	[SCWS_BOOTSTRAP_F_PUSH_ADDRESS] = "push-address",
};

/* The marker in an index page that the served URLs replace. */
#define INDEX_URLS_MARK "<!--scwsemu:urls-->"

static const char builtin_index[] =
	"<!DOCTYPE html>\n"
	"<html><head><meta charset=\"utf-8\"><title>Smart Card Web Server</title></head>\n"
	"<body><h1>Smart Card Web Server</h1>\n"
	"<p>This card (scwsemu) serves its OMA DM bootstrap over HTTPS only, "
	"at:</p>\n" INDEX_URLS_MARK "\n"
	"</body></html>\n";

/* Peer bytes for a log line or an error body: printable ASCII ('?' for
 * anything else), cut with "..." to fit cap (cap >= 4). */
static const char *printable(const uint8_t *s, size_t len, char *out, size_t cap)
{
	size_t n = 0, i;
	for (i = 0; i < len && n + 1 < cap; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7F) ? (char)s[i] : '?';
	if (i < len)
		memcpy(out + n - 3, "...", 3);
	out[n] = 0;
	return out;
}

/* Appends ",name" (or "name") to a comma list, "..." once it is full. */
static void list_add(char *list, size_t cap, const char *name)
{
	size_t n = strlen(list);
	if (n >= 3 && strcmp(list + n - 3, "...") == 0)
		return;
	size_t need = strlen(name) + (n ? 1 : 0);
	if (n + need + 1 <= cap - 4) {
		snprintf(list + n, cap - n, "%s%s", n ? "," : "", name);
		return;
	}
	snprintf(list + n, cap - n, "%s...", n ? "," : "");
}

void scws_bootstrap_req_init(struct scws_bootstrap_req *r)
{
	memset(r, 0, sizeof(*r));
	r->cur = -1;
	r->part = -1;
}

void scws_bootstrap_req_cleanup(struct scws_bootstrap_req *r)
{
	OPENSSL_cleanse(r->f, sizeof(r->f));
	scws_multipart_cleanup(&r->mp);
}

/* ---------------------------------------------------------------- routing */

/* The path of a request-target (RFC 9112 §3.2): origin-form up to '?';
 * absolute-form reduced to its path ("/" when it has none). */
static struct bytes target_path(struct bytes t)
{
	const uint8_t *p = t.ptr;
	size_t len = t.len;
	if (len && p[0] != '/') {
		const uint8_t *sep = len >= 3 ? memchr(p, ':', len) : NULL;
		if (sep && (size_t)(sep - p) + 3 <= len && sep[1] == '/' && sep[2] == '/') {
			size_t off = (size_t)(sep - p) + 3;
			const uint8_t *slash = memchr(p + off, '/', len - off);
			const uint8_t *q = memchr(p + off, '?', len - off);
			if (!slash || (q && q < slash))
				return bytes_make("/", 1);
			len -= (size_t)(slash - p);
			p = slash;
		}
	}
	const uint8_t *q = len ? memchr(p, '?', len) : NULL;
	if (q)
		len = (size_t)(q - p);
	return bytes_make(p, len);
}

static bool is_unreserved(uint8_t c)
{
	/* RFC 3986 §2.3. */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* The path as routing compares it (RFC 3986 §6.2.2.2): %XX of an
 * unreserved character decoded, every other %XX kept as sent (upper-case
 * hex). Refused, with why: a malformed %, an encoded '/' (%2F: it would
 * change the segments), a NUL (%00), a ".." segment (RFC 3986 §5.2.4:
 * never above the root here). out holds at least in.len + 1 bytes. */
static int normalize_path(struct bytes in, char *out, size_t *out_len, const char **why)
{
	size_t n = 0;
	for (size_t i = 0; i < in.len; i++) {
		uint8_t c = in.ptr[i];
		if (c == '\0') {
			*why = "a NUL byte in the path";
			return -EINVAL;
		}
		if (c != '%') {
			out[n++] = (char)c;
			continue;
		}
		int hi = i + 2 < in.len ? hex_digit(in.ptr[i + 1]) : -1;
		int lo = i + 2 < in.len ? hex_digit(in.ptr[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			*why = "a '%' not followed by two hex digits in the path";
			return -EINVAL;
		}
		uint8_t d = (uint8_t)(hi << 4 | lo);
		i += 2;
		if (d == '/') {
			*why = "an encoded '/' (%2F) in the path";
			return -EINVAL;
		}
		if (d == '\0') {
			*why = "an encoded NUL (%00) in the path";
			return -EINVAL;
		}
		if (is_unreserved(d)) {
			out[n++] = (char)d;
		} else {
			static const char hex[] = "0123456789ABCDEF";
			out[n++] = '%';
			out[n++] = hex[d >> 4];
			out[n++] = hex[d & 15];
		}
	}
	out[n] = '\0';
	*out_len = n;
	/* A ".." segment: between slashes, or at the end. */
	for (size_t i = 0; i + 1 < n; i++) {
		if (out[i] == '.' && out[i + 1] == '.' && (i == 0 || out[i - 1] == '/') &&
		    (i + 2 == n || out[i + 2] == '/')) {
			*why = "a '..' segment in the path";
			return -EINVAL;
		}
	}
	return 0;
}

__attribute__((format(printf, 4, 5))) static enum scws_bootstrap_next decide(
	struct scws_bootstrap_req *r, int status, const char *allow, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	perr_vset(&r->decided, -EPROTO, status, fmt, ap);
	va_end(ap);
	r->allow = allow;
	return SCWS_BOOTSTRAP_DECIDED;
}

static bool is_get_or_head(const struct scws_http_req *req)
{
	return req->method == SCWS_HTTP_GET || req->method == SCWS_HTTP_HEAD;
}

static int part_begin(void *arg, const struct scws_multipart_part *part);
static int part_data(void *arg, const struct scws_multipart_part *part, const uint8_t *data,
		     size_t len);

enum scws_bootstrap_next scws_bootstrap_head(struct scws_bootstrap_req *r,
					     const struct scws_http_req *req, bool https)
{
	return scws_bootstrap_head_at(r, req, https, SCWS_BOOTSTRAP_PATH);
}

enum scws_bootstrap_next scws_bootstrap_head_at(struct scws_bootstrap_req *r,
						const struct scws_http_req *req, bool https,
						const char *bootstrap_path)
{
	static const struct scws_multipart_callbacks cb = {
		.on_part_begin = part_begin,
		.on_part_data = part_data,
	};
	char method[32], norm[HTTP_HEAD_MAX + 1];
	const char *why = NULL;
	size_t norm_len = 0;
	scws_bootstrap_req_init(r);
	struct bytes raw = target_path(req->target);
	printable(raw.ptr, raw.len, r->path, sizeof(r->path));
	printable(req->method_name.ptr, req->method_name.len, method, sizeof(method));
	r->has_query = req->target.len && memchr(req->target.ptr, '?', req->target.len);
	if (raw.len > HTTP_HEAD_MAX || normalize_path(raw, norm, &norm_len, &why))
		return decide(r, 400, NULL, "%s: %s", why ? why : "path too long", r->path);
	struct bytes path = bytes_make(norm, norm_len);

	if (bytes_eq(path, bootstrap_path, strlen(bootstrap_path))) {
		r->route = SCWS_BOOTSTRAP_ROUTE_BOOTSTRAP;
		/* The bootstrap carries the DM account's credentials. */
		if (!https)
			return decide(r, 403, NULL,
				      "the bootstrap is served over HTTPS only "
				      "(port 4116 or localuicc:443)");
		if (!is_get_or_head(req) && req->method != SCWS_HTTP_POST)
			return decide(r, 405, "GET, HEAD, POST",
				      "method %s is not allowed on %s: use GET, HEAD or POST",
				      method, bootstrap_path);
		if (req->method != SCWS_HTTP_POST)
			return SCWS_BOOTSTRAP_DECIDED;
		if (scws_multipart_init(&r->mp, req->content_type, &cb, r) != 0) {
			int st = scws_multipart_status(&r->mp);
			return decide(r, st ? st : 400, NULL, "%s", scws_multipart_reason(&r->mp));
		}
		r->is_form = true;
		return SCWS_BOOTSTRAP_READ_BODY;
	}
	if (bytes_eq(path, "/", 1) || bytes_eq(path, "/index.html", 11)) {
		r->route = SCWS_BOOTSTRAP_ROUTE_INDEX;
		if (!is_get_or_head(req))
			return decide(r, 405, "GET, HEAD",
				      "method %s is not allowed on %s: use GET or HEAD", method,
				      r->path);
		return SCWS_BOOTSTRAP_DECIDED;
	}
	return decide(r, 404, NULL, "no such resource on this card: %s", r->path);
}

/* ---------------------------------------------------------------- the form */

__attribute__((format(printf, 2, 3))) static int form_fail(struct scws_bootstrap_req *r,
							   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	perr_vset(&r->form, -EPROTO, 400, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

static int part_begin(void *arg, const struct scws_multipart_part *part)
{
	struct scws_bootstrap_req *r = arg;
	r->cur = -1;
	r->part = -1;
	if (r->n_parts < MULTIPART_PARTS_MAX) {
		r->part = (int)r->n_parts++;
		printable(part->name.ptr, part->name.len, r->parts[r->part].name,
			  sizeof(r->parts[r->part].name));
		printable(part->content_type.ptr, part->content_type.len,
			  r->parts[r->part].content_type, sizeof(r->parts[r->part].content_type));
		r->parts[r->part].size = 0;
	}
	for (int i = 0; i < SCWS_BOOTSTRAP_F_COUNT; i++) {
		if (!bytes_eq(part->name, field_names[i], strlen(field_names[i])))
			continue;
		if (r->f[i].seen)
			return form_fail(r, "field '%s' sent more than once", field_names[i]);
		r->f[i].seen = true;
		r->cur = i;
		return 0;
	}
	char name[40];
	if (part->name.len == 0)
		list_add(r->ignored, sizeof(r->ignored), "\"\"");
	else
		list_add(r->ignored, sizeof(r->ignored),
			 printable(part->name.ptr, part->name.len, name, sizeof(name)));
	return 0;
}

static int part_data(void *arg, const struct scws_multipart_part *part, const uint8_t *data,
		     size_t len)
{
	struct scws_bootstrap_req *r = arg;
	if (r->part >= 0)
		r->parts[r->part].size += len;
	if (r->cur < 0)
		return 0;
	struct scws_bootstrap_field *f = &r->f[r->cur];
	if (len > SCWS_FIELD_MAX - f->len)
		return form_fail(r, "field %s longer than %u bytes", field_names[r->cur],
				 SCWS_FIELD_MAX);
	memcpy(f->v + f->len, data, len);
	f->len += len;
	f->v[f->len] = 0;
	return 0;
}

void scws_bootstrap_body(struct scws_bootstrap_req *r, const uint8_t *data, size_t len)
{
	if (!r->is_form || r->form.set || !len)
		return;
	size_t used;
	int rc = scws_multipart_feed(&r->mp, data, len, &used);
	if (rc == 0 || rc == -EAGAIN)
		return;
	form_fail(r, "%s", scws_multipart_reason(&r->mp)); /* unless a field said why first */
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* RFC 3986 §3.1 scheme, then ':' and a non-empty rest without spaces or
 * controls. */
static bool scheme_colon_rest(const uint8_t *s, size_t len)
{
	size_t i = 0;
	if (!len || !is_alpha(s[0]))
		return false;
	for (i = 1; i < len && s[i] != ':'; i++)
		if (!is_alpha(s[i]) && !(s[i] >= '0' && s[i] <= '9') && s[i] != '+' &&
		    s[i] != '-' && s[i] != '.')
			return false;
	if (i + 1 >= len)
		return false;
	for (i++; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7F)
			return false;
	return true;
}

bool scws_bootstrap_devid_ok(const uint8_t *s, size_t len)
{
	return scheme_colon_rest(s, len);
}

bool scws_bootstrap_uri_ok(const uint8_t *s, size_t len)
{
	return scheme_colon_rest(s, len);
}

static int b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int scws_bootstrap_base64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
				 size_t *out_len)
{
	size_t n = 0;
	*out_len = 0;
	if (len % 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			uint8_t c = in[i + k];
			if (c == '=' && last && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)
				return -EINVAL; /* data after '=' */
			v[k] = b64_value(c);
			if (v[k] < 0)
				return -EINVAL;
		}
		/* RFC 4648 §3.5: the bits after the last byte must be zero,
		 * else two encodings decode alike. */
		if ((pad == 2 && (v[1] & 0x0F)) || (pad == 1 && (v[2] & 0x03)))
			return -EINVAL;
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		size_t bytes = 3u - (size_t)pad;
		if (cap - n < bytes)
			return -EMSGSIZE;
		out[n++] = (uint8_t)(w >> 16);
		if (bytes > 1)
			out[n++] = (uint8_t)(w >> 8);
		if (bytes > 2)
			out[n++] = (uint8_t)w;
	}
	*out_len = n;
	return 0;
}

const char *scws_bootstrap_base64_problem(const uint8_t *in, size_t len, char *why, size_t cap)
{
	size_t pads = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '=') {
			pads++;
			continue;
		}
		if (b64_value(in[i]) < 0) {
			snprintf(why, cap,
				 "character %zu is outside the base64 alphabet "
				 "(RFC 4648 §4)",
				 i + 1);
			return why;
		}
		if (pads) {
			snprintf(why, cap, "data after the padding '='");
			return why;
		}
	}
	if (len % 4) {
		snprintf(why, cap,
			 "not padded: %zu characters, not a multiple of 4 "
			 "(RFC 4648 §3.2)",
			 len);
		return why;
	}
	if (pads > 2) {
		snprintf(why, cap, "%zu padding characters", pads);
		return why;
	}
	if (len) {
		int v1 = b64_value(in[len - 3]), v2 = pads == 1 ? b64_value(in[len - 2]) : 0;
		if ((pads == 2 && v1 >= 0 && (v1 & 0x0F)) ||
		    (pads == 1 && v2 >= 0 && (v2 & 0x03))) {
			snprintf(why, cap,
				 "non-zero bits after the last byte: not the canonical "
				 "encoding (RFC 4648 §3.5)");
			return why;
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- responses */

struct answer {
	struct buf *out;
	const struct scws_http_req *req;
	bool close;
	struct scws_bootstrap_result *res;
};

static int send_response(struct answer *a, int status, const char *ctype, const char *allow,
			 bool no_store, bool vary, const void *body, size_t len)
{
	static const struct scws_http_field vary_accept = { "Vary", "Accept" };
	struct scws_http_response r;
	scws_http_response_init(&r, a->req, status);
	if (a->close) {
		r.close = true;
		r.keep_alive_10 = false;
	}
	r.content_type = ctype;
	r.cache_control = no_store ? "no-store" : NULL;
	r.allow = allow;
	if (vary) {
		r.extra = &vary_accept;
		r.num_extra = 1;
	}
	r.body = body;
	r.body_len = len;
	a->res->status = status;
	a->res->body_len = r.is_head ? 0 : len;
	a->res->close = r.close;
	return scws_http_response_write(a->out, &r);
}

/* 429 with Retry-After (RFC 6585 §4, RFC 9110 §10.2.3) in whole seconds. */
static int send_429(struct answer *a, uint64_t wait_ms, const char *who)
{
	char secs[24], body[sizeof(a->res->reason) + 1];
	snprintf(secs, sizeof(secs), "%llu", (unsigned long long)((wait_ms + 999) / 1000));
	struct scws_http_field retry = { "Retry-After", secs };
	snprintf(a->res->reason, sizeof(a->res->reason),
		 "too many failed credential attempts %s: retry after %s s", who, secs);
	int n = snprintf(body, sizeof(body), "%s\n", a->res->reason);
	struct scws_http_response r;
	scws_http_response_init(&r, a->req, 429);
	if (a->close) {
		r.close = true;
		r.keep_alive_10 = false;
	}
	r.content_type = "text/plain; charset=utf-8";
	r.cache_control = "no-store";
	r.extra = &retry;
	r.num_extra = 1;
	r.body = body;
	r.body_len = (size_t)n;
	a->res->status = 429;
	a->res->retry_after_s = (unsigned)((wait_ms + 999) / 1000);
	a->res->body_len = r.is_head ? 0 : (size_t)n;
	a->res->close = r.close;
	return scws_http_response_write(a->out, &r);
}

/* The peer's address without its port ("channel 3" as it is). */
static void peer_key(const char *peer, char *out, size_t cap)
{
	size_t n = strlen(peer);
	const char *colon = strrchr(peer, ':');
	if (peer[0] == '[') {
		const char *close = strchr(peer, ']');
		n = close ? (size_t)(close - peer + 1) : n;
	} else if (colon && strchr(peer, ':') == colon) {
		n = (size_t)(colon - peer);
	}
	snprintf(out, cap, "peer %.*s", (int)n, peer);
}

/* A credential attempt that failed: counted for the peer and the devid;
 * the failure that blocks one is logged, once per window. */
static void credential_failed(struct scws_bootstrap_req *r, struct scws_throttle *t, const char *pk,
			      const char *dk)
{
	unsigned limit_hit = 0;
	if (r->peer && scws_throttle_fail(t, pk, r->now_ms))
		limit_hit |= 1;
	if (scws_throttle_fail(t, dk, r->now_ms))
		limit_hit |= 2;
	if (limit_hit)
		log_warn("scws",
			 "failed credential attempts: %s%s%s at the limit "
			 "(--auth-fail-limit): answered 429 until its window is over",
			 limit_hit & 1 ? pk : "", limit_hit == 3 ? " and " : "",
			 limit_hit & 2 ? dk : "");
}

/* A one-line text/plain error body (doc/design.md §5: the body says which rule refused). */
__attribute__((format(printf, 4, 5))) static int send_error(struct answer *a, int status,
							    const char *allow, const char *fmt, ...)
{
	char body[sizeof(a->res->reason) + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->res->reason, sizeof(a->res->reason), fmt, ap);
	va_end(ap);
	int n = snprintf(body, sizeof(body), "%s\n", a->res->reason);
	return send_response(a, status, "text/plain; charset=utf-8", allow, true, false, body,
			     (size_t)n);
}

/* The URLs the daemon serves this card at, as an HTML list (the
 * transports' real ports, after --port-map); the bootstrap path alone
 * when the daemon has said nothing (unit tests, scwsemu-card). */
static int put_urls(struct buf *b, const struct scws_server *srv)
{
	const char *const *urls = NULL;
	size_t n = srv ? scws_server_urls(srv, &urls) : 0;
	int rc = buf_append_str(b, "<ul>\n");
	for (size_t i = 0; i < n && !rc; i++)
		rc = buf_printf(b, "<li><a href=\"%s\">%s</a></li>\n", urls[i], urls[i]);
	if (!n && !rc)
		rc = buf_append_str(b, "<li><a href=\"" SCWS_BOOTSTRAP_PATH
				       "\">" SCWS_BOOTSTRAP_PATH "</a></li>\n");
	return rc ? rc : buf_append_str(b, "</ul>\n");
}

static int answer_index(struct answer *a, const struct profile *p, const struct scws_server *srv)
{
	const char *page = builtin_index;
	size_t len = sizeof(builtin_index) - 1;
	if (p && p->index_html) {
		page = (const char *)p->index_html;
		len = p->index_html_len;
	}
	/* The page up to the marker, the list, the rest; a page without the
	 * marker is served as it is. */
	const char *mark = memmem(page, len, INDEX_URLS_MARK, strlen(INDEX_URLS_MARK));
	if (!mark)
		return send_response(a, 200, "text/html; charset=utf-8", NULL, false, false, page,
				     len);
	struct buf b;
	buf_init(&b, len + 64 * 1024);
	size_t head = (size_t)(mark - page), skip = head + strlen(INDEX_URLS_MARK);
	int rc = buf_append(&b, page, head);
	rc = rc ? rc : put_urls(&b, srv);
	rc = rc ? rc : buf_append(&b, page + skip, len - skip);
	if (!rc)
		rc = send_response(a, 200, "text/html; charset=utf-8", NULL, false, false, b.p,
				   b.len);
	buf_cleanup(&b);
	return rc;
}

/* q in thousandths (RFC 9110 §12.4.2): "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"].
 * -1 when malformed. */
static int parse_q(struct bytes v)
{
	if (v.len == 0 || (v.ptr[0] != '0' && v.ptr[0] != '1'))
		return -1;
	int q = (v.ptr[0] - '0') * 1000;
	if (v.len == 1)
		return q;
	if (v.ptr[1] != '.' || v.len > 5)
		return -1;
	int scale = 100;
	for (size_t i = 2; i < v.len; i++, scale /= 10) {
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return -1;
		q += (v.ptr[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

static struct bytes trim(struct bytes b)
{
	while (b.len && (b.ptr[0] == ' ' || b.ptr[0] == '\t')) {
		b.ptr++;
		b.len--;
	}
	while (b.len && (b.ptr[b.len - 1] == ' ' || b.ptr[b.len - 1] == '\t'))
		b.len--;
	return b;
}

/* Next piece of s up to sep (consumed); false at the end. */
static bool next_piece(struct bytes *s, uint8_t sep, struct bytes *piece)
{
	if (!s->ptr)
		return false;
	const uint8_t *e = s->len ? memchr(s->ptr, sep, s->len) : NULL;
	if (!e) {
		*piece = *s;
		s->ptr = NULL;
		s->len = 0;
		return true;
	}
	*piece = bytes_make(s->ptr, (size_t)(e - s->ptr));
	s->len -= (size_t)(e - s->ptr) + 1;
	s->ptr = e + 1;
	return true;
}

/* One Accept element: its match rank for `type` (3 exact, 2 type/STAR,
 * 1 STAR/STAR, 0 none) and its q. False when malformed. */
static bool accept_element(struct bytes el, const char *type, int *rank, int *q)
{
	struct bytes range, param;
	next_piece(&el, ';', &range);
	range = trim(range);
	const uint8_t *slash = range.len ? memchr(range.ptr, '/', range.len) : NULL;
	if (!slash || slash == range.ptr || slash == range.ptr + range.len - 1)
		return false;
	*q = 1000;
	while (next_piece(&el, ';', &param)) {
		param = trim(param);
		if (param.len >= 2 && (param.ptr[0] == 'q' || param.ptr[0] == 'Q') &&
		    param.ptr[1] == '=') {
			*q = parse_q(bytes_make(param.ptr + 2, param.len - 2));
			if (*q < 0)
				return false;
			break; /* what follows q are accept-ext parameters */
		}
	}
	const char *tslash = strchr(type, '/');
	size_t tlen = (size_t)(tslash - type);
	size_t rlen = (size_t)(slash - range.ptr);
	struct bytes sub = bytes_make(slash + 1, range.len - rlen - 1);
	if (rlen == 1 && range.ptr[0] == '*')
		*rank = bytes_eq(sub, "*", 1) ? 1 : 0;
	else if (rlen != tlen || strncasecmp((const char *)range.ptr, type, tlen) != 0)
		*rank = 0;
	else if (bytes_eq(sub, "*", 1))
		*rank = 2;
	else
		*rank = scws_http_bytes_eq_ci(sub, tslash + 1) ? 3 : 0;
	return true;
}

/* q of `type` under every Accept field: the most specific range that
 * matches it wins (RFC 9110 §12.5.1); -1 when none does. *valid tells
 * whether any element parsed at all. */
static int accept_q(const struct scws_http_req *req, const char *type, bool *valid)
{
	int best_rank = 0, best_q = -1;
	for (size_t i = 0; i < req->num_headers; i++) {
		if (!scws_http_bytes_eq_ci(req->headers[i].name, "Accept"))
			continue;
		struct bytes v = req->headers[i].value, el;
		while (next_piece(&v, ',', &el)) {
			int rank, q;
			if (!trim(el).len || !accept_element(el, type, &rank, &q))
				continue;
			*valid = true;
			if (rank > best_rank) {
				best_rank = rank;
				best_q = q;
			}
		}
	}
	return best_q;
}

/* The bootstrap as stored, or converted when the client wants the other
 * form (see bootstrap.h). */
static int answer_bootstrap(struct scws_bootstrap_req *r, struct scws_server *srv,
			    const struct profile *p, struct answer *a)
{
	bool stored_wbxml = scws_server_stores_wbxml(srv);
	const char *stored = stored_wbxml ? SCWS_BOOTSTRAP_TYPE_WBXML : SCWS_BOOTSTRAP_TYPE_XML;
	const char *other = stored_wbxml ? SCWS_BOOTSTRAP_TYPE_XML : SCWS_BOOTSTRAP_TYPE_WBXML;
	struct buf boot, conv;
	char err[256] = "";
	int rc;

	buf_init(&boot, CARD_EF_SIZE_MAX);
	buf_init(&conv, SCWS_CONVERT_MAX);
	if (!scws_server_bootstrap_enabled(srv)) {
		/* `bootstrap off` on the control socket: as a card whose
		 * bootstrap is not (yet) there; the files are untouched. */
		snprintf(r->detail, sizeof(r->detail), "bootstrap off (control)");
		rc = send_error(a, 404, NULL, "not available");
		goto out;
	}
	rc = scws_server_read_bootstrap(srv, &boot, err, sizeof(err));
	if (rc) {
		if (rc != -ENOENT) {
			struct log_kv kv[] = { { "card", p->name, false },
					       { "reason", err, false } };
			log_kv(LOG_WARN, "scws", "bootstrap walk failed, answering 404", kv, 2);
		}
		snprintf(r->detail, sizeof(r->detail), "%s", err[0] ? err : strerror(-rc));
		rc = send_error(a, 404, NULL, "no bootstrap available");
		goto out;
	}

	bool valid = false;
	int q_stored = accept_q(a->req, stored, &valid);
	int q_other = accept_q(a->req, other, &valid);
	const char *type = stored;
	const struct buf *body = &boot;
	if (valid && q_stored <= 0 && q_other <= 0) {
		const struct bytes *acc = scws_http_req_header(a->req, "Accept");
		char shown[96];
		printable(acc->ptr, acc->len, shown, sizeof(shown));
		rc = send_error(a, 406, NULL,
				"the bootstrap is %s or %s, neither is acceptable "
				"(Accept: %s)",
				stored, other, shown);
		goto out;
	}
	if (valid && q_other > q_stored) {
		rc = stored_wbxml ? codec_wbxml_decode(boot.p, boot.len, &conv, err, sizeof(err))
				  : codec_wbxml_encode(boot.p, boot.len, &conv, err, sizeof(err));
		if (rc) {
			struct log_kv kv[] = { { "card", p->name, false },
					       { "reason", err, false } };
			log_kv(LOG_WARN, "scws", "the bootstrap does not convert", kv, 2);
			rc = send_error(a, 500, NULL, "the bootstrap does not convert to %s",
					other);
			goto out;
		}
		type = other;
		body = &conv;
	}
	if (r->fault_body == SCWS_FAULT_BODY_WRONG_TYPE) {
		type = "text/html; charset=utf-8";
		snprintf(r->detail, sizeof(r->detail), "fault injected: http-body wrong-type");
	} else if (r->fault_body == SCWS_FAULT_BODY_WBXML_GARBAGE) {
		/* WBXML 1.3, public id unknown, UTF-8, no string table, then
		 * SyncML with content and an OPAQUE whose length runs past the
		 * end: no decoder gets through it. */
		static const uint8_t garbage[] = { 0x03, 0x01, 0x6A, 0x00, 0x6D, 0x6C,
						   0xC3, 0x7F, 0xFF, 0x00, 0xFF, 0x01 };
		snprintf(r->detail, sizeof(r->detail), "fault injected: http-body wbxml-garbage");
		rc = send_response(a, 200, SCWS_BOOTSTRAP_TYPE_WBXML, NULL, true, true, garbage,
				   sizeof(garbage));
		goto out;
	}
	rc = send_response(a, 200, type, NULL, true, true, body->p, body->len);
out:
	buf_cleanup(&boot);
	buf_cleanup(&conv);
	return rc;
}

static int answer_get(struct scws_bootstrap_req *r, struct scws_server *srv,
		      const struct profile *p, struct answer *a)
{
	if (p->credentials_required)
		return send_error(a, 403, NULL,
				  "this card requires username and passphrase: "
				  "POST them as multipart/form-data");
	if (p->devid_allow)
		return send_error(a, 404, NULL,
				  "this card serves listed devids only and a GET "
				  "carries no devid: POST devid as multipart/form-data");
	return answer_bootstrap(r, srv, p, a);
}

/* scheme case-insensitive, value byte for byte (see bootstrap.h). */
static bool devid_allowed(const struct profile *p, const struct scws_bootstrap_field *f)
{
	const uint8_t *colon = memchr(f->v, ':', f->len);
	size_t slen = (size_t)(colon - f->v);
	for (size_t i = 0; i < p->n_devid_allow; i++) {
		const char *d = p->devid_allow[i];
		const char *dc = strchr(d, ':');
		if (!dc || (size_t)(dc - d) != slen ||
		    strncasecmp(d, (const char *)f->v, slen) != 0)
			continue;
		if (strlen(dc) == f->len - slen && memcmp(dc, colon, f->len - slen) == 0)
			return true;
	}
	return false;
}

/* Both fields compared over a fixed width, whatever their lengths, and
 * without an exit between them: the time taken says nothing about which
 * one was wrong or how much of it matched. */
static bool credentials_match(const struct profile *p, const struct scws_bootstrap_field *user,
			      const uint8_t *pass, size_t pass_len)
{
	uint8_t a[SCWS_FIELD_MAX], b[SCWS_FIELD_MAX];
	const char *pu = p->username ? p->username : "";
	const char *pp = p->passphrase ? p->passphrase : "";
	size_t pul = strlen(pu), ppl = strlen(pp);
	unsigned diff = 0;

	if (user->len > sizeof(a) || pass_len > sizeof(a) || pul > sizeof(b) || ppl > sizeof(b))
		return false;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memcpy(a, user->v, user->len);
	memcpy(b, pu, pul);
	diff |= (unsigned)CRYPTO_memcmp(a, b, sizeof(a));
	diff |= (unsigned)(user->len != pul);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memcpy(a, pass, pass_len);
	memcpy(b, pp, ppl);
	diff |= (unsigned)CRYPTO_memcmp(a, b, sizeof(a));
	diff |= (unsigned)(pass_len != ppl);
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	return diff == 0;
}

/* The first thing wrong with the form, in the order of bootstrap.h, into
 * msg; false when it is well formed. The decoded passphrase goes to
 * secret. */
static bool form_problem(struct scws_bootstrap_req *r, uint8_t *secret, size_t cap,
			 size_t *secret_len, char *msg, size_t msgcap)
{
	const struct scws_bootstrap_field *devid = &r->f[SCWS_BOOTSTRAP_F_DEVID];
	const struct scws_bootstrap_field *user = &r->f[SCWS_BOOTSTRAP_F_USERNAME];
	const struct scws_bootstrap_field *pass = &r->f[SCWS_BOOTSTRAP_F_PASSPHRASE];
	const struct scws_bootstrap_field *push = &r->f[SCWS_BOOTSTRAP_F_PUSH_ADDRESS];
	char shown[64];

	if (r->form.set)
		snprintf(msg, msgcap, "%s", r->form.reason);
	else if (!devid->seen)
		snprintf(msg, msgcap, "devid missing");
	else if (devid->len == 0)
		snprintf(msg, msgcap, "devid empty");
	else if (!scws_bootstrap_devid_ok(devid->v, devid->len))
		snprintf(msg, msgcap,
			 "devid '%s' is not of the form scheme:value, "
			 "e.g. IMEI:493005100592800",
			 printable(devid->v, devid->len, shown, sizeof(shown)));
	else if (user->seen && !pass->seen)
		snprintf(msg, msgcap, "username without passphrase");
	else if (pass->seen &&
		 scws_bootstrap_base64_decode(pass->v, pass->len, secret, cap, secret_len) != 0)
		snprintf(msg, msgcap, "passphrase is not valid base64");
	else if (push->seen && !scws_bootstrap_uri_ok(push->v, push->len))
		snprintf(msg, msgcap, "push-address is not a URI");
	else
		return false;
	return true;
}

/* ms until the peer or the devid may try again (0: now); who says which,
 * for the 429 body. Fills the throttle keys. */
static uint64_t throttled(struct scws_bootstrap_req *r, struct scws_server *srv, char *pk,
			  size_t pkcap, char *dk, size_t dkcap, const char **who)
{
	const struct scws_throttle *t = scws_server_throttle(srv);
	if (r->peer)
		peer_key(r->peer, pk, pkcap);
	snprintf(dk, dkcap, "devid %s", r->devid);
	uint64_t wp = r->peer ? scws_throttle_blocked(t, pk, r->now_ms) : 0;
	uint64_t wd = scws_throttle_blocked(t, dk, r->now_ms);
	*who = wp >= wd ? "from this peer" : "for this devid";
	return wp > wd ? wp : wd;
}

static int answer_post(struct scws_bootstrap_req *r, struct scws_server *srv,
		       const struct profile *p, struct answer *a)
{
	const struct scws_bootstrap_field *devid = &r->f[SCWS_BOOTSTRAP_F_DEVID];
	const struct scws_bootstrap_field *user = &r->f[SCWS_BOOTSTRAP_F_USERNAME];
	const struct scws_bootstrap_field *pass = &r->f[SCWS_BOOTSTRAP_F_PASSPHRASE];
	const struct scws_bootstrap_field *push = &r->f[SCWS_BOOTSTRAP_F_PUSH_ADDRESS];
	uint8_t secret[SCWS_FIELD_MAX];
	size_t secret_len = 0;
	char msg[PERR_REASON_MAX], pk[80] = "", dk[128] = "";
	const char *who = "";
	uint64_t wait = 0;
	int rc;

	memset(secret, 0, sizeof(secret));
	if (!r->form.set && scws_multipart_end(&r->mp) != 0)
		form_fail(r, "%s", scws_multipart_reason(&r->mp));
	if (devid->seen)
		printable(devid->v, devid->len, r->devid, sizeof(r->devid));
	for (int i = SCWS_BOOTSTRAP_F_USERNAME; i < SCWS_BOOTSTRAP_F_COUNT; i++)
		if (r->f[i].seen)
			list_add(r->fields, sizeof(r->fields), field_names[i]);

	if (form_problem(r, secret, sizeof(secret), &secret_len, msg, sizeof(msg))) {
		rc = send_error(a, 400, NULL, "%s", msg);
	} else if (p->credentials_required &&
		   (wait = throttled(r, srv, pk, sizeof(pk), dk, sizeof(dk), &who)) != 0) {
		scws_throttle_refused_one(scws_server_throttle(srv));
		rc = send_429(a, wait, who);
	} else if (p->credentials_required && (!user->seen || !pass->seen)) {
		credential_failed(r, scws_server_throttle(srv), pk, dk);
		rc = send_error(a, 403, NULL,
				"credentials required: this card needs username and passphrase");
	} else if (p->credentials_required && !credentials_match(p, user, secret, secret_len)) {
		credential_failed(r, scws_server_throttle(srv), pk, dk);
		rc = send_error(a, 403, NULL, "wrong username or passphrase");
	} else if (p->devid_allow && !devid_allowed(p, devid)) {
		rc = send_error(a, 404, NULL, "devid '%s' is not in this card's allow-list",
				r->devid);
	} else {
		if (push->seen && scws_server_set_push_address(srv, (const char *)devid->v,
							       (const char *)push->v) != 0)
			log_warn("scws", "push-address of %s not stored: out of memory", r->devid);
		rc = answer_bootstrap(r, srv, p, a);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

int scws_bootstrap_answer(struct scws_bootstrap_req *r, struct scws_server *srv,
			  const struct scws_http_req *req, bool close, struct buf *out,
			  struct scws_bootstrap_result *res)
{
	struct answer a = { out, req, close, res };
	const struct profile *p = scws_server_profile(srv);
	memset(res, 0, sizeof(*res));
	if (r->decided.set)
		return send_error(&a, r->decided.status, r->allow, "%s", r->decided.reason);
	if (r->route == SCWS_BOOTSTRAP_ROUTE_INDEX)
		return answer_index(&a, p, srv);
	if (!p)
		return send_error(&a, 503, NULL, "no card loaded");
	if (r->is_form)
		return answer_post(r, srv, p, &a);
	return answer_get(r, srv, p, &a);
}
