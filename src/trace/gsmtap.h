/* gsmtap.h - GSMTAP v2 encapsulation of SIM APDU exchanges (libosmocore
 * gsmtap.h, GSMTAP_TYPE_SIM / GSMTAP_SIM_APDU; doc/protocol.md §7).
 *
 * Sans-I/O: these functions only write bytes into the caller's buffer. The
 * pcap writer (trace/pcap.h) and the live UDP sender (transport/gsmtap_udp.h)
 * both build their datagrams here, so a file and a live capture carry the
 * same bytes.
 *
 * One APDU exchange is one packet, the way SIMtrace and pySim write them:
 *   CLA INS P1 P2 P3 [command data] [response data] SW1 SW2
 * P3 is what T=0 would carry: 00 for case 1, Le for case 2, Lc for cases 3
 * and 4 (whose Le is dropped). Wireshark's gsm_sim dissector reads P3 bytes
 * of command data for cases 3/4 and takes the rest before SW1 SW2 as
 * response data, down to the CAT (etsi_cat) objects.
 *
 * Decisions where T=0 has no encoding (documented for readers of traces):
 * - extended APDUs: P3 is the low byte of Lc (cases 3/4) or Le (case 2),
 *   and every data byte follows. Header and SW decode; the data split is
 *   wrong in Wireshark, but nothing is lost.
 * - a C-APDU whose length fields do not parse (the card answered 67 00) or
 *   that is shorter than 4 bytes: the C-APDU bytes as sent, then the
 *   R-APDU. Wireshark may flag such a packet as malformed, which it is. */
#ifndef SCWS_TRACE_GSMTAP_H
#define SCWS_TRACE_GSMTAP_H

#include <stddef.h>
#include <stdint.h>

#define GSMTAP_VERSION 0x02
#define GSMTAP_HDR_LEN 16u /* hdr_len field: 4 (32-bit words) */
#define GSMTAP_TYPE_SIM 0x04
#define GSMTAP_SIM_APDU 0x00
#define GSMTAP_UDP_PORT 4729u /* IANA */

/* Writes the GSMTAP header and the APDU payload of one exchange into out.
 * capdu: the C-APDU as given to the card; rapdu: response data and SW1 SW2
 * (any length, 0 included). Returns 0 and *out_len; -EINVAL for NULL
 * arguments (a NULL pointer with length 0 is fine); -EMSGSIZE when the
 * packet would not fit cap or TRACE_GSMTAP_MAX (one IPv4 datagram). */
__attribute__((warn_unused_result)) int trace_gsmtap_encode_apdu(const uint8_t *capdu, size_t clen,
								 const uint8_t *rapdu, size_t rlen,
								 uint8_t *out, size_t cap,
								 size_t *out_len);

/* Wraps a GSMTAP packet in IPv4 (20 bytes, no options, DF, TTL 64, header
 * checksum computed) and UDP (checksum 0, which IPv4 allows), from
 * 127.0.0.1:4729 to 127.0.0.1:4729, for a pcap of LINKTYPE_IPV4. Returns 0
 * and *out_len, -EINVAL for NULL arguments, -EMSGSIZE when the datagram
 * would pass cap or TRACE_IPV4_MAX. */
__attribute__((warn_unused_result)) int trace_gsmtap_encode_ipv4(const uint8_t *gsmtap, size_t len,
								 uint8_t *out, size_t cap,
								 size_t *out_len);

/* Both of the above: the IPv4 datagram of one exchange. */
__attribute__((warn_unused_result)) int trace_gsmtap_encode_ipv4_apdu(const uint8_t *capdu,
								      size_t clen,
								      const uint8_t *rapdu,
								      size_t rlen, uint8_t *out,
								      size_t cap, size_t *out_len);

/* The Internet checksum (RFC 1071) of len bytes. */
uint16_t trace_gsmtap_ip_checksum(const uint8_t *p, size_t len);

#endif
