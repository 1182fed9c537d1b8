/* tcpip.h - the SCWS over TCP/IP (ETSI TS 102 483 style: localuicc:443).
 *
 * libevent listeners; each accepted connection gets one scws_conn and a
 * bufferevent. Per-connection limits: an idle timeout (no byte either way),
 * the conn's deadlines (TLS handshake, request head, request, keep-alive:
 * scws/conn.h, on a timer of this transport's clock), bounded output
 * (reading pauses while the kernel does not take our bytes), and the
 * client limits of transport/admit.h (at --max-clients with nobody to
 * evict the listeners pause, so further clients wait in the backlog). */
#ifndef SCWS_TRANSPORT_TCPIP_H
#define SCWS_TRANSPORT_TCPIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scws/conn.h"

struct event_base;
struct scws_server;
struct tcpip_server;
struct admit;

struct tcpip_limits {
	unsigned idle_timeout_ms;
	struct scws_conn_deadlines deadlines;
	/* Shared with the other transports (borrowed); NULL: a private one
	 * with max_clients and max_clients_per_peer (0: the defaults). */
	struct admit *admit;
	unsigned max_clients;
	unsigned max_clients_per_peer;
};

/* srv and base are borrowed and must outlive the tcpip server. */
struct tcpip_server *transport_tcpip_new(struct event_base *base, struct scws_server *srv,
					 const struct tcpip_limits *lim);
/* The transport's name given to its connections ("tcpip" by default;
 * "server" for a Bootstrap Server). name is copied (15 bytes at most). */
void transport_tcpip_set_name(struct tcpip_server *t, const char *name);

/* Frees listeners and every open connection. */
void transport_tcpip_free(struct tcpip_server *t);

/* Listens on host (numeric) and port (0 = ephemeral); *bound gets the port.
 * 0, or a negative errno with a one-line reason in err. */
__attribute__((warn_unused_result)) int transport_tcpip_listen(struct tcpip_server *t,
							       const char *host, uint16_t port,
							       bool tls, uint16_t *bound, char *err,
							       size_t errcap);

/* The card is out (`card remove`): every listener closes (its address
 * and port are kept) and each open connection stops reading, sends what
 * it had answered and closes. No-op when suspended. */
void transport_tcpip_suspend(struct tcpip_server *t);
/* The card is back: listens again on the same addresses and ports. 0, or a
 * negative errno with a reason (the listeners that did open stay). */
__attribute__((warn_unused_result)) int transport_tcpip_resume(struct tcpip_server *t, char *err,
							       size_t errcap);
bool transport_tcpip_suspended(const struct tcpip_server *t);

/* Open connections right now (for tests and the shutdown log). */
size_t transport_tcpip_clients(const struct tcpip_server *t);

#endif
