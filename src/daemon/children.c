/* CHILD SAs: the table of which SAs carry traffic between a local and a remote address
 * (with what the `sas` command shows), and its life: the engine's CHILD_UP becomes both
 * directions in the dataplane under one reqid (and the peer secured there), deletions and
 * lifetimes take them out again.  A linear table: a host has few peers with SAs at once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "ike/ike.h"

/* ---- the table ---- */

dm_child *dm_children_add(dm_children *t)
{
	for (size_t i = 0; i < DM_MAX_CHILDREN; i++) {
		if (!t->c[i].used) {
			memset(&t->c[i], 0, sizeof(t->c[i]));
			t->c[i].used = true;
			t->c[i].reqid = ++t->next_reqid;
			t->n_used++;
			t->gen++;
			return &t->c[i];
		}
	}
	return NULL;
}

dm_child *dm_children_for_pair(dm_children *t, const ss_addr *local, const ss_addr *remote)
{
	dm_child *best = NULL;
	for (size_t i = 0, seen = 0; i < DM_MAX_CHILDREN && seen < t->n_used; i++) {
		dm_child *c = &t->c[i];
		if (!c->used)
			continue;
		seen++;
		if (!c->installed || !ss_addr_eq(&c->remote, remote) || !ss_addr_eq(&c->local, local))
			continue;
		if (!best || c->created >= best->created)
			best = c;
	}
	return best;
}

dm_child *dm_children_by_spi(dm_children *t, uint32_t spi_in, uint32_t spi_out)
{
	for (size_t i = 0; i < DM_MAX_CHILDREN; i++) {
		dm_child *c = &t->c[i];
		if (c->used && (c->spi_in == spi_in || !spi_in) && (c->spi_out == spi_out || !spi_out))
			return c;
	}
	return NULL;
}

dm_child *dm_children_by_reqid(dm_children *t, uint32_t reqid)
{
	for (size_t i = 0; i < DM_MAX_CHILDREN; i++)
		if (t->c[i].used && t->c[i].reqid == reqid)
			return &t->c[i];
	return NULL;
}

void dm_children_forget(dm_children *t, dm_child *c)
{
	if (!c->used)
		return;
	memset(c, 0, sizeof(*c));
	t->n_used--;
	t->gen++;
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

static ss_dp_sa_id sa_id(const dm_child *c, int dir)
{
	return (ss_dp_sa_id){ .spi = dir == SS_DP_IN ? c->spi_in : c->spi_out, .dir = (uint8_t)dir,
			      .local = c->local, .remote = c->remote };
}

static int add_sa(ss_daemon *d, const ss_ike_child_info *ci, int dir, const dm_child *c,
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
	int r = ss_dp_sa_add(d->dp, &p, now);
	if (r < 0)
		SS_ERR(SUB, "dataplane: cannot install ESP SA %08x (%s): %s", p.id.spi,
		       dir == SS_DP_IN ? "in" : "out", strerror(-r));
	return r;
}

static void del_sas(ss_daemon *d, const dm_child *c)
{
	ss_dp_sa_id in = sa_id(c, SS_DP_IN), out = sa_id(c, SS_DP_OUT);
	ss_dp_sa_del(d->dp, &in);  /* -ENOENT after a hard expiry: the backend removed it */
	ss_dp_sa_del(d->dp, &out);
}

static void child_gone(ss_daemon *d, dm_child *c, const char *reason, ss_time now);

void dm_child_up(ss_daemon *d, uint32_t ike_sa, const ss_ike_child_info *ci, ss_time now)
{
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	dm_child *c = dm_children_add(&d->children);
	if (!c) {
		SS_ERR(SUB, "CHILD SA table full: deleting the IKE SA with %s", ss_addr_fmt(&ci->remote.addr, rb));
		ss_ike_delete(d->eng, ike_sa, now);
		return;
	}
	c->ike_sa = ike_sa;
	c->spi_in = ci->spi_in;
	c->spi_out = ci->spi_out;
	c->local = ci->local.addr;
	c->remote = ci->remote.addr;
	c->lport = ci->udp_encap ? ci->local.port : 0;
	c->rport = ci->udp_encap ? ci->remote.port : 0;
	c->created = now;
	c->lifetime_s = ci->lifetime_s;
	c->tunnel = ci->mode == SS_MODE_TUNNEL;
	c->initiator = ci->initiator;
	esp_suite_fmt(&ci->suite, c->suite, sizeof(c->suite));
	fmt_ts(&ci->ts_local, c->ts_local, sizeof(c->ts_local));
	fmt_ts(&ci->ts_remote, c->ts_remote, sizeof(c->ts_remote));
	uint64_t bytes = dm_pair_life_bytes(d, &ci->local.addr, &ci->remote.addr, ci->suite.encr,
					    ci->suite.encr_bits, ci->suite.integ);
	if (add_sa(d, ci, SS_DP_IN, c, bytes, now) < 0 || add_sa(d, ci, SS_DP_OUT, c, bytes, now) < 0) {
		del_sas(d, c);
		dm_children_forget(&d->children, c);
		ss_ike_delete(d->eng, ike_sa, now);
		return;
	}
	c->installed = true;
	dm_ikesa *s = dm_ikesa_add(d, ike_sa, &ci->local.addr, &ci->remote.addr, now, NULL);
	if (s)
		s->established = true;
	int r = ss_dp_set_peer(d->dp, &ci->remote.addr, SS_DP_PEER_SECURED, SS_NEVER);
	if (r < 0)
		SS_ERR(SUB, "dataplane: cannot mark %s secured: %s", rb, strerror(-r));
	char si[12], so[12];
	snprintf(si, sizeof(si), "%08x", c->spi_in);
	snprintf(so, sizeof(so), "%08x", c->spi_out);
	ss_log_kv(SS_LOG_INFO, SUB, SS_KV("PEER", ss_addr_fmt(&c->remote, rb), "SPI", si, "SPI_OUT", so, "OUTCOME", "secured"),
		  "SA up %s <-> %s: ESP %s %s%s, SPIs in %s out %s", ss_addr_fmt(&c->local, lb), rb, c->suite,
		  c->tunnel ? "tunnel" : "transport", c->rport ? " in UDP" : "", si, so);
	dm_event(d, "sa-up", &c->local, &c->remote,
		 json_pack("{s:s, s:s, s:s, s:s}", "spi_in", si, "spi_out", so, "suite", c->suite, "mode",
			   c->tunnel ? "tunnel" : "transport"));
}

/* A CHILD SA went: remove its SAs from the dataplane; when no SA is left with the peer, it
 * is no longer secured (the dataplane forgets it, the agent returns the pair to idle). */
static void child_gone(ss_daemon *d, dm_child *c, const char *reason, ss_time now)
{
	ss_addr local = c->local, remote = c->remote;
	char si[12], so[12];
	snprintf(si, sizeof(si), "%08x", c->spi_in);
	snprintf(so, sizeof(so), "%08x", c->spi_out);
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	ss_log_kv(SS_LOG_INFO, SUB, SS_KV("PEER", ss_addr_fmt(&remote, rb), "SPI", si, "SPI_OUT", so),
		  "SA down %s <-> %s: SPIs in %s out %s (%s)", ss_addr_fmt(&local, lb), rb, si, so, reason);
	del_sas(d, c);
	dm_children_forget(&d->children, c);
	dm_event(d, "sa-down", &local, &remote,
		 json_pack("{s:s, s:s, s:s}", "spi_in", si, "spi_out", so, "reason", reason));
	if (!dm_children_for_pair(&d->children, &local, &remote)) {
		ss_dp_set_peer(d->dp, &remote, SS_DP_PEER_NONE, SS_NEVER);
		dm_agent_sa_down(d, now, &local, &remote);
	}
}

void dm_child_deleted(ss_daemon *d, uint32_t spi_in, uint32_t spi_out, ss_time now)
{
	dm_child *c = dm_children_by_spi(&d->children, spi_in, spi_out);
	if (c)
		child_gone(d, c, "deleted by IKE", now);
}

void dm_children_of_ike_gone(ss_daemon *d, uint32_t h, const char *reason, ss_time now)
{
	for (size_t i = 0; i < DM_MAX_CHILDREN; i++) {
		dm_child *c = &d->children.c[i];
		if (c->used && c->ike_sa == h)
			child_gone(d, c, reason, now);
	}
}

/* Soft (90% of the seconds or bytes, or sequence numbers running out): ask the engine to
 * rekey the CHILD SA, whose replacement arrives as a CHILD_UP; should the rekey not happen,
 * hard deletes the IKE SA and the next packet negotiates afresh. */
void dm_child_expired(ss_daemon *d, uint32_t reqid, uint32_t spi, bool hard, uint8_t why, ss_time now)
{
	dm_child *c = dm_children_by_reqid(&d->children, reqid);
	if (!c)
		return;
	static const char *names[] = { "?", "time", "bytes", "packets", "sequence numbers" };
	const char *w = names[why < 5 ? why : 0];
	char rb[SS_ADDR_STRLEN];
	if (!hard) {
		d->st.rekeys_wanted++;
		bool started = ss_ike_rekey_child(d->eng, c->ike_sa, c->spi_in, now);
		SS_INFO(SUB, "ESP SA %08x with %s: soft lifetime (%s) reached; %s", spi,
			ss_addr_fmt(&c->remote, rb), w,
			started ? "rekeying" : "no rekey possible now, renegotiating at the hard limit");
		return;
	}
	uint32_t h = c->ike_sa;
	child_gone(d, c, why == SS_DP_WHY_SEQ ? "sequence numbers exhausted" : "hard lifetime", now);
	dm_ikesa *s = dm_ikesa_find(d, h);
	if (ss_ike_delete(d->eng, h, now) && s)
		s->deleting = true;
}

/* Liveness: the packets each CHILD SA carried since the last report go to the engine, from
 * the dataplane's counters, for CHILD SAs that moved only. */
void dm_children_traffic(ss_daemon *d, ss_time now)
{
	for (size_t i = 0, seen = 0; i < DM_MAX_CHILDREN && seen < d->children.n_used; i++) {
		dm_child *c = &d->children.c[i];
		if (!c->used)
			continue;
		seen++;
		ss_dp_sa_counters in = { 0 }, out = { 0 };
		ss_dp_sa_id iid = sa_id(c, SS_DP_IN), oid = sa_id(c, SS_DP_OUT);
		if (!c->installed || ss_dp_sa_query(d->dp, &iid, &in) < 0 || ss_dp_sa_query(d->dp, &oid, &out) < 0)
			continue;
		if (in.packets == c->seen_in && out.packets == c->seen_out)
			continue;
		ss_ike_traffic(d->eng, c->ike_sa, out.packets - c->seen_out, in.packets - c->seen_in, now);
		c->seen_in = in.packets;
		c->seen_out = out.packets;
	}
}

/* ---- introspection ---- */

static json_t *child_json(ss_daemon *d, const dm_child *c, ss_time now)
{
	char si[12], so[12];
	snprintf(si, sizeof(si), "%08x", c->spi_in);
	snprintf(so, sizeof(so), "%08x", c->spi_out);
	ss_dp_sa_counters in = { 0 }, out = { 0 };
	ss_dp_sa_id iid = sa_id(c, SS_DP_IN), oid = sa_id(c, SS_DP_OUT);
	ss_dp_sa_query(d->dp, &iid, &in);
	ss_dp_sa_query(d->dp, &oid, &out);
	return json_pack("{s:s, s:s, s:s, s:s, s:[s], s:[s], s:I, s:I, s:I, s:I, s:I, s:i, s:b}",
			 "spi_in", si, "spi_out", so, "mode", c->tunnel ? "tunnel" : "transport", "suite",
			 c->suite, "ts_local", c->ts_local, "ts_remote", c->ts_remote, "packets_in",
			 (json_int_t)in.packets, "bytes_in", (json_int_t)in.bytes, "packets_out",
			 (json_int_t)out.packets, "bytes_out", (json_int_t)out.bytes, "age",
			 (json_int_t)((now - c->created) / 1000), "lifetime", (int)c->lifetime_s, "udp_encap",
			 c->rport != 0);
}

json_t *dm_children_json(ss_daemon *d, uint32_t ike_sa, ss_time now)
{
	json_t *ch = json_array();
	for (size_t k = 0; k < DM_MAX_CHILDREN; k++) {
		const dm_child *c = &d->children.c[k];
		if (c->used && c->ike_sa == ike_sa && c->installed)
			json_array_append_new(ch, child_json(d, c, now));
	}
	return ch;
}
