/* Descriptor tables for the supported transforms, and the OpenSSL objects behind them. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>

#include "ike/crypto_internal.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const ss_encr_desc encrs[] = {
	/* id, bits, name, evp, key, salt, keymat, iv, pad_align, icv, aead */
	{ SS_ENCR_AES_CBC, 128, "aes128", "AES-128-CBC", 16, 0, 16, 16, 16, 0, false },
	{ SS_ENCR_AES_CBC, 256, "aes256", "AES-256-CBC", 32, 0, 32, 16, 16, 0, false },
	/* RFC 5282 §3 and RFC 4106 §3: 8-octet explicit IV, 4-octet salt from the key
	 * material, padding only to 4 octets (ESP needs that alignment; IKE accepts any). */
	{ SS_ENCR_AES_GCM_16, 128, "aes128gcm16", "AES-128-GCM", 16, 4, 20, 8, 4, 16, true },
	{ SS_ENCR_AES_GCM_16, 256, "aes256gcm16", "AES-256-GCM", 32, 4, 36, 8, 4, 16, true },
};

static const ss_integ_desc integs[] = {
	{ SS_INTEG_HMAC_SHA2_256_128, "sha256", "SHA256", 32, 16 },
	{ SS_INTEG_HMAC_SHA2_384_192, "sha384", "SHA384", 48, 24 },
	{ SS_INTEG_HMAC_SHA2_512_256, "sha512", "SHA512", 64, 32 },
};

static const ss_prf_desc prfs[] = {
	{ SS_PRF_HMAC_SHA2_256, "prfsha256", "SHA256", 32, 32 },
	{ SS_PRF_HMAC_SHA2_384, "prfsha384", "SHA384", 48, 48 },
	{ SS_PRF_HMAC_SHA2_512, "prfsha512", "SHA512", 64, 64 },
};

static const ss_dh_desc dhs[] = {
	{ SS_DH_MODP_2048, "modp2048", "modp_2048", SS_DH_KIND_MODP, 256, 256 },
	{ SS_DH_ECP_256, "ecp256", "P-256", SS_DH_KIND_ECP, 64, 32 },
	{ SS_DH_ECP_384, "ecp384", "P-384", SS_DH_KIND_ECP, 96, 48 },
	{ SS_DH_CURVE25519, "curve25519", "X25519", SS_DH_KIND_X25519, 32, 32 },
};

const ss_encr_desc *ss_encr_find(uint16_t id, uint16_t key_bits)
{
	for (size_t i = 0; i < COUNT(encrs); i++)
		if (encrs[i].id == id && encrs[i].key_bits == key_bits)
			return &encrs[i];
	return NULL;
}

const ss_integ_desc *ss_integ_find(uint16_t id)
{
	for (size_t i = 0; i < COUNT(integs); i++)
		if (integs[i].id == id)
			return &integs[i];
	return NULL;
}

const ss_prf_desc *ss_prf_find(uint16_t id)
{
	for (size_t i = 0; i < COUNT(prfs); i++)
		if (prfs[i].id == id)
			return &prfs[i];
	return NULL;
}

const ss_dh_desc *ss_dh_find(uint16_t group)
{
	for (size_t i = 0; i < COUNT(dhs); i++)
		if (dhs[i].id == group)
			return &dhs[i];
	return NULL;
}

const ss_encr_desc *ss_encr_all(size_t *n) { *n = COUNT(encrs); return encrs; }
const ss_integ_desc *ss_integ_all(size_t *n) { *n = COUNT(integs); return integs; }
const ss_prf_desc *ss_prf_all(size_t *n) { *n = COUNT(prfs); return prfs; }
const ss_dh_desc *ss_dh_all(size_t *n) { *n = COUNT(dhs); return dhs; }

/* Encryption and integrity must agree: AEAD carries its own ICV, CBC needs an HMAC. */
static const char *check_encr_integ(uint16_t encr, uint16_t bits, uint16_t integ)
{
	const ss_encr_desc *e = ss_encr_find(encr, bits);
	if (!e)
		return "unsupported encryption transform or key length";
	if (e->aead && integ != SS_INTEG_NONE)
		return "AEAD encryption combined with an integrity transform";
	if (!e->aead && !ss_integ_find(integ))
		return "unsupported or missing integrity transform";
	return NULL;
}

const char *ss_ike_suite_check(const ss_ike_suite *s)
{
	const char *why = check_encr_integ(s->encr, s->encr_bits, s->integ);
	if (why)
		return why;
	if (!ss_prf_find(s->prf))
		return "unsupported PRF";
	if (!ss_dh_find(s->dh))
		return "unsupported Diffie-Hellman group";
	return NULL;
}

const char *ss_esp_suite_check(const ss_esp_suite *s)
{
	const char *why = check_encr_integ(s->encr, s->encr_bits, s->integ);
	if (why)
		return why;
	if (s->dh != SS_DH_NONE && !ss_dh_find(s->dh))
		return "unsupported Diffie-Hellman group";
	return NULL;
}

/* ---- OpenSSL objects, fetched once ---- */

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MAC_CTX *hmac_tmpl[COUNT(prfs)];   /* digest set, no key; dup'ed per use */
static EVP_CIPHER *ciphers[COUNT(encrs)];

static void release_all(void)
{
	for (size_t i = 0; i < COUNT(hmac_tmpl); i++) {
		EVP_MAC_CTX_free(hmac_tmpl[i]);
		hmac_tmpl[i] = NULL;
	}
	for (size_t i = 0; i < COUNT(ciphers); i++) {
		EVP_CIPHER_free(ciphers[i]);
		ciphers[i] = NULL;
	}
}

static void fetch_all(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	for (size_t i = 0; mac && i < COUNT(prfs); i++) {
		EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)prfs[i].evp, 0),
			OSSL_PARAM_construct_end(),
		};
		if (c && EVP_MAC_CTX_set_params(c, p) == 1)
			hmac_tmpl[i] = c;
		else
			EVP_MAC_CTX_free(c);
	}
	EVP_MAC_free(mac);  /* the contexts hold their own references */
	for (size_t i = 0; i < COUNT(encrs); i++)
		ciphers[i] = EVP_CIPHER_fetch(NULL, encrs[i].evp, NULL);
	/* Registered after OpenSSL's own atexit handler, so it runs before it. */
	atexit(release_all);
}

EVP_MAC_CTX *ss_hmac_new(const char *digest, const uint8_t *key, size_t key_len)
{
	pthread_once(&fetch_once, fetch_all);
	for (size_t i = 0; i < COUNT(prfs); i++) {
		if (strcmp(prfs[i].evp, digest) != 0 || !hmac_tmpl[i])
			continue;
		EVP_MAC_CTX *c = EVP_MAC_CTX_dup(hmac_tmpl[i]);
		/* HMAC with an empty key is legal (RFC 2104); OpenSSL wants a non-NULL pointer. */
		static const uint8_t empty[1];
		if (c && EVP_MAC_init(c, key_len ? key : empty, key_len, NULL) == 1)
			return c;
		EVP_MAC_CTX_free(c);
		return NULL;
	}
	return NULL;
}

const EVP_CIPHER *ss_cipher_get(const ss_encr_desc *e)
{
	pthread_once(&fetch_once, fetch_all);
	for (size_t i = 0; i < COUNT(encrs); i++)
		if (&encrs[i] == e)
			return ciphers[i];
	return NULL;
}

const char *ss_crypto_preload(void)
{
	pthread_once(&fetch_once, fetch_all);
	for (size_t i = 0; i < COUNT(prfs); i++)
		if (!hmac_tmpl[i])
			return prfs[i].name;
	for (size_t i = 0; i < COUNT(encrs); i++)
		if (!ciphers[i])
			return encrs[i].evp;
	return ss_dh_preload();
}
