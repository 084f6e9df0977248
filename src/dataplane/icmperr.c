#include "dataplane/icmperr.h"

#include <string.h>

#include "base/cursor.h"
#include "base/ip.h"

static bool no_errors_to(const ss_addr *a)
{
	static const uint8_t zero[16];
	if (a->family == SS_AF_INET)
		return memcmp(a->a, zero, 4) == 0 || a->a[0] >= 224 || a->a[0] == 127;
	return memcmp(a->a, zero, 16) == 0 || a->a[0] == 0xff || (memcmp(a->a, zero, 15) == 0 && a->a[15] == 1);
}

static bool is_icmp_error(const ss_ip_hdr *h)
{
	if (!h->ports_known)
		return h->proto == SS_IPPROTO_ICMP || h->proto == SS_IPPROTO_ICMPV6; /* unknown: be safe */
	unsigned type = h->sport >> 8;
	if (h->proto == SS_IPPROTO_ICMP)
		return type != 0 && type != 8 && type != 13 && type != 14; /* all but echo, timestamp */
	if (h->proto == SS_IPPROTO_ICMPV6)
		return type < SS_ICMP6_INFO_MIN;
	return false;
}

bool ss_icmperr_needed(const uint8_t *pkt, size_t len, uint32_t mtu)
{
	ss_ip_hdr h;
	if (!ss_ip_parse(pkt, len, 0, &h) || h.total_len <= mtu)
		return false;
	ss_cur c = ss_cur_init(pkt, len);
	if (h.version == 4) {
		ss_cur_skip(&c, 6);
		uint16_t frag = ss_cur_be16(&c);
		/* DF set, and the first fragment (offset 0) if a fragment at all. */
		if (!ss_cur_ok(&c) || !(frag & 0x4000) || (frag & 0x1fff))
			return false;
	} else if (h.fragment && !h.ports_known && ss_ipproto_has_ports(h.proto)) {
		return false; /* a later IPv6 fragment */
	}
	return !is_icmp_error(&h) && !no_errors_to(&h.src);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t ss_icmperr_too_big(const uint8_t *pkt, size_t len, uint32_t mtu, const ss_addr *from, uint8_t *out,
			  size_t cap)
{
	ss_ip_hdr h;
	if (cap < SS_ICMPERR_MAX || !ss_icmperr_needed(pkt, len, mtu) || !ss_ip_parse(pkt, len, 0, &h) ||
	    from->family != h.src.family)
		return 0;
	bool v4 = h.version == 4;
	size_t hdr = v4 ? 20 : 40, limit = v4 ? 576 : 1280;
	size_t quote = len < limit - hdr - 8 ? len : limit - hdr - 8;
	size_t total = hdr + 8 + quote;
	ss_buf b = ss_buf_init(out, cap);
	if (v4) {
		ss_buf_u8(&b, 0x45);
		ss_buf_u8(&b, 0);
		ss_buf_be16(&b, (uint16_t)total);
		ss_buf_be32(&b, 0);            /* id, flags, fragment offset */
		ss_buf_u8(&b, 64);
		ss_buf_u8(&b, SS_IPPROTO_ICMP);
		ss_buf_be16(&b, 0);            /* header checksum, below */
		ss_buf_put(&b, from->a, 4);
		ss_buf_put(&b, h.src.a, 4);
		ss_buf_u8(&b, SS_ICMP_DEST_UNREACH);
		ss_buf_u8(&b, SS_ICMP_FRAG_NEEDED);
		ss_buf_be16(&b, 0);
		ss_buf_be16(&b, 0);            /* unused */
		ss_buf_be16(&b, (uint16_t)(mtu > 0xffff ? 0xffff : mtu)); /* next-hop MTU, RFC 1191 §4 */
	} else {
		ss_buf_be32(&b, 0x60000000u);
		ss_buf_be16(&b, (uint16_t)(total - hdr));
		ss_buf_u8(&b, SS_IPPROTO_ICMPV6);
		ss_buf_u8(&b, 64);
		ss_buf_put(&b, from->a, 16);
		ss_buf_put(&b, h.src.a, 16);
		ss_buf_u8(&b, SS_ICMP6_PACKET_TOO_BIG);
		ss_buf_u8(&b, 0);
		ss_buf_be16(&b, 0);
		ss_buf_be32(&b, mtu);
	}
	ss_buf_put(&b, pkt, quote);
	if (!ss_buf_ok(&b) || b.len != total)
		return 0;
	if (v4) {
		put16(out + 10, ss_csum_finish(ss_csum_add(0, out, 20)));
		put16(out + 22, ss_csum_finish(ss_csum_add(0, out + 20, total - 20)));
	} else {
		/* The pseudo-header (RFC 8200 §8.1): addresses, upper-layer length, next header. */
		uint8_t ph[8] = { 0, 0, (uint8_t)((total - hdr) >> 8), (uint8_t)(total - hdr), 0, 0, 0, SS_IPPROTO_ICMPV6 };
		uint32_t sum = ss_csum_add(0, out + 8, 32);
		sum = ss_csum_add(sum, ph, 8);
		put16(out + 42, ss_csum_finish(ss_csum_add(sum, out + 40, total - 40)));
	}
	return total;
}
