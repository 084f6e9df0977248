/* CREATE_CHILD_SA (§1.3): a new CHILD SA, rekeying a CHILD SA (§1.3.3) and rekeying the IKE
 * SA (§1.3.2, §2.18), with PFS when the configuration names a group (§1.3.1). */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "ike/ike_internal.h"

ike_child *child_by_spi_in(ike_sa *sa, uint32_t spi)
{
	for (int i = 0; i < SS_IKE_MAX_CHILD; i++)
		if (sa->child[i] && sa->child[i]->spi_in == spi)
			return sa->child[i];
	return NULL;
}

ike_child *child_by_spi_out(ike_sa *sa, uint32_t spi)
{
	for (int i = 0; i < SS_IKE_MAX_CHILD; i++)
		if (sa->child[i] && sa->child[i]->spi_out == spi)
			return sa->child[i];
	return NULL;
}

static void spi_bytes(uint64_t v, uint8_t out[8])
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static uint64_t spi_from(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Our KE for a fresh DH of this group, kept in *dh; false on failure.  As initiator *dh is
 * sa->dh (it must survive until the response); as responder a local one, so that answering
 * the peer never disturbs our own request in flight. */
static bool put_ke(ss_dh **dh, ss_ike_writer *w, uint16_t group)
{
	uint8_t ke[SS_DH_PUB_MAX];
	size_t len = ss_dh_pub_len(group);
	ss_dh_free(*dh);
	*dh = ss_dh_new(group);
	if (!*dh || !ss_dh_public(*dh, ke, len))
		return false;
	ss_ikew_ke(w, group, ke, len);
	return true;
}

/* g^ir from the peer's KE with our DH (then dropped); *len 0 without a group. */
static bool shared(ss_dh **dh, const ss_ike_msg *m, uint16_t group, uint8_t *gir, size_t *len)
{
	*len = 0;
	if (group == SS_DH_NONE)
		return true;
	if (!*dh || !ss_ike_has(m, SS_PL_KE) || m->ke.group != group)
		return false;
	*len = ss_dh_secret_len(group);
	bool ok = ss_dh_derive(*dh, m->ke.data.p, m->ke.data.len, gir, *len) == SS_DH_OK;
	ss_dh_free(*dh);
	*dh = NULL;
	return ok;
}

static bool busy(const ike_sa *sa)
{
	return sa->state != ST_ESTABLISHED || sa->out.req || sa->rekeyed;
}

/* ---- Initiator ---- */

static bool start_child(ss_ike_engine *e, ike_sa *sa, ike_child *old, ss_time now)
{
	uint8_t inner[SS_IKE_BUF];
	uint16_t pfs = sa->cfg->esp[0].dh;
	sa->xn_len = SS_IKE_NONCE_LEN;
	sa->child_spi = new_child_spi(e);
	if (!sa->child_spi || !ss_random(sa->xn, sa->xn_len))
		return false;
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	if (old) {
		uint8_t spi[4];
		for (int i = 0; i < 4; i++)
			spi[i] = (uint8_t)(old->spi_in >> (24 - 8 * i));
		ss_ikew_notify(&w, SS_PROTO_ESP, spi, 4, SS_N_REKEY_SA, NULL, 0);
	}
	if (sa->cfg->mode == SS_MODE_TRANSPORT)
		ss_ikew_notify(&w, 0, NULL, 0, SS_N_USE_TRANSPORT_MODE, NULL, 0);
	ss_ike_sa_pl *sap = malloc(sizeof(*sap));
	if (!sap)
		return false;
	prop_build_esp(sap, sa->cfg->esp, sa->cfg->n_esp, sa->child_spi, true);
	ss_ikew_sa(&w, sap);
	free(sap);
	ss_ikew_nonce(&w, sa->xn, sa->xn_len);
	if (pfs != SS_DH_NONE && !put_ke(&sa->dh, &w, pfs))
		return false;
	ss_ike_ts_pl tsl, tsr;
	if (old) {
		child_ts(old, &tsl, &tsr);
	} else {
		our_ts(sa, &tsl, &tsr);
	}
	ss_ikew_ts(&w, SS_PL_TSI, &tsl);
	ss_ikew_ts(&w, SS_PL_TSR, &tsr);
	ss_ikew_finish(&w);
	if (!sa_request(e, sa, SS_IKE_CREATE_CHILD_SA, &w, now))
		return false;
	sa->op = old ? OP_REKEY_CHILD : OP_NEW_CHILD;
	sa->op_spi = old ? old->spi_in : 0;
	return true;
}

bool ss_ike_create_child(ss_ike_engine *e, uint32_t h, ss_time now)
{
	eng_begin(e);
	ike_sa *sa = sa_by_handle(e, h);
	return sa && !busy(sa) && start_child(e, sa, NULL, now);
}

bool ss_ike_rekey_child(ss_ike_engine *e, uint32_t h, uint32_t spi_in, ss_time now)
{
	eng_begin(e);
	ike_sa *sa = sa_by_handle(e, h);
	ike_child *old = sa ? child_by_spi_in(sa, spi_in) : NULL;
	return old && !busy(sa) && start_child(e, sa, old, now);
}

bool ss_ike_rekey_ike(ss_ike_engine *e, uint32_t h, ss_time now)
{
	eng_begin(e);
	ike_sa *sa = sa_by_handle(e, h);
	if (!sa || busy(sa))
		return false;
	uint8_t inner[SS_IKE_BUF], spi[8];
	sa->xn_len = SS_IKE_NONCE_LEN;
	sa->new_spi = sa_new_spi();
	if (!sa->new_spi || !ss_random(sa->xn, sa->xn_len))
		return false;
	spi_bytes(sa->new_spi, spi);
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	/* The current suite only: its group is the one our KE uses. */
	ss_ike_sa_pl sap;
	prop_build_ike(&sap, &sa->suite, 1, spi, 8);
	ss_ikew_sa(&w, &sap);
	ss_ikew_nonce(&w, sa->xn, sa->xn_len);
	if (!put_ke(&sa->dh, &w, sa->suite.dh))
		return false;
	ss_ikew_finish(&w);
	if (!sa_request(e, sa, SS_IKE_CREATE_CHILD_SA, &w, now))
		return false;
	sa->op = OP_REKEY_IKE;
	return true;
}

static void child_done(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, enum ike_op op, ss_time now)
{
	ss_esp_suite es;
	uint32_t peer_spi;
	uint8_t gir[SS_DH_SECRET_MAX];
	size_t glen = 0;
	ss_ike_ts_pl tsl, tsr;
	ike_child *old = op == OP_REKEY_CHILD ? child_by_spi_in(sa, sa->op_spi) : NULL;
	if (old) {
		child_ts(old, &tsl, &tsr);
	} else {
		our_ts(sa, &tsl, &tsr);
	}
	const char *why = NULL;
	ss_child_keys ck;
	if (!ss_ike_has(m, SS_PL_SA) || !ss_ike_has(m, SS_PL_NONCE) ||
	    !prop_accept_esp(&m->sa, sa->cfg->esp, sa->cfg->n_esp, false, &es, &peer_spi) ||
	    es.dh != sa->cfg->esp[0].dh)
		why = "responder's CHILD SA is not one we offered";
	else if (!ts_subset(&m->tsi, &tsl) || !ts_subset(&m->tsr, &tsr))
		why = "responder's selectors exceed ours";
	else if (!shared(&sa->dh, m, es.dh, gir, &glen))
		why = "PFS key exchange failed";
	else if (!ss_child_keys_derive(&ck, &es, &sa->keys, glen ? gir : NULL, glen, sa->xn,
				       sa->xn_len, m->nonce.p, m->nonce.len))
		why = "CHILD SA key derivation failed";
	ss_wipe(gir, sizeof(gir));
	if (why) {
		SS_INFO(SUB, "SA %u: CREATE_CHILD_SA failed: %s", sa->handle, why);
		return;
	}
	ss_ike_child_info ci;
	child_info(sa, &ck, true, sa->child_spi, peer_spi, &m->tsi, &m->tsr, &ci);
	ss_child_keys_wipe(&ck);
	ci.rekey_of = old ? old->spi_in : 0;
	child_up(e, sa, &ci, now);
	if (op == OP_REKEY_CHILD && sa->coll_spi) {
		/* §2.8.1: both sides rekeyed the same CHILD SA.  The new SA made with the lowest
		 * of the four nonces is redundant; its creator deletes it, and the other rekey's
		 * initiator deletes the old one.  Both ends compare the same nonces. */
		const uint8_t *mine = sa->xn;
		size_t mine_len = sa->xn_len;
		if (nonce_cmp(m->nonce.p, m->nonce.len, mine, mine_len) < 0) {
			mine = m->nonce.p;
			mine_len = m->nonce.len;
		}
		bool we_lose = nonce_cmp(mine, mine_len, sa->coll_nonce, sa->coll_nonce_len) < 0;
		SS_INFO(SUB, "SA %u: CHILD rekey collision, %s rekey is redundant", sa->handle,
			we_lose ? "our" : "the peer's");
		sa->coll_spi = 0;
		if (we_lose) {
			child_send_delete(e, sa, ci.spi_in, now);
			return;
		}
	}
	/* §1.3.3: the rekeying side deletes the old CHILD SA once the new one is up. */
	if (old)
		child_send_delete(e, sa, ci.rekey_of, now);
}

/* The new IKE SA of a rekey, either side: keys from the old one.  Silent (no handle, no
 * CHILD SA, no actions: sa_reap reports nothing for it) until ike_adopt() makes it the SA. */
static ike_sa *ike_successor(ss_ike_engine *e, ike_sa *old, bool initiator, uint64_t spi_i,
			     uint64_t spi_r, const ss_ike_suite *s, const uint8_t *gir, size_t glen,
			     const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
			     ss_time now)
{
	ike_sa *n = sa_new(e, initiator, &old->local, &old->remote, now);
	if (!n)
		return NULL;
	sa_leave_half_open(e, n);
	/* sa_new() indexed an initiator under its own fresh SPIi: re-enter under the real one. */
	if (n->indexed)
		sa_unindex(e, n);
	n->spi_i = spi_i;
	sa_index(e, n);
	n->spi_r = spi_r;
	n->suite = *s;
	n->natt = old->natt;
	n->nat = old->nat;
	n->keepalive_at = old->keepalive_at;
	n->cfg = cfg_share(old->cfg);
	n->peer_hashes = old->peer_hashes;
	n->peer_certreq = old->peer_certreq;
	uint8_t si[8], sr[8];
	spi_bytes(spi_i, si);
	spi_bytes(spi_r, sr);
	if (!n->cfg || !auth_peer_copy(n, old) || !ss_ike_keys_rekey(&n->keys, s, &old->keys, gir, glen, ni, ni_len, nr, nr_len, si, sr) ||
	    !ss_sk_init_pair(&n->sk_send, &n->sk_recv, &n->keys, initiator)) {
		sa_kill(n, "IKE rekey failed");
		return NULL;
	}
	n->keyed = true;
	n->answered = true;
	if (!sa_set_state(n, ST_ESTABLISHED, "rekeyed IKE SA")) {
		sa_kill(n, "state change refused");
		return NULL;
	}
	ike_lifetime_start(n, now);
	return n;
}

/* The successor takes over: CHILD SAs and the caller's handle move to it. */
static void ike_adopt(ss_ike_engine *e, ike_sa *old, ike_sa *n, ss_time now)
{
	n->outcome_sent = true;
	memcpy(n->child, old->child, sizeof(n->child));
	memset(old->child, 0, sizeof(old->child));
	old->rekeyed = true;
	old->ike_coll = 0;
	old->ike_expire_at = now + REKEYED_LINGER_MS;
	sa_swap_handles(e, old, n);
	act_child(e, n, SS_IKE_ACT_IKE_REKEYED, &(ss_ike_child_info){ 0 });
	SS_INFO(SUB, "SA %u: IKE SA rekeyed", n->handle);
}

void ike_coll_peer_won(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	ike_sa *theirs = sa->ike_coll ? sa_by_handle(e, sa->ike_coll) : NULL;
	if (theirs)
		ike_adopt(e, sa, theirs, now);
}

/* §1.3.2: the rekeying side deletes the old IKE SA. */
static void delete_old(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	uint8_t inner[16];
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_delete(&w, SS_PROTO_IKE, 0, 0, NULL);
	ss_ikew_finish(&w);
	if (sa_request(e, sa, SS_IKE_INFORMATIONAL, &w, now)) {
		sa->op = OP_DELETE_IKE;
		if (!sa_set_state(sa, ST_DELETING, "rekeyed"))
			sa_kill(sa, "state change refused");
	} else {
		sa_kill(sa, "rekeyed");
	}
}

#define COLL_GRACE_MS 10000

/* §2.8.2: both ends rekeyed the IKE SA at once, and each answered the other.  The new SA
 * made with the lowest of the four nonces is redundant and its initiator deletes it; the
 * initiator of the other deletes the old SA.  Both ends compare the same nonces. */
static void ike_collision(ss_ike_engine *e, ike_sa *sa, ike_sa *ours, ike_sa *theirs,
			  const uint8_t *peer_nr, size_t peer_nr_len, ss_time now)
{
	const uint8_t *low = sa->xn;
	size_t low_len = sa->xn_len;
	if (nonce_cmp(peer_nr, peer_nr_len, low, low_len) < 0) {
		low = peer_nr;
		low_len = peer_nr_len;
	}
	bool we_lose = nonce_cmp(low, low_len, sa->ike_coll_nonce, sa->ike_coll_nonce_len) < 0;
	SS_INFO(SUB, "SA %u: IKE rekey collision, %s rekey is redundant", sa->handle,
		we_lose ? "our" : "the peer's");
	if (we_lose) {
		ike_adopt(e, sa, theirs, now);
		ss_ike_delete_sa(e, ours, now);   /* silent: reports nothing when it goes */
		return;                           /* the peer deletes the old SA */
	}
	ike_adopt(e, sa, ours, now);
	delete_old(e, sa, now);                   /* the peer deletes its redundant one... */
	/* ...unless our answer to its rekey was lost and it never made it: then nobody would,
	 * so we delete it ourselves once the peer has had time to (it stays silent). */
	theirs->ike_expire_at = now + COLL_GRACE_MS;
}

static void ike_rekey_done(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now)
{
	ss_ike_suite s;
	uint8_t gir[SS_DH_SECRET_MAX];
	size_t glen = 0;
	const ss_ike_proposal *p = ss_ike_has(m, SS_PL_SA) && m->sa.n == 1 ? &m->sa.prop[0] : NULL;
	ike_sa *n = NULL;
	if (p && p->spi_size == 8 && ss_ike_has(m, SS_PL_NONCE) &&
	    prop_accept_ike(&m->sa, &sa->suite, 1, &s) && shared(&sa->dh, m, s.dh, gir, &glen))
		n = ike_successor(e, sa, true, sa->new_spi, spi_from(p->spi, 8), &s, gir, glen, sa->xn,
				  sa->xn_len, m->nonce.p, m->nonce.len, now);
	ss_wipe(gir, sizeof(gir));
	ike_sa *theirs = sa->ike_coll ? sa_by_handle(e, sa->ike_coll) : NULL;
	if (!n) {
		SS_INFO(SUB, "SA %u: IKE rekey failed", sa->handle);
		if (theirs) /* the peer's rekey, which we answered, stands alone */
			ike_adopt(e, sa, theirs, now);
		return;
	}
	if (theirs) {
		ike_collision(e, sa, n, theirs, m->nonce.p, m->nonce.len, now);
		return;
	}
	ike_adopt(e, sa, n, now);
	delete_old(e, sa, now);
}

void child_response_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now)
{
	sa_clear_request(sa);
	sa->my_msg_id++;
	enum ike_op op = sa->op;
	sa->op = OP_NONE;
	const ss_ike_notify_pl *err = ss_ike_first_error(m);
	if (err) {
		SS_INFO(SUB, "SA %u: CREATE_CHILD_SA refused: %s", sa->handle, ss_ike_notify_name(err->type));
		ike_sa *theirs = op == OP_REKEY_IKE && sa->ike_coll ? sa_by_handle(e, sa->ike_coll) : NULL;
		if (theirs) /* ours refused, the peer's (answered) stands: its initiator deletes this */
			ike_adopt(e, sa, theirs, now);
	} else if (op == OP_REKEY_IKE) {
		ike_rekey_done(e, sa, m, now);
	} else if (op == OP_NEW_CHILD || op == OP_REKEY_CHILD) {
		child_done(e, sa, m, op, now);
	}
	ss_dh_free(sa->dh);
	sa->dh = NULL;
}

/* ---- Responder ---- */

static void refuse(ss_ike_engine *e, ike_sa *sa, uint16_t type, uint16_t group)
{
	uint8_t inner[64], g[2] = { (uint8_t)(group >> 8), (uint8_t)group };
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_notify(&w, 0, NULL, 0, type, g, type == SS_N_INVALID_KE_PAYLOAD ? 2 : 0);
	ss_ikew_finish(&w);
	sa_respond(e, sa, SS_IKE_CREATE_CHILD_SA, &w);
	SS_INFO(SUB, "SA %u: CREATE_CHILD_SA answered %s", sa->handle, ss_ike_notify_name(type));
}

static void child_respond(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now)
{
	const ss_ike_notify_pl *rk = ss_ike_find_notify(m, SS_N_REKEY_SA);
	ike_child *old = NULL;
	if (rk) {
		old = rk->spi_size == 4 ? child_by_spi_out(sa, (uint32_t)spi_from(rk->spi, 4)) : NULL;
		if (!old)
			return refuse(e, sa, SS_N_CHILD_SA_NOT_FOUND, 0);
		/* §2.25: we rekeyed it already and are deleting it. */
		if (sa->op == OP_DELETE_CHILD && sa->op_spi == old->spi_in)
			return refuse(e, sa, SS_N_TEMPORARY_FAILURE, 0);
	}
	/* Bounded state per peer: a CHILD SA we cannot track is refused, not made. */
	if (!child_slot_free(sa))
		return refuse(e, sa, SS_N_NO_ADDITIONAL_SAS, 0);
	ss_esp_suite es;
	uint8_t num = 0, inner[SS_IKE_BUF], nr[SS_IKE_NONCE_LEN], gir[SS_DH_SECRET_MAX];
	uint32_t peer_spi = 0;
	ss_ike_ts_pl tni, tnr;
	uint16_t err = child_select(sa, m, false, &es, &num, &peer_spi, &tni, &tnr);
	if (err)
		return refuse(e, sa, err, 0);
	if (es.dh != SS_DH_NONE && (!ss_ike_has(m, SS_PL_KE) || m->ke.group != es.dh))
		return refuse(e, sa, SS_N_INVALID_KE_PAYLOAD, es.dh);
	/* Not sa->child_spi: that belongs to our own request, which may be in flight. */
	uint32_t my_spi = new_child_spi(e);
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	if (sa->cfg->mode == SS_MODE_TRANSPORT)
		ss_ikew_notify(&w, 0, NULL, 0, SS_N_USE_TRANSPORT_MODE, NULL, 0);
	ss_ike_sa_pl sap;
	prop_build_esp(&sap, &es, 1, my_spi, true);
	sap.prop[0].num = num;
	ss_ikew_sa(&w, &sap);
	size_t glen = 0;
	ss_child_keys ck;
	ss_dh *dh = NULL;
	bool ok = my_spi && ss_random(nr, sizeof(nr));
	if (ok) {
		ss_ikew_nonce(&w, nr, sizeof(nr));
		ok = (es.dh == SS_DH_NONE || put_ke(&dh, &w, es.dh)) && shared(&dh, m, es.dh, gir, &glen) &&
		     ss_child_keys_derive(&ck, &es, &sa->keys, glen ? gir : NULL, glen, m->nonce.p,
					  m->nonce.len, nr, sizeof(nr));
	}
	ss_dh_free(dh);
	ss_wipe(gir, sizeof(gir));
	if (!ok)
		return refuse(e, sa, SS_N_NO_PROPOSAL_CHOSEN, 0);
	ss_ikew_ts(&w, SS_PL_TSI, &tni);
	ss_ikew_ts(&w, SS_PL_TSR, &tnr);
	ss_ikew_finish(&w);
	sa_respond(e, sa, SS_IKE_CREATE_CHILD_SA, &w);
	ss_ike_child_info ci;
	child_info(sa, &ck, false, my_spi, peer_spi, &tnr, &tni, &ci);
	ss_child_keys_wipe(&ck);
	ci.rekey_of = old ? old->spi_in : 0;
	if (old) {
		old->rekey_at = SS_NEVER;  /* the peer took care of it */
		if (sa->op == OP_REKEY_CHILD && sa->op_spi == old->spi_in) {
			/* Our own rekey of it is in flight: remember this exchange's lower nonce. */
			bool ni_low = nonce_cmp(m->nonce.p, m->nonce.len, nr, sizeof(nr)) < 0;
			sa->coll_spi = ci.spi_in;
			sa_set_bytes(&sa->coll_nonce, &sa->coll_nonce_len, ni_low ? m->nonce.p : nr,
				     ni_low ? m->nonce.len : sizeof(nr));
		}
	}
	child_up(e, sa, &ci, now);
}

/* collision: our own IKE rekey is in flight (§2.8.2): the successor waits for the verdict. */
static void ike_rekey_respond(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, bool collision,
			      ss_time now)
{
	ss_ike_suite s;
	uint8_t num = 0;
	uint16_t ke = ss_ike_has(m, SS_PL_KE) ? m->ke.group : 0;
	if (!prop_select_ike(&m->sa, sa->cfg->ike, sa->cfg->n_ike, ke, &s, &num))
		return refuse(e, sa, SS_N_NO_PROPOSAL_CHOSEN, 0);
	const ss_ike_proposal *p = NULL;
	for (unsigned i = 0; i < m->sa.n; i++)
		if (m->sa.prop[i].num == num)
			p = &m->sa.prop[i];
	if (!p || p->spi_size != 8)
		return refuse(e, sa, SS_N_INVALID_SYNTAX, 0);
	if (!ss_ike_has(m, SS_PL_KE) || m->ke.group != s.dh)
		return refuse(e, sa, SS_N_INVALID_KE_PAYLOAD, s.dh);
	uint8_t inner[SS_IKE_BUF], nr[SS_IKE_NONCE_LEN], spi[8], gir[SS_DH_SECRET_MAX];
	uint64_t my_spi = sa_new_spi();
	spi_bytes(my_spi, spi);
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ike_sa_pl sap;
	prop_build_ike(&sap, &s, 1, spi, 8);
	sap.prop[0].num = num;
	ss_ikew_sa(&w, &sap);
	size_t glen = 0;
	ss_dh *dh = NULL;
	bool ok = my_spi && ss_random(nr, sizeof(nr));
	if (ok) {
		ss_ikew_nonce(&w, nr, sizeof(nr));
		ok = put_ke(&dh, &w, s.dh) && shared(&dh, m, s.dh, gir, &glen);
	}
	ss_dh_free(dh);
	ss_ikew_finish(&w);
	ike_sa *n = ok ? ike_successor(e, sa, false, spi_from(p->spi, 8), my_spi, &s, gir, glen,
				     m->nonce.p, m->nonce.len, nr, sizeof(nr), now) : NULL;
	ss_wipe(gir, sizeof(gir));
	if (!n)
		return refuse(e, sa, SS_N_NO_PROPOSAL_CHOSEN, 0);
	/* The answer goes under the old keys, before the successor takes the children. */
	sa_respond(e, sa, SS_IKE_CREATE_CHILD_SA, &w);
	if (!collision) {
		ike_adopt(e, sa, n, now);
		return;
	}
	bool ni_low = nonce_cmp(m->nonce.p, m->nonce.len, nr, sizeof(nr)) < 0;
	sa->ike_coll = n->handle;
	sa_set_bytes(&sa->ike_coll_nonce, &sa->ike_coll_nonce_len, ni_low ? m->nonce.p : nr,
		     ni_low ? m->nonce.len : sizeof(nr));
}

void child_request_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now)
{
	if (sa->state != ST_ESTABLISHED || sa->rekeyed) {
		/* §2.25: a rekeyed or closing SA takes no new CHILD SAs. */
		uint8_t inner[16];
		ss_ike_writer w;
		ss_ikew_init_inner(&w, inner, sizeof(inner));
		ss_ikew_notify(&w, 0, NULL, 0, SS_N_TEMPORARY_FAILURE, NULL, 0);
		ss_ikew_finish(&w);
		sa_respond(e, sa, SS_IKE_CREATE_CHILD_SA, &w);
		return;
	}
	if (!ss_ike_has(m, SS_PL_SA) || !ss_ike_has(m, SS_PL_NONCE) || m->sa.n == 0)
		return refuse(e, sa, SS_N_INVALID_SYNTAX, 0);
	bool ike = m->sa.prop[0].proto == SS_PROTO_IKE;
	bool collision = ike && sa->out.req && sa->op == OP_REKEY_IKE && !sa->ike_coll;
	if (ike && sa->out.req && !collision)
		/* §2.25: not while another request of ours is in flight on this SA: the
		 * successor would strand its answer. */
		refuse(e, sa, SS_N_TEMPORARY_FAILURE, 0);
	else if (ike)
		ike_rekey_respond(e, sa, m, collision, now);
	else
		child_respond(e, sa, m, now);
}

/* ---- Lifetimes ---- */

static bool idle(const ike_sa *sa)
{
	return sa->state == ST_ESTABLISHED && !sa->out.req && !sa->rekeyed;
}

ss_time lifetime_deadline(const ike_sa *sa)
{
	if (!idle(sa))
		return SS_NEVER;
	ss_time t = ss_time_min(sa->rekey_at, sa->ike_expire_at);
	for (int i = 0; i < SS_IKE_MAX_CHILD; i++)
		if (sa->child[i])
			t = ss_time_min(t, ss_time_min(sa->child[i]->rekey_at, sa->child[i]->expire_at));
	return t;
}

void lifetime_timer(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	if (!idle(sa))
		return;
	if (now >= sa->ike_expire_at) {
		SS_INFO(SUB, "SA %u: IKE SA lifetime over without a rekey: deleting it", sa->handle);
		sa->ike_expire_at = SS_NEVER;
		ss_ike_delete_sa(e, sa, now);
		return;
	}
	for (int i = 0; i < SS_IKE_MAX_CHILD; i++) {
		ike_child *c = sa->child[i];
		if (!c)
			continue;
		if (now >= c->expire_at) {
			SS_INFO(SUB, "SA %u: CHILD SA %08x expired", sa->handle, c->spi_in);
			c->expire_at = SS_NEVER;  /* once, even if the delete cannot go now */
			c->rekey_at = SS_NEVER;
			child_send_delete(e, sa, c->spi_in, now);
			return;
		}
		if (now >= c->rekey_at) {
			c->rekey_at = SS_NEVER;
			if (start_child(e, sa, c, now))
				return;
		}
	}
	if (now >= sa->rekey_at) {
		sa->rekey_at = SS_NEVER;
		ss_ike_rekey_ike(e, sa->handle, now);
	}
}
