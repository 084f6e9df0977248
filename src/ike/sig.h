/* Signatures for IKEv2 AUTH through OpenSSL 3: the Digital Signature method of RFC 7427
 * (AlgorithmIdentifier + signature; ECDSA P-256/P-384/P-521, RSA-PSS, RSA PKCS#1 v1.5,
 * Ed25519/Ed448) and the older methods kept for interop: RSA (1, PKCS#1 v1.5 with SHA-1,
 * RFC 7296 §3.8) and ECDSA (9-11, RFC 4754, r | s).  The octets signed are RFC 7296 §2.15's
 * (ss_sig_octets).  No ASN.1 is encoded or decoded here by hand: AlgorithmIdentifiers come
 * from the signature provider (OSSL_SIGNATURE_PARAM_ALGORITHM_ID) and are read back with
 * d2i_X509_ALGOR / RSA_PSS_PARAMS; ECDSA values go through ECDSA_SIG. */
#ifndef SS_IKE_SIG_H
#define SS_IKE_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evp_pkey_st;

/* A set of RFC 7427 hash algorithms as bits (1u << SS_HASH_*). */
typedef uint32_t ss_hash_set;

/* What we announce in SIGNATURE_HASH_ALGORITHMS and accept: SHA2-256/384/512, Identity. */
ss_hash_set ss_sig_hashes_ours(void);
/* The notify's data (2 octets per algorithm) for a set; returns the length written. */
size_t ss_sig_hashes_encode(ss_hash_set s, uint8_t *out, size_t cap);
/* Parses a peer's notify data; unknown algorithms are skipped (RFC 7427 §4). */
ss_hash_set ss_sig_hashes_decode(const uint8_t *p, size_t len);

/* Longest AUTH data we produce (RSA 8192 and a PSS AlgorithmIdentifier fit). */
#define SS_SIG_MAX 1200

/* Signs with our key.  With a non-empty peer_hashes, RFC 7427 (method 14) with the best hash
 * both support (ECDSA: the curve's own hash first; RSA: PSS with SHA2-256 first; EdDSA:
 * Identity); with none announced, the older method of the key's type (RSA 1, ECDSA 9-11).
 * *why: static text when it fails (no hash in common, unsupported key). */
bool ss_sig_sign(struct evp_pkey_st *key, ss_hash_set peer_hashes, const uint8_t *octets,
		 size_t olen, uint8_t *method, uint8_t *out, size_t cap, size_t *out_len,
		 const char **why);

/* Verifies an AUTH payload of a signature method (1, 9-11, 14) with the peer's public key.
 * Refuses AlgorithmIdentifiers whose hash we did not announce, and key types that do not
 * match the algorithm.  *why: static text when it fails. */
bool ss_sig_verify(struct evp_pkey_st *pub, uint8_t method, const uint8_t *auth, size_t alen,
		   const uint8_t *octets, size_t olen, const char **why);

/* True for the AUTH methods this file handles. */
bool ss_sig_method(uint8_t method);

#endif
