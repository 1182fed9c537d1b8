/* unit.c - one card of the rack (daemon/daemon.h): its profile, its card
 * and proactive engine, its SCWS, its BIP side (in-process gateway, vpcd
 * or a PC/SC reader), its TCP/IP listeners, faults, journal and control
 * commands. */
#include "config.h"

#include "daemon/daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "card/bip.h"
#include "card/card.h"
#include "card/layout.h"
#include "codec/wbxml.h"
#include "config/paths.h"
#include "config/profile.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/log.h"
#include "core/timeval.h"
#include "lab/journal.h"
#include "scws/server.h"
#include "transport/bip_gw.h"
#include "transport/control.h"
#include "transport/link.h"
#include "transport/link_pcsc.h"
#include "transport/sock.h"
#include "transport/tcpip.h"
#include "transport/vpcd.h"

/* ---- profile */

int unit_load_into(struct unit *u, struct scws_server *srv, char *why, size_t whycap)
{
	struct profile *p = NULL;
	struct profile_error perr;
	char msg[1024], line[PATH_MAX + 1200];
	int rc = profile_load(u->card_dir, &p, &perr);
	if (rc) {
		snprintf(line, sizeof(line), "%s", profile_error_str(&perr, msg, sizeof(msg)));
		goto fail;
	}
	struct card_fs *fs = NULL;
	rc = card_layout_build(&p->card, &fs, msg, sizeof(msg));
	if (rc) {
		snprintf(line, sizeof(line), "%s: %s", p->conf_path, msg);
		profile_free(p);
		goto fail;
	}
	rc = scws_server_load(srv, p, fs, msg, sizeof(msg));
	if (rc) {
		snprintf(line, sizeof(line), "%s: %s", u->card_dir, msg);
		goto fail;
	}
	return 0;
fail:
	if (u->d->n_units > 1)
		log_err("card", "card %s: %s", u->name, line);
	else
		log_err("card", "%s", line);
	if (why)
		snprintf(why, whycap, "%s", line);
	return EXIT_USAGE;
}

int unit_load(struct unit *u, bool initial, char *why, size_t whycap)
{
	int rc = unit_load_into(u, u->srv, why, whycap);
	/* The Bootstrap Servers answer from the first card's profile. */
	for (size_t i = 0; u->index == 0 && i < u->d->n_bootsrv && !rc; i++)
		rc = unit_load_into(u, u->d->bootsrv[i].srv, why, whycap);
	if (rc)
		return rc;
	const struct profile *p = scws_server_profile(u->srv);
	log_info("card", "%s card '%s' from %s", initial ? "loaded" : "reloaded",
		 p && p->name ? p->name : u->name, u->card_dir);
	if (initial)
		config_ca_path(p ? p->tls.cert_file : NULL, u->ca_file, sizeof(u->ca_file));
	return 0;
}

/* ---- endpoints */

struct endpoint *unit_add_endpoint(struct unit *u, const char *transport, const char *scheme,
				   const char *host, uint16_t port, uint16_t card_port)
{
	if (u->n_endpoints >= ENDPOINTS_MAX)
		return NULL;
	struct endpoint *e = &u->endpoints[u->n_endpoints++];
	e->path = NULL;
	e->transport = transport;
	e->scheme = scheme;
	snprintf(e->host, sizeof(e->host), "%s", host);
	e->port = port;
	e->card_port = card_port;
	return e;
}

void endpoint_url(const struct endpoint *e, char *out, size_t cap)
{
	bool v6 = strchr(e->host, ':') != NULL;
	snprintf(out, cap, "%s://%s%s%s:%u%s", e->scheme, v6 ? "[" : "", e->host, v6 ? "]" : "",
		 e->port, e->path ? e->path : "/OMA/DM/Bootstrap.xml");
}

void unit_log_endpoints(const struct unit *u)
{
	for (size_t i = 0; i < u->n_endpoints; i++) {
		char url[256];
		endpoint_url(&u->endpoints[i], url, sizeof(url));
		if (u->d->n_units > 1)
			log_info("main", "card %s: serving %s (%s)", u->name, url,
				 u->endpoints[i].transport);
		else
			log_info("main", "serving %s (%s)", url, u->endpoints[i].transport);
	}
}

/* The card's own URLs (the emulated Bootstrap Server is not the card's). */
void unit_publish_urls(struct unit *u)
{
	char urls[ENDPOINTS_MAX][256];
	const char *list[ENDPOINTS_MAX];
	size_t n = 0;
	if (!u->srv)
		return;
	for (size_t i = 0; i < u->n_endpoints; i++) {
		if (strcmp(u->endpoints[i].transport, "server") == 0)
			continue;
		endpoint_url(&u->endpoints[i], urls[n], sizeof(urls[n]));
		list[n] = urls[n];
		n++;
	}
	if (scws_server_set_urls(u->srv, list, n) != 0)
		log_warn("main", "the index page lists no URL (%zu endpoints)", n);
}

int unit_host_port(const struct unit *u, uint16_t cp, size_t slot)
{
	const struct cli_options *o = &u->d->opt;
	int unnamed = -1;
	for (size_t i = 0; i < o->n_port_map; i++) {
		const struct cli_port_map *m = &o->port_map[i];
		if (m->card_port != cp)
			continue;
		if (strcmp(m->card, u->name) == 0)
			return m->host_port;
		if (!m->card[0])
			unnamed = m->host_port;
	}
	if (unnamed >= 0)
		return unnamed;
	if (o->port_base && slot < o->port_stride) {
		unsigned long p = o->port_base + u->index * o->port_stride + slot;
		return p <= 65535 ? (int)p : -1;
	}
	return -1;
}

/* The card's ports as a terminal will see them open: the profile's, or for
 * a card in a reader (no profile here) the ports of the shipped cards. */
static size_t card_ports(const struct unit *u, uint16_t *out, size_t cap)
{
	const struct profile *p = u->reader ? NULL : scws_server_profile(u->srv);
	size_t n = 0;
	if (p) {
		for (size_t i = 0; i < p->n_ports && n < cap; i++)
			out[n++] = p->ports[i].port;
		return n;
	}
	static const uint16_t shipped[] = { 4116, 3516 };
	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]) && n < cap; i++)
		out[n++] = shipped[i];
	return n;
}

/* ---- TCP/IP (localuicc) */

static int open_tcpip(struct unit *u)
{
	const struct cli_options *o = &u->d->opt;
	if (o->no_tcpip || !o->n_tcpip)
		return 0;
	uint16_t ports[PROFILE_PORTS_MAX];
	int mapped = unit_host_port(u, TCPIP_CARD_PORT, card_ports(u, ports, PROFILE_PORTS_MAX));
	struct tcpip_limits lim = {
		.idle_timeout_ms = o->idle_timeout_ms,
		.deadlines = daemon_deadlines(u->d),
		.admit = u->d->admit,
	};
	u->tcpip = transport_tcpip_new(u->d->base, u->srv, &lim);
	if (!u->tcpip)
		return 1;
	for (size_t i = 0; i < o->n_tcpip; i++) {
		const struct cli_addr *a = &o->tcpip[i];
		char err[256];
		uint16_t port, want = mapped >= 0 ? (uint16_t)mapped : a->port;
		if (mapped < 0 && u->index > 0 && a->port != 0) {
			/* A rack: one card per host port. */
			if (a->is_default) {
				if (i == 0)
					log_info("tcpip",
						 "card %s: no TCP/IP listener (port %u is the "
						 "first card's; give --port-map %s:443=PORT or "
						 "--port-base)",
						 u->name, a->port, u->name);
				continue;
			}
			log_err("tcpip",
				"card %s: --tcpip port %u is the first card's: give "
				"--port-map %s:443=PORT, --port-base N, or --tcpip ADDR:0",
				u->name, a->port, u->name);
			return EXIT_USAGE;
		}
		int rc = transport_tcpip_listen(u->tcpip, a->host, want, true, &port, err,
						sizeof(err));
		if (rc == -EADDRINUSE) {
			bool v6 = strchr(a->host, ':') != NULL;
			if (mapped >= 0)
				log_err("tcpip",
					"card %s: %s: another process holds port %u (stop it, "
					"or map it elsewhere: --port-map %s:443=0)",
					u->name, err, want, u->name);
			else
				log_err("tcpip",
					"%s: another process holds port %u (stop it, or give "
					"--tcpip %s%s%s:0 for an ephemeral port)",
					err, want, v6 ? "[" : "", a->host, v6 ? "]" : "");
			return 1;
		}
		if (rc) {
			if (a->is_default) {
				log_warn("tcpip",
					 "%s; skipping this default address (scwsemu "
					 "--check-setup says how to enable it, or give --tcpip "
					 "127.0.0.1:0)",
					 err);
				continue;
			}
			log_err("tcpip", "%s", err);
			return 1;
		}
		unit_add_endpoint(u, "tcpip", "https", a->host, port, TCPIP_CARD_PORT);
	}
	return 0;
}

/* ---- fault injection: each layer's hook asks the registry */

static const struct lab_fault *fire_at(struct unit *u, enum lab_fault_target target,
				       enum lab_fault_kind kind, uint16_t port, uint8_t ins)
{
	struct lab_fault_event ev = { target, port, ins };
	const struct lab_fault *f = lab_faults_fire(u->faults, kind, &ev);
	if (f) {
		char id[16], left[16], p[8];
		snprintf(id, sizeof(id), "%u", f->id);
		snprintf(left, sizeof(left), "%u", f->left);
		snprintf(p, sizeof(p), "%u", port);
		struct log_kv kv[] = {
			{ "id", id, true },
			{ "kind", lab_fault_kind_name(f->kind), false },
			{ "args", f->args[0] ? f->args : NULL, false },
			{ "port", port ? p : NULL, true },
			{ "left", f->count ? left : NULL, true },
			{ "card", u->d->n_units > 1 ? u->name : NULL, false },
		};
		log_kv(LOG_INFO, "fault", "fault fired", kv, sizeof(kv) / sizeof(kv[0]));
	}
	return f;
}

/* The card's own facts (APDUs, channels). */
static const struct lab_fault *fire(struct unit *u, enum lab_fault_kind kind, uint16_t port,
				    uint8_t ins)
{
	return fire_at(u, LAB_TARGET_CARD, kind, port, ins);
}

static void fault_response(void *arg, const char *transport, uint16_t port,
			   struct scws_fault_response *out)
{
	const struct fault_side *side = arg;
	struct unit *u = side->u;
	const struct lab_fault *f;
	(void)transport;
	if ((f = fire_at(u, side->target, LAB_FAULT_HTTP_STATUS, port, 0)))
		out->status = (int)f->value;
	if ((f = fire_at(u, side->target, LAB_FAULT_HTTP_BODY, port, 0)))
		out->body = f->body == LAB_BODY_WRONG_TYPE ? SCWS_FAULT_BODY_WRONG_TYPE
							   : SCWS_FAULT_BODY_WBXML_GARBAGE;
	if ((f = fire_at(u, side->target, LAB_FAULT_HTTP_TRUNCATE, port, 0))) {
		out->truncate = true;
		out->truncate_len = f->value;
	}
	if ((f = fire_at(u, side->target, LAB_FAULT_HTTP_DELAY, port, 0)))
		out->delay_ms = f->value;
	if ((f = fire_at(u, side->target, LAB_FAULT_HTTP_DRIP, port, 0)))
		out->drip_bps = f->value;
}

static void fault_handshake(void *arg, const char *transport, uint16_t port,
			    struct scws_fault_handshake *out)
{
	const struct fault_side *side = arg;
	struct unit *u = side->u;
	const struct lab_fault *f;
	(void)transport;
	if ((f = fire_at(u, side->target, LAB_FAULT_TLS_ALERT, port, 0))) {
		out->kind = SCWS_FAULT_TLS_ALERT;
	} else if ((f = fire_at(u, side->target, LAB_FAULT_TLS_CERT, port, 0))) {
		static const enum scws_fault_cert certs[LAB_CERT_VARIANTS] = {
			[LAB_CERT_WRONG_NAME] = SCWS_FAULT_CERT_WRONG_NAME,
			[LAB_CERT_EXPIRED] = SCWS_FAULT_CERT_EXPIRED,
			[LAB_CERT_UNTRUSTED] = SCWS_FAULT_CERT_UNTRUSTED,
			[LAB_CERT_SELF_SIGNED] = SCWS_FAULT_CERT_SELF_SIGNED,
		};
		out->kind = SCWS_FAULT_TLS_CERT;
		out->cert = certs[f->cert];
	}
}

/* arg: the card's fault_side (the terminal's card and the SCWS's own). */
static bool fault_apdu_sw(void *arg, uint8_t ins, uint16_t *sw)
{
	const struct fault_side *side = arg;
	const struct lab_fault *f = fire(side->u, LAB_FAULT_APDU_SW, 0, ins);
	if (f)
		*sw = f->sw;
	return f != NULL;
}

static unsigned fault_apdu_delay(void *arg, const uint8_t *capdu, size_t clen)
{
	const struct lab_fault *f = clen >= 2 ? fire(arg, LAB_FAULT_APDU_DELAY, 0, capdu[1]) : NULL;
	return f ? f->value : 0;
}

static unsigned fault_bip_rate(void *arg, uint16_t card_port)
{
	const struct lab_fault *f = fire(arg, LAB_FAULT_BIP_RATE, card_port, 0);
	return f ? f->value : 0;
}

static bool fault_bip_drop(void *arg, uint16_t card_port)
{
	return fire(arg, LAB_FAULT_BIP_DROP, card_port, 0) != NULL;
}

static bool fault_bip_open(void *arg, uint16_t card_port, uint8_t *result, size_t *len)
{
	const struct lab_fault *f = fire(arg, LAB_FAULT_BIP_OPEN_FAIL, card_port, 0);
	if (!f)
		return false;
	memcpy(result, f->result, f->result_len);
	*len = f->result_len;
	return true;
}

/* ---- the card as terminals see it, and its BIP side */

/* The gateway asks the in-process card which client waits on whom. */
static uint64_t gw_stalled_since(void *arg, unsigned channel)
{
	struct unit *u = arg;
	return card_bip_channel_stalled_since(u->bip, channel);
}

/* The emulated UICC as terminals see it, with its proactive engine: its
 * BIP channels carry SCWS connections. */
static int setup_card(struct unit *u)
{
	const struct profile *p = scws_server_profile(u->srv);
	char err[512];
	if (card_layout_build(&p->card, &u->card_fs, err, sizeof(err)) != 0) {
		log_err("card", "%s: %s", p->conf_path, err);
		return EXIT_USAGE;
	}
	u->card = card_new(u->card_fs, p->card.atr, p->card.atr_len);
	if (!u->card) {
		log_err("card", "cannot power the card");
		return 1;
	}
	card_set_sw_fault(u->card, fault_apdu_sw, &u->side_card);
	if (card_configure(u->card, &p->card.opts) != 0) {
		log_err("card", "%s: the card's options do not apply", p->conf_path);
		return EXIT_USAGE;
	}
	if (p->n_ports == 0) {
		log_warn("bip", "the card opens no SCWS port: no BIP channel");
		return 0;
	}
	struct card_bip_port ports[PROFILE_PORTS_MAX];
	for (size_t i = 0; i < p->n_ports; i++) {
		ports[i].port = p->ports[i].port;
		ports[i].channels = p->ports[i].channels;
	}
	u->sink = (struct bip_sink_ctx){
		.base = u->d->base,
		.srv = u->srv,
		.deadlines = daemon_deadlines(u->d),
	};
	struct card_bip_config bcfg = {
		.ports = ports,
		.n_ports = p->n_ports,
		.sink = &transport_bip_sink_ops,
		.sink_arg = &u->sink,
		.open_retry = p->open_retry,
	};
	u->bip = card_bip_new(&bcfg);
	if (!u->bip) {
		log_err("bip", "cannot set up the card's BIP channels");
		return 1;
	}
	card_bip_attach(u->bip, u->card);
	return 0;
}

static void add_bip_endpoints(struct unit *u)
{
	struct bip_gw_endpoint eps[ENDPOINTS_MAX];
	size_t n = transport_bip_gw_endpoints(u->gw, eps, ENDPOINTS_MAX);
	if (n > ENDPOINTS_MAX)
		n = ENDPOINTS_MAX;
	for (size_t i = 0; i < n; i++)
		unit_add_endpoint(u, "bip", eps[i].scheme, eps[i].host, eps[i].port,
				  eps[i].card_port);
}

/* This card's --port-map entries and --port-base rule as the gateway's
 * map: the number of entries, or -1 after saying why (a second card whose
 * port no rule moves would share the first card's). */
static int gateway_map(const struct unit *u, struct bip_gw_port_map *map, size_t cap)
{
	uint16_t ports[PROFILE_PORTS_MAX];
	size_t n_ports = card_ports(u, ports, PROFILE_PORTS_MAX), n = 0;
	for (size_t j = 0; j < n_ports && n < cap; j++) {
		int hp = unit_host_port(u, ports[j], j);
		if (hp < 0 && u->index > 0) {
			log_err("bip",
				"card %s: card port %u listens on host port %u for the first "
				"card: give --port-map %s:%u=PORT (0: ephemeral) or --port-base N",
				u->name, ports[j], ports[j], u->name, ports[j]);
			return -1;
		}
		if (hp >= 0)
			map[n++] = (struct bip_gw_port_map){ ports[j], (uint16_t)hp };
	}
	/* Unnamed or this card's entries for ports the card may open later. */
	const struct cli_options *o = &u->d->opt;
	for (size_t i = 0; i < o->n_port_map && n < cap; i++) {
		const struct cli_port_map *m = &o->port_map[i];
		bool have = false;
		for (size_t k = 0; k < n && !have; k++)
			have = map[k].card_port == m->card_port;
		if (!have && (!m->card[0] || strcmp(m->card, u->name) == 0))
			map[n++] = (struct bip_gw_port_map){ m->card_port, m->host_port };
	}
	return (int)n;
}

/* The terminal-side gateway in front of the card, over an APDU link. */
static int open_gateway(struct unit *u)
{
	const struct cli_options *o = &u->d->opt;
	char err[512];
	struct bip_gw_addr listen[CLI_ADDRS_MAX];
	struct bip_gw_port_map map[BIP_GW_PORT_MAP_MAX];
	for (size_t i = 0; i < o->n_bip_listen; i++) {
		snprintf(listen[i].host, sizeof(listen[i].host), "%s", o->bip_listen[i].host);
		listen[i].is_default = false;
	}
	int n_map = gateway_map(u, map, BIP_GW_PORT_MAP_MAX);
	if (n_map < 0)
		return EXIT_USAGE;
	struct bip_gw_config gcfg = {
		.listen = listen,
		.n_listen = o->n_bip_listen,
		.port_map = map,
		.n_port_map = (size_t)n_map,
		.idle_timeout_ms = o->idle_timeout_ms,
		.admit = u->d->admit,
		.stalled_since = u->bip && !u->watch ? gw_stalled_since : NULL,
		.stalled_arg = u,
		.trace = daemon_tracing(u->d) ? daemon_trace_apdu : NULL,
		.trace_arg = u->d,
	};
	u->gw = transport_bip_gw_new(u->d->base, u->link_ops, u->link_ctx, &gcfg, err, sizeof(err));
	if (!u->gw) {
		log_err("bip", "%s", err);
		return 1;
	}
	u->sink.gw = u->watch ? NULL : u->gw;
	struct bip_gw_fault_hooks fh = {
		.rate = fault_bip_rate,
		.drop = fault_bip_drop,
		.open_fail = fault_bip_open,
		.arg = u,
	};
	transport_bip_gw_set_faults(u->gw, &fh);
	if (u->watch)
		return 0; /* over PC/SC, the card's arrival starts the session */
	if (transport_bip_gw_start(u->gw, err, sizeof(err)) != 0) {
		log_err("bip", "%s", err);
		return 1;
	}
	u->gw_started = true;
	if (transport_bip_gw_port_in_use(u->gw)) {
		log_err("bip", "%s", transport_bip_gw_port_in_use(u->gw));
		return 1;
	}
	const char *why = u->bip ? card_bip_reason(u->bip) : NULL;
	if (why && *why)
		log_warn("bip", "%s", why);
	add_bip_endpoints(u);
	/* The ready file promises every port the card asked for. */
	const struct profile *p = scws_server_profile(u->srv);
	for (size_t i = 0; p && i < p->n_ports; i++) {
		bool found = false;
		for (size_t j = 0; j < u->n_endpoints && !found; j++)
			found = u->endpoints[j].card_port == p->ports[i].port;
		if (!found) {
			log_err("bip", "card port %u: no listener could be opened (see above)",
				p->ports[i].port);
			return 1;
		}
	}
	return 0;
}

/* --reader: the card in a PC/SC reader came, was reset, or went. */
static void on_pcsc_card(void *arg, enum transport_pcsc_event ev, const uint8_t *atr,
			 size_t atr_len)
{
	struct unit *u = arg;
	char err[512];
	(void)atr;
	(void)atr_len;
	if (ev == TRANSPORT_PCSC_CARD_OUT) {
		log_warn("pcsc", "card removed from '%s': BIP listeners closed", u->reader);
		transport_bip_gw_stop(u->gw);
		u->n_endpoints = 0;
		if (u->d->running)
			daemon_endpoints_changed(u->d);
		return;
	}
	int rc = u->gw_started ? transport_bip_gw_restart(u->gw, err, sizeof(err))
			       : transport_bip_gw_start(u->gw, err, sizeof(err));
	if (rc) {
		log_err("pcsc", "card in '%s': %s", u->reader, err);
		return;
	}
	u->gw_started = true;
	if (transport_bip_gw_port_in_use(u->gw)) {
		log_err("bip", "%s", transport_bip_gw_port_in_use(u->gw));
		u->d->exit_rc = 1;
		event_base_loopexit(u->d->base, NULL);
		return;
	}
	log_info("pcsc", "card %s in '%s': proactive session started",
		 ev == TRANSPORT_PCSC_CARD_RESET ? "reset" : "inserted", u->reader);
	u->n_endpoints = 0;
	add_bip_endpoints(u);
	if (!u->d->running)
		return; /* main() logs the URLs and writes the ready file */
	unit_log_endpoints(u);
	unit_publish_urls(u);
	daemon_endpoints_changed(u->d);
}

/* --reader: the gateway alone, driving the card in a PC/SC reader. */
static int open_reader(struct unit *u)
{
	char err[512];
	struct transport_link_pcsc *l = NULL;
	int rc = transport_link_pcsc_new(u->reader, &l, err, sizeof(err));
	if (rc) {
		log_err("pcsc", "%s", err);
		return rc == -ENODEV || rc == -EINVAL ? EXIT_USAGE : 1;
	}
	u->link_ops = &transport_link_pcsc_ops;
	u->link_ctx = l;
	u->watch = transport_pcsc_watch_new(u->d->base, l, NULL, on_pcsc_card, u);
	if (!u->watch)
		return 1;
	if ((rc = open_gateway(u)) != 0)
		return rc;
	if (transport_pcsc_watch_start(u->watch) != 0)
		return 1;
	if (!u->gw_started)
		log_info("pcsc", "waiting for a card in '%s'", u->reader);
	return 0;
}

static int open_bip(struct unit *u)
{
	const struct cli_options *o = &u->d->opt;
	int rc;
	if (o->vpcd) {
		/* The card alone, on vsmartcard's vpcd: pcscd and its clients
		 * (or a gateway with --reader) are the terminal. */
		char err[256];
		if ((rc = setup_card(u)) != 0)
			return rc;
		u->vpcd =
			transport_vpcd_new(u->d->base, u->card, u->vpcd_at, NULL, err, sizeof(err));
		if (!u->vpcd) {
			log_err("vpcd", "--vpcd %s: %s", u->vpcd_at, err);
			return EXIT_USAGE;
		}
		if (daemon_tracing(u->d))
			transport_vpcd_set_trace(u->vpcd, daemon_trace_apdu, u->d);
		transport_vpcd_set_delay(u->vpcd, fault_apdu_delay, u);
		transport_vpcd_start(u->vpcd);
		return 0;
	}
	if (o->no_bip)
		return 0;
	if ((rc = setup_card(u)) != 0)
		return rc;
	if (!u->bip)
		return 0;
	u->link_ops = &transport_link_emu_ops;
	u->link_ctx = transport_link_emu_new(u->card);
	if (!u->link_ctx)
		return 1;
	return open_gateway(u);
}

int unit_open(struct unit *u)
{
	int rc = u->reader ? open_reader(u) : open_bip(u);
	return rc ? rc : open_tcpip(u);
}

bool unit_serving(const struct unit *u)
{
	return u->n_endpoints || u->vpcd || (u->watch && !u->gw_started);
}

void unit_close(struct unit *u)
{
	transport_tcpip_free(u->tcpip);
	u->tcpip = NULL;
	transport_pcsc_watch_free(u->watch);
	transport_vpcd_free(u->vpcd);
	transport_bip_gw_free(u->gw);
	if (u->link_ctx)
		u->link_ops->free(u->link_ctx);
	card_free(u->card); /* detaches the proactive engine first */
	card_bip_free(u->bip);
	card_fs_free(u->card_fs);
	u->watch = NULL;
	u->vpcd = NULL;
	u->gw = NULL;
	u->link_ctx = NULL;
	u->card = NULL;
	u->bip = NULL;
	u->card_fs = NULL;
}

void unit_reload(struct unit *u)
{
	if (u->reader) {
		log_info("main", "SIGHUP: the gateway alone has no card profile to reload");
		return;
	}
	/* The card's BIP ports and channels were opened at start-up, by the
	 * card as terminals saw it then: only a restart changes them. */
	struct profile_port before[PROFILE_PORTS_MAX];
	const struct profile *p = scws_server_profile(u->srv);
	size_t n_before = p ? p->n_ports : 0;
	if (n_before)
		memcpy(before, p->ports, n_before * sizeof(before[0]));
	if (unit_load(u, false, NULL, 0) != 0) {
		if (u->d->n_units > 1)
			log_warn("main",
				 "card %s: reload failed; still serving its previous profile",
				 u->name);
		else
			log_warn("main", "reload failed; still serving the previous card");
		return;
	}
	p = scws_server_profile(u->srv);
	bool same = p && p->n_ports == n_before;
	for (size_t i = 0; same && i < n_before; i++)
		same = before[i].port == p->ports[i].port &&
		       before[i].channels == p->ports[i].channels &&
		       before[i].tls == p->ports[i].tls;
	if (!same && !u->d->opt.no_bip)
		log_warn("main", "SIGHUP: the card's ports or channel counts changed; they wait "
				 "for a restart (the BIP listeners keep the old ones)");
}

/* The BIP entries of the endpoint list again (after the card came back),
 * the TCP/IP ones kept; the ready file follows. */
static void refresh_endpoints(struct unit *u)
{
	struct endpoint keep[ENDPOINTS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < u->n_endpoints; i++)
		if (strcmp(u->endpoints[i].transport, "bip"))
			keep[n++] = u->endpoints[i];
	u->n_endpoints = 0;
	if (u->gw && u->gw_started && !u->card_out)
		add_bip_endpoints(u);
	for (size_t i = 0; i < n && u->n_endpoints < ENDPOINTS_MAX; i++)
		u->endpoints[u->n_endpoints++] = keep[i];
	if (!u->card_out)
		unit_log_endpoints(u);
	unit_publish_urls(u);
	daemon_endpoints_changed(u->d);
}

/* ---- documents (`bootstrap set`, --bootstrap-server-doc) */

int doc_read(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	uint8_t tmp[4096];
	size_t n;
	int rc = 0;
	if (!f)
		return -errno;
	while (!rc && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		rc = buf_append(out, tmp, n);
	if (!rc && ferror(f))
		rc = -EIO;
	fclose(f);
	return rc;
}

/* ---- the control socket's commands for this card (lab/control.h) */

/* v into o under key; v is consumed whatever happens. 0 or -ENOMEM. */
static int put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

static const char *unit_mode(const struct unit *u)
{
	return u->reader ? "reader" : u->vpcd ? "vpcd" : u->card ? "in-process" : "tcpip";
}

bool unit_present(const struct unit *u)
{
	return u->reader ? u->gw && u->gw_started : !u->card_out;
}

int unit_status(struct unit *u, json_t *reply, bool brief)
{
	size_t tcpip = u->tcpip ? transport_tcpip_clients(u->tcpip) : 0;
	size_t bip = u->gw ? transport_bip_gw_clients(u->gw) : 0;
	const char *boot = scws_server_bootstrap_enabled(u->srv) ? "on" : "off";
	if (brief) /* one row of the rack's table */
		return put(reply, "present", json_boolean(unit_present(u))) ||
				       put(reply, "mode", json_string(unit_mode(u))) ||
				       put(reply, "bootstrap", json_string(boot)) ||
				       put(reply, "tcpip", json_integer((json_int_t)tcpip)) ||
				       put(reply, "bip", json_integer((json_int_t)bip)) ||
				       put(reply, "responses",
					   json_integer(
						   (json_int_t)scws_server_responses(u->srv, 0)))
			       ? -ENOMEM
			       : 0;
	json_t *card = json_pack("{s:b, s:s}", "present", unit_present(u), "mode", unit_mode(u));
	if (card && u->card)
		json_object_set_new(card, "apdus",
				    json_integer((json_int_t)card_apdu_count(u->card)));
	if (card && u->vpcd)
		json_object_set_new(card, "vpcd_connected",
				    json_boolean(transport_vpcd_is_connected(u->vpcd)));
	const struct profile *p = scws_server_profile(u->srv);
	if (card && p && p->name)
		json_object_set_new(card, "name", json_string(p->name));
	int rc = put(reply, "card", card);
	rc = rc ? rc : put(reply, "bootstrap", json_string(boot));
	json_t *conns =
		json_pack("{s:I, s:I, s:I}", "tcpip", (json_int_t)tcpip, "bip", (json_int_t)bip,
			  "control", (json_int_t)transport_control_clients(u->d->ctl));
	rc = rc ? (json_decref(conns), rc) : put(reply, "connections", conns);
	json_t *resp = json_object();
	for (int s = SCWS_STATUS_MIN; !rc && resp && s <= SCWS_STATUS_MAX; s++) {
		unsigned long n = scws_server_responses(u->srv, s);
		char key[8];
		snprintf(key, sizeof(key), "%d", s);
		if (n && json_object_set_new(resp, key, json_integer((json_int_t)n)))
			rc = -ENOMEM;
	}
	if (!rc && resp)
		rc = put(resp, "total", json_integer((json_int_t)scws_server_responses(u->srv, 0)));
	rc = rc ? (json_decref(resp), rc) : put(reply, "responses", resp);
	if (rc)
		return rc;
	/* Failed credential attempts (--auth-fail-limit): 429s, who is blocked. */
	struct scws_server_auth_stats as;
	scws_server_auth_stats(u->srv, transport_now_ms(), &as);
	rc = put(reply, "auth",
		 json_pack("{s:I, s:I}", "refused", (json_int_t)as.refused, "blocked",
			   (json_int_t)as.blocked));
	json_t *chs = json_array();
	struct bip_term *t = u->gw ? transport_bip_gw_term(u->gw) : NULL;
	for (unsigned i = 1; !rc && chs && t && i <= transport_bip_term_channels(t); i++) {
		struct bip_term_channel_info ci;
		if (transport_bip_term_channel(t, i, &ci) != 0 || ci.state == CAT_CH_CLOSED)
			continue;
		json_t *o = json_pack(
			"{s:I, s:I, s:s, s:I, s:I}", "channel", (json_int_t)i, "card_port",
			(json_int_t)ci.card_port, "state", card_cat_ch_state_name(ci.state),
			"bytes_in", (json_int_t)ci.bytes_in, "bytes_out", (json_int_t)ci.bytes_out);
		rc = o && !json_array_append_new(chs, o) ? 0 : -ENOMEM;
	}
	return rc ? (json_decref(chs), rc) : put(reply, "channels", chs);
}

static int ctl_status(void *ctx, json_t *reply, char *err, size_t errcap)
{
	int rc = unit_status(ctx, reply, false);
	if (rc)
		snprintf(err, errcap, "out of memory");
	return rc;
}

static int ctl_card(void *ctx, enum lab_card_action a, json_t *reply, char *err, size_t errcap)
{
	struct unit *u = ctx;
	char why[512];
	if (u->reader) {
		snprintf(err, errcap,
			 "the card is in PC/SC reader '%s' (--reader): remove, insert or "
			 "reset it there",
			 u->reader);
		return -ENOTSUP;
	}
	if (a == LAB_CARD_REMOVE) {
		if (u->card_out) {
			snprintf(err, errcap, "the card is already out");
			return -EALREADY;
		}
		u->card_out = true;
		if (u->gw && u->gw_started)
			transport_bip_gw_stop(u->gw);
		if (u->vpcd)
			transport_vpcd_stop(u->vpcd);
		transport_tcpip_suspend(u->tcpip);
		log_warn("control", "card %s removed: BIP and TCP/IP listeners closed", u->name);
		refresh_endpoints(u);
		return put(reply, "card", json_string("removed"));
	}
	if (a == LAB_CARD_RESET && u->card_out) {
		snprintf(err, errcap, "the card is out: 'card insert' first");
		return -EALREADY;
	}
	if (a == LAB_CARD_INSERT && !u->card_out) {
		snprintf(err, errcap, "the card is already in (use 'card reset')");
		return -EALREADY;
	}
	int rc = 0;
	if (u->gw) {
		rc = a == LAB_CARD_RESET && u->gw_started
			     ? transport_bip_gw_restart(u->gw, why, sizeof(why))
			     : transport_bip_gw_start(u->gw, why, sizeof(why));
		if (rc) {
			snprintf(err, errcap, "the card did not start: %s", why);
			log_err("control", "%s", err);
		} else {
			u->gw_started = true;
		}
	}
	if (u->vpcd) {
		/* vpcd has no card-initiated reset: pcscd sees a removal and an
		 * insertion, and powers the card up again. */
		if (a == LAB_CARD_RESET)
			transport_vpcd_stop(u->vpcd);
		transport_vpcd_set_card(u->vpcd, u->card);
		transport_vpcd_start(u->vpcd);
	}
	if (a == LAB_CARD_INSERT) {
		u->card_out = false;
		if (transport_tcpip_resume(u->tcpip, why, sizeof(why)) != 0 && !rc) {
			snprintf(err, errcap, "TCP/IP listeners: %s", why);
			rc = -EADDRINUSE;
		}
	}
	log_info("control", "card %s %s", u->name, a == LAB_CARD_INSERT ? "inserted" : "reset");
	refresh_endpoints(u);
	if (rc)
		return rc;
	return put(reply, "card", json_string(a == LAB_CARD_INSERT ? "inserted" : "reset"));
}

/* The Bootstrap Servers answer from the first card. */
static size_t unit_bootsrv(const struct unit *u)
{
	return u->index == 0 ? u->d->n_bootsrv : 0;
}

static int ctl_bootstrap_enable(void *ctx, bool on, json_t *reply, char *err, size_t errcap)
{
	struct unit *u = ctx;
	(void)err;
	(void)errcap;
	scws_server_set_bootstrap_enabled(u->srv, on);
	for (size_t i = 0; i < unit_bootsrv(u); i++) /* no target=: both */
		scws_server_set_bootstrap_enabled(u->d->bootsrv[i].srv, on);
	log_info("control", "bootstrap %s", on ? "on" : "off (404 not available)");
	return put(reply, "bootstrap", json_string(on ? "on" : "off"));
}

static int ctl_bootstrap_set(void *ctx, const char *path, json_t *reply, char *err, size_t errcap)
{
	struct unit *u = ctx;
	const struct profile *p = scws_server_profile(u->srv);
	if (!p) {
		snprintf(err, errcap, "no card profile in this process (--reader)");
		return -ENOTSUP;
	}
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = profile_bootstrap_read(p, path, &data, &len, err, errcap);
	if (rc)
		return rc;
	rc = scws_server_set_bootstrap(u->srv, data, len, err, errcap);
	/* The terminal's card (BIP gateway, --vpcd readers) reads the same bytes. */
	if (!rc && u->card_fs)
		rc = card_layout_set_bootstrap(&p->card, u->card_fs, data, len, err, errcap);
	free(data);
	if (rc)
		return rc;
	log_info("control", "bootstrap set from %s (%zu bytes, %s)", path, len,
		 p->store == PROFILE_STORE_WBXML ? "WBXML" : "XML");
	rc = put(reply, "bytes", json_integer((json_int_t)len));
	return rc ? rc
		  : put(reply, "store",
			json_string(p->store == PROFILE_STORE_WBXML ? "wbxml" : "xml"));
}

static int ctl_reload(void *ctx, json_t *reply, char *err, size_t errcap)
{
	struct unit *u = ctx;
	if (u->reader) {
		snprintf(err, errcap, "the gateway alone (--reader) has no card profile to reload");
		return -ENOTSUP;
	}
	log_info("control", "reload: %s", u->card_dir);
	if (unit_load(u, false, err, errcap) != 0)
		return -EINVAL;
	/* The terminal's card gets the profile's bootstrap back too (after a
	 * `bootstrap set`), when its layout still has the EF. */
	const struct profile *p = scws_server_profile(u->srv);
	char why[256];
	if (u->card_fs && p->card.has_bootstrap &&
	    card_layout_set_bootstrap(&p->card, u->card_fs, p->card.bootstrap,
				      p->card.bootstrap_len, why, sizeof(why)) != 0)
		log_warn("control", "the terminal's card keeps its bootstrap: %s", why);
	return put(reply, "reloaded", json_string(u->card_dir));
}

/* bootstrap off|on|set FILE target=card|server|both */
static int ctl_bootstrap_at(void *ctx, enum lab_fault_target t, const char *action,
			    const char *path, json_t *reply, char *err, size_t errcap)
{
	struct unit *u = ctx;
	bool card = t != LAB_TARGET_SERVER, server = t != LAB_TARGET_CARD;
	size_t n_srv = unit_bootsrv(u);
	int rc = 0;
	if (t == LAB_TARGET_SERVER && !n_srv) {
		if (u->d->n_bootsrv)
			snprintf(err, errcap, "the Bootstrap Servers answer for card %s, the first",
				 u->d->units[0]->name);
		else
			snprintf(err, errcap,
				 "no Bootstrap Server in this process (--bootstrap-server)");
		return -ENOTSUP;
	}
	if (strcmp(action, "set") == 0) {
		struct buf doc;
		if (card && (rc = ctl_bootstrap_set(ctx, path, reply, err, errcap)) != 0)
			return rc;
		buf_init(&doc, PROFILE_FILE_MAX);
		if (server && n_srv) {
			rc = doc_read(path, &doc);
			if (rc)
				snprintf(err, errcap, "%s: %s", path, strerror(-rc));
		}
		for (size_t i = 0; server && !rc && i < n_srv; i++)
			rc = scws_server_set_document(u->d->bootsrv[i].srv,
						      doc.len ? doc.p : (const uint8_t *)"",
						      doc.len, !codec_is_xml(doc.p, doc.len));
		if (!rc && server && n_srv)
			log_info("control", "Bootstrap Server document set from %s (%zu bytes)",
				 path, doc.len);
		buf_cleanup(&doc);
		return rc;
	}
	bool on = strcmp(action, "on") == 0;
	if (card)
		scws_server_set_bootstrap_enabled(u->srv, on);
	for (size_t i = 0; server && i < n_srv; i++)
		scws_server_set_bootstrap_enabled(u->d->bootsrv[i].srv, on);
	log_info("control", "bootstrap %s on %s", on ? "on" : "off (404 not available)",
		 t == LAB_TARGET_CARD     ? "the card"
		 : t == LAB_TARGET_SERVER ? "the Bootstrap Server"
					  : "card and server");
	rc = put(reply, "bootstrap", json_string(on ? "on" : "off"));
	return rc ? rc
		  : put(reply, "target",
			json_string(t == LAB_TARGET_CARD     ? "card"
				    : t == LAB_TARGET_SERVER ? "server"
							     : "both"));
}

static int ctl_requests(void *ctx, unsigned long long since, json_t *reply, char *err,
			size_t errcap)
{
	struct unit *u = ctx;
	json_t *j = lab_journal_json(u->journal, (uint64_t)since);
	(void)err;
	(void)errcap;
	if (!j || json_object_update(reply, j) != 0) {
		json_decref(j);
		return -ENOMEM;
	}
	json_decref(j);
	return 0;
}

static int ctl_report(void *ctx, json_t *reply, char *err, size_t errcap)
{
	struct unit *u = ctx;
	struct lab_verdicts *v = unit_verdicts(u);
	json_t *x = v ? lab_verdict_json(v) : NULL;
	lab_verdicts_free(v);
	(void)err;
	(void)errcap;
	if (!x || json_object_update(reply, x) != 0) {
		json_decref(x);
		return -ENOMEM;
	}
	json_decref(x);
	(void)daemon_report(u->d, false); /* the --report files, as at exit */
	return 0;
}

static const struct lab_control_ops unit_control_ops = {
	.status = ctl_status,
	.card = ctl_card,
	.bootstrap_enable = ctl_bootstrap_enable,
	.bootstrap_set = ctl_bootstrap_set,
	.reload = ctl_reload,
	.bootstrap_at = ctl_bootstrap_at,
	.requests = ctl_requests,
	.report = ctl_report,
};

/* ---- the client under test: this card's journal and verdicts */

static bool is_fetch(const struct lab_journal_entry *e)
{
	return e->kind == SCWS_OBS_REQUEST && e->bootstrap && e->status == 200 && e->bytes > 0 &&
	       strcmp(e->method, "HEAD") != 0;
}

/* Every connection and request of every transport of this card (and, for
 * the first card, of the Bootstrap Servers): scws/observe.h. */
static void on_observe(void *arg, const struct scws_obs *rec)
{
	struct unit *u = arg;
	const struct lab_journal_entry *e = lab_journal_add(u->journal, rec);
	if (!e)
		return;
	if (u->d->journal_fd >= 0)
		daemon_journal_line(u->d, u, lab_journal_entry_json(e));
	if (!u->fetched && is_fetch(e)) {
		u->fetched = true;
		daemon_fetched(u->d);
	}
}

struct lab_verdicts *unit_verdicts(struct unit *u)
{
	struct lab_verdict_ctx ctx = { .has_server = unit_bootsrv(u) > 0 };
	struct lab_verdicts *v = NULL;
	return lab_verdict_judge(u->journal, &ctx, &v) == 0 ? v : NULL;
}

/* ---- the card's life */

struct unit *unit_new(struct daemon *d, size_t index, const char *name, const char *dir,
		      const char *reader)
{
	struct unit *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->d = d;
	u->index = index;
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->reader = reader;
	if (reader)
		snprintf(u->card_dir, sizeof(u->card_dir), "pcsc:%s", reader);
	else
		snprintf(u->card_dir, sizeof(u->card_dir), "%s", dir);
	u->srv = scws_server_new();
	u->faults = lab_faults_new();
	u->journal = lab_journal_new(0);
	if (!u->srv || !u->faults || !u->journal) {
		unit_free(u);
		return NULL;
	}
	u->side_card = (struct fault_side){ u, LAB_TARGET_CARD };
	u->side_server = (struct fault_side){ u, LAB_TARGET_SERVER };
	struct scws_fault_hooks hooks = {
		.response = fault_response,
		.handshake = fault_handshake,
		.apdu_sw = fault_apdu_sw,
		.arg = &u->side_card,
	};
	scws_server_set_fault_hooks(u->srv, &hooks);
	scws_server_set_auth_throttle(u->srv, d->opt.auth_fail_limit, d->opt.auth_fail_window_ms);
	scws_server_set_observer(u->srv, on_observe, u);
	u->lc = (struct lab_control){ .ops = &unit_control_ops, .ctx = u, .faults = u->faults };
	return u;
}

/* A Bootstrap Server speaks for the first card: its journal and faults. */
void unit_attach_bootsrv(struct unit *u, struct scws_server *srv)
{
	scws_server_set_observer(srv, on_observe, u);
	struct scws_fault_hooks fh = {
		.response = fault_response,
		.handshake = fault_handshake,
		.arg = &u->side_server,
	};
	scws_server_set_fault_hooks(srv, &fh);
}

void unit_free(struct unit *u)
{
	if (!u)
		return;
	unit_close(u);
	scws_server_free(u->srv);
	lab_journal_free(u->journal);
	lab_faults_free(u->faults); /* after every hook that may fire one */
	free(u);
}
