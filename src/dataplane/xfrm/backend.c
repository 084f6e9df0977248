/* The kernel backend of dataplane.h: XFRM states and policies, ESP in the kernel.
 *
 * How the interface maps onto the kernel (doc/dataplane.md):
 *   SAs          one XFRM state per direction.  All SAs with one peer share one kernel reqid
 *                of ours, so that the peer's policies hold through a rekey: the kernel sends
 *                on the newest state with that reqid and accepts either while both live.  The
 *                daemon's reqid travels in a small table, for the events.
 *   secured      out any->peer and in peer->any policies (fwd too in tunnel mode) with an
 *                ESP template of the peer's reqid: clear traffic from it is dropped.
 *   soft         bypass policies any->peer and peer->any whose hard use-expiry is the idle
 *                timeout: the kernel refreshes a policy's use time on every packet and removes
 *                it (POLEXPIRE) after that long without one.  No daemon in the packet path.
 *   blocked      block policies both ways.
 *   filters      negotiate: an out policy with a template no SA will ever match (the acquire
 *                reqid), so traffic raises ACQUIRE; in: a block policy unless the filter
 *                accepts inbound clear.  permit / block: bypass / block both ways.
 *   held         in softsad (hold.h): the table inet softsa_kernel queues to us the outbound
 *                packets a negotiate filter covers toward a peer without a decided state,
 *                and we send them again through raw sockets on the verdict, as the
 *                userspace backend holds them (by bytes, in the agent).  What still reaches
 *                a negotiate policy (no NFQUEUE here; a soft peer's policy expired in the
 *                kernel before we heard) waits in the kernel's policy queue instead
 *                (net.core.xfrm_larval_drop=0), released by the SA or the bypass that follows.
 *   tunnels      a tunnel filter (a gateway's networks, ss_dp_filter.tunnel): out local ->
 *                remote with a tunnel-mode template toward the endpoint (the ACQUIRE names
 *                the gateways' pair), in and fwd the reverse (blocked unless the filter
 *                accepts inbound clear: forwarded packets meet fwd).  The endpoint's state
 *                (secured: tunnel-mode ESP between the gateways; soft; blocked) sits on the
 *                same selectors, tagged, just above the filter, at slot TUN_SLOT + i; the
 *                endpoint gets host policies only where a host filter covers it.
 * Filter i has priority FILTER_PRIO + 2i (the dataplane's order: most specific first).  A
 * peer's policies sit just above the first negotiate filter that covers the peer (one less),
 * so that a more specific permit or block (ICMP permitted by a Require policy, say) still wins
 * over the peer's state as it does in the userspace dataplane, while everything the
 * negotiate filter would capture meets the peer's state.  The kernel keeps one policy per
 * selector and direction, so the peer's use any local address.  Every policy has a slot of ours
 * (its index): one slot per filter, and one per peer, kept through its changes of state. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/iana.h"
#include "base/ip.h"
#include "base/secure.h"
#include "dataplane/dataplane.h"
#include "dataplane/user/tunmap.h"
#include "dataplane/xfrm/hold.h"
#include "dataplane/xfrm/xfrm.h"
#include "dataplane/xfrm_notice.h"
#include "esp/esp.h"

enum {
	FILTER_SLOTS = 1024,         /* slots 0..1023: filter i, then the system bypasses */
	SYS_SLOTS = 8, SYS_SLOT = FILTER_SLOTS - SYS_SLOTS, MAX_FILTERS = SYS_SLOT,
	TUN_SLOT = FILTER_SLOTS,     /* + i: the endpoint's state for tunnel filter i */
	PEER_SLOT = 2 * FILTER_SLOTS, /* peers' own slots from here */
	SYS_PRIO = 10, SYS_SEL_TAG = 0x5f5b,
	PEER_PRIO = 100, FILTER_PRIO = 1000,
	PEER_SEL_TAG = 0x5f5a, /* the selector tag of peers' policies (msg.h) */
	TUN_SEL_TAG = 0x5f5c,  /* and of an endpoint's state on a tunnel filter's selector */
	NOTICE_GROUP = 0x5354, NOTICE_RATE = 10, /* NFLOG group (the userspace backend's + 1), per source/s */
	HOLD_QUEUE = 0x5354, /* NFQUEUE number of held packets */
	MAX_PEERS = 4096, MAX_SAS = 8192, QUEUE = 256, LARVAL = 256,
	DEFAULT_WINDOW = 128,
};
/* The template of negotiate policies: no SA ever carries it, so a match always acquires. */
#define ACQUIRE_REQID (SS_XFRM_REQID_BASE + SS_XFRM_REQID_SPAN - 2)

typedef struct peer {
	ss_addr addr, local;
	uint8_t state;   /* enum ss_dp_peer_state; NONE = free entry */
	uint8_t mode;    /* of its newest SA */
	uint32_t slot;   /* of its current policies */
	uint8_t hdirs;   /* directions of its host policies (any <-> it) installed at slot */
	uint32_t kreqid; /* 0 until its first SA */
	ss_time timeout; /* SOFT */
	ss_time since;   /* SOFT: when set */
} peer;

typedef struct sa_ent {
	ss_dp_sa_id id;
	uint32_t reqid; /* the daemon's */
	ss_dp_lifetime life;
	bool used;
} sa_ent;

/* The endpoints of an ACQUIRE the kernel raised: its larval state lives until an SA with the
 * same reqid answers it, which none does (ACQUIRE_REQID), so it is dropped once the peer's
 * state is decided (ss_xfrm_drop_larval says why it must not stay). */
typedef struct larval {
	ss_addr src, dst;
	uint8_t mode;
	bool used;
} larval;

typedef struct xb {
	ss_dp base;
	ss_xfrm *x;
	ss_xnotice *notice; /* inbound clear traffic from peers (xfrm_notice.h) */
	ss_xhold *hold;     /* held packets (hold.h); NULL: the kernel's queue holds them */
	char why[160];
	uint8_t filter_dirs[FILTER_SLOTS]; /* bit per direction installed at filter slot i */
	ss_prefix negotiate_remote[FILTER_SLOTS]; /* host filter i's remote when it negotiates, else family 0 */
	/* Tunnel filter i (family 0 in tunnel: a host filter, or not negotiate), and the
	 * directions of its endpoint's state installed at TUN_SLOT + i. */
	ss_dp_filter tun[FILTER_SLOTS];
	uint8_t tun_dirs[FILTER_SLOTS];
	dpu_tunmap tmap; /* which tunnel an inbound clear packet belongs to (notices) */
	size_t n_filters;
	peer peers[MAX_PEERS];
	sa_ent sas[MAX_SAS];
	uint32_t next_slot, next_kreqid;
	ss_dp_event q[QUEUE];
	size_t q_head, q_len;
	larval larvae[LARVAL];
	size_t next_larval;
	ss_dp_stats st;
	/* What SAs that are gone had counted: `stats` totals must not fall when an SA is rekeyed
	 * or expires (the live ones are read from the kernel each time). */
	ss_dp_stats retired;
} xb;

static xb *X(ss_dp *dp) { return (xb *)dp; }

static void push(xb *b, const ss_dp_event *ev)
{
	if (b->q_len == QUEUE) {
		b->st.undecided++; /* the daemon drains every round; a full queue loses the oldest */
		b->q_head = (b->q_head + 1) % QUEUE;
		b->q_len--;
	}
	b->q[(b->q_head + b->q_len) % QUEUE] = *ev;
	b->q_len++;
}

static bool next_event(ss_dp *dp, ss_dp_event *out)
{
	xb *b = X(dp);
	if (!b->q_len)
		return false;
	*out = b->q[b->q_head];
	b->q_head = (b->q_head + 1) % QUEUE;
	b->q_len--;
	return true;
}

static ss_prefix host(const ss_addr *a) { return ss_prefix_host(a); }
static ss_prefix any(uint8_t family) { return (ss_prefix){ .addr = { .family = family } }; }

static peer *find_peer(xb *b, const ss_addr *a, bool create)
{
	peer *fresh = NULL;
	for (size_t i = 0; i < MAX_PEERS; i++) {
		peer *p = &b->peers[i];
		if ((p->state || p->kreqid) && ss_addr_eq(&p->addr, a))
			return p;
		if (!fresh && !p->state && !p->kreqid)
			fresh = p;
	}
	if (!create || !fresh)
		return NULL;
	memset(fresh, 0, sizeof *fresh);
	fresh->addr = *a;
	return fresh;
}

static peer *peer_by_slot(xb *b, uint32_t slot)
{
	for (size_t i = 0; i < MAX_PEERS; i++)
		if (b->peers[i].state && b->peers[i].slot == slot)
			return &b->peers[i];
	return NULL;
}

static uint32_t new_slot(xb *b)
{
	/* Slots cycle through the peer range; one still in use by a peer is skipped. */
	for (;;) {
		uint32_t s = PEER_SLOT + b->next_slot++ % (SS_XFRM_SLOTS - PEER_SLOT);
		if (!peer_by_slot(b, s))
			return s;
	}
}

static void del_slot(xb *b, uint32_t slot, uint8_t dirs)
{
	for (uint8_t d = SS_XFRM_IN; d <= SS_XFRM_FWD; d++)
		if (dirs & (1u << d))
			ss_xfrm_del_policy(b->x, slot, d);
}

static int add_pol(xb *b, ss_xfrm_policy *p, uint8_t dir, ss_prefix src, ss_prefix dst, bool update)
{
	p->dir = dir;
	p->sel.src = src;
	p->sel.dst = dst;
	return ss_xfrm_add_policy(b->x, p, update);
}

/* Traffic no peer state or filter may capture, above everything: multicast (a negotiate
 * filter to any address would otherwise raise ACQUIREs for ff02::2 and 224.0.0.251 and try IKE
 * to them) and IPv6 neighbour discovery (ICMPv6 133-137: an NA toward a peer whose SA is not
 * up would wait in the queue for an SA whose IKE needs that very NA), as the userspace
 * backend's table lets them pass (ND_BYPASS). */
static int install_system_bypasses(xb *b)
{
	static const char *const mcast[2] = { "224.0.0.0/4", "ff00::/8" };
	int r = 0;
	for (int i = 0; i < 2 && r == 0; i++) {
		ss_prefix m;
		const char *why;
		if (!ss_prefix_parse(mcast[i], &m, false, &why))
			return -EINVAL;
		ss_xfrm_policy p = { .slot = SYS_SLOT + (uint32_t)i, .prio = SYS_PRIO, .action = SS_XFRM_BYPASS,
				     .sel.tag = SYS_SEL_TAG };
		ss_prefix anyp = any(m.addr.family);
		r = add_pol(b, &p, SS_XFRM_OUT, anyp, m, true);
		if (r == 0)
			r = add_pol(b, &p, SS_XFRM_IN, anyp, m, true);
	}
	for (uint16_t type = 133; type <= 137 && r == 0; type++) {
		ss_xfrm_policy p = { .slot = SYS_SLOT + 2 + (uint32_t)(type - 133), .prio = SYS_PRIO,
				     .action = SS_XFRM_BYPASS, .sel.tag = SYS_SEL_TAG };
		p.sel.proto = SS_IPPROTO_ICMPV6;
		p.sel.sport = type; /* XFRM matches an ICMP type as the source port */
		r = add_pol(b, &p, SS_XFRM_OUT, any(SS_AF_INET6), any(SS_AF_INET6), true);
		if (r == 0)
			r = add_pol(b, &p, SS_XFRM_IN, any(SS_AF_INET6), any(SS_AF_INET6), true);
	}
	return r;
}

/* Just above the first negotiate filter that covers the peer; above all filters when none does
 * (a peer the daemon knows from its own IKE, as responder). */
static uint16_t peer_prio(const xb *b, const ss_addr *a)
{
	for (size_t i = 0; i < b->n_filters; i++)
		if (b->negotiate_remote[i].addr.family == a->family &&
		    ss_prefix_contains(&b->negotiate_remote[i], a))
			return (uint16_t)(FILTER_PRIO + 2 * i - 1);
	return PEER_PRIO;
}

/* The policies of one peer state.  The kernel keeps one policy per selector and direction,
 * whatever its priority or index, and refuses a second: a peer that has policies already
 * gets them replaced in place (XFRM_MSG_UPDPOLICY, which keeps the replaced policy's index,
 * i.e. the peer's slot).  So soft -> secured works, marking a secured peer secured again
 * (its next CHILD SA, a rekey) succeeds, and the peer's traffic never falls through to the
 * negotiate filters in between. */
/* The policy of one of the peer's directions in state st (its selector is set by add_dir). */
static ss_xfrm_policy peer_policy(xb *b, const peer *p, uint32_t slot, uint8_t st)
{
	/* Tagged: a filter from any local address to exactly this peer (a rule "me -> peer") has
	 * the same addresses, and the kernel would refuse the peer's as a duplicate (EEXIST: the
	 * peer never secured, found with charon in the VM). */
	ss_xfrm_policy pol = { .slot = slot, .prio = peer_prio(b, &p->addr), .sel.tag = PEER_SEL_TAG };
	if (st == SS_DP_PEER_SECURED) {
		pol.action = SS_XFRM_PROTECT;
		pol.reqid = p->kreqid;
		pol.mode = p->mode;
	} else {
		pol.action = st == SS_DP_PEER_SOFT ? SS_XFRM_BYPASS : SS_XFRM_BLOCK;
		if (st == SS_DP_PEER_SOFT && p->timeout != SS_NEVER)
			pol.idle_seconds = (uint32_t)((p->timeout + 999) / 1000);
	}
	return pol;
}

/* One direction of the peer's policies: out is any local address -> peer, in and fwd the
 * reverse.  Any local address: a negotiate filter may well be exactly local/32 -> peer/32, and
 * the kernel refuses a second policy with the same selector whatever its priority. */
static int add_dir(xb *b, const peer *p, ss_xfrm_policy *pol, uint8_t dir, bool update)
{
	ss_prefix me = any(p->addr.family), them = host(&p->addr);
	pol->tsrc = dir == SS_XFRM_OUT ? p->local : p->addr;
	pol->tdst = dir == SS_XFRM_OUT ? p->addr : p->local;
	return dir == SS_XFRM_OUT ? add_pol(b, pol, dir, me, them, update)
				  : add_pol(b, pol, dir, them, me, update);
}

/* The peer's host policies (any <-> it) in state st at slot; a direction it had already is
 * replaced in place, one the new state has not is removed. */
static int install_host(xb *b, peer *p, uint8_t st, uint32_t slot)
{
	static const uint8_t order[3] = { SS_XFRM_OUT, SS_XFRM_IN, SS_XFRM_FWD };
	ss_xfrm_policy pol = peer_policy(b, p, slot, st);
	uint8_t dirs = 1u << SS_XFRM_IN | 1u << SS_XFRM_OUT;
	if (st == SS_DP_PEER_SECURED && p->mode == SS_XFRM_TUNNEL)
		dirs |= 1u << SS_XFRM_FWD;
	int r = 0;
	for (int k = 0; k < 3 && r == 0; k++) {
		uint8_t d = order[k];
		if (!(dirs & 1u << d))
			continue;
		r = add_dir(b, p, &pol, d, (p->hdirs & 1u << d) != 0);
		if (r == 0)
			p->hdirs |= (uint8_t)(1u << d);
	}
	if (r == 0 && (p->hdirs & ~dirs)) {
		del_slot(b, slot, p->hdirs & ~dirs); /* a tunnel-mode state's fwd, if it had one */
		p->hdirs &= dirs;
	}
	return r;
}

static bool is_endpoint(const xb *b, const ss_addr *a)
{
	for (size_t i = 0; i < b->n_filters; i++)
		if (ss_addr_eq(&b->tun[i].tunnel, a))
			return true;
	return false;
}

/* Host policies for a tunnel endpoint only where a host filter negotiates with it: its state
 * decides for the networks behind it, and the userspace backend applies a peer's state only to
 * traffic a filter covers (an endpoint blocked must not cut the gateways' own ICMP, say). */
static bool wants_host(const xb *b, const peer *p)
{
	return !is_endpoint(b, &p->addr) || peer_prio(b, &p->addr) != PEER_PRIO;
}

/* The endpoint's state on tunnel filter i's selectors, tagged (the filter's own policies keep
 * theirs) and just above the filter: out local -> remote, in and fwd remote -> local (the
 * kernel checks forwarded packets against fwd, the gateway's own against in).  Secured: a
 * tunnel-mode template between the gateways with the endpoint's reqid. */
static int install_tunnel(xb *b, const peer *p, size_t i, uint8_t st, uint8_t dirs)
{
	static const uint8_t order[3] = { SS_XFRM_OUT, SS_XFRM_IN, SS_XFRM_FWD };
	const ss_dp_filter *f = &b->tun[i];
	ss_xfrm_policy pol = peer_policy(b, p, TUN_SLOT + (uint32_t)i, st);
	pol.prio = (uint16_t)(FILTER_PRIO + 2 * i - 1);
	pol.sel.tag = TUN_SEL_TAG;
	pol.sel.proto = f->proto;
	pol.mode = SS_XFRM_TUNNEL;
	for (int k = 0; k < 3; k++) {
		uint8_t d = order[k];
		bool out = d == SS_XFRM_OUT;
		if (!(dirs & 1u << d))
			continue;
		pol.tsrc = out ? p->local : p->addr;
		pol.tdst = out ? p->addr : p->local;
		pol.sel.sport = out ? f->local_port : f->remote_port;
		pol.sel.dport = out ? f->remote_port : f->local_port;
		int r = add_pol(b, &pol, d, out ? f->local : f->remote, out ? f->remote : f->local,
				(b->tun_dirs[i] & 1u << d) != 0);
		if (r < 0)
			return r;
		b->tun_dirs[i] |= (uint8_t)(1u << d);
	}
	return 0;
}

static void remove_tunnels(xb *b, const ss_addr *ep)
{
	for (size_t i = 0; i < b->n_filters; i++)
		if (b->tun_dirs[i] && ss_addr_eq(&b->tun[i].tunnel, ep)) {
			del_slot(b, TUN_SLOT + (uint32_t)i, b->tun_dirs[i]);
			b->tun_dirs[i] = 0;
		}
}

/* Every policy of the peer goes: its traffic meets the filters again.  Its place among the
 * decided peers in the notice table goes first, so that its packets wait in softsad (hold.h)
 * rather than meet no policy of its own. */
static void drop_peer(xb *b, peer *p)
{
	if (p->state != SS_DP_PEER_NONE && b->notice && ss_xnotice_peer(b->notice, &p->addr, false) < 0)
		b->st.release_err++;
	if (p->hdirs)
		del_slot(b, p->slot, p->hdirs);
	p->hdirs = 0;
	remove_tunnels(b, &p->addr);
	p->state = SS_DP_PEER_NONE;
}

static int install_peer(xb *b, peer *p, uint8_t st)
{
	uint32_t slot = p->state != SS_DP_PEER_NONE ? p->slot : new_slot(b);
	int r = 0;
	if (wants_host(b, p)) {
		r = install_host(b, p, st, slot);
	} else if (p->hdirs) {
		del_slot(b, slot, p->hdirs); /* a reload made it an endpoint */
		p->hdirs = 0;
	}
	for (size_t i = 0; i < b->n_filters && r == 0; i++)
		if (ss_addr_eq(&b->tun[i].tunnel, &p->addr))
			r = install_tunnel(b, p, i, st, 7);
	p->slot = slot;
	if (r < 0) {
		/* In place, the old state's policies may be half replaced: none stay, and the
		 * peer's traffic meets the negotiate filters (ACQUIRE out, blocked in). */
		drop_peer(b, p);
		return r;
	}
	/* After its policies: what the table lets by from now on meets them. */
	if (b->notice && ss_xnotice_peer(b->notice, &p->addr, true) < 0)
		b->st.release_err++;
	p->state = st;
	return 0;
}

static int set_peer_policies(ss_dp *dp, const ss_addr *addr, enum ss_dp_peer_state st, ss_time timeout);

static void note_larval(xb *b, const ss_xfrm_event *e)
{
	larval *free_slot = NULL;
	for (size_t i = 0; i < LARVAL; i++) {
		larval *l = &b->larvae[i];
		if (l->used && ss_addr_eq(&l->src, &e->sa.src) && ss_addr_eq(&l->dst, &e->sa.dst))
			return;
		if (!l->used && !free_slot)
			free_slot = l;
	}
	if (!free_slot) /* full: the oldest is forgotten, and its larval state expires by itself */
		free_slot = &b->larvae[b->next_larval++ % LARVAL];
	*free_slot = (larval){ .src = e->sa.src, .dst = e->sa.dst, .mode = e->sa.mode, .used = true };
}

/* After the peer's new policies are in: the kernel's queue of its held packets then resolves
 * through them (ESP, clear or dropped), and its next packet without a policy acquires again. */
static void drop_larvae(xb *b, const ss_addr *peer_addr)
{
	for (size_t i = 0; i < LARVAL; i++) {
		larval *l = &b->larvae[i];
		if (!l->used || !ss_addr_eq(&l->dst, peer_addr))
			continue;
		if (ss_xfrm_drop_larval(b->x, &l->src, &l->dst, ACQUIRE_REQID, l->mode) < 0)
			b->st.release_err++;
		l->used = false;
	}
}

static int set_peer(ss_dp *dp, const ss_addr *addr, enum ss_dp_peer_state st, ss_time timeout)
{
	int r = set_peer_policies(dp, addr, st, timeout);
	if (r == 0)
		drop_larvae(X(dp), addr);
	return r;
}

static int set_peer_policies(ss_dp *dp, const ss_addr *addr, enum ss_dp_peer_state st, ss_time timeout)
{
	xb *b = X(dp);
	peer *p = find_peer(b, addr, st != SS_DP_PEER_NONE);
	if (!p)
		return st == SS_DP_PEER_NONE ? 0 : -ENOSPC;
	if (st == SS_DP_PEER_NONE) {
		drop_peer(b, p);
		return 0;
	}
	if (st == SS_DP_PEER_SECURED && !p->kreqid)
		return -ENOENT; /* no SA yet: the policies would have nothing to use */
	p->timeout = timeout;
	p->since = ss_now_ms();
	return install_peer(b, p, st);
}

/* Filter i's own policies: out, and unless it accepts inbound clear, in (and for a tunnel fwd)
 * the reverse.  A negotiate filter's out policy has a template no SA carries, so its traffic
 * acquires; a tunnel's names the endpoint (our address: the kernel's route lookup), so the
 * ACQUIRE carries the gateways' pair. */
static int install_filter(xb *b, const ss_dp_filter *f, size_t i)
{
	ss_xfrm_policy p = { .slot = (uint32_t)i, .prio = (uint16_t)(FILTER_PRIO + 2 * i),
			     .reqid = ACQUIRE_REQID };
	p.sel.proto = f->proto;
	p.action = f->verdict == SS_DP_PERMIT ? SS_XFRM_BYPASS
		 : f->verdict == SS_DP_BLOCK ? SS_XFRM_BLOCK : SS_XFRM_PROTECT;
	if (f->tunnel.family) {
		p.mode = SS_XFRM_TUNNEL;
		p.tdst = f->tunnel;
		p.tsrc = (ss_addr){ .family = f->tunnel.family };
	}
	p.sel.sport = f->local_port;
	p.sel.dport = f->remote_port;
	int r = add_pol(b, &p, SS_XFRM_OUT, f->local, f->remote, false);
	if (r < 0)
		return r;
	b->filter_dirs[i] |= 1u << SS_XFRM_OUT;
	if (p.action == SS_XFRM_PROTECT) {
		if (f->accept_inbound_clear)
			return 0;
		p.action = SS_XFRM_BLOCK;
	}
	p.sel.sport = f->remote_port;
	p.sel.dport = f->local_port;
	for (uint8_t d = SS_XFRM_IN; d <= SS_XFRM_FWD; d += 2) {
		if (d == SS_XFRM_FWD && !f->tunnel.family)
			break;
		r = add_pol(b, &p, d, f->remote, f->local, false);
		if (r < 0)
			return r;
		b->filter_dirs[i] |= (uint8_t)(1u << d);
	}
	return 0;
}

static int set_filters(ss_dp *dp, const ss_dp_filter *f, size_t n)
{
	xb *b = X(dp);
	if (n > MAX_FILTERS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		if (f[i].tunnel.family && f[i].tunnel.family != f[i].local.addr.family)
			return -EAFNOSUPPORT; /* one family inside and out (doc/dataplane.md) */
	if (dpu_tunmap_set(&b->tmap, f, n) < 0)
		return -ENOMEM;
	/* Filters change rarely (a reload): remove the old set, then install the new one; the
	 * endpoints' states on the old tunnel filters go too (their slots follow the filters'
	 * order) and are put back on the new ones with the peers below. */
	for (size_t i = 0; i < b->n_filters; i++) {
		del_slot(b, (uint32_t)i, b->filter_dirs[i]);
		del_slot(b, TUN_SLOT + (uint32_t)i, b->tun_dirs[i]);
	}
	memset(b->filter_dirs, 0, sizeof b->filter_dirs);
	memset(b->tun_dirs, 0, sizeof b->tun_dirs);
	memset(b->negotiate_remote, 0, sizeof b->negotiate_remote);
	memset(b->tun, 0, sizeof b->tun);
	b->n_filters = n;
	for (size_t i = 0; i < n; i++) {
		if (f[i].verdict == SS_DP_PERMIT || f[i].verdict == SS_DP_BLOCK)
			continue;
		if (f[i].tunnel.family)
			b->tun[i] = f[i];
		else
			b->negotiate_remote[i] = f[i].remote;
	}
	for (size_t i = 0; i < n; i++) {
		int r = install_filter(b, &f[i], i);
		if (r < 0)
			return r;
	}
	if (b->notice && ss_xnotice_set_filters(b->notice, f, n) < 0)
		return -EIO;
	/* Peers' places follow the new filters (a reload). */
	for (size_t i = 0; i < MAX_PEERS; i++) {
		peer *pe = &b->peers[i];
		if (pe->state && pe->state != SS_DP_PEER_NONE) {
			int r = install_peer(b, pe, pe->state);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static sa_ent *find_sa(xb *b, const ss_dp_sa_id *id, bool create)
{
	sa_ent *fresh = NULL;
	for (size_t i = 0; i < MAX_SAS; i++) {
		sa_ent *e = &b->sas[i];
		if (e->used && e->id.spi == id->spi && e->id.dir == id->dir &&
		    ss_addr_eq(&e->id.remote, &id->remote))
			return e;
		if (!fresh && !e->used)
			fresh = e;
	}
	return create ? fresh : NULL;
}

/* The kernel's name of an SA: its destination and SPI. */
static const ss_addr *sa_dst(const ss_dp_sa_id *id)
{
	return id->dir == SS_DP_OUT ? &id->remote : &id->local;
}

/* A selector range as a prefix, when it is one. */
static bool ts_prefix(const ss_dp_ts *t, ss_prefix *out)
{
	unsigned bits = ss_addr_bits(&t->lo);
	for (unsigned len = 0; len <= bits; len++) {
		ss_prefix p = ss_prefix_make(&t->lo, len);
		if (!ss_addr_eq(&p.addr, &t->lo))
			continue;
		/* The highest address of lo/len must be hi. */
		ss_addr top = t->lo;
		for (unsigned i = len; i < bits; i++)
			top.a[i / 8] |= (uint8_t)(0x80u >> (i % 8));
		if (ss_addr_eq(&top, &t->hi)) {
			*out = p;
			return true;
		}
	}
	return false;
}

static bool algs(const ss_dp_sa *sa, ss_xfrm_sa *k)
{
	if (sa->encr == SS_ENCR_AES_GCM_16 && sa->integ == SS_INTEG_NONE) {
		k->enc = SS_XFRM_AES_GCM16;
	} else if (sa->encr == SS_ENCR_AES_CBC) {
		k->enc = SS_XFRM_AES_CBC;
		k->integ = sa->integ == SS_INTEG_HMAC_SHA2_256_128 ? SS_XFRM_HMAC_SHA256_128
			 : sa->integ == SS_INTEG_HMAC_SHA2_384_192 ? SS_XFRM_HMAC_SHA384_192
			 : sa->integ == SS_INTEG_HMAC_SHA2_512_256 ? SS_XFRM_HMAC_SHA512_256
			 : SS_XFRM_INTEG_NONE;
		if (!k->integ)
			return false;
	} else {
		return false;
	}
	if (sa->encr_key_len > sizeof k->enc_key || sa->integ_key_len > sizeof k->integ_key)
		return false;
	memcpy(k->enc_key, sa->encr_key, sa->encr_key_len);
	k->enc_key_len = (uint8_t)sa->encr_key_len;
	if (sa->integ_key_len)
		memcpy(k->integ_key, sa->integ_key, sa->integ_key_len);
	k->integ_key_len = (uint8_t)sa->integ_key_len;
	return true;
}

static int sa_add(ss_dp *dp, const ss_dp_sa *sa, ss_time now)
{
	xb *b = X(dp);
	peer *p = find_peer(b, &sa->id.remote, true);
	sa_ent *e = find_sa(b, &sa->id, true);
	if (!p || !e)
		return -ENOSPC;
	if (e->used)
		return -EEXIST;
	if (!p->kreqid)
		p->kreqid = SS_XFRM_REQID_BASE + 1 + b->next_kreqid++ % (SS_XFRM_REQID_SPAN - 3);
	bool out = sa->id.dir == SS_DP_OUT;
	ss_xfrm_sa k = { .src = out ? sa->id.local : sa->id.remote, .dst = *sa_dst(&sa->id),
			 .spi = sa->id.spi, .reqid = p->kreqid, .mode = sa->mode, .esn = sa->esn,
			 .replay_window = sa->replay_window ? sa->replay_window : DEFAULT_WINDOW,
			 .encap_sport = out ? sa->encap_local_port : sa->encap_remote_port,
			 .encap_dport = out ? sa->encap_remote_port : sa->encap_local_port,
			 .soft = { .bytes = sa->life.soft_bytes, .packets = sa->life.soft_packets,
				   .add_seconds = sa->life.soft_seconds },
			 .hard = { .bytes = sa->life.hard_bytes, .packets = sa->life.hard_packets,
				   .add_seconds = sa->life.hard_seconds } };
	if (sa->mode == SS_DP_TUNNEL && sa->n_local_ts && sa->n_remote_ts) {
		ss_prefix l, r;
		if (!ts_prefix(&sa->local_ts[0], &l) || !ts_prefix(&sa->remote_ts[0], &r))
			return -EINVAL;
		k.sel.src = out ? l : r;
		k.sel.dst = out ? r : l;
	}
	int rc = algs(sa, &k) ? ss_xfrm_add_sa(b->x, &k, false) : -EINVAL;
	ss_wipe(&k, sizeof k);
	if (rc < 0)
		return rc;
	*e = (sa_ent){ .id = sa->id, .reqid = sa->reqid, .life = sa->life, .used = true };
	p->local = sa->id.local;
	p->mode = sa->mode;
	(void)now;
	return 0;
}

static int sa_update(ss_dp *dp, const ss_dp_sa_id *id, const ss_addr *new_remote, uint16_t port)
{
	/* A moved NAT mapping: XFRM_MSG_NEWAE / UPDSA with a new XFRMA_ENCAP would do; the
	 * daemon re-adds the SA today (MOBIKE is not supported). */
	return -EOPNOTSUPP;
}

/* One SA's kernel counters into the totals of `stats` (outbound or inbound by its direction). */
static void account(ss_dp_stats *t, uint8_t dir, const ss_xfrm_sa_info *i)
{
	if (dir == SS_DP_OUT) {
		t->esp_out_pkts += i->packets;
		t->esp_out_bytes += i->bytes;
	} else {
		t->esp_in_pkts += i->packets;
		t->esp_in_bytes += i->bytes;
		t->esp_in_err[SS_ESP_E_REPLAY] += i->replay_drops;
		t->esp_in_err[SS_ESP_E_AUTH] += i->integrity_failures;
	}
}

static int sa_del(ss_dp *dp, const ss_dp_sa_id *id)
{
	xb *b = X(dp);
	sa_ent *e = find_sa(b, id, false);
	ss_xfrm_sa_info last;
	if (e) {
		e->used = false;
		if (ss_xfrm_get_sa(b->x, sa_dst(id), id->spi, &last) == 0)
			account(&b->retired, id->dir, &last);
	}
	int r = ss_xfrm_del_sa(b->x, sa_dst(id), id->spi);
	return r == -ESRCH ? -ENOENT : r;
}

static int sa_query(ss_dp *dp, const ss_dp_sa_id *id, ss_dp_sa_counters *out)
{
	xb *b = X(dp);
	ss_xfrm_sa_info i;
	int r = ss_xfrm_get_sa(b->x, sa_dst(id), id->spi, &i);
	if (r < 0)
		return r == -ESRCH ? -ENOENT : r;
	/* The kernel's times are wall-clock seconds; ours are a monotonic ms clock. */
	ss_time now = ss_now_ms();
	time_t wall = time(NULL);
	*out = (ss_dp_sa_counters){ .packets = i.packets, .bytes = i.bytes,
				    .replay_fail = i.replay_drops, .auth_fail = i.integrity_failures };
	if (i.add_time && (uint64_t)wall >= i.add_time)
		out->installed = now - SS_SEC((uint64_t)wall - i.add_time);
	if (i.use_time && (uint64_t)wall >= i.use_time)
		out->last_used = now - SS_SEC((uint64_t)wall - i.use_time);
	return 0;
}

static void on_expire(xb *b, const ss_xfrm_event *e)
{
	for (size_t i = 0; i < MAX_SAS; i++) {
		sa_ent *s = &b->sas[i];
		if (!s->used || s->id.spi != e->sa.spi || !ss_addr_eq(sa_dst(&s->id), &e->sa.dst))
			continue;
		ss_dp_event ev = { .kind = e->hard ? SS_DP_EV_SA_HARD : SS_DP_EV_SA_SOFT,
				   .local = s->id.local, .remote = s->id.remote, .sa = s->id,
				   .reqid = s->reqid, .why = SS_DP_WHY_TIME };
		uint64_t pk = e->hard ? s->life.hard_packets : s->life.soft_packets;
		uint64_t by = e->hard ? s->life.hard_bytes : s->life.soft_bytes;
		if (pk && e->sa.packets >= pk)
			ev.why = SS_DP_WHY_PACKETS;
		else if (by && e->sa.bytes >= by)
			ev.why = SS_DP_WHY_BYTES;
		if (e->hard) {
			s->used = false; /* the kernel has removed it: its last counters are these */
			account(&b->retired, s->id.dir, &e->sa);
		}
		push(b, &ev);
		return;
	}
}

/* Whether one of the peer's policies (slot, dir) was used within its idle timeout (the
 * kernel's use time, wall-clock seconds).  Its use time only: a direction put back alone
 * while another carried traffic was added recently but may never have been used, and must
 * not keep the others alive. */
static bool policy_busy(xb *b, const peer *p, uint32_t slot, uint8_t dir)
{
	ss_xfrm_event o;
	if (ss_xfrm_get_policy(b->x, slot, dir, &o) < 0)
		return false;
	uint64_t last = o.sa.use_time;
	uint64_t now = (uint64_t)time(NULL);
	return last && now >= last && (now - last) * 1000 < (uint64_t)p->timeout;
}

/* Whether any policy of the soft peer but the one that expired still carries traffic: its
 * host policies, and for an endpoint its state on every tunnel filter (a stream one way
 * only, forwarded h1 -> h2, is out; its answers fwd). */
static bool peer_busy(xb *b, const peer *p, uint32_t slot, uint8_t expired_dir)
{
	if (p->timeout == SS_NEVER)
		return false;
	for (uint8_t d = SS_XFRM_IN; d <= SS_XFRM_FWD; d++) {
		if ((p->hdirs & 1u << d) && !(slot == p->slot && d == expired_dir) &&
		    policy_busy(b, p, p->slot, d))
			return true;
		for (size_t i = 0; i < b->n_filters; i++) {
			uint32_t ts = TUN_SLOT + (uint32_t)i;
			if ((b->tun_dirs[i] & 1u << d) && ss_addr_eq(&b->tun[i].tunnel, &p->addr) &&
			    !(slot == ts && d == expired_dir) && policy_busy(b, p, ts, d))
				return true;
		}
	}
	return false;
}

/* The peer a policy slot of ours belongs to: its own slot, or a tunnel filter's endpoint. */
static peer *peer_of_slot(xb *b, uint32_t slot)
{
	if (slot >= TUN_SLOT && slot < TUN_SLOT + b->n_filters) {
		const ss_addr *ep = &b->tun[slot - TUN_SLOT].tunnel;
		return ep->family ? find_peer(b, ep, false) : NULL;
	}
	return peer_by_slot(b, slot);
}

/* One direction of a soft peer's bypass went idle.  While another of its policies still
 * carries traffic (a stream one way only), the association lives and the expired one is put
 * back alone: replacing a busy one too would reset its use time, and the association would
 * outlive its last packet by up to two idle timeouts (8.9 s for 4 s, seen in the VM).
 * Otherwise all go, and the peer is unknown again (its next packet negotiates). */
static void on_polexpire(xb *b, const ss_xfrm_event *e)
{
	uint32_t slot = (e->index - SS_XFRM_INDEX_BASE) >> 3;
	peer *p = peer_of_slot(b, slot);
	if (!p || p->state != SS_DP_PEER_SOFT || e->dir > SS_XFRM_FWD)
		return;
	if (peer_busy(b, p, slot, e->dir)) {
		ss_xfrm_policy pol = peer_policy(b, p, slot, SS_DP_PEER_SOFT);
		int r;
		if (slot == p->slot) {
			r = add_dir(b, p, &pol, e->dir, true);
		} else {
			r = install_tunnel(b, p, slot - TUN_SLOT, SS_DP_PEER_SOFT, (uint8_t)(1u << e->dir));
		}
		if (r == 0)
			return;
	}
	drop_peer(b, p);
	drop_larvae(b, &p->addr);
}

static void on_event(xb *b, const ss_xfrm_event *e)
{
	if (e->kind == SS_XFRM_EV_ACQUIRE && ss_xfrm_policy_ours(e->index, e->priority)) {
		ss_dp_event ev = { .kind = SS_DP_EV_ACQUIRE, .local = e->sel.src.addr,
				   .remote = e->sel.dst.addr, .proto = e->sel.proto,
				   .sport = e->sel.sport, .dport = e->sel.dport };
		/* A tunnel-mode template: the daemon knows a tunnel's traffic by the gateways'
		 * pair (dataplane.h), the template's endpoints as the kernel resolved them. */
		if (e->sa.mode == SS_XFRM_TUNNEL && e->sa.src.family && e->sa.dst.family) {
			ev.local = e->sa.src;
			ev.remote = e->sa.dst;
		}
		b->st.captured++;
		if (e->sa.reqid == ACQUIRE_REQID)
			note_larval(b, e);
		push(b, &ev);
	} else if (e->kind == SS_XFRM_EV_EXPIRE && ss_xfrm_reqid_ours(e->sa.reqid) && e->sa.spi) {
		on_expire(b, e);
	} else if (e->kind == SS_XFRM_EV_POLEXPIRE && ss_xfrm_policy_ours(e->index, e->priority)) {
		on_polexpire(b, e);
	}
}

/* Whether an inbound SA of ours has this SPI from this sender.  A walk over the table: it
 * runs for sampled packets only (one a second per sender, xfrm_notice.c). */
static bool inbound_spi_known(const xb *b, const ss_addr *from, uint32_t spi)
{
	for (size_t i = 0; i < MAX_SAS; i++) {
		const sa_ent *s = &b->sas[i];
		if (s->used && s->id.dir == SS_DP_IN && s->id.spi == spi && ss_addr_eq(&s->id.remote, from))
			return true;
	}
	return false;
}

/* A sample of inbound ESP: for an SPI we do not have, the sender may be a peer that still
 * uses an SA we lost (a restart), and the kernel dropped the packet without a word.  A hint
 * only (unauthenticated); the node and the engine rate-limit what they do with it. */
static void esp_sample(xb *b, const ss_dp_notice *nt)
{
	if (inbound_spi_known(b, &nt->src, nt->spi))
		return;
	b->st.unknown_spi++;
	ss_dp_event ev = { .kind = SS_DP_EV_UNKNOWN_SPI, .local = nt->dst, .remote = nt->src,
			   .port = nt->proto == 17 ? nt->sport : 0,
			   .sa = { .spi = nt->spi, .dir = SS_DP_IN, .local = nt->dst, .remote = nt->src } };
	push(b, &ev);
}

static int read_notices(xb *b)
{
	ss_dp_notice nt[32];
	int n = ss_xnotice_read(b->notice, nt, 32, &b->st.malformed);
	for (int i = 0; i < n; i++) {
		if (nt[i].esp) {
			esp_sample(b, &nt[i]);
			continue;
		}
		ss_dp_event ev = { .kind = SS_DP_EV_INBOUND_CLEAR, .local = nt[i].dst, .remote = nt[i].src,
				   .proto = nt[i].proto, .sport = nt[i].sport, .dport = nt[i].dport,
				   .accepted = nt[i].accepted };
		/* A tunnel's clear packet from the network behind the endpoint: under the
		 * gateways' pair, as the userspace backend reports it (tunmap.h). */
		ss_pkt_tuple t = { .src = nt[i].src, .dst = nt[i].dst, .proto = nt[i].proto,
				   .sport = nt[i].sport, .dport = nt[i].dport };
		dpu_tunend *end = b->tmap.n ? dpu_tunmap_find(&b->tmap, &t, true) : NULL;
		if (end && !dpu_tunend_pair(end, &ev.local, &ev.remote))
			continue; /* no route to the endpoint: nobody to negotiate with */
		b->st.notices++;
		push(b, &ev);
	}
	return n;
}

static int read_held(xb *b)
{
	ss_dp_event ev[64];
	int n = ss_xhold_read(b->hold, ev, 64, &b->st);
	for (int i = 0; i < n; i++)
		push(b, &ev[i]);
	return n;
}

static int process(ss_dp *dp, int fd, ss_time now)
{
	xb *b = X(dp);
	if (fd < 0)
		return 0;
	if (b->notice && fd == ss_xnotice_fd(b->notice))
		return read_notices(b);
	if (b->hold && fd == ss_xhold_fd(b->hold))
		return read_held(b);
	int total = 0;
	for (;;) {
		ss_xfrm_event ev[32];
		int n = ss_xfrm_read_events(b->x, ev, 32);
		if (n < 0)
			return n == -ENOBUFS ? total : n; /* an overrun loses events, not the socket */
		if (n == 0)
			return total;
		for (int i = 0; i < n; i++)
			on_event(b, &ev[i]);
		total += n;
		if (total >= 64)
			return 64;
	}
}

static int list_soft(ss_dp *dp, ss_dp_soft_info *out, size_t n)
{
	xb *b = X(dp);
	ss_time now = ss_now_ms();
	size_t k = 0;
	for (size_t i = 0; i < MAX_PEERS && k < n; i++) {
		peer *p = &b->peers[i];
		if (p->state != SS_DP_PEER_SOFT)
			continue;
		/* The kernel counts no traffic on policies; the time left is at most the idle
		 * timeout (the kernel's use time is what finally counts). */
		ss_time left = SS_NEVER;
		if (p->timeout != SS_NEVER)
			left = now - p->since < p->timeout ? p->timeout - (now - p->since) : 0;
		out[k++] = (ss_dp_soft_info){ .peer = p->addr, .expires_in = left };
	}
	return (int)k;
}

static void close_backend(ss_dp *dp)
{
	xb *b = X(dp);
	unsigned s, p;
	ss_xnotice_close(b->notice); /* the queue's rule first: then nothing more is queued */
	ss_xhold_close(b->hold);
	ss_xfrm_remove_ours(b->x, &s, &p);
	ss_xfrm_close(b->x);
	dpu_tunmap_free(&b->tmap);
	ss_wipe(b, sizeof *b);
	free(b);
}

static void info(ss_dp *dp, ss_dp_info *out)
{
	*out = (ss_dp_info){ .name = "kernel", .holds_packets = X(dp)->hold != NULL };
	snprintf(out->why, sizeof out->why, "%s", X(dp)->why);
}

static size_t poll_fds(ss_dp *dp, ss_dp_fd *out, size_t max)
{
	xb *b = X(dp);
	size_t k = 0;
	if (k < max)
		out[k++] = (ss_dp_fd){ .fd = ss_xfrm_fd(b->x), .role = SS_DP_FD_EVENTS };
	if (k < max && b->notice)
		out[k++] = (ss_dp_fd){ .fd = ss_xnotice_fd(b->notice), .role = SS_DP_FD_NOTICE };
	if (k < max && b->hold)
		out[k++] = (ss_dp_fd){ .fd = ss_xhold_fd(b->hold), .role = SS_DP_FD_OUTBOUND };
	return k;
}

static ss_time deadline(ss_dp *dp) { return SS_NEVER; }
static int flush(ss_dp *dp, ss_time now)
{
	xb *b = X(dp);
	if (b->hold)
		ss_xhold_flush(b->hold, &b->st);
	return 0;
}

static int verdict(ss_dp *dp, uint64_t h, enum ss_dp_pkt_verdict v, ss_time now)
{
	xb *b = X(dp);
	return b->hold ? ss_xhold_verdict(b->hold, h, v, &b->st) : -ENOENT;
}
static int bypass_socket(ss_dp *dp, int fd, enum ss_family family) { return ss_xfrm_socket_bypass(fd, (uint8_t)family); }
/* The backend's own counts, and the ESP counters of every SA of ours the kernel holds (one
 * GETSA each: `stats` is an operator's request, not a hot path) plus those of SAs gone. */
static void get_stats(ss_dp *dp, ss_dp_stats *out)
{
	xb *b = X(dp);
	*out = b->st;
	out->held_now = b->hold ? ss_xhold_count(b->hold) : 0;
	ss_dp_stats live = b->retired;
	for (size_t k = 0; k < MAX_SAS; k++) {
		const sa_ent *e = &b->sas[k];
		ss_xfrm_sa_info i;
		if (e->used && ss_xfrm_get_sa(b->x, sa_dst(&e->id), e->id.spi, &i) == 0)
			account(&live, e->id.dir, &i);
	}
	out->esp_out_pkts = live.esp_out_pkts;
	out->esp_out_bytes = live.esp_out_bytes;
	out->esp_in_pkts = live.esp_in_pkts;
	out->esp_in_bytes = live.esp_in_bytes;
	out->esp_in_err[SS_ESP_E_REPLAY] = live.esp_in_err[SS_ESP_E_REPLAY];
	out->esp_in_err[SS_ESP_E_AUTH] = live.esp_in_err[SS_ESP_E_AUTH];
}

static const struct ss_dp_ops xfrm_ops = {
	.close = close_backend, .info = info, .poll_fds = poll_fds, .process = process,
	.deadline = deadline, .next_event = next_event, .flush = flush,
	.set_filters = set_filters, .set_peer = set_peer, .list_soft = list_soft,
	.sa_add = sa_add, .sa_update = sa_update, .sa_del = sa_del, .sa_query = sa_query,
	.verdict = verdict, .bypass_socket = bypass_socket, .get_stats = get_stats,
};

static bool xfrm_available(char *why, size_t whylen)
{
	if (ss_xfrm_probe(why, whylen)) {
		snprintf(why, whylen, "kernel XFRM with ESP works here");
		return true;
	}
	return false;
}

/* Packets waiting for an SA are queued by the kernel instead of dropped (per namespace). */
static int queue_larval(void)
{
	int fd = open("/proc/sys/net/core/xfrm_larval_drop", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = write(fd, "0\n", 2) == 2 ? 0 : -errno;
	close(fd);
	return r;
}

static int xfrm_open(const ss_dp_config *cfg, const char *why_chosen, ss_dp **out, char *err, size_t errlen)
{
	int r = 0;
	xb *b = calloc(1, sizeof *b);
	if (!b) {
		snprintf(err, errlen, "out of memory creating the kernel dataplane");
		return -ENOMEM;
	}
	b->base.ops = &xfrm_ops;
	b->x = ss_xfrm_open(true, &r);
	if (!b->x) {
		snprintf(err, errlen, "XFRM netlink: %s", strerror(-r));
		free(b);
		return r;
	}
	/* What a previous softsad left (it may have been killed): ours only. */
	unsigned s = 0, p = 0;
	r = ss_xfrm_remove_ours(b->x, &s, &p);
	if (r == 0)
		r = queue_larval();
	/* ESP in UDP (a NAT, or udp_encap: always) arrives on the daemon's NAT-T sockets: the
	 * kernel must take it from there, as it takes raw ESP. */
	if (r == 0 && cfg->esp_udp_fd4 >= 0)
		r = ss_xfrm_socket_espinudp(cfg->esp_udp_fd4);
	if (r == 0 && cfg->esp_udp_fd6 >= 0)
		r = ss_xfrm_socket_espinudp(cfg->esp_udp_fd6);
	if (r < 0) {
		snprintf(err, errlen, "kernel dataplane: %s", strerror(-r));
		ss_xfrm_close(b->x);
		free(b);
		return r;
	}
	if (r == 0)
		r = install_system_bypasses(b);
	if (r < 0) {
		snprintf(err, errlen, "kernel dataplane: the multicast and neighbour discovery bypasses: %s",
			 strerror(-r));
		ss_xfrm_remove_ours(b->x, &s, &p);
		ss_xfrm_close(b->x);
		free(b);
		return r;
	}
	/* Held packets in softsad, when this kernel has nfnetlink_queue; else in the kernel's
	 * policy queue (100 packets a policy), said in `softsa status`. */
	char nerr[300], herr[200] = "";
	b->hold = ss_xhold_open(HOLD_QUEUE, cfg->bypass_mark, cfg->max_held, herr, sizeof herr);
	/* Without notices a host that talks first in the clear would never be negotiated with:
	 * no kernel dataplane rather than a quietly weaker one. */
	ss_xnotice_cfg nc = { .group = NOTICE_GROUP, .rate = NOTICE_RATE, .hold_queue = b->hold ? HOLD_QUEUE : -1,
			      .mark = cfg->bypass_mark };
	b->notice = ss_xnotice_open(&nc, nerr, sizeof nerr);
	if (!b->notice) {
		snprintf(err, errlen, "kernel dataplane: notices of inbound clear traffic: %s", nerr);
		ss_xhold_close(b->hold);
		ss_xfrm_remove_ours(b->x, &s, &p);
		ss_xfrm_close(b->x);
		free(b);
		return -EIO;
	}
	snprintf(b->why, sizeof b->why, "%s%s(removed %u states, %u policies left before)%s%.48s",
		 why_chosen ? why_chosen : "", why_chosen ? " " : "", s, p,
		 b->hold ? "" : "; held packets in the kernel's queue: ", herr);
	*out = &b->base;
	return 0;
}

const ss_dp_backend ss_dp_xfrm_backend = { "kernel", xfrm_available, xfrm_open };
