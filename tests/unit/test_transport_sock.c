/* test_transport_sock.c - unit tests for transport/sock.c: listening
 * sockets on loopback (IPv4, and IPv6 where the host has it) and peer
 * names, with the exact reasons the daemon prints. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "helpers.h"
#include "runner.h"
#include "transport/sock.h"

static void test_peer_names(void)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage other;
	char out[64];
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(4116);
	CU_ASSERT_EQUAL(inet_pton(AF_INET, "127.0.0.1", &in.sin_addr), 1);
	transport_sock_peer((const struct sockaddr *)&in, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "127.0.0.1:4116");
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	in6.sin6_port = htons(65535);
	CU_ASSERT_EQUAL(inet_pton(AF_INET6, "::1", &in6.sin6_addr), 1);
	transport_sock_peer((const struct sockaddr *)&in6, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "[::1]:65535");
	memset(&other, 0, sizeof(other));
	other.ss_family = AF_UNIX;
	transport_sock_peer((const struct sockaddr *)&other, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "?");
	/* truncated, still terminated */
	transport_sock_peer((const struct sockaddr *)&in, out, 6);
	CU_ASSERT_STRING_EQUAL(out, "127.0");
	/* the parts, for callers that format them otherwise (scwsemu-fetch) */
	char host[INET6_ADDRSTRLEN];
	uint16_t port = 1;
	CU_ASSERT_EQUAL(transport_sock_addr((const struct sockaddr *)&in, host, &port), 0);
	CU_ASSERT_STRING_EQUAL(host, "127.0.0.1");
	CU_ASSERT_EQUAL(port, 4116);
	CU_ASSERT_EQUAL(transport_sock_addr((const struct sockaddr *)&in6, host, &port), 0);
	CU_ASSERT_STRING_EQUAL(host, "::1");
	CU_ASSERT_EQUAL(port, 65535);
	CU_ASSERT_EQUAL(transport_sock_addr((const struct sockaddr *)&other, host, &port),
			-EAFNOSUPPORT);
	CU_ASSERT_STRING_EQUAL(host, "?");
	CU_ASSERT_EQUAL(port, 0);
}

static void test_not_numeric(void)
{
	char err[128] = "";
	int fd = -1;
	uint16_t bound = 7;
	CU_ASSERT_EQUAL(transport_sock_listen("localhost", 0, 0, &fd, &bound, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "localhost: not a numeric address");
	CU_ASSERT_EQUAL(fd, -1);
	CU_ASSERT_EQUAL(bound, 7);
	CU_ASSERT_EQUAL(transport_sock_listen("[::1]", 0, TRANSPORT_SOCK_ERR_ADDR, &fd, &bound, err,
					      sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "[::1]: not a numeric address");
}

/* An ephemeral port, then the same port again: EADDRINUSE, said as the
 * daemon says it (tests/integration/tcpip.sh greps for it). */
static void test_listen_ipv4(void)
{
	char err[128] = "", want[128];
	int fd = -1, fd2 = -1;
	uint16_t bound = 0, bound2 = 0;
	CU_ASSERT_EQUAL_FATAL(
		transport_sock_listen("127.0.0.1", 0, 0, &fd, &bound, err, sizeof(err)), 0);
	CU_ASSERT_NOT_EQUAL(bound, 0);
	struct sockaddr_in got;
	socklen_t len = sizeof(got);
	CU_ASSERT_EQUAL(getsockname(fd, (struct sockaddr *)&got, &len), 0);
	CU_ASSERT_EQUAL(ntohs(got.sin_port), bound);
	int type = 0;
	len = sizeof(type);
	CU_ASSERT_EQUAL(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &type, &len), 0);
	CU_ASSERT_EQUAL(type, 1);

	CU_ASSERT_EQUAL(
		transport_sock_listen("127.0.0.1", bound, 0, &fd2, &bound2, err, sizeof(err)),
		-EADDRINUSE);
	snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%u: %s", bound,
		 strerror(EADDRINUSE));
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(fd2, -1);
	close(fd);
}

/* IPv6 only where the host has ::1; V6ONLY, so that 127.0.0.1 is a
 * listener of its own. */
static void test_listen_ipv6(void)
{
	char err[128] = "", want[160];
	int fd = -1, fd2 = -1;
	uint16_t bound = 0, bound2 = 0;
	int rc = transport_sock_listen("::1", 0, TRANSPORT_SOCK_ERR_ADDR, &fd, &bound, err,
				       sizeof(err));
	if (rc == -EAFNOSUPPORT || rc == -EADDRNOTAVAIL) {
		fprintf(stderr, "(no IPv6 loopback here: %s) ", err);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_NOT_EQUAL(bound, 0);
	int v6only = 0;
	socklen_t len = sizeof(v6only);
	CU_ASSERT_EQUAL(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len), 0);
	CU_ASSERT_EQUAL(v6only, 1);
	CU_ASSERT_EQUAL(transport_sock_listen("::1", bound, TRANSPORT_SOCK_ERR_ADDR, &fd2, &bound2,
					      err, sizeof(err)),
			-EADDRINUSE);
	snprintf(want, sizeof(want), "cannot listen on [::1]:%u: %s", bound, strerror(EADDRINUSE));
	CU_ASSERT_STRING_EQUAL(err, want);
	close(fd);
}

/* A failed accept(): a pause of ACCEPT_PAUSE_MS each time, one line per
 * ACCEPT_LOG_EVERY_MS with the failures in between counted, the limit and
 * the way out for EMFILE only. */
static void test_accept_failed(void)
{
	struct unit_log c;
	struct transport_accept_log al = { 0 };
	unit_log_catch(&c);
	struct timeval tv = transport_sock_accept_failed(&al, "tcpip", EMFILE, 55, 5000);
	CU_ASSERT_EQUAL(tv.tv_sec, 0);
	CU_ASSERT_EQUAL(tv.tv_usec, ACCEPT_PAUSE_MS * 1000);
	CU_ASSERT_EQUAL(c.count, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.line, "warn  tcpip: accept: Too many open files: the "
					      "open-file limit is "));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.line, "and 55 clients are open"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.line, "'ulimit -n'"));
	CU_ASSERT_PTR_NULL(strstr(c.line, "times since"));
	(void)transport_sock_accept_failed(&al, "tcpip", EMFILE, 55, 5001);
	tv = transport_sock_accept_failed(&al, "tcpip", EMFILE, 55, 5000 + ACCEPT_LOG_EVERY_MS - 1);
	CU_ASSERT_EQUAL(tv.tv_usec, ACCEPT_PAUSE_MS * 1000);
	CU_ASSERT_EQUAL(c.count, 1);
	(void)transport_sock_accept_failed(&al, "bip-gw", ENFILE, 7, 5000 + ACCEPT_LOG_EVERY_MS);
	CU_ASSERT_EQUAL(c.count, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.line, "bip-gw: accept: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.line, strerror(ENFILE)));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.line, " (and 2 times since the last report) with 7 "
					      "clients open: new clients wait in the backlog"));
	CU_ASSERT_PTR_NULL(strstr(c.line, "open-file limit"));
	unit_log_release();
}

struct applied {
	struct transport_accept_rest *r;
	int calls;
	bool resting_seen[2];
};

static void apply_cb(void *arg)
{
	struct applied *a = arg;
	if (a->calls < 2)
		a->resting_seen[a->calls] = a->r->resting;
	a->calls++;
}

/* The rest: resting and applied at once, then applied again, not
 * resting, when the pause is over (the loop runs until then). */
static void test_accept_rest(void)
{
	struct event_base *base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	struct transport_accept_rest r;
	struct applied a = { .r = &r };
	struct unit_log c;
	unit_log_catch(&c);
	CU_ASSERT_EQUAL_FATAL(transport_accept_rest_init(&r, base, "tcpip", apply_cb, &a), 0);
	CU_ASSERT_FALSE(r.resting);
	transport_accept_rest_start(&r, EMFILE, 3);
	CU_ASSERT_TRUE(r.resting);
	CU_ASSERT_EQUAL(a.calls, 1);
	CU_ASSERT_TRUE(a.resting_seen[0]);
	CU_ASSERT_EQUAL(c.count, 1);
	/* 1: it ran out of events, the timer being the only one */
	CU_ASSERT_EQUAL(event_base_dispatch(base), 1);
	CU_ASSERT_EQUAL(a.calls, 2);
	CU_ASSERT_FALSE(a.resting_seen[1]);
	CU_ASSERT_FALSE(r.resting);
	transport_accept_rest_start(&r, EMFILE, 3); /* within ACCEPT_LOG_EVERY_MS: not logged */
	CU_ASSERT_EQUAL(c.count, 1);
	CU_ASSERT_EQUAL(r.log.unlogged, 1);
	transport_accept_rest_fini(&r); /* with the timer pending */
	CU_ASSERT_PTR_NULL(r.timer);
	unit_log_release();
	event_base_free(base);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* transport_sock_bev_free() closes the descriptor at once, where
 * bufferevent_free() leaves it to the loop's finalizers; and the
 * finalizers do not close it a second time (its number may be a new
 * socket's by then). */
static void test_bev_free_closes_now(void)
{
	struct event_base *base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	int sv[2];
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct bufferevent *bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bev);
	bufferevent_free(bev);
	CU_ASSERT_TRUE(fd_open(sv[0])); /* libevent's way: closed later */
	event_base_loop(base, EVLOOP_NONBLOCK);
	CU_ASSERT_FALSE(fd_open(sv[0]));
	close(sv[1]);

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bev);
	transport_sock_bev_free(bev);
	CU_ASSERT_FALSE(fd_open(sv[0]));
	char b;
	CU_ASSERT_EQUAL(read(sv[1], &b, 1), 0); /* the peer sees the close */
	int again = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_EQUAL(again, sv[0]); /* the lowest free number: the same */
	event_base_loop(base, EVLOOP_NONBLOCK);
	CU_ASSERT_TRUE(fd_open(again));
	close(again);
	close(sv[1]);
	transport_sock_bev_free(NULL);
	event_base_free(base);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_peer_names),          UNIT_TEST(test_not_numeric),
		UNIT_TEST(test_listen_ipv4),         UNIT_TEST(test_listen_ipv6),
		UNIT_TEST(test_accept_failed),       UNIT_TEST(test_accept_rest),
		UNIT_TEST(test_bev_free_closes_now), CU_TEST_INFO_NULL,
	};
	return unit_add_suite("transport_sock", tests);
}
