/* libFuzzer target: the tunnel entry's "too big" answer on arbitrary bytes.  The first two
 * bytes are the MTU, the rest the packet; the answer must stay within its bound, quote only
 * bytes that are there, and exist only when ss_icmperr_needed says so. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/icmperr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint32_t mtu = (uint32_t)data[0] << 8 | data[1];
	const uint8_t *p = data + 2;
	size_t len = size - 2;
	ss_addr from4, from6;
	ss_addr_parse("192.0.2.1", &from4);
	ss_addr_parse("2001:db8::1", &from6);
	uint8_t out[SS_ICMPERR_MAX];
	bool needed = ss_icmperr_needed(p, len, mtu);
	size_t n4 = ss_icmperr_too_big(p, len, mtu, &from4, out, sizeof out);
	if (n4 && (!needed || n4 > 576 || n4 > len + 28))
		__builtin_trap();
	size_t n6 = ss_icmperr_too_big(p, len, mtu, &from6, out, sizeof out);
	if (n6 && (!needed || n6 > 1280 || n6 > len + 48 || n4))
		__builtin_trap(); /* one family at most */
	return 0;
}
