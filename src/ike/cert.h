/* X.509 credentials for IKEv2 certificate authentication (RFC 7296 §3.6/3.7, RFC 7427).
 *
 * A credential holds, ready for the engine: the trust anchors (and CRLs) we verify peers
 * against, our certificate with its intermediates, our private key, and the pattern the
 * peer's certificate identity must match.  It is loaded once, at policy load time (files are
 * read there, never by the engine), shared by reference between the policy and every IKE SA
 * that uses it, and freed with the last reference; OpenSSL clears the private key's memory
 * when it is freed.  All parsing and verification is OpenSSL's (PEM, X509_verify_cert). */
#ifndef SS_IKE_CERT_H
#define SS_IKE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"

typedef struct ss_ike_cred ss_ike_cred;
struct evp_pkey_st;
struct x509_st;

/* Longest intermediate chain a peer may present (X509_VERIFY_PARAM depth). */
#define SS_CERT_MAX_DEPTH 4
/* Trust anchors announced in CERTREQ. */
#define SS_CERT_MAX_CA 16

typedef struct ss_cred_files {
	const char *ca;          /* PEM file, or a directory of PEM files (every *.pem / *.crt) */
	const char *cert;        /* PEM: our certificate first, then intermediates to send */
	const uint8_t *key_pem;  /* the private key's PEM bytes (the caller read and wipes them) */
	size_t key_len;
	const char *crl;         /* PEM CRL file, or NULL: no revocation checking */
	/* What the peer's certificate must name: "dn:GLOB", "dns:GLOB", "email:GLOB", "ip:ADDR",
	 * or a bare value (guessed: '=' DN, '@' email, an address, else DNS).  NULL: a SAN
	 * iPAddress equal to the peer's address. */
	const char *peer_id;
} ss_cred_files;

/* Loads a credential; NULL with a message in err on failure (unreadable file, no
 * certificate, key that does not match the certificate, bad pattern). */
ss_ike_cred *ss_ike_cred_load(const ss_cred_files *f, char *err, size_t errlen);
ss_ike_cred *ss_ike_cred_ref(ss_ike_cred *c);
void ss_ike_cred_unref(ss_ike_cred *c);

/* `softsa check`: our certificate is valid at unix time now and verifies to the trust
 * anchors (with the CRL); false with the reason. */
bool ss_ike_cred_check(const ss_ike_cred *c, int64_t now, char *err, size_t errlen);

/* What an authenticated peer (or our own certificate) is, for sas / peers / check. */
typedef struct ss_cert_info {
	char subject[256], issuer[256];   /* RFC 2253 one-line forms */
	int64_t not_before, not_after;    /* unix seconds */
} ss_cert_info;
void ss_ike_cred_info(const ss_ike_cred *c, ss_cert_info *out);

/* ---- used by the engine ---- */

/* Our DER subject DN as ID_DER_ASN1_DN data. */
const uint8_t *ss_ike_cred_id(const ss_ike_cred *c, size_t *len);
struct evp_pkey_st *ss_ike_cred_key(const ss_ike_cred *c);
/* DER of our certificate (i = 0) and intermediates (1..); NULL past the end. */
const uint8_t *ss_ike_cred_der(const ss_ike_cred *c, size_t i, size_t *len);
/* CERTREQ data: SHA-1 of each trust anchor's SubjectPublicKeyInfo, concatenated. */
const uint8_t *ss_ike_cred_certreq(const ss_ike_cred *c, size_t *len);

/* A peer's certificates as received (DER, end-entity first). */
typedef struct ss_cert_chain {
	const uint8_t *der[8];
	size_t len[8];
	size_t n;
} ss_cert_chain;

/* The peer's identity payload, for the check that its certificate vouches for it. */
typedef struct ss_cert_idpl {
	uint8_t type;
	const uint8_t *data;
	size_t len;
} ss_cert_idpl;

/* Verifies a peer: chain to our anchors at unix time now (CRL, depth), digitalSignature
 * key usage, the ID payload confirmed by the certificate (subject DN or SAN), and the
 * certificate's identity against the pattern (default: SAN iPAddress = peer_addr).  On
 * success *pub holds the end-entity public key (caller frees with EVP_PKEY_free) and info the
 * identity; on failure NULL with the reason (static text). */
const char *ss_ike_cert_verify(const ss_ike_cred *c, const ss_cert_chain *chain,
			       const ss_cert_idpl *id, const ss_addr *peer_addr, int64_t now,
			       struct evp_pkey_st **pub, ss_cert_info *info);

/* The identity half of ss_ike_cert_verify, for an end-entity certificate whose chain has
 * verified: info filled, the ID payload confirmed by the certificate, its identity matched
 * against the pattern; NULL when both hold, else the reason (static text).  Its own function
 * so that the fuzz target ike_cert can fuzz the identity checks with a valid certificate
 * without paying for an X509_verify_cert (a signature check) per input. */
const char *ss_ike_cert_identity(const ss_ike_cred *c, struct x509_st *leaf, const ss_cert_idpl *id,
				 const ss_addr *peer_addr, ss_cert_info *info);

#endif
