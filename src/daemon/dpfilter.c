/* The policy as the dataplane needs it: one negotiate filter per (filter, family) of every
 * rule whose action negotiates.  The dataplane captures more than strictly needed where a
 * filter cannot be said exactly (`me` is any local address; a port range other than one
 * port becomes any port): the agent, which sees every captured packet with the real
 * classifier, still decides.  Permit and block rules need no dataplane filter: traffic not
 * captured flows as the host's own firewall says, and a block rule's traffic is dropped by
 * the agent when it overlaps a negotiate filter. */
#include <string.h>

#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "dataplane/pkt.h"
#include "policy/policy.h"

typedef struct sink {
	ss_dp_filter *out;
	size_t n, max;
	bool overflow;
} sink;

static void put(sink *s, const ss_dp_filter *f)
{
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(&s->out[i], f, sizeof(*f)) == 0)
			return; /* duplicates (e.g. a filter and its written-out mirror) */
	if (s->n == s->max) {
		s->overflow = true;
		return;
	}
	s->out[s->n++] = *f;
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

static uint16_t one_port(int proto, const ss_port_range *r)
{
	if (proto == SS_PROTO_ANY || !ss_ipproto_has_ports((uint8_t)proto))
		return 0;
	return r->lo == r->hi ? r->lo : 0;
}

static void emit(sink *s, const ss_endpoint *local, const ss_endpoint *remote, int proto,
		 const ss_port_range *lport, const ss_port_range *rport, bool accept)
{
	static const uint8_t fams[] = { SS_AF_INET, SS_AF_INET6 };
	for (size_t i = 0; i < 2; i++) {
		ss_dp_filter f;
		memset(&f, 0, sizeof(f));
		if (!ep_prefix(local, fams[i], &f.local) || !ep_prefix(remote, fams[i], &f.remote))
			continue;
		f.proto = proto == SS_PROTO_ANY ? 0 : (uint8_t)proto;
		f.local_port = one_port(proto, lport);
		f.remote_port = one_port(proto, rport);
		f.accept_inbound_clear = accept;
		put(s, &f);
	}
}

size_t dm_compile_filters(const ss_policy *p, ss_dp_filter *out, size_t max)
{
	sink s = { .out = out, .max = max };
	for (size_t r = 0; r < p->n_rules; r++) {
		const ss_rule *rule = &p->rules[r];
		if (!rule->action || rule->action->kind != SS_ACT_NEGOTIATE || !rule->list)
			continue;
		bool accept = rule->action->accept_unsecured;
		for (size_t i = 0; i < rule->list->n_filters; i++) {
			const ss_filter *f = &rule->list->filters[i];
			if (f->dst.kind == SS_EP_ME && f->src.kind != SS_EP_ME) {
				/* Written from the peer's side: local is the destination. */
				emit(&s, &f->dst, &f->src, f->proto, &f->dport, &f->sport, accept);
				continue;
			}
			emit(&s, &f->src, &f->dst, f->proto, &f->sport, &f->dport, accept);
			if (f->mirrored && f->src.kind != SS_EP_ME)
				emit(&s, &f->dst, &f->src, f->proto, &f->dport, &f->sport, accept);
		}
	}
	return s.overflow ? (size_t)-1 : s.n;
}
