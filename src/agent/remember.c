/* The downgrade memory: peers that completed IKE, by remote address, with the time they
 * did.  A peer remembered here is not soft-associated when it later falls silent (unless
 * the rule says fallback_after_secured): silence from a host that spoke IKE last week is
 * more likely an attack (UDP 500 filtered on path) than a host that forgot IPsec.
 *
 * A chained hash for lookups plus a list in order of (re)insertion, so that when the
 * table is full the least recently secured peer goes first in O(1).  Expired entries are
 * dropped when met (lookup, export) and from the head of the list on insertion. */
#include "agent/internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/secure.h"

enum { PM_MIN = 64 };

bool ss_pm_init(ss_peer_mem *m)
{
	memset(m, 0, sizeof(*m));
	m->free_head = m->lru_head = m->lru_tail = SS_NIL;
	m->nbuckets = PM_MIN;
	m->buckets = malloc(m->nbuckets * sizeof(*m->buckets));
	if (!m->buckets)
		return false;
	memset(m->buckets, 0xff, m->nbuckets * sizeof(*m->buckets));
	if (!ss_random(&m->seed, sizeof(m->seed)))
		m->seed = 0x2545f4914f6cdd1dull;
	return true;
}

void ss_pm_fini(ss_peer_mem *m)
{
	free(m->slab);
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}

static uint32_t pm_bucket(const ss_peer_mem *m, const ss_addr *a, uint32_t nb)
{
	uint64_t h = ss_addr_hash(a, m->seed);
	return (uint32_t)(h ^ (h >> 32)) & (nb - 1);
}

static uint32_t pm_find(const ss_peer_mem *m, const ss_addr *a, uint32_t **link)
{
	uint32_t *pp = &m->buckets[pm_bucket(m, a, m->nbuckets)];
	while (*pp != SS_NIL && !ss_addr_eq(&m->slab[*pp].remote, a))
		pp = &m->slab[*pp].next;
	if (link)
		*link = pp;
	return *pp;
}

static void lru_unlink(ss_peer_mem *m, uint32_t i)
{
	struct ss_remembered *e = &m->slab[i];
	if (e->lprev == SS_NIL)
		m->lru_head = e->lnext;
	else
		m->slab[e->lprev].lnext = e->lnext;
	if (e->lnext == SS_NIL)
		m->lru_tail = e->lprev;
	else
		m->slab[e->lnext].lprev = e->lprev;
}

static void lru_append(ss_peer_mem *m, uint32_t i)
{
	struct ss_remembered *e = &m->slab[i];
	e->lnext = SS_NIL;
	e->lprev = m->lru_tail;
	if (m->lru_tail == SS_NIL)
		m->lru_head = i;
	else
		m->slab[m->lru_tail].lnext = i;
	m->lru_tail = i;
}

static void pm_unlink(ss_peer_mem *m, uint32_t i)
{
	uint32_t *pp;
	pm_find(m, &m->slab[i].remote, &pp);
	*pp = m->slab[i].next;
	lru_unlink(m, i);
	m->slab[i].next = m->free_head;
	m->free_head = i;
	m->count--;
}

static void pm_rehash(ss_peer_mem *m, uint32_t nb)
{
	uint32_t *b = malloc(nb * sizeof(*b));
	if (!b)
		return; /* keep the old, denser buckets: still correct */
	memset(b, 0xff, nb * sizeof(*b));
	for (uint32_t k = 0; k < m->nbuckets; k++) {
		for (uint32_t i = m->buckets[k], nx; i != SS_NIL; i = nx) {
			nx = m->slab[i].next;
			uint32_t h = pm_bucket(m, &m->slab[i].remote, nb);
			m->slab[i].next = b[h];
			b[h] = i;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
}

static bool expired(const struct ss_remembered *e, ss_time window, ss_time now)
{
	return e->at <= now && now - e->at >= window;
}

void ss_pm_put(ss_peer_mem *m, const ss_addr *remote, ss_time at, ss_time window, ss_time now, uint32_t max)
{
	if (!m->buckets || max == 0)
		return;
	uint32_t i = pm_find(m, remote, NULL);
	if (i != SS_NIL) {
		if (at > m->slab[i].at)
			m->slab[i].at = at;
		lru_unlink(m, i);
		lru_append(m, i);
		return;
	}
	while (m->lru_head != SS_NIL && expired(&m->slab[m->lru_head], window, now))
		pm_unlink(m, m->lru_head);
	if (m->count >= max)
		pm_unlink(m, m->lru_head); /* full: the least recently secured peer goes */
	if (m->free_head == SS_NIL && m->hw == m->cap) {
		uint32_t n = m->cap ? m->cap * 2 : PM_MIN;
		void *s = realloc(m->slab, (size_t)n * sizeof(*m->slab));
		if (!s)
			return;
		m->slab = s;
		m->cap = n;
	}
	if (m->free_head != SS_NIL) {
		i = m->free_head;
		m->free_head = m->slab[i].next;
	} else {
		i = m->hw++;
	}
	m->slab[i].remote = *remote;
	m->slab[i].at = at;
	uint32_t h = pm_bucket(m, remote, m->nbuckets);
	m->slab[i].next = m->buckets[h];
	m->buckets[h] = i;
	lru_append(m, i);
	m->count++;
	if (m->count > m->nbuckets)
		pm_rehash(m, m->nbuckets * 2);
}

bool ss_pm_check(ss_peer_mem *m, const ss_addr *remote, ss_time window, ss_time now)
{
	if (!m->buckets)
		return false;
	uint32_t i = pm_find(m, remote, NULL);
	if (i == SS_NIL)
		return false;
	if (!expired(&m->slab[i], window, now))
		return true;
	pm_unlink(m, i);
	return false;
}

void ss_pm_each(ss_peer_mem *m, ss_time window, ss_time now, ss_agent_peer_fn fn, void *ctx)
{
	for (uint32_t i = m->lru_head, nx; i != SS_NIL; i = nx) {
		nx = m->slab[i].lnext;
		ss_time at = m->slab[i].at;
		if (expired(&m->slab[i], window, now))
			pm_unlink(m, i);
		else
			fn(ctx, &m->slab[i].remote, at <= now ? now - at : 0);
	}
}

size_t ss_pm_memory(const ss_peer_mem *m)
{
	return (size_t)m->cap * sizeof(*m->slab) + (size_t)m->nbuckets * sizeof(uint32_t);
}
