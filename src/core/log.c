/* log.c - one line per event to stderr, as text or JSON. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/json.h"

/* Appends whose failure only shortens a log line: the line is cut at the
 * cap, which is the best a logger can do. */
#define PUT(x)           \
	do {             \
		if (x) { \
		}        \
	} while (0)

static enum log_level g_level = LOG_INFO;
static bool g_json;
static log_sink_fn *g_sink;
static void *g_sink_arg;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_setup(enum log_level level, bool json)
{
	g_level = level;
	g_json = json;
}

enum log_level log_get_level(void)
{
	return g_level;
}

bool log_enabled(enum log_level level)
{
	return level <= g_level;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level <= LOG_DEBUG ? level_names[level] : "?";
}

void log_set_sink(log_sink_fn *fn, void *arg)
{
	g_sink = fn;
	g_sink_arg = arg;
}

static void put_timestamp(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	char s[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	PUT(buf_printf(b, "%s.%03ldZ", s, ts.tv_nsec / 1000000L));
}

static void put_json_str(struct buf *b, const char *s)
{
	PUT(json_put_str(b, s));
}

/* Text values with spaces or quotes are quoted so a line stays parseable. */
static void put_text_value(struct buf *b, const char *s)
{
	if (*s && !strpbrk(s, " \"=\t\n\r")) {
		PUT(buf_append_str(b, s));
		return;
	}
	put_json_str(b, s);
}

static void emit(enum log_level level, struct buf *b)
{
	if (!b->p)
		return;
	if (g_sink) {
		PUT(buf_append_u8(b, 0));
		g_sink(g_sink_arg, level, (const char *)b->p);
		return;
	}
	PUT(buf_append_u8(b, '\n'));
	fwrite(b->p, 1, b->len, stderr);
	fflush(stderr);
}

static void log_line(enum log_level level, const char *subsys, const char *msg,
		     const struct log_kv *kv, unsigned n)
{
	struct buf b;
	buf_init(&b, 16384);
	if (g_json) {
		PUT(buf_append_str(&b, "{\"ts\":\""));
		put_timestamp(&b);
		PUT(buf_printf(&b, "\",\"level\":\"%s\",\"sub\":", log_level_name(level)));
		put_json_str(&b, subsys);
		PUT(buf_append_str(&b, ",\"msg\":"));
		put_json_str(&b, msg);
		for (unsigned i = 0; i < n; i++) {
			if (!kv[i].value)
				continue;
			PUT(buf_append_u8(&b, ','));
			put_json_str(&b, kv[i].key);
			PUT(buf_append_u8(&b, ':'));
			if (kv[i].is_num)
				PUT(buf_append_str(&b, kv[i].value));
			else
				put_json_str(&b, kv[i].value);
		}
		PUT(buf_append_u8(&b, '}'));
	} else {
		put_timestamp(&b);
		PUT(buf_printf(&b, " %-5s %s: %s", log_level_name(level), subsys, msg));
		for (unsigned i = 0; i < n; i++) {
			if (!kv[i].value)
				continue;
			PUT(buf_printf(&b, " %s=", kv[i].key));
			put_text_value(&b, kv[i].value);
		}
	}
	emit(level, &b);
	buf_cleanup(&b);
}

void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line(level, subsys, msg, NULL, 0);
}

void log_kv(enum log_level level, const char *subsys, const char *msg, const struct log_kv *kv,
	    unsigned n)
{
	if (!log_enabled(level))
		return;
	log_line(level, subsys, msg, kv, n);
}
