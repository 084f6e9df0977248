/* The policy agent's side of softsad's commands (`peers`, `soft`, `stats`, `initiate`,
 * `flush-soft`) and the downgrade memory's saves.  The agent's actions and the events that
 * reach it are the node's (node/node.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/log.h"
#include "base/secure.h"
#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "node/node.h"
#include "policy/policy.h"

void dm_agent_attach(ss_daemon *d)
{
	ss_node_attach_agent(d->node, d->agent);
}

ss_time dm_agent_deadline(ss_daemon *d)
{
	return d->state_due;
}

void dm_agent_timer(ss_daemon *d, ss_time now)
{
	if (d->state_due <= now) {
		d->state_due = SS_NEVER;
		dm_state_save(d, now);
	}
}

/* ---- introspection and commands ---- */

typedef struct peers_ctx {
	ss_daemon *d;
	ss_time now;
	bool soft_only;
	json_t *arr;
} peers_ctx;

static void each_peer(void *ctx, const ss_agent_assoc_info *a)
{
	peers_ctx *pc = ctx;
	const ss_addr *local = &a->local, *remote = &a->remote;
	enum ss_assoc_state st = a->state;
	ss_time since = a->since;
	uint32_t held = a->held;
	if (pc->soft_only && st != SS_AS_SOFT)
		return;
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	ss_node_note *n = ss_node_note_get(pc->d->node, local, remote, false);
	ss_time age = pc->now > since ? (pc->now - since) / 1000 : 0;
	json_t *j;
	if (pc->soft_only) {
		/* Idle time and expiry as the agent knows them after the last soft_sync(). */
		ss_time until = a->expires, idle = pc->now > a->last_used ? pc->now - a->last_used : 0;
		j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:I, s:I, s:I, s:s?}", "local", ss_addr_fmt(local, lb),
			      "remote", ss_addr_fmt(remote, rb), "rule", n ? n->rule : "", "age", (json_int_t)age,
			      "expires_in", (json_int_t)(until != SS_NEVER && until > pc->now ? (until - pc->now) / 1000 : 0),
			      "idle_lifetime", (int)a->idle_lifetime_s, "idle", (json_int_t)(idle / 1000),
			      "packets", (json_int_t)a->packets, "bytes", (json_int_t)a->bytes, "reason",
			      n && n->last_outcome >= 0 ? ss_ike_outcome_name(n->last_outcome) : NULL);
	} else {
		enum ss_assoc_state s2;
		uint32_t attempt = 0;
		ss_agent_state(pc->d->agent, local, remote, &s2, &attempt);
		j = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:i, s:s?, s:s?, s:s?}", "local", ss_addr_fmt(local, lb),
			      "remote", ss_addr_fmt(remote, rb), "state", ss_assoc_state_name(st), "attempt",
			      (int)attempt, "since", (json_int_t)age, "rule", n ? n->rule : "", "held", (int)held,
			      "last_outcome", n && n->last_outcome >= 0 ? ss_ike_outcome_name(n->last_outcome) : NULL,
			      "reason", n && n->reason[0] ? n->reason : NULL,
			      "identity", n && n->identity[0] ? n->identity : NULL);
	}
	json_array_append_new(pc->arr, j);
}

json_t *dm_peers_json(ss_daemon *d, ss_time now, bool soft_only)
{
	if (soft_only)
		ss_node_soft_sync(d->node, now);
	peers_ctx pc = { d, now, soft_only, json_array() };
	ss_agent_each(d->agent, each_peer, &pc);
	return json_pack("{s:o}", soft_only ? "soft" : "peers", pc.arr);
}

/* Drops by reason: the agent's (packets that reached softsad) plus the datapath's (dropped
 * in the kernel by the rules for blocked and secured peers and block filters, which
 * softsad never sees), plus the fail-closed guard's. */
static json_t *drops_json(ss_daemon *d, const ss_agent_stats *s)
{
	ss_dp_stats ds;
	memset(&ds, 0, sizeof(ds));
	if (d->dp)
		ss_dp_get_stats(d->dp, &ds);
	const uint64_t *k = ds.dropped;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"rule_block", (json_int_t)(s->dropped[SS_DROP_RULE_BLOCK] + k[SS_DP_DROP_RULE_BLOCK]),
		"no_clear", (json_int_t)(s->dropped[SS_DROP_NO_CLEAR] + k[SS_DP_DROP_NO_CLEAR]),
		"clear_from_secure", (json_int_t)(s->dropped[SS_DROP_CLEAR_FROM_SECURE] + k[SS_DP_DROP_CLEAR_FROM_SECURE]),
		"blocked", (json_int_t)(s->dropped[SS_DROP_BLOCKED] + k[SS_DP_DROP_BLOCKED]),
		"fail_closed", (json_int_t)k[SS_DP_DROP_FAIL_CLOSED],
		"held_overflow", (json_int_t)s->dropped[SS_DROP_HELD_OVERFLOW],
		"held_expired", (json_int_t)s->dropped[SS_DROP_HELD_EXPIRED],
		"table_full", (json_int_t)s->dropped[SS_DROP_TABLE_FULL]);
}

void dm_agent_stats_json(ss_daemon *d, json_t *r)
{
	ss_agent_stats s;
	ss_agent_get_stats(d->agent, &s);
	ss_dp_stats dp;
	ss_dp_get_stats(d->dp, &dp);
	const ss_node_stats *ns = ss_node_get_stats(d->node);
	json_object_set_new(r, "negotiations",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "started", (json_int_t)ns->neg_started, "secured",
			  (json_int_t)ns->neg_outcome[SS_IKE_SECURED], "peer_silent",
			  (json_int_t)ns->neg_outcome[SS_IKE_PEER_SILENT], "peer_unreachable",
			  (json_int_t)ns->neg_outcome[SS_IKE_PEER_UNREACHABLE], "peer_refused",
			  (json_int_t)ns->neg_outcome[SS_IKE_PEER_REFUSED], "responder_gave_up",
			  (json_int_t)ns->responder_timeouts));
	uint32_t soft_now = 0;
	json_t *peers = dm_peers_json(d, ss_now_ms(), true);
	soft_now = (uint32_t)json_array_size(json_object_get(peers, "soft"));
	json_decref(peers);
	json_object_set_new(r, "soft",
		json_pack("{s:I, s:I, s:I, s:i}", "created", (json_int_t)ns->soft_created, "expired",
			  (json_int_t)ns->soft_expired, "upgraded", (json_int_t)ns->soft_upgraded, "now",
			  (int)soft_now));
	json_object_set_new(r, "packets",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "captured",
			  (json_int_t)dp.captured, "held", (json_int_t)s.held, "held_now", (json_int_t)s.held_now,
			  "held_bytes_now", (json_int_t)s.held_bytes_now, "held_bytes_max", (json_int_t)s.held_bytes_max,
			  "released_clear", (json_int_t)s.released_clear, "released_sa", (json_int_t)s.released_sa,
			  "held_dropped", (json_int_t)s.held_dropped, "held_overflow", (json_int_t)s.held_overflow,
			  "held_expired", (json_int_t)s.held_expired, "dropped", drops_json(d, &s)));
}

/* Which of our addresses the kernel would use toward remote. */
static bool local_for(const ss_addr *remote, ss_addr *out)
{
	struct sockaddr_storage ss;
	size_t sl = ss_addr_to_sockaddr(remote, 9, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&ss, (socklen_t)sl) == 0;
	socklen_t l = sizeof(ss);
	ok = ok && getsockname(fd, (struct sockaddr *)&ss, &l) == 0 &&
	     ss_addr_from_sockaddr((struct sockaddr *)&ss, out, NULL);
	close(fd);
	return ok;
}

/* Starts the negotiation through the agent, as the pair's first packet would, so that the
 * agent and the engine agree on its state. */
bool dm_initiate_peer(ss_daemon *d, ss_time now, const ss_addr *remote)
{
	ss_addr local;
	if (!local_for(remote, &local) || !ss_agent_initiate(d->agent, now, &local, remote))
		return false;
	dm_drain(d, now);
	return true;
}

size_t dm_flush_soft(ss_daemon *d, ss_time now)
{
	return ss_agent_flush_soft(d->agent, now);
}
