/* helpers.c - see helpers.h. */
#include "config.h"

#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

/* ---- collecting callback ---- */

void unit_collect_init(struct unit_collect *g, size_t cap)
{
	memset(g, 0, sizeof(*g));
	buf_init(&g->data, cap);
}

void unit_collect_cleanup(struct unit_collect *g)
{
	buf_cleanup(&g->data);
}

int unit_collect_data(void *arg, const uint8_t *data, size_t len)
{
	struct unit_collect *g = arg;
	CU_ASSERT_NOT_EQUAL(len, 0);
	if (++g->calls == g->fail_at)
		return -ECANCELED;
	return buf_append(&g->data, data, len) ? -ENOMEM : 0;
}

/* ---- echo sink ---- */

unsigned unit_echo_opened, unit_echo_closed;

struct echo_conn {
	uint8_t buf[8192];
	size_t len;
};

void unit_echo_reset(void)
{
	unit_echo_opened = unit_echo_closed = 0;
}

static void *echo_open(void *arg, uint16_t port, unsigned channel)
{
	(void)arg;
	(void)port;
	(void)channel;
	unit_echo_opened++;
	return calloc(1, sizeof(struct echo_conn));
}

static int echo_feed(void *conn, const uint8_t *p, size_t len)
{
	struct echo_conn *e = conn;
	if (len > sizeof(e->buf) - e->len)
		return -EMSGSIZE;
	memcpy(e->buf + e->len, p, len);
	e->len += len;
	return 0;
}

static struct bytes echo_output(void *conn)
{
	struct echo_conn *e = conn;
	return bytes_make(e->buf, e->len);
}

static void echo_consume(void *conn, size_t n)
{
	struct echo_conn *e = conn;
	memmove(e->buf, e->buf + n, e->len - n);
	e->len -= n;
}

static bool echo_done(void *conn)
{
	(void)conn;
	return false;
}

static void echo_close(void *conn)
{
	unit_echo_closed++;
	free(conn);
}

const struct card_bip_sink_ops unit_echo_sink = {
	.open = echo_open,
	.feed = echo_feed,
	.output = echo_output,
	.consume = echo_consume,
	.done = echo_done,
	.close = echo_close,
};

/* ---- TLS test client ---- */

#define PSK_KEY_LEN 16u

static unsigned int psk_cb(SSL *ssl, const char *hint, char *identity,
			   unsigned int max_identity_len, unsigned char *psk,
			   unsigned int max_psk_len)
{
	const struct unit_psk *p = SSL_get_app_data(ssl);
	(void)hint;
	if (strlen(p->id) + 1 > max_identity_len || max_psk_len < PSK_KEY_LEN)
		return 0;
	memcpy(identity, p->id, strlen(p->id) + 1);
	memcpy(psk, p->key, PSK_KEY_LEN);
	return PSK_KEY_LEN;
}

/* As s_client -psk does it: a session carrying the key, SHA-256 suite. */
static int psk_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
			  SSL_SESSION **sess)
{
	static const unsigned char aes128gcm[] = { 0x13, 0x01 };
	const struct unit_psk *p = SSL_get_app_data(ssl);
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, aes128gcm);
	*sess = NULL;
	if (md && md != SSL_CIPHER_get_handshake_digest(cipher))
		return 1;
	SSL_SESSION *s = SSL_SESSION_new();
	if (!s || !SSL_SESSION_set1_master_key(s, p->key, PSK_KEY_LEN) ||
	    !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return 0;
	}
	*id = (const unsigned char *)p->id;
	*idlen = strlen(p->id);
	*sess = s;
	return 1;
}

int unit_tls_client_new(SSL_CTX *ctx, bool verify, const struct unit_psk *psk12,
			const struct unit_psk *psk13, SSL **ssl, BIO **rbio, BIO **wbio)
{
	*ssl = SSL_new(ctx);
	*rbio = BIO_new(BIO_s_mem());
	*wbio = BIO_new(BIO_s_mem());
	if (!*ssl || !*rbio || !*wbio) {
		BIO_free(*rbio);
		BIO_free(*wbio);
		*rbio = *wbio = NULL;
		return -1;
	}
	BIO_set_mem_eof_return(*rbio, -1);
	SSL_set_bio(*ssl, *rbio, *wbio);
	SSL_set_app_data(*ssl, (void *)(psk12 ? psk12 : psk13));
	SSL_set_connect_state(*ssl);
	if (verify && (SSL_set1_host(*ssl, "localuicc") != 1 ||
		       SSL_set_tlsext_host_name(*ssl, "localuicc") != 1))
		return -1;
	if (psk12)
		SSL_set_psk_client_callback(*ssl, psk_cb);
	if (psk13)
		SSL_set_psk_use_session_callback(*ssl, psk_session_cb);
	return 0;
}

/* ---- split-at-every-point tables ---- */

void unit_split_all_ways(size_t in_len, size_t leftover, const char *prefix_mode,
			 unit_split_run_fn *run, void *arg)
{
	size_t *cuts = malloc((in_len + 1) * sizeof(*cuts));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cuts);

	cuts[0] = in_len;
	CU_ASSERT_TRUE(run(arg, in_len, cuts, 1, false, "whole"));

	bool all = true;
	for (size_t k = 1; k < in_len && all; k++) {
		cuts[0] = k;
		cuts[1] = in_len;
		all = run(arg, in_len, cuts, 2, false, "split in two");
	}
	CU_ASSERT_TRUE(all);

	for (size_t k = 0; k < in_len; k++)
		cuts[k] = k + 1;
	if (in_len)
		CU_ASSERT_TRUE(run(arg, in_len, cuts, in_len, false, "one byte per feed"));

	/* The message proper ends before the leftover; the bytes after it
	 * may be all of a later one, so prefixes stop at its end. */
	size_t end = in_len - leftover;
	all = true;
	for (size_t k = 0; k < end && all; k++) {
		cuts[0] = k;
		all = run(arg, k, cuts, 1, true, prefix_mode);
	}
	CU_ASSERT_TRUE(all);
	free(cuts);
}
