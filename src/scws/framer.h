/* framer.h - sans-I/O body framer of an HTTP/1.1 message (RFC 9112 §6.3),
 * shared by the request parser (http.c) and the response parser
 * (http_resp.c): the bytes after a head are body bytes until the
 * Content-Length is reached, the chunked coding ends (chunked.c), or the
 * connection closes.
 *
 * One struct scws_framer per parser, started for each body:
 *
 *	scws_framer_length(f, content_length);    Content-Length (> 0)
 *	scws_framer_chunked(f, max, "request body");
 *	scws_framer_until_close(f);               the response ends at the close
 *
 *	rc = scws_framer_feed(f, in, len, &used, on_data, arg);
 *
 *   -EAGAIN  all `len` bytes were taken (used == len); feed more.
 *   0        the body is complete; in[used..len) comes after it. An
 *            until-close body never completes here: the caller ends it at
 *            the close.
 *   other    the body is rejected (sticky, core/perr.h): scws_framer_err()
 *            says the status a server answers and the reason; or on_data
 *            returned that value, and then the status is 0 and the reason
 *            "" (the caller knows why).
 *
 * Each body byte goes once to on_data (when non-NULL), in order, in pieces
 * of any size; framing bytes never do. on_data runs inside
 * scws_framer_feed() and returns 0 to go on or a negative errno to stop.
 * It must not feed the framer. */
#ifndef SCWS_SCWS_FRAMER_H
#define SCWS_SCWS_FRAMER_H

#include <stdint.h>

#include "core/perr.h"
#include "scws/chunked.h"

enum scws_framer_mode {
	SCWS_FRAMER_NONE, /* not started: a feed is a bug (-EBADFD, 500) */
	SCWS_FRAMER_LENGTH,
	SCWS_FRAMER_CHUNKED,
	SCWS_FRAMER_UNTIL_CLOSE,
};

struct scws_framer {
	enum scws_framer_mode mode;
	uint64_t length;             /* LENGTH: the Content-Length */
	uint64_t remaining;          /* LENGTH: bytes left */
	uint64_t total;              /* body bytes so far (LENGTH, UNTIL_CLOSE) */
	struct scws_chunked chunked; /* CHUNKED */
	struct perr e;               /* LENGTH, UNTIL_CLOSE, NONE */
};

void scws_framer_length(struct scws_framer *f, uint64_t length);
/* max and body_name as scws_chunked_init(). */
void scws_framer_chunked(struct scws_framer *f, uint64_t max, const char *body_name);
void scws_framer_until_close(struct scws_framer *f);

/* See the top of this file. */
__attribute__((warn_unused_result)) int scws_framer_feed(struct scws_framer *f, const uint8_t *in,
							 size_t len, size_t *used,
							 scws_chunked_data_fn *on_data, void *arg);

/* ---------------------------------------------------------------- the feed loop
 *
 * The loop of a message parser's feed call, the same for requests
 * (http.c) and responses (http_resp.c): the parser takes in a head, then
 * this framer delivers its body, until a message is complete or the input
 * is used up. What differs is in the ops:
 *
 *   phase(parser)   where the parser is: a head to frame, a body for the
 *                   framer (started by head()), or the message complete.
 *   head(parser, in, len, &n)
 *                   frames and takes in a head from in[0..len), n bytes
 *                   used: 0 when one is taken (phase() then says what
 *                   follows: a body, the end, or another head after an
 *                   interim response), -EAGAIN when all of it was used, or
 *                   an error the parser has recorded.
 *   body_end(parser, rc)
 *                   the framer ended the body: rc 0 (complete; the parser
 *                   moves to its end and returns 0) or an error the parser
 *                   records and returns (scws_framer_err() says why).
 *   on_data         the body's bytes, as scws_framer_feed().
 *
 * Returns 0 when a message is complete (in[used..len) follows it),
 * -EAGAIN when all `len` bytes were used, or the parser's error. `in` may
 * be NULL when len is 0. */
enum scws_msg_phase {
	SCWS_MSG_HEAD,
	SCWS_MSG_BODY,
	SCWS_MSG_DONE,
};

struct scws_msg_ops {
	enum scws_msg_phase (*phase)(const void *parser);
	int (*head)(void *parser, const uint8_t *in, size_t len, size_t *n);
	int (*body_end)(void *parser, int rc);
	scws_chunked_data_fn *on_data;
};

__attribute__((warn_unused_result)) int scws_framer_drive(struct scws_framer *f,
							  const struct scws_msg_ops *ops,
							  void *parser, const uint8_t *in,
							  size_t len, size_t *used);

/* The error of the last feed that failed (the chunked decoder's for a
 * chunked body); not set while none. */
const struct perr *scws_framer_err(const struct scws_framer *f);

#endif
