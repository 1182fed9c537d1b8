/* server.c - the SCWS of one card: the loaded profile and file system, its
 * TLS context, the private card object the SCWS reads its bootstrap through
 * (OMA DM Bootstrap, smartcard appendix), and the push-address store. */
#include "config.h"

#include "scws/server.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "card/fs.h"
#include "card/pkcs15.h"
#include "config/profile.h"
#include "core/buf.h"
#include "core/limits.h"
#include "scws/bootstrap.h"
#include "scws/throttle.h"
#include "scws/tls.h"

struct push_entry {
	char *devid; /* NULL: free slot */
	char *addr;
	uint64_t stamp; /* the last update; the smallest goes first */
};

struct scws_server {
	struct profile *p; /* NULL until the first load */
	struct card_fs *fs;
	/* The SCWS's own reader of the tree: a card shares the file system
	 * with the terminal's card but not its channels, current files or
	 * trace, so its walk stays inside the card. */
	struct card *card;
	struct scws_tls_ctx *tls; /* NULL: no TLS settings */
	/* The same settings with a fault certificate each, made when a
	 * tls-cert fault first needs one (most runs arm none: a rack of 1,000
	 * cards would otherwise build 4,000 contexts nobody uses); NULL: not
	 * made yet, or fault_tried says the files were not there. */
	struct scws_tls_ctx *fault_tls[SCWS_FAULT_CERTS];
	bool fault_tried[SCWS_FAULT_CERTS];
	struct scws_fault_hooks hooks;
	char *urls[SCWS_URLS_MAX]; /* the index page's list (scws_server_set_urls) */
	size_t n_urls;
	struct push_entry push[SCWS_PUSH_DEVIDS_MAX];
	size_t n_push; /* slots used, <= SCWS_PUSH_DEVIDS_MAX */
	uint64_t push_clock;
	bool bootstrap_off;
	unsigned long responses[SCWS_STATUS_MAX - SCWS_STATUS_MIN + 1];
	unsigned long responses_total;
	scws_server_response_fn *on_response;
	void *on_response_arg;
	/* A Bootstrap Server: its path, document and TLS context. */
	char path[128];
	uint8_t *doc; /* NULL: the card's bootstrap */
	size_t doc_len;
	bool doc_wbxml;
	struct scws_tls_ctx *own_tls; /* NULL: the card's */
	scws_observe_fn *observe;
	void *observe_arg;
	uint64_t conn_ids;
	struct scws_throttle *throttle; /* failed credential attempts */
};

struct scws_server *scws_server_new(void)
{
	struct scws_server *srv = calloc(1, sizeof(struct scws_server));
	if (!srv)
		return NULL;
	snprintf(srv->path, sizeof(srv->path), "%s", SCWS_BOOTSTRAP_PATH);
	srv->throttle = scws_throttle_new(0, AUTH_FAIL_WINDOW_MS_DEFAULT); /* off until set */
	if (!srv->throttle) {
		free(srv);
		return NULL;
	}
	return srv;
}

void scws_server_set_auth_throttle(struct scws_server *srv, unsigned limit, unsigned window_ms)
{
	scws_throttle_configure(srv->throttle, limit, window_ms);
}

struct scws_throttle *scws_server_throttle(struct scws_server *srv)
{
	return srv->throttle;
}

void scws_server_auth_stats(const struct scws_server *srv, uint64_t now_ms,
			    struct scws_server_auth_stats *out)
{
	out->refused = scws_throttle_refused(srv->throttle);
	out->blocked = scws_throttle_blocked_keys(srv->throttle, now_ms);
}

void scws_server_free(struct scws_server *srv)
{
	if (!srv)
		return;
	card_free(srv->card);
	card_fs_free(srv->fs);
	profile_free(srv->p);
	scws_tls_ctx_free(srv->tls);
	scws_tls_ctx_free(srv->own_tls);
	free(srv->doc);
	for (unsigned i = 0; i < SCWS_FAULT_CERTS; i++)
		scws_tls_ctx_free(srv->fault_tls[i]);
	scws_throttle_free(srv->throttle);
	for (size_t i = 0; i < srv->n_push; i++) {
		free(srv->push[i].devid);
		free(srv->push[i].addr);
	}
	for (size_t i = 0; i < srv->n_urls; i++)
		free(srv->urls[i]);
	free(srv);
}

static const char *const fault_cert_names[SCWS_FAULT_CERTS] = {
	"wrong-name",
	"expired",
	"untrusted",
	"self-signed",
};

const char *scws_fault_cert_name(enum scws_fault_cert c)
{
	return (unsigned)c < SCWS_FAULT_CERTS ? fault_cert_names[c] : "?";
}

/* cert_file/key_file NULL: the card's own. */
static int make_tls(const struct profile *p, const char *cert_file, const char *key_file,
		    struct scws_tls_ctx **out, char *err, size_t errcap)
{
	const struct profile_tls *t = &p->tls;
	struct scws_tls_config cfg;
	*out = NULL;
	if (!t->cert_file && !t->psk_identity)
		return 0;
	scws_tls_config_init(&cfg);
	if (cert_file) {
		/* A fault certificate comes alone, from its file: no RSA one
		 * beside it to fall back on. */
		cfg.cert_file = cert_file;
		cfg.key_file = key_file;
	} else {
		cfg.cert_file = t->cert_file;
		cfg.key_file = t->key_file;
		cfg.cert2_file = t->rsa_cert_file;
		cfg.key2_file = t->rsa_key_file;
		cfg.cert_pem = t->cert_pem.p;
		cfg.cert_pem_len = t->cert_pem.len;
		cfg.key_pem = t->key_pem.p;
		cfg.key_pem_len = t->key_pem.len;
		cfg.cert2_pem = t->rsa_cert_pem.p;
		cfg.cert2_pem_len = t->rsa_cert_pem.len;
		cfg.key2_pem = t->rsa_key_pem.p;
		cfg.key2_pem_len = t->rsa_key_pem.len;
	}
	cfg.resumption = t->resumption;
	if (t->psk_identity) {
		cfg.psk_identity = t->psk_identity;
		cfg.psk_key = t->psk_key;
		cfg.psk_key_len = t->psk_key_len;
	}
	cfg.min_version = t->min_version;
	cfg.max_version = t->max_version;
	cfg.cipher_list = t->cipher_list;
	cfg.ciphersuites = t->ciphersuites;
	cfg.security_level = t->security_level;
	char why[256] = "";
	int rc = scws_tls_ctx_new(&cfg, out, why, sizeof(why));
	if (rc)
		snprintf(err, errcap, "TLS: %s", why[0] ? why : strerror(-rc));
	return rc;
}

/* Fault certificate c beside the card's certificate (scws-fault-NAME.crt
 * and scws-fault.key in its directory) with the card's other TLS
 * settings; NULL when the card has no certificate or the files do not
 * load. */
static struct scws_tls_ctx *make_fault_tls(const struct profile *p, enum scws_fault_cert c)
{
	const char *own = p->tls.cert_file;
	struct scws_tls_ctx *out = NULL;
	if (!own)
		return NULL;
	const char *slash = strrchr(own, '/');
	int dir = slash ? (int)(slash - own) + 1 : 0;
	char cert[4096], key[4096], why[256];
	snprintf(key, sizeof(key), "%.*sscws-fault.key", dir, own);
	snprintf(cert, sizeof(cert), "%.*sscws-fault-%s.crt", dir, own, fault_cert_names[c]);
	return make_tls(p, cert, key, &out, why, sizeof(why)) == 0 ? out : NULL;
}

int scws_server_load(struct scws_server *srv, struct profile *p, struct card_fs *fs, char *err,
		     size_t errcap)
{
	struct scws_tls_ctx *tls = NULL;
	struct card *card = NULL;
	int rc;
	if (errcap)
		err[0] = 0;
	if (!p || !fs) {
		snprintf(err, errcap, "no profile or no file system");
		rc = -EINVAL;
		goto fail;
	}
	rc = make_tls(p, NULL, NULL, &tls, err, errcap);
	if (rc)
		goto fail;
	card = card_new(fs, p->card.atr, p->card.atr_len);
	if (!card) {
		snprintf(err, errcap, "cannot power the SCWS's card (ATR, or out of memory)");
		rc = -ENOMEM;
		goto fail;
	}
	if (card_configure(card, &p->card.opts) != 0) {
		card_free(card);
		snprintf(err, errcap, "the card's options (channels, PINs) do not apply");
		rc = -EINVAL;
		goto fail;
	}
	/* Open connections hold their own reference to the old context. */
	card_free(srv->card);
	card_fs_free(srv->fs);
	profile_free(srv->p);
	scws_tls_ctx_free(srv->tls);
	/* The next tls-cert fault makes its context from the new profile. */
	for (unsigned i = 0; i < SCWS_FAULT_CERTS; i++) {
		scws_tls_ctx_free(srv->fault_tls[i]);
		srv->fault_tls[i] = NULL;
		srv->fault_tried[i] = false;
	}
	card_set_sw_fault(card, srv->hooks.apdu_sw, srv->hooks.arg);
	srv->card = card;
	srv->fs = fs;
	srv->p = p;
	srv->tls = tls;
	return 0;
fail:
	scws_tls_ctx_free(tls);
	card_fs_free(fs);
	profile_free(p);
	return rc;
}

const struct profile *scws_server_profile(const struct scws_server *srv)
{
	return srv->p;
}

struct scws_tls_ctx *scws_server_tls_ctx(const struct scws_server *srv)
{
	return srv->own_tls ? srv->own_tls : srv->tls;
}

int scws_server_set_bootstrap_path(struct scws_server *srv, const char *path)
{
	if (!path || path[0] != '/' || strlen(path) >= sizeof(srv->path))
		return -EINVAL;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	return 0;
}

const char *scws_server_bootstrap_path(const struct scws_server *srv)
{
	return srv->path;
}

int scws_server_set_document(struct scws_server *srv, const uint8_t *doc, size_t len, bool is_wbxml)
{
	uint8_t *copy = NULL;
	if (doc) {
		copy = malloc(len ? len : 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, doc, len);
	}
	free(srv->doc);
	srv->doc = copy;
	srv->doc_len = doc ? len : 0;
	srv->doc_wbxml = is_wbxml;
	return 0;
}

bool scws_server_stores_wbxml(const struct scws_server *srv)
{
	if (srv->doc)
		return srv->doc_wbxml;
	return srv->p && srv->p->store == PROFILE_STORE_WBXML;
}

int scws_server_set_tls(struct scws_server *srv, const struct scws_tls_config *cfg, char *err,
			size_t errcap)
{
	struct scws_tls_ctx *ctx = NULL;
	char why[256] = "";
	int rc = scws_tls_ctx_new(cfg, &ctx, why, sizeof(why));
	if (rc) {
		snprintf(err, errcap, "TLS: %s", why[0] ? why : strerror(-rc));
		return rc;
	}
	scws_tls_ctx_free(srv->own_tls);
	srv->own_tls = ctx;
	return 0;
}

void scws_server_set_observer(struct scws_server *srv, scws_observe_fn *fn, void *arg)
{
	srv->observe = fn;
	srv->observe_arg = arg;
}

scws_observe_fn *scws_server_observer(const struct scws_server *srv, void **arg)
{
	*arg = srv->observe_arg;
	return srv->observe;
}

uint64_t scws_server_next_conn_id(struct scws_server *srv)
{
	return ++srv->conn_ids;
}

void scws_server_set_fault_hooks(struct scws_server *srv, const struct scws_fault_hooks *h)
{
	if (h)
		srv->hooks = *h;
	else
		memset(&srv->hooks, 0, sizeof(srv->hooks));
	if (srv->card)
		card_set_sw_fault(srv->card, srv->hooks.apdu_sw, srv->hooks.arg);
}

void scws_server_fault_response(const struct scws_server *srv, const char *transport, uint16_t port,
				struct scws_fault_response *out)
{
	memset(out, 0, sizeof(*out));
	if (srv->hooks.response)
		srv->hooks.response(srv->hooks.arg, transport, port, out);
}

void scws_server_fault_handshake(const struct scws_server *srv, const char *transport,
				 uint16_t port, struct scws_fault_handshake *out)
{
	memset(out, 0, sizeof(*out));
	if (srv->hooks.handshake)
		srv->hooks.handshake(srv->hooks.arg, transport, port, out);
}

struct scws_tls_ctx *scws_server_fault_tls_ctx(struct scws_server *srv, enum scws_fault_cert c)
{
	if ((unsigned)c >= SCWS_FAULT_CERTS || !srv->p)
		return NULL;
	if (!srv->fault_tls[c] && !srv->fault_tried[c]) {
		srv->fault_tls[c] = make_fault_tls(srv->p, c);
		srv->fault_tried[c] = true;
	}
	return srv->fault_tls[c];
}

static int transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap,
		    size_t *rlen)
{
	return card_transmit(ctx, capdu, len, rapdu, cap, rlen);
}

int scws_server_read_bootstrap(struct scws_server *srv, struct buf *out, char *err, size_t errcap)
{
	if (srv->doc && !srv->doc_len) {
		snprintf(err, errcap, "the Bootstrap Server's document is empty: not available");
		return -ENOENT;
	}
	if (srv->doc)
		return buf_append(out, srv->doc, srv->doc_len);
	if (!srv->card) {
		snprintf(err, errcap, "no card loaded");
		return -ENOENT;
	}
	struct card_pkcs15_walk_ops ops = {
		.transmit = transmit,
		.ctx = srv->card,
	};
	/* The SCWS is an application of the card: it knows PIN1 and opens
	 * its own files as a handset whose user typed it would. */
	const struct card_options *o = &srv->p->card.opts;
	for (size_t i = 0; i < o->n_pins; i++)
		if (o->pins[i].ref == CARD_KEY_PIN1)
			ops.pin1 = o->pins[i].pin;
	/* Every request walks from a powered-up card, as a handset does after
	 * it opens its own session: no channel or current file of the last
	 * walk leaks into this one. */
	card_reset(srv->card);
	return card_pkcs15_walk(&ops, out, NULL, err, errcap);
}

int scws_server_set_urls(struct scws_server *srv, const char *const *urls, size_t n)
{
	char *copy[SCWS_URLS_MAX];
	if (n > SCWS_URLS_MAX)
		return -EMSGSIZE;
	for (size_t i = 0; i < n; i++)
		if (strlen(urls[i]) >= SCWS_URL_MAX)
			return -EMSGSIZE;
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(urls[i]);
		if (!copy[i]) {
			while (i--)
				free(copy[i]);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < srv->n_urls; i++)
		free(srv->urls[i]);
	memcpy(srv->urls, copy, n * sizeof(copy[0]));
	srv->n_urls = n;
	return 0;
}

size_t scws_server_urls(const struct scws_server *srv, const char *const **urls)
{
	*urls = (const char *const *)srv->urls;
	return srv->n_urls;
}

static struct push_entry *push_find(const struct scws_server *srv, const char *devid)
{
	for (size_t i = 0; i < srv->n_push; i++)
		if (strcmp(srv->push[i].devid, devid) == 0)
			return (struct push_entry *)&srv->push[i];
	return NULL;
}

const char *scws_server_push_address(const struct scws_server *srv, const char *devid)
{
	const struct push_entry *e = devid ? push_find(srv, devid) : NULL;
	return e ? e->addr : NULL;
}

int scws_server_set_push_address(struct scws_server *srv, const char *devid, const char *addr)
{
	char *a = strdup(addr);
	if (!a)
		return -ENOMEM;
	struct push_entry *e = push_find(srv, devid);
	if (!e) {
		char *d = strdup(devid);
		if (!d) {
			free(a);
			return -ENOMEM;
		}
		if (srv->n_push < SCWS_PUSH_DEVIDS_MAX) {
			e = &srv->push[srv->n_push++];
		} else {
			e = &srv->push[0];
			for (size_t i = 1; i < srv->n_push; i++)
				if (srv->push[i].stamp < e->stamp)
					e = &srv->push[i];
			free(e->devid);
			free(e->addr);
		}
		e->devid = d;
		e->addr = NULL;
	}
	free(e->addr);
	e->addr = a;
	e->stamp = ++srv->push_clock;
	return 0;
}

void scws_server_set_bootstrap_enabled(struct scws_server *srv, bool on)
{
	srv->bootstrap_off = !on;
}

bool scws_server_bootstrap_enabled(const struct scws_server *srv)
{
	return !srv->bootstrap_off;
}

int scws_server_set_bootstrap(struct scws_server *srv, const uint8_t *data, size_t len, char *err,
			      size_t errcap)
{
	if (!srv->p || !srv->fs) {
		snprintf(err, errcap, "no card loaded");
		return -ENOENT;
	}
	return card_layout_set_bootstrap(&srv->p->card, srv->fs, data, len, err, errcap);
}

void scws_server_count_response(struct scws_server *srv, int status)
{
	if (status >= SCWS_STATUS_MIN && status <= SCWS_STATUS_MAX)
		srv->responses[status - SCWS_STATUS_MIN]++;
	srv->responses_total++;
	if (srv->on_response)
		srv->on_response(srv->on_response_arg, status);
}

unsigned long scws_server_responses(const struct scws_server *srv, int status)
{
	if (status == 0)
		return srv->responses_total;
	if (status < SCWS_STATUS_MIN || status > SCWS_STATUS_MAX)
		return 0;
	return srv->responses[status - SCWS_STATUS_MIN];
}

void scws_server_set_response_hook(struct scws_server *srv, scws_server_response_fn *fn, void *arg)
{
	srv->on_response = fn;
	srv->on_response_arg = arg;
}
