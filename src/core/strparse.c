/* strparse.c - ports, "HOST:PORT" splitting, ASCII case folding. */
#include "core/strparse.h"

#include <errno.h>
#include <string.h>

int strparse_port(const char *s, size_t len, unsigned min, uint16_t *port)
{
	unsigned long v = 0;
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (v < min || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int strparse_hostport(const char *spec, struct bytes *host, struct bytes *port_text, bool *has_port)
{
	*has_port = false;
	*port_text = bytes_make(NULL, 0);
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		*host = bytes_make(spec + 1, (size_t)(close - spec - 1));
		if (close[1] == ':') {
			*has_port = true;
			*port_text = bytes_make(close + 2, strlen(close + 2));
		}
		return 0;
	}
	const char *colon = strrchr(spec, ':');
	if (colon && strchr(spec, ':') != colon)
		colon = NULL; /* a bare IPv6 literal */
	*host = bytes_make(spec, colon ? (size_t)(colon - spec) : strlen(spec));
	if (colon) {
		*has_port = true;
		*port_text = bytes_make(colon + 1, strlen(colon + 1));
	}
	return 0;
}

bool ascii_eq_ci(struct bytes v, const char *s)
{
	size_t n = strlen(s);
	if (v.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(v.ptr[i]) != ascii_lower((uint8_t)s[i]))
			return false;
	return true;
}

size_t utf8_seq_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char c = u[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		n = 2;
	} else if (c < 0xF0) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c < 0xF5) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* past U+10FFFF */
	} else {
		return 0;
	}
	if (u[1] < lo || u[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if ((u[k] & 0xC0) != 0x80)
			return 0;
	return n;
}
