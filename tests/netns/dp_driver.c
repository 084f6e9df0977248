/* dp_driver: the netns tests' hand on the userspace dataplane.  Opens it with the negotiate
 * filters given on the command line, prints "ready", then obeys one command per line on
 * stdin and answers one line each on stdout (see usage()).  Captured packets are held
 * until "release" or "drop-held", as the daemon would while negotiating. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/clock.h"
#include "base/log.h"
#include "dataplane/user/port.h"
#include "dataplane/pkt.h"
#include "dataplane/user/user.h"
#include "pktbuild.h"

enum { MAXHOLD = 256, PKTSZ = 2048 };

static ss_dpu *dp;
static uint8_t hold_mem[MAXHOLD][PKTSZ];
static ss_dpu_pkt held[MAXHOLD];
static size_t nheld;

static void usage(void)
{
	fprintf(stderr,
		"usage: dp_driver [--tun NAME] [--udp-port P] [--no-ipv6] [--vnet] [--flush-only]\n"
		"                 [--tunnel PEER MAX_MS IDLE_MS]   (null-ESP tunnel, no commands)\n"
		"                 --filter LOCAL REMOTE [PROTO LPORT RPORT] accept|drop|permit|block ...\n"
		"commands: expect-capture MS [BUFSIZE] | expect-no-capture MS [BUFSIZE] | release | drop-held\n"
		"          peer none|secured|soft|blocked ADDR [TIMEOUT_MS] | expect-notice MS\n"
		"          count-notices MS | pass MS [IDLE_MS]\n"
		"          send-esp ADDR SPI [UDPPORT] | recv-esp MS |\n"
		"          send-esp-burst ADDR SPI PORT COUNT LEN LASTLEN | deliver-udp SRC DST SPORT DPORT TEXT\n"
		"          list-soft | stats | quit\n");
	exit(2);
}

static void tuple_str(const ss_pkt_tuple *t, char *out, size_t n)
{
	char s[SS_ADDR_STRLEN], d[SS_ADDR_STRLEN];
	snprintf(out, n, "proto=%u src=%s sport=%u dst=%s dport=%u", t->proto,
		 ss_addr_fmt(&t->src, s), t->sport, ss_addr_fmt(&t->dst, d), t->dport);
}

/* Waits up to ms for something on a descriptor of the given role. */
static bool wait_role(enum ss_dp_fd_role role, int ms)
{
	ss_dp_fd fds[8];
	struct pollfd p[8];
	size_t n = ss_dpu_poll_fds(dp, fds, 8), k = 0;
	for (size_t i = 0; i < n; i++)
		if (fds[i].role == role)
			p[k++] = (struct pollfd){ .fd = fds[i].fd, .events = POLLIN };
	int r = poll(p, k, ms);
	return r > 0;
}

/* Reads captured packets into the hold queue until one arrives or ms pass, offering
 * buffers of cap bytes. */
static int capture(int ms, size_t cap)
{
	ss_time end = ss_now_ms() + (ss_time)ms;
	for (;;) {
		size_t room = MAXHOLD - nheld;
		for (size_t i = 0; i < room; i++)
			held[nheld + i] = (ss_dpu_pkt){ .buf = hold_mem[nheld + i], .cap = cap };
		int r = room ? ss_dpu_read_outbound(dp, held + nheld, room) : 0;
		if (r > 0) {
			nheld += (size_t)r;
			return r;
		}
		ss_time now = ss_now_ms();
		if (now >= end)
			return 0;
		wait_role(SS_DP_FD_OUTBOUND, (int)(end - now));
	}
}

static void cmd_capture(int ms, bool expect, size_t cap)
{
	size_t before = nheld;
	int r = capture(ms, cap);
	if (r <= 0) {
		printf("none\n");
		return;
	}
	ss_pkt_tuple t;
	char buf[200];
	if (ss_pkt_tuple_parse(held[before].data, held[before].len, &t))
		tuple_str(&t, buf, sizeof buf);
	else
		snprintf(buf, sizeof buf, "unparsable");
	printf("captured %s len=%zu%s\n", buf, held[before].len, expect ? "" : " (unexpected)");
}

static void cmd_peer(char *st, char *addr, char *tmo)
{
	static const char *names[] = { "none", "secured", "soft", "blocked" };
	ss_addr a;
	int s = -1;
	for (int i = 0; i < 4; i++)
		if (st && strcmp(st, names[i]) == 0)
			s = i;
	if (s < 0 || !addr || !ss_addr_parse(addr, &a)) {
		printf("err bad arguments\n");
		return;
	}
	ss_time t = tmo ? (ss_time)strtoull(tmo, NULL, 10) : SS_NEVER;
	int r = ss_dpu_set_peer(dp, &a, (enum ss_dp_peer_state)s, t);
	printf(r == 0 ? "ok\n" : "err %d\n", r);
}

static void cmd_notice(int ms)
{
	ss_dp_notice n;
	ss_time end = ss_now_ms() + (ss_time)ms;
	for (;;) {
		if (ss_dpu_read_notices(dp, &n, 1) == 1) {
			char s[SS_ADDR_STRLEN], d[SS_ADDR_STRLEN];
			printf("notice proto=%u src=%s sport=%u dst=%s dport=%u %s\n", n.proto,
			       ss_addr_fmt(&n.src, s), n.sport, ss_addr_fmt(&n.dst, d), n.dport,
			       n.accepted ? "accepted" : "dropped");
			return;
		}
		ss_time now = ss_now_ms();
		if (now >= end) {
			printf("none\n");
			return;
		}
		wait_role(SS_DP_FD_NOTICE, (int)(end - now));
	}
}

/* For ms at most, releases everything captured at once (what the daemon does for a flow it
 * lets through) and discards notices: a whole TCP transfer then runs through the capture.
 * Ends early once traffic has flowed and then stopped for idle_ms. */
static void cmd_pass(int ms, int idle_ms)
{
	ss_time last = 0;
	ss_dp_notice n[64];
	uint64_t pkts = 0, reads = 0;
	ss_time end = ss_now_ms() + (ss_time)ms;
	for (;;) {
		for (size_t i = 0; i < MAXHOLD; i++)
			held[i] = (ss_dpu_pkt){ .buf = hold_mem[i], .cap = PKTSZ };
		int r = ss_dpu_read_outbound(dp, held, 64);
		ss_time now = ss_now_ms();
		if (r > 0) {
			ss_dpu_release_clear(dp, held, (size_t)r);
			pkts += (uint64_t)r;
			reads++;
			last = now;
		}
		while (ss_dpu_read_notices(dp, n, 64) > 0)
			;
		if (now >= end || (last && now - last >= (ss_time)idle_ms))
			break;
		if (r <= 0) {
			ss_dp_fd fds[8];
			struct pollfd p[8];
			size_t k = ss_dpu_poll_fds(dp, fds, 8), m = 0;
			for (size_t i = 0; i < k; i++)
				if (fds[i].role != SS_DP_FD_ESP)
					p[m++] = (struct pollfd){ .fd = fds[i].fd, .events = POLLIN };
			poll(p, m, 100);
		}
	}
	nheld = 0;
	printf("passed %llu in %llu reads\n", (unsigned long long)pkts, (unsigned long long)reads);
}

/* Counts every notice that arrives within ms. */
static void cmd_count_notices(int ms)
{
	ss_dp_notice n[64];
	size_t total = 0;
	ss_time end = ss_now_ms() + (ss_time)ms;
	for (;;) {
		int r = ss_dpu_read_notices(dp, n, 64);
		if (r > 0)
			total += (size_t)r;
		ss_time now = ss_now_ms();
		if (now >= end)
			break;
		wait_role(SS_DP_FD_NOTICE, (int)(end - now));
	}
	printf("notices %zu\n", total);
}

static void cmd_send_esp(char *addr, char *spi, char *port)
{
	uint8_t b[64];
	ss_dpu_pkt p = { .buf = b, .cap = sizeof b, .data = b, .len = sizeof b };
	if (!addr || !spi || !ss_addr_parse(addr, &p.remote)) {
		printf("err bad arguments\n");
		return;
	}
	uint32_t s = (uint32_t)strtoul(spi, NULL, 0);
	memset(b, 0xab, sizeof b);
	b[0] = (uint8_t)(s >> 24), b[1] = (uint8_t)(s >> 16), b[2] = (uint8_t)(s >> 8), b[3] = (uint8_t)s;
	b[4] = b[5] = b[6] = 0, b[7] = 1; /* sequence number 1 */
	p.port = port ? (uint16_t)atoi(port) : 0;
	ss_dpu_stats st0, st1;
	ss_dpu_get_stats(dp, &st0);
	ss_dpu_send_esp(dp, &p, 1);
	ss_dpu_get_stats(dp, &st1);
	printf(st1.esp_tx > st0.esp_tx ? "sent\n" : "err not sent\n");
}

/* COUNT ESP packets of LEN bytes (the last LASTLEN) in one send call: over UDP they should
 * leave as GSO sends. */
static void cmd_send_esp_burst(char **a)
{
	static uint8_t mem[64][PKTSZ];
	ss_dpu_pkt p[64];
	ss_addr dst;
	if (!a[0] || !a[1] || !a[2] || !a[3] || !a[4] || !a[5] || !ss_addr_parse(a[0], &dst)) {
		printf("err bad arguments\n");
		return;
	}
	uint32_t spi = (uint32_t)strtoul(a[1], NULL, 0);
	size_t count = (size_t)atoi(a[3]), len = (size_t)atoi(a[4]), last = (size_t)atoi(a[5]);
	if (count == 0 || count > 64 || len < 8 || len > PKTSZ || last < 8 || last > len) {
		printf("err bad sizes\n");
		return;
	}
	for (size_t i = 0; i < count; i++) {
		uint32_t seq = (uint32_t)i + 1;
		memset(mem[i], 0xab, PKTSZ);
		mem[i][0] = (uint8_t)(spi >> 24), mem[i][1] = (uint8_t)(spi >> 16);
		mem[i][2] = (uint8_t)(spi >> 8), mem[i][3] = (uint8_t)spi;
		mem[i][4] = (uint8_t)(seq >> 24), mem[i][5] = (uint8_t)(seq >> 16);
		mem[i][6] = (uint8_t)(seq >> 8), mem[i][7] = (uint8_t)seq;
		p[i] = (ss_dpu_pkt){ .buf = mem[i], .cap = PKTSZ, .data = mem[i],
				    .len = i + 1 == count ? last : len, .remote = dst,
				    .port = (uint16_t)atoi(a[2]) };
	}
	ss_dpu_stats st0, st1;
	ss_dpu_get_stats(dp, &st0);
	ss_dpu_send_esp(dp, p, count);
	ss_dpu_get_stats(dp, &st1);
	printf("sent %llu gso=%llu err=%llu\n", (unsigned long long)(st1.esp_tx - st0.esp_tx),
	       (unsigned long long)(st1.esp_tx_gso - st0.esp_tx_gso),
	       (unsigned long long)(st1.esp_tx_err - st0.esp_tx_err));
}

static void cmd_deliver(char **a)
{
	uint8_t b[PKTSZ];
	ss_addr src, dst;
	if (!a[0] || !a[1] || !a[2] || !a[3] || !a[4] || !ss_addr_parse(a[0], &src) ||
	    !ss_addr_parse(a[1], &dst) || src.family != dst.family) {
		printf("err bad arguments\n");
		return;
	}
	size_t len = pb_udp(b, sizeof b, &src, &dst, (uint16_t)atoi(a[2]), (uint16_t)atoi(a[3]),
			    a[4], strlen(a[4]));
	ss_dpu_pkt p = { .buf = b, .cap = sizeof b, .data = b, .len = len };
	ss_dpu_stats st;
	int r = ss_dpu_deliver(dp, &p, 1);
	ss_dpu_get_stats(dp, &st);
	printf(r == 1 && st.deliver_err == 0 ? "delivered\n" : "err not delivered\n");
}

static void cmd_recv_esp(int ms)
{
	uint8_t b[PKTSZ];
	ss_dpu_pkt p = { .buf = b, .cap = sizeof b };
	ss_time end = ss_now_ms() + (ss_time)ms;
	for (;;) {
		if (ss_dpu_recv_esp(dp, &p, 1) == 1 && p.len >= 4) {
			char a[SS_ADDR_STRLEN], l[SS_ADDR_STRLEN];
			printf("esp from %s to %s port=%u kind=%s spi=0x%02x%02x%02x%02x len=%zu\n",
			       ss_addr_fmt(&p.remote, a), p.local.family ? ss_addr_fmt(&p.local, l) : "?",
			       p.port, p.kind == SS_DPU_RX_IKE ? "ike" : "esp", p.data[0], p.data[1],
			       p.data[2], p.data[3], p.len);
			return;
		}
		ss_time now = ss_now_ms();
		if (now >= end) {
			printf("none\n");
			return;
		}
		wait_role(SS_DP_FD_ESP, (int)(end - now));
	}
}

static void cmd_list_soft(void)
{
	ss_dp_soft_info s[16];
	int n = ss_dpu_list_soft(dp, s, 16);
	printf("soft %d", n);
	for (int i = 0; i < n; i++) {
		char a[SS_ADDR_STRLEN];
		printf(" %s:packets=%llu", ss_addr_fmt(&s[i].peer, a), (unsigned long long)s[i].packets);
	}
	printf("\n");
}

static void cmd_stats(void)
{
	ss_dpu_stats s;
	ss_dpu_get_stats(dp, &s);
	printf("stats out_pkts=%llu out_reads=%llu out_gso=%llu released=%llu release_err=%llu esp_tx=%llu "
	       "delivered=%llu deliver_gso=%llu notices=%llu malformed=%llu\n",
	       (unsigned long long)s.out_pkts, (unsigned long long)s.out_reads,
	       (unsigned long long)s.out_gso, (unsigned long long)s.released, (unsigned long long)s.release_err,
	       (unsigned long long)s.esp_tx, (unsigned long long)s.delivered,
	       (unsigned long long)s.deliver_gso,
	       (unsigned long long)s.notices, (unsigned long long)s.malformed);
}

static bool run(char *line)
{
	char *a[8] = { 0 };
	int n = 0;
	for (char *t = strtok(line, " \t\n"); t && n < 8; t = strtok(NULL, " \t\n"))
		a[n++] = t;
	if (n == 0)
		return true;
	int ms = a[1] ? atoi(a[1]) : 1000;
	if (!strcmp(a[0], "quit"))
		return false;
	else if (!strcmp(a[0], "expect-capture"))
		cmd_capture(ms, true, a[2] ? (size_t)atoi(a[2]) : PKTSZ);
	else if (!strcmp(a[0], "expect-no-capture"))
		cmd_capture(ms, false, a[2] ? (size_t)atoi(a[2]) : PKTSZ);
	else if (!strcmp(a[0], "release")) {
		int r = ss_dpu_release_clear(dp, held, nheld);
		printf("released %d\n", r);
		nheld = 0;
	} else if (!strcmp(a[0], "drop-held")) {
		printf("dropped %zu\n", nheld);
		nheld = 0;
	} else if (!strcmp(a[0], "peer"))
		cmd_peer(a[1], a[2], a[3]);
	else if (!strcmp(a[0], "expect-notice"))
		cmd_notice(ms);
	else if (!strcmp(a[0], "pass"))
		cmd_pass(ms, a[2] ? atoi(a[2]) : 500);
	else if (!strcmp(a[0], "count-notices"))
		cmd_count_notices(ms);
	else if (!strcmp(a[0], "send-esp"))
		cmd_send_esp(a[1], a[2], a[3]);
	else if (!strcmp(a[0], "send-esp-burst"))
		cmd_send_esp_burst(a + 1);
	else if (!strcmp(a[0], "recv-esp"))
		cmd_recv_esp(ms);
	else if (!strcmp(a[0], "deliver-udp"))
		cmd_deliver(a + 1);
	else if (!strcmp(a[0], "list-soft"))
		cmd_list_soft();
	else if (!strcmp(a[0], "stats"))
		cmd_stats();
	else
		printf("err unknown command %s\n", a[0]);
	return true;
}

/* A null-ESP tunnel to peer: captured packets go out as ESP payloads behind a 4-byte SPI
 * (over UDP to port, or IP protocol 50 when port is 0); what arrives from the peer is
 * delivered to the host stack.  The daemon's data path without the cryptography: two
 * drivers make a tunnel that real TCP runs through.  Stops max_ms after the start, or
 * idle_ms after the last packet.  Prints the statistics. */
enum { TUN_SPI = 0x7e570001 };

static int tunnel(const char *peer, uint16_t port, int max_ms, int idle_ms)
{
	static uint8_t out_mem[64][PKTSZ + 4], in_mem[64][PKTSZ + 4];
	ss_dpu_pkt out[64], in[64];
	ss_addr pa;
	if (!ss_addr_parse(peer, &pa))
		return 2;
	printf("ready\n");
	ss_time start = ss_now_ms(), last = 0;
	for (;;) {
		for (int i = 0; i < 64; i++) {
			/* Read four bytes in, so that the SPI goes in front without a copy. */
			out[i] = (ss_dpu_pkt){ .buf = out_mem[i] + 4, .cap = PKTSZ };
			in[i] = (ss_dpu_pkt){ .buf = in_mem[i], .cap = sizeof in_mem[i] };
		}
		int n = ss_dpu_read_outbound(dp, out, 64);
		for (int i = 0; i < n; i++) {
			out[i].data -= 4;
			out[i].len += 4;
			out[i].data[0] = TUN_SPI >> 24, out[i].data[1] = (TUN_SPI >> 16) & 0xff;
			out[i].data[2] = (TUN_SPI >> 8) & 0xff, out[i].data[3] = TUN_SPI & 0xff;
			out[i].remote = pa;
			out[i].port = port;
		}
		if (n > 0)
			ss_dpu_send_esp(dp, out, (size_t)n);
		int m = ss_dpu_recv_esp(dp, in, 64), k = 0;
		for (int i = 0; i < m; i++) {
			if (in[i].kind != SS_DPU_RX_ESP || in[i].len < 5)
				continue;
			in[k] = in[i];
			in[k].data += 4;
			in[k].len -= 4;
			k++;
		}
		if (k > 0)
			ss_dpu_deliver(dp, in, (size_t)k);
		ss_time now = ss_now_ms();
		if (n > 0 || m > 0)
			last = now;
		if (now - start >= (ss_time)max_ms || (last && now - last >= (ss_time)idle_ms))
			break;
		if (n <= 0 && m <= 0) {
			ss_dp_fd fds[8];
			struct pollfd pf[8];
			size_t nf = ss_dpu_poll_fds(dp, fds, 8), q = 0;
			for (size_t i = 0; i < nf; i++)
				if (fds[i].role != SS_DP_FD_NOTICE)
					pf[q++] = (struct pollfd){ .fd = fds[i].fd, .events = POLLIN };
			poll(pf, q, 100);
		}
	}
	cmd_stats();
	return 0;
}

static bool parse_filter(char **argv, int argc, int *i, ss_dp_filter *f)
{
	/* LOCAL REMOTE [PROTO LPORT RPORT] accept|drop|permit|block: a negotiate filter whose
	 * inbound clear packets are accepted or dropped, or a permit / block filter. */
	const char *why;
	memset(f, 0, sizeof *f);
	if (*i + 3 > argc || !ss_prefix_parse(argv[*i + 1], &f->local, true, &why) ||
	    !ss_prefix_parse(argv[*i + 2], &f->remote, true, &why))
		return false;
	*i += 3;
	static const char *const words[] = { "accept", "drop", "permit", "block" };
	bool word = false;
	for (int w = 0; w < 4 && *i < argc; w++)
		word = word || !strcmp(argv[*i], words[w]);
	if (!word && *i + 3 < argc) {
		f->proto = (uint8_t)atoi(argv[*i]);
		f->local_port = (uint16_t)atoi(argv[*i + 1]);
		f->remote_port = (uint16_t)atoi(argv[*i + 2]);
		*i += 3;
	}
	if (*i >= argc)
		return false;
	f->accept_inbound_clear = !strcmp(argv[*i], "accept");
	f->verdict = !strcmp(argv[*i], "permit") ? SS_DP_PERMIT
		     : !strcmp(argv[*i], "block") ? SS_DP_BLOCK : SS_DP_NEGOTIATE;
	return true;
}

int main(int argc, char **argv)
{
	ss_dp_user_config cfg;
	ss_dp_user_config_default(&cfg);
	ss_dp_filter filters[16];
	size_t nf = 0;
	bool flush_only = false;
	const char *tun_peer = NULL;
	int tun_max = 0, tun_idle = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--tun") && i + 1 < argc)
			snprintf(cfg.tun_name, sizeof cfg.tun_name, "%s", argv[++i]);
		else if (!strcmp(argv[i], "--udp-port") && i + 1 < argc)
			cfg.esp_udp_port = (uint16_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--vnet"))
			cfg.vnet_hdr = true;
		else if (!strcmp(argv[i], "--tunnel") && i + 3 < argc) {
			tun_peer = argv[++i];
			tun_max = atoi(argv[++i]);
			tun_idle = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--flush-only"))
			flush_only = true;
		else if (!strcmp(argv[i], "--no-ipv6"))
			cfg.ipv6 = false;
		else if (!strcmp(argv[i], "--filter") && nf < 16 && parse_filter(argv, argc, &i, &filters[nf]))
			nf++;
		else
			usage();
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	char err[512];
	if (flush_only) {
		int fr = ss_dp_user_flush(&cfg, err, sizeof err);
		if (fr < 0)
			fprintf(stderr, "dp_driver: %s\n", err);
		return fr < 0;
	}
	int r = ss_dp_user_open(&cfg, &dp, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "dp_driver: %s\n", err);
		return 1;
	}
	if (ss_dpu_set_filters(dp, filters, nf) < 0) {
		fprintf(stderr, "dp_driver: filters refused\n");
		ss_dpu_close(dp);
		return 1;
	}
	if (tun_peer) {
		r = tunnel(tun_peer, cfg.esp_udp_port, tun_max, tun_idle);
		ss_dpu_close(dp);
		return r;
	}
	printf("ready\n");
	char line[512];
	while (fgets(line, sizeof line, stdin) && run(line))
		;
	ss_dpu_close(dp);
	return 0;
}
