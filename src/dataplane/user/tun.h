/* The TUN device: whole IP packets, no packet-information header (IFF_NO_PI). */
#ifndef SS_DATAPLANE_TUN_H
#define SS_DATAPLANE_TUN_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane/user/port.h"

/* Creates (or attaches to) the device, non-blocking.  Not persistent: it disappears with
 * the last descriptor, i.e. with the process.  vnet_hdr: IFF_VNET_HDR with checksum and TSO
 * offloads (reads then start with a virtio_net_hdr and may be TCP super-packets).
 * Returns the descriptor or a negative errno. */
int ss_tun_open(const char *name, bool vnet_hdr, unsigned *ifindex);

/* Reads up to n packets, stopping at the first EAGAIN: several per wake-up.  Packets that
 * are not whole IP packets (cut short by a small buffer) are dropped and counted in *bad.
 * Returns how many, or a negative errno when the first read fails otherwise. */
int ss_tun_read_batch(int fd, ss_dpu_pkt *pkts, size_t n, uint64_t *bad);
/* Writes packets, one write(2) each (a TUN has no batched write; coalescing TCP segments
 * into one GSO write is the next step with vnet_hdr); returns how many were taken. */
int ss_tun_write_batch(int fd, const ss_dpu_pkt *pkts, size_t n, bool vnet_hdr, uint64_t *errs);

/* With IFF_VNET_HDR: the TCP segments of a batch are coalesced per flow (dataplane/gro.h),
 * up to SS_TUN_GRO_RUNS flows at once, each run in its own bigcap bytes of big (which holds
 * SS_TUN_GRO_RUNS of them), and written in one GSO write each; the rest one write each.
 * Within a flow the order is kept (a packet that cannot join waits for its flow's run);
 * between flows it may change.  Interleaved streams (iperf3 -P 4) thus still coalesce.  A full
 * TUN drops the rest and counts it in *errs; *gso counts the coalesced writes.  Returns n. */
enum { SS_TUN_GRO_RUNS = 8 };
int ss_tun_write_gro(int fd, const ss_dpu_pkt *pkts, size_t n, uint8_t *big, size_t bigcap,
		     uint64_t *errs, uint64_t *gso);

#endif
