/* The classifier: a policy compiled for "which rule and filter apply to this packet?".
 *
 * Semantics (the naive oracle in tests/unit/policy/oracle.c states the same thing as a
 * linear scan; the two are compared on random policies):
 *
 *  - A packet key has a direction (out: its src is the local side; in: its dst is), a
 *    protocol, ports (0 for protocols without ports) and src/dst addresses.  Both addresses
 *    must be of the same family, IPv4 or IPv6; any other key matches nothing.
 *  - Candidates are the filters of the list of each rule, in rule order then filter order; a
 *    list used by two rules gives two sets of candidates, a list no rule uses gives none.  A
 *    mirrored filter adds its mirror right after it: src and dst swapped, sport and dport
 *    swapped.
 *  - An endpoint `any` matches any address of either family; `me` matches the local side of
 *    the packet only (a filter src=me matches outbound packets, dst=me inbound ones, so a
 *    mirrored `me -> X` also matches inbound X -> me, and `me -> me` matches nothing); a
 *    prefix matches the addresses it contains, of its own family only.
 *  - The protocol matches when the filter names none or names the packet's.
 *  - Ports match when each lies in its range.  A range other than 0-65535 only exists for
 *    protocols with ports; with proto any such a range requires the packet to be TCP, UDP or
 *    SCTP (ICMP has no ports; the range cannot mean "port 0 of anything").  With a named
 *    protocol the key's ports are compared as they are (the loader refuses ranges on
 *    protocols without ports).
 *  - The winner is the match with the greatest ss_filter_weight; ties go to the earliest
 *    candidate in the order above.
 *
 * Compiled form: every candidate becomes an entry carrying a 64-bit rank — weight in the
 * high bits, the inverse of its position in the candidate order in the low bits — so that
 * "greatest rank" is exactly the winner. */
#include <stdlib.h>
#include <string.h>

#include "policy/classify.h"

enum { IPPROTO_TCP_ = 6, IPPROTO_UDP_ = 17, IPPROTO_SCTP_ = 132 };

typedef struct entry {
	uint64_t rank;
	const ss_rule *rule;
	const ss_filter *filter;
	ss_endpoint src, dst;
	int16_t proto;
	bool mirrored;
	bool needs_ports; /* restricted port range: only TCP/UDP/SCTP packets */
	ss_port_range sport, dport;
} entry;

struct ss_classifier {
	entry *e;
	size_t n;
};

static bool full_range(ss_port_range r) { return r.lo == 0 && r.hi == 65535; }

static uint64_t make_rank(const ss_filter *f, uint32_t order)
{
	ss_weight w = ss_filter_weight(f);
	return (uint64_t)w.addr << 51 | (uint64_t)w.proto << 50 | (uint64_t)w.ports << 32 |
	       (uint32_t)(UINT32_MAX - order);
}

static entry make_entry(const ss_rule *r, const ss_filter *f, bool mirror, uint32_t order)
{
	entry e = {
		.rank = make_rank(f, order),
		.rule = r,
		.filter = f,
		.src = mirror ? f->dst : f->src,
		.dst = mirror ? f->src : f->dst,
		.proto = (int16_t)f->proto,
		.mirrored = mirror,
		.needs_ports = !full_range(f->sport) || !full_range(f->dport),
		.sport = mirror ? f->dport : f->sport,
		.dport = mirror ? f->sport : f->dport,
	};
	return e;
}

static int rank_desc(const void *a, const void *b)
{
	uint64_t x = ((const entry *)a)->rank, y = ((const entry *)b)->rank;
	return x < y ? 1 : x > y ? -1 : 0;
}

ss_classifier *ss_classifier_build(const ss_policy *p)
{
	ss_classifier *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	size_t cap = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].list)
			cap += 2 * p->rules[i].list->n_filters;
	c->e = calloc(cap ? cap : 1, sizeof(entry));
	if (!c->e) {
		free(c);
		return NULL;
	}
	uint32_t order = 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		const ss_rule *r = &p->rules[i];
		if (!r->list)
			continue;
		for (size_t j = 0; j < r->list->n_filters; j++) {
			const ss_filter *f = &r->list->filters[j];
			c->e[c->n++] = make_entry(r, f, false, order++);
			if (f->mirrored)
				c->e[c->n++] = make_entry(r, f, true, order++);
		}
	}
	qsort(c->e, c->n, sizeof(entry), rank_desc);
	return c;
}

void ss_classifier_free(ss_classifier *c)
{
	if (!c)
		return;
	free(c->e);
	free(c);
}

static bool ep_match(const ss_endpoint *ep, const ss_addr *a, bool local)
{
	switch (ep->kind) {
	case SS_EP_ANY:
		return true;
	case SS_EP_ME:
		return local;
	case SS_EP_PREFIX:
		return ss_prefix_contains(&ep->prefix, a);
	default:
		return false;
	}
}

static bool entry_match(const entry *e, const ss_pkt_key *k)
{
	if (e->proto != SS_PROTO_ANY && e->proto != k->proto)
		return false;
	if (e->needs_ports) {
		if (e->proto == SS_PROTO_ANY && k->proto != IPPROTO_TCP_ && k->proto != IPPROTO_UDP_ &&
		    k->proto != IPPROTO_SCTP_)
			return false;
		if (k->sport < e->sport.lo || k->sport > e->sport.hi ||
		    k->dport < e->dport.lo || k->dport > e->dport.hi)
			return false;
	}
	return ep_match(&e->src, &k->src, k->dir == SS_DIR_OUT) &&
	       ep_match(&e->dst, &k->dst, k->dir == SS_DIR_IN);
}

bool ss_classify(const ss_classifier *c, const ss_pkt_key *k, ss_match *out)
{
	if (k->src.family != k->dst.family ||
	    (k->src.family != SS_AF_INET && k->src.family != SS_AF_INET6))
		return false;
	for (size_t i = 0; i < c->n; i++) {
		const entry *e = &c->e[i];
		if (entry_match(e, k)) {
			out->rule = e->rule;
			out->filter = e->filter;
			out->mirrored = e->mirrored;
			return true;
		}
	}
	return false;
}

size_t ss_classifier_memory(const ss_classifier *c)
{
	return sizeof(*c) + c->n * sizeof(entry);
}
