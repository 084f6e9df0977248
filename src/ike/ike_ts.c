/* Traffic selectors (§2.9): ranges of addresses, ports and one protocol; narrowing is the
 * intersection of what each side allows. */
#include <string.h>

#include "ike/ike_internal.h"

void ts_default(ss_ike_ts_pl *out, const ss_ike_ts_pl *cfg, const ss_addr *host)
{
	if (cfg->n) {
		*out = *cfg;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->n = 1;
	ss_ike_ts *t = &out->ts[0];
	t->type = host->family == SS_AF_INET ? SS_TS_IPV4_ADDR_RANGE : SS_TS_IPV6_ADDR_RANGE;
	t->port_start = 0;
	t->port_end = 65535;
	t->start = *host;
	t->end = *host;
}

static int addr_cmp(const ss_addr *a, const ss_addr *b)
{
	return memcmp(a->a, b->a, 16);
}

static bool intersect(const ss_ike_ts *a, const ss_ike_ts *b, ss_ike_ts *out)
{
	if (a->type != b->type)
		return false;
	if (a->ip_proto && b->ip_proto && a->ip_proto != b->ip_proto)
		return false;
	*out = *a;
	out->ip_proto = a->ip_proto ? a->ip_proto : b->ip_proto;
	out->port_start = a->port_start > b->port_start ? a->port_start : b->port_start;
	out->port_end = a->port_end < b->port_end ? a->port_end : b->port_end;
	out->start = addr_cmp(&a->start, &b->start) > 0 ? a->start : b->start;
	out->end = addr_cmp(&a->end, &b->end) < 0 ? a->end : b->end;
	return out->port_start <= out->port_end && addr_cmp(&out->start, &out->end) <= 0;
}

bool ts_narrow(const ss_ike_ts_pl *ours, const ss_ike_ts_pl *theirs, ss_ike_ts_pl *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < ours->n; i++)
		for (unsigned j = 0; j < theirs->n && out->n < SS_IKE_MAX_TS; j++) {
			ss_ike_ts t;
			if (intersect(&ours->ts[i], &theirs->ts[j], &t))
				out->ts[out->n++] = t;
		}
	return out->n > 0;
}

static bool inside(const ss_ike_ts *in, const ss_ike_ts *out)
{
	return in->type == out->type && (out->ip_proto == 0 || in->ip_proto == out->ip_proto) &&
	       in->port_start >= out->port_start && in->port_end <= out->port_end &&
	       addr_cmp(&in->start, &out->start) >= 0 && addr_cmp(&in->end, &out->end) <= 0;
}

bool ts_subset(const ss_ike_ts_pl *got, const ss_ike_ts_pl *ours)
{
	if (got->n == 0)
		return false;
	for (unsigned i = 0; i < got->n; i++) {
		bool ok = false;
		for (unsigned j = 0; j < ours->n && !ok; j++)
			ok = inside(&got->ts[i], &ours->ts[j]);
		if (!ok)
			return false;
	}
	return true;
}
