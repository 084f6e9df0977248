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

int ss_tun_write_gro(int fd, const ss_dpu_pkt *pkts, size_t n, uint8_t *big, size_t bigcap,
		     uint64_t *errs, uint64_t *gso)
{
	static const uint8_t none[SS_VNET_HDR_LEN];
	size_t i = 0;
	while (i < n) {
		ss_gro g;
		if (!ss_gro_start(&g, big, bigcap, pkts[i].data, pkts[i].len)) {
			if (!write_vnet(fd, none, pkts[i].data, pkts[i].len, 1, errs))
				break;
			i++;
			continue;
		}
		size_t j = i + 1;
		while (j < n && ss_gro_append(&g, pkts[j].data, pkts[j].len))
			j++;
		uint8_t hdr[SS_VNET_HDR_LEN];
		size_t len = ss_gro_finish(&g, hdr);
		if (!write_vnet(fd, hdr, big, len, g.segs, errs))
			break;
		if (g.segs > 1)
			(*gso)++;
		i = j;
	}
	return (int)i;
}
