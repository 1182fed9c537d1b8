/* timeval.h - milliseconds to the struct timeval that libevent's timers
 * and select-style calls take. Pure arithmetic: core reads no clock. */
#ifndef SCWS_CORE_TIMEVAL_H
#define SCWS_CORE_TIMEVAL_H

#include <stdint.h>
#include <sys/time.h>

static inline struct timeval tv_from_ms(uint64_t ms)
{
	struct timeval tv;
	tv.tv_sec = (time_t)(ms / 1000u);
	tv.tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
	return tv;
}

#endif
