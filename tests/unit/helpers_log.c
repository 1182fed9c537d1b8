/* helpers_log.c - the log capture of helpers.h, in an object of its own so
 * that a test using it links no more of librunner.a than this. */
#include "config.h"

#include <stdio.h>

#include "core/log.h"
#include "helpers.h"

static void log_caught(void *arg, enum log_level level, const char *line)
{
	(void)level;
	struct unit_log *l = arg;
	snprintf(l->line, sizeof(l->line), "%s", line);
	l->count++;
}

void unit_log_catch(struct unit_log *l)
{
	*l = (struct unit_log){ 0 };
	log_set_sink(log_caught, l);
}

void unit_log_release(void)
{
	log_set_sink(NULL, NULL);
}
