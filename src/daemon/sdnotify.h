/* softsad and systemd (Type=notify): READY=1 once the policy and the datapath are up,
 * STATUS= lines an administrator sees in `systemctl status`, RELOADING=1 around a reload
 * and whether the new policy was taken, STOPPING=1, and the watchdog (WatchdogSec=) kicked
 * from the event loop.  Without $NOTIFY_SOCKET (a shell, a machine without systemd) every
 * call does nothing. */
#ifndef SS_DAEMON_SDNOTIFY_H
#define SS_DAEMON_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/clock.h"

struct ss_daemon;
struct daemon_opts;

/* preflight.c: the policy loads (FILE:LINE:COL message in err when not); called before
 * anything touches the network. */
bool dm_policy_check(const struct daemon_opts *o, char *err, size_t errlen);
/* --log-level LEVEL (level true) or --log HOW; false with the reason printed. */
bool dm_log_opt(bool level, const char *arg);

/* READY=1 with a STATUS= line saying what runs; arms the watchdog when systemd asked for
 * one ($WATCHDOG_USEC for this PID). */
void dm_sd_ready(struct ss_daemon *d);
/* SIGHUP and the control socket's reload: RELOADING=1, the reload, then READY=1 and a
 * STATUS= line saying whether the new policy is in force or why the old one stays. */
bool dm_sd_reload(struct ss_daemon *d, char *err, size_t errlen);
void dm_sd_stopping(void);
/* The loop's deadline, bounded by the next watchdog kick (SS_NEVER without a watchdog). */
ss_time dm_sd_watchdog_due(ss_time deadline);
/* Kicks the watchdog when due; called after every loop turn. */
void dm_sd_watchdog(ss_time now);

#endif
