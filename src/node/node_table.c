/* The node's tables (internal.h): IKE SA and CHILD SA records, the pairs they belong to, and
 * the per-peer notes, each record allocated on its own (pointers to it stay valid while it
 * lives) and indexed in intrusive hash maps (ike/sa_table.h: O(1) insert, lookup and removal
 * at any size; keys from the network are hashed with a secret seed).  Dense arrays of the
 * records serve walks that must see every record (introspection, the traffic reports);
 * nothing that follows an event walks them. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "base/secure.h"
#include "node/internal.h"

/* ---- dense arrays ---- */

static bool vec_push(node_vec *v, void *x, size_t *slot)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		void **nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv)
			return false;
		v->v = nv;
		v->cap = cap;
	}
	*slot = v->n;
	v->v[v->n++] = x;
	return true;
}

/* Removes the entry at slot; returns the entry that moved into it (NULL: none moved). */
static void *vec_remove(node_vec *v, size_t slot)
{
	void *last = v->v[--v->n];
	if (slot == v->n)
		return NULL;
	v->v[slot] = last;
	return last;
}

/* ---- keys ---- */

static uint64_t addr_key(const ss_addr *a)
{
	uint8_t b[17];
	b[0] = a->family;
	memcpy(b + 1, a->a, 16);
	return ss_hmap_key_bytes(b, sizeof(b));
}

bool node_tables_init(ss_node *n)
{
	uint64_t seed;
	if (!ss_random(&seed, sizeof(seed)))
		return false;
	ss_hmap_init(&n->by_pair, seed);
	ss_hmap_init(&n->by_h, seed + 1);
	ss_hmap_init(&n->by_spi, seed + 2);
	ss_hmap_init(&n->by_reqid, seed + 3);
	ss_hmap_init(&n->by_ike, seed + 4);
	ss_hmap_init(&n->notes, seed + 5);
	ss_hmap_init(&n->peers, seed + 6);
	return true;
}

void node_tables_free(ss_node *n)
{
	for (size_t i = 0; i < n->ike_v.n; i++)
		free(n->ike_v.v[i]);
	for (size_t i = 0; i < n->child_v.n; i++)
		free(n->child_v.v[i]);
	size_t cur = 0;
	ss_hnode *h = NULL, *next;
	for (h = ss_hmap_walk(&n->by_pair, &cur, NULL); h; h = next) {
		next = ss_hmap_walk(&n->by_pair, &cur, h);
		free((node_pair *)((char *)h - offsetof(node_pair, hn)));
	}
	for (node_note *x = n->lru_old, *nx; x; x = nx) {
		nx = x->newer;
		ss_wipe(x, sizeof(*x));
		free(x);
	}
	cur = 0;
	for (h = ss_hmap_walk(&n->peers, &cur, NULL); h; h = next) {
		next = ss_hmap_walk(&n->peers, &cur, h);
		free((node_peer *)((char *)h - offsetof(node_peer, hn)));
	}
	free(n->ike_v.v);
	free(n->child_v.v);
	ss_hmap_free(&n->by_pair);
	ss_hmap_free(&n->by_h);
	ss_hmap_free(&n->by_spi);
	ss_hmap_free(&n->by_reqid);
	ss_hmap_free(&n->by_ike);
	ss_hmap_free(&n->notes);
	ss_hmap_free(&n->peers);
}

/* ---- pairs ---- */

#define PAIR_OF(h) ((node_pair *)((char *)(h) - offsetof(node_pair, hn)))

node_pair *node_pair_find(const ss_node *n, const ss_addr *local, const ss_addr *remote)
{
	for (ss_hnode *h = ss_hmap_first(&n->by_pair, addr_key(remote)); h; h = ss_hmap_next(h)) {
		node_pair *p = PAIR_OF(h);
		if (ss_addr_eq(&p->remote, remote) && ss_addr_eq(&p->local, local))
			return p;
	}
	return NULL;
}

static node_pair *pair_get(ss_node *n, const ss_addr *local, const ss_addr *remote)
{
	node_pair *p = node_pair_find(n, local, remote);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->local = *local;
	p->remote = *remote;
	if (!ss_hmap_insert(&n->by_pair, &p->hn, addr_key(remote))) {
		free(p);
		return NULL;
	}
	return p;
}

/* Freed with its last SA: a pair holds nothing of its own. */
static void pair_put(ss_node *n, node_pair *p)
{
	if (p->n_ike || p->n_children)
		return;
	ss_hmap_remove(&n->by_pair, &p->hn);
	free(p);
}

/* ---- IKE SAs ---- */

ss_node_ikesa *node_ikesa_find(const ss_node *n, uint32_t h)
{
	ss_hnode *x = ss_hmap_first(&n->by_h, h);
	return x ? &((node_ikesa *)((char *)x - offsetof(node_ikesa, by_h)))->pub : NULL;
}

ss_node_ikesa *node_ikesa_add(ss_node *n, uint32_t h, const ss_addr *local, const ss_addr *remote, ss_time now,
			      const char *rule)
{
	ss_node_ikesa *found = node_ikesa_find(n, h);
	if (found)
		return found;
	node_ikesa *s = calloc(1, sizeof(*s));
	node_pair *p = s ? pair_get(n, local, remote) : NULL;
	if (!p || !vec_push(&n->ike_v, s, &s->slot)) {
		if (p)
			pair_put(n, p);
		free(s);
		n->st.table_full++;
		return NULL;
	}
	if (!ss_hmap_insert(&n->by_h, &s->by_h, h)) {
		vec_remove(&n->ike_v, s->slot);
		pair_put(n, p);
		free(s);
		n->st.table_full++;
		return NULL;
	}
	s->pub.h = h;
	s->pub.local = *local;
	s->pub.remote = *remote;
	s->pub.created = now;
	snprintf(s->pub.rule, sizeof(s->pub.rule), "%s", rule ? rule : "");
	s->pair = p;
	s->prev = p->last;
	if (p->last)
		p->last->next = s;
	else
		p->first = s;
	p->last = s;
	p->n_ike++;
	p->n_live++;
	return &s->pub;
}

void node_ikesa_set_deleting(ss_node *n, ss_node_ikesa *pub)
{
	(void)n;
	if (pub->deleting)
		return;
	pub->deleting = true;
	node_ikesa_of(pub)->pair->n_live--;
}

void node_ikesa_remove(ss_node *n, ss_node_ikesa *pub)
{
	node_ikesa *s = node_ikesa_of(pub);
	node_pair *p = s->pair;
	ss_hmap_remove(&n->by_h, &s->by_h);
	node_ikesa *moved = vec_remove(&n->ike_v, s->slot);
	if (moved)
		moved->slot = s->slot;
	if (s->prev)
		s->prev->next = s->next;
	else
		p->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		p->last = s->prev;
	p->n_ike--;
	if (!pub->deleting)
		p->n_live--;
	pair_put(n, p);
	free(s);
}

/* ---- CHILD SAs ---- */

#define CHILD_OF(h, f) ((node_child *)((char *)(h) - offsetof(node_child, f)))

ss_node_child *node_child_add(ss_node *n, uint32_t h, uint32_t spi_in, const ss_addr *local,
			      const ss_addr *remote)
{
	node_child *c = calloc(1, sizeof(*c));
	node_pair *p = c ? pair_get(n, local, remote) : NULL;
	if (!p || !vec_push(&n->child_v, c, &c->slot))
		goto fail;
	c->pub.reqid = ++n->next_reqid;
	if (!ss_hmap_insert(&n->by_spi, &c->by_spi, spi_in) || !ss_hmap_insert(&n->by_reqid, &c->by_reqid, c->pub.reqid) ||
	    !ss_hmap_insert(&n->by_ike, &c->by_ike, h)) {
		ss_hmap_remove(&n->by_spi, &c->by_spi);
		ss_hmap_remove(&n->by_reqid, &c->by_reqid);
		vec_remove(&n->child_v, c->slot);
		goto fail;
	}
	c->pub.ike_sa = h;
	c->pub.spi_in = spi_in;
	c->pub.local = *local;
	c->pub.remote = *remote;
	c->pair = p;
	p->n_children++;
	return &c->pub;
fail:
	if (p)
		pair_put(n, p);
	free(c);
	n->st.table_full++;
	return NULL;
}

void node_child_set_installed(ss_node *n, ss_node_child *pub)
{
	(void)n;
	if (pub->installed)
		return;
	pub->installed = true;
	node_child_of(pub)->pair->n_installed++;
}

/* Forgets the record (its dataplane SAs are the caller's to delete first). */
void node_child_forget(ss_node *n, ss_node_child *pub)
{
	node_child *c = node_child_of(pub);
	node_pair *p = c->pair;
	ss_hmap_remove(&n->by_spi, &c->by_spi);
	ss_hmap_remove(&n->by_reqid, &c->by_reqid);
	ss_hmap_remove(&n->by_ike, &c->by_ike);
	node_child *moved = vec_remove(&n->child_v, c->slot);
	if (moved)
		moved->slot = c->slot;
	/* The traffic walk goes on from the record that took this one's place (one moved from
	 * behind the cursor waits for the next round: a report late by one period). */
	if (n->traffic_cursor > n->child_v.n)
		n->traffic_cursor = 0;
	p->n_children--;
	if (pub->installed)
		p->n_installed--;
	pair_put(n, p);
	free(c);
}

/* spi_out 0: any (the engine always names the inbound SPI). */
ss_node_child *node_child_by_spi(const ss_node *n, uint32_t spi_in, uint32_t spi_out)
{
	for (ss_hnode *h = ss_hmap_first(&n->by_spi, spi_in); h; h = ss_hmap_next(h)) {
		node_child *c = CHILD_OF(h, by_spi);
		if (!spi_out || c->pub.spi_out == spi_out)
			return &c->pub;
	}
	return NULL;
}

bool node_spi_in_use(void *ctx, uint32_t spi)
{
	return node_child_by_spi(ctx, spi, 0) != NULL;
}

ss_node_child *node_child_by_reqid(const ss_node *n, uint32_t reqid)
{
	ss_hnode *h = ss_hmap_first(&n->by_reqid, reqid);
	return h ? &CHILD_OF(h, by_reqid)->pub : NULL;
}

/* ---- peer states ---- */

int node_set_peer(ss_node *n, const ss_addr *remote, enum ss_dp_peer_state st, ss_time timeout)
{
	node_peer *p = NULL;
	for (ss_hnode *h = ss_hmap_first(&n->peers, addr_key(remote)); h && !p; h = ss_hmap_next(h))
		if (ss_addr_eq(&((node_peer *)((char *)h - offsetof(node_peer, hn)))->remote, remote))
			p = (node_peer *)((char *)h - offsetof(node_peer, hn));
	if (p && p->st == SS_DP_PEER_SECURED && st == SS_DP_PEER_SECURED)
		return 0;
	int r = ss_dp_set_peer(n->dp, remote, st, timeout);
	if (r == 0 && st != SS_DP_PEER_NONE && !p && (p = calloc(1, sizeof(*p)))) {
		p->remote = *remote;
		if (!ss_hmap_insert(&n->peers, &p->hn, addr_key(remote))) {
			free(p);
			p = NULL;
		}
	}
	if (!p)
		return r;
	if (r == 0 && st != SS_DP_PEER_NONE) {
		p->st = st;
	} else {
		/* Gone from the dataplane, or unknown after a failure: the next set goes through. */
		ss_hmap_remove(&n->peers, &p->hn);
		free(p);
	}
	return r;
}

/* ---- notes ---- */

static void lru_unlink(ss_node *n, node_note *x)
{
	if (x->older)
		x->older->newer = x->newer;
	else
		n->lru_old = x->newer;
	if (x->newer)
		x->newer->older = x->older;
	else
		n->lru_new = x->older;
	x->older = x->newer = NULL;
}

static void lru_push(ss_node *n, node_note *x)
{
	x->older = n->lru_new;
	x->newer = NULL;
	if (n->lru_new)
		n->lru_new->newer = x;
	else
		n->lru_old = x;
	n->lru_new = x;
}

static node_note *note_new(ss_node *n, const ss_addr *local, const ss_addr *remote)
{
	node_note *x;
	if (n->notes.n >= SS_NODE_MAX_NOTES) {
		/* Full: the note touched longest ago gives way (losing one loses a "last outcome"
		 * column, nothing else). */
		x = n->lru_old;
		lru_unlink(n, x);
		ss_hmap_remove(&n->notes, &x->hn);
		memset(&x->pub, 0, sizeof(x->pub));
	} else if (!(x = calloc(1, sizeof(*x)))) {
		return NULL;
	}
	if (!ss_hmap_insert(&n->notes, &x->hn, addr_key(remote))) {
		free(x);
		return NULL;
	}
	x->pub.local = *local;
	x->pub.remote = *remote;
	x->pub.last_outcome = -1;
	lru_push(n, x);
	return x;
}

ss_node_note *ss_node_note_get(ss_node *n, const ss_addr *local, const ss_addr *remote, bool create)
{
	for (ss_hnode *h = ss_hmap_first(&n->notes, addr_key(remote)); h; h = ss_hmap_next(h)) {
		node_note *x = (node_note *)((char *)h - offsetof(node_note, hn));
		if (ss_addr_eq(&x->pub.remote, remote) && (!local || ss_addr_eq(&x->pub.local, local))) {
			x->pub.touched = n->now;
			lru_unlink(n, x);
			lru_push(n, x);
			return &x->pub;
		}
	}
	if (!create || !local)
		return NULL;
	node_note *x = note_new(n, local, remote);
	if (!x)
		return NULL;
	x->pub.touched = n->now;
	return &x->pub;
}

size_t ss_node_n_notes(const ss_node *n)
{
	return n->notes.n;
}

/* ---- introspection ---- */

size_t ss_node_n_ikesas(const ss_node *n)
{
	return n->ike_v.n;
}

const ss_node_ikesa *ss_node_ikesa_at(const ss_node *n, size_t i)
{
	return i < n->ike_v.n ? &((node_ikesa *)n->ike_v.v[i])->pub : NULL;
}

const ss_node_ikesa *ss_node_ikesa_get(const ss_node *n, uint32_t h)
{
	return node_ikesa_find(n, h);
}

void ss_node_each_ikesa_with(const ss_node *n, const ss_addr *remote,
			     void (*fn)(void *ctx, const ss_node_ikesa *s), void *ctx)
{
	for (ss_hnode *h = ss_hmap_first(&n->by_pair, addr_key(remote)); h; h = ss_hmap_next(h)) {
		node_pair *p = PAIR_OF(h);
		if (!ss_addr_eq(&p->remote, remote))
			continue;
		for (node_ikesa *s = p->first; s; s = s->next)
			fn(ctx, &s->pub);
	}
}

size_t ss_node_n_children(const ss_node *n)
{
	return n->child_v.n;
}

const ss_node_child *ss_node_child_at(const ss_node *n, size_t i)
{
	return i < n->child_v.n ? &((node_child *)n->child_v.v[i])->pub : NULL;
}

const ss_node_child *ss_node_child_first(const ss_node *n, uint32_t h)
{
	ss_hnode *x = ss_hmap_first(&n->by_ike, h);
	return x ? &CHILD_OF(x, by_ike)->pub : NULL;
}

const ss_node_child *ss_node_child_next(const ss_node_child *c)
{
	ss_hnode *x = ss_hmap_next(&node_child_of(c)->by_ike);
	return x ? &CHILD_OF(x, by_ike)->pub : NULL;
}

bool ss_node_has_children_with(const ss_node *n, const ss_addr *remote)
{
	for (ss_hnode *h = ss_hmap_first(&n->by_pair, addr_key(remote)); h; h = ss_hmap_next(h)) {
		const node_pair *p = PAIR_OF(h);
		if (ss_addr_eq(&p->remote, remote) && p->n_children)
			return true;
	}
	return false;
}
