/* The policy as the dataplane needs it: one filter per (filter, family, direction written) of
 * every rule, most specific first (the dataplane's first match wins; the classifier's most
 * specific filter wins, ties to the earliest in the file: the same order).
 *
 *   negotiate  captured (outbound) / reported (inbound).  Where a filter cannot be said
 *              exactly (a port range other than one port), it is widened to any port: the
 *              agent, which sees every captured packet with the real classifier, decides.
 *   permit,    in the clear / dropped by the dataplane itself.  These must never be wider
 *   block      than written (a wide permit would let clear traffic past a negotiate rule),
 *              so a filter that cannot be said exactly is left out, and the negotiate filter
 *              under it, with the agent, decides instead.
 *
 * `me` is any local address: exact for host traffic (output: the source is ours; input:
 * the destination is). */
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "dataplane/pkt.h"
#include "policy/policy.h"

typedef struct entry {
	ss_dp_filter f;
	ss_weight w;
	size_t seq; /* file order: ties go to the earliest */
} entry;

typedef struct sink {
	entry *e;
	size_t n, max;
	bool overflow;
} sink;

static void put(sink *s, const ss_dp_filter *f, ss_weight w)
{
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(&s->e[i].f, f, sizeof(*f)) == 0)
			return; /* duplicates (e.g. a filter and its written-out mirror) */
	if (s->n == s->max) {
		s->overflow = true;
		return;
	}
	s->e[s->n] = (entry){ .f = *f, .w = w, .seq = s->n };
	s->n++;
}

static int by_weight(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	int c = ss_weight_cmp(y->w, x->w); /* more specific first */
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The prefix an endpoint stands for in one family, or false if it has none there. */
static bool ep_prefix(const ss_endpoint *e, uint8_t family, ss_prefix *out)
{
	if (e->kind == SS_EP_PREFIX) {
		if (e->prefix.addr.family != family)
			return false;
		*out = e->prefix;
		return true;
	}
	memset(out, 0, sizeof(*out));
	out->addr.family = family; /* me / any: the whole family */
	return true;
}

static bool any_port(const ss_port_range *r) { return r->lo == 0 && r->hi == 65535; }

static uint16_t one_port(int proto, const ss_port_range *r)
{
	if (proto == SS_PROTO_ANY || !ss_ipproto_has_ports((uint8_t)proto))
		return 0;
	return r->lo == r->hi ? r->lo : 0;
}

/* Can the dataplane say this port range exactly (any port, or one)? */
static bool exact_ports(int proto, const ss_port_range *r)
{
	if (any_port(r))
		return true;
	return proto != SS_PROTO_ANY && ss_ipproto_has_ports((uint8_t)proto) && r->lo == r->hi;
}

static void emit(sink *s, const ss_endpoint *local, const ss_endpoint *remote, int proto,
		 const ss_port_range *lport, const ss_port_range *rport, bool accept, uint8_t verdict,
		 ss_weight w, const ss_rule *rule)
{
	if (verdict != SS_DP_NEGOTIATE && (!exact_ports(proto, lport) || !exact_ports(proto, rport)))
		return;
	static const uint8_t fams[] = { SS_AF_INET, SS_AF_INET6 };
	for (size_t i = 0; i < 2; i++) {
		ss_dp_filter f;
		memset(&f, 0, sizeof(f));
		if (!ep_prefix(local, fams[i], &f.local) || !ep_prefix(remote, fams[i], &f.remote))
			continue;
		/* ICMP is IPv4's and ICMPv6 IPv6's: "any" endpoints span both families, and the
		 * other family's filter would match nothing and only take a slot (an XFRM policy
		 * pair on the kernel dataplane). */
		if ((proto == 1 && fams[i] != SS_AF_INET) || (proto == 58 && fams[i] != SS_AF_INET6))
			continue;
		f.proto = proto == SS_PROTO_ANY ? 0 : (uint8_t)proto;
		f.local_port = one_port(proto, lport);
		f.remote_port = one_port(proto, rport);
		f.accept_inbound_clear = accept;
		f.verdict = verdict;
		/* A gateway's tunnel: the networks on both sides.  A tunnel rule between this host
		 * and the endpoint itself (src me) stays a host filter: tunnel mode, host traffic. */
		if (rule->tunnel && local->kind == SS_EP_PREFIX) {
			f.tunnel = rule->tunnel_endpoint;
			f.tcp_mss = rule->tcp_mss_clamp;
		}
		put(s, &f, w);
	}
}

size_t dm_compile_filters(const ss_policy *p, ss_dp_filter *out, size_t max)
{
	static const uint8_t verdict[] = { [SS_ACT_PERMIT] = SS_DP_PERMIT, [SS_ACT_BLOCK] = SS_DP_BLOCK,
					   [SS_ACT_NEGOTIATE] = SS_DP_NEGOTIATE };
	sink s = { .e = calloc(max ? max : 1, sizeof(entry)), .max = max };
	if (!s.e)
		return (size_t)-1;
	for (size_t r = 0; r < p->n_rules; r++) {
		const ss_rule *rule = &p->rules[r];
		if (!rule->action || !rule->list || rule->action->kind > SS_ACT_NEGOTIATE)
			continue;
		uint8_t v = verdict[rule->action->kind];
		bool accept = v == SS_DP_NEGOTIATE && rule->action->accept_unsecured;
		for (size_t i = 0; i < rule->list->n_filters; i++) {
			const ss_filter *f = &rule->list->filters[i];
			ss_weight w = ss_filter_weight(f);
			if (rule->tunnel) {
				/* A tunnel filter is written from this gateway's side: src the network
				 * behind it, dst the one behind the endpoint; its mirror is the same
				 * tunnel's inbound half, which the dataplane derives itself. */
				emit(&s, &f->src, &f->dst, f->proto, &f->sport, &f->dport, accept, v, w, rule);
				continue;
			}
			if (f->dst.kind == SS_EP_ME && f->src.kind != SS_EP_ME) {
				/* Written from the peer's side: local is the destination. */
				emit(&s, &f->dst, &f->src, f->proto, &f->dport, &f->sport, accept, v, w, rule);
				continue;
			}
			emit(&s, &f->src, &f->dst, f->proto, &f->sport, &f->dport, accept, v, w, rule);
			if (f->mirrored && f->src.kind != SS_EP_ME)
				emit(&s, &f->dst, &f->src, f->proto, &f->dport, &f->sport, accept, v, w, rule);
		}
	}
	size_t n = 0;
	if (!s.overflow) {
		qsort(s.e, s.n, sizeof(entry), by_weight);
		for (; n < s.n; n++)
			out[n] = s.e[n].f;
	}
	bool overflow = s.overflow;
	free(s.e);
	return overflow ? (size_t)-1 : n;
}
