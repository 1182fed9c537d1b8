/* fuzz_scws.c - fuzz target for a whole SCWS connection over memory:
 * [TLS] -> HTTP/1.1 -> router and bootstrap handler -> response -> [TLS]
 * (scws/conn.c over the shipped cards).
 *
 * Input: one selector byte, then the bytes from the peer. Selector bits:
 *   0-1  card: default, auth, xml, empty
 *   2-3  mode: 0 a plain-HTTP port, 1 HTTPS with TLS offloaded (plain
 *        bytes, bootstrap served), 2 HTTPS through an in-memory OpenSSL
 *        PSK client that sends the rest as application data, 3 the rest
 *        as raw bytes into a TLS port
 *   4-7  feed size: whole, 1, 2, 3, 5, 8, 13, 64, 100, 256, 1000, 4096 ...
 * Checks: the conn never fails its contract (feed returns 0, the output
 * drains, peer_closed ends it), and in plain modes everything it writes is
 * a sequence of whole HTTP/1.1 responses. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "card/layout.h"
#include "config/profile.h"
#include "core/buf.h"
#include "core/log.h"
#include "scws/conn.h"
#include "scws/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const cards[4] = { "default", "auth", "xml", "empty" };
static struct scws_server *servers[4];
static const size_t feed_sizes[16] = { 0,   1,   2,    3,    5, 8,  13, 64,
				       100, 256, 1000, 4096, 7, 17, 31, 16384 };
static const uint8_t psk_key[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

static void check_at(bool ok, int line)
{
	if (!ok) {
		fprintf(stderr, "fuzz_scws.c:%d: check failed\n", line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

static void quiet(void *arg, enum log_level level, const char *line)
{
}

static struct scws_server *server(unsigned i)
{
	if (servers[i])
		return servers[i];
	char dir[4096], msg[1024];
	const char *top = getenv("top_srcdir");
	snprintf(dir, sizeof(dir), "%s/cards/%s", top && *top ? top : SCWS_ABS_SRCDIR, cards[i]);
	struct profile *p;
	struct profile_error perr;
	struct card_fs *fs;
	if (profile_load(dir, &p, &perr) != 0) {
		fprintf(stderr, "%s\n", profile_error_str(&perr, msg, sizeof(msg)));
		abort();
	}
	check(card_layout_build(&p->card, &fs, msg, sizeof(msg)) == 0);
	servers[i] = scws_server_new();
	check(servers[i] != NULL);
	check(scws_server_load(servers[i], p, fs, msg, sizeof(msg)) == 0);
	return servers[i];
}

/* A sequence of whole responses: status lines, heads ending in an empty
 * line, bodies as long as Content-Length says. */
static bool is_status_line(const uint8_t *p, size_t len)
{
	return len >= 13 && memcmp(p, "HTTP/1.1 ", 9) == 0 && p[9] >= '1' && p[9] <= '5' &&
	       p[10] >= '0' && p[10] <= '9' && p[11] >= '0' && p[11] <= '9' && p[12] == ' ';
}

static void check_responses(const uint8_t *p, size_t len)
{
	size_t off = 0;
	while (off < len) {
		check(is_status_line(p + off, len - off));
		const uint8_t *end = memmem(p + off, len - off, "\r\n\r\n", 4);
		check(end != NULL);
		size_t head = (size_t)(end - (p + off)) + 4;
		const uint8_t *cl = memmem(p + off, head, "\r\nContent-Length: ", 18);
		size_t body = 0;
		if (cl)
			body = strtoul((const char *)cl + 18, NULL, 10);
		off += head;
		/* The answer to HEAD announces a body it does not carry. */
		if (off == len || is_status_line(p + off, len - off))
			continue;
		check(body <= len - off);
		off += body;
	}
}

static void feed_all(struct scws_conn *c, const uint8_t *in, size_t len, size_t chunk,
		     struct buf *out)
{
	size_t off = 0;
	while (off < len && !scws_conn_done(c)) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;
		check(scws_conn_feed(c, in + off, n) == 0);
		off += n;
		struct bytes o = scws_conn_output(c);
		if (out && buf_append(out, o.ptr, o.len) != 0)
			abort(); /* more than SCWS_CONN_OUT_MAX per feed */
		scws_conn_consume(c, o.len);
		check(scws_conn_output(c).len == 0);
	}
}

static unsigned int client_psk(SSL *ssl, const char *hint, char *identity,
			       unsigned int max_identity_len, unsigned char *psk,
			       unsigned int max_psk_len)
{
	if (max_identity_len < 8 || max_psk_len < sizeof(psk_key))
		return 0;
	memcpy(identity, "scwsemu", 8);
	memcpy(psk, psk_key, sizeof(psk_key));
	return sizeof(psk_key);
}

/* Ciphertext from the client to the conn and back, until quiet. */
static void shuttle(SSL *ssl, BIO *rbio, BIO *wbio, struct scws_conn *c, size_t chunk,
		    struct buf *back)
{
	uint8_t tmp[16384];
	for (int round = 0; round < 64 && !scws_conn_done(c); round++) {
		bool moved = false;
		int n;
		if (!SSL_is_init_finished(ssl))
			SSL_do_handshake(ssl);
		buf_reset(back);
		while ((n = BIO_read(wbio, tmp, (int)sizeof(tmp))) > 0) {
			feed_all(c, tmp, (size_t)n, chunk, back);
			moved = true;
		}
		if (back->len) {
			BIO_write(rbio, back->p, (int)back->len);
			moved = true;
		}
		size_t r;
		while (SSL_is_init_finished(ssl) && SSL_read_ex(ssl, tmp, sizeof(tmp), &r) == 1)
			moved = true;
		ERR_clear_error();
		if (!moved)
			break;
	}
}

static void run_tls_client(struct scws_conn *c, const uint8_t *in, size_t len, size_t chunk)
{
	static SSL_CTX *ctx;
	if (!ctx) {
		ctx = SSL_CTX_new(TLS_client_method());
		check(ctx != NULL);
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
		check(SSL_CTX_set_cipher_list(ctx, "PSK-AES128-GCM-SHA256") == 1);
		SSL_CTX_set_psk_client_callback(ctx, client_psk);
	}
	struct buf back;
	buf_init(&back, 8u * 1024 * 1024);
	SSL *ssl = SSL_new(ctx);
	BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
	check(ssl && rbio && wbio);
	BIO_set_mem_eof_return(rbio, -1);
	SSL_set_bio(ssl, rbio, wbio);
	SSL_set_connect_state(ssl);
	shuttle(ssl, rbio, wbio, c, chunk, &back);
	check(SSL_is_init_finished(ssl));
	size_t off = 0;
	while (off < len && !scws_conn_done(c)) {
		size_t n = len - off > 4096 ? 4096 : len - off, w = 0;
		if (SSL_write_ex(ssl, in + off, n, &w) != 1)
			break;
		off += w;
		shuttle(ssl, rbio, wbio, c, chunk, &back);
	}
	SSL_free(ssl);
	ERR_clear_error();
	buf_cleanup(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	log_set_sink(quiet, NULL);
	uint8_t sel = data[0];
	unsigned card = sel & 3, mode = (sel >> 2) & 3;
	size_t chunk = feed_sizes[sel >> 4];
	const uint8_t *in = data + 1;
	size_t len = size - 1;

	struct scws_conn_info info = {
		.transport = "fuzz",
		.peer = "127.0.0.1:1",
		.local_port = 4116,
		.tls = mode >= 2,
		.tls_offloaded = mode == 1,
	};
	struct scws_conn *c = scws_conn_new(server(card), &info);
	check(c != NULL);
	struct buf out;
	buf_init(&out, 8u * 1024 * 1024);
	if (mode == 2)
		run_tls_client(c, in, len, chunk);
	else
		feed_all(c, in, len, chunk, &out);
	(void)scws_conn_in_request(c);
	(void)scws_conn_output_full(c);
	scws_conn_peer_closed(c);
	check(scws_conn_done(c));
	check(!scws_conn_in_request(c));
	if (getenv("FUZZ_SCWS_DUMP"))
		fwrite(out.p, 1, out.len, stderr);
	if (mode < 2)
		check_responses(out.p, out.len);
	scws_conn_free(c);
	buf_cleanup(&out);
	return 0;
}
