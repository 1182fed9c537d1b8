/* vpcd.c - the card side of vsmartcard's vpcd link over TCP, on libevent
 * (vsmartcard virtualsmartcard/src/vpcd/vpcd.c is the other end). */
#include "transport/vpcd.h"

#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/limits.h"

#include "card/card.h"
#include "core/log.h"
#include "core/timeval.h"
#include "transport/hostport.h"

enum vpcd_state {
	ST_IDLE,       /* stopped: no socket, no timer */
	ST_WAIT,       /* back-off timer armed */
	ST_CONNECTING, /* non-blocking connect in flight (ev_write) */
	ST_CONNECTED,  /* ev_read, or ev_write while an answer is half sent */
};

struct transport_vpcd {
	struct event_base *base;
	struct card *card;
	struct transport_vpcd_opts opts;
	struct sockaddr_storage addrs[VPCD_ADDRS_MAX];
	socklen_t addr_lens[VPCD_ADDRS_MAX];
	size_t n_addrs, next_addr;
	char peer[TRANSPORT_HOST_MAX + 8];

	enum vpcd_state state;
	int fd;
	struct event *ev_read, *ev_write, *ev_timer;
	unsigned backoff_ms;
	bool said_down;   /* an outage was logged: stay quiet until connected */
	bool got_message; /* this connection carried a message: reset back-off */

	struct transport_vpcd_frame frame;
	uint8_t in[VPCD_IN_CAP];
	size_t in_pos, in_len; /* unprocessed input: in[in_pos..in_len) */
	uint8_t *out;          /* VPCD_FRAME_MAX: the answer being sent */
	size_t out_pos, out_len;

	transport_vpcd_trace_fn *trace;
	void *trace_arg;
	transport_vpcd_delay_fn *delay;
	void *delay_arg;
	unsigned hold_ms; /* the answer just made waits this long */
	struct event *ev_hold;
	struct transport_vpcd_stats stats;
};

static void connect_next(struct transport_vpcd *v);

static int resolve(struct transport_vpcd *v, const char *spec, char *err, size_t errcap)
{
	char host[TRANSPORT_HOST_MAX];
	struct addrinfo *res = NULL;
	uint16_t port;
	int rc = transport_hostport_resolve("vpcd", spec, VPCD_PORT_DEFAULT, SOCK_STREAM, host,
					    &port, &res, err, errcap);
	if (rc)
		return rc;
	for (struct addrinfo *ai = res; ai && v->n_addrs < VPCD_ADDRS_MAX; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(v->addrs[0]))
			continue;
		memcpy(&v->addrs[v->n_addrs], ai->ai_addr, ai->ai_addrlen);
		v->addr_lens[v->n_addrs++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (!v->n_addrs) {
		snprintf(err, errcap, "vpcd: '%s' has no address", host);
		return -EHOSTUNREACH;
	}
	if (strchr(host, ':'))
		snprintf(v->peer, sizeof(v->peer), "[%s]:%u", host, (unsigned)port);
	else
		snprintf(v->peer, sizeof(v->peer), "%s:%u", host, (unsigned)port);
	return 0;
}

static void close_conn(struct transport_vpcd *v)
{
	if (v->ev_read)
		event_free(v->ev_read);
	if (v->ev_write)
		event_free(v->ev_write);
	v->ev_read = v->ev_write = NULL;
	if (v->ev_hold)
		evtimer_del(v->ev_hold);
	v->hold_ms = 0;
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	v->in_pos = v->in_len = 0;
	v->out_pos = v->out_len = 0;
	transport_vpcd_frame_reset(&v->frame);
}

static void schedule_retry(struct transport_vpcd *v)
{
	struct timeval tv = tv_from_ms(v->backoff_ms);
	v->state = ST_WAIT;
	evtimer_add(v->ev_timer, &tv);
	v->backoff_ms *= 2;
	if (v->backoff_ms > v->opts.backoff_max_ms)
		v->backoff_ms = v->opts.backoff_max_ms;
}

/* The connection is gone: say so once, then retry quietly. */
static void drop(struct transport_vpcd *v, const char *why)
{
	bool was_connected = v->state == ST_CONNECTED;
	close_conn(v);
	if (!v->said_down) {
		if (was_connected)
			log_warn("vpcd", "connection to vpcd at %s lost (%s); reconnecting",
				 v->peer, why);
		else
			log_warn("vpcd",
				 "cannot connect to vpcd at %s (%s): is pcscd running with "
				 "vsmartcard-vpcd? Retrying quietly",
				 v->peer, why);
		v->said_down = true;
	}
	if (v->got_message)
		v->backoff_ms = v->opts.backoff_min_ms;
	v->got_message = false;
	schedule_retry(v);
}

static void set_sockopt(int fd, int level, int name)
{
	int one = 1;
	/* Best effort: a socket without it is only slower. */
	(void)setsockopt(fd, level, name, &one, sizeof(one));
}

/* Sends what is left of the current answer. 0 when all of it left,
 * -EAGAIN when the kernel took only part, another negative errno when the
 * connection broke. */
static int flush_out(struct transport_vpcd *v)
{
	while (v->out_pos < v->out_len) {
		ssize_t n = send(v->fd, v->out + v->out_pos, v->out_len - v->out_pos, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		v->out_pos += (size_t)n;
	}
	v->out_pos = v->out_len = 0;
	return 0;
}

/* Handles one complete message. 0, or a negative errno after which the
 * connection must go. */
static int handle_message(struct transport_vpcd *v)
{
	enum transport_vpcd_kind kind = VPCD_KIND_UNKNOWN;
	size_t len = 0;
	const uint8_t *msg = transport_vpcd_frame_msg(&v->frame, &len);
	int rc = transport_vpcd_frame_handle(v->card, msg, len, v->out, VPCD_FRAME_MAX, &v->out_len,
					     &kind);
	if (rc)
		return rc;
	v->out_pos = 0;
	v->got_message = true;
	if (kind == VPCD_KIND_APDU) {
		v->stats.apdus++;
		if (v->trace)
			v->trace(v->trace_arg, msg, len, v->out + 2, v->out_len - 2);
		if (v->delay)
			v->hold_ms = v->delay(v->delay_arg, msg, len);
	} else {
		v->stats.controls++;
		if (kind == VPCD_KIND_UNKNOWN)
			log_dbg("vpcd", "ignoring unknown control byte %02X", msg[0]);
		else
			log_dbg("vpcd", "%s", transport_vpcd_kind_name(kind));
	}
	return 0;
}

/* Works through the buffered input. Returns 0 when it is all used,
 * -EAGAIN when an answer waits for room in the socket (reading pauses),
 * -EINPROGRESS when an answer is held (apdu-delay: ev_hold goes on),
 * another negative errno when the connection must go (*why says why). */
static int process_input(struct transport_vpcd *v, const char **why)
{
	while (v->in_pos < v->in_len) {
		size_t used = 0;
		int rc = transport_vpcd_frame_feed(&v->frame, v->in + v->in_pos,
						   v->in_len - v->in_pos, &used);
		v->in_pos += used;
		if (rc == -EAGAIN)
			break;
		if (rc) {
			*why = rc == -EPROTO ? "empty frame" : "frame over the size limit";
			v->stats.errors++;
			return rc;
		}
		rc = handle_message(v);
		if (rc) {
			*why = "cannot answer";
			return rc;
		}
		if (v->hold_ms) {
			struct timeval tv = { v->hold_ms / 1000, (v->hold_ms % 1000) * 1000 };
			v->hold_ms = 0;
			evtimer_add(v->ev_hold, &tv);
			return -EINPROGRESS;
		}
		rc = flush_out(v);
		if (rc == -EAGAIN)
			v->stats.stalls++;
		if (rc) {
			*why = "send failed";
			return rc;
		}
	}
	v->in_pos = v->in_len = 0;
	return 0;
}

static void pause_reading(struct transport_vpcd *v)
{
	event_del(v->ev_read);
	event_add(v->ev_write, NULL);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct transport_vpcd *v = arg;
	const char *why = NULL;
	ssize_t n;
	int rc;
	do
		n = recv(fd, v->in, sizeof(v->in), 0);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		drop(v, "closed by vpcd");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			drop(v, strerror(errno));
		return;
	}
	/* ACK now: vpcd sends a request's length and body in two writes
	 * without TCP_NODELAY, so the body waits for this ACK (40 ms when
	 * delayed). Linux leaves quick-ACK mode by itself: set it each time. */
	if (!v->opts.no_quickack)
		set_sockopt(v->fd, IPPROTO_TCP, TCP_QUICKACK);
	v->in_pos = 0;
	v->in_len = (size_t)n;
	rc = process_input(v, &why);
	if (rc == -EAGAIN)
		pause_reading(v);
	else if (rc == -EINPROGRESS)
		event_del(v->ev_read);
	else if (rc)
		drop(v, why);
}

/* A held answer's time is up: send it, then go on with the input. */
static void on_hold(evutil_socket_t fd, short what, void *arg)
{
	struct transport_vpcd *v = arg;
	const char *why = "send failed";
	int rc = flush_out(v);
	if (rc == 0)
		rc = process_input(v, &why);
	if (rc == -EAGAIN) {
		v->stats.stalls++;
		pause_reading(v);
	} else if (rc == -EINPROGRESS) {
		return;
	} else if (rc) {
		drop(v, why);
	} else {
		event_add(v->ev_read, NULL);
	}
}

/* Called from ev_write's callback: ev_write stays, for answers that the
 * kernel takes in parts. */
static void on_connected(struct transport_vpcd *v)
{
	v->state = ST_CONNECTED;
	v->stats.connects++;
	event_del(v->ev_write);
	v->ev_read = event_new(v->base, v->fd, EV_READ | EV_PERSIST, on_read, v);
	if (!v->ev_read) {
		drop(v, "out of memory");
		return;
	}
	event_add(v->ev_read, NULL);
	if (!v->opts.no_nodelay)
		set_sockopt(v->fd, IPPROTO_TCP, TCP_NODELAY);
	log_info("vpcd", "connected to vpcd at %s: the card is in the reader", v->peer);
	v->said_down = false;
}

/* The connect to addrs[next_addr] failed with err: the next address, or
 * after the last one, wait and say why. */
static void connect_failed(struct transport_vpcd *v, int err)
{
	close_conn(v);
	v->next_addr++;
	if (v->next_addr < v->n_addrs) {
		connect_next(v);
		return;
	}
	v->state = ST_WAIT;
	drop(v, strerror(err));
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct transport_vpcd *v = arg;
	const char *why = NULL;
	int rc;

	if (v->state == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err) {
			connect_failed(v, err);
			return;
		}
		on_connected(v);
		return;
	}
	rc = flush_out(v);
	if (rc == -EAGAIN)
		return;
	if (rc) {
		drop(v, "send failed");
		return;
	}
	event_del(v->ev_write);
	rc = process_input(v, &why);
	if (rc == -EAGAIN) {
		event_add(v->ev_write, NULL);
		return;
	}
	if (rc == -EINPROGRESS)
		return;
	if (rc) {
		drop(v, why);
		return;
	}
	event_add(v->ev_read, NULL);
}

/* Starts a non-blocking connect to addrs[next_addr]. */
static void connect_next(struct transport_vpcd *v)
{
	const struct sockaddr *sa = (const struct sockaddr *)&v->addrs[v->next_addr];
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err;
	if (fd < 0) {
		drop(v, strerror(errno));
		return;
	}
	v->fd = fd;
	v->state = ST_CONNECTING;
	if (v->opts.sndbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v->opts.sndbuf,
				 sizeof(v->opts.sndbuf));
	if (connect(fd, sa, v->addr_lens[v->next_addr]) != 0 && errno != EINPROGRESS) {
		err = errno;
		connect_failed(v, err);
		return;
	}
	v->ev_write = event_new(v->base, fd, EV_WRITE | EV_PERSIST, on_writable, v);
	if (!v->ev_write) {
		drop(v, "out of memory");
		return;
	}
	event_add(v->ev_write, NULL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct transport_vpcd *v = arg;
	v->next_addr = 0;
	connect_next(v);
}

struct transport_vpcd *transport_vpcd_new(struct event_base *base, struct card *card,
					  const char *spec, const struct transport_vpcd_opts *opts,
					  char *err, size_t errcap)
{
	struct transport_vpcd *v;
	if (!base || !card) {
		snprintf(err, errcap, "vpcd: no event loop or card");
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errcap, "vpcd: out of memory");
		return NULL;
	}
	v->base = base;
	v->card = card;
	v->fd = -1;
	if (opts)
		v->opts = *opts;
	if (!v->opts.backoff_min_ms)
		v->opts.backoff_min_ms = VPCD_BACKOFF_MIN_MS;
	if (!v->opts.backoff_max_ms)
		v->opts.backoff_max_ms = VPCD_BACKOFF_MAX_MS;
	if (v->opts.backoff_max_ms < v->opts.backoff_min_ms)
		v->opts.backoff_max_ms = v->opts.backoff_min_ms;
	v->backoff_ms = v->opts.backoff_min_ms;
	if (resolve(v, spec, err, errcap) != 0) {
		free(v);
		return NULL;
	}
	v->out = malloc(VPCD_FRAME_MAX);
	v->ev_timer = evtimer_new(base, on_timer, v);
	v->ev_hold = evtimer_new(base, on_hold, v);
	if (!v->out || !v->ev_timer || !v->ev_hold ||
	    transport_vpcd_frame_init(&v->frame, VPCD_MSG_MAX) != 0) {
		snprintf(err, errcap, "vpcd: out of memory");
		if (v->ev_timer)
			event_free(v->ev_timer);
		if (v->ev_hold)
			event_free(v->ev_hold);
		free(v->out);
		free(v);
		return NULL;
	}
	return v;
}

void transport_vpcd_free(struct transport_vpcd *v)
{
	if (!v)
		return;
	close_conn(v);
	event_free(v->ev_timer);
	event_free(v->ev_hold);
	transport_vpcd_frame_cleanup(&v->frame);
	free(v->out);
	free(v);
}

void transport_vpcd_start(struct transport_vpcd *v)
{
	struct timeval now = { 0, 0 };
	if (v->state != ST_IDLE)
		return;
	v->backoff_ms = v->opts.backoff_min_ms;
	v->said_down = false;
	v->state = ST_WAIT;
	/* From the loop, not from here: the caller may not be running it yet. */
	evtimer_add(v->ev_timer, &now);
}

void transport_vpcd_stop(struct transport_vpcd *v)
{
	if (v->state == ST_IDLE)
		return;
	evtimer_del(v->ev_timer);
	if (v->state == ST_CONNECTED)
		log_info("vpcd", "disconnected from vpcd at %s: the card is out of the reader",
			 v->peer);
	close_conn(v);
	v->state = ST_IDLE;
}

void transport_vpcd_set_card(struct transport_vpcd *v, struct card *card)
{
	if (!card)
		return;
	v->card = card;
	card_reset(card);
}

void transport_vpcd_set_delay(struct transport_vpcd *v, transport_vpcd_delay_fn *fn, void *arg)
{
	v->delay = fn;
	v->delay_arg = arg;
}

void transport_vpcd_set_trace(struct transport_vpcd *v, transport_vpcd_trace_fn *fn, void *arg)
{
	v->trace = fn;
	v->trace_arg = arg;
}

bool transport_vpcd_is_connected(const struct transport_vpcd *v)
{
	return v->state == ST_CONNECTED;
}

const char *transport_vpcd_peer(const struct transport_vpcd *v)
{
	return v->peer;
}

void transport_vpcd_get_stats(const struct transport_vpcd *v, struct transport_vpcd_stats *st)
{
	*st = v->stats;
}
