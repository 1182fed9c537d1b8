/* fuzz_http.c - fuzz target for the SCWS HTTP/1.1 request parser (RFC 9112)
 * driven the way a connection drives it, multipart body included.
 *
 * Input: one selector byte, then the bytes from the peer. The selector
 * picks the split point of the stream into two feeds (sel * len / 255) and,
 * in its low bits, body buffering and skipping. Every complete request is
 * answered and the leftover parsed as the next request (pipelining), up to
 * 8 requests. A Content-Type header sends the body through the multipart
 * parser. Checks: -EAGAIN takes the whole piece, an error carries a known
 * status and a reason, bodies stay under HTTP_BODY_MAX, responses start
 * with a status line. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "scws/http.h"
#include "scws/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct conn {
	struct scws_http_parser *p;
	struct scws_multipart mp;
	bool has_mp;
	bool mp_failed;
	bool skip;
	size_t body_len;
	unsigned parts;
	struct buf out;
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static int mp_data(void *arg, const struct scws_multipart_part *part, const uint8_t *d, size_t n)
{
	struct conn *c = arg;
	check(part->index == c->parts && n > 0);
	return 0;
}

static int mp_begin(void *arg, const struct scws_multipart_part *part)
{
	struct conn *c = arg;
	c->parts++;
	check(part->index == c->parts && part->index <= MULTIPART_PARTS_MAX);
	return 0;
}

static const struct scws_multipart_callbacks mp_cb = { mp_begin, mp_data, NULL };

static int on_head(void *arg, const struct scws_http_req *req)
{
	struct conn *c = arg;
	c->body_len = 0;
	c->parts = 0;
	c->has_mp = false;
	c->mp_failed = false;
	check(req->minor_version == 0 || req->minor_version == 1);
	check(req->num_headers <= HTTP_HEADERS_MAX);
	check(req->content_length <= HTTP_BODY_MAX);
	check(!(req->is_chunked && req->content_length));
	(void)scws_http_req_header(req, "Content-Type");
	if (req->expect_continue)
		check(buf_append_str(&c->out, SCWS_HTTP_CONTINUE) == 0);
	if (c->skip) {
		scws_http_parser_skip_body(c->p);
	} else if (req->has_content_type) {
		c->has_mp = true;
		if (scws_multipart_init(&c->mp, req->content_type, &mp_cb, c)) {
			int st = scws_multipart_status(&c->mp);
			check((st == 400 || st == 415) && scws_multipart_reason(&c->mp)[0]);
			c->mp_failed = true;
			scws_http_parser_skip_body(c->p);
		}
	}
	return 0;
}

static int on_body(void *arg, const uint8_t *d, size_t n)
{
	struct conn *c = arg;
	check(n > 0 && !c->skip);
	c->body_len += n;
	check(c->body_len <= HTTP_BODY_MAX);
	if (c->has_mp && !c->mp_failed) {
		size_t used;
		int rc = scws_multipart_feed(&c->mp, d, n, &used);
		check(used <= n);
		if (rc != 0 && rc != -EAGAIN) {
			check(scws_multipart_status(&c->mp) == 400);
			c->mp_failed = true;
			scws_http_parser_skip_body(c->p);
		} else {
			check(used == n);
		}
	}
	return 0;
}

static void respond(struct conn *c, bool ok)
{
	const struct scws_http_req *req = ok ? scws_http_parser_req(c->p) : NULL;
	int status = 200;
	const char *reason = NULL;
	if (!ok) {
		status = scws_http_parser_status(c->p);
		reason = scws_http_parser_reason(c->p);
		check(status == 400 || status == 413 || status == 417 || status == 431 ||
		      status == 501 || status == 505);
		check(reason[0] != 0);
	} else if (c->has_mp && !c->mp_failed && scws_multipart_end(&c->mp)) {
		status = 400;
		reason = scws_multipart_reason(&c->mp);
	}
	size_t mark = c->out.len;
	check(scws_http_response_error(&c->out, req, status, reason, ok) == 0);
	check(c->out.len > mark + 9 && memcmp(c->out.p + mark, "HTTP/1.1 ", 9) == 0);
	buf_reset(&c->out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	size_t cuts[2] = { (size_t)sel * len / 255, len };

	struct conn c;
	memset(&c, 0, sizeof(c));
	c.skip = (sel & 3) == 3;
	buf_init(&c.out, 1 << 20);
	struct scws_http_callbacks cb = { on_head, (sel & 3) == 1 ? NULL : on_body };
	c.p = scws_http_parser_new(&cb, &c);
	if (!c.p)
		return 0;

	size_t off = 0;
	unsigned requests = 0;
	bool stop = false;
	for (size_t k = 0; k < 2 && !stop; k++) {
		while (off < cuts[k] && !stop) {
			size_t used;
			int rc = scws_http_parser_feed(c.p, in + off, cuts[k] - off, &used);
			check(used <= cuts[k] - off);
			off += used;
			if (rc == -EAGAIN) {
				check(off == cuts[k]);
			} else if (rc == 0) {
				if (cb.on_body == NULL)
					check(scws_http_parser_body(c.p).len <= HTTP_BODY_MAX);
				respond(&c, true);
				stop = ++requests == 8 || !scws_http_parser_req(c.p)->keep_alive;
			} else {
				respond(&c, false);
				size_t again;
				int rc2;
				rc2 = scws_http_parser_feed(c.p, in, len, &again);
				check(rc2 == rc && again == 0);
				stop = true;
			}
		}
	}
	(void)scws_http_parser_in_request(c.p);
	scws_http_parser_free(c.p);
	buf_cleanup(&c.out);
	return 0;
}
