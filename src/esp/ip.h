/* IP header knowledge the ESP datapath needs: parsing an inner packet down to the selector
 * fields (RFC 4301 §4.4.1.1), checking traffic selectors, checksums. */
#ifndef SS_ESP_IP_H
#define SS_ESP_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp/esp.h"

typedef struct ss_flow {
	ss_addr src, dst;
	uint8_t version;     /* 4 or 6 */
	uint8_t proto;       /* upper-layer protocol after any IPv6 extension headers */
	uint8_t first_nh;    /* IPv6: next header field of the fixed header; IPv4: proto */
	bool fragment;       /* part of a fragmented datagram */
	bool ports_known;    /* false for non-first fragments and protocols without ports */
	uint16_t sport, dport;
	uint16_t hdr_len;    /* fixed header (+ IPv4 options) */
	uint16_t total_len;  /* from the header; <= the bytes available */
} ss_flow;

/* Parses and validates an IP packet of len bytes; SS_ESP_OK or SS_ESP_E_MALFORMED. */
int ss_ip_parse(const uint8_t *p, size_t len, ss_flow *f);

/* Inbound: the packet's source is the peer's side; outbound: ours.  Empty lists match
 * everything. */
bool ss_ts_match(const ss_esp_params *p, const ss_flow *f, bool inbound);

/* RFC 1071 one's-complement sum (not yet complemented), to continue with more data. */
uint32_t ss_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t ss_csum_fold(uint32_t sum);

#endif
