/* The engine's edges: construction, the action queue, and dispatch of datagrams, timers and
 * ICMP errors to the exchange handlers. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "ike/ike_internal.h"

void ss_ike_engine_params_default(ss_ike_engine_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_half_open = 1000;
	p->cookie_threshold = 50;
	p->half_open_timeout_ms = 30000;
	p->max_sas = 10000;
	p->max_half_open_per_peer = 20;
}

void ss_ike_config_init(ss_ike_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = SS_MODE_TRANSPORT;
	c->ike_lifetime_s = 4 * 3600;
	c->child_lifetime_s = 3600;
	ss_retx_params_default(&c->retx);
	c->dpd_delay_s = 30;
}

ss_ike_engine *ss_ike_engine_new(const ss_ike_engine_params *p)
{
	/* Algorithms and group parameters fetched once per process, not in the first handshake. */
	const char *missing = ss_crypto_preload();
	if (missing)
		SS_WARN(SUB, "crypto: %s is unavailable; suites using it will not be negotiated", missing);
	ss_ike_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->p = *p;
	e->next_handle = 1;
	e->next_seq = 1;
	/* cookie_prev too: before the first rotation, cookies of generation 255 are checked
	 * against it, and an all-zero key would let anyone make them. */
	if (!ss_random(e->cookie_secret, sizeof(e->cookie_secret)) ||
	    !ss_random(e->cookie_prev, sizeof(e->cookie_prev)) ||
	    !ss_random(&e->hash_seed, sizeof(e->hash_seed))) {
		ss_free_secret(e, sizeof(*e));
		return NULL;
	}
	sa_table_init(e);
	return e;
}

static void wipe_prev(ss_ike_engine *e)
{
	free(e->prev_data);
	e->prev_data = NULL;
	ss_wipe(&e->prev, sizeof(e->prev));
}

void ss_ike_engine_free(ss_ike_engine *e)
{
	if (!e)
		return;
	sa_table_free(e);
	ss_ike_action a;
	while (ss_ike_next_action(e, &a))
		;
	wipe_prev(e);
	ss_free_secret(e->act, e->act_cap * sizeof(*e->act));
	ss_wipe(e, sizeof(*e));
	free(e);
}

void eng_begin(ss_ike_engine *e)
{
	wipe_prev(e);
	/* What a call without a settle of its own (ss_ike_dpd, ...) touched. */
	sa_reap(e);
}

/* Room for one more action at the tail: slide the pending ones to the front, or grow.  The
 * old array is wiped before it is freed: actions carry CHILD SA keys. */
static bool act_room(ss_ike_engine *e)
{
	if (e->act_head + e->act_n < e->act_cap)
		return true;
	if (e->act_head > 0) {
		memmove(e->act, e->act + e->act_head, e->act_n * sizeof(*e->act));
		ss_wipe(e->act + e->act_n, e->act_head * sizeof(*e->act));
		e->act_head = 0;
		return true;
	}
	size_t cap = e->act_cap ? 2 * e->act_cap : ACT_INITIAL;
	if (cap > ACT_MAX)
		return false;
	ike_act *n = calloc(cap, sizeof(*n));
	if (!n)
		return false;
	if (e->act_cap) {
		memcpy(n, e->act, e->act_cap * sizeof(*n));
		ss_wipe(e->act, e->act_cap * sizeof(*n));
	}
	free(e->act);
	e->act = n;
	e->act_cap = cap;
	return true;
}

static ike_act *act_push_slot(ss_ike_engine *e, ike_sa *sa, enum ss_ike_action_kind k)
{
	if (!act_room(e)) {
		SS_WARN(SUB, "action queue full (%zu): dropping an action of kind %d", e->act_n, k);
		return NULL;
	}
	ike_act *slot = &e->act[e->act_head + e->act_n++];
	memset(slot, 0, sizeof(*slot));
	ss_ike_action *a = &slot->a;
	a->kind = k;
	if (sa) {
		a->sa = sa->handle;
		a->local = sa->local;
		a->remote = sa->remote;
	}
	return slot;
}

static ss_ike_action *act_push(ss_ike_engine *e, ike_sa *sa, enum ss_ike_action_kind k)
{
	ike_act *slot = act_push_slot(e, sa, k);
	return slot ? &slot->a : NULL;
}

static void send_raw(ss_ike_engine *e, ike_sa *sa, const ss_ike_endpoint *local,
		     const ss_ike_endpoint *remote, const uint8_t *p, size_t len, size_t mk)
{
	uint8_t *copy = malloc(len + mk);
	if (!copy)
		return;
	memset(copy, 0, mk);
	memcpy(copy + mk, p, len);
	ike_act *slot = act_push_slot(e, sa, SS_IKE_ACT_SEND);
	if (!slot) {
		free(copy);
		return;
	}
	slot->a.local = *local;
	slot->a.remote = *remote;
	slot->a.data = copy;
	slot->a.len = len + mk;
	slot->data = copy;
	e->st.tx++;
}

void act_send(ss_ike_engine *e, ike_sa *sa, const ss_ike_endpoint *local,
	      const ss_ike_endpoint *remote, const uint8_t *p, size_t len)
{
	/* On 4500 every IKE message starts with the non-ESP marker (RFC 3948 §2.2). */
	bool natt = local->port == SS_IKE_NATT_PORT || remote->port == SS_IKE_NATT_PORT;
	send_raw(e, sa, local, remote, p, len, natt ? SS_IKE_NON_ESP_MARKER_LEN : 0);
}

void act_keepalive(ss_ike_engine *e, ike_sa *sa, const ss_ike_endpoint *local,
		   const ss_ike_endpoint *remote, const uint8_t *p, size_t len)
{
	send_raw(e, sa, local, remote, p, len, 0);
	e->st.keepalives++;
}

void act_outcome(ss_ike_engine *e, ike_sa *sa, enum ss_ike_outcome o, uint16_t notify,
		 const char *reason)
{
	if (sa->outcome_sent)
		return;
	sa->outcome_sent = true;
	ss_ike_action *a = act_push(e, sa, SS_IKE_ACT_OUTCOME);
	if (!a)
		return;
	a->outcome = o;
	a->notify = notify;
	a->reason = reason;
	char buf[SS_ADDR_STRLEN];
	/* An operator acts on a refusal (credentials, proposals: warning) and on a silent or
	 * unreachable peer (notice); a secured one is routine. */
	enum ss_log_level lvl = o == SS_IKE_SECURED ? SS_LOG_INFO : o == SS_IKE_PEER_REFUSED ? SS_LOG_WARN : SS_LOG_NOTICE;
	ss_addr_fmt(&sa->remote.addr, buf);
	ss_log_kv(lvl, SUB, SS_KV("PEER", buf, "OUTCOME", ss_ike_outcome_name(o)), "negotiation with %s: %s (%s)", buf,
		  ss_ike_outcome_name(o), reason);
}

void act_child(ss_ike_engine *e, ike_sa *sa, enum ss_ike_action_kind k, const ss_ike_child_info *c)
{
	ss_ike_action *a = act_push(e, sa, k);
	if (a)
		a->child = *c;
}

void act_attempt(ss_ike_engine *e, ike_sa *sa)
{
	ss_ike_action *a = act_push(e, sa, SS_IKE_ACT_ATTEMPT);
	if (a)
		a->attempt = ++sa->attempts;
}

void act_ike_deleted(ss_ike_engine *e, ike_sa *sa)
{
	ss_ike_action *a = act_push(e, sa, SS_IKE_ACT_IKE_DELETED);
	if (a)
		a->reason = sa->gone_reason ? sa->gone_reason : "deleted";
}

void act_answered(ss_ike_engine *e, ike_sa *sa)
{
	if (!sa->provisional)
		return;
	sa->provisional = false;
	sa->outcome_sent = false;
	e->st.late_answers++;
	char buf[SS_ADDR_STRLEN];
	SS_INFO(SUB, "negotiation with %s: the peer answered after all, going on",
		ss_addr_fmt(&sa->remote.addr, buf));
	act_push(e, sa, SS_IKE_ACT_ANSWERED);
}

void act_timeout(ss_ike_engine *e, ike_sa *sa, const char *reason)
{
	ss_ike_action *a = act_push(e, sa, SS_IKE_ACT_TIMEOUT);
	if (a)
		a->reason = reason;
}

bool ss_ike_next_action(ss_ike_engine *e, ss_ike_action *out)
{
	wipe_prev(e);
	if (e->act_n == 0) {
		/* The caller's copy of the last action (CHILD_UP keys) goes too: a drain loop
		 * leaves no key material behind in its frame. */
		ss_wipe(out, sizeof(*out));
		return false;
	}
	ike_act *slot = &e->act[e->act_head];
	e->prev = slot->a;
	e->prev_data = slot->data;
	ss_wipe(slot, sizeof(*slot));
	e->act_head++;
	if (--e->act_n == 0)
		e->act_head = 0;
	*out = e->prev;
	return true;
}

/* Strips the non-ESP marker on 4500; an ESP packet there (non-zero SPI) is not ours. */
static bool strip_marker(ss_ike_engine *e, const uint8_t **p, size_t *len,
			 const ss_ike_endpoint *local)
{
	if (local->port != SS_IKE_NATT_PORT)
		return true;
	ss_cur c = ss_cur_init(*p, *len);
	if (*len == 1 && ss_cur_u8(&c) == 0xff) {
		/* RFC 3948 §2.3: a NAT keepalive; nothing to do, and nothing wrong. */
		e->st.keepalives_rx++;
		return false;
	}
	c = ss_cur_init(*p, *len);
	uint32_t marker = ss_cur_be32(&c);
	if (!ss_cur_ok(&c) || marker != 0) {
		SS_DEBUG(SUB, "on 4500: expected non-ESP marker 0, got %s",
			 ss_cur_ok(&c) ? "an ESP SPI" : "a short datagram");
		e->st.dropped++;
		return false;
	}
	*p = ss_cur_ptr(&c);
	*len = ss_cur_left(&c);
	return true;
}

static void dispatch(ss_ike_engine *e, ss_ike_msg *m, const uint8_t *p, size_t len,
		     const ss_ike_endpoint *local, const ss_ike_endpoint *remote, ss_time now)
{
	const ss_ike_hdr *h = &m->hdr;
	bool response = h->flags & SS_IKE_FLAG_RESPONSE;
	if (h->exchange == SS_IKE_SA_INIT && !response) {
		init_request_in(e, m, p, len, local, remote, now);
		return;
	}
	ike_sa *sa = h->exchange == SS_IKE_SA_INIT ? sa_find(e, h->spi_i, 0)
						   : sa_find(e, h->spi_i, h->spi_r);
	if ((!sa || sa->state == ST_DEAD) && live_invalid_spi_in(e, m, remote, now))
		return;
	if (!sa || sa->state == ST_DEAD) {
		/* §2.21.4 lets us (MAY) answer INVALID_IKE_SPI, unprotected and rate-limited.  We
		 * don't: the answer is unauthenticated, so the peer can only treat it as a hint, its
		 * own retransmissions time out the stale SA anyway, and an answer to any datagram
		 * with made-up SPIs would make us a reflector.  Counted, and visible in stats. */
		SS_DEBUG(SUB, "%s: no IKE SA for these SPIs", ss_ike_exchange_name(h->exchange));
		e->st.dropped++;
		e->st.unknown_spi++;
		return;
	}
	/* The I flag says who sent it: it must be the other side's role. */
	if (!!(h->flags & SS_IKE_FLAG_INITIATOR) == sa->initiator) {
		SS_DEBUG(SUB, "expected I flag %d, got %d", !sa->initiator,
			 !!(h->flags & SS_IKE_FLAG_INITIATOR));
		e->st.dropped++;
		return;
	}
	if (response) {
		if (h->exchange == SS_IKE_SA_INIT && !ss_addr_eq(&remote->addr, &sa->remote.addr)) {
			/* Unauthenticated: only the address we asked may answer for our SPIi. */
			SS_DEBUG(SUB, "IKE_SA_INIT response from another address than the peer's");
			e->st.dropped++;
			return;
		}
		if (!sa->out.req || h->msg_id != sa->out.msg_id || h->exchange != sa->out.exch) {
			SS_DEBUG(SUB, "response: expected id %u, got %u", sa->out.msg_id, h->msg_id);
			e->st.dropped++;
			return;
		}
		if (h->exchange == SS_IKE_SA_INIT) {
			init_response_in(e, sa, m, p, len, now);
			return;
		}
	} else {
		if (sa->has_resp && h->msg_id == sa->resp_id) {
			/* A retransmitted request: the cached response, byte for byte. */
			act_send(e, sa, &sa->local, &sa->remote, sa->resp, sa->resp_len);
			e->st.responses_resent++;
			return;
		}
		if (h->msg_id != sa->peer_msg_id) {
			SS_DEBUG(SUB, "request: expected id %u, got %u", sa->peer_msg_id, h->msg_id);
			e->st.dropped++;
			return;
		}
	}
	if (!ss_ike_has(m, SS_PL_SK) || !sa->keyed) {
		SS_DEBUG(SUB, "%s: expected an SK payload, got none", ss_ike_exchange_name(h->exchange));
		e->st.dropped++;
		return;
	}
	uint8_t *scratch = malloc(len);
	if (!scratch)
		return;
	if (sa_open(e, sa, p, len, m, scratch)) {
		/* §2.23: a peer behind a NAT moves to 4500 and its mapping may change; follow
		 * it, but only on a message that authenticated. */
		if (local->port == SS_IKE_NATT_PORT)
			sa->natt = true;
		if (sa->natt) {
			sa->local = *local;
			sa_set_remote(e, sa, remote);
		}
		live_heard(sa, now);
		void (*fn)(ss_ike_engine *, ike_sa *, ss_ike_msg *, ss_time) = NULL;
		switch (h->exchange) {
		case SS_IKE_AUTH: fn = response ? auth_response_in : auth_request_in; break;
		case SS_IKE_INFORMATIONAL: fn = response ? info_response_in : info_request_in; break;
		case SS_IKE_CREATE_CHILD_SA: fn = response ? child_response_in : child_request_in; break;
		}
		if (fn)
			fn(e, sa, m, now);
		else
			e->st.dropped++;
	}
	/* It holds the decrypted payloads (identities, AUTH, nonces, KE). */
	ss_free_secret(scratch, len);
}

void ss_ike_input(ss_ike_engine *e, const uint8_t *p, size_t len, const ss_ike_endpoint *local,
		  const ss_ike_endpoint *remote, ss_time now)
{
	eng_begin(e);
	e->now = now;
	e->st.rx++;
	if (!strip_marker(e, &p, &len, local))
		return;
	ss_ike_msg *m = malloc(sizeof(*m));
	if (!m)
		return;
	enum ss_ike_codec_err err = ss_ike_parse(p, len, m, &e->st.codec);
	bool init_req = m->hdr.exchange == SS_IKE_SA_INIT && !(m->hdr.flags & SS_IKE_FLAG_RESPONSE);
	if (err == SS_CODEC_CRITICAL && init_req) {
		/* §2.5: refuse the request, naming the payload, without creating state. */
		init_request_in(e, m, p, len, local, remote, now);
	} else if (err == SS_CODEC_BAD_VERSION && init_req && (m->hdr.version >> 4) > 2) {
		/* §2.5: a higher major version is answered, from version 2, so the peer falls back. */
		init_version_reply(e, m, local, remote);
	} else if (err == SS_CODEC_BAD_VERSION && (m->hdr.version >> 4) == 1) {
		init_ikev1_in(e, m, remote);
	} else if (err) {
		e->st.dropped++;
	} else {
		dispatch(e, m, p, len, local, remote, now);
	}
	ss_wipe(m, sizeof(*m));
	free(m);
	sa_reap(e);
}

void ss_ike_timer(ss_ike_engine *e, ss_time now)
{
	eng_begin(e);
	size_t n = 0;
	ike_sa **due = sa_due(e, now, &n);
	for (size_t i = 0; i < n; i++)
		sa_timer(e, due[i], now);
	sa_reap(e);
}

void ss_ike_icmp(ss_ike_engine *e, const uint8_t *quoted, size_t len, ss_time now)
{
	eng_begin(e);
	ss_cur c = ss_cur_init(quoted, len);
	/* The quote may start with the non-ESP marker (4500) or directly with SPIi (500). */
	if (len >= 12 && ss_cur_be32(&c) != 0)
		c = ss_cur_init(quoted, len);  /* our SPIs never have 32 leading zero bits */
	else if (len < 12)
		c = ss_cur_init(quoted, len);  /* too short for a marker: SPIi from byte 0 */
	uint64_t spi_i = ss_cur_be64(&c);
	ike_sa *sa = ss_cur_ok(&c) && spi_i ? sa_find(e, spi_i, 0) : NULL;
	/* Only our SPIi, unguessable off path, lets an ICMP error count (it is unauthenticated). */
	if (!sa || !sa->initiator || sa->state != ST_INIT_SENT || !sa->out.first) {
		e->st.icmp_ignored++;
		return;
	}
	e->st.icmp_counted++;
	ss_retx_icmp(&sa->out.retx, &sa->cfg->retx, now);
}

bool ss_ike_abandon(ss_ike_engine *e, uint32_t h)
{
	eng_begin(e);
	ike_sa *sa = sa_by_handle(e, h);
	if (!sa || sa->state == ST_ESTABLISHED || sa->state == ST_DELETING || sa->state == ST_DEAD)
		return false;
	sa->outcome_sent = true;
	sa_kill(sa, "abandoned by the caller");
	sa_reap(e);
	return true;
}

ss_time ss_ike_next_deadline(const ss_ike_engine *e)
{
	return sa_next_deadline(e);
}

const ss_ike_stats *ss_ike_get_stats(const ss_ike_engine *e)
{
	return &e->st;
}

bool ss_ike_sa_get(const ss_ike_engine *e, uint32_t h, ss_ike_sa_info *out)
{
	const ike_sa *sa = sa_peek_handle(e, h);
	if (!sa)
		return false;
	memset(out, 0, sizeof(*out));
	out->established = sa->state == ST_ESTABLISHED;
	out->deleting = sa->state == ST_DELETING;
	out->delete_until = sa->delete_until;
	out->initiator = sa->initiator;
	out->natt = sa->natt;
	out->spi_i = sa->spi_i;
	out->spi_r = sa->spi_r;
	out->suite = sa->suite;
	out->local = sa->local;
	out->remote = sa->remote;
	out->keys = sa->keyed ? &sa->keys : NULL;
	auth_peer_info(sa, &out->peer);
	return true;
}
