#include "ike/schedule.h"

#include <string.h>

void ss_retx_params_default(ss_retx_params *p)
{
	memset(p, 0, sizeof(*p));
	p->attempts = 4;
	p->delay_ms[0] = 500;
	p->delay_ms[1] = 500;
	p->delay_ms[2] = 1000;
	p->n_delays = 3;
	p->final_wait_ms = 1000;
	p->icmp_gap_ms = 100;
	p->min_fallback_ms = 300;
}

const char *ss_retx_params_check(const ss_retx_params *p)
{
	if (p->attempts < 1 || p->attempts > 16)
		return "attempts must be between 1 and 16";
	if (p->n_delays < 1 || p->n_delays > SS_RETX_MAX_DELAYS)
		return "retransmit needs between 1 and 8 delays";
	for (uint32_t i = 0; i < p->n_delays; i++)
		if (p->delay_ms[i] < 10 || p->delay_ms[i] > 60000)
			return "each retransmit delay must be between 10 ms and 60 s";
	if (p->final_wait_ms < 10 || p->final_wait_ms > 60000)
		return "final_wait must be between 10 ms and 60 s";
	if (p->icmp_gap_ms > 60000)
		return "icmp_gap must be at most 60 s";
	if (p->min_fallback_ms > 600000)
		return "min_fallback must be at most 600 s";
	return NULL;
}

static uint32_t delay_after(const ss_retx_params *p, uint32_t attempt)
{
	uint32_t i = attempt - 1;
	return p->delay_ms[i < p->n_delays ? i : p->n_delays - 1];
}

ss_time ss_retx_silent_decision(const ss_retx_params *p)
{
	ss_time t = 0;
	for (uint32_t k = 1; k < p->attempts; k++)
		t += delay_after(p, k);
	t += p->final_wait_ms;
	return t < p->min_fallback_ms ? p->min_fallback_ms : t;
}

/* When the step after the current attempt is due, given what we know now. */
static ss_time due(const ss_retx *r, const ss_retx_params *p)
{
	ss_time full = r->last_sent + (r->sent < p->attempts ? delay_after(p, r->sent) : p->final_wait_ms);
	ss_time t = full;
	if (r->icmp_for_last) {
		/* The peer's host said no: retry after a short gap, or, after the last attempt,
		 * decide as soon as the error is in. */
		ss_time quick = r->sent < p->attempts ? r->last_sent + p->icmp_gap_ms : r->icmp_at;
		if (quick < r->icmp_at)
			quick = r->icmp_at;
		if (quick < t)
			t = quick;
	}
	if (r->sent >= p->attempts) {
		/* Giving up: never before the floor, however many ICMP errors came. */
		ss_time floor = r->start + p->min_fallback_ms;
		if (t < floor)
			t = floor;
	}
	return t;
}

void ss_retx_start(ss_retx *r, const ss_retx_params *p, ss_time now)
{
	memset(r, 0, sizeof(*r));
	r->start = now;
	r->last_sent = now;
	r->sent = 1;
	r->next = due(r, p);
}

enum ss_retx_step ss_retx_poll(ss_retx *r, const ss_retx_params *p, ss_time now)
{
	if (r->finished || now < r->next)
		return SS_RETX_WAIT;
	if (r->sent >= p->attempts) {
		r->finished = true;
		return SS_RETX_GIVE_UP;
	}
	r->sent++;
	r->last_sent = now;
	r->icmp_for_last = false;
	r->next = due(r, p);
	return SS_RETX_SEND;
}

void ss_retx_icmp(ss_retx *r, const ss_retx_params *p, ss_time now)
{
	if (r->finished)
		return;
	r->icmp_errors++;
	r->icmp_for_last = true;
	r->icmp_at = now;
	ss_time t = due(r, p);
	/* An error can only bring the next step sooner, and not into the past. */
	if (t < now)
		t = now;
	if (t < r->next)
		r->next = t;
}
