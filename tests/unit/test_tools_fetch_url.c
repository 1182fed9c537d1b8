/* test_tools_fetch_url.c - unit tests for src/tools/fetch_url.c: tables of
 * URLs, --resolve and --connect-to values, valid and not, and the routes
 * they give for the three SCWS addresses of OMA DM Bootstrap. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "runner.h"
#include "tools/fetch_url.h"

struct url_case {
	const char *in;
	int rc;
	/* for rc 0: */
	bool https;
	const char *host;
	bool ip;
	unsigned port;
	const char *target;
	const char *authority;
	const char *text;
};

static const struct url_case url_cases[] = {
	{ "https://127.0.0.1:4116/OMA/DM/Bootstrap.xml", 0, true, "127.0.0.1", true, 4116,
	  "/OMA/DM/Bootstrap.xml", "127.0.0.1:4116",
	  "https://127.0.0.1:4116/OMA/DM/Bootstrap.xml" },
	{ "https://[::1]:4116/OMA/DM/Bootstrap.xml", 0, true, "::1", true, 4116,
	  "/OMA/DM/Bootstrap.xml", "[::1]:4116", "https://[::1]:4116/OMA/DM/Bootstrap.xml" },
	{ "https://localuicc:443/OMA/DM/Bootstrap.xml", 0, true, "localuicc", false, 443,
	  "/OMA/DM/Bootstrap.xml", "localuicc", "https://localuicc:443/OMA/DM/Bootstrap.xml" },
	{ "HTTPS://LocalUICC/OMA/DM/Bootstrap.xml", 0, true, "LocalUICC", false, 443,
	  "/OMA/DM/Bootstrap.xml", "LocalUICC", "https://LocalUICC:443/OMA/DM/Bootstrap.xml" },
	{ "http://localhost:3516", 0, false, "localhost", false, 3516, "/", "localhost:3516",
	  "http://localhost:3516/" },
	{ "http://a_b.example:80/x?y=1&z#frag", 0, false, "a_b.example", false, 80, "/x?y=1&z",
	  "a_b.example", "http://a_b.example:80/x?y=1&z" },
	{ "https://h?q", 0, true, "h", false, 443, "/?q", "h", "https://h:443/?q" },
	{ "https://[2001:db8::1]/", 0, true, "2001:db8::1", true, 443, "/", "[2001:db8::1]",
	  "https://[2001:db8::1]:443/" },
	{ "https://h:65535/", 0, true, "h", false, 65535, "/", "h:65535", "https://h:65535/" },

	{ "ftp://h/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "127.0.0.1:4116/OMA", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https:///path", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://h:/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://h:0/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://h:65536/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://h:44x/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://h:+44/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://user@h/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://::1/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://[::1/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://[::1]x/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://[nothex]/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://[]/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://999.1.1.1/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://1.2.3/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://h%41/", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://h/a b", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://h/\x7f", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
	{ "https://h/caf\xc3\xa9", -EINVAL, false, NULL, false, 0, NULL, NULL, NULL },
};

static void test_url_table(void)
{
	for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *c = &url_cases[i];
		struct tools_fetch_url u;
		int rc = tools_fetch_url_parse(c->in, &u);
		bool ok = rc == c->rc;
		if (ok && rc == 0)
			ok = u.is_https == c->https && !strcmp(u.host, c->host) &&
			     u.host_is_ip == c->ip && u.port == c->port &&
			     !strcmp(u.target, c->target) && !strcmp(u.authority, c->authority) &&
			     !strcmp(u.text, c->text);
		if (!ok)
			fprintf(stderr,
				"\n[%s] rc %d: host '%s' port %u target '%s' authority '%s' "
				"text '%s'\n",
				c->in, rc, rc ? "" : u.host, rc ? 0 : u.port, rc ? "" : u.target,
				rc ? "" : u.authority, rc ? "" : u.text);
		CU_ASSERT_TRUE(ok);
	}
}

static void test_url_limits(void)
{
	char s[FETCH_TARGET_MAX + 64];
	struct tools_fetch_url u;
	/* a target of FETCH_TARGET_MAX - 1 bytes fits with its NUL, one more does not */
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t n = (size_t)snprintf(s, sizeof(s), "https://h/");
		memset(s + n, 'a', FETCH_TARGET_MAX - 2 + extra);
		s[n + FETCH_TARGET_MAX - 2 + extra] = 0;
		CU_ASSERT_EQUAL(tools_fetch_url_parse(s, &u), extra ? -EINVAL : 0);
	}
	/* a host name of FETCH_HOST_MAX - 1 bytes */
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t n = (size_t)snprintf(s, sizeof(s), "https://");
		memset(s + n, 'h', FETCH_HOST_MAX - 1 + extra);
		snprintf(s + n + FETCH_HOST_MAX - 1 + extra, 8, "/");
		CU_ASSERT_EQUAL(tools_fetch_url_parse(s, &u), extra ? -EINVAL : 0);
	}
}

static void test_resolve(void)
{
	struct tools_fetch_resolve e;
	char ip[INET6_ADDRSTRLEN];
	CU_ASSERT_EQUAL(tools_fetch_url_parse_resolve("localuicc:443:127.0.0.1", &e), 0);
	CU_ASSERT_STRING_EQUAL(e.host, "localuicc");
	CU_ASSERT_EQUAL(e.port, 443);
	CU_ASSERT_EQUAL(e.addr.ss_family, AF_INET);
	CU_ASSERT_EQUAL(e.addr_len, sizeof(struct sockaddr_in));
	inet_ntop(AF_INET, &((struct sockaddr_in *)&e.addr)->sin_addr, ip, sizeof(ip));
	CU_ASSERT_STRING_EQUAL(ip, "127.0.0.1");

	static const char *const v6[] = { "localuicc:443:::1", "localuicc:443:[::1]" };
	for (size_t i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(tools_fetch_url_parse_resolve(v6[i], &e), 0);
		CU_ASSERT_EQUAL(e.addr.ss_family, AF_INET6);
		CU_ASSERT_EQUAL(e.addr_len, sizeof(struct sockaddr_in6));
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&e.addr)->sin6_addr, ip, sizeof(ip));
		CU_ASSERT_STRING_EQUAL(ip, "::1");
	}
	CU_ASSERT_EQUAL(tools_fetch_url_parse_resolve("[::1]:4116:127.0.0.1", &e), 0);
	CU_ASSERT_STRING_EQUAL(e.host, "::1");

	static const char *const bad[] = {
		"",
		"localuicc",
		"localuicc:443",
		"localuicc:443:",
		":443:127.0.0.1",
		"localuicc::127.0.0.1",
		"localuicc:0:127.0.0.1",
		"localuicc:443:localhost",
		"localuicc:443:127.0.0.1:1",
		"localuicc:443:[127.0.0.1]",
		"local uicc:443:127.0.0.1",
		"localuicc:443:[::1",
		"[::1:4116:127.0.0.1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = tools_fetch_url_parse_resolve(bad[i], &e);
		if (rc != -EINVAL)
			fprintf(stderr, "\n--resolve '%s' accepted\n", bad[i]);
		CU_ASSERT_EQUAL(rc, -EINVAL);
	}
}

static void test_connect_to(void)
{
	static const struct {
		const char *in;
		const char *host1;
		unsigned port1;
		const char *host2;
		unsigned port2;
	} good[] = {
		{ "127.0.0.1:4116:127.0.0.1:40000", "127.0.0.1", 4116, "127.0.0.1", 40000 },
		{ "[::1]:4116::40001", "::1", 4116, "", 40001 },
		{ ":443::40002", "", 443, "", 40002 },
		{ "localuicc:::", "localuicc", 0, "", 0 },
		{ ":::", "", 0, "", 0 },
		{ "::[::1]:", "", 0, "::1", 0 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct tools_fetch_connect_to c;
		CU_ASSERT_EQUAL_FATAL(tools_fetch_url_parse_connect_to(good[i].in, &c), 0);
		CU_ASSERT_STRING_EQUAL(c.host1, good[i].host1);
		CU_ASSERT_EQUAL(c.port1, good[i].port1);
		CU_ASSERT_STRING_EQUAL(c.host2, good[i].host2);
		CU_ASSERT_EQUAL(c.port2, good[i].port2);
	}
	static const char *const bad[] = {
		"",         ":",           "::",    "a:b:c:d",      "::1:4116::1",
		"h:1:h:1:", "h:1:h:99999", "h:1:h", "[::1]4116::1", "h:1:h:-1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tools_fetch_connect_to c;
		int rc = tools_fetch_url_parse_connect_to(bad[i], &c);
		if (rc != -EINVAL)
			fprintf(stderr, "\n--connect-to '%s' accepted\n", bad[i]);
		CU_ASSERT_EQUAL(rc, -EINVAL);
	}
}

/* --auto's three addresses with the fixed ports moved, as the end-to-end
 * test does it. */
static void test_route(void)
{
	struct tools_fetch_connect_to ct[3];
	struct tools_fetch_resolve res[2];
	CU_ASSERT_EQUAL_FATAL(
		tools_fetch_url_parse_connect_to("127.0.0.1:4116:127.0.0.1:1", &ct[0]), 0);
	CU_ASSERT_EQUAL_FATAL(tools_fetch_url_parse_connect_to(":4116::40001", &ct[1]), 0);
	CU_ASSERT_EQUAL_FATAL(tools_fetch_url_parse_connect_to(":443::40002", &ct[2]), 0);
	CU_ASSERT_EQUAL_FATAL(tools_fetch_url_parse_resolve("LOCALUICC:443:127.0.0.2", &res[0]), 0);
	CU_ASSERT_EQUAL_FATAL(tools_fetch_url_parse_resolve("other:40002:127.0.0.3", &res[1]), 0);

	static const struct {
		const char *url;
		size_t nct;
		const char *host;
		unsigned port;
		int fixed; /* index into res, -1 none */
	} cases[] = {
		{ "https://127.0.0.1:4116/", 3, "127.0.0.1", 1, -1 },
		{ "https://[::1]:4116/", 3, "::1", 40001, -1 },
		{ "https://localuicc:443/", 3, "localuicc", 40002, 0 },
		{ "https://localuicc/", 0, "localuicc", 443, 0 },
		{ "https://localuicc:4443/", 0, "localuicc", 4443, -1 },
		{ "https://other:443/", 3, "other", 40002, 1 },
		{ "https://other:443/", 0, "other", 443, -1 },
		{ "https://127.0.0.1:80/", 3, "127.0.0.1", 80, -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tools_fetch_url u;
		struct tools_fetch_route rt;
		CU_ASSERT_EQUAL_FATAL(tools_fetch_url_parse(cases[i].url, &u), 0);
		tools_fetch_url_route(&u, ct, cases[i].nct, res, 2, &rt);
		bool ok = !strcmp(rt.host, cases[i].host) && rt.port == cases[i].port &&
			  rt.fixed == (cases[i].fixed < 0 ? NULL : &res[cases[i].fixed]);
		if (!ok)
			fprintf(stderr, "\n[%s] -> %s %u fixed %p\n", cases[i].url, rt.host,
				rt.port, (const void *)rt.fixed);
		CU_ASSERT_TRUE(ok);
	}
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_url_table),  UNIT_TEST(test_url_limits), UNIT_TEST(test_resolve),
		UNIT_TEST(test_connect_to), UNIT_TEST(test_route),      CU_TEST_INFO_NULL,
	};
	return unit_add_suite("tools_fetch_url", tests);
}
