#include "dataplane/gso.h"

#include <string.h>

#include "base/cursor.h"
#include "base/ip.h"
#include "dataplane/pkt.h"

bool ss_vnet_hdr_parse(const uint8_t *p, size_t len, ss_vnet_hdr *out)
{
	ss_cur c = ss_cur_init(p, len);
	uint8_t b[SS_VNET_HDR_LEN];
	if (!ss_cur_copy(&c, b, sizeof b))
		return false;
	*out = (ss_vnet_hdr){
		.flags = b[0], .gso_type = b[1],
		.hdr_len = (uint16_t)(b[2] | b[3] << 8), .gso_size = (uint16_t)(b[4] | b[5] << 8),
		.csum_start = (uint16_t)(b[6] | b[7] << 8), .csum_offset = (uint16_t)(b[8] | b[9] << 8),
	};
	return true;
}

bool ss_csum_complete(uint8_t *pkt, size_t len, size_t start, size_t offset)
{
	if (start > len || offset + 2 > len - start)
		return false;
	uint16_t c = ss_csum_finish(ss_csum_add(0, pkt + start, len - start));
	pkt[start + offset] = (uint8_t)(c >> 8);
	pkt[start + offset + 1] = (uint8_t)c;
	return true;
}

/* The headers both kinds share: IP (IPv6 without extension headers: the kernel does not
 * send such GSO packets to a TUN), the whole frame one packet, the transport protocol. */
static bool seg_init(ss_tso *t, const uint8_t *pkt, size_t len, size_t mss, uint8_t proto, ss_pkt_tuple *tu)
{
	memset(t, 0, sizeof *t);
	if (mss == 0 || !ss_pkt_tuple_parse(pkt, len, tu) || tu->proto != proto || tu->total != len)
		return false;
	t->v4 = tu->src.family == SS_AF_INET;
	if (!t->v4 && tu->l3len != 40)
		return false;
	t->pkt = pkt;
	t->len = len;
	t->iphl = tu->l3len;
	t->mss = mss;
	return true;
}

bool ss_tso_init(ss_tso *t, const uint8_t *pkt, size_t len, size_t mss)
{
	ss_pkt_tuple tu;
	if (!seg_init(t, pkt, len, mss, SS_IPPROTO_TCP, &tu))
		return false;
	uint8_t doff = 0;
	ss_cur c = ss_cur_init(pkt, len);
	if (!ss_cur_peek(&c, tu.l3len + 12, &doff, 1))
		return false;
	size_t tcphl = (size_t)(doff >> 4) * 4;
	if (tcphl < 20 || tu.l3len + tcphl > len)
		return false;
	t->hlen = tu.l3len + tcphl;
	return true;
}

bool ss_uso_init(ss_tso *t, const uint8_t *pkt, size_t len, size_t mss)
{
	ss_pkt_tuple tu;
	if (!seg_init(t, pkt, len, mss, SS_IPPROTO_UDP, &tu) || tu.l3len + 8 > len)
		return false;
	t->udp = true;
	t->hlen = tu.l3len + 8;
	return true;
}

enum ss_vnet_kind ss_vnet_frame(ss_tso *t, uint8_t *frame, size_t len, size_t *off, size_t *plen)
{
	ss_vnet_hdr h;
	if (!ss_vnet_hdr_parse(frame, len, &h))
		return SS_VNET_BAD;
	ss_cur c = ss_cur_init(frame, len);
	uint8_t vers = 0;
	ss_cur_skip(&c, SS_VNET_HDR_LEN);
	ss_cur_peek(&c, 0, &vers, 1);
	uint8_t *pkt = frame + (len - ss_cur_left(&c)); /* the cursor's position, writable */
	size_t n = ss_cur_left(&c);
	bool v4 = vers >> 4 == 4;
	/* Every segment's checksum is computed afresh, so NEEDS_CSUM is moot for a split. */
	switch (h.gso_type & ~SS_VNET_GSO_ECN) {
	case SS_VNET_GSO_NONE:
		break;
	case SS_VNET_GSO_TCPV4:
	case SS_VNET_GSO_TCPV6:
		if (v4 != ((h.gso_type & ~SS_VNET_GSO_ECN) == SS_VNET_GSO_TCPV4))
			return SS_VNET_BAD;
		return ss_tso_init(t, pkt, n, h.gso_size) ? SS_VNET_SPLIT : SS_VNET_BAD;
	case SS_VNET_GSO_UDP_L4:
		return ss_uso_init(t, pkt, n, h.gso_size) ? SS_VNET_SPLIT : SS_VNET_BAD;
	default:
		return SS_VNET_BAD;
	}
	ss_pkt_tuple tu;
	if (((h.flags & SS_VNET_F_NEEDS_CSUM) && !ss_csum_complete(pkt, n, h.csum_start, h.csum_offset)) ||
	    !ss_pkt_tuple_parse(pkt, n, &tu) || tu.total != n)
		return SS_VNET_BAD;
	*off = SS_VNET_HDR_LEN;
	*plen = n;
	return SS_VNET_ONE;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

enum { TCP_FIN = 0x01, TCP_PSH = 0x08, TCP_CWR = 0x80 };

size_t ss_tso_next(ss_tso *t, uint8_t *out, size_t cap)
{
	size_t total = t->len - t->hlen;
	if (t->off >= total && !(total == 0 && t->seg == 0))
		return 0;
	size_t n = total - t->off < t->mss ? total - t->off : t->mss;
	size_t seglen = t->hlen + n;
	if (seglen > cap)
		return 0;
	bool last = t->off + n >= total;
	memcpy(out, t->pkt, t->hlen);
	memcpy(out + t->hlen, t->pkt + t->hlen + t->off, n);
	uint8_t *ip = out, *tcp = out + t->iphl;
	if (t->v4) {
		put16(ip + 2, (uint16_t)seglen);
		put16(ip + 4, (uint16_t)(get16(t->pkt + 4) + t->seg)); /* as the kernel's TSO does */
		put16(ip + 10, 0);
		put16(ip + 10, ss_csum_finish(ss_csum_add(0, ip, t->iphl)));
	} else {
		put16(ip + 4, (uint16_t)(seglen - 40));
	}
	/* the transport header: tcp points at TCP's or UDP's */
	size_t l4len = seglen - t->iphl, csum_at = t->udp ? 6 : 16;
	if (t->udp) {
		put16(tcp + 4, (uint16_t)l4len);
	} else {
		put32(tcp + 4, get32(t->pkt + t->iphl + 4) + (uint32_t)t->off);
		/* FIN and PSH belong to the last segment, CWR to the first (RFC 3168 §6.1.2). */
		if (!last)
			tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (t->seg > 0)
			tcp[13] &= (uint8_t)~TCP_CWR;
	}
	/* Checksum over the pseudo-header (RFC 9293 §3.1, RFC 768; RFC 8200 §8.1) and segment. */
	size_t alen = t->v4 ? 4 : 16;
	const uint8_t *addrs = t->v4 ? ip + 12 : ip + 8;
	uint32_t acc = ss_csum_add(0, addrs, 2 * alen);
	acc = (acc & 0xffff) + (acc >> 16) + (t->udp ? SS_IPPROTO_UDP : SS_IPPROTO_TCP) +
	      (uint32_t)l4len; /* no overflow */
	put16(tcp + csum_at, 0);
	uint16_t sum = ss_csum_finish(ss_csum_add(acc, tcp, l4len));
	/* UDP: a computed zero is sent as all ones (zero means "no checksum", RFC 768). */
	put16(tcp + csum_at, t->udp && sum == 0 ? 0xffff : sum);
	t->off += n;
	t->seg++;
	return seglen;
}
