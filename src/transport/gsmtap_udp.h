/* gsmtap_udp.h - live GSMTAP: each APDU exchange as one UDP datagram (GSMTAP
 * header + APDU, trace/gsmtap.h) to HOST:PORT, as SIMtrace2 sends them
 * (doc/protocol.md §7.3); Wireshark listening on that interface decodes them.
 *
 * Fire and forget: the socket is non-blocking and unconnected, so a
 * datagram the kernel cannot take now is dropped and counted, and nobody
 * listening at the destination is not an error (no ICMP feedback). */
#ifndef SCWS_TRANSPORT_GSMTAP_UDP_H
#define SCWS_TRANSPORT_GSMTAP_UDP_H

#include <stddef.h>
#include <stdint.h>

struct transport_gsmtap_udp;

/* spec: "HOST" or "HOST:PORT"; HOST a name, an IPv4 literal, an IPv6 literal
 * in brackets ("[::1]:4729") or bare ("::1", then no port). The port
 * defaults to 4729. The name is resolved once, here. 0 and *out, or
 * -EINVAL (bad spec), -EHOSTUNREACH (no address), -ENOMEM or a socket
 * errno, with a one-line reason in err. */
__attribute__((warn_unused_result)) int transport_gsmtap_udp_open(const char *spec,
								  struct transport_gsmtap_udp **out,
								  char *err, size_t errcap);
void transport_gsmtap_udp_free(struct transport_gsmtap_udp *g);

/* Sends one exchange (see trace_gsmtap_encode_apdu). 0 when the kernel
 * took the datagram; otherwise a negative errno (-EAGAIN: buffer full) and
 * the datagram is counted as dropped. Never blocks; callable from any
 * callback. */
int transport_gsmtap_udp_send_apdu(struct transport_gsmtap_udp *g, const uint8_t *capdu,
				   size_t clen, const uint8_t *rapdu, size_t rlen);

/* The destination as text ("127.0.0.1:4729", "[::1]:4729"). */
const char *transport_gsmtap_udp_peer(const struct transport_gsmtap_udp *g);
unsigned long transport_gsmtap_udp_sent(const struct transport_gsmtap_udp *g);
unsigned long transport_gsmtap_udp_dropped(const struct transport_gsmtap_udp *g);

#endif
