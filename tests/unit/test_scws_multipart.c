/* test_scws_multipart.c - unit tests for src/scws/multipart.c: Content-Type
 * boundaries, and a table of bodies (doc/protocol.md §6 edge cases) run whole,
 * split at every point, one byte per feed and as every prefix. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "scws/multipart.h"
#include "runner.h"

/* ---------------------------------------------------------------- harness */

/* Events rendered as text: per part
 * "<name>[;type=<t>][;charset=<c>][;filename=<f>]=<value>\n", with bytes
 * outside printable ASCII (and '\\') escaped as \r \n \xHH \\. Data is
 * appended as it streams, so the rendering of a prefix of the body is a
 * prefix of the full rendering. */
struct got {
	struct buf out;
	bool in_part;
	unsigned begins, ends;
	int begin_rc;
	bool nesting_ok;
};

static void put_escaped(struct buf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		int rc;
		if (c == '\r')
			rc = buf_append_str(b, "\\r");
		else if (c == '\n')
			rc = buf_append_str(b, "\\n");
		else if (c == '\\')
			rc = buf_append_str(b, "\\\\");
		else if (c < 0x20 || c >= 0x7F)
			rc = buf_printf(b, "\\x%02x", c);
		else
			rc = buf_append_u8(b, c);
		if (rc)
			CU_FAIL("rendering buffer full");
	}
}

static void put_view(struct buf *b, const char *label, struct bytes v, bool present)
{
	if (!present)
		return;
	CU_ASSERT_EQUAL(buf_append_str(b, label), 0);
	put_escaped(b, v.ptr, v.len);
}

static int on_begin(void *arg, const struct scws_multipart_part *part)
{
	struct got *g = arg;
	if (g->in_part || part->index != g->begins + 1)
		g->nesting_ok = false;
	g->in_part = true;
	g->begins++;
	put_escaped(&g->out, part->name.ptr, part->name.len);
	put_view(&g->out, ";type=", part->content_type, part->content_type.len > 0);
	put_view(&g->out, ";charset=", part->charset, part->charset.len > 0);
	put_view(&g->out, ";filename=", part->filename, part->has_filename);
	CU_ASSERT_EQUAL(buf_append_u8(&g->out, '='), 0);
	return g->begin_rc;
}

static int on_data(void *arg, const struct scws_multipart_part *part, const uint8_t *data,
		   size_t len)
{
	struct got *g = arg;
	if (!g->in_part || len == 0 || part->index != g->begins)
		g->nesting_ok = false;
	put_escaped(&g->out, data, len);
	return 0;
}

static int on_end(void *arg, const struct scws_multipart_part *part)
{
	struct got *g = arg;
	if (!g->in_part || part->index != g->begins)
		g->nesting_ok = false;
	g->in_part = false;
	g->ends++;
	CU_ASSERT_EQUAL(buf_append_u8(&g->out, '\n'), 0);
	return 0;
}

static const struct scws_multipart_callbacks cbs = { on_begin, on_data, on_end };

/* ---------------------------------------------------------------- Content-Type */

static const struct {
	const char *ctype;
	int status;
	const char *boundary_or_reason;
} ctypes[] = {
	{ "multipart/form-data; boundary=------------------------d74496d66958873e", 0,
	  "------------------------d74496d66958873e" },
	{ "multipart/form-data; boundary=\"simple boundary\"", 0, "simple boundary" },
	{ "Multipart/Form-Data; BOUNDARY=AaB03x", 0, "AaB03x" },
	{ "multipart/form-data ;\tboundary = AaB03x ; charset=utf-8", 0, "AaB03x" },
	{ "multipart/form-data;boundary=x;", 0, "x" },
	{ "multipart/form-data; charset=\"a;b\"; boundary=\"q\\\"x\"", 400,
	  "boundary has a character outside RFC 2046 bchars" },
	{ "multipart/form-data; boundary=\"a\\\\b\"", 400,
	  "boundary has a character outside RFC 2046 bchars" },
	{ "multipart/form-data; boundary=\"'()+_,-./:=? x\"", 0, "'()+_,-./:=? x" },
	{ "multipart/form-data; boundary=a:b=c?", 0, "a:b=c?" },
	{ "multipart/form-data; boundary="
	  "0123456789012345678901234567890123456789012345678901234567890123456789",
	  0, "0123456789012345678901234567890123456789012345678901234567890123456789" },
	{ "multipart/form-data; boundary="
	  "01234567890123456789012345678901234567890123456789012345678901234567890",
	  400, "boundary over 70 characters" },
	{ "multipart/form-data; boundary=\"abc \"", 400, "boundary ends in a space" },
	{ "multipart/form-data; boundary=\"a@b\"", 400,
	  "boundary has a character outside RFC 2046 bchars" },
	{ "multipart/form-data; boundary=\"\"", 400, "empty boundary" },
	{ "multipart/form-data", 400, "Content-Type has no boundary parameter" },
	{ "multipart/form-data; charset=utf-8", 400, "Content-Type has no boundary parameter" },
	{ "multipart/form-data; boundary=a; Boundary=b", 400,
	  "Content-Type has two boundary parameters" },
	{ "multipart/form-data; boundary", 400, "malformed Content-Type parameters" },
	{ "multipart/form-data; boundary=", 400, "malformed Content-Type parameters" },
	{ "multipart/form-data; boundary=\"abc", 400, "malformed Content-Type parameters" },
	{ "multipart/form-data boundary=abc", 400, "malformed Content-Type parameters" },
	{ "text/plain", 415, "Content-Type \"text/plain\" is not multipart/form-data" },
	{ "multipart/mixed; boundary=x", 415,
	  "Content-Type \"multipart/mixed; boundary=x\" is not multipart/form-data" },
	{ "multipart/form-datax; boundary=x", 415,
	  "Content-Type \"multipart/form-datax; boundary=x\" is not multipart/form-data" },
	{ "", 415, "no Content-Type, multipart/form-data expected" },
};

static void test_content_type(void)
{
	for (size_t i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++) {
		struct scws_multipart m;
		const char *ct = ctypes[i].ctype;
		int rc = scws_multipart_init(&m, bytes_make(ct, strlen(ct)), &cbs, NULL);
		bool ok;
		if (ctypes[i].status == 0) {
			const char *b = ctypes[i].boundary_or_reason;
			ok = rc == 0 && scws_multipart_status(&m) == 0 &&
			     bytes_eq(scws_multipart_boundary(&m), b, strlen(b));
		} else {
			ok = rc == (ctypes[i].status == 415 ? -EMEDIUMTYPE : -EPROTO) &&
			     scws_multipart_status(&m) == ctypes[i].status &&
			     strcmp(scws_multipart_reason(&m), ctypes[i].boundary_or_reason) == 0;
		}
		if (!ok)
			fprintf(stderr, "\n[%s]: rc %d status %d \"%s\"\n", ct, rc,
				scws_multipart_status(&m), scws_multipart_reason(&m));
		CU_ASSERT_TRUE(ok);
		scws_multipart_cleanup(&m);
	}
}

/* ---------------------------------------------------------------- the table */

struct mp_case {
	const char *name;
	const char *ctype;
	const char *body;
	size_t body_len;
	int status; /* 0 or 400 */
	const char *reason;
	const char *parts; /* the rendering, complete or up to the error */
};

#define BODY(s) s, sizeof(s) - 1
#define CT "multipart/form-data; boundary=b0und"
#define CURL_CT "multipart/form-data; boundary=------------------------d74496d66958873e"
#define CURL_B "--------------------------d74496d66958873e"

static const struct mp_case cases[] = {
	{ "curl -F devid=IMEI:1 -F username=alice", CURL_CT,
	  BODY(CURL_B
	       "\r\nContent-Disposition: form-data; name=\"devid\"\r\n\r\nIMEI:1\r\n" CURL_B
	       "\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n" CURL_B
	       "--\r\n"),
	  0, NULL, "devid=IMEI:1\nusername=alice\n" },
	{ "quoted boundary with a space", "multipart/form-data; boundary=\"simple boundary\"",
	  BODY("--simple boundary\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
	       "--simple boundary--"),
	  0, NULL, "a=1\n" },
	{ "70-character boundary",
	  "multipart/form-data; boundary="
	  "0123456789012345678901234567890123456789012345678901234567890123456789",
	  BODY("--0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	       "Content-Disposition: form-data; name=x\r\n\r\nv\r\n"
	       "--0123456789012345678901234567890123456789012345678901234567890123456789--\r\n"),
	  0, NULL, "x=v\n" },
	{ "preamble and epilogue", CT,
	  BODY("This is the preamble.\r\n--b0und is not here\r\n--b0un\r\n--b0und\r\n"
	       "Content-Disposition: form-data; name=\"devid\"\r\n\r\nIMEI:1\r\n"
	       "--b0und--\r\nepilogue\r\n--b0und\r\nContent-Disposition: x\r\n\r\n"),
	  0, NULL, "devid=IMEI:1\n" },
	{ "preamble line with junk after the boundary", CT,
	  BODY("--b0undX\r\n--b0und-x\r\n--b0und \t x\r\n--b0und\r\n"
	       "Content-Disposition: form-data; name=a\r\n\r\n\r\n--b0und--"),
	  0, NULL, "a=\n" },
	{ "transport padding", CT,
	  BODY("--b0und \t \r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n"
	       "--b0und\t\r\nContent-Disposition: form-data; name=b\r\n\r\nB\r\n--b0und-- \r\n"),
	  0, NULL, "a=A\nb=B\n" },
	{ "charset and part Content-Type", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=\"push-address\"\r\n"
	       "Content-Type: text/plain; charset=UTF-8\r\n\r\nhttp://x/\r\n"
	       "--b0und\r\ncontent-type: Application/Octet-Stream;charset=\"iso-8859-1\"\r\n"
	       "CONTENT-DISPOSITION: FORM-DATA; NAME=bin; Filename=\"a.bin\"\r\n\r\n\x01\x02\r\n"
	       "--b0und--\r\n"),
	  0, NULL,
	  "push-address;type=text/plain;charset=UTF-8=http://x/\n"
	  "bin;type=Application/Octet-Stream;charset=iso-8859-1;filename=a.bin=\\x01\\x02\n" },
	{ "empty values and an empty name", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n\r\n"
	       "--b0und\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n\r\n--b0und--\r\n"),
	  0, NULL, "username=\n=\n" },
	{ "binary value with CR, LF, dashes and near-delimiters", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=bin\r\n\r\n"
	       "\0\r\n--\r\n--b0un\r\r\n-\r\n--b0unx--b0und\n\xff\r\r\r\n--b0und--\r\n"),
	  0, NULL, "bin=\\x00\\r\\n--\\r\\n--b0un\\r\\r\\n-\\r\\n--b0unx--b0und\\n\\xff\\r\\r\n" },
	{ "quoted-pair and token names, other headers ignored", CT,
	  BODY("--b0und\r\nX-Other: 1\r\nContent-Transfer-Encoding: 8bit\r\n"
	       "Content-Disposition: form-data ; name = \"a\\\"b\\\\c\" ; x=y\r\n\r\nq\r\n"
	       "--b0und\r\nContent-Disposition:form-data;name=tok;filename=\"\"\r\n\r\nr\r\n"
	       "--b0und--"),
	  0, NULL, "a\"b\\\\c=q\ntok;filename==r\n" },
	{ "same name twice: both delivered", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=devid\r\n\r\nA\r\n"
	       "--b0und\r\nContent-Disposition: form-data; name=devid\r\n\r\nB\r\n--b0und--"),
	  0, NULL, "devid=A\ndevid=B\n" },
	{ "no parts", CT, BODY("--b0und--\r\n"), 0, NULL, "" },
	{ "close delimiter at the very end", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b0und--"), 0, NULL,
	  "a=v\n" },
	{ "16 parts", "multipart/form-data; boundary=b",
	  BODY("--b\r\nContent-Disposition: form-data; name=1\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=2\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=3\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=4\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=5\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=6\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=7\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=8\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=9\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=10\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=11\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=12\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=13\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=14\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=15\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=16\r\n\r\n\r\n--b--"),
	  0, NULL, "1=\n2=\n3=\n4=\n5=\n6=\n7=\n8=\n9=\n10=\n11=\n12=\n13=\n14=\n15=\n16=\n" },

	/* ---- errors */
	{ "17 parts", "multipart/form-data; boundary=b",
	  BODY("--b\r\nContent-Disposition: form-data; name=1\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=2\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=3\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=4\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=5\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=6\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=7\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=8\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=9\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=10\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=11\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=12\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=13\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=14\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=15\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=16\r\n\r\n\r\n"
	       "--b\r\nContent-Disposition: form-data; name=17\r\n\r\n\r\n--b--"),
	  400, "more than 16 parts",
	  "1=\n2=\n3=\n4=\n5=\n6=\n7=\n8=\n9=\n10=\n11=\n12=\n13=\n14=\n15=\n16=\n" },
	{ "missing close delimiter", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=devid\r\n\r\nIMEI:1\r\n"), 400,
	  "body ends before the close delimiter", "devid=IMEI:1" },
	{ "ends after a delimiter", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=devid\r\n\r\nIMEI:1\r\n"
	       "--b0und\r\n"),
	  400, "body ends before the close delimiter", "devid=IMEI:1\n" },
	{ "ends in part headers", CT, BODY("--b0und\r\nContent-Disposition: form-da"), 400,
	  "body ends before the close delimiter", "" },
	{ "ends after one dash", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b0und-"), 400,
	  "body ends before the close delimiter", "a=v\n" },
	{ "empty body", CT, BODY(""), 400, "no boundary delimiter in the body", "" },
	{ "preamble only", CT, BODY("just text\r\n--b0un"), 400,
	  "no boundary delimiter in the body", "" },
	{ "wrong boundary", CT,
	  BODY("--other\r\nContent-Disposition: form-data; name=a\r\n\r\n"
	       "v\r\n--other--\r\n"),
	  400, "no boundary delimiter in the body", "" },
	{ "no name", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nv\r\n--b0und--"),
	  400, "part 1 has no Content-Disposition: form-data; name=...", "" },
	{ "no Content-Disposition in part 2", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n"
	       "--b0und\r\nContent-Type: text/plain\r\n\r\nw\r\n--b0und--"),
	  400, "part 2 has no Content-Disposition: form-data; name=...", "a=v\n" },
	{ "no headers at all", CT, BODY("--b0und\r\n\r\nv\r\n--b0und--"), 400,
	  "part 1 has no Content-Disposition: form-data; name=...", "" },
	{ "attachment disposition", CT,
	  BODY("--b0und\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--b0und--"), 400,
	  "part 1 has no Content-Disposition: form-data; name=...", "" },
	{ "two name parameters", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a; NAME=b\r\n\r\nv\r\n--b0und--"),
	  400, "part 1 has two name parameters", "" },
	{ "two Content-Disposition headers", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\n"
	       "Content-Disposition: form-data; name=b\r\n\r\nv\r\n--b0und--"),
	  400, "part 1 has two Content-Disposition headers", "" },
	{ "two Content-Type headers", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\nContent-Type: a/b\r\n"
	       "Content-Type: a/b\r\n\r\nv\r\n--b0und--"),
	  400, "part 1 has two Content-Type headers", "" },
	{ "unterminated quote in disposition", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--b0und--"), 400,
	  "part 1 has a malformed Content-Disposition", "" },
	{ "malformed part Content-Type", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\nContent-Type: text\r\n\r\n"
	       "v\r\n--b0und--"),
	  400, "part 1 has a malformed Content-Type", "" },
	{ "header line without a colon", CT,
	  BODY("--b0und\r\nContent-Disposition form-data; name=a\r\n\r\nv\r\n--b0und--"), 400,
	  "malformed header line in part 1", "" },
	{ "folded part header", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\nv\r\n--b0und--"), 400,
	  "folded header line in part 1", "" },
	{ "bare CR in part header", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data;\r name=a\r\n\r\nv\r\n--b0und--"), 400,
	  "bare CR in part 1 headers", "" },
	{ "NUL in part header", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\0\r\n\r\nv\r\n--b0und--"), 400,
	  "NUL in part 1 headers", "" },
	{ "bare LF line ends everywhere", CT,
	  BODY("--b0und\nContent-Disposition: form-data; name=a\n\nv\n--b0und--\n"), 400,
	  "bare LF after a boundary delimiter (CRLF required)", "" },
	{ "bare LF after padding", CT, BODY("--b0und  \n"), 400,
	  "bare LF after a boundary delimiter (CRLF required)", "" },
	{ "bare LF in part headers", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\n\r\nv\r\n--b0und--"), 400,
	  "bare LF in part 1 headers (CRLF required)", "" },
	{ "bare LF ending part headers", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\n\nv\r\n--b0und--"), 400,
	  "bare LF in part 1 headers (CRLF required)", "" },
	{ "junk after a delimiter in the body", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b0undX\r\n"), 400,
	  "unexpected bytes after a boundary delimiter", "a=v\n" },
	{ "CR without LF after a delimiter", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b0und\rX"), 400,
	  "unexpected bytes after a boundary delimiter", "a=v\n" },
	{ "one dash after a delimiter", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b0und-x"), 400,
	  "unexpected bytes after a boundary delimiter", "a=v\n" },
	{ "part headers over 1024 bytes", CT,
	  BODY("--b0und\r\nContent-Disposition: form-data; name=a\r\nX: "
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "01234567890123456789\r\n\r\nv\r\n--b0und--"),
	  400, "part 1 headers over 1024 bytes", "" },
};

/* The first n bytes of b are s's (n <= b->len). */
static bool same(const struct buf *b, const char *s, size_t n)
{
	return n == 0 || memcmp(b->p, s, n) == 0;
}

/* One run on a fresh parser fed with the given pieces; true when the
 * outcome is the expected one. With `prefix`, -EAGAIN from feed (and then
 * a failing end()) is right too, with events so far a prefix of the
 * expected ones. */
static bool run_case(const struct mp_case *c, const uint8_t *in, size_t len, const size_t *cuts,
		     size_t ncuts, bool prefix, const char *mode)
{
	struct scws_multipart m;
	struct got g;
	memset(&g, 0, sizeof(g));
	g.nesting_ok = true;
	buf_init(&g.out, 1 << 16);
	int rc = scws_multipart_init(&m, bytes_make(c->ctype, strlen(c->ctype)), &cbs, &g);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	size_t off = 0;
	rc = -EAGAIN;
	for (size_t k = 0; k < ncuts && rc == -EAGAIN; k++) {
		size_t used;
		rc = scws_multipart_feed(&m, in + off, cuts[k] - off, &used);
		if ((rc == 0 || rc == -EAGAIN) && used != cuts[k] - off)
			CU_FAIL("feed did not take every byte");
		off += used;
	}
	int feed_rc = rc;
	if (rc == 0 || rc == -EAGAIN)
		rc = scws_multipart_end(&m);
	size_t want_len = strlen(c->parts);
	bool ok = g.nesting_ok;
	if (prefix && feed_rc == -EAGAIN) {
		/* Not all there yet: end() must refuse, with the events so far
		 * a prefix of the whole body's. */
		ok = ok && rc == -EPROTO && scws_multipart_status(&m) == 400 &&
		     g.out.len <= want_len && same(&g.out, c->parts, g.out.len);
	} else if (c->status == 0) {
		ok = ok && feed_rc == 0 && rc == 0 && g.begins == g.ends && !g.in_part &&
		     g.out.len == want_len && same(&g.out, c->parts, want_len);
	} else {
		ok = ok && rc < 0 && scws_multipart_status(&m) == c->status &&
		     strcmp(scws_multipart_reason(&m), c->reason) == 0 && g.out.len == want_len &&
		     same(&g.out, c->parts, want_len);
		size_t used = 9;
		ok = ok && scws_multipart_feed(&m, in, len, &used) == rc && used == 0 &&
		     scws_multipart_end(&m) == rc;
	}
	if (!ok)
		fprintf(stderr,
			"\n[%s] %s (%zu pieces, ends %zu): feed %d, end %d, status %d "
			"\"%s\", events:\n%.*s\n",
			c->name, mode, ncuts, len, feed_rc, rc, scws_multipart_status(&m),
			scws_multipart_reason(&m), (int)g.out.len, (const char *)g.out.p);
	scws_multipart_cleanup(&m);
	buf_cleanup(&g.out);
	return ok;
}

static void run_all_ways(const struct mp_case *c)
{
	const uint8_t *in = (const uint8_t *)c->body;
	size_t len = c->body_len;
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cuts);

	cuts[0] = len;
	CU_ASSERT_TRUE(run_case(c, in, len, cuts, 1, false, "whole"));

	/* Every split into two feeds: each delimiter is cut at each of its
	 * bytes somewhere in here. */
	bool all = true;
	for (size_t k = 1; k < len && all; k++) {
		cuts[0] = k;
		cuts[1] = len;
		all = run_case(c, in, len, cuts, 2, false, "split in two");
	}
	CU_ASSERT_TRUE(all);

	/* Every split into three feeds around each delimiter: a delimiter
	 * straddling two chunk boundaries. */
	all = true;
	for (size_t k = 1; k + 2 < len && all; k++) {
		cuts[0] = k;
		cuts[1] = k + 2;
		cuts[2] = len;
		all = run_case(c, in, len, cuts, 3, false, "split in three");
	}
	CU_ASSERT_TRUE(all);

	for (size_t k = 0; k < len; k++)
		cuts[k] = k + 1;
	CU_ASSERT_TRUE(run_case(c, in, len, cuts, len, false, "one byte per feed"));

	all = true;
	for (size_t k = 0; k < len && all; k++) {
		cuts[0] = k;
		all = run_case(c, in, k, cuts, 1, true, "prefix");
	}
	CU_ASSERT_TRUE(all);
	free(cuts);
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_all_ways(&cases[i]);
}

/* ---------------------------------------------------------------- callbacks */

static int stop_begin(void *arg, const struct scws_multipart_part *part)
{
	(void)arg;
	return part->index == 2 ? -ECANCELED : 0;
}

static void test_callback_stops(void)
{
	static const char body[] = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n"
				   "--b\r\nContent-Disposition: form-data; name=b\r\n\r\nw\r\n"
				   "--b--";
	struct scws_multipart_callbacks cb = { stop_begin, NULL, NULL };
	struct scws_multipart m;
	const char *ct = "multipart/form-data; boundary=b";
	CU_ASSERT_EQUAL_FATAL(scws_multipart_init(&m, bytes_make(ct, strlen(ct)), &cb, NULL), 0);
	size_t used;
	CU_ASSERT_EQUAL(scws_multipart_feed(&m, (const uint8_t *)body, sizeof(body) - 1, &used),
			-ECANCELED);
	CU_ASSERT_EQUAL(scws_multipart_status(&m), 400);
	CU_ASSERT_STRING_EQUAL(scws_multipart_reason(&m),
			       "form handler stopped at part 2 (error -125)");
	CU_ASSERT_EQUAL(scws_multipart_end(&m), -ECANCELED);
	CU_ASSERT_STRING_EQUAL(scws_multipart_state_name(m.st), "ERROR");
}

/* A big binary value (no callbacks but data) in BIP-sized pieces: the
 * parser copies nothing, and every byte comes out once. */
struct sink {
	struct buf b;
};

static int sink_data(void *arg, const struct scws_multipart_part *part, const uint8_t *d, size_t n)
{
	struct sink *s = arg;
	(void)part;
	return buf_append(&s->b, d, n) ? -ENOMEM : 0;
}

static void test_large_value_in_pieces(void)
{
	struct buf body;
	buf_init(&body, 1 << 17);
	uint8_t *val = malloc(60000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(val);
	/* Pseudo-random bytes, with many CR LF "--" runs that start a match. */
	uint32_t x = 12345;
	for (size_t i = 0; i < 60000; i++) {
		x = x * 1103515245u + 12345u;
		val[i] = (uint8_t)(x >> 16);
		if (i % 97 == 0 && i + 6 < 60000) {
			memcpy(val + i, "\r\n--b0", 6);
			i += 5;
		}
	}
	CU_ASSERT_EQUAL(buf_append_str(&body, "--b0und\r\nContent-Disposition: form-data; "
					      "name=blob\r\n\r\n"),
			0);
	CU_ASSERT_EQUAL(buf_append(&body, val, 60000), 0);
	CU_ASSERT_EQUAL(buf_append_str(&body, "\r\n--b0und--\r\n"), 0);
	for (size_t piece = 1; piece <= 237; piece += 59) {
		struct sink s;
		buf_init(&s.b, 1 << 17);
		struct scws_multipart_callbacks cb = { NULL, sink_data, NULL };
		struct scws_multipart m;
		int rc = scws_multipart_init(&m, bytes_make(CT, strlen(CT)), &cb, &s);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		rc = -EAGAIN;
		for (size_t off = 0; off < body.len; off += piece) {
			size_t n = body.len - off < piece ? body.len - off : piece, used;
			rc = scws_multipart_feed(&m, body.p + off, n, &used);
			CU_ASSERT_EQUAL(used, n);
		}
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(scws_multipart_end(&m), 0);
		CU_ASSERT_TRUE(bytes_eq(bytes_make(s.b.p, s.b.len), val, 60000));
		buf_cleanup(&s.b);
	}
	free(val);
	buf_cleanup(&body);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_content_type),
		UNIT_TEST(test_table),
		UNIT_TEST(test_callback_stops),
		UNIT_TEST(test_large_value_in_pieces),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("scws_multipart", tests);
}
