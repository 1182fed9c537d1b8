/* gsmtap.c - GSMTAP v2 SIM APDU packets inside IPv4/UDP (doc/protocol.md §7,
 * libosmocore gsmtap.h, RFC 791, RFC 768). */
#include "trace/gsmtap.h"

#include <errno.h>
#include <string.h>

#include "card/apdu.h"
#include "core/bytes.h"
#include "core/limits.h"

uint16_t trace_gsmtap_ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;
	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)((p[i] << 8) | p[i + 1]);
	if (i < len)
		sum += (uint32_t)(p[i] << 8);
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The T=0 view of a C-APDU: header with P3, then the command data. */
static void put_command(struct wr *w, const uint8_t *capdu, size_t clen)
{
	struct card_apdu a;
	if (clen < 4 || card_apdu_parse(capdu, clen, &a) != 0) {
		wr_mem(w, capdu, clen);
		return;
	}
	wr_mem(w, capdu, 4);
	switch (a.apdu_case) {
	case 1:
		wr_u8(w, 0);
		break;
	case 2:
		/* Le 256 (short 00) or 65536 (extended 0000) gives 00. */
		wr_u8(w, (uint8_t)a.le);
		break;
	default:
		wr_u8(w, (uint8_t)a.lc);
		wr_mem(w, a.data, a.lc);
		break;
	}
}

int trace_gsmtap_encode_apdu(const uint8_t *capdu, size_t clen, const uint8_t *rapdu, size_t rlen,
			     uint8_t *out, size_t cap, size_t *out_len)
{
	/* version, hdr_len in words, type, timeslot; arfcn; signal, snr;
	 * frame number; sub_type, antenna, sub_slot, res. */
	static const uint8_t hdr[GSMTAP_HDR_LEN] = {
		GSMTAP_VERSION,
		GSMTAP_HDR_LEN / 4,
		GSMTAP_TYPE_SIM,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		GSMTAP_SIM_APDU,
		0,
		0,
		0,
	};
	struct wr w;
	if ((!capdu && clen) || (!rapdu && rlen) || !out || !out_len)
		return -EINVAL;
	wr_init(&w, out, cap < TRACE_GSMTAP_MAX ? cap : TRACE_GSMTAP_MAX);
	wr_mem(&w, hdr, sizeof(hdr));
	put_command(&w, capdu, clen);
	wr_mem(&w, rapdu, rlen);
	if (w.failed)
		return -EMSGSIZE;
	*out_len = w.len;
	return 0;
}

/* Writes the IPv4 and UDP headers in front of len payload bytes that are
 * already at out + TRACE_IPV4_UDP_HDR. */
static void put_ipv4_udp(uint8_t *out, size_t len)
{
	size_t total = TRACE_IPV4_UDP_HDR + len;
	size_t udp_len = 8 + len;
	struct wr w;
	wr_init(&w, out, TRACE_IPV4_UDP_HDR);
	wr_u8(&w, 0x45); /* version 4, IHL 5 */
	wr_u8(&w, 0);    /* DSCP/ECN */
	wr_u16be(&w, (uint16_t)total);
	wr_u16be(&w, 0); /* identification: DF set, never fragmented */
	wr_u16be(&w, 0x4000);
	wr_u8(&w, 64);        /* TTL */
	wr_u8(&w, 17);        /* UDP */
	wr_u16be(&w, 0);      /* checksum, below */
	wr_u16be(&w, 0x7F00); /* 127.0.0.1 */
	wr_u16be(&w, 0x0001);
	wr_u16be(&w, 0x7F00);
	wr_u16be(&w, 0x0001);
	wr_u16be(&w, GSMTAP_UDP_PORT);
	wr_u16be(&w, GSMTAP_UDP_PORT);
	wr_u16be(&w, (uint16_t)udp_len);
	wr_u16be(&w, 0); /* no UDP checksum (RFC 768) */
	uint16_t sum = trace_gsmtap_ip_checksum(out, 20);
	out[10] = (uint8_t)(sum >> 8);
	out[11] = (uint8_t)sum;
}

int trace_gsmtap_encode_ipv4(const uint8_t *gsmtap, size_t len, uint8_t *out, size_t cap,
			     size_t *out_len)
{
	if ((!gsmtap && len) || !out || !out_len)
		return -EINVAL;
	if (len > TRACE_GSMTAP_MAX || cap < TRACE_IPV4_UDP_HDR || len > cap - TRACE_IPV4_UDP_HDR)
		return -EMSGSIZE;
	if (len)
		memmove(out + TRACE_IPV4_UDP_HDR, gsmtap, len);
	put_ipv4_udp(out, len);
	*out_len = TRACE_IPV4_UDP_HDR + len;
	return 0;
}

int trace_gsmtap_encode_ipv4_apdu(const uint8_t *capdu, size_t clen, const uint8_t *rapdu,
				  size_t rlen, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t len = 0;
	if (!out || !out_len)
		return -EINVAL;
	if (cap < TRACE_IPV4_UDP_HDR)
		return -EMSGSIZE;
	int rc = trace_gsmtap_encode_apdu(capdu, clen, rapdu, rlen, out + TRACE_IPV4_UDP_HDR,
					  cap - TRACE_IPV4_UDP_HDR, &len);
	if (rc)
		return rc;
	put_ipv4_udp(out, len);
	*out_len = TRACE_IPV4_UDP_HDR + len;
	return 0;
}
