/* perr.c - see perr.h. */
#include "config.h"

#include "core/perr.h"

#include <stdio.h>
#include <string.h>

void perr_clear(struct perr *e)
{
	memset(e, 0, sizeof(*e));
}

int perr_vset(struct perr *e, int err, int status, const char *fmt, va_list ap)
{
	if (e->set)
		return e->err;
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	e->set = true;
	e->err = err;
	e->status = status;
	return err;
}

int perr_set(struct perr *e, int err, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = perr_vset(e, err, status, fmt, ap);
	va_end(ap);
	return rc;
}

char *perr_where(char *out, size_t cap, const char *file, unsigned line, const char *fmt, ...)
{
	if (!cap)
		return out;
	int n = line ? snprintf(out, cap, "%s:%u: ", file, line) : snprintf(out, cap, "%s: ", file);
	if (n < 0)
		n = 0;
	if ((size_t)n >= cap)
		return out;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out + n, cap - (size_t)n, fmt, ap);
	va_end(ap);
	return out;
}
