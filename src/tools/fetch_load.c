/* fetch_load.c - scwsemu-fetch's load generator (fetch.h). */
#include "config.h"

#include "tools/fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "codec/wbxml.h"
#include "config/paths.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/json.h"
#include "core/limits.h"
#include "scws/http.h"
#include "scws/http_resp.h"
#include "tools/fetch_url.h"
#include "transport/sock.h"

/* ---------------------------------------------------------------- load mode */

struct sample {
	double ms;
	int status;
	enum fail_kind kind;
	bool resumed;
};

struct load {
	const struct client *cl;
	const struct tools_fetch_url *u;
	atomic_ulong next;
	unsigned long total;
	struct sample *samples;
};

static void *load_worker(void *arg)
{
	struct load *l = arg;
	struct result r;
	SSL_SESSION *sess = NULL; /* --resume: this worker's last session */
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, HTTP_RESP_BODY_MAX);
	for (;;) {
		unsigned long i = atomic_fetch_add(&l->next, 1);
		if (i >= l->total)
			break;
		fetch_once(l->cl, l->u, &r, false, l->cl->o->resume ? &sess : NULL);
		l->samples[i].ms = r.ms;
		l->samples[i].kind = r.kind;
		l->samples[i].status = r.kind == FAIL_NONE ? r.status : 0;
		l->samples[i].resumed = r.resumed;
	}
	SSL_SESSION_free(sess);
	buf_cleanup(&r.body);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n), n > 0. */
static double percentile(const double *v, size_t n, unsigned pct)
{
	size_t rank = (pct * n + 99) / 100;
	return v[rank ? rank - 1 : 0];
}

/* Error kinds and non-200 statuses with their counts, as "name N" pairs. */
struct tally {
	char name[32];
	unsigned long n;
};

static void count(struct tally *t, size_t *nt, size_t cap, const char *name)
{
	for (size_t i = 0; i < *nt; i++)
		if (!strcmp(t[i].name, name)) {
			t[i].n++;
			return;
		}
	if (*nt < cap) {
		snprintf(t[*nt].name, sizeof(t[0].name), "%s", name);
		t[(*nt)++].n = 1;
	}
}

int run_load(const struct opts *o)
{
	struct tools_fetch_url u;
	if (tools_fetch_url_parse(o->url, &u))
		return usage_error("not an http:// or https:// URL: %s", o->url);
	struct client cl;
	int rc = client_init(&cl, o, u.is_https);
	if (rc) {
		client_cleanup(&cl);
		return rc;
	}
	struct load l = { .cl = &cl, .u = &u, .total = o->requests };
	atomic_init(&l.next, 0);
	l.samples = calloc(o->requests, sizeof(*l.samples));
	pthread_t *threads = calloc(o->concurrency, sizeof(*threads));
	double *ms = calloc(o->requests, sizeof(*ms));
	if (!l.samples || !threads || !ms) {
		fprintf(stderr, PROG ": out of memory\n");
		rc = EXIT_FAIL;
		goto out;
	}
	unsigned started = 0;
	double t0 = fetch_now_s();
	for (; started < o->concurrency; started++)
		if (pthread_create(&threads[started], NULL, load_worker, &l) != 0)
			break;
	if (started == 0) {
		fprintf(stderr, PROG ": cannot start a worker thread\n");
		rc = EXIT_FAIL;
		goto out;
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	double elapsed = fetch_now_s() - t0;

	/* Latency counts every request that got an HTTP answer, whatever its
	 * status; transport failures have none to measure. */
	size_t nms = 0;
	unsigned long ok = 0, resumed = 0;
	struct tally errs[FAIL_KINDS + 32];
	size_t nerr = 0;
	for (unsigned long i = 0; i < o->requests; i++) {
		const struct sample *s = &l.samples[i];
		if (s->kind == FAIL_NONE)
			ms[nms++] = s->ms;
		resumed += s->resumed;
		if (s->kind == FAIL_NONE && s->status == 200) {
			ok++;
		} else if (s->kind == FAIL_NONE) {
			char name[32];
			snprintf(name, sizeof(name), "http %d", s->status);
			count(errs, &nerr, sizeof(errs) / sizeof(errs[0]), name);
		} else {
			count(errs, &nerr, sizeof(errs) / sizeof(errs[0]), fail_names[s->kind]);
		}
	}
	qsort(ms, nms, sizeof(*ms), cmp_double);
	double rps = elapsed > 0 ? (double)nms / elapsed : 0;
	double p50 = nms ? percentile(ms, nms, 50) : 0, p90 = nms ? percentile(ms, nms, 90) : 0;
	double p99 = nms ? percentile(ms, nms, 99) : 0, max = nms ? ms[nms - 1] : 0;
	const char *mode = !u.is_https ? "no TLS" : o->has_psk ? "PSK TLS" : "certificate TLS";
	if (o->want_json) {
		printf("{\"url\": ");
		json_fput_str(stdout, u.text);
		printf(", \"tls\": \"%s\", \"requests\": %lu, \"concurrency\": %u, \"ok\": %lu, "
		       "\"answered\": %zu, \"seconds\": %.3f, \"requests_per_second\": %.1f, "
		       "\"latency_ms\": {\"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, "
		       "\"max\": %.2f}, \"resumed\": %lu, \"errors\": {",
		       u.is_https ? (o->has_psk ? "psk" : "certificate") : "none", o->requests,
		       o->concurrency, ok, nms, elapsed, rps, p50, p90, p99, max, resumed);
		for (size_t i = 0; i < nerr; i++) {
			printf("%s", i ? ", " : "");
			json_fput_str(stdout, errs[i].name);
			printf(": %lu", errs[i].n);
		}
		printf("}}\n");
	} else {
		printf("%lu requests to %s, %u at a time, each on a new connection (%s)\n",
		       o->requests, u.text, o->concurrency, mode);
		printf("ok: %lu, errors: %lu\n", ok, o->requests - ok);
		if (o->resume)
			printf("TLS sessions resumed: %lu of %lu\n", resumed, o->requests);
		printf("time: %.3f s, %.1f requests/s\n", elapsed, rps);
		if (nms)
			printf("latency ms: p50 %.2f, p90 %.2f, p99 %.2f, max %.2f\n", p50, p90,
			       p99, max);
		if (nerr) {
			printf("errors by kind:");
			for (size_t i = 0; i < nerr; i++)
				printf("%s %s %lu", i ? "," : "", errs[i].name, errs[i].n);
			printf("\n");
		}
	}
	fflush(stdout);
	rc = ok == o->requests ? EXIT_OK : EXIT_FAIL;
out:
	free(ms);
	free(threads);
	free(l.samples);
	client_cleanup(&cl);
	return rc;
}
