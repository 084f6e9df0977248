/* Packets the userspace backend keeps for the daemon while a negotiation runs (verdict HOLD),
 * by handle.  The agent keeps only handles and lengths and bounds how many it holds (per peer
 * and overall); the bytes live here, one allocation per packet of its own length, so memory
 * is bounded by the agent's limit times the TUN MTU, and by max_n here as a backstop. */
#ifndef SS_DATAPLANE_USER_HELD_H
#define SS_DATAPLANE_USER_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dpu_held_pkt {
	struct dpu_held_pkt *next;
	uint64_t handle;
	uint32_t len;
	uint8_t data[];
} dpu_held_pkt;

#define DPU_HELD_BUCKETS 4096

typedef struct dpu_held {
	dpu_held_pkt *b[DPU_HELD_BUCKETS];
	size_t n, bytes, max_n;
	uint64_t refused;
} dpu_held;

bool dpu_held_put(dpu_held *h, uint64_t handle, const uint8_t *p, size_t len);
/* The packet kept under handle, or NULL (it stays). */
const dpu_held_pkt *dpu_held_find(const dpu_held *h, uint64_t handle);
/* Removes and returns it (the caller frees), or NULL. */
dpu_held_pkt *dpu_held_take(dpu_held *h, uint64_t handle);
void dpu_held_clear(dpu_held *h);

#endif
