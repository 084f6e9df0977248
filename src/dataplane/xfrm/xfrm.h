/* The kernel's IPsec through XFRM netlink: install, update, query and delete SAs and
 * policies that softsad owns (msg.h says how ownership is marked), receive ACQUIRE and
 * EXPIRE events, exempt sockets from policy, and find out whether this kernel does ESP.
 * Every call returns 0 / a count, or a negative errno; requests wait for the kernel's ACK. */
#ifndef SS_DATAPLANE_XFRM_XFRM_H
#define SS_DATAPLANE_XFRM_XFRM_H

#include <stddef.h>

#include "dataplane/xfrm/msg.h"

typedef struct ss_xfrm ss_xfrm;

/* events: also open a non-blocking socket subscribed to ACQUIRE and EXPIRE (ss_xfrm_fd). */
ss_xfrm *ss_xfrm_open(bool events, int *err);
void ss_xfrm_close(ss_xfrm *x);
/* The event socket's descriptor (-1 without events). */
int ss_xfrm_fd(const ss_xfrm *x);
/* Up to max events that are ready (0 when none). */
int ss_xfrm_read_events(ss_xfrm *x, ss_xfrm_event *out, size_t max);

int ss_xfrm_add_sa(ss_xfrm *x, const ss_xfrm_sa *sa, bool update);
int ss_xfrm_del_sa(ss_xfrm *x, const ss_addr *dst, uint32_t spi);
/* The kernel's counters of one SA; -ESRCH when it is gone. */
int ss_xfrm_get_sa(ss_xfrm *x, const ss_addr *dst, uint32_t spi, ss_xfrm_sa_info *out);
int ss_xfrm_add_policy(ss_xfrm *x, const ss_xfrm_policy *p, bool update);
int ss_xfrm_del_policy(ss_xfrm *x, uint32_t slot, uint8_t dir);
/* One policy of ours as the kernel has it (its add and last-use times in out->sa); -ENOENT
 * when it is gone. */
int ss_xfrm_get_policy(ss_xfrm *x, uint32_t slot, uint8_t dir, ss_xfrm_event *out);

/* Calls fn for every state (states = true) or policy in the kernel, ours or not. */
typedef void ss_xfrm_dump_fn(const ss_xfrm_event *ev, void *ctx);
int ss_xfrm_dump(ss_xfrm *x, bool states, ss_xfrm_dump_fn *fn, void *ctx);
/* Removes every state and policy that softsad owns and nothing else (on start, for what a
 * previous softsad left, and on exit); counts what went in *states / *policies. */
int ss_xfrm_remove_ours(ss_xfrm *x, unsigned *states, unsigned *policies);

/* Removes the larval state of (src, dst, reqid, mode): the kernel's placeholder for an
 * ACQUIRE nobody answered with an SA (the peer went soft, blocked, or its SA has another
 * reqid).  While it lives (net.core.xfrm_acq_expires, 30 s) the kernel raises no new ACQUIRE
 * for that pair: a flushed or expired soft association would not negotiate again.  A larval
 * state has no id to delete it by, so it gets an SPI first (ALLOCSPI).  0 when none was left. */
int ss_xfrm_drop_larval(ss_xfrm *x, const ss_addr *src, const ss_addr *dst, uint32_t reqid,
			uint8_t mode);

/* Per-socket bypass (IP_XFRM_POLICY / IPV6_XFRM_POLICY, both directions): the IKE sockets'
 * own traffic never meets a policy, whatever softsad or anyone else installs. */
int ss_xfrm_socket_bypass(int fd, uint8_t family);
/* Makes a UDP socket a NAT-T socket for the kernel (UDP_ENCAP_ESPINUDP, RFC 3948): ESP in UDP
 * that reaches it goes to XFRM, IKE (behind its zero marker) still to the socket, keepalives
 * are eaten.  UDP GRO is turned off on it first: a coalesced datagram would reach XFRM as one
 * ESP packet.  0 or -errno. */
int ss_xfrm_socket_espinudp(int fd);

/* Whether this kernel runs ESP through XFRM: 1 yes, 0 no (why says what failed), as far as
 * installing and removing a throw-away AES-GCM state (TEST-NET addresses) tells. */
int ss_xfrm_probe(char *why, size_t whylen);

#endif
