/* test_transport_tcpip.c - unit tests for src/transport/tcpip.c over real
 * loopback sockets and libevent.
 *
 * A client closed inside pump(): the program is linked with
 * -Wl,--wrap=evbuffer_remove,--wrap=send,--wrap=bufferevent_write
 * (transport/local.mk) so that the test can hold the request in the input
 * buffer until the client's FIN arrives and then refuse the answer's write
 * (send() finds the socket full, so the answer goes to bufferevent_write(),
 * which fails). event_cb() then
 * pumps on the EOF, pump() frees the client (flush_output() could not
 * write) and event_cb() must not touch it afterwards: under ASan a
 * use-after-free there (it read cl->t after the free once) aborts this
 * test. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "card/layout.h"
#include "config/profile.h"
#include "runner.h"
#include "scws/server.h"
#include "transport/tcpip.h"

/* ---- the two seams ---- */

int __real_evbuffer_remove(struct evbuffer *buf, void *data, size_t datlen);
int __wrap_evbuffer_remove(struct evbuffer *buf, void *data, size_t datlen);
int __real_bufferevent_write(struct bufferevent *bev, const void *data, size_t size);
ssize_t __real_send(int fd, const void *buf, size_t len, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags);
int __wrap_bufferevent_write(struct bufferevent *bev, const void *data, size_t size);

static unsigned hold_reads; /* evbuffer_remove() calls to answer "nothing" */
static unsigned reads_held;
static bool refuse_writes; /* bufferevent_write() fails */
static unsigned writes_refused;

int __wrap_evbuffer_remove(struct evbuffer *buf, void *data, size_t datlen)
{
	if (hold_reads) {
		hold_reads--;
		reads_held++;
		return 0;
	}
	return __real_evbuffer_remove(buf, data, datlen);
}

/* While writes are refused the socket takes nothing either. */
ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
	if (refuse_writes) {
		errno = EAGAIN;
		return -1;
	}
	return __real_send(fd, buf, len, flags);
}

int __wrap_bufferevent_write(struct bufferevent *bev, const void *data, size_t size)
{
	if (refuse_writes) {
		writes_refused++;
		return -1;
	}
	return __real_bufferevent_write(bev, data, size);
}

/* ---- a server on the default card ---- */

struct rig {
	struct event_base *base;
	struct scws_server *srv;
	struct tcpip_server *t;
	uint16_t port;
};

static void rig_start(struct rig *r)
{
	struct profile *p;
	struct card_fs *fs;
	struct profile_error perr;
	char msg[1024], dir[4096];
	memset(r, 0, sizeof(*r));
	snprintf(dir, sizeof(dir), "%s", unit_srcpath("cards/default"));
	CU_ASSERT_EQUAL_FATAL(profile_load(dir, &p, &perr), 0);
	CU_ASSERT_EQUAL_FATAL(card_layout_build(&p->card, &fs, msg, sizeof(msg)), 0);
	r->srv = scws_server_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->srv);
	CU_ASSERT_EQUAL_FATAL(scws_server_load(r->srv, p, fs, msg, sizeof(msg)), 0);
	r->base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->base);
	struct tcpip_limits lim = { .idle_timeout_ms = 10000 };
	r->t = transport_tcpip_new(r->base, r->srv, &lim);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->t);
	CU_ASSERT_EQUAL_FATAL(
		transport_tcpip_listen(r->t, "127.0.0.1", 0, false, &r->port, msg, sizeof(msg)), 0);
}

static void rig_stop(struct rig *r)
{
	transport_tcpip_free(r->t);
	event_base_free(r->base);
	scws_server_free(r->srv);
}

static int client_connect(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Runs the loop until *flag holds or 5 s are over. */
static bool loop_until(struct rig *r, bool (*cond)(struct rig *r))
{
	uint64_t end = mono_ms() + 5000;
	while (!cond(r) && mono_ms() < end) {
		struct timeval tv = { 0, 20000 };
		event_base_loopexit(r->base, &tv);
		event_base_dispatch(r->base);
	}
	return cond(r);
}

static bool read_held(struct rig *r)
{
	(void)r;
	return reads_held > 0;
}

static bool no_clients(struct rig *r)
{
	return transport_tcpip_clients(r->t) == 0;
}

static bool one_client(struct rig *r)
{
	return transport_tcpip_clients(r->t) == 1;
}

static void test_client_freed_in_pump(void)
{
	static const char req[] = "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	struct rig r;
	rig_start(&r);
	reads_held = writes_refused = 0;
	hold_reads = 1;
	refuse_writes = true;

	int fd = client_connect(r.port);
	CU_ASSERT_TRUE(loop_until(&r, one_client));
	CU_ASSERT_EQUAL(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
	/* The request arrived and stays in the input buffer. */
	CU_ASSERT_TRUE(loop_until(&r, read_held));
	CU_ASSERT_EQUAL(writes_refused, 0);
	CU_ASSERT_EQUAL(transport_tcpip_clients(r.t), 1);
	/* The FIN: event_cb pumps the request, the answer cannot be written,
	 * pump() frees the client. */
	CU_ASSERT_EQUAL(shutdown(fd, SHUT_WR), 0);
	CU_ASSERT_TRUE(loop_until(&r, no_clients));
	CU_ASSERT_EQUAL(writes_refused, 1);
	refuse_writes = false;

	/* The server goes on: the next client is answered. */
	int fd2 = client_connect(r.port);
	CU_ASSERT_EQUAL(write(fd2, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
	CU_ASSERT_TRUE(loop_until(&r, one_client));
	char got[16] = "";
	uint64_t end = mono_ms() + 5000;
	ssize_t n = 0;
	while (n <= 0 && mono_ms() < end) {
		struct timeval tv = { 0, 20000 };
		event_base_loopexit(r.base, &tv);
		event_base_dispatch(r.base);
		n = recv(fd2, got, sizeof(got) - 1, MSG_DONTWAIT);
	}
	CU_ASSERT(n >= 12 && memcmp(got, "HTTP/1.1 200", 12) == 0);
	close(fd2);
	close(fd);
	rig_stop(&r);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_client_freed_in_pump),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("transport_tcpip", tests);
}
