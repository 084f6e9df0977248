/* A test driver: runs the sans-I/O IKE engine over real UDP sockets (500 and 4500 on one
 * local IPv4 address), as initiator or responder, and prints what it negotiated in
 * strongSwan's vocabulary so that a script can compare it with `swanctl --list-sas`:
 *
 *   IKE spi_i=<16 hex> spi_r=<16 hex> alg=AES_GCM_16-128/PRF_HMAC_SHA2_256/ECP_256 natt=yes
 *   CHILD spi_in=<8 hex> spi_out=<8 hex> esp=AES_GCM_16-128 mode=tunnel encap=yes
 *   OUTCOME secured
 *
 * usage: ike_peer (--initiate|--respond) --local IP --remote IP --id ID --remote-id ID
 *                 --psk SECRET --ike PROPOSAL --esp PROPOSAL [--tunnel] [--timeout S]
 * IDs are FQDNs, or IPv4/IPv6 addresses. Exit 0 once a CHILD SA is up (after --linger ms). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "ike/ike.h"
#include "ike/suite_name.h"

static ss_ike_config cfg;

static const ss_ike_config *lookup(void *ctx, const ss_ike_endpoint *l, const ss_ike_endpoint *r,
				   const ss_ike_id *idi)
{
	return &cfg;
}

static ss_ike_id parse_id(const char *s)
{
	ss_addr a;
	if (ss_addr_parse(s, &a))
		return ss_ike_id_addr(&a);
	return ss_ike_id_fqdn(s);
}

static int udp_socket(const ss_addr *a, uint16_t port)
{
	struct sockaddr_storage ss;
	size_t sl = ss_addr_to_sockaddr(a, port, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
		perror("udp socket");
		exit(2);
	}
	return fd;
}

static void print_child(const ss_ike_engine *e, const ss_ike_action *a)
{
	ss_ike_sa_info info;
	char alg[96];
	if (ss_ike_sa_get(e, a->sa, &info)) {
		ss_ike_suite_swan(&info.suite, alg, sizeof(alg));
		printf("IKE spi_i=%016" PRIx64 " spi_r=%016" PRIx64 " alg=%s natt=%s\n", info.spi_i,
		       info.spi_r, alg, info.natt ? "yes" : "no");
	}
	ss_esp_suite_swan(&a->child.suite, alg, sizeof(alg));
	printf("CHILD spi_in=%08x spi_out=%08x esp=%s mode=%s encap=%s\n", a->child.spi_in,
	       a->child.spi_out, alg, a->child.mode == SS_MODE_TUNNEL ? "tunnel" : "transport",
	       a->child.udp_encap ? "yes" : "no");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "initiate", no_argument, NULL, 'I' }, { "respond", no_argument, NULL, 'R' },
		{ "local", required_argument, NULL, 'l' }, { "remote", required_argument, NULL, 'r' },
		{ "id", required_argument, NULL, 'i' }, { "remote-id", required_argument, NULL, 'j' },
		{ "psk", required_argument, NULL, 'p' }, { "ike", required_argument, NULL, 'k' },
		{ "esp", required_argument, NULL, 'e' }, { "tunnel", no_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' }, { "linger", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' }, { 0 },
	};
	bool initiate = false;
	ss_addr local = { 0 }, remote = { 0 };
	int timeout_s = 20, linger_ms = 500, c;
	const char *why = NULL;
	ss_ike_config_init(&cfg);
	ss_log_set_level(SS_LOG_INFO);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'I': initiate = true; break;
		case 'R': initiate = false; break;
		case 'l': if (!ss_addr_parse(optarg, &local)) why = "bad --local"; break;
		case 'r': if (!ss_addr_parse(optarg, &remote)) why = "bad --remote"; break;
		case 'i': cfg.local_id = parse_id(optarg); break;
		case 'j': cfg.remote_id = parse_id(optarg); break;
		case 'p':
			cfg.psk_len = strlen(optarg) < sizeof(cfg.psk) ? strlen(optarg) : sizeof(cfg.psk);
			memcpy(cfg.psk, optarg, cfg.psk_len);
			break;
		case 'k':
			if (cfg.n_ike < SS_IKE_MAX_SUITES && !(why = ss_ike_suite_parse(optarg, &cfg.ike[cfg.n_ike])))
				cfg.n_ike++;
			break;
		case 'e':
			if (cfg.n_esp < SS_IKE_MAX_SUITES && !(why = ss_esp_suite_parse(optarg, &cfg.esp[cfg.n_esp])))
				cfg.n_esp++;
			break;
		case 't': cfg.mode = SS_MODE_TUNNEL; break;
		case 'T': timeout_s = atoi(optarg); break;
		case 'L': linger_ms = atoi(optarg); break;
		case 'v': ss_log_set_level(SS_LOG_DEBUG); break;
		default: why = "unknown option"; break;
		}
		if (why) {
			fprintf(stderr, "ike_peer: %s (%s)\n", why, optarg ? optarg : "");
			return 2;
		}
	}
	if (!local.family || !remote.family || !cfg.n_ike || !cfg.n_esp || !cfg.psk_len) {
		fprintf(stderr, "ike_peer: need --local, --remote, --psk, --ike, --esp\n");
		return 2;
	}
	int fd[2] = { udp_socket(&local, SS_IKE_PORT), udp_socket(&local, SS_IKE_NATT_PORT) };
	ss_ike_engine_params p;
	ss_ike_engine_params_default(&p);
	p.lookup = lookup;
	ss_ike_engine *e = ss_ike_engine_new(&p);
	ss_time now = ss_now_ms(), end = now + SS_SEC(timeout_s), done_at = SS_NEVER;
	if (initiate) {
		ss_ike_endpoint l = { local, SS_IKE_PORT }, r = { remote, SS_IKE_PORT };
		if (!ss_ike_initiate(e, &l, &r, &cfg, now))
			return 2;
	}
	int rc = 1;
	for (;;) {
		ss_ike_action a;
		while (ss_ike_next_action(e, &a)) {
			if (a.kind == SS_IKE_ACT_SEND) {
				struct sockaddr_storage ss;
				size_t sl = ss_addr_to_sockaddr(&a.remote.addr, a.remote.port, &ss);
				int s = a.local.port == SS_IKE_NATT_PORT ? fd[1] : fd[0];
				if (sendto(s, a.data, a.len, 0, (struct sockaddr *)&ss, (socklen_t)sl) < 0)
					perror("sendto");
			} else if (a.kind == SS_IKE_ACT_CHILD_UP) {
				print_child(e, &a);
				rc = 0;
				done_at = now + (ss_time)linger_ms;
			} else if (a.kind == SS_IKE_ACT_OUTCOME) {
				printf("OUTCOME %s notify=%u (%s)\n", ss_ike_outcome_name(a.outcome), a.notify,
				       a.reason);
				fflush(stdout);
				if (a.outcome != SS_IKE_SECURED && initiate)
					done_at = now;
			}
		}
		now = ss_now_ms();
		ss_time wake = ss_time_min(ss_time_min(ss_ike_next_deadline(e), end), done_at);
		if (now >= end || now >= done_at)
			break;
		struct pollfd pf[2] = { { fd[0], POLLIN, 0 }, { fd[1], POLLIN, 0 } };
		int n = poll(pf, 2, wake > now ? (int)(wake - now) : 0);
		now = ss_now_ms();
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2 && n > 0; i++) {
			if (!(pf[i].revents & POLLIN))
				continue;
			uint8_t buf[65536];
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t len = recvfrom(fd[i], buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			ss_ike_endpoint l = { local, i ? SS_IKE_NATT_PORT : SS_IKE_PORT }, r;
			if (len < 0 || !ss_addr_from_sockaddr((struct sockaddr *)&from, &r.addr, &r.port))
				continue;
			ss_ike_input(e, buf, (size_t)len, &l, &r, now);
		}
		ss_ike_timer(e, now);
	}
	const ss_ike_stats *st = ss_ike_get_stats(e);
	fprintf(stderr, "ike_peer: rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64 " auth-dropped %" PRIu64 "\n",
		st->rx, st->tx, st->dropped, st->dropped_auth);
	ss_ike_engine_free(e);
	close(fd[0]);
	close(fd[1]);
	return rc;
}
