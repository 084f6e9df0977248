/* libFuzzer target: the dataplane's IP 5-tuple reader on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "dataplane/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ss_pkt_tuple t;
	if (ss_pkt_tuple_parse(data, size, &t) && t.l3len > size && t.sport)
		__builtin_trap(); /* ports are only read from bytes that are there */
	return 0;
}
