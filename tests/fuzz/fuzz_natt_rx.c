/* libFuzzer target: what the kernel hands with an ESP-in-UDP read on the NAT-T port, i.e.
 * the control messages (IP_PKTINFO / IPV6_PKTINFO / UDP_GRO: ss_ikesock_parse_cmsg) and the
 * walk over a GRO datagram's segments (ss_dgram_next).  Input: one byte n, n bytes of control
 * messages, one flag byte (bit 0: read on a NAT-T port), then the datagram.  Every segment
 * must lie inside the datagram, the segments must cover it exactly once, and no segment may
 * exceed the segment size the control messages gave. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/ikesock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t n = data[0];
	if (size < 2 + n)
		return 0;
	/* The kernel's buffer is aligned for cmsghdr: so is malloc's copy, exactly n bytes long
	 * so that the sanitizer sees any read past it. */
	uint8_t *cb = n ? malloc(n) : NULL;
	if (n && !cb)
		return 0;
	if (n)
		memcpy(cb, data + 1, n);
	struct msghdr m = { .msg_control = cb, .msg_controllen = n };
	ss_dgram d = { 0 };
	ss_ikesock_parse_cmsg(&m, &d.local, &d.seg);
	free(cb);
	if (d.local.family != 0 && d.local.family != SS_AF_INET && d.local.family != SS_AF_INET6)
		__builtin_trap();
	d.natt = data[1 + n] & 1;
	d.data = (uint8_t *)data + 2 + n;
	d.len = size - 2 - n;
	size_t off = 0, covered = 0, count = 0;
	ss_dgram g;
	while (ss_dgram_next(&d, &off, &g)) {
		if (g.data != d.data + covered || g.len > d.len - covered || g.seg != 0 ||
		    (d.seg && d.seg < d.len && g.len > d.seg) || g.kind > SS_NATT_MALFORMED)
			__builtin_trap();
		covered += g.len;
		if (++count > d.len + 1)
			__builtin_trap(); /* the walk must end */
	}
	if (covered != d.len)
		__builtin_trap();
	return 0;
}
