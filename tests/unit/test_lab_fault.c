/* test_lab_fault.c - unit tests for src/lab/fault: parsing, counts, after,
 * port/target matching, clear, list. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lab/fault.h"
#include "runner.h"

#define ADD(f, ...)                                                                       \
	({                                                                                \
		const char *const av_[] = { __VA_ARGS__ };                                \
		lab_faults_add((f), sizeof(av_) / sizeof(av_[0]), av_, err, sizeof(err)); \
	})

static const struct lab_fault_event card_ev = { LAB_TARGET_CARD, 0, 0 };
static const struct lab_fault_event server_ev = { LAB_TARGET_SERVER, 0, 0 };

static void test_parse_each_kind(void)
{
	struct lab_faults *f = lab_faults_new();
	char err[160];
	int id = ADD(f, "http-status", "503");
	CU_ASSERT_EQUAL(id, 1);
	const struct lab_fault *ft = lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &card_ev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ft);
	CU_ASSERT_EQUAL(ft->value, 503);
	CU_ASSERT_STRING_EQUAL(ft->args, "503");
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &card_ev));

	CU_ASSERT_EQUAL(ADD(f, "http-delay", "1500"), 2);
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_DELAY, &card_ev)->value, 1500);
	CU_ASSERT_EQUAL(ADD(f, "http-drip", "200"), 3);
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_DRIP, &card_ev)->value, 200);
	CU_ASSERT_EQUAL(ADD(f, "http-truncate", "0"), 4);
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_TRUNCATE, &card_ev)->value, 0);
	CU_ASSERT_EQUAL(ADD(f, "http-body", "wrong-type"), 5);
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_BODY, &card_ev)->body,
			LAB_BODY_WRONG_TYPE);
	CU_ASSERT_EQUAL(ADD(f, "http-body", "wbxml-garbage"), 6);
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_BODY, &card_ev)->body,
			LAB_BODY_WBXML_GARBAGE);
	static const char *const certs[] = { "wrong-name", "expired", "untrusted", "self-signed" };
	for (unsigned i = 0; i < 4; i++) {
		CU_ASSERT(ADD(f, "tls-cert", certs[i]) > 0);
		ft = lab_faults_fire(f, LAB_FAULT_TLS_CERT, &card_ev);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ft);
		CU_ASSERT_EQUAL(ft->cert, (enum lab_fault_cert)i);
		CU_ASSERT_STRING_EQUAL(lab_fault_cert_name(ft->cert), certs[i]);
	}
	CU_ASSERT(ADD(f, "tls-alert") > 0);
	CU_ASSERT_PTR_NOT_NULL(lab_faults_fire(f, LAB_FAULT_TLS_ALERT, &server_ev));
	CU_ASSERT(ADD(f, "apdu-sw", "b0", "6f00") > 0);
	struct lab_fault_event apdu = { LAB_TARGET_CARD, 0, 0xA4 };
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_APDU_SW, &apdu));
	apdu.ins = 0xB0;
	ft = lab_faults_fire(f, LAB_FAULT_APDU_SW, &apdu);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ft);
	CU_ASSERT_EQUAL(ft->ins, 0xB0);
	CU_ASSERT_EQUAL(ft->sw, 0x6F00);
	CU_ASSERT_STRING_EQUAL(ft->args, "B0 6F00");
	CU_ASSERT(ADD(f, "apdu-delay", "250") > 0);
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_APDU_DELAY, &card_ev)->value, 250);
	CU_ASSERT(ADD(f, "bip-rate", "2000") > 0);
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_BIP_RATE, &card_ev)->value, 2000);
	CU_ASSERT(ADD(f, "bip-drop") > 0);
	CU_ASSERT_PTR_NOT_NULL(lab_faults_fire(f, LAB_FAULT_BIP_DROP, &card_ev));
	CU_ASSERT(ADD(f, "bip-open-fail", "20") > 0);
	ft = lab_faults_fire(f, LAB_FAULT_BIP_OPEN_FAIL, &card_ev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ft);
	CU_ASSERT_EQUAL(ft->result_len, 1);
	CU_ASSERT_EQUAL(ft->result[0], 0x20);
	CU_ASSERT(ADD(f, "bip-open-fail", "3a10") > 0);
	ft = lab_faults_fire(f, LAB_FAULT_BIP_OPEN_FAIL, &card_ev);
	CU_ASSERT_EQUAL(ft->result_len, 2);
	CU_ASSERT_EQUAL(ft->result[1], 0x10);
	CU_ASSERT_STRING_EQUAL(ft->args, "3A10");
	CU_ASSERT(ADD(f, "bip-open-fail", "3A", "10", "count=2") > 0);
	ft = lab_faults_fire(f, LAB_FAULT_BIP_OPEN_FAIL, &card_ev);
	CU_ASSERT_EQUAL(ft->result_len, 2);
	CU_ASSERT_EQUAL(ft->result[0], 0x3A);
	CU_ASSERT_STRING_EQUAL(ft->args, "3A 10");
	lab_faults_free(f);
}

/* Every parse error, with a word of its reason. */
static void test_parse_errors(void)
{
	static const struct {
		const char *argv[6];
		const char *reason;
	} cases[] = {
		{ { NULL }, "KIND missing" },
		{ { "http-teapot" }, "unknown fault kind" },
		{ { "http-status" }, "usage: http-status CODE" },
		{ { "http-status", "503", "504" }, "usage" },
		{ { "http-status", "199" }, "200-599" },
		{ { "http-status", "600" }, "200-599" },
		{ { "http-status", "5o3" }, "200-599" },
		{ { "http-status", "" }, "200-599" },
		{ { "http-delay", "0" }, "MS must be" },
		{ { "http-delay", "600001" }, "MS must be" },
		{ { "http-delay", "-5" }, "MS must be" },
		{ { "http-drip", "0" }, "BYTES_PER_S" },
		{ { "http-drip", "99999999999999999999" }, "BYTES_PER_S" },
		{ { "http-truncate", "x" }, "BYTES must be" },
		{ { "http-truncate", "4194305" }, "BYTES must be" },
		{ { "http-body", "garbage" }, "wbxml-garbage or wrong-type" },
		{ { "tls-cert", "revoked" }, "wrong-name, expired" },
		{ { "tls-cert" }, "usage" },
		{ { "tls-alert", "fatal" }, "takes no argument" },
		{ { "apdu-sw", "B0" }, "usage: apdu-sw INS SW" },
		{ { "apdu-sw", "B", "6F00" }, "INS must be 2 hex" },
		{ { "apdu-sw", "BG", "6F00" }, "INS must be 2 hex" },
		{ { "apdu-sw", "B0", "6F0" }, "SW must be 4 hex" },
		{ { "apdu-sw", "B0", "6F000" }, "SW must be 4 hex" },
		{ { "apdu-sw", "B0", "0000" }, "SW1 must be 6X or 9X" },
		{ { "apdu-sw", "B0", "6000" }, "NULL procedure byte" },
		{ { "apdu-delay", "0" }, "MS must be" },
		{ { "bip-rate", "fast" }, "BYTES_PER_S" },
		{ { "bip-drop", "now" }, "takes no argument" },
		{ { "bip-open-fail" }, "usage: bip-open-fail RESULT" },
		{ { "bip-open-fail", "2" }, "hex bytes" },
		{ { "bip-open-fail", "zz" }, "hex bytes" },
		{ { "bip-open-fail", "3A1020304050" }, "hex bytes" },
		{ { "bip-open-fail", "00" }, "20-3F" },
		{ { "bip-open-fail", "40" }, "20-3F" },
		{ { "bip-open-fail", "3A", "10", "20" }, "usage" },
		{ { "http-status", "503", "count=x" }, "count= must be" },
		{ { "http-status", "503", "count=1000001" }, "count= must be" },
		{ { "http-status", "503", "after=" }, "after= must be" },
		{ { "http-status", "503", "port=0" }, "port= must be" },
		{ { "http-status", "503", "port=65536" }, "port= must be" },
		{ { "http-status", "503", "target=phone" }, "target= must be" },
		{ { "http-status", "503", "colour=red" }, "unknown option 'colour'" },
		{ { "http-status", "503", "count=1", "count=2" }, "count= given twice" },
		{ { "http-status", "503", "count=1", "504" }, "arguments come first" },
		{ { "apdu-sw", "B0", "6F00", "target=server" }, "card fault" },
		{ { "bip-drop", "target=server" }, "card fault" },
	};
	struct lab_faults *f = lab_faults_new();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256];
		size_t argc = 0;
		while (argc < 6 && cases[i].argv[argc])
			argc++;
		int rc = lab_faults_add(f, argc, cases[i].argv, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, -EINVAL);
		if (!strstr(err, cases[i].reason))
			CU_FAIL_FATAL(cases[i].reason);
	}
	CU_ASSERT_EQUAL(lab_faults_count(f), 0);
	/* A short err buffer is cut, still terminated. */
	char small[8];
	const char *const bad[] = { "nope" };
	CU_ASSERT_EQUAL(lab_faults_add(f, 1, bad, small, sizeof(small)), -EINVAL);
	CU_ASSERT_EQUAL(strlen(small), 7);
	lab_faults_free(f);
}

static void test_counts(void)
{
	struct lab_faults *f = lab_faults_new();
	char err[160];
	CU_ASSERT_EQUAL(ADD(f, "http-status", "500", "count=3"), 1);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_PTR_NOT_NULL(lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &card_ev));
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &card_ev));
	/* Spent, still listed with left 0. */
	CU_ASSERT_EQUAL(lab_faults_count(f), 1);
	/* count=0: until cleared. */
	CU_ASSERT_EQUAL(ADD(f, "http-status", "404", "count=0"), 2);
	for (int i = 0; i < 100; i++) {
		const struct lab_fault *ft = lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &card_ev);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ft);
		CU_ASSERT_EQUAL(ft->value, 404);
	}
	/* Another kind is not consulted. */
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_HTTP_DELAY, &card_ev));
	CU_ASSERT_EQUAL(lab_faults_clear(f, 2), 0);
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &card_ev));
	/* No registry: no fault. */
	CU_ASSERT_PTR_NULL(lab_faults_fire(NULL, LAB_FAULT_HTTP_STATUS, &card_ev));
	lab_faults_free(f);
}

static void test_after(void)
{
	struct lab_faults *f = lab_faults_new();
	char err[160];
	CU_ASSERT(ADD(f, "apdu-sw", "B0", "6A82", "after=2", "count=2") > 0);
	struct lab_fault_event ev = { LAB_TARGET_CARD, 0, 0xA4 };
	/* Other INS: not matching, not counted. */
	for (int i = 0; i < 5; i++)
		CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_APDU_SW, &ev));
	ev.ins = 0xB0;
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_APDU_SW, &ev));
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_APDU_SW, &ev));
	CU_ASSERT_PTR_NOT_NULL(lab_faults_fire(f, LAB_FAULT_APDU_SW, &ev));
	CU_ASSERT_PTR_NOT_NULL(lab_faults_fire(f, LAB_FAULT_APDU_SW, &ev));
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_APDU_SW, &ev));

	/* Two faults of a kind: the first past its after fires, the one
	 * still skipping counts the event. */
	CU_ASSERT_EQUAL(lab_faults_clear(f, 0), 0);
	int a = ADD(f, "http-status", "500", "after=1");
	int b = ADD(f, "http-status", "503");
	const struct lab_fault *ft = lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &card_ev);
	CU_ASSERT_EQUAL(ft->id, (unsigned)b);
	ft = lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &card_ev);
	CU_ASSERT_EQUAL(ft->id, (unsigned)a);
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &card_ev));

	/* after counts every matching event, also those another fault
	 * fires for. */
	CU_ASSERT_EQUAL(lab_faults_clear(f, 0), 0);
	a = ADD(f, "http-body", "wrong-type", "after=1");
	b = ADD(f, "http-body", "wbxml-garbage", "after=2");
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_HTTP_BODY, &card_ev));
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_BODY, &card_ev)->id, (unsigned)a);
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_BODY, &card_ev)->id, (unsigned)b);
	lab_faults_free(f);
}

static void test_port_target(void)
{
	struct lab_faults *f = lab_faults_new();
	char err[160];
	CU_ASSERT(ADD(f, "http-status", "500", "port=4443", "count=0") > 0);
	CU_ASSERT(ADD(f, "http-status", "503", "target=server", "count=0") > 0);
	CU_ASSERT(ADD(f, "http-status", "404", "target=card", "count=0") > 0);
	struct lab_fault_event ev = { LAB_TARGET_CARD, 3516, 0 };
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &ev)->value, 404);
	ev.port = 4443;
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &ev)->value, 500);
	ev.target = LAB_TARGET_SERVER;
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &ev)->value, 500);
	ev.port = 8080;
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &ev)->value, 503);
	ev.port = 0; /* an event without a port never matches port= */
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_HTTP_STATUS, &ev)->value, 503);
	lab_faults_free(f);
}

static void test_clear(void)
{
	struct lab_faults *f = lab_faults_new();
	char err[160];
	int a = ADD(f, "bip-drop");
	int b = ADD(f, "bip-drop", "count=5");
	CU_ASSERT_EQUAL(lab_faults_clear(f, 99), -ENOENT);
	CU_ASSERT_EQUAL(lab_faults_clear(f, (unsigned)a), 0);
	CU_ASSERT_EQUAL(lab_faults_clear(f, (unsigned)a), -ENOENT);
	CU_ASSERT_EQUAL(lab_faults_count(f), 1);
	CU_ASSERT_EQUAL(lab_faults_fire(f, LAB_FAULT_BIP_DROP, &card_ev)->id, (unsigned)b);
	CU_ASSERT_EQUAL(lab_faults_clear(f, 0), 0);
	CU_ASSERT_EQUAL(lab_faults_count(f), 0);
	CU_ASSERT_PTR_NULL(lab_faults_fire(f, LAB_FAULT_BIP_DROP, &card_ev));
	/* Ids are never reused. */
	CU_ASSERT_EQUAL(ADD(f, "bip-drop"), b + 1);
	lab_faults_free(f);
}

static void test_full_table(void)
{
	struct lab_faults *f = lab_faults_new();
	char err[160];
	for (unsigned i = 0; i < LAB_FAULTS_MAX; i++)
		CU_ASSERT_EQUAL(ADD(f, "tls-alert", "count=0"), (int)i + 1);
	CU_ASSERT_EQUAL(ADD(f, "tls-alert"), -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "clear some"));
	/* A spent fault's slot is reused. */
	CU_ASSERT_EQUAL(lab_faults_clear(f, 1), 0);
	CU_ASSERT_EQUAL(ADD(f, "bip-drop"), LAB_FAULTS_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL(lab_faults_fire(f, LAB_FAULT_BIP_DROP, &card_ev));
	CU_ASSERT_EQUAL(ADD(f, "bip-drop", "port=7"), LAB_FAULTS_MAX + 2);
	CU_ASSERT_EQUAL(lab_faults_count(f), LAB_FAULTS_MAX);
	lab_faults_free(f);
}

static void test_list(void)
{
	struct lab_faults *f = lab_faults_new();
	char err[160];
	CU_ASSERT(ADD(f, "apdu-sw", "b0", "6f00", "count=2", "after=1", "port=3516") > 0);
	CU_ASSERT(ADD(f, "tls-alert", "count=0", "target=server") > 0);
	struct lab_fault_event ev = { LAB_TARGET_CARD, 3516, 0xB0 };
	lab_faults_fire(f, LAB_FAULT_APDU_SW, &ev);
	lab_faults_fire(f, LAB_FAULT_APDU_SW, &ev);
	json_t *l = lab_faults_list(f);
	char *s = json_dumps(l, JSON_COMPACT);
	CU_ASSERT_STRING_EQUAL(
		s, "[{\"id\":1,\"kind\":\"apdu-sw\",\"args\":\"B0 6F00\",\"count\":2,"
		   "\"left\":1,\"after\":1,\"port\":3516,\"target\":\"any\",\"fired\":1},"
		   "{\"id\":2,\"kind\":\"tls-alert\",\"args\":\"\",\"count\":0,"
		   "\"left\":null,\"after\":0,\"port\":null,\"target\":\"server\","
		   "\"fired\":0}]");
	free(s);
	json_decref(l);
	lab_faults_free(f);
	l = lab_faults_list(NULL);
	CU_ASSERT_EQUAL(json_array_size(l), 0);
	json_decref(l);
}

static CU_TestInfo tests[] = {
	UNIT_TEST(test_parse_each_kind), UNIT_TEST(test_parse_errors), UNIT_TEST(test_counts),
	UNIT_TEST(test_after),           UNIT_TEST(test_port_target),  UNIT_TEST(test_clear),
	UNIT_TEST(test_full_table),      UNIT_TEST(test_list),         CU_TEST_INFO_NULL,
};

int unit_register(void)
{
	return unit_add_suite("lab_fault", tests);
}
