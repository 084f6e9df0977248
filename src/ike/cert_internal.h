/* The credential's insides, shared by cert_cred.c (loading) and cert_verify.c. */
#ifndef SS_IKE_CERT_INTERNAL_H
#define SS_IKE_CERT_INTERNAL_H

#include <stdatomic.h>

#include <openssl/x509.h>

#include "ike/cert.h"
#include "ike/wire.h"

#define SS_CERTREQ_HASH SS_CERTREQ_HASH_LEN
#define SS_CRED_MAX_CHAIN 8

enum pattern_kind { PAT_DEFAULT = 0, PAT_DN, PAT_DNS, PAT_EMAIL, PAT_IP };

struct ss_ike_cred {
	atomic_int refs;
	X509_STORE *store;          /* trust anchors, CRLs */
	bool crl;
	X509 *cert;
	STACK_OF(X509) *chain;      /* intermediates we send */
	EVP_PKEY *key;
	uint8_t *der[SS_CRED_MAX_CHAIN];   /* cert, then chain, as sent in CERT payloads */
	size_t der_len[SS_CRED_MAX_CHAIN];
	size_t n_der;
	uint8_t id[255];            /* our subject as DER (ID_DER_ASN1_DN) */
	size_t id_len;
	uint8_t certreq[SS_CERT_MAX_CA * SS_CERTREQ_HASH];
	size_t n_ca;
	enum pattern_kind pat;
	char pattern[256];          /* glob (DN, DNS, email) or address text */
	ss_addr pat_addr;
};

bool cred_set_pattern(ss_ike_cred *c, const char *p, char *err, size_t errlen);
void cert_describe(X509 *x, ss_cert_info *out);
/* X509_verify_cert of leaf with untrusted intermediates at unix time now; NULL or why. */
const char *cert_chain_verify(const ss_ike_cred *c, X509 *leaf, STACK_OF(X509) *untrusted,
			      int64_t now);

#endif
