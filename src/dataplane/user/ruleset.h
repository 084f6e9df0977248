/* The nftables text for the table `inet softsa`, built as pure functions so that unit tests
 * read it without a kernel.  The layout is explained in doc/dataplane.md. */
#ifndef SS_DATAPLANE_RULESET_H
#define SS_DATAPLANE_RULESET_H

#include <stddef.h>

#include "dataplane/user/port.h"
#include "dataplane/user/user.h"

/* A growable string; on allocation failure err is set and appends do nothing. */
typedef struct ss_sb {
	char *p;
	size_t len, cap;
	bool err;
} ss_sb;

void ss_sb_printf(ss_sb *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ss_sb_free(ss_sb *s);

/* Deletes the table if it exists (valid whether or not it does). */
void ss_nft_delete_table(ss_sb *s);
/* Flushes any leftover table and creates the whole table, with no filters and empty sets. */
void ss_nft_table(ss_sb *s, const ss_dp_user_config *cfg);
/* Replaces the filter rules; returns false (and writes nothing) for a filter it refuses:
 * mixed families, or ports without a protocol that has ports, or a tunnel filter (those
 * need ss_nft_filters_tunnels). */
bool ss_nft_filters(ss_sb *s, const ss_dp_filter *f, size_t n, const char **why);

/* Appends a filter's match (family, addresses, protocol, ports) as seen on a packet in
 * (inbound) or out: the same text in the host filter chains and the tunnels' chains. */
void ss_nft_filter_match(ss_sb *s, const ss_dp_filter *f, bool inbound);

/* ---- tunnel rules (ruleset_tunnel.c) ---- */

#define SS_NFT_MAX_TUNNELS 256
/* What one tunnel endpoint's chains say: its peer state, and for a soft one the idle
 * lifetime class (whole seconds; 0: the plain soft set). */
typedef struct ss_nft_tunnel {
	uint8_t st;          /* enum ss_dp_peer_state */
	uint32_t soft_secs;
} ss_nft_tunnel;
typedef struct ss_nft_tunnels {
	ss_addr ep[SS_NFT_MAX_TUNNELS];
	ss_nft_tunnel tun[SS_NFT_MAX_TUNNELS];
	size_t n;
	/* The list being built by a filter update (committed when the kernel took it). */
	ss_addr next_ep[SS_NFT_MAX_TUNNELS];
	ss_nft_tunnel next[SS_NFT_MAX_TUNNELS];
	size_t n_new;
} ss_nft_tunnels;

/* The base chains for forwarded traffic (part of ss_nft_table). */
void ss_nft_tunnel_chains(ss_sb *s, const ss_dp_user_config *cfg);
/* The same as ss_nft_filters, with tunnel filters written into the tunnels' chains; t's
 * endpoint list is rebuilt (call ss_nft_tunnel_commit once the kernel accepted the text). */
bool ss_nft_filters_tunnels(ss_sb *s, const ss_dp_user_config *cfg, ss_nft_tunnels *t,
			    const ss_dp_filter *f, size_t n, const char **why);
void ss_nft_tunnel_flush(ss_sb *s, ss_nft_tunnels *t);
bool ss_nft_tunnel_filter(ss_sb *s, const ss_dp_user_config *cfg, ss_nft_tunnels *t, const ss_dp_filter *f);
void ss_nft_tunnel_commit(ss_nft_tunnels *t);
/* Rewrites endpoint i's state chains from t->tun[i]. */
bool ss_nft_tunnel_peer(ss_sb *s, const ss_nft_tunnels *t, size_t i);
/* The index of endpoint ep, or -1. */
int ss_nft_tunnel_find(const ss_nft_tunnels *t, const ss_addr *ep);
/* The named counter of each enum ss_dp_drop, as in the table. */
extern const char *const ss_nft_drop_counter[SS_DP_DROP_COUNT];

/* Soft associations live in one set per idle lifetime ("class"), created on first use:
 * the packet path itself refreshes an element's timeout (an `update` statement with the
 * set's timeout) on traffic in both directions, so a flow never needs the daemon to stay
 * soft, and an idle one expires in the kernel, daemon or not. */
#define SS_NFT_SOFT_CLASSES 16
typedef struct ss_nft_soft_classes {
	uint32_t ms[SS_NFT_SOFT_CLASSES];
	size_t n;
} ss_nft_soft_classes;

/* The class for an idle lifetime of ms (whole seconds, 1 s to 1 d): its index, appending
 * to s the commands that create its sets and rules when it is new (then recorded in c).
 * -1 when the lifetime is not whole seconds or every class is taken: the peer then goes
 * into the plain soft set with a fixed timeout. */
int ss_nft_soft_class(ss_sb *s, ss_nft_soft_classes *c, ss_time ms);
/* Moves peer into the set for st (out of all others); timeout for SOFT only.  A soft peer
 * goes into the class for timeout (c may be NULL: none), where an element already there
 * keeps its counters. */
bool ss_nft_peer(ss_sb *s, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout,
		 const ss_nft_soft_classes *c);

#endif
