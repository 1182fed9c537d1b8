/* test_core.c - unit tests for src/core: cursors, buf, hex, log, json,
 * strparse, timeval, perr. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/file.h"
#include "core/bytes.h"
#include "core/hex.h"
#include "core/json.h"
#include "core/log.h"
#include "core/perr.h"
#include "core/strparse.h"
#include "core/timeval.h"
#include "core/xml.h"
#include "helpers.h"
#include "runner.h"

static void test_rd_sticky(void)
{
	const uint8_t in[] = { 0x01, 0x02, 0x03 };
	struct rd r;
	rd_init(&r, in, sizeof(in));
	CU_ASSERT_EQUAL(rd_u8(&r), 0x01);
	CU_ASSERT_EQUAL(rd_u16be(&r), 0x0203);
	CU_ASSERT_FALSE(r.failed);
	CU_ASSERT_EQUAL(rd_u8(&r), 0);
	CU_ASSERT_TRUE(r.failed);
	/* Once failed, stays failed even for zero-length reads. */
	struct bytes b = rd_bytes(&r, 0);
	CU_ASSERT_PTR_NULL(b.ptr);
	CU_ASSERT_TRUE(r.failed);
}

static void test_rd_bytes_short(void)
{
	const uint8_t in[] = { 0xAA, 0xBB };
	struct rd r;
	rd_init(&r, in, sizeof(in));
	struct bytes b = rd_bytes(&r, 3);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_TRUE(r.failed);
	CU_ASSERT_EQUAL(r.pos, 0);
}

static void test_wr_cap(void)
{
	uint8_t out[3];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	wr_u16be(&w, 0x1234);
	wr_u16be(&w, 0x5678);
	CU_ASSERT_TRUE(w.failed);
	CU_ASSERT_EQUAL(w.len, 2);
	CU_ASSERT_EQUAL(out[0], 0x12);
	CU_ASSERT_EQUAL(out[1], 0x34);
	wr_u8(&w, 0x99); /* sticky: even though one byte would fit */
	CU_ASSERT_EQUAL(w.len, 2);
}

static void test_buf_cap(void)
{
	struct buf b;
	buf_init(&b, 10);
	CU_ASSERT_EQUAL(buf_append(&b, "0123456789", 10), 0);
	CU_ASSERT_EQUAL(buf_append(&b, "x", 1), -EMSGSIZE);
	CU_ASSERT_EQUAL(b.len, 10);
	buf_consume(&b, 4);
	CU_ASSERT_EQUAL(b.len, 6);
	CU_ASSERT_EQUAL(memcmp(b.p, "456789", 6), 0);
	CU_ASSERT_EQUAL(buf_printf(&b, "%d", 1234), 0);
	CU_ASSERT_EQUAL(buf_printf(&b, "%d", 1), -EMSGSIZE);
	CU_ASSERT_EQUAL(b.len, 10);
	size_t len;
	uint8_t *p = buf_take(&b, &len);
	CU_ASSERT_EQUAL(len, 10);
	CU_ASSERT_EQUAL(memcmp(p, "4567891234", 10), 0);
	CU_ASSERT_EQUAL(b.len, 0);
	free(p);
	buf_cleanup(&b);
}

static void test_buf_overflow_guard(void)
{
	struct buf b;
	buf_init(&b, 8);
	CU_ASSERT_EQUAL(buf_append(&b, "abc", 3), 0);
	CU_ASSERT_EQUAL(buf_reserve(&b, SIZE_MAX), -EMSGSIZE);
	buf_cleanup(&b);
}

static void test_hex(void)
{
	uint8_t out[8];
	size_t n = 0;
	CU_ASSERT_EQUAL(hex_decode("3B 9f:00", out, sizeof(out), &n), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(out[0], 0x3B);
	CU_ASSERT_EQUAL(out[1], 0x9F);
	CU_ASSERT_EQUAL(hex_decode("3B9", out, sizeof(out), &n), -EINVAL);
	CU_ASSERT_EQUAL(hex_decode("3 B", out, sizeof(out), &n), -EINVAL);
	CU_ASSERT_EQUAL(hex_decode("zz", out, sizeof(out), &n), -EINVAL);
	CU_ASSERT_EQUAL(hex_decode("000102", out, 2, &n), -EMSGSIZE);
	char s[16];
	const uint8_t in[] = { 0x00, 0xAB, 0x10 };
	CU_ASSERT_STRING_EQUAL(hex_encode(in, 3, ' ', s, sizeof(s)), "00 AB 10");
	CU_ASSERT_STRING_EQUAL(hex_encode(in, 3, 0, s, 5), "00AB");
}

static void test_log_json_escape(void)
{
	struct unit_log c;
	unit_log_catch(&c);
	log_setup(LOG_INFO, true);
	struct log_kv kv[] = { { "path", "/a\"b", false },
			       { "status", "200", true },
			       { "skipped", NULL, false } };
	log_kv(LOG_INFO, "http", "request", kv, 3);
	CU_ASSERT_EQUAL(c.count, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.line, "\"path\":\"/a\\\"b\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.line, "\"status\":200"));
	CU_ASSERT_PTR_NULL(strstr(c.line, "skipped"));
	log_msg(LOG_DEBUG, "x", "not shown");
	CU_ASSERT_EQUAL(c.count, 1);
	log_setup(LOG_INFO, false);
	log_kv(LOG_WARN, "http", "request", kv, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.line, "warn  http: request path=\"/a\\\"b\" status=200"));
	unit_log_release();
}

/* A scratch directory under $TMPDIR (or /tmp), removed by the caller. */
static void scratch_dir(char *dir, size_t cap)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, cap, "%s/test_core.XXXXXX", t && *t ? t : "/tmp");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

static char *slurp(const char *path)
{
	static char got[256];
	memset(got, 0, sizeof(got));
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = 0;
	fclose(f);
	return got;
}

static void test_file_atomic_link_and_mode(void)
{
	char dir[256], target[320], victim[300], ready[300];
	scratch_dir(dir, sizeof(dir));
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(ready, sizeof(ready), "%s/ready.json", dir);
	FILE *f = fopen(victim, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("precious", f);
	fclose(f);
	/* Links planted at the target and at the old fixed temporary name. */
	snprintf(target, sizeof(target), "%s.tmp", ready);
	CU_ASSERT_EQUAL(symlink(victim, target), 0);
	CU_ASSERT_EQUAL(symlink(victim, ready), 0);
	mode_t old = umask(0777);
	CU_ASSERT_EQUAL(file_write_atomic(ready, "{}\n", 3, 0644), 0);
	umask(old);
	CU_ASSERT_STRING_EQUAL(slurp(victim), "precious");
	CU_ASSERT_STRING_EQUAL(slurp(ready), "{}\n");
	struct stat st;
	CU_ASSERT_EQUAL(lstat(ready, &st), 0);
	CU_ASSERT_TRUE(S_ISREG(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);
	/* Replacing keeps the last whole content only. */
	CU_ASSERT_EQUAL(file_write_atomic(ready, "{\"a\":1}\n", 8, 0644), 0);
	CU_ASSERT_STRING_EQUAL(slurp(ready), "{\"a\":1}\n");
	/* A directory that does not exist: an error, nothing written. */
	char missing[320];
	snprintf(missing, sizeof(missing), "%s/no/such", dir);
	CU_ASSERT_EQUAL(file_write_atomic(missing, "x", 1, 0644), -ENOENT);
	unlink(target);
	unlink(ready);
	unlink(victim);
	CU_ASSERT_EQUAL(rmdir(dir), 0); /* no temporary file left behind */
}

static void test_file_private(void)
{
	char dir[256], path[300], victim[300];
	scratch_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/trace.pcap", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	FILE *f = fopen(victim, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("precious", f);
	fclose(f);
	CU_ASSERT_EQUAL(symlink(victim, path), 0);
	CU_ASSERT_EQUAL(file_open_private(path, true, 0600), -ELOOP);
	CU_ASSERT_STRING_EQUAL(slurp(victim), "precious");
	unlink(path);
	mode_t old = umask(0);
	int fd = file_open_private(path, true, 0600);
	umask(old);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(file_write_all(fd, "abc", 3), 0);
	close(fd);
	struct stat st;
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	fd = file_open_private(path, false, 0600); /* appends */
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(file_write_all(fd, "def", 3), 0);
	close(fd);
	CU_ASSERT_STRING_EQUAL(slurp(path), "abcdef");
	fd = file_open_private(path, true, 0600); /* truncates */
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_STRING_EQUAL(slurp(path), "");
	/* Not a regular file: refused. */
	char fifo[320];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CU_ASSERT_EQUAL(mkfifo(fifo, 0600), 0);
	CU_ASSERT_EQUAL(file_open_private(fifo, false, 0600), -ENXIO); /* no reader: no wait */
	int rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	CU_ASSERT(rfd >= 0);
	CU_ASSERT_EQUAL(file_open_private(fifo, false, 0600), -EINVAL);
	close(rfd);
	unlink(fifo);
	unlink(path);
	unlink(victim);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

/* ---- core/json: the one JSON string escaper ---- */
static void test_json_escape(void)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "", "\"\"" },
		{ "plain", "\"plain\"" },
		{ "a\"b", "\"a\\\"b\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "\n\r\t\x01\x1f", "\"\\u000a\\u000d\\u0009\\u0001\\u001f\"" },
		{ " \x7f", "\" \x7f\"" },             /* DEL and space pass */
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" }, /* UTF-8 passes */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf b;
		buf_init(&b, 256);
		CU_ASSERT_EQUAL(json_put_str(&b, t[i].in), 0);
		CU_ASSERT_EQUAL(buf_append_u8(&b, 0), 0);
		CU_ASSERT_STRING_EQUAL((const char *)b.p, t[i].out);
		buf_cleanup(&b);
		/* The FILE writer gives the same bytes. */
		char mem[256] = { 0 };
		FILE *f = fmemopen(mem, sizeof(mem) - 1, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		json_fput_str(f, t[i].in);
		fclose(f);
		CU_ASSERT_STRING_EQUAL(mem, t[i].out);
	}
	/* Without quotes, and the cap of the buffer is honoured. */
	struct buf b;
	buf_init(&b, 4);
	CU_ASSERT_EQUAL(json_put_escaped(&b, "ab"), 0);
	CU_ASSERT_EQUAL(b.len, 2);
	CU_ASSERT_EQUAL(json_put_escaped(&b, "\x01"), -EMSGSIZE);
	buf_cleanup(&b);
	char e[7];
	CU_ASSERT_EQUAL(json_escape_byte('"', e), 2);
	CU_ASSERT_EQUAL(json_escape_byte(0x00, e), 6);
	CU_ASSERT_STRING_EQUAL(e, "\\u0000");
	CU_ASSERT_EQUAL(json_escape_byte('x', e), 1);
}

/* ---- core/strparse ---- */
static void test_strparse_port(void)
{
	static const struct {
		const char *in;
		unsigned min;
		int rc;
		unsigned port;
	} t[] = {
		{ "80", 1, 0, 80 },
		{ "65535", 1, 0, 65535 },
		{ "0", 0, 0, 0 },
		{ "0", 1, -EINVAL, 0 },
		{ "65536", 0, -EINVAL, 0 },
		{ "", 0, -EINVAL, 0 },
		{ "-1", 0, -EINVAL, 0 },
		{ "+1", 0, -EINVAL, 0 },
		{ " 1", 0, -EINVAL, 0 },
		{ "1 ", 0, -EINVAL, 0 },
		{ "8o", 0, -EINVAL, 0 },
		{ "0000080", 1, 0, 80 },
		{ "99999999999999999999", 0, -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint16_t p = 7;
		int rc = strparse_port(t[i].in, strlen(t[i].in), t[i].min, &p);
		CU_ASSERT_EQUAL(rc, t[i].rc);
		/* the port is written only on success */
		CU_ASSERT_EQUAL(p, rc == 0 ? t[i].port : 7);
	}
	uint16_t p;
	CU_ASSERT_EQUAL(strparse_port("4116x", 4, 1, &p), 0); /* only len bytes count */
	CU_ASSERT_EQUAL(p, 4116);
}

static void test_strparse_hostport(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *host;
		bool has_port;
		const char *port;
	} t[] = {
		{ "127.0.0.1:443", 0, "127.0.0.1", true, "443" },
		{ "localhost", 0, "localhost", false, "" },
		{ "[::1]:4116", 0, "::1", true, "4116" },
		{ "[::1]", 0, "::1", false, "" },
		{ "::1", 0, "::1", false, "" }, /* bare IPv6: no port */
		{ "fe80::1:80", 0, "fe80::1:80", false, "" },
		{ "host:", 0, "host", true, "" },
		{ ":80", 0, "", true, "80" },
		{ "[]:1", 0, "", true, "1" },
		{ "[::1", -EINVAL, NULL, false, NULL },
		{ "[::1]80", -EINVAL, NULL, false, NULL },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct bytes h, p;
		bool has;
		int rc = strparse_hostport(t[i].in, &h, &p, &has);
		CU_ASSERT_EQUAL(rc, t[i].rc);
		if (rc)
			continue;
		CU_ASSERT(bytes_eq(h, t[i].host, strlen(t[i].host)));
		CU_ASSERT_EQUAL(has, t[i].has_port);
		CU_ASSERT(bytes_eq(p, t[i].port, strlen(t[i].port)));
	}
}

static void test_ascii(void)
{
	CU_ASSERT_EQUAL(ascii_lower('A'), 'a');
	CU_ASSERT_EQUAL(ascii_lower('Z'), 'z');
	CU_ASSERT_EQUAL(ascii_lower('a'), 'a');
	CU_ASSERT_EQUAL(ascii_lower('@'), '@');
	CU_ASSERT_EQUAL(ascii_lower('['), '[');
	CU_ASSERT_EQUAL(ascii_lower(0xC9), 0xC9); /* no locale */
	CU_ASSERT_TRUE(ascii_eq_ci(bytes_make("Content-Type", 12), "content-type"));
	CU_ASSERT_FALSE(ascii_eq_ci(bytes_make("Content-Typ", 11), "content-type"));
	CU_ASSERT_FALSE(ascii_eq_ci(bytes_make("Content-Typf", 12), "content-type"));
	CU_ASSERT_TRUE(ascii_eq_ci(bytes_make("", 0), ""));
}

static void test_tv_from_ms(void)
{
	static const struct {
		uint64_t ms;
		long sec, usec;
	} t[] = { { 0, 0, 0 },    { 1, 0, 1000 },      { 999, 0, 999000 },
		  { 1000, 1, 0 }, { 2500, 2, 500000 }, { 86400001, 86400, 1000 } };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct timeval tv = tv_from_ms(t[i].ms);
		CU_ASSERT_EQUAL((long)tv.tv_sec, t[i].sec);
		CU_ASSERT_EQUAL((long)tv.tv_usec, t[i].usec);
	}
}

/* A whole file into a buf: its bytes, the cap as the limit, errno. */
static void test_file_read_all(void)
{
	char dir[256], path[300];
	scratch_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/input", dir);
	char big[20000];
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = 'y';
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(file_write_all(fd, big, sizeof(big)), 0);
	close(fd);
	struct buf b;
	buf_init(&b, sizeof(big));
	CU_ASSERT_EQUAL(file_read_all(path, &b), 0);
	CU_ASSERT(b.len == sizeof(big) && memcmp(b.p, big, sizeof(big)) == 0);
	buf_cleanup(&b);
	buf_init(&b, sizeof(big) - 1);
	CU_ASSERT_EQUAL(file_read_all(path, &b), -EMSGSIZE);
	buf_cleanup(&b);
	buf_init(&b, 16);
	CU_ASSERT_EQUAL(file_read_all(dir, &b), -EISDIR);
	unlink(path);
	CU_ASSERT_EQUAL(file_read_all(path, &b), -ENOENT);
	snprintf(path, sizeof(path), "%s/missing", dir);
	CU_ASSERT_EQUAL(file_read_all(path, &b), -ENOENT);
	CU_ASSERT_EQUAL(b.len, 0);
	buf_cleanup(&b);
	rmdir(dir);
}

/* The first error wins; later ones change nothing and get the first err. */
static void test_perr_sticky(void)
{
	struct perr e;
	perr_clear(&e);
	CU_ASSERT_FALSE(e.set);
	CU_ASSERT_STRING_EQUAL(e.reason, "");
	CU_ASSERT_EQUAL(perr_set(&e, -EPROTO, 400, "bad %s at %d", "byte", 7), -EPROTO);
	CU_ASSERT_TRUE(e.set);
	CU_ASSERT_EQUAL(e.err, -EPROTO);
	CU_ASSERT_EQUAL(e.status, 400);
	CU_ASSERT_STRING_EQUAL(e.reason, "bad byte at 7");
	CU_ASSERT_EQUAL(perr_set(&e, -EMSGSIZE, 413, "second"), -EPROTO);
	CU_ASSERT_EQUAL(e.err, -EPROTO);
	CU_ASSERT_EQUAL(e.status, 400);
	CU_ASSERT_STRING_EQUAL(e.reason, "bad byte at 7");
	/* A caller's own stop: set, no status, no words. */
	perr_clear(&e);
	CU_ASSERT_EQUAL(perr_set(&e, -ECANCELED, 0, "%s", ""), -ECANCELED);
	CU_ASSERT_TRUE(e.set);
	CU_ASSERT_EQUAL(perr_set(&e, -EPROTO, 400, "later"), -ECANCELED);
	CU_ASSERT_STRING_EQUAL(e.reason, "");
}

/* A reason longer than the struct holds is cut, NUL-terminated. */
static void test_perr_cut(void)
{
	char long_text[PERR_REASON_MAX * 2];
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = 0;
	struct perr e;
	perr_clear(&e);
	perr_set(&e, -EPROTO, 400, "%s", long_text);
	CU_ASSERT_EQUAL(strlen(e.reason), PERR_REASON_MAX - 1);
}

static void test_perr_where(void)
{
	char out[32];
	CU_ASSERT_PTR_EQUAL(perr_where(out, sizeof(out), "a.conf", 12, "bad %s", "key"), out);
	CU_ASSERT_STRING_EQUAL(out, "a.conf:12: bad key");
	perr_where(out, sizeof(out), "a.conf", 0, "no such file");
	CU_ASSERT_STRING_EQUAL(out, "a.conf: no such file");
	/* Cut to fit, the prefix first. */
	perr_where(out, 8, "a.conf", 12, "bad");
	CU_ASSERT_STRING_EQUAL(out, "a.conf:");
	perr_where(out, 12, "a.conf", 3, "too long a reason");
	CU_ASSERT_STRING_EQUAL(out, "a.conf:3: t");
	out[0] = 'z';
	perr_where(out, 0, "a.conf", 3, "x");
	CU_ASSERT_EQUAL(out[0], 'z');
}

/* RFC 3629 §4: the lengths of well-formed sequences, 0 for overlong forms,
 * surrogates, code points past U+10FFFF, stray continuation bytes and
 * sequences cut by the NUL. */
static void test_utf8_seq_len(void)
{
	static const struct {
		const char *s;
		size_t n;
	} t[] = {
		{ "a", 1 },
		{ "\x7f", 1 },
		{ "\xc3\xa9", 2 },         /* U+00E9 */
		{ "\xe2\x82\xac", 3 },     /* U+20AC */
		{ "\xf0\x9f\x98\x80", 4 }, /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4 }, /* U+10FFFF */
		{ "\xc0\xaf", 0 },         /* overlong '/' */
		{ "\xc1\xbf", 0 },
		{ "\xe0\x80\xaf", 0 },     /* overlong */
		{ "\xed\xa0\x80", 0 },     /* U+D800, a surrogate */
		{ "\xf0\x80\x80\xaf", 0 }, /* overlong */
		{ "\xf4\x90\x80\x80", 0 }, /* U+110000 */
		{ "\xf5\x80\x80\x80", 0 },
		{ "\x80", 0 }, /* a continuation byte alone */
		{ "\xc3", 0 }, /* cut by the NUL */
		{ "\xe2\x82", 0 },
		{ "\xe2\x82x", 0 },
		{ "\xff", 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = utf8_seq_len(t[i].s);
		if (n != t[i].n)
			fprintf(stderr, "\n  utf8 case %zu: %zu\n", i, n);
		CU_ASSERT_EQUAL(n, t[i].n);
	}
}

/* XML 1.0 escaping: the five entities, TAB/LF/CR as references in
 * attributes, forbidden controls and broken UTF-8 as '?'; and the result
 * parses back (checked by codec's expat in test_lab_verdict's JUnit). */
static void test_xml_escape(void)
{
	static const struct {
		const char *in;
		bool attr;
		const char *out;
	} t[] = {
		{ "a<b>&\"c'", false, "a&lt;b&gt;&amp;&quot;c&apos;" },
		{ "x\ty\nz\r", false, "x\ty\nz&#13;" },
		{ "x\ty\nz\r", true, "x&#9;y&#10;z&#13;" },
		{ "\x01\x1f\x7f", false, "??\x7f" },
		{ "caf\xc3\xa9 \xc3", false, "caf\xc3\xa9 ?" },
		{ "\xed\xa0\x80!", true,
		  "??"
		  "?!" }, /* no trigraph */
		{ "\xef\xbf\xbd\xef\xbf\xbe\xef\xbf\xbf", false,
		  "\xef\xbf\xbd??"
		  "????" },
		{ "", true, "" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf b;
		buf_init(&b, 256);
		CU_ASSERT_EQUAL(xml_put_escaped(&b, t[i].in, t[i].attr), 0);
		CU_ASSERT_EQUAL(b.len, strlen(t[i].out));
		CU_ASSERT(b.len == strlen(t[i].out) &&
			  (b.len == 0 || memcmp(b.p, t[i].out, b.len) == 0));
		buf_cleanup(&b);
	}
	struct buf small;
	buf_init(&small, 4);
	CU_ASSERT_EQUAL(xml_put_escaped(&small, "<<", false), -EMSGSIZE);
	buf_cleanup(&small);
}

int unit_register(void)
{
	static CU_TestInfo cursors[] = {
		UNIT_TEST(test_rd_sticky),
		UNIT_TEST(test_rd_bytes_short),
		UNIT_TEST(test_wr_cap),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo bufs[] = {
		UNIT_TEST(test_buf_cap),
		UNIT_TEST(test_buf_overflow_guard),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo misc[] = {
		UNIT_TEST(test_hex),
		UNIT_TEST(test_log_json_escape),
		UNIT_TEST(test_utf8_seq_len),
		UNIT_TEST(test_xml_escape),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo text[] = {
		UNIT_TEST(test_json_escape),       UNIT_TEST(test_strparse_port),
		UNIT_TEST(test_strparse_hostport), UNIT_TEST(test_ascii),
		UNIT_TEST(test_tv_from_ms),        CU_TEST_INFO_NULL,
	};
	static CU_TestInfo perrs[] = {
		UNIT_TEST(test_perr_sticky),
		UNIT_TEST(test_perr_cut),
		UNIT_TEST(test_perr_where),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo files[] = {
		UNIT_TEST(test_file_atomic_link_and_mode),
		UNIT_TEST(test_file_private),
		UNIT_TEST(test_file_read_all),
		CU_TEST_INFO_NULL,
	};
	int rc = unit_add_suite("core_bytes", cursors);
	if (!rc)
		rc = unit_add_suite("core_file", files);
	if (!rc)
		rc = unit_add_suite("core_buf", bufs);
	if (!rc)
		rc = unit_add_suite("core_misc", misc);
	if (!rc)
		rc = unit_add_suite("core_text", text);
	if (!rc)
		rc = unit_add_suite("core_perr", perrs);
	return rc;
}
