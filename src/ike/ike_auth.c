/* IKE_AUTH (§1.2, §2.15): identities, AUTH both ways (ike_cert.c), and the first CHILD SA
 * (§1.3.1 proposals without DH, §2.9 traffic selectors, §1.3.1 USE_TRANSPORT_MODE). */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "ike/ike_internal.h"

void child_info(ike_sa *sa, const ss_child_keys *ck, bool exch_initiator, uint32_t spi_in,
		uint32_t spi_out, const ss_ike_ts_pl *tsl, const ss_ike_ts_pl *tsr, ss_ike_child_info *ci)
{
	/* §2.17: i2r is from whoever initiated the exchange that made this CHILD SA. */
	memset(ci, 0, sizeof(*ci));
	ci->spi_in = spi_in;
	ci->spi_out = spi_out;
	ci->suite = ck->suite;
	ci->key_out = exch_initiator ? ck->i2r : ck->r2i;
	ci->key_in = exch_initiator ? ck->r2i : ck->i2r;
	ci->ts_local = *tsl;
	ci->ts_remote = *tsr;
	ci->mode = sa->cfg->mode;
	ci->lifetime_s = sa->cfg->child_lifetime_s;
	ci->udp_encap = sa->nat;
	ci->local = sa->local;
	ci->remote = sa->remote;
	ci->initiator = exch_initiator;
}

/* §2.8: the side that made a CHILD SA rekeys it at 90% of its lifetime; both drop it at
 * 100% if that did not happen.  A lifetime of 0 means "never". */
static ss_time at_fraction(ss_time now, uint32_t lifetime_s, unsigned percent)
{
	return lifetime_s ? now + (ss_time)lifetime_s * 10u * percent : SS_NEVER;
}

/* Emits CHILD_UP and remembers the CHILD SA (without its keys).  A CHILD SA we cannot track
 * is not handed out at all: nothing would ever rekey, expire or delete it (callers check
 * child_slot_free() first, so this is a backstop). */
static ike_child *child_new(const ss_ike_child_info *ci, ss_time now)
{
	size_t nl = ci->ts_local.n < SS_IKE_MAX_TS ? ci->ts_local.n : SS_IKE_MAX_TS;
	size_t nr = ci->ts_remote.n < SS_IKE_MAX_TS ? ci->ts_remote.n : SS_IKE_MAX_TS;
	ike_child *c = calloc(1, sizeof(*c) + (nl + nr) * sizeof(c->ts[0]));
	if (!c)
		return NULL;
	c->spi_in = ci->spi_in;
	c->spi_out = ci->spi_out;
	c->suite = ci->suite;
	c->mode = (uint8_t)ci->mode;
	c->udp_encap = ci->udp_encap;
	c->initiator = ci->initiator;
	c->lifetime_s = ci->lifetime_s;
	c->rekey_of = ci->rekey_of;
	c->local = ci->local;
	c->remote = ci->remote;
	c->n_local = (uint8_t)nl;
	c->n_remote = (uint8_t)nr;
	memcpy(c->ts, ci->ts_local.ts, nl * sizeof(c->ts[0]));
	memcpy(c->ts + nl, ci->ts_remote.ts, nr * sizeof(c->ts[0]));
	c->rekey_at = ci->initiator ? at_fraction(now, ci->lifetime_s, 90) : SS_NEVER;
	c->expire_at = at_fraction(now, ci->lifetime_s, 100);
	return c;
}

void child_ts(const ike_child *c, ss_ike_ts_pl *local, ss_ike_ts_pl *remote)
{
	memset(local, 0, sizeof(*local));
	memset(remote, 0, sizeof(*remote));
	local->n = c->n_local;
	remote->n = c->n_remote;
	memcpy(local->ts, c->ts, c->n_local * sizeof(c->ts[0]));
	memcpy(remote->ts, c->ts + c->n_local, c->n_remote * sizeof(c->ts[0]));
}

void child_info_of(const ike_child *c, ss_ike_child_info *out)
{
	memset(out, 0, sizeof(*out));
	out->spi_in = c->spi_in;
	out->spi_out = c->spi_out;
	out->suite = c->suite;
	child_ts(c, &out->ts_local, &out->ts_remote);
	out->mode = (enum ss_ike_mode)c->mode;
	out->lifetime_s = c->lifetime_s;
	out->udp_encap = c->udp_encap;
	out->local = c->local;
	out->remote = c->remote;
	out->initiator = c->initiator;
	out->rekey_of = c->rekey_of;
}

void child_gone(ss_ike_engine *e, ike_sa *sa, ike_child *c)
{
	ss_ike_child_info ci;
	child_info_of(c, &ci);
	act_child(e, sa, SS_IKE_ACT_CHILD_DELETED, &ci);
	for (int i = 0; i < SS_IKE_MAX_CHILD; i++)
		if (sa->child[i] == c)
			sa->child[i] = NULL;
	free(c);
}

void child_free_all(ike_sa *sa)
{
	for (int i = 0; i < SS_IKE_MAX_CHILD; i++) {
		free(sa->child[i]);
		sa->child[i] = NULL;
	}
}

void child_up(ss_ike_engine *e, ike_sa *sa, ss_ike_child_info *ci, ss_time now)
{
	for (int i = 0; i < SS_IKE_MAX_CHILD; i++)
		if (!sa->child[i]) {
			ike_child *c = child_new(ci, now);
			if (!c)
				break;
			act_child(e, sa, SS_IKE_ACT_CHILD_UP, ci);
			ss_wipe(&ci->key_in, sizeof(ci->key_in));
			ss_wipe(&ci->key_out, sizeof(ci->key_out));
			sa->child[i] = c;
			return;
		}
	ss_wipe(&ci->key_in, sizeof(ci->key_in));
	ss_wipe(&ci->key_out, sizeof(ci->key_out));
	SS_WARN(SUB, "SA %u: no room for another CHILD SA (at most %d, or out of memory): SPI %08x not installed",
		sa->handle, SS_IKE_MAX_CHILD, ci->spi_in);
}

bool child_slot_free(const ike_sa *sa)
{
	for (int i = 0; i < SS_IKE_MAX_CHILD; i++)
		if (!sa->child[i])
			return true;
	return false;
}

void ike_lifetime_start(ike_sa *sa, ss_time now)
{
	sa->rekey_at = sa->initiator ? at_fraction(now, sa->cfg->ike_lifetime_s, 90) : SS_NEVER;
	/* Like a CHILD SA's: whichever side's lifetime ends first deletes it, so an IKE SA whose
	 * rekey failed, or whose peer never rekeys, does not live (and keep its keys) forever. */
	sa->ike_expire_at = at_fraction(now, sa->cfg->ike_lifetime_s, 100);
}

void our_ts(const ike_sa *sa, ss_ike_ts_pl *local, ss_ike_ts_pl *remote)
{
	ts_default(local, &sa->cfg->ts_local, &sa->local.addr);
	ts_default(remote, &sa->cfg->ts_remote, &sa->remote.addr);
}

/* Nonces compared as §2.8.1 compares them: bytes, then length. */
int nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	/* An SA made by a rekey holds no IKE_SA_INIT nonces (NULL, 0). */
	int c = al && bl ? memcmp(a, b, al < bl ? al : bl) : 0;
	return c ? c : (al > bl) - (al < bl);
}

static void min_nonce(const ike_sa *sa, const uint8_t **p, size_t *len)
{
	bool ni = nonce_cmp(sa->ni, sa->ni_len, sa->nr, sa->nr_len) < 0;
	*p = ni ? sa->ni : sa->nr;
	*len = ni ? sa->ni_len : sa->nr_len;
}

/* Simultaneous initiation: both sides started an IKE SA toward each other and both came up.
 * Like colliding rekeys (§2.8.1), the pair holding the lowest nonce is redundant; both ends
 * see the same nonces, so they agree, and the initiator of the redundant one deletes it. */
static void converge(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	/* Only SAs of the other role: ours toward the peer meeting the peer's toward us. */
	uint8_t other = sa->initiator ? PEER_RESPONDER : PEER_INITIATOR;
	for (ike_sa *o = NULL; (o = sa_next_class(e, &sa->remote.addr, other, o));) {
		if (o == sa || o->state != ST_ESTABLISHED || o->rekeyed ||
		    !ss_addr_eq(&o->local.addr, &sa->local.addr))
			continue;
		const uint8_t *pa, *pb;
		size_t la, lb;
		min_nonce(sa, &pa, &la);
		min_nonce(o, &pb, &lb);
		ike_sa *redundant = nonce_cmp(pa, la, pb, lb) < 0 ? sa : o;
		SS_INFO(SUB, "SA %u and SA %u join the same peers: SA %u is redundant", sa->handle,
			o->handle, redundant->handle);
		if (redundant->initiator && !redundant->out.req)
			ss_ike_delete_sa(e, redundant, now);
		return;
	}
}

/* ---- Initiator ---- */

void auth_start(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	uint8_t inner[SS_IKE_BUF], out[SS_IKE_BUF];
	sa->child_spi = new_child_spi(e);
	if (!sa->child_spi) {
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, 0, "cannot compute AUTH");
		return;
	}
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	const char *why = auth_write(e, sa, &w);
	if (why) {
		ss_wipe(inner, sizeof(inner));
		SS_INFO(SUB, "SA %u: cannot authenticate: %s", sa->handle, why);
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, 0, why);
		return;
	}
	if (sa->cfg->mode == SS_MODE_TRANSPORT)
		ss_ikew_notify(&w, 0, NULL, 0, SS_N_USE_TRANSPORT_MODE, NULL, 0);
	if (contact_initial(e, sa))
		ss_ikew_notify(&w, 0, NULL, 0, SS_N_INITIAL_CONTACT, NULL, 0);
	ss_ike_sa_pl *sap = malloc(sizeof(*sap));
	if (sap) {
		prop_build_esp(sap, sa->cfg->esp, sa->cfg->n_esp, sa->child_spi, false);
		ss_ikew_sa(&w, sap);
		free(sap);
	}
	ss_ike_ts_pl tsl, tsr;
	our_ts(sa, &tsl, &tsr);
	ss_ikew_ts(&w, SS_PL_TSI, &tsl);
	ss_ikew_ts(&w, SS_PL_TSR, &tsr);
	ss_ikew_finish(&w);
	size_t n = sap ? sa_seal(sa, SS_IKE_AUTH, false, sa->my_msg_id, &w, out, sizeof(out)) : 0;
	ss_wipe(inner, sizeof(inner));
	if (!n) {
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, 0, "cannot build IKE_AUTH");
		return;
	}
	if (!sa_set_state(sa, ST_AUTH_SENT, "IKE_SA_INIT done")) {
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, 0, "IKE_AUTH in a state that does not allow it");
		return;
	}
	sa_send_request(e, sa, out, n, SS_IKE_AUTH, now);
}

/* An authenticated IKE SA whose CHILD SA failed: tell the peer we delete it (best effort). */
static void delete_and_die(ss_ike_engine *e, ike_sa *sa, uint16_t notify, const char *why)
{
	uint8_t inner[64], out[512];
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_delete(&w, SS_PROTO_IKE, 0, 0, NULL);
	ss_ikew_finish(&w);
	size_t n = sa_seal(sa, SS_IKE_INFORMATIONAL, false, sa->my_msg_id, &w, out, sizeof(out));
	if (n)
		act_send(e, sa, &sa->local, &sa->remote, out, n);
	sa_fail(e, sa, SS_IKE_PEER_REFUSED, notify, why);
}

void auth_response_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now)
{
	sa_clear_request(sa);
	sa->my_msg_id++;
	const ss_ike_notify_pl *err = ss_ike_first_error(m);
	if (!ss_ike_has(m, SS_PL_AUTH) || !ss_ike_has(m, SS_PL_IDR)) {
		uint16_t t = err ? err->type : SS_N_AUTHENTICATION_FAILED;
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, t, err ? ss_ike_notify_name(t) : "no AUTH in response");
		return;
	}
	const char *why = auth_verify(e, sa, m, &m->idr);
	if (why) {
		/* The responder considers the IKE SA up: tell it we delete it (§2.21.2). */
		SS_INFO(SUB, "SA %u: responder's authentication refused: %s", sa->handle, why);
		delete_and_die(e, sa, SS_N_AUTHENTICATION_FAILED, why);
		return;
	}
	sa_init_msgs_done(sa);
	ss_ike_id idr = id_of_payload(&m->idr);
	if (!sa_set_peer_id(sa, &idr)) {
		delete_and_die(e, sa, 0, "out of memory");
		return;
	}
	sa->peer_id_known = true;
	sa_index_ident(e, sa);
	if (err) {
		delete_and_die(e, sa, err->type, ss_ike_notify_name(err->type));
		return;
	}
	ss_esp_suite es;
	uint32_t peer_spi = 0;
	ss_ike_ts_pl tsl, tsr;
	our_ts(sa, &tsl, &tsr);
	bool transport = ss_ike_find_notify(m, SS_N_USE_TRANSPORT_MODE) != NULL;
	if (!ss_ike_has(m, SS_PL_SA) ||
	    !prop_accept_esp(&m->sa, sa->cfg->esp, sa->cfg->n_esp, true, &es, &peer_spi) ||
	    transport != (sa->cfg->mode == SS_MODE_TRANSPORT)) {
		delete_and_die(e, sa, SS_N_NO_PROPOSAL_CHOSEN, "responder's CHILD SA is not one we offered");
		return;
	}
	if (!ts_subset(&m->tsi, &tsl) || !ts_subset(&m->tsr, &tsr)) {
		delete_and_die(e, sa, SS_N_TS_UNACCEPTABLE, "responder's selectors exceed ours");
		return;
	}
	ss_child_keys ck;
	if (!ss_child_keys_derive(&ck, &es, &sa->keys, NULL, 0, sa->ni, sa->ni_len, sa->nr, sa->nr_len)) {
		delete_and_die(e, sa, 0, "CHILD SA key derivation failed");
		return;
	}
	if (!sa_set_state(sa, ST_ESTABLISHED, "IKE_AUTH done")) {
		ss_child_keys_wipe(&ck);
		delete_and_die(e, sa, 0, "IKE SA cannot be established in its state");
		return;
	}
	e->st.sa_established++;
	ike_lifetime_start(sa, now);
	ss_ike_child_info ci;
	child_info(sa, &ck, true, sa->child_spi, peer_spi, &m->tsi, &m->tsr, &ci);
	ss_child_keys_wipe(&ck);
	child_up(e, sa, &ci, now);
	act_outcome(e, sa, SS_IKE_SECURED, 0, "IKE SA and CHILD SA established");
	contact_received(e, sa, m);
	converge(e, sa, now);
}

/* ---- Responder ---- */

/* A responder's negotiation that failed at IKE_AUTH is reported to the agent as refused,
 * with the notify we answered (AUTHENTICATION_FAILED, NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE,
 * ...), so that it stops waiting for a CHILD SA at once instead of after a watchdog.
 * An IKE_AUTH request is only possible for whoever received our IKE_SA_INIT response (it
 * needs SPIr and Nr), so an off-path sender cannot cause this outcome.  A half-open SA that
 * times out without any IKE_AUTH reports nothing (sa_timer): its IKE_SA_INIT may have come
 * from a forged address, and an outcome would let anyone block any peer with one packet. */
static void responder_refused(ss_ike_engine *e, ike_sa *sa, uint16_t notify, const char *why)
{
	act_outcome(e, sa, SS_IKE_PEER_REFUSED, notify, why);
}

static void auth_fail_reply(ss_ike_engine *e, ike_sa *sa, const char *why)
{
	uint8_t inner[64], out[512];
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_notify(&w, 0, NULL, 0, SS_N_AUTHENTICATION_FAILED, NULL, 0);
	ss_ikew_finish(&w);
	size_t n = sa_seal(sa, SS_IKE_AUTH, true, sa->peer_msg_id, &w, out, sizeof(out));
	if (n)
		sa_send_response(e, sa, out, n);
	char peer[SS_ADDR_STRLEN];
	ss_addr_fmt(&sa->remote.addr, peer);
	ss_log_kv(SS_LOG_WARN, SUB, SS_KV("PEER", peer, "OUTCOME", "auth-failed"), "SA %u: IKE_AUTH from %s refused: %s",
		  sa->handle, peer, why);
	e->st.sa_failed++;
	responder_refused(e, sa, SS_N_AUTHENTICATION_FAILED, why);
	sa_kill(sa, why);
}

/* Negotiates the CHILD SA; returns 0 or the error notify to send instead. */
uint16_t child_select(ike_sa *sa, const ss_ike_msg *m, bool ignore_dh, ss_esp_suite *es,
		      uint8_t *num, uint32_t *peer_spi, ss_ike_ts_pl *ni, ss_ike_ts_pl *nr)
{
	bool transport = ss_ike_find_notify(m, SS_N_USE_TRANSPORT_MODE) != NULL;
	if (!ss_ike_has(m, SS_PL_SA) || !ss_ike_has(m, SS_PL_TSI) || !ss_ike_has(m, SS_PL_TSR))
		return SS_N_INVALID_SYNTAX;
	if (transport != (sa->cfg->mode == SS_MODE_TRANSPORT) ||
	    !prop_select_esp(&m->sa, sa->cfg->esp, sa->cfg->n_esp, ignore_dh, es, num, peer_spi))
		return SS_N_NO_PROPOSAL_CHOSEN;
	ss_ike_ts_pl tsl, tsr;
	our_ts(sa, &tsl, &tsr);
	/* §2.23.1: in transport mode behind a NAT the initiator names its private address,
	 * which we cannot check against what we see; with no configured remote selectors we
	 * take its claim (its packets arrive UDP-encapsulated from the NAT's address). */
	if (sa->natt && transport && sa->cfg->ts_remote.n == 0)
		tsr = m->tsi;
	/* The initiator's TSi are its side, i.e. our remote; TSr our local. */
	if (!ts_narrow(&tsr, &m->tsi, ni) || !ts_narrow(&tsl, &m->tsr, nr))
		return SS_N_TS_UNACCEPTABLE;
	return 0;
}

static size_t build_auth_response(ike_sa *sa, uint16_t child_err, const ss_esp_suite *es,
				  uint8_t num, const ss_ike_ts_pl *ni, const ss_ike_ts_pl *nr,
				  uint8_t *out, size_t cap)
{
	uint8_t inner[SS_IKE_BUF];
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	const char *why = auth_write(NULL, sa, &w);
	if (why) {
		ss_wipe(inner, sizeof(inner));
		SS_INFO(SUB, "SA %u: cannot authenticate: %s", sa->handle, why);
		return 0;
	}
	if (child_err) {
		ss_ikew_notify(&w, 0, NULL, 0, child_err, NULL, 0);
	} else {
		if (sa->cfg->mode == SS_MODE_TRANSPORT)
			ss_ikew_notify(&w, 0, NULL, 0, SS_N_USE_TRANSPORT_MODE, NULL, 0);
		ss_ike_sa_pl *sap = malloc(sizeof(*sap));
		if (!sap)
			return 0;
		prop_build_esp(sap, es, 1, sa->child_spi, false);
		sap->prop[0].num = num;
		ss_ikew_sa(&w, sap);
		free(sap);
		ss_ikew_ts(&w, SS_PL_TSI, ni);
		ss_ikew_ts(&w, SS_PL_TSR, nr);
	}
	ss_ikew_finish(&w);
	size_t n = sa_seal(sa, SS_IKE_AUTH, true, sa->peer_msg_id, &w, out, cap);
	ss_wipe(inner, sizeof(inner));
	return n;
}

void auth_request_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now)
{
	if (sa->state != ST_HALF_OPEN) {
		e->st.dropped++;
		return;
	}
	sa_leave_half_open(e, sa);
	if (!ss_ike_has(m, SS_PL_IDI) || !ss_ike_has(m, SS_PL_AUTH)) {
		/* The refusal is still sealed: the keys come from IKE_SA_INIT, not from a config. */
		auth_fail_reply(e, sa, "expected IDi and AUTH");
		return;
	}
	ss_ike_id idi = id_of_payload(&m->idi);
	const ss_ike_config *cfg = e->p.lookup ?
		e->p.lookup(e->p.lookup_ctx, &sa->local, &sa->remote, &idi) : NULL;
	if (!cfg) {
		auth_fail_reply(e, sa, "no configuration for this identity");
		return;
	}
	sa->cfg = cfg_get(e, cfg);
	if (!sa->cfg) {
		e->st.sa_failed++;
		responder_refused(e, sa, 0, "out of memory");
		sa_kill(sa, "out of memory");
		return;
	}
	cert_note_peer(sa, m);
	const char *why = auth_verify(e, sa, m, &m->idi);
	if (why) {
		auth_fail_reply(e, sa, why);
		return;
	}
	if (!sa_set_peer_id(sa, &idi)) {
		auth_fail_reply(e, sa, "out of memory");
		return;
	}
	sa->peer_id_known = true;
	sa_index_ident(e, sa);
	ss_esp_suite es = { 0 };
	uint8_t num = 0;
	uint32_t peer_spi = 0;
	ss_ike_ts_pl ni, nr;
	uint16_t child_err = child_select(sa, m, true, &es, &num, &peer_spi, &ni, &nr);
	sa->child_spi = child_err ? 0 : new_child_spi(e);
	if (!child_err && !sa->child_spi) {
		/* The CSPRNG failed: fail closed, never offer SPI 0. */
		sa_kill(sa, "no random SPI");
		e->st.sa_failed++;
		responder_refused(e, sa, 0, "no random SPI");
		return;
	}
	uint8_t out[SS_IKE_BUF];
	size_t n = build_auth_response(sa, child_err, &es, num, &ni, &nr, out, sizeof(out));
	if (!n) {
		e->st.sa_failed++;
		responder_refused(e, sa, 0, "cannot build IKE_AUTH response");
		sa_kill(sa, "cannot build IKE_AUTH response");
		return;
	}
	/* The move comes before the answer: a refused one sends nothing that would make the
	 * initiator install a CHILD SA we never will. */
	if (!sa_set_state(sa, ST_ESTABLISHED, "IKE_AUTH done")) {
		e->st.sa_failed++;
		responder_refused(e, sa, 0, "IKE SA cannot be established in its state");
		sa_kill(sa, "state change refused");
		return;
	}
	sa_init_msgs_done(sa); /* our AUTH is built: the IKE_SA_INIT messages are not needed again */
	e->st.sa_established++;
	ike_lifetime_start(sa, now);
	contact_received(e, sa, m);
	if (child_err) {
		/* The IKE SA stands (the initiator deletes it), but no traffic will be secured. */
		sa_send_response(e, sa, out, n);
		SS_INFO(SUB, "SA %u: CHILD SA refused: %s", sa->handle, ss_ike_notify_name(child_err));
		responder_refused(e, sa, child_err, ss_ike_notify_name(child_err));
		return;
	}
	ss_child_keys ck;
	if (!ss_child_keys_derive(&ck, &es, &sa->keys, NULL, 0, sa->ni, sa->ni_len, sa->nr, sa->nr_len)) {
		sa_send_response(e, sa, out, n);
		responder_refused(e, sa, 0, "CHILD SA key derivation failed");
		return;
	}
	ss_ike_child_info ci;
	child_info(sa, &ck, false, sa->child_spi, peer_spi, &nr, &ni, &ci);
	ss_child_keys_wipe(&ck);
	/* CHILD_UP before the answer: the caller installs our SAs before the initiator can
	 * have its own and send ESP.  With the kernel's ESP the other order lost the
	 * initiator's first packets (its held burst met no inbound SA: 99 of 400 in the VM). */
	child_up(e, sa, &ci, now);
	sa_send_response(e, sa, out, n);
	act_outcome(e, sa, SS_IKE_SECURED, 0, "peer established IKE SA and CHILD SA");
	converge(e, sa, now);
}
