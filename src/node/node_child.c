/* CHILD SAs: the table of which SAs carry traffic between a local and a remote address
 * (with what `sas` shows), and its life: the engine's CHILD_UP becomes both directions in the
 * dataplane under one reqid (and the peer secured there), deletions and lifetimes take them
 * out again, and their counters feed the engine's liveness checks.  The records and their
 * indexes are node_table.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "base/log.h"
#include "dataplane/dataplane.h"
#include "node/internal.h"

/* ---- the table (node_table.c) ---- */

static void agent_sa_down(ss_node *n, ss_time now, const ss_addr *local, const ss_addr *remote)
{
	if (n->agent)
		ss_agent_sa_down(n->agent, now, local, remote);
}

/* ---- into the dataplane ---- */

static void fmt_ts(const ss_ike_ts_pl *ts, char *out, size_t n)
{
	out[0] = '\0';
	size_t used = 0;
	for (unsigned i = 0; i < ts->n && used < n; i++) {
		char a[SS_ADDR_STRLEN], b[SS_ADDR_STRLEN];
		ss_addr_fmt(&ts->ts[i].start, a);
		ss_addr_fmt(&ts->ts[i].end, b);
		int w = ss_addr_eq(&ts->ts[i].start, &ts->ts[i].end)
				? snprintf(out + used, n - used, "%s%s/%u", i ? "," : "", a, ss_addr_bits(&ts->ts[i].start))
				: snprintf(out + used, n - used, "%s%s-%s", i ? "," : "", a, b);
		used += w > 0 ? (size_t)w : 0;
	}
}

static void esp_suite_fmt(const ss_esp_suite *s, char *out, size_t n)
{
	const ss_encr_desc *e = ss_encr_find(s->encr, s->encr_bits);
	const ss_integ_desc *i = ss_integ_find(s->integ);
	const ss_dh_desc *g = s->dh ? ss_dh_find(s->dh) : NULL;
	snprintf(out, n, "%s%s%s%s%s", e ? e->name : "?", i ? "-" : "", i ? i->name : "", g ? "-" : "",
		 g ? g->name : "");
}

static void dp_ts(const ss_ike_ts_pl *in, ss_dp_ts *out, uint8_t *n)
{
	*n = 0;
	for (unsigned i = 0; i < in->n && *n < SS_DP_MAX_TS; i++)
		out[(*n)++] = (ss_dp_ts){ in->ts[i].start, in->ts[i].end, in->ts[i].ip_proto,
					  in->ts[i].port_start, in->ts[i].port_end };
}

static ss_dp_sa_id sa_id(const ss_node_child *c, int dir)
{
	return (ss_dp_sa_id){ .spi = dir == SS_DP_IN ? c->spi_in : c->spi_out, .dir = (uint8_t)dir,
			      .local = c->local, .remote = c->remote };
}

static int add_sa(ss_node *n, const ss_ike_child_info *ci, int dir, const ss_node_child *c,
		  uint64_t life_bytes, ss_time now)
{
	const ss_dir_keys *k = dir == SS_DP_IN ? &ci->key_in : &ci->key_out;
	ss_dp_sa p;
	memset(&p, 0, sizeof(p));
	p.id = sa_id(c, dir);
	p.reqid = c->reqid;
	p.mode = ci->mode == SS_MODE_TUNNEL ? SS_DP_TUNNEL : SS_DP_TRANSPORT;
	p.encr = ci->suite.encr;
	p.integ = ci->suite.integ;
	p.encr_key = k->encr;
	p.encr_key_len = k->encr_len;
	p.integ_key = k->integ_len ? k->integ : NULL;
	p.integ_key_len = k->integ_len;
	p.encap_local_port = c->lport;
	p.encap_remote_port = c->rport;
	dp_ts(&ci->ts_local, p.local_ts, &p.n_local_ts);
	dp_ts(&ci->ts_remote, p.remote_ts, &p.n_remote_ts);
	if (ci->lifetime_s) {
		/* Soft at 90%: time to rekey before the hard limit stops the traffic. */
		p.life.hard_seconds = ci->lifetime_s;
		p.life.soft_seconds = (uint32_t)((uint64_t)ci->lifetime_s * 9 / 10);
	}
	if (life_bytes) {
		p.life.hard_bytes = life_bytes;
		p.life.soft_bytes = life_bytes / 10 * 9;
	}
	int r = ss_dp_sa_add(n->dp, &p, now);
	if (r < 0)
		SS_ERR(SUB, "dataplane: cannot install ESP SA %08x (%s): %s", p.id.spi,
		       dir == SS_DP_IN ? "in" : "out", strerror(-r));
	return r;
}

static void del_sas(ss_node *n, const ss_node_child *c)
{
	ss_dp_sa_id in = sa_id(c, SS_DP_IN), out = sa_id(c, SS_DP_OUT);
	ss_dp_sa_del(n->dp, &in);  /* -ENOENT after a hard expiry: the backend removed it */
	ss_dp_sa_del(n->dp, &out);
}

static void child_gone(ss_node *n, ss_node_child *c, const char *reason, ss_time now);

void node_child_up(ss_node *n, uint32_t ike_sa, const ss_ike_child_info *ci, ss_time now)
{
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	ss_node_ikesa *s = node_ikesa_add(n, ike_sa, &ci->local.addr, &ci->remote.addr, now, NULL);
	ss_node_child *c = s ? node_child_add(n, ike_sa, ci->spi_in, &ci->local.addr, &ci->remote.addr) : NULL;
	if (!c) {
		SS_ERR(SUB, "no memory for the CHILD SA: deleting the IKE SA with %s", ss_addr_fmt(&ci->remote.addr, rb));
		if (ss_ike_delete(n->eng, ike_sa, now) && s)
			node_ikesa_set_deleting(n, s);
		return;
	}
	c->spi_out = ci->spi_out;
	c->lport = ci->udp_encap ? ci->local.port : 0;
	c->rport = ci->udp_encap ? ci->remote.port : 0;
	c->created = now;
	c->lifetime_s = ci->lifetime_s;
	c->tunnel = ci->mode == SS_MODE_TUNNEL;
	c->initiator = ci->initiator;
	esp_suite_fmt(&ci->suite, c->suite, sizeof(c->suite));
	fmt_ts(&ci->ts_local, c->ts_local, sizeof(c->ts_local));
	fmt_ts(&ci->ts_remote, c->ts_remote, sizeof(c->ts_remote));
	uint64_t bytes = n->p.pol.life_bytes ? n->p.pol.life_bytes(n->p.pol.ctx, &ci->local.addr, &ci->remote.addr,
								   &ci->suite) : 0;
	if (add_sa(n, ci, SS_DP_IN, c, bytes, now) < 0 || add_sa(n, ci, SS_DP_OUT, c, bytes, now) < 0) {
		del_sas(n, c);
		node_child_forget(n, c);
		if (ss_ike_delete(n->eng, ike_sa, now))
			node_ikesa_set_deleting(n, s);
		return;
	}
	node_child_set_installed(n, c);
	s->established = true;
	int r = node_set_peer(n, &ci->remote.addr, SS_DP_PEER_SECURED, SS_NEVER);
	if (r < 0)
		SS_ERR(SUB, "dataplane: cannot mark %s secured: %s", ss_addr_fmt(&ci->remote.addr, rb),
		       strerror(-r));
	char si[12], so[12];
	snprintf(si, sizeof(si), "%08x", c->spi_in);
	snprintf(so, sizeof(so), "%08x", c->spi_out);
	ss_log_kv(SS_LOG_INFO, SUB, SS_KV("PEER", ss_addr_fmt(&c->remote, rb), "SPI", si, "SPI_OUT", so, "OUTCOME", "secured"),
		  "SA up %s <-> %s: ESP %s %s%s, SPIs in %s out %s", ss_addr_fmt(&c->local, lb), rb, c->suite,
		  c->tunnel ? "tunnel" : "transport", c->rport ? " in UDP" : "", si, so);
	node_event(n, &(ss_node_event){ .kind = SS_NE_SA_UP, .local = c->local, .remote = c->remote, .spi_in = c->spi_in,
					.spi_out = c->spi_out, .suite = c->suite, .tunnel = c->tunnel });
}

/* A CHILD SA went: remove its SAs from the dataplane; when no SA is left with the peer, it
 * is no longer secured (the dataplane forgets it, the agent returns the pair to idle). */
static void child_gone(ss_node *n, ss_node_child *c, const char *reason, ss_time now)
{
	ss_addr local = c->local, remote = c->remote;
	uint32_t spi_in = c->spi_in, spi_out = c->spi_out;
	char si[12], so[12];
	snprintf(si, sizeof(si), "%08x", c->spi_in);
	snprintf(so, sizeof(so), "%08x", c->spi_out);
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	ss_log_kv(SS_LOG_INFO, SUB, SS_KV("PEER", ss_addr_fmt(&remote, rb), "SPI", si, "SPI_OUT", so),
		  "SA down %s <-> %s: SPIs in %s out %s (%s)", ss_addr_fmt(&local, lb), rb, si, so, reason);
	del_sas(n, c);
	node_child_forget(n, c);
	node_event(n, &(ss_node_event){ .kind = SS_NE_SA_DOWN, .local = local, .remote = remote, .spi_in = spi_in,
					.spi_out = spi_out, .reason = reason });
	node_pair *p = node_pair_find(n, &local, &remote);
	if (!p || !p->n_installed) {
		node_set_peer(n, &remote, SS_DP_PEER_NONE, SS_NEVER);
		agent_sa_down(n, now, &local, &remote);
	}
}

void node_child_deleted(ss_node *n, uint32_t spi_in, uint32_t spi_out, ss_time now)
{
	ss_node_child *c = node_child_by_spi(n, spi_in, spi_out);
	if (c)
		child_gone(n, c, "deleted by IKE", now);
}

void node_children_of_ike_gone(ss_node *n, uint32_t h, const char *reason, ss_time now)
{
	/* child_gone frees the record: take the next one first. */
	for (ss_node_child *c = (ss_node_child *)ss_node_child_first(n, h), *next; c; c = next) {
		next = (ss_node_child *)ss_node_child_next(c);
		child_gone(n, c, reason, now);
	}
}

/* Soft (90% of the seconds or bytes, or sequence numbers running out): ask the engine to
 * rekey the CHILD SA, whose replacement arrives as a CHILD_UP; should the rekey not happen,
 * hard deletes the IKE SA and the next packet negotiates afresh. */
void node_child_expired(ss_node *n, uint32_t reqid, uint32_t spi, bool hard, uint8_t why, ss_time now)
{
	ss_node_child *c = node_child_by_reqid(n, reqid);
	if (!c)
		return;
	static const char *names[] = { "?", "time", "bytes", "packets", "sequence numbers" };
	const char *w = names[why < 5 ? why : 0];
	char rb[SS_ADDR_STRLEN];
	if (!hard) {
		n->st.rekeys_wanted++;
		bool started = ss_ike_rekey_child(n->eng, c->ike_sa, c->spi_in, now);
		SS_INFO(SUB, "ESP SA %08x with %s: soft lifetime (%s) reached; %s", spi,
			ss_addr_fmt(&c->remote, rb), w,
			started ? "rekeying" : "no rekey possible now, renegotiating at the hard limit");
		return;
	}
	uint32_t h = c->ike_sa;
	child_gone(n, c, why == SS_DP_WHY_SEQ ? "sequence numbers exhausted" : "hard lifetime", now);
	ss_node_ikesa *s = node_ikesa_find(n, h);
	if (ss_ike_delete(n->eng, h, now) && s)
		node_ikesa_set_deleting(n, s);
}

/* Liveness: the packets one CHILD SA carried since the last report go to the engine, from
 * the dataplane's counters, when it moved. */
static void child_traffic(ss_node *n, ss_node_child *c, ss_time now)
{
	ss_dp_sa_counters in = { 0 }, out = { 0 };
	ss_dp_sa_id iid = sa_id(c, SS_DP_IN), oid = sa_id(c, SS_DP_OUT);
	if (!c->installed || ss_dp_sa_query(n->dp, &iid, &in) < 0 || ss_dp_sa_query(n->dp, &oid, &out) < 0)
		return;
	if (in.packets == c->seen_in && out.packets == c->seen_out)
		return;
	ss_ike_traffic(n->eng, c->ike_sa, out.packets - c->seen_out, in.packets - c->seen_in, now);
	c->seen_in = in.packets;
	c->seen_out = out.packets;
}

/* Each CHILD SA is read once per traffic_every_ms, in TRAFFIC_SLICES rounds of a slice each
 * (so that no timer reads them all at once); with traffic_every_ms 0 (the simulator), all of
 * them on every call. */
#define TRAFFIC_SLICES 10

ss_time node_traffic_step_ms(const ss_node *n)
{
	ss_time step = n->p.traffic_every_ms / TRAFFIC_SLICES;
	return step ? step : 1;
}

void node_children_traffic(ss_node *n, ss_time now)
{
	size_t total = n->child_v.n;
	size_t k = n->p.traffic_every_ms ? (total + TRAFFIC_SLICES - 1) / TRAFFIC_SLICES : total;
	if (!n->p.traffic_every_ms)
		n->traffic_cursor = 0;
	/* ss_ike_traffic only queues: no CHILD SA comes or goes during the walk. */
	for (size_t i = 0; i < k && n->child_v.n; i++) {
		if (n->traffic_cursor >= n->child_v.n)
			n->traffic_cursor = 0;
		child_traffic(n, &((node_child *)n->child_v.v[n->traffic_cursor++])->pub, now);
	}
}
