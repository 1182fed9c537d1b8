/* wbxml.c - DM bootstrap messages: XML well-formedness (libxml2) and XML <-> WBXML 1.2
 * (WAP-192-WBXML; libwbxml2 with the SyncML 1.2 and DM DDF 1.2 code pages, OMA-TS-DM_RepPro). */
#include "codec/wbxml.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <wbxml/wbxml.h>
#include <wbxml/wbxml_conv.h>

/* The first error the parser reported; later ones are consequences. */
struct xml_capture {
	bool has_error;
	int line;
	char msg[256];
};

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

/* libxml2 hands a SAX2 parser's serror the parser context as its data
 * (ctxt->userData == ctxt), so the capture rides in ctxt->_private. */
static void capture_error(void *data, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = data;
	struct xml_capture *cap = ctxt ? ctxt->_private : NULL;
	if (!cap || !e || e->level < XML_ERR_ERROR || cap->has_error)
		return;
	cap->has_error = true;
	cap->line = e->line > 0 ? e->line : 0;
	snprintf(cap->msg, sizeof(cap->msg), "%s", e->message ? e->message : "malformed XML");
	/* err holds one line; libxml2 messages end with a newline and some
	 * quote the offending input after another one. */
	cap->msg[strcspn(cap->msg, "\r\n")] = '\0';
	size_t n = strlen(cap->msg);
	while (n > 0 && cap->msg[n - 1] == ' ')
		cap->msg[--n] = '\0';
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

	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		set_err(err, errcap, "out of memory");
		return -ENOMEM;
	}
	struct xml_capture cap = { .has_error = false };
	ctxt->_private = &cap;
	ctxt->sax->serror = capture_error;
	/* No network, no external DTD, no entity substitution: a bootstrap
	 * source is checked as it stands. NOERROR/NOWARNING keep the generic
	 * channel (stderr) quiet; the structured one above still sees errors. */
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
	xmlDocPtr doc = xmlCtxtReadMemory(ctxt, (const char *)xml, (int)len, NULL, NULL, opts);
	bool ok = doc && ctxt->wellFormed && !cap.has_error;
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	if (ok)
		return 0;
	*line = cap.line;
	set_err(err, errcap, "%s", cap.has_error ? cap.msg : "malformed XML");
	return -EINVAL;
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
