/* The cryptographic transform of one SA: EVP contexts keyed once at SA creation and reused
 * for every packet (only the IV changes), so the datapath never allocates.
 *
 * Layout of the ESP packet these functions work on (RFC 4303 §2):
 *   esp[0..8)                SPI, sequence number (low 32 bits)
 *   esp[8..8+iv_len)         explicit IV
 *   esp[8+iv_len..+clen)     payload, padding, pad length, next header (encrypted in place)
 *   then icv_len bytes       ICV */
#ifndef SS_ESP_CRYPTO_H
#define SS_ESP_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "esp/esp.h"

typedef struct ss_esp_crypto {
	EVP_CIPHER_CTX *ctx;   /* AES-GCM or AES-CBC, key set, direction fixed */
	EVP_CIPHER_CTX *ivgen; /* CBC outbound: AES-ECB under a random key, makes IVs */
	EVP_MAC_CTX *mac;      /* HMAC for CBC, key set; NULL for GCM */
	uint8_t salt[4];       /* GCM, RFC 4106 §4 */
	uint8_t iv_len, icv_len, block;
	bool aead;
	const uint8_t *test_iv; /* tests only (RFC 3602 vectors): use this IV, once */
} ss_esp_crypto;

bool ss_esp_crypto_init(ss_esp_crypto *c, const ss_esp_params *p, const char **why);
void ss_esp_crypto_free(ss_esp_crypto *c);
/* Fills the IV, encrypts the payload in place and appends the ICV.  seq is the full
 * 64-bit number: its high half goes into the AAD/ICV when esn (RFC 4303 §2.2.1). */
bool ss_esp_seal(ss_esp_crypto *c, uint8_t *esp, size_t clen, uint64_t seq, bool esn);
/* Verifies the ICV and decrypts in place; false on any authentication failure. */
bool ss_esp_open(ss_esp_crypto *c, uint8_t *esp, size_t clen, uint64_t seq, bool esn);

#endif
