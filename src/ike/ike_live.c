/* Failure detection (RFC 7296 §2.4, §1.5): liveness checks driven by protected traffic, ESP
 * for SPIs we do not know, and the INVALID_SPI notify both ways.
 *
 * A liveness check goes when our traffic has gone unanswered for the SA's dpd_delay: the
 * caller reports CHILD SA traffic (packets sent / received since its last report) and every
 * authenticated IKE message counts as hearing from the peer.  "Unanswered traffic" is a run
 * of sends with gaps shorter than dpd_delay, more than one report long, with nothing heard
 * since it began: one last packet (a final TCP ACK) before both sides fall idle is not a
 * reason to ask, nor is traffic both ways, nor none at all.  An unanswered check fails the IKE SA like any other request
 * (its retransmissions: 1, 2, 4, 8, 16 s), which deletes it with its CHILD SAs.
 *
 * Everything unauthenticated here (ESP with an unknown SPI, an unprotected INVALID_SPI) is a
 * hint: it may start a check or a negotiation, rate-limited, and never deletes anything. */
#include <string.h>

#include "base/log.h"
#include "ike/ike_internal.h"

void live_init(ike_sa *sa, ss_time now)
{
	sa->heard_at = now;
	sa->last_sent = 0;
	sa->unanswered_since = SS_NEVER;
	sa->hint_at = SS_NEVER;
}

void live_heard(ike_sa *sa, ss_time now)
{
	sa->heard_at = now;
	sa->unanswered_since = SS_NEVER;
}

static uint32_t dpd_delay_ms(const ike_sa *sa)
{
	return sa->cfg ? sa->cfg->dpd_delay_s * 1000u : 0;
}

void ss_ike_traffic(ss_ike_engine *e, uint32_t h, uint64_t sent, uint64_t received, ss_time now)
{
	eng_begin(e);
	ike_sa *sa = sa_by_handle(e, h);
	if (!sa || sa->state != ST_ESTABLISHED)
		return;
	/* Within one report the order is unknown: traffic both ways counts as answered. */
	if (received) {
		live_heard(sa, now);
	} else if (sent) {
		if (sa->unanswered_since == SS_NEVER || now - sa->last_sent >= dpd_delay_ms(sa))
			sa->unanswered_since = now;
	}
	if (sent)
		sa->last_sent = now;
}

/* When the next check is due, SS_NEVER when none is. */
static ss_time check_due(const ike_sa *sa)
{
	uint32_t d = dpd_delay_ms(sa);
	if (sa->state != ST_ESTABLISHED || sa->rekeyed || (!d && sa->hint_at == SS_NEVER))
		return SS_NEVER;
	ss_time t = sa->hint_at;
	if (d && sa->unanswered_since != SS_NEVER && sa->last_sent > sa->unanswered_since)
		t = ss_time_min(t, sa->unanswered_since + d);
	return t;
}

static bool send_check(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	ss_ike_writer w;
	uint8_t inner[4];
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_finish(&w);
	if (!sa_request(e, sa, SS_IKE_INFORMATIONAL, &w, now))
		return false;
	sa->op = OP_DPD;
	e->st.dpd_sent++;
	return true;
}

bool live_timer(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	ss_time due = check_due(sa);
	if (sa->out.req || now < due)
		return false;
	char rb[SS_ADDR_STRLEN];
	bool hint = sa->hint_at <= now;
	SS_INFO(SUB, "SA %u: liveness check to %s (%s)", sa->handle, ss_addr_fmt(&sa->remote.addr, rb),
		hint ? "INVALID_SPI hint" : "our traffic went unanswered");
	/* One check per silence: the next one needs new unanswered traffic. */
	sa->unanswered_since = SS_NEVER;
	sa->hint_at = SS_NEVER;
	return send_check(e, sa, now);
}

ss_time live_deadline(const ike_sa *sa)
{
	return sa->out.req ? SS_NEVER : check_due(sa);
}

bool ss_ike_dpd(ss_ike_engine *e, uint32_t h, ss_time now)
{
	eng_begin(e);
	ike_sa *sa = sa_by_handle(e, h);
	if (!sa || sa->state != ST_ESTABLISHED || sa->out.req)
		return false;
	return send_check(e, sa, now);
}

/* ---- ESP with an SPI we do not know ---- */

static ike_unknown_peer *unknown_slot(ss_ike_engine *e, const ss_addr *remote)
{
	ike_unknown_peer *oldest = &e->unknown[0];
	for (size_t i = 0; i < SS_IKE_UNKNOWN_PEERS; i++) {
		ike_unknown_peer *u = &e->unknown[i];
		if (u->count && ss_addr_eq(&u->addr, remote))
			return u;
		if (!u->count || u->last_seen < oldest->last_seen)
			oldest = u;
	}
	/* Bounded: under a flood of spoofed sources the least recently seen peer is forgotten,
	 * which at worst lets one more notify go to it (still one per gap per slot). */
	memset(oldest, 0, sizeof(*oldest));
	oldest->addr = *remote;
	oldest->notified_at = SS_NEVER;
	return oldest;
}

static bool established_with(const ss_ike_engine *e, const ss_addr *remote)
{
	for (const ike_sa *sa = sa_peek_by_peer(e, remote, NULL); sa; sa = sa_peek_by_peer(e, remote, sa))
		if (sa->state == ST_ESTABLISHED && !sa->rekeyed && ss_addr_eq(&sa->remote.addr, remote))
			return true;
	return false;
}

/* §1.5: outside an IKE SA, unprotected, not part of an exchange (the I flag, message ID 0,
 * zero SPIs), and never answered. */
static void send_invalid_spi(ss_ike_engine *e, const ss_ike_endpoint *local,
			     const ss_ike_endpoint *remote, uint32_t spi)
{
	uint8_t buf[64], data[4] = { (uint8_t)(spi >> 24), (uint8_t)(spi >> 16), (uint8_t)(spi >> 8),
				     (uint8_t)spi };
	ss_ike_writer w;
	ss_ike_hdr h = { .exchange = SS_IKE_INFORMATIONAL, .flags = SS_IKE_FLAG_INITIATOR };
	ss_ikew_init(&w, buf, sizeof(buf), &h);
	ss_ikew_notify(&w, 0, NULL, 0, SS_N_INVALID_SPI, data, sizeof(data));
	size_t n = ss_ikew_finish(&w);
	if (n) {
		act_send(e, NULL, local, remote, buf, n);
		e->st.invalid_spi_sent++;
	}
}

bool ss_ike_esp_unknown(ss_ike_engine *e, const ss_ike_endpoint *local,
			const ss_ike_endpoint *remote, uint32_t spi, ss_time now)
{
	eng_begin(e);
	e->st.esp_unknown_spi++;
	ike_unknown_peer *u = unknown_slot(e, &remote->addr);
	u->count++;
	u->last_seen = now;
	if (now >= e->unknown_window + 1000) {
		e->unknown_window = now;
		e->unknown_spent = 0;
	}
	if ((u->notified_at != SS_NEVER && now < u->notified_at + SS_IKE_UNKNOWN_GAP_MS) ||
	    e->unknown_spent >= SS_IKE_UNKNOWN_PER_S) {
		e->st.esp_unknown_limited++;
		return false;
	}
	e->unknown_spent++;
	u->notified_at = now;
	char rb[SS_ADDR_STRLEN];
	bool have = established_with(e, &remote->addr);
	SS_INFO(SUB, "ESP from %s with unknown SPI %08x (%llu from it so far)%s",
		ss_addr_fmt(&remote->addr, rb), spi, (unsigned long long)u->count,
		have ? "" : ": INVALID_SPI sent");
	if (!have)
		send_invalid_spi(e, local, remote, spi);
	return true;
}

uint64_t ss_ike_esp_unknown_count(const ss_ike_engine *e, const ss_addr *remote)
{
	for (size_t i = 0; i < SS_IKE_UNKNOWN_PEERS; i++)
		if (e->unknown[i].count && ss_addr_eq(&e->unknown[i].addr, remote))
			return e->unknown[i].count;
	return 0;
}

/* ---- INVALID_SPI received outside an IKE SA ---- */

static ike_sa *sa_with_out_spi(ss_ike_engine *e, const ss_ike_endpoint *remote, uint32_t spi)
{
	for (ike_sa *sa = sa_next_by_peer(e, &remote->addr, NULL); sa;
	     sa = sa_next_by_peer(e, &remote->addr, sa)) {
		if (sa->state == ST_ESTABLISHED && child_by_spi_out(sa, spi))
			return sa;
	}
	return NULL;
}

bool live_invalid_spi_in(ss_ike_engine *e, const ss_ike_msg *m, const ss_ike_endpoint *remote,
			 ss_time now)
{
	const ss_ike_hdr *h = &m->hdr;
	const ss_ike_notify_pl *n = ss_ike_find_notify(m, SS_N_INVALID_SPI);
	if (h->exchange != SS_IKE_INFORMATIONAL || (h->flags & SS_IKE_FLAG_RESPONSE) || !n ||
	    ss_ike_has(m, SS_PL_SK))
		return false;
	e->st.invalid_spi_rx++;
	ss_cur c = ss_cur_init(n->data.p, n->data.len);
	uint32_t spi = ss_cur_be32(&c);
	ike_sa *sa = ss_cur_ok(&c) ? sa_with_out_spi(e, remote, spi) : NULL;
	char rb[SS_ADDR_STRLEN];
	/* Only a notify naming one of our live outbound SPIs (unguessable off path) counts,
	 * and only as a reason to ask the peer, at most once per gap. */
	if (!sa || (sa->hinted_at != SS_NEVER && now < sa->hinted_at + SS_IKE_UNKNOWN_GAP_MS)) {
		e->st.invalid_spi_ignored++;
		SS_DEBUG(SUB, "unprotected INVALID_SPI from %s ignored", ss_addr_fmt(&remote->addr, rb));
		return true;
	}
	sa->hinted_at = now;
	sa->hint_at = now;
	SS_INFO(SUB, "SA %u: %s says it does not know our SPI %08x (unauthenticated): checking",
		sa->handle, ss_addr_fmt(&remote->addr, rb), spi);
	return true;
}
