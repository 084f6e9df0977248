/* Held packets: a pool of (handle, length, time) nodes, linked per association in arrival
 * order.  It grows by doubling up to its max (the agent's byte limit over the per-packet
 * overhead), so a flood of packets toward peers that do not answer costs a bounded amount
 * of memory; it is freed whenever it empties. */
#include "agent/internal.h"

#include <stdlib.h>

#define HP_FIRST 256

bool ss_hp_init(ss_held_pool *p, uint32_t max)
{
	p->cap = p->in_use = 0;
	p->max = max;
	p->free_head = SS_NIL;
	p->nodes = NULL;
	return true;
}

void ss_hp_fini(ss_held_pool *p)
{
	free(p->nodes);
	p->nodes = NULL;
	p->cap = p->in_use = 0;
	p->free_head = SS_NIL;
}

static bool grow(ss_held_pool *p)
{
	if (p->cap >= p->max)
		return false;
	uint32_t n = p->cap ? p->cap * 2 : HP_FIRST;
	if (n > p->max || n < p->cap)
		n = p->max;
	ss_held *nodes = realloc(p->nodes, (size_t)n * sizeof(*nodes));
	if (!nodes)
		return false;
	p->nodes = nodes;
	for (uint32_t i = n; i-- > p->cap;) {
		p->nodes[i].next = p->free_head;
		p->free_head = i;
	}
	p->cap = n;
	return true;
}

bool ss_hp_push(ss_held_pool *p, ss_assoc *a, const ss_held *h)
{
	if (p->free_head == SS_NIL && !grow(p))
		return false;
	uint32_t i = p->free_head;
	p->free_head = p->nodes[i].next;
	p->nodes[i] = *h;
	p->nodes[i].next = SS_NIL;
	if (a->held_tail == SS_NIL)
		a->held_head = i;
	else
		p->nodes[a->held_tail].next = i;
	a->held_tail = i;
	a->held_n++;
	p->in_use++;
	return true;
}

bool ss_hp_pop(ss_held_pool *p, ss_assoc *a, ss_held *out)
{
	uint32_t i = a->held_head;
	if (i == SS_NIL)
		return false;
	*out = p->nodes[i];
	a->held_head = p->nodes[i].next;
	if (a->held_head == SS_NIL)
		a->held_tail = SS_NIL;
	a->held_n--;
	p->nodes[i].next = p->free_head;
	p->free_head = i;
	if (--p->in_use == 0) {
		/* Nothing held: give the pool back (a flood's worth of nodes must not stay). */
		free(p->nodes);
		p->nodes = NULL;
		p->cap = 0;
		p->free_head = SS_NIL;
	}
	return true;
}
