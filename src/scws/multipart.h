/* multipart.h - streaming multipart/form-data parser (RFC 7578; body
 * grammar of RFC 2046 §5.1.1).
 *
 * Sans-I/O and incremental: the body may arrive in pieces of any size (one
 * byte per BIP chunk included); a delimiter split across pieces is found.
 * The parser keeps no copy of part data: it holds back at most the bytes
 * of a partly matched delimiter (CRLF "--" boundary, which it knows) and
 * copies only part headers, within MULTIPART_PART_HEAD_MAX.
 *
 * Use:
 *	scws_multipart_init(m, content_type_value, &cb, arg)   -- 415 / 400
 *	scws_multipart_feed(m, in, len, &used) ...              -- each body piece
 *	scws_multipart_end(m)                                   -- body complete
 *
 * Every failure returns a negative errno and leaves a status code
 * (scws_multipart_status: 415 for a Content-Type that is not
 * multipart/form-data, else 400) and a one-line reason for the response
 * body (scws_multipart_reason). Errors are sticky.
 *
 * Decisions: line ends must be CRLF. A bare LF after a boundary delimiter
 * or in part headers is answered 400 with a reason saying so (RFC 2046
 * requires CRLF, and guessing would split binary values at "\n--").
 * Folded part header lines are refused too. Several parts with one name
 * are all delivered: the handler decides which wins. A body with a close
 * delimiter and no part is accepted (an empty form). */
#ifndef SCWS_SCWS_MULTIPART_H
#define SCWS_SCWS_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/limits.h"
#include "core/perr.h"

/* One part. Views point into the parser and stay valid from on_part_begin
 * until on_part_end returns. */
struct scws_multipart_part {
	unsigned index;        /* 1 for the first part */
	struct bytes name;     /* Content-Disposition name, unquoted; compare byte-exactly */
	struct bytes filename; /* unquoted; never trust it (RFC 7578 §4.2) */
	bool has_filename;
	struct bytes content_type; /* type/subtype of the part, empty when absent (text/plain) */
	struct bytes charset;      /* charset parameter, unquoted, empty when absent */
};

/* Return 0 to go on, a negative errno to stop: feed returns it. Callbacks
 * must not feed or free the parser. on_part_data gets each data byte of
 * the part once, in order, in pieces of any size (values may be binary). */
typedef int scws_multipart_begin_fn(void *arg, const struct scws_multipart_part *part);
typedef int scws_multipart_data_fn(void *arg, const struct scws_multipart_part *part,
				   const uint8_t *data, size_t len);
typedef int scws_multipart_end_fn(void *arg, const struct scws_multipart_part *part);

struct scws_multipart_callbacks {
	scws_multipart_begin_fn *on_part_begin; /* each may be NULL */
	scws_multipart_data_fn *on_part_data;
	scws_multipart_end_fn *on_part_end;
};

enum scws_multipart_state {
	SCWS_MULTIPART_ST_PREAMBLE,    /* looking for the first dash-boundary */
	SCWS_MULTIPART_ST_AFTER_DELIM, /* a delimiter matched: "--", padding or CRLF */
	SCWS_MULTIPART_ST_PADDING,     /* transport-padding */
	SCWS_MULTIPART_ST_DELIM_LF,    /* CR seen after the delimiter */
	SCWS_MULTIPART_ST_CLOSE_DASH,  /* one '-' of the close delimiter seen */
	SCWS_MULTIPART_ST_PART_HEAD,   /* part header lines */
	SCWS_MULTIPART_ST_PART_DATA,
	SCWS_MULTIPART_ST_EPILOGUE, /* close delimiter seen: the rest is ignored */
	SCWS_MULTIPART_ST_ERROR,
};

const char *scws_multipart_state_name(enum scws_multipart_state st);

struct scws_multipart {
	enum scws_multipart_state st;
	struct scws_multipart_callbacks cb;
	void *arg;
	uint8_t delim[4 + MULTIPART_BOUNDARY_MAX]; /* CR LF '-' '-' boundary */
	size_t delim_len;                          /* 5 .. 4 + MULTIPART_BOUNDARY_MAX */
	size_t match;     /* delim[0..match) seen and held back; match < delim_len */
	bool in_preamble; /* the delimiter being checked is the first one */
	uint8_t head[MULTIPART_PART_HEAD_MAX];
	size_t head_len;   /* <= MULTIPART_PART_HEAD_MAX */
	size_t line_start; /* start of the header line being copied */
	unsigned parts;    /* parts begun, <= MULTIPART_PARTS_MAX */
	struct scws_multipart_part part;
	struct perr e; /* sticky in the error state */
};

/* Reads the boundary from a request Content-Type value (the view is
 * copied; cb is copied). 0; -EMEDIUMTYPE (status 415) when the media type
 * is not multipart/form-data (case-insensitive); -EPROTO (400) for a
 * missing, duplicated or invalid boundary (1..70 bchars, not ending in a
 * space; quoted or not) or a malformed parameter list. */
__attribute__((warn_unused_result)) int scws_multipart_init(
	struct scws_multipart *m, struct bytes content_type,
	const struct scws_multipart_callbacks *cb, void *arg);
/* Nothing to free; for symmetry. */
void scws_multipart_cleanup(struct scws_multipart *m);

/* Feeds body bytes. Always takes all of them unless failing (used == len).
 * -EAGAIN: the close delimiter has not come yet; 0: it has (the rest is
 * epilogue, ignored); else a negative errno: -EPROTO malformed, -EMSGSIZE
 * over a limit, or a callback's value. */
__attribute__((warn_unused_result)) int scws_multipart_feed(struct scws_multipart *m,
							    const uint8_t *in, size_t len,
							    size_t *used);

/* The body is complete. 0 when the close delimiter was seen; -EPROTO
 * ("body ends before the close delimiter") otherwise. */
__attribute__((warn_unused_result)) int scws_multipart_end(struct scws_multipart *m);

/* The boundary (without the leading "--"), valid while m lives. */
struct bytes scws_multipart_boundary(const struct scws_multipart *m);

int scws_multipart_status(const struct scws_multipart *m); /* 0, 400 or 415 */
const char *scws_multipart_reason(const struct scws_multipart *m);

#endif
