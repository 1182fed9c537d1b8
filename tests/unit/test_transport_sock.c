/* test_transport_sock.c - unit tests for transport/sock.c: listening
 * sockets on loopback (IPv4, and IPv6 where the host has it) and peer
 * names, with the exact reasons the daemon prints. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_peer_names),  UNIT_TEST(test_not_numeric),
		UNIT_TEST(test_listen_ipv4), UNIT_TEST(test_listen_ipv6),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("transport_sock", tests);
}
