/* sock.c - TCP listening sockets and peer names (POSIX sockets, RFC 4291
 * text forms via inet_pton/inet_ntop). */
#include "transport/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

int transport_sock_addr(const struct sockaddr *sa, char host[INET6_ADDRSTRLEN], uint16_t *port)
{
	snprintf(host, INET6_ADDRSTRLEN, "?");
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, INET6_ADDRSTRLEN);
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, INET6_ADDRSTRLEN);
		*port = ntohs(in6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

void transport_sock_peer(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	uint16_t port;
	if (transport_sock_addr(sa, host, &port))
		snprintf(out, cap, "?");
	else
		snprintf(out, cap, sa->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
}

int transport_sock_listen(const char *host, uint16_t port, unsigned flags, int *fd, uint16_t *bound,
			  char *err, size_t errcap)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		sslen = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		sslen = sizeof(*in6);
	} else {
		snprintf(err, errcap, "%s: not a numeric address", host);
		return -EINVAL;
	}
	bool v6 = ss.ss_family == AF_INET6;
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		int e = errno;
		if (flags & TRANSPORT_SOCK_ERR_ADDR)
			snprintf(err, errcap, "%s%s%s: socket: %s", v6 ? "[" : "", host,
				 v6 ? "]" : "", strerror(e));
		else
			snprintf(err, errcap, "socket: %s", strerror(e));
		return -e;
	}
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* The IPv4 address gets a listener of its own: no mapped addresses. */
	if (v6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, sslen) != 0 || listen(s, TRANSPORT_SOCK_BACKLOG) != 0) {
		int e = errno;
		snprintf(err, errcap, "cannot listen on %s%s%s:%u: %s", v6 ? "[" : "", host,
			 v6 ? "]" : "", port, strerror(e));
		close(s);
		return -e;
	}
	struct sockaddr_storage got;
	socklen_t gotlen = sizeof(got);
	*bound = port;
	if (getsockname(s, (struct sockaddr *)&got, &gotlen) == 0)
		*bound = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
						   : ntohs(((struct sockaddr_in *)&got)->sin_port);
	*fd = s;
	return 0;
}

uint64_t transport_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
