/* Anti-replay window (RFC 4303 §3.4.3) with 64-bit extended sequence numbers (Appendix A),
 * kept as a ring of 64-bit blocks (RFC 6479) so that sliding the window forward clears whole
 * words instead of shifting a long bitmap. */
#ifndef SS_ESP_REPLAY_H
#define SS_ESP_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

/* The window: how far behind the highest number a packet may arrive, a power of two (set it
 * with -DSS_ESP_REPLAY_WINDOW=...).  The ring must hold the window plus the partly used block
 * at the top (RFC 6479 §2) and be a power of two itself: twice the window, 1 KiB at 4096. */
#ifndef SS_ESP_REPLAY_WINDOW
#define SS_ESP_REPLAY_WINDOW 4096
#endif
#define SS_ESP_REPLAY_BITMAP_BITS (2 * SS_ESP_REPLAY_WINDOW)
#define SS_ESP_REPLAY_BLOCKS (SS_ESP_REPLAY_BITMAP_BITS / 64)

_Static_assert((SS_ESP_REPLAY_WINDOW & (SS_ESP_REPLAY_WINDOW - 1)) == 0,
	"replay window must be a power of two");
_Static_assert(SS_ESP_REPLAY_WINDOW >= 1024, "the issue asks for a window of at least 1024");

typedef struct ss_replay {
	uint64_t top;   /* highest sequence number accepted so far; 0 before the first */
	bool esn;
	uint64_t bitmap[SS_ESP_REPLAY_BLOCKS];
} ss_replay;

void ss_replay_init(ss_replay *r, bool esn);
/* The full sequence number for the 32 bits on the wire: itself without ESN, else the high
 * half inferred from the window per RFC 4303 Appendix A2.2.  False when no valid number can
 * be inferred (it would lie before sequence number 1). */
bool ss_replay_infer(const ss_replay *r, uint32_t wire, uint64_t *seq);
/* Pre-check before the ICV: true if seq is new and not left of the window.  No change. */
bool ss_replay_check(const ss_replay *r, uint64_t seq);
/* After the ICV verified: records seq and slides the window.  False (and no change) if seq
 * turned out to be a replay, e.g. a duplicate later in the same batch. */
bool ss_replay_update(ss_replay *r, uint64_t seq);

#endif
