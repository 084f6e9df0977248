/* ESP transforms over OpenSSL 3 EVP: AES-GCM-16 (RFC 4106) and AES-CBC (RFC 3602) with
 * HMAC-SHA2 (RFC 4868).  Contexts are keyed once; per packet only the IV is set. */
#include "esp/crypto.h"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <string.h>

#include "base/secure.h"
#include "esp/wire.h"

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool init_gcm(ss_esp_crypto *c, const ss_esp_params *p, const char **why)
{
	const EVP_CIPHER *cipher;
	size_t klen = p->encr_key_len - SS_GCM_SALT_LEN;
	if (p->encr_key_len == 16 + SS_GCM_SALT_LEN)
		cipher = EVP_aes_128_gcm();
	else if (p->encr_key_len == 32 + SS_GCM_SALT_LEN)
		cipher = EVP_aes_256_gcm();
	else
		return *why = "AES-GCM key must be 16 or 32 bytes plus a 4-byte salt", false;
	if (p->integ != SS_INTEG_NONE)
		return *why = "AES-GCM is combined mode: no integrity transform", false;
	memcpy(c->salt, p->encr_key + klen, SS_GCM_SALT_LEN);
	c->aead = true;
	c->iv_len = SS_GCM_IV_LEN;
	c->icv_len = SS_GCM_ICV_LEN;
	c->block = SS_ESP_MIN_ALIGN;
	if (EVP_CipherInit_ex(c->ctx, cipher, NULL, NULL, NULL, p->dir == SS_ESP_OUT) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_SET_IVLEN, SS_GCM_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(c->ctx, NULL, NULL, p->encr_key, NULL, -1) != 1)
		return *why = "cannot initialise AES-GCM", false;
	return true;
}

static bool init_hmac(ss_esp_crypto *c, const ss_esp_params *p, const char **why)
{
	const char *md;
	size_t klen;
	switch (p->integ) {
	case SS_INTEG_HMAC_SHA2_256_128: md = "SHA256", klen = 32, c->icv_len = SS_HMAC_SHA256_ICV; break;
	case SS_INTEG_HMAC_SHA2_384_192: md = "SHA384", klen = 48, c->icv_len = SS_HMAC_SHA384_ICV; break;
	case SS_INTEG_HMAC_SHA2_512_256: md = "SHA512", klen = 64, c->icv_len = SS_HMAC_SHA512_ICV; break;
	case SS_INTEG_NONE:
		if (!p->allow_no_integrity)
			return *why = "AES-CBC needs an integrity transform", false;
		c->icv_len = 0;
		return true;
	default:
		return *why = "unsupported integrity transform", false;
	}
	/* RFC 4868 §2.1.1: the key is as long as the hash output. */
	if (p->integ_key_len != klen || !p->integ_key)
		return *why = "HMAC-SHA2 key length must equal the hash output size", false;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return *why = "HMAC unavailable", false;
	c->mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	OSSL_PARAM prm[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0),
		OSSL_PARAM_construct_end(),
	};
	if (!c->mac || EVP_MAC_init(c->mac, p->integ_key, klen, prm) != 1)
		return *why = "cannot initialise HMAC", false;
	return true;
}

/* CBC IVs must be unpredictable (RFC 3602 §3).  NIST SP 800-38A Appendix C: encrypt a nonce
 * (here the sequence number, unique per SA) with the block cipher under a secret key; we use
 * a separate random key so the IV generator shares nothing with the data key. */
static bool init_ivgen(ss_esp_crypto *c, const char **why)
{
	uint8_t k[16];
	c->ivgen = EVP_CIPHER_CTX_new();
	bool ok = c->ivgen && ss_random(k, sizeof(k)) &&
		EVP_EncryptInit_ex(c->ivgen, EVP_aes_128_ecb(), NULL, k, NULL) == 1 &&
		EVP_CIPHER_CTX_set_padding(c->ivgen, 0) == 1;
	ss_wipe(k, sizeof(k));
	if (!ok)
		*why = "cannot initialise the CBC IV generator";
	return ok;
}

static bool init_cbc(ss_esp_crypto *c, const ss_esp_params *p, const char **why)
{
	const EVP_CIPHER *cipher;
	if (p->encr_key_len == 16)
		cipher = EVP_aes_128_cbc();
	else if (p->encr_key_len == 32)
		cipher = EVP_aes_256_cbc();
	else
		return *why = "AES-CBC key must be 16 or 32 bytes", false;
	c->iv_len = SS_CBC_IV_LEN;
	c->block = SS_CBC_BLOCK;
	if (EVP_CipherInit_ex(c->ctx, cipher, NULL, p->encr_key, NULL, p->dir == SS_ESP_OUT) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->ctx, 0) != 1)
		return *why = "cannot initialise AES-CBC", false;
	if (!init_hmac(c, p, why))
		return false;
	return p->dir == SS_ESP_IN || init_ivgen(c, why);
}

bool ss_esp_crypto_init(ss_esp_crypto *c, const ss_esp_params *p, const char **why)
{
	memset(c, 0, sizeof(*c));
	if (!p->encr_key)
		return *why = "no encryption key", false;
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->ctx)
		return *why = "out of memory", false;
	bool ok;
	switch (p->encr) {
	case SS_ENCR_AES_GCM_16: ok = init_gcm(c, p, why); break;
	case SS_ENCR_AES_CBC: ok = init_cbc(c, p, why); break;
	default: ok = false, *why = "unsupported encryption transform"; break;
	}
	if (!ok)
		ss_esp_crypto_free(c);
	return ok;
}

void ss_esp_crypto_free(ss_esp_crypto *c)
{
	/* EVP_*_free cleanse the key schedules. */
	EVP_CIPHER_CTX_free(c->ctx);
	EVP_CIPHER_CTX_free(c->ivgen);
	EVP_MAC_CTX_free(c->mac);
	ss_wipe(c, sizeof(*c));
}

/* RFC 4106 §5: AAD is SPI || seq, or SPI || seq high || seq low with ESN. */
static size_t gcm_aad(const uint8_t *esp, uint64_t seq, bool esn, uint8_t aad[12])
{
	memcpy(aad, esp, 4);
	if (!esn) {
		memcpy(aad + 4, esp + 4, 4);
		return SS_GCM_AAD_LEN;
	}
	put_be32(aad + 4, (uint32_t)(seq >> 32));
	memcpy(aad + 8, esp + 4, 4);
	return SS_GCM_AAD_ESN_LEN;
}

static bool gcm(ss_esp_crypto *c, uint8_t *esp, size_t clen, uint64_t seq, bool esn, bool enc)
{
	uint8_t nonce[SS_GCM_NONCE_LEN], aad[12];
	uint8_t *iv = esp + SS_ESP_HDR_LEN, *pt = iv + SS_GCM_IV_LEN, *icv = pt + clen;
	int n = 0, m = 0;
	if (enc) {
		/* RFC 4106 §3.1: the IV must never repeat under a key; the sequence number never
		 * does within an SA, so it is the IV (as RFC 4106 §3.1 suggests, a counter). */
		put_be32(iv, (uint32_t)(seq >> 32));
		put_be32(iv + 4, (uint32_t)seq);
	}
	memcpy(nonce, c->salt, SS_GCM_SALT_LEN);
	memcpy(nonce + SS_GCM_SALT_LEN, iv, SS_GCM_IV_LEN);
	size_t alen = gcm_aad(esp, seq, esn, aad);
	if (EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, nonce, -1) != 1 ||
	    EVP_CipherUpdate(c->ctx, NULL, &n, aad, (int)alen) != 1 ||
	    EVP_CipherUpdate(c->ctx, pt, &n, pt, (int)clen) != 1)
		return false;
	/* The tag as a parameter of the provider's context, straight: EVP_CIPHER_CTX_ctrl would
	 * build the same parameter after its own dispatch, once per packet (perf: the
	 * parameter lookups were a tenth of encap). */
	if (enc) {
		OSSL_PARAM get[2] = { OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, icv, SS_GCM_ICV_LEN),
				      OSSL_PARAM_END };
		return EVP_CipherFinal_ex(c->ctx, pt + n, &m) == 1 && EVP_CIPHER_CTX_get_params(c->ctx, get) == 1;
	}
	uint8_t tag[SS_GCM_ICV_LEN];
	memcpy(tag, icv, sizeof(tag));
	OSSL_PARAM set[2] = { OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, sizeof(tag)), OSSL_PARAM_END };
	return EVP_CIPHER_CTX_set_params(c->ctx, set) == 1 && EVP_CipherFinal_ex(c->ctx, pt + n, &m) == 1;
}

/* RFC 4303 §2.2.1: with ESN the high 32 bits are appended, implicitly, after the packet. */
static bool hmac(ss_esp_crypto *c, const uint8_t *esp, size_t authlen, uint64_t seq, bool esn,
		 uint8_t out[EVP_MAX_MD_SIZE])
{
	uint8_t hi[4];
	size_t outl = 0;
	put_be32(hi, (uint32_t)(seq >> 32));
	/* A NULL key re-initialises with the key set at SA creation (OpenSSL 3.0 duplicates the
	 * digest context to do so: about two allocations per packet inside libcrypto). */
	return EVP_MAC_init(c->mac, NULL, 0, NULL) == 1 &&
		EVP_MAC_update(c->mac, esp, authlen) == 1 &&
		(!esn || EVP_MAC_update(c->mac, hi, sizeof(hi)) == 1) &&
		EVP_MAC_final(c->mac, out, &outl, EVP_MAX_MD_SIZE) == 1 && outl >= c->icv_len;
}

static bool cbc_seal(ss_esp_crypto *c, uint8_t *esp, size_t clen, uint64_t seq, bool esn)
{
	uint8_t *iv = esp + SS_ESP_HDR_LEN, *pt = iv + SS_CBC_IV_LEN;
	int n = 0;
	if (c->test_iv) {
		memcpy(iv, c->test_iv, SS_CBC_IV_LEN);
		c->test_iv = NULL;
	} else {
		uint8_t ctr[SS_CBC_IV_LEN] = { 0 };
		put_be32(ctr, (uint32_t)(seq >> 32));
		put_be32(ctr + 4, (uint32_t)seq);
		if (EVP_EncryptUpdate(c->ivgen, iv, &n, ctr, SS_CBC_IV_LEN) != 1)
			return false;
	}
	if (EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, iv, -1) != 1 ||
	    EVP_CipherUpdate(c->ctx, pt, &n, pt, (int)clen) != 1)
		return false;
	if (!c->mac)
		return true;
	uint8_t md[EVP_MAX_MD_SIZE];
	bool ok = hmac(c, esp, SS_ESP_HDR_LEN + SS_CBC_IV_LEN + clen, seq, esn, md);
	if (ok)
		memcpy(pt + clen, md, c->icv_len);
	return ok;
}

static bool cbc_open(ss_esp_crypto *c, uint8_t *esp, size_t clen, uint64_t seq, bool esn)
{
	uint8_t *iv = esp + SS_ESP_HDR_LEN, *ct = iv + SS_CBC_IV_LEN;
	int n = 0;
	if (clen % SS_CBC_BLOCK)
		return false;
	if (c->mac) {
		/* Verify before decrypting (RFC 4303 §3.4.4): no padding oracle. */
		uint8_t md[EVP_MAX_MD_SIZE];
		if (!hmac(c, esp, SS_ESP_HDR_LEN + SS_CBC_IV_LEN + clen, seq, esn, md) ||
		    !ss_ct_eq(md, ct + clen, c->icv_len))
			return false;
	}
	return EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, iv, -1) == 1 &&
		EVP_CipherUpdate(c->ctx, ct, &n, ct, (int)clen) == 1;
}

bool ss_esp_seal(ss_esp_crypto *c, uint8_t *esp, size_t clen, uint64_t seq, bool esn)
{
	return c->aead ? gcm(c, esp, clen, seq, esn, true) : cbc_seal(c, esp, clen, seq, esn);
}

bool ss_esp_open(ss_esp_crypto *c, uint8_t *esp, size_t clen, uint64_t seq, bool esn)
{
	return c->aead ? gcm(c, esp, clen, seq, esn, false) : cbc_open(c, esp, clen, seq, esn);
}
