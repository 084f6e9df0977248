/* Shared by the crypto_*.c files only: OpenSSL algorithm objects fetched once per process
 * (an EVP fetch per message costs more than the HMAC itself). */
#ifndef SS_IKE_CRYPTO_INTERNAL_H
#define SS_IKE_CRYPTO_INTERNAL_H

#include <openssl/evp.h>

#include "ike/crypto.h"

/* A new HMAC context for the digest ("SHA256", "SHA384", "SHA512"), keyed with key;
 * NULL on failure.  Free with EVP_MAC_CTX_free (OpenSSL cleanses it). */
EVP_MAC_CTX *ss_hmac_new(const char *digest, const uint8_t *key, size_t key_len);
/* The fetched cipher for an encryption descriptor, NULL on failure. */
const EVP_CIPHER *ss_cipher_get(const ss_encr_desc *e);

/* crypto_dh.c: NULL when every group can make keys, else the missing group's name. */
const char *ss_dh_preload(void);

#endif
