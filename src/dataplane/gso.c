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

bool ss_tso_init(ss_tso *t, const uint8_t *pkt, size_t len, size_t mss)
{
	memset(t, 0, sizeof *t);
	ss_pkt_tuple tu;
	if (mss == 0 || !ss_pkt_tuple_parse(pkt, len, &tu) || tu.proto != SS_IPPROTO_TCP)
		return false;
	t->v4 = tu.src.family == SS_AF_INET;
	/* IPv6 extension headers before TCP are not split here (the kernel does not send
	 * such TSO packets to a TUN). */
	if (!t->v4 && tu.l3len != 40)
		return false;
	uint8_t doff = 0;
	ss_cur c = ss_cur_init(pkt, len);
	if (!ss_cur_peek(&c, tu.l3len + 12, &doff, 1))
		return false;
	size_t tcphl = (size_t)(doff >> 4) * 4;
	if (tcphl < 20 || tu.l3len + tcphl > len || tu.total != len)
		return false;
	t->pkt = pkt;
	t->len = len;
	t->iphl = tu.l3len;
	t->hlen = tu.l3len + tcphl;
	t->mss = mss;
	return true;
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
	put32(tcp + 4, get32(t->pkt + t->iphl + 4) + (uint32_t)t->off);
	/* FIN and PSH belong to the last segment, CWR to the first (RFC 3168 §6.1.2). */
	if (!last)
		tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (t->seg > 0)
		tcp[13] &= (uint8_t)~TCP_CWR;
	/* TCP checksum over the pseudo-header (RFC 9293 §3.1; RFC 8200 §8.1) and segment. */
	size_t alen = t->v4 ? 4 : 16;
	const uint8_t *addrs = t->v4 ? ip + 12 : ip + 8;
	size_t tcplen = seglen - t->iphl;
	uint32_t acc = ss_csum_add(0, addrs, 2 * alen);
	acc = (acc & 0xffff) + (acc >> 16) + SS_IPPROTO_TCP + (uint32_t)tcplen; /* no overflow */
	put16(tcp + 16, 0);
	acc = ss_csum_add(acc, tcp, tcplen);
	put16(tcp + 16, ss_csum_finish(acc));
	t->off += n;
	t->seg++;
	return seglen;
}
