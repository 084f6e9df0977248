/* Intrusive hash multimap and deadline heap for the IKE SA table (see sa_table.h). */
#include <stdlib.h>

#include "ike/sa_table.h"

#define HMAP_MIN 64

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static size_t slot(const ss_hmap *m, uint64_t key)
{
	/* The seed goes in before mixing: without it, nobody can aim keys at one bucket. */
	return (size_t)(mix(key ^ m->seed) + m->seed) & (m->nb - 1);
}

void ss_hmap_init(ss_hmap *m, uint64_t seed)
{
	*m = (ss_hmap){ .seed = mix(seed) | 1 };
}

void ss_hmap_free(ss_hmap *m)
{
	free(m->b);
	m->b = NULL;
	m->nb = m->n = 0;
}

static bool grow(ss_hmap *m)
{
	size_t nb = m->nb ? 2 * m->nb : HMAP_MIN;
	ss_hnode **b = calloc(nb, sizeof(*b));
	if (!b)
		return false;
	ss_hmap old = *m;
	m->b = b;
	m->nb = nb;
	for (size_t i = 0; i < old.nb; i++)
		for (ss_hnode *n = old.b[i], *nx; n; n = nx) {
			nx = n->next;
			size_t s = slot(m, n->key);
			n->next = b[s];
			if (b[s])
				b[s]->pprev = &n->next;
			b[s] = n;
			n->pprev = &b[s];
		}
	free(old.b);
	return true;
}

bool ss_hmap_insert(ss_hmap *m, ss_hnode *n, uint64_t key)
{
	if (ss_hnode_in(n))
		ss_hmap_remove(m, n);
	/* Load factor at most 1: chains stay short as the table grows. */
	if (m->n >= m->nb && !grow(m) && m->nb == 0)
		return false;
	n->key = key;
	size_t s = slot(m, key);
	n->next = m->b[s];
	if (n->next)
		n->next->pprev = &n->next;
	m->b[s] = n;
	n->pprev = &m->b[s];
	m->n++;
	return true;
}

void ss_hmap_remove(ss_hmap *m, ss_hnode *n)
{
	if (!ss_hnode_in(n))
		return;
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	m->n--;
	n->next = NULL;
	n->pprev = NULL;
}

static ss_hnode *match(ss_hnode *n, uint64_t key)
{
	while (n && n->key != key)
		n = n->next;
	return n;
}

ss_hnode *ss_hmap_first(const ss_hmap *m, uint64_t key)
{
	return m->nb ? match(m->b[slot(m, key)], key) : NULL;
}

ss_hnode *ss_hmap_next(const ss_hnode *n)
{
	return match(n->next, n->key);
}

ss_hnode *ss_hmap_walk(const ss_hmap *m, size_t *cursor, ss_hnode *prev)
{
	if (prev && prev->next)
		return prev->next;
	while (*cursor < m->nb) {
		ss_hnode *n = m->b[(*cursor)++];
		if (n)
			return n;
	}
	return NULL;
}

uint64_t ss_hmap_key_bytes(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* ---- Deadline heap ---- */

void ss_theap_init(ss_theap *t)
{
	*t = (ss_theap){ 0 };
}

void ss_theap_free(ss_theap *t)
{
	free(t->h);
	*t = (ss_theap){ 0 };
}

static bool before(const ss_tnode *a, const ss_tnode *b)
{
	return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static void put(ss_theap *t, size_t i, ss_tnode *n)
{
	t->h[i] = n;
	n->pos = i + 1;
}

static void up(ss_theap *t, size_t i)
{
	ss_tnode *n = t->h[i];
	while (i > 0 && before(n, t->h[(i - 1) / 2])) {
		put(t, i, t->h[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	put(t, i, n);
}

static void down(ss_theap *t, size_t i)
{
	ss_tnode *n = t->h[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= t->n)
			break;
		if (c + 1 < t->n && before(t->h[c + 1], t->h[c]))
			c++;
		if (!before(t->h[c], n))
			break;
		put(t, i, t->h[c]);
		i = c;
	}
	put(t, i, n);
}

bool ss_theap_set(ss_theap *t, ss_tnode *n, ss_time at)
{
	if (n->pos) {
		ss_time old = n->at;
		n->at = at;
		if (at < old)
			up(t, n->pos - 1);
		else
			down(t, n->pos - 1);
		return true;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		ss_tnode **h = realloc(t->h, cap * sizeof(*h));
		if (!h)
			return false;
		t->h = h;
		t->cap = cap;
	}
	n->at = at;
	put(t, t->n++, n);
	up(t, t->n - 1);
	return true;
}

void ss_theap_remove(ss_theap *t, ss_tnode *n)
{
	if (!n->pos)
		return;
	size_t i = n->pos - 1;
	n->pos = 0;
	ss_tnode *last = t->h[--t->n];
	if (i == t->n)
		return;
	put(t, i, last);
	if (i > 0 && before(last, t->h[(i - 1) / 2]))
		up(t, i);
	else
		down(t, i);
}

ss_tnode *ss_theap_top(const ss_theap *t)
{
	return t->n ? t->h[0] : NULL;
}
