/* Which tunnel a packet belongs to, for the userspace backend's packet path: the daemon
 * sees a tunnel's traffic under the gateways' pair (our outer address, the endpoint), and the
 * outbound SA is looked up by that pair.  The same first-match order over the same filters
 * as the nftables rules (a more specific host filter ahead of a tunnel's wins here too). */
#ifndef SS_DATAPLANE_USER_TUNMAP_H
#define SS_DATAPLANE_USER_TUNMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane/dataplane.h"
#include "dataplane/pkt.h"

typedef struct dpu_tunend {
	ss_addr ep, local;   /* local: our address toward ep (family 0 until a route is known) */
	uint32_t pmtu;       /* path MTU toward ep as the kernel knows it, 0: not asked yet */
	ss_time pmtu_at;
} dpu_tunend;

typedef struct dpu_tunmap {
	ss_dp_filter *f;     /* every filter, in order (NULL when none is a tunnel's) */
	size_t n;
	dpu_tunend *end;
	size_t n_end;
} dpu_tunmap;

/* Replaces the filters; 0 or -ENOMEM (the old map stays). */
int dpu_tunmap_set(dpu_tunmap *m, const ss_dp_filter *f, size_t n);
void dpu_tunmap_free(dpu_tunmap *m);
/* The tunnel of a packet from t->src to t->dst (outbound: src ours; inbound: src the
 * peer's network), or NULL when the first filter it matches is not a tunnel's. */
dpu_tunend *dpu_tunmap_find(dpu_tunmap *m, const ss_pkt_tuple *t, bool inbound);
/* The endpoint's outer pair, our address found by a route lookup when not known yet;
 * false when there is no route to it. */
bool dpu_tunend_pair(dpu_tunend *e, ss_addr *local, ss_addr *remote);
/* Our source address toward `to` (the kernel's route lookup); false without a route. */
bool dpu_route_source(const ss_addr *to, ss_addr *out);
/* The path MTU toward the endpoint (the kernel's, asked at most once a second), or 0. */
uint32_t dpu_tunend_pmtu(dpu_tunend *e, ss_time now);

#endif
