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
 * is exactly the winner.  Per address family:
 *  - the distinct prefixes the candidates name get ids (0 is `any`, 1 is `me`), kept in one
 *    hash table per prefix length; each prefix knows its ancestors (the shorter prefixes of
 *    the set that contain it), so one longest-prefix match gives every prefix containing an
 *    address: the address's chain, in decreasing weight, ending with `me` (local side only)
 *    and `any`;
 *  - candidates are grouped by (src id, dst id); a hash table maps the pair to its group,
 *    sorted best first, so within a group the first candidate whose protocol and ports fit
 *    is the group's winner.
 * A lookup builds the chains of src and dst and visits the pairs in decreasing address
 * weight, stopping as soon as no remaining pair can outrank the best match found: the
 * address weight of a pair is the sum of its two endpoint weights.  An IPv4 policy of host
 * filters therefore costs one probe per length for each address, then usually one pair. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "policy/classify.h"
#include "policy/classify_tables.h"

enum { PROTO_TCP = 6, PROTO_UDP = 17, PROTO_SCTP = 132 };
enum { ID_ANY = 0, ID_ME = 1, ID_FIRST_PREFIX = 2 };
enum { ME_WEIGHT = 128 }; /* `me` weighs as a host (policy.h) */
enum { SIDE_SRC = 1, SIDE_DST = 2 };
enum { CF_MIRRORED = 1, CF_PORTS = 2, CF_NEEDS_PORTED = 4 };
#define CHAIN_MAX (129 + 2)

typedef cl_cand cand;

typedef struct result {
	const ss_rule *rule;
	const ss_filter *filter;
} result;

typedef struct fam {
	cl_ptable *pt; /* one per prefix length present, longest first */
	unsigned n_pt;
	uint64_t *bloom;    /* over all (length, prefix) keys of the tables */
	uint32_t bloom_mask;
	uint32_t n_ids;
	uint8_t side_me, side_any; /* SIDE_* `me` and `any` are used on */
	cl_anc *anc;
	cl_bslot *bt;
	uint32_t bmask;
	uint64_t *pbloom;   /* over the keys of bt */
	uint32_t pbloom_mask;
	/* Only while building: weight and sides of each id. */
	uint16_t *w;
	uint8_t *side;
	cand *c;
	uint32_t n_c;
} fam;

struct ss_classifier {
	result *res;
	size_t n_res;
	fam f[2]; /* IPv4, IPv6 */
	size_t memory;
};

/* ------------------------------------------------------------------ build */

/* A candidate as it is laid out before grouping. */
typedef struct pre {
	uint32_t sid, did;
	cand c;
} pre;

typedef struct pfx {
	cl_akey a;
	uint8_t len;
} pfx;

/* Large tables are probed at random; on 4 KiB pages nearly every probe would also miss the
 * TLB (and under virtualisation a TLB miss costs more than the cache miss), so they ask for
 * transparent huge pages.  Sizes overflow-checked; memory counted. */
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

static unsigned prefix_weight(unsigned family, unsigned len) { return family == SS_AF_INET ? 96 + len : len; }

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

static int pfx_cmp(const void *x, const void *y)
{
	const pfx *a = x, *b = y;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (a->a.hi != b->a.hi)
		return a->a.hi < b->a.hi ? -1 : 1;
	if (a->a.lo != b->a.lo)
		return a->a.lo < b->a.lo ? -1 : 1;
	return 0;
}

static pfx pfx_of(const ss_endpoint *e)
{
	pfx p = { cl_akey_of(&e->prefix.addr), e->prefix.len };
	cl_akey m = cl_mask_of(p.len);
	p.a.hi &= m.hi;
	p.a.lo &= m.lo;
	return p;
}

/* Gives ids to the distinct prefixes in ps (sorted, longest first) and builds the tables. */
static bool build_prefixes(ss_classifier *c, fam *f, unsigned family, pfx *ps, size_t n)
{
	size_t u = 0;
	unsigned lens = 0;
	for (size_t i = 0; i < n; i++) {
		if (u && pfx_cmp(&ps[u - 1], &ps[i]) == 0)
			continue;
		lens += !u || ps[u - 1].len != ps[i].len;
		ps[u++] = ps[i];
	}
	f->n_ids = (uint32_t)(ID_FIRST_PREFIX + u);
	f->w = calloc(f->n_ids, sizeof(*f->w));
	f->side = calloc(f->n_ids, sizeof(*f->side));
	f->pt = cl_alloc(c, lens, sizeof(*f->pt));
	if (!f->w || !f->side || !f->pt)
		return false;
	f->w[ID_ME] = ME_WEIGHT;
	f->bloom_mask = pow2_at_least(u / 4 + 1) - 1;
	f->bloom = cl_alloc(c, f->bloom_mask + 1, sizeof(*f->bloom));
	if (!f->bloom)
		return false;
	for (size_t i = 0, start = 0; i < u; i++) {
		if (i + 1 < u && ps[i + 1].len == ps[i].len)
			continue;
		/* ps[start .. i] share one length */
		cl_ptable *t = &f->pt[f->n_pt++];
		t->len = ps[i].len;
		t->m = cl_mask_of(t->len);
		t->mask = pow2_at_least(2 * (i + 1 - start)) - 1;
		t->slot = cl_alloc(c, t->mask + 1, sizeof(cl_pslot));
		if (!t->slot)
			return false;
		for (size_t j = start; j <= i; j++) {
			uint32_t id = (uint32_t)(ID_FIRST_PREFIX + j);
			cl_akey a = ps[j].a;
			uint64_t hash = cl_phash(a, t->len);
			f->bloom[(hash >> 20) & f->bloom_mask] |= cl_bloom_bits(hash);
			uint32_t h = (uint32_t)hash & t->mask;
			while (t->slot[h].id)
				h = (h + 1) & t->mask;
			t->slot[h] = (cl_pslot){ .hi = a.hi, .lo = a.lo, .id = id,
						 .w = (uint16_t)prefix_weight(family, t->len) };
			f->w[id] = (uint16_t)prefix_weight(family, t->len);
			t->count++;
		}
		start = i + 1;
	}
	return true;
}

static uint32_t endpoint_id(const fam *f, const ss_endpoint *e)
{
	if (e->kind == SS_EP_ANY)
		return ID_ANY;
	if (e->kind == SS_EP_ME)
		return ID_ME;
	pfx p = pfx_of(e);
	for (unsigned i = 0; i < f->n_pt; i++)
		if (f->pt[i].len == p.len)
			return cl_ptable_find(&f->pt[i], p.a);
	return ID_ANY; /* not reached: every prefix was interned */
}

/* For every prefix, the shorter prefixes of the set that contain it, longest first; and
 * the sides each prefix is used on, copied into its slot. */
static bool build_ancestors(ss_classifier *c, fam *f)
{
	size_t n = 0, cap = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned ti = 0; ti < f->n_pt; ti++) {
			cl_ptable *t = &f->pt[ti];
			for (uint32_t s = 0; s <= t->mask; s++) {
				cl_pslot *sl = &t->slot[s];
				if (!sl->id)
					continue;
				sl->side = f->side[sl->id];
				sl->anc_off = (uint32_t)n;
				sl->anc_n = 0;
				cl_akey a = { sl->hi, sl->lo };
				for (unsigned tj = ti + 1; tj < f->n_pt; tj++) {
					uint32_t up = cl_ptable_find(&f->pt[tj], a);
					if (!up)
						continue;
					if (pass)
						f->anc[n] = (cl_anc){ up, f->w[up], f->side[up] };
					n++;
					sl->anc_n++;
				}
			}
		}
		if (pass)
			break;
		cap = n;
		n = 0;
		f->anc = cl_alloc(c, cap, sizeof(*f->anc));
		if (!f->anc)
			return false;
	}
	return n == cap;
}

static int pre_cmp(const void *x, const void *y)
{
	const pre *a = x, *b = y;
	if (a->sid != b->sid)
		return a->sid < b->sid ? -1 : 1;
	if (a->did != b->did)
		return a->did < b->did ? -1 : 1;
	return a->c.rank < b->c.rank ? 1 : a->c.rank > b->c.rank ? -1 : 0;
}

/* Groups the candidates by address pair and fills the pair table. */
static bool build_pairs(ss_classifier *c, fam *f, pre *ps, size_t n)
{
	qsort(ps, n, sizeof(*ps), pre_cmp);
	size_t groups = 0;
	for (size_t i = 0; i < n; i++)
		groups += i == 0 || ps[i].sid != ps[i - 1].sid || ps[i].did != ps[i - 1].did;
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
		f->side[ps[i].sid] |= SIDE_SRC;
		f->side[ps[i].did] |= SIDE_DST;
		if (i + 1 < n && ps[i + 1].sid == ps[i].sid && ps[i + 1].did == ps[i].did)
			continue;
		uint64_t key = cl_pair_key(ps[i].sid, ps[i].did), hash = cl_mix(key);
		f->pbloom[(hash >> 20) & f->pbloom_mask] |= cl_bloom_bits(hash);
		uint32_t h = (uint32_t)hash & f->bmask;
		while (f->bt[h].count)
			h = (h + 1) & f->bmask;
		f->bt[h] = (cl_bslot){ key, (uint32_t)start, (uint32_t)(i + 1 - start), ps[start].c };
		start = i + 1;
	}
	return true;
}

static cand make_cand(const ss_filter *f, bool mirror, uint32_t order, uint32_t res)
{
	const ss_port_range *s = mirror ? &f->dport : &f->sport, *d = mirror ? &f->sport : &f->dport;
	cand x = { .rank = make_rank(f, order), .proto = (int16_t)f->proto, .res = res,
		   .slo = s->lo, .shi = s->hi, .dlo = d->lo, .dhi = d->hi };
	x.flags = mirror ? CF_MIRRORED : 0;
	if (!full_range(f->sport) || !full_range(f->dport))
		x.flags |= CF_PORTS | (f->proto == SS_PROTO_ANY ? CF_NEEDS_PORTED : 0);
	return x;
}

static bool build_family(ss_classifier *c, const ss_policy *p, unsigned fi)
{
	fam *f = &c->f[fi];
	unsigned family = fi == 0 ? SS_AF_INET : SS_AF_INET6;
	size_t n_pfx = 0, n_pre = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; p->rules[i].list && j < p->rules[i].list->n_filters; j++)
			n_pfx += 2 * !!(families_of(&p->rules[i].list->filters[j]) & (1u << fi));
	/* Temporary arrays are not counted in the classifier's memory. */
	pfx *ps = calloc(n_pfx ? n_pfx : 1, sizeof(*ps));
	pre *pr = calloc(n_pfx ? n_pfx : 1, sizeof(*pr));
	bool ok = ps && pr;
	size_t k = 0;
	for (size_t i = 0; ok && i < p->n_rules; i++)
		for (size_t j = 0; p->rules[i].list && j < p->rules[i].list->n_filters; j++) {
			const ss_filter *flt = &p->rules[i].list->filters[j];
			if (!(families_of(flt) & (1u << fi)))
				continue;
			if (flt->src.kind == SS_EP_PREFIX)
				ps[k++] = pfx_of(&flt->src);
			if (flt->dst.kind == SS_EP_PREFIX)
				ps[k++] = pfx_of(&flt->dst);
		}
	if (ok) {
		qsort(ps, k, sizeof(*ps), pfx_cmp);
		ok = build_prefixes(c, f, family, ps, k);
	}
	/* Candidates in order: rule, filter, forward before mirror. */
	uint32_t order = 0;
	for (size_t i = 0; ok && i < p->n_rules; i++)
		for (size_t j = 0; p->rules[i].list && j < p->rules[i].list->n_filters; j++) {
			const ss_filter *flt = &p->rules[i].list->filters[j];
			for (int m = 0; m <= flt->mirrored; m++, order++) {
				if (!(families_of(flt) & (1u << fi)))
					continue;
				uint32_t s = endpoint_id(f, &flt->src), d = endpoint_id(f, &flt->dst);
				pr[n_pre++] = (pre){ m ? d : s, m ? s : d, make_cand(flt, m, order, order) };
			}
		}
	ok = ok && build_pairs(c, f, pr, n_pre) && build_ancestors(c, f);
	if (ok) {
		f->side_me = f->side[ID_ME];
		f->side_any = f->side[ID_ANY];
	}
	free(f->w);
	free(f->side);
	f->w = NULL;
	f->side = NULL;
	free(ps);
	free(pr);
	return ok;
}

ss_classifier *ss_classifier_build(const ss_policy *p)
{
	ss_classifier *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->memory = sizeof(*c);
	size_t n = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; p->rules[i].list && j < p->rules[i].list->n_filters; j++)
			n += 1 + p->rules[i].list->filters[j].mirrored;
	c->res = cl_alloc(c, n, sizeof(*c->res));
	if (!c->res)
		goto fail;
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; p->rules[i].list && j < p->rules[i].list->n_filters; j++) {
			const ss_filter *f = &p->rules[i].list->filters[j];
			for (int m = 0; m <= f->mirrored; m++)
				c->res[c->n_res++] = (result){ &p->rules[i], f };
		}
	if (!build_family(c, p, 0) || !build_family(c, p, 1))
		goto fail;
	return c;
fail:
	ss_classifier_free(c);
	return NULL;
}

void ss_classifier_free(ss_classifier *c)
{
	if (!c)
		return;
	for (int i = 0; i < 2; i++) {
		fam *f = &c->f[i];
		for (unsigned j = 0; j < f->n_pt; j++)
			free(f->pt[j].slot);
		free(f->pt);
		free(f->bloom);
		free(f->w);
		free(f->side);
		free(f->anc);
		free(f->bt);
		free(f->pbloom);
		free(f->c);
	}
	free(c->res);
	free(c);
}

size_t ss_classifier_memory(const ss_classifier *c) { return c->memory; }

/* ----------------------------------------------------------------- lookup */

typedef struct chain {
	uint32_t id[CHAIN_MAX];
	uint16_t w[CHAIN_MAX];
	unsigned n;
} chain;

static inline void chain_push(chain *ch, uint32_t id, unsigned w, unsigned used, unsigned side)
{
	if (used & side) {
		ch->id[ch->n] = id;
		ch->w[ch->n++] = (uint16_t)w;
	}
}

/* Every id on this side that contains the address, in decreasing weight. */
static void build_chain(const fam *f, const ss_addr *addr, bool local, unsigned side, chain *ch)
{
	cl_akey a = cl_akey_of(addr);
	ch->n = 0;
	for (unsigned i = 0; i < f->n_pt; i++) {
		const cl_ptable *t = &f->pt[i];
		cl_akey m = { a.hi & t->m.hi, a.lo & t->m.lo };
		uint64_t h = cl_phash(m, t->len);
		if (!cl_bloom_maybe(f->bloom, f->bloom_mask, h))
			continue;
		const cl_pslot *s = cl_ptable_slot(t, m, h);
		if (!s)
			continue;
		chain_push(ch, s->id, s->w, s->side, side);
		for (const cl_anc *x = &f->anc[s->anc_off], *end = x + s->anc_n; x < end; x++)
			chain_push(ch, x->id, x->w, x->side, side);
		break;
	}
	if (local && (f->side_me & side)) {
		unsigned at = ch->n;
		while (at > 0 && ch->w[at - 1] < ME_WEIGHT)
			at--;
		memmove(&ch->id[at + 1], &ch->id[at], (ch->n - at) * sizeof(ch->id[0]));
		memmove(&ch->w[at + 1], &ch->w[at], (ch->n - at) * sizeof(ch->w[0]));
		ch->id[at] = ID_ME;
		ch->w[at] = ME_WEIGHT;
		ch->n++;
	}
	chain_push(ch, ID_ANY, 0, f->side_any, side);
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

bool ss_classify(const ss_classifier *c, const ss_pkt_key *k, ss_match *out)
{
	if (k->src.family != k->dst.family ||
	    (k->src.family != SS_AF_INET && k->src.family != SS_AF_INET6))
		return false;
	const fam *f = &c->f[k->src.family == SS_AF_INET ? 0 : 1];
	if (!f->n_c)
		return false;
	chain cs, cd;
	build_chain(f, &k->src, k->dir == SS_DIR_OUT, SIDE_SRC, &cs);
	if (!cs.n)
		return false;
	build_chain(f, &k->dst, k->dir == SS_DIR_IN, SIDE_DST, &cd);
	if (!cd.n)
		return false;
	const cand *best = NULL;
	uint64_t best_rank = 0;
	unsigned best_addr = 0;
	for (unsigned i = 0; i < cs.n; i++) {
		if (best && cs.w[i] + cd.w[0] < best_addr)
			break;
		for (unsigned j = 0; j < cd.n; j++) {
			if (best && cs.w[i] + cd.w[j] < best_addr)
				break;
			uint64_t key = cl_pair_key(cs.id[i], cd.id[j]), h = cl_mix(key);
			if (!cl_bloom_maybe(f->pbloom, f->pbloom_mask, h))
				continue;
			const cl_bslot *b = cl_btable_get(f->bt, f->bmask, key, h);
			if (!b || (best && b->first.rank <= best_rank))
				continue;
			if (cand_fits(&b->first, k)) {
				best = &b->first;
				best_rank = best->rank;
				best_addr = (unsigned)(best_rank >> 51);
				continue;
			}
			for (const cand *x = &f->c[b->start + 1], *end = &f->c[b->start + b->count]; x < end; x++) {
				if (best && x->rank <= best_rank)
					break;
				if (cand_fits(x, k)) {
					best = x;
					best_rank = x->rank;
					best_addr = (unsigned)(x->rank >> 51);
					break;
				}
			}
		}
	}
	if (!best)
		return false;
	out->rule = c->res[best->res].rule;
	out->filter = c->res[best->res].filter;
	out->mirrored = best->flags & CF_MIRRORED;
	return true;
}
