/* Secrets: wipe them on every path, draw randomness from OpenSSL's CSPRNG. */
#ifndef SS_BASE_SECURE_H
#define SS_BASE_SECURE_H

#include <stdbool.h>
#include <stddef.h>

/* Wipes in a way the compiler may not elide. */
void ss_wipe(void *p, size_t n);
/* Wipes then frees; NULL is fine. */
void ss_free_secret(void *p, size_t n);
/* Fills with cryptographically strong random bytes; false only if the CSPRNG fails, in
 * which case the caller must fail closed. */
bool ss_random(void *p, size_t n);
/* Constant-time comparison for MACs and authentication data. */
bool ss_ct_eq(const void *a, const void *b, size_t n);

/* Makes OpenSSL wipe every block it frees (it leaves copies of decoded private keys in freed
 * memory otherwise).  Call first in main(), before OpenSSL allocates anything; false when
 * too late.  observe (tests; NULL otherwise) sees each block after the wipe, before free. */
bool ss_openssl_wipe_on_free(void (*observe)(const void *p, size_t n));

#endif
