/* The userspace backend: ties the TUN, the nftables table, policy routing, raw sockets and
 * NFLOG together behind the ss_dpu interface.  The order of installation is what keeps it
 * failing closed; doc/dataplane.md explains it. */
#include "dataplane/user/user.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <nftables/libnftables.h>

#include "base/clock.h"
#include "base/log.h"
#include "dataplane/gso.h"
#include "dataplane/pkt.h"
#include "dataplane/user/io.h"
#include "dataplane/user/nflog.h"
#include "dataplane/user/rtnl.h"
#include "dataplane/user/ruleset.h"
#include "dataplane/user/softlist.h"
#include "dataplane/user/tun.h"

#define SUB "dataplane"

/* Metric of the blackhole default route that stays when the TUN route goes (with the TUN,
 * when the process dies): captured packets then have nowhere to go but the bin. */
enum { BLACKHOLE_METRIC = 4000000000u };

enum { NFLOG_SNAP = 128, BIG_READ = SS_VNET_HDR_LEN + 65536 };

struct user_dp {
	ss_dpu base;
	ss_dp_user_config cfg;
	int tun;
	unsigned ifindex;
	struct mnl_socket *rtnl, *nflog;
	struct nft_ctx *nft;
	int rel4, rel6, esp4, esp6, udp4, udp6;
	bool own_udp;
	/* Set once we hold the TUN: the TUN is the instance lock (a second TUNSETIFF on an
	 * attached device fails), and only its holder may flush the table, rules and routes. */
	bool owns_system;
	/* IFF_VNET_HDR: each read lands in big; a TCP super-packet is split from there into the
	 * caller's packets, across calls if it has more segments than the caller has room. */
	uint8_t *big, *gro;
	ss_tso tso;
	bool tso_pending;
	ss_dpu_stats st;
	ss_nft_soft_classes soft; /* the soft sets by idle lifetime made so far */
	ss_nft_tunnels tunnels;   /* tunnel endpoints and the state their chains say */
	ss_time drops_at;         /* last read of the drop counters (st.dropped) */
	/* nfnetlink datagrams; netlink messages are 4-byte aligned within it. */
	_Alignas(8) uint8_t nlbuf[8192];
};

void ss_dp_user_config_default(ss_dp_user_config *cfg)
{
	*cfg = (ss_dp_user_config){
		.tun_mtu = 1400,
		.capture_mark = 0x00100000,
		.bypass_mark = 0x00200000,
		.route_table = 0x5353, /* "SS" */
		.rule_priority = 1000,
		.nflog_group = 0x5353,
		.notice_rate = 10,
		.esp_udp_fd4 = -1,
		.esp_udp_fd6 = -1,
		.ipv6 = true,
	};
	snprintf(cfg->tun_name, sizeof cfg->tun_name, "%s", SS_DP_TUN_DEFAULT);
}

static void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Runs nft commands as one atomic transaction. */
static int nft_run(struct nft_ctx *nft, ss_sb *sb, char *err, size_t errlen)
{
	if (sb->err) {
		ss_sb_free(sb);
		errf(err, errlen, "out of memory building nftables commands");
		return -ENOMEM;
	}
	int r = nft_run_cmd_from_buffer(nft, sb->p ? sb->p : "");
	if (r != 0) {
		const char *e = nft_ctx_get_error_buffer(nft);
		errf(err, errlen, "nftables refused the commands: %s", e ? e : "(no message)");
		SS_DEBUG(SUB, "nft input was:\n%s", sb->p);
	}
	ss_sb_free(sb);
	return r ? -EIO : 0;
}

static struct nft_ctx *nft_new(void)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (nft) {
		nft_ctx_buffer_output(nft);
		nft_ctx_buffer_error(nft);
	}
	return nft;
}

static bool cfg_ok(const ss_dp_user_config *c, char *err, size_t errlen)
{
	if (!c->tun_name[0] || strlen(c->tun_name) >= 16 || strchr(c->tun_name, '"')) {
		errf(err, errlen, "bad TUN device name");
		return false;
	}
	if (!c->capture_mark || !c->bypass_mark || (c->capture_mark & c->bypass_mark)) {
		errf(err, errlen, "capture and bypass marks must be non-zero and disjoint");
		return false;
	}
	/* 0 is "unspecified"; 253, 254 and 255 are the kernel's default, main and local. */
	if (c->route_table == 0 || (c->route_table >= 253 && c->route_table <= 255)) {
		errf(err, errlen, "route table %u is reserved", c->route_table);
		return false;
	}
	return true;
}

int ss_dp_user_flush(const ss_dp_user_config *cfg, char *err, size_t errlen)
{
	struct nft_ctx *nft = nft_new();
	struct mnl_socket *nl = ss_rtnl_open();
	int r = 0;
	if (!nft || !nl) {
		r = errno ? -errno : -ENOMEM;
		errf(err, errlen, "cannot open netlink: %s", strerror(-r));
	} else {
		ss_sb sb = { 0 };
		ss_nft_delete_table(&sb);
		r = nft_run(nft, &sb, err, errlen);
		ss_rtnl_flush(nl, cfg->capture_mark, cfg->route_table, cfg->rule_priority);
	}
	if (nft)
		nft_ctx_free(nft);
	ss_rtnl_close(nl);
	return r;
}

/* The kernel's reverse-path filter would drop decrypted packets we write into the TUN
 * (their source is routed elsewhere); turn it off for the TUN.  The effective value is the
 * larger of "all" and the device's, so say so when "all" keeps it on. */
static void rp_filter_off(const char *dev)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/rp_filter", dev);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "0", 1) != 1)
			SS_WARN(SUB, "cannot write %s: %s", path, strerror(errno));
		close(fd);
	}
	char v = '0';
	fd = open("/proc/sys/net/ipv4/conf/all/rp_filter", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &v, 1) != 1)
			v = '0';
		close(fd);
	}
	if (v != '0')
		SS_WARN(SUB, "net.ipv4.conf.all.rp_filter=%c: decrypted IPv4 packets may be dropped", v);
}

/* A host (or namespace) with IPv6 turned off refuses IPv6 routes and rules: run IPv4 only
 * there rather than not at all. */
static bool ipv6_disabled(void)
{
	char v = '0';
	int fd = open("/proc/sys/net/ipv6/conf/all/disable_ipv6", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true; /* no IPv6 in this kernel */
	if (read(fd, &v, 1) != 1)
		v = '0';
	close(fd);
	return v == '1';
}

static void teardown(struct user_dp *d)
{
	if (d->nft && d->owns_system) {
		ss_sb sb = { 0 };
		ss_nft_delete_table(&sb);
		nft_run(d->nft, &sb, NULL, 0);
	}
	if (d->nft)
		nft_ctx_free(d->nft);
	if (d->rtnl && d->owns_system)
		ss_rtnl_flush(d->rtnl, d->cfg.capture_mark, d->cfg.route_table, d->cfg.rule_priority);
	ss_rtnl_close(d->rtnl);
	ss_nflog_close(d->nflog, d->cfg.nflog_group);
	free(d->big);
	free(d->gro);
	int *fds[] = { &d->tun, &d->rel4, &d->rel6, &d->esp4, &d->esp6 };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	if (d->own_udp) {
		if (d->udp4 >= 0)
			close(d->udp4);
		if (d->udp6 >= 0)
			close(d->udp6);
	}
	free(d);
}

/* Routing first, table last: the nftables transaction that replaces a leftover table with
 * ours is atomic, and until it commits the leftover (if any) still guards. */
static int install_routing(struct user_dp *d, char *err, size_t errlen)
{
	const ss_dp_user_config *c = &d->cfg;
	int r = c->ipv6 ? ss_rtnl_link_no_ipv6_addr(d->rtnl, d->ifindex) : 0;
	if (r < 0)
		SS_WARN(SUB, "cannot turn off IPv6 addresses on %s: %s", c->tun_name, strerror(-r));
	r = ss_rtnl_link_up(d->rtnl, d->ifindex, (unsigned)c->tun_mtu);
	if (r < 0) {
		errf(err, errlen, "cannot bring %s up: %s", c->tun_name, strerror(-r));
		return r;
	}
	rp_filter_off(c->tun_name);
	int fams[2] = { AF_INET, AF_INET6 };
	for (int i = 0; i < (c->ipv6 ? 2 : 1); i++) {
		const char *what = "route";
		r = ss_rtnl_default_route(d->rtnl, true, fams[i], c->route_table, d->ifindex, 0);
		if (r == 0)
			r = ss_rtnl_default_route(d->rtnl, true, fams[i], c->route_table, 0, BLACKHOLE_METRIC);
		if (r == 0) {
			what = "rule";
			r = ss_rtnl_rule(d->rtnl, true, fams[i], c->capture_mark, c->route_table,
					 c->rule_priority);
		}
		if (r < 0) {
			errf(err, errlen, "cannot add the IPv%d policy %s (table %u): %s",
			     fams[i] == AF_INET ? 4 : 6, what, c->route_table, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int open_sockets(struct user_dp *d, char *err, size_t errlen)
{
	const ss_dp_user_config *c = &d->cfg;
	uint32_t m = c->bypass_mark;
	struct { int *fd; int fam, proto; const char *what; } raw[] = {
		{ &d->rel4, AF_INET, IPPROTO_RAW, "IPv4 raw" },
		{ &d->esp4, AF_INET, IPPROTO_ESP, "IPv4 ESP" },
		{ &d->rel6, AF_INET6, IPPROTO_RAW, "IPv6 raw" },
		{ &d->esp6, AF_INET6, IPPROTO_ESP, "IPv6 ESP" },
	};
	for (size_t i = 0; i < (c->ipv6 ? 4u : 2u); i++) {
		*raw[i].fd = ss_io_raw_socket(raw[i].fam, raw[i].proto, m);
		if (*raw[i].fd < 0) {
			errf(err, errlen, "cannot open the %s socket: %s", raw[i].what, strerror(-*raw[i].fd));
			return *raw[i].fd;
		}
	}
	if (c->esp_udp_port) {
		d->own_udp = true;
		d->udp4 = ss_io_udp_socket(AF_INET, c->esp_udp_port, m);
		if (d->udp4 >= 0 && c->ipv6)
			d->udp6 = ss_io_udp_socket(AF_INET6, c->esp_udp_port, m);
		int r = d->udp4 < 0 ? d->udp4 : (c->ipv6 && d->udp6 < 0) ? d->udp6 : 0;
		if (r < 0) {
			errf(err, errlen, "cannot bind UDP port %u: %s", c->esp_udp_port, strerror(-r));
			return r;
		}
	} else {
		d->udp4 = c->esp_udp_fd4;
		d->udp6 = c->esp_udp_fd6;
	}
	return 0;
}

static const struct ss_dpu_ops user_ops;

int ss_dp_user_open(const ss_dp_user_config *cfg, ss_dpu **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!cfg_ok(cfg, err, errlen))
		return -EINVAL;
	struct user_dp *d = calloc(1, sizeof *d);
	if (!d)
		return -ENOMEM;
	d->base.ops = &user_ops;
	d->cfg = *cfg;
	if (d->cfg.ipv6 && ipv6_disabled()) {
		SS_WARN(SUB, "IPv6 is disabled on this host: the dataplane runs IPv4 only");
		d->cfg.ipv6 = false;
	}
	d->tun = d->rel4 = d->rel6 = d->esp4 = d->esp6 = d->udp4 = d->udp6 = -1;
	int r = -ENOMEM;
	d->nft = nft_new();
	d->rtnl = ss_rtnl_open();
	if (!d->nft || !d->rtnl) {
		r = errno ? -errno : -ENOMEM;
		errf(err, errlen, "cannot open netlink: %s", strerror(-r));
		goto fail;
	}
	if (cfg->vnet_hdr && (!(d->big = malloc(BIG_READ)) || !(d->gro = malloc((size_t)SS_TUN_GRO_RUNS * BIG_READ)))) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	/* The TUN first: if another instance holds it, fail before touching its state; if we
	 * cannot make it at all, a crashed run's leftovers keep guarding. */
	d->tun = ss_tun_open(cfg->tun_name, cfg->vnet_hdr, &d->ifindex);
	if (d->tun < 0) {
		r = d->tun;
		errf(err, errlen, "cannot create TUN device %s: %s%s", cfg->tun_name, strerror(-r),
		     r == -EINVAL ? " (is the name taken by a device of another kind?)"
		     : r == -EBUSY ? " (is another instance running?)"
		     : r == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
		goto fail;
	}
	d->owns_system = true;
	ss_rtnl_flush(d->rtnl, cfg->capture_mark, cfg->route_table, cfg->rule_priority);
	if ((r = install_routing(d, err, errlen)) < 0)
		goto fail;
	ss_sb sb = { 0 };
	ss_nft_table(&sb, cfg);
	if ((r = nft_run(d->nft, &sb, err, errlen)) < 0)
		goto fail;
	if ((r = open_sockets(d, err, errlen)) < 0)
		goto fail;
	d->nflog = ss_nflog_open(cfg->nflog_group, NFLOG_SNAP, &r);
	if (!d->nflog) {
		errf(err, errlen, "cannot bind nfnetlink_log group %u: %s", cfg->nflog_group, strerror(-r));
		goto fail;
	}
	SS_INFO(SUB, "userspace dataplane up: tun %s, table inet %s, fwmark 0x%x -> table %u",
		cfg->tun_name, SS_DP_TABLE_NAME, cfg->capture_mark, cfg->route_table);
	*out = &d->base;
	return 0;
fail:
	teardown(d);
	return r;
}

static struct user_dp *U(ss_dpu *dp) { return (struct user_dp *)dp; }

static void user_close(ss_dpu *dp)
{
	SS_INFO(SUB, "userspace dataplane down: table, rules, routes and %s removed", U(dp)->cfg.tun_name);
	teardown(U(dp));
}

static int user_set_filters(ss_dpu *dp, const ss_dp_filter *f, size_t n)
{
	ss_sb sb = { 0 };
	const char *why = NULL;
	struct user_dp *d = U(dp);
	if (!ss_nft_filters_tunnels(&sb, &d->cfg, &d->tunnels, f, n, &why)) {
		ss_sb_free(&sb);
		SS_WARN(SUB, "negotiate filters refused: %s", why);
		return -EINVAL;
	}
	char err[512];
	int r = nft_run(d->nft, &sb, err, sizeof err);
	if (r < 0)
		SS_ERR(SUB, "%s", err);
	else
		ss_nft_tunnel_commit(&d->tunnels);
	return r;
}

static int user_set_peer(ss_dpu *dp, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout)
{
	struct user_dp *d = U(dp);
	ss_sb sb = { 0 };
	size_t classes = d->soft.n;
	/* A soft peer's timeout is its idle lifetime (the agent sends now + lifetime). */
	int cls = -1;
	if (st == SS_DP_PEER_SOFT && timeout != SS_NEVER && (cls = ss_nft_soft_class(&sb, &d->soft, timeout)) < 0)
		SS_WARN(SUB, "no soft set for an idle lifetime of %llu ms: its timeout is fixed",
			(unsigned long long)timeout);
	if (!ss_nft_peer(&sb, peer, st, timeout, &d->soft)) {
		ss_sb_free(&sb);
		d->soft.n = classes;
		return -EINVAL;
	}
	/* A tunnel endpoint's state also decides for the networks behind it. */
	int ti = ss_nft_tunnel_find(&d->tunnels, peer);
	ss_nft_tunnel was = { 0 };
	if (ti >= 0) {
		was = d->tunnels.tun[ti];
		d->tunnels.tun[ti] = (ss_nft_tunnel){ .st = (uint8_t)st, .soft_secs = cls >= 0 ? d->soft.ms[cls] / 1000 : 0 };
		ss_nft_tunnel_peer(&sb, &d->tunnels, (size_t)ti);
	}
	char err[512];
	int r = nft_run(d->nft, &sb, err, sizeof err);
	if (r < 0) {
		SS_ERR(SUB, "%s", err);
		d->soft.n = classes; /* the batch is atomic: a new class was not made either */
		if (ti >= 0)
			d->tunnels.tun[ti] = was;
	}
	return r;
}

static size_t user_poll_fds(ss_dpu *dp, ss_dp_fd *out, size_t max)
{
	struct user_dp *d = U(dp);
	ss_dp_fd all[] = {
		{ d->tun, SS_DP_FD_OUTBOUND },
		{ mnl_socket_get_fd(d->nflog), SS_DP_FD_NOTICE },
		{ d->esp4, SS_DP_FD_ESP },
		{ d->esp6, SS_DP_FD_ESP },
		{ d->own_udp ? d->udp4 : -1, SS_DP_FD_ESP },
		{ d->own_udp ? d->udp6 : -1, SS_DP_FD_ESP },
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof all / sizeof all[0] && n < max; i++)
		if (all[i].fd >= 0)
			out[n++] = all[i];
	return n;
}

/* IFF_VNET_HDR reads: one packet or TCP/UDP super-packet per read, offloads finished here. */
static int read_outbound_vnet(struct user_dp *d, ss_dpu_pkt *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		if (d->tso_pending) {
			size_t len = ss_tso_next(&d->tso, p[got].buf, p[got].cap);
			if (len == 0) {
				if (!ss_tso_done(&d->tso))
					d->st.malformed++; /* a segment larger than the caller's buffer */
				d->tso_pending = false;
				continue;
			}
			p[got].data = p[got].buf;
			p[got].len = len;
			got++;
			d->tso_pending = !ss_tso_done(&d->tso);
			continue;
		}
		ssize_t r = read(d->tun, d->big, BIG_READ);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (got == 0 && errno != EAGAIN)
				return -errno;
			break;
		}
		size_t off = 0, plen = 0;
		switch (ss_vnet_frame(&d->tso, d->big, (size_t)r, &off, &plen)) {
		case SS_VNET_SPLIT:
			d->tso_pending = true;
			d->st.out_gso++;
			break;
		case SS_VNET_ONE:
			if (plen > p[got].cap) { /* longer than the caller's buffer */
				d->st.malformed++;
				break;
			}
			memcpy(p[got].buf, d->big + off, plen);
			p[got].data = p[got].buf;
			p[got].len = plen;
			got++;
			break;
		case SS_VNET_BAD:
			d->st.malformed++;
			break;
		}
	}
	return (int)got;
}

static int user_read_outbound(ss_dpu *dp, ss_dpu_pkt *p, size_t n)
{
	struct user_dp *d = U(dp);
	int r = d->cfg.vnet_hdr ? read_outbound_vnet(d, p, n) : ss_tun_read_batch(d->tun, p, n, &d->st.malformed);
	if (r > 0) {
		d->st.out_pkts += (uint64_t)r;
		d->st.out_reads++;
	}
	return r;
}

static int user_release_clear(ss_dpu *dp, const ss_dpu_pkt *p, size_t n)
{
	struct user_dp *d = U(dp);
	uint64_t errs = 0;
	size_t k = ss_io_send_whole(d->rel4, d->rel6, p, n, &errs);
	d->st.released += k - errs;
	d->st.release_err += errs;
	return (int)k;
}

static int user_send_esp(ss_dpu *dp, const ss_dpu_pkt *p, size_t n)
{
	struct user_dp *d = U(dp);
	uint64_t errs = 0;
	/* Runs of packets for one socket go in one sendmmsg. */
	size_t i = 0;
	while (i < n) {
		bool v4 = p[i].remote.family == SS_AF_INET;
		int fd = p[i].port ? (v4 ? d->udp4 : d->udp6) : (v4 ? d->esp4 : d->esp6);
		size_t j = i + 1;
		while (j < n && p[j].remote.family == p[i].remote.family && !p[j].port == !p[i].port)
			j++;
		if (fd < 0 || (p[i].remote.family != SS_AF_INET && p[i].remote.family != SS_AF_INET6))
			errs += j - i;
		else if (p[i].port)
			ss_io_send_udp(fd, p + i, j - i, &errs, &d->st.esp_tx_gso);
		else
			ss_io_send_to(fd, p + i, j - i, &errs);
		i = j;
	}
	d->st.esp_tx += n - errs;
	d->st.esp_tx_err += errs;
	return (int)n;
}

static int user_recv_esp(ss_dpu *dp, ss_dpu_pkt *p, size_t n)
{
	struct user_dp *d = U(dp);
	struct { int fd; enum ss_io_rx how; } src[] = {
		{ d->esp4, SS_IO_RX_RAW4 }, { d->esp6, SS_IO_RX_RAW6 },
		{ d->own_udp ? d->udp4 : -1, SS_IO_RX_UDP }, { d->own_udp ? d->udp6 : -1, SS_IO_RX_UDP },
	};
	size_t got = 0;
	for (size_t i = 0; i < sizeof src / sizeof src[0] && got < n; i++) {
		if (src[i].fd < 0)
			continue;
		int r = ss_io_recv(src[i].fd, src[i].how, p + got, n - got, &d->st.malformed);
		if (r > 0)
			got += (size_t)r;
	}
	d->st.esp_rx += got;
	return (int)got;
}

static int user_deliver(ss_dpu *dp, const ss_dpu_pkt *p, size_t n)
{
	struct user_dp *d = U(dp);
	uint64_t errs = 0;
	int k = d->cfg.vnet_hdr
		? ss_tun_write_gro(d->tun, p, n, d->gro, BIG_READ, &errs, &d->st.deliver_gso)
		: ss_tun_write_batch(d->tun, p, n, false, &errs);
	d->st.delivered += (uint64_t)k - errs;
	d->st.deliver_err += errs;
	return k;
}

static int user_read_notices(ss_dpu *dp, ss_dp_notice *out, size_t n)
{
	struct user_dp *d = U(dp);
	size_t got = 0;
	while (got < n) {
		ssize_t r = recv(mnl_socket_get_fd(d->nflog), d->nlbuf, sizeof d->nlbuf, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ENOBUFS) {
			/* The kernel dropped notices: the daemon will hear from those peers again. */
			SS_WARN(SUB, "nflog receive buffer overrun: notices lost");
			continue;
		}
		if (r <= 0)
			break;
		got += ss_nflog_parse(d->nlbuf, (size_t)r, out + got, n - got, &d->st.malformed);
	}
	d->st.notices += got;
	return (int)got;
}

/* The drop counters live in the kernel (the daemon never sees those packets).  Reading
 * them costs a netlink dump, so at most once a second: a client asking for stats in a loop
 * must not keep the daemon from its packets. */
#define DROPS_EVERY_MS 1000

static void read_drops(struct user_dp *d)
{
	ss_time now = ss_now_ms();
	if (d->drops_at && now - d->drops_at < DROPS_EVERY_MS)
		return;
	d->drops_at = now;
	struct nft_ctx *nft = nft_new();
	if (!nft)
		return;
	nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
	char cmd[64];
	snprintf(cmd, sizeof cmd, "list counters table inet %s", SS_DP_TABLE_NAME);
	if (nft_run_cmd_from_buffer(nft, cmd) == 0)
		ss_nft_parse_counters_json(nft_ctx_get_output_buffer(nft), ss_nft_drop_counter, SS_DP_DROP_COUNT,
					   d->st.dropped);
	nft_ctx_free(nft);
}

static void user_get_stats(ss_dpu *dp, ss_dpu_stats *out)
{
	read_drops(U(dp));
	*out = U(dp)->st;
}

static int user_list_soft(ss_dpu *dp, ss_dp_soft_info *out, size_t n)
{
	/* A context of its own: JSON output is a property of the context. */
	struct nft_ctx *nft = nft_new();
	if (!nft)
		return -ENOMEM;
	nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
	const struct user_dp *d = U(dp);
	int total = 0;
	for (size_t c = 0; c <= d->soft.n && total >= 0; c++) {
		for (int fam = 4; fam <= 6 && total >= 0; fam += 2) {
			char cmd[80];
			if (c < d->soft.n)
				snprintf(cmd, sizeof cmd, "list set inet %s soft%d_%u", SS_DP_TABLE_NAME, fam,
					 d->soft.ms[c] / 1000);
			else
				snprintf(cmd, sizeof cmd, "list set inet %s soft%d", SS_DP_TABLE_NAME, fam);
			if (nft_run_cmd_from_buffer(nft, cmd) != 0) {
				total = -EIO;
				break;
			}
			int r = ss_nft_parse_soft_json(nft_ctx_get_output_buffer(nft), out + total, n - (size_t)total);
			/* In a class set a packet is counted twice, by the lookup and by the update
			 * statement of the same rule (ruleset.c); tests/netns/e2e_soft_traffic.sh
			 * checks the halved counts against the datagrams sent. */
			for (int k = 0; c < d->soft.n && k < r; k++) {
				out[total + k].packets /= 2;
				out[total + k].bytes /= 2;
			}
			total = r < 0 ? -EIO : total + r;
		}
	}
	nft_ctx_free(nft);
	return total;
}

static const struct ss_dpu_ops user_ops = {
	.close = user_close,
	.set_filters = user_set_filters,
	.set_peer = user_set_peer,
	.poll_fds = user_poll_fds,
	.read_outbound = user_read_outbound,
	.release_clear = user_release_clear,
	.send_esp = user_send_esp,
	.recv_esp = user_recv_esp,
	.deliver = user_deliver,
	.read_notices = user_read_notices,
	.get_stats = user_get_stats,
	.list_soft = user_list_soft,
};
