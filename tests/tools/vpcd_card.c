/* vpcd_card.c - a card profile attached to vsmartcard's vpcd (pcscd's
 * "Virtual PCD 00 00") through transport/vpcd.h, for measurements and manual
 * tests until the daemon's --vpcd is wired. Runs until SIGINT/SIGTERM, then
 * prints the counters.
 *
 *   vpcd_card [--card DIR] [--vpcd HOST[:PORT]] [--trace FILE.pcap]
 *             [--no-nodelay] [--no-quickack] [-v] */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "card/layout.h"
#include "config/profile.h"
#include "core/log.h"
#include "trace/pcap.h"
#include "transport/vpcd.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void on_apdu(void *arg, const uint8_t *c, size_t clen, const uint8_t *r, size_t rlen)
{
	if (trace_pcap_write_apdu(arg, NULL, c, clen, r, rlen) != 0)
		log_warn("trace", "cannot write the trace");
}

int main(int argc, char **argv)
{
	const char *dir = SCWS_ABS_SRCDIR "/cards/default", *spec = "127.0.0.1:35963";
	const char *trace_path = NULL;
	struct transport_vpcd_opts opts = { 0 };
	struct profile *p = NULL;
	struct profile_error perr;
	struct card_fs *fs = NULL;
	struct card *card = NULL;
	struct event_base *base = NULL;
	struct event *sigint = NULL, *sigterm = NULL;
	struct transport_vpcd *v = NULL;
	struct trace_pcap *tp = NULL;
	struct transport_vpcd_stats st;
	char msg[1024];
	int verbose = 0, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--card") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--vpcd") == 0 && i + 1 < argc)
			spec = argv[++i];
		else if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc)
			trace_path = argv[++i];
		else if (strcmp(argv[i], "--no-nodelay") == 0)
			opts.no_nodelay = true;
		else if (strcmp(argv[i], "--no-quickack") == 0)
			opts.no_quickack = true;
		else if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else {
			fprintf(stderr, "usage: vpcd_card [--card DIR] [--vpcd HOST[:PORT]]\n"
					"       [--trace FILE.pcap] [--no-nodelay] [--no-quickack] "
					"[-v]\n");
			return 2;
		}
	}
	log_setup(verbose ? LOG_DEBUG : LOG_INFO, false);
	signal(SIGPIPE, SIG_IGN);

	if (profile_load(dir, &p, &perr) != 0) {
		fprintf(stderr, "vpcd_card: %s\n", profile_error_str(&perr, msg, sizeof(msg)));
		return 2;
	}
	if (card_layout_build(&p->card, &fs, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "vpcd_card: %s: %s\n", p->conf_path, msg);
		goto out;
	}
	card = card_new(fs, p->card.atr, p->card.atr_len);
	base = event_base_new();
	if (!card || !base)
		goto out;
	if (trace_path && trace_pcap_open(trace_path, &tp) != 0) {
		fprintf(stderr, "vpcd_card: cannot write %s\n", trace_path);
		goto out;
	}
	v = transport_vpcd_new(base, card, spec, &opts, msg, sizeof(msg));
	if (!v) {
		fprintf(stderr, "vpcd_card: %s\n", msg);
		goto out;
	}
	if (tp)
		transport_vpcd_set_trace(v, on_apdu, tp);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	if (!sigint || !sigterm || event_add(sigint, NULL) || event_add(sigterm, NULL))
		goto out;
	transport_vpcd_start(v);
	event_base_dispatch(base);
	transport_vpcd_get_stats(v, &st);
	printf("vpcd_card: %lu connections, %lu APDUs, %lu controls, %lu protocol errors\n",
	       st.connects, st.apdus, st.controls, st.errors);
	rc = 0;
out:
	transport_vpcd_free(v);
	trace_pcap_free(tp);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (base)
		event_base_free(base);
	card_free(card);
	card_fs_free(fs);
	profile_free(p);
	return rc;
}
