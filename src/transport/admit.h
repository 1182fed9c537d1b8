/* admit.h - how many clients at once, from whom, and who makes room: the
 * --max-clients and --max-clients-per-peer limits, one set shared by every
 * transport of the daemon (TCP/IP and the BIP gateway).
 *
 * A transport enters each accepted client (its entry embedded in its own
 * client object) and leaves it when the client is freed. At a limit, the
 * client that has waited longest on its peer with nothing owed to it (a
 * handshake or request not complete, or idle in keep-alive: the transport's
 * stalled_since) is evicted to make room; only when nobody can be evicted:
 * - over the per-peer limit, the new client is refused (-EUSERS);
 * - over the total, it is admitted and admit_enter() returns 1: the
 *   transport stops accepting (new clients wait in the kernel's backlog)
 *   until its room callback runs.
 * Counts are exact; the clock is the caller's (ms, monotonic). When the
 * last client leaves, the heap is trimmed (malloc_trim, at most once per
 * ADMIT_TRIM_EVERY_MS), so a burst of connections does not leave its
 * fragments resident. */
#ifndef SCWS_TRANSPORT_ADMIT_H
#define SCWS_TRANSPORT_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;
struct admit;
struct admit_peer;

struct admit_ops {
	/* Since when the client waits with nothing owed to it; UINT64_MAX:
	 * not to be evicted (an answer is on its way, or it waits for a
	 * channel through no fault of its own). */
	uint64_t (*stalled_since)(void *arg);
	/* Close it now; the transport calls admit_leave() from here. */
	void (*evict)(void *arg, const char *why);
};

/* Owned by the transport's client object; zeroed before admit_enter(). */
struct admit_entry {
	struct admit_entry *prev, *next;
	struct admit_peer *peer;
	const struct admit_ops *ops;
	void *arg;
	bool in;
};

typedef void admit_room_fn(void *arg);

/* max_clients and max_per_peer >= 1. NULL on no memory. */
struct admit *admit_new(unsigned max_clients, unsigned max_per_peer);
void admit_free(struct admit *a);

/* Called (once per call of admit_leave that makes room) while a transport
 * has stopped accepting; at most 4 transports. */
void admit_on_room(struct admit *a, admit_room_fn *fn, void *arg);
/* Forgets the callbacks registered with arg (a transport being freed). */
void admit_off_room(struct admit *a, void *arg);

/* 0 admitted; 1 admitted over the total (stop accepting); -EUSERS the
 * peer has max_per_peer clients, none evictable (close the new one);
 * -ENOMEM. sa is the peer's address (the port is ignored). */
__attribute__((warn_unused_result)) int admit_enter(struct admit *a, struct admit_entry *e,
						    const struct sockaddr *sa,
						    const struct admit_ops *ops, void *arg,
						    uint64_t now_ms);
/* No-op for an entry that is not in. */
void admit_leave(struct admit *a, struct admit_entry *e);

/* The total (--max-clients) now, and a new one (>= 1): main lowers it at
 * start when the open-file limit has no room for that many. Clients over a
 * lowered total stay until they leave. */
unsigned admit_max(const struct admit *a);
void admit_set_max(struct admit *a, unsigned max_clients);

/* Clients now; evicted and refused since start (for the status). */
size_t admit_clients(const struct admit *a);
bool admit_full(const struct admit *a);
struct admit_stats {
	size_t clients;
	size_t peers;
	unsigned long evicted;
	unsigned long refused;
};
void admit_stats(const struct admit *a, struct admit_stats *out);

#endif
