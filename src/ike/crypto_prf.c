/* PRF, prf+ (RFC 7296 §2.13) and truncated-HMAC integrity (RFC 4868), over EVP_MAC. */
#include <string.h>

#include "base/secure.h"
#include "ike/crypto_internal.h"

size_t ss_prf_len(uint16_t prf)
{
	const ss_prf_desc *d = ss_prf_find(prf);
	return d ? d->out_len : 0;
}

/* HMAC over chunks into out, which must hold the full digest (out_len octets). */
static bool hmac_v(const char *digest, const uint8_t *key, size_t key_len,
                   const ss_chunk *data, size_t n, uint8_t *out, size_t out_len)
{
	EVP_MAC_CTX *c = ss_hmac_new(digest, key, key_len);
	bool ok = c != NULL;
	for (size_t i = 0; ok && i < n; i++)
		if (data[i].len)
			ok = EVP_MAC_update(c, data[i].p, data[i].len) == 1;
	size_t got = 0;
	ok = ok && EVP_MAC_final(c, out, &got, out_len) == 1 && got == out_len;
	EVP_MAC_CTX_free(c);
	if (!ok)
		ss_wipe(out, out_len);
	return ok;
}

bool ss_prf_v(uint16_t prf, const uint8_t *key, size_t key_len,
              const ss_chunk *data, size_t n, uint8_t *out)
{
	const ss_prf_desc *d = ss_prf_find(prf);
	if (!d)
		return false;
	return hmac_v(d->evp, key, key_len, data, n, out, d->out_len);
}

bool ss_prf(uint16_t prf, const uint8_t *key, size_t key_len,
            const uint8_t *data, size_t data_len, uint8_t *out)
{
	ss_chunk c = SS_CHUNK(data, data_len);
	return ss_prf_v(prf, key, key_len, &c, 1, out);
}

bool ss_prf_plus(uint16_t prf, const uint8_t *key, size_t key_len,
                 const ss_chunk *seed, size_t n, uint8_t *out, size_t out_len)
{
	const ss_prf_desc *d = ss_prf_find(prf);
	if (!d)
		return false;
	if (out_len > (size_t)SS_PRF_PLUS_MAX_BLOCKS * d->out_len) {
		ss_wipe(out, out_len);
		return false;
	}
	/* Keyed once; each block starts from a copy of the keyed state. */
	EVP_MAC_CTX *keyed = ss_hmac_new(d->evp, key, key_len);
	uint8_t t[SS_PRF_MAX];
	size_t t_len = 0, done = 0;
	bool ok = keyed != NULL;
	for (uint8_t ctr = 1; ok && done < out_len; ctr++) {
		EVP_MAC_CTX *c = EVP_MAC_CTX_dup(keyed);
		ok = c != NULL && (t_len == 0 || EVP_MAC_update(c, t, t_len) == 1);
		for (size_t i = 0; ok && i < n; i++)
			if (seed[i].len)
				ok = EVP_MAC_update(c, seed[i].p, seed[i].len) == 1;
		size_t got = 0;
		ok = ok && EVP_MAC_update(c, &ctr, 1) == 1 &&
		     EVP_MAC_final(c, t, &got, sizeof(t)) == 1 && got == d->out_len;
		EVP_MAC_CTX_free(c);
		if (ok) {
			t_len = got;
			size_t take = out_len - done < t_len ? out_len - done : t_len;
			memcpy(out + done, t, take);
			done += take;
		}
	}
	EVP_MAC_CTX_free(keyed);
	ss_wipe(t, sizeof(t));
	if (!ok)
		ss_wipe(out, out_len);
	return ok;
}

size_t ss_integ_key_len(uint16_t integ)
{
	const ss_integ_desc *d = ss_integ_find(integ);
	return d ? d->key_len : 0;
}

size_t ss_integ_icv_len(uint16_t integ)
{
	const ss_integ_desc *d = ss_integ_find(integ);
	return d ? d->icv_len : 0;
}

bool ss_integ_compute(uint16_t integ, const uint8_t *key, size_t key_len,
                      const ss_chunk *data, size_t n, uint8_t *icv)
{
	const ss_integ_desc *d = ss_integ_find(integ);
	/* RFC 4868 §2.1.1: the key is exactly the digest length. */
	if (!d || key_len != d->key_len)
		return false;
	uint8_t full[SS_PRF_MAX];
	bool ok = hmac_v(d->evp, key, key_len, data, n, full, d->key_len);
	if (ok)
		memcpy(icv, full, d->icv_len);
	ss_wipe(full, sizeof(full));
	return ok;
}

bool ss_integ_verify(uint16_t integ, const uint8_t *key, size_t key_len,
                     const ss_chunk *data, size_t n, const uint8_t *icv, size_t icv_len)
{
	uint8_t want[SS_ICV_MAX];
	bool ok = icv_len == ss_integ_icv_len(integ) && icv_len != 0 &&
	          ss_integ_compute(integ, key, key_len, data, n, want) &&
	          ss_ct_eq(want, icv, icv_len);
	ss_wipe(want, sizeof(want));
	return ok;
}
