/* dp_relay: how fast the userspace dataplane's clear-release path moves packets.
 *
 *   dp_relay relay SECS DST_PREFIX [SPIN [vnet]]
 *                                      in A: open the dataplane with a negotiate filter for
 *                                      DST_PREFIX, then TUN read (batched) -> raw sendmmsg;
 *                                      SPIN empty reads before sleeping in poll (default 0);
 *                                      vnet: IFF_VNET_HDR, TCP split in userspace
 *   dp_relay gen DST PORT SECS SIZE    in A: blast UDP datagrams of SIZE bytes at DST:PORT
 *   dp_relay sink PORT SECS            in B: count what arrives
 *
 * Each prints one line of key=value figures; bench/dp_relay.sh runs them in namespaces and
 * prints the table.  Batch sizes: how many packets each TUN wake-up yielded. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/addr.h"
#include "dataplane/user/port.h"
#include "dataplane/user/user.h"

enum { BATCH = 64, PKTSZ = 2048 };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int relay(double secs, const char *prefix, int spin, bool vnet)
{
	ss_dp_user_config cfg;
	ss_dp_user_config_default(&cfg);
	cfg.tun_mtu = 1500;
	cfg.vnet_hdr = vnet;
	ss_dp_filter f = { 0 };
	const char *why;
	if (!ss_prefix_parse(prefix, &f.remote, true, &why))
		return 2;
	f.local = (ss_prefix){ .addr = { .family = f.remote.addr.family }, .len = 0 };
	f.accept_inbound_clear = true; /* the peer's answers (TCP ACKs) come back in the clear */
	ss_dpu *dp;
	char err[512];
	if (ss_dp_user_open(&cfg, &dp, err, sizeof err) < 0 || ss_dpu_set_filters(dp, &f, 1) < 0) {
		fprintf(stderr, "dp_relay: %s\n", err);
		return 1;
	}
	static uint8_t mem[BATCH][PKTSZ];
	ss_dpu_pkt p[BATCH];
	uint64_t hist[8] = { 0 }, bytes = 0;
	ss_dp_fd fds[8];
	size_t nfd = ss_dpu_poll_fds(dp, fds, 8);
	int tunfd = -1;
	for (size_t i = 0; i < nfd; i++)
		if (fds[i].role == SS_DP_FD_OUTBOUND)
			tunfd = fds[i].fd;
	printf("ready\n");
	fflush(stdout);
	double t0 = 0, end = now_s() + secs + 30; /* the clock starts at the first packet */
	int idle = 0;
	while (now_s() < end) {
		/* Sleeping costs a cross-vCPU wake-up (50-100 us here): after work, look again
		 * up to spin times before blocking in poll. */
		if (idle >= spin) {
			struct pollfd pf = { .fd = tunfd, .events = POLLIN };
			if (poll(&pf, 1, 200) <= 0)
				continue;
		}
		for (int i = 0; i < BATCH; i++)
			p[i] = (ss_dpu_pkt){ .buf = mem[i], .cap = PKTSZ };
		int n = ss_dpu_read_outbound(dp, p, BATCH);
		if (n <= 0) {
			idle++;
			continue;
		}
		idle = 0;
		if (t0 == 0) {
			t0 = now_s();
			end = t0 + secs;
		}
		for (int i = 0; i < n; i++)
			bytes += p[i].len;
		int b = 0;
		while ((1 << (b + 1)) <= n && b < 7)
			b++;
		hist[b]++;
		ss_dpu_release_clear(dp, p, (size_t)n);
	}
	double dt = now_s() - t0;
	ss_dpu_stats st;
	ss_dpu_get_stats(dp, &st);
	printf("relay spin=%d vnet=%d pkts=%llu gso_in=%llu kpps=%.1f gbps=%.2f wakeups=%llu "
	       "mean_batch=%.2f release_err=%llu batches[1,2-3,4-7,8-15,16-31,32-63,64]=%llu,%llu,%llu,%llu,%llu,%llu,%llu\n",
	       spin, vnet, (unsigned long long)st.out_pkts, (unsigned long long)st.out_gso,
	       (double)st.out_pkts / dt / 1e3,
	       (double)bytes * 8 / dt / 1e9, (unsigned long long)st.out_reads,
	       st.out_reads ? (double)st.out_pkts / (double)st.out_reads : 0.0,
	       (unsigned long long)st.release_err, (unsigned long long)hist[0],
	       (unsigned long long)hist[1], (unsigned long long)hist[2], (unsigned long long)hist[3],
	       (unsigned long long)hist[4], (unsigned long long)hist[5], (unsigned long long)hist[6]);
	ss_dpu_close(dp);
	return 0;
}

static int gen(const char *dst, int port, double secs, size_t size)
{
	ss_addr a;
	struct sockaddr_storage ss;
	if (!ss_addr_parse(dst, &a) || size > PKTSZ)
		return 2;
	socklen_t sl = (socklen_t)ss_addr_to_sockaddr(&a, (uint16_t)port, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0)
		return 1;
	static uint8_t buf[BATCH][PKTSZ];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	for (int i = 0; i < BATCH; i++) {
		memset(buf[i], 'x', size);
		iov[i] = (struct iovec){ .iov_base = buf[i], .iov_len = size };
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	uint64_t sent = 0;
	double t0 = now_s(), end = t0 + secs;
	while (now_s() < end) {
		int r = sendmmsg(fd, mm, 16, 0);
		if (r > 0)
			sent += (uint64_t)r;
		else if (errno == ENOBUFS || errno == EAGAIN)
			sched_yield();
	}
	printf("gen pkts=%llu kpps=%.1f\n", (unsigned long long)sent, (double)sent / secs / 1e3);
	return 0;
}

static int sink(int port, double secs)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), zero = 0, sz = 8 << 20;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
		return 1;
	static uint8_t buf[BATCH][PKTSZ];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ .iov_base = buf[i], .iov_len = PKTSZ };
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	printf("listening\n");
	fflush(stdout);
	uint64_t pkts = 0, bytes = 0;
	double t0 = 0, end = now_s() + secs + 30;
	while (now_s() < end) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, 200) <= 0)
			continue;
		int r = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0)
			continue;
		if (t0 == 0) {
			t0 = now_s();
			end = t0 + secs;
		}
		pkts += (uint64_t)r;
		for (int i = 0; i < r; i++)
			bytes += mm[i].msg_len;
	}
	double dt = t0 ? now_s() - t0 : 1;
	printf("sink pkts=%llu kpps=%.1f goodput_gbps=%.2f\n", (unsigned long long)pkts,
	       (double)pkts / dt / 1e3, (double)bytes * 8 / dt / 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && argc <= 6 && !strcmp(argv[1], "relay"))
		return relay(atof(argv[2]), argv[3], argc >= 5 ? atoi(argv[4]) : 0,
			     argc == 6 && !strcmp(argv[5], "vnet"));
	if (argc == 6 && !strcmp(argv[1], "gen"))
		return gen(argv[2], atoi(argv[3]), atof(argv[4]), (size_t)atoi(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "sink"))
		return sink(atoi(argv[2]), atof(argv[3]));
	fprintf(stderr, "usage: see the top of dp_relay.c\n");
	return 2;
}
