/* The Encrypted (SK) payload: RFC 7296 §3.14 with AES-CBC + HMAC-SHA2 (encrypt-then-MAC over
 * the whole message), and RFC 5282 with AES-GCM-16 (AAD = the message up to the end of the
 * SK payload header, nonce = 4-octet salt | 8-octet explicit IV).
 *
 * Opening never decrypts anything before the integrity check: CBC verifies the HMAC first,
 * GCM decrypts into a scratch buffer and copies the plaintext back only once the tag is
 * good. */
#include <stdlib.h>
#include <string.h>

#include "base/secure.h"
#include "ike/crypto_internal.h"

const char *ss_sk_err_name(enum ss_sk_err e)
{
	switch (e) {
	case SS_SK_OK: return "ok";
	case SS_SK_MALFORMED: return "malformed encrypted payload";
	case SS_SK_AUTH_FAILED: return "integrity check failed";
	case SS_SK_BAD_PADDING: return "bad padding";
	case SS_SK_FAILED: return "internal failure";
	}
	return "?";
}

bool ss_sk_init(ss_sk *sk, const ss_ike_suite *s, const ss_dir_keys *keys)
{
	memset(sk, 0, sizeof(*sk));
	sk->encr = ss_encr_find(s->encr, s->encr_bits);
	sk->integ = ss_integ_find(s->integ);
	if (!sk->encr || sk->encr->aead != (sk->integ == NULL) ||
	    keys->encr_len != sk->encr->keymat_len ||
	    keys->integ_len != (sk->integ ? sk->integ->key_len : 0u)) {
		ss_sk_wipe(sk);
		return false;
	}
	sk->keys = *keys;
	return true;
}

bool ss_sk_init_pair(ss_sk *send, ss_sk *recv, const ss_ike_keys *k, bool initiator)
{
	const ss_dir_keys *out = initiator ? &k->i2r : &k->r2i;
	const ss_dir_keys *in = initiator ? &k->r2i : &k->i2r;
	if (ss_sk_init(send, &k->suite, out) && ss_sk_init(recv, &k->suite, in))
		return true;
	ss_sk_wipe(send);
	ss_sk_wipe(recv);
	return false;
}

void ss_sk_wipe(ss_sk *sk)
{
	ss_wipe(sk, sizeof(*sk));
}

static size_t icv_len(const ss_sk *sk)
{
	return sk->encr->aead ? sk->encr->icv_len : sk->integ->icv_len;
}

size_t ss_sk_iv_len(const ss_sk *sk)
{
	return sk->encr ? sk->encr->iv_len : 0;
}

/* Inner payloads + padding + Pad Length, rounded up to the alignment. */
static size_t padded_len(const ss_sk *sk, size_t plain_len)
{
	size_t a = sk->encr->pad_align;
	return (plain_len + 1 + a - 1) / a * a;
}

size_t ss_sk_body_len(const ss_sk *sk, size_t plain_len)
{
	if (!sk->encr)
		return 0;  /* and ss_sk_seal() will refuse */
	return sk->encr->iv_len + padded_len(sk, plain_len) + icv_len(sk);
}

/* One-shot AES over buf in place (CBC: no OpenSSL padding, len a block multiple).  For GCM,
 * aad is authenticated and tag is written (enc) or checked (dec). */
static bool cipher_run(const ss_sk *sk, bool enc, const uint8_t *iv, size_t iv_len,
                       const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                       size_t len, uint8_t *tag)
{
	const ss_encr_desc *e = sk->encr;
	const EVP_CIPHER *cipher = ss_cipher_get(e);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok = cipher && c && EVP_CipherInit_ex2(c, cipher, NULL, NULL, enc, NULL) == 1;
	if (ok && e->aead)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int)iv_len, NULL) == 1;
	ok = ok && EVP_CipherInit_ex2(c, NULL, sk->keys.encr, iv, enc, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(c, 0) == 1;
	if (ok && e->aead && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, e->icv_len, tag) == 1;
	if (ok && e->aead && aad_len)
		ok = EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) == 1;
	ok = ok && EVP_CipherUpdate(c, out, &n, in, (int)len) == 1 && (size_t)n == len &&
	     EVP_CipherFinal_ex(c, out + n, &fin) == 1 && fin == 0;
	if (ok && e->aead && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, e->icv_len, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* GCM nonce: salt (last 4 octets of the key material) | explicit IV (RFC 5282 §4). */
static void gcm_nonce(const ss_sk *sk, const uint8_t *explicit_iv, uint8_t nonce[12])
{
	memcpy(nonce, sk->keys.encr + sk->encr->key_len, 4);
	memcpy(nonce + 4, explicit_iv, 8);
}

bool ss_sk_seal(ss_sk *sk, uint8_t *msg, size_t cap, size_t aad_len, size_t plain_len,
                size_t *msg_len)
{
	const ss_encr_desc *e = sk->encr;
	/* A direction never set up (or wiped) seals nothing.  Bounded first, so that none of
	 * the sums below can wrap. */
	if (!e || aad_len > INT32_MAX || plain_len > INT32_MAX)
		return false;
	size_t iv_len = e->iv_len, ct_len = padded_len(sk, plain_len), icv = icv_len(sk);
	size_t total = aad_len + iv_len + ct_len + icv;
	if (total > cap || total > INT32_MAX)
		return false;
	uint8_t *iv = msg + aad_len, *ct = iv + iv_len, *tag = ct + ct_len;
	/* Padding of zeros, then the Pad Length octet (§3.14). */
	memset(ct + plain_len, 0, ct_len - plain_len - 1);
	ct[ct_len - 1] = (uint8_t)(ct_len - plain_len - 1);
	bool ok;
	if (e->aead) {
		/* The explicit IV is a per-key counter: unique without coordination. */
		if (sk->next_iv == UINT64_MAX)
			return false;
		uint64_t ctr = sk->next_iv++;
		for (int i = 7; i >= 0; i--, ctr >>= 8)
			iv[i] = (uint8_t)ctr;
		uint8_t nonce[12];
		gcm_nonce(sk, iv, nonce);
		ok = cipher_run(sk, true, nonce, 12, msg, aad_len, ct, ct, ct_len, tag);
		ss_wipe(nonce, sizeof(nonce));
	} else {
		/* CBC needs an unpredictable IV (RFC 3602 §2.3; §3.14). */
		ss_chunk all = SS_CHUNK(msg, aad_len + iv_len + ct_len);
		ok = ss_random(iv, iv_len) &&
		     cipher_run(sk, true, iv, iv_len, NULL, 0, ct, ct, ct_len, NULL) &&
		     ss_integ_compute(sk->integ->id, sk->keys.integ, sk->keys.integ_len, &all, 1, tag);
	}
	if (!ok) {
		/* Never leave plaintext or a half-sealed message behind. */
		ss_wipe(iv, total - aad_len);
		return false;
	}
	*msg_len = total;
	return true;
}

static enum ss_sk_err open_gcm(const ss_sk *sk, uint8_t *msg, size_t aad_len,
                               uint8_t *ct, size_t ct_len)
{
	uint8_t nonce[12];
	uint8_t *tmp = malloc(ct_len);
	if (!tmp)
		return SS_SK_FAILED;
	gcm_nonce(sk, msg + aad_len, nonce);
	bool ok = cipher_run(sk, false, nonce, 12, msg, aad_len, ct, tmp, ct_len, ct + ct_len);
	if (ok)
		memcpy(ct, tmp, ct_len);
	ss_free_secret(tmp, ct_len);
	ss_wipe(nonce, sizeof(nonce));
	return ok ? SS_SK_OK : SS_SK_AUTH_FAILED;
}

enum ss_sk_err ss_sk_open(const ss_sk *sk, uint8_t *msg, size_t msg_len, size_t aad_len,
                          size_t *inner_off, size_t *inner_len)
{
	const ss_encr_desc *e = sk->encr;
	if (!e)
		return SS_SK_FAILED;
	size_t iv_len = e->iv_len, icv = icv_len(sk);
	if (msg_len > INT32_MAX || aad_len > msg_len || msg_len - aad_len < iv_len + icv + 1)
		return SS_SK_MALFORMED;
	size_t ct_len = msg_len - aad_len - iv_len - icv;
	uint8_t *iv = msg + aad_len, *ct = iv + iv_len;
	enum ss_sk_err err;
	if (e->aead) {
		err = open_gcm(sk, msg, aad_len, ct, ct_len);
	} else {
		if (ct_len % e->pad_align)
			return SS_SK_MALFORMED;
		/* Encrypt-then-MAC: the ICV covers the whole message up to itself (§3.14). */
		ss_chunk all = SS_CHUNK(msg, msg_len - icv);
		if (!ss_integ_verify(sk->integ->id, sk->keys.integ, sk->keys.integ_len, &all, 1,
		                     msg + msg_len - icv, icv))
			return SS_SK_AUTH_FAILED;
		err = cipher_run(sk, false, iv, iv_len, NULL, 0, ct, ct, ct_len, NULL) ? SS_SK_OK
		                                                                        : SS_SK_FAILED;
	}
	if (err != SS_SK_OK)
		return err;
	size_t pad = ct[ct_len - 1];
	if (pad + 1 > ct_len) {
		ss_wipe(ct, ct_len);
		return SS_SK_BAD_PADDING;
	}
	*inner_off = aad_len + iv_len;
	*inner_len = ct_len - pad - 1;
	return SS_SK_OK;
}
