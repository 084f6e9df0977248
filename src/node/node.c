/* The node (node.h): creation, the run loop, deadlines and timers; the agent's actions become
 * packet verdicts, dataplane peer states (soft with its timeout, blocked, none) and
 * negotiations, and its state changes become log lines and events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "agent/agent.h"
#include "base/log.h"
#include "base/secure.h"
#include "dataplane/dataplane.h"
#include "node/internal.h"

static const char *const event_names[] = {
	[SS_NE_NEG_STARTED] = "negotiation-started", [SS_NE_NEG_ENDED] = "negotiation-ended",
	[SS_NE_LATE_ANSWER] = "late-ike-answer",     [SS_NE_SOFT_CREATED] = "soft-created",
	[SS_NE_SOFT_EXPIRED] = "soft-expired",       [SS_NE_SOFT_UPGRADED] = "soft-upgraded",
	[SS_NE_PEER_BLOCKED] = "peer-blocked",       [SS_NE_PEER_DEAD] = "peer-dead",
	[SS_NE_SA_UP] = "sa-up",                     [SS_NE_SA_DOWN] = "sa-down",
	[SS_NE_UNKNOWN_SPI] = "unknown-spi",         [SS_NE_IKE_FLOOD] = "ike-flood",
};

const char *ss_node_event_name(enum ss_node_event_kind k)
{
	return (unsigned)k < sizeof(event_names) / sizeof(event_names[0]) && event_names[k] ? event_names[k] : "?";
}

void ss_node_params_default(ss_node_params *p)
{
	memset(p, 0, sizeof(*p));
	ss_ike_engine_params_default(&p->engine);
	p->ike_port = SS_IKE_PORT;
	p->natt_port = SS_IKE_NATT_PORT;
	p->traffic_every_ms = 1000;
	p->log_sub = "node";
}

ss_node *ss_node_new(const ss_node_params *p)
{
	ss_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->p = *p;
	if (!n->p.log_sub)
		n->p.log_sub = "node";
	n->dp = p->dp;
	ss_ike_engine_params ep = p->engine;
	ep.lookup = node_lookup;
	ep.lookup_ctx = n;
	ep.spi_in_use = node_spi_in_use;
	ep.spi_ctx = n;
	n->eng = node_tables_init(n) ? ss_ike_engine_new(&ep) : NULL;
	if (!n->eng) {
		free(n);
		return NULL;
	}
	return n;
}

void ss_node_free(ss_node *n)
{
	if (!n)
		return;
	ss_ike_engine_free(n->eng);
	node_tables_free(n);
	ss_wipe(n, sizeof(*n));
	free(n);
}

static void observe(void *ctx, ss_time now, const ss_addr *local, const ss_addr *remote,
		    enum ss_assoc_state from, enum ss_assoc_state to, uint32_t attempt, const char *reason);

void ss_node_attach_agent(ss_node *n, struct ss_agent *ag)
{
	n->agent = ag;
	if (ag)
		ss_agent_set_observer(ag, observe, n);
}

ss_ike_engine *ss_node_engine(ss_node *n)
{
	return n->eng;
}

/* ---- events and notes ---- */

void node_event(ss_node *n, const ss_node_event *ev)
{
	if (!n->p.io.event)
		return;
	ss_node_event e = *ev;
	if (!e.rule)
		e.rule = "";
	if (!e.reason)
		e.reason = "";
	if (!e.suite)
		e.suite = "";
	n->p.io.event(n->p.io.ctx, &e);
}

void node_event_pair(ss_node *n, enum ss_node_event_kind k, const ss_addr *local, const ss_addr *remote)
{
	ss_node_event ev = { .kind = k };
	if (local)
		ev.local = *local;
	if (remote)
		ev.remote = *remote;
	node_event(n, &ev);
}

/* ---- the agent's actions ---- */

/* A verdict on a packet the dataplane acquired, or (a backend that passes inbound clear
 * packets through, as the simulator's) one it reported inbound: CLEAR delivers it.  Handle
 * 0 (an inbound notice: the packet is gone already) has nothing behind it. */
static void verdict(ss_node *n, uint64_t h, enum ss_dp_pkt_verdict v, ss_time now)
{
	if (h == 0)
		return;
	int r = ss_dp_verdict(n->dp, h, v, now);
	if (r < 0 && r != -ENOENT)
		SS_WARN(SUB, "dataplane: verdict on packet %llu failed: %s", (unsigned long long)h, strerror(-r));
}

static void set_peer(ss_node *n, const ss_addr *remote, enum ss_dp_peer_state st, ss_time timeout)
{
	int r = node_set_peer(n, remote, st, timeout);
	if (r < 0) {
		char rb[SS_ADDR_STRLEN];
		SS_ERR(SUB, "dataplane: cannot put %s in state %s (error %d)", ss_addr_fmt(remote, rb),
		       ss_dp_peer_state_name(st), r);
	}
}

static void soft_create(ss_node *n, const ss_agent_action *a, ss_time now, bool refresh)
{
	ss_time left = a->until > now ? a->until - now : 1;
	set_peer(n, &a->remote, SS_DP_PEER_SOFT, left);
	ss_node_note spare = { .last_outcome = -1 }, *x = ss_node_note_get(n, &a->local, &a->remote, true);
	if (!x)
		x = &spare; /* no memory for a note: the log and the event lose its columns only */
	if (!refresh) {
		x->soft_since = now;
		x->soft_idle_s = (uint32_t)(left / 1000);
	}
	x->soft_until = a->until;
	if (refresh)
		return;
	n->st.soft_created++;
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	const char *why = x->last_outcome >= 0 ? ss_ike_outcome_name(x->last_outcome) : "no IKE";
	ss_log_kv(SS_LOG_NOTICE, SUB, SS_KV("PEER", ss_addr_fmt(&a->remote, rb), "RULE", x->rule, "OUTCOME", why),
		  "soft association created %s <-> %s (%s): clear traffic allowed, idle expiry %llu s",
		  ss_addr_fmt(&a->local, lb), rb, why, (unsigned long long)(left / 1000));
	node_event(n, &(ss_node_event){ .kind = SS_NE_SOFT_CREATED, .local = a->local, .remote = a->remote,
					.rule = x->rule, .n = left / 1000 });
}

static void block(ss_node *n, const ss_agent_action *a, ss_time now)
{
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	uint64_t s = a->until > now ? (a->until - now) / 1000 : 0;
	set_peer(n, &a->remote, SS_DP_PEER_BLOCKED, SS_NEVER);
	ss_log_kv(SS_LOG_NOTICE, SUB, SS_KV("PEER", ss_addr_fmt(&a->remote, rb), "OUTCOME", "blocked"),
		  "peer blocked %s <-> %s for %llu s: negotiation failed and the rule allows no clear traffic",
		  ss_addr_fmt(&a->local, lb), rb, (unsigned long long)s);
	node_event(n, &(ss_node_event){ .kind = SS_NE_PEER_BLOCKED, .local = a->local, .remote = a->remote, .n = s });
}

static void act(ss_node *n, const ss_agent_action *a, ss_time now)
{
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	switch (a->kind) {
	case SS_AA_PASS_CLEAR:
	case SS_AA_RELEASE_CLEAR:
		verdict(n, a->handle, SS_DP_PKT_CLEAR, now);
		break;
	case SS_AA_ENCRYPT:
	case SS_AA_RELEASE_SA:
		verdict(n, a->handle, SS_DP_PKT_ESP, now);
		break;
	case SS_AA_DROP:
		verdict(n, a->handle, SS_DP_PKT_DROP, now);
		break;
	case SS_AA_HOLD:
		verdict(n, a->handle, SS_DP_PKT_HOLD, now);
		break;
	case SS_AA_START_NEGOTIATION:
		/* The IKE_SA_INIT leaves at once, before the verdicts that follow (a discovery-mode
		 * packet goes in the clear after it): the peer hears IKE first, and does not start
		 * a crossing negotiation of its own on our clear packet. */
		if (node_neg_start(n, now, a->rule, &a->local, &a->remote))
			node_ike_drain(n, now);
		break;
	case SS_AA_STOP_NEGOTIATION:
		ss_node_terminate(n, now, &a->remote);
		break;
	case SS_AA_SOFT_CREATE:
	case SS_AA_SOFT_REFRESH:
		soft_create(n, a, now, a->kind == SS_AA_SOFT_REFRESH);
		break;
	case SS_AA_SOFT_EXPIRE:
		set_peer(n, &a->remote, SS_DP_PEER_NONE, SS_NEVER);
		break;
	case SS_AA_BLOCK:
		block(n, a, now);
		break;
	case SS_AA_UNBLOCK:
		set_peer(n, &a->remote, SS_DP_PEER_NONE, SS_NEVER);
		SS_INFO(SUB, "peer unblocked %s <-> %s", ss_addr_fmt(&a->local, lb), ss_addr_fmt(&a->remote, rb));
		break;
	}
}

size_t node_agent_drain(ss_node *n, ss_time now)
{
	size_t k = 0;
	ss_agent_action a;
	while (n->agent && ss_agent_pop(n->agent, &a)) {
		act(n, &a, now);
		k++;
	}
	return k;
}

/* State changes the actions do not show: the end of a soft association. */
static void observe(void *ctx, ss_time now, const ss_addr *local, const ss_addr *remote,
		    enum ss_assoc_state from, enum ss_assoc_state to, uint32_t attempt, const char *reason)
{
	ss_node *n = ctx;
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	SS_DEBUG(SUB, "%s <-> %s: %s -> %s (%s)", ss_addr_fmt(local, lb), ss_addr_fmt(remote, rb),
		 ss_assoc_state_name(from), ss_assoc_state_name(to), reason);
	if (from != SS_AS_SOFT || to == SS_AS_SOFT)
		return;
	ss_node_note *x = ss_node_note_get(n, local, remote, false);
	if (x)
		x->soft_until = 0;
	if (to == SS_AS_IDLE) {
		n->st.soft_expired++;
		SS_INFO(SUB, "soft association expired %s <-> %s (%s)", lb, rb, reason);
		node_event_pair(n, SS_NE_SOFT_EXPIRED, local, remote);
	} else {
		n->st.soft_upgraded++;
		SS_INFO(SUB, "soft association upgraded %s <-> %s: the peer speaks IKE (%s), clear traffic with it ends now",
			lb, rb, reason);
		node_event_pair(n, SS_NE_SOFT_UPGRADED, local, remote);
	}
}

/* ---- soft associations: their traffic is counted in the datapath ---- */

#define SOFT_SYNC_MIN_MS 250
#define SOFT_SYNC_MAX 65536

typedef struct soft_pair {
	ss_addr local, remote;
	ss_time life;
} soft_pair;

typedef struct soft_pairs {
	soft_pair *v;
	size_t n, cap;
} soft_pairs;

static void collect_soft(void *ctx, const ss_agent_assoc_info *a)
{
	soft_pairs *sp = ctx;
	if (a->state != SS_AS_SOFT || sp->n == sp->cap)
		return;
	sp->v[sp->n++] = (soft_pair){ a->local, a->remote, SS_SEC(a->idle_lifetime_s) };
}

static int soft_cmp(const void *x, const void *y)
{
	return ss_addr_cmp(&((const ss_dp_soft_info *)x)->peer, &((const ss_dp_soft_info *)y)->peer);
}

/* A soft peer's packets may never reach the node (the dataplane passes them itself): its idle
 * time and counters come from the datapath, which refreshes the element's timeout on every
 * packet both ways.  Read before the agent expires anything (and for `softsa soft`), at most
 * every SOFT_SYNC_MIN_MS. */
void ss_node_soft_sync(ss_node *n, ss_time now)
{
	if (!n->dp || !n->agent || (n->soft_synced && now - n->soft_synced < SOFT_SYNC_MIN_MS))
		return;
	n->soft_synced = now;
	soft_pairs sp = { .cap = SOFT_SYNC_MAX };
	sp.v = malloc(sp.cap * sizeof(*sp.v));
	ss_dp_soft_info *dp = malloc(SOFT_SYNC_MAX * sizeof(*dp));
	int k = sp.v && dp ? ss_dp_list_soft(n->dp, dp, SOFT_SYNC_MAX) : -1;
	if (k > 0) {
		ss_agent_each(n->agent, collect_soft, &sp);
		qsort(dp, (size_t)k, sizeof(*dp), soft_cmp);
		for (size_t i = 0; i < sp.n; i++) {
			ss_dp_soft_info key = { .peer = sp.v[i].remote };
			const ss_dp_soft_info *e = bsearch(&key, dp, (size_t)k, sizeof(*dp), soft_cmp);
			if (!e || e->expires_in == SS_NEVER)
				continue;
			/* nftables reports whole seconds left (rounded down): count the best case, so
			 * that a live flow is never expired early; the kernel's own timeout is exact. */
			ss_time left = e->expires_in + 999;
			ss_time idle = left < sp.v[i].life ? sp.v[i].life - left : 0;
			ss_agent_soft_seen(n->agent, now, &sp.v[i].local, &sp.v[i].remote, idle, e->packets, e->bytes);
		}
	}
	free(sp.v);
	free(dp);
}

/* ---- the loop ---- */

void ss_node_run(ss_node *n, ss_time now)
{
	n->now = now;
	size_t k;
	int guard = 0;
	/* The dataplane's events first: a flush ends its round, and with it the packets of the
	 * batch its events name (a verdict after that finds them gone). */
	do {
		k = node_dp_drain(n, now);
		k += node_ike_drain(n, now);
		k += node_agent_drain(n, now);
		ss_dp_flush(n->dp, now);
		if (n->p.traffic_every_ms == 0)
			node_children_traffic(n, now);
	} while (k && ++guard < 1000);
	node_flood_watch(n);
}

ss_time ss_node_deadline(ss_node *n)
{
	ss_time t = ss_ike_next_deadline(n->eng);
	if (n->agent)
		t = ss_time_min(t, ss_agent_deadline(n->agent));
	if (n->child_v.n && n->p.traffic_every_ms)
		t = ss_time_min(t, n->traffic_at);
	return t;
}

void ss_node_timer(ss_node *n, ss_time now)
{
	n->now = now;
	if (n->p.traffic_every_ms && now >= n->traffic_at) {
		node_children_traffic(n, now);
		n->traffic_at = now + node_traffic_step_ms(n);
	}
	if (ss_ike_next_deadline(n->eng) <= now)
		ss_ike_timer(n->eng, now);
	if (n->agent && ss_agent_deadline(n->agent) <= now) {
		ss_node_soft_sync(n, now);
		ss_agent_timer(n->agent, now);
	}
	ss_node_run(n, now);
}

/* ---- introspection ---- */

const ss_node_stats *ss_node_get_stats(const ss_node *n)
{
	return &n->st;
}
