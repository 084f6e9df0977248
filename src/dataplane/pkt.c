#include "dataplane/pkt.h"

#include <string.h>

bool ss_pkt_tuple_parse(const uint8_t *p, size_t len, ss_pkt_tuple *out)
{
	memset(out, 0, sizeof *out);
	ss_ip_hdr h;
	if (!ss_ip_parse(p, len, SS_IP_SNAPSHOT, &h))
		return false;
	out->src = h.src;
	out->dst = h.dst;
	out->proto = h.proto;
	if (h.ports_known && ss_ipproto_has_ports(h.proto)) {
		out->sport = h.sport;
		out->dport = h.dport;
	}
	out->l3len = h.l3len;
	out->total = h.total_len;
	return true;
}
