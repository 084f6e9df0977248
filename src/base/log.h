/* Logging: one line per event.  Where it goes: stderr with an RFC 3339 timestamp (the
 * default), syslog, or the systemd journal with structured fields (logsink.c; chosen by
 * ss_log_open, `softsad --log`); or a sink that tests install to assert on what was said.
 * Never pass key material to these. */
#ifndef SS_BASE_LOG_H
#define SS_BASE_LOG_H

#include <stdbool.h>

/* syslog's order and names (RFC 5424): error, warning, notice, info, debug. */
enum ss_log_level { SS_LOG_ERR = 0, SS_LOG_WARN = 1, SS_LOG_NOTICE = 2, SS_LOG_INFO = 3, SS_LOG_DEBUG = 4 };

typedef void (*ss_log_sink)(void *ctx, enum ss_log_level lvl, const char *subsys, const char *msg);

void ss_log_set_level(enum ss_log_level max);
enum ss_log_level ss_log_get_level(void);
/* "error", "warning", "notice", "info", "debug" (also "err", "warn"); false when unknown. */
bool ss_log_level_parse(const char *s, enum ss_log_level *out);
const char *ss_log_level_name(enum ss_log_level lvl);
/* NULL restores the default output. */
void ss_log_set_sink(ss_log_sink sink, void *ctx);
void ss_log(enum ss_log_level lvl, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with structured fields for the journal: kv is "KEY", "value", ..., NULL, with
 * KEY upper case (PEER, RULE, OUTCOME, SPI).  Other outputs print only the message, which
 * must say the same in words. */
void ss_log_kv(enum ss_log_level lvl, const char *subsys, const char *const *kv, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define SS_KV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Outputs (logsink.c). */
enum ss_log_output { SS_LOG_OUT_STDERR = 0, SS_LOG_OUT_SYSLOG, SS_LOG_OUT_JOURNAL, SS_LOG_OUT_PLAIN };
/* "auto" (the journal when stderr is connected to it, as under systemd: $JOURNAL_STREAM
 * names stderr; else stderr), "journal", "syslog", "stderr"; "plain" is stderr without the
 * timestamp, for a command a person runs (softsa).  false with *why on a bad
 * name.  When the journal's socket is not there, lines go to stderr. */
bool ss_log_open(const char *how, const char *ident, const char **why);
enum ss_log_output ss_log_output(void);
/* What the outputs write; ss_log_write picks the open one. */
void ss_log_write(enum ss_log_level lvl, const char *subsys, const char *const *kv, const char *msg);
/* The stderr line: "2026-12-03T16:45:01.123Z warning: ike: message" (UTC, RFC 3339). */
int ss_log_format_line(char *buf, unsigned long len, double unix_time, enum ss_log_level lvl,
		       const char *subsys, const char *msg);

#define SS_ERR(sub, ...) ss_log(SS_LOG_ERR, sub, __VA_ARGS__)
#define SS_WARN(sub, ...) ss_log(SS_LOG_WARN, sub, __VA_ARGS__)
#define SS_NOTICE(sub, ...) ss_log(SS_LOG_NOTICE, sub, __VA_ARGS__)
#define SS_INFO(sub, ...) ss_log(SS_LOG_INFO, sub, __VA_ARGS__)
#define SS_DEBUG(sub, ...) ss_log(SS_LOG_DEBUG, sub, __VA_ARGS__)

#endif
