/* libFuzzer target: TCP segmentation of a super-packet (the MSS in the first two bytes,
 * the packet after them), every segment written and re-parsed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/gso.h"
#include "dataplane/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t mss = (size_t)(data[0] << 8 | data[1]);
	ss_tso t;
	if (!ss_tso_init(&t, data + 2, size - 2, mss))
		return 0;
	static uint8_t seg[2048];
	for (unsigned i = 0; i < 100000 && !ss_tso_done(&t); i++) {
		size_t n = ss_tso_next(&t, seg, sizeof seg);
		if (n == 0)
			break;
		ss_pkt_tuple tu;
		if (!ss_pkt_tuple_parse(seg, n, &tu) || tu.total != n)
			__builtin_trap(); /* a segment we wrote must be a well-formed packet */
	}
	return 0;
}
