#include "dataplane/user/ruleset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "dataplane/pkt.h"

#define T "inet " SS_DP_TABLE_NAME

void ss_sb_printf(ss_sb *s, const char *fmt, ...)
{
	if (s->err)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = s->cap - s->len;
		int n = vsnprintf(s->p ? s->p + s->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			s->err = true;
			return;
		}
		if ((size_t)n < room) {
			s->len += (size_t)n;
			return;
		}
		size_t cap = (s->cap + (size_t)n + 1) * 2;
		char *p = realloc(s->p, cap);
		if (!p) {
			s->err = true;
			return;
		}
		s->p = p;
		s->cap = cap;
	}
}

void ss_sb_free(ss_sb *s)
{
	free(s->p);
	*s = (ss_sb){ 0 };
}

void ss_nft_delete_table(ss_sb *s)
{
	/* "add" is a no-op on an existing table, so the pair deletes it whether or not an
	 * earlier run left it. */
	ss_sb_printf(s, "add table " T "\ndelete table " T "\n");
}

const char *const ss_nft_drop_counter[SS_DP_DROP_COUNT] = {
	[SS_DP_DROP_RULE_BLOCK] = "drop_rule_block",
	[SS_DP_DROP_NO_CLEAR] = "drop_no_clear",
	[SS_DP_DROP_CLEAR_FROM_SECURE] = "drop_clear_from_secure",
	[SS_DP_DROP_BLOCKED] = "drop_blocked",
	[SS_DP_DROP_FAIL_CLOSED] = "drop_fail_closed",
};

/* Peer sets: one per state and family, because an nftables set has one key type. */
static const char *const set_base[] = {
	[SS_DP_PEER_SECURED] = "secured",
	[SS_DP_PEER_SOFT] = "soft",
	[SS_DP_PEER_BLOCKED] = "blocked",
};

static void table_sets(ss_sb *s, const ss_dp_user_config *cfg)
{
	/* Every drop rule counts into the named counter of its reason (`softsa stats`). */
	for (int i = 0; i < SS_DP_DROP_COUNT; i++)
		ss_sb_printf(s, "  counter %s { }\n", ss_nft_drop_counter[i]);
	/* Sources recently reported, for the per-source notice rate; a full set means no
	 * more notices for new sources, never a different verdict. */
	if (cfg->notice_rate)
		for (int f = 4; f <= 6; f += 2)
			ss_sb_printf(s, "  set notice%d { type ipv%d_addr; size 65536; "
				     "flags dynamic,timeout; timeout 10s; }\n", f, f);
	for (int st = SS_DP_PEER_SECURED; st <= SS_DP_PEER_BLOCKED; st++) {
		/* Only soft associations expire by themselves: the backend enforces their bound
		 * even when the daemon is gone.  Their counters tell the daemon whether they are
		 * idle (ss_dpu_list_soft). */
		const char *flags = st == SS_DP_PEER_SOFT ? " flags timeout; counter;" : "";
		ss_sb_printf(s, "  set %s4 { type ipv4_addr;%s }\n", set_base[st], flags);
		ss_sb_printf(s, "  set %s6 { type ipv6_addr;%s }\n", set_base[st], flags);
	}
}

/* Traffic to our own addresses goes over lo and is never secured (a filter whose prefix
 * covers the host itself must not send its loopback traffic into the TUN).
 * IPv6 neighbour discovery (RFC 4861) stays in the clear: without it no packet, clear or
 * ESP, reaches the peer at all.  ARP needs nothing: it is not IP. */
#define ND_BYPASS                                                                        \
	"icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "     \
	"nd-neighbor-advert, nd-redirect } accept"

/* TCP over the TUN: the socket sized its segments for the first route (eth0), but the
 * capture reroutes them into the TUN, whose smaller MTU (room for ESP) they do not fit, and
 * local path-MTU discovery does not see that reroute.  So the MSS of SYNs we send into the
 * TUN, and of SYNs that arrive decrypted from it, is clamped to what the TUN carries.
 * (From the daemon branch, where the end-to-end tests found it.) */
static void mss_clamp(ss_sb *s, const ss_dp_user_config *cfg, const char *match)
{
	for (int v6 = 0; v6 < 2; v6++) {
		int mss = cfg->tun_mtu - (v6 ? 60 : 40);
		ss_sb_printf(s, "    %smeta nfproto ipv%d tcp flags & syn == syn "
			     "tcp option maxseg size > %d tcp option maxseg size set %d\n",
			     match, v6 ? 6 : 4, mss, mss);
	}
}

static void table_out(ss_sb *s, const ss_dp_user_config *cfg)
{
	/* A route chain: changing the mark here makes the kernel route the packet again, so
	 * the capture mark sends it to the policy routing table with the TUN route. */
	ss_sb_printf(s,
		"  chain out {\n"
		"    type route hook output priority mangle; policy accept;\n"
		"    meta mark & 0x%x == 0x%x accept\n"
		"    oifname \"lo\" accept\n"
		"    meta l4proto udp th sport { 500, 4500 } accept\n"
		"    meta l4proto udp th dport { 500, 4500 } accept\n"
		"    " ND_BYPASS "\n"
		"    jump filt_out\n"
		"  }\n"
		"  chain filt_out {\n  }\n"
		"  chain need_out {\n"
		"    ip daddr @soft4 accept\n"
		"    ip6 daddr @soft6 accept\n"
		"    ip daddr @blocked4 counter name \"drop_blocked\" drop\n"
		"    ip6 daddr @blocked6 counter name \"drop_blocked\" drop\n",
		cfg->bypass_mark, cfg->bypass_mark);
	mss_clamp(s, cfg, "");
	ss_sb_printf(s,
		"    meta mark set meta mark | 0x%x counter accept\n"
		"  }\n",
		cfg->capture_mark);
	/* Fail closed: a captured packet that is about to leave by any interface but the TUN
	 * (the TUN died with the daemon, or its route is gone) is dropped.  This table is not
	 * tied to the process, so the guard outlives it.  It sits in postrouting because only
	 * there does oifname see the device chosen after the mark rerouted the packet (the
	 * output hooks keep the device of the first route lookup). */
	ss_sb_printf(s,
		"  chain guard {\n"
		"    type filter hook postrouting priority filter; policy accept;\n"
		"    meta mark & 0x%x == 0x%x oifname != \"%s\" counter name \"drop_fail_closed\" drop\n"
		"  }\n",
		cfg->capture_mark, cfg->capture_mark, cfg->tun_name);
}

/* The log rules of one verdict chain.  128 bytes hold any IP header plus the ports.  With a
 * rate, each source gets at most that many notices a second (a flood of clear packets from
 * one peer must not bury the daemon in notices); the rate limits only the log, never the
 * verdict, which the next rule gives to every packet. */
static void notice_rules(ss_sb *s, const ss_dp_user_config *cfg, char verdict)
{
	if (!cfg->notice_rate) {
		ss_sb_printf(s, "    log prefix \"softsa:%c\" group %u snaplen 128\n", verdict,
			     cfg->nflog_group);
		return;
	}
	static const char *const fam[] = { "4", "ip", "6", "ip6" };
	for (int i = 0; i < 4; i += 2)
		ss_sb_printf(s,
			"    update @notice%s { %s saddr limit rate %u/second burst %u packets } "
			"log prefix \"softsa:%c\" group %u snaplen 128\n",
			fam[i], fam[i + 1], cfg->notice_rate, cfg->notice_rate, verdict, cfg->nflog_group);
}

static void table_in(ss_sb *s, const ss_dp_user_config *cfg)
{
	char iif[48];
	snprintf(iif, sizeof iif, "iifname \"%s\" ", cfg->tun_name);
	ss_sb_printf(s,
		"  chain in {\n"
		"    type filter hook input priority filter; policy accept;\n");
	mss_clamp(s, cfg, iif);
	ss_sb_printf(s,
		"    iifname { \"%s\", \"lo\" } accept\n"
		"    meta l4proto esp accept\n"
		"    meta l4proto udp th dport { 500, 4500 } accept\n"
		"    " ND_BYPASS "\n"
		"    jump filt_in\n"
		"  }\n"
		"  chain filt_in {\n  }\n"
		"  chain in_peer {\n"
		"    ip saddr @secured4 counter name \"drop_clear_from_secure\" drop\n"
		"    ip6 saddr @secured6 counter name \"drop_clear_from_secure\" drop\n"
		"    ip saddr @blocked4 counter name \"drop_blocked\" drop\n"
		"    ip6 saddr @blocked6 counter name \"drop_blocked\" drop\n"
		"    ip saddr @soft4 accept\n"
		"    ip6 saddr @soft6 accept\n"
		"  }\n",
		cfg->tun_name);
	/* Unknown peers: report (the prefix tells the daemon what we did), then the verdict. */
	static const char *const verdicts[] = { "accept", "drop" };
	for (int i = 0; i < 2; i++) {
		ss_sb_printf(s, "  chain need_in_%s {\n    jump in_peer\n", verdicts[i]);
		notice_rules(s, cfg, verdicts[i][0]);
		ss_sb_printf(s, "    %s%s\n  }\n", i ? "counter name \"drop_no_clear\" " : "", verdicts[i]);
	}
}

void ss_nft_table(ss_sb *s, const ss_dp_user_config *cfg)
{
	ss_nft_delete_table(s);
	ss_sb_printf(s, "table " T " {\n");
	table_sets(s, cfg);
	table_out(s, cfg);
	table_in(s, cfg);
	ss_nft_tunnel_chains(s, cfg);
	ss_sb_printf(s, "}\n");
}

static void match_prefix(ss_sb *s, const char *fam, const char *dir, const ss_prefix *p)
{
	if (p->len == 0)
		return;
	char buf[SS_PREFIX_STRLEN];
	ss_sb_printf(s, " %s %s %s", fam, dir, ss_prefix_fmt(p, buf));
}

void ss_nft_filter_match(ss_sb *s, const ss_dp_filter *f, bool inbound)
{
	bool v4 = f->local.addr.family == SS_AF_INET;
	const char *fam = v4 ? "ip" : "ip6";
	ss_sb_printf(s, " meta nfproto %s", v4 ? "ipv4" : "ipv6");
	match_prefix(s, fam, inbound ? "daddr" : "saddr", &f->local);
	match_prefix(s, fam, inbound ? "saddr" : "daddr", &f->remote);
	if (f->proto)
		ss_sb_printf(s, " meta l4proto %u", f->proto);
	if (f->local_port)
		ss_sb_printf(s, " th %s %u", inbound ? "dport" : "sport", f->local_port);
	if (f->remote_port)
		ss_sb_printf(s, " th %s %u", inbound ? "sport" : "dport", f->remote_port);
}

static void filter_rule(ss_sb *s, const ss_dp_filter *f, bool inbound)
{
	ss_sb_printf(s, "add rule " T " %s", inbound ? "filt_in" : "filt_out");
	ss_nft_filter_match(s, f, inbound);
	if (f->verdict == SS_DP_PERMIT || f->verdict == SS_DP_BLOCK) {
		ss_sb_printf(s, " %s\n", f->verdict == SS_DP_PERMIT ? "accept" : "counter name \"drop_rule_block\" drop");
		return;
	}
	const char *target = !inbound ? "need_out"
			     : f->accept_inbound_clear ? "need_in_accept" : "need_in_drop";
	ss_sb_printf(s, " goto %s\n", target);
}

static bool filter_ok(const ss_dp_filter *f, const char **why)
{
	uint8_t fl = f->local.addr.family, fr = f->remote.addr.family;
	if ((fl != SS_AF_INET && fl != SS_AF_INET6) || fl != fr) {
		*why = "local and remote prefixes must be of one family";
		return false;
	}
	if (f->verdict > SS_DP_BLOCK) {
		*why = "unknown filter verdict";
		return false;
	}
	if ((f->local_port || f->remote_port) && !ss_ipproto_has_ports(f->proto)) {
		*why = "ports need protocol TCP, UDP, UDP-Lite or SCTP";
		return false;
	}
	return true;
}

bool ss_nft_filters_tunnels(ss_sb *s, const ss_dp_user_config *cfg, ss_nft_tunnels *t,
			    const ss_dp_filter *f, size_t n, const char **why)
{
	for (size_t i = 0; i < n; i++) {
		if (!filter_ok(&f[i], why))
			return false;
		if (f[i].tunnel.family && !t) {
			*why = "tunnel filters need the tunnel chains";
			return false;
		}
	}
	ss_sb_printf(s, "flush chain " T " filt_out\nflush chain " T " filt_in\n");
	if (t)
		ss_nft_tunnel_flush(s, t);
	for (size_t i = 0; i < n; i++) {
		if (f[i].tunnel.family) {
			if (!ss_nft_tunnel_filter(s, cfg, t, &f[i])) {
				*why = "too many tunnel endpoints";
				return false;
			}
			continue;
		}
		filter_rule(s, &f[i], false);
		filter_rule(s, &f[i], true);
	}
	return true;
}

bool ss_nft_filters(ss_sb *s, const ss_dp_filter *f, size_t n, const char **why)
{
	return ss_nft_filters_tunnels(s, NULL, NULL, f, n, why);
}

int ss_nft_soft_class(ss_sb *s, ss_nft_soft_classes *c, ss_time ms)
{
	if (ms == 0 || ms % 1000 || ms > 86400000u)
		return -1;
	for (size_t i = 0; i < c->n; i++)
		if (c->ms[i] == ms)
			return (int)i;
	if (c->n == SS_NFT_SOFT_CLASSES)
		return -1;
	unsigned secs = (unsigned)(ms / 1000);
	static const char *const fam[2][3] = { { "4", "ip", "ipv4_addr" }, { "6", "ip6", "ipv6_addr" } };
	for (int f = 0; f < 2; f++) {
		const char *n = fam[f][0], *ip = fam[f][1];
		ss_sb_printf(s, "add set " T " soft%s_%u { type %s; flags dynamic,timeout; timeout %us; counter; }\n",
			     n, secs, fam[f][2], secs);
		/* Both directions: what we send to the peer and what it sends us. */
		ss_sb_printf(s, "insert rule " T " need_out %s daddr @soft%s_%u update @soft%s_%u { %s daddr } accept\n",
			     ip, n, secs, n, secs, ip);
		ss_sb_printf(s, "insert rule " T " in_peer %s saddr @soft%s_%u update @soft%s_%u { %s saddr } accept\n",
			     ip, n, secs, n, secs, ip);
	}
	c->ms[c->n] = (uint32_t)ms;
	return (int)c->n++;
}

static void out_of(ss_sb *s, const char *set, int fam, unsigned secs, const char *a)
{
	char name[32];
	if (secs)
		snprintf(name, sizeof name, "%s%d_%u", set, fam, secs);
	else
		snprintf(name, sizeof name, "%s%d", set, fam);
	ss_sb_printf(s, "add element " T " %s { %s }\ndelete element " T " %s { %s }\n", name, a, name, a);
}

bool ss_nft_peer(ss_sb *s, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout,
		 const ss_nft_soft_classes *c)
{
	if (peer->family != SS_AF_INET && peer->family != SS_AF_INET6)
		return false;
	if (st > SS_DP_PEER_BLOCKED)
		return false;
	char a[SS_ADDR_STRLEN];
	ss_addr_fmt(peer, a);
	int fam = peer->family == SS_AF_INET ? 4 : 6;
	int cls = -1;
	if (st == SS_DP_PEER_SOFT && c && timeout != SS_NEVER)
		for (size_t i = 0; i < c->n; i++)
			if (c->ms[i] == timeout)
				cls = (int)i;
	/* nftables 1.0.6 has no "destroy element": add (a no-op when present) then delete
	 * removes it whether or not it was there, in the same atomic batch.  Re-adding to the
	 * plain soft set also resets its timeout, which a plain add would not. */
	for (int i = SS_DP_PEER_SECURED; i <= SS_DP_PEER_BLOCKED; i++)
		out_of(s, set_base[i], fam, 0, a);
	for (size_t i = 0; c && i < c->n; i++)
		if ((int)i != cls)
			out_of(s, "soft", fam, c->ms[i] / 1000, a);
	if (st == SS_DP_PEER_NONE)
		return true;
	if (cls >= 0) {
		/* Its class's timeout is the set's, and a present element keeps its counters. */
		ss_sb_printf(s, "add element " T " soft%d_%u { %s }\n", fam, c->ms[cls] / 1000, a);
		return true;
	}
	ss_sb_printf(s, "add element " T " %s%d { %s", set_base[st], fam, a);
	if (st == SS_DP_PEER_SOFT && timeout != SS_NEVER)
		ss_sb_printf(s, " timeout %llums", (unsigned long long)(timeout ? timeout : 1));
	ss_sb_printf(s, " }\n");
	return true;
}
