/* The IKE SA table's two structures, generic so that their unit test can hold them against a
 * naive model (tests/unit/ike/test_sa_table.c):
 *
 *   ss_hmap   intrusive chained hash multimap, uint64 keys hashed with a secret seed (SPIs
 *             and addresses come from the network), growing by doubling: O(1) insert, remove
 *             and lookup at any table size (chains are doubly linked, so removal never
 *             walks a chain, however many SAs share a key, e.g. one peer address);
 *   ss_theap  intrusive binary min-heap of deadlines: O(log n) set / remove, O(1) earliest.
 *
 * Both are intrusive: the node lives in the element (ike_sa), so indexing allocates nothing
 * per element beyond the table's own arrays. */
#ifndef SS_IKE_SA_TABLE_H
#define SS_IKE_SA_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"

typedef struct ss_hnode {
	struct ss_hnode *next;
	struct ss_hnode **pprev;  /* the link pointing at this node; NULL: in no map */
	uint64_t key;
} ss_hnode;

/* Currently in a map. */
static inline bool ss_hnode_in(const ss_hnode *n)
{
	return n->pprev != NULL;
}

typedef struct ss_hmap {
	ss_hnode **b;
	size_t nb;             /* power of two, or 0 before the first insert */
	size_t n;
	uint64_t seed;
} ss_hmap;

void ss_hmap_init(ss_hmap *m, uint64_t seed);
void ss_hmap_free(ss_hmap *m);
/* False only when growing was needed and failed: the node is not in the map then. */
bool ss_hmap_insert(ss_hmap *m, ss_hnode *n, uint64_t key);
void ss_hmap_remove(ss_hmap *m, ss_hnode *n);
/* Nodes with this key, one after the other (NULL at the end); other keys of the same bucket
 * are skipped. */
ss_hnode *ss_hmap_first(const ss_hmap *m, uint64_t key);
ss_hnode *ss_hmap_next(const ss_hnode *n);
/* Every node, bucket by bucket: *cursor starts at 0; NULL when done.  The map must not
 * change during the walk. */
ss_hnode *ss_hmap_walk(const ss_hmap *m, size_t *cursor, ss_hnode *prev);
/* An address (family and bytes) as a key. */
uint64_t ss_hmap_key_bytes(const uint8_t *p, size_t len);

typedef struct ss_tnode {
	ss_time at;
	uint64_t seq;          /* ties: lower first (the caller's order of birth) */
	size_t pos;            /* index in the heap + 1; 0: not in it */
} ss_tnode;

typedef struct ss_theap {
	ss_tnode **h;
	size_t n, cap;
} ss_theap;

void ss_theap_init(ss_theap *t);
void ss_theap_free(ss_theap *t);
/* Inserts or moves n to deadline at; false when growing failed (n is then not in the heap). */
bool ss_theap_set(ss_theap *t, ss_tnode *n, ss_time at);
void ss_theap_remove(ss_theap *t, ss_tnode *n);
/* The earliest node, or NULL. */
ss_tnode *ss_theap_top(const ss_theap *t);

#endif
