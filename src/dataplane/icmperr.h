/* ICMP "fragmentation needed" (RFC 792, RFC 1191) and ICMPv6 "packet too big" (RFC 4443
 * §3.2) toward the sender of a packet a tunnel entry cannot carry: once ESP and the outer
 * header are added it exceeds the path MTU toward the tunnel endpoint, and the packet says
 * it must not be fragmented (IPv4 DF; every IPv6 packet).  RFC 4301 §8.2.1. */
#ifndef SS_DATAPLANE_ICMPERR_H
#define SS_DATAPLANE_ICMPERR_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"

/* ICMP types and codes used here (IANA "ICMP Parameters", "ICMPv6 Parameters"). */
enum {
	SS_ICMP_DEST_UNREACH = 3,
	SS_ICMP_FRAG_NEEDED = 4,    /* code of SS_ICMP_DEST_UNREACH */
	SS_ICMP6_PACKET_TOO_BIG = 2,
	SS_ICMP6_INFO_MIN = 128,    /* types below are errors */
};

/* At most this much of the offending packet is quoted: the whole error stays within 576
 * bytes (IPv4, RFC 1812 §4.3.2.3) or 1280 (IPv6, RFC 4443 §2.4 (c)). */
#define SS_ICMPERR_MAX 1280

/* Does pkt (a whole IP packet) call for a "too big" error at this MTU?  False when it fits,
 * may be fragmented (IPv4 without DF), is itself an ICMP error (RFC 1122 §3.2.2), is not the
 * first fragment, or comes from an address no error may go to (unspecified, multicast,
 * loopback).  Malformed packets: false. */
bool ss_icmperr_needed(const uint8_t *pkt, size_t len, uint32_t mtu);

/* Writes into out (cap >= SS_ICMPERR_MAX) the error from `from` to pkt's source, with the
 * MTU the sender must use; returns its length, 0 when ss_icmperr_needed is false or from is
 * not of pkt's family.  Checksums are filled in; TTL / hop limit 64. */
size_t ss_icmperr_too_big(const uint8_t *pkt, size_t len, uint32_t mtu, const ss_addr *from, uint8_t *out,
			  size_t cap);

#endif
