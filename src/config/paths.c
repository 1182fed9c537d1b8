/* paths.c - where the shipped data (cards/, pki/) is found at run time. */
#include "config.h"

#include "config/paths.h"

#include <dirent.h>
#include <libgen.h>
#include <stdlib.h>
#include <stdbool.h>
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
		/* An installed tree moved elsewhere (DESTDIR, a relocated
		 * prefix): PREFIX/bin/scwsemu beside PREFIX/share/scwsemu. */
		snprintf(out, cap, "%s/../share/" PACKAGE "/%s", dir, rel);
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

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *config_card_path(const char *arg, char *out, size_t cap)
{
	if (strchr(arg, '/') || is_dir(arg) || !*arg || strcmp(arg, ".") == 0 ||
	    strcmp(arg, "..") == 0) {
		snprintf(out, cap, "%s", arg);
		return out;
	}
	char rel[PATH_MAX];
	snprintf(rel, sizeof(rel), "cards/%s", arg);
	config_data_path(rel, out, cap);
	char real[PATH_MAX];
	if (!is_dir(out))
		snprintf(out, cap, "%s", arg);
	else if (realpath(out, real))
		snprintf(out, cap, "%s", real);
	return out;
}

const char *config_ca_path(const char *cert_file, char *out, size_t cap)
{
	if (cert_file) {
		const char *slash = strrchr(cert_file, '/');
		int dl = slash ? (int)(slash - cert_file) : 1;
		snprintf(out, cap, "%.*s/scws-ca.crt", dl, slash ? cert_file : ".");
		if (exists(out))
			return out;
	}
	return config_data_path("pki/scws-ca.crt", out, cap);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void config_print_paths(FILE *out, const char *card_dir, const char *ca_file)
{
	char cards[PATH_MAX], real[PATH_MAX], data[PATH_MAX];
	config_data_path("cards", cards, sizeof(cards));
	if (realpath(cards, real))
		snprintf(cards, sizeof(cards), "%s", real);
	snprintf(data, sizeof(data), "%s", cards);
	char *slash = strrchr(data, '/');
	if (slash && slash != data)
		*slash = 0;
	fprintf(out, "data directory: %s\n", data);
	fprintf(out, "cards:          %s:", cards);
	char *names[64];
	size_t n = 0;
	DIR *dir = opendir(cards);
	for (struct dirent *e; dir && n < 64 && (e = readdir(dir));) {
		char conf[PATH_MAX + 300];
		snprintf(conf, sizeof(conf), "%s/%s/card.conf", cards, e->d_name);
		if (e->d_name[0] != '.' && exists(conf))
			names[n] = strdup(e->d_name), n += names[n] != NULL;
	}
	if (dir)
		closedir(dir);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, " %s", names[i]);
		free(names[i]);
	}
	fprintf(out, "%s\n", n ? "" : " (none found)");
	fprintf(out, "card:           %s\n", realpath(card_dir, real) ? real : card_dir);
	fprintf(out, "CA file:        %s\n", realpath(ca_file, real) ? real : ca_file);
}
