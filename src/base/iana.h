/* IANA numbers of IKEv2 (registry "Internet Key Exchange Version 2 (IKEv2) Parameters"),
 * declared once for the policy, the IKE engine and ESP: a transform number read from a
 * policy file is the number put on the wire and the number ESP is keyed with, so no layer
 * needs a translation table.  Protocol wire layouts live with their codecs (ike/wire.h,
 * esp/wire.h); only the shared numbers live here. */
#ifndef SS_BASE_IANA_H
#define SS_BASE_IANA_H

/* Transform type 1, encryption (RFC 7296 §3.3.2). */
enum ss_encr_id {
	SS_ENCR_AES_CBC = 12,    /* RFC 3602; Key Length attribute 128 or 256; needs integrity */
	SS_ENCR_AES_GCM_16 = 20, /* RFC 4106 / RFC 5282; 16-octet ICV, combined mode */
};

/* Transform type 2, pseudorandom function (RFC 4868). */
enum ss_prf_id {
	SS_PRF_HMAC_SHA2_256 = 5,
	SS_PRF_HMAC_SHA2_384 = 6,
	SS_PRF_HMAC_SHA2_512 = 7,
};

/* Transform type 3, integrity (RFC 4868). */
enum ss_integ_id {
	SS_INTEG_NONE = 0, /* with a combined-mode (AEAD) cipher */
	SS_INTEG_HMAC_SHA2_256_128 = 12,
	SS_INTEG_HMAC_SHA2_384_192 = 13,
	SS_INTEG_HMAC_SHA2_512_256 = 14,
};

/* Transform type 4, key exchange method (Diffie-Hellman group). */
enum ss_dh_id {
	SS_DH_NONE = 0,
	SS_DH_MODP_2048 = 14, /* RFC 3526 §3 */
	SS_DH_ECP_256 = 19,   /* RFC 5903 */
	SS_DH_ECP_384 = 20,   /* RFC 5903 */
	SS_DH_CURVE25519 = 31, /* RFC 8031 */
};

/* Identification types (RFC 7296 §3.5). */
enum ss_ike_id_type {
	SS_ID_NONE = 0, /* reserved on the wire; in a policy: "the address of that side" */
	SS_ID_IPV4_ADDR = 1,
	SS_ID_FQDN = 2,
	SS_ID_RFC822_ADDR = 3,
	SS_ID_IPV6_ADDR = 5,
	SS_ID_DER_ASN1_DN = 9,
	SS_ID_DER_ASN1_GN = 10,
	SS_ID_KEY_ID = 11,
};

#endif
