/* The policy agent's events.  Each event looks up (or creates) the association for its
 * address pair and acts on its state; state changes go through ss_assoc_set_state().
 *
 * Which clear traffic is ever allowed with a negotiate rule, per packet and by its own
 * rule's action (never by another rule that happens to share the address pair):
 *   outbound clear   only with fallback_to_clear: in a soft association, or (discovery)
 *                    while negotiating with a peer that never spoke IKE or had an SA;
 *   inbound clear    with accept_unsecured (before and during negotiation, and in a soft
 *                    association), or with fallback_to_clear in a soft association.
 * A rule with none of these never sees a clear packet pass (row 8 of the seed table). */
#include "agent/agent_core.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "ike/schedule.h"

/* Downgrade-memory times are stored as now + PM_BIAS so that a peer remembered from before
 * this process's clock started (restored from the state file) has a representable time. */
#define PM_BIAS ((ss_time)1 << 42)
#define DEFAULT_SOFT_LIFETIME_S 300u
#define SOFT_REFRESH_EVERY_MS 1000u
#define AGENT_Q_MIN 256
/* Timer work per call: a million soft associations expiring at once must not queue a
 * million actions; the deadline stays due, so the caller simply calls again. */
#define TIMER_BATCH 1024

static const char *const action_names[] = {
	[SS_AA_PASS_CLEAR] = "pass-clear", [SS_AA_DROP] = "drop", [SS_AA_HOLD] = "hold",
	[SS_AA_RELEASE_CLEAR] = "release-clear", [SS_AA_RELEASE_SA] = "release-sa",
	[SS_AA_ENCRYPT] = "encrypt", [SS_AA_START_NEGOTIATION] = "start-negotiation",
	[SS_AA_STOP_NEGOTIATION] = "stop-negotiation", [SS_AA_SOFT_CREATE] = "soft-create",
	[SS_AA_SOFT_REFRESH] = "soft-refresh", [SS_AA_SOFT_EXPIRE] = "soft-expire",
	[SS_AA_BLOCK] = "block", [SS_AA_UNBLOCK] = "unblock",
};

const char *ss_agent_action_name(unsigned k)
{
	return k < sizeof(action_names) / sizeof(action_names[0]) && action_names[k] ? action_names[k] : "?";
}

static const char *const drop_names[SS_DROP_REASON_COUNT] = {
	[SS_DROP_NONE] = "none", [SS_DROP_RULE_BLOCK] = "rule-block", [SS_DROP_NO_CLEAR] = "no-clear",
	[SS_DROP_CLEAR_FROM_SECURE] = "clear-from-ipsec-peer", [SS_DROP_BLOCKED] = "blocked",
	[SS_DROP_HELD_OVERFLOW] = "held-overflow", [SS_DROP_HELD_FAILED] = "held-failed",
	[SS_DROP_TABLE_FULL] = "table-full", [SS_DROP_HELD_EXPIRED] = "held-expired",
};

const char *ss_drop_reason_name(unsigned r)
{
	return r < SS_DROP_REASON_COUNT ? drop_names[r] : "?";
}

static bool classify_compiled(const void *ctx, const ss_pkt_key *k, ss_match *out)
{
	return ss_classify(ctx, k, out);
}

ss_agent_policy ss_agent_policy_compiled(const ss_policy *p, const ss_classifier *c)
{
	return (ss_agent_policy){ .policy = p, .classify = classify_compiled, .ctx = c };
}

void ss_agent_config_default(ss_agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_held_bytes_per_peer = 1u << 20;
	c->max_held_bytes_total = 16u << 20;
	c->max_assocs = 4u << 20;
	c->max_remembered = 65536;
	c->block_ms = 60000;
	c->negotiate_timeout_ms = 120000;
}

ss_agent *ss_agent_new(const ss_agent_config *cfg, const ss_agent_policy *pol)
{
	ss_agent *ag = calloc(1, sizeof(*ag));
	if (!ag)
		return NULL;
	if (cfg)
		ag->cfg = *cfg;
	else
		ss_agent_config_default(&ag->cfg);
	ag->pol = *pol;
	ag->qcap = AGENT_Q_MIN;
	ag->q = malloc(ag->qcap * sizeof(*ag->q));
	if (!ag->q || !ss_at_init(&ag->t) || !ss_hp_init(&ag->held, ag->cfg.max_held_bytes_total / SS_AGENT_HELD_OVERHEAD) ||
	    !ss_pm_init(&ag->mem)) {
		ss_agent_free(ag);
		return NULL;
	}
	return ag;
}

void ss_agent_free(ss_agent *ag)
{
	if (!ag)
		return;
	ss_at_fini(&ag->t);
	ss_hp_fini(&ag->held);
	ss_pm_fini(&ag->mem);
	free(ag->q);
	free(ag);
}

void ss_agent_set_observer(ss_agent *ag, ss_agent_observer fn, void *ctx)
{
	ag->observer = fn;
	ag->observer_ctx = ctx;
}

/* --- actions ----------------------------------------------------------------------------- */

static ss_agent_action *emit(ss_agent *ag, unsigned kind, const ss_addr *local, const ss_addr *remote)
{
	if (ag->qhead == ag->qlen)
		ag->qhead = ag->qlen = 0;
	if (ag->qlen == ag->qcap) {
		size_t n = ag->qcap * 2;
		ss_agent_action *q = realloc(ag->q, n * sizeof(*q));
		if (!q) {
			/* Out of memory: the action is lost; the caller's packet is never released. */
			SS_ERR("agent", "out of memory queueing a %s action", ss_agent_action_name(kind));
			return NULL;
		}
		ag->q = q;
		ag->qcap = n;
	}
	ss_agent_action *x = &ag->q[ag->qlen++];
	memset(x, 0, sizeof(*x));
	x->kind = (uint8_t)kind;
	x->local = *local;
	x->remote = *remote;
	return x;
}

static void emit_pkt(ss_agent *ag, unsigned kind, unsigned reason, const ss_addr *local, const ss_addr *remote,
		     unsigned dir, uint64_t handle, uint32_t len)
{
	ss_agent_action *x = emit(ag, kind, local, remote);
	if (!x)
		return;
	x->reason = (uint8_t)reason;
	x->dir = (uint8_t)dir;
	x->handle = handle;
	x->len = len;
	if (kind == SS_AA_DROP && reason < SS_DROP_REASON_COUNT)
		ag->stats.dropped[reason]++;
}

bool ss_agent_pop(ss_agent *ag, ss_agent_action *out)
{
	if (ag->qhead == ag->qlen) {
		/* Drained: give back what a burst (a reload of many associations) grew. */
		if (ag->qcap > AGENT_Q_MIN) {
			ss_agent_action *q = realloc(ag->q, AGENT_Q_MIN * sizeof(*q));
			if (q) {
				ag->q = q;
				ag->qcap = AGENT_Q_MIN;
			}
		}
		ag->qhead = ag->qlen = 0;
		return false;
	}
	*out = ag->q[ag->qhead++];
	return true;
}

/* --- helpers ----------------------------------------------------------------------------- */

static const ss_filter_action *rule_action(const ss_rule *r)
{
	return r ? r->action : NULL;
}

static ss_time soft_life(const ss_assoc *a)
{
	const ss_filter_action *act = rule_action(a->rule);
	uint32_t s = act && act->soft_idle_lifetime ? act->soft_idle_lifetime : DEFAULT_SOFT_LIFETIME_S;
	return SS_SEC(s);
}

static ss_time mem_window(const ss_agent *ag)
{
	return SS_SEC(ag->pol.policy ? ag->pol.policy->downgrade_protection : 0);
}

static bool remembered(ss_agent *ag, ss_time now, const ss_addr *remote)
{
	ss_time w = mem_window(ag);
	return w && ss_pm_check(&ag->mem, remote, w, now + PM_BIAS);
}

static bool classify(const ss_agent *ag, const ss_pkt_key *k, const ss_rule **rule)
{
	ss_match m;
	*rule = NULL;
	if (!ag->pol.classify || !ag->pol.classify(ag->pol.ctx, k, &m) || !m.rule)
		return false;
	*rule = m.rule;
	return true;
}

/* Held packets are kept no longer than the negotiation could take: the silent decision
 * (3 s by default) and 1 s for IKE_AUTH after a last-moment answer. */
static ss_time held_max_age(const ss_agent *ag)
{
	if (ag->cfg.held_max_age_ms)
		return ag->cfg.held_max_age_ms;
	ss_retx_params d;
	ss_retx_params_default(&d);
	const ss_retx_params *r = ag->pol.policy ? &ag->pol.policy->ike.retx : &d;
	return ss_retx_silent_decision(r) + 1000;
}

static uint32_t held_cost(uint32_t len)
{
	return len + SS_AGENT_HELD_OVERHEAD;
}

/* The oldest held packet of a, with the byte counts kept in step. */
static bool held_pop(ss_agent *ag, ss_assoc *a, ss_held *h)
{
	if (!ss_hp_pop(&ag->held, a, h))
		return false;
	a->held_bytes -= held_cost(h->len);
	ag->held_bytes -= held_cost(h->len);
	return true;
}

/* A negotiating association wakes at its watchdog, or sooner when its oldest held packet
 * reaches the age limit. */
static void negotiating_deadline(ss_agent *ag, uint32_t i)
{
	ss_assoc *a = ss_at_get(&ag->t, i);
	ss_time t = a->watchdog;
	if (a->held_head != SS_NIL)
		t = ss_time_min(t, ag->held.nodes[a->held_head].at + held_max_age(ag));
	ss_at_set_deadline(&ag->t, i, t);
}

/* Moves to idle and frees the record.  Held packets, if any, are dropped. */
static void retire(ss_agent *ag, uint32_t i, ss_time now, const char *reason)
{
	ss_assoc *a = ss_at_get(&ag->t, i);
	ss_held h;
	while (held_pop(ag, a, &h)) {
		ag->stats.held_dropped++;
		emit_pkt(ag, SS_AA_DROP, SS_DROP_HELD_FAILED, &a->local, &a->remote, h.dir, h.handle, h.len);
	}
	ss_assoc_set_state(ag, a, SS_AS_IDLE, 0, now, reason);
	ss_at_remove(&ag->t, i);
}

static void begin_negotiation(ss_agent *ag, uint32_t i, ss_time now, bool initiate, const char *reason)
{
	ss_assoc *a = ss_at_get(&ag->t, i);
	if (!ss_assoc_set_state(ag, a, SS_AS_NEGOTIATING, 0, now, reason))
		return;
	if (remembered(ag, now, &a->remote))
		a->flags |= SS_AF_REMEMBERED;
	a->watchdog = now + ag->cfg.negotiate_timeout_ms;
	negotiating_deadline(ag, i);
	if (initiate) {
		ss_agent_action *x = emit(ag, SS_AA_START_NEGOTIATION, &a->local, &a->remote);
		if (x)
			x->rule = a->rule;
		ag->stats.negotiations++;
	}
}

static void release_held(ss_agent *ag, ss_assoc *a, bool via_sa)
{
	ss_held h;
	while (held_pop(ag, a, &h)) {
		if (via_sa) {
			ag->stats.released_sa++;
			emit_pkt(ag, SS_AA_RELEASE_SA, 0, &a->local, &a->remote, h.dir, h.handle, h.len);
		} else if (h.may_clear) {
			ag->stats.released_clear++;
			emit_pkt(ag, SS_AA_RELEASE_CLEAR, 0, &a->local, &a->remote, h.dir, h.handle, h.len);
		} else {
			ag->stats.held_dropped++;
			emit_pkt(ag, SS_AA_DROP, SS_DROP_HELD_FAILED, &a->local, &a->remote, h.dir, h.handle, h.len);
		}
	}
}

static void to_secured(ss_agent *ag, uint32_t i, ss_time now)
{
	ss_assoc *a = ss_at_get(&ag->t, i);
	if (!ss_assoc_set_state(ag, a, SS_AS_SECURED, 0, now, "ike secured"))
		return;
	a->flags |= SS_AF_EVER_SECURED;
	a->last_used = now;
	ss_at_clear_deadline(&ag->t, i);
	ss_pm_put(&ag->mem, &a->remote, now + PM_BIAS, mem_window(ag), now + PM_BIAS, ag->cfg.max_remembered);
	ag->stats.remembered_updates++;
	ag->stats.secured++;
	release_held(ag, a, true);
}

static void to_soft(ss_agent *ag, uint32_t i, ss_time now, const char *reason)
{
	ss_assoc *a = ss_at_get(&ag->t, i);
	if (!ss_assoc_set_state(ag, a, SS_AS_SOFT, 0, now, reason))
		return;
	a->last_used = a->refresh_sent = now;
	a->packets = a->bytes = 0;
	ss_at_set_deadline(&ag->t, i, now + soft_life(a));
	/* The held packets go first: once the soft association is installed, the flow's new
	 * packets leave by the datapath directly and would overtake them. */
	release_held(ag, a, false);
	ss_agent_action *x = emit(ag, SS_AA_SOFT_CREATE, &a->local, &a->remote);
	if (x)
		x->until = now + soft_life(a);
	ag->stats.soft_created++;
}

static void to_blocked(ss_agent *ag, uint32_t i, ss_time now, const char *reason)
{
	ss_assoc *a = ss_at_get(&ag->t, i);
	if (!ss_assoc_set_state(ag, a, SS_AS_BLOCKED, 0, now, reason))
		return;
	ss_at_set_deadline(&ag->t, i, now + ag->cfg.block_ms);
	ss_agent_action *x = emit(ag, SS_AA_BLOCK, &a->local, &a->remote);
	if (x)
		x->until = now + ag->cfg.block_ms;
	ag->stats.blocked++;
	ss_held h;
	while (held_pop(ag, a, &h)) {
		ag->stats.held_dropped++;
		emit_pkt(ag, SS_AA_DROP, SS_DROP_HELD_FAILED, &a->local, &a->remote, h.dir, h.handle, h.len);
	}
}

static void touch_soft(ss_agent *ag, ss_assoc *a, ss_time now)
{
	/* Lazy: the expiry timer re-checks last_used, so a refresh costs no heap work. */
	a->last_used = now;
	if (now - a->refresh_sent >= SOFT_REFRESH_EVERY_MS) {
		a->refresh_sent = now;
		ss_agent_action *x = emit(ag, SS_AA_SOFT_REFRESH, &a->local, &a->remote);
		if (x)
			x->until = now + soft_life(a);
	}
}

/* Discovery sends clear while negotiating, but never to a peer that is IPsec-aware as far
 * as we know: each flow moves to ESP once an SA is up and never returns to clear. */
static bool discovery_ok(const ss_assoc *a, const ss_filter_action *act)
{
	return act->discovery && act->fallback_to_clear &&
	       !(a->flags & (SS_AF_SPOKE_IKE | SS_AF_EVER_SECURED | SS_AF_REMEMBERED));
}

/* Finds or creates the association for a packet under a negotiate rule. */
static uint32_t assoc_for(ss_agent *ag, const ss_addr *local, const ss_addr *remote, const ss_pkt_key *k,
			  const ss_rule *rule, bool *created)
{
	*created = false;
	uint32_t i = ss_at_find(&ag->t, local, remote);
	if (i != SS_NIL)
		return i;
	if (ag->t.count >= ag->cfg.max_assocs)
		return SS_NIL;
	i = ss_at_insert(&ag->t, local, remote);
	if (i == SS_NIL)
		return SS_NIL;
	ss_assoc *a = ss_at_get(&ag->t, i);
	a->rule = rule;
	a->key_dir = k->dir;
	a->key_proto = k->proto;
	a->key_sport = k->sport;
	a->key_dport = k->dport;
	*created = true;
	return i;
}

/* --- packet events ----------------------------------------------------------------------- */

static void hold(ss_agent *ag, ss_time now, ss_assoc *a, const ss_filter_action *act, const ss_pkt_key *k,
		 uint32_t len, uint64_t handle)
{
	ss_held h = { .handle = handle, .at = now, .len = len, .may_clear = act->fallback_to_clear, .dir = k->dir };
	uint64_t cost = held_cost(len);
	bool first = a->held_head == SS_NIL;
	if (a->held_bytes + cost > ag->cfg.max_held_bytes_per_peer ||
	    ag->held_bytes + cost > ag->cfg.max_held_bytes_total || !ss_hp_push(&ag->held, a, &h)) {
		ag->stats.held_overflow++;
		emit_pkt(ag, SS_AA_DROP, SS_DROP_HELD_OVERFLOW, &k->src, &k->dst, k->dir, handle, len);
		return;
	}
	a->held_bytes += (uint32_t)cost;
	ag->held_bytes += cost;
	if (ag->held_bytes > ag->held_bytes_max)
		ag->held_bytes_max = ag->held_bytes;
	if (first)
		negotiating_deadline(ag, (uint32_t)(a - ag->t.slab));
	ag->stats.held++;
	emit_pkt(ag, SS_AA_HOLD, 0, &k->src, &k->dst, k->dir, handle, len);
}

/* What both packet directions do once a rule matched: a permit or block rule decides the
 * packet at once (NULL); a negotiate rule finds the pair's association, creating it and
 * starting a negotiation when there was none (why says what started it). */
static ss_assoc *rule_assoc(ss_agent *ag, ss_time now, const ss_pkt_key *k, const ss_rule *rule,
			    const ss_addr *local, const ss_addr *remote, uint32_t len, uint64_t handle,
			    const char *why)
{
	const ss_filter_action *act = rule->action;
	if (act->kind != SS_ACT_NEGOTIATE) {
		bool permit = act->kind == SS_ACT_PERMIT;
		emit_pkt(ag, permit ? SS_AA_PASS_CLEAR : SS_AA_DROP, permit ? 0 : SS_DROP_RULE_BLOCK, local,
			 remote, k->dir, handle, len);
		return NULL;
	}
	bool created;
	uint32_t i = assoc_for(ag, local, remote, k, rule, &created);
	if (i == SS_NIL) {
		emit_pkt(ag, SS_AA_DROP, SS_DROP_TABLE_FULL, local, remote, k->dir, handle, len);
		return NULL;
	}
	if (created)
		begin_negotiation(ag, i, now, true, why);
	return ss_at_get(&ag->t, i);
}

void ss_agent_outbound(ss_agent *ag, ss_time now, const ss_pkt_key *k, uint32_t len, uint64_t handle)
{
	const ss_addr *local = &k->src, *remote = &k->dst;
	const ss_rule *rule;
	ag->stats.decisions++;
	if (!classify(ag, k, &rule)) {
		/* No rule: clear, unless we answered this peer's IKE (Default Response rule) and
		 * have an SA, which then carries the traffic. */
		uint32_t i = ss_at_find(&ag->t, local, remote);
		bool sa = i != SS_NIL && ss_at_get(&ag->t, i)->state == SS_AS_SECURED;
		emit_pkt(ag, sa ? SS_AA_ENCRYPT : SS_AA_PASS_CLEAR, 0, local, remote, k->dir, handle, len);
		return;
	}
	const ss_filter_action *act = rule->action;
	ss_assoc *a = rule_assoc(ag, now, k, rule, local, remote, len, handle, "outbound packet");
	if (!a)
		return;
	switch (a->state) {
	case SS_AS_NEGOTIATING:
		if (discovery_ok(a, act))
			emit_pkt(ag, SS_AA_PASS_CLEAR, 0, local, remote, k->dir, handle, len);
		else
			hold(ag, now, a, act, k, len, handle);
		break;
	case SS_AS_SECURED:
		a->last_used = now;
		emit_pkt(ag, SS_AA_ENCRYPT, 0, local, remote, k->dir, handle, len);
		break;
	case SS_AS_SOFT:
		if (act->fallback_to_clear) {
			touch_soft(ag, a, now);
			emit_pkt(ag, SS_AA_PASS_CLEAR, 0, local, remote, k->dir, handle, len);
		} else {
			emit_pkt(ag, SS_AA_DROP, SS_DROP_NO_CLEAR, local, remote, k->dir, handle, len);
		}
		break;
	default:
		emit_pkt(ag, SS_AA_DROP, SS_DROP_BLOCKED, local, remote, k->dir, handle, len);
		break;
	}
}

bool ss_agent_initiate(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote)
{
	ss_pkt_key k = { .dir = SS_DIR_OUT, .src = *local, .dst = *remote };
	const ss_rule *rule;
	if (ss_at_find(&ag->t, local, remote) != SS_NIL || !classify(ag, &k, &rule) ||
	    rule->action->kind != SS_ACT_NEGOTIATE)
		return false;
	bool created;
	uint32_t i = assoc_for(ag, local, remote, &k, rule, &created);
	if (i == SS_NIL)
		return false;
	if (created)
		begin_negotiation(ag, i, now, true, "initiate");
	return ss_at_get(&ag->t, i)->state == SS_AS_NEGOTIATING;
}

void ss_agent_inbound_clear(ss_agent *ag, ss_time now, const ss_pkt_key *k, uint32_t len, uint64_t handle)
{
	const ss_addr *local = &k->dst, *remote = &k->src;
	const ss_rule *rule;
	ag->stats.decisions++;
	if (!classify(ag, k, &rule)) {
		emit_pkt(ag, SS_AA_PASS_CLEAR, 0, local, remote, k->dir, handle, len);
		return;
	}
	const ss_filter_action *act = rule->action;
	/* Rows 2 and 3: whether or not the packet is accepted, we negotiate toward the sender. */
	ss_assoc *a = rule_assoc(ag, now, k, rule, local, remote, len, handle, "inbound clear packet");
	if (!a)
		return;
	unsigned verdict = SS_AA_DROP, reason = SS_DROP_NO_CLEAR;
	switch (a->state) {
	case SS_AS_NEGOTIATING:
		/* A soft peer that started IKE is being upgraded: its clear packets would be the
		 * stale pass-through of the soft association (row 7), so they stop now.  Any other
		 * peer's clear is accepted while negotiating if the rule accepts unsecured
		 * communication, which is what lets a discovery-mode peer reach us. */
		if (a->flags & SS_AF_UPGRADING)
			reason = SS_DROP_CLEAR_FROM_SECURE;
		else if (act->accept_unsecured || discovery_ok(a, act))
			verdict = SS_AA_PASS_CLEAR;
		break;
	case SS_AS_SECURED:
		reason = SS_DROP_CLEAR_FROM_SECURE;
		break;
	case SS_AS_SOFT:
		if (act->fallback_to_clear || act->accept_unsecured) {
			touch_soft(ag, a, now);
			verdict = SS_AA_PASS_CLEAR;
		}
		break;
	default:
		reason = SS_DROP_BLOCKED;
		break;
	}
	emit_pkt(ag, verdict, verdict == SS_AA_DROP ? reason : 0, local, remote, k->dir, handle, len);
}

/* --- IKE events -------------------------------------------------------------------------- */

/* The peer spoke IKE (it started a negotiation, or answered ours late): it is
 * IPsec-aware, so it will never get a soft association.  A soft or blocked association
 * ends at once and negotiates (the engine's exchange is already under way). */
static bool peer_spoke(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote, bool late)
{
	uint32_t i = ss_at_find(&ag->t, local, remote);
	if (i == SS_NIL) {
		/* Which rule covers this peer, judged on addresses alone (the traffic selectors
		 * come later in IKE_AUTH); none: the Default Response rule, if the policy has it. */
		ss_pkt_key k = { .dir = SS_DIR_IN, .src = *remote, .dst = *local };
		const ss_rule *rule;
		bool hit = classify(ag, &k, &rule);
		if (hit && rule->action->kind != SS_ACT_NEGOTIATE)
			return false;
		if (!hit && !(ag->pol.policy && ag->pol.policy->default_response))
			return false;
		bool created;
		i = assoc_for(ag, local, remote, &k, rule, &created);
		if (i == SS_NIL)
			return false;
	}
	ss_assoc *a = ss_at_get(&ag->t, i);
	/* A late answer carries our SPI back: proof the peer is there.  An IKE_SA_INIT
	 * proves nothing until its IKE_AUTH follows (ss_agent_responder_gave_up undoes it). */
	if (late)
		a->flags &= (uint8_t)~SS_AF_SPOKE_UNPROVEN;
	else if (!(a->flags & SS_AF_SPOKE_IKE))
		a->flags |= SS_AF_SPOKE_UNPROVEN;
	a->flags |= SS_AF_SPOKE_IKE;
	switch (a->state) {
	case SS_AS_IDLE:
		begin_negotiation(ag, i, now, false, late ? "late ike answer" : "peer started ike");
		break;
	case SS_AS_SOFT:
		emit(ag, SS_AA_SOFT_EXPIRE, &a->local, &a->remote);
		ag->stats.soft_upgraded++;
		if (late)
			ag->stats.soft_ended_late_answer++;
		a->flags |= SS_AF_UPGRADING;
		begin_negotiation(ag, i, now, false,
				  late ? "late ike answer ends soft association" : "soft peer started ike");
		break;
	case SS_AS_BLOCKED:
		emit(ag, SS_AA_UNBLOCK, &a->local, &a->remote);
		a->flags |= SS_AF_WAS_BLOCKED;
		begin_negotiation(ag, i, now, false, late ? "late ike answer ends block" : "blocked peer started ike");
		break;
	default:
		break; /* negotiating: crossing initiations; secured: a rekey or a second SA */
	}
	return true;
}

bool ss_agent_ike_start(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote)
{
	return peer_spoke(ag, now, local, remote, false);
}

bool ss_agent_peer_answered(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote)
{
	return peer_spoke(ag, now, local, remote, true);
}

void ss_agent_responder_gave_up(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote)
{
	uint32_t i = ss_at_find(&ag->t, local, remote);
	if (i == SS_NIL || ss_at_get(&ag->t, i)->state != SS_AS_NEGOTIATING) {
		ag->stats.stale_outcomes++;
		return;
	}
	ss_assoc *a = ss_at_get(&ag->t, i);
	ag->stats.responder_gave_up++;
	const ss_filter_action *act = rule_action(a->rule);
	uint8_t was = a->flags;
	if (a->flags & SS_AF_SPOKE_UNPROVEN)
		a->flags &= (uint8_t)~(SS_AF_SPOKE_IKE | SS_AF_SPOKE_UNPROVEN);
	a->flags &= (uint8_t)~(SS_AF_UPGRADING | SS_AF_WAS_BLOCKED);
	/* Back to where the unproven IKE_SA_INIT found the pair: a forged one must not end a
	 * soft association for good, lift a block, or leave an idle pair blocked. */
	if (was & SS_AF_WAS_BLOCKED) {
		to_blocked(ag, i, now, "peer never authenticated (responder gave up)");
		return;
	}
	if ((was & SS_AF_UPGRADING) && act && act->fallback_to_clear) {
		to_soft(ag, i, now, "peer never authenticated: soft association restored");
		return;
	}
	if (a->held_head != SS_NIL && act && act->kind == SS_ACT_NEGOTIATE) {
		/* Our own packets waited on the peer's exchange: now we negotiate ourselves, on the
		 * full schedule, and its outcome decides. */
		begin_negotiation(ag, i, now, true, "own negotiation after responder gave up");
		return;
	}
	retire(ag, i, now, "peer never authenticated (responder gave up)");
}

/* Which rule secures the peer, judged on addresses alone: 1 a negotiate rule (*rule), 2 the
 * Default Response rule only, 0 none. */
static int securing_rule(const ss_agent *ag, const ss_addr *local, const ss_addr *remote, ss_pkt_key *k,
			 const ss_rule **rule)
{
	*k = (ss_pkt_key){ .dir = SS_DIR_IN, .src = *remote, .dst = *local };
	bool hit = classify(ag, k, rule);
	if (hit)
		return (*rule)->action->kind == SS_ACT_NEGOTIATE ? 1 : 0;
	return ag->pol.policy && ag->pol.policy->default_response ? 2 : 0;
}

bool ss_agent_secures(const ss_agent *ag, const ss_addr *local, const ss_addr *remote)
{
	ss_pkt_key k;
	const ss_rule *rule;
	return securing_rule(ag, local, remote, &k, &rule) != 0;
}

void ss_agent_esp_unknown(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote)
{
	ss_pkt_key k;
	const ss_rule *rule;
	/* Default Response answers IKE but never starts it: nothing to do. */
	if (securing_rule(ag, local, remote, &k, &rule) != 1)
		return;
	uint32_t i = ss_at_find(&ag->t, local, remote);
	if (i == SS_NIL) {
		bool created;
		i = assoc_for(ag, local, remote, &k, rule, &created);
		if (i == SS_NIL)
			return;
	}
	ss_assoc *a = ss_at_get(&ag->t, i);
	/* Unauthenticated, so it changes nothing but an idle pair: negotiating, secured,
	 * soft and blocked pairs stay as they are. */
	if (a->state == SS_AS_IDLE) {
		ag->stats.esp_unknown_negotiations++;
		begin_negotiation(ag, i, now, true, "esp with unknown spi from peer");
	}
}

void ss_agent_attempt(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote, uint32_t n)
{
	uint32_t i = ss_at_find(&ag->t, local, remote);
	if (i == SS_NIL)
		return;
	ss_assoc *a = ss_at_get(&ag->t, i);
	if (a->state != SS_AS_NEGOTIATING || n <= a->attempt)
		return;
	ss_assoc_set_state(ag, a, SS_AS_NEGOTIATING, n, now, "ike attempt sent");
}

void ss_agent_outcome(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote,
		      enum ss_ike_outcome o)
{
	uint32_t i = ss_at_find(&ag->t, local, remote);
	if (i == SS_NIL || ss_at_get(&ag->t, i)->state != SS_AS_NEGOTIATING) {
		/* Abandoned (reload, watchdog) or duplicate: nothing waits for it. */
		ag->stats.stale_outcomes++;
		return;
	}
	ss_assoc *a = ss_at_get(&ag->t, i);
	const ss_filter_action *act = rule_action(a->rule);
	a->last_outcome = (int8_t)o;
	if ((unsigned)o <= SS_IKE_PEER_REFUSED)
		ag->stats.outcomes[o]++;
	if (o == SS_IKE_SECURED) {
		to_secured(ag, i, now);
		return;
	}
	if (!ss_ike_outcome_allows_fallback(o)) {
		/* Row 5: it answered IKE, so it is IPsec-aware: never clear. */
		to_blocked(ag, i, now, ss_ike_outcome_name(o));
		return;
	}
	if (a->flags & SS_AF_SPOKE_IKE) {
		to_blocked(ag, i, now, "peer spoke ike before");
		return;
	}
	if (!act || !act->fallback_to_clear) {
		to_blocked(ag, i, now, "rule does not allow clear");
		return;
	}
	if (!act->fallback_after_secured &&
	    ((a->flags & SS_AF_REMEMBERED) || remembered(ag, now, &a->remote))) {
		to_blocked(ag, i, now, "downgrade protection: peer completed ike recently");
		return;
	}
	to_soft(ag, i, now, ss_ike_outcome_name(o));
}

void ss_agent_sa_down(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote)
{
	uint32_t i = ss_at_find(&ag->t, local, remote);
	if (i != SS_NIL && ss_at_get(&ag->t, i)->state == SS_AS_SECURED)
		retire(ag, i, now, "sa deleted");
}

/* Drops the held packets that reached the age limit (oldest first: arrival order). */
static void expire_held(ss_agent *ag, ss_assoc *a, ss_time now)
{
	ss_time age = held_max_age(ag);
	ss_held h;
	while (a->held_head != SS_NIL && ag->held.nodes[a->held_head].at + age <= now && held_pop(ag, a, &h)) {
		ag->stats.held_expired++;
		ag->stats.held_dropped++;
		emit_pkt(ag, SS_AA_DROP, SS_DROP_HELD_EXPIRED, &a->local, &a->remote, h.dir, h.handle, h.len);
	}
}

void ss_agent_timer(ss_agent *ag, ss_time now)
{
	uint32_t i, budget = TIMER_BATCH;
	while (budget-- && (i = ss_at_top(&ag->t)) != SS_NIL && ss_at_get(&ag->t, i)->deadline <= now) {
		ss_assoc *a = ss_at_get(&ag->t, i);
		switch (a->state) {
		case SS_AS_NEGOTIATING:
			if (now < a->watchdog) {
				expire_held(ag, a, now);
				negotiating_deadline(ag, i);
				break;
			}
			ag->stats.watchdog_fired++;
			emit(ag, SS_AA_STOP_NEGOTIATION, &a->local, &a->remote);
			to_blocked(ag, i, now, "no outcome from ike (watchdog)");
			break;
		case SS_AS_SOFT: {
			ss_time exp = a->last_used + soft_life(a);
			if (exp > now) {
				ss_at_set_deadline(&ag->t, i, exp);
				break;
			}
			emit(ag, SS_AA_SOFT_EXPIRE, &a->local, &a->remote);
			ag->stats.soft_expired++;
			retire(ag, i, now, "soft idle lifetime over");
			break;
		}
		case SS_AS_BLOCKED:
			emit(ag, SS_AA_UNBLOCK, &a->local, &a->remote);
			retire(ag, i, now, "back-off over");
			break;
		default:
			ss_at_clear_deadline(&ag->t, i);
			break;
		}
	}
}

void ss_agent_soft_seen(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote,
			ss_time idle_ms, uint64_t packets, uint64_t bytes)
{
	uint32_t i = ss_at_find(&ag->t, local, remote);
	if (i == SS_NIL)
		return;
	ss_assoc *a = ss_at_get(&ag->t, i);
	if (a->state != SS_AS_SOFT)
		return;
	a->packets = packets;
	a->bytes = bytes;
	/* Lazy as touch_soft: the expiry timer re-checks last_used. */
	ss_time seen = idle_ms < now ? now - idle_ms : 0;
	if (seen > a->last_used)
		a->last_used = seen;
}

size_t ss_agent_flush_soft(ss_agent *ag, ss_time now)
{
	size_t n = 0;
	/* As in ss_agent_reload: retire() may free the slab, which ends the loop. */
	for (uint32_t i = 0; i < ag->t.used_hw; i++) {
		ss_assoc *a = ss_at_get(&ag->t, i);
		if (a->state != SS_AS_SOFT)
			continue;
		emit(ag, SS_AA_SOFT_EXPIRE, &a->local, &a->remote);
		ag->stats.soft_expired++;
		retire(ag, i, now, "soft associations flushed");
		n++;
	}
	return n;
}

ss_time ss_agent_deadline(const ss_agent *ag)
{
	uint32_t i = ss_at_top(&ag->t);
	return i == SS_NIL ? SS_NEVER : ss_at_get(&ag->t, i)->deadline;
}

/* --- policy reload ----------------------------------------------------------------------- */

/* Two actions ask the same of an association when every field the agent acts on agrees. */
static bool same_action(const ss_filter_action *x, const ss_filter_action *y)
{
	if (!x || !y)
		return x == y;
	return x->kind == y->kind && x->accept_unsecured == y->accept_unsecured &&
	       x->fallback_to_clear == y->fallback_to_clear && x->discovery == y->discovery &&
	       x->fallback_after_secured == y->fallback_after_secured &&
	       x->soft_idle_lifetime == y->soft_idle_lifetime;
}

/* Re-evaluates one association under its new rule (NULL: no rule covers it any more). */
static void reevaluate(ss_agent *ag, uint32_t i, ss_time now, const ss_rule *rule)
{
	ss_assoc *a = ss_at_get(&ag->t, i);
	const ss_filter_action *act = rule_action(rule);
	bool negotiate = act && act->kind == SS_ACT_NEGOTIATE;
	/* An SA we answered through the Default Response rule stays if that rule still exists. */
	bool responder = !act && (a->flags & SS_AF_SPOKE_IKE) && ag->pol.policy && ag->pol.policy->default_response;
	a->rule = rule;
	switch (a->state) {
	case SS_AS_NEGOTIATING:
		if (negotiate || responder) {
			/* Held packets follow the new rule: clear only if it allows it. */
			for (uint32_t h = a->held_head; h != SS_NIL; h = ag->held.nodes[h].next)
				ag->held.nodes[h].may_clear = negotiate && act->fallback_to_clear;
			return;
		}
		emit(ag, SS_AA_STOP_NEGOTIATION, &a->local, &a->remote);
		/* No negotiate rule now: held packets go as the new rule says (permit: clear). */
		for (uint32_t h = a->held_head; h != SS_NIL; h = ag->held.nodes[h].next)
			ag->held.nodes[h].may_clear = !act || act->kind == SS_ACT_PERMIT;
		release_held(ag, a, false);
		retire(ag, i, now, "policy reload: rule no longer negotiates");
		return;
	case SS_AS_SECURED:
		if (negotiate || responder)
			return;
		emit(ag, SS_AA_STOP_NEGOTIATION, &a->local, &a->remote);
		retire(ag, i, now, "policy reload: rule no longer negotiates");
		return;
	case SS_AS_SOFT:
		if (negotiate && act->fallback_to_clear) {
			ss_at_set_deadline(&ag->t, i, ss_time_min(a->deadline, a->last_used + soft_life(a)));
			return;
		}
		emit(ag, SS_AA_SOFT_EXPIRE, &a->local, &a->remote);
		ag->stats.soft_expired++;
		retire(ag, i, now, "policy reload: rule no longer allows clear");
		return;
	case SS_AS_BLOCKED:
		/* The block was decided under the old rule; the next packet decides afresh. */
		emit(ag, SS_AA_UNBLOCK, &a->local, &a->remote);
		retire(ag, i, now, "policy reload: rule changed");
		return;
	default:
		return;
	}
}

void ss_agent_reload(ss_agent *ag, ss_time now, const ss_agent_policy *pol)
{
	ag->pol = *pol;
	/* Walk the slab; retire() may free the whole slab when the last record goes, which
	 * sets used_hw to 0 and ends the loop. */
	for (uint32_t i = 0; i < ag->t.used_hw; i++) {
		ss_assoc *a = ss_at_get(&ag->t, i);
		if (a->state == SS_AS_FREE_SLOT)
			continue;
		ss_pkt_key k = { .dir = a->key_dir, .proto = a->key_proto, .sport = a->key_sport,
				 .dport = a->key_dport };
		k.src = a->key_dir == SS_DIR_OUT ? a->local : a->remote;
		k.dst = a->key_dir == SS_DIR_OUT ? a->remote : a->local;
		const ss_rule *rule;
		classify(ag, &k, &rule);
		if (same_action(rule_action(a->rule), rule_action(rule)) &&
		    (!!a->rule == !!rule)) {
			a->rule = rule;
			continue;
		}
		reevaluate(ag, i, now, rule);
	}
}

/* --- introspection ----------------------------------------------------------------------- */

static void fill_info(const ss_assoc *a, ss_agent_assoc_info *out)
{
	out->local = a->local;
	out->remote = a->remote;
	out->state = a->state;
	out->attempt = a->attempt;
	out->since = a->since;
	out->last_used = a->last_used;
	out->held = a->held_n;
	out->held_bytes = a->held_bytes;
	out->packets = a->packets;
	out->bytes = a->bytes;
	out->rule = a->rule;
	out->last_outcome = a->last_outcome;
	out->reason = a->reason ? a->reason : "";
	out->idle_lifetime_s = (uint32_t)(soft_life(a) / 1000);
	out->expires = a->state == SS_AS_SOFT ? a->last_used + soft_life(a)
		     : a->state == SS_AS_BLOCKED ? a->deadline
						 : SS_NEVER;
}

bool ss_agent_get(const ss_agent *ag, const ss_addr *local, const ss_addr *remote, ss_agent_assoc_info *out)
{
	uint32_t i = ss_at_find(&ag->t, local, remote);
	if (i == SS_NIL)
		return false;
	fill_info(ss_at_get(&ag->t, i), out);
	return true;
}

bool ss_agent_state(const ss_agent *ag, const ss_addr *local, const ss_addr *remote,
		    enum ss_assoc_state *st, uint32_t *attempt)
{
	ss_agent_assoc_info info = { .state = SS_AS_IDLE };
	bool found = ss_agent_get(ag, local, remote, &info);
	if (st)
		*st = info.state;
	if (attempt)
		*attempt = info.attempt;
	return found;
}

void ss_agent_get_stats(const ss_agent *ag, ss_agent_stats *st)
{
	*st = ag->stats;
	st->assocs = ag->t.count;
	st->held_now = ag->held.in_use;
	st->held_bytes_now = ag->held_bytes;
	st->held_bytes_max = ag->held_bytes_max;
	st->remembered = ag->mem.count;
	st->remembered_bytes = ss_pm_memory(&ag->mem);
}

size_t ss_agent_memory(const ss_agent *ag)
{
	return sizeof(*ag) + ss_at_memory(&ag->t) + (size_t)ag->held.cap * sizeof(ss_held) +
	       ss_pm_memory(&ag->mem) + ag->qcap * sizeof(ss_agent_action);
}

void ss_agent_each(const ss_agent *ag, ss_agent_assoc_fn fn, void *ctx)
{
	for (uint32_t i = 0; i < ag->t.used_hw; i++) {
		const ss_assoc *a = ss_at_get(&ag->t, i);
		if (a->state == SS_AS_FREE_SLOT)
			continue;
		ss_agent_assoc_info info;
		fill_info(a, &info);
		fn(ctx, &info);
	}
}

size_t ss_agent_assoc_size(void)
{
	return sizeof(ss_assoc);
}

/* --- downgrade memory -------------------------------------------------------------------- */

struct each_ctx {
	ss_agent_peer_fn fn;
	void *ctx;
};

void ss_agent_remembered_each(ss_agent *ag, ss_time now, ss_agent_peer_fn fn, void *ctx)
{
	ss_time w = mem_window(ag);
	if (w)
		ss_pm_each(&ag->mem, w, now + PM_BIAS, fn, ctx);
}

void ss_agent_remember(ss_agent *ag, ss_time now, const ss_addr *remote, ss_time age_ms)
{
	ss_time w = mem_window(ag);
	if (!w || age_ms >= w)
		return;
	ss_pm_put(&ag->mem, remote, now + PM_BIAS - age_ms, w, now + PM_BIAS, ag->cfg.max_remembered);
	ag->stats.remembered_updates++;
}

bool ss_agent_is_remembered(ss_agent *ag, ss_time now, const ss_addr *remote)
{
	return remembered(ag, now, remote);
}
