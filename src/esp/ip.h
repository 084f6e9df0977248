/* IP header knowledge the ESP datapath needs: parsing an inner packet down to the selector
 * fields (RFC 4301 §4.4.1.1): checking traffic selectors, fixing checksums. */
#ifndef SS_ESP_IP_H
#define SS_ESP_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/ip.h"
#include "esp/esp.h"


/* Inbound: the packet's source is the peer's side; outbound: ours.  Empty lists match
 * everything. */
bool ss_ts_match(const ss_esp_params *p, const ss_ip_hdr *f, bool inbound);

/* Big-endian fields of a region already bounds-checked (a pointer ss_cur_take returned, or
 * bytes encap planned room for). */
static inline uint16_t ss_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t ss_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void ss_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static inline void ss_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static inline ss_addr ss_addr_from(const uint8_t *p, int family)
{
	ss_addr a;
	memset(&a, 0, sizeof(a));
	a.family = (uint8_t)family;
	memcpy(a.a, p, family == SS_AF_INET ? 4 : 16);
	return a;
}

/* Recomputes the TCP/UDP/ICMPv6 checksum of a whole packet (header at p) for its current
 * addresses; an IPv4 UDP checksum becomes 0 (RFC 3948 §3.1.2).  For transport mode behind a
 * NAT, where the sender summed over addresses that the NAT changed. */
void ss_l4_csum_fix(uint8_t *p, const ss_ip_hdr *f);


#endif
