/* The IKE SA table, its one state-changing function, keys, SK protection, and the
 * reliability layer: message IDs, window 1, retransmissions and the response cache. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "ike/ike_internal.h"

static const char *const state_name[ST_COUNT] = {
	[ST_INIT_SENT] = "init-sent", [ST_AUTH_SENT] = "auth-sent", [ST_HALF_OPEN] = "half-open",
	[ST_ESTABLISHED] = "established", [ST_DELETING] = "deleting", [ST_DEAD] = "dead",
};

/* Legal moves: legal[from] has bit (1 << to).  Everything may die. */
#define B(s) (1u << (s))
static const unsigned legal[ST_COUNT] = {
	/* INIT_SENT -> ESTABLISHED only for an IKE SA born from a rekey (§1.3.2). */
	[ST_INIT_SENT] = B(ST_INIT_SENT) | B(ST_AUTH_SENT) | B(ST_ESTABLISHED) | B(ST_DEAD),
	[ST_AUTH_SENT] = B(ST_ESTABLISHED) | B(ST_DEAD),
	[ST_HALF_OPEN] = B(ST_ESTABLISHED) | B(ST_DEAD),
	[ST_ESTABLISHED] = B(ST_DELETING) | B(ST_DEAD),
	[ST_DELETING] = B(ST_DEAD),
	[ST_DEAD] = 0,
};

bool sa_set_state(ike_sa *sa, enum ike_state to, const char *reason)
{
	if (!(legal[sa->state] & B(to))) {
		SS_ERR(SUB, "SA %u: refused illegal move %s -> %s (%s)", sa->handle,
		       state_name[sa->state], state_name[to], reason);
		return false;
	}
	SS_DEBUG(SUB, "SA %u: %s -> %s (%s)", sa->handle, state_name[sa->state], state_name[to],
		 reason);
	sa->state = to;
	if (to == ST_DEAD && !sa->gone_reason)
		sa->gone_reason = reason;
	return true;
}

void sa_kill(ike_sa *sa, const char *reason)
{
	if (sa->state != ST_DEAD && !sa_set_state(sa, ST_DEAD, reason)) {
		/* unreachable while every row allows ST_DEAD; fail closed anyway */
		sa->state = ST_DEAD;
		if (!sa->gone_reason)
			sa->gone_reason = reason;
	}
}

uint64_t sa_new_spi(void)
{
	uint64_t s = 0;
	/* Never 0 (means "unknown"), and never 32 leading zero bits, so that a quoted datagram
	 * on 4500 is told apart from one on 500 by its first word (ss_ike_icmp). */
	while ((s >> 32) == 0)
		if (!ss_random(&s, sizeof(s)))
			return 0;
	return s;
}

uint32_t new_child_spi(const ss_ike_engine *e)
{
	/* 100k random inbound SPIs collide about once (birthday bound, 2^32 values): the
	 * caller's index says which are taken, so that no CHILD SA fails to install for that. */
	for (int tries = 0; tries < 64; tries++) {
		uint32_t s = 0;
		while (s < 256)  /* 1..255 are reserved (RFC 4303 §2.1) */
			if (!ss_random(&s, sizeof(s)))
				return 0;
		if (!e->p.spi_in_use || !e->p.spi_in_use(e->p.spi_ctx, s))
			return s;
	}
	return 0;
}

ike_sa *sa_new(ss_ike_engine *e, bool initiator, const ss_ike_endpoint *local,
	       const ss_ike_endpoint *remote, ss_time now)
{
	if (e->st.sas >= e->p.max_sas)
		return NULL;
	ike_sa *sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	uint64_t spi = sa_new_spi();
	if (!spi) {
		free(sa);
		return NULL;
	}
	/* Handles wrap after 2^32 SAs: skip one still held by a long-lived SA. */
	do {
		sa->handle = e->next_handle++;
		if (e->next_handle == 0)
			e->next_handle = 1;
	} while (ss_hmap_first(&e->by_handle, sa->handle));
	sa->initiator = initiator;
	if (initiator)
		sa->spi_i = spi;
	else
		sa->spi_r = spi;
	sa->local = *local;
	sa->remote = *remote;
	if (!sa_table_add(e, sa)) {
		free(sa);
		return NULL;
	}
	if (initiator)
		sa_index(e, sa);
	sa->created = now;
	sa->rekey_at = SS_NEVER;
	sa->ike_expire_at = SS_NEVER;
	sa->keepalive_at = SS_NEVER;
	live_init(sa, now);
	sa->hinted_at = SS_NEVER;
	sa->state = initiator ? ST_INIT_SENT : ST_HALF_OPEN;
	e->st.sas++;
	if (!initiator) {
		sa->half_open = true;
		sa_reclass(e, sa);
		sa->expires = now + e->p.half_open_timeout_ms;
		e->st.half_open++;
		if (e->st.half_open > e->st.half_open_peak)
			e->st.half_open_peak = e->st.half_open;
	}
	return sa;
}

void sa_leave_half_open(ss_ike_engine *e, ike_sa *sa)
{
	if (sa->half_open) {
		sa->half_open = false;
		sa_reclass(e, sa);
		e->st.half_open--;
		/* Hysteresis: the flood is over well below the threshold, not at its edge. */
		if (e->st.cookies_required && e->st.half_open < e->p.cookie_threshold / 2) {
			e->st.cookies_required = false;
			SS_WARN(SUB, "IKE_SA_INIT flood over: %u half-open SAs, %llu COOKIEs sent so far",
				e->st.half_open, (unsigned long long)e->st.cookies_sent);
		}
	}
}

bool sa_set_bytes(uint8_t **p, size_t *plen, const uint8_t *src, size_t len)
{
	free(*p);
	*p = malloc(len ? len : 1);
	*plen = *p ? len : 0;
	if (*p && len)
		memcpy(*p, src, len);
	return *p != NULL;
}

bool sa_set_peer_id(ike_sa *sa, const ss_ike_id *id)
{
	sa->peer_id_type = id->type;
	return sa_set_bytes(&sa->peer_id_data, &sa->peer_id_len, id->data, id->len);
}

void sa_free(ss_ike_engine *e, ike_sa *sa)
{
	ss_dh_free(sa->dh);
	free(sa->cookie);
	free(sa->init_req);
	free(sa->init_resp);
	free(sa->out.req);
	free(sa->resp);
	free(sa->ni);
	free(sa->nr);
	/* The identity came out of a decrypted IKE_AUTH: wiped like the SA itself. */
	ss_free_secret(sa->peer_id_data, sa->peer_id_len);
	ss_free_secret(sa->peer_cert, sizeof(*sa->peer_cert));
	free(sa->coll_nonce);
	free(sa->ike_coll_nonce);
	child_free_all(sa);
	cfg_put(e, sa->cfg);
	ss_ike_keys_wipe(&sa->keys);
	ss_sk_wipe(&sa->sk_send);
	ss_sk_wipe(&sa->sk_recv);
	ss_wipe(sa, sizeof(*sa));
	free(sa);
}

void sa_fail(ss_ike_engine *e, ike_sa *sa, enum ss_ike_outcome o, uint16_t notify, const char *why)
{
	if (sa->initiator && sa->state != ST_ESTABLISHED)
		act_outcome(e, sa, o, notify, why);
	if (sa->state != ST_ESTABLISHED)
		e->st.sa_failed++;
	sa_kill(sa, why);
}

static void spi_bytes(uint64_t v, uint8_t out[8])
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

bool sa_keys(ike_sa *sa, const uint8_t *peer_ke, size_t len, uint16_t *err_notify)
{
	uint8_t gir[SS_DH_SECRET_MAX], si[8], sr[8];
	size_t glen = ss_dh_secret_len(sa->suite.dh);
	bool ok = false;
	*err_notify = SS_N_INVALID_SYNTAX;
	enum ss_dh_err de = ss_dh_derive(sa->dh, peer_ke, len, gir, glen);
	if (de != SS_DH_OK) {
		SS_INFO(SUB, "SA %u: peer KE refused: %s", sa->handle, ss_dh_err_name(de));
		goto out;
	}
	spi_bytes(sa->spi_i, si);
	spi_bytes(sa->spi_r, sr);
	ok = ss_ike_keys_derive(&sa->keys, &sa->suite, gir, glen, sa->ni, sa->ni_len, sa->nr,
				sa->nr_len, si, sr) &&
	     ss_sk_init_pair(&sa->sk_send, &sa->sk_recv, &sa->keys, sa->initiator);
	sa->keyed = ok;
	if (!ok)
		*err_notify = SS_N_NO_PROPOSAL_CHOSEN;
out:
	ss_wipe(gir, sizeof(gir));
	/* The private value is useless from now on: drop it early. */
	ss_dh_free(sa->dh);
	sa->dh = NULL;
	return ok;
}

ss_ike_hdr sa_hdr(const ike_sa *sa, uint8_t exch, bool response, uint32_t msg_id)
{
	ss_ike_hdr h = { 0 };
	h.spi_i = sa->spi_i;
	h.spi_r = sa->spi_r;
	h.version = SS_IKE_VERSION;
	h.exchange = exch;
	h.flags = (uint8_t)((sa->initiator ? SS_IKE_FLAG_INITIATOR : 0) |
			    (response ? SS_IKE_FLAG_RESPONSE : 0));
	h.msg_id = msg_id;
	return h;
}

size_t sa_seal(ike_sa *sa, uint8_t exch, bool response, uint32_t msg_id,
	       const ss_ike_writer *inner, uint8_t *out, size_t cap)
{
	size_t plain = inner->b.len;
	if (!ss_buf_ok(&inner->b))
		return 0;
	size_t aad = SS_IKE_HDR_LEN + SS_IKE_GEN_HDR_LEN;
	size_t body = ss_sk_body_len(&sa->sk_send, plain);
	if (aad + body > cap || 4 + body > UINT16_MAX)
		return 0;
	ss_ike_hdr h = sa_hdr(sa, exch, response, msg_id);
	h.next_payload = SS_PL_SK;
	h.length = (uint32_t)(aad + body);
	ss_buf b = ss_buf_init(out, cap);
	ss_ike_hdr_write(&b, &h);
	ss_buf_u8(&b, plain ? inner->first : SS_PL_NONE);
	ss_buf_u8(&b, 0);
	ss_buf_be16(&b, (uint16_t)(4 + body));
	memcpy(out + aad + ss_sk_iv_len(&sa->sk_send), inner->b.p, plain);
	size_t len = 0;
	if (!ss_sk_seal(&sa->sk_send, out, cap, aad, plain, &len))
		return 0;
	return len;
}

#ifdef SS_IKE_FUZZING
/* Marks the fuzzing variant: tests/fuzz/check_variant.sh fails if softsad or softsa hold it. */
const char ss_ike_fuzzing_marker[] = "SS_IKE_FUZZING variant: SK plaintext, AUTH waived";
#endif

bool sa_open(ss_ike_engine *e, ike_sa *sa, const uint8_t *p, size_t len, ss_ike_msg *m,
	     uint8_t *scratch)
{
	memcpy(scratch, p, len);
	size_t off = 0, ilen = 0;
#ifdef SS_IKE_FUZZING
	/* Fuzzing builds only (tests/fuzz, never a real build): the SK body is the plaintext
	 * payload chain, so the fuzzer reaches the handlers behind the encryption. */
	enum ss_sk_err err = SS_SK_OK;
	SS_DEBUG(SUB, "%s", ss_ike_fuzzing_marker);
	off = m->sk.offset + SS_IKE_GEN_HDR_LEN;
	ilen = len - off;
#else
	enum ss_sk_err err = ss_sk_open(&sa->sk_recv, scratch, len, m->sk.offset + SS_IKE_GEN_HDR_LEN,
					&off, &ilen);
#endif
	if (err != SS_SK_OK) {
		SS_INFO(SUB, "SA %u: SK payload: expected valid, got %s", sa->handle, ss_sk_err_name(err));
		e->st.dropped_auth++;
		return false;
	}
	ss_cur c = ss_cur_init(scratch, off + ilen);
	ss_cur_skip(&c, off);
	enum ss_ike_codec_err ce = ss_ike_parse_payloads(&c, m->sk.first_inner, NULL, m, &e->st.codec);
	if (ce == SS_CODEC_OK)
		return true;
	e->st.dropped++;
	if (!(m->hdr.flags & SS_IKE_FLAG_RESPONSE)) {
		/* §2.21.2, §2.5: an authenticated request we cannot process still gets an answer,
		 * naming the unsupported critical payload, or INVALID_SYNTAX. */
		uint8_t inner[32], t = m->unsupported_critical;
		ss_ike_writer w;
		ss_ikew_init_inner(&w, inner, sizeof(inner));
		if (ce == SS_CODEC_CRITICAL)
			ss_ikew_notify(&w, 0, NULL, 0, SS_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		else
			ss_ikew_notify(&w, 0, NULL, 0, SS_N_INVALID_SYNTAX, NULL, 0);
		ss_ikew_finish(&w);
		sa_respond(e, sa, m->hdr.exchange, &w);
	}
	return false;
}

void sa_init_msgs_done(ike_sa *sa)
{
	free(sa->init_req);
	free(sa->init_resp);
	sa->init_req = sa->init_resp = NULL;
	sa->init_req_len = sa->init_resp_len = 0;
}

void sa_clear_request(ike_sa *sa)
{
	free(sa->out.req);
	memset(&sa->out, 0, sizeof(sa->out));
}

void sa_send_request(ss_ike_engine *e, ike_sa *sa, const uint8_t *p, size_t len, uint8_t exch,
		     ss_time now)
{
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, p, len);
	bool first = exch == SS_IKE_SA_INIT;
	ss_retx keep = sa->out.retx;
	/* A schedule that already gave up (a late answer after a provisional outcome) starts
	 * afresh. */
	bool restart = !(first && sa->out.first) || sa->out.retx.finished;
	sa_clear_request(sa);
	sa->out.req = copy;
	sa->out.req_len = len;
	sa->out.exch = exch;
	sa->out.msg_id = first ? 0 : sa->my_msg_id;
	sa->out.first = first;
	if (first) {
		/* A COOKIE or INVALID_KE retry continues the same schedule of attempts. */
		if (restart)
			ss_retx_start(&sa->out.retx, &sa->cfg->retx, now);
		else
			sa->out.retx = keep;
	} else {
		sa->out.next = now + 1000;
	}
	if (first && sa->initiator)
		act_attempt(e, sa);
	act_send(e, sa, &sa->local, &sa->remote, p, len);
}

bool sa_request(ss_ike_engine *e, ike_sa *sa, uint8_t exch, const ss_ike_writer *w, ss_time now)
{
	uint8_t out[SS_IKE_BUF];
	size_t n = sa_seal(sa, exch, false, sa->my_msg_id, w, out, sizeof(out));
	if (n)
		sa_send_request(e, sa, out, n, exch, now);
	return n != 0;
}

void sa_respond(ss_ike_engine *e, ike_sa *sa, uint8_t exch, const ss_ike_writer *w)
{
	uint8_t out[SS_IKE_BUF];
	size_t n = sa_seal(sa, exch, true, sa->peer_msg_id, w, out, sizeof(out));
	if (n)
		sa_send_response(e, sa, out, n);
}

void sa_send_response(ss_ike_engine *e, ike_sa *sa, const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, p, len);
	free(sa->resp);
	sa->resp = copy;
	sa->resp_len = len;
	sa->resp_id = sa->peer_msg_id;
	sa->resp_until = e->now + RESP_KEEP_MS;
	sa->has_resp = true;
	sa->peer_msg_id++;
	act_send(e, sa, &sa->local, &sa->remote, p, len);
}

#define MAX_TRIES 5
_Static_assert(SS_IKE_REQUEST_TIMEOUT_MS == 1000 * ((1u << MAX_TRIES) - 1),
	       "the request timeout is the sum of the retransmission delays");

/* All attempts of IKE_SA_INIT are out.  A peer that never answered is reported silent or
 * unreachable; when ICMP errors brought that sooner than the full silent schedule, the SA
 * stays to hear a late answer until the schedule ends (see SS_IKE_ACT_ANSWERED). */
static void init_give_up(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	if (sa->answered) {
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, 0, "peer stopped answering");
		return;
	}
	bool icmp = sa->out.retx.icmp_errors != 0;
	enum ss_ike_outcome o = icmp ? SS_IKE_PEER_UNREACHABLE : SS_IKE_PEER_SILENT;
	const char *why = icmp ? "only ICMP errors came back" : "no answer to any attempt";
	ss_time until = sa->out.retx.start + ss_retx_silent_decision(&sa->cfg->retx);
	if (now >= until) {
		sa_fail(e, sa, o, 0, why);
		return;
	}
	act_outcome(e, sa, o, 0, why);
	e->st.sa_failed++;
	sa->provisional = true;
	sa->linger_until = until;
}

void sa_timer(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	if (sa->state == ST_DEAD)
		return;
	if (sa->resp && now >= sa->resp_until) {
		free(sa->resp);
		sa->resp = NULL;
		sa->resp_len = 0;
		sa->has_resp = false;
	}
	if (sa->state == ST_HALF_OPEN && now >= sa->expires) {
		e->st.half_open_expired++;
		/* No outcome: nobody proved they own the address (see responder_refused); the
		 * caller hears that it ended and decides. */
		act_timeout(e, sa, "no IKE_AUTH before the half-open limit");
		sa_kill(sa, "half-open timeout");
		return;
	}
	if (sa->rekeyed && sa->state == ST_ESTABLISHED && now >= sa->ike_expire_at) {
		sa_kill(sa, "rekeyed, the peer never deleted it");
		return;
	}
	if (sa->provisional) {
		if (now >= sa->linger_until)
			sa_kill(sa, "silent schedule over, no late answer");
		return;
	}
	nat_keepalive_timer(e, sa, now);
	if (!sa->out.req) {
		if (sa->state == ST_ESTABLISHED && live_timer(e, sa, now))
			return;
		lifetime_timer(e, sa, now);
		return;
	}
	if (sa->out.first) {
		enum ss_retx_step s;
		while ((s = ss_retx_poll(&sa->out.retx, &sa->cfg->retx, now)) == SS_RETX_SEND) {
			if (sa->initiator)
				act_attempt(e, sa);
			act_send(e, sa, &sa->local, &sa->remote, sa->out.req, sa->out.req_len);
			e->st.retransmits++;
		}
		if (s == SS_RETX_GIVE_UP)
			init_give_up(e, sa, now);
		return;
	}
	if (now < sa->out.next)
		return;
	if (++sa->out.tries >= MAX_TRIES) {
		bool check = sa->op == OP_DPD;
		if (check) {
			char rb[SS_ADDR_STRLEN];
			e->st.dpd_failed++;
			SS_WARN(SUB, "SA %u: %s did not answer the liveness check: peer dead, deleting the IKE SA",
				sa->handle, ss_addr_fmt(&sa->remote.addr, rb));
		}
		/* An unanswered DELETE is the end we asked for, not news of a dead peer. */
		sa_fail(e, sa, SS_IKE_PEER_REFUSED, 0,
			check ? "peer dead: liveness check unanswered"
			      : sa->op == OP_DELETE_IKE ? "DELETE unanswered" : "peer dead: no response to a request");
		return;
	}
	act_send(e, sa, &sa->local, &sa->remote, sa->out.req, sa->out.req_len);
	e->st.retransmits++;
	/* After the first request, a plain doubling: 1, 2, 4, 8 s. */
	sa->out.next = now + (1000u << sa->out.tries);
}

ss_time sa_deadline(const ike_sa *sa)
{
	ss_time t = SS_NEVER;
	if (sa->state == ST_DEAD)
		return 0;
	if (sa->provisional)
		return sa->linger_until;
	if (sa->out.req)
		t = sa->out.first ? ss_retx_deadline(&sa->out.retx) : sa->out.next;
	if (sa->resp)
		t = ss_time_min(t, sa->resp_until);
	if (sa->state == ST_HALF_OPEN)
		t = ss_time_min(t, sa->expires);
	if (sa->state == ST_ESTABLISHED)
		t = ss_time_min(t, ss_time_min(sa->keepalive_at, live_deadline(sa)));
	if (sa->rekeyed && sa->state == ST_ESTABLISHED)
		t = ss_time_min(t, sa->ike_expire_at);
	return ss_time_min(t, lifetime_deadline(sa));
}
