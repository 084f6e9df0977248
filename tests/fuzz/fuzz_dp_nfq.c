/* libFuzzer target: nfnetlink_queue datagrams (netlink walk, attributes, the queued packet's
 * id and bytes) on arbitrary bytes (src/dataplane/xfrm/nfq.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/xfrm/nfq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Aligned like the backend's receive buffer; an exact-size heap copy keeps reads past
	 * the end visible to ASan. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	ss_nfq_pkt q[8];
	uint64_t bad = 0;
	uint32_t max_id = 0;
	size_t n = ss_nfq_parse(copy, size, q, 8, &bad, &max_id);
	/* Every packet lies inside the input, and its id is at most max_id. */
	for (size_t i = 0; i < n; i++) {
		if (q[i].data < copy || q[i].data + q[i].len > copy + size || q[i].id > max_id)
			abort();
		volatile uint8_t x = q[i].len ? q[i].data[q[i].len - 1] : 0;
		(void)x;
	}
	free(copy);
	return 0;
}
