/* pcap.c - classic libpcap file writer (pcap-savefile(5), doc/protocol.md §7.3). */
#include "trace/pcap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/limits.h"
#include "trace/gsmtap.h"

#define REC_MAX (TRACE_PCAP_REC_HDR_LEN + TRACE_PCAP_SNAPLEN)

struct trace_pcap {
	FILE *f;    /* adopted stream (closed on free), or NULL */
	int fd;     /* records go here with write(2), never through stdio */
	off_t size; /* bytes of whole records (and the header) in the file */
	unsigned long records;
	int err; /* sticky: nothing is appended after a failed write */
	/* One record: header then packet, handed to the kernel at once. */
	uint8_t rec[REC_MAX];
};

static void put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void trace_pcap_encode_header(uint8_t out[TRACE_PCAP_HDR_LEN], uint32_t linktype)
{
	put_u32le(out, 0xA1B2C3D4u);
	out[4] = 2; /* version 2.4 */
	out[5] = 0;
	out[6] = 4;
	out[7] = 0;
	put_u32le(out + 8, 0);  /* thiszone: UTC */
	put_u32le(out + 12, 0); /* sigfigs */
	put_u32le(out + 16, TRACE_PCAP_SNAPLEN);
	put_u32le(out + 20, linktype);
}

void trace_pcap_encode_record_header(uint8_t out[TRACE_PCAP_REC_HDR_LEN], const struct timeval *ts,
				     uint32_t len)
{
	put_u32le(out, (uint32_t)ts->tv_sec);
	put_u32le(out + 4, (uint32_t)ts->tv_usec);
	put_u32le(out + 8, len);
	put_u32le(out + 12, len);
}

/* One record (or the global header) in one write(2) where the kernel takes
 * it whole, as it does for a regular file with room. A partial record (a
 * full disk, a file size limit) is cut off again with ftruncate(), so the
 * file always ends on a whole record and readers never see half of one. */
static int put(struct trace_pcap *p, const void *data, size_t len)
{
	int rc = file_write_all(p->fd, data, len);
	if (rc) {
		(void)ftruncate(p->fd, p->size); /* not a regular file: nothing to cut */
		return rc;
	}
	p->size += (off_t)len;
	return 0;
}

static int start(struct trace_pcap *p, struct trace_pcap **out)
{
	uint8_t hdr[TRACE_PCAP_HDR_LEN];
	off_t at = lseek(p->fd, 0, SEEK_END);
	p->size = at > 0 ? at : 0;
	trace_pcap_encode_header(hdr, PCAP_LINKTYPE_IPV4);
	int rc = put(p, hdr, sizeof(hdr));
	if (rc) {
		trace_pcap_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int trace_pcap_adopt(FILE *f, struct trace_pcap **out)
{
	struct trace_pcap *p;
	if (!f || !out) {
		if (f)
			fclose(f);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		fclose(f);
		return -ENOMEM;
	}
	p->f = f;
	p->fd = fileno(f);
	return start(p, out);
}

int trace_pcap_open(const char *path, struct trace_pcap **out)
{
	if (!path || !out)
		return -EINVAL;
	int fd = file_open_private(path, true, 0600);
	if (fd < 0)
		return fd;
	struct trace_pcap *p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->fd = fd;
	return start(p, out);
}

void trace_pcap_free(struct trace_pcap *p)
{
	if (!p)
		return;
	if (p->f)
		fclose(p->f);
	else
		close(p->fd);
	free(p);
}

static void stamp(const struct timeval *ts, struct timeval *now)
{
	struct timespec t;
	if (ts) {
		*now = *ts;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &t);
	now->tv_sec = t.tv_sec;
	now->tv_usec = (suseconds_t)(t.tv_nsec / 1000);
}

/* The packet is already at p->rec + TRACE_PCAP_REC_HDR_LEN. */
static int write_record(struct trace_pcap *p, const struct timeval *ts, size_t len)
{
	struct timeval now;
	if (p->err)
		return p->err;
	stamp(ts, &now);
	trace_pcap_encode_record_header(p->rec, &now, (uint32_t)len);
	p->err = put(p, p->rec, TRACE_PCAP_REC_HDR_LEN + len);
	if (p->err == 0)
		p->records++;
	return p->err;
}

int trace_pcap_write(struct trace_pcap *p, const struct timeval *ts, const uint8_t *pkt, size_t len)
{
	if (!p || (!pkt && len))
		return -EINVAL;
	if (len > TRACE_PCAP_SNAPLEN)
		return -EMSGSIZE;
	if (len)
		memcpy(p->rec + TRACE_PCAP_REC_HDR_LEN, pkt, len);
	return write_record(p, ts, len);
}

int trace_pcap_write_apdu(struct trace_pcap *p, const struct timeval *ts, const uint8_t *capdu,
			  size_t clen, const uint8_t *rapdu, size_t rlen)
{
	size_t len = 0;
	int rc;
	if (!p)
		return -EINVAL;
	rc = trace_gsmtap_encode_ipv4_apdu(capdu, clen, rapdu, rlen,
					   p->rec + TRACE_PCAP_REC_HDR_LEN,
					   sizeof(p->rec) - TRACE_PCAP_REC_HDR_LEN, &len);
	if (rc)
		return rc;
	return write_record(p, ts, len);
}

unsigned long trace_pcap_records(const struct trace_pcap *p)
{
	return p ? p->records : 0;
}
