/* The kernel backend's table inet softsa_kernel (xfrm_notice.h says why): notices of inbound
 * clear traffic, and the queue of outbound packets that wait for a negotiation. */
#include "dataplane/xfrm_notice.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <nftables/libnftables.h>

#include "dataplane/user/nflog.h"

#define T "inet softsa_kernel"
#define TABLE "softsa_kernel"

enum { SNAP = 128, RX = 65536 };

struct ss_xnotice {
	struct nft_ctx *nft;
	struct mnl_socket *nl;
	ss_xnotice_cfg cfg;
	uint8_t buf[RX];
};

/* The output chain: what waits for a negotiation goes to the queue (hold.h).  Never queued:
 * loopback, softsad's own packets (IKE, and held packets sent again: the mark), ESP and
 * IKE, multicast and neighbour discovery (the system bypasses of the XFRM policies), and
 * packets to a peer whose state is decided (secured, soft, blocked: its policies say). */
static void out_chain(ss_sb *s, const ss_xnotice_cfg *c)
{
	for (int f = 4; f <= 6; f += 2)
		ss_sb_printf(s, "  set peers%d { type ipv%d_addr; size 65536; }\n", f, f);
	ss_sb_printf(s,
		"  chain out {\n"
		"    type filter hook output priority filter; policy accept;\n"
		"    oifname \"lo\" accept\n"
		"    meta mark 0x%x accept\n"
		"    meta l4proto esp accept\n"
		"    meta l4proto udp th sport { 500, 4500 } accept\n"
		"    ip daddr 224.0.0.0/4 accept\n"
		"    ip6 daddr ff00::/8 accept\n"
		"    icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
		"nd-neighbor-advert, nd-redirect } accept\n"
		"    ip daddr @peers4 accept\n"
		"    ip6 daddr @peers6 accept\n"
		"    jump filt_out\n"
		"  }\n"
		"  chain filt_out {\n  }\n", c->mark);
	/* No bypass flag: without a reader (softsad gone) the kernel drops, fail closed. */
	ss_sb_printf(s, "  chain hold {\n    queue num %u\n  }\n", (unsigned)c->hold_queue);
}

void ss_xnotice_table(ss_sb *s, const ss_xnotice_cfg *c)
{
	uint16_t group = c->group;
	unsigned rate = c->rate;
	ss_sb_printf(s, "table " T " { }\ndelete table " T "\ntable " T " {\n");
	for (int f = 4; f <= 6; f += 2) {
		ss_sb_printf(s, "  set notice%d { type ipv%d_addr; size 65536; flags dynamic,timeout; timeout 10s; }\n",
			     f, f);
		ss_sb_printf(s, "  set esp%d { type ipv%d_addr; size 65536; flags dynamic,timeout; timeout 10s; }\n",
			     f, f);
	}
	if (c->hold_queue >= 0)
		out_chain(s, c);
	/* What never needs a notice: loopback, ESP (decrypted packets carry a secpath and come
	 * by again), IKE, and neighbour discovery.  ESP itself, raw or in UDP (a zero non-ESP
	 * marker is IKE), is sampled once a second per source before it meets XFRM, which drops
	 * an unknown SPI without a word: the backend tells a peer that still uses an SA we lost
	 * (we restarted) from one it knows. */
	ss_sb_printf(s,
		"  chain in {\n"
		"    type filter hook input priority filter; policy accept;\n"
		"    iifname \"lo\" accept\n"
		"    meta secpath exists accept\n"
		"    meta l4proto esp goto esp_in\n"
		"    udp dport 4500 @th,64,32 != 0 goto esp_in\n"
		"    meta l4proto udp th dport { 500, 4500 } accept\n"
		"    icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
		"nd-neighbor-advert, nd-redirect } accept\n"
		"    jump filt_in\n"
		"  }\n"
		"  chain filt_in {\n  }\n");
	/* A tunnel's inbound half (the network behind the endpoint -> ours), forwarded or to
	 * our own addresses inside our network: before the route lookup, because the kernel
	 * drops a forwarded packet by its fwd policy ahead of the forward hook. */
	ss_sb_printf(s,
		"  chain pre {\n"
		"    type filter hook prerouting priority filter; policy accept;\n"
		"    iifname \"lo\" accept\n"
		"    meta secpath exists accept\n"
		"    meta l4proto esp accept\n"
		"    meta l4proto udp th dport { 500, 4500 } accept\n"
		"    jump filt_pre\n"
		"  }\n"
		"  chain filt_pre {\n  }\n");
	/* Tunnel rules with tcp_mss_clamp: SYNs between the networks, clear before the kernel
	 * encrypts them (forward, output) and decrypted after (forward, input). */
	static const char *const hook[3] = { "forward", "output", "input" };
	for (int i = 0; i < 3; i++)
		ss_sb_printf(s, "  chain mss_%s {\n    type filter hook %s priority mangle; policy accept;\n  }\n",
			     hook[i], hook[i]);
	/* The prefix says the kernel's verdict that follows: 'a' the in-policy lets it in,
	 * 'd' it blocks it (the filter accepts no clear).  The rate limits the log only. */
	ss_sb_printf(s, "  chain esp_in {\n");
	for (int f = 4; f <= 6; f += 2)
		ss_sb_printf(s, "    update @esp%d { ip%s saddr limit rate 1/second burst 1 packets } "
			     "log prefix \"softsa:s\" group %u snaplen %u\n", f, f == 6 ? "6" : "", group, SNAP);
	ss_sb_printf(s, "    accept\n  }\n");
	static const char v[2] = { 'a', 'd' };
	for (int i = 0; i < 2; i++) {
		ss_sb_printf(s, "  chain note_%c {\n", v[i]);
		ss_sb_printf(s, "    update @notice4 { ip saddr limit rate %u/second burst %u packets } "
			     "log prefix \"softsa:%c\" group %u snaplen %u\n", rate, rate, v[i], group, SNAP);
		ss_sb_printf(s, "    update @notice6 { ip6 saddr limit rate %u/second burst %u packets } "
			     "log prefix \"softsa:%c\" group %u snaplen %u\n", rate, rate, v[i], group, SNAP);
		ss_sb_printf(s, "    accept\n  }\n");
	}
	ss_sb_printf(s, "}\n");
}

static void clamp(ss_sb *s, const char *chain, const ss_dp_filter *f, bool inbound)
{
	ss_sb_printf(s, "add rule " T " %s", chain);
	ss_nft_filter_match(s, f, inbound);
	ss_sb_printf(s, " tcp flags & syn == syn tcp option maxseg size > %u tcp option maxseg size set %u\n",
		     f->tcp_mss, f->tcp_mss);
}

void ss_xnotice_rules(ss_sb *s, const ss_dp_filter *f, size_t nf, bool hold)
{
	ss_sb_printf(s, "flush chain " T " filt_in\nflush chain " T " filt_pre\n");
	ss_sb_printf(s, "flush chain " T " mss_forward\nflush chain " T " mss_output\nflush chain " T " mss_input\n");
	if (hold)
		ss_sb_printf(s, "flush chain " T " filt_out\n");
	/* In the dataplane's order (most specific first): a permit or block ends the walk
	 * without a notice, as it does in the userspace table.  Host filters in input (their
	 * local side is any address of ours), tunnel filters in prerouting. */
	for (size_t i = 0; i < nf; i++) {
		if (f[i].local.addr.family != f[i].remote.addr.family || !f[i].local.addr.family)
			continue;
		bool decides = f[i].verdict == SS_DP_PERMIT || f[i].verdict == SS_DP_BLOCK;
		ss_sb_printf(s, "add rule " T " %s", f[i].tunnel.family ? "filt_pre" : "filt_in");
		ss_nft_filter_match(s, &f[i], true);
		if (decides)
			ss_sb_printf(s, " accept\n");
		else
			ss_sb_printf(s, " goto note_%c\n", f[i].accept_inbound_clear ? 'a' : 'd');
		if (f[i].tunnel.family && f[i].tcp_mss) {
			clamp(s, "mss_forward", &f[i], false);
			clamp(s, "mss_forward", &f[i], true);
			clamp(s, "mss_output", &f[i], false);
			clamp(s, "mss_input", &f[i], true);
		}
		/* Outbound, the same walk: a permit or block is the XFRM policies' (accept here),
		 * a negotiate filter's packet waits in softsad. */
		if (!hold || f[i].tunnel.family) /* a tunnel's traffic is forwarded, not ours */
			continue;
		ss_sb_printf(s, "add rule " T " filt_out");
		ss_nft_filter_match(s, &f[i], false);
		ss_sb_printf(s, decides ? " accept\n" : " goto hold\n");
	}
}

void ss_xnotice_peer_cmd(ss_sb *s, const ss_addr *peer, bool decided)
{
	char b[SS_ADDR_STRLEN];
	int f = peer->family == SS_AF_INET6 ? 6 : 4;
	/* add is idempotent; delete of a missing element fails, so it follows an add. */
	ss_sb_printf(s, "add element " T " peers%d { %s }\n", f, ss_addr_fmt(peer, b));
	if (!decided)
		ss_sb_printf(s, "delete element " T " peers%d { %s }\n", f, b);
}

static int run(ss_xnotice *n, ss_sb *s, char *err, size_t errlen)
{
	if (s->err) {
		ss_sb_free(s);
		snprintf(err, errlen, "out of memory building the notice table");
		return -ENOMEM;
	}
	int r = nft_run_cmd_from_buffer(n->nft, s->p ? s->p : "");
	if (r != 0) {
		const char *e = nft_ctx_get_error_buffer(n->nft);
		snprintf(err, errlen, "nftables refused the notice table: %s", e ? e : "(no message)");
	}
	ss_sb_free(s);
	return r ? -EIO : 0;
}

ss_xnotice *ss_xnotice_open(const ss_xnotice_cfg *cfg, char *err, size_t errlen)
{
	ss_xnotice *n = calloc(1, sizeof *n);
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->cfg = *cfg;
	uint16_t group = cfg->group;
	n->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->nft) {
		snprintf(err, errlen, "cannot create an nftables context");
		free(n);
		return NULL;
	}
	nft_ctx_buffer_output(n->nft);
	nft_ctx_buffer_error(n->nft);
	int r = 0;
	n->nl = ss_nflog_open(group, SNAP, &r);
	if (!n->nl) {
		snprintf(err, errlen, "cannot bind nfnetlink_log group %u: %s", group, strerror(-r));
		ss_xnotice_close(n);
		return NULL;
	}
	ss_sb s = { 0 };
	ss_xnotice_table(&s, cfg);
	if (run(n, &s, err, errlen) < 0) {
		ss_xnotice_close(n);
		return NULL;
	}
	return n;
}

void ss_xnotice_close(ss_xnotice *n)
{
	if (!n)
		return;
	if (n->nft) {
		nft_run_cmd_from_buffer(n->nft, "table " T " { }\ndelete table " T "\n");
		nft_ctx_free(n->nft);
	}
	ss_nflog_close(n->nl, n->cfg.group);
	free(n);
}

int ss_xnotice_set_filters(ss_xnotice *n, const ss_dp_filter *f, size_t nf)
{
	ss_sb s = { 0 };
	char err[256];
	ss_xnotice_rules(&s, f, nf, n->cfg.hold_queue >= 0);
	return run(n, &s, err, sizeof err);
}

int ss_xnotice_peer(ss_xnotice *n, const ss_addr *peer, bool decided)
{
	if (n->cfg.hold_queue < 0)
		return 0;
	ss_sb s = { 0 };
	char err[256];
	ss_xnotice_peer_cmd(&s, peer, decided);
	return run(n, &s, err, sizeof err);
}

int ss_xnotice_fd(const ss_xnotice *n)
{
	return mnl_socket_get_fd(n->nl);
}

int ss_xnotice_read(ss_xnotice *n, ss_dp_notice *out, size_t max, uint64_t *malformed)
{
	ssize_t r = recv(mnl_socket_get_fd(n->nl), n->buf, sizeof n->buf, MSG_DONTWAIT);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? 0 : -errno;
	return (int)ss_nflog_parse(n->buf, (size_t)r, out, max, malformed);
}
