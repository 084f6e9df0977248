#include "base/ip.h"

#include <string.h>

#include "base/cursor.h"

/* How many IPv6 extension headers are walked before giving up: a packet with more is hostile
 * or absurd, and is treated as malformed rather than walked on. */
enum { MAX_EXT_HDRS = 8 };

/* RFC 791 §3.1 (without options), RFC 8200 §3. */
enum { V4_MIN = 20, V6_LEN = 40 };

/* RFC 1071 §2(B): the ones'-complement sum does not depend on byte order, so the bytes are
 * summed as the machine loads them, 32-bit words into four 64-bit accumulators (no carry is
 * lost below 2^34 bytes; 2^32 = 1 modulo 0xffff, §2(C)), folded to 16 bits and swapped to
 * network order once at the end.  The TSO split sums every segment it writes with this. */
static uint64_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

uint32_t ss_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		a += ld32(p + i);
		b += ld32(p + i + 4);
		c += ld32(p + i + 8);
		d += ld32(p + i + 12);
	}
	for (; i + 4 <= n; i += 4)
		a += ld32(p + i);
	uint8_t tail[4] = { 0 }; /* a last odd byte is the high half of a word (§2(A)) */
	if (n > i)
		memcpy(tail, p + i, n - i);
	a += ld32(tail);
	uint64_t s = (a & 0xffffffffu) + (a >> 32) + (b & 0xffffffffu) + (b >> 32) +
		     (c & 0xffffffffu) + (c >> 32) + (d & 0xffffffffu) + (d >> 32);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	uint16_t h = (uint16_t)s;
	const uint16_t one = 1;
	uint8_t first;
	memcpy(&first, &one, 1);
	if (first) /* little-endian: the folded sum is byte-swapped */
		h = (uint16_t)(h >> 8 | h << 8);
	uint64_t t = (uint64_t)sum + h;
	return (uint32_t)((t & 0xffffffffu) + (t >> 32));
}

uint16_t ss_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static bool is_ext_header(uint8_t nh)
{
	return nh == SS_IPPROTO_HOPOPTS || nh == SS_IPPROTO_ROUTING || nh == SS_IPPROTO_DSTOPTS ||
	       nh == SS_IPPROTO_FRAGMENT || nh == SS_IPPROTO_MH;
}

static ss_addr addr_at(const uint8_t *p, int family)
{
	ss_addr a;
	memset(&a, 0, sizeof(a));
	a.family = (uint8_t)family;
	memcpy(a.a, p, family == SS_AF_INET ? 4 : 16);
	return a;
}

/* Ports, or ICMP type/code as the RFC 4301 §4.4.1.3 "port".  A cut header leaves them
 * unknown (and zero). */
static void l4_ports(ss_cur *c, ss_ip_hdr *h)
{
	if (ss_ipproto_has_ports(h->proto)) {
		h->sport = ss_cur_be16(c);
		h->dport = ss_cur_be16(c);
	} else if (h->proto == SS_IPPROTO_ICMP || h->proto == SS_IPPROTO_ICMPV6) {
		h->sport = h->dport = ss_cur_be16(c);
	} else {
		return;
	}
	h->ports_known = ss_cur_ok(c);
	if (!h->ports_known)
		h->sport = h->dport = 0;
}

/* The bytes of the packet that are there: all total_len of them, or a snapshot's prefix. */
static bool body(ss_cur *c, size_t len, size_t hdr, size_t total, unsigned flags, ss_cur *out)
{
	if (total > len && !(flags & SS_IP_SNAPSHOT))
		return false;
	size_t have = total < len ? total : len;
	*out = ss_cur_sub(c, have - hdr);
	return true;
}

/* The fixed header is taken whole through the cursor, then decoded (validate, interpret). */
static bool parse_v4(ss_cur *c, size_t len, unsigned flags, ss_ip_hdr *h)
{
	const uint8_t *b = ss_cur_take(c, V4_MIN);
	if (!b)
		return false;
	uint16_t frag = (uint16_t)(b[6] << 8 | b[7]);
	h->total_len = (uint32_t)(b[2] << 8 | b[3]);
	h->proto = h->first_nh = b[9];
	h->src = addr_at(b + 12, SS_AF_INET);
	h->dst = addr_at(b + 16, SS_AF_INET);
	h->hdr_len = h->l3len = (uint16_t)((b[0] & 15) * 4);
	if (h->hdr_len < V4_MIN || h->total_len < h->hdr_len || h->hdr_len > len)
		return false;
	ss_cur l4;
	if (!body(c, len, V4_MIN, h->total_len, flags, &l4) ||
	    !ss_cur_skip(&l4, h->hdr_len - V4_MIN))
		return false;
	h->fragment = (frag & 0x3fff) != 0;  /* MF or an offset */
	if ((frag & 0x1fff) == 0)            /* only the first fragment carries the ports */
		l4_ports(&l4, h);
	return true;
}

static bool parse_v6(ss_cur *c, size_t len, unsigned flags, ss_ip_hdr *h)
{
	const uint8_t *b = ss_cur_take(c, V6_LEN);
	if (!b)
		return false;
	uint8_t nh = h->first_nh = b[6];
	h->total_len = (uint32_t)(b[4] << 8 | b[5]) + V6_LEN;
	h->src = addr_at(b + 8, SS_AF_INET6);
	h->dst = addr_at(b + 24, SS_AF_INET6);
	h->hdr_len = V6_LEN;
	ss_cur p;
	if (!body(c, len, V6_LEN, h->total_len, flags, &p))
		return false;
	size_t off = V6_LEN;
	bool first = true;
	for (int i = 0; is_ext_header(nh); i++) {
		if (i == MAX_EXT_HDRS)
			return false;
		uint8_t next = ss_cur_u8(&p);
		size_t hl = nh == SS_IPPROTO_FRAGMENT ? 8 : ((size_t)ss_cur_u8(&p) + 1) * 8;
		if (nh == SS_IPPROTO_FRAGMENT) {
			ss_cur_skip(&p, 1);
			uint16_t fo = ss_cur_be16(&p);
			ss_cur_skip(&p, 4);
			h->fragment = true;
			first = (fo & 0xfff8) == 0;
		} else {
			ss_cur_skip(&p, hl - 2);
		}
		if (!ss_cur_ok(&p))
			return false;
		off += hl;
		nh = next;
		/* What follows a later fragment's header is payload, not more headers. */
		if (!first)
			break;
	}
	h->proto = nh;
	h->l3len = (uint16_t)off;
	if (first)
		l4_ports(&p, h);
	return true;
}

bool ss_ip_parse(const uint8_t *p, size_t len, unsigned flags, ss_ip_hdr *out)
{
	memset(out, 0, sizeof(*out));
	ss_cur c = ss_cur_init(p, len);
	uint8_t v = 0;
	if (!ss_cur_peek(&c, 0, &v, 1))
		return false;
	out->version = v >> 4;
	if (out->version == 4)
		return parse_v4(&c, len, flags, out);
	if (out->version == 6)
		return parse_v6(&c, len, flags, out);
	return false;
}
