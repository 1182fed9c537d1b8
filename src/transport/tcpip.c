/* tcpip.c - the SCWS over TCP/IP, on libevent (ETSI TS 102 483 style). */
#include "transport/tcpip.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/limits.h"

#include "core/log.h"
#include "core/timeval.h"
#include "scws/conn.h"
#include "transport/admit.h"
#include "transport/sock.h"

struct tcpip_listener {
	struct evconnlistener *lev; /* NULL while suspended */
	bool tls;
	uint16_t port;
	char host[64];
};

struct tcpip_client {
	struct tcpip_server *t;
	struct bufferevent *bev;
	struct scws_conn *conn;
	struct event *deadline;
	uint64_t deadline_at; /* when the timer fires; UINT64_MAX: not armed */
	struct admit_entry admit;
	struct event *pace; /* a held answer's next release (scws_conn_pace) */
	bool closing;       /* the conn is done: flush, then half_close() */
	bool half_closed;   /* our FIN is out: reading until the client's */
	char peer[64];
	struct tcpip_client *prev, *next;
};

struct tcpip_server {
	struct event_base *base;
	struct scws_server *srv;
	struct tcpip_limits lim;
	struct tcpip_listener listeners[TCPIP_LISTENERS_MAX];
	size_t n_listeners;
	struct tcpip_client *clients;
	size_t n_clients;
	struct admit *admit;
	bool own_admit;
	bool paused;                       /* at --max-clients: new clients wait in the backlog */
	struct transport_accept_rest rest; /* after a failed accept() */
	bool suspended;                    /* the card is out: no listener */
	struct event *settle;              /* trims the heap once connections settle */
	bool unsettled;                    /* activity since the settle timer was armed */
	char name[16];                     /* the transport's name in logs and the journal */
};

/* A handshake's transient memory (OpenSSL's handshake buffers, ~30 KB a
 * connection) is freed when it ends, but between the connections' lasting
 * objects: after a burst of handshakes glibc keeps those holes resident.
 * Once no connection went idle or closed for TCPIP_HEAP_SETTLE_MS,
 * malloc_trim gives their pages back; under steady load it waits (a trim
 * of a fragmented heap is hundreds of madvise calls). */
static void settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcpip_server *t = arg;
	if (t->unsettled) {
		struct timeval tv = tv_from_ms(TCPIP_HEAP_SETTLE_MS);
		t->unsettled = false;
		evtimer_add(t->settle, &tv);
		return;
	}
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static void settle_soon(struct tcpip_server *t)
{
	if (!t->settle)
		return;
	if (evtimer_pending(t->settle, NULL)) {
		t->unsettled = true;
	} else {
		struct timeval tv = tv_from_ms(TCPIP_HEAP_SETTLE_MS);
		evtimer_add(t->settle, &tv);
	}
}

/* The listeners accept unless the server is at --max-clients or resting
 * after a failed accept(). */
static void apply_listening(struct tcpip_server *t)
{
	bool on = !t->paused && !t->rest.resting;
	for (size_t i = 0; i < t->n_listeners; i++) {
		if (!t->listeners[i].lev)
			continue;
		if (on)
			evconnlistener_enable(t->listeners[i].lev);
		else
			evconnlistener_disable(t->listeners[i].lev);
	}
}

static void set_listening(struct tcpip_server *t, bool on)
{
	if (t->paused == !on)
		return;
	t->paused = !on;
	apply_listening(t);
	if (!on)
		log_warn("tcpip",
			 "%zu connections open (--max-clients), none to close: new "
			 "clients wait in the backlog",
			 admit_clients(t->admit));
}

static void room_cb(void *arg)
{
	set_listening(arg, true);
}

static void client_free(struct tcpip_client *cl)
{
	struct tcpip_server *t = cl->t;
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		t->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	t->n_clients--;
	if (cl->deadline)
		event_free(cl->deadline);
	if (cl->pace)
		event_free(cl->pace);
	transport_sock_bev_free(cl->bev);
	scws_conn_free(cl->conn);
	admit_leave(t->admit, &cl->admit); /* may resume listening (room_cb) */
	free(cl);
	settle_soon(t);
}

static void disarm_deadline(struct tcpip_client *cl)
{
	if (cl->deadline_at != UINT64_MAX) {
		event_del(cl->deadline);
		cl->deadline_at = UINT64_MAX;
	}
}

/* The timer follows the conn's deadline; moved only when it changes. */
static void arm_deadline(struct tcpip_client *cl)
{
	uint64_t at = scws_conn_deadline(cl->conn);
	if (at == cl->deadline_at)
		return;
	if (at == UINT64_MAX) {
		disarm_deadline(cl);
		return;
	}
	uint64_t now = transport_now_ms();
	struct timeval tv = tv_from_ms(at > now ? at - now : 0);
	event_add(cl->deadline, &tv);
	cl->deadline_at = at;
}

/* Everything is sent: our FIN goes out, and what the client still sends is
 * read and dropped until its FIN (or TCPIP_LINGER_READ_MS), then the socket
 * closes. Closing at once while a client still uploads (a 413 before the
 * body is all in) would make the kernel answer its data with an RST that
 * can destroy our answer before the client reads it ("lingering close"). */
static bool half_close(struct tcpip_client *cl)
{
	struct timeval tv = tv_from_ms(TCPIP_LINGER_READ_MS);
	evutil_socket_t fd = bufferevent_getfd(cl->bev);
	disarm_deadline(cl);
	if (fd < 0 || shutdown(fd, SHUT_WR) != 0) {
		client_free(cl);
		return false;
	}
	cl->half_closed = true;
	evbuffer_drain(bufferevent_get_input(cl->bev),
		       evbuffer_get_length(bufferevent_get_input(cl->bev)));
	bufferevent_disable(cl->bev, EV_WRITE);
	bufferevent_set_timeouts(cl->bev, &tv, NULL);
	bufferevent_enable(cl->bev, EV_READ);
	return true;
}

/* Moves the conn's output to the socket buffer; once the conn is done and
 * everything is flushed, half-closes. Returns false when cl was freed. */
static bool flush_output(struct tcpip_client *cl)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int wait_ms = scws_conn_pace(cl->conn, (uint64_t)now.tv_sec * 1000u +
						       (uint64_t)now.tv_nsec / 1000000u);
	if (wait_ms >= 0 && !evtimer_pending(cl->pace, NULL)) {
		struct timeval tv = { wait_ms / 1000, (wait_ms % 1000) * 1000 };
		evtimer_add(cl->pace, &tv);
	}
	struct bytes out = scws_conn_output(cl->conn);
	struct evbuffer *queued = bufferevent_get_output(cl->bev);
	if (out.len) {
		size_t sent = 0;
		/* Straight to the socket while libevent holds nothing for it:
		 * the write event (an epoll_ctl to add it, one to remove it) is
		 * needed only when the socket cannot take everything. */
		if (evbuffer_get_length(queued) == 0) {
			ssize_t n = send(bufferevent_getfd(cl->bev), out.ptr, out.len,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				sent = (size_t)n;
		}
		if (sent < out.len) {
			/* The rest, or an error the write event reports. */
			if (bufferevent_write(cl->bev, out.ptr + sent, out.len - sent) != 0) {
				client_free(cl);
				return false;
			}
			bufferevent_enable(cl->bev, EV_WRITE);
		}
		scws_conn_consume(cl->conn, out.len);
	}
	if (scws_conn_done(cl->conn) && !scws_conn_held(cl->conn) && !cl->closing) {
		cl->closing = true;
		if (evbuffer_get_length(queued) == 0)
			return half_close(cl);
		bufferevent_disable(cl->bev, EV_READ);
	}
	return true;
}

/* Feeds what has arrived while the socket can take our answers. Returns
 * false when cl was freed (by flush_output): the caller must not touch it. */
static bool pump(struct tcpip_client *cl)
{
	struct evbuffer *in = bufferevent_get_input(cl->bev);
	struct evbuffer *out = bufferevent_get_output(cl->bev);
	uint8_t tmp[TCPIP_READ_CHUNK];
	if (!cl->closing && evbuffer_get_length(in) > 0)
		scws_conn_set_time(cl->conn, transport_now_ms());
	while (!cl->closing && evbuffer_get_length(in) > 0) {
		if (evbuffer_get_length(out) >= TCPIP_OUT_HIGH) {
			bufferevent_disable(cl->bev, EV_READ);
			return true;
		}
		int n = evbuffer_remove(in, tmp, sizeof(tmp));
		if (n <= 0)
			break;
		scws_conn_feed(cl->conn, tmp, (size_t)n);
		if (!flush_output(cl))
			return false;
	}
	if (!cl->closing) {
		if (!scws_conn_in_request(cl->conn))
			settle_soon(cl->t);
		arm_deadline(cl);
		if (evbuffer_get_length(out) < TCPIP_OUT_HIGH)
			bufferevent_enable(cl->bev, EV_READ);
	}
	return true;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct tcpip_client *cl = arg;
	if (cl->half_closed) {
		struct evbuffer *in = bufferevent_get_input(bev);
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	(void)pump(cl);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct tcpip_client *cl = arg;
	if (cl->closing) {
		if (!cl->half_closed && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			half_close(cl);
		return;
	}
	(void)pump(cl);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcpip_client *cl = arg;
	if (cl->half_closed) {
		client_free(cl); /* the client's FIN, an error, or the linger time is up */
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		log_info("tcpip", "%s: idle for %u ms, closing", cl->peer,
			 cl->t->lim.idle_timeout_ms);
		client_free(cl);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		log_dbg("tcpip", "%s: %s", cl->peer,
			evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		client_free(cl);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Whatever arrived before the FIN is still worth answering. */
		if (!pump(cl))
			return; /* freed by pump: cl is gone */
		/* The client sends no more: no lingering needed once our
		 * answer is out. */
		scws_conn_peer_closed(cl->conn);
		if (flush_output(cl)) {
			if (scws_conn_held(cl->conn)) {
				/* A held answer goes out first (pace_cb). */
				bufferevent_disable(bev, EV_READ);
				return;
			}
			cl->closing = true;
			if (cl->half_closed ||
			    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
				client_free(cl);
			else
				bufferevent_disable(bev, EV_READ);
		}
	}
}

static void pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcpip_client *cl = arg;
	if (!cl->half_closed)
		flush_output(cl);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcpip_client *cl = arg;
	cl->deadline_at = UINT64_MAX;
	if (scws_conn_expire(cl->conn, transport_now_ms())) {
		client_free(cl); /* too slow to be owed an answer (logged by the conn) */
		return;
	}
	arm_deadline(cl);
}

static uint64_t client_stalled_since(void *arg)
{
	struct tcpip_client *cl = arg;
	if (cl->closing || evbuffer_get_length(bufferevent_get_output(cl->bev)))
		return UINT64_MAX;
	return scws_conn_stalled_since(cl->conn);
}

static void client_evict(void *arg, const char *why)
{
	struct tcpip_client *cl = arg;
	log_info("tcpip", "%s: closed: %s", cl->peer, why);
	client_free(cl);
}

static const struct admit_ops client_admit_ops = {
	.stalled_since = client_stalled_since,
	.evict = client_evict,
};

static void rest_apply(void *arg)
{
	apply_listening(arg);
}

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	(void)lev;
	struct tcpip_server *t = arg;
	transport_accept_rest_start(&t->rest, EVUTIL_SOCKET_ERROR(), admit_clients(t->admit));
}

/* A listener on fd (already listening), accepting unless the server
 * does not; NULL (fd closed) on no memory. */
static struct evconnlistener *new_listener(struct tcpip_server *t, evutil_socket_t fd);

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct tcpip_listener *l = NULL;
	struct tcpip_server *t = arg;
	for (size_t i = 0; i < t->n_listeners; i++)
		if (t->listeners[i].lev == lev)
			l = &t->listeners[i];
	struct tcpip_client *cl = calloc(1, sizeof(*cl));
	if (!cl || !l) {
		evutil_closesocket(fd);
		free(cl);
		return;
	}
	cl->t = t;
	cl->deadline_at = UINT64_MAX;
	transport_sock_peer(sa, cl->peer, sizeof(cl->peer));
	uint64_t now = transport_now_ms();
	int full = admit_enter(t->admit, &cl->admit, sa, &client_admit_ops, cl, now);
	if (full < 0) {
		log_dbg("tcpip", "%s: refused (%s)", cl->peer,
			full == -EUSERS ? "--max-clients-per-peer" : strerror(-full));
		evutil_closesocket(fd);
		free(cl);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_storage here;
	socklen_t here_len = sizeof(here);
	char local[64] = "";
	if (getsockname(fd, (struct sockaddr *)&here, &here_len) == 0)
		transport_sock_peer((struct sockaddr *)&here, local, sizeof(local));
	struct scws_conn_info info = {
		.transport = t->name,
		.peer = cl->peer,
		.local = local[0] ? local : NULL,
		.local_port = l->port,
		.tls = l->tls,
		.deadlines = &t->lim.deadlines,
		.now_ms = now,
	};
	cl->conn = scws_conn_new(t->srv, &info);
	cl->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	cl->deadline = event_new(t->base, -1, 0, deadline_cb, cl);
	cl->pace = evtimer_new(t->base, pace_cb, cl);
	cl->next = t->clients;
	if (t->clients)
		t->clients->prev = cl;
	t->clients = cl;
	t->n_clients++;
	if (!cl->conn || !cl->bev || !cl->deadline || !cl->pace) {
		if (!cl->bev)
			evutil_closesocket(fd);
		client_free(cl);
		return;
	}
	struct timeval idle = tv_from_ms(t->lim.idle_timeout_ms);
	bufferevent_set_timeouts(cl->bev, &idle, &idle);
	bufferevent_setcb(cl->bev, read_cb, write_cb, event_cb, cl);
	bufferevent_setwatermark(cl->bev, EV_WRITE, TCPIP_OUT_HIGH / 2, 0);
	/* EV_WRITE only once a write is queued (flush_output). */
	bufferevent_enable(cl->bev, EV_READ);
	arm_deadline(cl);
	log_dbg("tcpip", "%s: connected to port %u", cl->peer, l->port);
	if (full)
		set_listening(t, false);
}

struct tcpip_server *transport_tcpip_new(struct event_base *base, struct scws_server *srv,
					 const struct tcpip_limits *lim)
{
	struct tcpip_server *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->base = base;
	t->srv = srv;
	t->lim = *lim;
	snprintf(t->name, sizeof(t->name), "tcpip");
	t->admit = lim->admit;
	if (!t->admit) {
		t->admit = admit_new(lim->max_clients, lim->max_clients_per_peer);
		t->own_admit = true;
		if (!t->admit) {
			free(t);
			return NULL;
		}
	}
	admit_on_room(t->admit, room_cb, t);
	t->settle = evtimer_new(base, settle_cb, t);
	int rc = transport_accept_rest_init(&t->rest, base, t->name, rest_apply, t);
	if (!t->settle || rc) {
		transport_tcpip_free(t);
		return NULL;
	}
	return t;
}

void transport_tcpip_free(struct tcpip_server *t)
{
	if (!t)
		return;
	admit_off_room(t->admit, t);
	while (t->clients)
		client_free(t->clients);
	for (size_t i = 0; i < t->n_listeners; i++)
		if (t->listeners[i].lev)
			evconnlistener_free(t->listeners[i].lev);
	if (t->own_admit)
		admit_free(t->admit);
	if (t->settle)
		event_free(t->settle);
	transport_accept_rest_fini(&t->rest);
	free(t);
}

void transport_tcpip_set_name(struct tcpip_server *t, const char *name)
{
	snprintf(t->name, sizeof(t->name), "%s", name);
}

size_t transport_tcpip_clients(const struct tcpip_server *t)
{
	return t->n_clients;
}

static struct evconnlistener *new_listener(struct tcpip_server *t, evutil_socket_t fd)
{
	struct evconnlistener *lev = evconnlistener_new(
		t->base, accept_cb, t, LEV_OPT_CLOSE_ON_FREE, TRANSPORT_SOCK_EV_LISTENING, fd);
	if (!lev) {
		evutil_closesocket(fd);
		return NULL;
	}
	evconnlistener_set_error_cb(lev, accept_error_cb);
	if (t->paused || t->rest.resting)
		evconnlistener_disable(lev);
	return lev;
}

int transport_tcpip_listen(struct tcpip_server *t, const char *host, uint16_t port, bool tls,
			   uint16_t *bound, char *err, size_t errcap)
{
	if (t->n_listeners >= TCPIP_LISTENERS_MAX) {
		snprintf(err, errcap, "too many listeners");
		return -EMSGSIZE;
	}
	evutil_socket_t fd;
	uint16_t p;
	int rc = transport_sock_listen(host, port, 0, &fd, &p, err, errcap);
	if (rc)
		return rc;
	struct tcpip_listener *l = &t->listeners[t->n_listeners];
	l->lev = new_listener(t, fd);
	if (!l->lev) {
		snprintf(err, errcap, "evconnlistener_new failed");
		return -ENOMEM;
	}
	l->tls = tls;
	l->port = p;
	snprintf(l->host, sizeof(l->host), "%s", host);
	t->n_listeners++;
	*bound = p;
	return 0;
}

void transport_tcpip_suspend(struct tcpip_server *t)
{
	if (!t || t->suspended)
		return;
	t->suspended = true;
	for (size_t i = 0; i < t->n_listeners; i++) {
		if (t->listeners[i].lev)
			evconnlistener_free(t->listeners[i].lev);
		t->listeners[i].lev = NULL;
	}
	struct tcpip_client *next;
	for (struct tcpip_client *cl = t->clients; cl; cl = next) {
		next = cl->next;
		if (cl->closing)
			continue;
		cl->closing = true;
		bufferevent_disable(cl->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(cl->bev)) == 0)
			(void)half_close(cl);
	}
}

int transport_tcpip_resume(struct tcpip_server *t, char *err, size_t errcap)
{
	if (!t || !t->suspended)
		return 0;
	t->suspended = false;
	int first = 0;
	for (size_t i = 0; i < t->n_listeners; i++) {
		struct tcpip_listener *l = &t->listeners[i];
		evutil_socket_t fd;
		uint16_t p;
		char why[256];
		int rc = transport_sock_listen(l->host, l->port, 0, &fd, &p, why, sizeof(why));
		if (!rc) {
			l->lev = new_listener(t, fd);
			if (!l->lev) {
				rc = -ENOMEM;
				snprintf(why, sizeof(why), "evconnlistener_new failed");
			}
		}
		if (rc && !first) {
			first = rc;
			snprintf(err, errcap, "%s", why);
		}
	}
	return first;
}

bool transport_tcpip_suspended(const struct tcpip_server *t)
{
	return t && t->suspended;
}
