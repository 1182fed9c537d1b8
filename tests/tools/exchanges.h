/* exchanges.h - reads a text list of APDU exchanges (the .txt files in
 * tests/data/trace) for the trace unit test and tools: one exchange per line,
 * "C-APDU hex | R-APDU hex", '#' comments and blank lines skipped.
 * Header-only (static functions): each user is one small program. */
#ifndef SCWS_TESTS_EXCHANGES_H
#define SCWS_TESTS_EXCHANGES_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/hex.h"

#define EXCHANGES_MAX 64
#define EXCHANGE_BYTES_MAX 1024

struct exchange {
	uint8_t c[EXCHANGE_BYTES_MAX], r[EXCHANGE_BYTES_MAX];
	size_t clen, rlen;
};

/* The fixed time stamp of exchange i in golden files: one second apart,
 * with a varying fraction so that ts_usec is checked too. */
static inline struct timeval exchange_time(size_t i)
{
	struct timeval tv = { (time_t)(1700000000 + i), (suseconds_t)(250000 * (i % 4) + i) };
	return tv;
}

/* Fills ex (cap entries); returns the count, or -1 with a message on stderr. */
static inline int exchanges_load(const char *path, struct exchange *ex, size_t cap)
{
	char *line = NULL, *bar;
	size_t lcap = 0, n = 0, lineno = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &lcap, f) > 0) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[strspn(line, " \t")] == '\0' || line[strspn(line, " \t")] == '#')
			continue;
		bar = strchr(line, '|');
		if (!bar || n == cap) {
			fprintf(stderr, "%s:%zu: expected 'C-APDU | R-APDU'\n", path, lineno);
			goto err;
		}
		*bar = '\0';
		if (hex_decode(line, ex[n].c, sizeof(ex[n].c), &ex[n].clen) != 0 ||
		    hex_decode(bar + 1, ex[n].r, sizeof(ex[n].r), &ex[n].rlen) != 0) {
			fprintf(stderr, "%s:%zu: bad hex\n", path, lineno);
			goto err;
		}
		n++;
	}
	free(line);
	fclose(f);
	return (int)n;
err:
	free(line);
	fclose(f);
	return -1;
}

#endif
