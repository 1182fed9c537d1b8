/* xml.h - XML 1.0 text escaping for the one XML document scwsemu writes by
 * hand, the JUnit report (lab/verdict.c). Parsing XML is codec/wbxml's
 * (expat); this only writes character data and attribute values.
 *
 * Escaped: '&' '<' '>' '"' '\'' as entities; in an attribute value also
 * TAB, LF and CR as character references (XML 1.0 §3.3.3 would otherwise
 * normalise them to spaces). Characters XML 1.0 cannot carry at all (C0
 * controls other than TAB, LF, CR; U+FFFE, U+FFFF) and each byte of a
 * broken UTF-8 sequence become '?': the text comes from a peer and may be
 * anything. */
#ifndef SCWS_CORE_XML_H
#define SCWS_CORE_XML_H

#include <stdbool.h>

#include "core/buf.h"

/* Appends s escaped (attr: as an attribute value, without the quotes).
 * 0, or -EMSGSIZE/-ENOMEM from the buffer. */
__attribute__((warn_unused_result)) int xml_put_escaped(struct buf *b, const char *s, bool attr);

#endif
