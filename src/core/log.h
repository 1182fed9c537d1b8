/* log.h - one line per event to stderr, as text or JSON.
 *
 * Lower layers return error codes and do not log; the layer that takes the
 * decision logs once (doc/style.md §4). Never pass a secret to these calls. */
#ifndef SCWS_CORE_LOG_H
#define SCWS_CORE_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* A key and value for a structured line; value NULL is skipped.
 * is_num prints the value unquoted in JSON. */
struct log_kv {
	const char *key;
	const char *value;
	bool is_num;
};

void log_setup(enum log_level level, bool json);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);
const char *log_level_name(enum log_level level);

/* Replaces stderr as the destination (for tests); NULL restores stderr.
 * `line` holds one whole line without the newline. */
typedef void log_sink_fn(void *arg, enum log_level level, const char *line);
void log_set_sink(log_sink_fn *fn, void *arg);

__attribute__((format(printf, 3, 4))) void log_msg(enum log_level level, const char *subsys,
						   const char *fmt, ...);

/* msg followed by key=value pairs (text) or fields (JSON). */
void log_kv(enum log_level level, const char *subsys, const char *msg, const struct log_kv *kv,
	    unsigned n);

#define log_err(sub, ...) log_msg(LOG_ERROR, sub, __VA_ARGS__)
#define log_warn(sub, ...) log_msg(LOG_WARN, sub, __VA_ARGS__)
#define log_info(sub, ...) log_msg(LOG_INFO, sub, __VA_ARGS__)
#define log_dbg(sub, ...)                                     \
	do {                                                  \
		if (log_enabled(LOG_DEBUG))                   \
			log_msg(LOG_DEBUG, sub, __VA_ARGS__); \
	} while (0)

#endif
