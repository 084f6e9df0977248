/* IKE_SA_INIT (§1.2): proposals, Diffie-Hellman, nonces, NAT detection; COOKIE (§2.6) and
 * INVALID_KE_PAYLOAD (§1.2) on both sides.  The responder keeps no state for a request it
 * refuses, asks a cookie of, or sends back to pick another group. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "ike/ike_internal.h"

#define MAX_INIT_ROUNDS 4   /* COOKIE and INVALID_KE retries together */
#define MAX_COOKIE 64       /* §2.6: 1..64 octets */
#define PEER_IKEV1 "peer speaks IKEv1 only"

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);
	if (c && len)
		memcpy(c, p, len);
	return c;
}

/* ---- Initiator ---- */

bool init_start(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	if (!sa->dh || ss_dh_group(sa->dh) != sa->ke_group) {
		ss_dh_free(sa->dh);
		sa->dh = ss_dh_new(sa->ke_group);
	}
	if (!sa->ni) {
		uint8_t ni[SS_IKE_NONCE_LEN];
		if (!ss_random(ni, sizeof(ni)) || !sa_set_bytes(&sa->ni, &sa->ni_len, ni, sizeof(ni)))
			return false;
	}
	uint8_t ke[SS_DH_PUB_MAX];
	size_t ke_len = ss_dh_pub_len(sa->ke_group);
	if (!sa->dh || !ss_dh_public(sa->dh, ke, ke_len))
		return false;
	uint8_t buf[SS_IKE_BUF];
	ss_ike_writer w;
	ss_ike_hdr h = sa_hdr(sa, SS_IKE_SA_INIT, false, 0);
	ss_ikew_init(&w, buf, sizeof(buf), &h);
	/* §2.6: the cookie is echoed as the first payload. */
	if (sa->cookie)
		ss_ikew_notify(&w, 0, NULL, 0, SS_N_COOKIE, sa->cookie, sa->cookie_len);
	ss_ike_sa_pl *sap = malloc(sizeof(*sap));
	if (!sap)
		return false;
	prop_build_ike(sap, sa->cfg->ike, sa->cfg->n_ike, NULL, 0);
	ss_ikew_sa(&w, sap);
	free(sap);
	ss_ikew_ke(&w, sa->ke_group, ke, ke_len);
	ss_ikew_nonce(&w, sa->ni, sa->ni_len);
	nat_add_notifies(&w, sa->spi_i, 0, &sa->local, &sa->remote, sa->cfg->udp_encap_always);
	cert_init_payloads(&w, sa->cfg, false);
	size_t n = ss_ikew_finish(&w);
	if (!n)
		return false;
	free(sa->init_req);
	sa->init_req = dup_bytes(buf, n);
	if (!sa->init_req)
		return false;
	sa->init_req_len = n;
	sa_send_request(e, sa, buf, n, SS_IKE_SA_INIT, now);
	return true;
}

uint32_t ss_ike_initiate(ss_ike_engine *e, const ss_ike_endpoint *local,
			 const ss_ike_endpoint *remote, const ss_ike_config *cfg, ss_time now)
{
	eng_begin(e);
	const char *why = ss_retx_params_check(&cfg->retx);
	if (why || cfg->n_ike == 0 || cfg->n_esp == 0) {
		SS_ERR(SUB, "initiate: unusable config: %s", why ? why : "no proposals");
		return 0;
	}
	ike_sa *sa = sa_new(e, true, local, remote, now);
	if (!sa)
		return 0;
	sa->cfg = cfg_get(e, cfg);
	sa->ke_group = cfg->ike[0].dh;
	if (!sa->cfg || !init_start(e, sa, now)) {
		sa_kill(sa, "cannot build IKE_SA_INIT");
		sa_reap(e);
		return 0;
	}
	return sa->handle;
}

static bool offered_group(const ss_ike_config *c, uint16_t g)
{
	for (size_t i = 0; i < c->n_ike; i++)
		if (c->ike[i].dh == g)
			return true;
	return false;
}

/* COOKIE or INVALID_KE: the same request again, adjusted; true when handled. */
static bool init_retry(ss_ike_engine *e, ike_sa *sa, const ss_ike_msg *m, ss_time now)
{
	const ss_ike_notify_pl *ck = ss_ike_find_notify(m, SS_N_COOKIE);
	const ss_ike_notify_pl *ike = ss_ike_find_notify(m, SS_N_INVALID_KE_PAYLOAD);
	if (!ck && !ike)
		return false;
	if (++sa->ke_retries > MAX_INIT_ROUNDS) {
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, ck ? SS_N_COOKIE : SS_N_INVALID_KE_PAYLOAD,
			"too many IKE_SA_INIT rounds");
		return true;
	}
	if (ck) {
		if (ck->data.len < 1 || ck->data.len > MAX_COOKIE) {
			SS_INFO(SUB, "COOKIE: expected 1..64 bytes, got %zu", ck->data.len);
			return true;  /* ignore; keep retransmitting */
		}
		free(sa->cookie);
		sa->cookie = dup_bytes(ck->data.p, ck->data.len);
		sa->cookie_len = sa->cookie ? ck->data.len : 0;
	} else {
		ss_cur c = ss_cur_init(ike->data.p, ike->data.len);
		uint16_t g = ss_cur_be16(&c);
		if (!ss_cur_ok(&c) || !offered_group(sa->cfg, g) || g == sa->ke_group) {
			sa_fail(e, sa, SS_IKE_PEER_REFUSED, SS_N_INVALID_KE_PAYLOAD,
				"peer asked for a group we did not offer");
			return true;
		}
		SS_INFO(SUB, "SA %u: peer wants DH group %u, retrying", sa->handle, g);
		sa->ke_group = g;
	}
	if (!init_start(e, sa, now))
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, 0, "cannot rebuild IKE_SA_INIT");
	return true;
}

void init_response_in(ss_ike_engine *e, ike_sa *sa, const ss_ike_msg *m, const uint8_t *p,
		      size_t len, ss_time now)
{
	sa->answered = true;
	act_answered(e, sa);
	if (init_retry(e, sa, m, now))
		return;
	const ss_ike_notify_pl *err = ss_ike_first_error(m);
	if (err) {
		/* §2.5: INVALID_MAJOR_VERSION names the highest version the peer has: below 2. */
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, err->type,
			err->type == SS_N_INVALID_MAJOR_VERSION ? PEER_IKEV1 : ss_ike_notify_name(err->type));
		return;
	}
	ss_ike_suite s;
	if (!ss_ike_has(m, SS_PL_SA) || !ss_ike_has(m, SS_PL_KE) || !ss_ike_has(m, SS_PL_NONCE) ||
	    m->hdr.spi_r == 0) {
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, SS_N_INVALID_SYNTAX,
			"IKE_SA_INIT response: expected SA, KE, Nr and SPIr");
		return;
	}
	if (!prop_accept_ike(&m->sa, sa->cfg->ike, sa->cfg->n_ike, &s) || s.dh != sa->ke_group ||
	    m->ke.group != sa->ke_group) {
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, SS_N_NO_PROPOSAL_CHOSEN,
			"responder chose a proposal we did not offer");
		return;
	}
	sa->suite = s;
	sa->spi_r = m->hdr.spi_r;
	bool copied = sa_set_bytes(&sa->nr, &sa->nr_len, m->nonce.p, m->nonce.len);
	sa->init_resp = dup_bytes(p, len);
	sa->init_resp_len = len;
	uint16_t why = 0;
	if (!copied || !sa->init_resp || !sa_keys(sa, m->ke.data.p, m->ke.data.len, &why)) {
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, why, "key exchange failed");
		return;
	}
	bool behind = false;
	bool nat = nat_detected(m, &sa->local, &sa->remote, &behind);
	if (nat || (sa->cfg->udp_encap_always && nat_peer_does_natt(m))) {
		/* §2.23: both sides float to 4500 from IKE_AUTH on. */
		sa->natt = sa->nat = true;
		sa->local.port = SS_IKE_NATT_PORT;
		sa->remote.port = SS_IKE_NATT_PORT;
		SS_INFO(SUB, "SA %u: %s%s, moving to UDP 4500", sa->handle,
			nat ? "NAT detected" : "ESP in UDP always (udp_encap)", behind ? " in front of us" : "");
	}
	sa->keepalive_at = behind ? now + SS_NATT_KEEPALIVE_MS : SS_NEVER;
	cert_note_peer(sa, m);
	sa_clear_request(sa);
	sa->my_msg_id = 1;
	auth_start(e, sa, now);
}

void init_ikev1_in(ss_ike_engine *e, const ss_ike_msg *m, const ss_ike_endpoint *remote)
{
	/* RFC 2408 §3.1: the first 8 octets are the initiator cookie; an IKEv1 responder
	 * answering our request copies our SPIi there.  Only the peer we asked counts. */
	ike_sa *sa = m->hdr.spi_i ? sa_find(e, m->hdr.spi_i, 0) : NULL;
	if (!sa || !ss_addr_eq(&sa->remote.addr, &remote->addr)) {
		e->st.ikev1_other++;
		e->st.dropped++;
		return;
	}
	e->st.ikev1_answers++;
	sa->answered = true;
	act_answered(e, sa);
	sa_fail(e, sa, SS_IKE_PEER_REFUSED, SS_N_INVALID_MAJOR_VERSION, PEER_IKEV1);
}

/* ---- Responder ---- */

static void stateless_reply(ss_ike_engine *e, const ss_ike_msg *m, const ss_ike_endpoint *local,
			    const ss_ike_endpoint *remote, uint16_t type, const uint8_t *data,
			    size_t len)
{
	uint8_t buf[256];
	ss_ike_writer w;
	ss_ike_hdr h = { .spi_i = m->hdr.spi_i, .exchange = SS_IKE_SA_INIT,
			 .flags = SS_IKE_FLAG_RESPONSE, .msg_id = 0 };
	ss_ikew_init(&w, buf, sizeof(buf), &h);
	ss_ikew_notify(&w, 0, NULL, 0, type, data, len);
	size_t n = ss_ikew_finish(&w);
	if (n)
		act_send(e, NULL, local, remote, buf, n);
	SS_DEBUG(SUB, "IKE_SA_INIT: answered %s without state", ss_ike_notify_name(type));
}

void init_version_reply(ss_ike_engine *e, const ss_ike_msg *m, const ss_ike_endpoint *local,
			const ss_ike_endpoint *remote)
{
	stateless_reply(e, m, local, remote, SS_N_INVALID_MAJOR_VERSION, NULL, 0);
}

/* §2.6: cookie = <generation> | prf(secret, Ni | IPi | SPIi), recomputable without state. */
#define COOKIE_LEN 33

static bool make_cookie(const uint8_t secret[32], uint8_t gen, const ss_ike_msg *m,
			const ss_ike_endpoint *remote, uint8_t out[COOKIE_LEN])
{
	uint8_t spi[8];
	for (int i = 0; i < 8; i++)
		spi[i] = (uint8_t)(m->hdr.spi_i >> (56 - 8 * i));
	ss_chunk in[3] = { SS_CHUNK(m->nonce.p, m->nonce.len),
			   SS_CHUNK(remote->addr.a, 16), SS_CHUNK(spi, 8) };
	out[0] = gen;
	return ss_prf_v(SS_PRF_HMAC_SHA2_256, secret, 32, in, 3, out + 1);
}

/* A new secret every COOKIE_ROTATE_MS; cookies of the previous one are still honoured. */
static void rotate_cookie_secret(ss_ike_engine *e, ss_time now)
{
	if (e->cookie_since == 0)
		e->cookie_since = now;
	if (now - e->cookie_since < COOKIE_ROTATE_MS)
		return;
	uint8_t fresh[32];
	if (!ss_random(fresh, sizeof(fresh)))
		return;
	memcpy(e->cookie_prev, e->cookie_secret, 32);
	memcpy(e->cookie_secret, fresh, 32);
	ss_wipe(fresh, sizeof(fresh));
	e->cookie_gen++;
	e->cookie_since = now;
}

static bool cookie_valid(const ss_ike_engine *e, const ss_ike_msg *m, const ss_ike_endpoint *remote)
{
	const ss_ike_notify_pl *ck = ss_ike_find_notify(m, SS_N_COOKIE);
	if (!ck || ck->data.len != COOKIE_LEN)
		return false;
	uint8_t gen = ck->data.p[0], want[COOKIE_LEN];
	const uint8_t *secret = gen == e->cookie_gen ? e->cookie_secret :
				gen == (uint8_t)(e->cookie_gen - 1) ? e->cookie_prev : NULL;
	return secret && make_cookie(secret, gen, m, remote, want) &&
	       ss_ct_eq(ck->data.p, want, COOKIE_LEN);
}

/* Half-open SAs from this address reached the per-address limit (a walk over that address's
 * half-open SAs only, at most the limit: their own class in the table's peer index). */
static bool peer_half_open_full(const ss_ike_engine *e, const ss_ike_endpoint *remote)
{
	uint32_t n = 0, max = e->p.max_half_open_per_peer;
	if (max == 0)
		return false;
	for (const ike_sa *sa = NULL; (sa = sa_peek_class(e, &remote->addr, PEER_HALF_OPEN, sa));)
		if (sa->half_open && sa->state != ST_DEAD && ++n >= max)
			return true;
	return false;
}

/* True when the request may go on; false when it was answered or dropped. */
static bool admit(ss_ike_engine *e, const ss_ike_msg *m, const ss_ike_endpoint *local,
		  const ss_ike_endpoint *remote, ss_time now)
{
	if (e->st.half_open >= e->p.max_half_open) {
		e->st.half_open_refused++;
		return false;
	}
	if (e->st.half_open < e->p.cookie_threshold)
		return true;
	if (!e->st.cookies_required) {
		e->st.cookies_required = true;
		e->st.floods++;
		SS_WARN(SUB, "IKE_SA_INIT flood: %u half-open SAs (threshold %u): COOKIEs required",
			e->st.half_open, e->p.cookie_threshold);
	}
	rotate_cookie_secret(e, now);
	if (cookie_valid(e, m, remote)) {
		e->st.cookies_verified++;
		if (!peer_half_open_full(e, remote))
			return true;
		e->st.half_open_refused++;
		e->st.half_open_refused_peer++;
		return false;
	}
	uint8_t want[COOKIE_LEN];
	if (!make_cookie(e->cookie_secret, e->cookie_gen, m, remote, want))
		return false;
	stateless_reply(e, m, local, remote, SS_N_COOKIE, want, sizeof(want));
	e->st.cookies_sent++;
	return false;
}

static size_t build_init_response(ike_sa *sa, const ss_ike_config *cfg, uint8_t num, uint8_t *buf,
				  size_t cap)
{
	uint8_t ke[SS_DH_PUB_MAX];
	size_t ke_len = ss_dh_pub_len(sa->suite.dh);
	if (!ss_dh_public(sa->dh, ke, ke_len))
		return 0;
	ss_ike_writer w;
	ss_ike_hdr h = sa_hdr(sa, SS_IKE_SA_INIT, true, 0);
	ss_ikew_init(&w, buf, cap, &h);
	ss_ike_sa_pl *sap = malloc(sizeof(*sap));
	if (!sap)
		return 0;
	prop_build_ike(sap, &sa->suite, 1, NULL, 0);
	sap->prop[0].num = num;
	ss_ikew_sa(&w, sap);
	free(sap);
	ss_ikew_ke(&w, sa->suite.dh, ke, ke_len);
	ss_ikew_nonce(&w, sa->nr, sa->nr_len);
	nat_add_notifies(&w, sa->spi_i, sa->spi_r, &sa->local, &sa->remote, cfg->udp_encap_always);
	cert_init_payloads(&w, cfg, true);
	return ss_ikew_finish(&w);
}

static bool well_formed_request(ss_ike_engine *e, const ss_ike_msg *m, size_t len)
{
	const char *why = NULL;
	if (m->hdr.msg_id != 0 || m->hdr.spi_r != 0 || !(m->hdr.flags & SS_IKE_FLAG_INITIATOR))
		why = "expected message ID 0, SPIr 0 and the I flag";
	else if (!ss_ike_has(m, SS_PL_SA) || !ss_ike_has(m, SS_PL_KE) || !ss_ike_has(m, SS_PL_NONCE))
		why = "expected SA, KE and Ni";
	else if (len > SS_IKE_MAX_INIT_MSG)
		why = "expected a message of at most 2048 bytes";
	if (why) {
		SS_DEBUG(SUB, "IKE_SA_INIT request: %s", why);
		e->st.dropped++;
	}
	return !why;
}

void init_request_in(ss_ike_engine *e, const ss_ike_msg *m, const uint8_t *p, size_t len,
		     const ss_ike_endpoint *local, const ss_ike_endpoint *remote, ss_time now)
{
	if (m->unsupported_critical) {
		uint8_t t = m->unsupported_critical;
		stateless_reply(e, m, local, remote, SS_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		return;
	}
	ike_sa *old = sa_find_half(e, m->hdr.spi_i, remote);
	if (old) {
		/* A retransmission gets the same response; anything else with that SPIi is dropped. */
		if (old->init_req && old->init_req_len == len && memcmp(old->init_req, p, len) == 0 && old->has_resp &&
		    old->resp_id == 0) {
			act_send(e, old, &old->local, &old->remote, old->resp, old->resp_len);
			e->st.responses_resent++;
		} else {
			e->st.dropped++;
		}
		return;
	}
	if (!well_formed_request(e, m, len) || !admit(e, m, local, remote, now))
		return;
	const ss_ike_config *cfg = e->p.lookup ? e->p.lookup(e->p.lookup_ctx, local, remote, NULL) : NULL;
	ss_ike_suite s;
	uint8_t num = 0;
	if (!cfg || !prop_select_ike(&m->sa, cfg->ike, cfg->n_ike, m->ke.group, &s, &num)) {
		stateless_reply(e, m, local, remote, SS_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (m->ke.group != s.dh) {
		uint8_t g[2] = { (uint8_t)(s.dh >> 8), (uint8_t)s.dh };
		stateless_reply(e, m, local, remote, SS_N_INVALID_KE_PAYLOAD, g, 2);
		return;
	}
	ike_sa *sa = sa_new(e, false, local, remote, now);
	if (!sa)
		return;
	sa->spi_i = m->hdr.spi_i;
	sa_index(e, sa);
	sa->suite = s;
	sa->dh = ss_dh_new(s.dh);
	uint8_t nr[SS_IKE_NONCE_LEN];
	bool copied = sa_set_bytes(&sa->ni, &sa->ni_len, m->nonce.p, m->nonce.len) &&
		      ss_random(nr, sizeof(nr)) && sa_set_bytes(&sa->nr, &sa->nr_len, nr, sizeof(nr));
	sa->init_req = dup_bytes(p, len);
	sa->init_req_len = len;
	uint8_t buf[SS_IKE_BUF];
	size_t n = 0;
	uint16_t why = 0;
	if (sa->dh && sa->init_req && copied)
		n = build_init_response(sa, cfg, num, buf, sizeof(buf));
	if (!n || !sa_keys(sa, m->ke.data.p, m->ke.data.len, &why)) {
		sa_kill(sa, "IKE_SA_INIT failed");
		e->st.sa_failed++;
		if (why)
			stateless_reply(e, m, local, remote, why, NULL, 0);
		return;
	}
	bool behind = false;
	sa->natt = sa->nat = nat_detected(m, local, remote, &behind) ||
			     (cfg->udp_encap_always && nat_peer_does_natt(m));
	cert_note_peer(sa, m);
	sa->keepalive_at = behind ? now + SS_NATT_KEEPALIVE_MS : SS_NEVER;
	sa->init_resp = dup_bytes(buf, n);
	sa->init_resp_len = n;
	sa_send_response(e, sa, buf, n);
}
