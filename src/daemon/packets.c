/* The packet path.
 *
 *   outbound  TUN batch -> 5-tuple -> agent (one decision per packet, by handle) -> the
 *             agent's actions (agentio.c) stage packets here for ESP or for clear release
 *             -> one ESP encap batch per SA and one sendmmsg per kind, at the end of the
 *             batch (dm_tx_flush).
 *   inbound   ESP batch (raw protocol 50, or UDP 4500 through the IKE socket) -> decap in
 *             place (RFC 4303 receive order inside the ESP library) -> deliver into the TUN.
 *             Every failure is counted by kind (replay, authentication, ...).
 *   notices   inbound clear packets from unknown peers (NFLOG) -> agent, which negotiates
 *             toward the sender; the dataplane has already accepted or dropped the packet.
 *
 * Buffers are fixed and reused: nothing is allocated per packet except held packets. */
#include <errno.h>
#include <string.h>

#include "agent/agent.h"
#include "base/cursor.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "dataplane/pkt.h"
#include "esp/esp.h"

/* A slot holds one packet with room for ESP around it; TUN packets are at most its MTU
 * (1400 by default), far below the slot. */
enum { SLOT = 2048 + SS_ESP_HEADROOM + SS_ESP_TAILROOM, RX_HEAD = 64, ROUNDS = 16 };

static uint8_t cap_slot[DM_BATCH][SLOT];   /* captured outbound */
static uint8_t enc_slot[DM_BATCH][SLOT];   /* staged for ESP */
static uint8_t clr_slot[DM_BATCH][SLOT];   /* staged for clear release */
static uint8_t esp_slot[DM_BATCH][SLOT];   /* received ESP */

static struct {
	ss_esp_pkt pk[DM_BATCH];
	ss_esp_sa *sa[DM_BATCH];
	dm_child *c[DM_BATCH];
	size_t n;
} enc;

static struct {
	ss_dp_pkt pk[DM_BATCH];
	size_t n;
} clr;

static struct {
	ss_esp_pkt pk[DM_BATCH];
	size_t n;
} udp_rx;

/* The packet path asks for the same pair again and again: remember the last answer until
 * the table changes (a newer SA with the same peer must win at once). */
static dm_child *last_child;
static uint64_t last_gen;

/* ---- transmit staging ---- */

void dm_tx_encrypt(ss_daemon *d, const uint8_t *p, size_t len, const ss_addr *local, const ss_addr *remote)
{
	dm_child *c = last_child;
	if (!c || last_gen != d->children.gen || !ss_addr_eq(&c->remote, remote) ||
	    !ss_addr_eq(&c->local, local) || ss_esp_sa_dead(c->out)) {
		c = last_child = dm_children_for_pair(&d->children, local, remote);
		last_gen = d->children.gen;
	}
	if (!c || len > SLOT - SS_ESP_HEADROOM - SS_ESP_TAILROOM) {
		d->st.no_sa_out++;
		return;
	}
	if (enc.n == DM_BATCH)
		dm_tx_flush(d);
	size_t i = enc.n++;
	memcpy(enc_slot[i] + SS_ESP_HEADROOM, p, len);
	enc.pk[i] = (ss_esp_pkt){ .base = enc_slot[i], .cap = SLOT, .off = SS_ESP_HEADROOM, .len = (uint32_t)len };
	enc.sa[i] = c->out;
	enc.c[i] = c;
}

void dm_tx_clear(ss_daemon *d, const uint8_t *p, size_t len)
{
	if (len > SLOT)
		return;
	if (clr.n == DM_BATCH)
		dm_tx_flush(d);
	size_t i = clr.n++;
	memcpy(clr_slot[i], p, len);
	clr.pk[i] = (ss_dp_pkt){ .buf = clr_slot[i], .cap = SLOT, .data = clr_slot[i], .len = len };
}

static void deliver(ss_daemon *d, ss_esp_pkt *pk, size_t n)
{
	ss_dp_pkt out[DM_BATCH];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (pk[i].result != SS_ESP_OK) {
			if (pk[i].result >= 0 && pk[i].result < 16)
				d->st.esp_err[pk[i].result]++;
			ss_cur c = ss_cur_init(pk[i].base + pk[i].off, pk[i].len);
			uint32_t spi = ss_cur_be32(&c);
			if (pk[i].result == SS_ESP_E_NOSA && ss_cur_ok(&c))
				dm_esp_unknown(d, &pk[i].dst, &pk[i].src, pk[i].dport, pk[i].sport, spi, ss_now_ms());
			continue;
		}
		d->st.esp_in_pkts++;
		d->st.esp_in_bytes += pk[i].len;
		out[k++] = (ss_dp_pkt){ .buf = pk[i].base, .cap = pk[i].cap, .data = pk[i].base + pk[i].off,
					.len = pk[i].len };
	}
	if (k)
		ss_dp_deliver(d->dp, out, k);
}

void dm_tx_flush(ss_daemon *d)
{
	ss_time now = ss_now_ms();
	if (clr.n) {
		ss_dp_release_clear(d->dp, clr.pk, clr.n);
		clr.n = 0;
	}
	if (enc.n) {
		ss_dp_pkt out[DM_BATCH];
		size_t k = 0;
		for (size_t i = 0; i < enc.n;) {
			size_t j = i + 1;
			while (j < enc.n && enc.sa[j] == enc.sa[i])
				j++;
			ss_esp_encap_batch(enc.sa[i], enc.pk + i, j - i, now);
			for (size_t x = i; x < j; x++) {
				ss_esp_pkt *p = &enc.pk[x];
				if (p->result != SS_ESP_OK) {
					d->st.esp_out_err++;
					continue;
				}
				d->st.esp_out_pkts++;
				d->st.esp_out_bytes += p->len;
				out[k++] = (ss_dp_pkt){ .buf = p->base, .cap = p->cap,
							.data = p->base + p->off + p->outer_hdr_len,
							.len = p->len - p->outer_hdr_len, .remote = enc.c[x]->remote,
							.port = enc.c[x]->rport };
			}
			i = j;
		}
		if (k)
			ss_dp_send_esp(d->dp, out, k);
		enc.n = 0;
	}
	if (udp_rx.n) {
		ss_esp_decap_batch(d->sad, udp_rx.pk, udp_rx.n, now);
		deliver(d, udp_rx.pk, udp_rx.n);
		udp_rx.n = 0;
	}
	dm_esp_events(d, now);
}

/* ---- outbound ---- */

int dm_on_outbound(ss_daemon *d)
{
	ss_dp_pkt pk[DM_BATCH];
	for (int round = 0; round < ROUNDS; round++) {
		for (size_t i = 0; i < DM_BATCH; i++)
			pk[i] = (ss_dp_pkt){ .buf = cap_slot[i] + SS_ESP_HEADROOM,
					     .cap = SLOT - SS_ESP_HEADROOM - SS_ESP_TAILROOM };
		int n = ss_dp_read_outbound(d->dp, pk, DM_BATCH);
		if (n < 0 && n != -EAGAIN && n != -EINTR)
			return n;
		if (n <= 0)
			break;
		ss_time now = ss_now_ms();
		dm_batch *b = &d->batch;
		b->base = d->next_handle;
		b->n = (size_t)n;
		d->next_handle += (uint64_t)n;
		for (int i = 0; i < n; i++) {
			b->data[i] = pk[i].data;
			b->len[i] = pk[i].len;
		}
		d->st.captured += (uint64_t)n;
		for (int i = 0; i < n; i++) {
			ss_pkt_tuple t;
			if (!ss_pkt_tuple_parse(pk[i].data, pk[i].len, &t)) {
				d->st.unparsable++;
				continue;
			}
			ss_pkt_key k = { .dir = SS_DIR_OUT, .proto = t.proto, .sport = t.sport, .dport = t.dport,
					 .src = t.src, .dst = t.dst };
			ss_agent_outbound(d->agent, now, &k, (uint32_t)pk[i].len, b->base + (uint64_t)i);
			dm_agent_drain(d, now);
		}
		dm_tx_flush(d);
		b->n = 0;
		dm_drain(d, now);
		if (n < DM_BATCH)
			break;
	}
	return 0;
}

/* ---- inbound ESP ---- */

void dm_on_esp(ss_daemon *d)
{
	ss_dp_pkt dk[DM_BATCH];
	ss_esp_pkt ep[DM_BATCH];
	for (int round = 0; round < ROUNDS; round++) {
		for (size_t i = 0; i < DM_BATCH; i++)
			dk[i] = (ss_dp_pkt){ .buf = esp_slot[i] + RX_HEAD, .cap = SLOT - RX_HEAD };
		int n = ss_dp_recv_esp(d->dp, dk, DM_BATCH);
		if (n <= 0)
			break;
		size_t k = 0;
		for (int i = 0; i < n; i++) {
			if (dk[i].kind != SS_DP_RX_ESP)
				continue;
			ep[k++] = (ss_esp_pkt){ .base = esp_slot[i], .cap = SLOT,
						.off = (uint32_t)(dk[i].data - esp_slot[i]), .len = (uint32_t)dk[i].len,
						.src = dk[i].remote, .dst = dk[i].local, .sport = dk[i].port };
		}
		ss_time now = ss_now_ms();
		ss_esp_decap_batch(d->sad, ep, k, now);
		deliver(d, ep, k);
		dm_esp_events(d, now);
		dm_drain(d, now);
		if (n < DM_BATCH)
			break;
	}
}

void dm_esp_udp(ss_daemon *d, const ss_addr *local, const ss_addr *remote, uint16_t lport,
		uint16_t rport, const uint8_t *p, size_t len)
{
	if (len > SLOT - RX_HEAD)
		return;
	if (udp_rx.n == DM_BATCH)
		dm_tx_flush(d);
	/* Copied (with headroom for transport-mode decap): the IKE socket's buffers are
	 * reused by its next read; decapsulated as a batch at the next flush. */
	static uint8_t slots[DM_BATCH][SLOT];
	size_t i = udp_rx.n++;
	memcpy(slots[i] + RX_HEAD, p, len);
	udp_rx.pk[i] = (ss_esp_pkt){ .base = slots[i], .cap = SLOT, .off = RX_HEAD, .len = (uint32_t)len,
				     .src = *remote, .dst = *local, .sport = rport, .dport = lport };
}

/* ---- notices ---- */

void dm_on_notices(ss_daemon *d)
{
	ss_dp_notice nt[DM_BATCH];
	for (int round = 0; round < ROUNDS; round++) {
		int n = ss_dp_read_notices(d->dp, nt, DM_BATCH);
		if (n <= 0)
			break;
		ss_time now = ss_now_ms();
		for (int i = 0; i < n; i++) {
			ss_pkt_key k = { .dir = SS_DIR_IN, .proto = nt[i].proto, .sport = nt[i].sport,
					 .dport = nt[i].dport, .src = nt[i].src, .dst = nt[i].dst };
			/* Handle 0: the packet itself is already gone (accepted or dropped by the
			 * dataplane); only the decision's side effects matter. */
			ss_agent_inbound_clear(d->agent, now, &k, 0, 0);
			dm_agent_drain(d, now);
		}
		dm_drain(d, now);
		if (n < DM_BATCH)
			break;
	}
}
