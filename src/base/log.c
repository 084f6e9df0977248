#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

static enum ss_log_level max_level = SS_LOG_INFO;
static ss_log_sink sink;
static void *sink_ctx;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void ss_log_set_level(enum ss_log_level max) { max_level = max; }
enum ss_log_level ss_log_get_level(void) { return max_level; }

void ss_log_set_sink(ss_log_sink s, void *ctx)
{
	sink = s;
	sink_ctx = ctx;
}

void ss_log(enum ss_log_level lvl, const char *subsys, const char *fmt, ...)
{
	if (lvl > max_level && !sink)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sink) {
		sink(sink_ctx, lvl, subsys, msg);
		return;
	}
	fprintf(stderr, "%s: %s: %s\n", level_names[lvl], subsys, msg);
}
