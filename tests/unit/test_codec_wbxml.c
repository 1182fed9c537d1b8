/* test_codec_wbxml.c - unit tests for src/codec/wbxml.c: XML checks (expat),
 * XML -> WBXML 1.2 -> XML round trips of the DM bootstrap (libwbxml2). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "codec/wbxml.h"
#include "core/buf.h"
#include "runner.h"

#define BOOTSTRAP "cards/default/bootstrap.xml"

/* find() is a GNU extension. */
static const uint8_t *find(const uint8_t *p, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; n && i + n <= len; i++)
		if (memcmp(p + i, needle, n) == 0)
			return p + i;
	return NULL;
}

/* Everything NodeName and Value hold, in document order, one per line. */
static void collect(xmlNodePtr n, struct buf *out)
{
	for (; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && (!xmlStrcmp(n->name, BAD_CAST "NodeName") ||
						    !xmlStrcmp(n->name, BAD_CAST "Value"))) {
			xmlChar *s = xmlNodeGetContent(n);
			CU_ASSERT_EQUAL(buf_printf(out, "%s=%s\n", (const char *)n->name,
						   s ? (const char *)s : ""),
					0);
			xmlFree(s);
		}
		collect(n->children, out);
	}
}

static int leaves(const uint8_t *xml, size_t len, struct buf *out)
{
	xmlDocPtr doc = xmlReadMemory((const char *)xml, (int)len, NULL, NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EINVAL;
	collect(xmlDocGetRootElement(doc), out);
	xmlFreeDoc(doc);
	return 0;
}

static uint8_t *read_bootstrap(size_t *len)
{
	uint8_t *p = unit_read_file(unit_srcpath(BOOTSTRAP), len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

/* Runs fn with stderr redirected to a temporary file; returns the number of
 * bytes written to stderr meanwhile. */
static long stderr_bytes(void (*fn)(void))
{
	char path[] = "/tmp/test_wbxml_stderrXXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	CU_ASSERT_FATAL(saved >= 0);
	CU_ASSERT_FATAL(dup2(fd, 2) == 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	long n = lseek(fd, 0, SEEK_END);
	close(fd);
	unlink(path);
	return n;
}

static void test_check_bootstrap_ok(void)
{
	size_t len;
	uint8_t *xml = read_bootstrap(&len);
	int line = -1;
	char err[256] = "untouched";
	CU_ASSERT_EQUAL(codec_xml_check(xml, len, &line, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(line, 0);
	free(xml);
}

static const struct {
	const char *xml;
	int line;
	const char *msg; /* fragment of the message */
} bad_xml[] = {
	{ "<a><b></a>", 1, "mismatched tag: </a> while <b> of line 1 is open" },
	{ "<?xml version=\"1.0\"?>\n<SyncML>\n  <SyncHdr>\n</SyncML>\n", 4,
	  "mismatched tag: </SyncML> while <SyncHdr> of line 3 is open" },
	{ "<a>\n\n&bogus;</a>", 3, "undefined entity: &bogus;" },
	{ "<a x='1' x='2'/>", 1, "duplicate attribute" },
	{ "<a></a>\n<b/>", 2, "junk after document element" },
	{ "\n\n<a>", 3, "no element found" },
	{ "<a>\n<!-- -- --></a>", 2, "not well-formed (invalid token)" },
	{ "   ", 1, "no element found" },
	{ "", 1, "Document is empty" },
	{ "<a>\xff\xfe</a>", 1, "not well-formed (invalid token): bytes that are not UTF-8" },
};

static void test_check_errors(void)
{
	for (size_t i = 0; i < sizeof(bad_xml) / sizeof(bad_xml[0]); i++) {
		int line = -1;
		char err[256] = "";
		const uint8_t *in = (const uint8_t *)bad_xml[i].xml;
		int rc = codec_xml_check(in, strlen(bad_xml[i].xml), &line, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_EQUAL(line, bad_xml[i].line);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad_xml[i].msg));
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		if (line != bad_xml[i].line || !strstr(err, bad_xml[i].msg))
			fprintf(stderr, "case %zu: line %d: %s\n", i, line, err);
	}
}

/* An external entity must not be fetched (XML_PARSE_NONET, no DTD load). */
static void test_check_no_external(void)
{
	const char *xml = "<!DOCTYPE a SYSTEM \"http://127.0.0.1:9/x.dtd\"><a/>";
	int line = -1;
	char err[128];
	const uint8_t *in = (const uint8_t *)xml;
	CU_ASSERT_EQUAL(codec_xml_check(in, strlen(xml), &line, err, sizeof(err)), 0);
}

static void quiet_calls(void)
{
	static const char bad[] = "<a><b></a>";
	static const uint8_t junk[] = { 0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0xC3, 0x85 };
	struct buf out;
	buf_init(&out, 1 << 20);
	char err[128];
	int line;
	int rc = codec_xml_check((const uint8_t *)bad, strlen(bad), &line, err, sizeof(err));
	rc |= codec_wbxml_encode((const uint8_t *)bad, strlen(bad), &out, err, sizeof(err));
	rc |= codec_wbxml_decode(junk, sizeof(junk), &out, err, sizeof(err));
	CU_ASSERT_NOT_EQUAL(rc, 0);
	buf_cleanup(&out);
}

static void test_errors_are_quiet(void)
{
	CU_ASSERT_EQUAL(stderr_bytes(quiet_calls), 0);
}

static void test_encode_header(void)
{
	size_t len;
	uint8_t *xml = read_bootstrap(&len);
	struct buf out;
	buf_init(&out, 1 << 20);
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(codec_wbxml_encode(xml, len, &out, err, sizeof(err)), 0);
	/* version 1.2, public id 0x1201 (-//SYNCML//DTD SyncML 1.2//EN) as a
	 * multi-byte integer, charset 106 (UTF-8). */
	static const uint8_t head[] = { 0x02, 0xA4, 0x01, 0x6A };
	CU_ASSERT_FATAL(out.len > 100);
	CU_ASSERT_EQUAL(memcmp(out.p, head, sizeof(head)), 0);
	/* The MgmtTree travels as an OPAQUE (C3) holding a WBXML 1.2 document
	 * whose public id is the DM DDF 1.2 FPI in its string table. */
	static const char fpi[] = "-//OMA//DTD-DM-DDF 1.2//EN";
	CU_ASSERT_PTR_NOT_NULL(find(out.p, out.len, fpi, sizeof(fpi)));
	static const uint8_t opaque_doc[] = { 0x02, 0x00 };
	uint8_t *c3 = memchr(out.p, 0xC3, out.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c3);
	/* C3, mb_u_int32 length, then the embedded document's version byte. */
	size_t i = (size_t)(c3 - out.p) + 1, olen = 0;
	while (i < out.len && (out.p[i] & 0x80))
		olen = (olen << 7) | (out.p[i++] & 0x7F);
	CU_ASSERT_FATAL(i < out.len);
	olen = (olen << 7) | out.p[i++];
	CU_ASSERT(olen > 100 && i + olen < out.len);
	CU_ASSERT_EQUAL(memcmp(out.p + i, opaque_doc, sizeof(opaque_doc)), 0);
	/* And the item's Meta/Type says so. */
	static const char wbtype[] = "application/vnd.syncml.dmtnds+wbxml";
	CU_ASSERT_PTR_NOT_NULL(find(out.p, out.len, wbtype, sizeof(wbtype) - 1));
	buf_cleanup(&out);
	free(xml);
}

static void test_round_trip(void)
{
	size_t len;
	uint8_t *xml = read_bootstrap(&len);
	struct buf wb, back, a, b;
	buf_init(&wb, 1 << 20);
	buf_init(&back, 1 << 20);
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(codec_wbxml_encode(xml, len, &wb, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(codec_wbxml_decode(wb.p, wb.len, &back, err, sizeof(err)), 0);

	CU_ASSERT_EQUAL_FATAL(leaves(xml, len, &a), 0);
	CU_ASSERT_EQUAL_FATAL(leaves(back.p, back.len, &b), 0);
	/* 27 NodeNames and 18 Values in the example. */
	size_t lines = 0;
	for (size_t i = 0; i < a.len; i++)
		lines += a.p[i] == '\n';
	CU_ASSERT_EQUAL(lines, 27 + 18);
	CU_ASSERT_EQUAL(a.len, b.len);
	CU_ASSERT(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
	CU_ASSERT_PTR_NOT_NULL(find(a.p, a.len, "Value=https://dm.example.com:443/oma-dm\n", 40));

	/* The decoded message is SyncML 1.2 again, TNDS typed as XML. */
	CU_ASSERT_PTR_NOT_NULL(find(back.p, back.len, "<SyncML xmlns=\"SYNCML:SYNCML1.2\">", 33));
	CU_ASSERT_PTR_NOT_NULL(find(back.p, back.len, "<MgmtTree xmlns=\"syncml:dmddf1.2\">", 34));
	CU_ASSERT_PTR_NOT_NULL(find(back.p, back.len, "application/vnd.syncml.dmtnds+xml", 33));
	int line;
	CU_ASSERT_EQUAL(codec_xml_check(back.p, back.len, &line, err, sizeof(err)), 0);

	/* Encoding the decoded form again gives the same bytes. */
	struct buf wb2;
	buf_init(&wb2, 1 << 20);
	CU_ASSERT_EQUAL(codec_wbxml_encode(back.p, back.len, &wb2, err, sizeof(err)), 0);
	CU_ASSERT(wb2.len == wb.len && memcmp(wb2.p, wb.p, wb.len) == 0);

	buf_cleanup(&wb2);
	buf_cleanup(&wb);
	buf_cleanup(&back);
	buf_cleanup(&a);
	buf_cleanup(&b);
	free(xml);
}

/* A bare TNDS object (DM DDF 1.2 code page 2). */
static void test_bare_mgmttree(void)
{
	static const char xml[] = "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>"
				  "<Node><NodeName>x</NodeName><Value>1</Value></Node></MgmtTree>";
	struct buf wb, back;
	buf_init(&wb, 4096);
	buf_init(&back, 4096);
	char err[256] = "";
	const uint8_t *in = (const uint8_t *)xml;
	CU_ASSERT_EQUAL_FATAL(codec_wbxml_encode(in, strlen(xml), &wb, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(wb.p[0], 0x02);
	CU_ASSERT_EQUAL_FATAL(codec_wbxml_decode(wb.p, wb.len, &back, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(find(back.p, back.len, "<NodeName>x</NodeName>", 22));
	CU_ASSERT_PTR_NOT_NULL(find(back.p, back.len, "<Value>1</Value>", 16));
	buf_cleanup(&wb);
	buf_cleanup(&back);
}

static void test_encode_errors(void)
{
	struct buf out;
	buf_init(&out, 1 << 20);
	char err[256] = "";
	static const char bad[] = "<SyncML>\n<SyncHdr>\n</SyncML>";
	const uint8_t *in = (const uint8_t *)bad;
	CU_ASSERT_EQUAL(codec_wbxml_encode(in, strlen(bad), &out, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(
		err, "line 3: mismatched tag: </SyncML> while <SyncHdr> of line 2 is open");
	CU_ASSERT_EQUAL(out.len, 0);

	static const char unknown[] = "<foo xmlns=\"urn:x\"><bar/></foo>";
	CU_ASSERT_EQUAL(codec_wbxml_encode((const uint8_t *)unknown, strlen(unknown), &out, err,
					   sizeof(err)),
			-EINVAL);
	CU_ASSERT_EQUAL(strcmp(err, "WBXML encoding failed: The XML language is unknown."), 0);
	CU_ASSERT_EQUAL(out.len, 0);
	buf_cleanup(&out);
}

static void test_output_cap(void)
{
	size_t len;
	uint8_t *xml = read_bootstrap(&len);
	struct buf out, back;
	buf_init(&out, 64);
	char err[256] = "";
	CU_ASSERT_EQUAL(codec_wbxml_encode(xml, len, &out, err, sizeof(err)), -EMSGSIZE);
	CU_ASSERT_EQUAL(out.len, 0);
	buf_cleanup(&out);

	buf_init(&out, 1 << 20);
	buf_init(&back, 128);
	CU_ASSERT_EQUAL_FATAL(codec_wbxml_encode(xml, len, &out, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(codec_wbxml_decode(out.p, out.len, &back, err, sizeof(err)), -EMSGSIZE);
	CU_ASSERT_EQUAL(back.len, 0);
	buf_cleanup(&out);
	buf_cleanup(&back);
	free(xml);
}

/* Every proper prefix of a valid document is refused, each from an exactly
 * sized copy so that ASan sees a read past the end. */
static void test_decode_prefixes(void)
{
	size_t len;
	uint8_t *xml = read_bootstrap(&len);
	struct buf wb;
	buf_init(&wb, 1 << 20);
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(codec_wbxml_encode(xml, len, &wb, err, sizeof(err)), 0);
	unsigned accepted = 0;
	for (size_t n = 0; n < wb.len; n++) {
		uint8_t *p = malloc(n ? n : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, wb.p, n);
		struct buf out;
		buf_init(&out, 1 << 20);
		err[0] = 0;
		int rc = codec_wbxml_decode(p, n, &out, err, sizeof(err));
		if (rc == 0)
			accepted++;
		else if (err[0] == 0)
			accepted += 1000; /* a refusal must say why */
		buf_cleanup(&out);
		free(p);
	}
	CU_ASSERT_EQUAL(accepted, 0);
	buf_cleanup(&wb);
	free(xml);
}

static void test_decode_junk(void)
{
	static const struct {
		const uint8_t *p;
		size_t len;
		const char *err;
	} cases[] = {
		{ (const uint8_t *)"", 0, "empty WBXML document" },
		{ (const uint8_t *)"\x02", 1, "WBXML decoding failed: " },
		{ (const uint8_t *)"<?xml version=\"1.0\"?><a/>", 25, "WBXML decoding failed: " },
		/* An OPAQUE longer than the document. */
		{ (const uint8_t *)"\x02\xA4\x01\x6A\x00\x6D\xC3\x85\x00", 9,
		  "WBXML decoding failed: " },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out;
		buf_init(&out, 4096);
		char err[256] = "";
		int rc = codec_wbxml_decode(cases[i].p, cases[i].len, &out, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_EQUAL(strncmp(err, cases[i].err, strlen(cases[i].err)), 0);
		CU_ASSERT_EQUAL(out.len, 0);
		buf_cleanup(&out);
	}
}

/* Output is appended: what was in the buffer stays in front. */
static void test_appends(void)
{
	static const char xml[] = "<MgmtTree xmlns=\"syncml:dmddf1.2\">"
				  "<VerDTD>1.2</VerDTD></MgmtTree>";
	struct buf out;
	buf_init(&out, 4096);
	CU_ASSERT_EQUAL(buf_append(&out, "AB", 2), 0);
	char err[128];
	const uint8_t *in = (const uint8_t *)xml;
	CU_ASSERT_EQUAL(codec_wbxml_encode(in, strlen(xml), &out, err, sizeof(err)), 0);
	CU_ASSERT(out.len > 4);
	CU_ASSERT_EQUAL(memcmp(out.p, "AB\x02", 3), 0);
	buf_cleanup(&out);
}

static CU_TestInfo tests[] = {
	UNIT_TEST(test_check_bootstrap_ok),
	UNIT_TEST(test_check_errors),
	UNIT_TEST(test_check_no_external),
	UNIT_TEST(test_errors_are_quiet),
	UNIT_TEST(test_encode_header),
	UNIT_TEST(test_round_trip),
	UNIT_TEST(test_bare_mgmttree),
	UNIT_TEST(test_encode_errors),
	UNIT_TEST(test_output_cap),
	UNIT_TEST(test_decode_prefixes),
	UNIT_TEST(test_decode_junk),
	UNIT_TEST(test_appends),
	CU_TEST_INFO_NULL,
};

int unit_register(void)
{
	return unit_add_suite("codec_wbxml", tests);
}
