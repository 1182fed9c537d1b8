/* test_config_profile.c - unit tests for src/config/profile.c: the shipped card
 * profiles load, every broken profile under tests/data/profiles/ is refused
 * with the exact file, line and reason (doc/scwsemu-profile.5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "codec/wbxml.h"
#include "config/profile.h"
#include "core/buf.h"
#include "runner.h"

/* clang-format off */
static const uint8_t default_atr[] = {
	0x3B, 0x9F, 0x96, 0x80, 0x1F, 0xC7, 0x80, 0x31, 0xE0, 0x73, 0xFE,
	0x21, 0x1B, 0x63, 0x3A, 0x20, 0x4E, 0x83, 0x00, 0x90, 0x00, 0x93,
};
/* clang-format on */
/* clang-format off */
static const uint8_t test_psk[] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
};
/* clang-format on */

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return s && n >= m && strcmp(s + n - m, tail) == 0;
}

static const uint8_t *find(const uint8_t *p, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; n && i + n <= len; i++)
		if (memcmp(p + i, needle, n) == 0)
			return p + i;
	return NULL;
}

static struct profile *load_ok(const char *rel)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", unit_srcpath(rel));
	struct profile *p = NULL;
	struct profile_error err;
	int rc = profile_load(dir, &p, &err);
	if (rc) {
		char msg[1200];
		fprintf(stderr, "\n%s: %s\n", rel, profile_error_str(&err, msg, sizeof(msg)));
	}
	CU_ASSERT_EQUAL(rc, 0);
	return p;
}

/* What every shipped profile has in common, and what sets each apart. */
/* clang-format off */
static const struct {
	const char *dir;
	const char *name;
	bool has_bootstrap;
	enum profile_store store;
	bool has_cert;
	bool credentials;
	int min_version, max_version;
	const char *cipher_list;
	int security_level;
	size_t n_ports;
	uint8_t iccid[2]; /* the last two bytes of EF.ICCID, nibble-swapped BCD */
} shipped[] = {
	{ "cards/default", "default", true, PROFILE_STORE_WBXML, true, false,
	  TLS1_2_VERSION, TLS1_3_VERSION, NULL, -1, 2, { 0x00, 0xF6 } },
	{ "cards/auth", "auth", true, PROFILE_STORE_WBXML, true, true,
	  TLS1_2_VERSION, TLS1_3_VERSION, NULL, -1, 2, { 0x10, 0xF4 } },
	{ "cards/empty", "empty", false, PROFILE_STORE_WBXML, true, false,
	  TLS1_2_VERSION, TLS1_3_VERSION, NULL, -1, 2, { 0x20, 0xF2 } },
	{ "cards/psk-only", "psk-only", true, PROFILE_STORE_WBXML, false, false,
	  TLS1_2_VERSION, TLS1_3_VERSION, NULL, -1, 2, { 0x30, 0xF0 } },
	{ "cards/legacy", "legacy", true, PROFILE_STORE_WBXML, false, false,
	  TLS1_VERSION, TLS1_2_VERSION, "PSK-AES128-CBC-SHA:@SECLEVEL=0", 0, 2, { 0x40, 0xF8 } },
	{ "cards/xml", "xml", true, PROFILE_STORE_XML, true, false,
	  TLS1_2_VERSION, TLS1_3_VERSION, NULL, -1, 2, { 0x50, 0xF5 } },
};
/* clang-format on */

static void test_shipped(void)
{
	static const uint8_t iccid_head[] = { 0x98, 0x88, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00 };
	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
		struct profile *p = load_ok(shipped[i].dir);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_STRING_EQUAL(p->name, shipped[i].name);
		CU_ASSERT(p->description && p->description[0]);
		CU_ASSERT(ends_with(p->conf_path, "/card.conf"));
		/* ICCID and ATR. */
		CU_ASSERT_EQUAL(p->card.iccid_len, 10);
		CU_ASSERT_EQUAL(memcmp(p->card.iccid, iccid_head, sizeof(iccid_head)), 0);
		CU_ASSERT_EQUAL(memcmp(p->card.iccid + 8, shipped[i].iccid, 2), 0);
		CU_ASSERT_EQUAL(p->card.atr_len, sizeof(default_atr));
		CU_ASSERT_EQUAL(memcmp(p->card.atr, default_atr, sizeof(default_atr)), 0);
		/* SCWS ports: 4116 HTTPS x5, 3516 HTTP x2. */
		CU_ASSERT_EQUAL_FATAL(p->n_ports, shipped[i].n_ports);
		CU_ASSERT_EQUAL(p->ports[0].port, 4116);
		CU_ASSERT_TRUE(p->ports[0].tls);
		CU_ASSERT_EQUAL(p->ports[0].channels, 5);
		CU_ASSERT_EQUAL(p->ports[1].port, 3516);
		CU_ASSERT_FALSE(p->ports[1].tls);
		CU_ASSERT_EQUAL(p->ports[1].channels, 2);
		/* TLS: every shipped card offers the published test PSK. */
		CU_ASSERT_STRING_EQUAL(p->tls.psk_identity, "scwsemu");
		CU_ASSERT_EQUAL(p->tls.psk_key_len, sizeof(test_psk));
		CU_ASSERT_EQUAL(memcmp(p->tls.psk_key, test_psk, sizeof(test_psk)), 0);
		if (shipped[i].has_cert) {
			CU_ASSERT(p->tls.cert_file && p->tls.cert_file[0] == '/' &&
				  ends_with(p->tls.cert_file, "/pki/scws-server.crt"));
			CU_ASSERT(p->tls.key_file && p->tls.key_file[0] == '/' &&
				  ends_with(p->tls.key_file, "/pki/scws-server.key"));
			/* Every shipped card with a certificate has the RSA one too. */
			CU_ASSERT(p->tls.rsa_cert_file &&
				  ends_with(p->tls.rsa_cert_file, "/pki/scws-server-rsa.crt"));
			CU_ASSERT(p->tls.rsa_key_file &&
				  ends_with(p->tls.rsa_key_file, "/pki/scws-server-rsa.key"));
			CU_ASSERT_TRUE(p->tls.resumption);
		} else {
			CU_ASSERT_PTR_NULL(p->tls.cert_file);
			CU_ASSERT_PTR_NULL(p->tls.key_file);
		}
		CU_ASSERT_EQUAL(p->tls.min_version, shipped[i].min_version);
		CU_ASSERT_EQUAL(p->tls.max_version, shipped[i].max_version);
		if (shipped[i].cipher_list) {
			CU_ASSERT(p->tls.cipher_list &&
				  !strcmp(p->tls.cipher_list, shipped[i].cipher_list));
		} else {
			CU_ASSERT_PTR_NULL(p->tls.cipher_list);
		}
		CU_ASSERT_PTR_NULL(p->tls.ciphersuites);
		CU_ASSERT_EQUAL(p->tls.security_level, shipped[i].security_level);
		/* Credentials and devids. */
		CU_ASSERT_EQUAL(p->credentials_required, shipped[i].credentials);
		if (shipped[i].credentials) {
			CU_ASSERT(p->username && !strcmp(p->username, "dmuser"));
			CU_ASSERT(p->passphrase && !strcmp(p->passphrase, "s3cret-pass"));
		} else {
			CU_ASSERT_PTR_NULL(p->username);
			CU_ASSERT_PTR_NULL(p->passphrase);
		}
		CU_ASSERT_PTR_NULL(p->devid_allow);
		CU_ASSERT_EQUAL(p->n_devid_allow, 0);
		/* Bootstrap. */
		CU_ASSERT_EQUAL(p->card.has_bootstrap, shipped[i].has_bootstrap);
		if (shipped[i].has_bootstrap) {
			CU_ASSERT_EQUAL(p->store, shipped[i].store);
			CU_ASSERT(p->bootstrap_source && p->bootstrap_source[0] == '/' &&
				  ends_with(p->bootstrap_source, "/cards/default/bootstrap.xml"));
			CU_ASSERT(p->card.bootstrap && p->card.bootstrap_len > 100);
		} else {
			CU_ASSERT_PTR_NULL(p->bootstrap_source);
			CU_ASSERT_PTR_NULL(p->card.bootstrap);
		}
		/* PKCS#15: the shipped cards keep the defaults (doc/protocol.md §4.3). */
		static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x00, 0x63, 0x50,
					       0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35 };
		CU_ASSERT_EQUAL(p->card.pkcs15_fid, 0x7F50);
		CU_ASSERT_EQUAL(p->card.pkcs15_aid_len, sizeof(aid));
		CU_ASSERT_EQUAL(memcmp(p->card.pkcs15_aid, aid, sizeof(aid)), 0);
		CU_ASSERT_EQUAL(p->card.odf_fid, 0x5031);
		CU_ASSERT_EQUAL(p->card.tokeninfo_fid, 0x5032);
		CU_ASSERT_EQUAL(p->card.dodf_fid, 0x6430);
		CU_ASSERT_EQUAL(p->card.bootstrap_fid, 0x6432);
		CU_ASSERT_STRING_EQUAL(p->card.dodf_label, "DM Bootstrap");
		CU_ASSERT_EQUAL(p->card.oid_place, CARD_OID_TYPE_ATTRIBUTES);
		CU_ASSERT_FALSE(p->card.oid_misencoded);
		CU_ASSERT_EQUAL(p->card.n_files, 0);
		profile_free(p);
	}
}

/* The default card's EF holds WBXML 1.2 that decodes to the SyncML DM
 * message of bootstrap.xml, MgmtTree included. */
static void test_default_bootstrap(void)
{
	struct profile *p = load_ok("cards/default");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_TRUE_FATAL(p->card.has_bootstrap);
	static const uint8_t head[] = { 0x02, 0xA4, 0x01, 0x6A };
	CU_ASSERT_EQUAL(memcmp(p->card.bootstrap, head, sizeof(head)), 0);
	CU_ASSERT_PTR_NOT_NULL(p->index_html);
	CU_ASSERT(p->index_html_len > 15 && !memcmp(p->index_html, "<!DOCTYPE html>", 15));

	struct buf xml;
	buf_init(&xml, 1 << 20);
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(codec_wbxml_decode(p->card.bootstrap, p->card.bootstrap_len, &xml,
						 err, sizeof(err)),
			      0);
	CU_ASSERT_PTR_NOT_NULL(find(xml.p, xml.len, "<SyncML xmlns=\"SYNCML:SYNCML1.2\">"));
	CU_ASSERT_PTR_NOT_NULL(find(xml.p, xml.len, "<MgmtTree xmlns=\"syncml:dmddf1.2\">"));
	CU_ASSERT_PTR_NOT_NULL(find(xml.p, xml.len, "<NodeName>ExampleDMAcc</NodeName>"));
	CU_ASSERT_PTR_NOT_NULL(
		find(xml.p, xml.len, "<Value>https://dm.example.com:443/oma-dm</Value>"));
	buf_cleanup(&xml);
	profile_free(p);
}

/* store = "xml" keeps the file byte for byte. */
static void test_xml_store(void)
{
	struct profile *p = load_ok("cards/xml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	size_t len = 0;
	uint8_t *src = unit_read_file(unit_srcpath("cards/default/bootstrap.xml"), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	CU_ASSERT_EQUAL(p->card.bootstrap_len, len);
	CU_ASSERT(p->card.bootstrap_len == len && !memcmp(p->card.bootstrap, src, len));
	free(src);
	profile_free(p);
}

/* Every setting, none at its default. */
static void test_full(void)
{
	struct profile *p = load_ok("tests/data/profiles/ok-full");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p->name, "ok-full");
	CU_ASSERT_STRING_EQUAL(p->description, "All settings");
	static const uint8_t iccid[] = {
		0x98, 0x88, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x32
	};
	CU_ASSERT_EQUAL(memcmp(p->card.iccid, iccid, sizeof(iccid)), 0);
	CU_ASSERT_EQUAL(p->card.atr_len, 2);
	CU_ASSERT_EQUAL(p->card.atr[0], 0x3B);
	CU_ASSERT_EQUAL(p->card.atr[1], 0x00);

	CU_ASSERT_EQUAL_FATAL(p->n_ports, 3);
	CU_ASSERT(p->ports[0].port == 14116 && p->ports[0].tls && p->ports[0].channels == 3);
	CU_ASSERT(p->ports[1].port == 13516 && !p->ports[1].tls && p->ports[1].channels == 1);
	CU_ASSERT(p->ports[2].port == 8443 && p->ports[2].tls && p->ports[2].channels == 3);
	CU_ASSERT(p->open_retry.count == 3 && p->open_retry.delay_ms == 2500);
	CU_ASSERT(p->index_html_len == 21 && !memcmp(p->index_html, "<html>ok-full</html>\n", 21));

	CU_ASSERT(ends_with(p->tls.cert_file, "/tests/data/profiles/ok-full/test.crt"));
	CU_ASSERT(ends_with(p->tls.key_file, "/tests/data/profiles/ok-full/test.key"));
	CU_ASSERT_STRING_EQUAL(p->tls.psk_identity, "lab identity");
	CU_ASSERT_EQUAL(p->tls.psk_key_len, 4);
	CU_ASSERT_EQUAL(memcmp(p->tls.psk_key, "\x01\x02\x03\x04", 4), 0);
	CU_ASSERT_EQUAL(p->tls.min_version, TLS1_1_VERSION);
	CU_ASSERT_EQUAL(p->tls.max_version, TLS1_2_VERSION);
	CU_ASSERT_STRING_EQUAL(p->tls.cipher_list,
			       "PSK-AES128-CBC-SHA:ECDHE-ECDSA-AES128-GCM-SHA256");
	CU_ASSERT_STRING_EQUAL(p->tls.ciphersuites, "TLS_AES_128_GCM_SHA256");
	CU_ASSERT_EQUAL(p->tls.security_level, 2);

	CU_ASSERT_TRUE(p->credentials_required);
	CU_ASSERT_STRING_EQUAL(p->username, "dmuser");
	CU_ASSERT_STRING_EQUAL(p->passphrase, "s3cret-pass");
	CU_ASSERT_EQUAL_FATAL(p->n_devid_allow, 2);
	CU_ASSERT_STRING_EQUAL(p->devid_allow[0], "IMEI:493005100592800");
	CU_ASSERT_STRING_EQUAL(p->devid_allow[1], "MEID:A0000000001234");

	CU_ASSERT_TRUE(p->card.has_bootstrap);
	CU_ASSERT_EQUAL(p->store, PROFILE_STORE_XML);
	CU_ASSERT(ends_with(p->bootstrap_source, "/tests/data/profiles/ok-full/bootstrap.xml"));
	CU_ASSERT(p->card.bootstrap_len > 5 && !memcmp(p->card.bootstrap, "<?xml", 5));

	static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x00, 0x63, 0x50,
				       0x4B, 0x43, 0x53, 0x2D, 0x31, 0x36 };
	CU_ASSERT_EQUAL(p->card.pkcs15_fid, 0x7F51);
	CU_ASSERT(p->card.pkcs15_aid_len == sizeof(aid) &&
		  !memcmp(p->card.pkcs15_aid, aid, sizeof(aid)));
	CU_ASSERT_EQUAL(p->card.odf_fid, 0x5041);
	CU_ASSERT_EQUAL(p->card.tokeninfo_fid, 0x5042);
	CU_ASSERT_EQUAL(p->card.dodf_fid, 0x6440);
	CU_ASSERT_EQUAL(p->card.bootstrap_fid, 0x6442);
	CU_ASSERT_STRING_EQUAL(p->card.token_label, "Lab token");
	CU_ASSERT_STRING_EQUAL(p->card.manufacturer, "Lab");
	CU_ASSERT(p->card.serial_len == 2 && p->card.serial[0] == 0xAA &&
		  p->card.serial[1] == 0xBB);
	CU_ASSERT_STRING_EQUAL(p->card.dodf_label, "Bootstrap");
	CU_ASSERT_EQUAL(p->card.oid_place, CARD_OID_BOTH);
	CU_ASSERT_TRUE(p->card.oid_misencoded);

	CU_ASSERT_EQUAL_FATAL(p->card.n_files, 3);
	const struct card_file_spec *f = p->card.files;
	CU_ASSERT_EQUAL(f[0].path_len, 3);
	CU_ASSERT(f[0].path[0] == 0x3F00 && f[0].path[1] == 0x7F51 && f[0].path[2] == 0x6440);
	CU_ASSERT_EQUAL(f[0].type, CARD_FS_EF_TRANSPARENT);
	CU_ASSERT(f[0].len == 4 && !memcmp(f[0].data, "\x01\x02\x03\x04", 4));
	CU_ASSERT_FALSE(f[0].update_always);
	CU_ASSERT_STRING_EQUAL(f[0].label, "broken DODF");
	CU_ASSERT(ends_with(f[0].origin, "ok-full/card.conf:59"));
	CU_ASSERT_EQUAL(f[1].type, CARD_FS_DF);
	CU_ASSERT(f[1].path_len == 2 && f[1].path[1] == 0x7F10);
	CU_ASSERT_EQUAL(f[1].len, 0);
	CU_ASSERT_STRING_EQUAL(f[1].label, "DF.TELECOM");
	CU_ASSERT_EQUAL(f[2].type, CARD_FS_EF_LINEAR_FIXED);
	CU_ASSERT_EQUAL(f[2].rec_len, 2);
	CU_ASSERT(f[2].len == 4 && !memcmp(f[2].data, "\x00\x11\x22\x33", 4));
	CU_ASSERT_TRUE(f[2].update_always);
	CU_ASSERT(ends_with(f[2].origin, "ok-full/card.conf:61"));
	profile_free(p);
}

/* Only name, iccid and a PSK: every default. */
static void test_minimal(void)
{
	struct profile *p = load_ok("tests/data/profiles/ok-minimal");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p->description, "");
	/* 18 digits: the last byte is all padding. */
	static const uint8_t iccid[] = {
		0x98, 0x88, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF
	};
	CU_ASSERT_EQUAL(memcmp(p->card.iccid, iccid, sizeof(iccid)), 0);
	CU_ASSERT_EQUAL(p->card.atr_len, sizeof(default_atr));
	CU_ASSERT_EQUAL(memcmp(p->card.atr, default_atr, sizeof(default_atr)), 0);
	CU_ASSERT_EQUAL_FATAL(p->n_ports, 2);
	CU_ASSERT(p->ports[0].port == 4116 && p->ports[0].tls && p->ports[0].channels == 5);
	CU_ASSERT(p->ports[1].port == 3516 && !p->ports[1].tls && p->ports[1].channels == 2);
	/* No retry of a refused OPEN CHANNEL unless the profile asks. */
	CU_ASSERT(p->open_retry.count == 0 && p->open_retry.delay_ms == 1000);
	CU_ASSERT_PTR_NULL(p->index_html);
	CU_ASSERT_PTR_NULL(p->tls.cert_file);
	CU_ASSERT(p->tls.psk_key_len == 1 && p->tls.psk_key[0] == 0xAA);
	CU_ASSERT_EQUAL(p->tls.min_version, TLS1_2_VERSION);
	CU_ASSERT_EQUAL(p->tls.max_version, TLS1_3_VERSION);
	CU_ASSERT_EQUAL(p->tls.security_level, -1);
	CU_ASSERT_FALSE(p->credentials_required);
	CU_ASSERT_FALSE(p->card.has_bootstrap);
	CU_ASSERT_PTR_NULL(p->bootstrap_source);
	CU_ASSERT_EQUAL(p->store, PROFILE_STORE_WBXML);
	CU_ASSERT_EQUAL(p->card.pkcs15_fid, 0x7F50);
	CU_ASSERT_STRING_EQUAL(p->card.token_label, "DM bootstrap token");
	CU_ASSERT_STRING_EQUAL(p->card.manufacturer, "SCWS-EMU");
	CU_ASSERT_EQUAL(p->card.serial_len, 8);
	profile_free(p);
}

/* A trailing slash does not double in the names. */
static void test_trailing_slash(void)
{
	struct profile *p = load_ok("cards/default/");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(ends_with(p->conf_path, "/cards/default/card.conf"));
	CU_ASSERT_PTR_NULL(strstr(p->conf_path, "//"));
	profile_free(p);
}

/* Broken profiles: tests/data/profiles/<dir>/card.conf. The error must name
 * this file (or the bootstrap XML), this line and say this. */
/* clang-format off */
static const struct {
	const char *dir;
	const char *file; /* file name in dir the error names */
	int line;         /* 0: no line applies */
	const char *msg;  /* fragment of the message */
	int rc;
} broken[] = {
	{ "syntax", "card.conf", 7, "syntax error", -EINVAL },
	{ "duplicate", "card.conf", 9, "duplicate setting name", -EINVAL },
	{ "include", "card.conf", 9, "@include is not supported", -EINVAL },
	{ "unknown-top", "card.conf", 9, "bootstap: unknown setting", -EINVAL },
	{ "unknown-key", "card.conf", 7, "tls.psk_kye: unknown setting", -EINVAL },
	{ "name-missing", "card.conf", 0, "name: missing", -EINVAL },
	{ "name-chars", "card.conf", 2, "name: \"bad name\": use letters", -EINVAL },
	{ "wrong-type", "card.conf", 11,
	  "scws.ports[0].port: expected an integer, not a string", -EINVAL },
	{ "float-int", "card.conf", 12,
	  "scws.ports[0].channels: expected an integer, not a floating point number", -EINVAL },
	{ "psk-not-hex", "card.conf", 7, "tls.psk_key: not hex", -EINVAL },
	{ "psk-odd", "card.conf", 7, "tls.psk_key: not hex", -EINVAL },
	{ "psk-long", "card.conf", 7, "tls.psk_key: more than 64 bytes", -EINVAL },
	{ "psk-no-key", "card.conf", 5,
	  "tls.psk_key: missing, needed with tls.psk_identity", -EINVAL },
	{ "iccid-letters", "card.conf", 3,
	  "iccid: \"89882000000000000A6\": only decimal digits", -EINVAL },
	{ "iccid-short", "card.conf", 3, "iccid: 5 digits; an ICCID has 18 to 20", -EINVAL },
	{ "atr-long", "card.conf", 4, "atr: more than 33 bytes", -EINVAL },
	{ "atr-tck", "card.conf", 4, "atr: TCK is 31 but should be 93", -EINVAL },
	{ "atr-length", "card.conf", 4,
	  "atr: 3 bytes, but T0 and the TDi bytes announce 4", -EINVAL },
	{ "atr-ts", "card.conf", 4, "atr: TS is 3C", -EINVAL },
	{ "rsa-ecdsa", "card.conf", 7, "scws-server.crt: not an RSA certificate", -EINVAL },
	{ "rsa-alone", "card.conf", 6,
	  "tls.rsa_certificate: needs tls.certificate (the ECDSA one) beside it", -EINVAL },
	{ "pin-value", "card.conf", 6,
	  "pins[0].value: 4 to 8 decimal digits (TS 102 221 §9.5.2)", -EINVAL },
	{ "pin-key", "card.conf", 6, "pins[0].key: \"PIN9\" is not a key: \"PIN1\" (01)", -EINVAL },
	{ "pin-twice", "card.conf", 7, "pins[1].key: PIN1 is declared twice", -EINVAL },
	{ "pin-puk", "card.conf", 7, "pins[0].puk: a PUK is 8 decimal digits", -EINVAL },
	{ "pin-tries", "card.conf", 6, "pins[0].tries: 16 is out of range 1..15", -EINVAL },
	{ "access-key", "card.conf", 7, "access[0].read: PIN2 is not among the card's pins",
	  -EINVAL },
	{ "access-missing", "card.conf", 7, "access: 3F00/7F50/6499: no such file", -EINVAL },
	{ "logical-channels", "card.conf", 5, "logical_channels: 21 is out of range 1..20",
	  -EINVAL },
	{ "port-range", "card.conf", 11,
	  "scws.ports[0].port: 70000 is out of range 1..65535", -EINVAL },
	{ "channels-total", "card.conf", 12,
	  "scws.ports[1]: 8 channels in all; a card has at most 7", -EINVAL },
	{ "channels-range", "card.conf", 11,
	  "scws.ports[0].channels: 8 is out of range 1..7", -EINVAL },
	{ "port-twice", "card.conf", 12, "port 4116 is listed twice", -EINVAL },
	{ "open-retry-count", "card.conf", 11,
	  "scws.open_retry.count: 101 is out of range 0..100", -EINVAL },
	{ "open-retry-delay", "card.conf", 12,
	  "scws.open_retry.delay: 99 is out of range 100..3600000", -EINVAL },
	{ "open-retry-key", "card.conf", 11,
	  "scws.open_retry.tries: unknown setting (known here: count, delay)", -EINVAL },
	{ "scheme-unknown", "card.conf", 11,
	  "scws.ports[0].scheme: \"ftp\" is not one of \"https\", \"http\"", -EINVAL },
	{ "https-no-tls", "card.conf", 0, "port 4116 is https: set tls.certificate", -EINVAL },
	{ "cert-missing", "card.conf", 6, "nope.crt: No such file or directory", -EINVAL },
	{ "cert-not-pem", "card.conf", 6, "card.conf: no PEM certificate in it", -EINVAL },
	{ "cert-no-key", "card.conf", 5, "tls.key: missing, needed with tls.certificate", -EINVAL },
	{ "key-mismatch", "card.conf", 7,
	  "tls.key: other.key does not belong to the certificate", -EINVAL },
	{ "version-name", "card.conf", 8,
	  "tls.min_version: \"1.4\" is not one of \"1.0\", \"1.1\", \"1.2\", \"1.3\"", -EINVAL },
	{ "version-order", "card.conf", 8, "tls.min_version: above tls.max_version", -EINVAL },
	{ "cipher-bad", "card.conf", 8,
	  "tls.cipher_list: \"NO-SUCH-CIPHER\" matches no cipher", -EINVAL },
	{ "seclevel-range", "card.conf", 8, "tls.security_level: 6 is out of range 0..5", -EINVAL },
	{ "creds-no-pass", "card.conf", 9, "credentials.passphrase: missing", -EINVAL },
	{ "creds-unused", "card.conf", 11,
	  "credentials.username: set, but credentials.required is false", -EINVAL },
	{ "devid-bad", "card.conf", 10, "devid_allow[1]: \"IMEI1234\" is not a devid", -EINVAL },
	{ "devid-empty", "card.conf", 9, "devid_allow: empty", -EINVAL },
	{ "store-unknown", "card.conf", 11,
	  "bootstrap.store: \"binary\" is not one of \"wbxml\", \"xml\", \"none\"", -EINVAL },
	{ "store-none-source", "card.conf", 10,
	  "bootstrap.source: set, but bootstrap.store is \"none\"", -EINVAL },
	{ "no-source", "card.conf", 9, "bootstrap.source: missing", -EINVAL },
	{ "source-missing", "card.conf", 10, "missing.xml: No such file or directory", -EINVAL },
	{ "source-dir", "card.conf", 10, ": Is a directory", -EINVAL },
	{ "bootstrap-malformed", "bootstrap.xml", 8,
	  "mismatched tag: </SyncHdr> while <Target> of line 7 is open", -EINVAL },
	{ "bootstrap-unknown", "card.conf", 10,
	  "WBXML encoding failed: The XML language is unknown.", -EINVAL },
	{ "fid-dup", "card.conf", 11, "pkcs15.bootstrap_fid: 6430 is also dodf_fid", -EINVAL },
	{ "fid-reserved", "card.conf", 10, "pkcs15.adf_fid: 3F00 is reserved", -EINVAL },
	{ "fid-syntax", "card.conf", 10,
	  "pkcs15.odf_fid: \"50311\" is not a file identifier", -EINVAL },
	{ "aid-short", "card.conf", 10, "pkcs15.aid: 4 bytes, at least 5 needed", -EINVAL },
	{ "oid-placement", "card.conf", 10,
	  "pkcs15.oid_placement: \"typeattributes\" is not one of", -EINVAL },
	{ "misencoded-type", "card.conf", 10,
	  "pkcs15.misencoded_oid: expected a boolean, not a string", -EINVAL },
	{ "label-long", "card.conf", 10, "pkcs15.dodf_label: longer than 63 bytes", -EINVAL },
	{ "path-no-mf", "card.conf", 11,
	  "files[1].path: \"7F50/6430\" does not start with 3F00", -EINVAL },
	{ "path-bad-fid", "card.conf", 10,
	  "files[0].path: \"3F00/7G50\": FIDs of 4 hex digits", -EINVAL },
	{ "path-deep", "card.conf", 10, "deeper than 8 levels", -EINVAL },
	{ "type-unknown", "card.conf", 11,
	  "files[0].type: \"cyclic\" is not one of \"transparent\","
	  " \"linear-fixed\", \"df\"", -EINVAL },
	{ "linear-no-reclen", "card.conf", 10,
	  "files[0].record_length: missing, needed for a linear-fixed EF", -EINVAL },
	{ "linear-partial", "card.conf", 11,
	  "files[0].hex: 3 bytes is not a whole number of 2-byte records", -EINVAL },
	{ "reclen-transparent", "card.conf", 11,
	  "files[0].record_length: only a linear-fixed EF has records", -EINVAL },
	{ "file-and-hex", "card.conf", 11,
	  "files[0].hex: give either file or hex, not both", -EINVAL },
	{ "df-data", "card.conf", 11, "files[0].hex: a DF has no contents", -EINVAL },
	{ "hex-bad", "card.conf", 11, "files[0].hex: not hex", -EINVAL },
	{ "update-unknown", "card.conf", 11,
	  "files[0].update: \"sometimes\" is not one of \"never\", \"always\"", -EINVAL },
	{ "files-not-list", "card.conf", 9,
	  "files: expected a list ( ... ), not a group", -EINVAL },
	{ "index-missing", "card.conf", 10, "index.html: No such file or directory", -EINVAL },
	{ "layout-parent", "card.conf", 11,
	  "files: 3F00/7F99/6F01: parent 3F00/7F99 does not exist", -EINVAL },
	{ "layout-type", "card.conf", 10, "files: 3F00/7F50 is ", -EINVAL },
	{ "nul-byte", "card.conf", 9, "NUL byte in a text file", -EINVAL },
};
/* clang-format on */

static void test_broken(void)
{
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		char dir[1024], file[1100], shown[1200];
		snprintf(dir, sizeof(dir), "%s/%s", unit_srcpath("tests/data/profiles"),
			 broken[i].dir);
		snprintf(file, sizeof(file), "%s/%s", dir, broken[i].file);
		struct profile *p = (struct profile *)&p; /* must be reset to NULL */
		struct profile_error err;
		int rc = profile_load(dir, &p, &err);
		bool ok = rc == broken[i].rc && p == NULL && strcmp(err.file, file) == 0 &&
			  err.line == broken[i].line && strstr(err.msg, broken[i].msg) != NULL;
		if (!ok)
			fprintf(stderr, "\n%s: rc %d, %s\n", broken[i].dir, rc,
				profile_error_str(&err, shown, sizeof(shown)));
		CU_ASSERT_EQUAL(rc, broken[i].rc);
		CU_ASSERT_PTR_NULL(p);
		CU_ASSERT_STRING_EQUAL(err.file, file);
		CU_ASSERT_EQUAL(err.line, broken[i].line);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, broken[i].msg));
		/* One line, and no secret in it. */
		CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
		CU_ASSERT_PTR_NULL(strstr(err.msg, "00112233445566778899"));
		profile_free(p);
	}
}

static void test_missing(void)
{
	struct profile *p = NULL;
	struct profile_error err;
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s", unit_srcpath("tests/data/profiles/no-such-profile"));
	CU_ASSERT_EQUAL(profile_load(dir, &p, &err), -ENOENT);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_STRING_EQUAL(err.file, dir);
	CU_ASSERT_EQUAL(err.line, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file or directory"));

	/* A directory without card.conf. */
	char tmp[] = "/tmp/test_profile_XXXXXX";
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
	CU_ASSERT_EQUAL(profile_load(tmp, &p, &err), -ENOENT);
	char conf[64];
	snprintf(conf, sizeof(conf), "%s/card.conf", tmp);
	CU_ASSERT_STRING_EQUAL(err.file, conf);
	CU_ASSERT_STRING_EQUAL(err.msg, "No such file or directory");

	/* A file is not a profile directory. */
	CU_ASSERT_EQUAL(profile_load(unit_srcpath("cards/default/card.conf"), &p, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a profile directory"));
	CU_ASSERT_EQUAL(rmdir(tmp), 0);
}

static void test_error_str(void)
{
	struct profile_error e = { "cards/x/card.conf", 12, "tls.psk_key: not hex" };
	char out[128];
	CU_ASSERT_STRING_EQUAL(profile_error_str(&e, out, sizeof(out)),
			       "cards/x/card.conf:12: tls.psk_key: not hex");
	e.line = 0;
	CU_ASSERT_STRING_EQUAL(profile_error_str(&e, out, sizeof(out)),
			       "cards/x/card.conf: tls.psk_key: not hex");
	char small[8];
	CU_ASSERT_STRING_EQUAL(profile_error_str(&e, small, sizeof(small)), "cards/x");
	profile_free(NULL);
}

/* clang-format off */
static CU_TestInfo tests[] = {
	UNIT_TEST(test_shipped),
	UNIT_TEST(test_default_bootstrap),
	UNIT_TEST(test_xml_store),
	UNIT_TEST(test_full),
	UNIT_TEST(test_minimal),
	UNIT_TEST(test_trailing_slash),
	UNIT_TEST(test_broken),
	UNIT_TEST(test_missing),
	UNIT_TEST(test_error_str),
	CU_TEST_INFO_NULL,
};
/* clang-format on */

int unit_register(void)
{
	return unit_add_suite("config_profile", tests);
}
