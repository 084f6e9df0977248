/* The node's IKE side: the engine's responder asks (through the agent, then the policy)
 * whether and how to answer a peer; negotiations the agent starts go in with the rule's
 * configuration; the engine's actions come out here: datagrams to send, CHILD SAs up and
 * down (node_child.c), IKE SAs deleted (a dead peer is news once), outcomes, late answers
 * and ended responder negotiations, which go to the agent. */
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "base/log.h"
#include "base/secure.h"
#include "node/internal.h"

/* ---- the responder's lookup, negotiations in and out ---- */

/* An IKE_SA_INIT is answered only when the agent agrees (a rule asks for security with the
 * peer, or the Default Response rule): that also moves the pair to negotiating. */
const ss_ike_config *node_lookup(void *ctx, const ss_ike_endpoint *local, const ss_ike_endpoint *remote,
				 const ss_ike_id *idi)
{
	ss_node *n = ctx;
	ss_wipe(&n->lookup_cfg, sizeof(n->lookup_cfg));
	bool ok = n->agent && (idi || ss_agent_ike_start(n->agent, n->now, &local->addr, &remote->addr)) &&
		  n->p.pol.responder(n->p.pol.ctx, n->now, &local->addr, &remote->addr, idi, &n->lookup_cfg);
	char rb[SS_ADDR_STRLEN];
	if (!ok)
		SS_INFO(SUB, "IKE from %s refused: no rule asks for security with it", ss_addr_fmt(&remote->addr, rb));
	return ok ? &n->lookup_cfg : NULL;
}

void ss_node_ike_input(ss_node *n, const uint8_t *p, size_t len, const ss_ike_endpoint *local,
		       const ss_ike_endpoint *remote, ss_time now)
{
	n->now = now;
	ss_ike_input(n->eng, p, len, local, remote, now);
	ss_wipe(&n->lookup_cfg, sizeof(n->lookup_cfg));
}

void ss_node_icmp(ss_node *n, const uint8_t *quoted, size_t len, ss_time now)
{
	n->now = now;
	ss_ike_icmp(n->eng, quoted, len, now);
}

bool node_neg_start(ss_node *n, ss_time now, const struct ss_rule *rule, const ss_addr *local,
		    const ss_addr *remote)
{
	char name[64] = "", lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	ss_addr_fmt(local, lb);
	ss_addr_fmt(remote, rb);
	ss_ike_config *c = &n->init_cfg;
	ss_wipe(c, sizeof(*c));
	if (!n->p.pol.initiator(n->p.pol.ctx, rule, local, remote, c, name)) {
		SS_ERR(SUB, "negotiation %s -> %s has no configuration", lb, rb);
		return false;
	}
	ss_log_kv(SS_LOG_INFO, SUB, SS_KV("PEER", rb, "RULE", name), "negotiation started %s -> %s (rule %s, %u attempts)",
		  lb, rb, name, c->retx.attempts);
	ss_node_note *x = ss_node_note_get(n, local, remote, true);
	if (x)
		snprintf(x->rule, sizeof(x->rule), "%s", name);
	n->st.neg_started++;
	node_event(n, &(ss_node_event){ .kind = SS_NE_NEG_STARTED, .local = *local, .remote = *remote, .rule = name });
	ss_ike_endpoint l = { *local, n->p.ike_port }, r = { *remote, n->p.ike_port };
	uint32_t h = ss_ike_initiate(n->eng, &l, &r, c, now);
	uint32_t life = c->ike_lifetime_s;
	ss_wipe(c, sizeof(*c));
	if (!h) {
		SS_ERR(SUB, "negotiation %s -> %s could not start (rule %s)", lb, rb, name);
		return false;
	}
	ss_node_ikesa *s = node_ikesa_add(n, h, local, remote, now, name);
	if (s)
		s->lifetime_s = life;
	return true;
}

typedef struct term_ctx {
	ss_node *n;
	ss_time now;
	size_t k;
} term_ctx;

static void term_one(void *ctx, const ss_node_ikesa *s)
{
	term_ctx *t = ctx;
	/* ss_ike_delete only queues the DELETE: no record comes or goes during the walk. */
	if (ss_ike_delete(t->n->eng, s->h, t->now)) {
		node_ikesa_set_deleting(t->n, (ss_node_ikesa *)s);
		t->k++;
	}
}

size_t ss_node_terminate(ss_node *n, ss_time now, const ss_addr *remote)
{
	n->now = now;
	term_ctx t = { n, now, 0 };
	ss_node_each_ikesa_with(n, remote, term_one, &t);
	return t.k;
}

/* ---- engine actions ---- */

/* An old SA that went unanswered while the peer has a newer one (it restarted and came back
 * before we found out) is no dead peer. */
static bool newer_sa_with(const ss_node *n, const ss_node_ikesa *old)
{
	(void)n;
	/* The pair's SAs in the order they came, newest last: the newest is the likely one. */
	for (const node_ikesa *o = node_ikesa_of(old)->pair->last; o; o = o->prev)
		if (&o->pub != old && o->pub.established && !o->pub.deleting && o->pub.created >= old->created)
			return true;
	return false;
}

static void ike_gone(ss_node *n, const ss_ike_action *a, ss_time now)
{
	const char *why = a->reason ? a->reason : "IKE SA deleted";
	ss_node_ikesa *s = node_ikesa_find(n, a->sa);
	/* A dead peer is news once, with its reason; an ordinary delete shows as sa-down. */
	if (s && s->established && !strncmp(why, "peer dead", 9)) {
		char rb[SS_ADDR_STRLEN];
		if (newer_sa_with(n, s)) {
			SS_INFO(SUB, "old IKE SA with %s deleted (%s); the peer has a newer one",
				ss_addr_fmt(&s->remote, rb), why);
		} else {
			ss_log_kv(SS_LOG_WARN, SUB, SS_KV("PEER", ss_addr_fmt(&s->remote, rb), "RULE", s->rule,
							     "OUTCOME", "peer-dead"),
				  "peer %s is dead (%s): its SAs are deleted; the next packet negotiates again", rb, why);
			node_event(n, &(ss_node_event){ .kind = SS_NE_PEER_DEAD, .local = s->local, .remote = s->remote,
							.reason = why, .rule = s->rule });
		}
	}
	node_children_of_ike_gone(n, a->sa, why, now);
	if (s)
		node_ikesa_remove(n, s);
}

static void outcome(ss_node *n, const ss_addr *local, const ss_addr *remote, enum ss_ike_outcome o,
		    const char *reason, ss_time now)
{
	ss_node_note *x = ss_node_note_get(n, local, remote, true);
	if (x) {
		x->last_outcome = (int)o;
		snprintf(x->reason, sizeof(x->reason), "%s", reason);
	}
	if ((unsigned)o < 4)
		n->st.neg_outcome[o]++;
	node_event(n, &(ss_node_event){ .kind = SS_NE_NEG_ENDED, .local = *local, .remote = *remote, .outcome = (int)o,
					.reason = reason });
	if (n->agent)
		ss_agent_outcome(n->agent, now, local, remote, o);
}

/* A responder's negotiation ended unanswered (the engine's TIMEOUT).  Nothing proved the
 * IKE_SA_INIT came from the peer (its source is forgeable), so it matters only when no other
 * IKE SA of ours negotiates with the pair; then the agent puts the pair back where the
 * IKE_SA_INIT found it (ss_agent_responder_gave_up), never blocked on that alone. */
static void responder_timeout(ss_node *n, const ss_ike_action *a, ss_time now)
{
	const node_pair *p = node_pair_find(n, &a->local.addr, &a->remote.addr);
	const ss_node_ikesa *self = node_ikesa_find(n, a->sa);
	size_t others = p ? p->n_live : 0;
	if (self && !self->deleting && ss_addr_eq(&self->local, &a->local.addr) &&
	    ss_addr_eq(&self->remote, &a->remote.addr))
		others--;
	if (others)
		return;
	enum ss_assoc_state st;
	uint32_t attempt;
	if (!n->agent || !ss_agent_state(n->agent, &a->local.addr, &a->remote.addr, &st, &attempt) ||
	    st != SS_AS_NEGOTIATING)
		return;
	n->st.responder_timeouts++;
	const char *why = a->reason ? a->reason : "responder gave up";
	node_event(n, &(ss_node_event){ .kind = SS_NE_NEG_ENDED, .local = a->local.addr, .remote = a->remote.addr,
					.outcome = -1, .reason = why });
	ss_agent_responder_gave_up(n->agent, now, &a->local.addr, &a->remote.addr);
}

static void do_action(ss_node *n, const ss_ike_action *a, ss_time now)
{
	ss_node_ikesa *s;
	switch (a->kind) {
	case SS_IKE_ACT_ATTEMPT:
		s = node_ikesa_find(n, a->sa);
		if (s && !s->established && n->agent)
			ss_agent_attempt(n->agent, now, &s->local, &s->remote, a->attempt);
		break;
	case SS_IKE_ACT_SEND:
		n->p.io.send(n->p.io.ctx, &a->local, &a->remote, a->data, a->len);
		break;
	case SS_IKE_ACT_CHILD_UP:
		node_child_up(n, a->sa, &a->child, now);
		break;
	case SS_IKE_ACT_CHILD_DELETED:
		node_child_deleted(n, a->child.spi_in, a->child.spi_out, now);
		break;
	case SS_IKE_ACT_IKE_DELETED:
		ike_gone(n, a, now);
		break;
	case SS_IKE_ACT_IKE_REKEYED:	/* same handle, new SPIs: nothing to update here */
		break;
	case SS_IKE_ACT_ANSWERED:
		/* A late answer after a provisional outcome: follow the SA again (its outcome
		 * forgot it) and let the agent end the soft association. */
		node_ikesa_add(n, a->sa, &a->local.addr, &a->remote.addr, now, NULL);
		node_event_pair(n, SS_NE_LATE_ANSWER, &a->local.addr, &a->remote.addr);
		if (!n->agent || !ss_agent_peer_answered(n->agent, now, &a->local.addr, &a->remote.addr))
			ss_ike_abandon(n->eng, a->sa);
		break;
	case SS_IKE_ACT_OUTCOME: {
		s = node_ikesa_find(n, a->sa);
		if (a->outcome != SS_IKE_SECURED && s && !s->established)
			node_ikesa_remove(n, s);
		outcome(n, &a->local.addr, &a->remote.addr, a->outcome, a->reason ? a->reason : "", now);
		ss_ike_sa_info info;
		ss_node_note *x = ss_node_note_get(n, &a->local.addr, &a->remote.addr, false);
		if (x && a->outcome == SS_IKE_SECURED && ss_ike_sa_get(n->eng, a->sa, &info))
			snprintf(x->identity, sizeof(x->identity), "%s", info.peer.id);
		break;
	}
	case SS_IKE_ACT_TIMEOUT:
		responder_timeout(n, a, now);
		break;
	}
}

size_t node_ike_drain(ss_node *n, ss_time now)
{
	size_t k = 0;
	ss_ike_action a;
	while (ss_ike_next_action(n->eng, &a)) {
		do_action(n, &a, now);
		k++;
	}
	return k;
}

/* One event when COOKIEs start being required and one when they stop. */
void node_flood_watch(ss_node *n)
{
	const ss_ike_stats *e = ss_ike_get_stats(n->eng);
	if (e->cookies_required == n->flood)
		return;
	n->flood = e->cookies_required;
	node_event(n, &(ss_node_event){ .kind = SS_NE_IKE_FLOOD, .flood_on = n->flood, .half_open = e->half_open,
					.half_open_peak = e->half_open_peak, .cookies_sent = e->cookies_sent,
					.half_open_refused = e->half_open_refused });
}
