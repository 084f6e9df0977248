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
 * IDs are FQDNs, or IPv4/IPv6 addresses. Exit 0 once a CHILD SA is up (after --linger ms).
 * With --rekey, once the first CHILD SA is up we rekey it, then the IKE SA, printing the new
 * CHILD and IKE lines; the last lines printed describe the SAs in force. */
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
#include <sys/uio.h>
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
	/* IP_RECVERR: ICMP errors for what we sent come back on the error queue, with the
	 * original UDP payload, which is what ss_ike_icmp() checks for our SPIi. */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss.ss_family == AF_INET && setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
		perror("udp socket");
		exit(2);
	}
	return fd;
}

static void print_ike(const ss_ike_engine *e, uint32_t sa)
{
	ss_ike_sa_info info;
	char alg[96];
	if (ss_ike_sa_get(e, sa, &info)) {
		ss_ike_suite_swan(&info.suite, alg, sizeof(alg));
		printf("IKE spi_i=%016" PRIx64 " spi_r=%016" PRIx64 " alg=%s natt=%s\n", info.spi_i,
		       info.spi_r, alg, info.natt ? "yes" : "no");
	}
}

static void print_child(const ss_ike_engine *e, const ss_ike_action *a)
{
	char alg[96];
	print_ike(e, a->sa);
	ss_esp_suite_swan(&a->child.suite, alg, sizeof(alg));
	printf("CHILD spi_in=%08x spi_out=%08x esp=%s mode=%s encap=%s\n", a->child.spi_in,
	       a->child.spi_out, alg, a->child.mode == SS_MODE_TUNNEL ? "tunnel" : "transport",
	       a->child.udp_encap ? "yes" : "no");
	fflush(stdout);
}

/* Everything the driver keeps between events. */
struct peer {
	ss_ike_engine *e;
	int fd[2];              /* UDP 500, UDP 4500 */
	ss_addr local, remote;
	bool initiate, rekey;
	int stage;              /* --rekey: 0 first CHILD, 1 CHILD rekey out, 2 IKE rekey next, 3 done */
	int timeout_s, linger_ms;
	ss_time end, done_at;
	int rc;
};

/* 0 when the options are usable. */
static int parse_args(int argc, char **argv, struct peer *P)
{
	static const struct option opts[] = {
		{ "initiate", no_argument, NULL, 'I' }, { "respond", no_argument, NULL, 'R' },
		{ "local", required_argument, NULL, 'l' }, { "remote", required_argument, NULL, 'r' },
		{ "id", required_argument, NULL, 'i' }, { "remote-id", required_argument, NULL, 'j' },
		{ "psk", required_argument, NULL, 'p' }, { "ike", required_argument, NULL, 'k' },
		{ "esp", required_argument, NULL, 'e' }, { "tunnel", no_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' }, { "linger", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' }, { "rekey", no_argument, NULL, 'K' }, { 0 },
	};
	const char *why = NULL;
	int c;
	while (!why && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'I': P->initiate = true; break;
		case 'R': P->initiate = false; break;
		case 'l': if (!ss_addr_parse(optarg, &P->local)) why = "bad --local"; break;
		case 'r': if (!ss_addr_parse(optarg, &P->remote)) why = "bad --remote"; break;
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
		case 'T': P->timeout_s = atoi(optarg); break;
		case 'L': P->linger_ms = atoi(optarg); break;
		case 'v': ss_log_set_level(SS_LOG_DEBUG); break;
		case 'K': P->rekey = true; break;
		default: why = "unknown option"; break;
		}
	}
	if (!why && (!P->local.family || !P->remote.family || !cfg.n_ike || !cfg.n_esp || !cfg.psk_len))
		why = "need --local, --remote, --psk, --ike, --esp";
	if (why)
		fprintf(stderr, "ike_peer: %s\n", why);
	return why ? 2 : 0;
}

static void on_action(struct peer *P, const ss_ike_action *a, ss_time now)
{
	uint32_t sa = a->sa;
	switch (a->kind) {
	case SS_IKE_ACT_SEND: {
		struct sockaddr_storage ss;
		size_t sl = ss_addr_to_sockaddr(&a->remote.addr, a->remote.port, &ss);
		int s = a->local.port == SS_IKE_NATT_PORT ? P->fd[1] : P->fd[0];
		if (sendto(s, a->data, a->len, 0, (struct sockaddr *)&ss, (socklen_t)sl) < 0)
			perror("sendto");
		break;
	}
	case SS_IKE_ACT_CHILD_UP: {
		print_child(P->e, a);
		P->rc = 0;
		P->done_at = now + (ss_time)P->linger_ms;
		bool rekeyed = a->child.rekey_of != 0;
		if (P->rekey && P->stage == 0 && ss_ike_rekey_child(P->e, sa, a->child.spi_in, now)) {
			P->stage = 1;
			P->done_at = P->end;
		} else if (P->rekey && P->stage == 1 && rekeyed) {
			P->stage = 2;  /* the IKE SA once the old CHILD SA is deleted */
			P->done_at = P->end;
		}
		break;
	}
	case SS_IKE_ACT_IKE_REKEYED:
		print_ike(P->e, sa);
		if (P->stage == 2) {
			P->stage = 3;
			P->done_at = now + (ss_time)P->linger_ms;
		}
		break;
	case SS_IKE_ACT_CHILD_DELETED:
		printf("CHILD-DELETED spi_in=%08x\n", a->child.spi_in);
		if (P->stage == 2 && !ss_ike_rekey_ike(P->e, sa, now))
			P->done_at = now;
		break;
	case SS_IKE_ACT_OUTCOME:
		printf("OUTCOME %s notify=%u (%s)\n", ss_ike_outcome_name(a->outcome), a->notify,
		       a->reason);
		if (a->outcome != SS_IKE_SECURED && P->initiate)
			P->done_at = now;
		break;
	case SS_IKE_ACT_IKE_DELETED:
	case SS_IKE_ACT_ATTEMPT:
	case SS_IKE_ACT_ANSWERED:
	case SS_IKE_ACT_TIMEOUT:
		break;
	}
	fflush(stdout);
}

/* Drains ICMP errors from a socket's error queue into the engine. */
static void receive_errors(struct peer *P, int fd, ss_time now)
{
	for (;;) {
		static uint8_t buf[2048];
		struct iovec iov = { buf, sizeof(buf) };
		uint8_t ctl[512];
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		ssize_t n = recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (n < 0)
			return;
		printf("ICMP error (%zd quoted bytes)\n", n);
		ss_ike_icmp(P->e, buf, (size_t)n, now);
	}
}

static void receive(struct peer *P, const struct pollfd pf[2], ss_time now)
{
	for (int i = 0; i < 2; i++) {
		if (pf[i].revents & POLLERR)
			receive_errors(P, P->fd[i], now);
		if (!(pf[i].revents & POLLIN))
			continue;
		static uint8_t buf[65536];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(P->fd[i], buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		ss_ike_endpoint l = { P->local, i ? SS_IKE_NATT_PORT : SS_IKE_PORT }, r;
		if (len < 0 || !ss_addr_from_sockaddr((struct sockaddr *)&from, &r.addr, &r.port))
			continue;
		ss_ike_input(P->e, buf, (size_t)len, &l, &r, now);
	}
}

int main(int argc, char **argv)
{
	struct peer P = { .timeout_s = 20, .linger_ms = 500, .rc = 1 };
	ss_ike_config_init(&cfg);
	ss_log_set_level(SS_LOG_INFO);
	if (parse_args(argc, argv, &P))
		return 2;
	P.fd[0] = udp_socket(&P.local, SS_IKE_PORT);
	P.fd[1] = udp_socket(&P.local, SS_IKE_NATT_PORT);
	ss_ike_engine_params p;
	ss_ike_engine_params_default(&p);
	p.lookup = lookup;
	P.e = ss_ike_engine_new(&p);
	ss_time now = ss_now_ms();
	P.end = now + SS_SEC(P.timeout_s);
	P.done_at = SS_NEVER;
	if (P.initiate) {
		ss_ike_endpoint l = { P.local, SS_IKE_PORT }, r = { P.remote, SS_IKE_PORT };
		if (!P.e || !ss_ike_initiate(P.e, &l, &r, &cfg, now))
			return 2;
	}
	for (;;) {
		ss_ike_action a;
		while (ss_ike_next_action(P.e, &a))
			on_action(&P, &a, now);
		now = ss_now_ms();
		ss_time wake = ss_time_min(ss_time_min(ss_ike_next_deadline(P.e), P.end), P.done_at);
		if (now >= P.end || now >= P.done_at)
			break;
		struct pollfd pf[2] = { { P.fd[0], POLLIN, 0 }, { P.fd[1], POLLIN, 0 } };
		int n = poll(pf, 2, wake > now ? (int)(wake - now) : 0);
		now = ss_now_ms();
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0)
			receive(&P, pf, now);
		ss_ike_timer(P.e, now);
	}
	const ss_ike_stats *st = ss_ike_get_stats(P.e);
	fprintf(stderr, "ike_peer: rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64 " auth-dropped %" PRIu64 "\n",
		st->rx, st->tx, st->dropped, st->dropped_auth);
	ss_ike_engine_free(P.e);
	close(P.fd[0]);
	close(P.fd[1]);
	return P.rc;
}
