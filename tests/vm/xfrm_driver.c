/* The VM tests' hand on src/dataplane/xfrm: one command per run, inside a namespace.
 *
 *   probe                                   "esp: yes" (exit 0) or "esp: no: WHY" (exit 1)
 *   sa SRC DST SPI REQID [opts]             install an ESP SA; opts:
 *        --gcm KEYHEX | --cbc KEYHEX --sha256 KEYHEX   --tunnel --esn --window N --update
 *        --encap SPORT DPORT  --soft-packets N --hard-packets N --soft-bytes N --hard-bytes N
 *        --soft-secs N --hard-secs N  --sel SRCPFX DSTPFX  --acquire-seq N
 *   delsa DST SPI
 *   get DST SPI                             the kernel's counters, as key=value
 *   policy in|out|fwd SRCPFX DSTPFX SLOT PRIO [--protect REQID | --bypass | --block]
 *        [--tunnel TSRC TDST] [--proto N] [--sport N] [--dport N] [--idle S] [--update]
 *   delpolicy SLOT in|out|fwd
 *   watch SECONDS [COUNT [KIND]]            print events (one line each) of one kind
 *                                           (acquire, expire, polexpire) or all; "ready" first
 *   remove-ours                             remove what we own: "states=N policies=N"
 *   udp-send DST PORT [--bypass] [--every MS --for S]
 *                                           one datagram (or one every MS for S seconds);
 *                                           --bypass: a per-socket bypass policy first
 *   udp-recv 4|6 PORT SECONDS [--bypass]    wait for one datagram: "got N bytes from ADDR"
 *                                           (exit 0), or exit 1 at the timeout; "ready" first
 *   encap-sock PORT SECONDS                 hold a UDP socket with ESP-in-UDP decapsulation
 *   dp LOCAL REMOTE SECONDS ACTION [SPI_OUT SPI_IN [encap | tunnel LPFX RPFX]]
 *        the kernel backend of dataplane.h, as softsad drives it: a negotiate filter
 *        LOCAL -> REMOTE, then on the first ACQUIRE (ACTION secure, soft, block) or at once
 *        (secure-now) AES-GCM SAs and set_peer; prints events, the SA counters and what
 *        list_soft says at the end, then closes (which removes everything it installed);
 *        SIGTERM ends it early the same way (a scenario need not wait out SECONDS).
 *        soft-secure: on the ACQUIRE soft, then secured, then secured again (changes of
 *        state of a peer that has policies: "soft: done", "secure: done", "again: done")
 *        encap: the SAs are ESP in UDP on port 4501 (4500 may still be held by the encap
 *        scenario's sockets) and a UDP socket on it is handed to the backend as softsad hands
 *        its NAT-T socket (esp_udp_fd4), which must then receive it
 *        tunnel: a gateway's tunnel filter instead, LPFX -> RPFX through REMOTE (the endpoint),
 *        and tunnel-mode SAs between LOCAL and REMOTE whose selectors are the two prefixes
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/udp.h>

#include "base/clock.h"
#include "base/iana.h"
#include "dataplane/dataplane.h"
#include "dataplane/xfrm/xfrm.h"

static void die(const char *what)
{
	fprintf(stderr, "xfrm_driver: %s\n", what);
	exit(2);
}

static ss_addr addr(const char *s)
{
	ss_addr a;
	if (!ss_addr_parse(s, &a))
		die("bad address");
	return a;
}

static ss_prefix prefix(const char *s)
{
	ss_prefix p;
	const char *why;
	if (!ss_prefix_parse(s, &p, false, &why))
		die("bad prefix");
	return p;
}

static unsigned long long num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || end == s)
		die("bad number");
	return v;
}

static uint8_t hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	if (strlen(s) % 2 || n > cap)
		die("bad key");
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			die("bad key");
		out[i] = (uint8_t)v;
	}
	return (uint8_t)n;
}

static uint8_t dir(const char *s)
{
	if (!strcmp(s, "in"))
		return SS_XFRM_IN;
	if (!strcmp(s, "out"))
		return SS_XFRM_OUT;
	if (!strcmp(s, "fwd"))
		return SS_XFRM_FWD;
	die("bad direction");
	return 0;
}

static ss_xfrm *open_x(bool events)
{
	int err = 0;
	ss_xfrm *x = ss_xfrm_open(events, &err);
	if (!x) {
		fprintf(stderr, "xfrm_driver: open: %s\n", strerror(-err));
		exit(2);
	}
	return x;
}

static int done(ss_xfrm *x, int r, const char *what)
{
	ss_xfrm_close(x);
	if (r < 0) {
		fprintf(stderr, "xfrm_driver: %s: %s\n", what, strerror(-r));
		return 1;
	}
	return 0;
}

static int cmd_sa(int argc, char **argv)
{
	if (argc < 4)
		die("sa SRC DST SPI REQID [opts]");
	ss_xfrm_sa sa = { .src = addr(argv[0]), .dst = addr(argv[1]),
			  .spi = (uint32_t)num(argv[2]), .reqid = (uint32_t)num(argv[3]) };
	bool update = false;
	for (int i = 4; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--tunnel")) { sa.mode = SS_XFRM_TUNNEL; continue; }
		if (!strcmp(o, "--esn")) { sa.esn = true; continue; }
		if (!strcmp(o, "--update")) { update = true; continue; }
		if (!v)
			die("option needs a value");
		i++;
		if (!strcmp(o, "--gcm")) {
			sa.enc = SS_XFRM_AES_GCM16;
			sa.enc_key_len = hex(v, sa.enc_key, sizeof sa.enc_key);
		} else if (!strcmp(o, "--cbc")) {
			sa.enc = SS_XFRM_AES_CBC;
			sa.enc_key_len = hex(v, sa.enc_key, sizeof sa.enc_key);
		} else if (!strcmp(o, "--sha256")) {
			sa.integ = SS_XFRM_HMAC_SHA256_128;
			sa.integ_key_len = hex(v, sa.integ_key, sizeof sa.integ_key);
		} else if (!strcmp(o, "--window")) {
			sa.replay_window = (uint32_t)num(v);
		} else if (!strcmp(o, "--encap") && i + 1 < argc) {
			sa.encap_sport = (uint16_t)num(v);
			sa.encap_dport = (uint16_t)num(argv[++i]);
		} else if (!strcmp(o, "--sel") && i + 1 < argc) {
			sa.sel.src = prefix(v);
			sa.sel.dst = prefix(argv[++i]);
		} else if (!strcmp(o, "--acquire-seq")) { sa.acquire_seq = (uint32_t)num(v);
		} else if (!strcmp(o, "--soft-packets")) { sa.soft.packets = num(v);
		} else if (!strcmp(o, "--hard-packets")) { sa.hard.packets = num(v);
		} else if (!strcmp(o, "--soft-bytes")) { sa.soft.bytes = num(v);
		} else if (!strcmp(o, "--hard-bytes")) { sa.hard.bytes = num(v);
		} else if (!strcmp(o, "--soft-secs")) { sa.soft.add_seconds = num(v);
		} else if (!strcmp(o, "--hard-secs")) { sa.hard.add_seconds = num(v);
		} else {
			die("unknown sa option");
		}
	}
	ss_xfrm *x = open_x(false);
	return done(x, ss_xfrm_add_sa(x, &sa, update), "add sa");
}

static int cmd_policy(int argc, char **argv)
{
	if (argc < 5)
		die("policy DIR SRC DST SLOT PRIO [opts]");
	ss_xfrm_policy p = { .dir = dir(argv[0]), .slot = (uint32_t)num(argv[3]),
			     .prio = (uint16_t)num(argv[4]), .action = SS_XFRM_BYPASS };
	p.sel.src = prefix(argv[1]);
	p.sel.dst = prefix(argv[2]);
	bool update = false;
	for (int i = 5; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--bypass")) { p.action = SS_XFRM_BYPASS; continue; }
		if (!strcmp(o, "--block")) { p.action = SS_XFRM_BLOCK; continue; }
		if (!strcmp(o, "--update")) { update = true; continue; }
		if (!v)
			die("option needs a value");
		i++;
		if (!strcmp(o, "--protect")) {
			p.action = SS_XFRM_PROTECT;
			p.reqid = (uint32_t)num(v);
		} else if (!strcmp(o, "--tunnel") && i + 1 < argc) {
			p.mode = SS_XFRM_TUNNEL;
			p.tsrc = addr(v);
			p.tdst = addr(argv[++i]);
		} else if (!strcmp(o, "--proto")) { p.sel.proto = (uint8_t)num(v);
		} else if (!strcmp(o, "--sport")) { p.sel.sport = (uint16_t)num(v);
		} else if (!strcmp(o, "--dport")) { p.sel.dport = (uint16_t)num(v);
		} else if (!strcmp(o, "--idle")) { p.idle_seconds = (uint32_t)num(v);
		} else {
			die("unknown policy option");
		}
	}
	ss_xfrm *x = open_x(false);
	return done(x, ss_xfrm_add_policy(x, &p, update), "add policy");
}

static int cmd_get(int argc, char **argv)
{
	if (argc != 2)
		die("get DST SPI");
	ss_addr dst = addr(argv[0]);
	ss_xfrm *x = open_x(false);
	ss_xfrm_sa_info i;
	int r = ss_xfrm_get_sa(x, &dst, (uint32_t)num(argv[1]), &i);
	if (r == 0)
		printf("packets=%llu bytes=%llu replay=%u integrity=%u seq_out=%llu seq_in=%llu reqid=%#x\n",
		       (unsigned long long)i.packets, (unsigned long long)i.bytes, i.replay_drops,
		       i.integrity_failures, (unsigned long long)i.seq_out,
		       (unsigned long long)i.seq_in, i.reqid);
	return done(x, r, "get sa");
}

static const char *dir_name(uint8_t d)
{
	return d == SS_XFRM_IN ? "in" : d == SS_XFRM_OUT ? "out" : "fwd";
}

static void print_event(const ss_xfrm_event *e)
{
	char s[SS_PREFIX_STRLEN], d[SS_PREFIX_STRLEN], a[SS_ADDR_STRLEN], b[SS_ADDR_STRLEN];
	switch (e->kind) {
	case SS_XFRM_EV_ACQUIRE:
		printf("acquire sel=%s>%s proto=%u dport=%u sa=%s>%s reqid=%#x index=%#x dir=%s seq=%u\n",
		       ss_prefix_fmt(&e->sel.src, s), ss_prefix_fmt(&e->sel.dst, d), e->sel.proto,
		       e->sel.dport, ss_addr_fmt(&e->sa.src, a), ss_addr_fmt(&e->sa.dst, b),
		       e->sa.reqid, e->index, dir_name(e->dir), e->seq);
		break;
	case SS_XFRM_EV_EXPIRE:
		printf("expire %s spi=%#x dst=%s reqid=%#x packets=%llu\n", e->hard ? "hard" : "soft",
		       e->sa.spi, ss_addr_fmt(&e->sa.dst, b), e->sa.reqid,
		       (unsigned long long)e->sa.packets);
		break;
	case SS_XFRM_EV_POLEXPIRE:
		printf("polexpire %s index=%#x dir=%s sel=%s>%s\n", e->hard ? "hard" : "soft", e->index,
		       dir_name(e->dir), ss_prefix_fmt(&e->sel.src, s), ss_prefix_fmt(&e->sel.dst, d));
		break;
	default:
		printf("event kind=%u\n", e->kind);
	}
	fflush(stdout);
}

static int cmd_watch(int argc, char **argv)
{
	if (argc < 1)
		die("watch SECONDS [COUNT]");
	ss_time until = ss_now_ms() + SS_SEC(num(argv[0]));
	unsigned long long want = argc > 1 ? num(argv[1]) : ~0ull, got = 0;
	const char *kinds[] = { [SS_XFRM_EV_ACQUIRE] = "acquire", [SS_XFRM_EV_EXPIRE] = "expire",
				[SS_XFRM_EV_POLEXPIRE] = "polexpire" };
	uint8_t only = 0;
	for (uint8_t k = 0; argc > 2 && k < sizeof kinds / sizeof kinds[0]; k++)
		if (kinds[k] && !strcmp(argv[2], kinds[k]))
			only = k;
	if (argc > 2 && !only)
		die("watch: unknown kind");
	ss_xfrm *x = open_x(true);
	printf("ready\n");
	fflush(stdout);
	while (got < want) {
		ss_time now = ss_now_ms();
		if (now >= until)
			break;
		struct pollfd p = { .fd = ss_xfrm_fd(x), .events = POLLIN };
		poll(&p, 1, (int)(until - now));
		ss_xfrm_event ev[16];
		int n = ss_xfrm_read_events(x, ev, 16);
		for (int i = 0; i < n && got < want; i++) {
			if (only && ev[i].kind != only)
				continue;
			print_event(&ev[i]);
			got++;
		}
	}
	ss_xfrm_close(x);
	return 0;
}

static int cmd_udp_send(int argc, char **argv)
{
	if (argc < 2)
		die("udp-send DST PORT [--bypass]");
	ss_addr dst = addr(argv[0]);
	struct sockaddr_storage ss;
	size_t sl = ss_addr_to_sockaddr(&dst, (uint16_t)num(argv[1]), &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");
	unsigned long long every = 0, secs = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--bypass")) {
			int r = ss_xfrm_socket_bypass(fd, dst.family);
			if (r < 0) {
				fprintf(stderr, "xfrm_driver: socket bypass: %s\n", strerror(-r));
				return 1;
			}
		} else if (!strcmp(argv[i], "--every") && i + 1 < argc) {
			every = num(argv[++i]);
		} else if (!strcmp(argv[i], "--for") && i + 1 < argc) {
			secs = num(argv[++i]);
		}
	}
	ss_time until = ss_now_ms() + SS_SEC(secs);
	do {
		if (sendto(fd, "softsa", 6, 0, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
			fprintf(stderr, "xfrm_driver: sendto: %s\n", strerror(errno));
			return 1;
		}
		if (every)
			poll(NULL, 0, (int)every);
	} while (every && ss_now_ms() < until);
	close(fd);
	return 0;
}

static int cmd_udp_recv(int argc, char **argv)
{
	if (argc < 3)
		die("udp-recv 4|6 PORT SECONDS [--bypass]");
	uint8_t fam = !strcmp(argv[0], "6") ? SS_AF_INET6 : SS_AF_INET;
	ss_addr any = { .family = fam };
	struct sockaddr_storage ss;
	size_t sl = ss_addr_to_sockaddr(&any, (uint16_t)num(argv[1]), &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0)
		die("udp socket");
	if (argc > 3 && !strcmp(argv[3], "--bypass") && ss_xfrm_socket_bypass(fd, fam) < 0)
		die("socket bypass");
	printf("ready\n");
	fflush(stdout);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, (int)(num(argv[2]) * 1000)) != 1)
		return 1;
	uint8_t buf[2048];
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
	ss_addr src;
	char a[SS_ADDR_STRLEN] = "?";
	if (n >= 0 && ss_addr_from_sockaddr((struct sockaddr *)&from, &src, NULL))
		ss_addr_fmt(&src, a);
	printf("got %zd bytes from %s\n", n, a);
	close(fd);
	return n < 0;
}

static int cmd_encap_sock(int argc, char **argv)
{
	if (argc != 2)
		die("encap-sock PORT SECONDS");
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)num(argv[0])) };
	int type = UDP_ENCAP_ESPINUDP;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof type) < 0 ||
	    ss_xfrm_socket_bypass(fd, SS_AF_INET) < 0)
		die("encap socket");
	printf("ready\n");
	fflush(stdout);
	sleep((unsigned)num(argv[1]));
	close(fd);
	return 0;
}

static const uint8_t dp_key[20] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
				     0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23 };

static bool dp_encap; /* dp ... encap: ESP in UDP 4500 */
static ss_prefix dp_tun_l, dp_tun_r; /* dp ... tunnel: the networks (family 0: none) */

/* A prefix as a selector range: its first and last address. */
static ss_dp_ts ts_of(const ss_prefix *p)
{
	ss_dp_ts t = { .lo = p->addr, .hi = p->addr, .port_hi = 0xffff };
	for (unsigned i = p->len; i < ss_addr_bits(&p->addr); i++)
		t.hi.a[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	return t;
}

static ss_dp_sa dp_sa(const ss_addr *local, const ss_addr *remote, uint32_t spi, uint8_t dir)
{
	uint16_t port = dp_encap ? 4501 : 0;
	ss_dp_sa sa = { .id = { .spi = spi, .dir = dir, .local = *local, .remote = *remote },
			.reqid = 42, .encr = SS_ENCR_AES_GCM_16, .encr_key = dp_key,
			.encr_key_len = sizeof dp_key, .replay_window = 64,
			.encap_local_port = port, .encap_remote_port = port };
	if (dp_tun_l.addr.family) {
		sa.mode = SS_DP_TUNNEL;
		sa.local_ts[0] = ts_of(&dp_tun_l);
		sa.remote_ts[0] = ts_of(&dp_tun_r);
		sa.n_local_ts = sa.n_remote_ts = 1;
	}
	return sa;
}

static int dp_act(ss_dp *dp, const char *action, const ss_addr *l, const ss_addr *r,
		  uint32_t spi_out, uint32_t spi_in)
{
	int rc;
	if (!strncmp(action, "secure", 6)) {
		ss_dp_sa o = dp_sa(l, r, spi_out, SS_DP_OUT), i = dp_sa(l, r, spi_in, SS_DP_IN);
		rc = ss_dp_sa_add(dp, &i, ss_now_ms());
		if (rc == 0)
			rc = ss_dp_sa_add(dp, &o, ss_now_ms());
		if (rc == 0)
			rc = ss_dp_set_peer(dp, r, SS_DP_PEER_SECURED, SS_NEVER);
	} else if (!strcmp(action, "soft-secure")) {
		/* A fallback, then a CHILD SA, then the next CHILD SA with the same peer. */
		rc = dp_act(dp, "soft", l, r, spi_out, spi_in);
		if (rc == 0)
			rc = dp_act(dp, "secure", l, r, spi_out, spi_in);
		if (rc == 0)
			rc = ss_dp_set_peer(dp, r, SS_DP_PEER_SECURED, SS_NEVER);
		action = "again";
	} else if (!strcmp(action, "soft")) {
		rc = ss_dp_set_peer(dp, r, SS_DP_PEER_SOFT, SS_SEC(4));
	} else {
		rc = ss_dp_set_peer(dp, r, SS_DP_PEER_BLOCKED, SS_NEVER);
	}
	printf("%s: %s\n", action, rc ? strerror(-rc) : "done");
	fflush(stdout);
	return rc;
}

static volatile sig_atomic_t dp_stop;
static void on_term(int sig) { (void)sig; dp_stop = 1; }

static int cmd_dp(int argc, char **argv)
{
	if (argc < 4)
		die("dp LOCAL REMOTE SECONDS ACTION [SPI_OUT SPI_IN]");
	ss_addr l = addr(argv[0]), r = addr(argv[1]);
	const char *action = argv[3];
	uint32_t spi_out = argc > 5 ? (uint32_t)num(argv[4]) : 0, spi_in = argc > 5 ? (uint32_t)num(argv[5]) : 0;
	ss_dp_config cfg;
	ss_dp_config_default(&cfg);
	dp_encap = argc > 6 && !strcmp(argv[6], "encap");
	if (argc > 8 && !strcmp(argv[6], "tunnel")) {
		const char *why;
		if (!ss_prefix_parse(argv[7], &dp_tun_l, false, &why) || !ss_prefix_parse(argv[8], &dp_tun_r, false, &why))
			die("tunnel LPFX RPFX: prefixes");
	}
	int ufd = -1;
	if (dp_encap) {
		/* What softsad's NAT-T socket is: bound, bypassing, handed to the backend. */
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(4501) };
		ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (ufd < 0 || bind(ufd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
		    ss_xfrm_socket_bypass(ufd, SS_AF_INET) < 0)
			die("UDP 4501 socket");
		cfg.esp_udp_fd4 = ufd;
	}
	ss_dp *dp;
	char err[200];
	if (ss_dp_open("kernel", &cfg, &dp, err, sizeof err) < 0) {
		fprintf(stderr, "xfrm_driver: %s\n", err);
		return 1;
	}
	ss_dp_info inf;
	ss_dp_info_get(dp, &inf);
	printf("backend %s: %s\n", inf.name, inf.why);
	ss_dp_filter f = { .local = ss_prefix_host(&l), .remote = ss_prefix_host(&r),
			   .verdict = SS_DP_NEGOTIATE };
	if (dp_tun_l.addr.family) {
		f.local = dp_tun_l;
		f.remote = dp_tun_r;
		f.tunnel = r;
	}
	int rc = ss_dp_set_filters(dp, &f, 1);
	bool acted = false;
	if (rc == 0 && !strcmp(action, "secure-now")) {
		rc = dp_act(dp, action, &l, &r, spi_out, spi_in);
		acted = true;
	}
	printf("ready\n");
	fflush(stdout);
	ss_time until = ss_now_ms() + SS_SEC(num(argv[2]));
	ss_dp_fd fds[4];
	size_t nfd = ss_dp_poll_fds(dp, fds, 4);
	struct sigaction sa = { .sa_handler = on_term }; /* no SA_RESTART: poll returns at once */
	sigaction(SIGTERM, &sa, NULL);
	while (rc == 0 && !dp_stop && ss_now_ms() < until) {
		struct pollfd p = { .fd = fds[0].fd, .events = POLLIN };
		poll(&p, nfd ? 1 : 0, (int)(until - ss_now_ms()));
		ss_dp_process(dp, fds[0].fd, ss_now_ms());
		ss_dp_event ev;
		while (ss_dp_next_event(dp, &ev)) {
			char a[SS_ADDR_STRLEN], b[SS_ADDR_STRLEN];
			printf("event %s %s>%s proto=%u dport=%u reqid=%u why=%u\n", ss_dp_event_name(ev.kind),
			       ss_addr_fmt(&ev.local, a), ss_addr_fmt(&ev.remote, b), ev.proto, ev.dport,
			       ev.reqid, ev.why);
			fflush(stdout);
			if (ev.kind == SS_DP_EV_ACQUIRE && !acted) {
				rc = dp_act(dp, action, &l, &r, spi_out, spi_in);
				acted = true;
			}
			/* A packet the backend holds (its NFQUEUE, where the kernel has one) waits for
			 * a verdict, as the agent gives it: the action's (the last state set). */
			if (ev.kind == SS_DP_EV_ACQUIRE && ev.handle)
				ss_dp_verdict(dp, ev.handle, !strcmp(action, "block") ? SS_DP_PKT_DROP
							     : !strcmp(action, "soft") ? SS_DP_PKT_CLEAR : SS_DP_PKT_ESP,
					      ss_now_ms());
		}
		ss_dp_flush(dp, ss_now_ms());
	}
	if (spi_out) {
		ss_dp_sa o = dp_sa(&l, &r, spi_out, SS_DP_OUT), i = dp_sa(&l, &r, spi_in, SS_DP_IN);
		ss_dp_sa_counters co = { 0 }, ci = { 0 };
		ss_dp_sa_query(dp, &o.id, &co);
		ss_dp_sa_query(dp, &i.id, &ci);
		printf("out packets=%llu in packets=%llu\n", (unsigned long long)co.packets,
		       (unsigned long long)ci.packets);
	}
	ss_dp_soft_info si[4];
	printf("soft peers=%d\n", ss_dp_list_soft(dp, si, 4));
	ss_dp_close(dp);
	if (ufd >= 0)
		close(ufd);
	printf("closed\n");
	return rc != 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: xfrm_driver COMMAND ...");
	const char *c = argv[1];
	argc -= 2;
	argv += 2;
	if (!strcmp(c, "probe")) {
		char why[200] = "";
		int yes = ss_xfrm_probe(why, sizeof why);
		printf(yes ? "esp: yes\n" : "esp: no: %s\n", why);
		return !yes;
	}
	if (!strcmp(c, "sa"))
		return cmd_sa(argc, argv);
	if (!strcmp(c, "policy"))
		return cmd_policy(argc, argv);
	if (!strcmp(c, "get"))
		return cmd_get(argc, argv);
	if (!strcmp(c, "watch"))
		return cmd_watch(argc, argv);
	if (!strcmp(c, "udp-send"))
		return cmd_udp_send(argc, argv);
	if (!strcmp(c, "dp"))
		return cmd_dp(argc, argv);
	if (!strcmp(c, "udp-recv"))
		return cmd_udp_recv(argc, argv);
	if (!strcmp(c, "encap-sock"))
		return cmd_encap_sock(argc, argv);
	if (!strcmp(c, "delsa") && argc == 2) {
		ss_addr dst = addr(argv[0]);
		ss_xfrm *x = open_x(false);
		return done(x, ss_xfrm_del_sa(x, &dst, (uint32_t)num(argv[1])), "del sa");
	}
	if (!strcmp(c, "delpolicy") && argc == 2) {
		ss_xfrm *x = open_x(false);
		return done(x, ss_xfrm_del_policy(x, (uint32_t)num(argv[0]), dir(argv[1])), "del policy");
	}
	if (!strcmp(c, "remove-ours")) {
		ss_xfrm *x = open_x(false);
		unsigned s = 0, p = 0;
		int r = ss_xfrm_remove_ours(x, &s, &p);
		if (r == 0)
			printf("states=%u policies=%u\n", s, p);
		return done(x, r, "remove ours");
	}
	die("unknown command");
	return 2;
}
