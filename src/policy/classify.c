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
 * A lookup needs the endpoints that contain the packet's addresses: an address masked to
 * each prefix length some filter uses on that side, `me` (local side only) and `any`.  A
 * Bloom filter over all (length, prefix) keys, small enough to stay in cache, tells which
 * lengths can name this address without touching the table.  The kinds of pair that
 * exist — (src length or me or any, dst length or me or any), a few dozen in a typical
 * policy — are kept sorted by address weight, which is the sum of the two endpoint
 * weights; a lookup visits them heaviest first (hashing an address at a length only when
 * a visited kind needs it), probes the pair table where both endpoints pass the filter
 * and a second Bloom filter over the pairs agrees, and stops at the first kind lighter
 * than its best match (address weight comes first, so nothing lighter can win).  Most
 * packets of most policies belong to a host-to-host or me-to-host filter: the heaviest
 * kinds, found by the first probe, after hashing one length per side.
 *
 * Large policies do not fit in cache and each probe of the pair table is a cache miss
 * (one cache line per slot).  A lookup is therefore a resumable search that stops before
 * each probe after asking for the slot to be prefetched; ss_classify_batch runs several at
 * once so that their misses overlap.
 *
 * Cost: compile O(n log n) for n filters (a sort); memory about 300 bytes per filter at
 * 100,000 filters (bench/classify prints it); a lookup visits at most every kind of pair
 * (bounded by the policy's distinct length pairs), usually a handful, with one or two
 * probes.  The tables are built once and never change, so their probe sequences depend on
 * the policy only, never on what packets arrive. */
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
/* Endpoint indices on one side: 0 .. n_lens - 1 are its prefix lengths, then these. */
enum { IDX_ME = MAX_LEN + 1, IDX_ANY = MAX_LEN + 2, N_IDX = MAX_LEN + 3 };

typedef cl_cand cand;

/* A kind of pair that some filter has: an index into each side's lengths, or IDX_ME /
 * IDX_ANY, and the address weight of such a pair. */
typedef struct tuple {
	uint8_t si, di;
	uint16_t w;
} tuple;

typedef struct fam {
	unsigned family;               /* SS_AF_INET or SS_AF_INET6 */
	uint8_t lens[2][MAX_LEN + 1];  /* prefix lengths used on each side, longest first */
	cl_akey masks[2][MAX_LEN + 1]; /* their masks */
	uint16_t weights[2][MAX_LEN + 1];
	unsigned n_lens[2];
	uint8_t len_idx[2][MAX_LEN + 1]; /* length -> its index in lens[side] */
	tuple *tuples;                 /* the endpoint kinds that pair up, heaviest first */
	unsigned n_tuples;
	uint64_t *bloom;               /* over (length, masked address), both sides */
	uint32_t bloom_mask;
	uint64_t *pbloom;              /* over the pairs of bt */
	uint32_t pbloom_mask;
	cl_bslot *bt;
	uint32_t bmask;
	cl_key6 *keys6;                /* IPv6 only: the addresses of each pair */
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
	} else {
		/* Cache-line aligned, so that a pair slot is one line. */
		bytes = (bytes + 63) / 64 * 64;
		if (posix_memalign(&p, 64, bytes) != 0)
			return NULL;
		memset(p, 0, bytes);
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
 * family; `any` and `me` fit both; a filter naming both families matches nothing, and so
 * does one the loader would have refused (unknown kind or family, prefix too long). */
static unsigned families_of(const ss_filter *f)
{
	unsigned m = 3;
	const ss_endpoint *e[2] = { &f->src, &f->dst };
	for (int i = 0; i < 2; i++) {
		const ss_prefix *p = &e[i]->prefix;
		if (e[i]->kind == SS_EP_PREFIX && p->addr.family == SS_AF_INET && p->len <= 32)
			m &= 1;
		else if (e[i]->kind == SS_EP_PREFIX && p->addr.family == SS_AF_INET6 && p->len <= 128)
			m &= 2;
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
	if (e->code != CL_CODE_ME && e->code != CL_CODE_ANY) {
		used[side][e->code] = true;
		cl_bloom_add(f->bloom, f->bloom_mask, cl_ep_hash(e->a, e->code));
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
	/* At most about 3/4 full: the Bloom filter turns away most absent pairs, so the longer
	 * probe sequences matter less than the table's size in cache. */
	f->bmask = pow2_at_least(groups + groups / 3 + 1) - 1;
	if (f->family == SS_AF_INET6 && !(f->keys6 = cl_alloc(c, groups, sizeof(*f->keys6))))
		return false;
	f->bt = cl_alloc(c, f->bmask + 1, sizeof(*f->bt));
	f->pbloom_mask = pow2_at_least(groups / 6 + 1) - 1; /* 10 to 21 bits per pair */
	f->pbloom = cl_alloc(c, f->pbloom_mask + 1, sizeof(*f->pbloom));
	if (!f->c || !f->bt || !f->pbloom)
		return false;
	f->n_c = (uint32_t)n;
	size_t g = 0;
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
		cl_bslot *b = &f->bt[at];
		*b = (cl_bslot){ .first = ps[start].c, .start = (uint32_t)start,
				 .count = (uint32_t)(i + 1 - start), .scode = s->code, .dcode = d->code };
		if (f->keys6) {
			b->key.k6 = (uint32_t)g;
			f->keys6[g] = (cl_key6){ s->a, d->a };
		} else {
			b->key.k4.s = (uint32_t)(s->a.hi >> 32);
			b->key.k4.d = (uint32_t)(d->a.hi >> 32);
		}
		g++;
		start = i + 1;
	}
	return true;
}

static uint8_t endpoint_idx(const fam *f, int side, unsigned code)
{
	return code == CL_CODE_ME ? IDX_ME : code == CL_CODE_ANY ? IDX_ANY : f->len_idx[side][code];
}

static int tuple_cmp(const void *x, const void *y)
{
	const tuple *a = x, *b = y;
	if (a->w != b->w)
		return a->w > b->w ? -1 : 1;
	return a->si != b->si ? a->si - b->si : a->di - b->di;
}

/* The distinct kinds of pair, heaviest first: the order a lookup visits them in. */
static bool build_tuples(ss_classifier *c, fam *f, const pre *ps, size_t n)
{
	static const size_t side = N_IDX;
	bool *seen = calloc(side * side, sizeof(*seen));
	if (!seen)
		return false;
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		size_t at = endpoint_idx(f, SRC, ps[i].s.code) * side + endpoint_idx(f, DST, ps[i].d.code);
		count += !seen[at];
		seen[at] = true;
	}
	f->tuples = cl_alloc(c, count, sizeof(*f->tuples));
	if (f->tuples) {
		for (size_t at = 0; at < side * side; at++) {
			if (!seen[at])
				continue;
			tuple *t = &f->tuples[f->n_tuples++];
			t->si = (uint8_t)(at / side);
			t->di = (uint8_t)(at % side);
			unsigned ws = t->si == IDX_ME ? ME_WEIGHT : t->si == IDX_ANY ? 0 : f->weights[SRC][t->si];
			unsigned wd = t->di == IDX_ME ? ME_WEIGHT : t->di == IDX_ANY ? 0 : f->weights[DST][t->di];
			t->w = (uint16_t)(ws + wd);
		}
		qsort(f->tuples, f->n_tuples, sizeof(*f->tuples), tuple_cmp);
	}
	free(seen);
	return f->tuples != NULL;
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
	/* One filter for both sides: mirrors put most prefixes on both anyway, and one small
	 * filter stays in cache better than two.  About 8 to 16 bits per prefix. */
	f->bloom_mask = pow2_at_least(n / 8 + 1) - 1;
	f->bloom = cl_alloc(c, f->bloom_mask + 1, sizeof(uint64_t));
	/* The candidates before grouping are temporary, not counted in the memory. */
	pre *ps = calloc(n ? n : 1, sizeof(*ps));
	bool used[2][MAX_LEN + 1] = { { false } };
	bool ok = ps && f->bloom;
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
			unsigned i = f->n_lens[side]++;
			f->lens[side][i] = (uint8_t)len;
			f->len_idx[side][len] = (uint8_t)i;
			f->masks[side][i] = cl_mask_of((unsigned)len);
			f->weights[side][i] = (uint16_t)code_weight(f->family, (unsigned)len);
		}
	}
	ok = ok && build_pairs(c, f, ps, k) && build_tuples(c, f, ps, k);
	free(ps);
	return ok;
}

ss_classifier *ss_classifier_build(const ss_policy *p)
{
	ss_classifier *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->memory = sizeof(*c);
	/* Positions in the candidate order must fit the rank's 32 low bits. */
	size_t n = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].list)
			n += 2 * p->rules[i].list->n_filters;
	if (n >= UINT32_MAX || !build_family(c, p, 0) || !build_family(c, p, 1)) {
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
		free(f->bloom);
		free(f->pbloom);
		free(f->bt);
		free(f->keys6);
		free(f->c);
		free(f->tuples);
	}
	free(c);
}

size_t ss_classifier_memory(const ss_classifier *c) { return c->memory; }

/* ----------------------------------------------------------------- lookup */

typedef struct link {
	cl_ep ep;
	uint64_t h;
} link;

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

/* A lookup as a resumable search, so that a batch can run several side by side: each
 * stops where it is about to probe the pair table, asks for the slot to be loaded, and
 * lets the others run meanwhile; the cache misses of the batch then overlap instead of
 * following one another (a large policy does not fit in cache: each probe is a miss). */
typedef struct lookup {
	const fam *f;
	const ss_pkt_key *k;
	cl_akey a[2];          /* src, dst */
	bool local[2];         /* which side `me` is */
	/* The address masked to each length of its side, hashed, and whether the Bloom filter
	 * lets it through: made when a tuple first needs it (bit set in made). */
	uint64_t made[2][3], pass[2][3];
	link memo[2][N_IDX];
	unsigned t;            /* next tuple */
	const link *ps, *pd;   /* the pair whose probe is pending, and its hash */
	uint64_t h;
	bool pending;
	const cand *best;
	uint64_t best_rank;
	int best_addr;
} lookup;

/* false when nothing can match; otherwise ready for lookup_step. */
static bool lookup_start(const ss_classifier *c, const ss_pkt_key *k, lookup *l)
{
	static const cl_akey zero = { 0, 0 };
	if (k->src.family != k->dst.family ||
	    (k->src.family != SS_AF_INET && k->src.family != SS_AF_INET6))
		return false;
	const fam *f = l->f = &c->f[k->src.family == SS_AF_INET ? 0 : 1];
	if (!f->n_c)
		return false;
	l->k = k;
	l->a[SRC] = cl_akey_of(&k->src);
	l->a[DST] = cl_akey_of(&k->dst);
	l->local[SRC] = k->dir == SS_DIR_OUT;
	l->local[DST] = k->dir == SS_DIR_IN;
	/* `any` and `me` are made up front: `any` always passes, `me` on the local side. */
	_Static_assert(IDX_ME / 64 == 2 && IDX_ANY / 64 == 2, "me and any share the last word");
	for (int side = 0; side < 2; side++) {
		l->made[side][0] = l->made[side][1] = 0;
		l->made[side][2] = 1ULL << (IDX_ME & 63) | 1ULL << (IDX_ANY & 63);
		l->pass[side][2] = 1ULL << (IDX_ANY & 63) | (uint64_t)l->local[side] << (IDX_ME & 63);
		l->memo[side][IDX_ME] = (link){ { zero, CL_CODE_ME }, cl_ep_hash(zero, CL_CODE_ME) };
		l->memo[side][IDX_ANY] = (link){ { zero, CL_CODE_ANY }, cl_ep_hash(zero, CL_CODE_ANY) };
	}
	l->t = 0;
	l->pending = false;
	l->best = NULL;
	l->best_rank = 0;
	l->best_addr = 0;
	return true;
}

/* The endpoint of index idx on one side if it may contain the address, else NULL. */
static inline const link *endpoint(lookup *l, int side, unsigned idx)
{
	uint64_t bit = 1ULL << (idx & 63);
	link *x = &l->memo[side][idx];
	if (!(l->made[side][idx >> 6] & bit)) {
		const fam *f = l->f;
		cl_akey m = { l->a[side].hi & f->masks[side][idx].hi, l->a[side].lo & f->masks[side][idx].lo };
		uint8_t len = f->lens[side][idx];
		x->ep.a = m;
		x->ep.code = len;
		x->h = cl_ep_hash(m, len);
		l->made[side][idx >> 6] |= bit;
		if (cl_bloom_maybe(f->bloom, f->bloom_mask, x->h))
			l->pass[side][idx >> 6] |= bit;
		else
			l->pass[side][idx >> 6] &= ~bit;
	}
	return l->pass[side][idx >> 6] & bit ? x : NULL;
}

static void probe(lookup *l)
{
	const fam *f = l->f;
	const cl_bslot *b = cl_pairs_get(f->bt, f->bmask, f->keys6, &l->ps->ep, &l->pd->ep, l->h);
	const cand *x = b ? group_best(f, b, l->k, l->best ? l->best_rank : 0) : NULL;
	if (x) {
		l->best = x;
		l->best_rank = x->rank;
		l->best_addr = (int)(x->rank >> 51);
	}
	l->pending = false;
}

/* Visits the kinds of pair in decreasing address weight; one lighter than the best match
 * so far cannot beat it (address weight comes first), so the search stops there.  Returns
 * false when the search is over, true when it stopped before a probe, whose slot it has
 * asked to be loaded: call again to go on. */
static bool lookup_step(lookup *l)
{
	const fam *f = l->f;
	if (l->pending)
		probe(l);
	for (; l->t < f->n_tuples; l->t++) {
		const tuple *t = &f->tuples[l->t];
		if (l->best && (int)t->w < l->best_addr)
			return false;
		const link *s = endpoint(l, SRC, t->si);
		if (!s)
			continue;
		const link *d = endpoint(l, DST, t->di);
		if (!d)
			continue;
		uint64_t h = cl_pair_hash(s->h, d->h);
		if (!cl_bloom_maybe(f->pbloom, f->pbloom_mask, h))
			continue;
		__builtin_prefetch(&f->bt[(uint32_t)h & f->bmask]);
		l->ps = s;
		l->pd = d;
		l->h = h;
		l->pending = true;
		l->t++;
		return true;
	}
	return false;
}

static bool lookup_result(const lookup *l, ss_match *out)
{
	if (!l->best)
		return false;
	out->rule = l->best->rule;
	out->filter = l->best->filter;
	out->mirrored = l->best->flags & CF_MIRRORED;
	return true;
}

bool ss_classify(const ss_classifier *c, const ss_pkt_key *k, ss_match *out)
{
	lookup l;
	if (!lookup_start(c, k, &l))
		return false;
	while (lookup_step(&l))
		;
	return lookup_result(&l, out);
}

/* Up to WAYS searches in flight; when one ends, the next packet takes its place. */
size_t ss_classify_batch(const ss_classifier *c, const ss_pkt_key *keys, size_t n, ss_match *out, bool *found)
{
	enum { WAYS = 8 };
	lookup store[WAYS], *l[WAYS];
	size_t idx[WAYS], next = 0, hits = 0;
	unsigned active = 0;
	for (unsigned w = 0; w < WAYS; w++)
		l[w] = &store[w];
	for (;;) {
		/* Fill the free ways with new packets; a search that ends before its first probe
		 * has found nothing. */
		while (active < WAYS && next < n) {
			size_t p = next++;
			found[p] = false;
			if (lookup_start(c, &keys[p], l[active]) && lookup_step(l[active]))
				idx[active++] = p;
		}
		if (!active)
			return hits;
		for (unsigned w = 0; w < active;) {
			if (lookup_step(l[w])) {
				w++;
				continue;
			}
			size_t p = idx[w];
			found[p] = lookup_result(l[w], &out[p]);
			hits += found[p];
			/* The last way takes the finished one's place. */
			active--;
			lookup *t = l[w];
			l[w] = l[active];
			l[active] = t;
			idx[w] = idx[active];
		}
	}
}
