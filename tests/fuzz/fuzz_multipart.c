/* fuzz_multipart.c - fuzz target for the streaming multipart/form-data
 * parser (RFC 7578, RFC 2046 §5.1.1).
 *
 * Input: the first line is the request's Content-Type value, the rest the
 * body, fed in pieces of 1..64 bytes whose sizes come from a small PRNG
 * seeded by the input. The same body is then fed whole to a second parser:
 * both must agree on the outcome and on the bytes delivered. Checks: part
 * events nest, indexes count up, every piece is taken, errors carry 400. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "scws/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct events {
	bool in_part;
	unsigned parts;
	uint32_t hash; /* of names and data, in order */
	size_t bytes;
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void mix(struct events *e, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		e->hash = (e->hash ^ p[i]) * 16777619u;
	e->bytes += n;
}

static int on_begin(void *arg, const struct scws_multipart_part *part)
{
	struct events *e = arg;
	check(!e->in_part && part->index == e->parts + 1 && part->index <= MULTIPART_PARTS_MAX);
	e->in_part = true;
	e->parts++;
	mix(e, part->name.ptr, part->name.len);
	mix(e, part->content_type.ptr, part->content_type.len);
	mix(e, part->charset.ptr, part->charset.len);
	return 0;
}

static int on_data(void *arg, const struct scws_multipart_part *part, const uint8_t *d, size_t n)
{
	struct events *e = arg;
	check(e->in_part && n > 0 && part->index == e->parts);
	mix(e, d, n);
	return 0;
}

static int on_end(void *arg, const struct scws_multipart_part *part)
{
	struct events *e = arg;
	check(e->in_part && part->index == e->parts);
	e->in_part = false;
	mix(e, (const uint8_t *)"|", 1);
	return 0;
}

static const struct scws_multipart_callbacks cb = { on_begin, on_data, on_end };

static int run(struct bytes ct, const uint8_t *body, size_t len, uint32_t seed, struct events *e,
	       int *status)
{
	struct scws_multipart m;
	memset(e, 0, sizeof(*e));
	int rc = scws_multipart_init(&m, ct, &cb, e);
	*status = scws_multipart_status(&m);
	if (rc) {
		check(*status == 400 || *status == 415);
		return rc;
	}
	size_t off = 0;
	rc = -EAGAIN;
	while (off < len && (rc == -EAGAIN || rc == 0)) {
		size_t n = len - off;
		if (seed) {
			seed = seed * 1103515245u + 12345u;
			size_t want = 1 + (seed >> 16) % 64;
			n = n < want ? n : want;
		}
		size_t used;
		rc = scws_multipart_feed(&m, body + off, n, &used);
		check(used <= n);
		if (rc == 0 || rc == -EAGAIN)
			check(used == n);
		off += used;
	}
	if (rc == 0 || rc == -EAGAIN)
		rc = scws_multipart_end(&m);
	*status = scws_multipart_status(&m);
	check(rc == 0 ? *status == 0 : *status == 400 && scws_multipart_reason(&m)[0]);
	if (rc == 0)
		check(!e->in_part);
	scws_multipart_cleanup(&m);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	struct bytes ct = bytes_make(data, (size_t)(nl - data));
	const uint8_t *body = nl + 1;
	size_t len = size - ct.len - 1;
	uint32_t seed = 2166136261u ^ (uint32_t)size;

	struct events a, b;
	int sa, sb;
	int ra = run(ct, body, len, seed | 1, &a, &sa);
	int rb = run(ct, body, len, 0, &b, &sb);
	check(ra == rb && sa == sb && a.parts == b.parts);
	/* Outcomes agree; so do the bytes delivered, unless the error came
	 * from the end: then held-back delimiter bytes are never delivered
	 * either way, so the streams still agree. */
	check(a.hash == b.hash && a.bytes == b.bytes);
	return 0;
}
