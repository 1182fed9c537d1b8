/* strparse.h - small text parsers shared by the command lines and the
 * protocol parsers: ports, "HOST:PORT" splitting, ASCII case folding,
 * UTF-8 sequences.
 * No protocol knowledge: each caller keeps its own grammar and messages. */
#ifndef SCWS_CORE_STRPARSE_H
#define SCWS_CORE_STRPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"

/* A decimal port in s[0..len): digits only (no sign, no space), value in
 * min..65535. 0 and *port, or -EINVAL. */
__attribute__((warn_unused_result)) int strparse_port(const char *s, size_t len, unsigned min,
						      uint16_t *port);

/* Splits "HOST", "HOST:PORT", "[V6]", "[V6]:PORT", or a bare IPv6 literal
 * (two colons or more: all host, no port) into views of spec. *has_port
 * says whether a ':' introduced a port (then *port_text may be empty).
 * -EINVAL for a '[' without ']' or anything but ':' after the ']'. The
 * host view may be empty; the caller checks it. */
__attribute__((warn_unused_result)) int strparse_hostport(const char *spec, struct bytes *host,
							  struct bytes *port_text, bool *has_port);

/* ASCII lower case; other bytes unchanged (no locale). */
static inline uint8_t ascii_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* v equals the NUL-terminated s, ASCII case-insensitively. */
bool ascii_eq_ci(struct bytes v, const char *s);

/* The length (1 to 4) of the well-formed UTF-8 sequence that starts s
 * (RFC 3629 §4: no overlong form, no surrogate, nothing past U+10FFFF),
 * or 0 when it is broken or cut by the end of the string (a NUL). */
size_t utf8_seq_len(const char *s);

#endif
