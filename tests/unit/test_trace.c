/* test_trace.c - unit tests for src/trace (GSMTAP SIM APDU encapsulation,
 * pcap writer; doc/protocol.md §7) and the live GSMTAP sender
 * (src/transport/gsmtap_udp.c, src/transport/hostport.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../tools/exchanges.h"
#include "core/hex.h"
#include "core/limits.h"
#include "runner.h"
#include "trace/gsmtap.h"
#include "trace/pcap.h"
#include "transport/gsmtap_udp.h"
#include "transport/hostport.h"

#define GSMTAP_HDR "02 04 04 00 0000 00 00 00000000 00 00 00 00"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(hex_decode(s, out, cap, &n), 0);
	return n;
}

/* A temporary file name, removed by the caller. */
static void tmp_path(char *out, size_t cap, const char *tag)
{
	const char *dir = getenv("TMPDIR");
	snprintf(out, cap, "%s/scwsemu-trace-%ld-%s.pcap", dir && *dir ? dir : "/tmp",
		 (long)getpid(), tag);
}

/* --- GSMTAP payload ------------------------------------------------------ */

struct enc_case {
	const char *name;
	const char *capdu, *rapdu;
	const char *payload; /* after the GSMTAP header */
};

static const struct enc_case enc_cases[] = {
	{ "case 1: P3 00", "80F2000C", "9000", "80F2000C00 9000" },
	{ "case 2: P3 = Le, response data", "80120000 0F", "D00D8103010500820281829902090A 9000",
	  "801200000F D00D8103010500820281829902090A 9000" },
	{ "case 2: Le 00 (256)", "00B0000000", "6B00", "00B0000000 6B00" },
	{ "case 3: P3 = Lc, command data", "80140000 0C 810301050082028281830100", "910F",
	  "801400000C 810301050082028281830100 910F" },
	{ "case 4: Le dropped, command then response data", "00A40004 02 3F00 00",
	  "6203820278 9000", "00A4000402 3F00 6203820278 9000" },
	{ "case 4 answered 61 xx", "00A40004 02 3F00 00", "6112", "00A4000402 3F00 6112" },
	{ "extended case 2: P3 = low byte of Le", "00B00000 00 0102", "AABB 9000",
	  "00B0000002 AABB 9000" },
	{ "extended case 2: Le 0000", "00B00000 00 0000", "6282", "00B0000000 6282" },
	{ "extended case 3: P3 = low byte of Lc, all data", "00D60000 00 0003 112233", "9000",
	  "00D6000003 112233 9000" },
	{ "extended case 4", "00CB3FFF 00 0002 5C00 0100", "53 9000", "00CB3FFF02 5C00 53 9000" },
	{ "malformed (Lc past the end): bytes as sent", "0014000005 0102", "6700",
	  "00140000050102 6700" },
	{ "shorter than a header", "8010", "6700", "8010 6700" },
	{ "no command bytes", "", "6700", "6700" },
	{ "no response bytes", "80F2000C", "", "80F2000C00" },
};

static void test_encode_table(void)
{
	for (size_t i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
		const struct enc_case *c = &enc_cases[i];
		uint8_t capdu[64], rapdu[64], want[128], got[128];
		size_t clen = unhex(c->capdu, capdu, sizeof(capdu));
		size_t rlen = unhex(c->rapdu, rapdu, sizeof(rapdu));
		size_t hlen = unhex(GSMTAP_HDR, want, sizeof(want));
		size_t wlen = hlen + unhex(c->payload, want + hlen, sizeof(want) - hlen);
		size_t glen = 0;
		int rc = trace_gsmtap_encode_apdu(clen ? capdu : NULL, clen, rlen ? rapdu : NULL,
						  rlen, got, sizeof(got), &glen);
		if (rc != 0 || glen != wlen || memcmp(got, want, wlen) != 0)
			fprintf(stderr, "\n  case '%s': rc %d, len %zu\n", c->name, rc, glen);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(glen, wlen);
		CU_ASSERT(glen == wlen && memcmp(got, want, wlen) == 0);
		/* One byte less room is refused, never overrun. */
		glen = 0;
		CU_ASSERT_EQUAL(
			trace_gsmtap_encode_apdu(capdu, clen, rapdu, rlen, got, wlen - 1, &glen),
			-EMSGSIZE);
	}
}

static void test_encode_errors(void)
{
	uint8_t out[64];
	size_t len = 0;
	static const uint8_t c[] = { 0x80, 0xF2, 0x00, 0x0C };
	CU_ASSERT_EQUAL(trace_gsmtap_encode_apdu(NULL, 4, c, 2, out, sizeof(out), &len), -EINVAL);
	CU_ASSERT_EQUAL(trace_gsmtap_encode_apdu(c, 4, NULL, 2, out, sizeof(out), &len), -EINVAL);
	CU_ASSERT_EQUAL(trace_gsmtap_encode_apdu(c, 4, c, 2, NULL, sizeof(out), &len), -EINVAL);
	CU_ASSERT_EQUAL(trace_gsmtap_encode_apdu(c, 4, c, 2, out, sizeof(out), NULL), -EINVAL);
	CU_ASSERT_EQUAL(trace_gsmtap_encode_ipv4(NULL, 4, out, sizeof(out), &len), -EINVAL);
	CU_ASSERT_EQUAL(trace_gsmtap_encode_ipv4(c, 4, out, 31, &len), -EMSGSIZE);
	CU_ASSERT_EQUAL(trace_gsmtap_encode_ipv4(c, 4, out, 27, &len), -EMSGSIZE);
	CU_ASSERT_EQUAL(trace_gsmtap_encode_ipv4_apdu(c, 4, c, 2, out, 20, &len), -EMSGSIZE);
}

/* The largest exchange that fits one IPv4 datagram, and one byte more. */
static void test_encode_datagram_limit(void)
{
	/* Extended case 3: 7 header bytes + Lc data; payload 5 + Lc + rlen. */
	size_t lc = TRACE_GSMTAP_MAX - GSMTAP_HDR_LEN - 5 - 2;
	uint8_t *capdu = calloc(1, 7 + lc + 1);
	uint8_t *out = malloc(TRACE_IPV4_MAX + 16);
	static const uint8_t sw[] = { 0x90, 0x00 };
	size_t len = 0;
	CU_ASSERT_FATAL(capdu && out);
	capdu[1] = 0xD6;
	capdu[5] = (uint8_t)(lc >> 8);
	capdu[6] = (uint8_t)lc;
	CU_ASSERT_EQUAL(
		trace_gsmtap_encode_ipv4_apdu(capdu, 7 + lc, sw, 2, out, TRACE_IPV4_MAX + 16, &len),
		0);
	CU_ASSERT_EQUAL(len, TRACE_IPV4_MAX);
	CU_ASSERT_EQUAL(out[2], 0xFF);
	CU_ASSERT_EQUAL(out[3], 0xFF);
	CU_ASSERT_EQUAL(trace_gsmtap_ip_checksum(out, 20), 0);
	lc++;
	capdu[5] = (uint8_t)(lc >> 8);
	capdu[6] = (uint8_t)lc;
	CU_ASSERT_EQUAL(
		trace_gsmtap_encode_ipv4_apdu(capdu, 7 + lc, sw, 2, out, TRACE_IPV4_MAX + 16, &len),
		-EMSGSIZE);
	CU_ASSERT_EQUAL(
		trace_gsmtap_encode_apdu(capdu, 7 + lc, sw, 2, out, TRACE_IPV4_MAX + 16, &len),
		-EMSGSIZE);
	free(capdu);
	free(out);
}

static void test_ipv4_bytes(void)
{
	/* STATUS: 80 F2 00 0C 00 | 90 00, 23 bytes of GSMTAP. Checksum by
	 * hand: 4500+0033+4000+4011+7F00+0001+7F00+0001 = 1C346, folded
	 * C347, complemented 3CB8. */
	static const char *want_hex = "4500 0033 0000 4000 4011 3CB8 7F000001 7F000001"
				      "1279 1279 001F 0000" GSMTAP_HDR "80F2000C00 9000";
	static const uint8_t c[] = { 0x80, 0xF2, 0x00, 0x0C }, r[] = { 0x90, 0x00 };
	uint8_t want[128], got[128], g[64];
	size_t wlen = unhex(want_hex, want, sizeof(want)), glen = 0, len = 0;
	CU_ASSERT_EQUAL(trace_gsmtap_encode_ipv4_apdu(c, 4, r, 2, got, sizeof(got), &glen), 0);
	CU_ASSERT_EQUAL(glen, wlen);
	CU_ASSERT(glen == wlen && memcmp(got, want, wlen) == 0);
	/* The two-step form gives the same datagram. */
	CU_ASSERT_EQUAL(trace_gsmtap_encode_apdu(c, 4, r, 2, g, sizeof(g), &len), 0);
	CU_ASSERT_EQUAL(trace_gsmtap_encode_ipv4(g, len, got, sizeof(got), &glen), 0);
	CU_ASSERT(glen == wlen && memcmp(got, want, wlen) == 0);
}

static void test_checksum(void)
{
	/* RFC 1071 §3 example: 0001 f203 f4f5 f6f7 sums to ddf2. */
	static const uint8_t rfc[] = { 0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7 };
	static const uint8_t odd[] = { 0x01 };
	CU_ASSERT_EQUAL(trace_gsmtap_ip_checksum(rfc, sizeof(rfc)), (uint16_t)~0xDDF2);
	CU_ASSERT_EQUAL(trace_gsmtap_ip_checksum(odd, 1), (uint16_t)~0x0100);
	CU_ASSERT_EQUAL(trace_gsmtap_ip_checksum(NULL, 0), 0xFFFF);
}

/* --- pcap ------------------------------------------------------------------ */

static void test_pcap_headers(void)
{
	uint8_t h[TRACE_PCAP_HDR_LEN], r[TRACE_PCAP_REC_HDR_LEN], want[32];
	struct timeval tv = { 0x01020304, 0x000A0B0C };
	size_t n;
	trace_pcap_encode_header(h, PCAP_LINKTYPE_IPV4);
	n = unhex("D4C3B2A1 0200 0400 00000000 00000000 FFFF0000 E4000000", want, sizeof(want));
	CU_ASSERT_EQUAL(n, sizeof(h));
	CU_ASSERT(memcmp(h, want, n) == 0);
	trace_pcap_encode_record_header(r, &tv, 0x33);
	n = unhex("04030201 0C0B0A00 33000000 33000000", want, sizeof(want));
	CU_ASSERT_EQUAL(n, sizeof(r));
	CU_ASSERT(memcmp(r, want, n) == 0);
}

static struct exchange ex[EXCHANGES_MAX];

/* The §1.13 session with fixed time stamps, byte for byte against the file
 * that tshark decoded (tests/integration/trace_tshark.sh checks it still
 * does). */
static void test_pcap_golden(void)
{
	char path[512];
	struct trace_pcap *p = NULL;
	struct stat st;
	size_t want_len = 0, got_len = 0, size = TRACE_PCAP_HDR_LEN;
	int n = exchanges_load(unit_srcpath("tests/data/trace/bip-session.txt"), ex, EXCHANGES_MAX);
	CU_ASSERT_FATAL(n == 18);
	tmp_path(path, sizeof(path), "golden");
	CU_ASSERT_EQUAL_FATAL(trace_pcap_open(path, &p), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, TRACE_PCAP_HDR_LEN);
	for (int i = 0; i < n; i++) {
		struct timeval tv = exchange_time((size_t)i);
		uint8_t pkt[2048];
		size_t len = 0;
		CU_ASSERT_EQUAL(
			trace_pcap_write_apdu(p, &tv, ex[i].c, ex[i].clen, ex[i].r, ex[i].rlen), 0);
		CU_ASSERT_EQUAL(trace_gsmtap_encode_ipv4_apdu(ex[i].c, ex[i].clen, ex[i].r,
							      ex[i].rlen, pkt, sizeof(pkt), &len),
				0);
		/* Flushed per record: the file holds it before close. */
		size += TRACE_PCAP_REC_HDR_LEN + len;
		CU_ASSERT_EQUAL(stat(path, &st), 0);
		CU_ASSERT_EQUAL((size_t)st.st_size, size);
	}
	CU_ASSERT_EQUAL(trace_pcap_records(p), (unsigned long)n);
	trace_pcap_free(p);

	uint8_t *want =
		unit_read_file(unit_srcpath("tests/data/trace/bip-session.pcap"), &want_len);
	uint8_t *got = unit_read_file(path, &got_len);
	CU_ASSERT_FATAL(want && got);
	CU_ASSERT_EQUAL(got_len, want_len);
	CU_ASSERT(got_len == want_len && memcmp(got, want, want_len) == 0);
	free(want);
	free(got);
	unlink(path);
}

static void test_pcap_write_raw(void)
{
	char path[512];
	struct trace_pcap *p = NULL;
	struct timeval before, tv = { 7, 8 };
	uint8_t *big = calloc(1, TRACE_PCAP_SNAPLEN + 1), *got;
	size_t len = 0;
	CU_ASSERT_FATAL(big != NULL);
	tmp_path(path, sizeof(path), "raw");
	CU_ASSERT_EQUAL_FATAL(trace_pcap_open(path, &p), 0);
	CU_ASSERT_EQUAL(trace_pcap_write(p, &tv, big, TRACE_PCAP_SNAPLEN + 1), -EMSGSIZE);
	CU_ASSERT_EQUAL(trace_pcap_write(NULL, &tv, big, 1), -EINVAL);
	CU_ASSERT_EQUAL(trace_pcap_write(p, &tv, NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(trace_pcap_write(p, &tv, big, TRACE_PCAP_SNAPLEN), 0);
	gettimeofday(&before, NULL);
	CU_ASSERT_EQUAL(trace_pcap_write(p, NULL, (const uint8_t *)"x", 1), 0);
	CU_ASSERT_EQUAL(trace_pcap_records(p), 2);
	trace_pcap_free(p);
	got = unit_read_file(path, &len);
	CU_ASSERT_FATAL(got != NULL);
	CU_ASSERT_EQUAL(len, 24 + 16 + TRACE_PCAP_SNAPLEN + 16 + 1);
	if (len == 24 + 16 + TRACE_PCAP_SNAPLEN + 16 + 1) {
		const uint8_t *r = got + 24 + 16 + TRACE_PCAP_SNAPLEN;
		uint32_t sec = (uint32_t)(r[0] | r[1] << 8 | r[2] << 16 | (uint32_t)r[3] << 24);
		CU_ASSERT(got[24] == 7 && got[28] == 8);
		/* NULL time stamp: the current time. */
		CU_ASSERT(sec >= (uint32_t)before.tv_sec && sec <= (uint32_t)before.tv_sec + 5);
		CU_ASSERT_EQUAL(r[16], 'x');
	}
	free(got);
	free(big);
	unlink(path);
}

static void test_pcap_open_errors(void)
{
	struct trace_pcap *p = NULL;
	CU_ASSERT_EQUAL(trace_pcap_open("/nonexistent-dir/x.pcap", &p), -ENOENT);
	CU_ASSERT_EQUAL(trace_pcap_open(NULL, &p), -EINVAL);
	CU_ASSERT_EQUAL(trace_pcap_adopt(NULL, &p), -EINVAL);
	trace_pcap_free(NULL);
	/* A device is not a trace file (core/file.h): /dev/full is refused
	 * before anything is written; a full disk is test_pcap_full_disk. */
	CU_ASSERT_EQUAL(trace_pcap_open("/dev/full", &p), -EINVAL);
}

/* A link planted at the trace path is refused and its target untouched; a
 * new trace gets mode 0600 whatever the umask. */
static void test_pcap_symlink(void)
{
	char path[512], target[512];
	struct trace_pcap *p = NULL;
	struct stat st;
	size_t len = 0;
	tmp_path(path, sizeof(path), "link");
	tmp_path(target, sizeof(target), "victim");
	FILE *f = fopen(target, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("precious\n", f);
	fclose(f);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(symlink(target, path), 0);
	CU_ASSERT_EQUAL(trace_pcap_open(path, &p), -ELOOP);
	uint8_t *got = unit_read_file(target, &len);
	CU_ASSERT(got && len == 9 && memcmp(got, "precious\n", 9) == 0);
	free(got);
	unlink(path);
	mode_t old = umask(0);
	CU_ASSERT_EQUAL_FATAL(trace_pcap_open(path, &p), 0);
	umask(old);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	trace_pcap_free(p);
	unlink(path);
	unlink(target);
}

/* A disk that fills mid-record (here RLIMIT_FSIZE: the kernel takes part
 * of the write, then EFBIG): the file ends on the last whole record. */
static void test_pcap_full_disk(void)
{
	char path[512];
	struct trace_pcap *p = NULL;
	struct rlimit old, lim;
	struct stat st;
	static const uint8_t c[] = { 0x80, 0xF2, 0x00, 0x0C }, r[] = { 0x90, 0x00 };
	uint8_t pkt[256];
	size_t rec = 0;
	CU_ASSERT_EQUAL_FATAL(trace_gsmtap_encode_ipv4_apdu(c, 4, r, 2, pkt, sizeof(pkt), &rec), 0);
	rec += TRACE_PCAP_REC_HDR_LEN;
	tmp_path(path, sizeof(path), "full");
	CU_ASSERT_EQUAL_FATAL(trace_pcap_open(path, &p), 0);
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = TRACE_PCAP_HDR_LEN + 2 * rec + rec / 2; /* room for 2.5 records */
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	CU_ASSERT_EQUAL(trace_pcap_write_apdu(p, NULL, c, 4, r, 2), 0);
	CU_ASSERT_EQUAL(trace_pcap_write_apdu(p, NULL, c, 4, r, 2), 0);
	CU_ASSERT_EQUAL(trace_pcap_write_apdu(p, NULL, c, 4, r, 2), -EFBIG);
	CU_ASSERT_EQUAL(trace_pcap_write_apdu(p, NULL, c, 4, r, 2), -EFBIG); /* sticky */
	CU_ASSERT_EQUAL(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
	CU_ASSERT_EQUAL(trace_pcap_records(p), 2);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL((size_t)st.st_size, TRACE_PCAP_HDR_LEN + 2 * rec);
	trace_pcap_free(p);
	unlink(path);
}

/* A failed write is sticky: nothing is appended after a partial record. */
static void test_pcap_sticky_error(void)
{
	char path[512];
	struct trace_pcap *p = NULL;
	static const uint8_t c[] = { 0x80, 0xF2, 0x00, 0x0C }, r[] = { 0x90, 0x00 };
	FILE *f;
	tmp_path(path, sizeof(path), "sticky");
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL_FATAL(trace_pcap_adopt(f, &p), 0);
	CU_ASSERT_EQUAL(trace_pcap_write_apdu(p, NULL, c, 4, r, 2), 0);
	/* Break the stream under the writer: the next flush fails. */
	close(fileno(f));
	CU_ASSERT_EQUAL(trace_pcap_write_apdu(p, NULL, c, 4, r, 2), -EBADF);
	CU_ASSERT_EQUAL(trace_pcap_write_apdu(p, NULL, c, 4, r, 2), -EBADF);
	CU_ASSERT_EQUAL(trace_pcap_records(p), 1);
	trace_pcap_free(p);
	unlink(path);
}

/* --- live GSMTAP ------------------------------------------------------------ */

struct hp_case {
	const char *spec;
	bool need_port;
	int rc;
	const char *host;
	uint16_t port;
};

static const struct hp_case hp_cases[] = {
	{ "127.0.0.1", false, 0, "127.0.0.1", 4729 },
	{ "127.0.0.1:1234", false, 0, "127.0.0.1", 1234 },
	{ "localhost:35963", true, 0, "localhost", 35963 },
	{ "[::1]:4729", false, 0, "::1", 4729 },
	{ "[::1]", false, 0, "::1", 4729 },
	{ "::1", false, 0, "::1", 4729 },
	{ "fe80::1:2", false, 0, "fe80::1:2", 4729 },
	{ "host:65535", false, 0, "host", 65535 },
	{ "127.0.0.1", true, -EINVAL, NULL, 0 },
	{ "", false, -EINVAL, NULL, 0 },
	{ ":4729", false, -EINVAL, NULL, 0 },
	{ "host:", false, -EINVAL, NULL, 0 },
	{ "host:0", false, -EINVAL, NULL, 0 },
	{ "host:65536", false, -EINVAL, NULL, 0 },
	{ "host:12x", false, -EINVAL, NULL, 0 },
	{ "host:+12", false, -EINVAL, NULL, 0 },
	{ "host:-1", false, -EINVAL, NULL, 0 },
	{ "[::1", false, -EINVAL, NULL, 0 },
	{ "[::1]x", false, -EINVAL, NULL, 0 },
	{ "[]:1", false, -EINVAL, NULL, 0 },
};

static void test_hostport(void)
{
	for (size_t i = 0; i < sizeof(hp_cases) / sizeof(hp_cases[0]); i++) {
		const struct hp_case *c = &hp_cases[i];
		char host[TRANSPORT_HOST_MAX], err[128] = "";
		uint16_t port = 0;
		int rc = transport_hostport_parse(c->spec, 4729, c->need_port, host, &port, err,
						  sizeof(err));
		if (rc != c->rc)
			fprintf(stderr, "\n  '%s': rc %d\n", c->spec, rc);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc == 0 && c->rc == 0) {
			CU_ASSERT_STRING_EQUAL(host, c->host);
			CU_ASSERT_EQUAL(port, c->port);
		} else if (rc) {
			CU_ASSERT(err[0] != '\0');
		}
	}
}

/* Resolution: a numeric address of either family and its port; a parse
 * error as the parse; a name that cannot resolve says which and why. */
static void test_hostport_resolve(void)
{
	static const struct {
		const char *spec;
		int socktype;
		int rc;
		int family;
		uint16_t port;
		const char *err;
	} t[] = {
		{ "127.0.0.1:4729", SOCK_DGRAM, 0, AF_INET, 4729, "" },
		{ "[::1]", SOCK_STREAM, 0, AF_INET6, 35963, "" },
		{ "host:0", SOCK_STREAM, -EINVAL, 0, 0, "" },
		{ "no-such-host.invalid", SOCK_DGRAM, -EHOSTUNREACH, 0, 0,
		  "test: cannot resolve 'no-such-host.invalid': " },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char host[TRANSPORT_HOST_MAX], err[256] = "";
		uint16_t port = 0;
		struct addrinfo *res = (struct addrinfo *)&port; /* must be reset */
		int rc = transport_hostport_resolve(
			"test", t[i].spec, t[i].socktype == SOCK_DGRAM ? 4729 : 35963,
			t[i].socktype, host, &port, &res, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, t[i].rc);
		if (t[i].rc == 0) {
			CU_ASSERT_FATAL(res != NULL);
			CU_ASSERT_EQUAL(res->ai_family, t[i].family);
			CU_ASSERT_EQUAL(res->ai_socktype, t[i].socktype);
			CU_ASSERT_EQUAL(port, t[i].port);
			freeaddrinfo(res);
		} else {
			CU_ASSERT_PTR_NULL(res);
			CU_ASSERT(err[0] != '\0');
			CU_ASSERT(strncmp(err, t[i].err, strlen(t[i].err)) == 0);
		}
	}
}

/* Sends every golden exchange to a UDP socket of ours and compares each
 * datagram with the GSMTAP bytes (the pcap record minus IPv4/UDP). */
static void test_gsmtap_udp(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct transport_gsmtap_udp *g = NULL;
	char spec[64], err[256], want_peer[64];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int n = exchanges_load(unit_srcpath("tests/data/trace/bip-session.txt"), ex, EXCHANGES_MAX);
	struct timeval tmo = { 2, 0 };
	CU_ASSERT_FATAL(fd >= 0 && n > 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", ntohs(sa.sin_port));
	snprintf(want_peer, sizeof(want_peer), "127.0.0.1:%u", ntohs(sa.sin_port));
	CU_ASSERT_EQUAL_FATAL(transport_gsmtap_udp_open(spec, &g, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(transport_gsmtap_udp_peer(g), want_peer);
	for (int i = 0; i < n; i++) {
		uint8_t want[2048], got[2048];
		size_t wlen = 0;
		CU_ASSERT_EQUAL(
			transport_gsmtap_udp_send_apdu(g, ex[i].c, ex[i].clen, ex[i].r, ex[i].rlen),
			0);
		CU_ASSERT_EQUAL(trace_gsmtap_encode_apdu(ex[i].c, ex[i].clen, ex[i].r, ex[i].rlen,
							 want, sizeof(want), &wlen),
				0);
		ssize_t got_len = recv(fd, got, sizeof(got), 0);
		CU_ASSERT_EQUAL(got_len, (ssize_t)wlen);
		CU_ASSERT(got_len == (ssize_t)wlen && memcmp(got, want, wlen) == 0);
	}
	CU_ASSERT_EQUAL(transport_gsmtap_udp_sent(g), (unsigned long)n);
	CU_ASSERT_EQUAL(transport_gsmtap_udp_dropped(g), 0);
	transport_gsmtap_udp_free(g);
	close(fd);
}

/* Nobody listening is not an error (no ICMP feedback on our socket). */
static void test_gsmtap_udp_nobody(void)
{
	struct transport_gsmtap_udp *g = NULL;
	char err[256];
	static const uint8_t c[] = { 0x80, 0xF2, 0x00, 0x0C }, r[] = { 0x90, 0x00 };
	CU_ASSERT_EQUAL_FATAL(transport_gsmtap_udp_open("127.0.0.1:9", &g, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(transport_gsmtap_udp_send_apdu(g, c, 4, r, 2), 0);
	CU_ASSERT_EQUAL(transport_gsmtap_udp_sent(g), 3);
	CU_ASSERT_EQUAL(transport_gsmtap_udp_send_apdu(g, NULL, 4, r, 2), -EINVAL);
	CU_ASSERT_EQUAL(transport_gsmtap_udp_dropped(g), 1);
	transport_gsmtap_udp_free(g);
	transport_gsmtap_udp_free(NULL);
}

static void test_gsmtap_udp_open_errors(void)
{
	struct transport_gsmtap_udp *g = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL(transport_gsmtap_udp_open("127.0.0.1:0", &g, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "port") != NULL);
	err[0] = '\0';
	CU_ASSERT_EQUAL(transport_gsmtap_udp_open("no-such-host.invalid", &g, err, sizeof(err)),
			-EHOSTUNREACH);
	CU_ASSERT(strstr(err, "no-such-host.invalid") != NULL);
	CU_ASSERT_PTR_NULL(g);
}

int unit_register(void)
{
	static CU_TestInfo gsmtap_tests[] = {
		UNIT_TEST(test_encode_table),
		UNIT_TEST(test_encode_errors),
		UNIT_TEST(test_encode_datagram_limit),
		UNIT_TEST(test_ipv4_bytes),
		UNIT_TEST(test_checksum),
		CU_TEST_INFO_NULL,
	};
	static CU_TestInfo pcap_tests[] = {
		UNIT_TEST(test_pcap_headers),      UNIT_TEST(test_pcap_golden),
		UNIT_TEST(test_pcap_write_raw),    UNIT_TEST(test_pcap_open_errors),
		UNIT_TEST(test_pcap_sticky_error), UNIT_TEST(test_pcap_symlink),
		UNIT_TEST(test_pcap_full_disk),    CU_TEST_INFO_NULL,
	};
	static CU_TestInfo live_tests[] = {
		UNIT_TEST(test_hostport),
		UNIT_TEST(test_hostport_resolve),
		UNIT_TEST(test_gsmtap_udp),
		UNIT_TEST(test_gsmtap_udp_nobody),
		UNIT_TEST(test_gsmtap_udp_open_errors),
		CU_TEST_INFO_NULL,
	};
	int rc = unit_add_suite("trace_gsmtap", gsmtap_tests);
	if (!rc)
		rc = unit_add_suite("trace_pcap", pcap_tests);
	if (!rc)
		rc = unit_add_suite("transport_gsmtap_udp", live_tests);
	return rc;
}
