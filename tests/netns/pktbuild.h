/* Builds whole IPv4/IPv6 UDP packets with correct checksums, for the tests and the bench. */
#ifndef SS_TESTS_PKTBUILD_H
#define SS_TESTS_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"

/* Returns the packet length, 0 when it does not fit. */
size_t pb_udp(uint8_t *out, size_t cap, const ss_addr *src, const ss_addr *dst, uint16_t sport,
	      uint16_t dport, const void *payload, size_t plen);

#endif
