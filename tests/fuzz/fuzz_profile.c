/* fuzz_profile.c - fuzz target: profile_load() on an arbitrary card.conf (libconfig syntax,
 * doc/scwsemu-profile.5).
 *
 * Each input becomes card.conf in a fresh temporary directory that also holds
 * the payload files the seeds name (bootstrap.xml, test.crt, test.key,
 * index.html, blob.bin), so that the fuzzer reaches the bootstrap encoder,
 * the certificate checks and the file overrides, not only "file not found".
 * test.crt/test.key: the throwaway pair of tests/data/profiles/ok-full, NOT A SECRET. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5 (Debian 12) leaks a string token when a syntax error follows
 * it (its grammar has no %destructor; input `""` is enough). Not ours to fix:
 * the leak is reported to LeakSanitizer's suppressions, in this target only. */
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static const char bootstrap_xml[] =
	"<?xml version=\"1.0\"?>\n"
	"<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD>"
	"<VerProto>DM/1.2</VerProto><SessionID>0</SessionID><MsgID>0</MsgID>"
	"<Target><LocURI>IMEI:493005100592800</LocURI></Target>"
	"<Source><LocURI>https://dm.example.com/</LocURI></Source></SyncHdr>"
	"<SyncBody><Add><CmdID>1</CmdID><Item><Target><LocURI>./Inbox</LocURI></Target>"
	"<Meta><Format xmlns=\"syncml:metinf\">xml</Format>"
	"<Type xmlns=\"syncml:metinf\">application/vnd.syncml.dmtnds+xml</Type></Meta>"
	"<Data><MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>"
	"<Node><NodeName>A</NodeName><Value>w7</Value></Node></MgmtTree></Data>"
	"</Item></Add><Final/></SyncBody></SyncML>\n";

static const char test_crt[] = "-----BEGIN CERTIFICATE-----\n"
			       "MIIB7jCCAZWgAwIBAgIUNRTO9Y4DK4XWCTE7kKhBbddDeXAwCgYIKoZIzj0EAwIw\n"
			       "TDEQMA4GA1UECgwHc2N3c2VtdTEhMB8GA1UECwwYVEVTVCBPTkxZIC0gTk9UIEEg\n"
			       "U0VDUkVUMRUwEwYDVQQDDAxwcm9maWxlLXRlc3QwIBcNMjYxMTI4MDYzMTQ5WhgP\n"
			       "MjEyNjExMDQwNjMxNDlaMEwxEDAOBgNVBAoMB3Njd3NlbXUxITAfBgNVBAsMGFRF\n"
			       "U1QgT05MWSAtIE5PVCBBIFNFQ1JFVDEVMBMGA1UEAwwMcHJvZmlsZS10ZXN0MFkw\n"
			       "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdUIRFOG5ys33dFFyWxWGOKqqn1GVLeoE\n"
			       "bHfWL/mFlrIUGCwCDFB1M3kLAegHhPMUFlGJ8owyHO5K7SrPwk3jTaNTMFEwHQYD\n"
			       "VR0OBBYEFP8wDZJQVHItsIP2h8FxBaV967nKMB8GA1UdIwQYMBaAFP8wDZJQVHIt\n"
			       "sIP2h8FxBaV967nKMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIg\n"
			       "SMKBfScrF60iH2DxdtBVFwnCXZMjP4ijTcx8k5rDjtsCIB6KgEHq93CKXZaRR2le\n"
			       "XbU160+yYe0xfpI2uKCioNHK\n"
			       "-----END CERTIFICATE-----\n";

static const char test_key[] = "-----BEGIN PRIVATE KEY-----\n"
			       "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNtH5+YJ0ueTkYr3q\n"
			       "XcyX+a/SafvYkaP+HZ2DohH3eg+hRANCAAR1QhEU4bnKzfd0UXJbFYY4qqqfUZUt\n"
			       "6gRsd9Yv+YWWshQYLAIMUHUzeQsB6AeE8xQWUYnyjDIc7krtKs/CTeNN\n"
			       "-----END PRIVATE KEY-----\n";

static const struct {
	const char *name;
	const char *data;
	size_t len;
} payload[] = {
	{ "bootstrap.xml", bootstrap_xml, sizeof(bootstrap_xml) - 1 },
	{ "test.crt", test_crt, sizeof(test_crt) - 1 },
	{ "test.key", test_key, sizeof(test_key) - 1 },
	{ "index.html", "<html>fuzz</html>\n", 18 },
	{ "blob.bin", "\x01\x02\x03\x04", 4 },
	{ "card.conf", NULL, 0 }, /* the input */
};

static int put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = n ? fwrite(p, 1, n, f) : 0;
	return (fclose(f) == 0 && w == n) ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/fuzz_profile_XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 0;
	size_t n = sizeof(payload) / sizeof(payload[0]);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = payload[i].data ? put(dir, payload[i].name, payload[i].data, payload[i].len)
				     : put(dir, payload[i].name, data, size);
	if (rc == 0) {
		struct profile *p = NULL;
		struct profile_error err;
		if (profile_load(dir, &p, &err) == 0)
			profile_free(p);
	}
	for (size_t i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, payload[i].name);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}
