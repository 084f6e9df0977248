/* Live heap bytes counter over link-time wraps of the allocator (see alloc_count.h). */
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "alloc_count.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

bool alloc_count_on;
long long alloc_count_live;

static void count(void *p, int sign)
{
	if (alloc_count_on && p)
		alloc_count_live += sign * (long long)malloc_usable_size(p);
}

void *__wrap_malloc(size_t n)
{
	void *p = __real_malloc(n);
	count(p, 1);
	return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
	void *p = __real_calloc(n, m);
	count(p, 1);
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	/* The old block's size must be read before realloc may free it. */
	count(p, -1);
	void *q = __real_realloc(p, n);
	count(q ? q : p, 1);
	return q;
}

void __wrap_free(void *p)
{
	count(p, -1);
	__real_free(p);
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
	(void)file, (void)line;
	return __wrap_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file, (void)line;
	return __wrap_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
	(void)file, (void)line;
	__wrap_free(p);
}

bool alloc_count_init(void)
{
	return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) == 1;
}
