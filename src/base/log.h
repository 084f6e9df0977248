/* Logging: one line per event, to stderr by default (journald picks it up), or to a sink
 * that tests install to assert on what was said.  Never pass key material to these. */
#ifndef SS_BASE_LOG_H
#define SS_BASE_LOG_H

enum ss_log_level { SS_LOG_ERR = 0, SS_LOG_WARN = 1, SS_LOG_INFO = 2, SS_LOG_DEBUG = 3 };

typedef void (*ss_log_sink)(void *ctx, enum ss_log_level lvl, const char *subsys, const char *msg);

void ss_log_set_level(enum ss_log_level max);
enum ss_log_level ss_log_get_level(void);
/* NULL restores the stderr sink. */
void ss_log_set_sink(ss_log_sink sink, void *ctx);
void ss_log(enum ss_log_level lvl, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define SS_ERR(sub, ...) ss_log(SS_LOG_ERR, sub, __VA_ARGS__)
#define SS_WARN(sub, ...) ss_log(SS_LOG_WARN, sub, __VA_ARGS__)
#define SS_INFO(sub, ...) ss_log(SS_LOG_INFO, sub, __VA_ARGS__)
#define SS_DEBUG(sub, ...) ss_log(SS_LOG_DEBUG, sub, __VA_ARGS__)

#endif
