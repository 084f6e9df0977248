/* The classifier: a policy compiled for "which rule and filter apply to this packet?".
 *
 * Semantics (the naive oracle in tests/unit/policy/tpolicy.c states the same thing as a
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
 * Compiled form.  Every candidate carries a 64-bit rank — the weight in the high bits, the
 * inverse of its position in the candidate order in the low bits — so that "greatest rank"
 * is exactly the winner.  Per address family, candidates are grouped by their exact
 * (src endpoint, dst endpoint) pair — a prefix with its length, `me` or `any` — in one hash
 * table, each group sorted best first, so the first candidate of a group whose protocol
 * and ports fit is the group's winner.
 *
 * A lookup needs, for each address, the endpoints that contain it.  Those are the address
 * masked to each prefix length some filter uses on that side, plus `me` (local side only)
 * and `any`; a per-side Bloom filter, small enough to stay in cache, drops the lengths at
 * which no filter names this address, so what is left is almost exactly the set of
 * containing prefixes (a false positive costs one probe that finds nothing).  The address
 * weight of a pair is the sum of its endpoint weights, so pairs are visited in decreasing
 * weight and the search stops as soon as no remaining pair can outrank the best match:
 * the usual lookup costs one probe of the pair table, its only cache miss. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "policy/classify.h"
#include "policy/classify_tables.h"

enum { PROTO_TCP = 6, PROTO_UDP = 17, PROTO_SCTP = 132 };
enum { SRC = 0, DST = 1 };
enum { ME_WEIGHT = 128 }; /* `me` weighs as a host (policy.h) */
enum { CF_MIRRORED = 1, CF_PORTS = 2, CF_NEEDS_PORTED = 4 };
#define MAX_LEN 128
#define CHAIN_MAX (MAX_LEN + 1 + 2)

typedef cl_cand cand;

typedef struct fam {
	unsigned family;               /* SS_AF_INET or SS_AF_INET6 */
	uint8_t lens[2][MAX_LEN + 1];  /* prefix lengths used on each side, longest first */
	cl_akey masks[2][MAX_LEN + 1]; /* their masks */
	uint16_t weights[2][MAX_LEN + 1];
	unsigned n_lens[2];
	unsigned me_at[2];             /* `me` goes before lens[side][me_at] in a chain */
	bool me[2], any[2];            /* `me` / `any` used on that side */
	uint64_t *bloom[2];            /* per side, over (length, masked address) */
	uint32_t bloom_mask;
	uint64_t *pbloom;              /* over the pairs of bt */
	uint32_t pbloom_mask;
	cl_bslot *bt;
	uint32_t bmask;
	cand *c;                       /* every group, best first, back to back */
	uint32_t n_c;
} fam;

struct ss_classifier {
	fam f[2]; /* IPv4, IPv6 */
	size_t memory;
};

static unsigned code_weight(unsigned family, unsigned code)
{
	if (code == CL_CODE_ME)
		return ME_WEIGHT;
	if (code == CL_CODE_ANY)
		return 0;
	return family == SS_AF_INET ? 96 + code : code;
}

/* ------------------------------------------------------------------ build */

/* Large tables are probed at random; on 4 KiB pages nearly every probe would also miss the
 * TLB (and under virtualisation a TLB miss costs more than the cache miss), so they ask for
 * transparent huge pages.  Zeroed, overflow-checked, counted. */
static void *cl_alloc(ss_classifier *c, size_t n, size_t size)
{
	enum { HUGE = 2u << 20 };
	if (n == 0)
		n = 1;
	if (size && n > SIZE_MAX / size)
		return NULL;
	size_t bytes = n * size;
	void *p;
	if (bytes >= HUGE) {
		bytes = (bytes + HUGE - 1) / HUGE * HUGE;
		if (posix_memalign(&p, HUGE, bytes) != 0)
			return NULL;
		madvise(p, bytes, MADV_HUGEPAGE); /* advice only: failure just means small pages */
		memset(p, 0, bytes);
	} else if (!(p = calloc(n, size))) {
		return NULL;
	}
	c->memory += bytes;
	return p;
}

static uint32_t pow2_at_least(size_t n)
{
	uint32_t s = 4;
	while (s < n)
		s <<= 1;
	return s;
}

static bool full_range(ss_port_range r) { return r.lo == 0 && r.hi == 65535; }

static uint64_t make_rank(const ss_filter *f, uint32_t order)
{
	ss_weight w = ss_filter_weight(f);
	return (uint64_t)w.addr << 51 | (uint64_t)w.proto << 50 | (uint64_t)w.ports << 32 |
	       (uint32_t)(UINT32_MAX - order);
}

/* Which family structures a filter goes into: bit 0 IPv4, bit 1 IPv6.  A prefix pins the
 * family; `any` and `me` fit both; a filter naming both families matches nothing. */
static unsigned families_of(const ss_filter *f)
{
	unsigned m = 3;
	const ss_endpoint *e[2] = { &f->src, &f->dst };
	for (int i = 0; i < 2; i++) {
		if (e[i]->kind == SS_EP_PREFIX)
			m &= e[i]->prefix.addr.family == SS_AF_INET ? 1 : e[i]->prefix.addr.family == SS_AF_INET6 ? 2 : 0;
		else if (e[i]->kind != SS_EP_ANY && e[i]->kind != SS_EP_ME)
			m = 0;
	}
	return m;
}

static cl_ep ep_of(const ss_endpoint *e)
{
	cl_ep x = { { 0, 0 }, e->kind == SS_EP_ME ? CL_CODE_ME : CL_CODE_ANY };
	if (e->kind == SS_EP_PREFIX) {
		cl_akey m = cl_mask_of(e->prefix.len);
		x.a = cl_akey_of(&e->prefix.addr);
		x.a.hi &= m.hi;
		x.a.lo &= m.lo;
		x.code = e->prefix.len;
	}
	return x;
}

/* A candidate as it is laid out before grouping. */
typedef struct pre {
	cl_ep s, d;
	cand c;
} pre;

static int ep_cmp(const cl_ep *a, const cl_ep *b)
{
	if (a->code != b->code)
		return a->code < b->code ? -1 : 1;
	if (a->a.hi != b->a.hi)
		return a->a.hi < b->a.hi ? -1 : 1;
	if (a->a.lo != b->a.lo)
		return a->a.lo < b->a.lo ? -1 : 1;
	return 0;
}

static int pre_cmp(const void *x, const void *y)
{
	const pre *a = x, *b = y;
	int r = ep_cmp(&a->s, &b->s);
	if (!r)
		r = ep_cmp(&a->d, &b->d);
	if (!r)
		r = a->c.rank < b->c.rank ? 1 : a->c.rank > b->c.rank ? -1 : 0;
	return r;
}

static cand make_cand(const ss_rule *r, const ss_filter *f, bool mirror, uint32_t order)
{
	const ss_port_range *s = mirror ? &f->dport : &f->sport, *d = mirror ? &f->sport : &f->dport;
	cand x = { .rank = make_rank(f, order), .rule = r, .filter = f, .proto = (int16_t)f->proto,
		   .slo = s->lo, .shi = s->hi, .dlo = d->lo, .dhi = d->hi };
	x.flags = mirror ? CF_MIRRORED : 0;
	if (!full_range(f->sport) || !full_range(f->dport))
		x.flags |= CF_PORTS | (f->proto == SS_PROTO_ANY ? CF_NEEDS_PORTED : 0);
	return x;
}

/* Records an endpoint on one side: its length, or the `me` / `any` flag, and the Bloom bit. */
static void note_endpoint(fam *f, int side, const cl_ep *e, bool used[2][MAX_LEN + 1])
{
	if (e->code == CL_CODE_ME)
		f->me[side] = true;
	else if (e->code == CL_CODE_ANY)
		f->any[side] = true;
	else {
		used[side][e->code] = true;
		cl_bloom_add(f->bloom[side], f->bloom_mask, cl_ep_hash(e->a, e->code));
	}
}

/* Groups the candidates by endpoint pair and fills the pair table and its Bloom filter. */
static bool build_pairs(ss_classifier *c, fam *f, pre *ps, size_t n)
{
	qsort(ps, n, sizeof(*ps), pre_cmp);
	size_t groups = 0;
	for (size_t i = 0; i < n; i++)
		groups += i == 0 || ep_cmp(&ps[i].s, &ps[i - 1].s) || ep_cmp(&ps[i].d, &ps[i - 1].d);
	f->c = cl_alloc(c, n, sizeof(*f->c));
	f->bmask = pow2_at_least(2 * groups) - 1;
	f->bt = cl_alloc(c, f->bmask + 1, sizeof(*f->bt));
	f->pbloom_mask = pow2_at_least(groups / 4 + 1) - 1;
	f->pbloom = cl_alloc(c, f->pbloom_mask + 1, sizeof(*f->pbloom));
	if (!f->c || !f->bt || !f->pbloom)
		return false;
	f->n_c = (uint32_t)n;
	for (size_t i = 0, start = 0; i < n; i++) {
		f->c[i] = ps[i].c;
		if (i + 1 < n && !ep_cmp(&ps[i + 1].s, &ps[i].s) && !ep_cmp(&ps[i + 1].d, &ps[i].d))
			continue;
		const cl_ep *s = &ps[i].s, *d = &ps[i].d;
		uint64_t h = cl_pair_hash(cl_ep_hash(s->a, s->code), cl_ep_hash(d->a, d->code));
		cl_bloom_add(f->pbloom, f->pbloom_mask, h);
		uint32_t at = (uint32_t)h & f->bmask;
		while (f->bt[at].count)
			at = (at + 1) & f->bmask;
		f->bt[at] = (cl_bslot){ .first = ps[start].c, .s = s->a, .d = d->a, .start = (uint32_t)start,
					.count = (uint32_t)(i + 1 - start), .scode = s->code, .dcode = d->code };
		start = i + 1;
	}
	return true;
}

static bool build_family(ss_classifier *c, const ss_policy *p, unsigned fi)
{
	fam *f = &c->f[fi];
	f->family = fi == 0 ? SS_AF_INET : SS_AF_INET6;
	size_t n = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; p->rules[i].list && j < p->rules[i].list->n_filters; j++) {
			const ss_filter *flt = &p->rules[i].list->filters[j];
			if (families_of(flt) & (1u << fi))
				n += 1 + flt->mirrored;
		}
	f->bloom_mask = pow2_at_least(n / 4 + 1) - 1;
	f->bloom[SRC] = cl_alloc(c, f->bloom_mask + 1, sizeof(uint64_t));
	f->bloom[DST] = cl_alloc(c, f->bloom_mask + 1, sizeof(uint64_t));
	/* The candidates before grouping are temporary, not counted in the memory. */
	pre *ps = calloc(n ? n : 1, sizeof(*ps));
	bool used[2][MAX_LEN + 1] = { { false } };
	bool ok = ps && f->bloom[SRC] && f->bloom[DST];
	size_t k = 0;
	/* Candidates in order: rule, filter, forward before mirror. */
	uint32_t order = 0;
	for (size_t i = 0; ok && i < p->n_rules; i++)
		for (size_t j = 0; p->rules[i].list && j < p->rules[i].list->n_filters; j++) {
			const ss_filter *flt = &p->rules[i].list->filters[j];
			for (int m = 0; m <= flt->mirrored; m++, order++) {
				if (!(families_of(flt) & (1u << fi)))
					continue;
				pre *x = &ps[k++];
				x->s = ep_of(m ? &flt->dst : &flt->src);
				x->d = ep_of(m ? &flt->src : &flt->dst);
				x->c = make_cand(&p->rules[i], flt, m, order);
				note_endpoint(f, SRC, &x->s, used);
				note_endpoint(f, DST, &x->d, used);
			}
		}
	for (int side = 0; side < 2; side++) {
		for (int len = MAX_LEN; len >= 0; len--) {
			if (!used[side][len])
				continue;
			unsigned i = f->n_lens[side]++, w = code_weight(f->family, (unsigned)len);
			f->lens[side][i] = (uint8_t)len;
			f->masks[side][i] = cl_mask_of((unsigned)len);
			f->weights[side][i] = (uint16_t)w;
			if (w >= ME_WEIGHT)
				f->me_at[side] = i + 1;
		}
	}
	ok = ok && build_pairs(c, f, ps, k);
	free(ps);
	return ok;
}

ss_classifier *ss_classifier_build(const ss_policy *p)
{
	ss_classifier *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->memory = sizeof(*c);
	if (!build_family(c, p, 0) || !build_family(c, p, 1)) {
		ss_classifier_free(c);
		return NULL;
	}
	return c;
}

void ss_classifier_free(ss_classifier *c)
{
	if (!c)
		return;
	for (int i = 0; i < 2; i++) {
		fam *f = &c->f[i];
		free(f->bloom[SRC]);
		free(f->bloom[DST]);
		free(f->pbloom);
		free(f->bt);
		free(f->c);
	}
	free(c);
}

size_t ss_classifier_memory(const ss_classifier *c) { return c->memory; }

/* ----------------------------------------------------------------- lookup */

typedef struct link {
	cl_ep ep;
	uint64_t h;
	unsigned w;
} link;

typedef struct chain {
	link l[CHAIN_MAX];
	unsigned n;
} chain;

static inline void chain_set(link *l, cl_akey a, unsigned code, uint64_t h, unsigned w)
{
	l->ep.a = a;
	l->ep.code = (uint8_t)code;
	l->h = h;
	l->w = w;
}

/* The endpoints on this side that may contain the address, in decreasing weight.  Written
 * without a branch on the Bloom filter's answer (each slot is written, then kept or not):
 * those answers are unpredictable, and mispredictions would cost more than the probes. */
static void build_chain(const fam *f, const ss_addr *addr, bool local, int side, chain *ch)
{
	cl_akey a = cl_akey_of(addr), zero = { 0, 0 };
	unsigned n = 0, me_at = local && f->me[side] ? f->me_at[side] : UINT32_MAX;
	const uint8_t *lens = f->lens[side];
	const cl_akey *masks = f->masks[side];
	for (unsigned i = 0; i < f->n_lens[side]; i++) {
		if (i == me_at)
			chain_set(&ch->l[n++], zero, CL_CODE_ME, cl_ep_hash(zero, CL_CODE_ME), ME_WEIGHT);
		cl_akey m = { a.hi & masks[i].hi, a.lo & masks[i].lo };
		uint64_t h = cl_ep_hash(m, lens[i]);
		chain_set(&ch->l[n], m, lens[i], h, f->weights[side][i]);
		n += cl_bloom_maybe(f->bloom[side], f->bloom_mask, h);
	}
	if (me_at != UINT32_MAX && me_at >= f->n_lens[side])
		chain_set(&ch->l[n++], zero, CL_CODE_ME, cl_ep_hash(zero, CL_CODE_ME), ME_WEIGHT);
	if (f->any[side])
		chain_set(&ch->l[n++], zero, CL_CODE_ANY, cl_ep_hash(zero, CL_CODE_ANY), 0);
	ch->n = n;
}

static inline bool cand_fits(const cand *x, const ss_pkt_key *k)
{
	if (x->proto != SS_PROTO_ANY && x->proto != k->proto)
		return false;
	if (!(x->flags & CF_PORTS))
		return true;
	if ((x->flags & CF_NEEDS_PORTED) && k->proto != PROTO_TCP && k->proto != PROTO_UDP &&
	    k->proto != PROTO_SCTP)
		return false;
	return k->sport >= x->slo && k->sport <= x->shi && k->dport >= x->dlo && k->dport <= x->dhi;
}

/* The best candidate of one pair group that outranks best_rank, or NULL. */
static inline const cand *group_best(const fam *f, const cl_bslot *b, const ss_pkt_key *k, uint64_t best_rank)
{
	if (b->first.rank <= best_rank)
		return NULL;
	if (cand_fits(&b->first, k))
		return &b->first;
	for (const cand *x = &f->c[b->start + 1], *end = &f->c[b->start + b->count]; x < end; x++) {
		if (x->rank <= best_rank)
			return NULL;
		if (cand_fits(x, k))
			return x;
	}
	return NULL;
}

/* A lookup in two steps, so that a batch can prefetch between them. */
typedef struct lookup {
	const fam *f;
	chain cs, cd;
} lookup;

/* false when nothing can match; otherwise the chains are ready. */
static bool lookup_prepare(const ss_classifier *c, const ss_pkt_key *k, lookup *l)
{
	if (k->src.family != k->dst.family ||
	    (k->src.family != SS_AF_INET && k->src.family != SS_AF_INET6))
		return false;
	l->f = &c->f[k->src.family == SS_AF_INET ? 0 : 1];
	if (!l->f->n_c)
		return false;
	build_chain(l->f, &k->src, k->dir == SS_DIR_OUT, SRC, &l->cs);
	build_chain(l->f, &k->dst, k->dir == SS_DIR_IN, DST, &l->cd);
	return l->cs.n && l->cd.n;
}

/* Starts loading the slot the search will probe first: in a batch, the cache misses of
 * several packets overlap instead of following one another. */
static void lookup_prefetch(const lookup *l)
{
	const fam *f = l->f;
	for (unsigned i = 0; i < l->cs.n; i++)
		for (unsigned j = 0; j < l->cd.n; j++) {
			uint64_t h = cl_pair_hash(l->cs.l[i].h, l->cd.l[j].h);
			if (!cl_bloom_maybe(f->pbloom, f->pbloom_mask, h))
				continue;
			const cl_bslot *b = &f->bt[(uint32_t)h & f->bmask];
			__builtin_prefetch(b);
			__builtin_prefetch((const char *)(b + 1) - 1);
			return;
		}
}

static bool lookup_finish(const lookup *l, const ss_pkt_key *k, ss_match *out)
{
	const fam *f = l->f;
	const cand *best = NULL;
	uint64_t best_rank = 0;
	unsigned best_addr = 0;
	for (unsigned i = 0; i < l->cs.n; i++) {
		const link *s = &l->cs.l[i];
		if (best && s->w + l->cd.l[0].w < best_addr)
			break;
		for (unsigned j = 0; j < l->cd.n; j++) {
			const link *d = &l->cd.l[j];
			if (best && s->w + d->w < best_addr)
				break;
			uint64_t h = cl_pair_hash(s->h, d->h);
			if (!cl_bloom_maybe(f->pbloom, f->pbloom_mask, h))
				continue;
			const cl_bslot *b = cl_pairs_get(f->bt, f->bmask, &s->ep, &d->ep, h);
			const cand *x = b ? group_best(f, b, k, best ? best_rank : 0) : NULL;
			if (x) {
				best = x;
				best_rank = x->rank;
				best_addr = (unsigned)(best_rank >> 51);
			}
		}
	}
	if (!best)
		return false;
	out->rule = best->rule;
	out->filter = best->filter;
	out->mirrored = best->flags & CF_MIRRORED;
	return true;
}

bool ss_classify(const ss_classifier *c, const ss_pkt_key *k, ss_match *out)
{
	lookup l;
	return lookup_prepare(c, k, &l) && lookup_finish(&l, k, out);
}

size_t ss_classify_batch(const ss_classifier *c, const ss_pkt_key *keys, size_t n, ss_match *out, bool *found)
{
	enum { GROUP = 8 };
	lookup l[GROUP];
	bool ready[GROUP];
	size_t hits = 0;
	for (size_t base = 0; base < n; base += GROUP) {
		size_t g = n - base < GROUP ? n - base : GROUP;
		for (size_t i = 0; i < g; i++)
			if ((ready[i] = lookup_prepare(c, &keys[base + i], &l[i])))
				lookup_prefetch(&l[i]);
		for (size_t i = 0; i < g; i++) {
			found[base + i] = ready[i] && lookup_finish(&l[i], &keys[base + i], &out[base + i]);
			hits += found[base + i];
		}
	}
	return hits;
}
