/* throttle.h - failed credential attempts counted per key (a peer address,
 * a devid) in fixed windows, sans-I/O (the caller's clock, ms).
 *
 * A key that has failed `limit` times within `window_ms` of its first
 * failure is blocked until that window is over (answered 429 with
 * Retry-After by the bootstrap handler); the next failure after the window
 * starts a new one. The table keeps the AUTH_FAIL_KEYS_MAX keys that failed
 * most recently: with more, the least recently failing key is forgotten
 * (an attacker rotating devids gets no more than per-peer counting allows).
 * limit 0: nothing is ever blocked. */
#ifndef SCWS_SCWS_THROTTLE_H
#define SCWS_SCWS_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct scws_throttle;

struct scws_throttle *scws_throttle_new(unsigned limit, unsigned window_ms);
void scws_throttle_free(struct scws_throttle *t);
void scws_throttle_configure(struct scws_throttle *t, unsigned limit, unsigned window_ms);

/* 0 when key may try; else the ms until its window is over (>= 1). */
uint64_t scws_throttle_blocked(const struct scws_throttle *t, const char *key, uint64_t now_ms);

/* One failed attempt of key. True when this failure blocks it (the
 * limit-th in the window): the moment to log it, once. */
bool scws_throttle_fail(struct scws_throttle *t, const char *key, uint64_t now_ms);

/* For the status: answers refused (429) so far, keys blocked right now. */
void scws_throttle_refused_one(struct scws_throttle *t);
unsigned long scws_throttle_refused(const struct scws_throttle *t);
size_t scws_throttle_blocked_keys(const struct scws_throttle *t, uint64_t now_ms);

#endif
