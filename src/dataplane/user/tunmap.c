#include "dataplane/user/tunmap.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void dpu_tunmap_free(dpu_tunmap *m)
{
	free(m->f);
	free(m->end);
	*m = (dpu_tunmap){ 0 };
}

int dpu_tunmap_set(dpu_tunmap *m, const ss_dp_filter *f, size_t n)
{
	size_t tunnels = 0;
	for (size_t i = 0; i < n; i++)
		tunnels += f[i].tunnel.family != 0;
	dpu_tunmap nm = { 0 };
	if (tunnels) {
		nm.f = malloc(n * sizeof(*f));
		nm.end = calloc(tunnels, sizeof(*nm.end));
		if (!nm.f || !nm.end) {
			dpu_tunmap_free(&nm);
			return -ENOMEM;
		}
		memcpy(nm.f, f, n * sizeof(*f));
		nm.n = n;
		for (size_t i = 0; i < n; i++) {
			if (!f[i].tunnel.family)
				continue;
			size_t k = 0;
			while (k < nm.n_end && !ss_addr_eq(&nm.end[k].ep, &f[i].tunnel))
				k++;
			if (k == nm.n_end)
				nm.end[nm.n_end++].ep = f[i].tunnel;
		}
	}
	dpu_tunmap_free(m);
	*m = nm;
	return 0;
}

static bool port_ok(uint16_t want, uint16_t got) { return want == 0 || want == got; }

static bool matches(const ss_dp_filter *f, const ss_pkt_tuple *t, bool inbound)
{
	const ss_addr *l = inbound ? &t->dst : &t->src, *r = inbound ? &t->src : &t->dst;
	uint16_t lp = inbound ? t->dport : t->sport, rp = inbound ? t->sport : t->dport;
	return f->local.addr.family == l->family && ss_prefix_contains(&f->local, l) &&
	       ss_prefix_contains(&f->remote, r) && (f->proto == 0 || f->proto == t->proto) &&
	       port_ok(f->local_port, lp) && port_ok(f->remote_port, rp);
}

dpu_tunend *dpu_tunmap_find(dpu_tunmap *m, const ss_pkt_tuple *t, bool inbound)
{
	for (size_t i = 0; i < m->n; i++) {
		if (!matches(&m->f[i], t, inbound))
			continue;
		if (!m->f[i].tunnel.family)
			return NULL;
		for (size_t k = 0; k < m->n_end; k++)
			if (ss_addr_eq(&m->end[k].ep, &m->f[i].tunnel))
				return &m->end[k];
		return NULL;
	}
	return NULL;
}

/* A connected UDP socket toward ep: the kernel's route lookup (source address, path MTU)
 * without sending anything. */
static int probe(const ss_addr *ep)
{
	struct sockaddr_storage ss;
	socklen_t sl = (socklen_t)ss_addr_to_sockaddr(ep, 9, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool dpu_route_source(const ss_addr *to, ss_addr *out)
{
	memset(out, 0, sizeof(*out));
	int fd = probe(to);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		ss_addr_from_sockaddr((struct sockaddr *)&ss, out, NULL);
	if (fd >= 0)
		close(fd);
	return out->family != 0;
}

bool dpu_tunend_pair(dpu_tunend *e, ss_addr *local, ss_addr *remote)
{
	if (!e->local.family && !dpu_route_source(&e->ep, &e->local))
		return false;
	*local = e->local;
	*remote = e->ep;
	return true;
}

uint32_t dpu_tunend_pmtu(dpu_tunend *e, ss_time now)
{
	if (e->pmtu && now - e->pmtu_at < 1000)
		return e->pmtu;
	int fd = probe(&e->ep);
	if (fd < 0)
		return e->pmtu;
	bool v4 = e->ep.family == SS_AF_INET;
	int mtu = 0;
	socklen_t ml = sizeof mtu;
	if (getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MTU : IPV6_MTU, &mtu, &ml) == 0 && mtu > 0)
		e->pmtu = (uint32_t)mtu;
	close(fd);
	e->pmtu_at = now;
	return e->pmtu;
}
