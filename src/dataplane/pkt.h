/* The 5-tuple of an IP packet, read through the cursor: what the dataplane reports for
 * captured and logged packets, and what the daemon classifies them by. */
#ifndef SS_DATAPLANE_PKT_H
#define SS_DATAPLANE_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/ip.h"

typedef struct ss_pkt_tuple {
	ss_addr src, dst;
	uint8_t proto;         /* the upper-layer protocol, after IPv6 extension headers */
	uint16_t sport, dport; /* 0 when the protocol has no ports or this is a later fragment */
	size_t l3len;          /* header length up to the upper-layer header */
	size_t total;          /* the length the IP header claims */
} ss_pkt_tuple;

/* Reads an IPv4 or IPv6 packet's addresses, protocol and ports (ss_ip_parse with
 * SS_IP_SNAPSHOT).  A packet truncated after the IP header (e.g. an NFLOG snapshot) still
 * yields addresses and protocol; ports need their 4 bytes, and ICMP has none here (the
 * classifier matches ICMP by protocol only).  False for anything that is not a well-formed
 * IP header. */
bool ss_pkt_tuple_parse(const uint8_t *p, size_t len, ss_pkt_tuple *out);

#endif
