#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum ss_log_level max_level = SS_LOG_INFO;
static ss_log_sink sink;
static void *sink_ctx;

static const char *const level_names[] = { "error", "warning", "notice", "info", "debug" };

void ss_log_set_level(enum ss_log_level max) { max_level = max; }
enum ss_log_level ss_log_get_level(void) { return max_level; }

const char *ss_log_level_name(enum ss_log_level lvl)
{
	return (unsigned)lvl <= SS_LOG_DEBUG ? level_names[lvl] : "?";
}

bool ss_log_level_parse(const char *s, enum ss_log_level *out)
{
	for (unsigned i = 0; i <= SS_LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum ss_log_level)i;
			return true;
		}
	if (strcmp(s, "err") == 0 || strcmp(s, "warn") == 0) {
		*out = s[0] == 'e' ? SS_LOG_ERR : SS_LOG_WARN;
		return true;
	}
	return false;
}

void ss_log_set_sink(ss_log_sink s, void *ctx)
{
	sink = s;
	sink_ctx = ctx;
}

static void vlog(enum ss_log_level lvl, const char *subsys, const char *const *kv, const char *fmt, va_list ap)
{
	if (lvl > max_level && !sink)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (sink) {
		sink(sink_ctx, lvl, subsys, msg);
		return;
	}
	ss_log_write(lvl, subsys, kv, msg);
}

void ss_log(enum ss_log_level lvl, const char *subsys, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, subsys, NULL, fmt, ap);
	va_end(ap);
}

void ss_log_kv(enum ss_log_level lvl, const char *subsys, const char *const *kv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, subsys, kv, fmt, ap);
	va_end(ap);
}
