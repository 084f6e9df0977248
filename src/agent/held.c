/* Held packets: a fixed pool of (handle, length) nodes, linked per association in arrival
 * order.  The pool is sized once (max_held_total), so holding never allocates and a flood
 * of packets toward peers that do not answer costs a bounded amount of memory. */
#include "agent/internal.h"

#include <stdlib.h>

bool ss_hp_init(ss_held_pool *p, uint32_t cap)
{
	p->cap = cap;
	p->in_use = 0;
	p->free_head = SS_NIL;
	p->nodes = cap ? calloc(cap, sizeof(*p->nodes)) : NULL;
	if (cap && !p->nodes)
		return false;
	for (uint32_t i = cap; i-- > 0;) {
		p->nodes[i].next = p->free_head;
		p->free_head = i;
	}
	return true;
}

void ss_hp_fini(ss_held_pool *p)
{
	free(p->nodes);
	p->nodes = NULL;
	p->cap = p->in_use = 0;
	p->free_head = SS_NIL;
}

bool ss_hp_push(ss_held_pool *p, ss_assoc *a, const ss_held *h)
{
	uint32_t i = p->free_head;
	if (i == SS_NIL)
		return false;
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
	p->in_use--;
	return true;
}
