/* pcap.c - classic libpcap file writer (pcap-savefile(5), protocol.md §7.3). */
#include "trace/pcap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "trace/gsmtap.h"

#define REC_MAX (TRACE_PCAP_REC_HDR_LEN + TRACE_PCAP_SNAPLEN)

struct trace_pcap {
	FILE *f;
	unsigned long records;
	int err; /* sticky: after a failed write the file ends mid-record */
	/* One record: header then packet, handed to a single fwrite(). */
	uint8_t rec[REC_MAX];
	/* The stream's buffer holds a whole record, so the fflush() after
	 * each fwrite() hands the kernel the record in one write(). */
	char iobuf[REC_MAX];
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
	put_u32le(out + 8, 0);	/* thiszone: UTC */
	put_u32le(out + 12, 0); /* sigfigs */
	put_u32le(out + 16, TRACE_PCAP_SNAPLEN);
	put_u32le(out + 20, linktype);
}

void trace_pcap_encode_record_header(uint8_t out[TRACE_PCAP_REC_HDR_LEN],
				     const struct timeval *ts, uint32_t len)
{
	put_u32le(out, (uint32_t)ts->tv_sec);
	put_u32le(out + 4, (uint32_t)ts->tv_usec);
	put_u32le(out + 8, len);
	put_u32le(out + 12, len);
}

static int write_flush(FILE *f, const void *p, size_t len)
{
	errno = 0;
	if (fwrite(p, 1, len, f) != len || fflush(f) != 0) {
		int e = errno ? errno : EIO;
		clearerr(f);
		return -e;
	}
	return 0;
}

int trace_pcap_adopt(FILE *f, struct trace_pcap **out)
{
	uint8_t hdr[TRACE_PCAP_HDR_LEN];
	struct trace_pcap *p;
	int rc;
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
	/* Fails only on a stream that has seen I/O: records may then reach
	 * the kernel in two writes, which a reader survives. */
	(void)setvbuf(f, p->iobuf, _IOFBF, sizeof(p->iobuf));
	trace_pcap_encode_header(hdr, PCAP_LINKTYPE_IPV4);
	rc = write_flush(f, hdr, sizeof(hdr));
	if (rc) {
		trace_pcap_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int trace_pcap_open(const char *path, struct trace_pcap **out)
{
	if (!path || !out)
		return -EINVAL;
	FILE *f = fopen(path, "wbe");
	if (!f)
		return errno ? -errno : -EIO;
	return trace_pcap_adopt(f, out);
}

void trace_pcap_free(struct trace_pcap *p)
{
	if (!p)
		return;
	if (p->f)
		fclose(p->f);
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
	p->err = write_flush(p->f, p->rec, TRACE_PCAP_REC_HDR_LEN + len);
	if (p->err == 0)
		p->records++;
	return p->err;
}

int trace_pcap_write(struct trace_pcap *p, const struct timeval *ts, const uint8_t *pkt,
		     size_t len)
{
	if (!p || (!pkt && len))
		return -EINVAL;
	if (len > TRACE_PCAP_SNAPLEN)
		return -EMSGSIZE;
	if (len)
		memcpy(p->rec + TRACE_PCAP_REC_HDR_LEN, pkt, len);
	return write_record(p, ts, len);
}

int trace_pcap_write_apdu(struct trace_pcap *p, const struct timeval *ts,
			  const uint8_t *capdu, size_t clen, const uint8_t *rapdu, size_t rlen)
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
