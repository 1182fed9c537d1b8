/* throttle.c - failed credential attempts per key in fixed windows (throttle.h). */
#include "scws/throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

#define KEY_MAX 112u

struct entry {
	char key[KEY_MAX];
	uint64_t start; /* first failure of the window */
	uint64_t last;  /* last failure (LRU) */
	unsigned count;
	bool used;
};

struct scws_throttle {
	unsigned limit, window_ms;
	unsigned long refused;
	struct entry e[AUTH_FAIL_KEYS_MAX];
};

struct scws_throttle *scws_throttle_new(unsigned limit, unsigned window_ms)
{
	struct scws_throttle *t = calloc(1, sizeof(*t));
	if (t)
		scws_throttle_configure(t, limit, window_ms);
	return t;
}

void scws_throttle_free(struct scws_throttle *t)
{
	free(t);
}

void scws_throttle_configure(struct scws_throttle *t, unsigned limit, unsigned window_ms)
{
	t->limit = limit;
	t->window_ms = window_ms ? window_ms : AUTH_FAIL_WINDOW_MS_DEFAULT;
}

static struct entry *find(const struct scws_throttle *t, const char *key)
{
	for (size_t i = 0; i < AUTH_FAIL_KEYS_MAX; i++)
		if (t->e[i].used && strcmp(t->e[i].key, key) == 0)
			return (struct entry *)&t->e[i];
	return NULL;
}

uint64_t scws_throttle_blocked(const struct scws_throttle *t, const char *key, uint64_t now_ms)
{
	if (!t || !t->limit || !key)
		return 0;
	const struct entry *e = find(t, key);
	if (!e || e->count < t->limit || now_ms >= e->start + t->window_ms)
		return 0;
	return e->start + t->window_ms - now_ms;
}

bool scws_throttle_fail(struct scws_throttle *t, const char *key, uint64_t now_ms)
{
	if (!t || !t->limit || !key)
		return false;
	struct entry *e = find(t, key);
	if (!e) {
		/* A free slot, or the least recently failing key. */
		e = &t->e[0];
		for (size_t i = 0; i < AUTH_FAIL_KEYS_MAX; i++) {
			if (!t->e[i].used) {
				e = &t->e[i];
				break;
			}
			if (t->e[i].last < e->last)
				e = &t->e[i];
		}
		memset(e, 0, sizeof(*e));
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->used = true;
	}
	if (!e->count || now_ms >= e->start + t->window_ms) {
		e->start = now_ms;
		e->count = 0;
	}
	e->last = now_ms;
	e->count++;
	return e->count == t->limit;
}

void scws_throttle_refused_one(struct scws_throttle *t)
{
	if (t)
		t->refused++;
}

unsigned long scws_throttle_refused(const struct scws_throttle *t)
{
	return t ? t->refused : 0;
}

size_t scws_throttle_blocked_keys(const struct scws_throttle *t, uint64_t now_ms)
{
	size_t n = 0;
	for (size_t i = 0; t && i < AUTH_FAIL_KEYS_MAX; i++)
		if (t->e[i].used && scws_throttle_blocked(t, t->e[i].key, now_ms))
			n++;
	return n;
}
