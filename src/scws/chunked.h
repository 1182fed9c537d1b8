/* chunked.h - sans-I/O decoder of the chunked transfer coding (RFC 9112
 * §7.1), shared by the request parser (http.c) and the response parser
 * (http_resp.c).
 *
 * One struct scws_chunked per message body, embedded in the parser. The
 * caller feeds the bytes that follow the head:
 *
 *	rc = scws_chunked_feed(d, in, len, &used, on_data, arg);
 *
 *   -EAGAIN  all `len` bytes were taken (used == len); feed more.
 *   0        the last chunk and the trailer section are complete;
 *            in[used..len) comes after the body.
 *   other    the body is rejected: d->e.status says the HTTP status a server
 *            answers (400, 413 past max, 431 for the trailer section, 500
 *            for a decoder bug) and d->e.reason one line for the body; or
 *            on_data returned that value, and then d->e.status is 0 and the
 *            caller already knows why. The error is sticky (core/perr.h):
 *            further feeds return it and take nothing.
 *
 * Errno values: -EPROTO malformed (400), -EMSGSIZE over a limit (413,
 * 431), -EBADFD (500, cannot happen), or on_data's own negative value.
 *
 * Each chunk-data byte goes once to on_data (when non-NULL), in order,
 * in pieces of any size; the framing never does. on_data runs inside
 * scws_chunked_feed() and returns 0 to go on or a negative errno to stop.
 * It must not feed the decoder.
 *
 * Line ends are CRLF or a bare LF; a bare CR is refused. Chunk extensions
 * and the trailer section are checked for control characters and skipped,
 * each within its limit (HTTP_CHUNK_LINE_MAX, HTTP_TRAILER_MAX). */
#ifndef SCWS_SCWS_CHUNKED_H
#define SCWS_SCWS_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "core/perr.h"

enum scws_chunked_state {
	SCWS_CHUNKED_ST_SIZE,    /* chunk-size [BWS] */
	SCWS_CHUNKED_ST_EXT,     /* ";" chunk-ext up to the line end */
	SCWS_CHUNKED_ST_SIZE_LF, /* CR seen at the end of a chunk-size line */
	SCWS_CHUNKED_ST_DATA,
	SCWS_CHUNKED_ST_DATA_CR, /* CRLF after chunk-data */
	SCWS_CHUNKED_ST_DATA_LF,
	SCWS_CHUNKED_ST_TRAILER, /* trailer section, skipped */
	SCWS_CHUNKED_ST_DONE,
	SCWS_CHUNKED_ST_ERROR,
};

/* "CHUNK_SIZE", "CHUNK_EXT", "CHUNK_SIZE_LF", "CHUNK_DATA", "CHUNK_DATA_CR",
 * "CHUNK_DATA_LF", "TRAILER", "DONE", "ERROR"; "?" for another value. */
const char *scws_chunked_state_name(enum scws_chunked_state st);

typedef int scws_chunked_data_fn(void *arg, const uint8_t *data, size_t len);

struct scws_chunked {
	enum scws_chunked_state st;
	uint64_t max;          /* decoded bytes allowed in all (UINT64_MAX: no limit) */
	const char *body_name; /* "request body": words the 413 reason; static */
	uint64_t total;        /* chunk sizes announced so far, total <= max */
	uint64_t remaining;    /* chunk-data bytes left in this chunk */
	uint64_t size;         /* the chunk-size being read */
	size_t digits;         /* hex digits in it */
	size_t line_len;       /* chunk-size line or trailer section bytes so far */
	size_t trailer_line;   /* bytes in the current trailer line */
	bool cr;               /* previous trailer byte was CR */

	struct perr e; /* the error: status 0 and reason "" for on_data's */
};

/* Starts a body. At most max decoded bytes (chunk sizes are checked before
 * any of their data comes): past it, -EMSGSIZE and 413 "chunked <body_name>
 * over <max> bytes". With max UINT64_MAX a sum that wraps is -EPROTO, 400
 * "chunked body length overflow". body_name is borrowed for the decoder's
 * life. */
void scws_chunked_init(struct scws_chunked *d, uint64_t max, const char *body_name);

/* See the top of this file. in may be NULL when len is 0; on_data may be
 * NULL (the data is then only framed). */
__attribute__((warn_unused_result)) int scws_chunked_feed(struct scws_chunked *d, const uint8_t *in,
							  size_t len, size_t *used,
							  scws_chunked_data_fn *on_data, void *arg);

#endif
