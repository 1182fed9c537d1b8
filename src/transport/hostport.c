/* hostport.c - "HOST[:PORT]" specs of the command line. */
#include "transport/hostport.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/strparse.h"

static int copy_host(struct bytes h, char host[TRANSPORT_HOST_MAX])
{
	if (h.len == 0 || h.len >= TRANSPORT_HOST_MAX || memchr(h.ptr, '\0', h.len))
		return -EINVAL;
	memcpy(host, h.ptr, h.len);
	host[h.len] = '\0';
	return 0;
}

int transport_hostport_parse(const char *spec, uint16_t default_port, bool need_port,
			     char host[TRANSPORT_HOST_MAX], uint16_t *port, char *err,
			     size_t errcap)
{
	struct bytes h, p;
	bool has_port;
	if (!spec || !*spec) {
		snprintf(err, errcap, "empty address");
		return -EINVAL;
	}
	if (strparse_hostport(spec, &h, &p, &has_port)) {
		snprintf(err, errcap, "'%s': expected [IPV6]:PORT", spec);
		return -EINVAL;
	}
	if (copy_host(h, host)) {
		snprintf(err, errcap, "'%s': bad host", spec);
		return -EINVAL;
	}
	if (!has_port) {
		if (need_port) {
			snprintf(err, errcap, "'%s': missing :PORT", spec);
			return -EINVAL;
		}
		*port = default_port;
		return 0;
	}
	if (strparse_port((const char *)p.ptr, p.len, 1, port)) {
		snprintf(err, errcap, "'%s': port must be 1-65535", spec);
		return -EINVAL;
	}
	return 0;
}

int transport_hostport_resolve(const char *what, const char *spec, uint16_t default_port,
			       int socktype, char host[TRANSPORT_HOST_MAX], uint16_t *port,
			       struct addrinfo **res, char *err, size_t errcap)
{
	char port_text[8];
	struct addrinfo hints;
	*res = NULL;
	int rc = transport_hostport_parse(spec, default_port, false, host, port, err, errcap);
	if (rc)
		return rc;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port_text, sizeof(port_text), "%u", (unsigned)*port);
	rc = getaddrinfo(host, port_text, &hints, res);
	if (rc != 0 || !*res) {
		snprintf(err, errcap, "%s: cannot resolve '%s': %s", what, host,
			 rc ? gai_strerror(rc) : "no address");
		if (*res)
			freeaddrinfo(*res);
		*res = NULL;
		return -EHOSTUNREACH;
	}
	return 0;
}
