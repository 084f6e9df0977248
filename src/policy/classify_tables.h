/* Internal to the classifier: addresses as two 64-bit words and the two open-addressing
 * hash tables it is built from.  Both tables are filled once at compile time and never
 * change, at most half full, so a probe sequence is short and bounded by the policy, not
 * by the packets that are looked up. */
#ifndef SS_POLICY_CLASSIFY_TABLES_H
#define SS_POLICY_CLASSIFY_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "base/addr.h"

/* An address as a 128-bit big-endian number; IPv4 in the top 32 bits of hi. */
typedef struct cl_akey {
	uint64_t hi, lo;
} cl_akey;

static inline uint64_t cl_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline cl_akey cl_akey_of(const ss_addr *a)
{
	cl_akey k = { cl_be64(a->a), a->family == SS_AF_INET ? 0 : cl_be64(a->a + 8) };
	if (a->family == SS_AF_INET)
		k.hi &= 0xffffffff00000000ULL;
	return k;
}

/* The mask of a prefix length counted from the top of the 128 bits. */
static inline cl_akey cl_mask_of(unsigned bits)
{
	cl_akey m;
	m.hi = bits == 0 ? 0 : bits >= 64 ? ~0ULL : ~0ULL << (64 - bits);
	m.lo = bits <= 64 ? 0 : bits >= 128 ? ~0ULL : ~0ULL << (128 - bits);
	return m;
}

static inline uint64_t cl_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Prefixes of one length: masked address -> prefix id (0 marks an empty slot). */
typedef struct cl_pslot {
	uint64_t hi, lo;
	uint32_t id;
	/* What a lookup needs next lives in the slot, so that finding the prefix costs one
	 * cache miss: its ancestors (cl_anc[anc_off .. anc_off + anc_n)), the sides it is
	 * used on and its weight. */
	uint32_t anc_off;
	uint8_t anc_n;
	uint8_t side;
	uint16_t w;
} cl_pslot;

typedef struct cl_anc {
	uint32_t id;
	uint16_t w;
	uint8_t side;
} cl_anc;

typedef struct cl_ptable {
	cl_pslot *slot;
	uint32_t mask;   /* slots - 1 */
	uint32_t count;
	cl_akey m;       /* address mask for this length */
	uint8_t len;     /* prefix length within its family */
} cl_ptable;

/* The hash of a masked address of a given length: the same for the table and the filter. */
static inline uint64_t cl_phash(cl_akey a, unsigned len)
{
	return cl_mix(a.hi ^ (a.lo * 0x9e3779b97f4a7c15ULL) ^ (len * 0xd6e8feb86659fd93ULL));
}

static inline const cl_pslot *cl_ptable_slot(const cl_ptable *t, cl_akey a, uint64_t h)
{
	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		const cl_pslot *s = &t->slot[i];
		if (s->id == 0)
			return NULL;
		if (s->hi == a.hi && s->lo == a.lo)
			return s;
	}
}

static inline uint32_t cl_ptable_find(const cl_ptable *t, cl_akey a)
{
	a.hi &= t->m.hi;
	a.lo &= t->m.lo;
	const cl_pslot *s = cl_ptable_slot(t, a, cl_phash(a, t->len));
	return s ? s->id : 0;
}

/* A blocked Bloom filter over every (length, prefix) of a family: three bits in one 64-bit
 * word, about 16 bits per prefix, so it stays in cache where the tables do not, and most
 * lengths an address has no prefix of cost no table probe. */
static inline uint64_t cl_bloom_bits(uint64_t h)
{
	return 1ULL << ((h >> 40) & 63) | 1ULL << ((h >> 46) & 63) | 1ULL << ((h >> 52) & 63);
}

static inline bool cl_bloom_maybe(const uint64_t *words, uint32_t wmask, uint64_t h)
{
	uint64_t b = cl_bloom_bits(h);
	return (words[(h >> 20) & wmask] & b) == b;
}

/* A candidate: one filter or mirror of one rule, in the form a lookup tests. */
typedef struct cl_cand {
	uint64_t rank;
	int16_t proto;
	uint8_t flags; /* CF_* in classify.c */
	uint16_t slo, shi, dlo, dhi;
	uint32_t res;  /* index of its (rule, filter) */
} cl_cand;

/* Address pairs: (src id, dst id) -> the candidates with exactly those endpoints, best
 * first; the best is copied into the slot (most groups have one candidate), the others are
 * at start + 1 .. start + count - 1 of the candidate array.  count 0 marks an empty slot. */
typedef struct cl_bslot {
	uint64_t key; /* src id << 32 | dst id */
	uint32_t start, count;
	cl_cand first;
} cl_bslot;

static inline uint64_t cl_pair_key(uint32_t s, uint32_t d) { return (uint64_t)s << 32 | d; }

static inline const cl_bslot *cl_btable_get(const cl_bslot *t, uint32_t mask, uint64_t key, uint64_t h)
{
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		const cl_bslot *s = &t[i];
		if (s->count == 0)
			return NULL;
		if (s->key == key)
			return s;
	}
}

#endif
