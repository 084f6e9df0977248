/* What softsa does with one packet under a policy: which rule and filter match (through the
 * classifier) and, in words, what follows (permit, block, negotiate; a peer that is not
 * IPsec-aware; unsecured inbound; discovery).  One JSON object, shared by `softsa explain
 * --json` and the control socket's explain command (doc/control.md). */
#ifndef SS_POLICY_EXPLAIN_H
#define SS_POLICY_EXPLAIN_H

#include <stdbool.h>

#include <jansson.h>

#include "policy/classify.h"
#include "policy/policy.h"

/* Protocol of a packet given without one: reserved by IANA, so that only filters with
 * proto any match it. */
#define SS_PROTO_UNSPECIFIED 255

/* The packet of an explain request: dir "out" (default when NULL) or "in"; src and dst IP
 * addresses of one family; proto a name (tcp, udp, icmp, icmpv6, sctp, any) or number, NULL
 * for unspecified; sport/dport -1 when absent, else 0-65535 and only with tcp, udp, sctp
 * (a dport alone: the source port is SS_EXPLAIN_EPHEMERAL_PORT).  false with *why set on
 * bad input. */
bool ss_explain_packet(const char *dir, const char *src, const char *dst, const char *proto,
	long sport, long dport, ss_pkt_key *out, const char **why);

/* The source port softsa explain assumes when only a destination port is given: the first of
 * the dynamic range (RFC 6335), where clients' ports come from. */
#define SS_EXPLAIN_EPHEMERAL_PORT 49152

/* What the caller knows besides the packet: whether the source port was assumed, and whether
 * the peer's address is one of this host's own (loopback is recognised here). */
typedef struct ss_explain_ctx {
	bool sport_assumed;
	bool peer_is_local;
} ss_explain_ctx;

/* {"packet":{"dir","src","dst"[,"proto","sport","dport"]}, "policy", "matched",
 *  matched: "rule","filter_list","filter_index","filter":{...},"mirrored","action":{...}
 *  else: "default_response";
 *  "peer", "explanation":[sentences]}.  NULL on allocation failure. */
json_t *ss_explain(const ss_policy *p, const ss_classifier *c, const ss_pkt_key *k);
/* The same with what the caller knows (x may be NULL).  "datapath" says what decides the
 * packet: "policy", or the datapath's own bypass before any filter: "ike" (UDP 500/4500),
 * "esp" (inbound ESP, to softsad), "loopback" (the host's own addresses). */
json_t *ss_explain_ex(const ss_policy *p, const ss_classifier *c, const ss_pkt_key *k, const ss_explain_ctx *x);

#endif
