/* sock.c - TCP listening sockets and peer names (POSIX sockets, RFC 4291
 * text forms via inet_pton/inet_ntop). */
#include "transport/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/timeval.h"

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

struct timeval transport_sock_accept_failed(struct transport_accept_log *l, const char *sub,
					    int err, size_t clients, uint64_t now_ms)
{
	if (l->at_ms && now_ms - l->at_ms < ACCEPT_LOG_EVERY_MS) {
		l->unlogged++;
		return tv_from_ms(ACCEPT_PAUSE_MS);
	}
	char more[64] = "";
	if (l->unlogged)
		snprintf(more, sizeof(more), " (and %lu times since the last report)", l->unlogged);
	struct rlimit rl;
	if (err == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_warn(sub,
			 "accept: %s%s: the open-file limit is %llu and %zu clients are open; "
			 "new clients wait in the backlog. Raise the limit ('ulimit -n', "
			 "LimitNOFILE= in a unit) or lower --max-clients",
			 strerror(err), more, (unsigned long long)rl.rlim_cur, clients);
	else
		log_warn(sub, "accept: %s%s with %zu clients open: new clients wait in the backlog",
			 strerror(err), more, clients);
	l->at_ms = now_ms ? now_ms : 1;
	l->unlogged = 0;
	return tv_from_ms(ACCEPT_PAUSE_MS);
}

void transport_sock_bev_free(struct bufferevent *bev)
{
	if (!bev)
		return;
	evutil_socket_t fd = bufferevent_getfd(bev);
	bufferevent_setfd(bev, -1); /* the bufferevent forgets it: no second close */
	if (fd >= 0)
		evutil_closesocket(fd);
	bufferevent_free(bev);
}

static void rest_over_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct transport_accept_rest *r = arg;
	r->resting = false;
	r->apply(r->arg);
}

int transport_accept_rest_init(struct transport_accept_rest *r, struct event_base *base,
			       const char *sub, void (*apply)(void *arg), void *arg)
{
	*r = (struct transport_accept_rest){ .sub = sub, .apply = apply, .arg = arg };
	r->timer = evtimer_new(base, rest_over_cb, r);
	return r->timer ? 0 : -ENOMEM;
}

void transport_accept_rest_fini(struct transport_accept_rest *r)
{
	if (r->timer)
		event_free(r->timer);
	r->timer = NULL;
}

void transport_accept_rest_start(struct transport_accept_rest *r, int err, size_t clients)
{
	struct timeval tv =
		transport_sock_accept_failed(&r->log, r->sub, err, clients, transport_now_ms());
	r->resting = true;
	r->apply(r->arg);
	evtimer_add(r->timer, &tv);
}
