/* The userspace backend's packet port: how packets meet its code (TUN capture, raw ESP
 * sockets, NFLOG notices, delivery into the TUN).  Only the userspace backend (user/backend.c)
 * and the tools that test the port itself (tests/netns/dp_driver.c, bench/dp_relay.c) see
 * this; the daemon sees dataplane/dataplane.h.
 *
 *   outbound  traffic matching a negotiate filter, to a peer that is neither soft nor
 *             blocked, is captured and read here (ss_dpu_read_outbound); the backend then
 *             encrypts it (ss_dpu_send_esp), holds it, or releases it in the clear
 *             (ss_dpu_release_clear).
 *   inbound   ESP arrives on ss_dpu_recv_esp; the backend decrypts it and hands the inner
 *             packet to the host stack with ss_dpu_deliver.  Clear packets from a secured or
 *             blocked peer are dropped; from an unknown peer that matches a negotiate filter
 *             they are accepted or dropped per the filter and reported (ss_dpu_read_notices).
 *
 * Every call returns a count (>= 0) or a negative errno; none blocks.  Wait on the
 * descriptors from ss_dpu_poll_fds. */
#ifndef SS_DATAPLANE_USER_PORT_H
#define SS_DATAPLANE_USER_PORT_H

#include "dataplane/dataplane.h"

/* One packet.  Receive calls fill data/len inside the caller's buf/cap; send calls read
 * data/len. */
typedef struct ss_dpu_pkt {
	uint8_t *buf;
	size_t cap;
	uint8_t *data;
	size_t len;
	/* ESP only: the remote address (destination on send, source on receive), our address
	 * on receive when known, and the remote UDP port for UDP-encapsulated ESP (RFC 3948);
	 * port 0 = plain IP protocol 50. */
	ss_addr remote, local;
	uint16_t port;
	uint8_t kind; /* receive on a UDP encapsulation port: enum ss_dpu_rx_kind */
	/* ESP: the outer TOS / traffic class to send with (tunnel mode carries the inner ECN
	 * and DSCP out, RFC 6040 normal mode), and the one received (raw sockets; 0 otherwise). */
	uint8_t tos;
} ss_dpu_pkt;

enum ss_dpu_rx_kind { SS_DPU_RX_ESP = 0, SS_DPU_RX_IKE = 1 };

/* An inbound clear packet from an unknown peer that matched a negotiate filter. */
typedef struct ss_dp_notice {
	ss_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport; /* 0 when the protocol has none or the packet is a later fragment */
	bool accepted;         /* what the backend did with it */
	/* A sample of inbound ESP (the kernel backend's table, prefix "softsa:s"), not clear
	 * traffic: spi is its SPI; for ESP in UDP, sport is the sender's port. */
	bool esp;
	uint32_t spi;
} ss_dp_notice;

typedef struct ss_dpu_stats {
	uint64_t out_pkts, out_reads;     /* captured packets, and wake-ups that found some */
	uint64_t out_gso;                 /* TCP super-packets split (IFF_VNET_HDR offloads) */
	uint64_t released, release_err;
	uint64_t esp_tx, esp_tx_err, esp_rx;
	uint64_t esp_tx_gso;              /* UDP GSO sends, each carrying several ESP packets */
	uint64_t delivered, deliver_err;
	uint64_t deliver_gso;             /* coalesced TCP writes (IFF_VNET_HDR), several packets each */
	uint64_t notices, malformed;      /* malformed: unparsable packets dropped and counted */
	uint64_t dropped[SS_DP_DROP_COUNT]; /* by enum ss_dp_drop, read from the kernel's counters */
} ss_dpu_stats;

typedef struct ss_dpu ss_dpu;

struct ss_dpu_ops {
	void (*close)(ss_dpu *dp);
	int (*set_filters)(ss_dpu *dp, const ss_dp_filter *f, size_t n);
	int (*set_peer)(ss_dpu *dp, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout);
	size_t (*poll_fds)(ss_dpu *dp, ss_dp_fd *out, size_t max);
	int (*read_outbound)(ss_dpu *dp, ss_dpu_pkt *pkts, size_t n);
	int (*release_clear)(ss_dpu *dp, const ss_dpu_pkt *pkts, size_t n);
	int (*send_esp)(ss_dpu *dp, const ss_dpu_pkt *pkts, size_t n);
	int (*recv_esp)(ss_dpu *dp, ss_dpu_pkt *pkts, size_t n);
	int (*deliver)(ss_dpu *dp, const ss_dpu_pkt *pkts, size_t n);
	int (*read_notices)(ss_dpu *dp, ss_dp_notice *out, size_t n);
	void (*get_stats)(ss_dpu *dp, ss_dpu_stats *out);
	int (*list_soft)(ss_dpu *dp, ss_dp_soft_info *out, size_t n);
};

struct ss_dpu {
	const struct ss_dpu_ops *ops;
};

/* Ends everything the backend installed (the userspace one removes its table, rules,
 * routes and TUN device). */
static inline void ss_dpu_close(ss_dpu *dp) { if (dp) dp->ops->close(dp); }
/* Replaces the whole set of filters atomically (first match wins, in the given order). */
static inline int ss_dpu_set_filters(ss_dpu *dp, const ss_dp_filter *f, size_t n) { return dp->ops->set_filters(dp, f, n); }
/* Puts peer in state st (removing it from any other set); timeout applies to SOFT only
 * (SS_NEVER = until changed).  SS_DP_PEER_NONE forgets the peer. */
static inline int ss_dpu_set_peer(ss_dpu *dp, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout) { return dp->ops->set_peer(dp, peer, st, timeout); }
static inline size_t ss_dpu_poll_fds(ss_dpu *dp, ss_dp_fd *out, size_t max) { return dp->ops->poll_fds(dp, out, max); }
/* Up to n captured outbound packets (whole IP packets), as many as are ready. */
static inline int ss_dpu_read_outbound(ss_dpu *dp, ss_dpu_pkt *p, size_t n) { return dp->ops->read_outbound(dp, p, n); }
/* Sends whole IP packets in the clear, past the capture.  Returns how many left. */
static inline int ss_dpu_release_clear(ss_dpu *dp, const ss_dpu_pkt *p, size_t n) { return dp->ops->release_clear(dp, p, n); }
/* Sends ESP payloads (SPI first) to p->remote, over IP protocol 50, or over UDP to p->port. */
static inline int ss_dpu_send_esp(ss_dpu *dp, const ss_dpu_pkt *p, size_t n) { return dp->ops->send_esp(dp, p, n); }
/* Up to n received ESP payloads (SPI first), or IKE on the backend's own UDP port. */
static inline int ss_dpu_recv_esp(ss_dpu *dp, ss_dpu_pkt *p, size_t n) { return dp->ops->recv_esp(dp, p, n); }
/* Hands decrypted inner IP packets to the host stack as if they had just arrived. */
static inline int ss_dpu_deliver(ss_dpu *dp, const ss_dpu_pkt *p, size_t n) { return dp->ops->deliver(dp, p, n); }
static inline int ss_dpu_read_notices(ss_dpu *dp, ss_dp_notice *out, size_t n) { return dp->ops->read_notices(dp, out, n); }
static inline void ss_dpu_get_stats(ss_dpu *dp, ss_dpu_stats *out) { dp->ops->get_stats(dp, out); }
/* The soft associations with their traffic so far: a soft peer's packets never reach the
 * daemon, so this is how it tells an idle one from a busy one (a control-plane call: it
 * asks the kernel, milliseconds). */
static inline int ss_dpu_list_soft(ss_dpu *dp, ss_dp_soft_info *out, size_t n) { return dp->ops->list_soft(dp, out, n); }

#endif
