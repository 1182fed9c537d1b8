/* daemon.h - the scwsemu daemon: a rack of cards around one event loop.
 *
 * The process (struct daemon, main.c) owns what every card shares: the
 * options, the event loop, the client limits, the trace sinks, the control
 * socket, the scenario, the Bootstrap Servers, the ready file and the
 * reports. Each card (struct unit, unit.c) owns everything else: its
 * profile, its file system and proactive engine, its SCWS with its TLS
 * context and credentials, its BIP gateway (or vpcd attachment, or PC/SC
 * reader), its TCP/IP listeners, its journal, its faults and its counters.
 * Nothing below this directory knows there is more than one card.
 *
 * Ports of a rack (doc/scwsemu.1, MANY CARDS): card i's card port P listens
 * on the host port of --port-map NAME:P=H, else of an unnamed --port-map
 * P=H, else --port-base N + i*stride + j (j: P's place among the card's
 * BIP ports, TCP/IP last), else P itself (BIP) or the --tcpip port. */
#ifndef SCWS_DAEMON_DAEMON_H
#define SCWS_DAEMON_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "config/cli.h"
#include "lab/control.h"
#include "lab/fault.h"
#include "lab/verdict.h"
#include "scws/conn.h"
#include "transport/bip_sink.h"

#define EXIT_USAGE 2
#define ENDPOINTS_MAX (CLI_ADDRS_MAX * 8)
/* TS 102 483: the card's own HTTPS port behind the name localuicc. */
#define TCPIP_CARD_PORT 443

struct buf;
struct event;
struct event_base;

struct endpoint {
	const char *transport; /* "bip", "tcpip", "server" */
	const char *scheme;
	char host[64];
	uint16_t port;
	uint16_t card_port;
	const char *path; /* NULL: the SCWS's /OMA/DM/Bootstrap.xml */
};

struct unit;

/* Which side a server's fault hooks speak for (target=card|server). */
struct fault_side {
	struct unit *u;
	enum lab_fault_target target;
};

/* --bootstrap-server: the endpoint outside the card, one per address. It
 * answers from the first card's profile and journals into that card. */
struct bootsrv {
	struct scws_server *srv;
	struct tcpip_server *tcpip;
};

/* One card of the rack. */
struct unit {
	struct daemon *d;
	size_t index;                         /* place in the rack: the --port-base slot */
	char name[PROFILE_NAME_MAX];          /* --card NAME=, else the directory's name */
	char card_dir[PATH_MAX];              /* "pcsc:READER" for a --reader card */
	const char *reader;                   /* --reader: the PC/SC reader; NULL otherwise */
	char vpcd_at[TRANSPORT_HOST_MAX + 8]; /* --vpcd HOST:PORT+index; "" otherwise */
	char ca_file[PATH_MAX];               /* the test CA that signed the card's certificate */
	struct scws_server *srv;
	struct tcpip_server *tcpip;
	/* The card as terminals see it (BIP): its own file system, built from
	 * the profile at start-up; the SCWS inside reads the server's copy,
	 * which a reload replaces. */
	struct card_fs *card_fs;
	struct card *card;
	struct card_bip *bip;
	void *link_ctx;
	const struct card_link_ops *link_ops;
	struct bip_gw *gw;
	struct bip_sink_ctx sink; /* the SCWS behind the card's channels */
	struct transport_vpcd *vpcd;
	struct transport_pcsc_watch *watch; /* --reader */
	bool gw_started;
	bool card_out; /* `card remove`: until `card insert` */
	struct endpoint endpoints[ENDPOINTS_MAX];
	size_t n_endpoints;
	/* The control commands for this card, its faults and its journal. */
	struct lab_control lc;
	struct lab_faults *faults;
	struct fault_side side_card, side_server;
	struct lab_journal *journal;
	bool fetched; /* a client received this card's bootstrap */
};

struct daemon {
	struct cli_options opt;
	struct event_base *base;
	struct admit
		*admit;     /* --max-clients, --max-clients-per-peer: every card, every transport */
	bool running;       /* the event loop runs: start-up has logged and written its own */
	bool ready_written; /* the ready file is ours to remove at exit */
	int exit_rc;        /* set before event_base_loopexit on a fatal event */
	/* Trace sinks: every APDU exchange of every card, whichever link carries it. */
	struct trace_pcap *pcap;
	struct transport_gsmtap_udp *gsmtap;
	/* The control socket (--control): the rack's processor picks a card. */
	struct lab_control lc;
	struct transport_control *ctl;
	/* --scenario: its steps run from ev_scenario (a timer for at=, made
	 * active after each response for after-requests=). */
	struct lab_scenario *scenario;
	struct event *ev_scenario;
	struct timespec ready_at;
	/* The client under test: --journal, the Bootstrap Servers, --until-fetched. */
	int journal_fd; /* -1: no --journal */
	struct bootsrv bootsrv[CLI_ADDRS_MAX];
	size_t n_bootsrv;
	struct event *until_ev; /* --until-fetched: time is up, or the grace after the fetches */
	/* The rack, in command-line order (--cards DIR: by name). */
	struct unit **units;
	size_t n_units;
};

/* ---- the process (main.c), for the cards */

/* The ready file again (after a card left, came back or opened new ports). */
void daemon_endpoints_changed(struct daemon *d);
/* A card's bootstrap was received: --until-fetched stops once every card's was. */
void daemon_fetched(struct daemon *d);
/* Every --journal line of every card. */
void daemon_journal_line(struct daemon *d, const struct unit *u, json_t *entry);

/* ---- one card (unit.c) */

/* A card named name from dir (or the gateway of reader): allocated, faults
 * and journal ready, nothing loaded or opened. NULL when memory ran out. */
struct unit *unit_new(struct daemon *d, size_t index, const char *name, const char *dir,
		      const char *reader);
void unit_free(struct unit *u);
/* Loads the profile (not for a reader): 0, or EXIT_USAGE after logging why
 * (also in why). initial: the first load, else a reload (SIGHUP, `reload`),
 * which keeps the previous profile on failure. */
int unit_load(struct unit *u, bool initial, char *why, size_t whycap);
/* Loads the profile into another server (a Bootstrap Server's copy). */
int unit_load_into(struct unit *u, struct scws_server *srv, char *why, size_t whycap);
/* Opens the card's BIP side (in-process gateway, --vpcd or --reader) and
 * its TCP/IP listeners: 0, or an exit status after logging why. */
int unit_open(struct unit *u);
/* Closes every connection and listener of the card (they go into the journal). */
void unit_close(struct unit *u);
/* SIGHUP for this card. */
void unit_reload(struct unit *u);
/* The card is in (not removed; for a reader: a card is in the reader). */
bool unit_present(const struct unit *u);
/* The card has something to serve (a listener, vpcd, or a reader awaited). */
bool unit_serving(const struct unit *u);
void unit_log_endpoints(const struct unit *u);
void endpoint_url(const struct endpoint *e, char *out, size_t cap);
struct endpoint *unit_add_endpoint(struct unit *u, const char *transport, const char *scheme,
				   const char *host, uint16_t port, uint16_t card_port);
/* The card's served URLs to its SCWS, for its index page. */
void unit_publish_urls(struct unit *u);
/* The host port card port cp of u listens on (doc above), or -1 when no
 * rule names it. slot: cp's place among the card's ports. */
int unit_host_port(const struct unit *u, uint16_t cp, size_t slot);
/* The card's status for `status` (and, short, for the rack's summary). */
int unit_status(struct unit *u, json_t *reply, bool brief);
/* The verdicts on this card's clients; NULL when memory ran out. */
struct lab_verdicts *unit_verdicts(struct unit *u);
/* The scws_conn deadlines of every transport. */
struct scws_conn_deadlines daemon_deadlines(const struct daemon *d);
/* APDU trace hook (arg: the daemon). */
void daemon_trace_apdu(void *arg, const uint8_t *capdu, size_t clen, const uint8_t *rapdu,
		       size_t rlen);
bool daemon_tracing(const struct daemon *d);
/* The verdicts to the --report files (at exit also a summary to stderr);
 * the --until-fetched exit status, or -1 when not asked. */
int daemon_report(struct daemon *d, bool at_exit);
/* The first card's journal and faults for a Bootstrap Server. */
void unit_attach_bootsrv(struct unit *u, struct scws_server *srv);

/* A whole file into out: 0 or a negative errno. */
int doc_read(const char *path, struct buf *out);

#endif
