/* json.c - JSON string escaping (RFC 8259 §7). */
#include "core/json.h"

#include <stdio.h>

size_t json_escape_byte(unsigned char c, char out[7])
{
	if (c == '"' || c == '\\') {
		out[0] = '\\';
		out[1] = (char)c;
		out[2] = 0;
		return 2;
	}
	if (c < 0x20)
		return (size_t)snprintf(out, 7, "\\u%04x", c);
	out[0] = (char)c;
	out[1] = 0;
	return 1;
}

int json_put_escaped(struct buf *b, const char *s)
{
	char e[7];
	for (; *s; s++) {
		size_t n = json_escape_byte((unsigned char)*s, e);
		int rc = buf_append(b, e, n);
		if (rc)
			return rc;
	}
	return 0;
}

int json_put_str(struct buf *b, const char *s)
{
	int rc = buf_append_u8(b, '"');
	rc = rc ? rc : json_put_escaped(b, s);
	return rc ? rc : buf_append_u8(b, '"');
}

void json_fput_str(FILE *f, const char *s)
{
	char e[7];
	fputc('"', f);
	for (; *s; s++) {
		size_t n = json_escape_byte((unsigned char)*s, e);
		fwrite(e, 1, n, f);
	}
	fputc('"', f);
}
