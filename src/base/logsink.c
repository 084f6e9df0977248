/* Where log lines go (log.h): stderr with RFC 3339 timestamps, syslog, or the systemd
 * journal with structured fields.  softsad picks one at start (ss_log_open); everything
 * else keeps the stderr default. */
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* The caller's file and line, not this one's, would be worth recording; none rather than ours. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

static enum ss_log_output output = SS_LOG_OUT_STDERR;
static const char *ident_name = "softsa";

enum ss_log_output ss_log_output(void) { return output; }

static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

int ss_log_format_line(char *buf, unsigned long len, double unix_time, enum ss_log_level lvl,
		       const char *subsys, const char *msg)
{
	time_t secs = (time_t)unix_time;
	struct tm tm;
	char ts[32];
	gmtime_r(&secs, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	int ms = (int)((unix_time - (double)secs) * 1000);
	return snprintf(buf, len, "%s.%03dZ %s: %s: %s\n", ts, ms > 999 ? 999 : ms, ss_log_level_name(lvl),
			subsys, msg);
}

/* systemd connects a service's stderr to the journal and says so in $JOURNAL_STREAM
 * ("DEVICE:INODE" of that stream): only then is the journal where stderr goes anyway. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool ss_log_open(const char *how, const char *ident, const char **why)
{
	ident_name = ident;
	if (!how || strcmp(how, "auto") == 0)
		how = stderr_is_journal() ? "journal" : "stderr";
	if (strcmp(how, "stderr") == 0 || strcmp(how, "plain") == 0) {
		output = how[0] == 's' ? SS_LOG_OUT_STDERR : SS_LOG_OUT_PLAIN;
		return true;
	}
	if (strcmp(how, "syslog") == 0) {
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		output = SS_LOG_OUT_SYSLOG;
		return true;
	}
	if (strcmp(how, "journal") == 0) {
		output = SS_LOG_OUT_JOURNAL;
		return true;
	}
	*why = "expected auto, journal, syslog or stderr";
	return false;
}

/* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, SOFTSA_SUBSYSTEM and the caller's fields. */
static bool journal_write(enum ss_log_level lvl, const char *subsys, const char *const *kv, const char *msg)
{
	enum { MAX_KV = 8 };
	char fields[4 + MAX_KV][600];
	struct iovec iov[4 + MAX_KV];
	int n = 0;
	snprintf(fields[n++], sizeof(fields[0]), "MESSAGE=%s: %s", subsys, msg);
	snprintf(fields[n++], sizeof(fields[0]), "PRIORITY=%d", syslog_prio[lvl]);
	snprintf(fields[n++], sizeof(fields[0]), "SYSLOG_IDENTIFIER=%s", ident_name);
	snprintf(fields[n++], sizeof(fields[0]), "SOFTSA_SUBSYSTEM=%s", subsys);
	for (size_t i = 0; kv && kv[i] && kv[i + 1] && n < 4 + MAX_KV; i += 2)
		snprintf(fields[n++], sizeof(fields[0]), "%s=%s", kv[i], kv[i + 1]);
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){ .iov_base = fields[i], .iov_len = strlen(fields[i]) };
	return sd_journal_sendv(iov, n) >= 0;
}

void ss_log_write(enum ss_log_level lvl, const char *subsys, const char *const *kv, const char *msg)
{
	if ((unsigned)lvl > SS_LOG_DEBUG)
		lvl = SS_LOG_DEBUG;
	if (output == SS_LOG_OUT_JOURNAL && journal_write(lvl, subsys, kv, msg))
		return;
	if (output == SS_LOG_OUT_SYSLOG) {
		syslog(syslog_prio[lvl], "%s: %s", subsys, msg);
		return;
	}
	if (output == SS_LOG_OUT_PLAIN) {
		fprintf(stderr, "%s: %s: %s\n", ss_log_level_name(lvl), subsys, msg);
		return;
	}
	/* stderr, and the journal's fallback when its socket is gone. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char line[1200];
	ss_log_format_line(line, sizeof(line), (double)now.tv_sec + now.tv_nsec / 1e9, lvl, subsys, msg);
	fputs(line, stderr);
}
