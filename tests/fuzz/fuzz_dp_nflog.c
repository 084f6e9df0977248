/* libFuzzer target: nfnetlink_log datagrams (netlink messages, attributes, and the logged
 * packet inside) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/user/nflog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The receive buffer is aligned, as recv(2) into the backend's buffer is; an exact-size
	 * heap copy keeps reads past the end visible to ASan. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	ss_dp_notice n[8];
	uint64_t bad = 0;
	ss_nflog_parse(copy, size, n, 8, &bad);
	free(copy);
	return 0;
}
