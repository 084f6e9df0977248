/* The inverse of ss_tso: consecutive TCP segments of one flow coalesced into one
 * super-packet, to be written to a TUN with IFF_VNET_HDR in one GSO write instead of one
 * write per segment (without it, every decrypted packet costs its own trip into the stack:
 * the decap bottleneck in the shared performance notes).  Only plain data segments join
 * (ACK, and PSH on the last); anything else is written alone. */
#ifndef SS_DATAPLANE_GRO_H
#define SS_DATAPLANE_GRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/gso.h"

enum { SS_GRO_MAX_SEGS = 64 };

typedef struct ss_gro {
	uint8_t *buf;
	size_t cap, len;   /* the super-packet so far, in buf */
	size_t iphl, hlen; /* IP header length; IP + TCP header length */
	size_t mss;        /* payload of the first segment: every one but the last has it */
	unsigned segs;
	uint32_t next_seq;
	bool v4, closed;   /* closed: a short or PSH segment ended the run */
} ss_gro;

/* Starts a run with pkt, copied into buf; false if pkt cannot be coalesced at all. */
bool ss_gro_start(ss_gro *g, uint8_t *buf, size_t cap, const uint8_t *pkt, size_t len);
/* Appends pkt if it continues the run (same flow and headers, next sequence number, room
 * left); false otherwise, and the run is unchanged. */
bool ss_gro_append(ss_gro *g, const uint8_t *pkt, size_t len);
/* Fixes the super-packet's headers and writes its virtio header (all zero for a run of
 * one: the packet is then left as it came).  Returns the packet's length. */
size_t ss_gro_finish(ss_gro *g, uint8_t hdr[SS_VNET_HDR_LEN]);

#endif
