/* The IKE SA table: every lookup the engine makes (by SPIi, by handle, by peer address) and
 * the deadlines of all SAs, in constant time per event at any number of SAs (sa_table.h's
 * hash maps and heap).
 *
 * Why "touched": an SA's deadline (sa_deadline) depends on many fields that the exchange
 * handlers change.  Rather than follow each change, every SA an event reaches is reached
 * through this file (a lookup, sa_new, or the timer heap) and is marked touched; when the
 * event settles (sa_reap, at the end of every event and at the start of the next), each
 * touched SA gets its deadline recomputed, or is freed when it died.  An SA nobody reached
 * cannot have changed, so its place in the heap is still right. */
#include <stdlib.h>
#include <string.h>

#include "ike/ike_internal.h"

#define SA_OF(ptr, member) ((ike_sa *)((char *)(ptr) - offsetof(ike_sa, member)))

static uint64_t addr_key(const ss_addr *a)
{
	uint8_t b[17];
	b[0] = a->family;
	memcpy(b + 1, a->a, 16);
	return ss_hmap_key_bytes(b, sizeof(b));
}

/* The peer index is keyed by address and class, so that the questions set-up asks (any
 * half-open SA from here? any SA of the other role, for simultaneous initiation?) look at
 * that class alone: thousands of established SAs from one address (hosts behind one NAT,
 * a load generator) are never walked to set up one more. */
static uint64_t peer_key(const ss_addr *a, uint8_t cls)
{
	return addr_key(a) ^ (0x9e3779b97f4a7c15ull * (uint64_t)(cls + 1));
}

static uint8_t class_of(const ike_sa *sa)
{
	return sa->initiator ? PEER_INITIATOR : sa->half_open ? PEER_HALF_OPEN : PEER_RESPONDER;
}

/* The identity index: established SAs by address and authenticated peer identity, for
 * INITIAL_CONTACT. */
static uint64_t ident_key(const ss_addr *a, const ss_ike_id *id)
{
	uint8_t b[17 + 2 + 255];
	b[0] = a->family;
	memcpy(b + 1, a->a, 16);
	b[17] = id->type;
	b[18] = id->len;
	memcpy(b + 19, id->data, id->len);
	return ss_hmap_key_bytes(b, 19u + id->len);
}

void sa_table_init(ss_ike_engine *e)
{
	ss_hmap_init(&e->by_spi, e->hash_seed);
	ss_hmap_init(&e->by_handle, e->hash_seed + 1);
	ss_hmap_init(&e->by_peer, e->hash_seed + 2);
	ss_hmap_init(&e->by_ident, e->hash_seed + 3);
	ss_hmap_init(&e->configs, e->hash_seed + 4);
	ss_theap_init(&e->timers);
}

void sa_touch(ss_ike_engine *e, ike_sa *sa)
{
	if (sa->touched)
		return;
	sa->touched = true;
	sa->tnext = e->touched;
	e->touched = sa;
}

bool sa_table_add(ss_ike_engine *e, ike_sa *sa)
{
	if (!ss_hmap_insert(&e->by_handle, &sa->by_handle, sa->handle))
		return false;
	sa->peer_class = class_of(sa);
	if (!ss_hmap_insert(&e->by_peer, &sa->by_peer, peer_key(&sa->remote.addr, sa->peer_class))) {
		ss_hmap_remove(&e->by_handle, &sa->by_handle);
		return false;
	}
	sa->timer.seq = e->next_seq++;
	sa_touch(e, sa);
	return true;
}

void sa_index(ss_ike_engine *e, ike_sa *sa)
{
	if (sa->indexed)
		return;
	/* Out of memory to grow: the map keeps its chains (longer, still correct), so this
	 * fails only for the very first entry of an empty map. */
	sa->indexed = ss_hmap_insert(&e->by_spi, &sa->by_spi, sa->spi_i);
}

void sa_unindex(ss_ike_engine *e, ike_sa *sa)
{
	if (!sa->indexed)
		return;
	ss_hmap_remove(&e->by_spi, &sa->by_spi);
	sa->indexed = false;
}

ike_sa *sa_find(ss_ike_engine *e, uint64_t spi_i, uint64_t spi_r)
{
	for (ss_hnode *n = ss_hmap_first(&e->by_spi, spi_i); n; n = ss_hmap_next(n)) {
		ike_sa *sa = SA_OF(n, by_spi);
		/* An IKE_SA_INIT response (spi_r 0 asked) finds our initiator SA by SPIi alone. */
		if (spi_r == 0 ? sa->initiator && sa->state == ST_INIT_SENT : sa->spi_r == spi_r) {
			sa_touch(e, sa);
			return sa;
		}
	}
	return NULL;
}

ike_sa *sa_find_half(ss_ike_engine *e, uint64_t spi_i, const ss_ike_endpoint *remote)
{
	for (ss_hnode *n = ss_hmap_first(&e->by_spi, spi_i); n; n = ss_hmap_next(n)) {
		ike_sa *sa = SA_OF(n, by_spi);
		if (!sa->initiator && ss_addr_eq(&sa->remote.addr, &remote->addr) &&
		    sa->remote.port == remote->port) {
			sa_touch(e, sa);
			return sa;
		}
	}
	return NULL;
}

const ike_sa *sa_peek_handle(const ss_ike_engine *e, uint32_t h)
{
	for (ss_hnode *n = ss_hmap_first(&e->by_handle, h); n; n = ss_hmap_next(n)) {
		const ike_sa *sa = SA_OF(n, by_handle);
		if (sa->state != ST_DEAD)
			return sa;
	}
	return NULL;
}

ike_sa *sa_by_handle(ss_ike_engine *e, uint32_t h)
{
	ike_sa *sa = (ike_sa *)sa_peek_handle(e, h);
	if (sa)
		sa_touch(e, sa);
	return sa;
}

const ike_sa *sa_peek_class(const ss_ike_engine *e, const ss_addr *remote, uint8_t cls,
			    const ike_sa *o)
{
	const ss_hnode *n = o ? ss_hmap_next(&o->by_peer) : ss_hmap_first(&e->by_peer, peer_key(remote, cls));
	for (; n; n = ss_hmap_next(n)) {
		const ike_sa *sa = SA_OF(n, by_peer);
		if (ss_addr_eq(&sa->remote.addr, remote))
			return sa;
	}
	return NULL;
}

ike_sa *sa_next_class(ss_ike_engine *e, const ss_addr *remote, uint8_t cls, ike_sa *o)
{
	ike_sa *sa = (ike_sa *)sa_peek_class(e, remote, cls, o);
	if (sa)
		sa_touch(e, sa);
	return sa;
}

const ike_sa *sa_peek_by_peer(const ss_ike_engine *e, const ss_addr *remote, const ike_sa *o)
{
	/* The classes one after the other; o's own chain first. */
	uint8_t cls = o ? o->peer_class : 0;
	const ike_sa *sa = sa_peek_class(e, remote, cls, o);
	while (!sa && ++cls < PEER_CLASSES)
		sa = sa_peek_class(e, remote, cls, NULL);
	return sa;
}

ike_sa *sa_next_by_peer(ss_ike_engine *e, const ss_addr *remote, ike_sa *o)
{
	ike_sa *sa = (ike_sa *)sa_peek_by_peer(e, remote, o);
	if (sa)
		sa_touch(e, sa);
	return sa;
}

void sa_set_remote(ss_ike_engine *e, ike_sa *sa, const ss_ike_endpoint *remote)
{
	bool moved = !ss_addr_eq(&sa->remote.addr, &remote->addr);
	sa->remote = *remote;
	if (!moved)
		return;
	/* Re-entering a node that is in the map never needs to grow it. */
	if (ss_hnode_in(&sa->by_peer))
		ss_hmap_insert(&e->by_peer, &sa->by_peer, peer_key(&remote->addr, sa->peer_class));
	if (ss_hnode_in(&sa->by_ident))
		sa_index_ident(e, sa);
}

void sa_reclass(ss_ike_engine *e, ike_sa *sa)
{
	uint8_t cls = class_of(sa);
	if (cls == sa->peer_class || !ss_hnode_in(&sa->by_peer))
		return;
	sa->peer_class = cls;
	ss_hmap_insert(&e->by_peer, &sa->by_peer, peer_key(&sa->remote.addr, cls));
}

void sa_index_ident(ss_ike_engine *e, ike_sa *sa)
{
	ss_ike_id id = sa_peer_id(sa);
	/* Out of memory to grow the empty map: INITIAL_CONTACT then misses this SA (it ends
	 * by its lifetime or a liveness check instead). */
	ss_hmap_insert(&e->by_ident, &sa->by_ident, ident_key(&sa->remote.addr, &id));
}

ike_sa *sa_next_by_ident(ss_ike_engine *e, const ss_addr *remote, const ss_ike_id *id, ike_sa *o)
{
	const ss_hnode *n = o ? ss_hmap_next(&o->by_ident) : ss_hmap_first(&e->by_ident, ident_key(remote, id));
	for (; n; n = ss_hmap_next(n)) {
		ike_sa *sa = SA_OF(n, by_ident);
		ss_ike_id oid = sa_peer_id(sa);
		if (ss_addr_eq(&sa->remote.addr, remote) && ss_ike_id_eq(&oid, id)) {
			sa_touch(e, sa);
			return sa;
		}
	}
	return NULL;
}

void sa_swap_handles(ss_ike_engine *e, ike_sa *a, ike_sa *b)
{
	uint32_t h = a->handle;
	a->handle = b->handle;
	b->handle = h;
	/* Re-entering a node that is in the map never needs to grow it. */
	ss_hmap_insert(&e->by_handle, &a->by_handle, a->handle);
	ss_hmap_insert(&e->by_handle, &b->by_handle, b->handle);
}

static void drop(ss_ike_engine *e, ike_sa *sa)
{
	sa_unindex(e, sa);
	ss_hmap_remove(&e->by_handle, &sa->by_handle);
	ss_hmap_remove(&e->by_peer, &sa->by_peer);
	ss_hmap_remove(&e->by_ident, &sa->by_ident);
	ss_theap_remove(&e->timers, &sa->timer);
	/* A rekeyed SA handed its CHILD SAs and its handle to its successor. */
	if (sa->keyed && sa->outcome_sent && !sa->rekeyed) {
		for (int i = 0; i < SS_IKE_MAX_CHILD; i++)
			if (sa->child[i])
				child_gone(e, sa, sa->child[i]);
		act_ike_deleted(e, sa);
	}
	e->st.sas--;
	sa_leave_half_open(e, sa);
	sa_free(e, sa);
}

void sa_reap(ss_ike_engine *e)
{
	while (e->touched) {
		ike_sa *sa = e->touched;
		e->touched = sa->tnext;
		sa->touched = false;
		sa->tnext = NULL;
		if (sa->state == ST_DEAD) {
			drop(e, sa);
			continue;
		}
		ss_time t = sa_deadline(sa);
		if (t == SS_NEVER)
			ss_theap_remove(&e->timers, &sa->timer);
		else if (!ss_theap_set(&e->timers, &sa->timer, t))
			/* Out of memory for the heap: keep it touched, so that the next deadline
			 * still counts it and the next event settles it again. */
			sa_touch(e, sa);
		if (sa->touched)
			break;
	}
}

static int newest_first(const void *a, const void *b)
{
	uint64_t x = (*(ike_sa *const *)a)->timer.seq, y = (*(ike_sa *const *)b)->timer.seq;
	return x < y ? 1 : x > y ? -1 : 0;
}

ike_sa **sa_due(ss_ike_engine *e, ss_time now, size_t *n)
{
	*n = 0;
	for (ss_tnode *t; (t = ss_theap_top(&e->timers)) && t->at <= now;) {
		if (*n == e->due_cap) {
			size_t cap = e->due_cap ? 2 * e->due_cap : 64;
			ike_sa **d = realloc(e->due, cap * sizeof(*d));
			if (!d)
				break; /* the rest stay in the heap, due: the next pass takes them */
			e->due = d;
			e->due_cap = cap;
		}
		ike_sa *sa = SA_OF(t, timer);
		ss_theap_remove(&e->timers, t);
		sa_touch(e, sa);
		e->due[(*n)++] = sa;
	}
	/* The order of the former walk over all SAs (newest first), which tests of several
	 * SAs due at one instant see in their actions. */
	if (*n > 1)
		qsort(e->due, *n, sizeof(*e->due), newest_first);
	return e->due;
}

ss_time sa_next_deadline(const ss_ike_engine *e)
{
	const ss_tnode *t = ss_theap_top(&e->timers);
	ss_time d = t ? t->at : SS_NEVER;
	for (const ike_sa *sa = e->touched; sa; sa = sa->tnext)
		d = ss_time_min(d, sa_deadline(sa));
	return d;
}

void sa_table_free(ss_ike_engine *e)
{
	size_t cur = 0;
	for (ss_hnode *n = NULL; (n = ss_hmap_walk(&e->by_handle, &cur, n));) {
		ike_sa *sa = SA_OF(n, by_handle);
		sa->state = ST_DEAD;
		sa_touch(e, sa);
	}
	sa_reap(e);
	ss_hmap_free(&e->by_spi);
	ss_hmap_free(&e->by_handle);
	ss_hmap_free(&e->by_peer);
	ss_hmap_free(&e->by_ident);
	ss_hmap_free(&e->configs);  /* empty: every SA dropped its reference */
	ss_theap_free(&e->timers);
	free(e->due);
	e->due = NULL;
}
