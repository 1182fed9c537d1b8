/* json.h - JSON string escaping (RFC 8259 §7) for the writers that build
 * JSON text by hand: log lines, the ready file, scwsemu-fetch's summary.
 * jansson parses and builds whole documents; this is the one escaper for
 * the places that only need a string written out.
 *
 * Escaped: '"' and '\\' (with a backslash), bytes below 0x20 (as \u00xx).
 * Every other byte, 0x7F and UTF-8 included, passes through unchanged. */
#ifndef SCWS_CORE_JSON_H
#define SCWS_CORE_JSON_H

#include <stdio.h>

#include "core/buf.h"

/* The escaped form of one byte into out (NUL-terminated, at most 6 bytes
 * plus the NUL). Returns its length (1, 2 or 6). */
size_t json_escape_byte(unsigned char c, char out[7]);

/* Appends s as a JSON string, quotes included. 0, or -EMSGSIZE/-ENOMEM
 * from the buffer (the buffer may then hold a part of the string). */
__attribute__((warn_unused_result)) int json_put_str(struct buf *b, const char *s);

/* Appends only the escaped body of s, without quotes. Same returns. */
__attribute__((warn_unused_result)) int json_put_escaped(struct buf *b, const char *s);

/* Writes s as a JSON string, quotes included, to f. */
void json_fput_str(FILE *f, const char *s);

#endif
