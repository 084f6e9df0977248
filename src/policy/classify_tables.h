/* Internal to the classifier: addresses as two 64-bit words, the hashing, the Bloom
 * filters and the pair table it is built from.  Everything is filled once at compile time
 * and never changes; the table is at most half full, so a probe sequence is short and
 * bounded by the policy, not by the packets that are looked up. */
#ifndef SS_POLICY_CLASSIFY_TABLES_H
#define SS_POLICY_CLASSIFY_TABLES_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/addr.h"
#include "policy/policy.h"

/* An address as a 128-bit big-endian number; IPv4 in the top 32 bits of hi. */
typedef struct cl_akey {
	uint64_t hi, lo;
} cl_akey;

static inline uint64_t cl_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return be64toh(v);
}

static inline cl_akey cl_akey_of(const ss_addr *a)
{
	cl_akey k = { cl_be64(a->a), a->family == SS_AF_INET ? 0 : cl_be64(a->a + 8) };
	if (a->family == SS_AF_INET)
		k.hi &= 0xffffffff00000000ULL;
	return k;
}

/* The mask of a prefix length counted from the top of the 128 bits (IPv4 lengths too). */
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

/* An endpoint as the tables see it: a prefix (code = its length, address masked) or one
 * of the two that stand for no fixed address (address zero). */
enum { CL_CODE_ANY = 200, CL_CODE_ME = 201 };

typedef struct cl_ep {
	cl_akey a;
	uint8_t code;
} cl_ep;

/* Multiply, then fold the high half into the low half: a few cycles, with the packet's
 * endpoints hashed at every prefix length on both sides this is the lookup's main cost.
 * The tables are built once and never grow, so hash quality only decides how long the
 * probe sequences of this policy are, not anything a packet could make worse. */
static inline uint64_t cl_ep_hash(cl_akey a, unsigned code)
{
	uint64_t h = (a.hi ^ (a.lo * 0x9e3779b97f4a7c15ULL) ^ code) * 0xd6e8feb86659fd93ULL;
	return h ^ h >> 32;
}

static inline uint64_t cl_pair_hash(uint64_t hs, uint64_t hd)
{
	uint64_t h = (hs ^ (hd * 0xbf58476d1ce4e5b9ULL)) * 0x94d049bb133111ebULL;
	return h ^ h >> 32;
}

/* Blocked Bloom filters: two bits in one 64-bit word, 8 to 21 bits per key, small enough to
 * stay in cache where the pair table cannot; most endpoints and pairs that no filter names
 * are turned away here without touching the table. */
static inline uint64_t cl_bloom_bits(uint64_t h)
{
	return 1ULL << (h >> 58) | 1ULL << ((h >> 52) & 63);
}

static inline void cl_bloom_add(uint64_t *words, uint32_t wmask, uint64_t h)
{
	words[(h >> 20) & wmask] |= cl_bloom_bits(h);
}

static inline bool cl_bloom_maybe(const uint64_t *words, uint32_t wmask, uint64_t h)
{
	uint64_t b = cl_bloom_bits(h);
	return (words[(h >> 20) & wmask] & b) == b;
}

/* A candidate: one filter or mirror of one rule, in the form a lookup tests. */
typedef struct cl_cand {
	uint64_t rank;
	const ss_rule *rule;
	const ss_filter *filter;
	int16_t proto;
	uint8_t flags; /* CF_* in classify.c */
	uint16_t slo, shi, dlo, dhi;
} cl_cand;

/* One address pair -> the candidates with exactly those endpoints, best first.  The best
 * is copied into the slot (most pairs have one candidate), the others are at
 * start + 1 .. start + count - 1 of the candidate array.  count 0 marks an empty slot.
 * One cache line: an IPv4 pair's addresses are in the slot, an IPv6 pair's (too large)
 * in a side array at index k6. */
typedef struct cl_bslot {
	cl_cand first;
	uint32_t start, count;
	union {
		struct {
			uint32_t s, d;
		} k4;
		uint32_t k6;
	} key;
	uint8_t scode, dcode;
} cl_bslot;

_Static_assert(sizeof(cl_bslot) == 64, "a pair slot is one cache line");

typedef struct cl_key6 {
	cl_akey s, d;
} cl_key6;

static inline bool cl_slot_is(const cl_bslot *b, const cl_key6 *keys6, const cl_ep *s, const cl_ep *d)
{
	if (b->scode != s->code || b->dcode != d->code)
		return false;
	if (!keys6)
		return b->key.k4.s == (uint32_t)(s->a.hi >> 32) && b->key.k4.d == (uint32_t)(d->a.hi >> 32);
	const cl_key6 *k = &keys6[b->key.k6];
	return k->s.hi == s->a.hi && k->s.lo == s->a.lo && k->d.hi == d->a.hi && k->d.lo == d->a.lo;
}

/* keys6 is NULL for the IPv4 table. */
static inline const cl_bslot *cl_pairs_get(const cl_bslot *t, uint32_t mask, const cl_key6 *keys6,
					   const cl_ep *s, const cl_ep *d, uint64_t h)
{
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		const cl_bslot *b = &t[i];
		if (b->count == 0)
			return NULL;
		if (cl_slot_is(b, keys6, s, d))
			return b;
	}
}

#endif
