/* test_lab_journal.c - unit tests for src/lab/journal.c: the ring (order,
 * drops counted, seq kept), copies cut to size, the JSON shape, peer hosts;
 * and the whole path from a real scws_conn through the observer: the
 * journal has the form's fields and sizes but never the passphrase. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/layout.h"
#include "config/profile.h"
#include "lab/journal.h"
#include "scws/conn.h"
#include "scws/server.h"
#include "runner.h"

static struct scws_obs req(const char *devid, int status)
{
	struct scws_obs o = {
		.kind = SCWS_OBS_REQUEST,
		.conn_id = 1,
		.start_ms = 1764870000123,
		.transport = "bip",
		.local = "port 4116",
		.peer = "channel 1",
		.https = true,
		.tls_version = "TLSv1.3",
		.cipher = "TLS_AES_128_GCM_SHA256",
		.handshake_done = true,
		.method = "POST",
		.path = "/OMA/DM/Bootstrap.xml",
		.bootstrap = true,
		.devid = devid,
		.status = status,
		.bytes = 10,
	};
	return o;
}

static void test_ring(void)
{
	struct lab_journal *j = lab_journal_new(3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(lab_journal_len(j), 0);
	CU_ASSERT_PTR_NULL(lab_journal_at(j, 0));
	const char *ids[] = { "IMEI:1", "IMEI:2", "IMEI:3", "IMEI:4", "IMEI:5" };
	for (int i = 0; i < 5; i++) {
		struct scws_obs o = req(ids[i], 200);
		const struct lab_journal_entry *e = lab_journal_add(j, &o);
		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		CU_ASSERT_EQUAL(e->seq, (uint64_t)i + 1);
	}
	CU_ASSERT_EQUAL(lab_journal_len(j), 3);
	CU_ASSERT_EQUAL(lab_journal_dropped(j), 2);
	CU_ASSERT_EQUAL(lab_journal_next_seq(j), 6);
	CU_ASSERT_STRING_EQUAL(lab_journal_at(j, 0)->devid, "IMEI:3");
	CU_ASSERT_EQUAL(lab_journal_at(j, 0)->seq, 3);
	CU_ASSERT_STRING_EQUAL(lab_journal_at(j, 2)->devid, "IMEI:5");
	CU_ASSERT_PTR_NULL(lab_journal_at(j, 3));

	json_t *x = lab_journal_json(j, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(x, "dropped")), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(x, "next")), 6);
	json_t *a = json_object_get(x, "entries");
	CU_ASSERT_EQUAL(json_array_size(a), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(a, 0), "seq")), 5);
	json_decref(x);
	lab_journal_free(j);
	lab_journal_free(NULL);
}

static void test_copy_cut(void)
{
	struct lab_journal *j = lab_journal_new(0);
	char longpush[600];
	memset(longpush, 'a', sizeof(longpush) - 1);
	memcpy(longpush, "http:", 5);
	longpush[sizeof(longpush) - 1] = 0;
	struct scws_obs o = req("IMEI:490154203237518", 200);
	o.push_address = longpush;
	o.username = "";
	const struct lab_journal_entry *e = lab_journal_add(j, &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	/* push_address keeps 255 bytes, the last three "...". */
	CU_ASSERT_EQUAL(strlen(e->push_address), 255);
	CU_ASSERT_STRING_EQUAL(e->push_address + 252, "...");
	CU_ASSERT_EQUAL(memcmp(e->push_address, longpush, 252), 0);
	/* Every string is there, "" when absent; one part per form field. */
	CU_ASSERT_STRING_EQUAL(e->fault, "");
	CU_ASSERT_STRING_EQUAL(e->passphrase_base64, "");
	CU_ASSERT(e->has_username);
	CU_ASSERT_STRING_EQUAL(e->username, "");
	CU_ASSERT(!e->has_passphrase);
	CU_ASSERT(e->has_tls);
	lab_journal_free(j);
}

static void test_json_shape(void)
{
	struct lab_journal *j = lab_journal_new(0);
	struct scws_obs_part parts[] = {
		{ "devid", 20, "text/plain" },
		{ "passphrase", 12, NULL },
	};
	struct scws_obs o = req("IMEI:490154203237518", 200);
	o.parts = parts;
	o.n_parts = 2;
	o.has_passphrase = true;
	o.passphrase_size = 12;
	o.passphrase_base64 = "ok";
	o.sni = "localuicc";
	o.host = "localuicc";
	o.content_type = "multipart/form-data; boundary=x";
	const struct lab_journal_entry *e = lab_journal_add(j, &o);
	json_t *x = lab_journal_entry_json(e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "kind")), "request");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "time")),
			       "2025-12-04T17:40:00.123Z");
	json_t *t = json_object_get(x, "tls");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "version")), "TLSv1.3");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "sni")), "localuicc");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "handshake")), "completed");
	json_t *f = json_object_get(x, "fields");
	CU_ASSERT_EQUAL(json_array_size(f), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(f, 1), "size")), 12);
	CU_ASSERT_PTR_NULL(json_object_get(json_array_get(f, 1), "content_type"));
	json_t *p = json_object_get(x, "passphrase");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "size")), 12);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "base64")), "ok");
	CU_ASSERT_EQUAL(json_object_size(p), 2);
	json_decref(x);

	struct scws_obs c = { .kind = SCWS_OBS_CONNECTION,
			      .conn_id = 2,
			      .transport = "tcpip",
			      .peer = "[::1]:5000",
			      .alert = "bad certificate",
			      .requests = 0 };
	e = lab_journal_add(j, &c);
	x = lab_journal_entry_json(e);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "kind")), "connection");
	t = json_object_get(x, "tls");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "handshake")), "failed");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "alert")), "bad certificate");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(x, "requests")), 0);
	CU_ASSERT_PTR_NULL(json_object_get(x, "method"));
	json_decref(x);
	lab_journal_free(j);
}

static void test_peer_host(void)
{
	static const struct {
		const char *peer, *host;
	} t[] = {
		{ "127.0.0.1:50000", "127.0.0.1" },
		{ "[::1]:4116", "::1" },
		{ "channel 3", "bip" },
		{ "?", "?" },
		{ "[fe80::1", "fe80::1" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char out[64];
		CU_ASSERT_STRING_EQUAL(lab_journal_peer_host(t[i].peer, out, sizeof(out)),
				       t[i].host);
	}
}

/* ---------------------------------------------------------------- through scws */

static void observe(void *arg, const struct scws_obs *rec)
{
	CU_ASSERT_PTR_NOT_NULL(lab_journal_add(arg, rec));
}

#define SECRET_B64 "c2VjcmV0LXBhc3MtOTk=" /* "secret-pass-99" */

static const char form[] = "POST /OMA/DM/Bootstrap.xml HTTP/1.1\r\n"
			   "Host: 127.0.0.1:4116\r\n"
			   "Content-Type: multipart/form-data; boundary=XyZ\r\n"
			   "Content-Length: %zu\r\n\r\n%s";
static const char body[] =
	"--XyZ\r\nContent-Disposition: form-data; name=\"devid\"\r\n"
	"Content-Type: text/plain\r\n\r\nIMEI:490154203237518\r\n"
	"--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n"
	"--XyZ\r\nContent-Disposition: form-data; name=\"passphrase\"\r\n\r\n" SECRET_B64 "\r\n"
	"--XyZ\r\nContent-Disposition: form-data; name=\"push-address\"\r\n\r\n"
	"http://192.0.2.1/push\r\n"
	"--XyZ--\r\n";

static void test_through_conn(void)
{
	struct profile *p;
	struct card_fs *fs;
	struct profile_error perr;
	char msg[1024], dir[4096], reqs[4096];
	snprintf(dir, sizeof(dir), "%s", unit_srcpath("cards/default"));
	CU_ASSERT_EQUAL_FATAL(profile_load(dir, &p, &perr), 0);
	CU_ASSERT_EQUAL_FATAL(card_layout_build(&p->card, &fs, msg, sizeof(msg)), 0);
	struct scws_server *srv = scws_server_new();
	CU_ASSERT_EQUAL_FATAL(scws_server_load(srv, p, fs, msg, sizeof(msg)), 0);
	struct lab_journal *j = lab_journal_new(0);
	scws_server_set_observer(srv, observe, j);

	struct scws_conn_info info = {
		.transport = "bip",
		.peer = "channel 2",
		.local_port = 4116,
		.tls_offloaded = true,
	};
	struct scws_conn *c = scws_conn_new(srv, &info);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	int n = snprintf(reqs, sizeof(reqs), form, strlen(body), body);
	CU_ASSERT_EQUAL(scws_conn_feed(c, (const uint8_t *)reqs, (size_t)n), 0);
	CU_ASSERT_EQUAL_FATAL(lab_journal_len(j), 1);
	const struct lab_journal_entry *e = lab_journal_at(j, 0);
	CU_ASSERT_EQUAL(e->kind, SCWS_OBS_REQUEST);
	CU_ASSERT_STRING_EQUAL(e->transport, "bip");
	CU_ASSERT_STRING_EQUAL(e->local, "port 4116");
	CU_ASSERT_STRING_EQUAL(e->method, "POST");
	CU_ASSERT_STRING_EQUAL(e->host, "127.0.0.1:4116");
	CU_ASSERT(e->bootstrap);
	CU_ASSERT_STRING_EQUAL(e->devid, "IMEI:490154203237518");
	CU_ASSERT_STRING_EQUAL(e->username, "alice");
	CU_ASSERT_STRING_EQUAL(e->push_address, "http://192.0.2.1/push");
	CU_ASSERT(e->has_passphrase);
	CU_ASSERT_EQUAL(e->passphrase_size, strlen(SECRET_B64));
	CU_ASSERT_STRING_EQUAL(e->passphrase_base64, "ok");
	CU_ASSERT_EQUAL(e->n_parts, 4);
	CU_ASSERT_STRING_EQUAL(e->parts[0].content_type, "text/plain");
	CU_ASSERT_STRING_EQUAL(e->parts[2].name, "passphrase");
	CU_ASSERT_EQUAL(e->parts[2].size, strlen(SECRET_B64));
	CU_ASSERT_EQUAL(e->status, 200);
	CU_ASSERT(e->bytes > 0);
	struct bytes out = scws_conn_output(c);
	CU_ASSERT(out.len > e->bytes);
	scws_conn_consume(c, out.len);
	scws_conn_free(c);
	CU_ASSERT_EQUAL_FATAL(lab_journal_len(j), 2);
	e = lab_journal_at(j, 1);
	CU_ASSERT_EQUAL(e->kind, SCWS_OBS_CONNECTION);
	CU_ASSERT_EQUAL(e->requests, 1);
	CU_ASSERT_EQUAL(e->bytes_in, (uint64_t)n);
	CU_ASSERT_EQUAL(e->bytes_out, out.len);

	/* The passphrase, encoded or decoded, appears nowhere. */
	json_t *x = lab_journal_json(j, 0);
	char *dump = json_dumps(x, JSON_COMPACT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dump);
	CU_ASSERT_PTR_NULL(strstr(dump, SECRET_B64));
	CU_ASSERT_PTR_NULL(strstr(dump, "secret-pass"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dump, "\"passphrase\":{\"size\":20,\"base64\":\"ok\"}"));
	free(dump);
	json_decref(x);

	/* An unpadded passphrase: the journal says what is wrong, not what it is. */
	char b2[sizeof(body)];
	snprintf(b2, sizeof(b2), "%s", body);
	char *eq = strstr(b2, "OTk=");
	memmove(eq + 3, eq + 4, strlen(eq + 4) + 1);
	c = scws_conn_new(srv, &info);
	n = snprintf(reqs, sizeof(reqs), form, strlen(b2), b2);
	CU_ASSERT_EQUAL(scws_conn_feed(c, (const uint8_t *)reqs, (size_t)n), 0);
	e = lab_journal_at(j, 2);
	CU_ASSERT_EQUAL(e->status, 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(e->passphrase_base64, "not padded"));
	CU_ASSERT_PTR_NULL(strstr(e->passphrase_base64, "OTk"));
	scws_conn_free(c);

	lab_journal_free(j);
	scws_server_free(srv);
}

/* A full ring of typical requests: every entry is there with its own
 * strings after thousands of drops, and ASan sees every dropped one freed
 * (lab_journal_free, leak check). */
static void test_ring_compact(void)
{
	struct lab_journal *j = lab_journal_new(8);
	char devid[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(devid, sizeof(devid), "IMEI:%d", i);
		struct scws_obs o = req(devid, 200);
		CU_ASSERT_PTR_NOT_NULL_FATAL(lab_journal_add(j, &o));
	}
	CU_ASSERT_EQUAL(lab_journal_len(j), 8);
	CU_ASSERT_EQUAL(lab_journal_dropped(j), 4992);
	for (size_t i = 0; i < 8; i++) {
		snprintf(devid, sizeof(devid), "IMEI:%zu", 4992 + i);
		CU_ASSERT_STRING_EQUAL(lab_journal_at(j, i)->devid, devid);
		CU_ASSERT_EQUAL(lab_journal_at(j, i)->seq, 4993 + i);
	}
	lab_journal_free(j);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_ring),       UNIT_TEST(test_copy_cut),  UNIT_TEST(test_ring_compact),
		UNIT_TEST(test_json_shape), UNIT_TEST(test_peer_host), UNIT_TEST(test_through_conn),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("lab_journal", tests);
}
