/* test_transport_admit.c - unit tests for transport/admit.c: the total
 * and per-peer client limits, who is evicted to make room (the client
 * stalled the longest, never one owed an answer), refusal, the room
 * callback, and counts that stay exact through evictions. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "runner.h"
#include "transport/admit.h"

#define N 8

struct fake {
	struct admit *a;
	struct admit_entry e;
	uint64_t stalled; /* UINT64_MAX: busy */
	bool evicted;
};

static struct fake f[N];
static unsigned rooms;

static uint64_t stalled(void *arg)
{
	return ((struct fake *)arg)->stalled;
}

static void evict(void *arg, const char *why)
{
	struct fake *x = arg;
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "closed for a new one"));
	x->evicted = true;
	admit_leave(x->a, &x->e);
}

static const struct admit_ops ops = { .stalled_since = stalled, .evict = evict };

static void room(void *arg)
{
	rooms++;
}

static struct sockaddr_in addr(const char *ip, uint16_t port)
{
	struct sockaddr_in in;
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(port);
	CU_ASSERT_EQUAL(inet_pton(AF_INET, ip, &in.sin_addr), 1);
	return in;
}

static int enter(struct admit *a, int i, const char *ip, uint64_t since)
{
	struct sockaddr_in in = addr(ip, (uint16_t)(1000 + i));
	memset(&f[i], 0, sizeof(f[i]));
	f[i].a = a;
	f[i].stalled = since;
	return admit_enter(a, &f[i].e, (const struct sockaddr *)&in, &ops, &f[i], 0);
}

/* Per peer: the peer's oldest stalled client makes room; other peers and
 * busy clients are never touched; with none stalled the new one is refused. */
static void test_per_peer(void)
{
	struct admit *a = admit_new(100, 3);
	struct admit_stats st;
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(enter(a, 0, "127.0.0.1", 50), 0);
	CU_ASSERT_EQUAL(enter(a, 1, "127.0.0.1", 10), 0);
	CU_ASSERT_EQUAL(enter(a, 2, "127.0.0.1", UINT64_MAX), 0);
	CU_ASSERT_EQUAL(enter(a, 3, "127.0.0.2", 1), 0); /* older, but another peer */
	CU_ASSERT_EQUAL(enter(a, 4, "127.0.0.1", 99), 0);
	CU_ASSERT_TRUE(f[1].evicted);
	CU_ASSERT_FALSE(f[0].evicted || f[2].evicted || f[3].evicted);
	CU_ASSERT_EQUAL(admit_clients(a), 4);
	f[0].stalled = f[4].stalled = UINT64_MAX; /* everyone busy now */
	CU_ASSERT_EQUAL(enter(a, 5, "127.0.0.1", 0), -EUSERS);
	CU_ASSERT_EQUAL(enter(a, 6, "127.0.0.1", 0), -EUSERS);
	admit_stats(a, &st);
	CU_ASSERT_EQUAL(st.clients, 4);
	CU_ASSERT_EQUAL(st.peers, 2);
	CU_ASSERT_EQUAL(st.evicted, 1);
	CU_ASSERT_EQUAL(st.refused, 2);
	admit_leave(a, &f[0].e);
	admit_leave(a, &f[0].e); /* twice: a no-op */
	CU_ASSERT_EQUAL(enter(a, 5, "127.0.0.1", 0), 0);
	admit_leave(a, &f[2].e);
	admit_leave(a, &f[3].e);
	admit_leave(a, &f[4].e);
	admit_leave(a, &f[5].e);
	admit_stats(a, &st);
	CU_ASSERT_EQUAL(st.clients, 0);
	CU_ASSERT_EQUAL(st.peers, 0);
	admit_free(a);
}

/* A limit of one per peer: the peer's only client is evicted for its new
 * one (its record is freed and made again, not used after free). */
static void test_per_peer_one(void)
{
	struct admit *a = admit_new(100, 1);
	CU_ASSERT_EQUAL(enter(a, 0, "10.0.0.1", 5), 0);
	CU_ASSERT_EQUAL(enter(a, 1, "10.0.0.1", 6), 0);
	CU_ASSERT_TRUE(f[0].evicted);
	CU_ASSERT_EQUAL(admit_clients(a), 1);
	admit_leave(a, &f[1].e);
	admit_free(a);
}

/* The total: the oldest stalled client of any peer makes room; with none,
 * the new one is admitted over the limit (1: stop accepting) and the room
 * callback runs once the count is below the limit again. */
static void test_total(void)
{
	struct admit *a = admit_new(2, 10);
	rooms = 0;
	admit_on_room(a, room, NULL);
	CU_ASSERT_EQUAL(enter(a, 0, "127.0.0.1", 30), 0);
	CU_ASSERT_EQUAL(enter(a, 1, "127.0.0.2", 20), 0);
	CU_ASSERT_TRUE(admit_full(a));
	CU_ASSERT_EQUAL(enter(a, 2, "127.0.0.3", 0), 0);
	CU_ASSERT_TRUE(f[1].evicted);
	CU_ASSERT_FALSE(f[0].evicted);
	CU_ASSERT_EQUAL(rooms, 0); /* full before and after */
	f[0].stalled = f[2].stalled = UINT64_MAX;
	CU_ASSERT_EQUAL(enter(a, 3, "127.0.0.4", 0), 1);
	CU_ASSERT_EQUAL(admit_clients(a), 3);
	admit_leave(a, &f[3].e);
	CU_ASSERT_EQUAL(rooms, 0); /* 2 of 2: still full */
	admit_leave(a, &f[0].e);
	CU_ASSERT_EQUAL(rooms, 1);
	admit_off_room(a, NULL);
	admit_leave(a, &f[2].e);
	CU_ASSERT_EQUAL(rooms, 1);
	admit_free(a);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_per_peer),
		UNIT_TEST(test_per_peer_one),
		UNIT_TEST(test_total),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("transport_admit", tests);
}
