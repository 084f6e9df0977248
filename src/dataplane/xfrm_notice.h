/* Notices of inbound clear traffic for the kernel backend: the seed's second case (a host
 * without IPsec talks first) needs the agent to hear of clear packets from peers it has no
 * state with, and XFRM has no event for a packet its policies let in or drop.  So the kernel
 * backend keeps a small nftables table of its own (inet softsa_kernel) whose input chain
 * logs, to an NFLOG group, the first packets of each source that a negotiate filter covers,
 * rate-limited per source, exactly as the userspace backend's table does (the same NFLOG
 * parser and filter matcher).  The input chain only reports: every packet goes on to the
 * kernel's own verdict (the XFRM in-policies: accepted clear, or blocked), and the prefix says
 * which.  The same table's output chain (when the backend holds packets, xfrm/hold.h) sends
 * what waits for a negotiation to an NFQUEUE: outbound packets a negotiate filter covers,
 * toward a peer not in the sets of decided peers (ss_xnotice_peer).
 * A tunnel rule's inbound half (forwarded, or to our addresses inside our network) is
 * reported from prerouting, ahead of the kernel's fwd policy check; and its tcp_mss_clamp is
 * applied here (chains mss_forward, mss_output, mss_input), the one packet change the table
 * makes. */
#ifndef SS_DATAPLANE_XFRM_NOTICE_H
#define SS_DATAPLANE_XFRM_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/user/ruleset.h"
#include "dataplane/dataplane.h"
#include "dataplane/user/port.h"

typedef struct ss_xnotice ss_xnotice;

typedef struct ss_xnotice_cfg {
	uint16_t group;     /* NFLOG group of the notices */
	unsigned rate;      /* notices per source and second */
	/* The NFQUEUE of outbound packets that wait for a negotiation (xfrm/hold.h), -1 for
	 * none (they wait in the kernel's policy queue instead). */
	int hold_queue;
	uint32_t mark;      /* softsad's own packets, never queued */
} ss_xnotice_cfg;

/* Installs the table (replacing one a previous softsad left) and binds the NFLOG group. */
ss_xnotice *ss_xnotice_open(const ss_xnotice_cfg *cfg, char *err, size_t errlen);
/* Removes the table and unbinds. */
void ss_xnotice_close(ss_xnotice *n);
/* The negotiate filters whose inbound clear traffic is reported (a reload replaces them). */
int ss_xnotice_set_filters(ss_xnotice *n, const ss_dp_filter *f, size_t nf);
/* A peer whose state is decided (secured, soft, blocked: its XFRM policies take its traffic)
 * or no longer (its outbound packets under a negotiate filter wait in softsad again). */
int ss_xnotice_peer(ss_xnotice *n, const ss_addr *peer, bool decided);
int ss_xnotice_fd(const ss_xnotice *n);
/* Up to max notices that are ready (0 when none); unusable messages counted in *malformed. */
int ss_xnotice_read(ss_xnotice *n, ss_dp_notice *out, size_t max, uint64_t *malformed);

/* The nftables commands (pure: unit-tested): the table, the filter rules of a set (hold: the
 * output chain's too), a peer's entry in the set of decided peers. */
void ss_xnotice_table(ss_sb *s, const ss_xnotice_cfg *c);
void ss_xnotice_rules(ss_sb *s, const ss_dp_filter *f, size_t nf, bool hold);
void ss_xnotice_peer_cmd(ss_sb *s, const ss_addr *peer, bool decided);

#endif
