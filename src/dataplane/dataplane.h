/* The dataplane: how packets meet softsa, behind one narrow interface.
 *
 * The daemon sees only this header.  A backend (the userspace one in user/, later a kernel
 * XFRM one, and the simulator) decides how traffic that needs security reaches the daemon:
 *
 *   outbound  traffic matching a negotiate filter, to a peer that is neither soft nor
 *             blocked, is captured and read here (ss_dp_read_outbound); the daemon then
 *             encrypts it (ss_dp_send_esp), holds it, or releases it in the clear
 *             (ss_dp_release_clear).
 *   inbound   ESP arrives on ss_dp_recv_esp; the daemon decrypts it and hands the inner
 *             packet to the host stack with ss_dp_deliver.  Clear packets from a secured or
 *             blocked peer are dropped by the backend; from an unknown peer that matches a
 *             negotiate filter they are accepted or dropped per the filter and reported
 *             (ss_dp_read_notices) so that the daemon negotiates toward the sender.
 *   IKE       UDP 500/4500 always bypasses, as does anything sent on the backend's own
 *             sockets.
 *
 * The peer sets are the daemon's decisions about a remote address: secured (an SA is up:
 * clear packets from it are dropped), soft (a soft association: clear both ways, bounded by
 * a timeout the backend enforces even if the daemon forgets), blocked (dropped both ways).
 *
 * Every call returns a count (>= 0) or a negative errno; none blocks.  Wait on the
 * descriptors from ss_dp_poll_fds. */
#ifndef SS_DATAPLANE_DATAPLANE_H
#define SS_DATAPLANE_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/clock.h"

/* A negotiate filter as the daemon compiled it from the policy: traffic between local and
 * remote (same family) needs the daemon.  proto 0 = any protocol; a port 0 = any port, and
 * ports need proto TCP, UDP, UDP-Lite or SCTP. */
typedef struct ss_dp_filter {
	ss_prefix local, remote;
	uint8_t proto;
	uint16_t local_port, remote_port;
	/* Inbound clear packets from an unknown peer matching this filter: accepted (true,
	 * "accept unsecured communication, but always respond using IPsec") or dropped.  They
	 * are reported to the daemon either way. */
	bool accept_inbound_clear;
	/* What a match means (enum ss_dp_verdict).  NEGOTIATE, the default, is all of the above;
	 * PERMIT and BLOCK are a policy's permit / block rules more specific than a negotiate
	 * filter they overlap (e.g. "ICMP in the clear"): accepted, or dropped, both ways, without
	 * the daemon.  Filters are tried in the order given and the first match wins, so the
	 * daemon passes them most specific first. */
	uint8_t verdict;
} ss_dp_filter;

enum ss_dp_verdict { SS_DP_NEGOTIATE = 0, SS_DP_PERMIT, SS_DP_BLOCK };

enum ss_dp_peer_state {
	SS_DP_PEER_NONE = 0, /* unknown: outbound captured, inbound reported */
	SS_DP_PEER_SECURED,  /* outbound captured (for ESP), inbound clear dropped */
	SS_DP_PEER_SOFT,     /* clear both ways, until the timeout */
	SS_DP_PEER_BLOCKED,  /* dropped both ways */
};

/* One packet.  Receive calls fill data/len inside the caller's buf/cap; send calls read
 * data/len. */
typedef struct ss_dp_pkt {
	uint8_t *buf;
	size_t cap;
	uint8_t *data;
	size_t len;
	/* ESP only: the remote address (destination on send, source on receive), our address
	 * on receive when known, and the remote UDP port for UDP-encapsulated ESP (RFC 3948);
	 * port 0 = plain IP protocol 50. */
	ss_addr remote, local;
	uint16_t port;
	uint8_t kind; /* receive on a UDP encapsulation port: enum ss_dp_rx_kind */
} ss_dp_pkt;

enum ss_dp_rx_kind { SS_DP_RX_ESP = 0, SS_DP_RX_IKE = 1 };

/* An inbound clear packet from an unknown peer that matched a negotiate filter. */
typedef struct ss_dp_notice {
	ss_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport; /* 0 when the protocol has none or the packet is a later fragment */
	bool accepted;         /* what the backend did with it */
} ss_dp_notice;

/* A soft association as the backend holds it: what matched it (both directions) since it
 * was set, and how long until the backend lets it expire. */
typedef struct ss_dp_soft_info {
	ss_addr peer;
	uint64_t packets, bytes;
	ss_time expires_in; /* SS_NEVER without a timeout; whole seconds in the userspace backend */
} ss_dp_soft_info;

enum ss_dp_fd_role { SS_DP_FD_OUTBOUND, SS_DP_FD_ESP, SS_DP_FD_NOTICE };
typedef struct ss_dp_fd {
	int fd;
	enum ss_dp_fd_role role;
} ss_dp_fd;

/* Packets the backend drops by itself (the daemon never sees them), by reason; the names
 * are those of the agent's drop reasons where they mean the same (agent.h). */
enum ss_dp_drop {
	SS_DP_DROP_RULE_BLOCK = 0,     /* a block filter */
	SS_DP_DROP_NO_CLEAR,           /* inbound clear the rule does not accept (unknown peer) */
	SS_DP_DROP_CLEAR_FROM_SECURE,  /* clear packet from a secured peer */
	SS_DP_DROP_BLOCKED,            /* to or from a blocked peer */
	SS_DP_DROP_FAIL_CLOSED,        /* captured, but the TUN is gone: would have left clear */
	SS_DP_DROP_COUNT
};

typedef struct ss_dp_stats {
	uint64_t out_pkts, out_reads;     /* captured packets, and wake-ups that found some */
	uint64_t out_gso;                 /* TCP super-packets split (IFF_VNET_HDR offloads) */
	uint64_t released, release_err;
	uint64_t esp_tx, esp_tx_err, esp_rx;
	uint64_t esp_tx_gso;              /* UDP GSO sends, each carrying several ESP packets */
	uint64_t delivered, deliver_err;
	uint64_t deliver_gso;             /* coalesced TCP writes (IFF_VNET_HDR), several packets each */
	uint64_t notices, malformed;      /* malformed: unparsable packets dropped and counted */
	uint64_t dropped[SS_DP_DROP_COUNT]; /* by enum ss_dp_drop */
} ss_dp_stats;

typedef struct ss_dp ss_dp;

struct ss_dp_ops {
	void (*close)(ss_dp *dp);
	int (*set_filters)(ss_dp *dp, const ss_dp_filter *f, size_t n);
	int (*set_peer)(ss_dp *dp, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout);
	size_t (*poll_fds)(ss_dp *dp, ss_dp_fd *out, size_t max);
	int (*read_outbound)(ss_dp *dp, ss_dp_pkt *pkts, size_t n);
	int (*release_clear)(ss_dp *dp, const ss_dp_pkt *pkts, size_t n);
	int (*send_esp)(ss_dp *dp, const ss_dp_pkt *pkts, size_t n);
	int (*recv_esp)(ss_dp *dp, ss_dp_pkt *pkts, size_t n);
	int (*deliver)(ss_dp *dp, const ss_dp_pkt *pkts, size_t n);
	int (*read_notices)(ss_dp *dp, ss_dp_notice *out, size_t n);
	void (*get_stats)(ss_dp *dp, ss_dp_stats *out);
	int (*list_soft)(ss_dp *dp, ss_dp_soft_info *out, size_t n);
};

struct ss_dp {
	const struct ss_dp_ops *ops;
};

/* Ends everything the backend installed (the userspace one removes its table, rules,
 * routes and TUN device). */
static inline void ss_dp_close(ss_dp *dp) { if (dp) dp->ops->close(dp); }
/* Replaces the whole set of filters atomically (first match wins, in the given order). */
static inline int ss_dp_set_filters(ss_dp *dp, const ss_dp_filter *f, size_t n) { return dp->ops->set_filters(dp, f, n); }
/* Puts peer in state st (removing it from any other set); timeout applies to SOFT only
 * (SS_NEVER = until changed).  SS_DP_PEER_NONE forgets the peer. */
static inline int ss_dp_set_peer(ss_dp *dp, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout) { return dp->ops->set_peer(dp, peer, st, timeout); }
static inline size_t ss_dp_poll_fds(ss_dp *dp, ss_dp_fd *out, size_t max) { return dp->ops->poll_fds(dp, out, max); }
/* Up to n captured outbound packets (whole IP packets), as many as are ready. */
static inline int ss_dp_read_outbound(ss_dp *dp, ss_dp_pkt *p, size_t n) { return dp->ops->read_outbound(dp, p, n); }
/* Sends whole IP packets in the clear, past the capture.  Returns how many left. */
static inline int ss_dp_release_clear(ss_dp *dp, const ss_dp_pkt *p, size_t n) { return dp->ops->release_clear(dp, p, n); }
/* Sends ESP payloads (SPI first) to p->remote, over IP protocol 50, or over UDP to p->port. */
static inline int ss_dp_send_esp(ss_dp *dp, const ss_dp_pkt *p, size_t n) { return dp->ops->send_esp(dp, p, n); }
/* Up to n received ESP payloads (SPI first), or IKE on the backend's own UDP port. */
static inline int ss_dp_recv_esp(ss_dp *dp, ss_dp_pkt *p, size_t n) { return dp->ops->recv_esp(dp, p, n); }
/* Hands decrypted inner IP packets to the host stack as if they had just arrived. */
static inline int ss_dp_deliver(ss_dp *dp, const ss_dp_pkt *p, size_t n) { return dp->ops->deliver(dp, p, n); }
static inline int ss_dp_read_notices(ss_dp *dp, ss_dp_notice *out, size_t n) { return dp->ops->read_notices(dp, out, n); }
static inline void ss_dp_get_stats(ss_dp *dp, ss_dp_stats *out) { dp->ops->get_stats(dp, out); }
/* The soft associations with their traffic so far: a soft peer's packets never reach the
 * daemon, so this is how it tells an idle one from a busy one (a control-plane call: it
 * asks the kernel, milliseconds). */
static inline int ss_dp_list_soft(ss_dp *dp, ss_dp_soft_info *out, size_t n) { return dp->ops->list_soft(dp, out, n); }

const char *ss_dp_peer_state_name(enum ss_dp_peer_state st);

#endif
