/* XFRM netlink sockets (see xfrm.h): requests on one socket, each answered before the next,
 * and the ACQUIRE / EXPIRE multicast groups on another, so that an event never lands in the
 * middle of a reply. */
#include "dataplane/xfrm/xfrm.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include "base/secure.h"

/* A dump's messages come in batches of up to 32 KiB; twice that never truncates. */
enum { RX_CAP = 65536, TX_CAP = 2048, EV_BATCH = 32 };

struct ss_xfrm {
	struct mnl_socket *req, *ev;
	uint32_t seq;
	/* XFRM's fixed headers hold 64-bit fields (xfrm_usersa_info's lifetimes): the messages
	 * are built in place, so the buffers carry that alignment. */
	_Alignas(8) uint8_t rx[RX_CAP];
	_Alignas(8) uint8_t tx[TX_CAP];
};

static struct mnl_socket *open_nl(unsigned groups, int flags, int *err)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC | flags);
	if (!nl) {
		*err = -errno;
		return NULL;
	}
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		*err = -errno;
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

ss_xfrm *ss_xfrm_open(bool events, int *err)
{
	ss_xfrm *x = calloc(1, sizeof *x);
	if (!x) {
		*err = -ENOMEM;
		return NULL;
	}
	x->seq = (uint32_t)getpid() << 8;
	x->req = open_nl(0, 0, err);
	if (x->req && events) {
		x->ev = open_nl(1u << (XFRMNLGRP_ACQUIRE - 1) | 1u << (XFRMNLGRP_EXPIRE - 1),
				SOCK_NONBLOCK, err);
		int sz = 1 << 20;
		if (x->ev)
			setsockopt(mnl_socket_get_fd(x->ev), SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	}
	if (!x->req || (events && !x->ev)) {
		ss_xfrm_close(x);
		return NULL;
	}
	return x;
}

void ss_xfrm_close(ss_xfrm *x)
{
	if (!x)
		return;
	if (x->req)
		mnl_socket_close(x->req);
	if (x->ev)
		mnl_socket_close(x->ev);
	/* The transmit buffer held keys. */
	ss_wipe(x->tx, sizeof x->tx);
	free(x);
}

int ss_xfrm_fd(const ss_xfrm *x)
{
	return x->ev ? mnl_socket_get_fd(x->ev) : -1;
}

int ss_xfrm_read_events(ss_xfrm *x, ss_xfrm_event *out, size_t max)
{
	if (!x->ev)
		return -EINVAL;
	ssize_t n = recv(mnl_socket_get_fd(x->ev), x->rx, sizeof x->rx, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	uint64_t bad = 0;
	return (int)ss_xfrm_parse(x->rx, (size_t)n, out, max, &bad, NULL);
}

/* Sends the request in x->tx and reads replies until its ACK (or DONE for a dump), handing
 * every other message of this sequence to fn. */
static int talk(ss_xfrm *x, size_t len, ss_xfrm_dump_fn *fn, void *ctx)
{
	if (len == 0)
		return -EINVAL;
	uint32_t seq = x->seq - 1;
	ssize_t s = mnl_socket_sendto(x->req, x->tx, len);
	ss_wipe(x->tx, len);
	if (s < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(x->req, x->rx, sizeof x->rx);
		if (n < 0)
			return -errno;
		ss_xfrm_event ev[EV_BATCH];
		uint64_t bad = 0;
		/* In batches: a dump's buffer may hold more entries than ev has room for. */
		for (size_t off = 0; off < (size_t)n; ) {
			size_t used = 0;
			size_t k = ss_xfrm_parse(x->rx + off, (size_t)n - off, ev, EV_BATCH, &bad, &used);
			for (size_t i = 0; i < k; i++) {
				if (ev[i].seq != seq)
					continue;
				if (ev[i].kind == SS_XFRM_EV_ACK)
					return ev[i].err;
				if (ev[i].kind == SS_XFRM_EV_DONE)
					return 0;
				if (fn)
					fn(&ev[i], ctx);
			}
			if (used == 0)
				break;
			off += used;
		}
	}
}

static uint32_t next_seq(ss_xfrm *x)
{
	return x->seq++;
}

int ss_xfrm_add_sa(ss_xfrm *x, const ss_xfrm_sa *sa, bool update)
{
	size_t len = ss_xfrm_build_sa(x->tx, sizeof x->tx, next_seq(x), sa, update);
	return talk(x, len, NULL, NULL);
}

int ss_xfrm_del_sa(ss_xfrm *x, const ss_addr *dst, uint32_t spi)
{
	size_t len = ss_xfrm_build_sa_id(x->tx, sizeof x->tx, next_seq(x), false, dst, spi);
	return talk(x, len, NULL, NULL);
}

static void keep_sa(const ss_xfrm_event *ev, void *ctx)
{
	if (ev->kind == SS_XFRM_EV_SA)
		*(ss_xfrm_sa_info *)ctx = ev->sa;
}

int ss_xfrm_get_sa(ss_xfrm *x, const ss_addr *dst, uint32_t spi, ss_xfrm_sa_info *out)
{
	memset(out, 0, sizeof *out);
	size_t len = ss_xfrm_build_sa_id(x->tx, sizeof x->tx, next_seq(x), true, dst, spi);
	return talk(x, len, keep_sa, out);
}

int ss_xfrm_add_policy(ss_xfrm *x, const ss_xfrm_policy *p, bool update)
{
	size_t len = ss_xfrm_build_policy(x->tx, sizeof x->tx, next_seq(x), p, update);
	return talk(x, len, NULL, NULL);
}

int ss_xfrm_del_policy(ss_xfrm *x, uint32_t slot, uint8_t dir)
{
	if (slot >= SS_XFRM_SLOTS)
		return -EINVAL;
	size_t len = ss_xfrm_build_policy_del(x->tx, sizeof x->tx, next_seq(x),
					      ss_xfrm_policy_index(slot, dir), dir);
	return talk(x, len, NULL, NULL);
}

static void keep_policy(const ss_xfrm_event *ev, void *ctx)
{
	if (ev->kind == SS_XFRM_EV_POLICY)
		*(ss_xfrm_event *)ctx = *ev;
}

int ss_xfrm_get_policy(ss_xfrm *x, uint32_t slot, uint8_t dir, ss_xfrm_event *out)
{
	if (slot >= SS_XFRM_SLOTS)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	size_t len = ss_xfrm_build_policy_id(x->tx, sizeof x->tx, next_seq(x), true,
					     ss_xfrm_policy_index(slot, dir), dir);
	int r = talk(x, len, keep_policy, out);
	if (r == 0 && out->kind != SS_XFRM_EV_POLICY)
		return -ENOENT;
	return r;
}

int ss_xfrm_dump(ss_xfrm *x, bool states, ss_xfrm_dump_fn *fn, void *ctx)
{
	size_t len = ss_xfrm_build_dump(x->tx, sizeof x->tx, next_seq(x), states);
	return talk(x, len, fn, ctx);
}

int ss_xfrm_drop_larval(ss_xfrm *x, const ss_addr *src, const ss_addr *dst, uint32_t reqid,
			uint8_t mode)
{
	ss_xfrm_sa_info got;
	memset(&got, 0, sizeof got);
	size_t len = ss_xfrm_build_allocspi(x->tx, sizeof x->tx, next_seq(x), src, dst, reqid, mode);
	int r = talk(x, len, keep_sa, &got);
	if (r < 0)
		return r;
	/* Only what the kernel just numbered in our range: never another state of the pair. */
	if (got.spi < SS_XFRM_LARVAL_SPI_MIN || got.spi > SS_XFRM_LARVAL_SPI_MAX || got.reqid != reqid)
		return -ESRCH;
	r = ss_xfrm_del_sa(x, dst, got.spi);
	return r == -ESRCH ? 0 : r;
}

/* What a dump found of ours, deleted after the dump (the kernel's walk must not change
 * under it). */
struct owned {
	ss_xfrm_event *ev;
	size_t n, cap;
	bool nomem;
};

static void collect(const ss_xfrm_event *ev, void *ctx)
{
	struct owned *o = ctx;
	/* A larval state (spi 0, the kernel's placeholder for an unanswered ACQUIRE) has no id:
	 * remove_kind numbers it first (ss_xfrm_drop_larval). */
	bool ours = ev->kind == SS_XFRM_EV_SA ? ss_xfrm_reqid_ours(ev->sa.reqid)
		  : ev->kind == SS_XFRM_EV_POLICY && ss_xfrm_policy_ours(ev->index, ev->priority);
	if (!ours)
		return;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		ss_xfrm_event *p = realloc(o->ev, cap * sizeof *p);
		if (!p) {
			o->nomem = true;
			return;
		}
		o->ev = p;
		o->cap = cap;
	}
	o->ev[o->n++] = *ev;
}

static int remove_kind(ss_xfrm *x, bool states, unsigned *count)
{
	struct owned o = { 0 };
	int r = ss_xfrm_dump(x, states, collect, &o);
	for (size_t i = 0; r == 0 && i < o.n; i++) {
		const ss_xfrm_event *e = &o.ev[i];
		if (states && e->sa.spi == 0) {
			int d = ss_xfrm_drop_larval(x, &e->sa.src, &e->sa.dst, e->sa.reqid, e->sa.mode);
			if (d == 0)
				(*count)++;
			continue; /* gone by itself meanwhile, or not ours to number: it expires */
		}
		size_t len = states
			? ss_xfrm_build_sa_id(x->tx, sizeof x->tx, next_seq(x), false, &e->sa.dst, e->sa.spi)
			: ss_xfrm_build_policy_del(x->tx, sizeof x->tx, next_seq(x), e->index, e->dir);
		int d = talk(x, len, NULL, NULL);
		/* Gone already (expired meanwhile) is as good as removed. */
		if (d == 0)
			(*count)++;
		else if (d != -ESRCH && d != -ENOENT)
			r = d;
	}
	if (r == 0 && o.nomem)
		r = -ENOMEM;
	free(o.ev);
	return r;
}

int ss_xfrm_remove_ours(ss_xfrm *x, unsigned *states, unsigned *policies)
{
	*states = *policies = 0;
	/* Policies first: with the states gone and the policies still there, traffic would
	 * raise ACQUIREs nobody wants. */
	int r = remove_kind(x, false, policies);
	int s = remove_kind(x, true, states);
	return r ? r : s;
}

int ss_xfrm_socket_espinudp(int fd)
{
	int off = 0, type = UDP_ENCAP_ESPINUDP;
	(void)setsockopt(fd, SOL_UDP, UDP_GRO, &off, sizeof off); /* absent before Linux 5.0: fine */
	return setsockopt(fd, SOL_UDP, UDP_ENCAP, &type, sizeof type) < 0 ? -errno : 0;
}

int ss_xfrm_socket_bypass(int fd, uint8_t family)
{
	struct xfrm_userpolicy_info p;
	memset(&p, 0, sizeof p);
	p.action = XFRM_POLICY_ALLOW;
	p.sel.family = family == SS_AF_INET6 ? AF_INET6 : AF_INET;
	p.lft.soft_byte_limit = p.lft.hard_byte_limit = XFRM_INF;
	p.lft.soft_packet_limit = p.lft.hard_packet_limit = XFRM_INF;
	int level = family == SS_AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
	int opt = family == SS_AF_INET6 ? IPV6_XFRM_POLICY : IP_XFRM_POLICY;
	for (uint8_t dir = XFRM_POLICY_IN; dir <= XFRM_POLICY_OUT; dir++) {
		p.dir = dir;
		if (setsockopt(fd, level, opt, &p, sizeof p) < 0)
			return -errno;
	}
	return 0;
}

int ss_xfrm_probe(char *why, size_t whylen)
{
	int err = 0;
	ss_xfrm *x = ss_xfrm_open(false, &err);
	if (!x) {
		snprintf(why, whylen, "no XFRM netlink: %s", strerror(-err));
		return 0;
	}
	/* A state nobody can use: TEST-NET-1 addresses (RFC 5737), the last reqid of ours. */
	ss_xfrm_sa sa = { .src = ss_addr_v4(0xc0000201), .dst = ss_addr_v4(0xc0000202),
			  .spi = 0xfffffff0u | (uint32_t)(getpid() & 0xf),
			  .reqid = SS_XFRM_REQID_BASE + SS_XFRM_REQID_SPAN - 1,
			  .enc = SS_XFRM_AES_GCM16, .enc_key_len = 20, .replay_window = 32 };
	int r = ss_xfrm_add_sa(x, &sa, false);
	if (r == -EEXIST)
		r = 0;
	if (r == 0)
		ss_xfrm_del_sa(x, &sa.dst, sa.spi);
	else
		snprintf(why, whylen, "the kernel refuses an ESP state (AES-GCM): %s", strerror(-r));
	ss_xfrm_close(x);
	return r == 0;
}
