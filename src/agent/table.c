/* The association table: records in a slab addressed by 32-bit index, a chained hash over
 * (local, remote) whose chains run through the records themselves, and a binary min-heap
 * of the records that have a deadline.  Lookups are O(1) expected at any size (the bucket
 * array doubles when the load passes 1); deadlines cost O(log n) only when set, since soft
 * refreshes are lazy (see agent.c). */
#include "agent/internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/secure.h"

enum { AT_MIN_BUCKETS = 64, AT_MIN_SLOTS = 64 };

static uint32_t *new_buckets(uint32_t n)
{
	uint32_t *b = malloc((size_t)n * sizeof(*b));
	if (b)
		memset(b, 0xff, (size_t)n * sizeof(*b)); /* all SS_NIL */
	return b;
}

bool ss_at_init(ss_assoc_table *t)
{
	memset(t, 0, sizeof(*t));
	t->free_head = SS_NIL;
	t->nbuckets = AT_MIN_BUCKETS;
	t->buckets = new_buckets(t->nbuckets);
	/* A keyed hash so that a remote sender cannot aim all its sources at one chain. */
	if (!ss_random(&t->seed, sizeof(t->seed)))
		t->seed = 0x9e3779b97f4a7c15ull;
	return t->buckets != NULL;
}

void ss_at_fini(ss_assoc_table *t)
{
	free(t->slab);
	free(t->buckets);
	free(t->heap);
	memset(t, 0, sizeof(*t));
}

static uint32_t bucket_of(const ss_assoc_table *t, const ss_addr *l, const ss_addr *r)
{
	uint64_t h = ss_addr_hash(r, ss_addr_hash(l, t->seed));
	return (uint32_t)(h ^ (h >> 32)) & (t->nbuckets - 1);
}

uint32_t ss_at_find(const ss_assoc_table *t, const ss_addr *local, const ss_addr *remote)
{
	for (uint32_t i = t->buckets[bucket_of(t, local, remote)]; i != SS_NIL; i = t->slab[i].hnext) {
		const ss_assoc *a = &t->slab[i];
		if (ss_addr_eq(&a->remote, remote) && ss_addr_eq(&a->local, local))
			return i;
	}
	return SS_NIL;
}

static bool grow_buckets(ss_assoc_table *t)
{
	uint32_t n = t->nbuckets * 2;
	uint32_t *b = new_buckets(n);
	if (!b)
		return false;
	uint32_t *old = t->buckets;
	uint32_t oldn = t->nbuckets;
	t->buckets = b;
	t->nbuckets = n;
	for (uint32_t k = 0; k < oldn; k++) {
		uint32_t i = old[k];
		while (i != SS_NIL) {
			uint32_t next = t->slab[i].hnext;
			uint32_t h = bucket_of(t, &t->slab[i].local, &t->slab[i].remote);
			t->slab[i].hnext = t->buckets[h];
			t->buckets[h] = i;
			i = next;
		}
	}
	free(old);
	return true;
}

static bool grow_slab(ss_assoc_table *t)
{
	uint32_t n = t->cap ? t->cap * 2 : AT_MIN_SLOTS;
	if (n < t->cap)
		return false;
	ss_assoc *s = realloc(t->slab, (size_t)n * sizeof(*s));
	if (!s)
		return false;
	uint32_t *h = realloc(t->heap, (size_t)n * sizeof(*h));
	if (!h) {
		t->slab = s; /* keep the larger slab; cap stays, nothing lost */
		return false;
	}
	t->slab = s;
	t->heap = h;
	t->cap = n;
	return true;
}

uint32_t ss_at_insert(ss_assoc_table *t, const ss_addr *local, const ss_addr *remote)
{
	if (t->count >= t->nbuckets && !grow_buckets(t))
		return SS_NIL;
	uint32_t i;
	if (t->free_head != SS_NIL) {
		i = t->free_head;
		t->free_head = t->slab[i].hnext;
	} else {
		if (t->used_hw == t->cap && !grow_slab(t))
			return SS_NIL;
		i = t->used_hw++;
	}
	ss_assoc *a = &t->slab[i];
	memset(a, 0, sizeof(*a));
	a->local = *local;
	a->remote = *remote;
	a->state = SS_AS_IDLE;
	a->last_outcome = -1;
	a->held_head = a->held_tail = SS_NIL;
	a->heap_pos = SS_NIL;
	uint32_t h = bucket_of(t, local, remote);
	a->hnext = t->buckets[h];
	t->buckets[h] = i;
	t->count++;
	return i;
}

/* When the table empties, give the memory back: after a burst of a million soft
 * associations expires, the daemon returns to its baseline. */
static void shrink_if_empty(ss_assoc_table *t)
{
	if (t->count || (t->cap == 0 && t->nbuckets == AT_MIN_BUCKETS))
		return;
	uint64_t seed = t->seed;
	ss_at_fini(t);
	if (!ss_at_init(t))
		return; /* buckets NULL is handled by the next insert failing closed */
	t->seed = seed;
}

void ss_at_remove(ss_assoc_table *t, uint32_t i)
{
	ss_assoc *a = &t->slab[i];
	ss_at_clear_deadline(t, i);
	uint32_t *pp = &t->buckets[bucket_of(t, &a->local, &a->remote)];
	while (*pp != i)
		pp = &t->slab[*pp].hnext;
	*pp = a->hnext;
	a->state = SS_AS_FREE_SLOT;
	a->hnext = t->free_head;
	t->free_head = i;
	t->count--;
	shrink_if_empty(t);
}

/* --- deadline heap --------------------------------------------------------------------- */

static bool heap_less(const ss_assoc_table *t, uint32_t x, uint32_t y)
{
	return t->slab[t->heap[x]].deadline < t->slab[t->heap[y]].deadline;
}

static void heap_swap(ss_assoc_table *t, uint32_t x, uint32_t y)
{
	uint32_t tmp = t->heap[x];
	t->heap[x] = t->heap[y];
	t->heap[y] = tmp;
	t->slab[t->heap[x]].heap_pos = x;
	t->slab[t->heap[y]].heap_pos = y;
}

static void sift_up(ss_assoc_table *t, uint32_t x)
{
	while (x > 0 && heap_less(t, x, (x - 1) / 2)) {
		heap_swap(t, x, (x - 1) / 2);
		x = (x - 1) / 2;
	}
}

static void sift_down(ss_assoc_table *t, uint32_t x)
{
	for (;;) {
		uint32_t l = 2 * x + 1, r = l + 1, m = x;
		if (l < t->heap_n && heap_less(t, l, m))
			m = l;
		if (r < t->heap_n && heap_less(t, r, m))
			m = r;
		if (m == x)
			return;
		heap_swap(t, x, m);
		x = m;
	}
}

bool ss_at_set_deadline(ss_assoc_table *t, uint32_t i, ss_time when)
{
	ss_assoc *a = &t->slab[i];
	if (a->flags & SS_AF_IN_HEAP) {
		ss_time old = a->deadline;
		a->deadline = when;
		if (when < old)
			sift_up(t, a->heap_pos);
		else
			sift_down(t, a->heap_pos);
		return true;
	}
	/* The heap array is as large as the slab, so there is always room. */
	a->deadline = when;
	a->flags |= SS_AF_IN_HEAP;
	a->heap_pos = t->heap_n;
	t->heap[t->heap_n++] = i;
	sift_up(t, a->heap_pos);
	return true;
}

void ss_at_clear_deadline(ss_assoc_table *t, uint32_t i)
{
	ss_assoc *a = &t->slab[i];
	if (!(a->flags & SS_AF_IN_HEAP))
		return;
	uint32_t x = a->heap_pos;
	a->flags &= (uint8_t)~SS_AF_IN_HEAP;
	a->heap_pos = SS_NIL;
	t->heap_n--;
	if (x == t->heap_n)
		return;
	t->heap[x] = t->heap[t->heap_n];
	t->slab[t->heap[x]].heap_pos = x;
	sift_up(t, x);
	sift_down(t, t->slab[t->heap[x]].heap_pos);
}

size_t ss_at_memory(const ss_assoc_table *t)
{
	return (size_t)t->cap * (sizeof(ss_assoc) + sizeof(uint32_t)) + (size_t)t->nbuckets * sizeof(uint32_t);
}
