/* hex.h - hex text <-> bytes. */
#ifndef SCWS_CORE_HEX_H
#define SCWS_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (0-9, a-f, A-F), or -1. */
int hex_digit(int c);

/* Parses hex digits, ignoring spaces, tabs and ':' between byte pairs.
 * Returns 0 and *out_len, -EINVAL on a non-hex character or an odd digit
 * count, -EMSGSIZE when the bytes do not fit in cap. */
__attribute__((warn_unused_result)) int hex_decode(const char *s, uint8_t *out, size_t cap,
						   size_t *out_len);

/* Writes 2*len hex digits (upper case, separated by sep unless sep == 0)
 * and a NUL into out; truncates to fit cap (cap >= 1). Returns out. */
char *hex_encode(const uint8_t *p, size_t len, char sep, char *out, size_t cap);

#endif
