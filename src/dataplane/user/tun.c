#include "dataplane/user/tun.h"

#include "dataplane/gro.h"
#include "dataplane/gso.h"
#include "dataplane/pkt.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

/* TUN_F_USO4 / TUN_F_USO6 (linux/if_tun.h since 6.2; Debian 12's headers are older). */
enum { SS_TUN_F_USO4 = 0x20, SS_TUN_F_USO6 = 0x40 };

int ss_tun_open(const char *name, bool vnet_hdr, unsigned *ifindex)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (vnet_hdr) {
		/* We complete checksums and split TCP and UDP ourselves (dataplane/gso.h).  UDP
		 * segmentation (USO, Linux 6.2) is asked for where the kernel has it: an older
		 * one refuses the flags with EINVAL and gets TSO alone. */
		int hsz = SS_VNET_HDR_LEN;
		unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
		if (ioctl(fd, TUNSETVNETHDRSZ, &hsz) < 0 ||
		    (ioctl(fd, TUNSETOFFLOAD, off | SS_TUN_F_USO4 | SS_TUN_F_USO6) < 0 &&
		     ioctl(fd, TUNSETOFFLOAD, off) < 0)) {
			int e = -errno;
			close(fd);
			return e;
		}
	}
	*ifindex = if_nametoindex(ifr.ifr_name);
	if (!*ifindex) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int ss_tun_read_batch(int fd, ss_dpu_pkt *pkts, size_t n, uint64_t *bad)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, pkts[got].buf, pkts[got].cap);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (got == 0 && errno != EAGAIN)
				return -errno;
			break;
		}
		/* A packet longer than the caller's buffer arrives cut short (TUN truncates
		 * silently): its IP length tells, and it is dropped and counted. */
		ss_pkt_tuple t;
		if (!ss_pkt_tuple_parse(pkts[got].buf, (size_t)r, &t) || t.total != (size_t)r) {
			(*bad)++;
			continue;
		}
		pkts[got].data = pkts[got].buf;
		pkts[got].len = (size_t)r;
		got++;
	}
	return (int)got;
}

int ss_tun_write_batch(int fd, const ss_dpu_pkt *pkts, size_t n, bool vnet_hdr, uint64_t *errs)
{
	/* With IFF_VNET_HDR every write starts with the header; all zero: no offload asked. */
	static const uint8_t none[SS_VNET_HDR_LEN];
	size_t done = 0;
	while (done < n) {
		struct iovec iov[2] = { { (void *)none, sizeof none },
					{ pkts[done].data, pkts[done].len } };
		ssize_t r = vnet_hdr ? writev(fd, iov, 2) : write(fd, pkts[done].data, pkts[done].len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r < 0)
			(*errs)++; /* a malformed packet: the kernel refused it, go on */
		done++;
	}
	return (int)done;
}

/* One writev of a virtio header and a packet; false on EAGAIN (stop), errors counted. */
static bool write_vnet(int fd, const uint8_t *hdr, const uint8_t *pkt, size_t len, unsigned segs,
		       uint64_t *errs)
{
	struct iovec iov[2] = { { (void *)hdr, SS_VNET_HDR_LEN }, { (void *)pkt, len } };
	for (;;) {
		ssize_t r = writev(fd, iov, 2);
		if (r >= 0)
			return true;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return false;
		*errs += segs;
		return true;
	}
}

/* The open runs of one delivery: one per flow at a time. */
typedef struct gro_runs {
	ss_gro g[SS_TUN_GRO_RUNS];
	ss_pkt_tuple key[SS_TUN_GRO_RUNS];
	uint64_t born[SS_TUN_GRO_RUNS]; /* 0: free; else the order it was opened in */
	uint8_t *big;
	size_t bigcap;
	uint64_t next;
} gro_runs;

static bool same_flow(const ss_pkt_tuple *a, const ss_pkt_tuple *b)
{
	return a->proto == b->proto && a->sport == b->sport && a->dport == b->dport &&
	       ss_addr_eq(&a->src, &b->src) && ss_addr_eq(&a->dst, &b->dst);
}

/* Writes run r and frees it.  A full TUN (EAGAIN) drops it and counts, as a router would. */
static void run_flush(int fd, gro_runs *R, size_t r, uint64_t *errs, uint64_t *gso)
{
	uint8_t hdr[SS_VNET_HDR_LEN];
	size_t len = ss_gro_finish(&R->g[r], hdr);
	if (!write_vnet(fd, hdr, R->big + r * R->bigcap, len, R->g[r].segs, errs))
		*errs += R->g[r].segs;
	else if (R->g[r].segs > 1)
		(*gso)++;
	R->born[r] = 0;
}

/* A free run, or the oldest one written out to make room. */
static size_t run_slot(int fd, gro_runs *R, uint64_t *errs, uint64_t *gso)
{
	size_t old = 0;
	for (size_t r = 0; r < SS_TUN_GRO_RUNS; r++) {
		if (!R->born[r])
			return r;
		if (R->born[r] < R->born[old])
			old = r;
	}
	run_flush(fd, R, old, errs, gso);
	return old;
}

int ss_tun_write_gro(int fd, const ss_dpu_pkt *pkts, size_t n, uint8_t *big, size_t bigcap,
		     uint64_t *errs, uint64_t *gso)
{
	static const uint8_t none[SS_VNET_HDR_LEN];
	gro_runs R = { .big = big, .bigcap = bigcap, .next = 1 };
	for (size_t i = 0; i < n; i++) {
		ss_pkt_tuple t;
		bool flow = ss_pkt_tuple_parse(pkts[i].data, pkts[i].len, &t) && t.proto == SS_IPPROTO_TCP;
		size_t r = SS_TUN_GRO_RUNS;
		for (size_t k = 0; flow && k < SS_TUN_GRO_RUNS && r == SS_TUN_GRO_RUNS; k++)
			if (R.born[k] && same_flow(&R.key[k], &t))
				r = k;
		if (r < SS_TUN_GRO_RUNS) {
			if (ss_gro_append(&R.g[r], pkts[i].data, pkts[i].len))
				continue;
			/* Its flow's run goes first: within a flow the order stays. */
			run_flush(fd, &R, r, errs, gso);
		}
		if (flow) {
			r = run_slot(fd, &R, errs, gso);
			if (ss_gro_start(&R.g[r], big + r * bigcap, bigcap, pkts[i].data, pkts[i].len)) {
				R.key[r] = t;
				R.born[r] = R.next++;
				continue;
			}
		}
		/* Not coalescible (a SYN, a pure ACK, not TCP): alone, after its flow's run. */
		if (!write_vnet(fd, none, pkts[i].data, pkts[i].len, 1, errs))
			(*errs)++;
	}
	/* Oldest first; between flows the order does not matter. */
	for (;;) {
		size_t old = SS_TUN_GRO_RUNS;
		for (size_t r = 0; r < SS_TUN_GRO_RUNS; r++)
			if (R.born[r] && (old == SS_TUN_GRO_RUNS || R.born[r] < R.born[old]))
				old = r;
		if (old == SS_TUN_GRO_RUNS)
			break;
		run_flush(fd, &R, old, errs, gso);
	}
	return (int)n;
}
