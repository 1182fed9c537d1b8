/* admit.c - client limits shared by the transports (admit.h). */
#include "transport/admit.h"

#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/limits.h"
#include "core/log.h"
#include "transport/sock.h"

#define BUCKETS 256u
#define ROOM_FNS_MAX 4u

struct admit_peer {
	struct admit_peer *next;
	uint8_t key[17]; /* family byte + address */
	unsigned count;
	bool logged; /* "at its limit" said once while it stays there */
};

struct admit {
	unsigned max, per_peer;
	struct admit_entry *head;
	size_t n;
	size_t n_peers;
	unsigned long evicted, refused;
	struct admit_peer *buckets[BUCKETS];
	struct {
		admit_room_fn *fn;
		void *arg;
	} room[ROOM_FNS_MAX];
	size_t n_room;
	bool entering;       /* evictions inside admit_enter: no room callbacks */
	uint64_t trimmed_at; /* transport_now_ms() of the last malloc_trim */
	bool trimmed;
};

struct admit *admit_new(unsigned max_clients, unsigned max_per_peer)
{
	struct admit *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->max = max_clients ? max_clients : CLIENTS_MAX_DEFAULT;
	a->per_peer = max_per_peer ? max_per_peer : CLIENTS_PER_PEER_DEFAULT;
	return a;
}

unsigned admit_max(const struct admit *a)
{
	return a->max;
}

void admit_set_max(struct admit *a, unsigned max_clients)
{
	a->max = max_clients ? max_clients : 1;
}

void admit_free(struct admit *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		while (a->buckets[i]) {
			struct admit_peer *p = a->buckets[i];
			a->buckets[i] = p->next;
			free(p);
		}
	}
	free(a);
}

void admit_on_room(struct admit *a, admit_room_fn *fn, void *arg)
{
	if (a->n_room < ROOM_FNS_MAX) {
		a->room[a->n_room].fn = fn;
		a->room[a->n_room].arg = arg;
		a->n_room++;
	}
}

void admit_off_room(struct admit *a, void *arg)
{
	size_t k = 0;
	for (size_t i = 0; i < a->n_room; i++)
		if (a->room[i].arg != arg)
			a->room[k++] = a->room[i];
	a->n_room = k;
}

static void make_key(const struct sockaddr *sa, uint8_t key[17])
{
	memset(key, 0, 17);
	if (!sa)
		return;
	key[0] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
}

static unsigned hash(const uint8_t key[17])
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < 17; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % BUCKETS;
}

static struct admit_peer *peer_get(struct admit *a, const uint8_t key[17], bool create)
{
	struct admit_peer **pp = &a->buckets[hash(key)];
	for (; *pp; pp = &(*pp)->next)
		if (memcmp((*pp)->key, key, 17) == 0)
			return *pp;
	if (!create)
		return NULL;
	struct admit_peer *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p->key, key, 17);
	*pp = p;
	a->n_peers++;
	return p;
}

static void peer_put(struct admit *a, struct admit_peer *p)
{
	if (--p->count)
		return;
	struct admit_peer **pp = &a->buckets[hash(p->key)];
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	a->n_peers--;
	free(p);
}

/* The client (of peer, or any with NULL) stalled the longest. */
static struct admit_entry *oldest(struct admit *a, const struct admit_peer *peer)
{
	struct admit_entry *best = NULL;
	uint64_t t_best = UINT64_MAX;
	for (struct admit_entry *e = a->head; e; e = e->next) {
		if (peer && e->peer != peer)
			continue;
		uint64_t t = e->ops->stalled_since(e->arg);
		if (t < t_best) {
			t_best = t;
			best = e;
		}
	}
	return best;
}

int admit_enter(struct admit *a, struct admit_entry *e, const struct sockaddr *sa,
		const struct admit_ops *ops, void *arg, uint64_t now_ms)
{
	uint8_t key[17];
	(void)now_ms;
	make_key(sa, key);
	struct admit_peer *p = peer_get(a, key, false);
	if (p && p->count >= a->per_peer) {
		struct admit_entry *v = oldest(a, p);
		if (!v) {
			a->refused++;
			if (!p->logged)
				log_warn("admit",
					 "a peer has %u connections "
					 "(--max-clients-per-peer): refusing more",
					 p->count);
			p->logged = true;
			return -EUSERS;
		}
		a->evicted++;
		/* May free p: looked up again below. */
		a->entering = true;
		v->ops->evict(v->arg, "the peer is at --max-clients-per-peer: oldest stalled "
				      "connection closed for a new one");
	}
	int rc = 0;
	if (a->n >= a->max) {
		struct admit_entry *v = oldest(a, NULL);
		if (v) {
			a->evicted++;
			a->entering = true;
			v->ops->evict(v->arg, "--max-clients reached: oldest stalled connection "
					      "closed for a new one");
		}
		rc = a->n >= a->max ? 1 : 0;
	}
	a->entering = false;
	p = peer_get(a, key, true);
	if (!p)
		return -ENOMEM;
	e->peer = p;
	p->count++;
	e->ops = ops;
	e->arg = arg;
	e->prev = NULL;
	e->next = a->head;
	if (a->head)
		a->head->prev = e;
	a->head = e;
	a->n++;
	e->in = true;
	return rc;
}

void admit_leave(struct admit *a, struct admit_entry *e)
{
	if (!a || !e->in)
		return;
	e->in = false;
	if (e->prev)
		e->prev->next = e->next;
	else
		a->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	bool was_full = a->n >= a->max;
	a->n--;
	if (e->peer->count <= a->per_peer)
		e->peer->logged = false;
	peer_put(a, e->peer);
	e->peer = NULL;
#ifdef __GLIBC__
	/* The last client gone: what a burst of connections fragmented goes
	 * back to the system (glibc keeps freed heap otherwise). At most once
	 * per ADMIT_TRIM_EVERY_MS: one client at a time leaves the daemon
	 * empty after every fetch, and a trim of a heap a burst fragmented
	 * is hundreds of madvise calls. */
	if (a->n == 0) {
		uint64_t now = transport_now_ms();
		if (!a->trimmed || now - a->trimmed_at >= ADMIT_TRIM_EVERY_MS) {
			malloc_trim(0);
			a->trimmed = true;
			a->trimmed_at = now;
		}
	}
#endif
	if (was_full && a->n < a->max && !a->entering)
		for (size_t i = 0; i < a->n_room; i++)
			a->room[i].fn(a->room[i].arg);
}

size_t admit_clients(const struct admit *a)
{
	return a ? a->n : 0;
}

bool admit_full(const struct admit *a)
{
	return a && a->n >= a->max;
}

void admit_stats(const struct admit *a, struct admit_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!a)
		return;
	out->clients = a->n;
	out->peers = a->n_peers;
	out->evicted = a->evicted;
	out->refused = a->refused;
}
