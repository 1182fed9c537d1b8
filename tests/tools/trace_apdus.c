/* trace_apdus.c - writes APDU exchanges from a text list (exchanges.h) as a
 * pcap of GSMTAP SIM APDU packets, or sends them as live GSMTAP; for the
 * tshark integration test and for trying Wireshark by hand.
 *
 *   trace_apdus LIST.txt OUT.pcap          fixed time stamps (golden files)
 *   trace_apdus --gsmtap HOST[:PORT] LIST.txt */
#include <stdio.h>
#include <string.h>

#include "exchanges.h"
#include "trace/pcap.h"
#include "transport/gsmtap_udp.h"

static struct exchange ex[EXCHANGES_MAX];

static int live(const char *spec, const char *list)
{
	struct transport_gsmtap_udp *g = NULL;
	char err[256];
	int n = exchanges_load(list, ex, EXCHANGES_MAX);
	if (n < 0)
		return 1;
	if (transport_gsmtap_udp_open(spec, &g, err, sizeof(err)) != 0) {
		fprintf(stderr, "trace_apdus: %s\n", err);
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (transport_gsmtap_udp_send_apdu(g, ex[i].c, ex[i].clen, ex[i].r, ex[i].rlen))
			fprintf(stderr, "trace_apdus: exchange %d dropped\n", i + 1);
	printf("%lu datagrams sent to %s\n", transport_gsmtap_udp_sent(g),
	       transport_gsmtap_udp_peer(g));
	transport_gsmtap_udp_free(g);
	return 0;
}

int main(int argc, char **argv)
{
	struct trace_pcap *p = NULL;
	int n, rc;
	if (argc == 4 && strcmp(argv[1], "--gsmtap") == 0)
		return live(argv[2], argv[3]);
	if (argc != 3) {
		fprintf(stderr, "usage: trace_apdus LIST.txt OUT.pcap\n"
				"       trace_apdus --gsmtap HOST[:PORT] LIST.txt\n");
		return 2;
	}
	n = exchanges_load(argv[1], ex, EXCHANGES_MAX);
	if (n < 0)
		return 1;
	rc = trace_pcap_open(argv[2], &p);
	if (rc) {
		fprintf(stderr, "trace_apdus: %s: %s\n", argv[2], strerror(-rc));
		return 1;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		struct timeval tv = exchange_time((size_t)i);
		rc = trace_pcap_write_apdu(p, &tv, ex[i].c, ex[i].clen, ex[i].r, ex[i].rlen);
	}
	trace_pcap_free(p);
	if (rc) {
		fprintf(stderr, "trace_apdus: %s: %s\n", argv[2], strerror(-rc));
		return 1;
	}
	return 0;
}
