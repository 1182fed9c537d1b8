/* perr.h - the error of a parser or a loader, in one place.
 *
 * One struct perr per parser (or per thing a parser decides). Contract:
 *
 * - Sticky, the first one wins: perr_set() on a perr that is already set
 *   changes nothing and returns the first err. A parser that returns an
 *   error from every later feed returns e->err.
 * - err is a negative errno (or a callback's own negative value); status is
 *   what a server answers for it (an HTTP status), 0 when none applies;
 *   reason is one printable line for an error body or a log, "" when the
 *   error came from a caller who knows why already (a callback's stop).
 * - reason is cut to PERR_REASON_MAX - 1 bytes, never overflows.
 *
 * perr_where() formats the "FILE:LINE: reason" of the loaders (profiles,
 * scenario files): one shape for every file error a user reads. */
#ifndef SCWS_CORE_PERR_H
#define SCWS_CORE_PERR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/limits.h"

struct perr {
	bool set;
	int err;                      /* the first error, sticky; 0 while none */
	int status;                   /* HTTP status of it, 0 when none */
	char reason[PERR_REASON_MAX]; /* "" while none or for a caller's own stop */
};

/* No error. */
void perr_clear(struct perr *e);

/* Records err (must be != 0), status and the formatted reason unless e is
 * set already; returns e->err either way (the first one). */
__attribute__((format(printf, 4, 5))) int perr_set(struct perr *e, int err, int status,
						   const char *fmt, ...);
__attribute__((format(printf, 4, 0))) int perr_vset(struct perr *e, int err, int status,
						    const char *fmt, va_list ap);

/* "FILE:LINE: reason", or "FILE: reason" when line is 0, into out[cap]
 * (cut to fit, NUL-terminated when cap > 0). Returns out. */
__attribute__((format(printf, 5, 6))) char *perr_where(char *out, size_t cap, const char *file,
						       unsigned line, const char *fmt, ...);

#endif
