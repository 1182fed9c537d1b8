/* fetch_url.c - where scwsemu-fetch connects: http and https URLs (RFC 3986
 * §3.2 authority, RFC 9110 §4.2 schemes), and curl's --resolve and
 * --connect-to entries, which let a handset's fixed SCWS addresses
 * (127.0.0.1:4116, [::1]:4116, localuicc:443) reach an emulator on other
 * ports without changing the URL, the Host header or the name the
 * certificate is checked against. */
#include "config.h"

#include "tools/fetch_url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strparse.h"

/* 1..65535 in full, or 0 for an empty field when allow_empty. */
static int parse_port(const char *s, size_t len, bool allow_empty, unsigned *port)
{
	uint16_t v;
	if (len == 0 && allow_empty) {
		*port = 0;
		return 0;
	}
	if (strparse_port(s, len, 1, &v))
		return -EINVAL;
	*port = v;
	return 0;
}

static bool is_ipv6_literal(const char *s)
{
	struct in6_addr a;
	return inet_pton(AF_INET6, s, &a) == 1;
}

static bool is_ipv4_literal(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1;
}

/* A host name: letters, digits, '-', '.', '_' (no percent-encoding). */
static bool is_host_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

/* Reads a host field from *s up to the next ':' (or the end): a name, an
 * IPv4 literal or a bracketed IPv6 literal. Empty is allowed when
 * allow_empty. Leaves *s at the ':' or the end. */
static int take_host(const char **s, char *out, size_t cap, bool allow_empty)
{
	const char *p = *s;
	size_t n;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close)
			return -EINVAL;
		n = (size_t)(close - p - 1);
		if (n == 0 || n >= cap)
			return -EINVAL;
		memcpy(out, p + 1, n);
		out[n] = 0;
		if (!is_ipv6_literal(out))
			return -EINVAL;
		*s = close + 1;
		return (**s == ':' || **s == 0) ? 0 : -EINVAL;
	}
	n = strcspn(p, ":");
	if (n >= cap || (n == 0 && !allow_empty))
		return -EINVAL;
	memcpy(out, p, n);
	out[n] = 0;
	if (n && !is_host_name(out))
		return -EINVAL;
	*s = p + n;
	return 0;
}

/* Reads ":PORT" (the colon is required unless at the end and optional). */
static int take_port(const char **s, bool allow_empty, bool last, unsigned *port)
{
	if (**s != ':')
		return -EINVAL;
	(*s)++;
	size_t n = last ? strlen(*s) : strcspn(*s, ":");
	int rc = parse_port(*s, n, allow_empty, port);
	*s += n;
	return rc;
}

/* scheme "://" authority [ path-abempty [ "?" query ] ]; http and https. */
int tools_fetch_url_parse(const char *text, struct tools_fetch_url *u)
{
	memset(u, 0, sizeof(*u));
	const char *p;
	if (!strncasecmp(text, "https://", 8)) {
		u->is_https = true;
		p = text + 8;
	} else if (!strncasecmp(text, "http://", 7)) {
		p = text + 7;
	} else {
		return -EINVAL;
	}
	size_t alen = strcspn(p, "/?#");
	char auth[FETCH_HOST_MAX + 8];
	if (alen == 0 || alen >= sizeof(auth))
		return -EINVAL;
	memcpy(auth, p, alen);
	auth[alen] = 0;
	if (strchr(auth, '@'))
		return -EINVAL; /* userinfo: a handset never sends one */
	const char *a = auth;
	if (take_host(&a, u->host, sizeof(u->host), false))
		return -EINVAL;
	u->port = u->is_https ? 443 : 80;
	bool has_port = *a == ':';
	if (has_port && take_port(&a, false, true, &u->port))
		return -EINVAL;
	if (*a)
		return -EINVAL;
	u->host_is_ip = is_ipv4_literal(u->host) || is_ipv6_literal(u->host);
	if (!u->host_is_ip && u->host[strspn(u->host, "0123456789.")] == 0)
		return -EINVAL; /* digits and dots but not an address */

	const char *path = p + alen;
	size_t plen = strcspn(path, "#");
	for (size_t i = 0; i < plen; i++)
		if ((unsigned char)path[i] <= 0x20 || (unsigned char)path[i] >= 0x7F)
			return -EINVAL;
	int n = snprintf(u->target, sizeof(u->target), "%s%.*s", *path == '/' ? "" : "/", (int)plen,
			 path);
	if (n < 0 || (size_t)n >= sizeof(u->target))
		return -EINVAL;
	bool v6 = strchr(u->host, ':') != NULL;
	bool default_port = u->port == (u->is_https ? 443u : 80u);
	char portpart[8] = "";
	if (!default_port)
		snprintf(portpart, sizeof(portpart), ":%u", u->port);
	snprintf(u->authority, sizeof(u->authority), "%s%s%s%s", v6 ? "[" : "", u->host,
		 v6 ? "]" : "", portpart);
	/* Messages name the port always, as the SCWS addresses do. */
	snprintf(u->text, sizeof(u->text), "%s://%s%s%s:%u%s", u->is_https ? "https" : "http",
		 v6 ? "[" : "", u->host, v6 ? "]" : "", u->port, u->target);
	return 0;
}

/* HOST:PORT:ADDR, ADDR a numeric IPv4 or IPv6 address (brackets optional). */
int tools_fetch_url_parse_resolve(const char *s, struct tools_fetch_resolve *e)
{
	memset(e, 0, sizeof(*e));
	if (take_host(&s, e->host, sizeof(e->host), false) || take_port(&s, false, false, &e->port))
		return -EINVAL;
	if (*s++ != ':')
		return -EINVAL;
	char addr[FETCH_HOST_MAX];
	size_t n = strlen(s);
	bool bracketed = n >= 2 && s[0] == '[' && s[n - 1] == ']';
	if (bracketed) {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = 0;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&e->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&e->addr;
	if (!bracketed && inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		e->addr_len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		e->addr_len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* HOST1:PORT1:HOST2:PORT2, every field may be empty. */
int tools_fetch_url_parse_connect_to(const char *s, struct tools_fetch_connect_to *c)
{
	memset(c, 0, sizeof(*c));
	if (take_host(&s, c->host1, sizeof(c->host1), true) ||
	    take_port(&s, true, false, &c->port1))
		return -EINVAL;
	if (*s++ != ':')
		return -EINVAL;
	if (take_host(&s, c->host2, sizeof(c->host2), true) || take_port(&s, true, true, &c->port2))
		return -EINVAL;
	return *s ? -EINVAL : 0;
}

void tools_fetch_url_route(const struct tools_fetch_url *u, const struct tools_fetch_connect_to *ct,
			   size_t nct, const struct tools_fetch_resolve *res, size_t nres,
			   struct tools_fetch_route *out)
{
	out->host = u->host;
	out->port = u->port;
	out->fixed = NULL;
	for (size_t i = 0; i < nct; i++) {
		const struct tools_fetch_connect_to *c = &ct[i];
		if ((c->host1[0] && strcasecmp(c->host1, u->host)) ||
		    (c->port1 && c->port1 != u->port))
			continue;
		if (c->host2[0])
			out->host = c->host2;
		if (c->port2)
			out->port = c->port2;
		break;
	}
	/* curl matches --resolve on the port connected to; the URL's port is
	 * accepted too, so that "--resolve localuicc:443:ADDR" keeps meaning
	 * the SCWS address when --connect-to moves the port. */
	for (size_t i = 0; i < nres; i++) {
		const struct tools_fetch_resolve *e = &res[i];
		if (strcasecmp(e->host, out->host) || (e->port != out->port && e->port != u->port))
			continue;
		out->fixed = e;
		return;
	}
}
