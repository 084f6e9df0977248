/* IP headers as both packet paths read them: one parser for the dataplane (captured and
 * logged packets, whose 5-tuple the agent classifies) and for ESP (inner packets checked
 * against traffic selectors, rebuilt around a transport-mode payload), and one Internet
 * checksum (RFC 1071) for both.  Reads go through the bounds-checked cursor only. */
#ifndef SS_BASE_IP_H
#define SS_BASE_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"

/* IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
enum ss_ipproto {
	SS_IPPROTO_HOPOPTS = 0,   /* RFC 8200 §4.3 */
	SS_IPPROTO_ICMP = 1,
	SS_IPPROTO_IPIP = 4,      /* next header of an IPv4 packet in tunnel mode, RFC 4303 §2.6 */
	SS_IPPROTO_TCP = 6,
	SS_IPPROTO_UDP = 17,
	SS_IPPROTO_IPV6 = 41,     /* next header of an IPv6 packet in tunnel mode */
	SS_IPPROTO_ROUTING = 43,  /* RFC 8200 §4.4 */
	SS_IPPROTO_FRAGMENT = 44, /* RFC 8200 §4.5 */
	SS_IPPROTO_ESP = 50,      /* RFC 4303 */
	SS_IPPROTO_AH = 51,
	SS_IPPROTO_ICMPV6 = 58,
	SS_IPPROTO_NONE = 59,     /* "no next header": a dummy packet, RFC 4303 §2.6 */
	SS_IPPROTO_DSTOPTS = 60,  /* RFC 8200 §4.6 */
	SS_IPPROTO_SCTP = 132,
	SS_IPPROTO_MH = 135,      /* RFC 6275 mobility header, an extension header */
	SS_IPPROTO_UDPLITE = 136,
};

static inline bool ss_ipproto_has_ports(uint8_t proto)
{
	return proto == SS_IPPROTO_TCP || proto == SS_IPPROTO_UDP || proto == SS_IPPROTO_SCTP ||
	       proto == SS_IPPROTO_UDPLITE;
}

typedef struct ss_ip_hdr {
	ss_addr src, dst;
	uint8_t version;     /* 4 or 6 */
	uint8_t proto;       /* the upper-layer protocol, after any IPv6 extension headers */
	uint8_t first_nh;    /* IPv6: next header of the fixed header; IPv4: proto */
	bool fragment;       /* part of a fragmented datagram */
	bool ports_known;    /* false for later fragments, protocols without ports, cut headers */
	/* TCP, UDP, UDP-Lite, SCTP ports; for ICMP and ICMPv6 both hold type << 8 | code, the
	 * 16-bit "port" of RFC 4301 §4.4.1.3. */
	uint16_t sport, dport;
	uint16_t hdr_len;    /* fixed header (+ IPv4 options) */
	uint16_t l3len;      /* everything before the upper-layer header */
	uint32_t total_len;  /* the length the header claims */
} ss_ip_hdr;

enum ss_ip_parse_flags {
	/* The bytes may be a prefix of the packet (an NFLOG snapshot, a header-only read):
	 * total_len may exceed len, and cut-off ports are left unknown.  Without it, the packet
	 * must hold all total_len bytes. */
	SS_IP_SNAPSHOT = 1,
};

/* Parses an IPv4 (RFC 791 §3.1) or IPv6 (RFC 8200) header down to the upper layer.  More
 * than 8 IPv6 extension headers are refused as hostile.  False for anything malformed. */
bool ss_ip_parse(const uint8_t *p, size_t len, unsigned flags, ss_ip_hdr *out);

/* RFC 1071 one's-complement sum, not yet complemented, to continue with more data (every
 * part but the last of even length). */
uint32_t ss_csum_add(uint32_t sum, const uint8_t *p, size_t n);
/* Folds a sum to 16 bits (not complemented: 0xffff over a region with a correct checksum). */
uint16_t ss_csum_fold(uint32_t sum);
/* The checksum field's value for a sum over the region with the field zeroed. */
static inline uint16_t ss_csum_finish(uint32_t sum) { return (uint16_t)~ss_csum_fold(sum); }

#endif
