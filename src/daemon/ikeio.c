/* The IKE side of softsad: datagrams and ICMP errors from the IKE sockets go into the
 * sans-I/O engine; its actions come out here: datagrams to send, CHILD SAs up and down
 * (children.c puts them into the dataplane), IKE SAs deleted, and outcomes, which go to the
 * agent.  ESP that arrives on the NAT-T sockets goes to the dataplane. */
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
}

dm_ikesa *dm_ikesa_find(ss_daemon *d, uint32_t h)
{
	for (size_t i = 0; i < DM_MAX_IKESAS; i++)
		if (d->ikesas[i].used && d->ikesas[i].h == h)
			return &d->ikesas[i];
	return NULL;
}

dm_ikesa *dm_ikesa_add(ss_daemon *d, uint32_t h, const ss_addr *local, const ss_addr *remote,
		       ss_time now, const char *rule)
{
	dm_ikesa *s = dm_ikesa_find(d, h);
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
	if (!d->eng) {
		snprintf(err, errlen, "out of memory creating the IKE engine");
		return false;
	}
	return true;
}

void dm_ike_stop(ss_daemon *d)
{
	ss_ike_engine_free(d->eng);
	d->eng = NULL;
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
	dm_ikesa *s = dm_ikesa_add(d, h, local, remote, now, np->rule);
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
					ss_dp_esp_input(d->dp, &dg[i].local, &dg[i].remote, dg[i].lport,
							dg[i].rport, dg[i].data, dg[i].len);
					break;
				case SS_NATT_KEEPALIVE:
					d->st.keepalives++;
					break;
				default:
					d->st.ike_malformed++;
					break;
				}
			}
			ss_dp_flush(d->dp, now);
			dm_drain(d, now);
		}
	}
	dm_drain(d, now);
	dm_flood_watch(d);
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

/* An old SA that went unanswered while the peer has a newer one (it restarted and came back
 * before we found out) is no dead peer. */
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
	dm_ikesa *s = dm_ikesa_find(d, a->sa);
	/* A dead peer is news once, with its reason; an ordinary delete shows as sa-down. */
	if (s && s->established && !strncmp(why, "peer dead", 9)) {
		char rb[SS_ADDR_STRLEN];
		if (newer_sa_with(d, s)) {
			SS_INFO(SUB, "old IKE SA with %s deleted (%s); the peer has a newer one",
				ss_addr_fmt(&s->remote, rb), why);
		} else {
			ss_log_kv(SS_LOG_WARN, SUB, SS_KV("PEER", ss_addr_fmt(&s->remote, rb), "RULE", s->rule,
							     "OUTCOME", "peer-dead"),
				  "peer %s is dead (%s): its SAs are deleted; the next packet negotiates again", rb, why);
			dm_event(d, "peer-dead", &s->local, &s->remote,
				 json_pack("{s:s, s:s}", "reason", why, "rule", s->rule));
		}
	}
	dm_children_of_ike_gone(d, a->sa, why, now);
	if (s)
		memset(s, 0, sizeof(*s));
}

static void do_action(ss_daemon *d, const ss_ike_action *a, ss_time now)
{
	switch (a->kind) {
	case SS_IKE_ACT_ATTEMPT: {
		dm_ikesa *s = dm_ikesa_find(d, a->sa);
		if (s && !s->established)
			dm_agent_attempt(d, now, &s->local, &s->remote, a->attempt);
		break;
	}
	case SS_IKE_ACT_SEND:
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
		dm_child_up(d, a->sa, &a->child, now);
		break;
	case SS_IKE_ACT_CHILD_DELETED:
		dm_child_deleted(d, a->child.spi_in, a->child.spi_out, now);
		break;
	case SS_IKE_ACT_IKE_DELETED:
		ike_gone(d, a, now);
		break;
	case SS_IKE_ACT_IKE_REKEYED:	/* same handle, new SPIs: nothing to update here */
		break;
	case SS_IKE_ACT_ANSWERED:
		/* A late answer after a provisional outcome: track the SA again (its outcome
		 * forgot it) and let the agent end the soft association. */
		dm_ikesa_add(d, a->sa, &a->local.addr, &a->remote.addr, now, NULL);
		if (!dm_agent_answered(d, now, &a->local.addr, &a->remote.addr))
			ss_ike_abandon(d->eng, a->sa);
		break;
	case SS_IKE_ACT_OUTCOME: {
		dm_ikesa *s = dm_ikesa_find(d, a->sa);
		if (a->outcome != SS_IKE_SECURED && s && !s->established)
			memset(s, 0, sizeof(*s));
		dm_agent_outcome(d, now, &a->local.addr, &a->remote.addr, a->outcome,
				 a->reason ? a->reason : "");
		ss_ike_sa_info info;
		dm_peer_note *n = dm_note(d, &a->local.addr, &a->remote.addr, false);
		if (n && a->outcome == SS_IKE_SECURED && ss_ike_sa_get(d->eng, a->sa, &info))
			snprintf(n->identity, sizeof(n->identity), "%s", info.peer.id);
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

/* CHILD SA traffic goes to the engine once a second: its liveness checks need to know when
 * our packets went unanswered. */
#define TRAFFIC_REPORT_MS 1000

ss_time dm_ike_deadline(ss_daemon *d)
{
	ss_time t = ss_ike_next_deadline(d->eng);
	return d->children.n_used ? ss_time_min(t, d->traffic_at) : t;
}

void dm_ike_timer(ss_daemon *d, ss_time now)
{
	if (now >= d->traffic_at) {
		dm_children_traffic(d, now);
		d->traffic_at = now + TRAFFIC_REPORT_MS;
	}
	if (ss_ike_next_deadline(d->eng) <= now) {
		ss_ike_timer(d->eng, now);
		dm_flood_watch(d);
	}
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
		json_t *ch = dm_children_json(d, s->h, now);
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
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "datagrams_in", (json_int_t)d->st.ike_in,
			 "datagrams_out", (json_int_t)d->st.ike_out, "icmp_errors", (json_int_t)d->st.icmp_in,
			 "malformed", (json_int_t)(d->st.ike_malformed + e->dropped), "retransmits",
			 (json_int_t)e->retransmits, "auth_failed", (json_int_t)e->dropped_auth, "established",
			 (json_int_t)e->sa_established, "failed", (json_int_t)e->sa_failed, "sas", (json_int_t)e->sas,
			 "late_answers", (json_int_t)e->late_answers, "ikev1_answers", (json_int_t)e->ikev1_answers,
			 "ikev1_other", (json_int_t)e->ikev1_other, "liveness", liveness_json(d, e), "flood", flood_json(d, e));
}
