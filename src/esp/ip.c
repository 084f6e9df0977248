#include "esp/ip.h"

#include <string.h>

#include "base/cursor.h"
#include "esp/wire.h"

/* Sums 32-bit big-endian words into 64 bits: 2^16 = 1 modulo 0xffff, so folding later gives
 * the RFC 1071 16-bit sum (RFC 1071 §2(C)), at a quarter of the loop iterations. */
uint32_t ss_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	uint64_t s = sum;
	size_t i = 0;
	for (; i + 4 <= n; i += 4)
		s += (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
	for (; i + 2 <= n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < n)
		s += (uint32_t)p[i] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
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

/* Ports (TCP, UDP, SCTP: the first four bytes) or ICMP type/code as the RFC 4301
 * §4.4.1.3 16-bit "port".  A truncated L4 header leaves the ports unknown. */
static void l4_ports(ss_cur *c, ss_flow *f)
{
	switch (f->proto) {
	case SS_IPPROTO_TCP:
	case SS_IPPROTO_UDP:
	case 132: /* SCTP */
		f->sport = ss_cur_be16(c);
		f->dport = ss_cur_be16(c);
		break;
	case SS_IPPROTO_ICMP:
	case SS_IPPROTO_ICMPV6:
		f->sport = f->dport = ss_cur_be16(c);
		break;
	default:
		return;
	}
	f->ports_known = ss_cur_ok(c);
}

/* The fixed header is taken whole through the cursor, then decoded (validate, interpret). */
static int parse_v4(ss_cur *c, size_t len, ss_flow *f)
{
	const uint8_t *h = ss_cur_take(c, SS_IPV4_HDR_LEN);
	if (!h)
		return SS_ESP_E_MALFORMED;
	uint16_t tot = ss_get16(h + 2), frag = ss_get16(h + 6);
	f->proto = f->first_nh = h[9];
	f->src = ss_addr_from(h + 12, SS_AF_INET);
	f->dst = ss_addr_from(h + 16, SS_AF_INET);
	f->hdr_len = (uint16_t)((h[0] & 15) * 4);
	if (f->hdr_len < SS_IPV4_HDR_LEN || tot < f->hdr_len || tot > len)
		return SS_ESP_E_MALFORMED;
	f->total_len = tot;
	f->fragment = (frag & (SS_IPV4_MF | SS_IPV4_OFFMASK)) != 0;
	if (frag & SS_IPV4_OFFMASK)
		return SS_ESP_OK; /* a non-first fragment has no ports (RFC 4301 §4.4.1 OPAQUE) */
	ss_cur l4 = ss_cur_sub(c, tot - SS_IPV4_HDR_LEN);
	ss_cur_skip(&l4, f->hdr_len - SS_IPV4_HDR_LEN);
	l4_ports(&l4, f);
	return SS_ESP_OK;
}

static int parse_v6(ss_cur *c, size_t len, ss_flow *f)
{
	const uint8_t *h = ss_cur_take(c, SS_IPV6_HDR_LEN);
	if (!h)
		return SS_ESP_E_MALFORMED;
	uint16_t plen = ss_get16(h + 4);
	uint8_t nh = f->first_nh = h[6];
	f->src = ss_addr_from(h + 8, SS_AF_INET6);
	f->dst = ss_addr_from(h + 24, SS_AF_INET6);
	f->hdr_len = SS_IPV6_HDR_LEN;
	if ((size_t)plen + SS_IPV6_HDR_LEN > len)
		return SS_ESP_E_MALFORMED; /* jumbograms (plen 0) are not for a tunnel either */
	f->total_len = (uint16_t)(plen + SS_IPV6_HDR_LEN);
	ss_cur p = ss_cur_sub(c, plen);
	/* Walk extension headers to the upper layer (RFC 8200 §4); bounded by the length. */
	while (is_ext_header(nh) && ss_cur_ok(&p)) {
		uint8_t next = ss_cur_u8(&p);
		uint8_t hl = ss_cur_u8(&p);
		if (nh == SS_IPPROTO_FRAGMENT) {
			uint16_t off = ss_cur_be16(&p);
			ss_cur_skip(&p, 4);
			f->fragment = true;
			if (off & 0xfff8) {
				f->proto = next;
				return ss_cur_ok(&p) ? SS_ESP_OK : SS_ESP_E_MALFORMED;
			}
		} else {
			ss_cur_skip(&p, (size_t)hl * 8 + 6);
		}
		nh = next;
	}
	if (!ss_cur_ok(&p))
		return SS_ESP_E_MALFORMED;
	f->proto = nh;
	l4_ports(&p, f);
	return SS_ESP_OK;
}

int ss_ip_parse(const uint8_t *p, size_t len, ss_flow *f)
{
	memset(f, 0, sizeof(*f));
	ss_cur c = ss_cur_init(p, len);
	uint8_t v = 0;
	if (!ss_cur_peek(&c, 0, &v, 1))
		return SS_ESP_E_MALFORMED;
	f->version = v >> 4;
	if (f->version == 4)
		return parse_v4(&c, len, f);
	if (f->version == 6)
		return parse_v6(&c, len, f);
	return SS_ESP_E_MALFORMED;
}

static bool ts_one(const ss_esp_ts *t, const ss_flow *f, const ss_addr *a, uint16_t port)
{
	if (t->lo.family != a->family)
		return false;
	if (ss_addr_cmp(a, &t->lo) < 0 || ss_addr_cmp(a, &t->hi) > 0)
		return false;
	if (t->proto && t->proto != f->proto)
		return false;
	bool any_port = t->port_lo == 0 && t->port_hi == 0xffff;
	if (any_port)
		return true;
	/* A narrower port range cannot match a packet whose ports are unknown (RFC 4301 §4.4.1:
	 * OPAQUE matches only ANY). */
	return f->ports_known && port >= t->port_lo && port <= t->port_hi;
}

static bool ts_list(const ss_esp_ts *ts, unsigned n, const ss_flow *f, const ss_addr *a, uint16_t port)
{
	if (n == 0)
		return true;
	for (unsigned i = 0; i < n; i++)
		if (ts_one(&ts[i], f, a, port))
			return true;
	return false;
}

bool ss_ts_match(const ss_esp_params *p, const ss_flow *f, bool inbound)
{
	const ss_addr *local = inbound ? &f->dst : &f->src, *remote = inbound ? &f->src : &f->dst;
	uint16_t lport = inbound ? f->dport : f->sport, rport = inbound ? f->sport : f->dport;
	return ts_list(p->local_ts, p->n_local_ts, f, local, lport) &&
		ts_list(p->remote_ts, p->n_remote_ts, f, remote, rport);
}

void ss_l4_csum_fix(uint8_t *p, const ss_flow *f)
{
	size_t at;
	switch (f->proto) {
	case SS_IPPROTO_TCP: at = 16; break;
	case SS_IPPROTO_UDP: at = 6; break;
	case SS_IPPROTO_ICMPV6: at = 2; break;
	default: return; /* ICMP for IPv4 has no pseudo-header */
	}
	/* Only a whole, unfragmented datagram with no IPv6 extension headers in the way. */
	if (f->fragment || f->first_nh != f->proto)
		return;
	size_t l4len = f->total_len - f->hdr_len;
	if (l4len < at + 2)
		return;
	uint8_t *l4 = p + f->hdr_len;
	if (f->proto == SS_IPPROTO_UDP && f->version == 4 && ss_get16(l4 + at) == 0)
		return; /* IPv4 UDP without a checksum stays without */
	size_t alen = f->version == 4 ? 4 : 16;
	uint8_t ph[8] = { 0, 0, (uint8_t)(l4len >> 8), (uint8_t)l4len, 0, 0, 0, f->proto };
	if (f->version == 6) {
		ph[0] = (uint8_t)(l4len >> 24), ph[1] = (uint8_t)(l4len >> 16);
	}
	ss_put16(l4 + at, 0);
	uint32_t s = ss_csum_add(0, f->src.a, alen);
	s = ss_csum_add(s, f->dst.a, alen);
	s = ss_csum_add(s, ph, sizeof(ph));
	s = ss_csum_add(s, l4, l4len);
	uint16_t c = (uint16_t)~ss_csum_fold(s);
	if (c == 0 && f->proto == SS_IPPROTO_UDP)
		c = 0xffff; /* RFC 768: 0 means "no checksum" */
	ss_put16(l4 + at, c);
}
