/* Overrides between filters (overrides.h): set algebra over one-way traffic sets. */
#include "policy/overrides.h"

#include <stdlib.h>
#include <string.h>

/* Most specific first; equal weights keep file order (rule, then filter). */
static int by_effect(const void *x, const void *y)
{
	const ss_ranked *a = x, *b = y;
	int c = ss_weight_cmp(b->w, a->w);
	if (c)
		return c;
	if (a->rule_idx != b->rule_idx)
		return a->rule_idx < b->rule_idx ? -1 : 1;
	return a->filter_idx < b->filter_idx ? -1 : a->filter_idx > b->filter_idx;
}

ss_ranked *ss_policy_rank(const ss_policy *p, size_t *n)
{
	size_t total = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		total += p->rules[i].list->n_filters;
	ss_ranked *r = calloc(total ? total : 1, sizeof(*r));
	if (!r)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].list->n_filters; j++)
			r[k++] = (ss_ranked){ &p->rules[i], i, j, ss_filter_weight(&p->rules[i].list->filters[j]) };
	qsort(r, total, sizeof(*r), by_effect);
	*n = total;
	return r;
}

const ss_filter *ss_ranked_filter(const ss_ranked *r)
{
	return &r->rule->list->filters[r->filter_idx];
}

/* ---- one-way traffic sets: a filter without mirror, description or position ---- */

static ss_filter one_way(const ss_filter *f, bool reversed)
{
	ss_filter t = { .src = reversed ? f->dst : f->src, .dst = reversed ? f->src : f->dst,
			.proto = f->proto, .sport = reversed ? f->dport : f->sport,
			.dport = reversed ? f->sport : f->dport };
	return t;
}

static bool prefix_within(const ss_prefix *in, const ss_prefix *out)
{
	return in->addr.family == out->addr.family && in->len >= out->len && ss_prefix_contains(out, &in->addr);
}

/* a ∩ b into *out; false when empty (or, for `me` against a prefix, not knowable here). */
static bool ep_meet(const ss_endpoint *a, const ss_endpoint *b, ss_endpoint *out)
{
	if (a->kind == SS_EP_ANY || b->kind == SS_EP_ANY) {
		*out = a->kind == SS_EP_ANY ? *b : *a;
		return true;
	}
	if (a->kind != b->kind)
		return false;
	*out = *a;
	if (a->kind == SS_EP_ME)
		return true;
	if (prefix_within(&a->prefix, &b->prefix))
		return true;
	*out = *b;
	return prefix_within(&b->prefix, &a->prefix);
}

static bool ep_within(const ss_endpoint *in, const ss_endpoint *out)
{
	if (out->kind == SS_EP_ANY)
		return true;
	if (in->kind != out->kind)
		return false;
	return in->kind == SS_EP_ME || prefix_within(&in->prefix, &out->prefix);
}

static bool ports_meet(ss_port_range a, ss_port_range b, ss_port_range *out)
{
	out->lo = a.lo > b.lo ? a.lo : b.lo;
	out->hi = a.hi < b.hi ? a.hi : b.hi;
	return out->lo <= out->hi;
}

static bool meet(const ss_filter *a, const ss_filter *b, ss_filter *out)
{
	memset(out, 0, sizeof(*out));
	if (a->proto != SS_PROTO_ANY && b->proto != SS_PROTO_ANY && a->proto != b->proto)
		return false;
	out->proto = a->proto != SS_PROTO_ANY ? a->proto : b->proto;
	if (!ep_meet(&a->src, &b->src, &out->src) || !ep_meet(&a->dst, &b->dst, &out->dst))
		return false;
	/* From the host to itself is loopback, which no filter sees (the dataplane lets it by). */
	if (out->src.kind == SS_EP_ME && out->dst.kind == SS_EP_ME)
		return false;
	return ports_meet(a->sport, b->sport, &out->sport) && ports_meet(a->dport, b->dport, &out->dport);
}

static bool within(const ss_filter *in, const ss_filter *out)
{
	return (out->proto == SS_PROTO_ANY || in->proto == out->proto) && ep_within(&in->src, &out->src) &&
	       ep_within(&in->dst, &out->dst) && in->sport.lo >= out->sport.lo && in->sport.hi <= out->sport.hi &&
	       in->dport.lo >= out->dport.lo && in->dport.hi <= out->dport.hi;
}

/* Actions that treat packets alike: the same action, or two of one kind that is not
 * negotiate (two permits differ only in name). */
static bool same_effect(const ss_rule *a, const ss_rule *b)
{
	return a->action == b->action || (a->action->kind == b->action->kind && a->action->kind != SS_ACT_NEGOTIATE);
}

/* ---- the analysis ---- */

typedef struct found {
	ss_override *v;
	size_t n, cap;
	bool oom;
} found;

static void add(found *f, const ss_override *o)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].kind == o->kind && f->v[i].loser == o->loser && f->v[i].winner == o->winner &&
		    memcmp(&f->v[i].traffic, &o->traffic, sizeof(o->traffic)) == 0)
			return;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		ss_override *nv = realloc(f->v, cap * sizeof(*nv));
		if (!nv) {
			f->oom = true;
			return;
		}
		f->v = nv;
		f->cap = cap;
	}
	f->v[f->n++] = *o;
}

/* Who decides one-way traffic t among the first n filters: the first in effective order with
 * an instance that takes all of it, or -1 when none does (no single filter decides it, or no
 * rule at all). */
static long decider(const ss_ranked *r, size_t n, const ss_filter *t)
{
	for (size_t c = 0; c < n; c++) {
		const ss_filter *f = ss_ranked_filter(&r[c]);
		for (int rev = 0; rev <= (int)f->mirrored; rev++) {
			ss_filter inst = one_way(f, rev);
			if (within(t, &inst))
				return (long)c;
		}
	}
	return -1;
}

/* Filter `lo` (instance a) against every filter ranked before it. */
static void overrides_of(const ss_ranked *r, size_t lo, bool a_rev, found *out)
{
	const ss_filter *A = ss_ranked_filter(&r[lo]);
	ss_filter a = one_way(A, a_rev);
	for (size_t w = 0; w < lo; w++) {
		if (same_effect(r[w].rule, r[lo].rule))
			continue;
		const ss_filter *B = ss_ranked_filter(&r[w]);
		for (int b_rev = 0; b_rev <= (int)B->mirrored; b_rev++) {
			/* Both mirrored: (a, b) and (a reversed, b reversed) are the same finding. */
			if (a_rev && A->mirrored && B->mirrored)
				continue;
			ss_filter b = one_way(B, b_rev), x;
			/* A filter before the winner taking all of x decides it instead: the override
			 * is that filter's. */
			if (!meet(&a, &b, &x) || decider(r, w, &x) >= 0)
				continue;
			/* The same filter written twice: check notes it as never applying. */
			if (b_rev == a_rev && within(&a, &b) && within(&b, &a))
				continue;
			ss_override o = { .loser = lo, .winner = w, .traffic = x };
			o.traffic.mirrored = A->mirrored && B->mirrored; /* then it is so both ways */
			o.kind = within(&b, &a) ? SS_OV_NESTED : within(&a, &b) ? SS_OV_WHOLE : SS_OV_PARTIAL;
			/* Written the way the loser is written, mirrored as it is. */
			o.add = one_way(&x, a_rev);
			o.add.mirrored = A->mirrored;
			add(out, &o);
		}
	}
}

/* Filter i's traffic (as written) whose replies filter j decides, with another kind of action,
 * while i decides the traffic itself. */
static void mirror_conflicts(const ss_ranked *r, size_t n, size_t i, found *out)
{
	ss_filter back = one_way(ss_ranked_filter(&r[i]), true);
	for (size_t j = 0; j < n; j++) {
		if (j == i || r[j].rule->action->kind == r[i].rule->action->kind)
			continue;
		const ss_filter *B = ss_ranked_filter(&r[j]);
		for (int b_rev = 0; b_rev <= (int)B->mirrored; b_rev++) {
			ss_filter b = one_way(B, b_rev), replies, there;
			if (!meet(&back, &b, &replies))
				continue;
			there = one_way(&replies, true); /* the packets those replies answer */
			if (decider(r, n, &replies) != (long)j || decider(r, n, &there) != (long)i)
				continue;
			ss_override o = { .kind = SS_OV_MIRROR, .loser = i, .winner = j, .traffic = replies };
			bool seen = false; /* the same pair found from the other side */
			for (size_t k = 0; k < out->n && !seen; k++)
				seen = out->v[k].kind == SS_OV_MIRROR && out->v[k].loser == j && out->v[k].winner == i;
			if (!seen)
				add(out, &o);
		}
	}
}

ss_override *ss_policy_overrides(const ss_policy *p, const ss_ranked *r, size_t n, size_t *n_out)
{
	(void)p;
	found f = { 0 };
	for (size_t i = 0; i < n; i++) {
		const ss_filter *A = ss_ranked_filter(&r[i]);
		overrides_of(r, i, false, &f);
		if (A->mirrored)
			overrides_of(r, i, true, &f);
		mirror_conflicts(r, n, i, &f);
	}
	if (f.oom) {
		free(f.v);
		f.v = NULL;
		f.n = 0;
	}
	*n_out = f.n;
	return f.v;
}

const char *ss_override_severity(const ss_override *o)
{
	return o->kind == SS_OV_NESTED ? "note" : "warning";
}
