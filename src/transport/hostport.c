/* hostport.c - "HOST[:PORT]" specs of the command line. */
#include "transport/hostport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *port)
{
	char *end = NULL;
	unsigned long v;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int copy_host(const char *p, size_t n, char host[TRANSPORT_HOST_MAX])
{
	if (n == 0 || n >= TRANSPORT_HOST_MAX || memchr(p, '\0', n))
		return -EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

int transport_hostport_parse(const char *spec, uint16_t default_port, bool need_port,
			     char host[TRANSPORT_HOST_MAX], uint16_t *port, char *err,
			     size_t errcap)
{
	const char *colon, *port_text = NULL;
	size_t host_len;
	if (!spec || !*spec) {
		snprintf(err, errcap, "empty address");
		return -EINVAL;
	}
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || (close[1] && close[1] != ':')) {
			snprintf(err, errcap, "'%s': expected [IPV6]:PORT", spec);
			return -EINVAL;
		}
		host_len = (size_t)(close - spec - 1);
		if (copy_host(spec + 1, host_len, host)) {
			snprintf(err, errcap, "'%s': bad host", spec);
			return -EINVAL;
		}
		if (close[1] == ':')
			port_text = close + 2;
	} else {
		colon = strrchr(spec, ':');
		if (colon && strchr(spec, ':') != colon)
			colon = NULL; /* a bare IPv6 literal */
		host_len = colon ? (size_t)(colon - spec) : strlen(spec);
		if (copy_host(spec, host_len, host)) {
			snprintf(err, errcap, "'%s': bad host", spec);
			return -EINVAL;
		}
		if (colon)
			port_text = colon + 1;
	}
	if (!port_text) {
		if (need_port) {
			snprintf(err, errcap, "'%s': missing :PORT", spec);
			return -EINVAL;
		}
		*port = default_port;
		return 0;
	}
	if (parse_port(port_text, port)) {
		snprintf(err, errcap, "'%s': port must be 1-65535", spec);
		return -EINVAL;
	}
	return 0;
}
