/* IKEv2 load generator: opens IKE SAs (each with its first CHILD SA, PSK or certificate) against one
 * responder over real UDP, as fast as the responder answers, keeping a window of
 * negotiations in flight.  It speaks through softsa's own engine (src/ike/ike.h) as the
 * initiator, so the same load can be aimed at softsad and at strongSwan's charon.
 *
 *   ikeload TARGET COUNT GROUP WINDOW PSKFILE MODE SRC...
 *     TARGET   responder IPv4 address (UDP 500; NAT-T floats to 4500 when the peer asks)
 *     COUNT    IKE SAs to establish
 *     GROUP    ecp256 | modp2048 | x25519
 *     WINDOW   negotiations in flight at once
 *     PSKFILE  the pre-shared key's file, or cert:CA:CERT:KEY (PEM files) to authenticate
 *              with a certificate (RFC 7427) and verify the responder's against CA
 *     MODE     tunnel | transport (the CHILD SA's mode; kernel-libipsec needs tunnel)
 *     SRC...   local IPv4 addresses to spread the IKE SAs over (round robin); they must be
 *              configured in this namespace, whose UDP 500 and 4500 must be free
 *
 * Prints one JSON object: {"established":N,"failed":N,"seconds":S,"rate":N/S}.
 * The SAs are left open (the responder keeps their state: that is what is measured); they
 * die with the responder.  Exit status 0 when all were established, 1 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "ike/ike.h"

#define MAX_SRC 256

static ss_time now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ss_time)ts.tv_sec * 1000u + (ss_time)ts.tv_nsec / 1000000u;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int udp_socket(uint16_t port)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (s < 0 || setsockopt(s, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0 ||
	    bind(s, (struct sockaddr *)&sin, sizeof sin) < 0) {
		fprintf(stderr, "ikeload: UDP port %u: %s\n", port, strerror(errno));
		exit(2);
	}
	int buf = 4 << 20;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	return s;
}

/* One datagram from local (address chosen with IP_PKTINFO) to remote. */
static void send_from(int s, const ss_ike_action *a)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(a->remote.port) };
	memcpy(&to.sin_addr, a->remote.addr.a, 4);
	struct iovec iov = { (void *)a->data, a->len };
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} c;
	memset(&c, 0, sizeof c);
	struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
	struct in_pktinfo pi = { 0 };
	memcpy(&pi.ipi_spec_dst, a->local.addr.a, 4);
	memcpy(CMSG_DATA(cm), &pi, sizeof pi);
	if (sendmsg(s, &m, 0) < 0 && errno != EAGAIN)
		fprintf(stderr, "ikeload: send: %s\n", strerror(errno));
}

/* Reads every queued datagram of one socket into the engine. */
static void recv_all(int s, uint16_t port, ss_ike_engine *e)
{
	static uint8_t buf[65536];
	for (;;) {
		struct sockaddr_in from;
		struct iovec iov = { buf, sizeof buf };
		union {
			char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} c;
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
				    .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b };
		ssize_t n = recvmsg(s, &m, 0);
		if (n < 0)
			return;
		ss_ike_endpoint l = { .port = port }, r = { .port = ntohs(from.sin_port) };
		r.addr = ss_addr_v4(ntohl(from.sin_addr.s_addr));
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(cm), sizeof pi);
				l.addr = ss_addr_v4(ntohl(pi.ipi_addr.s_addr));
			}
		ss_ike_input(e, buf, (size_t)n, &l, &r, now_ms());
	}
}

static uint16_t parse_group(const char *g)
{
	if (!strcmp(g, "ecp256"))
		return SS_DH_ECP_256;
	if (!strcmp(g, "modp2048"))
		return SS_DH_MODP_2048;
	if (!strcmp(g, "x25519"))
		return SS_DH_CURVE25519;
	fprintf(stderr, "ikeload: unknown group %s\n", g);
	exit(2);
}

static ss_ike_config cfg;

static void load_psk(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "ikeload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	size_t n = fread(cfg.psk, 1, sizeof cfg.psk, f);
	fclose(f);
	while (n && (cfg.psk[n - 1] == '\n' || cfg.psk[n - 1] == '\r'))
		n--;
	cfg.psk_len = n;
}

/* cert:CA:CERT:KEY: certificate authentication instead of the PSK. */
static void load_cert(const char *spec)
{
	char buf[3 * 1024];
	snprintf(buf, sizeof(buf), "%s", spec + 5);
	char *ca = buf, *cert = strchr(ca, ':'), *key = cert ? strchr(cert + 1, ':') : NULL;
	if (!key) {
		fprintf(stderr, "ikeload: expected cert:CA:CERT:KEY\n");
		exit(2);
	}
	*cert++ = 0;
	*key++ = 0;
	static uint8_t pem[16384];
	FILE *f = fopen(key, "r");
	size_t n = f ? fread(pem, 1, sizeof(pem), f) : 0;
	if (f)
		fclose(f);
	char err[300];
	ss_cred_files cf = { .ca = ca, .cert = cert, .key_pem = pem, .key_len = n };
	cfg.cred = ss_ike_cred_load(&cf, err, sizeof(err));
	memset(pem, 0, sizeof(pem));
	if (!cfg.cred) {
		fprintf(stderr, "ikeload: %s\n", err);
		exit(2);
	}
	cfg.auth[0] = SS_IKE_AUTH_CERT;
	cfg.n_auth = 1;
}

int main(int argc, char **argv)
{
	if (argc < 8) {
		fprintf(stderr, "usage: ikeload TARGET COUNT GROUP WINDOW PSKFILE MODE SRC...\n");
		return 2;
	}
	ss_log_set_level(SS_LOG_ERR);
	struct in_addr tgt;
	if (inet_pton(AF_INET, argv[1], &tgt) != 1)
		return 2;
	unsigned long count = strtoul(argv[2], NULL, 10), window = strtoul(argv[4], NULL, 10);
	ss_ike_config_init(&cfg);
	cfg.ike[0] = (ss_ike_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
				     parse_group(argv[3]) };
	cfg.n_ike = 1;
	cfg.esp[0] = (ss_esp_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };
	cfg.n_esp = 1;
	cfg.mode = strcmp(argv[6], "tunnel") ? SS_MODE_TRANSPORT : SS_MODE_TUNNEL;
	if (strncmp(argv[5], "cert:", 5) == 0)
		load_cert(argv[5]);
	else
		load_psk(argv[5]);
	ss_addr src[MAX_SRC];
	int nsrc = 0;
	for (int i = 7; i < argc && nsrc < MAX_SRC; i++) {
		struct in_addr a;
		if (inet_pton(AF_INET, argv[i], &a) != 1)
			return 2;
		src[nsrc++] = ss_addr_v4(ntohl(a.s_addr));
	}
	ss_ike_engine_params p;
	ss_ike_engine_params_default(&p);
	p.max_sas = (uint32_t)count + 16;
	p.max_half_open = (uint32_t)window + 16;
	ss_ike_engine *e = ss_ike_engine_new(&p);
	int s500 = udp_socket(500), s4500 = udp_socket(4500);
	ss_ike_endpoint remote = { ss_addr_v4(ntohl(tgt.s_addr)), 500 };

	unsigned long started = 0, ok = 0, failed = 0;
	/* Stop when nothing has finished for 5 s (a negotiation the responder dropped). */
	double t0 = now_s(), progress = t0;
	unsigned long done_before = 0;
	while (ok + failed < count && now_s() - progress < 5) {
		if (ok + failed != done_before) {
			done_before = ok + failed;
			progress = now_s();
		}
		while (started - ok - failed < window && started < count) {
			ss_ike_endpoint local = { src[started % (unsigned long)nsrc], 500 };
			/* IDi = the source address: what an address-based policy expects. */
			cfg.local_id = ss_ike_id_addr(&local.addr);
			if (!ss_ike_initiate(e, &local, &remote, &cfg, now_ms()))
				failed++;
			started++;
		}
		ss_ike_action a;
		while (ss_ike_next_action(e, &a)) {
			if (a.kind == SS_IKE_ACT_SEND)
				send_from(a.local.port == 4500 ? s4500 : s500, &a);
			else if (a.kind == SS_IKE_ACT_OUTCOME && a.outcome == SS_IKE_SECURED)
				ok++;
			else if (a.kind == SS_IKE_ACT_OUTCOME) {
				failed++;
				if (failed <= 3)
					fprintf(stderr, "ikeload: negotiation failed: %s\n",
						a.reason ? a.reason : "?");
			}
		}
		if (ok + failed >= count)
			break;
		ss_time dl = ss_ike_next_deadline(e), now = now_ms();
		int wait = dl == SS_NEVER ? 100 : dl <= now ? 0 : (int)(dl - now > 100 ? 100 : dl - now);
		struct pollfd pf[2] = { { s500, POLLIN, 0 }, { s4500, POLLIN, 0 } };
		if (poll(pf, 2, wait) > 0) {
			recv_all(s500, 500, e);
			recv_all(s4500, 4500, e);
		}
		ss_ike_timer(e, now_ms());
	}
	double dt = (ok + failed >= count ? now_s() : progress) - t0;
	const ss_ike_stats *st = ss_ike_get_stats(e);
	fprintf(stderr, "ikeload: rx %llu tx %llu retransmits %llu dropped %llu failed %llu half-open %u\n",
		(unsigned long long)st->rx, (unsigned long long)st->tx,
		(unsigned long long)st->retransmits, (unsigned long long)st->dropped,
		(unsigned long long)st->sa_failed, st->half_open);
	printf("{\"established\":%lu,\"failed\":%lu,\"seconds\":%.3f,\"rate\":%.1f}\n", ok,
	       count - ok, dt, (double)ok / dt);
	ss_ike_engine_free(e);
	close(s500);
	close(s4500);
	return ok == count ? 0 : 1;
}
