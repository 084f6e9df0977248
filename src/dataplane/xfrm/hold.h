/* Held packets on the kernel dataplane, without the kernel's policy queue.
 *
 * The kernel's queue (net.core.xfrm_larval_drop=0) keeps at most 100 packets per policy and
 * releases them on a doubling timer (doc/dataplane.md, "Held packets on the kernel
 * dataplane"), so the kernel backend holds them itself, as the userspace backend does: the
 * table inet softsa_kernel (xfrm_notice.c) sends the outbound packets that a negotiate filter
 * covers, toward a peer without a decided state, to an NFQUEUE (no bypass flag: with softsad
 * gone they are dropped, fail closed).  This reads them (whole copies), drops the kernel's
 * copy at once, keeps ours by handle (user/held.h, the agent bounds them by bytes), and on
 * the verdict sends it again through a raw socket (IP_HDRINCL, IPv6 raw) marked so that the
 * table lets it by: a fresh route and XFRM lookup meets the peer's new policies (ESP when
 * secured, clear when soft, dropped when blocked).  An ACCEPT verdict would not: the route
 * and the XFRM bundle are looked up before the output hook, so the packet would keep the
 * queueing route it had.  A CLEAR verdict (soft, or discovery mode while negotiating) goes
 * through a socket that also bypasses XFRM, as the userspace backend's clear sends do. */
#ifndef SS_DATAPLANE_XFRM_HOLD_H
#define SS_DATAPLANE_XFRM_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/dataplane.h"

typedef struct ss_xhold ss_xhold;

/* The queue's number, the mark the table lets by (the daemon's IKE sockets carry it too), a
 * backstop on packets kept (the agent bounds its own by bytes). */
ss_xhold *ss_xhold_open(uint16_t queue, uint32_t mark, size_t max_held, char *err, size_t errlen);
void ss_xhold_close(ss_xhold *h);
int ss_xhold_fd(const ss_xhold *h);
/* Reads the queue: each packet becomes an ACQUIRE event with a handle (up to max, appended
 * to out); returns how many.  Counts in st: captured, captured_reads, unparsable, malformed. */
int ss_xhold_read(ss_xhold *h, ss_dp_event *out, size_t max, ss_dp_stats *st);
/* A verdict for a packet by handle (dataplane.h): HOLD keeps it, DROP frees it, CLEAR and
 * ESP stage it for ss_xhold_flush. -ENOENT: no such packet. */
int ss_xhold_verdict(ss_xhold *h, uint64_t handle, enum ss_dp_pkt_verdict v, ss_dp_stats *st);
/* Ends a round: sends what was staged (after the round's peer states are in the kernel, so
 * that the sends meet them) and drops the packets read this round that got no verdict
 * (undecided).  Counts released_clear, release_err, undecided. */
void ss_xhold_flush(ss_xhold *h, ss_dp_stats *st);
/* Packets kept now. */
size_t ss_xhold_count(const ss_xhold *h);

/* Fragment number k (from 0) of an IPv4 packet for a path of mtu bytes, into out (cap at
 * least mtu): its length, 0 past the last one, -1 when the packet cannot be fragmented here
 * (DF set, IP options, malformed).  A datagram larger than the MTU reaches the output hook
 * whole (the stack fragments it after), and a raw socket refuses to send it (EMSGSIZE), so
 * the backend sends it again in fragments, as the stack would have.  Pure: unit-tested. */
long ss_xhold_frag4(const uint8_t *p, size_t len, size_t mtu, unsigned k, uint8_t *out, size_t cap);

#endif
