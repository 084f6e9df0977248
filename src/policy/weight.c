/* Filter weight for "most specific filter wins" (policy.h, doc/policy.md section Ordering). */
#include "policy/policy.h"

/* An IPv4 prefix of length L weighs 96 + L so that an IPv4 host (/32) weighs exactly what an
 * IPv6 host (/128) and `me` weigh: specificity is about "one host", not about bit counts. */
static unsigned endpoint_bits(const ss_endpoint *e)
{
	switch (e->kind) {
	case SS_EP_ME:
		return 128;
	case SS_EP_PREFIX:
		return e->prefix.addr.family == SS_AF_INET ? 96u + e->prefix.len : e->prefix.len;
	default:
		return 0;
	}
}

/* 65536 - number of ports in the range; an inverted range (rejected by the loader) holds no
 * port and weighs as much as a single port plus one, so it can never beat a real filter by
 * accident of arithmetic overflow. */
static uint32_t range_weight(ss_port_range r)
{
	uint32_t size = r.hi >= r.lo ? (uint32_t)r.hi - r.lo + 1 : 0;
	return 65536u - size;
}

ss_weight ss_filter_weight(const ss_filter *f)
{
	ss_weight w;
	w.addr = (uint16_t)(endpoint_bits(&f->src) + endpoint_bits(&f->dst));
	w.proto = f->proto != SS_PROTO_ANY;
	w.ports = range_weight(f->sport) + range_weight(f->dport);
	return w;
}

int ss_weight_cmp(ss_weight a, ss_weight b)
{
	if (a.addr != b.addr)
		return a.addr < b.addr ? -1 : 1;
	if (a.proto != b.proto)
		return a.proto < b.proto ? -1 : 1;
	if (a.ports != b.ports)
		return a.ports < b.ports ? -1 : 1;
	return 0;
}
