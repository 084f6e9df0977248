/* Packets the agent holds while a negotiation runs.  The agent keeps only a handle and a
 * length per packet and bounds how many it holds (per peer and overall); the bytes live
 * here, one allocation per packet of its own length, so memory is bounded by the agent's
 * limit times the TUN MTU. */
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

static size_t bucket(uint64_t h)
{
	return (size_t)((h * 0x9e3779b97f4a7c15ull) >> 52) & (DM_HELD_BUCKETS - 1);
}

bool dm_held_put(dm_held *h, uint64_t handle, const uint8_t *p, size_t len)
{
	if (h->max_n && h->n >= h->max_n) {
		h->refused++;
		return false;
	}
	dm_held_pkt *k = malloc(sizeof(*k) + len);
	if (!k) {
		h->refused++;
		return false;
	}
	k->handle = handle;
	k->len = (uint32_t)len;
	memcpy(k->data, p, len);
	size_t b = bucket(handle);
	k->next = h->b[b];
	h->b[b] = k;
	h->n++;
	h->bytes += len;
	return true;
}

dm_held_pkt *dm_held_take(dm_held *h, uint64_t handle)
{
	for (dm_held_pkt **pp = &h->b[bucket(handle)]; *pp; pp = &(*pp)->next) {
		if ((*pp)->handle == handle) {
			dm_held_pkt *k = *pp;
			*pp = k->next;
			h->n--;
			h->bytes -= k->len;
			return k;
		}
	}
	return NULL;
}

void dm_held_clear(dm_held *h)
{
	for (size_t i = 0; i < DM_HELD_BUCKETS; i++) {
		while (h->b[i]) {
			dm_held_pkt *k = h->b[i];
			h->b[i] = k->next;
			free(k);
		}
	}
	h->n = h->bytes = 0;
}
