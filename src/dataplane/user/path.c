/* The userspace backend's packet path.
 *
 *   outbound  TUN batch -> 5-tuple -> one ACQUIRE event per packet, by handle -> the daemon's
 *             verdicts stage packets for ESP or for clear release (or hold them) -> one ESP
 *             encap batch per SA and one sendmmsg per kind, at the end of the round.
 *   inbound   ESP batch (raw protocol 50, or UDP 4500 handed in by the daemon) -> decap in
 *             place (RFC 4303 receive order inside the ESP library) -> deliver into the TUN.
 *             Every failure is counted by kind (replay, authentication, ...); an unknown SPI
 *             also becomes a (rate-limited) hint for the daemon.
 *   notices   inbound clear packets from unknown peers (NFLOG) -> INBOUND_CLEAR events; the
 *             port has already accepted or dropped the packet.
 *
 * Buffers are fixed and reused: nothing is allocated per packet except held packets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/icmperr.h"
#include "dataplane/pkt.h"
#include "dataplane/user/backend.h"

/* ---- staging ---- */

static dpu_sa *pair_sa(dpu_backend *b, const ss_addr *local, const ss_addr *remote)
{
	dpu_sa *s = b->last_sa;
	if (!s || b->last_gen != b->sas.gen || !ss_addr_eq(&s->id.remote, remote) ||
	    !ss_addr_eq(&s->id.local, local) || ss_esp_sa_dead(s->esp)) {
		s = b->last_sa = dpu_sas_for_pair(&b->sas, local, remote);
		b->last_gen = b->sas.gen;
	}
	return s;
}

/* slot: the packet already sits in a buffer of DPU_SLOT bytes with ESP head- and tailroom
 * around it (a packet of the current batch: the TSO split wrote it there), and is encrypted
 * in place; NULL: copied into a staging slot (a held packet). */
static void stage_clear(dpu_backend *b, const uint8_t *p, size_t len, ss_time now);

/* The pair a packet's SA is found by, and the daemon's events name: its own addresses, or
 * for a tunnel's traffic our address and the endpoint's.  False: a tunnel endpoint we have
 * no route to (the packet cannot leave). */
static bool packet_pair(dpu_backend *b, const ss_pkt_tuple *t, bool inbound, ss_addr *local, ss_addr *remote,
			dpu_tunend **end)
{
	*end = b->tmap.n ? dpu_tunmap_find(&b->tmap, t, inbound) : NULL;
	if (*end)
		return dpu_tunend_pair(*end, local, remote);
	*local = inbound ? t->dst : t->src;
	*remote = inbound ? t->src : t->dst;
	return true;
}

/* A tunnel entry is a router hop (RFC 4301 §8.2.1): a packet that will not fit the path to
 * the endpoint once encapsulated, and must not be fragmented, goes back to its sender as
 * "too big" with the MTU that would fit; the path MTU itself is the kernel's (ICMP from the
 * transit network updates it, as for any socket of this host). */
static bool too_big(dpu_backend *b, dpu_tunend *e, dpu_sa *s, const uint8_t *p, size_t len, ss_time now)
{
	uint32_t pmtu = dpu_tunend_pmtu(e, now);
	size_t over = ss_esp_sa_overhead(s->esp, len);
	if (!pmtu || len + over <= pmtu || pmtu <= over + 68)
		return false;
	/* From our address toward the sender, as a router answers (also right for IPv6
	 * networks inside an IPv4 tunnel); a rare event, so the route lookup per error is fine. */
	ss_pkt_tuple t;
	ss_addr from;
	if (!ss_icmperr_needed(p, len, (uint32_t)(pmtu - over)) || !ss_pkt_tuple_parse(p, len, &t) ||
	    !dpu_route_source(&t.src, &from))
		return false; /* may be fragmented (outer fragments), or no error may go back */
	uint8_t icmp[SS_ICMPERR_MAX];
	size_t n = ss_icmperr_too_big(p, len, (uint32_t)(pmtu - over), &from, icmp, sizeof icmp);
	if (!n)
		return false;
	b->st.too_big++;
	stage_clear(b, icmp, n, now);
	return true;
}

/* tp: the packet's tuple when the read parsed it already, else NULL. */
static void stage_esp(dpu_backend *b, uint8_t *slot, const uint8_t *p, size_t len, const ss_pkt_tuple *tp,
		      ss_time now)
{
	ss_pkt_tuple t;
	ss_addr local, remote;
	dpu_tunend *end = NULL;
	if (!tp && ss_pkt_tuple_parse(p, len, &t))
		tp = &t;
	dpu_sa *s = tp && packet_pair(b, tp, false, &local, &remote, &end) ? pair_sa(b, &local, &remote) : NULL;
	if (!s || len > DPU_SLOT - SS_ESP_HEADROOM - SS_ESP_TAILROOM) {
		b->st.no_sa_out++;
		return;
	}
	if (end && too_big(b, end, s, p, len, now))
		return;
	dpu_stage *g = &b->stage;
	if (g->n_enc == DPU_BATCH)
		dpu_stage_flush(b, now);
	size_t i = g->n_enc++;
	if (!slot) {
		slot = g->enc_slot[i];
		memcpy(slot + SS_ESP_HEADROOM, p, len);
		p = slot + SS_ESP_HEADROOM;
	}
	g->enc[i] = (ss_esp_pkt){ .base = slot, .cap = DPU_SLOT, .off = (uint32_t)(p - slot),
				  .len = (uint32_t)len };
	g->enc_sa[i] = s;
}

static void stage_clear(dpu_backend *b, const uint8_t *p, size_t len, ss_time now)
{
	dpu_stage *g = &b->stage;
	if (len > DPU_SLOT)
		return;
	if (g->n_clr == DPU_BATCH)
		dpu_stage_flush(b, now);
	size_t i = g->n_clr++;
	memcpy(g->clr_slot[i], p, len);
	g->clr[i] = (ss_dpu_pkt){ .buf = g->clr_slot[i], .cap = DPU_SLOT, .data = g->clr_slot[i], .len = len };
}

static void deliver(dpu_backend *b, ss_esp_pkt *pk, size_t n)
{
	ss_dpu_pkt out[DPU_BATCH];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (pk[i].result != SS_ESP_OK) {
			if (pk[i].result >= 0 && pk[i].result < 16)
				b->st.esp_in_err[pk[i].result]++;
			continue;
		}
		b->st.esp_in_pkts++;
		b->st.esp_in_bytes += pk[i].len;
		out[k++] = (ss_dpu_pkt){ .buf = pk[i].base, .cap = pk[i].cap, .data = pk[i].base + pk[i].off,
					 .len = pk[i].len };
	}
	if (k)
		ss_dpu_deliver(b->port, out, k);
}

/* An SPI we do not have: the sender may be a peer that still uses an SA we lost.  Reported
 * once per (sender, SPI) per second: it is unauthenticated, a hint only. */
static void unknown_spi(dpu_backend *b, const ss_esp_pkt *pk, ss_time now)
{
	if (pk->len < 4)
		return;
	const uint8_t *s = pk->base + pk->off;
	uint32_t spi = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
	b->st.unknown_spi++;
	dpu_spi_seen *slot = &b->spi_seen[0];
	for (size_t i = 0; i < sizeof(b->spi_seen) / sizeof(b->spi_seen[0]); i++) {
		dpu_spi_seen *x = &b->spi_seen[i];
		if (x->spi == spi && ss_addr_eq(&x->from, &pk->src)) {
			if (now - x->at < 1000)
				return;
			slot = x;
			break;
		}
		if (x->at < slot->at)
			slot = x;
	}
	*slot = (dpu_spi_seen){ pk->src, spi, now };
	ss_dp_event ev = { .kind = SS_DP_EV_UNKNOWN_SPI, .local = pk->dst, .remote = pk->src,
			   .port = pk->sport, .sa = { .spi = spi, .dir = SS_DP_IN, .local = pk->dst, .remote = pk->src } };
	dpu_event(b, &ev);
}

static void decap(dpu_backend *b, ss_esp_pkt *pk, size_t n, ss_time now)
{
	ss_esp_decap_batch(b->sas.sad, pk, n, now);
	for (size_t i = 0; i < n; i++)
		if (pk[i].result == SS_ESP_E_NOSA)
			unknown_spi(b, &pk[i], now);
	deliver(b, pk, n);
}

void dpu_stage_flush(dpu_backend *b, ss_time now)
{
	dpu_stage *g = &b->stage;
	if (g->n_clr) {
		ss_dpu_release_clear(b->port, g->clr, g->n_clr);
		b->st.released_clear += g->n_clr;
		g->n_clr = 0;
	}
	if (g->n_enc) {
		ss_dpu_pkt out[DPU_BATCH];
		size_t k = 0;
		for (size_t i = 0; i < g->n_enc;) {
			size_t j = i + 1;
			while (j < g->n_enc && g->enc_sa[j] == g->enc_sa[i])
				j++;
			if (!g->enc_sa[i]) { /* their SA went before the flush (dpu_stage_forget_sa) */
				i = j;
				continue;
			}
			ss_esp_encap_batch(g->enc_sa[i]->esp, g->enc + i, j - i, now);
			for (size_t x = i; x < j; x++) {
				ss_esp_pkt *p = &g->enc[x];
				if (p->result != SS_ESP_OK) {
					b->st.esp_out_err++;
					continue;
				}
				b->st.esp_out_pkts++;
				b->st.esp_out_bytes += p->len;
				out[k++] = (ss_dpu_pkt){ .buf = p->base, .cap = p->cap,
							 .data = p->base + p->off + p->outer_hdr_len,
							 .len = p->len - p->outer_hdr_len,
							 .remote = g->enc_sa[x]->id.remote, .port = g->enc_sa[x]->rport,
							 .tos = p->outer_tos };
			}
			i = j;
		}
		if (k)
			ss_dpu_send_esp(b->port, out, k);
		g->n_enc = 0;
	}
	if (g->n_udp) {
		decap(b, g->udp, g->n_udp, now);
		g->n_udp = 0;
	}
	dpu_sa_events(b);
}

void dpu_stage_forget_sa(dpu_backend *b, const dpu_sa *s)
{
	dpu_stage *g = &b->stage;
	/* Marked, not removed: each staged packet may sit in its own index's slot. */
	for (size_t i = 0; i < g->n_enc; i++)
		if (g->enc_sa[i] == s) {
			g->enc_sa[i] = NULL;
			b->st.esp_out_err++;
		}
	if (b->last_sa == s)
		b->last_sa = NULL;
}

void dpu_end_round(dpu_backend *b, ss_time now)
{
	dpu_stage_flush(b, now);
	for (size_t i = 0; i < b->batch.n; i++)
		if (!b->batch.decided[i])
			b->st.undecided++;
	b->batch.n = 0;
}

/* ---- outbound ---- */

int dpu_read_outbound(dpu_backend *b, ss_time now)
{
	dpu_batch *bt = &b->batch;
	if (bt->n)
		dpu_end_round(b, now); /* the daemon did not flush: the old round ends here */
	for (size_t i = 0; i < DPU_BATCH; i++)
		bt->pk[i] = (ss_dpu_pkt){ .buf = bt->slot[i] + SS_ESP_HEADROOM,
					  .cap = DPU_SLOT - SS_ESP_HEADROOM - SS_ESP_TAILROOM };
	int n = ss_dpu_read_outbound(b->port, bt->pk, DPU_BATCH);
	if (n < 0 && n != -EAGAIN && n != -EINTR)
		return n;
	if (n <= 0)
		return 0;
	bt->base = b->next_handle;
	bt->n = (size_t)n;
	b->next_handle += (uint64_t)n;
	b->st.captured += (uint64_t)n;
	b->st.captured_reads++;
	for (int i = 0; i < n; i++) {
		bt->decided[i] = false;
		const ss_pkt_tuple *t = &bt->t[i];
		if (!ss_pkt_tuple_parse(bt->pk[i].data, bt->pk[i].len, &bt->t[i])) {
			b->st.unparsable++;
			bt->decided[i] = true;
			continue;
		}
		ss_addr local, remote;
		dpu_tunend *end;
		if (!packet_pair(b, t, false, &local, &remote, &end)) {
			b->st.no_sa_out++; /* no route to its tunnel's endpoint */
			bt->decided[i] = true;
			continue;
		}
		ss_dp_event ev = { .kind = SS_DP_EV_ACQUIRE, .local = local, .remote = remote, .proto = t->proto,
				   .sport = t->sport, .dport = t->dport, .len = (uint32_t)bt->pk[i].len,
				   .handle = bt->base + (uint64_t)i };
		dpu_event(b, &ev);
	}
	return n;
}

int dpu_verdict(dpu_backend *b, uint64_t h, enum ss_dp_pkt_verdict v, ss_time now)
{
	dpu_batch *bt = &b->batch;
	const uint8_t *p = NULL;
	size_t len = 0;
	uint8_t *slot = NULL;
	const ss_pkt_tuple *tp = NULL;
	dpu_held_pkt *owned = NULL;
	if (bt->n && h >= bt->base && h < bt->base + bt->n && !bt->decided[h - bt->base]) {
		size_t i = (size_t)(h - bt->base);
		if (v == SS_DP_PKT_HOLD) {
			bt->decided[i] = true;
			if (!dpu_held_put(&b->held, h, bt->pk[i].data, bt->pk[i].len)) {
				b->st.held_refused++;
				dpu_event(b, &(ss_dp_event){ .kind = SS_DP_EV_HELD_DROPPED, .handle = h });
			}
			return 0;
		}
		bt->decided[i] = true;
		p = bt->pk[i].data;
		len = bt->pk[i].len;
		/* The batch's slots stay untouched until the next read, which ends this round
		 * (and so flushes the staged packets) first. */
		slot = bt->slot[i];
		tp = &bt->t[i];
	} else if (v == SS_DP_PKT_HOLD) {
		return 0; /* held already (or gone: a later verdict says -ENOENT) */
	} else {
		owned = dpu_held_take(&b->held, h);
		if (!owned)
			return -ENOENT;
		p = owned->data;
		len = owned->len;
	}
	if (v == SS_DP_PKT_CLEAR)
		stage_clear(b, p, len, now);
	else if (v == SS_DP_PKT_ESP)
		stage_esp(b, slot, p, len, tp, now);
	free(owned);
	return 0;
}

/* ---- inbound ESP ---- */

int dpu_read_esp(dpu_backend *b, ss_time now)
{
	ss_dpu_pkt dk[DPU_BATCH];
	ss_esp_pkt ep[DPU_BATCH];
	for (size_t i = 0; i < DPU_BATCH; i++)
		dk[i] = (ss_dpu_pkt){ .buf = b->rx_slot[i] + DPU_RX_HEAD, .cap = DPU_SLOT - DPU_RX_HEAD };
	int n = ss_dpu_recv_esp(b->port, dk, DPU_BATCH);
	if (n <= 0)
		return 0;
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		if (dk[i].kind != SS_DPU_RX_ESP)
			continue;
		ep[k++] = (ss_esp_pkt){ .base = b->rx_slot[i], .cap = DPU_SLOT,
					.off = (uint32_t)(dk[i].data - b->rx_slot[i]), .len = (uint32_t)dk[i].len,
					.src = dk[i].remote, .dst = dk[i].local, .sport = dk[i].port,
					.outer_tos = dk[i].tos };
	}
	decap(b, ep, k, now);
	dpu_sa_events(b);
	return n;
}

int dpu_esp_input(dpu_backend *b, const ss_addr *local, const ss_addr *remote, uint16_t lport,
		  uint16_t rport, const uint8_t *p, size_t len)
{
	dpu_stage *g = &b->stage;
	if (len > DPU_SLOT - DPU_RX_HEAD)
		return -EMSGSIZE;
	if (g->n_udp == DPU_BATCH)
		dpu_stage_flush(b, ss_now_ms());
	/* Copied (with headroom for transport-mode decap): the daemon's socket buffers are reused
	 * by its next read; decapsulated as a batch at the next flush. */
	size_t i = g->n_udp++;
	memcpy(g->udp_slot[i] + DPU_RX_HEAD, p, len);
	g->udp[i] = (ss_esp_pkt){ .base = g->udp_slot[i], .cap = DPU_SLOT, .off = DPU_RX_HEAD,
				  .len = (uint32_t)len, .src = *remote, .dst = *local, .sport = rport,
				  .dport = lport };
	return 0;
}

/* ---- notices ---- */

int dpu_read_notices(dpu_backend *b)
{
	ss_dp_notice nt[DPU_BATCH];
	int n = ss_dpu_read_notices(b->port, nt, DPU_BATCH);
	for (int i = 0; i < n; i++) {
		ss_pkt_tuple t = { .src = nt[i].src, .dst = nt[i].dst, .proto = nt[i].proto, .sport = nt[i].sport,
				   .dport = nt[i].dport };
		ss_addr local, remote;
		dpu_tunend *end;
		if (!packet_pair(b, &t, true, &local, &remote, &end))
			continue;
		ss_dp_event ev = { .kind = SS_DP_EV_INBOUND_CLEAR, .local = local, .remote = remote,
				   .proto = nt[i].proto, .sport = nt[i].sport, .dport = nt[i].dport,
				   .accepted = nt[i].accepted };
		dpu_event(b, &ev);
	}
	return n > 0 ? n : 0;
}
