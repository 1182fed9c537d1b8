/* setup_check.c - scwsemu --check-setup (see setup_check.h). */
#include "transport/setup_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <winscard.h>

#include "transport/sock.h"

struct report {
	FILE *out;
	unsigned fixes;
};

static void ok(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(struct report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ok:  ", r->out);
	vfprintf(r->out, fmt, ap);
	fputc('\n', r->out);
	va_end(ap);
}

static void fix(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fix(struct report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fix: ", r->out);
	vfprintf(r->out, fmt, ap);
	fputc('\n', r->out);
	va_end(ap);
	r->fixes++;
}

/* The first loopback address name resolves to in family, into out ("" when
 * none); true when there is one. */
static bool resolves_to_loopback(const char *name, int family, char *out, size_t cap)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	out[0] = 0;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return false;
	bool found = false;
	for (struct addrinfo *a = res; a && !found; a = a->ai_next) {
		/* Copied out: the sockaddr has no alignment promise. */
		if (a->ai_family == AF_INET && a->ai_addrlen >= sizeof(struct sockaddr_in)) {
			struct sockaddr_in in;
			memcpy(&in, a->ai_addr, sizeof(in));
			found = (ntohl(in.sin_addr.s_addr) >> 24) == 127;
			inet_ntop(AF_INET, &in.sin_addr, out, (socklen_t)cap);
		} else if (a->ai_family == AF_INET6 &&
			   a->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			struct sockaddr_in6 in6;
			memcpy(&in6, a->ai_addr, sizeof(in6));
			found = IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr);
			inet_ntop(AF_INET6, &in6.sin6_addr, out, (socklen_t)cap);
		}
	}
	freeaddrinfo(res);
	return found;
}

static void check_localuicc(struct report *r)
{
	char got[INET6_ADDRSTRLEN];
	if (resolves_to_loopback("localuicc", AF_INET, got, sizeof(got)))
		ok(r, "localuicc resolves to %s (IPv4 loopback)", got);
	else
		fix(r,
		    "localuicc does not resolve to an IPv4 loopback address%s%s: "
		    "echo '127.0.0.1 localuicc' | sudo tee -a /etc/hosts",
		    got[0] ? " (it gives " : "", got[0] ? got : "");
	if (resolves_to_loopback("localuicc", AF_INET6, got, sizeof(got)))
		ok(r, "localuicc resolves to %s (IPv6 loopback)", got);
	else
		fix(r, "localuicc does not resolve to ::1: "
		       "echo '::1 localuicc' | sudo tee -a /etc/hosts");
}

static bool bindable(const char *host, uint16_t port, int *e, char *err, size_t cap)
{
	int fd = -1;
	uint16_t bound;
	int rc = transport_sock_listen(host, port, TRANSPORT_SOCK_ERR_ADDR, &fd, &bound, err, cap);
	if (fd >= 0)
		close(fd);
	*e = -rc;
	return rc == 0;
}

static bool check_ipv6(struct report *r)
{
	char err[256];
	int e;
	if (bindable("::1", 0, &e, err, sizeof(err))) {
		ok(r, "the IPv6 loopback ::1 exists");
		return true;
	}
	fix(r, "no IPv6 loopback (%s): sudo sysctl -w net.ipv6.conf.lo.disable_ipv6=0", err);
	return false;
}

static void check_tcpip(struct report *r, const struct cli_options *opt, const char *exe,
			bool have_v6)
{
	for (size_t i = 0; !opt->no_tcpip && i < opt->n_tcpip; i++) {
		const struct cli_addr *a = &opt->tcpip[i];
		bool v6 = strchr(a->host, ':') != NULL;
		char addr[80], err[256];
		snprintf(addr, sizeof(addr), "%s%s%s:%u", v6 ? "[" : "", a->host, v6 ? "]" : "",
			 a->port);
		int e = 0;
		if (bindable(a->host, a->port, &e, err, sizeof(err))) {
			ok(r, "%s can be bound by this user", addr);
		} else if (e == EACCES || e == EPERM) {
			fix(r,
			    "%s cannot be bound by this user (a port below "
			    "net.ipv4.ip_unprivileged_port_start needs a privilege): sudo "
			    "setcap cap_net_bind_service=+ep %s (or, for every program: sudo "
			    "sysctl -w net.ipv4.ip_unprivileged_port_start=%u)",
			    addr, exe, a->port);
		} else if (e == EADDRINUSE) {
			fix(r,
			    "%s is held by another process: sudo ss -ltnp 'sport = :%u' "
			    "names it (stop it, or give --tcpip %s%s%s:0)",
			    addr, a->port, v6 ? "[" : "", a->host, v6 ? "]" : "");
		} else if (v6 && !have_v6) {
			fix(r,
			    "%s needs the IPv6 loopback: sudo sysctl -w "
			    "net.ipv6.conf.lo.disable_ipv6=0",
			    addr);
		} else {
			fix(r, "%s: %s (give --tcpip with an address of this machine)", addr, err);
		}
	}
}

/* Does OpenSSL's default store (SSL_CERT_FILE/SSL_CERT_DIR or the system
 * bundle: what curl and Python use) trust the CA in pem? */
static bool store_trusts(X509 *ca)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool yes = false;
	if (st && ctx && X509_STORE_set_default_paths(st) == 1 &&
	    X509_STORE_CTX_init(ctx, st, ca, NULL) == 1)
		yes = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return yes;
}

static void check_ca(struct report *r, const char *ca_file)
{
	FILE *f = fopen(ca_file, "r");
	X509 *ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (!ca) {
		fix(r,
		    "the card's CA file %s is %s: reinstall scwsemu, or see scwsemu "
		    "--print-paths",
		    ca_file, f ? "not a PEM certificate" : "not readable");
		return;
	}
	ok(r, "the card's CA file %s is readable", ca_file);
	if (store_trusts(ca))
		ok(r, "OpenSSL's default trust store (curl, Python) trusts the test CA");
	else
		fix(r,
		    "the system trust store does not have the test CA (a client that cannot be "
		    "given a CA needs it there): sudo cp %s "
		    "/usr/local/share/ca-certificates/scwsemu-test-ca.crt && sudo "
		    "update-ca-certificates (a test machine only: remove it afterwards)",
		    ca_file);
	X509_free(ca);
	fprintf(r->out,
		"     the test CA for one client instead:\n"
		"       curl:    curl --cacert %s https://localuicc/OMA/DM/Bootstrap.xml\n"
		"       Python:  SSL_CERT_FILE=%s (requests: REQUESTS_CA_BUNDLE=%s)\n"
		"       Android: adb push %s /sdcard/Download/scwsemu-test-ca.crt, then Settings >"
		" Security > Encryption & credentials > Install a certificate > CA certificate\n",
		ca_file, ca_file, ca_file, ca_file);
}

static void check_pcsc(struct report *r, const struct cli_options *opt)
{
	SCARDCONTEXT ctx;
	LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv != SCARD_S_SUCCESS) {
		fix(r,
		    "pcscd does not answer (%s): sudo systemctl start pcscd.socket "
		    "(or: sudo pcscd)",
		    pcsc_stringify_error(rv));
		return;
	}
	ok(r, "pcscd answers");
	char readers[4096];
	DWORD len = sizeof(readers);
	rv = SCardListReaders(ctx, NULL, readers, &len);
	if (rv != SCARD_S_SUCCESS)
		readers[0] = readers[1] = 0, len = 2;
	bool vpcd = false, reader = false;
	for (const char *p = readers; p < readers + len && *p; p += strlen(p) + 1) {
		vpcd = vpcd || strstr(p, "Virtual PCD") != NULL;
		reader = reader || (opt->reader && strcmp(p, opt->reader) == 0);
	}
	SCardReleaseContext(ctx);
	if (opt->vpcd) {
		if (vpcd)
			ok(r, "pcscd has the vpcd driver (a 'Virtual PCD' reader)");
		else
			fix(r, "pcscd lists no 'Virtual PCD' reader: sudo apt-get install "
			       "vsmartcard-vpcd && sudo systemctl restart pcscd");
	}
	if (opt->reader) {
		if (reader)
			ok(r, "pcscd lists the reader '%s'", opt->reader);
		else
			fix(r,
			    "pcscd has no reader '%s': pcsc_scan -r lists the readers "
			    "(give one of them to --reader)",
			    opt->reader);
	}
}

unsigned transport_check_setup(const struct cli_options *opt, const char *exe, const char *ca_file,
			       FILE *out)
{
	struct report r = { .out = out };
	check_localuicc(&r);
	bool have_v6 = check_ipv6(&r);
	check_tcpip(&r, opt, exe, have_v6);
	check_ca(&r, ca_file);
	if (opt->vpcd || opt->reader)
		check_pcsc(&r, opt);
	return r.fixes;
}
