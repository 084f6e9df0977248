/* The held-packet store (held.h): a hash of handles to copies of the packets. */
#include <stdlib.h>
#include <string.h>

#include "dataplane/user/held.h"

static size_t bucket(uint64_t h)
{
	return (size_t)((h * 0x9e3779b97f4a7c15ull) >> 52) & (DPU_HELD_BUCKETS - 1);
}

bool dpu_held_put(dpu_held *h, uint64_t handle, const uint8_t *p, size_t len)
{
	if (h->max_n && h->n >= h->max_n) {
		h->refused++;
		return false;
	}
	dpu_held_pkt *k = malloc(sizeof(*k) + len);
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

const dpu_held_pkt *dpu_held_find(const dpu_held *h, uint64_t handle)
{
	for (const dpu_held_pkt *k = h->b[bucket(handle)]; k; k = k->next)
		if (k->handle == handle)
			return k;
	return NULL;
}

dpu_held_pkt *dpu_held_take(dpu_held *h, uint64_t handle)
{
	for (dpu_held_pkt **pp = &h->b[bucket(handle)]; *pp; pp = &(*pp)->next) {
		if ((*pp)->handle == handle) {
			dpu_held_pkt *k = *pp;
			*pp = k->next;
			h->n--;
			h->bytes -= k->len;
			return k;
		}
	}
	return NULL;
}

void dpu_held_clear(dpu_held *h)
{
	for (size_t i = 0; i < DPU_HELD_BUCKETS; i++) {
		while (h->b[i]) {
			dpu_held_pkt *k = h->b[i];
			h->b[i] = k->next;
			free(k);
		}
	}
	h->n = h->bytes = 0;
}
