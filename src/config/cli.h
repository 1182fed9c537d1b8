/* cli.h - the scwsemu command line (doc/design.md §4.1).
 *
 * cli_parse() only parses and validates syntax; it opens nothing. The
 * result is immutable after parsing; cli_options_cleanup() frees it. */
#ifndef SCWS_CONFIG_CLI_H
#define SCWS_CONFIG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

/* A listen address: host is a numeric IPv4 or IPv6 literal (no brackets). */
struct cli_addr {
	char host[64];
	uint16_t port;
	bool is_default; /* a default the daemon may skip with a warning */
};

/* --port-map [NAME:]CARD=HOST: NAME "" applies to every card. */
struct cli_port_map {
	char card[PROFILE_NAME_MAX];
	uint16_t card_port;
	uint16_t host_port; /* 0 = ephemeral */
};

/* --card [NAME=]DIR|SHIPPED, or --reader [NAME=]READER: one card of the
 * rack. name "" until the daemon names it (the directory's name). */
struct cli_card {
	char name[PROFILE_NAME_MAX];
	char *dir;    /* --card: the profile directory or shipped name */
	char *reader; /* --reader: the PC/SC reader (the gateway only) */
};

/* --bootstrap-server ADDR:PORT[/PATH] */
struct cli_bootstrap_server {
	struct cli_addr addr;
	char path[128]; /* "/bootstrap" when not given */
};

struct cli_options {
	char *card_dir; /* the first --card (cards[0].dir); NULL = the default card */
	struct cli_card cards[CLI_CARDS_MAX]; /* --card and --reader, in order */
	size_t n_cards;
	char *cards_dir;      /* --cards DIR: every profile directory under DIR */
	unsigned port_base;   /* --port-base N: card i's j-th port on N + i*stride + j; 0: off */
	unsigned port_stride; /* --port-stride S (default RACK_PORT_STRIDE_DEFAULT) */
	struct cli_addr tcpip[CLI_ADDRS_MAX];
	size_t n_tcpip;
	bool no_tcpip;
	bool no_bip;
	struct cli_addr bip_listen[CLI_ADDRS_MAX]; /* port unused */
	size_t n_bip_listen;                       /* 0: 127.0.0.1 and ::1 */
	struct cli_port_map port_map[CLI_PORT_MAPS_MAX];
	size_t n_port_map;
	char *ready_file;
	char *trace_file; /* --trace FILE.pcap */
	char *gsmtap;     /* --gsmtap HOST[:PORT] */
	char *vpcd;       /* --vpcd HOST:PORT: the card only, on vsmartcard's vpcd */
	char *reader;     /* the first --reader (cards[0].reader): the gateway only, over PC/SC */
	char *control;    /* --control PATH: the control socket */
	/* The client under test (journal, verdicts, the Bootstrap Server). */
	char *journal_file;        /* --journal FILE: JSON lines, appended */
	char *report_file;         /* --report FILE.xml: JUnit */
	char *report_json;         /* --report-json FILE */
	unsigned until_fetched_ms; /* --until-fetched SECONDS; 0 = off */
	struct cli_bootstrap_server bootstrap_server[CLI_ADDRS_MAX];
	size_t n_bootstrap_server;
	char *bootstrap_server_doc; /* --bootstrap-server-doc FILE */
	char *scenario;             /* --scenario FILE: control commands replayed */
	bool log_json;
	int verbosity; /* -1 quiet, 0 normal, 1.. verbose */
	unsigned idle_timeout_ms;
	unsigned request_timeout_ms;   /* a request's head and body, from its first byte */
	unsigned handshake_timeout_ms; /* the TLS handshake, from the connection */
	unsigned head_timeout_ms;      /* a request's head, from its first byte */
	unsigned keepalive_timeout_ms; /* between an answer and the next request's first byte */
	unsigned max_clients;          /* connections at once, every transport */
	unsigned max_clients_per_peer; /* ... from one peer address */
	unsigned auth_fail_limit;      /* failed credential attempts per window; 0: no limit */
	unsigned auth_fail_window_ms;
	bool show_help;
	bool show_version;
	bool check_setup; /* --check-setup: report what serving a real client needs */
	bool print_paths; /* --print-paths: data directory, cards, CA file */
};

/* 0 on success (check show_help/show_version); -EINVAL with a one-line
 * message in err for bad usage (the daemon exits 2). */
__attribute__((warn_unused_result)) int cli_parse(int argc, char **argv, struct cli_options *opt,
						  char *err, size_t errcap);
void cli_options_cleanup(struct cli_options *opt);

/* "127.0.0.1:443", "[::1]:443", "localhost:443" is refused (numeric only).
 * with_port false accepts a bare address ("::1", "127.0.0.1"). */
__attribute__((warn_unused_result)) int cli_parse_addr(const char *s, bool with_port,
						       struct cli_addr *out, char *err,
						       size_t errcap);

const char *cli_usage(void);

/* A card name: 1..PROFILE_NAME_MAX-1 of [A-Za-z0-9._-], not "." or "..". */
bool cli_card_name_ok(const char *s, size_t len);

#endif
