/* hostport.h - "HOST[:PORT]" specs of the command line (--gsmtap, --vpcd),
 * resolved with getaddrinfo(3). */
#ifndef SCWS_TRANSPORT_HOSTPORT_H
#define SCWS_TRANSPORT_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

/* Splits spec into host and port: "HOST", "HOST:PORT", "[V6]", "[V6]:PORT",
 * or a bare IPv6 literal (two colons or more: no port). A missing port
 * gives default_port, or -EINVAL when need_port. Ports are 1-65535.
 * 0, or -EINVAL with a one-line reason in err. */
__attribute__((warn_unused_result)) int transport_hostport_parse(
	const char *spec, uint16_t default_port, bool need_port, char host[TRANSPORT_HOST_MAX],
	uint16_t *port, char *err, size_t errcap);

struct addrinfo;

/* transport_hostport_parse(), then getaddrinfo(3) for socktype
 * (SOCK_STREAM, SOCK_DGRAM) of any family: 0 with *res a non-empty list
 * the caller frees with freeaddrinfo(3), host and port filled; -EINVAL as
 * the parse, or -EHOSTUNREACH with "WHAT: cannot resolve 'HOST': why" in
 * err. */
__attribute__((warn_unused_result)) int transport_hostport_resolve(
	const char *what, const char *spec, uint16_t default_port, int socktype,
	char host[TRANSPORT_HOST_MAX], uint16_t *port, struct addrinfo **res, char *err,
	size_t errcap);

#endif
