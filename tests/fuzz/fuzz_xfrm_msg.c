/* libFuzzer target: XFRM netlink messages from the kernel (replies, dumps, ACQUIRE, EXPIRE,
 * POLEXPIRE) on arbitrary bytes, parsed in small batches as the socket layer does. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/xfrm/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Aligned like recv(2)'s buffer; exact size so that ASan sees any read past it. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	ss_xfrm_event ev[3];
	uint64_t bad = 0;
	for (size_t off = 0; off < size;) {
		size_t used = 0;
		ss_xfrm_parse(copy + off, size - off, ev, 3, &bad, &used);
		if (used == 0 || used > size - off)
			abort(); /* no progress, or a claim beyond the input: a parser bug */
		off += used;
	}
	free(copy);
	return 0;
}
