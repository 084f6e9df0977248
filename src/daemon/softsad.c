/* softsad: the softsa daemon.  It owns the sockets, the clock and the signals, and drives
 * the sans-I/O cores (policy agent, IKE engine) with what arrives; see doc/softsad.md. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "daemon/control.h"
#include "daemon/ikesock.h"
#include "daemon/loop.h"
#include "daemon/privs.h"
#include "daemon/signals.h"

#define SOFTSA_VERSION "0.1.0"

typedef struct daemon_opts {
	const char *control_path;
	uint16_t ike_port, natt_port;
} daemon_opts;

typedef struct ss_daemon {
	daemon_opts o;
	ss_loop *loop;
	ss_ctl *ctl;
	ss_ikesock ike;
	int sigfd;
	ss_time started;
	bool stop;
	unsigned long ike_in, ike_out, icmp_in, ike_malformed;
} ss_daemon;

static uint8_t rxbufs[32][65536];

static void on_ike(ss_loop *l, int fd, uint32_t events, void *ctx)
{
	ss_daemon *d = ctx;
	int which = -1;
	for (int i = 0; i < SS_IKESOCK_N; i++)
		if (d->ike.fd[i] == fd)
			which = i;
	if (which < 0)
		return;
	if (events & EPOLLERR) {
		uint8_t q[2048];
		ss_icmp_report r;
		while (ss_ikesock_recv_error(&d->ike, which, q, sizeof(q), &r) == 1)
			d->icmp_in++;
	}
	if (events & EPOLLIN) {
		ss_dgram dg[32];
		int n;
		while ((n = ss_ikesock_recv(&d->ike, which, rxbufs, dg, 32)) > 0) {
			for (int i = 0; i < n; i++) {
				if (dg[i].kind == SS_NATT_MALFORMED)
					d->ike_malformed++;
				else
					d->ike_in++;
			}
		}
	}
}

static void on_signal(ss_loop *l, int fd, uint32_t events, void *ctx)
{
	ss_daemon *d = ctx;
	int sig;
	while ((sig = ss_signals_read(fd)) != 0) {
		if (sig == SIGTERM || sig == SIGINT) {
			SS_INFO("softsad", "signal %d: shutting down", sig);
			d->stop = true;
		} else if (sig == SIGHUP) {
			SS_INFO("softsad", "SIGHUP: reload requested");
		}
	}
}

static const char *cmd_status(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_daemon *d = ctx;
	*result = json_pack("{s:s, s:i, s:I, s:{s:i, s:i}}", "version", SOFTSA_VERSION,
			    "pid", (int)getpid(), "uptime_ms", (json_int_t)(ss_now_ms() - d->started),
			    "ike_ports", "ike", d->ike.port, "natt", d->ike.natt_port);
	return NULL;
}

static const char *cmd_stats(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_daemon *d = ctx;
	ss_ctl_stats cs = ss_ctl_get_stats(d->ctl);
	*result = json_pack("{s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}}",
			    "ike", "datagrams_in", (json_int_t)d->ike_in, "datagrams_out", (json_int_t)d->ike_out,
			    "icmp_errors", (json_int_t)d->icmp_in, "malformed", (json_int_t)d->ike_malformed,
			    "control", "requests", (json_int_t)cs.requests, "errors", (json_int_t)cs.errors);
	return NULL;
}

static const ss_ctl_command commands[] = {
	{ "status", cmd_status, "daemon version, uptime and ports" },
	{ "stats", cmd_stats, "counters" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: softsad [options]\n"
		"  --control PATH     control socket (default /run/softsa/control)\n"
		"  --ike-port N       IKE port (default 500)\n"
		"  --natt-port N      NAT-T port (default 4500)\n"
		"  -v, --verbose      debug logging\n"
		"  -h, --help         this text\n");
}

static bool parse_port(const char *s, uint16_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

static int parse_opts(int argc, char **argv, daemon_opts *o)
{
	static const struct option lo[] = {
		{ "control", required_argument, NULL, 'C' },
		{ "ike-port", required_argument, NULL, 'P' },
		{ "natt-port", required_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	o->control_path = "/run/softsa/control";
	o->ike_port = 500;
	o->natt_port = 4500;
	int c;
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case 'C': o->control_path = optarg; break;
		case 'P':
		case 'N':
			if (!parse_port(optarg, c == 'P' ? &o->ike_port : &o->natt_port)) {
				fprintf(stderr, "softsad: bad port: %s\n", optarg);
				return 1;
			}
			break;
		case 'v': ss_log_set_level(SS_LOG_DEBUG); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "softsad: unexpected argument: %s\n", argv[optind]);
		return 1;
	}
	return 0;
}

static int run(ss_daemon *d)
{
	char err[256];
	if (!ss_privs_check(err, sizeof(err))) {
		fprintf(stderr, "softsad: %s\n", err);
		return 1;
	}
	d->loop = ss_loop_new();
	d->sigfd = ss_signals_open();
	if (!d->loop || d->sigfd < 0 || !ss_loop_add(d->loop, d->sigfd, EPOLLIN, on_signal, d)) {
		fprintf(stderr, "softsad: cannot set up the event loop: %s\n", strerror(errno));
		return 1;
	}
	if (!ss_ikesock_open(&d->ike, d->o.ike_port, d->o.natt_port, 0, err, sizeof(err))) {
		fprintf(stderr, "softsad: %s\n", err);
		return 1;
	}
	for (int i = 0; i < SS_IKESOCK_N; i++)
		if (d->ike.fd[i] >= 0)
			ss_loop_add(d->loop, d->ike.fd[i], EPOLLIN, on_ike, d);
	/* The default socket lives in /run/softsa, root's alone. */
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", d->o.control_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			fprintf(stderr, "softsad: cannot create %s: %s\n", dir, strerror(errno));
			return 1;
		}
	}
	d->ctl = ss_ctl_open(d->loop, d->o.control_path, commands,
			     sizeof(commands) / sizeof(commands[0]), d, err, sizeof(err));
	if (!d->ctl) {
		fprintf(stderr, "softsad: %s\n", err);
		return 1;
	}
	d->started = ss_now_ms();
	SS_INFO("softsad", "started: IKE on UDP %u and %u, control on %s", d->ike.port,
		d->ike.natt_port, d->o.control_path);
	while (!d->stop) {
		if (ss_loop_run_once(d->loop, SS_NEVER, 1000) < 0) {
			SS_ERR("softsad", "event loop: %s", strerror(errno));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	ss_daemon d;
	memset(&d, 0, sizeof(d));
	d.sigfd = -1;
	for (int i = 0; i < SS_IKESOCK_N; i++)
		d.ike.fd[i] = -1;
	if (parse_opts(argc, argv, &d.o) != 0)
		return 1;
	int rc = run(&d);
	ss_ctl_close(d.ctl);
	ss_ikesock_close(&d.ike);
	if (d.sigfd >= 0)
		close(d.sigfd);
	ss_loop_free(d.loop);
	if (rc == 0)
		SS_INFO("softsad", "stopped");
	return rc;
}
