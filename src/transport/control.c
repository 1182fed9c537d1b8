/* control.c - the control socket (UNIX stream) on libevent. */
#include "transport/control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "lab/control.h"
#include "transport/sock.h"

#define SUB "control"

struct control_client {
	struct transport_control *c;
	struct bufferevent *bev;
	unsigned id;
	bool closing; /* flush the replies, then close */
	struct control_client *prev, *next;
};

struct transport_control {
	struct event_base *base;
	struct lab_control *lc;
	struct evconnlistener *lev;
	char *path;
	dev_t dev;
	ino_t ino;
	struct control_client *clients;
	size_t n_clients;
	unsigned next_id;
	bool paused;                       /* CONTROL_CLIENTS_MAX clients: further ones wait */
	struct transport_accept_rest rest; /* after a failed accept() */
};

static void apply_listening(struct transport_control *c)
{
	if (c->paused || c->rest.resting)
		evconnlistener_disable(c->lev);
	else
		evconnlistener_enable(c->lev);
}

static void client_free(struct control_client *cl)
{
	struct transport_control *c = cl->c;
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->n_clients--;
	if (cl->bev)
		bufferevent_free(cl->bev);
	log_dbg(SUB, "client %u gone", cl->id);
	free(cl);
	if (c->paused && c->n_clients < CONTROL_CLIENTS_MAX) {
		c->paused = false;
		apply_listening(c);
	}
}

static size_t out_len(const struct control_client *cl)
{
	return evbuffer_get_length(bufferevent_get_output(cl->bev));
}

/* Stops reading; the client is freed once its replies are out. Returns
 * false when cl was freed now. */
static bool close_after_flush(struct control_client *cl)
{
	cl->closing = true;
	bufferevent_disable(cl->bev, EV_READ);
	struct evbuffer *in = bufferevent_get_input(cl->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (out_len(cl) == 0) {
		client_free(cl);
		return false;
	}
	return true;
}

static int send_buf(struct control_client *cl, struct buf *b)
{
	int rc = b->len ? bufferevent_write(cl->bev, b->p, b->len) : 0;
	buf_reset(b);
	return rc;
}

/* Answers every complete line while the client reads its replies.
 * Returns false when cl was freed. */
static bool serve(struct control_client *cl)
{
	struct evbuffer *in = bufferevent_get_input(cl->bev);
	struct buf reply;
	buf_init(&reply, CONTROL_OUT_HIGH);
	bool alive = true;
	while (!cl->closing) {
		if (out_len(cl) >= CONTROL_OUT_HIGH) {
			bufferevent_disable(cl->bev, EV_READ);
			break;
		}
		size_t eol_len = 0;
		struct evbuffer_ptr pos = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		size_t have = evbuffer_get_length(in);
		if (pos.pos < 0 ? have > CONTROL_LINE_MAX : (size_t)pos.pos > CONTROL_LINE_MAX) {
			char msg[96];
			snprintf(msg, sizeof(msg), "request line over %u bytes: closing",
				 CONTROL_LINE_MAX);
			log_warn(SUB, "client %u: %s", cl->id, msg);
			if (lab_control_error_line(&reply, msg) != 0 || send_buf(cl, &reply) != 0) {
				client_free(cl);
				alive = false;
				break;
			}
			alive = close_after_flush(cl);
			break;
		}
		if (pos.pos < 0)
			break;
		size_t len = (size_t)pos.pos;
		const char *line = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
		int rc = line ? lab_control_line(cl->c->lc, line, len, &reply) : -ENOMEM;
		evbuffer_drain(in, len + eol_len);
		if (rc == 0)
			rc = send_buf(cl, &reply);
		if (rc != 0) {
			log_warn(SUB, "client %u: cannot answer (%s): closing", cl->id,
				 strerror(rc < 0 ? -rc : ENOMEM));
			client_free(cl);
			alive = false;
			break;
		}
	}
	buf_cleanup(&reply);
	if (alive && !cl->closing && out_len(cl) < CONTROL_OUT_HIGH)
		bufferevent_enable(cl->bev, EV_READ);
	return alive;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	serve(arg);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *cl = arg;
	if (out_len(cl) > 0)
		return;
	if (cl->closing) {
		client_free(cl);
		return;
	}
	(void)bev;
	serve(cl);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_client *cl = arg;
	(void)bev;
	if (what & BEV_EVENT_EOF) {
		/* Complete lines before the FIN are answered; a partial one is
		 * dropped with the client. */
		if (!cl->closing && !serve(cl))
			return;
		if (!cl->closing)
			close_after_flush(cl);
		return;
	}
	log_dbg(SUB, "client %u: %s", cl->id, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	client_free(cl);
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct transport_control *c = arg;
	(void)lev;
	(void)sa;
	(void)salen;
	struct control_client *cl = calloc(1, sizeof(*cl));
	if (!cl) {
		evutil_closesocket(fd);
		return;
	}
	cl->c = c;
	cl->id = ++c->next_id;
	cl->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	cl->next = c->clients;
	if (c->clients)
		c->clients->prev = cl;
	c->clients = cl;
	c->n_clients++;
	if (!cl->bev) {
		evutil_closesocket(fd);
		client_free(cl);
		return;
	}
	bufferevent_setcb(cl->bev, read_cb, write_cb, event_cb, cl);
	bufferevent_setwatermark(cl->bev, EV_WRITE, CONTROL_OUT_HIGH / 2, 0);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	log_dbg(SUB, "client %u connected", cl->id);
	if (c->n_clients >= CONTROL_CLIENTS_MAX) {
		log_warn(SUB, "%zu control clients: further ones wait", c->n_clients);
		c->paused = true;
		apply_listening(c);
	}
}

static void rest_apply(void *arg)
{
	apply_listening(arg);
}

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	(void)lev;
	struct transport_control *c = arg;
	transport_accept_rest_start(&c->rest, EVUTIL_SOCKET_ERROR(), c->n_clients);
}

/* What is at path: 0 nothing (or a stale socket, removed), else a
 * negative errno with the reason. */
static int clear_path(const char *path, const struct sockaddr_un *sun, char *err, size_t errcap)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		int e = errno;
		snprintf(err, errcap, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errcap,
			 "%s exists and is not a socket: give another path or remove it", path);
		return -EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errcap, "socket: %s", strerror(e));
		return -e;
	}
	int rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	int e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN) {
		snprintf(err, errcap,
			 "%s: another process listens on this control socket "
			 "(a scwsemu still running?): stop it or give another path",
			 path);
		return -EADDRINUSE;
	}
	if (e != ECONNREFUSED) {
		snprintf(err, errcap, "%s: %s", path, strerror(e));
		return -e;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		e = errno;
		snprintf(err, errcap, "%s: stale socket not removed: %s", path, strerror(e));
		return -e;
	}
	log_info(SUB, "%s: replaced the stale socket of a process that is gone", path);
	return 0;
}

int transport_control_new(struct event_base *base, const char *path, struct lab_control *lc,
			  struct transport_control **out, char *err, size_t errcap)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	*out = NULL;
	if (!path || !*path || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errcap, "%s: a UNIX socket path is 1 to %zu bytes", path ? path : "",
			 sizeof(sun.sun_path) - 1);
		return -EINVAL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	int rc = clear_path(path, &sun, err, errcap);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errcap, "socket: %s", strerror(-rc));
		return rc;
	}
	/* 0600 from the start (no window with a wider mode), then for sure. */
	mode_t old = umask(0177);
	int b = bind(fd, (const struct sockaddr *)&sun, sizeof(sun));
	int e = errno;
	umask(old);
	struct stat st;
	if (b != 0 || chmod(path, 0600) != 0 || lstat(path, &st) != 0 || listen(fd, 16) != 0) {
		rc = -(b != 0 ? e : errno);
		snprintf(err, errcap, "%s: %s", path, strerror(-rc));
		if (b == 0)
			unlink(path);
		close(fd);
		return rc;
	}
	struct transport_control *c = calloc(1, sizeof(*c));
	if (c)
		c->path = strdup(path);
	int rest_rc = c && c->path ? transport_accept_rest_init(&c->rest, base, SUB, rest_apply, c)
				   : -ENOMEM;
	if (!rest_rc)
		c->lev = evconnlistener_new(base, accept_cb, c, LEV_OPT_CLOSE_ON_FREE,
					    TRANSPORT_SOCK_EV_LISTENING, fd);
	if (rest_rc || !c->lev) {
		unlink(path);
		close(fd);
		if (c) {
			free(c->path);
			transport_accept_rest_fini(&c->rest);
		}
		free(c);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(c->lev, accept_error_cb);
	c->base = base;
	c->lc = lc;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	*out = c;
	return 0;
}

void transport_control_free(struct transport_control *c)
{
	if (!c)
		return;
	while (c->clients)
		client_free(c->clients);
	evconnlistener_free(c->lev);
	transport_accept_rest_fini(&c->rest);
	struct stat st;
	if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	free(c->path);
	free(c);
}

size_t transport_control_clients(const struct transport_control *c)
{
	return c ? c->n_clients : 0;
}

const char *transport_control_path(const struct transport_control *c)
{
	return c->path;
}
