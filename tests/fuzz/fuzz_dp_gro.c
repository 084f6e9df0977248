/* libFuzzer target: TCP coalescing over a sequence of packets, each given as a 2-byte
 * length and its bytes; whatever is coalesced must come out a well-formed packet. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/gro.h"
#include "dataplane/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000];
	ss_gro g;
	bool started = false;
	size_t off = 0;
	while (size - off >= 2) {
		size_t len = (size_t)(data[off] << 8 | data[off + 1]);
		off += 2;
		if (len > size - off)
			break;
		const uint8_t *pkt = data + off;
		off += len;
		if (started && ss_gro_append(&g, pkt, len))
			continue;
		if (started) {
			uint8_t hdr[SS_VNET_HDR_LEN];
			size_t n = ss_gro_finish(&g, hdr);
			ss_pkt_tuple t;
			if (n > sizeof buf || !ss_pkt_tuple_parse(buf, n, &t) || t.total != n)
				__builtin_trap();
		}
		started = ss_gro_start(&g, buf, sizeof buf, pkt, len);
	}
	return 0;
}
