/* journal.c - the bounded record of every connection and request of the
 * clients under test; JSON through jansson. */
#include "config.h"

#include "lab/journal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lab_journal {
	struct lab_journal_entry **ring; /* cap slots; entries allocated as they come */
	size_t cap;
	size_t head;   /* index of the oldest entry */
	size_t len;    /* len <= cap */
	uint64_t next; /* seq of the next entry */
	uint64_t dropped;
};

struct lab_journal *lab_journal_new(size_t cap)
{
	struct lab_journal *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->cap = cap ? cap : LAB_JOURNAL_MAX;
	j->ring = calloc(j->cap, sizeof(*j->ring));
	if (!j->ring) {
		free(j);
		return NULL;
	}
	j->next = 1;
	return j;
}

void lab_journal_free(struct lab_journal *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->cap; i++)
		free(j->ring[i]);
	free(j->ring);
	free(j);
}

/* The string fields: where each is in a record and in an entry, and its
 * cap (bytes kept with the NUL; longer strings end in "..."). */
static const struct field {
	size_t obs;   /* offsetof(struct scws_obs, ...) */
	size_t entry; /* offsetof(struct lab_journal_entry, ...) */
	size_t cap;
} fields[] = {
#define F(name, cap)                                                                           \
	{                                                                                      \
		offsetof(struct scws_obs, name), offsetof(struct lab_journal_entry, name), cap \
	}
	F(transport, 16),
	F(local, 64),
	F(peer, 64),
	F(tls_version, 16),
	F(cipher, 64),
	F(sni, 128),
	F(psk_identity, TLS_PSK_IDENTITY_MAX + 1),
	F(cert, 128),
	F(alert, 200),
	F(fault, SCWS_OBS_FAULT_MAX),
	F(method, 24),
	F(path, 128),
	F(host, 128),
	F(content_type, 128),
	F(form_error, 160),
	F(devid, 128),
	F(username, 128),
	F(push_address, 256),
	F(passphrase_base64, 128),
	F(reason, 256),
#undef F
};

#define PART_NAME_CAP 40u
#define PART_TYPE_CAP 64u

/* Bytes src takes in an entry, its NUL included (cut at cap). */
static size_t packed_len(const char *src, size_t cap)
{
	size_t n = src ? strlen(src) : 0;
	return (n < cap ? n : cap - 1) + 1;
}

/* Copies src (printable already; NULL = "") to *at, cut at cap with "...";
 * returns it and moves *at past it. */
static const char *pack(char **at, const char *src, size_t cap)
{
	char *dst = *at;
	size_t n = src ? strlen(src) : 0;
	if (n < cap) {
		memcpy(dst, src ? src : "", n + 1);
		*at += n + 1;
	} else {
		memcpy(dst, src, cap - 4);
		memcpy(dst + cap - 4, "...", 4);
		*at += cap;
	}
	return dst;
}

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* Field f of rec; the base64 verdict only when a passphrase came. */
static const char *obs_str(const struct scws_obs *rec, const struct field *f)
{
	const char *v;
	if (f->obs == offsetof(struct scws_obs, passphrase_base64) && !rec->has_passphrase)
		return NULL;
	memcpy(&v, (const char *)rec + f->obs, sizeof(v));
	return v;
}

const struct lab_journal_entry *lab_journal_add(struct lab_journal *j, const struct scws_obs *rec)
{
	size_t n_parts = rec->n_parts < MULTIPART_PARTS_MAX ? rec->n_parts : MULTIPART_PARTS_MAX;
	const char *src[N_FIELDS];
	size_t size = sizeof(struct lab_journal_entry) + n_parts * sizeof(struct lab_journal_part);
	for (size_t i = 0; i < N_FIELDS; i++) {
		src[i] = obs_str(rec, &fields[i]);
		size += packed_len(src[i], fields[i].cap);
	}
	for (size_t i = 0; i < n_parts; i++)
		size += packed_len(rec->parts[i].name, PART_NAME_CAP) +
			packed_len(rec->parts[i].content_type, PART_TYPE_CAP);

	struct lab_journal_entry *e = malloc(size);
	if (!e) {
		j->dropped++;
		j->next++;
		return NULL;
	}
	if (j->len == j->cap) {
		free(j->ring[j->head]);
		j->ring[j->head] = NULL;
		j->head = (j->head + 1) % j->cap;
		j->len--;
		j->dropped++;
	}
	memset(e, 0, sizeof(*e));
	struct lab_journal_part *parts = (struct lab_journal_part *)(e + 1);
	char *at = (char *)(parts + n_parts);
	for (size_t i = 0; i < N_FIELDS; i++) {
		const char *v = pack(&at, src[i], fields[i].cap);
		memcpy((char *)e + fields[i].entry, &v, sizeof(v));
	}
	for (size_t i = 0; i < n_parts; i++) {
		parts[i].name = pack(&at, rec->parts[i].name, PART_NAME_CAP);
		parts[i].content_type = pack(&at, rec->parts[i].content_type, PART_TYPE_CAP);
		parts[i].size = rec->parts[i].size;
	}
	e->parts = parts;
	e->n_parts = n_parts;
	e->seq = j->next++;
	e->kind = rec->kind;
	e->conn_id = rec->conn_id;
	e->start_ms = rec->start_ms;
	e->duration_ms = rec->duration_ms;
	e->https = rec->https;
	e->has_tls =
		rec->tls_version || rec->alert || rec->handshake_done || rec->sni || rec->cipher;
	e->handshake_done = rec->handshake_done;
	e->has_query = rec->has_query;
	e->bootstrap = rec->bootstrap;
	e->has_devid = rec->devid != NULL;
	e->has_username = rec->username != NULL;
	e->has_push_address = rec->push_address != NULL;
	e->has_passphrase = rec->has_passphrase;
	e->passphrase_size = rec->passphrase_size;
	e->status = rec->status;
	e->bytes = rec->bytes;
	e->retry_after_s = rec->retry_after_s;
	e->requests = rec->requests;
	e->bytes_in = rec->bytes_in;
	e->bytes_out = rec->bytes_out;
	j->ring[(j->head + j->len) % j->cap] = e;
	j->len++;
	return e;
}

size_t lab_journal_len(const struct lab_journal *j)
{
	return j->len;
}

const struct lab_journal_entry *lab_journal_at(const struct lab_journal *j, size_t i)
{
	return i < j->len ? j->ring[(j->head + i) % j->cap] : NULL;
}

uint64_t lab_journal_dropped(const struct lab_journal *j)
{
	return j->dropped;
}

uint64_t lab_journal_next_seq(const struct lab_journal *j)
{
	return j->next;
}

const char *lab_journal_peer_host(const char *peer, char *out, size_t cap)
{
	const char *colon;
	size_t n;
	if (strncmp(peer, "channel", 7) == 0) {
		snprintf(out, cap, "bip");
		return out;
	}
	if (peer[0] == '[') {
		const char *end = strchr(peer, ']');
		n = end ? (size_t)(end - peer - 1) : strlen(peer + 1);
		snprintf(out, cap, "%.*s", (int)n, peer + 1);
		return out;
	}
	colon = strrchr(peer, ':');
	n = colon && strchr(peer, ':') == colon ? (size_t)(colon - peer) : strlen(peer);
	snprintf(out, cap, "%.*s", (int)n, peer);
	return out;
}

/* ---------------------------------------------------------------- JSON */

static int set_str(json_t *o, const char *key, const char *v)
{
	if (!v[0])
		return 0;
	return json_object_set_new(o, key, json_string(v));
}

static int set_int(json_t *o, const char *key, json_int_t v)
{
	return json_object_set_new(o, key, json_integer(v));
}

static void iso_time(int64_t ms, char *out, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&s, &tm)) {
		snprintf(out, cap, "?");
		return;
	}
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%03dZ", base, (int)(ms % 1000));
}

json_t *lab_journal_entry_json(const struct lab_journal_entry *e)
{
	json_t *o = json_object();
	char when[48];
	int rc = 0;
	if (!o)
		return NULL;
	iso_time(e->start_ms, when, sizeof(when));
	rc |= set_int(o, "seq", (json_int_t)e->seq);
	rc |= json_object_set_new(
		o, "kind", json_string(e->kind == SCWS_OBS_REQUEST ? "request" : "connection"));
	rc |= json_object_set_new(o, "time", json_string(when));
	rc |= set_int(o, "time_ms", (json_int_t)e->start_ms);
	rc |= set_str(o, "transport", e->transport);
	rc |= set_int(o, "conn", (json_int_t)e->conn_id);
	rc |= set_str(o, "local", e->local);
	rc |= set_str(o, "peer", e->peer);
	rc |= json_object_set_new(o, "https", json_boolean(e->https));
	if (e->has_tls) {
		json_t *t = json_object();
		if (!t || json_object_set_new(o, "tls", t)) {
			json_decref(o);
			return NULL;
		}
		rc |= set_str(t, "version", e->tls_version);
		rc |= set_str(t, "cipher", e->cipher);
		rc |= set_str(t, "sni", e->sni);
		rc |= set_str(t, "psk_identity", e->psk_identity);
		rc |= set_str(t, "certificate", e->cert);
		rc |= json_object_set_new(t, "handshake",
					  json_string(e->handshake_done ? "completed" : "failed"));
		rc |= set_str(t, "alert", e->alert);
	} else if (e->alert[0]) {
		rc |= set_str(o, "error", e->alert);
	}
	rc |= set_str(o, "fault", e->fault);
	if (e->kind == SCWS_OBS_REQUEST) {
		rc |= set_str(o, "method", e->method);
		rc |= set_str(o, "path", e->path);
		if (e->has_query)
			rc |= json_object_set_new(o, "query", json_true());
		rc |= set_str(o, "host", e->host);
		rc |= set_str(o, "content_type", e->content_type);
		if (e->n_parts) {
			json_t *a = json_array();
			if (!a || json_object_set_new(o, "fields", a)) {
				json_decref(o);
				return NULL;
			}
			for (size_t i = 0; i < e->n_parts; i++) {
				json_t *f = json_object();
				if (!f || json_array_append_new(a, f)) {
					json_decref(o);
					return NULL;
				}
				rc |= json_object_set_new(f, "name", json_string(e->parts[i].name));
				rc |= set_int(f, "size", (json_int_t)e->parts[i].size);
				rc |= set_str(f, "content_type", e->parts[i].content_type);
			}
		}
		rc |= set_str(o, "form_error", e->form_error);
		if (e->has_devid)
			rc |= json_object_set_new(o, "devid", json_string(e->devid));
		if (e->has_username)
			rc |= json_object_set_new(o, "username", json_string(e->username));
		if (e->has_push_address)
			rc |= json_object_set_new(o, "push_address", json_string(e->push_address));
		if (e->has_passphrase) {
			json_t *p = json_object();
			if (!p || json_object_set_new(o, "passphrase", p)) {
				json_decref(o);
				return NULL;
			}
			rc |= set_int(p, "size", (json_int_t)e->passphrase_size);
			rc |= json_object_set_new(p, "base64", json_string(e->passphrase_base64));
		}
		rc |= set_int(o, "status", e->status);
		rc |= set_int(o, "bytes", (json_int_t)e->bytes);
		if (e->retry_after_s)
			rc |= set_int(o, "retry_after", e->retry_after_s);
		rc |= set_str(o, "reason", e->reason);
	} else {
		rc |= set_int(o, "requests", e->requests);
		rc |= set_int(o, "bytes_in", (json_int_t)e->bytes_in);
		rc |= set_int(o, "bytes_out", (json_int_t)e->bytes_out);
	}
	rc |= set_int(o, "duration_ms", (json_int_t)e->duration_ms);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *lab_journal_json(const struct lab_journal *j, uint64_t since)
{
	json_t *o = json_object(), *a = json_array();
	if (!o || !a || json_object_set_new(o, "entries", a)) {
		json_decref(o);
		if (!o)
			json_decref(a);
		return NULL;
	}
	if (set_int(o, "dropped", (json_int_t)j->dropped) ||
	    set_int(o, "next", (json_int_t)j->next)) {
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < j->len; i++) {
		const struct lab_journal_entry *e = lab_journal_at(j, i);
		if (e->seq <= since)
			continue;
		json_t *x = lab_journal_entry_json(e);
		if (!x || json_array_append_new(a, x)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}
