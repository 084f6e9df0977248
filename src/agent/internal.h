/* Agent internals shared by its files: the association record, the table that holds them
 * (slab + chained hash + deadline heap, all by 32-bit index), the held-packet pool and the
 * downgrade memory.  Not part of the API. */
#ifndef SS_AGENT_INTERNAL_H
#define SS_AGENT_INTERNAL_H

#include "agent/agent.h"

#define SS_NIL UINT32_MAX
/* state of a slab slot on the free list (never a real state) */
#define SS_AS_FREE_SLOT 0xff

enum ss_assoc_flag {
	SS_AF_SPOKE_IKE = 1 << 0,    /* the peer sent us IKE: it is IPsec-aware, never soft */
	SS_AF_EVER_SECURED = 1 << 1, /* an SA was up with it: discovery never sends clear again */
	SS_AF_REMEMBERED = 1 << 2,   /* in the downgrade memory when negotiation began */
	SS_AF_IN_HEAP = 1 << 3,
	SS_AF_UPGRADING = 1 << 4,    /* was soft when the peer started IKE: its clear is stale */
	/* SPOKE_IKE came from an IKE_SA_INIT alone, which any off-path host can forge: it
	 * stands while that exchange lives, and goes if the responder gives up unanswered. */
	SS_AF_SPOKE_UNPROVEN = 1 << 5,
	SS_AF_WAS_BLOCKED = 1 << 6,  /* was blocked when the peer started IKE */
};

/* One association.  Kept small (budget: 256 bytes) because a flood of clear packets from
 * distinct sources may create many soft ones. */
typedef struct ss_assoc {
	ss_addr local, remote;
	uint8_t state;      /* enum ss_assoc_state */
	uint8_t flags;      /* enum ss_assoc_flag */
	uint8_t attempt;    /* negotiating: attempts the engine reported */
	uint8_t key_dir, key_proto;
	int8_t last_outcome;   /* enum ss_ike_outcome, or -1 */
	uint16_t key_sport, key_dport; /* the packet that created it, to re-classify on reload */
	uint32_t hnext;     /* hash chain, or free list */
	uint32_t heap_pos;
	uint32_t held_head, held_tail;
	uint32_t held_n;
	uint32_t held_bytes;   /* charged: length + SS_AGENT_HELD_OVERHEAD per packet */
	const ss_rule *rule;   /* NULL: answered through the Default Response rule */
	ss_time since;         /* entered its state */
	ss_time last_used;     /* last packet (soft idle lifetime) */
	ss_time deadline;      /* watchdog or oldest held packet's age limit, soft expiry
				* check, or end of block */
	ss_time watchdog;      /* negotiating: give up on the engine at */
	ss_time refresh_sent;  /* last SOFT_REFRESH emitted */
	uint64_t packets, bytes; /* soft: what the datapath counted */
	const char *reason;    /* why it entered its state (static text, for monitoring) */
} ss_assoc;

typedef struct ss_assoc_table {
	ss_assoc *slab;
	uint32_t cap, used_hw; /* slots allocated, high-water of slots ever handed out */
	uint32_t free_head;
	uint32_t count;
	uint32_t *buckets;
	uint32_t nbuckets;     /* power of two */
	uint32_t *heap;        /* indices ordered by deadline */
	uint32_t heap_n;
	uint64_t seed;
} ss_assoc_table;

bool ss_at_init(ss_assoc_table *t);
void ss_at_fini(ss_assoc_table *t);
uint32_t ss_at_find(const ss_assoc_table *t, const ss_addr *local, const ss_addr *remote);
/* A zeroed record in state idle, or SS_NIL when out of memory. */
uint32_t ss_at_insert(ss_assoc_table *t, const ss_addr *local, const ss_addr *remote);
void ss_at_remove(ss_assoc_table *t, uint32_t i);
static inline ss_assoc *ss_at_get(const ss_assoc_table *t, uint32_t i) { return &t->slab[i]; }
/* Deadline heap: set (insert or move) or clear an association's deadline. */
bool ss_at_set_deadline(ss_assoc_table *t, uint32_t i, ss_time when);
void ss_at_clear_deadline(ss_assoc_table *t, uint32_t i);
/* Index of the earliest deadline, or SS_NIL. */
static inline uint32_t ss_at_top(const ss_assoc_table *t) { return t->heap_n ? t->heap[0] : SS_NIL; }
size_t ss_at_memory(const ss_assoc_table *t);

/* Held packets: a pool of nodes (grown on demand up to a cap) linked per association, in
 * arrival order. */
typedef struct ss_held {
	uint64_t handle;
	ss_time at;        /* when it was held (age limit) */
	uint32_t len;
	uint32_t next;
	uint8_t may_clear; /* its own rule allows clear (rule 8 per packet, not per pair) */
	uint8_t dir;
} ss_held;

typedef struct ss_held_pool {
	ss_held *nodes;
	uint32_t cap, max, free_head, in_use;
} ss_held_pool;

/* max: the most nodes it may ever grow to. */
bool ss_hp_init(ss_held_pool *p, uint32_t max);
void ss_hp_fini(ss_held_pool *p);
/* Appends to the association's queue; false when the pool is at max (or out of memory). */
bool ss_hp_push(ss_held_pool *p, ss_assoc *a, const ss_held *h);
/* Pops the oldest; false when empty. */
bool ss_hp_pop(ss_held_pool *p, ss_assoc *a, ss_held *out);

/* Downgrade memory: remote address -> time its last IKE negotiation completed. */
typedef struct ss_peer_mem {
	struct ss_remembered {
		ss_addr remote;
		uint32_t next;         /* hash chain, or free list */
		uint32_t lprev, lnext; /* order of (re)insertion, oldest first */
		ss_time at;
	} *slab;
	uint32_t cap, count, free_head, hw;
	uint32_t lru_head, lru_tail;
	uint32_t *buckets;
	uint32_t nbuckets;
	uint64_t seed;
} ss_peer_mem;

bool ss_pm_init(ss_peer_mem *m);
void ss_pm_fini(ss_peer_mem *m);
/* Records (or refreshes) a peer; when max is reached, the least recently secured goes. */
void ss_pm_put(ss_peer_mem *m, const ss_addr *remote, ss_time at, ss_time window, ss_time now, uint32_t max);
/* True if it completed IKE less than window ago; expired entries are removed on the way. */
bool ss_pm_check(ss_peer_mem *m, const ss_addr *remote, ss_time window, ss_time now);
void ss_pm_each(ss_peer_mem *m, ss_time window, ss_time now, ss_agent_peer_fn fn, void *ctx);
size_t ss_pm_memory(const ss_peer_mem *m);

#endif
