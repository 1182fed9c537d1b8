/* bytes.h - borrowed byte views and bounded read/write cursors.
 *
 * struct rd and struct wr carry a sticky failure flag: a read past the end
 * returns zero and sets `failed`, a write past `cap` writes nothing and sets
 * `failed`. A decoder reads a whole header and checks once.
 * All functions here are inline and allocation-free. */
#ifndef SCWS_CORE_BYTES_H
#define SCWS_CORE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A borrowed view; valid as long as the owner keeps the bytes. */
struct bytes {
	const uint8_t *ptr;
	size_t len;
};

static inline struct bytes bytes_make(const void *p, size_t len)
{
	struct bytes b = { (const uint8_t *)p, len };
	return b;
}

static inline bool bytes_eq(struct bytes a, const void *p, size_t len)
{
	return a.len == len && (len == 0 || memcmp(a.ptr, p, len) == 0);
}

/* Read cursor. Invariant: pos <= len. */
struct rd {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool failed;
};

static inline void rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = (const uint8_t *)p;
	r->len = len;
	r->pos = 0;
	r->failed = false;
}

static inline size_t rd_left(const struct rd *r)
{
	return r->len - r->pos;
}

static inline bool rd_need(struct rd *r, size_t n)
{
	if (r->failed || rd_left(r) < n) {
		r->failed = true;
		return false;
	}
	return true;
}

static inline uint8_t rd_u8(struct rd *r)
{
	if (!rd_need(r, 1))
		return 0;
	return r->p[r->pos++];
}

static inline uint16_t rd_u16be(struct rd *r)
{
	if (!rd_need(r, 2))
		return 0;
	uint16_t v = (uint16_t)((r->p[r->pos] << 8) | r->p[r->pos + 1]);
	r->pos += 2;
	return v;
}

static inline uint8_t rd_peek(const struct rd *r)
{
	return (!r->failed && r->pos < r->len) ? r->p[r->pos] : 0;
}

/* A view of the next n bytes; empty view and failed on short input. */
static inline struct bytes rd_bytes(struct rd *r, size_t n)
{
	struct bytes b = { NULL, 0 };
	if (!rd_need(r, n))
		return b;
	b.ptr = r->p + r->pos;
	b.len = n;
	r->pos += n;
	return b;
}

/* Write cursor. Invariant: len <= cap; never writes past cap. */
struct wr {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool failed;
};

static inline void wr_init(struct wr *w, void *p, size_t cap)
{
	w->p = (uint8_t *)p;
	w->cap = cap;
	w->len = 0;
	w->failed = false;
}

static inline bool wr_room(struct wr *w, size_t n)
{
	if (w->failed || w->cap - w->len < n) {
		w->failed = true;
		return false;
	}
	return true;
}

static inline void wr_u8(struct wr *w, uint8_t v)
{
	if (wr_room(w, 1))
		w->p[w->len++] = v;
}

static inline void wr_u16be(struct wr *w, uint16_t v)
{
	if (wr_room(w, 2)) {
		w->p[w->len++] = (uint8_t)(v >> 8);
		w->p[w->len++] = (uint8_t)v;
	}
}

static inline void wr_mem(struct wr *w, const void *p, size_t n)
{
	if (n && wr_room(w, n)) {
		memcpy(w->p + w->len, p, n);
		w->len += n;
	}
}

#endif
