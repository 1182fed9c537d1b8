/* fuzz_xml.c - fuzz target for the XML check (src/codec/wbxml.c, expat)
 * and the XML escaper (src/core/xml.c).
 *
 * Every input is checked as a bootstrap source: the answer is 0 or
 * -EINVAL with one line of reason and a line number within the input
 * (counting a lone CR as a line end, as XML does).
 * Then the same bytes, as a string, are escaped as character data and as
 * an attribute value and put in <a x="...">...</a>: expat must find that
 * document well-formed, whatever the bytes were (controls and broken
 * UTF-8 included). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/wbxml.h"
#include "core/buf.h"
#include "core/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	int line = -1;
	int rc = codec_xml_check(data, size, &line, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		abort();
	if (rc == -EINVAL) {
		/* Lines as XML counts them (§2.11): CR LF, a lone CR and LF each
		 * end one. */
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n' ||
				 (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'));
		if (!err[0] || strchr(err, '\n') || line < 0 || (size_t)line > lines)
			abort();
	}

	char *s = malloc(size + 1);
	if (!s)
		return 0;
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	struct buf doc;
	buf_init(&doc, 16 * size + 64);
	int w = buf_append_str(&doc, "<a x=\"");
	w = w ? w : xml_put_escaped(&doc, s, true);
	w = w ? w : buf_append_str(&doc, "\">");
	w = w ? w : xml_put_escaped(&doc, s, false);
	w = w ? w : buf_append_str(&doc, "</a>");
	if (w)
		abort(); /* 16 bytes per input byte is more than any escape needs */
	if (codec_xml_check(doc.p, doc.len, &line, err, sizeof(err)) != 0)
		abort();
	buf_cleanup(&doc);
	free(s);
	return 0;
}
