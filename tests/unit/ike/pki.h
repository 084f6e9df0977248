/* A throwaway PKI for unit tests, made with OpenSSL's X509 API: keys, CAs, intermediates,
 * host certificates with chosen validity, SANs and key usage, CRLs; written as PEM files
 * into a temporary directory so that ss_ike_cred_load() reads them like the daemon does. */
#ifndef SS_TEST_IKE_PKI_H
#define SS_TEST_IKE_PKI_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ike/cert.h"

/* "P-256", "P-384", "P-521", "RSA" (2048), "ED25519". */
EVP_PKEY *pki_key(const char *type);

typedef struct pki_spec {
	const char *cn;
	bool ca;
	long from, to;          /* validity, seconds relative to now */
	const char *san;        /* "IP:10.0.0.1,DNS:a.example", or NULL */
	const char *ku;         /* keyUsage value, or NULL (none) */
	long serial;
} pki_spec;

/* Signs with issuer (NULL: self-signed with key). */
X509 *pki_cert(EVP_PKEY *key, const pki_spec *s, X509 *issuer, EVP_PKEY *issuer_key);
/* A CRL of ca revoking serial (0: none), valid from now+from to now+to. */
X509_CRL *pki_crl(X509 *ca, EVP_PKEY *ca_key, long serial, long from, long to);

/* A fresh temporary directory; files are named inside it. */
const char *pki_dir(void);
void pki_cleanup(void);
/* Writes PEM: certificates (in order) to name; returns the path (static per name slot). */
const char *pki_write_certs(const char *name, X509 *const *x, size_t n);
const char *pki_write_crl(const char *name, X509_CRL *crl);
/* The private key's PEM in memory (caller frees with free()). */
unsigned char *pki_key_pem(EVP_PKEY *k, size_t *len);

/* A credential: ca file, our cert + intermediates, key, optional CRL, peer_id. */
ss_ike_cred *pki_cred(X509 *ca, X509 *cert, X509 *const *chain, size_t n_chain, EVP_PKEY *key,
		      X509_CRL *crl, const char *peer_id);

#endif
