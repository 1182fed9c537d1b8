/* gsmtap_udp.c - live GSMTAP over UDP (doc/protocol.md §7; as libosmocore's
 * gsmtap_source_init() and SIMtrace2's osmo_st2_gsmtap_send_apdu()). */
#include "transport/gsmtap_udp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/limits.h"
#include "trace/gsmtap.h"
#include "transport/hostport.h"

struct transport_gsmtap_udp {
	int fd;
	struct sockaddr_storage to;
	socklen_t to_len;
	unsigned long sent, dropped;
	char peer[TRANSPORT_HOST_MAX + 16];
	uint8_t pkt[TRACE_GSMTAP_MAX];
};

int transport_gsmtap_udp_open(const char *spec, struct transport_gsmtap_udp **out, char *err,
			      size_t errcap)
{
	char host[TRANSPORT_HOST_MAX], addr[TRANSPORT_HOST_MAX];
	struct addrinfo *res = NULL;
	struct transport_gsmtap_udp *g;
	uint16_t port;
	int rc;

	if (!out)
		return -EINVAL;
	rc = transport_hostport_resolve("gsmtap", spec, GSMTAP_UDP_PORT, SOCK_DGRAM, host, &port,
					&res, err, errcap);
	if (rc)
		return rc;
	g = calloc(1, sizeof(*g));
	if (!g) {
		freeaddrinfo(res);
		return -ENOMEM;
	}
	g->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->fd < 0) {
		rc = -errno;
		snprintf(err, errcap, "gsmtap: socket: %s", strerror(errno));
		freeaddrinfo(res);
		free(g);
		return rc;
	}
	memcpy(&g->to, res->ai_addr, res->ai_addrlen);
	g->to_len = res->ai_addrlen;
	if (getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof(addr), NULL, 0,
			NI_NUMERICHOST) != 0)
		snprintf(addr, sizeof(addr), "%s", host);
	if (res->ai_family == AF_INET6)
		snprintf(g->peer, sizeof(g->peer), "[%s]:%u", addr, (unsigned)port);
	else
		snprintf(g->peer, sizeof(g->peer), "%s:%u", addr, (unsigned)port);
	freeaddrinfo(res);
	*out = g;
	return 0;
}

void transport_gsmtap_udp_free(struct transport_gsmtap_udp *g)
{
	if (!g)
		return;
	close(g->fd);
	free(g);
}

int transport_gsmtap_udp_send_apdu(struct transport_gsmtap_udp *g, const uint8_t *capdu,
				   size_t clen, const uint8_t *rapdu, size_t rlen)
{
	size_t len = 0;
	ssize_t n;
	if (!g)
		return -EINVAL;
	int rc = trace_gsmtap_encode_apdu(capdu, clen, rapdu, rlen, g->pkt, sizeof(g->pkt), &len);
	if (rc) {
		g->dropped++;
		return rc;
	}
	do
		n = sendto(g->fd, g->pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)&g->to, g->to_len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len) {
		g->dropped++;
		return n < 0 ? -errno : -EIO;
	}
	g->sent++;
	return 0;
}

const char *transport_gsmtap_udp_peer(const struct transport_gsmtap_udp *g)
{
	return g ? g->peer : "";
}

unsigned long transport_gsmtap_udp_sent(const struct transport_gsmtap_udp *g)
{
	return g ? g->sent : 0;
}

unsigned long transport_gsmtap_udp_dropped(const struct transport_gsmtap_udp *g)
{
	return g ? g->dropped : 0;
}
