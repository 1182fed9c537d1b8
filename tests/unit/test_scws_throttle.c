/* test_scws_throttle.c - unit tests for scws/throttle.c: the limit-th
 * failure in a window blocks until the window is over, keys are separate,
 * a new window after the old one, limit 0 never blocks, the table keeps
 * the most recently failing keys. */
#include "config.h"

#include <stdio.h>

#include "core/limits.h"
#include "runner.h"
#include "scws/throttle.h"

static void test_window(void)
{
	struct scws_throttle *t = scws_throttle_new(3, 1000);
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_FALSE(scws_throttle_fail(t, "peer a", 100));
	CU_ASSERT_FALSE(scws_throttle_fail(t, "peer a", 200));
	CU_ASSERT_EQUAL(scws_throttle_blocked(t, "peer a", 250), 0);
	CU_ASSERT_TRUE(scws_throttle_fail(t, "peer a", 300)); /* the 3rd: blocks, say it */
	CU_ASSERT_EQUAL(scws_throttle_blocked(t, "peer a", 300), 800);
	CU_ASSERT_EQUAL(scws_throttle_blocked(t, "peer a", 1099), 1);
	CU_ASSERT_EQUAL(scws_throttle_blocked(t, "peer b", 300), 0);
	CU_ASSERT_EQUAL(scws_throttle_blocked_keys(t, 500), 1);
	CU_ASSERT_EQUAL(scws_throttle_blocked(t, "peer a", 1100), 0); /* window over */
	CU_ASSERT_FALSE(scws_throttle_fail(t, "peer a", 1200));       /* a new window */
	CU_ASSERT_EQUAL(scws_throttle_blocked(t, "peer a", 1200), 0);
	scws_throttle_refused_one(t);
	CU_ASSERT_EQUAL(scws_throttle_refused(t), 1);
	scws_throttle_configure(t, 0, 1000);
	CU_ASSERT_FALSE(scws_throttle_fail(t, "peer a", 1300));
	CU_ASSERT_EQUAL(scws_throttle_blocked(t, "peer a", 1300), 0);
	scws_throttle_free(t);
}

/* More keys than the table holds: the least recently failing goes. */
static void test_table_full(void)
{
	struct scws_throttle *t = scws_throttle_new(1, 60000);
	char key[32];
	CU_ASSERT_TRUE(scws_throttle_fail(t, "devid IMEI:1", 0));
	for (unsigned i = 0; i < AUTH_FAIL_KEYS_MAX; i++) {
		snprintf(key, sizeof(key), "peer %u", i);
		CU_ASSERT_TRUE(scws_throttle_fail(t, key, 1 + i));
	}
	CU_ASSERT_EQUAL(scws_throttle_blocked(t, "devid IMEI:1", 5000), 0); /* forgotten */
	CU_ASSERT_NOT_EQUAL(scws_throttle_blocked(t, "peer 0", 5000), 0);
	CU_ASSERT_EQUAL(scws_throttle_blocked_keys(t, 5000), AUTH_FAIL_KEYS_MAX);
	scws_throttle_free(t);
}

int unit_register(void)
{
	static CU_TestInfo tests[] = {
		UNIT_TEST(test_window),
		UNIT_TEST(test_table_full),
		CU_TEST_INFO_NULL,
	};
	return unit_add_suite("scws_throttle", tests);
}
