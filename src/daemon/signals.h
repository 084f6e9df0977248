/* Signals as file descriptor events (signalfd), so that the loop handles SIGHUP/SIGTERM
 * between callbacks and never inside one. */
#ifndef SS_DAEMON_SIGNALS_H
#define SS_DAEMON_SIGNALS_H

/* Blocks SIGHUP, SIGTERM, SIGINT, SIGUSR1 and ignores SIGPIPE; returns a signalfd or -1. */
int ss_signals_open(void);
/* Reads one pending signal number, or 0 if none. */
int ss_signals_read(int fd);

#endif
