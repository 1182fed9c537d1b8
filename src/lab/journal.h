/* journal.h - what the clients under test did: every connection and request
 * of every transport (Bootstrap Server, BIP, TCP/IP), in memory, sans-I/O.
 *
 * The SCWS observer (scws/observe.h) hands each record to
 * lab_journal_add(), which copies it into a bounded ring: at most
 * LAB_JOURNAL_MAX entries, the oldest dropped first and counted. Entries
 * are numbered from 1 in arrival order; the number survives drops, so a
 * reader asks for "everything after N".
 *
 * An entry is one allocation: the fixed fields, then its parts and its
 * strings back to back, each string as long as it is (cut at its field's
 * cap, below, with "..." at the end). A full ring of 4,096 typical
 * entries is about 2 MB.
 *
 * A record holds no secret (observe.h): the passphrase is present only as
 * its size and a base64 verdict, a PSK only as its identity. */
#ifndef SCWS_LAB_JOURNAL_H
#define SCWS_LAB_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/limits.h"
#include "scws/observe.h"

struct lab_journal_part {
	const char *name;         /* cut at 39 bytes */
	const char *content_type; /* cut at 63; "" when the part had none */
	size_t size;
};

/* One record, with every string copied: never NULL, "" = absent; each cut
 * at its cap (journal.c's field table, the sizes the fixed fields had:
 * e.g. 255 bytes for push_address and reason, 127 for devid and path). */
struct lab_journal_entry {
	uint64_t seq; /* from 1 */
	enum scws_obs_kind kind;
	uint64_t conn_id;
	int64_t start_ms;
	uint64_t duration_ms;
	const char *transport;
	const char *local;
	const char *peer;
	bool https;
	bool has_tls; /* a TLS engine ran (the fields below apply) */
	const char *tls_version;
	const char *cipher;
	const char *sni;
	const char *psk_identity;
	const char *cert;
	bool handshake_done;
	const char *alert;
	const char *fault;

	const char *method;
	const char *path;
	bool has_query;
	const char *host;
	const char *content_type;
	bool bootstrap;
	const struct lab_journal_part *parts; /* n_parts of them */
	size_t n_parts;                       /* n_parts <= MULTIPART_PARTS_MAX */
	const char *form_error;
	bool has_devid; /* devid came (possibly empty) */
	const char *devid;
	bool has_username;
	const char *username;
	bool has_push_address;
	const char *push_address;
	bool has_passphrase;
	size_t passphrase_size;
	const char *passphrase_base64;
	int status;
	size_t bytes;
	unsigned retry_after_s;
	const char *reason;

	unsigned requests;
	uint64_t bytes_in;
	uint64_t bytes_out;
};

struct lab_journal;

/* cap entries at most (0: LAB_JOURNAL_MAX). NULL on -ENOMEM. */
struct lab_journal *lab_journal_new(size_t cap);
void lab_journal_free(struct lab_journal *j);

/* Copies rec; the oldest entry goes when the ring is full. Returns the new
 * entry (valid until the next add), or NULL when memory ran out (the
 * record is then counted as dropped). */
const struct lab_journal_entry *lab_journal_add(struct lab_journal *j, const struct scws_obs *rec);

/* Entries kept, the oldest first: 0 <= i < lab_journal_len(). */
size_t lab_journal_len(const struct lab_journal *j);
const struct lab_journal_entry *lab_journal_at(const struct lab_journal *j, size_t i);
/* Entries dropped so far (the ring was full, or out of memory). */
uint64_t lab_journal_dropped(const struct lab_journal *j);
/* The number the next entry will get. */
uint64_t lab_journal_next_seq(const struct lab_journal *j);

/* The entry as a JSON object (a new reference; NULL on -ENOMEM). */
json_t *lab_journal_entry_json(const struct lab_journal_entry *e);
/* {"dropped": N, "next": SEQ, "entries": [...]}: the entries with
 * seq > since (a new reference; NULL on -ENOMEM). */
json_t *lab_journal_json(const struct lab_journal *j, uint64_t since);

/* "192.0.2.1" of "192.0.2.1:5000", "::1" of "[::1]:5000", "bip" for a
 * card channel ("channel 3"): the host a peer string names, into out. */
const char *lab_journal_peer_host(const char *peer, char *out, size_t cap);

#endif
