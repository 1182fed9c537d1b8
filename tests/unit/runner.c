/* runner.c - shared CUnit main for the per-module unit test programs. */
#include "runner.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

int unit_add_suite_cleanup(const char *name, CU_CleanupFunc cleanup, CU_TestInfo *tests)
{
	CU_SuiteInfo suites[] = {
		{ name, NULL, cleanup, NULL, NULL, tests },
		CU_SUITE_INFO_NULL,
	};
	return CU_register_suites(suites);
}

int unit_add_suite(const char *name, CU_TestInfo *tests)
{
	return unit_add_suite_cleanup(name, NULL, tests);
}

const char *unit_srcpath(const char *rel)
{
	static char path[4096];
	const char *top = getenv("top_srcdir");
	snprintf(path, sizeof(path), "%s/%s", top && *top ? top : ".", rel);
	return path;
}

uint8_t *unit_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	uint8_t *p = malloc(cap + 1);
	while (p) {
		size_t got = fread(p + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		cap *= 2;
		uint8_t *np = realloc(p, cap + 1);
		if (!np) {
			free(p);
			p = NULL;
		}
		p = np;
	}
	fclose(f);
	if (!p)
		return NULL;
	p[n] = 0;
	*len = n;
	return p;
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	if (unit_register() != CUE_SUCCESS) {
		fprintf(stderr, "test registration failed: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 99;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS) {
		CU_cleanup_registry();
		return 99;
	}
	unsigned failed = CU_get_number_of_failures();
	unsigned suites_failed = CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return (failed || suites_failed) ? 1 : 0;
}
