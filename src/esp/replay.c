#include "esp/replay.h"

#include <string.h>

void ss_replay_init(ss_replay *r, bool esn)
{
	memset(r, 0, sizeof(*r));
	r->esn = esn;
}

bool ss_replay_infer(const ss_replay *r, uint32_t wire, uint64_t *seq)
{
	if (!r->esn) {
		*seq = wire;
		return true;
	}
	/* RFC 4303 A2.2, with T = top, W = window size.  Unsigned 32-bit arithmetic gives the
	 * "mod 2^32" the RFC asks for in case B. */
	const uint32_t w = SS_ESP_REPLAY_WINDOW;
	uint32_t tl = (uint32_t)r->top, th = (uint32_t)(r->top >> 32);
	uint32_t bottom = tl - w + 1;
	uint64_t hi;
	if (tl >= w - 1) {
		/* Case A: the window lies inside one 2^32 subspace; below it means the next one. */
		hi = wire >= bottom ? th : (uint64_t)th + 1;
	} else {
		/* Case B: the window straddles a subspace boundary; above its bottom (mod 2^32)
		 * means the previous subspace. */
		if (wire >= bottom) {
			if (th == 0)
				return false; /* before sequence number 1: cannot exist */
			hi = th - 1;
		} else {
			hi = th;
		}
	}
	if (hi > 0xffffffffu)
		return false; /* would wrap the 64-bit space */
	*seq = hi << 32 | wire;
	return true;
}

static inline uint64_t bit_of(uint64_t seq) { return 1ULL << (seq & 63); }
static inline uint64_t *word_of(ss_replay *r, uint64_t seq)
{
	return &r->bitmap[(seq >> 6) & (SS_ESP_REPLAY_BLOCKS - 1)];
}

bool ss_replay_check(const ss_replay *r, uint64_t seq)
{
	if (seq == 0)
		return false; /* never sent: the first packet is 1 (RFC 4303 §3.3.3) */
	if (seq > r->top)
		return true;
	if (r->top - seq >= SS_ESP_REPLAY_WINDOW)
		return false;
	return !(r->bitmap[(seq >> 6) & (SS_ESP_REPLAY_BLOCKS - 1)] & bit_of(seq));
}

bool ss_replay_update(ss_replay *r, uint64_t seq)
{
	if (!ss_replay_check(r, seq))
		return false;
	if (seq > r->top) {
		/* Clear the blocks the window slides over (RFC 6479 §2), at most the whole ring. */
		uint64_t from = r->top >> 6, to = seq >> 6;
		uint64_t n = to - from;
		if (n >= SS_ESP_REPLAY_BLOCKS) {
			memset(r->bitmap, 0, sizeof(r->bitmap));
		} else {
			for (uint64_t i = 1; i <= n; i++)
				r->bitmap[(from + i) & (SS_ESP_REPLAY_BLOCKS - 1)] = 0;
		}
		r->top = seq;
	}
	*word_of(r, seq) |= bit_of(seq);
	return true;
}
