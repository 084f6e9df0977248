/* A credential's private key is wiped when freed.  OpenSSL 3.0 leaves copies of a decoded
 * key in memory it frees (its decoders free the DER without cleansing it), so softsad and
 * softsa make OpenSSL wipe every block it frees (ss_openssl_wipe_on_free, first thing in
 * main).  Here the same call is made with an observer that scans every block OpenSSL frees,
 * after the wipe, while a credential is loaded from PEM, signs, and is released: neither the
 * key's secret (EC scalar, Ed25519 seed, an RSA prime) nor the PEM text may be found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "base/secure.h"
#include "ike/cert.h"
#include "ike/sig.h"
#include "ike/wire.h"
#include "pki.h"

static bool scanning;
static uint8_t needle[2][600];
static size_t needle_len[2];
static int hits[2];

static bool contains(const uint8_t *p, size_t n, const uint8_t *x, size_t xl)
{
	for (size_t i = 0; xl && i + xl <= n; i++)
		if (p[i] == x[0] && memcmp(p + i, x, xl) == 0)
			return true;
	return false;
}

/* Each block OpenSSL frees, after ss_openssl_wipe_on_free() wiped it. */
static void observe(const void *p, size_t n)
{
	for (int k = 0; scanning && k < 2; k++)
		if (contains(p, n, needle[k], needle_len[k]))
			hits[k]++;
}

/* The key's secret as bytes: what must never be left in freed memory. */
static size_t secret_of(EVP_PKEY *k, uint8_t *out, size_t cap)
{
	if (EVP_PKEY_is_a(k, "ED25519")) {
		size_t n = cap;
		return EVP_PKEY_get_raw_private_key(k, out, &n) == 1 ? n : 0;
	}
	BIGNUM *bn = NULL;
	const char *name = EVP_PKEY_is_a(k, "RSA") ? OSSL_PKEY_PARAM_RSA_FACTOR1 : OSSL_PKEY_PARAM_PRIV_KEY;
	if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
		return 0;
	int n = BN_num_bytes(bn);
	size_t got = n > 0 && (size_t)n <= cap ? (size_t)BN_bn2bin(bn, out) : 0;
	BN_clear_free(bn);
	return got;
}

static void one_key(const char *type)
{
	EVP_PKEY *cak = pki_key("P-256"), *k = pki_key(type);
	pki_spec cs = { "CA", true, -86400, 86400, NULL, "critical,keyCertSign", 1 };
	X509 *ca = pki_cert(cak, &cs, NULL, NULL);
	pki_spec hs = { "h", false, -86400, 86400, "IP:10.0.0.1", "critical,digitalSignature", 2 };
	X509 *leaf = pki_cert(k, &hs, ca, cak);
	const char *cap = pki_write_certs("w-ca.pem", &ca, 1), *cp = pki_write_certs("w-h.pem", &leaf, 1);
	size_t pem_len;
	unsigned char *pem = pki_key_pem(k, &pem_len);
	needle_len[0] = secret_of(k, needle[0], sizeof(needle[0]));
	assert_true(needle_len[0] >= 32);
	/* A line of the PEM's base64: the second (the first may be mostly a fixed header), or
	 * the first when there is only one (Ed25519); never past the end of the line. */
	const char *l1 = strchr((char *)pem, '\n') + 1, *l2 = strchr(l1, '\n') + 1;
	if (*l2 == '-')
		l2 = l1;
	size_t ll = (size_t)(strchr(l2, '\n') - l2);
	needle_len[1] = ll < 40 ? ll : 40;
	assert_true(needle_len[1] >= 32);
	memcpy(needle[1], l2, needle_len[1]);
	EVP_PKEY_free(k);
	hits[0] = hits[1] = 0;

	scanning = true;
	ss_cred_files f = { .ca = cap, .cert = cp, .key_pem = pem, .key_len = pem_len };
	char err[256];
	ss_ike_cred *c = ss_ike_cred_load(&f, err, sizeof(err));
	assert_non_null(c);
	uint8_t msg[100] = { 1 }, sig[SS_SIG_MAX], method;
	size_t sl;
	const char *why;
	assert_true(ss_sig_sign(ss_ike_cred_key(c), 1u << SS_HASH_SHA2_256 | 1u << SS_HASH_IDENTITY, msg,
				sizeof(msg), &method, sig, sizeof(sig), &sl, &why));
	assert_true(ss_sig_sign(ss_ike_cred_key(c), 0, msg, sizeof(msg), &method, sig, sizeof(sig), &sl, &why) ||
		    strcmp(type, "ED25519") == 0);
	ss_ike_cred_unref(c);
	scanning = false;

	if (hits[0] || hits[1])
		fail_msg("%s: freed blocks held the private key %d times, its PEM text %d times", type,
			 hits[0], hits[1]);
	OPENSSL_cleanse(pem, pem_len);
	free(pem);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(cak);
}

static void key_types(void **state)
{
	/* The scanner itself finds a needle; and a block OpenSSL frees is wiped before it. */
	needle_len[0] = 8;
	memcpy(needle[0], "NEEDLE!!", 8);
	needle_len[1] = 0;
	uint8_t probe[64] = { 0 };
	memcpy(probe + 10, "NEEDLE!!", 8);
	scanning = true;
	observe(probe, sizeof(probe));
	assert_int_equal(hits[0], 1);
	char *p = OPENSSL_malloc(64);
	memcpy(p + 10, "NEEDLE!!", 8);
	OPENSSL_free(p);
	scanning = false;
	assert_int_equal(hits[0], 1);

	static const char *const types[] = { "P-256", "P-384", "RSA", "ED25519" };
	for (size_t i = 0; i < 4; i++)
		one_key(types[i]);
	pki_cleanup();
}

int main(void)
{
	/* Before OpenSSL allocates anything, as softsad and softsa do. */
	if (!ss_openssl_wipe_on_free(observe))
		return 1;
	ss_log_set_level(SS_LOG_ERR);
	const struct CMUnitTest tests[] = { cmocka_unit_test(key_types) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
