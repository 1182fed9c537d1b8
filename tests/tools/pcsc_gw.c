/* pcsc_gw.c - the terminal-side BIP gateway over PC/SC (transport/link_pcsc.h in front of
 * transport/bip_gw.h), wired as `scwsemu --reader NAME` wires it: for the pcsc.sh test
 * and for measurements while the daemon's --reader is not there, and as an example of
 * the calls. Runs until SIGINT/SIGTERM.
 *
 *   pcsc_gw --reader NAME [--port-map CARD=HOST]... [--ready-file PATH] [-v]
 *
 * The ready file ({"pid": N, "endpoints": [...]}, as the daemon's) is written each time
 * the card comes in and its listeners are open, and removed when the card goes.
 * Exit: 2 for bad usage or a reader that does not exist (the readers are listed),
 * 1 for another start-up failure (pcscd not running), 0 after a signal. */
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "transport/bip_gw.h"
#include "transport/link_pcsc.h"

struct gw {
	struct event_base *base;
	struct bip_gw *gw;
	struct transport_link_pcsc *link;
	const char *ready;
	bool running; /* the gateway has been started and not stopped */
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void write_ready(const struct gw *g)
{
	struct bip_gw_endpoint ep[BIP_GW_ADDRS_MAX * 8];
	size_t n = transport_bip_gw_endpoints(g->gw, ep, sizeof(ep) / sizeof(ep[0]));
	char tmp[PATH_MAX];
	if (!g->ready)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", g->ready);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		log_err("main", "cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	fprintf(f, "{\"pid\": %ld, \"endpoints\": [", (long)getpid());
	for (size_t i = 0; i < n && i < sizeof(ep) / sizeof(ep[0]); i++) {
		bool v6 = strchr(ep[i].host, ':') != NULL;
		fprintf(f,
			"%s{\"transport\": \"bip\", \"scheme\": \"%s\", \"host\": \"%s\", "
			"\"port\": %u, \"card_port\": %u, "
			"\"url\": \"%s://%s%s%s:%u/OMA/DM/Bootstrap.xml\"}",
			i ? ", " : "", ep[i].scheme, ep[i].host, ep[i].port, ep[i].card_port,
			ep[i].scheme, v6 ? "[" : "", ep[i].host, v6 ? "]" : "", ep[i].port);
	}
	fputs("]}\n", f);
	if (fclose(f) != 0 || rename(tmp, g->ready) != 0)
		log_err("main", "cannot write %s: %s", g->ready, strerror(errno));
}

/* The watcher says what happened to the card; the gateway follows. */
static void on_card(void *arg, enum transport_pcsc_event ev, const uint8_t *atr, size_t n)
{
	struct gw *g = arg;
	char err[512] = "";
	int rc = 0;
	switch (ev) {
	case TRANSPORT_PCSC_CARD_IN:
		rc = transport_bip_gw_start(g->gw, err, sizeof(err));
		break;
	case TRANSPORT_PCSC_CARD_RESET:
		rc = g->running ? transport_bip_gw_restart(g->gw, err, sizeof(err))
				: transport_bip_gw_start(g->gw, err, sizeof(err));
		break;
	case TRANSPORT_PCSC_CARD_OUT:
		transport_bip_gw_stop(g->gw);
		g->running = false;
		if (g->ready)
			unlink(g->ready);
		return;
	case TRANSPORT_PCSC_NONE:
		return;
	}
	g->running = rc == 0;
	if (rc) {
		log_err("bip", "%s (%s)", err, transport_link_pcsc_last_error(g->link));
		return;
	}
	write_ready(g);
}

static int usage(void)
{
	fputs("usage: pcsc_gw --reader NAME [--port-map CARD=HOST]... [--ready-file PATH] [-v]\n",
	      stderr);
	return 2;
}

static bool parse_map(const char *s, struct bip_gw_port_map *m)
{
	char *end = NULL;
	unsigned long c = strtoul(s, &end, 10), h;
	if (end == s || *end != '=' || c == 0 || c > 65535)
		return false;
	s = end + 1;
	h = strtoul(s, &end, 10);
	if (end == s || *end != '\0' || h > 65535)
		return false;
	m->card_port = (uint16_t)c;
	m->host_port = (uint16_t)h;
	return true;
}

int main(int argc, char **argv)
{
	struct gw g = { 0 };
	struct bip_gw_port_map map[BIP_GW_PORT_MAP_MAX];
	size_t n_map = 0;
	const char *reader = NULL;
	bool verbose = false;
	struct event *sigint = NULL, *sigterm = NULL;
	struct transport_pcsc_watch *w = NULL;
	char err[1024];
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reader") == 0 && i + 1 < argc)
			reader = argv[++i];
		else if (strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc)
			g.ready = argv[++i];
		else if (strcmp(argv[i], "--port-map") == 0 && i + 1 < argc &&
			 n_map < BIP_GW_PORT_MAP_MAX && parse_map(argv[i + 1], &map[n_map]))
			n_map++, i++;
		else if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else
			return usage();
	}
	if (!reader)
		return usage();
	log_setup(verbose ? LOG_DEBUG : LOG_INFO, false);
	signal(SIGPIPE, SIG_IGN);

	int lrc = transport_link_pcsc_new(reader, &g.link, err, sizeof(err));
	if (lrc) {
		fprintf(stderr, "pcsc_gw: %s\n", err);
		return lrc == -ENODEV || lrc == -EINVAL ? 2 : 1;
	}
	g.base = event_base_new();
	if (!g.base)
		goto out;
	struct bip_gw_config cfg = { .port_map = map, .n_port_map = n_map };
	g.gw = transport_bip_gw_new(g.base, &transport_link_pcsc_ops, g.link, &cfg, err,
				    sizeof(err));
	if (!g.gw) {
		fprintf(stderr, "pcsc_gw: %s\n", err);
		rc = 2;
		goto out;
	}
	w = transport_pcsc_watch_new(g.base, g.link, NULL, on_card, &g);
	sigint = evsignal_new(g.base, SIGINT, on_signal, g.base);
	sigterm = evsignal_new(g.base, SIGTERM, on_signal, g.base);
	if (!w || !sigint || !sigterm || event_add(sigint, NULL) || event_add(sigterm, NULL))
		goto out;
	if (transport_pcsc_watch_start(w) != 0)
		goto out;
	if (!transport_link_pcsc_has_card(g.link))
		log_info("main", "waiting for a card in reader '%s'", reader);
	event_base_dispatch(g.base);
	rc = 0;
out:
	if (g.ready)
		unlink(g.ready);
	transport_pcsc_watch_free(w);
	transport_bip_gw_free(g.gw);
	transport_link_pcsc_free(g.link);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (g.base)
		event_base_free(g.base);
	return rc;
}
