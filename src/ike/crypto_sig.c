/* AUTH signatures over OpenSSL's EVP_DigestSign / EVP_DigestVerify (sig.h). */
#include "ike/sig.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ike/wire.h"

#define BIT(h) (1u << (h))

ss_hash_set ss_sig_hashes_ours(void)
{
	/* SHA-1 is not offered (RFC 8247 §3.2: MUST NOT for RFC 7427 signatures). */
	return BIT(SS_HASH_SHA2_256) | BIT(SS_HASH_SHA2_384) | BIT(SS_HASH_SHA2_512) |
	       BIT(SS_HASH_IDENTITY);
}

size_t ss_sig_hashes_encode(ss_hash_set s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (unsigned h = 1; h < 16 && n + 2 <= cap; h++)
		if (s & BIT(h)) {
			out[n++] = 0;
			out[n++] = (uint8_t)h;
		}
	return n;
}

ss_hash_set ss_sig_hashes_decode(const uint8_t *p, size_t len)
{
	ss_hash_set s = 0;
	for (size_t i = 0; i + 2 <= len; i += 2) {
		unsigned h = (unsigned)p[i] << 8 | p[i + 1];
		if (h >= 1 && h <= SS_HASH_IDENTITY)
			s |= BIT(h);
	}
	return s;
}

bool ss_sig_method(uint8_t method)
{
	return method == SS_AUTH_RSA_SIG || method == SS_AUTH_ECDSA_256 ||
	       method == SS_AUTH_ECDSA_384 || method == SS_AUTH_ECDSA_521 ||
	       method == SS_AUTH_DIGITAL_SIG;
}

static const char *hash_md(unsigned h)
{
	switch (h) {
	case SS_HASH_SHA1: return "SHA1";
	case SS_HASH_SHA2_256: return "SHA256";
	case SS_HASH_SHA2_384: return "SHA384";
	case SS_HASH_SHA2_512: return "SHA512";
	default: return NULL;
	}
}

/* The EC curve of a key: 256, 384, 521, or 0. */
static int ec_bits(EVP_PKEY *k)
{
	if (!EVP_PKEY_is_a(k, "EC"))
		return 0;
	char g[64];
	size_t gl = 0;
	if (!EVP_PKEY_get_group_name(k, g, sizeof(g), &gl))
		return 0;
	if (strcmp(g, "prime256v1") == 0 || strcmp(g, "P-256") == 0)
		return 256;
	if (strcmp(g, "secp384r1") == 0 || strcmp(g, "P-384") == 0)
		return 384;
	if (strcmp(g, "secp521r1") == 0 || strcmp(g, "P-521") == 0)
		return 521;
	return 0;
}

static bool is_rsa(EVP_PKEY *k) { return EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS"); }
static bool is_eddsa(EVP_PKEY *k) { return EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448"); }

/* The hash for a key under RFC 7427, in our order of preference; 0 when none is shared. */
static unsigned pick_hash(EVP_PKEY *k, ss_hash_set peer)
{
	static const unsigned ec256[] = { SS_HASH_SHA2_256, SS_HASH_SHA2_384, SS_HASH_SHA2_512, 0 };
	static const unsigned ec384[] = { SS_HASH_SHA2_384, SS_HASH_SHA2_512, SS_HASH_SHA2_256, 0 };
	static const unsigned ec521[] = { SS_HASH_SHA2_512, SS_HASH_SHA2_384, SS_HASH_SHA2_256, 0 };
	static const unsigned ed[] = { SS_HASH_IDENTITY, 0 };
	int b = ec_bits(k);
	const unsigned *order = is_eddsa(k) ? ed : b == 384 ? ec384 : b == 521 ? ec521 : ec256;
	if (!is_eddsa(k) && !b && !is_rsa(k))
		return 0;
	for (; *order; order++)
		if (peer & ss_sig_hashes_ours() & BIT(*order))
			return *order;
	return 0;
}

/* ECDSA DER Ecdsa-Sig-Value <-> r | s of n bytes each (RFC 4754 §7). */
static bool ecdsa_der_to_raw(const uint8_t *der, size_t len, size_t n, uint8_t *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	bool ok = s && BN_bn2binpad(ECDSA_SIG_get0_r(s), out, (int)n) == (int)n &&
		  BN_bn2binpad(ECDSA_SIG_get0_s(s), out + n, (int)n) == (int)n;
	ECDSA_SIG_free(s);
	return ok;
}

static size_t ecdsa_raw_to_der(const uint8_t *raw, size_t n, uint8_t *out, size_t cap)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)n, NULL), *v = BN_bin2bn(raw + n, (int)n, NULL);
	if (!s || !r || !v || !ECDSA_SIG_set0(s, r, v)) {
		BN_free(r);
		BN_free(v);
		ECDSA_SIG_free(s);
		return 0;
	}
	int len = i2d_ECDSA_SIG(s, NULL);
	size_t got = 0;
	if (len > 0 && (size_t)len <= cap) {
		unsigned char *p = out;
		got = (size_t)i2d_ECDSA_SIG(s, &p);
	}
	ECDSA_SIG_free(s);
	return got;
}

static size_t field_len(int bits) { return ((size_t)bits + 7) / 8; }

/* One EVP_DigestSign: md NULL for EdDSA.  pss: RSA-PSS, salt = hash length, MGF1 = hash.
 * algid (optional) receives the provider's AlgorithmIdentifier. */
static bool do_sign(EVP_PKEY *key, const char *md, bool pss, const uint8_t *in, size_t ilen,
		    uint8_t *sig, size_t *slen, uint8_t *algid, size_t *alen)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	bool ok = mc && EVP_DigestSignInit_ex(mc, &pc, md, NULL, NULL, key, NULL) == 1;
	if (ok && pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1;
	if (ok && algid) {
		OSSL_PARAM p[] = { OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, algid, *alen),
				   OSSL_PARAM_END };
		ok = EVP_PKEY_CTX_get_params(pc, p) == 1 && OSSL_PARAM_modified(&p[0]) &&
		     p[0].return_size > 0 && p[0].return_size <= 255;
		*alen = ok ? p[0].return_size : 0;
	}
	size_t need = 0;
	ok = ok && EVP_DigestSign(mc, NULL, &need, in, ilen) == 1 && need <= *slen &&
	     EVP_DigestSign(mc, sig, slen, in, ilen) == 1;
	EVP_MD_CTX_free(mc);
	return ok;
}

bool ss_sig_sign(EVP_PKEY *key, ss_hash_set peer_hashes, const uint8_t *octets, size_t olen,
		 uint8_t *method, uint8_t *out, size_t cap, size_t *out_len, const char **why)
{
	uint8_t sig[SS_SIG_MAX];
	size_t slen = sizeof(sig);
	*why = "cannot sign";
	if (peer_hashes) {
		unsigned h = pick_hash(key, peer_hashes);
		if (!h) {
			*why = "no signature hash in common with the peer";
			return false;
		}
		uint8_t algid[256];
		size_t alen = sizeof(algid);
		if (!do_sign(key, is_eddsa(key) ? NULL : hash_md(h), is_rsa(key), octets, olen, sig,
			     &slen, algid, &alen) || 1 + alen + slen > cap)
			return false;
		out[0] = (uint8_t)alen;
		memcpy(out + 1, algid, alen);
		memcpy(out + 1 + alen, sig, slen);
		*out_len = 1 + alen + slen;
		*method = SS_AUTH_DIGITAL_SIG;
		return true;
	}
	int b = ec_bits(key);
	if (is_rsa(key)) {
		if (!do_sign(key, "SHA1", false, octets, olen, out, &slen, NULL, NULL) || slen > cap)
			return false;
		*out_len = slen;
		*method = SS_AUTH_RSA_SIG;
		return true;
	}
	if (!b) {
		*why = "the peer announced no RFC 7427 hashes and this key has no older method";
		return false;
	}
	const char *md = b == 256 ? "SHA256" : b == 384 ? "SHA384" : "SHA512";
	size_t n = field_len(b);
	if (!do_sign(key, md, false, octets, olen, sig, &slen, NULL, NULL) || 2 * n > cap ||
	    !ecdsa_der_to_raw(sig, slen, n, out))
		return false;
	*out_len = 2 * n;
	*method = b == 256 ? SS_AUTH_ECDSA_256 : b == 384 ? SS_AUTH_ECDSA_384 : SS_AUTH_ECDSA_521;
	return true;
}

typedef struct verify_how {
	const char *md;     /* NULL: EdDSA */
	bool pss;
	int salt;           /* PSS salt length */
	const char *mgf1;   /* PSS MGF1 hash */
} verify_how;

static const char *md_of_algor(const X509_ALGOR *a, unsigned *hash)
{
	int nid = a ? OBJ_obj2nid(a->algorithm) : NID_sha1;
	switch (nid) {
	case NID_sha256: *hash = SS_HASH_SHA2_256; return "SHA256";
	case NID_sha384: *hash = SS_HASH_SHA2_384; return "SHA384";
	case NID_sha512: *hash = SS_HASH_SHA2_512; return "SHA512";
	default: *hash = SS_HASH_SHA1; return "SHA1";
	}
}

/* RSASSA-PSS-params (RFC 4055): hash, MGF1 hash, salt; trailer must be 1. */
static const char *pss_params(const X509_ALGOR *alg, verify_how *v, unsigned *hash)
{
	int ptype = 0;
	const void *pval = NULL;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE)
		return "RSA-PSS AlgorithmIdentifier without parameters";
	ASN1_TYPE t = { .type = V_ASN1_SEQUENCE };
	t.value.sequence = (ASN1_STRING *)pval;
	RSA_PSS_PARAMS *pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), &t);
	if (!pss)
		return "malformed RSA-PSS parameters";
	const char *err = NULL;
	unsigned mh = 0;
	/* MGF1's own parameter is the AlgorithmIdentifier of its hash. */
	X509_ALGOR *mgf_hash = NULL;
	if (pss->maskGenAlgorithm && pss->maskGenAlgorithm->parameter &&
	    pss->maskGenAlgorithm->parameter->type == V_ASN1_SEQUENCE)
		mgf_hash = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
						     pss->maskGenAlgorithm->parameter);
	v->md = md_of_algor(pss->hashAlgorithm, hash);
	v->mgf1 = md_of_algor(mgf_hash, &mh);
	X509_ALGOR_free(mgf_hash);
	long salt = pss->saltLength ? ASN1_INTEGER_get(pss->saltLength) : 20;
	long trailer = pss->trailerField ? ASN1_INTEGER_get(pss->trailerField) : 1;
	if (pss->maskGenAlgorithm && OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1)
		err = "RSA-PSS with a mask generation function other than MGF1";
	else if (salt < 0 || salt > 1024 || trailer != 1)
		err = "RSA-PSS salt length or trailer out of range";
	v->pss = true;
	v->salt = (int)salt;
	RSA_PSS_PARAMS_free(pss);
	return err;
}

/* RFC 7427 §3: reads the AlgorithmIdentifier and says how to verify, or why not. */
static const char *parse_algid(EVP_PKEY *pub, const uint8_t *p, size_t len, verify_how *v)
{
	const unsigned char *q = p;
	X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &q, (long)len);
	if (!alg || (size_t)(q - p) != len) {
		X509_ALGOR_free(alg);
		return "malformed signature AlgorithmIdentifier";
	}
	const char *err = NULL;
	unsigned hash = 0;
	int nid = OBJ_obj2nid(alg->algorithm);
	switch (nid) {
	case NID_ecdsa_with_SHA256: v->md = "SHA256"; hash = SS_HASH_SHA2_256; break;
	case NID_ecdsa_with_SHA384: v->md = "SHA384"; hash = SS_HASH_SHA2_384; break;
	case NID_ecdsa_with_SHA512: v->md = "SHA512"; hash = SS_HASH_SHA2_512; break;
	case NID_sha256WithRSAEncryption: v->md = "SHA256"; hash = SS_HASH_SHA2_256; break;
	case NID_sha384WithRSAEncryption: v->md = "SHA384"; hash = SS_HASH_SHA2_384; break;
	case NID_sha512WithRSAEncryption: v->md = "SHA512"; hash = SS_HASH_SHA2_512; break;
	case NID_rsassaPss: err = pss_params(alg, v, &hash); break;
	case NID_ED25519: case NID_ED448: v->md = NULL; hash = SS_HASH_IDENTITY; break;
	default: err = "signature algorithm not supported"; break;
	}
	bool ec = nid == NID_ecdsa_with_SHA256 || nid == NID_ecdsa_with_SHA384 || nid == NID_ecdsa_with_SHA512;
	bool rsa = nid == NID_sha256WithRSAEncryption || nid == NID_sha384WithRSAEncryption ||
		   nid == NID_sha512WithRSAEncryption || nid == NID_rsassaPss;
	if (!err && !(ss_sig_hashes_ours() & BIT(hash)))
		err = "signature hash not one we announced";
	else if (!err && ((ec && !ec_bits(pub)) || (rsa && !is_rsa(pub)) ||
			  (nid == NID_ED25519 && !EVP_PKEY_is_a(pub, "ED25519")) ||
			  (nid == NID_ED448 && !EVP_PKEY_is_a(pub, "ED448"))))
		err = "signature algorithm does not match the certificate's key";
	X509_ALGOR_free(alg);
	return err;
}

static bool do_verify(EVP_PKEY *pub, const verify_how *v, const uint8_t *sig, size_t slen,
		      const uint8_t *in, size_t ilen)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	bool ok = mc && EVP_DigestVerifyInit_ex(mc, &pc, v->md, NULL, NULL, pub, NULL) == 1;
	if (ok && v->pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, v->mgf1, NULL) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, v->salt) == 1;
	ok = ok && EVP_DigestVerify(mc, sig, slen, in, ilen) == 1;
	EVP_MD_CTX_free(mc);
	return ok;
}

bool ss_sig_verify(EVP_PKEY *pub, uint8_t method, const uint8_t *auth, size_t alen,
		   const uint8_t *octets, size_t olen, const char **why)
{
	verify_how v = { 0 };
	*why = "bad signature";
	if (method == SS_AUTH_DIGITAL_SIG) {
		/* §3: one octet of length, the AlgorithmIdentifier, then the signature. */
		if (alen < 2 || (size_t)auth[0] + 1 >= alen) {
			*why = "AUTH: expected length, AlgorithmIdentifier and signature";
			return false;
		}
		const char *err = parse_algid(pub, auth + 1, auth[0], &v);
		if (err) {
			*why = err;
			return false;
		}
		return do_verify(pub, &v, auth + 1 + auth[0], alen - 1 - auth[0], octets, olen);
	}
	if (method == SS_AUTH_RSA_SIG) {
		if (!is_rsa(pub)) {
			*why = "RSA signature, but the certificate's key is not RSA";
			return false;
		}
		v.md = "SHA1";
		return do_verify(pub, &v, auth, alen, octets, olen);
	}
	int want = method == SS_AUTH_ECDSA_256 ? 256 : method == SS_AUTH_ECDSA_384 ? 384 :
		   method == SS_AUTH_ECDSA_521 ? 521 : 0;
	if (!want || ec_bits(pub) != want) {
		*why = want ? "ECDSA method does not match the certificate's curve" :
			      "authentication method not supported";
		return false;
	}
	size_t n = field_len(want);
	uint8_t der[160];
	size_t dl = alen == 2 * n ? ecdsa_raw_to_der(auth, n, der, sizeof(der)) : 0;
	if (!dl) {
		*why = "ECDSA signature: expected r and s of the curve's size";
		return false;
	}
	v.md = want == 256 ? "SHA256" : want == 384 ? "SHA384" : "SHA512";
	return do_verify(pub, &v, der, dl, octets, olen);
}
