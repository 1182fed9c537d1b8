/* pcap.h - classic libpcap capture files of APDU exchanges (pcap-savefile(5);
 * protocol.md §7.3): little-endian, version 2.4, LINKTYPE_IPV4 (228), each
 * record one GSMTAP SIM APDU packet in IPv4/UDP (trace/gsmtap.h).
 *
 * Every record is written with one fwrite() and flushed at once, so a crash
 * or a kill leaves a file that Wireshark reads up to the last exchange. */
#ifndef SCWS_TRACE_PCAP_H
#define SCWS_TRACE_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>

#define PCAP_LINKTYPE_IPV4 228u
#define TRACE_PCAP_HDR_LEN 24u
#define TRACE_PCAP_REC_HDR_LEN 16u

struct trace_pcap;

/* The 24-byte global header (magic a1b2c3d4 little-endian, 2.4, thiszone 0,
 * sigfigs 0, snaplen TRACE_PCAP_SNAPLEN, linktype). */
void trace_pcap_encode_header(uint8_t out[TRACE_PCAP_HDR_LEN], uint32_t linktype);

/* The 16-byte record header of a packet of len bytes (incl_len = orig_len). */
void trace_pcap_encode_record_header(uint8_t out[TRACE_PCAP_REC_HDR_LEN],
				     const struct timeval *ts, uint32_t len);

/* Creates or truncates path and writes the global header (LINKTYPE_IPV4).
 * 0 and *out, or a negative errno (from fopen or the write). */
__attribute__((warn_unused_result))
int trace_pcap_open(const char *path, struct trace_pcap **out);

/* Same over an open stream, positioned where the file starts and best
 * with no I/O done yet (its buffer is replaced). The writer takes
 * ownership of f: trace_pcap_free closes it, and so does a failed call. */
__attribute__((warn_unused_result))
int trace_pcap_adopt(FILE *f, struct trace_pcap **out);

/* Closes the file. NULL is a no-op. */
void trace_pcap_free(struct trace_pcap *p);

/* Appends one record holding the len bytes of an IPv4 datagram, stamped ts
 * (NULL: the current time). 0, -EINVAL, -EMSGSIZE over TRACE_PCAP_SNAPLEN,
 * or the negative errno of a failed write (EIO when stdio does not say).
 * A failed write is sticky: the file may end inside that record, so every
 * later write returns the same error and appends nothing. */
__attribute__((warn_unused_result))
int trace_pcap_write(struct trace_pcap *p, const struct timeval *ts, const uint8_t *pkt,
		     size_t len);

/* Appends the record of one APDU exchange (see trace_gsmtap_encode_apdu for
 * capdu and rapdu). Same returns. Call it from anywhere, callbacks
 * included; it blocks only as long as a write to the file does. */
__attribute__((warn_unused_result))
int trace_pcap_write_apdu(struct trace_pcap *p, const struct timeval *ts,
			  const uint8_t *capdu, size_t clen, const uint8_t *rapdu, size_t rlen);

/* Records written since open. */
unsigned long trace_pcap_records(const struct trace_pcap *p);

#endif
