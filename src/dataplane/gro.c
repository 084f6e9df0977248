#include "dataplane/gro.h"

#include <string.h>

#include "base/cursor.h"
#include "base/ip.h"
#include "dataplane/pkt.h"

enum { TCP_PSH = 0x08, TCP_ACK = 0x10, MAX_IP_LEN = 65535 };

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }

/* A segment that may join a run: TCP with data, flags ACK (+PSH), no IPv4 options or
 * fragments, no IPv6 extension headers, lengths that agree.  Sets the header lengths. */
static bool eligible(const uint8_t *pkt, size_t len, size_t *iphl, size_t *hlen, bool *v4)
{
	ss_pkt_tuple t;
	if (!ss_pkt_tuple_parse(pkt, len, &t) || t.proto != SS_IPPROTO_TCP || t.total != len)
		return false;
	*v4 = t.src.family == SS_AF_INET;
	if (*v4 ? t.l3len != 20 || (get16(pkt + 6) & 0x3fff) != 0 : t.l3len != 40)
		return false;
	ss_cur c = ss_cur_init(pkt, len);
	uint8_t doff = 0, flags = 0;
	if (!ss_cur_peek(&c, t.l3len + 12, &doff, 1) || !ss_cur_peek(&c, t.l3len + 13, &flags, 1))
		return false;
	*iphl = t.l3len;
	*hlen = t.l3len + (size_t)(doff >> 4) * 4;
	return (doff >> 4) >= 5 && *hlen < len && (flags & ~(TCP_ACK | TCP_PSH)) == 0 &&
	       (flags & TCP_ACK);
}

bool ss_gro_start(ss_gro *g, uint8_t *buf, size_t cap, const uint8_t *pkt, size_t len)
{
	memset(g, 0, sizeof *g);
	if (len > cap || !eligible(pkt, len, &g->iphl, &g->hlen, &g->v4))
		return false;
	memcpy(buf, pkt, len);
	g->buf = buf;
	g->cap = cap;
	g->len = len;
	g->mss = len - g->hlen;
	g->segs = 1;
	g->next_seq = get32(pkt + g->iphl + 4) + (uint32_t)g->mss;
	g->closed = (pkt[g->iphl + 13] & TCP_PSH) != 0;
	return true;
}

/* Headers equal but for the fields segmentation changes: IPv4 total length, id and
 * checksum; IPv6 payload length; TCP sequence number, checksum and the PSH flag. */
static bool same_headers(const ss_gro *g, const uint8_t *pkt)
{
	const uint8_t *a = g->buf, *b = pkt;
	if (g->v4) {
		if (a[0] != b[0] || a[1] != b[1] || memcmp(a + 6, b + 6, 4) || memcmp(a + 12, b + 12, 8))
			return false;
	} else {
		if (memcmp(a, b, 4) || memcmp(a + 6, b + 6, 34))
			return false;
	}
	const uint8_t *ta = a + g->iphl, *tb = b + g->iphl;
	return !memcmp(ta, tb, 4) && !memcmp(ta + 8, tb + 8, 5) &&
	       (ta[13] & ~TCP_PSH) == (tb[13] & ~TCP_PSH) && !memcmp(ta + 14, tb + 14, 2) &&
	       !memcmp(ta + 18, tb + 18, g->hlen - g->iphl - 18);
}

bool ss_gro_append(ss_gro *g, const uint8_t *pkt, size_t len)
{
	size_t iphl, hlen;
	bool v4;
	if (g->closed || g->segs >= SS_GRO_MAX_SEGS || !eligible(pkt, len, &iphl, &hlen, &v4) ||
	    v4 != g->v4 || iphl != g->iphl || hlen != g->hlen || !same_headers(g, pkt))
		return false;
	size_t plen = len - hlen;
	if (plen > g->mss || get32(pkt + iphl + 4) != g->next_seq || g->len + plen > g->cap ||
	    g->len + plen > MAX_IP_LEN + (g->v4 ? 0 : 40))
		return false;
	memcpy(g->buf + g->len, pkt + hlen, plen);
	g->len += plen;
	g->next_seq += (uint32_t)plen;
	g->segs++;
	bool psh = (pkt[iphl + 13] & TCP_PSH) != 0;
	if (psh)
		g->buf[g->iphl + 13] |= TCP_PSH;
	g->closed = psh || plen < g->mss;
	return true;
}

size_t ss_gro_finish(ss_gro *g, uint8_t hdr[SS_VNET_HDR_LEN])
{
	memset(hdr, 0, SS_VNET_HDR_LEN);
	if (g->segs <= 1)
		return g->len;
	uint8_t *ip = g->buf, *tcp = g->buf + g->iphl;
	size_t tcplen = g->len - g->iphl;
	if (g->v4) {
		put16(ip + 2, (uint16_t)g->len);
		put16(ip + 10, 0);
		put16(ip + 10, ss_csum_finish(ss_csum_add(0, ip, 20)));
	} else {
		put16(ip + 4, (uint16_t)tcplen);
	}
	/* CHECKSUM_PARTIAL, as the kernel's own GSO packets: the field holds the pseudo-header
	 * sum, not inverted, and the checksum is known good (each segment was checked). */
	uint32_t acc = ss_csum_add(0, g->v4 ? ip + 12 : ip + 8, g->v4 ? 8 : 32);
	acc = (acc & 0xffff) + (acc >> 16) + SS_IPPROTO_TCP + (uint32_t)tcplen;
	put16(tcp + 16, ss_csum_fold(acc));
	uint16_t gso_type = g->v4 ? SS_VNET_GSO_TCPV4 : SS_VNET_GSO_TCPV6;
	size_t cs = g->iphl, co = 16;
	hdr[0] = SS_VNET_F_NEEDS_CSUM;
	hdr[1] = (uint8_t)gso_type;
	hdr[2] = (uint8_t)g->hlen, hdr[3] = (uint8_t)(g->hlen >> 8);
	hdr[4] = (uint8_t)g->mss, hdr[5] = (uint8_t)(g->mss >> 8);
	hdr[6] = (uint8_t)cs, hdr[7] = (uint8_t)(cs >> 8);
	hdr[8] = (uint8_t)co, hdr[9] = (uint8_t)(co >> 8);
	return g->len;
}
