/* buf.h - growable byte buffer with a hard cap (after curl's dynbuf).
 *
 * A buffer never grows past the `max` given to buf_init(); an append that
 * would pass it fails with -EMSGSIZE and leaves the contents unchanged.
 * buf_cleanup() frees the storage; a zeroed struct buf is a valid empty
 * buffer with max 0 (every append fails) until buf_init(). */
#ifndef SCWS_CORE_BUF_H
#define SCWS_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *p;
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated; len <= cap <= max */
	size_t max; /* hard limit */
};

void buf_init(struct buf *b, size_t max);
void buf_cleanup(struct buf *b);
/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);
/* 0, -EMSGSIZE over max, -ENOMEM. */
__attribute__((warn_unused_result)) int buf_append(struct buf *b, const void *p, size_t n);
__attribute__((warn_unused_result)) int buf_append_u8(struct buf *b, uint8_t v);
__attribute__((warn_unused_result)) int buf_append_str(struct buf *b, const char *s);
/* printf-style append; the formatted text must fit under max. */
__attribute__((warn_unused_result, format(printf, 2, 3))) int buf_printf(struct buf *b,
									 const char *fmt, ...);
/* Drops the first n bytes (n > len empties the buffer). */
void buf_consume(struct buf *b, size_t n);
/* Gives the storage to the caller (free() it); the buffer is left empty. */
uint8_t *buf_take(struct buf *b, size_t *len);
/* Makes sure n more bytes fit without reallocating; 0 or -EMSGSIZE/-ENOMEM. */
__attribute__((warn_unused_result)) int buf_reserve(struct buf *b, size_t n);

#endif
