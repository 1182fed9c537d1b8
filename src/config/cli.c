/* cli.c - the scwsemu command line (getopt_long). */
#include "config/cli.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strparse.h"
#include "core/limits.h"

#define IDLE_TIMEOUT_MS_DEFAULT 10000u
#define REQUEST_TIMEOUT_MS_DEFAULT 30000u
#define HANDSHAKE_TIMEOUT_MS_DEFAULT 10000u
#define HEAD_TIMEOUT_MS_DEFAULT 10000u
#define KEEPALIVE_TIMEOUT_MS_DEFAULT 10000u

const char *cli_usage(void)
{
	return "Usage: scwsemu [OPTION]...\n"
	       "Emulate a UICC with an OMA Smart Card Web Server and serve its DM bootstrap.\n"
	       "\n"
	       "  --card [NAME=]DIR       card profile: a directory, or the name of a shipped\n"
	       "                          card (default, auth, psk-only, ...: --print-paths\n"
	       "                          lists them); default: default. Repeatable: a rack of\n"
	       "                          cards, each named NAME (default: the directory's name)\n"
	       "  --cards DIR             a card for every profile directory under DIR\n"
	       "  --port-base N           card i's j-th port (its BIP ports in profile order,\n"
	       "                          then TCP/IP) listens on host port N + i*stride + j\n"
	       "  --port-stride S         host ports per card with --port-base (default 10)\n"
	       "  --tcpip ADDR:PORT       serve the SCWS over TCP/IP here (repeatable; port 0 =\n"
	       "                          ephemeral; default 127.0.0.1:443 and [::1]:443)\n"
	       "  --no-tcpip              no TCP/IP (localuicc) listeners\n"
	       "  --bip-listen ADDR       BIP gateway listen address (repeatable; default\n"
	       "                          127.0.0.1 and ::1)\n"
	       "  --port-map [NAME:]CARD=HOST\n"
	       "                          listen for card port CARD on host port HOST (0 =\n"
	       "                          ephemeral; e.g. 4116=14116); NAME: that card only\n"
	       "                          (NAME:443=PORT moves its TCP/IP listeners)\n"
	       "  --no-bip                no BIP gateway\n"
	       "  --ready-file PATH       write a JSON description of the endpoints once "
	       "listening\n"
	       "  --trace FILE.pcap       write every APDU exchange as GSMTAP SIM in a pcap file\n"
	       "  --gsmtap HOST[:PORT]    send the same GSMTAP datagrams live (port 4729)\n"
	       "  --vpcd HOST:PORT        the card only, attached to vsmartcard's vpcd (pcscd);\n"
	       "                          card i of a rack on PORT + i (vpcd slot i)\n"
	       "  --reader [NAME=]READER  the gateway only, driving the card in PC/SC reader\n"
	       "                          READER (repeatable: a gateway per reader)\n"
	       "  --control PATH          steer the running emulator through a UNIX socket\n"
	       "                          (mode 0600; see scwsemu-ctl(1))\n"
	       "  --bootstrap-server ADDR:PORT[/PATH]\n"
	       "                          serve the bootstrap as a Bootstrap Server over HTTPS\n"
	       "                          (repeatable; PATH default /bootstrap)\n"
	       "  --bootstrap-server-doc FILE\n"
	       "                          the Bootstrap Server's document (XML or WBXML; default:\n"
	       "                          the card's bootstrap)\n"
	       "  --journal FILE          append every connection and request as JSON lines\n"
	       "  --report FILE.xml       write the verdicts as JUnit XML at exit\n"
	       "  --report-json FILE      write the verdicts as JSON at exit\n"
	       "  --until-fetched SEC     exit once a client has the bootstrap, or after SEC:\n"
	       "                          0 every verdict passed, 3 one failed, 4 no client\n"
	       "  --scenario FILE         run control commands from FILE, each at=SECONDS after\n"
	       "                          ready or after-requests=N (see scwsemu(1))\n"
	       "  --idle-timeout SEC      close a connection silent this long (default 10)\n"
	       "  --request-timeout SEC   close a connection whose request takes longer (default "
	       "30)\n"
	       "  --handshake-timeout SEC close a connection whose TLS handshake takes longer\n"
	       "                          (default 10)\n"
	       "  --head-timeout SEC      close a connection whose request head takes longer\n"
	       "                          (default 10)\n"
	       "  --keepalive-timeout SEC close a kept-alive connection with no new request this\n"
	       "                          long (default 10)\n"
	       "  --max-clients N         connections at once, every transport (default 1024)\n"
	       "  --max-clients-per-peer N  connections at once from one address (default 64)\n"
	       "  --auth-fail-limit N     failed credential attempts per peer or devid in a\n"
	       "                          window, then 429 (default 10; 0: no limit)\n"
	       "  --auth-fail-window SEC  that window (default 60)\n"
	       "  --log-format text|json  log line format on stderr (default text)\n"
	       "  -v, --verbose           more logging (repeat for debug)\n"
	       "  -q, --quiet             errors and warnings only\n"
	       "  --check-setup           check what serving a real client needs (localuicc,\n"
	       "                          port 443, IPv6, the test CA) and print each fix\n"
	       "  --print-paths           print the data directory, the cards and the CA file\n"
	       "  -h, --help              this text\n"
	       "  --version               version\n"
	       "\n"
	       "Exit status: 0 after SIGTERM/SIGINT, 2 for bad usage, a bad card profile or a\n"
	       "ready file of a running scwsemu, 1 for other failures (a port already in use).\n"
	       "SIGHUP reloads every card's profile (one that fails keeps its previous one).\n";
}

/* 0..65535 (0: ephemeral), digits only. */
static int parse_port(const char *s, uint16_t *out)
{
	return strparse_port(s, strlen(s), 0, out);
}

int cli_parse_addr(const char *s, bool with_port, struct cli_addr *out, char *err, size_t errcap)
{
	char host[64];
	struct bytes h, p;
	bool has_port;
	memset(out, 0, sizeof(*out));
	if (strparse_hostport(s, &h, &p, &has_port) || h.len >= sizeof(host))
		goto bad;
	memcpy(host, h.ptr, h.len);
	host[h.len] = 0;
	const char *port = has_port ? (const char *)p.ptr : NULL;
	unsigned char tmp[16];
	if (inet_pton(AF_INET, host, tmp) != 1 && inet_pton(AF_INET6, host, tmp) != 1) {
		snprintf(err, errcap, "'%s': not a numeric IPv4 or IPv6 address", s);
		return -EINVAL;
	}
	if (with_port) {
		if (!port) {
			snprintf(err, errcap, "'%s': missing :PORT (IPv6 as [ADDR]:PORT)", s);
			return -EINVAL;
		}
		if (parse_port(port, &out->port)) {
			snprintf(err, errcap, "'%s': port must be 0..65535", s);
			return -EINVAL;
		}
	} else if (port) {
		snprintf(err, errcap, "'%s': give an address without a port", s);
		return -EINVAL;
	}
	snprintf(out->host, sizeof(out->host), "%s", host);
	return 0;
bad:
	snprintf(err, errcap, "'%s': expected ADDR:PORT or [IPV6]:PORT", s);
	return -EINVAL;
}

bool cli_card_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= PROFILE_NAME_MAX || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* [NAME:]CARDPORT=HOSTPORT */
static int parse_port_map(const char *arg, struct cli_port_map *out, char *err, size_t errcap)
{
	const char *s = arg, *colon = strchr(s, ':');
	memset(out, 0, sizeof(*out));
	if (colon) {
		if (!cli_card_name_ok(s, (size_t)(colon - s)))
			goto bad;
		memcpy(out->card, s, (size_t)(colon - s));
		s = colon + 1;
	}
	const char *eq = strchr(s, '=');
	char a[8];
	if (!eq || eq == s || (size_t)(eq - s) >= sizeof(a))
		goto bad;
	memcpy(a, s, (size_t)(eq - s));
	a[eq - s] = 0;
	if (parse_port(a, &out->card_port) || out->card_port == 0 ||
	    parse_port(eq + 1, &out->host_port))
		goto bad;
	return 0;
bad:
	snprintf(err, errcap,
		 "--port-map '%s': expected [NAME:]CARDPORT=HOSTPORT (HOSTPORT 0 = "
		 "ephemeral; NAME a card's name)",
		 arg);
	return -EINVAL;
}

/* --card [NAME=]DIR or --reader [NAME=]READER: NAME= only when what precedes
 * the first '=' is a card name (a directory or reader name may hold '='). */
static int add_card(struct cli_options *opt, const char *arg, bool reader, char *err, size_t errcap)
{
	const char *what = reader ? "--reader" : "--card";
	if (opt->n_cards >= CLI_CARDS_MAX) {
		snprintf(err, errcap,
			 "%s: at most %u cards on the command line (--cards DIR for more)", what,
			 CLI_CARDS_MAX);
		return -EINVAL;
	}
	struct cli_card *c = &opt->cards[opt->n_cards];
	const char *eq = strchr(arg, '=');
	memset(c, 0, sizeof(*c));
	if (eq && eq[1] && cli_card_name_ok(arg, (size_t)(eq - arg))) {
		memcpy(c->name, arg, (size_t)(eq - arg));
		arg = eq + 1;
	}
	if (!*arg) {
		snprintf(err, errcap, "option '%s' needs a non-empty argument", what);
		return -EINVAL;
	}
	char *v = strdup(arg);
	if (!v)
		return -ENOMEM;
	if (reader)
		c->reader = v;
	else
		c->dir = v;
	opt->n_cards++;
	return 0;
}

static int parse_seconds(const char *opt, const char *s, unsigned *ms, char *err, size_t errcap)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400) {
		snprintf(err, errcap, "%s '%s': expected seconds (0 < s <= 86400)", opt, s);
		return -EINVAL;
	}
	*ms = (unsigned)(v * 1000.0 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

static int parse_bootstrap_server(const char *s, struct cli_bootstrap_server *out, char *err,
				  size_t errcap)
{
	char addr[96];
	const char *slash = s[0] == '[' ? strchr(s, ']') : s;
	slash = slash ? strchr(slash, '/') : NULL;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	memset(out, 0, sizeof(*out));
	if (alen >= sizeof(addr)) {
		snprintf(err, errcap, "--bootstrap-server '%s': address too long", s);
		return -EINVAL;
	}
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (cli_parse_addr(addr, true, &out->addr, err, errcap)) {
		char m[256];
		snprintf(m, sizeof(m), "--bootstrap-server %s (expected ADDR:PORT[/PATH])", err);
		snprintf(err, errcap, "%s", m);
		return -EINVAL;
	}
	const char *path = slash ? slash : "/bootstrap";
	if (strlen(path) >= sizeof(out->path) || strpbrk(path, " ?#\t\r\n")) {
		snprintf(err, errcap,
			 "--bootstrap-server '%s': PATH must be an absolute path of "
			 "at most %zu bytes, without spaces, '?' or '#'",
			 s, sizeof(out->path) - 1);
		return -EINVAL;
	}
	snprintf(out->path, sizeof(out->path), "%s", path);
	return 0;
}

static int parse_count(const char *opt, const char *s, unsigned min, unsigned max, unsigned *out,
		       char *err, size_t errcap)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *s == '+' || v < min || v > max) {
		snprintf(err, errcap, "%s '%s': expected a whole number %u..%u", opt, s, min, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static void add_default(struct cli_addr *list, size_t *n, const char *host, uint16_t port)
{
	snprintf(list[*n].host, sizeof(list[*n].host), "%s", host);
	list[*n].port = port;
	list[*n].is_default = true;
	(*n)++;
}

enum {
	OPT_CARD = 256,
	OPT_TCPIP,
	OPT_NO_TCPIP,
	OPT_NO_BIP,
	OPT_BIP_LISTEN,
	OPT_PORT_MAP,
	OPT_READY,
	OPT_TRACE,
	OPT_GSMTAP,
	OPT_VPCD,
	OPT_READER,
	OPT_CONTROL,
	OPT_LOG_FORMAT,
	OPT_HELP,
	OPT_VERSION,
	OPT_IDLE,
	OPT_REQUEST,
	OPT_JOURNAL,
	OPT_REPORT,
	OPT_REPORT_JSON,
	OPT_UNTIL_FETCHED,
	OPT_BOOTSTRAP_SERVER,
	OPT_BOOTSTRAP_SERVER_DOC,
	OPT_SCENARIO,
	OPT_CHECK_SETUP,
	OPT_PRINT_PATHS,
	OPT_HANDSHAKE,
	OPT_HEAD,
	OPT_KEEPALIVE,
	OPT_MAX_CLIENTS,
	OPT_MAX_PER_PEER,
	OPT_AUTH_LIMIT,
	OPT_AUTH_WINDOW,
	OPT_CARDS,
	OPT_PORT_BASE,
	OPT_PORT_STRIDE,
};

/* The values an option leaves unset take. */
static void set_defaults(struct cli_options *opt)
{
	opt->idle_timeout_ms = IDLE_TIMEOUT_MS_DEFAULT;
	opt->request_timeout_ms = REQUEST_TIMEOUT_MS_DEFAULT;
	opt->handshake_timeout_ms = HANDSHAKE_TIMEOUT_MS_DEFAULT;
	opt->head_timeout_ms = HEAD_TIMEOUT_MS_DEFAULT;
	opt->keepalive_timeout_ms = KEEPALIVE_TIMEOUT_MS_DEFAULT;
	opt->max_clients = CLIENTS_MAX_DEFAULT;
	opt->max_clients_per_peer = CLIENTS_PER_PEER_DEFAULT;
	opt->auth_fail_limit = AUTH_FAIL_LIMIT_DEFAULT;
	opt->auth_fail_window_ms = AUTH_FAIL_WINDOW_MS_DEFAULT;
}

/* One option c (name as typed) with its argument arg into opt: 0, or
 * -EINVAL with the reason in err. */
static int apply_option(struct cli_options *opt, int c, const char *arg, const char *name,
			char *err, size_t errcap)
{
	switch (c) {
	case OPT_CARD:
	case OPT_READER:
		if (add_card(opt, arg, c == OPT_READER, err, errcap))
			return -EINVAL;
		break;
	case OPT_PORT_BASE:
		if (parse_count("--port-base", arg, 1, 65535, &opt->port_base, err, errcap))
			return -EINVAL;
		break;
	case OPT_PORT_STRIDE:
		if (parse_count("--port-stride", arg, 1, 1000, &opt->port_stride, err, errcap))
			return -EINVAL;
		break;
	case OPT_TCPIP:
		if (opt->n_tcpip >= CLI_ADDRS_MAX) {
			snprintf(err, errcap, "--tcpip: at most %d addresses", CLI_ADDRS_MAX);
			return -EINVAL;
		}
		if (cli_parse_addr(arg, true, &opt->tcpip[opt->n_tcpip], err, errcap)) {
			char m[256];
			snprintf(m, sizeof(m), "--tcpip %s", err);
			snprintf(err, errcap, "%s", m);
			return -EINVAL;
		}
		opt->n_tcpip++;
		break;
	case OPT_NO_TCPIP:
		opt->no_tcpip = true;
		break;
	case OPT_NO_BIP:
		opt->no_bip = true;
		break;
	case OPT_BIP_LISTEN:
		if (opt->n_bip_listen >= CLI_ADDRS_MAX) {
			snprintf(err, errcap, "--bip-listen: at most %d addresses", CLI_ADDRS_MAX);
			return -EINVAL;
		}
		if (cli_parse_addr(arg, false, &opt->bip_listen[opt->n_bip_listen], err, errcap)) {
			char m[256];
			snprintf(m, sizeof(m), "--bip-listen %s", err);
			snprintf(err, errcap, "%s", m);
			return -EINVAL;
		}
		opt->n_bip_listen++;
		break;
	case OPT_PORT_MAP:
		if (opt->n_port_map >= CLI_PORT_MAPS_MAX) {
			snprintf(err, errcap, "--port-map: at most %u mappings", CLI_PORT_MAPS_MAX);
			return -EINVAL;
		}
		if (parse_port_map(arg, &opt->port_map[opt->n_port_map], err, errcap))
			return -EINVAL;
		for (size_t i = 0; i < opt->n_port_map; i++) {
			const struct cli_port_map *m = &opt->port_map[opt->n_port_map];
			if (opt->port_map[i].card_port == m->card_port &&
			    strcmp(opt->port_map[i].card, m->card) == 0) {
				snprintf(err, errcap, "--port-map: card port %u%s%s mapped twice",
					 m->card_port, m->card[0] ? " of card " : "", m->card);
				return -EINVAL;
			}
		}
		opt->n_port_map++;
		break;
	case OPT_BOOTSTRAP_SERVER:
		if (opt->n_bootstrap_server >= CLI_ADDRS_MAX) {
			snprintf(err, errcap, "--bootstrap-server: at most %d", CLI_ADDRS_MAX);
			return -EINVAL;
		}
		if (parse_bootstrap_server(arg, &opt->bootstrap_server[opt->n_bootstrap_server],
					   err, errcap))
			return -EINVAL;
		opt->n_bootstrap_server++;
		break;
	case OPT_UNTIL_FETCHED:
		if (parse_seconds("--until-fetched", arg, &opt->until_fetched_ms, err, errcap))
			return -EINVAL;
		break;
	case OPT_READY:
	case OPT_TRACE:
	case OPT_GSMTAP:
	case OPT_VPCD:
	case OPT_CONTROL:
	case OPT_JOURNAL:
	case OPT_REPORT:
	case OPT_REPORT_JSON:
	case OPT_BOOTSTRAP_SERVER_DOC:
	case OPT_SCENARIO:
	case OPT_CARDS: {
		char **dst = c == OPT_READY                  ? &opt->ready_file
			     : c == OPT_TRACE                ? &opt->trace_file
			     : c == OPT_GSMTAP               ? &opt->gsmtap
			     : c == OPT_VPCD                 ? &opt->vpcd
			     : c == OPT_CONTROL              ? &opt->control
			     : c == OPT_JOURNAL              ? &opt->journal_file
			     : c == OPT_REPORT               ? &opt->report_file
			     : c == OPT_REPORT_JSON          ? &opt->report_json
			     : c == OPT_BOOTSTRAP_SERVER_DOC ? &opt->bootstrap_server_doc
			     : c == OPT_SCENARIO             ? &opt->scenario
							     : &opt->cards_dir;
		free(*dst);
		*dst = strdup(arg);
		if (!*dst)
			return -ENOMEM;
		if (!**dst) {
			snprintf(err, errcap, "option '%s' needs a non-empty argument", name);
			return -EINVAL;
		}
		break;
	}
	case OPT_IDLE:
		if (parse_seconds("--idle-timeout", arg, &opt->idle_timeout_ms, err, errcap))
			return -EINVAL;
		break;
	case OPT_REQUEST:
		if (parse_seconds("--request-timeout", arg, &opt->request_timeout_ms, err, errcap))
			return -EINVAL;
		break;
	case OPT_HANDSHAKE:
	case OPT_HEAD:
	case OPT_KEEPALIVE:
	case OPT_AUTH_WINDOW: {
		unsigned *dst = c == OPT_HANDSHAKE   ? &opt->handshake_timeout_ms
				: c == OPT_HEAD      ? &opt->head_timeout_ms
				: c == OPT_KEEPALIVE ? &opt->keepalive_timeout_ms
						     : &opt->auth_fail_window_ms;
		const char *what = c == OPT_HANDSHAKE   ? "--handshake-timeout"
				   : c == OPT_HEAD      ? "--head-timeout"
				   : c == OPT_KEEPALIVE ? "--keepalive-timeout"
							: "--auth-fail-window";
		if (parse_seconds(what, arg, dst, err, errcap))
			return -EINVAL;
		break;
	}
	case OPT_MAX_CLIENTS:
		if (parse_count("--max-clients", arg, 1, CLIENTS_MAX, &opt->max_clients, err,
				errcap))
			return -EINVAL;
		break;
	case OPT_MAX_PER_PEER:
		if (parse_count("--max-clients-per-peer", arg, 1, CLIENTS_MAX,
				&opt->max_clients_per_peer, err, errcap))
			return -EINVAL;
		break;
	case OPT_AUTH_LIMIT:
		if (parse_count("--auth-fail-limit", arg, 0, AUTH_FAIL_LIMIT_MAX,
				&opt->auth_fail_limit, err, errcap))
			return -EINVAL;
		break;
	case OPT_LOG_FORMAT:
		if (strcmp(arg, "json") == 0) {
			opt->log_json = true;
		} else if (strcmp(arg, "text") == 0) {
			opt->log_json = false;
		} else {
			snprintf(err, errcap, "--log-format '%s': expected text or json", arg);
			return -EINVAL;
		}
		break;
	case 'v':
		opt->verbosity = opt->verbosity < 0 ? 1 : opt->verbosity + 1;
		break;
	case 'q':
		opt->verbosity = -1;
		break;
	case OPT_HELP:
	case 'h':
		opt->show_help = true;
		break;
	case OPT_CHECK_SETUP:
		opt->check_setup = true;
		break;
	case OPT_PRINT_PATHS:
		opt->print_paths = true;
		break;
	case OPT_VERSION:
		opt->show_version = true;
		break;
	case ':':
		snprintf(err, errcap, "option '%s' needs an argument", name);
		return -EINVAL;
	default:
		snprintf(err, errcap, "unknown option '%s'", name);
		return -EINVAL;
	}

	return 0;
}

/* The rack: names unique, readers not beside profiles, the first card's
 * directory and reader for the single-card code paths, --port-base's stride. */
static int check_cards(struct cli_options *opt, char *err, size_t errcap)
{
	size_t n_readers = 0, n_dirs = 0;
	for (size_t i = 0; i < opt->n_cards; i++) {
		n_readers += opt->cards[i].reader != NULL;
		n_dirs += opt->cards[i].dir != NULL;
		for (size_t j = 0; j < i && opt->cards[i].name[0]; j++)
			if (strcmp(opt->cards[i].name, opt->cards[j].name) == 0) {
				snprintf(err, errcap,
					 "two cards named '%s' (--card NAME=DIR names "
					 "each)",
					 opt->cards[i].name);
				return -EINVAL;
			}
	}
	if (n_readers && (n_dirs || opt->cards_dir)) {
		snprintf(err, errcap, "--reader runs the gateway only: no --card or --cards");
		return -EINVAL;
	}
	if (n_dirs) {
		for (size_t i = 0; i < opt->n_cards && !opt->card_dir; i++)
			opt->card_dir = opt->cards[i].dir;
	}
	for (size_t i = 0; i < opt->n_cards && !opt->reader; i++)
		opt->reader = opt->cards[i].reader;
	if (opt->port_stride && !opt->port_base) {
		snprintf(err, errcap, "--port-stride needs --port-base");
		return -EINVAL;
	}
	if (!opt->port_stride)
		opt->port_stride = RACK_PORT_STRIDE_DEFAULT;
	return 0;
}

/* Options that contradict each other. */
static int check_combinations(const struct cli_options *opt, char *err, size_t errcap)
{
	if (opt->no_bip && (opt->n_bip_listen || opt->n_port_map)) {
		snprintf(err, errcap, "--no-bip and --bip-listen/--port-map contradict each other");
		return -EINVAL;
	}
	if (opt->vpcd && opt->reader) {
		snprintf(err, errcap,
			 "--vpcd (the card only) and --reader (the gateway only) "
			 "belong in two processes");
		return -EINVAL;
	}
	if (opt->reader && (opt->n_tcpip || opt->no_bip)) {
		snprintf(err, errcap, "--reader runs the gateway only: no --tcpip or --no-bip");
		return -EINVAL;
	}
	if (opt->vpcd && (opt->n_bip_listen || opt->n_port_map)) {
		snprintf(err, errcap,
			 "--vpcd runs the card only: the gateway options belong to the "
			 "--reader process");
		return -EINVAL;
	}
	if (opt->bootstrap_server_doc && !opt->n_bootstrap_server) {
		snprintf(err, errcap,
			 "--bootstrap-server-doc needs a --bootstrap-server to serve it");
		return -EINVAL;
	}
	if (opt->n_bootstrap_server && opt->reader) {
		snprintf(err, errcap, "--bootstrap-server needs a card profile: not with --reader");
		return -EINVAL;
	}
	if (opt->no_tcpip && opt->n_tcpip) {
		snprintf(err, errcap, "--no-tcpip and --tcpip contradict each other");
		return -EINVAL;
	}
	return 0;
}

/* What one mode implies for the others, and the default TCP/IP addresses. */
static void add_implied(struct cli_options *opt)
{
	/* The card alone (--vpcd) or the gateway alone (--reader) open no
	 * TCP/IP listener unless asked (--vpcd with --tcpip). */
	if (opt->vpcd || opt->reader)
		opt->no_bip = opt->vpcd ? true : opt->no_bip;
	if (!opt->no_tcpip && opt->n_tcpip == 0 && !opt->vpcd && !opt->reader) {
		add_default(opt->tcpip, &opt->n_tcpip, "127.0.0.1", 443);
		add_default(opt->tcpip, &opt->n_tcpip, "::1", 443);
	}
}

int cli_parse(int argc, char **argv, struct cli_options *opt, char *err, size_t errcap)
{
	static const struct option longopts[] = {
		{ "card", required_argument, NULL, OPT_CARD },
		{ "cards", required_argument, NULL, OPT_CARDS },
		{ "port-base", required_argument, NULL, OPT_PORT_BASE },
		{ "port-stride", required_argument, NULL, OPT_PORT_STRIDE },
		{ "tcpip", required_argument, NULL, OPT_TCPIP },
		{ "no-tcpip", no_argument, NULL, OPT_NO_TCPIP },
		{ "no-bip", no_argument, NULL, OPT_NO_BIP },
		{ "bip-listen", required_argument, NULL, OPT_BIP_LISTEN },
		{ "port-map", required_argument, NULL, OPT_PORT_MAP },
		{ "ready-file", required_argument, NULL, OPT_READY },
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "gsmtap", required_argument, NULL, OPT_GSMTAP },
		{ "vpcd", required_argument, NULL, OPT_VPCD },
		{ "reader", required_argument, NULL, OPT_READER },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "scenario", required_argument, NULL, OPT_SCENARIO },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "request-timeout", required_argument, NULL, OPT_REQUEST },
		{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE },
		{ "head-timeout", required_argument, NULL, OPT_HEAD },
		{ "keepalive-timeout", required_argument, NULL, OPT_KEEPALIVE },
		{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
		{ "max-clients-per-peer", required_argument, NULL, OPT_MAX_PER_PEER },
		{ "auth-fail-limit", required_argument, NULL, OPT_AUTH_LIMIT },
		{ "auth-fail-window", required_argument, NULL, OPT_AUTH_WINDOW },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "journal", required_argument, NULL, OPT_JOURNAL },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "report-json", required_argument, NULL, OPT_REPORT_JSON },
		{ "until-fetched", required_argument, NULL, OPT_UNTIL_FETCHED },
		{ "bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP_SERVER },
		{ "bootstrap-server-doc", required_argument, NULL, OPT_BOOTSTRAP_SERVER_DOC },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "check-setup", no_argument, NULL, OPT_CHECK_SETUP },
		{ "print-paths", no_argument, NULL, OPT_PRINT_PATHS },
		{ NULL, 0, NULL, 0 },
	};
	memset(opt, 0, sizeof(*opt));
	set_defaults(opt);
	err[0] = 0;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
		int rc = apply_option(opt, c, optarg, argv[optind - 1], err, errcap);
		if (rc)
			return rc;
	}
	if (optind < argc) {
		snprintf(err, errcap, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (check_cards(opt, err, errcap) || check_combinations(opt, err, errcap))
		return -EINVAL;
	add_implied(opt);
	return 0;
}

void cli_options_cleanup(struct cli_options *opt)
{
	for (size_t i = 0; i < opt->n_cards; i++) {
		free(opt->cards[i].dir);
		free(opt->cards[i].reader);
	}
	free(opt->cards_dir);
	free(opt->ready_file);
	free(opt->trace_file);
	free(opt->gsmtap);
	free(opt->vpcd);
	free(opt->control);
	free(opt->journal_file);
	free(opt->report_file);
	free(opt->report_json);
	free(opt->bootstrap_server_doc);
	free(opt->scenario);
	memset(opt, 0, sizeof(*opt));
}
