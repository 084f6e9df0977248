#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpolicy.h"

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);
	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

ss_policy *tp_new(size_t max_lists, size_t max_actions, size_t max_rules)
{
	ss_policy *p = xcalloc(1, sizeof(*p));
	p->name = xstrdup("test");
	p->lists = xcalloc(max_lists, sizeof(*p->lists));
	p->actions = xcalloc(max_actions, sizeof(*p->actions));
	p->rules = xcalloc(max_rules, sizeof(*p->rules));
	return p;
}

ss_filter_list *tp_list(ss_policy *p, const char *name)
{
	ss_filter_list *l = &p->lists[p->n_lists++];
	l->name = xstrdup(name);
	return l;
}

ss_filter_action *tp_action(ss_policy *p, const char *name, enum ss_action_kind kind)
{
	ss_filter_action *a = &p->actions[p->n_actions++];
	a->name = xstrdup(name);
	a->kind = (uint8_t)kind;
	return a;
}

ss_rule *tp_rule(ss_policy *p, const char *name, const ss_filter_list *l, const ss_filter_action *a)
{
	ss_rule *r = &p->rules[p->n_rules++];
	r->name = xstrdup(name);
	r->list = l;
	r->action = a;
	return r;
}

size_t tp_filter(ss_filter_list *l, ss_endpoint src, ss_endpoint dst, int proto, bool mirrored)
{
	/* Grows by doubling; capacity is implied by n (powers of two). */
	size_t n = l->n_filters;
	if ((n & (n - 1)) == 0) {
		ss_filter *f = realloc(l->filters, (n ? 2 * n : 1) * sizeof(*f));
		if (!f)
			abort();
		l->filters = f;
	}
	ss_filter *f = &l->filters[n];
	memset(f, 0, sizeof(*f));
	f->src = src;
	f->dst = dst;
	f->proto = proto;
	f->sport = (ss_port_range){ 0, 65535 };
	f->dport = (ss_port_range){ 0, 65535 };
	f->mirrored = mirrored;
	l->n_filters = n + 1;
	return n;
}

ss_filter *tp_last(ss_filter_list *l) { return &l->filters[l->n_filters - 1]; }

ss_endpoint tp_any(void) { return (ss_endpoint){ .kind = SS_EP_ANY }; }
ss_endpoint tp_me(void) { return (ss_endpoint){ .kind = SS_EP_ME }; }

ss_endpoint tp_pfx(const char *s)
{
	ss_endpoint e = { .kind = SS_EP_PREFIX };
	const char *why;
	if (!ss_prefix_parse(s, &e.prefix, false, &why)) {
		fprintf(stderr, "tp_pfx(%s): %s\n", s, why);
		abort();
	}
	return e;
}

ss_addr tp_addr(const char *s)
{
	ss_addr a;
	if (!ss_addr_parse(s, &a)) {
		fprintf(stderr, "tp_addr(%s)\n", s);
		abort();
	}
	return a;
}

ss_pkt_key tp_key(enum ss_dir dir, const char *src, const char *dst, uint8_t proto,
		  uint16_t sport, uint16_t dport)
{
	ss_pkt_key k = { .dir = (uint8_t)dir, .proto = proto, .sport = sport, .dport = dport };
	k.src = tp_addr(src);
	k.dst = tp_addr(dst);
	return k;
}

/* ---- the oracle: written from the semantics, sharing no code with classify.c ---- */

static bool endpoint_ok(const ss_endpoint *e, const ss_addr *a, bool is_local)
{
	if (e->kind == SS_EP_ANY)
		return true;
	if (e->kind == SS_EP_ME)
		return is_local;
	return ss_prefix_contains(&e->prefix, a); /* base/addr.c, not the classifier's masks */
}

static bool in_range(ss_port_range r, uint16_t port) { return port >= r.lo && port <= r.hi; }

static bool filter_ok(const ss_filter *f, bool mirror, const ss_pkt_key *k)
{
	/* The mirror is the forward filter applied to the reversed packet. */
	const ss_addr *src = mirror ? &k->dst : &k->src, *dst = mirror ? &k->src : &k->dst;
	uint16_t sport = mirror ? k->dport : k->sport, dport = mirror ? k->sport : k->dport;
	bool src_local = (k->dir == SS_DIR_OUT) != mirror;
	if (!endpoint_ok(&f->src, src, src_local) || !endpoint_ok(&f->dst, dst, !src_local))
		return false;
	if (f->proto != SS_PROTO_ANY && f->proto != k->proto)
		return false;
	bool narrowed = f->sport.lo != 0 || f->sport.hi != 65535 || f->dport.lo != 0 ||
			f->dport.hi != 65535;
	if (narrowed && f->proto == SS_PROTO_ANY && k->proto != 6 && k->proto != 17 && k->proto != 132)
		return false;
	return !narrowed || (in_range(f->sport, sport) && in_range(f->dport, dport));
}

bool tp_oracle(const ss_policy *p, const ss_pkt_key *k, ss_match *out)
{
	if (k->src.family != k->dst.family ||
	    (k->src.family != SS_AF_INET && k->src.family != SS_AF_INET6))
		return false;
	bool found = false;
	ss_weight best = { 0 };
	for (size_t i = 0; i < p->n_rules; i++) {
		const ss_filter_list *l = p->rules[i].list;
		for (size_t j = 0; l && j < l->n_filters; j++) {
			const ss_filter *f = &l->filters[j];
			for (int m = 0; m <= (f->mirrored ? 1 : 0); m++) {
				if (!filter_ok(f, m, k))
					continue;
				ss_weight w = ss_filter_weight(f);
				/* Strictly greater only: on a tie the earlier candidate stays. */
				if (found && ss_weight_cmp(w, best) <= 0)
					continue;
				found = true;
				best = w;
				*out = (ss_match){ .rule = &p->rules[i], .filter = f, .mirrored = m };
			}
		}
	}
	return found;
}

uint64_t tp_next(tp_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}
