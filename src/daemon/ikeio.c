/* The IKE side of softsad: datagrams and ICMP errors from the IKE sockets go into the
 * sans-I/O engine; its actions come out here: datagrams to send, CHILD SAs to install into
 * the ESP SAD (and the peer marked secured in the dataplane), SAs deleted, and outcomes,
 * which go to the agent.  ESP lifetime events come back here too (soft: rekey, hard:
 * delete). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/log.h"
#include "base/secure.h"
#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "esp/esp.h"
#include "ike/ike.h"
#include "ike/wire.h"

static uint8_t rxbufs[32][65536];

/* ---- parameters -> engine configuration ---- */

static ss_ike_id to_ike_id(const ss_neg_id *n, const ss_addr *self)
{
	if (n->type == 0)
		return ss_ike_id_addr(self);
	ss_ike_id id;
	memset(&id, 0, sizeof(id));
	id.type = n->type;
	id.len = n->len;
	memcpy(id.data, n->data, n->len);
	return id;
}

static void to_config(const ss_neg_params *np, const ss_addr *local, const ss_addr *remote,
		      ss_ike_config *c)
{
	ss_ike_config_init(c);
	c->local_id = to_ike_id(&np->local_id, local);
	if (np->any_remote_id)
		memset(&c->remote_id, 0, sizeof(c->remote_id));
	else
		c->remote_id = to_ike_id(&np->remote_id, remote);
	memcpy(c->psk, np->psk, np->psk_len);
	c->psk_len = np->psk_len;
	for (size_t i = 0; i < np->n_ike && i < SS_IKE_MAX_SUITES; i++) {
		c->ike[i] = (ss_ike_suite){ np->ike[i].encr, np->ike[i].bits, np->ike[i].integ,
					    np->ike[i].prf, np->ike[i].dh };
		c->n_ike++;
	}
	for (size_t i = 0; i < np->n_esp && i < SS_IKE_MAX_SUITES; i++) {
		c->esp[i] = (ss_esp_suite){ np->esp[i].encr, np->esp[i].bits, np->esp[i].integ, np->esp[i].dh };
		c->n_esp++;
	}
	c->mode = np->tunnel ? SS_MODE_TUNNEL : SS_MODE_TRANSPORT;
	c->ike_lifetime_s = np->ike_lifetime_s;
	c->child_lifetime_s = np->child_lifetime_s;
	c->retx = np->retx;
	c->dpd_delay_s = np->dpd_delay_s;
}

static dm_ikesa *ikesa_find(ss_daemon *d, uint32_t h)
{
	for (size_t i = 0; i < DM_MAX_IKESAS; i++)
		if (d->ikesas[i].used && d->ikesas[i].h == h)
			return &d->ikesas[i];
	return NULL;
}

static dm_ikesa *ikesa_add(ss_daemon *d, uint32_t h, const ss_addr *local, const ss_addr *remote,
			   ss_time now, const char *rule)
{
	dm_ikesa *s = ikesa_find(d, h);
	for (size_t i = 0; !s && i < DM_MAX_IKESAS; i++)
		if (!d->ikesas[i].used)
			s = &d->ikesas[i];
	if (!s)
		return NULL;
	if (!s->used || s->h != h) {
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->h = h;
		s->local = *local;
		s->remote = *remote;
		s->created = now;
		snprintf(s->rule, sizeof(s->rule), "%s", rule ? rule : "");
	}
	return s;
}

/* The configuration the responder's lookup hands the engine (which copies it).  It holds a
 * PSK, so it is wiped as soon as the engine call that asked for it returns. */
static ss_ike_config lookup_cfg;

/* The engine's responder asks which configuration applies to a peer. */
static const ss_ike_config *lookup(void *ctx, const ss_ike_endpoint *local,
				   const ss_ike_endpoint *remote, const ss_ike_id *idi)
{
	ss_daemon *d = ctx;
	ss_neg_params np;
	ss_neg_id nid, *pid = NULL;
	if (idi) {
		memset(&nid, 0, sizeof(nid));
		nid.type = idi->type;
		nid.len = idi->len;
		memcpy(nid.data, idi->data, idi->len);
		pid = &nid;
	}
	ss_wipe(&lookup_cfg, sizeof(lookup_cfg));
	bool ok = dm_neg_params_responder(d, ss_now_ms(), &local->addr, &remote->addr, pid, &np);
	if (ok)
		to_config(&np, &local->addr, &remote->addr, &lookup_cfg);
	ss_wipe(&np, sizeof(np));
	char rb[SS_ADDR_STRLEN];
	if (!ok)
		SS_INFO(SUB, "IKE from %s refused: no rule asks for security with it", ss_addr_fmt(&remote->addr, rb));
	return ok ? &lookup_cfg : NULL;
}

bool dm_ike_start(ss_daemon *d, char *err, size_t errlen)
{
	ss_ike_engine_params p;
	ss_ike_engine_params_default(&p);
	p.lookup = lookup;
	p.lookup_ctx = d;
	if (d->o.max_half_open) {
		p.cookie_threshold = d->o.cookie_threshold;
		p.max_half_open = d->o.max_half_open;
		p.max_half_open_per_peer = d->o.max_half_open_per_peer;
	}
	d->eng = ss_ike_engine_new(&p);
	d->sad = ss_esp_sad_new();
	if (!d->eng || !d->sad) {
		snprintf(err, errlen, "out of memory creating the IKE engine");
		return false;
	}
	return true;
}

void dm_ike_stop(ss_daemon *d)
{
	ss_ike_engine_free(d->eng);
	d->eng = NULL;
	ss_esp_sad_free(d->sad);
	d->sad = NULL;
}

bool dm_neg_start(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote,
		  const ss_neg_params *np)
{
	static ss_ike_config cfg;
	to_config(np, local, remote, &cfg);
	ss_ike_endpoint l = { *local, d->ike.port }, r = { *remote, d->ike.port };
	uint32_t h = ss_ike_initiate(d->eng, &l, &r, &cfg, now);
	ss_wipe(&cfg, sizeof(cfg));
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	if (!h) {
		SS_ERR(SUB, "negotiation %s -> %s could not start (rule %s)", ss_addr_fmt(local, lb),
		       ss_addr_fmt(remote, rb), np->rule);
		return false;
	}
	dm_ikesa *s = ikesa_add(d, h, local, remote, now, np->rule);
	if (s)
		s->lifetime_s = np->ike_lifetime_s;
	return true;
}

size_t dm_neg_stop(ss_daemon *d, ss_time now, const ss_addr *remote)
{
	size_t n = 0;
	for (size_t i = 0; i < DM_MAX_IKESAS; i++) {
		dm_ikesa *s = &d->ikesas[i];
		if (s->used && ss_addr_eq(&s->remote, remote) && ss_ike_delete(d->eng, s->h, now)) {
			s->deleting = true;
			n++;
		}
	}
	return n;
}

json_t *dm_terminate_json(ss_daemon *d, ss_time now, const ss_addr *remote, size_t n)
{
	json_t *waiting = json_array();
	int connecting = 0;
	for (size_t i = 0; i < DM_MAX_IKESAS; i++) {
		const dm_ikesa *s = &d->ikesas[i];
		ss_ike_sa_info info;
		if (!s->used || !ss_addr_eq(&s->remote, remote) || !ss_ike_sa_get(d->eng, s->h, &info))
			continue;
		if (info.deleting) {
			ss_time left = info.delete_until > now ? info.delete_until - now : 0;
			json_array_append_new(waiting, json_pack("{s:i, s:I}", "id", (int)s->h, "wait_ms", (json_int_t)left));
		} else if (!info.established) {
			connecting++;
		}
	}
	bool children = false;
	for (size_t i = 0; i < DM_MAX_CHILDREN && !children; i++)
		children = d->children.c[i].used && ss_addr_eq(&d->children.c[i].remote, remote);
	char rb[SS_ADDR_STRLEN];
	return json_pack("{s:s, s:i, s:b, s:o, s:i, s:b}", "peer", ss_addr_fmt(remote, rb), "terminated", (int)n, "gone",
			 !json_array_size(waiting) && !connecting && !children, "waiting", waiting, "connecting",
			 connecting, "child_sas", children);
}

/* ---- datagrams in ---- */

void dm_on_ike_socket(ss_loop *l, int fd, uint32_t events, void *ctx)
{
	ss_daemon *d = ctx;
	int which = -1;
	for (int i = 0; i < SS_IKESOCK_N; i++)
		if (d->ike.fd[i] == fd)
			which = i;
	if (which < 0)
		return;
	ss_time now = ss_now_ms();
	if (events & EPOLLERR) {
		uint8_t q[2048];
		ss_icmp_report r;
		while (ss_ikesock_recv_error(&d->ike, which, q, sizeof(q), &r) == 1) {
			d->st.icmp_in++;
			char ob[SS_ADDR_STRLEN];
			SS_DEBUG(SUB, "ICMP type %u code %u from %s about our IKE datagram", r.type, r.code,
				 ss_addr_fmt(&r.offender, ob));
			ss_ike_icmp(d->eng, r.quoted, r.quoted_len, now);
		}
	}
	if (events & EPOLLIN) {
		ss_dgram dg[32];
		int n, rounds = 0;
		while (rounds++ < 8 && (n = ss_ikesock_recv(&d->ike, which, rxbufs, dg, 32)) > 0) {
			for (int i = 0; i < n; i++) {
				switch (dg[i].kind) {
				case SS_NATT_IKE: {
					ss_ike_endpoint le = { dg[i].local, dg[i].lport }, re = { dg[i].remote, dg[i].rport };
					d->st.ike_in++;
					ss_ike_input(d->eng, dg[i].data, dg[i].len, &le, &re, now);
					ss_wipe(&lookup_cfg, sizeof(lookup_cfg));
					break;
				}
				case SS_NATT_ESP:
					dm_esp_udp(d, &dg[i].local, &dg[i].remote, dg[i].lport, dg[i].rport,
						   dg[i].data, dg[i].len);
					break;
				case SS_NATT_KEEPALIVE:
					d->st.keepalives++;
					break;
				default:
					d->st.ike_malformed++;
					break;
				}
			}
			dm_tx_flush(d);
			dm_drain(d, now);
		}
	}
	dm_drain(d, now);
	dm_flood_watch(d);
}

/* ---- engine actions ---- */

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

static void ike_suite_fmt(const ss_ike_suite *s, char *out, size_t n)
{
	const ss_encr_desc *e = ss_encr_find(s->encr, s->encr_bits);
	const ss_integ_desc *i = ss_integ_find(s->integ);
	const ss_prf_desc *p = ss_prf_find(s->prf);
	const ss_dh_desc *g = ss_dh_find(s->dh);
	snprintf(out, n, "%s%s%s-%s-%s", e ? e->name : "?", i ? "-" : "", i ? i->name : "",
		 p ? p->name : "?", g ? g->name : "?");
}

static void esp_ts(const ss_ike_ts_pl *in, ss_esp_ts *out, uint8_t *n)
{
	*n = 0;
	for (unsigned i = 0; i < in->n && *n < SS_ESP_MAX_TS; i++) {
		ss_esp_ts *t = &out[(*n)++];
		t->lo = in->ts[i].start;
		t->hi = in->ts[i].end;
		t->proto = in->ts[i].ip_proto;
		t->port_lo = in->ts[i].port_start;
		t->port_hi = in->ts[i].port_end;
	}
}

static ss_esp_sa *add_sa(ss_daemon *d, const ss_ike_child_info *ci, int dir, dm_child *c,
			  uint64_t life_bytes, ss_time now)
{
	const ss_dir_keys *k = dir == SS_ESP_IN ? &ci->key_in : &ci->key_out;
	ss_esp_params p;
	memset(&p, 0, sizeof(p));
	p.spi = dir == SS_ESP_IN ? ci->spi_in : ci->spi_out;
	p.dir = (uint8_t)dir;
	p.mode = ci->mode == SS_MODE_TUNNEL ? SS_ESP_TUNNEL : SS_ESP_TRANSPORT;
	p.encr = ci->suite.encr;
	p.integ = ci->suite.integ;
	p.encr_key = k->encr;
	p.encr_key_len = k->encr_len;
	p.integ_key = k->integ_len ? k->integ : NULL;
	p.integ_key_len = k->integ_len;
	p.local = ci->local.addr;
	p.remote = ci->remote.addr;
	if (ci->udp_encap) {
		p.udp_local_port = ci->local.port;
		p.udp_remote_port = ci->remote.port;
	}
	esp_ts(&ci->ts_local, p.local_ts, &p.n_local_ts);
	esp_ts(&ci->ts_remote, p.remote_ts, &p.n_remote_ts);
	if (ci->lifetime_s) {
		/* Soft at 90%: time to rekey before the hard limit stops the traffic. */
		p.life.hard_seconds = ci->lifetime_s;
		p.life.soft_seconds = (uint64_t)ci->lifetime_s * 9 / 10;
	}
	if (life_bytes) {
		p.life.hard_bytes = life_bytes;
		p.life.soft_bytes = life_bytes / 10 * 9;
	}
	p.user = c;
	const char *why = NULL;
	ss_esp_sa *sa = ss_esp_sad_add(d->sad, &p, now, &why);
	if (!sa)
		SS_ERR(SUB, "cannot install ESP SA %08x (%s): %s", p.spi, dir == SS_ESP_IN ? "in" : "out",
		       why ? why : "?");
	return sa;
}

static void child_gone(ss_daemon *d, dm_child *c, const char *reason, ss_time now);

/* A peer negotiates with us only when it has no SA with us (its agent is idle), so an older
 * IKE SA it once started with us is one it lost, e.g. by restarting: delete it rather than
 * keep it until its lifetime (the engine does not act on INITIAL_CONTACT, RFC 7296 §2.4).
 * Only SAs the peer started: after crossing initiations each side keeps the one it made. */
static void replace_stale(ss_daemon *d, const dm_ikesa *fresh, ss_time now)
{
	for (size_t i = 0; i < DM_MAX_IKESAS; i++) {
		dm_ikesa *o = &d->ikesas[i];
		if (!o->used || o == fresh || !o->established || !o->responder || o->deleting ||
		    o->created > fresh->created ||
		    !ss_addr_eq(&o->remote, &fresh->remote) || !ss_addr_eq(&o->local, &fresh->local))
			continue;
		char rb[SS_ADDR_STRLEN];
		SS_INFO(SUB, "%s started a new IKE SA: deleting the old one it no longer has",
			ss_addr_fmt(&o->remote, rb));
		/* Its CHILD SAs go at once: the peer has no keys for them.  The IKE SA itself
		 * stays "deleting" while the engine retries a DELETE nobody will answer. */
		for (size_t k = 0; k < DM_MAX_CHILDREN; k++) {
			dm_child *c = &d->children.c[k];
			if (c->used && c->ike_sa == o->h)
				child_gone(d, c, "replaced: the peer lost it", now);
		}
		ss_ike_delete(d->eng, o->h, now);
		o->deleting = true;
	}
}

static void child_up(ss_daemon *d, const ss_ike_action *a, ss_time now)
{
	const ss_ike_child_info *ci = &a->child;
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	dm_child *c = dm_children_add(&d->children);
	if (!c) {
		SS_ERR(SUB, "CHILD SA table full: deleting the IKE SA with %s", ss_addr_fmt(&ci->remote.addr, rb));
		ss_ike_delete(d->eng, a->sa, now);
		return;
	}
	c->ike_sa = a->sa;
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
	c->in = add_sa(d, ci, SS_ESP_IN, c, bytes, now);
	c->out = add_sa(d, ci, SS_ESP_OUT, c, bytes, now);
	if (!c->in || !c->out) {
		dm_children_del(&d->children, d->sad, c);
		ss_ike_delete(d->eng, a->sa, now);
		return;
	}
	dm_ikesa *s = ikesa_add(d, a->sa, &ci->local.addr, &ci->remote.addr, now, NULL);
	if (s) {
		s->established = true;
		s->responder = !ci->initiator && !s->rule[0];
	}
	if (s && s->responder)
		replace_stale(d, s, now);
	int r = ss_dp_set_peer(d->dp, &ci->remote.addr, SS_DP_PEER_SECURED, SS_NEVER);
	if (r < 0)
		SS_ERR(SUB, "dataplane: cannot mark %s secured: %s", rb, strerror(-r));
	SS_INFO(SUB, "SA up %s <-> %s: ESP %s %s%s, SPIs in %08x out %08x", ss_addr_fmt(&c->local, lb),
		ss_addr_fmt(&c->remote, rb), c->suite, c->tunnel ? "tunnel" : "transport",
		c->rport ? " in UDP" : "", c->spi_in, c->spi_out);
	char si[12], so[12];
	snprintf(si, sizeof(si), "%08x", c->spi_in);
	snprintf(so, sizeof(so), "%08x", c->spi_out);
	dm_event(d, "sa-up", &c->local, &c->remote,
		 json_pack("{s:s, s:s, s:s, s:s}", "spi_in", si, "spi_out", so, "suite", c->suite, "mode",
			   c->tunnel ? "tunnel" : "transport"));
}

/* A CHILD SA went: remove its ESP SAs; when no SA is left with the peer, it is no longer
 * secured (the dataplane forgets it, the agent returns the pair to idle). */
static void child_gone(ss_daemon *d, dm_child *c, const char *reason, ss_time now)
{
	ss_addr local = c->local, remote = c->remote;
	char si[12], so[12];
	snprintf(si, sizeof(si), "%08x", c->spi_in);
	snprintf(so, sizeof(so), "%08x", c->spi_out);
	char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN];
	SS_INFO(SUB, "SA down %s <-> %s: SPIs in %s out %s (%s)", ss_addr_fmt(&local, lb),
		ss_addr_fmt(&remote, rb), si, so, reason);
	dm_children_del(&d->children, d->sad, c);
	dm_event(d, "sa-down", &local, &remote,
		 json_pack("{s:s, s:s, s:s}", "spi_in", si, "spi_out", so, "reason", reason));
	if (!dm_children_for_pair(&d->children, &local, &remote)) {
		ss_dp_set_peer(d->dp, &remote, SS_DP_PEER_NONE, SS_NEVER);
		dm_agent_sa_down(d, now, &local, &remote);
	}
}

static bool newer_sa_with(const ss_daemon *d, const dm_ikesa *old)
{
	for (size_t i = 0; i < DM_MAX_IKESAS; i++) {
		const dm_ikesa *o = &d->ikesas[i];
		if (o->used && o != old && o->established && !o->deleting && o->created >= old->created &&
		    ss_addr_eq(&o->remote, &old->remote) && ss_addr_eq(&o->local, &old->local))
			return true;
	}
	return false;
}

static void ike_gone(ss_daemon *d, const ss_ike_action *a, ss_time now)
{
	const char *why = a->reason ? a->reason : "IKE SA deleted";
	dm_ikesa *s = ikesa_find(d, a->sa);
	/* A dead peer is news once, with its reason; an ordinary delete shows as sa-down.  An
	 * old SA that went unanswered while the peer has a newer one (it restarted and came
	 * back before we found out) is no dead peer. */
	if (s && s->established && !strncmp(why, "peer dead", 9)) {
		char rb[SS_ADDR_STRLEN];
		if (newer_sa_with(d, s)) {
			SS_INFO(SUB, "old IKE SA with %s deleted (%s); the peer has a newer one",
				ss_addr_fmt(&s->remote, rb), why);
		} else {
			SS_WARN(SUB, "peer %s is dead (%s): its SAs are deleted; the next packet negotiates again",
				ss_addr_fmt(&s->remote, rb), why);
			dm_event(d, "peer-dead", &s->local, &s->remote,
				 json_pack("{s:s, s:s}", "reason", why, "rule", s->rule));
		}
	}
	for (size_t i = 0; i < DM_MAX_CHILDREN; i++) {
		dm_child *c = &d->children.c[i];
		if (c->used && c->ike_sa == a->sa)
			child_gone(d, c, why, now);
	}
	if (s)
		memset(s, 0, sizeof(*s));
}

/* Attempt n of a negotiation we started is the n-th IKE_SA_INIT request we sent for it
 * (RFC 7296 §3.1 header: exchange type at octet 18, flags at 19; on UDP 4500 after the
 * 4-byte non-ESP marker).  The agent shows it as negotiating(attempt n). */
static void count_attempt(ss_daemon *d, const ss_ike_action *a, ss_time now)
{
	size_t off = a->local.port == d->ike.natt_port && a->local.port != d->ike.port ? 4 : 0;
	if (a->len < off + 28)
		return;
	uint8_t exch = a->data[off + 18], flags = a->data[off + 19];
	bool request = !(flags & SS_IKE_FLAG_RESPONSE), initiator = flags & SS_IKE_FLAG_INITIATOR;
	if (exch != SS_IKE_SA_INIT || !request || !initiator)
		return;
	dm_ikesa *s = ikesa_find(d, a->sa);
	if (!s || s->established)
		return;
	s->attempts++;
	dm_agent_attempt(d, now, &s->local, &s->remote, s->attempts);
}

static void do_action(ss_daemon *d, const ss_ike_action *a, ss_time now)
{
	switch (a->kind) {
	case SS_IKE_ACT_SEND:
		count_attempt(d, a, now);
		if (ss_ikesock_send(&d->ike, &a->local.addr, a->local.port, &a->remote.addr, a->remote.port,
				    a->data, a->len)) {
			d->st.ike_out++;
		} else {
			char rb[SS_ADDR_STRLEN];
			d->st.ike_send_err++;
			SS_WARN(SUB, "IKE datagram to %s port %u not sent: %s", ss_addr_fmt(&a->remote.addr, rb),
				a->remote.port, strerror(errno));
		}
		break;
	case SS_IKE_ACT_CHILD_UP:
		child_up(d, a, now);
		break;
	case SS_IKE_ACT_CHILD_DELETED: {
		dm_child *c = dm_children_by_spi(&d->children, a->child.spi_in, a->child.spi_out);
		if (c)
			child_gone(d, c, "deleted by IKE", now);
		break;
	}
	case SS_IKE_ACT_IKE_DELETED:
		ike_gone(d, a, now);
		break;
	case SS_IKE_ACT_IKE_REKEYED:	/* same handle, new SPIs: nothing to update here */
		break;
	case SS_IKE_ACT_OUTCOME: {
		dm_ikesa *s = ikesa_find(d, a->sa);
		if (a->outcome != SS_IKE_SECURED && s && !s->established)
			memset(s, 0, sizeof(*s));
		dm_agent_outcome(d, now, &a->local.addr, &a->remote.addr, a->outcome,
				 a->reason ? a->reason : "");
		break;
	}
	}
}

size_t dm_ike_drain(ss_daemon *d, ss_time now)
{
	size_t n = 0;
	ss_ike_action a;
	while (ss_ike_next_action(d->eng, &a)) {
		do_action(d, &a, now);
		n++;
	}
	return n;
}

/* CHILD SA traffic goes to the engine once a second (its liveness checks need to know when
 * our packets went unanswered), only for CHILD SAs that moved. */
#define TRAFFIC_REPORT_MS 1000

static void report_traffic(ss_daemon *d, ss_time now)
{
	for (size_t i = 0; i < DM_MAX_CHILDREN; i++) {
		dm_child *c = &d->children.c[i];
		if (!c->used || !c->in || !c->out)
			continue;
		uint64_t in = ss_esp_sa_counters(c->in)->packets, out = ss_esp_sa_counters(c->out)->packets;
		if (in == c->seen_in && out == c->seen_out)
			continue;
		ss_ike_traffic(d->eng, c->ike_sa, out - c->seen_out, in - c->seen_in, now);
		c->seen_in = in;
		c->seen_out = out;
	}
}

ss_time dm_ike_deadline(ss_daemon *d)
{
	ss_time t = ss_time_min(ss_ike_next_deadline(d->eng), ss_esp_sad_tick(d->sad, ss_now_ms()));
	return d->children.n_used ? ss_time_min(t, d->traffic_at) : t;
}

void dm_ike_timer(ss_daemon *d, ss_time now)
{
	if (now >= d->traffic_at) {
		report_traffic(d, now);
		d->traffic_at = now + TRAFFIC_REPORT_MS;
	}
	if (ss_ike_next_deadline(d->eng) <= now) {
		ss_ike_timer(d->eng, now);
		dm_flood_watch(d);
	}
	ss_esp_sad_tick(d->sad, now);
	dm_esp_events(d, now);
}

void dm_esp_unknown(ss_daemon *d, const ss_addr *local, const ss_addr *remote, uint16_t lport,
		    uint16_t rport, uint32_t spi, ss_time now)
{
	d->st.esp_unknown_spi++;
	/* Only a peer our policy secures counts; the engine rate-limits (per peer and in all),
	 * then an idle pair negotiates.  Called from inside a decap batch: the actions of both
	 * are drained by the caller's dm_drain, never here. */
	if (!dm_agent_secures(d, local, remote))
		return;
	/* §1.5: the notify goes to the packet's source port when it came in UDP. */
	ss_ike_endpoint l = { *local, rport ? lport : d->ike.port }, r = { *remote, rport ? rport : d->ike.port };
	if (!ss_ike_esp_unknown(d->eng, &l, &r, spi, now))
		return;
	dm_agent_esp_unknown(d, now, local, remote);
	char s[12];
	snprintf(s, sizeof(s), "%08x", spi);
	dm_event(d, "unknown-spi", local, remote,
		 json_pack("{s:s, s:I}", "spi", s, "count", (json_int_t)ss_ike_esp_unknown_count(d->eng, remote)));
}

/* ESP lifetime events.  Soft (90% of the seconds or bytes, or sequence numbers running
 * out): ask the engine to rekey the CHILD SA, whose replacement arrives as a CHILD_UP; should
 * the rekey not happen, hard deletes the IKE SA and the next packet negotiates afresh. */
void dm_esp_events(ss_daemon *d, ss_time now)
{
	ss_esp_event ev[32];
	size_t n;
	while ((n = ss_esp_sad_events(d->sad, ev, 32)) > 0) {
		for (size_t i = 0; i < n; i++) {
			dm_child *c = ev[i].user;
			if (!c || !c->used)
				continue;
			static const char *why[] = { "?", "time", "bytes", "sequence numbers" };
			const char *w = why[ev[i].reason < 4 ? ev[i].reason : 0];
			char rb[SS_ADDR_STRLEN];
			if (ev[i].kind == SS_ESP_EV_SOFT) {
				d->st.rekeys_wanted++;
				bool started = ss_ike_rekey_child(d->eng, c->ike_sa, c->spi_in, now);
				SS_INFO(SUB, "ESP SA %08x with %s: soft lifetime (%s) reached; %s",
					ev[i].spi, ss_addr_fmt(&c->remote, rb), w,
					started ? "rekeying" : "no rekey possible now, renegotiating at the hard limit");
				continue;
			}
			uint32_t h = c->ike_sa;
			child_gone(d, c, ev[i].reason == SS_ESP_WHY_SEQ ? "sequence numbers exhausted" : "hard lifetime", now);
			dm_ikesa *s = ikesa_find(d, h);
			if (ss_ike_delete(d->eng, h, now) && s)
				s->deleting = true;
		}
	}
}

/* ---- introspection ---- */

static json_t *child_json(const dm_child *c, ss_time now)
{
	char si[12], so[12];
	snprintf(si, sizeof(si), "%08x", c->spi_in);
	snprintf(so, sizeof(so), "%08x", c->spi_out);
	const ss_esp_counters *in = ss_esp_sa_counters(c->in), *out = ss_esp_sa_counters(c->out);
	return json_pack("{s:s, s:s, s:s, s:s, s:[s], s:[s], s:I, s:I, s:I, s:I, s:I, s:i, s:b}",
			 "spi_in", si, "spi_out", so, "mode", c->tunnel ? "tunnel" : "transport", "suite",
			 c->suite, "ts_local", c->ts_local, "ts_remote", c->ts_remote, "packets_in",
			 (json_int_t)in->packets, "bytes_in", (json_int_t)in->bytes, "packets_out",
			 (json_int_t)out->packets, "bytes_out", (json_int_t)out->bytes, "age",
			 (json_int_t)((now - c->created) / 1000), "lifetime", (int)c->lifetime_s, "udp_encap",
			 c->rport != 0);
}

json_t *dm_sas_json(ss_daemon *d, ss_time now)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < DM_MAX_IKESAS; i++) {
		const dm_ikesa *s = &d->ikesas[i];
		ss_ike_sa_info info;
		if (!s->used || !ss_ike_sa_get(d->eng, s->h, &info))
			continue;
		char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN], spi_i[20], spi_r[20], suite[64];
		snprintf(spi_i, sizeof(spi_i), "%016" PRIx64, info.spi_i);
		snprintf(spi_r, sizeof(spi_r), "%016" PRIx64, info.spi_r);
		ike_suite_fmt(&info.suite, suite, sizeof(suite));
		json_t *ch = json_array();
		for (size_t k = 0; k < DM_MAX_CHILDREN; k++) {
			const dm_child *c = &d->children.c[k];
			if (c->used && c->ike_sa == s->h && c->in && c->out)
				json_array_append_new(ch, child_json(c, now));
		}
		json_array_append_new(arr, json_pack("{s:i, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:b, s:I, s:i, s:s, s:o}",
			"id", (int)s->h, "local", ss_addr_fmt(&s->local, lb), "remote", ss_addr_fmt(&s->remote, rb),
			"state", s->deleting ? "deleting" : info.established ? "established" : "connecting", "initiator", info.initiator,
			"spi_i", spi_i, "spi_r", spi_r, "suite", info.established ? suite : "", "natt", info.natt,
			"age", (json_int_t)((now - s->created) / 1000), "lifetime", (int)s->lifetime_s, "rule", s->rule,
			"children", ch));
	}
	return json_pack("{s:o}", "ike_sas", arr);
}

/* Failure detection (doc/softsad.md "Failure detection"). */
static json_t *liveness_json(const ss_daemon *d, const ss_ike_stats *e)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "checks_sent", (json_int_t)e->dpd_sent,
			 "peers_dead", (json_int_t)e->dpd_failed, "esp_unknown_spi", (json_int_t)d->st.esp_unknown_spi,
			 "esp_unknown_spi_secured", (json_int_t)e->esp_unknown_spi, "esp_unknown_spi_limited",
			 (json_int_t)e->esp_unknown_limited, "invalid_spi_sent", (json_int_t)e->invalid_spi_sent,
			 "invalid_spi_received", (json_int_t)e->invalid_spi_rx, "invalid_spi_ignored",
			 (json_int_t)e->invalid_spi_ignored);
}

/* The IKE_SA_INIT flood defence, with its settings (doc/softsad.md "IKE_SA_INIT floods"). */
static json_t *flood_json(const ss_daemon *d, const ss_ike_stats *e)
{
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "cookies_required",
			 e->cookies_required, "floods", (json_int_t)e->floods, "cookies_sent",
			 (json_int_t)e->cookies_sent, "cookies_verified", (json_int_t)e->cookies_verified,
			 "half_open", (json_int_t)e->half_open, "half_open_peak", (json_int_t)e->half_open_peak,
			 "half_open_refused", (json_int_t)e->half_open_refused, "half_open_refused_per_peer",
			 (json_int_t)e->half_open_refused_peer, "half_open_expired", (json_int_t)e->half_open_expired,
			 "cookie_threshold", (json_int_t)d->o.cookie_threshold, "max_half_open",
			 (json_int_t)d->o.max_half_open, "max_half_open_per_peer", (json_int_t)d->o.max_half_open_per_peer);
}

/* One event when COOKIEs start being required and one when they stop. */
void dm_flood_watch(ss_daemon *d)
{
	const ss_ike_stats *e = ss_ike_get_stats(d->eng);
	if (e->cookies_required == d->flood)
		return;
	d->flood = e->cookies_required;
	dm_event(d, "ike-flood", NULL, NULL,
		 json_pack("{s:s, s:I, s:I, s:I, s:I}", "state", d->flood ? "cookies-required" : "over", "half_open",
			   (json_int_t)e->half_open, "half_open_peak", (json_int_t)e->half_open_peak, "cookies_sent",
			   (json_int_t)e->cookies_sent, "half_open_refused", (json_int_t)e->half_open_refused));
}

json_t *dm_ike_stats_json(ss_daemon *d)
{
	const ss_ike_stats *e = ss_ike_get_stats(d->eng);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "datagrams_in", (json_int_t)d->st.ike_in,
			 "datagrams_out", (json_int_t)d->st.ike_out, "icmp_errors", (json_int_t)d->st.icmp_in,
			 "malformed", (json_int_t)(d->st.ike_malformed + e->dropped), "retransmits",
			 (json_int_t)e->retransmits, "auth_failed", (json_int_t)e->dropped_auth, "established",
			 (json_int_t)e->sa_established, "failed", (json_int_t)e->sa_failed, "sas", (json_int_t)e->sas,
			 "liveness", liveness_json(d, e), "flood", flood_json(d, e));
}
