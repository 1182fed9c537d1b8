/* bip_gw.c - the terminal-side BIP gateway's socket shell on libevent
 * (ETSI TS 102 223 UICC server mode; doc/protocol.md §1.6, §1.14, §10). */
#include "transport/bip_gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "card/cat_msg.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/timeval.h"
#include "transport/admit.h"
#include "transport/sock.h"

#define SUB "bip"

struct bip_gw;
struct gw_port;

struct gw_listener {
	struct evconnlistener *lev;
	struct gw_port *port;
	char host[BIP_GW_HOST_MAX];
	uint16_t host_port;
};

/* One card port with listeners on every address. Invariant: in_use
 * exactly while a channel of the engine uses card_port. */
struct gw_port {
	struct bip_gw *gw;
	bool in_use;
	bool stale; /* during a restart: kept for the card to open again */
	uint16_t card_port;
	struct gw_listener ls[BIP_GW_ADDRS_MAX];
	size_t n_ls;
	bool accepting;
	struct gw_conn *parked, *parked_tail; /* FIFO of clients waiting for a channel */
	size_t n_parked;
};

enum conn_state {
	CONN_NEW,    /* accepted, not placed yet */
	CONN_PARKED, /* accepted, no channel free yet: not read */
	CONN_BOUND,  /* the connection of channel ch */
	CONN_LINGER, /* channel gone: flushing the last bytes, then closed */
};

struct gw_conn {
	struct bip_gw *gw;
	bool dropped;     /* bip-drop: the close is an RST */
	bool fin_pending; /* the client's FIN came with bytes not yet in Rx */
	/* bip-rate: libevent's token buckets on the client's socket, both
	 * ways (NULL: no cap). */
	struct ev_token_bucket_cfg *rate;
	struct bufferevent *bev;
	enum conn_state st;
	struct gw_port *port; /* CONN_PARKED */
	unsigned ch;          /* CONN_BOUND */
	size_t rx_max;        /* CONN_BOUND: the channel's buffer size */
	uint16_t card_port;   /* CONN_BOUND */
	/* The eviction clock (ms, monotonic): the card's answers to what the
	 * client sent tell a stalled client from one being served. */
	uint64_t t_bound;      /* bound to its channel */
	uint64_t t_last_tx;    /* last byte from the card to the client */
	uint64_t t_unanswered; /* first client byte since then; 0: none */
	char peer[BIP_GW_PEER_MAX];
	char local[BIP_GW_PEER_MAX]; /* the address the client reached */
	struct admit_entry admit;
	struct gw_conn *prev, *next;
	struct gw_conn *park_next;
};

struct bip_gw {
	struct event_base *base;
	struct card_link link;
	struct bip_term *term;
	struct bip_gw_addr addrs[BIP_GW_ADDRS_MAX];
	size_t n_addrs;
	struct bip_gw_port_map map[BIP_GW_PORT_MAP_MAX];
	size_t n_map;
	unsigned idle_timeout_ms;
	struct admit *admit;
	uint64_t (*stalled_cb)(void *arg, unsigned channel);
	void *stalled_arg;
	struct gw_port ports[CAT_BIP_CHANNELS_MAX]; /* distinct card ports <= channels */
	struct gw_conn *conns;
	size_t n_conns;
	struct event *kick;  /* run the engine from the loop */
	struct event *retry; /* the engine asked to wait */
	struct event *poll;  /* the card's POLL INTERVAL: STATUS when it fires */
	struct event *evict; /* clients wait for a channel: look for one to free */
	/* accept() failed (EMFILE...): every port rests for ACCEPT_PAUSE_MS. */
	struct transport_accept_rest rest;
	unsigned evictions; /* connections closed to make room, since start */
	bool restarting;    /* released ports turn stale instead of closing */
	/* The first listener another process held (EADDRINUSE): said once by
	 * transport_bip_gw_port_in_use(), not by every OPEN CHANNEL. */
	char in_use[400];
	bool warned[BIP_GW_ADDRS_MAX]; /* a default address that failed: said once */
	struct bip_gw_fault_hooks faults;
};

static void kick(struct bip_gw *gw)
{
	event_active(gw->kick, EV_TIMEOUT, 1);
}

static struct gw_port *find_port(struct bip_gw *gw, uint16_t card_port)
{
	for (size_t i = 0; i < CAT_BIP_CHANNELS_MAX; i++)
		if (gw->ports[i].in_use && gw->ports[i].card_port == card_port)
			return &gw->ports[i];
	return NULL;
}

static void unpark(struct gw_conn *c)
{
	struct gw_port *p = c->port;
	struct gw_conn **pp = &p->parked;
	struct gw_conn *prev = NULL;
	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->park_next;
	}
	if (*pp) {
		*pp = c->park_next;
		if (p->parked_tail == c)
			p->parked_tail = prev;
		p->n_parked--;
	}
	c->park_next = NULL;
	c->port = NULL;
}

/* Never for a CONN_BOUND connection the engine still knows, except at
 * teardown. */
static void conn_free(struct gw_conn *c)
{
	struct bip_gw *gw = c->gw;
	if (c->st == CONN_PARKED && c->port)
		unpark(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		gw->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	gw->n_conns--;
	if (c->bev) {
		if (c->dropped) { /* the link is lost: RST, not FIN */
			struct linger lg = { 1, 0 };
			evutil_socket_t fd = bufferevent_getfd(c->bev);
			if (fd >= 0)
				(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		transport_sock_bev_free(c->bev);
	}
	if (c->rate)
		ev_token_bucket_cfg_free(c->rate);
	admit_leave(gw->admit, &c->admit);
	free(c);
}

/* The last bytes are out: send our FIN and read (and drop) whatever the
 * client still sends until its FIN, within BIP_GW_LINGER_READ_MS. Closing
 * at once while a client is still sending (a 413 before the whole upload
 * came) would turn our FIN into an RST that can destroy the answer before
 * the client reads it: the "lingering close" of HTTP servers. */
static void half_close(struct gw_conn *c)
{
	struct timeval tv = tv_from_ms(BIP_GW_LINGER_READ_MS);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	if (fd < 0 || shutdown(fd, SHUT_WR) != 0) {
		conn_free(c);
		return;
	}
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ);
}

/* After the channel let go of c: the client still gets what was queued
 * for it (and what it sends meanwhile is read and dropped, so that the
 * close is a FIN, not an RST), within BIP_GW_LINGER_MS; then half_close(). */
static void linger_or_free(struct gw_conn *c)
{
	c->ch = 0;
	c->st = CONN_LINGER;
	bufferevent_set_max_single_read(c->bev, 16384);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		half_close(c);
		return;
	}
	struct timeval tv = tv_from_ms(BIP_GW_LINGER_MS);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Moves what the client sent into the channel's Rx buffer, as far as it
 * has room. The rest waits in libevent's input; once that holds a buffer's
 * worth, the socket is not read until the card makes room (backpressure:
 * the client's sends block in its kernel). Reads are at most a buffer
 * size each, so the input never holds more than twice that. A read
 * watermark would be the obvious tool, but libevent 2.1 keeps calling the
 * read callback of a bufferevent whose input sits at its high watermark
 * (a busy loop), so reading is switched off and on by hand. */
static void move_rx(struct gw_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t avail = evbuffer_get_length(in);
	size_t room = transport_bip_term_rx_room(c->gw->term, c->ch);
	size_t n = avail < room ? avail : room;
	if (n) {
		const uint8_t *p = evbuffer_pullup(in, (ssize_t)n);
		if (p && transport_bip_term_rx(c->gw->term, c->ch, p, n) == 0)
			evbuffer_drain(in, n);
	}
	bool want = evbuffer_get_length(in) < c->rx_max && !c->fin_pending;
	/* Enabling re-arms the idle timeout: only on a change. */
	if (want != !!(bufferevent_get_enabled(c->bev) & EV_READ)) {
		if (want)
			bufferevent_enable(c->bev, EV_READ);
		else
			bufferevent_disable(c->bev, EV_READ);
	}
}

/* The idle timeout counts silence both ways: bytes to the client re-arm it
 * too (a client waiting for a long answer is not idle). */
static void arm_idle(struct gw_conn *c)
{
	if (!c->gw->idle_timeout_ms)
		return;
	struct timeval tv = tv_from_ms(c->gw->idle_timeout_ms);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
}

static void update_accepting(struct gw_port *p)
{
	/* Clients waiting for a channel are accepted and parked (up to
	 * BIP_GW_PARKED_MAX), so the gateway sees that they wait and can
	 * make room (evict_for); beyond, they wait in the backlog. */
	bool room = p->n_parked < BIP_GW_PARKED_MAX;
	bool want = room && !p->gw->rest.resting;
	if (want == p->accepting)
		return;
	p->accepting = want;
	for (size_t i = 0; i < p->n_ls; i++) {
		if (want)
			evconnlistener_enable(p->ls[i].lev);
		else
			evconnlistener_disable(p->ls[i].lev);
	}
	if (want)
		log_dbg(SUB, "card port %u: accepting again", p->card_port);
	else if (!room)
		log_info(SUB,
			 "card port %u: every channel busy and %u clients wait: new clients "
			 "wait in the backlog",
			 p->card_port, BIP_GW_PARKED_MAX);
}

/* move_rx(), then the client's FIN once every byte before it is in the
 * channel (a FIN reported earlier would drop them: a slow or rate-capped
 * channel, a client that half-closes after its request). May free c. */
static void move_rx_fin(struct gw_conn *c)
{
	move_rx(c);
	if (c->fin_pending && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
		struct bip_gw *gw = c->gw;
		c->fin_pending = false;
		transport_bip_term_peer_closed(gw->term, c->ch, false);
		linger_or_free(c);
		kick(gw);
	}
}

static void bind_conn(struct gw_conn *c, unsigned ch)
{
	struct bip_term_channel_info info;
	struct bip_gw *gw = c->gw;
	c->st = CONN_BOUND;
	c->ch = ch;
	c->t_bound = transport_now_ms();
	c->t_last_tx = 0;
	c->t_unanswered = 0;
	if (transport_bip_term_channel(c->gw->term, ch, &info) != 0) {
		info.buffer_size = BIP_GW_BUFFER_MAX;
		info.card_port = 0;
	}
	c->card_port = info.card_port;
	unsigned rate = gw->faults.rate ? gw->faults.rate(gw->faults.arg, c->card_port) : 0;
	if (rate && !c->rate) {
		/* Per tick of BIP_GW_RATE_TICK_MS, at least a byte. */
		static const struct timeval tick = { 0, BIP_GW_RATE_TICK_MS * 1000 };
		size_t per_tick = (size_t)rate * BIP_GW_RATE_TICK_MS / 1000u;
		if (per_tick == 0)
			per_tick = 1;
		c->rate = ev_token_bucket_cfg_new(per_tick, per_tick, per_tick, per_tick, &tick);
		if (c->rate && bufferevent_set_rate_limit(c->bev, c->rate) == 0)
			log_info(SUB, "%s: channel %u capped at %u bytes/s each way (fault)",
				 c->peer, ch, rate);
	}
	c->rx_max = info.buffer_size ? info.buffer_size : 1;
	bufferevent_set_max_single_read(c->bev, (ssize_t)c->rx_max);
	bufferevent_setwatermark(c->bev, EV_WRITE, BIP_GW_SOCK_OUT_MAX / 2, 0);
	arm_idle(c);
	/* EV_WRITE once a write is queued (net_write). */
	bufferevent_enable(c->bev, EV_READ);
	log_info(SUB, "%s: connected, channel %u (card port %u)", c->peer, ch, info.card_port);
}

static void park(struct gw_port *p, struct gw_conn *c)
{
	c->st = CONN_PARKED;
	c->port = p;
	c->park_next = NULL;
	if (p->parked_tail)
		p->parked_tail->park_next = c;
	else
		p->parked = c;
	p->parked_tail = c;
	p->n_parked++;
	log_info(SUB, "%s: waits for a free channel of card port %u", c->peer, p->card_port);
}

/* The parked client to take first: the one with the most bytes ready
 * (a client that sent its whole first flight goes before one trickling
 * it), in arrival order among equals. */
static struct gw_conn *next_parked(struct gw_port *p)
{
	struct gw_conn *best = p->parked;
	int most = -1;
	if (!best || !best->park_next)
		return best;
	for (struct gw_conn *c = p->parked; c; c = c->park_next) {
		int n = 0;
		if (ioctl(bufferevent_getfd(c->bev), FIONREAD, &n) != 0)
			n = 0;
		if (n > most) {
			most = n;
			best = c;
		}
	}
	return best;
}

/* Parked clients first, then the listeners follow. */
static void settle_port(struct gw_port *p)
{
	while (p->parked && transport_bip_term_port_free(p->gw->term, p->card_port)) {
		struct gw_conn *c = next_parked(p);
		unpark(c);
		int rc = transport_bip_term_accept(p->gw->term, p->card_port, c);
		if (rc <= 0) {
			conn_free(c);
			break;
		}
		bind_conn(c, (unsigned)rc);
	}
	update_accepting(p);
}

/* Since when c waits for its client rather than for the card: its bytes
 * unanswered (a handshake or request not complete: the card answers a
 * complete one at once), or everything answered (idle in keep-alive, or
 * nothing sent yet); UINT64_MAX while an answer is on its way out. */
static uint64_t stalled_since(const struct gw_conn *c)
{
	if (c->st != CONN_BOUND || evbuffer_get_length(bufferevent_get_output(c->bev)))
		return UINT64_MAX;
	if (c->gw->stalled_cb) {
		struct bip_term_channel_info info;
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) ||
		    transport_bip_term_channel(c->gw->term, c->ch, &info) != 0 || info.rx_len ||
		    info.tx_len)
			return UINT64_MAX; /* bytes on their way to or from the card */
		return c->gw->stalled_cb(c->gw->stalled_arg, c->ch);
	}
	if (c->t_unanswered)
		return c->t_unanswered;
	return c->t_last_tx > c->t_bound ? c->t_last_tx : c->t_bound;
}

/* Clients wait for a channel of p: the bound connection stalled the
 * longest (EVICT_GRACE_MS at least) is closed to make room, one per
 * waiting client, so slow or idle clients cannot starve the others. */
static void evict_for(struct gw_port *p, uint64_t now)
{
	struct bip_gw *gw = p->gw;
	for (size_t k = 0; k < p->n_parked; k++) {
		struct gw_conn *victim = NULL;
		uint64_t oldest = UINT64_MAX;
		for (struct gw_conn *c = gw->conns; c; c = c->next) {
			if (c->st != CONN_BOUND || c->card_port != p->card_port)
				continue;
			uint64_t t = stalled_since(c);
			if (t < oldest && t + EVICT_GRACE_MS <= now) {
				oldest = t;
				victim = c;
			}
		}
		if (!victim)
			return;
		log_info(SUB,
			 "%s: channel %u closed to make room for a waiting client "
			 "(stalled %llu ms)",
			 victim->peer, victim->ch, (unsigned long long)(now - oldest));
		gw->evictions++;
		transport_bip_term_peer_closed(gw->term, victim->ch, true);
		conn_free(victim);
	}
}

static uint64_t admit_stalled(void *arg)
{
	return stalled_since(arg);
}

static void admit_evict(void *arg, const char *why)
{
	struct gw_conn *c = arg;
	struct bip_gw *gw = c->gw;
	log_info(SUB, "%s: closed: %s", c->peer, why);
	if (c->st == CONN_BOUND)
		transport_bip_term_peer_closed(gw->term, c->ch, true);
	conn_free(c);
	kick(gw);
}

static const struct admit_ops gw_admit_ops = {
	.stalled_since = admit_stalled,
	.evict = admit_evict,
};

static void check_waiting(struct bip_gw *gw)
{
	bool waiting = false;
	uint64_t now = 0;
	for (size_t i = 0; i < CAT_BIP_CHANNELS_MAX; i++) {
		struct gw_port *p = &gw->ports[i];
		if (!p->in_use || !p->n_parked)
			continue;
		if (!waiting)
			now = transport_now_ms();
		waiting = true;
		evict_for(p, now);
	}
	if (waiting && !evtimer_pending(gw->evict, NULL)) {
		struct timeval tv = tv_from_ms(EVICT_CHECK_MS);
		evtimer_add(gw->evict, &tv);
	}
}

static void evict_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bip_gw *gw = arg;
	check_waiting(gw);
	kick(gw);
}

static void run_engine(struct bip_gw *gw)
{
	check_waiting(gw);
	for (size_t i = 0; i < CAT_BIP_CHANNELS_MAX; i++)
		if (gw->ports[i].in_use)
			settle_port(&gw->ports[i]);
	for (struct gw_conn *c = gw->conns, *next; c; c = next) {
		next = c->next;
		if (c->st == CONN_BOUND)
			move_rx_fin(c);
	}
	unsigned wait_ms = 0;
	switch (transport_bip_term_pump(gw->term, &wait_ms)) {
	case BIP_TERM_AGAIN:
		kick(gw);
		break;
	case BIP_TERM_WAIT: {
		struct timeval tv = tv_from_ms(wait_ms);
		evtimer_add(gw->retry, &tv);
		break;
	}
	case BIP_TERM_POLL:
		/* Armed once: traffic in between does not put the poll off. */
		if (!evtimer_pending(gw->poll, NULL)) {
			struct timeval tv = tv_from_ms(wait_ms);
			evtimer_add(gw->poll, &tv);
		}
		break;
	case BIP_TERM_IDLE:
		break;
	}
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	run_engine(arg);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bip_gw *gw = arg;
	transport_bip_term_poll(gw->term);
	run_engine(gw);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bip_gw *gw = arg;
	transport_bip_term_wake(gw->term);
	run_engine(gw);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct gw_conn *c = arg;
	if (c->st == CONN_LINGER) {
		struct evbuffer *in = bufferevent_get_input(bev);
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (c->st != CONN_BOUND)
		return;
	if (!c->t_unanswered && evbuffer_get_length(bufferevent_get_input(bev)))
		c->t_unanswered = transport_now_ms();
	move_rx(c);
	kick(c->gw);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct gw_conn *c = arg;
	if (c->st == CONN_LINGER) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			half_close(c);
		return;
	}
	if (c->st == CONN_BOUND) {
		transport_bip_term_tx_drained(c->gw->term, c->ch);
		kick(c->gw);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct gw_conn *c = arg;
	struct bip_gw *gw = c->gw;
	if (c->st != CONN_BOUND) {
		conn_free(c);
		return;
	}
	bool fin = (what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT));
	if (what & BEV_EVENT_TIMEOUT)
		log_info(SUB, "%s: idle for %u ms, dropped", c->peer, gw->idle_timeout_ms);
	else if (!fin)
		log_dbg(SUB, "%s: %s", c->peer,
			evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	if (fin && evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		c->fin_pending = true;
		bufferevent_disable(bev, EV_READ);
		kick(gw);
		return;
	}
	transport_bip_term_peer_closed(gw->term, c->ch, !fin);
	if (fin)
		linger_or_free(c);
	else
		conn_free(c);
	kick(gw);
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct gw_listener *l = arg;
	struct gw_port *p = l->port;
	struct bip_gw *gw = p->gw;
	struct gw_conn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev =
		c ? bufferevent_socket_new(gw->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
	if (!bev) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->gw = gw;
	c->bev = bev;
	transport_sock_peer(sa, c->peer, sizeof(c->peer));
	struct sockaddr_storage here;
	socklen_t here_len = sizeof(here);
	if (getsockname(fd, (struct sockaddr *)&here, &here_len) == 0)
		transport_sock_peer((struct sockaddr *)&here, c->local, sizeof(c->local));
	if (gw->admit &&
	    admit_enter(gw->admit, &c->admit, sa, &gw_admit_ops, c, transport_now_ms()) < 0) {
		log_dbg(SUB, "%s: refused (--max-clients-per-peer)", c->peer);
		transport_sock_bev_free(bev);
		free(c);
		return;
	}
	c->next = gw->conns;
	if (gw->conns)
		gw->conns->prev = c;
	gw->conns = c;
	gw->n_conns++;
	c->st = CONN_NEW;
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
	int rc = p->n_parked ? -EBUSY : transport_bip_term_accept(gw->term, p->card_port, c);
	if (rc > 0) {
		bind_conn(c, (unsigned)rc);
	} else if (rc == -EBUSY && p->n_parked < BIP_GW_PARKED_MAX) {
		park(p, c);
	} else {
		log_warn(SUB, "%s: no channel for card port %u: closed", c->peer, p->card_port);
		conn_free(c);
	}
	update_accepting(p);
	kick(gw);
}

static uint16_t mapped_port(const struct bip_gw *gw, uint16_t card_port)
{
	for (size_t i = 0; i < gw->n_map; i++)
		if (gw->map[i].card_port == card_port)
			return gw->map[i].host_port;
	return card_port;
}

static void rest_apply(void *arg)
{
	struct bip_gw *gw = arg;
	for (size_t i = 0; i < CAT_BIP_CHANNELS_MAX; i++)
		if (gw->ports[i].in_use)
			update_accepting(&gw->ports[i]);
}

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	(void)lev;
	struct gw_listener *l = arg;
	struct bip_gw *gw = l->port->gw;
	transport_accept_rest_start(&gw->rest, EVUTIL_SOCKET_ERROR(),
				    gw->admit ? admit_clients(gw->admit) : gw->n_conns);
}

static int open_listener(struct gw_port *p, const char *host, uint16_t port, char *err,
			 size_t errcap)
{
	evutil_socket_t fd;
	uint16_t bound;
	int rc = transport_sock_listen(host, port, TRANSPORT_SOCK_ERR_ADDR, &fd, &bound, err,
				       errcap);
	if (rc)
		return rc;
	struct gw_listener *l = &p->ls[p->n_ls];
	l->lev = evconnlistener_new(p->gw->base, accept_cb, l, LEV_OPT_CLOSE_ON_FREE,
				    TRANSPORT_SOCK_EV_LISTENING, fd);
	if (!l->lev) {
		evutil_closesocket(fd);
		snprintf(err, errcap, "evconnlistener_new failed");
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(l->lev, accept_error_cb);
	l->port = p;
	l->host_port = bound;
	snprintf(l->host, sizeof(l->host), "%s", host);
	p->n_ls++;
	return 0;
}

static void close_port(struct gw_port *p)
{
	while (p->parked) {
		struct gw_conn *c = p->parked;
		log_info(SUB, "%s: card port %u closed while it waited", c->peer, p->card_port);
		conn_free(c);
	}
	for (size_t i = 0; i < p->n_ls; i++)
		evconnlistener_free(p->ls[i].lev);
	memset(p->ls, 0, sizeof(p->ls));
	p->n_ls = 0;
	p->in_use = false;
	p->stale = false;
}

/* The engine's first channel on card_port: listeners on every address.
 * A default address that fails is skipped with a warning (no IPv6 here);
 * an address the user asked for fails the OPEN CHANNEL (3A 10). */
static int net_listen(void *arg, uint16_t card_port)
{
	struct bip_gw *gw = arg;
	struct gw_port *p = NULL;
	/* A restarted card opening a port again gets its old listeners:
	 * same host ports, and no client refused in between. */
	for (size_t i = 0; i < CAT_BIP_CHANNELS_MAX; i++) {
		p = &gw->ports[i];
		if (p->stale && p->card_port == card_port) {
			p->stale = false;
			p->in_use = true;
			p->accepting = false; /* disabled while stale */
			return 0;
		}
	}
	p = NULL;
	for (size_t i = 0; i < CAT_BIP_CHANNELS_MAX && !p; i++)
		if (!gw->ports[i].in_use && !gw->ports[i].stale)
			p = &gw->ports[i];
	for (size_t i = 0; i < CAT_BIP_CHANNELS_MAX && !p; i++) {
		if (gw->ports[i].stale) {
			p = &gw->ports[i];
			close_port(p);
		}
	}
	if (!p)
		return -ENOSPC;
	memset(p, 0, sizeof(*p));
	p->gw = gw;
	p->card_port = card_port;
	uint16_t host_port = mapped_port(gw, card_port), first = 0;
	for (size_t i = 0; i < gw->n_addrs; i++) {
		char err[256];
		/* Ephemeral: the same number on every address when it is free. */
		uint16_t want = host_port ? host_port : first;
		int rc = open_listener(p, gw->addrs[i].host, want, err, sizeof(err));
		if (rc && !host_port && want)
			rc = open_listener(p, gw->addrs[i].host, 0, err, sizeof(err));
		if (rc == -EADDRINUSE) {
			/* Fatal even on a default address: said once, by the caller. */
			if (!gw->in_use[0])
				snprintf(gw->in_use, sizeof(gw->in_use),
					 "%s: another process holds port %u (stop it, or give "
					 "--port-map %u=0 for an ephemeral port)",
					 err, want, card_port);
			close_port(p);
			return rc;
		}
		if (rc) {
			if (gw->addrs[i].is_default) {
				if (!gw->warned[i])
					log_warn(SUB,
						 "%s; skipping this default address (scwsemu "
						 "--check-setup says how to enable it)",
						 err);
				gw->warned[i] = true;
				continue;
			}
			log_err(SUB, "%s (card port %u)", err, card_port);
			close_port(p);
			return rc;
		}
		if (!first)
			first = p->ls[p->n_ls - 1].host_port;
		log_info(SUB, "card port %u: listening on %s%s%s:%u", card_port,
			 strchr(gw->addrs[i].host, ':') ? "[" : "", gw->addrs[i].host,
			 strchr(gw->addrs[i].host, ':') ? "]" : "", p->ls[p->n_ls - 1].host_port);
	}
	if (p->n_ls == 0)
		return -EADDRNOTAVAIL;
	p->in_use = true;
	p->accepting = true;
	update_accepting(p); /* resting after a failed accept() */
	return 0;
}

static void net_unlisten(void *arg, uint16_t card_port)
{
	struct bip_gw *gw = arg;
	struct gw_port *p = find_port(gw, card_port);
	if (!p)
		return;
	if (gw->restarting) {
		p->in_use = false;
		p->stale = true;
		p->accepting = false;
		for (size_t i = 0; i < p->n_ls; i++)
			evconnlistener_disable(p->ls[i].lev);
		return;
	}
	log_info(SUB, "card port %u: no channel left, listeners closed", card_port);
	close_port(p);
}

static void net_port_changed(void *arg, uint16_t card_port)
{
	kick(arg);
}

static ssize_t net_write(void *arg, void *conn, const uint8_t *p, size_t len)
{
	struct gw_conn *c = conn;
	if (!c || c->st != CONN_BOUND)
		return -EPIPE;
	struct bip_gw *gw = c->gw;
	if (len && gw->faults.drop && gw->faults.drop(gw->faults.arg, c->card_port)) {
		log_info(SUB, "%s: channel %u link dropped (fault)", c->peer, c->ch);
		c->dropped = true;
		return -ECONNRESET;
	}
	size_t have = evbuffer_get_length(bufferevent_get_output(c->bev));
	size_t room = have < BIP_GW_SOCK_OUT_MAX ? BIP_GW_SOCK_OUT_MAX - have : 0;
	size_t n = len < room ? len : room, sent = 0;

	/* Straight to the socket while nothing is queued (and no rate cap
	 * meters it): the write event, an epoll_ctl to add and one to remove,
	 * only when the socket cannot take it all. */
	if (n && !have && !c->rate) {
		ssize_t k = send(bufferevent_getfd(c->bev), p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0)
			sent = (size_t)k;
	}
	if (n > sent) {
		if (bufferevent_write(c->bev, p + sent, n - sent) != 0)
			return -ENOMEM;
		bufferevent_enable(c->bev, EV_WRITE);
	}
	if (n) {
		arm_idle(c);
		c->t_last_tx = transport_now_ms();
		c->t_unanswered = 0;
	}
	return (ssize_t)n;
}

static void net_want_read(void *arg, void *conn)
{
	kick(arg);
}

static void net_close(void *arg, void *conn)
{
	struct gw_conn *c = conn;
	if (c && c->st == CONN_BOUND && c->dropped) {
		conn_free(c);
	} else if (c && c->st == CONN_BOUND) {
		log_info(SUB, "%s: channel %u closed by the card", c->peer, c->ch);
		linger_or_free(c);
	}
}

static const struct bip_term_net_ops gw_net_ops = {
	.listen = net_listen,
	.unlisten = net_unlisten,
	.port_changed = net_port_changed,
	.write = net_write,
	.want_read = net_want_read,
	.close = net_close,
};

static bool numeric_addr(const char *host)
{
	uint8_t tmp[16];
	return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

void transport_bip_gw_poll(struct bip_gw *gw)
{
	transport_bip_term_poll(gw->term);
	kick(gw);
}

void transport_bip_gw_set_faults(struct bip_gw *gw, const struct bip_gw_fault_hooks *h)
{
	if (h)
		gw->faults = *h;
	else
		memset(&gw->faults, 0, sizeof(gw->faults));
	transport_bip_term_set_open_fault(gw->term, gw->faults.open_fail, gw->faults.arg);
}

struct bip_gw *transport_bip_gw_new(struct event_base *base, const struct card_link_ops *ops,
				    void *link_ctx, const struct bip_gw_config *cfg, char *err,
				    size_t errcap)
{
	static const struct bip_gw_config none;
	if (!cfg)
		cfg = &none;
	if (!base || !ops) {
		snprintf(err, errcap, "BIP gateway: no event base or card link");
		return NULL;
	}
	if (cfg->n_listen > BIP_GW_ADDRS_MAX || cfg->n_port_map > BIP_GW_PORT_MAP_MAX) {
		snprintf(err, errcap, "BIP gateway: at most %u listen addresses and %u port maps",
			 BIP_GW_ADDRS_MAX, BIP_GW_PORT_MAP_MAX);
		return NULL;
	}
	struct bip_gw *gw = calloc(1, sizeof(*gw));
	if (!gw) {
		snprintf(err, errcap, "BIP gateway: out of memory");
		return NULL;
	}
	gw->base = base;
	if (cfg->n_listen == 0) {
		snprintf(gw->addrs[0].host, sizeof(gw->addrs[0].host), "127.0.0.1");
		snprintf(gw->addrs[1].host, sizeof(gw->addrs[1].host), "::1");
		gw->addrs[0].is_default = gw->addrs[1].is_default = true;
		gw->n_addrs = 2;
	}
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (!memchr(cfg->listen[i].host, 0, sizeof(cfg->listen[i].host)) ||
		    !numeric_addr(cfg->listen[i].host)) {
			snprintf(err, errcap, "BIP gateway: %.*s: not a numeric address",
				 (int)sizeof(cfg->listen[i].host), cfg->listen[i].host);
			free(gw);
			return NULL;
		}
		gw->addrs[gw->n_addrs++] = cfg->listen[i];
	}
	if (cfg->n_port_map)
		memcpy(gw->map, cfg->port_map, cfg->n_port_map * sizeof(gw->map[0]));
	gw->n_map = cfg->n_port_map;
	gw->idle_timeout_ms = cfg->idle_timeout_ms;
	gw->admit = cfg->admit;
	gw->stalled_cb = cfg->stalled_since;
	gw->stalled_arg = cfg->stalled_arg;
	gw->link.ops = ops;
	gw->link.ctx = link_ctx;
	gw->link.trace = cfg->trace;
	gw->link.trace_arg = cfg->trace_arg;
	struct bip_term_config tc = { .channels = cfg->channels, .buffer_max = cfg->buffer_max };
	gw->term = transport_bip_term_new(&gw->link, &gw_net_ops, gw, &tc);
	gw->kick = event_new(base, -1, 0, kick_cb, gw);
	gw->retry = evtimer_new(base, retry_cb, gw);
	gw->poll = evtimer_new(base, poll_cb, gw);
	gw->evict = evtimer_new(base, evict_cb, gw);
	int rc = transport_accept_rest_init(&gw->rest, base, SUB, rest_apply, gw);
	if (!gw->term || !gw->kick || !gw->retry || !gw->poll || !gw->evict || rc) {
		snprintf(err, errcap,
			 "BIP gateway: bad channel count or buffer size, "
			 "or no memory");
		transport_bip_gw_free(gw);
		return NULL;
	}
	return gw;
}

void transport_bip_gw_free(struct bip_gw *gw)
{
	if (!gw)
		return;
	while (gw->conns)
		conn_free(gw->conns);
	for (size_t i = 0; i < CAT_BIP_CHANNELS_MAX; i++)
		if (gw->ports[i].in_use || gw->ports[i].stale || gw->ports[i].n_ls)
			close_port(&gw->ports[i]);
	if (gw->kick)
		event_free(gw->kick);
	if (gw->retry)
		event_free(gw->retry);
	if (gw->poll)
		event_free(gw->poll);
	if (gw->evict)
		event_free(gw->evict);
	transport_accept_rest_fini(&gw->rest);
	transport_bip_term_free(gw->term);
	free(gw);
}

int transport_bip_gw_start(struct bip_gw *gw, char *err, size_t errcap)
{
	enum bip_term_next next = BIP_TERM_IDLE;
	unsigned wait_ms = 0;
	int rc = transport_bip_term_start(gw->term, &next, &wait_ms, err, errcap);
	if (rc)
		return rc;
	if (next == BIP_TERM_WAIT) {
		struct timeval tv = tv_from_ms(wait_ms);
		evtimer_add(gw->retry, &tv);
	} else {
		kick(gw);
	}
	return 0;
}

void transport_bip_gw_stop(struct bip_gw *gw)
{
	if (!gw)
		return;
	evtimer_del(gw->retry);
	evtimer_del(gw->poll);
	transport_bip_term_reset(gw->term);
	for (size_t i = 0; i < CAT_BIP_CHANNELS_MAX; i++)
		if (gw->ports[i].in_use || gw->ports[i].stale)
			close_port(&gw->ports[i]);
}

int transport_bip_gw_restart(struct bip_gw *gw, char *err, size_t errcap)
{
	evtimer_del(gw->retry);
	evtimer_del(gw->poll);
	gw->restarting = true;
	transport_bip_term_reset(gw->term);
	gw->restarting = false;
	int rc = transport_bip_gw_start(gw, err, errcap);
	for (size_t i = 0; i < CAT_BIP_CHANNELS_MAX; i++) {
		struct gw_port *p = &gw->ports[i];
		if (p->stale) {
			log_info(SUB, "card port %u: not opened again, listeners closed",
				 p->card_port);
			close_port(p);
		}
	}
	return rc;
}

const char *transport_bip_gw_port_in_use(const struct bip_gw *gw)
{
	return gw && gw->in_use[0] ? gw->in_use : NULL;
}

size_t transport_bip_gw_endpoints(const struct bip_gw *gw, struct bip_gw_endpoint *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; gw && i < CAT_BIP_CHANNELS_MAX; i++) {
		const struct gw_port *p = &gw->ports[i];
		if (!p->in_use)
			continue;
		for (size_t j = 0; j < p->n_ls; j++, n++) {
			if (n >= cap)
				continue;
			struct bip_gw_endpoint *e = &out[n];
			e->transport = "bip";
			/* 4116 is IANA smartcard-tls; 3516 smartcard-port (plain). */
			e->scheme = p->card_port == 4116 || p->card_port == 443 ? "https" : "http";
			snprintf(e->host, sizeof(e->host), "%s", p->ls[j].host);
			e->port = p->ls[j].host_port;
			e->card_port = p->card_port;
		}
	}
	return n;
}

size_t transport_bip_gw_clients(const struct bip_gw *gw)
{
	return gw ? gw->n_conns : 0;
}

struct bip_term *transport_bip_gw_term(const struct bip_gw *gw)
{
	return gw ? gw->term : NULL;
}

bool transport_bip_gw_channel_client(const struct bip_gw *gw, unsigned ch, const char **peer,
				     const char **local)
{
	for (const struct gw_conn *c = gw ? gw->conns : NULL; c; c = c->next) {
		if (c->st != CONN_BOUND || c->ch != ch)
			continue;
		*peer = c->peer;
		*local = c->local[0] ? c->local : NULL;
		return true;
	}
	return false;
}
