/* chunked.c - sans-I/O decoder of the chunked transfer coding (RFC 9112
 * §7.1), for both HTTP parsers.
 *
 * The framing goes through a byte-level state machine; chunk-data is
 * handed on in the largest pieces the input allows. Chunk sizes are
 * checked for overflow before they are added (doc/style.md §6). */
#include "config.h"

#include "scws/chunked.h"

#include "core/hex.h"
#include "scws/http_head.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
	[SCWS_CHUNKED_ST_SIZE] = "CHUNK_SIZE",       [SCWS_CHUNKED_ST_EXT] = "CHUNK_EXT",
	[SCWS_CHUNKED_ST_SIZE_LF] = "CHUNK_SIZE_LF", [SCWS_CHUNKED_ST_DATA] = "CHUNK_DATA",
	[SCWS_CHUNKED_ST_DATA_CR] = "CHUNK_DATA_CR", [SCWS_CHUNKED_ST_DATA_LF] = "CHUNK_DATA_LF",
	[SCWS_CHUNKED_ST_TRAILER] = "TRAILER",       [SCWS_CHUNKED_ST_DONE] = "DONE",
	[SCWS_CHUNKED_ST_ERROR] = "ERROR",
};

const char *scws_chunked_state_name(enum scws_chunked_state st)
{
	if ((size_t)st < sizeof(state_names) / sizeof(state_names[0]) && state_names[st])
		return state_names[st];
	return "?";
}

static void start_line(struct scws_chunked *d)
{
	d->st = SCWS_CHUNKED_ST_SIZE;
	d->size = 0;
	d->digits = 0;
	d->line_len = 0;
}

void scws_chunked_init(struct scws_chunked *d, uint64_t max, const char *body_name)
{
	memset(d, 0, sizeof(*d));
	d->max = max;
	d->body_name = body_name ? body_name : "body";
	start_line(d);
}

__attribute__((format(printf, 4, 5))) static int fail(struct scws_chunked *d, int err, int status,
						      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err = perr_vset(&d->e, err, status, fmt, ap);
	va_end(ap);
	d->st = SCWS_CHUNKED_ST_ERROR;
	return err;
}

/* The chunk-size line is complete: data, or the last chunk. */
static int size_done(struct scws_chunked *d)
{
	/* chunk-size = 1*HEXDIG: an empty line is no last chunk. */
	if (d->digits == 0)
		return fail(d, -EPROTO, 400, "invalid chunk size");
	if (d->size == 0) {
		d->st = SCWS_CHUNKED_ST_TRAILER;
		d->line_len = 0;
		d->trailer_line = 0;
		d->cr = false;
		return 0;
	}
	if (d->size > d->max - d->total) {
		if (d->max == UINT64_MAX)
			return fail(d, -EPROTO, 400, "chunked body length overflow");
		return fail(d, -EMSGSIZE, 413, "chunked %s over %llu bytes", d->body_name,
			    (unsigned long long)d->max);
	}
	d->total += d->size;
	d->remaining = d->size;
	d->st = SCWS_CHUNKED_ST_DATA;
	return 0;
}

/* One byte of the framing: chunk-size [ chunk-ext ] CRLF, the CRLF after
 * chunk-data, and the trailer section. */
static int framing_byte(struct scws_chunked *d, uint8_t c)
{
	if ((d->st == SCWS_CHUNKED_ST_SIZE || d->st == SCWS_CHUNKED_ST_EXT ||
	     d->st == SCWS_CHUNKED_ST_SIZE_LF) &&
	    ++d->line_len > HTTP_CHUNK_LINE_MAX)
		return fail(d, -EPROTO, 400, "chunk-size line over %u bytes", HTTP_CHUNK_LINE_MAX);
	switch (d->st) {
	case SCWS_CHUNKED_ST_SIZE:
	case SCWS_CHUNKED_ST_EXT:
		if (c == '\n')
			return size_done(d);
		if (c == '\r') {
			d->st = SCWS_CHUNKED_ST_SIZE_LF;
			return 0;
		}
		if (d->st == SCWS_CHUNKED_ST_EXT) {
			/* chunk-ext is skipped; only controls are refused. */
			if ((c < 0x20 && c != '\t') || c == 0x7F)
				return fail(d, -EPROTO, 400,
					    "control character in chunk extension");
			return 0;
		}
		/* Digits only at the start: "1 2" is no size. */
		if (hex_digit(c) >= 0 && d->line_len == d->digits + 1) {
			if (d->size > (UINT64_MAX >> 4))
				return fail(d, -EPROTO, 400, "chunk size overflow");
			d->size = (d->size << 4) | (uint64_t)hex_digit(c);
			d->digits++;
			return 0;
		}
		if (d->digits == 0)
			return fail(d, -EPROTO, 400, "invalid chunk size");
		if (scws_http_is_ows(c))
			return 0; /* BWS before ";" */
		if (c == ';') {
			d->st = SCWS_CHUNKED_ST_EXT;
			return 0;
		}
		return fail(d, -EPROTO, 400, "invalid chunk size");
	case SCWS_CHUNKED_ST_SIZE_LF:
		if (c != '\n')
			return fail(d, -EPROTO, 400, "bare CR in chunk-size line");
		return size_done(d);
	case SCWS_CHUNKED_ST_DATA_CR:
		if (c == '\r') {
			d->st = SCWS_CHUNKED_ST_DATA_LF;
			return 0;
		}
		/* bare LF: as the LF state */
		__attribute__((fallthrough));
	case SCWS_CHUNKED_ST_DATA_LF:
		if (c != '\n')
			return fail(d, -EPROTO, 400, "chunk data not followed by CRLF");
		start_line(d);
		return 0;
	case SCWS_CHUNKED_ST_TRAILER:
		/* trailer-section = *( field-line CRLF ) CRLF: skipped, bounded. */
		if (++d->line_len > HTTP_TRAILER_MAX)
			return fail(d, -EMSGSIZE, 431, "trailer section over %u bytes",
				    HTTP_TRAILER_MAX);
		if (d->cr && c != '\n')
			return fail(d, -EPROTO, 400, "bare CR in trailer section");
		if (c == 0)
			return fail(d, -EPROTO, 400, "NUL in trailer section");
		if (c == '\n') {
			if (d->trailer_line == 0) {
				d->st = SCWS_CHUNKED_ST_DONE;
				return 0;
			}
			d->trailer_line = 0;
			d->cr = false;
			return 0;
		}
		if (c == '\r') {
			d->cr = true;
			return 0;
		}
		d->trailer_line++;
		return 0;
	default:
		return fail(d, -EBADFD, 500, "chunk parser in state %s",
			    scws_chunked_state_name(d->st));
	}
}

int scws_chunked_feed(struct scws_chunked *d, const uint8_t *in, size_t len, size_t *used,
		      scws_chunked_data_fn *on_data, void *arg)
{
	size_t pos = 0;
	int rc = 0;
	*used = 0;
	if (d->st == SCWS_CHUNKED_ST_ERROR)
		return d->e.err;
	while (rc == 0 && pos < len && d->st != SCWS_CHUNKED_ST_DONE) {
		if (d->st != SCWS_CHUNKED_ST_DATA) {
			rc = framing_byte(d, in[pos++]);
			continue;
		}
		size_t n = len - pos;
		if (n > d->remaining)
			n = (size_t)d->remaining;
		d->remaining -= n;
		pos += n;
		if (d->remaining == 0)
			d->st = SCWS_CHUNKED_ST_DATA_CR;
		if (n && on_data) {
			rc = on_data(arg, in + pos - n, n);
			if (rc < 0) {
				/* The caller's own error: it has the reason. */
				rc = fail(d, rc, 0, "%s", "");
			} else {
				rc = 0;
			}
		}
	}
	*used = pos;
	if (rc)
		return rc;
	return d->st == SCWS_CHUNKED_ST_DONE ? 0 : -EAGAIN;
}
