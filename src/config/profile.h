/* profile.h - card profiles: a directory with card.conf (libconfig syntax)
 * and payload files. See doc/scwsemu-profile.5.
 *
 * profile_load() validates everything it reads; every error names the file,
 * the line and what is wrong. A loaded profile is immutable. */
#ifndef SCWS_CONFIG_PROFILE_H
#define SCWS_CONFIG_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

#include "card/bip.h"
#include "card/layout.h"

#define PROFILE_CONF_NAME "card.conf"

enum profile_store { PROFILE_STORE_WBXML, PROFILE_STORE_XML };

struct profile_port {
	uint16_t port;     /* the port the card's OPEN CHANNEL asks for */
	bool tls;          /* HTTPS (4116) or plain HTTP (3516) */
	unsigned channels; /* BIP channels opened for this port */
};

struct profile_tls {
	char *cert_file; /* absolute paths, or NULL */
	char *key_file;
	char *rsa_cert_file; /* the RSA certificate beside it, or NULL */
	char *rsa_key_file;
	/* The PEM bytes of those four files, read and checked at load: the TLS
	 * context is built from these, so nothing is read twice and a file
	 * changed after the check is not what is used. Owned; keys are wiped
	 * when freed. */
	struct profile_pem {
		uint8_t *p;
		size_t len;
	} cert_pem, key_pem, rsa_cert_pem, rsa_key_pem;
	bool resumption;    /* TLS session IDs and tickets (default true) */
	char *psk_identity; /* NULL when no PSK */
	uint8_t psk_key[TLS_PSK_KEY_MAX];
	size_t psk_key_len;
	int min_version; /* OpenSSL TLS1_VERSION .. TLS1_3_VERSION */
	int max_version;
	char *cipher_list;  /* TLS <= 1.2, OpenSSL syntax; NULL = default */
	char *ciphersuites; /* TLS 1.3; NULL = default */
	int security_level; /* -1 = OpenSSL default */
};

struct profile {
	char *dir;       /* as given */
	char *conf_path; /* dir/card.conf */
	char *name;      /* "default" */
	char *description;

	struct card_spec card; /* identity, PKCS#15, bootstrap bytes, files, access, PINs,
				* channels and GSM class (card.opts) */
	bool channels_set;     /* logical_channels given (else from the ATR) */
	enum profile_store store;
	char *bootstrap_source; /* absolute (realpath) of the XML source, or NULL */

	struct profile_port ports[PROFILE_PORTS_MAX];
	size_t n_ports;
	struct card_bip_retry open_retry; /* scws.open_retry: after a refused OPEN CHANNEL */
	struct profile_tls tls;

	bool credentials_required;
	char *username;   /* when required */
	char *passphrase; /* plain text, compared with the decoded base64 */

	char **devid_allow; /* NULL when every devid is accepted */
	size_t n_devid_allow;

	uint8_t *index_html; /* the card's "/" page; owned; NULL when the profile names none */
	size_t index_html_len;
};

struct profile_error {
	char file[512];
	int line; /* 0 when no line applies */
	char msg[512];
};

/* 0 and *out; -EINVAL (bad profile), -ENOENT (no such directory or file),
 * -ENOMEM, with err filled. */
__attribute__((warn_unused_result)) int profile_load(const char *dir, struct profile **out,
						     struct profile_error *err);
void profile_free(struct profile *p);

/* A new bootstrap document for p's card (`scwsemu-ctl bootstrap set FILE`),
 * checked as profile_load() checks bootstrap.source: XML (first non-blank
 * byte '<') must be well-formed, WBXML must decode; the result is in p's
 * store form (WBXML encoded, or XML text; a WBXML file for an XML card is
 * decoded) and fits an EF. 0 and *out (malloc'd) / *out_len; or -EINVAL,
 * -ENOENT (p's card has no bootstrap EF: store = "none"), -EMSGSIZE, or an
 * errno of reading the file, with "file[:line]: reason" in err. */
__attribute__((warn_unused_result)) int profile_bootstrap_read(const struct profile *p,
							       const char *path, uint8_t **out,
							       size_t *out_len, char *err,
							       size_t errcap);

/* "file:line: msg" (or "file: msg" without a line) into out. */
const char *profile_error_str(const struct profile_error *err, char *out, size_t cap);

#endif
