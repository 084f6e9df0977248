/* The dataplane: where packets meet IPsec, behind one interface for every backend.
 *
 * The daemon (and the node core it drives) sees only this header.  A backend owns the packet
 * path end to end: the userspace one (user/: TUN capture, ESP in this process, raw sockets,
 * nftables + NFLOG), the kernel one (xfrm/: XFRM states and policies, ESP in the kernel).
 * Shaped after strongSwan's kernel_ipsec interface, with softsa's additions: peer states for
 * soft associations and blocked peers, negotiate filters, held packets and clear-traffic
 * notices.  doc/dataplane.md is the guide for someone writing a backend.
 *
 *   SAs       the daemon installs each direction of a CHILD SA (ss_dp_sa_add) with its keys,
 *             lifetimes, replay window, ESN, UDP encapsulation, mode and selectors; pairs
 *             them by reqid; updates addresses and ports (NAT mapping moved), queries
 *             counters, deletes.  The backend enforces lifetimes and reports them as events.
 *   peers     a remote address is secured (SAs up: clear traffic from it dropped), soft
 *             (clear both ways until an idle timeout the backend enforces), blocked (dropped
 *             both ways), or none (unknown: its traffic that matches a negotiate filter comes
 *             to the daemon as an acquire).
 *   filters   which traffic needs the daemon at all (negotiate), or is permitted / blocked
 *             outright, most specific first.
 *   events    back to the daemon: acquire (traffic needs a decision, with its 5-tuple and,
 *             when the backend keeps the packet, a handle), SA lifetime soft / hard, held
 *             packets released or dropped, inbound clear notices, unknown SPI.
 *
 * Event delivery: the daemon polls the descriptors of ss_dp_poll_fds, calls
 * ss_dp_process(now) when one is readable or ss_dp_deadline() has passed, then drains
 * ss_dp_next_event() until it returns false.  Calls the daemon makes in answer (verdicts,
 * SAs, peer states) may queue further events; the daemon drains again and finishes a round
 * with ss_dp_flush(), which sends whatever the backend staged.  Nothing blocks; every call
 * returns 0 (or a count) or a negative errno.  Not thread-safe: one thread drives it. */
#ifndef SS_DATAPLANE_DATAPLANE_H
#define SS_DATAPLANE_DATAPLANE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/clock.h"

/* ---- negotiate filters ---- */

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
	/* A tunnel rule's filter (family 0: none, transport mode): local and remote are the
	 * networks behind this gateway and behind the peer, and their traffic, forwarded or the
	 * host's own, goes through a tunnel-mode SA to this endpoint.  The endpoint is the peer
	 * of every event and peer state (ss_dp_set_peer(tunnel, ...) decides for the networks).
	 * Both backends implement it (the kernel one with one family inside and out). */
	ss_addr tunnel;
	uint16_t tcp_mss;   /* tunnel: the MSS of TCP SYNs through it is clamped to this; 0: none */
} ss_dp_filter;

enum ss_dp_verdict { SS_DP_NEGOTIATE = 0, SS_DP_PERMIT, SS_DP_BLOCK };

/* ---- peer states ---- */

enum ss_dp_peer_state {
	SS_DP_PEER_NONE = 0, /* unknown: outbound acquired, inbound clear reported */
	SS_DP_PEER_SECURED,  /* its SAs carry the traffic; inbound clear dropped */
	SS_DP_PEER_SOFT,     /* clear both ways, until the idle timeout */
	SS_DP_PEER_BLOCKED,  /* dropped both ways */
};

/* A soft association as the backend holds it: what matched it (both directions) since it
 * was set, and how long until the backend lets it expire. */
typedef struct ss_dp_soft_info {
	ss_addr peer;
	uint64_t packets, bytes;
	ss_time expires_in; /* SS_NEVER without a timeout; whole seconds in the userspace backend */
} ss_dp_soft_info;

/* ---- SAs ---- */

enum ss_dp_dir { SS_DP_IN = 0, SS_DP_OUT = 1 };
enum ss_dp_mode { SS_DP_TRANSPORT = 0, SS_DP_TUNNEL = 1 };

/* A traffic selector (RFC 7296 §3.13.1): an address range, an IP protocol (0 = any) and a
 * port range of that side; for ICMP the "port" is type << 8 | code (RFC 4301 §4.4.1.3). */
typedef struct ss_dp_ts {
	ss_addr lo, hi;
	uint8_t proto;
	uint16_t port_lo, port_hi;
} ss_dp_ts;

#define SS_DP_MAX_TS 4

/* Limits of one SA.  0 = no limit of that kind.  Soft limits raise SS_DP_EV_SA_SOFT once
 * (time to rekey), hard limits SS_DP_EV_SA_HARD (the SA stops carrying traffic: the backend
 * removes it, as the kernel does). */
typedef struct ss_dp_lifetime {
	uint64_t soft_bytes, hard_bytes;
	uint64_t soft_packets, hard_packets;
	uint32_t soft_seconds, hard_seconds; /* from installation */
} ss_dp_lifetime;

/* Which SA: the SPI is unique per direction and remote address on one host (we choose
 * inbound SPIs, the peer outbound ones). */
typedef struct ss_dp_sa_id {
	uint32_t spi;
	uint8_t dir;        /* enum ss_dp_dir */
	ss_addr local, remote;
} ss_dp_sa_id;

typedef struct ss_dp_sa {
	ss_dp_sa_id id;
	/* The CHILD SA both directions belong to (strongSwan's reqid): events carry it, and an
	 * outbound SA with a newer reqid for the same pair takes the traffic (rekeying). */
	uint32_t reqid;
	uint8_t mode;       /* enum ss_dp_mode */
	/* IKEv2 transform IDs (base/iana.h): encr AES-GCM-16 or AES-CBC, integ NONE with GCM. */
	uint16_t encr, integ;
	const uint8_t *encr_key;  /* GCM: key || 4-byte salt (RFC 4106 §8.1) */
	size_t encr_key_len;
	const uint8_t *integ_key;
	size_t integ_key_len;
	/* UDP encapsulation (RFC 3948): our and the peer's port, both 0 for plain ESP. */
	uint16_t encap_local_port, encap_remote_port;
	bool esn;               /* 64-bit sequence numbers (RFC 4303 §2.2.1) */
	uint32_t replay_window; /* inbound: in packets; 0 = the backend's default (>= 64) */
	/* Traffic selectors of our side and the peer's; none = the outer addresses (transport
	 * mode between the two hosts). */
	ss_dp_ts local_ts[SS_DP_MAX_TS], remote_ts[SS_DP_MAX_TS];
	uint8_t n_local_ts, n_remote_ts;
	ss_dp_lifetime life;
} ss_dp_sa;

typedef struct ss_dp_sa_counters {
	uint64_t packets, bytes;       /* inner bytes */
	uint64_t replay_fail, auth_fail;
	ss_time installed, last_used;  /* last_used 0: never */
} ss_dp_sa_counters;

/* ---- events ---- */

enum ss_dp_event_kind {
	/* Traffic from local to remote matched a negotiate filter and the peer is neither
	 * secured with a working SA, nor soft, nor blocked: the daemon decides.  handle != 0:
	 * the backend keeps the packet until a verdict (ss_dp_verdict); 0: the backend keeps
	 * none of its own (the kernel queues it in its policy, released by the SA or the peer
	 * state that follows). */
	SS_DP_EV_ACQUIRE = 1,
	/* An inbound clear packet from an unknown peer that matched a negotiate filter; the
	 * backend has already accepted or dropped it (accepted), handle 0.  A backend that
	 * passes inbound packets through the daemon instead (the simulator's) gives a handle
	 * and waits for the verdict: CLEAR delivers the packet, DROP drops it. */
	SS_DP_EV_INBOUND_CLEAR,
	/* An SA reached a soft limit (reason: enum ss_dp_expire_why): rekey it. */
	SS_DP_EV_SA_SOFT,
	/* An SA reached a hard limit and is gone from the backend. */
	SS_DP_EV_SA_HARD,
	/* ESP arrived for an SPI the backend does not have: a peer that still uses an SA we lost
	 * (restart) or deleted.  Unauthenticated, a hint only; rate-limited by the backend. */
	SS_DP_EV_UNKNOWN_SPI,
	/* A packet the daemon holds (handle) or the backend queued left without the daemon's
	 * verdict: released (the kernel's queue, by an SA) or dropped (the backend's own limit).
	 * The agent forgets the handle. */
	SS_DP_EV_HELD_RELEASED,
	SS_DP_EV_HELD_DROPPED,
};

enum ss_dp_expire_why { SS_DP_WHY_TIME = 1, SS_DP_WHY_BYTES, SS_DP_WHY_PACKETS, SS_DP_WHY_SEQ };

typedef struct ss_dp_event {
	uint8_t kind;       /* enum ss_dp_event_kind */
	ss_addr local, remote;
	/* ACQUIRE and INBOUND_CLEAR: the packet's 5-tuple (ports 0 when the protocol has none or
	 * the packet is a later fragment) and length; src is remote for inbound, local for
	 * outbound. */
	uint8_t proto;
	uint16_t sport, dport;
	uint32_t len;
	uint64_t handle;    /* ACQUIRE, HELD_*: the packet; 0 = none kept */
	bool accepted;      /* INBOUND_CLEAR: what the backend did with it */
	/* SA_SOFT, SA_HARD, UNKNOWN_SPI: which SA (UNKNOWN_SPI: the SPI, dir IN, the sender's
	 * address and our address it came to, remote UDP port in port) */
	ss_dp_sa_id sa;
	uint32_t reqid;
	uint8_t why;        /* enum ss_dp_expire_why */
	uint16_t port;
} ss_dp_event;

/* What the daemon does with an acquired packet. */
enum ss_dp_pkt_verdict {
	SS_DP_PKT_HOLD = 1,  /* keep it (beyond this round) until a later verdict */
	SS_DP_PKT_CLEAR,     /* send it unencrypted, past the capture */
	SS_DP_PKT_ESP,       /* send it through the newest outbound SA of its pair */
	SS_DP_PKT_DROP,
};

/* ---- the backend ---- */

enum ss_dp_fd_role { SS_DP_FD_OUTBOUND, SS_DP_FD_ESP, SS_DP_FD_NOTICE, SS_DP_FD_EVENTS };
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

/* Counters of the whole backend, for `softsa stats` and Prometheus.  A backend leaves at 0
 * what it does not count. */
typedef struct ss_dp_stats {
	uint64_t captured, captured_reads; /* acquired packets, and wake-ups that found some */
	uint64_t unparsable;               /* captured but not an IP packet: dropped */
	uint64_t released_clear, release_err;
	uint64_t esp_out_pkts, esp_out_bytes, esp_out_err, no_sa_out;
	uint64_t esp_in_pkts, esp_in_bytes;
	uint64_t esp_in_err[16];           /* inbound ESP dropped, by enum ss_esp_result */
	uint64_t esp_tx, esp_tx_err, esp_rx; /* ESP datagrams on the wire */
	uint64_t delivered, deliver_err;
	uint64_t held_now, held_refused, undecided;
	uint64_t notices, malformed, unknown_spi;
	uint64_t port_captured, port_released; /* userspace: the packet port's own counts */
	uint64_t gso_split, gso_sent, gro_merged;
	uint64_t too_big;                  /* tunnel: over the path MTU with DF, ICMP sent back */
	uint64_t dropped[SS_DP_DROP_COUNT]; /* by enum ss_dp_drop: what the backend drops by itself */
} ss_dp_stats;

/* Who runs, and why: `softsa status` shows it. */
typedef struct ss_dp_info {
	const char *name;   /* "user", "kernel" */
	char why[160];      /* e.g. "chosen with --dataplane user" / "auto: kernel ESP works" */
	bool holds_packets; /* ACQUIRE events carry handles (the backend keeps the bytes) */
} ss_dp_info;

typedef struct ss_dp ss_dp;

struct ss_dp_ops {
	void (*close)(ss_dp *dp);
	void (*info)(ss_dp *dp, ss_dp_info *out);
	size_t (*poll_fds)(ss_dp *dp, ss_dp_fd *out, size_t max);
	int (*process)(ss_dp *dp, int fd, ss_time now);
	ss_time (*deadline)(ss_dp *dp);
	bool (*next_event)(ss_dp *dp, ss_dp_event *out);
	int (*flush)(ss_dp *dp, ss_time now);
	int (*set_filters)(ss_dp *dp, const ss_dp_filter *f, size_t n);
	int (*set_peer)(ss_dp *dp, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout);
	int (*list_soft)(ss_dp *dp, ss_dp_soft_info *out, size_t n);
	int (*sa_add)(ss_dp *dp, const ss_dp_sa *sa, ss_time now);
	int (*sa_update)(ss_dp *dp, const ss_dp_sa_id *id, const ss_addr *new_remote,
			 uint16_t new_encap_remote_port);
	int (*sa_del)(ss_dp *dp, const ss_dp_sa_id *id);
	int (*sa_query)(ss_dp *dp, const ss_dp_sa_id *id, ss_dp_sa_counters *out);
	int (*verdict)(ss_dp *dp, uint64_t handle, enum ss_dp_pkt_verdict v, ss_time now);
	/* Optional (NULL = not needed by this backend). */
	int (*esp_input)(ss_dp *dp, const ss_addr *local, const ss_addr *remote, uint16_t lport,
			 uint16_t rport, const uint8_t *p, size_t len);
	/* family: SS_AF_INET or SS_AF_INET6 (base/addr.h), not the socket API's AF_*. */
	int (*bypass_socket)(ss_dp *dp, int fd, enum ss_family family);
	void (*get_stats)(ss_dp *dp, ss_dp_stats *out);
};

struct ss_dp {
	const struct ss_dp_ops *ops;
};

/* Removes everything the backend installed (the userspace one its table, rules, routes and
 * TUN; the kernel one only its own states and policies). */
static inline void ss_dp_close(ss_dp *dp) { if (dp) dp->ops->close(dp); }
static inline void ss_dp_info_get(ss_dp *dp, ss_dp_info *out) { dp->ops->info(dp, out); }
static inline size_t ss_dp_poll_fds(ss_dp *dp, ss_dp_fd *out, size_t max) { return dp->ops->poll_fds(dp, out, max); }
/* Does the work fd (one of poll_fds, or -1 for timers only) has for it, without blocking;
 * events it produces wait in ss_dp_next_event.  Negative: fd itself failed (e.g. the TUN was
 * deleted); the daemon stops watching it. */
static inline int ss_dp_process(ss_dp *dp, int fd, ss_time now) { return dp->ops->process(dp, fd, now); }
/* When the backend's own timers (lifetimes, held-packet limits) next need ss_dp_process. */
static inline ss_time ss_dp_deadline(ss_dp *dp) { return dp->ops->deadline(dp); }
static inline bool ss_dp_next_event(ss_dp *dp, ss_dp_event *out) { return dp->ops->next_event(dp, out); }
/* Ends a round: sends what verdicts staged; acquired packets still without a verdict are
 * dropped (counted as undecided). */
static inline int ss_dp_flush(ss_dp *dp, ss_time now) { return dp->ops->flush(dp, now); }
/* Replaces the whole set of filters atomically (first match wins, in the given order). */
static inline int ss_dp_set_filters(ss_dp *dp, const ss_dp_filter *f, size_t n) { return dp->ops->set_filters(dp, f, n); }
/* Puts peer in state st (removing it from any other set); timeout applies to SOFT only
 * (SS_NEVER = until changed).  SS_DP_PEER_NONE forgets the peer. */
static inline int ss_dp_set_peer(ss_dp *dp, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout) { return dp->ops->set_peer(dp, peer, st, timeout); }
/* The soft associations with their traffic so far: a soft peer's packets never reach the
 * daemon, so this is how it tells an idle one from a busy one. */
static inline int ss_dp_list_soft(ss_dp *dp, ss_dp_soft_info *out, size_t n) { return dp->ops->list_soft(dp, out, n); }
/* Installs one direction of an SA (the keys are copied; the caller wipes its own).  -EEXIST
 * for an SPI already installed, -EINVAL for transforms or keys the backend cannot use. */
static inline int ss_dp_sa_add(ss_dp *dp, const ss_dp_sa *sa, ss_time now) { return dp->ops->sa_add(dp, sa, now); }
/* The peer's address or UDP port changed (NAT mapping, RFC 7296 §2.23). */
static inline int ss_dp_sa_update(ss_dp *dp, const ss_dp_sa_id *id, const ss_addr *new_remote, uint16_t port) { return dp->ops->sa_update(dp, id, new_remote, port); }
static inline int ss_dp_sa_del(ss_dp *dp, const ss_dp_sa_id *id) { return dp->ops->sa_del(dp, id); }
static inline int ss_dp_sa_query(ss_dp *dp, const ss_dp_sa_id *id, ss_dp_sa_counters *out) { return dp->ops->sa_query(dp, id, out); }
/* The verdict for an acquired packet (by its handle).  -ENOENT: no such packet (already
 * decided, or dropped by the backend's own limits).  ESP without an SA drops it (no_sa_out). */
static inline int ss_dp_verdict(ss_dp *dp, uint64_t handle, enum ss_dp_pkt_verdict v, ss_time now) { return dp->ops->verdict(dp, handle, v, now); }
/* ESP the daemon received on its own NAT-T socket (RFC 3948, non-ESP marker absent), SPI
 * first.  -EOPNOTSUPP where the kernel takes it from the socket itself. */
static inline int ss_dp_esp_input(ss_dp *dp, const ss_addr *local, const ss_addr *remote, uint16_t lport,
				  uint16_t rport, const uint8_t *p, size_t len)
{
	return dp->ops->esp_input ? dp->ops->esp_input(dp, local, remote, lport, rport, p, len) : -EOPNOTSUPP;
}
/* IKE sockets must never be captured nor need an SA. */
static inline int ss_dp_bypass_socket(ss_dp *dp, int fd, enum ss_family family)
{
	return dp->ops->bypass_socket ? dp->ops->bypass_socket(dp, fd, family) : 0;
}
static inline void ss_dp_get_stats(ss_dp *dp, ss_dp_stats *out) { dp->ops->get_stats(dp, out); }

const char *ss_dp_peer_state_name(enum ss_dp_peer_state st);
const char *ss_dp_event_name(enum ss_dp_event_kind k);

/* ---- choosing a backend ---- */

/* What softsad knows that any backend may need. */
typedef struct ss_dp_config {
	const char *tun_name;       /* userspace backend */
	int esp_udp_fd4, esp_udp_fd6; /* the daemon's NAT-T sockets (ESP in UDP leaves from them) */
	bool ipv6;
	uint32_t bypass_mark;       /* set by the daemon on its IKE sockets */
	size_t max_held;            /* a backstop on packets kept by handle (the agent bounds its own) */
	bool offload;               /* userspace backend: TUN offloads (IFF_VNET_HDR, TSO in, GSO out); default on */
} ss_dp_config;

typedef struct ss_dp_backend {
	const char *name;
	/* Can it run here?  False with the reason (e.g. "kernel has no ESP"). */
	bool (*available)(char *why, size_t whylen);
	int (*open)(const ss_dp_config *cfg, const char *why_chosen, ss_dp **out, char *err, size_t errlen);
} ss_dp_backend;

/* Every backend built into this softsad, in the order "auto" tries them. */
extern const ss_dp_backend *const ss_dp_backends[];
extern const size_t ss_dp_n_backends;

/* Opens the backend called name ("user", "kernel") or the first available one ("auto").
 * A name not built in, or not available here, fails with a sentence in err. */
int ss_dp_open(const char *name, const ss_dp_config *cfg, ss_dp **out, char *err, size_t errlen);
/* The default of the config (the userspace backend's mark). */
void ss_dp_config_default(ss_dp_config *cfg);

#endif
