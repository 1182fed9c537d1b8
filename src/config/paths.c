/* paths.c - where the shipped data (cards/, pki/) is found at run time. */
#include "config/paths.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

const char *config_data_path(const char *rel, char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		const char *dir = dirname(exe);
		snprintf(out, cap, "%s/../%s", dir, rel);
		if (exists(out))
			return out;
		size_t bl = strlen(SCWS_ABS_BUILDDIR);
		if (strncmp(dir, SCWS_ABS_BUILDDIR, bl) == 0 && (dir[bl] == '/' || !dir[bl])) {
			snprintf(out, cap, "%s/%s", SCWS_ABS_SRCDIR, rel);
			if (exists(out))
				return out;
		}
	}
	snprintf(out, cap, "%s/%s", SCWS_PKGDATADIR, rel);
	return out;
}
