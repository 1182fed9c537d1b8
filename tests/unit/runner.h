/* runner.h - shared CUnit main for the per-module unit test programs.
 *
 * Each tests/unit/test_<module>.c defines unit_register(), which adds its
 * suites to the CUnit registry and returns 0 (or a CUnit error code).
 * The program exits 0 when every test passed, 1 on a failed test and 99 on
 * a harness error (automake's convention). */
#ifndef SCWS_TESTS_RUNNER_H
#define SCWS_TESTS_RUNNER_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

int unit_register(void);

/* Adds a suite with the given tests (NULL-terminated CU_TestInfo array). */
int unit_add_suite(const char *name, CU_TestInfo *tests);

/* The same with a suite teardown: cleanup runs once after the suite's last
 * test (0 = ok), whatever the tests did. */
int unit_add_suite_cleanup(const char *name, CU_CleanupFunc cleanup, CU_TestInfo *tests);

/* A path below $top_srcdir (or "." when unset) in a static buffer. */
const char *unit_srcpath(const char *rel);

/* Reads a whole file; returns a malloc'd buffer (NUL-terminated) or NULL. */
uint8_t *unit_read_file(const char *path, size_t *len);

#define UNIT_TEST(fn)   \
	{               \
#fn, fn \
	}

#endif
