/* Inbound ESP (RFC 4303 §3.4), in the order the RFC gives and STYLE.md repeats:
 * parse (SPI -> SA) -> replay pre-check -> ICV/decrypt -> window update -> padding and next
 * header -> inner packet against the SA's selectors (RFC 4301 §5.2).  Every failure is a
 * result code and a counter, never a log line per packet. */
#include <string.h>

#include "base/cursor.h"
#include "esp/ip.h"
#include "esp/sa.h"
#include "esp/wire.h"

/* RFC 4303 §2.4: the receiver checks the padding is 1, 2, 3, ... (we always do). */
static int check_trailer(const uint8_t *pt, size_t clen, size_t *plen, uint8_t *nh)
{
	ss_cur c = ss_cur_init(pt, clen);
	uint8_t padlen = 0;
	ss_cur_peek(&c, clen - 2, &padlen, 1);
	ss_cur_peek(&c, clen - 1, nh, 1);
	if ((size_t)padlen + SS_ESP_TRAILER_LEN > clen)
		return SS_ESP_E_PAD;
	*plen = clen - SS_ESP_TRAILER_LEN - padlen;
	ss_cur_skip(&c, *plen);
	for (unsigned i = 1; i <= padlen; i++)
		if (ss_cur_u8(&c) != (uint8_t)i)
			return SS_ESP_E_PAD;
	return SS_ESP_OK;
}

/* Transport mode: the IP header is rebuilt in front of the payload from the outer
 * addresses (the ones the packet arrived with; the SA's if the caller gave none). */
static int rebuild_hdr(ss_esp_sa *sa, ss_esp_pkt *pk, size_t payload, size_t plen, uint8_t nh)
{
	const ss_addr *src = pk->src.family ? &pk->src : &sa->p.remote;
	const ss_addr *dst = pk->dst.family ? &pk->dst : &sa->p.local;
	if (src->family == SS_AF_NONE || src->family != dst->family)
		return SS_ESP_E_MALFORMED;
	size_t hl = src->family == SS_AF_INET ? SS_IPV4_HDR_LEN : SS_IPV6_HDR_LEN;
	if (payload < hl)
		return SS_ESP_E_NOROOM;
	if (plen + hl > 0xffff)
		return SS_ESP_E_MALFORMED;
	ss_buf w = ss_buf_init(pk->base + payload - hl, hl);
	if (hl == SS_IPV4_HDR_LEN) {
		ss_buf_be32(&w, 0x45000000u | (uint32_t)(plen + hl));
		ss_buf_be32(&w, 0);
		ss_buf_u8(&w, SS_IP_DEFAULT_TTL);
		ss_buf_u8(&w, nh);
		ss_buf_be16(&w, 0);
		ss_buf_put(&w, src->a, 4);
		ss_buf_put(&w, dst->a, 4);
		ss_buf_set_be16(&w, 10, (uint16_t)~ss_csum_fold(ss_csum_add(0, w.p, hl)));
	} else {
		ss_buf_be32(&w, 6u << 28);
		ss_buf_be16(&w, (uint16_t)plen);
		ss_buf_u8(&w, nh);
		ss_buf_u8(&w, SS_IP_DEFAULT_TTL);
		ss_buf_put(&w, src->a, 16);
		ss_buf_put(&w, dst->a, 16);
	}
	pk->off = (uint32_t)(payload - hl);
	pk->len = (uint32_t)(plen + hl);
	return SS_ESP_OK;
}

/* RFC 6040 §4.2, decapsulation: the inner ECN field from (inner, outer); 4 = drop. */
enum { NOT_ECT = 0, ECT1 = 1, ECT0 = 2, CE = 3, DROP = 4 };
static const uint8_t ecn_egress[4][4] = {
	/* outer:      Not-ECT  ECT(1)  ECT(0)  CE */
	[NOT_ECT] = { NOT_ECT, NOT_ECT, NOT_ECT, DROP },
	[ECT1] =    { ECT1,    ECT1,    ECT1,    CE },
	[ECT0] =    { ECT0,    ECT1,    ECT0,    CE },
	[CE] =      { CE,      CE,      CE,      CE },
};

static int apply_ecn(ss_esp_pkt *pk, const ss_ip_hdr *f)
{
	uint8_t *h = pk->base + pk->off; /* ss_ip_parse validated the header */
	uint8_t tos = f->version == 4 ? h[1] : (uint8_t)(ss_get16(h) >> 4);
	uint8_t e = ecn_egress[tos & 3][pk->outer_tos & 3];
	if (e == DROP)
		return SS_ESP_E_ECN;
	if (e == (tos & 3))
		return SS_ESP_OK;
	tos = (uint8_t)((tos & ~3) | e);
	if (f->version == 4) {
		h[1] = tos;
		ss_put16(h + 10, 0);
		ss_put16(h + 10, (uint16_t)~ss_csum_fold(ss_csum_add(0, h, f->hdr_len)));
	} else {
		ss_put16(h, (uint16_t)((ss_get16(h) & 0xf00f) | tos << 4));
	}
	return SS_ESP_OK;
}

/* After the trailer: the inner packet, validated and checked against the selectors. */
static int inner(ss_esp_sa *sa, ss_esp_pkt *pk, size_t payload, size_t plen, uint8_t nh)
{
	if (nh == SS_IPPROTO_NONE)
		return SS_ESP_E_DUMMY;
	int r;
	if (sa->p.mode == SS_ESP_TUNNEL) {
		if (nh != SS_IPPROTO_IPIP && nh != SS_IPPROTO_IPV6)
			return SS_ESP_E_MALFORMED;
		pk->off = (uint32_t)payload;
		pk->len = (uint32_t)plen;
	} else if ((r = rebuild_hdr(sa, pk, payload, plen, nh)) != SS_ESP_OK) {
		return r;
	}
	ss_ip_hdr f;
	if (!ss_ip_parse(pk->base + pk->off, pk->len, 0, &f))
		return SS_ESP_E_MALFORMED;
	if (sa->p.mode == SS_ESP_TUNNEL && f.version != (nh == SS_IPPROTO_IPIP ? 4 : 6))
		return SS_ESP_E_MALFORMED;
	/* TFC padding (RFC 4303 §2.7) may follow the inner packet: its own length rules. */
	pk->len = f.total_len;
	/* Transport mode over UDP means a NAT may sit between us: the sender's TCP/UDP checksum
	 * covers addresses we did not receive (RFC 3948 §3.1.2).  The ICV has vouched for the
	 * payload, so the checksum is recomputed for the header we rebuilt. */
	if (sa->p.mode == SS_ESP_TRANSPORT && sa->p.udp_local_port)
		ss_l4_csum_fix(pk->base + pk->off, &f);
	if (!ss_ts_match(&sa->p, &f, true))
		return SS_ESP_E_SELECTOR;
	return sa->p.mode == SS_ESP_TUNNEL ? apply_ecn(pk, &f) : SS_ESP_OK;
}

static int decap_sa(ss_esp_sa *sa, ss_esp_pkt *pk, uint32_t wire_seq, ss_time now)
{
	ss_esp_sa_check_time(sa, now);
	if (sa->dead)
		return SS_ESP_E_EXPIRED;
	size_t hdr = SS_ESP_HDR_LEN + sa->cr.iv_len, icv = sa->cr.icv_len;
	if (pk->len < hdr + SS_ESP_TRAILER_LEN + icv)
		return SS_ESP_E_MALFORMED;
	size_t clen = pk->len - hdr - icv;
	if (!sa->cr.aead && clen % sa->cr.block)
		return SS_ESP_E_MALFORMED;
	uint64_t seq;
	if (!ss_replay_infer(&sa->replay, wire_seq, &seq) || !ss_replay_check(&sa->replay, seq))
		return SS_ESP_E_REPLAY;
	uint8_t *esp = pk->base + pk->off;
	if (!ss_esp_open(&sa->cr, esp, clen, seq, sa->p.esn))
		return SS_ESP_E_AUTH;
	if (!ss_replay_update(&sa->replay, seq))
		return SS_ESP_E_REPLAY;
	size_t plen;
	uint8_t nh = 0;
	int r = check_trailer(esp + hdr, clen, &plen, &nh);
	if (r == SS_ESP_OK)
		r = inner(sa, pk, pk->off + hdr, plen, nh);
	if (r == SS_ESP_OK)
		ss_esp_sa_account(sa, pk->len);
	return r;
}

static int decap_one(ss_esp_sad *sad, ss_esp_pkt *pk, ss_time now)
{
	pk->sa = NULL;
	if (pk->off > pk->cap || pk->len > pk->cap - pk->off)
		return SS_ESP_E_MALFORMED;
	ss_cur c = ss_cur_init(pk->base + pk->off, pk->len);
	const uint8_t *h = ss_cur_take(&c, SS_ESP_HDR_LEN);
	if (!h)
		return SS_ESP_E_MALFORMED;
	uint32_t spi = ss_get32(h), seq = ss_get32(h + 4);
	ss_esp_sa *sa = ss_esp_sad_lookup_in(sad, spi);
	if (!sa)
		return SS_ESP_E_NOSA;
	pk->sa = sa;
	return decap_sa(sa, pk, seq, now);
}

size_t ss_esp_decap_batch(ss_esp_sad *sad, ss_esp_pkt *pkts, size_t n, ss_time now)
{
	size_t ok = 0;
	for (size_t i = 0; i < n; i++) {
		ss_esp_pkt *pk = &pkts[i];
		int r = decap_one(sad, pk, now);
		pk->result = (int16_t)r;
		if (r == SS_ESP_OK)
			ok++;
		else if (pk->sa)
			pk->sa->ctr.errors[r]++;
		else
			ss_esp_sad_ctr(sad)->errors[r]++;
	}
	return ok;
}

/* RFC 3948 §2: on UDP, a NAT keepalive (one 0xFF byte) and IKE (non-ESP marker: four zero
 * bytes where an SPI would be; SPI 0 is never valid) are not ESP. */
static int udp_payload(ss_cur *c, ss_esp_pkt *pk)
{
	pk->sport = ss_cur_be16(c);
	pk->dport = ss_cur_be16(c);
	uint16_t ulen = ss_cur_be16(c);
	ss_cur_skip(c, 2);
	if (!ss_cur_ok(c) || ulen < SS_UDP_HDR_LEN || (size_t)ulen - SS_UDP_HDR_LEN > ss_cur_left(c))
		return SS_ESP_E_MALFORMED;
	*c = ss_cur_sub(c, (size_t)ulen - SS_UDP_HDR_LEN);
	uint8_t m[SS_NON_ESP_MARKER_LEN];
	if (ss_cur_left(c) == 1 && ss_cur_peek(c, 0, m, 1) && m[0] == SS_NATT_KEEPALIVE)
		return SS_ESP_E_UNSUPPORTED;
	static const uint8_t zero[SS_NON_ESP_MARKER_LEN];
	if (ss_cur_peek(c, 0, m, sizeof(m)) && memcmp(m, zero, sizeof(m)) == 0)
		return SS_ESP_E_UNSUPPORTED;
	return SS_ESP_OK;
}

int ss_esp_parse_outer(ss_esp_pkt *pk)
{
	if (pk->off > pk->cap || pk->len > pk->cap - pk->off)
		return SS_ESP_E_MALFORMED;
	ss_cur c = ss_cur_init(pk->base + pk->off, pk->len);
	uint8_t v = 0, proto;
	size_t consumed;
	ss_cur_peek(&c, 0, &v, 1);
	if (v >> 4 == 4) {
		const uint8_t *h = ss_cur_take(&c, SS_IPV4_HDR_LEN);
		if (!h)
			return SS_ESP_E_MALFORMED;
		size_t ihl = (size_t)(h[0] & 15) * 4, tot = ss_get16(h + 2);
		pk->outer_tos = h[1];
		proto = h[9];
		pk->src = ss_addr_from(h + 12, SS_AF_INET);
		pk->dst = ss_addr_from(h + 16, SS_AF_INET);
		if (ihl < SS_IPV4_HDR_LEN || tot < ihl || tot > pk->len)
			return SS_ESP_E_MALFORMED;
		if (ss_get16(h + 6) & (SS_IPV4_MF | SS_IPV4_OFFMASK))
			return SS_ESP_E_UNSUPPORTED; /* reassembly is the kernel's job */
		c = ss_cur_sub(&c, tot - SS_IPV4_HDR_LEN);
		ss_cur_skip(&c, ihl - SS_IPV4_HDR_LEN);
		consumed = ihl;
	} else if (v >> 4 == 6) {
		const uint8_t *h = ss_cur_take(&c, SS_IPV6_HDR_LEN);
		if (!h)
			return SS_ESP_E_MALFORMED;
		size_t plen = ss_get16(h + 4);
		pk->outer_tos = (uint8_t)(ss_get16(h) >> 4);
		proto = h[6];
		pk->src = ss_addr_from(h + 8, SS_AF_INET6);
		pk->dst = ss_addr_from(h + 24, SS_AF_INET6);
		if (plen > ss_cur_left(&c))
			return SS_ESP_E_MALFORMED;
		c = ss_cur_sub(&c, plen);
		consumed = SS_IPV6_HDR_LEN;
	} else {
		return SS_ESP_E_MALFORMED;
	}
	pk->sport = pk->dport = 0;
	int r = SS_ESP_OK;
	if (proto == SS_IPPROTO_UDP) {
		r = udp_payload(&c, pk);
		consumed += SS_UDP_HDR_LEN;
	}
	else if (proto != SS_IPPROTO_ESP)
		r = SS_ESP_E_UNSUPPORTED; /* another protocol, or IPv6 extension headers */
	if (r != SS_ESP_OK || !ss_cur_ok(&c))
		return r != SS_ESP_OK ? r : SS_ESP_E_MALFORMED;
	/* c now covers exactly the ESP packet, right after the headers consumed. */
	pk->off += (uint32_t)consumed;
	pk->len = (uint32_t)ss_cur_left(&c);
	return SS_ESP_OK;
}
