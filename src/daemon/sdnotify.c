/* sd_notify(3) for softsad (sdnotify.h).  libsystemd's sd_notify sends one datagram to
 * $NOTIFY_SOCKET and returns 0 when the variable is unset, so the same calls are right under
 * systemd and from a shell. */
#include "daemon/sdnotify.h"

#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "base/log.h"
#include "daemon/daemon.h"

static ss_time watchdog_every = SS_NEVER; /* ms between kicks: half of WatchdogSec */
static ss_time watchdog_next = SS_NEVER;

static void notify(const char *msg)
{
	int r = sd_notify(0, msg);
	if (r < 0)
		SS_WARN(SUB, "sd_notify: cannot tell systemd (%d); carrying on", r);
}

static void status_line(ss_daemon *d, char *buf, size_t len)
{
	char what[64];
	snprintf(buf, len, "STATUS=policy \"%s\" in force; IKE on UDP %u and %u; %s", dm_policy_name(d),
		 d->ike.port, d->ike.natt_port, dm_dp_what(d, what, sizeof what));
}

void dm_sd_ready(ss_daemon *d)
{
	char msg[400];
	status_line(d, msg, sizeof(msg));
	snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "\nREADY=1");
	notify(msg);
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
		watchdog_every = usec / 2000;
		watchdog_next = ss_now_ms() + watchdog_every;
		SS_INFO(SUB, "systemd watchdog: %llu ms, kicked every %llu ms", (unsigned long long)(usec / 1000),
			(unsigned long long)watchdog_every);
	}
}

bool dm_sd_reload(ss_daemon *d, char *err, size_t errlen)
{
	notify("RELOADING=1\nSTATUS=reloading the policy");
	bool ok = dm_reload(d, err, errlen);
	char msg[900];
	if (ok)
		status_line(d, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "STATUS=reload refused, policy \"%s\" stays in force: %.600s", dm_policy_name(d),
			 err);
	snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "\nREADY=1");
	notify(msg);
	return ok;
}

void dm_sd_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping: removing the datapath");
}

ss_time dm_sd_watchdog_due(ss_time deadline)
{
	return watchdog_next < deadline ? watchdog_next : deadline;
}

void dm_sd_watchdog(ss_time now)
{
	if (now < watchdog_next)
		return;
	notify("WATCHDOG=1");
	watchdog_next = now + watchdog_every;
}
