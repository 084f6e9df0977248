/* Offloads of a TUN with IFF_VNET_HDR, done in userspace: completing a partial checksum
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM) and splitting a TCP super-packet (TSO, up to 64 KB) into
 * MSS-sized segments.  With them the kernel hands us one large packet per read instead of
 * forty, which is the biggest win measured on this machine (shared notes, perf-limits.md).
 * Pure functions over caller buffers; headers are read through the cursor. */
#ifndef SS_DATAPLANE_GSO_H
#define SS_DATAPLANE_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr (virtio 1.0 §5.1.6), little-endian as the TUN sends it. */
enum { SS_VNET_HDR_LEN = 10 };
enum ss_vnet_flag { SS_VNET_F_NEEDS_CSUM = 1 };
/* VIRTIO_NET_HDR_GSO_UDP_L4 (USO) is newer than Debian 12's kernel headers: its value here. */
enum ss_vnet_gso { SS_VNET_GSO_NONE = 0, SS_VNET_GSO_TCPV4 = 1, SS_VNET_GSO_TCPV6 = 4,
		   SS_VNET_GSO_UDP_L4 = 5, SS_VNET_GSO_ECN = 0x80 };

typedef struct ss_vnet_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
} ss_vnet_hdr;

bool ss_vnet_hdr_parse(const uint8_t *p, size_t len, ss_vnet_hdr *out);

/* Finishes a partial checksum: sums [start, len) (the field already holds the
 * pseudo-header sum) and stores the result at start + offset.  False if out of bounds. */
bool ss_csum_complete(uint8_t *pkt, size_t len, size_t start, size_t offset);

/* Splitting one TCP (TSO) or UDP (USO) super-packet.  ss_tso_init / ss_uso_init check the
 * headers; each ss_tso_next writes the next complete segment (headers fixed: lengths, IPv4
 * id and checksum; TCP: sequence number, flags; the TCP or UDP checksum) and returns its
 * length, 0 when all are out or it does not fit in cap. */
typedef struct ss_tso {
	const uint8_t *pkt;
	size_t len, iphl, hlen; /* IP header length; IP + TCP/UDP header length */
	size_t mss, off;        /* payload bytes per segment; payload bytes already out */
	unsigned seg;           /* segments already out */
	bool v4, udp;
} ss_tso;

bool ss_tso_init(ss_tso *t, const uint8_t *pkt, size_t len, size_t mss);
bool ss_uso_init(ss_tso *t, const uint8_t *pkt, size_t len, size_t mss);
size_t ss_tso_next(ss_tso *t, uint8_t *out, size_t cap);
static inline bool ss_tso_done(const ss_tso *t) { return t->off >= t->len - t->hlen; }

/* One frame read from a TUN with IFF_VNET_HDR (virtio header, then the packet), as the
 * kernel hands it over: everything in the header is checked against the packet.
 *   SS_VNET_ONE    one packet, its partial checksum completed in place: frame + *off, *len
 *   SS_VNET_SPLIT  a TCP or UDP super-packet: t is ready, take its segments with ss_tso_next
 *   SS_VNET_BAD    malformed (header short, unknown GSO type, GSO type and packet disagree,
 *                  checksum offsets out of the packet, IP length not the frame's): drop it */
enum ss_vnet_kind { SS_VNET_BAD, SS_VNET_ONE, SS_VNET_SPLIT };
enum ss_vnet_kind ss_vnet_frame(ss_tso *t, uint8_t *frame, size_t len, size_t *off, size_t *plen);

#endif
