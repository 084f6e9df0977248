/* The IKE side of softsad: datagrams and ICMP errors from the IKE sockets go into the node
 * (node/node.h, which feeds its engine), and its datagrams leave here; ESP that arrives on
 * the NAT-T sockets goes to the dataplane.  The policy reaches the node through here:
 * negotiation parameters (ss_neg_params) become engine configurations.  And `sas`,
 * `terminate`'s answer, the IKE counters. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "base/log.h"
#include "base/secure.h"
#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "ike/ike.h"
#include "ike/wire.h"
#include "node/node.h"

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

/* One side of a tunnel's selectors as an address range (RFC 7296 §3.13.1), all ports;
 * the same network twice (several filters from it) is listed once. */
static void ts_add(ss_ike_ts_pl *pl, const ss_prefix *p, uint8_t proto)
{
	ss_ike_ts t = { .type = p->addr.family == SS_AF_INET ? SS_TS_IPV4_ADDR_RANGE : SS_TS_IPV6_ADDR_RANGE,
			.ip_proto = proto, .port_start = 0, .port_end = 65535, .start = p->addr, .end = p->addr };
	for (unsigned i = p->len; i < ss_addr_bits(&p->addr); i++)
		t.end.a[i >> 3] |= (uint8_t)(0x80 >> (i & 7));
	for (unsigned i = 0; i < pl->n; i++)
		if (memcmp(&pl->ts[i], &t, sizeof(t)) == 0)
			return;
	if (pl->n < SS_IKE_MAX_TS)
		pl->ts[pl->n++] = t;
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
	for (size_t i = 0; i < np->n_auth && i < SS_IKE_MAX_AUTH; i++)
		c->auth[c->n_auth++] = np->auth[i] == SS_NEG_AUTH_CERT ? SS_IKE_AUTH_CERT : SS_IKE_AUTH_PSK;
	c->cred = np->cred;
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
	for (size_t i = 0; np->tunnel && i < np->n_ts; i++) {
		ts_add(&c->ts_local, &np->ts[i].local, np->ts[i].proto);
		ts_add(&c->ts_remote, &np->ts[i].remote, np->ts[i].proto);
	}
	c->ike_lifetime_s = np->ike_lifetime_s;
	c->child_lifetime_s = np->child_lifetime_s;
	c->retx = np->retx;
	c->dpd_delay_s = np->dpd_delay_s;
	c->udp_encap_always = np->udp_encap_always;
}

/* ---- the policy port ---- */

static bool pol_initiator(void *ctx, const struct ss_rule *rule, const ss_addr *local, const ss_addr *remote,
			  ss_ike_config *out, char rule_name[64])
{
	ss_daemon *d = ctx;
	ss_neg_params np;
	dm_neg_params_rule(d, rule, local, remote, &np);
	to_config(&np, local, remote, out);
	snprintf(rule_name, 64, "%s", np.rule);
	ss_wipe(&np, sizeof(np)); /* holds the PSK */
	return true;
}

static bool pol_responder(void *ctx, ss_time now, const ss_addr *local, const ss_addr *remote, const ss_ike_id *idi,
			  ss_ike_config *out)
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
	bool ok = dm_neg_params_responder(d, now, local, remote, pid, &np);
	if (ok)
		to_config(&np, local, remote, out);
	ss_wipe(&np, sizeof(np));
	return ok;
}

static uint64_t pol_life_bytes(void *ctx, const ss_addr *local, const ss_addr *remote, const ss_esp_suite *s)
{
	return dm_pair_life_bytes(ctx, local, remote, s->encr, s->encr_bits, s->integ);
}

static void io_send(void *ctx, const ss_ike_endpoint *local, const ss_ike_endpoint *remote, const uint8_t *p,
		    size_t len)
{
	ss_daemon *d = ctx;
	if (ss_ikesock_send(&d->ike, &local->addr, local->port, &remote->addr, remote->port, p, len)) {
		d->st.ike_out++;
	} else {
		char rb[SS_ADDR_STRLEN];
		d->st.ike_send_err++;
		SS_WARN(SUB, "IKE datagram to %s port %u not sent: %s", ss_addr_fmt(&remote->addr, rb), remote->port,
			strerror(errno));
	}
}

bool dm_ike_start(ss_daemon *d, char *err, size_t errlen)
{
	ss_node_params p;
	ss_node_params_default(&p);
	p.pol = (ss_node_policy){ d, pol_initiator, pol_responder, pol_life_bytes };
	p.io = (ss_node_io){ d, io_send, dm_node_event };
	p.dp = d->dp;
	p.ike_port = d->ike.port;
	p.natt_port = d->ike.natt_port;
	p.log_sub = SUB;
	if (d->o.max_half_open) {
		p.engine.cookie_threshold = d->o.cookie_threshold;
		p.engine.max_half_open = d->o.max_half_open;
		p.engine.max_half_open_per_peer = d->o.max_half_open_per_peer;
	}
	if (d->o.max_ike_sas)
		p.engine.max_sas = d->o.max_ike_sas;
	d->node = ss_node_new(&p);
	if (!d->node) {
		snprintf(err, errlen, "out of memory creating the IKE engine");
		return false;
	}
	d->eng = ss_node_engine(d->node);
	return true;
}

void dm_ike_stop(ss_daemon *d)
{
	ss_node_free(d->node);
	d->node = NULL;
	d->eng = NULL;
}

size_t dm_neg_stop(ss_daemon *d, ss_time now, const ss_addr *remote)
{
	return ss_node_terminate(d->node, now, remote);
}

typedef struct term_json_ctx {
	ss_daemon *d;
	ss_time now;
	json_t *waiting;
	int connecting;
} term_json_ctx;

static void term_json_one(void *ctx, const ss_node_ikesa *s)
{
	term_json_ctx *t = ctx;
	ss_ike_sa_info info;
	if (!ss_ike_sa_get(t->d->eng, s->h, &info))
		return;
	if (info.deleting) {
		ss_time left = info.delete_until > t->now ? info.delete_until - t->now : 0;
		json_array_append_new(t->waiting, json_pack("{s:i, s:I}", "id", (int)s->h, "wait_ms", (json_int_t)left));
	} else if (!info.established) {
		t->connecting++;
	}
}

json_t *dm_terminate_json(ss_daemon *d, ss_time now, const ss_addr *remote, size_t n)
{
	term_json_ctx t = { d, now, json_array(), 0 };
	ss_node_each_ikesa_with(d->node, remote, term_json_one, &t);
	bool children = ss_node_has_children_with(d->node, remote);
	char rb[SS_ADDR_STRLEN];
	return json_pack("{s:s, s:i, s:b, s:o, s:i, s:b}", "peer", ss_addr_fmt(remote, rb), "terminated", (int)n, "gone",
			 !json_array_size(t.waiting) && !t.connecting && !children, "waiting", t.waiting, "connecting",
			 t.connecting, "child_sas", children);
}

/* ---- datagrams in ---- */

/* One datagram (or one UDP GRO segment) from an IKE socket. */
static void on_datagram(ss_daemon *d, const ss_dgram *g, ss_time now)
{
	switch (g->kind) {
	case SS_NATT_IKE: {
		ss_ike_endpoint le = { g->local, g->lport }, re = { g->remote, g->rport };
		d->st.ike_in++;
		ss_node_ike_input(d->node, g->data, g->len, &le, &re, now);
		break;
	}
	case SS_NATT_ESP:
		ss_dp_esp_input(d->dp, &g->local, &g->remote, g->lport, g->rport, g->data, g->len);
		break;
	case SS_NATT_KEEPALIVE:
		d->st.keepalives++;
		break;
	default:
		d->st.ike_malformed++;
		break;
	}
}

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
			ss_node_icmp(d->node, r.quoted, r.quoted_len, now);
		}
	}
	if (events & EPOLLIN) {
		ss_dgram dg[32];
		int n, rounds = 0;
		while (rounds++ < 8 && (n = ss_ikesock_recv(&d->ike, which, rxbufs, dg, 32)) > 0) {
			for (int i = 0; i < n; i++) {
				if (dg[i].seg)
					d->st.natt_gro++;
				ss_dgram g;
				for (size_t off = 0; ss_dgram_next(&dg[i], &off, &g);)
					on_datagram(d, &g, now);
			}
			dm_drain(d, now);
		}
	}
	dm_drain(d, now);
}

/* ---- engine actions ---- */

static void ike_suite_fmt(const ss_ike_suite *s, char *out, size_t n)
{
	const ss_encr_desc *e = ss_encr_find(s->encr, s->encr_bits);
	const ss_integ_desc *i = ss_integ_find(s->integ);
	const ss_prf_desc *p = ss_prf_find(s->prf);
	const ss_dh_desc *g = ss_dh_find(s->dh);
	snprintf(out, n, "%s%s%s-%s-%s", e ? e->name : "?", i ? "-" : "", i ? i->name : "",
		 p ? p->name : "?", g ? g->name : "?");
}

static const char *auth_name(uint8_t method)
{
	switch (method) {
	case SS_AUTH_PSK: return "psk";
	case SS_AUTH_RSA_SIG: case SS_AUTH_ECDSA_256: case SS_AUTH_ECDSA_384: case SS_AUTH_ECDSA_521:
	case SS_AUTH_DIGITAL_SIG: return "certificate";
	default: return "none";
	}
}

static void utc_text(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!t || !gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "-");
}

/* How the peer authenticated: method, identity, and its certificate's subject, issuer and
 * validity when it used one. */
static json_t *peer_auth_json(const ss_ike_peer_auth *p)
{
	json_t *j = json_pack("{s:s, s:i, s:s, s:i, s:s}", "auth", auth_name(p->method), "auth_method",
			      p->method, "local_auth", auth_name(p->local_method), "local_auth_method",
			      p->local_method, "id", p->id);
	if (p->cert.subject[0]) {
		char nb[32], na[32];
		utc_text(p->cert.not_before, nb);
		utc_text(p->cert.not_after, na);
		json_object_set_new(j, "certificate", json_pack("{s:s, s:s, s:s, s:s}", "subject",
			p->cert.subject, "issuer", p->cert.issuer, "not_before", nb, "not_after", na));
	}
	return j;
}

/* ---- `sas` ---- */

static ss_dp_sa_id sa_id(const ss_node_child *c, int dir)
{
	return (ss_dp_sa_id){ .spi = dir == SS_DP_IN ? c->spi_in : c->spi_out, .dir = (uint8_t)dir,
			      .local = c->local, .remote = c->remote };
}

static json_t *child_json(ss_daemon *d, const ss_node_child *c, ss_time now)
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

static json_t *children_json(ss_daemon *d, uint32_t ike_sa, ss_time now)
{
	json_t *ch = json_array();
	for (const ss_node_child *c = ss_node_child_first(d->node, ike_sa); c; c = ss_node_child_next(c))
		if (c->installed)
			json_array_append_new(ch, child_json(d, c, now));
	return ch;
}

json_t *dm_sas_json(ss_daemon *d, ss_time now)
{
	json_t *arr = json_array();
	size_t ns = ss_node_n_ikesas(d->node);
	for (size_t i = 0; i < ns; i++) {
		const ss_node_ikesa *s = ss_node_ikesa_at(d->node, i);
		ss_ike_sa_info info;
		if (!ss_ike_sa_get(d->eng, s->h, &info))
			continue;
		char lb[SS_ADDR_STRLEN], rb[SS_ADDR_STRLEN], spi_i[20], spi_r[20], suite[64];
		snprintf(spi_i, sizeof(spi_i), "%016" PRIx64, info.spi_i);
		snprintf(spi_r, sizeof(spi_r), "%016" PRIx64, info.spi_r);
		ike_suite_fmt(&info.suite, suite, sizeof(suite));
		json_t *ch = children_json(d, s->h, now);
		json_array_append_new(arr, json_pack("{s:i, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:b, s:I, s:i, s:s, s:o}",
			"id", (int)s->h, "local", ss_addr_fmt(&s->local, lb), "remote", ss_addr_fmt(&s->remote, rb),
			"state", s->deleting ? "deleting" : info.established ? "established" : "connecting", "initiator", info.initiator,
			"spi_i", spi_i, "spi_r", spi_r, "suite", info.established ? suite : "", "natt", info.natt,
			"age", (json_int_t)((now - s->created) / 1000), "lifetime", (int)s->lifetime_s, "rule", s->rule,
			"children", ch));
		if (info.peer.method)
			json_object_set_new(json_array_get(arr, json_array_size(arr) - 1), "peer",
					    peer_auth_json(&info.peer));
	}
	return json_pack("{s:o}", "ike_sas", arr);
}

/* Failure detection (doc/softsad.md "Failure detection"). */
static json_t *liveness_json(ss_daemon *d, const ss_ike_stats *e)
{
	/* Every ESP packet for an SPI we do not have, counted by the dataplane (esp.unknown_spi). */
	ss_dp_stats ds;
	ss_dp_get_stats(d->dp, &ds);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "checks_sent", (json_int_t)e->dpd_sent,
			 "peers_dead", (json_int_t)e->dpd_failed, "esp_unknown_spi", (json_int_t)ds.unknown_spi,
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

json_t *dm_ike_stats_json(ss_daemon *d)
{
	const ss_ike_stats *e = ss_ike_get_stats(d->eng);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "datagrams_in", (json_int_t)d->st.ike_in,
			 "datagrams_out", (json_int_t)d->st.ike_out, "icmp_errors", (json_int_t)d->st.icmp_in,
			 "malformed", (json_int_t)(d->st.ike_malformed + e->dropped), "retransmits",
			 (json_int_t)e->retransmits, "auth_failed", (json_int_t)e->dropped_auth, "established",
			 (json_int_t)e->sa_established, "failed", (json_int_t)e->sa_failed, "sas", (json_int_t)e->sas,
			 "late_answers", (json_int_t)e->late_answers, "ikev1_answers", (json_int_t)e->ikev1_answers,
			 "ikev1_other", (json_int_t)e->ikev1_other, "liveness", liveness_json(d, e), "flood", flood_json(d, e));
}
