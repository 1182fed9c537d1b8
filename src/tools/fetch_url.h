/* fetch_url.h - where scwsemu-fetch connects: http and https URLs
 * (RFC 3986 authority, RFC 9110 §4.2), curl's --resolve and --connect-to
 * entries, and the route they give together.
 *
 * Parsing is strict and has no side effect: every function fills its output
 * and returns 0, or returns -EINVAL and the output is to be ignored. */
#ifndef SCWS_TOOLS_FETCH_URL_H
#define SCWS_TOOLS_FETCH_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/limits.h"

struct tools_fetch_url {
	bool is_https;
	char host[FETCH_HOST_MAX]; /* a name, or an address literal without brackets */
	bool host_is_ip;
	unsigned port;                      /* the default of the scheme when absent */
	char target[FETCH_TARGET_MAX];      /* origin-form: path and query, "/" at least */
	char authority[FETCH_HOST_MAX + 8]; /* the Host value: [v6]:port, default port left out */
	char text[FETCH_HOST_MAX + FETCH_TARGET_MAX + 16]; /* for messages, the port always shown */
};

/* scheme "://" host [ ":" port ] [ path ] [ "?" query ] [ "#" fragment ]:
 * https or http (any case); a name of letters, digits, '-', '.', '_', an
 * IPv4 address or a bracketed IPv6 address; no userinfo; the fragment is
 * dropped; path and query must be VCHARs. */
int tools_fetch_url_parse(const char *text, struct tools_fetch_url *u);

/* --resolve HOST:PORT:ADDR (curl): ADDR numeric, IPv6 with or without
 * brackets. addr holds ADDR with port 0. */
struct tools_fetch_resolve {
	char host[FETCH_HOST_MAX];
	unsigned port;
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

int tools_fetch_url_parse_resolve(const char *s, struct tools_fetch_resolve *e);

/* --connect-to HOST1:PORT1:HOST2:PORT2 (curl): each field may be empty. */
struct tools_fetch_connect_to {
	char host1[FETCH_HOST_MAX]; /* "" matches any host */
	unsigned port1;             /* 0 matches any port */
	char host2[FETCH_HOST_MAX]; /* "" keeps the URL's host */
	unsigned port2;             /* 0 keeps the URL's port */
};

int tools_fetch_url_parse_connect_to(const char *s, struct tools_fetch_connect_to *c);

/* Where a URL leads. */
struct tools_fetch_route {
	const char *host; /* to connect to; borrowed from the URL or an entry */
	unsigned port;
	const struct tools_fetch_resolve *fixed; /* the address to use; NULL: ask the resolver */
};

/* The first --connect-to entry that matches the URL's host (any case) and
 * port moves the connection; then the first --resolve entry whose host is
 * the host connected to and whose port is either the port connected to
 * (as in curl) or the URL's gives the address. Host names compare in any
 * case, address literals as written. */
void tools_fetch_url_route(const struct tools_fetch_url *u, const struct tools_fetch_connect_to *ct,
			   size_t nct, const struct tools_fetch_resolve *res, size_t nres,
			   struct tools_fetch_route *out);

#endif
