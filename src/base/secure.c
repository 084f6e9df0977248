#include "base/secure.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>

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
