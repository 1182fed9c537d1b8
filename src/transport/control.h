/* control.h - the control socket of the daemon (`--control PATH`): a UNIX
 * stream socket on libevent, as tcpip.c is for TCP; the protocol is
 * lab/control.h.
 *
 * - The socket file gets mode 0600 whatever the umask, and is removed when
 *   the server is freed (if it is still ours: same inode).
 * - A socket file left by a process that is gone (connect() refused) is
 *   replaced; one a live process answers on is an error (-EADDRINUSE), as
 *   is a path that exists and is not a socket (-EEXIST: never deleted).
 * - Each client sends request lines and gets one reply line per request,
 *   in order, any number per connection. A line longer than
 *   CONTROL_LINE_MAX gets an error reply and the client is dropped once the
 *   reply is out. A client that does not read its replies stops being read
 *   at CONTROL_OUT_HIGH. At most CONTROL_CLIENTS_MAX clients; more wait in
 *   the backlog.
 * - Requests are run from the event loop between other events, never from
 *   inside another transport's callback. */
#ifndef SCWS_TRANSPORT_CONTROL_H
#define SCWS_TRANSPORT_CONTROL_H

#include <stddef.h>

struct event_base;
struct lab_control;
struct transport_control;

/* Listens on path. base and lc are borrowed and must outlive the server.
 * 0 and *out, or a negative errno with a one-line reason in err: -EINVAL
 * path too long for a UNIX socket, -EADDRINUSE a live process listens
 * there, -EEXIST not a socket, another errno from socket/bind/listen. */
__attribute__((warn_unused_result)) int transport_control_new(struct event_base *base,
							      const char *path,
							      struct lab_control *lc,
							      struct transport_control **out,
							      char *err, size_t errcap);
/* Closes every client, the listener, and removes the socket file. NULL is
 * a no-op. */
void transport_control_free(struct transport_control *c);

/* Connected clients now. */
size_t transport_control_clients(const struct transport_control *c);
/* The path as given. */
const char *transport_control_path(const struct transport_control *c);

#endif
