/* wbxml.c - DM bootstrap messages: XML well-formedness (expat) and XML <-> WBXML 1.2
 * (WAP-192-WBXML; libwbxml2 with the SyncML 1.2 and DM DDF 1.2 code pages, OMA-TS-DM_RepPro). */
#include "codec/wbxml.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>
#include <wbxml/wbxml.h>
#include <wbxml/wbxml_conv.h>

#include "core/limits.h"
#include "core/strparse.h"

static void set_err(char *err, size_t errcap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errcap, const char *fmt, ...)
{
	if (!err || errcap == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
}

/* The elements open while expat parses, so that a mismatched end tag can
 * name the element it should have closed and where that one opened. */
struct xml_open {
	size_t depth;
	struct {
		char name[CODEC_XML_NAME_MAX + 1];
		unsigned long line;
	} el[CODEC_XML_OPEN_NAMED];
	XML_Parser p;
};

static void XMLCALL on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct xml_open *o = arg;
	(void)attrs;
	if (o->depth < CODEC_XML_OPEN_NAMED) {
		snprintf(o->el[o->depth].name, sizeof(o->el[0].name), "%s", name);
		o->el[o->depth].line = XML_GetCurrentLineNumber(o->p);
	}
	o->depth++;
}

static void XMLCALL on_end(void *arg, const XML_Char *name)
{
	struct xml_open *o = arg;
	(void)name;
	o->depth--;
}

/* The name of the end tag whose name expat's error index points at (the
 * byte after "</"), into name. */
static bool end_tag_name(const uint8_t *xml, size_t len, size_t at, char *name, size_t cap)
{
	if (at < 2 || at >= len || xml[at - 2] != '<' || xml[at - 1] != '/')
		return false;
	size_t n = 0;
	for (; at < len && n + 1 < cap; at++) {
		uint8_t c = xml[at];
		if (c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n')
			break;
		name[n++] = (char)c;
	}
	name[n] = '\0';
	return n > 0;
}

/* Bytes of p[0..len) before the first of stop, at most CODEC_XML_NAME_MAX. */
static size_t strcspn_n(const uint8_t *p, size_t len, const char *stop)
{
	size_t n = 0;
	while (n < len && n < CODEC_XML_NAME_MAX && !strchr(stop, p[n]))
		n++;
	return n;
}

/* Whether xml[at..len) starts with a whole UTF-8 character (ASCII too). */
static bool utf8_at(const uint8_t *xml, size_t len, size_t at)
{
	char c[5] = { 0 };
	for (size_t k = 0; k < 4 && at + k < len; k++)
		c[k] = (char)xml[at + k];
	return at < len && utf8_seq_len(c) != 0;
}

int codec_xml_check(const uint8_t *xml, size_t len, int *line, char *err, size_t errcap)
{
	int dummy;
	if (!line)
		line = &dummy;
	*line = 0;
	if (len == 0) {
		*line = 1;
		set_err(err, errcap, "Document is empty");
		return -EINVAL;
	}
	if (len > INT_MAX) {
		set_err(err, errcap, "document too large");
		return -EMSGSIZE;
	}
	struct xml_open *o = calloc(1, sizeof(*o));
	XML_Parser p = o ? XML_ParserCreate(NULL) : NULL;
	if (!p) {
		free(o);
		set_err(err, errcap, "out of memory");
		return -ENOMEM;
	}
	/* No handler for external entities or parameter entities: expat then
	 * reads no DTD and fetches nothing; a bootstrap source is checked as
	 * it stands. */
	o->p = p;
	XML_SetUserData(p, o);
	XML_SetElementHandler(p, on_start, on_end);
	int rc = 0;
	if (XML_Parse(p, (const char *)xml, (int)len, XML_TRUE) != XML_STATUS_OK) {
		enum XML_Error code = XML_GetErrorCode(p);
		unsigned long l = XML_GetCurrentLineNumber(p);
		char closing[CODEC_XML_NAME_MAX + 1];
		XML_Index at = XML_GetCurrentByteIndex(p);
		*line = l > INT_MAX ? 0 : (int)l;
		rc = code == XML_ERROR_NO_MEMORY ? -ENOMEM : -EINVAL;
		if (code == XML_ERROR_TAG_MISMATCH && o->depth >= 1 &&
		    o->depth <= CODEC_XML_OPEN_NAMED && at >= 0 &&
		    end_tag_name(xml, len, (size_t)at, closing, sizeof(closing)))
			set_err(err, errcap, "%s: </%s> while <%s> of line %lu is open",
				XML_ErrorString(code), closing, o->el[o->depth - 1].name,
				o->el[o->depth - 1].line);
		else if (code == XML_ERROR_UNDEFINED_ENTITY && at >= 0 && (size_t)at < len &&
			 xml[at] == '&')
			set_err(err, errcap, "%s: &%.*s;", XML_ErrorString(code),
				(int)strcspn_n(xml + at + 1, len - (size_t)at - 1, ";<\n"),
				(const char *)xml + at + 1);
		else if (code == XML_ERROR_INVALID_TOKEN && at >= 0 &&
			 !utf8_at(xml, len, (size_t)at))
			set_err(err, errcap, "%s: bytes that are not UTF-8", XML_ErrorString(code));
		else
			set_err(err, errcap, "%s", XML_ErrorString(code));
	}
	XML_ParserFree(p);
	free(o);
	return rc;
}

static const char *wbxml_reason(WBXMLError e)
{
	const WB_UTINY *s = wbxml_errors_string(e);
	return s ? (const char *)s : "unknown error";
}

static int wbxml_errno(WBXMLError e)
{
	return e == WBXML_ERROR_NOT_ENOUGH_MEMORY ? -ENOMEM : -EINVAL;
}

/* libwbxml2 wants a mutable, NUL-terminated copy (its SyncML path re-parses
 * the embedded MgmtTree from the text). */
static uint8_t *dup_nul(const uint8_t *p, size_t len)
{
	uint8_t *q = malloc(len + 1);
	if (!q)
		return NULL;
	if (len)
		memcpy(q, p, len);
	q[len] = 0;
	return q;
}

int codec_wbxml_encode(const uint8_t *xml, size_t len, struct buf *out, char *err, size_t errcap)
{
	int line = 0;
	char why[256];
	int rc = codec_xml_check(xml, len, &line, why, sizeof(why));
	if (rc) {
		set_err(err, errcap, "line %d: %s", line, why);
		return rc;
	}
	/* WB_ULONG is 32 bits wide. */
	if (len > UINT32_MAX - 1) {
		set_err(err, errcap, "document too large");
		return -EMSGSIZE;
	}

	uint8_t *copy = dup_nul(xml, len);
	WBXMLConvXML2WBXML *conv = NULL;
	if (!copy || wbxml_conv_xml2wbxml_create(&conv) != WBXML_OK) {
		free(copy);
		set_err(err, errcap, "out of memory");
		return -ENOMEM;
	}
	/* DM 1.2 accepts WBXML 1.1, 1.2 or 1.3 (OMA-TS-DM_RepPro §6); 1.2 is
	 * what deployed clients decode. The embedded TNDS MgmtTree is encoded
	 * with the same version as opaque data, and its Meta/Type becomes
	 * application/vnd.syncml.dmtnds+wbxml. */
	wbxml_conv_xml2wbxml_set_version(conv, WBXML_VERSION_12);
	WB_UTINY *wb = NULL;
	WB_ULONG wb_len = 0;
	WBXMLError e = wbxml_conv_xml2wbxml_run(conv, copy, (WB_ULONG)len, &wb, &wb_len);
	wbxml_conv_xml2wbxml_destroy(conv);
	free(copy);
	if (e != WBXML_OK) {
		free(wb);
		set_err(err, errcap, "WBXML encoding failed: %s", wbxml_reason(e));
		return wbxml_errno(e);
	}
	rc = buf_append(out, wb, wb_len);
	free(wb);
	if (rc)
		set_err(err, errcap, "WBXML output does not fit (%lu bytes)",
			(unsigned long)wb_len);
	return rc;
}

int codec_wbxml_decode(const uint8_t *wbxml, size_t len, struct buf *out, char *err, size_t errcap)
{
	if (len == 0) {
		set_err(err, errcap, "empty WBXML document");
		return -EINVAL;
	}
	if (len > UINT32_MAX - 1) {
		set_err(err, errcap, "document too large");
		return -EMSGSIZE;
	}
	uint8_t *copy = dup_nul(wbxml, len);
	WBXMLConvWBXML2XML *conv = NULL;
	if (!copy || wbxml_conv_wbxml2xml_create(&conv) != WBXML_OK) {
		free(copy);
		set_err(err, errcap, "out of memory");
		return -ENOMEM;
	}
	/* Indented, so that `scwsemu-card bootstrap --xml` is readable;
	 * libwbxml2 never adds white space inside text content. */
	wbxml_conv_wbxml2xml_set_gen_type(conv, WBXML_GEN_XML_INDENT);
	wbxml_conv_wbxml2xml_set_indent(conv, 2);
	WB_UTINY *x = NULL;
	WB_ULONG x_len = 0;
	WBXMLError e = wbxml_conv_wbxml2xml_run(conv, copy, (WB_ULONG)len, &x, &x_len);
	wbxml_conv_wbxml2xml_destroy(conv);
	free(copy);
	if (e != WBXML_OK) {
		free(x);
		set_err(err, errcap, "WBXML decoding failed: %s", wbxml_reason(e));
		return wbxml_errno(e);
	}
	int rc = buf_append(out, x, x_len);
	free(x);
	if (rc)
		set_err(err, errcap, "XML output does not fit (%lu bytes)", (unsigned long)x_len);
	return rc;
}

bool codec_is_xml(const uint8_t *p, size_t n)
{
	size_t i = 0;
	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		i = 3; /* UTF-8 byte order mark */
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i < n && p[i] == '<';
}
