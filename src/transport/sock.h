/* sock.h - what the transports that accept connections (tcpip.c,
 * bip_gw.c, control.c) share: TCP listening sockets and peer names (POSIX
 * sockets, IPv4 and IPv6), the monotonic clock, a client's descriptor
 * closed when it is freed, and the rest a listener takes after a failed
 * accept(). */
#ifndef SCWS_TRANSPORT_SOCK_H
#define SCWS_TRANSPORT_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

/* The kernel's own cap (net.core.somaxconn, 4096 on Linux >= 5.4): a burst
 * of clients waits in the backlog rather than being dropped (SYN retried
 * after 1 s, 3 s). */
#define TRANSPORT_SOCK_BACKLOG SOMAXCONN

/* evconnlistener_new()'s backlog argument for a socket that already listens
 * (transport_sock_listen(), the control socket): 0 leaves it as it is. (-1, the
 * "reasonable default", calls listen(fd, 128) again and cuts the backlog
 * to 128: a burst of 400 connects then overflows the accept queue, and a
 * client whose final ACK was dropped sits in a connection the server has
 * forgotten.) */
#define TRANSPORT_SOCK_EV_LISTENING 0

/* Reasons name the address on every failure: "[::1]: socket: ..." rather
 * than "socket: ...". */
#define TRANSPORT_SOCK_ERR_ADDR 1u

/* Opens a non-blocking, close-on-exec TCP socket listening on host (a
 * numeric IPv4 or IPv6 address, no brackets) and port (0: ephemeral), with
 * SO_REUSEADDR, and IPV6_V6ONLY for IPv6 (the IPv4 address is a listener
 * of its own). *fd gets the socket (the caller owns it) and *bound the port
 * it got (port itself if getsockname fails). 0, or a negative errno with a
 * one-line reason in err, one of
 *	"<host>: not a numeric address"                       -EINVAL
 *	"socket: <strerror>"  ("<addr>: socket: ..." with TRANSPORT_SOCK_ERR_ADDR)
 *	"cannot listen on <addr>:<port>: <strerror>"
 * where <addr> is host, in brackets for IPv6. */
__attribute__((warn_unused_result)) int transport_sock_listen(const char *host, uint16_t port,
							      unsigned flags, int *fd,
							      uint16_t *bound, char *err,
							      size_t errcap);

/* "127.0.0.1:4116", "[::1]:4116", or "?" for another family, into out
 * (truncated to cap, cap >= 1). */
void transport_sock_peer(const struct sockaddr *sa, char *out, size_t cap);

/* The address of an IPv4 or IPv6 sockaddr as text (no brackets) into
 * host and its port into *port: 0. Another family: host "?", port 0,
 * -EAFNOSUPPORT. */
int transport_sock_addr(const struct sockaddr *sa, char host[INET6_ADDRSTRLEN], uint16_t *port);

/* Frees a socket bufferevent (made with BEV_OPT_CLOSE_ON_FREE) and closes
 * its descriptor now. bufferevent_free() alone closes it when libevent
 * finalizes the bufferevent, after the callback running now: a burst of
 * accepts that each evict a stalled client then holds every evicted
 * descriptor until the burst ends, past --max-clients and into EMFILE. */
struct bufferevent;
struct event;
struct event_base;
void transport_sock_bev_free(struct bufferevent *bev);

/* A listener whose accept() failed with an error libevent does not retry
 * itself (EMFILE, ENFILE, ENOBUFS, ENOMEM...). With no error callback
 * libevent logs a line and tries again at once: while descriptors are
 * short, a busy loop writing thousands of lines a second. The transports
 * give their listeners an error callback that stops accepting for the
 * pause this returns (ACCEPT_PAUSE_MS; clients wait in the backlog) and
 * logs through here: at most once per ACCEPT_LOG_EVERY_MS, with the
 * failures not logged since, and for EMFILE the limit and the way out.
 * clients: connections open now. */
struct transport_accept_log {
	uint64_t at_ms;         /* last logged; 0: never */
	unsigned long unlogged; /* failures since */
};
struct timeval transport_sock_accept_failed(struct transport_accept_log *l, const char *sub,
					    int err, size_t clients, uint64_t now_ms);

/* A transport's listeners resting after a failed accept(). The listener's
 * error callback calls transport_accept_rest_start(): the failure is
 * logged (above), resting is set and apply(arg) called, for the transport
 * to disable its listeners; ACCEPT_PAUSE_MS later resting is cleared and
 * apply(arg) called again. sub must outlive r. */
struct transport_accept_rest {
	struct event *timer;
	bool resting;
	struct transport_accept_log log;
	const char *sub;
	void (*apply)(void *arg);
	void *arg;
};
/* 0, or -ENOMEM. */
int transport_accept_rest_init(struct transport_accept_rest *r, struct event_base *base,
			       const char *sub, void (*apply)(void *arg), void *arg);
void transport_accept_rest_fini(struct transport_accept_rest *r);
/* err: the socket error of the failed accept(); clients: open now. */
void transport_accept_rest_start(struct transport_accept_rest *r, int err, size_t clients);

/* The monotonic clock in milliseconds: the time every transport gives
 * scws_conn and the deadlines (one clock for the whole daemon). */
uint64_t transport_now_ms(void);

#endif
