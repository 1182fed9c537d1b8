/* main.c - scwsemu: wiring only (options -> a rack of cards -> event loop).
 * One card is daemon/unit.c; what the cards share is here (daemon/daemon.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "codec/wbxml.h"
#include "config/cli.h"
#include "config/paths.h"
#include "config/profile.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/timeval.h"
#include "daemon/daemon.h"
#include "lab/control.h"
#include "lab/journal.h"
#include "lab/scenario.h"
#include "lab/verdict.h"
#include "scws/server.h"
#include "scws/tls.h"
#include "transport/admit.h"
#include "transport/control.h"
#include "transport/gsmtap_udp.h"
#include "transport/setup_check.h"
#include "transport/tcpip.h"
#include "trace/pcap.h"

/* One set of deadlines for every transport (scws/conn.h). */
struct scws_conn_deadlines daemon_deadlines(const struct daemon *d)
{
	struct scws_conn_deadlines dl = {
		.handshake_ms = d->opt.handshake_timeout_ms,
		.head_ms = d->opt.head_timeout_ms,
		.request_ms = d->opt.request_timeout_ms,
		.keepalive_ms = d->opt.keepalive_timeout_ms,
	};
	return dl;
}

/* ---- the ready file */

static json_t *endpoint_json(const struct endpoint *e, const char *card)
{
	char url[256];
	endpoint_url(e, url, sizeof(url));
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "transport", e->transport, "scheme",
			      e->scheme, "host", e->host, "port", (int)e->port, "card_port",
			      (int)e->card_port, "url", url);
	if (o && card && json_object_set_new(o, "card", json_string(card)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {"pid", "card", "ca", "control", "endpoints": [every card's], "cards":
 * [{"name", "card", "ca", "endpoints"}]}: written whole through core/file
 * (mkstemp + rename, mode 0644), so a reader never sees half a file;
 * systemd hears READY=1 at the same moment. */
static int write_ready_file(struct daemon *d)
{
	if (!d->opt.ready_file) {
		(void)sd_notify(0, "READY=1");
		return 0;
	}
	const struct unit *first = d->units[0];
	json_t *root = json_pack("{s:I, s:s, s:s}", "pid", (json_int_t)getpid(), "card",
				 first->card_dir, "ca", first->ca_file);
	json_t *all = json_array(), *cards = json_array();
	int rc = root && all && cards ? 0 : -ENOMEM;
	if (!rc && d->ctl)
		rc = json_object_set_new(root, "control",
					 json_string(transport_control_path(d->ctl)))
			     ? -ENOMEM
			     : 0;
	for (size_t i = 0; i < d->n_units && !rc; i++) {
		const struct unit *u = d->units[i];
		json_t *eps = json_array();
		json_t *c = json_pack("{s:s, s:s, s:s}", "name", u->name, "card", u->card_dir, "ca",
				      u->ca_file);
		rc = eps && c ? 0 : -ENOMEM;
		for (size_t j = 0; j < u->n_endpoints && !rc; j++) {
			const struct endpoint *e = &u->endpoints[j];
			rc = json_array_append_new(eps, endpoint_json(e, NULL)) ||
					     json_array_append_new(
						     all, endpoint_json(e, d->n_units > 1 ? u->name
											  : NULL))
				     ? -ENOMEM
				     : 0;
		}
		if (!rc && json_object_set(c, "endpoints", eps) == 0 &&
		    json_array_append(cards, c) == 0)
			rc = 0;
		else if (!rc)
			rc = -ENOMEM;
		json_decref(eps);
		json_decref(c);
	}
	if (!rc &&
	    (json_object_set(root, "endpoints", all) || json_object_set(root, "cards", cards)))
		rc = -ENOMEM;
	char *text = rc ? NULL : json_dumps(root, JSON_PRESERVE_ORDER);
	if (!rc && !text)
		rc = -ENOMEM;
	if (!rc) {
		size_t n = strlen(text);
		text[n] = '\n'; /* json_dumps leaves room: its NUL */
		rc = file_write_atomic(d->opt.ready_file, text, n + 1, 0644);
	}
	free(text);
	json_decref(all);
	json_decref(cards);
	json_decref(root);
	if (rc) {
		log_err("main", "cannot write ready file %s: %s", d->opt.ready_file, strerror(-rc));
		return -1;
	}
	d->ready_written = true;
	(void)sd_notify(0, "READY=1");
	return 0;
}

void daemon_endpoints_changed(struct daemon *d)
{
	if (d->running && d->opt.ready_file)
		(void)write_ready_file(d);
}

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
			log_err("main",
				"ready file %s belongs to scwsemu pid %ld, which is still "
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

/* ---- signals */

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	(void)what;
	log_info("main", "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopexit(d->base, NULL);
}

/* Each card reloads on its own: one that fails keeps its previous profile. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	(void)sig;
	(void)what;
	if (d->n_units == 1 && !d->units[0]->reader)
		log_info("main", "SIGHUP: reloading %s", d->units[0]->card_dir);
	else if (!d->units[0]->reader)
		log_info("main", "SIGHUP: reloading %zu cards", d->n_units);
	for (size_t i = 0; i < d->n_units; i++)
		unit_reload(d->units[i]);
}

/* ---- trace sinks: every APDU exchange of every card */

void daemon_trace_apdu(void *arg, const uint8_t *capdu, size_t clen, const uint8_t *rapdu,
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

bool daemon_tracing(const struct daemon *d)
{
	return d->pcap || d->gsmtap;
}

static int open_trace(struct daemon *d)
{
	char err[256];
	if (d->opt.trace_file) {
		int rc = trace_pcap_open(d->opt.trace_file, &d->pcap);
		if (rc == -ELOOP) {
			log_err("trace",
				"--trace %s: is a symbolic link; refusing to write through "
				"it (remove the link or give another path)",
				d->opt.trace_file);
			return 1;
		}
		if (rc == -EPERM || rc == -EINVAL) {
			log_err("trace",
				"--trace %s: %s; refusing to write to it (remove it or "
				"give another path)",
				d->opt.trace_file,
				rc == -EPERM ? "a file owned by another user"
					     : "not a regular file");
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

/* ---- the rack */

/* The card named name, or NULL. */
static struct unit *find_unit(const struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->n_units; i++)
		if (strcmp(d->units[i]->name, name) == 0)
			return d->units[i];
	return NULL;
}

/* A card named name (checked, unique) at dir or in reader. */
static int add_unit(struct daemon *d, size_t *cap, const char *name, const char *dir,
		    const char *reader)
{
	if (!cli_card_name_ok(name, strlen(name))) {
		log_err("main",
			"'%s' (%s) is not a card name (1 to %u of A-Z a-z 0-9 . _ -): "
			"give --card NAME=%s",
			name, dir ? dir : reader, PROFILE_NAME_MAX - 1, dir ? dir : reader);
		return EXIT_USAGE;
	}
	if (find_unit(d, name)) {
		log_err("main",
			"two cards named '%s' (the second is %s): name one with --card "
			"NAME=DIR",
			name, dir ? dir : reader);
		return EXIT_USAGE;
	}
	if (d->n_units >= RACK_CARDS_MAX) {
		log_err("main", "more than %u cards in one process", RACK_CARDS_MAX);
		return EXIT_USAGE;
	}
	if (d->n_units == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct unit **n = realloc(d->units, ncap * sizeof(*n));
		if (!n)
			return 1;
		d->units = n;
		*cap = ncap;
	}
	struct unit *u = unit_new(d, d->n_units, name, dir, reader);
	if (!u)
		return 1;
	d->units[d->n_units++] = u;
	if (d->opt.vpcd) {
		/* vpcd's slot i listens on its first port + i (doc/scwsemu.1). */
		const char *colon = strrchr(d->opt.vpcd, ':');
		long port = colon ? strtol(colon + 1, NULL, 10) : 0;
		if (!colon || port <= 0 || port + (long)u->index > 65535) {
			if (u->index == 0) {
				snprintf(u->vpcd_at, sizeof(u->vpcd_at), "%s", d->opt.vpcd);
				return 0; /* the vpcd transport says what is wrong */
			}
			log_err("vpcd", "--vpcd %s: card %s needs port %ld + %zu", d->opt.vpcd,
				name, port, u->index);
			return EXIT_USAGE;
		}
		snprintf(u->vpcd_at, sizeof(u->vpcd_at), "%.*s:%ld", (int)(colon - d->opt.vpcd),
			 d->opt.vpcd, port + (long)u->index);
	}
	return 0;
}

/* The last path component of dir (trailing slashes ignored). */
static void base_name(const char *dir, char *out, size_t cap)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	size_t s = n;
	while (s > 0 && dir[s - 1] != '/')
		s--;
	snprintf(out, cap, "%.*s", (int)(n - s), dir + s);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* --cards DIR: every directory under DIR with a card.conf, by name. */
static int add_cards_dir(struct daemon *d, size_t *cap)
{
	const char *dir = d->opt.cards_dir;
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, by_name), rc = 0;
	size_t before = d->n_units;
	if (n < 0) {
		log_err("main", "--cards %s: %s", dir, strerror(errno));
		return EXIT_USAGE;
	}
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX], conf[PATH_MAX + 16];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		snprintf(conf, sizeof(conf), "%s/card.conf", path);
		if (!rc && list[i]->d_name[0] != '.' && stat(conf, &st) == 0 && S_ISREG(st.st_mode))
			rc = add_unit(d, cap, list[i]->d_name, path, NULL);
		free(list[i]);
	}
	free(list);
	if (!rc && d->n_units == before) {
		log_err("main",
			"--cards %s: no card profile under it (a card is a directory with "
			"a card.conf: scwsemu-card new makes one)",
			dir);
		return EXIT_USAGE;
	}
	return rc;
}

/* The rack from --card, --reader and --cards (the default card when none). */
static int build_rack(struct daemon *d)
{
	size_t cap = 0;
	int rc = 0;
	for (size_t i = 0; i < d->opt.n_cards && !rc; i++) {
		const struct cli_card *c = &d->opt.cards[i];
		char name[PROFILE_NAME_MAX], dir[PATH_MAX];
		if (c->reader) {
			if (c->name[0])
				snprintf(name, sizeof(name), "%s", c->name);
			else
				snprintf(name, sizeof(name), "reader%zu", i + 1);
			rc = add_unit(d, &cap, name, NULL, c->reader);
			continue;
		}
		config_card_path(c->dir, dir, sizeof(dir));
		if (c->name[0])
			snprintf(name, sizeof(name), "%s", c->name);
		else
			base_name(dir, name, sizeof(name));
		rc = add_unit(d, &cap, name, dir, NULL);
	}
	if (!rc && d->opt.cards_dir)
		rc = add_cards_dir(d, &cap);
	if (!rc && d->n_units == 0) {
		char dir[PATH_MAX];
		config_card_path("default", dir, sizeof(dir));
		rc = add_unit(d, &cap, "default", dir, NULL);
	}
	if (rc)
		return rc;
	/* --port-map NAME:... names a card of the rack; an unnamed fixed host
	 * port cannot serve several cards. */
	for (size_t i = 0; i < d->opt.n_port_map; i++) {
		const struct cli_port_map *m = &d->opt.port_map[i];
		if (m->card[0] && !find_unit(d, m->card)) {
			log_err("main", "--port-map %s:%u=%u: no card named '%s' (the cards: %s%s)",
				m->card, m->card_port, m->host_port, m->card, d->units[0]->name,
				d->n_units > 1 ? ", ..." : "");
			return EXIT_USAGE;
		}
		if (!m->card[0] && m->host_port && d->n_units > 1) {
			log_err("main",
				"--port-map %u=%u would give %zu cards one host port: give "
				"NAME:%u=PORT per card, %u=0, or --port-base N",
				m->card_port, m->host_port, d->n_units, m->card_port, m->card_port);
			return EXIT_USAGE;
		}
	}
	if (d->opt.port_base && (unsigned long)d->opt.port_base +
						(d->n_units - 1) * d->opt.port_stride +
						d->opt.port_stride - 1 >
					65535) {
		log_err("main",
			"--port-base %u with %zu cards and a stride of %u goes past port "
			"65535",
			d->opt.port_base, d->n_units, d->opt.port_stride);
		return EXIT_USAGE;
	}
	/* A scenario step names a card of the rack. */
	for (size_t i = 0; d->scenario && i < d->scenario->n_steps; i++) {
		const struct lab_step *st = &d->scenario->steps[i];
		if (st->req.card[0] && !find_unit(d, st->req.card)) {
			log_err("scenario", "%s:%u: no card named '%s'", d->scenario->name,
				st->line, st->req.card);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* The soft open-file limit is raised to the hard one, as a daemon that
 * needs many descriptors and never uses select() should: 1,024, a shell's
 * usual soft limit, is below --max-clients' default with the listeners
 * beside it, and a rack of 1,000 cards holds thousands of listeners. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* Descriptors open now (/proc/self/fd), or -1. */
static long open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return -1;
	long n = 0;
	for (struct dirent *e; (e = readdir(dir));)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n - 1; /* the directory's own */
}

/* Once every listener is open: when the open-file limit leaves fewer
 * descriptors than --max-clients beside those open and FD_RESERVE, the
 * total is lowered to fit, so that at the limit the stalled clients make
 * room (admit.h) and the rest wait in the backlog, instead of accept()
 * failing. Said once, with the way out. */
static void fit_clients_to_fds(struct daemon *d)
{
	struct rlimit rl;
	long fds = open_fds();
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || fds < 0)
		return;
	unsigned long long used = (unsigned long long)fds + FD_RESERVE;
	unsigned long long room = rl.rlim_cur > used ? rl.rlim_cur - used : 1;
	unsigned max = admit_max(d->admit);
	if (room >= max)
		return;
	admit_set_max(d->admit, (unsigned)room);
	log_warn("main",
		 "the open-file limit (%llu) leaves room for %llu clients beside the %ld "
		 "descriptors open and %u kept in reserve, not --max-clients %u: further "
		 "clients wait in the backlog. Raise the hard limit (LimitNOFILE= in a unit, "
		 "'ulimit -Hn' as root) or give --max-clients %llu to silence this",
		 (unsigned long long)rl.rlim_cur, room, fds, FD_RESERVE, max, room);
}

static unsigned long rack_responses(const struct daemon *d)
{
	unsigned long n = 0;
	for (size_t i = 0; i < d->n_units; i++)
		n += scws_server_responses(d->units[i]->srv, 0);
	return n;
}

/* ---- the control socket: the rack's processor picks the card */

static void card_names(const struct daemon *d, char *out, size_t cap)
{
	size_t off = 0;
	out[0] = 0;
	for (size_t i = 0; i < d->n_units && off + 1 < cap; i++) {
		int n = snprintf(out + off, cap - off, "%s%s", i ? ", " : "", d->units[i]->name);
		if (n < 0 || (size_t)n >= cap - off || i == 8) {
			snprintf(out + off, cap - off, "%s...", i ? ", " : "");
			break;
		}
		off += (size_t)n;
	}
}

static struct lab_control *rack_select(void *ctx, const char *card, bool all, char *err,
				       size_t errcap)
{
	struct daemon *d = ctx;
	char names[256];
	if (card[0]) {
		struct unit *u = find_unit(d, card);
		if (u)
			return &u->lc;
		card_names(d, names, sizeof(names));
		snprintf(err, errcap, "no card named '%s' (the cards: %s)", card, names);
		return NULL;
	}
	if (d->n_units == 1)
		return &d->units[0]->lc;
	if (all)
		return &d->lc; /* status: every card in brief */
	card_names(d, names, sizeof(names));
	snprintf(err, errcap, "%zu cards: name one with \"card\" (scwsemu-ctl --card NAME): %s",
		 d->n_units, names);
	return NULL;
}

static int rack_status(void *ctx, json_t *reply, char *err, size_t errcap)
{
	struct daemon *d = ctx;
	json_t *cards = json_array();
	int rc = cards ? 0 : -ENOMEM;
	unsigned long total = 0;
	size_t present = 0;
	for (size_t i = 0; i < d->n_units && !rc; i++) {
		struct unit *u = d->units[i];
		json_t *o = json_pack("{s:s}", "name", u->name);
		rc = o ? unit_status(u, o, true) : -ENOMEM;
		rc = rc ? rc : json_array_append(cards, o) ? -ENOMEM : 0;
		json_decref(o);
		total += scws_server_responses(u->srv, 0);
		present += unit_present(u);
	}
	json_t *sum = json_pack("{s:I, s:I, s:I, s:I}", "cards", (json_int_t)d->n_units, "present",
				(json_int_t)present, "responses", (json_int_t)total, "control",
				(json_int_t)transport_control_clients(d->ctl));
	if (!rc && sum && json_object_set(reply, "rack", sum) == 0 &&
	    json_object_set(reply, "cards", cards) == 0)
		rc = 0;
	else
		rc = -ENOMEM;
	json_decref(sum);
	json_decref(cards);
	if (rc)
		snprintf(err, errcap, "out of memory");
	return rc;
}

static const struct lab_control_ops rack_ops = {
	.status = rack_status,
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

/* ---- the client under test: --journal, --until-fetched, the reports */

void daemon_journal_line(struct daemon *d, const struct unit *u, json_t *x)
{
	if (x && d->n_units > 1 && json_object_set_new(x, "card", json_string(u->name)) != 0) {
		json_decref(x);
		x = NULL;
	}
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

static void on_until(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	size_t fetched = 0;
	(void)fd;
	(void)what;
	for (size_t i = 0; i < d->n_units; i++)
		fetched += d->units[i]->fetched;
	if (fetched == d->n_units)
		log_info("main", "--until-fetched: %s the bootstrap: stopping",
			 d->n_units > 1 ? "every card's client has" : "a client has");
	else if (d->n_units > 1)
		log_warn("main",
			 "--until-fetched: %.1f s are up and %zu of %zu cards served their "
			 "bootstrap",
			 d->opt.until_fetched_ms / 1000.0, fetched, d->n_units);
	else
		log_warn("main", "--until-fetched: %.1f s are up and no client has the bootstrap",
			 d->opt.until_fetched_ms / 1000.0);
	event_base_loopexit(d->base, NULL);
}

/* Once every card's bootstrap was received, a short grace: the client may
 * still close, or fetch again. */
void daemon_fetched(struct daemon *d)
{
	if (!d->until_ev)
		return;
	for (size_t i = 0; i < d->n_units; i++)
		if (!d->units[i]->fetched)
			return;
	struct timeval tv = tv_from_ms(LAB_FETCHED_GRACE_MS);
	event_del(d->until_ev);
	event_add(d->until_ev, &tv);
}

static int open_journal(struct daemon *d)
{
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
		struct timeval tv = tv_from_ms(d->opt.until_fetched_ms);
		d->until_ev = evtimer_new(d->base, on_until, d);
		if (!d->until_ev || evtimer_add(d->until_ev, &tv) != 0)
			return 1;
	}
	return 0;
}

/* Every card's verdicts as one set: a card's clients are named after it
 * when the rack has several. */
static struct lab_verdicts *rack_verdicts(struct daemon *d)
{
	if (d->n_units == 1)
		return unit_verdicts(d->units[0]);
	struct lab_verdicts *all = calloc(1, sizeof(*all));
	if (!all)
		return NULL;
	for (size_t i = 0; i < d->n_units; i++) {
		struct unit *u = d->units[i];
		struct lab_verdicts *v = unit_verdicts(u);
		struct lab_verdict_client *n =
			v ? realloc(all->clients, (all->n_clients + v->n_clients + 1) * sizeof(*n))
			  : NULL;
		if (!n) {
			lab_verdicts_free(v);
			lab_verdicts_free(all);
			return NULL;
		}
		all->clients = n;
		for (size_t j = 0; j < v->n_clients; j++) {
			struct lab_verdict_client *c = &all->clients[all->n_clients++];
			*c = v->clients[j];
			snprintf(c->name, sizeof(c->name), "card %s: %.*s", u->name,
				 (int)(sizeof(c->name) - 16 - strlen(u->name)), v->clients[j].name);
		}
		all->clients_dropped += v->clients_dropped;
		all->any_fetched = all->any_fetched || v->any_fetched;
		lab_verdicts_free(v);
	}
	return all;
}

int daemon_report(struct daemon *d, bool at_exit)
{
	struct buf b;
	int status = -1;
	if (!d->opt.report_file && !d->opt.report_json && !d->opt.until_fetched_ms)
		return -1;
	struct lab_verdicts *v = rack_verdicts(d);
	if (!v) {
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

/* --bootstrap-server: the same endpoint over HTTPS outside the card, with
 * its own certificate (pki/bootsrv.crt) and path; it answers from the
 * first card's profile and journals into that card. */
static int open_bootstrap_servers(struct daemon *d)
{
	struct buf doc;
	char cert[PATH_MAX], key[PATH_MAX], err[512];
	int rc = 0;
	if (!d->opt.n_bootstrap_server)
		return 0;
	buf_init(&doc, PROFILE_FILE_MAX);
	if (d->opt.bootstrap_server_doc) {
		rc = doc_read(d->opt.bootstrap_server_doc, &doc);
		if (rc) {
			log_err("main", "--bootstrap-server-doc %s: %s",
				d->opt.bootstrap_server_doc,
				rc == -EMSGSIZE ? "larger than the profile file limit"
						: strerror(-rc));
			buf_cleanup(&doc);
			return EXIT_USAGE;
		}
		if (doc.len) {
			/* Checked as a card's bootstrap is: it must convert. */
			struct buf conv;
			buf_init(&conv, SCWS_CONVERT_MAX);
			rc = codec_is_xml(doc.p, doc.len)
				     ? codec_wbxml_encode(doc.p, doc.len, &conv, err, sizeof(err))
				     : codec_wbxml_decode(doc.p, doc.len, &conv, err, sizeof(err));
			buf_cleanup(&conv);
			if (rc) {
				log_err("main",
					"--bootstrap-server-doc %s: not a DM bootstrap in XML "
					"or WBXML: %s",
					d->opt.bootstrap_server_doc, err);
				buf_cleanup(&doc);
				return EXIT_USAGE;
			}
		}
		if (!doc.len)
			log_info("main",
				 "--bootstrap-server-doc %s is empty: the Bootstrap Server "
				 "answers 404 (not available)",
				 d->opt.bootstrap_server_doc);
	}
	config_data_path("pki/bootsrv.crt", cert, sizeof(cert));
	config_data_path("pki/bootsrv.key", key, sizeof(key));
	struct tcpip_limits lim = {
		.idle_timeout_ms = d->opt.idle_timeout_ms,
		.deadlines = daemon_deadlines(d),
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
		unit_attach_bootsrv(d->units[0], b->srv);
		if ((rc = unit_load_into(d->units[0], b->srv, NULL, 0)) != 0)
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
					      !codec_is_xml(doc.p, doc.len)) != 0)) {
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
		struct endpoint *e =
			unit_add_endpoint(d->units[0], "server", "https", o->addr.host, port, 0);
		if (e)
			e->path = o->path;
	}
	buf_cleanup(&doc);
	return rc;
}

/* The CA of the card --card names (the shipped one when the profile has
 * no certificate or does not load). */
static void find_ca_file(const struct daemon *d, const char *card_dir, char *out, size_t cap)
{
	struct profile *p = NULL;
	struct profile_error perr;
	if (!d->opt.reader && profile_load(card_dir, &p, &perr) == 0) {
		config_ca_path(p->tls.cert_file, out, cap);
		profile_free(p);
		return;
	}
	config_ca_path(NULL, out, cap);
}

/* --check-setup: 0 when every requirement is met, else 1. */
static int check_setup(const struct daemon *d, const char *card_dir)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	snprintf(exe + (n > 0 ? n : 0), sizeof(exe) - (size_t)(n > 0 ? n : 0), "%s",
		 n > 0 ? "" : "scwsemu");
	char ca[PATH_MAX];
	find_ca_file(d, card_dir, ca, sizeof(ca));
	unsigned fixes = transport_check_setup(&d->opt, exe, ca, stdout);
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
	int64_t ms =
		(int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
	return ms < 0 ? 0 : (uint64_t)ms;
}

/* Runs every step whose condition holds, then waits for the next one. */
static void on_scenario(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	const struct lab_step *st;
	(void)fd;
	(void)what;
	while ((st = lab_scenario_due(d->scenario, ms_since(&d->ready_at), rack_responses(d))) !=
	       NULL) {
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

/* Opens every card, then the Bootstrap Servers and the control socket. */
static int open_rack(struct daemon *d)
{
	int rc = 0;
	for (size_t i = 0; i < d->n_units && !rc; i++)
		rc = unit_open(d->units[i]);
	rc = rc ? rc : open_bootstrap_servers(d);
	rc = rc ? rc : open_control(d);
	if (rc)
		return rc;
	for (size_t i = 0; i < d->n_units; i++) {
		struct unit *u = d->units[i];
		if (!unit_serving(u) && !(d->n_bootsrv && i == 0)) {
			if (d->n_units > 1)
				log_err("main",
					"card %s: no listener could be opened: nothing to serve",
					u->name);
			else
				log_err("main", "no listener could be opened: nothing to serve");
			return 1;
		}
	}
	return 0;
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
	log_setup(d.opt.verbosity < 0   ? LOG_WARN
		  : d.opt.verbosity > 1 ? LOG_DEBUG
					: LOG_INFO,
		  d.opt.log_json);
	if (d.opt.print_paths || d.opt.check_setup) {
		char card_dir[PATH_MAX];
		if (d.opt.reader)
			snprintf(card_dir, sizeof(card_dir), "pcsc:%s", d.opt.reader);
		else
			config_card_path(d.opt.card_dir ? d.opt.card_dir : "default", card_dir,
					 sizeof(card_dir));
		if (d.opt.print_paths) {
			char ca[PATH_MAX];
			find_ca_file(&d, card_dir, ca, sizeof(ca));
			config_print_paths(stdout, card_dir, ca);
		}
		rc = d.opt.check_setup ? check_setup(&d, card_dir) : 0;
		cli_options_cleanup(&d.opt);
		return rc;
	}
	if (d.opt.ready_file) {
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

	signal(SIGPIPE, SIG_IGN);
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	d.base = event_base_new();
	d.admit = admit_new(d.opt.max_clients, d.opt.max_clients_per_peer);
	if (!d.base || !d.admit) {
		rc = 1;
		goto out;
	}
	/* Control commands come from the socket and from the scenario. */
	d.lc = (struct lab_control){ .ops = &rack_ops, .ctx = &d, .select = rack_select };
	rc = build_rack(&d);
	if (rc)
		goto out;
	raise_fd_limit();
	for (size_t i = 0; i < d.n_units && !rc; i++)
		if (!d.units[i]->reader)
			rc = unit_load(d.units[i], true, NULL, 0);
	if (rc)
		goto out;
	rc = open_journal(&d);
	if (rc)
		goto out;
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
	rc = open_rack(&d);
	if (rc)
		goto out;
	fit_clients_to_fds(&d);
	bool any_endpoint = false;
	for (size_t i = 0; i < d.n_units; i++) {
		unit_log_endpoints(d.units[i]);
		unit_publish_urls(d.units[i]);
		any_endpoint = any_endpoint || d.units[i]->n_endpoints;
	}
	if (d.n_units > 1)
		log_info("main", "%zu cards ready", d.n_units);
	/* Over PC/SC without a card yet, the ready file waits for its channels. */
	if (any_endpoint && write_ready_file(&d) != 0) {
		rc = 1;
		goto out;
	}
	if (d.opt.vpcd)
		(void)sd_notify(0, "READY=1");
	d.running = true;
	if (d.scenario) {
		d.ev_scenario = evtimer_new(d.base, on_scenario, &d);
		if (!d.ev_scenario) {
			rc = 1;
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &d.ready_at);
		for (size_t i = 0; i < d.n_units; i++)
			scws_server_set_response_hook(d.units[i]->srv, on_response, &d);
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
	for (size_t i = 0; i < d.n_bootsrv; i++)
		transport_tcpip_free(d.bootsrv[i].tcpip);
	for (size_t i = 0; i < d.n_units; i++)
		unit_close(d.units[i]); /* the last connections go into the journal */
	admit_free(d.admit);
	if (d.running) {
		int status = daemon_report(&d, true);
		if (status >= 0)
			rc = status;
	}
	for (size_t i = 0; i < d.n_bootsrv; i++)
		scws_server_free(d.bootsrv[i].srv);
	for (size_t i = 0; i < d.n_units; i++)
		unit_free(d.units[i]);
	free(d.units);
	if (d.until_ev)
		event_free(d.until_ev);
	if (d.journal_fd >= 0)
		close(d.journal_fd);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	trace_pcap_free(d.pcap);
	transport_gsmtap_udp_free(d.gsmtap);
	if (d.base)
		event_base_free(d.base);
	cli_options_cleanup(&d.opt);
	return rc;
}
