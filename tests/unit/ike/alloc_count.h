/* Counts the live heap bytes an engine allocates, for tests/unit/ike/test_memory.c and
 * bench/ike_scale.c.  Link with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
 * (the engine's own calls, in its static library) and call alloc_count_init() first thing in
 * main (OpenSSL's allocations, through CRYPTO_set_mem_functions).  Bytes are
 * malloc_usable_size(): what each block really takes, less the allocator's own header. */
#ifndef SS_TEST_ALLOC_COUNT_H
#define SS_TEST_ALLOC_COUNT_H

#include <stdbool.h>

/* False when OpenSSL allocated before (its allocations would then go uncounted). */
bool alloc_count_init(void);
/* While on, allocations and frees change alloc_count_live. */
extern bool alloc_count_on;
extern long long alloc_count_live;

#endif
