/* The seam between a simulated host and whatever negotiates IKE for it: datagrams in and
 * out, ICMP errors in, the current time in, outcomes and attempt counts out through the
 * environment's callbacks, and its next deadline.
 *
 * One implementation: the stand-in (standin.c, a TEST DOUBLE with the exact schedule of
 * ike/schedule.h and a fixed two-round-trip exchange), under the simulator's own glue to the
 * agent (sim.c).  sim_engine_ops names the other way a host runs: the node (src/node, the
 * glue softsad runs) with the real IKEv2 engine and the simulator's dataplane (simnode.h);
 * its operations are not used. */
#ifndef SS_SIM_NEGOTIATOR_H
#define SS_SIM_NEGOTIATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/clock.h"
#include "ike/outcome.h"
#include "ike/schedule.h"

/* What the host offers the negotiator.  Callbacks must not call back into the negotiator:
 * the host queues the agent's resulting actions and runs them after the call returns. */
typedef struct sim_neg_env {
	void *host;
	void (*send_ike)(void *host, ss_time now, const ss_addr *src, const ss_addr *dst, const uint8_t *p,
			 size_t n);
	/* A peer started IKE with us: may we answer? (the agent decides) */
	bool (*peer_starts)(void *host, ss_time now, const ss_addr *local, const ss_addr *remote);
	void (*attempt)(void *host, ss_time now, const ss_addr *local, const ss_addr *remote, uint32_t n);
	void (*outcome)(void *host, ss_time now, const ss_addr *local, const ss_addr *remote,
			enum ss_ike_outcome o);
	void (*sa_down)(void *host, ss_time now, const ss_addr *local, const ss_addr *remote);
	/* The peer answered after a provisional silent/unreachable outcome (the engine's
	 * SS_IKE_ACT_ANSWERED); false: abandon the exchange. */
	bool (*answered)(void *host, ss_time now, const ss_addr *local, const ss_addr *remote);
	/* Our half-open responder gave up: the peer's first message had no second after it
	 * (the engine's SS_IKE_ACT_TIMEOUT as the node hands it on). */
	void (*responder_gave_up)(void *host, ss_time now, const ss_addr *local, const ss_addr *remote);
} sim_neg_env;

typedef struct sim_neg_config {
	const char *credential; /* stands for the PSK and proposals: equal strings match */
	ss_time sa_life_ms;     /* the SA is deleted (both ways) after this */
	ss_time responder_timeout_ms; /* half-open responder gives up after this */
} sim_neg_config;

typedef struct sim_negotiator_ops {
	const char *name;
	void *(*create)(const sim_neg_env *env, const sim_neg_config *cfg);
	void (*destroy)(void *n);
	void (*start)(void *n, ss_time now, const ss_addr *local, const ss_addr *remote, const ss_retx_params *retx);
	void (*stop)(void *n, ss_time now, const ss_addr *local, const ss_addr *remote);
	void (*datagram)(void *n, ss_time now, const ss_addr *src, const ss_addr *dst, const uint8_t *p, size_t len);
	/* An ICMP error about a datagram we sent from local to remote, quoting the start of
	 * its UDP payload (as a real ICMP error does). */
	void (*icmp)(void *n, ss_time now, const ss_addr *local, const ss_addr *remote, const uint8_t *quoted,
		     size_t len);
	bool (*has_sa)(void *n, const ss_addr *local, const ss_addr *remote);
	ss_time (*deadline)(void *n);
	void (*timer)(void *n, ss_time now);
	/* ESP, optional (NULL: the negotiator knows no SPIs and does no failure detection;
	 * has_sa decides delivery).  esp_out: a packet goes to remote under the pair's SA;
	 * returns the SPI it carries.  esp_in: one arrived with this SPI; true when an SA of
	 * ours has it.  esp_unknown: one with an SPI we do not know, from a peer the policy
	 * secures (the host asked the agent first); true when not rate-limited (the agent
	 * then hears of it). */
	uint32_t (*esp_out)(void *n, ss_time now, const ss_addr *local, const ss_addr *remote);
	bool (*esp_in)(void *n, ss_time now, const ss_addr *local, const ss_addr *remote, uint32_t spi);
	bool (*esp_unknown)(void *n, ss_time now, const ss_addr *local, const ss_addr *remote, uint32_t spi);
	/* Negotiations in progress and SAs up (for the memory invariant). */
	size_t (*active)(void *n);
} sim_negotiator_ops;

extern const sim_negotiator_ops sim_standin_ops;
extern const sim_negotiator_ops sim_engine_ops;

#endif
