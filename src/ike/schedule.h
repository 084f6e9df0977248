/* The retransmission schedule of a negotiation's first request (IKE_SA_INIT), and the moment
 * its outcome is decided when the peer never answers.  Pure arithmetic over "now", shared by
 * the IKE engine and by anything that must predict it (simulator, benchmarks, docs).
 *
 * Attempt 1 goes at start; attempt k+1 goes delay[k-1] after attempt k (the last delay
 * repeats); after the last attempt we wait final_wait and then declare the peer silent.
 *
 * ICMP errors (port unreachable from a host without IKE) are unauthenticated.  They may make
 * the next attempt come sooner (icmp_gap after the error's attempt instead of the full delay;
 * after the last attempt, the decision as soon as its error is in), but the outcome is never decided before start + min_fallback: an off-path spoofer can at most
 * make us retry faster, never make us give up on a real IKE peer sooner than that. */
#ifndef SS_IKE_SCHEDULE_H
#define SS_IKE_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"

#define SS_RETX_MAX_DELAYS 8

typedef struct ss_retx_params {
	uint32_t attempts;                      /* default 4, as in the seed (KB Q234580) */
	uint32_t delay_ms[SS_RETX_MAX_DELAYS];  /* default 500, 500, 1000 */
	uint32_t n_delays;
	uint32_t final_wait_ms;                 /* default 1000: silent peer decided at 3.0 s */
	uint32_t icmp_gap_ms;                   /* default 100 */
	uint32_t min_fallback_ms;               /* default 300 */
} ss_retx_params;

void ss_retx_params_default(ss_retx_params *p);
/* NULL when valid, else a message naming the bad field. */
const char *ss_retx_params_check(const ss_retx_params *p);
/* Time from start to the outcome for a peer that never answers and sends no ICMP. */
ss_time ss_retx_silent_decision(const ss_retx_params *p);

enum ss_retx_step {
	SS_RETX_WAIT = 0,  /* nothing to do before ss_retx_deadline() */
	SS_RETX_SEND,      /* send attempt number r->sent now (already counted) */
	SS_RETX_GIVE_UP,   /* all attempts used: decide the outcome now */
};

typedef struct ss_retx {
	ss_time start;
	ss_time last_sent;
	ss_time next;        /* when the next attempt goes, or the give-up time after the last */
	uint32_t sent;       /* attempts sent so far */
	uint32_t icmp_errors;
	ss_time icmp_at;     /* when that error arrived */
	bool icmp_for_last;  /* an ICMP error arrived for the latest attempt */
	bool finished;
} ss_retx;

/* Starts the schedule: attempt 1 is to be sent now (sent becomes 1). */
void ss_retx_start(ss_retx *r, const ss_retx_params *p, ss_time now);
/* Advances to now: returns SEND (one attempt; call again for more), GIVE_UP once, or WAIT. */
enum ss_retx_step ss_retx_poll(ss_retx *r, const ss_retx_params *p, ss_time now);
/* Records an ICMP error for the current attempt; may bring the next step sooner. */
void ss_retx_icmp(ss_retx *r, const ss_retx_params *p, ss_time now);
static inline ss_time ss_retx_deadline(const ss_retx *r) { return r->finished ? SS_NEVER : r->next; }

#endif
