/* main.c - scwsemu: wiring only (options -> card -> server -> event loop). */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "card/bip.h"
#include "card/card.h"
#include "card/layout.h"
#include "config/cli.h"
#include "config/paths.h"
#include "config/profile.h"
#include "codec/wbxml.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/json.h"
#include "core/file.h"
#include "core/limits.h"
#include "core/log.h"
#include "lab/control.h"
#include "lab/fault.h"
#include "lab/journal.h"
#include "lab/verdict.h"
#include "lab/scenario.h"
#include "scws/conn.h"
#include "scws/server.h"
#include "scws/tls.h"
#include "transport/admit.h"
#include "transport/bip_gw.h"
#include "transport/control.h"
#include "transport/link.h"
#include "transport/link_pcsc.h"
#include "transport/gsmtap_udp.h"
#include "transport/setup_check.h"
#include "transport/tcpip.h"
#include "transport/vpcd.h"
#include "trace/pcap.h"

#define EXIT_USAGE 2
#define ENDPOINTS_MAX (CLI_ADDRS_MAX * 8)
/* TS 102 483: the card's own HTTPS port behind the name localuicc. */
#define TCPIP_CARD_PORT 443

struct endpoint {
	const char *transport;
	const char *scheme;
	char host[64];
	uint16_t port;
	uint16_t card_port;
	const char *path; /* NULL: the SCWS's /OMA/DM/Bootstrap.xml */
};

/* Which side a server's fault hooks speak for (target=card|server). */
struct fault_side {
	struct daemon *d;
	enum lab_fault_target target;
};

/* --bootstrap-server: the endpoint outside the card, one per address. */
struct bootsrv {
	struct scws_server *srv;
	struct tcpip_server *tcpip;
};

struct daemon {
	struct cli_options opt;
	char card_dir[PATH_MAX];
	struct event_base *base;
	struct scws_server *srv;
	struct tcpip_server *tcpip;
	struct admit *admit; /* --max-clients, --max-clients-per-peer: every transport */
	/* The card as terminals see it (BIP): its own file system, built from
	 * the profile at start-up; the SCWS inside reads the server's copy,
	 * which SIGHUP replaces. */
	struct card_fs *card_fs;
	struct card *card;
	struct card_bip *bip;
	void *link_ctx;
	const struct card_link_ops *link_ops;
	struct bip_gw *gw;
	struct transport_vpcd *vpcd;
	struct transport_pcsc_watch *watch; /* --reader */
	bool gw_started;
	bool running; /* the event loop runs: start-up has logged and written its own */
	bool ready_written; /* the ready file is ours to remove at exit */
	int exit_rc;        /* set before event_base_loopexit on a fatal event */
	char ca_file[PATH_MAX]; /* the test CA that signed the card's certificate */
	/* Trace sinks: every APDU exchange, whichever link carries it. */
	struct trace_pcap *pcap;
	struct transport_gsmtap_udp *gsmtap;
	struct endpoint endpoints[ENDPOINTS_MAX];
	size_t n_endpoints;
	/* The control socket (--control) and what its commands changed. */
	struct lab_control lc;
	struct transport_control *ctl;
	/* --scenario: its steps run from ev_scenario (a timer for at=, made
	 * active after each response for after-requests=). */
	struct lab_scenario *scenario;
	struct event *ev_scenario;
	struct timespec ready_at;
	bool card_out; /* `card remove`: until `card insert` */
	/* The client under test: the journal of every transport, --journal,
	 * the Bootstrap Servers and --until-fetched. */
	struct lab_journal *journal;
	int journal_fd; /* -1: no --journal */
	struct bootsrv bootsrv[CLI_ADDRS_MAX];
	size_t n_bootsrv;
	struct event *until_ev; /* --until-fetched: time is up, or the grace after a fetch */
	bool fetched;
	/* Armed by `fault add`; the layers that own each fact ask through
	 * their hooks (wired below). */
	struct lab_faults *faults;
	struct fault_side side_card, side_server;
};

static int load_into(struct daemon *d, struct scws_server *srv, char *name, size_t namecap,
		     char *why, size_t whycap);

/* Loads and builds the card (and the Bootstrap Servers' copies); 0, or
 * EXIT_USAGE after saying why (also in why, when given). */
static int load_card(struct daemon *d, bool initial, char *why, size_t whycap)
{
	char name[256];
	int rc = load_into(d, d->srv, name, sizeof(name), why, whycap);
	for (size_t i = 0; i < d->n_bootsrv && !rc; i++)
		rc = load_into(d, d->bootsrv[i].srv, NULL, 0, why, whycap);
	if (rc)
		return rc;
	log_info("card", "%s card '%s' from %s", initial ? "loaded" : "reloaded", name, d->card_dir);
	return 0;
}

static int load_into(struct daemon *d, struct scws_server *srv, char *name, size_t namecap,
		     char *why, size_t whycap)
{
	struct profile *p = NULL;
	struct profile_error perr;
	char msg[1024], line[PATH_MAX + 1200];
	int rc = profile_load(d->card_dir, &p, &perr);
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
	if (name)
		snprintf(name, namecap, "%.200s", p->name ? p->name : d->card_dir);
	rc = scws_server_load(srv, p, fs, msg, sizeof(msg));
	if (rc) {
		snprintf(line, sizeof(line), "%s: %s", d->card_dir, msg);
		goto fail;
	}
	return 0;
fail:
	log_err("card", "%s", line);
	if (why)
		snprintf(why, whycap, "%s", line);
	return EXIT_USAGE;
}

static struct endpoint *add_endpoint(struct daemon *d, const char *transport, const char *scheme,
				     const char *host, uint16_t port, uint16_t card_port)
{
	if (d->n_endpoints >= ENDPOINTS_MAX)
		return NULL;
	struct endpoint *e = &d->endpoints[d->n_endpoints++];
	e->path = NULL;
	e->transport = transport;
	e->scheme = scheme;
	snprintf(e->host, sizeof(e->host), "%s", host);
	e->port = port;
	e->card_port = card_port;
	return e;
}

static void endpoint_url(const struct endpoint *e, char *out, size_t cap)
{
	bool v6 = strchr(e->host, ':') != NULL;
	snprintf(out, cap, "%s://%s%s%s:%u%s", e->scheme, v6 ? "[" : "", e->host, v6 ? "]" : "",
		 e->port, e->path ? e->path : "/OMA/DM/Bootstrap.xml");
}

/* The card's served URLs to its SCWS, for its index page (the emulated
 * Bootstrap Server is not the card's). */
static void publish_urls(struct daemon *d)
{
	char urls[ENDPOINTS_MAX][256];
	const char *list[ENDPOINTS_MAX];
	size_t n = 0;
	if (!d->srv)
		return;
	for (size_t i = 0; i < d->n_endpoints; i++) {
		if (strcmp(d->endpoints[i].transport, "server") == 0)
			continue;
		endpoint_url(&d->endpoints[i], urls[n], sizeof(urls[n]));
		list[n] = urls[n];
		n++;
	}
	if (scws_server_set_urls(d->srv, list, n) != 0)
		log_warn("main", "the index page lists no URL (%zu endpoints)", n);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One set of deadlines for every transport (scws/conn.h). */
static struct scws_conn_deadlines deadlines(const struct daemon *d)
{
	struct scws_conn_deadlines dl = {
		.handshake_ms = d->opt.handshake_timeout_ms,
		.head_ms = d->opt.head_timeout_ms,
		.request_ms = d->opt.request_timeout_ms,
		.keepalive_ms = d->opt.keepalive_timeout_ms,
	};
	return dl;
}

/* s as a JSON string, quotes included. */
static int json_str(struct buf *b, const char *s)
{
	int rc = buf_append_u8(b, '"');
	rc = rc ? rc : json_put_escaped(b, s);
	return rc ? rc : buf_append_u8(b, '"');
}

/* Written whole through core/file (mkstemp + rename, mode 0644), so a
 * reader never sees half a file; systemd hears READY=1 at the same moment. */
static int write_ready_file(struct daemon *d)
{
	if (!d->opt.ready_file) {
		(void)sd_notify(0, "READY=1");
		return 0;
	}
	struct buf b;
	buf_init(&b, 65536);
	int rc = buf_printf(&b, "{\"pid\": %ld, \"card\": ", (long)getpid());
	rc = rc ? rc : json_str(&b, d->card_dir);
	rc = rc ? rc : buf_append_str(&b, ", \"ca\": ");
	rc = rc ? rc : json_str(&b, d->ca_file);
	if (!rc && d->ctl) {
		rc = buf_append_str(&b, ", \"control\": ");
		rc = rc ? rc : json_str(&b, transport_control_path(d->ctl));
	}
	rc = rc ? rc : buf_append_str(&b, ", \"endpoints\": [");
	for (size_t i = 0; i < d->n_endpoints && !rc; i++) {
		const struct endpoint *e = &d->endpoints[i];
		char url[256];
		endpoint_url(e, url, sizeof(url));
		rc = buf_printf(&b,
				"%s{\"transport\": \"%s\", \"scheme\": \"%s\", \"host\": \"%s\", "
				"\"port\": %u, \"card_port\": %u, \"url\": \"%s\"}",
				i ? ", " : "", e->transport, e->scheme, e->host, e->port, e->card_port,
				url);
	}
	rc = rc ? rc : buf_append_str(&b, "]}\n");
	rc = rc ? rc : file_write_atomic(d->opt.ready_file, b.p, b.len, 0644);
	buf_cleanup(&b);
	if (rc) {
		log_err("main", "cannot write ready file %s: %s", d->opt.ready_file, strerror(-rc));
		return -1;
	}
	d->ready_written = true;
	(void)sd_notify(0, "READY=1");
	return 0;
}

/* Is pid a running scwsemu? Alive but unreadable counts as one: a file
 * that may be another instance's is never taken over. */
static bool scwsemu_alive(long pid)
{
	if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
		return false;
	char path[64], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	bool got = fgets(comm, sizeof(comm), f) != NULL;
	fclose(f);
	return !got || strncmp(comm, "scwsemu", 7) == 0;
}

/* First thing at start: a ready file of an earlier run goes, so whoever
 * polls for it never reads a stale one; one naming a live scwsemu is
 * another instance's (EXIT_USAGE, naming the pid). */
static int claim_ready_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f) {
		char text[512];
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = 0;
		const char *p = strstr(text, "\"pid\"");
		long pid = p && (p = strchr(p, ':')) ? strtol(p + 1, NULL, 10) : 0;
		if (pid > 0 && pid != (long)getpid() && scwsemu_alive(pid)) {
			log_err("main", "ready file %s belongs to scwsemu pid %ld, which is still "
				"running (stop it, or give this instance another --ready-file)",
				path, pid);
			return EXIT_USAGE;
		}
		if (pid > 0)
			log_info("main", "removed the stale ready file %s (pid %ld is gone)", path,
				 pid);
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		log_err("main", "cannot remove the old ready file %s: %s", path, strerror(errno));
		return 1;
	}
	return 0;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	log_info("main", "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopexit(d->base, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	if (d->opt.reader) {
		log_info("main", "SIGHUP: the gateway alone has no card profile to reload");
		return;
	}
	log_info("main", "SIGHUP: reloading %s", d->card_dir);
	/* The card's BIP ports and channels were opened at start-up, by the
	 * card as terminals saw it then: only a restart changes them. */
	struct profile_port before[PROFILE_PORTS_MAX];
	const struct profile *p = scws_server_profile(d->srv);
	size_t n_before = p ? p->n_ports : 0;
	if (n_before)
		memcpy(before, p->ports, n_before * sizeof(before[0]));
	if (load_card(d, false, NULL, 0) != 0) {
		log_warn("main", "reload failed; still serving the previous card");
		return;
	}
	p = scws_server_profile(d->srv);
	bool same = p && p->n_ports == n_before;
	for (size_t i = 0; same && i < n_before; i++)
		same = before[i].port == p->ports[i].port &&
		       before[i].channels == p->ports[i].channels && before[i].tls == p->ports[i].tls;
	if (!same && !d->opt.no_bip)
		log_warn("main", "SIGHUP: the card's ports or channel counts changed; they wait "
			 "for a restart (the BIP listeners keep the old ones)");
}

static int open_tcpip(struct daemon *d)
{
	if (d->opt.no_tcpip)
		return 0;
	struct tcpip_limits lim = {
		.idle_timeout_ms = d->opt.idle_timeout_ms,
		.deadlines = deadlines(d),
		.admit = d->admit,
	};
	d->tcpip = transport_tcpip_new(d->base, d->srv, &lim);
	if (!d->tcpip)
		return 1;
	for (size_t i = 0; i < d->opt.n_tcpip; i++) {
		const struct cli_addr *a = &d->opt.tcpip[i];
		char err[256];
		uint16_t port;
		int rc = transport_tcpip_listen(d->tcpip, a->host, a->port, true, &port, err,
						sizeof(err));
		if (rc == -EADDRINUSE) {
			bool v6 = strchr(a->host, ':') != NULL;
			log_err("tcpip", "%s: another process holds port %u (stop it, or give "
				"--tcpip %s%s%s:0 for an ephemeral port)", err, a->port,
				v6 ? "[" : "", a->host, v6 ? "]" : "");
			return 1;
		}
		if (rc) {
			if (a->is_default) {
				log_warn("tcpip", "%s; skipping this default address (scwsemu "
					 "--check-setup says how to enable it, or give --tcpip "
					 "127.0.0.1:0)", err);
				continue;
			}
			log_err("tcpip", "%s", err);
			return 1;
		}
		add_endpoint(d, "tcpip", "https", a->host, port, TCPIP_CARD_PORT);
	}
	return 0;
}

/* ---- fault injection: each layer's hook asks the registry */

static const struct lab_fault *fire_at(struct daemon *d, enum lab_fault_target target,
				       enum lab_fault_kind kind, uint16_t port, uint8_t ins)
{
	struct lab_fault_event ev = { target, port, ins };
	const struct lab_fault *f = lab_faults_fire(d->faults, kind, &ev);
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
		};
		log_kv(LOG_INFO, "fault", "fault fired", kv, sizeof(kv) / sizeof(kv[0]));
	}
	return f;
}

/* The card's own facts (APDUs, channels). */
static const struct lab_fault *fire(struct daemon *d, enum lab_fault_kind kind, uint16_t port,
				    uint8_t ins)
{
	return fire_at(d, LAB_TARGET_CARD, kind, port, ins);
}

static void fault_response(void *arg, const char *transport, uint16_t port,
			   struct scws_fault_response *out)
{
	const struct fault_side *side = arg;
	struct daemon *d = side->d;
	const struct lab_fault *f;
	(void)transport;
	if ((f = fire_at(d, side->target, LAB_FAULT_HTTP_STATUS, port, 0)))
		out->status = (int)f->value;
	if ((f = fire_at(d, side->target, LAB_FAULT_HTTP_BODY, port, 0)))
		out->body = f->body == LAB_BODY_WRONG_TYPE ? SCWS_FAULT_BODY_WRONG_TYPE
							   : SCWS_FAULT_BODY_WBXML_GARBAGE;
	if ((f = fire_at(d, side->target, LAB_FAULT_HTTP_TRUNCATE, port, 0))) {
		out->truncate = true;
		out->truncate_len = f->value;
	}
	if ((f = fire_at(d, side->target, LAB_FAULT_HTTP_DELAY, port, 0)))
		out->delay_ms = f->value;
	if ((f = fire_at(d, side->target, LAB_FAULT_HTTP_DRIP, port, 0)))
		out->drip_bps = f->value;
}

static void fault_handshake(void *arg, const char *transport, uint16_t port,
			    struct scws_fault_handshake *out)
{
	const struct fault_side *side = arg;
	struct daemon *d = side->d;
	const struct lab_fault *f;
	(void)transport;
	if ((f = fire_at(d, side->target, LAB_FAULT_TLS_ALERT, port, 0))) {
		out->kind = SCWS_FAULT_TLS_ALERT;
	} else if ((f = fire_at(d, side->target, LAB_FAULT_TLS_CERT, port, 0))) {
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
	const struct lab_fault *f = fire(side->d, LAB_FAULT_APDU_SW, 0, ins);
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

/* ---- the card's BIP channels carry SCWS connections (card/bip.h sink) */

/* An SCWS connection on a channel, with the timer that releases a held
 * answer (http-delay, http-drip: scws_conn_pace) and then polls the card
 * through the gateway, since the card cannot speak unasked. */
struct sink_conn {
	struct daemon *d;
	struct scws_conn *conn;
	struct event *pace;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sink_pace(struct sink_conn *sc)
{
	int ms = scws_conn_pace(sc->conn, mono_ms());
	if (ms >= 0 && !evtimer_pending(sc->pace, NULL)) {
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		evtimer_add(sc->pace, &tv);
	}
}

static void sink_pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink_conn *sc = arg;
	sink_pace(sc);
	if (sc->d->gw)
		transport_bip_gw_poll(sc->d->gw);
}

static void *sink_open(void *arg, uint16_t port, unsigned channel)
{
	struct daemon *d = arg;
	const struct profile *p = scws_server_profile(d->srv);
	bool tls = true;
	for (size_t i = 0; p && i < p->n_ports; i++)
		if (p->ports[i].port == port)
			tls = p->ports[i].tls;
	char peer[32], local[48];
	const char *gw_peer = NULL, *gw_local = NULL;
	snprintf(peer, sizeof(peer), "channel %u", channel);
	snprintf(local, sizeof(local), "card port %u", port);
	/* The client the gateway bound to this channel (in-process card). */
	if (d->gw)
		(void)transport_bip_gw_channel_client(d->gw, channel, &gw_peer, &gw_local);
	struct scws_conn_deadlines dl = deadlines(d);
	struct scws_conn_info info = {
		.transport = "bip", .peer = gw_peer ? gw_peer : peer,
		.local = gw_local ? gw_local : local, .local_port = port, .tls = tls,
		.deadlines = &dl, .now_ms = now_ms(),
	};
	struct sink_conn *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	sc->d = d;
	sc->conn = scws_conn_new(d->srv, &info);
	sc->pace = evtimer_new(d->base, sink_pace_cb, sc);
	if (!sc->conn || !sc->pace) {
		scws_conn_free(sc->conn);
		if (sc->pace)
			event_free(sc->pace);
		free(sc);
		return NULL;
	}
	return sc;
}

static int sink_feed(void *conn, const uint8_t *p, size_t len)
{
	struct sink_conn *sc = conn;
	scws_conn_set_time(sc->conn, now_ms());
	return scws_conn_feed(sc->conn, p, len);
}

static bool sink_expire(void *conn)
{
	struct sink_conn *sc = conn;
	return scws_conn_expire(sc->conn, now_ms());
}

static uint64_t sink_stalled_since(void *conn)
{
	struct sink_conn *sc = conn;
	return scws_conn_stalled_since(sc->conn);
}

/* The gateway asks the in-process card which client waits on whom. */
static uint64_t gw_stalled_since(void *arg, unsigned channel)
{
	struct daemon *d = arg;
	return card_bip_channel_stalled_since(d->bip, channel);
}

static struct bytes sink_output(void *conn)
{
	struct sink_conn *sc = conn;
	sink_pace(sc);
	return scws_conn_output(sc->conn);
}

static void sink_consume(void *conn, size_t n)
{
	struct sink_conn *sc = conn;
	scws_conn_set_time(sc->conn, now_ms());
	scws_conn_consume(sc->conn, n);
}

static bool sink_output_full(void *conn)
{
	struct sink_conn *sc = conn;
	return scws_conn_output_full(sc->conn);
}

static bool sink_done(void *conn)
{
	struct sink_conn *sc = conn;
	return scws_conn_done(sc->conn) && !scws_conn_held(sc->conn);
}

static void sink_close(void *conn)
{
	struct sink_conn *sc = conn;
	scws_conn_free(sc->conn);
	event_free(sc->pace);
	free(sc);
}

static const struct card_bip_sink_ops scws_sink = {
	.open = sink_open,
	.feed = sink_feed,
	.output = sink_output,
	.consume = sink_consume,
	.output_full = sink_output_full,
	.done = sink_done,
	.expire = sink_expire,
	.stalled_since = sink_stalled_since,
	.close = sink_close,
};

/* One APDU exchange (or, with capdu NULL, an ATR) to every trace sink. */
static void trace_apdu(void *arg, const uint8_t *capdu, size_t clen, const uint8_t *rapdu,
		       size_t rlen)
{
	struct daemon *d = arg;
	if (!capdu)
		return; /* tshark decodes an ATR record as an APDU (doc/protocol.md §7.2) */
	if (d->pcap && trace_pcap_write_apdu(d->pcap, NULL, capdu, clen, rapdu, rlen) != 0) {
		log_err("trace", "%s: write failed; tracing stops", d->opt.trace_file);
		trace_pcap_free(d->pcap);
		d->pcap = NULL;
	}
	if (d->gsmtap)
		(void)transport_gsmtap_udp_send_apdu(d->gsmtap, capdu, clen, rapdu, rlen);
}

static bool tracing(const struct daemon *d)
{
	return d->pcap || d->gsmtap;
}

static int open_trace(struct daemon *d)
{
	char err[256];
	if (d->opt.trace_file) {
		int rc = trace_pcap_open(d->opt.trace_file, &d->pcap);
		if (rc == -ELOOP) {
			log_err("trace", "--trace %s: is a symbolic link; refusing to write through "
				"it (remove the link or give another path)", d->opt.trace_file);
			return 1;
		}
		if (rc == -EPERM || rc == -EINVAL) {
			log_err("trace", "--trace %s: %s; refusing to write to it (remove it or "
				"give another path)", d->opt.trace_file,
				rc == -EPERM ? "a file owned by another user" : "not a regular file");
			return 1;
		}
		if (rc) {
			log_err("trace", "--trace %s: %s", d->opt.trace_file, strerror(-rc));
			return 1;
		}
		log_info("trace", "APDUs to %s (GSMTAP SIM in pcap)", d->opt.trace_file);
	}
	if (d->opt.gsmtap) {
		if (transport_gsmtap_udp_open(d->opt.gsmtap, &d->gsmtap, err, sizeof(err)) != 0) {
			log_err("trace", "--gsmtap %s: %s", d->opt.gsmtap, err);
			return EXIT_USAGE;
		}
		log_info("trace", "APDUs as GSMTAP to %s", transport_gsmtap_udp_peer(d->gsmtap));
	}
	return 0;
}

/* The emulated UICC as terminals see it, with its proactive engine: its
 * BIP channels carry SCWS connections. */
static int setup_card(struct daemon *d)
{
	const struct profile *p = scws_server_profile(d->srv);
	char err[512];
	if (card_layout_build(&p->card, &d->card_fs, err, sizeof(err)) != 0) {
		log_err("card", "%s: %s", p->conf_path, err);
		return EXIT_USAGE;
	}
	d->card = card_new(d->card_fs, p->card.atr, p->card.atr_len);
	if (d->card)
		card_set_sw_fault(d->card, fault_apdu_sw, &d->side_card);
	struct card_bip_port ports[PROFILE_PORTS_MAX];
	for (size_t i = 0; i < p->n_ports; i++) {
		ports[i].port = p->ports[i].port;
		ports[i].channels = p->ports[i].channels;
	}
	struct card_bip_config bcfg = {
		.ports = ports, .n_ports = p->n_ports, .sink = &scws_sink, .sink_arg = d,
	};
	if (!d->card) {
		log_err("card", "cannot power the card");
		return 1;
	}
	if (card_configure(d->card, &p->card.opts) != 0) {
		log_err("card", "%s: the card's options do not apply", p->conf_path);
		return EXIT_USAGE;
	}
	if (p->n_ports == 0) {
		log_warn("bip", "the card opens no SCWS port: no BIP channel");
		return 0;
	}
	d->bip = card_bip_new(&bcfg);
	if (!d->bip) {
		log_err("bip", "cannot set up the card's BIP channels");
		return 1;
	}
	card_bip_attach(d->bip, d->card);
	return 0;
}

static void add_bip_endpoints(struct daemon *d)
{
	struct bip_gw_endpoint eps[ENDPOINTS_MAX];
	size_t n = transport_bip_gw_endpoints(d->gw, eps, ENDPOINTS_MAX);
	if (n > ENDPOINTS_MAX)
		n = ENDPOINTS_MAX;
	for (size_t i = 0; i < n; i++)
		add_endpoint(d, "bip", eps[i].scheme, eps[i].host, eps[i].port, eps[i].card_port);
}

/* The terminal-side gateway in front of the card, over an APDU link. */
static int open_gateway(struct daemon *d)
{
	char err[512];
	struct bip_gw_addr listen[CLI_ADDRS_MAX];
	struct bip_gw_port_map map[CLI_ADDRS_MAX];
	for (size_t i = 0; i < d->opt.n_bip_listen; i++) {
		snprintf(listen[i].host, sizeof(listen[i].host), "%s", d->opt.bip_listen[i].host);
		listen[i].is_default = false;
	}
	for (size_t i = 0; i < d->opt.n_port_map; i++) {
		map[i].card_port = d->opt.port_map[i].card_port;
		map[i].host_port = d->opt.port_map[i].host_port;
	}
	struct bip_gw_config gcfg = {
		.listen = listen, .n_listen = d->opt.n_bip_listen,
		.port_map = map, .n_port_map = d->opt.n_port_map,
		.idle_timeout_ms = d->opt.idle_timeout_ms,
		.admit = d->admit,
		.stalled_since = d->bip && !d->watch ? gw_stalled_since : NULL,
		.stalled_arg = d,
		.trace = tracing(d) ? trace_apdu : NULL, .trace_arg = d,
	};
	d->gw = transport_bip_gw_new(d->base, d->link_ops, d->link_ctx, &gcfg, err, sizeof(err));
	if (!d->gw) {
		log_err("bip", "%s", err);
		return 1;
	}
	struct bip_gw_fault_hooks fh = {
		.rate = fault_bip_rate, .drop = fault_bip_drop, .open_fail = fault_bip_open, .arg = d,
	};
	transport_bip_gw_set_faults(d->gw, &fh);
	if (d->watch)
		return 0; /* over PC/SC, the card's arrival starts the session */
	if (transport_bip_gw_start(d->gw, err, sizeof(err)) != 0) {
		log_err("bip", "%s", err);
		return 1;
	}
	d->gw_started = true;
	if (transport_bip_gw_port_in_use(d->gw)) {
		log_err("bip", "%s", transport_bip_gw_port_in_use(d->gw));
		return 1;
	}
	const char *why = d->bip ? card_bip_reason(d->bip) : NULL;
	if (why && *why)
		log_warn("bip", "%s", why);
	add_bip_endpoints(d);
	/* The ready file promises every port the card asked for. */
	const struct profile *p = scws_server_profile(d->srv);
	for (size_t i = 0; p && i < p->n_ports; i++) {
		bool found = false;
		for (size_t j = 0; j < d->n_endpoints && !found; j++)
			found = d->endpoints[j].card_port == p->ports[i].port;
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
	struct daemon *d = arg;
	char err[512];
	if (ev == TRANSPORT_PCSC_CARD_OUT) {
		log_warn("pcsc", "card removed from '%s': BIP listeners closed", d->opt.reader);
		transport_bip_gw_stop(d->gw);
		return;
	}
	int rc = d->gw_started ? transport_bip_gw_restart(d->gw, err, sizeof(err))
			       : transport_bip_gw_start(d->gw, err, sizeof(err));
	if (rc) {
		log_err("pcsc", "card in '%s': %s", d->opt.reader, err);
		return;
	}
	d->gw_started = true;
	if (transport_bip_gw_port_in_use(d->gw)) {
		log_err("bip", "%s", transport_bip_gw_port_in_use(d->gw));
		d->exit_rc = 1;
		event_base_loopexit(d->base, NULL);
		return;
	}
	log_info("pcsc", "card %s in '%s': proactive session started",
		 ev == TRANSPORT_PCSC_CARD_RESET ? "reset" : "inserted", d->opt.reader);
	d->n_endpoints = 0;
	add_bip_endpoints(d);
	if (!d->running)
		return; /* main() logs the URLs and writes the ready file */
	for (size_t i = 0; i < d->n_endpoints; i++) {
		char url[256];
		endpoint_url(&d->endpoints[i], url, sizeof(url));
		log_info("main", "serving %s (%s)", url, d->endpoints[i].transport);
	}
	publish_urls(d);
	if (d->n_endpoints)
		(void)write_ready_file(d);
}

/* --reader: the gateway alone, driving the card in a PC/SC reader. */
static int open_reader(struct daemon *d)
{
	char err[512];
	struct transport_link_pcsc *l = NULL;
	int rc = transport_link_pcsc_new(d->opt.reader, &l, err, sizeof(err));
	if (rc) {
		log_err("pcsc", "%s", err);
		return rc == -ENODEV || rc == -EINVAL ? EXIT_USAGE : 1;
	}
	d->link_ops = &transport_link_pcsc_ops;
	d->link_ctx = l;
	d->watch = transport_pcsc_watch_new(d->base, l, NULL, on_pcsc_card, d);
	if (!d->watch)
		return 1;
	if ((rc = open_gateway(d)) != 0)
		return rc;
	if (transport_pcsc_watch_start(d->watch) != 0)
		return 1;
	if (!d->gw_started)
		log_info("pcsc", "waiting for a card in '%s'", d->opt.reader);
	return 0;
}

static int open_bip(struct daemon *d)
{
	int rc;
	if (d->opt.vpcd) {
		/* The card alone, on vsmartcard's vpcd: pcscd and its clients
		 * (or a gateway with --reader) are the terminal. */
		char err[256];
		if ((rc = setup_card(d)) != 0)
			return rc;
		d->vpcd = transport_vpcd_new(d->base, d->card, d->opt.vpcd, NULL, err, sizeof(err));
		if (!d->vpcd) {
			log_err("vpcd", "--vpcd %s: %s", d->opt.vpcd, err);
			return EXIT_USAGE;
		}
		if (tracing(d))
			transport_vpcd_set_trace(d->vpcd, trace_apdu, d);
		transport_vpcd_set_delay(d->vpcd, fault_apdu_delay, d);
		transport_vpcd_start(d->vpcd);
		return 0;
	}
	if (d->opt.no_bip)
		return 0;
	if ((rc = setup_card(d)) != 0)
		return rc;
	if (!d->bip)
		return 0;
	d->link_ops = &transport_link_emu_ops;
	d->link_ctx = transport_link_emu_new(d->card);
	if (!d->link_ctx)
		return 1;
	return open_gateway(d);
}

static void close_bip(struct daemon *d)
{
	transport_pcsc_watch_free(d->watch);
	transport_vpcd_free(d->vpcd);
	transport_bip_gw_free(d->gw);
	if (d->link_ctx)
		d->link_ops->free(d->link_ctx);
	card_free(d->card); /* detaches the proactive engine first */
	card_bip_free(d->bip);
	card_fs_free(d->card_fs);
}

/* ---- the control socket's commands (lab/control.h) */

/* The BIP entries of the endpoint list again (after the card came back),
 * the TCP/IP ones kept; the ready file follows. */
static void refresh_endpoints(struct daemon *d)
{
	struct endpoint keep[ENDPOINTS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < d->n_endpoints; i++)
		if (strcmp(d->endpoints[i].transport, "bip"))
			keep[n++] = d->endpoints[i];
	d->n_endpoints = 0;
	if (d->gw && d->gw_started && !d->card_out)
		add_bip_endpoints(d);
	for (size_t i = 0; i < n && d->n_endpoints < ENDPOINTS_MAX; i++)
		d->endpoints[d->n_endpoints++] = keep[i];
	for (size_t i = 0; i < d->n_endpoints && !d->card_out; i++) {
		char url[256];
		endpoint_url(&d->endpoints[i], url, sizeof(url));
		log_info("main", "serving %s (%s)", url, d->endpoints[i].transport);
	}
	publish_urls(d);
	if (d->opt.ready_file)
		(void)write_ready_file(d);
}

static int set_json(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) ? -ENOMEM : 0;
}

static int ctl_status(void *ctx, json_t *reply, char *err, size_t errcap)
{
	struct daemon *d = ctx;
	const char *mode = d->opt.reader ? "reader" : d->vpcd ? "vpcd" : d->card ? "in-process"
										  : "tcpip";
	bool present = d->opt.reader ? d->gw && d->gw_started : !d->card_out;
	json_t *card = json_pack("{s:b, s:s}", "present", present, "mode", mode);
	if (card && d->card)
		json_object_set_new(card, "apdus", json_integer((json_int_t)card_apdu_count(d->card)));
	if (card && d->vpcd)
		json_object_set_new(card, "vpcd_connected",
				    json_boolean(transport_vpcd_is_connected(d->vpcd)));
	const struct profile *p = scws_server_profile(d->srv);
	if (card && p && p->name)
		json_object_set_new(card, "name", json_string(p->name));
	int rc = card ? set_json(reply, "card", card) : -ENOMEM;
	if (!rc)
		rc = set_json(reply, "bootstrap",
			      json_string(scws_server_bootstrap_enabled(d->srv) ? "on" : "off"));
	json_t *chs = json_array();
	struct bip_term *t = d->gw ? transport_bip_gw_term(d->gw) : NULL;
	for (unsigned i = 1; !rc && chs && t && i <= transport_bip_term_channels(t); i++) {
		struct bip_term_channel_info ci;
		if (transport_bip_term_channel(t, i, &ci) != 0 || ci.state == BIP_TERM_CH_CLOSED)
			continue;
		json_t *o = json_pack("{s:I, s:I, s:s, s:I, s:I}", "channel", (json_int_t)i,
				      "card_port", (json_int_t)ci.card_port, "state",
				      transport_bip_term_state_name(ci.state), "bytes_in",
				      (json_int_t)ci.bytes_in, "bytes_out", (json_int_t)ci.bytes_out);
		rc = o && !json_array_append_new(chs, o) ? 0 : -ENOMEM;
	}
	rc = rc ? rc : chs ? set_json(reply, "channels", chs) : -ENOMEM;
	if (rc && chs && !json_object_get(reply, "channels"))
		json_decref(chs);
	json_t *conns = json_pack("{s:I, s:I, s:I}", "tcpip",
				  (json_int_t)(d->tcpip ? transport_tcpip_clients(d->tcpip) : 0), "bip",
				  (json_int_t)(d->gw ? transport_bip_gw_clients(d->gw) : 0), "control",
				  (json_int_t)transport_control_clients(d->ctl));
	rc = rc ? rc : conns ? set_json(reply, "connections", conns) : -ENOMEM;
	json_t *resp = json_object();
	for (int s = SCWS_STATUS_MIN; !rc && resp && s <= SCWS_STATUS_MAX; s++) {
		unsigned long n = scws_server_responses(d->srv, s);
		char key[8];
		snprintf(key, sizeof(key), "%d", s);
		if (n && json_object_set_new(resp, key, json_integer((json_int_t)n)))
			rc = -ENOMEM;
	}
	if (!rc && resp)
		rc = json_object_set_new(resp, "total",
					 json_integer((json_int_t)scws_server_responses(d->srv, 0)))
			     ? -ENOMEM
			     : 0;
	rc = rc ? rc : resp ? set_json(reply, "responses", resp) : -ENOMEM;
	if (rc)
		snprintf(err, errcap, "out of memory");
	return rc;
}

static int ctl_card(void *ctx, enum lab_card_action a, json_t *reply, char *err, size_t errcap)
{
	struct daemon *d = ctx;
	char why[512];
	if (d->opt.reader) {
		snprintf(err, errcap, "the card is in PC/SC reader '%s' (--reader): remove, insert or "
				      "reset it there", d->opt.reader);
		return -ENOTSUP;
	}
	if (a == LAB_CARD_REMOVE) {
		if (d->card_out) {
			snprintf(err, errcap, "the card is already out");
			return -EALREADY;
		}
		d->card_out = true;
		if (d->gw && d->gw_started)
			transport_bip_gw_stop(d->gw);
		if (d->vpcd)
			transport_vpcd_stop(d->vpcd);
		transport_tcpip_suspend(d->tcpip);
		log_warn("control", "card removed: BIP and TCP/IP listeners closed");
		refresh_endpoints(d);
		return set_json(reply, "card", json_string("removed"));
	}
	if (a == LAB_CARD_RESET && d->card_out) {
		snprintf(err, errcap, "the card is out: 'card insert' first");
		return -EALREADY;
	}
	if (a == LAB_CARD_INSERT && !d->card_out) {
		snprintf(err, errcap, "the card is already in (use 'card reset')");
		return -EALREADY;
	}
	int rc = 0;
	if (d->gw) {
		rc = a == LAB_CARD_RESET && d->gw_started
			     ? transport_bip_gw_restart(d->gw, why, sizeof(why))
			     : transport_bip_gw_start(d->gw, why, sizeof(why));
		if (rc) {
			snprintf(err, errcap, "the card did not start: %s", why);
			log_err("control", "%s", err);
		} else {
			d->gw_started = true;
		}
	}
	if (d->vpcd) {
		/* vpcd has no card-initiated reset: pcscd sees a removal and an
		 * insertion, and powers the card up again. */
		if (a == LAB_CARD_RESET)
			transport_vpcd_stop(d->vpcd);
		transport_vpcd_set_card(d->vpcd, d->card);
		transport_vpcd_start(d->vpcd);
	}
	if (a == LAB_CARD_INSERT) {
		d->card_out = false;
		if (transport_tcpip_resume(d->tcpip, why, sizeof(why)) != 0 && !rc) {
			snprintf(err, errcap, "TCP/IP listeners: %s", why);
			rc = -EADDRINUSE;
		}
	}
	log_info("control", "card %s", a == LAB_CARD_INSERT ? "inserted" : "reset");
	refresh_endpoints(d);
	if (rc)
		return rc;
	return set_json(reply, "card", json_string(a == LAB_CARD_INSERT ? "inserted" : "reset"));
}

static int ctl_bootstrap_enable(void *ctx, bool on, json_t *reply, char *err, size_t errcap)
{
	struct daemon *d = ctx;
	(void)err;
	(void)errcap;
	scws_server_set_bootstrap_enabled(d->srv, on);
	for (size_t i = 0; i < d->n_bootsrv; i++) /* no target=: both */
		scws_server_set_bootstrap_enabled(d->bootsrv[i].srv, on);
	log_info("control", "bootstrap %s", on ? "on" : "off (404 not available)");
	return set_json(reply, "bootstrap", json_string(on ? "on" : "off"));
}

static int ctl_bootstrap_set(void *ctx, const char *path, json_t *reply, char *err,
			     size_t errcap)
{
	struct daemon *d = ctx;
	const struct profile *p = scws_server_profile(d->srv);
	if (!p) {
		snprintf(err, errcap, "no card profile in this process (--reader)");
		return -ENOTSUP;
	}
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = profile_bootstrap_read(p, path, &data, &len, err, errcap);
	if (rc)
		return rc;
	rc = scws_server_set_bootstrap(d->srv, data, len, err, errcap);
	/* The terminal's card (BIP gateway, --vpcd readers) reads the same bytes. */
	if (!rc && d->card_fs)
		rc = card_layout_set_bootstrap(&p->card, d->card_fs, data, len, err, errcap);
	free(data);
	if (rc)
		return rc;
	log_info("control", "bootstrap set from %s (%zu bytes, %s)", path, len,
		 p->store == PROFILE_STORE_WBXML ? "WBXML" : "XML");
	rc = set_json(reply, "bytes", json_integer((json_int_t)len));
	return rc ? rc : set_json(reply, "store", json_string(p->store == PROFILE_STORE_WBXML
								      ? "wbxml"
								      : "xml"));
}

static int ctl_reload(void *ctx, json_t *reply, char *err, size_t errcap)
{
	struct daemon *d = ctx;
	if (d->opt.reader) {
		snprintf(err, errcap, "the gateway alone (--reader) has no card profile to reload");
		return -ENOTSUP;
	}
	log_info("control", "reload: %s", d->card_dir);
	if (load_card(d, false, err, errcap) != 0)
		return -EINVAL;
	/* The terminal's card gets the profile's bootstrap back too (after a
	 * `bootstrap set`), when its layout still has the EF. */
	const struct profile *p = scws_server_profile(d->srv);
	char why[256];
	if (d->card_fs && p->card.has_bootstrap &&
	    card_layout_set_bootstrap(&p->card, d->card_fs, p->card.bootstrap,
				      p->card.bootstrap_len, why, sizeof(why)) != 0)
		log_warn("control", "the terminal's card keeps its bootstrap: %s", why);
	return set_json(reply, "reloaded", json_string(d->card_dir));
}

static bool looks_xml(const uint8_t *p, size_t n);
static int read_doc(const char *path, struct buf *out);

/* bootstrap off|on|set FILE target=card|server|both */
static int ctl_bootstrap_at(void *ctx, enum lab_fault_target t, const char *action, const char *path,
			    json_t *reply, char *err, size_t errcap)
{
	struct daemon *d = ctx;
	bool card = t != LAB_TARGET_SERVER, server = t != LAB_TARGET_CARD;
	int rc = 0;
	if (t == LAB_TARGET_SERVER && !d->n_bootsrv) {
		snprintf(err, errcap, "no Bootstrap Server in this process (--bootstrap-server)");
		return -ENOTSUP;
	}
	if (strcmp(action, "set") == 0) {
		struct buf doc;
		if (card && (rc = ctl_bootstrap_set(ctx, path, reply, err, errcap)) != 0)
			return rc;
		buf_init(&doc, PROFILE_FILE_MAX);
		if (server && d->n_bootsrv) {
			rc = read_doc(path, &doc);
			if (rc)
				snprintf(err, errcap, "%s: %s", path, strerror(-rc));
		}
		for (size_t i = 0; server && !rc && i < d->n_bootsrv; i++)
			rc = scws_server_set_document(d->bootsrv[i].srv, doc.len ? doc.p : (const uint8_t *)"",
						      doc.len, !looks_xml(doc.p, doc.len));
		if (!rc && server && d->n_bootsrv)
			log_info("control", "Bootstrap Server document set from %s (%zu bytes)", path,
				 doc.len);
		buf_cleanup(&doc);
		return rc;
	}
	bool on = strcmp(action, "on") == 0;
	if (card)
		scws_server_set_bootstrap_enabled(d->srv, on);
	for (size_t i = 0; server && i < d->n_bootsrv; i++)
		scws_server_set_bootstrap_enabled(d->bootsrv[i].srv, on);
	log_info("control", "bootstrap %s on %s", on ? "on" : "off (404 not available)",
		 t == LAB_TARGET_CARD ? "the card" : t == LAB_TARGET_SERVER ? "the Bootstrap Server"
									  : "card and server");
	rc = set_json(reply, "bootstrap", json_string(on ? "on" : "off"));
	return rc ? rc : set_json(reply, "target", json_string(t == LAB_TARGET_CARD ? "card"
							     : t == LAB_TARGET_SERVER ? "server"
										     : "both"));
}

static int report(struct daemon *d, bool at_exit);
static json_t *verdicts_json(struct daemon *d);

static int ctl_requests(void *ctx, unsigned long long since, json_t *reply, char *err,
			size_t errcap)
{
	struct daemon *d = ctx;
	json_t *j = lab_journal_json(d->journal, (uint64_t)since);
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
	struct daemon *d = ctx;
	json_t *v = verdicts_json(d);
	(void)err;
	(void)errcap;
	if (!v || json_object_update(reply, v) != 0) {
		json_decref(v);
		return -ENOMEM;
	}
	json_decref(v);
	(void)report(d, false); /* the --report files, as at exit */
	return 0;
}

static const struct lab_control_ops control_ops = {
	.status = ctl_status,
	.card = ctl_card,
	.bootstrap_enable = ctl_bootstrap_enable,
	.bootstrap_set = ctl_bootstrap_set,
	.reload = ctl_reload,
	.bootstrap_at = ctl_bootstrap_at,
	.requests = ctl_requests,
	.report = ctl_report,
};

static int open_control(struct daemon *d)
{
	if (!d->opt.control)
		return 0;
	char err[512];
	int rc = transport_control_new(d->base, d->opt.control, &d->lc, &d->ctl, err, sizeof(err));
	if (rc) {
		log_err("control", "--control %s", err);
		return rc == -EADDRINUSE || rc == -EEXIST || rc == -EINVAL ? EXIT_USAGE : 1;
	}
	log_info("control", "control socket %s", d->opt.control);
	return 0;
}

/* ---- the client under test: journal, Bootstrap Servers, verdicts */

static bool is_fetch(const struct lab_journal_entry *e)
{
	return e->kind == SCWS_OBS_REQUEST && e->bootstrap && e->status == 200 && e->bytes > 0 &&
	       strcmp(e->method, "HEAD") != 0;
}

static void on_until(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	if (d->fetched)
		log_info("main", "--until-fetched: a client has the bootstrap: stopping");
	else
		log_warn("main", "--until-fetched: %.1f s are up and no client has the bootstrap",
			 d->opt.until_fetched_ms / 1000.0);
	event_base_loopexit(d->base, NULL);
}

/* Every connection and request of every transport (scws/observe.h). */
static void on_observe(void *arg, const struct scws_obs *rec)
{
	struct daemon *d = arg;
	const struct lab_journal_entry *e = lab_journal_add(d->journal, rec);
	if (!e)
		return;
	if (d->journal_fd >= 0) {
		json_t *x = lab_journal_entry_json(e);
		char *line = x ? json_dumps(x, JSON_COMPACT) : NULL;
		int rc = line ? 0 : -ENOMEM;
		if (line) {
			size_t n = strlen(line);
			line[n] = '\n'; /* json_dumps leaves room: its NUL */
			rc = file_write_all(d->journal_fd, line, n + 1);
		}
		free(line);
		json_decref(x);
		if (rc) {
			log_err("main", "--journal %s: %s; the journal stays in memory only",
				d->opt.journal_file, strerror(-rc));
			close(d->journal_fd);
			d->journal_fd = -1;
		}
	}
	if (d->until_ev && !d->fetched && is_fetch(e)) {
		/* A short grace: the client may still close, or fetch again. */
		struct timeval tv = { LAB_FETCHED_GRACE_MS / 1000, (LAB_FETCHED_GRACE_MS % 1000) * 1000 };
		d->fetched = true;
		event_del(d->until_ev);
		event_add(d->until_ev, &tv);
	}
}

static int open_journal(struct daemon *d)
{
	d->journal_fd = -1;
	d->journal = lab_journal_new(0);
	if (!d->journal)
		return 1;
	scws_server_set_observer(d->srv, on_observe, d);
	if (d->opt.journal_file) {
		d->journal_fd = file_open_private(d->opt.journal_file, false, 0600);
		if (d->journal_fd < 0) {
			log_err("main", "--journal %s: %s", d->opt.journal_file,
				strerror(-d->journal_fd));
			d->journal_fd = -1;
			return EXIT_USAGE;
		}
	}
	if (d->opt.until_fetched_ms) {
		struct timeval tv = { d->opt.until_fetched_ms / 1000,
				      (d->opt.until_fetched_ms % 1000) * 1000 };
		d->until_ev = evtimer_new(d->base, on_until, d);
		if (!d->until_ev || evtimer_add(d->until_ev, &tv) != 0)
			return 1;
	}
	return 0;
}

/* XML when the document starts (after a BOM and blanks) with '<'. */
static bool looks_xml(const uint8_t *p, size_t n)
{
	size_t i = 0;
	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		i = 3;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i < n && p[i] == '<';
}

static int read_doc(const char *path, struct buf *out)
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

/* --bootstrap-server: the same endpoint over HTTPS outside the card, with
 * its own certificate (pki/bootsrv.crt) and path. */
static int open_bootstrap_servers(struct daemon *d)
{
	struct buf doc;
	char cert[PATH_MAX], key[PATH_MAX], err[512];
	int rc = 0;
	if (!d->opt.n_bootstrap_server)
		return 0;
	buf_init(&doc, PROFILE_FILE_MAX);
	if (d->opt.bootstrap_server_doc) {
		rc = read_doc(d->opt.bootstrap_server_doc, &doc);
		if (rc) {
			log_err("main", "--bootstrap-server-doc %s: %s", d->opt.bootstrap_server_doc,
				rc == -EMSGSIZE ? "larger than the profile file limit"
						: strerror(-rc));
			buf_cleanup(&doc);
			return EXIT_USAGE;
		}
		if (doc.len) {
			/* Checked as a card's bootstrap is: it must convert. */
			struct buf conv;
			buf_init(&conv, SCWS_CONVERT_MAX);
			rc = looks_xml(doc.p, doc.len)
				     ? codec_wbxml_encode(doc.p, doc.len, &conv, err, sizeof(err))
				     : codec_wbxml_decode(doc.p, doc.len, &conv, err, sizeof(err));
			buf_cleanup(&conv);
			if (rc) {
				log_err("main", "--bootstrap-server-doc %s: not a DM bootstrap in XML "
					"or WBXML: %s", d->opt.bootstrap_server_doc, err);
				buf_cleanup(&doc);
				return EXIT_USAGE;
			}
		}
		if (!doc.len)
			log_info("main", "--bootstrap-server-doc %s is empty: the Bootstrap Server "
				 "answers 404 (not available)", d->opt.bootstrap_server_doc);
	}
	config_data_path("pki/bootsrv.crt", cert, sizeof(cert));
	config_data_path("pki/bootsrv.key", key, sizeof(key));
	struct tcpip_limits lim = {
		.idle_timeout_ms = d->opt.idle_timeout_ms,
		.deadlines = deadlines(d),
		.admit = d->admit,
	};
	for (size_t i = 0; i < d->opt.n_bootstrap_server && !rc; i++) {
		const struct cli_bootstrap_server *o = &d->opt.bootstrap_server[i];
		struct bootsrv *b = &d->bootsrv[d->n_bootsrv];
		struct scws_tls_config cfg;
		uint16_t port;
		b->srv = scws_server_new();
		if (!b->srv) {
			rc = 1;
			break;
		}
		d->n_bootsrv++;
		scws_server_set_observer(b->srv, on_observe, d);
		struct scws_fault_hooks fh = {
			.response = fault_response, .handshake = fault_handshake,
			.arg = &d->side_server,
		};
		scws_server_set_fault_hooks(b->srv, &fh);
		if ((rc = load_into(d, b->srv, NULL, 0, NULL, 0)) != 0)
			break;
		scws_tls_config_init(&cfg);
		cfg.cert_file = cert;
		cfg.key_file = key;
		if (scws_server_set_tls(b->srv, &cfg, err, sizeof(err)) != 0) {
			log_err("main", "--bootstrap-server: %s", err);
			rc = 1;
			break;
		}
		static const uint8_t none[1];
		if (scws_server_set_bootstrap_path(b->srv, o->path) != 0 ||
		    (d->opt.bootstrap_server_doc &&
		     scws_server_set_document(b->srv, doc.len ? doc.p : none, doc.len,
					      !looks_xml(doc.p, doc.len)) != 0)) {
			rc = 1;
			break;
		}
		b->tcpip = transport_tcpip_new(d->base, b->srv, &lim);
		if (!b->tcpip) {
			rc = 1;
			break;
		}
		transport_tcpip_set_name(b->tcpip, "server");
		if (transport_tcpip_listen(b->tcpip, o->addr.host, o->addr.port, true, &port, err,
					   sizeof(err)) != 0) {
			log_err("main", "--bootstrap-server: %s", err);
			rc = 1;
			break;
		}
		struct endpoint *e = add_endpoint(d, "server", "https", o->addr.host, port, 0);
		if (e)
			e->path = o->path;
	}
	buf_cleanup(&doc);
	return rc;
}

static json_t *verdicts_json(struct daemon *d)
{
	struct lab_verdict_ctx ctx = { .has_server = d->n_bootsrv > 0 };
	struct lab_verdicts *v = NULL;
	if (lab_verdict_judge(d->journal, &ctx, &v) != 0)
		return NULL;
	json_t *x = lab_verdict_json(v);
	lab_verdicts_free(v);
	return x;
}

/* The verdicts to the report files; at exit also a summary to stderr. The
 * --until-fetched exit status, or -1 when not asked. */
static int report(struct daemon *d, bool at_exit)
{
	struct lab_verdict_ctx ctx = { .has_server = d->n_bootsrv > 0 };
	struct lab_verdicts *v = NULL;
	struct buf b;
	int status = -1;
	if (!d->journal || (!d->opt.report_file && !d->opt.report_json && !d->opt.until_fetched_ms))
		return -1;
	if (lab_verdict_judge(d->journal, &ctx, &v) != 0) {
		log_err("main", "verdicts: out of memory");
		return d->opt.until_fetched_ms ? 1 : -1;
	}
	buf_init(&b, 64u * 1024u * 1024u);
	if (d->opt.report_file) {
		int rc = lab_verdict_junit(v, &b);
		rc = rc ? rc : file_write_atomic(d->opt.report_file, b.p, b.len, 0644);
		if (rc)
			log_err("main", "--report %s: %s", d->opt.report_file, strerror(-rc));
		buf_reset(&b);
	}
	if (d->opt.report_json) {
		json_t *x = lab_verdict_json(v);
		char *s = x ? json_dumps(x, JSON_INDENT(2)) : NULL;
		int rc = s ? buf_append_str(&b, s) : -ENOMEM;
		rc = rc ? rc : buf_append_u8(&b, '\n');
		rc = rc ? rc : file_write_atomic(d->opt.report_json, b.p, b.len, 0644);
		if (rc)
			log_err("main", "--report-json %s: %s", d->opt.report_json, strerror(-rc));
		free(s);
		json_decref(x);
		buf_reset(&b);
	}
	if (at_exit && lab_verdict_text(v, &b) == 0)
		fwrite(b.p, 1, b.len, stderr);
	if (d->opt.until_fetched_ms)
		status = lab_verdict_exit_status(v);
	buf_cleanup(&b);
	lab_verdicts_free(v);
	return status;
}

/* The CA of the card --card names (the shipped one when the profile has
 * no certificate or does not load). */
static void find_ca_file(struct daemon *d)
{
	struct profile *p = NULL;
	struct profile_error perr;
	if (!d->opt.reader && profile_load(d->card_dir, &p, &perr) == 0) {
		config_ca_path(p->tls.cert_file, d->ca_file, sizeof(d->ca_file));
		profile_free(p);
		return;
	}
	config_ca_path(NULL, d->ca_file, sizeof(d->ca_file));
}

/* --check-setup: 0 when every requirement is met, else 1. */
static int check_setup(struct daemon *d)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	snprintf(exe + (n > 0 ? n : 0), sizeof(exe) - (size_t)(n > 0 ? n : 0), "%s",
		 n > 0 ? "" : "scwsemu");
	find_ca_file(d);
	unsigned fixes = transport_check_setup(&d->opt, exe, d->ca_file, stdout);
	if (fixes)
		printf("%u requirement%s to fix (doc: scwsemu(1), SERVING A REAL CLIENT)\n", fixes,
		       fixes == 1 ? "" : "s");
	else
		printf("everything https://localuicc:443 needs is in place\n");
	return fixes ? 1 : 0;
}

static uint64_t ms_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)(now.tv_sec - t0->tv_sec) * 1000 +
		     (now.tv_nsec - t0->tv_nsec) / 1000000;
	return ms < 0 ? 0 : (uint64_t)ms;
}

/* Runs every step whose condition holds, then waits for the next one. */
static void on_scenario(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	const struct lab_step *st;
	(void)fd;
	(void)what;
	while ((st = lab_scenario_due(d->scenario, ms_since(&d->ready_at),
				      scws_server_responses(d->srv, 0))) != NULL) {
		json_t *reply = lab_control_run(&d->lc, &st->req);
		char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
		char words[256] = "";
		size_t off = 0;
		for (size_t i = 0; i < st->req.argc && off < sizeof(words); i++) {
			int n = snprintf(words + off, sizeof(words) - off, "%s%s", i ? " " : "",
					 st->req.argv[i]);
			off += n > 0 ? (size_t)n : 0;
		}
		bool ok = reply && json_is_true(json_object_get(reply, "ok"));
		if (ok)
			log_info("scenario", "%s:%u: %s: %s", d->scenario->name, st->line, words,
				 text ? text : "");
		else
			log_warn("scenario", "%s:%u: %s: %s", d->scenario->name, st->line, words,
				 text ? text : "out of memory");
		free(text);
		json_decref(reply);
	}
	int64_t wait = lab_scenario_wait_ms(d->scenario, ms_since(&d->ready_at));
	if (wait >= 0) {
		struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
		evtimer_add(d->ev_scenario, &tv);
	} else if (lab_scenario_done(d->scenario)) {
		log_info("scenario", "%s: every step ran", d->scenario->name);
	}
}

/* After each response (inside a connection's processing): the steps run
 * from the loop, never from here. */
static void on_response(void *arg, int status)
{
	struct daemon *d = arg;
	(void)status;
	if (!lab_scenario_done(d->scenario) && !evtimer_pending(d->ev_scenario, NULL))
		event_active(d->ev_scenario, EV_TIMEOUT, 0);
}

int main(int argc, char **argv)
{
	struct daemon d;
	memset(&d, 0, sizeof(d));
	d.journal_fd = -1;
	char err[512];
	int rc = cli_parse(argc, argv, &d.opt, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "scwsemu: %s\nTry 'scwsemu --help'.\n", err);
		cli_options_cleanup(&d.opt);
		return EXIT_USAGE;
	}
	if (d.opt.show_help || d.opt.show_version) {
		fputs(d.opt.show_help ? cli_usage() : "scwsemu " PACKAGE_VERSION "\n", stdout);
		cli_options_cleanup(&d.opt);
		return 0;
	}
	log_setup(d.opt.verbosity < 0 ? LOG_WARN : d.opt.verbosity > 1 ? LOG_DEBUG : LOG_INFO,
		  d.opt.log_json);
	if (d.opt.ready_file && !d.opt.check_setup && !d.opt.print_paths) {
		rc = claim_ready_file(d.opt.ready_file);
		if (rc) {
			cli_options_cleanup(&d.opt);
			return rc;
		}
	}
	if (d.opt.scenario &&
	    lab_scenario_load(d.opt.scenario, &d.scenario, err, sizeof(err)) != 0) {
		log_err("scenario", "%s", err);
		cli_options_cleanup(&d.opt);
		return EXIT_USAGE;
	}
	if (d.opt.reader)
		snprintf(d.card_dir, sizeof(d.card_dir), "pcsc:%s", d.opt.reader);
	else
		config_card_path(d.opt.card_dir ? d.opt.card_dir : "default", d.card_dir,
				 sizeof(d.card_dir));
	if (d.opt.print_paths || d.opt.check_setup) {
		if (d.opt.print_paths) {
			find_ca_file(&d);
			config_print_paths(stdout, d.card_dir, d.ca_file);
		}
		rc = d.opt.check_setup ? check_setup(&d) : 0;
		cli_options_cleanup(&d.opt);
		return rc;
	}

	signal(SIGPIPE, SIG_IGN);
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	d.srv = scws_server_new();
	d.base = event_base_new();
	d.faults = lab_faults_new();
	d.admit = admit_new(d.opt.max_clients, d.opt.max_clients_per_peer);
	if (!d.srv || !d.base || !d.faults || !d.admit) {
		rc = 1;
		goto out;
	}
	d.side_card = (struct fault_side){ &d, LAB_TARGET_CARD };
	d.side_server = (struct fault_side){ &d, LAB_TARGET_SERVER };
	struct scws_fault_hooks hooks = {
		.response = fault_response, .handshake = fault_handshake,
		.apdu_sw = fault_apdu_sw, .arg = &d.side_card,
	};
	scws_server_set_fault_hooks(d.srv, &hooks);
	scws_server_set_auth_throttle(d.srv, d.opt.auth_fail_limit, d.opt.auth_fail_window_ms);
	/* Control commands come from the socket and from the scenario. */
	d.lc.ops = &control_ops;
	d.lc.ctx = &d;
	d.lc.faults = d.faults;
	if (!d.opt.reader) {
		rc = load_card(&d, true, NULL, 0);
		if (rc)
			goto out;
	}
	rc = open_journal(&d);
	if (rc)
		goto out;
	{
		const struct profile *p = scws_server_profile(d.srv);
		config_ca_path(p ? p->tls.cert_file : NULL, d.ca_file, sizeof(d.ca_file));
	}
	ev_term = evsignal_new(d.base, SIGTERM, on_stop, &d);
	ev_int = evsignal_new(d.base, SIGINT, on_stop, &d);
	ev_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	if (!ev_term || !ev_int || !ev_hup || event_add(ev_term, NULL) || event_add(ev_int, NULL) ||
	    event_add(ev_hup, NULL)) {
		rc = 1;
		goto out;
	}
	rc = open_trace(&d);
	if (rc)
		goto out;
	if (d.opt.no_bip && d.opt.no_tcpip && !d.opt.vpcd && !d.opt.reader &&
	    !d.opt.n_bootstrap_server) {
		log_err("main", "--no-bip and --no-tcpip leave nothing to serve (keep one of them, "
			"or give --vpcd or --bootstrap-server)");
		rc = EXIT_USAGE;
		goto out;
	}
	rc = d.opt.reader ? open_reader(&d) : open_bip(&d);
	if (rc)
		goto out;
	rc = open_tcpip(&d);
	if (rc)
		goto out;
	rc = open_bootstrap_servers(&d);
	if (rc)
		goto out;
	rc = open_control(&d);
	if (rc)
		goto out;
	if (d.n_endpoints == 0 && !d.vpcd && !(d.watch && !d.gw_started)) {
		log_err("main", "no listener could be opened: nothing to serve");
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < d.n_endpoints; i++) {
		char url[256];
		endpoint_url(&d.endpoints[i], url, sizeof(url));
		log_info("main", "serving %s (%s)", url, d.endpoints[i].transport);
	}
	publish_urls(&d);
	/* Over PC/SC without a card yet, the ready file waits for its channels. */
	if (d.n_endpoints && write_ready_file(&d) != 0) {
		rc = 1;
		goto out;
	}
	if (d.vpcd)
		(void)sd_notify(0, "READY=1");
	d.running = true;
	if (d.scenario) {
		d.ev_scenario = evtimer_new(d.base, on_scenario, &d);
		if (!d.ev_scenario) {
			rc = 1;
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &d.ready_at);
		scws_server_set_response_hook(d.srv, on_response, &d);
		log_info("scenario", "%s: %zu steps", d.scenario->name, d.scenario->n_steps);
		event_active(d.ev_scenario, EV_TIMEOUT, 0);
	}
	event_base_dispatch(d.base);
	rc = d.exit_rc;
out:
	if (d.ready_written)
		unlink(d.opt.ready_file);
	transport_control_free(d.ctl);
	if (d.ev_scenario)
		event_free(d.ev_scenario);
	lab_scenario_free(d.scenario);
	transport_tcpip_free(d.tcpip);
	for (size_t i = 0; i < d.n_bootsrv; i++)
		transport_tcpip_free(d.bootsrv[i].tcpip);
	close_bip(&d); /* the last connections go into the journal */
	admit_free(d.admit);
	if (d.running) {
		int status = report(&d, true);
		if (status >= 0)
			rc = status;
	}
	for (size_t i = 0; i < d.n_bootsrv; i++)
		scws_server_free(d.bootsrv[i].srv);
	if (d.until_ev)
		event_free(d.until_ev);
	if (d.journal_fd >= 0)
		close(d.journal_fd);
	lab_journal_free(d.journal);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	scws_server_free(d.srv);
	lab_faults_free(d.faults); /* after every hook that may fire one */
	trace_pcap_free(d.pcap);
	transport_gsmtap_udp_free(d.gsmtap);
	if (d.base)
		event_base_free(d.base);
	cli_options_cleanup(&d.opt);
	return rc;
}
