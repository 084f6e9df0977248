/* The agent object itself, shared by agent.c (events) and assoc.c (state changes). */
#ifndef SS_AGENT_CORE_H
#define SS_AGENT_CORE_H

#include "agent/internal.h"

struct ss_agent {
	ss_agent_config cfg;
	ss_agent_policy pol;
	ss_assoc_table t;
	ss_held_pool held;
	uint64_t held_bytes, held_bytes_max; /* charged, all associations */
	ss_peer_mem mem;
	ss_agent_action *q; /* pending actions: [qhead, qlen) */
	size_t qhead, qlen, qcap;
	ss_agent_stats stats;
	ss_agent_observer observer;
	void *observer_ctx;
};

bool ss_assoc_move_legal(unsigned from, unsigned to);
/* The only place a state changes: refuses moves the table forbids (false, logged as an
 * error and counted), logs `old -> new (reason)` otherwise.  attempt: for negotiating. */
bool ss_assoc_set_state(ss_agent *ag, ss_assoc *a, enum ss_assoc_state to, unsigned attempt, ss_time now,
			const char *reason);

#endif
