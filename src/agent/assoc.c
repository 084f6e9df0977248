/* Association states and the one function that changes them.
 *
 * The table says which moves exist at all; agent.c decides which one an event calls for.
 * Notably absent: secured -> soft (a downgrade: a peer that has an SA never gets clear),
 * soft -> secured and blocked -> secured (an SA only comes out of a negotiation), and
 * anything out of idle but into negotiating. */
#include "agent/agent_core.h"

#include <stdio.h>

#include "base/log.h"

static const char *const state_names[SS_AS_COUNT] = {
	[SS_AS_IDLE] = "idle",
	[SS_AS_NEGOTIATING] = "negotiating",
	[SS_AS_SECURED] = "secured",
	[SS_AS_SOFT] = "soft",
	[SS_AS_BLOCKED] = "blocked",
};

const char *ss_assoc_state_name(unsigned s)
{
	return s < SS_AS_COUNT ? state_names[s] : "?";
}

/* legal[from][to] */
static const bool legal[SS_AS_COUNT][SS_AS_COUNT] = {
	/*                  idle   negot  secur  soft   block */
	[SS_AS_IDLE]        = { false, true,  false, false, false },
	/* negotiating -> negotiating: the engine sent another attempt */
	[SS_AS_NEGOTIATING] = { true,  true,  true,  true,  true  },
	/* secured -> idle: SA deleted, or the new policy no longer asks for it */
	[SS_AS_SECURED]     = { true,  false, false, false, false },
	/* soft -> negotiating: the peer started IKE itself (row 7 of the seed table) */
	[SS_AS_SOFT]        = { true,  true,  false, false, false },
	/* blocked -> negotiating: the peer started IKE during the back-off */
	[SS_AS_BLOCKED]     = { true,  true,  false, false, false },
};

bool ss_assoc_move_legal(unsigned from, unsigned to)
{
	return from < SS_AS_COUNT && to < SS_AS_COUNT && legal[from][to];
}

static void fmt_state(char *buf, size_t n, unsigned s, unsigned attempt)
{
	if (s == SS_AS_NEGOTIATING && attempt)
		snprintf(buf, n, "%s(%u)", ss_assoc_state_name(s), attempt);
	else
		snprintf(buf, n, "%s", ss_assoc_state_name(s));
}

bool ss_assoc_set_state(ss_agent *ag, ss_assoc *a, enum ss_assoc_state to, unsigned attempt, ss_time now,
			const char *reason)
{
	unsigned from = a->state, old_attempt = a->attempt;
	char la[SS_ADDR_STRLEN], ra[SS_ADDR_STRLEN], f[32], t[32];
	if (!ss_assoc_move_legal(from, to)) {
		ag->stats.illegal_transitions++;
		fmt_state(f, sizeof(f), from, old_attempt);
		SS_ERR("agent", "%s -> %s: refused illegal move %s -> %s (%s)",
		       ss_addr_fmt(&a->local, la), ss_addr_fmt(&a->remote, ra), f,
		       ss_assoc_state_name(to), reason);
		return false;
	}
	a->attempt = (uint8_t)(to == SS_AS_NEGOTIATING ? (attempt > 255 ? 255 : attempt) : 0);
	a->state = (uint8_t)to;
	if (from != to)
		a->since = now;
	a->reason = reason;
	if (ss_log_get_level() >= SS_LOG_INFO) {
		fmt_state(f, sizeof(f), from, old_attempt);
		fmt_state(t, sizeof(t), to, a->attempt);
		SS_INFO("agent", "%s -> %s: %s -> %s (%s)", ss_addr_fmt(&a->local, la),
			ss_addr_fmt(&a->remote, ra), f, t, reason);
	}
	if (ag->observer)
		ag->observer(ag->observer_ctx, now, &a->local, &a->remote, from, to, a->attempt, reason);
	return true;
}
