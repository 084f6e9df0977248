#include "esp/ip.h"

#include <string.h>

#include "base/cursor.h"
#include "esp/wire.h"

static bool ts_one(const ss_esp_ts *t, const ss_ip_hdr *f, const ss_addr *a, uint16_t port)
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

static bool ts_list(const ss_esp_ts *ts, unsigned n, const ss_ip_hdr *f, const ss_addr *a, uint16_t port)
{
	if (n == 0)
		return true;
	for (unsigned i = 0; i < n; i++)
		if (ts_one(&ts[i], f, a, port))
			return true;
	return false;
}

bool ss_ts_match(const ss_esp_params *p, const ss_ip_hdr *f, bool inbound)
{
	const ss_addr *local = inbound ? &f->dst : &f->src, *remote = inbound ? &f->src : &f->dst;
	uint16_t lport = inbound ? f->dport : f->sport, rport = inbound ? f->sport : f->dport;
	return ts_list(p->local_ts, p->n_local_ts, f, local, lport) &&
		ts_list(p->remote_ts, p->n_remote_ts, f, remote, rport);
}

void ss_l4_csum_fix(uint8_t *p, const ss_ip_hdr *f)
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
