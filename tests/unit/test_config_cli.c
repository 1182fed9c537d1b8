#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
/* test_config_cli.c - unit tests for the scwsemu command line. */
#include <string.h>

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cli.h"
#include "config/paths.h"
#include "runner.h"

static int parse(struct cli_options *o, char *err, size_t cap, const char *a0, ...)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)"scwsemu";
	va_list ap;
	va_start(ap, a0);
	for (const char *a = a0; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return cli_parse(argc, argv, o, err, cap);
}

static void test_defaults(void)
{
	struct cli_options o;
	char err[256];
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), NULL), 0);
	CU_ASSERT_EQUAL(o.n_tcpip, 2);
	CU_ASSERT_STRING_EQUAL(o.tcpip[0].host, "127.0.0.1");
	CU_ASSERT_EQUAL(o.tcpip[0].port, 443);
	CU_ASSERT_TRUE(o.tcpip[0].is_default);
	CU_ASSERT_STRING_EQUAL(o.tcpip[1].host, "::1");
	CU_ASSERT_PTR_NULL(o.card_dir);
	CU_ASSERT_EQUAL(o.idle_timeout_ms, 10000);
	CU_ASSERT_EQUAL(o.request_timeout_ms, 30000);
	CU_ASSERT_EQUAL(o.handshake_timeout_ms, 10000);
	CU_ASSERT_EQUAL(o.head_timeout_ms, 10000);
	CU_ASSERT_EQUAL(o.keepalive_timeout_ms, 10000);
	CU_ASSERT_EQUAL(o.max_clients, 1024);
	CU_ASSERT_EQUAL(o.max_clients_per_peer, 64);
	CU_ASSERT_EQUAL(o.auth_fail_limit, 10);
	CU_ASSERT_EQUAL(o.auth_fail_window_ms, 60000);
	cli_options_cleanup(&o);
}

static void test_limits(void)
{
	struct cli_options o;
	char err[256];
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--handshake-timeout", "1.5", "--head-timeout",
			      "2", "--keepalive-timeout", "0.25", "--max-clients", "10",
			      "--max-clients-per-peer", "3", "--auth-fail-limit", "0",
			      "--auth-fail-window", "2", NULL),
			0);
	CU_ASSERT_EQUAL(o.auth_fail_limit, 0);
	CU_ASSERT_EQUAL(o.auth_fail_window_ms, 2000);
	CU_ASSERT_EQUAL(o.handshake_timeout_ms, 1500);
	CU_ASSERT_EQUAL(o.head_timeout_ms, 2000);
	CU_ASSERT_EQUAL(o.keepalive_timeout_ms, 250);
	CU_ASSERT_EQUAL(o.max_clients, 10);
	CU_ASSERT_EQUAL(o.max_clients_per_peer, 3);
	cli_options_cleanup(&o);
}

static void test_explicit(void)
{
	struct cli_options o;
	char err[256];
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--card", "cards/auth", "--tcpip",
			      "127.0.0.1:0", "--tcpip", "[::1]:8443", "--no-bip", "--log-format",
			      "json", "-v", "-v", "--ready-file", "/tmp/r.json", "--idle-timeout",
			      "0.5", NULL),
			0);
	CU_ASSERT_EQUAL(o.n_tcpip, 2);
	CU_ASSERT_FALSE(o.tcpip[0].is_default);
	CU_ASSERT_EQUAL(o.tcpip[0].port, 0);
	CU_ASSERT_STRING_EQUAL(o.tcpip[1].host, "::1");
	CU_ASSERT_EQUAL(o.tcpip[1].port, 8443);
	CU_ASSERT_TRUE(o.no_bip);
	CU_ASSERT_TRUE(o.log_json);
	CU_ASSERT_EQUAL(o.verbosity, 2);
	CU_ASSERT_STRING_EQUAL(o.card_dir, "cards/auth");
	CU_ASSERT_STRING_EQUAL(o.ready_file, "/tmp/r.json");
	CU_ASSERT_EQUAL(o.idle_timeout_ms, 500);
	cli_options_cleanup(&o);
}

static void test_bip(void)
{
	struct cli_options o;
	char err[256];
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--bip-listen", "::1", "--bip-listen",
			      "127.0.0.2", "--port-map", "4116=0", "--port-map", "3516=13516",
			      NULL),
			0);
	CU_ASSERT_EQUAL(o.n_bip_listen, 2);
	CU_ASSERT_STRING_EQUAL(o.bip_listen[0].host, "::1");
	CU_ASSERT_STRING_EQUAL(o.bip_listen[1].host, "127.0.0.2");
	CU_ASSERT_EQUAL(o.n_port_map, 2);
	CU_ASSERT_EQUAL(o.port_map[0].card_port, 4116);
	CU_ASSERT_EQUAL(o.port_map[0].host_port, 0);
	CU_ASSERT_EQUAL(o.port_map[1].host_port, 13516);
	cli_options_cleanup(&o);
	CU_ASSERT_EQUAL(
		parse(&o, err, sizeof(err), "--port-map", "4116=1", "--port-map", "4116=2", NULL),
		-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "mapped twice"));
	cli_options_cleanup(&o);
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--no-bip", "--port-map", "4116=1", NULL),
			-EINVAL);
	cli_options_cleanup(&o);
}

static void test_errors(void)
{
	static const struct {
		const char *a, *b, *msg;
	} cases[] = {
		{ "--tcpip", "localhost:443", "not a numeric" },
		{ "--tcpip", "127.0.0.1", "missing :PORT" },
		{ "--tcpip", "127.0.0.1:65536", "port must be" },
		{ "--tcpip", "127.0.0.1:-1", "port must be" },
		{ "--tcpip", "[::1:443", "expected ADDR:PORT" },
		{ "--log-format", "xml", "expected text or json" },
		{ "--idle-timeout", "0", "expected seconds" },
		{ "--handshake-timeout", "-1", "--handshake-timeout '-1': expected seconds" },
		{ "--head-timeout", "x", "--head-timeout 'x': expected seconds" },
		{ "--keepalive-timeout", "0", "--keepalive-timeout '0': expected seconds" },
		{ "--max-clients", "0", "--max-clients '0': expected a whole number 1..65536" },
		{ "--max-clients", "65537", "expected a whole number" },
		{ "--max-clients-per-peer", "-3", "expected a whole number" },
		{ "--max-clients-per-peer", "2x", "expected a whole number" },
		{ "--auth-fail-limit", "-1",
		  "--auth-fail-limit '-1': expected a whole number 0.." },
		{ "--auth-fail-window", "0", "--auth-fail-window '0': expected seconds" },
		{ "--bogus", NULL, "unknown option '--bogus'" },
		{ "--card", NULL, "needs an argument" },
		{ "stray", NULL, "unexpected argument 'stray'" },
		{ "--port-map", "4116", "expected [NAME:]CARDPORT=HOSTPORT" },
		{ "--port-map", "0=1", "expected [NAME:]CARDPORT=HOSTPORT" },
		{ "--port-map", "4116=70000", "expected [NAME:]CARDPORT=HOSTPORT" },
		{ "--bip-listen", "127.0.0.1:5", "without a port" },
		{ "--bip-listen", "localhost", "not a numeric" },
		{ "--port-map", "a b:4116=0", "--port-map 'a b:4116=0': expected [NAME:]CARDPORT" },
		{ "--port-map", ":4116=0", "expected [NAME:]CARDPORT=HOSTPORT" },
		{ "--port-base", "0", "--port-base '0': expected a whole number 1..65535" },
		{ "--port-stride", "5", "--port-stride needs --port-base" },
		{ "--cards", "", "needs a non-empty argument" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_options o;
		char err[256] = "";
		int rc = parse(&o, err, sizeof(err), cases[i].a, cases[i].b, NULL);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		if (!strstr(err, cases[i].msg))
			fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err, cases[i].msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].msg));
		cli_options_cleanup(&o);
	}
	struct cli_options o;
	char err[256];
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--no-tcpip", "--tcpip", "127.0.0.1:1", NULL),
			-EINVAL);
	cli_options_cleanup(&o);
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--no-tcpip", NULL), 0);
	CU_ASSERT_EQUAL(o.n_tcpip, 0);
	cli_options_cleanup(&o);
}

static void test_commands(void)
{
	static const struct {
		const char *arg;
		size_t off;
	} flags[] = {
		{ "-h", offsetof(struct cli_options, show_help) },
		{ "--help", offsetof(struct cli_options, show_help) },
		{ "--check-setup", offsetof(struct cli_options, check_setup) },
		{ "--print-paths", offsetof(struct cli_options, print_paths) },
		{ "--version", offsetof(struct cli_options, show_version) },
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct cli_options o;
		char err[256];
		CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), flags[i].arg, NULL), 0);
		CU_ASSERT_TRUE(*(bool *)((char *)&o + flags[i].off));
		cli_options_cleanup(&o);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_usage(), "-h, --help"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_usage(), "--check-setup"));
}

/* --card NAME: a directory wins; else the shipped card; else as given. */
/* A rack: --card repeatable with NAME=, --reader likewise, per-card maps. */
static void test_rack(void)
{
	struct cli_options o;
	char err[256] = "";
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--card", "alpha=cards/auth", "--card",
			      "cards/default", "--card", "odd=dir=x", "--cards", "/srv/cards",
			      "--port-map", "alpha:4116=0", "--port-map", "alpha:443=14443",
			      "--port-map", "3516=0", "--port-base", "20000", NULL),
			0);
	CU_ASSERT_EQUAL(o.n_cards, 3);
	CU_ASSERT_STRING_EQUAL(o.cards[0].name, "alpha");
	CU_ASSERT_STRING_EQUAL(o.cards[0].dir, "cards/auth");
	CU_ASSERT_STRING_EQUAL(o.cards[1].name, "");
	CU_ASSERT_STRING_EQUAL(o.cards[1].dir, "cards/default");
	CU_ASSERT_STRING_EQUAL(o.cards[2].name, "odd");
	CU_ASSERT_STRING_EQUAL(o.cards[2].dir, "dir=x");
	CU_ASSERT_PTR_EQUAL(o.card_dir, o.cards[0].dir);
	CU_ASSERT_STRING_EQUAL(o.cards_dir, "/srv/cards");
	CU_ASSERT_EQUAL(o.n_port_map, 3);
	CU_ASSERT_STRING_EQUAL(o.port_map[0].card, "alpha");
	CU_ASSERT_EQUAL(o.port_map[1].card_port, 443);
	CU_ASSERT_EQUAL(o.port_map[1].host_port, 14443);
	CU_ASSERT_STRING_EQUAL(o.port_map[2].card, "");
	CU_ASSERT_EQUAL(o.port_base, 20000);
	CU_ASSERT_EQUAL(o.port_stride, 10);
	cli_options_cleanup(&o);
	/* the same card port of two cards is two maps; of one card, an error */
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--port-map", "a:4116=0", "--port-map",
			      "b:4116=0", NULL),
			0);
	cli_options_cleanup(&o);
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--port-map", "a:4116=0", "--port-map",
			      "a:4116=5", NULL),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "--port-map: card port 4116 of card a mapped twice");
	cli_options_cleanup(&o);
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--card", "x=a", "--card", "x=b", NULL),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "two cards named 'x' (--card NAME=DIR names each)");
	cli_options_cleanup(&o);
	/* --reader repeatable: a gateway per reader, no card profiles beside */
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--reader", "Virtual PCD 00 00", "--reader",
			      "b=Virtual PCD 00 01", NULL),
			0);
	CU_ASSERT_EQUAL(o.n_cards, 2);
	CU_ASSERT_STRING_EQUAL(o.reader, "Virtual PCD 00 00");
	CU_ASSERT_STRING_EQUAL(o.cards[1].name, "b");
	CU_ASSERT_STRING_EQUAL(o.cards[1].reader, "Virtual PCD 00 01");
	cli_options_cleanup(&o);
	CU_ASSERT_EQUAL(parse(&o, err, sizeof(err), "--reader", "R", "--card", "x", NULL), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "--reader runs the gateway only: no --card or --cards");
	cli_options_cleanup(&o);
	CU_ASSERT_EQUAL(
		parse(&o, err, sizeof(err), "--port-base", "30000", "--port-stride", "4", NULL), 0);
	CU_ASSERT_EQUAL(o.port_stride, 4);
	cli_options_cleanup(&o);
}

static void test_card_path(void)
{
	char out[PATH_MAX], dir[] = "/tmp/test_cli.XXXXXX";
	CU_ASSERT_EQUAL(strcmp(config_card_path("./x", out, sizeof(out)), "./x"), 0);
	CU_ASSERT_STRING_EQUAL(config_card_path("a/b", out, sizeof(out)), "a/b");
	CU_ASSERT_STRING_EQUAL(config_card_path("no-such-card", out, sizeof(out)), "no-such-card");
	config_card_path("auth", out, sizeof(out));
	size_t n = strlen(out);
	CU_ASSERT_TRUE(n > 11 && strcmp(out + n - 11, "/cards/auth") == 0 && out[0] == '/');
	/* A directory named like a shipped card, here, is that directory. */
	char cwd[PATH_MAX];
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
	CU_ASSERT_EQUAL(mkdir("auth", 0700), 0);
	CU_ASSERT_STRING_EQUAL(config_card_path("auth", out, sizeof(out)), "auth");
	CU_ASSERT_EQUAL(rmdir("auth"), 0);
	CU_ASSERT_EQUAL(chdir(cwd), 0);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
	/* The CA: beside the certificate, else the shipped one. */
	config_ca_path(NULL, out, sizeof(out));
	n = strlen(out);
	CU_ASSERT_TRUE(n > 15 && strcmp(out + n - 16, "/pki/scws-ca.crt") == 0);
	char cert[PATH_MAX];
	snprintf(cert, sizeof(cert), "%s", out);
	snprintf(cert + strlen(cert) - strlen("scws-ca.crt"), 32, "scws-server.crt");
	char ca2[PATH_MAX];
	CU_ASSERT_STRING_EQUAL(config_ca_path(cert, ca2, sizeof(ca2)), out);
	CU_ASSERT_STRING_EQUAL(config_ca_path("/nonexistent/x.crt", ca2, sizeof(ca2)), out);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_defaults), UNIT_TEST(test_explicit), UNIT_TEST(test_bip),
		UNIT_TEST(test_errors),   UNIT_TEST(test_commands), UNIT_TEST(test_card_path),
		UNIT_TEST(test_limits),   UNIT_TEST(test_rack),     CU_TEST_INFO_NULL,
	};
	return unit_add_suite("config_cli", tests);
}
