/* xml.c - see xml.h. */
#include "config.h"

#include "core/xml.h"

#include <string.h>

#include "core/strparse.h"

int xml_put_escaped(struct buf *b, const char *s, bool attr)
{
	for (size_t i = 0; s[i];) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		case '\t':
			rep = attr ? "&#9;" : "\t";
			break;
		case '\n':
			rep = attr ? "&#10;" : "\n";
			break;
		case '\r':
			rep = "&#13;"; /* a raw CR would be read back as LF */
			break;
		default:
			if (c < 0x20)
				rep = "?";
			break;
		}
		if (rep) {
			int rc = buf_append(b, rep, strlen(rep));
			if (rc)
				return rc;
			i++;
			continue;
		}
		size_t n = utf8_seq_len(s + i);
		/* U+FFFE and U+FFFF are well-formed UTF-8 but no XML Char
		 * (XML 1.0 §2.2): a byte each of '?' as for broken UTF-8. */
		if (n == 3 && (unsigned char)s[i] == 0xEF && (unsigned char)s[i + 1] == 0xBF &&
		    (unsigned char)s[i + 2] >= 0xBE)
			n = 0;
		int rc = n ? buf_append(b, s + i, n) : buf_append(b, "?", 1);
		if (rc)
			return rc;
		i += n ? n : 1;
	}
	return 0;
}
