/* fetch_main.c - scwsemu-fetch: the reference handset client for the OMA DM
 * bootstrap fallback over a Smart Card Web Server (https://{SCWS@}/OMA/DM/
 * Bootstrap.xml, doc/protocol.md §2.1; the form of RFC 7578, §6), and the load
 * generator of the benchmarks.
 *
 * One request per connection, as a handset fetches a bootstrap: TCP, a
 * full TLS handshake (no session is ever reused), the request written by
 * scws/http_resp.c, the response read by its parser. Sockets are
 * non-blocking only so that every step honours one deadline; the load
 * generator runs one such client per thread. */
#include "config.h"

#include "tools/fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "codec/wbxml.h"
#include "config/paths.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/json.h"
#include "core/limits.h"
#include "scws/http.h"
#include "scws/http_resp.h"
#include "tools/fetch_url.h"
#include "transport/sock.h"

/* The order a DM client tries the SCWS (OMA DM Bootstrap,
 * doc/protocol.md §2.1): BIP over IPv4, BIP over IPv6, then TCP/IP (ETSI TS 102 483). */
static const char *const auto_urls[] = {
	"https://127.0.0.1:4116/OMA/DM/Bootstrap.xml",
	"https://[::1]:4116/OMA/DM/Bootstrap.xml",
	"https://localuicc:443/OMA/DM/Bootstrap.xml",
};

static const char usage_text[] =
	"Usage: " PROG " [URL] [options]\n"
	"Fetch the DM bootstrap from a Smart Card Web Server as a handset does.\n"
	"URL defaults to " DEFAULT_URL ".\n"
	"\n"
	"  --auto                  try https://127.0.0.1:4116, https://[::1]:4116 and\n"
	"                          https://localuicc:443 in that order\n"
	"  --get                   GET instead of the multipart/form-data POST\n"
	"  --devid ID              devid field (default " DEFAULT_DEVID ")\n"
	"  --username U            username field\n"
	"  --passphrase P          passphrase, sent base64-encoded (RFC 4648)\n"
	"  --push-address URI      push-address field\n"
	"  --cacert FILE           certificate TLS, trusting FILE (default: the test CA\n"
	"                          pki/scws-ca.crt)\n"
	"  --psk IDENTITY:HEXKEY   PSK TLS instead (TLS 1.2 PSK suites, TLS 1.3 external PSK)\n"
	"  --tls-min V, --tls-max V  TLS versions 1.0 .. 1.3 (default 1.2 .. 1.3)\n"
	"  --resolve HOST:PORT:ADDR  use ADDR for HOST and PORT (like curl)\n"
	"  --connect-to HOST1:PORT1:HOST2:PORT2  connect to HOST2:PORT2 for a URL naming\n"
	"                          HOST1:PORT1 (like curl; empty fields match any / keep)\n"
	"  -o, --output FILE       write the bootstrap to FILE instead of stdout\n"
	"  --xml                   decode a WBXML bootstrap to XML\n"
	"  --timeout SEC           per request, connect to last byte (default 10)\n"
	"  -v, --verbose           request and response heads on stderr\n"
	"\nMisbehaving on purpose (to see a verdict rule of scwsemu fail):\n"
	"  --no-devid              send the form without devid\n"
	"  --unpadded-passphrase   send the passphrase's base64 without '=' padding\n"
	"                          (--username without --passphrase: no passphrase at all)\n"
	"  --plain                 HTTP without TLS, also to an https:// URL's port\n"
	"  --insecure              do not check the server's certificate\n"
	"  --loop N                do the whole fetch N times, whatever the answer\n"
	"  --loop-interval MS      wait MS between two rounds of --loop (default 0)\n"
	"\n"
	"  --concurrency N --requests M  load generator: M requests over N workers,\n"
	"                          each on a new TLS connection; --json for machine output\n"
	"  --resume                load generator: each worker resumes its previous TLS\n"
	"                          session (TLS 1.2 session id or ticket, TLS 1.3 ticket)\n"
	"\n"
	"Exit status: 0 got the bootstrap, 3 none available (404), 4 refused (400, 403,\n"
	"other 4xx), 1 transport, TLS or server failure, 2 bad usage.\n";

/* ---------------------------------------------------------------- options */

int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	return EXIT_USAGE;
}

static int parse_tls_version(const char *s, int *v)
{
	static const struct {
		const char *name;
		int v;
	} versions[] = { { "1.0", TLS1_VERSION },
			 { "1.1", TLS1_1_VERSION },
			 { "1.2", TLS1_2_VERSION },
			 { "1.3", TLS1_3_VERSION } };
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (!strcmp(s, versions[i].name)) {
			*v = versions[i].v;
			return 0;
		}
	return -EINVAL;
}

static int parse_unsigned(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || s[0] < '0' || s[0] > '9' || v == 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ---------------------------------------------------------------- single mode */

static bool type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	return !strncasecmp(ct, type, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

static int write_output(const struct opts *o, const uint8_t *p, size_t len)
{
	FILE *f = o->output ? fopen(o->output, "wb") : stdout;
	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", o->output, strerror(errno));
		return EXIT_FAIL;
	}
	bool ok = (len == 0 || fwrite(p, 1, len, f) == len);
	ok = (o->output ? fclose(f) == 0 : fflush(f) == 0) && ok;
	if (!ok) {
		fprintf(stderr, PROG ": %s: %s\n", o->output ? o->output : "stdout",
			strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The answer of a fetch that got a response, as an exit status. */
static int finish_fetch(const struct opts *o, const struct result *r)
{
	if (r->status == 200) {
		if (!o->want_xml || !type_is(r->content_type, WBXML_TYPE))
			return write_output(o, r->body.p, r->body.len);
		struct buf xml;
		char err[256];
		buf_init(&xml, SCWS_CONVERT_MAX);
		int rc = codec_wbxml_decode(r->body.p, r->body.len, &xml, err, sizeof(err));
		if (rc) {
			fprintf(stderr, PROG ": the bootstrap is not valid WBXML: %s\n", err);
			buf_cleanup(&xml);
			return EXIT_FAIL;
		}
		rc = write_output(o, xml.p, xml.len);
		buf_cleanup(&xml);
		return rc;
	}
	/* The server's error bodies are one text line: show it. */
	int n = 0;
	if (type_is(r->content_type, "text/plain"))
		while ((size_t)n < r->body.len && n < 300 && r->body.p[n] >= 0x20 &&
		       r->body.p[n] < 0x7F)
			n++;
	fprintf(stderr, PROG ": %d %s%s%.*s\n", r->status, r->reason, n ? ": " : "", n,
		(const char *)r->body.p);
	if (r->status == 404)
		return EXIT_NOT_FOUND;
	if (r->status >= 400 && r->status < 500)
		return EXIT_REFUSED;
	return EXIT_FAIL;
}

static int run_single(const struct opts *o)
{
	const char *one[1] = { o->url };
	const char *const *urls = o->is_auto ? auto_urls : one;
	size_t nurls = o->is_auto ? sizeof(auto_urls) / sizeof(auto_urls[0]) : 1;
	struct tools_fetch_url u[3];
	bool https = false;
	for (size_t i = 0; i < nurls; i++) {
		if (tools_fetch_url_parse(urls[i], &u[i]))
			return usage_error("not an http:// or https:// URL: %s", urls[i]);
		if (o->plain)
			u[i].is_https = false;
		https = https || u[i].is_https;
	}
	struct client cl;
	int rc = client_init(&cl, o, https);
	if (rc) {
		client_cleanup(&cl);
		return rc;
	}
	struct result r;
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, HTTP_RESP_BODY_MAX);
	rc = EXIT_FAIL;
	for (unsigned round = 0; round < (o->loop ? o->loop : 1); round++) {
		if (round) {
			struct timespec ts = { o->loop_ms / 1000,
					       (long)(o->loop_ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
			buf_reset(&r.body);
			rc = EXIT_FAIL;
		}
		for (size_t i = 0; i < nurls; i++) {
			if (fetch_once(&cl, &u[i], &r, o->verbose, NULL) == 0) {
				if (o->is_auto)
					fprintf(stderr, PROG ": %s answered (connected to %s)\n",
						u[i].text, r.peer);
				rc = finish_fetch(o, &r);
				break;
			}
			fprintf(stderr, PROG ": %s: %s\n", u[i].text, r.msg);
			if (o->is_auto && i + 1 == nurls)
				fprintf(stderr, PROG ": no SCWS answered\n");
		}
	}
	buf_cleanup(&r.body);
	client_cleanup(&cl);
	return rc;
}

/* ---------------------------------------------------------------- main */

enum {
	OPT_AUTO = 256,
	OPT_GET,
	OPT_DEVID,
	OPT_USERNAME,
	OPT_PASSPHRASE,
	OPT_PUSH,
	OPT_CACERT,
	OPT_PSK,
	OPT_RESOLVE,
	OPT_CONNECT_TO,
	OPT_XML,
	OPT_TIMEOUT,
	OPT_CONCURRENCY,
	OPT_REQUESTS,
	OPT_JSON,
	OPT_RESUME,
	OPT_TLS_MIN,
	OPT_TLS_MAX,
	OPT_NO_DEVID,
	OPT_UNPADDED,
	OPT_PLAIN,
	OPT_INSECURE,
	OPT_LOOP,
	OPT_LOOP_INTERVAL,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "auto", no_argument, NULL, OPT_AUTO },
	{ "get", no_argument, NULL, OPT_GET },
	{ "devid", required_argument, NULL, OPT_DEVID },
	{ "username", required_argument, NULL, OPT_USERNAME },
	{ "passphrase", required_argument, NULL, OPT_PASSPHRASE },
	{ "push-address", required_argument, NULL, OPT_PUSH },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "psk", required_argument, NULL, OPT_PSK },
	{ "resolve", required_argument, NULL, OPT_RESOLVE },
	{ "connect-to", required_argument, NULL, OPT_CONNECT_TO },
	{ "output", required_argument, NULL, 'o' },
	{ "xml", no_argument, NULL, OPT_XML },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "requests", required_argument, NULL, OPT_REQUESTS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "tls-min", required_argument, NULL, OPT_TLS_MIN },
	{ "tls-max", required_argument, NULL, OPT_TLS_MAX },
	{ "no-devid", no_argument, NULL, OPT_NO_DEVID },
	{ "unpadded-passphrase", no_argument, NULL, OPT_UNPADDED },
	{ "plain", no_argument, NULL, OPT_PLAIN },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "loop", required_argument, NULL, OPT_LOOP },
	{ "loop-interval", required_argument, NULL, OPT_LOOP_INTERVAL },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* IDENTITY:HEXKEY, the key after the last ':'. */
static int parse_psk(const char *s, struct opts *o)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || (size_t)(colon - s) > TLS_PSK_IDENTITY_MAX)
		return usage_error("--psk wants IDENTITY:HEXKEY");
	memcpy(o->psk_identity, s, (size_t)(colon - s));
	o->psk_identity[colon - s] = 0;
	if (hex_decode(colon + 1, o->psk_key, sizeof(o->psk_key), &o->psk_key_len) ||
	    o->psk_key_len == 0)
		return usage_error("--psk: the key must be 1 to %u bytes of hex", TLS_PSK_KEY_MAX);
	o->has_psk = true;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	unsigned long v;
	bool has_concurrency = false, has_requests = false;
	memset(o, 0, sizeof(*o));
	o->devid = DEFAULT_DEVID;
	o->timeout_ms = 10000;
	o->tls_min = TLS1_2_VERSION;
	o->tls_max = TLS1_3_VERSION;
	o->concurrency = 1;
	o->requests = 100;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:v", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_AUTO:
			o->is_auto = true;
			break;
		case OPT_GET:
			o->is_get = true;
			break;
		case OPT_DEVID:
			o->devid = optarg;
			break;
		case OPT_USERNAME:
			o->username = optarg;
			break;
		case OPT_PASSPHRASE:
			o->passphrase = optarg;
			break;
		case OPT_PUSH:
			o->push_address = optarg;
			break;
		case OPT_CACERT:
			o->cacert = optarg;
			break;
		case OPT_PSK:
			if (parse_psk(optarg, o))
				return EXIT_USAGE;
			break;
		case OPT_RESOLVE:
			if (o->num_resolve == FETCH_RESOLVE_MAX)
				return usage_error("more than %u --resolve", FETCH_RESOLVE_MAX);
			if (tools_fetch_url_parse_resolve(optarg, &o->resolve[o->num_resolve++]))
				return usage_error(
					"--resolve wants HOST:PORT:ADDR, ADDR numeric: %s", optarg);
			break;
		case OPT_CONNECT_TO:
			if (o->num_connect_to == FETCH_RESOLVE_MAX)
				return usage_error("more than %u --connect-to", FETCH_RESOLVE_MAX);
			if (tools_fetch_url_parse_connect_to(optarg,
							     &o->connect_to[o->num_connect_to++]))
				return usage_error("--connect-to wants HOST1:PORT1:HOST2:PORT2: %s",
						   optarg);
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_XML:
			o->want_xml = true;
			break;
		case OPT_TIMEOUT: {
			char *end;
			errno = 0;
			double t = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(t > 0) || t > 3600)
				return usage_error(
					"--timeout wants seconds, over 0 and up to 3600");
			o->timeout_ms = (int)(t * 1000 + 0.5);
			if (o->timeout_ms < 1)
				o->timeout_ms = 1;
			break;
		}
		case 'v':
			o->verbose = true;
			break;
		case OPT_CONCURRENCY:
			if (parse_unsigned(optarg, FETCH_CONCURRENCY_MAX, &v))
				return usage_error("--concurrency wants 1 to %u",
						   FETCH_CONCURRENCY_MAX);
			o->concurrency = (unsigned)v;
			has_concurrency = true;
			break;
		case OPT_REQUESTS:
			if (parse_unsigned(optarg, FETCH_REQUESTS_MAX, &v))
				return usage_error("--requests wants 1 to %u", FETCH_REQUESTS_MAX);
			o->requests = v;
			has_requests = true;
			break;
		case OPT_JSON:
			o->want_json = true;
			break;
		case OPT_RESUME:
			o->resume = true;
			break;
		case OPT_TLS_MIN:
		case OPT_TLS_MAX:
			if (parse_tls_version(optarg, c == OPT_TLS_MIN ? &o->tls_min : &o->tls_max))
				return usage_error("TLS versions are 1.0, 1.1, 1.2 and 1.3");
			break;
		case OPT_NO_DEVID:
			o->no_devid = true;
			break;
		case OPT_UNPADDED:
			o->unpadded = true;
			break;
		case OPT_PLAIN:
			o->plain = true;
			break;
		case OPT_INSECURE:
			o->insecure = true;
			break;
		case OPT_LOOP:
		case OPT_LOOP_INTERVAL: {
			char *end;
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' ||
			    n > (c == OPT_LOOP ? 10000ul : 600000ul) || (c == OPT_LOOP && n == 0))
				return usage_error("%s %s: expected %s", argv[optind - 2], optarg,
						   c == OPT_LOOP ? "1..10000" : "0..600000 ms");
			if (c == OPT_LOOP)
				o->loop = (unsigned)n;
			else
				o->loop_ms = (unsigned)n;
			break;
		}
		case OPT_HELP:
			fputs(usage_text, stdout);
			return -1;
		case OPT_VERSION:
			puts(PROG " " PACKAGE_VERSION);
			return -1;
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		o->url = argv[optind++];
	if (optind < argc)
		return usage_error("one URL at most (%s)", argv[optind]);
	if (o->url && o->is_auto)
		return usage_error("--auto tries its own URLs: give no URL");
	if (!o->url)
		o->url = DEFAULT_URL;
	if (o->cacert && o->has_psk)
		return usage_error("--cacert and --psk exclude each other");
	if (o->tls_min > o->tls_max)
		return usage_error("--tls-min is above --tls-max");
	o->is_load = has_concurrency || has_requests;
	if (o->is_load && o->is_auto)
		return usage_error("the load generator wants one URL, not --auto");
	if (o->is_load && (o->output || o->want_xml || o->verbose))
		return usage_error("-o, --xml and -v do not go with --concurrency/--requests");
	if (o->is_load && (o->loop || o->plain || o->insecure))
		return usage_error(
			"--loop, --plain and --insecure do not go with the load generator");
	if (o->want_json && !o->is_load)
		return usage_error("--json goes with --concurrency/--requests");
	if (o->resume && !o->is_load)
		return usage_error("--resume goes with --concurrency/--requests");
	if (o->is_get && (o->username || o->passphrase || o->push_address))
		fprintf(stderr, PROG ": warning: --get sends no form fields\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct opts *o = malloc(sizeof(*o));
	if (!o) {
		fprintf(stderr, PROG ": out of memory\n");
		return EXIT_FAIL;
	}
	int rc = parse_args(argc, argv, o);
	if (rc) {
		free(o);
		return rc < 0 ? EXIT_OK : rc;
	}
	/* A server that resets the connection must not kill the client. */
	signal(SIGPIPE, SIG_IGN);
	rc = o->is_load ? run_load(o) : run_single(o);
	OPENSSL_cleanse(o->psk_key, sizeof(o->psk_key));
	free(o);
	return rc;
}
