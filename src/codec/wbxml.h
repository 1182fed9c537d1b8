/* wbxml.h - DM bootstrap messages: XML well-formedness (expat) and
 * XML <-> WBXML conversion (libwbxml2, SyncML 1.2 / DM DDF 1.2 code pages).
 *
 * err receives one line without a newline; libwbxml2 and expat are kept
 * off stderr. Output buffers are appended to, never reset. */
#ifndef SCWS_CODEC_WBXML_H
#define SCWS_CODEC_WBXML_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

/* 0 when the bytes are well-formed XML; -EINVAL with *line (1-based, 0 when
 * unknown; line may be NULL) and expat's error in err (no "line N:"
 * prefix; a mismatched end tag also names the element it should close and
 * the line that element opened on); -EMSGSIZE over INT_MAX bytes, -ENOMEM.
 * No network, no external DTD or entity. */
__attribute__((warn_unused_result)) int codec_xml_check(const uint8_t *xml, size_t len, int *line,
							char *err, size_t errcap);

/* XML -> WBXML 1.2 (SyncML 1.2 public id for a SyncML 1.2 message; an
 * embedded TNDS MgmtTree becomes opaque WBXML, as DM 1.2 requires). Checks
 * well-formedness first: malformed XML gives -EINVAL and err
 * "line N: <parser message>". Appends to out. 0 or a negative errno
 * (-EINVAL, -EMSGSIZE when out's cap is passed, -ENOMEM) with err set. */
__attribute__((warn_unused_result)) int codec_wbxml_encode(const uint8_t *xml, size_t len,
							   struct buf *out, char *err,
							   size_t errcap);

/* WBXML -> XML text. Appends to out. 0 or a negative errno with err set. */
__attribute__((warn_unused_result)) int codec_wbxml_decode(const uint8_t *wbxml, size_t len,
							   struct buf *out, char *err,
							   size_t errcap);

/* XML, as opposed to WBXML: the document starts (after a UTF-8 byte order
 * mark and blanks) with '<'. */
bool codec_is_xml(const uint8_t *p, size_t n);

#endif
