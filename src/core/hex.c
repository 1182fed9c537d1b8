/* hex.c - hex text <-> bytes. */
#include "core/hex.h"

#include <errno.h>

int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *s, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == ':' || *s == '\n') {
			if (hi >= 0)
				return -EINVAL; /* separator inside a byte */
			continue;
		}
		int v = hex_digit((unsigned char)*s);
		if (v < 0)
			return -EINVAL;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap)
			return -EMSGSIZE;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		return -EINVAL;
	*out_len = n;
	return 0;
}

char *hex_encode(const uint8_t *p, size_t len, char sep, char *out, size_t cap)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		size_t need = (sep && i) ? 3 : 2;
		if (o + need + 1 > cap)
			break;
		if (sep && i)
			out[o++] = sep;
		out[o++] = digits[p[i] >> 4];
		out[o++] = digits[p[i] & 15];
	}
	out[o] = 0;
	return out;
}
