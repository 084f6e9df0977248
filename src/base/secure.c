#include "base/secure.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void ss_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

void ss_free_secret(void *p, size_t n)
{
	ss_wipe(p, n);
	free(p);
}

bool ss_random(void *p, size_t n)
{
	if (n == 0)
		return true;
	return RAND_bytes(p, (int)n) == 1;
}

bool ss_ct_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* OpenSSL frees some copies of a private key without cleansing them (3.0's key decoders free
 * the DER they decoded with OPENSSL_free, an ASN1_STRING of the private scalar likewise), so
 * every block OpenSSL frees or moves is wiped first.  malloc_usable_size() covers the whole
 * block, whatever was asked for. */
static void (*wipe_observer)(const void *p, size_t n);

static void *wipe_malloc(size_t n, const char *file, int line)
{
	(void)file, (void)line;
	return malloc(n);
}

static void wipe_free(void *p, const char *file, int line)
{
	(void)file, (void)line;
	if (!p)
		return;
	size_t n = malloc_usable_size(p);
	OPENSSL_cleanse(p, n);
	if (wipe_observer)
		wipe_observer(p, n);
	free(p);
}

static void *wipe_realloc(void *p, size_t n, const char *file, int line)
{
	if (!p)
		return wipe_malloc(n, file, line);
	if (n == 0) {
		wipe_free(p, file, line);
		return NULL;
	}
	void *q = malloc(n);
	if (!q)
		return NULL;
	size_t old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	wipe_free(p, file, line);
	return q;
}

bool ss_openssl_wipe_on_free(void (*observe)(const void *p, size_t n))
{
	wipe_observer = observe;
	return CRYPTO_set_mem_functions(wipe_malloc, wipe_realloc, wipe_free) == 1;
}
