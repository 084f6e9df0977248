/* The cryptographic layer of IKEv2 (RFC 7296 §2.13–2.17, §3.14; RFC 5282 for AEAD),
 * entirely over OpenSSL 3 EVP: nothing here implements a primitive itself.
 *
 *   suites   descriptor tables: "how long is the key / ICV / IV for this transform"
 *   DH       groups 14, 19, 20, 31 in IKE KE payload format, with peer validation
 *   PRF      HMAC-SHA2-256/384/512, prf+ (§2.13)
 *   integ    HMAC-SHA2-256-128/384-192/512-256 (RFC 4868)
 *   keymat   SKEYSEED and SK_* (§2.14), IKE rekey (§2.18), CHILD SA KEYMAT (§2.17)
 *   SK       Encrypted payload seal/open, AES-CBC + HMAC or AES-GCM-16 (§3.14, RFC 5282)
 *   AUTH     pre-shared key authentication (§2.15)
 *
 * Transform and group numbers are plain uint16_t IANA values, so the wire codec's own enums
 * can be passed straight in; the SS_ENCR_* etc. of base/iana.h are the same numbers.
 *
 * Secrets: every struct holding key material has a wipe function and every function wipes
 * its temporaries on all paths; nothing here logs a key.  Failures return false / an error
 * code and leave outputs wiped, never half-written keys. */
#ifndef SS_IKE_CRYPTO_H
#define SS_IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iana.h"

/* Transform identifiers: base/iana.h. */

/* Upper bounds over every supported transform, for fixed-size buffers. */
#define SS_PRF_MAX 64          /* PRF output (SHA-512) */
#define SS_INTEG_KEY_MAX 64
#define SS_ICV_MAX 32          /* HMAC-SHA2-512-256; GCM tag is 16 */
#define SS_ENCR_KEYMAT_MAX 36  /* AES-256 key + 4-byte GCM salt */
#define SS_IV_MAX 16
#define SS_DH_PUB_MAX 256      /* MODP-2048 */
#define SS_DH_SECRET_MAX 256
#define SS_PRF_PLUS_MAX_BLOCKS 255 /* §2.13: the counter is one octet, 0x01..0xff */

/* ---- Suite descriptors ---- */

typedef struct ss_encr_desc {
	uint16_t id;          /* enum ss_encr_id */
	uint16_t key_bits;    /* Key Length attribute value */
	const char *name;     /* strongSwan-style: "aes128", "aes256gcm16" */
	const char *evp;      /* OpenSSL cipher: "AES-128-CBC", "AES-256-GCM" */
	uint8_t key_len;      /* cipher key octets */
	uint8_t salt_len;     /* 4 for GCM (RFC 4106 §8.1, RFC 5282 §7.1), else 0 */
	uint8_t keymat_len;   /* key_len + salt_len: what prf+ yields for SK_e* / ESP encr */
	uint8_t iv_len;       /* IV on the wire: 16 for CBC, 8 (explicit) for GCM */
	uint8_t pad_align;    /* payload+pad+padlen is a multiple of this: 16 CBC, 4 GCM */
	uint8_t icv_len;      /* AEAD tag octets (16), 0 for CBC */
	bool aead;
} ss_encr_desc;

typedef struct ss_integ_desc {
	uint16_t id;          /* enum ss_integ_id */
	const char *name;     /* "sha256" (HMAC-SHA2-256-128) */
	const char *evp;      /* OpenSSL digest: "SHA256" */
	uint8_t key_len;      /* RFC 4868 §2.1.1: key = digest length */
	uint8_t icv_len;      /* truncated output: 16, 24, 32 */
} ss_integ_desc;

typedef struct ss_prf_desc {
	uint16_t id;          /* enum ss_prf_id */
	const char *name;     /* "prfsha256" */
	const char *evp;      /* "SHA256" */
	uint8_t out_len;      /* 32, 48, 64 */
	uint8_t key_len;      /* preferred key length (SK_d, SK_pi, SK_pr): = out_len */
} ss_prf_desc;

enum ss_dh_kind { SS_DH_KIND_MODP, SS_DH_KIND_ECP, SS_DH_KIND_X25519 };

typedef struct ss_dh_desc {
	uint16_t id;          /* enum ss_dh_id */
	const char *name;     /* "modp2048", "ecp256", "ecp384", "curve25519" */
	const char *ossl;     /* OpenSSL group name: "modp_2048", "P-256", "P-384", "X25519" */
	enum ss_dh_kind kind;
	uint16_t pub_len;     /* KE payload data octets: 256, 64, 96, 32 */
	uint16_t secret_len;  /* g^ir octets: 256, 32, 48, 32 */
} ss_dh_desc;

/* NULL when not supported.  key_bits must be 128 or 256 for AES. */
const ss_encr_desc *ss_encr_find(uint16_t id, uint16_t key_bits);
const ss_integ_desc *ss_integ_find(uint16_t id);  /* NULL also for SS_INTEG_NONE */
const ss_prf_desc *ss_prf_find(uint16_t id);
const ss_dh_desc *ss_dh_find(uint16_t group);

/* Every supported entry, for proposal building and for tests: *n receives the count. */
const ss_encr_desc *ss_encr_all(size_t *n);
const ss_integ_desc *ss_integ_all(size_t *n);
const ss_prf_desc *ss_prf_all(size_t *n);
const ss_dh_desc *ss_dh_all(size_t *n);

/* Fetches every algorithm and builds every group's parameters now rather than at the first
 * handshake (call it at daemon start, before dropping privileges).  NULL when everything
 * supported is usable, else the name of what is missing ("AES-256-GCM", "ecp384", ...). */
const char *ss_crypto_preload(void);

/* A negotiated IKE SA suite. integ is SS_INTEG_NONE iff encr is AEAD. */
typedef struct ss_ike_suite {
	uint16_t encr, encr_bits, integ, prf, dh;
} ss_ike_suite;

/* A negotiated ESP suite (no PRF; DH only with PFS, SS_DH_NONE otherwise). */
typedef struct ss_esp_suite {
	uint16_t encr, encr_bits, integ, dh;
} ss_esp_suite;

/* NULL when usable, else why not ("unsupported encryption", "AEAD with integrity", ...). */
const char *ss_ike_suite_check(const ss_ike_suite *s);
const char *ss_esp_suite_check(const ss_esp_suite *s);

/* ---- Diffie-Hellman (§1.2, §2.14; RFC 3526, 5903, 8031) ---- */

typedef struct ss_dh ss_dh;

enum ss_dh_err {
	SS_DH_OK = 0,
	SS_DH_BAD_LENGTH,   /* peer value is not pub_len octets */
	SS_DH_BAD_VALUE,    /* not a valid group element: out of range, not on the curve,
	                     * small-order / all-zero X25519 result */
	SS_DH_FAILED,       /* OpenSSL or RNG failure */
};
const char *ss_dh_err_name(enum ss_dh_err e);

/* A fresh ephemeral key pair; NULL when the group is unsupported or on failure. */
ss_dh *ss_dh_new(uint16_t group);
/* Test-only: a key pair from a known private value (big-endian scalar for MODP/ECP, the
 * 32-byte RFC 7748 scalar for X25519), so that RFC test vectors can be replayed. */
ss_dh *ss_dh_from_private(uint16_t group, const uint8_t *priv, size_t priv_len);
uint16_t ss_dh_group(const ss_dh *dh);
/* Octets of the public value / the shared secret for a group, 0 when unsupported. */
size_t ss_dh_pub_len(uint16_t group);
size_t ss_dh_secret_len(uint16_t group);
/* Our public value in KE payload format: MODP big-endian left-padded to the prime length;
 * ECP x || y each padded to the field size, no 0x04 prefix (RFC 5903 §7); X25519 the
 * 32-byte u-coordinate (RFC 8031 §3).  out_len must be ss_dh_pub_len(). */
bool ss_dh_public(const ss_dh *dh, uint8_t *out, size_t out_len);
/* g^ir from the peer's KE data after validating it as RFC 6989 asks for ephemeral keys
 * (MODP 1 < y < p - 1; ECP a point on the curve; X25519 a non-zero result).  The secret:
 * MODP padded to the prime length (§2.14), ECP the x-coordinate (RFC 5903 §7), X25519 32
 * octets (RFC 8031 §3).  secret_len must be ss_dh_secret_len(); on error the secret buffer
 * is wiped. */
enum ss_dh_err ss_dh_derive(const ss_dh *dh, const uint8_t *peer, size_t peer_len,
                            uint8_t *secret, size_t secret_len);
/* Frees and wipes the private key; NULL is fine. */
void ss_dh_free(ss_dh *dh);

/* ---- PRF and prf+ (§2.13) ---- */

/* A piece of a concatenated input, so that "Ni | Nr | SPIi | SPIr" needs no copy. */
typedef struct ss_chunk {
	const uint8_t *p;
	size_t len;
} ss_chunk;
#define SS_CHUNK(ptr, n) ((ss_chunk){ (const uint8_t *)(ptr), (n) })

/* Output octets of the PRF, 0 when unsupported. */
size_t ss_prf_len(uint16_t prf);
/* out receives ss_prf_len(prf) octets of prf(key, data). */
bool ss_prf(uint16_t prf, const uint8_t *key, size_t key_len,
            const uint8_t *data, size_t data_len, uint8_t *out);
/* The same over the concatenation of n chunks. */
bool ss_prf_v(uint16_t prf, const uint8_t *key, size_t key_len,
              const ss_chunk *data, size_t n, uint8_t *out);
/* prf+(K, S) = T1 | T2 | ..., T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n); the first
 * out_len octets.  Refuses (false, out wiped) beyond 255 blocks. */
bool ss_prf_plus(uint16_t prf, const uint8_t *key, size_t key_len,
                 const ss_chunk *seed, size_t n, uint8_t *out, size_t out_len);

/* ---- Integrity (RFC 4868: HMAC truncated to half the digest) ---- */

size_t ss_integ_key_len(uint16_t integ);  /* 0 when unsupported */
size_t ss_integ_icv_len(uint16_t integ);
/* icv receives ss_integ_icv_len() octets over the concatenated chunks. */
bool ss_integ_compute(uint16_t integ, const uint8_t *key, size_t key_len,
                      const ss_chunk *data, size_t n, uint8_t *icv);
/* Constant-time comparison against the received ICV; false also on any failure. */
bool ss_integ_verify(uint16_t integ, const uint8_t *key, size_t key_len,
                     const ss_chunk *data, size_t n, const uint8_t *icv, size_t icv_len);

/* ---- Key material (§2.14, §2.17, §2.18) ---- */

/* The keys protecting one direction: encryption key material (key | salt for GCM) and the
 * integrity key (empty with AEAD). */
typedef struct ss_dir_keys {
	uint8_t encr[SS_ENCR_KEYMAT_MAX];
	size_t encr_len;
	uint8_t integ[SS_INTEG_KEY_MAX];
	size_t integ_len;
} ss_dir_keys;

/* An IKE SA's keys: {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}.
 * i2r holds SK_ei/SK_ai (initiator to responder), r2i SK_er/SK_ar. */
typedef struct ss_ike_keys {
	ss_ike_suite suite;
	uint8_t sk_d[SS_PRF_MAX];
	size_t sk_d_len;
	ss_dir_keys i2r, r2i;
	uint8_t sk_pi[SS_PRF_MAX], sk_pr[SS_PRF_MAX];
	size_t sk_p_len;
} ss_ike_keys;

/* Initial IKE SA: SKEYSEED = prf(Ni | Nr, g^ir);
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
 * spi_i and spi_r are the 8-octet SPIs as on the wire. */
bool ss_ike_keys_derive(ss_ike_keys *out, const ss_ike_suite *s,
                        const uint8_t *g_ir, size_t g_ir_len,
                        const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                        const uint8_t spi_i[8], const uint8_t spi_r[8]);
/* Rekeyed IKE SA (§2.18): SKEYSEED = prf_old(SK_d(old), g^ir(new) | Ni | Nr) with the old
 * SA's PRF, and prf+ also with the old SA's PRF (as strongSwan does; the key lengths, SK_d
 * included, follow the new suite).  Ni, Nr and the SPIs are those of the CREATE_CHILD_SA
 * exchange / the new SA.  out must not be old. */
bool ss_ike_keys_rekey(ss_ike_keys *out, const ss_ike_suite *s, const ss_ike_keys *old,
                       const uint8_t *g_ir, size_t g_ir_len,
                       const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                       const uint8_t spi_i[8], const uint8_t spi_r[8]);
void ss_ike_keys_wipe(ss_ike_keys *k);

/* A CHILD SA's keys: KEYMAT = prf+(SK_d, [g^ir(new) |] Ni | Nr) taken as
 * encr_i2r | integ_i2r | encr_r2i | integ_r2i (§2.17); GCM encr material ends with the
 * 4-byte salt (RFC 4106 §8.1). */
typedef struct ss_child_keys {
	ss_esp_suite suite;
	ss_dir_keys i2r, r2i;
} ss_child_keys;

/* g_ir may be NULL (g_ir_len 0) without PFS.  prf and SK_d come from the IKE SA. */
bool ss_child_keys_derive(ss_child_keys *out, const ss_esp_suite *s,
                          const ss_ike_keys *ike,
                          const uint8_t *g_ir, size_t g_ir_len,
                          const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len);
void ss_child_keys_wipe(ss_child_keys *k);

/* ---- SK payload protection (§3.14, RFC 5282) ---- */

/* One direction of an IKE SA's protection, ready to seal or open messages. */
typedef struct ss_sk {
	const ss_encr_desc *encr;
	const ss_integ_desc *integ;   /* NULL with AEAD */
	ss_dir_keys keys;
	uint64_t next_iv;             /* GCM explicit IV: a counter, never reused per key */
} ss_sk;

/* Sets up our sending and receiving directions from the IKE SA keys. */
bool ss_sk_init_pair(ss_sk *send, ss_sk *recv, const ss_ike_keys *k, bool initiator);
/* Sets up one direction from explicit keys (tests, tools). */
bool ss_sk_init(ss_sk *sk, const ss_ike_suite *s, const ss_dir_keys *keys);
void ss_sk_wipe(ss_sk *sk);

/* Sealing in place.  The message buffer is laid out as
 *
 *   msg: | IKE header | ... | SK generic header | IV | inner payloads | pad | padlen | ICV |
 *        |<------------- aad_len -------------->|    |<- plain_len ->|
 *
 * The engine writes the headers and the inner payloads (at msg + aad_len + ss_sk_iv_len())
 * itself, with the IKE header Length = aad_len + ss_sk_body_len(plain_len) and the SK
 * payload Length = 4 + ss_sk_body_len(plain_len) already final, since both are
 * authenticated.  ss_sk_seal() then fills IV, padding, encrypts and appends the ICV.
 * cap is the buffer's capacity; *msg_len receives the total message length. */
size_t ss_sk_iv_len(const ss_sk *sk);
size_t ss_sk_body_len(const ss_sk *sk, size_t plain_len);  /* IV + ciphertext + ICV */
bool ss_sk_seal(ss_sk *sk, uint8_t *msg, size_t cap, size_t aad_len, size_t plain_len,
                size_t *msg_len);

enum ss_sk_err {
	SS_SK_OK = 0,
	SS_SK_MALFORMED,      /* too short for IV + ICV, or ciphertext not block-aligned */
	SS_SK_AUTH_FAILED,    /* ICV / tag mismatch: nothing was decrypted */
	SS_SK_BAD_PADDING,    /* authentic, but the pad length exceeds the decrypted data
	                       * (the decrypted bytes are wiped) */
	SS_SK_FAILED,         /* OpenSSL failure */
};
const char *ss_sk_err_name(enum ss_sk_err e);

/* Opening: msg[0, msg_len) is the whole message as received and the SK payload is its last,
 * with its generic header ending at aad_len.  Verifies the ICV over the whole message (CBC,
 * before any decryption) or the GCM tag with msg[0, aad_len) as AAD, then decrypts in
 * place.  On success the inner payloads are msg[*inner_off, *inner_off + *inner_len)
 * (followed by the padding); on AUTH_FAILED / MALFORMED msg is not modified. */
enum ss_sk_err ss_sk_open(const ss_sk *sk, uint8_t *msg, size_t msg_len, size_t aad_len,
                          size_t *inner_off, size_t *inner_len);

/* ---- AUTH with a pre-shared key (§2.15) ---- */

/* AUTH = prf(prf(PSK, "Key Pad for IKEv2"), RealMessage | NonceData | prf(SK_p, RestOfIDPayload))
 *
 * For the initiator's AUTH: msg = IKE_SA_INIT request, nonce = Nr, sk_p = SK_pi,
 * id_body = IDi payload body (ID Type | RESERVED | Identification Data); for the
 * responder's: msg = IKE_SA_INIT response, nonce = Ni, sk_p = SK_pr, id_body = IDr body.
 * out receives ss_prf_len(prf) octets. */
bool ss_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
                 const uint8_t *msg, size_t msg_len, const uint8_t *nonce, size_t nonce_len,
                 const uint8_t *sk_p, size_t sk_p_len,
                 const uint8_t *id_body, size_t id_len, uint8_t *out);
/* Computes the expected AUTH and compares in constant time (false also on wrong length). */
bool ss_auth_psk_verify(uint16_t prf, const uint8_t *psk, size_t psk_len,
                        const uint8_t *msg, size_t msg_len,
                        const uint8_t *nonce, size_t nonce_len,
                        const uint8_t *sk_p, size_t sk_p_len,
                        const uint8_t *id_body, size_t id_len,
                        const uint8_t *auth, size_t auth_len);

#endif
