/* pcap.h - classic libpcap capture files of APDU exchanges (pcap-savefile(5);
 * doc/protocol.md §7.3): little-endian, version 2.4, LINKTYPE_IPV4 (228), each
 * record one GSMTAP SIM APDU packet in IPv4/UDP (trace/gsmtap.h).
 *
 * Every record reaches the kernel at once (one write(2) on a regular file
 * with room), so a crash or a kill leaves a file that Wireshark reads up to
 * the last exchange; a record the disk has no room for is cut off again, so
 * a full disk leaves the file ending on a whole record too. */
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
void trace_pcap_encode_record_header(uint8_t out[TRACE_PCAP_REC_HDR_LEN], const struct timeval *ts,
				     uint32_t len);

/* Creates or truncates path through file_open_private() (core/file.h: a
 * symbolic link is refused with -ELOOP, someone else's file with -EPERM,
 * anything but a regular file with -EINVAL; mode 0600 whatever the umask)
 * and writes the global header (LINKTYPE_IPV4). 0 and *out, or a negative
 * errno (from the open or the write). */
__attribute__((warn_unused_result)) int trace_pcap_open(const char *path, struct trace_pcap **out);

/* Same over an open stream with no buffered output: records are written to
 * its descriptor, after whatever the file already holds. The writer takes
 * ownership of f: trace_pcap_free closes it, and so does a failed call. */
__attribute__((warn_unused_result)) int trace_pcap_adopt(FILE *f, struct trace_pcap **out);

/* Closes the file. NULL is a no-op. */
void trace_pcap_free(struct trace_pcap *p);

/* Appends one record holding the len bytes of an IPv4 datagram, stamped ts
 * (NULL: the current time). 0, -EINVAL, -EMSGSIZE over TRACE_PCAP_SNAPLEN,
 * or the negative errno of a failed write. A failed write is sticky: what
 * of the record reached the file is cut off again (ftruncate), every later
 * write returns the same error and appends nothing. */
__attribute__((warn_unused_result)) int trace_pcap_write(struct trace_pcap *p,
							 const struct timeval *ts,
							 const uint8_t *pkt, size_t len);

/* Appends the record of one APDU exchange (see trace_gsmtap_encode_apdu for
 * capdu and rapdu). Same returns. Call it from anywhere, callbacks
 * included; it blocks only as long as a write to the file does. */
__attribute__((warn_unused_result)) int trace_pcap_write_apdu(struct trace_pcap *p,
							      const struct timeval *ts,
							      const uint8_t *capdu, size_t clen,
							      const uint8_t *rapdu, size_t rlen);

/* Records written since open. */
unsigned long trace_pcap_records(const struct trace_pcap *p);

#endif
