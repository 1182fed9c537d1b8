/* verdict.h - the journal judged against the rules of the OMA DM change
 * request "Bootstrap via HTTPS" (section 5.5.7), per client; JUnit XML and
 * JSON reports. Sans-I/O: the reports are written into a buffer.
 *
 * A client is a devid, or a peer host when no devid came. A connection
 * that carried no request (a handshake the client aborted, say) belongs to
 * the client of the next request from the same host, else of the last one
 * before it, else to that host.
 *
 * Each rule has a stable id (lab_verdict_rule_id()), the sentence of the
 * CR it checks (lab_verdict_rule_spec()), and per client a result and a
 * reason that quotes what was seen. Request rules look at every bootstrap
 * attempt of the client (a request routed to an endpoint, a POST, or a
 * path that names a bootstrap) and keep the worst result. */
#ifndef SCWS_LAB_VERDICT_H
#define SCWS_LAB_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "lab/journal.h"

enum lab_verdict_result {
	LAB_VERDICT_NA, /* the rule had nothing to judge */
	LAB_VERDICT_PASS,
	LAB_VERDICT_WARN,
	LAB_VERDICT_FAIL, /* order: the worst last */
};
const char *lab_verdict_result_name(enum lab_verdict_result r); /* "pass", "n/a" ... */

enum lab_verdict_rule {
	LAB_RULE_METHOD,
	LAB_RULE_PATH,
	LAB_RULE_HTTPS,
	LAB_RULE_MULTIPART,
	LAB_RULE_DEVID,
	LAB_RULE_DEVID_URN,
	LAB_RULE_PART_TYPE,
	LAB_RULE_PASSPHRASE_WITH_USERNAME,
	LAB_RULE_PASSPHRASE_BASE64,
	LAB_RULE_PUSH_ADDRESS,
	LAB_RULE_TLS_VERSION,
	LAB_RULE_TLS_SNI,
	LAB_RULE_TLS_CERT_CHECK,
	LAB_RULE_FALLBACK,
	LAB_RULE_NO_REFETCH,
	LAB_RULE_RETRY,
	LAB_RULE_RECEIVED,
	LAB_RULE_COUNT,
};
const char *lab_verdict_rule_id(enum lab_verdict_rule r);   /* "http-method" ... */
const char *lab_verdict_rule_spec(enum lab_verdict_rule r); /* the CR's sentence */

struct lab_verdict_ctx {
	bool has_server;      /* a Bootstrap Server is configured (--bootstrap-server) */
	unsigned retries_max; /* 0: LAB_RETRIES_MAX */
};

struct lab_verdict_item {
	enum lab_verdict_result result;
	char reason[320];
};

struct lab_verdict_client {
	char name[160];  /* "devid IMEI:..." or "peer 127.0.0.1" */
	size_t requests; /* bootstrap attempts */
	size_t connections;
	bool received; /* a 200 with the bootstrap */
	struct lab_verdict_item rule[LAB_RULE_COUNT];
};

struct lab_verdicts {
	struct lab_verdict_client *clients; /* in order of first appearance */
	size_t n_clients;                   /* <= LAB_CLIENTS_MAX */
	size_t clients_dropped;             /* over LAB_CLIENTS_MAX: not judged */
	bool any_fetched;                   /* some client received the bootstrap */
};

/* Judges j. 0 and *out (free with lab_verdicts_free), or -ENOMEM. */
__attribute__((warn_unused_result)) int lab_verdict_judge(const struct lab_journal *j,
							  const struct lab_verdict_ctx *ctx,
							  struct lab_verdicts **out);
void lab_verdicts_free(struct lab_verdicts *v);

/* The worst result of a client, or of every client (NA when none). */
enum lab_verdict_result lab_verdict_client_worst(const struct lab_verdict_client *c);
enum lab_verdict_result lab_verdict_worst(const struct lab_verdicts *v);

/* The --until-fetched exit status: 4 no client came, 3 a rule failed (a
 * client that tried and never received the bootstrap fails
 * bootstrap-received), else 0. */
int lab_verdict_exit_status(const struct lab_verdicts *v);

/* A JUnit XML report (testsuites > testsuite per client > testcase per
 * rule, <failure> for fail, <skipped> for n/a, the reason of pass and warn
 * in <system-out>) appended to out. 0, -ENOMEM or -EMSGSIZE. */
__attribute__((warn_unused_result)) int lab_verdict_junit(const struct lab_verdicts *v,
							  struct buf *out);

/* {"result": ..., "clients": [{"client": ..., "result": ..., "rules":
 * [{"id", "result", "reason", "spec"}]}]}: a new reference, NULL on
 * -ENOMEM. */
json_t *lab_verdict_json(const struct lab_verdicts *v);

/* A few lines for a person: one per client, one per rule not passed. */
__attribute__((warn_unused_result)) int lab_verdict_text(const struct lab_verdicts *v,
							 struct buf *out);

/* Device URN checks, exposed for tests: NULL when s is a valid devid (IMEI
 * with 15 digits and its Luhn check digit, MEID, ESN, urn:NID:NSS), else
 * why not into why. */
const char *lab_verdict_devid_problem(const char *s, char *why, size_t cap);

#endif
