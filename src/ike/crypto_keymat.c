/* Key derivation: SKEYSEED and the SK_* keys (RFC 7296 §2.14), the rekeyed IKE SA (§2.18),
 * CHILD SA KEYMAT (§2.17), and PSK AUTH (§2.15). */
#include <string.h>

#include "base/secure.h"
#include "ike/crypto_internal.h"

/* Lengths of one direction's keys for an encryption/integrity pair (integ may be NONE). */
static bool dir_lens(uint16_t encr, uint16_t bits, uint16_t integ, size_t *e_len, size_t *a_len)
{
	const ss_encr_desc *e = ss_encr_find(encr, bits);
	if (!e)
		return false;
	*e_len = e->keymat_len;
	*a_len = integ == SS_INTEG_NONE ? 0 : ss_integ_key_len(integ);
	return true;
}

/* Splits prf+ output in order: SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr; the
 * lengths follow suite s, prf+ runs with plus_prf (s->prf except when rekeying). */
static bool ike_keys_expand(ss_ike_keys *out, const ss_ike_suite *s, uint16_t plus_prf,
                            const uint8_t *skeyseed, size_t seed_len,
                            const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                            const uint8_t spi_i[8], const uint8_t spi_r[8])
{
	size_t d_len = ss_prf_len(s->prf), e_len = 0, a_len = 0;
	if (!dir_lens(s->encr, s->encr_bits, s->integ, &e_len, &a_len))
		return false;
	size_t total = 3 * d_len + 2 * a_len + 2 * e_len;
	uint8_t km[3 * SS_PRF_MAX + 2 * SS_INTEG_KEY_MAX + 2 * SS_ENCR_KEYMAT_MAX];
	ss_chunk seed[] = {
		SS_CHUNK(ni, ni_len), SS_CHUNK(nr, nr_len), SS_CHUNK(spi_i, 8), SS_CHUNK(spi_r, 8),
	};
	bool ok = ss_prf_plus(plus_prf, skeyseed, seed_len, seed, 4, km, total);
	if (ok) {
		const uint8_t *p = km;
		out->suite = *s;
		out->sk_d_len = d_len;
		memcpy(out->sk_d, p, d_len), p += d_len;
		out->i2r.integ_len = out->r2i.integ_len = a_len;
		memcpy(out->i2r.integ, p, a_len), p += a_len;
		memcpy(out->r2i.integ, p, a_len), p += a_len;
		out->i2r.encr_len = out->r2i.encr_len = e_len;
		memcpy(out->i2r.encr, p, e_len), p += e_len;
		memcpy(out->r2i.encr, p, e_len), p += e_len;
		out->sk_p_len = d_len;
		memcpy(out->sk_pi, p, d_len), p += d_len;
		memcpy(out->sk_pr, p, d_len);
	}
	ss_wipe(km, sizeof(km));
	return ok;
}

bool ss_ike_keys_derive(ss_ike_keys *out, const ss_ike_suite *s,
                        const uint8_t *g_ir, size_t g_ir_len,
                        const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                        const uint8_t spi_i[8], const uint8_t spi_r[8])
{
	memset(out, 0, sizeof(*out));
	if (ss_ike_suite_check(s) || ni_len + nr_len > 2 * 256)
		return false;
	/* SKEYSEED = prf(Ni | Nr, g^ir): for HMAC PRFs the whole nonce pair is the key. */
	uint8_t key[2 * 256], skeyseed[SS_PRF_MAX];
	memcpy(key, ni, ni_len);
	memcpy(key + ni_len, nr, nr_len);
	bool ok = ss_prf(s->prf, key, ni_len + nr_len, g_ir, g_ir_len, skeyseed) &&
	          ike_keys_expand(out, s, s->prf, skeyseed, ss_prf_len(s->prf), ni, ni_len, nr,
	                          nr_len, spi_i, spi_r);
	ss_wipe(key, sizeof(key));
	ss_wipe(skeyseed, sizeof(skeyseed));
	if (!ok)
		ss_ike_keys_wipe(out);
	return ok;
}

bool ss_ike_keys_rekey(ss_ike_keys *out, const ss_ike_suite *s, const ss_ike_keys *old,
                       const uint8_t *g_ir, size_t g_ir_len,
                       const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                       const uint8_t spi_i[8], const uint8_t spi_r[8])
{
	memset(out, 0, sizeof(*out));
	if (ss_ike_suite_check(s) || !ss_prf_find(old->suite.prf))
		return false;
	uint8_t skeyseed[SS_PRF_MAX];
	ss_chunk data[] = { SS_CHUNK(g_ir, g_ir_len), SS_CHUNK(ni, ni_len), SS_CHUNK(nr, nr_len) };
	/* The exchange belongs to the old SA, so its PRF makes SKEYSEED (§2.18); strongSwan
	 * also runs prf+ with it, and interoperating with it is what counts here. */
	bool ok = ss_prf_v(old->suite.prf, old->sk_d, old->sk_d_len, data, 3, skeyseed) &&
	          ike_keys_expand(out, s, old->suite.prf, skeyseed, ss_prf_len(old->suite.prf),
	                          ni, ni_len, nr, nr_len, spi_i, spi_r);
	ss_wipe(skeyseed, sizeof(skeyseed));
	if (!ok)
		ss_ike_keys_wipe(out);
	return ok;
}

void ss_ike_keys_wipe(ss_ike_keys *k)
{
	ss_wipe(k, sizeof(*k));
}

bool ss_child_keys_derive(ss_child_keys *out, const ss_esp_suite *s,
                          const ss_ike_keys *ike,
                          const uint8_t *g_ir, size_t g_ir_len,
                          const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len)
{
	memset(out, 0, sizeof(*out));
	size_t e_len = 0, a_len = 0;
	if (ss_esp_suite_check(s) || !dir_lens(s->encr, s->encr_bits, s->integ, &e_len, &a_len))
		return false;
	uint8_t km[2 * (SS_ENCR_KEYMAT_MAX + SS_INTEG_KEY_MAX)];
	ss_chunk seed[] = { SS_CHUNK(g_ir, g_ir_len), SS_CHUNK(ni, ni_len), SS_CHUNK(nr, nr_len) };
	/* §2.17: initiator-to-responder keys first; encryption before integrity. */
	bool ok = ss_prf_plus(ike->suite.prf, ike->sk_d, ike->sk_d_len, seed, 3, km,
	                      2 * (e_len + a_len));
	if (ok) {
		const uint8_t *p = km;
		ss_dir_keys *dirs[] = { &out->i2r, &out->r2i };
		out->suite = *s;
		for (int i = 0; i < 2; i++) {
			dirs[i]->encr_len = e_len;
			memcpy(dirs[i]->encr, p, e_len), p += e_len;
			dirs[i]->integ_len = a_len;
			memcpy(dirs[i]->integ, p, a_len), p += a_len;
		}
	}
	ss_wipe(km, sizeof(km));
	if (!ok)
		ss_child_keys_wipe(out);
	return ok;
}

void ss_child_keys_wipe(ss_child_keys *k)
{
	ss_wipe(k, sizeof(*k));
}

/* The constant pad of §2.15, without its terminating NUL. */
static const char key_pad[] = "Key Pad for IKEv2";

bool ss_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len,
                 const uint8_t *msg, size_t msg_len, const uint8_t *nonce, size_t nonce_len,
                 const uint8_t *sk_p, size_t sk_p_len,
                 const uint8_t *id_body, size_t id_len, uint8_t *out)
{
	uint8_t padded[SS_PRF_MAX], maced_id[SS_PRF_MAX];
	size_t n = ss_prf_len(prf);
	if (n == 0)
		return false;
	ss_chunk signed_octets[] = {
		SS_CHUNK(msg, msg_len), SS_CHUNK(nonce, nonce_len), SS_CHUNK(maced_id, n),
	};
	bool ok = ss_prf(prf, sk_p, sk_p_len, id_body, id_len, maced_id) &&
	          ss_prf(prf, psk, psk_len, (const uint8_t *)key_pad, sizeof(key_pad) - 1,
	                 padded) &&
	          ss_prf_v(prf, padded, n, signed_octets, 3, out);
	ss_wipe(padded, sizeof(padded));
	ss_wipe(maced_id, sizeof(maced_id));
	if (!ok)
		ss_wipe(out, n);
	return ok;
}

bool ss_auth_psk_verify(uint16_t prf, const uint8_t *psk, size_t psk_len,
                        const uint8_t *msg, size_t msg_len,
                        const uint8_t *nonce, size_t nonce_len,
                        const uint8_t *sk_p, size_t sk_p_len,
                        const uint8_t *id_body, size_t id_len,
                        const uint8_t *auth, size_t auth_len)
{
	uint8_t want[SS_PRF_MAX];
	bool ok = auth_len == ss_prf_len(prf) && auth_len != 0 &&
	          ss_auth_psk(prf, psk, psk_len, msg, msg_len, nonce, nonce_len, sk_p, sk_p_len,
	                      id_body, id_len, want) &&
	          ss_ct_eq(want, auth, auth_len);
	ss_wipe(want, sizeof(want));
	return ok;
}
