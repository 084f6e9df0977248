/* softsad: the softsa daemon.  It owns the sockets, the clock and the signals, and drives
 * the sans-I/O node (node/node.h: policy agent, IKE engine and their glue) and the dataplane
 * with what arrives;
 * see doc/softsad.md.  This file: options, start-up checks in an order that gives a clear
 * message for each way of failing, the event loop, and a teardown that leaves nothing
 * behind. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/secure.h"
#include "daemon/daemon.h"
#include "daemon/privs.h"
#include "daemon/sdnotify.h"
#include "daemon/signals.h"
#include "agent/agent.h"
#include "dataplane/dataplane.h"
#include "dataplane/user/user.h"
#include "node/node.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: softsad (-c FILE | --builtin NAME --psk-file FILE | --directory FILE) [options]\n"
		"  -c, --config FILE   the policy file (YAML, doc/policy.md)\n"
		"  --directory FILE    take the policy from LDAP: FILE is the bootstrap (doc/directory.md)\n"
		"  --builtin NAME      a built-in policy: client, server, secure-server\n"
		"  --psk-file FILE     pre-shared key for a built-in policy (or to override the file's)\n"
		"  --control PATH      control socket (default /run/softsa/control)\n"
		"  --state-dir DIR     keep the downgrade memory in DIR (survives restarts)\n"
		"  --tun NAME          TUN device (default " SS_DP_TUN_DEFAULT ")\n"
		"  --dataplane NAME    user, kernel or auto (default auto: the first that works here)\n"
		"  --ike-port N        IKE port (default 500)\n"
		"  --natt-port N       NAT-T port (default 4500)\n"
		"  --cookie-threshold N        half-open IKE SAs from which COOKIEs are required (50)\n"
		"  --max-half-open N           half-open IKE SAs at most; more IKE_SA_INITs dropped (1000)\n"
		"  --max-half-open-per-peer N  under COOKIEs, half-open SAs per address (20; 0: no limit)\n"
		"  --max-ike-sas N             IKE SAs at most, half-open ones included (250000)\n"
		"  --log-level LEVEL   error, warning, notice, info (default) or debug\n"
		"  --log HOW           auto (default: the journal under systemd, else stderr),\n"
		"                      journal, syslog or stderr (RFC 3339 timestamps)\n"
		"  -v, --verbose       debug logging (--log-level debug)\n"
		"  --version           the version\n"
		"  -h, --help          this text\n"
		"Runs in the foreground.  SIGHUP reloads the policy (an invalid file keeps the old\n"
		"one); SIGTERM removes everything softsad installed and exits.  Under systemd\n"
		"(Type=notify) it says READY=1 once policy and datapath are up (doc/softsad.md).\n");
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

static bool parse_count(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > 1000000)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int parse_opts(int argc, char **argv, daemon_opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "builtin", required_argument, NULL, 'b' },
		{ "psk-file", required_argument, NULL, 'k' },
		{ "directory", required_argument, NULL, 'D' },
		{ "control", required_argument, NULL, 'C' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "tun", required_argument, NULL, 'T' },
		{ "dataplane", required_argument, NULL, 'A' },
		{ "ike-port", required_argument, NULL, 'P' },
		{ "natt-port", required_argument, NULL, 'N' },
		{ "cookie-threshold", required_argument, NULL, 'K' },
		{ "max-half-open", required_argument, NULL, 'H' },
		{ "max-half-open-per-peer", required_argument, NULL, 'R' },
		{ "max-ike-sas", required_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "log", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	o->control_path = "/run/softsa/control";
	o->tun_name = SS_DP_TUN_DEFAULT;
	o->dataplane = "auto";
	o->ike_port = 500;
	o->natt_port = 4500;
	o->cookie_threshold = 50;
	o->max_half_open = 1000;
	o->max_half_open_per_peer = 20;
	/* About 9 KiB each with its CHILD SA in softsad (bench/README.md): 2.2 GiB at most. */
	o->max_ike_sas = 250000;
	int c;
	while ((c = getopt_long(argc, argv, "c:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->policy_file = optarg; break;
		case 'b': o->builtin = optarg; break;
		case 'k': o->psk_file = optarg; break;
		case 'D': o->directory = optarg; break;
		case 'C': o->control_path = optarg; break;
		case 'S': o->state_dir = optarg; break;
		case 'T': o->tun_name = optarg; break;
		case 'A': o->dataplane = optarg; break;
		case 'P':
		case 'N':
			if (!parse_port(optarg, c == 'P' ? &o->ike_port : &o->natt_port)) {
				fprintf(stderr, "softsad: bad port: %s\n", optarg);
				return 1;
			}
			break;
		case 'K':
		case 'H':
		case 'R':
		case 'M':
			if (!parse_count(optarg, c == 'K' ? &o->cookie_threshold : c == 'H' ? &o->max_half_open
					 : c == 'M' ? &o->max_ike_sas : &o->max_half_open_per_peer)) {
				fprintf(stderr, "softsad: bad number: %s\n", optarg);
				return 1;
			}
			break;
		case 'v': ss_log_set_level(SS_LOG_DEBUG); break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("softsad %s\n", SOFTSA_VERSION); exit(0);
		case 'L':
		case 'O': if (!dm_log_opt(c == 'L', optarg)) return 1; break;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "softsad: unexpected argument: %s\n", argv[optind]);
		return 1;
	}
	if (!!o->policy_file + !!o->builtin + !!o->directory != 1) {
		fprintf(stderr, "softsad: give a policy: -c FILE, --builtin NAME or --directory FILE (see --help)\n");
		return 1;
	}
	if (strlen(o->tun_name) >= 16) {
		fprintf(stderr, "softsad: TUN name too long: %s\n", o->tun_name);
		return 1;
	}
	return 0;
}

void dm_drain(ss_daemon *d, ss_time now)
{
	ss_node_run(d->node, now);
}

static void on_signal(ss_loop *l, int fd, uint32_t events, void *ctx)
{
	ss_daemon *d = ctx;
	int sig;
	while ((sig = ss_signals_read(fd)) != 0) {
		if (sig == SIGTERM || sig == SIGINT) {
			SS_INFO(SUB, "signal %d: shutting down", sig);
			d->stop = true;
		} else if (sig == SIGHUP) {
			char err[700];
			SS_INFO(SUB, "SIGHUP: reloading the policy");
			dm_sd_reload(d, err, sizeof(err));
		}
	}
}


static void on_dp(ss_loop *l, int fd, uint32_t events, void *ctx)
{
	ss_daemon *d = ctx;
	int r = dm_on_dp(d, fd, ss_now_ms());
	if (r < 0) {
		/* Someone deleted the TUN (or it broke): nothing more to read, so stop watching it
		 * rather than spin.  Captured traffic now meets the dataplane's blackhole: it fails
		 * closed until softsad is restarted. */
		ss_dp_fd fds[8];
		size_t n = ss_dp_poll_fds(d->dp, fds, 8);
		char what[64] = "a dataplane descriptor";
		for (size_t i = 0; i < n; i++)
			if (fds[i].fd == fd && fds[i].role == SS_DP_FD_OUTBOUND)
				snprintf(what, sizeof(what), "TUN %s", d->o.tun_name);
		SS_ERR(SUB, "%s failed (%s): traffic that needs security is dropped from now on; "
		       "restart softsad", what, strerror(-r));
		ss_loop_del(l, fd);
	}
}

static bool open_control(ss_daemon *d, char *err, size_t errlen)
{
	/* The default socket lives in /run/softsa, root's alone. */
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", d->o.control_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return false;
		}
	}
	d->ctl = ss_ctl_open(d->loop, d->o.control_path, dm_commands, dm_n_commands, d, err, errlen);
	return d->ctl != NULL;
}

static bool open_dataplane(ss_daemon *d, char *err, size_t errlen)
{
	ss_dp_config cfg;
	ss_dp_config_default(&cfg);
	cfg.tun_name = d->o.tun_name;
	/* ESP in UDP (RFC 3948) leaves from our NAT-T sockets, so that it carries port 4500. */
	cfg.esp_udp_fd4 = d->ike.fd[SS_IKESOCK_V4_4500];
	cfg.esp_udp_fd6 = d->ike.fd[SS_IKESOCK_V6_4500];
	cfg.ipv6 = d->ike.fd[SS_IKESOCK_V6_500] >= 0;
	ss_agent_config ac;
	ss_agent_config_default(&ac);
	/* A backstop: the agent's byte limits bound what it holds (agent.h). */
	cfg.max_held = ac.max_held_bytes_total / SS_AGENT_HELD_OVERHEAD + 64;
	if (ss_dp_open(d->o.dataplane, &cfg, (ss_dp **)&d->dp, err, errlen) < 0)
		return false;
	ss_dp_fd fds[8];
	size_t n = ss_dp_poll_fds(d->dp, fds, 8);
	for (size_t i = 0; i < n; i++)
		if (!ss_loop_add(d->loop, fds[i].fd, EPOLLIN, on_dp, d)) {
			snprintf(err, errlen, "cannot watch the dataplane: %s", strerror(errno));
			return false;
		}
	for (int i = 0; i < SS_IKESOCK_N; i++) {
		int r = d->ike.fd[i] >= 0 ? ss_dp_bypass_socket(d->dp, d->ike.fd[i], i == SS_IKESOCK_V6_500 || i == SS_IKESOCK_V6_4500 ? SS_AF_INET6 : SS_AF_INET) : 0;
		if (r < 0) {
			snprintf(err, errlen, "the dataplane cannot exempt the IKE sockets: %s", strerror(-r));
			return false;
		}
	}
	ss_dp_info info;
	ss_dp_info_get(d->dp, &info);
	SS_INFO(SUB, "dataplane %s (%s)", info.name, info.why);
	return true;
}

static int start(ss_daemon *d)
{
	char err[700];
	if (!ss_privs_check(err, sizeof(err)) || !dm_policy_check(&d->o, err, sizeof(err)))
		goto fail;
	d->loop = ss_loop_new();
	d->sigfd = ss_signals_open();
	if (!d->loop || d->sigfd < 0 || !ss_loop_add(d->loop, d->sigfd, EPOLLIN, on_signal, d)) {
		snprintf(err, sizeof(err), "cannot set up the event loop: %s", strerror(errno));
		goto fail;
	}
	ss_dp_config dflt;
	ss_dp_config_default(&dflt);
	/* IKE carries the dataplane's bypass mark: it must never be captured. */
	if (!ss_ikesock_open(&d->ike, d->o.ike_port, d->o.natt_port, dflt.bypass_mark, err, sizeof(err)))
		goto fail;
	for (int i = 0; i < SS_IKESOCK_N; i++)
		if (d->ike.fd[i] >= 0)
			ss_loop_add(d->loop, d->ike.fd[i], EPOLLIN, dm_on_ike_socket, d);
	if (!open_dataplane(d, err, sizeof(err)) || !dm_ike_start(d, err, sizeof(err)) ||
	    !dm_policysrc_start(d, err, sizeof(err)) || !dm_policy_start(d, err, sizeof(err)) || !open_control(d, err, sizeof(err)))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "softsad: %s\n", err);
	return 1;
}

static int run(ss_daemon *d)
{
	d->started = ss_now_ms();
	char what[64];
	SS_INFO(SUB, "started: policy \"%s\", IKE on UDP %u and %u, %s, control on %s", dm_policy_name(d),
		d->ike.port, d->ike.natt_port, dm_dp_what(d, what, sizeof what), d->o.control_path);
	dm_sd_ready(d);
	while (!d->stop) {
		/* One deadline: the earliest of the node's (agent, engine, traffic reports), the
		 * state file's and the dataplane's. */
		ss_time deadline = dm_sd_watchdog_due(ss_time_min(ss_time_min(dm_agent_deadline(d), ss_node_deadline(d->node)),
								  dm_dp_deadline(d)));
		if (ss_loop_run_once(d->loop, deadline, 1000) < 0) {
			SS_ERR(SUB, "event loop: %s", strerror(errno));
			return 1;
		}
		ss_time now = ss_now_ms();
		if (ss_node_deadline(d->node) <= now)
			ss_node_timer(d->node, now);
		dm_agent_timer(d, now);
		if (dm_dp_deadline(d) <= now)
			dm_on_dp(d, -1, now);
		dm_drain(d, now);
		dm_sd_watchdog(now);
	}
	return 0;
}

static void teardown(ss_daemon *d)
{
	ss_ctl_close(d->ctl);
	d->ctl = NULL;
	if (d->dp)
		ss_dp_close(d->dp);
	d->dp = NULL;
	dm_policysrc_stop(d);
	if (d->agent)
		dm_policy_stop(d);
	dm_ike_stop(d);
	ss_ikesock_close(&d->ike);
	if (d->sigfd >= 0)
		close(d->sigfd);
	ss_loop_free(d->loop);
}

int main(int argc, char **argv)
{
	/* Before OpenSSL allocates anything: it leaves copies of private keys in what it frees. */
	bool wiping = ss_openssl_wipe_on_free(NULL);
	ss_daemon *d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	if (!wiping)
		SS_WARN("softsad", "OpenSSL allocated before main(): its freed memory is not wiped");
	d->sigfd = -1;
	d->state_due = SS_NEVER;
	for (int i = 0; i < SS_IKESOCK_N; i++)
		d->ike.fd[i] = -1;
	dm_log_opt(false, "auto"); /* --log may change it */
	int rc = parse_opts(argc, argv, &d->o);
	if (rc == 0)
		rc = start(d);
	if (rc == 0)
		rc = run(d);
	dm_sd_stopping();
	teardown(d);
	if (rc == 0)
		SS_INFO(SUB, "stopped");
	free(d);
	return rc;
}
