/* conn.c - one SCWS connection, sans-I/O: [TLS] -> HTTP/1.1 -> handlers ->
 * [TLS] (RFC 9112 framing, keep-alive and pipelining; RFC 9110 §10.1.1
 * 100-continue; RFC 8446 / RFC 5246 close_notify).
 *
 * Decisions:
 * - A request whose answer follows from its head (404, 405, 415, 403 on the
 *   plain port, a GET ...) is answered once its body, if any, has been
 *   framed and skipped (at most HTTP_BODY_MAX bytes, the parser answers 413
 *   beyond), and the connection stays open. With Expect: 100-continue it is
 *   answered at once and with Connection: close instead: the client may or
 *   may not send the body after a final status, so the stream could not be
 *   framed again.
 * - Responses are written as each request completes, so pipelined answers
 *   come in order. A request that starts while more than
 *   SCWS_CONN_PIPELINE_MAX bytes of answers wait unsent gets 503 and
 *   Connection: close: a client that never reads cannot make the conn grow
 *   without bound.
 * - On a TLS port every response byte is encrypted at once and moved to the
 *   conn's own output, so the transport always sees everything there is to
 *   send after each call.
 * - The peer's FIN ends the conn, mid-request or not: there is nothing to
 *   answer that the peer could still read.
 * - Faults (server.h hooks): a tls-alert answers the first TLS bytes with
 *   a fatal handshake_failure alert record, before OpenSSL sees them; a
 *   truncated answer is cut in its HTTP bytes, the cut part encrypted, and
 *   the conn ends without close_notify (the client sees the stream end
 *   mid-answer); a paced answer is held from the first byte of its
 *   (encrypted) output: with several paced answers in flight the first
 *   schedule runs on over the later ones. */
#include "config.h"

#include "scws/conn.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "scws/bootstrap.h"
#include "scws/http.h"
#include "scws/observe.h"
#include "scws/server.h"
#include "scws/tls.h"

struct scws_conn {
	struct scws_server *srv;
	char transport[16];
	char peer[64];
	char local[64];
	uint16_t local_port;
	uint64_t id;            /* scws_server_next_conn_id() */
	struct timespec opened; /* monotonic, at scws_conn_new() */
	int64_t opened_ms;      /* wall clock, at scws_conn_new() */
	int64_t t0_ms;          /* wall clock of t0 */
	unsigned requests;      /* answered */
	uint64_t bytes_in, bytes_out;
	bool tls_opened;         /* the handshake completed */
	bool live;               /* scws_conn_new() succeeded: observed at free */
	bool https;              /* TLS engine, or TLS offloaded in front */
	struct scws_tls *tls;    /* NULL on a plain-HTTP port */
	struct conn_request *rq; /* while a request is in progress, else NULL */
	struct buf out;          /* bytes for the peer (ciphertext with tls) */
	size_t out_off;          /* sent prefix of out; out_off <= out.len */
	struct buf plain;        /* tls: response bytes not yet encrypted */
	bool done;
	bool have_head;   /* on_head ran for the current request */
	bool answered;    /* the current request has its response */
	bool tls_started; /* TLS bytes came (the handshake runs) */
	bool fed;         /* the first bytes came (the wrong-protocol check ran) */
	bool in_req;      /* bytes of a request came, its answer is not written */
	bool handshaken;  /* tls: the handshake completed */
	struct scws_conn_deadlines dl;
	uint64_t now;       /* the transport's clock (scws_conn_set_time) */
	uint64_t t_conn;    /* the connection */
	uint64_t t_req;     /* first byte of the current request */
	uint64_t t_idle;    /* last answer written (or the handshake's end) */
	uint64_t t_drained; /* the output was last all taken */
	uint64_t t_in;      /* bytes last came in */
	struct timespec t0; /* first byte of the current request */
	uint64_t sent;      /* bytes consumed from out, ever */
	bool tls_alert;     /* fault: abort the handshake with an alert */
	/* For the observer (the journal judges the client by them): the fault
	 * that acted on the connection ("tls-cert untrusted", "tls-alert") and
	 * those that shaped the current answer, with its Retry-After. */
	char fault[SCWS_OBS_FAULT_MAX];
	char req_fault[SCWS_OBS_FAULT_MAX];
	unsigned req_retry_after;
	/* Fault pacing (scws_conn_pace): out bytes from stream offset
	 * pace_start to pace_end are released pace_delay_ms after pace_t0,
	 * then at pace_bps. gate: stream offset shown up to. */
	bool pacing;
	bool pace_t0_set;
	uint64_t pace_start, pace_end, pace_t0, gate;
	unsigned pace_delay_ms, pace_bps;
};

/* What a request needs (the HTTP parser: its head buffer, the bootstrap
 * form: its field values) is ~18 KB. An idle keep-alive or a handshaking
 * connection holds none of it: it is taken when a request's first byte
 * comes and given back once no request is in progress. One given-back
 * block is kept for the next request, so a fetch at a time allocates
 * nothing (one event-loop thread, as for tls_plain below). */
struct conn_request {
	struct scws_http_parser http;
	struct scws_bootstrap_req req;
};

static struct conn_request *spare_request;

static size_t pending(const struct scws_conn *c)
{
	return c->out.len - c->out_off + c->plain.len;
}

/* Between requests with everything sent, a connection holds no buffers:
 * its output buffers (a handshake flight left 1-4 KB in each) and the TLS
 * engine's go back to the heap. */
static void release_when_idle(struct scws_conn *c)
{
	if (c->rq || c->in_req || pending(c) || (c->tls && !c->handshaken))
		return;
	buf_cleanup(&c->out);
	c->out_off = 0;
	buf_cleanup(&c->plain);
	if (c->tls)
		scws_tls_shrink(c->tls);
}

static struct buf *resp_buf(struct scws_conn *c)
{
	return c->tls ? &c->plain : &c->out;
}

static void log_conn(struct scws_conn *c, enum log_level lvl, const char *msg, const char *why)
{
	char port[8];
	snprintf(port, sizeof(port), "%u", c->local_port);
	struct log_kv kv[] = {
		{ "transport", c->transport, false },
		{ "peer", c->peer, false },
		{ "port", port, true },
		{ "reason", why, false },
	};
	log_kv(lvl, "scws", msg, kv, 4);
}

/* Something that cannot be answered any more (output over its cap, the
 * TLS engine stuck): stop here. */
static void fatal(struct scws_conn *c, const char *why)
{
	log_conn(c, LOG_ERROR, "connection dropped", why);
	c->done = true;
}

/* Moves the TLS engine's output to ours: after every TLS call. */
static void tls_drain(struct scws_conn *c)
{
	struct bytes o = scws_tls_output(c->tls);
	if (!o.len)
		return;
	if (buf_append(&c->out, o.ptr, o.len) != 0) {
		fatal(c, "output over its limit");
		return;
	}
	scws_tls_output_consume(c->tls, o.len);
}

static void tls_failed(struct scws_conn *c, bool handshake)
{
	tls_drain(c); /* the alert */
	log_conn(c, LOG_WARN, handshake ? "TLS handshake failed" : "TLS connection failed",
		 scws_tls_reason(c->tls));
	c->done = true;
}

/* Encrypts what the handlers wrote. */
static void flush_plain(struct scws_conn *c)
{
	while (c->tls && c->plain.len && !c->done) {
		size_t used = 0, before = c->out.len;
		int rc = scws_tls_write(c->tls, c->plain.p, c->plain.len, &used);
		buf_consume(&c->plain, used);
		tls_drain(c);
		if (rc == -EPROTO || rc == -EBADFD) {
			tls_failed(c, false);
			return;
		}
		if (used == 0 && c->out.len == before && !c->done)
			fatal(c, "TLS engine takes no data");
	}
}

/* After a Connection: close answer: close_notify, then done. */
static void finish(struct scws_conn *c)
{
	if (c->done)
		return;
	flush_plain(c);
	if (c->tls && !c->done) {
		if (scws_tls_close(c->tls) != 0)
			log_conn(c, LOG_WARN, "TLS close_notify not sent", scws_tls_reason(c->tls));
		tls_drain(c);
	}
	c->done = true;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double dt =
		(double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
	return dt < 0 ? 0 : (uint64_t)dt;
}

/* Peer bytes as a printable C string ('?' for the rest), cut to cap. */
static const char *shown(struct bytes b, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < b.len && n + 1 < cap; i++)
		out[n++] = b.ptr[i] >= 0x20 && b.ptr[i] < 0x7F ? (char)b.ptr[i] : '?';
	out[n] = 0;
	return out;
}

static void obs_common(struct scws_conn *c, struct scws_obs *o)
{
	o->conn_id = c->id;
	o->transport = c->transport;
	o->local = c->local;
	o->peer = c->peer;
	o->https = c->https;
	o->fault = c->fault[0] ? c->fault : NULL;
	if (c->tls) {
		o->tls_version = scws_tls_version(c->tls);
		o->cipher = scws_tls_cipher(c->tls);
		o->sni = scws_tls_sni(c->tls);
		o->psk_identity = scws_tls_psk_identity(c->tls);
		o->cert = scws_tls_cert_subject(c->tls);
		o->handshake_done = c->tls_opened;
	}
}

/* The request just answered, to the observer: no passphrase value goes
 * out, only its size and whether it is canonical base64. */
static void observe_request(struct scws_conn *c, const struct scws_http_req *req, int status,
			    size_t body_len, const char *reason, const char *method,
			    const char *path, uint64_t dt_ms)
{
	void *arg;
	scws_observe_fn *fn = scws_server_observer(c->srv, &arg);
	if (!fn)
		return;
	struct scws_obs o = { .kind = SCWS_OBS_REQUEST };
	struct scws_obs_part parts[MULTIPART_PARTS_MAX];
	char host[128], ctype[128], devid[SCWS_FIELD_MAX + 1], user[SCWS_FIELD_MAX + 1];
	char push[SCWS_FIELD_MAX + 1], b64why[128];
	const struct scws_bootstrap_req *r = &c->rq->req;
	bool routed = c->have_head;

	obs_common(c, &o);
	if (c->answered && c->req_fault[0])
		o.fault = c->req_fault;
	o.retry_after_s = c->answered ? c->req_retry_after : 0;
	o.start_ms = c->t0_ms;
	o.duration_ms = dt_ms;
	o.method = method[0] ? method : NULL;
	o.path = path[0] ? path : NULL;
	o.has_query = routed && r->has_query;
	if (req && req->host.len)
		o.host = shown(req->host, host, sizeof(host));
	if (req && req->has_content_type)
		o.content_type = shown(req->content_type, ctype, sizeof(ctype));
	o.bootstrap = routed && r->route == SCWS_BOOTSTRAP_ROUTE_BOOTSTRAP;
	if (routed) {
		for (size_t i = 0; i < r->n_parts; i++) {
			parts[i].name = r->parts[i].name;
			parts[i].size = r->parts[i].size;
			parts[i].content_type =
				r->parts[i].content_type[0] ? r->parts[i].content_type : NULL;
		}
		o.parts = parts;
		o.n_parts = r->n_parts;
		if (r->form.set)
			o.form_error = r->form.reason;
		else if (r->is_form && status == 400 && reason && !r->f[0].seen && !r->n_parts)
			o.form_error = reason;
		else if (!r->is_form && r->route == SCWS_BOOTSTRAP_ROUTE_BOOTSTRAP &&
			 (status == 400 || status == 415))
			o.form_error = reason;
		const struct scws_bootstrap_field *f = r->f;
		if (f[SCWS_BOOTSTRAP_F_DEVID].seen)
			o.devid = shown(bytes_make(f[SCWS_BOOTSTRAP_F_DEVID].v,
						   f[SCWS_BOOTSTRAP_F_DEVID].len),
					devid, sizeof(devid));
		if (f[SCWS_BOOTSTRAP_F_USERNAME].seen)
			o.username = shown(bytes_make(f[SCWS_BOOTSTRAP_F_USERNAME].v,
						      f[SCWS_BOOTSTRAP_F_USERNAME].len),
					   user, sizeof(user));
		if (f[SCWS_BOOTSTRAP_F_PUSH_ADDRESS].seen)
			o.push_address = shown(bytes_make(f[SCWS_BOOTSTRAP_F_PUSH_ADDRESS].v,
							  f[SCWS_BOOTSTRAP_F_PUSH_ADDRESS].len),
					       push, sizeof(push));
		if (f[SCWS_BOOTSTRAP_F_PASSPHRASE].seen) {
			const struct scws_bootstrap_field *pf = &f[SCWS_BOOTSTRAP_F_PASSPHRASE];
			const char *why = scws_bootstrap_base64_problem(pf->v, pf->len, b64why,
									sizeof(b64why));
			o.has_passphrase = true;
			o.passphrase_size = pf->len;
			o.passphrase_base64 = why ? why : "ok";
		}
	}
	o.status = status;
	o.bytes = body_len;
	o.reason = reason && reason[0] ? reason : NULL;
	fn(arg, &o);
}

static void log_request(struct scws_conn *c, const struct scws_http_req *req, int status,
			size_t body_len, const char *reason)
{
	struct timespec now;
	char method[24] = "", path[128] = "", st[8], bytes[24], ms[32], port[8];
	clock_gettime(CLOCK_MONOTONIC, &now);
	double dt = (double)(now.tv_sec - c->t0.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - c->t0.tv_nsec) / 1e6;
	if (req && req->method_name.len) {
		size_t n = req->method_name.len < sizeof(method) ? req->method_name.len
								 : sizeof(method) - 1;
		for (size_t i = 0; i < n; i++) {
			uint8_t ch = req->method_name.ptr[i];
			method[i] = ch > 0x20 && ch < 0x7F ? (char)ch : '?';
		}
		method[n] = 0;
	}
	if (c->have_head) {
		snprintf(path, sizeof(path), "%s", c->rq->req.path);
	} else if (req && req->target.len) {
		size_t n = 0;
		for (size_t i = 0;
		     i < req->target.len && req->target.ptr[i] != '?' && n + 1 < sizeof(path);
		     i++) {
			uint8_t ch = req->target.ptr[i];
			path[n++] = ch > 0x20 && ch < 0x7F ? (char)ch : '?';
		}
		path[n] = 0;
	}
	snprintf(st, sizeof(st), "%d", status);
	snprintf(bytes, sizeof(bytes), "%zu", body_len);
	snprintf(ms, sizeof(ms), "%.3f", dt < 0 ? 0.0 : dt);
	snprintf(port, sizeof(port), "%u", c->local_port);
	bool routed = c->have_head; /* c->req describes this request */
	struct log_kv kv[] = {
		{ "transport", c->transport, false },
		{ "peer", c->peer, false },
		{ "port", port, true },
		{ "method", method[0] ? method : NULL, false },
		{ "path", path[0] ? path : NULL, false },
		{ "devid", routed && c->rq->req.devid[0] ? c->rq->req.devid : NULL, false },
		{ "fields", routed && c->rq->req.fields[0] ? c->rq->req.fields : NULL, false },
		{ "ignored", routed && c->rq->req.ignored[0] ? c->rq->req.ignored : NULL, false },
		{ "status", st, true },
		{ "bytes", bytes, true },
		{ "ms", ms, true },
		{ "tls", c->tls ? scws_tls_version(c->tls) : NULL, false },
		{ "cipher", c->tls ? scws_tls_cipher(c->tls) : NULL, false },
		{ "psk_identity", c->tls ? scws_tls_psk_identity(c->tls) : NULL, false },
		{ "reason", reason && reason[0] ? reason : NULL, false },
		{ "detail", routed && c->rq->req.detail[0] ? c->rq->req.detail : NULL, false },
	};
	log_kv(LOG_INFO, "scws", "request", kv, sizeof(kv) / sizeof(kv[0]));
	c->requests++;
	observe_request(c, req, status, body_len, reason, method, path, dt < 0 ? 0 : (uint64_t)dt);
	scws_server_count_response(c->srv, status);
}

/* An error the conn decides itself (HTTP framing, 503): always closes.
 * req is the request as far as it parsed, for the log; the response
 * only trusts it (HEAD: no body) once the whole head was accepted. */
static void answer_error(struct scws_conn *c, const struct scws_http_req *req, bool head_ok,
			 int status, const char *reason)
{
	const struct scws_http_req *rreq = head_ok ? req : NULL;
	c->answered = true;
	if (scws_http_response_error(resp_buf(c), rreq, status, reason, false) != 0) {
		fatal(c, "no room for the error response");
		return;
	}
	bool head = rreq && rreq->method == SCWS_HTTP_HEAD;
	log_request(c, req, status, head ? 0 : strlen(reason) + 1, reason);
	finish(c);
}

/* An injected status: a one-line text body, Retry-After with 503. */
static int answer_fault_status(struct scws_conn *c, const struct scws_http_req *req, int status,
			       bool close, struct scws_bootstrap_result *res)
{
	static const struct scws_http_field retry = { "Retry-After", SCWS_FAULT_RETRY_AFTER };
	struct scws_http_response r;
	memset(res, 0, sizeof(*res));
	snprintf(res->reason, sizeof(res->reason), "fault injected: http-status %d", status);
	char body[sizeof(res->reason) + 1];
	int n = snprintf(body, sizeof(body), "%s\n", res->reason);
	scws_http_response_init(&r, req, status);
	if (close) {
		r.close = true;
		r.keep_alive_10 = false;
	}
	r.content_type = "text/plain; charset=utf-8";
	r.cache_control = "no-store";
	if (status == 503) {
		r.extra = &retry;
		r.num_extra = 1;
	}
	r.body = body;
	r.body_len = (size_t)n;
	res->status = status;
	res->body_len = r.is_head ? 0 : (size_t)n;
	res->close = r.close;
	if (status == 503)
		res->retry_after_s = (unsigned)strtoul(SCWS_FAULT_RETRY_AFTER, NULL, 10);
	return scws_http_response_write(resp_buf(c), &r);
}

/* Appends ", item" (or item first) to the NUL-terminated out; cut at cap. */
static void add_item(char *out, size_t cap, const char *item)
{
	size_t n = strlen(out);
	if (n + 1 < cap && snprintf(out + n, cap - n, "%s%s", n ? ", " : "", item) < 0)
		out[n] = '\0';
}

/* The faults of fr that act on this answer, as `fault add` names them:
 * "http-status 503", "http-body wrong-type, http-delay 1500". */
static void describe_response_fault(const struct scws_fault_response *fr, char *out, size_t cap)
{
	static const char *const bodies[] = {
		[SCWS_FAULT_BODY_WBXML_GARBAGE] = "wbxml-garbage",
		[SCWS_FAULT_BODY_WRONG_TYPE] = "wrong-type",
	};
	char item[48];
	out[0] = '\0';
	if (fr->status && snprintf(item, sizeof(item), "http-status %d", fr->status) > 0)
		add_item(out, cap, item);
	else if ((unsigned)fr->body < sizeof(bodies) / sizeof(bodies[0]) && bodies[fr->body] &&
		 snprintf(item, sizeof(item), "http-body %s", bodies[fr->body]) > 0)
		add_item(out, cap, item);
	if (fr->truncate && snprintf(item, sizeof(item), "http-truncate %zu", fr->truncate_len) > 0)
		add_item(out, cap, item);
	if (fr->delay_ms && snprintf(item, sizeof(item), "http-delay %u", fr->delay_ms) > 0)
		add_item(out, cap, item);
	if (fr->drip_bps && snprintf(item, sizeof(item), "http-drip %u", fr->drip_bps) > 0)
		add_item(out, cap, item);
}

static void answer(struct scws_conn *c, const struct scws_http_req *req, bool close)
{
	struct scws_bootstrap_result res;
	struct scws_fault_response fr = { 0 };
	c->answered = true;
	c->rq->req.peer = c->peer;
	c->rq->req.now_ms = c->now;
	if (c->rq->req.route == SCWS_BOOTSTRAP_ROUTE_BOOTSTRAP)
		scws_server_fault_response(c->srv, c->transport, c->local_port, &fr);
	size_t start = resp_buf(c)->len;
	uint64_t stream_start = c->sent + (c->out.len - c->out_off);
	int rc;
	if (fr.status) {
		rc = answer_fault_status(c, req, fr.status, close, &res);
	} else {
		c->rq->req.fault_body = fr.body;
		rc = scws_bootstrap_answer(&c->rq->req, c->srv, req, close, resp_buf(c), &res);
	}
	if (rc) {
		fatal(c, rc == -EMSGSIZE ? "response over the output limit" : strerror(-rc));
		return;
	}
	describe_response_fault(&fr, c->req_fault, sizeof(c->req_fault));
	c->req_retry_after = res.retry_after_s;
	log_request(c, req, res.status, res.body_len, res.reason);
	if (fr.truncate && resp_buf(c)->len - start > fr.truncate_len) {
		resp_buf(c)->len = start + fr.truncate_len;
		log_conn(c, LOG_INFO, "answer truncated", "fault injected: http-truncate");
		flush_plain(c);
		c->done = true; /* no close_notify: the stream just ends */
	} else {
		flush_plain(c);
		if (res.close)
			finish(c);
	}
	if ((fr.delay_ms || fr.drip_bps) && !c->pacing) {
		c->pacing = true;
		c->pace_t0_set = false;
		c->pace_start = stream_start;
		c->gate = stream_start;
		c->pace_delay_ms = fr.delay_ms;
		c->pace_bps = fr.drip_bps;
	}
	if (c->pacing)
		c->pace_end = c->sent + (c->out.len - c->out_off);
}

static int on_head(void *arg, const struct scws_http_req *req)
{
	struct scws_conn *c = arg;
	if (pending(c) > SCWS_CONN_PIPELINE_MAX) {
		answer_error(c, req, true, 503, "too many answers wait unread: read them first");
		return -ECANCELED;
	}
	c->have_head = true;
	if (scws_bootstrap_head_at(&c->rq->req, req, c->https,
				   scws_server_bootstrap_path(c->srv)) == SCWS_BOOTSTRAP_DECIDED) {
		if (req->expect_continue) {
			answer(c, req, true);
			return -ECANCELED; /* answered and closing: stop parsing */
		}
		scws_http_parser_skip_body(&c->rq->http);
		return 0;
	}
	if (req->expect_continue) {
		if (buf_append_str(resp_buf(c), SCWS_HTTP_CONTINUE) != 0) {
			fatal(c, "no room for 100 Continue");
			return -EMSGSIZE;
		}
		flush_plain(c);
	}
	return 0;
}

static int on_body(void *arg, const uint8_t *data, size_t len)
{
	struct scws_conn *c = arg;
	scws_bootstrap_body(&c->rq->req, data, len);
	return 0;
}

static int on_head(void *arg, const struct scws_http_req *req);
static int on_body(void *arg, const uint8_t *data, size_t len);

/* A request's first byte came: its parser and form state. */
static bool take_request(struct scws_conn *c)
{
	static const struct scws_http_callbacks cb = { .on_head = on_head, .on_body = on_body };
	if (c->rq)
		return true;
	struct conn_request *rq = spare_request;
	spare_request = NULL;
	if (!rq)
		rq = malloc(sizeof(*rq));
	if (!rq) {
		fatal(c, "out of memory for a request");
		return false;
	}
	scws_http_parser_init(&rq->http, &cb, c);
	scws_bootstrap_req_init(&rq->req);
	c->rq = rq;
	return true;
}

/* No request in progress: the state goes back (kept as the spare). wiped:
 * end_request() already wiped the form's values. */
static void give_back_request(struct scws_conn *c, bool wiped)
{
	struct conn_request *rq = c->rq;
	if (!rq)
		return;
	c->rq = NULL;
	scws_http_parser_cleanup(&rq->http);
	if (!wiped)
		scws_bootstrap_req_cleanup(&rq->req);
	if (spare_request)
		free(rq);
	else
		spare_request = rq;
}

static void end_request(struct scws_conn *c)
{
	c->req_fault[0] = '\0';
	c->req_retry_after = 0;
	scws_bootstrap_req_cleanup(&c->rq->req);
	c->have_head = false;
	c->answered = false;
	c->in_req = false;
	c->t_idle = c->now;
}

/* Bytes of a request arrived while none was in progress. */
static void request_begins(struct scws_conn *c)
{
	if (c->in_req)
		return;
	c->in_req = true;
	c->t_req = c->now;
}

static void parse_failed(struct scws_conn *c)
{
	if (!c->answered && !c->done) {
		const struct scws_http_req *req = scws_http_parser_req(&c->rq->http);
		int status = scws_http_parser_status(&c->rq->http);
		answer_error(c, req->method_name.len ? req : NULL, c->have_head,
			     status ? status : 500, scws_http_parser_reason(&c->rq->http));
	}
	end_request(c);
	finish(c);
}

/* Plaintext HTTP bytes: requests are answered as they complete, and what
 * follows a complete request is the next one (pipelining). */
static void http_input(struct scws_conn *c, const uint8_t *in, size_t len)
{
	if (len && !c->done && !take_request(c))
		return;
	while (len && !c->done) {
		if (!scws_http_parser_in_request(&c->rq->http)) {
			clock_gettime(CLOCK_MONOTONIC, &c->t0);
			c->t0_ms = wall_ms();
			request_begins(c);
		}
		size_t used = 0;
		int rc = scws_http_parser_feed(&c->rq->http, in, len, &used);
		in += used;
		len -= used;
		if (rc == -EAGAIN)
			break;
		if (rc != 0) {
			parse_failed(c);
			return;
		}
		if (!c->answered)
			answer(c, scws_http_parser_req(&c->rq->http), false);
		end_request(c);
		if (!used)
			break; /* cannot happen: a request has a head */
	}
	if (c->rq && !scws_http_parser_in_request(&c->rq->http))
		give_back_request(c, true);
}

/* Plaintext out of the TLS engine, handed to http_input() at once: one
 * buffer for every conn (one event-loop thread; nothing keeps a view of it
 * past the call), not 16 KB in each. */
static uint8_t tls_plain[TLS_PLAINTEXT_MAX];

static void tls_input(struct scws_conn *c, const uint8_t *in, size_t len)
{
	unsigned stalls = 0;
	size_t off = 0;
	c->tls_started = true;
	if (c->tls_alert) {
		/* A fatal handshake_failure (RFC 8446 §6, RFC 5246 §7.2) in a
		 * TLS 1.2 record, which every version's client reads. */
		static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };
		if (buf_append(&c->out, alert, sizeof(alert)) != 0)
			fatal(c, "output over its limit");
		log_conn(c, LOG_INFO, "TLS handshake aborted", "fault injected: tls-alert");
		snprintf(c->fault, sizeof(c->fault), "tls-alert");
		c->done = true;
		return;
	}
	if (c->handshaken && len)
		request_begins(c); /* a record of the next request */
	while (!c->done) {
		bool handshake = scws_tls_state(c->tls) == SCWS_TLS_ST_HANDSHAKING;
		size_t used = 0;
		int rc = scws_tls_feed(c->tls, in + off, len - off, &used);
		off += used;
		tls_drain(c);
		if (rc == -EPROTO) {
			tls_failed(c, handshake);
			return;
		}
		if (rc == -EBADFD) { /* closed: nothing more is read */
			c->done = true;
			return;
		}
		if (scws_tls_state(c->tls) == SCWS_TLS_ST_OPEN)
			c->tls_opened = true;
		for (;;) {
			size_t n = 0;
			handshake = scws_tls_state(c->tls) == SCWS_TLS_ST_HANDSHAKING;
			rc = scws_tls_read(c->tls, tls_plain, sizeof(tls_plain), &n);
			tls_drain(c);
			if (!c->handshaken && scws_tls_state(c->tls) != SCWS_TLS_ST_HANDSHAKING) {
				c->handshaken = true;
				c->t_idle = c->now;
			}
			if (c->done)
				return;
			if (rc == 0) {
				http_input(c, tls_plain, n);
				continue;
			}
			if (rc == -EPIPE) { /* close_notify: ours is in the output */
				c->done = true;
				return;
			}
			if (rc != -EAGAIN) {
				tls_failed(c, handshake);
				return;
			}
			break;
		}
		if (off == len)
			return;
		if (used == 0 && ++stalls > 1) {
			fatal(c, "TLS engine takes no input");
			return;
		}
		if (used)
			stalls = 0;
	}
}

/* Copies the value of header `name` from a request head in p (the first
 * bytes only), keeping [A-Za-z0-9.:[]-] characters; "" when absent. */
static void head_value(const uint8_t *p, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name), o = 0;
	out[0] = '\0';
	for (size_t i = 0; i + 2 + nl < len; i++) {
		if (p[i] != '\n' || strncasecmp((const char *)p + i + 1, name, nl) != 0 ||
		    p[i + 1 + nl] != ':')
			continue;
		for (size_t j = i + 2 + nl; j < len && p[j] != '\r' && p[j] != '\n'; j++) {
			char ch = (char)p[j];
			if (o + 1 < cap && (isalnum((unsigned char)ch) || strchr(".:[]-", ch)))
				out[o++] = ch;
		}
		out[o] = '\0';
		return;
	}
}

/* Plain HTTP on a TLS port: a plain-text 400 that names the https:// URL
 * to use (as nginx does), then close. The bytes never reach OpenSSL. */
static void plain_on_tls_port(struct scws_conn *c, const uint8_t *in, size_t len)
{
	char host[SCWS_WRONG_PROTO_HOST_MAX], url[SCWS_WRONG_PROTO_HOST_MAX + 64], body[512];
	head_value(in, len, "Host", host, sizeof(host));
	if (!host[0])
		snprintf(host, sizeof(host), "127.0.0.1:%u", c->local_port);
	snprintf(url, sizeof(url), "https://%s/OMA/DM/Bootstrap.xml", host);
	int n = snprintf(body, sizeof(body),
			 "400 Bad Request: this port speaks HTTPS (TLS), and a plain HTTP "
			 "request came.\nUse %s\n",
			 url);
	struct buf *o = &c->out;
	if (buf_printf(o,
		       "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		       n, body) != 0)
		fatal(c, "output over its limit");
	log_conn(c, LOG_WARN, "plain HTTP on an HTTPS port", url);
	c->done = true;
}

/* The first bytes of a connection: the other protocol than the port's? A
 * TLS record starts with 0x14..0x17 (a ClientHello with 0x16), an HTTP
 * request with a method in capitals. True when answered and done. */
static bool wrong_protocol(struct scws_conn *c, const uint8_t *in, size_t len)
{
	if (c->tls && in[0] >= 'A' && in[0] <= 'Z') {
		plain_on_tls_port(c, in, len);
		return true;
	}
	if (!c->https && in[0] == 0x16) {
		log_conn(c, LOG_WARN, "TLS on a plain-HTTP port",
			 "a TLS ClientHello came to a port that speaks plain HTTP: closed (use "
			 "http:// here, or https:// on the card's HTTPS port)");
		c->done = true;
		return true;
	}
	return false;
}

struct scws_conn *scws_conn_new(struct scws_server *srv, const struct scws_conn_info *info)
{
	struct scws_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->srv = srv;
	snprintf(c->transport, sizeof(c->transport), "%s", info->transport ? info->transport : "?");
	snprintf(c->peer, sizeof(c->peer), "%s", info->peer ? info->peer : "?");
	if (info->local)
		snprintf(c->local, sizeof(c->local), "%s", info->local);
	else
		snprintf(c->local, sizeof(c->local), "port %u", info->local_port);
	c->local_port = info->local_port;
	c->id = scws_server_next_conn_id(srv);
	clock_gettime(CLOCK_MONOTONIC, &c->opened);
	c->opened_ms = wall_ms();
	c->t0_ms = c->opened_ms;
	c->https = info->tls || info->tls_offloaded;
	if (info->deadlines)
		c->dl = *info->deadlines;
	c->now = c->t_conn = c->t_idle = info->now_ms;
	buf_init(&c->out, SCWS_CONN_OUT_MAX);
	buf_init(&c->plain, SCWS_CONN_OUT_MAX);
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	if (info->tls) {
		struct scws_tls_ctx *ctx = scws_server_tls_ctx(srv);
		if (!ctx) {
			log_conn(c, LOG_WARN, "connection refused",
				 "HTTPS port, but the card has no TLS settings");
			scws_conn_free(c);
			return NULL;
		}
		struct scws_fault_handshake fh;
		scws_server_fault_handshake(srv, c->transport, c->local_port, &fh);
		if (fh.kind == SCWS_FAULT_TLS_ALERT) {
			c->tls_alert = true;
		} else if (fh.kind == SCWS_FAULT_TLS_CERT) {
			struct scws_tls_ctx *fctx = scws_server_fault_tls_ctx(srv, fh.cert);
			if (fctx) {
				ctx = fctx;
				log_conn(c, LOG_INFO, "TLS with a fault certificate",
					 "fault injected: tls-cert");
				snprintf(c->fault, sizeof(c->fault), "tls-cert %s",
					 scws_fault_cert_name(fh.cert));
			} else {
				log_conn(c, LOG_WARN, "tls-cert fault not applied",
					 "no fault certificates beside the card's certificate "
					 "(pki/make-pki.sh makes them)");
			}
		}
		c->tls = scws_tls_new(ctx);
		if (!c->tls) {
			scws_conn_free(c);
			return NULL;
		}
	}
	c->live = true;
	return c;
}

/* The connection as a whole, to the observer, once. */
static void observe_close(struct scws_conn *c)
{
	void *arg;
	scws_observe_fn *fn = scws_server_observer(c->srv, &arg);
	if (!fn || !c->live)
		return;
	struct scws_obs o = { .kind = SCWS_OBS_CONNECTION };
	obs_common(c, &o);
	o.start_ms = c->opened_ms;
	o.duration_ms = ms_since(&c->opened);
	if (c->tls && !c->tls_opened) {
		const char *why = scws_tls_reason(c->tls);
		o.alert = why && why[0]    ? why
			  : c->tls_started ? "the client closed during the handshake"
					   : "the client sent nothing";
	} else if (c->tls && scws_tls_state(c->tls) == SCWS_TLS_ST_FAILED) {
		o.alert = scws_tls_reason(c->tls);
	}
	o.requests = c->requests;
	o.bytes_in = c->bytes_in;
	o.bytes_out = c->bytes_out;
	fn(arg, &o);
}

void scws_conn_free(struct scws_conn *c)
{
	if (!c)
		return;
	observe_close(c);
	scws_tls_free(c->tls);
	give_back_request(c, false);
	buf_cleanup(&c->out);
	buf_cleanup(&c->plain);
	free(c);
}

int scws_conn_feed(struct scws_conn *c, const uint8_t *in, size_t len)
{
	if (c->done || !len)
		return 0;
	c->bytes_in += len;
	c->t_in = c->now;
	if (!c->fed) {
		c->fed = true;
		if (wrong_protocol(c, in, len))
			return 0;
	}
	if (c->tls)
		tls_input(c, in, len);
	else
		http_input(c, in, len);
	release_when_idle(c);
	return 0;
}

void scws_conn_peer_closed(struct scws_conn *c)
{
	if (c->done)
		return;
	if (c->rq && scws_http_parser_in_request(&c->rq->http))
		log_conn(c, LOG_INFO, "peer closed mid-request", "nothing to answer");
	c->done = true;
}

struct bytes scws_conn_output(const struct scws_conn *c)
{
	if (!c->out.p)
		return bytes_make(NULL, 0);
	size_t len = c->out.len - c->out_off;
	if (c->pacing && c->gate - c->sent < len)
		len = (size_t)(c->gate - c->sent);
	return bytes_make(c->out.p + c->out_off, len);
}

int scws_conn_pace(struct scws_conn *c, uint64_t now_ms)
{
	if (!c->pacing)
		return -1;
	if (!c->pace_t0_set) {
		c->pace_t0 = now_ms;
		c->pace_t0_set = true;
	}
	uint64_t open_at = c->pace_t0 + c->pace_delay_ms;
	if (now_ms < open_at) {
		c->gate = c->pace_start;
		return (int)(open_at - now_ms);
	}
	uint64_t released = c->pace_end;
	if (c->pace_bps)
		released = c->pace_start + (now_ms - open_at) * c->pace_bps / 1000u;
	if (released >= c->pace_end) {
		c->pacing = false;
		c->gate = UINT64_MAX;
		return -1;
	}
	c->gate = released;
	/* The next byte's time, at least SCWS_PACE_TICK_MS away. */
	uint64_t next =
		open_at + ((released - c->pace_start + 1) * 1000u + c->pace_bps - 1) / c->pace_bps;
	uint64_t wait = next > now_ms ? next - now_ms : 0;
	return (int)(wait < SCWS_PACE_TICK_MS ? SCWS_PACE_TICK_MS : wait);
}

bool scws_conn_held(const struct scws_conn *c)
{
	return c->pacing;
}

void scws_conn_consume(struct scws_conn *c, size_t n)
{
	size_t left = c->out.len - c->out_off;
	if (c->pacing && c->gate - c->sent < left)
		left = (size_t)(c->gate - c->sent);
	n = n < left ? n : left;
	c->sent += n;
	c->bytes_out += n;
	c->out_off += n;
	if (c->out_off == c->out.len) {
		buf_reset(&c->out);
		c->out_off = 0;
		c->t_drained = c->now;
		if (!c->in_req && !c->plain.len)
			c->t_idle = c->now; /* keep-alive counts from the last byte out */
		release_when_idle(c);
	} else if (c->out_off >= 4096 && c->out_off >= c->out.len / 2) {
		/* Compacting only past half keeps a BIP transport's small
		 * consumes linear in the bytes sent. */
		buf_consume(&c->out, c->out_off);
		c->out_off = 0;
	}
}

size_t scws_conn_footprint(const struct scws_conn *c)
{
	return sizeof(*c) + (c->rq ? sizeof(*c->rq) : 0) + c->out.cap + c->plain.cap;
}

bool scws_conn_output_full(const struct scws_conn *c)
{
	return c->out.len - c->out_off > SCWS_CONN_OUT_HIGH;
}

bool scws_conn_done(const struct scws_conn *c)
{
	return c->done;
}

bool scws_conn_in_request(const struct scws_conn *c)
{
	if (c->done)
		return false;
	/* A handshake that began counts: it must end within the same
	 * deadline as a request. */
	if (c->tls && scws_tls_state(c->tls) == SCWS_TLS_ST_HANDSHAKING)
		return c->tls_started;
	return c->rq && scws_http_parser_in_request(&c->rq->http);
}

void scws_conn_set_time(struct scws_conn *c, uint64_t now_ms)
{
	c->now = now_ms;
}

enum phase { PH_NONE, PH_HANDSHAKE, PH_HEAD, PH_BODY, PH_KEEPALIVE };

static const char *const phase_names[] = {
	[PH_HANDSHAKE] = "TLS handshake",
	[PH_HEAD] = "request head",
	[PH_BODY] = "request body",
	[PH_KEEPALIVE] = "keep-alive (no new request)",
};

/* The phase, its start and its limit (0: none). */
static enum phase phase(const struct scws_conn *c, uint64_t *start, unsigned *limit)
{
	if (c->done || pending(c))
		return PH_NONE;
	if (c->tls && !c->handshaken) {
		*start = c->t_conn;
		*limit = c->dl.handshake_ms;
		return PH_HANDSHAKE;
	}
	if (c->in_req) {
		*start = c->t_req;
		/* The head has its own, shorter limit; the body the rest. */
		if (!c->have_head && c->dl.head_ms &&
		    (!c->dl.request_ms || c->dl.head_ms < c->dl.request_ms)) {
			*limit = c->dl.head_ms;
			return PH_HEAD;
		}
		*limit = c->dl.request_ms;
		return c->have_head ? PH_BODY : PH_HEAD;
	}
	*start = c->t_idle;
	*limit = c->dl.keepalive_ms;
	return PH_KEEPALIVE;
}

uint64_t scws_conn_deadline(const struct scws_conn *c)
{
	uint64_t start = 0;
	unsigned limit = 0;
	if (phase(c, &start, &limit) == PH_NONE || !limit)
		return UINT64_MAX;
	return start + limit;
}

bool scws_conn_expire(struct scws_conn *c, uint64_t now_ms)
{
	uint64_t start = 0;
	unsigned limit = 0;
	enum phase ph = phase(c, &start, &limit);
	if (ph == PH_NONE || !limit || now_ms < start + limit)
		return false;
	char why[96];
	snprintf(why, sizeof(why), "%s not complete after %u ms", phase_names[ph], limit);
	log_conn(c, ph == PH_KEEPALIVE ? LOG_DEBUG : LOG_INFO, "connection closed", why);
	c->done = true;
	return true;
}

uint64_t scws_conn_stalled_since(const struct scws_conn *c)
{
	uint64_t start = 0;
	unsigned limit = 0;
	enum phase ph = phase(c, &start, &limit);
	if (ph == PH_NONE)
		return UINT64_MAX;
	/* Mid-handshake, the wait for the client begins with our last flight. */
	uint64_t since = start > c->t_drained ? start : c->t_drained;
	/* Incomplete and silent since then: the client's turn (its next
	 * flight), which a slow but honest client can take long to come to;
	 * counted as stalled only SCWS_STALL_QUIET_MS later. Trickling
	 * (bytes came, still incomplete) and keep-alive count at once. */
	if (ph != PH_KEEPALIVE && c->t_in <= since)
		return since + SCWS_STALL_QUIET_MS;
	return since;
}
