/* libFuzzer target: the offloads of a TUN with IFF_VNET_HDR.  The first byte picks the
 * entry: odd, the rest is a frame as the kernel hands it over (virtio header, then the
 * packet) through ss_vnet_frame, the daemon's own reader; even, the MSS in the next two
 * bytes and a TCP super-packet after them.  Every segment written is re-parsed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/gso.h"
#include "dataplane/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void split_all(ss_tso *t)
{
	static uint8_t seg[2048];
	for (unsigned i = 0; i < 100000 && !ss_tso_done(t); i++) {
		size_t n = ss_tso_next(t, seg, sizeof seg);
		if (n == 0)
			break;
		ss_pkt_tuple tu;
		if (!ss_pkt_tuple_parse(seg, n, &tu) || tu.total != n)
			__builtin_trap(); /* a segment we wrote must be a well-formed packet */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ss_tso t;
	if (size >= 1 && (data[0] & 1)) {
		/* The reader completes checksums in place: it gets a writable copy. */
		uint8_t *f = malloc(size - 1 ? size - 1 : 1);
		if (!f)
			return 0;
		memcpy(f, data + 1, size - 1);
		size_t off = 0, plen = 0;
		ss_pkt_tuple tu;
		switch (ss_vnet_frame(&t, f, size - 1, &off, &plen)) {
		case SS_VNET_ONE:
			if (off + plen != size - 1 || !ss_pkt_tuple_parse(f + off, plen, &tu) || tu.total != plen)
				__builtin_trap();
			break;
		case SS_VNET_SPLIT:
			split_all(&t);
			break;
		case SS_VNET_BAD:
			break;
		}
		free(f);
		return 0;
	}
	if (size < 3)
		return 0;
	size_t mss = (size_t)(data[1] << 8 | data[2]);
	if (ss_tso_init(&t, data + 3, size - 3, mss))
		split_all(&t);
	return 0;
}
