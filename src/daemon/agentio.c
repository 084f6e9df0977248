/* The policy agent's side of softsad: its actions become packet moves (hold, encrypt,
 * release), dataplane peer states (soft with its timeout, blocked, none) and negotiations;
 * its state changes become log lines and events.  Outcomes from the IKE side reach the
 * agent through here. */
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
#include "policy/policy.h"

/* A verdict on a packet the dataplane acquired.  Handle 0 (an inbound notice: the packet is
 * gone already) has nothing behind it. */
static void verdict(ss_daemon *d, uint64_t h, enum ss_dp_pkt_verdict v, ss_time now)
{
	if (h == 0)
		return;
	int r = ss_dp_verdict(d->dp, h, v, now);
	if (r < 0 && r != -ENOENT)
		SS_WARN(SUB, "dataplane: verdict on packet %llu failed: %s", (unsigned long long)h, strerror(-r));
}

static void set_peer(ss_daemon *d, const ss_addr *remote, enum ss_dp_peer_state st, ss_time timeout)
{
	int r = ss_dp_set_peer(d->dp, remote, st, timeout);
	if (r < 0) {
		char rb[SS_ADDR_STRLEN];
		SS_ERR(SUB, "dataplane: cannot put %s in state %s (error %d)", ss_addr_fmt(remote, rb),
		       ss_dp_peer_state_name(st), r);
	}
}

static void start_negotiation(ss_daemon *d, const ss_agent_action *a, ss_time now)
{
	ss_neg_params np;
	dm_neg_params_rule(d, a->rule, &a->local, &a->remote, &np);
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	ss_log_kv(SS_LOG_INFO, SUB, SS_KV("PEER", ss_addr_fmt(&a->remote, rb), "RULE", np.rule),
		  "negotiation started %s -> %s (rule %s, %u attempts)", ss_addr_fmt(&a->local, lb), rb, np.rule,
		  np.retx.attempts);
	dm_peer_note *n = dm_note(d, &a->local, &a->remote, true);
	if (n)
		snprintf(n->rule, sizeof(n->rule), "%s", np.rule);
	d->st.neg_started++;
	dm_event(d, "negotiation-started", &a->local, &a->remote, json_pack("{s:s}", "rule", np.rule));
	dm_neg_start(d, now, &a->local, &a->remote, &np);
	ss_wipe(&np, sizeof(np)); /* holds the PSK */
}

static void soft_create(ss_daemon *d, const ss_agent_action *a, ss_time now, bool refresh)
{
	ss_time left = a->until > now ? a->until - now : 1;
	set_peer(d, &a->remote, SS_DP_PEER_SOFT, left);
	dm_peer_note *n = dm_note(d, &a->local, &a->remote, true);
	if (n) {
		if (!refresh) {
			n->soft_since = now;
			n->soft_idle_s = (uint32_t)(left / 1000);
		}
		n->soft_until = a->until;
	}
	if (refresh)
		return;
	d->st.soft_created++;
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	const char *why = n && n->last_outcome >= 0 ? ss_ike_outcome_name(n->last_outcome) : "no IKE";
	ss_log_kv(SS_LOG_NOTICE, SUB, SS_KV("PEER", ss_addr_fmt(&a->remote, rb), "RULE", n ? n->rule : "", "OUTCOME", why),
		  "soft association created %s <-> %s (%s): clear traffic allowed, idle expiry %llu s",
		  ss_addr_fmt(&a->local, lb), rb, why, (unsigned long long)(left / 1000));
	dm_event(d, "soft-created", &a->local, &a->remote,
		 json_pack("{s:s, s:I}", "rule", n ? n->rule : "", "expires_in", (json_int_t)(left / 1000)));
}

static void act(ss_daemon *d, const ss_agent_action *a, ss_time now)
{
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	switch (a->kind) {
	case SS_AA_PASS_CLEAR:
	case SS_AA_RELEASE_CLEAR:
		/* Inbound clear packets were accepted or dropped by the dataplane already. */
		verdict(d, a->handle, a->dir == SS_DIR_OUT ? SS_DP_PKT_CLEAR : SS_DP_PKT_DROP, now);
		break;
	case SS_AA_ENCRYPT:
	case SS_AA_RELEASE_SA:
		verdict(d, a->handle, SS_DP_PKT_ESP, now);
		break;
	case SS_AA_DROP:
		verdict(d, a->handle, SS_DP_PKT_DROP, now);
		break;
	case SS_AA_HOLD:
		verdict(d, a->handle, SS_DP_PKT_HOLD, now);
		break;
	case SS_AA_START_NEGOTIATION:
		start_negotiation(d, a, now);
		break;
	case SS_AA_STOP_NEGOTIATION:
		dm_neg_stop(d, now, &a->remote);
		break;
	case SS_AA_SOFT_CREATE:
		soft_create(d, a, now, false);
		break;
	case SS_AA_SOFT_REFRESH:
		soft_create(d, a, now, true);
		break;
	case SS_AA_SOFT_EXPIRE:
		set_peer(d, &a->remote, SS_DP_PEER_NONE, SS_NEVER);
		break;
	case SS_AA_BLOCK:
		set_peer(d, &a->remote, SS_DP_PEER_BLOCKED, SS_NEVER);
		ss_log_kv(SS_LOG_NOTICE, SUB, SS_KV("PEER", ss_addr_fmt(&a->remote, rb), "OUTCOME", "blocked"),
			"peer blocked %s <-> %s for %llu s: negotiation failed and the rule allows no clear traffic",
			ss_addr_fmt(&a->local, lb), rb,
			(unsigned long long)(a->until > now ? (a->until - now) / 1000 : 0));
		dm_event(d, "peer-blocked", &a->local, &a->remote,
			 json_pack("{s:I}", "until", (json_int_t)(a->until > now ? (a->until - now) / 1000 : 0)));
		break;
	case SS_AA_UNBLOCK:
		set_peer(d, &a->remote, SS_DP_PEER_NONE, SS_NEVER);
		SS_INFO(SUB, "peer unblocked %s <-> %s", ss_addr_fmt(&a->local, lb), ss_addr_fmt(&a->remote, rb));
		break;
	}
}

size_t dm_agent_drain(ss_daemon *d, ss_time now)
{
	size_t n = 0;
	ss_agent_action a;
	while (ss_agent_pop(d->agent, &a)) {
		act(d, &a, now);
		n++;
	}
	return n;
}

/* State changes the actions do not show: the end of a soft association. */
static void observe(void *ctx, ss_time now, const ss_addr *local, const ss_addr *remote,
		    enum ss_assoc_state from, enum ss_assoc_state to, uint32_t attempt, const char *reason)
{
	ss_daemon *d = ctx;
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	SS_DEBUG(SUB, "%s <-> %s: %s -> %s (%s)", ss_addr_fmt(local, lb), ss_addr_fmt(remote, rb),
		 ss_assoc_state_name(from), ss_assoc_state_name(to), reason);
	if (from != SS_AS_SOFT || to == SS_AS_SOFT)
		return;
	dm_peer_note *n = dm_note(d, local, remote, false);
	if (n)
		n->soft_until = 0;
	if (to == SS_AS_IDLE) {
		d->st.soft_expired++;
		SS_INFO(SUB, "soft association expired %s <-> %s (%s)", lb, rb, reason);
		dm_event(d, "soft-expired", local, remote, NULL);
	} else {
		d->st.soft_upgraded++;
		SS_INFO(SUB, "soft association upgraded %s <-> %s: the peer speaks IKE (%s), clear traffic with it ends now",
			lb, rb, reason);
		dm_event(d, "soft-upgraded", local, remote, NULL);
	}
}

void dm_agent_attach(ss_daemon *d)
{
	ss_agent_set_observer(d->agent, observe, d);
}

void dm_agent_outcome(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote,
		      enum ss_ike_outcome o, const char *reason)
{
	dm_peer_note *n = dm_note(d, local, remote, true);
	if (n) {
		n->last_outcome = (int)o;
		snprintf(n->reason, sizeof(n->reason), "%s", reason);
	}
	if ((unsigned)o < 4)
		d->st.neg_outcome[o]++;
	dm_event(d, "negotiation-ended", local, remote,
		 json_pack("{s:s, s:s}", "outcome", ss_ike_outcome_name(o), "reason", reason));
	ss_agent_outcome(d->agent, now, local, remote, o);
	/* Remember peers that completed IKE (downgrade protection) on disk, soon. */
	if (o == SS_IKE_SECURED && d->state_path[0] && d->state_due == SS_NEVER)
		d->state_due = now + 2000;
}

bool dm_agent_answered(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote)
{
	dm_event(d, "late-ike-answer", local, remote, NULL);
	return ss_agent_peer_answered(d->agent, now, local, remote);
}

void dm_agent_sa_down(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote)
{
	ss_agent_sa_down(d->agent, now, local, remote);
}

void dm_agent_attempt(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote, uint32_t n)
{
	ss_agent_attempt(d->agent, now, local, remote, n);
}

bool dm_agent_secures(ss_daemon *d, const ss_addr *local, const ss_addr *remote)
{
	return ss_agent_secures(d->agent, local, remote);
}

void dm_agent_esp_unknown(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote)
{
	ss_agent_esp_unknown(d->agent, now, local, remote);
}

ss_time dm_agent_deadline(ss_daemon *d)
{
	ss_time t = ss_agent_deadline(d->agent);
	return ss_time_min(t, d->state_due);
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

/* A soft peer's packets never reach us: its idle time and counters come from the datapath,
 * which refreshes the element's timeout on every packet both ways.  Read before the agent
 * expires anything (and for `softsa soft`), at most every SOFT_SYNC_MIN_MS. */
static void soft_sync(ss_daemon *d, ss_time now)
{
	if (!d->dp || (d->soft_synced && now - d->soft_synced < SOFT_SYNC_MIN_MS))
		return;
	d->soft_synced = now;
	soft_pairs sp = { .cap = SOFT_SYNC_MAX };
	sp.v = malloc(sp.cap * sizeof(*sp.v));
	ss_dp_soft_info *dp = malloc(SOFT_SYNC_MAX * sizeof(*dp));
	int n = sp.v && dp ? ss_dp_list_soft(d->dp, dp, SOFT_SYNC_MAX) : -1;
	if (n > 0) {
		ss_agent_each(d->agent, collect_soft, &sp);
		qsort(dp, (size_t)n, sizeof(*dp), soft_cmp);
		for (size_t i = 0; i < sp.n; i++) {
			ss_dp_soft_info key = { .peer = sp.v[i].remote };
			const ss_dp_soft_info *e = bsearch(&key, dp, (size_t)n, sizeof(*dp), soft_cmp);
			if (!e || e->expires_in == SS_NEVER)
				continue;
			/* nftables reports whole seconds left (rounded down): count the best case, so
			 * that a live flow is never expired early; the kernel's own timeout is exact. */
			ss_time left = e->expires_in + 999;
			ss_time idle = left < sp.v[i].life ? sp.v[i].life - left : 0;
			ss_agent_soft_seen(d->agent, now, &sp.v[i].local, &sp.v[i].remote, idle, e->packets, e->bytes);
		}
	}
	free(sp.v);
	free(dp);
}

void dm_agent_timer(ss_daemon *d, ss_time now)
{
	if (ss_agent_deadline(d->agent) <= now) {
		soft_sync(d, now);
		ss_agent_timer(d->agent, now);
	}
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
	dm_peer_note *n = dm_note(pc->d, local, remote, false);
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
		soft_sync(d, now);
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
	json_object_set_new(r, "negotiations",
		json_pack("{s:I, s:I, s:I, s:I, s:I}", "started", (json_int_t)d->st.neg_started, "secured",
			  (json_int_t)d->st.neg_outcome[SS_IKE_SECURED], "peer_silent",
			  (json_int_t)d->st.neg_outcome[SS_IKE_PEER_SILENT], "peer_unreachable",
			  (json_int_t)d->st.neg_outcome[SS_IKE_PEER_UNREACHABLE], "peer_refused",
			  (json_int_t)d->st.neg_outcome[SS_IKE_PEER_REFUSED]));
	uint32_t soft_now = 0;
	json_t *peers = dm_peers_json(d, ss_now_ms(), true);
	soft_now = (uint32_t)json_array_size(json_object_get(peers, "soft"));
	json_decref(peers);
	json_object_set_new(r, "soft",
		json_pack("{s:I, s:I, s:I, s:i}", "created", (json_int_t)d->st.soft_created, "expired",
			  (json_int_t)d->st.soft_expired, "upgraded", (json_int_t)d->st.soft_upgraded, "now",
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
