/* fuzz_http_resp.c - fuzz target for the client-side HTTP/1.1 response
 * parser (RFC 9112) and the multipart/form-data writer (RFC 7578).
 *
 * Input: a selector byte, a split byte, then the bytes from the server.
 * Selector bits: 0-1 the request method (GET, HEAD, POST), 2 buffer the
 * body in the parser, 3 the connection closes after the input, 4 also
 * write the input as a form value and read it back with the server's
 * multipart parser. The stream is fed in two pieces (split * len / 255),
 * every complete response is followed by the next one (keep-alive), up to
 * 4. Checks: -EAGAIN takes the whole piece; errors carry a reason and are
 * sticky; a final status is 200..599; a Content-Length body is delivered
 * exactly; a buffered body stays under HTTP_RESP_BODY_MAX; a form value
 * comes back byte for byte. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "scws/http_resp.h"
#include "scws/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

struct conn {
	unsigned heads;
	uint64_t body_len;
	enum scws_http_method method;
};

static int on_head(void *arg, const struct scws_http_resp *r)
{
	struct conn *c = arg;
	c->heads++;
	c->body_len = 0;
	check(r->status >= 100 && r->status <= 599);
	check(r->num_headers <= HTTP_HEADERS_MAX);
	check(r->minor_version == 0 || r->minor_version == 1);
	if (r->status >= 200 && c->method != SCWS_HTTP_HEAD) {
		check(!(r->is_chunked && r->has_content_length && r->has_body));
		check(!(r->until_close && r->keep_alive));
	}
	(void)scws_http_resp_header(r, "Content-Type");
	return 0;
}

static int on_body(void *arg, const uint8_t *d, size_t n)
{
	struct conn *c = arg;
	check(n > 0 && d != NULL);
	c->body_len += n;
	return 0;
}

static void check_done(struct scws_http_resp_parser *p, const struct conn *c, bool buffered)
{
	const struct scws_http_resp *r = scws_http_resp_parser_resp(p);
	check(r->status >= 200 && r->status <= 599);
	check(!scws_http_resp_parser_in_response(p));
	uint64_t got = buffered ? scws_http_resp_parser_body(p).len : c->body_len;
	if (!r->has_body)
		check(got == 0);
	else if (r->has_content_length)
		check(got == r->content_length);
	if (buffered)
		check(got <= HTTP_RESP_BODY_MAX);
}

static void check_error(struct scws_http_resp_parser *p, int rc)
{
	size_t used = 1;
	check(rc < 0 && rc != -EAGAIN);
	check(scws_http_resp_parser_reason(p)[0] != 0);
	check(scws_http_resp_parser_feed(p, (const uint8_t *)"x", 1, &used) == rc && used == 0);
	check(scws_http_resp_parser_eof(p) == rc);
}

static void parse(const uint8_t *in, size_t len, uint8_t sel, uint8_t split)
{
	static const enum scws_http_method methods[4] = { SCWS_HTTP_GET, SCWS_HTTP_HEAD,
							  SCWS_HTTP_POST, SCWS_HTTP_GET };
	bool buffered = sel & 4, eof = sel & 8;
	struct conn c = { 0, 0, methods[sel & 3] };
	struct scws_http_resp_callbacks cb = { on_head, buffered ? NULL : on_body };
	struct scws_http_resp_parser *p = scws_http_resp_parser_new(&cb, &c);
	if (!p)
		return;
	scws_http_resp_parser_expect(p, c.method);
	size_t cuts[2] = { (size_t)split * len / 255, len };
	size_t off = 0;
	unsigned responses = 0;
	int rc;
	for (size_t k = 0; k < 2; k++) {
		while (off < cuts[k]) {
			size_t used;
			rc = scws_http_resp_parser_feed(p, in + off, cuts[k] - off, &used);
			check(used <= cuts[k] - off);
			off += used;
			if (rc == -EAGAIN) {
				check(off == cuts[k]);
				continue;
			}
			if (rc != 0) {
				check_error(p, rc);
				goto out;
			}
			check_done(p, &c, buffered);
			if (++responses == 4)
				goto closing;
		}
	}
closing:
	if (eof) {
		rc = scws_http_resp_parser_eof(p);
		if (rc == 0)
			check_done(p, &c, buffered);
		else
			check_error(p, rc);
	}
out:
	scws_http_resp_parser_free(p);
}

struct value {
	struct buf got;
	unsigned parts;
};

static int part_begin(void *arg, const struct scws_multipart_part *part)
{
	struct value *v = arg;
	v->parts++;
	check(bytes_eq(part->name, v->parts == 1 ? "devid" : "passphrase", v->parts == 1 ? 5 : 10));
	return 0;
}

static int part_data(void *arg, const struct scws_multipart_part *part, const uint8_t *d, size_t n)
{
	struct value *v = arg;
	if (part->index == 2)
		check(buf_append(&v->got, d, n) == 0);
	return 0;
}

static void form_round_trip(const uint8_t *in, size_t len)
{
	static const char boundary[] = "scwsemu-0123456789abcdef0123456789abcdef";
	struct scws_http_form_field f[2] = { { "devid", "IMEI:1", 6 }, { "passphrase", in, len } };
	struct buf body;
	buf_init(&body, 1 << 20);
	int rc = scws_http_form_write(&body, boundary, f, 2);
	if (rc == -EEXIST) {
		check(memmem(in, len, "--scwsemu-0123456789abcdef", 26) != NULL);
		goto out;
	}
	check(rc == 0);
	char ct[128];
	struct scws_multipart m;
	struct value v;
	memset(&v, 0, sizeof(v));
	buf_init(&v.got, 1 << 20);
	struct scws_multipart_callbacks cb = { part_begin, part_data, NULL };
	scws_http_form_content_type(boundary, ct, sizeof(ct));
	check(scws_multipart_init(&m, bytes_make(ct, strlen(ct)), &cb, &v) == 0);
	size_t used;
	check(scws_multipart_feed(&m, body.p, body.len, &used) == 0);
	check(scws_multipart_end(&m) == 0);
	check(v.parts == 2 && bytes_eq(bytes_make(v.got.p, v.got.len), in, len));
	scws_multipart_cleanup(&m);
	buf_cleanup(&v.got);
out:
	buf_cleanup(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	parse(data + 2, size - 2, data[0], data[1]);
	if (data[0] & 16)
		form_round_trip(data + 2, size - 2);
	return 0;
}
