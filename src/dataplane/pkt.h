/* The 5-tuple of an IP packet, read through the cursor: what the dataplane reports for
 * captured and logged packets, and what the daemon classifies them by. */
#ifndef SS_DATAPLANE_PKT_H
#define SS_DATAPLANE_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"

/* IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
enum ss_ipproto {
	SS_IPPROTO_HOPOPTS = 0,   /* RFC 8200 §4.3 */
	SS_IPPROTO_ICMP = 1,
	SS_IPPROTO_TCP = 6,
	SS_IPPROTO_UDP = 17,
	SS_IPPROTO_ROUTING = 43,  /* RFC 8200 §4.4 */
	SS_IPPROTO_FRAGMENT = 44, /* RFC 8200 §4.5 */
	SS_IPPROTO_ESP = 50,      /* RFC 4303 */
	SS_IPPROTO_AH = 51,
	SS_IPPROTO_ICMPV6 = 58,
	SS_IPPROTO_NONE = 59,
	SS_IPPROTO_DSTOPTS = 60,  /* RFC 8200 §4.6 */
	SS_IPPROTO_SCTP = 132,
	SS_IPPROTO_UDPLITE = 136,
};

typedef struct ss_pkt_tuple {
	ss_addr src, dst;
	uint8_t proto;         /* the upper-layer protocol, after IPv6 extension headers */
	uint16_t sport, dport; /* 0 when the protocol has no ports or this is a later fragment */
	size_t l3len;          /* header length up to the upper-layer header */
	size_t total;          /* the length the IP header claims */
} ss_pkt_tuple;

/* Reads an IPv4 or IPv6 packet's addresses, protocol and ports.  A packet truncated after
 * the IP header (e.g. an NFLOG snapshot) still yields addresses and protocol; ports need
 * their 4 bytes.  Returns false for anything that is not a well-formed IP header. */
bool ss_pkt_tuple_parse(const uint8_t *p, size_t len, ss_pkt_tuple *out);

static inline bool ss_ipproto_has_ports(uint8_t proto)
{
	return proto == SS_IPPROTO_TCP || proto == SS_IPPROTO_UDP || proto == SS_IPPROTO_SCTP ||
	       proto == SS_IPPROTO_UDPLITE;
}

#endif
