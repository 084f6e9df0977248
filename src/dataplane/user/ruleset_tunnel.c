/* The nftables text for tunnel rules (gateways): traffic between the network behind us and
 * the one behind a tunnel endpoint, forwarded or our own, goes through the TUN into a
 * tunnel-mode SA with the endpoint.  doc/dataplane.md, Tunnels.
 *
 *   gw_pre     prerouting: forwarded packets matching a tunnel filter (outbound half) are
 *              captured before the route lookup, by the same mark as the host's own, so the
 *              policy routing sends them into the TUN; the kernel's forwarding does the rest
 *              (TTL / hop limit decrement, ICMP "fragmentation needed" / "packet too big"
 *              when one exceeds the TUN's MTU with DF set).
 *   gw_fwd     forward: clear packets from the remote network (inbound half) meet the
 *              endpoint's state, as a host peer's do in `in`; decrypted ones from the TUN pass
 *              (their SYNs clamped first when the rule asks).
 *   tun<N>_out the endpoint's state for its outbound traffic: soft (clear, refreshing the
 *   tun<N>_in  soft set's element of the endpoint), blocked (dropped), otherwise empty (the
 *              filter's next rule captures, or reports the clear packet).  An nftables set
 *              lookup needs a packet field as its key and the endpoint is in none, so the
 *              state lives in these chains, rewritten when the endpoint's state changes. */
#include <stdio.h>
#include <string.h>

#include "dataplane/pkt.h"
#include "dataplane/user/ruleset.h"

#define T "inet " SS_DP_TABLE_NAME

void ss_nft_tunnel_chains(ss_sb *s, const ss_dp_user_config *cfg)
{
	ss_sb_printf(s,
		"  chain gw_pre {\n"
		"    type filter hook prerouting priority mangle; policy accept;\n"
		"    iifname \"%s\" accept\n"
		"    meta l4proto esp accept\n"
		"    meta l4proto udp th dport { 500, 4500 } accept\n"
		"    jump filt_pre\n"
		"  }\n"
		"  chain filt_pre {\n  }\n"
		"  chain gw_fwd {\n"
		"    type filter hook forward priority filter; policy accept;\n"
		"    iifname \"%s\" jump tun_rx\n"
		"    iifname \"%s\" accept\n"
		"    meta mark & 0x%x == 0x%x accept\n"
		"    jump filt_fwd\n"
		"  }\n"
		"  chain filt_fwd {\n  }\n"
		"  chain tun_rx {\n  }\n",
		cfg->tun_name, cfg->tun_name, cfg->tun_name, cfg->capture_mark, cfg->capture_mark);
}

static int tunnel_index(ss_nft_tunnels *t, const ss_addr *ep)
{
	for (size_t i = 0; i < t->n; i++)
		if (ss_addr_eq(&t->ep[i], ep))
			return (int)i;
	return -1;
}

bool ss_nft_tunnel_peer(ss_sb *s, const ss_nft_tunnels *t, size_t i)
{
	if (i >= t->n)
		return false;
	const ss_nft_tunnel *x = &t->tun[i];
	char a[SS_ADDR_STRLEN];
	ss_addr_fmt(&t->ep[i], a);
	int fam = t->ep[i].family == SS_AF_INET ? 4 : 6;
	for (int in = 0; in < 2; in++) {
		const char *dir = in ? "in" : "out";
		ss_sb_printf(s, "add chain " T " tun%zu_%s\nflush chain " T " tun%zu_%s\n", i, dir, i, dir);
		switch (x->st) {
		case SS_DP_PEER_SOFT:
			/* Clear, as long as the soft association lasts: its traffic keeps the
			 * endpoint's element (and counters) in its soft set fresh, as a host
			 * peer's own packets do. */
			if (x->soft_secs)
				ss_sb_printf(s, "add rule " T " tun%zu_%s update @soft%d_%u { %s } accept\n", i,
					     dir, fam, x->soft_secs, a);
			else
				ss_sb_printf(s, "add rule " T " tun%zu_%s accept\n", i, dir);
			break;
		case SS_DP_PEER_BLOCKED:
			ss_sb_printf(s, "add rule " T " tun%zu_%s counter name \"drop_blocked\" drop\n", i, dir);
			break;
		case SS_DP_PEER_SECURED:
			if (in)
				ss_sb_printf(s, "add rule " T " tun%zu_in counter name \"drop_clear_from_secure\" drop\n", i);
			break;
		default:
			break;
		}
	}
	return true;
}

static void clamp(ss_sb *s, const char *chain, const ss_dp_filter *f, bool inbound)
{
	if (!f->tcp_mss)
		return;
	ss_sb_printf(s, "add rule " T " %s", chain);
	ss_nft_filter_match(s, f, inbound);
	ss_sb_printf(s, " tcp flags & syn == syn tcp option maxseg size > %u tcp option maxseg size set %u\n",
		     f->tcp_mss, f->tcp_mss);
}

/* One direction of a tunnel filter in one chain: the endpoint's state, then the capture
 * (outbound) or the report and the rule's verdict for clear packets (inbound). */
static void half(ss_sb *s, const ss_dp_user_config *cfg, const char *chain, const ss_dp_filter *f,
		 int i, bool inbound)
{
	ss_sb_printf(s, "add rule " T " %s", chain);
	ss_nft_filter_match(s, f, inbound);
	ss_sb_printf(s, " jump tun%d_%s\n", i, inbound ? "in" : "out");
	if (!inbound)
		clamp(s, chain, f, false);
	ss_sb_printf(s, "add rule " T " %s", chain);
	ss_nft_filter_match(s, f, inbound);
	if (inbound)
		ss_sb_printf(s, " goto %s\n", f->accept_inbound_clear ? "need_in_accept" : "need_in_drop");
	else
		ss_sb_printf(s, " meta mark set meta mark | 0x%x counter accept\n", cfg->capture_mark);
}

void ss_nft_tunnel_flush(ss_sb *s, ss_nft_tunnels *t)
{
	ss_sb_printf(s, "flush chain " T " filt_pre\nflush chain " T " filt_fwd\nflush chain " T " tun_rx\n");
	/* Endpoints that stay keep their state (a reload must not forget an SA or a soft
	 * association); new ones start unknown. */
	t->n_new = 0;
}

bool ss_nft_tunnel_filter(ss_sb *s, const ss_dp_user_config *cfg, ss_nft_tunnels *t, const ss_dp_filter *f)
{
	int i = -1;
	for (size_t k = 0; k < t->n_new; k++)
		if (ss_addr_eq(&t->next_ep[k], &f->tunnel))
			i = (int)k;
	if (i < 0) {
		if (t->n_new == SS_NFT_MAX_TUNNELS)
			return false;
		i = (int)t->n_new++;
		t->next_ep[i] = f->tunnel;
		int old = tunnel_index(t, &f->tunnel);
		t->next[i] = old >= 0 ? t->tun[old] : (ss_nft_tunnel){ 0 };
	}
	/* Chains are numbered by the new list, which replaces the old one below: write them
	 * before a rule jumps there. */
	ss_nft_tunnels one = { .n = (size_t)i + 1 };
	one.ep[i] = f->tunnel;
	one.tun[i] = t->next[i];
	ss_nft_tunnel_peer(s, &one, (size_t)i);
	half(s, cfg, "filt_out", f, i, false);
	half(s, cfg, "filt_pre", f, i, false);
	half(s, cfg, "filt_in", f, i, true);
	half(s, cfg, "filt_fwd", f, i, true);
	char iif[48];
	snprintf(iif, sizeof iif, "tun_rx");
	clamp(s, iif, f, true);
	return true;
}

void ss_nft_tunnel_commit(ss_nft_tunnels *t)
{
	memcpy(t->ep, t->next_ep, sizeof(t->ep[0]) * t->n_new);
	memcpy(t->tun, t->next, sizeof(t->tun[0]) * t->n_new);
	t->n = t->n_new;
}

int ss_nft_tunnel_find(const ss_nft_tunnels *t, const ss_addr *ep)
{
	return tunnel_index((ss_nft_tunnels *)t, ep);
}
